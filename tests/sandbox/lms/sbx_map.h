/* sbx_map: string-keyed hash map (chaining, FNV-1a). Keys are copied;
 * values are borrowed pointers the caller owns. Not thread-safe: callers
 * hold the lock of whatever owns the map. */
#ifndef SBX_MAP_H
#define SBX_MAP_H

#include <stddef.h>

struct sbx_map_entry;

struct sbx_map {
  struct sbx_map_entry **buckets;
  size_t nbuckets;
  size_t count;
};

void sbx_map_init(struct sbx_map *m);
/* Frees the entries; calls free_value (if not NULL) on every value. */
void sbx_map_release(struct sbx_map *m, void (*free_value)(void *));
void *sbx_map_get(const struct sbx_map *m, const char *key);
/* Inserts or replaces; returns the previous value or NULL. */
void *sbx_map_put(struct sbx_map *m, const char *key, void *value);
/* Removes key; returns its value or NULL. */
void *sbx_map_remove(struct sbx_map *m, const char *key);

#endif
