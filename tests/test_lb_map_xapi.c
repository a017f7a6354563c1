/* lb_map_xapi: completions as xAPI statements, compared as exact JSON
 * text, and every statement produced also checked against the xAPI 1.0.3
 * rules a client can check on its own (check_xapi_rules). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_json.h"
#include "lb_map_xapi.h"
#include "lb_time.h"

/* 2026-06-01T00:00:00Z: every completed_at below is before it unless a
 * test says otherwise. */
#define NOW_MS INT64_C(1780272000000)

static const lb_map_xapi_options mbox_opts = {
  .integration_id = "hooli-lrs",
  .endpoint = "https://lrs.hooli.example/xapi",
  .version = LB_MAP_XAPI_V1_0_3,
  .actor = LB_MAP_XAPI_ACTOR_MBOX,
  .platform = "datacamp",
  .activity_iri_base = "https://www.datacamp.com/xapi",
};

static const lb_map_xapi_options account_opts = {
  .integration_id = "hooli-lrs",
  .endpoint = "https://lrs.hooli.example/xapi",
  .version = LB_MAP_XAPI_V2_0_0,
  .actor = LB_MAP_XAPI_ACTOR_ACCOUNT,
  .account_home_page = "https://sso.hooli.example",
  .account_name = LB_MAP_XAPI_NAME_SSO_NAMEID,
  .platform = "datacamp",
  .activity_iri_base = "https://www.datacamp.com/xapi",
};

/* A completion.v1 event "c1" of organization hooli with the members
 * `fields` (JSON text without the braces; completed_at among them). */
static void completion(lb_completion_event *ev, const char *fields)
{
  char buf[4096], err[256];
  snprintf(buf, sizeof(buf),
           "{\"schema\":\"completion.v1\",\"event_id\":\"c1\","
           "\"occurred_at\":\"2026-03-04T10:00:00Z\",\"organization_id\":\"hooli\",%s}",
           fields);
  if (lb_completion_event_parse(ev, buf, strlen(buf), err, sizeof(err)) != LB_E_OK)
    fail_msg("bad test event: %s", err);
}

#define ADA                                                                                        \
  "\"user\":{\"id\":\"u1\",\"email\":\"ada@hooli.example\","                                       \
  "\"sso_nameid\":\"ada.l\",\"lms_username\":\"alovelace\"}"
#define AT "\"completed_at\":\"2026-03-04T09:30:15.250+01:00\""

/* ---- the xAPI 1.0.3 rules a statement must meet -------------------------
 * From the specification's Data part (2.4 Statement properties, 4.5
 * timestamps, 4.6 durations) and, where it is stricter, Learning Locker's
 * xapi-validation (its mailto, IRI, duration and timestamp patterns,
 * written here as POSIX EREs). */

static bool matches(const char *ere, const char *s)
{
  regex_t re;
  if (regcomp(&re, ere, REG_EXTENDED | REG_NOSUB | REG_ICASE) != 0)
    fail_msg("bad pattern %s", ere);
  bool ok = regexec(&re, s, 0, NULL, 0) == 0;
  regfree(&re);
  return ok;
}

static json_object *member(json_object *o, const char *name)
{
  json_object *v = NULL;
  if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, name, &v))
    return NULL;
  return v;
}

static const char *string_member(json_object *o, const char *name)
{
  json_object *v = member(o, name);
  return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

#define IRI_ERE "^[A-Za-z0-9_]+:"
#define MAILTO_ERE "^mailto:[A-Z0-9.`'_%+-]+@[A-Z0-9.-]+\\.[A-Z]{1,63}$"
/* PnYnMnDTnHnMnS with a digit after P or PT; only seconds take a fraction */
#define DURATION_ERE                                                                               \
  "^P([0-9]+Y)?([0-9]+M)?([0-9]+[DW])?(T([0-9]+H)?([0-9]+M)?([0-9]+(\\.[0-9]+)?S)?)?$"
/* extended form, zone Z, +hh[:mm] or -hh[:mm] with hh 01-23, no :60 */
#define TIMESTAMP_ERE                                                                              \
  "^[0-9]{4}-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])"                                             \
  "(T([01][0-9]|2[0-3])(:[0-5][0-9](:[0-5][0-9](\\.[0-9]+)?)?)?"                                   \
  "(Z|\\+([01][0-9]|2[0-3])(:[0-5][0-9])?|-(0[1-9]|1[0-9]|2[0-3])(:[0-5][0-9])?))?$"

static void must_match(const char *ere, const char *s)
{
  if (!s)
    fail_msg("no string where %s is wanted", ere);
  if (!matches(ere, s))
    fail_msg("\"%s\" does not match %s", s, ere);
}

static void check_xapi_rules(const char *body)
{
  char err[256];
  json_object *st = NULL;
  assert_int_equal(lb_json_parse(body, strlen(body), &st, err, sizeof(err)), LB_E_OK);

  /* actor: an Agent with exactly one inverse functional identifier */
  json_object *actor = member(st, "actor");
  assert_non_null(actor);
  assert_string_equal(string_member(actor, "objectType"), "Agent");
  const char *mbox = string_member(actor, "mbox");
  json_object *account = member(actor, "account");
  assert_true((mbox != NULL) != (account != NULL));
  assert_null(member(actor, "mbox_sha1sum"));
  assert_null(member(actor, "openid"));
  if (mbox) {
    assert_true(strncmp(mbox, "mailto:", 7) == 0 && strchr(mbox, '@'));
  } else {
    const char *home = string_member(account, "homePage");
    assert_non_null(home);
    must_match(IRI_ERE, home);
    assert_non_null(string_member(account, "name"));
    assert_int_equal(json_object_object_length(account), 2);
  }

  /* verb: an IRI and a language map */
  json_object *verb = member(st, "verb");
  must_match(IRI_ERE, string_member(verb, "id"));
  assert_true(json_object_is_type(member(verb, "display"), json_type_object));

  /* object: an Activity with an IRI id and a definition type IRI */
  json_object *object = member(st, "object");
  assert_string_equal(string_member(object, "objectType"), "Activity");
  must_match(IRI_ERE, string_member(object, "id"));
  assert_null(strpbrk(string_member(object, "id"), " \t\n\"<>\\^`{|}"));
  must_match(IRI_ERE, string_member(member(object, "definition"), "type"));

  /* result: completion boolean, ISO 8601 duration, score within range */
  json_object *result = member(st, "result");
  assert_true(json_object_is_type(member(result, "completion"), json_type_boolean));
  const char *duration = string_member(result, "duration");
  if (member(result, "duration")) {
    assert_non_null(duration);
    must_match(DURATION_ERE, duration);
    assert_true(strlen(duration) > 2); /* "P" or "PT" alone is no duration */
  }
  json_object *score = member(result, "score");
  if (score) {
    double scaled = json_object_get_double(member(score, "scaled"));
    double raw = json_object_get_double(member(score, "raw"));
    double min = json_object_get_double(member(score, "min"));
    double max = json_object_get_double(member(score, "max"));
    assert_true(scaled >= -1.0 && scaled <= 1.0);
    assert_true(min < max && raw >= min && raw <= max);
    assert_true(fabs(scaled - (raw - min) / (max - min)) < 1e-12);
  }

  /* timestamp: ISO 8601 that LRSs accept; context.platform only with an
   * Activity object (it is one) */
  must_match(TIMESTAMP_ERE, string_member(st, "timestamp"));
  assert_non_null(string_member(member(st, "context"), "platform"));

  /* nothing an LRS sets or that this mapping does not send */
  assert_null(member(st, "stored"));
  assert_null(member(st, "authority"));
  assert_null(member(st, "version"));
  json_object_put(st);
}

/* Maps, expects a statement, checks the request's fixed parts and the
 * rules; the caller releases *r. */
static void map_sent(const lb_completion_event *ev, const lb_map_xapi_options *opt, int64_t now_ms,
                     lb_map_xapi_request *r)
{
  const char *skip = "not set";
  lb_map_xapi_request_init(r);
  assert_int_equal(lb_map_xapi_completion(ev, opt, now_ms, r, &skip), LB_E_OK);
  assert_null(skip);
  assert_string_equal(r->method, "PUT");
  assert_int_equal(r->nheaders, 2);
  assert_string_equal(r->headers[1], "Content-Type: application/json");
  check_xapi_rules(r->body);
}

/* ---- whole statements ---------------------------------------------------- */

#define VERB                                                                                       \
  "\"verb\":{\"id\":\"http://adlnet.gov/expapi/verbs/completed\","                                 \
  "\"display\":{\"en-US\":\"completed\"}}"
#define COURSE_TYPE "\"definition\":{\"type\":\"http://adlnet.gov/expapi/activities/course\"}"
#define ASSESSMENT_TYPE                                                                            \
  "\"definition\":{\"type\":\"http://adlnet.gov/expapi/activities/assessment\"}"
#define TAIL "\"context\":{\"platform\":\"datacamp\"}}"

/* c1 for hooli-lrs: 0e8df040-24ac-5129-8194-a019a71f64e5 (see test_statement_id) */
#define C1_URL                                                                                     \
  "https://lrs.hooli.example/xapi/statements?statementId="                                         \
  "0e8df040-24ac-5129-8194-a019a71f64e5"

static const struct statement_case {
  const char *name;
  const lb_map_xapi_options *opt;
  /* option changes: NULL keeps opt's */
  const char *endpoint, *activity_iri_base;
  int account_name; /* -1 keeps opt's */
  const char *fields;
  const char *url, *version, *key, *body;
} statement_cases[] = {
  { "course, mbox, 1.0.3, duration, no score", &mbox_opts, NULL, NULL, -1,
    ADA ",\"content\":{\"id\":\"735\",\"type\":\"course\"}," AT ",\"duration_hours\":2.5", C1_URL,
    "1.0.3", "course-735",
    "{\"actor\":{\"objectType\":\"Agent\",\"mbox\":\"mailto:ada@hooli.example\"}," VERB ","
    "\"object\":{\"objectType\":\"Activity\",\"id\":\"https://www.datacamp.com/xapi/course/"
    "735\"," COURSE_TYPE "},\"result\":{\"completion\":true,\"duration\":\"PT2H30M\"},"
    "\"timestamp\":\"2026-03-04T09:30:15.250+01:00\"," TAIL },

  { "assessment, account sso_nameid, 2.0.0, score and duration", &account_opts, NULL, NULL, -1,
    ADA ",\"content\":{\"id\":\"sql-basics\",\"type\":\"assessment\"}," AT
        ",\"duration_hours\":0.25,\"score\":72.5",
    C1_URL, "2.0.0", "assessment-sql-basics",
    "{\"actor\":{\"objectType\":\"Agent\",\"account\":{\"homePage\":\"https://sso.hooli.example\","
    "\"name\":\"ada.l\"}}," VERB ",\"object\":{\"objectType\":\"Activity\","
    "\"id\":\"https://www.datacamp.com/xapi/assessment/sql-basics\"," ASSESSMENT_TYPE "},"
    "\"result\":{\"completion\":true,\"duration\":\"PT15M\",\"score\":{\"scaled\":0.725,"
    "\"raw\":72.5,\"min\":0,\"max\":100}},\"timestamp\":\"2026-03-04T09:30:15.250+01:00\"," TAIL },

  { "project, account lms_username, nothing optional, '/' ends trimmed", &account_opts,
    "https://lrs.hooli.example/xapi/", "https://www.datacamp.com/xapi//",
    LB_MAP_XAPI_NAME_LMS_USERNAME,
    ADA ",\"content\":{\"id\":\"78\",\"type\":\"project\"},"
        "\"completed_at\":\"2026-03-04T08:30:15Z\",\"duration_hours\":null,\"score\":null",
    C1_URL, "2.0.0", "project-78",
    "{\"actor\":{\"objectType\":\"Agent\",\"account\":{\"homePage\":\"https://sso.hooli.example\","
    "\"name\":\"alovelace\"}}," VERB ",\"object\":{\"objectType\":\"Activity\","
    "\"id\":\"https://www.datacamp.com/xapi/project/78\"," COURSE_TYPE "},"
    "\"result\":{\"completion\":true},\"timestamp\":\"2026-03-04T08:30:15Z\"," TAIL },

  { "practice, account id, score 100 and seconds", &account_opts, NULL, NULL, LB_MAP_XAPI_NAME_ID,
    "\"user\":{\"id\":\"u-42\"},\"content\":{\"id\":\"p.1:a_b\",\"type\":\"practice\"},"
    "\"completed_at\":\"2026-03-04T08:30:15.123456789Z\",\"duration_hours\":0.001,\"score\":100",
    C1_URL, "2.0.0", "practice-p.1:a_b",
    "{\"actor\":{\"objectType\":\"Agent\",\"account\":{\"homePage\":\"https://sso.hooli.example\","
    "\"name\":\"u-42\"}}," VERB ",\"object\":{\"objectType\":\"Activity\","
    "\"id\":\"https://www.datacamp.com/xapi/practice/p.1:a_b\"," COURSE_TYPE "},"
    "\"result\":{\"completion\":true,\"duration\":\"PT3.6S\",\"score\":{\"scaled\":1,"
    "\"raw\":100,\"min\":0,\"max\":100}},\"timestamp\":\"2026-03-04T08:30:15.123456789Z\"," TAIL },

  /* a score is sent whenever the event has one, also on a course */
  { "course with score 0 and duration 0", &mbox_opts, NULL, NULL, -1,
    ADA ",\"content\":{\"id\":\"9\",\"type\":\"course\"}," AT ",\"duration_hours\":0,\"score\":0",
    C1_URL, "1.0.3", "course-9",
    "{\"actor\":{\"objectType\":\"Agent\",\"mbox\":\"mailto:ada@hooli.example\"}," VERB ","
    "\"object\":{\"objectType\":\"Activity\",\"id\":\"https://www.datacamp.com/xapi/course/"
    "9\"," COURSE_TYPE
    "},\"result\":{\"completion\":true,\"duration\":\"PT0S\",\"score\":{\"scaled\":0,"
    "\"raw\":0,\"min\":0,\"max\":100}},\"timestamp\":\"2026-03-04T09:30:15.250+01:00\"," TAIL },

  { "odd email: quotes and backslash escaped, '/' and non-ASCII kept", &mbox_opts, NULL, NULL, -1,
    "\"user\":{\"id\":\"u1\",\"email\":\"\\\"o'bri\\\\en\\\"/z\\u00f6e@hooli.example\"},"
    "\"content\":{\"id\":\"735\",\"type\":\"course\"}," AT,
    C1_URL, "1.0.3", "course-735",
    "{\"actor\":{\"objectType\":\"Agent\",\"mbox\":\"mailto:\\\"o'bri\\\\en\\\"/z\xc3\xb6"
    "e@hooli.example\"}," VERB ",\"object\":{\"objectType\":\"Activity\",\"id\":\"https://"
    "www.datacamp.com/xapi/course/735\"," COURSE_TYPE "},\"result\":{\"completion\":true},"
    "\"timestamp\":\"2026-03-04T09:30:15.250+01:00\"," TAIL },

  { "odd account name: control characters escaped", &account_opts, NULL, NULL, -1,
    "\"user\":{\"id\":\"u1\",\"sso_nameid\":\"Zo\\u00eb \\\"Z\\\"\\n\\t\\u0001<b>&amp;\"},"
    "\"content\":{\"id\":\"735\",\"type\":\"course\"}," AT,
    C1_URL, "2.0.0", "course-735",
    "{\"actor\":{\"objectType\":\"Agent\",\"account\":{\"homePage\":\"https://sso.hooli.example\","
    "\"name\":\"Zo\xc3\xab \\\"Z\\\"\\n\\t\\u0001<b>&amp;\"}}," VERB ",\"object\":{\"objectType\":"
    "\"Activity\",\"id\":\"https://www.datacamp.com/xapi/course/735\"," COURSE_TYPE "},"
    "\"result\":{\"completion\":true},\"timestamp\":\"2026-03-04T09:30:15.250+01:00\"," TAIL },
};

static void test_statements(void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof(statement_cases) / sizeof(statement_cases[0]); i++) {
    const struct statement_case *c = &statement_cases[i];
    lb_map_xapi_options opt = *c->opt;
    char header[64];
    lb_completion_event ev;
    lb_map_xapi_request r;
    print_message("case: %s\n", c->name);
    if (c->endpoint)
      opt.endpoint = c->endpoint;
    if (c->activity_iri_base)
      opt.activity_iri_base = c->activity_iri_base;
    if (c->account_name >= 0)
      opt.account_name = (lb_map_xapi_account_name)c->account_name;
    completion(&ev, c->fields);
    map_sent(&ev, &opt, NOW_MS, &r);
    assert_string_equal(r.url, c->url);
    snprintf(header, sizeof(header), "X-Experience-API-Version: %s", c->version);
    assert_string_equal(r.headers[0], header);
    assert_string_equal(r.key, c->key);
    assert_string_equal(r.body, c->body);
    assert_string_equal(r.statement_id, "0e8df040-24ac-5129-8194-a019a71f64e5");
    /* a plain address also passes Learning Locker's stricter mailto rule */
    if (strncmp(c->name, "odd", 3) != 0 && strstr(r.body, "\"mbox\":\"")) {
      char err[256];
      json_object *st = NULL;
      assert_int_equal(lb_json_parse(r.body, strlen(r.body), &st, err, sizeof(err)), LB_E_OK);
      must_match(MAILTO_ERE, string_member(member(st, "actor"), "mbox"));
      json_object_put(st);
    }
    lb_map_xapi_request_release(&r);
    assert_null(r.url);
    lb_completion_event_release(&ev);
  }
}

/* The odd learner identifiers survive the trip: the body parsed back
 * gives the event's strings byte for byte. */
static void test_odd_identifiers_round_trip(void **state)
{
  (void)state;
  char err[256];
  lb_completion_event ev;
  lb_map_xapi_request r;
  json_object *st = NULL;
  completion(&ev, "\"user\":{\"id\":\"u1\",\"email\":\"a\\\"b\\\\c@x.example\","
                  "\"sso_nameid\":\"\\u2028x\\u001f\\ud83d\\ude00\"},"
                  "\"content\":{\"id\":\"1\",\"type\":\"course\"}," AT);
  map_sent(&ev, &mbox_opts, NOW_MS, &r);
  assert_int_equal(lb_json_parse(r.body, strlen(r.body), &st, err, sizeof(err)), LB_E_OK);
  json_object *actor = member(st, "actor");
  assert_string_equal(string_member(actor, "mbox"), "mailto:a\"b\\c@x.example");
  json_object_put(st);
  lb_map_xapi_request_release(&r);

  map_sent(&ev, &account_opts, NOW_MS, &r);
  assert_int_equal(lb_json_parse(r.body, strlen(r.body), &st, err, sizeof(err)), LB_E_OK);
  assert_string_equal(string_member(member(member(st, "actor"), "account"), "name"),
                      ev.user.sso_nameid);
  assert_string_equal(ev.user.sso_nameid, "\xe2\x80\xa8x\x1f\xf0\x9f\x98\x80");
  json_object_put(st);
  lb_map_xapi_request_release(&r);
  lb_completion_event_release(&ev);
}

/* ---- timestamps ------------------------------------------------------------ */

static void test_timestamps(void **state)
{
  (void)state;
  static const struct {
    const char *completed_at, *sent;
  } cases[] = {
    { "2026-03-04T09:30:15.250+01:00", "2026-03-04T09:30:15.250+01:00" },
    { "2026-03-04T09:30:15Z", "2026-03-04T09:30:15Z" },
    { "2026-03-04T09:30:15.123456789Z", "2026-03-04T09:30:15.123456789Z" },
    { "2026-03-04T09:30:15-05:00", "2026-03-04T09:30:15-05:00" },
    { "2026-03-04T09:30:15-10:30", "2026-03-04T09:30:15-10:30" },
    /* an unknown local offset: the same instant in UTC */
    { "2026-03-04T09:30:15-00:00", "2026-03-04T09:30:15.000Z" },
    { "2026-03-04T09:30:15.5-00:30", "2026-03-04T10:00:15.500Z" },
    { "2026-03-04T09:30:15+00:00", "2026-03-04T09:30:15+00:00" },
    /* a leap second: the parser's :59.999 */
    { "2016-12-31T23:59:60Z", "2016-12-31T23:59:59.999Z" },
    { "2016-12-31T23:59:60.5+01:00", "2016-12-31T22:59:59.999Z" },
    /* now, then later than now: sent as now */
    { "2026-06-01T00:00:00Z", "2026-06-01T00:00:00Z" },
    { "2026-06-01T00:00:00.001Z", "2026-06-01T00:00:00.000Z" },
    { "2027-01-01T00:00:00+02:00", "2026-06-01T00:00:00.000Z" },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char fields[512], want[64];
    lb_completion_event ev;
    lb_map_xapi_request r;
    print_message("completed_at %s\n", cases[i].completed_at);
    snprintf(fields, sizeof(fields),
             ADA ",\"content\":{\"id\":\"1\",\"type\":\"course\"},\"completed_at\":\"%s\"",
             cases[i].completed_at);
    completion(&ev, fields);
    map_sent(&ev, &mbox_opts, NOW_MS, &r);
    snprintf(want, sizeof(want), "\"timestamp\":\"%s\"", cases[i].sent);
    if (!strstr(r.body, want))
      fail_msg("%s: want %s in %s", cases[i].completed_at, want, r.body);
    lb_map_xapi_request_release(&r);
    lb_completion_event_release(&ev);
  }
}

/* ---- durations -------------------------------------------------------------- */

static void test_durations(void **state)
{
  (void)state;
  static const struct {
    double hours;
    const char *iso;
  } cases[] = {
    { 0, "PT0S" },
    { 1, "PT1H" },
    { 2.5, "PT2H30M" },
    { 0.25, "PT15M" },
    { 25.25, "PT25H15M" },
    { 10000, "PT10000H" },
    { 1.0 / 3600, "PT1S" },
    { 0.001, "PT3.6S" },
    { 1.5 / 3600, "PT1.5S" },
    { 0.0001, "PT0.36S" },
    { 1.0 / 7, "PT8M34.29S" }, /* 514.2857 s, to 0.01 s */
    { 1 + 1.0 / 60 + 1.0 / 3600, "PT1H1M1S" },
    { 0.004 / 3600, "PT0S" }, /* below 0.005 s rounds to none */
    { 0.006 / 3600, "PT0.01S" },
    { 59.999 / 3600, "PT1M" }, /* 59.999 s rounds up to a minute */
    { 3599.996 / 3600, "PT1H" },
  };
  char buf[32];
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    assert_non_null(lb_map_xapi_duration(cases[i].hours, buf, sizeof(buf)));
    if (strcmp(buf, cases[i].iso) != 0)
      fail_msg("%.17g h: want %s, got %s", cases[i].hours, cases[i].iso, buf);
    must_match(DURATION_ERE, buf);
  }
  assert_null(lb_map_xapi_duration(-0.5, buf, sizeof(buf)));
  assert_null(lb_map_xapi_duration(NAN, buf, sizeof(buf)));
  assert_null(lb_map_xapi_duration(INFINITY, buf, sizeof(buf)));
  assert_null(lb_map_xapi_duration(2.5, buf, 7)); /* "PT2H30M" needs 8 */
  assert_non_null(lb_map_xapi_duration(2.5, buf, 8));
  assert_string_equal(buf, "PT2H30M");
}

/* ---- skips ------------------------------------------------------------------- */

static void test_skips(void **state)
{
  (void)state;
  static const struct {
    const char *name;
    const lb_map_xapi_options *opt;
    int account_name; /* -1 keeps opt's */
    const char *fields, *reason;
  } cases[] = {
    { "tested out", &mbox_opts, -1,
      ADA ",\"content\":{\"id\":\"1\",\"type\":\"course\"}," AT ",\"skipped\":true",
      "learner tested out (skipped): not sent to any LMS" },
    { "tested out beats a track and no email", &mbox_opts, -1,
      "\"user\":{\"id\":\"u1\"},\"content\":{\"id\":\"1\",\"type\":\"skill_track\"}," AT
      ",\"skipped\":true",
      "learner tested out (skipped): not sent to any LMS" },
    { "skill track", &mbox_opts, -1, ADA ",\"content\":{\"id\":\"1\",\"type\":\"skill_track\"}," AT,
      "tracks are not sent as xAPI statements" },
    { "career track", &account_opts, -1,
      ADA ",\"content\":{\"id\":\"1\",\"type\":\"career_track\"}," AT,
      "tracks are not sent as xAPI statements" },
    { "custom track, no email either", &mbox_opts, -1,
      "\"user\":{\"id\":\"u1\"},\"content\":{\"id\":\"1\",\"type\":\"custom_track\"}," AT,
      "tracks are not sent as xAPI statements" },
    { "mbox, no email", &mbox_opts, -1,
      "\"user\":{\"id\":\"u1\",\"email\":null,\"sso_nameid\":\"ada.l\"},"
      "\"content\":{\"id\":\"1\",\"type\":\"course\"}," AT,
      "learner has no email, the identifier this integration needs (actor mbox)" },
    { "account sso_nameid, none", &account_opts, LB_MAP_XAPI_NAME_SSO_NAMEID,
      "\"user\":{\"id\":\"u1\",\"email\":\"ada@hooli.example\",\"lms_username\":\"al\"},"
      "\"content\":{\"id\":\"1\",\"type\":\"assessment\"}," AT ",\"score\":50",
      "learner has no sso_nameid, the identifier this integration needs (actor account)" },
    { "account lms_username, none", &account_opts, LB_MAP_XAPI_NAME_LMS_USERNAME,
      "\"user\":{\"id\":\"u1\",\"email\":\"ada@hooli.example\",\"sso_nameid\":\"ada.l\","
      "\"lms_username\":null},\"content\":{\"id\":\"1\",\"type\":\"project\"}," AT,
      "learner has no lms_username, the identifier this integration needs (actor account)" },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    lb_map_xapi_options opt = *cases[i].opt;
    lb_completion_event ev;
    lb_map_xapi_request r = { .method = "untouched" };
    const char *skip = NULL;
    print_message("skip: %s\n", cases[i].name);
    if (cases[i].account_name >= 0)
      opt.account_name = (lb_map_xapi_account_name)cases[i].account_name;
    completion(&ev, cases[i].fields);
    assert_int_equal(lb_map_xapi_completion(&ev, &opt, NOW_MS, &r, &skip), LB_E_OK);
    assert_non_null(skip);
    assert_string_equal(skip, cases[i].reason);
    assert_string_equal(r.method, "untouched");
    assert_null(r.url);
    assert_null(r.body);
    lb_completion_event_release(&ev);
  }

  /* account by id: every parsed event has one, so only an empty one (not
   * from the parser) is missing */
  lb_completion_event ev;
  lb_map_xapi_options opt = account_opts;
  lb_map_xapi_request r;
  const char *skip = NULL;
  opt.account_name = LB_MAP_XAPI_NAME_ID;
  completion(&ev, "\"user\":{\"id\":\"u1\"},\"content\":{\"id\":\"1\",\"type\":\"course\"}," AT);
  ev.user.id[0] = '\0';
  lb_map_xapi_request_init(&r);
  assert_int_equal(lb_map_xapi_completion(&ev, &opt, NOW_MS, &r, &skip), LB_E_OK);
  assert_string_equal(skip,
                      "learner has no id, the identifier this integration needs (actor account)");
  assert_null(r.url);
  /* ... and an empty email is none for mbox too */
  ev.user.email = strdup("");
  assert_int_equal(lb_map_xapi_completion(&ev, &mbox_opts, NOW_MS, &r, &skip), LB_E_OK);
  assert_string_equal(skip,
                      "learner has no email, the identifier this integration needs (actor mbox)");
  lb_completion_event_release(&ev);
}

/* ---- options that cannot make a statement ------------------------------- */

static void test_invalid_options(void **state)
{
  (void)state;
  lb_completion_event ev;
  completion(&ev, ADA ",\"content\":{\"id\":\"1\",\"type\":\"course\"}," AT);
  for (int i = 0; i < 9; i++) {
    lb_map_xapi_options opt = i < 5 ? mbox_opts : account_opts;
    switch (i) {
    case 0:
      opt.integration_id = NULL;
      break;
    case 1:
      opt.endpoint = NULL;
      break;
    case 2:
      opt.platform = NULL;
      break;
    case 3:
      opt.activity_iri_base = NULL;
      break;
    case 4:
      opt.version = (lb_map_xapi_version)2;
      break;
    case 5:
      opt.account_home_page = NULL;
      break;
    case 6:
      opt.account_home_page = "";
      break;
    case 7:
      opt.account_name = (lb_map_xapi_account_name)3;
      break;
    case 8:
      opt.actor = (lb_map_xapi_actor)2;
      break;
    }
    lb_map_xapi_request r = { .method = "untouched" };
    const char *skip = "untouched";
    assert_int_equal(lb_map_xapi_completion(&ev, &opt, NOW_MS, &r, &skip), LB_E_INVALID);
    assert_string_equal(skip, "untouched");
    assert_string_equal(r.method, "untouched");
  }
  /* an mbox integration needs no home page */
  lb_map_xapi_options opt = mbox_opts;
  lb_map_xapi_request r;
  opt.account_home_page = NULL;
  map_sent(&ev, &opt, NOW_MS, &r);
  lb_map_xapi_request_release(&r);
  lb_map_xapi_request_release(NULL);
  lb_completion_event_release(&ev);
}

/* ---- statement ids ------------------------------------------------------------ */

static void test_statement_id(void **state)
{
  (void)state;
  /* Expected values computed independently with Python's standard library:
   *   python3 -c 'import uuid; print(uuid.uuid5(uuid.NAMESPACE_URL, NAME))'
   * for each NAME = "lmsbridge:<integration id>:<event_id>" below (the
   * fourth is the UTF-8 text "lmsbridge:hooli-lrs:évènement-42"). */
  static const struct {
    const char *integration, *event, *id;
  } vectors[] = {
    { "hooli-lrs", "c1", "0e8df040-24ac-5129-8194-a019a71f64e5" },
    { "other-lrs", "c1", "0eb942af-6ded-545a-bff8-4be570ccb910" },
    { "hooli-lrs", "c2", "521ffeac-fcee-538e-a7a5-6d6466c2634c" },
    { "hooli-lrs", "\xc3\xa9v\xc3\xa8nement-42", "575cb5f0-d0ca-5e75-a3ec-2be693d04ee0" },
    { "", "", "947180aa-b942-5cea-a71b-98bf51efd9dd" },
  };
  char id[LB_MAP_XAPI_ID_SIZE], again[LB_MAP_XAPI_ID_SIZE];
  for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
    assert_int_equal(lb_map_xapi_statement_id(vectors[i].integration, vectors[i].event, id),
                     LB_E_OK);
    assert_string_equal(id, vectors[i].id);
    /* version 5, RFC variant */
    assert_int_equal(id[14], '5');
    assert_non_null(strchr("89ab", id[19]));
  }
  /* same input, same id; another integration or event, another id */
  assert_int_equal(lb_map_xapi_statement_id("hooli-lrs", "c1", id), LB_E_OK);
  assert_int_equal(lb_map_xapi_statement_id("hooli-lrs", "c1", again), LB_E_OK);
  assert_string_equal(id, again);
  assert_int_equal(lb_map_xapi_statement_id("hooli-lrs2", "c1", again), LB_E_OK);
  assert_string_not_equal(id, again);
  assert_int_equal(lb_map_xapi_statement_id("hooli-lrs", "c2", again), LB_E_OK);
  assert_string_not_equal(id, again);

  memcpy(again, "untouched", 10);
  assert_int_equal(lb_map_xapi_statement_id(NULL, "c1", again), LB_E_INVALID);
  assert_int_equal(lb_map_xapi_statement_id("hooli-lrs", NULL, again), LB_E_INVALID);
  assert_string_equal(again, "untouched");
}

/* The request for a completion carries that id, twice the same for the
 * same event, another for another integration: a retry or replay PUTs
 * the same statement, two LRS integrations each get their own. */
static void test_statement_id_in_requests(void **state)
{
  (void)state;
  lb_completion_event ev, ev2;
  lb_map_xapi_request a, b, c;
  lb_map_xapi_options other = mbox_opts;
  other.integration_id = "other-lrs";
  completion(&ev, ADA ",\"content\":{\"id\":\"1\",\"type\":\"assessment\"}," AT
                      ",\"score\":88,\"duration_hours\":1.5");
  completion(&ev2, ADA ",\"content\":{\"id\":\"1\",\"type\":\"assessment\"}," AT
                       ",\"score\":88,\"duration_hours\":1.5");
  map_sent(&ev, &mbox_opts, NOW_MS, &a);
  map_sent(&ev2, &mbox_opts, NOW_MS + 86400000, &b);
  map_sent(&ev, &other, NOW_MS, &c);
  assert_string_equal(a.url, b.url);
  assert_string_equal(a.body, b.body);
  assert_string_equal(a.statement_id, "0e8df040-24ac-5129-8194-a019a71f64e5");
  assert_string_equal(c.statement_id, "0eb942af-6ded-545a-bff8-4be570ccb910");
  assert_string_equal(c.url, "https://lrs.hooli.example/xapi/statements?statementId="
                             "0eb942af-6ded-545a-bff8-4be570ccb910");
  assert_string_equal(a.body, c.body); /* the statement itself is the same */
  lb_map_xapi_request_release(&a);
  lb_map_xapi_request_release(&b);
  lb_map_xapi_request_release(&c);
  lb_completion_event_release(&ev);
  lb_completion_event_release(&ev2);
}

/* ---- configuration words ---------------------------------------------------- */

static void test_words(void **state)
{
  (void)state;
  lb_map_xapi_version v = LB_MAP_XAPI_V2_0_0;
  lb_map_xapi_actor a = LB_MAP_XAPI_ACTOR_ACCOUNT;
  lb_map_xapi_account_name n = LB_MAP_XAPI_NAME_ID;

  assert_int_equal(lb_map_xapi_version_parse("1.0.3", &v), 0);
  assert_int_equal(v, LB_MAP_XAPI_V1_0_3);
  assert_int_equal(lb_map_xapi_version_parse("2.0.0", &v), 0);
  assert_int_equal(v, LB_MAP_XAPI_V2_0_0);
  assert_string_equal(lb_map_xapi_version_name(LB_MAP_XAPI_V1_0_3), "1.0.3");
  assert_string_equal(lb_map_xapi_version_name(LB_MAP_XAPI_V2_0_0), "2.0.0");
  assert_string_equal(lb_map_xapi_version_name((lb_map_xapi_version)7), "?");
  static const char *const bad_versions[] = { "1.0.2", "1.0", "2.0", "", " 1.0.3", NULL };
  for (size_t i = 0; i < sizeof(bad_versions) / sizeof(bad_versions[0]); i++)
    assert_int_equal(lb_map_xapi_version_parse(bad_versions[i], &v), -1);
  assert_int_equal(v, LB_MAP_XAPI_V2_0_0);

  assert_int_equal(lb_map_xapi_actor_parse("mbox", &a), 0);
  assert_int_equal(a, LB_MAP_XAPI_ACTOR_MBOX);
  assert_int_equal(lb_map_xapi_actor_parse("account", &a), 0);
  assert_int_equal(a, LB_MAP_XAPI_ACTOR_ACCOUNT);
  assert_int_equal(lb_map_xapi_actor_parse("MBOX", &a), -1);
  assert_int_equal(lb_map_xapi_actor_parse("openid", &a), -1);
  assert_int_equal(lb_map_xapi_actor_parse(NULL, &a), -1);
  assert_int_equal(a, LB_MAP_XAPI_ACTOR_ACCOUNT);
  assert_string_equal(lb_map_xapi_actor_name(LB_MAP_XAPI_ACTOR_MBOX), "mbox");
  assert_string_equal(lb_map_xapi_actor_name(LB_MAP_XAPI_ACTOR_ACCOUNT), "account");

  static const struct {
    const char *word;
    lb_map_xapi_account_name value;
  } names[] = {
    { "sso_nameid", LB_MAP_XAPI_NAME_SSO_NAMEID },
    { "lms_username", LB_MAP_XAPI_NAME_LMS_USERNAME },
    { "id", LB_MAP_XAPI_NAME_ID },
  };
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    n = (lb_map_xapi_account_name)99;
    assert_int_equal(lb_map_xapi_account_name_parse(names[i].word, &n), 0);
    assert_int_equal(n, names[i].value);
    assert_string_equal(lb_map_xapi_account_name_name(names[i].value), names[i].word);
  }
  assert_int_equal(lb_map_xapi_account_name_parse("email", &n), -1);
  assert_int_equal(lb_map_xapi_account_name_parse("user.id", &n), -1);
  assert_int_equal(n, LB_MAP_XAPI_NAME_ID);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_statements),   cmocka_unit_test(test_odd_identifiers_round_trip),
    cmocka_unit_test(test_timestamps),   cmocka_unit_test(test_durations),
    cmocka_unit_test(test_skips),        cmocka_unit_test(test_invalid_options),
    cmocka_unit_test(test_statement_id), cmocka_unit_test(test_statement_id_in_requests),
    cmocka_unit_test(test_words),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
