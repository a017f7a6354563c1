/* lb_known: what this process knows of each item it delivered, per
 * (integration, item): the highest catalog version that reached the LMS and
 * the id the LMS gave the item (Degreed). Bounded: past its capacity the
 * least recently used entry is forgotten; forgetting is safe (an unknown id
 * means create, 409, look up; an unknown version means no skip), only
 * slower. Not thread-safe: the engine's loop owns it. */
#ifndef LB_KNOWN_H
#define LB_KNOWN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lb_error.h"

typedef struct lb_known lb_known;

/* capacity: entries kept (at least 1). NULL when out of memory. */
lb_known *lb_known_new(size_t capacity);
void lb_known_destroy(lb_known *k);

/* The entry of `key`: true and its version and LMS id (NULL when none is
 * known; valid until the next put) when known. A hit counts as a use. */
bool lb_known_get(lb_known *k, const char *key, uint64_t *version, const char **lms_id);

/* Records that `version` reached the LMS (the highest is kept) and the
 * LMS id (NULL keeps the one known). */
lb_err lb_known_put(lb_known *k, const char *key, uint64_t version, const char *lms_id);

size_t lb_known_count(const lb_known *k);

/* ---- what was sent (the catalog state, lb_state) ----
 * An entry also holds the fingerprint of the requests that delivered its
 * version and whether that version was an archive. */

/* A fingerprint as text (lb_state's), with its NUL. */
#define LB_KNOWN_FINGERPRINT_SIZE 37

typedef struct {
  uint64_t version;
  const char *lms_id;      /* NULL: none */
  const char *fingerprint; /* NULL: none */
  bool archived;
} lb_known_state;

/* Records a delivery that succeeded: as lb_known_put, and, unless a higher
 * version is known, the fingerprint and archived flag of what was sent. */
lb_err lb_known_put_sent(lb_known *k, const char *key, const lb_known_state *st);

/* Makes the entry of key what st says, whatever was known (a record read
 * from the state topic, where the later record of a key wins). */
lb_err lb_known_set(lb_known *k, const char *key, const lb_known_state *st);

/* As lb_known_get, with the fingerprint and the archived flag (strings
 * borrowed until the next put or set). */
bool lb_known_get_state(lb_known *k, const char *key, lb_known_state *ret);

/* The key of (integration, item) as the engine uses it (new: free() it):
 * "<integration>\x1f<item>". NULL when out of memory. */
char *lb_known_key(const char *integration, const char *item);

#endif
