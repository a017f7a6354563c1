/* lb_map_degreed: docs/mapping.md, Degreed rules, compared as exact
 * JSON text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_map_degreed.h"
#include "lb_test_events.h"

static lb_config_pair thumbs[] = {
  { .name = "python", .value = "https://cdn.example.com/python.png" },
  { .name = "r", .value = "https://cdn.example.com/r.png" },
};

static const lb_provider provider = {
  .code = "datacamp",
  .ocn_provider_id = "DATACAMP",
  .logo_url = "https://cdn.example.com/logo.png",
  .thumbnails = thumbs,
  .nthumbnails = 2,
  .assessment_num_questions = 15,
};

static lb_integration degreed = {
  .id = "provider-degreed",
  .type = LB_INTEG_DEGREED,
  .organization = "*",
  .provider_level = true,
  .api_base_url = "https://api.degreed.com",
  .skill_ratings = true,
  .skill_ratings_path = "/api/v2/skill-ratings",
};

static void completion(lb_completion_event *ev, const char *fields)
{
  char buf[4096], err[256];
  snprintf(buf, sizeof(buf),
           "{\"schema\":\"completion.v1\",\"event_id\":\"c1\","
           "\"occurred_at\":\"2026-03-04T10:00:00Z\",\"organization_id\":\"acme\","
           "\"completed_at\":\"2026-03-04T09:30:15.250+01:00\",%s}",
           fields);
  if (lb_completion_event_parse(ev, buf, strlen(buf), err, sizeof(err)) != LB_E_OK)
    fail_msg("bad test event: %s", err);
}

#define PROJECT                                                                                    \
  "\"id\":\"78\",\"type\":\"project\",\"title\":\"Wrangling and Visualizing "                      \
  "Musical Data\",\"description\":\"Chords.\",\"url\":"                                            \
  "\"https://www.datacamp.com/projects/78\",\"technology\":\"r\","                                 \
  "\"duration_hours\":2.5"

#define PROJECT_ATTRS                                                                              \
  "{\"external-id\":\"project-78\",\"title\":\"Wrangling and Visualizing "                         \
  "Musical Data - Project\",\"summary\":\"Chords.\",\"url\":"                                      \
  "\"https://www.datacamp.com/projects/78\",\"provider-code\":\"datacamp\","                       \
  "\"image-url\":\"https://cdn.example.com/r.png\",\"duration\":2.5,"                              \
  "\"duration-type\":\"Hours\",\"obsolete\":false,\"format\":"                                     \
  "\"Project\",\"language\":\"en-US\"}"

static void test_project_upsert_is_create_lookup_update(void **state)
{
  (void)state;
  lb_catalog_event ev;
  lb_request_list l;
  lb_test_catalog_event(&ev, "content.upserted", PROJECT);
  lb_request_list_init(&l);
  assert_int_equal(lb_map_degreed_content(&ev, &degreed, &provider, 0, &l, NULL), LB_E_OK);
  assert_int_equal(l.n, 3);

  assert_int_equal(l.items[0].step, LB_STEP_CREATE);
  assert_int_equal(l.items[0].method, LB_POST);
  assert_string_equal(l.items[0].url, "https://api.degreed.com/api/v2/content/courses");
  assert_string_equal(l.items[0].body,
                      "{\"data\":{\"type\":\"content/courses\",\"attributes\":" PROJECT_ATTRS "}}");
  assert_string_equal(l.items[0].key, "project-78");

  assert_int_equal(l.items[1].step, LB_STEP_LOOKUP);
  assert_int_equal(l.items[1].method, LB_GET);
  assert_string_equal(
      l.items[1].url,
      "https://api.degreed.com/api/v2/content/courses?filter[external_id]=project-78");
  assert_null(l.items[1].body);

  assert_int_equal(l.items[2].step, LB_STEP_UPDATE);
  assert_int_equal(l.items[2].method, LB_PATCH);
  assert_string_equal(l.items[2].url, "https://api.degreed.com/api/v2/content/courses/{id}");
  assert_string_equal(
      l.items[2].body,
      "{\"data\":{\"type\":\"content/courses\",\"id\":\"{id}\",\"attributes\":" PROJECT_ATTRS "}}");

  /* the update bound to the id Degreed gave */
  char *url = NULL, *body = NULL;
  assert_int_equal(lb_map_degreed_bind_id(&l.items[2], "zQZ rYE5", &url, &body), LB_E_OK);
  assert_string_equal(url, "https://api.degreed.com/api/v2/content/courses/zQZ%20rYE5");
  assert_string_equal(
      body,
      "{\"data\":{\"type\":\"content/courses\",\"id\":\"zQZ rYE5\",\"attributes\":" PROJECT_ATTRS
      "}}");
  free(url);
  free(body);
  /* a request without the placeholder cannot be bound */
  assert_int_equal(lb_map_degreed_bind_id(&l.items[0], "x", &url, &body), LB_E_INVALID);
  lb_request_list_release(&l);
  lb_catalog_event_release(&ev);
}

static void test_archive_is_lookup_then_obsolete_patch(void **state)
{
  (void)state;
  lb_catalog_event ev;
  lb_request_list l;
  lb_test_catalog_event(&ev, "content.archived", PROJECT);
  lb_request_list_init(&l);
  assert_int_equal(lb_map_degreed_content(&ev, &degreed, &provider, 0, &l, NULL), LB_E_OK);
  assert_int_equal(l.n, 2);
  assert_int_equal(l.items[0].step, LB_STEP_LOOKUP);
  assert_string_equal(
      l.items[0].url,
      "https://api.degreed.com/api/v2/content/courses?filter[external_id]=project-78");
  assert_int_equal(l.items[1].step, LB_STEP_UPDATE);
  assert_int_equal(l.items[1].method, LB_PATCH);
  /* obsolete alone: Degreed keeps the summary, image and duration it holds */
  assert_string_equal(l.items[1].body, "{\"data\":{\"type\":\"content/courses\",\"id\":\"{id}\","
                                       "\"attributes\":{\"obsolete\":true}}}");
  char *url = NULL, *body = NULL;
  assert_int_equal(lb_map_degreed_bind_id(&l.items[1], "zQZ", &url, &body), LB_E_OK);
  assert_string_equal(url, "https://api.degreed.com/api/v2/content/courses/zQZ");
  assert_string_equal(body, "{\"data\":{\"type\":\"content/courses\",\"id\":\"zQZ\","
                            "\"attributes\":{\"obsolete\":true}}}");
  free(url);
  free(body);
  lb_request_list_release(&l);
  lb_catalog_event_release(&ev);
}

/* The id goes in place of the template's "{id}", escaped as JSON wants; a
 * body in any other form is parsed and written again, to the same text. */
static void test_bind_id_escapes_and_any_body(void **state)
{
  (void)state;
  static const char *const ids[] = {
    "zQZ", "a\"b", "back\\slash", "tab\tnl\n\x01", "caf\xc3\xa9/x", "{id}", "",
  };
  static const char *const want[] = {
    "\"zQZ\"",  "\"a\\\"b\"", "\"back\\\\slash\"", "\"tab\\tnl\\n\\u0001\"", "\"caf\xc3\xa9/x\"",
    "\"{id}\"", "\"\"",
  };
  lb_catalog_event ev;
  lb_request_list l;
  lb_test_catalog_event(&ev, "content.upserted", PROJECT);
  lb_request_list_init(&l);
  assert_int_equal(lb_map_degreed_content(&ev, &degreed, &provider, 0, &l, NULL), LB_E_OK);
  const lb_request *update = &l.items[2];
  char spaced[4096];
  snprintf(spaced, sizeof(spaced), " %s ", update->body);
  lb_request other = *update;
  other.body = spaced;
  for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
    char *url = NULL, *body = NULL, *url2 = NULL, *body2 = NULL, expect[4096];
    assert_int_equal(lb_map_degreed_bind_id(update, ids[i], &url, &body), LB_E_OK);
    snprintf(expect, sizeof(expect),
             "{\"data\":{\"type\":\"content/courses\",\"id\":%s,\"attributes\":" PROJECT_ATTRS "}}",
             want[i]);
    assert_string_equal(body, expect);
    assert_int_equal(lb_map_degreed_bind_id(&other, ids[i], &url2, &body2), LB_E_OK);
    assert_string_equal(body2, body);
    assert_string_equal(url2, url);
    free(url);
    free(body);
    free(url2);
    free(body2);
  }
  /* a body that is not JSON cannot be bound */
  char *url = NULL, *body = NULL;
  other.body = "{\"data\":";
  assert_int_equal(lb_map_degreed_bind_id(&other, "x", &url, &body), LB_E_PARSE);
  assert_null(url);
  assert_null(body);
  lb_request_list_release(&l);
  lb_catalog_event_release(&ev);
}

/* Per content type: endpoint, format or num-questions, and duration of the
 * upsert; the archive of each is the same obsolete-only PATCH. */
static void test_each_content_type(void **state)
{
  (void)state;
  static const struct {
    const char *type;
    const char *resource;
    const char *tail;  /* expected attributes after "image-url" */
    const char *extra; /* content fields the type requires */
  } cases[] = {
    { "course", "content/courses",
      "\"duration\":4,\"duration-type\":\"Hours\",\"obsolete\":false,\"format\":\"Course\","
      "\"language\":\"en-US\"}",
      "" },
    { "project", "content/courses",
      "\"duration\":4,\"duration-type\":\"Hours\",\"obsolete\":false,\"format\":\"Project\","
      "\"language\":\"en-US\"}",
      "" },
    { "practice", "content/courses",
      "\"duration\":null,\"duration-type\":null,\"obsolete\":false,\"format\":\"Practice\","
      "\"language\":\"en-US\"}",
      "" },
    { "assessment", "content/assessments",
      "\"duration\":null,\"duration-type\":null,\"obsolete\":false,\"num-questions\":15,"
      "\"language\":\"en-US\"}",
      "" },
    { "skill_track", "content/courses",
      "\"duration\":4,\"duration-type\":\"Hours\",\"obsolete\":false,\"format\":\"Skill "
      "Track\",\"language\":\"en-US\"}",
      "" },
    { "career_track", "content/courses",
      "\"duration\":4,\"duration-type\":\"Hours\",\"obsolete\":false,\"format\":\"Career "
      "Track\",\"language\":\"en-US\"}",
      "" },
    { "custom_track", "content/courses",
      "\"duration\":4,\"duration-type\":\"Hours\",\"obsolete\":false,\"format\":\"Custom "
      "Track\",\"language\":\"en-US\"}",
      ",\"organization_id\":\"acme\"" },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char expect[2048];
    lb_catalog_event ev;
    lb_request_list l;
    lb_test_catalog_item(&ev, "content.upserted", cases[i].type, cases[i].extra);
    lb_request_list_init(&l);
    assert_int_equal(lb_map_degreed_content(&ev, &degreed, &provider, 0, &l, NULL), LB_E_OK);
    snprintf(
        expect, sizeof(expect),
        "{\"data\":{\"type\":\"%s\",\"attributes\":{\"external-id\":\"%s-9\","
        "\"title\":\"T - %s\",\"summary\":\"D\",\"url\":\"https://x.example/9\","
        "\"provider-code\":\"datacamp\",\"image-url\":\"https://cdn.example.com/logo.png\",%s}}",
        cases[i].resource, cases[i].type, lb_content_type_label(ev.content.type), cases[i].tail);
    assert_string_equal(l.items[0].body, expect);
    lb_request_list_release(&l);
    lb_catalog_event_release(&ev);

    lb_test_catalog_item(&ev, "content.archived", cases[i].type, cases[i].extra);
    lb_request_list_init(&l);
    assert_int_equal(lb_map_degreed_content(&ev, &degreed, &provider, 0, &l, NULL), LB_E_OK);
    assert_int_equal(l.n, 2);
    snprintf(expect, sizeof(expect),
             "{\"data\":{\"type\":\"%s\",\"id\":\"{id}\",\"attributes\":{\"obsolete\":true}}}",
             cases[i].resource);
    assert_string_equal(l.items[1].body, expect);
    lb_request_list_release(&l);
    lb_catalog_event_release(&ev);
  }
}

static void test_assessment_questions_and_thumbnail(void **state)
{
  (void)state;
  lb_catalog_event ev;
  lb_request_list l;
  lb_test_catalog_event(
      &ev, "content.upserted",
      "\"id\":\"py\",\"type\":\"assessment\",\"title\":\"Python\",\"description\":\"\","
      "\"url\":\"https://x.example/a\",\"technology\":\"Python\",\"num_questions\":30,"
      "\"language\":\"de-DE\"");
  lb_request_list_init(&l);
  assert_int_equal(lb_map_degreed_content(&ev, &degreed, &provider, 0, &l, NULL), LB_E_OK);
  assert_string_equal(l.items[0].url, "https://api.degreed.com/api/v2/content/assessments");
  assert_string_equal(
      l.items[0].body,
      "{\"data\":{\"type\":\"content/"
      "assessments\",\"attributes\":{\"external-id\":\"assessment-py\","
      "\"title\":\"Python - Assessment\",\"summary\":\"\",\"url\":\"https://x.example/a\","
      "\"provider-code\":\"datacamp\",\"image-url\":\"https://cdn.example.com/python.png\","
      "\"duration\":null,\"duration-type\":null,\"obsolete\":false,\"num-questions\":30,"
      "\"language\":\"de-DE\"}}}");
  assert_string_equal(
      l.items[1].url,
      "https://api.degreed.com/api/v2/content/assessments?filter[external_id]=assessment-py");
  lb_request_list_release(&l);
  lb_catalog_event_release(&ev);
}

static void test_completion_course_and_assessment(void **state)
{
  (void)state;
  lb_completion_event ev;
  lb_request_list l;
  const char *skip = NULL;
  lb_integration in = degreed;
  in.organization = "acme";
  in.provider_level = false;

  completion(&ev, "\"user\":{\"id\":\"u1\",\"email\":\"ada@acme.example\"},"
                  "\"content\":{\"id\":\"735\",\"type\":\"course\"},\"score\":88,"
                  "\"duration_hours\":4");
  lb_request_list_init(&l);
  assert_int_equal(lb_map_degreed_completion(&ev, &in, NULL, 0, &l, &skip), LB_E_OK);
  assert_null(skip);
  assert_int_equal(l.n, 1);
  assert_int_equal(l.items[0].step, LB_STEP_COMPLETION);
  assert_string_equal(l.items[0].url, "https://api.degreed.com/api/v2/completions");
  /* 09:30:15.250+01:00 is 08:30:15 UTC; no percentile for a course */
  assert_string_equal(
      l.items[0].body,
      "{\"data\":{\"type\":\"completions\",\"attributes\":{\"user-id\":\"ada@acme.example\","
      "\"user-identifier-type\":\"Email\",\"content-id\":\"course-735\","
      "\"content-id-type\":\"ExternalId\",\"content-type\":\"Course\","
      "\"completed-at\":\"2026-03-04T08:30:15\"}}}");
  lb_request_list_release(&l);
  lb_completion_event_release(&ev);

  completion(&ev, "\"user\":{\"id\":\"u1\",\"email\":\"ada@acme.example\"},"
                  "\"content\":{\"id\":\"sql\",\"type\":\"assessment\"},\"score\":72.5,"
                  "\"skills\":[{\"name\":\"SQL\",\"score\":72.5,\"level\":5},"
                  "{\"name\":\"Joins\",\"score\":40,\"level\":null}]");
  lb_request_list_init(&l);
  assert_int_equal(lb_map_degreed_completion(&ev, &in, NULL, 0, &l, &skip), LB_E_OK);
  assert_int_equal(l.n, 3);
  assert_string_equal(
      l.items[0].body,
      "{\"data\":{\"type\":\"completions\",\"attributes\":{\"user-id\":\"ada@acme.example\","
      "\"user-identifier-type\":\"Email\",\"content-id\":\"assessment-sql\","
      "\"content-id-type\":\"ExternalId\",\"content-type\":\"Assessment\","
      "\"completed-at\":\"2026-03-04T08:30:15\",\"percentile\":72.5}}}");
  assert_int_equal(l.items[1].step, LB_STEP_SKILL_RATING);
  assert_string_equal(l.items[1].url, "https://api.degreed.com/api/v2/skill-ratings");
  assert_string_equal(
      l.items[1].body,
      "{\"data\":{\"type\":\"skill-ratings\",\"attributes\":{\"user-id\":\"ada@acme.example\","
      "\"user-identifier-type\":\"Email\",\"skill-name\":\"SQL\",\"rating\":5,"
      "\"rating-type\":\"Evaluation\"}}}");
  /* no level: derived from the score on the eight-level scale (40 -> 4) */
  assert_non_null(strstr(l.items[2].body, "\"skill-name\":\"Joins\",\"rating\":4,"));
  lb_request_list_release(&l);

  /* skill ratings off: the completion alone */
  in.skill_ratings = false;
  lb_request_list_init(&l);
  assert_int_equal(lb_map_degreed_completion(&ev, &in, NULL, 0, &l, &skip), LB_E_OK);
  assert_int_equal(l.n, 1);
  lb_request_list_release(&l);
  lb_completion_event_release(&ev);
}

static void test_completion_without_email_is_skipped(void **state)
{
  (void)state;
  lb_completion_event ev;
  lb_request_list l;
  const char *skip = NULL;
  completion(&ev, "\"user\":{\"id\":\"u1\",\"email\":null,\"sso_nameid\":\"ada\"},"
                  "\"content\":{\"id\":\"735\",\"type\":\"course\"}");
  lb_request_list_init(&l);
  assert_int_equal(lb_map_degreed_completion(&ev, &degreed, NULL, 0, &l, &skip), LB_E_OK);
  assert_int_equal(l.n, 0);
  assert_non_null(skip);
  assert_non_null(strstr(skip, "no email"));
  lb_request_list_release(&l);
  lb_completion_event_release(&ev);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_project_upsert_is_create_lookup_update),
    cmocka_unit_test(test_archive_is_lookup_then_obsolete_patch),
    cmocka_unit_test(test_bind_id_escapes_and_any_body),
    cmocka_unit_test(test_each_content_type),
    cmocka_unit_test(test_assessment_questions_and_thumbnail),
    cmocka_unit_test(test_completion_course_and_assessment),
    cmocka_unit_test(test_completion_without_email_is_skipped),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
