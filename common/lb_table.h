/* lb_table: a hash table of elements by string key. Intrusive: an element
 * embeds an lb_table_node and is found back from it with LB_CONTAINER_OF
 * (lb_list.h). Keys are borrowed: a node points at its element's own key,
 * which must stay unchanged while the element is in the table; the table
 * copies nothing and never owns an element.
 *
 * Chained buckets (lb_hash_str; not for keys chosen to collide), a power of
 * two in number, doubled when the elements outnumber them, up to the
 * table's cap (max_buckets; at most LB_TABLE_MAX_BUCKETS): past it the
 * buckets stay as they are and chains grow longer. How many elements there
 * are is the user's to bound. Inserting never fails: a growth that finds no
 * memory keeps the buckets there are. A zeroed lb_table is an empty table
 * with the default cap. Not thread-safe. */
#ifndef LB_TABLE_H
#define LB_TABLE_H

#include <stddef.h>
#include <stdint.h>

/* 2^22 buckets: 32 MiB of pointers on a 64-bit machine. */
#define LB_TABLE_MAX_BUCKETS ((size_t)1 << 22)

typedef struct lb_table_node {
  struct lb_table_node *next; /* in its bucket */
  const char *key;            /* borrowed: the element's */
  uint64_t hash;
} lb_table_node;

typedef struct {
  lb_table_node **buckets; /* NULL: one bucket, `one` */
  lb_table_node *one;
  size_t nbuckets; /* 0 while `one` is the bucket */
  size_t count;
  size_t max_buckets; /* 0: LB_TABLE_MAX_BUCKETS */
} lb_table;

static inline void *lb_table_entry_(lb_table_node *n, size_t offset)
{
  return n ? (void *)((char *)n - offset) : NULL;
}

/* The element of `node`, NULL when `node` is NULL (lb_table_find's). */
#define LB_TABLE_ENTRY(node, type, member) ((type *)lb_table_entry_((node), offsetof(type, member)))

/* An empty table whose buckets never pass `max_buckets` (rounded down to
 * a power of two; 0 or more than LB_TABLE_MAX_BUCKETS: that). */
void lb_table_init(lb_table *t, size_t max_buckets);
/* Frees the buckets; the elements, the caller's, are not touched. The
 * table is empty after, with the same cap. */
void lb_table_release(lb_table *t);

/* The node of `key`, NULL when none is in the table. */
lb_table_node *lb_table_find(const lb_table *t, const char *key);
/* Adds n under `key` (borrowed, see above), which must not be in the table
 * yet (lb_table_find first). */
void lb_table_insert(lb_table *t, lb_table_node *n, const char *key);
/* Takes n, which must be in t, out of it. */
void lb_table_remove(lb_table *t, lb_table_node *n);

size_t lb_table_count(const lb_table *t);
/* How many buckets the table has now (tests, sizing). */
size_t lb_table_buckets(const lb_table *t);

/* Every node once, in no particular order: lb_table_first(), then
 * lb_table_next() of the last one, until NULL. Removing the current node
 * is allowed when its next is taken first; inserting restarts the walk. */
lb_table_node *lb_table_first(const lb_table *t);
lb_table_node *lb_table_next(const lb_table *t, const lb_table_node *n);

#endif
