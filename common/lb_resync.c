#include "lb_resync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_dlq.h"
#include "lb_dlq_reader.h"
#include "lb_kafka.h"
#include "lb_log.h"
#include "lb_time.h"

#define STALL_MS 60000 /* no record for this long: give up */
#define PROGRESS_EVERY_MS 2000

/* ---- which records ---- */

typedef struct {
  char *item;
  uint64_t version;
  size_t topic;
  int32_t partition;
  int64_t offset;
  size_t seq; /* read order */
  bool taken;
} candidate;

typedef struct {
  size_t topic;
  int32_t partition;
  int64_t offset;
} place;

struct lb_resync_pick {
  candidate *c;
  size_t n, cap;
  place *chosen; /* sorted */
  size_t nchosen, items;
};

lb_resync_pick *lb_resync_pick_new(void)
{
  return calloc(1, sizeof(lb_resync_pick));
}

void lb_resync_pick_destroy(lb_resync_pick *p)
{
  if (!p)
    return;
  for (size_t i = 0; i < p->n; i++)
    free(p->c[i].item);
  free(p->c);
  free(p->chosen);
  free(p);
}

lb_err lb_resync_pick_add(lb_resync_pick *p, const char *item, uint64_t version, size_t topic,
                          int32_t partition, int64_t offset, bool taken)
{
  if (p->n == p->cap) {
    size_t ncap = p->cap ? p->cap * 2 : 1024;
    candidate *nc = realloc(p->c, ncap * sizeof(*nc));
    if (!nc)
      return LB_E_NOMEM;
    p->c = nc;
    p->cap = ncap;
  }
  candidate *c = &p->c[p->n];
  *c = (candidate){ .version = version,
                    .topic = topic,
                    .partition = partition,
                    .offset = offset,
                    .seq = p->n,
                    .taken = taken };
  if (!(c->item = strdup(item)))
    return LB_E_NOMEM;
  p->n++;
  return LB_E_OK;
}

/* By item, then version, then read order: an item's newest record last. */
static int by_item(const void *a, const void *b)
{
  const candidate *x = a, *y = b;
  int c = strcmp(x->item, y->item);
  if (c)
    return c;
  if (x->version != y->version)
    return x->version < y->version ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int by_place(const void *a, const void *b)
{
  const place *x = a, *y = b;
  if (x->topic != y->topic)
    return x->topic < y->topic ? -1 : 1;
  if (x->partition != y->partition)
    return x->partition < y->partition ? -1 : 1;
  return x->offset < y->offset ? -1 : x->offset > y->offset;
}

lb_err lb_resync_pick_finish(lb_resync_pick *p)
{
  free(p->chosen);
  p->chosen = NULL;
  p->nchosen = p->items = 0;
  if (p->n == 0)
    return LB_E_OK;
  qsort(p->c, p->n, sizeof(*p->c), by_item);
  if (!(p->chosen = calloc(p->n, sizeof(*p->chosen))))
    return LB_E_NOMEM;
  for (size_t i = 0; i < p->n; i++) {
    const candidate *c = &p->c[i];
    if (i + 1 < p->n && strcmp(c->item, p->c[i + 1].item) == 0)
      continue; /* not the item's newest */
    p->items++;
    if (c->taken)
      p->chosen[p->nchosen++] =
          (place){ .topic = c->topic, .partition = c->partition, .offset = c->offset };
  }
  qsort(p->chosen, p->nchosen, sizeof(*p->chosen), by_place);
  return LB_E_OK;
}

size_t lb_resync_pick_items(const lb_resync_pick *p)
{
  return p->items;
}

size_t lb_resync_pick_chosen_count(const lb_resync_pick *p)
{
  return p->nchosen;
}

bool lb_resync_pick_chosen(const lb_resync_pick *p, size_t topic, int32_t partition, int64_t offset)
{
  place key = { .topic = topic, .partition = partition, .offset = offset };
  return p->nchosen && bsearch(&key, p->chosen, p->nchosen, sizeof(*p->chosen), by_place) != NULL;
}

rd_kafka_headers_t *lb_resync_headers(const rd_kafka_headers_t *src, const char *integration)
{
  rd_kafka_headers_t *h = rd_kafka_headers_new(src ? rd_kafka_header_cnt(src) + 2 : 2);
  const char *name;
  const void *val;
  size_t size;
  for (size_t i = 0;
       src && rd_kafka_header_get_all(src, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
       i++)
    if (!lb_dlq_header_is_own(name))
      rd_kafka_header_add(h, name, -1, val, val ? (ssize_t)size : 0);
  rd_kafka_header_add(h, lb_dlq_header_name(LB_DLQ_H_TARGET), -1, integration, -1);
  rd_kafka_header_add(h, lb_dlq_header_name(LB_DLQ_H_RESYNC), -1, "true", -1);
  return h;
}

/* ---- the run ---- */

struct lb_resync {
  lb_resync_options o;
  lb_dlq_reader **readers; /* one per source topic */
  size_t ntopics;
  lb_resync_pick *pick;
  rd_kafka_t *prk;
  long long in_flight, acked, failed;
  char first_error[256];
};

static void on_delivered(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
  (void)rk;
  lb_resync *rs = opaque;
  rs->in_flight--;
  if (!m->err) {
    rs->acked++;
    return;
  }
  if (!rs->failed++) {
    char acl[300];
    bool refused = m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED;
    snprintf(rs->first_error, sizeof(rs->first_error), "%s%s%s", rd_kafka_err2str(m->err),
             refused ? "; missing ACL: " : "",
             refused ? lb_kafka_missing_acl(acl, sizeof(acl), "WRITE", "topic",
                                            rd_kafka_topic_name(m->rkt))
                     : "");
  }
}

lb_resync *lb_resync_new(const lb_resync_options *o, char *err, size_t errlen)
{
  lb_resync *rs = calloc(1, sizeof(*rs));
  rd_kafka_conf_t *conf = NULL;
  char *group = NULL;
  size_t n = o->cfg->kafka.ntopics;
  if (!rs || !(rs->readers = calloc(n ? n : 1, sizeof(*rs->readers))) ||
      !(rs->pick = lb_resync_pick_new())) {
    snprintf(err, errlen, "out of memory");
    goto fail;
  }
  rs->o = *o;
  if (!rs->o.max_in_flight)
    rs->o.max_in_flight = 1000;
  rs->ntopics = n;
  /* a group.id the readers need; nothing is committed to it */
  size_t glen = strlen(o->cfg->kafka.group_id) + sizeof(".resync");
  if (!(group = malloc(glen))) {
    snprintf(err, errlen, "out of memory");
    goto fail;
  }
  snprintf(group, glen, "%s.resync", o->cfg->kafka.group_id);
  for (size_t i = 0; i < n; i++) {
    lb_dlq_reader_options ro = { .cfg = o->cfg, .group = group, .topic = o->cfg->kafka.topics[i] };
    if (!(rs->readers[i] = lb_dlq_reader_new(&ro, err, errlen)))
      goto fail;
  }
  /* idempotent (lb_kafka): retries never duplicate or reorder a record */
  if (!(conf = lb_kafka_conf_new(o->cfg, LB_KAFKA_PRODUCER, err, errlen)))
    goto fail;
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivered);
  rd_kafka_conf_set_opaque(conf, rs);
  if (!(rs->prk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errlen)))
    goto fail;
  conf = NULL; /* now owned by prk */
  free(group);
  return rs;
fail:
  if (conf)
    rd_kafka_conf_destroy(conf);
  free(group);
  lb_resync_destroy(rs);
  return NULL;
}

void lb_resync_destroy(lb_resync *rs)
{
  if (!rs)
    return;
  if (rs->prk) {
    rd_kafka_purge(rs->prk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(rs->prk, 0);
    rd_kafka_destroy(rs->prk);
  }
  for (size_t i = 0; rs->readers && i < rs->ntopics; i++)
    lb_dlq_reader_destroy(rs->readers[i]);
  free(rs->readers);
  lb_resync_pick_destroy(rs->pick);
  free(rs);
}

json_object *lb_resync_range_json(const lb_resync *rs)
{
  json_object *o = json_object_new_object();
  for (size_t i = 0; i < rs->ntopics; i++)
    json_object_object_add(o, rs->o.cfg->kafka.topics[i], lb_dlq_reader_range_json(rs->readers[i]));
  return o;
}

/* The next record of topic i: 1 with *m, 0 at the end, -1 on a stall or a
 * stop (why in err). */
static int next(lb_resync *rs, size_t i, rd_kafka_message_t **m, char *err, size_t errlen)
{
  int64_t last = lb_time_mono_ms();
  for (;;) {
    if (rs->o.stop && *rs->o.stop) {
      snprintf(err, errlen, "interrupted");
      return -1;
    }
    int n = lb_dlq_reader_next(rs->readers[i], 100, m);
    if (n >= 0)
      return n;
    if (rs->prk)
      rd_kafka_poll(rs->prk, 0);
    if (lb_time_mono_ms() - last > STALL_MS) {
      snprintf(err, errlen, "no record of \"%s\" read for %d s", rs->o.cfg->kafka.topics[i],
               STALL_MS / 1000);
      return -1;
    }
  }
}

/* What the integration's plan of record m is: its item key and version,
 * and whether the integration takes it. False: not a catalog event. */
static bool planned(lb_resync *rs, const rd_kafka_message_t *m, lb_plan *plan, bool *taken)
{
  *taken = false;
  if (rs->o.plan(rs->o.cfg, m->payload ? m->payload : "", m->payload ? m->len : 0, lb_time_now_ms(),
                 plan) != LB_E_OK)
    return false;
  if (plan->dead_letter || !plan->item_key) {
    lb_plan_release(plan);
    return false;
  }
  for (size_t k = 0; k < plan->n; k++)
    if (strcmp(plan->items[k].integration->id, rs->o.integration) == 0)
      *taken = !plan->items[k].skip;
  return true;
}

lb_err lb_resync_scan(lb_resync *rs, lb_resync_counts *c, char *err, size_t errlen)
{
  for (size_t i = 0; i < rs->ntopics; i++) {
    if (lb_dlq_reader_rewind(rs->readers[i], err, errlen) != LB_E_OK)
      return LB_E_IO;
    rd_kafka_message_t *m;
    int n;
    while ((n = next(rs, i, &m, err, errlen)) == 1) {
      lb_plan plan;
      bool taken;
      lb_err rc = LB_E_OK;
      c->read++;
      if (!planned(rs, m, &plan, &taken)) {
        c->invalid++;
      } else {
        rc = lb_resync_pick_add(rs->pick, plan.item_key, plan.version, i, m->partition, m->offset,
                                taken);
        lb_plan_release(&plan);
      }
      rd_kafka_message_destroy(m);
      if (rc != LB_E_OK) {
        snprintf(err, errlen, "out of memory");
        return rc;
      }
    }
    if (n < 0)
      return LB_E_IO;
  }
  if (lb_resync_pick_finish(rs->pick) != LB_E_OK) {
    snprintf(err, errlen, "out of memory");
    return LB_E_NOMEM;
  }
  c->items = (long long)lb_resync_pick_items(rs->pick);
  c->to_send = (long long)lb_resync_pick_chosen_count(rs->pick);
  return LB_E_OK;
}

static void progress(const lb_resync *rs, const lb_resync_counts *c, int64_t started)
{
  double secs = (double)(lb_time_mono_ms() - started) / 1000.0;
  lb_log(LB_LOG_INFO, "resync progress", LB_S("integration", rs->o.integration),
         LB_I("sent", c->sent), LB_I("to_send", c->to_send), LB_I("acknowledged", rs->acked),
         LB_D("records_per_s", secs > 0 ? (double)(long long)(rs->acked / secs * 10) / 10 : 0.0));
}

/* Republishes m; false (why in err) when it cannot be queued. */
static bool republish(lb_resync *rs, rd_kafka_message_t *m, char *err, size_t errlen)
{
  rd_kafka_headers_t *src = NULL;
  rd_kafka_message_headers(m, &src);
  rd_kafka_headers_t *h = lb_resync_headers(src, rs->o.integration);
  rd_kafka_resp_err_t e = rd_kafka_producev(
      rs->prk, RD_KAFKA_V_TOPIC(rd_kafka_topic_name(m->rkt)), RD_KAFKA_V_PARTITION(m->partition),
      RD_KAFKA_V_KEY(m->key, m->key ? m->key_len : 0),
      RD_KAFKA_V_VALUE(m->payload, m->payload ? m->len : 0),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_headers_destroy(h);
    snprintf(err, errlen, "cannot queue a record for \"%s\": %s", rd_kafka_topic_name(m->rkt),
             rd_kafka_err2str(e));
    return false;
  }
  rs->in_flight++;
  return true;
}

lb_err lb_resync_send(lb_resync *rs, lb_resync_counts *c, int finish_ms, char *err, size_t errlen)
{
  lb_err rc = LB_E_OK;
  int64_t started = lb_time_mono_ms(), next_progress = started + PROGRESS_EVERY_MS;
  for (size_t i = 0; i < rs->ntopics && rc == LB_E_OK; i++) {
    if (lb_dlq_reader_rewind(rs->readers[i], err, errlen) != LB_E_OK) {
      rc = LB_E_IO;
      break;
    }
    rd_kafka_message_t *m;
    int n = 1;
    while (rc == LB_E_OK) {
      int64_t now = lb_time_mono_ms();
      if (now >= next_progress) {
        progress(rs, c, started);
        next_progress = now + PROGRESS_EVERY_MS;
      }
      if (rs->failed > 0) {
        snprintf(err, errlen, "a record was refused: %s", rs->first_error);
        rc = LB_E_IO;
        break;
      }
      /* bounded: the unacknowledged tail, and the pace asked for */
      bool ahead = rs->o.rate > 0 &&
                   (double)c->sent >= (double)rs->o.rate * (double)(now - started) / 1000.0 + 1;
      if (rs->in_flight >= rs->o.max_in_flight || ahead) {
        rd_kafka_poll(rs->prk, ahead ? 5 : 50);
        if (rs->o.stop && *rs->o.stop) {
          snprintf(err, errlen, "interrupted");
          rc = LB_E_IO;
        }
        continue;
      }
      if ((n = next(rs, i, &m, err, errlen)) != 1)
        break;
      if (lb_resync_pick_chosen(rs->pick, i, m->partition, m->offset)) {
        if (republish(rs, m, err, errlen))
          c->sent++;
        else
          rc = LB_E_IO;
      }
      rd_kafka_message_destroy(m);
      rd_kafka_poll(rs->prk, 0);
    }
    if (n < 0)
      rc = LB_E_IO;
  }
  /* what was queued is acknowledged (or refused) before the answer */
  int64_t deadline = lb_time_mono_ms() + finish_ms;
  while (rs->in_flight > 0 && lb_time_mono_ms() < deadline)
    rd_kafka_poll(rs->prk, 50);
  progress(rs, c, started);
  c->acknowledged = rs->acked;
  c->failed = rs->failed;
  snprintf(c->first_error, sizeof(c->first_error), "%s", rs->first_error);
  if (rc == LB_E_OK && rs->in_flight > 0) {
    snprintf(err, errlen, "%lld records not acknowledged within %d s", rs->in_flight,
             finish_ms / 1000);
    rc = LB_E_IO;
  }
  if (rc == LB_E_OK && rs->failed > 0) {
    snprintf(err, errlen, "a record was refused: %s", rs->first_error);
    rc = LB_E_IO;
  }
  return rc;
}
