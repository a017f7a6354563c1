/* lb_ratelimit: token bucket arithmetic and the server's corrections. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lb_ratelimit.h"

static void test_degreed_default_rate(void **state)
{
  (void)state;
  lb_ratelimit b;
  lb_ratelimit_init(&b, 70, 0);
  /* a burst of ten seconds' worth: floor(70/6) = 11 */
  int sent = 0;
  while (lb_ratelimit_take(&b, 0) == 0)
    sent++;
  assert_int_equal(sent, 11);
  /* then one every 60/70 s = 857.14 ms */
  int64_t wait = lb_ratelimit_take(&b, 0);
  assert_int_equal(wait, 858);
  assert_int_equal(lb_ratelimit_take(&b, 857), 1);
  assert_int_equal(lb_ratelimit_take(&b, 858), 0);
  /* over a minute from empty: 70 more, never more */
  int64_t t = 858;
  int in_minute = 0;
  for (int64_t now = t; now < t + 60000; now++)
    if (lb_ratelimit_take(&b, now) == 0)
      in_minute++;
  assert_true(in_minute >= 69 && in_minute <= 70);
}

static void test_unlimited(void **state)
{
  (void)state;
  lb_ratelimit b;
  lb_ratelimit_init(&b, 0, 0);
  for (int i = 0; i < 100000; i++)
    assert_int_equal(lb_ratelimit_take(&b, 0), 0);
  /* a server pause still applies */
  lb_ratelimit_block_until(&b, 5000);
  assert_int_equal(lb_ratelimit_take(&b, 1000), 4000);
  assert_int_equal(lb_ratelimit_take(&b, 5000), 0);
}

static void test_server_corrections(void **state)
{
  (void)state;
  lb_ratelimit b;
  lb_ratelimit_init(&b, 60, 0); /* one a second, burst 10 */
  /* the server says 2 left: at most 2 go now */
  lb_ratelimit_observe(&b, 0, 2, 30000);
  assert_int_equal(lb_ratelimit_take(&b, 0), 0);
  assert_int_equal(lb_ratelimit_take(&b, 0), 0);
  assert_true(lb_ratelimit_take(&b, 0) > 0);
  /* none left: wait for the window's reset */
  lb_ratelimit_observe(&b, 100, 0, 30000);
  assert_int_equal(lb_ratelimit_take(&b, 100), 29900);
  assert_int_equal(lb_ratelimit_take(&b, 29999), 1);
  /* after the reset, refilling starts from empty */
  assert_true(lb_ratelimit_take(&b, 30000) > 0);
  assert_int_equal(lb_ratelimit_take(&b, 31000), 0);
  /* an absent header changes nothing; a larger remaining adds nothing */
  lb_ratelimit_init(&b, 60, 0);
  lb_ratelimit_observe(&b, 0, -1, 0);
  lb_ratelimit_observe(&b, 0, 1000, 60000);
  int sent = 0;
  while (lb_ratelimit_take(&b, 0) == 0)
    sent++;
  assert_int_equal(sent, 10);
}

static void test_429_pause_is_never_shortened(void **state)
{
  (void)state;
  lb_ratelimit b;
  lb_ratelimit_init(&b, 70, 0);
  lb_ratelimit_block_until(&b, 20000);
  lb_ratelimit_block_until(&b, 10000);
  assert_int_equal(lb_ratelimit_take(&b, 0), 20000);
  assert_true(lb_ratelimit_take(&b, 19999) > 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_degreed_default_rate),
    cmocka_unit_test(test_unlimited),
    cmocka_unit_test(test_server_corrections),
    cmocka_unit_test(test_429_pause_is_never_shortened),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
