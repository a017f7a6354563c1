/* lb_batch: one integration's coalescing batch queue (SuccessFactors OCN
 * course POSTs). Items wait under a key (the courseID): a newer version of
 * a waiting key replaces the older one in place (the newest version wins,
 * ties go to the later arrival), so a batch carries each course once. A
 * batch is due when `max_items` wait or the oldest has waited `linger_ms`,
 * no batch is in flight (batches go one at a time, so their order is the
 * order of the versions) and `min_interval_ms` has passed since the last
 * one finished. Items are the caller's (opaque); times are monotonic ms.
 * Pure bookkeeping: no I/O. */
#ifndef LB_BATCH_H
#define LB_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lb_error.h"

typedef struct lb_batch lb_batch;

typedef struct {
  size_t max_items;        /* at least 1 */
  int64_t linger_ms;       /* the oldest waits at most this long */
  int64_t min_interval_ms; /* from the end of one batch to the next */
} lb_batch_limits;

lb_batch *lb_batch_new(const lb_batch_limits *lim);
/* Items still waiting are dropped (they are the caller's). */
void lb_batch_destroy(lb_batch *b);

/* Adds `item` under `key` at `now`. When the key already waits, one of the
 * two is dropped: *kept is the item that waits now, *dropped the other
 * (NULL when nothing was dropped). */
lb_err lb_batch_add(lb_batch *b, const char *key, uint64_t version, void *item, int64_t now,
                    void **kept, void **dropped);

/* Milliseconds until a batch is due: 0 now, -1 nothing to wait for
 * (nothing waits, or a batch is in flight). */
int64_t lb_batch_due_in(const lb_batch *b, int64_t now);

/* Takes the due batch, oldest first, into out[] (room for max_items) and
 * marks it in flight. Returns how many items (0: nothing due). */
size_t lb_batch_take(lb_batch *b, int64_t now, void **out);

/* The batch in flight has its result (whatever it is). */
void lb_batch_done(lb_batch *b, int64_t now);

/* Takes a waiting item back out (handed back before it was sent). False
 * when it does not wait under `key`. */
bool lb_batch_remove(lb_batch *b, const char *key, void *item);

size_t lb_batch_waiting(const lb_batch *b);

#endif
