#include "lb_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_backoff.h"
#include "lb_classify.h"
#include "lb_connector.h"
#include "lb_http.h"
#include "lb_list.h"
#include "lb_log.h"
#include "lb_ratelimit.h"
#include "lb_strbuf.h"
#include "lb_time.h"
#include "lb_tokens.h"

#define KEPT_BODY 4096               /* response bytes kept for the result */
#define IDLE_WAIT_MS 1000            /* poll slice when nothing is due */
#define NO_RETRY_AFTER_PAUSE_MS 1000 /* a lane's pause after a bare 429 */
#define NO_HEAP ((size_t)-1)
#define REASON_MAX 256 /* a failure's reason, as the DLQ header says it */

typedef struct job job;

/* Where a job is: exactly one place at a time (AT_NONE: in hand). */
typedef enum { AT_NONE, AT_READY, AT_TOKEN, AT_TIMER, AT_WIRE, AT_DONE } place;

struct job {
  lb_list_node link; /* in its lane's ready or token list, or done, or wire */
  lb_client *c;
  size_t integ;
  const lb_request_list *reqs;
  lb_delivery_fn done;
  void *opaque;
  uint64_t handle;
  place at;
  size_t heap_pos;

  int create_i, lookup_i, update_i; /* step indexes in reqs, -1 if none */
  bool chain;                       /* an upsert: create/lookup/update */
  int cur;                          /* index of the request to send next */
  char *lms_id;
  bool recreated; /* created again after a 404 and an empty lookup */
  bool stale_retried, auth_retried;
  unsigned token_gen;

  int attempts;
  int64_t first_failure_ms, last_failure_ms; /* wall clock */
  int64_t due_ms;                            /* monotonic, AT_TIMER */
  bool token_refused;                        /* last failure: credentials */
  bool repeat;                               /* the LMS had it already (409) */
  bool cancelled;
  bool handing_back; /* on the wire when handed back: ends with this request */
  lb_delivery_status final;
  int64_t not_before_ms;
  int last_status;
  char *last_body;
  char last_request_id[48];
  /* why it failed last (owned; NULL: it has not): on the heap, as the
   * jobs waiting for a slot are thousands with a backlog */
  char *reason;
};

typedef struct {
  lb_list ready; /* ready to send, FIFO */
  lb_list token; /* waiting for a token, FIFO */
  lb_ratelimit bucket;
  int in_flight;
  int max_in_flight;
  int64_t wake_ms; /* bucket empty until then */
} lane;

struct lb_client {
  const lb_config *cfg;
  lb_client_options opts;
  lb_http *http;
  lb_tokens *tokens;
  lane *lanes;
  size_t nlanes;
  size_t rr; /* round-robin start */
  job **heap;
  size_t heap_n, heap_cap;
  lb_list done; /* finished, callbacks not yet run; the latest first */
  lb_list wire; /* a request on the wire */
  int in_flight;
  size_t pending;
  uint64_t next_handle;
  uint64_t rng;
  lb_backoff_policy policy;
};

const char *lb_delivery_status_name(lb_delivery_status s)
{
  static const char *const names[] = { "success", "permanent", "exhausted",
                                       "auth",    "park",      "cancelled" };
  return (unsigned)s <= LB_DELIVERY_CANCELLED ? names[s] : "?";
}

/* ---- timer heap (min by due_ms) ---- */

static void heap_swap(lb_client *c, size_t a, size_t b)
{
  job *t = c->heap[a];
  c->heap[a] = c->heap[b];
  c->heap[b] = t;
  c->heap[a]->heap_pos = a;
  c->heap[b]->heap_pos = b;
}

static void heap_up(lb_client *c, size_t i)
{
  while (i > 0 && c->heap[(i - 1) / 2]->due_ms > c->heap[i]->due_ms) {
    heap_swap(c, i, (i - 1) / 2);
    i = (i - 1) / 2;
  }
}

static void heap_down(lb_client *c, size_t i)
{
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < c->heap_n && c->heap[l]->due_ms < c->heap[m]->due_ms)
      m = l;
    if (r < c->heap_n && c->heap[r]->due_ms < c->heap[m]->due_ms)
      m = r;
    if (m == i)
      return;
    heap_swap(c, i, m);
    i = m;
  }
}

static bool heap_push(lb_client *c, job *j)
{
  if (c->heap_n == c->heap_cap) {
    size_t cap = c->heap_cap ? c->heap_cap * 2 : 64;
    job **grown = realloc(c->heap, cap * sizeof(*grown));
    if (!grown)
      return false;
    c->heap = grown;
    c->heap_cap = cap;
  }
  j->heap_pos = c->heap_n;
  c->heap[c->heap_n++] = j;
  heap_up(c, j->heap_pos);
  return true;
}

static void heap_remove(lb_client *c, job *j)
{
  size_t i = j->heap_pos;
  if (i == NO_HEAP)
    return;
  c->heap_n--;
  if (i != c->heap_n) {
    c->heap[i] = c->heap[c->heap_n];
    c->heap[i]->heap_pos = i;
    heap_down(c, i);
    heap_up(c, i);
  }
  j->heap_pos = NO_HEAP;
}

/* ---- lists ---- */

static void ready_push(lane *l, job *j)
{
  j->at = AT_READY;
  lb_list_push_back(&l->ready, &j->link);
}

/* Appends to a lane's token queue: jobs keep their order (the oldest
 * offsets first, so the watermark moves as they finish). */
static void token_push(lane *l, job *j)
{
  j->at = AT_TOKEN;
  lb_list_push_back(&l->token, &j->link);
}

/* The first job of a list, NULL when it is empty. */
static job *first(const lb_list *l)
{
  return LB_LIST_FIRST(l, job, link);
}

/* Takes a job out of wherever it waits (not the wire). */
static void detach(lb_client *c, job *j)
{
  lane *l = &c->lanes[j->integ];
  switch (j->at) {
  case AT_READY:
    lb_list_remove(&l->ready, &j->link);
    break;
  case AT_TOKEN:
    lb_list_remove(&l->token, &j->link);
    break;
  case AT_TIMER:
    heap_remove(c, j);
    break;
  case AT_DONE:
    lb_list_remove(&c->done, &j->link);
    break;
  case AT_WIRE:
    lb_list_remove(&c->wire, &j->link);
    break;
  case AT_NONE:
    break;
  }
  j->at = AT_NONE;
}

/* ---- results ---- */

static void set_reason(job *j, const char *fmt, const char *detail)
{
  char buf[REASON_MAX];
  snprintf(buf, sizeof(buf), fmt, detail ? detail : "");
  free(j->reason);
  j->reason = strdup(buf); /* NULL (out of memory): the status names it */
}

/* Marks the job finished; its callback runs from run_done(). */
static void finish(job *j, lb_delivery_status st)
{
  lb_client *c = j->c;
  detach(c, j);
  j->final = st;
  j->at = AT_DONE;
  lb_list_push_front(&c->done, &j->link);
}

static void job_free(job *j)
{
  free(j->lms_id);
  free(j->last_body);
  free(j->reason);
  free(j);
}

static void run_done(lb_client *c)
{
  for (job *j; (j = first(&c->done));) {
    detach(c, j);
    lb_delivery_result r = {
      .status = j->final,
      .http_status = j->last_status,
      .http_body = j->last_body ? j->last_body : "",
      .reason = j->reason ? j->reason : lb_delivery_status_name(j->final),
      .attempts = j->attempts,
      .first_failure_ms = j->first_failure_ms,
      .last_failure_ms = j->last_failure_ms,
      .not_before_ms = j->not_before_ms,
      .lms_id = j->lms_id,
      .request_id = j->last_request_id,
      .repeat = j->final == LB_DELIVERY_SUCCESS && j->repeat,
    };
    c->pending--;
    j->done(j->opaque, &r);
    job_free(j);
  }
}

/* Counts a failed attempt and its time. */
static void note_failure(job *j, const char *why)
{
  int64_t wall = lb_time_now_ms();
  j->attempts++;
  if (!j->first_failure_ms)
    j->first_failure_ms = wall;
  j->last_failure_ms = wall;
  set_reason(j, "%s", why);
}

/* A failed attempt: back off and retry, park, or give up. */
static void failed(job *j, const char *why, int64_t floor_ms)
{
  lb_client *c = j->c;
  int64_t wall = lb_time_now_ms();
  note_failure(j, why);
  int64_t delay = lb_backoff_delay(&c->policy, j->attempts, floor_ms, lb_backoff_random(&c->rng));
  if (!lb_backoff_may_retry(&c->policy, j->attempts, j->first_failure_ms, wall, delay)) {
    finish(j, j->token_refused ? LB_DELIVERY_AUTH : LB_DELIVERY_EXHAUSTED);
    return;
  }
  if (c->opts.park_after_ms > 0 && delay > c->opts.park_after_ms) {
    j->not_before_ms = wall + delay;
    finish(j, LB_DELIVERY_PARK);
    return;
  }
  j->due_ms = lb_time_mono_ms() + delay;
  j->at = AT_TIMER;
  if (!heap_push(c, j))
    finish(j, LB_DELIVERY_EXHAUSTED);
}

/* ---- responses ---- */

/* The LMS id a successful response names, as the connector reads it. */
static char *response_id(const job *j, lb_step step, const lb_http_response *r)
{
  const lb_connector *k = lb_connector_of(j->c->cfg->integrations[j->integ].type);
  return k->response_id ? k->response_id(step, r->body, r->body_len) : NULL;
}

static void keep_body(job *j, const lb_http_response *r)
{
  free(j->last_body);
  size_t n = r->body_len < KEPT_BODY ? r->body_len : KEPT_BODY;
  j->last_body = malloc(n + 1);
  if (j->last_body) {
    memcpy(j->last_body, r->body, n);
    j->last_body[n] = '\0';
  }
  j->last_status = r->status;
  lb_strbuf_concat(j->last_request_id, sizeof(j->last_request_id), r->request_id, (char *)NULL);
}

static void observe_rate_headers(lane *l, const lb_http_response *r)
{
  int64_t now = lb_time_mono_ms();
  if (r->rate_remaining) {
    char *end;
    long remaining = strtol(r->rate_remaining, &end, 10);
    int64_t reset_wall = 0, reset_mono = 0;
    if (r->rate_reset && lb_time_parse_rfc3339(r->rate_reset, &reset_wall) == LB_E_OK)
      reset_mono = now + (reset_wall - lb_time_now_ms());
    if (end != r->rate_remaining)
      lb_ratelimit_observe(&l->bucket, now, remaining, reset_mono);
  }
  if (r->status == 429) {
    /* without Retry-After (or with 0, or a date already past) the whole
     * lane still pauses */
    int64_t after = lb_classify_retry_after_ms(r->retry_after, lb_time_now_ms());
    lb_ratelimit_block_until(&l->bucket, now, now + (after > 0 ? after : NO_RETRY_AFTER_PAUSE_MS));
  }
}

static void step_done(job *j)
{
  j->auth_retried = false;
  if (j->chain) {
    finish(j, LB_DELIVERY_SUCCESS);
    return;
  }
  j->cur++;
  if ((size_t)j->cur >= j->reqs->n)
    finish(j, LB_DELIVERY_SUCCESS);
  else
    ready_push(&j->c->lanes[j->integ], j);
}

static void take_response(void *opaque, const lb_http_response *r)
{
  job *j = opaque;
  lb_client *c = j->c;
  lane *l = &c->lanes[j->integ];
  const lb_request *req = &j->reqs->items[j->cur];

  detach(c, j);
  l->in_flight--;
  c->in_flight--;
  if (c->opts.observe)
    c->opts.observe(c->opts.observe_opaque, j->integ, r->status, r->seconds);
  observe_rate_headers(l, r);
  keep_body(j, r);
  if (j->cancelled) {
    finish(j, LB_DELIVERY_CANCELLED);
    return;
  }
  if (r->body_truncated)
    lb_log(LB_LOG_DEBUG, "lms response body truncated",
           LB_S("integration", c->cfg->integrations[j->integ].id),
           LB_S("request_id", r->request_id), LB_I("kept_bytes", r->body_len));
  lb_verdict v = lb_connector_classify(lb_connector_of(c->cfg->integrations[j->integ].type),
                                       req->step, r->status, r->body, r->body_len);
  lb_log(LB_LOG_DEBUG, "lms response", LB_S("integration", c->cfg->integrations[j->integ].id),
         LB_S("step", lb_step_name(req->step)), LB_S("request_id", r->request_id),
         LB_I("status", r->status), LB_S("outcome", lb_outcome_name(v.outcome)));
  j->token_refused = false;

  switch (v.outcome) {
  case LB_OUT_SUCCESS:
    if (r->status == 409)
      j->repeat = true; /* a 409 that means "delivered before" */
    if (req->step == LB_STEP_CREATE) {
      free(j->lms_id);
      j->lms_id = response_id(j, req->step, r);
      step_done(j);
    } else if (req->step == LB_STEP_LOOKUP) {
      char *id = response_id(j, req->step, r);
      if (id) {
        free(j->lms_id);
        j->lms_id = id;
        j->cur = j->update_i;
        ready_push(l, j);
      } else if (j->create_i >= 0 && j->stale_retried && !j->recreated) {
        /* the id we remembered is gone (404) and so is the item: the
         * customer deleted it in the LMS; create it again */
        j->recreated = true;
        j->cur = j->create_i;
        ready_push(l, j);
      } else if (j->create_i >= 0) {
        /* 409 said it exists, the lookup cannot see it yet (an LMS may
         * show new items to GET only after some minutes). */
        failed(j, "409 on create but the lookup finds no item yet", 0);
      } else {
        set_reason(j, "%s", "not in the LMS: nothing to update");
        finish(j, LB_DELIVERY_SUCCESS);
      }
    } else {
      step_done(j);
    }
    return;
  case LB_OUT_CONFLICT:
    j->cur = j->lookup_i;
    if (j->cur < 0) {
      set_reason(j, "%s", v.why);
      finish(j, LB_DELIVERY_PERMANENT);
    } else {
      ready_push(l, j);
    }
    return;
  case LB_OUT_STALE_ID:
    if (j->stale_retried || j->lookup_i < 0) {
      set_reason(j, "%s", v.why);
      finish(j, LB_DELIVERY_PERMANENT);
      return;
    }
    j->stale_retried = true;
    free(j->lms_id);
    j->lms_id = NULL;
    j->cur = j->lookup_i;
    ready_push(l, j);
    return;
  case LB_OUT_AUTH:
    lb_tokens_invalidate(c->tokens, j->integ, j->token_gen);
    if (j->auth_retried) {
      note_failure(j, v.why);
      set_reason(j, "%s after a fresh token", v.why);
      finish(j, LB_DELIVERY_AUTH);
      return;
    }
    j->auth_retried = true;
    ready_push(l, j);
    return;
  case LB_OUT_RETRY: {
    int64_t floor = v.min_delay_ms;
    int64_t after = lb_classify_retry_after_ms(r->retry_after, lb_time_now_ms());
    if (after > floor)
      floor = after;
    char why[200];
    if (r->status)
      snprintf(why, sizeof(why), "%s (HTTP %d)", v.why, r->status);
    else
      snprintf(why, sizeof(why), "%s: %s", v.why, r->error ? r->error : "");
    failed(j, why, floor);
    return;
  }
  case LB_OUT_PERMANENT: {
    char why[REASON_MAX];
    /* where a redirect pointed: the operator's clue (a moved API, an SSO
     * login page), never followed */
    if (r->status >= 300 && r->status < 400 && r->location)
      snprintf(why, sizeof(why), "%s (HTTP %d) to %s", v.why, r->status, r->location);
    else
      snprintf(why, sizeof(why), "%s (HTTP %d)", v.why, r->status);
    note_failure(j, why);
    finish(j, LB_DELIVERY_PERMANENT);
    return;
  }
  }
}

/* A response: a delivery handed back while its request was on the wire
 * keeps a result that ends it, and ends CANCELLED instead of waiting again
 * (its next step, a retry, a fresh token). */
static void on_response(void *opaque, const lb_http_response *r)
{
  job *j = opaque;
  take_response(opaque, r);
  if (j->handing_back && (j->at == AT_READY || j->at == AT_TOKEN || j->at == AT_TIMER))
    finish(j, LB_DELIVERY_CANCELLED);
}

/* ---- sending ---- */

/* Sends the job's current request; `token` is the bearer token, NULL for
 * an integration with HTTP Basic credentials. */
static void send_job(lb_client *c, job *j, const char *token)
{
  const lb_integration *in = &c->cfg->integrations[j->integ];
  const lb_connector *k = lb_connector_of(in->type);
  const lb_request *req = &j->reqs->items[j->cur];
  char auth_buf[2048];
  char *auth = auth_buf, *url = NULL, *body = NULL;

  lb_err rc = k->prepare ? k->prepare(req, j->lms_id, &url, &body) : LB_E_OK;
  if (rc == LB_E_NOMEM) {
    failed(j, "out of memory building the request", 0);
    return;
  }
  if (rc != LB_E_OK) {
    set_reason(j, "%s", "cannot build the request (no LMS id to update)");
    finish(j, LB_DELIVERY_PERMANENT);
    return;
  }
  const char *use_url = url ? url : req->url, *use_body = body ? body : req->body;
  /* tokens have no size limit (SAP's JWTs run to kilobytes): never cut */
  size_t auth_len = token ? strlen(token) + sizeof("Authorization: Bearer ") : 0;
  if (auth_len > sizeof(auth_buf) && !(auth = malloc(auth_len))) {
    free(url);
    free(body);
    failed(j, "out of memory building the request", 0);
    return;
  }
  const char *headers[3 + LB_REQUEST_MAX_HEADERS];
  size_t nh = 0;
  if (token) {
    lb_strbuf_concat(auth, auth_len, "Authorization: Bearer ", token, (char *)NULL);
    headers[nh++] = auth;
  }
  headers[nh++] = "Accept: application/json";
  if (use_body)
    headers[nh++] = "Content-Type: application/json";
  for (size_t h = 0; h < req->nheaders; h++)
    headers[nh++] = req->headers[h];
  lb_http_request hr = {
    .method = lb_method_name(req->method),
    .url = use_url,
    .headers = headers,
    .nheaders = nh,
    .body = use_body,
    .body_len = use_body ? strlen(use_body) : 0,
    .basic_user = token ? NULL : in->username,
    .basic_password = token ? NULL : in->password,
    .timeout_ms = c->cfg->delivery.request_timeout_ms,
  };
  if (lb_http_start(c->http, &hr, on_response, j, NULL) != LB_E_OK) {
    failed(j, "cannot start the HTTP request", 0);
  } else {
    j->at = AT_WIRE;
    lb_list_push_front(&c->wire, &j->link);
    c->lanes[j->integ].in_flight++;
    c->in_flight++;
  }
  if (auth != auth_buf)
    free(auth);
  free(url);
  free(body);
}

/* A parked delivery waiting for the rate limit comes back at its estimated
 * turn, but at most this far ahead: held retry records must not pin the
 * retry topic's partitions (other customers' records wait behind them). */
#define RATE_PARK_MAX_MS (5 * 60 * 1000)

/* The lane's rate limit holds its queue: the deliveries that would wait
 * past park_after_ms (their place in the queue at the bucket's rate) are
 * parked now, so a throttled customer's backlog holds neither memory nor
 * the offsets of the others. `wait`: ms until the head may go. */
static void park_queued(lb_client *c, lane *l, int64_t wait)
{
  if (c->opts.park_after_ms <= 0)
    return;
  int64_t wall = lb_time_now_ms();
  size_t k = 0;
  LB_LIST_EACH_SAFE (job, j, &l->ready, link) {
    int64_t est = wait + (l->bucket.per_ms > 0 ? (int64_t)((double)k / l->bucket.per_ms) : 0);
    k++;
    if (est <= c->opts.park_after_ms)
      continue;
    j->not_before_ms = wall + (est < RATE_PARK_MAX_MS ? est : RATE_PARK_MAX_MS);
    set_reason(j, "%s", "rate limited: its turn is past the parking threshold");
    finish(j, LB_DELIVERY_PARK);
  }
}

/* Sends what may go now, lane by lane in turn. */
static void pump(lb_client *c)
{
  int64_t now = lb_time_mono_ms();
  while (c->heap_n && c->heap[0]->due_ms <= now) {
    job *j = c->heap[0];
    detach(c, j);
    ready_push(&c->lanes[j->integ], j);
  }
  for (size_t k = 0; k < c->nlanes; k++) {
    size_t i = (c->rr + k) % c->nlanes;
    lane *l = &c->lanes[i];
    while (!lb_list_empty(&l->ready) && c->in_flight < c->cfg->delivery.max_in_flight &&
           l->in_flight < l->max_in_flight) {
      job *j = first(&l->ready);
      unsigned gen = 0;
      bool basic = c->cfg->integrations[i].auth == LB_AUTH_BASIC;
      const char *token = basic ? NULL : lb_tokens_get(c->tokens, i, now, &gen);
      if (!token && !basic) {
        /* everyone behind waits for the same token */
        for (job *w; (w = first(&l->ready));) {
          detach(c, w);
          token_push(l, w);
        }
        break;
      }
      int64_t wait = lb_ratelimit_take(&l->bucket, now);
      if (wait > 0) {
        l->wake_ms = now + wait;
        park_queued(c, l, wait);
        break;
      }
      detach(c, j);
      j->token_gen = gen;
      send_job(c, j, token);
    }
  }
  c->rr = c->nlanes ? (c->rr + 1) % c->nlanes : 0;
}

static void on_token_ready(void *opaque, size_t index, lb_token_outcome outcome, const char *error)
{
  lb_client *c = opaque;
  lane *l = &c->lanes[index];
  int64_t retry_at = lb_tokens_retry_at(c->tokens, index);
  int64_t floor = retry_at > 0 ? retry_at - lb_time_mono_ms() : 0;
  for (job *j; (j = first(&l->token));) {
    detach(c, j);
    if (j->cancelled) {
      finish(j, LB_DELIVERY_CANCELLED);
    } else if (outcome == LB_TOKEN_OK) {
      ready_push(l, j);
    } else {
      j->token_refused = outcome == LB_TOKEN_REFUSED;
      failed(j, error ? error : "token request failed", floor);
    }
  }
}

/* ---- public ---- */

/* An integration's concurrency limit. With several integrations none
 * takes more than 3/4 of the global limit: requests that hang on a slow
 * customer cannot hold every slot while another customer waits. */
static int lane_cap(const lb_config *cfg, size_t i)
{
  int cap = cfg->integrations[i].max_in_flight;
  int share = cfg->delivery.max_in_flight * 3 / 4;
  if (cfg->nintegrations > 1 && cap > share)
    cap = share > 0 ? share : 1;
  return cap;
}

lb_client *lb_client_new(const lb_config *cfg, const lb_client_options *opts)
{
  lb_client *c = calloc(1, sizeof(*c));
  if (!c)
    return NULL;
  c->cfg = cfg;
  if (opts)
    c->opts = *opts;
  c->rng = c->opts.seed ? c->opts.seed : (uint64_t)lb_time_now_ms() * 2654435761u;
  c->policy = (lb_backoff_policy){
    .initial_ms = cfg->delivery.backoff_initial_ms,
    .max_ms = cfg->delivery.backoff_max_ms,
    .max_attempts = cfg->delivery.max_attempts,
    .budget_ms = (int64_t)cfg->delivery.retry_budget_s * 1000,
  };
  lb_http_options ho = { .ca_bundle = cfg->delivery.ca_bundle,
                         .max_connections = cfg->delivery.max_in_flight };
  c->http = lb_http_new(&ho);
  c->nlanes = cfg->nintegrations;
  c->lanes = calloc(c->nlanes ? c->nlanes : 1, sizeof(lane));
  if (c->http && c->lanes)
    c->tokens = lb_tokens_new(c->http, cfg->integrations, cfg->nintegrations,
                              cfg->delivery.request_timeout_ms, on_token_ready, c);
  if (!c->http || !c->lanes || !c->tokens) {
    lb_client_destroy(c);
    return NULL;
  }
  int64_t now = lb_time_mono_ms();
  for (size_t i = 0; i < c->nlanes; i++) {
    lb_ratelimit_init(&c->lanes[i].bucket, cfg->integrations[i].rate_limit_per_minute, now);
    c->lanes[i].max_in_flight = lane_cap(cfg, i);
  }
  return c;
}

static void free_list(lb_list *l)
{
  LB_LIST_EACH_SAFE (job, j, l, link)
    job_free(j);
}

void lb_client_destroy(lb_client *c)
{
  if (!c)
    return;
  /* No callbacks: the http client drops its transfers, we drop the jobs. */
  lb_http_destroy(c->http);
  lb_tokens_destroy(c->tokens);
  for (size_t i = 0; c->lanes && i < c->nlanes; i++) {
    free_list(&c->lanes[i].ready);
    free_list(&c->lanes[i].token);
  }
  for (size_t i = 0; i < c->heap_n; i++)
    job_free(c->heap[i]);
  free_list(&c->done);
  free_list(&c->wire);
  free(c->heap);
  free(c->lanes);
  free(c);
}

lb_err lb_client_deliver(lb_client *c, size_t index, const lb_request_list *reqs,
                         const char *known_id, int attempts, int64_t first_failure_ms,
                         lb_delivery_fn done, void *opaque, uint64_t *ret_handle)
{
  if (index >= c->nlanes || !reqs || reqs->n == 0)
    return LB_E_INVALID;
  job *j = calloc(1, sizeof(*j));
  if (!j)
    return LB_E_NOMEM;
  j->c = c;
  j->integ = index;
  j->reqs = reqs;
  j->done = done;
  j->opaque = opaque;
  j->handle = ++c->next_handle;
  j->heap_pos = NO_HEAP;
  j->attempts = attempts;
  j->first_failure_ms = first_failure_ms;
  j->create_i = j->lookup_i = j->update_i = -1;
  for (size_t i = 0; i < reqs->n; i++) {
    switch (reqs->items[i].step) {
    case LB_STEP_CREATE:
      j->create_i = (int)i;
      break;
    case LB_STEP_LOOKUP:
      j->lookup_i = (int)i;
      break;
    case LB_STEP_UPDATE:
      j->update_i = (int)i;
      break;
    default:
      break;
    }
  }
  j->chain = j->update_i >= 0 && j->lookup_i >= 0;
  if (j->chain) {
    if (known_id && !(j->lms_id = strdup(known_id))) {
      free(j);
      return LB_E_NOMEM;
    }
    j->cur = known_id ? j->update_i : j->create_i >= 0 ? j->create_i : j->lookup_i;
  }
  c->pending++;
  ready_push(&c->lanes[index], j);
  if (ret_handle)
    *ret_handle = j->handle;
  return LB_E_OK;
}

static job *find_in(const lb_list *l, uint64_t handle)
{
  LB_LIST_EACH (job, j, l, link)
    if (j->handle == handle)
      return j;
  return NULL;
}

/* The unfinished delivery `handle`: waiting (ready, token, timer) or on
 * the wire; NULL when it has finished or never was. */
static job *find_job(lb_client *c, uint64_t handle)
{
  job *j = NULL;
  for (size_t i = 0; !j && i < c->nlanes; i++) {
    j = find_in(&c->lanes[i].ready, handle);
    if (!j)
      j = find_in(&c->lanes[i].token, handle);
  }
  for (size_t i = 0; !j && i < c->heap_n; i++)
    if (c->heap[i]->handle == handle)
      j = c->heap[i];
  return j ? j : find_in(&c->wire, handle);
}

void lb_client_cancel(lb_client *c, uint64_t handle)
{
  job *j = find_job(c, handle);
  if (j && j->at != AT_WIRE)
    finish(j, LB_DELIVERY_CANCELLED);
  else if (j)
    j->cancelled = true; /* on the wire: it ends when its response arrives */
}

bool lb_client_hand_back(lb_client *c, uint64_t handle)
{
  job *j = find_job(c, handle);
  if (j && j->at != AT_WIRE)
    finish(j, LB_DELIVERY_CANCELLED);
  else if (j)
    j->handing_back = true;
  return j && j->at == AT_WIRE;
}

size_t lb_client_hand_back_all(lb_client *c)
{
  size_t on_wire = 0;
  for (size_t i = 0; i < c->nlanes; i++) {
    for (job *j; (j = first(&c->lanes[i].ready));)
      finish(j, LB_DELIVERY_CANCELLED);
    for (job *j; (j = first(&c->lanes[i].token));)
      finish(j, LB_DELIVERY_CANCELLED);
  }
  while (c->heap_n)
    finish(c->heap[c->heap_n - 1], LB_DELIVERY_CANCELLED);
  LB_LIST_EACH (job, j, &c->wire, link) {
    j->handing_back = true;
    on_wire++;
  }
  return on_wire;
}

/* Milliseconds until something is due (a timer, a rate-limited lane, a
 * token back-off), capped at `cap`. */
static int next_wait(lb_client *c, int cap)
{
  int64_t now = lb_time_mono_ms();
  int64_t wait = cap;
  if (!lb_list_empty(&c->done))
    return 0;
  if (c->heap_n && c->heap[0]->due_ms - now < wait)
    wait = c->heap[0]->due_ms - now;
  for (size_t i = 0; i < c->nlanes; i++) {
    lane *l = &c->lanes[i];
    /* a lane waiting for its bucket; one at its concurrency limit is
     * woken by a response instead */
    if (!lb_list_empty(&l->ready) && l->wake_ms > now && l->in_flight < l->max_in_flight &&
        c->in_flight < c->cfg->delivery.max_in_flight && l->wake_ms - now < wait)
      wait = l->wake_ms - now;
    if (!lb_list_empty(&l->token)) {
      int64_t r = lb_tokens_retry_at(c->tokens, i);
      if (r > 0 && r - now < wait)
        wait = r - now;
    }
  }
  return wait < 0 ? 0 : (int)wait;
}

void lb_client_run(lb_client *c, int max_wait_ms, int extra_fd)
{
  /* callbacks may deliver more: pump again after them */
  pump(c);
  run_done(c);
  pump(c);
  int wait = next_wait(c, max_wait_ms >= 0 ? max_wait_ms : IDLE_WAIT_MS);
  lb_http_run(c->http, wait, extra_fd);
  /* Token fetches that backed off are retried by whoever still waits. */
  int64_t now = lb_time_mono_ms();
  for (size_t i = 0; i < c->nlanes; i++) {
    lane *l = &c->lanes[i];
    if (!lb_list_empty(&l->token) && lb_tokens_retry_at(c->tokens, i) <= now) {
      for (job *w; (w = first(&l->token));) {
        detach(c, w);
        ready_push(l, w);
      }
    }
  }
  pump(c);
  run_done(c);
  pump(c);
}

size_t lb_client_pending(const lb_client *c)
{
  return c->pending;
}

lb_tokens_kept *lb_client_keep_tokens(lb_client *c)
{
  return lb_tokens_keep(c->tokens, lb_time_mono_ms());
}

size_t lb_client_adopt_tokens(lb_client *c, lb_tokens_kept *k)
{
  return lb_tokens_adopt(c->tokens, k, lb_time_mono_ms());
}

uint64_t lb_client_token_fetches(const lb_client *c, size_t index, bool ok)
{
  return lb_tokens_fetches(c->tokens, index, ok);
}

void lb_client_set_rate_share(lb_client *c, double share)
{
  int64_t now = lb_time_mono_ms();
  for (size_t i = 0; i < c->nlanes; i++)
    lb_ratelimit_set_share(&c->lanes[i].bucket, share, now);
}
