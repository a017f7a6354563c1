/* lb_strbuf: a growable, NUL-terminated byte buffer that refuses to grow
 * past a cap. Used for JSON text, log lines and (later) HTTP bodies. */
#ifndef LB_STRBUF_H
#define LB_STRBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  char *buf;     /* NULL until the first append; NUL-terminated after */
  size_t len;    /* bytes used, without the NUL */
  size_t cap;    /* bytes allocated */
  size_t max;    /* most bytes `len` may reach; 0 = no cap */
  bool overflow; /* an append was refused (cap or out of memory) */
} lb_strbuf;

void lb_strbuf_init(lb_strbuf *b, size_t max);
void lb_strbuf_release(lb_strbuf *b);
/* Empties the buffer, keeping its memory and cap. */
void lb_strbuf_reset(lb_strbuf *b);

/* Each append returns 0, or -1 (and sets overflow, leaving the buffer as it
 * was) when it would pass the cap or memory runs out. */
int lb_strbuf_append_len(lb_strbuf *b, const char *s, size_t n);
int lb_strbuf_append(lb_strbuf *b, const char *s);
int lb_strbuf_appendf(lb_strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends `s` as a JSON string literal, quotes included, escaped as
 * lb_strbuf_json_escape says. */
int lb_strbuf_append_json_string(lb_strbuf *b, const char *s);
/* How a JSON string literal writes byte c when it cannot hold it as it is
 * (below 0x20, '"', '\\'), as json-c writes it (\b, \n, \u001f):
 * the escape in out, its length returned; 0 for a byte held as it is.
 * The logs and the request bodies (lb_json_write) escape alike. */
size_t lb_strbuf_json_escape(unsigned char c, char out[6]);

/* Appends the base64 (RFC 4648, with padding) of the n bytes at p. */
int lb_strbuf_append_base64(lb_strbuf *b, const void *p, size_t n);

/* Hands the text to the caller (free() it); the buffer is left empty.
 * Returns "" copied if nothing was appended; NULL on out of memory. */
char *lb_strbuf_detach(lb_strbuf *b);

/* The strings up to a NULL, back to back into the fixed buffer buf, cut to
 * len as snprintf cuts (terminated whenever len > 0). For text made for
 * every delivery, where snprintf's format parsing cost more than the
 * copy. Returns buf. */
char *lb_strbuf_concat(char *buf, size_t len, ...) __attribute__((sentinel));

/* v in decimal ("%" PRId64) into out, which holds LB_STRBUF_I64_MAX
 * bytes. Returns out. */
#define LB_STRBUF_I64_MAX 21
char *lb_strbuf_i64(char *out, int64_t v);

/* Whether the `len` bytes at `bytes` (NUL bytes included, nothing read
 * past them) hold `needle`, ASCII case ignored. An empty needle is found
 * everywhere; NULL bytes hold nothing else. */
bool lb_strbuf_contains_nocase(const void *bytes, size_t len, const char *needle);

/* UTF-8 as RFC 3629 has it (no overlong forms, no surrogates, nothing past
 * U+10FFFF). The length of the character at s (1-4), 0 when none starts
 * there. */
size_t lb_strbuf_utf8_seq(const void *s, size_t len);
/* Whether s[0..len) is all UTF-8; if not, *bad (may be NULL) is the offset
 * of the first byte that is not. */
bool lb_strbuf_utf8_valid(const void *s, size_t len, size_t *bad);
/* The longest prefix of s[0..len) of at most n bytes that does not end
 * inside a character (s being UTF-8). */
size_t lb_strbuf_utf8_floor(const void *s, size_t len, size_t n);

#endif
