/* sbx_request: one HTTP request as the handlers see it, and the response
 * they fill in. Independent of libmicrohttpd (sbx_http does the glue). */
#ifndef SBX_REQUEST_H
#define SBX_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "sbx_util.h"

/* Which API a request belongs to; bit values so faults can select sets. */
enum sbx_api {
  SBX_API_NONE = 0,
  SBX_API_DEGREED = 1,       /* Degreed /api/v2/... */
  SBX_API_SF = 2,            /* SuccessFactors /learning/odatav4/... */
  SBX_API_DEGREED_TOKEN = 4, /* Degreed /oauth/token */
  SBX_API_SF_TOKEN = 8,      /* SuccessFactors /learning/oauth-api/... */
  SBX_API_CONTROL = 16,      /* /_sandbox/... */
  SBX_API_XAPI = 32,         /* xAPI LRS /xapi/... */
  SBX_API_XAPI_TOKEN = 64,   /* /oauth/token asked by an xAPI client */
};
#define SBX_API_TOKENS (SBX_API_DEGREED_TOKEN | SBX_API_SF_TOKEN | SBX_API_XAPI_TOKEN)
#define SBX_API_ALL (SBX_API_DEGREED | SBX_API_SF | SBX_API_XAPI | SBX_API_TOKENS)

const char *sbx_api_name(enum sbx_api api);

#define SBX_TENANT_NAME_MAX 64

struct sbx_request {
  char method[16];
  char *raw_uri;      /* as received, including the query */
  char *path;         /* percent-decoded path without the query */
  char *query_string; /* raw text after '?', "" when none */
  struct sbx_kv *query;
  size_t n_query;

  /* Selected headers (new strings or NULL). */
  char *host;
  char *authorization;
  char *content_type;
  char *accept;
  char *user_agent;
  char *org_code;     /* X-Degreed-Organization-Code */
  char *request_id;   /* X-Request-Id */
  char *app_key;      /* Application-Interface-Key: logged as redacted */
  char *xapi_version; /* X-Experience-API-Version */
  bool has_content_length;
  uint64_t content_length;

  char *body;
  size_t body_len;
  bool body_too_large;

  /* Parsed JSON body (strict), set by sbx_request_parse_json. */
  json_object *json;
  bool json_parsed;
  char json_error[160];

  int64_t received_wall_ms;
  uint64_t received_mono_ms;

  /* Routing. */
  enum sbx_api api;
  char tenant[SBX_TENANT_NAME_MAX + 1];
  const char *sub_path; /* path after /t/<tenant>, points into path */

  /* Set by handlers for the request log. */
  bool token_checked; /* token_id is known (0: not a token of ours) */
  uint64_t token_id;
  const char *fault; /* static name of the fault applied, or NULL */
  uint32_t delay_ms;
};

#define SBX_MAX_RESPONSE_HEADERS 10

struct sbx_response {
  int status; /* 0: close the connection without a response */
  char *body; /* new; may be NULL for an empty body */
  size_t body_len;
  const char *content_type; /* static */
  /* hostile answers (sbx_faults): instead of body, stream_bytes generated
   * bytes (a JSON-looking start, then spaces); or body cut after half its
   * bytes, the connection closed */
  uint64_t stream_bytes;
  bool cut_half;
  size_t n_headers;
  struct {
    char name[40];
    char value[320];
  } headers[SBX_MAX_RESPONSE_HEADERS];
};

void sbx_request_init(struct sbx_request *req);
void sbx_request_release(struct sbx_request *req);
/* Splits raw_uri into path, query_string and query. False when the path
 * has a malformed escape. */
bool sbx_request_set_uri(struct sbx_request *req, const char *raw_uri);
const char *sbx_request_query(const struct sbx_request *req, const char *key);
/* Parses the body as strict JSON once; returns req->json (borrowed) or
 * NULL with req->json_error set. */
json_object *sbx_request_parse_json(struct sbx_request *req);
/* True when Content-Type is application/json (or +json), any params. */
bool sbx_request_is_json(const struct sbx_request *req);

void sbx_response_init(struct sbx_response *resp);
void sbx_response_release(struct sbx_response *resp);
void sbx_response_header(struct sbx_response *resp, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sets status and body; the buffer's data is taken (b is emptied). */
void sbx_response_buf(struct sbx_response *resp, int status, struct sbx_buf *b);
void sbx_response_text(struct sbx_response *resp, int status, const char *json);
void sbx_response_empty(struct sbx_response *resp, int status);

/* Error bodies in the dialects of the sandbox (xAPI's: sbx_xapi.h). */
void sbx_jsonapi_error(struct sbx_response *resp, int status, const char *code, const char *title,
                       const char *detail, const char *source);
void sbx_odata_error(struct sbx_response *resp, int status, const char *code, const char *message);
void sbx_oauth_error(struct sbx_response *resp, int status, const char *error,
                     const char *description);

/* HTTP Basic credentials of req (Authorization: Basic base64(id:secret)),
 * split in place into *ret_id and *ret_secret; returns the decoded text to
 * free (both point into it), or NULL when there are none or no ':'. */
char *sbx_request_basic(const struct sbx_request *req, const char **ret_id,
                        const char **ret_secret);

/* Token endpoints (OAuth2 client credentials, RFC 6749 4.4). False after
 * answering 405 with Allow: POST when req is not a POST. */
bool sbx_oauth_require_post(const struct sbx_request *req, struct sbx_response *resp);
/* A token request's application/x-www-form-urlencoded body: true with the
 * parameters in *ret_kv (*ret_n of them; free with sbx_kv_free); false,
 * with nothing to free, after answering 400 when the body is not a form or
 * a parameter named in single (NULL-terminated) is given more than once. */
bool sbx_oauth_form(const struct sbx_request *req, struct sbx_response *resp,
                    const char *const *single, struct sbx_kv **ret_kv, size_t *ret_n);

#endif
