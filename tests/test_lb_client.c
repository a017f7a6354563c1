/* lb_client against lms-sandbox: tokens (one fetch for many requests and
 * their waiters, one more after expiry, refreshed before they expire, a 401
 * retried once), concurrency shown from the sandbox's request log, 429
 * storms obeyed (no request before Retry-After, X-Rate-Limit-* headers
 * heeded), an outage isolated from a healthy tenant, the Degreed
 * create/409/lookup/update chain, permanent, auth and exhausted failures,
 * retries, SuccessFactors, and no secret or token in the logs or in the
 * program's own output.
 *
 * Linked with --wrap=lb_log_add_secret and --wrap=lb_json_parse (see
 * tests/CMakeLists.txt): the wrappers below see every access token the
 * sandbox hands out and every value registered for redaction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lb_client.h"
#include "lb_config.h"
#include "lb_http.h"
#include "lb_json.h"
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

/* ---- secrets the client handled, seen through the linker wraps ---- */

#define MAX_SEEN 4096
typedef struct {
  char *v[MAX_SEEN];
  size_t n;
  bool overflow; /* more than MAX_SEEN: the secret test fails */
} seen_list;
static seen_list seen_access;     /* access_token values in token responses */
static seen_list seen_refresh;    /* refresh_token values */
static seen_list seen_registered; /* passed to lb_log_add_secret */

static void seen_add(seen_list *l, const char *v)
{
  for (size_t i = 0; i < l->n; i++)
    if (strcmp(l->v[i], v) == 0)
      return;
  if (l->n < MAX_SEEN)
    l->v[l->n++] = strdup(v);
  else
    l->overflow = true;
}

static bool seen_has(const seen_list *l, const char *v)
{
  for (size_t i = 0; i < l->n; i++)
    if (strcmp(l->v[i], v) == 0)
      return true;
  return false;
}

static void seen_clear(seen_list *l)
{
  for (size_t i = 0; i < l->n; i++)
    free(l->v[i]);
  l->n = 0;
  l->overflow = false;
}

void __real_lb_log_add_secret(const char *secret);
void __wrap_lb_log_add_secret(const char *secret);
void __wrap_lb_log_add_secret(const char *secret)
{
  if (secret)
    seen_add(&seen_registered, secret);
  __real_lb_log_add_secret(secret);
}

/* Every JSON body lb_common parses: token responses among them. */
lb_err __real_lb_json_parse(const char *buf, size_t len, json_object **ret, char *err,
                            size_t errlen);
lb_err __wrap_lb_json_parse(const char *buf, size_t len, json_object **ret, char *err,
                            size_t errlen);
lb_err __wrap_lb_json_parse(const char *buf, size_t len, json_object **ret, char *err,
                            size_t errlen)
{
  lb_err rc = __real_lb_json_parse(buf, len, ret, err, errlen);
  json_object *v;
  if (rc == LB_E_OK && json_object_is_type(*ret, json_type_object)) {
    if (json_object_object_get_ex(*ret, "access_token", &v) &&
        json_object_is_type(v, json_type_string))
      seen_add(&seen_access, json_object_get_string(v));
    if (json_object_object_get_ex(*ret, "refresh_token", &v) &&
        json_object_is_type(v, json_type_string))
      seen_add(&seen_refresh, json_object_get_string(v));
  }
  return rc;
}

/* The program's own stdout and stderr go to a file while the tests run;
 * the last test scans it, and it is copied back (secrets masked). */
static int saved_stdout = -1, saved_stderr = -1;
static char output_path[300];

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

/* A Degreed integration; `rate`: its rate_limit_per_minute (0: none). */
static const char *integration(const char *id, const char *tenant_name, const char *secret_env,
                               const char *in_flight, const char *rate)
{
  static char buf[1024];
  snprintf(buf, sizeof(buf),
           "{ id = \"%s\"; type = \"degreed\"; organization = \"%s\";"
           " api_base_url = \"%s/t/%s\"; token_url = \"%s/t/%s/oauth/token\";"
           " client_id = \"%s-id\"; client_secret = \"@env:%s\";"
           " scopes = \"content:read,content:write,completions:write,skill_ratings:write\";"
           " rate_limit_per_minute = %s; max_in_flight = %s; }",
           id, tenant_name, lms.base_url, tenant_name, lms.base_url, tenant_name, tenant_name,
           secret_env, rate, in_flight);
  return buf;
}

/* Integration indexes in the configuration below. */
enum {
  FAST,
  EXPIRING,
  THROTTLED,
  DOWN,
  HEALTHY,
  CHAIN,
  STRICT,
  WRONG,
  FLAKY,
  LIMITED,  /* the LMS limits it; the client's own bucket is generous */
  PACED,    /* tokens that last 5 s */
  SPACED,   /* one request at a time; some answered 429 with Retry-After */
  UNAUTH,   /* tokens are issued, every API call answers 401 */
  BROKEN,   /* every API call answers 500 */
  SLOW,     /* answers after 8 s; may hold every slot but 3/4's share */
  BARE429,  /* one request at a time; 429s without Retry-After */
  QUEUED,   /* the client's own bucket: 60 a minute */
  WIREFAIL, /* answers 500, slowly (a fault set by its test) */
  SF
};

static int setup(void **state)
{
  (void)state;
  char tenants[8192], conf[16384], errors_path[300];
  char *errors = NULL;

  curl_global_init(CURL_GLOBAL_DEFAULT);
  snprintf(tenants, sizeof(tenants), "{\"tenants\":[");
  const char *specs[][3] = {
    { "fast", SECRET_FAST, "" },
    { "expiring", SECRET_FAST, "" },
    { "throttled", SECRET_FAST, "" },
    { "down", SECRET_OTHER, "" },
    { "healthy", SECRET_FAST, "" },
    { "chain", SECRET_FAST, "" },
    { "strict", SECRET_FAST, ",\"users\":[\"ann@strict.example\"]" },
    { "flaky", SECRET_FAST, "" },
    { "limited", SECRET_FAST, "" },
    { "paced", SECRET_FAST, ",\"token_expires_in\":5" },
    { "spaced", SECRET_FAST, "" },
    { "unauth", SECRET_FAST, "" },
    { "broken", SECRET_FAST, "" },
    { "slow", SECRET_FAST, "" },
    { "bare429", SECRET_FAST, "" },
    { "queued", SECRET_FAST, "" },
    { "wirefail", SECRET_FAST, "" },
  };
  for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
    snprintf(tenants + strlen(tenants), sizeof(tenants) - strlen(tenants), "%s%s", i ? "," : "",
             tenant(specs[i][0], specs[i][1], specs[i][2]));
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
  const char *names[][5] = {
    { "fast", "fast", "T_FAST", "200", "0" },
    { "expiring", "expiring", "T_FAST", "200", "0" },
    { "throttled", "throttled", "T_FAST", "4", "0" },
    { "down", "down", "T_OTHER", "200", "0" },
    { "healthy", "healthy", "T_FAST", "200", "0" },
    { "chain", "chain", "T_FAST", "200", "0" },
    { "strict", "strict", "T_FAST", "200", "0" },
    { "wrong", "fast", "T_WRONG", "200", "0" },
    { "flaky", "flaky", "T_FAST", "200", "0" },
    { "limited", "limited", "T_FAST", "1", "600000" },
    { "paced", "paced", "T_FAST", "200", "0" },
    { "spaced", "spaced", "T_FAST", "1", "0" },
    { "unauth", "unauth", "T_FAST", "200", "0" },
    { "broken", "broken", "T_FAST", "200", "0" },
    { "slow", "slow", "T_FAST", "200", "0" },
    { "bare429", "bare429", "T_FAST", "1", "0" },
    { "queued", "queued", "T_FAST", "200", "60" },
    { "wirefail", "wirefail", "T_FAST", "200", "0" },
  };
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    snprintf(conf + strlen(conf), sizeof(conf) - strlen(conf), "%s,\n",
             integration(names[i][0], names[i][1], names[i][2], names[i][3], names[i][4]));
  snprintf(conf + strlen(conf), sizeof(conf) - strlen(conf),
           "{ id = \"sf\"; type = \"successfactors\"; organization = \"sf\";"
           " base_url = \"%s/t/sf\"; company_id = \"SFCO\"; admin_user = \"ocn_admin\";"
           " client_id = \"SFCO\"; client_secret = \"@env:T_SF\"; }\n);\n",
           lms.base_url);
  const char *path = lb_test_write_file(lms.dir, "client.conf", conf);
  lb_config_defaults d = { .worker = "test", .default_topic = "t", .default_scopes = "x" };
  if (lb_config_load(&cfg, path, &d, &errors) != LB_E_OK) {
    lb_test_lms_stop(&lms);
    fail_msg("%s", errors);
  }

  /* Every log line of the client goes to a file we check for secrets. */
  snprintf(errors_path, sizeof(errors_path), "%s/client.log", lms.dir);
  log_file = fopen(errors_path, "w+");
  lb_log_set_stream(log_file);
  lb_log_set_level(LB_LOG_DEBUG);

  /* From here on the program's own output goes to a file too (the
   * sandbox, started above, keeps the original stderr). */
  snprintf(output_path, sizeof(output_path), "%s/output.txt", lms.dir);
  /* said first: after a crash (no teardown copies it back) this is where
   * the program's own output is */
  fprintf(stderr, "test_lb_client: output until the end of the run in %s\n", output_path);
  fflush(stdout);
  fflush(stderr);
  int out = open(output_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  saved_stdout = dup(1);
  saved_stderr = dup(2);
  if (out < 0 || saved_stdout < 0 || saved_stderr < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
    fail_msg("cannot capture the output in %s", output_path);
  close(out);
  return 0;
}

/* What must never be written: the client secrets, the tokens the sandbox
 * issued, Authorization headers. */
static const char *const fixed_secrets[] = { SECRET_FAST, SECRET_OTHER, SECRET_SF, "Bearer",
                                             "Authorization" };

/* Fails when line `lineno` of the `what` holds one of them (the message
 * does not repeat it). */
static void check_no_secret(const char *what, int lineno, const char *text)
{
  for (size_t i = 0; i < sizeof(fixed_secrets) / sizeof(fixed_secrets[0]); i++)
    if (strstr(text, fixed_secrets[i]))
      fail_msg("secret %zu of the test in the %s, line %d", i, what, lineno);
  for (size_t i = 0; i < seen_access.n; i++)
    if (strstr(text, seen_access.v[i]))
      fail_msg("an access token issued by the sandbox in the %s, line %d", what, lineno);
  for (size_t i = 0; i < seen_refresh.n; i++)
    if (strstr(text, seen_refresh.v[i]))
      fail_msg("a refresh token issued by the sandbox in the %s, line %d", what, lineno);
}

/* Overwrites every occurrence of `needle` in `text` with '*'. */
static void mask(char *text, const char *needle)
{
  size_t n = strlen(needle);
  for (char *p = text; n && (p = strstr(p, needle)); p += n)
    memset(p, '*', n);
}

/* Copies a captured line to stdout with every secret masked, so a leak
 * fails the test without being shown again. */
static void echo_masked(char *line)
{
  for (size_t i = 0; i < 3; i++) /* the client secrets */
    mask(line, fixed_secrets[i]);
  for (size_t i = 0; i < seen_access.n; i++)
    mask(line, seen_access.v[i]);
  for (size_t i = 0; i < seen_refresh.n; i++)
    mask(line, seen_refresh.v[i]);
  fputs(line, stdout);
}

/* The program's output back on its own stdout and stderr, and the
 * captured copy shown there. Once only. */
static void restore_output(void)
{
  char line[8192];
  if (saved_stdout < 0)
    return;
  fflush(stdout);
  fflush(stderr);
  dup2(saved_stdout, 1);
  dup2(saved_stderr, 2);
  close(saved_stdout);
  close(saved_stderr);
  saved_stdout = saved_stderr = -1;
  FILE *out = fopen(output_path, "r");
  while (out && fgets(line, sizeof(line), out))
    echo_masked(line);
  if (out)
    fclose(out);
}

/* Only cleanup here: cmocka 1.1 reports a failing group teardown but does
 * not count it in the exit status, so the checks are a test of their own
 * (test_no_secret_logged_or_printed, the last one). */
static int teardown(void **state)
{
  (void)state;
  restore_output();
  lb_log_set_stream(NULL);
  fclose(log_file);
  lb_config_release(&cfg);
  lb_log_clear_secrets();
  lb_test_lms_stop(&lms);
  curl_global_cleanup();
  seen_clear(&seen_access);
  seen_clear(&seen_refresh);
  seen_clear(&seen_registered);
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
  int64_t first_failure_ms, last_failure_ms;
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
  t->first_failure_ms = r->first_failure_ms;
  t->last_failure_ms = r->last_failure_ms;
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
  int n = !v                                        ? -1
          : json_object_is_type(v, json_type_array) ? (int)json_object_array_length(v)
                                                    : json_object_get_int(v);
  json_object_put(st);
  return n;
}

/* One entry of the sandbox's request log: arrival (wall ms), end (arrival
 * + duration), status (0: none), whether it was a token request, the
 * number of the token it carried ("Bearer token#<n>", else 0) and the
 * learner of a completion body (else ""). */
typedef struct {
  int64_t start_ms, end_ms;
  int status;
  bool token;
  long token_no;
  char user[48];
} logged;

/* The log of a tenant in completion order: API requests, and token
 * requests too when `with_tokens`. */
static size_t read_log_full(const char *tenant_name, logged *out, size_t cap, bool with_tokens)
{
  char path[256];
  snprintf(path, sizeof(path), "/_sandbox/requests?tenant=%s&since=0", tenant_name);
  json_object *log = lb_test_get_json(&lms, path);
  json_object *reqs = lb_test_dig(log, "requests");
  size_t n = json_object_array_length(reqs);
  size_t kept = 0;
  for (size_t i = 0; i < n; i++) {
    json_object *e = json_object_array_get_idx(reqs, i);
    json_object *ts = lb_test_dig(e, "timestamp"), *dur = lb_test_dig(e, "duration_ms"),
                *st = lb_test_dig(e, "status"), *p = lb_test_dig(e, "path"),
                *auth = lb_test_dig(e, "headers.Authorization"),
                *user = lb_test_dig(e, "body.data.attributes.user-id");
    bool token = strstr(json_object_get_string(p), "oauth") != NULL;
    if (token && !with_tokens)
      continue;
    if (kept == cap)
      fail_msg("more than %zu requests logged for %s", cap, tenant_name);
    logged *l = &out[kept++];
    memset(l, 0, sizeof(*l));
    assert_int_equal(lb_time_parse_rfc3339(json_object_get_string(ts), &l->start_ms), LB_E_OK);
    l->end_ms = l->start_ms + (int64_t)json_object_get_double(dur);
    l->status = json_object_get_int(st);
    l->token = token;
    const char *a = auth ? json_object_get_string(auth) : "";
    if (strncmp(a, "Bearer token#", 13) == 0)
      l->token_no = strtol(a + 13, NULL, 10);
    snprintf(l->user, sizeof(l->user), "%s", user ? json_object_get_string(user) : "");
  }
  json_object_put(log);
  return kept;
}

static size_t read_log(const char *tenant_name, logged *out, size_t cap)
{
  return read_log_full(tenant_name, out, cap, false);
}

static int by_start(const void *a, const void *b)
{
  const logged *x = a, *y = b;
  return x->start_ms < y->start_ms ? -1 : x->start_ms > y->start_ms;
}

static int cmp_i64(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* The most requests the sandbox held at once: arrivals +1, ends -1 (an end
 * in the same millisecond as an arrival counted first). */
static int peak_overlap(const logged *e, size_t n)
{
  int64_t *ev = malloc(2 * n * sizeof(*ev));
  assert_non_null(ev);
  for (size_t i = 0; i < n; i++) {
    ev[2 * i] = e[i].start_ms * 2 + 1; /* odd: arrival */
    ev[2 * i + 1] = e[i].end_ms * 2;   /* even: end, sorts first */
  }
  qsort(ev, 2 * n, sizeof(*ev), cmp_i64);
  int cur = 0, peak = 0;
  for (size_t i = 0; i < 2 * n; i++) {
    cur += (ev[i] & 1) ? 1 : -1;
    if (cur > peak)
      peak = cur;
  }
  free(ev);
  return peak;
}

/* ---- tests ---- */

static void test_thousand_requests_one_token(void **state)
{
  (void)state;
  enum { N = 1000, WAVES = 5, LATENCY_MS = 300 };
  static lb_request_list plans[N];
  static logged entries[N + 8];
  char url[256];
  tally t = { 0 };
  /* every request of the tenant, the token request too, is held 300 ms */
  lb_test_post_json(&lms, "/_sandbox/faults",
                    "{\"tenant\":\"fast\",\"latency\":{\"ms\":300,\"api\":\"all\"}}");
  lb_client *c = lb_client_new(&cfg, &(lb_client_options){ .seed = 1 });
  assert_non_null(c);
  /* the deliveries come in waves while the one token fetch is on its way:
   * each wave finds the fetch in flight and waits for it */
  for (int w = 0; w < WAVES; w++) {
    for (int i = w * (N / WAVES); i < (w + 1) * (N / WAVES); i++) {
      completion_plan(&plans[i], &cfg.integrations[FAST], i, i % 7);
      assert_int_equal(lb_client_deliver(c, FAST, &plans[i], NULL, 0, 0, on_done, &t, NULL),
                       LB_E_OK);
    }
    lb_client_run(c, 5, -1);
  }
  assert_int_equal(lb_client_token_fetches(c, FAST, true), 0); /* still on its way */
  assert_int_equal(lb_client_token_fetches(c, FAST, false), 0);
  assert_int_equal(lb_client_pending(c), N);
  run_until(c, &t, N, 60000);
  assert_int_equal(t.count[LB_DELIVERY_SUCCESS], N);
  assert_int_equal(lb_client_token_fetches(c, FAST, true), 1);
  assert_int_equal(state_count("fast", "degreed.tokens_issued"), 1);
  assert_int_equal(state_count("fast", "degreed.completions"), N);
  assert_int_equal(lb_client_pending(c), 0);
  lb_client_destroy(c);
  snprintf(url, sizeof(url), "%s/_sandbox/faults?tenant=fast", lms.base_url);
  lb_test_http("DELETE", url, NULL, NULL);

  /* one token request, and it was the slow one the waves waited for */
  size_t n = read_log_full("fast", entries, N + 8, true), tokens = 0;
  for (size_t i = 0; i < n; i++)
    if (entries[i].token) {
      tokens++;
      assert_true(entries[i].end_ms - entries[i].start_ms >= LATENCY_MS);
    }
  assert_int_equal(tokens, 1);
  /* One request per delivery, and they were on the wire together: at
   * 300 ms each, one at a time would take 300 s; the sandbox held at
   * least 100 at once (the lane's share when several integrations use the
   * client is 3/4 of delivery.max_in_flight = 150; 100 leaves room for a
   * slow machine) and never more than delivery.max_in_flight (+1: the
   * log's millisecond rounding). */
  n = read_log("fast", entries, N + 8);
  assert_int_equal(n, N);
  int peak = peak_overlap(entries, n);
  if (peak < 100 || peak > cfg.delivery.max_in_flight + 1)
    fail_msg("%d requests in flight together at most, not 100 to %d", peak,
             cfg.delivery.max_in_flight);
  for (int i = 0; i < N; i++)
    lb_request_list_release(&plans[i]);
}

static void test_token_expiring_mid_run(void **state)
{
  (void)state;
  enum { N = 100 };
  static lb_request_list plans[2 * N];
  tally t = { 0 };
  lb_client *c = lb_client_new(&cfg, &(lb_client_options){ .seed = 2 });
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

static void test_429_storm_obeyed(void **state)
{
  (void)state;
  enum { N = 40 };
  static lb_request_list plans[N];
  static logged entries[4 * N];
  tally t = { 0 };
  /* the LMS allows 10 requests per 2-second window; the client is not told */
  lb_test_post_json(&lms, "/_sandbox/faults",
                    "{\"tenant\":\"throttled\",\"rate_limit\":{\"limit\":10,\"window_s\":2}}");
  lb_client *c = lb_client_new(&cfg, &(lb_client_options){ .seed = 3 });
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

/* ---- what the LMS says about its limits ---- */

typedef struct {
  int done;
  int status;
  char body[2048];
  char reset[128];
  char remaining[32];
} probe;

static void on_probe(void *opaque, const lb_http_response *r)
{
  probe *p = opaque;
  p->done++;
  p->status = r->status;
  snprintf(p->body, sizeof(p->body), "%s", r->body);
  snprintf(p->reset, sizeof(p->reset), "%s", r->rate_reset ? r->rate_reset : "");
  snprintf(p->remaining, sizeof(p->remaining), "%s", r->rate_remaining ? r->rate_remaining : "");
}

static void probe_call(lb_http *h, const lb_http_request *req, probe *p)
{
  memset(p, 0, sizeof(*p));
  assert_int_equal(lb_http_start(h, req, on_probe, p, NULL), LB_E_OK);
  int64_t end = lb_time_mono_ms() + 10000;
  while (!p->done && lb_time_mono_ms() < end)
    lb_http_run(h, 50, -1);
  assert_int_equal(p->done, 1);
}

/* One authenticated Degreed call to `tenant_name` (client <tenant>-id),
 * outside lb_client; its X-Rate-Limit-* headers in *p. */
static void probe_rate_headers(const char *tenant_name, probe *p)
{
  char url[256], form[256], auth[128];
  lb_http *h = lb_http_new(NULL);
  assert_non_null(h);
  snprintf(url, sizeof(url), "%s/t/%s/oauth/token", lms.base_url, tenant_name);
  snprintf(form, sizeof(form), "grant_type=client_credentials&client_id=%s-id&client_secret=%s",
           tenant_name, SECRET_FAST);
  const char *form_hdr[] = { "Content-Type: application/x-www-form-urlencoded" };
  lb_http_request treq = { .method = "POST",
                           .url = url,
                           .headers = form_hdr,
                           .nheaders = 1,
                           .body = form,
                           .body_len = strlen(form) };
  probe_call(h, &treq, p);
  assert_int_equal(p->status, 200);
  /* json-c directly: the token is the test's own, not the client's */
  json_object *tok = json_tokener_parse(p->body), *at = NULL;
  assert_true(tok && json_object_object_get_ex(tok, "access_token", &at));
  snprintf(auth, sizeof(auth), "Authorization: Bearer %s", json_object_get_string(at));
  json_object_put(tok);
  snprintf(url, sizeof(url), "%s/t/%s/api/v2/content/courses?filter[external_id]=probe",
           lms.base_url, tenant_name);
  const char *hdrs[] = { auth, "Accept: application/json" };
  lb_http_request get = { .method = "GET", .url = url, .headers = hdrs, .nheaders = 2 };
  probe_call(h, &get, p);
  assert_int_equal(p->status, 200);
  lb_http_destroy(h);
}

/* The LMS allows "limited" 10 requests a second (per API client); the
 * client's own bucket (600,000 a minute) would never slow it and it sends
 * one request at a time: only X-Rate-Limit-Remaining/-Reset can hold it
 * back. When a response says 0 remaining, nothing goes before the reset
 * it names. */
static void test_rate_limit_headers_heeded(void **state)
{
  (void)state;
  enum { N = 40, LIMIT = 10 };
  static lb_request_list plans[N];
  static logged entries[4 * N];
  tally t = { 0 };
  probe p;
  lb_test_post_json(&lms, "/_sandbox/faults",
                    "{\"tenant\":\"limited\",\"rate_limit\":{\"limit\":10,\"window_s\":1}}");

  /* Degreed's form of the reset: UTC, seven fraction digits */
  int64_t before = lb_time_now_ms(), reset = 0;
  probe_rate_headers("limited", &p);
  const char *dot = strchr(p.reset, '.');
  assert_non_null(dot);
  assert_int_equal(strspn(dot + 1, "0123456789"), 7);
  assert_string_equal(dot + 8, "Z");
  assert_int_equal(lb_time_parse_rfc3339(p.reset, &reset), LB_E_OK);
  assert_true(reset > before && reset <= lb_time_now_ms() + 1000 + 50);
  assert_string_equal(p.remaining, "9");

  lb_client *c = lb_client_new(&cfg, &(lb_client_options){ .seed = 11 });
  for (int i = 0; i < N; i++) {
    completion_plan(&plans[i], &cfg.integrations[LIMITED], i, 11);
    lb_client_deliver(c, LIMITED, &plans[i], NULL, 0, 0, on_done, &t, NULL);
  }
  run_until(c, &t, N, 30000);
  assert_int_equal(t.count[LB_DELIVERY_SUCCESS], N);
  assert_int_equal(state_count("limited", "degreed.completions"), N);
  lb_client_destroy(c);

  /* One request at a time, so the log is in sending order. A 429 can only
   * come from the clocks' millisecond rounding at a window's edge, right
   * after the client waited for the reset; a client that ignores the
   * headers gets one the moment a window runs out, with no wait before it. */
  size_t n = read_log("limited", entries, 4 * N);
  qsort(entries, n, sizeof(entries[0]), by_start);
  int throttled = 0;
  for (size_t i = 1; i < n; i++) {
    if (entries[i].status != 429)
      continue;
    throttled++;
    int64_t gap = entries[i].start_ms - entries[i - 1].end_ms;
    if (gap < 300)
      fail_msg("a 429 %lld ms after the previous answer: the announced reset was not awaited",
               (long long)gap);
  }
  assert_true(throttled <= N / LIMIT);         /* at most one per window */
  assert_int_equal((int)n, 1 + N + throttled); /* the probe, then the client */
  for (int i = 0; i < N; i++)
    lb_request_list_release(&plans[i]);
}

/* Seven deliveries one at a time to a tenant whose every 4th answer is a
 * 429 (`fault`): after each 429, nothing reaches the tenant for gap_ms,
 * token requests included. */
static void check_quiet_after_429(const char *tenant_name, size_t integ, const char *fault,
                                  int64_t gap_ms, uint64_t seed)
{
  enum { N = 7 };
  static lb_request_list plans[N];
  static logged entries[4 * N];
  tally t = { 0 };
  lb_test_post_json(&lms, "/_sandbox/faults", fault);
  lb_client *c = lb_client_new(&cfg, &(lb_client_options){ .seed = seed });
  for (int i = 0; i < N; i++) {
    completion_plan(&plans[i], &cfg.integrations[integ], i, 12);
    lb_client_deliver(c, integ, &plans[i], NULL, 0, 0, on_done, &t, NULL);
  }
  run_until(c, &t, N, 30000);
  assert_int_equal(t.count[LB_DELIVERY_SUCCESS], N);
  assert_true(t.max_attempts >= 1 && t.max_attempts <= 2); /* a retry may meet the 2nd 429 */
  lb_client_destroy(c);

  /* every request, token requests included, in arrival order */
  size_t n = read_log_full(tenant_name, entries, 4 * N, true);
  qsort(entries, n, sizeof(entries[0]), by_start);
  int throttled = 0;
  for (size_t i = 0; i < n; i++) {
    if (entries[i].status != 429)
      continue;
    throttled++;
    /* the client read the 429 after the sandbox sent it (end_ms); the
     * next request arrives gap_ms later (3 ms: the log's millisecond
     * rounding) */
    assert_true(i + 1 < n);
    int64_t gap = entries[i + 1].start_ms - entries[i].end_ms;
    if (gap < gap_ms - 3)
      fail_msg("%s: a request %lld ms after a 429", tenant_name, (long long)gap);
  }
  assert_int_equal(throttled, 2); /* the 4th and the 8th of 9 */
  assert_int_equal(state_count(tenant_name, "degreed.completions"), N);
  for (int i = 0; i < N; i++)
    lb_request_list_release(&plans[i]);
}

static void test_no_request_before_retry_after(void **state)
{
  (void)state;
  check_quiet_after_429("spaced", SPACED,
                        "{\"tenant\":\"spaced\",\"error_rate\":{\"rate\":0.25,\"status\":429,"
                        "\"retry_after\":2,\"api\":\"degreed\",\"mode\":\"spread\"}}",
                        2000, 12);
}

/* A 429 without Retry-After still pauses the integration (1 s). */
static void test_bare_429_pauses_the_lane(void **state)
{
  (void)state;
  check_quiet_after_429("bare429", BARE429,
                        "{\"tenant\":\"bare429\",\"error_rate\":{\"rate\":0.25,\"status\":429,"
                        "\"retry_after\":0,\"api\":\"degreed\",\"mode\":\"spread\"}}",
                        1000, 13);
}

/* "paced" tokens last 4 s and take 400 ms to fetch; one delivery every
 * 50 ms for 8 s. The token is refreshed in the background at 80% of its
 * lifetime while the old one still serves: requests keep arriving while a
 * refresh is on its way, nothing is refused, nothing fails. */
static void test_token_refreshed_before_expiry(void **state)
{
  (void)state;
  enum { MAX = 220, RUN_MS = 10000, EVERY_MS = 50, FETCH_MS = 250 };
  static lb_request_list plans[MAX];
  static logged entries[2 * MAX];
  tally t = { 0 };
  int sent = 0;
  lb_test_post_json(&lms, "/_sandbox/faults",
                    "{\"tenant\":\"paced\",\"latency\":{\"ms\":250,\"api\":\"token\"}}");
  lb_client *c = lb_client_new(&cfg, &(lb_client_options){ .seed = 13 });
  int64_t start = lb_time_mono_ms(), next = start;
  while (lb_time_mono_ms() < start + RUN_MS && sent < MAX) {
    if (lb_time_mono_ms() >= next) {
      completion_plan(&plans[sent], &cfg.integrations[PACED], sent, 13);
      lb_client_deliver(c, PACED, &plans[sent], NULL, 0, 0, on_done, &t, NULL);
      sent++;
      next += EVERY_MS;
    }
    lb_client_run(c, 10, -1);
  }
  run_until(c, &t, sent, 10000);
  assert_int_equal(t.count[LB_DELIVERY_SUCCESS], sent);
  assert_int_equal(t.max_attempts, 0);
  uint64_t fetched = lb_client_token_fetches(c, PACED, true);
  assert_int_equal(lb_client_token_fetches(c, PACED, false), 0);
  lb_client_destroy(c);

  size_t n = read_log_full("paced", entries, 2 * MAX, true);
  qsort(entries, n, sizeof(entries[0]), by_start);
  size_t fetches = 0;
  for (size_t i = 0; i < n; i++) {
    if (entries[i].status == 401)
      fail_msg("a request was refused (401): the token expired before its refresh");
    if (!entries[i].token)
      continue;
    assert_true(entries[i].end_ms - entries[i].start_ms >= FETCH_MS);
    if (fetches++ == 0)
      continue;
    /* a refresh: the old token kept serving while it was on its way (a
     * request 100 ms into it cannot be one sent before it started) */
    int served = 0;
    for (size_t k = 0; k < n; k++)
      if (!entries[k].token && entries[k].status / 100 == 2 &&
          entries[k].start_ms > entries[i].start_ms + 100 &&
          entries[k].start_ms < entries[i].end_ms)
        served++;
    if (served == 0)
      fail_msg("no request went out during token refresh %zu: it was not in the background",
               fetches);
  }
  /* 10 s of 5-s tokens refreshed after 4 s (+ 0.25 s to fetch, which
   * leaves 0.75 s before the old one expires): the first and two
   * refreshes */
  assert_true(fetches >= 3);
  assert_int_equal(fetched, fetches);
  assert_int_equal(state_count("paced", "degreed.tokens_issued"), (int)fetches);
  assert_int_equal(state_count("paced", "degreed.completions"), sent);
  for (int i = 0; i < sent; i++)
    lb_request_list_release(&plans[i]);
}

/* "unauth" issues tokens, but its API refuses every one (401). Each
 * delivery is tried twice, the second time with a token fetched after the
 * first 401, and ends as an auth failure. */
static void test_401_retried_once(void **state)
{
  (void)state;
  enum { N = 10 };
  static lb_request_list plans[N];
  static logged entries[8 * N];
  tally t = { 0 };
  lb_test_post_json(&lms, "/_sandbox/faults",
                    "{\"tenant\":\"unauth\",\"error_rate\":{\"rate\":1,\"status\":401,"
                    "\"api\":\"degreed\"}}");
  lb_client *c = lb_client_new(&cfg, &(lb_client_options){ .seed = 14 });
  for (int i = 0; i < N; i++) {
    completion_plan(&plans[i], &cfg.integrations[UNAUTH], i, 14);
    lb_client_deliver(c, UNAUTH, &plans[i], NULL, 0, 0, on_done, &t, NULL);
  }
  run_until(c, &t, N, 20000);
  assert_int_equal(t.count[LB_DELIVERY_AUTH], N);
  assert_int_equal(t.http_status, 401);
  assert_non_null(strstr(t.reason, "after a fresh token"));
  assert_true(t.max_attempts >= 1 && t.max_attempts <= 2);
  uint64_t fetched = lb_client_token_fetches(c, UNAUTH, true);
  assert_true(fetched >= 2 && fetched <= N + 1);
  run_for(c, 300); /* nothing more goes out */
  lb_client_destroy(c);

  size_t n = read_log_full("unauth", entries, 8 * N, true);
  qsort(entries, n, sizeof(entries[0]), by_start);
  size_t api = 0, tokens = 0;
  for (size_t i = 0; i < n; i++)
    entries[i].token ? tokens++ : api++;
  assert_int_equal(api, 2 * N);
  assert_int_equal(tokens, fetched);
  for (int u = 0; u < N; u++) {
    char user[48];
    const logged *a[3] = { NULL };
    int k = 0;
    snprintf(user, sizeof(user), "u%d@x.example", u);
    for (size_t i = 0; i < n; i++)
      if (strcmp(entries[i].user, user) == 0 && k < 3)
        a[k++] = &entries[i];
    if (k != 2)
      fail_msg("%d attempts for %s, not 2", k, user);
    assert_int_equal(a[0]->status, 401);
    assert_int_equal(a[1]->status, 401);
    /* the retry carried a newer token: fetched after this 401, or after
     * another delivery's 401 that came first (ten run at once) */
    assert_true(a[0]->token_no > 0 && a[1]->token_no > a[0]->token_no);
  }
  for (int i = 0; i < N; i++)
    lb_request_list_release(&plans[i]);
}

/* "broken" answers every API call 500: the retry budget runs out, by
 * attempts (delivery.max_attempts = 4) and, with another configuration,
 * by time (retry_budget_s = 1 with up to 1000 attempts). */
static void test_exhausted(void **state)
{
  (void)state;
  enum { N = 3 };
  static lb_request_list plans[N + 1];
  static logged entries[64 + 1100];
  tally t = { 0 };
  lb_test_post_json(&lms, "/_sandbox/faults",
                    "{\"tenant\":\"broken\",\"error_rate\":{\"rate\":1,\"status\":500,"
                    "\"api\":\"degreed\"}}");
  lb_client *c = lb_client_new(&cfg, &(lb_client_options){ .seed = 15 });
  for (int i = 0; i < N; i++) {
    completion_plan(&plans[i], &cfg.integrations[BROKEN], i, 15);
    lb_client_deliver(c, BROKEN, &plans[i], NULL, 0, 0, on_done, &t, NULL);
  }
  run_until(c, &t, N, 20000);
  assert_int_equal(t.count[LB_DELIVERY_EXHAUSTED], N);
  assert_int_equal(t.max_attempts, cfg.delivery.max_attempts);
  assert_int_equal(t.http_status, 500);
  assert_non_null(strstr(t.reason, "500"));
  run_for(c, 300); /* nothing more goes out */
  lb_client_destroy(c);
  size_t n = read_log("broken", entries, sizeof(entries) / sizeof(entries[0]));
  assert_int_equal((int)n, N * cfg.delivery.max_attempts);
  for (int u = 0; u < N; u++) {
    char user[48];
    int k = 0;
    snprintf(user, sizeof(user), "u%d@x.example", u);
    for (size_t i = 0; i < n; i++)
      k += strcmp(entries[i].user, user) == 0;
    assert_int_equal(k, cfg.delivery.max_attempts);
  }

  /* the elapsed budget: 1 s, back-off capped at 200 ms */
  char conf[4096], *errors = NULL;
  lb_config tight;
  snprintf(conf, sizeof(conf),
           "kafka: { brokers = \"127.0.0.1:9092\"; };\n"
           "provider: { code = \"datacamp\"; ocn_provider_id = \"DATACAMP\";"
           " logo_url = \"https://cdn.example.com/logo.png\"; };\n"
           "delivery: { max_in_flight = 10; max_attempts = 1000; backoff_initial_ms = 100;"
           " backoff_max_ms = 200; retry_budget_s = 1; request_timeout_ms = 5000; };\n"
           "integrations = (\n%s\n);\n",
           integration("broken", "broken", "T_FAST", "10", "0"));
  const char *path = lb_test_write_file(lms.dir, "tight.conf", conf);
  lb_config_defaults d = { .worker = "test", .default_topic = "t", .default_scopes = "x" };
  if (lb_config_load(&tight, path, &d, &errors) != LB_E_OK)
    fail_msg("%s", errors);
  memset(&t, 0, sizeof(t));
  c = lb_client_new(&tight, &(lb_client_options){ .seed = 16 });
  completion_plan(&plans[N], &tight.integrations[0], 100, 15);
  lb_client_deliver(c, 0, &plans[N], NULL, 0, 0, on_done, &t, NULL);
  run_until(c, &t, 1, 20000);
  assert_int_equal(t.count[LB_DELIVERY_EXHAUSTED], 1);
  int64_t elapsed = t.last_failure_ms - t.first_failure_ms;
  /* it stopped because the next try (at most 200 ms away) would have
   * fallen past the budget: not earlier, and not much later (the last
   * answer may be slow on a loaded machine; without the budget the 1000
   * attempts would take minutes) */
  if (elapsed < 1000 - 200 || elapsed > 1000 + 1500)
    fail_msg("gave up %lld ms after the first failure, budget 1000 ms", (long long)elapsed);
  assert_true(t.max_attempts >= 3 && t.max_attempts < 1000);
  lb_client_destroy(c);
  n = read_log("broken", entries, sizeof(entries) / sizeof(entries[0]));
  int k = 0;
  for (size_t i = 0; i < n; i++)
    k += strcmp(entries[i].user, "u100@x.example") == 0;
  assert_int_equal(k, t.max_attempts);
  lb_config_release(&tight);
  for (int i = 0; i <= N; i++)
    lb_request_list_release(&plans[i]);
}

static void test_outage_does_not_slow_a_healthy_tenant(void **state)
{
  (void)state;
  enum { N = 200 };
  static lb_request_list down[N], healthy[N];
  tally td = { 0 }, th = { 0 };
  /* a minute's outage, token endpoint included: Retry-After 60 s, inside
   * the retry budget (120 s), so without parking the deliveries wait */
  lb_test_post_json(&lms, "/_sandbox/faults", "{\"tenant\":\"down\",\"outage\":{\"seconds\":60}}");
  lb_client *c = lb_client_new(&cfg, &(lb_client_options){ .seed = 4 });
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
  tally tp = { 0 };
  c = lb_client_new(&cfg, &(lb_client_options){ .seed = 5, .park_after_ms = 5000 });
  int64_t before = lb_time_now_ms();
  for (int i = 0; i < N; i++)
    lb_client_deliver(c, DOWN, &down[i], NULL, 0, 0, on_done, &tp, NULL);
  run_until(c, &tp, N, 30000);
  /* the token endpoint's Retry-After (the outage's seconds left) is past
   * park_after_ms: every delivery parks at its first failure, whatever the
   * timing (backing off 1, 2, 4 s instead raced the attempt limit) */
  if (tp.count[LB_DELIVERY_PARK] != N)
    fail_msg("%d of %d parked (success %d, permanent %d, exhausted %d, auth %d); last: %s",
             tp.count[LB_DELIVERY_PARK], N, tp.count[LB_DELIVERY_SUCCESS],
             tp.count[LB_DELIVERY_PERMANENT], tp.count[LB_DELIVERY_EXHAUSTED],
             tp.count[LB_DELIVERY_AUTH], tp.reason);
  assert_true(tp.not_before_ms >= before + 5000);
  assert_int_equal(tp.max_attempts, 1);
  assert_non_null(strstr(tp.reason, "503"));
  lb_client_destroy(c);
  for (int i = 0; i < N; i++) {
    lb_request_list_release(&down[i]);
    lb_request_list_release(&healthy[i]);
  }
}

/* An integration allowed as many requests as the whole client (200) whose
 * customer answers after 8 s takes 3/4 of the slots, not all: another
 * customer's deliveries finish while all of its requests still hang. */
static void test_slow_tenant_leaves_slots_for_others(void **state)
{
  (void)state;
  enum { NS = 200, NH = 100 };
  static lb_request_list slow[NS], healthy[NH];
  tally ts = { 0 }, th = { 0 };
  lb_test_post_json(&lms, "/_sandbox/faults",
                    "{\"tenant\":\"slow\",\"latency\":{\"ms\":8000,\"api\":\"degreed\"}}");
  lb_client *c = lb_client_new(&cfg, &(lb_client_options){ .seed = 11 });
  for (int i = 0; i < NS; i++) {
    completion_plan(&slow[i], &cfg.integrations[SLOW], i, 7);
    lb_client_deliver(c, SLOW, &slow[i], NULL, 0, 0, on_done, &ts, NULL);
  }
  run_for(c, 500); /* the slow customer's requests go out first */
  for (int i = 0; i < NH; i++) {
    completion_plan(&healthy[i], &cfg.integrations[HEALTHY], 1000 + i, 7);
    lb_client_deliver(c, HEALTHY, &healthy[i], NULL, 0, 0, on_done, &th, NULL);
  }
  run_until(c, &th, NH, 6000); /* well inside the slow customer's 8 s */
  assert_int_equal(th.count[LB_DELIVERY_SUCCESS], NH);
  assert_int_equal(ts.done, 0);
  lb_client_destroy(c);
  char url[512];
  snprintf(url, sizeof(url), "%s/_sandbox/faults?tenant=slow", lms.base_url);
  assert_int_equal(lb_test_http("DELETE", url, NULL, NULL), 200);
  for (int i = 0; i < NS; i++)
    lb_request_list_release(&slow[i]);
  for (int i = 0; i < NH; i++)
    lb_request_list_release(&healthy[i]);
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
  assert_int_equal(lb_map_degreed_content(&ev, &cfg.integrations[CHAIN], &cfg.provider, 0, l, NULL),
                   LB_E_OK);
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

static void deliver_one(lb_client *c, size_t index, lb_request_list *l, const char *known_id,
                        tally *t)
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
  lb_client *c = lb_client_new(&cfg, &(lb_client_options){ .seed = 6 });

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
  json_object *course =
      json_object_array_get_idx(lb_test_dig(st, "tenants.chain.degreed.courses"), 0);
  assert_true(json_object_get_boolean(lb_test_dig(course, "attributes.obsolete")));
  assert_string_equal(json_object_get_string(lb_test_dig(course, "attributes.title")),
                      "One - Course");
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
  lb_client *c = lb_client_new(&cfg, &(lb_client_options){ .seed = 7 });

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
  tally t = { 0 };
  /* every other request fails with a 500, or the connection is reset */
  lb_test_post_json(&lms, "/_sandbox/faults",
                    "{\"tenant\":\"flaky\",\"error_rate\":{\"rate\":0.3,\"status\":500,"
                    "\"api\":\"degreed\",\"mode\":\"spread\"},"
                    "\"connection_reset\":{\"rate\":0.2,\"api\":\"degreed\",\"mode\":\"spread\"}}");
  lb_client *c = lb_client_new(&cfg, &(lb_client_options){ .seed = 8 });
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
  lb_client *c = lb_client_new(&cfg, &(lb_client_options){ .seed = 9 });
  const char *cat =
      "{\"schema\":\"catalog.v1\",\"event_id\":\"e\",\"event_type\":\"content.upserted\","
      "\"occurred_at\":\"2026-01-02T03:04:05Z\",\"version\":1,\"content\":{\"id\":\"7\","
      "\"type\":\"course\",\"title\":\"Seven\",\"description\":\"d\",\"url\":\"https://x.example/"
      "7\"}}";
  assert_int_equal(lb_catalog_event_parse(&ce, cat, strlen(cat), err, sizeof(err)), LB_E_OK);
  lb_request_list_init(&courses);
  assert_int_equal(lb_map_ocn_course(&ce, &cfg.integrations[SF], &cfg.provider, 0, &courses, NULL),
                   LB_E_OK);
  /* a batch of one, as the catalog worker would send it */
  const char *items[] = { courses.items[0].body };
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
                                             lb_time_now_ms(), &event, &skip),
                   LB_E_OK);
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
  tally t = { 0 };
  lb_request_list l;
  lb_test_post_json(&lms, "/_sandbox/faults", "{\"tenant\":\"down\",\"outage\":{\"seconds\":60}}");
  lb_client *c = lb_client_new(&cfg, &(lb_client_options){ .seed = 10 });
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

/* Handing deliveries back (a stop, a reload): those waiting end at once,
 * those on the wire finish their request, and one whose request fails
 * ends instead of waiting for its retry. */
static void test_hand_back(void **state)
{
  (void)state;
  enum { N = 30 };
  static lb_request_list plans[N];
  lb_request_list one, refused;
  tally t = { 0 }, w = { 0 }, r = { 0 };
  /* the first of the 30 go at once (the bucket's burst) and stay on the
   * wire for a second; the others wait for their turn at 1 a second */
  lb_test_post_json(&lms, "/_sandbox/faults",
                    "{\"tenant\":\"queued\",\"latency\":{\"ms\":1000,\"api\":\"degreed\"}}");
  lb_client *c = lb_client_new(&cfg, &(lb_client_options){ .seed = 11 });
  for (int i = 0; i < N; i++) {
    completion_plan(&plans[i], &cfg.integrations[QUEUED], i, 21);
    lb_client_deliver(c, QUEUED, &plans[i], NULL, 0, 0, on_done, &t, NULL);
  }
  /* a token that is refused: its delivery waits for the token's back-off */
  completion_plan(&refused, &cfg.integrations[WRONG], 2, 21);
  lb_client_deliver(c, WRONG, &refused, NULL, 0, 0, on_done, &r, NULL);
  for (int64_t end = lb_time_mono_ms() + 10000;
       lb_time_mono_ms() < end && lb_client_token_fetches(c, WRONG, false) == 0;)
    lb_client_run(c, 20, -1);
  lb_client_run(c, 100, -1);
  assert_int_equal(t.done + r.done, 0);
  size_t on_wire = lb_client_hand_back_all(c);
  assert_true(on_wire >= 1 && on_wire < N);
  lb_client_run(c, 0, -1); /* the callbacks of those waiting run now */
  assert_int_equal(t.count[LB_DELIVERY_CANCELLED], N - (int)on_wire);
  assert_int_equal(t.done, N - (int)on_wire);
  assert_int_equal(r.count[LB_DELIVERY_CANCELLED], 1);
  run_until(c, &t, N, 10000);
  assert_int_equal(t.count[LB_DELIVERY_SUCCESS], (int)on_wire);
  assert_int_equal(state_count("queued", "degreed.completions"), (int)on_wire);
  assert_int_equal(lb_client_pending(c), 0);
  assert_int_equal(lb_client_hand_back_all(c), 0);

  /* on the wire when handed back, answered 500: not retried */
  lb_test_post_json(&lms, "/_sandbox/faults",
                    "{\"tenant\":\"wirefail\",\"latency\":{\"ms\":500,\"api\":\"degreed\"},"
                    "\"error_rate\":{\"rate\":1,\"status\":500,\"api\":\"degreed\"}}");
  completion_plan(&one, &cfg.integrations[WIREFAIL], 1, 21);
  uint64_t h = 0;
  lb_client_deliver(c, WIREFAIL, &one, NULL, 0, 0, on_done, &w, &h);
  lb_client_run(c, 100, -1);
  assert_true(lb_client_hand_back(c, h));
  run_until(c, &w, 1, 10000);
  assert_int_equal(w.count[LB_DELIVERY_CANCELLED], 1);
  assert_int_equal(w.http_status, 500);
  assert_false(lb_client_hand_back(c, h)); /* finished: nothing to hand back */
  lb_client_destroy(c);
  for (int i = 0; i < N; i++)
    lb_request_list_release(&plans[i]);
  lb_request_list_release(&one);
  lb_request_list_release(&refused);
}

/* Runs last: everything the tests above made the client log, and
 * everything this program printed, holds no secret, no token the sandbox
 * issued (access or refresh) and no Authorization header. */
static void test_no_secret_logged_or_printed(void **state)
{
  (void)state;
  char line[8192];
  restore_output();

  /* The tokens were seen (the scan below is not vacuous): every access
   * token the sandbox issued to the client went through lb_json_parse and
   * was registered for redaction. */
  assert_true(seen_access.n >= 10);
  assert_false(seen_access.overflow || seen_refresh.overflow || seen_registered.overflow);
  for (size_t i = 0; i < seen_access.n; i++) {
    assert_int_equal(strlen(seen_access.v[i]), 40); /* the sandbox's tokens */
    if (!seen_has(&seen_registered, seen_access.v[i]))
      fail_msg("access token %zu was never registered with lb_log", i);
  }

  fflush(log_file);
  rewind(log_file);
  int lines = 0;
  while (fgets(line, sizeof(line), log_file)) {
    lines++;
    check_no_secret("log", lines, line);
  }
  assert_true(lines > 100); /* debug lines were written and checked */
  FILE *out = fopen(output_path, "r");
  assert_non_null(out);
  lines = 0;
  while (fgets(line, sizeof(line), out)) {
    lines++;
    check_no_secret("program output", lines, line);
  }
  fclose(out);
  assert_true(lines > 10); /* cmocka's lines at least */
}

/* After the others: lms-sandbox stops on SIGTERM and exits 0 (under
 * LB_SANITIZE: without leaks). Not left to the group teardown, whose
 * failures cmocka 1.1 reports but does not count in the exit status. */
static void test_sandbox_exits_cleanly(void **state)
{
  (void)state;
  lb_test_lms_stop(&lms); /* fails the test unless it exits 0 */
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_thousand_requests_one_token),
    cmocka_unit_test(test_token_expiring_mid_run),
    cmocka_unit_test(test_429_storm_obeyed),
    cmocka_unit_test(test_rate_limit_headers_heeded),
    cmocka_unit_test(test_no_request_before_retry_after),
    cmocka_unit_test(test_bare_429_pauses_the_lane),
    cmocka_unit_test(test_token_refreshed_before_expiry),
    cmocka_unit_test(test_401_retried_once),
    cmocka_unit_test(test_exhausted),
    cmocka_unit_test(test_outage_does_not_slow_a_healthy_tenant),
    cmocka_unit_test(test_slow_tenant_leaves_slots_for_others),
    cmocka_unit_test(test_degreed_chain),
    cmocka_unit_test(test_permanent_and_auth_failures),
    cmocka_unit_test(test_retries_until_success),
    cmocka_unit_test(test_successfactors),
    cmocka_unit_test(test_cancel),
    cmocka_unit_test(test_hand_back),
    cmocka_unit_test(test_no_secret_logged_or_printed),
    cmocka_unit_test(test_sandbox_exits_cleanly), /* last */
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
