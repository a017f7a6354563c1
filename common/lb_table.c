#include "lb_table.h"

#include <stdlib.h>
#include <string.h>

#include "lb_hash.h"

/* the first bucket array past the single bucket */
#define MIN_BUCKETS 8

void lb_table_init(lb_table *t, size_t max_buckets)
{
  size_t cap = 1;
  while (cap * 2 <= max_buckets && cap < LB_TABLE_MAX_BUCKETS)
    cap *= 2;
  *t = (lb_table){ .max_buckets = max_buckets ? cap : 0 };
}

void lb_table_release(lb_table *t)
{
  free(t->buckets);
  *t = (lb_table){ .max_buckets = t->max_buckets };
}

static size_t cap_of(const lb_table *t)
{
  return t->max_buckets ? t->max_buckets : LB_TABLE_MAX_BUCKETS;
}

/* The bucket of `hash`. */
static lb_table_node **bucket(const lb_table *t, uint64_t hash)
{
  if (!t->buckets)
    return (lb_table_node **)&t->one;
  return &t->buckets[hash & (t->nbuckets - 1)];
}

lb_table_node *lb_table_find(const lb_table *t, const char *key)
{
  uint64_t h = lb_hash_str(key);
  for (lb_table_node *n = *bucket(t, h); n; n = n->next)
    if (n->hash == h && strcmp(n->key, key) == 0)
      return n;
  return NULL;
}

/* More buckets, when there is memory for them: every node moves to its
 * bucket in the new array. */
static void grow(lb_table *t)
{
  size_t n = t->buckets ? t->nbuckets * 2 : MIN_BUCKETS;
  if (n > cap_of(t))
    n = cap_of(t);
  lb_table_node **b = calloc(n, sizeof(*b));
  if (!b)
    return;
  for (lb_table_node *node = lb_table_first(t), *next; node; node = next) {
    next = lb_table_next(t, node);
    lb_table_node **to = &b[node->hash & (n - 1)];
    node->next = *to;
    *to = node;
  }
  free(t->buckets);
  t->buckets = b;
  t->nbuckets = n;
  t->one = NULL;
}

void lb_table_insert(lb_table *t, lb_table_node *n, const char *key)
{
  size_t now = t->buckets ? t->nbuckets : 1;
  if (t->count + 1 > now && now < cap_of(t))
    grow(t);
  n->key = key;
  n->hash = lb_hash_str(key);
  lb_table_node **b = bucket(t, n->hash);
  n->next = *b;
  *b = n;
  t->count++;
}

void lb_table_remove(lb_table *t, lb_table_node *n)
{
  for (lb_table_node **pp = bucket(t, n->hash); *pp; pp = &(*pp)->next) {
    if (*pp == n) {
      *pp = n->next;
      n->next = NULL;
      t->count--;
      return;
    }
  }
}

size_t lb_table_count(const lb_table *t)
{
  return t->count;
}

size_t lb_table_buckets(const lb_table *t)
{
  return t->buckets ? t->nbuckets : 1;
}

/* The first node of the buckets from index `from` on. */
static lb_table_node *scan(const lb_table *t, size_t from)
{
  if (!t->buckets)
    return from == 0 ? t->one : NULL;
  for (size_t i = from; i < t->nbuckets; i++)
    if (t->buckets[i])
      return t->buckets[i];
  return NULL;
}

lb_table_node *lb_table_first(const lb_table *t)
{
  return scan(t, 0);
}

lb_table_node *lb_table_next(const lb_table *t, const lb_table_node *n)
{
  if (n->next)
    return n->next;
  return t->buckets ? scan(t, (size_t)(n->hash & (t->nbuckets - 1)) + 1) : NULL;
}
