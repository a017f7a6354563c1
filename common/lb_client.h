/* lb_client: delivers the requests of a plan item (lb_plan.h) to one
 * integration and reports one final result. It knows HTTP and OAuth, not
 * Kafka. Per integration: a token bucket (rate_limit_per_minute, corrected
 * by X-Rate-Limit-* headers and 429s), a concurrency limit (max_in_flight),
 * a token cache; globally: delivery.max_in_flight. Retries back off with
 * full jitter within delivery.max_attempts and retry_budget_s; a delivery
 * that would have to wait longer than `park_after_ms` is handed back as
 * PARK with its not-before time, so the caller can park it and a throttled
 * customer never holds the others back.
 *
 * Upsert chains (a plan with lookup and update steps): create (POST); on
 * 409 look the item up by external id and update it (PATCH); with a known
 * LMS id, update straight away and on a 404 look it up again; an archive
 * looks up and updates (nothing to do when the LMS never had the item).
 * Other plans: their requests one after the other. What is specific to an
 * LMS comes from the integration's connector (lb_connector.h): the id a
 * response names, the concrete request (an id bound into an update, a
 * body wrapped); the client names no LMS. Integrations with HTTP Basic
 * credentials (auth LB_AUTH_BASIC) send them with every request instead of
 * a token. Single-threaded: everything runs inside lb_client_run(). */
#ifndef LB_CLIENT_H
#define LB_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lb_config.h"
#include "lb_request.h"
#include "lb_tokens.h"

typedef struct lb_client lb_client;

typedef enum {
  LB_DELIVERY_SUCCESS,
  LB_DELIVERY_PERMANENT, /* the LMS refused it: DLQ class permanent_http */
  LB_DELIVERY_EXHAUSTED, /* retry budget spent: retries_exhausted */
  LB_DELIVERY_AUTH,      /* credentials refused: auth */
  LB_DELIVERY_PARK,      /* must wait past park_after_ms: see not_before */
  LB_DELIVERY_CANCELLED, /* lb_client_cancel() */
} lb_delivery_status;

typedef struct {
  lb_delivery_status status;
  int http_status;          /* of the last response, 0 if none */
  const char *http_body;    /* last response body (capped), or "" */
  const char *reason;       /* secret-free, for logs and DLQ headers */
  int attempts;             /* failed attempts, the final one included */
  int64_t first_failure_ms; /* wall clock; 0 when nothing failed */
  int64_t last_failure_ms;
  int64_t not_before_ms;  /* PARK: wall clock of the next try */
  const char *lms_id;     /* LMS id learned or used, else NULL */
  const char *request_id; /* X-Request-Id of the last request, or "" */
  bool repeat;            /* SUCCESS by a 409: the LMS had it already */
} lb_delivery_result;

typedef void (*lb_delivery_fn)(void *opaque, const lb_delivery_result *r);

/* Called for every HTTP response (metrics): integration index, status
 * (0 = no response), seconds. May be NULL. */
typedef void (*lb_http_observe_fn)(void *opaque, size_t integration, int status, double seconds);

typedef struct {
  int64_t park_after_ms; /* 0: never park, retry in place */
  uint64_t seed;         /* jitter; 0: from the clock */
  lb_http_observe_fn observe;
  void *observe_opaque;
} lb_client_options;

/* `cfg` is borrowed for the client's lifetime. NULL on failure. */
lb_client *lb_client_new(const lb_config *cfg, const lb_client_options *opts);
/* Drops everything in flight without callbacks. Accepts NULL. */
void lb_client_destroy(lb_client *c);

/* Starts delivering `reqs` (borrowed until `done` is called) to
 * integration `index`. known_id: an LMS id the caller remembers, or
 * NULL. attempts/first_failure_ms: carried over from an earlier life of the
 * delivery (a parked record), else 0. `done` is called exactly once, from
 * lb_client_run(). Returns a handle for lb_client_cancel(). */
lb_err lb_client_deliver(lb_client *c, size_t index, const lb_request_list *reqs,
                         const char *known_id, int attempts, int64_t first_failure_ms,
                         lb_delivery_fn done, void *opaque, uint64_t *ret_handle);

/* Ends a delivery that has not finished: its callback runs (CANCELLED) at
 * the next lb_client_run(). A request on the wire is left to finish. */
void lb_client_cancel(lb_client *c, uint64_t handle);

/* Hands a delivery back (a stop, a reload, a revoked partition). One that
 * is not on the wire (waiting for its rate-limit turn, a retry timer, a
 * token or a concurrency slot) ends at once: its callback runs (CANCELLED)
 * at the next lb_client_run(). One whose request is on the wire finishes
 * that request: a result that ends the delivery stands (success, a
 * refusal, parked, exhausted); one that would have it wait again (its next
 * step, a retry, a fresh token) ends it CANCELLED instead. True when its
 * request is on the wire. */
bool lb_client_hand_back(lb_client *c, uint64_t handle);

/* lb_client_hand_back() for every delivery not finished. Returns the
 * requests on the wire: what is left to wait for. */
size_t lb_client_hand_back_all(lb_client *c);

/* Runs for at most max_wait_ms: sends what may go, waits for responses,
 * timers or `extra_fd` (-1: none) becoming readable, calls callbacks. */
void lb_client_run(lb_client *c, int max_wait_ms, int extra_fd);

/* Deliveries not yet finished. */
size_t lb_client_pending(const lb_client *c);

/* This member's share of every integration's rate limit (the source
 * partitions it holds over all of them; see lb_ratelimit_set_share), from
 * now on. */
void lb_client_set_rate_share(lb_client *c, double share);

/* Token fetches so far for integration `index` (ok or failed). */
uint64_t lb_client_token_fetches(const lb_client *c, size_t index, bool ok);
/* A reload: the live tokens taken out of the old client, given to the new
 * one where the integration's credentials are the same (lb_tokens_keep,
 * lb_tokens_adopt; adopting destroys k). */
lb_tokens_kept *lb_client_keep_tokens(lb_client *c);
size_t lb_client_adopt_tokens(lb_client *c, lb_tokens_kept *k);

const char *lb_delivery_status_name(lb_delivery_status s);

#endif
