/* sbx_util: small helpers of the LMS sandbox: allocation, growable text
 * buffers, clocks, randomness, URL/base64 decoding, ISO 8601 dates.
 *
 * The sandbox is a test tool: allocation failure aborts the process (as
 * git's xmalloc does) instead of being threaded through every caller.
 * Everything here is thread-safe unless stated otherwise. */
#ifndef SBX_UTIL_H
#define SBX_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void *sbx_xmalloc(size_t n);
void *sbx_xcalloc(size_t n, size_t size);
void *sbx_xrealloc(void *p, size_t n);
char *sbx_xstrdup(const char *s);
char *sbx_xstrndup(const char *s, size_t n);

/* Growable byte buffer, always NUL-terminated once anything was appended.
 * Embedded struct: sbx_buf_init / sbx_buf_release. */
struct sbx_buf {
  char *data;
  size_t len;
  size_t cap;
};

void sbx_buf_init(struct sbx_buf *b);
void sbx_buf_release(struct sbx_buf *b);
void sbx_buf_reset(struct sbx_buf *b);
void sbx_buf_append(struct sbx_buf *b, const void *p, size_t n);
void sbx_buf_puts(struct sbx_buf *b, const char *s);
void sbx_buf_putc(struct sbx_buf *b, char c);
void sbx_buf_printf(struct sbx_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a quoted, escaped JSON string; NULL appends `null`. */
void sbx_buf_json_str(struct sbx_buf *b, const char *s);
void sbx_buf_json_strn(struct sbx_buf *b, const char *s, size_t n);
/* Returns the data (new, caller frees; never NULL) and empties b. */
char *sbx_buf_steal(struct sbx_buf *b, size_t *ret_len);

/* Clocks in milliseconds. */
uint64_t sbx_mono_ms(void);
int64_t sbx_wall_ms(void);
/* "2021-10-26T20:39:22.149Z" (digits = 3) or with 7 fraction digits
 * (digits = 7, Degreed's X-Rate-Limit-Reset style). out >= 40 bytes. */
void sbx_iso8601(int64_t wall_ms, int digits, char *out, size_t outlen);
/* Parses "YYYY-MM-DDTHH:MM:SS[.fff][Z|+hh:mm]" into epoch ms. */
bool sbx_parse_iso8601(const char *s, int64_t *ret_ms);
/* True for "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SS[.f+][Z|±hh:mm]". */
bool sbx_is_date_or_datetime(const char *s);

/* Randomness: sbx_random_bytes is from the kernel (tokens, ids);
 * sbx_random_unit is a fast per-thread generator (fault decisions). */
void sbx_random_bytes(void *p, size_t n);
double sbx_random_unit(void);
/* n random characters of [A-Za-z0-9] plus a NUL: out has n + 1 bytes. */
void sbx_random_alnum(char *out, size_t n);
/* Random version 4 UUID, out >= 37 bytes. */
void sbx_uuid4(char *out);

/* Key/value pair decoded from a query string or a form body. */
struct sbx_kv {
  char *key;
  char *value;
};

/* Decodes application/x-www-form-urlencoded text ('+' is a space).
 * Returns the number of pairs; *ret_kv is new (sbx_kv_free). */
size_t sbx_parse_form(const char *s, size_t n, struct sbx_kv **ret_kv);
void sbx_kv_free(struct sbx_kv *kv, size_t n);
/* Last value of key, or NULL; *ret_count (optional) counts occurrences. */
const char *sbx_kv_get(const struct sbx_kv *kv, size_t n, const char *key, size_t *ret_count);

/* Percent-decodes n bytes of s into a new string; '+' becomes a space
 * when plus_is_space. Returns NULL on a malformed escape or a NUL byte. */
char *sbx_url_decode(const char *s, size_t n, bool plus_is_space);

/* Decodes standard base64 into a new NUL-terminated string.
 * Returns NULL when malformed or when the result contains a NUL. */
char *sbx_base64_decode(const char *s);

/* Whether s is one of list's strings (NULL-terminated), exactly. */
bool sbx_in_list(const char *s, const char *const *list);
/* Case-insensitive prefix test. */
bool sbx_starts_with_ci(const char *s, const char *prefix);
/* Parses a whole decimal string into [min, max]. */
bool sbx_parse_long(const char *s, long min, long max, long *ret);
/* Copies the lowercased s into a new string. */
char *sbx_lower_dup(const char *s);

#endif
