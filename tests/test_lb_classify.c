/* lb_classify: the generic outcome table of docs/delivery.md (what each
 * LMS adds is tested with its connector, test_lb_connector.c); Retry-After
 * in both forms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "lb_classify.h"
#include "lb_time.h"

static void test_outcome_table(void **state)
{
  (void)state;
  static const struct {
    lb_step step;
    int status;
    const char *body;
    lb_outcome expect;
    int64_t min_delay;
  } cases[] = {
    { LB_STEP_CREATE, 201, NULL, LB_OUT_SUCCESS, 0 },
    { LB_STEP_UPDATE, 200, NULL, LB_OUT_SUCCESS, 0 },
    { LB_STEP_LOOKUP, 204, NULL, LB_OUT_SUCCESS, 0 },
    { LB_STEP_CREATE, 0, NULL, LB_OUT_RETRY, 0 },
    { LB_STEP_CREATE, 401, NULL, LB_OUT_AUTH, 0 },
    /* an expired-token body means nothing to the generic table */
    { LB_STEP_OCN_COURSE, 400, "{\"error_description\":\"The token has expired.\"}",
      LB_OUT_PERMANENT, 0 },
    { LB_STEP_CREATE, 409, NULL, LB_OUT_CONFLICT, 0 },
    { LB_STEP_UPDATE, 409, NULL, LB_OUT_PERMANENT, 0 },
    { LB_STEP_COMPLETION, 409, NULL, LB_OUT_SUCCESS, 0 },
    { LB_STEP_UPDATE, 404, NULL, LB_OUT_STALE_ID, 0 },
    { LB_STEP_CREATE, 404, NULL, LB_OUT_PERMANENT, 0 },
    { LB_STEP_CREATE, 408, NULL, LB_OUT_RETRY, 0 },
    { LB_STEP_CREATE, 429, "token has expired", LB_OUT_RETRY, 0 },
    { LB_STEP_CREATE, 500, NULL, LB_OUT_RETRY, 0 },
    { LB_STEP_CREATE, 502, NULL, LB_OUT_RETRY, 0 },
    { LB_STEP_CREATE, 503, NULL, LB_OUT_RETRY, 0 },
    { LB_STEP_CREATE, 504, NULL, LB_OUT_RETRY, 0 },
    { LB_STEP_COMPLETION, 400,
      "{\"errors\":[{\"detail\":\"Invalid user identifier: x@y.example\"}]}", LB_OUT_PERMANENT, 0 },
    { LB_STEP_CREATE, 403, NULL, LB_OUT_PERMANENT, 0 },
    { LB_STEP_CREATE, 405, NULL, LB_OUT_PERMANENT, 0 },
    { LB_STEP_CREATE, 422, NULL, LB_OUT_PERMANENT, 0 },
    { LB_STEP_CREATE, 302, NULL, LB_OUT_PERMANENT, 0 },
    { LB_STEP_CREATE, 301, "<html>Moved</html>", LB_OUT_PERMANENT, 0 },
    { LB_STEP_COMPLETION, 307, NULL, LB_OUT_PERMANENT, 0 },
    /* a 2xx HTML page (a proxy's, a login or maintenance page) where the
     * API answers JSON or nothing is no success */
    { LB_STEP_CREATE, 200, "<!DOCTYPE html><html><body>Down for maintenance</body></html>",
      LB_OUT_RETRY, 0 },
    { LB_STEP_COMPLETION, 201, " \r\n\t<html>", LB_OUT_RETRY, 0 },
    { LB_STEP_OCN_COURSE, 200, "<?xml version=\"1.0\"?><error/>", LB_OUT_RETRY, 0 },
    { LB_STEP_LOOKUP, 200, "<html>", LB_OUT_RETRY, 0 },
    { LB_STEP_CREATE, 201, "{\"data\":{\"id\":\"<b>\"}}", LB_OUT_SUCCESS, 0 },
    { LB_STEP_COMPLETION, 204, "", LB_OUT_SUCCESS, 0 },
    { LB_STEP_COMPLETION, 200, "   ", LB_OUT_SUCCESS, 0 },
    /* an error page keeps its status's outcome */
    { LB_STEP_CREATE, 503, "<html>503 Service Unavailable</html>", LB_OUT_RETRY, 0 },
    { LB_STEP_COMPLETION, 400, "<html>Bad Request</html>", LB_OUT_PERMANENT, 0 },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const char *b = cases[i].body;
    lb_verdict v = lb_classify(cases[i].step, cases[i].status, b, b ? strlen(b) : 0);
    if (v.outcome != cases[i].expect || v.min_delay_ms != cases[i].min_delay)
      fail_msg("case %zu (%d): got %s/%lld, expected %s/%lld", i, cases[i].status,
               lb_outcome_name(v.outcome), (long long)v.min_delay_ms,
               lb_outcome_name(cases[i].expect), (long long)cases[i].min_delay);
    assert_non_null(v.why);
  }
}

static void test_retry_after(void **state)
{
  (void)state;
  int64_t now;
  assert_int_equal(lb_time_parse_rfc3339("2015-10-21T07:28:00Z", &now), LB_E_OK);
  assert_int_equal(lb_classify_retry_after_ms("120", now), 120000);
  assert_int_equal(lb_classify_retry_after_ms(" 0 ", now), 0);
  /* HTTP-date, IMF-fixdate and the obsolete forms */
  assert_int_equal(lb_classify_retry_after_ms("Wed, 21 Oct 2015 07:28:30 GMT", now), 30000);
  assert_int_equal(lb_classify_retry_after_ms("Wednesday, 21-Oct-15 07:29:00 GMT", now), 60000);
  assert_int_equal(lb_classify_retry_after_ms("Wed Oct 21 07:28:05 2015", now), 5000);
  /* a date in the past: no wait */
  assert_int_equal(lb_classify_retry_after_ms("Wed, 21 Oct 2015 07:00:00 GMT", now), 0);
  assert_int_equal(lb_classify_retry_after_ms(NULL, now), -1);
  assert_int_equal(lb_classify_retry_after_ms("", now), -1);
  assert_int_equal(lb_classify_retry_after_ms("soon", now), -1);
  assert_int_equal(lb_classify_retry_after_ms("12abc", now), -1);
  /* a pause of years is cut to LB_SERVER_PAUSE_MAX_MS, however written */
  assert_int_equal(lb_classify_retry_after_ms("600", now), LB_SERVER_PAUSE_MAX_MS);
  assert_int_equal(lb_classify_retry_after_ms("601", now), LB_SERVER_PAUSE_MAX_MS);
  assert_int_equal(lb_classify_retry_after_ms("86399999", now), LB_SERVER_PAUSE_MAX_MS);
  assert_int_equal(lb_classify_retry_after_ms("99999999999999999999999", now),
                   LB_SERVER_PAUSE_MAX_MS);
  assert_int_equal(lb_classify_retry_after_ms("Fri, 31 Dec 9999 23:59:59 GMT", now),
                   LB_SERVER_PAUSE_MAX_MS);
  assert_int_equal(lb_classify_retry_after_ms("599", now), 599000);
  /* a year past what milliseconds hold (found by fuzzing: the product
   * overflowed) */
  assert_int_equal(lb_classify_retry_after_ms("Sun Nov  6 08:49:37 1994639999", now),
                   LB_SERVER_PAUSE_MAX_MS);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_outcome_table),
    cmocka_unit_test(test_retry_after),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
