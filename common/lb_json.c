#include "lb_json.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_strbuf.h"

/* RFC 8259 syntax, checked before json-c sees the text: json-c's strict
 * mode still lets NaN, single quotes, raw control characters, "-01", "1.",
 * overflowing numbers and lone surrogates through, and counts nesting
 * differently. Depth counts containers. */
typedef struct {
  const char *s;
  size_t len, pos;
  int depth;
  const char *why;
} scan;

static bool scan_fail(scan *sc, const char *why)
{
  if (!sc->why)
    sc->why = why;
  return false;
}

static void skip_ws(scan *sc)
{
  while (sc->pos < sc->len && (sc->s[sc->pos] == ' ' || sc->s[sc->pos] == '\t' ||
                               sc->s[sc->pos] == '\n' || sc->s[sc->pos] == '\r'))
    sc->pos++;
}

static int hex4(scan *sc)
{
  int v = 0;
  if (sc->len - sc->pos < 4)
    return -1;
  for (int i = 0; i < 4; i++) {
    char c = sc->s[sc->pos + (size_t)i];
    v <<= 4;
    if (c >= '0' && c <= '9')
      v |= c - '0';
    else if (c >= 'a' && c <= 'f')
      v |= c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      v |= c - 'A' + 10;
    else
      return -1;
  }
  sc->pos += 4;
  return v;
}

static bool scan_string(scan *sc)
{
  sc->pos++; /* opening quote */
  while (sc->pos < sc->len) {
    unsigned char c = (unsigned char)sc->s[sc->pos++];
    if (c == '"')
      return true;
    if (c < 0x20)
      return scan_fail(sc, "control character in a string");
    if (c != '\\')
      continue;
    if (sc->pos >= sc->len)
      break;
    c = (unsigned char)sc->s[sc->pos++];
    if (strchr("\"\\/bfnrt", c) && c)
      continue;
    if (c != 'u')
      return scan_fail(sc, "invalid escape in a string");
    int u = hex4(sc);
    if (u < 0)
      return scan_fail(sc, "invalid \\u escape");
    if (u >= 0xDC00 && u <= 0xDFFF)
      return scan_fail(sc, "lone surrogate in a string");
    if (u >= 0xD800 && u <= 0xDBFF) {
      if (sc->len - sc->pos < 2 || sc->s[sc->pos] != '\\' || sc->s[sc->pos + 1] != 'u')
        return scan_fail(sc, "lone surrogate in a string");
      sc->pos += 2;
      int lo = hex4(sc);
      if (lo < 0xDC00 || lo > 0xDFFF)
        return scan_fail(sc, "lone surrogate in a string");
    }
  }
  return scan_fail(sc, "unterminated string");
}

static bool digits(scan *sc)
{
  size_t start = sc->pos;
  while (sc->pos < sc->len && sc->s[sc->pos] >= '0' && sc->s[sc->pos] <= '9')
    sc->pos++;
  return sc->pos > start;
}

static bool scan_number(scan *sc)
{
  size_t start = sc->pos;
  char text[512];
  if (sc->s[sc->pos] == '-')
    sc->pos++;
  if (sc->pos < sc->len && sc->s[sc->pos] == '0')
    sc->pos++;
  else if (!digits(sc))
    return scan_fail(sc, "invalid number");
  if (sc->pos < sc->len && sc->s[sc->pos] == '.') {
    sc->pos++;
    if (!digits(sc))
      return scan_fail(sc, "invalid number");
  }
  if (sc->pos < sc->len && (sc->s[sc->pos] == 'e' || sc->s[sc->pos] == 'E')) {
    sc->pos++;
    if (sc->pos < sc->len && (sc->s[sc->pos] == '+' || sc->s[sc->pos] == '-'))
      sc->pos++;
    if (!digits(sc))
      return scan_fail(sc, "invalid number");
  }
  size_t n = sc->pos - start;
  if (n >= sizeof(text))
    return scan_fail(sc, "number too long");
  memcpy(text, sc->s + start, n);
  text[n] = '\0';
  if (!isfinite(strtod(text, NULL)))
    return scan_fail(sc, "number out of range");
  return true;
}

static bool scan_literal(scan *sc, const char *word)
{
  size_t n = strlen(word);
  if (sc->len - sc->pos < n || memcmp(sc->s + sc->pos, word, n) != 0)
    return scan_fail(sc, "unexpected character");
  sc->pos += n;
  return true;
}

static bool scan_value(scan *sc);

static bool scan_container(scan *sc, char close)
{
  if (++sc->depth > LB_JSON_MAX_DEPTH)
    return scan_fail(sc, "nested deeper than 64 levels");
  sc->pos++;
  skip_ws(sc);
  if (sc->pos < sc->len && sc->s[sc->pos] == close) {
    sc->pos++;
    sc->depth--;
    return true;
  }
  for (;;) {
    if (close == '}') {
      if (sc->pos >= sc->len || sc->s[sc->pos] != '"')
        return scan_fail(sc, "expected a member name");
      if (!scan_string(sc))
        return false;
      skip_ws(sc);
      if (sc->pos >= sc->len || sc->s[sc->pos] != ':')
        return scan_fail(sc, "expected ':'");
      sc->pos++;
      skip_ws(sc);
    }
    if (!scan_value(sc))
      return false;
    skip_ws(sc);
    if (sc->pos < sc->len && sc->s[sc->pos] == ',') {
      sc->pos++;
      skip_ws(sc);
      continue;
    }
    if (sc->pos < sc->len && sc->s[sc->pos] == close) {
      sc->pos++;
      sc->depth--;
      return true;
    }
    return scan_fail(sc, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
  }
}

static bool scan_value(scan *sc)
{
  if (sc->pos >= sc->len)
    return scan_fail(sc, "unexpected end of input");
  switch (sc->s[sc->pos]) {
  case '{':
    return scan_container(sc, '}');
  case '[':
    return scan_container(sc, ']');
  case '"':
    return scan_string(sc);
  case 't':
    return scan_literal(sc, "true");
  case 'f':
    return scan_literal(sc, "false");
  case 'n':
    return scan_literal(sc, "null");
  default:
    if (sc->s[sc->pos] == '-' || (sc->s[sc->pos] >= '0' && sc->s[sc->pos] <= '9'))
      return scan_number(sc);
    return scan_fail(sc, "unexpected character");
  }
}

/* One tokener per thread, reset for each text: making one per message (a
 * 2 KiB stack) was a tenth of the parse. Freed when its thread ends. */
static pthread_key_t tokener_key;
static pthread_once_t tokener_once = PTHREAD_ONCE_INIT;

static void tokener_free(void *tok)
{
  json_tokener_free(tok);
}

static void tokener_key_make(void)
{
  (void)pthread_key_create(&tokener_key, tokener_free);
}

static json_tokener *thread_tokener(void)
{
  static _Thread_local json_tokener *tok;
  if (tok) {
    json_tokener_reset(tok);
    return tok;
  }
  if (!(tok = json_tokener_new_ex(LB_JSON_MAX_DEPTH + 2)))
    return NULL;
  pthread_once(&tokener_once, tokener_key_make);
  (void)pthread_setspecific(tokener_key, tok);
  return tok;
}

lb_err lb_json_parse(const char *buf, size_t len, json_object **ret, char *err, size_t errlen)
{
  if (len > LB_JSON_MAX_BYTES) {
    snprintf(err, errlen, "larger than %d bytes", LB_JSON_MAX_BYTES);
    return LB_E_TOO_BIG;
  }
  scan sc = { .s = buf, .len = len };
  skip_ws(&sc);
  if (sc.pos == len) {
    snprintf(err, errlen, "empty input");
    return LB_E_PARSE;
  }
  size_t bad;
  /* json-c's own check lets overlong forms and surrogates through */
  if (!lb_strbuf_utf8_valid(buf, len, &bad)) {
    snprintf(err, errlen, "not valid UTF-8 at byte %zu", bad);
    return LB_E_PARSE;
  }
  if (scan_value(&sc)) {
    skip_ws(&sc);
    if (sc.pos < len)
      scan_fail(&sc, "unexpected data after the value");
  }
  if (sc.why) {
    snprintf(err, errlen, "not valid JSON: %s at byte %zu", sc.why, sc.pos);
    return LB_E_PARSE;
  }
  /* Valid RFC 8259: json-c builds the tree. Its depth counts scalars too. */
  json_tokener *tok = thread_tokener();
  if (!tok) {
    snprintf(err, errlen, "out of memory");
    return LB_E_NOMEM;
  }
  json_object *obj = json_tokener_parse_ex(tok, buf, (int)len);
  enum json_tokener_error jerr = json_tokener_get_error(tok);
  if (jerr == json_tokener_continue) {
    /* A top-level number or literal may go on: end the input. */
    obj = json_tokener_parse_ex(tok, "", 1);
    jerr = json_tokener_get_error(tok);
  }
  if (jerr != json_tokener_success) {
    json_object_put(obj);
    snprintf(err, errlen, "not valid JSON: %s", json_tokener_error_desc(jerr));
    return LB_E_PARSE;
  }
  *ret = obj; /* may be NULL for the JSON literal null */
  return LB_E_OK;
}

size_t lb_json_value_end(const char *buf, size_t len)
{
  scan sc = { .s = buf, .len = len };
  skip_ws(&sc);
  (void)scan_value(&sc);
  return sc.pos;
}

const char *lb_json_text(json_object *obj)
{
  return json_object_to_json_string_ext(obj,
                                        JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

json_object *lb_json_number(double d)
{
  char text[LB_JSON_NUMBER_MAX];
  if (!lb_json_format_number(d, text, sizeof(text)))
    return NULL;
  if (d == trunc(d) && fabs(d) < 9007199254740992.0)
    return json_object_new_int64((int64_t)d); /* text is its digits */
  return json_object_new_double_s(d, text);
}

size_t lb_json_format_number(double d, char *buf, size_t size)
{
  int n;
  if (!isfinite(d) || size < LB_JSON_NUMBER_MAX)
    return 0;
  /* integral and exact in a double: its digits, as json-c prints an int64 */
  if (d == trunc(d) && fabs(d) < 9007199254740992.0)
    return (size_t)snprintf(buf, size, "%lld", (long long)d);
  n = snprintf(buf, size, "%.15g", d);
  /* near DBL_MAX, 15 digits round past it: JSON no reader takes */
  if (!isfinite(strtod(buf, NULL)))
    n = snprintf(buf, size, "%.17g", d);
  return (size_t)n;
}

json_object *lb_json_string_or_null(const char *s)
{
  return s ? json_object_new_string(s) : NULL;
}
