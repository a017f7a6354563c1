/* lb_dlq_reader and lb_dlq_replayer on librdkafka's mock cluster, in process: the reader stops at
 * the ends it saw at start and can read again; the replayer republishes to
 * the original partition and commits only below a record the broker did
 * not acknowledge; a new reader starts where the group's progress is. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_dlq_replayer.h"
#include "lb_kafka.h"
#include "lb_log.h"
#include <librdkafka/rdkafka_mock.h> /* after rdkafka.h */

#define TOPIC "completion-events"
#define DLQ "completion-events.dlq"

typedef struct {
  rd_kafka_t *mrk; /* owns the mock cluster */
  rd_kafka_mock_cluster_t *mc;
  char *topics[1];
  lb_integration integs[1];
  lb_config cfg;
} fixture;

static int setup(void **state)
{
  fixture *f = calloc(1, sizeof(*f));
  char err[256];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set_log_cb(conf, lb_kafka_log);
  f->mrk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  assert_non_null(f->mrk);
  f->mc = rd_kafka_mock_cluster_new(f->mrk, 1);
  assert_non_null(f->mc);
  assert_int_equal(rd_kafka_mock_topic_create(f->mc, TOPIC, 2, 1), 0);
  assert_int_equal(rd_kafka_mock_topic_create(f->mc, DLQ, 2, 1), 0);
  f->topics[0] = TOPIC;
  f->integs[0] = (lb_integration){ .id = "acme-degreed" };
  f->cfg.kafka.brokers = (char *)rd_kafka_mock_cluster_bootstraps(f->mc);
  f->cfg.kafka.topics = f->topics;
  f->cfg.kafka.ntopics = 1;
  f->cfg.kafka.dlq_topic = DLQ;
  f->cfg.kafka.group_id = "completion-worker";
  f->cfg.integrations = f->integs;
  f->cfg.nintegrations = 1;
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  fixture *f = *state;
  rd_kafka_mock_cluster_destroy(f->mc);
  rd_kafka_destroy(f->mrk);
  free(f);
  return 0;
}

/* Writes n dead letters to a DLQ partition, original offsets from first. */
static void put_dead_letters(fixture *f, int32_t partition, int n, int first)
{
  char err[256], buf[32], key[32], value[64];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", f->cfg.kafka.brokers, err, sizeof(err));
  rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  assert_non_null(p);
  for (int i = 0; i < n; i++) {
    rd_kafka_headers_t *h = rd_kafka_headers_new(8);
    rd_kafka_header_add(h, "trace-id", -1, "t", -1);
    rd_kafka_header_add(h, "__connect.errors.topic", -1, TOPIC, -1);
    rd_kafka_header_add(h, "__connect.errors.partition", -1, "1", -1);
    snprintf(buf, sizeof(buf), "%d", first + i);
    rd_kafka_header_add(h, "__connect.errors.offset", -1, buf, -1);
    rd_kafka_header_add(h, "__connect.errors.exception.class.name", -1, "permanent_http", -1);
    rd_kafka_header_add(h, "lmsbridge.integration", -1, "acme-degreed", -1);
    rd_kafka_header_add(h, "lmsbridge.replays", -1, "0", -1);
    snprintf(key, sizeof(key), "u%d", first + i);
    snprintf(value, sizeof(value), "{\"n\":%d}", first + i);
    assert_int_equal(rd_kafka_producev(p, RD_KAFKA_V_TOPIC(DLQ), RD_KAFKA_V_PARTITION(partition),
                                       RD_KAFKA_V_KEY(key, strlen(key)),
                                       RD_KAFKA_V_VALUE(value, strlen(value)),
                                       RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                       RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  assert_int_equal(rd_kafka_flush(p, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_destroy(p);
}

/* Reads everything the reader has left; returns how many. */
static int drain(lb_dlq_reader *r)
{
  int n = 0, rc;
  rd_kafka_message_t *m;
  for (int idle = 0; (rc = lb_dlq_reader_next(r, 200, &m)) != 0;) {
    if (rc < 0) {
      assert_true(++idle < 100);
      continue;
    }
    n++;
    rd_kafka_message_destroy(m);
  }
  return n;
}

static void test_reader_range_and_rewind(void **state)
{
  fixture *f = *state;
  char err[512];
  put_dead_letters(f, 0, 10, 0);
  put_dead_letters(f, 1, 5, 100);
  lb_dlq_reader_options o = { .cfg = &f->cfg, .group = "g-range", .from_committed = true };
  lb_dlq_reader *r = lb_dlq_reader_new(&o, err, sizeof(err));
  assert_non_null(r);
  assert_int_equal(lb_dlq_reader_total(r), 15);
  /* written after the start: not part of this run */
  put_dead_letters(f, 0, 3, 50);
  assert_int_equal(lb_dlq_reader_rewind(r, err, sizeof(err)), LB_E_OK);
  assert_int_equal(drain(r), 15);
  assert_int_equal(lb_dlq_reader_rewind(r, err, sizeof(err)), LB_E_OK);
  assert_int_equal(drain(r), 15); /* the same again */
  json_object *range = lb_dlq_reader_range_json(r);
  assert_string_equal(json_object_to_json_string_ext(range, JSON_C_TO_STRING_PLAIN),
                      "{\"0\":{\"start\":0,\"end\":10},\"1\":{\"start\":0,\"end\":5}}");
  json_object_put(range);
  lb_dlq_reader_destroy(r);
  lb_dlq_reader_destroy(NULL);

  /* a topic that does not exist on a cluster without auto-creation */
  f->cfg.kafka.dlq_topic = "no-such.dlq";
  rd_kafka_mock_topic_set_error(f->mc, "no-such.dlq", RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
  o.timeout_ms = 2000;
  r = lb_dlq_reader_new(&o, err, sizeof(err));
  assert_null(r);
  assert_non_null(strstr(err, "no-such.dlq"));
  assert_non_null(strstr(err, "does not exist"));
  f->cfg.kafka.dlq_topic = DLQ;
}

/* Sends every record whose original offset is odd, passes the others. */
static void replay_odd(fixture *f, lb_dlq_reader *r, lb_dlq_replayer *rp, int *sent)
{
  char err[512];
  rd_kafka_message_t *m;
  int rc;
  (void)f;
  assert_int_equal(lb_dlq_reader_rewind(r, err, sizeof(err)), LB_E_OK);
  for (int idle = 0; (rc = lb_dlq_reader_next(r, 200, &m)) != 0;) {
    if (rc < 0) {
      assert_true(++idle < 100);
      continue;
    }
    lb_dlq_raw raw;
    lb_dlq_record rec;
    lb_dlq_reader_raw_from_message(&raw, m);
    assert_int_equal(lb_dlq_record_decode(&rec, &raw), LB_E_OK);
    if (rec.offset % 2) {
      assert_int_equal(
          lb_dlq_replayer_send(rp, &rec, lb_dlq_replay_headers(&rec, true), err, sizeof(err)),
          LB_E_OK);
      (*sent)++;
    } else {
      assert_int_equal(lb_dlq_replayer_pass(rp, &rec), LB_E_OK);
    }
    lb_dlq_record_release(&rec);
    rd_kafka_message_destroy(m);
    lb_dlq_replayer_poll(rp, 0);
  }
}

static void test_replay_commits_after_acknowledgement(void **state)
{
  fixture *f = *state;
  char err[512];
  put_dead_letters(f, 0, 10, 0);
  put_dead_letters(f, 1, 6, 100);
  lb_dlq_reader_options o = { .cfg = &f->cfg, .group = "g-replay", .from_committed = true };
  lb_dlq_reader *r = lb_dlq_reader_new(&o, err, sizeof(err));
  assert_non_null(r);
  lb_dlq_replayer *rp = lb_dlq_replayer_new(&f->cfg, r, err, sizeof(err));
  assert_non_null(rp);
  int sent = 0;
  replay_odd(f, r, rp, &sent);
  assert_int_equal(sent, 8);
  assert_int_equal(lb_dlq_replayer_finish(rp, 10000, err, sizeof(err)), LB_E_OK);
  assert_int_equal(lb_dlq_replayer_acked(rp), 8);
  assert_int_equal(lb_dlq_replayer_in_flight(rp), 0);
  assert_int_equal(lb_dlq_replayer_failed(rp, NULL), 0);
  json_object *c = lb_dlq_replayer_committed_json(rp);
  assert_string_equal(json_object_to_json_string_ext(c, JSON_C_TO_STRING_PLAIN),
                      "{\"0\":10,\"1\":6}");
  json_object_put(c);
  lb_dlq_replayer_destroy(rp);
  lb_dlq_reader_destroy(r);

  /* the next run of the group starts at the end: nothing left */
  r = lb_dlq_reader_new(&o, err, sizeof(err));
  assert_non_null(r);
  assert_int_equal(lb_dlq_reader_total(r), 0);
  lb_dlq_reader_destroy(r);

  /* the republished records: original partition 1, same key and value,
   * target and replays set */
  lb_config orig = f->cfg;
  orig.kafka.dlq_topic = TOPIC; /* read the original topic with a reader */
  lb_dlq_reader_options oo = { .cfg = &orig, .group = "g-check" };
  r = lb_dlq_reader_new(&oo, err, sizeof(err));
  assert_non_null(r);
  assert_int_equal(lb_dlq_reader_rewind(r, err, sizeof(err)), LB_E_OK);
  rd_kafka_message_t *m;
  int n = 0, rc;
  for (int idle = 0; (rc = lb_dlq_reader_next(r, 200, &m)) != 0;) {
    if (rc < 0) {
      assert_true(++idle < 100);
      continue;
    }
    n++;
    assert_int_equal(m->partition, 1);
    rd_kafka_headers_t *h;
    const void *v;
    size_t len;
    assert_int_equal(rd_kafka_message_headers(m, &h), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(rd_kafka_header_get_last(h, "lmsbridge.target", &v, &len), 0);
    assert_memory_equal(v, "acme-degreed", len);
    assert_int_equal(rd_kafka_header_get_last(h, "lmsbridge.replays", &v, &len), 0);
    assert_memory_equal(v, "1", len);
    assert_int_equal(rd_kafka_header_get_last(h, "trace-id", &v, &len), 0);
    assert_int_equal(rd_kafka_header_get_last(h, "__connect.errors.topic", &v, &len),
                     RD_KAFKA_RESP_ERR__NOENT);
    char key[16], value[32];
    snprintf(key, sizeof(key), "%.*s", (int)m->key_len, (const char *)m->key);
    snprintf(value, sizeof(value), "{\"n\":%s}", key + 1);
    assert_int_equal(m->len, strlen(value));
    assert_memory_equal(m->payload, value, m->len);
    assert_true(atoi(key + 1) % 2 == 1);
    rd_kafka_message_destroy(m);
  }
  assert_int_equal(n, 8);
  lb_dlq_reader_destroy(r);
}

static void test_unacknowledged_record_holds_the_progress(void **state)
{
  fixture *f = *state;
  char err[512];
  put_dead_letters(f, 0, 6, 0);
  lb_dlq_reader_options o = { .cfg = &f->cfg, .group = "g-fail", .from_committed = true };
  lb_dlq_reader *r = lb_dlq_reader_new(&o, err, sizeof(err));
  assert_non_null(r);
  lb_dlq_replayer *rp = lb_dlq_replayer_new(&f->cfg, r, err, sizeof(err));
  assert_non_null(rp);
  /* every Produce fails for good: the odd records are never acknowledged */
  rd_kafka_resp_err_t errs[50];
  for (size_t i = 0; i < 50; i++)
    errs[i] = RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED;
  rd_kafka_mock_push_request_errors_array(f->mc, 0 /* Produce */, 50, errs);
  int sent = 0;
  replay_odd(f, r, rp, &sent);
  assert_int_equal(sent, 3);
  assert_int_equal(lb_dlq_replayer_finish(rp, 10000, err, sizeof(err)), LB_E_OK);
  const char *why = NULL;
  assert_int_equal(lb_dlq_replayer_failed(rp, &why), 3);
  assert_non_null(why);
  assert_int_equal(lb_dlq_replayer_acked(rp), 0);
  /* offset 0 was passed over, 1 failed: the progress stops at 1 */
  json_object *c = lb_dlq_replayer_committed_json(rp);
  assert_string_equal(json_object_to_json_string_ext(c, JSON_C_TO_STRING_PLAIN), "{\"0\":1}");
  json_object_put(c);
  lb_dlq_replayer_destroy(rp);
  lb_dlq_reader_destroy(r);
  rd_kafka_mock_clear_request_errors(f->mc, 0);

  /* the next run starts at the failed record */
  r = lb_dlq_reader_new(&o, err, sizeof(err));
  assert_non_null(r);
  assert_int_equal(lb_dlq_reader_total(r), 5);
  lb_dlq_reader_destroy(r);
}

int main(void)
{
  lb_log_set_level(LB_LOG_ERROR);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_reader_range_and_rewind, setup, teardown),
    cmocka_unit_test_setup_teardown(test_replay_commits_after_acknowledgement, setup, teardown),
    cmocka_unit_test_setup_teardown(test_unacknowledged_record_holds_the_progress, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
