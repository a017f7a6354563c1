/* The xAPI connector: completions as statements PUT to a Learning Record
 * Store (lb_map_xapi), authenticated by HTTP Basic or an OAuth2 client;
 * no catalog. A 409 (the LRS holds the statement id already) is a delivery
 * made before: the generic classification counts it as a repeat. */
#include "lb_conn_xapi.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lb_log.h"
#include "lb_map_xapi.h"
#include "lb_strbuf.h"
#include "lb_url.h"

static const char *const keys[] = { "endpoint",          "xapi_version", "auth",
                                    "username",          "password",     "actor",
                                    "account_home_page", "account_name", NULL };
static const char *const auths[] = { "basic", "oauth2", NULL };
#define WORD(e, word) word,
static const char *const versions[] = { LB_MAP_XAPI_VERSION_MAP(WORD) NULL };
static const char *const actors[] = { LB_MAP_XAPI_ACTOR_MAP(WORD) NULL };
static const char *const account_names[] = { LB_MAP_XAPI_ACCOUNT_NAME_MAP(WORD) NULL };
#undef WORD

/* What an xAPI integration keeps besides lb_integration (in->conn_data). */
typedef struct {
  lb_map_xapi_version version;
  lb_map_xapi_actor actor;
  lb_map_xapi_account_name account_name;
  char *account_home_page; /* actor "account" only */
} xapi_data;

/* Settings that go with one value of another (`with`) only. */
static void refuse_unless(lb_config_reader *r, const lb_config_group *g, const char *prefix,
                          const char *const *names, const char *with)
{
  for (const char *const *n = names; *n; n++)
    if (lb_config_has(g, *n))
      lb_config_fail(r, g, prefix, *n, "goes with %s only", with);
}

/* HTTP Basic: username (a literal or a reference), password (a
 * reference). The Authorization header the client will send is registered
 * for redaction too: an LRS echoing it must not show it in logs or dead
 * letters. */
static void load_basic(lb_config_reader *r, const lb_config_group *g, const char *prefix,
                       lb_integration *in)
{
  static const char *const oauth_only[] = { "client_id", "client_secret", "token_url", NULL };
  in->auth = LB_AUTH_BASIC;
  refuse_unless(r, g, prefix, oauth_only, "auth = \"oauth2\"");
  lb_config_take_credential(r, g, prefix, "username", false, false, &in->username,
                            &in->username_ref);
  lb_config_take_credential(r, g, prefix, "password", true, true, &in->password, &in->password_ref);
  if (!in->username || !in->password)
    return;
  lb_strbuf plain, b64;
  lb_strbuf_init(&plain, 0);
  lb_strbuf_init(&b64, 0);
  lb_strbuf_appendf(&plain, "%s:%s", in->username, in->password);
  if (plain.buf && lb_strbuf_append_base64(&b64, plain.buf, plain.len) == 0)
    lb_log_add_secret(b64.buf);
  lb_strbuf_release(&plain);
  lb_strbuf_release(&b64);
}

static void load(lb_config_reader *r, const lb_config_group *g, const char *prefix,
                 lb_integration *in, const lb_config_defaults *d)
{
  (void)d;
  xapi_data *x = calloc(1, sizeof(*x));
  if (!x) {
    lb_config_fail(r, g, prefix, "type", "out of memory");
    return;
  }
  in->conn_data = x;
  if (in->provider_level)
    lb_config_fail(r, g, prefix, "organization",
                   "\"*\" is for the provider-level Degreed integration; an xapi "
                   "integration takes one customer's completions");
  if (lb_config_has(g, "catalog"))
    lb_config_fail(r, g, prefix, "catalog", "xapi integrations take completions only");
  lb_config_take_str(r, g, prefix, "endpoint", true, &in->api_base_url);
  int v = lb_config_take_word(r, g, prefix, "xapi_version", "xAPI version", versions, 0);
  x->version = v < 0 ? LB_MAP_XAPI_V1_0_3 : (lb_map_xapi_version)v;
  if (lb_config_take_word(r, g, prefix, "auth", "auth", auths, 0) == 1) {
    static const char *const basic_only[] = { "username", "password", NULL };
    refuse_unless(r, g, prefix, basic_only, "auth = \"basic\"");
    lb_connector_take_oauth_client(r, g, prefix, in);
    if (!lb_config_has(g, "token_url"))
      lb_config_fail(r, g, prefix, "token_url", "missing required setting (auth = \"oauth2\")");
  } else {
    load_basic(r, g, prefix, in);
  }
  int a = lb_config_take_word(r, g, prefix, "actor", "actor", actors, 0);
  x->actor = a < 0 ? LB_MAP_XAPI_ACTOR_MBOX : (lb_map_xapi_actor)a;
  if (x->actor == LB_MAP_XAPI_ACTOR_ACCOUNT) {
    lb_config_take_str(r, g, prefix, "account_home_page", true, &x->account_home_page);
    if (x->account_home_page && !lb_url_is_https_link(x->account_home_page))
      lb_config_fail(r, g, prefix, "account_home_page", "\"%s\" must be an https URL",
                     x->account_home_page);
    int n = lb_config_take_word(r, g, prefix, "account_name", "account name", account_names, 0);
    x->account_name = n < 0 ? LB_MAP_XAPI_NAME_SSO_NAMEID : (lb_map_xapi_account_name)n;
  } else {
    static const char *const account_only[] = { "account_home_page", "account_name", NULL };
    refuse_unless(r, g, prefix, account_only, "actor = \"account\"");
  }
  in->user_identifier = x->actor == LB_MAP_XAPI_ACTOR_MBOX                 ? LB_UID_EMAIL
                        : x->account_name == LB_MAP_XAPI_NAME_LMS_USERNAME ? LB_UID_LMS_USERNAME
                                                                           : LB_UID_SSO_NAMEID;
  in->rate_limit_per_minute = 0;
}

static void check_provider(lb_config_reader *r, const lb_config_group *g, const lb_provider *pv)
{
  if (!pv->activity_iri_base)
    lb_config_fail(r, g, "provider", "activity_iri_base",
                   "is required when an xapi integration is configured");
  else if (!lb_url_is_https_link(pv->activity_iri_base))
    lb_config_fail(r, g, "provider", "activity_iri_base", "\"%s\" must be an https URL",
                   pv->activity_iri_base);
}

static void print(const lb_integration *in, FILE *out)
{
  const xapi_data *x = in->conn_data;
  fprintf(out, "  xapi_version: %s\n  actor: %s\n", lb_map_xapi_version_name(x->version),
          lb_map_xapi_actor_name(x->actor));
  if (x->actor == LB_MAP_XAPI_ACTOR_ACCOUNT)
    fprintf(out, "  account_home_page: %s\n  account_name: %s\n", x->account_home_page,
            lb_map_xapi_account_name_name(x->account_name));
}

static void release(lb_integration *in)
{
  xapi_data *x = in->conn_data;
  if (x)
    free(x->account_home_page);
  free(x);
  in->conn_data = NULL;
}

/* OAuth2 client credentials as RFC 6749 prefers: a form body, the client
 * as HTTP Basic. */
static lb_err token_request(const lb_integration *in, char **ret_body,
                            const char **ret_content_type, bool *ret_basic)
{
  (void)in;
  *ret_body = strdup("grant_type=client_credentials");
  *ret_content_type = "application/x-www-form-urlencoded";
  *ret_basic = true;
  return *ret_body ? LB_E_OK : LB_E_NOMEM;
}

static lb_err map_completion(const lb_completion_event *ev, const lb_integration *in,
                             const lb_provider *pv, int64_t now_ms, lb_request_list *out,
                             const char **skip_reason)
{
  const xapi_data *x = in->conn_data;
  if (!x)
    return LB_E_INVALID;
  lb_map_xapi_options opt = {
    .integration_id = in->id,
    .endpoint = in->api_base_url,
    .version = x->version,
    .actor = x->actor,
    .account_home_page = x->account_home_page,
    .account_name = x->account_name,
    .platform = pv->code,
    .activity_iri_base = pv->activity_iri_base,
  };
  lb_map_xapi_request req;
  lb_map_xapi_request_init(&req);
  lb_err rc = lb_map_xapi_completion(ev, &opt, now_ms, &req, skip_reason);
  if (rc != LB_E_OK || *skip_reason)
    goto out;
  rc = lb_request_list_add(out, LB_STEP_COMPLETION, LB_PUT, req.url, req.body, req.key);
  /* every request with a body carries Content-Type: application/json */
  for (size_t i = 0; rc == LB_E_OK && i < req.nheaders; i++)
    if (strncasecmp(req.headers[i], "Content-Type:", 13) != 0)
      rc = lb_request_list_add_header(out, req.headers[i]);
out:
  lb_map_xapi_request_release(&req);
  return rc;
}

const lb_connector lb_conn_xapi = {
  .name = "xapi",
  .type = LB_INTEG_XAPI,
  .keys = keys,
  .load = load,
  .endpoint_key = "endpoint",
  .check_provider = check_provider,
  .print = print,
  .release = release,
  .token_request = token_request,
  .map_completion = map_completion,
};
