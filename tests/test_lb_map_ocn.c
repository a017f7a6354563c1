/* lb_map_ocn: docs/mapping.md, SuccessFactors OCN rules, compared as
 * exact JSON text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_map_ocn.h"
#include "lb_test_events.h"
#include "lb_time.h"

static lb_config_pair thumbs[] = {
  { .name = "r", .value = "https://cdn.example.com/r.png" },
};

static const lb_provider provider = {
  .code = "datacamp",
  .ocn_provider_id = "DATACAMP",
  .logo_url = "https://cdn.example.com/logo.png",
  .thumbnails = thumbs,
  .nthumbnails = 1,
  .assessment_num_questions = 15,
};

static lb_integration sf = {
  .id = "globex-sf",
  .type = LB_INTEG_SUCCESSFACTORS,
  .organization = "globex",
  .api_base_url = "https://globex.example.com",
  .user_identifier = LB_UID_SSO_NAMEID,
  .completions = true,
};

static void completion(lb_completion_event *ev, const char *completed_at, const char *fields)
{
  char buf[4096], err[256];
  snprintf(buf, sizeof(buf),
           "{\"schema\":\"completion.v1\",\"event_id\":\"c1\","
           "\"occurred_at\":\"2026-03-04T10:00:00Z\",\"organization_id\":\"globex\","
           "\"completed_at\":\"%s\",%s}",
           completed_at, fields);
  if (lb_completion_event_parse(ev, buf, strlen(buf), err, sizeof(err)) != LB_E_OK)
    fail_msg("bad test event: %s", err);
}

#define PROJECT_COURSE(status)                                                                     \
  "{\"courseID\":\"project-78\",\"providerID\":\"DATACAMP\",\"status\":\"" status "\","            \
  "\"title\":[{\"locale\":\"English\",\"value\":\"Wrangling and Visualizing Musical "              \
  "Data - Project\"}],\"description\":[{\"locale\":\"English\",\"value\":\"Chords.\"}],"           \
  "\"thumbnailURI\":\"https://cdn.example.com/r.png\",\"content\":[{\"providerID\":"               \
  "\"DATACAMP\",\"launchURL\":\"https://www.datacamp.com/projects/78\",\"contentTitle\":"          \
  "\"Wrangling and Visualizing Musical Data - Project\",\"contentID\":\"project-78\","             \
  "\"launchType\":3,\"mobileEnabled\":true}],\"duration\":\"2.5 hours\"}"

#define PROJECT                                                                                    \
  "\"id\":\"78\",\"type\":\"project\",\"title\":\"Wrangling and Visualizing "                      \
  "Musical Data\",\"description\":\"Chords.\",\"url\":"                                            \
  "\"https://www.datacamp.com/projects/78\",\"technology\":\"r\","                                 \
  "\"duration_hours\":2.5,\"language\":\"en\""

static void test_course_object(void **state)
{
  (void)state;
  lb_catalog_event ev;
  lb_request_list l;
  lb_test_catalog_event(&ev, "content.upserted", PROJECT);
  lb_request_list_init(&l);
  assert_int_equal(lb_map_ocn_course(&ev, &sf, &provider, 0, &l, NULL), LB_E_OK);
  assert_int_equal(l.n, 1);
  assert_int_equal(l.items[0].step, LB_STEP_OCN_COURSE);
  assert_int_equal(l.items[0].method, LB_POST);
  assert_string_equal(l.items[0].url,
                      "https://globex.example.com/learning/odatav4/public/admin/ocn/v1/OcnCourses");
  assert_string_equal(l.items[0].key, "project-78");
  assert_string_equal(l.items[0].body, PROJECT_COURSE("ACTIVE"));
  lb_request_list_release(&l);
  lb_catalog_event_release(&ev);

  lb_test_catalog_event(&ev, "content.archived", PROJECT);
  lb_request_list_init(&l);
  assert_int_equal(lb_map_ocn_course(&ev, &sf, &provider, 0, &l, NULL), LB_E_OK);
  assert_string_equal(l.items[0].body, PROJECT_COURSE("INACTIVE"));
  lb_request_list_release(&l);
  lb_catalog_event_release(&ev);
}

/* Per content type and catalog event type: the whole OCN course. Every type
 * is a course; tracks are placeholders linking to the track page; practices
 * and assessments carry no duration; an archive makes it INACTIVE. */
static void test_each_content_type(void **state)
{
  (void)state;
  static const struct {
    const char *type;
    const char *duration; /* expected after "content", "" for none */
    const char *extra;    /* content fields the type requires */
  } cases[] = {
    { "course", ",\"duration\":\"4 hours\"", "" },
    { "project", ",\"duration\":\"4 hours\"", "" },
    { "practice", "", "" },
    { "assessment", "", "" },
    { "skill_track", ",\"duration\":\"4 hours\"", "" },
    { "career_track", ",\"duration\":\"4 hours\"", "" },
    { "custom_track", ",\"duration\":\"4 hours\"", ",\"organization_id\":\"globex\"" },
  };
  static const struct {
    const char *event_type, *status;
  } events[] = { { "content.upserted", "ACTIVE" }, { "content.archived", "INACTIVE" } };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    for (size_t j = 0; j < sizeof(events) / sizeof(events[0]); j++) {
      char expect[2048];
      lb_catalog_event ev;
      lb_request_list l;
      lb_test_catalog_item(&ev, events[j].event_type, cases[i].type, cases[i].extra);
      lb_request_list_init(&l);
      assert_int_equal(lb_map_ocn_course(&ev, &sf, &provider, 0, &l, NULL), LB_E_OK);
      assert_int_equal(l.n, 1);
      const char *label = lb_content_type_label(ev.content.type);
      snprintf(expect, sizeof(expect),
               "{\"courseID\":\"%s-9\",\"providerID\":\"DATACAMP\",\"status\":\"%s\","
               "\"title\":[{\"locale\":\"English\",\"value\":\"T - %s\"}],"
               "\"description\":[{\"locale\":\"English\",\"value\":\"D\"}],"
               "\"thumbnailURI\":\"https://cdn.example.com/logo.png\",\"content\":[{"
               "\"providerID\":\"DATACAMP\",\"launchURL\":\"https://x.example/9\","
               "\"contentTitle\":\"T - %s\",\"contentID\":\"%s-9\",\"launchType\":3,"
               "\"mobileEnabled\":true}]%s}",
               cases[i].type, events[j].status, label, label, cases[i].type, cases[i].duration);
      assert_string_equal(l.items[0].body, expect);
      lb_request_list_release(&l);
      lb_catalog_event_release(&ev);
    }
  }
}

/* Practices and assessments carry no duration; an empty description is
 * replaced by the title; no technology means the logo; locale by tag. */
static void test_course_rules(void **state)
{
  (void)state;
  lb_catalog_event ev;
  lb_request_list l;
  lb_test_catalog_event(
      &ev, "content.upserted",
      "\"id\":\"a1\",\"type\":\"assessment\",\"title\":\"SQL\",\"description\":\"\","
      "\"url\":\"https://x.example/a1\",\"duration_hours\":1,\"language\":\"de-DE\"");
  lb_request_list_init(&l);
  assert_int_equal(lb_map_ocn_course(&ev, &sf, &provider, 0, &l, NULL), LB_E_OK);
  assert_string_equal(
      l.items[0].body,
      "{\"courseID\":\"assessment-a1\",\"providerID\":\"DATACAMP\",\"status\":\"ACTIVE\","
      "\"title\":[{\"locale\":\"German\",\"value\":\"SQL - Assessment\"}],"
      "\"description\":[{\"locale\":\"German\",\"value\":\"SQL - Assessment\"}],"
      "\"thumbnailURI\":\"https://cdn.example.com/logo.png\",\"content\":[{\"providerID\":"
      "\"DATACAMP\",\"launchURL\":\"https://x.example/a1\",\"contentTitle\":\"SQL - Assessment\","
      "\"contentID\":\"assessment-a1\",\"launchType\":3,\"mobileEnabled\":true}]}");
  lb_request_list_release(&l);
  lb_catalog_event_release(&ev);

  static const struct {
    const char *tag, *locale;
  } locales[] = {
    { "en-US", "English" },
    { "en-GB", "English United Kingdom" },
    { "pt-BR", "Brazilian Portuguese" },
    { "pt-PT", "Portuguese" },
    { "fr", "French" },
    { "xx-YY", "English" },
    { NULL, "English" },
    { "english", "English" },
  };
  for (size_t i = 0; i < sizeof(locales) / sizeof(locales[0]); i++)
    assert_string_equal(lb_map_ocn_locale(locales[i].tag), locales[i].locale);
}

static void test_batch_body(void **state)
{
  (void)state;
  const char *courses[] = { "{\"courseID\":\"a\"}", "{\"courseID\":\"b\"}" };
  char *body = NULL;
  assert_int_equal(lb_map_ocn_batch(courses, 2, &body), LB_E_OK);
  assert_string_equal(body, "{\"ocnCourses\":[{\"courseID\":\"a\"},{\"courseID\":\"b\"}]}");
  free(body);
  assert_int_equal(lb_map_ocn_batch(courses, 0, &body), LB_E_OK);
  assert_string_equal(body, "{\"ocnCourses\":[]}");
  free(body);
}

#define OCN_EVENTS_URL                                                                             \
  "https://globex.example.com/learning/odatav4/public/admin/"                                      \
  "learningevent-service/v1/OCNLearningEvents"

/* Per content type with a completion: the whole learning event, epoch
 * milliseconds (2017-01-02T03:04:05Z = 1483326245000, the reference's test
 * vector), totalHours when the event gives a duration. */
static void test_learning_event(void **state)
{
  (void)state;
  static const struct {
    const char *type;
    const char *fields; /* duration_hours, score */
    const char *hours;  /* expected after completedTimestamp */
  } cases[] = {
    { "course", ",\"duration_hours\":4", ",\"totalHours\":4" },
    { "project", ",\"duration_hours\":2.5", ",\"totalHours\":2.5" },
    { "practice", ",\"duration_hours\":null", "" },
    { "assessment", ",\"score\":72.5", "" },
  };
  int64_t now = 1800000000000; /* 2027-01-15 */
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char fields[512], expect[512];
    lb_completion_event ev;
    lb_request_list l;
    const char *skip = NULL;
    snprintf(fields, sizeof(fields),
             "\"user\":{\"id\":\"u1\",\"sso_nameid\":\"ADA01\"},"
             "\"content\":{\"id\":\"735\",\"type\":\"%s\"}%s",
             cases[i].type, cases[i].fields);
    completion(&ev, "2017-01-02T03:04:05Z", fields);
    lb_request_list_init(&l);
    assert_int_equal(lb_map_ocn_learning_event(&ev, &sf, &provider, now, &l, &skip), LB_E_OK);
    assert_null(skip);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.items[0].step, LB_STEP_COMPLETION);
    assert_int_equal(l.items[0].method, LB_POST);
    assert_string_equal(l.items[0].url, OCN_EVENTS_URL);
    snprintf(expect, sizeof(expect),
             "{\"userID\":\"ADA01\",\"providerID\":\"DATACAMP\",\"courseID\":\"%s-735\","
             "\"courseCompleted\":true,\"completedTimestamp\":1483326245000%s}",
             cases[i].type, cases[i].hours);
    assert_string_equal(l.items[0].body, expect);
    lb_request_list_release(&l);
    lb_completion_event_release(&ev);
  }
}

/* The identifier each integration asks for, from a learner who has all. */
static void test_learning_event_identifier(void **state)
{
  (void)state;
  static const struct {
    lb_user_id_kind kind;
    const char *user_id;
  } ids[] = { { LB_UID_EMAIL, "ada@globex.example" },
              { LB_UID_LMS_USERNAME, "ada.l" },
              { LB_UID_SSO_NAMEID, "ADA01" } };
  lb_completion_event ev;
  completion(&ev, "2017-01-02T03:04:05Z",
             "\"user\":{\"id\":\"u1\",\"email\":\"ada@globex.example\","
             "\"sso_nameid\":\"ADA01\",\"lms_username\":\"ada.l\"},"
             "\"content\":{\"id\":\"735\",\"type\":\"course\"}");
  for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
    char expect[512];
    lb_request_list l;
    const char *skip = NULL;
    lb_integration in = sf;
    in.user_identifier = ids[i].kind;
    lb_request_list_init(&l);
    assert_int_equal(lb_map_ocn_learning_event(&ev, &in, &provider, 1800000000000, &l, &skip),
                     LB_E_OK);
    snprintf(expect, sizeof(expect),
             "{\"userID\":\"%s\",\"providerID\":\"DATACAMP\",\"courseID\":\"course-735\","
             "\"courseCompleted\":true,\"completedTimestamp\":1483326245000}",
             ids[i].user_id);
    assert_string_equal(l.items[0].body, expect);
    lb_request_list_release(&l);
  }
  lb_completion_event_release(&ev);
}

static void test_learning_event_never_in_the_future(void **state)
{
  (void)state;
  lb_completion_event ev;
  lb_request_list l;
  const char *skip = NULL;
  int64_t now;
  assert_int_equal(lb_time_parse_rfc3339("2026-03-04T12:00:00Z", &now), LB_E_OK);
  completion(&ev, "2026-03-04T12:00:05Z",
             "\"user\":{\"id\":\"u1\",\"sso_nameid\":\"ADA01\"},"
             "\"content\":{\"id\":\"p\",\"type\":\"practice\"}");
  lb_request_list_init(&l);
  assert_int_equal(lb_map_ocn_learning_event(&ev, &sf, &provider, now, &l, &skip), LB_E_OK);
  char expect[64];
  snprintf(expect, sizeof(expect), "\"completedTimestamp\":%lld}", (long long)now);
  assert_non_null(strstr(l.items[0].body, expect));
  lb_request_list_release(&l);
  lb_completion_event_release(&ev);
}

static void test_learning_event_without_identifier_is_skipped(void **state)
{
  (void)state;
  lb_completion_event ev;
  lb_request_list l;
  const char *skip = NULL;
  completion(&ev, "2026-03-04T12:00:05Z",
             "\"user\":{\"id\":\"u1\",\"email\":\"ada@globex.example\",\"sso_nameid\":null},"
             "\"content\":{\"id\":\"p\",\"type\":\"course\"}");
  lb_request_list_init(&l);
  assert_int_equal(lb_map_ocn_learning_event(&ev, &sf, &provider, 0, &l, &skip), LB_E_OK);
  assert_int_equal(l.n, 0);
  assert_non_null(skip);
  assert_non_null(strstr(skip, "no sso_nameid"));
  lb_request_list_release(&l);
  lb_completion_event_release(&ev);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_course_object),
    cmocka_unit_test(test_each_content_type),
    cmocka_unit_test(test_course_rules),
    cmocka_unit_test(test_batch_body),
    cmocka_unit_test(test_learning_event),
    cmocka_unit_test(test_learning_event_identifier),
    cmocka_unit_test(test_learning_event_never_in_the_future),
    cmocka_unit_test(test_learning_event_without_identifier_is_skipped),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
