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
  /* building a document as it goes (doc NULL: syntax alone) */
  lb_json_doc *doc;
  char *out;           /* where the next decoded string goes */
  lb_json_value *made; /* the value scan_value has just read */
  const char *str;     /* the string scan_string has just decoded */
  size_t str_len;
  double number; /* the number scan_number has just read */
  bool nomem;
} scan;

struct lb_json_chunk {
  lb_json_chunk *next; /* the one made before */
  size_t used, cap;
  lb_json_value values[];
};

#define DOC_FIRST_VALUES 128
#define DOC_KEEP_TEXT (64 * 1024)

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

static char *put_utf8(char *o, unsigned cp)
{
  if (cp < 0x80) {
    *o++ = (char)cp;
  } else if (cp < 0x800) {
    *o++ = (char)(0xC0 | (cp >> 6));
    *o++ = (char)(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *o++ = (char)(0xE0 | (cp >> 12));
    *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
    *o++ = (char)(0x80 | (cp & 0x3F));
  } else {
    *o++ = (char)(0xF0 | (cp >> 18));
    *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
    *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
    *o++ = (char)(0x80 | (cp & 0x3F));
  }
  return o;
}

/* Checks a string and, when building, decodes it to sc->out (never longer
 * than its text: the quotes pay for the terminating NUL). */
static bool scan_string(scan *sc)
{
  static const char escapes[] = "\"\\/bfnrt", decoded[] = "\"\\/\b\f\n\r\t";
  char *o = sc->out, *start = o;
  sc->pos++; /* opening quote */
  while (sc->pos < sc->len) {
    unsigned char c = (unsigned char)sc->s[sc->pos++];
    if (c == '"') {
      if (o) {
        sc->str = start;
        sc->str_len = (size_t)(o - start);
        *o++ = '\0';
        sc->out = o;
      }
      return true;
    }
    if (c < 0x20)
      return scan_fail(sc, "control character in a string");
    if (c != '\\') {
      if (o)
        *o++ = (char)c;
      continue;
    }
    if (sc->pos >= sc->len)
      break;
    c = (unsigned char)sc->s[sc->pos++];
    const char *e = c ? strchr(escapes, c) : NULL;
    if (e) {
      if (o)
        *o++ = decoded[e - escapes];
      continue;
    }
    if (c != 'u')
      return scan_fail(sc, "invalid escape in a string");
    int u = hex4(sc);
    if (u < 0)
      return scan_fail(sc, "invalid \\u escape");
    if (u >= 0xDC00 && u <= 0xDFFF)
      return scan_fail(sc, "lone surrogate in a string");
    unsigned cp = (unsigned)u;
    if (u >= 0xD800 && u <= 0xDBFF) {
      if (sc->len - sc->pos < 2 || sc->s[sc->pos] != '\\' || sc->s[sc->pos + 1] != 'u')
        return scan_fail(sc, "lone surrogate in a string");
      sc->pos += 2;
      int lo = hex4(sc);
      if (lo < 0xDC00 || lo > 0xDFFF)
        return scan_fail(sc, "lone surrogate in a string");
      cp = 0x10000 + (((unsigned)u - 0xD800) << 10) + ((unsigned)lo - 0xDC00);
    }
    if (o)
      o = put_utf8(o, cp);
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
  sc->number = strtod(text, NULL);
  if (!isfinite(sc->number))
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

/* A zeroed value from the document's newest chunk, a bigger chunk when it
 * is full: values never move, so members can point at each other. */
static lb_json_value *new_value(scan *sc)
{
  lb_json_chunk *c = sc->doc->chunks;
  if (!c || c->used == c->cap) {
    size_t cap = c ? c->cap * 2 : DOC_FIRST_VALUES;
    lb_json_chunk *n = malloc(sizeof(*n) + cap * sizeof(lb_json_value));
    if (!n) {
      sc->nomem = true;
      scan_fail(sc, "out of memory");
      return NULL;
    }
    *n = (lb_json_chunk){ .next = c, .cap = cap };
    sc->doc->chunks = c = n;
  }
  lb_json_value *v = &c->values[c->used++];
  *v = (lb_json_value){ 0 };
  return v;
}

/* An array or object; its members are linked to v when building. */
static bool scan_container(scan *sc, char close, lb_json_value *v)
{
  const lb_json_value **link = v ? &v->first : NULL;
  const char *name = NULL;
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
      name = sc->str;
      skip_ws(sc);
      if (sc->pos >= sc->len || sc->s[sc->pos] != ':')
        return scan_fail(sc, "expected ':'");
      sc->pos++;
      skip_ws(sc);
    }
    if (!scan_value(sc))
      return false;
    if (v) {
      sc->made->name = name;
      *link = sc->made;
      link = &sc->made->next;
      v->len++;
    }
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
  lb_json_value *v = NULL;
  bool ok;
  if (sc->pos >= sc->len)
    return scan_fail(sc, "unexpected end of input");
  if (sc->doc && !(v = new_value(sc)))
    return false;
  lb_json_value scratch; /* so that the cases below need not ask */
  lb_json_value *w = v ? v : &scratch;
  switch (sc->s[sc->pos]) {
  case '{':
    w->type = LB_JSON_OBJECT;
    ok = scan_container(sc, '}', v);
    break;
  case '[':
    w->type = LB_JSON_ARRAY;
    ok = scan_container(sc, ']', v);
    break;
  case '"':
    ok = scan_string(sc);
    w->type = LB_JSON_STRING;
    w->string = sc->str;
    w->len = sc->str_len;
    break;
  case 't':
    ok = scan_literal(sc, "true");
    w->type = LB_JSON_BOOL;
    w->boolean = true;
    break;
  case 'f':
    ok = scan_literal(sc, "false");
    w->type = LB_JSON_BOOL;
    break;
  case 'n':
    ok = scan_literal(sc, "null");
    break;
  default:
    if (sc->s[sc->pos] != '-' && (sc->s[sc->pos] < '0' || sc->s[sc->pos] > '9'))
      return scan_fail(sc, "unexpected character");
    ok = scan_number(sc);
    w->type = LB_JSON_NUMBER;
    w->number = sc->number;
  }
  sc->made = v;
  return ok;
}

/* Per thread: one tokener, reset for each text (making one per message, a
 * 2 KiB stack, was a tenth of the parse), and one document. Freed when
 * the thread ends. */
typedef struct {
  json_tokener *tok;
  lb_json_doc doc;
} thread_json;

static pthread_key_t thread_key;
static pthread_once_t thread_once = PTHREAD_ONCE_INIT;

static void thread_json_free(void *p)
{
  thread_json *t = p;
  if (t->tok)
    json_tokener_free(t->tok);
  lb_json_doc_release(&t->doc);
  free(t);
}

static void thread_key_make(void)
{
  (void)pthread_key_create(&thread_key, thread_json_free);
}

static thread_json *thread_state(void)
{
  static _Thread_local thread_json *t;
  if (t)
    return t;
  if (!(t = calloc(1, sizeof(*t))))
    return NULL;
  pthread_once(&thread_once, thread_key_make);
  (void)pthread_setspecific(thread_key, t);
  return t;
}

static json_tokener *thread_tokener(void)
{
  thread_json *t = thread_state();
  if (!t)
    return NULL;
  if (t->tok)
    json_tokener_reset(t->tok);
  else
    t->tok = json_tokener_new_ex(LB_JSON_MAX_DEPTH + 2);
  return t->tok;
}

lb_json_doc *lb_json_thread_doc(void)
{
  thread_json *t = thread_state();
  return t ? &t->doc : NULL;
}

/* What both parsers check: the size, that there is a value, UTF-8 (json-c's
 * own check lets overlong forms and surrogates through) and RFC 8259
 * syntax, building sc->doc's values on the way when it has one. */
static lb_err check_text(scan *sc, char *err, size_t errlen)
{
  if (sc->len > LB_JSON_MAX_BYTES) {
    snprintf(err, errlen, "larger than %d bytes", LB_JSON_MAX_BYTES);
    return LB_E_TOO_BIG;
  }
  skip_ws(sc);
  if (sc->pos == sc->len) {
    snprintf(err, errlen, "empty input");
    return LB_E_PARSE;
  }
  size_t bad;
  if (!lb_strbuf_utf8_valid(sc->s, sc->len, &bad)) {
    snprintf(err, errlen, "not valid UTF-8 at byte %zu", bad);
    return LB_E_PARSE;
  }
  if (scan_value(sc)) {
    skip_ws(sc);
    if (sc->pos < sc->len)
      scan_fail(sc, "unexpected data after the value");
  }
  if (sc->nomem) {
    snprintf(err, errlen, "out of memory");
    return LB_E_NOMEM;
  }
  if (sc->why) {
    snprintf(err, errlen, "not valid JSON: %s at byte %zu", sc->why, sc->pos);
    return LB_E_PARSE;
  }
  return LB_E_OK;
}

lb_err lb_json_parse(const char *buf, size_t len, json_object **ret, char *err, size_t errlen)
{
  scan sc = { .s = buf, .len = len };
  lb_err rc = check_text(&sc, err, errlen);
  if (rc != LB_E_OK)
    return rc;
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

/* Ready for a text of len bytes: the first chunk of values kept, the
 * others freed; room for its decoded strings, a big text's room given
 * back. */
static bool doc_reset(lb_json_doc *doc, size_t len)
{
  lb_json_chunk *c = doc->chunks;
  while (c && c->next) {
    lb_json_chunk *older = c->next;
    free(c);
    c = older;
  }
  if ((doc->chunks = c))
    c->used = 0;
  size_t need = len + 1;
  if (doc->text_cap >= need && (doc->text_cap <= DOC_KEEP_TEXT || need > DOC_KEEP_TEXT))
    return true;
  free(doc->text);
  doc->text_cap = need < 4096 ? 4096 : need;
  if (!(doc->text = malloc(doc->text_cap)))
    doc->text_cap = 0;
  return doc->text != NULL;
}

lb_err lb_json_doc_parse(lb_json_doc *doc, const char *buf, size_t len, char *err, size_t errlen)
{
  doc->root = NULL;
  if (len <= LB_JSON_MAX_BYTES && !doc_reset(doc, len)) {
    snprintf(err, errlen, "out of memory");
    return LB_E_NOMEM;
  }
  scan sc = { .s = buf, .len = len, .doc = doc, .out = doc->text };
  lb_err rc = check_text(&sc, err, errlen);
  if (rc == LB_E_OK)
    doc->root = sc.made;
  return rc;
}

void lb_json_doc_release(lb_json_doc *doc)
{
  if (!doc)
    return;
  for (lb_json_chunk *c = doc->chunks, *older; c; c = older) {
    older = c->next;
    free(c);
  }
  free(doc->text);
  *doc = (lb_json_doc){ 0 };
}

const lb_json_value *lb_json_get(const lb_json_value *obj, const char *name)
{
  const lb_json_value *found = NULL;
  if (!obj || obj->type != LB_JSON_OBJECT)
    return NULL;
  for (const lb_json_value *m = obj->first; m; m = m->next)
    if (m->name[0] == name[0] && strcmp(m->name, name) == 0)
      found = m;
  return found;
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
