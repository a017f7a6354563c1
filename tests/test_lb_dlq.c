/* lb_dlq: DLQ headers decoded, filters, verdicts, replay headers, the list
 * line and totals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_dlq.h"
#include "lb_json.h"
#include "lb_log.h"
#include "lb_strbuf.h"
#include "lb_time.h"

/* A DLQ record as the engine writes one (docs/delivery.md). */
static rd_kafka_headers_t *engine_headers(const char *integration, const char *reason, int status,
                                          int replays, const char *last_failure)
{
  char buf[32];
  rd_kafka_headers_t *h = rd_kafka_headers_new(16);
  rd_kafka_header_add(h, "trace-id", -1, "t-1", -1);
  rd_kafka_header_add(h, "__connect.errors.topic", -1, "completion-events", -1);
  rd_kafka_header_add(h, "__connect.errors.partition", -1, "3", -1);
  rd_kafka_header_add(h, "__connect.errors.offset", -1, "1234", -1);
  rd_kafka_header_add(h, "__connect.errors.exception.class.name", -1, reason, -1);
  rd_kafka_header_add(h, "__connect.errors.exception.message", -1,
                      "HTTP 400: Invalid user identifier", -1);
  rd_kafka_header_add(h, "lmsbridge.integration", -1, integration, -1);
  snprintf(buf, sizeof(buf), "%d", status);
  rd_kafka_header_add(h, "lmsbridge.http.status", -1, buf, -1);
  rd_kafka_header_add(h, "lmsbridge.http.body", -1, "{\"errors\":[]}", -1);
  rd_kafka_header_add(h, "lmsbridge.attempts", -1, "1", -1);
  rd_kafka_header_add(h, "lmsbridge.first_failure", -1, "2026-01-02T03:04:05.000Z", -1);
  rd_kafka_header_add(h, "lmsbridge.last_failure", -1, last_failure, -1);
  rd_kafka_header_add(h, "lmsbridge.worker", -1, "completion-worker", -1);
  snprintf(buf, sizeof(buf), "%d", replays);
  rd_kafka_header_add(h, "lmsbridge.replays", -1, buf, -1);
  rd_kafka_header_add(h, "origin", -1, "e2e", -1);
  return h;
}

static lb_dlq_raw raw_of(rd_kafka_headers_t *h, const char *key, const char *value)
{
  return (lb_dlq_raw){ .topic = "completion-events.dlq",
                       .partition = 0,
                       .offset = 42,
                       .timestamp_ms = 1767323045000, /* 2026-01-02T03:04:05Z */
                       .key = key,
                       .key_len = key ? strlen(key) : 0,
                       .value = value,
                       .value_len = value ? strlen(value) : 0,
                       .headers = h };
}

static void test_decode_engine_record(void **state)
{
  (void)state;
  rd_kafka_headers_t *h =
      engine_headers("acme-degreed", "permanent_http", 400, 2, "2026-01-02T03:05:00.500Z");
  lb_dlq_raw raw = raw_of(h, "u1", "{\"a\":1}");
  lb_dlq_record r;
  assert_int_equal(lb_dlq_record_decode(&r, &raw), LB_E_OK);
  assert_string_equal(r.topic, "completion-events");
  assert_int_equal(r.partition, 3);
  assert_int_equal(r.offset, 1234);
  assert_string_equal(r.reason, "permanent_http");
  assert_string_equal(r.message, "HTTP 400: Invalid user identifier");
  assert_string_equal(r.integration, "acme-degreed");
  assert_int_equal(r.http_status, 400);
  assert_string_equal(r.http_body, "{\"errors\":[]}");
  assert_int_equal(r.attempts, 1);
  assert_int_equal(r.replays, 2);
  assert_string_equal(r.worker, "completion-worker");
  int64_t ms;
  assert_int_equal(lb_time_parse_rfc3339("2026-01-02T03:05:00.500Z", &ms), LB_E_OK);
  assert_int_equal(r.last_failure_ms, ms);
  assert_int_equal(lb_dlq_record_time(&r), ms);
  lb_dlq_record_release(&r);
  rd_kafka_headers_destroy(h);
}

static void test_decode_foreign_and_broken_headers(void **state)
{
  (void)state;
  /* no headers at all: a record somebody else wrote to the topic */
  lb_dlq_raw raw = raw_of(NULL, NULL, "x");
  lb_dlq_record r;
  assert_int_equal(lb_dlq_record_decode(&r, &raw), LB_E_OK);
  assert_null(r.topic);
  assert_null(r.integration);
  assert_int_equal(r.partition, -1);
  assert_int_equal(r.offset, -1);
  assert_int_equal(r.replays, 0);
  assert_int_equal(r.last_failure_ms, -1);
  /* no last_failure: the DLQ record's timestamp */
  assert_int_equal(lb_dlq_record_time(&r), 1767323045000);
  lb_dlq_record_release(&r);

  /* numbers that are not numbers, an empty integration (invalid event),
   * an empty topic, a body longer than the cap */
  rd_kafka_headers_t *h = rd_kafka_headers_new(8);
  rd_kafka_header_add(h, "__connect.errors.topic", -1, "", -1);
  rd_kafka_header_add(h, "__connect.errors.partition", -1, "3x", -1);
  rd_kafka_header_add(h, "__connect.errors.offset", -1, "-5", -1);
  rd_kafka_header_add(h, "lmsbridge.integration", -1, "", -1);
  rd_kafka_header_add(h, "lmsbridge.replays", -1, "lots", -1);
  rd_kafka_header_add(h, "lmsbridge.http.status", -1, "99999", -1);
  rd_kafka_header_add(h, "lmsbridge.last_failure", -1, "yesterday", -1);
  char *big = malloc(LB_DLQ_HEADER_MAX + 100);
  memset(big, 'b', LB_DLQ_HEADER_MAX + 100);
  rd_kafka_header_add(h, "lmsbridge.http.body", -1, big, LB_DLQ_HEADER_MAX + 100);
  free(big);
  raw = raw_of(h, "k", "v");
  raw.timestamp_ms = -1;
  assert_int_equal(lb_dlq_record_decode(&r, &raw), LB_E_OK);
  assert_null(r.topic);
  assert_null(r.integration);
  assert_int_equal(r.partition, -1);
  assert_int_equal(r.offset, -1);
  assert_int_equal(r.replays, 0);
  assert_int_equal(r.http_status, 0);
  assert_int_equal(r.last_failure_ms, -1);
  assert_int_equal(lb_dlq_record_time(&r), -1);
  assert_int_equal(strlen(r.http_body), LB_DLQ_HEADER_MAX);
  lb_dlq_record_release(&r);
  lb_dlq_record_release(NULL);
  rd_kafka_headers_destroy(h);
}

static json_object *get(json_object *o, const char *key)
{
  json_object *v = NULL;
  json_object_object_get_ex(o, key, &v);
  return v;
}

/* Whether text is valid UTF-8 and parses as JSON (lb_json_parse is strict
 * about both): what `list` and `--count` print must be, whatever a record
 * holds. */
static bool valid_json_text(const char *text)
{
  json_object *back = NULL;
  char err[128];
  if (lb_json_parse(text, strlen(text), &back, err, sizeof(err)) != LB_E_OK) {
    print_message("not valid JSON (%s): %s\n", err, text);
    return false;
  }
  json_object_put(back);
  return true;
}

/* Header names, classes and integrations a producer made up (invalid
 * UTF-8) come out as U+FFFD in valid JSON, in `list` and in `--count`. */
static void test_json_of_hostile_records(void **state)
{
  (void)state;
  rd_kafka_headers_t *h = rd_kafka_headers_new(4);
  rd_kafka_header_add(h, "\xE0", -1, NULL, 0);
  rd_kafka_header_add(h,
                      "tr\xFF"
                      "ace",
                      -1, "\xC3", -1);
  rd_kafka_header_add(h, "__connect.errors.exception.class.name", -1, "perm\xC0", -1);
  rd_kafka_header_add(h, "lmsbridge.integration", -1, "ac\xEDme", -1);
  lb_dlq_raw raw = raw_of(h, "k", "v");
  lb_dlq_record r;
  assert_int_equal(lb_dlq_record_decode(&r, &raw), LB_E_OK);
  json_object *o = lb_dlq_record_json(&r);
  const char *line = lb_json_text(o);
  assert_true(valid_json_text(line));
  json_object *hd = get(o, "headers");
  assert_true(json_object_object_get_ex(hd, "\xEF\xBF\xBD", NULL));
  assert_non_null(get(hd, "tr\xEF\xBF\xBD"
                          "ace_base64"));
  json_object_put(o);

  lb_dlq_totals t;
  lb_dlq_totals_init(&t);
  assert_int_equal(lb_dlq_totals_add(&t, r.integration, r.reason), 0);
  assert_int_equal(lb_dlq_totals_add(&t, "ac\xEDme", "auth"), 0);
  o = lb_dlq_totals_json(&t);
  line = lb_json_text(o);
  assert_true(valid_json_text(line));
  json_object *by_i = get(o, "by_integration");
  assert_int_equal(json_object_get_int(get(by_i, "ac\xEF\xBF\xBDme")), 2);
  json_object_put(o);
  lb_dlq_totals_release(&t);
  lb_dlq_record_release(&r);
  rd_kafka_headers_destroy(h);
}

static void test_list_line(void **state)
{
  (void)state;
  rd_kafka_headers_t *h =
      engine_headers("acme-degreed", "permanent_http", 400, 0, "2026-01-02T03:05:00.000Z");
  lb_dlq_raw raw = raw_of(h, "u1", "{\"schema\":\"completion.v1\",\"n\":[1,2]}");
  lb_dlq_record r;
  assert_int_equal(lb_dlq_record_decode(&r, &raw), LB_E_OK);
  json_object *o = lb_dlq_record_json(&r);
  assert_string_equal(json_object_get_string(get(o, "topic")), "completion-events");
  assert_int_equal(json_object_get_int(get(o, "partition")), 3);
  assert_int_equal(json_object_get_int64(get(o, "offset")), 1234);
  assert_string_equal(json_object_get_string(get(o, "key")), "u1");
  /* a JSON value is embedded as JSON */
  assert_true(json_object_is_type(get(o, "value"), json_type_object));
  assert_string_equal(lb_json_text(get(o, "value")), "{\"schema\":\"completion.v1\",\"n\":[1,2]}");
  assert_string_equal(json_object_get_string(get(o, "reason")), "permanent_http");
  assert_string_equal(json_object_get_string(get(o, "integration")), "acme-degreed");
  assert_int_equal(json_object_get_int(get(o, "http_status")), 400);
  assert_string_equal(json_object_get_string(get(o, "http_body")), "{\"errors\":[]}");
  assert_int_equal(json_object_get_int(get(o, "attempts")), 1);
  assert_string_equal(json_object_get_string(get(o, "first_failure")), "2026-01-02T03:04:05.000Z");
  assert_int_equal(json_object_get_int(get(o, "replays")), 0);
  assert_int_equal(json_object_get_int(get(o, "dlq_partition")), 0);
  assert_int_equal(json_object_get_int(get(o, "dlq_offset")), 42);
  assert_string_equal(json_object_get_string(get(o, "dlq_timestamp")), "2026-01-02T03:04:05.000Z");
  assert_true(json_object_is_type(get(o, "value_truncated"), json_type_boolean));
  assert_false(json_object_get_boolean(get(o, "value_truncated")));
  assert_true(json_object_object_get_ex(o, "value_original_bytes", NULL));
  assert_null(get(o, "value_original_bytes"));
  assert_null(get(o, "headers_dropped"));
  /* the record's own headers, not the DLQ's */
  json_object *hd = get(o, "headers");
  assert_non_null(hd);
  assert_int_equal(json_object_object_length(hd), 2);
  assert_string_equal(json_object_get_string(get(hd, "trace-id")), "t-1");
  assert_string_equal(json_object_get_string(get(hd, "origin")), "e2e");
  json_object_put(o);
  lb_dlq_record_release(&r);

  /* not JSON: a string; not UTF-8: base64; a body cut inside a character */
  rd_kafka_headers_t *h2 = rd_kafka_headers_new(2);
  rd_kafka_header_add(h2, "lmsbridge.http.body", -1, "caf\xC3", -1);
  raw = raw_of(h2, "\xff\xfe", "not json");
  assert_int_equal(lb_dlq_record_decode(&r, &raw), LB_E_OK);
  o = lb_dlq_record_json(&r);
  assert_string_equal(json_object_get_string(get(o, "value")), "not json");
  assert_null(get(o, "key"));
  assert_string_equal(json_object_get_string(get(o, "key_base64")), "//4=");
  assert_string_equal(json_object_get_string(get(o, "http_body")), "caf\xEF\xBF\xBD");
  assert_null(get(o, "integration"));
  assert_null(get(o, "headers"));
  json_object_put(o);
  lb_dlq_record_release(&r);

  /* a dead letter the engine cut to fit: the marks are shown, not listed
   * among the event's own headers */
  rd_kafka_headers_t *h3 =
      engine_headers("acme-degreed", "retries_exhausted", 0, 0, "2026-01-02T03:05:00.000Z");
  rd_kafka_header_add(h3, "lmsbridge.value.truncated", -1, "true", -1);
  rd_kafka_header_add(h3, "lmsbridge.value.original_bytes", -1, "1500000", -1);
  rd_kafka_header_add(h3, "lmsbridge.headers.dropped", -1, "2", -1);
  raw = raw_of(h3, "u1", "{\"schema\":\"completion.v1\",\"pad\":\"xxx");
  assert_int_equal(lb_dlq_record_decode(&r, &raw), LB_E_OK);
  assert_true(r.value_truncated);
  assert_int_equal(r.value_original_bytes, 1500000);
  assert_int_equal(r.headers_dropped, 2);
  o = lb_dlq_record_json(&r);
  assert_true(json_object_get_boolean(get(o, "value_truncated")));
  assert_int_equal(json_object_get_int64(get(o, "value_original_bytes")), 1500000);
  assert_int_equal(json_object_get_int(get(o, "headers_dropped")), 2);
  assert_string_equal(json_object_get_string(get(o, "value")),
                      "{\"schema\":\"completion.v1\",\"pad\":\"xxx");
  assert_int_equal(json_object_object_length(get(o, "headers")), 2);
  json_object_put(o);
  lb_dlq_record_release(&r);
  assert_false(r.value_truncated);
  assert_int_equal(r.value_original_bytes, -1);
  assert_int_equal(r.headers_dropped, -1);
  rd_kafka_headers_destroy(h3);

  /* no key, no value (a tombstone) */
  raw = raw_of(NULL, NULL, NULL);
  assert_int_equal(lb_dlq_record_decode(&r, &raw), LB_E_OK);
  o = lb_dlq_record_json(&r);
  assert_true(json_object_object_get_ex(o, "key", NULL));
  assert_null(get(o, "key"));
  assert_null(get(o, "value"));
  json_object_put(o);
  lb_dlq_record_release(&r);
  rd_kafka_headers_destroy(h);
  rd_kafka_headers_destroy(h2);
}

/* ---- filters, by table ---- */

typedef struct {
  const char *opts[6]; /* "name=value" */
  bool match;          /* against the record of test_filters */
} filter_case;

/* Whether a filter of the one option name=value selects r. */
static bool matches(const lb_dlq_record *r, const char *name, const char *value)
{
  lb_dlq_filter f;
  char err[256];
  lb_dlq_filter_init(&f);
  assert_int_equal(lb_dlq_filter_add(&f, name, value, err, sizeof(err)), LB_E_OK);
  bool m = lb_dlq_filter_match(&f, r);
  lb_dlq_filter_release(&f);
  return m;
}

static void test_filters(void **state)
{
  (void)state;
  static const filter_case cases[] = {
    { { NULL }, true },
    { { "integration=acme-degreed" }, true },
    { { "integration=globex-sf" }, false },
    { { "integration=globex-sf,acme-degreed" }, true },
    { { "integration=globex-sf", "integration=acme-degreed" }, true },
    { { "integration=" }, false },
    { { "reason=permanent_http" }, true },
    { { "reason=auth,invalid_event" }, false },
    { { "status=400" }, true },
    { { "status=404" }, false },
    { { "status=4xx" }, true },
    { { "status=5xx,404" }, false },
    { { "status=5xx,4xx" }, true },
    { { "since=2026-01-02T03:05:00Z" }, true }, /* at the last failure: in */
    { { "since=2026-01-02T03:05:00.001Z" }, false },
    { { "until=2026-01-02T03:05:00Z" }, false }, /* until is exclusive */
    { { "until=2026-01-02T03:05:00.001Z" }, true },
    { { "since=2026-01-01T00:00:00Z", "until=2026-01-03T00:00:00Z" }, true },
    { { "partition=3" }, true },
    { { "partition=2" }, false },
    { { "offset-from=1234" }, true },
    { { "offset-from=1235" }, false },
    { { "offset-to=1234" }, true },
    { { "offset-to=1233" }, false },
    { { "offset-from=1000", "offset-to=2000" }, true },
    { { "key=u1" }, true },
    { { "key=u" }, false },
    { { "key=u11" }, false },
    { { "grep=invalid USER" }, true },
    { { "grep=timeout" }, false },
    { { "integration=acme-degreed", "reason=permanent_http", "status=400", "key=u1",
        "grep=identifier", "partition=3" },
      true },
    { { "integration=acme-degreed", "reason=permanent_http", "status=400", "key=u2" }, false },
  };
  rd_kafka_headers_t *h =
      engine_headers("acme-degreed", "permanent_http", 400, 0, "2026-01-02T03:05:00.000Z");
  lb_dlq_raw raw = raw_of(h, "u1", "{}");
  lb_dlq_record r;
  assert_int_equal(lb_dlq_record_decode(&r, &raw), LB_E_OK);
  char err[256];
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    lb_dlq_filter f;
    lb_dlq_filter_init(&f);
    for (int k = 0; k < 6 && cases[i].opts[k]; k++) {
      char name[32];
      const char *eq = strchr(cases[i].opts[k], '=');
      snprintf(name, sizeof(name), "%.*s", (int)(eq - cases[i].opts[k]), cases[i].opts[k]);
      assert_int_equal(lb_dlq_filter_add(&f, name, eq + 1, err, sizeof(err)), LB_E_OK);
    }
    assert_int_equal(lb_dlq_filter_empty(&f), cases[i].opts[0] == NULL);
    if (lb_dlq_filter_match(&f, &r) != cases[i].match)
      fail_msg("case %zu (%s...): expected %s", i, cases[i].opts[0] ? cases[i].opts[0] : "none",
               cases[i].match ? "a match" : "no match");
    lb_dlq_filter_release(&f);
  }
  lb_dlq_record_release(&r);
  rd_kafka_headers_destroy(h);

  /* a record without integration: matched by "" */
  raw = raw_of(NULL, "k", "v");
  assert_int_equal(lb_dlq_record_decode(&r, &raw), LB_E_OK);
  assert_true(matches(&r, "integration", ""));
  /* offset filters never match a record without an original offset */
  assert_false(matches(&r, "offset-from", "0"));
  lb_dlq_record_release(&r);
}

/* --grep searches the message, the LMS's answer and the other text
 * headers, case ignored; not the key, the value, numbers, times or a
 * header that is not text. */
static void test_grep_searches_message_body_and_text_headers(void **state)
{
  (void)state;
  static const struct {
    const char *text;
    bool match;
  } cases[] = {
    { "invalid user", true }, /* the LMS's answer only */
    { "INVALID USER IDENTIFIER: ZOE@ACME", true },
    { "zoe@acme.example", true },
    { "rejected by the lms", true }, /* the message */
    { "(http 400)", true },
    { "acme-degreed", true },        /* lmsbridge.integration */
    { "PERMANENT_HTTP", true },      /* the class name */
    { "completion-events", true },   /* the original topic */
    { "completion-worker", true },   /* lmsbridge.worker */
    { "trace-from-upstream", true }, /* the event's own header */
    { "", true },
    { "timeout", false },
    { "key-of-zoe", false },       /* the key is --key's */
    { "marker-in-value", false },  /* the value is not searched */
    { "98765", false },            /* the original offset */
    { "2026-01-02", false },       /* failure times */
    { "hidden-in-binary", false }, /* a header that is not text */
    { "true", false },             /* lmsbridge.value.truncated */
    { "1048601", false },          /* lmsbridge.value.original_bytes */
    { "invalid  user", false },
  };
  rd_kafka_headers_t *h = rd_kafka_headers_new(16);
  rd_kafka_header_add(h, "trace-id", -1, "trace-from-upstream", -1);
  rd_kafka_header_add(h, "blob", -1, "\0hidden-in-binary", 18);
  rd_kafka_header_add(h, "__connect.errors.topic", -1, "completion-events", -1);
  rd_kafka_header_add(h, "__connect.errors.partition", -1, "1", -1);
  rd_kafka_header_add(h, "__connect.errors.offset", -1, "98765", -1);
  rd_kafka_header_add(h, "__connect.errors.exception.class.name", -1, "permanent_http", -1);
  rd_kafka_header_add(h, "__connect.errors.exception.message", -1, "rejected by the LMS (HTTP 400)",
                      -1);
  rd_kafka_header_add(h, "lmsbridge.integration", -1, "acme-degreed", -1);
  rd_kafka_header_add(h, "lmsbridge.http.status", -1, "400", -1);
  rd_kafka_header_add(h, "lmsbridge.http.body", -1,
                      "{\"errors\":[{\"status\":\"400\",\"detail\":"
                      "\"Invalid user identifier: zoe@acme.example\"}]}",
                      -1);
  rd_kafka_header_add(h, "lmsbridge.first_failure", -1, "2026-01-02T03:04:05.000Z", -1);
  rd_kafka_header_add(h, "lmsbridge.last_failure", -1, "2026-01-02T03:05:00.000Z", -1);
  rd_kafka_header_add(h, "lmsbridge.worker", -1, "completion-worker", -1);
  rd_kafka_header_add(h, "lmsbridge.value.truncated", -1, "true", -1);
  rd_kafka_header_add(h, "lmsbridge.value.original_bytes", -1, "1048601", -1);
  lb_dlq_raw raw = raw_of(h, "key-of-zoe", "{\"marker-in-value\":1}");
  lb_dlq_record r;
  assert_int_equal(lb_dlq_record_decode(&r, &raw), LB_E_OK);
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    if (matches(&r, "grep", cases[i].text) != cases[i].match)
      fail_msg("--grep \"%s\": expected %s", cases[i].text,
               cases[i].match ? "a match" : "no match");
  lb_dlq_record_release(&r);
  rd_kafka_headers_destroy(h);

  /* a record without headers: nothing to find, nothing to crash on */
  raw = raw_of(NULL, "invalid user", "invalid user");
  assert_int_equal(lb_dlq_record_decode(&r, &raw), LB_E_OK);
  assert_false(matches(&r, "grep", "invalid user"));
  lb_dlq_record_release(&r);
}

static void test_filter_errors(void **state)
{
  (void)state;
  static const struct {
    const char *name, *value, *why;
  } bad[] = {
    { "reason", "permanent", "unknown class \"permanent\"" },
    { "reason", "auth,", "unknown class \"\"" },
    { "status", "40", "not an HTTP status" },
    { "status", "4xx,abc", "\"abc\" is not an HTTP status" },
    { "status", "6xx", "not an HTTP status" },
    { "since", "2026-01-02", "not an RFC 3339 time" },
    { "until", "2026-02-30T00:00:00Z", "not an RFC 3339 time" },
    { "partition", "-1", "not a number" },
    { "offset-from", "ten", "not a number" },
    { "offset-to", "12abc", "not a number" },
    { "integration", "acme degreed", "not an integration id" },
  };
  char err[256];
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    lb_dlq_filter f;
    lb_dlq_filter_init(&f);
    err[0] = '\0';
    assert_int_equal(lb_dlq_filter_add(&f, bad[i].name, bad[i].value, err, sizeof(err)),
                     LB_E_INVALID);
    if (!strstr(err, bad[i].why))
      fail_msg("--%s %s: \"%s\" does not say \"%s\"", bad[i].name, bad[i].value, err, bad[i].why);
    assert_true(lb_dlq_filter_empty(&f)); /* unchanged */
    lb_dlq_filter_release(&f);
  }
  lb_dlq_filter f;
  lb_dlq_filter_init(&f);
  assert_int_equal(lb_dlq_filter_add(&f, "key", "a", err, sizeof(err)), LB_E_OK);
  assert_int_equal(lb_dlq_filter_add(&f, "key", "b", err, sizeof(err)), LB_E_INVALID);
  assert_int_equal(lb_dlq_filter_add(&f, "color", "red", err, sizeof(err)), LB_E_NOT_FOUND);
  lb_dlq_filter_release(&f);
}

static lb_dlq_filter make_filter(const char *const *opts)
{
  lb_dlq_filter f;
  char err[256];
  lb_dlq_filter_init(&f);
  for (; *opts; opts += 2)
    assert_int_equal(lb_dlq_filter_add(&f, opts[0], opts[1], err, sizeof(err)), LB_E_OK);
  return f;
}

static void test_selection_names(void **state)
{
  (void)state;
  const char *a[] = {
    "reason", "auth,permanent_http", "integration", "b,a", "grep", "x y", "status", "4xx", NULL
  };
  const char *b[] = { "status", "4xx",         "grep", "x y",    "integration",
                      "a",      "integration", "b",    "reason", "permanent_http",
                      "reason", "auth",        NULL };
  const char *c[] = {
    "reason", "auth,permanent_http", "integration", "b,a", "key", "x y", "status", "4xx", NULL
  };
  const char *none[] = { NULL };
  lb_dlq_filter fa = make_filter(a), fb = make_filter(b), fc = make_filter(c),
                fn = make_filter(none);
  char *ca = lb_dlq_filter_canonical(&fa), *cb = lb_dlq_filter_canonical(&fb),
       *cc = lb_dlq_filter_canonical(&fc), *cn = lb_dlq_filter_canonical(&fn);
  /* the same criteria in any order name the same selection */
  assert_string_equal(ca, "integration=a,b reason=auth,permanent_http status=400-499 "
                          "grep=\"x y\"");
  assert_string_equal(ca, cb);
  assert_string_not_equal(ca, cc); /* the same text as a key is another selection */
  assert_string_equal(cn, "");
  char *ga = lb_dlq_progress_group("completion-worker", &fa);
  char *gb = lb_dlq_progress_group("completion-worker", &fb);
  char *gc = lb_dlq_progress_group("completion-worker", &fc);
  char *gn = lb_dlq_progress_group("completion-worker", &fn);
  assert_string_equal(gn, "completion-worker.dlq-replay");
  assert_string_equal(ga, gb);
  assert_string_not_equal(ga, gc);
  assert_int_equal(strlen(ga), strlen("completion-worker.dlq-replay.") + 12);
  assert_int_equal(strncmp(ga, "completion-worker.dlq-replay.", 29), 0);
  free(ca), free(cb), free(cc), free(cn), free(ga), free(gb), free(gc), free(gn);
  lb_dlq_filter_release(&fa), lb_dlq_filter_release(&fb), lb_dlq_filter_release(&fc),
      lb_dlq_filter_release(&fn);
}

/* ---- verdicts ---- */

static void test_verdicts(void **state)
{
  (void)state;
  char *topics[] = { "completion-events" };
  lb_integration integs[] = { { .id = "acme-degreed" }, { .id = "globex-sf" } };
  lb_config cfg = { 0 };
  cfg.kafka.topics = topics;
  cfg.kafka.ntopics = 1;
  cfg.integrations = integs;
  cfg.nintegrations = 2;
  static const struct {
    const char *topic, *integration;
    int replays, max;
    bool untargeted;
    const char *truncated; /* lmsbridge.value.truncated; NULL: absent */
    lb_dlq_verdict want;
  } cases[] = {
    { "completion-events", "acme-degreed", 0, 3, false, NULL, LB_DLQ_REPLAY },
    { "completion-events", "acme-degreed", 2, 3, false, NULL, LB_DLQ_REPLAY },
    { "completion-events", "acme-degreed", 3, 3, false, NULL, LB_DLQ_REFUSE_LIMIT },
    { "completion-events", "acme-degreed", 0, 0, false, NULL, LB_DLQ_REFUSE_LIMIT },
    { "completion-events", "", 0, 3, false, NULL, LB_DLQ_REFUSE_UNTARGETED },
    { "completion-events", "", 0, 3, true, NULL, LB_DLQ_REPLAY_UNTARGETED },
    { "completion-events", "", 5, 3, true, NULL, LB_DLQ_REFUSE_LIMIT },
    { "completion-events", "gone-degreed", 0, 3, false, NULL, LB_DLQ_REFUSE_INTEGRATION },
    { "catalog-events", "acme-degreed", 0, 3, false, NULL, LB_DLQ_REFUSE_TOPIC },
    { NULL, "acme-degreed", 0, 3, false, NULL, LB_DLQ_REFUSE_NOT_DLQ },
    /* a value cut to fit: no option replays it */
    { "completion-events", "acme-degreed", 0, 3, false, "true", LB_DLQ_REFUSE_TRUNCATED },
    { "completion-events", "acme-degreed", 0, 3, false, "TRUE", LB_DLQ_REFUSE_TRUNCATED },
    { "completion-events", "acme-degreed", 5, 3, false, "true", LB_DLQ_REFUSE_TRUNCATED },
    { "completion-events", "", 0, 3, true, "true", LB_DLQ_REFUSE_TRUNCATED },
    { "completion-events", "", 0, 3, false, "true", LB_DLQ_REFUSE_TRUNCATED },
    { "completion-events", "gone-degreed", 0, 3, false, "true", LB_DLQ_REFUSE_TRUNCATED },
    { "completion-events", "acme-degreed", 0, 3, false, "false", LB_DLQ_REPLAY },
    { "completion-events", "acme-degreed", 0, 3, false, "", LB_DLQ_REPLAY },
    { "completion-events", "acme-degreed", 0, 3, false, "truest", LB_DLQ_REPLAY },
    { "catalog-events", "acme-degreed", 0, 3, false, "true", LB_DLQ_REFUSE_TOPIC },
    { NULL, "acme-degreed", 0, 3, false, "true", LB_DLQ_REFUSE_NOT_DLQ },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char replays[16];
    rd_kafka_headers_t *h = rd_kafka_headers_new(4);
    if (cases[i].topic)
      rd_kafka_header_add(h, "__connect.errors.topic", -1, cases[i].topic, -1);
    rd_kafka_header_add(h, "lmsbridge.integration", -1, cases[i].integration, -1);
    snprintf(replays, sizeof(replays), "%d", cases[i].replays);
    rd_kafka_header_add(h, "lmsbridge.replays", -1, replays, -1);
    if (cases[i].truncated)
      rd_kafka_header_add(h, "lmsbridge.value.truncated", -1, cases[i].truncated, -1);
    lb_dlq_raw raw = raw_of(h, "k", "v");
    lb_dlq_record r;
    assert_int_equal(lb_dlq_record_decode(&r, &raw), LB_E_OK);
    lb_dlq_policy p = { .cfg = &cfg,
                        .max_replays = cases[i].max,
                        .allow_untargeted = cases[i].untargeted };
    lb_dlq_verdict v = lb_dlq_judge(&p, &r);
    if (v != cases[i].want)
      fail_msg("case %zu: %s, want %s", i, lb_dlq_verdict_name(v),
               lb_dlq_verdict_name(cases[i].want));
    assert_int_equal(lb_dlq_verdict_replays(v),
                     v == LB_DLQ_REPLAY || v == LB_DLQ_REPLAY_UNTARGETED);
    lb_dlq_record_release(&r);
    rd_kafka_headers_destroy(h);
  }
  assert_string_equal(lb_dlq_verdict_name(LB_DLQ_REFUSE_LIMIT), "replay_limit");
  assert_string_equal(lb_dlq_verdict_name(LB_DLQ_REFUSE_UNTARGETED), "no_integration");
  assert_string_equal(lb_dlq_verdict_name(LB_DLQ_REFUSE_TRUNCATED), "truncated");
  assert_false(lb_dlq_verdict_replays(LB_DLQ_REFUSE_TRUNCATED));
}

/* ---- the replayed record's headers ---- */

/* The i-th header of h is name with the len bytes of value. */
static void expect_header_at(const rd_kafka_headers_t *h, size_t i, const char *name,
                             const void *value, size_t len)
{
  const char *n;
  const void *val;
  size_t size;
  assert_int_equal(rd_kafka_header_get_all(h, i, &n, &val, &size), RD_KAFKA_RESP_ERR_NO_ERROR);
  assert_string_equal(n, name);
  assert_int_equal(size, len);
  assert_memory_equal(val, value, size);
}

static void test_replay_headers(void **state)
{
  (void)state;
  rd_kafka_headers_t *h =
      engine_headers("acme-degreed", "retries_exhausted", 503, 2, "2026-01-02T03:05:00.000Z");
  /* a header left by an earlier replay or park, and a binary one */
  rd_kafka_header_add(h, "lmsbridge.target", -1, "old-target", -1);
  rd_kafka_header_add(h, "bin", -1, "\x00\x01", 2);
  rd_kafka_header_add(h, "trace-id", -1, "t-2", -1); /* repeated name: kept too */
  lb_dlq_raw raw = raw_of(h, "u1", "{}");
  lb_dlq_record r;
  assert_int_equal(lb_dlq_record_decode(&r, &raw), LB_E_OK);

  rd_kafka_headers_t *out = lb_dlq_replay_headers(&r, true);
  static const char *const want[][2] = {
    { "trace-id", "t-1" },
    { "origin", "e2e" },
    { "bin", NULL },
    { "trace-id", "t-2" },
    { "lmsbridge.target", "acme-degreed" },
    { "lmsbridge.replays", "3" },
    { "lmsbridge.replayed_from", "completion-events.dlq/0/42" },
  };
  size_t n = sizeof(want) / sizeof(want[0]);
  assert_int_equal(rd_kafka_header_cnt(out), n);
  for (size_t i = 0; i < n; i++) /* NULL: the binary one */
    expect_header_at(out, i, want[i][0], want[i][1] ? want[i][1] : "\x00\x01",
                     want[i][1] ? strlen(want[i][1]) : 2);
  rd_kafka_headers_destroy(out);

  /* untargeted: no lmsbridge.target */
  out = lb_dlq_replay_headers(&r, false);
  const void *val;
  size_t size;
  assert_int_equal(rd_kafka_header_get_last(out, "lmsbridge.target", &val, &size),
                   RD_KAFKA_RESP_ERR__NOENT);
  assert_int_equal(rd_kafka_header_get_last(out, "lmsbridge.replays", &val, &size),
                   RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_headers_destroy(out);
  lb_dlq_record_release(&r);
  rd_kafka_headers_destroy(h);
}

/* ---- the contract: table and builder ---- */

/* The dead letter's headers of the contract (docs/delivery.md), in the order
 * written. */
static const char *const contract_names[] = {
  "__connect.errors.topic",
  "__connect.errors.partition",
  "__connect.errors.offset",
  "__connect.errors.exception.class.name",
  "__connect.errors.exception.message",
  "lmsbridge.integration",
  "lmsbridge.http.status",
  "lmsbridge.http.body",
  "lmsbridge.attempts",
  "lmsbridge.first_failure",
  "lmsbridge.last_failure",
  "lmsbridge.worker",
  "lmsbridge.replays",
};
#define NCONTRACT (sizeof(contract_names) / sizeof(contract_names[0]))

static void test_header_table(void **state)
{
  (void)state;
  for (size_t i = 0; i < LB_DLQ_H__COUNT; i++) {
    const lb_dlq_header_info *a = &lb_dlq_header_table[i];
    assert_non_null(a->name);
    for (size_t j = i + 1; j < LB_DLQ_H__COUNT; j++)
      assert_string_not_equal(a->name, lb_dlq_header_table[j].name);
    /* ours: under lmsbridge.; Kafka Connect's otherwise */
    assert_int_equal(a->ours, strncmp(a->name, "lmsbridge.", 10) == 0);
    if (!a->ours)
      assert_int_equal(strncmp(a->name, "__connect.errors.", 17), 0);
    assert_true(lb_dlq_header_is_own(a->name));
    assert_int_equal(lb_dlq_header_is_structured(a->name), !a->text);
  }
  /* the dead letter's headers come first, in the contract's order */
  for (size_t i = 0; i < NCONTRACT; i++)
    assert_string_equal(lb_dlq_header_name((lb_dlq_header)i), contract_names[i]);
  /* numbers, times and marks (not searched by --grep) */
  static const char *const structured[] = {
    "__connect.errors.partition", "__connect.errors.offset",   "lmsbridge.http.status",
    "lmsbridge.attempts",         "lmsbridge.replays",         "lmsbridge.first_failure",
    "lmsbridge.last_failure",     "lmsbridge.value.truncated", "lmsbridge.value.original_bytes",
    "lmsbridge.headers.dropped",  "lmsbridge.not_before",      "lmsbridge.original.partition",
    "lmsbridge.original.offset",  "lmsbridge.resync"
  };
  size_t nstructured = 0;
  for (size_t i = 0; i < LB_DLQ_H__COUNT; i++)
    nstructured += !lb_dlq_header_table[i].text;
  assert_int_equal(nstructured, sizeof(structured) / sizeof(structured[0]));
  for (size_t i = 0; i < nstructured; i++)
    assert_true(lb_dlq_header_is_structured(structured[i]));
  assert_false(lb_dlq_header_is_structured("__connect.errors.exception.message"));
  assert_false(lb_dlq_header_is_structured("lmsbridge.http.body"));
  assert_false(lb_dlq_header_is_structured("trace-id"));
  assert_false(lb_dlq_header_is_own("trace-id"));
  assert_true(lb_dlq_header_is_own("lmsbridge.some_future_one"));

  /* the six classes of the contract, each once, then NULL */
  static const char *const classes[] = { "invalid_event",     "mapping", "permanent_http",
                                         "retries_exhausted", "auth",    "config" };
  assert_int_equal(LB_DLQ_CLASS__COUNT, 6);
  for (size_t i = 0; i < 6; i++) {
    size_t seen = 0;
    for (size_t k = 0; lb_dlq_reasons[k]; k++)
      seen += strcmp(lb_dlq_reasons[k], classes[i]) == 0;
    assert_int_equal(seen, 1);
  }
  assert_string_equal(lb_dlq_reasons[LB_DLQ_PERMANENT_HTTP], "permanent_http");
  assert_string_equal(lb_dlq_reasons[LB_DLQ_RETRIES_EXHAUSTED], "retries_exhausted");
  assert_null(lb_dlq_reasons[LB_DLQ_CLASS__COUNT]);
}

/* h holds exactly want (name, value) in order. */
static void expect_headers(const rd_kafka_headers_t *h, const char *const (*want)[2], size_t n)
{
  assert_int_equal(rd_kafka_header_cnt(h), n);
  for (size_t i = 0; i < n; i++)
    expect_header_at(h, i, want[i][0], want[i][1], strlen(want[i][1]));
}

static lb_dlq_fields full_fields(void)
{
  return (lb_dlq_fields){ .topic = "completion-events",
                          .partition = 3,
                          .offset = 1234,
                          .reason = "permanent_http",
                          .message = "HTTP 400: Invalid user identifier",
                          .integration = "acme-degreed",
                          .http_status = 400,
                          .http_body = "{\"errors\":[]}",
                          .attempts = 2,
                          .first_failure_ms = 1767323045000, /* 2026-01-02T03:04:05.000Z */
                          .last_failure_ms = 1767323100500,  /* 2026-01-02T03:05:00.500Z */
                          .worker = "completion-worker",
                          .replays = 1,
                          .headers_dropped = -1 };
}

/* A resync's dead letter says so, and its targeted replay is a resync
 * again: the unchanged check must not skip what the customer wiped. */
static void test_replay_headers_resync(void **state)
{
  (void)state;
  for (int resync = 0; resync <= 1; resync++) {
    lb_dlq_fields f = full_fields();
    f.resync = resync;
    rd_kafka_headers_t *h = rd_kafka_headers_new(16);
    lb_dlq_headers_add(h, &f);
    const void *val;
    size_t size;
    assert_int_equal(rd_kafka_header_get_last(h, "lmsbridge.resync", &val, &size),
                     resync ? RD_KAFKA_RESP_ERR_NO_ERROR : RD_KAFKA_RESP_ERR__NOENT);
    lb_dlq_raw raw = raw_of(h, "u1", "{}");
    lb_dlq_record r;
    assert_int_equal(lb_dlq_record_decode(&r, &raw), LB_E_OK);
    assert_int_equal(r.resync, resync);
    rd_kafka_headers_t *out = lb_dlq_replay_headers(&r, true);
    lb_dlq_parked pk;
    lb_dlq_parked_read(out, &pk);
    assert_int_equal(pk.resync, resync);
    assert_string_equal(pk.target, "acme-degreed");
    rd_kafka_headers_destroy(out);
    /* untargeted, it is a new event for every integration: no resync */
    out = lb_dlq_replay_headers(&r, false);
    assert_int_equal(rd_kafka_header_get_last(out, "lmsbridge.resync", &val, &size),
                     RD_KAFKA_RESP_ERR__NOENT);
    rd_kafka_headers_destroy(out);
    lb_dlq_record_release(&r);
    rd_kafka_headers_destroy(h);
  }
}

static void test_build_all_fields_round_trip(void **state)
{
  (void)state;
  lb_dlq_fields f = full_fields();
  rd_kafka_headers_t *h = rd_kafka_headers_new(16);
  lb_dlq_headers_add(h, &f);
  static const char *const want[][2] = {
    { "__connect.errors.topic", "completion-events" },
    { "__connect.errors.partition", "3" },
    { "__connect.errors.offset", "1234" },
    { "__connect.errors.exception.class.name", "permanent_http" },
    { "__connect.errors.exception.message", "HTTP 400: Invalid user identifier" },
    { "lmsbridge.integration", "acme-degreed" },
    { "lmsbridge.http.status", "400" },
    { "lmsbridge.http.body", "{\"errors\":[]}" },
    { "lmsbridge.attempts", "2" },
    { "lmsbridge.first_failure", "2026-01-02T03:04:05.000Z" },
    { "lmsbridge.last_failure", "2026-01-02T03:05:00.500Z" },
    { "lmsbridge.worker", "completion-worker" },
    { "lmsbridge.replays", "1" },
  };
  expect_headers(h, want, sizeof(want) / sizeof(want[0]));

  lb_dlq_raw raw = raw_of(h, "u1", "{\"a\":1}");
  lb_dlq_record r;
  assert_int_equal(lb_dlq_record_decode(&r, &raw), LB_E_OK);
  assert_string_equal(r.topic, f.topic);
  assert_int_equal(r.partition, f.partition);
  assert_int_equal(r.offset, f.offset);
  assert_string_equal(r.reason, f.reason);
  assert_string_equal(r.message, f.message);
  assert_string_equal(r.integration, f.integration);
  assert_int_equal(r.http_status, f.http_status);
  assert_string_equal(r.http_body, f.http_body);
  assert_int_equal(r.attempts, f.attempts);
  assert_string_equal(r.first_failure, "2026-01-02T03:04:05.000Z");
  assert_int_equal(r.last_failure_ms, f.last_failure_ms);
  assert_string_equal(r.worker, f.worker);
  assert_int_equal(r.replays, f.replays);
  assert_false(r.value_truncated);
  assert_int_equal(r.value_original_bytes, -1);
  assert_int_equal(r.headers_dropped, -1);
  lb_dlq_record_release(&r);
  rd_kafka_headers_destroy(h);
}

static void test_build_empty(void **state)
{
  (void)state;
  lb_dlq_fields f = { .headers_dropped = -1 };
  rd_kafka_headers_t *h = rd_kafka_headers_new(16);
  lb_dlq_headers_add(h, &f);
  static const char *const want[][2] = {
    { "__connect.errors.topic", "" },
    { "__connect.errors.partition", "0" },
    { "__connect.errors.offset", "0" },
    { "__connect.errors.exception.class.name", "" },
    { "__connect.errors.exception.message", "" },
    { "lmsbridge.integration", "" },
    { "lmsbridge.http.status", "0" },
    { "lmsbridge.http.body", "" },
    { "lmsbridge.attempts", "0" },
    { "lmsbridge.first_failure", "" },
    { "lmsbridge.last_failure", "" },
    { "lmsbridge.worker", "" },
    { "lmsbridge.replays", "0" },
  };
  expect_headers(h, want, sizeof(want) / sizeof(want[0]));
  lb_dlq_raw raw = raw_of(h, NULL, NULL);
  lb_dlq_record r;
  assert_int_equal(lb_dlq_record_decode(&r, &raw), LB_E_OK);
  assert_null(r.topic); /* empty: not a dead letter to replay */
  assert_null(r.integration);
  assert_int_equal(r.http_status, 0);
  assert_int_equal(r.last_failure_ms, -1);
  assert_int_equal(lb_dlq_record_time(&r), raw.timestamp_ms);
  assert_false(r.value_truncated);
  lb_dlq_record_release(&r);
  rd_kafka_headers_destroy(h);
}

static void test_build_truncated(void **state)
{
  (void)state;
  /* the value cut, the source's own headers kept */
  lb_dlq_fields f = full_fields();
  f.value_truncated = true;
  f.value_original_bytes = 1048576;
  rd_kafka_headers_t *h = rd_kafka_headers_new(16);
  lb_dlq_headers_add(h, &f);
  assert_int_equal(rd_kafka_header_cnt(h), NCONTRACT + 2);
  static const char *const marks[][2] = { { "lmsbridge.value.truncated", "true" },
                                          { "lmsbridge.value.original_bytes", "1048576" } };
  for (size_t i = 0; i < 2; i++)
    expect_header_at(h, NCONTRACT + i, marks[i][0], marks[i][1], strlen(marks[i][1]));
  lb_dlq_raw raw = raw_of(h, "u1", "{\"a\":");
  lb_dlq_record r;
  assert_int_equal(lb_dlq_record_decode(&r, &raw), LB_E_OK);
  assert_true(r.value_truncated);
  assert_int_equal(r.value_original_bytes, 1048576);
  assert_int_equal(r.headers_dropped, -1);
  lb_dlq_record_release(&r);
  rd_kafka_headers_destroy(h);

  /* and the source's headers dropped too */
  f.headers_dropped = 7;
  h = rd_kafka_headers_new(16);
  lb_dlq_headers_add(h, &f);
  assert_int_equal(rd_kafka_header_cnt(h), NCONTRACT + 3);
  expect_header_at(h, NCONTRACT + 2, "lmsbridge.headers.dropped", "7", 1);
  raw = raw_of(h, "u1", "{\"a\":");
  assert_int_equal(lb_dlq_record_decode(&r, &raw), LB_E_OK);
  assert_true(r.value_truncated);
  assert_int_equal(r.headers_dropped, 7);
  lb_dlq_record_release(&r);
  rd_kafka_headers_destroy(h);
}

/* Builds a dead letter with body and message, and checks that each kept
 * its first body_kept / message_kept bytes, and that it reads back as
 * text (the list line has it as it was, no U+FFFD). */
static void expect_cut(const char *body, const char *message, size_t body_kept, size_t message_kept)
{
  lb_dlq_fields f = full_fields();
  f.http_body = body;
  f.message = message;
  rd_kafka_headers_t *h = rd_kafka_headers_new(16);
  lb_dlq_headers_add(h, &f);
  const void *val;
  size_t size;
  assert_int_equal(rd_kafka_header_get_last(h, "lmsbridge.http.body", &val, &size),
                   RD_KAFKA_RESP_ERR_NO_ERROR);
  assert_int_equal(size, body_kept);
  assert_memory_equal(val, body, size);
  assert_int_equal(rd_kafka_header_get_last(h, "__connect.errors.exception.message", &val, &size),
                   RD_KAFKA_RESP_ERR_NO_ERROR);
  assert_int_equal(size, message_kept);
  assert_memory_equal(val, message, size);
  lb_dlq_raw raw = raw_of(h, NULL, NULL);
  lb_dlq_record r;
  assert_int_equal(lb_dlq_record_decode(&r, &raw), LB_E_OK);
  assert_int_equal(strlen(r.http_body), body_kept);
  json_object *o = lb_dlq_record_json(&r);
  json_object *b;
  assert_true(json_object_object_get_ex(o, "http_body", &b));
  assert_string_equal(json_object_get_string(b), r.http_body);
  json_object_put(o);
  lb_dlq_record_release(&r);
  rd_kafka_headers_destroy(h);
}

/* The body (and the message) are cut to their bound: an ASCII body of 3000
 * bytes keeps its first 2048, a message of 4000 its first 2047. */
static void test_build_long_body_cut(void **state)
{
  (void)state;
  char body[3001], message[4001];
  for (size_t i = 0; i < 3000; i++)
    body[i] = (char)('a' + i % 26);
  body[3000] = '\0';
  memset(message, 'm', 4000);
  message[4000] = '\0';
  assert_int_equal(LB_DLQ_BODY_MAX, 2048);
  assert_int_equal(LB_DLQ_MESSAGE_MAX, 2047);
  expect_cut(body, message, 2048, 2047);
}

/* A body longer than 2 KiB is cut before a character that would not fit
 * whole (2-, 3- and 4-byte sequences across byte 2048), so the header
 * stays UTF-8; one that ends on byte 2048 is kept. The message likewise. */
static void test_build_long_body_cut_at_utf8_boundary(void **state)
{
  (void)state;
  static const struct {
    size_t lead;     /* ASCII bytes before the character */
    const char *chr; /* then this, then more text */
    size_t kept;
  } cases[] = {
    { 2047, "\xC3\xA9", 2047 },         /* é across the cut */
    { 2046, "\xE2\x82\xAC", 2046 },     /* € */
    { 2045, "\xF0\x9F\x98\x80", 2045 }, /* U+1F600 */
    { 2046, "\xC3\xA9", 2048 },         /* é ends on the cut: kept */
  };
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    char body[3000], message[3000];
    memset(body, 'b', cases[c].lead);
    body[cases[c].lead] = '\0';
    strcat(body, cases[c].chr);
    strcat(body, "tail of the answer");
    /* the message's bound is one byte less: the same character one byte
     * earlier */
    memset(message, 'm', cases[c].lead - 1);
    message[cases[c].lead - 1] = '\0';
    strcat(message, cases[c].chr);
    strcat(message, "rest");
    expect_cut(body, message, cases[c].kept, cases[c].kept - 1);
  }
}

static void test_build_redacts_secrets(void **state)
{
  (void)state;
  const char *secret = "s3cr3t-client-value";
  lb_log_add_secret(secret);
  lb_dlq_fields f = full_fields();
  f.message = "HTTP 400: client_secret s3cr3t-client-value is not valid";
  f.http_body = "{\"echo\":\"s3cr3t-client-value\",\"error\":\"invalid_client\"}";
  rd_kafka_headers_t *h = rd_kafka_headers_new(16);
  lb_dlq_headers_add(h, &f);
  lb_log_clear_secrets();
  const char *name;
  const void *val;
  size_t size;
  for (size_t i = 0;
       rd_kafka_header_get_all(h, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; i++)
    assert_false(lb_strbuf_contains_nocase(val, size, secret));
  lb_dlq_raw raw = raw_of(h, NULL, NULL);
  lb_dlq_record r;
  assert_int_equal(lb_dlq_record_decode(&r, &raw), LB_E_OK);
  /* the rest of the text is kept around what was hidden */
  assert_non_null(strstr(r.message, "HTTP 400: client_secret "));
  assert_non_null(strstr(r.message, " is not valid"));
  assert_non_null(strstr(r.http_body, "\"error\":\"invalid_client\""));
  assert_null(strstr(r.http_body, secret));
  lb_dlq_record_release(&r);
  rd_kafka_headers_destroy(h);
}

/* ---- totals ---- */

static void test_totals(void **state)
{
  (void)state;
  lb_dlq_totals t;
  lb_dlq_totals_init(&t);
  assert_int_equal(lb_dlq_totals_add(&t, "acme-degreed", "permanent_http"), 0);
  assert_int_equal(lb_dlq_totals_add(&t, "acme-degreed", "permanent_http"), 0);
  assert_int_equal(lb_dlq_totals_add(&t, "acme-degreed", "auth"), 0);
  assert_int_equal(lb_dlq_totals_add(&t, "globex-sf", "permanent_http"), 0);
  assert_int_equal(lb_dlq_totals_add(&t, NULL, "invalid_event"), 0);
  assert_int_equal(lb_dlq_totals_add(&t, "", NULL), 0);
  json_object *o = lb_dlq_totals_json(&t);
  assert_string_equal(
      lb_json_text(o),
      "{\"total\":6,"
      "\"by_integration\":{\"(none)\":2,\"acme-degreed\":3,\"globex-sf\":1},"
      "\"by_reason\":{\"(none)\":1,\"invalid_event\":1,\"auth\":1,\"permanent_http\":3},"
      "\"by_integration_and_reason\":{\"(none)\":{\"(none)\":1,\"invalid_event\":1},"
      "\"acme-degreed\":{\"auth\":1,\"permanent_http\":2},"
      "\"globex-sf\":{\"permanent_http\":1}}}");
  json_object_put(o);
  lb_dlq_totals_release(&t);

  /* bounded: a topic full of distinct integrations */
  lb_dlq_totals_init(&t);
  char id[32];
  for (int i = 0; i < 10050; i++) {
    snprintf(id, sizeof(id), "i%d", i);
    lb_dlq_totals_add(&t, id, "auth");
  }
  assert_int_equal(t.total, 10050);
  assert_int_equal(t.n, 10001);
  o = lb_dlq_totals_json(&t);
  json_object *by = get(o, "by_integration");
  assert_int_equal(json_object_get_int(get(by, "(other)")), 50);
  json_object_put(o);
  lb_dlq_totals_release(&t);

  /* empty */
  lb_dlq_totals_init(&t);
  o = lb_dlq_totals_json(&t);
  assert_string_equal(lb_json_text(o), "{\"total\":0,\"by_integration\":{},\"by_reason\":{},"
                                       "\"by_integration_and_reason\":{}}");
  json_object_put(o);
  lb_dlq_totals_release(&t);
}

/* A parked record's headers: what is written is read back, by the
 * contract's names; absent or malformed fields read as their defaults;
 * the last of a repeated name wins (a record parked again carries both). */
static void test_parked_round_trip(void **state)
{
  (void)state;
  lb_dlq_parked in = { .has_target = true,
                       .attempts = 3,
                       .not_before_ms = 1767225600123,
                       .first_failure_ms = 1767225500000,
                       .last_failure_ms = 1767225599000,
                       .has_orig = true,
                       .orig_partition = 7,
                       .orig_offset = 123456789012,
                       .replays = 2 };
  snprintf(in.target, sizeof(in.target), "acme-degreed");
  snprintf(in.orig_topic, sizeof(in.orig_topic), "completion-events");
  rd_kafka_headers_t *h = rd_kafka_headers_new(16);
  lb_dlq_parked_headers_add(h, &in);
  assert_int_equal(rd_kafka_header_cnt(h), 9);
  const void *v;
  size_t n;
  assert_int_equal(rd_kafka_header_get_last(h, "lmsbridge.target", &v, &n), 0);
  assert_int_equal(n, strlen("acme-degreed"));
  lb_dlq_parked out;
  lb_dlq_parked_read(h, &out);
  assert_true(out.has_target && out.has_orig);
  assert_string_equal(out.target, "acme-degreed");
  assert_string_equal(out.orig_topic, "completion-events");
  assert_int_equal(out.attempts, 3);
  assert_int_equal(out.not_before_ms, 1767225600123);
  assert_int_equal(out.first_failure_ms, 1767225500000);
  assert_int_equal(out.last_failure_ms, 1767225599000);
  assert_int_equal(out.orig_partition, 7);
  assert_int_equal(out.orig_offset, 123456789012);
  assert_int_equal(out.replays, 2);
  assert_false(out.resync); /* written only when true */

  rd_kafka_header_add(h, lb_dlq_header_name(LB_DLQ_H_ATTEMPTS), -1, "4", -1);
  lb_dlq_parked_read(h, &out);
  assert_int_equal(out.attempts, 4);
  rd_kafka_headers_destroy(h);

  /* a resync stays one when parked: lmsbridge.resync "true", nothing else */
  in.resync = true;
  h = rd_kafka_headers_new(16);
  lb_dlq_parked_headers_add(h, &in);
  assert_int_equal(rd_kafka_header_cnt(h), 10);
  lb_dlq_parked_read(h, &out);
  assert_true(out.resync);
  rd_kafka_header_add(h, "lmsbridge.resync", -1, "yes", -1);
  lb_dlq_parked_read(h, &out);
  assert_false(out.resync);
  rd_kafka_headers_destroy(h);

  /* nothing carried; a number that is not one */
  lb_dlq_parked_read(NULL, &out);
  assert_false(out.has_target);
  assert_false(out.has_orig);
  assert_int_equal(out.orig_partition, -1);
  assert_int_equal(out.orig_offset, -1);
  assert_int_equal(out.replays, 0);
  h = rd_kafka_headers_new(4);
  rd_kafka_header_add(h, lb_dlq_header_name(LB_DLQ_H_NOT_BEFORE), -1, "soon", -1);
  rd_kafka_header_add(h, lb_dlq_header_name(LB_DLQ_H_TARGET), -1, "", 0);
  lb_dlq_parked_read(h, &out);
  assert_int_equal(out.not_before_ms, 0);
  assert_true(out.has_target); /* carried, empty */
  assert_string_equal(out.target, "");
  rd_kafka_headers_destroy(h);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_decode_engine_record),
    cmocka_unit_test(test_decode_foreign_and_broken_headers),
    cmocka_unit_test(test_list_line),
    cmocka_unit_test(test_json_of_hostile_records),
    cmocka_unit_test(test_filters),
    cmocka_unit_test(test_grep_searches_message_body_and_text_headers),
    cmocka_unit_test(test_filter_errors),
    cmocka_unit_test(test_selection_names),
    cmocka_unit_test(test_verdicts),
    cmocka_unit_test(test_replay_headers),
    cmocka_unit_test(test_replay_headers_resync),
    cmocka_unit_test(test_totals),
    cmocka_unit_test(test_header_table),
    cmocka_unit_test(test_build_all_fields_round_trip),
    cmocka_unit_test(test_build_empty),
    cmocka_unit_test(test_build_truncated),
    cmocka_unit_test(test_build_long_body_cut),
    cmocka_unit_test(test_build_long_body_cut_at_utf8_boundary),
    cmocka_unit_test(test_build_redacts_secrets),
    cmocka_unit_test(test_parked_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
