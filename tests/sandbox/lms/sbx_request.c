#include "sbx_request.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *sbx_api_name(enum sbx_api api)
{
  switch (api) {
  case SBX_API_DEGREED:
    return "degreed";
  case SBX_API_SF:
    return "sf";
  case SBX_API_DEGREED_TOKEN:
    return "degreed_token";
  case SBX_API_SF_TOKEN:
    return "sf_token";
  case SBX_API_CONTROL:
    return "control";
  case SBX_API_XAPI:
    return "xapi";
  case SBX_API_XAPI_TOKEN:
    return "xapi_token";
  case SBX_API_NONE:
    break;
  }
  return "unknown";
}

void sbx_request_init(struct sbx_request *req)
{
  memset(req, 0, sizeof(*req));
}

void sbx_request_release(struct sbx_request *req)
{
  free(req->raw_uri);
  free(req->path);
  free(req->query_string);
  sbx_kv_free(req->query, req->n_query);
  free(req->host);
  free(req->authorization);
  free(req->content_type);
  free(req->accept);
  free(req->user_agent);
  free(req->org_code);
  free(req->request_id);
  free(req->app_key);
  free(req->xapi_version);
  free(req->body);
  if (req->json)
    json_object_put(req->json);
  memset(req, 0, sizeof(*req));
}

bool sbx_request_set_uri(struct sbx_request *req, const char *raw_uri)
{
  const char *q = strchr(raw_uri, '?');
  size_t plen = q ? (size_t)(q - raw_uri) : strlen(raw_uri);

  req->raw_uri = sbx_xstrdup(raw_uri);
  req->query_string = sbx_xstrdup(q ? q + 1 : "");
  req->n_query = sbx_parse_form(req->query_string, strlen(req->query_string), &req->query);
  req->path = sbx_url_decode(raw_uri, plen, false);
  if (!req->path) {
    req->path = sbx_xstrndup(raw_uri, plen);
    return false;
  }
  return true;
}

const char *sbx_request_query(const struct sbx_request *req, const char *key)
{
  return sbx_kv_get(req->query, req->n_query, key, NULL);
}

json_object *sbx_request_parse_json(struct sbx_request *req)
{
  struct json_tokener *tok;
  enum json_tokener_error jerr;
  size_t end;

  if (req->json_parsed)
    return req->json;
  req->json_parsed = true;
  if (!req->body || req->body_len == 0) {
    snprintf(req->json_error, sizeof(req->json_error), "request body is empty");
    return NULL;
  }
  if (memchr(req->body, '\0', req->body_len)) {
    snprintf(req->json_error, sizeof(req->json_error), "request body contains a NUL byte");
    return NULL;
  }
  if (req->body_len > (size_t)INT32_MAX) {
    snprintf(req->json_error, sizeof(req->json_error), "request body too large");
    return NULL;
  }
  tok = json_tokener_new_ex(256);
  if (!tok) {
    snprintf(req->json_error, sizeof(req->json_error), "out of memory");
    return NULL;
  }
  json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8 |
                                  JSON_TOKENER_ALLOW_TRAILING_CHARS);
  req->json = json_tokener_parse_ex(tok, req->body, (int)req->body_len);
  jerr = json_tokener_get_error(tok);
  end = json_tokener_get_parse_end(tok);
  if (jerr == json_tokener_continue) {
    /* A bare number needs an end marker; anything else is cut. */
    req->json = json_tokener_parse_ex(tok, "", 1);
    jerr = json_tokener_get_error(tok);
    end = req->body_len;
  }
  if (jerr != json_tokener_success || !req->json) {
    snprintf(req->json_error, sizeof(req->json_error), "malformed JSON body: %s at offset %zu",
             json_tokener_error_desc(jerr), end);
    if (req->json) {
      json_object_put(req->json);
      req->json = NULL;
    }
  } else {
    for (; end < req->body_len; end++) {
      char c = req->body[end];

      if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
        snprintf(req->json_error, sizeof(req->json_error),
                 "malformed JSON body: trailing data at offset %zu", end);
        json_object_put(req->json);
        req->json = NULL;
        break;
      }
    }
  }
  json_tokener_free(tok);
  return req->json;
}

bool sbx_request_is_json(const struct sbx_request *req)
{
  const char *ct = req->content_type;
  const char *semi;
  size_t n;

  if (!ct)
    return false;
  while (*ct == ' ')
    ct++;
  semi = strchr(ct, ';');
  n = semi ? (size_t)(semi - ct) : strlen(ct);
  while (n > 0 && ct[n - 1] == ' ')
    n--;
  if (n == strlen("application/json") && strncasecmp(ct, "application/json", n) == 0)
    return true;
  if (n == strlen("application/vnd.api+json") &&
      strncasecmp(ct, "application/vnd.api+json", n) == 0)
    return true;
  return false;
}

void sbx_response_init(struct sbx_response *resp)
{
  memset(resp, 0, sizeof(*resp));
  resp->status = 500;
  resp->content_type = "application/json";
}

void sbx_response_release(struct sbx_response *resp)
{
  free(resp->body);
  memset(resp, 0, sizeof(*resp));
}

void sbx_response_header(struct sbx_response *resp, const char *name, const char *fmt, ...)
{
  va_list ap;
  size_t i;

  for (i = 0; i < resp->n_headers; i++)
    if (strcasecmp(resp->headers[i].name, name) == 0)
      break;
  if (i == SBX_MAX_RESPONSE_HEADERS)
    return;
  if (i == resp->n_headers)
    resp->n_headers++;
  snprintf(resp->headers[i].name, sizeof(resp->headers[i].name), "%s", name);
  va_start(ap, fmt);
  vsnprintf(resp->headers[i].value, sizeof(resp->headers[i].value), fmt, ap);
  va_end(ap);
}

void sbx_response_buf(struct sbx_response *resp, int status, struct sbx_buf *b)
{
  free(resp->body);
  resp->status = status;
  resp->body = sbx_buf_steal(b, &resp->body_len);
}

void sbx_response_text(struct sbx_response *resp, int status, const char *json)
{
  free(resp->body);
  resp->status = status;
  resp->body = sbx_xstrdup(json);
  resp->body_len = strlen(json);
}

void sbx_response_empty(struct sbx_response *resp, int status)
{
  free(resp->body);
  resp->status = status;
  resp->body = NULL;
  resp->body_len = 0;
}

static const char *status_title(int status)
{
  switch (status) {
  case 400:
    return "Bad Request";
  case 401:
    return "Unauthorized";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 406:
    return "Not Acceptable";
  case 409:
    return "Conflict";
  case 410:
    return "Gone";
  case 413:
    return "Payload Too Large";
  case 415:
    return "Unsupported Media Type";
  case 429:
    return "Too Many Requests";
  case 500:
    return "Internal Server Error";
  case 502:
    return "Bad Gateway";
  case 503:
    return "Service Unavailable";
  case 504:
    return "Gateway Timeout";
  case 507:
    return "Insufficient Storage";
  }
  return status < 500 ? "Client Error" : "Server Error";
}

void sbx_jsonapi_error(struct sbx_response *resp, int status, const char *code, const char *title,
                       const char *detail, const char *source)
{
  struct sbx_buf b;
  char id[40];

  sbx_uuid4(id);
  sbx_buf_init(&b);
  sbx_buf_puts(&b, "{\"errors\":[{\"id\":");
  sbx_buf_json_str(&b, id);
  sbx_buf_puts(&b, ",\"code\":");
  sbx_buf_json_str(&b, code);
  sbx_buf_printf(&b, ",\"status\":%d,\"title\":", status);
  sbx_buf_json_str(&b, title ? title : status_title(status));
  sbx_buf_puts(&b, ",\"detail\":");
  sbx_buf_json_str(&b, detail);
  if (source) {
    sbx_buf_puts(&b, ",\"source\":");
    sbx_buf_json_str(&b, source);
  }
  sbx_buf_puts(&b, "}]}");
  sbx_response_buf(resp, status, &b);
}

void sbx_odata_error(struct sbx_response *resp, int status, const char *code, const char *message)
{
  struct sbx_buf b;

  sbx_buf_init(&b);
  sbx_buf_puts(&b, "{\"error\":{\"code\":");
  sbx_buf_json_str(&b, code);
  sbx_buf_puts(&b, ",\"message\":");
  sbx_buf_json_str(&b, message);
  sbx_buf_puts(&b, "}}");
  sbx_response_buf(resp, status, &b);
}

void sbx_oauth_error(struct sbx_response *resp, int status, const char *error,
                     const char *description)
{
  struct sbx_buf b;

  sbx_buf_init(&b);
  sbx_buf_puts(&b, "{\"error\":");
  sbx_buf_json_str(&b, error);
  sbx_buf_puts(&b, ",\"error_description\":");
  sbx_buf_json_str(&b, description);
  sbx_buf_puts(&b, "}");
  sbx_response_buf(resp, status, &b);
}

char *sbx_request_basic(const struct sbx_request *req, const char **ret_id, const char **ret_secret)
{
  const char *p = req->authorization;
  char *plain, *colon;

  if (!p || !sbx_starts_with_ci(p, "Basic "))
    return NULL;
  for (p += 6; *p == ' '; p++)
    ;
  plain = sbx_base64_decode(p);
  colon = plain ? strchr(plain, ':') : NULL;
  if (!colon) {
    free(plain);
    return NULL;
  }
  *colon = '\0';
  *ret_id = plain;
  *ret_secret = colon + 1;
  return plain;
}

bool sbx_oauth_require_post(const struct sbx_request *req, struct sbx_response *resp)
{
  if (strcmp(req->method, "POST") == 0)
    return true;
  sbx_response_header(resp, "Allow", "POST");
  sbx_oauth_error(resp, 405, "invalid_request", "use POST for the token request");
  return false;
}

bool sbx_oauth_form(const struct sbx_request *req, struct sbx_response *resp,
                    const char *const *single, struct sbx_kv **ret_kv, size_t *ret_n)
{
  struct sbx_kv *kv = NULL;
  size_t n, i, count;
  char msg[320];

  *ret_kv = NULL;
  *ret_n = 0;
  if (!req->content_type ||
      !sbx_starts_with_ci(req->content_type, "application/x-www-form-urlencoded")) {
    sbx_oauth_error(resp, 400, "invalid_request",
                    "the token request must be application/x-www-form-urlencoded");
    return false;
  }
  n = sbx_parse_form(req->body ? req->body : "", req->body_len, &kv);
  for (i = 0; single[i]; i++) {
    sbx_kv_get(kv, n, single[i], &count);
    if (count > 1) {
      snprintf(msg, sizeof(msg), "parameter '%s' given more than once", single[i]);
      sbx_oauth_error(resp, 400, "invalid_request", msg);
      sbx_kv_free(kv, n);
      return false;
    }
  }
  *ret_kv = kv;
  *ret_n = n;
  return true;
}
