/* lb_connector: the registry (one connector per type, found by its
 * configuration word), what every table must give, settings that belong
 * to one type only, and the behaviour the delivery client and the engine
 * take from the tables (ids bound into updates, lone batch items wrapped,
 * batch limits and bodies). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_connector.h"

static void test_registry(void **state)
{
  (void)state;
  size_t n;
  const lb_connector *const *all = lb_connector_all(&n);
  assert_int_equal(n, LB_INTEG__COUNT);
  for (size_t i = 0; i < n; i++) {
    const lb_connector *k = all[i];
    assert_int_equal(k->type, (lb_integ_type)i);
    assert_ptr_equal(lb_connector_of(k->type), k);
    assert_ptr_equal(lb_connector_find(k->name), k);
    assert_string_equal(lb_integ_type_name(k->type), k->name);
    assert_non_null(strstr(lb_connector_names(), k->name));
    /* what the configuration and the planner cannot do without */
    assert_non_null(k->load);
    assert_non_null(k->endpoint_key);
    assert_true(k->map_catalog || k->map_completion);
    if (k->batching) {
      assert_non_null(k->batching->limits);
      assert_non_null(k->batching->join);
      assert_non_null(k->batching->note);
    }
  }
  assert_null(lb_connector_find("moodle"));
  assert_null(lb_connector_find(NULL));
  assert_null(lb_connector_of((lb_integ_type)LB_INTEG__COUNT));
  /* "a, b or c" */
  assert_non_null(strstr(lb_connector_names(), " or "));
}

/* A setting belongs to one type: two tables naming it would make the
 * "is not a setting of X integrations" message ambiguous. */
static void test_keys_belong_to_one_type(void **state)
{
  (void)state;
  size_t n;
  const lb_connector *const *all = lb_connector_all(&n);
  for (size_t i = 0; i < n; i++)
    for (const char *const *a = all[i]->keys; a && *a; a++)
      for (size_t j = i + 1; j < n; j++)
        for (const char *const *b = all[j]->keys; b && *b; b++)
          if (strcmp(*a, *b) == 0)
            fail_msg("\"%s\" is a setting of both %s and %s", *a, all[i]->name, all[j]->name);
}

static void test_degreed_binds_the_id_into_the_update(void **state)
{
  (void)state;
  const lb_connector *k = lb_connector_find("degreed");
  lb_request_list l;
  lb_request_list_init(&l);
  assert_int_equal(lb_request_list_add(&l, LB_STEP_UPDATE, LB_PATCH,
                                       "https://api.example/api/v2/content/courses/{id}",
                                       "{\"data\":{\"attributes\":{\"title\":\"T\"}}}", "course-1"),
                   LB_E_OK);
  char *url = NULL, *body = NULL;
  /* no id known or learned: the update cannot be made */
  assert_int_equal(k->prepare(&l.items[0], NULL, &url, &body), LB_E_INVALID);
  assert_int_equal(k->prepare(&l.items[0], "Ab3xYz9", &url, &body), LB_E_OK);
  assert_string_equal(url, "https://api.example/api/v2/content/courses/Ab3xYz9");
  assert_non_null(strstr(body, "\"id\":\"Ab3xYz9\""));
  free(url);
  free(body);
  /* the ids a create and a lookup name */
  const char *created = "{\"data\":{\"id\":\"N3w1d00\",\"attributes\":{}}}";
  const char *found = "{\"data\":[{\"id\":\"F0und01\"}]}";
  char *id = k->response_id(LB_STEP_CREATE, created, strlen(created));
  assert_string_equal(id, "N3w1d00");
  free(id);
  id = k->response_id(LB_STEP_LOOKUP, found, strlen(found));
  assert_string_equal(id, "F0und01");
  free(id);
  assert_null(k->response_id(LB_STEP_LOOKUP, "{\"data\":[]}", 11));
  assert_null(k->response_id(LB_STEP_COMPLETION, created, strlen(created)));
  /* an id that hides a NUL is none (found by fuzzing: cut at the NUL, an
   * empty id was bound, a PATCH to .../courses/) */
  const char *hidden = "{\"data\":{\"id\":\"\\u0000N3w\"}}";
  assert_null(k->response_id(LB_STEP_CREATE, hidden, strlen(hidden)));
  hidden = "{\"data\":[{\"id\":\"F0\\u0000und\"}]}";
  assert_null(k->response_id(LB_STEP_LOOKUP, hidden, strlen(hidden)));
  lb_request_list_release(&l);
}

static void test_successfactors_batches_courses(void **state)
{
  (void)state;
  const lb_connector *k = lb_connector_find("successfactors");
  assert_non_null(k->batching);
  assert_int_equal(k->batching->step, LB_STEP_OCN_COURSE);
  lb_integration in = { .batch_size = 7, .batch_linger_ms = 250, .min_post_interval_s = 3 };
  lb_batch_limits lim;
  k->batching->limits(&in, &lim);
  assert_int_equal(lim.max_items, 7);
  assert_int_equal(lim.linger_ms, 250);
  assert_int_equal(lim.min_interval_ms, 3000);
  const char *bodies[] = { "{\"courseID\":\"a\"}", "{\"courseID\":\"b\"}" };
  char *joined = NULL;
  assert_int_equal(k->batching->join(bodies, 2, &joined), LB_E_OK);
  assert_string_equal(joined, "{\"ocnCourses\":[{\"courseID\":\"a\"},{\"courseID\":\"b\"}]}");

  /* a lone course travels as a batch of one; a batch goes as it is */
  lb_request_list l;
  lb_request_list_init(&l);
  lb_request_list_add(&l, LB_STEP_OCN_COURSE, LB_POST, "https://x/OcnCourses", bodies[0], "a");
  lb_request_list_add(&l, LB_STEP_OCN_COURSE, LB_POST, "https://x/OcnCourses", joined, NULL);
  char *url = NULL, *body = NULL;
  assert_int_equal(k->prepare(&l.items[0], NULL, &url, &body), LB_E_OK);
  assert_null(url);
  assert_string_equal(body, "{\"ocnCourses\":[{\"courseID\":\"a\"}]}");
  free(body);
  body = NULL;
  assert_int_equal(k->prepare(&l.items[1], NULL, &url, &body), LB_E_OK);
  assert_null(url);
  assert_null(body);
  free(joined);
  lb_request_list_release(&l);
}

static void test_request_headers(void **state)
{
  (void)state;
  lb_request_list l;
  lb_request_list_init(&l);
  assert_int_equal(lb_request_list_add_header(&l, "X-A: 1"), LB_E_INVALID);
  lb_request_list_add(&l, LB_STEP_COMPLETION, LB_PUT, "https://x/s", "{}", NULL);
  assert_string_equal(lb_method_name(l.items[0].method), "PUT");
  for (int i = 0; i < LB_REQUEST_MAX_HEADERS; i++)
    assert_int_equal(lb_request_list_add_header(&l, "X-A: 1"), LB_E_OK);
  assert_int_equal(lb_request_list_add_header(&l, "X-A: 1"), LB_E_INVALID);
  assert_int_equal(l.items[0].nheaders, LB_REQUEST_MAX_HEADERS);
  lb_request_list_release(&l);
}

/* What each LMS means by an answer beyond HTTP's: SAP's expired-token 4xx
 * is a new token (not for 408/429, not for Degreed or xAPI, the body read
 * only within its length); Degreed's 503 waits at least 30 s. */
static void test_connector_verdicts(void **state)
{
  (void)state;
  static const char expired[] = "{\"error_description\":\"The Token Has Expired.\"}";
  static const struct {
    lb_integ_type type;
    lb_step step;
    int status;
    const char *body;
    lb_outcome expect;
    int64_t min_delay;
  } cases[] = {
    { LB_INTEG_SUCCESSFACTORS, LB_STEP_OCN_COURSE, 400, expired, LB_OUT_AUTH, 0 },
    { LB_INTEG_SUCCESSFACTORS, LB_STEP_COMPLETION, 403, expired, LB_OUT_AUTH, 0 },
    { LB_INTEG_SUCCESSFACTORS, LB_STEP_OCN_COURSE, 429, expired, LB_OUT_RETRY, 0 },
    { LB_INTEG_SUCCESSFACTORS, LB_STEP_OCN_COURSE, 408, expired, LB_OUT_RETRY, 0 },
    { LB_INTEG_SUCCESSFACTORS, LB_STEP_OCN_COURSE, 400, "{\"error\":\"bad\"}", LB_OUT_PERMANENT,
      0 },
    { LB_INTEG_SUCCESSFACTORS, LB_STEP_OCN_COURSE, 503, NULL, LB_OUT_RETRY, 0 },
    { LB_INTEG_DEGREED, LB_STEP_COMPLETION, 403, expired, LB_OUT_PERMANENT, 0 },
    { LB_INTEG_DEGREED, LB_STEP_CREATE, 503, NULL, LB_OUT_RETRY, 30000 },
    { LB_INTEG_DEGREED, LB_STEP_CREATE, 502, NULL, LB_OUT_RETRY, 0 },
    { LB_INTEG_DEGREED, LB_STEP_CREATE, 409, NULL, LB_OUT_CONFLICT, 0 },
    { LB_INTEG_XAPI, LB_STEP_COMPLETION, 400, expired, LB_OUT_PERMANENT, 0 },
    { LB_INTEG_XAPI, LB_STEP_COMPLETION, 503, NULL, LB_OUT_RETRY, 0 },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const char *b = cases[i].body;
    lb_verdict v = lb_connector_classify(lb_connector_of(cases[i].type), cases[i].step,
                                         cases[i].status, b, b ? strlen(b) : 0);
    if (v.outcome != cases[i].expect || v.min_delay_ms != cases[i].min_delay)
      fail_msg("case %zu (%d): got %s/%lld, expected %s/%lld", i, cases[i].status,
               lb_outcome_name(v.outcome), (long long)v.min_delay_ms,
               lb_outcome_name(cases[i].expect), (long long)cases[i].min_delay);
  }
  /* the body is read only within its length */
  lb_verdict v = lb_connector_classify(lb_connector_of(LB_INTEG_SUCCESSFACTORS), LB_STEP_OCN_COURSE,
                                       400, expired, 20);
  assert_int_equal(v.outcome, LB_OUT_PERMANENT);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_registry),
    cmocka_unit_test(test_keys_belong_to_one_type),
    cmocka_unit_test(test_degreed_binds_the_id_into_the_update),
    cmocka_unit_test(test_successfactors_batches_courses),
    cmocka_unit_test(test_request_headers),
    cmocka_unit_test(test_connector_verdicts),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
