/* lb_list: an intrusive doubly-linked list. An element embeds one
 * lb_list_node per list it can be in and is found back from the node with
 * LB_CONTAINER_OF (LB_LIST_ENTRY: the same, NULL for NULL). The list holds
 * no memory: every operation is O(1) and none fails. A zeroed lb_list is
 * empty and a zeroed node is in no list; a node is in at most one list at a
 * time, and a list never owns its elements (freeing them is the caller's).
 * The ends are NULL, not a sentinel: an lb_list may be copied by value
 * (the copy takes the elements; re-init the original). Not thread-safe. */
#ifndef LB_LIST_H
#define LB_LIST_H

#include <stdbool.h>
#include <stddef.h>

typedef struct lb_list_node {
  struct lb_list_node *prev, *next; /* NULL at the ends */
} lb_list_node;

typedef struct {
  lb_list_node *head, *tail;
  size_t len;
} lb_list;

/* The `type` whose member `member` is at `ptr` (not NULL). */
#define LB_CONTAINER_OF(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

static inline void *lb_list_entry_(lb_list_node *n, size_t offset)
{
  return n ? (void *)((char *)n - offset) : NULL;
}

/* The element of `node`, NULL when `node` is NULL. */
#define LB_LIST_ENTRY(node, type, member) ((type *)lb_list_entry_((node), offsetof(type, member)))
#define LB_LIST_FIRST(list, type, member) LB_LIST_ENTRY((list)->head, type, member)
#define LB_LIST_LAST(list, type, member) LB_LIST_ENTRY((list)->tail, type, member)
#define LB_LIST_NEXT(elem, type, member) LB_LIST_ENTRY((elem)->member.next, type, member)

/* Head to tail; `var` is a `type *` declared by the loop. The body must not
 * unlink `var`. */
#define LB_LIST_EACH(type, var, list, member)                                                      \
  for (type *var = LB_LIST_FIRST(list, type, member); var; var = LB_LIST_NEXT(var, type, member))

/* Head to tail; the body may unlink or free `var` (no other element). */
#define LB_LIST_EACH_SAFE(type, var, list, member)                                                 \
  for (type *var = LB_LIST_FIRST(list, type, member),                                              \
            *var##_next_ = var ? LB_LIST_NEXT(var, type, member) : NULL;                           \
       var; var = var##_next_, var##_next_ = var ? LB_LIST_NEXT(var, type, member) : NULL)

static inline void lb_list_init(lb_list *l)
{
  l->head = l->tail = NULL;
  l->len = 0;
}

static inline bool lb_list_empty(const lb_list *l)
{
  return l->head == NULL;
}

static inline size_t lb_list_len(const lb_list *l)
{
  return l->len;
}

/* Whether n (in l or in no list) is in l. */
static inline bool lb_list_linked(const lb_list *l, const lb_list_node *n)
{
  return n->prev != NULL || l->head == n;
}

/* Links n (in no list) before `at` (in l); at the tail when `at` is NULL. */
static inline void lb_list_insert_before(lb_list *l, lb_list_node *at, lb_list_node *n)
{
  n->next = at;
  n->prev = at ? at->prev : l->tail;
  if (n->prev)
    n->prev->next = n;
  else
    l->head = n;
  if (at)
    at->prev = n;
  else
    l->tail = n;
  l->len++;
}

static inline void lb_list_push_back(lb_list *l, lb_list_node *n)
{
  lb_list_insert_before(l, NULL, n);
}

static inline void lb_list_push_front(lb_list *l, lb_list_node *n)
{
  lb_list_insert_before(l, l->head, n);
}

/* Unlinks n, which must be in l; n is in no list after. */
static inline void lb_list_remove(lb_list *l, lb_list_node *n)
{
  if (n->prev)
    n->prev->next = n->next;
  else
    l->head = n->next;
  if (n->next)
    n->next->prev = n->prev;
  else
    l->tail = n->prev;
  n->prev = n->next = NULL;
  l->len--;
}

/* Unlinks and returns the head; NULL when l is empty. */
static inline lb_list_node *lb_list_pop_front(lb_list *l)
{
  lb_list_node *n = l->head;
  if (n)
    lb_list_remove(l, n);
  return n;
}

/* Moves every element of `src`, in order, to the tail of `dst`; `src` is
 * empty after. */
static inline void lb_list_concat(lb_list *dst, lb_list *src)
{
  if (!src->head)
    return;
  src->head->prev = dst->tail;
  if (dst->tail)
    dst->tail->next = src->head;
  else
    dst->head = src->head;
  dst->tail = src->tail;
  dst->len += src->len;
  lb_list_init(src);
}

#endif
