#include "lb_known.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_list.h"
#include "lb_table.h"

typedef struct entry {
  lb_table_node tn;     /* in entries, by key */
  lb_list_node recency; /* in the recency list */
  char *lms_id;
  char fingerprint[LB_KNOWN_FINGERPRINT_SIZE]; /* "" none */
  bool archived;
  uint64_t version;
  char key[];
} entry;

struct lb_known {
  lb_table entries;
  lb_list recency; /* least recently used first */
  size_t capacity;
};

lb_known *lb_known_new(size_t capacity)
{
  lb_known *k = calloc(1, sizeof(*k));
  if (!k)
    return NULL;
  k->capacity = capacity ? capacity : 1;
  /* a bucket per entry at the most: 64 to LB_TABLE_MAX_BUCKETS */
  size_t max_buckets = 64;
  while (max_buckets < k->capacity && max_buckets < LB_TABLE_MAX_BUCKETS)
    max_buckets <<= 1;
  lb_table_init(&k->entries, max_buckets);
  return k;
}

static void entry_free(entry *e)
{
  free(e->lms_id);
  free(e);
}

void lb_known_destroy(lb_known *k)
{
  if (!k)
    return;
  LB_LIST_EACH_SAFE (entry, e, &k->recency, recency)
    entry_free(e);
  lb_table_release(&k->entries);
  free(k);
}

static entry *find(lb_known *k, const char *key)
{
  return LB_TABLE_ENTRY(lb_table_find(&k->entries, key), entry, tn);
}

/* e is used: the most recent now. */
static void touch(lb_known *k, entry *e)
{
  lb_list_remove(&k->recency, &e->recency);
  lb_list_push_back(&k->recency, &e->recency);
}

static void evict_oldest(lb_known *k)
{
  entry *e = LB_LIST_FIRST(&k->recency, entry, recency);
  lb_list_remove(&k->recency, &e->recency);
  lb_table_remove(&k->entries, &e->tn);
  entry_free(e);
}

bool lb_known_get(lb_known *k, const char *key, uint64_t *version, const char **lms_id)
{
  entry *e = find(k, key);
  if (!e)
    return false;
  touch(k, e);
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
    touch(k, e);
  } else {
    if (lb_known_count(k) >= k->capacity)
      evict_oldest(k);
    size_t len = strlen(key) + 1;
    e = calloc(1, sizeof(*e) + len);
    if (!e)
      return LB_E_NOMEM;
    memcpy(e->key, key, len);
    lb_table_insert(&k->entries, &e->tn, e->key);
    lb_list_push_back(&k->recency, &e->recency);
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
  return lb_list_len(&k->recency);
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
  *ret = (lb_known_state){ .version = version,
                           .lms_id = lms_id,
                           .fingerprint = e->fingerprint[0] ? e->fingerprint : NULL,
                           .archived = e->archived };
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
