#include "lb_known.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_hash.h"

typedef struct entry {
  struct entry *hnext;       /* bucket chain */
  struct entry *older, *newer; /* recency list */
  char *key;
  char *lms_id;
  char fingerprint[LB_KNOWN_FINGERPRINT_SIZE]; /* "" none */
  bool archived;
  uint64_t version;
} entry;

struct lb_known {
  entry **buckets;
  size_t nbuckets; /* a power of two */
  size_t count, capacity;
  entry *newest, *oldest;
};

static size_t hash(const char *s)
{
  return (size_t)lb_hash_str(s);
}

lb_known *lb_known_new(size_t capacity)
{
  lb_known *k = calloc(1, sizeof(*k));
  if (!k)
    return NULL;
  k->capacity = capacity ? capacity : 1;
  k->nbuckets = 64;
  while (k->nbuckets < k->capacity && k->nbuckets < ((size_t)1 << 22))
    k->nbuckets <<= 1;
  k->buckets = calloc(k->nbuckets, sizeof(entry *));
  if (!k->buckets) {
    free(k);
    return NULL;
  }
  return k;
}

static void entry_free(entry *e)
{
  free(e->key);
  free(e->lms_id);
  free(e);
}

void lb_known_destroy(lb_known *k)
{
  if (!k)
    return;
  for (entry *e = k->oldest, *next; e; e = next) {
    next = e->newer;
    entry_free(e);
  }
  free(k->buckets);
  free(k);
}

static void unlink_recency(lb_known *k, entry *e)
{
  if (e->older)
    e->older->newer = e->newer;
  else
    k->oldest = e->newer;
  if (e->newer)
    e->newer->older = e->older;
  else
    k->newest = e->older;
  e->older = e->newer = NULL;
}

static void push_newest(lb_known *k, entry *e)
{
  e->older = k->newest;
  e->newer = NULL;
  if (k->newest)
    k->newest->newer = e;
  else
    k->oldest = e;
  k->newest = e;
}

static entry *find(lb_known *k, const char *key)
{
  for (entry *e = k->buckets[hash(key) & (k->nbuckets - 1)]; e; e = e->hnext)
    if (strcmp(e->key, key) == 0)
      return e;
  return NULL;
}

static void evict_oldest(lb_known *k)
{
  entry *e = k->oldest;
  unlink_recency(k, e);
  for (entry **pp = &k->buckets[hash(e->key) & (k->nbuckets - 1)]; *pp; pp = &(*pp)->hnext) {
    if (*pp == e) {
      *pp = e->hnext;
      break;
    }
  }
  entry_free(e);
  k->count--;
}

bool lb_known_get(lb_known *k, const char *key, uint64_t *version, const char **lms_id)
{
  entry *e = find(k, key);
  if (!e)
    return false;
  unlink_recency(k, e);
  push_newest(k, e);
  if (version)
    *version = e->version;
  if (lms_id)
    *lms_id = e->lms_id;
  return true;
}

lb_err lb_known_put(lb_known *k, const char *key, uint64_t version, const char *lms_id)
{
  entry *e = find(k, key);
  if (e) {
    unlink_recency(k, e);
    push_newest(k, e);
  } else {
    if (k->count >= k->capacity)
      evict_oldest(k);
    e = calloc(1, sizeof(*e));
    if (!e || !(e->key = strdup(key))) {
      free(e);
      return LB_E_NOMEM;
    }
    size_t b = hash(key) & (k->nbuckets - 1);
    e->hnext = k->buckets[b];
    k->buckets[b] = e;
    push_newest(k, e);
    k->count++;
  }
  if (version > e->version)
    e->version = version;
  if (lms_id && (!e->lms_id || strcmp(e->lms_id, lms_id) != 0)) {
    char *id = strdup(lms_id);
    if (!id)
      return LB_E_NOMEM;
    free(e->lms_id);
    e->lms_id = id;
  }
  return LB_E_OK;
}

size_t lb_known_count(const lb_known *k)
{
  return k->count;
}

/* ---- the catalog state's fields (lb_state): what was sent ---- */

/* The entry of key, created (as lb_known_put does) when there is none. */
static entry *find_or_add(lb_known *k, const char *key)
{
  entry *e = find(k, key);
  if (!e && lb_known_put(k, key, 0, NULL) == LB_E_OK)
    e = find(k, key);
  return e;
}

static void set_fingerprint(entry *e, const char *fingerprint)
{
  snprintf(e->fingerprint, sizeof(e->fingerprint), "%s", fingerprint ? fingerprint : "");
}

lb_err lb_known_put_sent(lb_known *k, const char *key, const lb_known_state *st)
{
  lb_err rc = lb_known_put(k, key, st->version, st->lms_id);
  entry *e = rc == LB_E_OK ? find(k, key) : NULL;
  if (!e)
    return rc == LB_E_OK ? LB_E_NOMEM : rc;
  if (st->version >= e->version) {
    set_fingerprint(e, st->fingerprint);
    e->archived = st->archived;
  }
  return LB_E_OK;
}

lb_err lb_known_set(lb_known *k, const char *key, const lb_known_state *st)
{
  entry *e = find_or_add(k, key);
  if (!e)
    return LB_E_NOMEM;
  char *id = NULL;
  if (st->lms_id && !(id = strdup(st->lms_id)))
    return LB_E_NOMEM;
  free(e->lms_id);
  e->lms_id = id;
  e->version = st->version;
  set_fingerprint(e, st->fingerprint);
  e->archived = st->archived;
  return LB_E_OK;
}

bool lb_known_get_state(lb_known *k, const char *key, lb_known_state *ret)
{
  uint64_t version;
  const char *lms_id;
  if (!lb_known_get(k, key, &version, &lms_id))
    return false;
  entry *e = find(k, key);
  *ret = (lb_known_state){.version = version, .lms_id = lms_id,
                          .fingerprint = e->fingerprint[0] ? e->fingerprint : NULL,
                          .archived = e->archived};
  return true;
}

char *lb_known_key(const char *integration, const char *item)
{
  size_t n = strlen(integration) + strlen(item) + 2;
  char *key = malloc(n);
  if (key)
    snprintf(key, n, "%s\x1f%s", integration, item);
  return key;
}
