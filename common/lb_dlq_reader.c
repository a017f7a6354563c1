#include "lb_dlq_reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_kafka.h"
#include "lb_log.h"
#include "lb_time.h"

#define DEFAULT_TIMEOUT_MS 10000
#define METADATA_TRIES 5

typedef struct {
  int32_t id;
  int64_t start, end; /* read [start, end) */
  bool done;          /* reached end (or nothing to read) */
} dpart;

struct lb_dlq_reader {
  const lb_config *cfg;
  rd_kafka_t *rk;
  char *topic;
  char *group;
  dpart *parts;
  size_t nparts;
  int timeout_ms;
};

/* The topic's partitions, from a list of every topic: a topic asked for
 * by name, a broker that creates topics (the mock cluster,
 * auto.create.topics.enable) would create, empty. A topic being created
 * answers LEADER_NOT_AVAILABLE for a moment: the list is asked for again. */
static lb_err load_partitions(lb_dlq_reader *r, char *err, size_t errlen)
{
  const rd_kafka_metadata_t *md = NULL;
  const rd_kafka_metadata_topic_t *t = NULL;
  lb_err rc = LB_E_IO;
  for (int i = 0; i < METADATA_TRIES; i++) {
    if (md) {
      rd_kafka_metadata_destroy(md);
      md = NULL;
      rd_kafka_poll(r->rk, 200);
    }
    rd_kafka_resp_err_t e = rd_kafka_metadata(r->rk, 1 /* every topic */, NULL, &md, r->timeout_ms);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      md = NULL;
      snprintf(err, errlen, "cannot list the brokers' topics: %s", rd_kafka_err2str(e));
      goto out;
    }
    t = NULL;
    for (int k = 0; k < md->topic_cnt && !t; k++)
      if (strcmp(md->topics[k].topic, r->topic) == 0 &&
          md->topics[k].err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
        t = &md->topics[k];
    if (!t) {
      bool dlq = strcmp(r->topic, r->cfg->kafka.dlq_topic) == 0;
      snprintf(err, errlen,
               "%s topic \"%s\" does not exist on the brokers (or this client may not "
               "describe it): check kafka.%s in %s (or --worker, when the file leaves "
               "it to the worker's default)",
               dlq ? "dead-letter" : "the", r->topic, dlq ? "dlq_topic" : "topics",
               r->cfg->path ? r->cfg->path : "the configuration file");
      rc = LB_E_NOT_FOUND;
      goto out;
    }
    if (t->err != RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE && t->partition_cnt > 0)
      break;
  }
  if (t->err != RD_KAFKA_RESP_ERR_NO_ERROR || t->partition_cnt <= 0) {
    snprintf(err, errlen, "topic \"%s\" cannot be read: %s", r->topic,
             t->err ? rd_kafka_err2str(t->err) : "no partitions");
    goto out;
  }
  r->parts = calloc((size_t)t->partition_cnt, sizeof(*r->parts));
  if (!r->parts) {
    snprintf(err, errlen, "out of memory");
    rc = LB_E_NOMEM;
    goto out;
  }
  for (int i = 0; i < t->partition_cnt; i++)
    r->parts[i].id = t->partitions[i].id;
  r->nparts = (size_t)t->partition_cnt;
  rc = LB_E_OK;
out:
  if (md)
    rd_kafka_metadata_destroy(md);
  return rc;
}

/* start = the group's committed offset within [low, high], else low;
 * end = high, both as they are now. */
static lb_err load_range(lb_dlq_reader *r, bool from_committed, char *err, size_t errlen)
{
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)r->nparts);
  lb_err rc = LB_E_IO;
  for (size_t i = 0; i < r->nparts; i++)
    rd_kafka_topic_partition_list_add(l, r->topic, r->parts[i].id)->offset =
        RD_KAFKA_OFFSET_INVALID;
  if (from_committed) {
    rd_kafka_resp_err_t e = rd_kafka_committed(r->rk, l, r->timeout_ms);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      /* a group the account may not read is refused, or (librdkafka
       * retrying the refusal) answered by no one in time: name the ACL */
      const char *hint = e == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED ? "; missing ACL: "
                         : e == RD_KAFKA_RESP_ERR__TIMED_OUT
                             ? "; the brokers are unreachable, or the account lacks "
                             : NULL;
      char acl[300];
      snprintf(err, errlen, "cannot read the committed offsets of \"%s\": %s%s%s", r->topic,
               rd_kafka_err2str(e), hint ? hint : "",
               hint ? lb_kafka_missing_acl(acl, sizeof(acl), "READ", "group", r->group) : "");
      goto out;
    }
  }
  for (size_t i = 0; i < r->nparts; i++) {
    dpart *p = &r->parts[i];
    int64_t lo, hi;
    rd_kafka_resp_err_t e =
        rd_kafka_query_watermark_offsets(r->rk, r->topic, p->id, &lo, &hi, r->timeout_ms);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      snprintf(err, errlen, "cannot read the offsets of \"%s\" partition %d: %s", r->topic,
               (int)p->id, rd_kafka_err2str(e));
      goto out;
    }
    int64_t c = l->elems[i].err ? RD_KAFKA_OFFSET_INVALID : l->elems[i].offset;
    p->start = c >= 0 ? (c < lo ? lo : c > hi ? hi : c) : lo;
    p->end = hi;
  }
  rc = LB_E_OK;
out:
  rd_kafka_topic_partition_list_destroy(l);
  return rc;
}

lb_dlq_reader *lb_dlq_reader_new(const lb_dlq_reader_options *o, char *err, size_t errlen)
{
  lb_dlq_reader *r = calloc(1, sizeof(*r));
  rd_kafka_conf_t *conf = NULL;
  if (!r || !(r->topic = strdup(o->topic ? o->topic : o->cfg->kafka.dlq_topic)) ||
      !(r->group = strdup(o->group))) {
    snprintf(err, errlen, "out of memory");
    if (r)
      free(r->topic);
    free(r);
    return NULL;
  }
  r->cfg = o->cfg;
  r->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
  /* a plain assigned consumer: it never joins the group, it only reads
   * and writes the group's committed offsets */
  if (!(conf = lb_kafka_conf_new(o->cfg, LB_KAFKA_CONSUMER, err, errlen)) ||
      !lb_kafka_conf_set(conf, "group.id", o->group, err, errlen) ||
      !lb_kafka_conf_set(conf, "enable.auto.commit", "false", err, errlen) ||
      !lb_kafka_conf_set(conf, "enable.auto.offset.store", "false", err, errlen) ||
      !lb_kafka_conf_set(conf, "enable.partition.eof", "true", err, errlen) ||
      !lb_kafka_conf_set(conf, "auto.offset.reset", "earliest", err, errlen) ||
      /* a fetch parked at the end delays the next pass's first fetch */
      !lb_kafka_conf_set(conf, "fetch.wait.max.ms", "100", err, errlen))
    goto fail;
  r->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, errlen);
  if (!r->rk)
    goto fail;
  conf = NULL; /* now owned by rk */
  rd_kafka_poll_set_consumer(r->rk);
  if (load_partitions(r, err, errlen) != LB_E_OK ||
      load_range(r, o->from_committed, err, errlen) != LB_E_OK)
    goto fail;
  return r;
fail:
  if (conf)
    rd_kafka_conf_destroy(conf);
  lb_dlq_reader_destroy(r);
  return NULL;
}

void lb_dlq_reader_destroy(lb_dlq_reader *r)
{
  if (!r)
    return;
  lb_kafka_consumer_destroy(r->rk);
  free(r->parts);
  free(r->topic);
  free(r->group);
  free(r);
}

int64_t lb_dlq_reader_total(const lb_dlq_reader *r)
{
  int64_t n = 0;
  for (size_t i = 0; i < r->nparts; i++)
    n += r->parts[i].end - r->parts[i].start;
  return n;
}

json_object *lb_dlq_reader_range_json(const lb_dlq_reader *r)
{
  json_object *o = json_object_new_object();
  char key[16];
  for (size_t i = 0; i < r->nparts; i++) {
    json_object *p = json_object_new_object();
    json_object_object_add(p, "start", json_object_new_int64(r->parts[i].start));
    json_object_object_add(p, "end", json_object_new_int64(r->parts[i].end));
    snprintf(key, sizeof(key), "%d", (int)r->parts[i].id);
    json_object_object_add(o, key, p);
  }
  return o;
}

static dpart *find_dpart(lb_dlq_reader *r, int32_t id)
{
  for (size_t i = 0; i < r->nparts; i++)
    if (r->parts[i].id == id)
      return &r->parts[i];
  return NULL;
}

/* Stops fetching a partition that reached its end. */
static void part_done(lb_dlq_reader *r, dpart *p)
{
  if (p->done)
    return;
  p->done = true;
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, r->topic, p->id);
  rd_kafka_pause_partitions(r->rk, l);
  rd_kafka_topic_partition_list_destroy(l);
}

lb_err lb_dlq_reader_rewind(lb_dlq_reader *r, char *err, size_t errlen)
{
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)r->nparts);
  for (size_t i = 0; i < r->nparts; i++) {
    dpart *p = &r->parts[i];
    p->done = p->start >= p->end;
    if (!p->done)
      rd_kafka_topic_partition_list_add(l, r->topic, p->id)->offset = p->start;
  }
  /* a new assignment drops whatever was fetched for the old one */
  rd_kafka_resp_err_t e = rd_kafka_assign(r->rk, NULL);
  if (e == RD_KAFKA_RESP_ERR_NO_ERROR && l->cnt > 0)
    e = rd_kafka_assign(r->rk, l);
  /* librdkafka keeps a partition's pause across assignments */
  if (e == RD_KAFKA_RESP_ERR_NO_ERROR && l->cnt > 0)
    e = rd_kafka_resume_partitions(r->rk, l);
  rd_kafka_topic_partition_list_destroy(l);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    snprintf(err, errlen, "cannot assign \"%s\": %s", r->topic, rd_kafka_err2str(e));
    return LB_E_IO;
  }
  return LB_E_OK;
}

static bool all_done(const lb_dlq_reader *r)
{
  for (size_t i = 0; i < r->nparts; i++)
    if (!r->parts[i].done)
      return false;
  return true;
}

int lb_dlq_reader_next(lb_dlq_reader *r, int timeout_ms, rd_kafka_message_t **ret)
{
  int64_t deadline = lb_time_mono_ms() + timeout_ms;
  for (;;) {
    if (all_done(r))
      return 0;
    int64_t left = deadline - lb_time_mono_ms();
    rd_kafka_message_t *m = rd_kafka_consumer_poll(r->rk, left > 0 ? (int)left : 0);
    if (!m)
      return -1;
    dpart *p = m->rkt && strcmp(rd_kafka_topic_name(m->rkt), r->topic) == 0
                   ? find_dpart(r, m->partition)
                   : NULL;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (p && m->offset >= p->end)
        part_done(r, p);
    } else if (m->err) {
      lb_log(LB_LOG_DEBUG, "kafka consumer error, going on", LB_S("topic", r->topic),
             LB_S("error", rd_kafka_message_errstr(m)));
    } else if (p && !p->done && m->offset < p->end) {
      if (m->offset + 1 >= p->end)
        part_done(r, p);
      *ret = m;
      return 1;
    } else if (p) {
      part_done(r, p); /* written after we started: not ours */
    }
    rd_kafka_message_destroy(m);
    if (lb_time_mono_ms() >= deadline)
      return -1;
  }
}

void lb_dlq_reader_raw_from_message(lb_dlq_raw *ret, const rd_kafka_message_t *m)
{
  rd_kafka_headers_t *h = NULL;
  rd_kafka_timestamp_type_t tt;
  int64_t ts = rd_kafka_message_timestamp(m, &tt);
  /* the headers are parsed once and owned by the message */
  rd_kafka_message_headers(m, &h);
  *ret = (lb_dlq_raw){
    .topic = m->rkt ? rd_kafka_topic_name(m->rkt) : NULL,
    .partition = m->partition,
    .offset = m->offset,
    .timestamp_ms = tt == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? -1 : ts,
    .key = m->key,
    .key_len = m->key ? m->key_len : 0,
    .value = m->payload,
    .value_len = m->payload ? m->len : 0,
    .headers = h,
  };
}

rd_kafka_t *lb_dlq_reader_kafka(const lb_dlq_reader *r)
{
  return r->rk;
}

const char *lb_dlq_reader_topic(const lb_dlq_reader *r)
{
  return r->topic;
}

int lb_dlq_reader_timeout_ms(const lb_dlq_reader *r)
{
  return r->timeout_ms;
}

size_t lb_dlq_reader_partition_count(const lb_dlq_reader *r)
{
  return r->nparts;
}

int32_t lb_dlq_reader_partition(const lb_dlq_reader *r, size_t i)
{
  return r->parts[i].id;
}
