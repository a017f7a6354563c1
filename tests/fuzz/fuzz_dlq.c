/* Fuzz target dlq: a record of the dead-letter topic as dlq-replay reads
 * it (key, value, any headers), and a dead letter's headers as the engine
 * builds them from an LMS's answer: lb_dlq_headers_add, then
 * lb_dlq_record_decode and everything dlq-replay does with a record (the
 * list line, the filters, the verdict for tests/fuzz/plan.conf, the
 * replayed record's headers, the totals of --count), and the engine's
 * reading of a parked record (lb_dlq_parked_read).
 *
 * Input: a flags byte (bit 0: no key, 1: no value, 2: no timestamp, 3: no
 * headers, 4: --untargeted, 5: the engine's headers first, 6: with a cut
 * value); with bit 5, the dead letter's topic, integration, message and
 * LMS body (NUL-separated) and its HTTP status and attempts (three bytes);
 * then the key and the value, then header names and values, alternately
 * (NUL-separated; a value of the one byte 0x01 is a null value).
 *
 * Besides not crashing:
 * - the engine's headers carry the message and the LMS's body cut to
 *   their limits, UTF-8 when given UTF-8, without a registered secret;
 * - a decoded record's texts are within LB_DLQ_HEADER_MAX and its numbers
 *   within their ranges; its list line (and --count's totals) is JSON;
 * - a record is replayed only when it came from a topic the worker
 *   consumes, was not cut, is under the replay limit and names a
 *   configured integration (or none, with --untargeted); the replayed
 *   record carries none of the dead letter's headers, its target and its
 *   replay count plus one. */
#include <librdkafka/rdkafka.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "lb_dlq.h"
#include "lb_json.h"
#include "lb_log.h"
#include "lb_strbuf.h"

#define MAX_REPLAYS 3
#define NOW_MS 1800000000000

static const lb_config *cfg;
static lb_dlq_filter filters[4]; /* the first empty */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  static const char *const opts[][2] = {
    { "grep", "token" },
    { "status", "4xx,503" },
    { "reason", "permanent_http,auth" },
    { "integration", "acme-degreed," },
    { "since", "2026-01-01T00:00:00Z" },
    { "partition", "3" },
    { "offset-from", "10" },
    { "key", "course-1" },
  };
  static const int filter_of[] = { 1, 1, 2, 2, 2, 3, 3, 3 };
  char err[256];
  cfg = fz_plan_config(&lb_worker_catalog);
  for (size_t i = 0; i < 4; i++)
    lb_dlq_filter_init(&filters[i]);
  for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
    FZ_CHECK(lb_dlq_filter_add(&filters[filter_of[i]], opts[i][0], opts[i][1], err, sizeof(err)) ==
                 LB_E_OK,
             "--%s %s: %s", opts[i][0], opts[i][1], err);
  for (size_t i = 0; fz_secrets[i]; i++)
    lb_log_add_secret(fz_secrets[i]);
  return 0;
}

static void check_built_text(const rd_kafka_headers_t *h, lb_dlq_header name, const char *given,
                             size_t max)
{
  const void *v = NULL;
  size_t n = 0;
  FZ_CHECK(rd_kafka_header_get_last(h, lb_dlq_header_name(name), &v, &n) ==
                   RD_KAFKA_RESP_ERR_NO_ERROR &&
               v,
           "%s not written", lb_dlq_header_name(name));
  FZ_CHECK(n <= max, "%s of %zu bytes", lb_dlq_header_name(name), n);
  if (lb_strbuf_utf8_valid(given, strlen(given), NULL))
    fz_check_utf8(lb_dlq_header_name(name), v, n);
  for (size_t i = 0; fz_secrets[i]; i++)
    FZ_CHECK(!fz_holds(v, n, fz_secrets[i]), "%s holds a secret", lb_dlq_header_name(name));
}

/* The engine's dead-letter headers from the input's fields. */
static void add_built(rd_kafka_headers_t *h, fz_input *in, bool truncated)
{
  char *topic = fz_take_str(in), *integration = fz_take_str(in), *message = fz_take_str(in),
       *body = fz_take_str(in);
  int status = (fz_take_byte(in) << 8) | fz_take_byte(in);
  lb_dlq_fields f = { .topic = topic,
                      .partition = 1,
                      .offset = 99,
                      .reason = lb_dlq_reasons[status % LB_DLQ_CLASS__COUNT],
                      .message = message,
                      .integration = integration,
                      .http_status = status,
                      .http_body = body,
                      .attempts = fz_take_byte(in),
                      .first_failure_ms = NOW_MS - 60000,
                      .last_failure_ms = NOW_MS,
                      .worker = "catalog-worker",
                      .value_truncated = truncated,
                      .value_original_bytes = 2000000,
                      .headers_dropped = status % 3 - 1 };
  lb_dlq_headers_add(h, &f);
  check_built_text(h, LB_DLQ_H_MESSAGE, message, LB_DLQ_MESSAGE_MAX);
  check_built_text(h, LB_DLQ_H_HTTP_BODY, body, LB_DLQ_BODY_MAX);
  free(topic);
  free(integration);
  free(message);
  free(body);
}

static void check_text(const char *what, const char *s)
{
  FZ_CHECK(!s || strlen(s) <= LB_DLQ_HEADER_MAX, "%s of %zu bytes", what, strlen(s));
}

static void check_record(const lb_dlq_record *r)
{
  check_text("topic", r->topic);
  check_text("reason", r->reason);
  check_text("message", r->message);
  check_text("integration", r->integration);
  check_text("http body", r->http_body);
  check_text("first failure", r->first_failure);
  check_text("last failure", r->last_failure);
  check_text("worker", r->worker);
  FZ_CHECK(!r->topic || r->topic[0], "an empty topic kept");
  FZ_CHECK(!r->integration || r->integration[0], "an empty integration kept");
  FZ_CHECK(r->partition >= -1 && r->offset >= -1 && r->http_status >= 0 && r->http_status <= 999 &&
               r->attempts >= 0 && r->replays >= 0 && r->value_original_bytes >= -1 &&
               r->headers_dropped >= -1,
           "partition %d offset %lld status %d attempts %d replays %d", (int)r->partition,
           (long long)r->offset, r->http_status, r->attempts, r->replays);
  FZ_CHECK(lb_dlq_record_time(r) >= -1, "a time before the epoch");
}

static void check_json(const char *what, json_object *o)
{
  const char *text = lb_json_text(o);
  size_t len = strlen(text);
  fz_check_utf8(what, text, len);
  fz_check_json(what, text, len);
}

static bool same(const void *a, size_t alen, const char *b)
{
  return b && alen == strlen(b) && memcmp(a, b, alen) == 0;
}

static void check_replay(const lb_dlq_record *r, lb_dlq_verdict v)
{
  bool consumed = false;
  for (size_t i = 0; r->topic && i < cfg->kafka.ntopics; i++)
    consumed = consumed || strcmp(cfg->kafka.topics[i], r->topic) == 0;
  FZ_CHECK(consumed && !r->value_truncated && r->replays < MAX_REPLAYS,
           "%s: topic %s, cut %d, %d replays", lb_dlq_verdict_name(v),
           r->topic ? r->topic : "(none)", r->value_truncated, r->replays);
  FZ_CHECK(v == LB_DLQ_REPLAY ? r->integration && lb_config_integration(cfg, r->integration)
                              : !r->integration,
           "%s for integration %s", lb_dlq_verdict_name(v),
           r->integration ? r->integration : "(none)");

  rd_kafka_headers_t *h = lb_dlq_replay_headers(r, v == LB_DLQ_REPLAY);
  const char *name;
  const void *val;
  size_t size;
  char replays[32];
  bool target = false;
  snprintf(replays, sizeof(replays), "%d", r->replays + 1);
  for (size_t i = 0;
       rd_kafka_header_get_all(h, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; i++) {
    if (!lb_dlq_header_is_own(name))
      continue;
    if (strcmp(name, lb_dlq_header_name(LB_DLQ_H_TARGET)) == 0) {
      FZ_CHECK(v == LB_DLQ_REPLAY && same(val, size, r->integration), "the target");
      target = true;
    } else if (strcmp(name, lb_dlq_header_name(LB_DLQ_H_REPLAYS)) == 0) {
      FZ_CHECK(same(val, size, replays), "the replay count");
    } else {
      FZ_CHECK(strcmp(name, lb_dlq_header_name(LB_DLQ_H_REPLAYED_FROM)) == 0,
               "a replayed record carries %s", name);
    }
  }
  FZ_CHECK(target == (v == LB_DLQ_REPLAY), "no target on a targeted replay");
  rd_kafka_headers_destroy(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  fz_input in = { data, size };
  fz_begin(data, size);
  uint8_t flags = fz_take_byte(&in);
  rd_kafka_headers_t *h = rd_kafka_headers_new(8);
  if (flags & 0x20)
    add_built(h, &in, flags & 0x40);
  char *key = fz_take_str(&in), *value = fz_take_str(&in);
  while (in.n > 0) {
    char *name = fz_take_str(&in), *v = fz_take_str(&in);
    bool null = strcmp(v, "\x01") == 0;
    rd_kafka_header_add(h, name, -1, null ? NULL : v, null ? 0 : -1);
    free(name);
    free(v);
  }
  lb_dlq_raw raw = { .topic = "catalog-events.dlq",
                     .partition = 0,
                     .offset = 41,
                     .timestamp_ms = flags & 4 ? -1 : NOW_MS,
                     .key = flags & 1 ? NULL : key,
                     .key_len = strlen(key),
                     .value = flags & 2 ? NULL : value,
                     .value_len = strlen(value),
                     .headers = flags & 8 ? NULL : h };
  if (!raw.key)
    raw.key_len = 0;
  if (!raw.value)
    raw.value_len = 0;

  lb_dlq_record rec;
  FZ_CHECK(lb_dlq_record_decode(&rec, &raw) == LB_E_OK, "decoding");
  check_record(&rec);
  json_object *line = lb_dlq_record_json(&rec);
  check_json("the list line", line);
  json_object_put(line);

  FZ_CHECK(lb_dlq_filter_match(&filters[0], &rec), "no filter, and not selected");
  for (size_t i = 1; i < 4; i++)
    (void)lb_dlq_filter_match(&filters[i], &rec);

  lb_dlq_policy pol = { .cfg = cfg, .max_replays = MAX_REPLAYS, .allow_untargeted = flags & 0x10 };
  lb_dlq_verdict v = lb_dlq_judge(&pol, &rec);
  FZ_CHECK(v >= LB_DLQ_REPLAY && v < LB_DLQ_VERDICT__COUNT &&
               strcmp(lb_dlq_verdict_name(v), "unknown") != 0,
           "verdict %d", (int)v);
  if (lb_dlq_verdict_replays(v))
    check_replay(&rec, v);

  lb_dlq_totals t;
  lb_dlq_totals_init(&t);
  lb_dlq_totals_add(&t, rec.integration, rec.reason);
  lb_dlq_totals_add(&t, rec.integration, rec.reason);
  lb_dlq_totals_add(&t, NULL, rec.reason);
  FZ_CHECK(t.total == 3, "%lld counted", t.total);
  json_object *totals = lb_dlq_totals_json(&t);
  check_json("the totals", totals);
  json_object_put(totals);
  lb_dlq_totals_release(&t);

  lb_dlq_parked pk;
  lb_dlq_parked_read(raw.headers, &pk);
  FZ_CHECK(strlen(pk.target) < sizeof(pk.target) && strlen(pk.orig_topic) < sizeof(pk.orig_topic),
           "parked texts");

  lb_dlq_record_release(&rec);
  rd_kafka_headers_destroy(h);
  free(key);
  free(value);
  return 0;
}
