/* lb_config's index (issue 16 item 7): the lookups a loaded configuration
 * answers without walking every integration (by id, by organization, the
 * public-catalog takers), and the planner that uses them: for a file of a
 * few hundred mixed integrations, every event plans exactly as it does
 * when every integration is asked (the same configuration without its
 * index). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_config.h"
#include "lb_log.h"
#include "lb_plan.h"
#include "lb_strbuf.h"

#define N 300 /* integrations: #0 the provider-level one, then customers */
#define NOW_MS 1767225600000LL

static const lb_config_defaults completion_defaults = {
  .worker = "completion-worker",
  .default_topic = "completion-events",
  .default_scopes = "completions:write",
  .skill_ratings_scope = "skill_ratings:write",
};

static lb_config cfg;

/* Customer i (1..N-1): organization org-(i/2), so most organizations have
 * two integrations of different types; some take public content, some
 * have completions or custom tracks off. */
static void integration(lb_strbuf *b, int i)
{
  if (i == 0) {
    lb_strbuf_append(b, "{ id = \"provider\"; type = \"degreed\"; organization = \"*\";"
                        " client_id = \"p\"; client_secret = \"@env:T_SECRET\"; }");
    return;
  }
  const char *extra_completions = i % 7 == 0 ? " completions = false;" : "";
  switch (i % 3) {
  case 0:
    lb_strbuf_appendf(b,
                      "{ id = \"c%d-de\"; type = \"degreed\"; organization = \"org-%d\";"
                      " client_id = \"id%d\"; client_secret = \"@env:T_SECRET\";%s%s }",
                      i, i / 2, i, extra_completions,
                      i % 11 == 0 ? " catalog = { custom_tracks = false; };" : "");
    break;
  case 1:
    lb_strbuf_appendf(b,
                      "{ id = \"c%d-sf\"; type = \"successfactors\"; organization = \"org-%d\";"
                      " base_url = \"https://sf%d.example.com\"; company_id = \"C%d\";"
                      " admin_user = \"ocn_admin\"; client_id = \"C%d\";"
                      " client_secret = \"@env:T_SECRET\";%s%s }",
                      i, i / 2, i, i, i, extra_completions,
                      i % 5 == 0   ? " catalog = { public = true; types = [\"course\"]; };"
                      : i % 4 == 0 ? " catalog = { public = true; };"
                                   : "");
    break;
  default:
    lb_strbuf_appendf(b,
                      "{ id = \"c%d-xa\"; type = \"xapi\"; organization = \"org-%d\";"
                      " endpoint = \"https://lrs%d.example.com/xapi\"; username = \"k%d\";"
                      " password = \"@env:T_SECRET\";%s }",
                      i, i / 2, i, i, extra_completions);
  }
}

static int setup(void **state)
{
  (void)state;
  char path[512], *errors = NULL;
  lb_strbuf b;
  setenv("T_SECRET", "index-test-secret", 1);
  lb_strbuf_init(&b, 0);
  lb_strbuf_append(&b, "kafka: { brokers = \"127.0.0.1:9092\"; };\n"
                       "provider: { code = \"datacamp\"; ocn_provider_id = \"DATACAMP\";\n"
                       "  logo_url = \"https://cdn.example.com/logo.png\";\n"
                       "  activity_iri_base = \"https://learn.example.com/xapi\"; };\n"
                       "integrations = (\n");
  for (int i = 0; i < N; i++) {
    integration(&b, i);
    lb_strbuf_append(&b, i + 1 < N ? ",\n" : "\n);\n");
  }
  snprintf(path, sizeof(path), "%s/test_lb_config_index.conf", LB_TEST_TMP);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(b.buf, f);
  fclose(f);
  lb_strbuf_release(&b);
  lb_err rc = lb_config_load(&cfg, path, &completion_defaults, &errors);
  if (rc != LB_E_OK)
    fprintf(stderr, "%s", errors ? errors : "(no errors)");
  free(errors);
  assert_int_equal(rc, LB_E_OK);
  assert_int_equal(cfg.nintegrations, N);
  assert_non_null(cfg.index);
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  lb_config_release(&cfg);
  lb_log_clear_secrets();
  return 0;
}

static void test_by_id(void **state)
{
  (void)state;
  for (size_t i = 0; i < cfg.nintegrations; i++)
    assert_ptr_equal(lb_config_integration(&cfg, cfg.integrations[i].id), &cfg.integrations[i]);
  assert_null(lb_config_integration(&cfg, "c1-de")); /* #1 is SuccessFactors */
  assert_null(lb_config_integration(&cfg, "nobody"));
  assert_null(lb_config_integration(&cfg, ""));
  assert_null(lb_config_integration(&cfg, NULL));
}

/* lb_config_by_organization answers each organization's integrations, all
 * of them and only them, in the file's order; NULL and 0 for an unknown
 * one. */
static void test_by_organization(void **state)
{
  (void)state;
  size_t total = 0, n;
  const size_t *idx;
  for (size_t i = 0; i < cfg.nintegrations; i++) {
    const char *org = cfg.integrations[i].organization;
    idx = lb_config_by_organization(&cfg, org, &n);
    assert_non_null(idx);
    size_t want = 0;
    for (size_t j = 0; j < cfg.nintegrations; j++) {
      if (strcmp(cfg.integrations[j].organization, org) != 0)
        continue;
      assert_true(want < n);
      assert_int_equal(idx[want], j); /* the file's order */
      want++;
    }
    assert_int_equal(n, want);
    if (idx[0] == i) /* each organization once */
      total += n;
  }
  assert_int_equal(total, cfg.nintegrations);
  idx = lb_config_by_organization(&cfg, "*", &n);
  assert_int_equal(n, 1);
  assert_int_equal(idx[0], 0);
  assert_null(lb_config_by_organization(&cfg, "org-none", &n));
  assert_int_equal(n, 0);
  assert_null(lb_config_by_organization(&cfg, NULL, &n));
  assert_int_equal(n, 0);

  /* without an index: every integration, for the caller to judge */
  lb_config bare = cfg;
  bare.index = NULL;
  assert_null(lb_config_by_organization(&bare, "org-1", &n));
  assert_int_equal(n, cfg.nintegrations);
  assert_null(lb_config_public_catalog(&bare, &n));
  assert_int_equal(n, cfg.nintegrations);
  assert_ptr_equal(lb_config_integration(&bare, "c2-xa"), &cfg.integrations[2]);
}

static void test_public_catalog(void **state)
{
  (void)state;
  size_t n, want = 0;
  const size_t *idx = lb_config_public_catalog(&cfg, &n);
  assert_non_null(idx);
  for (size_t j = 0; j < cfg.nintegrations; j++) {
    if (!cfg.integrations[j].catalog_public)
      continue;
    assert_true(want < n);
    assert_int_equal(idx[want++], j);
  }
  assert_int_equal(n, want);
  assert_true(n > 2); /* the provider-level one and some SuccessFactors customers */
}

static void assert_same_plan(const lb_plan *a, const lb_plan *b, const char *what)
{
  if (a->n != b->n || a->dead_letter != b->dead_letter)
    fail_msg("%s: %zu items (dead letter %d) with the index, %zu (%d) without", what, a->n,
             a->dead_letter, b->n, b->dead_letter);
  for (size_t i = 0; i < a->n; i++) {
    const lb_plan_item *x = &a->items[i], *y = &b->items[i];
    assert_ptr_equal(x->integration, y->integration);
    assert_int_equal(x->skip, y->skip);
    assert_int_equal(x->quiet, y->quiet);
    assert_string_equal(x->reason ? x->reason : "", y->reason ? y->reason : "");
    assert_int_equal(x->requests.n, y->requests.n);
    for (size_t k = 0; k < x->requests.n; k++) {
      assert_string_equal(x->requests.items[k].url, y->requests.items[k].url);
      assert_string_equal(x->requests.items[k].body ? x->requests.items[k].body : "",
                          y->requests.items[k].body ? y->requests.items[k].body : "");
    }
  }
}

/* Plans `event` with the index and without (every integration asked):
 * the same items, in the same order. Returns the number of items. */
static size_t plan_both(lb_plan_fn fn, const char *event)
{
  lb_config bare = cfg;
  bare.index = NULL;
  lb_plan a, b;
  assert_int_equal(fn(&cfg, event, strlen(event), NOW_MS, &a), LB_E_OK);
  assert_int_equal(fn(&bare, event, strlen(event), NOW_MS, &b), LB_E_OK);
  assert_same_plan(&a, &b, event);
  size_t n = a.n;
  lb_plan_release(&a);
  lb_plan_release(&b);
  return n;
}

static void test_completions_plan_as_without_index(void **state)
{
  (void)state;
  static const char *const variants[] = {
    "\"content\":{\"id\":\"7\",\"type\":\"course\"}",
    "\"content\":{\"id\":\"7\",\"type\":\"course\"},\"skipped\":true",
    "\"content\":{\"id\":\"7\",\"type\":\"skill_track\"}",
  };
  char ev[1024], org[32];
  size_t routed = 0;
  for (int o = -2; o <= N / 2 + 1; o++) {
    if (o == -2)
      snprintf(org, sizeof(org), "*");
    else if (o == -1)
      snprintf(org, sizeof(org), "org-none");
    else
      snprintf(org, sizeof(org), "org-%d", o);
    for (size_t v = 0; v < sizeof(variants) / sizeof(variants[0]); v++) {
      snprintf(ev, sizeof(ev),
               "{\"schema\":\"completion.v1\",\"event_id\":\"e-%s-%zu\","
               "\"occurred_at\":\"2026-01-01T00:00:00Z\",\"organization_id\":\"%s\","
               "\"user\":{\"id\":\"u1\",\"email\":\"u1@example.com\",\"sso_nameid\":\"n1\"},"
               "%s,\"completed_at\":\"2026-01-01T00:00:00Z\"}",
               org, v, org, variants[v]);
      routed += plan_both(lb_plan_completion, ev);
    }
  }
  assert_true(routed > N); /* the events reached integrations, not only "none" */
}

static void test_catalog_plans_as_without_index(void **state)
{
  (void)state;
  static const char *const types[] = { "course",     "project",     "practice",
                                       "assessment", "skill_track", "career_track" };
  char ev[1024], org[32];
  size_t routed = 0;
  for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
    snprintf(ev, sizeof(ev),
             "{\"schema\":\"catalog.v1\",\"event_id\":\"p-%s\",\"event_type\":\"content.upserted\","
             "\"occurred_at\":\"2026-01-01T00:00:00Z\",\"version\":3,\"content\":{\"id\":\"42\","
             "\"type\":\"%s\",\"title\":\"T\",\"description\":\"D\","
             "\"url\":\"https://x.example/42\"}}",
             types[t], types[t]);
    routed += plan_both(lb_plan_catalog, ev);
  }
  for (int o = -1; o <= N / 2 + 1; o++) {
    snprintf(org, sizeof(org), o < 0 ? "org-none" : "org-%d", o);
    snprintf(ev, sizeof(ev),
             "{\"schema\":\"catalog.v1\",\"event_id\":\"t-%s\",\"event_type\":\"content.upserted\","
             "\"occurred_at\":\"2026-01-01T00:00:00Z\",\"version\":3,\"content\":{\"id\":\"9\","
             "\"type\":\"custom_track\",\"title\":\"T\",\"description\":\"D\","
             "\"url\":\"https://x.example/9\",\"organization_id\":\"%s\"}}",
             org, org);
    routed += plan_both(lb_plan_catalog, ev);
  }
  assert_true(routed > N / 2);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_by_id),
    cmocka_unit_test(test_by_organization),
    cmocka_unit_test(test_public_catalog),
    cmocka_unit_test(test_completions_plan_as_without_index),
    cmocka_unit_test(test_catalog_plans_as_without_index),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
