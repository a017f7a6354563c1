/* lb_log: JSON lines on stderr ({"ts","level","msg", fields...}) with
 * redaction: every registered secret is replaced by "[REDACTED]" in the
 * message, field names and field values before anything is written.
 *
 * Thread-safe: lines are written whole under a mutex. */
#ifndef LB_LOG_H
#define LB_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
  LB_LOG_DEBUG,
  LB_LOG_INFO,
  LB_LOG_WARN,
  LB_LOG_ERROR,
} lb_log_level;

typedef enum { LB_KV_NONE, LB_KV_STR, LB_KV_INT, LB_KV_NUM } lb_kv_kind;

/* One log field. Borrowed for the duration of the lb_log call. */
typedef struct {
  const char *key;
  lb_kv_kind kind;
  const char *s;
  long long i;
  double d;
} lb_kv;

#define LB_S(k, v) ((lb_kv){ .key = (k), .kind = LB_KV_STR, .s = (v) })
#define LB_I(k, v) ((lb_kv){ .key = (k), .kind = LB_KV_INT, .i = (long long)(v) })
#define LB_D(k, v) ((lb_kv){ .key = (k), .kind = LB_KV_NUM, .d = (double)(v) })

/* lb_log(level, "message", LB_S("key", value), LB_I("n", 3)); a leading
 * empty element lets the field list be empty. */
#define lb_log(level, msg, ...)                                                                    \
  lb_log_kv((level), (msg), (const lb_kv[]){ { .kind = LB_KV_NONE }, __VA_ARGS__ },                \
            sizeof((const lb_kv[]){ { .kind = LB_KV_NONE }, __VA_ARGS__ }) / sizeof(lb_kv))

void lb_log_kv(lb_log_level level, const char *msg, const lb_kv *kv, size_t n);

/* Lines below `level` are dropped. Default: info. */
void lb_log_set_level(lb_log_level level);
lb_log_level lb_log_get_level(void);
/* Returns 0 and sets *ret for "debug", "info", "warn", "error"; -1 otherwise. */
int lb_log_level_parse(const char *name, lb_log_level *ret);
const char *lb_log_level_name(lb_log_level level);

/* Where lines go (default stderr). Borrowed until replaced. For tests. */
void lb_log_set_stream(FILE *stream);

/* Registers a value that must never be written. Copied. Values shorter
 * than 3 bytes are ignored (they would mask ordinary text, and are no
 * secret worth the name). */
void lb_log_add_secret(const char *secret);

/* For a condition said at most once per interval_ms while it lasts: true
 * (and *next_ms set interval_ms ahead) when now_ms has reached *next_ms,
 * the caller's record of when it may be said again (0: at once). */
bool lb_log_due(int64_t *next_ms, int64_t now_ms, int64_t interval_ms);
/* Forgets a registered value (e.g. a token that has been replaced). */
void lb_log_remove_secret(const char *secret);
void lb_log_clear_secrets(void);

/* Copies `in` into `out` (capacity outlen, always NUL-terminated, truncated
 * if needed) with every registered secret replaced. Returns out. */
char *lb_log_redact(const char *in, char *out, size_t outlen);

#endif
