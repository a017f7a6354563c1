/* lb_resync: "dlq-replay resync" (docs/support-runbook.md): sends the whole
 * catalog again to one integration, for a customer who wiped it. Reads
 * catalog-worker's source topics (kafka.topics) from their beginning to
 * the end they had at the start, keeps each item's newest record (the
 * highest version; of equal versions, the one read last) and republishes
 * it to its own topic and partition (the partition numbers the item's
 * catalog state, lb_state) with an idempotent producer: same key and
 * value, the record's own headers but lmsbridge's, lmsbridge.target = the
 * integration and lmsbridge.resync = "true". catalog-worker sends such a
 * record even when its item is unchanged, never when it is older than the
 * version already delivered. Only items the integration takes (its routing
 * and filters, as the worker plans them) are republished: the newest
 * record of an item the integration does not take is passed over, and no
 * older record of it is sent instead.
 *
 * The choice of records (lb_resync_pick) is pure; the rest talks to Kafka.
 * Single-threaded. */
#ifndef LB_RESYNC_H
#define LB_RESYNC_H

#include <json-c/json.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lb_config.h"
#include "lb_error.h"
#include "lb_plan.h"

/* ---- which records (pure) ---- */

typedef struct lb_resync_pick lb_resync_pick;

/* NULL when out of memory. */
lb_resync_pick *lb_resync_pick_new(void);
/* Accepts NULL. */
void lb_resync_pick_destroy(lb_resync_pick *p);
/* A record read, in read order: its item (the content key), version,
 * place (topic index, partition, offset), and whether the integration
 * takes it. LB_E_NOMEM when out of memory. */
lb_err lb_resync_pick_add(lb_resync_pick *p, const char *item, uint64_t version, size_t topic,
                          int32_t partition, int64_t offset, bool taken);
/* Decides, once every record was added: each item's newest record. */
lb_err lb_resync_pick_finish(lb_resync_pick *p);
/* Items seen, and those whose newest record the integration takes. */
size_t lb_resync_pick_items(const lb_resync_pick *p);
size_t lb_resync_pick_chosen_count(const lb_resync_pick *p);
/* Whether the record at that place is to be republished (after finish). */
bool lb_resync_pick_chosen(const lb_resync_pick *p, size_t topic, int32_t partition,
                           int64_t offset);

/* The headers of a republished record: src's (may be NULL) except
 * lmsbridge's and Kafka Connect's, then lmsbridge.target = integration and
 * lmsbridge.resync = "true". New. */
rd_kafka_headers_t *lb_resync_headers(const rd_kafka_headers_t *src, const char *integration);

/* ---- the run ---- */

typedef struct {
  const lb_config *cfg;        /* catalog-worker's; borrowed */
  const char *integration;     /* one of cfg's */
  lb_plan_fn plan;             /* catalog-worker's planner */
  long rate;                   /* records a second; 0: no limit */
  long max_in_flight;          /* sent and not acknowledged; 0: 1000 */
  volatile sig_atomic_t *stop; /* set: stop sending (may be NULL) */
} lb_resync_options;

typedef struct {
  long long read;    /* records read in the first pass */
  long long invalid; /* of them, not a catalog event (never sent) */
  long long items;   /* distinct items */
  long long to_send; /* items whose newest record the integration takes */
  long long sent, acknowledged, failed;
  char first_error[256];
} lb_resync_counts;

typedef struct lb_resync lb_resync;

/* Readers of the source topics (their ends fixed now) and a producer. NULL
 * with why in err. */
lb_resync *lb_resync_new(const lb_resync_options *o, char *err, size_t errlen);
/* Accepts NULL; records in flight are abandoned. */
void lb_resync_destroy(lb_resync *rs);

/* The first pass: reads every topic and picks the records. */
lb_err lb_resync_scan(lb_resync *rs, lb_resync_counts *c, char *err, size_t errlen);
/* {"<topic>": {"<partition>": {"start": s, "end": e}}}: what is read. New. */
json_object *lb_resync_range_json(const lb_resync *rs);
/* The second pass: reads again and republishes the picked records, waits
 * up to finish_ms for their acknowledgements. LB_E_OK when every one was
 * acknowledged; else why in err (interrupted, a refusal, a stall). */
lb_err lb_resync_send(lb_resync *rs, lb_resync_counts *c, int finish_ms, char *err, size_t errlen);

#endif
