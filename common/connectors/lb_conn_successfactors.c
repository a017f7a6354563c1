/* The SuccessFactors OCN connector: settings, the OAuth2 token request
 * (JSON scope, the client as HTTP Basic), the mapping of lb_map_ocn, and
 * its batching policy: catalog courses are coalesced per courseID into
 * OcnCourses POSTs of at most batch_size, min_post_interval_s apart. */
#include "lb_conn_successfactors.h"

#include <stdlib.h>
#include <string.h>

#include "lb_json.h"
#include "lb_map_ocn.h"
#include "lb_strbuf.h"

static const char *const keys[] = {
  "base_url",   "company_id",      "admin_user",          "user_identifier",
  "batch_size", "batch_linger_ms", "min_post_interval_s", NULL
};
/* user_identifier words, and the kinds they name */
static const char *const identifiers[] = { "sso_nameid", "email", "lms_username", NULL };
static const lb_user_id_kind identifier_kinds[] = { LB_UID_SSO_NAMEID, LB_UID_EMAIL,
                                                    LB_UID_LMS_USERNAME };

static void load(lb_config_reader *r, const lb_config_group *g, const char *prefix,
                 lb_integration *in, const lb_config_defaults *d)
{
  (void)d;
  lb_connector_take_oauth_client(r, g, prefix, in);
  if (in->provider_level)
    lb_config_fail(r, g, prefix, "organization",
                   "\"*\" is for the provider-level Degreed integration; a "
                   "SuccessFactors integration belongs to one customer");
  lb_config_take_str(r, g, prefix, "base_url", true, &in->api_base_url);
  lb_config_take_str(r, g, prefix, "company_id", true, &in->company_id);
  lb_config_take_str(r, g, prefix, "admin_user", true, &in->admin_user);
  int uid = lb_config_take_word(r, g, prefix, "user_identifier", "identifier", identifiers, 0);
  in->user_identifier = identifier_kinds[uid < 0 ? 0 : uid];
  in->batch_size = 500;
  in->batch_linger_ms = 2000;
  in->min_post_interval_s = 300;
  lb_config_take_int(r, g, prefix, "batch_size", 1, 1000, &in->batch_size);
  lb_config_take_int(r, g, prefix, "batch_linger_ms", 0, 3600000, &in->batch_linger_ms);
  lb_config_take_int(r, g, prefix, "min_post_interval_s", 0, 86400, &in->min_post_interval_s);
  in->rate_limit_per_minute = 0;
  if (in->api_base_url) {
    lb_strbuf b;
    lb_config_strip_slash(in->api_base_url);
    lb_strbuf_init(&b, 0);
    lb_strbuf_appendf(&b, "%s/learning/oauth-api/rest/v1/token", in->api_base_url);
    in->token_url = lb_strbuf_detach(&b);
  }
}

static void check_provider(lb_config_reader *r, const lb_config_group *g, const lb_provider *pv)
{
  if (!pv->ocn_provider_id)
    lb_config_fail(r, g, "provider", "ocn_provider_id",
                   "is required when a successfactors integration is configured");
}

static void print(const lb_integration *in, FILE *out)
{
  fprintf(out,
          "  user_identifier: %s\n  company_id: %s\n  admin_user: %s\n  batch_size: %d\n"
          "  batch_linger_ms: %d\n  min_post_interval_s: %d\n",
          lb_user_id_kind_name(in->user_identifier), in->company_id, in->admin_user, in->batch_size,
          in->batch_linger_ms, in->min_post_interval_s);
}

/* JSON body with the admin scope; the client goes as HTTP Basic. */
static lb_err token_request(const lb_integration *in, char **ret_body,
                            const char **ret_content_type, bool *ret_basic)
{
  json_object *root = json_object_new_object();
  json_object *scope = json_object_new_object();
  if (!root || !scope) {
    json_object_put(root);
    json_object_put(scope);
    return LB_E_NOMEM;
  }
  json_object_object_add(root, "grant_type", json_object_new_string("client_credentials"));
  json_object_object_add(scope, "userId", json_object_new_string(in->admin_user));
  json_object_object_add(scope, "companyId", json_object_new_string(in->company_id));
  json_object_object_add(scope, "userType", json_object_new_string("admin"));
  json_object_object_add(scope, "resourceType", json_object_new_string("learning_public_api"));
  json_object_object_add(root, "scope", scope);
  *ret_body = strdup(lb_json_text(root));
  json_object_put(root);
  *ret_content_type = "application/json";
  *ret_basic = true;
  return *ret_body ? LB_E_OK : LB_E_NOMEM;
}

#define BATCH_PREFIX "{\"ocnCourses\":"

/* A course sent on its own travels as a batch of one; a batch goes as it
 * is. */
static lb_err prepare(const lb_request *req, const char *lms_id, char **ret_url, char **ret_body)
{
  (void)lms_id;
  (void)ret_url;
  if (req->step != LB_STEP_OCN_COURSE || !req->body ||
      strncmp(req->body, BATCH_PREFIX, strlen(BATCH_PREFIX)) == 0)
    return LB_E_OK;
  const char *one[] = { req->body };
  return lb_map_ocn_batch(one, 1, ret_body);
}

static void batch_limits(const lb_integration *in, lb_batch_limits *ret)
{
  *ret = (lb_batch_limits){ .max_items = (size_t)in->batch_size,
                            .linger_ms = in->batch_linger_ms,
                            .min_interval_ms = (int64_t)in->min_post_interval_s * 1000 };
}

static const lb_connector_batching batching = {
  .step = LB_STEP_OCN_COURSE,
  .note = "batched with other courses of this integration, up to batch_size",
  .limits = batch_limits,
  .join = lb_map_ocn_batch,
};

/* SAP answers a request made with an expired token with a 4xx (not 408 or
 * 429) whose body says so: a new token, as for a 401. */
static void classify(lb_step step, int status, const char *body, size_t len, lb_verdict *v)
{
  (void)step;
  if (v->outcome == LB_OUT_PERMANENT && status >= 400 && status < 500 &&
      lb_strbuf_contains_nocase(body, len, "token has expired"))
    *v = (lb_verdict){ LB_OUT_AUTH, 0, "token has expired" };
}

const lb_connector lb_conn_successfactors = {
  .name = "successfactors",
  .type = LB_INTEG_SUCCESSFACTORS,
  .keys = keys,
  .load = load,
  .endpoint_key = "base_url",
  .check_provider = check_provider,
  .print = print,
  .token_request = token_request,
  .map_catalog = lb_map_ocn_course,
  .map_completion = lb_map_ocn_learning_event,
  .classify = classify,
  .prepare = prepare,
  .batching = &batching,
};
