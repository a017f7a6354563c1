#include "ksb_control.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "ksb_parse.h"

#define PATH_MAX_LEN 512
#define SEGMENTS_MAX 6
#define ERRBUF_LEN 512
/* Bounds on one error push: items in the list, repetitions, total. */
#define ERROR_LIST_MAX 64
#define ERROR_COUNT_MAX 1000
#define ERROR_TOTAL_MAX 10000
#define CONNECTIONS_MAX 64
#define CONNECTION_TIMEOUT_S 10

struct ksb_control {
  struct MHD_Daemon *daemon;
  ksb_cluster *cluster; /* borrowed */
  uint16_t port;
};

/* One request being answered. */
struct req {
  struct MHD_Connection *conn;
  ksb_cluster *cluster;
  const char *method;
  char *seg[SEGMENTS_MAX]; /* path segments, pointing into path[] */
  int nseg;
  char path[PATH_MAX_LEN];
  char err[ERRBUF_LEN]; /* message of the error answer */
};

/* Status line of an answer, kept to log it. */
struct answer {
  unsigned status;
  const char *allow; /* Allow header for 405, static */
};

/* Queues `body` (consumed) as the JSON answer. */
static enum MHD_Result send_json(struct MHD_Connection *conn, unsigned status, const char *allow,
                                 json_object *body)
{
  struct MHD_Response *resp;
  enum MHD_Result ret = MHD_NO;
  const char *text;
  char *buf = NULL;
  size_t len;

  text = body ? json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN) : NULL;
  if (!text) {
    status = MHD_HTTP_INTERNAL_SERVER_ERROR;
    text = "{\"ok\":false,\"error\":\"out of memory\"}";
  }
  len = strlen(text);
  buf = malloc(len + 2);
  if (!buf)
    goto out;
  memcpy(buf, text, len);
  buf[len] = '\n';
  buf[len + 1] = '\0';
  resp = MHD_create_response_from_buffer(len + 1, buf, MHD_RESPMEM_MUST_FREE);
  if (!resp) {
    free(buf);
    goto out;
  }
  buf = NULL; /* now owned by resp */
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
  if (allow)
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
  ret = MHD_queue_response(conn, status, resp);
  MHD_destroy_response(resp);

out:
  json_object_put(body);
  return ret;
}

/* Records an error answer: `status` with message printf(fmt). */
static struct answer fail(struct req *r, unsigned status, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(r->err, sizeof(r->err), fmt, ap);
  va_end(ap);
  return (struct answer){ .status = status };
}

/* Answer for a failed cluster operation; its message is already in
 * r->err. */
static struct answer fail_rc(struct req *r, ksb_rc rc)
{
  if (!r->err[0])
    snprintf(r->err, sizeof(r->err), "internal error");
  switch (rc) {
  case KSB_OK:
    break;
  case KSB_E_INVALID:
    return (struct answer){ .status = MHD_HTTP_BAD_REQUEST };
  case KSB_E_NOTFOUND:
    return (struct answer){ .status = MHD_HTTP_NOT_FOUND };
  case KSB_E_EXISTS:
    return (struct answer){ .status = MHD_HTTP_CONFLICT };
  case KSB_E_LIMIT:
    return (struct answer){ .status = MHD_HTTP_BAD_REQUEST };
  case KSB_E_KAFKA:
  case KSB_E_NOMEM:
    break;
  }
  return (struct answer){ .status = MHD_HTTP_INTERNAL_SERVER_ERROR };
}

/* 400 with the message a parameter check left in r->err. */
static struct answer bad_request(struct req *r)
{
  if (!r->err[0])
    snprintf(r->err, sizeof(r->err), "bad request");
  return (struct answer){ .status = MHD_HTTP_BAD_REQUEST };
}

static struct answer method_not_allowed(struct req *r, const char *allow)
{
  snprintf(r->err, sizeof(r->err), "method %s not allowed on this path: use %s", r->method, allow);
  return (struct answer){ .status = MHD_HTTP_METHOD_NOT_ALLOWED, .allow = allow };
}

/* --- query parameters ---------------------------------------------------- */

struct params_check {
  const char *const *allowed; /* NULL-terminated */
  const char *unknown;        /* first key not allowed, borrowed from MHD */
};

static enum MHD_Result params_check_one(void *cls, enum MHD_ValueKind kind, const char *key,
                                        const char *value)
{
  struct params_check *pc = cls;
  const char *const *a;

  (void)kind;
  (void)value;
  for (a = pc->allowed; *a; a++)
    if (!strcmp(*a, key))
      return MHD_YES;
  pc->unknown = key;
  return MHD_NO;
}

/* Rejects query parameters not in `allowed` (a typo must not be ignored
 * silently). Returns 0 or -1 with r->err set. */
static int params_only(struct req *r, const char *const *allowed)
{
  struct params_check pc = { .allowed = allowed };

  MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, params_check_one, &pc);
  if (!pc.unknown)
    return 0;
  snprintf(r->err, sizeof(r->err), "unknown parameter \"%.64s\"", pc.unknown);
  return -1;
}

/* Value of query parameter `key`, borrowed from MHD until the answer, or
 * NULL (r->err set when `required`). */
static const char *param(struct req *r, const char *key, bool required)
{
  const char *v = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);

  if (!v && required)
    snprintf(r->err, sizeof(r->err), "missing parameter \"%s\"", key);
  return v;
}

/* Integer parameter in [min, max]; `def` when absent and not required. */
static int param_long(struct req *r, const char *key, bool required, long def, long min, long max,
                      long *ret)
{
  const char *v = param(r, key, required);

  if (!v) {
    if (required)
      return -1;
    *ret = def;
    return 0;
  }
  if (ksb_parse_long(v, min, max, ret) < 0) {
    snprintf(r->err, sizeof(r->err),
             "invalid parameter \"%s\": \"%.64s\" is not an integer in "
             "%ld..%ld",
             key, v, min, max);
    return -1;
  }
  return 0;
}

static int param_api(struct req *r, int16_t *ret)
{
  const char *v = param(r, "api", true);

  if (!v)
    return -1;
  if (ksb_parse_api_key(v, ret) < 0) {
    snprintf(r->err, sizeof(r->err),
             "invalid parameter \"api\": \"%.64s\" is neither a known api "
             "name (Produce, Fetch, OffsetCommit...) nor a number 0..99",
             v);
    return -1;
  }
  return 0;
}

/* Broker id of a path segment: 1..brokers, or "all" when all_ok. */
static int path_broker(struct req *r, const char *s, bool all_ok, int *ret)
{
  long v;

  if (all_ok && !strcmp(s, "all")) {
    *ret = KSB_BROKER_ALL;
    return 0;
  }
  if (ksb_parse_long(s, 1, ksb_cluster_broker_count(r->cluster), &v) < 0) {
    snprintf(r->err, sizeof(r->err), "unknown broker \"%.32s\": brokers are 1..%d%s", s,
             ksb_cluster_broker_count(r->cluster), all_ok ? " or all" : "");
    return -1;
  }
  *ret = (int)v;
  return 0;
}

/* Broker id of query parameter `broker`: 1..brokers (or -1 / "none" when
 * none_ok). */
static int param_broker(struct req *r, bool none_ok, int *ret)
{
  const char *v = param(r, "broker", true);
  long n;

  if (!v)
    return -1;
  if (none_ok && (!strcmp(v, "none") || !strcmp(v, "-1"))) {
    *ret = -1;
    return 0;
  }
  if (ksb_parse_long(v, 1, ksb_cluster_broker_count(r->cluster), &n) < 0) {
    snprintf(r->err, sizeof(r->err),
             "invalid parameter \"broker\": \"%.32s\" is not a broker id "
             "1..%d%s",
             v, ksb_cluster_broker_count(r->cluster), none_ok ? " or none" : "");
    return -1;
  }
  *ret = (int)n;
  return 0;
}

/* Parses "error" (comma list) and "count" into a new array (caller frees)
 * of list * count errors; *list_len gets the list length. */
static rd_kafka_resp_err_t *param_errors(struct req *r, size_t *list_len, size_t *total)
{
  rd_kafka_resp_err_t list[ERROR_LIST_MAX], *all;
  const char *v = param(r, "error", true), *bad = NULL;
  size_t bad_len = 0, i;
  long count;
  int n;

  if (!v)
    return NULL;
  n = ksb_parse_error_list(v, list, ERROR_LIST_MAX, &bad, &bad_len);
  if (n < 0) {
    snprintf(r->err, sizeof(r->err),
             "invalid parameter \"error\": \"%.*s\" is not a librdkafka error "
             "name (REQUEST_TIMED_OUT, _TRANSPORT...) or number, or the list "
             "has more than %d items",
             (int)(bad_len > 64 ? 64 : bad_len), bad, ERROR_LIST_MAX);
    return NULL;
  }
  if (param_long(r, "count", false, 1, 1, ERROR_COUNT_MAX, &count) < 0)
    return NULL;
  if ((size_t)n * (size_t)count > ERROR_TOTAL_MAX) {
    snprintf(r->err, sizeof(r->err), "too many errors: %d listed times count %ld is over %d", n,
             count, ERROR_TOTAL_MAX);
    return NULL;
  }
  all = calloc((size_t)n * (size_t)count, sizeof(*all));
  if (!all) {
    snprintf(r->err, sizeof(r->err), "out of memory");
    return NULL;
  }
  for (i = 0; i < (size_t)n * (size_t)count; i++)
    all[i] = list[i % (size_t)n];
  *list_len = (size_t)n;
  *total = (size_t)n * (size_t)count;
  return all;
}

/* JSON array of the names of errs[0..n). */
static json_object *errors_json(const rd_kafka_resp_err_t *errs, size_t n)
{
  json_object *arr = json_object_new_array();
  size_t i;

  for (i = 0; arr && i < n; i++)
    json_object_array_add(arr, json_object_new_string(rd_kafka_err2name(errs[i])));
  return arr;
}

static json_object *ok_body(void)
{
  json_object *o = json_object_new_object();

  if (o)
    json_object_object_add(o, "ok", json_object_new_boolean(1));
  return o;
}

static json_object *api_json(int16_t api)
{
  const char *name = ksb_api_key_name(api);

  return name ? json_object_new_string(name) : json_object_new_int(api);
}

/* --- routes ---------------------------------------------------------------- */

static struct answer route_status(struct req *r, json_object **body)
{
  static const char *const allowed[] = { NULL };

  if (strcmp(r->method, "GET"))
    return method_not_allowed(r, "GET");
  if (params_only(r, allowed) < 0)
    return bad_request(r);
  *body = ksb_cluster_status(r->cluster);
  if (*body)
    json_object_object_add(*body, "ok", json_object_new_boolean(1));
  return (struct answer){ .status = MHD_HTTP_OK };
}

/* POST /brokers/{id|all}/down, /up, /rtt?ms=N */
static struct answer route_broker_state(struct req *r, json_object **body)
{
  static const char *const none[] = { NULL };
  static const char *const rtt_params[] = { "ms", NULL };
  bool is_rtt = !strcmp(r->seg[2], "rtt"), up = !strcmp(r->seg[2], "up");
  long ms = 0;
  int broker;
  ksb_rc rc;

  if (strcmp(r->method, "POST"))
    return method_not_allowed(r, "POST");
  if (params_only(r, is_rtt ? rtt_params : none) < 0 ||
      path_broker(r, r->seg[1], true, &broker) < 0 ||
      (is_rtt && param_long(r, "ms", true, 0, 0, KSB_RTT_MAX_MS, &ms) < 0))
    return bad_request(r);
  if (is_rtt)
    rc = ksb_cluster_broker_set_rtt(r->cluster, broker, (int)ms, r->err, sizeof(r->err));
  else
    rc = ksb_cluster_broker_set_up(r->cluster, broker, up, r->err, sizeof(r->err));
  if (rc != KSB_OK)
    return fail_rc(r, rc);
  *body = ok_body();
  if (*body) {
    json_object_object_add(*body, "broker",
                           broker == KSB_BROKER_ALL ? json_object_new_string("all")
                                                    : json_object_new_int(broker));
    if (is_rtt)
      json_object_object_add(*body, "rtt_ms", json_object_new_int((int)ms));
    else
      json_object_object_add(*body, "up", json_object_new_boolean(up));
  }
  return (struct answer){ .status = MHD_HTTP_OK };
}

/* GET /brokers/{id}/errors?api=: errors left on the broker's stack */
static struct answer route_broker_errors_count(struct req *r, json_object **body)
{
  static const char *const allowed[] = { "api", NULL };
  size_t remaining = 0;
  int16_t api;
  int broker;
  ksb_rc rc;

  if (params_only(r, allowed) < 0 || path_broker(r, r->seg[1], false, &broker) < 0 ||
      param_api(r, &api) < 0)
    return bad_request(r);
  rc = ksb_cluster_broker_error_count(r->cluster, broker, api, &remaining, r->err, sizeof(r->err));
  if (rc != KSB_OK)
    return fail_rc(r, rc);
  *body = ok_body();
  if (*body) {
    json_object_object_add(*body, "broker", json_object_new_int(broker));
    json_object_object_add(*body, "api", api_json(api));
    json_object_object_add(*body, "remaining", json_object_new_int64((int64_t)remaining));
  }
  return (struct answer){ .status = MHD_HTTP_OK };
}

/* POST /brokers/{id}/errors?api=&error=E1,E2&rtt=MS[,MS2]&count=N */
static struct answer route_broker_errors_push(struct req *r, json_object **body)
{
  static const char *const allowed[] = { "api", "error", "rtt", "count", NULL };
  struct answer a = { .status = MHD_HTTP_OK };
  long rtts[ERROR_LIST_MAX] = { 0 };
  rd_kafka_resp_err_t *errs = NULL;
  int *rtt_all = NULL;
  size_t list_len = 0, total = 0, i;
  const char *rtt_s;
  json_object *rj;
  int16_t api;
  int broker, nrtt = 1;
  ksb_rc rc;

  if (params_only(r, allowed) < 0 || path_broker(r, r->seg[1], false, &broker) < 0 ||
      param_api(r, &api) < 0)
    return bad_request(r);
  errs = param_errors(r, &list_len, &total);
  if (!errs)
    return bad_request(r);
  rtt_s = param(r, "rtt", false);
  if (rtt_s) {
    nrtt = ksb_parse_long_list(rtt_s, 0, KSB_RTT_MAX_MS, rtts, ERROR_LIST_MAX);
    if (nrtt < 0 || (nrtt != 1 && (size_t)nrtt != list_len)) {
      a = fail(r, MHD_HTTP_BAD_REQUEST,
               "invalid parameter \"rtt\": expected one value or one per "
               "error (%zu), each 0..%d ms",
               list_len, KSB_RTT_MAX_MS);
      goto out;
    }
  }
  rtt_all = calloc(total, sizeof(*rtt_all));
  if (!rtt_all) {
    a = fail(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    goto out;
  }
  for (i = 0; i < total; i++)
    rtt_all[i] = (int)rtts[nrtt == 1 ? 0 : i % list_len];
  rc = ksb_cluster_broker_push_errors(r->cluster, broker, api, total, errs, rtt_all, r->err,
                                      sizeof(r->err));
  if (rc != KSB_OK) {
    a = fail_rc(r, rc);
    goto out;
  }
  *body = ok_body();
  if (*body) {
    json_object_object_add(*body, "broker", json_object_new_int(broker));
    json_object_object_add(*body, "api", api_json(api));
    json_object_object_add(*body, "pushed", errors_json(errs, total));
    rj = json_object_new_array();
    for (i = 0; rj && i < total; i++)
      json_object_array_add(rj, json_object_new_int(rtt_all[i]));
    json_object_object_add(*body, "rtt_ms", rj);
  }

out:
  free(errs);
  free(rtt_all);
  return a;
}

static struct answer route_brokers(struct req *r, json_object **body)
{
  const char *action = r->seg[2];

  if (!strcmp(action, "down") || !strcmp(action, "up") || !strcmp(action, "rtt"))
    return route_broker_state(r, body);
  if (strcmp(action, "errors"))
    return fail(r, MHD_HTTP_NOT_FOUND,
                "unknown path: expected /brokers/{id}/down, up, rtt or errors");
  if (!strcmp(r->method, "GET"))
    return route_broker_errors_count(r, body);
  if (!strcmp(r->method, "POST"))
    return route_broker_errors_push(r, body);
  return method_not_allowed(r, "POST, GET");
}

/* POST /errors?api=&error=&count=, DELETE /errors?api= */
static struct answer route_errors(struct req *r, json_object **body)
{
  static const char *const push_params[] = { "api", "error", "count", NULL };
  static const char *const clear_params[] = { "api", NULL };
  bool is_delete = !strcmp(r->method, "DELETE");
  rd_kafka_resp_err_t *errs;
  size_t list_len = 0, total = 0;
  int16_t api;

  if (!is_delete && strcmp(r->method, "POST"))
    return method_not_allowed(r, "POST, DELETE");
  if (params_only(r, is_delete ? clear_params : push_params) < 0 || param_api(r, &api) < 0)
    return bad_request(r);
  if (is_delete) {
    ksb_cluster_clear_errors(r->cluster, api);
    *body = ok_body();
    if (*body)
      json_object_object_add(*body, "cleared", api_json(api));
    return (struct answer){ .status = MHD_HTTP_OK };
  }
  errs = param_errors(r, &list_len, &total);
  if (!errs)
    return bad_request(r);
  ksb_cluster_push_errors(r->cluster, api, total, errs);
  *body = ok_body();
  if (*body) {
    json_object_object_add(*body, "api", api_json(api));
    json_object_object_add(*body, "pushed", errors_json(errs, total));
  }
  free(errs);
  return (struct answer){ .status = MHD_HTTP_OK };
}

/* POST /coordinator?type=group&key=G&broker=ID */
static struct answer route_coordinator(struct req *r, json_object **body)
{
  static const char *const allowed[] = { "type", "key", "broker", NULL };
  const char *type, *key;
  int broker;
  ksb_rc rc;

  if (strcmp(r->method, "POST"))
    return method_not_allowed(r, "POST");
  if (params_only(r, allowed) < 0 || !(key = param(r, "key", true)) ||
      param_broker(r, false, &broker) < 0)
    return bad_request(r);
  type = param(r, "type", false);
  if (!type)
    type = "group";
  rc = ksb_cluster_coordinator_set(r->cluster, type, key, broker, r->err, sizeof(r->err));
  if (rc != KSB_OK)
    return fail_rc(r, rc);
  *body = ok_body();
  if (*body) {
    json_object_object_add(*body, "type", json_object_new_string(type));
    json_object_object_add(*body, "key", json_object_new_string(key));
    json_object_object_add(*body, "broker", json_object_new_int(broker));
  }
  return (struct answer){ .status = MHD_HTTP_OK };
}

/* POST /topics?name=&partitions=,
 * POST|DELETE /topics/{name}/error?error= */
static struct answer route_topics(struct req *r, json_object **body)
{
  static const char *const create_params[] = { "name", "partitions", NULL };
  static const char *const seterr_params[] = { "error", NULL };
  static const char *const none[] = { NULL };
  ksb_rc rc;

  if (r->nseg == 3) {
    bool is_delete = !strcmp(r->method, "DELETE");
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    const char *v;

    if (strcmp(r->seg[2], "error"))
      return fail(r, MHD_HTTP_NOT_FOUND, "unknown path: expected /topics/{name}/error");
    if (!is_delete && strcmp(r->method, "POST"))
      return method_not_allowed(r, "POST, DELETE");
    if (params_only(r, is_delete ? none : seterr_params) < 0)
      return bad_request(r);
    if (!is_delete) {
      if (!(v = param(r, "error", true)))
        return bad_request(r);
      if (ksb_parse_error(v, &err) < 0)
        return fail(r, MHD_HTTP_BAD_REQUEST,
                    "invalid parameter \"error\": \"%.64s\" is not a "
                    "librdkafka error name or number",
                    v);
    }
    rc = ksb_cluster_topic_set_error(r->cluster, r->seg[1], err, r->err, sizeof(r->err));
    if (rc != KSB_OK)
      return fail_rc(r, rc);
    *body = ok_body();
    if (*body) {
      json_object_object_add(*body, "topic", json_object_new_string(r->seg[1]));
      json_object_object_add(*body, "error",
                             err ? json_object_new_string(rd_kafka_err2name(err))
                                 : json_object_new_null());
    }
    return (struct answer){ .status = MHD_HTTP_OK };
  }

  if (r->nseg != 1)
    return fail(r, MHD_HTTP_NOT_FOUND, "unknown path: expected /topics");
  if (strcmp(r->method, "POST"))
    return method_not_allowed(r, "POST");
  {
    const char *name;
    long partitions;

    if (params_only(r, create_params) < 0 || !(name = param(r, "name", true)) ||
        param_long(r, "partitions", true, 0, 1, KSB_PARTITIONS_MAX, &partitions) < 0)
      return bad_request(r);
    rc = ksb_cluster_topic_create(r->cluster, name, (int)partitions, r->err, sizeof(r->err));
    if (rc != KSB_OK)
      return fail_rc(r, rc);
    *body = ok_body();
    if (*body) {
      json_object_object_add(*body, "topic", json_object_new_string(name));
      json_object_object_add(*body, "partitions", json_object_new_int((int)partitions));
    }
    return (struct answer){ .status = MHD_HTTP_CREATED };
  }
}

/* POST /partitions/{topic}/{p}/leader?broker=ID|none */
static struct answer route_partitions(struct req *r, json_object **body)
{
  static const char *const allowed[] = { "broker", NULL };
  long partition;
  int broker;
  ksb_rc rc;

  if (r->nseg != 4 || strcmp(r->seg[3], "leader"))
    return fail(r, MHD_HTTP_NOT_FOUND,
                "unknown path: expected /partitions/{topic}/{partition}/leader");
  if (strcmp(r->method, "POST"))
    return method_not_allowed(r, "POST");
  if (params_only(r, allowed) < 0)
    return bad_request(r);
  if (ksb_parse_long(r->seg[2], 0, KSB_PARTITIONS_MAX - 1, &partition) < 0)
    return fail(r, MHD_HTTP_BAD_REQUEST, "invalid partition \"%.32s\": expected an integer 0..%d",
                r->seg[2], KSB_PARTITIONS_MAX - 1);
  if (param_broker(r, true, &broker) < 0)
    return bad_request(r);
  rc = ksb_cluster_partition_set_leader(r->cluster, r->seg[1], (int)partition, broker, r->err,
                                        sizeof(r->err));
  if (rc != KSB_OK)
    return fail_rc(r, rc);
  *body = ok_body();
  if (*body) {
    json_object_object_add(*body, "topic", json_object_new_string(r->seg[1]));
    json_object_object_add(*body, "partition", json_object_new_int((int)partition));
    json_object_object_add(*body, "leader",
                           broker == -1 ? json_object_new_null() : json_object_new_int(broker));
  }
  return (struct answer){ .status = MHD_HTTP_OK };
}

/* Splits r->path into r->seg[]. Returns -1 when there are too many
 * segments or an empty one (as in "//"). */
static int split_path(struct req *r, const char *url)
{
  char *p;

  if (strlen(url) >= sizeof(r->path) || url[0] != '/')
    return -1;
  snprintf(r->path, sizeof(r->path), "%s", url + 1);
  r->nseg = 0;
  if (!r->path[0])
    return 0;
  /* A trailing slash is tolerated: "/status/" is "/status". */
  if (r->path[strlen(r->path) - 1] == '/')
    r->path[strlen(r->path) - 1] = '\0';
  p = r->path;
  for (;;) {
    char *slash = strchr(p, '/');

    if (r->nseg == SEGMENTS_MAX || !*p)
      return -1;
    r->seg[r->nseg++] = p;
    if (!slash)
      break;
    *slash = '\0';
    p = slash + 1;
  }
  return 0;
}

static struct answer route(struct req *r, const char *url, json_object **body)
{
  if (split_path(r, url) < 0)
    return fail(r, MHD_HTTP_NOT_FOUND, "unknown path");
  if (r->nseg == 0 || (r->nseg == 1 && !strcmp(r->seg[0], "status")))
    return route_status(r, body);
  if (!strcmp(r->seg[0], "brokers") && r->nseg == 3)
    return route_brokers(r, body);
  if (!strcmp(r->seg[0], "errors") && r->nseg == 1)
    return route_errors(r, body);
  if (!strcmp(r->seg[0], "coordinator") && r->nseg == 1)
    return route_coordinator(r, body);
  if (!strcmp(r->seg[0], "topics") && (r->nseg == 1 || r->nseg == 3))
    return route_topics(r, body);
  if (!strcmp(r->seg[0], "partitions"))
    return route_partitions(r, body);
  return fail(r, MHD_HTTP_NOT_FOUND, "unknown path: see GET /status and README.md for the routes");
}

/* Replaces control characters so a log line stays one line. */
static void printable(char *s)
{
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f)
      *s = '?';
}

struct query_text {
  char buf[256];
  size_t len;
};

static enum MHD_Result query_text_add(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
  struct query_text *q = cls;
  int n;

  (void)kind;
  if (q->len >= sizeof(q->buf) - 1)
    return MHD_NO;
  n = snprintf(q->buf + q->len, sizeof(q->buf) - q->len, "%c%s%s%s", q->len ? '&' : '?', key,
               value ? "=" : "", value ? value : "");
  if (n < 0 || (size_t)n >= sizeof(q->buf) - q->len) {
    q->len = sizeof(q->buf) - 1; /* truncated: stop here */
    return MHD_NO;
  }
  q->len += (size_t)n;
  return MHD_YES;
}

/* MHD access handler (the MHD thread). The request body, if any, is read
 * and ignored: every parameter is in the query string. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
  static int started;
  ksb_control *ctl = cls;
  struct req *r;
  struct answer a;
  json_object *body = NULL;
  enum MHD_Result ret;

  (void)version;
  (void)upload_data;
  if (!*req_cls) {
    *req_cls = &started; /* headers seen; answer once the body is read */
    return MHD_YES;
  }
  if (*upload_data_size) {
    *upload_data_size = 0;
    return MHD_YES;
  }

  r = calloc(1, sizeof(*r));
  if (!r)
    return MHD_NO;
  r->conn = conn;
  r->cluster = ctl->cluster;
  r->method = method;
  a = route(r, url, &body);
  /* One log line per call, for the tests' diagnostics. */
  {
    struct query_text q = { .len = 0 };
    char path[256];

    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, query_text_add, &q);
    snprintf(path, sizeof(path), "%s", url);
    printable(path);
    printable(q.buf);
    printable(r->err);
    fprintf(stderr, "kafka-sandbox: control: %s %s%s: %u%s%s\n", method, path, q.buf, a.status,
            a.status >= 400 ? ": " : "", a.status >= 400 ? r->err : "");
  }
  if (a.status >= 400) {
    json_object_put(body);
    body = json_object_new_object();
    if (body) {
      json_object_object_add(body, "ok", json_object_new_boolean(0));
      json_object_object_add(body, "error", json_object_new_string(r->err));
    }
  }
  ret = send_json(conn, a.status, a.allow, body);
  free(r);
  return ret;
}

ksb_control *ksb_control_new(ksb_cluster *cluster, const char *host, uint16_t port, char *errbuf,
                             size_t errlen)
{
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
  const union MHD_DaemonInfo *info;
  ksb_control *ctl;

  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
    snprintf(errbuf, errlen, "invalid control address \"%s\": expected IPv4", host);
    return NULL;
  }
  ctl = calloc(1, sizeof(*ctl));
  if (!ctl) {
    snprintf(errbuf, errlen, "out of memory");
    return NULL;
  }
  ctl->cluster = cluster;
  ctl->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, port, NULL,
                                 NULL, on_request, ctl, MHD_OPTION_SOCK_ADDR,
                                 (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_LIMIT,
                                 (unsigned)CONNECTIONS_MAX, MHD_OPTION_CONNECTION_TIMEOUT,
                                 (unsigned)CONNECTION_TIMEOUT_S, MHD_OPTION_END);
  if (!ctl->daemon) {
    snprintf(errbuf, errlen, "cannot listen on %s:%u for the control API", host, (unsigned)port);
    free(ctl);
    return NULL;
  }
  info = MHD_get_daemon_info(ctl->daemon, MHD_DAEMON_INFO_BIND_PORT);
  ctl->port = info ? info->port : port;
  return ctl;
}

uint16_t ksb_control_port(const ksb_control *ctl)
{
  return ctl->port;
}

ksb_control *ksb_control_destroy(ksb_control *ctl)
{
  if (!ctl)
    return NULL;
  if (ctl->daemon)
    MHD_stop_daemon(ctl->daemon);
  free(ctl);
  return NULL;
}
