/* lb_kafka: which client each librdkafka property goes to, read from
 * librdkafka's own property table (aliases and topic-level properties
 * included); the configurations it builds make no client warn that a
 * property is the other kind's (CONFWARN), with the properties of every
 * configuration file shipped in deploy/ and of the tests and the demo; the
 * producers' message.max.bytes default; which topics are missing, asked
 * without creating one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <glob.h>
#include <libconfig.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_kafka.h"
#include <librdkafka/rdkafka_mock.h> /* after rdkafka.h */

/* ---- the scope of each property ---- */

typedef struct {
  const char *name;
  bool consumer, producer;
} scope_case;

static void test_scopes_follow_librdkafkas_table(void **state)
{
  (void)state;
  static const scope_case cases[] = {
    /* consumer only */
    { "session.timeout.ms", true, false },
    { "heartbeat.interval.ms", true, false },
    { "fetch.wait.max.ms", true, false },
    { "fetch.max.bytes", true, false },
    { "max.poll.interval.ms", true, false },
    { "group.instance.id", true, false },
    { "max.partition.fetch.bytes", true, false }, /* alias of fetch.message.max.bytes */
    { "auto.offset.reset", true, false },         /* topic-level */
    { "enable.auto.commit", true, false },
    /* producer only */
    { "linger.ms", false, true }, /* alias of queue.buffering.max.ms */
    { "queue.buffering.max.ms", false, true },
    { "enable.idempotence", false, true },
    { "compression.type", false, true },
    { "batch.size", false, true },
    { "acks", false, true }, /* topic-level alias */
    { "request.required.acks", false, true },
    { "message.timeout.ms", false, true }, /* topic-level */
    { "transactional.id", false, true },
    /* both */
    { "client.id", true, true },
    { "message.max.bytes", true, true },
    { "security.protocol", true, true },
    { "sasl.mechanism", true, true },
    { "sasl.username", true, true },
    { "ssl.ca.location", true, true },
    { "topic.metadata.refresh.interval.ms", true, true },
    { "statistics.interval.ms", true, true },
    { "allow.auto.create.topics", true, true },
    { "debug", true, true },
    /* not in librdkafka's table: both, so that librdkafka reports it */
    { "no.such.property", true, true },
    { "", true, true },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const scope_case *c = &cases[i];
    if (lb_kafka_property_applies(c->name, LB_KAFKA_CONSUMER) != c->consumer ||
        lb_kafka_property_applies(c->name, LB_KAFKA_PRODUCER) != c->producer)
      fail_msg("\"%s\": expected consumer %d producer %d", c->name, c->consumer, c->producer);
  }
}

/* Every property librdkafka lists as one kind's goes to that kind only:
 * the table read here line by line, independently of lb_kafka's reader,
 * and the property counts checked so that a format change cannot go
 * unnoticed. */
static void test_every_listed_property(void **state)
{
  (void)state;
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  assert_non_null(mem);
  rd_kafka_conf_properties_show(mem);
  assert_int_equal(fclose(mem), 0);
  int consumer_only = 0, producer_only = 0, both = 0;
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    char name[128], scope[8];
    if (sscanf(line, "%127s | %7s |", name, scope) != 2 || strlen(scope) != 1)
      continue;
    bool c = lb_kafka_property_applies(name, LB_KAFKA_CONSUMER);
    bool p = lb_kafka_property_applies(name, LB_KAFKA_PRODUCER);
    if (scope[0] == 'C') {
      consumer_only++;
      if (!c || p)
        fail_msg("\"%s\" is a consumer property", name);
    } else if (scope[0] == 'P') {
      producer_only++;
      if (c || !p)
        fail_msg("\"%s\" is a producer property", name);
    } else if (scope[0] == '*') {
      both++;
      /* listed in both tables, the global one counts: only check it is
       * not refused to both */
      assert_true(c || p);
    }
  }
  free(text);
  assert_true(consumer_only >= 30);
  assert_true(producer_only >= 20);
  assert_true(both >= 100);
}

/* ---- no CONFWARN ---- */

static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static char seen[8192];

static void capture(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
  (void)rk;
  (void)level;
  pthread_mutex_lock(&seen_lock);
  size_t n = strlen(seen);
  snprintf(seen + n, sizeof(seen) - n, "%s: %s\n", fac, buf);
  pthread_mutex_unlock(&seen_lock);
}

/* Builds a client of each kind from `cfg` as the workers do and returns
 * librdkafka's CONFWARN lines (empty: none; static). */
static const char *confwarns(const lb_config *cfg)
{
  static char out[8192];
  char err[512];
  out[0] = '\0';
  for (int k = 0; k < 2; k++) {
    lb_kafka_client kind = k ? LB_KAFKA_PRODUCER : LB_KAFKA_CONSUMER;
    rd_kafka_conf_t *conf = lb_kafka_conf_new(cfg, kind, err, sizeof(err));
    if (!conf)
      fail_msg("lb_kafka_conf_new: %s", err);
    rd_kafka_conf_set_log_cb(conf, capture);
    if (kind == LB_KAFKA_CONSUMER)
      assert_int_equal(rd_kafka_conf_set(conf, "group.id", "g", err, sizeof(err)),
                       RD_KAFKA_CONF_OK);
    seen[0] = '\0';
    rd_kafka_t *rk = rd_kafka_new(kind == LB_KAFKA_CONSUMER ? RD_KAFKA_CONSUMER : RD_KAFKA_PRODUCER,
                                  conf, err, sizeof(err));
    if (!rk)
      fail_msg("rd_kafka_new: %s", err);
    rd_kafka_destroy(rk);
    pthread_mutex_lock(&seen_lock);
    for (char *line = strtok(seen, "\n"); line; line = strtok(NULL, "\n"))
      if (strncmp(line, "CONFWARN", 8) == 0)
        snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s\n", line);
    pthread_mutex_unlock(&seen_lock);
  }
  return out;
}

/* The properties the tests' and the demo's workers set, plus some of
 * each kind, with values librdkafka takes. */
static lb_config_pair mixed[] = {
  { "client.id", "lmsbridge-test", NULL },
  { "session.timeout.ms", "6000", NULL },
  { "heartbeat.interval.ms", "500", NULL },
  { "topic.metadata.refresh.interval.ms", "2000", NULL },
  { "max.partition.fetch.bytes", "2097152", NULL },
  { "auto.offset.reset", "latest", NULL },
  { "compression.type", "lz4", NULL },
  { "acks", "all", NULL },
  { "message.timeout.ms", "2000", NULL },
  { "queue.buffering.max.messages", "50000", NULL },
};

static void test_no_confwarn_for_mixed_properties(void **state)
{
  (void)state;
  lb_config cfg = { 0 };
  cfg.kafka.brokers = "127.0.0.1:9";
  cfg.kafka.properties = mixed;
  cfg.kafka.nproperties = sizeof(mixed) / sizeof(mixed[0]);
  const char *w = confwarns(&cfg);
  if (*w)
    fail_msg("CONFWARN:\n%s", w);
}

/* The same properties set on a producer as they are do warn: the capture
 * sees what it must not see above. */
static void test_unfiltered_properties_warn(void **state)
{
  (void)state;
  char err[256];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set_log_cb(conf, capture);
  rd_kafka_conf_set(conf, "bootstrap.servers", "127.0.0.1:9", err, sizeof(err));
  for (size_t i = 0; i < sizeof(mixed) / sizeof(mixed[0]); i++)
    assert_int_equal(rd_kafka_conf_set(conf, mixed[i].name, mixed[i].value, err, sizeof(err)),
                     RD_KAFKA_CONF_OK);
  seen[0] = '\0';
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  assert_non_null(rk);
  rd_kafka_destroy(rk);
  pthread_mutex_lock(&seen_lock);
  bool warned = strstr(seen, "CONFWARN") && strstr(seen, "session.timeout.ms") &&
                strstr(seen, "will be ignored by this producer");
  pthread_mutex_unlock(&seen_lock);
  assert_true(warned);
}

/* Reads kafka.properties of a shipped file with libconfig; a secret
 * reference ("@env:..", "@file:..") becomes a plain value. */
static size_t shipped_properties(const char *path, lb_config_pair *out, size_t max,
                                 char values[][256])
{
  config_t c;
  size_t n = 0;
  config_init(&c);
  if (config_read_file(&c, path) != CONFIG_TRUE)
    fail_msg("%s:%d: %s", path, config_error_line(&c), config_error_text(&c));
  config_setting_t *list = config_lookup(&c, "kafka.properties");
  for (int i = 0; list && i < config_setting_length(list) && n < max; i++) {
    config_setting_t *pair = config_setting_get_elem(list, (unsigned)i);
    const char *name = config_setting_get_string_elem(pair, 0);
    const char *value = config_setting_get_string_elem(pair, 1);
    assert_non_null(name);
    assert_non_null(value);
    snprintf(values[2 * n], 256, "%s", name);
    snprintf(values[2 * n + 1], 256, "%s", value[0] == '@' ? "x-secret" : value);
    out[n] = (lb_config_pair){ .name = values[2 * n], .value = values[2 * n + 1] };
    n++;
  }
  config_destroy(&c);
  return n;
}

static bool includes_another(const char *path)
{
  char line[512];
  bool found = false;
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  while (!found && fgets(line, sizeof(line), f))
    found = strncmp(line, "@include", 8) == 0;
  fclose(f);
  return found;
}

static void test_no_confwarn_for_shipped_files(void **state)
{
  (void)state;
  static const char *const patterns[] = {
    LB_SOURCE_DIR "/deploy/examples/*.conf",
    LB_SOURCE_DIR "/deploy/kubernetes/base/config/*.conf",
    LB_SOURCE_DIR "/deploy/kubernetes/overlays/*/config/*.conf",
    LB_SOURCE_DIR "/deploy/systemd/lmsbridge/*.conf",
  };
  size_t files = 0;
  for (size_t k = 0; k < sizeof(patterns) / sizeof(patterns[0]); k++) {
    glob_t g;
    if (glob(patterns[k], 0, NULL, &g) != 0)
      fail_msg("no file matches %s", patterns[k]);
    for (size_t i = 0; i < g.gl_pathc; i++) {
      if (includes_another(g.gl_pathv[i]))
        continue; /* a systemd instance's file: the group's file is read */
      lb_config_pair props[32];
      static char values[64][256];
      lb_config cfg = { 0 };
      cfg.kafka.brokers = "127.0.0.1:9";
      cfg.kafka.properties = props;
      cfg.kafka.nproperties = shipped_properties(g.gl_pathv[i], props, 32, values);
      const char *w = confwarns(&cfg);
      if (*w)
        fail_msg("%s: CONFWARN:\n%s", g.gl_pathv[i], w);
      files++;
    }
    globfree(&g);
  }
  assert_true(files >= 6);
}

/* ---- what the configurations hold ---- */

static const char *get(rd_kafka_conf_t *conf, const char *name)
{
  static char buf[256];
  size_t len = sizeof(buf);
  if (rd_kafka_conf_get(conf, name, buf, &len) != RD_KAFKA_CONF_OK)
    return NULL;
  return buf;
}

static void test_configurations(void **state)
{
  (void)state;
  char err[256];
  lb_config_pair props[] = { { "client.id", "lb-test", NULL },
                             { "session.timeout.ms", "7000", NULL },
                             { "linger.ms", "20", NULL } };
  lb_config cfg = { 0 };
  cfg.kafka.brokers = "127.0.0.1:9";
  cfg.kafka.properties = props;
  cfg.kafka.nproperties = 3;

  rd_kafka_conf_t *c = lb_kafka_conf_new(&cfg, LB_KAFKA_CONSUMER, err, sizeof(err));
  rd_kafka_conf_t *p = lb_kafka_conf_new(&cfg, LB_KAFKA_PRODUCER, err, sizeof(err));
  assert_non_null(c);
  assert_non_null(p);
  assert_string_equal(get(c, "bootstrap.servers"), "127.0.0.1:9");
  assert_string_equal(get(p, "bootstrap.servers"), "127.0.0.1:9");
  assert_string_equal(get(c, "client.id"), "lb-test");
  assert_string_equal(get(p, "client.id"), "lb-test");
  assert_string_equal(get(c, "session.timeout.ms"), "7000");
  assert_string_equal(get(p, "session.timeout.ms"), "45000"); /* not given to it */
  assert_string_equal(get(p, "linger.ms"), "20");
  assert_string_equal(get(p, "enable.idempotence"), "true"); /* every producer */
  /* the producer writes records up to Kafka's default batch limit; the
   * consumer keeps librdkafka's own (its fetches grow to any batch) */
  assert_string_equal(get(p, "message.max.bytes"), "1048588");
  assert_string_equal(get(c, "message.max.bytes"), "1000000");
  /* no client has a broker create a topic: a consumer's default, set on a
   * producer (whose default is true) */
  assert_string_equal(get(c, "allow.auto.create.topics"), "false");
  assert_string_equal(get(p, "allow.auto.create.topics"), "false");
  rd_kafka_conf_destroy(c);
  rd_kafka_conf_destroy(p);

  /* a producer lingers 5 ms unless the file says otherwise */
  cfg.kafka.nproperties = 1;
  p = lb_kafka_conf_new(&cfg, LB_KAFKA_PRODUCER, err, sizeof(err));
  assert_non_null(p);
  assert_string_equal(get(p, "linger.ms"), "5");
  rd_kafka_conf_destroy(p);
  char acl[64];
  assert_string_equal(lb_kafka_missing_acl(acl, sizeof(acl), "WRITE", "topic", "orders.dlq"),
                      "WRITE on topic orders.dlq");

  /* the file's message.max.bytes and allow.auto.create.topics win, for both */
  lb_config_pair mmb[] = { { "message.max.bytes", "2000000", NULL },
                           { "allow.auto.create.topics", "true", NULL } };
  cfg.kafka.properties = mmb;
  cfg.kafka.nproperties = 2;
  p = lb_kafka_conf_new(&cfg, LB_KAFKA_PRODUCER, err, sizeof(err));
  c = lb_kafka_conf_new(&cfg, LB_KAFKA_CONSUMER, err, sizeof(err));
  assert_string_equal(get(p, "message.max.bytes"), "2000000");
  assert_string_equal(get(c, "message.max.bytes"), "2000000");
  assert_string_equal(get(p, "allow.auto.create.topics"), "true");
  assert_string_equal(get(c, "allow.auto.create.topics"), "true");
  rd_kafka_conf_destroy(c);
  rd_kafka_conf_destroy(p);
}

static void test_refused_value(void **state)
{
  (void)state;
  char err[256] = "";
  lb_config_pair props[] = { { "session.timeout.ms", "soon", NULL } };
  lb_config cfg = { 0 };
  cfg.kafka.brokers = "127.0.0.1:9";
  cfg.kafka.properties = props;
  cfg.kafka.nproperties = 1;
  assert_null(lb_kafka_conf_new(&cfg, LB_KAFKA_CONSUMER, err, sizeof(err)));
  assert_non_null(strstr(err, "session.timeout.ms"));
  /* a producer never sees it */
  rd_kafka_conf_t *p = lb_kafka_conf_new(&cfg, LB_KAFKA_PRODUCER, err, sizeof(err));
  assert_non_null(p);
  rd_kafka_conf_destroy(p);
}

/* ---- topics that exist ---- */

/* A one-broker mock cluster and the producer handle that owns it (*mrk:
 * destroy the cluster, then it). */
static rd_kafka_mock_cluster_t *mock_cluster(rd_kafka_t **mrk)
{
  char err[256];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set_log_cb(conf, capture);
  *mrk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  assert_non_null(*mrk);
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(*mrk, 1);
  assert_non_null(mc);
  return mc;
}

static void test_topic_partitions(void **state)
{
  (void)state;
  char err[256];
  rd_kafka_t *mrk;
  rd_kafka_mock_cluster_t *mc = mock_cluster(&mrk);
  rd_kafka_conf_t *conf;
  assert_int_equal(rd_kafka_mock_topic_create(mc, "completion-events", 8, 1), 0);
  assert_int_equal(rd_kafka_mock_topic_create(mc, "completion-events.retry", 2, 1), 0);
  /* a topic the brokers report as unknown (as a real broker does one being
   * deleted) */
  rd_kafka_mock_topic_set_error(mc, "gone", RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);

  lb_config cfg = { 0 };
  cfg.kafka.brokers = (char *)rd_kafka_mock_cluster_bootstraps(mc);
  conf = lb_kafka_conf_new(&cfg, LB_KAFKA_CONSUMER, err, sizeof(err));
  assert_non_null(conf);
  rd_kafka_conf_set_log_cb(conf, capture);
  assert_int_equal(rd_kafka_conf_set(conf, "group.id", "g", err, sizeof(err)), RD_KAFKA_CONF_OK);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  assert_non_null(rk);
  const char *topics[] = { "completion-events", "completion-events.dlq", "completion-events.retry",
                           "gone" };
  int parts[4] = { -1, -1, -1, -1 };
  assert_int_equal(lb_kafka_topic_partitions(rk, topics, 4, 10000, parts, err, sizeof(err)),
                   LB_E_OK);
  assert_int_equal(parts[0], 8);
  assert_int_equal(parts[1], 0); /* missing */
  assert_int_equal(parts[2], 2);
  assert_int_equal(parts[3], 0); /* unknown to the brokers */
  /* asking created nothing: the mock cluster creates a topic a metadata
   * request names */
  parts[1] = -1;
  assert_int_equal(lb_kafka_topic_partitions(rk, topics, 4, 10000, parts, err, sizeof(err)),
                   LB_E_OK);
  assert_int_equal(parts[1], 0);
  rd_kafka_destroy(rk);
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(mrk);

  /* no broker answers: an error, in time */
  cfg.kafka.brokers = "127.0.0.1:1";
  conf = lb_kafka_conf_new(&cfg, LB_KAFKA_PRODUCER, err, sizeof(err));
  rd_kafka_conf_set_log_cb(conf, capture);
  rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  assert_non_null(rk);
  parts[0] = -1;
  err[0] = '\0';
  assert_int_equal(lb_kafka_topic_partitions(rk, topics, 1, 500, parts, err, sizeof(err)), LB_E_IO);
  assert_int_equal(parts[0], -1); /* untouched */
  assert_non_null(strstr(err, "cannot list the brokers' topics"));
  rd_kafka_destroy(rk);
}

/* A consumer reading partitions it assigned itself, with a fetch under
 * way, ends at once: every librdkafka instance is gone after it (and
 * NULL is accepted). */
static void test_consumer_destroy(void **state)
{
  (void)state;
  char err[256];
  lb_kafka_consumer_destroy(NULL);
  rd_kafka_t *mrk;
  rd_kafka_mock_cluster_t *mc = mock_cluster(&mrk);
  assert_int_equal(rd_kafka_mock_topic_create(mc, "t", 2, 1), 0);
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set_log_cb(conf, capture);
  assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers",
                                     rd_kafka_mock_cluster_bootstraps(mc), err, sizeof(err)),
                   RD_KAFKA_CONF_OK);
  assert_int_equal(rd_kafka_conf_set(conf, "group.id", "g", err, sizeof(err)), RD_KAFKA_CONF_OK);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  assert_non_null(rk);
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(2);
  rd_kafka_topic_partition_list_add(l, "t", 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_topic_partition_list_add(l, "t", 1)->offset = RD_KAFKA_OFFSET_BEGINNING;
  assert_int_equal(rd_kafka_assign(rk, l), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(l);
  rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200); /* nothing to read: fetches wait */
  if (m)
    rd_kafka_message_destroy(m);
  lb_kafka_consumer_destroy(rk);
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(mrk);
  assert_int_equal(rd_kafka_wait_destroyed(30000), 0);
}

/* syslog levels to ours; a failed broker connection is a warning. */
static void test_log_levels(void **state)
{
  (void)state;
  static const struct {
    int level;
    const char *fac;
    lb_log_level want;
  } cases[] = {
    { 0, "ERROR", LB_LOG_ERROR }, { 3, "ERROR", LB_LOG_ERROR }, { 3, "SSL", LB_LOG_ERROR },
    { 3, "FAIL", LB_LOG_WARN },   { 3, NULL, LB_LOG_ERROR },    { 4, "CONFWARN", LB_LOG_WARN },
    { 5, "FAIL", LB_LOG_INFO },   { 6, "STATE", LB_LOG_INFO },  { 7, "FETCH", LB_LOG_DEBUG },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    if (lb_kafka_log_level(cases[i].level, cases[i].fac) != cases[i].want)
      fail_msg("case %zu: level %d %s", i, cases[i].level, cases[i].fac ? cases[i].fac : "");
}

/* ---- co-partitioning ---- */

static void test_copartitioned(void **state)
{
  (void)state;
  char why[512];
  const char *topics[] = { "completion-events", "completion-events.retry", "more-events" };
  const char *keys[] = { "kafka.topics", "kafka.retry_topic", "kafka.topics" };
  const char *one_key[] = { "kafka.topics", "kafka.topics", "kafka.topics" };
  const struct {
    size_t n;
    int parts[3];
    const char *const *keys;
    const char *why; /* NULL: co-partitioned */
  } cases[] = {
    { 0, { 0, 0, 0 }, keys, NULL },
    { 1, { 3, 0, 0 }, keys, NULL },
    { 2, { 6, 6, 0 }, keys, NULL },
    { 3, { 6, 6, 6 }, keys, NULL },
    { 2,
      { 8, 2, 0 },
      keys,
      "topics are not co-partitioned: completion-events has 8 partitions, "
      "completion-events.retry has 2 (kafka.topics, kafka.retry_topic); give them the same "
      "count (kafka-topics --alter --partitions)" },
    { 2,
      { 1, 4, 0 },
      keys,
      "topics are not co-partitioned: completion-events has 1 partition, "
      "completion-events.retry has 4 (kafka.topics, kafka.retry_topic); give them the same "
      "count (kafka-topics --alter --partitions)" },
    /* the retry topic agrees with the first source topic, not the second;
     * a key is said once */
    { 3,
      { 6, 6, 3 },
      keys,
      "topics are not co-partitioned: completion-events has 6 partitions, "
      "completion-events.retry has 6, more-events has 3 (kafka.topics, kafka.retry_topic); "
      "give them the same count (kafka-topics --alter --partitions)" },
    { 3,
      { 2, 2, 4 },
      one_key,
      "topics are not co-partitioned: completion-events has 2 partitions, "
      "completion-events.retry has 2, more-events has 4 (kafka.topics); give them the same "
      "count (kafka-topics --alter --partitions)" },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    snprintf(why, sizeof(why), "untouched");
    bool ok =
        lb_kafka_copartitioned(topics, cases[i].keys, cases[i].parts, cases[i].n, why, sizeof(why));
    if (!cases[i].why) {
      assert_true(ok);
      assert_string_equal(why, "untouched");
    } else {
      assert_false(ok);
      assert_string_equal(why, cases[i].why);
    }
  }
  /* a short buffer holds the start of the message, terminated */
  int parts[] = { 8, 2 };
  char small[24];
  assert_false(lb_kafka_copartitioned(topics, keys, parts, 2, small, sizeof(small)));
  assert_string_equal(small, "topics are not co-parti");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_scopes_follow_librdkafkas_table),
    cmocka_unit_test(test_every_listed_property),
    cmocka_unit_test(test_no_confwarn_for_mixed_properties),
    cmocka_unit_test(test_unfiltered_properties_warn),
    cmocka_unit_test(test_no_confwarn_for_shipped_files),
    cmocka_unit_test(test_configurations),
    cmocka_unit_test(test_refused_value),
    cmocka_unit_test(test_topic_partitions),
    cmocka_unit_test(test_copartitioned),
    cmocka_unit_test(test_log_levels),
    cmocka_unit_test(test_consumer_destroy),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
