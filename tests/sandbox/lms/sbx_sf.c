#include "sbx_sf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define OCN_MAX_COURSES 1000
#define FUTURE_SLACK_MS 5000
/* 2000-01-01T00:00:00Z in ms: anything earlier is taken for seconds. */
#define MIN_TIMESTAMP_MS 946684800000LL

static const char *const secret_keys[] = { "client_secret", "password",     "refresh_token",
                                           "assertion",     "access_token", NULL };

void sbx_sf_fault(struct sbx_response *resp, int status, const char *fault)
{
  char code[16], msg[96];

  snprintf(code, sizeof(code), "%d", status);
  snprintf(msg, sizeof(msg), "injected fault: %s", fault);
  sbx_odata_error(resp, status, code, msg);
}

static json_object *redact(json_object *o)
{
  json_object *copy;
  size_t i;

  if (json_object_is_type(o, json_type_array)) {
    copy = json_object_new_array();
    for (i = 0; i < json_object_array_length(o); i++)
      json_object_array_add(copy, redact(json_object_array_get_idx(o, i)));
    return copy;
  }
  if (!json_object_is_type(o, json_type_object))
    return json_object_get(o);
  copy = json_object_new_object();
  json_object_object_foreach(o, key, val)
  {
    bool secret = false;

    for (i = 0; secret_keys[i]; i++)
      secret |= strcmp(secret_keys[i], key) == 0;
    json_object_object_add(
        copy, key, secret ? json_object_new_string("<redacted>") : (val ? redact(val) : NULL));
  }
  return copy;
}

char *sbx_sf_redacted_json(json_object *o)
{
  json_object *r = redact(o);
  char *text = sbx_xstrdup(json_object_to_json_string_ext(r, JSON_FLAGS));

  json_object_put(r);
  return text;
}

/* ---- token ------------------------------------------------------------ */

static const char *obj_str(json_object *o, const char *key)
{
  json_object *v = NULL;

  if (o && json_object_object_get_ex(o, key, &v) && v && json_object_is_type(v, json_type_string))
    return json_object_get_string(v);
  return NULL;
}

static bool in_strs(char **arr, size_t n, const char *s)
{
  size_t i;

  for (i = 0; i < n; i++)
    if (strcmp(arr[i], s) == 0)
      return true;
  return false;
}

void sbx_sf_token(struct sbx_world *w, struct sbx_tenant *t, struct sbx_request *req,
                  struct sbx_response *resp)
{
  json_object *body = NULL, *scope = NULL;
  char *basic = NULL;
  const char *id = NULL, *secret = NULL, *user, *company, *type, *rtype, *grant;
  const struct sbx_client *client = NULL;
  struct sbx_token *tok;
  struct sbx_buf b;
  char msg[400];
  size_t i;
  uint64_t now = sbx_mono_ms();

  sbx_buf_init(&b);
  if (!sbx_oauth_require_post(req, resp))
    return;
  if (req->body_len)
    body = sbx_request_parse_json(req);
  if (req->authorization && sbx_starts_with_ci(req->authorization, "Basic "))
    basic = sbx_request_basic(req, &id, &secret);
  else if (body && json_object_is_type(body, json_type_object)) {
    id = obj_str(body, "client_id");
    secret = obj_str(body, "client_secret");
  }
  if (!id || !secret) {
    sbx_response_header(resp, "WWW-Authenticate", "Basic realm=\"learning\"");
    sbx_oauth_error(resp, 401, "invalid_client",
                    "client authentication failed: send Authorization: Basic "
                    "base64(client_id:client_secret)");
    goto out;
  }
  for (i = 0; i < t->cfg.n_sf_clients; i++)
    if (strcmp(t->cfg.sf_clients[i].id, id) == 0)
      client = &t->cfg.sf_clients[i];
  if (!client || strcmp(client->secret, secret) != 0) {
    sbx_oauth_error(resp, 401, "invalid_client", "bad client credentials");
    goto out;
  }
  if (!sbx_request_is_json(req)) {
    sbx_oauth_error(resp, 415, "invalid_request", "the token request must be application/json");
    goto out;
  }
  if (!body) {
    sbx_oauth_error(resp, 400, "invalid_request", req->json_error);
    goto out;
  }
  if (!json_object_is_type(body, json_type_object)) {
    sbx_oauth_error(resp, 400, "invalid_request", "the body must be a JSON object");
    goto out;
  }
  grant = obj_str(body, "grant_type");
  if (!grant || strcmp(grant, "client_credentials") != 0) {
    sbx_oauth_error(resp, 400, "unsupported_grant_type",
                    "grant_type must be \"client_credentials\"");
    goto out;
  }
  if (!json_object_object_get_ex(body, "scope", &scope) ||
      !json_object_is_type(scope, json_type_object)) {
    sbx_oauth_error(resp, 400, "invalid_scope",
                    "scope must be a JSON object {userId, companyId, userType, "
                    "resourceType}");
    goto out;
  }
  user = obj_str(scope, "userId");
  company = obj_str(scope, "companyId");
  type = obj_str(scope, "userType");
  rtype = obj_str(scope, "resourceType");
  if (!user || !*user || !company || !type || !rtype) {
    sbx_oauth_error(resp, 400, "invalid_scope",
                    "scope needs string userId, companyId, userType and "
                    "resourceType");
    goto out;
  }
  if (strcmp(rtype, "learning_public_api") != 0) {
    sbx_oauth_error(resp, 400, "invalid_scope",
                    "scope.resourceType must be \"learning_public_api\"");
    goto out;
  }
  if (strcmp(type, "admin") != 0 && strcmp(type, "user") != 0) {
    sbx_oauth_error(resp, 400, "invalid_scope", "scope.userType must be \"admin\" or \"user\"");
    goto out;
  }
  if (!t->cfg.sf_company_id || strcmp(company, t->cfg.sf_company_id) != 0) {
    snprintf(msg, sizeof(msg), "companyId '%.200s' does not match this client", company);
    sbx_oauth_error(resp, 401, "invalid_client", msg);
    goto out;
  }
  if (strcmp(type, "admin") == 0) {
    if (!in_strs(t->cfg.sf_admins, t->cfg.n_sf_admins, user)) {
      snprintf(msg, sizeof(msg), "user '%.200s' is not a Learning administrator", user);
      sbx_oauth_error(resp, 401, "invalid_grant", msg);
      goto out;
    }
  } else if (t->cfg.sf_has_users) {
    const struct sbx_sf_user *u = sbx_tenant_sf_user(t, user);

    if (!u) {
      snprintf(msg, sizeof(msg), "user '%.200s' does not exist", user);
      sbx_oauth_error(resp, 401, "invalid_grant", msg);
      goto out;
    }
    if (!u->active) {
      snprintf(msg, sizeof(msg), "user account is inactive: '%.200s'", user);
      sbx_oauth_error(resp, 400, "invalid_grant", msg);
      goto out;
    }
  }
  tok = sbx_tokens_issue(&w->tokens, t, SBX_TOKEN_SF, client->id,
                         now + (uint64_t)t->cfg.sf_expires_in * 1000u, now);
  tok->user_id = sbx_xstrdup(user);
  tok->admin = strcmp(type, "admin") == 0;
  t->sf_tokens_issued++;
  sbx_buf_puts(&b, "{\"access_token\":");
  sbx_buf_json_str(&b, tok->token);
  sbx_buf_printf(&b, ",\"expires_in\":%ld,\"token_type\":\"Bearer\"}", t->cfg.sf_expires_in);
  sbx_response_buf(resp, 200, &b);
  sbx_response_header(resp, "Cache-Control", "no-store");
out:
  free(basic);
  sbx_buf_release(&b);
}

/* ---- OData validation ---------------------------------------------------- */

enum ftype {
  F_STRING,   /* string */
  F_NESTRING, /* non-empty string */
  F_INT,
  F_NUMBER,
  F_BOOL,
  F_STATUS,
  F_LOCALES,  /* [{locale, value}], at least one */
  F_CONTENT,  /* [content section] */
  F_SCHEDULE, /* [{startDate, endDate, active, duration}] */
  F_PRICE,    /* [{currency, value}] */
};

struct field {
  const char *name;
  enum ftype type;
  bool required;
  bool nullable;
};

static const struct field course_fields[] = {
  { "courseID", F_NESTRING, true, false },    { "providerID", F_NESTRING, true, false },
  { "status", F_STATUS, false, false },       { "title", F_LOCALES, true, false },
  { "description", F_LOCALES, false, false }, { "thumbnailURI", F_STRING, false, true },
  { "content", F_CONTENT, false, false },     { "schedule", F_SCHEDULE, false, false },
  { "price", F_PRICE, false, false },         { "revisionNumber", F_INT, false, false },
  { "duration", F_STRING, false, true },      { NULL, F_STRING, false, false },
};

static const struct field content_fields[] = {
  { "providerID", F_STRING, false, true },      { "launchURL", F_NESTRING, true, false },
  { "contentTitle", F_STRING, true, false },    { "contentID", F_NESTRING, true, false },
  { "launchType", F_INT, true, false },         { "mobileEnabled", F_BOOL, true, false },
  { "mobileLaunchURL", F_STRING, false, true }, { NULL, F_STRING, false, false },
};

static const struct field locale_fields[] = {
  { "locale", F_NESTRING, true, false },
  { "value", F_STRING, true, false },
  { NULL, F_STRING, false, false },
};

static const struct field schedule_fields[] = {
  { "startDate", F_INT, true, false }, { "endDate", F_INT, true, false },
  { "active", F_BOOL, false, false },  { "duration", F_STRING, false, true },
  { NULL, F_STRING, false, false },
};

static const struct field price_fields[] = {
  { "currency", F_NESTRING, true, false },
  { "value", F_NUMBER, true, false },
  { NULL, F_STRING, false, false },
};

static const struct field event_fields[] = {
  { "userID", F_NESTRING, true, false },
  { "providerID", F_NESTRING, true, false },
  { "courseID", F_NESTRING, true, false },
  { "courseCompleted", F_BOOL, true, false },
  { "completedTimestamp", F_INT, true, false },
  { "grade", F_STRING, false, true },
  { "totalHours", F_NUMBER, false, true },
  { "creditHours", F_NUMBER, false, true },
  { "contactHours", F_NUMBER, false, true },
  { "cpeHours", F_NUMBER, false, true },
  { "instructorName", F_STRING, false, true },
  { "comments", F_STRING, false, true },
  { "price", F_NUMBER, false, true },
  { "currency", F_STRING, false, true },
  { NULL, F_STRING, false, false },
};

struct verr {
  char code[40];
  char message[400];
};

static bool verr_set(struct verr *e, const char *code, const char *fmt, const char *path,
                     const char *name)
{
  char full[300];

  snprintf(e->code, sizeof(e->code), "%s", code);
  if (name)
    snprintf(full, sizeof(full), "%s%s%s", path, *path ? "." : "", name);
  else
    snprintf(full, sizeof(full), "%s", path);
  snprintf(e->message, sizeof(e->message), fmt, full);
  return false;
}

static bool check_object(json_object *o, const struct field *fields, const char *path,
                         struct verr *e);

static bool check_array(json_object *v, const struct field *fields, const char *path,
                        bool at_least_one, struct verr *e)
{
  size_t i, n;

  if (!json_object_is_type(v, json_type_array))
    return verr_set(e, "invalid_value", "property '%s' must be an array", path, NULL);
  n = json_object_array_length(v);
  if (at_least_one && n == 0)
    return verr_set(e, "invalid_value", "property '%s' needs at least one entry", path, NULL);
  for (i = 0; i < n; i++) {
    char sub[260];

    snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
    if (!check_object(json_object_array_get_idx(v, i), fields, sub, e))
      return false;
  }
  return true;
}

static bool check_value(json_object *v, const struct field *f, const char *path, struct verr *e)
{
  char full[260];
  const char *s;

  snprintf(full, sizeof(full), "%s%s%s", path, *path ? "." : "", f->name);
  if (!v) {
    if (f->nullable)
      return true;
    return verr_set(e, "invalid_value", "property '%s' must not be null", full, NULL);
  }
  switch (f->type) {
  case F_STRING:
  case F_NESTRING:
    if (!json_object_is_type(v, json_type_string))
      return verr_set(e, "invalid_value", "property '%s' must be a string", full, NULL);
    if (f->type == F_NESTRING && json_object_get_string_len(v) == 0)
      return verr_set(e, "invalid_value", "property '%s' must not be empty", full, NULL);
    return true;
  case F_INT:
    if (!json_object_is_type(v, json_type_int))
      return verr_set(e, "invalid_value", "property '%s' must be an integer", full, NULL);
    return true;
  case F_NUMBER:
    if ((!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double)) ||
        !isfinite(json_object_get_double(v)))
      return verr_set(e, "invalid_value", "property '%s' must be a number", full, NULL);
    return true;
  case F_BOOL:
    if (!json_object_is_type(v, json_type_boolean))
      return verr_set(e, "invalid_value",
                      json_object_is_type(v, json_type_string)
                          ? "property '%s' must be a JSON boolean, not a string"
                          : "property '%s' must be a JSON boolean",
                      full, NULL);
    return true;
  case F_STATUS:
    s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
    if (strcmp(s, "ACTIVE") && strcmp(s, "INACTIVE") && strcmp(s, "DELETED"))
      return verr_set(e, "invalid_value", "property '%s' must be ACTIVE, INACTIVE or DELETED", full,
                      NULL);
    return true;
  case F_LOCALES:
    return check_array(v, locale_fields, full, true, e);
  case F_CONTENT:
    return check_array(v, content_fields, full, false, e);
  case F_SCHEDULE:
    return check_array(v, schedule_fields, full, false, e);
  case F_PRICE:
    return check_array(v, price_fields, full, false, e);
  }
  return true;
}

static bool check_object(json_object *o, const struct field *fields, const char *path,
                         struct verr *e)
{
  size_t i;

  if (!json_object_is_type(o, json_type_object))
    return verr_set(e, "invalid_value", "'%s' must be an object", path, NULL);
  json_object_object_foreach(o, key, val)
  {
    (void)val;
    for (i = 0; fields[i].name; i++)
      if (strcmp(fields[i].name, key) == 0)
        break;
    if (!fields[i].name)
      return verr_set(e, "invalid_property", "the property '%s' does not exist on this type", path,
                      key);
  }
  for (i = 0; fields[i].name; i++) {
    json_object *v = NULL;

    if (!json_object_object_get_ex(o, fields[i].name, &v)) {
      if (fields[i].required)
        return verr_set(e, "missing_property", "required property '%s' is missing", path,
                        fields[i].name);
      continue;
    }
    if (!check_value(v, &fields[i], path, e))
      return false;
  }
  return true;
}

/* ---- API ----------------------------------------------------------------- */

struct sf_ctx {
  struct sbx_world *w;
  struct sbx_tenant *t;
  struct sbx_request *req;
  struct sbx_response *resp;
  struct sbx_token *tok;
};

static bool authenticate(struct sf_ctx *c)
{
  const char *auth = c->req->authorization;
  struct sbx_token *tok;

  c->req->token_checked = true;
  if (!auth || !sbx_starts_with_ci(auth, "Bearer ")) {
    sbx_response_header(c->resp, "WWW-Authenticate", "Bearer");
    sbx_response_text(c->resp, 401,
                      "{\"error_description\":\"Full authentication is required to "
                      "access this resource.\"}");
    return false;
  }
  auth += 7;
  while (*auth == ' ')
    auth++;
  tok = sbx_tokens_find(&c->w->tokens, auth);
  if (tok)
    c->req->token_id = tok->id;
  if (!tok || tok->kind != SBX_TOKEN_SF || tok->tenant != c->t) {
    sbx_response_header(c->resp, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
    sbx_response_text(c->resp, 401, "{\"error_description\":\"The token is invalid.\"}");
    return false;
  }
  if (sbx_mono_ms() >= tok->expires_mono_ms) {
    sbx_response_header(c->resp, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
    sbx_response_text(c->resp, 401, "{\"error_description\":\"The token has expired.\"}");
    return false;
  }
  c->tok = tok;
  return true;
}

static json_object *json_body(struct sf_ctx *c)
{
  json_object *body;

  if (!sbx_request_is_json(c->req)) {
    sbx_odata_error(c->resp, 415, "unsupported_media_type",
                    "the request body must be application/json");
    return NULL;
  }
  body = sbx_request_parse_json(c->req);
  if (!body)
    sbx_odata_error(c->resp, 400, "malformed_json", c->req->json_error);
  return body;
}

static bool store_full(struct sf_ctx *c, size_t count)
{
  if (count < c->w->limits.max_records)
    return false;
  sbx_odata_error(c->resp, 507, "insufficient_storage",
                  "sandbox record limit reached (see --max-records)");
  return true;
}

static void ocn_key(struct sbx_buf *key, const char *provider, const char *course)
{
  sbx_buf_reset(key);
  sbx_buf_puts(key, provider);
  sbx_buf_putc(key, '\x1f');
  sbx_buf_puts(key, course);
}

static void ocn_courses(struct sf_ctx *c)
{
  struct sbx_tenant *t = c->t;
  json_object *body, *list = NULL;
  uint64_t now = sbx_mono_ms();
  long interval = t->cfg.sf_min_post_interval_s;
  struct sbx_buf key, out;
  struct verr e;
  size_t i, n, fresh = 0;
  int64_t wall = sbx_wall_ms();

  t->ocn_posts++;
  if (t->faults.ocn_min_post_interval.on)
    interval = (long)t->faults.ocn_min_post_interval.seconds;
  if (interval > 0 && t->ocn_posted &&
      now < t->ocn_last_post_mono_ms + (uint64_t)interval * 1000u) {
    uint64_t left = t->ocn_last_post_mono_ms + (uint64_t)interval * 1000u - now;
    char msg[160];

    t->ocn_posts_throttled++;
    sbx_response_header(c->resp, "Retry-After", "%llu", (unsigned long long)((left + 999) / 1000));
    snprintf(msg, sizeof(msg), "too many requests: at most one OcnCourses POST every %ld s",
             interval);
    sbx_odata_error(c->resp, 429, "too_many_requests", msg);
    return;
  }
  t->ocn_posted = true;
  t->ocn_last_post_mono_ms = now;

  if (!(body = json_body(c)))
    return;
  if (!json_object_is_type(body, json_type_object)) {
    sbx_odata_error(c->resp, 400, "invalid_value",
                    "the body must be an object {\"ocnCourses\": [...]}");
    return;
  }
  json_object_object_foreach(body, k, v)
  {
    (void)v;
    if (strcmp(k, "ocnCourses") != 0 && strcmp(k, "@odata.context") != 0) {
      char msg[200];

      snprintf(msg, sizeof(msg), "the property '%.100s' does not exist on this type", k);
      sbx_odata_error(c->resp, 400, "invalid_property", msg);
      return;
    }
  }
  if (!json_object_object_get_ex(body, "ocnCourses", &list) ||
      !json_object_is_type(list, json_type_array)) {
    sbx_odata_error(c->resp, 400, "missing_property",
                    "required property 'ocnCourses' (an array) is missing");
    return;
  }
  n = json_object_array_length(list);
  if (n == 0 || n > OCN_MAX_COURSES) {
    char msg[160];

    snprintf(msg, sizeof(msg), "ocnCourses must hold between 1 and %d courses (got %zu)",
             OCN_MAX_COURSES, n);
    sbx_odata_error(c->resp, 400, "invalid_value", msg);
    return;
  }
  sbx_buf_init(&key);
  for (i = 0; i < n; i++) {
    json_object *course = json_object_array_get_idx(list, i);
    char path[40];

    snprintf(path, sizeof(path), "ocnCourses[%zu]", i);
    if (!check_object(course, course_fields, path, &e)) {
      sbx_odata_error(c->resp, 400, e.code, e.message);
      sbx_buf_release(&key);
      return;
    }
    ocn_key(&key, obj_str(course, "providerID"), obj_str(course, "courseID"));
    if (!sbx_records_find(&t->ocn_courses, key.data))
      fresh++;
  }
  if (fresh && store_full(c, t->ocn_courses.n + fresh - 1)) {
    sbx_buf_release(&key);
    return;
  }
  for (i = 0; i < n; i++) {
    json_object *course = json_object_array_get_idx(list, i);
    const char *status = obj_str(course, "status");
    char *text = sbx_xstrdup(json_object_to_json_string_ext(course, JSON_FLAGS));
    struct sbx_record *rec;

    ocn_key(&key, obj_str(course, "providerID"), obj_str(course, "courseID"));
    rec = sbx_records_find(&t->ocn_courses, key.data);
    if (rec) {
      free(rec->json);
      rec->json = text;
      rec->count++;
      rec->last_wall_ms = wall;
    } else {
      rec = sbx_records_add(&t->ocn_courses, key.data, text, wall);
    }
    snprintf(rec->status, sizeof(rec->status), "%s", status ? status : "ACTIVE");
  }
  sbx_buf_release(&key);
  t->ocn_posts_accepted++;
  sbx_buf_init(&out);
  sbx_buf_puts(&out, "{\"@odata.context\":\"$metadata#OcnCourses/$entity\","
                     "\"@odata.metadataEtag\":\"W/\\\"lms-sandbox\\\"\",\"ocnCourses\":");
  sbx_buf_puts(&out, json_object_to_json_string_ext(list, JSON_FLAGS));
  sbx_buf_putc(&out, '}');
  sbx_response_buf(c->resp, 200, &out);
}

static void learning_event(struct sf_ctx *c)
{
  struct sbx_tenant *t = c->t;
  json_object *body, *v = NULL;
  const char *user, *provider, *course;
  int64_t ts, now = sbx_wall_ms();
  struct sbx_record *rec;
  struct sbx_buf key, out;
  struct verr e;
  char msg[400];

  if (!(body = json_body(c)))
    return;
  if (json_object_is_type(body, json_type_array)) {
    sbx_odata_error(c->resp, 400, "invalid_value",
                    "send one learning event object per request, not an array");
    return;
  }
  if (!check_object(body, event_fields, "", &e)) {
    sbx_odata_error(c->resp, 400, e.code, e.message);
    return;
  }
  json_object_object_get_ex(body, "courseCompleted", &v);
  if (!json_object_get_boolean(v)) {
    sbx_odata_error(c->resp, 400, "invalid_value",
                    "property 'courseCompleted' must be true: the sandbox records "
                    "completions only");
    return;
  }
  json_object_object_get_ex(body, "completedTimestamp", &v);
  ts = json_object_get_int64(v);
  if (ts < MIN_TIMESTAMP_MS) {
    snprintf(msg, sizeof(msg),
             "property 'completedTimestamp' (%lld) is before the year 2000: it must "
             "be epoch milliseconds, not seconds",
             (long long)ts);
    sbx_odata_error(c->resp, 400, "invalid_value", msg);
    return;
  }
  if (ts > now + FUTURE_SLACK_MS) {
    snprintf(msg, sizeof(msg), "property 'completedTimestamp' (%lld) is in the future",
             (long long)ts);
    sbx_odata_error(c->resp, 400, "invalid_value", msg);
    return;
  }
  user = obj_str(body, "userID");
  provider = obj_str(body, "providerID");
  course = obj_str(body, "courseID");
  if (t->cfg.sf_has_users) {
    const struct sbx_sf_user *u = sbx_tenant_sf_user(t, user);

    if (!u) {
      snprintf(msg, sizeof(msg), "user '%.300s' does not exist", user);
      sbx_odata_error(c->resp, 400, "user_not_found", msg);
      return;
    }
    if (!u->active) {
      snprintf(msg, sizeof(msg), "cannot record learning for '%.300s': user account is inactive",
               user);
      sbx_odata_error(c->resp, 400, "user_inactive", msg);
      return;
    }
  }
  sbx_buf_init(&key);
  ocn_key(&key, provider, course);
  if (t->cfg.sf_require_known_course && !sbx_records_find(&t->ocn_courses, key.data)) {
    snprintf(msg, sizeof(msg),
             "course '%.150s' of provider '%.100s' was never posted to OcnCourses", course,
             provider);
    sbx_odata_error(c->resp, 400, "course_not_found", msg);
    sbx_buf_release(&key);
    return;
  }
  sbx_buf_reset(&key);
  sbx_buf_puts(&key, user);
  sbx_buf_putc(&key, '\x1f');
  sbx_buf_puts(&key, provider);
  sbx_buf_putc(&key, '\x1f');
  sbx_buf_puts(&key, course);
  rec = sbx_records_find(&t->ocn_events, key.data);
  if (rec) {
    rec->count++;
    rec->last_wall_ms = now;
  } else if (store_full(c, t->ocn_events.n)) {
    sbx_buf_release(&key);
    return;
  } else {
    rec = sbx_records_add(&t->ocn_events, key.data,
                          sbx_xstrdup(json_object_to_json_string_ext(body, JSON_FLAGS)), now);
  }
  sbx_buf_release(&key);
  sbx_buf_init(&out);
  sbx_buf_puts(&out, "{\"@odata.context\":\"$metadata#OCNLearningEvents/$entity\",");
  sbx_buf_puts(&out, rec->json + 1); /* the stored object without its '{' */
  sbx_response_buf(c->resp, 200, &out);
}

void sbx_sf_api(struct sbx_world *w, struct sbx_tenant *t, struct sbx_request *req,
                struct sbx_response *resp)
{
  static const char ocn_path[] = "/learning/odatav4/public/admin/ocn/v1/OcnCourses";
  static const char event_path[] =
      "/learning/odatav4/public/admin/learningevent-service/v1/OCNLearningEvents";
  struct sf_ctx c = { w, t, req, resp, NULL };
  bool ocn = strcmp(req->sub_path, ocn_path) == 0;
  bool event = strcmp(req->sub_path, event_path) == 0;

  if (!authenticate(&c))
    return;
  if (!ocn && !event) {
    sbx_odata_error(resp, 404, "not_found", "no such resource in the SuccessFactors sandbox");
    return;
  }
  if (strcmp(req->method, "POST") != 0) {
    sbx_response_header(resp, "Allow", "POST");
    sbx_odata_error(resp, 405, "method_not_allowed", "only POST is supported here");
    return;
  }
  if (!c.tok->admin) {
    sbx_odata_error(resp, 403, "forbidden",
                    "an admin token (scope.userType \"admin\") is required");
    return;
  }
  if (ocn)
    ocn_courses(&c);
  else
    learning_event(&c);
}
