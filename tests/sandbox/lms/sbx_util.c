#include "sbx_util.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

static void oom(void)
{
  fputs("lms-sandbox: out of memory, aborting\n", stderr);
  abort();
}

void *sbx_xmalloc(size_t n)
{
  void *p = malloc(n ? n : 1);

  if (!p)
    oom();
  return p;
}

void *sbx_xcalloc(size_t n, size_t size)
{
  void *p = calloc(n ? n : 1, size ? size : 1);

  if (!p)
    oom();
  return p;
}

void *sbx_xrealloc(void *p, size_t n)
{
  void *q = realloc(p, n ? n : 1);

  if (!q)
    oom();
  return q;
}

char *sbx_xstrdup(const char *s)
{
  return sbx_xstrndup(s, strlen(s));
}

char *sbx_xstrndup(const char *s, size_t n)
{
  char *p = sbx_xmalloc(n + 1);

  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

void sbx_buf_init(struct sbx_buf *b)
{
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
}

void sbx_buf_release(struct sbx_buf *b)
{
  free(b->data);
  sbx_buf_init(b);
}

void sbx_buf_reset(struct sbx_buf *b)
{
  b->len = 0;
  if (b->data)
    b->data[0] = '\0';
}

static void buf_reserve(struct sbx_buf *b, size_t extra)
{
  size_t need = b->len + extra + 1;
  size_t cap = b->cap ? b->cap : 256;

  if (need <= b->cap)
    return;
  while (cap < need)
    cap *= 2;
  b->data = sbx_xrealloc(b->data, cap);
  b->cap = cap;
}

void sbx_buf_append(struct sbx_buf *b, const void *p, size_t n)
{
  buf_reserve(b, n);
  if (n)
    memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void sbx_buf_puts(struct sbx_buf *b, const char *s)
{
  sbx_buf_append(b, s, strlen(s));
}

void sbx_buf_putc(struct sbx_buf *b, char c)
{
  sbx_buf_append(b, &c, 1);
}

void sbx_buf_printf(struct sbx_buf *b, const char *fmt, ...)
{
  va_list ap;
  int n;

  buf_reserve(b, 64);
  va_start(ap, fmt);
  n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  if ((size_t)n >= b->cap - b->len) {
    buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
  }
  b->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
  size_t len, i;
  uint32_t cp;

  if (s[0] < 0x80)
    return 1;
  if ((s[0] & 0xe0) == 0xc0) {
    len = 2;
    cp = s[0] & 0x1f;
  } else if ((s[0] & 0xf0) == 0xe0) {
    len = 3;
    cp = s[0] & 0x0f;
  } else if ((s[0] & 0xf8) == 0xf0) {
    len = 4;
    cp = s[0] & 0x07;
  } else {
    return 0;
  }
  if (len > n)
    return 0;
  for (i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
      (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return len;
}

void sbx_buf_json_strn(struct sbx_buf *b, const char *s, size_t n)
{
  static const char hex[] = "0123456789abcdef";
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0, start = 0;

  buf_reserve(b, n + 2);
  sbx_buf_putc(b, '"');
  while (i < n) {
    unsigned char c = u[i];
    char esc[7];
    size_t len;

    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
      i++;
      continue;
    }
    if (c >= 0x80) {
      len = utf8_len(u + i, n - i);
      if (len) {
        i += len;
        continue;
      }
    }
    sbx_buf_append(b, s + start, i - start);
    switch (c) {
    case '"':
      sbx_buf_puts(b, "\\\"");
      break;
    case '\\':
      sbx_buf_puts(b, "\\\\");
      break;
    case '\n':
      sbx_buf_puts(b, "\\n");
      break;
    case '\r':
      sbx_buf_puts(b, "\\r");
      break;
    case '\t':
      sbx_buf_puts(b, "\\t");
      break;
    default:
      if (c >= 0x80) {
        sbx_buf_puts(b, "\\ufffd"); /* invalid UTF-8 byte */
        break;
      }
      memcpy(esc, "\\u00", 4);
      esc[4] = hex[c >> 4];
      esc[5] = hex[c & 15];
      sbx_buf_append(b, esc, 6);
    }
    i++;
    start = i;
  }
  sbx_buf_append(b, s + start, n - start);
  sbx_buf_putc(b, '"');
}

void sbx_buf_json_str(struct sbx_buf *b, const char *s)
{
  if (!s)
    sbx_buf_puts(b, "null");
  else
    sbx_buf_json_strn(b, s, strlen(s));
}

char *sbx_buf_steal(struct sbx_buf *b, size_t *ret_len)
{
  char *p;

  if (!b->data)
    sbx_buf_append(b, "", 0);
  p = b->data;
  if (ret_len)
    *ret_len = b->len;
  sbx_buf_init(b);
  return p;
}

uint64_t sbx_mono_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int64_t sbx_wall_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sbx_iso8601(int64_t wall_ms, int digits, char *out, size_t outlen)
{
  time_t secs = (time_t)(wall_ms / 1000);
  int ms = (int)(wall_ms % 1000);
  struct tm tm;
  char base[32];

  if (ms < 0) {
    ms += 1000;
    secs -= 1;
  }
  gmtime_r(&secs, &tm);
  strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
  if (digits == 7)
    snprintf(out, outlen, "%s.%03d0000Z", base, ms);
  else
    snprintf(out, outlen, "%s.%03dZ", base, ms);
}

static bool digits_at(const char *s, int n, int *ret)
{
  int v = 0, i;

  for (i = 0; i < n; i++) {
    if (!isdigit((unsigned char)s[i]))
      return false;
    v = v * 10 + (s[i] - '0');
  }
  *ret = v;
  return true;
}

static bool leap(int y)
{
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
  static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

  return m == 2 && leap(y) ? 29 : d[m - 1];
}

/* Days since 1970-01-01 (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int y, int m, int d)
{
  int64_t era, yoe, doy, doe;

  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/* Parses a date, optionally followed by a time; *ret_len = bytes used. */
static bool parse_datetime(const char *s, bool need_time, int64_t *ret_ms)
{
  int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0, off = 0;
  const char *p = s;

  if (!digits_at(p, 4, &y) || p[4] != '-' || !digits_at(p + 5, 2, &mo) || p[7] != '-' ||
      !digits_at(p + 8, 2, &d))
    return false;
  if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
    return false;
  p += 10;
  if (*p == '\0') {
    if (need_time)
      return false;
    goto done;
  }
  if ((*p != 'T' && *p != 't' && *p != ' ') || !digits_at(p + 1, 2, &h) || p[3] != ':' ||
      !digits_at(p + 4, 2, &mi) || p[6] != ':' || !digits_at(p + 7, 2, &sec))
    return false;
  if (h > 23 || mi > 59 || sec > 60)
    return false;
  p += 9;
  if (*p == '.') {
    int n = 0, scale = 100;

    p++;
    while (isdigit((unsigned char)*p)) {
      if (n < 3)
        ms += (*p - '0') * scale;
      scale /= 10;
      n++;
      p++;
    }
    if (n == 0 || n > 9)
      return false;
  }
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int oh, om;

    if (!digits_at(p + 1, 2, &oh) || p[3] != ':' || !digits_at(p + 4, 2, &om) || oh > 23 || om > 59)
      return false;
    off = (oh * 60 + om) * (*p == '-' ? -1 : 1);
    p += 6;
  }
  if (*p != '\0')
    return false;
done:
  if (ret_ms)
    *ret_ms =
        ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off * 60) * 1000) + ms;
  return true;
}

bool sbx_parse_iso8601(const char *s, int64_t *ret_ms)
{
  return parse_datetime(s, true, ret_ms);
}

bool sbx_is_date_or_datetime(const char *s)
{
  return parse_datetime(s, false, NULL);
}

void sbx_random_bytes(void *p, size_t n)
{
  unsigned char *q = p;

  while (n > 0) {
    ssize_t got = getrandom(q, n, 0);

    if (got < 0) {
      if (errno == EINTR)
        continue;
      fputs("lms-sandbox: getrandom failed, aborting\n", stderr);
      abort();
    }
    q += got;
    n -= (size_t)got;
  }
}

static _Thread_local uint64_t rng_state[2];

static uint64_t rng_next(void)
{
  uint64_t s1 = rng_state[0];
  const uint64_t s0 = rng_state[1];
  const uint64_t result = s0 + s1;

  if (rng_state[0] == 0 && rng_state[1] == 0) {
    sbx_random_bytes(rng_state, sizeof(rng_state));
    rng_state[0] |= 1;
    return rng_next();
  }
  rng_state[0] = s0;
  s1 ^= s1 << 23;
  rng_state[1] = s1 ^ s0 ^ (s1 >> 18) ^ (s0 >> 5);
  return result;
}

double sbx_random_unit(void)
{
  return (double)(rng_next() >> 11) / 9007199254740992.0;
}

void sbx_random_alnum(char *out, size_t n)
{
  static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  unsigned char raw[64];
  size_t i = 0;

  while (i < n) {
    size_t j, chunk = sizeof(raw);

    sbx_random_bytes(raw, chunk);
    for (j = 0; j < chunk && i < n; j++) {
      if (raw[j] >= 248) /* 248 = 4 * 62: keep it unbiased */
        continue;
      out[i++] = set[raw[j] % 62];
    }
  }
  out[n] = '\0';
}

void sbx_uuid4(char *out)
{
  unsigned char r[16];

  sbx_random_bytes(r, sizeof(r));
  r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
  r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
  snprintf(out, 37,
           "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
           "%02x%02x%02x%02x%02x%02x",
           r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13],
           r[14], r[15]);
}

static int hexval(char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

char *sbx_url_decode(const char *s, size_t n, bool plus_is_space)
{
  char *out = sbx_xmalloc(n + 1);
  size_t i, o = 0;

  for (i = 0; i < n; i++) {
    char c = s[i];

    if (c == '%') {
      int hi, lo;

      if (i + 2 >= n)
        goto bad;
      hi = hexval(s[i + 1]);
      lo = hexval(s[i + 2]);
      if (hi < 0 || lo < 0)
        goto bad;
      c = (char)(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      c = ' ';
    }
    if (c == '\0')
      goto bad;
    out[o++] = c;
  }
  out[o] = '\0';
  return out;
bad:
  free(out);
  return NULL;
}

size_t sbx_parse_form(const char *s, size_t n, struct sbx_kv **ret_kv)
{
  struct sbx_kv *kv = NULL;
  size_t count = 0, cap = 0, pos = 0;

  while (pos < n) {
    const char *amp = memchr(s + pos, '&', n - pos);
    size_t end = amp ? (size_t)(amp - s) : n;
    const char *eq = memchr(s + pos, '=', end - pos);
    size_t klen = eq ? (size_t)(eq - (s + pos)) : end - pos;
    char *key, *value;

    if (end > pos) {
      key = sbx_url_decode(s + pos, klen, true);
      value = eq ? sbx_url_decode(eq + 1, end - pos - klen - 1, true) : sbx_xstrdup("");
      if (key && value) {
        if (count == cap) {
          cap = cap ? cap * 2 : 8;
          kv = sbx_xrealloc(kv, cap * sizeof(*kv));
        }
        kv[count].key = key;
        kv[count].value = value;
        count++;
      } else {
        free(key);
        free(value);
      }
    }
    pos = end + 1;
  }
  *ret_kv = kv;
  return count;
}

void sbx_kv_free(struct sbx_kv *kv, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++) {
    free(kv[i].key);
    free(kv[i].value);
  }
  free(kv);
}

const char *sbx_kv_get(const struct sbx_kv *kv, size_t n, const char *key, size_t *ret_count)
{
  const char *found = NULL;
  size_t i, count = 0;

  for (i = 0; i < n; i++) {
    if (strcmp(kv[i].key, key) == 0) {
      found = kv[i].value;
      count++;
    }
  }
  if (ret_count)
    *ret_count = count;
  return found;
}

static int b64val(char c)
{
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

char *sbx_base64_decode(const char *s)
{
  size_t n = strlen(s), i, o = 0;
  char *out;
  uint32_t acc = 0;
  int bits = 0, pad = 0;

  while (n > 0 && s[n - 1] == '=') {
    n--;
    pad++;
  }
  if (pad > 2)
    return NULL;
  out = sbx_xmalloc(n * 3 / 4 + 3);
  for (i = 0; i < n; i++) {
    int v = b64val(s[i]);

    if (v < 0)
      goto bad;
    acc = (acc << 6) | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o] = (char)((acc >> bits) & 0xff);
      if (out[o] == '\0')
        goto bad;
      o++;
    }
  }
  out[o] = '\0';
  return out;
bad:
  free(out);
  return NULL;
}

bool sbx_in_list(const char *s, const char *const *list)
{
  size_t i;

  for (i = 0; list[i]; i++)
    if (strcmp(s, list[i]) == 0)
      return true;
  return false;
}

bool sbx_starts_with_ci(const char *s, const char *prefix)
{
  return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

bool sbx_parse_long(const char *s, long min, long max, long *ret)
{
  char *end;
  long v;

  if (!s || !*s)
    return false;
  errno = 0;
  v = strtol(s, &end, 10);
  if (errno || *end != '\0' || v < min || v > max)
    return false;
  *ret = v;
  return true;
}

char *sbx_lower_dup(const char *s)
{
  char *p = sbx_xstrdup(s), *q;

  for (q = p; *q; q++)
    *q = (char)tolower((unsigned char)*q);
  return p;
}
