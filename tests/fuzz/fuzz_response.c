/* Fuzz target response: an LMS's answer (status and body) through what the
 * delivery client and the token cache make of it: every connector's
 * verdict (lb_connector_classify: Degreed, SuccessFactors/OCN, xAPI), the
 * LMS id a connector reads from it (Degreed: data.id, data[0].id) and
 * binds into the next request (a PATCH planned by the catalog planner for
 * tests/fuzz/plan.conf), and the OAuth token response (lb_tokens_parse).
 *
 * Input: the step (first byte, modulo the six steps), the status (next
 * two bytes, big-endian, modulo 600; under 100 stands for no response),
 * then the body.
 *
 * Besides not crashing:
 * - a verdict has a reason and a known outcome, waits at most
 *   LB_SERVER_PAUSE_MAX_MS; 2xx is a success (a retry when its body is an
 *   HTML page: '<' first after white space), no response or 5xx a retry,
 *   401 a new token, 3xx permanent (redirects are not followed), a
 *   conflict only answers a create and a stale id only an update;
 * - an id is not empty; bound into the update, it is percent-encoded
 *   between the URL's fixed parts (it cannot leave its path segment) and
 *   is the body's data.id;
 * - a token is a non-empty RFC 6750 b64token (it goes into a header) that
 *   lives 1 s to 400 days; a refused token response says why without
 *   quoting the token. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "lb_classify.h"
#include "lb_connector.h"
#include "lb_json.h"
#include "lb_plan.h"
#include "lb_tokens.h"

#define NOW_MS 1800000000000

/* PATCH requests of Degreed integrations, one without and one with a path
 * prefix in api_base_url, planned once. */
static lb_plan plan;
static const lb_request *updates[2];
static size_t nupdates;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  static const char event[] =
      "{\"schema\":\"catalog.v1\",\"event_id\":\"e-1\",\"event_type\":\"content.upserted\","
      "\"occurred_at\":\"2026-01-02T03:04:05Z\",\"version\":3,\"content\":{\"id\":\"py-101\","
      "\"type\":\"course\",\"title\":\"Python\",\"description\":\"D\","
      "\"url\":\"https://www.datacamp.com/courses/py-101\"}}";
  const lb_config *cfg = fz_plan_config(&lb_worker_catalog);
  FZ_CHECK(lb_plan_catalog(cfg, event, strlen(event), NOW_MS, &plan) == LB_E_OK &&
               !plan.dead_letter,
           "planning the seed event");
  for (size_t i = 0; i < plan.n; i++)
    for (size_t j = 0; j < plan.items[i].requests.n && nupdates < 2; j++)
      if (plan.items[i].integration->type == LB_INTEG_DEGREED &&
          plan.items[i].requests.items[j].step == LB_STEP_UPDATE)
        updates[nupdates++] = &plan.items[i].requests.items[j];
  FZ_CHECK(nupdates == 2, "%zu Degreed updates planned", nupdates);
  return 0;
}

/* Whether the body is an HTML page: '<' first after white space. */
static bool markup(const char *body, size_t len)
{
  size_t i = 0;
  while (i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n'))
    i++;
  return i < len && body[i] == '<';
}

static void check_verdict(const lb_connector *k, lb_step step, int status, const char *body,
                          size_t len, lb_verdict v)
{
  FZ_CHECK(v.why && v.why[0], "%s: a verdict without why", k->name);
  FZ_CHECK(v.outcome >= LB_OUT_SUCCESS && v.outcome <= LB_OUT_PERMANENT, "%s: outcome %d", k->name,
           (int)v.outcome);
  FZ_CHECK(v.min_delay_ms >= 0 && v.min_delay_ms <= LB_SERVER_PAUSE_MAX_MS, "%s: waits %lld ms",
           k->name, (long long)v.min_delay_ms);
  const char *o = lb_outcome_name(v.outcome);
  if (status >= 200 && status < 300)
    FZ_CHECK(v.outcome == (markup(body, len) ? LB_OUT_RETRY : LB_OUT_SUCCESS), "%s: %d is %s",
             k->name, status, o);
  if (status == 0 || status >= 500)
    FZ_CHECK(v.outcome == LB_OUT_RETRY, "%s: %d is %s", k->name, status, o);
  if (status == 401)
    FZ_CHECK(v.outcome == LB_OUT_AUTH, "%s: 401 is %s", k->name, o);
  if (status >= 300 && status < 400)
    FZ_CHECK(v.outcome == LB_OUT_PERMANENT, "%s: %d is %s", k->name, status, o);
  FZ_CHECK(v.outcome != LB_OUT_CONFLICT || step == LB_STEP_CREATE, "%s: a conflict on %s", k->name,
           lb_step_name(step));
  FZ_CHECK(v.outcome != LB_OUT_STALE_ID || step == LB_STEP_UPDATE, "%s: a stale id on %s", k->name,
           lb_step_name(step));
}

static bool unreserved(int c)
{
  return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* The id bound into each planned update. */
static void check_bound(const lb_connector *k, const char *id)
{
  for (size_t u = 0; u < nupdates; u++) {
    const lb_request *req = updates[u];
    char *url = NULL, *body = NULL;
    lb_err e = k->prepare(req, id, &url, &body);
    FZ_CHECK(e == LB_E_OK && url && body, "binding an id: %s", lb_strerror(e));
    const char *at = strstr(req->url, "{id}");
    size_t head = (size_t)(at - req->url), tail = strlen(at + 4), n = strlen(url);
    FZ_CHECK(n >= head + tail && strncmp(url, req->url, head) == 0 &&
                 strcmp(url + n - tail, at + 4) == 0,
             "the bound URL %s", url);
    for (size_t i = head; i < n - tail; i++) {
      if (url[i] == '%') {
        FZ_CHECK(i + 2 < n - tail && isxdigit((unsigned char)url[i + 1]) &&
                     isxdigit((unsigned char)url[i + 2]),
                 "the bound URL %s", url);
        i += 2;
      } else {
        FZ_CHECK(unreserved((unsigned char)url[i]), "'%c' in the id part of %s", url[i], url);
      }
    }
    json_object *root = NULL, *data, *bid;
    char err[128];
    FZ_CHECK(lb_json_parse(body, strlen(body), &root, err, sizeof(err)) == LB_E_OK,
             "the bound body (%s): %s", err, body);
    FZ_CHECK(json_object_object_get_ex(root, "data", &data) &&
                 json_object_object_get_ex(data, "id", &bid) &&
                 strcmp(json_object_get_string(bid), id) == 0,
             "the bound body's data.id: %s", body);
    json_object_put(root);
    free(url);
    free(body);
  }
}

static bool b64token(const char *s)
{
  size_t i = 0;
  while (s[i] && (isalnum((unsigned char)s[i]) || strchr("-._~+/", s[i])))
    i++;
  if (i == 0)
    return false;
  while (s[i] == '=')
    i++;
  return s[i] == '\0';
}

static void check_token(const char *body, size_t len)
{
  char *token = NULL, err[256] = "";
  int64_t expires = -1;
  lb_err e = lb_tokens_parse(body, len, &token, &expires, err, sizeof(err));
  if (e == LB_E_OK) {
    FZ_CHECK(token && b64token(token), "a token that is no b64token");
    FZ_CHECK(expires >= 1 && expires <= 400LL * 86400, "a token for %lld s", (long long)expires);
    free(token);
    return;
  }
  FZ_CHECK(e == LB_E_PARSE && !token && err[0], "a refusal: %s", lb_strerror(e));
  /* lb_tokens_parse's refusals: a token that is part of one may be seen */
  static const char refusals[] =
      "token response is not a JSON object|token response has no access_token|token "
      "response's access_token has characters a bearer token may not hold (RFC 6750), "
      "refusing it|token response has no numeric expires_in|token response has a "
      "non-positive expires_in";
  json_object *root = NULL, *tok;
  char why[64];
  if (lb_json_parse(body, len, &root, why, sizeof(why)) == LB_E_OK &&
      json_object_is_type(root, json_type_object) &&
      json_object_object_get_ex(root, "access_token", &tok) &&
      json_object_is_type(tok, json_type_string)) {
    const char *t = json_object_get_string(tok);
    FZ_CHECK(!t[0] || !strstr(err, t) || strstr(refusals, t), "the refusal quotes the token: %s",
             err);
  }
  json_object_put(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  fz_input in = { data, size };
  fz_begin(data, size);
  lb_step step = (lb_step)(fz_take_byte(&in) % (LB_STEP_OCN_COURSE + 1));
  int status = ((fz_take_byte(&in) << 8) | fz_take_byte(&in)) % 600;
  if (status < 100)
    status = 0;
  const char *body = (const char *)in.p;
  size_t len = in.n;

  size_t nk;
  const lb_connector *const *all = lb_connector_all(&nk);
  for (size_t i = 0; i < nk; i++) {
    const lb_connector *k = all[i];
    check_verdict(k, step, status, body, len, lb_connector_classify(k, step, status, body, len));
    if (!k->response_id)
      continue;
    char *id = k->response_id(step, body, len);
    if (id) {
      FZ_CHECK(id[0], "%s: an empty id", k->name);
      if (k->type == LB_INTEG_DEGREED)
        check_bound(k, id);
    }
    free(id);
  }
  check_token(body, len);
  return 0;
}
