#include "lb_map_ocn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lb_json_write.h"
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
static void localized(lb_json_writer *w, const char *locale, const char *value)
{
  lb_json_write_array_begin(w);
  lb_json_write_object_begin(w);
  lb_json_write_name(w, "locale");
  lb_json_write_string(w, locale);
  lb_json_write_name(w, "value");
  lb_json_write_string(w, value);
  lb_json_write_object_end(w);
  lb_json_write_array_end(w);
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
  lb_strbuf body;
  lb_json_writer w;
  lb_err rc = LB_E_NOMEM;
  char *url = url_for(in, OCN_COURSES_PATH);
  char *title = lb_content_title(ev->content.title, ev->content.type);
  lb_strbuf_init(&body, 0);
  if (!url || !title)
    goto out;
  const char *locale = lb_map_ocn_locale(ev->content.language);
  lb_content_external_id(ev->content.type, ev->content.id, course_id, sizeof(course_id));
  lb_json_write_init(&w, &body);
  lb_json_write_object_begin(&w);
  lb_json_write_name(&w, "courseID");
  lb_json_write_string(&w, course_id);
  lb_json_write_name(&w, "providerID");
  lb_json_write_string(&w, pv->ocn_provider_id);
  lb_json_write_name(&w, "status");
  lb_json_write_string(&w, ev->event_type == LB_CATALOG_ARCHIVED ? "INACTIVE" : "ACTIVE");
  lb_json_write_name(&w, "title");
  localized(&w, locale, title);
  /* SAP wants a non-empty description: the title stands in for none. */
  lb_json_write_name(&w, "description");
  localized(&w, locale, *ev->content.description ? ev->content.description : title);
  lb_json_write_name(&w, "thumbnailURI");
  lb_json_write_string(&w, lb_provider_thumbnail(pv, ev->content.technology));
  lb_json_write_name(&w, "content");
  lb_json_write_array_begin(&w);
  lb_json_write_object_begin(&w);
  lb_json_write_name(&w, "providerID");
  lb_json_write_string(&w, pv->ocn_provider_id);
  lb_json_write_name(&w, "launchURL");
  lb_json_write_string(&w, ev->content.url);
  lb_json_write_name(&w, "contentTitle");
  lb_json_write_string(&w, title);
  lb_json_write_name(&w, "contentID");
  lb_json_write_string(&w, course_id);
  lb_json_write_name(&w, "launchType");
  lb_json_write_int64(&w, 3);
  lb_json_write_name(&w, "mobileEnabled");
  lb_json_write_bool(&w, true);
  lb_json_write_object_end(&w);
  lb_json_write_array_end(&w);
  if (lb_content_type_has_duration(ev->content.type) && ev->content.has_duration) {
    snprintf(hours, sizeof(hours), "%.15g hours", ev->content.duration_hours);
    lb_json_write_name(&w, "duration");
    lb_json_write_string(&w, hours);
  }
  lb_json_write_object_end(&w);
  if ((rc = lb_json_write_finish(&w)) == LB_E_OK)
    rc = lb_request_list_add(out, LB_STEP_OCN_COURSE, LB_POST, url, body.buf, course_id);
out:
  lb_strbuf_release(&body);
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
  lb_strbuf body;
  lb_json_writer w;
  lb_err rc = LB_E_NOMEM;
  lb_strbuf_init(&body, 0);
  if (!url)
    goto out;
  int64_t ts = ev->completed_at_ms < now_ms ? ev->completed_at_ms : now_ms;
  lb_json_write_init(&w, &body);
  lb_json_write_object_begin(&w);
  lb_json_write_name(&w, "userID");
  lb_json_write_string(&w, user);
  lb_json_write_name(&w, "providerID");
  lb_json_write_string(&w, pv->ocn_provider_id);
  lb_json_write_name(&w, "courseID");
  lb_json_write_string(&w, course_id);
  lb_json_write_name(&w, "courseCompleted");
  lb_json_write_bool(&w, true);
  lb_json_write_name(&w, "completedTimestamp");
  lb_json_write_int64(&w, ts);
  if (ev->has_duration) {
    lb_json_write_name(&w, "totalHours");
    lb_json_write_number(&w, ev->duration_hours);
  }
  lb_json_write_object_end(&w);
  if ((rc = lb_json_write_finish(&w)) == LB_E_OK)
    rc = lb_request_list_add(out, LB_STEP_COMPLETION, LB_POST, url, body.buf, course_id);
out:
  lb_strbuf_release(&body);
  free(url);
  return rc;
}
