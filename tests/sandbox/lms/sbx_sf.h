/* sbx_sf: SAP SuccessFactors Learning for one tenant: the OAuth token
 * server, OcnCourses (catalog upsert) and OCNLearningEvents (completions).
 * Called by the dispatcher with the world lock held. */
#ifndef SBX_SF_H
#define SBX_SF_H

#include "sbx_request.h"
#include "sbx_world.h"

/* POST /t/<tenant>/learning/oauth-api/rest/v1/token */
void sbx_sf_token(struct sbx_world *w, struct sbx_tenant *t, struct sbx_request *req,
                  struct sbx_response *resp);
/* /t/<tenant>/learning/... */
void sbx_sf_api(struct sbx_world *w, struct sbx_tenant *t, struct sbx_request *req,
                struct sbx_response *resp);
/* Body of an injected fault response in the OData dialect. */
void sbx_sf_fault(struct sbx_response *resp, int status, const char *fault);
/* Copy of a JSON value with secret-looking keys replaced by "<redacted>":
 * new JSON text. */
char *sbx_sf_redacted_json(json_object *o);

#endif
