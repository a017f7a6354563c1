/* lb_dlq_replayer: republishes dead letters read by an lb_dlq_reader with
 * an idempotent producer, and commits the reader's group only below the
 * lowest DLQ offset whose republished record the broker has not
 * acknowledged: a crash repeats at most that unacknowledged tail.
 *
 * Single-threaded: every call from the thread that created the handles. */
#ifndef LB_DLQ_REPLAYER_H
#define LB_DLQ_REPLAYER_H

#include <json-c/json.h>
#include <stdint.h>

#include "lb_config.h"
#include "lb_dlq.h"
#include "lb_dlq_reader.h"
#include "lb_error.h"

typedef struct lb_dlq_replayer lb_dlq_replayer;

/* A producer for the original topics. Progress is committed to `reader`'s
 * group (borrowed, must outlive the replayer). */
lb_dlq_replayer *lb_dlq_replayer_new(const lb_config *cfg, lb_dlq_reader *reader, char *err,
                                     size_t errlen);
/* Accepts NULL; in-flight records are abandoned (not committed). */
void lb_dlq_replayer_destroy(lb_dlq_replayer *rp);

/* A DLQ record read and not republished (not selected, or refused): it
 * counts as done for the progress. Call in read order with _send. */
lb_err lb_dlq_replayer_pass(lb_dlq_replayer *rp, const lb_dlq_record *r);
/* Republishes r to its original topic, in its original partition when the
 * topic still has it (the key's order), same key and value, with
 * `headers` (taken, also on failure). Done for the progress once the
 * broker acknowledges it. On failure nothing was queued. */
lb_err lb_dlq_replayer_send(lb_dlq_replayer *rp, const lb_dlq_record *r,
                            rd_kafka_headers_t *headers, char *err, size_t errlen);

/* Serves acknowledgements and commit results for up to timeout_ms, and
 * commits the progress (asynchronously, one commit at a time) when it
 * moved. */
void lb_dlq_replayer_poll(lb_dlq_replayer *rp, int timeout_ms);

/* Records sent and not yet acknowledged or failed. */
long long lb_dlq_replayer_in_flight(const lb_dlq_replayer *rp);
long long lb_dlq_replayer_acked(const lb_dlq_replayer *rp);
/* Records the broker refused for good (their offsets are never committed);
 * the first error is kept. */
long long lb_dlq_replayer_failed(const lb_dlq_replayer *rp, const char **first_error);

/* Waits up to timeout_ms for every acknowledgement, then commits the
 * progress synchronously. LB_E_OK when nothing is left in flight and the
 * commit (if any was due) succeeded; LB_E_IO with why in err otherwise. */
lb_err lb_dlq_replayer_finish(lb_dlq_replayer *rp, int timeout_ms, char *err, size_t errlen);

/* The offsets committed by this replayer so far: {"<partition>": next
 * offset}. New. */
json_object *lb_dlq_replayer_committed_json(const lb_dlq_replayer *rp);

#endif
