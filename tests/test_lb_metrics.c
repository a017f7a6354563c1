/* lb_metrics: counters, gauges and histograms rendered as Prometheus text,
 * label escaping, and lb_obs serving them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_metrics.h"
#include "lb_obs.h"
#include "lb_test_sandbox.h"

/* Labels appended to a buffer too small: always terminated, never past
 * it, and a pair that does not fit whole adds no ',key=' of its own. */
static void test_label_truncation(void **state)
{
  (void)state;
  for (size_t len = 1; len <= 40; len++) {
    char buf[48];
    memset(buf, '#', sizeof(buf));
    buf[0] = '\0';
    lb_metrics_label(buf, len, "integration", "acme");
    lb_metrics_label(buf, len, "outcome", "success");
    assert_true(strlen(buf) < len);
    assert_int_equal(buf[len], '#');
    /* a value's last character goes in with room for an escape's two */
    if (len > strlen("integration=\"acme\"") + 1) /* the first pair fits */
      assert_memory_equal(buf, "integration=\"acme\"", strlen("integration=\"acme\""));
    if (len > strlen("integration=\"acme\",outcome=\"success\"") + 1)
      assert_string_equal(buf, "integration=\"acme\",outcome=\"success\"");
  }
}

static void test_render(void **state)
{
  (void)state;
  char labels[256] = "";
  lb_metrics *m = lb_metrics_new();
  lb_metrics_declare(m, "lmsbridge_deliveries_total", LB_COUNTER, "Deliveries.");
  lb_metrics_declare(m, "lmsbridge_inflight", LB_GAUGE, "In flight.");
  lb_metrics_declare(m, "lmsbridge_delivery_seconds", LB_HISTOGRAM, "Latency.");
  lb_metrics_label(labels, sizeof(labels), "integration", "acme \"EU\"\\x");
  lb_metrics_label(labels, sizeof(labels), "outcome", "success");
  assert_string_equal(labels, "integration=\"acme \\\"EU\\\"\\\\x\",outcome=\"success\"");
  lb_metrics_add(m, "lmsbridge_deliveries_total", labels, 2);
  lb_metrics_add(m, "lmsbridge_deliveries_total", labels, 3);
  lb_metrics_set(m, "lmsbridge_inflight", "", 7);
  lb_metrics_set(m, "lmsbridge_inflight", "", 4);
  lb_metrics_observe(m, "lmsbridge_delivery_seconds", "", 0.02);
  lb_metrics_observe(m, "lmsbridge_delivery_seconds", "", 3);
  lb_metrics_add(m, "undeclared_total", "", 1); /* ignored */
  assert_true(lb_metrics_get(m, "lmsbridge_deliveries_total", labels) == 5);
  assert_true(lb_metrics_get(m, "lmsbridge_delivery_seconds", "") == 2);
  /* labels NULL: the family summed over its series */
  lb_metrics_add(m, "lmsbridge_deliveries_total", "outcome=\"skipped\"", 4);
  assert_true(lb_metrics_get(m, "lmsbridge_deliveries_total", labels) == 5);
  assert_true(lb_metrics_get(m, "lmsbridge_deliveries_total", NULL) == 9);
  assert_true(lb_metrics_get(m, "lmsbridge_delivery_seconds", NULL) == 2);
  assert_true(lb_metrics_get(m, "undeclared_total", NULL) == 0);
  char *text = lb_metrics_render(m);
  assert_non_null(strstr(text, "# HELP lmsbridge_deliveries_total Deliveries.\n"
                               "# TYPE lmsbridge_deliveries_total counter\n"));
  assert_non_null(strstr(text, "lmsbridge_deliveries_total{integration=\"acme \\\"EU\\\"\\\\x\","
                               "outcome=\"success\"} 5\n"));
  assert_non_null(strstr(text, "# TYPE lmsbridge_inflight gauge\nlmsbridge_inflight 4\n"));
  assert_non_null(strstr(text, "lmsbridge_delivery_seconds_bucket{le=\"0.01\"} 0\n"));
  assert_non_null(strstr(text, "lmsbridge_delivery_seconds_bucket{le=\"0.025\"} 1\n"));
  assert_non_null(strstr(text, "lmsbridge_delivery_seconds_bucket{le=\"5\"} 2\n"));
  assert_non_null(strstr(text, "lmsbridge_delivery_seconds_bucket{le=\"+Inf\"} 2\n"));
  assert_non_null(
      strstr(text, "lmsbridge_delivery_seconds_sum 3.02\nlmsbridge_delivery_seconds_count 2\n"));
  assert_null(strstr(text, "undeclared"));
  free(text);
  lb_metrics_clear(m, "lmsbridge_inflight");
  text = lb_metrics_render(m);
  assert_null(strstr(text, "lmsbridge_inflight 4"));
  free(text);
  lb_metrics_destroy(m);
}

/* Many series (an integration and outcome each): every one is found
 * again by its labels, cleared, and made again; exposition keeps the
 * order they were made in. */
static void test_many_series(void **state)
{
  (void)state;
  enum { N = 3000 };
  lb_metrics *m = lb_metrics_new();
  char labels[64];
  lb_metrics_declare(m, "lb_test_total", LB_COUNTER, "Test.");
  for (int round = 0; round < 2; round++)
    for (int i = 0; i < N; i++) {
      snprintf(labels, sizeof(labels), "integration=\"i%d\"", i);
      lb_metrics_add(m, "lb_test_total", labels, i + 1);
    }
  for (int i = 0; i < N; i += 97) {
    snprintf(labels, sizeof(labels), "integration=\"i%d\"", i);
    assert_true(lb_metrics_get(m, "lb_test_total", labels) == 2.0 * (i + 1));
  }
  char *text = lb_metrics_render(m);
  const char *a = strstr(text, "lb_test_total{integration=\"i0\"} 2");
  const char *b = strstr(text, "lb_test_total{integration=\"i2999\"} 6000");
  assert_true(a && b && a < b);
  free(text);
  lb_metrics_clear(m, "lb_test_total");
  assert_true(lb_metrics_get(m, "lb_test_total", "integration=\"i5\"") == 0.0);
  lb_metrics_add(m, "lb_test_total", "integration=\"i5\"", 1);
  assert_true(lb_metrics_get(m, "lb_test_total", "integration=\"i5\"") == 1.0);
  lb_metrics_destroy(m);
}

static void test_server(void **state)
{
  (void)state;
  char err[128], url[128], *body = NULL;
  lb_metrics *m = lb_metrics_new();
  lb_metrics_declare(m, "lmsbridge_inflight", LB_GAUGE, "In flight.");
  lb_metrics_set(m, "lmsbridge_inflight", "", 3);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  lb_obs *o = lb_obs_new("127.0.0.1:0", m, err, sizeof(err));
  assert_non_null(o);
  assert_true(lb_obs_port(o) > 0);
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", lb_obs_port(o));
  assert_int_equal(lb_test_http("GET", url, NULL, &body), 200);
  assert_non_null(strstr(body, "lmsbridge_inflight 3\n"));
  free(body);
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/healthz", lb_obs_port(o));
  lb_obs_beat(o);
  assert_int_equal(lb_test_http("GET", url, NULL, NULL), 200);
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/readyz", lb_obs_port(o));
  assert_int_equal(lb_test_http("GET", url, NULL, NULL), 503);
  lb_obs_set_ready(o, true);
  assert_int_equal(lb_test_http("GET", url, NULL, NULL), 200);
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/other", lb_obs_port(o));
  assert_int_equal(lb_test_http("GET", url, NULL, NULL), 404);
  assert_null(lb_obs_new("not-an-address", m, err, sizeof(err)));
  assert_non_null(strstr(err, "host:port"));
  lb_obs_destroy(o);
  lb_metrics_destroy(m);
  curl_global_cleanup();
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_render),
    cmocka_unit_test(test_label_truncation),
    cmocka_unit_test(test_many_series),
    cmocka_unit_test(test_server),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
