/* lb_request: a list of planned requests that copies what it is given,
 * grows without bound from empty, and releases cleanly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_request.h"

static void test_method_names(void **state)
{
  (void)state;
  static const struct {
    lb_method m;
    const char *name;
  } cases[] = {
    { LB_GET, "GET" },
    { LB_POST, "POST" },
    { LB_PATCH, "PATCH" },
    { LB_DELETE, "DELETE" },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    assert_string_equal(lb_method_name(cases[i].m), cases[i].name);
  assert_non_null(lb_method_name((lb_method)(LB_DELETE + 1)));
  assert_non_null(lb_method_name((lb_method)-1));
  assert_string_not_equal(lb_method_name((lb_method)(LB_DELETE + 1)), "DELETE");
}

static void test_step_names(void **state)
{
  (void)state;
  static const struct {
    lb_step s;
    const char *name;
  } cases[] = {
    { LB_STEP_CREATE, "create" },
    { LB_STEP_LOOKUP, "lookup" },
    { LB_STEP_UPDATE, "update" },
    { LB_STEP_COMPLETION, "completion" },
    { LB_STEP_SKILL_RATING, "skill_rating" },
    { LB_STEP_OCN_COURSE, "ocn_course" },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    assert_string_equal(lb_step_name(cases[i].s), cases[i].name);
    for (size_t j = 0; j < i; j++)
      assert_string_not_equal(lb_step_name(cases[i].s), lb_step_name(cases[j].s));
  }
  assert_non_null(lb_step_name((lb_step)(LB_STEP_OCN_COURSE + 1)));
  assert_non_null(lb_step_name((lb_step)-1));
  assert_string_not_equal(lb_step_name((lb_step)(LB_STEP_OCN_COURSE + 1)), "ocn_course");
}

static void test_init_is_empty(void **state)
{
  (void)state;
  lb_request_list l;
  memset(&l, 0xa5, sizeof(l));
  lb_request_list_init(&l);
  assert_int_equal(l.n, 0);
  assert_null(l.items);
  lb_request_list_release(&l);
}

static void test_add_copies_strings(void **state)
{
  (void)state;
  char url[] = "https://api.degreed.com/api/v2/content/courses";
  char body[] = "{\"data\":{\"type\":\"content/courses\"}}";
  char key[] = "course-1";
  lb_request_list l;
  lb_request_list_init(&l);
  assert_int_equal(lb_request_list_add(&l, LB_STEP_CREATE, LB_POST, url, body, key), LB_E_OK);
  assert_int_equal(l.n, 1);
  const lb_request *r = &l.items[0];
  assert_int_equal(r->step, LB_STEP_CREATE);
  assert_int_equal(r->method, LB_POST);
  assert_ptr_not_equal(r->url, url);
  assert_ptr_not_equal(r->body, body);
  assert_ptr_not_equal(r->key, key);
  /* The caller's strings may change or go away afterwards. */
  memset(url, 'x', sizeof(url) - 1);
  memset(body, 'y', sizeof(body) - 1);
  memset(key, 'z', sizeof(key) - 1);
  assert_string_equal(r->url, "https://api.degreed.com/api/v2/content/courses");
  assert_string_equal(r->body, "{\"data\":{\"type\":\"content/courses\"}}");
  assert_string_equal(r->key, "course-1");
  lb_request_list_release(&l);
}

static void test_add_without_body_or_key(void **state)
{
  (void)state;
  lb_request_list l;
  lb_request_list_init(&l);
  assert_int_equal(lb_request_list_add(&l, LB_STEP_LOOKUP, LB_GET,
                                       "https://h/api?filter%5Bexternal_id%5D=course-1", NULL,
                                       "course-1"),
                   LB_E_OK);
  assert_int_equal(lb_request_list_add(&l, LB_STEP_UPDATE, LB_PATCH, "https://h/{id}", "{}", NULL),
                   LB_E_OK);
  assert_int_equal(l.n, 2);
  assert_null(l.items[0].body);
  assert_string_equal(l.items[0].key, "course-1");
  assert_int_equal(l.items[1].method, LB_PATCH);
  assert_string_equal(l.items[1].url, "https://h/{id}");
  assert_string_equal(l.items[1].body, "{}");
  assert_null(l.items[1].key);
  lb_request_list_release(&l);
}

/* Many more items than any initial capacity; earlier ones survive every
 * reallocation intact and in order. */
static void test_growth_keeps_order_and_content(void **state)
{
  (void)state;
  enum { N = 1000 };
  lb_request_list l;
  lb_request_list_init(&l);
  for (int i = 0; i < N; i++) {
    char url[64], body[64], key[32];
    snprintf(url, sizeof(url), "https://h/items/%d", i);
    snprintf(body, sizeof(body), "{\"i\":%d}", i);
    snprintf(key, sizeof(key), "course-%d", i);
    assert_int_equal(lb_request_list_add(&l, (lb_step)(i % 6), (lb_method)(i % 4), url,
                                         i % 3 ? body : NULL, key),
                     LB_E_OK);
    assert_int_equal(l.n, (size_t)i + 1);
    assert_true(l.cap >= l.n);
  }
  for (int i = 0; i < N; i++) {
    char url[64], body[64], key[32];
    snprintf(url, sizeof(url), "https://h/items/%d", i);
    snprintf(body, sizeof(body), "{\"i\":%d}", i);
    snprintf(key, sizeof(key), "course-%d", i);
    const lb_request *r = &l.items[i];
    assert_int_equal(r->step, i % 6);
    assert_int_equal(r->method, i % 4);
    assert_string_equal(r->url, url);
    if (i % 3)
      assert_string_equal(r->body, body);
    else
      assert_null(r->body);
    assert_string_equal(r->key, key);
  }
  lb_request_list_release(&l);
  assert_int_equal(l.n, 0);
  assert_null(l.items);
}

static void test_release_empty_null_and_twice(void **state)
{
  (void)state;
  lb_request_list l;
  lb_request_list_init(&l);
  lb_request_list_release(&l);
  assert_int_equal(l.n, 0);
  assert_null(l.items);
  lb_request_list_release(&l);
  lb_request_list_release(NULL);

  /* Usable again after release. */
  assert_int_equal(lb_request_list_add(&l, LB_STEP_COMPLETION, LB_POST,
                                       "https://h/api/v2/completions", "{}", "u1"),
                   LB_E_OK);
  assert_int_equal(l.n, 1);
  lb_request_list_release(&l);
  lb_request_list_release(&l);
  assert_int_equal(l.n, 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_method_names),
    cmocka_unit_test(test_step_names),
    cmocka_unit_test(test_init_is_empty),
    cmocka_unit_test(test_add_copies_strings),
    cmocka_unit_test(test_add_without_body_or_key),
    cmocka_unit_test(test_growth_keeps_order_and_content),
    cmocka_unit_test(test_release_empty_null_and_twice),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
