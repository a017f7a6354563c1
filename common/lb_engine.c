#include "lb_engine.h"

#include <errno.h>
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lb_batch.h"
#include "lb_client.h"
#include "lb_connector.h"
#include "lb_dlq.h"
#include "lb_event.h"
#include "lb_json.h"
#include "lb_kafka.h"
#include "lb_known.h"
#include "lb_list.h"
#include "lb_log.h"
#include "lb_obs.h"
#include "lb_offsets.h"
#include "lb_order.h"
#include "lb_state.h"
#include "lb_state_restore.h"
#include "lb_strbuf.h"
#include "lb_time.h"
#include "lb_watchdog.h"

#define POLL_BATCH 500
#define IDLE_WAIT_MS 100
#define REPRODUCE_DELAY_MS 1000
/* a refusal by the brokers that only an operator can fix (credentials,
 * TLS, a missing ACL) is said again at most this often while it lasts */
#define REFUSED_LOG_INTERVAL_MS 30000
/* A member that was refused a read of a topic it consumes within this long
 * is not ready (librdkafka reports the refusal at every fetch attempt,
 * about twice a second): it holds partitions it cannot work on. */
#define READ_REFUSED_NOT_READY_MS 10000
/* items whose version and LMS id the engine remembers (lb_known) */
#define KNOWN_ITEMS 200000
/* Record sizes as librdkafka and the broker count them (record format v2):
 * a record batch's header, and a record's framing at its worst (varints at
 * their longest). A record of RECORD_OVERHEAD + key + value + headers
 * bytes, alone in its batch, stays within the producer's message.max.bytes
 * when it is at most message.max.bytes - BATCH_OVERHEAD. */
#define BATCH_OVERHEAD 61
#define RECORD_OVERHEAD 36
/* After a stop's drain, the final commit and leaving the group take at
 * least LEAVE_MS, and what is left of the deadline up to LEAVE_MAX_MS:
 * librdkafka's own waits have no bound (a synchronous commit waits for an
 * unreachable coordinator; a close waits for a rebalance in progress, for
 * good at worst, see leave_group). A stop so ends within the deadline plus
 * LEAVE_MS and the producer's last flush. */
#define LEAVE_MS 3000
/* what destroying the clients may take after the leave's deadline */
#define DESTROY_GRACE_MS 5000
#define LEAVE_MAX_MS 10000
/* A broker that refuses a record as too large (a topic whose
 * max.message.bytes is below the producer's limit) gets it again at half
 * the size, down to this; smaller records are refused with a larger one
 * that shared their batch, and are sent again as they are. */
#define SIZE_CAP_FLOOR (64 * 1024)

/* A header lmsbridge writes, by its lb_dlq_header name (the contract's
 * table, lb_dlq). */
#define HDR(x) lb_dlq_header_name(LB_DLQ_H_##x)
/* A delivery that had to wait but cannot be parked (too large for the
 * retry topic) has no retry left: one of the six contract classes, with a
 * message that says why. */
#define CLASS_TOO_LARGE lb_dlq_reasons[LB_DLQ_RETRIES_EXHAUSTED]

typedef struct part part;
typedef struct msg msg;
typedef struct dlv dlv;
typedef struct obatch obatch;

struct part {
  lb_list_node link; /* in e->parts */
  char *topic;
  int32_t partition;
  bool retry; /* the retry topic */
  bool paused;
  bool draining;     /* stopping or being revoked: no new work starts */
  bool handing_back; /* in the set a rebalance (or shutdown) hands back */
  bool poisoned;     /* a message could not be tracked: never store again */
  bool revoked;      /* handed back: freed once its last message is gone */
  lb_offsets offs;
  lb_list msgs; /* alive, finished or not */
};

/* D_BATCHED: waiting in its integration's coalescing batch; D_FOLLOWING: an
 * older version of a batched item, resolved with the one that replaced it */
typedef enum {
  D_QUEUED,
  D_RUNNING,
  D_BATCHED,
  D_FOLLOWING,
  D_PRODUCING,
  D_RESOLVED,
  D_CANCELLED
} dlv_state;

struct dlv {
  msg *m;
  size_t item;  /* index in m->plan.items */
  size_t integ; /* index in cfg->integrations */
  dlv_state state;
  char *key;           /* ordering key, NULL: none */
  lb_order_node order; /* in its key's chain (e->order) */
  bool batched;        /* ordered and coalesced by its integration's batch */
  lb_list followers;   /* older versions this one replaced in the batch */
  lb_list_node follow; /* in the followers of the one that replaced it */
  uint64_t handle;
  int64_t started_mono;
  /* the result, kept for the DLQ or retry record */
  lb_delivery_status status;
  int http_status;
  char *http_body;
  char *reason;
  int attempts;
  int64_t first_failure_ms, last_failure_ms, not_before_ms;
  bool produce_due; /* a DLQ/retry write failed: try again */
  int64_t produce_at_mono;
  bool too_large;  /* had to wait, but too large to park: a dead letter */
  size_t size_cap; /* largest record to write for it; 0: the engine's */
};

struct msg {
  lb_list_node link; /* in p->msgs */
  lb_list_node due;  /* in e->due */
  lb_engine *e;
  part *p;
  lb_plan plan;
  dlv *dlvs;
  size_t ndlvs;
  size_t pending; /* deliveries (or the dead letter) not resolved */
  bool planned;
  bool dead_letter_pending;
  int64_t dead_letter_at_mono; /* when to try it again */
  /* from the record's headers */
  char *target; /* only this integration (retry or replay) */
  int attempts;
  int64_t first_failure_ms, not_before_ms;
  char *orig_topic;
  int32_t orig_partition;
  int64_t orig_offset;
  int replays;
  size_t size_cap; /* largest dead letter to write; 0: the engine's */
  /* the record, copied out of librdkafka's message as it is taken: each
   * message keeps the whole fetch response it came in alive, so thousands
   * held kept every fetch (and each refetch after a pause) resident */
  int32_t partition;
  int64_t offset;
  const char *key; /* in data; NULL: none */
  size_t key_len;
  const char *value; /* in data, after the key; NULL: none */
  size_t len;
  rd_kafka_headers_t *headers; /* NULL: none */
  char data[];
};

struct lb_engine {
  lb_engine_options opts;
  const lb_config *cfg;
  rd_kafka_t *rk;  /* consumer */
  rd_kafka_t *prk; /* producer: DLQ and retry */
  rd_kafka_queue_t *cq, *pq;
  int wake[2]; /* queue IO events land here */
  lb_client *client;
  lb_metrics *metrics;
  lb_obs *obs;
  lb_list parts;
  lb_list due;              /* held retry records, sorted by not_before */
  lb_order *order;          /* deliveries by ordering key */
  lb_known *known;          /* versions delivered and LMS ids, per key */
  lb_state_restore *state;  /* the catalog state's reader; NULL: no state topic */
  lb_list state_held;       /* records waiting for their state partition, in
                               order (by their `due` node) */
  int64_t state_log_next;   /* when a failed state write may be said again */
  lb_batch **batches;       /* per integration: its connector's batches, else NULL */
  obatch **batch_in_flight; /* per integration: the batch being sent */
  size_t msgs_in_flight;
  bool all_paused;
  bool stopping;
  bool assigned;
  volatile int fatal; /* set from librdkafka's threads: stop with exit 1 */
  /* stopping at another daemon's event: the worker is healthy, so what it
   * started before that record is finished, not handed back */
  bool finish_started;
  int64_t read_refused_mono; /* last refusal of a read of a topic; 0: none */
  /* when a refusal may be said again (REFUSED_LOG_INTERVAL_MS): the
   * brokers refusing the credentials, the TLS handshake, a write to the
   * DLQ [0] or the retry topic [1], the group or a read of a topic */
  int64_t auth_log_next, tls_log_next, acl_log_next[2], group_log_next, read_log_next;
  size_t record_max; /* largest record the producer writes (see BATCH_OVERHEAD) */
  size_t ninteg;     /* integrations the batches, the client were built for */
  char *kafka_fp;    /* the kafka settings the clients were built with */
  char *listen;      /* the observability address the server listens on */
  bool reloading;    /* run stopped for a reload: the consumer is not closed */
  bool kept;         /* reconfigured: subscribed and checked already */
  bool closed;       /* the consumer left the group */
  /* partitions of the source topics (all of them, at the start-up check):
   * a member's rate-limit share is those it holds over these */
  size_t source_partitions;
  /* a stop or reload: when its deadline ends and when leaving the group
   * must be done by (monotonic; 0: not set), and the messages handed back
   * unfinished since it began */
  int64_t stop_by, leave_by;
  size_t handed_back;
  bool close_stuck;         /* the consumer did not close in time: never destroyed */
  lb_watchdog *leave_watch; /* ends the process if the stop's last steps block */
};

/* The catalog state (kafka.state_topic; lb_state, lb_state_restore): its
 * functions are at the end of the file. */
static bool msg_resync(const msg *m);
static bool state_skips(lb_engine *e, dlv *d);
static void state_remember(lb_engine *e, dlv *d, const lb_delivery_result *r);
static bool produce_state(lb_engine *e, msg *m, dlv *d);
static void state_produced(lb_engine *e, msg *m, dlv *d, const rd_kafka_message_t *rkm);
static void state_assigned(lb_engine *e, const rd_kafka_topic_partition_list_t *parts);
static bool state_hold(lb_engine *e, msg *m);
static void state_release(lb_engine *e);
static void state_revoked(lb_engine *e, const rd_kafka_topic_partition_list_t *parts);
static int state_poll(lb_engine *e);
static void state_reload(lb_engine *e);

/* ---- small helpers ---- */

static void label2(char *buf, size_t len, const char *k1, const char *v1, const char *k2,
                   const char *v2)
{
  buf[0] = '\0';
  lb_metrics_label(buf, len, k1, v1);
  if (k2)
    lb_metrics_label(buf, len, k2, v2);
}

static void drain_wake(lb_engine *e)
{
  char buf[256];
  while (read(e->wake[0], buf, sizeof(buf)) > 0)
    ;
}

/* /readyz: partitions assigned, not stopping, and every topic consumed
 * readable (no refusal within READ_REFUSED_NOT_READY_MS). */
static void update_ready(lb_engine *e)
{
  bool refused =
      e->read_refused_mono && lb_time_mono_ms() - e->read_refused_mono < READ_REFUSED_NOT_READY_MS;
  bool restoring = e->state && lb_state_restore_pending(e->state) > 0;
  lb_obs_set_ready(e->obs, e->assigned && !e->stopping && !refused && !restoring);
}

/* ---- partitions ---- */

static part *find_part(lb_engine *e, const char *topic, int32_t partition)
{
  LB_LIST_EACH (part, p, &e->parts, link)
    if (!p->revoked && p->partition == partition && strcmp(p->topic, topic) == 0)
      return p;
  return NULL;
}

static void part_unlink_free(lb_engine *e, part *p)
{
  lb_list_remove(&e->parts, &p->link);
  lb_offsets_release(&p->offs);
  free(p->topic);
  free(p);
}

static bool state_pending(const lb_engine *e, const part *p);

static void set_paused(lb_engine *e, part *p, bool pause)
{
  if (p->paused == pause || p->revoked || (!pause && state_pending(e, p)))
    return;
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, p->topic, p->partition);
  if (pause)
    rd_kafka_pause_partitions(e->rk, l);
  else
    rd_kafka_resume_partitions(e->rk, l);
  rd_kafka_topic_partition_list_destroy(l);
  p->paused = pause;
}

/* A partition is over its limit with partition_max_in_flight live
 * messages, or when the span above its committed offset (what a crash
 * would redeliver, and the watermark's memory) reaches SPAN_FACTOR times
 * that: a few messages waiting for a throttled customer pin the watermark
 * but must not stop the partition for everyone else. `div` 2: the resume
 * level (hysteresis). */
#define SPAN_FACTOR 10

static bool part_over(const lb_engine *e, const part *p, size_t div)
{
  size_t plimit = (size_t)e->opts.partition_max_in_flight;
  return lb_list_len(&p->msgs) >= plimit / div ||
         lb_offsets_in_flight(&p->offs) >= SPAN_FACTOR * plimit / div;
}

/* Pause above the limits, resume below half of them (hysteresis). */
static void apply_backpressure(lb_engine *e, part *p)
{
  size_t glimit = (size_t)e->opts.max_in_flight_messages;
  if (!e->all_paused && e->msgs_in_flight >= glimit) {
    e->all_paused = true;
    LB_LIST_EACH (part, q, &e->parts, link)
      set_paused(e, q, true);
    return;
  }
  if (e->all_paused && e->msgs_in_flight <= glimit / 2 && !e->stopping) {
    e->all_paused = false;
    LB_LIST_EACH (part, q, &e->parts, link)
      set_paused(e, q, part_over(e, q, 2));
    return;
  }
  if (!p || e->all_paused || e->stopping)
    return;
  if (!p->paused && part_over(e, p, 1))
    set_paused(e, p, true);
  else if (p->paused && !part_over(e, p, 2))
    set_paused(e, p, false);
}

/* ---- messages ---- */

static void start_dlv(lb_engine *e, dlv *d);

/* d is done with its key: the next delivery waiting on it may go. Batched
 * items have no chain (their batch orders them). */
static void key_pass_on(lb_engine *e, dlv *d)
{
  if (d->batched)
    return;
  lb_order_node *next = lb_order_done(e->order, &d->order);
  if (next)
    start_dlv(e, LB_CONTAINER_OF(next, dlv, order));
}
static void msg_maybe_finish(lb_engine *e, msg *m);
static void poison(lb_engine *e, part *p, const char *what);

static void msg_free(lb_engine *e, msg *m)
{
  part *p = m->p;
  for (size_t i = 0; i < m->ndlvs; i++) {
    free(m->dlvs[i].key);
    free(m->dlvs[i].http_body);
    free(m->dlvs[i].reason);
  }
  free(m->dlvs);
  lb_plan_release(&m->plan);
  free(m->target);
  free(m->orig_topic);
  if (m->headers)
    rd_kafka_headers_destroy(m->headers);
  lb_list_remove(&p->msgs, &m->link);
  free(m);
  if (p->revoked && lb_list_empty(&p->msgs))
    part_unlink_free(e, p);
}

static void store_offset(lb_engine *e, part *p)
{
  int64_t off = lb_offsets_committable(&p->offs);
  if (off < 0 || p->revoked || p->poisoned)
    return;
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset = off;
  rd_kafka_resp_err_t err = rd_kafka_offsets_store(e->rk, l);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
    err = l->elems[0].err;
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    lb_log(LB_LOG_DEBUG, "offset not stored", LB_S("topic", p->topic),
           LB_I("partition", p->partition), LB_I("offset", off),
           LB_S("error", rd_kafka_err2str(err)));
  rd_kafka_topic_partition_list_destroy(l);
}

/* A delivery (or the dead letter) is resolved: finish the message when it
 * was the last, and let the next delivery on the same key go. */
static void resolved(lb_engine *e, msg *m)
{
  m->pending--;
  msg_maybe_finish(e, m);
}

/* A delivery is resolved, and with it the older versions it replaced in
 * its batch: their offsets advance only now, with the batch that carried
 * their newer version. */
static void dlv_resolved(lb_engine *e, dlv *d, dlv_state state)
{
  d->state = state;
  for (lb_list_node *n; (n = lb_list_pop_front(&d->followers));) {
    dlv *f = LB_CONTAINER_OF(n, dlv, follow);
    f->state = state == D_CANCELLED ? D_CANCELLED : D_RESOLVED;
    if (f->state == D_RESOLVED) {
      char labels[256];
      label2(labels, sizeof(labels), "integration", e->cfg->integrations[f->integ].id, "outcome",
             "skipped");
      lb_metrics_add(e->metrics, "lmsbridge_deliveries_total", labels, 1);
    }
    resolved(e, f->m);
  }
  resolved(e, d->m);
}

static void msg_maybe_finish(lb_engine *e, msg *m)
{
  if (!m->planned || m->pending > 0)
    return;
  part *p = m->p;
  bool cancelled = false;
  for (size_t i = 0; i < m->ndlvs; i++)
    cancelled = cancelled || m->dlvs[i].state == D_CANCELLED;
  if (!cancelled && !p->revoked && lb_offsets_done(&p->offs, m->offset))
    store_offset(e, p);
  if (cancelled)
    e->handed_back++;
  e->msgs_in_flight--;
  bool revoked = p->revoked; /* msg_free may free a revoked p */
  msg_free(e, m);
  apply_backpressure(e, revoked ? NULL : p);
}

/* ---- producing dead letters and parked records ---- */

/* Copies the record's headers without lmsbridge's and Kafka Connect's own
 * (they are written anew). */
static rd_kafka_headers_t *copy_headers(const msg *m)
{
  const rd_kafka_headers_t *src = m->headers;
  rd_kafka_headers_t *h = rd_kafka_headers_new(src ? rd_kafka_header_cnt(src) + 16 : 16);
  for (size_t i = 0; src; i++) {
    const char *name;
    const void *val;
    size_t size;
    if (rd_kafka_header_get_all(src, i, &name, &val, &size) != RD_KAFKA_RESP_ERR_NO_ERROR)
      break;
    if (lb_dlq_header_is_own(name))
      continue;
    rd_kafka_header_add(h, name, -1, val, (ssize_t)size);
  }
  return h;
}

/* Why a dead-lettered message's plan refused it (out of memory for the
 * text itself: said so). */
static const char *plan_failure(const msg *m)
{
  return m->plan.dlq_message ? m->plan.dlq_message : lb_strerror(LB_E_NOMEM);
}

/* The original coordinates: the source record's, or those a retry record
 * carries. */
static void orig(const msg *m, const char **topic, int32_t *partition, int64_t *offset)
{
  if (m->orig_topic) {
    *topic = m->orig_topic;
    *partition = m->orig_partition;
    *offset = m->orig_offset;
  } else {
    *topic = m->p->topic;
    *partition = m->partition;
    *offset = m->offset;
  }
}

static const char *dlq_class(lb_delivery_status s)
{
  switch (s) {
  case LB_DELIVERY_PERMANENT:
    return lb_dlq_reasons[LB_DLQ_PERMANENT_HTTP];
  case LB_DELIVERY_AUTH:
    return lb_dlq_reasons[LB_DLQ_AUTH];
  default:
    return lb_dlq_reasons[LB_DLQ_RETRIES_EXHAUSTED];
  }
}

/* The class of d's dead letter (NULL: m's own). */
static const char *dead_letter_class(const msg *m, const dlv *d)
{
  return d ? (d->too_large ? CLASS_TOO_LARGE : dlq_class(d->status)) : m->plan.dlq_class;
}

/* The producer or the broker refused a record of `size` bytes as too large
 * (a topic's max.message.bytes below the producer's limit): a parked record
 * becomes a dead letter instead; a dead letter is written again at half
 * that size. */
static void refused_as_too_large(lb_engine *e, msg *m, dlv *d, bool park, size_t size)
{
  (void)e;
  if (park) {
    d->too_large = true;
    return;
  }
  if (size <= SIZE_CAP_FLOOR)
    return; /* refused with the batch it shared: sent again as it is */
  size_t *cap = d ? &d->size_cap : &m->size_cap;
  *cap = size / 2 < SIZE_CAP_FLOOR ? SIZE_CAP_FLOOR : size / 2;
}

/* What a produce callback needs: the delivery, or the message for a dead
 * letter of the whole event, and what was written. */
typedef struct {
  lb_engine *e;
  msg *m;
  dlv *d; /* NULL: the event's own dead letter */
  bool retry_topic;
  size_t size;           /* the record as librdkafka counts it */
  bool truncated;        /* its value was cut to fit */
  size_t original_bytes; /* the source value's size */
  size_t kept_bytes;     /* what of it was written */
  bool state_record;     /* the delivery's record in the state topic */
} produced;

/* Bytes of a zigzag varint (Kafka record fields). */
static size_t varint_size(int64_t v)
{
  uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
  size_t n = 1;
  while (u >= 0x80) {
    u >>= 7;
    n++;
  }
  return n;
}

static size_t header_size(const char *name, size_t value_len)
{
  size_t n = strlen(name);
  return n + value_len + varint_size((int64_t)n) + varint_size((int64_t)value_len);
}

/* The headers' size in a record, as librdkafka counts it. */
static size_t headers_size(const rd_kafka_headers_t *h)
{
  size_t total = 0;
  const char *name;
  const void *val;
  size_t size;
  for (size_t i = 0;
       h && rd_kafka_header_get_all(h, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; i++)
    total += header_size(name, size);
  return total;
}

/* The largest record this delivery's (or event's) writes may have. */
static size_t size_cap(const lb_engine *e, const msg *m, const dlv *d)
{
  size_t cap = d ? d->size_cap : m->size_cap;
  return cap && cap < e->record_max ? cap : e->record_max;
}

/* The headers of a parked record (<topic>.retry). New. */
static rd_kafka_headers_t *park_headers(const lb_engine *e, const msg *m, const dlv *d)
{
  const char *otopic;
  int32_t opart;
  int64_t ooff;
  orig(m, &otopic, &opart, &ooff);
  lb_dlq_parked pk = { .has_target = true,
                       .attempts = d->attempts,
                       .not_before_ms = d->not_before_ms,
                       .first_failure_ms = d->first_failure_ms,
                       .last_failure_ms = d->last_failure_ms,
                       .has_orig = true,
                       .orig_partition = opart,
                       .orig_offset = ooff,
                       .replays = m->replays };
  snprintf(pk.target, sizeof(pk.target), "%s", e->cfg->integrations[d->integ].id);
  snprintf(pk.orig_topic, sizeof(pk.orig_topic), "%s", otopic ? otopic : "");
  pk.resync = msg_resync(m);
  rd_kafka_headers_t *h = copy_headers(m);
  lb_dlq_parked_headers_add(h, &pk);
  return h;
}

/* The size of a record with m's key and value and the headers h. */
static size_t record_size(const msg *m, const rd_kafka_headers_t *h)
{
  return RECORD_OVERHEAD + m->key_len + m->len + headers_size(h);
}

/* Why a delivery that had to wait is a dead letter instead. */
static void too_large_message(const lb_engine *e, const msg *m, const dlv *d, char *buf, size_t len)
{
  rd_kafka_headers_t *h = park_headers(e, m, d);
  snprintf(buf, len,
           "the delivery had to wait, but its record (%zu bytes) is larger than the "
           "producer's limit (%zu bytes, message.max.bytes less the batch header): it "
           "cannot be parked in \"%s\"; it had to wait because: %s",
           record_size(m, h), size_cap(e, m, d), e->cfg->kafka.retry_topic,
           d->reason ? d->reason : "");
  rd_kafka_headers_destroy(h);
}

/* What the dead letter of d (NULL: m's own) says; why (a buffer of whylen
 * bytes) holds the message when the engine writes one itself. */
static void dlq_fields(const lb_engine *e, const msg *m, const dlv *d, lb_dlq_fields *f, char *why,
                       size_t whylen)
{
  *f = (lb_dlq_fields){ .headers_dropped = -1 };
  orig(m, &f->topic, &f->partition, &f->offset);
  f->reason = dead_letter_class(m, d);
  f->message = d ? d->reason : plan_failure(m);
  if (d && d->too_large) {
    too_large_message(e, m, d, why, whylen);
    f->message = why;
  }
  f->integration = d ? e->cfg->integrations[d->integ].id : "";
  f->http_status = d ? d->http_status : 0;
  f->http_body = d ? d->http_body : NULL;
  f->attempts = d ? d->attempts : 0;
  int64_t now = d ? 0 : lb_time_now_ms();
  f->first_failure_ms = d ? d->first_failure_ms : now;
  f->last_failure_ms = d ? d->last_failure_ms : now;
  f->worker = e->opts.worker;
  f->replays = m->replays;
  f->resync = msg_resync(m);
}

/* The headers of a dead letter; the source record's own only when
 * `source` is true. New. */
static rd_kafka_headers_t *dlq_headers(const msg *m, const lb_dlq_fields *f, bool source)
{
  rd_kafka_headers_t *h = source ? copy_headers(m) : rd_kafka_headers_new(16);
  lb_dlq_headers_add(h, f);
  return h;
}

/* A parked record that would be too large for the producer: the delivery
 * becomes a dead letter (class retries_exhausted) instead. */
static bool too_large_to_park(const lb_engine *e, const msg *m, const dlv *d)
{
  rd_kafka_headers_t *h = park_headers(e, m, d);
  bool over = record_size(m, h) > size_cap(e, m, d);
  rd_kafka_headers_destroy(h);
  return over;
}

/* The brokers refuse the worker's Kafka account a write to the DLQ or the
 * retry topic (TOPIC_AUTHORIZATION_FAILED: its ACLs lack WRITE on it).
 * Said as one error naming the topic, the missing ACL and the account, at
 * most every REFUSED_LOG_INTERVAL_MS for each of the two topics, instead
 * of a line per record and attempt; the records are written again later
 * and their offsets wait for them. True when err is that refusal. */
static bool write_refused(lb_engine *e, const char *topic, bool retry_topic,
                          rd_kafka_resp_err_t err)
{
  if (err != RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED)
    return false;
  if (!lb_log_due(&e->acl_log_next[retry_topic], lb_time_mono_ms(), REFUSED_LOG_INTERVAL_MS))
    return true;
  char user[256], acl[512];
  lb_kafka_client_prop(e->prk, "sasl.username", user, sizeof(user));
  lb_kafka_missing_acl(acl, sizeof(acl), "WRITE", "topic", topic);
  lb_log(LB_LOG_ERROR,
         retry_topic ? "the brokers refuse a write to the retry topic: the worker's Kafka account "
                       "lacks the WRITE ACL on it; retrying, the source offset does not advance"
                     : "the brokers refuse a write to the dead-letter topic: the worker's Kafka "
                       "account lacks the WRITE ACL on it; retrying, the source offset does not "
                       "advance",
         LB_S("topic", topic), LB_S("missing_acl", acl), LB_S("user", user[0] ? user : NULL),
         LB_S("error", rd_kafka_err2name(err)), LB_S("detail", rd_kafka_err2str(err)));
  return true;
}

/* Writes the record for d (NULL: m's own dead letter): parked in the retry
 * topic, or a dead letter. A dead letter larger than its cap is written
 * with its value cut to fit, at a UTF-8 boundary (and without the source
 * record's own headers when even an empty value would not fit), saying so
 * in its headers: it is dead-lettered all the same. */
static bool produce(lb_engine *e, msg *m, dlv *d)
{
  bool park = d && d->status == LB_DELIVERY_PARK && !d->too_large;
  const char *topic = park ? e->cfg->kafka.retry_topic : e->cfg->kafka.dlq_topic;
  const void *value = m->value;
  size_t vlen = m->len;
  size_t cap = size_cap(e, m, d);
  produced *pr = malloc(sizeof(*pr));
  if (!pr)
    return false;
  *pr = (produced){
    .e = e, .m = m, .d = d, .retry_topic = park, .original_bytes = vlen, .kept_bytes = vlen
  };
  lb_dlq_fields f;
  char why[1024];
  if (!park)
    dlq_fields(e, m, d, &f, why, sizeof(why));
  rd_kafka_headers_t *h = park ? park_headers(e, m, d) : dlq_headers(m, &f, true);
  size_t size = record_size(m, h);
  if (!park && size > cap) {
    char orig_bytes[32];
    snprintf(orig_bytes, sizeof(orig_bytes), "%zu", vlen);
    size_t marks = header_size(HDR(VALUE_TRUNCATED), 4) +
                   header_size(HDR(VALUE_ORIGINAL_BYTES), strlen(orig_bytes)) +
                   header_size(HDR(HEADERS_DROPPED), 20);
    size_t src_headers = m->headers ? rd_kafka_header_cnt(m->headers) : 0;
    size_t fixed = size - vlen + marks;
    bool dropped = false;
    if (fixed > cap && src_headers > 0) {
      /* the source's own headers do not leave room: they go too */
      rd_kafka_headers_destroy(h);
      h = dlq_headers(m, &f, false);
      fixed = record_size(m, h) - vlen + marks;
      dropped = true;
    }
    pr->truncated = true;
    pr->kept_bytes = lb_strbuf_utf8_floor(value, vlen, fixed < cap ? cap - fixed : 0);
    vlen = pr->kept_bytes;
    /* written again with the marks of the cut after the contract's headers */
    f.value_truncated = true;
    f.value_original_bytes = (int64_t)pr->original_bytes;
    f.headers_dropped = dropped ? (int)src_headers : -1;
    rd_kafka_headers_destroy(h);
    h = dlq_headers(m, &f, !dropped);
    size = RECORD_OVERHEAD + m->key_len + vlen + headers_size(h);
  }
  pr->size = size;
  /* a parked record goes to the partition numbered like its source (the
   * topics are co-partitioned: the member holding source partition k holds
   * retry partition k), not where the key would hash; a dead letter goes
   * by key (its headers carry the source partition) */
  rd_kafka_resp_err_t err =
      rd_kafka_producev(e->prk, RD_KAFKA_V_TOPIC(topic),
                        RD_KAFKA_V_PARTITION(park ? m->partition : RD_KAFKA_PARTITION_UA),
                        RD_KAFKA_V_KEY(m->key, m->key_len), RD_KAFKA_V_VALUE((void *)value, vlen),
                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h),
                        RD_KAFKA_V_OPAQUE(pr), RD_KAFKA_V_END);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_headers_destroy(h);
    free(pr);
    if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
      refused_as_too_large(e, m, d, park, size);
    if (!write_refused(e, topic, park, err))
      lb_log(LB_LOG_WARN, "cannot queue a record for the dead-letter or retry topic, retrying",
             LB_S("topic", topic), LB_S("error", rd_kafka_err2str(err)),
             LB_I("record_bytes", (long long)size));
    return false;
  }
  return true;
}

/* A write to the DLQ or retry topic failed: it is tried again later (see
 * reproduce_due); the message, and so its offset, waits for it. */
static void schedule_reproduce(lb_engine *e, dlv *d, msg *m)
{
  (void)e;
  if (!d) {
    m->dead_letter_pending = true;
    m->dead_letter_at_mono = lb_time_mono_ms() + REPRODUCE_DELAY_MS;
  } else {
    d->produce_due = true;
    d->produce_at_mono = lb_time_mono_ms() + REPRODUCE_DELAY_MS;
  }
}

static void write_out(lb_engine *e, msg *m, dlv *d)
{
  /* a delivery that succeeded writes its state record */
  if (!(d && d->status == LB_DELIVERY_SUCCESS ? produce_state(e, m, d) : produce(e, m, d)))
    schedule_reproduce(e, d, m);
}

static void on_produced(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque)
{
  (void)rk;
  (void)opaque;
  produced *pr = rkm->_private;
  lb_engine *e = pr->e;
  msg *m = pr->m;
  dlv *d = pr->d;
  produced done = *pr;
  free(pr);
  if (done.state_record) {
    state_produced(e, m, d, rkm);
    return;
  }
  if (rkm->err) {
    bool too_large = rkm->err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE;
    if (too_large)
      refused_as_too_large(e, m, d, done.retry_topic, done.size);
    if (!too_large && write_refused(e, rd_kafka_topic_name(rkm->rkt), done.retry_topic, rkm->err)) {
      schedule_reproduce(e, d, m);
      return;
    }
    lb_log(LB_LOG_WARN,
           too_large ? "cannot write to the dead-letter or retry topic: the broker refuses "
                       "the record as too large (the topic's max.message.bytes is below the "
                       "producer's message.max.bytes), writing it again smaller"
                     : "cannot write to the dead-letter or retry topic, retrying; the source "
                       "offset does not advance",
           LB_S("topic", rd_kafka_topic_name(rkm->rkt)), LB_S("error", rd_kafka_err2str(rkm->err)),
           LB_I("record_bytes", (long long)done.size));
    schedule_reproduce(e, d, m);
    return;
  }
  char labels[256];
  const char *cls = dead_letter_class(m, d);
  if (!done.retry_topic && (done.truncated || (d && d->too_large))) {
    const char *otopic;
    int32_t opart;
    int64_t ooff;
    orig(m, &otopic, &opart, &ooff);
    const char *what =
        d && d->too_large
            ? "delivery had to wait but its record is too large to park in the retry "
              "topic, sent to the dead-letter topic instead"
            : "dead letter too large for the producer's limit, sent with its value cut "
              "to fit (lmsbridge.value.truncated)";
    lb_log(LB_LOG_WARN, what, LB_S("topic", rd_kafka_topic_name(rkm->rkt)),
           LB_S("source_topic", otopic), LB_I("source_partition", opart),
           LB_I("source_offset", ooff), LB_S("event_id", m->plan.event_id),
           LB_S("integration", d ? e->cfg->integrations[d->integ].id : ""), LB_S("class", cls),
           LB_I("value_bytes", (long long)done.original_bytes),
           LB_I("written_value_bytes", (long long)done.kept_bytes),
           LB_I("limit_bytes", (long long)size_cap(e, m, d)),
           LB_S("truncated", done.truncated ? "true" : "false"));
  }
  if (done.truncated) {
    label2(labels, sizeof(labels), "reason", cls, NULL, NULL);
    lb_metrics_add(e->metrics, "lmsbridge_dlq_records_truncated_total", labels, 1);
  }
  if (d) {
    const lb_integration *in = &e->cfg->integrations[d->integ];
    if (done.retry_topic) {
      label2(labels, sizeof(labels), "integration", in->id, "outcome", "parked");
      lb_metrics_add(e->metrics, "lmsbridge_deliveries_total", labels, 1);
    } else {
      label2(labels, sizeof(labels), "integration", in->id, "outcome", "dead_lettered");
      lb_metrics_add(e->metrics, "lmsbridge_deliveries_total", labels, 1);
      label2(labels, sizeof(labels), "reason", cls, NULL, NULL);
      lb_metrics_add(e->metrics, "lmsbridge_dlq_records_total", labels, 1);
    }
    dlv_resolved(e, d, D_RESOLVED);
    return;
  }
  label2(labels, sizeof(labels), "reason", cls, NULL, NULL);
  lb_metrics_add(e->metrics, "lmsbridge_dlq_records_total", labels, 1);
  resolved(e, m);
}

/* ---- deliveries ---- */

static void on_delivered(lb_engine *e, dlv *d, const lb_delivery_result *r)
{
  msg *m = d->m;
  const lb_integration *in = &e->cfg->integrations[d->integ];
  char labels[256];

  d->status = r->status;
  d->http_status = r->http_status;
  free(d->http_body);
  free(d->reason);
  d->http_body = strdup(r->http_body ? r->http_body : "");
  d->reason = strdup(r->reason ? r->reason : "");
  d->attempts = r->attempts;
  d->first_failure_ms = r->first_failure_ms;
  d->last_failure_ms = r->last_failure_ms;
  d->not_before_ms = r->not_before_ms;

  /* results come in key order: the next delivery on this key may go, once
   * a success is remembered (the next may be an older version to skip) */
  if (r->status == LB_DELIVERY_SUCCESS && d->key)
    state_remember(e, d, r);
  key_pass_on(e, d);

  if (r->status == LB_DELIVERY_CANCELLED) {
    dlv_resolved(e, d, D_CANCELLED);
    return;
  }
  lb_metrics_observe(e->metrics, "lmsbridge_delivery_seconds", "",
                     (double)(lb_time_mono_ms() - d->started_mono) / 1000.0);
  /* retries made in this life of the delivery: failures followed by
   * another try (the last failure of a failed delivery was not) */
  int retries = r->attempts - m->attempts - (r->status == LB_DELIVERY_SUCCESS ? 0 : 1);
  if (retries > 0) {
    label2(labels, sizeof(labels), "integration", in->id, "outcome", "retried");
    lb_metrics_add(e->metrics, "lmsbridge_deliveries_total", labels, retries);
  }
  if (r->status == LB_DELIVERY_SUCCESS) {
    if (r->repeat)
      lb_log(LB_LOG_INFO, "delivered before: the LMS already has it", LB_S("integration", in->id),
             LB_S("event_id", m->plan.event_id), LB_S("request_id", r->request_id));
    label2(labels, sizeof(labels), "integration", in->id, "outcome",
           r->repeat ? "repeat" : "success");
    lb_metrics_add(e->metrics, "lmsbridge_deliveries_total", labels, 1);
    if (d->key && e->state) {
      /* resolved once the broker has its state record */
      d->state = D_PRODUCING;
      write_out(e, m, d);
      return;
    }
    dlv_resolved(e, d, D_RESOLVED);
    return;
  }
  if (r->status == LB_DELIVERY_PARK && too_large_to_park(e, m, d))
    d->too_large = true; /* a dead letter instead, said when it is written */
  else if (r->status == LB_DELIVERY_PARK)
    lb_log(LB_LOG_INFO, "delivery must wait, parked in the retry topic",
           LB_S("integration", in->id), LB_S("event_id", m->plan.event_id),
           LB_S("reason", d->reason), LB_I("attempts", r->attempts),
           LB_I("not_before_ms", r->not_before_ms), LB_S("request_id", r->request_id));
  else
    lb_log(LB_LOG_WARN, "delivery failed for good, sent to the dead-letter topic",
           LB_S("integration", in->id), LB_S("event_id", m->plan.event_id),
           LB_S("class", dlq_class(r->status)), LB_S("reason", d->reason),
           LB_I("http_status", r->http_status), LB_I("attempts", r->attempts),
           LB_S("request_id", r->request_id));
  d->state = D_PRODUCING;
  write_out(e, m, d);
}

static void on_client_done(void *opaque, const lb_delivery_result *r)
{
  dlv *d = opaque;
  on_delivered(d->m->e, d, r);
}

/* The first request of d's plan item (a batched item: its only one). */
static const lb_request *first_request(const dlv *d)
{
  return &d->m->plan.items[d->item].requests.items[0];
}

/* Puts an item in its integration's batch; an older version of the same
 * item waiting there follows the newer one. */
static void batch_add(lb_engine *e, dlv *d)
{
  void *kept, *dropped;
  if (lb_batch_add(e->batches[d->integ], first_request(d)->key, d->m->plan.version, d,
                   lb_time_mono_ms(), &kept, &dropped) != LB_E_OK) {
    lb_delivery_result r = { .status = LB_DELIVERY_EXHAUSTED,
                             .reason = "cannot batch the item (out of memory)",
                             .http_body = "" };
    on_delivered(e, d, &r);
    return;
  }
  d->state = D_BATCHED;
  if (!dropped)
    return;
  /* o, and what followed it, now follow k, ahead of k's own followers */
  dlv *k = kept, *o = dropped;
  o->state = D_FOLLOWING;
  lb_list_push_front(&o->followers, &o->follow);
  lb_list_concat(&o->followers, &k->followers);
  lb_list_concat(&k->followers, &o->followers);
}

static void start_dlv(lb_engine *e, dlv *d)
{
  msg *m = d->m;
  if (d->state == D_CANCELLED) {
    /* handed back while it waited: pass the key on, then it is resolved
     * (its message stays alive until then: the chain points at it) */
    key_pass_on(e, d);
    resolved(e, m);
    return;
  }
  uint64_t version = 0;
  const char *lms_id = NULL;
  bool known = d->key && lb_known_get(e->known, d->key, &version, &lms_id);
  if (known && m->plan.version < version) {
    /* a replay or a parked record older than what the LMS already has */
    char labels[256];
    const lb_integration *in = &e->cfg->integrations[d->integ];
    label2(labels, sizeof(labels), "integration", in->id, "outcome", "skipped");
    lb_metrics_add(e->metrics, "lmsbridge_deliveries_total", labels, 1);
    lb_log(LB_LOG_INFO, "not sent", LB_S("integration", in->id), LB_S("event_id", m->plan.event_id),
           LB_S("reason", "older than the version already delivered"),
           LB_I("version", (long long)m->plan.version),
           LB_I("delivered_version", (long long)version));
    d->state = D_RESOLVED;
    key_pass_on(e, d);
    resolved(e, m);
    return;
  }
  if (known && state_skips(e, d))
    return;
  d->started_mono = lb_time_mono_ms();
  if (d->batched) {
    batch_add(e, d);
    return;
  }
  d->state = D_RUNNING;
  lb_err rc = lb_client_deliver(e->client, d->integ, &m->plan.items[d->item].requests,
                                known ? lms_id : NULL, m->attempts, m->first_failure_ms,
                                on_client_done, d, &d->handle);
  if (rc != LB_E_OK) {
    lb_delivery_result r = { .status = LB_DELIVERY_EXHAUSTED,
                             .reason = "cannot start the delivery (out of memory)",
                             .http_body = "" };
    on_delivered(e, d, &r);
  }
}

/* ---- coalescing batches (the connector's policy, lb_connector.h) ---- */

/* One batch POST in flight for an integration: its items. */
struct obatch {
  lb_engine *e;
  size_t integ;
  size_t n;
  void **members; /* dlv * */
  lb_request_list reqs;
};

static void obatch_free(obatch *ob)
{
  if (!ob)
    return;
  lb_request_list_release(&ob->reqs);
  free(ob->members);
  free(ob);
}

static void on_batch_done(void *opaque, const lb_delivery_result *r)
{
  obatch *ob = opaque;
  lb_engine *e = ob->e;
  e->batch_in_flight[ob->integ] = NULL;
  lb_batch_done(e->batches[ob->integ], lb_time_mono_ms());
  lb_log(LB_LOG_DEBUG, "batch finished", LB_S("integration", e->cfg->integrations[ob->integ].id),
         LB_I("items", ob->n), LB_S("status", lb_delivery_status_name(r->status)),
         LB_I("http_status", r->http_status));
  /* every item shares the batch's result */
  for (size_t i = 0; i < ob->n; i++)
    on_delivered(e, ob->members[i], r);
  obatch_free(ob);
}

/* Builds and sends the batch of integration i that is due. */
static void send_batch(lb_engine *e, size_t i)
{
  const lb_integration *in = &e->cfg->integrations[i];
  const lb_connector_batching *policy = lb_connector_of(in->type)->batching;
  lb_batch_limits lim;
  policy->limits(in, &lim);
  obatch *ob = calloc(1, sizeof(*ob));
  void **members = calloc(lim.max_items, sizeof(void *));
  const char **bodies = calloc(lim.max_items, sizeof(char *));
  char *body = NULL;
  if (!ob || !members || !bodies) {
    free(ob);
    free(members);
    free(bodies);
    return; /* the items keep waiting; tried again on the next turn */
  }
  ob->e = e;
  ob->integ = i;
  ob->members = members;
  lb_request_list_init(&ob->reqs);
  ob->n = lb_batch_take(e->batches[i], lb_time_mono_ms(), members);
  /* a parked item brings its attempts: the batch goes on from the most */
  int attempts = 0;
  int64_t first_failure = 0;
  for (size_t k = 0; k < ob->n; k++) {
    dlv *d = members[k];
    d->state = D_RUNNING;
    bodies[k] = first_request(d)->body;
    if (d->m->attempts > attempts)
      attempts = d->m->attempts;
    if (d->m->first_failure_ms && (!first_failure || d->m->first_failure_ms < first_failure))
      first_failure = d->m->first_failure_ms;
  }
  uint64_t handle;
  lb_err rc = ob->n ? policy->join(bodies, ob->n, &body) : LB_E_INVALID;
  if (rc == LB_E_OK)
    rc = lb_request_list_add(&ob->reqs, policy->step, LB_POST, first_request(members[0])->url, body,
                             NULL);
  free(body);
  free(bodies);
  if (rc == LB_E_OK) {
    e->batch_in_flight[i] = ob;
    rc = lb_client_deliver(e->client, i, &ob->reqs, NULL, attempts, first_failure, on_batch_done,
                           ob, &handle);
    if (rc == LB_E_OK) {
      lb_log(LB_LOG_DEBUG, "batch sent", LB_S("integration", in->id), LB_I("items", ob->n));
      return;
    }
  }
  lb_delivery_result r = { .status = LB_DELIVERY_EXHAUSTED,
                           .reason = "cannot build the batch (out of memory)",
                           .http_body = "" };
  on_batch_done(ob, &r);
}

/* Sends the batches that are due; returns ms until the next one is (-1:
 * none waits). */
static int64_t run_batches(lb_engine *e)
{
  int64_t next = -1, now = lb_time_mono_ms();
  for (size_t i = 0; e->batches && i < e->ninteg; i++) {
    if (!e->batches[i])
      continue;
    int64_t due = lb_batch_due_in(e->batches[i], now);
    if (due == 0) {
      send_batch(e, i);
      due = lb_batch_due_in(e->batches[i], now);
    }
    if (due >= 0 && (next < 0 || due < next))
      next = due;
  }
  return next;
}

/* An invalid event that is a valid event of the other daemon: its topic
 * is misrouted (the other daemon's file, or the other daemon's events on
 * this topic). Dead-lettering would empty a topic of valid events into the
 * DLQ: the engine stops instead, with one error, and the message is
 * handed back unfinished, so no offset is committed past it. True when
 * the message was taken so. */
static bool misrouted(lb_engine *e, msg *m)
{
  const char *other = e->opts.foreign_event && m->plan.dlq_class &&
                              strcmp(m->plan.dlq_class, lb_dlq_reasons[LB_DLQ_INVALID_EVENT]) == 0
                          ? e->opts.foreign_event(m->value ? m->value : "", m->len)
                          : NULL;
  if (!other)
    return false;
  char why[768];
  const char *topic = m->p->topic;
  snprintf(why, sizeof(why),
           "topic \"%s\" carries %s's events (a valid one at this offset), not %s's: check "
           "kafka.topics in %s (is it %s's file?); stopping, nothing past it is committed",
           topic, other, e->opts.worker, e->cfg->path ? e->cfg->path : "the configuration file",
           other);
  char *event_id = lb_event_id_peek(m->value ? m->value : "", m->len);
  lb_log(LB_LOG_ERROR, "misrouted topic, stopping", LB_S("topic", topic),
         LB_I("partition", m->partition), LB_I("offset", m->offset), LB_S("event_id", event_id),
         LB_S("worker", e->opts.worker), LB_S("error", why));
  free(event_id);
  /* finished as handed back: its offset is never stored, nor any after it */
  m->dlvs = calloc(1, sizeof(dlv));
  if (m->dlvs) {
    m->dlvs[0].state = D_CANCELLED;
    m->ndlvs = 1;
  } else {
    poison(e, m->p, "misrouted");
  }
  m->pending = 0;
  e->fatal = 1;
  e->finish_started = true;
  msg_maybe_finish(e, m);
  return true;
}

/* Plans a message and starts its deliveries. */
static void process(lb_engine *e, msg *m)
{
  char labels[256];
  lb_err rc = e->opts.plan(e->cfg, m->value ? m->value : "", m->len, lb_time_now_ms(), &m->plan);
  m->planned = true;
  if (rc != LB_E_OK) {
    /* the planner itself failed (out of memory): a mapping error */
    m->plan = (lb_plan){ .dead_letter = true,
                         .dlq_class = lb_dlq_reasons[LB_DLQ_MAPPING],
                         .dlq_message = strdup(lb_strerror(rc)) };
  }
  if (m->plan.dead_letter && misrouted(e, m))
    return;
  if (m->plan.dead_letter) {
    lb_log(LB_LOG_WARN, "invalid event, sent to the dead-letter topic", LB_S("topic", m->p->topic),
           LB_I("partition", m->partition), LB_I("offset", m->offset),
           LB_S("reason", plan_failure(m)));
    m->pending = 1;
    write_out(e, m, NULL);
    return;
  }
  m->dlvs = calloc(m->plan.n ? m->plan.n : 1, sizeof(dlv));
  if (!m->dlvs) {
    m->pending = 1; /* never finishes: handed back at shutdown */
    poison(e, m->p, "plan");
    return;
  }
  bool target_found = !m->target;
  for (size_t i = 0; i < m->plan.n; i++) {
    const lb_plan_item *it = &m->plan.items[i];
    if (m->target && strcmp(it->integration->id, m->target) != 0)
      continue;
    target_found = true;
    if (it->skip) {
      label2(labels, sizeof(labels), "integration", it->integration->id, "outcome", "skipped");
      lb_metrics_add(e->metrics, "lmsbridge_deliveries_total", labels, 1);
      lb_log(it->quiet ? LB_LOG_DEBUG : LB_LOG_INFO, "not sent",
             LB_S("integration", it->integration->id), LB_S("event_id", m->plan.event_id),
             LB_S("reason", it->reason));
      continue;
    }
    dlv *d = &m->dlvs[m->ndlvs++];
    d->m = m;
    d->item = i;
    d->integ = (size_t)(it->integration - e->cfg->integrations);
    if (m->plan.item_key) {
      size_t n = strlen(it->integration->id) + strlen(m->plan.item_key) + 2;
      if ((d->key = malloc(n)))
        snprintf(d->key, n, "%s\x1f%s", it->integration->id, m->plan.item_key);
    }
    const lb_connector_batching *policy = lb_connector_of(it->integration->type)->batching;
    d->batched = e->batches && e->batches[d->integ] && policy && it->requests.n == 1 &&
                 it->requests.items[0].step == policy->step;
    m->pending++;
  }
  if (!target_found)
    /* replayed or parked for an integration this file no longer has (or
     * whose filter no longer takes the item): said once, not sent */
    lb_log(LB_LOG_WARN, "not sent: the record's target integration does not take it",
           LB_S("target", m->target), LB_S("event_id", m->plan.event_id),
           LB_S("topic", m->p->topic), LB_I("partition", m->partition), LB_I("offset", m->offset));
  if (m->pending == 0) {
    msg_maybe_finish(e, m);
    return;
  }
  /* start after counting, so an early result cannot finish the message
   * half-planned */
  for (size_t i = 0, n = m->ndlvs; i < n; i++) {
    dlv *d = &m->dlvs[i];
    if (!d->key || d->batched || lb_order_enqueue(e->order, &d->order, d->key))
      start_dlv(e, d);
    else
      d->state = D_QUEUED;
  }
}

static void hold_until_due(lb_engine *e, msg *m)
{
  msg *at = LB_LIST_FIRST(&e->due, msg, due);
  while (at && at->not_before_ms <= m->not_before_ms)
    at = LB_LIST_NEXT(at, msg, due);
  lb_list_insert_before(&e->due, at ? &at->due : NULL, &m->due);
}

static void run_due(lb_engine *e)
{
  int64_t now = lb_time_now_ms();
  for (msg *m; (m = LB_LIST_FIRST(&e->due, msg, due)) && m->not_before_ms <= now;) {
    lb_list_remove(&e->due, &m->due);
    process(e, m);
  }
}

/* Out of memory while a message could not be tracked: its partition stores
 * no offset any more (storing could pass it) and the process stops; the
 * group redelivers from the last commit. */
static void poison(lb_engine *e, part *p, const char *what)
{
  lb_log(LB_LOG_ERROR, "out of memory, stopping without committing past the message",
         LB_S("topic", p->topic), LB_I("partition", p->partition), LB_S("where", what));
  p->poisoned = true;
  e->fatal = 1;
}

static void consumed(lb_engine *e, rd_kafka_message_t *rkm)
{
  char labels[256];
  const char *topic = rd_kafka_topic_name(rkm->rkt);
  part *p = find_part(e, topic, rkm->partition);
  if (!p || p->draining) {
    rd_kafka_message_destroy(rkm);
    return;
  }
  size_t key_len = rkm->key ? rkm->key_len : 0, len = rkm->payload ? rkm->len : 0;
  msg *m = calloc(1, sizeof(*m) + key_len + len);
  if (!m || lb_offsets_add(&p->offs, rkm->offset) < 0) {
    free(m);
    poison(e, p, "consume");
    rd_kafka_message_destroy(rkm);
    return;
  }
  m->e = e;
  m->p = p;
  m->partition = rkm->partition;
  m->offset = rkm->offset;
  if (rkm->key)
    m->key = memcpy(m->data, rkm->key, key_len);
  m->key_len = key_len;
  if (rkm->payload)
    m->value = memcpy(m->data + key_len, rkm->payload, len);
  m->len = len;
  rd_kafka_message_detach_headers(rkm, &m->headers);
  rd_kafka_message_destroy(rkm);
  lb_list_push_front(&p->msgs, &m->link);
  e->msgs_in_flight++;
  label2(labels, sizeof(labels), "topic", p->topic, NULL, NULL);
  lb_metrics_add(e->metrics, "lmsbridge_events_consumed_total", labels, 1);

  lb_dlq_parked pk;
  lb_dlq_parked_read(m->headers, &pk);
  if (pk.has_target)
    m->target = strdup(pk.target);
  m->replays = pk.replays;
  if (p->retry) {
    m->attempts = pk.attempts;
    m->first_failure_ms = pk.first_failure_ms;
    m->not_before_ms = pk.not_before_ms;
    if (pk.has_orig) {
      m->orig_topic = strdup(pk.orig_topic);
      m->orig_partition = pk.orig_partition;
      m->orig_offset = pk.orig_offset;
    }
  }
  apply_backpressure(e, p);
  if (state_hold(e, m))
    return;
  if (m->not_before_ms > lb_time_now_ms())
    hold_until_due(e, m);
  else
    process(e, m);
}

/* ---- handing partitions back (revoke, shutdown) ---- */

static void run_once(lb_engine *e, int wait_ms)
{
  if (e->client) {
    lb_client_run(e->client, wait_ms, e->wake[0]);
  } else { /* dropped (a reload that failed): only Kafka to serve */
    struct pollfd pfd = { .fd = e->wake[0], .events = POLLIN };
    (void)poll(&pfd, 1, wait_ms);
  }
  drain_wake(e);
  rd_kafka_poll(e->prk, 0);
}

static size_t handing_back_msgs(lb_engine *e)
{
  size_t n = 0;
  LB_LIST_EACH (part, p, &e->parts, link)
    if (p->handing_back && !p->revoked)
      n += lb_list_len(&p->msgs);
  return n;
}

/* The draining partitions' held retry records go back unprocessed. */
static void release_held(lb_engine *e)
{
  state_release(e);
  LB_LIST_EACH_SAFE (msg, m, &e->due, due) {
    if (m->p->handing_back) {
      lb_list_remove(&e->due, &m->due);
      m->planned = true;
      m->ndlvs = 0;
      m->pending = 0;
      /* finishing it would store its offset: mark it cancelled instead */
      m->dlvs = calloc(1, sizeof(dlv));
      if (m->dlvs) {
        m->dlvs[0].state = D_CANCELLED;
        m->ndlvs = 1;
      } else {
        poison(e, m->p, "hand back");
      }
      msg_maybe_finish(e, m);
    }
  }
}

/* A course waiting in its batch goes back unsent. The older versions that
 * follow it go back too when their partition is handed back as well (their
 * messages finish, unstored, once nothing else of them is pending); one in
 * a partition that stays (a parked record of the same course) waits in the
 * batch again, or its partition's watermark would stop there for good. */
static void unbatch(lb_engine *e, dlv *d)
{
  lb_batch_remove(e->batches[d->integ], first_request(d)->key, d);
  d->state = D_CANCELLED;
  d->m->pending--;
  for (lb_list_node *n; (n = lb_list_pop_front(&d->followers));) {
    dlv *f = LB_CONTAINER_OF(n, dlv, follow);
    if (f->m->p->handing_back || f->m->p->revoked) {
      f->state = D_CANCELLED;
      f->m->pending--;
    } else {
      batch_add(e, f);
    }
  }
}

/* The deliveries of the partitions being handed back that are not on the
 * wire go back at once: those waiting for their turn on their key, in a
 * batch, or in the client (for a rate-limit turn, a retry timer, a token,
 * a concurrency slot); their messages finish unstored, and the group
 * redelivers them. Requests on the wire are left to finish. `all`: every
 * partition is handed back (a stop, a reload), and with them the batches
 * the client holds. Returns the requests on the wire (0 unless `all`). */
static size_t hand_back_waiting(lb_engine *e, bool all)
{
  LB_LIST_EACH (part, p, &e->parts, link) {
    if (!p->handing_back || p->revoked)
      continue;
    LB_LIST_EACH (msg, m, &p->msgs, link) {
      for (size_t i = 0; i < m->ndlvs; i++) {
        dlv *d = &m->dlvs[i];
        if (d->state == D_RUNNING && !d->batched && !all) /* a batch runs to its end */
          lb_client_hand_back(e->client, d->handle);
        else if (d->state == D_QUEUED)
          d->state = D_CANCELLED; /* resolved when its turn on the key comes */
        else if (d->state == D_BATCHED)
          unbatch(e, d);
      }
    }
  }
  size_t on_wire = all ? lb_client_hand_back_all(e->client) : 0;
  LB_LIST_EACH_SAFE (part, p, &e->parts, link) {
    LB_LIST_EACH_SAFE (msg, m, &p->msgs, link)
      msg_maybe_finish(e, m);
  }
  return on_wire;
}

/* Gives the draining partitions' requests on the wire until the deadline
 * to finish (storing what does; what waits goes back at once), then
 * cancels the rest: the new owner gets it again. Writes to the DLQ/retry
 * topics in flight are waited for by their messages, which outlive the
 * partition. */
static void hand_back(lb_engine *e, int timeout_ms)
{
  release_held(e);
  hand_back_waiting(e, false);
  int64_t end = lb_time_mono_ms() + timeout_ms;
  while (handing_back_msgs(e) > 0 && lb_time_mono_ms() < end)
    run_once(e, 50);
  LB_LIST_EACH (part, p, &e->parts, link) {
    if (!p->handing_back || p->revoked)
      continue;
    LB_LIST_EACH (msg, m, &p->msgs, link) {
      for (size_t i = 0; i < m->ndlvs; i++) {
        dlv *d = &m->dlvs[i];
        if (d->state == D_RUNNING && !d->batched) /* a batch runs to its end */
          lb_client_cancel(e->client, d->handle);
        else if (d->state == D_QUEUED)
          d->state = D_CANCELLED; /* resolved when its turn on the key comes */
        else if (d->state == D_BATCHED)
          unbatch(e, d);
      }
    }
  }
  /* messages whose deliveries were all queued or batched are done now
   * (a course's older versions may sit in any partition); a revoked p
   * goes with its last message */
  LB_LIST_EACH_SAFE (part, p, &e->parts, link) {
    LB_LIST_EACH_SAFE (msg, m, &p->msgs, link)
      msg_maybe_finish(e, m);
  }
  /* cancelled deliveries report at once (those on the wire later) */
  run_once(e, 0);
}

static void store_all(lb_engine *e)
{
  LB_LIST_EACH (part, p, &e->parts, link)
    if (!p->revoked)
      store_offset(e, p);
}

/* Commits the stored offsets, waiting at most timeout_ms for the answer
 * (rd_kafka_commit() waits as long as the coordinator cannot be reached).
 * RD_KAFKA_RESP_ERR__TIMED_OUT when no answer came in time. */
static rd_kafka_resp_err_t commit_within(lb_engine *e, int timeout_ms)
{
  rd_kafka_queue_t *q = rd_kafka_queue_new(e->rk);
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__TIMED_OUT;
  if (!q)
    return rd_kafka_commit(e->rk, NULL, 0);
  rd_kafka_resp_err_t rc = rd_kafka_commit_queue(e->rk, NULL, q, NULL, NULL);
  if (rc != RD_KAFKA_RESP_ERR_NO_ERROR) {
    err = rc;
  } else {
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, timeout_ms > 0 ? timeout_ms : 0);
    if (ev) {
      err = rd_kafka_event_error(ev);
      rd_kafka_event_destroy(ev);
    }
  }
  rd_kafka_queue_destroy(q); /* an answer still due finds it refcounted */
  return err;
}

/* How long a revocation waits for the revoked partitions' requests on the
 * wire: revoke_timeout_ms, and while stopping no longer than the stop's
 * deadline. */
static int revoke_grace(const lb_engine *e)
{
  if (!e->stopping)
    return e->opts.revoke_timeout_ms;
  int64_t left = e->stop_by - lb_time_mono_ms();
  if (left <= 0)
    return 0;
  return left < e->opts.revoke_timeout_ms ? (int)left : e->opts.revoke_timeout_ms;
}

static void kafka_error(rd_kafka_error_t *error, const char *what)
{
  if (!error)
    return;
  lb_log(LB_LOG_ERROR, "kafka call failed", LB_S("call", what),
         LB_S("error", rd_kafka_error_string(error)));
  rd_kafka_error_destroy(error);
}

/* lmsbridge_assigned_partitions{topic}: the partitions of each consumed
 * topic this member holds now (0 for one it holds none of). */
static void update_assigned(lb_engine *e)
{
  char labels[256];
  const lb_config *cfg = e->cfg;
  for (size_t i = 0; i <= cfg->kafka.ntopics; i++) {
    const char *topic = i < cfg->kafka.ntopics ? cfg->kafka.topics[i] : cfg->kafka.retry_topic;
    size_t n = 0;
    LB_LIST_EACH (part, p, &e->parts, link)
      n += !p->revoked && strcmp(p->topic, topic) == 0;
    label2(labels, sizeof(labels), "topic", topic, NULL, NULL);
    lb_metrics_set(e->metrics, "lmsbridge_assigned_partitions", labels, (double)n);
  }
}

/* This member's share of every integration's rate limit: the source-topic
 * partitions it holds (librdkafka's assignment, as of now) over all of them
 * (counted at the start-up check; unknown, the whole limit when it holds
 * any), applied to the delivery client and exported as
 * lmsbridge_rate_limit_share. Called at every assignment and revocation and
 * for every new client (a reload). */
static void update_share(lb_engine *e)
{
  rd_kafka_topic_partition_list_t *l = NULL;
  size_t held = 0;
  if (rd_kafka_assignment(e->rk, &l) == RD_KAFKA_RESP_ERR_NO_ERROR && l)
    for (int i = 0; i < l->cnt; i++)
      for (size_t t = 0; t < e->cfg->kafka.ntopics; t++)
        held += strcmp(l->elems[i].topic, e->cfg->kafka.topics[t]) == 0;
  if (l)
    rd_kafka_topic_partition_list_destroy(l);
  double share = e->source_partitions ? (double)held / (double)e->source_partitions
                 : held               ? 1.0
                                      : 0.0;
  if (share > 1)
    share = 1; /* partitions added since the start-up check */
  lb_client_set_rate_share(e->client, share);
  lb_metrics_set(e->metrics, "lmsbridge_rate_limit_share", "", share);
}

/* A partition list as a log says it: "a[0,1] a.retry[0,1]" (a topic's
 * partitions together as librdkafka lists them; cut with "..." at len).
 * Returns buf. */
static const char *partitions_text(const rd_kafka_topic_partition_list_t *l, char *buf, size_t len)
{
  size_t at = 0;
  buf[0] = '\0';
  for (int i = 0; i < l->cnt && at < len; i++) {
    bool same = i > 0 && strcmp(l->elems[i].topic, l->elems[i - 1].topic) == 0;
    bool last = i + 1 == l->cnt || strcmp(l->elems[i].topic, l->elems[i + 1].topic) != 0;
    int w = same
                ? snprintf(buf + at, len - at, ",%d%s", (int)l->elems[i].partition, last ? "]" : "")
                : snprintf(buf + at, len - at, "%s%s[%d%s", i ? " " : "", l->elems[i].topic,
                           (int)l->elems[i].partition, last ? "]" : "");
    at = w < 0 || (size_t)w >= len - at ? len : at + (size_t)w;
  }
  if (at >= len && len > 4)
    snprintf(buf + len - 4, 4, "...");
  return buf;
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
  lb_engine *e = opaque;
  bool cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    for (int i = 0; i < parts->cnt; i++) {
      part *p = calloc(1, sizeof(*p));
      if (!p || !(p->topic = strdup(parts->elems[i].topic))) {
        free(p);
        continue;
      }
      p->partition = parts->elems[i].partition;
      p->retry = strcmp(p->topic, e->cfg->kafka.retry_topic) == 0;
      lb_offsets_init(&p->offs);
      lb_list_push_front(&e->parts, &p->link);
    }
    char which[1024];
    lb_log(LB_LOG_INFO, "partitions assigned", LB_I("count", parts->cnt),
           LB_S("partitions", partitions_text(parts, which, sizeof(which))));
    if (cooperative)
      kafka_error(rd_kafka_incremental_assign(rk, parts), "incremental assign");
    else
      rd_kafka_assign(rk, parts);
    e->assigned = true;
    /* librdkafka keeps an application pause across unassign and assign:
     * a partition we paused before it was handed back would never fetch */
    rd_kafka_resume_partitions(rk, parts);
    if (e->all_paused || e->stopping)
      for (int i = 0; i < parts->cnt; i++) {
        part *p = find_part(e, parts->elems[i].topic, parts->elems[i].partition);
        if (p)
          set_paused(e, p, true);
      }
    state_assigned(e, parts);
    update_ready(e);
    update_assigned(e);
    update_share(e);
    return;
  }
  bool lost = err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS || rd_kafka_assignment_lost(rk);
  lb_log(LB_LOG_INFO, lost ? "partitions lost" : "partitions revoked, handing back",
         LB_I("count", parts->cnt));
  for (int i = 0; i < parts->cnt; i++) {
    part *p = find_part(e, parts->elems[i].topic, parts->elems[i].partition);
    if (p)
      p->draining = p->handing_back = true;
  }
  size_t before = e->handed_back;
  hand_back(e, lost ? 0 : revoke_grace(e));
  if (!lost) {
    store_all(e);
    int64_t left =
        !e->stopping ? 10000 : (e->leave_by ? e->leave_by : e->stop_by) - lb_time_mono_ms();
    commit_within(e, left > 100 ? (int)left : 100);
  }
  /* the messages the next owner gets again: handed back unfinished (at
   * once, or cut after the grace) */
  lb_log(LB_LOG_INFO, "partitions handed back", LB_I("count", parts->cnt),
         LB_I("handed_back", (long long)(e->handed_back - before + handing_back_msgs(e))));
  LB_LIST_EACH_SAFE (part, p, &e->parts, link) {
    if (p->handing_back) {
      p->revoked = true;
      if (lb_list_empty(&p->msgs))
        part_unlink_free(e, p);
    }
  }
  state_revoked(e, parts);
  if (cooperative)
    kafka_error(rd_kafka_incremental_unassign(rk, parts), "incremental unassign");
  else
    rd_kafka_assign(rk, NULL);
  update_assigned(e);
  update_share(e);
}

/* ---- statistics: consumer lag ---- */

static int on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
  lb_engine *e = opaque;
  json_object *root = NULL, *topics;
  char err[64], labels[256], pbuf[16];
  (void)rk;
  if (lb_json_parse(json, len, &root, err, sizeof(err)) != LB_E_OK)
    return 0;
  lb_metrics_clear(e->metrics, "lmsbridge_consumer_lag");
  if (json_object_object_get_ex(root, "topics", &topics)) {
    json_object_object_foreach(topics, tname, tobj)
    {
      json_object *partitions;
      if (!json_object_object_get_ex(tobj, "partitions", &partitions))
        continue;
      json_object_object_foreach(partitions, pname, pobj)
      {
        json_object *lag, *assigned = NULL;
        if (strcmp(pname, "-1") == 0 || !json_object_object_get_ex(pobj, "consumer_lag", &lag))
          continue;
        json_object_object_get_ex(pobj, "desired", &assigned);
        if (assigned && !json_object_get_boolean(assigned))
          continue;
        int64_t v = json_object_get_int64(lag);
        if (v < 0)
          continue;
        snprintf(pbuf, sizeof(pbuf), "%s", pname);
        label2(labels, sizeof(labels), "topic", tname, "partition", pbuf);
        lb_metrics_set(e->metrics, "lmsbridge_consumer_lag", labels, (double)v);
      }
    }
  }
  json_object_put(root);
  return 0; /* librdkafka frees json */
}

static void on_http_observed(void *opaque, size_t integ, int status, double seconds)
{
  lb_engine *e = opaque;
  char labels[256], code[LB_STRBUF_I64_MAX];
  (void)seconds;
  lb_strbuf_i64(code, status);
  label2(labels, sizeof(labels), "integration", e->cfg->integrations[integ].id, "code",
         status ? code : "none");
  lb_metrics_add(e->metrics, "lmsbridge_http_requests_total", labels, 1);
}

static void update_gauges(lb_engine *e)
{
  char labels[256];
  /* items waiting in a batch are deliveries not yet finished too */
  size_t batched = 0;
  for (size_t i = 0; i < e->ninteg; i++)
    if (e->batches[i])
      batched += lb_batch_waiting(e->batches[i]);
  lb_metrics_set(e->metrics, "lmsbridge_inflight", "",
                 (double)(lb_client_pending(e->client) + batched));
  for (size_t i = 0; i < e->ninteg; i++) {
    const char *id = e->cfg->integrations[i].id;
    label2(labels, sizeof(labels), "integration", id, "outcome", "success");
    lb_metrics_set(e->metrics, "lmsbridge_oauth_token_fetches_total", labels,
                   (double)lb_client_token_fetches(e->client, i, true));
    label2(labels, sizeof(labels), "integration", id, "outcome", "failure");
    lb_metrics_set(e->metrics, "lmsbridge_oauth_token_fetches_total", labels,
                   (double)lb_client_token_fetches(e->client, i, false));
  }
}

/* Writes that failed are tried again once their delay has passed. */
static void reproduce_due(lb_engine *e)
{
  int64_t now = lb_time_mono_ms();
  LB_LIST_EACH (part, p, &e->parts, link) {
    LB_LIST_EACH (msg, m, &p->msgs, link) {
      if (m->dead_letter_pending && m->dead_letter_at_mono <= now) {
        m->dead_letter_pending = false;
        write_out(e, m, NULL);
      }
      for (size_t k = 0; k < m->ndlvs; k++) {
        dlv *d = &m->dlvs[k];
        if (d->produce_due && d->produce_at_mono <= now) {
          d->produce_due = false;
          write_out(e, m, d);
        }
      }
    }
  }
}

/* ---- the catalog state (kafka.state_topic) ----
 * After a delivery succeeds its state record (lb_state) is written to the
 * state partition numbered like the source partition, and the delivery is
 * resolved (its offset may be committed) only once the broker has it. A
 * partition numbered p (source or retry) is worked on only once state
 * partition p was read into the memory of delivered items (lb_known): it
 * stays paused until then, and the member is not ready. */

/* The source partition of m: the one a parked record came from. */
static int32_t source_partition(const msg *m)
{
  const char *topic;
  int32_t partition;
  int64_t offset;
  orig(m, &topic, &partition, &offset);
  return partition >= 0 ? partition : m->partition;
}

/* A resync (lmsbridge.resync "true", written by dlq-replay resync): sent
 * even when unchanged. */
static bool msg_resync(const msg *m)
{
  lb_dlq_parked pk;
  lb_dlq_parked_read(m->headers, &pk);
  return pk.resync;
}

static bool state_pending(const lb_engine *e, const part *p)
{
  return e->state && !lb_state_restore_loaded(e->state, p->partition);
}

/* Decisions by what was delivered before, d's item being known: an item
 * archived at this version or a newer one is not brought back by an
 * upsert of the same version; an item whose requests are those already
 * delivered (same fingerprint) is not sent, unless a resync asks. True
 * when d was resolved so. */
static bool state_skips(lb_engine *e, dlv *d)
{
  msg *m = d->m;
  lb_known_state ks;
  char fp[LB_STATE_FINGERPRINT_SIZE], labels[256];
  const char *reason = NULL, *outcome = "skipped";
  if (!d->key || !lb_known_get_state(e->known, d->key, &ks))
    return false;
  if (ks.archived && !m->plan.archived && m->plan.version <= ks.version) {
    reason = "archived at this version or a newer one";
  } else if (ks.fingerprint && !msg_resync(m) &&
             lb_state_fingerprint(&m->plan.items[d->item].requests, fp) == LB_E_OK &&
             strcmp(fp, ks.fingerprint) == 0) {
    reason = outcome = "unchanged";
  }
  if (!reason)
    return false;
  const lb_integration *in = &e->cfg->integrations[d->integ];
  label2(labels, sizeof(labels), "integration", in->id, "outcome", outcome);
  lb_metrics_add(e->metrics, "lmsbridge_deliveries_total", labels, 1);
  lb_log(LB_LOG_INFO, "not sent", LB_S("integration", in->id), LB_S("event_id", m->plan.event_id),
         LB_S("reason", reason), LB_I("version", (long long)m->plan.version),
         LB_I("delivered_version", (long long)ks.version));
  d->state = D_RESOLVED;
  key_pass_on(e, d);
  resolved(e, m);
  return true;
}

/* d succeeded: its version, LMS id and what was sent are remembered. */
static void state_remember(lb_engine *e, dlv *d, const lb_delivery_result *r)
{
  msg *m = d->m;
  char fp[LB_STATE_FINGERPRINT_SIZE];
  lb_known_state ks = { .version = m->plan.version,
                        .lms_id = r->lms_id,
                        .archived = m->plan.archived };
  if (lb_state_fingerprint(&m->plan.items[d->item].requests, fp) == LB_E_OK)
    ks.fingerprint = fp;
  (void)lb_known_put_sent(e->known, d->key, &ks);
}

/* Queues d's state record: what is known of its item (the newest delivery
 * of it, which may be this one's successor when this write is tried
 * again), else what d sent. */
static bool produce_state(lb_engine *e, msg *m, dlv *d)
{
  lb_known_state ks;
  lb_state_record rec;
  lb_state_record_init(&rec);
  rec.delivered_at_ms = lb_time_now_ms();
  bool known =
      lb_known_get_state(e->known, d->key, &ks) && ks.version >= m->plan.version && ks.fingerprint;
  if (known) {
    rec.version = ks.version;
    snprintf(rec.fingerprint, sizeof(rec.fingerprint), "%s", ks.fingerprint);
    rec.archived = ks.archived;
  } else {
    rec.version = m->plan.version;
    rec.archived = m->plan.archived;
    (void)lb_state_fingerprint(&m->plan.items[d->item].requests, rec.fingerprint);
  }
  rec.lms_id = known && ks.lms_id ? (char *)ks.lms_id : NULL; /* borrowed */
  char *value = lb_state_record_encode(&rec);
  if (!value && rec.lms_id) {
    rec.lms_id = NULL; /* an id too long to keep: updates look it up */
    value = lb_state_record_encode(&rec);
  }
  char *key = lb_state_key(e->cfg->integrations[d->integ].id, m->plan.item_key);
  produced *pr = malloc(sizeof(*pr));
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__FAIL; /* out of memory */
  if (value && key && pr) {
    *pr = (produced){ .e = e, .m = m, .d = d, .state_record = true, .size = strlen(value) };
    err = rd_kafka_producev(
        e->prk, RD_KAFKA_V_TOPIC(e->cfg->kafka.state_topic),
        RD_KAFKA_V_PARTITION(source_partition(m)), RD_KAFKA_V_KEY(key, strlen(key)),
        RD_KAFKA_V_VALUE(value, strlen(value)), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_OPAQUE(pr), RD_KAFKA_V_END);
    /* at most every REFUSED_LOG_INTERVAL_MS: a partition the state topic
     * lacks (not co-partitioned) fails every record alike */
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR &&
        lb_log_due(&e->state_log_next, lb_time_mono_ms(), REFUSED_LOG_INTERVAL_MS))
      lb_log(LB_LOG_WARN,
             "cannot queue a record for the state topic, retrying; the source "
             "offset does not advance",
             LB_S("topic", e->cfg->kafka.state_topic), LB_I("partition", source_partition(m)),
             LB_S("error", rd_kafka_err2str(err)));
  }
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    free(pr);
  free(value);
  free(key);
  return err == RD_KAFKA_RESP_ERR_NO_ERROR;
}

/* The broker's answer to d's state record: d is resolved, or the record is
 * written again later (its offset waits). */
static void state_produced(lb_engine *e, msg *m, dlv *d, const rd_kafka_message_t *rkm)
{
  if (rkm->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    dlv_resolved(e, d, D_RESOLVED);
    return;
  }
  /* said at most every REFUSED_LOG_INTERVAL_MS: a refusal (a missing
   * WRITE ACL) or a missing partition lasts, and every record meets it */
  if (lb_log_due(&e->state_log_next, lb_time_mono_ms(), REFUSED_LOG_INTERVAL_MS)) {
    char acl[512];
    bool refused = rkm->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED;
    lb_kafka_missing_acl(acl, sizeof(acl), "WRITE", "topic", rd_kafka_topic_name(rkm->rkt));
    lb_log(refused ? LB_LOG_ERROR : LB_LOG_WARN,
           "cannot write to the state topic, retrying; the source offset does not advance",
           LB_S("topic", rd_kafka_topic_name(rkm->rkt)), LB_I("partition", rkm->partition),
           LB_S("missing_acl", refused ? acl : NULL), LB_S("error", rd_kafka_err2name(rkm->err)),
           LB_S("detail", rd_kafka_err2str(rkm->err)));
  }
  schedule_reproduce(e, d, m);
}

/* Partitions were assigned: their state partitions are read. A partition
 * is not paused here (librdkafka loses the assigned offset of a partition
 * paused right after its assignment, librdkafka issue #2190): its first
 * record is held and pauses it (state_hold). */
static void state_assigned(lb_engine *e, const rd_kafka_topic_partition_list_t *parts)
{
  for (int i = 0; e->state && i < parts->cnt; i++)
    lb_state_restore_want(e->state, parts->elems[i].partition);
}

/* A record of a partition whose state is not read yet waits, and its
 * partition stops fetching (it goes on after the record, once resumed).
 * True when m was held so. */
static bool state_hold(lb_engine *e, msg *m)
{
  if (!state_pending(e, m->p))
    return false;
  set_paused(e, m->p, true);
  lb_list_push_back(&e->state_held, &m->due);
  return true;
}

/* The held records of partitions handed back go to the held retry records,
 * which release_held hands back unprocessed. */
static void state_release(lb_engine *e)
{
  LB_LIST_EACH_SAFE (msg, m, &e->state_held, due) {
    if (m->p->handing_back) {
      lb_list_remove(&e->state_held, &m->due);
      hold_until_due(e, m);
    }
  }
}

/* Partitions were handed back: a state partition no partition numbered
 * like it is held for any more is no longer ours to know. */
static void state_revoked(lb_engine *e, const rd_kafka_topic_partition_list_t *parts)
{
  for (int i = 0; e->state && i < parts->cnt; i++) {
    bool held = false;
    LB_LIST_EACH (part, p, &e->parts, link)
      held = held || (!p->revoked && p->partition == parts->elems[i].partition);
    if (!held)
      lb_state_restore_drop(e->state, parts->elems[i].partition);
  }
}

/* State partition `partition` was read: the partitions numbered so go on,
 * their held records first, in the order they came. */
static void state_restored(void *opaque, int32_t partition)
{
  lb_engine *e = opaque;
  LB_LIST_EACH (part, p, &e->parts, link)
    if (!p->revoked && p->partition == partition && !e->all_paused && !e->stopping)
      set_paused(e, p, false);
  lb_list ready = { 0 };
  LB_LIST_EACH_SAFE (msg, m, &e->state_held, due) {
    if (m->p->partition == partition) {
      lb_list_remove(&e->state_held, &m->due);
      lb_list_push_back(&ready, &m->due);
    }
  }
  for (lb_list_node *n; (n = lb_list_pop_front(&ready));) {
    msg *m = LB_CONTAINER_OF(n, msg, due);
    if (m->not_before_ms > lb_time_now_ms())
      hold_until_due(e, m);
    else
      process(e, m);
  }
  update_ready(e);
}

/* Reads what arrived of the state partitions being restored. */
static int state_poll(lb_engine *e)
{
  return e->state ? lb_state_restore_poll(e->state, e->known, 10 * POLL_BATCH, state_restored, e)
                  : 0;
}

/* The memory of delivered items was built anew (a reload): every partition
 * held reads its state partition again (its records wait, state_hold). */
static void state_reload(lb_engine *e)
{
  lb_list_init(&e->state_held); /* its records were dropped with the old work */
  if (!e->state)
    return;
  lb_state_restore_reset(e->state);
  LB_LIST_EACH (part, p, &e->parts, link)
    if (!p->revoked)
      lb_state_restore_want(e->state, p->partition);
}

/* ---- the loop ---- */

static void declare_metrics(lb_metrics *m)
{
  lb_metrics_declare(m, "lmsbridge_events_consumed_total", LB_COUNTER,
                     "Kafka records consumed, by topic.");
  lb_metrics_declare(m, "lmsbridge_deliveries_total", LB_COUNTER,
                     "Deliveries by integration and outcome (success, repeat, retried, "
                     "parked, skipped, unchanged, dead_lettered).");
  lb_metrics_declare(m, "lmsbridge_delivery_seconds", LB_HISTOGRAM,
                     "Time from the start of a delivery to its result.");
  lb_metrics_declare(m, "lmsbridge_http_requests_total", LB_COUNTER,
                     "HTTP responses from the LMSs by integration and status code.");
  lb_metrics_declare(m, "lmsbridge_inflight", LB_GAUGE, "Deliveries not yet finished.");
  lb_metrics_declare(m, "lmsbridge_consumer_lag", LB_GAUGE,
                     "Records behind the end of each assigned partition.");
  lb_metrics_declare(m, "lmsbridge_assigned_partitions", LB_GAUGE,
                     "Partitions of each consumed topic (and the retry topic) this member "
                     "holds, as of the last rebalance.");
  lb_metrics_declare(m, "lmsbridge_rate_limit_share", LB_GAUGE,
                     "This member's share of every integration's rate limit: the source "
                     "partitions it holds over all of them (0 to 1), as of the last "
                     "rebalance.");
  lb_metrics_declare(m, "lmsbridge_oauth_token_fetches_total", LB_COUNTER,
                     "OAuth token requests by integration and outcome.");
  lb_metrics_declare(m, "lmsbridge_dlq_records_total", LB_COUNTER,
                     "Records written to the dead-letter topic, by reason.");
  lb_metrics_declare(m, "lmsbridge_dlq_records_truncated_total", LB_COUNTER,
                     "Dead letters too large for the producer's limit, written with their "
                     "value cut to fit (lmsbridge.value.truncated), by reason.");
}

/* The brokers refuse the client's credentials (__AUTHENTICATION: a wrong
 * password, an unknown user, a mechanism they do not enable) or the TLS
 * handshake fails (__SSL: a certificate the CA file does not vouch for, or
 * one that does not name the address connected to). Nothing works until
 * the configuration or the brokers change: one error saying what to check,
 * at most every REFUSED_LOG_INTERVAL_MS for each of the two (librdkafka
 * keeps trying; the worker stays up, not ready until it has partitions).
 * Never the password: librdkafka's reason does not carry it, and the log
 * redacts every secret. True when err is one of them. */
static bool connection_refused(lb_engine *e, rd_kafka_t *rk, int err, const char *reason)
{
  bool tls = err == RD_KAFKA_RESP_ERR__SSL;
  if (!tls && err != RD_KAFKA_RESP_ERR__AUTHENTICATION)
    return false;
  if (!lb_log_due(tls ? &e->tls_log_next : &e->auth_log_next, lb_time_mono_ms(),
                  REFUSED_LOG_INTERVAL_MS))
    return true;
  char a[1024], b[256];
  if (tls) {
    lb_kafka_client_prop(rk, "ssl.ca.location", a, sizeof(a));
    lb_log(LB_LOG_ERROR,
           "kafka TLS handshake failed: the brokers' certificate is not signed by a trusted CA "
           "or does not name the address connected to (check ssl.ca.location and the broker "
           "addresses); retrying",
           LB_S("client", rd_kafka_name(rk)), LB_S("brokers", e->cfg->kafka.brokers),
           LB_S("ssl_ca_location", a[0] ? a : NULL), LB_S("reason", reason));
  } else {
    lb_kafka_client_prop(rk, "sasl.mechanisms", a, sizeof(a));
    lb_kafka_client_prop(rk, "sasl.username", b, sizeof(b));
    lb_log(LB_LOG_ERROR,
           "kafka authentication failed: the brokers refuse the worker's credentials (check "
           "sasl.username and sasl.password, and that the brokers enable the mechanism); "
           "retrying",
           LB_S("client", rd_kafka_name(rk)), LB_S("brokers", e->cfg->kafka.brokers),
           LB_S("mechanism", a), LB_S("user", b[0] ? b : NULL), LB_S("reason", reason));
  }
  return true;
}

/* A fatal error (a fenced static member, a broken idempotent producer):
 * nothing can be delivered safely any more; the loop stops. */
static void on_kafka_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
  lb_engine *e = opaque;
  char buf[512];
  if (connection_refused(e, rk, err, reason))
    return;
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    rd_kafka_fatal_error(rk, buf, sizeof(buf));
    lb_log(LB_LOG_ERROR, "fatal kafka error, stopping", LB_S("client", rd_kafka_name(rk)),
           LB_S("error", buf));
    e->fatal = 1;
    return;
  }
  lb_log(LB_LOG_WARN, "kafka error", LB_S("client", rd_kafka_name(rk)),
         LB_S("error", rd_kafka_err2str((rd_kafka_resp_err_t)err)), LB_S("reason", reason));
}

/* What the engine builds from the configuration besides its Kafka
 * clients: the versions it remembers, the batches of the connectors that
 * coalesce, the delivery client. */
static lb_err build_work(lb_engine *e, char *err, size_t errlen)
{
  size_t n = e->cfg->nintegrations;
  e->ninteg = n;
  e->known = lb_known_new(KNOWN_ITEMS);
  e->order = lb_order_new();
  e->batches = calloc(n ? n : 1, sizeof(lb_batch *));
  e->batch_in_flight = calloc(n ? n : 1, sizeof(obatch *));
  if (!e->known || !e->order || !e->batches || !e->batch_in_flight)
    goto nomem;
  /* the items a connector coalesces travel in its batches */
  for (size_t i = 0; i < n; i++) {
    const lb_integration *in = &e->cfg->integrations[i];
    const lb_connector_batching *policy = lb_connector_of(in->type)->batching;
    if (!policy)
      continue;
    lb_batch_limits lim;
    policy->limits(in, &lim);
    if (!(e->batches[i] = lb_batch_new(&lim)))
      goto nomem;
  }
  lb_client_options co = { .park_after_ms = e->opts.park_after_ms,
                           .observe = on_http_observed,
                           .observe_opaque = e };
  e->client = lb_client_new(e->cfg, &co);
  if (!e->client)
    goto nomem;
  return LB_E_OK;
nomem:
  snprintf(err, errlen, "out of memory");
  return LB_E_NOMEM;
}

/* Drops what build_work made and every message (their offsets were
 * committed or are handed back), keeping the partitions. */
static void drop_work(lb_engine *e)
{
  /* the client first: its callbacks point into messages */
  lb_client_destroy(e->client);
  e->client = NULL;
  for (size_t i = 0; e->batch_in_flight && i < e->ninteg; i++)
    obatch_free(e->batch_in_flight[i]);
  free(e->batch_in_flight);
  e->batch_in_flight = NULL;
  /* records still queued for the DLQ/retry topics report (as failed)
   * while the messages they point to are alive */
  if (e->prk) {
    rd_kafka_purge(e->prk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(e->prk, 0);
  }
  LB_LIST_EACH_SAFE (part, p, &e->parts, link) {
    bool revoked = p->revoked;
    p->revoked = false; /* freed below, not by its last message */
    while (!lb_list_empty(&p->msgs))
      msg_free(e, LB_LIST_FIRST(&p->msgs, msg, link));
    if (revoked) {
      part_unlink_free(e, p);
    } else {
      lb_offsets_release(&p->offs);
      lb_offsets_init(&p->offs);
      p->poisoned = false;
    }
  }
  lb_list_init(&e->due);
  e->msgs_in_flight = 0;
  lb_known_destroy(e->known);
  e->known = NULL;
  for (size_t i = 0; e->batches && i < e->ninteg; i++)
    lb_batch_destroy(e->batches[i]);
  free(e->batches);
  e->batches = NULL;
  lb_order_destroy(e->order);
  e->order = NULL;
}

/* The kafka settings as one string: equal strings, the same clients. New. */
static char *kafka_fingerprint(const lb_config *cfg)
{
  lb_strbuf b;
  lb_strbuf_init(&b, 0);
  lb_strbuf_appendf(&b, "%s\x1f%s\x1f%s\x1f%s\x1fs=%s\x1fi=%s", cfg->kafka.brokers,
                    cfg->kafka.group_id, cfg->kafka.retry_topic, cfg->kafka.dlq_topic,
                    cfg->kafka.state_topic ? cfg->kafka.state_topic : "",
                    cfg->kafka.group_instance_id ? cfg->kafka.group_instance_id : "");
  for (size_t i = 0; i < cfg->kafka.ntopics; i++)
    lb_strbuf_appendf(&b, "\x1ft=%s", cfg->kafka.topics[i]);
  for (size_t i = 0; i < cfg->kafka.nproperties; i++)
    lb_strbuf_appendf(&b, "\x1fp=%s=%s", cfg->kafka.properties[i].name,
                      cfg->kafka.properties[i].value);
  if (b.overflow) {
    lb_strbuf_release(&b);
    return NULL;
  }
  return lb_strbuf_detach(&b);
}

lb_engine *lb_engine_new(const lb_engine_options *opts, char *err, size_t errlen)
{
  lb_engine *e = calloc(1, sizeof(*e));
  rd_kafka_conf_t *conf = NULL, *pconf = NULL;
  if (!e) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  e->opts = *opts;
  e->cfg = opts->cfg;
  e->wake[0] = e->wake[1] = -1;
  if (!e->opts.park_after_ms)
    e->opts.park_after_ms = 30000;
  if (!e->opts.shutdown_timeout_ms)
    e->opts.shutdown_timeout_ms = 25000;
  if (!e->opts.revoke_timeout_ms)
    e->opts.revoke_timeout_ms = 5000;
  if (!e->opts.partition_max_in_flight)
    e->opts.partition_max_in_flight = 1000;
  if (!e->opts.max_in_flight_messages)
    e->opts.max_in_flight_messages = 10000;

  if (pipe(e->wake) < 0) {
    snprintf(err, errlen, "pipe: %s", strerror(errno));
    goto fail;
  }
  fcntl(e->wake[0], F_SETFL, O_NONBLOCK);
  fcntl(e->wake[1], F_SETFL, O_NONBLOCK);

  e->metrics = lb_metrics_new();
  if (!e->metrics)
    goto nomem;
  declare_metrics(e->metrics);
  update_assigned(e); /* 0 of each until the group assigns some */
  e->obs = lb_obs_new(e->cfg->observability.listen, e->metrics, err, errlen);
  if (!e->obs)
    goto fail;

  /* the consumer: offsets stored by us after each message resolves,
   * committed by librdkafka every second and on revoke/close. The range
   * assignor (an eager protocol: a rebalance revokes every partition, then
   * assigns anew) gives a member partition k of every topic it consumes,
   * as the topics are co-partitioned: source partition k and the retry
   * partition k its parked records go to stay with one member. */
  if (!(conf = lb_kafka_conf_new(e->cfg, LB_KAFKA_CONSUMER, err, errlen)) ||
      !lb_kafka_conf_set(conf, "group.id", e->cfg->kafka.group_id, err, errlen) ||
      !lb_kafka_conf_set(conf, "enable.auto.offset.store", "false", err, errlen) ||
      !lb_kafka_conf_set(conf, "partition.assignment.strategy", "range", err, errlen) ||
      !lb_kafka_conf_set(conf, "auto.offset.reset", "earliest", err, errlen) ||
      !lb_kafka_conf_set(conf, "statistics.interval.ms", "5000", err, errlen))
    goto fail;
  /* static membership (KIP-345): a restarted member takes its partitions
   * back without a rebalance */
  if (e->cfg->kafka.group_instance_id &&
      !lb_kafka_conf_set(conf, "group.instance.id", e->cfg->kafka.group_instance_id, err, errlen))
    goto fail;
  /* defaults the file may override: set only when not given. A fetch
   * waits at most 100 ms for data (librdkafka's 500 ms: brokers that hold
   * a fetch to its maximum, as the mock cluster does, add it to every
   * completion's latency) */
  static const char *const soft[][2] = { { "auto.commit.interval.ms", "1000" },
                                         { "fetch.wait.max.ms", "100" } };
  for (size_t k = 0; k < sizeof(soft) / sizeof(soft[0]); k++)
    if (!lb_config_property_given(e->cfg, soft[k][0]) &&
        !lb_kafka_conf_set(conf, soft[k][0], soft[k][1], err, errlen))
      goto fail;
  rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
  rd_kafka_conf_set_error_cb(conf, on_kafka_error);
  rd_kafka_conf_set_stats_cb(conf, on_stats);
  rd_kafka_conf_set_opaque(conf, e);
  e->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, errlen);
  if (!e->rk)
    goto fail;
  conf = NULL; /* now owned by rk */
  rd_kafka_poll_set_consumer(e->rk);

  /* the producer: idempotent, a record is done when the broker has it */
  if (!(pconf = lb_kafka_conf_new(e->cfg, LB_KAFKA_PRODUCER, err, errlen)))
    goto fail;
  /* its records are at most what a broker takes by default (Kafka's
   * message.max.bytes, see lb_kafka.h) unless the file says otherwise;
   * larger dead letters are cut to fit (see produce) */
  char mmb[32];
  size_t mmb_len = sizeof(mmb);
  if (rd_kafka_conf_get(pconf, "message.max.bytes", mmb, &mmb_len) != RD_KAFKA_CONF_OK) {
    snprintf(err, errlen, "cannot read the producer's message.max.bytes");
    goto fail;
  }
  long long limit = strtoll(mmb, NULL, 10);
  e->record_max = limit > 2 * BATCH_OVERHEAD ? (size_t)(limit - BATCH_OVERHEAD) : 1;
  rd_kafka_conf_set_dr_msg_cb(pconf, on_produced);
  rd_kafka_conf_set_error_cb(pconf, on_kafka_error);
  rd_kafka_conf_set_opaque(pconf, e);
  e->prk = rd_kafka_new(RD_KAFKA_PRODUCER, pconf, err, errlen);
  if (!e->prk)
    goto fail;
  pconf = NULL; /* now owned by prk */

  /* one loop: both queues wake the wait of the HTTP client */
  e->cq = rd_kafka_queue_get_consumer(e->rk);
  e->pq = rd_kafka_queue_get_main(e->prk);
  rd_kafka_queue_io_event_enable(e->cq, e->wake[1], "c", 1);
  rd_kafka_queue_io_event_enable(e->pq, e->wake[1], "p", 1);

  if (build_work(e, err, errlen) != LB_E_OK)
    goto fail;
  if (e->cfg->kafka.state_topic) {
    lb_state_restore_declare_metrics(e->metrics);
    if (!(e->state = lb_state_restore_new(e->cfg, e->metrics, e->wake[1], err, errlen)))
      goto fail;
  }
  update_share(e); /* none until the group assigns some */
  if (!(e->kafka_fp = kafka_fingerprint(e->cfg)) ||
      !(e->listen = strdup(e->cfg->observability.listen)))
    goto nomem;
  return e;
nomem:
  snprintf(err, errlen, "out of memory");
fail:
  if (conf)
    rd_kafka_conf_destroy(conf);
  if (pconf)
    rd_kafka_conf_destroy(pconf);
  lb_engine_destroy(e);
  return NULL;
}

lb_metrics *lb_engine_metrics(lb_engine *e)
{
  return e->metrics;
}

static bool subscribe(lb_engine *e)
{
  rd_kafka_topic_partition_list_t *topics =
      rd_kafka_topic_partition_list_new((int)e->cfg->kafka.ntopics + 1);
  for (size_t i = 0; i < e->cfg->kafka.ntopics; i++)
    rd_kafka_topic_partition_list_add(topics, e->cfg->kafka.topics[i], RD_KAFKA_PARTITION_UA);
  rd_kafka_topic_partition_list_add(topics, e->cfg->kafka.retry_topic, RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t err = rd_kafka_subscribe(e->rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (err) {
    lb_log(LB_LOG_ERROR, "cannot subscribe, stopping", LB_S("error", rd_kafka_err2str(err)));
    return false;
  }
  return true;
}

/* The brokers refuse the worker's Kafka account its group (no READ ACL on
 * it: it cannot join) or a fetch from a topic it consumes (no READ ACL on
 * the topic: nothing of it is consumed, though its partitions are
 * assigned). Said as one error naming the ACL, at most every
 * REFUSED_LOG_INTERVAL_MS for each of the two; librdkafka keeps trying and
 * the worker goes on once the ACL is granted. True when the consumer
 * error is one of them. */
static bool read_refused(lb_engine *e, const rd_kafka_message_t *rkm)
{
  bool group = rkm->err == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED;
  if (!group && rkm->err != RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED)
    return false;
  if (!group) {
    e->read_refused_mono = lb_time_mono_ms();
    update_ready(e);
  }
  if (!lb_log_due(group ? &e->group_log_next : &e->read_log_next, lb_time_mono_ms(),
                  REFUSED_LOG_INTERVAL_MS))
    return true;
  const char *topic = !group && rkm->rkt ? rd_kafka_topic_name(rkm->rkt) : NULL;
  char user[256], acl[512];
  lb_kafka_client_prop(e->rk, "sasl.username", user, sizeof(user));
  lb_kafka_missing_acl(acl, sizeof(acl), "READ", group ? "group" : "topic",
                       group   ? e->cfg->kafka.group_id
                       : topic ? topic
                               : "(not named by librdkafka)");
  lb_log(LB_LOG_ERROR,
         group ? "the brokers refuse the worker's Kafka account its consumer group: it lacks "
                 "the READ ACL on the group; nothing is consumed until it has it"
               : "the brokers refuse the worker's Kafka account a read of a topic it consumes: "
                 "it lacks the READ ACL on the topic; nothing of it is consumed until it has it",
         LB_S("topic", topic), LB_S("group", e->cfg->kafka.group_id), LB_S("missing_acl", acl),
         LB_S("user", user[0] ? user : NULL), LB_S("error", rd_kafka_err2name(rkm->err)),
         LB_S("detail", rd_kafka_message_errstr(rkm)));
  return true;
}

/* Takes what the consumer has, without waiting. */
static int poll_consumer(lb_engine *e)
{
  int n = 0;
  rd_kafka_message_t *rkm;
  while (n < POLL_BATCH && (rkm = rd_kafka_consumer_poll(e->rk, 0))) {
    if (rkm->err) {
      /* a fatal error comes here, not to the error callback (a static
       * member fenced by another with its group_instance_id): it stops */
      if (rkm->err == RD_KAFKA_RESP_ERR__FATAL && !e->fatal)
        on_kafka_error(e->rk, rkm->err, rd_kafka_message_errstr(rkm), e);
      else if (rkm->err != RD_KAFKA_RESP_ERR__PARTITION_EOF &&
               rkm->err != RD_KAFKA_RESP_ERR__FATAL && !read_refused(e, rkm))
        lb_log(LB_LOG_WARN, "kafka consumer error", LB_S("error", rd_kafka_message_errstr(rkm)));
      rd_kafka_message_destroy(rkm);
      continue;
    }
    n++;
    if (e->stopping || e->fatal) {
      rd_kafka_message_destroy(rkm); /* not started: redelivered later */
      continue;
    }
    consumed(e, rkm);
  }
  return n;
}

static size_t live_msgs(lb_engine *e)
{
  size_t n = 0;
  LB_LIST_EACH (part, p, &e->parts, link)
    n += lb_list_len(&p->msgs);
  return n;
}

/* The topics whose partitions are numbered alike (topics[0..n), the
 * first n of the start-up check's list: the source topics, then the retry
 * topic): a parked record goes to the partition numbered like its source,
 * and the range assignor gives a member partition k of each. Records the
 * source partitions' count (the rate-limit share's whole); false, said in
 * one error, when their counts differ. */
static bool copartitioned(lb_engine *e, const char *const *topics, const char *const *keys,
                          const int *partitions, size_t n)
{
  char why[1024];
  e->source_partitions = 0;
  for (size_t i = 0; i < e->cfg->kafka.ntopics; i++)
    e->source_partitions += (size_t)partitions[i];
  if (lb_kafka_copartitioned(topics, keys, partitions, n, why, sizeof(why)))
    return true;
  lb_log(LB_LOG_ERROR, "cannot start, exiting", LB_S("error", why), LB_S("config", e->cfg->path));
  return false;
}

/* Every topic the worker consumes or writes must exist: brokers in
 * production rarely create topics, and one made on the fly has none of the
 * partitions and retention its contract asks for. Waits for the brokers
 * (until *stop); false, said in one error, when topics are missing or
 * those numbered alike are not co-partitioned (copartitioned). */
static bool topics_exist(lb_engine *e, volatile sig_atomic_t *stop)
{
  const lb_config *cfg = e->cfg;
  /* the source topics, the retry topic, catalog-worker's state topic (all
   * numbered alike), then the DLQ */
  size_t n = cfg->kafka.ntopics + 2 + (cfg->kafka.state_topic ? 1 : 0);
  const char **topics = calloc(n, sizeof(*topics));
  const char **keys = calloc(n, sizeof(*keys));
  int *partitions = calloc(n, sizeof(*partitions));
  bool *missing = calloc(n, sizeof(*missing));
  bool ok = false;
  char err[256];
  int64_t next_warn = 0;
  lb_strbuf why;
  lb_strbuf_init(&why, 4096);
  if (!topics || !keys || !partitions || !missing) {
    lb_log(LB_LOG_ERROR, "cannot start, exiting", LB_S("error", "out of memory"));
    goto out;
  }
  for (size_t i = 0; i < cfg->kafka.ntopics; i++) {
    topics[i] = cfg->kafka.topics[i];
    keys[i] = "kafka.topics";
  }
  size_t k = cfg->kafka.ntopics;
  topics[k] = cfg->kafka.retry_topic;
  keys[k++] = "kafka.retry_topic";
  if (cfg->kafka.state_topic) {
    topics[k] = cfg->kafka.state_topic;
    keys[k++] = "kafka.state_topic";
  }
  topics[k] = cfg->kafka.dlq_topic;
  keys[k] = "kafka.dlq_topic";
  while (lb_kafka_topic_partitions(e->rk, topics, n, 5000, partitions, err, sizeof(err)) !=
         LB_E_OK) {
    if (*stop) {
      ok = true; /* stopped before it began: nothing to do */
      goto out;
    }
    /* their errors (refused credentials, a failed TLS handshake) are said
     * now, not once the wait is over */
    poll_consumer(e);
    rd_kafka_poll(e->prk, 0);
    if (lb_time_mono_ms() >= next_warn) {
      lb_log(LB_LOG_WARN, "cannot reach the brokers to check the topics, retrying",
             LB_S("brokers", cfg->kafka.brokers), LB_S("error", err));
      next_warn = lb_time_mono_ms() + 30000;
    }
    lb_obs_beat(e->obs);
  }
  size_t nmissing = 0;
  for (size_t i = 0; i < n; i++)
    nmissing += missing[i] = partitions[i] == 0;
  if (nmissing == 0) {
    /* the source topics, the retry and state topics (the DLQ is the last) */
    ok = copartitioned(e, topics, keys, partitions, n - 1);
    goto out;
  }
  bool many = nmissing > 1;
  lb_strbuf_append(&why, many ? "topics " : "topic ");
  for (size_t i = 0, k = 0; i < n; i++)
    if (missing[i])
      lb_strbuf_appendf(&why, "%s\"%s\" (%s)", k++ ? ", " : "", topics[i], keys[i]);
  lb_strbuf_appendf(&why,
                    " %s not exist on the brokers (or this client may not describe %s); "
                    "lmsbridge creates no topic: create %s with %s partitions and retention "
                    "(see deploy/README.md), or correct %s",
                    many ? "do" : "does", many ? "them" : "it", many ? "them" : "it",
                    many ? "their" : "its", cfg->path ? cfg->path : "the configuration file");
  lb_log(LB_LOG_ERROR, "cannot start, exiting",
         LB_S("error", why.buf ? why.buf : "topics missing"));
out:
  lb_strbuf_release(&why);
  free(topics);
  free(keys);
  free(partitions);
  free(missing);
  return ok;
}

/* Whether the consumer is a static member of its group (KIP-345:
 * group.instance.id): it keeps its membership, and its partitions, until
 * session.timeout.ms passes without it. */
static bool static_member(lb_engine *e)
{
  char id[256];
  return lb_kafka_client_prop(e->rk, "group.instance.id", id, sizeof(id))[0] != '\0';
}

/* Leaves the group by e->leave_by. A dynamic member unsubscribes first and
 * serves its revocation: librdkafka 2.0.2 can wait for good in
 * rd_kafka_consumer_close() when an assignment of a rebalance reaches a
 * closing consumer (fixed in 2.4.0, librdkafka issue #4527), as happens
 * when members of a group stop one after the other. A static member does
 * not unsubscribe (that would leave the group: the rebalance static
 * membership is there to avoid). Then the consumer closes, served here
 * until it has or the time is up: then the process goes on without it (the
 * group drops the member after session.timeout.ms) and it is never
 * destroyed (rd_kafka_destroy() would wait for the same close). */
static void leave_group(lb_engine *e)
{
  rd_kafka_topic_partition_list_t *held = NULL;
  if (!static_member(e)) {
    rd_kafka_resp_err_t err = rd_kafka_unsubscribe(e->rk);
    if (err)
      lb_log(LB_LOG_WARN, "kafka call failed", LB_S("call", "unsubscribe"),
             LB_S("error", rd_kafka_err2str(err)));
    while (lb_time_mono_ms() < e->leave_by) {
      poll_consumer(e); /* serves the revocation */
      bool none = rd_kafka_assignment(e->rk, &held) == RD_KAFKA_RESP_ERR_NO_ERROR && held->cnt == 0;
      if (held)
        rd_kafka_topic_partition_list_destroy(held);
      held = NULL;
      if (none)
        break;
      run_once(e, 50);
    }
  }
  rd_kafka_error_t *error = rd_kafka_consumer_close_queue(e->rk, e->cq);
  if (error && e->fatal) {
    rd_kafka_error_destroy(error); /* the fatal error, said already */
  } else if (error) {
    kafka_error(error, "close");
  } else {
    while (!rd_kafka_consumer_closed(e->rk) && lb_time_mono_ms() < e->leave_by) {
      poll_consumer(e);
      run_once(e, 50);
    }
    if (!rd_kafka_consumer_closed(e->rk)) {
      e->close_stuck = true;
      lb_log(LB_LOG_WARN,
             "the consumer did not leave the group in time, exiting without it: the group "
             "drops the member after session.timeout.ms");
    }
  }
  e->closed = true;
}

int lb_engine_run(lb_engine *e, volatile sig_atomic_t *stop)
{
  /* reconfigured for a reload: checked, subscribed and assigned already */
  if (!e->kept && !topics_exist(e, stop))
    return 1;
  if (!e->kept && *stop) {
    /* stopped while waiting for the brokers: it never consumed */
    lb_log(LB_LOG_INFO, "stopped before consuming");
    return 0;
  }
  if (!e->kept && !subscribe(e))
    return 1;
  e->kept = e->reloading = false;
  /* the prefetch as librdkafka took it (its defaults unless
   * kafka.properties sets it): what a backlog can cost in memory */
  char queued_min[32], queued_kbytes[32];
  lb_log(LB_LOG_INFO, "consuming", LB_S("worker", e->opts.worker),
         LB_S("group", e->cfg->kafka.group_id),
         LB_S("group_instance_id", e->cfg->kafka.group_instance_id),
         LB_I("metrics_port", lb_obs_port(e->obs)),
         LB_S("queued_min_messages",
              lb_kafka_client_prop(e->rk, "queued.min.messages", queued_min, sizeof(queued_min))),
         LB_S("queued_max_messages_kbytes",
              lb_kafka_client_prop(e->rk, "queued.max.messages.kbytes", queued_kbytes,
                                   sizeof(queued_kbytes))));
  int64_t next_gauges = 0;
  while (!*stop && !e->fatal) {
    if (e->opts.reload && *e->opts.reload) {
      *e->opts.reload = 0;
      if (e->opts.accept_reload && e->opts.accept_reload(e->opts.reload_opaque)) {
        e->reloading = true;
        break;
      }
    }
    lb_obs_beat(e->obs);
    int n = poll_consumer(e);
    n += state_poll(e);
    run_due(e);
    int64_t batch_due = run_batches(e);
    int wait = n > 0 ? 0 : IDLE_WAIT_MS;
    if (!lb_list_empty(&e->due)) {
      int64_t due = LB_LIST_FIRST(&e->due, msg, due)->not_before_ms - lb_time_now_ms();
      if (due < wait)
        wait = due < 0 ? 0 : (int)due;
    }
    if (batch_due >= 0 && batch_due < wait)
      wait = (int)batch_due;
    run_once(e, wait);
    int64_t now = lb_time_mono_ms();
    if (now >= next_gauges) {
      reproduce_due(e);
      update_gauges(e);
      update_ready(e);
      next_gauges = now + 1000;
    }
  }

  /* SIGTERM/SIGINT: stop fetching, finish or hand back in-flight work
   * within the deadline, commit what finished, leave the group. A reload
   * does the same but stays in the group: lb_engine_reconfigure() goes on
   * with the same clients, or lb_engine_destroy() leaves. */
  lb_log(
      LB_LOG_INFO,
      e->reloading ? "reloading: finishing in-flight work" : "stopping: finishing in-flight work",
      LB_I("messages", (long long)live_msgs(e)), LB_I("deadline_ms", e->opts.shutdown_timeout_ms));
  e->stopping = true;
  lb_obs_set_ready(e->obs, false);
  LB_LIST_EACH (part, p, &e->parts, link)
    set_paused(e, p, true);
  int64_t end = lb_time_mono_ms() + e->opts.shutdown_timeout_ms;
  e->stop_by = end;
  e->leave_by = 0;
  e->handed_back = 0;
  LB_LIST_EACH (part, p, &e->parts, link)
    p->draining = true;
  /* held retry records are not started any more: they go back as they
   * are; so does every delivery that is not on the wire. Only requests on
   * the wire get the deadline. (Not on a misrouted topic: there the
   * deliveries started before it get the deadline too, so the committed
   * offset stops right at the foreign record.) */
  LB_LIST_EACH (part, p, &e->parts, link)
    p->handing_back = true;
  release_held(e);
  size_t on_wire = e->finish_started ? 0 : hand_back_waiting(e, true);
  LB_LIST_EACH (part, p, &e->parts, link)
    p->handing_back = false;
  run_once(e, 0); /* the deliveries handed back report */
  lb_log(LB_LOG_INFO,
         e->reloading ? "reloading: handed back the deliveries not on the wire"
                      : "stopping: handed back the deliveries not on the wire",
         LB_I("handed_back", (long long)e->handed_back), LB_I("on_the_wire", (long long)on_wire),
         LB_I("messages", (long long)live_msgs(e)));
  while (live_msgs(e) > 0 && lb_time_mono_ms() < end) {
    lb_obs_beat(e->obs);
    poll_consumer(e); /* serves rebalances; new records are not started */
    run_batches(e);
    run_once(e, 50);
    reproduce_due(e);
  }
  size_t unfinished = live_msgs(e);
  LB_LIST_EACH (part, p, &e->parts, link)
    p->handing_back = true;
  hand_back(e, 0);
  int64_t left = end - lb_time_mono_ms();
  rd_kafka_flush(e->prk, left > 500 ? (int)left : 500);
  store_all(e);
  /* what is left (commit, leave): LEAVE_MS, or the rest of the deadline
   * up to LEAVE_MAX_MS */
  int64_t now = lb_time_mono_ms();
  int64_t leave_ms = end - now < LEAVE_MS       ? LEAVE_MS
                     : end - now > LEAVE_MAX_MS ? LEAVE_MAX_MS
                                                : end - now;
  e->leave_by = now + leave_ms;
  rd_kafka_resp_err_t cerr = commit_within(e, LEAVE_MS / 2);
  if (cerr && cerr != RD_KAFKA_RESP_ERR__NO_OFFSET)
    lb_log(LB_LOG_WARN, "final commit failed: uncommitted work is redelivered",
           LB_S("error", rd_kafka_err2str(cerr)));
  /* handed back: the deliveries not on the wire, and what the deadline cut */
  long long handed_back = (long long)(e->handed_back + live_msgs(e));
  if (e->reloading && !e->fatal && !*stop) {
    lb_log(LB_LOG_INFO, "drained for the reload", LB_I("handed_back", handed_back),
           LB_I("unfinished_at_deadline", (long long)unfinished));
    return 0;
  }
  e->reloading = false;
  /* leave_group keeps to leave_by, but a call librdkafka has us make while
   * it closes (the revocation's rd_kafka_assign) can block for good in
   * 2.0.2, out of reach of that loop: past leave_by and the clients'
   * destruction, the process ends anyway (the work is committed by now,
   * the group drops the member after session.timeout.ms) */
  if (lb_watchdog_start(e->leave_by + DESTROY_GRACE_MS, e->fatal ? 1 : 0,
                        "the consumer did not leave the group in time, exiting without it: the "
                        "group drops the member after session.timeout.ms",
                        &e->leave_watch) != LB_E_OK)
    lb_log(LB_LOG_WARN, "no watchdog for the leave (out of memory or threads)");
  leave_group(e);
  lb_log(LB_LOG_INFO, "stopped", LB_I("handed_back", handed_back),
         LB_I("unfinished_at_deadline", (long long)unfinished),
         LB_I("consumed",
              (long long)lb_metrics_get(e->metrics, "lmsbridge_events_consumed_total", NULL)));
  return e->fatal ? 1 : 0;
}

/* Every partition kept goes on from its committed offset (what was
 * fetched and not finished is fetched again), and fetches again. */
static lb_err rewind_parts(lb_engine *e, char *err, size_t errlen)
{
  lb_err rc = LB_E_IO;
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);
  rd_kafka_error_t *error = NULL;
  LB_LIST_EACH (part, p, &e->parts, link)
    rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset = RD_KAFKA_OFFSET_INVALID;
  if (l->cnt > 0) {
    rd_kafka_resp_err_t ce = rd_kafka_committed(e->rk, l, 10000);
    if (ce != RD_KAFKA_RESP_ERR_NO_ERROR) {
      snprintf(err, errlen, "cannot read the committed offsets: %s", rd_kafka_err2str(ce));
      goto out;
    }
    /* none committed yet: auto.offset.reset is earliest */
    for (int i = 0; i < l->cnt; i++)
      if (l->elems[i].err || l->elems[i].offset < 0)
        l->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
    if ((error = rd_kafka_seek_partitions(e->rk, l, 10000))) {
      snprintf(err, errlen, "cannot seek: %s", rd_kafka_error_string(error));
      goto out;
    }
    for (int i = 0; i < l->cnt; i++) {
      if (l->elems[i].err) {
        snprintf(err, errlen, "cannot seek \"%s\" [%d]: %s", l->elems[i].topic,
                 (int)l->elems[i].partition, rd_kafka_err2str(l->elems[i].err));
        goto out;
      }
    }
  }
  LB_LIST_EACH (part, p, &e->parts, link) {
    p->draining = p->handing_back = false;
    set_paused(e, p, false);
  }
  rc = LB_E_OK;
out:
  if (error)
    rd_kafka_error_destroy(error);
  rd_kafka_topic_partition_list_destroy(l);
  return rc;
}

bool lb_engine_can_keep(const lb_engine *e, const lb_config *next, char *err, size_t errlen)
{
  if (!e->reloading || e->closed || e->fatal) {
    snprintf(err, errlen, "the engine has left the group: new clients join it");
    return false;
  }
  char *fp = kafka_fingerprint(next);
  bool same = fp && strcmp(fp, e->kafka_fp) == 0;
  if (!same)
    snprintf(err, errlen,
             fp ? "the kafka settings changed: new clients join the group"
                : "out of memory: new clients join the group");
  free(fp);
  return same;
}

lb_err lb_engine_reconfigure(lb_engine *e, char *err, size_t errlen)
{
  lb_err rc = LB_E_IO;
  lb_obs *obs = NULL;
  lb_tokens_kept *kept = NULL;
  char *listen = strdup(e->cfg->observability.listen);
  if (!listen) {
    snprintf(err, errlen, "out of memory");
    rc = LB_E_NOMEM;
    goto fail;
  }
  /* a new address: its server first (the old one serves until then) */
  if (strcmp(listen, e->listen) != 0 && !(obs = lb_obs_new(listen, e->metrics, err, errlen)))
    goto fail;
  /* tokens of unchanged credentials go on: a reload of 1,000 customers
   * must not ask 1,000 token endpoints at once */
  kept = e->client ? lb_client_keep_tokens(e->client) : NULL;
  drop_work(e);
  if ((rc = build_work(e, err, errlen)) != LB_E_OK ||
      (rc = rewind_parts(e, err, errlen)) != LB_E_OK)
    goto fail;
  size_t carried = lb_client_adopt_tokens(e->client, kept);
  kept = NULL;
  lb_log(LB_LOG_INFO, "reload: tokens kept", LB_I("count", (long long)carried));
  state_reload(e);
  if (obs) {
    lb_obs_destroy(e->obs);
    e->obs = obs;
    free(e->listen);
    e->listen = listen;
    listen = NULL;
  }
  e->stopping = e->all_paused = false;
  e->kept = true;
  update_ready(e);
  update_assigned(e);
  update_share(e); /* a new client: the member's share again */
  free(listen);
  return LB_E_OK;
fail:
  /* what was built for the old configuration (integration indexes, the
   * client's tokens) must not meet the new one in lb_engine_destroy() */
  drop_work(e);
  lb_tokens_kept_destroy(kept);
  lb_obs_destroy(obs);
  free(listen);
  return rc;
}

void lb_engine_destroy(lb_engine *e)
{
  if (!e)
    return;
  /* after a reload that could not keep the clients: leave the group now
   * (its revocation is served by the work still built) */
  if (e->rk && !e->closed && e->cq) {
    e->leave_by = lb_time_mono_ms() + LEAVE_MS;
    leave_group(e);
  } else if (e->rk && !e->closed) {
    rd_kafka_consumer_close(e->rk); /* made, never subscribed */
  }
  drop_work(e);
  lb_state_restore_destroy(e->state);
  LB_LIST_EACH_SAFE (part, p, &e->parts, link)
    part_unlink_free(e, p);
  if (e->cq)
    rd_kafka_queue_destroy(e->cq);
  if (e->pq)
    rd_kafka_queue_destroy(e->pq);
  if (e->prk)
    rd_kafka_destroy(e->prk);
  if (e->rk && !e->close_stuck)
    rd_kafka_destroy(e->rk);
  lb_watchdog_destroy(e->leave_watch); /* the clients are gone: in time */
  lb_obs_destroy(e->obs);
  lb_metrics_destroy(e->metrics);
  if (e->wake[0] >= 0)
    close(e->wake[0]);
  if (e->wake[1] >= 0)
    close(e->wake[1]);
  free(e->kafka_fp);
  free(e->listen);
  free(e);
}
