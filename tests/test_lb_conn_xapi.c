/* lb_conn_xapi: an xapi integration's settings (defaults, every refusal as
 * "file:line: key: what"), the --check-config lines without secrets, the
 * Basic credentials redacted in logs and dead letters (the password and
 * the Authorization header's value), and what the planner makes of
 * completions through the connector: one PUT of one statement with the
 * version header, or a skip with its reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_config.h"
#include "lb_connector.h"
#include "lb_log.h"
#include "lb_plan.h"

#define PASSWORD "lrs-pass-9f8e7d"
/* base64("lrs-key:lrs-pass-9f8e7d") */
#define BASIC_B64 "bHJzLWtleTpscnMtcGFzcy05ZjhlN2Q="

static const lb_config_defaults defaults = {
  .worker = "completion-worker",
  .default_topic = "completion-events",
  .default_scopes = "completions:write",
};

static char path[512];

#define HEAD(provider_extra)                                                                       \
  "kafka: { brokers = \"127.0.0.1:9092\"; };\n"                                                    \
  "provider: { code = \"datacamp\"; logo_url = \"https://cdn.example.com/l.png\";" provider_extra  \
  " };\n"
#define IRI " activity_iri_base = \"https://learn.example.com/xapi/activities/\";"
#define XAPI(extra)                                                                                \
  "integrations = ( { id = \"hooli-lrs\"; type = \"xapi\"; organization = \"hooli\";\n"            \
  "  endpoint = \"https://lrs.hooli.example/xapi/\";\n" extra " } );\n"
#define BASIC " username = \"lrs-key\"; password = \"@env:T_LRS_PASSWORD\";"

static lb_err load(const char *text, lb_config *cfg, char **errors)
{
  snprintf(path, sizeof(path), "%s/test_lb_conn_xapi.conf", LB_TEST_TMP);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  *errors = NULL;
  return lb_config_load(cfg, path, &defaults, errors);
}

static int setup(void **state)
{
  (void)state;
  setenv("T_LRS_PASSWORD", PASSWORD, 1);
  setenv("T_CLIENT_SECRET", "oauth-secret-5a4b3c", 1);
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  lb_log_clear_secrets();
  remove(path);
  return 0;
}

static void test_basic_defaults_summary_and_redaction(void **state)
{
  (void)state;
  lb_config cfg;
  char *errors, *text = NULL, buf[256];
  size_t len = 0;
  assert_int_equal(load(HEAD(IRI) XAPI(BASIC), &cfg, &errors), LB_E_OK);
  const lb_integration *in = &cfg.integrations[0];
  assert_int_equal(in->type, LB_INTEG_XAPI);
  assert_int_equal(in->auth, LB_AUTH_BASIC);
  assert_string_equal(in->api_base_url, "https://lrs.hooli.example/xapi");
  assert_string_equal(in->username, "lrs-key");
  assert_string_equal(in->password, PASSWORD);
  assert_true(in->completions);
  assert_int_equal(in->rate_limit_per_minute, 0);
  assert_string_equal(cfg.provider.activity_iri_base, "https://learn.example.com/xapi/activities/");

  FILE *out = open_memstream(&text, &len);
  lb_config_print_summary(&cfg, out);
  fclose(out);
  assert_non_null(strstr(text, "  type: xapi\n  organization: hooli\n"
                               "  endpoint: https://lrs.hooli.example/xapi\n"
                               "  auth: basic\n  username: lrs-key\n"
                               "  password: <secret from @env:T_LRS_PASSWORD>\n"));
  assert_non_null(strstr(text, "  xapi_version: 1.0.3\n  actor: mbox\n"));
  assert_non_null(strstr(text, "  activity_iri_base: https://learn.example.com/xapi/"));
  assert_null(strstr(text, PASSWORD));
  assert_null(strstr(text, BASIC_B64));
  free(text);

  /* an LRS that echoes the request: neither the password nor the header's
   * value reaches a log line or a dead letter's headers (lb_log_redact) */
  lb_log_redact("401: Authorization: Basic " BASIC_B64 " (password " PASSWORD ")", buf,
                sizeof(buf));
  assert_string_equal(buf, "401: Authorization: Basic [REDACTED] (password [REDACTED])");
  lb_config_release(&cfg);
}

static void test_account_oauth2_and_version(void **state)
{
  (void)state;
  lb_config cfg;
  char *errors, *text = NULL;
  size_t len = 0;
  assert_int_equal(
      load(HEAD(IRI) XAPI(" xapi_version = \"2.0.0\"; auth = \"oauth2\";"
                          " token_url = \"https://lrs.hooli.example/oauth/token\";"
                          " client_id = \"lrs-client\"; client_secret = \"@env:T_CLIENT_SECRET\";"
                          " actor = \"account\"; account_home_page = \"https://sso.hooli.example\";"
                          " account_name = \"lms_username\";"),
           &cfg, &errors),
      LB_E_OK);
  const lb_integration *in = &cfg.integrations[0];
  assert_int_equal(in->auth, LB_AUTH_OAUTH2);
  assert_string_equal(in->token_url, "https://lrs.hooli.example/oauth/token");
  assert_int_equal(in->user_identifier, LB_UID_LMS_USERNAME);
  FILE *out = open_memstream(&text, &len);
  lb_config_print_summary(&cfg, out);
  fclose(out);
  assert_non_null(strstr(text, "  client_secret: <secret from @env:T_CLIENT_SECRET>\n"));
  assert_non_null(strstr(text, "  xapi_version: 2.0.0\n  actor: account\n"
                               "  account_home_page: https://sso.hooli.example\n"
                               "  account_name: lms_username\n"));
  assert_null(strstr(text, "oauth-secret-5a4b3c"));
  free(text);
  /* the token request: a form, the client as HTTP Basic */
  const lb_connector *k = lb_connector_of(in->type);
  char *body = NULL;
  const char *ctype = NULL;
  bool basic = false;
  assert_int_equal(k->token_request(in, &body, &ctype, &basic), LB_E_OK);
  assert_string_equal(body, "grant_type=client_credentials");
  assert_string_equal(ctype, "application/x-www-form-urlencoded");
  assert_true(basic);
  free(body);
  lb_config_release(&cfg);
}

static void test_refusals(void **state)
{
  (void)state;
  static const struct {
    const char *text;
    const char *key;
    const char *what;
  } cases[] = {
    { HEAD("") XAPI(BASIC), "provider.activity_iri_base",
      "is required when an xapi integration is configured" },
    { HEAD(" activity_iri_base = \"ftp://x\";") XAPI(BASIC), "provider.activity_iri_base",
      "must be an https URL" },
    { HEAD(IRI) XAPI(" username = \"k\"; password = \"literal-pass\";"), "integrations[0].password",
      "secrets are never written in the file" },
    { HEAD(IRI) XAPI(" password = \"@env:T_LRS_PASSWORD\";"), "integrations[0].username",
      "missing required setting" },
    { HEAD(IRI) XAPI(BASIC " client_id = \"c\";"), "integrations[0].client_id",
      "goes with auth = \"oauth2\" only" },
    { HEAD(IRI)
          XAPI(" auth = \"oauth2\"; client_id = \"c\"; client_secret = \"@env:T_CLIENT_SECRET\";"),
      "integrations[0].token_url", "missing required setting" },
    { HEAD(IRI) XAPI(" auth = \"digest\";" BASIC), "integrations[0].auth",
      "unknown auth \"digest\" (basic or oauth2)" },
    { HEAD(IRI) XAPI(" xapi_version = \"0.95\";" BASIC), "integrations[0].xapi_version",
      "unknown xAPI version \"0.95\" (1.0.3 or 2.0.0)" },
    { HEAD(IRI) XAPI(" actor = \"account\";" BASIC), "integrations[0].account_home_page",
      "missing required setting" },
    { HEAD(IRI) XAPI(" actor = \"account\"; account_home_page = \"https://sso.example\";"
                     " account_name = \"email\";" BASIC),
      "integrations[0].account_name",
      "unknown account name \"email\" (sso_nameid, lms_username or id)" },
    { HEAD(IRI) XAPI(" account_name = \"id\";" BASIC), "integrations[0].account_name",
      "goes with actor = \"account\" only" },
    { HEAD(IRI) XAPI(" catalog = { public = true; };" BASIC), "integrations[0].catalog",
      "xapi integrations take completions only" },
    { HEAD(IRI) XAPI(" datacenter = \"eu\";" BASIC), "integrations[0].datacenter",
      "is not a setting of xapi integrations" },
    { HEAD(IRI) "integrations = ( { id = \"x\"; type = \"xapi\"; organization = \"*\";" BASIC
                " completions = false; } );\n",
      "integrations[0].organization", "an xapi integration takes one customer's completions" },
    { HEAD(IRI) "integrations = ( { id = \"x\"; type = \"xapi\"; organization = \"o\";" BASIC
                " } );\n",
      "integrations[0].endpoint", "missing required setting" },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    lb_config cfg;
    char *errors = NULL, want[256];
    assert_int_equal(load(cases[i].text, &cfg, &errors), LB_E_CONFIG);
    snprintf(want, sizeof(want), ": %s: ", cases[i].key);
    if (!strstr(errors, want) || !strstr(errors, cases[i].what) || !strstr(errors, path))
      fail_msg("case %zu: want \"%s\" ... \"%s\", got:\n%s", i, cases[i].key, cases[i].what,
               errors);
    free(errors);
  }
}

static void test_plan_through_the_connector(void **state)
{
  (void)state;
  lb_config cfg;
  lb_plan plan;
  char *errors;
  assert_int_equal(load(HEAD(IRI) XAPI(BASIC), &cfg, &errors), LB_E_OK);
  static const struct {
    const char *event;
    const char *skip; /* NULL: sent */
  } cases[] = {
    { "{\"schema\":\"completion.v1\",\"event_id\":\"e1\",\"occurred_at\":\"2026-01-01T00:00:00Z\","
      "\"organization_id\":\"hooli\",\"user\":{\"id\":\"u1\",\"email\":\"ann@hooli.example\"},"
      "\"content\":{\"id\":\"9\",\"type\":\"assessment\"},\"completed_at\":\"2026-01-01T00:00:"
      "00Z\","
      "\"score\":82}",
      NULL },
    { "{\"schema\":\"completion.v1\",\"event_id\":\"e2\",\"occurred_at\":\"2026-01-01T00:00:00Z\","
      "\"organization_id\":\"hooli\",\"user\":{\"id\":\"u1\"},"
      "\"content\":{\"id\":\"9\",\"type\":\"course\"},\"completed_at\":\"2026-01-01T00:00:00Z\"}",
      "email" },
    { "{\"schema\":\"completion.v1\",\"event_id\":\"e3\",\"occurred_at\":\"2026-01-01T00:00:00Z\","
      "\"organization_id\":\"hooli\",\"user\":{\"id\":\"u1\",\"email\":\"ann@hooli.example\"},"
      "\"content\":{\"id\":\"9\",\"type\":\"course\"},\"completed_at\":\"2026-01-01T00:00:00Z\","
      "\"skipped\":true}",
      "tested out" },
    { "{\"schema\":\"completion.v1\",\"event_id\":\"e4\",\"occurred_at\":\"2026-01-01T00:00:00Z\","
      "\"organization_id\":\"hooli\",\"user\":{\"id\":\"u1\",\"email\":\"ann@hooli.example\"},"
      "\"content\":{\"id\":\"3\",\"type\":\"skill_track\"},\"completed_at\":\"2026-01-01T00:00:"
      "00Z\"}",
      "track" },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const char *ev = cases[i].event;
    assert_int_equal(lb_plan_completion(&cfg, ev, strlen(ev), 1767225600000, &plan), LB_E_OK);
    assert_false(plan.dead_letter);
    assert_int_equal(plan.n, 1);
    const lb_plan_item *it = &plan.items[0];
    if (cases[i].skip) {
      assert_true(it->skip);
      if (!strstr(it->reason, cases[i].skip))
        fail_msg("case %zu: reason \"%s\" does not say \"%s\"", i, it->reason, cases[i].skip);
    } else {
      assert_false(it->skip);
      assert_int_equal(it->requests.n, 1);
      const lb_request *r = &it->requests.items[0];
      assert_int_equal(r->method, LB_PUT);
      assert_int_equal(r->step, LB_STEP_COMPLETION);
      assert_non_null(strstr(r->url, "https://lrs.hooli.example/xapi/statements?statementId="));
      assert_int_equal(r->nheaders, 1);
      assert_string_equal(r->headers[0], "X-Experience-API-Version: 1.0.3");
      assert_non_null(strstr(r->body, "\"mbox\":\"mailto:ann@hooli.example\""));
      assert_non_null(strstr(r->body, "https://learn.example.com/xapi/activities/assessment/9"));
    }
    lb_plan_release(&plan);
  }
  /* the catalog worker's planner leaves an xapi integration out */
  const char *cat =
      "{\"schema\":\"catalog.v1\",\"event_id\":\"c\",\"event_type\":\"content.upserted\","
      "\"occurred_at\":\"2026-01-02T03:04:05Z\",\"version\":1,\"content\":{\"id\":\"7\","
      "\"type\":\"course\",\"title\":\"Seven\",\"description\":\"d\",\"url\":\"https://x.example/"
      "7\"}}";
  assert_int_equal(lb_plan_catalog(&cfg, cat, strlen(cat), 0, &plan), LB_E_OK);
  assert_int_equal(plan.n, 0);
  lb_plan_release(&plan);
  lb_config_release(&cfg);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_basic_defaults_summary_and_redaction, setup, teardown),
    cmocka_unit_test_setup_teardown(test_account_oauth2_and_version, setup, teardown),
    cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
    cmocka_unit_test_setup_teardown(test_plan_through_the_connector, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
