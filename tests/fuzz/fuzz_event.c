/* Fuzz targets event_catalog and event_completion (LB_FUZZ_NAME says
 * which): a Kafka message value through lb_catalog_event_parse or
 * lb_completion_event_parse. Besides not crashing:
 * - a refusal names a field ("<path>: <why>", UTF-8) and leaves the
 *   event zeroed;
 * - an accepted event keeps the contract's limits, is not also a valid
 *   event of the other kind, has the event_id lb_event_id_peek sees, and
 *   written back as JSON from its fields parses again to the same fields
 *   (what the parser kept is itself a valid event). */
#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "lb_event.h"
#include "lb_json.h"
#include "lb_time.h"
#include "lb_url.h"

static bool catalog;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  catalog = strcmp(LB_FUZZ_NAME, "event_catalog") == 0;
  return 0;
}

static void check_refusal(const char *err)
{
  FZ_CHECK(err[0] && strstr(err, ": "), "refusal without \"<field>: <why>\": \"%s\"", err);
  fz_check_utf8("the refusal", err, strlen(err));
}

static void put_str(json_object *o, const char *key, const char *s)
{
  json_object_object_add(o, key, s ? json_object_new_string(s) : NULL);
}

/* Equal strings, both NULL included. */
static bool same(const char *a, const char *b)
{
  return a == b || (a && b && strcmp(a, b) == 0);
}

/* A string the parser kept: UTF-8, within max characters. */
static void check_text(const char *what, const char *s, size_t max)
{
  if (!s)
    return;
  size_t n = strlen(s), chars = 0;
  fz_check_utf8(what, s, n);
  for (size_t i = 0; i < n; i++)
    chars += ((unsigned char)s[i] & 0xC0) != 0x80;
  FZ_CHECK(chars <= max, "%s has %zu characters", what, chars);
}

static void check_time(const char *what, const char *text, int64_t ms)
{
  int64_t again = 0;
  FZ_CHECK(lb_time_parse_rfc3339(text, &again) == LB_E_OK && again == ms,
           "%s \"%s\" kept as %" PRId64 " ms", what, text, ms);
}

static json_object *catalog_json(const lb_catalog_event *ev)
{
  json_object *o = json_object_new_object(), *c = json_object_new_object();
  put_str(o, "schema", "catalog.v1");
  put_str(o, "event_id", ev->event_id);
  put_str(o, "event_type",
          ev->event_type == LB_CATALOG_UPSERTED ? "content.upserted" : "content.archived");
  put_str(o, "occurred_at", ev->occurred_at);
  json_object_object_add(o, "version", json_object_new_int64((int64_t)ev->version));
  put_str(c, "id", ev->content.id);
  put_str(c, "type", lb_content_type_name(ev->content.type));
  put_str(c, "title", ev->content.title);
  put_str(c, "description", ev->content.description);
  put_str(c, "url", ev->content.url);
  put_str(c, "technology", ev->content.technology);
  if (ev->content.has_duration)
    json_object_object_add(c, "duration_hours", json_object_new_double(ev->content.duration_hours));
  if (ev->content.has_num_questions)
    json_object_object_add(c, "num_questions", json_object_new_int(ev->content.num_questions));
  put_str(c, "language", ev->content.language);
  if (ev->content.organization_id)
    put_str(c, "organization_id", ev->content.organization_id);
  if (ev->content.skills) {
    json_object *a = json_object_new_array();
    for (size_t i = 0; i < ev->content.nskills; i++)
      json_object_array_add(a, json_object_new_string(ev->content.skills[i]));
    json_object_object_add(c, "skills", a);
  }
  json_object_object_add(o, "content", c);
  return o;
}

static void check_catalog(const lb_catalog_event *ev, const char *buf, size_t len)
{
  check_text("event_id", ev->event_id, 256);
  check_text("content.id", ev->content.id, 128);
  check_text("content.title", ev->content.title, 500);
  check_text("content.description", ev->content.description, 10000);
  check_text("content.technology", ev->content.technology, 64);
  check_text("content.organization_id", ev->content.organization_id, 128);
  FZ_CHECK(ev->event_id[0] && ev->content.id[0] && ev->content.title[0], "an empty required text");
  FZ_CHECK(lb_url_is_https_link(ev->content.url), "content.url \"%s\"", ev->content.url);
  check_time("occurred_at", ev->occurred_at, ev->occurred_at_ms);
  FZ_CHECK(ev->version <= 9007199254740991u, "version %" PRIu64, ev->version);
  FZ_CHECK(!ev->content.has_duration ||
               (ev->content.duration_hours >= 0 && ev->content.duration_hours <= 10000),
           "duration_hours %g", ev->content.duration_hours);
  FZ_CHECK((ev->content.type == LB_CT_CUSTOM_TRACK) == (ev->content.organization_id != NULL),
           "organization_id with content.type %s", lb_content_type_name(ev->content.type));
  FZ_CHECK(ev->content.nskills <= 100, "%zu skills", ev->content.nskills);
  for (size_t i = 0; i < ev->content.nskills; i++)
    check_text("a skill", ev->content.skills[i], 200);

  char err[512], *id = lb_event_id_peek(buf, len);
  FZ_CHECK(same(id, ev->event_id), "lb_event_id_peek says \"%s\"", id ? id : "(null)");
  free(id);
  lb_completion_event other;
  FZ_CHECK(lb_completion_event_parse(&other, buf, len, err, sizeof(err)) == LB_E_EVENT,
           "a valid catalog event is a valid completion event too");

  json_object *o = catalog_json(ev);
  const char *text = lb_json_text(o);
  lb_catalog_event again;
  lb_err e = lb_catalog_event_parse(&again, text, strlen(text), err, sizeof(err));
  FZ_CHECK(e == LB_E_OK, "written back, the event is refused (%s): %s", err, text);
  FZ_CHECK(same(again.event_id, ev->event_id) && again.event_type == ev->event_type &&
               same(again.occurred_at, ev->occurred_at) &&
               again.occurred_at_ms == ev->occurred_at_ms && again.version == ev->version &&
               same(again.content.id, ev->content.id) && again.content.type == ev->content.type &&
               same(again.content.title, ev->content.title) &&
               same(again.content.description, ev->content.description) &&
               same(again.content.url, ev->content.url) &&
               same(again.content.technology, ev->content.technology) &&
               again.content.has_duration == ev->content.has_duration &&
               (!ev->content.has_duration ||
                again.content.duration_hours == ev->content.duration_hours) &&
               again.content.has_num_questions == ev->content.has_num_questions &&
               again.content.num_questions == ev->content.num_questions &&
               same(again.content.language, ev->content.language) &&
               same(again.content.organization_id, ev->content.organization_id) &&
               again.content.nskills == ev->content.nskills,
           "written back and parsed again, the event differs: %s", text);
  for (size_t i = 0; i < ev->content.nskills; i++)
    FZ_CHECK(same(again.content.skills[i], ev->content.skills[i]), "skill %zu differs", i);
  lb_catalog_event_release(&again);
  json_object_put(o);
}

static json_object *completion_json(const lb_completion_event *ev)
{
  json_object *o = json_object_new_object(), *u = json_object_new_object(),
              *c = json_object_new_object();
  put_str(o, "schema", "completion.v1");
  put_str(o, "event_id", ev->event_id);
  put_str(o, "occurred_at", ev->occurred_at);
  put_str(o, "organization_id", ev->organization_id);
  put_str(u, "id", ev->user.id);
  put_str(u, "email", ev->user.email);
  put_str(u, "sso_nameid", ev->user.sso_nameid);
  put_str(u, "lms_username", ev->user.lms_username);
  json_object_object_add(o, "user", u);
  put_str(c, "id", ev->content.id);
  put_str(c, "type", lb_content_type_name(ev->content.type));
  json_object_object_add(o, "content", c);
  put_str(o, "completed_at", ev->completed_at);
  json_object_object_add(o, "skipped", json_object_new_boolean(ev->skipped));
  if (ev->has_duration)
    json_object_object_add(o, "duration_hours", json_object_new_double(ev->duration_hours));
  if (ev->has_score)
    json_object_object_add(o, "score", json_object_new_double(ev->score));
  if (ev->skills) {
    json_object *a = json_object_new_array();
    for (size_t i = 0; i < ev->nskills; i++) {
      json_object *s = json_object_new_object();
      put_str(s, "name", ev->skills[i].name);
      json_object_object_add(s, "score", json_object_new_double(ev->skills[i].score));
      if (ev->skills[i].level)
        json_object_object_add(s, "level", json_object_new_int(ev->skills[i].level));
      json_object_array_add(a, s);
    }
    json_object_object_add(o, "skills", a);
  }
  return o;
}

static void check_completion(const lb_completion_event *ev, const char *buf, size_t len)
{
  check_text("event_id", ev->event_id, 256);
  check_text("organization_id", ev->organization_id, 128);
  check_text("user.id", ev->user.id, 256);
  check_text("user.email", ev->user.email, 320);
  check_text("user.sso_nameid", ev->user.sso_nameid, 320);
  check_text("user.lms_username", ev->user.lms_username, 320);
  check_text("content.id", ev->content.id, 128);
  FZ_CHECK(ev->event_id[0] && ev->organization_id[0] && ev->user.id[0] && ev->content.id[0],
           "an empty required text");
  check_time("occurred_at", ev->occurred_at, ev->occurred_at_ms);
  check_time("completed_at", ev->completed_at, ev->completed_at_ms);
  FZ_CHECK(!ev->has_score || (ev->score >= 0 && ev->score <= 100), "score %g", ev->score);
  FZ_CHECK(ev->nskills <= 100, "%zu skills", ev->nskills);
  for (size_t i = 0; i < ev->nskills; i++) {
    check_text("a skill's name", ev->skills[i].name, 200);
    FZ_CHECK(ev->skills[i].score >= 0 && ev->skills[i].score <= 100 && ev->skills[i].level >= 0 &&
                 ev->skills[i].level <= 8,
             "skill %zu: score %g level %d", i, ev->skills[i].score, ev->skills[i].level);
  }
  for (int k = 0; k < 3; k++) {
    const char *u = lb_completion_event_user_identifier(ev, k);
    FZ_CHECK(!u || u[0], "an empty learner identifier of kind %d", k);
  }

  char err[512], *id = lb_event_id_peek(buf, len);
  FZ_CHECK(same(id, ev->event_id), "lb_event_id_peek says \"%s\"", id ? id : "(null)");
  free(id);
  lb_catalog_event other;
  FZ_CHECK(lb_catalog_event_parse(&other, buf, len, err, sizeof(err)) == LB_E_EVENT,
           "a valid completion event is a valid catalog event too");

  json_object *o = completion_json(ev);
  const char *text = lb_json_text(o);
  lb_completion_event again;
  lb_err e = lb_completion_event_parse(&again, text, strlen(text), err, sizeof(err));
  FZ_CHECK(e == LB_E_OK, "written back, the event is refused (%s): %s", err, text);
  FZ_CHECK(same(again.event_id, ev->event_id) && same(again.occurred_at, ev->occurred_at) &&
               again.occurred_at_ms == ev->occurred_at_ms &&
               same(again.organization_id, ev->organization_id) &&
               same(again.user.id, ev->user.id) && same(again.user.email, ev->user.email) &&
               same(again.user.sso_nameid, ev->user.sso_nameid) &&
               same(again.user.lms_username, ev->user.lms_username) &&
               same(again.content.id, ev->content.id) && again.content.type == ev->content.type &&
               same(again.completed_at, ev->completed_at) &&
               again.completed_at_ms == ev->completed_at_ms && again.skipped == ev->skipped &&
               again.has_duration == ev->has_duration &&
               (!ev->has_duration || again.duration_hours == ev->duration_hours) &&
               again.has_score == ev->has_score && (!ev->has_score || again.score == ev->score) &&
               again.nskills == ev->nskills,
           "written back and parsed again, the event differs: %s", text);
  for (size_t i = 0; i < ev->nskills; i++)
    FZ_CHECK(same(again.skills[i].name, ev->skills[i].name) &&
                 again.skills[i].score == ev->skills[i].score &&
                 again.skills[i].level == ev->skills[i].level,
             "skill %zu differs", i);
  lb_completion_event_release(&again);
  json_object_put(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *buf = (const char *)data;
  char err[512];
  if (catalog) {
    lb_catalog_event ev;
    lb_err e = lb_catalog_event_parse(&ev, buf, size, err, sizeof(err));
    FZ_CHECK(e == LB_E_OK || e == LB_E_EVENT, "%s", lb_strerror(e));
    if (e == LB_E_OK)
      check_catalog(&ev, buf, size);
    else
      check_refusal(err);
    FZ_CHECK(e == LB_E_OK || (!ev.event_id && !ev.content.skills), "a refused event kept fields");
    lb_catalog_event_release(&ev);
  } else {
    lb_completion_event ev;
    lb_err e = lb_completion_event_parse(&ev, buf, size, err, sizeof(err));
    FZ_CHECK(e == LB_E_OK || e == LB_E_EVENT, "%s", lb_strerror(e));
    if (e == LB_E_OK)
      check_completion(&ev, buf, size);
    else
      check_refusal(err);
    FZ_CHECK(e == LB_E_OK || (!ev.event_id && !ev.skills), "a refused event kept fields");
    lb_completion_event_release(&ev);
  }
  return 0;
}
