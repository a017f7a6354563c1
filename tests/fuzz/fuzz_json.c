/* Fuzz target json: any bytes through lb_json_parse, the strict JSON
 * reader every event, LMS answer and token response goes through. Besides
 * not crashing:
 * - a refusal says why (UTF-8) and leaves *ret as it was;
 * - lb_json_value_end stays within the input, and for an accepted text
 *   only white space follows the value it finds;
 * - what is accepted, written out by lb_json_text (UTF-8), is accepted
 *   again and written out the same (a fixed point);
 * - lb_json_number of the input's first 8 bytes as a double writes a
 *   number that reads back within 15 significant digits;
 * - lb_json_doc_parse refuses what lb_json_parse refuses, for the same
 *   reason, and reads what it accepts as json-c does (check_doc);
 * - the input as a JSON string through lb_json_write is what json-c
 *   writes of it (check_write_string). */
#include <math.h>
#include <string.h>

#include "../support/lb_test_json.h"
#include "fuzz_util.h"
#include "lb_json.h"
#include "lb_json_write.h"

static bool only_space(const char *s, size_t len)
{
  for (size_t i = 0; i < len; i++)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
      return false;
  return true;
}

static void check_number(const uint8_t *data, size_t size)
{
  double d;
  if (size < sizeof(d))
    return;
  memcpy(&d, data, sizeof(d));
  json_object *n = lb_json_number(d);
  FZ_CHECK(isfinite(d) == (n != NULL), "lb_json_number(%g)", d);
  if (!n)
    return;
  const char *text = lb_json_text(n);
  json_object *back = NULL;
  char err[128];
  FZ_CHECK(lb_json_parse(text, strlen(text), &back, err, sizeof(err)) == LB_E_OK,
           "lb_json_number(%.17g) wrote \"%s\" (%s)", d, text, err);
  double again = json_object_get_double(back);
  FZ_CHECK(fabs(again - d) <= fabs(d) * 1e-14, "%.17g written as %s", d, text);
  json_object_put(back);
  json_object_put(n);
}

static void check_doc(const char *buf, size_t size)
{
  static lb_json_doc doc;
  char err[256] = "", doc_err[256] = "";
  json_object *o = NULL;
  lb_err e = lb_json_parse(buf, size, &o, err, sizeof(err));
  lb_err de = lb_json_doc_parse(&doc, buf, size, doc_err, sizeof(doc_err));
  FZ_CHECK(e == de && strcmp(err, doc_err) == 0, "lb_json_parse: %s (%s), the document: %s (%s)",
           lb_strerror(e), err, lb_strerror(de), doc_err);
  if (e == LB_E_OK)
    FZ_CHECK(lb_test_json_same(o, doc.root), "the document differs from json-c's tree");
  else
    FZ_CHECK(doc.root == NULL, "a refused text left a root");
  json_object_put(o);
}

/* The input, when it is UTF-8, written as a JSON string by lb_json_write:
 * the same bytes as json-c's string of it through lb_json_text. */
static void check_write_string(const uint8_t *data, size_t size)
{
  const char *s = (const char *)data;
  if (size > LB_JSON_MAX_BYTES || !lb_strbuf_utf8_valid(s, size, NULL))
    return;
  json_object *str = json_object_new_string_len(s, (int)size);
  FZ_CHECK(str != NULL, "json-c out of memory");
  const char *want = lb_json_text(str);
  lb_strbuf b;
  lb_json_writer w;
  lb_strbuf_init(&b, 0);
  lb_json_write_init(&w, &b);
  lb_json_write_string_len(&w, s, size);
  lb_err e = lb_json_write_finish(&w);
  FZ_CHECK(e == LB_E_OK, "lb_json_write_string_len: %s", lb_strerror(e));
  FZ_CHECK(b.len == strlen(want) && memcmp(b.buf, want, b.len) == 0,
           "written as a string: %s, json-c: %s", b.buf, want);
  lb_strbuf_release(&b);
  json_object_put(str);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *buf = (const char *)data;
  char err[256] = "";
  json_object *sentinel = json_object_new_object(), *o = sentinel;
  fz_begin(data, size);

  lb_err e = lb_json_parse(buf, size, &o, err, sizeof(err));
  size_t end = lb_json_value_end(buf, size);
  FZ_CHECK(end <= size, "lb_json_value_end %zu past %zu bytes", end, size);
  if (e != LB_E_OK) {
    FZ_CHECK(e == LB_E_PARSE || e == LB_E_TOO_BIG, "%s", lb_strerror(e));
    FZ_CHECK(o == sentinel, "a refused text set *ret");
    FZ_CHECK(err[0], "a refusal without why");
    fz_check_utf8("the refusal", err, strlen(err));
  } else {
    FZ_CHECK(only_space(buf + end, size - end), "the value ends at %zu of %zu, then: %.20s", end,
             size, buf + end);
    const char *text = lb_json_text(o);
    size_t len = strlen(text);
    fz_check_utf8("the written text", text, len);
    json_object *again = NULL;
    e = lb_json_parse(text, len, &again, err, sizeof(err));
    FZ_CHECK(e == LB_E_OK, "what was read, written, is refused (%s): %s", err, text);
    const char *text2 = lb_json_text(again);
    FZ_CHECK(strcmp(text, text2) == 0, "written twice, differs: %s / %s", text, text2);
    json_object_put(again);
    json_object_put(o);
  }
  json_object_put(sentinel);
  check_number(data, size);
  check_doc(buf, size);
  check_write_string(data, size);
  return 0;
}
