#include "lb_json_write.h"

#include <string.h>

void lb_json_write_init(lb_json_writer *w, lb_strbuf *out)
{
  w->out = out;
  w->start = out->len;
  w->staged = 0;
  w->depth = 0;
  w->arrays = 0;
  w->nonempty = 0;
  w->named = false;
  w->done = false;
  w->err = LB_E_OK;
}

static uint64_t level_bit(const lb_json_writer *w)
{
  return (uint64_t)1 << (w->depth - 1);
}

static void fail(lb_json_writer *w, lb_err err)
{
  if (w->err == LB_E_OK)
    w->err = err;
}

static void append(lb_json_writer *w, const char *s, size_t n)
{
  lb_strbuf *b = w->out;
  if (w->err == LB_E_OK && lb_strbuf_append_len(b, s, n) != 0)
    fail(w, b->max && (n > b->max || b->len > b->max - n) ? LB_E_TOO_BIG : LB_E_NOMEM);
}

static void flush(lb_json_writer *w)
{
  if (w->staged)
    append(w, w->stage, w->staged);
  w->staged = 0;
}

/* n more bytes: into the stage, which goes to out when full (and nowhere
 * after a failure: append() keeps nothing then). */
static void put(lb_json_writer *w, const char *s, size_t n)
{
  if (n > sizeof(w->stage) - w->staged) {
    flush(w);
    if (n > sizeof(w->stage)) {
      append(w, s, n);
      return;
    }
  }
  memcpy(w->stage + w->staged, s, n);
  w->staged += n;
}

/* The bytes a JSON string cannot hold as they are: below 0x20, '"', '\\'. */
static const bool escaped[256] = {
  [0x00] = 1, [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1, [0x06] = 1,
  [0x07] = 1, [0x08] = 1, [0x09] = 1, [0x0a] = 1, [0x0b] = 1, [0x0c] = 1, [0x0d] = 1,
  [0x0e] = 1, [0x0f] = 1, [0x10] = 1, [0x11] = 1, [0x12] = 1, [0x13] = 1, [0x14] = 1,
  [0x15] = 1, [0x16] = 1, [0x17] = 1, [0x18] = 1, [0x19] = 1, [0x1a] = 1, [0x1b] = 1,
  [0x1c] = 1, [0x1d] = 1, [0x1e] = 1, [0x1f] = 1, ['"'] = 1,  ['\\'] = 1,
};

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Whether a byte of the word x is below 0x20, '"' or '\\', 8 bytes at a
 * time: (v - k * ONES) & ~v & HIGHS is nonzero exactly when a byte of v is
 * below k (k <= 0x80); k = 1 finds a zero byte, that is a byte of x equal
 * to the one v was XORed with. */
static bool word_has_escape(uint64_t x)
{
  uint64_t q = x ^ (ONES * '"'), b = x ^ (ONES * '\\');
  return (((x - ONES * 0x20) & ~x) | ((q - ONES) & ~q) | ((b - ONES) & ~b)) & HIGHS;
}

/* How many bytes at the start of p[0..len) a string holds as they are. */
static size_t plain_prefix(const unsigned char *p, size_t len)
{
  size_t i = 0;
  for (uint64_t x; i + 8 <= len; i += 8) {
    memcpy(&x, p + i, 8);
    if (word_has_escape(x))
      break;
  }
  while (i < len && !escaped[p[i]])
    i++;
  return i;
}

/* s[0..len) as a JSON string literal. */
static void put_string(lb_json_writer *w, const char *s, size_t len)
{
  const unsigned char *p = (const unsigned char *)s;
  size_t i = plain_prefix(p, len);
  if (i == len && len + 2 <= sizeof(w->stage) - w->staged) {
    /* the usual case: nothing to escape, room in the stage */
    char *d = w->stage + w->staged;
    d[0] = '"';
    memcpy(d + 1, s, len);
    d[len + 1] = '"';
    w->staged += len + 2;
    return;
  }
  put(w, "\"", 1);
  put(w, s, i);
  while (i < len) {
    char esc[6];
    put(w, esc, lb_strbuf_json_escape(p[i++], esc));
    size_t run = plain_prefix(p + i, len - i);
    put(w, s + i, run);
    i += run;
  }
  put(w, "\"", 1);
}

/* Before any value: the comma between array elements; a value needs a
 * name first in an object and is alone at the top. False to write none. */
static bool value_due(lb_json_writer *w)
{
  if (w->err != LB_E_OK)
    return false;
  if (w->depth == 0) {
    if (w->done)
      fail(w, LB_E_INVALID);
  } else if (w->arrays & level_bit(w)) {
    if (w->nonempty & level_bit(w))
      put(w, ",", 1);
    w->nonempty |= level_bit(w);
  } else if (!w->named) {
    fail(w, LB_E_INVALID);
  }
  w->named = false;
  return w->err == LB_E_OK;
}

/* After a complete value (a scalar or a closed container). */
static void value_done(lb_json_writer *w)
{
  if (w->depth == 0)
    w->done = true;
}

static void scalar(lb_json_writer *w, const char *text, size_t n)
{
  if (!value_due(w))
    return;
  put(w, text, n);
  value_done(w);
}

static void begin(lb_json_writer *w, bool array)
{
  if (!value_due(w))
    return;
  if (w->depth == LB_JSON_MAX_DEPTH) {
    fail(w, LB_E_INVALID);
    return;
  }
  w->depth++;
  if (array)
    w->arrays |= level_bit(w);
  else
    w->arrays &= ~level_bit(w);
  w->nonempty &= ~level_bit(w);
  put(w, array ? "[" : "{", 1);
}

static void end(lb_json_writer *w, bool array)
{
  if (w->err != LB_E_OK)
    return;
  if (w->depth == 0 || !(w->arrays & level_bit(w)) != !array || w->named) {
    fail(w, LB_E_INVALID);
    return;
  }
  put(w, array ? "]" : "}", 1);
  w->depth--;
  value_done(w);
}

void lb_json_write_object_begin(lb_json_writer *w)
{
  begin(w, false);
}

void lb_json_write_object_end(lb_json_writer *w)
{
  end(w, false);
}

void lb_json_write_array_begin(lb_json_writer *w)
{
  begin(w, true);
}

void lb_json_write_array_end(lb_json_writer *w)
{
  end(w, true);
}

void lb_json_write_name(lb_json_writer *w, const char *name)
{
  if (w->err != LB_E_OK)
    return;
  if (w->depth == 0 || (w->arrays & level_bit(w)) || w->named) {
    fail(w, LB_E_INVALID);
    return;
  }
  if (w->nonempty & level_bit(w))
    put(w, ",", 1);
  w->nonempty |= level_bit(w);
  put_string(w, name, strlen(name));
  put(w, ":", 1);
  w->named = true;
}

void lb_json_write_string_len(lb_json_writer *w, const char *s, size_t len)
{
  if (!value_due(w))
    return;
  put_string(w, s, len);
  value_done(w);
}

void lb_json_write_string(lb_json_writer *w, const char *s)
{
  if (s)
    lb_json_write_string_len(w, s, strlen(s));
  else
    lb_json_write_null(w);
}

void lb_json_write_int64(lb_json_writer *w, int64_t v)
{
  char digits[24];
  size_t i = sizeof(digits);
  /* by magnitude in unsigned: INT64_MIN has no positive */
  uint64_t m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  do {
    digits[--i] = (char)('0' + m % 10);
    m /= 10;
  } while (m);
  if (v < 0)
    digits[--i] = '-';
  scalar(w, digits + i, sizeof(digits) - i);
}

void lb_json_write_number(lb_json_writer *w, double d)
{
  char text[LB_JSON_NUMBER_MAX];
  size_t n = lb_json_format_number(d, text, sizeof(text));
  if (n)
    scalar(w, text, n);
  else
    lb_json_write_null(w);
}

void lb_json_write_bool(lb_json_writer *w, bool b)
{
  if (b)
    scalar(w, "true", 4);
  else
    scalar(w, "false", 5);
}

void lb_json_write_null(lb_json_writer *w)
{
  scalar(w, "null", 4);
}

lb_err lb_json_write_finish(lb_json_writer *w)
{
  lb_strbuf *b = w->out;
  flush(w);
  if (w->err == LB_E_OK && (w->depth || !w->done))
    w->err = LB_E_INVALID;
  if (w->err != LB_E_OK && b->len > w->start) {
    b->len = w->start;
    b->buf[b->len] = '\0';
  }
  return w->err;
}
