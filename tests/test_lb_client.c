/* lb_client against lms-sandbox: tokens (one fetch for many requests, one
 * more after expiry), 429 storms obeyed, an outage isolated from a healthy
 * tenant, the Degreed create/409/lookup/update chain, permanent and auth
 * failures, retries, SuccessFactors, and no secret in the logs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_client.h"
#include "lb_config.h"
#include "lb_log.h"
#include "lb_map_degreed.h"
#include "lb_map_ocn.h"
#include "lb_test_sandbox.h"
#include "lb_time.h"

#define SECRET_FAST "client-test-secret-fast-1"
#define SECRET_OTHER "client-test-secret-other-2"
#define SECRET_SF "client-test-secret-sf-3"

static lb_test_lms lms;
static lb_config cfg;
static FILE *log_file;

/* Sandbox tenants: a Degreed client per tenant, one SF tenant. */
static const char *tenant(const char *name, const char *secret, const char *extra)
{
  static char buf[1024];
  snprintf(buf, sizeof(buf),
           "{\"name\":\"%s\",\"degreed\":{\"clients\":[{\"client_id\":\"%s-id\","
           "\"client_secret\":\"%s\",\"scopes\":[\"content:read\",\"content:write\","
           "\"completions:write\",\"skill_ratings:write\"]}],"
           "\"rate_limit_per_minute\":1000000%s}}",
           name, name, secret, extra);
  return buf;
}

static const char *integration(const char *id, const char *tenant_name,
                               const char *secret_env, const char *in_flight)
{
  static char buf[1024];
  snprintf(buf, sizeof(buf),
           "{ id = \"%s\"; type = \"degreed\"; organization = \"%s\";"
           " api_base_url = \"%s/t/%s\"; token_url = \"%s/t/%s/oauth/token\";"
           " client_id = \"%s-id\"; client_secret = \"@env:%s\";"
           " scopes = \"content:read,content:write,completions:write,skill_ratings:write\";"
           " rate_limit_per_minute = 0; max_in_flight = %s; }",
           id, tenant_name, lms.base_url, tenant_name, lms.base_url, tenant_name,
           tenant_name, secret_env, in_flight);
  return buf;
}

/* Integration indexes in the configuration below. */
enum { FAST, EXPIRING, THROTTLED, DOWN, HEALTHY, CHAIN, STRICT, WRONG, FLAKY, SF };

static int setup(void **state)
{
  (void)state;
  char tenants[8192], conf[16384], errors_path[300];
  char *errors = NULL;

  curl_global_init(CURL_GLOBAL_DEFAULT);
  snprintf(tenants, sizeof(tenants), "{\"tenants\":[");
  const char *specs[][3] = {
    {"fast", SECRET_FAST, ""},
    {"expiring", SECRET_FAST, ""},
    {"throttled", SECRET_FAST, ""},
    {"down", SECRET_OTHER, ""},
    {"healthy", SECRET_FAST, ""},
    {"chain", SECRET_FAST, ""},
    {"strict", SECRET_FAST, ",\"users\":[\"ann@strict.example\"]"},
    {"flaky", SECRET_FAST, ""},
  };
  for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
    snprintf(tenants + strlen(tenants), sizeof(tenants) - strlen(tenants), "%s%s",
             i ? "," : "", tenant(specs[i][0], specs[i][1], specs[i][2]));
  snprintf(tenants + strlen(tenants), sizeof(tenants) - strlen(tenants),
           ",{\"name\":\"sf\",\"sf\":{\"company_id\":\"SFCO\",\"client_id\":\"SFCO\","
           "\"client_secret\":\"%s\",\"admin_users\":[\"ocn_admin\"]}}]}",
           SECRET_SF);
  lb_test_lms_start(&lms, tenants);

  setenv("T_FAST", SECRET_FAST, 1);
  setenv("T_OTHER", SECRET_OTHER, 1);
  setenv("T_SF", SECRET_SF, 1);
  setenv("T_WRONG", "not-the-right-secret", 1);
  snprintf(conf, sizeof(conf),
           "kafka: { brokers = \"127.0.0.1:9092\"; };\n"
           "provider: { code = \"datacamp\"; ocn_provider_id = \"DATACAMP\";"
           " logo_url = \"https://cdn.example.com/logo.png\"; };\n"
           "delivery: { max_in_flight = 200; max_attempts = 4; backoff_initial_ms = 50;"
           " backoff_max_ms = 2000; retry_budget_s = 120; request_timeout_ms = 10000; };\n"
           "integrations = (\n");
  /* integration() returns a static buffer, so build the list one by one. */
  const char *names[][4] = {
    {"fast", "fast", "T_FAST", "200"},
    {"expiring", "expiring", "T_FAST", "200"},
    {"throttled", "throttled", "T_FAST", "4"},
    {"down", "down", "T_OTHER", "200"},
    {"healthy", "healthy", "T_FAST", "200"},
    {"chain", "chain", "T_FAST", "200"},
    {"strict", "strict", "T_FAST", "200"},
    {"wrong", "fast", "T_WRONG", "200"},
    {"flaky", "flaky", "T_FAST", "200"},
  };
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    snprintf(conf + strlen(conf), sizeof(conf) - strlen(conf), "%s,\n",
             integration(names[i][0], names[i][1], names[i][2], names[i][3]));
  snprintf(conf + strlen(conf), sizeof(conf) - strlen(conf),
           "{ id = \"sf\"; type = \"successfactors\"; organization = \"sf\";"
           " base_url = \"%s/t/sf\"; company_id = \"SFCO\"; admin_user = \"ocn_admin\";"
           " client_id = \"SFCO\"; client_secret = \"@env:T_SF\"; }\n);\n",
           lms.base_url);
  const char *path = lb_test_write_file(lms.dir, "client.conf", conf);
  lb_config_defaults d = {.worker = "test", .default_topic = "t", .default_scopes = "x"};
  if (lb_config_load(&cfg, path, &d, &errors) != LB_E_OK) {
    lb_test_lms_stop(&lms);
    fail_msg("%s", errors);
  }

  /* Every log line of the client goes to a file we check for secrets. */
  snprintf(errors_path, sizeof(errors_path), "%s/client.log", lms.dir);
  log_file = fopen(errors_path, "w+");
  lb_log_set_stream(log_file);
  lb_log_set_level(LB_LOG_DEBUG);
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  /* No secret, no token, no Authorization header ever logged. */
  fflush(log_file);
  rewind(log_file);
  char line[8192];
  int lines = 0;
  while (fgets(line, sizeof(line), log_file)) {
    lines++;
    if (strstr(line, SECRET_FAST) || strstr(line, SECRET_OTHER) ||
        strstr(line, SECRET_SF) || strstr(line, "Bearer") || strstr(line, "Authorization"))
      fail_msg("secret in the log: %s", line);
  }
  assert_true(lines > 100); /* debug lines were written and checked */
  lb_log_set_stream(NULL);
  fclose(log_file);
  lb_config_release(&cfg);
  lb_log_clear_secrets();
  lb_test_lms_stop(&lms);
  curl_global_cleanup();
  return 0;
}

/* ---- helpers ---- */

typedef struct {
  int done;
  int count[LB_DELIVERY_CANCELLED + 1];
  int max_attempts;
  char lms_id[64];
  int http_status;
  char body[512];
  char reason[256];
  int64_t not_before_ms;
} tally;

static void on_done(void *opaque, const lb_delivery_result *r)
{
  tally *t = opaque;
  t->done++;
  t->count[r->status]++;
  if (r->attempts > t->max_attempts)
    t->max_attempts = r->attempts;
  snprintf(t->lms_id, sizeof(t->lms_id), "%s", r->lms_id ? r->lms_id : "");
  t->http_status = r->http_status;
  snprintf(t->body, sizeof(t->body), "%s", r->http_body);
  snprintf(t->reason, sizeof(t->reason), "%s", r->reason);
  t->not_before_ms = r->not_before_ms;
}

/* Runs the client until `t` has `n` results (or the deadline passes). */
static void run_until(lb_client *c, const tally *t, int n, int deadline_ms)
{
  int64_t end = lb_time_mono_ms() + deadline_ms;
  while (t->done < n && lb_time_mono_ms() < end)
    lb_client_run(c, 50, -1);
  if (t->done < n)
    fail_msg("only %d of %d deliveries finished", t->done, n);
}

static void run_for(lb_client *c, int ms)
{
  int64_t end = lb_time_mono_ms() + ms;
  while (lb_time_mono_ms() < end)
    lb_client_run(c, 20, -1);
}

/* A one-request plan: a Degreed completion of user u, content n. */
static void completion_plan(lb_request_list *l, const lb_integration *in, int u, int n)
{
  char url[512], body[512], key[32];
  snprintf(url, sizeof(url), "%s/api/v2/completions", in->api_base_url);
  snprintf(body, sizeof(body),
           "{\"data\":{\"type\":\"completions\",\"attributes\":{\"user-id\":\"u%d@x.example\","
           "\"user-identifier-type\":\"Email\",\"content-id\":\"course-%d\","
           "\"content-id-type\":\"ExternalId\",\"content-type\":\"Course\","
           "\"completed-at\":\"2026-01-02T03:04:05\"}}}",
           u, n);
  snprintf(key, sizeof(key), "course-%d", n);
  lb_request_list_init(l);
  assert_int_equal(lb_request_list_add(l, LB_STEP_COMPLETION, LB_POST, url, body, key), LB_E_OK);
}

static int state_count(const char *tenant_name, const char *what)
{
  char path[256], key[256];
  snprintf(path, sizeof(path), "/_sandbox/state?tenant=%s", tenant_name);
  snprintf(key, sizeof(key), "tenants.%s.%s", tenant_name, what);
  json_object *st = lb_test_get_json(&lms, path);
  json_object *v = lb_test_dig(st, key);
  int n = !v ? -1
          : json_object_is_type(v, json_type_array) ? (int)json_object_array_length(v)
                                                    : json_object_get_int(v);
  json_object_put(st);
  return n;
}

/* ---- tests ---- */

static void test_thousand_requests_one_token(void **state)
{
  (void)state;
  enum { N = 1000 };
  static lb_request_list plans[N];
  tally t = {0};
  lb_client *c = lb_client_new(&cfg, &(lb_client_options){.seed = 1});
  assert_non_null(c);
  for (int i = 0; i < N; i++) {
    completion_plan(&plans[i], &cfg.integrations[FAST], i, i % 7);
    assert_int_equal(lb_client_deliver(c, FAST, &plans[i], NULL, 0, 0, on_done, &t, NULL), LB_E_OK);
  }
  assert_int_equal(lb_client_pending(c), N);
  run_until(c, &t, N, 60000);
  assert_int_equal(t.count[LB_DELIVERY_SUCCESS], N);
  assert_int_equal(lb_client_token_fetches(c, FAST, true), 1);
  assert_int_equal(state_count("fast", "degreed.tokens_issued"), 1);
  assert_int_equal(state_count("fast", "degreed.completions"), N);
  assert_int_equal(lb_client_pending(c), 0);
  lb_client_destroy(c);
  for (int i = 0; i < N; i++)
    lb_request_list_release(&plans[i]);
}

static void test_token_expiring_mid_run(void **state)
{
  (void)state;
  enum { N = 100 };
  static lb_request_list plans[2 * N];
  tally t = {0};
  lb_client *c = lb_client_new(&cfg, &(lb_client_options){.seed = 2});
  for (int i = 0; i < N; i++) {
    completion_plan(&plans[i], &cfg.integrations[EXPIRING], i, 1);
    lb_client_deliver(c, EXPIRING, &plans[i], NULL, 0, 0, on_done, &t, NULL);
  }
  run_until(c, &t, N, 30000);
  /* the LMS expires the token while the client still thinks it good */
  lb_test_post_json(&lms, "/_sandbox/tokens/expire?tenant=expiring", "");
  for (int i = N; i < 2 * N; i++) {
    completion_plan(&plans[i], &cfg.integrations[EXPIRING], i, 2);
    lb_client_deliver(c, EXPIRING, &plans[i], NULL, 0, 0, on_done, &t, NULL);
  }
  run_until(c, &t, 2 * N, 30000);
  assert_int_equal(t.count[LB_DELIVERY_SUCCESS], 2 * N);
  assert_int_equal(t.max_attempts, 0); /* a 401 is not a failed attempt */
  assert_int_equal(lb_client_token_fetches(c, EXPIRING, true), 2);
  assert_int_equal(state_count("expiring", "degreed.tokens_issued"), 2);
  lb_client_destroy(c);
  for (int i = 0; i < 2 * N; i++)
    lb_request_list_release(&plans[i]);
}

/* Reads the sandbox log of a tenant: arrival (ms since epoch), end, status. */
typedef struct {
  int64_t start_ms, end_ms;
  int status;
  int retry_after;
} logged;

static size_t read_log(const char *tenant_name, logged *out, size_t cap)
{
  char path[256];
  snprintf(path, sizeof(path), "/_sandbox/requests?tenant=%s&since=0", tenant_name);
  json_object *log = lb_test_get_json(&lms, path);
  json_object *reqs = lb_test_dig(log, "requests");
  size_t n = json_object_array_length(reqs);
  size_t kept = 0;
  for (size_t i = 0; i < n && kept < cap; i++) {
    json_object *e = json_object_array_get_idx(reqs, i);
    json_object *ts = lb_test_dig(e, "timestamp"), *dur = lb_test_dig(e, "duration_ms"),
                *st = lb_test_dig(e, "status"), *p = lb_test_dig(e, "path");
    if (strstr(json_object_get_string(p), "oauth"))
      continue;
    int64_t start = 0;
    assert_int_equal(lb_time_parse_rfc3339(json_object_get_string(ts), &start), LB_E_OK);
    out[kept].start_ms = start;
    out[kept].end_ms = start + (int64_t)json_object_get_double(dur);
    out[kept].status = json_object_get_int(st);
    kept++;
  }
  json_object_put(log);
  return kept;
}

static void test_429_storm_obeyed(void **state)
{
  (void)state;
  enum { N = 40 };
  static lb_request_list plans[N];
  static logged entries[4 * N];
  tally t = {0};
  /* the LMS allows 10 requests per 2-second window; the client is not told */
  lb_test_post_json(&lms, "/_sandbox/faults",
                    "{\"tenant\":\"throttled\",\"rate_limit\":{\"limit\":10,\"window_s\":2}}");
  lb_client *c = lb_client_new(&cfg, &(lb_client_options){.seed = 3});
  for (int i = 0; i < N; i++) {
    completion_plan(&plans[i], &cfg.integrations[THROTTLED], i, 3);
    lb_client_deliver(c, THROTTLED, &plans[i], NULL, 0, 0, on_done, &t, NULL);
  }
  run_until(c, &t, N, 60000);
  assert_int_equal(t.count[LB_DELIVERY_SUCCESS], N);
  size_t n = read_log("throttled", entries, 4 * N);
  int throttled = 0;
  for (size_t i = 0; i < n; i++) {
    if (entries[i].status != 429)
      continue;
    throttled++;
    /* nothing arrives after this 429 was answered and before the window
     * reset it announced (at most 2 s later); requests already on the wire
     * (at most max_in_flight = 4) may arrive right after it */
    int late = 0;
    for (size_t k = 0; k < n; k++)
      if (entries[k].start_ms > entries[i].end_ms + 50 &&
          entries[k].start_ms < entries[i].end_ms + 900)
        late++;
    if (late)
      fail_msg("%d requests sent inside the Retry-After of a 429", late);
  }
  /* the X-Rate-Limit-Remaining header keeps 429s rare: at most the
   * requests on the wire when a window ran out */
  assert_true(throttled <= 4 * (N / 10 + 1));
  assert_int_equal(state_count("throttled", "degreed.completions"), N);
  lb_client_destroy(c);
  for (int i = 0; i < N; i++)
    lb_request_list_release(&plans[i]);
}

static void test_outage_does_not_slow_a_healthy_tenant(void **state)
{
  (void)state;
  enum { N = 200 };
  static lb_request_list down[N], healthy[N];
  tally td = {0}, th = {0};
  lb_test_post_json(&lms, "/_sandbox/faults", "{\"tenant\":\"down\",\"outage\":{\"seconds\":3600}}");
  lb_client *c = lb_client_new(&cfg, &(lb_client_options){.seed = 4});
  /* the failing tenant's deliveries go first, all of them */
  for (int i = 0; i < N; i++) {
    completion_plan(&down[i], &cfg.integrations[DOWN], i, 4);
    lb_client_deliver(c, DOWN, &down[i], NULL, 0, 0, on_done, &td, NULL);
  }
  for (int i = 0; i < N; i++) {
    completion_plan(&healthy[i], &cfg.integrations[HEALTHY], i, 4);
    lb_client_deliver(c, HEALTHY, &healthy[i], NULL, 0, 0, on_done, &th, NULL);
  }
  run_until(c, &th, N, 30000);
  /* every healthy delivery done while every failing one still waits out
   * its 503 back-off (30 s at least): none waited behind the other */
  assert_int_equal(th.count[LB_DELIVERY_SUCCESS], N);
  assert_int_equal(td.done, 0);
  assert_int_equal(lb_client_pending(c), N);
  assert_int_equal(state_count("healthy", "degreed.completions"), N);
  lb_client_destroy(c); /* drops the waiting ones without callbacks */

  /* with parking, the failing tenant's deliveries come back at once */
  tally tp = {0};
  c = lb_client_new(&cfg, &(lb_client_options){.seed = 5, .park_after_ms = 5000});
  int64_t before = lb_time_now_ms();
  for (int i = 0; i < N; i++)
    lb_client_deliver(c, DOWN, &down[i], NULL, 0, 0, on_done, &tp, NULL);
  run_until(c, &tp, N, 30000);
  /* the outage covers the token endpoint too: token fetches back off
   * (1, 2, 4 s) until the wait passes park_after_ms, then all park */
  assert_int_equal(tp.count[LB_DELIVERY_PARK], N);
  assert_true(tp.not_before_ms >= before + 5000);
  assert_true(tp.max_attempts >= 1 && tp.max_attempts <= 4);
  assert_non_null(strstr(tp.reason, "503"));
  lb_client_destroy(c);
  for (int i = 0; i < N; i++) {
    lb_request_list_release(&down[i]);
    lb_request_list_release(&healthy[i]);
  }
}

static void catalog_plan(lb_request_list *l, const char *event_type, const char *type,
                         const char *id, const char *title)
{
  char buf[1024], err[128];
  lb_catalog_event ev;
  snprintf(buf, sizeof(buf),
           "{\"schema\":\"catalog.v1\",\"event_id\":\"e\",\"event_type\":\"%s\","
           "\"occurred_at\":\"2026-01-02T03:04:05Z\",\"version\":1,\"content\":{\"id\":\"%s\","
           "\"type\":\"%s\",\"title\":\"%s\",\"description\":\"d\","
           "\"url\":\"https://x.example/%s/%s\",\"duration_hours\":1}}",
           event_type, id, type, title, type, id);
  assert_int_equal(lb_catalog_event_parse(&ev, buf, strlen(buf), err, sizeof(err)), LB_E_OK);
  lb_request_list_init(l);
  assert_int_equal(lb_map_degreed_content(&ev, &cfg.integrations[CHAIN], &cfg.provider, l), LB_E_OK);
  lb_catalog_event_release(&ev);
}

/* The methods the sandbox saw for tenant chain since `since`, "POST,GET,PATCH". */
static void methods_since(int since, char *out, size_t len, int *last_seq)
{
  char path[128];
  snprintf(path, sizeof(path), "/_sandbox/requests?tenant=chain&since=%d", since);
  json_object *log = lb_test_get_json(&lms, path);
  json_object *reqs = lb_test_dig(log, "requests");
  out[0] = '\0';
  for (size_t i = 0; i < json_object_array_length(reqs); i++) {
    json_object *e = json_object_array_get_idx(reqs, i);
    const char *p = json_object_get_string(lb_test_dig(e, "path"));
    *last_seq = json_object_get_int(lb_test_dig(e, "seq"));
    if (strstr(p, "oauth"))
      continue;
    snprintf(out + strlen(out), len - strlen(out), "%s%s %d", *out ? "," : "",
             json_object_get_string(lb_test_dig(e, "method")),
             json_object_get_int(lb_test_dig(e, "status")));
  }
  json_object_put(log);
}

static void deliver_one(lb_client *c, size_t index, lb_request_list *l,
                        const char *known_id, tally *t)
{
  memset(t, 0, sizeof(*t));
  assert_int_equal(lb_client_deliver(c, index, l, known_id, 0, 0, on_done, t, NULL), LB_E_OK);
  run_until(c, t, 1, 20000);
}

static void test_degreed_chain(void **state)
{
  (void)state;
  char seen[256], first_id[64];
  int seq = 0;
  tally t;
  lb_request_list l;
  lb_client *c = lb_client_new(&cfg, &(lb_client_options){.seed = 6});

  /* new item: created, its Degreed id learned */
  catalog_plan(&l, "content.upserted", "course", "1", "One");
  deliver_one(c, CHAIN, &l, NULL, &t);
  assert_int_equal(t.count[LB_DELIVERY_SUCCESS], 1);
  assert_int_equal(strlen(t.lms_id), 7);
  snprintf(first_id, sizeof(first_id), "%s", t.lms_id);
  methods_since(seq, seen, sizeof(seen), &seq);
  assert_string_equal(seen, "POST 201");

  /* the same item again, id unknown: 409, look up, update */
  deliver_one(c, CHAIN, &l, NULL, &t);
  assert_int_equal(t.count[LB_DELIVERY_SUCCESS], 1);
  assert_string_equal(t.lms_id, first_id);
  methods_since(seq, seen, sizeof(seen), &seq);
  assert_string_equal(seen, "POST 409,GET 200,PATCH 200");

  /* id known: straight to the update */
  deliver_one(c, CHAIN, &l, first_id, &t);
  assert_int_equal(t.count[LB_DELIVERY_SUCCESS], 1);
  methods_since(seq, seen, sizeof(seen), &seq);
  assert_string_equal(seen, "PATCH 200");

  /* a remembered id the LMS no longer knows: 404, look up, update */
  deliver_one(c, CHAIN, &l, "Zz9Zz9Z", &t);
  assert_int_equal(t.count[LB_DELIVERY_SUCCESS], 1);
  assert_string_equal(t.lms_id, first_id);
  methods_since(seq, seen, sizeof(seen), &seq);
  assert_string_equal(seen, "PATCH 404,GET 200,PATCH 200");
  lb_request_list_release(&l);

  /* archive: look up, PATCH obsolete */
  catalog_plan(&l, "content.archived", "course", "1", "One");
  deliver_one(c, CHAIN, &l, NULL, &t);
  assert_int_equal(t.count[LB_DELIVERY_SUCCESS], 1);
  methods_since(seq, seen, sizeof(seen), &seq);
  assert_string_equal(seen, "GET 200,PATCH 200");
  json_object *st = lb_test_get_json(&lms, "/_sandbox/state?tenant=chain");
  json_object *course = json_object_array_get_idx(lb_test_dig(st, "tenants.chain.degreed.courses"), 0);
  assert_true(json_object_get_boolean(lb_test_dig(course, "attributes.obsolete")));
  assert_string_equal(json_object_get_string(lb_test_dig(course, "attributes.title")), "One - Course");
  json_object_put(st);
  lb_request_list_release(&l);

  /* archive of an item the LMS never had: nothing to do */
  catalog_plan(&l, "content.archived", "course", "404", "Never");
  deliver_one(c, CHAIN, &l, NULL, &t);
  assert_int_equal(t.count[LB_DELIVERY_SUCCESS], 1);
  assert_non_null(strstr(t.reason, "not in the LMS"));
  methods_since(seq, seen, sizeof(seen), &seq);
  assert_string_equal(seen, "GET 200");
  lb_request_list_release(&l);

  /* assessments go to content/assessments */
  catalog_plan(&l, "content.upserted", "assessment", "a1", "Quiz");
  deliver_one(c, CHAIN, &l, NULL, &t);
  assert_int_equal(t.count[LB_DELIVERY_SUCCESS], 1);
  assert_int_equal(state_count("chain", "degreed.assessments"), 1);
  lb_request_list_release(&l);
  lb_client_destroy(c);
}

static void test_permanent_and_auth_failures(void **state)
{
  (void)state;
  tally t;
  lb_request_list l;
  lb_client *c = lb_client_new(&cfg, &(lb_client_options){.seed = 7});

  /* a learner the LMS does not know: permanent, with Degreed's message */
  completion_plan(&l, &cfg.integrations[STRICT], 99, 1);
  deliver_one(c, STRICT, &l, NULL, &t);
  assert_int_equal(t.count[LB_DELIVERY_PERMANENT], 1);
  assert_int_equal(t.http_status, 400);
  assert_non_null(strstr(t.body, "Invalid user identifier: u99@x.example"));
  assert_int_equal(t.max_attempts, 1); /* the one failed attempt, counted */
  lb_request_list_release(&l);

  /* a wrong client secret: the token request is refused (403), retried
   * with back-off, then the delivery ends as an auth failure */
  completion_plan(&l, &cfg.integrations[WRONG], 1, 1);
  deliver_one(c, WRONG, &l, NULL, &t);
  assert_int_equal(t.count[LB_DELIVERY_AUTH], 1);
  assert_int_equal(t.max_attempts, 4);
  assert_non_null(strstr(t.reason, "403"));
  assert_true(lb_client_token_fetches(c, WRONG, false) >= 2);
  assert_int_equal(lb_client_token_fetches(c, WRONG, true), 0);
  lb_request_list_release(&l);
  lb_client_destroy(c);
}

static void test_retries_until_success(void **state)
{
  (void)state;
  enum { N = 40 };
  static lb_request_list plans[N];
  tally t = {0};
  /* every other request fails with a 500, or the connection is reset */
  lb_test_post_json(&lms, "/_sandbox/faults",
                    "{\"tenant\":\"flaky\",\"error_rate\":{\"rate\":0.3,\"status\":500,"
                    "\"api\":\"degreed\",\"mode\":\"spread\"},"
                    "\"connection_reset\":{\"rate\":0.2,\"api\":\"degreed\",\"mode\":\"spread\"}}");
  lb_client *c = lb_client_new(&cfg, &(lb_client_options){.seed = 8});
  for (int i = 0; i < N; i++) {
    completion_plan(&plans[i], &cfg.integrations[FLAKY], i, 9);
    lb_client_deliver(c, FLAKY, &plans[i], NULL, 0, 0, on_done, &t, NULL);
  }
  run_until(c, &t, N, 60000);
  /* 4 attempts at 50% failure: a few may exhaust; most succeed */
  assert_int_equal(t.count[LB_DELIVERY_SUCCESS] + t.count[LB_DELIVERY_EXHAUSTED], N);
  assert_true(t.count[LB_DELIVERY_SUCCESS] >= N * 3 / 4);
  assert_true(t.max_attempts >= 1);
  assert_int_equal(state_count("flaky", "degreed.completions"), t.count[LB_DELIVERY_SUCCESS]);
  lb_client_destroy(c);
  for (int i = 0; i < N; i++)
    lb_request_list_release(&plans[i]);
}

static void test_successfactors(void **state)
{
  (void)state;
  tally t;
  lb_request_list courses, event;
  char err[128], *batch = NULL;
  lb_catalog_event ce;
  lb_completion_event ev;
  const char *skip = NULL;
  lb_client *c = lb_client_new(&cfg, &(lb_client_options){.seed = 9});
  const char *cat =
      "{\"schema\":\"catalog.v1\",\"event_id\":\"e\",\"event_type\":\"content.upserted\","
      "\"occurred_at\":\"2026-01-02T03:04:05Z\",\"version\":1,\"content\":{\"id\":\"7\","
      "\"type\":\"course\",\"title\":\"Seven\",\"description\":\"d\",\"url\":\"https://x.example/7\"}}";
  assert_int_equal(lb_catalog_event_parse(&ce, cat, strlen(cat), err, sizeof(err)), LB_E_OK);
  lb_request_list_init(&courses);
  assert_int_equal(lb_map_ocn_course(&ce, &cfg.integrations[SF], &cfg.provider, &courses), LB_E_OK);
  /* a batch of one, as the catalog worker would send it */
  const char *items[] = {courses.items[0].body};
  assert_int_equal(lb_map_ocn_batch(items, 1, &batch), LB_E_OK);
  free(courses.items[0].body);
  courses.items[0].body = batch;
  deliver_one(c, SF, &courses, NULL, &t);
  assert_int_equal(t.count[LB_DELIVERY_SUCCESS], 1);

  const char *comp =
      "{\"schema\":\"completion.v1\",\"event_id\":\"c\",\"occurred_at\":\"2026-01-02T03:04:05Z\","
      "\"organization_id\":\"sf\",\"user\":{\"id\":\"1\",\"sso_nameid\":\"LEARNER1\"},"
      "\"content\":{\"id\":\"7\",\"type\":\"course\"},\"completed_at\":\"2026-01-02T03:04:05Z\"}";
  assert_int_equal(lb_completion_event_parse(&ev, comp, strlen(comp), err, sizeof(err)), LB_E_OK);
  lb_request_list_init(&event);
  assert_int_equal(lb_map_ocn_learning_event(&ev, &cfg.integrations[SF], &cfg.provider,
                                             lb_time_now_ms(), &event, &skip), LB_E_OK);
  /* the SAP token expires on the server: "The token has expired." body,
   * a new token, the request once more */
  lb_test_post_json(&lms, "/_sandbox/tokens/expire?tenant=sf", "");
  deliver_one(c, SF, &event, NULL, &t);
  assert_int_equal(t.count[LB_DELIVERY_SUCCESS], 1);
  assert_int_equal(lb_client_token_fetches(c, SF, true), 2);
  assert_int_equal(state_count("sf", "sf.learning_events"), 1);
  assert_int_equal(state_count("sf", "sf.ocn_courses"), 1);

  lb_request_list_release(&courses);
  lb_request_list_release(&event);
  lb_catalog_event_release(&ce);
  lb_completion_event_release(&ev);
  lb_client_destroy(c);
}

static void test_cancel(void **state)
{
  (void)state;
  tally t = {0};
  lb_request_list l;
  lb_test_post_json(&lms, "/_sandbox/faults", "{\"tenant\":\"down\",\"outage\":{\"seconds\":3600}}");
  lb_client *c = lb_client_new(&cfg, &(lb_client_options){.seed = 10});
  completion_plan(&l, &cfg.integrations[DOWN], 1, 1);
  uint64_t h = 0;
  lb_client_deliver(c, DOWN, &l, NULL, 0, 0, on_done, &t, &h);
  run_for(c, 500); /* it failed once and waits out its back-off */
  assert_int_equal(t.done, 0);
  lb_client_cancel(c, h);
  run_until(c, &t, 1, 2000);
  assert_int_equal(t.count[LB_DELIVERY_CANCELLED], 1);
  assert_int_equal(lb_client_pending(c), 0);
  lb_client_destroy(c);
  lb_request_list_release(&l);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_thousand_requests_one_token),
    cmocka_unit_test(test_token_expiring_mid_run),
    cmocka_unit_test(test_429_storm_obeyed),
    cmocka_unit_test(test_outage_does_not_slow_a_healthy_tenant),
    cmocka_unit_test(test_degreed_chain),
    cmocka_unit_test(test_permanent_and_auth_failures),
    cmocka_unit_test(test_retries_until_success),
    cmocka_unit_test(test_successfactors),
    cmocka_unit_test(test_cancel),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
