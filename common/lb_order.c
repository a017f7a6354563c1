#include "lb_order.h"

#include <stdlib.h>
#include <string.h>

#include "lb_table.h"

/* A key with items: its chain, first to last. */
struct lb_order_key {
  lb_table_node node; /* in the table, by `name` */
  lb_list chain;
  char name[];
};

/* The keys; as many as items in flight at the most (the caller bounds
 * those), their buckets capped at LB_TABLE_MAX_BUCKETS. */
struct lb_order {
  lb_table keys;
};

lb_order *lb_order_new(void)
{
  return calloc(1, sizeof(lb_order));
}

void lb_order_destroy(lb_order *o)
{
  if (!o)
    return;
  for (lb_table_node *n = lb_table_first(&o->keys), *next; n; n = next) {
    next = lb_table_next(&o->keys, n);
    free(LB_CONTAINER_OF(n, lb_order_key, node));
  }
  lb_table_release(&o->keys);
  free(o);
}

bool lb_order_enqueue(lb_order *o, lb_order_node *n, const char *key)
{
  lb_order_key *k = LB_TABLE_ENTRY(lb_table_find(&o->keys, key), lb_order_key, node);
  bool first = !k;
  if (!k) {
    size_t len = strlen(key) + 1;
    if (!(k = malloc(sizeof(*k) + len)))
      return true; /* no memory to order it: it goes now (lb_order.h) */
    memcpy(k->name, key, len);
    lb_list_init(&k->chain);
    lb_table_insert(&o->keys, &k->node, k->name);
  }
  lb_list_push_back(&k->chain, &n->link);
  n->key = k;
  return first;
}

lb_order_node *lb_order_done(lb_order *o, lb_order_node *n)
{
  lb_order_key *k = n->key;
  if (!k)
    return NULL;
  bool was_first = k->chain.head == &n->link;
  lb_list_remove(&k->chain, &n->link);
  n->key = NULL;
  if (lb_list_empty(&k->chain)) {
    lb_table_remove(&o->keys, &k->node);
    free(k);
    return NULL;
  }
  return was_first ? LB_LIST_FIRST(&k->chain, lb_order_node, link) : NULL;
}

size_t lb_order_keys(const lb_order *o)
{
  return lb_table_count(&o->keys);
}
