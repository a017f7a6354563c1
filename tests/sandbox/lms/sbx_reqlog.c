#include "sbx_reqlog.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sbx_util.h"

struct entry {
  uint64_t seq;
  char *tenant;
  char *members;
  size_t len;
};

struct sbx_reqlog {
  pthread_mutex_t lock;
  struct entry *ring;
  size_t cap, head, count;
  size_t max_entries, max_bytes, bytes;
  uint64_t next_seq;
  uint64_t dropped;
};

struct sbx_reqlog *sbx_reqlog_new(size_t max_entries, size_t max_bytes)
{
  struct sbx_reqlog *l = sbx_xcalloc(1, sizeof(*l));

  pthread_mutex_init(&l->lock, NULL);
  l->max_entries = max_entries ? max_entries : 1;
  l->max_bytes = max_bytes;
  l->next_seq = 1;
  return l;
}

static struct entry *at(struct sbx_reqlog *l, size_t i)
{
  return &l->ring[(l->head + i) % l->cap];
}

static void entry_free(struct sbx_reqlog *l, struct entry *e)
{
  l->bytes -= e->len;
  free(e->tenant);
  free(e->members);
  memset(e, 0, sizeof(*e));
}

static void drop_oldest(struct sbx_reqlog *l)
{
  entry_free(l, at(l, 0));
  l->head = (l->head + 1) % l->cap;
  l->count--;
  l->dropped++;
}

void sbx_reqlog_destroy(struct sbx_reqlog *l)
{
  if (!l)
    return;
  while (l->count)
    drop_oldest(l);
  free(l->ring);
  pthread_mutex_destroy(&l->lock);
  free(l);
}

static void grow(struct sbx_reqlog *l)
{
  size_t ncap = l->cap ? l->cap * 2 : 1024, i;
  struct entry *n;

  if (ncap > l->max_entries)
    ncap = l->max_entries;
  n = sbx_xcalloc(ncap, sizeof(*n));
  for (i = 0; i < l->count; i++)
    n[i] = *at(l, i);
  free(l->ring);
  l->ring = n;
  l->cap = ncap;
  l->head = 0;
}

uint64_t sbx_reqlog_add(struct sbx_reqlog *l, const char *tenant, char *members)
{
  size_t len = strlen(members);
  struct entry *e;
  uint64_t seq;

  pthread_mutex_lock(&l->lock);
  while (l->count > 0 && (l->count >= l->max_entries || l->bytes + len > l->max_bytes))
    drop_oldest(l);
  if (l->count == l->cap)
    grow(l);
  e = at(l, l->count);
  seq = l->next_seq++;
  e->seq = seq;
  e->tenant = tenant ? sbx_xstrdup(tenant) : NULL;
  e->members = members;
  e->len = len;
  l->bytes += len;
  l->count++;
  pthread_mutex_unlock(&l->lock);
  return seq;
}

/* Index of the first entry with seq > since (entries are seq-ordered). */
static size_t first_after(struct sbx_reqlog *l, uint64_t since)
{
  size_t lo = 0, hi = l->count;

  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;

    if (at(l, mid)->seq <= since)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

char *sbx_reqlog_render(struct sbx_reqlog *l, const char *tenant, uint64_t since, size_t limit,
                        size_t *ret_len)
{
  struct sbx_buf b;
  size_t i, n = 0;
  uint64_t last = since;
  bool more = false;

  sbx_buf_init(&b);
  sbx_buf_puts(&b, "{\"requests\":[");
  pthread_mutex_lock(&l->lock);
  for (i = first_after(l, since); i < l->count; i++) {
    struct entry *e = at(l, i);

    if (tenant && (!e->tenant || strcmp(tenant, e->tenant) != 0))
      continue;
    if (n == limit) {
      more = true;
      break;
    }
    if (n++)
      sbx_buf_putc(&b, ',');
    sbx_buf_printf(&b, "{\"seq\":%llu,", (unsigned long long)e->seq);
    sbx_buf_append(&b, e->members, e->len);
    sbx_buf_putc(&b, '}');
    last = e->seq;
  }
  sbx_buf_printf(&b,
                 "],\"count\":%zu,\"next_since\":%llu,\"more\":%s,\"dropped\":%llu,"
                 "\"max_entries\":%zu,\"max_bytes\":%zu}",
                 n, (unsigned long long)last, more ? "true" : "false",
                 (unsigned long long)l->dropped, l->max_entries, l->max_bytes);
  pthread_mutex_unlock(&l->lock);
  return sbx_buf_steal(&b, ret_len);
}

void sbx_reqlog_clear(struct sbx_reqlog *l, const char *tenant)
{
  size_t i, kept = 0;

  pthread_mutex_lock(&l->lock);
  for (i = 0; i < l->count; i++) {
    struct entry *e = at(l, i);

    if (!tenant || (e->tenant && strcmp(e->tenant, tenant) == 0)) {
      entry_free(l, e);
      continue;
    }
    if (kept != i) {
      *at(l, kept) = *e;
      memset(e, 0, sizeof(*e));
    }
    kept++;
  }
  l->count = kept;
  pthread_mutex_unlock(&l->lock);
}
