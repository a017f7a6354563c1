/* lb_json: strict parsing (exactly one value, RFC 3629 UTF-8, size and
 * depth limits, a reason on failure, *ret untouched), and compact output
 * with short numbers and unescaped slashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_json.h"
#include "lb_test_json.h"

static json_object *const UNTOUCHED = (json_object *)&UNTOUCHED;

struct parse_case {
  const char *text;
  size_t len;
  lb_err rc;
  const char *why; /* a word the reason must contain, or NULL */
};

#define OK(s)                                                                                      \
  {                                                                                                \
    s, sizeof(s) - 1, LB_E_OK, NULL                                                                \
  }
#define BAD(s)                                                                                     \
  {                                                                                                \
    s, sizeof(s) - 1, LB_E_PARSE, NULL                                                             \
  }
#define BAD_UTF8(s)                                                                                \
  {                                                                                                \
    s, sizeof(s) - 1, LB_E_PARSE, "UTF-8"                                                          \
  }

/* `s` with bytes outside printable ASCII as \xNN, for messages. */
static const char *show(const char *s, size_t len)
{
  static char out[512];
  size_t o = 0;
  for (size_t i = 0; i < len && o + 5 < sizeof(out); i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c < 0x7f)
      out[o++] = (char)c;
    else
      o += (size_t)snprintf(out + o, sizeof(out) - o, "\\x%02x", c);
  }
  out[o] = '\0';
  return out;
}

/* Runs a table; prints every mismatch, then fails if there was one. */
static void check_parse(const struct parse_case *cases, size_t n)
{
  int failures = 0;
  lb_json_doc doc = { 0 };
  for (size_t i = 0; i < n; i++) {
    json_object *obj = UNTOUCHED;
    char err[256] = "";
    lb_err rc = lb_json_parse(cases[i].text, cases[i].len, &obj, err, sizeof(err));
    if (rc != cases[i].rc) {
      print_error("case %zu \"%s\": rc %s, want %s (%s)\n", i, show(cases[i].text, cases[i].len),
                  lb_err_name(rc), lb_err_name(cases[i].rc), err);
      failures++;
    } else if (cases[i].why && !strstr(err, cases[i].why)) {
      print_error("case %zu \"%s\": reason \"%s\" does not say \"%s\"\n", i,
                  show(cases[i].text, cases[i].len), err, cases[i].why);
      failures++;
    }
    /* the document parser refuses alike, for the same reason, and reads
     * what json-c reads */
    char doc_err[256] = "";
    lb_err doc_rc = lb_json_doc_parse(&doc, cases[i].text, cases[i].len, doc_err, sizeof(doc_err));
    if (doc_rc != rc || strcmp(doc_err, err) != 0) {
      print_error("case %zu \"%s\": the document parser says %s (%s), lb_json_parse %s (%s)\n", i,
                  show(cases[i].text, cases[i].len), lb_err_name(doc_rc), doc_err, lb_err_name(rc),
                  err);
      failures++;
    } else if (rc == LB_E_OK && !lb_test_json_same(obj, doc.root)) {
      print_error("case %zu \"%s\": the document differs from json-c's tree\n", i,
                  show(cases[i].text, cases[i].len));
      failures++;
    }
    assert_true(rc == LB_E_OK || doc.root == NULL);
    if (rc == LB_E_OK) {
      assert_true(obj != UNTOUCHED);
      assert_string_equal(err, ""); /* untouched on success */
      json_object_put(obj);
    } else {
      assert_ptr_equal(obj, UNTOUCHED);
      if (err[0] == '\0')
        fail_msg("case %zu: no reason", i);
    }
  }
  lb_json_doc_release(&doc);
  assert_int_equal(failures, 0);
}

static void test_parse_table(void **state)
{
  (void)state;
  static const struct parse_case cases[] = {
    OK("{}"),
    OK("[]"),
    OK("{\"a\":1,\"b\":[true,false,null],\"c\":\"x\"}"),
    OK("\"text\""),
    OK(" \t\r\n{} \t\r\n"),
    OK("{}\n"),
    OK("0 "),
    OK("true\n"),
    OK(" null "),
    OK("\"\\ud83d\\ude00\""),
    OK("\"\\u00e9\""),
    OK("[-0.5e-3,1E+2,0]"),

    BAD(""),
    BAD(" "),
    BAD(" \t\r\n "),
    BAD("{} x"),
    BAD("{}{}"),
    BAD("[1] [2]"),
    BAD("{}\n,"),
    BAD("1 2"),
    BAD("{} //"),
    { "{}\0", 3, LB_E_PARSE, NULL }, /* a NUL after the value is data */
    BAD("{"),
    BAD("[1,"),
    BAD("{\"a\":}"),
    BAD("[1,]"),
    BAD("{\"a\":1,}"),
    BAD("{a:1}"),
    BAD("['x']"),
    BAD("\"unterminated"),
    BAD("tru"),
    BAD("nul"),
    BAD("NaN"),
    BAD("Infinity"),
    BAD("[TRUE]"),
    BAD("[01]"),
    BAD("[+1]"),
    BAD("[.5]"),
    BAD("[0x10]"),
    BAD("[\"\\x41\"]"),
    BAD("/*c*/[1]"),
    BAD("{\"a\":1} garbage"),
    BAD("\xef\xbb\xbf{}"), /* no byte order mark */
    BAD("]"),
  };
  check_parse(cases, sizeof(cases) / sizeof(cases[0]));
}

/* Exactly one value, and nothing else: a number or literal at the very
 * end of the buffer is complete. */
static void test_parse_top_level_scalars(void **state)
{
  (void)state;
  static const struct parse_case cases[] = {
    OK("\"s\""), OK("0"), OK("42"), OK("-1.5e3"), OK("true"), OK("false"), OK("null"), OK("  7"),
  };
  check_parse(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_parse_utf8(void **state)
{
  (void)state;
  static const struct parse_case cases[] = {
    OK("\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""),
    OK("\"\xc2\x80 \xdf\xbf \xe0\xa0\x80 \xef\xbf\xbf\""), /* bounds of each length */
    OK("\"\xf0\x90\x80\x80 \xf4\x8f\xbf\xbf\""),           /* U+10000, U+10FFFF */
    OK("\"\xed\x9f\xbf \xee\x80\x80\""),                   /* around the surrogates */
    OK("{\"cl\xc3\xa9\":\"\xe2\x82\xac\"}"),
    BAD_UTF8("\"\xc0\xaf\""),                 /* overlong '/' */
    BAD_UTF8("\"\xc1\xbf\""),                 /* overlong */
    BAD_UTF8("\"\xe0\x80\xaf\""),             /* overlong, 3 bytes */
    BAD_UTF8("\"\xe0\x9f\xbf\""),             /* overlong, 3 bytes, top */
    BAD_UTF8("\"\xf0\x80\x80\xaf\""),         /* overlong, 4 bytes */
    BAD_UTF8("\"\xf0\x8f\xbf\xbf\""),         /* overlong, 4 bytes, top */
    BAD_UTF8("\"\xed\xa0\x80\""),             /* surrogate U+D800 */
    BAD_UTF8("\"\xed\xbf\xbf\""),             /* surrogate U+DFFF */
    BAD_UTF8("\"\xed\xa0\xbd\xed\xb8\x80\""), /* CESU-8 pair */
    BAD_UTF8("\"\xe2\x82\""),                 /* truncated sequence */
    BAD_UTF8("\"\xe2\x82"),                   /* truncated at end of input */
    BAD_UTF8("\"\xf0\x9f\x98\""),
    BAD_UTF8("\"\xc3\""),
    BAD_UTF8("\"\xc3\xc3\xa9\""),         /* lead where a continuation belongs */
    BAD_UTF8("\"\xf8\x88\x80\x80\x80\""), /* 5-byte lead */
    BAD_UTF8("\"\xf8\x90\x80\x80\""),
    BAD_UTF8("\"\xfc\x84\x80\x80\x80\x80\""), /* 6-byte lead */
    BAD_UTF8("\"\xf4\x90\x80\x80\""),         /* above U+10FFFF */
    BAD_UTF8("\"\xf5\x80\x80\x80\""),
    BAD_UTF8("\"\x80\""), /* lone continuation byte */
    BAD_UTF8("\"\xbf\""),
    BAD_UTF8("\"\xfe\""),
    BAD_UTF8("\"\xff\""),
    BAD_UTF8("{\"k\xff\":1}"), /* in a key */
  };
  check_parse(cases, sizeof(cases) / sizeof(cases[0]));

  /* A sequence cut by `len` is incomplete even if the bytes after it would
   * complete it. */
  static const char text[] = "\"ab\xe2\x82\xac\"";
  json_object *obj = UNTOUCHED;
  char err[256] = "";
  assert_int_equal(lb_json_parse(text, 5, &obj, err, sizeof(err)), LB_E_PARSE);
  assert_ptr_equal(obj, UNTOUCHED);
  assert_non_null(strstr(err, "UTF-8"));
}

/* What RFC 8259 (and the schema agreement test's strict loader) refuses
 * is refused here too, also where json-c's own strict mode lets it by. */
static void test_parse_rejects_what_rfc8259_rejects(void **state)
{
  (void)state;
  static const char *const bad[] = {
    "{'a':1}", /* single-quoted name */
    "[NaN]",   /* not JSON numbers */
    "[Infinity]",
    "[-Infinity]",
    "{\"a\":NaN}",
    "[-01]",      /* leading zero */
    "[1.]",       /* fraction without digits */
    "[\"a\tb\"]", /* raw control characters in strings */
    "[\"a\nb\"]",
    "[\"a\x01"
    "b\"]",
    "{\"k\x1f\":1}",
    /* the project's strict loader (tests/schema_agreement.py) also
     * refuses numbers that overflow a double and lone surrogates */
    "[1e400]",
    "[-1e400]",
    "[\"\\ud800\"]",
    "[\"\\udc00x\"]",
  };
  int failures = 0;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    json_object *obj = UNTOUCHED;
    char err[256] = "";
    lb_err rc = lb_json_parse(bad[i], strlen(bad[i]), &obj, err, sizeof(err));
    if (rc != LB_E_PARSE) {
      print_error("\"%s\": %s, want PARSE\n", show(bad[i], strlen(bad[i])), lb_err_name(rc));
      failures++;
      if (rc == LB_E_OK)
        json_object_put(obj);
    }
  }
  assert_int_equal(failures, 0);
}

/* Parsing uses `len`, not the NUL: the text need not be terminated. */
static void test_parse_uses_len(void **state)
{
  (void)state;
  json_object *obj = UNTOUCHED;
  char err[128] = "";
  const char *text = "[1,2]trailing";
  assert_int_equal(lb_json_parse(text, 5, &obj, err, sizeof(err)), LB_E_OK);
  assert_string_equal(lb_json_text(obj), "[1,2]");
  json_object_put(obj);
  obj = UNTOUCHED;
  assert_int_equal(lb_json_parse(text, 4, &obj, err, sizeof(err)), LB_E_PARSE);
  assert_ptr_equal(obj, UNTOUCHED);
}

static void test_parse_values(void **state)
{
  (void)state;
  json_object *obj = UNTOUCHED;
  char err[128];
  const char *text = "  {\"s\":\"caf\xc3\xa9\",\"n\":42,\"d\":0.5,\"z\":null}  ";
  assert_int_equal(lb_json_parse(text, strlen(text), &obj, err, sizeof(err)), LB_E_OK);
  json_object *v;
  assert_true(json_object_object_get_ex(obj, "s", &v));
  assert_string_equal(json_object_get_string(v), "caf\xc3\xa9");
  assert_true(json_object_object_get_ex(obj, "n", &v));
  assert_int_equal(json_object_get_int64(v), 42);
  assert_true(json_object_object_get_ex(obj, "d", &v));
  assert_true(json_object_get_double(v) == 0.5);
  assert_true(json_object_object_get_ex(obj, "z", &v));
  assert_null(v);
  json_object_put(obj);

  /* The literal null parses, as a NULL object. */
  obj = UNTOUCHED;
  assert_int_equal(lb_json_parse(" null ", 6, &obj, err, sizeof(err)), LB_E_OK);
  assert_null(obj);
}

/* `depth` nested containers: "[[...[leaf]...]]" or {"a":{"a":...leaf}}. */
static char *nested(int depth, bool objects, const char *leaf)
{
  size_t cap = (size_t)depth * 6 + strlen(leaf) + 1;
  char *s = malloc(cap);
  assert_non_null(s);
  size_t n = 0;
  for (int i = 0; i < depth; i++) {
    const char *open = objects ? "{\"a\":" : "[";
    memcpy(s + n, open, strlen(open));
    n += strlen(open);
  }
  memcpy(s + n, leaf, strlen(leaf));
  n += strlen(leaf);
  for (int i = 0; i < depth; i++)
    s[n++] = objects ? '}' : ']';
  s[n] = '\0';
  return s;
}

static lb_err parse_nested(int depth, bool objects, const char *leaf)
{
  char *s = nested(depth, objects, leaf);
  json_object *obj = UNTOUCHED;
  char err[256] = "";
  lb_err rc = lb_json_parse(s, strlen(s), &obj, err, sizeof(err));
  if (rc == LB_E_OK)
    json_object_put(obj);
  else
    assert_ptr_equal(obj, UNTOUCHED);
  free(s);
  return rc;
}

/* Depth counts containers: 64 nested arrays or objects are fine whatever
 * the innermost one holds (nothing, a scalar, an empty object); 65 are
 * not. */
static void test_depth_limit_counts_containers(void **state)
{
  (void)state;
  assert_int_equal(LB_JSON_MAX_DEPTH, 64);
  static const struct {
    bool objects;
    const char *leaf;
    int leaf_containers; /* the leaf is itself a container */
  } shapes[] = {
    { false, "", 0 }, { false, "1", 0 },   { false, "\"s\"", 0 }, { false, "{}", 1 },
    { true, "1", 0 }, { true, "null", 0 }, { true, "{}", 1 },     { true, "[]", 1 },
  };
  int failures = 0;
  for (size_t k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++) {
    for (int containers = 62; containers <= 67; containers++) {
      int wraps = containers - shapes[k].leaf_containers;
      lb_err want = containers <= LB_JSON_MAX_DEPTH ? LB_E_OK : LB_E_PARSE;
      lb_err rc = parse_nested(wraps, shapes[k].objects, shapes[k].leaf);
      if (rc != want) {
        print_error("%d nested %s around \"%s\": %s, want %s\n", containers,
                    shapes[k].objects ? "objects" : "arrays", shapes[k].leaf, lb_err_name(rc),
                    lb_err_name(want));
        failures++;
      }
    }
  }
  assert_int_equal(parse_nested(10000, false, ""), LB_E_PARSE);
  assert_int_equal(failures, 0);
}

static void test_depth_64_empty_arrays(void **state)
{
  (void)state;
  assert_int_equal(parse_nested(64, false, ""), LB_E_OK);
  assert_int_equal(parse_nested(65, false, ""), LB_E_PARSE);
}

static void test_size_limit(void **state)
{
  (void)state;
  size_t max = LB_JSON_MAX_BYTES;
  assert_int_equal(max, 1024 * 1024);
  char *s = malloc(max + 2);
  assert_non_null(s);

  /* A string literal of exactly 1 MiB is accepted. */
  s[0] = '"';
  memset(s + 1, 'x', max - 2);
  s[max - 1] = '"';
  s[max] = '\0';
  json_object *obj = UNTOUCHED;
  char err[256] = "";
  assert_int_equal(lb_json_parse(s, max, &obj, err, sizeof(err)), LB_E_OK);
  assert_int_equal(json_object_get_string_len(obj), max - 2);
  json_object_put(obj);

  /* One byte more, even of whitespace, is too big. */
  s[max] = ' ';
  s[max + 1] = '\0';
  obj = UNTOUCHED;
  assert_int_equal(lb_json_parse(s, max + 1, &obj, err, sizeof(err)), LB_E_TOO_BIG);
  assert_ptr_equal(obj, UNTOUCHED);
  assert_non_null(strstr(err, "1048576"));
  free(s);
}

static void test_error_text(void **state)
{
  (void)state;
  static const struct {
    const char *text;
    size_t len;
    const char *words;
  } cases[] = {
    { "", 0, "empty" },
    { "   ", 3, "empty" },
    { "\"ab\xc0\xaf\"", 6, "UTF-8" },
    { "\"ab\xc0\xaf\"", 6, "byte 3" },
    { "{} x", 4, "after the value" },
    { "{} x", 4, "byte 3" },
    { "[1,", 3, "end of input" },
    { "{\"a\" 1}", 7, "not valid JSON" },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    json_object *obj = UNTOUCHED;
    char err[256] = "";
    assert_int_not_equal(lb_json_parse(cases[i].text, cases[i].len, &obj, err, sizeof(err)),
                         LB_E_OK);
    if (!strstr(err, cases[i].words))
      fail_msg("\"%s\": reason \"%s\" does not say \"%s\"", cases[i].text, err, cases[i].words);
  }
  /* The reason is cut to the buffer. */
  char small[6];
  json_object *obj = UNTOUCHED;
  memset(small, '#', sizeof(small));
  assert_int_equal(lb_json_parse("{} x", 4, &obj, small, sizeof(small)), LB_E_PARSE);
  assert_int_equal(strlen(small), sizeof(small) - 1);
}

static void test_number_formatting(void **state)
{
  (void)state;
  static const struct {
    double d;
    const char *text;
  } cases[] = {
    { 2, "2" },
    { 0, "0" },
    { -3, "-3" },
    { 1.5, "1.5" },
    { 0.1, "0.1" },
    { -0.25, "-0.25" },
    { 2.5e-7, "2.5e-07" },
    { 12.75, "12.75" },
    { 100, "100" },
    { 1e15, "1000000000000000" },
    { 0.1 + 0.2, "0.3" },
    { 1.0 / 3.0, "0.333333333333333" },
    { 1e300, "1e+300" },
    /* 15 digits would round past the largest double (found by fuzzing:
     * "-1.79769313486232e+308" is out of range) */
    { DBL_MAX, "1.7976931348623157e+308" },
    { -DBL_MAX, "-1.7976931348623157e+308" },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    json_object *n = lb_json_number(cases[i].d);
    assert_non_null(n);
    if (strcmp(lb_json_text(n), cases[i].text) != 0)
      fail_msg("%.17g: \"%s\", want \"%s\"", cases[i].d, lb_json_text(n), cases[i].text);
    /* The text reads back as a JSON number of (nearly) that value. */
    json_object *back = UNTOUCHED;
    char err[128], arr[80];
    snprintf(arr, sizeof(arr), "[%s]", lb_json_text(n));
    assert_int_equal(lb_json_parse(arr, strlen(arr), &back, err, sizeof(err)), LB_E_OK);
    json_object *elem = json_object_array_get_idx(back, 0);
    assert_true(json_object_is_type(elem, json_type_int) ||
                json_object_is_type(elem, json_type_double));
    double v = json_object_get_double(elem);
    assert_true(fabs(v - cases[i].d) <= fabs(cases[i].d) * 1e-14);
    json_object_put(back);
    json_object_put(n);
  }
  assert_null(lb_json_number(NAN));
  assert_null(lb_json_number(INFINITY));
  assert_null(lb_json_number(-INFINITY));

  /* Inside a container the short form is kept. */
  json_object *o = json_object_new_object();
  json_object_object_add(o, "a", lb_json_number(0.1));
  json_object_object_add(o, "b", lb_json_number(2));
  json_object_object_add(o, "c", lb_json_number(2.5e-7));
  assert_string_equal(lb_json_text(o), "{\"a\":0.1,\"b\":2,\"c\":2.5e-07}");
  json_object_put(o);
}

static void test_text_is_compact_without_slash_escapes(void **state)
{
  (void)state;
  const char *in = "{ \"url\" : \"https://example.com/a/b?c=d\" , \"list\" : [ 1 , "
                   "\"x/y\" , { } ] , \"q\" : \"say \\\"hi\\\"\\n\" }";
  json_object *obj = NULL;
  char err[128];
  assert_int_equal(lb_json_parse(in, strlen(in), &obj, err, sizeof(err)), LB_E_OK);
  assert_string_equal(lb_json_text(obj),
                      "{\"url\":\"https://example.com/a/b?c=d\",\"list\":[1,\"x/y\",{}],"
                      "\"q\":\"say \\\"hi\\\"\\n\"}");
  assert_null(strstr(lb_json_text(obj), "\\/"));
  json_object_put(obj);
}

static void test_string_or_null(void **state)
{
  (void)state;
  assert_null(lb_json_string_or_null(NULL));
  json_object *s = lb_json_string_or_null("a/b \"c\"");
  assert_non_null(s);
  assert_true(json_object_is_type(s, json_type_string));
  assert_string_equal(lb_json_text(s), "\"a/b \\\"c\\\"\"");
  json_object_put(s);
  s = lb_json_string_or_null("");
  assert_non_null(s);
  assert_string_equal(lb_json_text(s), "\"\"");
  json_object_put(s);
}

/* Where the first value ends, or stops being valid JSON: what tells one
 * document spread over several lines from JSON lines. */
/* The document: decoded strings (escapes, surrogate pairs, a \u0000 kept
 * with its length), numbers, literals, members named and linked in text
 * order, a repeated name's last value found. */
static void test_doc_values(void **state)
{
  (void)state;
  lb_json_doc doc = { 0 };
  char err[128] = "";
  const char *text =
      " {\"s\":\"a\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\",\"z\":\"x\\u0000y\","
      "\"n\":-12.5e1,\"i\":9007199254740993,\"t\":true,\"f\":false,\"nil\":null,"
      "\"a\":[1,\"two\",[],{}],\"dup\":1,\"dup\":2,\"caf\\u00e9\":3} ";
  assert_int_equal(lb_json_doc_parse(&doc, text, strlen(text), err, sizeof(err)), LB_E_OK);
  const lb_json_value *root = doc.root, *v;
  assert_int_equal(root->type, LB_JSON_OBJECT);
  assert_int_equal(root->len, 11);
  assert_null(root->name);

  v = lb_json_get(root, "s");
  assert_int_equal(v->type, LB_JSON_STRING);
  assert_string_equal(v->string, "a\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80");
  assert_int_equal(v->len, strlen(v->string));
  assert_string_equal(v->name, "s");
  v = lb_json_get(root, "z");
  assert_int_equal(v->len, 3);
  assert_memory_equal(v->string, "x\0y", 4);
  v = lb_json_get(root, "n");
  assert_int_equal(v->type, LB_JSON_NUMBER);
  assert_true(v->number == -125.0);
  v = lb_json_get(root, "i");
  assert_true(v->number == 9007199254740992.0); /* the nearest double */
  assert_true(lb_json_get(root, "t")->boolean);
  assert_int_equal(lb_json_get(root, "f")->type, LB_JSON_BOOL);
  assert_false(lb_json_get(root, "f")->boolean);
  assert_int_equal(lb_json_get(root, "nil")->type, LB_JSON_NULL);
  assert_true(lb_json_get(root, "dup")->number == 2.0);
  assert_true(lb_json_get(root, "caf\xc3\xa9")->number == 3.0);
  assert_null(lb_json_get(root, "missing"));
  assert_null(lb_json_get(root, ""));

  v = lb_json_get(root, "a");
  assert_int_equal(v->type, LB_JSON_ARRAY);
  assert_int_equal(v->len, 4);
  const lb_json_value *m = v->first;
  assert_true(m->type == LB_JSON_NUMBER && m->number == 1.0 && !m->name);
  m = m->next;
  assert_string_equal(m->string, "two");
  m = m->next;
  assert_true(m->type == LB_JSON_ARRAY && m->len == 0 && !m->first);
  m = m->next;
  assert_true(m->type == LB_JSON_OBJECT && m->len == 0 && !m->first);
  assert_null(m->next);
  assert_null(lb_json_get(v, "two")); /* not an object */
  assert_null(lb_json_get(NULL, "a"));

  /* members in text order */
  static const char *const order[] = { "s", "z", "n", "i", "t", "f", "nil", "a", "dup", "dup" };
  m = root->first;
  for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++, m = m->next)
    assert_string_equal(m->name, order[i]);
  lb_json_doc_release(&doc);
  assert_null(doc.root);
  lb_json_doc_release(&doc); /* twice is harmless */
}

/* One document read again and again: a text of many values (more chunks)
 * then a small one, whose values are right; a refused text leaves no root;
 * a top-level scalar is a root of its own. */
static void test_doc_reuse(void **state)
{
  (void)state;
  lb_json_doc doc = { 0 };
  char err[128];
  size_t n = 100000;
  char *big = malloc(n * 4 + 3);
  assert_non_null(big);
  size_t at = 0;
  big[at++] = '[';
  for (size_t i = 0; i < n; i++)
    at += (size_t)sprintf(big + at, "%s%zu", i ? "," : "", i % 10);
  big[at++] = ']';
  assert_int_equal(lb_json_doc_parse(&doc, big, at, err, sizeof(err)), LB_E_OK);
  assert_int_equal(doc.root->len, n);
  size_t count = 0;
  double sum = 0;
  for (const lb_json_value *m = doc.root->first; m; m = m->next, count++)
    sum += m->number;
  assert_int_equal(count, n);
  assert_true(sum == 4.5 * (double)n);
  free(big);

  const char *small = "{\"k\":[\"v\"]}";
  assert_int_equal(lb_json_doc_parse(&doc, small, strlen(small), err, sizeof(err)), LB_E_OK);
  assert_string_equal(lb_json_get(doc.root, "k")->first->string, "v");
  assert_true(doc.text_cap <= 64 * 1024);

  assert_int_equal(lb_json_doc_parse(&doc, "[1,", 3, err, sizeof(err)), LB_E_PARSE);
  assert_null(doc.root);
  assert_non_null(strstr(err, "end of input"));
  assert_int_equal(lb_json_doc_parse(&doc, " 7 ", 3, err, sizeof(err)), LB_E_OK);
  assert_true(doc.root->type == LB_JSON_NUMBER && doc.root->number == 7.0);
  lb_json_doc_release(&doc);
}

/* Each thread has a document of its own, the same one each time. */
static void *thread_doc(void *arg)
{
  (void)arg;
  return lb_json_thread_doc();
}

static void test_thread_doc(void **state)
{
  (void)state;
  lb_json_doc *mine = lb_json_thread_doc();
  assert_non_null(mine);
  assert_ptr_equal(lb_json_thread_doc(), mine);
  pthread_t t;
  void *theirs = NULL;
  assert_int_equal(pthread_create(&t, NULL, thread_doc, NULL), 0);
  assert_int_equal(pthread_join(t, &theirs), 0);
  assert_non_null(theirs);
  assert_ptr_not_equal(theirs, mine);
}

static void test_value_end(void **state)
{
  (void)state;
  static const struct {
    const char *text;
    size_t end;
  } cases[] = {
    { "{\"a\": 1}\n{\"b\": 2}\n", 8 },        /* JSON lines: the first line */
    { "  [1, 2]  ", 8 },                      /* after leading whitespace */
    { "{\n  \"a\": [\n    1\n  ]\n}\n", 22 }, /* a document over five lines */
    { "{broken\n{}\n", 1 },                   /* fails on its first line */
    { "{\n  \"a\": tru\n}", 9 },              /* fails on its second line */
    { "{\"a\": \"\xff\"}", 10 },              /* bytes, not UTF-8, are checked */
    { "{\"a\": ", 6 },                        /* cut short: len */
    { "", 0 },
    { "   ", 3 },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    assert_int_equal(lb_json_value_end(cases[i].text, strlen(cases[i].text)), cases[i].end);

  /* nested past the limit: stops at the 65th opening bracket */
  char deep[200];
  size_t n = 0;
  deep[n++] = '{';
  deep[n++] = '\n';
  memcpy(deep + n, "\"t\": ", 5);
  n += 5;
  size_t first = n;
  for (int d = 0; d < 70; d++)
    deep[n++] = '[';
  assert_int_equal(lb_json_value_end(deep, n), first + 63);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_parse_table),
    cmocka_unit_test(test_parse_top_level_scalars),
    cmocka_unit_test(test_parse_utf8),
    cmocka_unit_test(test_parse_rejects_what_rfc8259_rejects),
    cmocka_unit_test(test_parse_uses_len),
    cmocka_unit_test(test_parse_values),
    cmocka_unit_test(test_depth_64_empty_arrays),
    cmocka_unit_test(test_depth_limit_counts_containers),
    cmocka_unit_test(test_size_limit),
    cmocka_unit_test(test_error_text),
    cmocka_unit_test(test_number_formatting),
    cmocka_unit_test(test_text_is_compact_without_slash_escapes),
    cmocka_unit_test(test_string_or_null),
    cmocka_unit_test(test_value_end),
    cmocka_unit_test(test_doc_values),
    cmocka_unit_test(test_doc_reuse),
    cmocka_unit_test(test_thread_doc),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
