#include "lb_tokens.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_classify.h"
#include "lb_connector.h"
#include "lb_json.h"
#include "lb_list.h"
#include "lb_log.h"
#include "lb_strbuf.h"
#include "lb_table.h"
#include "lb_time.h"

#define BACKOFF_FIRST_MS 1000
#define BACKOFF_MAX_MS 60000
/* A token endpoint's Retry-After is honoured up to this: an outage page
 * asking for hours must not stop an integration for hours. */
#define REFRESH_FRACTION 0.8
#define MAX_LIFETIME_S (400LL * 86400) /* cap absurd expires_in values */

typedef struct {
  lb_tokens *owner;
  size_t index;
  char *token;
  unsigned generation;
  int64_t expires_at_ms;
  int64_t refresh_at_ms;
  bool fetching;
  int failures;
  int64_t retry_at_ms;
  uint64_t fetch_ok, fetch_failed;
} slot;

struct lb_tokens {
  lb_http *http;
  const lb_integration *ins;
  size_t n;
  long timeout_ms;
  lb_token_ready_fn ready;
  void *opaque;
  slot *slots;
};

lb_tokens *lb_tokens_new(lb_http *http, const lb_integration *ins, size_t n, long timeout_ms,
                         lb_token_ready_fn ready, void *opaque)
{
  lb_tokens *t = calloc(1, sizeof(*t));
  if (!t)
    return NULL;
  t->slots = calloc(n ? n : 1, sizeof(slot));
  if (!t->slots) {
    free(t);
    return NULL;
  }
  t->http = http;
  t->ins = ins;
  t->n = n;
  t->timeout_ms = timeout_ms;
  t->ready = ready;
  t->opaque = opaque;
  for (size_t i = 0; i < n; i++) {
    t->slots[i].owner = t;
    t->slots[i].index = i;
  }
  return t;
}

static void drop_token(slot *s)
{
  if (s->token) {
    lb_log_remove_secret(s->token);
    free(s->token);
    s->token = NULL;
  }
}

void lb_tokens_destroy(lb_tokens *t)
{
  if (!t)
    return;
  for (size_t i = 0; i < t->n; i++)
    drop_token(&t->slots[i]);
  free(t->slots);
  free(t);
}

/* RFC 6750 section 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" /
 * "~" / "+" / "/" ) *"=". Anything else (a CR, LF, space, quote) would go
 * verbatim into the Authorization header: a server could inject headers. */
static bool is_b64token(const char *s, size_t len)
{
  size_t i = 0;
  while (i < len && s[i] && (isalnum((unsigned char)s[i]) || strchr("-._~+/", s[i])))
    i++;
  if (i == 0)
    return false;
  while (i < len && s[i] == '=')
    i++;
  return i == len;
}

lb_err lb_tokens_parse(const char *body, size_t len, char **ret_token, int64_t *ret_expires_in_s,
                       char *err, size_t errlen)
{
  json_object *root = NULL, *tok, *exp;
  char why[128];
  lb_err rc = LB_E_PARSE;

  if (lb_json_parse(body, len, &root, why, sizeof(why)) != LB_E_OK ||
      !json_object_is_type(root, json_type_object)) {
    size_t i = 0;
    while (i < len && isspace((unsigned char)body[i]))
      i++;
    /* a proxy's, login or maintenance page answered with a 200 */
    snprintf(err, errlen, "token response is not a JSON object%s",
             i < len && body[i] == '<' ? " (an HTML page)" : "");
    goto out;
  }
  if (!json_object_object_get_ex(root, "access_token", &tok) ||
      !json_object_is_type(tok, json_type_string) || json_object_get_string_len(tok) == 0) {
    snprintf(err, errlen, "token response has no access_token");
    goto out;
  }
  if (!is_b64token(json_object_get_string(tok), (size_t)json_object_get_string_len(tok))) {
    /* the token itself is never quoted: it is a secret even when malformed */
    snprintf(err, errlen,
             "token response's access_token has characters a bearer token "
             "may not hold (RFC 6750), refusing it");
    goto out;
  }
  if (!json_object_object_get_ex(root, "expires_in", &exp) ||
      !(json_object_is_type(exp, json_type_int) || json_object_is_type(exp, json_type_double))) {
    snprintf(err, errlen, "token response has no numeric expires_in");
    goto out;
  }
  double secs = json_object_get_double(exp);
  if (!isfinite(secs) || secs <= 0) {
    snprintf(err, errlen, "token response has a non-positive expires_in");
    goto out;
  }
  char *copy = strdup(json_object_get_string(tok));
  if (!copy) {
    rc = LB_E_NOMEM;
    goto out;
  }
  *ret_token = copy;
  /* under a second counts as one: a zero lifetime would refetch at once */
  *ret_expires_in_s = secs > MAX_LIFETIME_S ? MAX_LIFETIME_S : secs < 1 ? 1 : (int64_t)secs;
  rc = LB_E_OK;
out:
  json_object_put(root);
  return rc;
}

/* The request the integration's connector asks for; *ret_basic: the
 * client goes as HTTP Basic. */
static lb_err token_request(const lb_integration *in, char **ret_body,
                            const char **ret_content_type, bool *ret_basic)
{
  const lb_connector *k = lb_connector_of(in->type);
  if (!k || !k->token_request)
    return LB_E_INVALID;
  return k->token_request(in, ret_body, ret_content_type, ret_basic);
}

lb_err lb_tokens_request_body(const lb_integration *in, char **ret_body,
                              const char **ret_content_type)
{
  bool basic;
  return token_request(in, ret_body, ret_content_type, &basic);
}

/* A fetch failed: the next may start after the back-off (1 s doubling to
 * 60 s) or after the server's Retry-After (server_ms, -1 when none),
 * whichever is later. Waiting deliveries learn that time from
 * lb_tokens_retry_at() and park rather than retry into an outage. */
static void fetch_failed(slot *s, lb_token_outcome outcome, const char *why, int64_t server_ms)
{
  lb_tokens *t = s->owner;
  int64_t delay = BACKOFF_FIRST_MS;
  for (int i = 0; i < s->failures && delay < BACKOFF_MAX_MS; i++)
    delay *= 2;
  if (delay > BACKOFF_MAX_MS)
    delay = BACKOFF_MAX_MS;
  if (server_ms > delay)
    delay = server_ms < LB_SERVER_PAUSE_MAX_MS ? server_ms : LB_SERVER_PAUSE_MAX_MS;
  s->failures++;
  s->fetch_failed++;
  s->retry_at_ms = lb_time_mono_ms() + delay;
  t->ready(t->opaque, s->index, outcome, why);
}

static void on_token_response(void *opaque, const lb_http_response *r)
{
  slot *s = opaque;
  lb_tokens *t = s->owner;
  char why[256], err[160];
  char *token = NULL;
  int64_t expires_in = 0;

  s->fetching = false;
  if (r->status == 0) {
    snprintf(why, sizeof(why), "token request failed: %s", r->error);
    fetch_failed(s, LB_TOKEN_FAILED, why, -1);
    return;
  }
  if (r->status < 200 || r->status >= 300) {
    bool refused = r->status == 401 || r->status == 403;
    snprintf(why, sizeof(why), "token request answered %d%s", r->status,
             refused ? " (credentials or scopes refused)" : "");
    fetch_failed(s, refused ? LB_TOKEN_REFUSED : LB_TOKEN_FAILED, why,
                 lb_classify_retry_after_ms(r->retry_after, lb_time_now_ms()));
    return;
  }
  if (lb_tokens_parse(r->body, r->body_len, &token, &expires_in, err, sizeof(err)) != LB_E_OK) {
    snprintf(why, sizeof(why), "%s", err);
    fetch_failed(s, LB_TOKEN_FAILED, why, -1);
    return;
  }
  int64_t now = lb_time_mono_ms();
  lb_log_add_secret(token);
  drop_token(s);
  s->token = token;
  s->generation++;
  s->expires_at_ms = now + expires_in * 1000;
  s->refresh_at_ms = now + (int64_t)((double)expires_in * 1000 * REFRESH_FRACTION);
  s->failures = 0;
  s->retry_at_ms = 0;
  s->fetch_ok++;
  t->ready(t->opaque, s->index, LB_TOKEN_OK, NULL);
}

static void start_fetch(slot *s, int64_t now_ms)
{
  lb_tokens *t = s->owner;
  const lb_integration *in = &t->ins[s->index];
  char *body = NULL;
  const char *ctype = NULL;
  char ctype_hdr[80];

  if (s->fetching || now_ms < s->retry_at_ms)
    return;
  bool basic = false;
  if (token_request(in, &body, &ctype, &basic) != LB_E_OK) {
    fetch_failed(s, LB_TOKEN_FAILED, "out of memory building the token request", -1);
    return;
  }
  snprintf(ctype_hdr, sizeof(ctype_hdr), "Content-Type: %s", ctype);
  const char *headers[] = { ctype_hdr, "Accept: application/json" };
  lb_http_request req = {
    .method = "POST",
    .url = in->token_url,
    .headers = headers,
    .nheaders = 2,
    .body = body,
    .body_len = strlen(body),
    .timeout_ms = t->timeout_ms,
  };
  if (basic) {
    req.basic_user = in->client_id;
    req.basic_password = in->client_secret;
  }
  s->fetching = true;
  if (lb_http_start(t->http, &req, on_token_response, s, NULL) != LB_E_OK) {
    s->fetching = false;
    fetch_failed(s, LB_TOKEN_FAILED, "cannot start the token request", -1);
  }
  free(body);
}

const char *lb_tokens_get(lb_tokens *t, size_t index, int64_t now_ms, unsigned *ret_generation)
{
  slot *s = &t->slots[index];
  if (s->token && now_ms >= s->expires_at_ms)
    drop_token(s);
  if (!s->token || now_ms >= s->refresh_at_ms)
    start_fetch(s, now_ms);
  if (s->token && ret_generation)
    *ret_generation = s->generation;
  return s->token;
}

void lb_tokens_invalidate(lb_tokens *t, size_t index, unsigned generation)
{
  slot *s = &t->slots[index];
  if (s->token && s->generation == generation)
    drop_token(s);
}

int64_t lb_tokens_retry_at(const lb_tokens *t, size_t index)
{
  const slot *s = &t->slots[index];
  return s->fetching ? 0 : s->retry_at_ms;
}

uint64_t lb_tokens_fetches(const lb_tokens *t, size_t index, bool ok)
{
  return ok ? t->slots[index].fetch_ok : t->slots[index].fetch_failed;
}

/* ---- carried over a reload ---- */

typedef struct {
  lb_table_node node;
  char *issued_for; /* the key: holds the secret, wiped when freed */
  char *token;
  int64_t expires_in_ms, refresh_in_ms; /* from lb_tokens_keep's now */
} kept_token;

struct lb_tokens_kept {
  lb_table by_issue;
  int64_t kept_at_ms;
};

/* What a token of `in` is issued for: every input of its request. New
 * string (holds the secret), NULL without memory. */
static char *issued_for(const lb_integration *in)
{
  char *body = NULL;
  const char *ctype = NULL;
  bool basic = false;
  if (token_request(in, &body, &ctype, &basic) != LB_E_OK)
    return NULL;
  lb_strbuf b;
  lb_strbuf_init(&b, 0);
  lb_strbuf_appendf(&b, "%s\n%s\n%s\n%s\n%s\n%s", in->id, in->token_url ? in->token_url : "",
                    in->client_id ? in->client_id : "", in->client_secret ? in->client_secret : "",
                    ctype, body);
  memset(body, 0, strlen(body));
  free(body);
  char *ret = b.overflow ? NULL : lb_strbuf_detach(&b);
  if (b.buf)
    memset(b.buf, 0, b.len);
  lb_strbuf_release(&b);
  return ret;
}

static void wipe_free(char *s)
{
  if (s) {
    memset(s, 0, strlen(s));
    free(s);
  }
}

static void kept_free(kept_token *k)
{
  wipe_free(k->issued_for);
  if (k->token) {
    lb_log_remove_secret(k->token);
    free(k->token);
  }
  free(k);
}

void lb_tokens_kept_destroy(lb_tokens_kept *k)
{
  if (!k)
    return;
  lb_table_node *n = lb_table_first(&k->by_issue);
  while (n) {
    lb_table_node *next = lb_table_next(&k->by_issue, n);
    lb_table_remove(&k->by_issue, n);
    kept_free(LB_TABLE_ENTRY(n, kept_token, node));
    n = next;
  }
  lb_table_release(&k->by_issue);
  free(k);
}

lb_tokens_kept *lb_tokens_keep(lb_tokens *t, int64_t now_ms)
{
  lb_tokens_kept *k = calloc(1, sizeof(*k));
  if (!k)
    return NULL;
  k->kept_at_ms = now_ms;
  for (size_t i = 0; i < t->n; i++) {
    slot *s = &t->slots[i];
    if (!s->token || now_ms >= s->expires_at_ms)
      continue;
    kept_token *e = calloc(1, sizeof(*e));
    if (!e || !(e->issued_for = issued_for(&t->ins[i]))) {
      free(e);
      continue; /* that one is fetched again */
    }
    if (lb_table_find(&k->by_issue, e->issued_for)) {
      kept_free(e); /* two integrations cannot share an id */
      continue;
    }
    e->token = s->token; /* moved: still registered with the redaction */
    s->token = NULL;
    e->expires_in_ms = s->expires_at_ms - now_ms;
    e->refresh_in_ms = s->refresh_at_ms - now_ms;
    lb_table_insert(&k->by_issue, &e->node, e->issued_for);
  }
  if (lb_table_count(&k->by_issue) == 0) {
    lb_tokens_kept_destroy(k);
    return NULL;
  }
  return k;
}

size_t lb_tokens_adopt(lb_tokens *t, lb_tokens_kept *k, int64_t now_ms)
{
  size_t taken = 0;
  for (size_t i = 0; k && i < t->n && lb_table_count(&k->by_issue) > 0; i++) {
    char *key = issued_for(&t->ins[i]);
    lb_table_node *n = key ? lb_table_find(&k->by_issue, key) : NULL;
    wipe_free(key);
    if (!n)
      continue;
    kept_token *e = LB_TABLE_ENTRY(n, kept_token, node);
    int64_t elapsed = now_ms - k->kept_at_ms;
    lb_table_remove(&k->by_issue, n);
    slot *s = &t->slots[i];
    if (e->expires_in_ms > elapsed) {
      drop_token(s);
      s->token = e->token;
      e->token = NULL;
      s->generation++;
      s->expires_at_ms = now_ms + e->expires_in_ms - elapsed;
      s->refresh_at_ms = now_ms + e->refresh_in_ms - elapsed;
      taken++;
    }
    kept_free(e);
  }
  lb_tokens_kept_destroy(k);
  return taken;
}
