#include "sbx_dispatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sbx_control.h"
#include "sbx_degreed.h"
#include "sbx_sf.h"
#include "sbx_xapi.h"

#define LOG_TEXT_MAX 65536

static const char *const secret_params[] = { "client_secret", "access_token", "refresh_token",
                                             "token",         "password",     "assertion",
                                             "code",          "secret",       NULL };

void sbx_route(struct sbx_request *req)
{
  const char *p = req->path, *slash, *sub;
  size_t n;

  req->api = SBX_API_NONE;
  req->tenant[0] = '\0';
  req->sub_path = "";
  if (strcmp(p, "/_sandbox") == 0 || strncmp(p, "/_sandbox/", 10) == 0) {
    req->api = SBX_API_CONTROL;
    return;
  }
  if (strncmp(p, "/t/", 3) != 0)
    return;
  p += 3;
  slash = strchr(p, '/');
  n = slash ? (size_t)(slash - p) : strlen(p);
  if (n == 0 || n > SBX_TENANT_NAME_MAX)
    return;
  memcpy(req->tenant, p, n);
  req->tenant[n] = '\0';
  if (!sbx_tenant_name_valid(req->tenant)) {
    req->tenant[0] = '\0';
    return;
  }
  sub = slash ? slash : "";
  req->sub_path = sub;
  if (strcmp(sub, "/oauth/token") == 0)
    req->api = SBX_API_DEGREED_TOKEN;
  else if (strncmp(sub, "/api/", 5) == 0)
    req->api = SBX_API_DEGREED;
  else if (strcmp(sub, "/learning/oauth-api/rest/v1/token") == 0)
    req->api = SBX_API_SF_TOKEN;
  else if (strncmp(sub, "/learning/", 10) == 0)
    req->api = SBX_API_SF;
  else if (strcmp(sub, "/xapi") == 0 || strncmp(sub, "/xapi/", 6) == 0)
    req->api = SBX_API_XAPI;
}

uint32_t sbx_dispatch_latency(struct sbx_world *w, struct sbx_request *req)
{
  struct sbx_tenant *t;
  unsigned api = req->api;
  uint32_t ms = 0;

  if (req->api == SBX_API_NONE || req->api == SBX_API_CONTROL)
    return 0;
  /* Whether /oauth/token serves a Degreed or an xAPI client is known from
   * the body, in sbx_dispatch; the delay comes first and applies to both. */
  if (api == SBX_API_DEGREED_TOKEN)
    api |= SBX_API_XAPI_TOKEN;
  pthread_mutex_lock(&w->lock);
  t = sbx_world_tenant(w, req->tenant);
  if (t)
    ms = sbx_faults_latency(&t->faults, api);
  pthread_mutex_unlock(&w->lock);
  return ms;
}

static void dialect_error(const struct sbx_request *req, struct sbx_response *resp, int status,
                          const char *code, const char *msg)
{
  switch (req->api) {
  case SBX_API_XAPI:
    sbx_xapi_error(req, resp, status, msg);
    break;
  case SBX_API_SF:
    sbx_odata_error(resp, status, code, msg);
    break;
  case SBX_API_DEGREED_TOKEN:
  case SBX_API_SF_TOKEN:
  case SBX_API_XAPI_TOKEN:
    sbx_oauth_error(resp, status, "invalid_request", msg);
    break;
  default:
    sbx_jsonapi_error(resp, status, code, NULL, msg, NULL);
    break;
  }
}

static void fault_response(const struct sbx_request *req, struct sbx_response *resp, int status,
                           const char *name)
{
  char msg[96];

  snprintf(msg, sizeof(msg), "injected fault: %s", name);
  switch (req->api) {
  case SBX_API_DEGREED:
    sbx_degreed_fault(resp, status, name);
    break;
  case SBX_API_SF:
    sbx_sf_fault(resp, status, name);
    break;
  case SBX_API_XAPI:
    sbx_xapi_error(req, resp, status, msg);
    break;
  default:
    sbx_oauth_error(resp, status,
                    status == 503   ? "temporarily_unavailable"
                    : status >= 500 ? "server_error"
                                    : "invalid_request",
                    msg);
    break;
  }
}

void sbx_dispatch(struct sbx_world *w, struct sbx_request *req, struct sbx_response *resp)
{
  struct sbx_tenant *t;
  enum sbx_fault_action action;
  int status = 0;
  uint32_t retry = 0;
  const char *name = NULL;
  char msg[160];

  if (req->api == SBX_API_CONTROL) {
    if (req->body_too_large) {
      sbx_response_text(resp, 413, "{\"error\":\"request body too large\"}");
      return;
    }
    sbx_control_handle(w, req, resp);
    return;
  }
  if (req->api == SBX_API_NONE) {
    sbx_jsonapi_error(resp, 404, "not-found", NULL,
                      "no such endpoint: paths are /t/<tenant>/oauth/token, "
                      "/t/<tenant>/api/v2/..., /t/<tenant>/learning/..., "
                      "/t/<tenant>/xapi/... and /_sandbox/...",
                      NULL);
    return;
  }
  if (req->body_too_large) {
    snprintf(msg, sizeof(msg), "request body larger than %zu bytes", w->limits.max_body_bytes);
    dialect_error(req, resp, 413, "payload-too-large", msg);
    return;
  }
  /* Parse outside the lock so big bodies do not serialise the threads. */
  if (req->body_len && sbx_request_is_json(req))
    sbx_request_parse_json(req);

  pthread_mutex_lock(&w->lock);
  t = sbx_world_tenant(w, req->tenant);
  if (!t) {
    snprintf(msg, sizeof(msg), "unknown sandbox tenant '%s'", req->tenant);
    dialect_error(req, resp, 404, "not-found", msg);
    goto out;
  }
  if (req->api == SBX_API_DEGREED_TOKEN && sbx_xapi_token_claims(t, req))
    req->api = SBX_API_XAPI_TOKEN;
  action = sbx_faults_decide(&t->faults, req->api, sbx_wall_ms(), &status, &retry, &name);
  if (action != SBX_FAULT_NONE) {
    req->fault = name;
    if (action == SBX_FAULT_RESET) {
      sbx_response_empty(resp, 0);
      goto out;
    }
    fault_response(req, resp, status, name);
    if (retry)
      sbx_response_header(resp, "Retry-After", "%u", retry);
    goto out;
  }
  if (sbx_faults_hostile(&t->faults, req->api, resp, &name)) {
    req->fault = name;
    goto out;
  }
  switch (req->api) {
  case SBX_API_DEGREED_TOKEN:
    sbx_degreed_token(w, t, req, resp);
    break;
  case SBX_API_DEGREED:
    sbx_degreed_api(w, t, req, resp);
    break;
  case SBX_API_SF_TOKEN:
    sbx_sf_token(w, t, req, resp);
    break;
  case SBX_API_SF:
    sbx_sf_api(w, t, req, resp);
    break;
  case SBX_API_XAPI_TOKEN:
    sbx_xapi_token(w, t, req, resp);
    break;
  case SBX_API_XAPI:
    sbx_xapi_api(w, t, req, resp);
    break;
  default:
    dialect_error(req, resp, 404, "not-found", "no such endpoint in this tenant");
    break;
  }
  /* handled (stored, say), and then the answer is lost on the way: half of
   * it, or, when there is no body to cut, all of it */
  if (sbx_faults_drop(&t->faults, req->api)) {
    req->fault = "drop_mid_response";
    if (resp->body_len >= 2)
      resp->cut_half = true;
    else
      sbx_response_empty(resp, 0);
  }
out:
  pthread_mutex_unlock(&w->lock);
}

static bool secret_param(const char *key, size_t n)
{
  char *k = sbx_url_decode(key, n, true);
  bool secret = false;
  size_t i;

  for (i = 0; k && secret_params[i]; i++)
    secret |= strcasecmp(k, secret_params[i]) == 0;
  free(k);
  return secret || !k;
}

/* raw_uri with the values of secret-looking query parameters redacted. */
static void redacted_uri(const char *uri, struct sbx_buf *out)
{
  const char *q = strchr(uri, '?'), *p;

  if (!q) {
    sbx_buf_puts(out, uri);
    return;
  }
  sbx_buf_append(out, uri, (size_t)(q - uri) + 1);
  p = q + 1;
  while (*p) {
    const char *amp = strchr(p, '&');
    size_t n = amp ? (size_t)(amp - p) : strlen(p);
    const char *eq = memchr(p, '=', n);

    if (eq && secret_param(p, (size_t)(eq - p))) {
      sbx_buf_append(out, p, (size_t)(eq - p) + 1);
      sbx_buf_puts(out, "<redacted>");
    } else {
      sbx_buf_append(out, p, n);
    }
    p += n;
    if (*p == '&') {
      sbx_buf_putc(out, '&');
      p++;
    }
  }
}

static void describe_auth(struct sbx_world *w, struct sbx_request *req, struct sbx_buf *out)
{
  const char *a = req->authorization;
  char desc[200];

  if (sbx_starts_with_ci(a, "Bearer ")) {
    uint64_t id = req->token_id;

    if (!req->token_checked) {
      const char *tok = a + 7;
      struct sbx_token *t;

      while (*tok == ' ')
        tok++;
      pthread_mutex_lock(&w->lock);
      t = sbx_tokens_find(&w->tokens, tok);
      id = t ? t->id : 0;
      pthread_mutex_unlock(&w->lock);
    }
    if (id)
      snprintf(desc, sizeof(desc), "Bearer token#%llu", (unsigned long long)id);
    else
      snprintf(desc, sizeof(desc), "Bearer <unknown token>");
  } else if (sbx_starts_with_ci(a, "Basic ")) {
    const char *id = NULL, *secret = NULL;
    char *plain = sbx_request_basic(req, &id, &secret);

    if (plain)
      snprintf(desc, sizeof(desc), "Basic %.120s:<redacted>", id);
    else
      snprintf(desc, sizeof(desc), "Basic <malformed>");
    free(plain);
  } else {
    const char *sp = strchr(a, ' ');
    size_t n = sp ? (size_t)(sp - a) : 0;

    snprintf(desc, sizeof(desc), "%.*s<redacted>", n > 20 ? 20 : (int)(n ? n + 1 : 0), a);
  }
  sbx_buf_json_str(out, desc);
}

/* Token request bodies: form or JSON with every secret-looking field
 * replaced by "<redacted>"; anything else is not logged at all. */
static void log_token_body(struct sbx_request *req, struct sbx_buf *b)
{
  if (req->content_type &&
      sbx_starts_with_ci(req->content_type, "application/x-www-form-urlencoded")) {
    struct sbx_kv *kv = NULL;
    size_t n = sbx_parse_form(req->body, req->body_len, &kv), i, j;

    sbx_buf_putc(b, '{');
    for (i = 0; i < n; i++) {
      bool secret = false;

      for (j = 0; secret_params[j]; j++)
        secret |= strcasecmp(kv[i].key, secret_params[j]) == 0;
      if (i)
        sbx_buf_putc(b, ',');
      sbx_buf_json_str(b, kv[i].key);
      sbx_buf_putc(b, ':');
      sbx_buf_json_str(b, secret ? "<redacted>" : kv[i].value);
    }
    sbx_buf_puts(b, "},\"body_format\":\"form\"");
    sbx_kv_free(kv, n);
  } else if (sbx_request_parse_json(req)) {
    char *text = sbx_sf_redacted_json(req->json);

    sbx_buf_puts(b, text);
    sbx_buf_puts(b, ",\"body_format\":\"json\"");
    free(text);
  } else {
    sbx_buf_puts(b, "\"<redacted: neither a form nor JSON>\",\"body_format\":\"redacted\"");
  }
}

static void log_header(struct sbx_buf *b, bool *first, const char *name, const char *value)
{
  if (!value)
    return;
  if (!*first)
    sbx_buf_putc(b, ',');
  *first = false;
  sbx_buf_json_str(b, name);
  sbx_buf_putc(b, ':');
  sbx_buf_json_str(b, value);
}

void sbx_dispatch_log(struct sbx_world *w, struct sbx_request *req, const struct sbx_response *resp,
                      uint64_t done_mono_ms)
{
  bool token_api = (req->api & SBX_API_TOKENS) != 0;
  struct sbx_buf b;
  char when[40];
  bool first = true;

  if (req->api == SBX_API_CONTROL)
    return;
  sbx_buf_init(&b);
  sbx_buf_puts(&b, "\"tenant\":");
  sbx_buf_json_str(&b, req->tenant[0] ? req->tenant : NULL);
  sbx_buf_printf(&b, ",\"api\":\"%s\",\"method\":", sbx_api_name(req->api));
  sbx_buf_json_str(&b, req->method);
  sbx_buf_puts(&b, ",\"path\":");
  {
    struct sbx_buf uri;

    sbx_buf_init(&uri);
    redacted_uri(req->raw_uri ? req->raw_uri : req->path, &uri);
    sbx_buf_json_str(&b, uri.data);
    sbx_buf_release(&uri);
  }
  sbx_buf_puts(&b, ",\"headers\":{");
  if (req->authorization) {
    first = false;
    sbx_buf_puts(&b, "\"Authorization\":");
    describe_auth(w, req, &b);
  }
  log_header(&b, &first, "Content-Type", req->content_type);
  log_header(&b, &first, "Accept", req->accept);
  log_header(&b, &first, "User-Agent", req->user_agent);
  log_header(&b, &first, "X-Degreed-Organization-Code", req->org_code);
  log_header(&b, &first, "X-Request-Id", req->request_id);
  log_header(&b, &first, "Application-Interface-Key", req->app_key ? "<redacted>" : NULL);
  log_header(&b, &first, "X-Experience-API-Version", req->xapi_version);
  sbx_buf_puts(&b, "},\"body\":");
  if (req->body_too_large) {
    sbx_buf_puts(&b, "null,\"body_format\":\"too_large\"");
  } else if (req->body_len == 0) {
    sbx_buf_puts(&b, "null,\"body_format\":\"none\"");
  } else if (token_api) {
    log_token_body(req, &b);
  } else if (sbx_request_parse_json(req)) {
    sbx_buf_append(&b, req->body, req->body_len);
    sbx_buf_puts(&b, ",\"body_format\":\"json\"");
  } else {
    size_t n = req->body_len > LOG_TEXT_MAX ? LOG_TEXT_MAX : req->body_len;

    sbx_buf_json_strn(&b, req->body, n);
    sbx_buf_printf(&b, ",\"body_format\":\"%s\"", n < req->body_len ? "text_truncated" : "text");
  }
  sbx_buf_printf(&b, ",\"body_bytes\":%zu,\"status\":", req->body_len);
  if (resp->status)
    sbx_buf_printf(&b, "%d", resp->status);
  else
    sbx_buf_puts(&b, "null");
  sbx_buf_puts(&b, ",\"fault\":");
  sbx_buf_json_str(&b, req->fault);
  sbx_iso8601(req->received_wall_ms, 3, when, sizeof(when));
  sbx_buf_printf(&b, ",\"delay_ms\":%u,\"timestamp\":\"%s\",\"duration_ms\":%llu", req->delay_ms,
                 when, (unsigned long long)(done_mono_ms - req->received_mono_ms));
  sbx_reqlog_add(w->log, req->tenant[0] ? req->tenant : NULL, sbx_buf_steal(&b, NULL));
}
