#include "sbx_degreed.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sbx_ratelimit.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define LIST_DEFAULT_LIMIT 100
#define LIST_MAX_LIMIT 1000

static const char *const identifier_types[] = { "UserId",   "Email",      "EmployeeId",
                                                "AliasUid", "AliasEmail", NULL };
static const char *const content_id_types[] = { "ExternalId", "Id", "ContentUrl", NULL };
static const char *const content_types[] = { "Article", "Book",       "Course",  "Event",
                                             "Video",   "Assessment", "Podcast", NULL };
static const char *const duration_types[] = { "Seconds", "Minutes", "Hours", "Days", NULL };

static bool in_list_ci(const char *s, const char *const *list)
{
  size_t i;

  for (i = 0; list[i]; i++)
    if (strcasecmp(s, list[i]) == 0)
      return true;
  return false;
}

void sbx_degreed_fault(struct sbx_response *resp, int status, const char *fault)
{
  char detail[96];

  snprintf(detail, sizeof(detail), "injected fault: %s", fault);
  if (status == 429)
    sbx_jsonapi_error(resp, status, "quota-exceeded", "API calls quota exceeded.", detail, NULL);
  else if (status == 503)
    sbx_jsonapi_error(resp, status, "service-unavailable", NULL, detail, NULL);
  else if (status >= 500)
    sbx_jsonapi_error(resp, status, "internal-server-error", NULL, detail, NULL);
  else
    sbx_jsonapi_error(resp, status, "bad-request", NULL, detail, NULL);
}

/* ---- OAuth token ------------------------------------------------------ */

static bool client_allows(const struct sbx_client *c, const char *scope)
{
  size_t i;

  for (i = 0; i < c->n_scopes; i++)
    if (strcmp(c->scopes[i], scope) == 0)
      return true;
  return false;
}

/* Splits Degreed's comma-delimited scope list (spaces around names are
 * dropped; an empty name stays, so "a,,b" and "a," are refused).
 * Returns the count; *ret is new (free each string and the array). */
static size_t split_scopes(const char *scope, char ***ret)
{
  size_t n = 0;

  *ret = NULL;
  if (!scope || !*scope)
    return 0;
  for (;;) {
    const char *comma = strchr(scope, ',');
    size_t len = comma ? (size_t)(comma - scope) : strlen(scope);

    while (len > 0 && isspace((unsigned char)*scope)) {
      scope++;
      len--;
    }
    while (len > 0 && isspace((unsigned char)scope[len - 1]))
      len--;
    *ret = sbx_xrealloc(*ret, (n + 1) * sizeof(**ret));
    (*ret)[n++] = sbx_xstrndup(scope, len);
    if (!comma)
      return n;
    scope = comma + 1;
  }
}

void sbx_degreed_token(struct sbx_world *w, struct sbx_tenant *t, struct sbx_request *req,
                       struct sbx_response *resp)
{
  static const char *const single[] = { "grant_type", "client_id", "client_secret", "scope", NULL };
  struct sbx_kv *kv = NULL;
  char **requested = NULL;
  size_t n = 0, i, n_req = 0;
  const char *grant, *id, *secret, *scope;
  const struct sbx_client *client;
  struct sbx_token *tok;
  struct sbx_buf b;
  char refresh[SBX_TOKEN_LEN + 1], msg[320];
  uint64_t now = sbx_mono_ms();

  sbx_buf_init(&b);
  if (!sbx_oauth_require_post(req, resp))
    return;
  if (!sbx_oauth_form(req, resp, single, &kv, &n))
    return;
  grant = sbx_kv_get(kv, n, "grant_type", NULL);
  id = sbx_kv_get(kv, n, "client_id", NULL);
  secret = sbx_kv_get(kv, n, "client_secret", NULL);
  scope = sbx_kv_get(kv, n, "scope", NULL);
  if (!grant || !*grant) {
    sbx_oauth_error(resp, 400, "invalid_request", "grant_type is required");
    goto out;
  }
  if (strcmp(grant, "client_credentials") != 0) {
    snprintf(msg, sizeof(msg), "grant_type '%.200s' is not supported", grant);
    sbx_oauth_error(resp, 400, "unsupported_grant_type", msg);
    goto out;
  }
  if (!id || !*id || !secret || !*secret) {
    sbx_oauth_error(resp, 400, "invalid_request",
                    "client_id and client_secret are required in the form body");
    goto out;
  }
  client = sbx_client_find(t->cfg.dg_clients, t->cfg.n_dg_clients, id);
  if (!client || strcmp(client->secret, secret) != 0) {
    sbx_oauth_error(resp, 403, "invalid_client", "the client credentials are incorrect");
    goto out;
  }
  /* Validate every requested scope before issuing anything. */
  n_req = split_scopes(scope, &requested);
  for (i = 0; i < n_req; i++) {
    if (!client_allows(client, requested[i])) {
      snprintf(msg, sizeof(msg), "the client does not possess scope '%.200s'", requested[i]);
      sbx_oauth_error(resp, 403, "invalid_scope", msg);
      goto out;
    }
  }
  tok = sbx_tokens_issue(&w->tokens, t, SBX_TOKEN_DEGREED, client->id,
                         now + (uint64_t)t->cfg.dg_expires_in * 1000u, now);
  if (n_req)
    sbx_token_add_scopes(tok, requested, n_req);
  else
    sbx_token_add_scopes(tok, client->scopes, client->n_scopes);
  t->dg_tokens_issued++;
  sbx_random_alnum(refresh, SBX_TOKEN_LEN);
  sbx_buf_puts(&b, "{\"access_token\":");
  sbx_buf_json_str(&b, tok->token);
  sbx_buf_printf(
      &b, ",\"token_type\":\"bearer\",\"expires_in\":%ld,\"refresh_token\":", t->cfg.dg_expires_in);
  sbx_buf_json_str(&b, refresh);
  sbx_buf_putc(&b, '}');
  sbx_response_buf(resp, 200, &b);
  sbx_response_header(resp, "Cache-Control", "no-store");
  sbx_response_header(resp, "Pragma", "no-cache");
out:
  for (i = 0; i < n_req; i++)
    free(requested[i]);
  free(requested);
  sbx_kv_free(kv, n);
  sbx_buf_release(&b);
}

/* ---- API helpers ------------------------------------------------------ */

struct api_ctx {
  struct sbx_world *w;
  struct sbx_tenant *t;
  struct sbx_request *req;
  struct sbx_response *resp;
  struct sbx_token *tok;
  char self_base[512]; /* http://host/t/<tenant>/api/v2 */
};

static void bad_request(struct api_ctx *c, const char *detail)
{
  sbx_jsonapi_error(c->resp, 400, "bad-request", "Bad Request", detail, NULL);
}

static void not_found(struct api_ctx *c, const char *detail)
{
  sbx_jsonapi_error(c->resp, 404, "not-found", "Not Found", detail, NULL);
}

static void method_not_allowed(struct api_ctx *c, const char *allow)
{
  sbx_response_header(c->resp, "Allow", "%s", allow);
  sbx_jsonapi_error(c->resp, 405, "method-not-allowed", "Method Not Allowed",
                    "the method is not allowed on this resource", NULL);
}

static bool need_scope(struct api_ctx *c, const char *scope)
{
  char detail[160];

  if (sbx_token_has_scope(c->tok, scope))
    return true;
  snprintf(detail, sizeof(detail), "the access token does not have the required scope '%s'", scope);
  sbx_jsonapi_error(c->resp, 403, "forbidden", "Forbidden", detail, NULL);
  return false;
}

static bool store_full(struct api_ctx *c, size_t count)
{
  if (count < c->w->limits.max_records)
    return false;
  sbx_jsonapi_error(c->resp, 507, "insufficient-storage", NULL,
                    "sandbox record limit reached (see --max-records)", NULL);
  return true;
}

static void period_name(uint32_t window_s, char *out, size_t outlen)
{
  if (window_s % 3600 == 0)
    snprintf(out, outlen, "%uh", window_s / 3600);
  else if (window_s % 60 == 0)
    snprintf(out, outlen, "%um", window_s / 60);
  else
    snprintf(out, outlen, "%us", window_s);
}

static bool authenticate(struct api_ctx *c)
{
  const char *auth = c->req->authorization;
  struct sbx_token *tok;
  uint64_t now = sbx_mono_ms();

  c->req->token_checked = true;
  if (!auth || !sbx_starts_with_ci(auth, "Bearer ")) {
    sbx_response_header(c->resp, "WWW-Authenticate", "Bearer");
    sbx_jsonapi_error(c->resp, 401, "unauthorized", "Unauthorized",
                      "an Authorization: Bearer <access_token> header is required", NULL);
    return false;
  }
  auth += strlen("Bearer ");
  while (*auth == ' ')
    auth++;
  tok = sbx_tokens_find(&c->w->tokens, auth);
  if (tok)
    c->req->token_id = tok->id;
  if (!tok || tok->kind != SBX_TOKEN_DEGREED || tok->tenant != c->t) {
    sbx_response_header(c->resp, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
    sbx_jsonapi_error(c->resp, 401, "unauthorized", "Unauthorized", "the access token is invalid",
                      NULL);
    return false;
  }
  if (now >= tok->expires_mono_ms) {
    sbx_response_header(c->resp, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
    sbx_jsonapi_error(c->resp, 401, "unauthorized", "Unauthorized", "the access token has expired",
                      NULL);
    return false;
  }
  c->tok = tok;
  return true;
}

static bool rate_limit(struct api_ctx *c)
{
  struct sbx_tenant *t = c->t;
  struct sbx_rl_result rl;
  uint32_t limit = (uint32_t)t->cfg.dg_rate_limit, window_s = 60;
  uint64_t now = sbx_mono_ms();
  char reset[48], period[16], detail[128];

  if (t->faults.rate_limit.on) {
    limit = t->faults.rate_limit.per_window;
    window_s = t->faults.rate_limit.window_s;
  }
  sbx_ratelimit_hit(&t->rate_windows, c->tok->client_id, limit, window_s, now, &rl);
  period_name(window_s, period, sizeof(period));
  sbx_iso8601(sbx_wall_ms() + (int64_t)(rl.reset_mono_ms - now), 7, reset, sizeof(reset));
  sbx_response_header(c->resp, "X-Rate-Limit-Limit", "%s", period);
  sbx_response_header(c->resp, "X-Rate-Limit-Remaining", "%u", rl.remaining);
  sbx_response_header(c->resp, "X-Rate-Limit-Reset", "%s", reset);
  if (rl.allowed)
    return true;
  t->dg_rate_limited++;
  sbx_response_header(c->resp, "Retry-After", "%u", rl.retry_after_s);
  snprintf(detail, sizeof(detail), "Maximum %u requests allowed per %s.", limit, period);
  sbx_jsonapi_error(c->resp, 429, "quota-exceeded", "API calls quota exceeded.", detail, NULL);
  return false;
}

static bool accept_ok(const char *accept)
{
  const char *p = accept;

  if (!accept || !*accept)
    return true;
  while (*p) {
    const char *end = strchr(p, ',');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    const char *semi;
    size_t m;

    while (n > 0 && *p == ' ') {
      p++;
      n--;
    }
    semi = memchr(p, ';', n);
    m = semi ? (size_t)(semi - p) : n;
    while (m > 0 && p[m - 1] == ' ')
      m--;
#define IS(s) (m == strlen(s) && strncasecmp(p, s, m) == 0)
    if (IS("*/*") || IS("application/*") || IS("application/json") ||
        IS("application/vnd.api+json"))
      return true;
#undef IS
    p = end ? end + 1 : p + n;
  }
  return false;
}

/* Returns data (borrowed from req->json) or NULL after answering 400/406. */
static json_object *envelope(struct api_ctx *c)
{
  json_object *body, *data = NULL;

  if (!sbx_request_is_json(c->req)) {
    sbx_jsonapi_error(c->resp, 406, "not-acceptable", "Not Acceptable",
                      "only JSON request bodies are accepted (Content-Type: "
                      "application/json)",
                      NULL);
    return NULL;
  }
  body = sbx_request_parse_json(c->req);
  if (!body) {
    bad_request(c, c->req->json_error);
    return NULL;
  }
  if (!json_object_is_type(body, json_type_object) ||
      !json_object_object_get_ex(body, "data", &data) || !data) {
    bad_request(c, "the request body must be a JSON:API document {\"data\": {...}}");
    return NULL;
  }
  return data;
}

/* data.attributes of a single-resource document, or NULL after 400. */
static json_object *attributes_of(struct api_ctx *c, json_object *data)
{
  json_object *attrs = NULL;

  if (!json_object_is_type(data, json_type_object)) {
    bad_request(c, "data must be an object");
    return NULL;
  }
  if (!json_object_object_get_ex(data, "attributes", &attrs) || !attrs ||
      !json_object_is_type(attrs, json_type_object)) {
    bad_request(c, "data.attributes must be an object");
    return NULL;
  }
  return attrs;
}

enum attr_kind { A_STRING, A_URL, A_NUMBER, A_INT, A_BOOL, A_ENUM };

struct attr_rule {
  const char *name;
  enum attr_kind kind;
  bool required; /* on create, and never null/empty */
  const char *const *values;
};

static const struct attr_rule content_rules[] = {
  { "title", A_STRING, true, NULL },
  { "external-id", A_STRING, true, NULL },
  { "url", A_URL, true, NULL },
  { "summary", A_STRING, false, NULL },
  { "image-url", A_STRING, false, NULL },
  { "video-url", A_STRING, false, NULL },
  { "language", A_STRING, false, NULL },
  { "provider-code", A_STRING, false, NULL },
  { "format", A_STRING, false, NULL },
  { "difficulty", A_STRING, false, NULL },
  { "cost-unit-type", A_STRING, false, NULL },
  { "duration", A_NUMBER, false, NULL },
  { "cost-units", A_NUMBER, false, NULL },
  { "duration-type", A_ENUM, false, duration_types },
  { "num-questions", A_INT, false, NULL },
  { "obsolete", A_BOOL, false, NULL },
  { NULL, A_STRING, false, NULL },
};

/* Validates attributes against rules; on create required ones must be
 * present. Answers 400 and returns false on the first problem. */
static bool check_attrs(struct api_ctx *c, json_object *attrs, const struct attr_rule *rules,
                        bool create)
{
  char detail[256];
  size_t i;

  for (i = 0; rules[i].name; i++) {
    const struct attr_rule *r = &rules[i];
    json_object *v = NULL;
    bool present = json_object_object_get_ex(attrs, r->name, &v);
    const char *want = NULL;

    if (!present) {
      if (create && r->required) {
        snprintf(detail, sizeof(detail), "%s is required", r->name);
        bad_request(c, detail);
        return false;
      }
      continue;
    }
    if (!v) {
      if (r->required) {
        snprintf(detail, sizeof(detail), "%s must not be null", r->name);
        bad_request(c, detail);
        return false;
      }
      continue;
    }
    switch (r->kind) {
    case A_STRING:
    case A_URL:
    case A_ENUM:
      if (!json_object_is_type(v, json_type_string)) {
        want = "a string";
        break;
      }
      if (r->required && json_object_get_string_len(v) == 0) {
        want = "a non-empty string";
        break;
      }
      if (r->kind == A_URL && !sbx_starts_with_ci(json_object_get_string(v), "https://") &&
          !sbx_starts_with_ci(json_object_get_string(v), "http://")) {
        want = "an absolute http(s) URL";
        break;
      }
      if (r->kind == A_ENUM && !sbx_in_list(json_object_get_string(v), r->values))
        want = "one of the documented values";
      break;
    case A_NUMBER:
      if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
        want = "a number";
      else if (!isfinite(json_object_get_double(v)) || json_object_get_double(v) < 0)
        want = "a finite number >= 0";
      break;
    case A_INT:
      if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
        want = "an integer >= 0";
      break;
    case A_BOOL:
      if (!json_object_is_type(v, json_type_boolean))
        want = "true or false";
      break;
    }
    if (want) {
      snprintf(detail, sizeof(detail), "%s must be %s", r->name, want);
      bad_request(c, detail);
      return false;
    }
  }
  return true;
}

static const char *attr_str(json_object *attrs, const char *key)
{
  json_object *v = NULL;

  if (json_object_object_get_ex(attrs, key, &v) && v && json_object_is_type(v, json_type_string))
    return json_object_get_string(v);
  return NULL;
}

static bool attr_present(json_object *attrs, const char *key)
{
  return json_object_object_get_ex(attrs, key, NULL);
}

static json_object *deep_copy(json_object *o)
{
  json_object *copy = NULL;

  if (json_object_deep_copy(o, &copy, NULL) != 0 || !copy) {
    fputs("lms-sandbox: json_object_deep_copy failed, aborting\n", stderr);
    abort();
  }
  return copy;
}

static void conflict(struct api_ctx *c, const char *what, const char *value)
{
  char detail[512];

  snprintf(detail, sizeof(detail),
           "Resource conflict. You cannot use the same ExternalID or URL to identify "
           "multiple resources (%s '%.300s' is already used).",
           what, value);
  sbx_jsonapi_error(c->resp, 409, "conflict", "Conflict", detail, NULL);
}

/* True (after answering 409) when attrs would clash with another item. */
static bool clashes(struct api_ctx *c, struct sbx_content_store *s, json_object *attrs,
                    const struct sbx_content *self)
{
  const char *ext = attr_str(attrs, "external-id");
  const char *url = attr_str(attrs, "url");
  struct sbx_content *other;

  if (ext && (other = sbx_map_get(&s->by_ext, ext)) && other != self) {
    conflict(c, "external-id", ext);
    return true;
  }
  if (c->t->cfg.dg_unique_urls && url && (other = sbx_map_get(&s->by_url, url)) && other != self) {
    conflict(c, "url", url);
    return true;
  }
  return false;
}

static bool check_type(struct api_ctx *c, json_object *data, const char *type,
                       const char *short_type)
{
  json_object *v = NULL;
  char detail[200];

  if (!json_object_object_get_ex(data, "type", &v) || !v)
    return true;
  if (json_object_is_type(v, json_type_string) &&
      (strcmp(json_object_get_string(v), type) == 0 ||
       strcmp(json_object_get_string(v), short_type) == 0))
    return true;
  snprintf(detail, sizeof(detail), "data.type must be \"%s\"", type);
  bad_request(c, detail);
  return false;
}

static void respond_content(struct api_ctx *c, int status, struct sbx_content_store *s,
                            struct sbx_content *item)
{
  struct sbx_buf b;
  char base[600];

  snprintf(base, sizeof(base), "%s/content/%s", c->self_base, s->collection);
  sbx_buf_init(&b);
  sbx_buf_puts(&b, "{\"data\":");
  sbx_content_to_json(s, item, base, &b);
  sbx_buf_putc(&b, '}');
  sbx_response_buf(c->resp, status, &b);
  if (status == 201)
    sbx_response_header(c->resp, "Location", "%s/%s", base, item->id);
}

static void content_create(struct api_ctx *c, struct sbx_content_store *s)
{
  json_object *data, *attrs;
  struct sbx_content *item;

  if (!need_scope(c, "content:write") || !(data = envelope(c)) ||
      !(attrs = attributes_of(c, data)) || !check_type(c, data, s->type, s->collection) ||
      !check_attrs(c, attrs, content_rules, true))
    return;
  if (json_object_object_get_ex(data, "id", NULL)) {
    bad_request(c, "data.id must not be given when creating a resource");
    return;
  }
  if (clashes(c, s, attrs, NULL) || store_full(c, s->count))
    return;
  item = sbx_xcalloc(1, sizeof(*item));
  sbx_tenant_new_content_id(c->t, item->id);
  item->attrs = deep_copy(attrs);
  item->created_wall_ms = item->modified_wall_ms = sbx_wall_ms();
  sbx_content_insert(s, item);
  respond_content(c, 201, s, item);
}

static void content_patch(struct api_ctx *c, struct sbx_content_store *s, struct sbx_content *item)
{
  json_object *data, *attrs, *id = NULL;

  if (!need_scope(c, "content:write") || !(data = envelope(c)) ||
      !(attrs = attributes_of(c, data)) || !check_type(c, data, s->type, s->collection) ||
      !check_attrs(c, attrs, content_rules, false))
    return;
  if (json_object_object_get_ex(data, "id", &id) && id &&
      (!json_object_is_type(id, json_type_string) ||
       strcmp(json_object_get_string(id), item->id) != 0)) {
    bad_request(c, "data.id does not match the id in the URL");
    return;
  }
  if (clashes(c, s, attrs, item))
    return;
  json_object_object_foreach(attrs, key, val)
  {
    json_object_object_add(item->attrs, key, val ? deep_copy(val) : NULL);
  }
  item->patches++;
  item->modified_wall_ms = sbx_wall_ms();
  sbx_content_reindex(s, item);
  respond_content(c, 200, s, item);
}

static bool is_obsolete(const struct sbx_content *item)
{
  json_object *v = NULL;

  return json_object_object_get_ex(item->attrs, "obsolete", &v) && v &&
         json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
}

static void content_list(struct api_ctx *c, struct sbx_content_store *s)
{
  const char *ext = sbx_request_query(c->req, "filter[external_id]");
  const char *limit_s = sbx_request_query(c->req, "limit");
  const char *next_s = sbx_request_query(c->req, "next");
  long limit = LIST_DEFAULT_LIMIT, offset = 0, i = 0, shown = 0;
  struct sbx_content *item;
  struct sbx_buf b, data;
  char base[600];

  if (!need_scope(c, "content:read"))
    return;
  if (limit_s && !sbx_parse_long(limit_s, 1, LIST_MAX_LIMIT, &limit)) {
    bad_request(c, "limit must be an integer between 1 and 1000");
    return;
  }
  if (next_s && !sbx_parse_long(next_s, 0, 1L << 40, &offset)) {
    bad_request(c, "next is not a valid page token");
    return;
  }
  snprintf(base, sizeof(base), "%s/content/%s", c->self_base, s->collection);
  sbx_buf_init(&b);
  sbx_buf_puts(&b, "{\"links\":{\"self\":");
  sbx_buf_json_str(&b, base);
  if (ext) {
    /* Lookup by external id: obsolete items are found too, so that an
     * upsert can revive them (EDX marks them active again). */
    sbx_buf_puts(&b, "},\"data\":[");
    item = sbx_map_get(&s->by_ext, ext);
    if (item)
      sbx_content_to_json(s, item, base, &b);
    sbx_buf_puts(&b, "]}");
    sbx_response_buf(c->resp, 200, &b);
    return;
  }
  sbx_buf_init(&data);
  for (item = s->head; item; item = item->next) {
    if (is_obsolete(item) || i++ < offset)
      continue;
    if (shown == limit)
      break;
    if (shown++)
      sbx_buf_putc(&data, ',');
    sbx_content_to_json(s, item, base, &data);
  }
  if (item) /* more to come */
    sbx_buf_printf(&b, ",\"next\":\"%s?limit=%ld&next=%ld\"", base, limit, offset + limit);
  sbx_buf_puts(&b, "},\"data\":[");
  sbx_buf_append(&b, data.data ? data.data : "", data.len);
  sbx_buf_release(&data);
  sbx_buf_puts(&b, "]}");
  sbx_response_buf(c->resp, 200, &b);
}

static void content_route(struct api_ctx *c, struct sbx_content_store *s, const char *id)
{
  const char *m = c->req->method;
  struct sbx_content *item;
  char detail[160];

  if (!id) {
    if (strcmp(m, "POST") == 0)
      content_create(c, s);
    else if (strcmp(m, "GET") == 0)
      content_list(c, s);
    else
      method_not_allowed(c, "GET, POST");
    return;
  }
  if (strcmp(m, "GET") != 0 && strcmp(m, "PATCH") != 0 && strcmp(m, "DELETE") != 0) {
    method_not_allowed(c, "GET, PATCH, DELETE");
    return;
  }
  if (!need_scope(c, strcmp(m, "GET") == 0 ? "content:read" : "content:write"))
    return;
  item = sbx_content_find(s, id);
  if (!item) {
    snprintf(detail, sizeof(detail), "no %.20s with id '%.64s'", s->collection, id);
    not_found(c, detail);
    return;
  }
  if (strcmp(m, "GET") == 0) {
    respond_content(c, 200, s, item);
  } else if (strcmp(m, "PATCH") == 0) {
    content_patch(c, s, item);
  } else {
    sbx_content_remove(s, item);
    sbx_response_empty(c->resp, 204);
  }
}

static void content_skills(struct api_ctx *c, const char *id)
{
  struct sbx_content *item;
  json_object *data;
  struct sbx_buf b;
  size_t i;

  if (strcmp(c->req->method, "PATCH") != 0) {
    method_not_allowed(c, "PATCH");
    return;
  }
  if (!need_scope(c, "content:write"))
    return;
  item = sbx_content_find(&c->t->courses, id);
  if (!item)
    item = sbx_content_find(&c->t->assessments, id);
  if (!item) {
    not_found(c, "no content with this id");
    return;
  }
  if (!(data = envelope(c)))
    return;
  if (!json_object_is_type(data, json_type_array)) {
    bad_request(c, "data must be an array of {\"type\":\"skills\",\"id\":<name>}");
    return;
  }
  for (i = 0; i < json_object_array_length(data); i++) {
    json_object *e = json_object_array_get_idx(data, i), *type = NULL, *sid = NULL;

    if (!json_object_is_type(e, json_type_object) || !json_object_object_get_ex(e, "type", &type) ||
        !json_object_object_get_ex(e, "id", &sid) || !json_object_is_type(type, json_type_string) ||
        strcmp(json_object_get_string(type), "skills") != 0 ||
        !json_object_is_type(sid, json_type_string) || json_object_get_string_len(sid) == 0) {
      bad_request(c, "data must be an array of {\"type\":\"skills\",\"id\":<name>}");
      return;
    }
  }
  if (item->skills)
    json_object_put(item->skills);
  item->skills = deep_copy(data);
  item->modified_wall_ms = sbx_wall_ms();
  sbx_buf_init(&b);
  sbx_buf_puts(&b, "{\"data\":");
  sbx_buf_puts(&b, json_object_to_json_string_ext(item->skills, JSON_FLAGS));
  sbx_buf_putc(&b, '}');
  sbx_response_buf(c->resp, 201, &b);
}

/* Checks a string attribute, optionally against a case-insensitive list. */
static bool need_string(struct api_ctx *c, json_object *attrs, const char *key,
                        const char *const *values)
{
  const char *s = attr_str(attrs, key);
  char detail[200];

  if (!attr_present(attrs, key)) {
    snprintf(detail, sizeof(detail), "%s is required", key);
    bad_request(c, detail);
    return false;
  }
  if (!s || !*s) {
    snprintf(detail, sizeof(detail), "%s must be a non-empty string", key);
    bad_request(c, detail);
    return false;
  }
  if (values && !in_list_ci(s, values)) {
    snprintf(detail, sizeof(detail), "%s '%.100s' is not a valid value", key, s);
    bad_request(c, detail);
    return false;
  }
  return true;
}

static bool user_known(struct api_ctx *c, json_object *attrs)
{
  const char *user = attr_str(attrs, "user-id");
  char detail[400];

  if (sbx_tenant_dg_user_known(c->t, user))
    return true;
  snprintf(detail, sizeof(detail), "Invalid user identifier: %.300s", user);
  sbx_jsonapi_error(c->resp, 400, "bad-request", "Bad Request", detail, user);
  return false;
}

static bool content_known(struct api_ctx *c, json_object *attrs)
{
  const char *id = attr_str(attrs, "content-id");
  const char *id_type = attr_str(attrs, "content-id-type");
  struct sbx_content_store *stores[2] = { &c->t->courses, &c->t->assessments };
  char detail[400];
  size_t i;

  if (!c->t->cfg.dg_require_known_content)
    return true;
  for (i = 0; i < 2; i++) {
    struct sbx_content *item;

    if (strcasecmp(id_type, "Id") == 0)
      item = sbx_content_find(stores[i], id);
    else if (strcasecmp(id_type, "ContentUrl") == 0)
      item = sbx_map_get(&stores[i]->by_url, id);
    else
      item = sbx_map_get(&stores[i]->by_ext, id);
    if (item)
      return true;
  }
  snprintf(detail, sizeof(detail), "Invalid content identifier: %.300s", id);
  sbx_jsonapi_error(c->resp, 400, "bad-request", "Bad Request", detail, id);
  return false;
}

static void respond_record(struct api_ctx *c, int status, const char *type,
                           const struct sbx_record *rec)
{
  struct sbx_buf b;

  sbx_buf_init(&b);
  sbx_buf_puts(&b, "{\"data\":{\"type\":");
  sbx_buf_json_str(&b, type);
  sbx_buf_puts(&b, ",\"id\":");
  sbx_buf_json_str(&b, rec->id);
  sbx_buf_puts(&b, ",\"attributes\":");
  sbx_buf_puts(&b, rec->json);
  sbx_buf_puts(&b, "}}");
  sbx_response_buf(c->resp, status, &b);
}

static bool optional_attr(struct api_ctx *c, json_object *attrs, const char *key,
                          enum attr_kind kind, double min, double max)
{
  json_object *v = NULL;
  char detail[160];
  bool ok = true;

  if (!json_object_object_get_ex(attrs, key, &v) || !v)
    return true;
  switch (kind) {
  case A_NUMBER:
    ok = (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) &&
         isfinite(json_object_get_double(v)) && json_object_get_double(v) >= min &&
         json_object_get_double(v) <= max;
    break;
  case A_INT:
    ok = json_object_is_type(v, json_type_int) && json_object_get_int64(v) >= min &&
         json_object_get_int64(v) <= max;
    break;
  case A_BOOL:
    ok = json_object_is_type(v, json_type_boolean);
    break;
  default:
    ok = json_object_is_type(v, json_type_string);
    break;
  }
  if (ok)
    return true;
  if (kind == A_NUMBER || kind == A_INT)
    snprintf(detail, sizeof(detail), "%s must be %s between %g and %g", key,
             kind == A_INT ? "an integer" : "a number", min, max);
  else
    snprintf(detail, sizeof(detail), "%s must be %s", key,
             kind == A_BOOL ? "true or false" : "a string");
  bad_request(c, detail);
  return false;
}

static void completion_create(struct api_ctx *c)
{
  json_object *data, *attrs;
  const char *completed;
  struct sbx_record *rec;
  struct sbx_buf key;
  char *lower;

  if (strcmp(c->req->method, "POST") != 0) {
    method_not_allowed(c, "POST");
    return;
  }
  if (!need_scope(c, "completions:write") || !(data = envelope(c)) ||
      !(attrs = attributes_of(c, data)))
    return;
  if (!need_string(c, attrs, "user-id", NULL) ||
      !need_string(c, attrs, "user-identifier-type", identifier_types) ||
      !need_string(c, attrs, "content-id", NULL) ||
      !need_string(c, attrs, "content-id-type", content_id_types) ||
      !need_string(c, attrs, "content-type", content_types) ||
      !need_string(c, attrs, "completed-at", NULL))
    return;
  completed = attr_str(attrs, "completed-at");
  if (!sbx_is_date_or_datetime(completed)) {
    bad_request(c, "completed-at must be a date (YYYY-MM-DD) or a date-time "
                   "(YYYY-MM-DDTHH:MM:SS)");
    return;
  }
  if (!optional_attr(c, attrs, "percentile", A_NUMBER, 0, 100) ||
      !optional_attr(c, attrs, "is-verified", A_BOOL, 0, 0) ||
      !optional_attr(c, attrs, "questions-correct", A_INT, 0, 1e9) ||
      !optional_attr(c, attrs, "duration", A_NUMBER, 0, 1e12) ||
      !optional_attr(c, attrs, "involvement-level", A_STRING, 0, 0))
    return;
  if (!user_known(c, attrs) || !content_known(c, attrs))
    return;

  sbx_buf_init(&key);
  lower = sbx_lower_dup(attr_str(attrs, "user-id"));
  sbx_buf_puts(&key, lower);
  free(lower);
  sbx_buf_putc(&key, '\x1f');
  lower = sbx_lower_dup(attr_str(attrs, "content-id-type"));
  sbx_buf_puts(&key, lower);
  free(lower);
  sbx_buf_putc(&key, '\x1f');
  sbx_buf_puts(&key, attr_str(attrs, "content-id"));
  rec = sbx_records_find(&c->t->completions, key.data);
  if (rec) {
    rec->count++;
    rec->last_wall_ms = sbx_wall_ms();
    respond_record(c, 200, "completions", rec);
  } else if (!store_full(c, c->t->completions.n)) {
    rec = sbx_records_add(&c->t->completions, key.data,
                          sbx_xstrdup(json_object_to_json_string_ext(attrs, JSON_FLAGS)),
                          sbx_wall_ms());
    respond_record(c, 201, "completions", rec);
  }
  sbx_buf_release(&key);
}

static void skill_rating_create(struct api_ctx *c)
{
  json_object *data, *attrs, *rating = NULL;
  struct sbx_record *rec;

  if (strcmp(c->req->method, "POST") != 0) {
    method_not_allowed(c, "POST");
    return;
  }
  if (!need_scope(c, "skill_ratings:write") || !(data = envelope(c)) ||
      !(attrs = attributes_of(c, data)))
    return;
  if (!need_string(c, attrs, "user-id", NULL) ||
      !need_string(c, attrs, "user-identifier-type", identifier_types) ||
      !need_string(c, attrs, "skill-name", NULL))
    return;
  if (!json_object_object_get_ex(attrs, "rating", &rating) || !rating ||
      !(json_object_is_type(rating, json_type_int) ||
        json_object_is_type(rating, json_type_double)) ||
      !isfinite(json_object_get_double(rating)) || json_object_get_double(rating) < 0) {
    bad_request(c, "rating is required and must be a number >= 0");
    return;
  }
  if (!need_string(c, attrs, "rating-type", NULL) || !user_known(c, attrs) ||
      store_full(c, c->t->skill_ratings.n))
    return;
  rec = sbx_records_add(&c->t->skill_ratings, NULL,
                        sbx_xstrdup(json_object_to_json_string_ext(attrs, JSON_FLAGS)),
                        sbx_wall_ms());
  respond_record(c, 201, "skill-ratings", rec);
}

void sbx_degreed_api(struct sbx_world *w, struct sbx_tenant *t, struct sbx_request *req,
                     struct sbx_response *resp)
{
  struct api_ctx c = { w, t, req, resp, NULL, { 0 } };
  const char *p = req->sub_path;
  char seg[4][128];
  size_t nseg = 0;

  snprintf(c.self_base, sizeof(c.self_base), "http://%.200s/t/%s/api/v2",
           req->host ? req->host : "localhost", t->cfg.name);
  if (!authenticate(&c) || !rate_limit(&c))
    return;
  if (!accept_ok(req->accept)) {
    sbx_jsonapi_error(resp, 406, "not-acceptable", "Not Acceptable",
                      "only application/json responses are available", NULL);
    return;
  }
  if (strncmp(p, "/api/v2/", 8) != 0)
    goto unknown;
  p += 8;
  while (*p && nseg < 4) {
    const char *slash = strchr(p, '/');
    size_t n = slash ? (size_t)(slash - p) : strlen(p);

    if (n == 0 || n >= sizeof(seg[0]))
      goto unknown;
    memcpy(seg[nseg], p, n);
    seg[nseg][n] = '\0';
    nseg++;
    p += n;
    if (*p == '/') {
      p++;
      if (!*p)
        goto unknown; /* trailing slash */
    }
  }
  if (*p)
    goto unknown;
  if (nseg >= 2 && nseg <= 3 && strcmp(seg[0], "content") == 0 &&
      (strcmp(seg[1], "courses") == 0 || strcmp(seg[1], "assessments") == 0)) {
    content_route(&c, strcmp(seg[1], "courses") == 0 ? &t->courses : &t->assessments,
                  nseg == 3 ? seg[2] : NULL);
    return;
  }
  if (nseg == 4 && strcmp(seg[0], "content") == 0 && strcmp(seg[2], "relationships") == 0 &&
      strcmp(seg[3], "skills") == 0) {
    content_skills(&c, seg[1]);
    return;
  }
  if (nseg == 1 && strcmp(seg[0], "completions") == 0) {
    completion_create(&c);
    return;
  }
  if (nseg == 1 && strcmp(seg[0], "skill-ratings") == 0) {
    skill_rating_create(&c);
    return;
  }
unknown:
  not_found(&c, "no such endpoint in the Degreed sandbox");
}
