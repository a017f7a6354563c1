#include "lb_map_degreed.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lb_json.h"
#include "lb_json_write.h"
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

/* {"data":{"type":type,["id":id,]"attributes":{ : the attributes object
 * is left open for the caller, envelope_end() closes the three. */
static void envelope_begin(lb_json_writer *w, const char *type, const char *id)
{
  lb_json_write_object_begin(w);
  lb_json_write_name(w, "data");
  lb_json_write_object_begin(w);
  lb_json_write_name(w, "type");
  lb_json_write_string(w, type);
  if (id) {
    lb_json_write_name(w, "id");
    lb_json_write_string(w, id);
  }
  lb_json_write_name(w, "attributes");
  lb_json_write_object_begin(w);
}

static lb_err envelope_end(lb_json_writer *w)
{
  lb_json_write_object_end(w);
  lb_json_write_object_end(w);
  lb_json_write_object_end(w);
  return lb_json_write_finish(w);
}

/* envelope_end(), then b's text (new), or NULL with b released. */
static char *envelope_text(lb_json_writer *w, lb_strbuf *b)
{
  if (envelope_end(w) != LB_E_OK) {
    lb_strbuf_release(b);
    return NULL;
  }
  return lb_strbuf_detach(b);
}

/* The body of an upsert's create (id NULL) or update (id "{id}"): the
 * attributes of docs/mapping.md in a stable order, obsolete false (an
 * upsert brings an archived item back). New text, NULL on out of memory. */
static char *content_body(const lb_catalog_event *ev, const lb_provider *pv, const char *id,
                          const char *title, const char *ext)
{
  lb_strbuf b;
  lb_json_writer w;
  bool duration = lb_content_type_has_duration(ev->content.type) && ev->content.has_duration;
  lb_strbuf_init(&b, 0);
  lb_json_write_init(&w, &b);
  envelope_begin(&w, resource(ev->content.type), id);
  lb_json_write_name(&w, "external-id");
  lb_json_write_string(&w, ext);
  lb_json_write_name(&w, "title");
  lb_json_write_string(&w, title);
  lb_json_write_name(&w, "summary");
  lb_json_write_string(&w, ev->content.description);
  lb_json_write_name(&w, "url");
  lb_json_write_string(&w, ev->content.url);
  lb_json_write_name(&w, "provider-code");
  lb_json_write_string(&w, pv->code);
  lb_json_write_name(&w, "image-url");
  lb_json_write_string(&w, lb_provider_thumbnail(pv, ev->content.technology));
  lb_json_write_name(&w, "duration");
  if (duration)
    lb_json_write_number(&w, ev->content.duration_hours);
  else
    lb_json_write_null(&w);
  lb_json_write_name(&w, "duration-type");
  lb_json_write_string(&w, duration ? "Hours" : NULL);
  lb_json_write_name(&w, "obsolete");
  lb_json_write_bool(&w, false);
  if (is_assessment(ev->content.type)) {
    lb_json_write_name(&w, "num-questions");
    lb_json_write_int64(&w, ev->content.has_num_questions ? ev->content.num_questions
                                                          : pv->assessment_num_questions);
  } else {
    lb_json_write_name(&w, "format");
    lb_json_write_string(&w, lb_content_type_label(ev->content.type));
  }
  lb_json_write_name(&w, "language");
  lb_json_write_string(&w, ev->content.language);
  return envelope_text(&w, &b);
}

/* The body of an archive's update: obsolete alone, so that Degreed keeps
 * what it holds (title, summary, image, duration). New text or NULL. */
static char *archive_body(lb_content_type t)
{
  lb_strbuf b;
  lb_json_writer w;
  lb_strbuf_init(&b, 0);
  lb_json_write_init(&w, &b);
  envelope_begin(&w, resource(t), ID_PLACEHOLDER);
  lb_json_write_name(&w, "obsolete");
  lb_json_write_bool(&w, true);
  return envelope_text(&w, &b);
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
  char *title = NULL;
  lb_err rc = LB_E_NOMEM;
  const char *type = resource(ev->content.type);
  bool archive = ev->event_type == LB_CATALOG_ARCHIVED;

  lb_content_external_id(ev->content.type, ev->content.id, ext, sizeof(ext));
  snprintf(path, sizeof(path), "/api/v2/%s", type);
  create_url = join_url(in->api_base_url, path, NULL, NULL);
  lookup_url = join_url(in->api_base_url, path, "filter[external_id]", ext);
  strncat(path, "/" ID_PLACEHOLDER, sizeof(path) - strlen(path) - 1);
  update_url = join_url(in->api_base_url, path, NULL, NULL);
  if (archive) {
    update_body = archive_body(ev->content.type);
  } else if ((title = lb_content_title(ev->content.title, ev->content.type))) {
    create_body = content_body(ev, pv, NULL, title, ext);
    update_body = content_body(ev, pv, ID_PLACEHOLDER, title, ext);
  }
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
  free(title);
  return rc;
}

/* The update body as a template gives it, {"data":{"type":"...","id":"{id}"
 * then the rest: the offset just past the "id": there (where the quoted
 * placeholder starts), 0 when the body is not such a text. */
static size_t template_id_at(const char *body)
{
  static const char head[] = "{\"data\":{\"type\":\"";
  static const char id[] = "\",\"id\":";
  size_t n = sizeof(head) - 1;
  if (strncmp(body, head, n) != 0)
    return 0;
  n += strcspn(body + n, "\"\\");
  if (strncmp(body + n, id, sizeof(id) - 1) != 0)
    return 0;
  n += sizeof(id) - 1;
  return strncmp(body + n, "\"" ID_PLACEHOLDER "\"", strlen(ID_PLACEHOLDER) + 2) == 0 ? n : 0;
}

/* Any other body: parsed, its data.id set, written again. */
static lb_err bind_parsed(const char *text, const char *degreed_id, lb_strbuf *body)
{
  char err[128];
  json_object *root = NULL, *data;
  lb_err rc = lb_json_parse(text, strlen(text), &root, err, sizeof(err));
  if (rc != LB_E_OK)
    goto out;
  rc = LB_E_INVALID;
  if (!json_object_object_get_ex(root, "data", &data))
    goto out;
  json_object_object_add(data, "id", json_object_new_string(degreed_id));
  rc = lb_strbuf_append(body, lb_json_text(root)) == 0 ? LB_E_OK : LB_E_NOMEM;
out:
  json_object_put(root);
  return rc;
}

lb_err lb_map_degreed_bind_id(const lb_request *update, const char *degreed_id, char **ret_url,
                              char **ret_body)
{
  lb_strbuf url, body;
  lb_json_writer w;
  lb_err rc = LB_E_INVALID;
  size_t id_at;

  lb_strbuf_init(&url, 0);
  lb_strbuf_init(&body, 0);
  const char *at = strstr(update->url, ID_PLACEHOLDER);
  if (!at || !update->body)
    goto out;
  lb_strbuf_append_len(&url, update->url, (size_t)(at - update->url));
  lb_url_append_encoded(&url, degreed_id);
  lb_strbuf_append(&url, at + strlen(ID_PLACEHOLDER));
  if ((id_at = template_id_at(update->body))) {
    /* our own template: the id written in place of the placeholder, the
     * text json-c would write after parsing and setting it */
    lb_strbuf_append_len(&body, update->body, id_at);
    lb_json_write_init(&w, &body);
    lb_json_write_string(&w, degreed_id);
    rc = lb_json_write_finish(&w);
    lb_strbuf_append(&body, update->body + id_at + strlen(ID_PLACEHOLDER) + 2);
  } else {
    rc = bind_parsed(update->body, degreed_id, &body);
  }
  if (rc == LB_E_OK && (url.overflow || body.overflow))
    rc = LB_E_NOMEM;
out:
  if (rc == LB_E_OK) {
    *ret_url = lb_strbuf_detach(&url);
    *ret_body = lb_strbuf_detach(&body);
  }
  lb_strbuf_release(&url);
  lb_strbuf_release(&body);
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
  char *url = NULL;
  lb_strbuf body;
  lb_json_writer w;
  lb_err rc = LB_E_NOMEM;

  if (!ev->user.email) {
    *skip_reason = "learner has no email, the identifier Degreed needs";
    return LB_E_OK;
  }
  lb_strbuf_init(&body, 0);
  lb_content_external_id(ev->content.type, ev->content.id, ext, sizeof(ext));
  lb_json_write_init(&w, &body);
  envelope_begin(&w, "completions", NULL);
  lb_json_write_name(&w, "user-id");
  lb_json_write_string(&w, ev->user.email);
  lb_json_write_name(&w, "user-identifier-type");
  lb_json_write_string(&w, "Email");
  lb_json_write_name(&w, "content-id");
  lb_json_write_string(&w, ext);
  lb_json_write_name(&w, "content-id-type");
  lb_json_write_string(&w, "ExternalId");
  lb_json_write_name(&w, "content-type");
  lb_json_write_string(&w, is_assessment(ev->content.type) ? "Assessment" : "Course");
  lb_json_write_name(&w, "completed-at");
  lb_json_write_string(&w,
                       lb_time_format_seconds(ev->completed_at_ms, completed, sizeof(completed)));
  if (is_assessment(ev->content.type) && ev->has_score) {
    lb_json_write_name(&w, "percentile");
    lb_json_write_number(&w, ev->score);
  }
  url = join_url(in->api_base_url, "/api/v2/completions", NULL, NULL);
  if (!url || (rc = envelope_end(&w)) != LB_E_OK ||
      (rc = lb_request_list_add(out, LB_STEP_COMPLETION, LB_POST, url, body.buf, ext)) != LB_E_OK)
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
    lb_strbuf_reset(&body);
    lb_json_write_init(&w, &body);
    envelope_begin(&w, "skill-ratings", NULL);
    lb_json_write_name(&w, "user-id");
    lb_json_write_string(&w, ev->user.email);
    lb_json_write_name(&w, "user-identifier-type");
    lb_json_write_string(&w, "Email");
    lb_json_write_name(&w, "skill-name");
    lb_json_write_string(&w, s->name);
    lb_json_write_name(&w, "rating");
    lb_json_write_int64(&w, s->level ? s->level : level_from_score(s->score));
    lb_json_write_name(&w, "rating-type");
    lb_json_write_string(&w, "Evaluation");
    if ((rc = envelope_end(&w)) != LB_E_OK ||
        (rc = lb_request_list_add(out, LB_STEP_SKILL_RATING, LB_POST, url, body.buf, ext)) !=
            LB_E_OK)
      goto out;
  }
  rc = LB_E_OK;
out:
  free(url);
  lb_strbuf_release(&body);
  return rc;
}
