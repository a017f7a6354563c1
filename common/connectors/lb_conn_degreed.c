/* The Degreed API v2 connector: settings, OAuth2 form token requests, the
 * mapping of lb_map_degreed, and the upsert chain's ids (a create's
 * data.id, a lookup's data[0].id, bound into the update). */
#include "lb_conn_degreed.h"

#include <stdlib.h>
#include <string.h>

#include "lb_json.h"
#include "lb_map_degreed.h"
#include "lb_strbuf.h"
#include "lb_url.h"

static const char *const keys[] = { "datacenter",    "api_base_url",       "scopes",
                                    "skill_ratings", "skill_ratings_path", NULL };
static const char *const datacenters[] = { "us", "eu", "ca", NULL };
static const char *const api_hosts[] = { "https://api.degreed.com", "https://api.eu.degreed.com",
                                         "https://api.ca.degreed.com" };
static const char *const token_urls[] = { "https://degreed.com/oauth/token",
                                          "https://eu.degreed.com/oauth/token",
                                          "https://ca.degreed.com/oauth/token" };

static void load(lb_config_reader *r, const lb_config_group *g, const char *prefix,
                 lb_integration *in, const lb_config_defaults *d)
{
  lb_connector_take_oauth_client(r, g, prefix, in);
  int dc = lb_config_take_word(r, g, prefix, "datacenter", "datacenter", datacenters, LB_DC_US);
  in->datacenter = dc < 0 ? LB_DC_US : (lb_datacenter)dc;
  in->api_base_url = lb_config_dup(r, api_hosts[in->datacenter]);
  in->token_url = lb_config_dup(r, token_urls[in->datacenter]);
  lb_config_take_str(r, g, prefix, "api_base_url", false, &in->api_base_url);
  in->skill_ratings = true;
  lb_config_take_bool(r, g, prefix, "skill_ratings", &in->skill_ratings);
  lb_strbuf scopes;
  lb_strbuf_init(&scopes, 0);
  lb_strbuf_append(&scopes, d->default_scopes);
  if (in->skill_ratings && d->skill_ratings_scope)
    lb_strbuf_appendf(&scopes, ",%s", d->skill_ratings_scope);
  in->scopes = lb_strbuf_detach(&scopes);
  lb_config_take_str(r, g, prefix, "scopes", false, &in->scopes);
  in->skill_ratings_path = lb_config_dup(r, "/api/v2/skill-ratings");
  lb_config_take_str(r, g, prefix, "skill_ratings_path", false, &in->skill_ratings_path);
  if (in->skill_ratings_path && in->skill_ratings_path[0] != '/')
    lb_config_fail(r, g, prefix, "skill_ratings_path", "must start with '/'");
  in->rate_limit_per_minute = 70;
  in->user_identifier = LB_UID_EMAIL;
}

static void print(const lb_integration *in, FILE *out)
{
  fprintf(out, "  datacenter: %s\n  scopes: %s\n  user_identifier: %s\n",
          datacenters[in->datacenter], in->scopes, lb_user_id_kind_name(in->user_identifier));
  fprintf(out, "  skill_ratings: %s (%s)\n", in->skill_ratings ? "true" : "false",
          in->skill_ratings_path);
}

/* Form body with the client and its comma-separated scopes. */
static lb_err token_request(const lb_integration *in, char **ret_body,
                            const char **ret_content_type, bool *ret_basic)
{
  lb_strbuf b;
  lb_strbuf_init(&b, 0);
  lb_strbuf_append(&b, "grant_type=client_credentials&client_id=");
  lb_url_append_encoded(&b, in->client_id);
  lb_strbuf_append(&b, "&client_secret=");
  lb_url_append_encoded(&b, in->client_secret);
  lb_strbuf_append(&b, "&scope=");
  lb_url_append_encoded(&b, in->scopes ? in->scopes : "");
  if (b.overflow) {
    lb_strbuf_release(&b);
    return LB_E_NOMEM;
  }
  *ret_body = lb_strbuf_detach(&b);
  *ret_content_type = "application/x-www-form-urlencoded";
  *ret_basic = false;
  return *ret_body ? LB_E_OK : LB_E_NOMEM;
}

/* data.id (a create) or data[0].id (a lookup); NULL when absent. */
static char *response_id(lb_step step, const char *body, size_t len)
{
  json_object *root = NULL, *data, *item, *id;
  char err[64], *out = NULL;
  if ((step != LB_STEP_CREATE && step != LB_STEP_LOOKUP) ||
      lb_json_parse(body, len, &root, err, sizeof(err)) != LB_E_OK)
    return NULL;
  if (json_object_object_get_ex(root, "data", &data)) {
    item = data;
    if (step == LB_STEP_LOOKUP)
      item = json_object_is_type(data, json_type_array) && json_object_array_length(data) > 0
                 ? json_object_array_get_idx(data, 0)
                 : NULL;
    /* an id hiding a NUL is none: cut there, it would be bound as "" */
    if (item && json_object_object_get_ex(item, "id", &id) &&
        json_object_is_type(id, json_type_string) && json_object_get_string_len(id) > 0 &&
        strlen(json_object_get_string(id)) == (size_t)json_object_get_string_len(id))
      out = strdup(json_object_get_string(id));
  }
  json_object_put(root);
  return out;
}

/* An update is sent for the Degreed id learned or remembered. */
static lb_err prepare(const lb_request *req, const char *lms_id, char **ret_url, char **ret_body)
{
  if (req->step != LB_STEP_UPDATE)
    return LB_E_OK;
  if (!lms_id)
    return LB_E_INVALID;
  return lb_map_degreed_bind_id(req, lms_id, ret_url, ret_body);
}

/* Degreed asks to retry a 503 "30-120 seconds later". */
#define DEGREED_503_MIN_MS 30000

static void classify(lb_step step, int status, const char *body, size_t len, lb_verdict *v)
{
  (void)step;
  (void)body;
  (void)len;
  if (status == 503 && v->outcome == LB_OUT_RETRY && v->min_delay_ms < DEGREED_503_MIN_MS)
    v->min_delay_ms = DEGREED_503_MIN_MS;
}

const lb_connector lb_conn_degreed = {
  .name = "degreed",
  .type = LB_INTEG_DEGREED,
  .keys = keys,
  .load = load,
  .endpoint_key = "api_base_url",
  .print = print,
  .token_request = token_request,
  .map_catalog = lb_map_degreed_content,
  .map_completion = lb_map_degreed_completion,
  .classify = classify,
  .response_id = response_id,
  .prepare = prepare,
};
