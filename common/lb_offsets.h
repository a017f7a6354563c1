/* lb_offsets: the offsets of one partition that are in flight, in the
 * order they were consumed, and the watermark below which everything is
 * finished. The engine stores (and so commits) only the watermark: never
 * past a gap. Pure bookkeeping; not thread-safe. */
#ifndef LB_OFFSETS_H
#define LB_OFFSETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  int64_t *offsets; /* ring of consumed, unfinished-or-finished offsets */
  bool *done;
  size_t head, count, cap;
  int64_t committable; /* next offset to store; -1 until something finished */
} lb_offsets;

void lb_offsets_init(lb_offsets *o);
void lb_offsets_release(lb_offsets *o);

/* Records a consumed offset (increasing). Returns 0, -1 out of memory. */
int lb_offsets_add(lb_offsets *o, int64_t offset);

/* Marks an offset finished. Returns true when the watermark moved: then
 * lb_offsets_committable() is the offset to store (last finished + 1 of
 * the unbroken run from the oldest). */
bool lb_offsets_done(lb_offsets *o, int64_t offset);

/* The offset to store, or -1 when nothing new is committable. */
int64_t lb_offsets_committable(const lb_offsets *o);

/* Offsets consumed and not yet below the watermark. */
size_t lb_offsets_in_flight(const lb_offsets *o);

/* The oldest unfinished offset, or -1. */
int64_t lb_offsets_oldest(const lb_offsets *o);

#endif
