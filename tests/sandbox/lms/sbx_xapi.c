#include "sbx_xapi.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define UUID_LEN 36
#define LIST_DEFAULT_LIMIT 100
#define LIST_MAX_LIMIT 1000
#define MAX_SCOPES 16

/* ---- scopes ----------------------------------------------------------- */

static const char *const known_scopes[] = { "statements/write",
                                            "statements/read/mine",
                                            "statements/read",
                                            "state",
                                            "define",
                                            "profile",
                                            "all/read",
                                            "all",
                                            "xapi/all",
                                            "xapi/read",
                                            NULL };
/* What a token needs for each kind of request (Learning Locker's lists). */
static const char *const write_scopes[] = { "statements/write", "all", "xapi/all", NULL };
static const char *const read_scopes[] = { "statements/read", "all/read",  "all",
                                           "xapi/all",        "xapi/read", NULL };

bool sbx_xapi_scope_known(const char *scope)
{
  return sbx_in_list(scope, known_scopes);
}

/* Whether a client configured with scope `have` may be granted `want`. */
static bool scope_covers(const char *have, const char *want)
{
  if (strcmp(have, want) == 0 || strcmp(have, "all") == 0)
    return true;
  if (strcmp(have, "xapi/all") == 0)
    return strcmp(want, "all") != 0;
  if (strcmp(have, "all/read") == 0 || strcmp(have, "xapi/read") == 0)
    return strstr(want, "read") != NULL && strcmp(want, "all/read") != 0;
  if (strcmp(have, "statements/read") == 0)
    return strcmp(want, "statements/read/mine") == 0;
  return false;
}

/* ---- the store -------------------------------------------------------- */

struct stmt {
  char id[UUID_LEN + 1]; /* lowercase */
  json_object *sent;     /* owned: as received (compared with repeats) */
  char *stored;          /* new: the statement as GET returns it */
  char *who;             /* new: the credential that stored it */
  const char *method;    /* static: "PUT" or "POST" */
  int64_t first_wall_ms;
  int64_t last_wall_ms;
  uint32_t repeats;   /* identical statements received again */
  uint32_t conflicts; /* different statements refused with 409 */
};

struct sbx_xapi_store {
  struct stmt **items; /* in storing order */
  size_t n, cap;
  struct sbx_map by_id; /* lowercase id -> struct stmt * */
  uint64_t put_requests;
  uint64_t post_requests;
  uint64_t get_requests;
  uint64_t conflict_responses;
  uint64_t tokens_issued;
};

struct sbx_xapi_store *sbx_xapi_store_new(void)
{
  struct sbx_xapi_store *s = sbx_xcalloc(1, sizeof(*s));

  sbx_map_init(&s->by_id);
  return s;
}

void sbx_xapi_store_destroy(struct sbx_xapi_store *s)
{
  size_t i;

  if (!s)
    return;
  for (i = 0; i < s->n; i++) {
    json_object_put(s->items[i]->sent);
    free(s->items[i]->stored);
    free(s->items[i]->who);
    free(s->items[i]);
  }
  free(s->items);
  sbx_map_release(&s->by_id, NULL);
  free(s);
}

uint64_t sbx_xapi_tokens_issued(const struct sbx_xapi_store *s)
{
  return s->tokens_issued;
}

void sbx_xapi_state_to_json(const struct sbx_xapi_store *s, struct sbx_buf *b)
{
  char first[40], last[40];
  size_t i;

  sbx_buf_puts(b, "{\"statements\":[");
  for (i = 0; i < s->n; i++) {
    const struct stmt *st = s->items[i];

    sbx_iso8601(st->first_wall_ms, 3, first, sizeof(first));
    sbx_iso8601(st->last_wall_ms, 3, last, sizeof(last));
    if (i)
      sbx_buf_putc(b, ',');
    sbx_buf_puts(b, "{\"id\":");
    sbx_buf_json_str(b, st->id);
    sbx_buf_printf(b, ",\"method\":\"%s\",\"authority\":", st->method);
    sbx_buf_json_str(b, st->who);
    sbx_buf_printf(b,
                   ",\"received_at\":\"%s\",\"last_received_at\":\"%s\","
                   "\"repeats\":%u,\"conflicts\":%u,\"statement\":",
                   first, last, st->repeats, st->conflicts);
    sbx_buf_puts(b, st->stored);
    sbx_buf_putc(b, '}');
  }
  sbx_buf_printf(b,
                 "],\"put_requests\":%llu,\"post_requests\":%llu,\"get_requests\":%llu,"
                 "\"conflict_responses\":%llu,\"tokens_issued\":%llu}",
                 (unsigned long long)s->put_requests, (unsigned long long)s->post_requests,
                 (unsigned long long)s->get_requests, (unsigned long long)s->conflict_responses,
                 (unsigned long long)s->tokens_issued);
}

/* ---- versions and errors ---------------------------------------------- */

/* "1.0" or "1.0.<digits>" (major.minor given), likewise for 2.0. */
static bool version_is(const char *v, const char *major_minor)
{
  size_t n = strlen(major_minor);

  if (strncmp(v, major_minor, n) != 0)
    return false;
  if (v[n] == '\0')
    return true;
  if (v[n] != '.' || !isdigit((unsigned char)v[n + 1]))
    return false;
  for (v += n + 1; *v; v++)
    if (!isdigit((unsigned char)*v))
      return false;
  return true;
}

/* The version to answer with (every response carries it); *ret_ok says
 * whether the request's header names a version this LRS speaks. */
static const char *answer_version(const struct sbx_request *req, bool *ret_ok)
{
  const char *v = req->xapi_version;

  *ret_ok = v && (version_is(v, "1.0") || version_is(v, "2.0"));
  return *ret_ok && v[0] == '2' ? "2.0.0" : "1.0.3";
}

void sbx_xapi_error(const struct sbx_request *req, struct sbx_response *resp, int status,
                    const char *message)
{
  struct sbx_buf b;
  bool ok;

  sbx_buf_init(&b);
  sbx_buf_printf(&b, "{\"error\":%d,\"message\":", status);
  sbx_buf_json_str(&b, message);
  sbx_buf_putc(&b, '}');
  sbx_response_buf(resp, status, &b);
  sbx_response_header(resp, "X-Experience-API-Version", "%s", answer_version(req, &ok));
}

/* ---- the token server (OAuth2 client credentials, RFC 6749 4.4) -------- */

bool sbx_xapi_token_claims(const struct sbx_tenant *t, const struct sbx_request *req)
{
  const char *id = NULL, *secret = NULL;
  struct sbx_kv *kv = NULL;
  char *basic;
  size_t n = 0;
  bool claimed;

  if (t->cfg.n_xapi_clients == 0)
    return false;
  basic = sbx_request_basic(req, &id, &secret);
  if (!basic && req->body && req->content_type &&
      sbx_starts_with_ci(req->content_type, "application/x-www-form-urlencoded")) {
    n = sbx_parse_form(req->body, req->body_len, &kv);
    id = sbx_kv_get(kv, n, "client_id", NULL);
  }
  claimed = id && sbx_client_find(t->cfg.xapi_clients, t->cfg.n_xapi_clients, id);
  free(basic);
  sbx_kv_free(kv, n);
  return claimed;
}

static bool client_may(const struct sbx_client *c, const char *want)
{
  size_t i;

  for (i = 0; i < c->n_scopes; i++)
    if (scope_covers(c->scopes[i], want))
      return true;
  return false;
}

/* Splits a scope list (space-delimited as RFC 6749 says; commas accepted
 * too) into at most MAX_SCOPES new strings; returns the count or -1 when
 * there are more. */
static int split_scopes(const char *s, char *out[MAX_SCOPES])
{
  int n = 0;

  while (s && *s) {
    size_t len;

    while (*s == ' ' || *s == ',')
      s++;
    len = strcspn(s, " ,");
    if (!len)
      break;
    if (n == MAX_SCOPES)
      return -1;
    out[n++] = sbx_xstrndup(s, len);
    s += len;
  }
  return n;
}

void sbx_xapi_token(struct sbx_world *w, struct sbx_tenant *t, struct sbx_request *req,
                    struct sbx_response *resp)
{
  static const char *const single[] = { "grant_type", "client_id", "client_secret", "scope", NULL };
  struct sbx_kv *kv = NULL;
  char *basic = NULL, *scopes[MAX_SCOPES];
  const char *id = NULL, *secret = NULL, *grant, *scope;
  const struct sbx_client *client;
  struct sbx_token *tok;
  struct sbx_buf b;
  size_t n = 0, i;
  int n_scopes = 0, k;
  char msg[320];
  uint64_t now = sbx_mono_ms();

  sbx_buf_init(&b);
  if (!sbx_oauth_require_post(req, resp))
    return;
  if (!sbx_oauth_form(req, resp, single, &kv, &n))
    return;
  grant = sbx_kv_get(kv, n, "grant_type", NULL);
  scope = sbx_kv_get(kv, n, "scope", NULL);
  if (!grant || strcmp(grant, "client_credentials") != 0) {
    sbx_oauth_error(resp, 400, "unsupported_grant_type", "grant_type must be client_credentials");
    goto out;
  }
  basic = sbx_request_basic(req, &id, &secret);
  if (basic && sbx_kv_get(kv, n, "client_secret", NULL)) {
    sbx_oauth_error(resp, 400, "invalid_request",
                    "use one way to authenticate the client: HTTP Basic or the "
                    "form's client_id and client_secret, not both");
    goto out;
  }
  if (!basic) {
    id = sbx_kv_get(kv, n, "client_id", NULL);
    secret = sbx_kv_get(kv, n, "client_secret", NULL);
  }
  client = id ? sbx_client_find(t->cfg.xapi_clients, t->cfg.n_xapi_clients, id) : NULL;
  if (!client || !secret || strcmp(client->secret, secret) != 0) {
    if (basic)
      sbx_response_header(resp, "WWW-Authenticate", "Basic realm=\"xapi\"");
    sbx_oauth_error(resp, 401, "invalid_client", "client authentication failed");
    goto out;
  }
  n_scopes = split_scopes(scope, scopes);
  if (n_scopes < 0) {
    n_scopes = 0;
    sbx_oauth_error(resp, 400, "invalid_scope", "too many scopes requested");
    goto out;
  }
  for (k = 0; k < n_scopes; k++) {
    if (!sbx_xapi_scope_known(scopes[k]) || !client_may(client, scopes[k])) {
      snprintf(msg, sizeof(msg), "scope '%.200s' is not available to this client", scopes[k]);
      sbx_oauth_error(resp, 400, "invalid_scope", msg);
      goto out;
    }
  }
  tok = sbx_tokens_issue(&w->tokens, t, SBX_TOKEN_XAPI, client->id,
                         now + (uint64_t)t->cfg.xapi_expires_in * 1000u, now);
  if (n_scopes)
    sbx_token_add_scopes(tok, scopes, (size_t)n_scopes);
  else
    sbx_token_add_scopes(tok, client->scopes, client->n_scopes);
  t->xapi->tokens_issued++;
  sbx_buf_puts(&b, "{\"access_token\":");
  sbx_buf_json_str(&b, tok->token);
  sbx_buf_printf(&b, ",\"token_type\":\"bearer\",\"expires_in\":%ld,\"scope\":\"",
                 t->cfg.xapi_expires_in);
  for (i = 0; i < tok->n_scopes; i++) {
    if (i)
      sbx_buf_putc(&b, ' ');
    sbx_buf_puts(&b, tok->scopes[i]); /* known names: nothing to escape */
  }
  sbx_buf_puts(&b, "\"}");
  sbx_response_buf(resp, 200, &b);
  sbx_response_header(resp, "Cache-Control", "no-store");
  sbx_response_header(resp, "Pragma", "no-cache");
out:
  for (k = 0; k < n_scopes; k++)
    free(scopes[k]);
  free(basic);
  sbx_kv_free(kv, n);
  sbx_buf_release(&b);
}

/* ---- statement validation --------------------------------------------- */

struct verr {
  char msg[300];
};

static bool bad(struct verr *e, const char *path, const char *what)
{
  snprintf(e->msg, sizeof(e->msg), "%s: %s", path, what);
  return false;
}

static json_object *member(json_object *o, const char *key)
{
  json_object *v = NULL;

  if (!json_object_object_get_ex(o, key, &v))
    return NULL;
  return v;
}

static const char *member_str(json_object *o, const char *key)
{
  json_object *v = member(o, key);

  return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static bool is_number(json_object *v)
{
  return v && (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) &&
         isfinite(json_object_get_double(v));
}

/* Standard string form: 8-4-4-4-12 hexadecimal digits. */
static bool uuid_form(const char *s)
{
  size_t i;

  if (strlen(s) != UUID_LEN)
    return false;
  for (i = 0; i < UUID_LEN; i++) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;

    if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
      return false;
  }
  return true;
}

/* An Agent (exactly one inverse functional identifier) or a Group. */
static bool check_actor(json_object *a, const char *path, struct verr *e)
{
  static const char *const ifis[] = { "mbox", "mbox_sha1sum", "openid", "account", NULL };
  const char *type, *mbox;
  json_object *acct;
  char sub[96];
  size_t i, n_ifi = 0;

  if (!a || !json_object_is_type(a, json_type_object))
    return bad(e, path, "must be an Agent or Group object");
  type = member_str(a, "objectType");
  if (member(a, "objectType") &&
      (!type || (strcmp(type, "Agent") != 0 && strcmp(type, "Group") != 0)))
    return bad(e, path, "objectType must be \"Agent\" or \"Group\"");
  for (i = 0; ifis[i]; i++)
    n_ifi += member(a, ifis[i]) != NULL;
  if (n_ifi > 1)
    return bad(e, path, "has more than one inverse functional identifier");
  if (n_ifi == 0 && !(type && strcmp(type, "Group") == 0 &&
                      json_object_is_type(member(a, "member"), json_type_array)))
    return bad(e, path,
               "needs one of mbox, mbox_sha1sum, openid or account (a Group "
               "without one needs a member list)");
  mbox = member_str(a, "mbox");
  if (member(a, "mbox") && (!mbox || strncmp(mbox, "mailto:", 7) != 0 || !mbox[7]))
    return bad(e, path, "mbox must be a \"mailto:\" IRI");
  acct = member(a, "account");
  if (acct && (!json_object_is_type(acct, json_type_object) || !member_str(acct, "homePage") ||
               !member_str(acct, "name"))) {
    snprintf(sub, sizeof(sub), "%s.account", path);
    return bad(e, sub, "must be an object with string homePage and name");
  }
  return true;
}

static bool check_result(json_object *r, struct verr *e)
{
  json_object *score, *v;
  const char *dur;

  if (!json_object_is_type(r, json_type_object))
    return bad(e, "result", "must be an object");
  if ((v = member(r, "completion")) && !json_object_is_type(v, json_type_boolean))
    return bad(e, "result.completion", "must be true or false");
  if ((v = member(r, "success")) && !json_object_is_type(v, json_type_boolean))
    return bad(e, "result.success", "must be true or false");
  dur = member_str(r, "duration");
  if (member(r, "duration") && (!dur || dur[0] != 'P' || !dur[1]))
    return bad(e, "result.duration", "must be an ISO 8601 duration (\"PT2H\")");
  score = member(r, "score");
  if (!score)
    return true;
  if (!json_object_is_type(score, json_type_object))
    return bad(e, "result.score", "must be an object");
  json_object_object_foreach(score, key, val)
  {
    if (strcmp(key, "scaled") && strcmp(key, "raw") && strcmp(key, "min") && strcmp(key, "max"))
      return bad(e, "result.score",
                 "has a property other than scaled, raw, "
                 "min and max");
    if (!is_number(val))
      return bad(e, "result.score", "values must be numbers");
  }
  if ((v = member(score, "scaled")) &&
      (json_object_get_double(v) < -1 || json_object_get_double(v) > 1))
    return bad(e, "result.score.scaled", "must be between -1 and 1");
  if (member(score, "min") && member(score, "max") &&
      json_object_get_double(member(score, "min")) > json_object_get_double(member(score, "max")))
    return bad(e, "result.score", "min is above max");
  if ((v = member(score, "raw")) &&
      ((member(score, "min") &&
        json_object_get_double(v) < json_object_get_double(member(score, "min"))) ||
       (member(score, "max") &&
        json_object_get_double(v) > json_object_get_double(member(score, "max")))))
    return bad(e, "result.score.raw", "must lie between min and max");
  return true;
}

/* The rules a statement must meet to be stored (a subset of xAPI's, see
 * README.md): e->msg says what is wrong. */
static bool check_statement(json_object *s, struct verr *e)
{
  json_object *verb, *obj, *v;
  const char *type, *id, *ts;
  int64_t ms;

  if (!json_object_is_type(s, json_type_object))
    return bad(e, "statement", "must be a JSON object");
  id = member_str(s, "id");
  if (member(s, "id") && (!id || !uuid_form(id)))
    return bad(e, "id", "must be a UUID in standard string form");
  if (!member(s, "actor"))
    return bad(e, "actor", "is required");
  if (!check_actor(member(s, "actor"), "actor", e))
    return false;
  verb = member(s, "verb");
  if (!verb)
    return bad(e, "verb", "is required");
  if (!json_object_is_type(verb, json_type_object) || !member_str(verb, "id") ||
      !*member_str(verb, "id"))
    return bad(e, "verb", "must be an object with a string id (an IRI)");
  if ((v = member(verb, "display")) && !json_object_is_type(v, json_type_object))
    return bad(e, "verb.display", "must be a language map");
  obj = member(s, "object");
  if (!obj)
    return bad(e, "object", "is required");
  if (!json_object_is_type(obj, json_type_object))
    return bad(e, "object", "must be an object");
  type = member_str(obj, "objectType");
  if (member(obj, "objectType") && !type)
    return bad(e, "object.objectType", "must be a string");
  if (!type || strcmp(type, "Activity") == 0) {
    if (!member_str(obj, "id") || !*member_str(obj, "id"))
      return bad(e, "object.id", "an Activity needs a string id (an IRI)");
    if ((v = member(obj, "definition")) && !json_object_is_type(v, json_type_object))
      return bad(e, "object.definition", "must be an object");
  } else if (strcmp(type, "Agent") == 0 || strcmp(type, "Group") == 0) {
    if (!check_actor(obj, "object", e))
      return false;
  } else if (strcmp(type, "StatementRef") == 0) {
    if (!member_str(obj, "id") || !uuid_form(member_str(obj, "id")))
      return bad(e, "object.id", "a StatementRef needs a UUID id");
  } else if (strcmp(type, "SubStatement") != 0) {
    return bad(e, "object.objectType",
               "must be Activity, Agent, Group, StatementRef or SubStatement");
  }
  if ((v = member(s, "result")) && !check_result(v, e))
    return false;
  if ((v = member(s, "context")) && !json_object_is_type(v, json_type_object))
    return bad(e, "context", "must be an object");
  if ((v = member(s, "context")) && member(v, "platform") && !member_str(v, "platform"))
    return bad(e, "context.platform", "must be a string");
  ts = member_str(s, "timestamp");
  if (member(s, "timestamp") && (!ts || !sbx_parse_iso8601(ts, &ms)))
    return bad(e, "timestamp", "must be an ISO 8601 date and time");
  return true;
}

/* ---- statement comparison ------------------------------------------------
 * xAPI 1.0.3 Part Two 2.3.1: differences an LRS may cause are ignored: the
 * properties it assigns (id, authority, stored, version; timestamp when one
 * side has none), attachments, a Verb's display, an Activity's definition,
 * the serialisation of the timestamp (compared as an instant) and the order
 * of object members. Everything else must be equal as sent. */

/* a and b are objects: equal members, leaving out those in skip (and the
 * one named extra, may be NULL). */
static bool members_equal(json_object *a, json_object *b, const char *const *skip,
                          const char *extra)
{
  size_t na = 0, nb = 0;

  json_object_object_foreach(a, ka, va)
  {
    json_object *vb = NULL;

    if ((skip && sbx_in_list(ka, skip)) || (extra && strcmp(ka, extra) == 0))
      continue;
    na++;
    if (!json_object_object_get_ex(b, ka, &vb) || !json_object_equal(va, vb))
      return false;
  }
  json_object_object_foreach(b, kb, vb2)
  {
    (void)vb2;
    if ((skip && sbx_in_list(kb, skip)) || (extra && strcmp(kb, extra) == 0))
      continue;
    nb++;
  }
  return na == nb;
}

static bool is_activity(json_object *obj)
{
  const char *type = member_str(obj, "objectType");

  return !type || strcmp(type, "Activity") == 0;
}

static bool same_statement(json_object *a, json_object *b)
{
  static const char *const special[] = { "id",      "authority",   "stored",
                                         "version", "attachments", "timestamp",
                                         "verb",    "object",      NULL };
  json_object *va, *vb;
  const char *ta, *tb;
  int64_t ma, mb;

  if (!members_equal(a, b, special, NULL))
    return false;
  va = member(a, "verb");
  vb = member(b, "verb");
  if (!va || !vb || !members_equal(va, vb, NULL, "display"))
    return false;
  va = member(a, "object");
  vb = member(b, "object");
  if (is_activity(va) && is_activity(vb)) {
    if (!members_equal(va, vb, NULL, "definition"))
      return false;
  } else if (!json_object_equal(va, vb)) {
    return false;
  }
  ta = member_str(a, "timestamp");
  tb = member_str(b, "timestamp");
  if (ta && tb && sbx_parse_iso8601(ta, &ma) && sbx_parse_iso8601(tb, &mb))
    return ma == mb;
  return true;
}

/* ---- the statements resource ------------------------------------------ */

struct xapi_ctx {
  struct sbx_world *w;
  struct sbx_tenant *t;
  struct sbx_request *req;
  struct sbx_response *resp;
  const char *who; /* borrowed: the credential's name */
  bool may_write;
  bool may_read;
  bool read_mine;      /* statements/read/mine only */
  const char *version; /* static: the version answered */
  bool version_2;
};

static void fail(struct xapi_ctx *c, int status, const char *msg)
{
  sbx_xapi_error(c->req, c->resp, status, msg);
}

static bool token_may(const struct sbx_token *tok, const char *const *list)
{
  size_t i;

  for (i = 0; i < tok->n_scopes; i++)
    if (sbx_in_list(tok->scopes[i], list))
      return true;
  return false;
}

static bool authenticate(struct xapi_ctx *c, char **basic)
{
  const struct sbx_tenant *t = c->t;
  const char *auth = c->req->authorization, *id = NULL, *secret = NULL;
  const struct sbx_client *user;
  struct sbx_token *tok;

  c->req->token_checked = true;
  if (auth && sbx_starts_with_ci(auth, "Basic ")) {
    *basic = sbx_request_basic(c->req, &id, &secret);
    user = *basic ? sbx_client_find(t->cfg.xapi_users, t->cfg.n_xapi_users, id) : NULL;
    if (!user || strcmp(user->secret, secret) != 0) {
      sbx_response_header(c->resp, "WWW-Authenticate", "Basic realm=\"xapi\"");
      fail(c, 401, "unknown username or wrong password");
      return false;
    }
    c->who = user->id;
    c->may_write = c->may_read = true;
    return true;
  }
  if (!auth || !sbx_starts_with_ci(auth, "Bearer ")) {
    sbx_response_header(c->resp, "WWW-Authenticate", "Basic realm=\"xapi\"");
    fail(c, 401, "credentials are required: HTTP Basic or an OAuth2 bearer token");
    return false;
  }
  for (auth += 7; *auth == ' '; auth++)
    ;
  tok = sbx_tokens_find(&c->w->tokens, auth);
  if (tok)
    c->req->token_id = tok->id;
  if (!tok || tok->kind != SBX_TOKEN_XAPI || tok->tenant != t) {
    sbx_response_header(c->resp, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
    fail(c, 401, "the access token is invalid");
    return false;
  }
  if (sbx_mono_ms() >= tok->expires_mono_ms) {
    sbx_response_header(c->resp, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
    fail(c, 401, "the access token has expired");
    return false;
  }
  c->who = tok->client_id;
  c->may_write = token_may(tok, write_scopes);
  c->may_read = token_may(tok, read_scopes);
  c->read_mine = !c->may_read && sbx_token_has_scope(tok, "statements/read/mine");
  return true;
}

/* Refuses query parameters other than those allowed (NULL-terminated). */
static bool only_params(struct xapi_ctx *c, const char *const *allowed)
{
  size_t i;
  char msg[200];

  for (i = 0; i < c->req->n_query; i++) {
    if (!sbx_in_list(c->req->query[i].key, allowed)) {
      snprintf(msg, sizeof(msg), "parameter '%.100s' is not supported here by the sandbox LRS",
               c->req->query[i].key);
      fail(c, 400, msg);
      return false;
    }
  }
  return true;
}

static bool store_full(struct xapi_ctx *c, size_t adding)
{
  if (c->t->xapi->n + adding <= c->w->limits.max_records)
    return false;
  fail(c, 507, "sandbox record limit reached (see --max-records)");
  return true;
}

static void lower_id(const char *id, char out[UUID_LEN + 1])
{
  size_t i;

  for (i = 0; i < UUID_LEN; i++)
    out[i] = (char)tolower((unsigned char)id[i]);
  out[UUID_LEN] = '\0';
}

static struct stmt *find(struct sbx_xapi_store *s, const char *id)
{
  char key[UUID_LEN + 1];

  if (!uuid_form(id))
    return NULL;
  lower_id(id, key);
  return sbx_map_get(&s->by_id, key);
}

/* Stores sent (a new reference is taken) under id. */
static void store(struct xapi_ctx *c, json_object *sent, const char *id, const char *method,
                  int64_t now)
{
  struct sbx_xapi_store *s = c->t->xapi;
  struct stmt *st = sbx_xcalloc(1, sizeof(*st));
  json_object *copy = NULL, *auth, *acct;
  char when[40], home[300];

  lower_id(id, st->id);
  st->sent = json_object_get(sent);
  st->who = sbx_xstrdup(c->who);
  st->method = method;
  st->first_wall_ms = st->last_wall_ms = now;
  sbx_iso8601(now, 3, when, sizeof(when));
  json_object_deep_copy(sent, &copy, NULL);
  if (!member(copy, "id"))
    json_object_object_add(copy, "id", json_object_new_string(id));
  if (!member(copy, "timestamp"))
    json_object_object_add(copy, "timestamp", json_object_new_string(when));
  json_object_object_add(copy, "stored", json_object_new_string(when));
  snprintf(home, sizeof(home), "http://%.200s/t/%s/xapi", c->req->host ? c->req->host : "localhost",
           c->t->cfg.name);
  acct = json_object_new_object();
  json_object_object_add(acct, "homePage", json_object_new_string(home));
  json_object_object_add(acct, "name", json_object_new_string(c->who));
  auth = json_object_new_object();
  json_object_object_add(auth, "objectType", json_object_new_string("Agent"));
  json_object_object_add(auth, "account", acct);
  json_object_object_add(copy, "authority", auth);
  if (!member(copy, "version"))
    json_object_object_add(copy, "version",
                           json_object_new_string(c->version_2 ? "2.0.0" : "1.0.0"));
  st->stored = sbx_xstrdup(json_object_to_json_string_ext(copy, JSON_FLAGS));
  json_object_put(copy);
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 64;
    s->items = sbx_xrealloc(s->items, s->cap * sizeof(*s->items));
  }
  s->items[s->n++] = st;
  sbx_map_put(&s->by_id, st->id, st);
}

/* The JSON body of a PUT or POST, or NULL after answering 400. */
static json_object *statement_body(struct xapi_ctx *c)
{
  json_object *body;
  char msg[240];

  if (!sbx_request_is_json(c->req)) {
    fail(c, 400,
         "statements must be sent as application/json (attachments in "
         "multipart/mixed are not supported by the sandbox LRS)");
    return NULL;
  }
  body = sbx_request_parse_json(c->req);
  if (!body) {
    snprintf(msg, sizeof(msg), "not valid JSON: %s", c->req->json_error);
    fail(c, 400, msg);
  }
  return body;
}

/* The body of a PUT or POST, or NULL after answering 403 (the credentials
 * may not write) or 400. */
static json_object *write_body(struct xapi_ctx *c)
{
  if (!c->may_write) {
    fail(c, 403, "the access token has no scope to write statements");
    return NULL;
  }
  return statement_body(c);
}

static void put_statement(struct xapi_ctx *c)
{
  static const char *const params[] = { "statementId", NULL };
  const char *id = sbx_request_query(c->req, "statementId"), *body_id;
  json_object *body;
  struct stmt *st;
  struct verr e;
  char msg[360];

  c->t->xapi->put_requests++;
  if (!only_params(c, params))
    return;
  if (!id) {
    fail(c, 400, "PUT needs the statementId parameter");
    return;
  }
  if (!uuid_form(id)) {
    fail(c, 400, "statementId must be a UUID in standard string form");
    return;
  }
  if (!(body = write_body(c)))
    return;
  if (!check_statement(body, &e)) {
    snprintf(msg, sizeof(msg), "invalid statement: %s", e.msg);
    fail(c, 400, msg);
    return;
  }
  body_id = member_str(body, "id");
  if (body_id && strcasecmp(body_id, id) != 0) {
    fail(c, 400, "the statement's id differs from the statementId parameter");
    return;
  }
  st = find(c->t->xapi, id);
  if (st) {
    st->last_wall_ms = sbx_wall_ms();
    if (!same_statement(st->sent, body)) {
      st->conflicts++;
      c->t->xapi->conflict_responses++;
      snprintf(msg, sizeof(msg), "statement %s is already stored with different content", st->id);
      fail(c, 409, msg);
      return;
    }
    st->repeats++;
  } else {
    if (store_full(c, 1))
      return;
    store(c, body, id, "PUT", sbx_wall_ms());
  }
  sbx_response_empty(c->resp, 204);
}

static void post_statements(struct xapi_ctx *c)
{
  static const char *const params[] = { NULL };
  struct sbx_xapi_store *s = c->t->xapi;
  json_object *body, *one;
  struct stmt **found = NULL;
  char(*ids)[UUID_LEN + 1] = NULL;
  size_t i, j, n, fresh = 0;
  bool array;
  struct verr e;
  struct sbx_buf out;
  char msg[400];
  int64_t now = sbx_wall_ms();

  s->post_requests++;
  if (!only_params(c, params))
    return;
  if (!(body = write_body(c)))
    return;
  array = json_object_is_type(body, json_type_array);
  n = array ? json_object_array_length(body) : 1;
  if (n == 0) {
    fail(c, 400, "no statements: the array is empty");
    return;
  }
  ids = sbx_xcalloc(n, sizeof(*ids));
  found = sbx_xcalloc(n, sizeof(*found));
  for (i = 0; i < n; i++) {
    const char *id;

    one = array ? json_object_array_get_idx(body, i) : body;
    if (!check_statement(one, &e)) {
      if (array)
        snprintf(msg, sizeof(msg), "invalid statement [%zu]: %s", i, e.msg);
      else
        snprintf(msg, sizeof(msg), "invalid statement: %s", e.msg);
      fail(c, 400, msg);
      goto out;
    }
    id = member_str(one, "id");
    if (id) {
      lower_id(id, ids[i]);
    } else {
      do
        sbx_uuid4(ids[i]);
      while (sbx_map_get(&s->by_id, ids[i]));
    }
    for (j = 0; j < i; j++) {
      if (strcmp(ids[i], ids[j]) == 0) {
        snprintf(msg, sizeof(msg), "statements [%zu] and [%zu] have the same id %s", j, i, ids[i]);
        fail(c, 400, msg);
        goto out;
      }
    }
    found[i] = sbx_map_get(&s->by_id, ids[i]);
    if (found[i] && !same_statement(found[i]->sent, one)) {
      found[i]->conflicts++;
      found[i]->last_wall_ms = now;
      s->conflict_responses++;
      snprintf(msg, sizeof(msg),
               "statement %s is already stored with different content; "
               "nothing of this request was stored",
               ids[i]);
      fail(c, 409, msg);
      goto out;
    }
    fresh += !found[i];
  }
  if (store_full(c, fresh))
    goto out;
  sbx_buf_init(&out);
  sbx_buf_putc(&out, '[');
  for (i = 0; i < n; i++) {
    one = array ? json_object_array_get_idx(body, i) : body;
    if (found[i]) {
      found[i]->repeats++;
      found[i]->last_wall_ms = now;
    } else {
      store(c, one, ids[i], "POST", now);
    }
    if (i)
      sbx_buf_putc(&out, ',');
    sbx_buf_json_str(&out, ids[i]);
  }
  sbx_buf_putc(&out, ']');
  sbx_response_buf(c->resp, 200, &out);
  sbx_response_header(c->resp, "X-Experience-API-Version", "%s", c->version);
out:
  free(ids);
  free(found);
}

static void get_statements(struct xapi_ctx *c)
{
  static const char *const single_params[] = { "statementId", "voidedStatementId", "format",
                                               "attachments", NULL };
  static const char *const list_params[] = { "limit", "format", "attachments", NULL };
  struct sbx_xapi_store *s = c->t->xapi;
  const char *id = sbx_request_query(c->req, "statementId");
  const char *voided = sbx_request_query(c->req, "voidedStatementId");
  const char *limit_s = sbx_request_query(c->req, "limit");
  struct stmt *st;
  struct sbx_buf out;
  char when[40];
  long limit = LIST_DEFAULT_LIMIT;
  size_t i, listed = 0;

  s->get_requests++;
  if (!c->may_read && !c->read_mine) {
    fail(c, 403, "the access token has no scope to read statements");
    return;
  }
  if (id || voided) {
    if (!only_params(c, single_params))
      return;
    if (id && voided) {
      fail(c, 400, "give statementId or voidedStatementId, not both");
      return;
    }
    if (voided) {
      /* nothing is voided here: voiding is not implemented */
      fail(c, 404, "no voided statement with that id");
      return;
    }
    st = find(s, id);
    if (!st || (c->read_mine && strcmp(st->who, c->who) != 0)) {
      fail(c, 404, "no statement with that id");
      return;
    }
    sbx_buf_init(&out);
    sbx_buf_puts(&out, st->stored);
    goto answer;
  }
  if (!only_params(c, list_params))
    return;
  if (limit_s && !sbx_parse_long(limit_s, 0, 1000000000, &limit)) {
    fail(c, 400, "limit must be a non-negative integer");
    return;
  }
  if (limit == 0 || limit > LIST_MAX_LIMIT)
    limit = LIST_MAX_LIMIT;
  sbx_buf_init(&out);
  sbx_buf_puts(&out, "{\"statements\":[");
  for (i = s->n; i > 0 && listed < (size_t)limit; i--) { /* newest first */
    st = s->items[i - 1];
    if (c->read_mine && strcmp(st->who, c->who) != 0)
      continue;
    if (listed++)
      sbx_buf_putc(&out, ',');
    sbx_buf_puts(&out, st->stored);
  }
  /* "more" would need paging the sandbox does not keep. */
  sbx_buf_puts(&out, "],\"more\":\"\"}");
answer:
  sbx_response_buf(c->resp, 200, &out);
  sbx_response_header(c->resp, "X-Experience-API-Version", "%s", c->version);
  sbx_iso8601(sbx_wall_ms(), 3, when, sizeof(when));
  sbx_response_header(c->resp, "X-Experience-API-Consistent-Through", "%s", when);
}

void sbx_xapi_api(struct sbx_world *w, struct sbx_tenant *t, struct sbx_request *req,
                  struct sbx_response *resp)
{
  struct xapi_ctx c = { w, t, req, resp, NULL, false, false, false, NULL, false };
  char *basic = NULL, msg[200];
  bool ok;

  c.version = answer_version(req, &ok);
  c.version_2 = ok && req->xapi_version[0] == '2';
  if (strcmp(req->sub_path, "/xapi/about") == 0) {
    /* needs no credentials and no version header (Part Three 2.8) */
    if (strcmp(req->method, "GET") != 0) {
      sbx_response_header(resp, "Allow", "GET");
      fail(&c, 405, "only GET is supported here");
      return;
    }
    sbx_response_text(resp, 200, "{\"version\":[\"1.0.3\",\"2.0.0\"]}");
    sbx_response_header(resp, "X-Experience-API-Version", "%s", c.version);
    return;
  }
  if (strcmp(req->sub_path, "/xapi/statements") != 0) {
    fail(&c, 404,
         "no such resource in the sandbox LRS (it has /xapi/statements "
         "and /xapi/about)");
    return;
  }
  if (!authenticate(&c, &basic))
    goto out;
  if (!ok) {
    if (req->xapi_version)
      snprintf(msg, sizeof(msg),
               "X-Experience-API-Version '%.40s' is not supported (1.0.x or "
               "2.0.x)",
               req->xapi_version);
    else
      snprintf(msg, sizeof(msg), "the X-Experience-API-Version header is required");
    fail(&c, 400, msg);
    goto out;
  }
  if (strcmp(req->method, "PUT") == 0)
    put_statement(&c);
  else if (strcmp(req->method, "POST") == 0)
    post_statements(&c);
  else if (strcmp(req->method, "GET") == 0)
    get_statements(&c);
  else {
    sbx_response_header(resp, "Allow", "GET, PUT, POST");
    fail(&c, 405, "the statements resource takes GET, PUT and POST");
  }
out:
  free(basic);
  if (resp->status == 204)
    sbx_response_header(resp, "X-Experience-API-Version", "%s", c.version);
}
