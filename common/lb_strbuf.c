#include "lb_strbuf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void lb_strbuf_init(lb_strbuf *b, size_t max)
{
  *b = (lb_strbuf){ .max = max };
}

void lb_strbuf_release(lb_strbuf *b)
{
  if (!b)
    return;
  free(b->buf);
  *b = (lb_strbuf){ .max = b->max };
}

void lb_strbuf_reset(lb_strbuf *b)
{
  b->len = 0;
  b->overflow = false;
  if (b->buf)
    b->buf[0] = '\0';
}

/* Makes room for `extra` more bytes plus the NUL. */
static int reserve(lb_strbuf *b, size_t extra)
{
  if (b->max && (extra > b->max || b->len > b->max - extra)) {
    b->overflow = true;
    return -1;
  }
  size_t need = b->len + extra + 1;
  if (need <= b->cap)
    return 0;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need)
    cap *= 2;
  char *grown = realloc(b->buf, cap);
  if (!grown) {
    b->overflow = true;
    return -1;
  }
  b->buf = grown;
  b->cap = cap;
  return 0;
}

int lb_strbuf_append_len(lb_strbuf *b, const char *s, size_t n)
{
  if (reserve(b, n) < 0)
    return -1;
  memcpy(b->buf + b->len, s, n);
  b->len += n;
  b->buf[b->len] = '\0';
  return 0;
}

int lb_strbuf_append(lb_strbuf *b, const char *s)
{
  return lb_strbuf_append_len(b, s, strlen(s));
}

int lb_strbuf_appendf(lb_strbuf *b, const char *fmt, ...)
{
  va_list ap;
  char small[256];

  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof(small), fmt, ap);
  va_end(ap);
  if (n < 0) {
    b->overflow = true;
    return -1;
  }
  if ((size_t)n < sizeof(small))
    return lb_strbuf_append_len(b, small, (size_t)n);
  if (reserve(b, (size_t)n) < 0)
    return -1;
  va_start(ap, fmt);
  vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return 0;
}

size_t lb_strbuf_json_escape(unsigned char c, char out[6])
{
  static const char hex[] = "0123456789abcdef";
  static const char short_form[0x20] = {
    ['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't',
  };
  out[0] = '\\';
  if (c == '"' || c == '\\') {
    out[1] = (char)c;
    return 2;
  }
  if (c >= 0x20)
    return 0;
  if (short_form[c]) {
    out[1] = short_form[c];
    return 2;
  }
  memcpy(out + 1, "u00", 3);
  out[4] = hex[c >> 4];
  out[5] = hex[c & 0xf];
  return 6;
}

int lb_strbuf_append_json_string(lb_strbuf *b, const char *s)
{
  size_t start = b->len;
  int rc = lb_strbuf_append_len(b, "\"", 1);
  const char *run = s; /* bytes held as they are, not appended yet */
  for (const char *p = s; rc == 0 && *p; p++) {
    char esc[6];
    size_t n = lb_strbuf_json_escape((unsigned char)*p, esc);
    if (!n)
      continue;
    if ((rc = lb_strbuf_append_len(b, run, (size_t)(p - run))) == 0)
      rc = lb_strbuf_append_len(b, esc, n);
    run = p + 1;
  }
  if (rc == 0 && (rc = lb_strbuf_append_len(b, run, strlen(run))) == 0)
    rc = lb_strbuf_append_len(b, "\"", 1);
  if (rc < 0) {
    /* All or nothing: drop the partial literal. */
    b->len = start;
    if (b->buf)
      b->buf[start] = '\0';
    b->overflow = true;
  }
  return rc;
}

char *lb_strbuf_detach(lb_strbuf *b)
{
  char *s = b->buf ? b->buf : strdup("");
  *b = (lb_strbuf){ .max = b->max };
  return s;
}

bool lb_strbuf_contains_nocase(const void *bytes, size_t len, const char *needle)
{
  const char *h = bytes;
  size_t n = strlen(needle);
  if (!n)
    return true;
  /* strncasecmp stops at a NUL or a difference, never past n bytes */
  for (size_t i = 0; h && len >= n && i <= len - n; i++)
    if (strncasecmp(h + i, needle, n) == 0)
      return true;
  return false;
}

int lb_strbuf_append_base64(lb_strbuf *b, const void *p, size_t n)
{
  static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const unsigned char *s = p;
  size_t before = b->len;
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = (unsigned)s[i] << 16;
    if (i + 1 < n)
      v |= (unsigned)s[i + 1] << 8;
    if (i + 2 < n)
      v |= s[i + 2];
    char q[4] = { digits[(v >> 18) & 63], digits[(v >> 12) & 63],
                  i + 1 < n ? digits[(v >> 6) & 63] : '=', i + 2 < n ? digits[v & 63] : '=' };
    if (lb_strbuf_append_len(b, q, 4) != 0) {
      b->len = before; /* as it was */
      if (b->buf)
        b->buf[before] = '\0';
      return -1;
    }
  }
  return 0;
}

size_t lb_strbuf_utf8_seq(const void *p, size_t len)
{
  const unsigned char *s = p;
  if (len == 0)
    return 0;
  unsigned char c = s[0];
  size_t n;
  unsigned min, cp;
  if (c < 0x80)
    return 1;
  if ((c & 0xE0) == 0xC0)
    n = 1, min = 0x80, cp = c & 0x1F;
  else if ((c & 0xF0) == 0xE0)
    n = 2, min = 0x800, cp = c & 0x0F;
  else if ((c & 0xF8) == 0xF0)
    n = 3, min = 0x10000, cp = c & 0x07;
  else
    return 0;
  if (len <= n)
    return 0;
  for (size_t k = 1; k <= n; k++) {
    if ((s[k] & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[k] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n + 1;
}

bool lb_strbuf_utf8_valid(const void *p, size_t len, size_t *bad)
{
  const unsigned char *s = p;
  for (size_t i = 0; i < len;) {
    /* ASCII eight bytes at a time: events are mostly ASCII */
    uint64_t eight;
    while (len - i >= sizeof(eight)) {
      memcpy(&eight, s + i, sizeof(eight));
      if (eight & UINT64_C(0x8080808080808080))
        break;
      i += sizeof(eight);
    }
    if (i == len)
      break;
    size_t n = lb_strbuf_utf8_seq(s + i, len - i);
    if (!n) {
      if (bad)
        *bad = i;
      return false;
    }
    i += n;
  }
  return true;
}

size_t lb_strbuf_utf8_floor(const void *p, size_t len, size_t n)
{
  const unsigned char *s = p;
  if (n >= len)
    return len;
  while (n > 0 && (s[n] & 0xC0) == 0x80)
    n--;
  return n;
}

char *lb_strbuf_concat(char *buf, size_t len, ...)
{
  va_list ap;
  size_t at = 0;
  if (len == 0)
    return buf;
  va_start(ap, len);
  for (const char *s; (s = va_arg(ap, const char *)) && at < len - 1;) {
    size_t n = strlen(s);
    if (n > len - 1 - at)
      n = len - 1 - at;
    memcpy(buf + at, s, n);
    at += n;
  }
  va_end(ap);
  buf[at] = '\0';
  return buf;
}

char *lb_strbuf_i64(char *out, int64_t v)
{
  char digits[LB_STRBUF_I64_MAX];
  size_t n = 0, at = 0;
  /* by its magnitude as unsigned: -INT64_MIN does not fit an int64_t */
  uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  do {
    digits[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0)
    out[at++] = '-';
  while (n)
    out[at++] = digits[--n];
  out[at] = '\0';
  return out;
}
