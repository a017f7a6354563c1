#include "ksb_cluster.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka_mock.h>

#include "ksb_parse.h"

/* Partition leader not moved through this module. */
#define LEADER_DEFAULT (-2)
#define COORDINATORS_MAX 256

struct ksb_topic {
  char *name; /* owned */
  int partitions;
  int replication;
  rd_kafka_resp_err_t error; /* reported in Metadata, NO_ERROR normally */
  int32_t *leaders;          /* owned, [partitions], LEADER_DEFAULT or id */
};

struct ksb_coordinator {
  char *type; /* owned */
  char *key;  /* owned */
  int broker;
};

struct ksb_broker {
  bool up;
  int rtt_ms;
};

struct ksb_cluster {
  rd_kafka_t *rk; /* helper handle, owns nothing of ours */
  rd_kafka_mock_cluster_t *mcluster;
  char *bootstraps; /* owned copy */
  int broker_cnt;
  struct ksb_broker brokers[KSB_BROKERS_MAX];
  struct ksb_topic *topics; /* owned, [topic_cnt] */
  size_t topic_cnt;
  struct ksb_coordinator coordinators[COORDINATORS_MAX];
  size_t coordinator_cnt;
};

/* librdkafka log callback of the helper handle (any thread): forwards to
 * stderr, minus the warning that the helper has no bootstrap.servers (it
 * is not meant to connect anywhere). */
static void helper_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
  (void)rk;
  if (!strcmp(fac, "CONFWARN") && strstr(buf, "bootstrap.servers"))
    return;
  fprintf(stderr, "kafka-sandbox: librdkafka: %d %s: %s\n", level, fac, buf);
}

static void topic_release(struct ksb_topic *t)
{
  free(t->name);
  free(t->leaders);
}

ksb_cluster *ksb_cluster_new(int brokers, const char *debug, char *errbuf, size_t errlen)
{
  ksb_cluster *c = NULL;
  rd_kafka_conf_t *conf = NULL;
  const char *bs;
  int i;

  if (brokers < 1 || brokers > KSB_BROKERS_MAX) {
    snprintf(errbuf, errlen, "invalid broker count %d: expected 1..%d", brokers, KSB_BROKERS_MAX);
    goto fail;
  }
  c = calloc(1, sizeof(*c));
  if (!c) {
    snprintf(errbuf, errlen, "out of memory");
    goto fail;
  }
  c->broker_cnt = brokers;
  for (i = 0; i < brokers; i++)
    c->brokers[i] = (struct ksb_broker){ .up = true };

  conf = rd_kafka_conf_new();
  rd_kafka_conf_set_log_cb(conf, helper_log);
  if (debug && rd_kafka_conf_set(conf, "debug", debug, errbuf, errlen) != RD_KAFKA_CONF_OK)
    goto fail;
  c->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errbuf, errlen);
  if (!c->rk)
    goto fail;
  conf = NULL; /* now owned by c->rk */

  c->mcluster = rd_kafka_mock_cluster_new(c->rk, brokers);
  if (!c->mcluster) {
    snprintf(errbuf, errlen, "cannot create mock cluster of %d brokers", brokers);
    goto fail;
  }
  bs = rd_kafka_mock_cluster_bootstraps(c->mcluster);
  c->bootstraps = strdup(bs ? bs : "");
  if (!c->bootstraps) {
    snprintf(errbuf, errlen, "out of memory");
    goto fail;
  }
  return c;

fail:
  if (conf)
    rd_kafka_conf_destroy(conf);
  ksb_cluster_destroy(c);
  return NULL;
}

ksb_cluster *ksb_cluster_destroy(ksb_cluster *c)
{
  size_t i;

  if (!c)
    return NULL;
  /* The cluster first: it still uses c->rk for its bookkeeping. */
  if (c->mcluster)
    rd_kafka_mock_cluster_destroy(c->mcluster);
  if (c->rk)
    rd_kafka_destroy(c->rk);
  for (i = 0; i < c->topic_cnt; i++)
    topic_release(&c->topics[i]);
  free(c->topics);
  for (i = 0; i < c->coordinator_cnt; i++) {
    free(c->coordinators[i].type);
    free(c->coordinators[i].key);
  }
  free(c->bootstraps);
  free(c);
  return NULL;
}

const char *ksb_cluster_bootstraps(const ksb_cluster *c)
{
  return c->bootstraps;
}

int ksb_cluster_broker_count(const ksb_cluster *c)
{
  return c->broker_cnt;
}

static struct ksb_topic *topic_find(const ksb_cluster *c, const char *name)
{
  size_t i;

  for (i = 0; i < c->topic_cnt; i++)
    if (!strcmp(c->topics[i].name, name))
      return &c->topics[i];
  return NULL;
}

/* Checks that `broker` is one of ours (or KSB_BROKER_ALL when all_ok). */
static ksb_rc broker_check(const ksb_cluster *c, int broker, bool all_ok, char *errbuf,
                           size_t errlen)
{
  if ((all_ok && broker == KSB_BROKER_ALL) || (broker >= 1 && broker <= c->broker_cnt))
    return KSB_OK;
  snprintf(errbuf, errlen, "unknown broker %d: brokers are 1..%d%s", broker, c->broker_cnt,
           all_ok ? " or all" : "");
  return KSB_E_NOTFOUND;
}

static ksb_rc kafka_rc(rd_kafka_resp_err_t err, const char *what, char *errbuf, size_t errlen)
{
  if (!err)
    return KSB_OK;
  snprintf(errbuf, errlen, "%s failed: %s: %s", what, rd_kafka_err2name(err),
           rd_kafka_err2str(err));
  return KSB_E_KAFKA;
}

ksb_rc ksb_cluster_topic_create(ksb_cluster *c, const char *name, int partitions, char *errbuf,
                                size_t errlen)
{
  struct ksb_topic t = { 0 }, *grown;
  int replication = c->broker_cnt < 3 ? c->broker_cnt : 3;
  rd_kafka_resp_err_t err;
  ksb_rc rc;
  int i;

  if (!ksb_topic_name_valid(name)) {
    snprintf(errbuf, errlen,
             "invalid topic name \"%.64s\": expected 1..%d characters of "
             "[a-zA-Z0-9._-]",
             name, KSB_TOPIC_NAME_MAX);
    return KSB_E_INVALID;
  }
  if (partitions < 1 || partitions > KSB_PARTITIONS_MAX) {
    snprintf(errbuf, errlen, "invalid partition count %d: expected 1..%d", partitions,
             KSB_PARTITIONS_MAX);
    return KSB_E_INVALID;
  }
  if (topic_find(c, name)) {
    snprintf(errbuf, errlen, "topic \"%s\" already exists", name);
    return KSB_E_EXISTS;
  }
  if (c->topic_cnt == KSB_TOPICS_MAX) {
    snprintf(errbuf, errlen, "too many topics: at most %d", KSB_TOPICS_MAX);
    return KSB_E_LIMIT;
  }

  t.name = strdup(name);
  t.leaders = calloc((size_t)partitions, sizeof(*t.leaders));
  grown = realloc(c->topics, (c->topic_cnt + 1) * sizeof(*c->topics));
  if (grown)
    c->topics = grown;
  if (!t.name || !t.leaders || !grown) {
    snprintf(errbuf, errlen, "out of memory");
    rc = KSB_E_NOMEM;
    goto out;
  }
  for (i = 0; i < partitions; i++)
    t.leaders[i] = LEADER_DEFAULT;
  t.partitions = partitions;
  t.replication = replication;

  err = rd_kafka_mock_topic_create(c->mcluster, name, partitions, replication);
  if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
    /* Created behind our back by a client's Metadata request. */
    snprintf(errbuf, errlen,
             "topic \"%s\" already exists: auto-created by a client's "
             "metadata request with the mock's default partition count",
             name);
    rc = KSB_E_EXISTS;
    goto out;
  }
  rc = kafka_rc(err, "topic create", errbuf, errlen);
  if (rc != KSB_OK)
    goto out;
  c->topics[c->topic_cnt++] = t;
  t = (struct ksb_topic){ 0 }; /* now owned by c->topics */

out:
  topic_release(&t);
  return rc;
}

/* Finds topic `name` and checks `partition` (unless it is -1). */
static ksb_rc topic_partition_check(const ksb_cluster *c, const char *name, int partition,
                                    struct ksb_topic **ret, char *errbuf, size_t errlen)
{
  struct ksb_topic *t = topic_find(c, name);

  if (!t) {
    snprintf(errbuf, errlen, "unknown topic \"%.64s\": create it with --topic or POST /topics",
             name);
    return KSB_E_NOTFOUND;
  }
  if (partition != -1 && (partition < 0 || partition >= t->partitions)) {
    snprintf(errbuf, errlen, "unknown partition %d of topic \"%s\": partitions are 0..%d",
             partition, name, t->partitions - 1);
    return KSB_E_NOTFOUND;
  }
  *ret = t;
  return KSB_OK;
}

ksb_rc ksb_cluster_topic_set_error(ksb_cluster *c, const char *name, rd_kafka_resp_err_t err,
                                   char *errbuf, size_t errlen)
{
  struct ksb_topic *t;
  ksb_rc rc = topic_partition_check(c, name, -1, &t, errbuf, errlen);

  if (rc != KSB_OK)
    return rc;
  rd_kafka_mock_topic_set_error(c->mcluster, name, err);
  t->error = err;
  return KSB_OK;
}

ksb_rc ksb_cluster_partition_set_leader(ksb_cluster *c, const char *name, int partition, int broker,
                                        char *errbuf, size_t errlen)
{
  struct ksb_topic *t;
  ksb_rc rc = topic_partition_check(c, name, partition, &t, errbuf, errlen);

  if (rc != KSB_OK)
    return rc;
  if (broker != -1) {
    rc = broker_check(c, broker, false, errbuf, errlen);
    if (rc != KSB_OK)
      return rc;
  }
  rc = kafka_rc(rd_kafka_mock_partition_set_leader(c->mcluster, name, partition, broker),
                "leader change", errbuf, errlen);
  if (rc == KSB_OK)
    t->leaders[partition] = broker;
  return rc;
}

ksb_rc ksb_cluster_broker_set_up(ksb_cluster *c, int broker, int up, char *errbuf, size_t errlen)
{
  rd_kafka_resp_err_t err;
  ksb_rc rc = broker_check(c, broker, true, errbuf, errlen);
  int i;

  if (rc != KSB_OK)
    return rc;
  err = up ? rd_kafka_mock_broker_set_up(c->mcluster, broker)
           : rd_kafka_mock_broker_set_down(c->mcluster, broker);
  rc = kafka_rc(err, up ? "broker up" : "broker down", errbuf, errlen);
  if (rc != KSB_OK)
    return rc;
  for (i = 0; i < c->broker_cnt; i++)
    if (broker == KSB_BROKER_ALL || broker == i + 1)
      c->brokers[i].up = up != 0;
  return KSB_OK;
}

ksb_rc ksb_cluster_broker_set_rtt(ksb_cluster *c, int broker, int rtt_ms, char *errbuf,
                                  size_t errlen)
{
  ksb_rc rc = broker_check(c, broker, true, errbuf, errlen);
  int i;

  if (rc != KSB_OK)
    return rc;
  if (rtt_ms < 0 || rtt_ms > KSB_RTT_MAX_MS) {
    snprintf(errbuf, errlen, "invalid rtt %d ms: expected 0..%d", rtt_ms, KSB_RTT_MAX_MS);
    return KSB_E_INVALID;
  }
  rc = kafka_rc(rd_kafka_mock_broker_set_rtt(c->mcluster, broker, rtt_ms), "broker rtt", errbuf,
                errlen);
  if (rc != KSB_OK)
    return rc;
  for (i = 0; i < c->broker_cnt; i++)
    if (broker == KSB_BROKER_ALL || broker == i + 1)
      c->brokers[i].rtt_ms = rtt_ms;
  return KSB_OK;
}

ksb_rc ksb_cluster_push_errors(ksb_cluster *c, int16_t api_key, size_t cnt,
                               const rd_kafka_resp_err_t *errs)
{
  rd_kafka_mock_push_request_errors_array(c->mcluster, api_key, cnt, errs);
  return KSB_OK;
}

void ksb_cluster_clear_errors(ksb_cluster *c, int16_t api_key)
{
  rd_kafka_mock_clear_request_errors(c->mcluster, api_key);
}

ksb_rc ksb_cluster_broker_push_errors(ksb_cluster *c, int broker, int16_t api_key, size_t cnt,
                                      const rd_kafka_resp_err_t *errs, const int *rtts_ms,
                                      char *errbuf, size_t errlen)
{
  ksb_rc rc = broker_check(c, broker, false, errbuf, errlen);
  size_t i;

  if (rc != KSB_OK)
    return rc;
  /* The call is variadic only: push one (error, rtt) tuple at a time; each
   * push appends to the broker's stack, so the order is kept. */
  for (i = 0; i < cnt && rc == KSB_OK; i++)
    rc = kafka_rc(rd_kafka_mock_broker_push_request_error_rtts(c->mcluster, broker, api_key, 1,
                                                               errs[i], rtts_ms[i]),
                  "broker error push", errbuf, errlen);
  return rc;
}

ksb_rc ksb_cluster_broker_error_count(ksb_cluster *c, int broker, int16_t api_key, size_t *ret,
                                      char *errbuf, size_t errlen)
{
  size_t cnt = 0;
  ksb_rc rc = broker_check(c, broker, false, errbuf, errlen);

  if (rc != KSB_OK)
    return rc;
  rc = kafka_rc(rd_kafka_mock_broker_error_stack_cnt(c->mcluster, broker, api_key, &cnt),
                "broker error count", errbuf, errlen);
  if (rc == KSB_OK)
    *ret = cnt;
  return rc;
}

ksb_rc ksb_cluster_coordinator_set(ksb_cluster *c, const char *type, const char *key, int broker,
                                   char *errbuf, size_t errlen)
{
  struct ksb_coordinator *co = NULL;
  ksb_rc rc;
  size_t i;

  if (!type || (strcmp(type, "group") && strcmp(type, "transaction"))) {
    snprintf(errbuf, errlen,
             "invalid coordinator type \"%.32s\": expected group or "
             "transaction",
             type ? type : "");
    return KSB_E_INVALID;
  }
  if (!key || !*key || strlen(key) > KSB_TOPIC_NAME_MAX) {
    snprintf(errbuf, errlen, "invalid coordinator key: expected 1..%d bytes", KSB_TOPIC_NAME_MAX);
    return KSB_E_INVALID;
  }
  rc = broker_check(c, broker, false, errbuf, errlen);
  if (rc != KSB_OK)
    return rc;

  for (i = 0; i < c->coordinator_cnt; i++)
    if (!strcmp(c->coordinators[i].type, type) && !strcmp(c->coordinators[i].key, key))
      co = &c->coordinators[i];
  if (!co) {
    if (c->coordinator_cnt == COORDINATORS_MAX) {
      snprintf(errbuf, errlen, "too many coordinators set: at most %d", COORDINATORS_MAX);
      return KSB_E_LIMIT;
    }
    co = &c->coordinators[c->coordinator_cnt];
    co->type = strdup(type);
    co->key = strdup(key);
    if (!co->type || !co->key) {
      free(co->type);
      free(co->key);
      *co = (struct ksb_coordinator){ 0 };
      snprintf(errbuf, errlen, "out of memory");
      return KSB_E_NOMEM;
    }
    c->coordinator_cnt++;
  }

  rc = kafka_rc(rd_kafka_mock_coordinator_set(c->mcluster, type, key, broker), "coordinator change",
                errbuf, errlen);
  if (rc == KSB_OK)
    co->broker = broker;
  return rc;
}

/* json-c setters fail only on allocation; the caller checks the result of
 * the whole build through `ok`. A NULL `val` is a failed allocation, except
 * for add_null(). */
static void add(json_object *obj, const char *key, json_object *val, bool *ok)
{
  if (!val || json_object_object_add(obj, key, val) < 0) {
    json_object_put(val);
    *ok = false;
  }
}

static void add_null(json_object *obj, const char *key, bool *ok)
{
  if (json_object_object_add(obj, key, NULL) < 0)
    *ok = false;
}

static void push(json_object *arr, json_object *val, bool *ok)
{
  if (!val || json_object_array_add(arr, val) < 0) {
    json_object_put(val);
    *ok = false;
  }
}

static json_object *topic_json(const struct ksb_topic *t, bool *ok)
{
  json_object *o = json_object_new_object();
  json_object *leaders = json_object_new_array();
  int p;

  if (!o || !leaders) {
    json_object_put(o);
    json_object_put(leaders);
    *ok = false;
    return NULL;
  }
  add(o, "name", json_object_new_string(t->name), ok);
  add(o, "partitions", json_object_new_int(t->partitions), ok);
  add(o, "replication_factor", json_object_new_int(t->replication), ok);
  if (t->error)
    add(o, "error", json_object_new_string(rd_kafka_err2name(t->error)), ok);
  else
    add_null(o, "error", ok);
  for (p = 0; p < t->partitions; p++) {
    json_object *l;

    if (t->leaders[p] == LEADER_DEFAULT)
      continue;
    l = json_object_new_object();
    if (l) {
      add(l, "partition", json_object_new_int(p), ok);
      if (t->leaders[p] == -1)
        add_null(l, "broker", ok); /* leaderless */
      else
        add(l, "broker", json_object_new_int(t->leaders[p]), ok);
    }
    push(leaders, l, ok);
  }
  add(o, "leaders_set", leaders, ok);
  return o;
}

json_object *ksb_cluster_status(const ksb_cluster *c)
{
  json_object *st = json_object_new_object();
  json_object *brokers = json_object_new_array();
  json_object *topics = json_object_new_array();
  json_object *coords = json_object_new_array();
  bool ok = st && brokers && topics && coords;
  size_t i;
  int b;

  if (!ok)
    goto out;
  for (b = 0; b < c->broker_cnt; b++) {
    json_object *o = json_object_new_object();

    if (o) {
      add(o, "id", json_object_new_int(b + 1), &ok);
      add(o, "up", json_object_new_boolean(c->brokers[b].up), &ok);
      add(o, "rtt_ms", json_object_new_int(c->brokers[b].rtt_ms), &ok);
    }
    push(brokers, o, &ok);
  }
  for (i = 0; i < c->topic_cnt; i++)
    push(topics, topic_json(&c->topics[i], &ok), &ok);
  for (i = 0; i < c->coordinator_cnt; i++) {
    json_object *o = json_object_new_object();

    if (o) {
      add(o, "type", json_object_new_string(c->coordinators[i].type), &ok);
      add(o, "key", json_object_new_string(c->coordinators[i].key), &ok);
      add(o, "broker", json_object_new_int(c->coordinators[i].broker), &ok);
    }
    push(coords, o, &ok);
  }
  add(st, "bootstrap_servers", json_object_new_string(c->bootstraps), &ok);
  add(st, "broker_count", json_object_new_int(c->broker_cnt), &ok);
  add(st, "brokers", brokers, &ok);
  brokers = NULL; /* now owned by st */
  add(st, "topics", topics, &ok);
  topics = NULL;
  add(st, "coordinators", coords, &ok);
  coords = NULL;

out:
  json_object_put(brokers);
  json_object_put(topics);
  json_object_put(coords);
  if (!ok) {
    json_object_put(st);
    return NULL;
  }
  return st;
}
