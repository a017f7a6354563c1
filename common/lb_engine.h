/* lb_engine: the consumer engine both daemons run (docs/architecture.md,
 * docs/delivery.md). One event loop serves the Kafka consumer, the
 * DLQ/retry producer and the delivery client. At least once: a source
 * offset is stored (and so committed) only when every delivery its message
 * caused has succeeded, been skipped by rule, been parked in <topic>.retry
 * or been written to the DLQ, all confirmed by the broker, and never past a
 * gap. Order is kept per (integration, item key); partitions pause and
 * resume with hysteresis; a delivery that must wait long is parked, so one
 * failing customer never holds the others back. Requests an integration's
 * connector coalesces (its batching policy, lb_connector.h) go in batches
 * (lb_batch): the newest version of an item wins and the offsets of the
 * versions it replaced advance with its batch. The engine remembers per (integration,
 * item) the version delivered, the LMS id and the fingerprint of what was
 * sent (lb_known): older versions are skipped, unchanged items not sent,
 * known ids updated directly. With a state topic (catalog-worker's
 * kafka.state_topic) that memory is a cache of the catalog state in Kafka:
 * a delivery is finished once its state record is acknowledged, and the
 * state partition numbered like a partition is read (lb_state_restore)
 * before that partition is worked on. Knows Kafka and offsets; the
 * connectors know the LMSs, and the engine names none. */
#ifndef LB_ENGINE_H
#define LB_ENGINE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lb_config.h"
#include "lb_metrics.h"
#include "lb_plan.h"

typedef struct lb_engine lb_engine;

typedef struct {
  const lb_config *cfg; /* borrowed for the engine's lifetime */
  lb_plan_fn plan;      /* the daemon's handler */
  const char *worker;   /* "catalog-worker": lmsbridge.worker header, logs */
  /* An invalid event that is a valid event of another daemon: that
   * daemon's name (a misrouted topic: the engine stops, committing nothing
   * past it, instead of dead-lettering valid events), else NULL. May be
   * NULL. */
  const char *(*foreign_event)(const char *value, size_t len);
  int64_t park_after_ms;       /* waits longer than this are parked; 0: 30 s */
  int shutdown_timeout_ms;     /* SIGTERM deadline for requests on the wire; 0: 25 s */
  int revoke_timeout_ms;       /* in-flight grace on revoke; 0: 5 s */
  int partition_max_in_flight; /* pause above, resume at half; 0: 1000 */
  int max_in_flight_messages;  /* all partitions; 0: 10000 */
  /* SIGHUP: when *reload becomes non-zero the loop clears it and asks
   * accept_reload(); true stops the engine like *stop (the caller starts
   * it again with the new configuration). May be NULL. */
  volatile sig_atomic_t *reload;
  bool (*accept_reload)(void *opaque);
  void *reload_opaque;
} lb_engine_options;

/* Creates the consumer, the producer, the client and the observability
 * server. NULL with why in err on failure. */
lb_engine *lb_engine_new(const lb_engine_options *opts, char *err, size_t errlen);
/* Leaves the group if run did not (after a reload), frees what is left.
 * Accepts NULL. */
void lb_engine_destroy(lb_engine *e);

/* Runs until *stop becomes non-zero, then shuts down within the deadline:
 * the deliveries that are not on the wire (waiting for a rate-limit turn,
 * a retry timer, a token, a concurrency slot, a batch, their turn on a key)
 * and the held retry records are handed back at once (not committed: the
 * group redelivers them); requests on the wire get until the deadline;
 * then the offsets of what finished are committed and the consumer leaves
 * the group, within a few seconds more whatever librdkafka waits for. A
 * reload drains the same way and stays in the group. Returns the exit
 * code. */
int lb_engine_run(lb_engine *e, volatile sig_atomic_t *stop);

/* Whether the engine, after lb_engine_run() returned for an accepted
 * reload, can keep its Kafka clients with the configuration `next`: the
 * kafka settings (brokers, group, topics, properties) are those it was
 * built with. When not, why is in err, and the caller destroys the engine
 * (which leaves the group, its revocation served with the running
 * configuration: destroy before the new one takes its place) and creates
 * a new one. */
bool lb_engine_can_keep(const lb_engine *e, const lb_config *next, char *err, size_t errlen);

/* Goes on with a new configuration the engine can keep (above): the
 * caller has put it where opts.cfg points, keeping the old one alive until
 * this returns. The engine keeps its consumer and producer, its group
 * membership and its partitions (each goes on from its committed offset:
 * no rebalance), builds the rest anew from the new configuration (its
 * memory of delivered versions, the batches, the delivery client, the
 * observability server when the address changed; the metrics go on) and
 * returns LB_E_OK: call lb_engine_run() again. On an error (why in err:
 * the new observability address cannot be served, out of memory) nothing
 * built for the old configuration is left; the caller destroys the engine
 * and creates a new one. */
lb_err lb_engine_reconfigure(lb_engine *e, char *err, size_t errlen);

/* The engine's metrics (for tests). */
lb_metrics *lb_engine_metrics(lb_engine *e);

#endif
