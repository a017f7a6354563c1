#include "lb_batch.h"

#include <stdlib.h>
#include <string.h>

#include "lb_hash.h"

#define BUCKETS 1024

typedef struct slot {
  struct slot *hnext;        /* bucket chain */
  struct slot *prev, *next;  /* arrival order */
  char *key;
  uint64_t version;
  void *item;
  int64_t since;
} slot;

struct lb_batch {
  lb_batch_limits lim;
  slot *buckets[BUCKETS];
  slot *head, *tail;
  size_t waiting;
  bool in_flight;
  bool ever_sent;
  int64_t last_done;
};

static unsigned hash(const char *s)
{
  return (unsigned)(lb_hash_str(s) % BUCKETS);
}

lb_batch *lb_batch_new(const lb_batch_limits *lim)
{
  lb_batch *b = calloc(1, sizeof(*b));
  if (!b)
    return NULL;
  b->lim = *lim;
  if (b->lim.max_items < 1)
    b->lim.max_items = 1;
  return b;
}

static slot *find(lb_batch *b, const char *key)
{
  for (slot *s = b->buckets[hash(key)]; s; s = s->hnext)
    if (strcmp(s->key, key) == 0)
      return s;
  return NULL;
}

/* Unlinks s from its bucket and the arrival list and frees it. */
static void drop_slot(lb_batch *b, slot *s)
{
  for (slot **pp = &b->buckets[hash(s->key)]; *pp; pp = &(*pp)->hnext) {
    if (*pp == s) {
      *pp = s->hnext;
      break;
    }
  }
  if (s->prev)
    s->prev->next = s->next;
  else
    b->head = s->next;
  if (s->next)
    s->next->prev = s->prev;
  else
    b->tail = s->prev;
  free(s->key);
  free(s);
  b->waiting--;
}

void lb_batch_destroy(lb_batch *b)
{
  if (!b)
    return;
  while (b->head)
    drop_slot(b, b->head);
  free(b);
}

lb_err lb_batch_add(lb_batch *b, const char *key, uint64_t version, void *item, int64_t now,
                    void **kept, void **dropped)
{
  slot *s = find(b, key);
  if (s) {
    if (version >= s->version) {
      *dropped = s->item; /* the newer replaces it, keeping its place */
      s->item = item;
      s->version = version;
    } else {
      *dropped = item;
    }
    *kept = s->item;
    return LB_E_OK;
  }
  s = calloc(1, sizeof(*s));
  if (!s || !(s->key = strdup(key))) {
    free(s);
    return LB_E_NOMEM;
  }
  s->version = version;
  s->item = item;
  s->since = now;
  unsigned h = hash(key);
  s->hnext = b->buckets[h];
  b->buckets[h] = s;
  s->prev = b->tail;
  if (b->tail)
    b->tail->next = s;
  else
    b->head = s;
  b->tail = s;
  b->waiting++;
  *kept = item;
  *dropped = NULL;
  return LB_E_OK;
}

int64_t lb_batch_due_in(const lb_batch *b, int64_t now)
{
  if (!b->head || b->in_flight)
    return -1;
  int64_t at = b->waiting >= b->lim.max_items ? now : b->head->since + b->lim.linger_ms;
  if (b->ever_sent && b->last_done + b->lim.min_interval_ms > at)
    at = b->last_done + b->lim.min_interval_ms;
  return at > now ? at - now : 0;
}

size_t lb_batch_take(lb_batch *b, int64_t now, void **out)
{
  if (lb_batch_due_in(b, now) != 0)
    return 0;
  size_t n = 0;
  while (b->head && n < b->lim.max_items) {
    out[n++] = b->head->item;
    drop_slot(b, b->head);
  }
  b->in_flight = true;
  return n;
}

void lb_batch_done(lb_batch *b, int64_t now)
{
  b->in_flight = false;
  b->ever_sent = true;
  b->last_done = now;
}

bool lb_batch_remove(lb_batch *b, const char *key, void *item)
{
  slot *s = find(b, key);
  if (!s || s->item != item)
    return false;
  drop_slot(b, s);
  return true;
}

size_t lb_batch_waiting(const lb_batch *b)
{
  return b->waiting;
}
