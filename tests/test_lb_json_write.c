/* lb_json_write: the text is what json-c (through lb_json_text) prints for
 * the same values, byte for byte (every ASCII byte, UTF-8, NUL, numbers,
 * nesting); commas and colons are the writer's; a mistake, nesting past
 * LB_JSON_MAX_DEPTH, the buffer's cap or a failed allocation is reported
 * once by lb_json_write_finish, which then leaves the buffer as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_json.h"
#include "lb_json_write.h"

/* realloc fails while set (lb_strbuf grows with realloc). */
static bool fail_realloc;
void *__real_realloc(void *p, size_t size);
void *__wrap_realloc(void *p, size_t size);
void *__wrap_realloc(void *p, size_t size)
{
  return fail_realloc ? NULL : __real_realloc(p, size);
}

/* `s` with bytes outside printable ASCII as \xNN, for messages (three
 * at a time in one message). */
static const char *show(const char *s, size_t len)
{
  static char ring[3][1024];
  static unsigned next;
  char *out = ring[next++ % 3];
  size_t o = 0;
  for (size_t i = 0; i < len && o + 5 < sizeof(ring[0]); i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c < 0x7f)
      out[o++] = (char)c;
    else
      o += (size_t)snprintf(out + o, sizeof(ring[0]) - o, "\\x%02x", c);
  }
  out[o] = '\0';
  return out;
}

/* The len bytes at s written as a string value, as an object member's name
 * and as its value, by the writer and by json-c: the same text. */
static void same_as_json_c(const char *s, size_t len)
{
  lb_strbuf b;
  lb_json_writer w;
  lb_strbuf_init(&b, 0);

  json_object *str = json_object_new_string_len(s, (int)len);
  assert_non_null(str);
  lb_json_write_init(&w, &b);
  lb_json_write_string_len(&w, s, len);
  assert_int_equal(lb_json_write_finish(&w), LB_E_OK);
  const char *want = lb_json_text(str);
  if (b.len != strlen(want) || memcmp(b.buf, want, b.len) != 0)
    fail_msg("string %s: wrote %s, json-c %s", show(s, len), show(b.buf, b.len),
             show(want, strlen(want)));

  /* a name is a C string: up to the first NUL */
  char *name = malloc(len + 1);
  assert_non_null(name);
  memcpy(name, s, len);
  name[len] = '\0';
  json_object *obj = json_object_new_object();
  json_object_object_add(obj, name, str); /* obj owns str */
  lb_strbuf_reset(&b);
  lb_json_write_init(&w, &b);
  lb_json_write_object_begin(&w);
  lb_json_write_name(&w, name);
  lb_json_write_string_len(&w, s, len);
  lb_json_write_object_end(&w);
  assert_int_equal(lb_json_write_finish(&w), LB_E_OK);
  want = lb_json_text(obj);
  if (b.len != strlen(want) || memcmp(b.buf, want, b.len) != 0)
    fail_msg("member %s: wrote %s, json-c %s", show(s, len), show(b.buf, b.len),
             show(want, strlen(want)));
  json_object_put(obj);
  free(name);
  lb_strbuf_release(&b);
}

static void test_strings_as_json_c_writes_them(void **state)
{
  (void)state;
  char s[256];

  /* every byte alone, 0x01..0xff (DEL and bytes past ASCII as they are) */
  for (int c = 1; c < 256; c++) {
    s[0] = (char)c;
    same_as_json_c(s, 1);
  }
  /* all of them in one string, and NUL inside (\u0000) */
  for (int c = 0; c < 255; c++)
    s[c] = (char)(c + 1);
  same_as_json_c(s, 255);
  same_as_json_c("a\0b", 3);
  same_as_json_c("", 0);
  /* UTF-8: 2, 3 and 4 byte characters, U+2028 (JSON allows it raw) */
  static const char *const utf8[] = {
    "caf\xc3\xa9",
    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
    "\xf0\x9f\x98\x80 smile",
    "line\xe2\x80\xa8sep",
    "https://example.com/a/b?c=d&e=%20",
    "say \"hi\"\\n\t\r\n\b\f\x01\x1f\x7f/",
  };
  for (size_t i = 0; i < sizeof(utf8) / sizeof(utf8[0]); i++)
    same_as_json_c(utf8[i], strlen(utf8[i]));

  /* a byte to escape at every place of strings 1..40 long: the writer
   * looks at 8 bytes at a time, a tail byte by byte */
  static const char special[] = { '"', '\\', '\n', '\x01', '\x1f', '/', '\x7f', ' ', '\x80' };
  for (size_t len = 1; len <= 40; len++)
    for (size_t at = 0; at < len; at++)
      for (size_t k = 0; k < sizeof(special); k++) {
        memset(s, 'a', len);
        s[at] = special[k];
        same_as_json_c(s, len);
      }
}

/* Longer than the writer's stage, with and without bytes to escape. */
static void test_long_strings(void **state)
{
  (void)state;
  size_t n = 3 * LB_JSON_WRITE_STAGE + 7;
  char *s = malloc(n);
  assert_non_null(s);
  memset(s, 'x', n);
  same_as_json_c(s, n);
  for (size_t i = 0; i < n; i += 5)
    s[i] = i % 2 ? '\n' : '\x02';
  same_as_json_c(s, n);
  free(s);
}

static void test_numbers_as_lb_json_number(void **state)
{
  (void)state;
  static const double cases[] = {
    0,
    -0.0,
    1,
    -1,
    2.5,
    0.1,
    -0.25,
    2.5e-7,
    1e-7,
    12.75,
    100,
    1e15,
    0.1 + 0.2,
    1.0 / 3.0,
    123456789012345.6,
    9007199254740991.0,
    9007199254740992.0,
    -9007199254740992.0,
    1e300,
    DBL_MAX,
    -DBL_MAX,
    DBL_MIN,
    5e-324,
    72.5,
  };
  lb_strbuf b;
  lb_json_writer w;
  lb_strbuf_init(&b, 0);
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    json_object *n = lb_json_number(cases[i]);
    assert_non_null(n);
    lb_strbuf_reset(&b);
    lb_json_write_init(&w, &b);
    lb_json_write_number(&w, cases[i]);
    assert_int_equal(lb_json_write_finish(&w), LB_E_OK);
    if (strcmp(b.buf, lb_json_text(n)) != 0)
      fail_msg("%.17g: wrote %s, lb_json_number %s", cases[i], b.buf, lb_json_text(n));
    /* the shared formatting, to a buffer */
    char text[LB_JSON_NUMBER_MAX];
    assert_int_equal(lb_json_format_number(cases[i], text, sizeof(text)), strlen(b.buf));
    assert_string_equal(text, b.buf);
    json_object_put(n);
  }
  /* no JSON number for them: null, as json-c writes lb_json_number's NULL */
  static const double none[] = { NAN, INFINITY, -INFINITY };
  for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
    char text[LB_JSON_NUMBER_MAX] = "untouched";
    assert_int_equal(lb_json_format_number(none[i], text, sizeof(text)), 0);
    assert_string_equal(text, "untouched");
    lb_strbuf_reset(&b);
    lb_json_write_init(&w, &b);
    lb_json_write_array_begin(&w);
    lb_json_write_number(&w, none[i]);
    lb_json_write_array_end(&w);
    assert_int_equal(lb_json_write_finish(&w), LB_E_OK);
    assert_string_equal(b.buf, "[null]");
  }
  /* too small a buffer: nothing written */
  char small[LB_JSON_NUMBER_MAX - 1] = "untouched";
  assert_int_equal(lb_json_format_number(1.5, small, sizeof(small)), 0);
  assert_string_equal(small, "untouched");

  static const int64_t ints[] = { 0, 1, -1, 15, -42, 1000000, INT64_MAX, INT64_MIN };
  for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
    json_object *n = json_object_new_int64(ints[i]);
    lb_strbuf_reset(&b);
    lb_json_write_init(&w, &b);
    lb_json_write_int64(&w, ints[i]);
    assert_int_equal(lb_json_write_finish(&w), LB_E_OK);
    assert_string_equal(b.buf, lb_json_text(n));
    json_object_put(n);
  }
  lb_strbuf_release(&b);
}

/* One document both ways: objects in arrays in objects, empty ones, every
 * kind of scalar; appended after what the buffer held. */
static void test_nesting_as_json_c(void **state)
{
  (void)state;
  json_object *root = json_object_new_object();
  json_object *list = json_object_new_array();
  json_object *item = json_object_new_object();
  json_object *inner = json_object_new_array();
  json_object_object_add(root, "name", json_object_new_string("x/y"));
  json_object_object_add(root, "empty-object", json_object_new_object());
  json_object_object_add(root, "empty-array", json_object_new_array());
  json_object_object_add(item, "n", json_object_new_int64(-3));
  json_object_object_add(item, "ok", json_object_new_boolean(1));
  json_object_object_add(item, "none", NULL);
  json_object_array_add(inner, json_object_new_boolean(0));
  json_object_array_add(inner, NULL);
  json_object_array_add(inner, json_object_new_array());
  json_object_array_add(inner, lb_json_number(0.5));
  json_object_object_add(item, "inner", inner);
  json_object_array_add(list, item);
  json_object_array_add(list, json_object_new_string("two"));
  json_object_array_add(list, json_object_new_object());
  json_object_object_add(root, "list", list);
  json_object_object_add(root, "last", lb_json_string_or_null(NULL));

  lb_strbuf b;
  lb_json_writer w;
  lb_strbuf_init(&b, 0);
  lb_strbuf_append(&b, "prefix ");
  lb_json_write_init(&w, &b);
  lb_json_write_object_begin(&w);
  lb_json_write_name(&w, "name");
  lb_json_write_string(&w, "x/y");
  lb_json_write_name(&w, "empty-object");
  lb_json_write_object_begin(&w);
  lb_json_write_object_end(&w);
  lb_json_write_name(&w, "empty-array");
  lb_json_write_array_begin(&w);
  lb_json_write_array_end(&w);
  lb_json_write_name(&w, "list");
  lb_json_write_array_begin(&w);
  lb_json_write_object_begin(&w);
  lb_json_write_name(&w, "n");
  lb_json_write_int64(&w, -3);
  lb_json_write_name(&w, "ok");
  lb_json_write_bool(&w, true);
  lb_json_write_name(&w, "none");
  lb_json_write_null(&w);
  lb_json_write_name(&w, "inner");
  lb_json_write_array_begin(&w);
  lb_json_write_bool(&w, false);
  lb_json_write_null(&w);
  lb_json_write_array_begin(&w);
  lb_json_write_array_end(&w);
  lb_json_write_number(&w, 0.5);
  lb_json_write_array_end(&w);
  lb_json_write_object_end(&w);
  lb_json_write_string(&w, "two");
  lb_json_write_object_begin(&w);
  lb_json_write_object_end(&w);
  lb_json_write_array_end(&w);
  lb_json_write_name(&w, "last");
  lb_json_write_string(&w, NULL);
  lb_json_write_object_end(&w);
  assert_int_equal(lb_json_write_finish(&w), LB_E_OK);
  assert_int_equal(strncmp(b.buf, "prefix ", 7), 0);
  assert_string_equal(b.buf + w.start, lb_json_text(root));
  assert_string_equal(b.buf + 7, "{\"name\":\"x/y\",\"empty-object\":{},\"empty-array\":[],"
                                 "\"list\":[{\"n\":-3,\"ok\":true,\"none\":null,"
                                 "\"inner\":[false,null,[],0.5]},\"two\",{}],\"last\":null}");
  json_object_put(root);

  /* a scalar alone is a document too */
  lb_strbuf_reset(&b);
  lb_json_write_init(&w, &b);
  lb_json_write_bool(&w, true);
  assert_int_equal(lb_json_write_finish(&w), LB_E_OK);
  assert_string_equal(b.buf, "true");
  lb_strbuf_release(&b);
}

static void test_depth_limit(void **state)
{
  (void)state;
  lb_strbuf b;
  lb_json_writer w;
  lb_strbuf_init(&b, 0);
  /* LB_JSON_MAX_DEPTH containers: [0,{"k":[2,{"k":...{"k":null}}]}],
   * which lb_json reads back */
  lb_json_write_init(&w, &b);
  for (int d = 0; d < LB_JSON_MAX_DEPTH; d++) {
    if (d % 2) {
      lb_json_write_object_begin(&w);
      lb_json_write_name(&w, "k");
    } else {
      lb_json_write_array_begin(&w);
      lb_json_write_int64(&w, d);
    }
  }
  lb_json_write_null(&w); /* the deepest, d = 63, is an object */
  for (int d = LB_JSON_MAX_DEPTH - 1; d >= 0; d--) {
    if (d % 2)
      lb_json_write_object_end(&w);
    else
      lb_json_write_array_end(&w);
  }
  assert_int_equal(lb_json_write_finish(&w), LB_E_OK);
  json_object *back = NULL;
  char err[128];
  assert_int_equal(lb_json_parse(b.buf, b.len, &back, err, sizeof(err)), LB_E_OK);
  assert_string_equal(lb_json_text(back), b.buf);
  json_object_put(back);

  /* one more level is refused, and the buffer is left as it was */
  lb_strbuf_reset(&b);
  lb_strbuf_append(&b, "kept");
  lb_json_write_init(&w, &b);
  for (int d = 0; d <= LB_JSON_MAX_DEPTH; d++)
    lb_json_write_array_begin(&w);
  for (int d = 0; d <= LB_JSON_MAX_DEPTH; d++)
    lb_json_write_array_end(&w);
  assert_int_equal(lb_json_write_finish(&w), LB_E_INVALID);
  assert_string_equal(b.buf, "kept");
  assert_int_equal(b.len, 4);
  lb_strbuf_release(&b);
}

/* Each mistake is LB_E_INVALID at the end, whatever comes after it, and
 * the buffer keeps only what it held before. */
enum op { OB, OE, AB, AE, NAME, STR, INT, NUL };

static void test_misuse(void **state)
{
  (void)state;
  static const struct {
    const char *what;
    enum op ops[8];
    size_t n;
  } cases[] = {
    { "nothing written", { 0 }, 0 },
    { "object left open", { OB }, 1 },
    { "array left open", { AB, INT }, 2 },
    { "a value where a name is due", { OB, INT, OE }, 3 },
    { "an object where a name is due", { OB, OB, OE, OE }, 4 },
    { "a name at the top", { NAME }, 1 },
    { "a name in an array", { AB, NAME, INT, AE }, 4 },
    { "two names", { OB, NAME, NAME, INT, OE }, 5 },
    { "a name without its value", { OB, NAME, OE }, 3 },
    { "an array closed as an object", { AB, OE }, 2 },
    { "an object closed as an array", { OB, AE }, 2 },
    { "an end that closes nothing", { OE }, 1 },
    { "two top-level values", { INT, INT }, 2 },
    { "a value after the document", { OB, OE, STR }, 3 },
    { "a container after the document", { NUL, AB, AE }, 3 },
  };
  lb_strbuf b;
  lb_json_writer w;
  lb_strbuf_init(&b, 0);
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    lb_strbuf_reset(&b);
    lb_strbuf_append(&b, "[1]");
    lb_json_write_init(&w, &b);
    for (size_t k = 0; k < cases[i].n; k++) {
      switch (cases[i].ops[k]) {
      case OB:
        lb_json_write_object_begin(&w);
        break;
      case OE:
        lb_json_write_object_end(&w);
        break;
      case AB:
        lb_json_write_array_begin(&w);
        break;
      case AE:
        lb_json_write_array_end(&w);
        break;
      case NAME:
        lb_json_write_name(&w, "n");
        break;
      case STR:
        lb_json_write_string(&w, "s");
        break;
      case INT:
        lb_json_write_int64(&w, 7);
        break;
      case NUL:
        lb_json_write_null(&w);
        break;
      }
    }
    lb_err rc = lb_json_write_finish(&w);
    if (rc != LB_E_INVALID || strcmp(b.buf, "[1]") != 0)
      fail_msg("%s: %s, buffer \"%s\"", cases[i].what, lb_err_name(rc), b.buf);
  }
  lb_strbuf_release(&b);
}

static void test_cap_and_out_of_memory(void **state)
{
  (void)state;
  lb_strbuf b;
  lb_json_writer w;

  /* past the cap: LB_E_TOO_BIG, the buffer as it was */
  lb_strbuf_init(&b, 40);
  lb_strbuf_append(&b, "head:");
  lb_json_write_init(&w, &b);
  lb_json_write_array_begin(&w);
  for (int i = 0; i < 10; i++)
    lb_json_write_string(&w, "abcdef");
  lb_json_write_array_end(&w);
  assert_int_equal(lb_json_write_finish(&w), LB_E_TOO_BIG);
  assert_string_equal(b.buf, "head:");
  /* what fits is written */
  lb_json_write_init(&w, &b);
  lb_json_write_array_begin(&w);
  for (int i = 0; i < 3; i++)
    lb_json_write_string(&w, "abcdef");
  lb_json_write_array_end(&w);
  assert_int_equal(lb_json_write_finish(&w), LB_E_OK);
  assert_string_equal(b.buf, "head:[\"abcdef\",\"abcdef\",\"abcdef\"]");
  /* one string longer than the stage and the cap */
  char big[2 * LB_JSON_WRITE_STAGE];
  memset(big, 'z', sizeof(big));
  lb_strbuf_reset(&b);
  lb_json_write_init(&w, &b);
  lb_json_write_string_len(&w, big, sizeof(big));
  assert_int_equal(lb_json_write_finish(&w), LB_E_TOO_BIG);
  assert_int_equal(b.len, 0);
  lb_strbuf_release(&b);

  /* no memory: LB_E_NOMEM */
  lb_strbuf_init(&b, 0);
  lb_json_write_init(&w, &b);
  fail_realloc = true;
  lb_json_write_object_begin(&w);
  lb_json_write_name(&w, "k");
  lb_json_write_string(&w, "v");
  lb_json_write_object_end(&w);
  lb_err rc = lb_json_write_finish(&w);
  fail_realloc = false;
  assert_int_equal(rc, LB_E_NOMEM);
  assert_int_equal(b.len, 0);
  /* and once memory is back the same buffer takes a document */
  lb_json_write_init(&w, &b);
  lb_json_write_object_begin(&w);
  lb_json_write_name(&w, "k");
  lb_json_write_string(&w, "v");
  lb_json_write_object_end(&w);
  assert_int_equal(lb_json_write_finish(&w), LB_E_OK);
  assert_string_equal(b.buf, "{\"k\":\"v\"}");
  lb_strbuf_release(&b);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_strings_as_json_c_writes_them),
    cmocka_unit_test(test_long_strings),
    cmocka_unit_test(test_numbers_as_lb_json_number),
    cmocka_unit_test(test_nesting_as_json_c),
    cmocka_unit_test(test_depth_limit),
    cmocka_unit_test(test_misuse),
    cmocka_unit_test(test_cap_and_out_of_memory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
