/* lb_map_degreed: docs/mapping.md for Degreed API v2 as pure
 * functions: an event, an integration and the provider settings give the
 * requests to send (lb_request.h). No I/O. */
#ifndef LB_MAP_DEGREED_H
#define LB_MAP_DEGREED_H

#include <stdint.h>

#include "lb_config.h"
#include "lb_event.h"
#include "lb_request.h"

/* The mapping functions have the connector's mapping signature
 * (lb_connector.h): now_ms, pv and skip_reason are there for the types
 * that need them. */

/* Degreed catalog: an upsert is [create (POST), lookup (GET by external
 * id), update (PATCH {id})]: the delivery client POSTs and, on 409, looks
 * the item up and PATCHes it (or PATCHes straight away when it already
 * knows the Degreed id). An archive is [lookup, update] whose PATCH sets
 * obsolete true and nothing else. Appends to *out. */
lb_err lb_map_degreed_content(const lb_catalog_event *ev, const lb_integration *in,
                              const lb_provider *pv, int64_t now_ms, lb_request_list *out,
                              const char **skip_reason);

/* The concrete URL and body of an update step for a Degreed id (the "{id}"
 * of the template). New strings in *ret_url, *ret_body. */
lb_err lb_map_degreed_bind_id(const lb_request *update, const char *degreed_id, char **ret_url,
                              char **ret_body);

/* Degreed completion (+ one skill rating per skill score when the
 * integration has skill_ratings). When the learner has no email, appends
 * nothing and sets *skip_reason (static text). */
lb_err lb_map_degreed_completion(const lb_completion_event *ev, const lb_integration *in,
                                 const lb_provider *pv, int64_t now_ms, lb_request_list *out,
                                 const char **skip_reason);

#endif
