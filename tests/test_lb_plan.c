/* lb_route and lb_plan: which integrations receive an event, what each is
 * sent, what is skipped and why, and what is dead-lettered. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "lb_plan.h"
#include "lb_route.h"

#define PUBLIC_TYPES (LB_CT_ALL_MASK & ~LB_CT_BIT(LB_CT_CUSTOM_TRACK))

static lb_integration integrations[] = {
  { .id = "provider-degreed",
    .type = LB_INTEG_DEGREED,
    .organization = "*",
    .provider_level = true,
    .api_base_url = "https://api.degreed.com",
    .catalog_public = true,
    .catalog_types = PUBLIC_TYPES },
  { .id = "acme-degreed",
    .type = LB_INTEG_DEGREED,
    .organization = "acme",
    .api_base_url = "https://api.eu.degreed.com",
    .catalog_custom_tracks = true,
    .catalog_types = PUBLIC_TYPES,
    .completions = true,
    .skill_ratings = true,
    .skill_ratings_path = "/api/v2/skill-ratings" },
  { .id = "globex-sf",
    .type = LB_INTEG_SUCCESSFACTORS,
    .organization = "globex",
    .api_base_url = "https://globex.example.com",
    .catalog_public = true,
    .catalog_custom_tracks = true,
    .catalog_types = LB_CT_BIT(LB_CT_COURSE) | LB_CT_BIT(LB_CT_PROJECT),
    .completions = true,
    .user_identifier = LB_UID_SSO_NAMEID },
  { .id = "initech-sf",
    .type = LB_INTEG_SUCCESSFACTORS,
    .organization = "initech",
    .api_base_url = "https://initech.example.com",
    .catalog_public = true,
    .catalog_custom_tracks = false,
    .catalog_types = PUBLIC_TYPES,
    .completions = false,
    .user_identifier = LB_UID_EMAIL },
};

static lb_config cfg = {
  .provider = { .code = "datacamp",
                .ocn_provider_id = "DATACAMP",
                .logo_url = "https://cdn.example.com/logo.png",
                .assessment_num_questions = 15 },
  .integrations = integrations,
  .nintegrations = sizeof(integrations) / sizeof(integrations[0]),
};

static void plan_catalog(lb_plan *plan, const char *type, const char *org)
{
  char buf[1024];
  snprintf(buf, sizeof(buf),
           "{\"schema\":\"catalog.v1\",\"event_id\":\"e-%s\",\"event_type\":\"content.upserted\","
           "\"occurred_at\":\"2026-01-02T03:04:05Z\",\"version\":12,\"content\":{\"id\":\"42\","
           "\"type\":\"%s\",\"title\":\"T\",\"description\":\"D\",\"url\":\"https://x.example/42\","
           "\"organization_id\":%s}}",
           type, type, org);
  assert_int_equal(lb_plan_catalog(&cfg, buf, strlen(buf), 0, plan), LB_E_OK);
}

/* "id:send" / "id:skip" per plan item, comma-separated. */
static const char *summary(const lb_plan *plan, char *buf, size_t len)
{
  buf[0] = '\0';
  for (size_t i = 0; i < plan->n; i++) {
    size_t used = strlen(buf);
    snprintf(buf + used, len - used, "%s%s:%s", i ? "," : "", plan->items[i].integration->id,
             plan->items[i].skip ? "skip" : "send");
  }
  return buf;
}

static void test_catalog_routing(void **state)
{
  (void)state;
  static const struct {
    const char *type, *org, *expect;
  } cases[] = {
    /* public content: the provider-level Degreed and SF customers whose
     * filter takes the type; acme's Degreed takes no public content */
    { "course", "null", "provider-degreed:send,globex-sf:send,initech-sf:send" },
    { "practice", "null", "provider-degreed:send,globex-sf:skip,initech-sf:send" },
    { "assessment", "null", "provider-degreed:send,globex-sf:skip,initech-sf:send" },
    /* a custom track only to its own organization's integrations */
    { "custom_track", "\"acme\"", "acme-degreed:send" },
    { "custom_track", "\"globex\"", "globex-sf:send" },
    { "custom_track", "\"initech\"", "initech-sf:skip" },
    { "custom_track", "\"umbrella\"", "" },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char got[256];
    lb_plan plan;
    plan_catalog(&plan, cases[i].type, cases[i].org);
    assert_false(plan.dead_letter);
    if (strcmp(summary(&plan, got, sizeof(got)), cases[i].expect) != 0)
      fail_msg("%s %s: got \"%s\", expected \"%s\"", cases[i].type, cases[i].org, got,
               cases[i].expect);
    lb_plan_release(&plan);
  }
}

static void test_catalog_plan_contents(void **state)
{
  (void)state;
  lb_plan plan;
  plan_catalog(&plan, "course", "null");
  assert_string_equal(plan.event_id, "e-course");
  assert_string_equal(plan.item_key, "course-42");
  assert_int_equal(plan.version, 12);
  /* Degreed: create, lookup, update; OCN: one course for the batch */
  assert_int_equal(plan.items[0].requests.n, 3);
  assert_int_equal(plan.items[1].requests.n, 1);
  assert_int_equal(plan.items[1].requests.items[0].step, LB_STEP_OCN_COURSE);
  lb_plan_release(&plan);

  plan_catalog(&plan, "practice", "null");
  assert_true(plan.items[1].skip);
  assert_string_equal(plan.items[1].integration->id, "globex-sf");
  assert_non_null(strstr(plan.items[1].reason, "catalog.types"));
  assert_int_equal(plan.items[1].requests.n, 0);
  lb_plan_release(&plan);
}

static void test_invalid_events_are_dead_lettered(void **state)
{
  (void)state;
  static const char *const values[] = {
    "",
    "not json",
    "[]",
    "{\"schema\":\"catalog.v1\"}",
    "{\"schema\":\"catalog.v1\",\"event_id\":\"e\",\"event_type\":\"content.upserted\","
    "\"occurred_at\":\"2026-01-02T03:04:05Z\",\"version\":1,\"content\":{\"id\":\"1\","
    "\"type\":\"course\",\"title\":\"T\",\"description\":\"\",\"url\":\"http://x.example\"}}",
  };
  static const char *const reasons[] = {
    "$: empty input",
    "$: not valid JSON",
    "$: must be a JSON object",
    "event_id: is required",
    "content.url: must be an https:// URL",
  };
  for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
    lb_plan plan;
    assert_int_equal(lb_plan_catalog(&cfg, values[i], strlen(values[i]), 0, &plan), LB_E_OK);
    assert_true(plan.dead_letter);
    assert_string_equal(plan.dlq_class, "invalid_event");
    if (strncmp(plan.dlq_message, reasons[i], strlen(reasons[i])) != 0)
      fail_msg("case %zu: \"%s\" does not start with \"%s\"", i, plan.dlq_message, reasons[i]);
    assert_int_equal(plan.n, 0);
    lb_plan_release(&plan);
  }
}

static void plan_completion(lb_plan *plan, const char *org, const char *type, const char *extra)
{
  char buf[1024];
  snprintf(buf, sizeof(buf),
           "{\"schema\":\"completion.v1\",\"event_id\":\"c1\",\"occurred_at\":"
           "\"2026-03-04T10:00:00Z\",\"organization_id\":\"%s\",\"user\":{\"id\":\"u1\","
           "\"email\":\"ada@example.com\"},\"content\":{\"id\":\"7\",\"type\":\"%s\"},"
           "\"completed_at\":\"2026-03-04T09:00:00Z\"%s}",
           org, type, extra);
  assert_int_equal(lb_plan_completion(&cfg, buf, strlen(buf), 1800000000000, plan), LB_E_OK);
  assert_false(plan->dead_letter);
}

static void test_completion_routing_and_skips(void **state)
{
  (void)state;
  static const struct {
    const char *org, *type, *extra, *expect, *reason;
  } cases[] = {
    { "acme", "course", "", "acme-degreed:send", NULL },
    { "acme", "course", ",\"skipped\":true", "acme-degreed:skip", "tested out" },
    { "acme", "skill_track", "", "acme-degreed:skip", "no completions" },
    /* globex's SF needs sso_nameid, which this learner lacks */
    { "globex", "course", "", "globex-sf:skip", "no sso_nameid" },
    { "initech", "course", "", "initech-sf:skip", "completions are off" },
    /* the provider-level integration never receives completions */
    { "*", "course", "", "", NULL },
    { "umbrella", "course", "", "", NULL },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char got[256];
    lb_plan plan;
    plan_completion(&plan, cases[i].org, cases[i].type, cases[i].extra);
    if (strcmp(summary(&plan, got, sizeof(got)), cases[i].expect) != 0)
      fail_msg("case %zu: got \"%s\", expected \"%s\"", i, got, cases[i].expect);
    if (cases[i].reason && !strstr(plan.items[0].reason, cases[i].reason))
      fail_msg("case %zu: reason \"%s\"", i, plan.items[0].reason);
    /* a skip the configuration asks for is quiet, one the event causes is not */
    if (cases[i].reason &&
        plan.items[0].quiet != (strcmp(cases[i].reason, "completions are off") == 0))
      fail_msg("case %zu: quiet %d", i, plan.items[0].quiet);
    lb_plan_release(&plan);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_catalog_routing),
    cmocka_unit_test(test_catalog_plan_contents),
    cmocka_unit_test(test_invalid_events_are_dead_lettered),
    cmocka_unit_test(test_completion_routing_and_skips),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
