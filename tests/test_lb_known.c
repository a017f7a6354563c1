/* lb_known: versions only grow, ids are remembered, the least recently
 * used entry goes first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_known.h"

static void test_highest_version_and_id_are_kept(void **state)
{
  (void)state;
  lb_known *k = lb_known_new(10);
  uint64_t v = 0;
  const char *id = NULL;
  assert_false(lb_known_get(k,
                            "acme\x1f"
                            "course-1",
                            &v, &id));
  assert_int_equal(lb_known_put(k,
                                "acme\x1f"
                                "course-1",
                                5, "deg-1"),
                   LB_E_OK);
  assert_true(lb_known_get(k,
                           "acme\x1f"
                           "course-1",
                           &v, &id));
  assert_int_equal(v, 5);
  assert_string_equal(id, "deg-1");
  /* an older version delivered later (a replay) does not lower it; a NULL
   * id keeps the one known */
  assert_int_equal(lb_known_put(k,
                                "acme\x1f"
                                "course-1",
                                3, NULL),
                   LB_E_OK);
  assert_true(lb_known_get(k,
                           "acme\x1f"
                           "course-1",
                           &v, &id));
  assert_int_equal(v, 5);
  assert_string_equal(id, "deg-1");
  /* a new id (the item was recreated in the LMS) replaces the old one */
  assert_int_equal(lb_known_put(k,
                                "acme\x1f"
                                "course-1",
                                7, "deg-9"),
                   LB_E_OK);
  assert_true(lb_known_get(k,
                           "acme\x1f"
                           "course-1",
                           &v, &id));
  assert_int_equal(v, 7);
  assert_string_equal(id, "deg-9");
  /* keys differ per integration */
  assert_false(lb_known_get(k,
                            "globex\x1f"
                            "course-1",
                            &v, &id));
  assert_int_equal(lb_known_count(k), 1);
  lb_known_destroy(k);
}

static void test_least_recently_used_is_evicted(void **state)
{
  (void)state;
  lb_known *k = lb_known_new(3);
  lb_known_put(k, "a", 1, NULL);
  lb_known_put(k, "b", 1, NULL);
  lb_known_put(k, "c", 1, NULL);
  assert_true(lb_known_get(k, "a", NULL, NULL)); /* a is now the most recent */
  lb_known_put(k, "d", 1, NULL);                 /* b goes */
  assert_int_equal(lb_known_count(k), 3);
  assert_false(lb_known_get(k, "b", NULL, NULL));
  assert_true(lb_known_get(k, "a", NULL, NULL));
  assert_true(lb_known_get(k, "c", NULL, NULL));
  assert_true(lb_known_get(k, "d", NULL, NULL));
  lb_known_destroy(k);
}

static void test_many_keys_stay_bounded(void **state)
{
  (void)state;
  lb_known *k = lb_known_new(1000);
  char key[32];
  for (int i = 0; i < 5000; i++) {
    snprintf(key, sizeof(key), "k%d", i);
    assert_int_equal(lb_known_put(k, key, (uint64_t)i, "id"), LB_E_OK);
  }
  assert_int_equal(lb_known_count(k), 1000);
  uint64_t v;
  assert_false(lb_known_get(k, "k3999", &v, NULL));
  assert_true(lb_known_get(k, "k4000", &v, NULL));
  assert_int_equal(v, 4000);
  assert_true(lb_known_get(k, "k4999", &v, NULL));
  lb_known_destroy(k);
}

/* What was sent: the fingerprint and the archived flag follow the newest
 * delivery; a state record read from Kafka replaces the entry whole. */
static void test_sent_and_restored_state(void **state)
{
  (void)state;
  lb_known *k = lb_known_new(10);
  lb_known_state st;
  char *key = lb_known_key("acme", "course-1");
  assert_string_equal(key, "acme\x1f"
                           "course-1");
  assert_false(lb_known_get_state(k, key, &st));
  /* an entry put the old way has no fingerprint */
  lb_known_put(k, key, 3, "deg-1");
  assert_true(lb_known_get_state(k, key, &st));
  assert_null(st.fingerprint);
  assert_false(st.archived);
  lb_known_state sent = { .version = 5, .lms_id = NULL, .fingerprint = "fp-5" };
  assert_int_equal(lb_known_put_sent(k, key, &sent), LB_E_OK);
  assert_true(lb_known_get_state(k, key, &st));
  assert_int_equal(st.version, 5);
  assert_string_equal(st.lms_id, "deg-1"); /* a NULL id keeps the one known */
  assert_string_equal(st.fingerprint, "fp-5");
  /* an older delivery (a replay, out of order) changes neither */
  sent = (lb_known_state){ .version = 4, .fingerprint = "fp-4", .archived = true };
  assert_int_equal(lb_known_put_sent(k, key, &sent), LB_E_OK);
  assert_true(lb_known_get_state(k, key, &st));
  assert_int_equal(st.version, 5);
  assert_string_equal(st.fingerprint, "fp-5");
  assert_false(st.archived);
  /* the same version sent again (a resync) takes its fingerprint */
  sent = (lb_known_state){ .version = 5, .fingerprint = "fp-5b", .archived = true };
  assert_int_equal(lb_known_put_sent(k, key, &sent), LB_E_OK);
  assert_true(lb_known_get_state(k, key, &st));
  assert_string_equal(st.fingerprint, "fp-5b");
  assert_true(st.archived);
  /* a state record replaces everything, a lower version and no id too */
  lb_known_state rec = { .version = 2, .fingerprint = "fp-2" };
  assert_int_equal(lb_known_set(k, key, &rec), LB_E_OK);
  assert_true(lb_known_get_state(k, key, &st));
  assert_int_equal(st.version, 2);
  assert_null(st.lms_id);
  assert_string_equal(st.fingerprint, "fp-2");
  assert_false(st.archived);
  /* and makes an entry that was not there */
  rec = (lb_known_state){ .version = 9, .lms_id = "deg-9", .fingerprint = "fp-9" };
  assert_int_equal(lb_known_set(k,
                                "acme\x1f"
                                "course-2",
                                &rec),
                   LB_E_OK);
  uint64_t v;
  const char *id;
  assert_true(lb_known_get(k,
                           "acme\x1f"
                           "course-2",
                           &v, &id));
  assert_int_equal(v, 9);
  assert_string_equal(id, "deg-9");
  /* a forgotten item (a null state record): as if unknown */
  rec = (lb_known_state){ 0 };
  assert_int_equal(lb_known_set(k,
                                "acme\x1f"
                                "course-2",
                                &rec),
                   LB_E_OK);
  assert_true(lb_known_get_state(k,
                                 "acme\x1f"
                                 "course-2",
                                 &st));
  assert_int_equal(st.version, 0);
  assert_null(st.lms_id);
  assert_null(st.fingerprint);
  assert_int_equal(lb_known_count(k), 2);
  free(key);
  lb_known_destroy(k);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_highest_version_and_id_are_kept),
    cmocka_unit_test(test_least_recently_used_is_evicted),
    cmocka_unit_test(test_many_keys_stay_bounded),
    cmocka_unit_test(test_sent_and_restored_state),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
