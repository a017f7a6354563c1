/* lb_order: one-at-a-time per key. Items enqueued under the same key go in
 * the order they were enqueued, each after the one before it is done;
 * items under different keys do not wait for each other. An item is the
 * caller's and embeds an lb_order_node (LB_CONTAINER_OF, lb_list.h, finds
 * it back); lb_order knows nothing else of it. A key is remembered while
 * an item of it waits or runs, and forgotten when its last item is done.
 * The engine's use: deliveries of one item to one integration reach the
 * LMS in the order of their records. Not thread-safe. */
#ifndef LB_ORDER_H
#define LB_ORDER_H

#include <stdbool.h>
#include <stddef.h>

#include "lb_list.h"

typedef struct lb_order lb_order;
typedef struct lb_order_key lb_order_key;

/* Zeroed: in no chain. Only lb_order touches the fields. */
typedef struct {
  lb_list_node link; /* in its key's chain */
  lb_order_key *key; /* the chain it is in; NULL: none */
} lb_order_node;

/* NULL when out of memory. */
lb_order *lb_order_new(void);
/* Forgets every key; the items, the caller's, are not touched (their
 * nodes are left as they are: do not use them with another lb_order).
 * Accepts NULL. */
void lb_order_destroy(lb_order *o);

/* Puts n (in no chain) last in the chain of `key` (copied). True when n
 * is first, and may start now; false when it waits until
 * lb_order_done() hands it on.
 *
 * Out of memory for a key not yet remembered, n is in no chain and true
 * is returned: it goes now, unordered, rather than never. An item of the
 * same key enqueued while it runs may then run beside it. */
bool lb_order_enqueue(lb_order *o, lb_order_node *n, const char *key);

/* n is done (or given up) and leaves its chain. Returns the item that is
 * first now and may start, when n was first and another waited behind it;
 * NULL otherwise (n was not first, was last, or was in no chain). The key
 * is forgotten once its chain is empty. n is in no chain after. */
lb_order_node *lb_order_done(lb_order *o, lb_order_node *n);

/* Keys remembered now. */
size_t lb_order_keys(const lb_order *o);

#endif
