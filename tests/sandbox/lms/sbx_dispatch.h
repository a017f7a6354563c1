/* sbx_dispatch: routes a complete request to the control API or to a
 * tenant's Degreed / SuccessFactors / xAPI handlers, applies the tenant's
 * faults, and writes the redacted request log entry. No libmicrohttpd here. */
#ifndef SBX_DISPATCH_H
#define SBX_DISPATCH_H

#include "sbx_request.h"
#include "sbx_world.h"

/* Sets req->api, req->tenant and req->sub_path from req->path. */
void sbx_route(struct sbx_request *req);
/* Latency fault for a routed request (0 = none). Takes the world lock. */
uint32_t sbx_dispatch_latency(struct sbx_world *w, struct sbx_request *req);
/* Answers a routed, complete request. resp->status 0 means: close the
 * connection without answering. Takes the world lock as needed. */
void sbx_dispatch(struct sbx_world *w, struct sbx_request *req, struct sbx_response *resp);
/* Appends the request to the request log (not control calls). */
void sbx_dispatch_log(struct sbx_world *w, struct sbx_request *req, const struct sbx_response *resp,
                      uint64_t done_mono_ms);

#endif
