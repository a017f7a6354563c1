/* lb_event: the fields of an event read as the contract has them (strings
 * decoded, nulls and defaults filled in), whatever the text: strings that
 * fill it end to end, escapes that shrink as they decode, the default
 * language added; a refused event leaves the struct zeroed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_event.h"
#include "lb_strbuf.h"

static void test_completion_fields(void **state)
{
  (void)state;
  const char *text =
      "{\"schema\":\"completion.v1\",\"event_id\":\"e\\u002d1\",\"occurred_at\":"
      "\"2026-01-02T03:04:05Z\",\"organization_id\":\"acme\",\"user\":{\"id\":\"u1\","
      "\"email\":\"l\\u00e9a@acme.example\",\"sso_nameid\":null},\"content\":{\"id\":\"c:1\","
      "\"type\":\"assessment\"},\"completed_at\":\"2026-01-02T03:04:06.5+01:00\",\"score\":87.5,"
      "\"skills\":[{\"name\":\"SQL \\\"joins\\\"\",\"score\":50,\"level\":3},"
      "{\"name\":\"R\",\"score\":100}]}";
  lb_completion_event ev;
  char err[256] = "";
  assert_int_equal(lb_completion_event_parse(&ev, text, strlen(text), err, sizeof(err)), LB_E_OK);
  assert_string_equal(ev.event_id, "e-1");
  assert_string_equal(ev.organization_id, "acme");
  assert_string_equal(ev.user.email, "l\xc3\xa9"
                                     "a@acme.example");
  assert_null(ev.user.sso_nameid);
  assert_null(ev.user.lms_username);
  assert_string_equal(ev.content.id, "c:1");
  assert_string_equal(ev.completed_at, "2026-01-02T03:04:06.5+01:00");
  assert_true(ev.has_score && ev.score == 87.5);
  assert_int_equal(ev.nskills, 2);
  assert_string_equal(ev.skills[0].name, "SQL \"joins\"");
  assert_int_equal(ev.skills[0].level, 3);
  assert_string_equal(ev.skills[1].name, "R");
  assert_int_equal(ev.skills[1].level, 0);
  lb_completion_event_release(&ev);
  assert_null(ev.event_id);
}

/* A catalog event whose strings are nearly all of its text (no space, the
 * longest description, a hundred one-letter skills, \u escapes that decode
 * shorter), with no language, so that the default "en-US" is filled in. */
static void test_catalog_strings_fill_the_text(void **state)
{
  (void)state;
  lb_strbuf b;
  lb_strbuf_init(&b, 0);
  lb_strbuf_append(&b, "{\"schema\":\"catalog.v1\",\"event_id\":\"e1\",\"event_type\":"
                       "\"content.upserted\",\"occurred_at\":\"2026-01-02T03:04:05Z\","
                       "\"version\":1,\"content\":{\"id\":\"k\",\"type\":\"course\",\"title\":\"");
  for (int i = 0; i < 500; i++)
    lb_strbuf_append(&b, i % 2 ? "\\u00e9" : "t");
  lb_strbuf_append(&b, "\",\"description\":\"");
  for (int i = 0; i < 10000; i++)
    lb_strbuf_append(&b, "d");
  lb_strbuf_append(&b, "\",\"url\":\"https://x.example/a\",\"skills\":[");
  for (int i = 0; i < 100; i++)
    lb_strbuf_append(&b, i ? ",\"s\"" : "\"s\"");
  lb_strbuf_append(&b, "]}}");
  assert_false(b.overflow);

  lb_catalog_event ev;
  char err[256] = "";
  assert_int_equal(lb_catalog_event_parse(&ev, b.buf, b.len, err, sizeof(err)), LB_E_OK);
  assert_int_equal(strlen(ev.content.title), 250 + 250 * 2);
  assert_int_equal(strlen(ev.content.description), 10000);
  assert_string_equal(ev.content.language, "en-US");
  assert_int_equal(ev.content.nskills, 100);
  for (size_t i = 0; i < ev.content.nskills; i++)
    assert_string_equal(ev.content.skills[i], "s");
  lb_catalog_event_release(&ev);
  lb_strbuf_release(&b);
}

/* A refused event leaves nothing behind: zeroed. */
static void test_refused_is_zeroed(void **state)
{
  (void)state;
  const char *text = "{\"schema\":\"completion.v1\",\"event_id\":\"e1\",\"occurred_at\":\"no\"}";
  lb_completion_event ev;
  char err[256] = "";
  assert_int_equal(lb_completion_event_parse(&ev, text, strlen(text), err, sizeof(err)),
                   LB_E_EVENT);
  assert_non_null(strstr(err, "occurred_at"));
  assert_null(ev.event_id);
  lb_catalog_event cev;
  assert_int_equal(lb_catalog_event_parse(&cev, "[]", 2, err, sizeof(err)), LB_E_EVENT);
  assert_null(cev.event_id);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_completion_fields),
    cmocka_unit_test(test_catalog_strings_fill_the_text),
    cmocka_unit_test(test_refused_is_zeroed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
