#include "lb_offsets.h"

#include <stdlib.h>
#include <string.h>

void lb_offsets_init(lb_offsets *o)
{
  *o = (lb_offsets){ .committable = -1 };
}

void lb_offsets_release(lb_offsets *o)
{
  if (!o)
    return;
  free(o->offsets);
  free(o->done);
  lb_offsets_init(o);
}

static int grow(lb_offsets *o)
{
  size_t cap = o->cap ? o->cap * 2 : 64;
  int64_t *offs = malloc(cap * sizeof(*offs));
  bool *done = malloc(cap * sizeof(*done));
  if (!offs || !done) {
    free(offs);
    free(done);
    return -1;
  }
  for (size_t i = 0; i < o->count; i++) {
    offs[i] = o->offsets[(o->head + i) % o->cap];
    done[i] = o->done[(o->head + i) % o->cap];
  }
  free(o->offsets);
  free(o->done);
  o->offsets = offs;
  o->done = done;
  o->head = 0;
  o->cap = cap;
  return 0;
}

int lb_offsets_add(lb_offsets *o, int64_t offset)
{
  if (o->count == o->cap && grow(o) < 0)
    return -1;
  size_t at = (o->head + o->count) % o->cap;
  o->offsets[at] = offset;
  o->done[at] = false;
  o->count++;
  return 0;
}

bool lb_offsets_done(lb_offsets *o, int64_t offset)
{
  /* Offsets are increasing: binary search the ring. */
  size_t lo = 0, hi = o->count;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (o->offsets[(o->head + mid) % o->cap] < offset)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo == o->count || o->offsets[(o->head + lo) % o->cap] != offset)
    return false;
  o->done[(o->head + lo) % o->cap] = true;
  bool moved = false;
  while (o->count && o->done[o->head]) {
    o->committable = o->offsets[o->head] + 1;
    o->head = (o->head + 1) % o->cap;
    o->count--;
    moved = true;
  }
  return moved;
}

int64_t lb_offsets_committable(const lb_offsets *o)
{
  return o->committable;
}

size_t lb_offsets_in_flight(const lb_offsets *o)
{
  return o->count;
}

int64_t lb_offsets_oldest(const lb_offsets *o)
{
  return o->count ? o->offsets[o->head] : -1;
}
