#include "lb_dlq.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lb_hash.h"
#include "lb_json.h"
#include "lb_log.h"
#include "lb_strbuf.h"
#include "lb_time.h"

#define TOTALS_MAX_ROWS 10000
#define NONE "(none)"
#define OTHER "(other)"

const char *const lb_dlq_reasons[LB_DLQ_CLASS__COUNT + 1] = {
  [LB_DLQ_INVALID_EVENT] = "invalid_event",
  [LB_DLQ_MAPPING] = "mapping",
  [LB_DLQ_PERMANENT_HTTP] = "permanent_http",
  [LB_DLQ_RETRIES_EXHAUSTED] = "retries_exhausted",
  [LB_DLQ_AUTH] = "auth",
  [LB_DLQ_CONFIG] = "config",
  [LB_DLQ_CLASS__COUNT] = NULL,
};

#define CONNECT(n, text)                                                                           \
  {                                                                                                \
    LB_DLQ_CONNECT_PREFIX n, text, false                                                           \
  }
#define OWN(n, text)                                                                               \
  {                                                                                                \
    LB_DLQ_OWN_PREFIX n, text, true                                                                \
  }
const lb_dlq_header_info lb_dlq_header_table[LB_DLQ_H__COUNT] = {
  [LB_DLQ_H_TOPIC] = CONNECT("topic", true),
  [LB_DLQ_H_PARTITION] = CONNECT("partition", false),
  [LB_DLQ_H_OFFSET] = CONNECT("offset", false),
  [LB_DLQ_H_CLASS] = CONNECT("exception.class.name", true),
  [LB_DLQ_H_MESSAGE] = CONNECT("exception.message", true),
  [LB_DLQ_H_INTEGRATION] = OWN("integration", true),
  [LB_DLQ_H_HTTP_STATUS] = OWN("http.status", false),
  [LB_DLQ_H_HTTP_BODY] = OWN("http.body", true),
  [LB_DLQ_H_ATTEMPTS] = OWN("attempts", false),
  [LB_DLQ_H_FIRST_FAILURE] = OWN("first_failure", false),
  [LB_DLQ_H_LAST_FAILURE] = OWN("last_failure", false),
  [LB_DLQ_H_WORKER] = OWN("worker", true),
  [LB_DLQ_H_REPLAYS] = OWN("replays", false),
  [LB_DLQ_H_VALUE_TRUNCATED] = OWN("value.truncated", false),
  [LB_DLQ_H_VALUE_ORIGINAL_BYTES] = OWN("value.original_bytes", false),
  [LB_DLQ_H_HEADERS_DROPPED] = OWN("headers.dropped", false),
  [LB_DLQ_H_TARGET] = OWN("target", true),
  [LB_DLQ_H_NOT_BEFORE] = OWN("not_before", false),
  [LB_DLQ_H_ORIG_TOPIC] = OWN("original.topic", true),
  [LB_DLQ_H_ORIG_PARTITION] = OWN("original.partition", false),
  [LB_DLQ_H_ORIG_OFFSET] = OWN("original.offset", false),
  [LB_DLQ_H_REPLAYED_FROM] = OWN("replayed_from", true),
  [LB_DLQ_H_RESYNC] = OWN("resync", false),
};
#undef CONNECT
#undef OWN

#define NAME(x) lb_dlq_header_name(LB_DLQ_H_##x)

bool lb_dlq_header_is_own(const char *name)
{
  return strncmp(name, LB_DLQ_OWN_PREFIX, sizeof(LB_DLQ_OWN_PREFIX) - 1) == 0 ||
         strncmp(name, LB_DLQ_CONNECT_PREFIX, sizeof(LB_DLQ_CONNECT_PREFIX) - 1) == 0;
}

bool lb_dlq_header_is_structured(const char *name)
{
  for (size_t i = 0; i < LB_DLQ_H__COUNT; i++)
    if (strcmp(name, lb_dlq_header_table[i].name) == 0)
      return !lb_dlq_header_table[i].text;
  return false;
}

/* ---- building ---- */

static void add_str(rd_kafka_headers_t *h, lb_dlq_header name, const char *value)
{
  rd_kafka_header_add(h, lb_dlq_header_name(name), -1, value ? value : "", -1);
}

static void add_int(rd_kafka_headers_t *h, lb_dlq_header name, int64_t v)
{
  char buf[32];
  snprintf(buf, sizeof(buf), "%lld", (long long)v);
  add_str(h, name, buf);
}

static void add_time(rd_kafka_headers_t *h, lb_dlq_header name, int64_t ms)
{
  char buf[40];
  add_str(h, name, ms ? lb_time_format_rfc3339(ms, buf, sizeof(buf)) : "");
}

void lb_dlq_parked_headers_add(rd_kafka_headers_t *h, const lb_dlq_parked *p)
{
  add_str(h, LB_DLQ_H_TARGET, p->target);
  add_int(h, LB_DLQ_H_ATTEMPTS, p->attempts);
  add_int(h, LB_DLQ_H_NOT_BEFORE, p->not_before_ms);
  add_int(h, LB_DLQ_H_FIRST_FAILURE, p->first_failure_ms);
  add_int(h, LB_DLQ_H_LAST_FAILURE, p->last_failure_ms);
  add_str(h, LB_DLQ_H_ORIG_TOPIC, p->orig_topic);
  add_int(h, LB_DLQ_H_ORIG_PARTITION, p->orig_partition);
  add_int(h, LB_DLQ_H_ORIG_OFFSET, p->orig_offset);
  add_int(h, LB_DLQ_H_REPLAYS, p->replays);
  if (p->resync)
    add_str(h, LB_DLQ_H_RESYNC, "true");
}

/* The last header `name` of h as a string in buf (cut to fit); false when
 * h does not carry it. */
static bool get_str(const rd_kafka_headers_t *h, lb_dlq_header name, char *buf, size_t len)
{
  const void *v = NULL;
  size_t n = 0;
  if (!h ||
      rd_kafka_header_get_last(h, lb_dlq_header_name(name), &v, &n) != RD_KAFKA_RESP_ERR_NO_ERROR ||
      !v)
    return false;
  if (n >= len)
    n = len - 1;
  memcpy(buf, v, n);
  buf[n] = '\0';
  return true;
}

static int64_t get_int(const rd_kafka_headers_t *h, lb_dlq_header name, int64_t dflt)
{
  char buf[32], *end;
  if (!get_str(h, name, buf, sizeof(buf)))
    return dflt;
  long long v = strtoll(buf, &end, 10);
  return end == buf ? dflt : (int64_t)v;
}

void lb_dlq_parked_read(const rd_kafka_headers_t *h, lb_dlq_parked *ret)
{
  *ret = (lb_dlq_parked){ .orig_partition = -1, .orig_offset = -1 };
  ret->has_target = get_str(h, LB_DLQ_H_TARGET, ret->target, sizeof(ret->target));
  ret->attempts = (int)get_int(h, LB_DLQ_H_ATTEMPTS, 0);
  ret->not_before_ms = get_int(h, LB_DLQ_H_NOT_BEFORE, 0);
  ret->first_failure_ms = get_int(h, LB_DLQ_H_FIRST_FAILURE, 0);
  ret->last_failure_ms = get_int(h, LB_DLQ_H_LAST_FAILURE, 0);
  ret->has_orig = get_str(h, LB_DLQ_H_ORIG_TOPIC, ret->orig_topic, sizeof(ret->orig_topic));
  ret->orig_partition = (int32_t)get_int(h, LB_DLQ_H_ORIG_PARTITION, -1);
  ret->orig_offset = get_int(h, LB_DLQ_H_ORIG_OFFSET, -1);
  ret->replays = (int)get_int(h, LB_DLQ_H_REPLAYS, 0);
  char resync[8];
  ret->resync = get_str(h, LB_DLQ_H_RESYNC, resync, sizeof(resync)) && strcmp(resync, "true") == 0;
}

/* s redacted into out (max + 2 bytes), at most max bytes of it, not ending
 * inside a UTF-8 sequence. Returns out. */
static const char *redact_cut(const char *s, char *out, size_t max)
{
  lb_log_redact(s ? s : "", out, max + 2);
  size_t len = strlen(out);
  if (len > max)
    out[lb_strbuf_utf8_floor(out, len, max)] = '\0';
  return out;
}

void lb_dlq_headers_add(rd_kafka_headers_t *h, const lb_dlq_fields *f)
{
  /* an LMS may echo what it was sent (a client secret, a token): the text
   * it gave goes through the same redaction as the logs */
  char message[LB_DLQ_MESSAGE_MAX + 2], body[LB_DLQ_BODY_MAX + 2];
  add_str(h, LB_DLQ_H_TOPIC, f->topic);
  add_int(h, LB_DLQ_H_PARTITION, f->partition);
  add_int(h, LB_DLQ_H_OFFSET, f->offset);
  add_str(h, LB_DLQ_H_CLASS, f->reason);
  add_str(h, LB_DLQ_H_MESSAGE, redact_cut(f->message, message, LB_DLQ_MESSAGE_MAX));
  add_str(h, LB_DLQ_H_INTEGRATION, f->integration);
  add_int(h, LB_DLQ_H_HTTP_STATUS, f->http_status);
  add_str(h, LB_DLQ_H_HTTP_BODY, redact_cut(f->http_body, body, LB_DLQ_BODY_MAX));
  add_int(h, LB_DLQ_H_ATTEMPTS, f->attempts);
  add_time(h, LB_DLQ_H_FIRST_FAILURE, f->first_failure_ms);
  add_time(h, LB_DLQ_H_LAST_FAILURE, f->last_failure_ms);
  add_str(h, LB_DLQ_H_WORKER, f->worker);
  add_int(h, LB_DLQ_H_REPLAYS, f->replays);
  if (f->resync)
    add_str(h, LB_DLQ_H_RESYNC, "true");
  if (f->value_truncated) {
    add_str(h, LB_DLQ_H_VALUE_TRUNCATED, "true");
    add_int(h, LB_DLQ_H_VALUE_ORIGINAL_BYTES, f->value_original_bytes);
    if (f->headers_dropped >= 0)
      add_int(h, LB_DLQ_H_HEADERS_DROPPED, f->headers_dropped);
  }
}

/* ---- decoding ---- */

/* The header's value as a new string cut at LB_DLQ_HEADER_MAX; *ret NULL
 * when absent. -1 on out of memory. */
static int header_dup(const rd_kafka_headers_t *h, const char *name, char **ret)
{
  const void *v = NULL;
  size_t n = 0;
  *ret = NULL;
  if (!h || rd_kafka_header_get_last(h, name, &v, &n) != RD_KAFKA_RESP_ERR_NO_ERROR)
    return 0;
  if (n > LB_DLQ_HEADER_MAX)
    n = LB_DLQ_HEADER_MAX;
  char *s = malloc(n + 1);
  if (!s)
    return -1;
  if (n)
    memcpy(s, v, n);
  s[n] = '\0';
  *ret = s;
  return 0;
}

/* A whole decimal integer (optional minus), else -1 / dflt. */
static int64_t parse_int(const char *s, int64_t dflt)
{
  if (!s || !*s)
    return dflt;
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || *end || !(isdigit((unsigned char)s[0]) || s[0] == '-'))
    return dflt;
  return (int64_t)v;
}

static int64_t header_int(const rd_kafka_headers_t *h, const char *name, int64_t dflt, int64_t lo,
                          int64_t hi)
{
  char buf[32];
  const void *v = NULL;
  size_t n = 0;
  if (!h || rd_kafka_header_get_last(h, name, &v, &n) != RD_KAFKA_RESP_ERR_NO_ERROR || !v ||
      n >= sizeof(buf))
    return dflt;
  memcpy(buf, v, n);
  buf[n] = '\0';
  int64_t x = parse_int(buf, dflt);
  return x < lo || x > hi ? dflt : x;
}

/* Whether the header is "true" (any case): a mark the engine sets. */
static bool header_true(const rd_kafka_headers_t *h, const char *name)
{
  const void *v = NULL;
  size_t n = 0;
  return h && rd_kafka_header_get_last(h, name, &v, &n) == RD_KAFKA_RESP_ERR_NO_ERROR && v &&
         n == 4 && strncasecmp(v, "true", 4) == 0;
}

lb_err lb_dlq_record_decode(lb_dlq_record *ret, const lb_dlq_raw *raw)
{
  const rd_kafka_headers_t *h = raw->headers;
  lb_dlq_record r = { .raw = *raw };

  if (header_dup(h, NAME(TOPIC), &r.topic) < 0 || header_dup(h, NAME(CLASS), &r.reason) < 0 ||
      header_dup(h, NAME(MESSAGE), &r.message) < 0 ||
      header_dup(h, NAME(INTEGRATION), &r.integration) < 0 ||
      header_dup(h, NAME(HTTP_BODY), &r.http_body) < 0 ||
      header_dup(h, NAME(FIRST_FAILURE), &r.first_failure) < 0 ||
      header_dup(h, NAME(LAST_FAILURE), &r.last_failure) < 0 ||
      header_dup(h, NAME(WORKER), &r.worker) < 0) {
    lb_dlq_record_release(&r);
    return LB_E_NOMEM;
  }
  if (r.topic && !*r.topic) {
    free(r.topic);
    r.topic = NULL;
  }
  if (r.integration && !*r.integration) {
    free(r.integration);
    r.integration = NULL;
  }
  r.partition = (int32_t)header_int(h, NAME(PARTITION), -1, 0, INT32_MAX);
  r.offset = header_int(h, NAME(OFFSET), -1, 0, INT64_MAX);
  r.http_status = (int)header_int(h, NAME(HTTP_STATUS), 0, 0, 999);
  r.attempts = (int)header_int(h, NAME(ATTEMPTS), 0, 0, INT32_MAX);
  r.replays = (int)header_int(h, NAME(REPLAYS), 0, 0, INT32_MAX);
  r.resync = header_true(h, NAME(RESYNC));
  r.value_truncated = header_true(h, NAME(VALUE_TRUNCATED));
  r.value_original_bytes = header_int(h, NAME(VALUE_ORIGINAL_BYTES), -1, 0, INT64_MAX);
  r.headers_dropped = (int)header_int(h, NAME(HEADERS_DROPPED), -1, 0, INT32_MAX);
  r.last_failure_ms = -1;
  if (r.last_failure && lb_time_parse_rfc3339(r.last_failure, &r.last_failure_ms) != LB_E_OK)
    r.last_failure_ms = -1;
  *ret = r;
  return LB_E_OK;
}

void lb_dlq_record_release(lb_dlq_record *r)
{
  if (!r)
    return;
  free(r->topic);
  free(r->reason);
  free(r->message);
  free(r->integration);
  free(r->http_body);
  free(r->first_failure);
  free(r->last_failure);
  free(r->worker);
  *r = (lb_dlq_record){ .partition = -1,
                        .offset = -1,
                        .last_failure_ms = -1,
                        .value_original_bytes = -1,
                        .headers_dropped = -1 };
}

int64_t lb_dlq_record_time(const lb_dlq_record *r)
{
  if (r->last_failure_ms >= 0)
    return r->last_failure_ms;
  return r->raw.timestamp_ms >= 0 ? r->raw.timestamp_ms : -1;
}

/* ---- JSON ---- */

/* Text that may hold invalid UTF-8 (a body cut in the middle of a
 * character, a header name or class a producer made up) as valid UTF-8:
 * s itself when it is, else a copy in *scratch (initialised here; release
 * it) where each bad byte is U+FFFD. JSON output, keys included, stays
 * valid JSON whatever a record holds. */
static const char *valid_text(const char *s, lb_strbuf *scratch)
{
  size_t len = strlen(s);
  lb_strbuf_init(scratch, 0);
  if (lb_strbuf_utf8_valid(s, len, NULL))
    return s;
  const unsigned char *u = (const unsigned char *)s;
  for (size_t i = 0; i < len;) {
    size_t n = lb_strbuf_utf8_seq(u + i, len - i);
    if (n) {
      lb_strbuf_append_len(scratch, s + i, n);
      i += n;
    } else {
      lb_strbuf_append(scratch, "\xEF\xBF\xBD");
      i++;
    }
  }
  return scratch->buf ? scratch->buf : "";
}

/* A JSON string of text that may hold invalid UTF-8 (valid_text). New. */
static json_object *text_json(const char *s)
{
  if (!s)
    return NULL;
  lb_strbuf b;
  const char *t = valid_text(s, &b);
  json_object *o = json_object_new_string(t);
  lb_strbuf_release(&b);
  return o;
}

/* json_object_object_add under a key that may hold invalid UTF-8. */
static void add_text_key(json_object *o, const char *key, json_object *v)
{
  lb_strbuf b;
  json_object_object_add(o, valid_text(key, &b), v);
  lb_strbuf_release(&b);
}

static json_object *base64_json(const void *p, size_t len)
{
  lb_strbuf b;
  lb_strbuf_init(&b, 0);
  lb_strbuf_append_base64(&b, p, len);
  json_object *o = json_object_new_string_len(b.buf ? b.buf : "", (int)b.len);
  lb_strbuf_release(&b);
  return o;
}

/* Adds name (or name_base64) for bytes that are meant to be text. */
static void add_bytes(json_object *o, const char *name, const void *p, size_t len, bool try_json)
{
  char err[64];
  json_object *v = NULL;
  if (!p) {
    add_text_key(o, name, NULL);
    return;
  }
  if (!lb_strbuf_utf8_valid(p, len, NULL) || memchr(p, '\0', len)) {
    lb_strbuf b64name;
    lb_strbuf_init(&b64name, 0);
    lb_strbuf_append(&b64name, name);
    lb_strbuf_append(&b64name, "_base64");
    add_text_key(o, b64name.buf ? b64name.buf : "_base64", base64_json(p, len));
    lb_strbuf_release(&b64name);
    return;
  }
  if (try_json && lb_json_parse(p, len, &v, err, sizeof(err)) == LB_E_OK) {
    add_text_key(o, name, v);
    return;
  }
  add_text_key(o, name, json_object_new_string_len(p, (int)len));
}

static json_object *int_or_null(int64_t v, int64_t none)
{
  return v == none ? NULL : json_object_new_int64(v);
}

json_object *lb_dlq_record_json(const lb_dlq_record *r)
{
  json_object *o = json_object_new_object();
  char ts[40];

  json_object_object_add(o, "topic", text_json(r->topic));
  json_object_object_add(o, "partition", int_or_null(r->partition, -1));
  json_object_object_add(o, "offset", int_or_null(r->offset, -1));
  add_bytes(o, "key", r->raw.key, r->raw.key_len, false);
  add_bytes(o, "value", r->raw.value, r->raw.value_len, true);
  json_object_object_add(o, "reason", text_json(r->reason));
  json_object_object_add(o, "message", text_json(r->message));
  json_object_object_add(o, "integration", text_json(r->integration));
  json_object_object_add(o, "http_status", int_or_null(r->http_status, 0));
  json_object_object_add(o, "http_body",
                         r->http_body && *r->http_body ? text_json(r->http_body) : NULL);
  json_object_object_add(o, "attempts", json_object_new_int(r->attempts));
  json_object_object_add(o, "first_failure",
                         r->first_failure && *r->first_failure ? text_json(r->first_failure)
                                                               : NULL);
  json_object_object_add(o, "last_failure",
                         r->last_failure && *r->last_failure ? text_json(r->last_failure) : NULL);
  json_object_object_add(o, "replays", json_object_new_int(r->replays));
  json_object_object_add(o, "worker", text_json(r->worker));
  /* a cut value is not the event: shown, since dlq-replay refuses it */
  json_object_object_add(o, "value_truncated", json_object_new_boolean(r->value_truncated));
  json_object_object_add(o, "value_original_bytes", int_or_null(r->value_original_bytes, -1));
  json_object_object_add(o, "headers_dropped", int_or_null(r->headers_dropped, -1));
  json_object_object_add(o, "dlq_partition", json_object_new_int(r->raw.partition));
  json_object_object_add(o, "dlq_offset", json_object_new_int64(r->raw.offset));
  json_object_object_add(o, "dlq_timestamp",
                         r->raw.timestamp_ms >= 0 ? json_object_new_string(lb_time_format_rfc3339(
                                                        r->raw.timestamp_ms, ts, sizeof(ts)))
                                                  : NULL);

  /* the record's other headers (trace ids and the like), as text */
  json_object *hdrs = json_object_new_object();
  const char *name;
  const void *val;
  size_t size;
  for (size_t i = 0; r->raw.headers && rd_kafka_header_get_all(r->raw.headers, i, &name, &val,
                                                               &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
       i++) {
    if (lb_dlq_header_is_own(name))
      continue;
    add_bytes(hdrs, name, val, val ? size : 0, false);
  }
  if (json_object_object_length(hdrs) > 0)
    json_object_object_add(o, "headers", hdrs);
  else
    json_object_put(hdrs);
  return o;
}

/* ---- filters ---- */

void lb_dlq_filter_init(lb_dlq_filter *f)
{
  *f = (lb_dlq_filter){
    .since_ms = -1, .until_ms = -1, .partition = -1, .offset_from = -1, .offset_to = -1
  };
}

static void strv_free(char **v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

void lb_dlq_filter_release(lb_dlq_filter *f)
{
  if (!f)
    return;
  strv_free(f->integrations, f->nintegrations);
  strv_free(f->reasons, f->nreasons);
  free(f->statuses);
  free(f->key);
  free(f->grep);
  lb_dlq_filter_init(f);
}

/* Splits a comma list into new strings (empty items kept as ""). */
static int split(const char *value, char ***ret, size_t *ret_n)
{
  size_t n = 1;
  for (const char *p = value; *p; p++)
    n += *p == ',';
  char **v = calloc(n, sizeof(*v));
  if (!v)
    return -1;
  const char *p = value;
  for (size_t i = 0; i < n; i++) {
    const char *c = strchr(p, ',');
    size_t len = c ? (size_t)(c - p) : strlen(p);
    if (!(v[i] = strndup(p, len))) {
      strv_free(v, i);
      return -1;
    }
    p = c ? c + 1 : p + len;
  }
  *ret = v;
  *ret_n = n;
  return 0;
}

static int append_strv(char ***dst, size_t *ndst, char **src, size_t nsrc)
{
  char **v = realloc(*dst, (*ndst + nsrc) * sizeof(*v));
  if (!v)
    return -1;
  memcpy(v + *ndst, src, nsrc * sizeof(*v));
  *dst = v;
  *ndst += nsrc;
  return 0;
}

static bool is_reason(const char *s)
{
  for (size_t i = 0; lb_dlq_reasons[i]; i++)
    if (strcmp(s, lb_dlq_reasons[i]) == 0)
      return true;
  return false;
}

static bool valid_integration_id(const char *s)
{
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
      return false;
  return true;
}

/* "404" or "4xx". */
static bool parse_status(const char *s, lb_dlq_status_range *ret)
{
  if (strlen(s) == 3 && s[0] >= '1' && s[0] <= '5' && s[1] == 'x' && s[2] == 'x') {
    *ret = (lb_dlq_status_range){ (s[0] - '0') * 100, (s[0] - '0') * 100 + 99 };
    return true;
  }
  int64_t v = parse_int(s, -1);
  if (v < 100 || v > 999 || s[0] == '-')
    return false;
  *ret = (lb_dlq_status_range){ (int)v, (int)v };
  return true;
}

static lb_err add_list(lb_dlq_filter *f, const char *name, const char *value, char *err,
                       size_t errlen)
{
  char **items = NULL;
  size_t n = 0;
  lb_err rc = LB_E_OK;
  lb_dlq_status_range *ranges = NULL;

  if (split(value, &items, &n) < 0)
    return LB_E_NOMEM;
  bool integ = strcmp(name, "integration") == 0, reason = strcmp(name, "reason") == 0;
  if (!integ && !reason && !(ranges = calloc(n, sizeof(*ranges)))) {
    rc = LB_E_NOMEM;
    goto out;
  }
  for (size_t i = 0; i < n; i++) {
    if (integ && !valid_integration_id(items[i])) {
      snprintf(err, errlen, "--integration: \"%s\" is not an integration id", items[i]);
      rc = LB_E_INVALID;
    } else if (reason && !is_reason(items[i])) {
      char classes[128] = "";
      for (size_t k = 0; k < LB_DLQ_CLASS__COUNT; k++)
        snprintf(classes + strlen(classes), sizeof(classes) - strlen(classes), "%s%s",
                 k == 0                        ? ""
                 : k + 1 < LB_DLQ_CLASS__COUNT ? ", "
                                               : " or ",
                 lb_dlq_reasons[k]);
      snprintf(err, errlen, "--reason: unknown class \"%s\" (%s)", items[i], classes);
      rc = LB_E_INVALID;
    } else if (ranges && !parse_status(items[i], &ranges[i])) {
      snprintf(err, errlen, "--status: \"%s\" is not an HTTP status (404) or class (4xx)",
               items[i]);
      rc = LB_E_INVALID;
    }
    if (rc != LB_E_OK)
      goto out;
  }
  if (ranges) {
    lb_dlq_status_range *v = realloc(f->statuses, (f->nstatuses + n) * sizeof(*v));
    if (!v) {
      rc = LB_E_NOMEM;
      goto out;
    }
    memcpy(v + f->nstatuses, ranges, n * sizeof(*v));
    f->statuses = v;
    f->nstatuses += n;
  } else if (append_strv(integ ? &f->integrations : &f->reasons,
                         integ ? &f->nintegrations : &f->nreasons, items, n) < 0) {
    rc = LB_E_NOMEM;
    goto out;
  } else {
    free(items); /* the strings now belong to the filter */
    items = NULL;
  }
out:
  strv_free(items, items ? n : 0);
  free(ranges);
  return rc;
}

static lb_err set_string(char **dst, const char *opt, const char *value, char *err, size_t errlen)
{
  if (*dst) {
    snprintf(err, errlen, "--%s: given twice", opt);
    return LB_E_INVALID;
  }
  return (*dst = strdup(value)) ? LB_E_OK : LB_E_NOMEM;
}

static lb_err set_number(int64_t *dst, const char *opt, const char *value, int64_t max, char *err,
                         size_t errlen)
{
  int64_t v = parse_int(value, -1);
  if (v < 0 || v > max || value[0] == '-') {
    snprintf(err, errlen, "--%s: \"%s\" is not a number from 0 to %lld", opt, value,
             (long long)max);
    return LB_E_INVALID;
  }
  *dst = v;
  return LB_E_OK;
}

lb_err lb_dlq_filter_add(lb_dlq_filter *f, const char *name, const char *value, char *err,
                         size_t errlen)
{
  if (strcmp(name, "integration") == 0 || strcmp(name, "reason") == 0 ||
      strcmp(name, "status") == 0)
    return add_list(f, name, value, err, errlen);
  if (strcmp(name, "since") == 0 || strcmp(name, "until") == 0) {
    int64_t ms;
    if (lb_time_parse_rfc3339(value, &ms) != LB_E_OK) {
      snprintf(err, errlen, "--%s: \"%s\" is not an RFC 3339 time (2026-01-31T09:00:00Z)", name,
               value);
      return LB_E_INVALID;
    }
    *(name[0] == 's' ? &f->since_ms : &f->until_ms) = ms;
    return LB_E_OK;
  }
  if (strcmp(name, "partition") == 0) {
    int64_t v;
    lb_err rc = set_number(&v, name, value, INT32_MAX, err, errlen);
    if (rc == LB_E_OK)
      f->partition = (int32_t)v;
    return rc;
  }
  if (strcmp(name, "offset-from") == 0)
    return set_number(&f->offset_from, name, value, INT64_MAX, err, errlen);
  if (strcmp(name, "offset-to") == 0)
    return set_number(&f->offset_to, name, value, INT64_MAX, err, errlen);
  if (strcmp(name, "key") == 0)
    return set_string(&f->key, name, value, err, errlen);
  if (strcmp(name, "grep") == 0)
    return set_string(&f->grep, name, value, err, errlen);
  snprintf(err, errlen, "unknown filter \"%s\"", name);
  return LB_E_NOT_FOUND;
}

bool lb_dlq_filter_empty(const lb_dlq_filter *f)
{
  return !f->nintegrations && !f->nreasons && !f->nstatuses && f->since_ms < 0 && f->until_ms < 0 &&
         f->partition < 0 && f->offset_from < 0 && f->offset_to < 0 && !f->key && !f->grep;
}

static bool in_list(char *const *v, size_t n, const char *s)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp(v[i], s) == 0)
      return true;
  return false;
}

/* --grep: the message, the LMS's answer, and every other text header
 * (integration, class name, original topic, worker, the event's own
 * headers); values that are not text (a NUL, invalid UTF-8) are skipped. */
static bool grep_matches(const lb_dlq_record *r, const char *text)
{
  if ((r->message && lb_strbuf_contains_nocase(r->message, strlen(r->message), text)) ||
      (r->http_body && lb_strbuf_contains_nocase(r->http_body, strlen(r->http_body), text)))
    return true;
  const rd_kafka_headers_t *h = r->raw.headers;
  const char *name;
  const void *val;
  size_t size;
  for (size_t i = 0;
       h && rd_kafka_header_get_all(h, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; i++) {
    if (!val || lb_dlq_header_is_structured(name) || memchr(val, '\0', size) ||
        !lb_strbuf_utf8_valid(val, size, NULL))
      continue;
    if (lb_strbuf_contains_nocase(val, size, text))
      return true;
  }
  return false;
}

bool lb_dlq_filter_match(const lb_dlq_filter *f, const lb_dlq_record *r)
{
  if (f->nintegrations &&
      !in_list(f->integrations, f->nintegrations, r->integration ? r->integration : ""))
    return false;
  if (f->nreasons && !in_list(f->reasons, f->nreasons, r->reason ? r->reason : ""))
    return false;
  if (f->nstatuses) {
    bool any = false;
    for (size_t i = 0; i < f->nstatuses && !any; i++)
      any = r->http_status >= f->statuses[i].lo && r->http_status <= f->statuses[i].hi;
    if (!any)
      return false;
  }
  if (f->since_ms >= 0 || f->until_ms >= 0) {
    int64_t t = lb_dlq_record_time(r);
    if (t < 0 || (f->since_ms >= 0 && t < f->since_ms) || (f->until_ms >= 0 && t >= f->until_ms))
      return false;
  }
  if (f->partition >= 0 && r->partition != f->partition)
    return false;
  if ((f->offset_from >= 0 || f->offset_to >= 0) &&
      (r->offset < 0 || (f->offset_from >= 0 && r->offset < f->offset_from) ||
       (f->offset_to >= 0 && r->offset > f->offset_to)))
    return false;
  if (f->key && (!r->raw.key || r->raw.key_len != strlen(f->key) ||
                 memcmp(r->raw.key, f->key, r->raw.key_len) != 0))
    return false;
  if (f->grep && !grep_matches(r, f->grep))
    return false;
  return true;
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_range(const void *a, const void *b)
{
  const lb_dlq_status_range *x = a, *y = b;
  return x->lo != y->lo ? (x->lo > y->lo) - (x->lo < y->lo) : (x->hi > y->hi) - (x->hi < y->hi);
}

/* Sorted, duplicates once, comma-joined. */
static void canonical_list(lb_strbuf *b, const char *name, char *const *v, size_t n)
{
  if (!n)
    return;
  char **s = malloc(n * sizeof(*s));
  if (!s) {
    b->overflow = true;
    return;
  }
  memcpy(s, v, n * sizeof(*s));
  qsort(s, n, sizeof(*s), cmp_str);
  lb_strbuf_appendf(b, "%s%s=", b->len ? " " : "", name);
  for (size_t i = 0; i < n; i++)
    if (i == 0 || strcmp(s[i], s[i - 1]) != 0)
      lb_strbuf_appendf(b, "%s%s", i ? "," : "", s[i]);
  free(s);
}

char *lb_dlq_filter_canonical(const lb_dlq_filter *f)
{
  lb_strbuf b;
  char ts[40];
  lb_strbuf_init(&b, 0);
  canonical_list(&b, "integration", f->integrations, f->nintegrations);
  canonical_list(&b, "reason", f->reasons, f->nreasons);
  if (f->nstatuses) {
    lb_dlq_status_range *s = malloc(f->nstatuses * sizeof(*s));
    if (!s) {
      lb_strbuf_release(&b);
      return NULL;
    }
    memcpy(s, f->statuses, f->nstatuses * sizeof(*s));
    qsort(s, f->nstatuses, sizeof(*s), cmp_range);
    lb_strbuf_appendf(&b, "%sstatus=", b.len ? " " : "");
    for (size_t i = 0; i < f->nstatuses; i++)
      if (i == 0 || cmp_range(&s[i], &s[i - 1]) != 0)
        lb_strbuf_appendf(&b, "%s%d-%d", i ? "," : "", s[i].lo, s[i].hi);
    free(s);
  }
  if (f->since_ms >= 0)
    lb_strbuf_appendf(&b, "%ssince=%s", b.len ? " " : "",
                      lb_time_format_rfc3339(f->since_ms, ts, sizeof(ts)));
  if (f->until_ms >= 0)
    lb_strbuf_appendf(&b, "%suntil=%s", b.len ? " " : "",
                      lb_time_format_rfc3339(f->until_ms, ts, sizeof(ts)));
  if (f->partition >= 0)
    lb_strbuf_appendf(&b, "%spartition=%d", b.len ? " " : "", (int)f->partition);
  if (f->offset_from >= 0)
    lb_strbuf_appendf(&b, "%soffset-from=%lld", b.len ? " " : "", (long long)f->offset_from);
  if (f->offset_to >= 0)
    lb_strbuf_appendf(&b, "%soffset-to=%lld", b.len ? " " : "", (long long)f->offset_to);
  /* free text last, JSON-quoted so spaces cannot make two selections
   * read alike */
  if (f->key) {
    lb_strbuf_appendf(&b, "%skey=", b.len ? " " : "");
    lb_strbuf_append_json_string(&b, f->key);
  }
  if (f->grep) {
    lb_strbuf_appendf(&b, "%sgrep=", b.len ? " " : "");
    lb_strbuf_append_json_string(&b, f->grep);
  }
  if (b.overflow) {
    lb_strbuf_release(&b);
    return NULL;
  }
  return lb_strbuf_detach(&b);
}

char *lb_dlq_progress_group(const char *group_id, const lb_dlq_filter *f)
{
  char *canon = lb_dlq_filter_canonical(f);
  lb_strbuf b;
  if (!canon)
    return NULL;
  lb_strbuf_init(&b, 0);
  lb_strbuf_appendf(&b, "%s.dlq-replay", group_id);
  if (*canon) {
    uint64_t h = lb_hash_str(canon);
    lb_strbuf_appendf(&b, ".%012llx", (unsigned long long)(h >> 16));
  }
  free(canon);
  if (b.overflow) {
    lb_strbuf_release(&b);
    return NULL;
  }
  return lb_strbuf_detach(&b);
}

/* ---- replay ---- */

lb_dlq_verdict lb_dlq_judge(const lb_dlq_policy *p, const lb_dlq_record *r)
{
  if (!r->topic)
    return LB_DLQ_REFUSE_NOT_DLQ;
  bool consumed = false;
  for (size_t i = 0; i < p->cfg->kafka.ntopics && !consumed; i++)
    consumed = strcmp(p->cfg->kafka.topics[i], r->topic) == 0;
  if (!consumed)
    return LB_DLQ_REFUSE_TOPIC;
  /* the engine cut its value to fit the DLQ: replayed, it would fail as an
   * invalid event (or, cut at a lucky place, deliver a different one) */
  if (r->value_truncated)
    return LB_DLQ_REFUSE_TRUNCATED;
  if (r->replays >= p->max_replays)
    return LB_DLQ_REFUSE_LIMIT;
  if (!r->integration)
    return p->allow_untargeted ? LB_DLQ_REPLAY_UNTARGETED : LB_DLQ_REFUSE_UNTARGETED;
  if (!lb_config_integration(p->cfg, r->integration))
    return LB_DLQ_REFUSE_INTEGRATION;
  return LB_DLQ_REPLAY;
}

bool lb_dlq_verdict_replays(lb_dlq_verdict v)
{
  return v == LB_DLQ_REPLAY || v == LB_DLQ_REPLAY_UNTARGETED;
}

const char *lb_dlq_verdict_name(lb_dlq_verdict v)
{
  switch (v) {
  case LB_DLQ_REPLAY:
    return "replay";
  case LB_DLQ_REPLAY_UNTARGETED:
    return "replay_untargeted";
  case LB_DLQ_REFUSE_NOT_DLQ:
    return "not_a_dead_letter";
  case LB_DLQ_REFUSE_TOPIC:
    return "unknown_topic";
  case LB_DLQ_REFUSE_TRUNCATED:
    return "truncated";
  case LB_DLQ_REFUSE_LIMIT:
    return "replay_limit";
  case LB_DLQ_REFUSE_UNTARGETED:
    return "no_integration";
  case LB_DLQ_REFUSE_INTEGRATION:
    return "unknown_integration";
  default:
    return "unknown";
  }
}

rd_kafka_headers_t *lb_dlq_replay_headers(const lb_dlq_record *r, bool targeted)
{
  const rd_kafka_headers_t *src = r->raw.headers;
  rd_kafka_headers_t *h = rd_kafka_headers_new(src ? rd_kafka_header_cnt(src) + 3 : 3);
  const char *name;
  const void *val;
  size_t size;
  char buf[64];

  for (size_t i = 0;
       src && rd_kafka_header_get_all(src, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
       i++)
    if (!lb_dlq_header_is_own(name))
      rd_kafka_header_add(h, name, -1, val, val ? (ssize_t)size : 0);
  if (targeted && r->integration) {
    rd_kafka_header_add(h, NAME(TARGET), -1, r->integration, -1);
    /* a resync's dead letter goes back as a resync: the customer wiped
     * its catalog, so "unchanged since delivered" does not hold */
    if (r->resync)
      rd_kafka_header_add(h, NAME(RESYNC), -1, "true", -1);
  }
  snprintf(buf, sizeof(buf), "%d", r->replays + 1);
  rd_kafka_header_add(h, NAME(REPLAYS), -1, buf, -1);
  lb_strbuf from;
  lb_strbuf_init(&from, 0);
  lb_strbuf_appendf(&from, "%s/%d/%lld", r->raw.topic ? r->raw.topic : "", (int)r->raw.partition,
                    (long long)r->raw.offset);
  rd_kafka_header_add(h, NAME(REPLAYED_FROM), -1, from.buf ? from.buf : "", (ssize_t)from.len);
  lb_strbuf_release(&from);
  return h;
}

/* ---- totals ---- */

struct lb_dlq_count {
  char *integration;
  char *reason;
  long long n;
};

void lb_dlq_totals_init(lb_dlq_totals *t)
{
  *t = (lb_dlq_totals){ 0 };
}

void lb_dlq_totals_release(lb_dlq_totals *t)
{
  if (!t)
    return;
  for (size_t i = 0; i < t->n; i++) {
    free(t->rows[i].integration);
    free(t->rows[i].reason);
  }
  free(t->rows);
  lb_dlq_totals_init(t);
}

int lb_dlq_totals_add(lb_dlq_totals *t, const char *integration, const char *reason)
{
  const char *in = integration && *integration ? integration : NONE;
  const char *re = reason && *reason ? reason : NONE;
  t->total++;
  if (t->n >= TOTALS_MAX_ROWS)
    in = re = OTHER;
  for (size_t i = 0; i < t->n; i++) {
    if (strcmp(t->rows[i].integration, in) == 0 && strcmp(t->rows[i].reason, re) == 0) {
      t->rows[i].n++;
      return 0;
    }
  }
  if (t->n == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 16;
    struct lb_dlq_count *rows = realloc(t->rows, cap * sizeof(*rows));
    if (!rows)
      return -1;
    t->rows = rows;
    t->cap = cap;
  }
  struct lb_dlq_count *c = &t->rows[t->n];
  c->integration = strdup(in);
  c->reason = strdup(re);
  if (!c->integration || !c->reason) {
    free(c->integration);
    free(c->reason);
    return -1;
  }
  c->n = 1;
  t->n++;
  return 0;
}

static void bump(json_object *o, const char *key, long long n)
{
  json_object *v;
  if (json_object_object_get_ex(o, key, &v))
    n += json_object_get_int64(v);
  json_object_object_add(o, key, json_object_new_int64(n));
}

static int cmp_rows(const void *a, const void *b)
{
  const struct lb_dlq_count *x = a, *y = b;
  int c = strcmp(x->integration, y->integration);
  return c ? c : strcmp(x->reason, y->reason);
}

json_object *lb_dlq_totals_json(const lb_dlq_totals *t)
{
  json_object *o = json_object_new_object(), *by_i = json_object_new_object(),
              *by_r = json_object_new_object(), *both = json_object_new_object();
  struct lb_dlq_count *rows = t->n ? malloc(t->n * sizeof(*rows)) : NULL;
  size_t n = rows ? t->n : 0;
  if (n)
    memcpy(rows, t->rows, n * sizeof(*rows));
  if (n)
    qsort(rows, n, sizeof(*rows), cmp_rows); /* stable output order */
  for (size_t i = 0; i < n; i++) {
    const struct lb_dlq_count *c = &rows[i];
    /* header values a producer may have made up: the keys stay UTF-8 */
    lb_strbuf ib, rb;
    const char *integ = valid_text(c->integration, &ib), *reason = valid_text(c->reason, &rb);
    bump(by_i, integ, c->n);
    bump(by_r, reason, c->n);
    json_object *in;
    if (!json_object_object_get_ex(both, integ, &in)) {
      in = json_object_new_object();
      json_object_object_add(both, integ, in);
    }
    bump(in, reason, c->n);
    lb_strbuf_release(&ib);
    lb_strbuf_release(&rb);
  }
  free(rows);
  json_object_object_add(o, "total", json_object_new_int64(t->total));
  json_object_object_add(o, "by_integration", by_i);
  json_object_object_add(o, "by_reason", by_r);
  json_object_object_add(o, "by_integration_and_reason", both);
  return o;
}
