#include "lb_dlq_replayer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_kafka.h"
#include "lb_list.h"
#include "lb_log.h"
#include "lb_offsets.h"
#include "lb_time.h"

typedef struct {
  int32_t id;
  lb_offsets offs;
  int64_t committed; /* next offset committed; -1: nothing yet */
} ppart;

typedef struct {
  lb_list_node link; /* in rp->topics */
  char *topic;
  int partitions; /* 0: unknown */
} tcount;

typedef struct {
  lb_dlq_replayer *rp;
  int32_t partition;
  int64_t offset;
} sent;

struct lb_dlq_replayer {
  lb_dlq_reader *reader;
  rd_kafka_t *prk;
  rd_kafka_queue_t *commitq;
  ppart *parts;
  size_t nparts;
  lb_list topics; /* tcount: partition counts looked up */
  long long in_flight, acked, failed;
  char first_error[256];
  bool commit_in_flight;
};

static ppart *find_ppart(lb_dlq_replayer *rp, int32_t id)
{
  for (size_t i = 0; i < rp->nparts; i++)
    if (rp->parts[i].id == id)
      return &rp->parts[i];
  return NULL;
}

/* Why a republish failed, into buf: librdkafka's text, and for a refusal
 * the ACL it needs. A producer whose idempotence id is refused (the account
 * may write no topic at all: brokers before 2.8 want IDEMPOTENT_WRITE on the
 * cluster instead) is in a fatal state, whose cause librdkafka keeps. */
static void refused_write_error(char *buf, size_t len, rd_kafka_t *prk, rd_kafka_resp_err_t e,
                                const char *topic)
{
  char fatal[200];
  const char *why = rd_kafka_err2str(e);
  if (e == RD_KAFKA_RESP_ERR__FATAL &&
      (e = rd_kafka_fatal_error(prk, fatal, sizeof(fatal))) != RD_KAFKA_RESP_ERR_NO_ERROR)
    why = fatal;
  bool acl = e == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
             e == RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED;
  char missing[300];
  snprintf(buf, len, "%s%s%s", why, acl ? "; missing ACL: " : "",
           acl ? lb_kafka_missing_acl(missing, sizeof(missing), "WRITE", "topic", topic) : "");
}

static void on_delivered(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
  (void)rk;
  (void)opaque;
  sent *s = m->_private;
  lb_dlq_replayer *rp = s->rp;
  rp->in_flight--;
  if (m->err) {
    bool purged =
        m->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE || m->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT;
    if (!rp->failed++)
      refused_write_error(rp->first_error, sizeof(rp->first_error), rp->prk, m->err,
                          rd_kafka_topic_name(m->rkt));
    if (!purged) /* abandoned at exit: said once by the caller */
      lb_log(LB_LOG_DEBUG, "cannot republish a dead letter, its progress is not committed",
             LB_S("topic", rd_kafka_topic_name(m->rkt)), LB_I("dlq_partition", s->partition),
             LB_I("dlq_offset", s->offset), LB_S("error", rd_kafka_err2str(m->err)));
  } else {
    rp->acked++;
    ppart *p = find_ppart(rp, s->partition);
    if (p)
      lb_offsets_done(&p->offs, s->offset);
  }
  free(s);
}

lb_dlq_replayer *lb_dlq_replayer_new(const lb_config *cfg, lb_dlq_reader *reader, char *err,
                                     size_t errlen)
{
  lb_dlq_replayer *rp = calloc(1, sizeof(*rp));
  rd_kafka_conf_t *conf = NULL;
  if (!rp || !(rp->parts = calloc(lb_dlq_reader_partition_count(reader), sizeof(*rp->parts)))) {
    snprintf(err, errlen, "out of memory");
    free(rp);
    return NULL;
  }
  rp->reader = reader;
  rp->nparts = lb_dlq_reader_partition_count(reader);
  for (size_t i = 0; i < rp->nparts; i++) {
    rp->parts[i].id = lb_dlq_reader_partition(reader, i);
    rp->parts[i].committed = -1;
    lb_offsets_init(&rp->parts[i].offs);
  }
  /* idempotent (lb_kafka): retries never duplicate or reorder a record */
  if (!(conf = lb_kafka_conf_new(cfg, LB_KAFKA_PRODUCER, err, errlen)))
    goto fail;
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivered);
  rp->prk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errlen);
  if (!rp->prk)
    goto fail;
  conf = NULL; /* now owned by prk */
  rp->commitq = rd_kafka_queue_new(lb_dlq_reader_kafka(reader));
  return rp;
fail:
  if (conf)
    rd_kafka_conf_destroy(conf);
  lb_dlq_replayer_destroy(rp);
  return NULL;
}

void lb_dlq_replayer_destroy(lb_dlq_replayer *rp)
{
  if (!rp)
    return;
  if (rp->prk) {
    /* unsent records are dropped: their offsets were never committed */
    rd_kafka_purge(rp->prk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    int64_t deadline = lb_time_mono_ms() + 2000;
    while (rp->in_flight > 0 && lb_time_mono_ms() < deadline)
      rd_kafka_poll(rp->prk, 50); /* their reports free what they carry */
    rd_kafka_destroy(rp->prk);
  }
  if (rp->commitq) {
    while (rp->commit_in_flight && rd_kafka_queue_poll_callback(rp->commitq, 1000) > 0)
      ;
    rd_kafka_queue_destroy(rp->commitq);
  }
  for (size_t i = 0; rp->parts && i < rp->nparts; i++)
    lb_offsets_release(&rp->parts[i].offs);
  free(rp->parts);
  LB_LIST_EACH_SAFE (tcount, t, &rp->topics, link) {
    free(t->topic);
    free(t);
  }
  free(rp);
}

static ppart *track(lb_dlq_replayer *rp, const lb_dlq_record *r)
{
  ppart *p = find_ppart(rp, r->raw.partition);
  if (!p || lb_offsets_add(&p->offs, r->raw.offset) < 0)
    return NULL;
  return p;
}

lb_err lb_dlq_replayer_pass(lb_dlq_replayer *rp, const lb_dlq_record *r)
{
  ppart *p = track(rp, r);
  if (!p)
    return LB_E_NOMEM;
  lb_offsets_done(&p->offs, r->raw.offset);
  return LB_E_OK;
}

/* The partition count of a topic, looked up once; 0 if unknown. */
static int topic_partitions(lb_dlq_replayer *rp, const char *topic)
{
  LB_LIST_EACH (tcount, t, &rp->topics, link)
    if (strcmp(t->topic, topic) == 0)
      return t->partitions;
  tcount *t = calloc(1, sizeof(*t));
  if (!t || !(t->topic = strdup(topic))) {
    free(t);
    return 0;
  }
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(rp->prk, topic, NULL);
  const rd_kafka_metadata_t *md = NULL;
  if (rkt &&
      rd_kafka_metadata(rp->prk, 0, rkt, &md, lb_dlq_reader_timeout_ms(rp->reader)) ==
          RD_KAFKA_RESP_ERR_NO_ERROR &&
      md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
    t->partitions = md->topics[0].partition_cnt;
  if (md)
    rd_kafka_metadata_destroy(md);
  if (rkt)
    rd_kafka_topic_destroy(rkt);
  lb_list_push_front(&rp->topics, &t->link);
  return t->partitions;
}

lb_err lb_dlq_replayer_send(lb_dlq_replayer *rp, const lb_dlq_record *r,
                            rd_kafka_headers_t *headers, char *err, size_t errlen)
{
  lb_err rc = LB_E_NOMEM;
  sent *s = malloc(sizeof(*s));
  if (!s) {
    snprintf(err, errlen, "out of memory");
    goto fail;
  }
  if (!r->topic) {
    snprintf(err, errlen, "no original topic");
    rc = LB_E_INVALID;
    goto fail;
  }
  int n = topic_partitions(rp, r->topic);
  int32_t part = r->partition >= 0 && r->partition < n ? r->partition : RD_KAFKA_PARTITION_UA;
  *s = (sent){ .rp = rp, .partition = r->raw.partition, .offset = r->raw.offset };
  if (!track(rp, r)) {
    snprintf(err, errlen, "out of memory");
    goto fail;
  }
  rd_kafka_resp_err_t e;
  for (;;) {
    e = rd_kafka_producev(rp->prk, RD_KAFKA_V_TOPIC(r->topic), RD_KAFKA_V_PARTITION(part),
                          RD_KAFKA_V_KEY(r->raw.key, r->raw.key_len),
                          RD_KAFKA_V_VALUE((void *)r->raw.value, r->raw.value_len),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(headers),
                          RD_KAFKA_V_OPAQUE(s), RD_KAFKA_V_END);
    if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
      break;
    rd_kafka_poll(rp->prk, 100); /* the local queue is full: let it drain */
  }
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    /* tracked and never done: the progress stops before it */
    char why[320];
    refused_write_error(why, sizeof(why), rp->prk, e, r->topic);
    snprintf(err, errlen, "cannot queue a record for \"%s\": %s", r->topic, why);
    rc = LB_E_IO;
    goto fail;
  }
  rp->in_flight++;
  return LB_E_OK; /* headers now owned by the record */
fail:
  rd_kafka_headers_destroy(headers);
  free(s);
  return rc;
}

static void on_committed(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
  (void)rk;
  lb_dlq_replayer *rp = opaque;
  rp->commit_in_flight = false;
  if (err) {
    /* tried again on the next poll; lb_dlq_replayer_finish reports a
     * commit that keeps failing */
    lb_log(LB_LOG_DEBUG, "cannot commit the replay progress, retrying",
           LB_S("error", rd_kafka_err2str(err)));
    return;
  }
  for (int i = 0; offsets && i < offsets->cnt; i++) {
    ppart *p = find_ppart(rp, offsets->elems[i].partition);
    if (p && !offsets->elems[i].err && offsets->elems[i].offset > p->committed)
      p->committed = offsets->elems[i].offset;
  }
}

/* The partitions whose progress moved past what is committed; NULL when
 * none did. */
static rd_kafka_topic_partition_list_t *due(lb_dlq_replayer *rp)
{
  rd_kafka_topic_partition_list_t *l = NULL;
  for (size_t i = 0; i < rp->nparts; i++) {
    int64_t c = lb_offsets_committable(&rp->parts[i].offs);
    if (c < 0 || c <= rp->parts[i].committed)
      continue;
    if (!l)
      l = rd_kafka_topic_partition_list_new((int)rp->nparts);
    rd_kafka_topic_partition_list_add(l, lb_dlq_reader_topic(rp->reader), rp->parts[i].id)->offset =
        c;
  }
  return l;
}

static void commit_async(lb_dlq_replayer *rp)
{
  if (rp->commit_in_flight)
    return;
  rd_kafka_topic_partition_list_t *l = due(rp);
  if (!l)
    return;
  rd_kafka_resp_err_t e =
      rd_kafka_commit_queue(lb_dlq_reader_kafka(rp->reader), l, rp->commitq, on_committed, rp);
  if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
    rp->commit_in_flight = true;
  else
    lb_log(LB_LOG_DEBUG, "cannot commit the replay progress, retrying",
           LB_S("error", rd_kafka_err2str(e)));
  rd_kafka_topic_partition_list_destroy(l);
}

void lb_dlq_replayer_poll(lb_dlq_replayer *rp, int timeout_ms)
{
  rd_kafka_poll(rp->prk, timeout_ms);
  rd_kafka_queue_poll_callback(rp->commitq, 0);
  commit_async(rp);
}

long long lb_dlq_replayer_in_flight(const lb_dlq_replayer *rp)
{
  return rp->in_flight;
}

long long lb_dlq_replayer_acked(const lb_dlq_replayer *rp)
{
  return rp->acked;
}

long long lb_dlq_replayer_failed(const lb_dlq_replayer *rp, const char **first_error)
{
  if (first_error)
    *first_error = rp->failed ? rp->first_error : NULL;
  return rp->failed;
}

lb_err lb_dlq_replayer_finish(lb_dlq_replayer *rp, int timeout_ms, char *err, size_t errlen)
{
  int64_t deadline = lb_time_mono_ms() + timeout_ms;
  while (rp->in_flight > 0 && lb_time_mono_ms() < deadline)
    rd_kafka_poll(rp->prk, 100);
  while (rp->commit_in_flight && lb_time_mono_ms() < deadline)
    rd_kafka_queue_poll_callback(rp->commitq, 100);
  rd_kafka_topic_partition_list_t *l = due(rp);
  if (l) {
    rd_kafka_resp_err_t e = rd_kafka_commit(lb_dlq_reader_kafka(rp->reader), l, 0);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
      for (int i = 0; i < l->cnt; i++) {
        ppart *p = find_ppart(rp, l->elems[i].partition);
        if (p && !l->elems[i].err)
          p->committed = l->elems[i].offset;
      }
    } else {
      snprintf(err, errlen, "cannot commit the replay progress: %s", rd_kafka_err2str(e));
      rd_kafka_topic_partition_list_destroy(l);
      return LB_E_IO;
    }
    rd_kafka_topic_partition_list_destroy(l);
  }
  if (rp->in_flight > 0) {
    snprintf(err, errlen, "%lld records not acknowledged in time", rp->in_flight);
    return LB_E_IO;
  }
  return LB_E_OK;
}

json_object *lb_dlq_replayer_committed_json(const lb_dlq_replayer *rp)
{
  json_object *o = json_object_new_object();
  char key[16];
  for (size_t i = 0; i < rp->nparts; i++) {
    if (rp->parts[i].committed < 0)
      continue;
    snprintf(key, sizeof(key), "%d", (int)rp->parts[i].id);
    json_object_object_add(o, key, json_object_new_int64(rp->parts[i].committed));
  }
  return o;
}
