#include "lb_batch.h"

#include <stdlib.h>
#include <string.h>

#include "lb_list.h"
#include "lb_table.h"

/* The keys that wait at once: at most the engine's messages in flight. */
#define MAX_BUCKETS 1024

typedef struct slot {
  lb_table_node tn;     /* in slots, by key */
  lb_list_node arrival; /* in the arrival order */
  uint64_t version;
  void *item;
  int64_t since;
  char key[];
} slot;

struct lb_batch {
  lb_batch_limits lim;
  lb_table slots;
  lb_list arrival; /* oldest first */
  bool in_flight;
  bool ever_sent;
  int64_t last_done;
};

lb_batch *lb_batch_new(const lb_batch_limits *lim)
{
  lb_batch *b = calloc(1, sizeof(*b));
  if (!b)
    return NULL;
  b->lim = *lim;
  lb_table_init(&b->slots, MAX_BUCKETS);
  if (b->lim.max_items < 1)
    b->lim.max_items = 1;
  return b;
}

static slot *find(lb_batch *b, const char *key)
{
  return LB_TABLE_ENTRY(lb_table_find(&b->slots, key), slot, tn);
}

static slot *oldest(const lb_batch *b)
{
  return LB_LIST_FIRST(&b->arrival, slot, arrival);
}

/* Takes s out of the table and the arrival order and frees it. */
static void drop_slot(lb_batch *b, slot *s)
{
  lb_table_remove(&b->slots, &s->tn);
  lb_list_remove(&b->arrival, &s->arrival);
  free(s);
}

void lb_batch_destroy(lb_batch *b)
{
  if (!b)
    return;
  while (!lb_list_empty(&b->arrival))
    drop_slot(b, oldest(b));
  lb_table_release(&b->slots);
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
  size_t len = strlen(key) + 1;
  s = calloc(1, sizeof(*s) + len);
  if (!s)
    return LB_E_NOMEM;
  memcpy(s->key, key, len);
  s->version = version;
  s->item = item;
  s->since = now;
  lb_table_insert(&b->slots, &s->tn, s->key);
  lb_list_push_back(&b->arrival, &s->arrival);
  *kept = item;
  *dropped = NULL;
  return LB_E_OK;
}

int64_t lb_batch_due_in(const lb_batch *b, int64_t now)
{
  if (lb_list_empty(&b->arrival) || b->in_flight)
    return -1;
  int64_t at = lb_batch_waiting(b) >= b->lim.max_items ? now : oldest(b)->since + b->lim.linger_ms;
  if (b->ever_sent && b->last_done + b->lim.min_interval_ms > at)
    at = b->last_done + b->lim.min_interval_ms;
  return at > now ? at - now : 0;
}

size_t lb_batch_take(lb_batch *b, int64_t now, void **out)
{
  if (lb_batch_due_in(b, now) != 0)
    return 0;
  size_t n = 0;
  for (slot *s; (s = oldest(b)) && n < b->lim.max_items;) {
    out[n++] = s->item;
    drop_slot(b, s);
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
  return lb_list_len(&b->arrival);
}
