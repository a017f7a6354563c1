/* lb_connector: everything one LMS type needs, behind one table of
 * functions, one table per type (as librdkafka keeps its SASL mechanisms).
 * The connectors themselves live in common/connectors/; the configuration,
 * the planner, the token cache, the delivery client, the consumer engine and
 * the command line reach them only through lb_connector_of().
 *
 * What a connector decides, and who applies it:
 * - its settings (keys, defaults, validation, --check-config lines):
 *   lb_config, through the reader functions of lb_config.h;
 * - how its OAuth2 token is asked for: lb_tokens;
 * - the requests a catalog or completion event becomes, or why none:
 *   lb_plan (pure; --map shows the same);
 * - ids learned from responses and bound into later requests, and the
 *   concrete request sent for a planned one: lb_client;
 * - which requests wait in a coalescing batch, its limits and the body of
 *   a batch POST: lb_engine, as data, without knowing why.
 * Every function is pure (no I/O) and may be called from any thread. */
#ifndef LB_CONNECTOR_H
#define LB_CONNECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lb_batch.h"
#include "lb_classify.h"
#include "lb_config.h"
#include "lb_event.h"
#include "lb_request.h"

/* A coalescing policy: requests of `step` (a plan item of that one
 * request) wait in their integration's batch and travel together. */
typedef struct {
  lb_step step;
  const char *note; /* --map: what happens to such a request */
  /* The batch's limits for an integration. */
  void (*limits)(const lb_integration *in, lb_batch_limits *ret);
  /* The body of one POST carrying the bodies of n (>= 1) such requests,
   * in order. New string in *ret. */
  lb_err (*join)(const char *const *bodies, size_t n, char **ret);
} lb_connector_batching;

/* Mapping of one event for one integration: appends the requests to *out,
 * or appends none and sets *skip_reason (static text) when the event is not
 * sent to it. Errors: LB_E_NOMEM (then *out may hold part of the requests;
 * the caller releases it). */
typedef lb_err (*lb_connector_map_catalog_fn)(const lb_catalog_event *ev, const lb_integration *in,
                                              const lb_provider *pv, int64_t now_ms,
                                              lb_request_list *out, const char **skip_reason);
typedef lb_err (*lb_connector_map_completion_fn)(const lb_completion_event *ev,
                                                 const lb_integration *in, const lb_provider *pv,
                                                 int64_t now_ms, lb_request_list *out,
                                                 const char **skip_reason);

typedef struct {
  const char *name; /* the configuration word of integrations[].type */
  lb_integ_type type;

  /* -- configuration -- */
  /* Settings of an integration that only this type takes (NULL-ended);
   * another type's integration naming one is refused. */
  const char *const *keys;
  /* Reads this type's settings of integration group `g` (its own keys, the
   * defaults of the shared ones: api_base_url, token_url, rate limit,
   * user identifier, auth), reporting problems through `r`. The shared
   * settings given in the file are read after it and win. */
  void (*load)(lb_config_reader *r, const lb_config_group *g, const char *prefix,
               lb_integration *in, const lb_config_defaults *d);
  /* The setting that names api_base_url in messages ("base_url"). */
  const char *endpoint_key;
  /* Checks the provider group when an integration of this type is
   * configured (g may be NULL: the group is missing). May be NULL. */
  void (*check_provider)(lb_config_reader *r, const lb_config_group *g, const lb_provider *pv);
  /* Prints this type's --check-config lines (no secret). May be NULL. */
  void (*print)(const lb_integration *in, FILE *out);
  /* Frees what load put in in->conn_data. May be NULL. */
  void (*release)(lb_integration *in);

  /* -- authentication -- */
  /* The OAuth2 token request: body (new string), its content type
   * (static), and whether the client credentials go as HTTP Basic. NULL
   * for a type whose integrations never use a token. */
  lb_err (*token_request)(const lb_integration *in, char **ret_body, const char **ret_content_type,
                          bool *ret_basic);

  /* -- mapping (NULL: events of that kind never go to this type) -- */
  lb_connector_map_catalog_fn map_catalog;
  lb_connector_map_completion_fn map_completion;

  /* -- responses -- */
  /* What this LMS means by an answer where it differs from HTTP's
   * (lb_classify): adjusts the generic verdict v of a response of `step`
   * (body may be NULL). May be NULL. */
  void (*classify)(lb_step step, int status, const char *body, size_t len, lb_verdict *v);
  /* The LMS id a successful response of `step` names (new string), or
   * NULL. May be NULL. */
  char *(*response_id)(lb_step step, const char *body, size_t len);
  /* The concrete request for a planned one: *ret_url and *ret_body are
   * set to new strings where they differ from req's (an LMS id bound into
   * an update), else left NULL. lms_id: the id known or learned so far, or
   * NULL. LB_E_INVALID when the request cannot be made (no id to bind).
   * May be NULL: requests go as planned. */
  lb_err (*prepare)(const lb_request *req, const char *lms_id, char **ret_url, char **ret_body);

  /* -- batching -- */
  const lb_connector_batching *batching; /* NULL: each request on its own */
} lb_connector;

/* The connector of a type; never NULL for a valid lb_integ_type. */
const lb_connector *lb_connector_of(lb_integ_type type);
/* The connector named `name` (a configuration word), or NULL. */
const lb_connector *lb_connector_find(const char *name);
/* Every connector, in lb_integ_type order, n of them in *ret_n. */
const lb_connector *const *lb_connector_all(size_t *ret_n);
/* "degreed, successfactors or ..." for messages; static. Not thread-safe
 * on its first call (made while the configuration loads). */
const char *lb_connector_names(void);

/* The verdict on a response of `step` from an integration of connector k:
 * lb_classify's, adjusted by k's classify. */
lb_verdict lb_connector_classify(const lb_connector *k, lb_step step, int status, const char *body,
                                 size_t len);

/* For load functions: reads the OAuth2 client of an integration
 * (client_id, a literal or a reference; client_secret, a reference, both
 * required) and sets auth to LB_AUTH_OAUTH2. */
void lb_connector_take_oauth_client(lb_config_reader *r, const lb_config_group *g,
                                    const char *prefix, lb_integration *in);

#endif
