#include "lb_map_degreed.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lb_json.h"
#include "lb_strbuf.h"
#include "lb_time.h"
#include "lb_url.h"

#define ID_PLACEHOLDER "{id}"

static bool is_assessment(lb_content_type t)
{
  return t == LB_CT_ASSESSMENT;
}

/* "content/courses" or "content/assessments": the JSON:API type and path. */
static const char *resource(lb_content_type t)
{
  return is_assessment(t) ? "content/assessments" : "content/courses";
}

/* The attributes of docs/mapping.md for an upsert, in a stable order;
 * obsolete false (an upsert brings an archived item back). New ref. */
static json_object *content_attributes(const lb_catalog_event *ev, const lb_provider *pv)
{
  char ext[160];
  json_object *a = json_object_new_object();
  char *title = lb_content_title(ev->content.title, ev->content.type);
  if (!a || !title)
    goto fail;
  lb_content_external_id(ev->content.type, ev->content.id, ext, sizeof(ext));
  bool duration = lb_content_type_has_duration(ev->content.type) && ev->content.has_duration;
  json_object_object_add(a, "external-id", json_object_new_string(ext));
  json_object_object_add(a, "title", json_object_new_string(title));
  json_object_object_add(a, "summary", json_object_new_string(ev->content.description));
  json_object_object_add(a, "url", json_object_new_string(ev->content.url));
  json_object_object_add(a, "provider-code", json_object_new_string(pv->code));
  json_object_object_add(a, "image-url",
                         json_object_new_string(lb_provider_thumbnail(pv, ev->content.technology)));
  json_object_object_add(a, "duration",
                         duration ? lb_json_number(ev->content.duration_hours) : NULL);
  json_object_object_add(a, "duration-type", duration ? json_object_new_string("Hours") : NULL);
  json_object_object_add(a, "obsolete", json_object_new_boolean(0));
  if (is_assessment(ev->content.type)) {
    int nq =
        ev->content.has_num_questions ? ev->content.num_questions : pv->assessment_num_questions;
    json_object_object_add(a, "num-questions", json_object_new_int(nq));
  } else {
    json_object_object_add(a, "format",
                           json_object_new_string(lb_content_type_label(ev->content.type)));
  }
  json_object_object_add(a, "language", json_object_new_string(ev->content.language));
  free(title);
  return a;
fail:
  free(title);
  json_object_put(a);
  return NULL;
}

/* The attributes of an archive: obsolete alone, so that Degreed keeps what
 * it holds (title, summary, image, duration). New ref. */
static json_object *archive_attributes(void)
{
  json_object *a = json_object_new_object();
  if (a)
    json_object_object_add(a, "obsolete", json_object_new_boolean(1));
  return a;
}

/* {"data":{"type":..., ["id":...,] "attributes":...}} as text; takes attrs. */
static char *envelope(const char *type, const char *id, json_object *attrs)
{
  json_object *root = json_object_new_object();
  json_object *data = json_object_new_object();
  char *text = NULL;
  if (!root || !data) {
    json_object_put(attrs);
    json_object_put(data);
    goto out;
  }
  json_object_object_add(data, "type", json_object_new_string(type));
  if (id)
    json_object_object_add(data, "id", json_object_new_string(id));
  json_object_object_add(data, "attributes", attrs);
  json_object_object_add(root, "data", data);
  text = strdup(lb_json_text(root));
out:
  json_object_put(root);
  return text;
}

static char *join_url(const char *base, const char *path, const char *query_key,
                      const char *query_value)
{
  lb_strbuf b;
  lb_strbuf_init(&b, 0);
  lb_strbuf_append(&b, base);
  lb_strbuf_append(&b, path);
  if (query_key) {
    lb_strbuf_appendf(&b, "?%s=", query_key);
    lb_url_append_encoded(&b, query_value);
  }
  if (b.overflow) {
    lb_strbuf_release(&b);
    return NULL;
  }
  return lb_strbuf_detach(&b);
}

lb_err lb_map_degreed_content(const lb_catalog_event *ev, const lb_integration *in,
                              const lb_provider *pv, int64_t now_ms, lb_request_list *out,
                              const char **skip_reason)
{
  (void)now_ms;
  (void)skip_reason;
  char ext[160], path[64];
  char *create_url = NULL, *lookup_url = NULL, *update_url = NULL;
  char *create_body = NULL, *update_body = NULL;
  lb_err rc = LB_E_NOMEM;
  const char *type = resource(ev->content.type);
  bool archive = ev->event_type == LB_CATALOG_ARCHIVED;

  lb_content_external_id(ev->content.type, ev->content.id, ext, sizeof(ext));
  snprintf(path, sizeof(path), "/api/v2/%s", type);
  create_url = join_url(in->api_base_url, path, NULL, NULL);
  lookup_url = join_url(in->api_base_url, path, "filter[external_id]", ext);
  strncat(path, "/" ID_PLACEHOLDER, sizeof(path) - strlen(path) - 1);
  update_url = join_url(in->api_base_url, path, NULL, NULL);
  json_object *attrs = archive ? NULL : content_attributes(ev, pv);
  json_object *update_attrs = archive ? archive_attributes() : content_attributes(ev, pv);
  if (attrs)
    create_body = envelope(type, NULL, attrs);
  if (update_attrs)
    update_body = envelope(type, ID_PLACEHOLDER, update_attrs);
  if (!create_url || !lookup_url || !update_url || (!archive && !create_body) || !update_body)
    goto out;

  if (!archive && (rc = lb_request_list_add(out, LB_STEP_CREATE, LB_POST, create_url, create_body,
                                            ext)) != LB_E_OK)
    goto out;
  if ((rc = lb_request_list_add(out, LB_STEP_LOOKUP, LB_GET, lookup_url, NULL, ext)) != LB_E_OK ||
      (rc = lb_request_list_add(out, LB_STEP_UPDATE, LB_PATCH, update_url, update_body, ext)) !=
          LB_E_OK)
    goto out;
  rc = LB_E_OK;
out:
  free(create_url);
  free(lookup_url);
  free(update_url);
  free(create_body);
  free(update_body);
  return rc;
}

lb_err lb_map_degreed_bind_id(const lb_request *update, const char *degreed_id, char **ret_url,
                              char **ret_body)
{
  char err[128];
  json_object *root = NULL, *data;
  lb_strbuf url;
  char *body = NULL;
  lb_err rc = LB_E_INVALID;

  lb_strbuf_init(&url, 0);
  const char *at = strstr(update->url, ID_PLACEHOLDER);
  if (!at || !update->body)
    goto out;
  lb_strbuf_append_len(&url, update->url, (size_t)(at - update->url));
  lb_url_append_encoded(&url, degreed_id);
  lb_strbuf_append(&url, at + strlen(ID_PLACEHOLDER));
  if ((rc = lb_json_parse(update->body, strlen(update->body), &root, err, sizeof(err))) != LB_E_OK)
    goto out;
  rc = LB_E_INVALID;
  if (!json_object_object_get_ex(root, "data", &data))
    goto out;
  json_object_object_add(data, "id", json_object_new_string(degreed_id));
  body = strdup(lb_json_text(root));
  rc = body && !url.overflow ? LB_E_OK : LB_E_NOMEM;
out:
  json_object_put(root);
  if (rc == LB_E_OK) {
    *ret_url = lb_strbuf_detach(&url);
    *ret_body = body;
  } else {
    free(body);
  }
  lb_strbuf_release(&url);
  return rc;
}

/* Degreed's eight-level scale from a 0-100 score when no level is given. */
static int level_from_score(double score)
{
  int level = (int)ceil(score * 8.0 / 100.0);
  return level < 1 ? 1 : level > 8 ? 8 : level;
}

lb_err lb_map_degreed_completion(const lb_completion_event *ev, const lb_integration *in,
                                 const lb_provider *pv, int64_t now_ms, lb_request_list *out,
                                 const char **skip_reason)
{
  (void)pv;
  (void)now_ms;
  char ext[160], completed[32];
  char *url = NULL, *body = NULL;
  lb_err rc = LB_E_NOMEM;

  if (!ev->user.email) {
    *skip_reason = "learner has no email, the identifier Degreed needs";
    return LB_E_OK;
  }
  lb_content_external_id(ev->content.type, ev->content.id, ext, sizeof(ext));
  json_object *a = json_object_new_object();
  if (!a)
    return LB_E_NOMEM;
  json_object_object_add(a, "user-id", json_object_new_string(ev->user.email));
  json_object_object_add(a, "user-identifier-type", json_object_new_string("Email"));
  json_object_object_add(a, "content-id", json_object_new_string(ext));
  json_object_object_add(a, "content-id-type", json_object_new_string("ExternalId"));
  json_object_object_add(
      a, "content-type",
      json_object_new_string(is_assessment(ev->content.type) ? "Assessment" : "Course"));
  json_object_object_add(a, "completed-at",
                         json_object_new_string(lb_time_format_seconds(
                             ev->completed_at_ms, completed, sizeof(completed))));
  if (is_assessment(ev->content.type) && ev->has_score)
    json_object_object_add(a, "percentile", lb_json_number(ev->score));
  url = join_url(in->api_base_url, "/api/v2/completions", NULL, NULL);
  body = envelope("completions", NULL, a);
  if (!url || !body ||
      (rc = lb_request_list_add(out, LB_STEP_COMPLETION, LB_POST, url, body, ext)) != LB_E_OK)
    goto out;
  free(url);
  url = NULL;
  if (in->skill_ratings && ev->nskills) {
    url = join_url(in->api_base_url, in->skill_ratings_path, NULL, NULL);
    if (!url)
      goto out;
  }
  for (size_t i = 0; in->skill_ratings && i < ev->nskills; i++) {
    const lb_skill_score *s = &ev->skills[i];
    json_object *r = json_object_new_object();
    if (!r)
      goto out;
    json_object_object_add(r, "user-id", json_object_new_string(ev->user.email));
    json_object_object_add(r, "user-identifier-type", json_object_new_string("Email"));
    json_object_object_add(r, "skill-name", json_object_new_string(s->name));
    json_object_object_add(r, "rating",
                           json_object_new_int(s->level ? s->level : level_from_score(s->score)));
    json_object_object_add(r, "rating-type", json_object_new_string("Evaluation"));
    free(body);
    body = envelope("skill-ratings", NULL, r);
    if (!body ||
        (rc = lb_request_list_add(out, LB_STEP_SKILL_RATING, LB_POST, url, body, ext)) != LB_E_OK)
      goto out;
  }
  rc = LB_E_OK;
out:
  free(url);
  free(body);
  return rc;
}
