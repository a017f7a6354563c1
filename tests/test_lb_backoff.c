/* lb_backoff: bounds, the full-jitter range, the Retry-After floor and the
 * retry budget. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "lb_backoff.h"

static const lb_backoff_policy policy = {
  .initial_ms = 500, .max_ms = 300000, .max_attempts = 12, .budget_ms = 86400000
};

static void test_caps_double_then_stop(void **state)
{
  (void)state;
  static const int64_t caps[] = { 500,   1000,  2000,   4000,   8000,   16000,
                                  32000, 64000, 128000, 256000, 300000, 300000 };
  for (int attempt = 1; attempt <= 12; attempt++) {
    /* random01 just below 1 gives (almost) the cap, 0 gives 0 */
    int64_t top = lb_backoff_delay(&policy, attempt, 0, 0.9999999);
    int64_t low = lb_backoff_delay(&policy, attempt, 0, 0.0);
    assert_true(top <= caps[attempt - 1]);
    assert_true(top >= caps[attempt - 1] - 1);
    assert_int_equal(low, 0);
  }
  /* a huge attempt count does not overflow */
  assert_int_equal(lb_backoff_delay(&policy, 1000, 0, 0.5), 150000);
}

static void test_full_jitter_covers_the_range(void **state)
{
  (void)state;
  uint64_t rng = 42;
  int64_t min = INT64_MAX, max = 0;
  int buckets[10] = { 0 };
  for (int i = 0; i < 20000; i++) {
    int64_t d = lb_backoff_delay(&policy, 4, 0, lb_backoff_random(&rng));
    assert_true(d >= 0 && d <= 4000);
    min = d < min ? d : min;
    max = d > max ? d : max;
    buckets[d * 10 / 4001]++;
  }
  assert_true(min < 100);
  assert_true(max > 3900);
  /* roughly uniform: each tenth holds 7-13% of the draws */
  for (int i = 0; i < 10; i++)
    assert_true(buckets[i] > 1400 && buckets[i] < 2600);
}

static void test_retry_after_floor(void **state)
{
  (void)state;
  /* never before the floor, at most 10% (capped at 1 s) after it */
  for (double r = 0; r < 1; r += 0.1) {
    int64_t d = lb_backoff_delay(&policy, 1, 30000, r);
    assert_true(d >= 30000 && d <= 31000);
    d = lb_backoff_delay(&policy, 1, 2000, r);
    assert_true(d >= 2000 && d <= 2200);
  }
  /* a jitter above the floor is kept */
  assert_int_equal(lb_backoff_delay(&policy, 10, 1000, 0.5), 128000);
}

static void test_budget(void **state)
{
  (void)state;
  lb_backoff_policy p = {
    .initial_ms = 100, .max_ms = 1000, .max_attempts = 3, .budget_ms = 60000
  };
  assert_true(lb_backoff_may_retry(&p, 1, 0, 1000, 500));
  assert_true(lb_backoff_may_retry(&p, 2, 0, 1000, 500));
  assert_false(lb_backoff_may_retry(&p, 3, 0, 1000, 500));   /* attempts used up */
  assert_true(lb_backoff_may_retry(&p, 1, 0, 59000, 1000));  /* lands at the budget */
  assert_false(lb_backoff_may_retry(&p, 1, 0, 59500, 1000)); /* would land after it */
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_caps_double_then_stop),
    cmocka_unit_test(test_full_jitter_covers_the_range),
    cmocka_unit_test(test_retry_after_floor),
    cmocka_unit_test(test_budget),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
