#include "sbx_control.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void error(struct sbx_response *resp, int status, const char *msg)
{
  struct sbx_buf b;

  sbx_buf_init(&b);
  sbx_buf_puts(&b, "{\"error\":");
  sbx_buf_json_str(&b, msg);
  sbx_buf_putc(&b, '}');
  sbx_response_buf(resp, status, &b);
}

static void unknown_tenant(struct sbx_response *resp, const char *name)
{
  char msg[128];

  snprintf(msg, sizeof(msg), "unknown tenant '%.64s'", name);
  error(resp, 404, msg);
}

/* allowed: methods separated by single spaces, e.g. "GET POST". */
static bool method(struct sbx_request *req, struct sbx_response *resp, const char *allowed)
{
  size_t n = strlen(req->method);
  const char *p = allowed;
  char list[64];
  size_t i, o = 0;

  while (*p) {
    const char *sp = strchr(p, ' ');
    size_t len = sp ? (size_t)(sp - p) : strlen(p);

    if (len == n && strncmp(p, req->method, n) == 0)
      return true;
    p += len;
    if (*p == ' ')
      p++;
  }
  for (i = 0; allowed[i] && o + 3 < sizeof(list); i++) {
    if (allowed[i] == ' ')
      list[o++] = ',';
    list[o++] = allowed[i];
  }
  list[o] = '\0';
  sbx_response_header(resp, "Allow", "%s", list);
  error(resp, 405, "method not allowed");
  return false;
}

static json_object *body_object(struct sbx_request *req, struct sbx_response *resp)
{
  json_object *o = sbx_request_parse_json(req);

  if (!o) {
    error(resp, 400, req->json_error);
    return NULL;
  }
  if (!json_object_is_type(o, json_type_object)) {
    error(resp, 400, "the body must be a JSON object");
    return NULL;
  }
  return o;
}

static void requests(struct sbx_world *w, struct sbx_request *req, struct sbx_response *resp)
{
  const char *tenant = sbx_request_query(req, "tenant");
  const char *since_s = sbx_request_query(req, "since");
  const char *limit_s = sbx_request_query(req, "limit");
  long since = 0, limit = SBX_REQUESTS_DEFAULT_LIMIT;

  if (!method(req, resp, "GET"))
    return;
  if (since_s && !sbx_parse_long(since_s, 0, 0x7fffffffffffffffL, &since)) {
    error(resp, 400, "since must be a non-negative integer");
    return;
  }
  if (limit_s && !sbx_parse_long(limit_s, 1, SBX_REQUESTS_MAX_LIMIT, &limit)) {
    error(resp, 400, "limit must be an integer between 1 and 1000000");
    return;
  }
  free(resp->body);
  resp->body = sbx_reqlog_render(w->log, tenant, (uint64_t)since, (size_t)limit, &resp->body_len);
  resp->status = 200;
}

static void state(struct sbx_world *w, struct sbx_request *req, struct sbx_response *resp)
{
  const char *name = sbx_request_query(req, "tenant");
  struct sbx_buf b;
  size_t i;
  bool first = true;

  if (!method(req, resp, "GET"))
    return;
  sbx_buf_init(&b);
  pthread_mutex_lock(&w->lock);
  if (name && !sbx_world_tenant(w, name)) {
    pthread_mutex_unlock(&w->lock);
    unknown_tenant(resp, name);
    return;
  }
  sbx_buf_puts(&b, "{\"tenants\":{");
  for (i = 0; i < w->n_tenants; i++) {
    struct sbx_tenant *t = w->list[i];

    if (name && strcmp(name, t->cfg.name) != 0)
      continue;
    if (!first)
      sbx_buf_putc(&b, ',');
    first = false;
    sbx_buf_json_str(&b, t->cfg.name);
    sbx_buf_putc(&b, ':');
    sbx_tenant_state_to_json(t, &b);
  }
  sbx_buf_printf(&b, "},\"tokens_live\":%zu}", w->tokens.count);
  pthread_mutex_unlock(&w->lock);
  sbx_response_buf(resp, 200, &b);
}

static void reset(struct sbx_world *w, struct sbx_request *req, struct sbx_response *resp)
{
  const char *name = sbx_request_query(req, "tenant");
  struct sbx_buf b;
  size_t i;

  if (!method(req, resp, "POST"))
    return;
  pthread_mutex_lock(&w->lock);
  if (name) {
    struct sbx_tenant *t = sbx_world_tenant(w, name);

    if (!t) {
      pthread_mutex_unlock(&w->lock);
      unknown_tenant(resp, name);
      return;
    }
    sbx_tenant_reset(t);
    sbx_tokens_drop(&w->tokens, t);
  } else {
    for (i = 0; i < w->n_tenants; i++)
      sbx_tenant_reset(w->list[i]);
    sbx_tokens_drop(&w->tokens, NULL);
  }
  pthread_mutex_unlock(&w->lock);
  sbx_reqlog_clear(w->log, name);
  sbx_buf_init(&b);
  sbx_buf_puts(&b, "{\"reset\":");
  sbx_buf_json_str(&b, name ? name : "*");
  sbx_buf_putc(&b, '}');
  sbx_response_buf(resp, 200, &b);
}

static void faults_json(struct sbx_world *w, const char *name, struct sbx_buf *b)
{
  int64_t now = sbx_wall_ms();
  size_t i;
  bool first = true;

  sbx_buf_puts(b, "{\"tenants\":{");
  for (i = 0; i < w->n_tenants; i++) {
    struct sbx_tenant *t = w->list[i];

    if (name && strcmp(name, t->cfg.name) != 0)
      continue;
    if (!first)
      sbx_buf_putc(b, ',');
    first = false;
    sbx_buf_json_str(b, t->cfg.name);
    sbx_buf_putc(b, ':');
    sbx_faults_to_json(&t->faults, now, b);
  }
  sbx_buf_puts(b, "}}");
}

static void faults(struct sbx_world *w, struct sbx_request *req, struct sbx_response *resp)
{
  const char *name = sbx_request_query(req, "tenant");
  struct sbx_tenant *t;
  json_object *o = NULL, *tv = NULL;
  struct sbx_buf b;
  char err[300];
  size_t i;

  if (!method(req, resp, "GET POST DELETE"))
    return;
  if (strcmp(req->method, "POST") == 0) {
    if (!(o = body_object(req, resp)))
      return;
    if (!json_object_object_get_ex(o, "tenant", &tv) ||
        !json_object_is_type(tv, json_type_string)) {
      error(resp, 400, "tenant: required (a string)");
      return;
    }
    name = json_object_get_string(tv);
  }
  sbx_buf_init(&b);
  pthread_mutex_lock(&w->lock);
  t = name ? sbx_world_tenant(w, name) : NULL;
  if (name && !t) {
    pthread_mutex_unlock(&w->lock);
    unknown_tenant(resp, name);
    return;
  }
  if (strcmp(req->method, "POST") == 0) {
    if (!sbx_faults_apply_json(&t->faults, o, sbx_wall_ms(), err, sizeof(err))) {
      pthread_mutex_unlock(&w->lock);
      error(resp, 400, err);
      return;
    }
  } else if (strcmp(req->method, "DELETE") == 0) {
    for (i = 0; i < w->n_tenants; i++)
      if (!t || w->list[i] == t)
        sbx_faults_clear(&w->list[i]->faults);
  }
  faults_json(w, name, &b);
  pthread_mutex_unlock(&w->lock);
  sbx_response_buf(resp, 200, &b);
}

static void tenants(struct sbx_world *w, struct sbx_request *req, struct sbx_response *resp)
{
  const char *name = sbx_request_query(req, "tenant");
  struct sbx_buf b, created, updated;
  json_object *o;
  char err[400];
  size_t i;
  bool removed;

  if (!method(req, resp, "GET POST DELETE"))
    return;
  sbx_buf_init(&b);
  if (strcmp(req->method, "GET") == 0) {
    sbx_buf_puts(&b, "{\"tenants\":[");
    pthread_mutex_lock(&w->lock);
    for (i = 0; i < w->n_tenants; i++) {
      if (i)
        sbx_buf_putc(&b, ',');
      sbx_tenant_config_to_json(&w->list[i]->cfg, &b);
    }
    pthread_mutex_unlock(&w->lock);
    sbx_buf_puts(&b, "]}");
    sbx_response_buf(resp, 200, &b);
    return;
  }
  if (strcmp(req->method, "DELETE") == 0) {
    if (!name) {
      error(resp, 400, "tenant: required (?tenant=NAME)");
      return;
    }
    pthread_mutex_lock(&w->lock);
    removed = sbx_world_remove_tenant(w, name);
    pthread_mutex_unlock(&w->lock);
    if (!removed) {
      unknown_tenant(resp, name);
      return;
    }
    sbx_reqlog_clear(w->log, name);
    sbx_response_empty(resp, 204);
    return;
  }
  if (!(o = body_object(req, resp)))
    return;
  sbx_buf_init(&created);
  sbx_buf_init(&updated);
  if (!sbx_world_apply_config(w, o, "body", &created, &updated, err, sizeof(err))) {
    error(resp, 400, err);
  } else {
    sbx_buf_puts(&b, "{\"created\":[");
    sbx_buf_append(&b, created.data ? created.data : "", created.len);
    sbx_buf_puts(&b, "],\"updated\":[");
    sbx_buf_append(&b, updated.data ? updated.data : "", updated.len);
    sbx_buf_puts(&b, "]}");
    sbx_response_buf(resp, created.len ? 201 : 200, &b);
  }
  sbx_buf_release(&created);
  sbx_buf_release(&updated);
  sbx_buf_release(&b);
}

static void expire_tokens(struct sbx_world *w, struct sbx_request *req, struct sbx_response *resp)
{
  const char *name = sbx_request_query(req, "tenant");
  struct sbx_tenant *t = NULL;
  struct sbx_buf b;
  size_t n;

  if (!method(req, resp, "POST"))
    return;
  pthread_mutex_lock(&w->lock);
  if (name && !(t = sbx_world_tenant(w, name))) {
    pthread_mutex_unlock(&w->lock);
    unknown_tenant(resp, name);
    return;
  }
  n = sbx_tokens_expire(&w->tokens, t, sbx_mono_ms());
  pthread_mutex_unlock(&w->lock);
  sbx_buf_init(&b);
  sbx_buf_printf(&b, "{\"expired\":%zu}", n);
  sbx_response_buf(resp, 200, &b);
}

void sbx_control_handle(struct sbx_world *w, struct sbx_request *req, struct sbx_response *resp)
{
  const char *p = req->path + strlen("/_sandbox");

  if (strcmp(p, "/health") == 0) {
    if (method(req, resp, "GET"))
      sbx_response_text(resp, 200, "{\"status\":\"ok\"}");
  } else if (strcmp(p, "/requests") == 0) {
    requests(w, req, resp);
  } else if (strcmp(p, "/state") == 0) {
    state(w, req, resp);
  } else if (strcmp(p, "/reset") == 0) {
    reset(w, req, resp);
  } else if (strcmp(p, "/faults") == 0) {
    faults(w, req, resp);
  } else if (strcmp(p, "/tenants") == 0) {
    tenants(w, req, resp);
  } else if (strcmp(p, "/tokens/expire") == 0) {
    expire_tokens(w, req, resp);
  } else {
    error(resp, 404, "no such control endpoint (see tests/sandbox/lms/README.md)");
  }
}
