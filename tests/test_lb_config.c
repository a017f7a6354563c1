/* lb_config: the example configuration loads with the documented defaults;
 * every class of mistake is refused with "file:line: key: what"; secrets
 * are resolved, registered for redaction and absent from the summary. */
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

static const lb_config_defaults catalog_defaults = {
  .worker = "catalog-worker",
  .default_topic = "catalog-events",
  .default_scopes = "content:read,content:write",
  .keeps_state = true,
};

static const lb_config_defaults completion_defaults = {
  .worker = "completion-worker",
  .default_topic = "completion-events",
  .default_scopes = "completions:write",
  .skill_ratings_scope = "skill_ratings:write",
};

static char path[512];

static const char *write_config(const char *text)
{
  snprintf(path, sizeof(path), "%s/test_lb_config.conf", LB_TEST_TMP);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  return path;
}

#define HEAD                                                                                       \
  "kafka: { brokers = \"127.0.0.1:9092\"; };\n"                                                    \
  "provider: { code = \"datacamp\"; ocn_provider_id = \"DATACAMP\";\n"                             \
  "  logo_url = \"https://cdn.example.com/logo.png\"; };\n"

#define DEGREED(extra)                                                                             \
  "{ id = \"acme-degreed\"; type = \"degreed\"; organization = \"acme\";\n"                        \
  "  client_id = \"@env:T_ID\"; client_secret = \"@env:T_SECRET\";" extra " }"

#define SF(extra)                                                                                  \
  "{ id = \"globex-sf\"; type = \"successfactors\"; organization = \"globex\";\n"                  \
  "  base_url = \"https://globex.example.com/\"; company_id = \"GLOBEX\";\n"                       \
  "  admin_user = \"ocn_admin\"; client_id = \"GLOBEX\";\n"                                        \
  "  client_secret = \"@env:T_SECRET\";" extra " }"

static int setup(void **state)
{
  (void)state;
  setenv("T_ID", "client-one", 1);
  setenv("T_SECRET", "s3cr3t-value-for-tests", 1);
  unsetenv("T_MISSING");
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  lb_log_clear_secrets();
  remove(path);
  return 0;
}

static void test_example_file_loads_with_defaults(void **state)
{
  (void)state;
  char src[600], *errors = NULL;
  lb_config cfg;
  setenv("PROVIDER_DEGREED_ID", "p-id", 1);
  setenv("PROVIDER_DEGREED_SECRET", "p-secret-xyz", 1);
  setenv("ACME_DEGREED_ID", "a-id", 1);
  setenv("ACME_DEGREED_SECRET", "a-secret-xyz", 1);
  setenv("GLOBEX_SF_ID", "GLOBEX", 1);
  setenv("GLOBEX_SF_SECRET", "g-secret-xyz", 1);
  snprintf(src, sizeof(src), "%s/deploy/examples/catalog-worker.conf", LB_SOURCE_DIR);
  lb_err rc = lb_config_load(&cfg, src, &catalog_defaults, &errors);
  if (rc != LB_E_OK)
    fail_msg("%s", errors);
  assert_string_equal(cfg.kafka.group_id, "catalog-worker");
  assert_int_equal(cfg.kafka.ntopics, 1);
  assert_string_equal(cfg.kafka.topics[0], "catalog-events");
  assert_string_equal(cfg.kafka.dlq_topic, "catalog-events.dlq");
  assert_string_equal(cfg.kafka.state_topic, "catalog-events.state");
  assert_int_equal(cfg.kafka.nproperties, 1);
  assert_int_equal(cfg.delivery.max_in_flight, 256);
  assert_int_equal(cfg.provider.assessment_num_questions, 15);
  assert_string_equal(lb_provider_thumbnail(&cfg.provider, "Python"),
                      "https://assets.datacamp.com/thumbnails/python.png");
  assert_string_equal(lb_provider_thumbnail(&cfg.provider, "scala"),
                      "https://assets.datacamp.com/logo.png");
  assert_int_equal(cfg.nintegrations, 3);

  const lb_integration *p = lb_config_integration(&cfg, "provider-degreed");
  assert_non_null(p);
  assert_true(p->provider_level);
  assert_true(p->catalog_public);
  assert_false(p->catalog_custom_tracks);
  assert_false(p->completions);
  assert_string_equal(p->api_base_url, "https://api.degreed.com");
  assert_string_equal(p->token_url, "https://degreed.com/oauth/token");
  assert_int_equal(p->rate_limit_per_minute, 70);
  assert_string_equal(p->scopes, "content:read,content:write");

  const lb_integration *a = lb_config_integration(&cfg, "acme-degreed");
  assert_string_equal(a->api_base_url, "https://api.eu.degreed.com");
  assert_string_equal(a->token_url, "https://eu.degreed.com/oauth/token");
  assert_false(a->catalog_public);
  assert_true(a->catalog_custom_tracks);
  assert_string_equal(a->client_id, "a-id");
  assert_string_equal(a->client_secret, "a-secret-xyz");

  const lb_integration *g = lb_config_integration(&cfg, "globex-sf");
  assert_int_equal(g->type, LB_INTEG_SUCCESSFACTORS);
  assert_string_equal(g->token_url,
                      "https://globex.example-lms.com/learning/oauth-api/rest/v1/token");
  assert_int_equal(g->catalog_types, LB_CT_BIT(LB_CT_COURSE) | LB_CT_BIT(LB_CT_PROJECT) |
                                         LB_CT_BIT(LB_CT_ASSESSMENT));
  assert_int_equal(g->user_identifier, LB_UID_SSO_NAMEID);
  assert_int_equal(g->batch_size, 500);
  assert_int_equal(g->min_post_interval_s, 300);
  assert_null(lb_config_integration(&cfg, "nope"));
  lb_config_release(&cfg);
}

static void test_defaults_and_overrides(void **state)
{
  (void)state;
  char *errors = NULL;
  lb_config cfg;
  const char *p = write_config(HEAD "integrations = (\n" DEGREED(
      " datacenter = \"ca\"; api_base_url = "
      "\"http://127.0.0.1:8080/t/acme/\";"
      " token_url = \"http://localhost:8080/t/acme/oauth/token\";"
      " rate_limit_per_minute = 10; max_in_flight = 3; skill_ratings = "
      "false;") ",\n" SF(" user_identifier = \"lms_username\"; batch_size = "
                         "1000; completions = false;") ");\n");
  lb_err rc = lb_config_load(&cfg, p, &completion_defaults, &errors);
  if (rc != LB_E_OK)
    fail_msg("%s", errors);
  assert_string_equal(cfg.kafka.topics[0], "completion-events");
  assert_string_equal(cfg.kafka.retry_topic, "completion-events.retry");
  assert_null(cfg.kafka.state_topic); /* completion-worker keeps no state */
  assert_string_equal(cfg.observability.listen, "127.0.0.1:9464");
  const lb_integration *d = &cfg.integrations[0];
  assert_string_equal(d->api_base_url, "http://127.0.0.1:8080/t/acme");
  assert_string_equal(d->token_url, "http://localhost:8080/t/acme/oauth/token");
  assert_int_equal(d->rate_limit_per_minute, 10);
  assert_int_equal(d->max_in_flight, 3);
  assert_true(d->completions);
  /* no skill ratings: the scope is not asked for */
  assert_string_equal(d->scopes, "completions:write");
  const lb_integration *s = &cfg.integrations[1];
  assert_string_equal(s->api_base_url, "https://globex.example.com");
  assert_int_equal(s->user_identifier, LB_UID_LMS_USERNAME);
  assert_int_equal(s->batch_size, 1000);
  assert_false(s->completions);
  assert_null(s->client_id_ref);
  lb_config_release(&cfg);

  p = write_config(HEAD "integrations = (" DEGREED("") ");\n");
  rc = lb_config_load(&cfg, p, &completion_defaults, &errors);
  assert_int_equal(rc, LB_E_OK);
  assert_string_equal(cfg.integrations[0].scopes, "completions:write,skill_ratings:write");
  lb_config_release(&cfg);

  /* the catalog state topic: the first topic's, or the one given */
  p = write_config("kafka: { brokers = \"b\"; topics = [\"cat-a\", \"cat-b\"]; };\n"
                   "provider: { code = \"c\"; logo_url = \"https://x.example/l.png\"; };\n");
  rc = lb_config_load(&cfg, p, &catalog_defaults, &errors);
  if (rc != LB_E_OK)
    fail_msg("%s", errors);
  assert_string_equal(cfg.kafka.state_topic, "cat-a.state");
  lb_config_release(&cfg);
  p = write_config("kafka: { brokers = \"b\"; state_topic = \"catalog.delivered\"; };\n"
                   "provider: { code = \"c\"; logo_url = \"https://x.example/l.png\"; };\n");
  rc = lb_config_load(&cfg, p, &catalog_defaults, &errors);
  if (rc != LB_E_OK)
    fail_msg("%s", errors);
  assert_string_equal(cfg.kafka.state_topic, "catalog.delivered");
  lb_config_release(&cfg);
  /* completion-worker has none by default; one given is only read (the
   * worker check refuses it: lb_worker_check_config) */
  rc = lb_config_load(&cfg, p, &completion_defaults, &errors);
  if (rc != LB_E_OK)
    fail_msg("%s", errors);
  assert_string_equal(cfg.kafka.state_topic, "catalog.delivered");
  lb_config_release(&cfg);
}

/* The kafka group from line 1, then the provider group; `kafka` and
 * `provider` add settings (and lines) to them. */
#define HEAD2(kafka, provider)                                                                     \
  "kafka: { brokers = \"b\";" kafka " };\n"                                                        \
  "provider: { code = \"c\";" provider "\n"                                                        \
  "  logo_url = \"https://x.example/l.png\"; };\n"

/* A Degreed integration on two lines (three with extra): id, type and
 * organization on the first, then the credentials with `secret`. */
#define DEGREED_AT(org, secret, extra)                                                             \
  "{ id = \"a\"; type = \"degreed\"; organization = \"" org "\";\n"                                \
  "  client_id = \"x\";\n"                                                                         \
  "  client_secret = " secret ";" extra " }"

#define INTEGRATIONS(list) HEAD "integrations = (" list ");\n"

/* Each bad configuration and the report line it must give: the exact line,
 * the key and the start of what is wrong. A setting's problem is reported at
 * the setting's line, not at the line of its group; a missing setting at the
 * group's line. */
static const struct {
  const char *text;
  int line;
  const char *key;
  const char *what;
} bad[] = {
  /* syntax and unknown settings */
  { "kafka: { brokers = \"x\" \n", 2, "(syntax)", "syntax error" },
  { HEAD "unknown_group = 1;\n", 4, "unknown_group", "unknown setting" },
  { INTEGRATIONS(DEGREED(" colour = \"red\";")), 5, "integrations[0].colour", "unknown setting" },
  { INTEGRATIONS(SF(" datacenter = \"us\";")), 7, "integrations[0].datacenter",
    "is not a setting of successfactors integrations" },
  { INTEGRATIONS(DEGREED(" batch_size = 5;")), 5, "integrations[0].batch_size",
    "is not a setting of degreed integrations" },
  /* missing required settings: the group's line */
  { "kafka: { group_id = \"g\"; };\nprovider: { code = \"c\"; logo_url = "
    "\"https://x.example/l.png\"; };\n",
    1, "kafka.brokers", "missing required setting" },
  { HEAD "integrations = (\n{ id = \"s\"; type = \"successfactors\";\n"
         "  organization = \"globex\"; base_url = \"https://g.example.com\";\n"
         "  admin_user = \"a\"; client_id = \"x\"; client_secret = \"@env:T_SECRET\"; });\n",
    5, "integrations[0].company_id", "missing required setting" },
  { HEAD2("", "") "integrations = (" SF("") ");\n", 2, "provider.ocn_provider_id",
    "is required when a successfactors integration is configured" },
  /* duplicate integration ids: the line of the second id */
  { INTEGRATIONS(DEGREED("") ",\n{ type = \"degreed\"; organization = \"acme\";\n"
                             "  id = \"acme-degreed\"; client_id = \"x\";"
                             " client_secret = \"@env:T_SECRET\"; }"),
    7, "integrations[1].id",
    "duplicate integration id \"acme-degreed\" (first defined on line 4)" },
  { INTEGRATIONS("{ type = \"degreed\"; organization = \"o\";\n"
                 "  id = \"has space\"; client_id = \"x\";"
                 " client_secret = \"@env:T_SECRET\"; }"),
    5, "integrations[0].id", "\"has space\" must be 1-64 letters" },
  /* unknown integration types, datacenters, identifiers */
  { INTEGRATIONS("{ id = \"x\"; organization = \"o\";\n  type = \"moodle\"; }"), 5,
    "integrations[0].type", "unknown integration type \"moodle\"" },
  { INTEGRATIONS(DEGREED(" datacenter = \"au\";")), 5, "integrations[0].datacenter",
    "unknown datacenter \"au\"" },
  { INTEGRATIONS(SF(" user_identifier = \"employee_id\";")), 7, "integrations[0].user_identifier",
    "unknown identifier \"employee_id\"" },
  /* bad URLs */
  { INTEGRATIONS(DEGREED(" token_url = \"ftp://x.example.com/t\";")), 5,
    "integrations[0].token_url", "\"ftp://x.example.com/t\" must be an https:// URL" },
  { INTEGRATIONS(DEGREED(" api_base_url = \"https://\";")), 5, "integrations[0].api_base_url",
    "\"https://\" has no host" },
  { HEAD2("", "\n  thumbnails = { r = \"https://x.example/r.png\";\n"
              "    python = \"x.example/p.png\"; };"),
    4, "provider.thumbnails.python", "must be an https URL" },
  /* non-https endpoints outside loopback */
  { INTEGRATIONS(DEGREED(" api_base_url = \"http://api.example.com\";")), 5,
    "integrations[0].api_base_url", "\"http://api.example.com\" must use https" },
  { INTEGRATIONS(SF(" token_url = \"http://sso.example.com/t\";")), 7, "integrations[0].token_url",
    "\"http://sso.example.com/t\" must use https" },
  { INTEGRATIONS("{ id = \"s\"; type = \"successfactors\"; organization = \"g\";\n"
                 "  company_id = \"G\"; admin_user = \"a\"; client_id = \"x\";\n"
                 "  base_url = \"http://g.example.com\";\n"
                 "  client_secret = \"@env:T_SECRET\"; }"),
    6, "integrations[0].base_url", "\"http://g.example.com\" must use https" },
  { "kafka: { brokers = \"b\"; };\nprovider: { code = \"c\";\n"
    "  logo_url = \"http://x.example/l.png\"; };\n",
    3, "provider.logo_url", "\"http://x.example/l.png\" must be an https URL" },
  /* missing secrets, and secrets written in the file */
  { INTEGRATIONS(DEGREED_AT("o", "\"@env:T_MISSING\"", "")), 6, "integrations[0].client_secret",
    "environment variable \"T_MISSING\" is not set" },
  { INTEGRATIONS(DEGREED_AT("o", "\"@file:/nonexistent/secret\"", "")), 6,
    "integrations[0].client_secret", "cannot open secret file \"/nonexistent/secret\"" },
  { INTEGRATIONS(DEGREED_AT("o", "\"plain-text\"", "")), 6, "integrations[0].client_secret",
    "secrets are never written in the file" },
  { HEAD2("\n  properties = ( [\"sasl.password\", \"@env:T_MISSING\"] );", ""), 2,
    "kafka.properties[\"sasl.password\"]", "environment variable \"T_MISSING\" is not set" },
  { HEAD2("\n  properties = ( [\"sasl.password\", \"hunter22\"] );", ""), 2,
    "kafka.properties[\"sasl.password\"]", "secrets are never written in the file" },
  /* unknown content types */
  { INTEGRATIONS(DEGREED(" catalog = { types = [\"course\",\n \"webinar\"]; };")), 6,
    "integrations[0].catalog.types", "unknown content type \"webinar\"" },
  { INTEGRATIONS(DEGREED(" catalog = { types = [\"custom_track\"]; };")), 5,
    "integrations[0].catalog.types", "custom_track is governed by catalog.custom_tracks" },
  /* provider-level integration rules */
  { INTEGRATIONS(DEGREED_AT("*", "\"@env:T_SECRET\"", "\n  completions = true;")), 7,
    "integrations[0].completions", "cannot be true for the provider-level integration" },
  { INTEGRATIONS(DEGREED_AT("*", "\"@env:T_SECRET\"", " catalog = {\n  custom_tracks = true; };")),
    7, "integrations[0].catalog.custom_tracks",
    "cannot be true for the provider-level integration" },
  /* ranges and types */
  { INTEGRATIONS(SF(" batch_size = 1001;")), 7, "integrations[0].batch_size",
    "must be between 1 and 1000, not 1001" },
  { HEAD "delivery: { max_in_flight = 2;\n  max_attempts = \"many\"; };\n", 5,
    "delivery.max_attempts", "must be an integer" },
  { HEAD "delivery: { backoff_initial_ms = 1000;\n  backoff_max_ms = 10; };\n", 5,
    "delivery.backoff_max_ms", "must not be below delivery.backoff_initial_ms" },
  { HEAD "observability: { listen = \"127.0.0.1:1\";\n  log_level = \"verbose\"; };\n", 5,
    "observability.log_level", "\"verbose\" must be debug, info, warn or error" },
  { HEAD "observability: { log_level = \"info\";\n  listen = \"9464\"; };\n", 5,
    "observability.listen", "\"9464\" must be host:port" },
  /* kafka */
  { HEAD2(" topics = [\"events\",\n  \"bad topic\"];", ""), 2, "kafka.topics",
    "element 1 is not a valid topic name" },
  { HEAD2(" topics = [\"events\"];\n  dlq_topic = \"events\";", ""), 2, "kafka.dlq_topic",
    "must not be one of kafka.topics" },
  { HEAD2(" topics = [\"events\"];\n  state_topic = \"events\";", ""), 2, "kafka.state_topic",
    "must not be one of kafka.topics" },
  { HEAD2("\n  state_topic = \"catalog-events.retry\";", ""), 2, "kafka.state_topic",
    "must differ from kafka.dlq_topic and kafka.retry_topic" },
  { HEAD2("\n  state_topic = \"bad topic\";", ""), 2, "kafka.state_topic",
    "is not a valid topic name" },
  { HEAD2("\n  properties = ( [\"group.id\", \"x\"] );", ""), 2, "kafka.properties[\"group.id\"]",
    "is set by lmsbridge" },
  { HEAD2("\n  properties = ( [\"group.instance.id\", \"x\"] );", ""), 2,
    "kafka.properties[\"group.instance.id\"]",
    "is set by lmsbridge (use kafka.brokers / "
    "kafka.group_id / kafka.group_instance_id)" },
  { HEAD2("\n  group_instance_id = \"pod 0\";", ""), 2, "kafka.group_instance_id",
    "\"pod 0\" is not a valid group instance id" },
  { HEAD2("\n  group_instance_id = \"\";", ""), 2, "kafka.group_instance_id",
    "\"\" is not a valid group instance id" },
  { HEAD2("\n  group_instance_id = \"@env:T_MISSING\";", ""), 2, "kafka.group_instance_id",
    "environment variable" },
  { HEAD2("\n  group_instance_id = 7;", ""), 2, "kafka.group_instance_id", "must be a string" },
  { HEAD2("\n  properties = ( [\"no.such.property\", \"x\"] );", ""), 2,
    "kafka.properties[\"no.such.property\"]", "rejected by librdkafka" },
  { HEAD2("\n  properties = ( [\"linger.ms\"] );", ""), 2, "kafka.properties[0]",
    "must be a [\"name\", \"value\"] pair of strings" },
};

static void test_bad_configs_name_file_line_key(void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char *errors = NULL, want[1024], *nl;
    lb_config cfg;
    const char *p = write_config(bad[i].text);
    snprintf(want, sizeof(want), "%s:%d: %s: %s", p, bad[i].line, bad[i].key, bad[i].what);
    lb_err rc = lb_config_load(&cfg, p, &catalog_defaults, &errors);
    if (rc != LB_E_CONFIG)
      fail_msg("case %zu: loaded, expected \"%s\"", i, want);
    assert_non_null(errors);
    /* one mistake, one report line: file:line: key: what */
    nl = strchr(errors, '\n');
    if (strncmp(errors, want, strlen(want)) != 0 || !nl || nl[1])
      fail_msg("case %zu: expected one line starting \"%s\", got:\n%s", i, want, errors);
    /* nothing of the loaded config survives a failure */
    assert_null(cfg.integrations);
    assert_null(cfg.kafka.brokers);
    free(errors);
  }
}

static void test_all_errors_are_reported(void **state)
{
  (void)state;
  char *errors = NULL;
  lb_config cfg;
  const char *p = write_config(HEAD "integrations = (" DEGREED(
      " datacenter = \"au\"; colour = 1;") ",\n" SF(" batch_size = 0;") ");\n");
  assert_int_equal(lb_config_load(&cfg, p, &catalog_defaults, &errors), LB_E_CONFIG);
  assert_non_null(strstr(errors, "datacenter"));
  assert_non_null(strstr(errors, "colour"));
  assert_non_null(strstr(errors, "batch_size"));
  free(errors);
}

/* A value quoted in a report is one line of it, whatever the file holds
 * (found by fuzzing: a newline in a value started a line of its own). */
static void test_quoted_values_stay_on_their_line(void **state)
{
  (void)state;
  char *errors = NULL;
  lb_config cfg;
  const char *p = write_config(HEAD2(
      "\n  properties = ( [\"no.such\\nproperty\", \"x\"] );",
      " ocn_provider_id = \"P\";") "integrations = (" SF(" user_identifier = \"sso\n/x.conf:1: "
                                                         "forged: \\x1b[31m\";") ");\n");
  assert_int_equal(lb_config_load(&cfg, p, &catalog_defaults, &errors), LB_E_CONFIG);
  assert_non_null(strstr(errors, "kafka.properties[\"no.such?property\"]: rejected by librdkafka"));
  assert_non_null(strstr(errors, "unknown identifier \"sso?/x.conf:1: forged: ?[31m\""));
  /* two problems, two lines, each about the file */
  const char *second = strchr(errors, '\n') + 1;
  assert_int_equal(strncmp(errors, p, strlen(p)), 0);
  assert_int_equal(strncmp(second, p, strlen(p)), 0);
  assert_string_equal(strchr(second, '\n'), "\n");
  free(errors);
}

static void test_missing_file(void **state)
{
  (void)state;
  char *errors = NULL;
  lb_config cfg;
  assert_int_equal(lb_config_load(&cfg, "/nonexistent/lmsbridge.conf", &catalog_defaults, &errors),
                   LB_E_CONFIG);
  assert_non_null(strstr(errors, "/nonexistent/lmsbridge.conf:0: (file): cannot read"));
  free(errors);
}

/* The syntax check before a reload says what lb_config_load says, and
 * reads in a child: a file libconfig leaks on ("" alone, a stray string)
 * costs this process nothing (under LeakSanitizer, a leak here fails the
 * test program). */
static void test_syntax_check_in_a_child(void **state)
{
  (void)state;
  static const char *const broken[] = { "\"\"", "a = 1;\n\"stray\"\n", "kafka = {" };
  for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
    const char *path = write_config(broken[i]);
    char *checked = NULL, *loaded = NULL;
    lb_config cfg;
    for (int k = 0; k < 50; k++) { /* SIGHUP again and again */
      free(checked);
      assert_int_equal(lb_config_syntax_check(path, &checked), LB_E_CONFIG);
    }
    assert_non_null(strstr(checked, "(syntax): syntax error"));
    if (i < 2) { /* libconfig leaks on these in this process */
      free(checked);
      continue;
    }
    assert_int_equal(lb_config_load(&cfg, path, &catalog_defaults, &loaded), LB_E_CONFIG);
    assert_string_equal(checked, loaded);
    free(checked);
    free(loaded);
  }
  char *errors = NULL;
  assert_int_equal(lb_config_syntax_check(write_config("a = \"fine\";\n"), &errors), LB_E_OK);
  assert_null(errors);
  assert_int_equal(lb_config_syntax_check("/nonexistent/lmsbridge.conf", &errors), LB_E_CONFIG);
  assert_non_null(strstr(errors, "/nonexistent/lmsbridge.conf:0: (file): cannot read"));
  free(errors);
}

static void test_secret_from_file_and_redaction(void **state)
{
  (void)state;
  char secret_path[512], conf[2048], *errors = NULL;
  lb_config cfg;
  snprintf(secret_path, sizeof(secret_path), "%s/test_lb_config.secret", LB_TEST_TMP);
  FILE *f = fopen(secret_path, "w");
  assert_non_null(f);
  fputs("file-secret-0123\n", f);
  fclose(f);
  snprintf(conf, sizeof(conf),
           HEAD "integrations = ({ id = \"a\"; type = \"degreed\"; organization = \"o\";"
                " client_id = \"plain-id\"; client_secret = \"@file:%s\"; });\n",
           secret_path);
  const char *p = write_config(conf);
  lb_err rc = lb_config_load(&cfg, p, &catalog_defaults, &errors);
  if (rc != LB_E_OK)
    fail_msg("%s", errors);
  assert_string_equal(cfg.integrations[0].client_secret, "file-secret-0123");

  /* registered with the log redaction; the id is not a secret */
  char out[128];
  lb_log_redact("token file-secret-0123 for plain-id", out, sizeof(out));
  assert_string_equal(out, "token [REDACTED] for plain-id");

  /* the --check-config summary names the reference, never the value */
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  lb_config_print_summary(&cfg, mem);
  fclose(mem);
  assert_null(strstr(text, "file-secret-0123"));
  assert_non_null(strstr(text, "client_secret: <secret from @file:"));
  assert_non_null(strstr(text, "client_id: plain-id"));
  free(text);
  lb_config_release(&cfg);
  remove(secret_path);
}

/* kafka.group_instance_id: a value or a reference resolved as the secrets
 * are (each pod's own "@env:POD_NAME"), not redacted (it is no secret),
 * shown by --check-config with its reference; dlq-replay's kafka-only mode
 * only checks the reference (it never joins the group). */
static void test_group_instance_id(void **state)
{
  (void)state;
  char *errors = NULL, *text = NULL, out[128];
  size_t len = 0;
  lb_config cfg;
  setenv("T_POD_NAME", "completion-worker-2", 1);
  const char *p = write_config(HEAD2("\n  group_instance_id = \"@env:T_POD_NAME\";", ""));
  if (lb_config_load(&cfg, p, &catalog_defaults, &errors) != LB_E_OK)
    fail_msg("%s", errors);
  assert_string_equal(cfg.kafka.group_instance_id, "completion-worker-2");
  assert_string_equal(cfg.kafka.group_instance_id_ref, "@env:T_POD_NAME");
  lb_log_redact("member completion-worker-2", out, sizeof(out));
  assert_string_equal(out, "member completion-worker-2");
  FILE *mem = open_memstream(&text, &len);
  lb_config_print_summary(&cfg, mem);
  fclose(mem);
  assert_non_null(strstr(text, "  group_instance_id: completion-worker-2 from @env:T_POD_NAME "
                               "(static membership)\n"));
  free(text);
  lb_config_release(&cfg);

  /* a plain value; none: dynamic membership */
  p = write_config(HEAD2("\n  group_instance_id = \"catalog-worker-0\";", ""));
  if (lb_config_load(&cfg, p, &catalog_defaults, &errors) != LB_E_OK)
    fail_msg("%s", errors);
  assert_string_equal(cfg.kafka.group_instance_id, "catalog-worker-0");
  assert_null(cfg.kafka.group_instance_id_ref);
  lb_config_release(&cfg);
  p = write_config(HEAD2("", ""));
  if (lb_config_load(&cfg, p, &catalog_defaults, &errors) != LB_E_OK)
    fail_msg("%s", errors);
  assert_null(cfg.kafka.group_instance_id);
  text = NULL;
  mem = open_memstream(&text, &len);
  lb_config_print_summary(&cfg, mem);
  fclose(mem);
  assert_non_null(strstr(text, "  group_instance_id: - (dynamic membership)\n"));
  free(text);
  lb_config_release(&cfg);

  /* dlq-replay: a variable it does not have is no error */
  lb_config_defaults kafka_only = catalog_defaults;
  kafka_only.kafka_only = true;
  p = write_config(HEAD2("\n  group_instance_id = \"@env:T_MISSING\";", ""));
  if (lb_config_load(&cfg, p, &kafka_only, &errors) != LB_E_OK)
    fail_msg("kafka-only: %s", errors);
  assert_null(cfg.kafka.group_instance_id);
  assert_string_equal(cfg.kafka.group_instance_id_ref, "@env:T_MISSING");
  lb_config_release(&cfg);
  unsetenv("T_POD_NAME");
}

/* dlq-replay's mode: the Kafka part and the integrations' ids, never the
 * integrations' credentials. A file whose customer secrets name unset
 * variables and missing files loads; the same file fails to load in the
 * workers' mode, each credential reported at its own line. */
static void test_kafka_only_leaves_integration_secrets_unresolved(void **state)
{
  (void)state;
  char conf[4096], *errors = NULL;
  lb_config cfg;
  lb_config_defaults kafka_only = completion_defaults;
  kafka_only.kafka_only = true;
  unsetenv("T_UNSET_ID");
  unsetenv("T_UNSET_SECRET");
  setenv("T_KAFKA_PASSWORD", "kafka-pass-7788", 1);
  snprintf(
      conf, sizeof(conf),
      /* line 1 */
      "kafka: { brokers = \"127.0.0.1:9092\";\n"
      /* line 2 */ "  properties = ( [\"sasl.password\", \"@env:T_KAFKA_PASSWORD\"] ); };\n"
      /* line 3 */ "provider: { code = \"datacamp\"; ocn_provider_id = \"DATACAMP\";\n"
      /* line 4 */ "  logo_url = \"https://cdn.example.com/logo.png\"; };\n"
      /* line 5 */ "integrations = (\n"
      /* line 6 */ "{ id = \"acme-degreed\"; type = \"degreed\"; organization = \"acme\";\n"
      /* line 7 */ "  client_id = \"@env:T_UNSET_ID\";\n"
      /* line 8 */ "  client_secret = \"@env:T_UNSET_SECRET\"; },\n"
      /* line 9 */ "{ id = \"globex-sf\"; type = \"successfactors\"; organization = \"globex\";\n"
      /* line 10 */ "  base_url = \"https://globex.example.com\"; company_id = \"GLOBEX\";\n"
      /* line 11 */ "  admin_user = \"ocn_admin\"; client_id = \"GLOBEX\";\n"
      /* line 12 */ "  client_secret = \"@file:%s/no-such-dir/globex.secret\"; } );\n",
      LB_TEST_TMP);
  const char *p = write_config(conf);

  lb_err rc = lb_config_load(&cfg, p, &kafka_only, &errors);
  if (rc != LB_E_OK)
    fail_msg("kafka-only: %s", errors);
  /* the Kafka part, its own secret resolved */
  assert_string_equal(cfg.kafka.brokers, "127.0.0.1:9092");
  assert_string_equal(cfg.kafka.dlq_topic, "completion-events.dlq");
  assert_int_equal(cfg.kafka.nproperties, 1);
  assert_string_equal(cfg.kafka.properties[0].value, "kafka-pass-7788");
  /* the integrations: ids and settings, references kept, nothing resolved */
  assert_int_equal(cfg.nintegrations, 2);
  const lb_integration *a = lb_config_integration(&cfg, "acme-degreed");
  assert_non_null(a);
  assert_null(a->client_id);
  assert_null(a->client_secret);
  assert_string_equal(a->client_id_ref, "@env:T_UNSET_ID");
  assert_string_equal(a->client_secret_ref, "@env:T_UNSET_SECRET");
  const lb_integration *g = lb_config_integration(&cfg, "globex-sf");
  assert_non_null(g);
  assert_string_equal(g->client_id, "GLOBEX"); /* a literal, as written */
  assert_null(g->client_secret);
  assert_non_null(strstr(g->client_secret_ref, "/no-such-dir/globex.secret"));
  assert_string_equal(g->api_base_url, "https://globex.example.com");
  lb_config_release(&cfg);

  /* the workers' mode: every credential reported, file:line: key: what */
  rc = lb_config_load(&cfg, p, &completion_defaults, &errors);
  assert_int_equal(rc, LB_E_CONFIG);
  char want[1024];
  snprintf(want, sizeof(want),
           "%s:7: integrations[0].client_id: environment variable "
           "\"T_UNSET_ID\" is not set\n",
           p);
  if (!strstr(errors, want))
    fail_msg("expected \"%s\" in:\n%s", want, errors);
  snprintf(want, sizeof(want),
           "%s:8: integrations[0].client_secret: environment variable "
           "\"T_UNSET_SECRET\" is not set\n",
           p);
  if (!strstr(errors, want))
    fail_msg("expected \"%s\" in:\n%s", want, errors);
  snprintf(want, sizeof(want), "%s:12: integrations[1].client_secret: ", p);
  if (!strstr(errors, want) || !strstr(errors, "no-such-dir"))
    fail_msg("expected \"%s...no-such-dir...\" in:\n%s", want, errors);
  free(errors);
  errors = NULL;

  /* kafka-only still checks what needs no secret: a literal client_secret,
   * a reference naming nothing; and Kafka's own references must resolve */
  static const struct {
    const char *secret;
    const char *kafka_ref;
    int line;
    const char *key;
    const char *what;
  } bad[] = {
    { "\"plain-text\"", "@env:T_KAFKA_PASSWORD", 8, "integrations[0].client_secret",
      "secrets are never written in the file" },
    { "\"@env:\"", "@env:T_KAFKA_PASSWORD", 8, "integrations[0].client_secret",
      "\"@env:\" names no variable" },
    { "\"@file:\"", "@env:T_KAFKA_PASSWORD", 8, "integrations[0].client_secret",
      "\"@file:\" names no file" },
    { "\"@env:T_UNSET_SECRET\"", "@env:T_UNSET_KAFKA", 2, "kafka.properties[\"sasl.password\"]",
      "environment variable \"T_UNSET_KAFKA\" is not set" },
  };
  unsetenv("T_UNSET_KAFKA");
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    snprintf(conf, sizeof(conf),
             "kafka: { brokers = \"127.0.0.1:9092\";\n"
             "  properties = ( [\"sasl.password\", \"%s\"] ); };\n"
             "provider: { code = \"datacamp\"; ocn_provider_id = \"DATACAMP\";\n"
             "  logo_url = \"https://cdn.example.com/logo.png\"; };\n"
             "integrations = (\n"
             "{ id = \"acme-degreed\"; type = \"degreed\"; organization = \"acme\";\n"
             "  client_id = \"@env:T_UNSET_ID\";\n"
             "  client_secret = %s; } );\n",
             bad[i].kafka_ref, bad[i].secret);
    p = write_config(conf);
    snprintf(want, sizeof(want), "%s:%d: %s: %s", p, bad[i].line, bad[i].key, bad[i].what);
    rc = lb_config_load(&cfg, p, &kafka_only, &errors);
    if (rc != LB_E_CONFIG || strncmp(errors, want, strlen(want)) != 0 || strchr(errors, '\n')[1])
      fail_msg("case %zu: expected one line starting \"%s\", got:\n%s", i, want,
               errors ? errors : "(loaded)");
    free(errors);
    errors = NULL;
  }
  unsetenv("T_KAFKA_PASSWORD");
}

/* lb_config_property_given: whether the file's kafka.properties names a
 * librdkafka property (lb_kafka then keeps the file's value over
 * lmsbridge's own default): by its exact name; none without properties. */
static void test_property_given(void **state)
{
  (void)state;
  char *errors = NULL;
  lb_config cfg;
  const char *p = write_config("kafka: { brokers = \"127.0.0.1:9092\";\n"
                               "  properties = ( [\"message.max.bytes\", \"2000000\"],\n"
                               "                 [\"allow.auto.create.topics\", \"true\"] ); };\n"
                               "provider: { code = \"datacamp\"; ocn_provider_id = \"DATACAMP\";\n"
                               "  logo_url = \"https://cdn.example.com/logo.png\"; };\n"
                               "integrations = (" DEGREED("") ");\n");
  if (lb_config_load(&cfg, p, &completion_defaults, &errors) != LB_E_OK)
    fail_msg("%s", errors);
  assert_true(lb_config_property_given(&cfg, "message.max.bytes"));
  assert_true(lb_config_property_given(&cfg, "allow.auto.create.topics"));
  assert_false(lb_config_property_given(&cfg, "linger.ms"));
  assert_false(lb_config_property_given(&cfg, "message.max")); /* a prefix names nothing */
  assert_false(lb_config_property_given(&cfg, "message.max.bytes.x"));
  lb_config_release(&cfg);

  p = write_config(HEAD "integrations = (" DEGREED("") ");\n");
  if (lb_config_load(&cfg, p, &completion_defaults, &errors) != LB_E_OK)
    fail_msg("%s", errors);
  assert_int_equal(cfg.kafka.nproperties, 0);
  assert_false(lb_config_property_given(&cfg, "message.max.bytes"));
  lb_config_release(&cfg);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_example_file_loads_with_defaults, setup, teardown),
    cmocka_unit_test_setup_teardown(test_defaults_and_overrides, setup, teardown),
    cmocka_unit_test_setup_teardown(test_bad_configs_name_file_line_key, setup, teardown),
    cmocka_unit_test_setup_teardown(test_all_errors_are_reported, setup, teardown),
    cmocka_unit_test_setup_teardown(test_quoted_values_stay_on_their_line, setup, teardown),
    cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
    cmocka_unit_test_setup_teardown(test_syntax_check_in_a_child, setup, teardown),
    cmocka_unit_test_setup_teardown(test_secret_from_file_and_redaction, setup, teardown),
    cmocka_unit_test_setup_teardown(test_group_instance_id, setup, teardown),
    cmocka_unit_test_setup_teardown(test_kafka_only_leaves_integration_secrets_unresolved, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_property_given, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
