/* sbx_degreed: the Degreed API v2 of one tenant: OAuth token, content
 * courses/assessments, completions, skill ratings, per-client rate limit.
 * Called by the dispatcher with the world lock held. */
#ifndef SBX_DEGREED_H
#define SBX_DEGREED_H

#include "sbx_request.h"
#include "sbx_world.h"

/* POST /t/<tenant>/oauth/token */
void sbx_degreed_token(struct sbx_world *w, struct sbx_tenant *t, struct sbx_request *req,
                       struct sbx_response *resp);
/* /t/<tenant>/api/... */
void sbx_degreed_api(struct sbx_world *w, struct sbx_tenant *t, struct sbx_request *req,
                     struct sbx_response *resp);
/* Body of an injected fault response in Degreed's dialect. */
void sbx_degreed_fault(struct sbx_response *resp, int status, const char *fault);

#endif
