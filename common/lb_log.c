#include "lb_log.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lb_strbuf.h"
#include "lb_table.h"

#define REDACTED "[REDACTED]"
#define MIN_SECRET_LEN 3

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
/* atomic: lines below the level are dropped before any formatting, without
 * the lock (a debug line per delivery costs nothing at info) */
static _Atomic int min_level = LB_LOG_INFO;
static FILE *out_stream;
/* The secrets to redact, each once (by value, for adding and removing),
 * and by their first MIN_SECRET_LEN bytes: a line is searched once, each
 * position looked up among the few secrets that start like it, however
 * many there are (thousands of credentials and tokens with a thousand
 * customers). */
typedef struct secret {
  lb_table_node by_value;
  struct secret *next_same_prefix;
  size_t len;
  char text[];
} secret;

#define PREFIX_BUCKETS 4096
static lb_table secrets_by_value;
static secret *by_prefix[PREFIX_BUCKETS];
static size_t nsecrets;

static unsigned prefix_bucket(const char *s)
{
  const unsigned char *u = (const unsigned char *)s;
  uint32_t v = (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16;
  return (v * 2654435761u) >> 20; /* the top 12 bits: PREFIX_BUCKETS */
}

static const char *const level_names[] = { "debug", "info", "warn", "error" };

const char *lb_log_level_name(lb_log_level level)
{
  if ((unsigned)level > LB_LOG_ERROR)
    return "info";
  return level_names[level];
}

int lb_log_level_parse(const char *name, lb_log_level *ret)
{
  for (unsigned i = 0; i <= LB_LOG_ERROR; i++) {
    if (name && strcmp(name, level_names[i]) == 0) {
      *ret = (lb_log_level)i;
      return 0;
    }
  }
  return -1;
}

void lb_log_set_level(lb_log_level level)
{
  atomic_store(&min_level, (int)level);
}

lb_log_level lb_log_get_level(void)
{
  return (lb_log_level)atomic_load(&min_level);
}

void lb_log_set_stream(FILE *stream)
{
  pthread_mutex_lock(&log_lock);
  out_stream = stream;
  pthread_mutex_unlock(&log_lock);
}

bool lb_log_due(int64_t *next_ms, int64_t now_ms, int64_t interval_ms)
{
  if (now_ms < *next_ms)
    return false;
  *next_ms = now_ms + interval_ms;
  return true;
}

void lb_log_add_secret(const char *text)
{
  if (!text || strlen(text) < MIN_SECRET_LEN)
    return;
  pthread_mutex_lock(&log_lock);
  if (!lb_table_find(&secrets_by_value, text)) {
    size_t len = strlen(text);
    secret *k = malloc(sizeof(*k) + len + 1);
    if (k) {
      memcpy(k->text, text, len + 1);
      k->len = len;
      lb_table_insert(&secrets_by_value, &k->by_value, k->text);
      unsigned b = prefix_bucket(k->text);
      k->next_same_prefix = by_prefix[b];
      by_prefix[b] = k;
      nsecrets++;
    }
  }
  pthread_mutex_unlock(&log_lock);
}

/* Takes k out of both indexes and frees it. Caller holds log_lock. */
static void drop_secret(secret *k)
{
  lb_table_remove(&secrets_by_value, &k->by_value);
  for (secret **pp = &by_prefix[prefix_bucket(k->text)]; *pp; pp = &(*pp)->next_same_prefix)
    if (*pp == k) {
      *pp = k->next_same_prefix;
      break;
    }
  nsecrets--;
  free(k);
}

void lb_log_remove_secret(const char *text)
{
  if (!text)
    return;
  pthread_mutex_lock(&log_lock);
  secret *k = LB_TABLE_ENTRY(lb_table_find(&secrets_by_value, text), secret, by_value);
  if (k)
    drop_secret(k);
  pthread_mutex_unlock(&log_lock);
}

void lb_log_clear_secrets(void)
{
  pthread_mutex_lock(&log_lock);
  lb_table_node *n;
  while ((n = lb_table_first(&secrets_by_value)))
    drop_secret(LB_TABLE_ENTRY(n, secret, by_value));
  lb_table_release(&secrets_by_value);
  pthread_mutex_unlock(&log_lock);
}

/* Appends `s` to `b` with every secret replaced: each byte covered by any
 * occurrence of any secret is hidden, and each run of hidden bytes becomes
 * one "[REDACTED]", so overlapping secrets never show a piece of either.
 * Caller holds log_lock. */
static void append_redacted(lb_strbuf *b, const char *s)
{
  size_t len = strlen(s);
  if (nsecrets == 0 || len == 0) {
    lb_strbuf_append_len(b, s, len);
    return;
  }
  unsigned char *hide = NULL;
  for (size_t i = 0; i + MIN_SECRET_LEN <= len; i++)
    for (const secret *k = by_prefix[prefix_bucket(s + i)]; k; k = k->next_same_prefix)
      if (k->len <= len - i && memcmp(s + i, k->text, k->len) == 0) {
        if (!hide && !(hide = calloc(len, 1))) {
          lb_strbuf_append(b, REDACTED); /* cannot check: show nothing */
          return;
        }
        memset(hide + i, 1, k->len);
      }
  if (!hide) {
    lb_strbuf_append_len(b, s, len);
    return;
  }
  for (size_t i = 0; i < len;) {
    size_t j = i;
    while (j < len && hide[j] == hide[i])
      j++;
    if (hide[i])
      lb_strbuf_append(b, REDACTED);
    else
      lb_strbuf_append_len(b, s + i, j - i);
    i = j;
  }
  free(hide);
}

char *lb_log_redact(const char *in, char *out, size_t outlen)
{
  lb_strbuf b;
  lb_strbuf_init(&b, 0);
  pthread_mutex_lock(&log_lock);
  append_redacted(&b, in ? in : "");
  pthread_mutex_unlock(&log_lock);
  if (outlen) {
    size_t n = b.len < outlen - 1 ? b.len : outlen - 1;
    memcpy(out, b.buf ? b.buf : "", n);
    out[n] = '\0';
  }
  lb_strbuf_release(&b);
  return out;
}

/* Appends a JSON string literal of the redacted `s`. Caller holds log_lock. */
static void append_json_redacted(lb_strbuf *b, const char *s)
{
  lb_strbuf plain;
  lb_strbuf_init(&plain, 0);
  append_redacted(&plain, s ? s : "");
  lb_strbuf_append_json_string(b, plain.buf ? plain.buf : "");
  lb_strbuf_release(&plain);
}

void lb_log_kv(lb_log_level level, const char *msg, const lb_kv *kv, size_t n)
{
  struct timespec now;
  struct tm tm;
  char ts[64];
  lb_strbuf line;

  if ((int)level < atomic_load_explicit(&min_level, memory_order_relaxed))
    return;
  clock_gettime(CLOCK_REALTIME, &now);
  gmtime_r(&now.tv_sec, &tm);
  snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)(now.tv_nsec / 1000000) % 1000);

  pthread_mutex_lock(&log_lock);
  lb_strbuf_init(&line, 0);
  lb_strbuf_appendf(&line, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":", ts,
                    lb_log_level_name(level));
  append_json_redacted(&line, msg);
  for (size_t i = 0; i < n; i++) {
    const lb_kv *f = &kv[i];
    if (f->kind == LB_KV_NONE || !f->key)
      continue;
    lb_strbuf_append(&line, ",");
    append_json_redacted(&line, f->key);
    lb_strbuf_append(&line, ":");
    switch (f->kind) {
    case LB_KV_STR:
      if (f->s)
        append_json_redacted(&line, f->s);
      else
        lb_strbuf_append(&line, "null");
      break;
    case LB_KV_INT:
      lb_strbuf_appendf(&line, "%lld", f->i);
      break;
    case LB_KV_NUM:
      if (isfinite(f->d))
        lb_strbuf_appendf(&line, "%.15g", f->d);
      else
        lb_strbuf_append(&line, "null");
      break;
    case LB_KV_NONE:
      break;
    }
  }
  lb_strbuf_append(&line, "}\n");
  FILE *stream = out_stream ? out_stream : stderr;
  if (line.buf) {
    fwrite(line.buf, 1, line.len, stream);
    fflush(stream);
  }
  lb_strbuf_release(&line);
  pthread_mutex_unlock(&log_lock);
}
