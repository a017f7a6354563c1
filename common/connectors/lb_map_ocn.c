#include "lb_map_ocn.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lb_json.h"
#include "lb_strbuf.h"

#define OCN_COURSES_PATH "/learning/odatav4/public/admin/ocn/v1/OcnCourses"
#define OCN_EVENTS_PATH "/learning/odatav4/public/admin/learningevent-service/v1/OCNLearningEvents"

/* BCP 47 prefix -> SuccessFactors locale name; the longest match wins,
 * everything else is English (as SAP's own integrations fall back). */
static const struct {
  const char *tag;
  const char *locale;
} locales[] = {
  { "en", "English" },
  { "en-GB", "English United Kingdom" },
  { "de", "German" },
  { "fr", "French" },
  { "es", "Spanish" },
  { "it", "Italian" },
  { "nl", "Dutch" },
  { "pt", "Portuguese" },
  { "pt-BR", "Brazilian Portuguese" },
  { "ja", "Japanese" },
  { "ko", "Korean" },
  { "zh", "Simplified Chinese" },
  { "zh-TW", "Chinese Taiwan" },
  { "ru", "Russian" },
  { "pl", "Polish" },
  { "tr", "Turkish" },
};

const char *lb_map_ocn_locale(const char *language)
{
  const char *best = "English";
  size_t best_len = 0;
  for (size_t i = 0; language && i < sizeof(locales) / sizeof(locales[0]); i++) {
    size_t n = strlen(locales[i].tag);
    if (strncasecmp(language, locales[i].tag, n) == 0 &&
        (language[n] == '\0' || language[n] == '-') && n > best_len) {
      best = locales[i].locale;
      best_len = n;
    }
  }
  return best;
}

/* [{"locale": ..., "value": ...}] */
static json_object *localized(const char *locale, const char *value)
{
  json_object *arr = json_object_new_array();
  json_object *item = json_object_new_object();
  json_object_object_add(item, "locale", json_object_new_string(locale));
  json_object_object_add(item, "value", json_object_new_string(value));
  json_object_array_add(arr, item);
  return arr;
}

static char *url_for(const lb_integration *in, const char *path)
{
  lb_strbuf b;
  lb_strbuf_init(&b, 0);
  lb_strbuf_appendf(&b, "%s%s", in->api_base_url, path);
  if (b.overflow) {
    lb_strbuf_release(&b);
    return NULL;
  }
  return lb_strbuf_detach(&b);
}

lb_err lb_map_ocn_course(const lb_catalog_event *ev, const lb_integration *in,
                         const lb_provider *pv, int64_t now_ms, lb_request_list *out,
                         const char **skip_reason)
{
  (void)now_ms;
  (void)skip_reason;
  char course_id[160], hours[64];
  lb_err rc = LB_E_NOMEM;
  char *url = url_for(in, OCN_COURSES_PATH);
  char *title = lb_content_title(ev->content.title, ev->content.type);
  json_object *c = json_object_new_object();
  json_object *sections = json_object_new_array();
  json_object *section = json_object_new_object();
  if (!url || !title || !c || !sections || !section) {
    json_object_put(sections);
    json_object_put(section);
    goto out;
  }
  const char *locale = lb_map_ocn_locale(ev->content.language);
  lb_content_external_id(ev->content.type, ev->content.id, course_id, sizeof(course_id));
  json_object_object_add(c, "courseID", json_object_new_string(course_id));
  json_object_object_add(c, "providerID", json_object_new_string(pv->ocn_provider_id));
  json_object_object_add(
      c, "status",
      json_object_new_string(ev->event_type == LB_CATALOG_ARCHIVED ? "INACTIVE" : "ACTIVE"));
  json_object_object_add(c, "title", localized(locale, title));
  /* SAP wants a non-empty description: the title stands in for none. */
  json_object_object_add(
      c, "description",
      localized(locale, *ev->content.description ? ev->content.description : title));
  json_object_object_add(c, "thumbnailURI",
                         json_object_new_string(lb_provider_thumbnail(pv, ev->content.technology)));
  json_object_object_add(section, "providerID", json_object_new_string(pv->ocn_provider_id));
  json_object_object_add(section, "launchURL", json_object_new_string(ev->content.url));
  json_object_object_add(section, "contentTitle", json_object_new_string(title));
  json_object_object_add(section, "contentID", json_object_new_string(course_id));
  json_object_object_add(section, "launchType", json_object_new_int(3));
  json_object_object_add(section, "mobileEnabled", json_object_new_boolean(1));
  json_object_array_add(sections, section);
  json_object_object_add(c, "content", sections);
  if (lb_content_type_has_duration(ev->content.type) && ev->content.has_duration) {
    snprintf(hours, sizeof(hours), "%.15g hours", ev->content.duration_hours);
    json_object_object_add(c, "duration", json_object_new_string(hours));
  }
  rc = lb_request_list_add(out, LB_STEP_OCN_COURSE, LB_POST, url, lb_json_text(c), course_id);
out:
  json_object_put(c);
  free(url);
  free(title);
  return rc;
}

lb_err lb_map_ocn_batch(const char *const *courses, size_t n, char **ret)
{
  lb_strbuf b;
  lb_strbuf_init(&b, 0);
  lb_strbuf_append(&b, "{\"ocnCourses\":[");
  for (size_t i = 0; i < n; i++) {
    if (i)
      lb_strbuf_append(&b, ",");
    lb_strbuf_append(&b, courses[i]);
  }
  lb_strbuf_append(&b, "]}");
  if (b.overflow) {
    lb_strbuf_release(&b);
    return LB_E_NOMEM;
  }
  *ret = lb_strbuf_detach(&b);
  return *ret ? LB_E_OK : LB_E_NOMEM;
}

lb_err lb_map_ocn_learning_event(const lb_completion_event *ev, const lb_integration *in,
                                 const lb_provider *pv, int64_t now_ms, lb_request_list *out,
                                 const char **skip_reason)
{
  char course_id[160];
  const char *user = lb_completion_event_user_identifier(ev, (int)in->user_identifier);
  if (!user) {
    switch (in->user_identifier) {
    case LB_UID_EMAIL:
      *skip_reason = "learner has no email, the identifier this integration needs";
      break;
    case LB_UID_SSO_NAMEID:
      *skip_reason = "learner has no sso_nameid, the identifier this integration needs";
      break;
    case LB_UID_LMS_USERNAME:
      *skip_reason = "learner has no lms_username, the identifier this integration needs";
      break;
    }
    return LB_E_OK;
  }
  lb_content_external_id(ev->content.type, ev->content.id, course_id, sizeof(course_id));
  char *url = url_for(in, OCN_EVENTS_PATH);
  json_object *e = json_object_new_object();
  lb_err rc = LB_E_NOMEM;
  if (!url || !e)
    goto out;
  int64_t ts = ev->completed_at_ms < now_ms ? ev->completed_at_ms : now_ms;
  json_object_object_add(e, "userID", json_object_new_string(user));
  json_object_object_add(e, "providerID", json_object_new_string(pv->ocn_provider_id));
  json_object_object_add(e, "courseID", json_object_new_string(course_id));
  json_object_object_add(e, "courseCompleted", json_object_new_boolean(1));
  json_object_object_add(e, "completedTimestamp", json_object_new_int64(ts));
  if (ev->has_duration)
    json_object_object_add(e, "totalHours", lb_json_number(ev->duration_hours));
  rc = lb_request_list_add(out, LB_STEP_COMPLETION, LB_POST, url, lb_json_text(e), course_id);
out:
  json_object_put(e);
  free(url);
  return rc;
}
