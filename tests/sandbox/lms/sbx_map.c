#include "sbx_map.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sbx_util.h"

struct sbx_map_entry {
  struct sbx_map_entry *next;
  void *value;
  uint64_t hash;
  char key[];
};

static uint64_t hash_str(const char *s)
{
  uint64_t h = 1469598103934665603ull;

  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211ull;
  }
  return h;
}

void sbx_map_init(struct sbx_map *m)
{
  m->buckets = NULL;
  m->nbuckets = 0;
  m->count = 0;
}

void sbx_map_release(struct sbx_map *m, void (*free_value)(void *))
{
  size_t i;

  for (i = 0; i < m->nbuckets; i++) {
    struct sbx_map_entry *e = m->buckets[i];

    while (e) {
      struct sbx_map_entry *next = e->next;

      if (free_value)
        free_value(e->value);
      free(e);
      e = next;
    }
  }
  free(m->buckets);
  sbx_map_init(m);
}

static struct sbx_map_entry **find(const struct sbx_map *m, const char *key, uint64_t h)
{
  struct sbx_map_entry **pp;

  if (!m->nbuckets)
    return NULL;
  pp = &m->buckets[h & (m->nbuckets - 1)];
  while (*pp) {
    if ((*pp)->hash == h && strcmp((*pp)->key, key) == 0)
      return pp;
    pp = &(*pp)->next;
  }
  return NULL;
}

void *sbx_map_get(const struct sbx_map *m, const char *key)
{
  struct sbx_map_entry **pp = find(m, key, hash_str(key));

  return pp ? (*pp)->value : NULL;
}

static void grow(struct sbx_map *m)
{
  size_t n = m->nbuckets ? m->nbuckets * 2 : 16, i;
  struct sbx_map_entry **b = sbx_xcalloc(n, sizeof(*b));

  for (i = 0; i < m->nbuckets; i++) {
    struct sbx_map_entry *e = m->buckets[i];

    while (e) {
      struct sbx_map_entry *next = e->next;
      size_t slot = e->hash & (n - 1);

      e->next = b[slot];
      b[slot] = e;
      e = next;
    }
  }
  free(m->buckets);
  m->buckets = b;
  m->nbuckets = n;
}

void *sbx_map_put(struct sbx_map *m, const char *key, void *value)
{
  uint64_t h = hash_str(key);
  struct sbx_map_entry **pp = find(m, key, h), *e;
  size_t klen;

  if (pp) {
    void *old = (*pp)->value;

    (*pp)->value = value;
    return old;
  }
  if (m->count >= m->nbuckets)
    grow(m);
  klen = strlen(key);
  e = sbx_xmalloc(sizeof(*e) + klen + 1);
  memcpy(e->key, key, klen + 1);
  e->hash = h;
  e->value = value;
  e->next = m->buckets[h & (m->nbuckets - 1)];
  m->buckets[h & (m->nbuckets - 1)] = e;
  m->count++;
  return NULL;
}

void *sbx_map_remove(struct sbx_map *m, const char *key)
{
  struct sbx_map_entry **pp = find(m, key, hash_str(key)), *e;
  void *value;

  if (!pp)
    return NULL;
  e = *pp;
  *pp = e->next;
  value = e->value;
  free(e);
  m->count--;
  return value;
}
