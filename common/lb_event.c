#include "lb_event.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_json.h"
#include "lb_strbuf.h"
#include "lb_time.h"
#include "lb_url.h"

#define ID_MAX 256
#define CONTENT_ID_MAX 128
#define ORG_MAX 128
#define TITLE_MAX 500
#define DESCRIPTION_MAX 10000
#define TECHNOLOGY_MAX 64
#define LANGUAGE_MAX 35
#define SKILL_NAME_MAX 200
#define SKILLS_MAX 100
#define IDENTIFIER_MAX 320
#define HOURS_MAX 10000.0
#define NUM_QUESTIONS_MAX 10000
#define VERSION_MAX 9007199254740991.0 /* 2^53 - 1, exact in JSON everywhere */

/* Parse state: the first problem wins. */
typedef struct {
  char *err;
  size_t errlen;
  bool failed;
  bool nomem;
} pctx;

static bool fail(pctx *p, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool fail(pctx *p, const char *path, const char *fmt, ...)
{
  char why[256];
  va_list ap;
  if (p->failed)
    return false;
  va_start(ap, fmt);
  vsnprintf(why, sizeof(why), fmt, ap);
  va_end(ap);
  snprintf(p->err, p->errlen, "%s: %s", path, why);
  p->failed = true;
  return false;
}

static char *copy(pctx *p, const char *s)
{
  char *d = strdup(s);
  if (!d) {
    p->nomem = true;
    fail(p, "$", "out of memory");
  }
  return d;
}

/* Code points in valid UTF-8 (the parse has validated it): JSON Schema's
 * minLength/maxLength count characters, not bytes. */
static size_t utf8_length(const char *s)
{
  size_t n = 0;
  for (; *s; s++)
    if (((unsigned char)*s & 0xC0) != 0x80)
      n++;
  return n;
}

/* "parent.name", or "name" at the top level ("" or NULL parent), cut to
 * len: made for every field of every event, so not with snprintf. */
static const char *join(char *buf, size_t len, const char *parent, const char *name)
{
  if (parent && *parent)
    return lb_strbuf_concat(buf, len, parent, ".", name, (char *)NULL);
  return lb_strbuf_concat(buf, len, name, (char *)NULL);
}

typedef enum { REQUIRED, OPTIONAL, NULLABLE } presence;

/* Looks a member up. Returns false (after reporting) when a required one is
 * absent or null where null is not allowed; *ret is NULL for absent/null. */
static bool member(pctx *p, const lb_json_value *obj, const char *path, const char *name,
                   presence pres, const lb_json_value **ret)
{
  const lb_json_value *v = lb_json_get(obj, name);
  bool found = v != NULL;
  *ret = found && v->type != LB_JSON_NULL ? v : NULL;
  if (!found && pres == REQUIRED)
    return fail(p, path, "is required");
  if (found && !*ret && pres != NULLABLE)
    return fail(p, path, "must not be null");
  return true;
}

typedef bool (*string_rule)(const char *);

/* v's text when v is a string without NUL characters, else NULL: a value
 * is never compared or kept up to a NUL it hides ("catalog.v1\u0000zzz" is
 * not "catalog.v1", as the published schema's const says). */
static const char *plain_string(const lb_json_value *v)
{
  if (!v || v->type != LB_JSON_STRING)
    return NULL;
  return memchr(v->string, '\0', v->len) ? NULL : v->string;
}

/* A string member of min..max characters that passes `rule` (if any). */
static bool get_string(pctx *p, const lb_json_value *obj, const char *parent, const char *name,
                       presence pres, size_t min, size_t max, string_rule rule,
                       const char *rule_text, char **out)
{
  char path[128];
  const lb_json_value *v;
  join(path, sizeof(path), parent, name);
  if (!member(p, obj, path, name, pres, &v))
    return false;
  if (!v)
    return true;
  if (v->type != LB_JSON_STRING)
    return fail(p, path, "must be a string%s", pres == NULLABLE ? " or null" : "");
  const char *s = plain_string(v);
  if (!s)
    return fail(p, path, "must not contain NUL characters");
  size_t n = utf8_length(s);
  if (n < min)
    return fail(p, path, min == 1 ? "must not be empty" : "must be at least %zu characters", min);
  if (n > max)
    return fail(p, path, "must be at most %zu characters (got %zu)", max, n);
  if (rule && !rule(s))
    return fail(p, path, "%s", rule_text);
  *out = copy(p, s);
  return *out != NULL;
}

/* A number member within [min, max]; integral when `integer`. */
static bool get_number(pctx *p, const lb_json_value *obj, const char *parent, const char *name,
                       presence pres, double min, double max, bool integer, bool *has, double *out)
{
  char path[128];
  const lb_json_value *v;
  join(path, sizeof(path), parent, name);
  if (!member(p, obj, path, name, pres, &v))
    return false;
  if (!v)
    return true;
  if (v->type != LB_JSON_NUMBER)
    return fail(p, path, "must be %s%s", integer ? "an integer" : "a number",
                pres == NULLABLE ? " or null" : "");
  double d = v->number;
  if (!isfinite(d))
    return fail(p, path, "must be a finite number");
  if (integer && d != trunc(d))
    return fail(p, path, "must be an integer");
  if (d < min || d > max)
    return fail(p, path, "must be between %.15g and %.15g", min, max);
  if (has)
    *has = true;
  *out = d;
  return true;
}

static bool get_bool(pctx *p, const lb_json_value *obj, const char *name, bool *out)
{
  const lb_json_value *v;
  if (!member(p, obj, name, name, OPTIONAL, &v))
    return false;
  if (!v)
    return true;
  if (v->type != LB_JSON_BOOL)
    return fail(p, name, "must be true or false");
  *out = v->boolean;
  return true;
}

static bool get_object(pctx *p, const lb_json_value *obj, const char *path,
                       const lb_json_value **out)
{
  if (!member(p, obj, path, path, REQUIRED, out))
    return false;
  if ((*out)->type != LB_JSON_OBJECT)
    return fail(p, path, "must be an object");
  return true;
}

static bool is_timestamp(const char *s)
{
  int64_t ms;
  return lb_time_parse_rfc3339(s, &ms) == LB_E_OK;
}

static bool get_timestamp(pctx *p, const lb_json_value *obj, const char *name, char **out,
                          int64_t *ms)
{
  if (!get_string(p, obj, "", name, REQUIRED, 1, 64, is_timestamp,
                  "must be an RFC 3339 timestamp such as 2026-01-02T03:04:05Z", out))
    return false;
  return lb_time_parse_rfc3339(*out, ms) == LB_E_OK;
}

static bool is_content_id(const char *s)
{
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && *s != '.' && *s != '_' && *s != ':' && *s != '-')
      return false;
  return true;
}

/* BCP 47 as the schema checks it: 2-3 letters, then -subtags of 2-8. */
static bool is_language(const char *s)
{
  size_t n = 0;
  while (isalpha((unsigned char)s[n]))
    n++;
  if (n < 2 || n > 3)
    return false;
  s += n;
  while (*s == '-') {
    s++;
    n = 0;
    while (isalnum((unsigned char)s[n]))
      n++;
    if (n < 2 || n > 8)
      return false;
    s += n;
  }
  return *s == '\0';
}

static bool get_schema(pctx *p, const lb_json_value *root, const char *expected)
{
  const lb_json_value *v;
  if (!member(p, root, "schema", "schema", REQUIRED, &v))
    return false;
  const char *s = plain_string(v);
  if (!s || strcmp(s, expected) != 0)
    return fail(p, "schema", "must be \"%s\"", expected);
  return true;
}

static bool get_content_type(pctx *p, const lb_json_value *content, lb_content_type *out)
{
  const lb_json_value *v;
  if (!member(p, content, "content.type", "type", REQUIRED, &v))
    return false;
  const char *s = plain_string(v);
  if (!s || lb_content_type_parse(s, out) != 0)
    return fail(p, "content.type",
                "must be one of course, project, practice, assessment, "
                "skill_track, career_track, custom_track");
  return true;
}

/* Parses into this thread's document (every string is copied out before
 * the next parse) and checks the top level is an object. */
static bool parse_root(pctx *p, const char *buf, size_t len, const lb_json_value **root)
{
  char why[200];
  lb_json_doc *doc = lb_json_thread_doc();
  lb_err rc = doc ? lb_json_doc_parse(doc, buf, len, why, sizeof(why)) : LB_E_NOMEM;
  *root = NULL;
  if (!doc)
    snprintf(why, sizeof(why), "out of memory");
  if (rc == LB_E_NOMEM)
    p->nomem = true;
  if (rc != LB_E_OK)
    return fail(p, "$", "%s", why);
  if (doc->root->type != LB_JSON_OBJECT)
    return fail(p, "$", "must be a JSON object");
  *root = doc->root;
  return true;
}

static bool get_string_list(pctx *p, const lb_json_value *obj, const char *parent, const char *name,
                            char ***out, size_t *nout)
{
  char path[128], ipath[160];
  const lb_json_value *v;
  join(path, sizeof(path), parent, name);
  if (!member(p, obj, path, name, OPTIONAL, &v))
    return false;
  if (!v)
    return true;
  if (v->type != LB_JSON_ARRAY)
    return fail(p, path, "must be an array of strings");
  size_t n = v->len;
  if (n > SKILLS_MAX)
    return fail(p, path, "must have at most %d items", SKILLS_MAX);
  *out = calloc(n ? n : 1, sizeof(char *));
  if (!*out) {
    p->nomem = true;
    return fail(p, path, "out of memory");
  }
  const lb_json_value *item = v->first;
  for (size_t i = 0; i < n; i++, item = item->next) {
    snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
    if (item->type != LB_JSON_STRING)
      return fail(p, ipath, "must be a string");
    const char *s = plain_string(item);
    if (!s)
      return fail(p, ipath, "must not contain NUL characters");
    size_t len = utf8_length(s);
    if (len < 1 || len > SKILL_NAME_MAX)
      return fail(p, ipath, "must be 1 to %d characters", SKILL_NAME_MAX);
    (*out)[i] = copy(p, s);
    if (!(*out)[i])
      return false;
    *nout = i + 1;
  }
  return true;
}

static bool parse_catalog(pctx *p, const lb_json_value *root, lb_catalog_event *ev)
{
  const lb_json_value *v, *content;
  double d;

  if (!get_schema(p, root, "catalog.v1") ||
      !get_string(p, root, "", "event_id", REQUIRED, 1, ID_MAX, NULL, NULL, &ev->event_id))
    return false;
  if (!member(p, root, "event_type", "event_type", REQUIRED, &v))
    return false;
  const char *et = plain_string(v) ? plain_string(v) : "";
  if (strcmp(et, "content.upserted") == 0)
    ev->event_type = LB_CATALOG_UPSERTED;
  else if (strcmp(et, "content.archived") == 0)
    ev->event_type = LB_CATALOG_ARCHIVED;
  else
    return fail(p, "event_type", "must be \"content.upserted\" or \"content.archived\"");
  if (!get_timestamp(p, root, "occurred_at", &ev->occurred_at, &ev->occurred_at_ms) ||
      !get_number(p, root, "", "version", REQUIRED, 0, VERSION_MAX, true, NULL, &d))
    return false;
  ev->version = (uint64_t)d;
  if (!get_object(p, root, "content", &content) ||
      !get_string(p, content, "content", "id", REQUIRED, 1, CONTENT_ID_MAX, is_content_id,
                  "must contain only letters, digits, '.', '_', ':' and '-'", &ev->content.id) ||
      !get_content_type(p, content, &ev->content.type) ||
      !get_string(p, content, "content", "title", REQUIRED, 1, TITLE_MAX, NULL, NULL,
                  &ev->content.title) ||
      !get_string(p, content, "content", "description", REQUIRED, 0, DESCRIPTION_MAX, NULL, NULL,
                  &ev->content.description) ||
      !get_string(p, content, "content", "url", REQUIRED, 1, 2048, lb_url_is_https_link,
                  "must be an https:// URL", &ev->content.url) ||
      !get_string(p, content, "content", "technology", NULLABLE, 1, TECHNOLOGY_MAX, NULL, NULL,
                  &ev->content.technology) ||
      !get_number(p, content, "content", "duration_hours", NULLABLE, 0, HOURS_MAX, false,
                  &ev->content.has_duration, &ev->content.duration_hours) ||
      !get_number(p, content, "content", "num_questions", NULLABLE, 0, NUM_QUESTIONS_MAX, true,
                  &ev->content.has_num_questions, &d))
    return false;
  if (ev->content.has_num_questions)
    ev->content.num_questions = (int)d;
  if (!get_string(p, content, "content", "language", OPTIONAL, 0, LANGUAGE_MAX, is_language,
                  "must be a BCP 47 language tag such as en-US", &ev->content.language))
    return false;
  if (!ev->content.language && !(ev->content.language = copy(p, "en-US")))
    return false;
  bool custom = ev->content.type == LB_CT_CUSTOM_TRACK;
  if (!get_string(p, content, "content", "organization_id", custom ? REQUIRED : NULLABLE, 1,
                  ORG_MAX, NULL, NULL, &ev->content.organization_id))
    return false;
  if (!custom && ev->content.organization_id)
    return fail(p, "content.organization_id",
                "must be null or absent unless content.type is custom_track");
  return get_string_list(p, content, "content", "skills", &ev->content.skills,
                         &ev->content.nskills);
}

static bool parse_skill_scores(pctx *p, const lb_json_value *root, lb_completion_event *ev)
{
  char path[64];
  const lb_json_value *v;
  if (!member(p, root, "skills", "skills", OPTIONAL, &v))
    return false;
  if (!v)
    return true;
  if (v->type != LB_JSON_ARRAY)
    return fail(p, "skills", "must be an array of {name, score, level}");
  size_t n = v->len;
  if (n > SKILLS_MAX)
    return fail(p, "skills", "must have at most %d items", SKILLS_MAX);
  ev->skills = calloc(n ? n : 1, sizeof(lb_skill_score));
  if (!ev->skills) {
    p->nomem = true;
    return fail(p, "skills", "out of memory");
  }
  const lb_json_value *item = v->first;
  for (size_t i = 0; i < n; i++, item = item->next) {
    lb_skill_score *s = &ev->skills[i];
    double level;
    bool has_level = false;
    snprintf(path, sizeof(path), "skills[%zu]", i);
    if (item->type != LB_JSON_OBJECT)
      return fail(p, path, "must be an object");
    ev->nskills = i + 1;
    if (!get_string(p, item, path, "name", REQUIRED, 1, SKILL_NAME_MAX, NULL, NULL, &s->name) ||
        !get_number(p, item, path, "score", REQUIRED, 0, 100, false, NULL, &s->score) ||
        !get_number(p, item, path, "level", NULLABLE, 1, 8, true, &has_level, &level))
      return false;
    s->level = has_level ? (int)level : 0;
  }
  return true;
}

static bool parse_completion(pctx *p, const lb_json_value *root, lb_completion_event *ev)
{
  const lb_json_value *user, *content;

  if (!get_schema(p, root, "completion.v1") ||
      !get_string(p, root, "", "event_id", REQUIRED, 1, ID_MAX, NULL, NULL, &ev->event_id) ||
      !get_timestamp(p, root, "occurred_at", &ev->occurred_at, &ev->occurred_at_ms) ||
      !get_string(p, root, "", "organization_id", REQUIRED, 1, ORG_MAX, NULL, NULL,
                  &ev->organization_id) ||
      !get_object(p, root, "user", &user) ||
      !get_string(p, user, "user", "id", REQUIRED, 1, ID_MAX, NULL, NULL, &ev->user.id) ||
      !get_string(p, user, "user", "email", NULLABLE, 1, IDENTIFIER_MAX, NULL, NULL,
                  &ev->user.email) ||
      !get_string(p, user, "user", "sso_nameid", NULLABLE, 1, IDENTIFIER_MAX, NULL, NULL,
                  &ev->user.sso_nameid) ||
      !get_string(p, user, "user", "lms_username", NULLABLE, 1, IDENTIFIER_MAX, NULL, NULL,
                  &ev->user.lms_username) ||
      !get_object(p, root, "content", &content) ||
      !get_string(p, content, "content", "id", REQUIRED, 1, CONTENT_ID_MAX, is_content_id,
                  "must contain only letters, digits, '.', '_', ':' and '-'", &ev->content.id) ||
      !get_content_type(p, content, &ev->content.type) ||
      !get_timestamp(p, root, "completed_at", &ev->completed_at, &ev->completed_at_ms) ||
      !get_bool(p, root, "skipped", &ev->skipped) ||
      !get_number(p, root, "", "duration_hours", NULLABLE, 0, HOURS_MAX, false, &ev->has_duration,
                  &ev->duration_hours) ||
      !get_number(p, root, "", "score", NULLABLE, 0, 100, false, &ev->has_score, &ev->score))
    return false;
  return parse_skill_scores(p, root, ev);
}

lb_err lb_catalog_event_parse(lb_catalog_event *ev, const char *buf, size_t len, char *err,
                              size_t errlen)
{
  pctx p = { .err = err, .errlen = errlen };
  const lb_json_value *root = NULL;
  *ev = (lb_catalog_event){ 0 };
  if (parse_root(&p, buf, len, &root))
    parse_catalog(&p, root, ev);
  if (!p.failed)
    return LB_E_OK;
  lb_catalog_event_release(ev);
  return p.nomem ? LB_E_NOMEM : LB_E_EVENT;
}

lb_err lb_completion_event_parse(lb_completion_event *ev, const char *buf, size_t len, char *err,
                                 size_t errlen)
{
  pctx p = { .err = err, .errlen = errlen };
  const lb_json_value *root = NULL;
  *ev = (lb_completion_event){ 0 };
  if (parse_root(&p, buf, len, &root))
    parse_completion(&p, root, ev);
  if (!p.failed)
    return LB_E_OK;
  lb_completion_event_release(ev);
  return p.nomem ? LB_E_NOMEM : LB_E_EVENT;
}

void lb_catalog_event_release(lb_catalog_event *ev)
{
  if (!ev)
    return;
  free(ev->event_id);
  free(ev->occurred_at);
  free(ev->content.id);
  free(ev->content.title);
  free(ev->content.description);
  free(ev->content.url);
  free(ev->content.technology);
  free(ev->content.language);
  free(ev->content.organization_id);
  for (size_t i = 0; i < ev->content.nskills; i++)
    free(ev->content.skills[i]);
  free(ev->content.skills);
  *ev = (lb_catalog_event){ 0 };
}

void lb_completion_event_release(lb_completion_event *ev)
{
  if (!ev)
    return;
  free(ev->event_id);
  free(ev->occurred_at);
  free(ev->organization_id);
  free(ev->user.id);
  free(ev->user.email);
  free(ev->user.sso_nameid);
  free(ev->user.lms_username);
  free(ev->content.id);
  free(ev->completed_at);
  for (size_t i = 0; i < ev->nskills; i++)
    free(ev->skills[i].name);
  free(ev->skills);
  *ev = (lb_completion_event){ 0 };
}

const char *lb_completion_event_user_identifier(const lb_completion_event *ev, int kind)
{
  switch (kind) {
  case 0:
    return ev->user.email;
  case 1:
    return ev->user.sso_nameid;
  case 2:
    return ev->user.lms_username;
  }
  return NULL;
}

char *lb_event_id_peek(const char *buf, size_t len)
{
  char why[200];
  lb_json_doc *doc = lb_json_thread_doc();
  if (!doc || lb_json_doc_parse(doc, buf, len, why, sizeof(why)) != LB_E_OK)
    return NULL;
  const lb_json_value *v = lb_json_get(doc->root, "event_id");
  return v && v->type == LB_JSON_STRING ? strdup(v->string) : NULL;
}
