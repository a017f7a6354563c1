#include "lb_state_restore.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_kafka.h"
#include "lb_log.h"
#include "lb_state.h"
#include "lb_time.h"

/* a state partition: not wanted or no longer loaded, being read, loaded */
typedef enum { S_IDLE, S_LOADING, S_LOADED } spart_state;

typedef struct {
  int32_t id;
  spart_state st;
  int64_t started_mono;
  long long records, malformed;
} spart;

struct lb_state_restore {
  const lb_config *cfg;
  char *topic;
  lb_metrics *metrics;
  rd_kafka_t *rk;
  rd_kafka_topic_t *rkt; /* known from the start: its leaders are */
  rd_kafka_queue_t *q;
  spart *parts;
  size_t n, cap;
};

void lb_state_restore_declare_metrics(lb_metrics *m)
{
  lb_metrics_declare(m, "lmsbridge_state_restore_seconds", LB_GAUGE,
                     "Seconds the last restore of each partition of the catalog state topic "
                     "took (read from its beginning to its end before the member works on the "
                     "source partition numbered so).");
  lb_metrics_declare(m, "lmsbridge_state_restored_records_total", LB_COUNTER,
                     "Records of the catalog state topic read by restores.");
}

lb_state_restore *lb_state_restore_new(const lb_config *cfg, lb_metrics *metrics, int wake_fd,
                                       char *err, size_t errlen)
{
  lb_state_restore *r = calloc(1, sizeof(*r));
  rd_kafka_conf_t *conf = NULL;
  if (!r || !cfg->kafka.state_topic || !(r->topic = strdup(cfg->kafka.state_topic))) {
    snprintf(err, errlen, cfg->kafka.state_topic ? "out of memory" : "no state topic");
    free(r);
    return NULL;
  }
  r->cfg = cfg;
  r->metrics = metrics;
  /* assigned by hand: the worker's group.id (which its ACLs allow) only
   * because librdkafka's consumer calls need one; it never joins the
   * group, never reads or commits its offsets (every read starts at the
   * beginning) */
  if (!(conf = lb_kafka_conf_new(cfg, LB_KAFKA_CONSUMER, err, errlen)) ||
      !lb_kafka_conf_set(conf, "group.id", cfg->kafka.group_id, err, errlen) ||
      !lb_kafka_conf_set(conf, "enable.auto.commit", "false", err, errlen) ||
      !lb_kafka_conf_set(conf, "enable.auto.offset.store", "false", err, errlen) ||
      !lb_kafka_conf_set(conf, "enable.partition.eof", "true", err, errlen) ||
      !lb_kafka_conf_set(conf, "auto.offset.reset", "earliest", err, errlen))
    goto fail;
  if (!lb_config_property_given(cfg, "fetch.wait.max.ms") &&
      !lb_kafka_conf_set(conf, "fetch.wait.max.ms", "100", err, errlen))
    goto fail;
  r->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, errlen);
  if (!r->rk)
    goto fail;
  conf = NULL; /* now owned by rk */
  rd_kafka_poll_set_consumer(r->rk);
  r->q = rd_kafka_queue_get_consumer(r->rk);
  if (r->q && wake_fd >= 0)
    rd_kafka_queue_io_event_enable(r->q, wake_fd, "s", 1);
  return r;
fail:
  if (conf)
    rd_kafka_conf_destroy(conf);
  lb_state_restore_destroy(r);
  return NULL;
}

void lb_state_restore_destroy(lb_state_restore *r)
{
  if (!r)
    return;
  if (r->q)
    rd_kafka_queue_destroy(r->q);
  if (r->rkt)
    rd_kafka_topic_destroy(r->rkt);
  lb_kafka_consumer_destroy(r->rk);
  free(r->parts);
  free(r->topic);
  free(r);
}

static spart *find(const lb_state_restore *r, int32_t id)
{
  for (size_t i = 0; i < r->n; i++)
    if (r->parts[i].id == id)
      return &r->parts[i];
  return NULL;
}

static spart *find_or_add(lb_state_restore *r, int32_t id)
{
  spart *p = find(r, id);
  if (p)
    return p;
  if (r->n == r->cap) {
    size_t ncap = r->cap ? r->cap * 2 : 16;
    spart *np = realloc(r->parts, ncap * sizeof(*np));
    if (!np)
      return NULL;
    r->parts = np;
    r->cap = ncap;
  }
  p = &r->parts[r->n++];
  *p = (spart){ .id = id };
  return p;
}

/* Starts (at the beginning) or stops reading partition p. */
static bool assign(lb_state_restore *r, const spart *p, bool start)
{
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, r->topic, p->id)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_error_t *error =
      start ? rd_kafka_incremental_assign(r->rk, l) : rd_kafka_incremental_unassign(r->rk, l);
  rd_kafka_topic_partition_list_destroy(l);
  if (!error)
    return true;
  lb_log(LB_LOG_ERROR,
         start ? "cannot read the catalog state topic" : "cannot stop reading the state topic",
         LB_S("topic", r->topic), LB_I("partition", p->id),
         LB_S("error", rd_kafka_error_string(error)));
  rd_kafka_error_destroy(error);
  return false;
}

bool lb_state_restore_want(lb_state_restore *r, int32_t partition)
{
  spart *p = find_or_add(r, partition);
  if (!p) {
    lb_log(LB_LOG_ERROR, "out of memory: cannot restore the catalog state", LB_S("topic", r->topic),
           LB_I("partition", partition));
    return false;
  }
  if (p->st != S_IDLE)
    return p->st == S_LOADED;
  p->st = S_LOADING;
  p->started_mono = lb_time_mono_ms();
  p->records = p->malformed = 0;
  /* the source (and retry) partitions numbered so wait, paused */
  lb_log(LB_LOG_INFO, "restoring the catalog state", LB_S("topic", r->topic),
         LB_I("partition", partition));
  assign(r, p, true);
  return false;
}

void lb_state_restore_drop(lb_state_restore *r, int32_t partition)
{
  spart *p = find(r, partition);
  if (!p)
    return;
  if (p->st == S_LOADING)
    assign(r, p, false);
  p->st = S_IDLE;
}

void lb_state_restore_reset(lb_state_restore *r)
{
  for (size_t i = 0; i < r->n; i++)
    lb_state_restore_drop(r, r->parts[i].id);
}

bool lb_state_restore_loaded(const lb_state_restore *r, int32_t partition)
{
  const spart *p = find(r, partition);
  return p && p->st == S_LOADED;
}

size_t lb_state_restore_pending(const lb_state_restore *r)
{
  size_t n = 0;
  for (size_t i = 0; i < r->n; i++)
    n += r->parts[i].st == S_LOADING;
  return n;
}

/* One record of partition p into known. */
static void take(lb_state_restore *r, spart *p, const rd_kafka_message_t *m, lb_known *known)
{
  char integ[LB_STATE_INTEGRATION_MAX + 1], item[LB_STATE_ITEM_MAX + 1], why[256];
  lb_state_record rec;
  lb_state_record_init(&rec);
  p->records++;
  if (!lb_state_key_split(m->key, m->key ? m->key_len : 0, integ, item)) {
    snprintf(why, sizeof(why), "the key is not \"<integration>/<item>\"");
    goto malformed;
  }
  if (!lb_config_integration(r->cfg, integ))
    return; /* an integration this file no longer has */
  /* null: forgotten (an entry of version 0, nothing sent, no id: as if
   * unknown) */
  if (m->payload && m->len > 0 &&
      lb_state_record_decode(&rec, m->payload, m->len, why, sizeof(why)) != LB_E_OK)
    goto malformed;
  char *key = lb_known_key(integ, item);
  lb_known_state st = { .version = rec.version,
                        .lms_id = rec.lms_id,
                        .fingerprint = rec.fingerprint[0] ? rec.fingerprint : NULL,
                        .archived = rec.archived };
  if (!key || lb_known_set(known, key, &st) != LB_E_OK)
    lb_log(LB_LOG_WARN,
           "out of memory: a state record is not remembered (its item may be "
           "sent again)",
           LB_S("topic", r->topic), LB_I("partition", p->id), LB_I("offset", m->offset));
  free(key);
  lb_state_record_release(&rec);
  return;
malformed:
  p->malformed++;
  lb_log(LB_LOG_WARN, "malformed state record skipped: its item counts as unknown",
         LB_S("topic", r->topic), LB_I("partition", p->id), LB_I("offset", m->offset),
         LB_S("error", why));
}

/* Partition p reached its end. */
static void loaded(lb_state_restore *r, spart *p)
{
  char labels[64], part[16];
  double secs = (double)(lb_time_mono_ms() - p->started_mono) / 1000.0;
  p->st = S_LOADED;
  assign(r, p, false);
  snprintf(part, sizeof(part), "%d", (int)p->id);
  labels[0] = '\0';
  lb_metrics_label(labels, sizeof(labels), "partition", part);
  lb_metrics_set(r->metrics, "lmsbridge_state_restore_seconds", labels, secs);
  lb_log(LB_LOG_INFO, "catalog state restored", LB_S("topic", r->topic), LB_I("partition", p->id),
         LB_I("records", p->records), LB_I("malformed", p->malformed), LB_D("seconds", secs));
}

int lb_state_restore_poll(lb_state_restore *r, lb_known *known, int max,
                          lb_state_restore_done_fn done, void *opaque)
{
  int n = 0;
  rd_kafka_message_t *m;
  /* From the first poll (the engine's loop runs once its topics were found
   * to exist: a broker that creates topics when asked, as the mock cluster
   * does, must not be asked before), a topic handle has librdkafka learn
   * the topic's partitions and leaders in the background: a restore then
   * starts fetching at once instead of waiting for a metadata refresh (a
   * second, measured). */
  if (!r->rkt)
    r->rkt = rd_kafka_topic_new(r->rk, r->topic, NULL);
  while (n < max && (m = rd_kafka_consumer_poll(r->rk, 0))) {
    spart *p =
        m->rkt && strcmp(rd_kafka_topic_name(m->rkt), r->topic) == 0 ? find(r, m->partition) : NULL;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (p && p->st == S_LOADING) {
        loaded(r, p);
        if (done)
          done(opaque, p->id);
      }
    } else if (m->err) {
      lb_log(LB_LOG_WARN, "cannot read the catalog state topic, retrying", LB_S("topic", r->topic),
             LB_I("partition", m->partition), LB_S("error", rd_kafka_message_errstr(m)));
    } else if (p && p->st == S_LOADING) {
      n++;
      lb_metrics_add(r->metrics, "lmsbridge_state_restored_records_total", "", 1);
      take(r, p, m, known);
    }
    rd_kafka_message_destroy(m);
  }
  return n;
}
