/* lb_state_restore: reads partitions of the catalog state topic
 * (kafka.state_topic, lb_state) from their beginning to their end into the
 * engine's memory of delivered items (lb_known), so that a member that is
 * given source partition p knows, before it works on p, what every member
 * before it delivered of p's items. Its own Kafka consumer, assigned by
 * hand (no group, nothing committed); partitions are read while the engine
 * goes on with the others.
 *
 * A record's key is "<integration>/<item>", its value lb_state's JSON or
 * null (the item forgotten); the later record of a key wins. A malformed
 * record is skipped with a warning; records of integrations the
 * configuration does not have are passed over. Logs the start and the end
 * of each partition's restore (info, with its records and seconds), and
 * sets the metrics lmsbridge_state_restore_seconds{partition} and
 * lmsbridge_state_restored_records_total (declared by
 * lb_state_restore_declare_metrics).
 *
 * Single-threaded: every call from the engine's loop. */
#ifndef LB_STATE_RESTORE_H
#define LB_STATE_RESTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lb_config.h"
#include "lb_known.h"
#include "lb_metrics.h"

typedef struct lb_state_restore lb_state_restore;

/* The consumer of cfg->kafka.state_topic (cfg borrowed for the handle's
 * lifetime; the configuration may be replaced in place at a reload: the
 * topic is the one of the first). Its queue writes to wake_fd when
 * records arrive (-1: never). metrics borrowed. NULL with why in err. */
lb_state_restore *lb_state_restore_new(const lb_config *cfg, lb_metrics *metrics, int wake_fd,
                                       char *err, size_t errlen);
/* Accepts NULL. */
void lb_state_restore_destroy(lb_state_restore *r);

/* Declares the metrics the handle sets. */
void lb_state_restore_declare_metrics(lb_metrics *m);

/* Partition `partition` of the state is needed (the engine was given a
 * partition numbered so): true when it is loaded already; else it is read
 * from its beginning unless that is under way, and false. */
bool lb_state_restore_want(lb_state_restore *r, int32_t partition);
/* The engine holds no partition numbered so any more: what it read of it
 * no longer counts as loaded (another member writes it now). */
void lb_state_restore_drop(lb_state_restore *r, int32_t partition);
/* The memory was rebuilt (a reload): nothing counts as loaded; partitions
 * are wanted again. */
void lb_state_restore_reset(lb_state_restore *r);
/* Whether partition `partition` is loaded. */
bool lb_state_restore_loaded(const lb_state_restore *r, int32_t partition);
/* Partitions being read now. */
size_t lb_state_restore_pending(const lb_state_restore *r);

/* Called for each partition whose end was reached. */
typedef void (*lb_state_restore_done_fn)(void *opaque, int32_t partition);

/* Takes at most `max` records that arrived (without waiting) into known;
 * done() for each partition that reached its end. Returns the records
 * taken. */
int lb_state_restore_poll(lb_state_restore *r, lb_known *known, int max,
                          lb_state_restore_done_fn done, void *opaque);

#endif
