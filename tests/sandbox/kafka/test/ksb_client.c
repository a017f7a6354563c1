/* kafka-sandbox-client: a small librdkafka client for the kafka-sandbox
 * tests, where kcat is not precise enough. Prints one JSON object per line
 * on stdout (events), diagnostics on stderr.
 *
 *   produce -b BOOTSTRAP -t TOPIC [-p PARTITION] [-n COUNT] [-k KEY]
 *           [-H NAME=VALUE]... [--retries N] [--timeout-ms MS]
 *           [--transactional-id ID]
 *     Produces COUNT messages one after the other, each waiting for its
 *     delivery report: {"event":"delivery","seq":..,"error":..,
 *     "partition":..,"offset":..,"latency_ms":..}. With a transactional id
 *     the messages are one transaction, and each step reports
 *     {"event":"txn","step":"init"|"begin"|"commit","error":..}; a failed
 *     step ends the run (exit 0). --timeout-ms also bounds each step.
 *
 *   consume -b BOOTSTRAP -t TOPIC -g GROUP [--commit auto|manual]
 *           [--session-timeout-ms MS] [--debug-cgrp] [--max-runtime-ms MS]
 *     Group consumer: events "assigned", "revoked", "message", "error",
 *     "commit", "log" (coordinator changes and JoinGroup responses, with
 *     --debug-cgrp). Commands on
 *     stdin, one per line: "commit" (synchronous commit of the consumed
 *     positions), "quit". Ends on quit, SIGTERM/SIGINT or the runtime
 *     bound, leaving the group cleanly.
 *
 * Exit: 0 when the run went as asked (errors of single requests are
 * reported as events, not exit codes), 1 on setup failure, 2 on usage. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <librdkafka/rdkafka.h>

#define PROG "kafka-sandbox-client"
#define HEADERS_MAX 16
#define LINE_MAX_LEN 256

static volatile sig_atomic_t stop;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

struct opts {
  const char *mode, *bootstrap, *topic, *group, *key, *commit, *txn_id;
  const char *headers[HEADERS_MAX]; /* "name=value", borrowed from argv */
  int header_cnt;
  long partition, count, retries, timeout_ms, session_timeout_ms, max_runtime_ms;
  bool debug_cgrp;
};

static void on_signal(int sig)
{
  (void)sig;
  stop = 1;
}

static int64_t now_us(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Prints `ev` (consumed) as one line; any thread. */
static void emit(json_object *ev)
{
  if (!ev)
    return;
  pthread_mutex_lock(&out_lock);
  fputs(json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN), stdout);
  fputc('\n', stdout);
  fflush(stdout);
  pthread_mutex_unlock(&out_lock);
  json_object_put(ev);
}

static json_object *event_new(const char *name)
{
  json_object *ev = json_object_new_object();

  json_object_object_add(ev, "event", json_object_new_string(name));
  return ev;
}

static json_object *err_json(rd_kafka_resp_err_t err)
{
  return err ? json_object_new_string(rd_kafka_err2name(err)) : NULL;
}

static json_object *bytes_json(const void *p, size_t len)
{
  return p ? json_object_new_string_len(p, (int)len) : NULL;
}

static int parse_long(const char *s, long min, long max, long *ret)
{
  char *end = NULL;
  long v;

  errno = 0;
  v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < min || v > max)
    return -1;
  *ret = v;
  return 0;
}

/* librdkafka log callback (any thread): coordinator changes and JoinGroup
 * responses become "log" events, warnings and errors go to stderr, other
 * debug lines are dropped. */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
  (void)rk;
  if (strstr(fac, "COORD") || !strcmp(fac, "JOINGROUP")) {
    json_object *ev = event_new("log");

    json_object_object_add(ev, "fac", json_object_new_string(fac));
    json_object_object_add(ev, "message", json_object_new_string(buf));
    emit(ev);
  } else if (level <= 4) {
    fprintf(stderr, PROG ": librdkafka: %s: %s\n", fac, buf);
  }
}

static rd_kafka_conf_t *conf_new(const struct opts *o)
{
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  char errstr[256];

  rd_kafka_conf_set_log_cb(conf, log_cb);
  if (rd_kafka_conf_set(conf, "bootstrap.servers", o->bootstrap, errstr, sizeof(errstr)) !=
      RD_KAFKA_CONF_OK) {
    fprintf(stderr, PROG ": %s\n", errstr);
    rd_kafka_conf_destroy(conf);
    return NULL;
  }
  return conf;
}

static int conf_set(rd_kafka_conf_t *conf, const char *k, const char *v)
{
  char errstr[256];

  if (rd_kafka_conf_set(conf, k, v, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, PROG ": config %s=%s: %s\n", k, v, errstr);
    return -1;
  }
  return 0;
}

/* --- produce ------------------------------------------------------------- */

struct delivery {
  long seq;
  int64_t start_us;
  bool done;
};

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
  struct delivery *d = m->_private;
  json_object *ev = event_new("delivery");

  (void)rk;
  (void)opaque;
  json_object_object_add(ev, "seq", json_object_new_int64(d->seq));
  json_object_object_add(ev, "error", err_json(m->err));
  json_object_object_add(ev, "partition", json_object_new_int(m->partition));
  json_object_object_add(ev, "offset", json_object_new_int64(m->offset));
  json_object_object_add(ev, "latency_ms",
                         json_object_new_double((double)(now_us() - d->start_us) / 1000.0));
  emit(ev);
  d->done = true;
}

/* Reports one step of a transaction (error = the step's error, or NULL);
 * returns false when it failed. */
static bool txn_step(const char *step, rd_kafka_error_t *error)
{
  json_object *ev = event_new("txn");

  json_object_object_add(ev, "step", json_object_new_string(step));
  json_object_object_add(ev, "error",
                         error ? json_object_new_string(rd_kafka_error_name(error)) : NULL);
  emit(ev);
  if (!error)
    return true;
  rd_kafka_error_destroy(error);
  return false;
}

static int run_produce(const struct opts *o)
{
  rd_kafka_conf_t *conf = conf_new(o);
  rd_kafka_t *rk = NULL;
  char errstr[256], buf[32], value[64];
  int ret = 1;
  long i;

  if (!conf)
    return 1;
  snprintf(buf, sizeof(buf), "%ld", o->retries);
  if (conf_set(conf, "message.send.max.retries", buf) < 0)
    goto out;
  snprintf(buf, sizeof(buf), "%ld", o->timeout_ms);
  if (conf_set(conf, "message.timeout.ms", buf) < 0 || conf_set(conf, "acks", "all") < 0 ||
      conf_set(conf, "linger.ms", "0") < 0 || conf_set(conf, "retry.backoff.ms", "100") < 0 ||
      (o->txn_id && conf_set(conf, "transactional.id", o->txn_id) < 0))
    goto out;
  rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
  rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (!rk) {
    fprintf(stderr, PROG ": %s\n", errstr);
    goto out;
  }
  conf = NULL; /* now owned by rk */
  if (o->txn_id && (!txn_step("init", rd_kafka_init_transactions(rk, o->timeout_ms)) ||
                    !txn_step("begin", rd_kafka_begin_transaction(rk)))) {
    ret = 0;
    goto out;
  }

  for (i = 0; i < o->count && !stop; i++) {
    struct delivery d = { .seq = i, .start_us = now_us() };
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(HEADERS_MAX);
    int64_t deadline;
    rd_kafka_resp_err_t err;
    int h;

    for (h = 0; h < o->header_cnt; h++) {
      const char *eq = strchr(o->headers[h], '=');

      rd_kafka_header_add(hdrs, o->headers[h], eq ? (ssize_t)(eq - o->headers[h]) : -1,
                          eq ? eq + 1 : NULL, eq ? -1 : 0);
    }
    snprintf(value, sizeof(value), "message-%ld", i);
    err = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(o->topic), RD_KAFKA_V_PARTITION((int32_t)o->partition),
        RD_KAFKA_V_KEY(o->key, o->key ? strlen(o->key) : 0), RD_KAFKA_V_VALUE(value, strlen(value)),
        RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(&d),
        RD_KAFKA_V_END);
    if (err) {
      rd_kafka_headers_destroy(hdrs);
      fprintf(stderr, PROG ": produce failed: %s\n", rd_kafka_err2str(err));
      goto out;
    }
    /* hdrs now owned by the message. */
    deadline = now_us() + (o->timeout_ms + 5000) * 1000;
    while (!d.done && now_us() < deadline)
      rd_kafka_poll(rk, 50);
    if (!d.done) {
      fprintf(stderr, PROG ": no delivery report for message %ld\n", i);
      goto out;
    }
  }
  if (o->txn_id)
    txn_step("commit", rd_kafka_commit_transaction(rk, o->timeout_ms));
  ret = 0;

out:
  if (rk) {
    rd_kafka_flush(rk, 5000);
    rd_kafka_destroy(rk);
  }
  if (conf)
    rd_kafka_conf_destroy(conf);
  return ret;
}

/* --- consume ------------------------------------------------------------- */

static json_object *partitions_json(const rd_kafka_topic_partition_list_t *l)
{
  json_object *arr = json_object_new_array();
  int i;

  for (i = 0; l && i < l->cnt; i++)
    json_object_array_add(arr, json_object_new_int(l->elems[i].partition));
  return arr;
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
  json_object *ev;

  (void)opaque;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    ev = event_new("assigned");
    json_object_object_add(ev, "partitions", partitions_json(parts));
    emit(ev);
    rd_kafka_assign(rk, parts);
  } else {
    ev = event_new("revoked");
    json_object_object_add(ev, "partitions", partitions_json(parts));
    json_object_object_add(ev, "error", err_json(err));
    emit(ev);
    rd_kafka_assign(rk, NULL);
  }
}

/* Result of every commit, automatic or not (from consumer_poll). */
static void offset_commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                             rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
  json_object *ev = event_new("committed"), *arr = json_object_new_array();
  int i;

  (void)rk;
  (void)opaque;
  for (i = 0; offsets && i < offsets->cnt; i++) {
    json_object *o = json_object_new_object();

    json_object_object_add(o, "partition", json_object_new_int(offsets->elems[i].partition));
    json_object_object_add(o, "offset", json_object_new_int64(offsets->elems[i].offset));
    json_object_object_add(o, "error", err_json(offsets->elems[i].err));
    json_object_array_add(arr, o);
  }
  json_object_object_add(ev, "error", err_json(err));
  json_object_object_add(ev, "offsets", arr);
  emit(ev);
}

static void emit_message(const rd_kafka_message_t *m)
{
  json_object *ev, *hj = json_object_new_array();
  rd_kafka_headers_t *hdrs = NULL;
  const char *name;
  const void *val;
  size_t size, i;

  if (m->err) {
    ev = event_new("error");
    json_object_object_add(ev, "error", err_json(m->err));
    json_object_object_add(ev, "message", json_object_new_string(rd_kafka_message_errstr(m)));
    emit(ev);
    json_object_put(hj);
    return;
  }
  ev = event_new("message");
  json_object_object_add(ev, "topic", json_object_new_string(rd_kafka_topic_name(m->rkt)));
  json_object_object_add(ev, "partition", json_object_new_int(m->partition));
  json_object_object_add(ev, "offset", json_object_new_int64(m->offset));
  json_object_object_add(ev, "key", bytes_json(m->key, m->key_len));
  json_object_object_add(ev, "value", bytes_json(m->payload, m->len));
  if (!rd_kafka_message_headers(m, &hdrs)) {
    for (i = 0; !rd_kafka_header_get_all(hdrs, i, &name, &val, &size); i++) {
      json_object *pair = json_object_new_array();

      json_object_array_add(pair, json_object_new_string(name));
      json_object_array_add(pair, bytes_json(val, size));
      json_object_array_add(hj, pair);
    }
  }
  json_object_object_add(ev, "headers", hj);
  emit(ev);
}

static void do_commit(rd_kafka_t *rk)
{
  int64_t start = now_us();
  rd_kafka_resp_err_t err = rd_kafka_commit(rk, NULL, 0);
  json_object *ev = event_new("commit");

  json_object_object_add(ev, "error", err_json(err));
  json_object_object_add(ev, "latency_ms",
                         json_object_new_double((double)(now_us() - start) / 1000.0));
  emit(ev);
}

/* Reads stdin commands without blocking. Returns false on "quit". */
static bool serve_stdin(rd_kafka_t *rk, bool *stdin_open, char *line, size_t *len)
{
  struct pollfd pfd = { .fd = 0, .events = POLLIN };
  char c;
  ssize_t n;

  while (*stdin_open && poll(&pfd, 1, 0) == 1) {
    n = read(0, &c, 1);
    if (n <= 0) {
      *stdin_open = false;
      break;
    }
    if (c != '\n') {
      if (*len < LINE_MAX_LEN - 1)
        line[(*len)++] = c;
      continue;
    }
    line[*len] = '\0';
    *len = 0;
    if (!strcmp(line, "commit"))
      do_commit(rk);
    else if (!strcmp(line, "quit"))
      return false;
    else
      fprintf(stderr, PROG ": unknown command \"%s\"\n", line);
  }
  return true;
}

static int run_consume(const struct opts *o)
{
  rd_kafka_conf_t *conf = conf_new(o);
  rd_kafka_topic_partition_list_t *topics = NULL;
  rd_kafka_t *rk = NULL;
  char errstr[256], buf[32], line[LINE_MAX_LEN];
  bool stdin_open = true, manual;
  size_t line_len = 0;
  int64_t deadline = now_us() + o->max_runtime_ms * 1000;
  rd_kafka_resp_err_t err;
  int ret = 1;

  if (!conf)
    return 1;
  manual = !strcmp(o->commit, "manual");
  snprintf(buf, sizeof(buf), "%ld", o->session_timeout_ms);
  if (conf_set(conf, "group.id", o->group) < 0 || conf_set(conf, "session.timeout.ms", buf) < 0 ||
      conf_set(conf, "heartbeat.interval.ms", "500") < 0 ||
      conf_set(conf, "auto.offset.reset", "earliest") < 0 ||
      conf_set(conf, "topic.metadata.refresh.interval.ms", "1000") < 0 ||
      conf_set(conf, "enable.auto.commit", manual ? "false" : "true") < 0 ||
      conf_set(conf, "auto.commit.interval.ms", "200") < 0 ||
      (o->debug_cgrp && conf_set(conf, "debug", "cgrp") < 0))
    goto out;
  rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
  rd_kafka_conf_set_offset_commit_cb(conf, offset_commit_cb);
  rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
  if (!rk) {
    fprintf(stderr, PROG ": %s\n", errstr);
    goto out;
  }
  conf = NULL; /* now owned by rk */
  rd_kafka_poll_set_consumer(rk);

  topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, o->topic, RD_KAFKA_PARTITION_UA);
  err = rd_kafka_subscribe(rk, topics);
  if (err) {
    fprintf(stderr, PROG ": subscribe failed: %s\n", rd_kafka_err2str(err));
    goto out;
  }
  emit(event_new("started"));

  while (!stop && now_us() < deadline) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 50);

    if (m) {
      emit_message(m);
      rd_kafka_message_destroy(m);
    }
    if (!serve_stdin(rk, &stdin_open, line, &line_len))
      break;
  }
  ret = 0;

out:
  if (topics)
    rd_kafka_topic_partition_list_destroy(topics);
  if (rk) {
    err = rd_kafka_consumer_close(rk);
    if (err)
      fprintf(stderr, PROG ": close: %s\n", rd_kafka_err2str(err));
    rd_kafka_destroy(rk);
    emit(event_new("closed"));
  }
  if (conf)
    rd_kafka_conf_destroy(conf);
  return ret;
}

static void usage(void)
{
  fprintf(stderr, "usage: " PROG " produce -b BOOTSTRAP -t TOPIC [-p P] [-n COUNT] "
                  "[-k KEY] [-H N=V]... [--retries N] [--timeout-ms MS] "
                  "[--transactional-id ID]\n"
                  "       " PROG " consume -b BOOTSTRAP -t TOPIC -g GROUP "
                  "[--commit auto|manual] [--session-timeout-ms MS] [--debug-cgrp] "
                  "[--max-runtime-ms MS]\n");
}

int main(int argc, char **argv)
{
  static const struct option longopts[] = {
    { "retries", required_argument, NULL, 'r' },
    { "timeout-ms", required_argument, NULL, 'T' },
    { "commit", required_argument, NULL, 'c' },
    { "session-timeout-ms", required_argument, NULL, 's' },
    { "max-runtime-ms", required_argument, NULL, 'm' },
    { "debug-cgrp", no_argument, NULL, 'D' },
    { "transactional-id", required_argument, NULL, 'X' },
    { NULL, 0, NULL, 0 },
  };
  struct opts o = { .partition = RD_KAFKA_PARTITION_UA,
                    .count = 1,
                    .retries = 2,
                    .timeout_ms = 10000,
                    .session_timeout_ms = 6000,
                    .max_runtime_ms = 60000,
                    .commit = "auto" };
  struct sigaction sa = { .sa_handler = on_signal };
  int ch;

  if (argc < 2) {
    usage();
    return 2;
  }
  o.mode = argv[1];
  optind = 2;
  while ((ch = getopt_long(argc, argv, "b:t:g:p:n:k:H:", longopts, NULL)) != -1) {
    switch (ch) {
    case 'b':
      o.bootstrap = optarg;
      break;
    case 't':
      o.topic = optarg;
      break;
    case 'g':
      o.group = optarg;
      break;
    case 'k':
      o.key = optarg;
      break;
    case 'c':
      o.commit = optarg;
      break;
    case 'D':
      o.debug_cgrp = true;
      break;
    case 'X':
      o.txn_id = optarg;
      break;
    case 'H':
      if (o.header_cnt == HEADERS_MAX) {
        usage();
        return 2;
      }
      o.headers[o.header_cnt++] = optarg;
      break;
    case 'p':
      if (parse_long(optarg, -1, 100000, &o.partition) < 0)
        goto bad;
      break;
    case 'n':
      if (parse_long(optarg, 1, 1000000, &o.count) < 0)
        goto bad;
      break;
    case 'r':
      if (parse_long(optarg, 0, 1000, &o.retries) < 0)
        goto bad;
      break;
    case 'T':
      if (parse_long(optarg, 1, 600000, &o.timeout_ms) < 0)
        goto bad;
      break;
    case 's':
      if (parse_long(optarg, 1000, 600000, &o.session_timeout_ms) < 0)
        goto bad;
      break;
    case 'm':
      if (parse_long(optarg, 1, 600000, &o.max_runtime_ms) < 0)
        goto bad;
      break;
    default:
      goto bad;
    }
  }
  if (!o.bootstrap || !o.topic || optind != argc)
    goto bad;

  setvbuf(stdout, NULL, _IOLBF, 0);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  if (!strcmp(o.mode, "produce"))
    return run_produce(&o);
  if (!strcmp(o.mode, "consume") && o.group &&
      (!strcmp(o.commit, "auto") || !strcmp(o.commit, "manual")))
    return run_consume(&o);

bad:
  usage();
  return 2;
}
