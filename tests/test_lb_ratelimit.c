/* lb_ratelimit: token bucket arithmetic and the server's corrections. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "lb_classify.h"
#include "lb_ratelimit.h"

static void test_degreed_default_rate(void **state)
{
  (void)state;
  lb_ratelimit b;
  lb_ratelimit_init(&b, 70, 0);
  /* a burst of a tenth of the minute's quota: 7 */
  int sent = 0;
  while (lb_ratelimit_take(&b, 0) == 0)
    sent++;
  assert_int_equal(sent, 7);
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
  lb_ratelimit_block_until(&b, 0, 5000);
  assert_int_equal(lb_ratelimit_take(&b, 1000), 4000);
  assert_int_equal(lb_ratelimit_take(&b, 5000), 0);
}

static void test_server_corrections(void **state)
{
  (void)state;
  lb_ratelimit b;
  lb_ratelimit_init(&b, 60, 0); /* one a second, burst 6 */
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
  assert_int_equal(sent, 6);
}

static void test_429_pause_is_never_shortened(void **state)
{
  (void)state;
  lb_ratelimit b;
  lb_ratelimit_init(&b, 70, 0);
  lb_ratelimit_block_until(&b, 0, 20000);
  lb_ratelimit_block_until(&b, 0, 10000);
  assert_int_equal(lb_ratelimit_take(&b, 0), 20000);
  assert_true(lb_ratelimit_take(&b, 19999) > 0);
}

/* Three members of a group, each with a third of a 60/min limit, sending
 * as fast as their buckets let them for five minutes, after a start with
 * full buckets and again after a pause: together at most 66 requests in any
 * 60 s window (the limit and a tenth of it in bursts), and about 60 a
 * minute once steady. */
static void test_group_shares_stay_within_the_limit(void **state)
{
  (void)state;
  enum { MEMBERS = 3, SECONDS = 300 };
  lb_ratelimit b[MEMBERS];
  static int per_second[SECONDS];
  for (int i = 0; i < MEMBERS; i++) {
    lb_ratelimit_init(&b[i], 60, 0);
    lb_ratelimit_set_share(&b[i], 1.0 / MEMBERS, 0);
  }
  for (int64_t now = 0; now < SECONDS * 1000; now++) {
    if (now >= 120000 && now < 140000)
      continue; /* no work for 20 s: buckets fill again */
    for (int i = 0; i < MEMBERS; i++)
      while (lb_ratelimit_take(&b[i], now) == 0)
        per_second[now / 1000]++;
  }
  int most = 0, steady = 0;
  for (int s = 0; s + 60 <= SECONDS; s++) {
    int n = 0;
    for (int k = s; k < s + 60; k++)
      n += per_second[k];
    if (n > most)
      most = n;
    if (s == 200)
      steady = n;
  }
  if (most > 66 || steady < 58 || steady > 62)
    fail_msg("most in a 60 s window %d (limit 66), steady %d", most, steady);
}

/* A share of 0 sends nothing (and says when to ask again); a share given
 * back resumes at that rate; a smaller share keeps no more than its burst. */
static void test_share_changes(void **state)
{
  (void)state;
  lb_ratelimit b;
  lb_ratelimit_init(&b, 600, 0); /* 10 a second, burst 60 */
  lb_ratelimit_set_share(&b, 0, 0);
  assert_true(lb_ratelimit_take(&b, 0) > 0);
  assert_true(lb_ratelimit_take(&b, 100000) > 0);
  /* 5 a second, burst 30, from the one token a share of 0 kept: a member
   * given partitions does not start with a burst */
  lb_ratelimit_set_share(&b, 0.5, 100000);
  int sent = 0;
  while (lb_ratelimit_take(&b, 100000) == 0)
    sent++;
  assert_int_equal(sent, 1);
  assert_int_equal(lb_ratelimit_take(&b, 100000), 200);
  sent = 0;
  while (lb_ratelimit_take(&b, 110000) == 0)
    sent++;
  assert_int_equal(sent, 30); /* the burst, no more */
  lb_ratelimit_set_share(&b, 1, 110000);
  assert_int_equal(lb_ratelimit_take(&b, 110000), 100);
  /* clamped: more than the whole limit is the whole limit */
  lb_ratelimit_set_share(&b, 7, 200000);
  sent = 0;
  while (lb_ratelimit_take(&b, 200000) == 0)
    sent++;
  assert_int_equal(sent, 60);
  /* unlimited stays unlimited whatever the share */
  lb_ratelimit_init(&b, 0, 0);
  lb_ratelimit_set_share(&b, 0, 0);
  assert_int_equal(lb_ratelimit_take(&b, 0), 0);
}

/* A server's pause is cut to LB_SERVER_PAUSE_MAX_MS: a Retry-After of
 * years or a rate-limit reset in year 9999 blocks for ten minutes, not
 * forever. */
static void test_server_pause_is_capped(void **state)
{
  (void)state;
  lb_ratelimit b;
  lb_ratelimit_init(&b, 70, 0);
  lb_ratelimit_block_until(&b, 1000, 1000 + 86399999000LL);
  assert_int_equal(lb_ratelimit_take(&b, 1000), LB_SERVER_PAUSE_MAX_MS);
  /* then refilling from empty: one request 60/70 s later */
  assert_int_equal(lb_ratelimit_take(&b, 1000 + LB_SERVER_PAUSE_MAX_MS), 858);
  assert_int_equal(lb_ratelimit_take(&b, 1000 + LB_SERVER_PAUSE_MAX_MS + 858), 0);
  lb_ratelimit_init(&b, 70, 0);
  lb_ratelimit_observe(&b, 5000, 0, 253402300799000LL); /* 9999-12-31T23:59:59Z */
  assert_int_equal(lb_ratelimit_take(&b, 5000), LB_SERVER_PAUSE_MAX_MS);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_degreed_default_rate),
    cmocka_unit_test(test_unlimited),
    cmocka_unit_test(test_server_corrections),
    cmocka_unit_test(test_429_pause_is_never_shortened),
    cmocka_unit_test(test_group_shares_stay_within_the_limit),
    cmocka_unit_test(test_share_changes),
    cmocka_unit_test(test_server_pause_is_capped),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
