/* Fuzz targets plan_catalog and plan_completion (LB_FUZZ_NAME says which):
 * a Kafka message value through the daemon's whole planner
 * (lb_worker_catalog.plan / lb_worker_completion.plan: the event parser,
 * routing, every connector's mapping) for tests/fuzz/plan.conf, nine
 * integrations of the three types, loaded as the daemon loads it (with its
 * index). Besides not crashing:
 * - a dead letter is the whole message's (no item), of class
 *   invalid_event, with a UTF-8 message that, written as the engine writes
 *   a dead letter's headers, reads back and lists as JSON;
 * - every item is an integration of the configuration, once, in file
 *   order, of a type that takes that kind of event; a skip says why and
 *   has no request, a send has requests;
 * - every request goes to its integration's endpoint, by a URL of printable
 *   ASCII, with headers of one line, a JSON body, and no secret anywhere;
 *   the connector makes the concrete request of it (an LMS id bound), and a
 *   batch of them joins into JSON;
 * - the same configuration without its index (every integration asked)
 *   plans the same. */
#include <librdkafka/rdkafka.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "lb_connector.h"
#include "lb_dlq.h"
#include "lb_json.h"
#include "lb_plan.h"
#include "lb_strbuf.h"

static const lb_worker *worker;
static const lb_config *cfg;
static lb_config unindexed; /* cfg without its index */

#define NOW_MS 1800000000000 /* 2027-01-15 */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  worker = strcmp(LB_FUZZ_NAME, "plan_catalog") == 0 ? &lb_worker_catalog : &lb_worker_completion;
  cfg = fz_plan_config(worker);
  unindexed = *cfg;
  unindexed.index = NULL;
  return 0;
}

static bool same(const char *a, const char *b)
{
  return a == b || (a && b && strcmp(a, b) == 0);
}

static void check_printable(const char *what, const char *s)
{
  for (const char *p = s; *p; p++)
    FZ_CHECK((unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f, "%s has byte 0x%02x at %zu: %s",
             what, (unsigned char)*p, (size_t)(p - s), s);
}

/* What the engine does with a dead-lettered message: its headers, then
 * what dlq-replay reads and lists of them. */
static void check_dead_letter(const lb_plan *plan, const char *value, size_t len)
{
  FZ_CHECK(plan->n == 0 && !plan->items && !plan->event_id, "a dead letter with items");
  FZ_CHECK(same(plan->dlq_class, lb_dlq_reasons[LB_DLQ_INVALID_EVENT]), "class %s",
           plan->dlq_class ? plan->dlq_class : "(null)");
  size_t mlen = strlen(plan->dlq_message);
  FZ_CHECK(mlen > 0 && mlen < LB_PLAN_DLQ_MESSAGE_MAX, "an empty dead-letter message");
  fz_check_utf8("the dead-letter message", plan->dlq_message, mlen);
  fz_check_no_secret("the dead-letter message", plan->dlq_message, mlen);

  rd_kafka_headers_t *h = rd_kafka_headers_new(16);
  lb_dlq_fields f = { .topic = cfg->kafka.topics[0],
                      .partition = 3,
                      .offset = 12345,
                      .reason = plan->dlq_class,
                      .message = plan->dlq_message,
                      .first_failure_ms = NOW_MS,
                      .last_failure_ms = NOW_MS,
                      .worker = worker->name };
  lb_dlq_headers_add(h, &f);
  lb_dlq_raw raw = { .topic = cfg->kafka.dlq_topic,
                     .partition = 0,
                     .offset = 7,
                     .timestamp_ms = NOW_MS,
                     .value = value,
                     .value_len = len,
                     .headers = h };
  lb_dlq_record rec;
  FZ_CHECK(lb_dlq_record_decode(&rec, &raw) == LB_E_OK, "decoding a dead letter");
  FZ_CHECK(same(rec.reason, plan->dlq_class) && same(rec.topic, f.topic) && rec.offset == 12345,
           "the dead letter reads back otherwise");
  json_object *line = lb_dlq_record_json(&rec);
  const char *text = lb_json_text(line);
  fz_check_json("the dead letter's list line", text, strlen(text));
  json_object_put(line);
  lb_dlq_record_release(&rec);
  rd_kafka_headers_destroy(h);

  /* the daemon asks whether the other daemon would take it (a misrouted
   * topic); that answer is the other planner's */
  const char *other = worker->foreign_event(value, len);
  FZ_CHECK(!other || strcmp(other, worker->name) != 0, "foreign to itself");
}

static void check_request(const lb_integration *in, const lb_request *r, size_t *nbatched,
                          const char **batched, size_t max_batched)
{
  const lb_connector *k = lb_connector_of(in->type);
  FZ_CHECK(r->url && strncmp(r->url, in->api_base_url, strlen(in->api_base_url)) == 0,
           "%s: a request to %s", in->id, r->url ? r->url : "(null)");
  check_printable("a request's URL", r->url);
  fz_check_no_secret("a request's URL", r->url, strlen(r->url));
  if (r->body) {
    fz_check_json("a request's body", r->body, strlen(r->body));
    fz_check_no_secret("a request's body", r->body, strlen(r->body));
  }
  if (r->key)
    fz_check_no_secret("a request's key", r->key, strlen(r->key));
  FZ_CHECK(r->nheaders <= LB_REQUEST_MAX_HEADERS, "%zu headers", r->nheaders);
  for (size_t i = 0; i < r->nheaders; i++) {
    FZ_CHECK(strchr(r->headers[i], ':') && !strpbrk(r->headers[i], "\r\n"), "header \"%s\"",
             r->headers[i]);
    fz_check_no_secret("a request's header", r->headers[i], strlen(r->headers[i]));
  }

  /* the concrete request, with an id the LMS would have named */
  char *url = NULL, *body = NULL;
  if (k->prepare) {
    lb_err e = k->prepare(r, "lms-id-42", &url, &body);
    FZ_CHECK(e == LB_E_OK, "%s: preparing a %s request: %s", in->id, lb_step_name(r->step),
             lb_strerror(e));
    if (url) {
      FZ_CHECK(!strstr(url, "{id}"), "the bound URL %s", url);
      check_printable("a bound URL", url);
    }
    if (body)
      fz_check_json("a prepared body", body, strlen(body));
  }
  free(url);
  free(body);
  if (k->batching && k->batching->step == r->step && r->body && *nbatched < max_batched)
    batched[(*nbatched)++] = r->body;
}

static void check_items(const lb_plan *plan)
{
  const lb_integration *prev = NULL;
  for (size_t i = 0; i < plan->n; i++) {
    const lb_plan_item *it = &plan->items[i];
    const lb_integration *in = it->integration;
    const lb_connector *k = lb_connector_of(in->type);
    FZ_CHECK(in >= cfg->integrations && in < cfg->integrations + cfg->nintegrations,
             "an item for no integration of the configuration");
    FZ_CHECK(!prev || in > prev, "%s: out of file order, or twice", in->id);
    prev = in;
    FZ_CHECK(worker == &lb_worker_catalog ? k->map_catalog != NULL : k->map_completion != NULL,
             "%s: a %s integration planned by %s", in->id, k->name, worker->name);
    FZ_CHECK(worker == &lb_worker_catalog || !in->provider_level,
             "a completion for the provider-level integration");
    if (it->skip) {
      FZ_CHECK(it->reason && it->reason[0] && it->requests.n == 0, "%s: a skip without why",
               in->id);
      continue;
    }
    FZ_CHECK(it->requests.n > 0, "%s: sent nothing", in->id);
    const char *batched[64];
    size_t nbatched = 0;
    for (size_t j = 0; j < it->requests.n; j++)
      check_request(in, &it->requests.items[j], &nbatched, batched, 64);
    if (nbatched) {
      char *joined = NULL;
      FZ_CHECK(k->batching->join(batched, nbatched, &joined) == LB_E_OK, "%s: a batch", in->id);
      fz_check_json("a batch's body", joined, strlen(joined));
      free(joined);
    }
  }
}

/* The planner without the index, asking every integration, plans alike. */
static void check_same_plan(const lb_plan *a, const lb_plan *b)
{
  FZ_CHECK(a->dead_letter == b->dead_letter && a->n == b->n && same(a->event_id, b->event_id) &&
               same(a->item_key, b->item_key) && a->version == b->version &&
               same(a->dlq_message, b->dlq_message),
           "with and without the index: %zu and %zu items", a->n, b->n);
  for (size_t i = 0; i < a->n; i++) {
    const lb_plan_item *x = &a->items[i], *y = &b->items[i];
    FZ_CHECK(x->integration == y->integration && x->skip == y->skip && x->quiet == y->quiet &&
                 same(x->reason, y->reason) && x->requests.n == y->requests.n,
             "item %zu (%s) differs without the index", i, x->integration->id);
    for (size_t j = 0; j < x->requests.n; j++) {
      const lb_request *r = &x->requests.items[j], *s = &y->requests.items[j];
      FZ_CHECK(r->step == s->step && r->method == s->method && same(r->url, s->url) &&
                   same(r->body, s->body) && same(r->key, s->key),
               "request %zu of %s differs without the index", j, x->integration->id);
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *value = (const char *)data;
  lb_plan plan, plain;
  fz_begin(data, size);
  lb_err e = worker->plan(cfg, value, size, NOW_MS, &plan);
  FZ_CHECK(e == LB_E_OK, "planning: %s", lb_strerror(e));
  if (plan.dead_letter) {
    check_dead_letter(&plan, value, size);
  } else {
    FZ_CHECK(plan.event_id && (worker != &lb_worker_catalog || plan.item_key),
             "a plan without its event's id");
    check_items(&plan);
  }
  e = worker->plan(&unindexed, value, size, NOW_MS, &plain);
  FZ_CHECK(e == LB_E_OK, "planning without the index: %s", lb_strerror(e));
  check_same_plan(&plan, &plain);
  lb_plan_release(&plain);
  lb_plan_release(&plan);
  return 0;
}
