/* sbx_xapi: an xAPI Learning Record Store per tenant, as xAPI 1.0.3 (Part
 * Three, the Statement Resource) describes it, also answering 2.0.0 clients:
 * statements under /t/<tenant>/xapi/statements (PUT, POST, GET),
 * /t/<tenant>/xapi/about, OAuth2 client-credentials tokens for the tenant's
 * xAPI clients (asked at the tenant's /oauth/token, shared with Degreed) and
 * the statement store that /_sandbox/state shows.
 *
 * Handlers are called by the dispatcher with the world lock held. A store
 * belongs to its tenant's state (sbx_tenant.c creates and drops it). */
#ifndef SBX_XAPI_H
#define SBX_XAPI_H

#include <stdbool.h>
#include <stdint.h>

#include "sbx_request.h"
#include "sbx_world.h"

struct sbx_xapi_store;

/* New, empty store; sbx_xapi_store_destroy frees it (NULL is fine). */
struct sbx_xapi_store *sbx_xapi_store_new(void);
void sbx_xapi_store_destroy(struct sbx_xapi_store *s);
/* Appends {"statements":[...],"put_requests",...} for /_sandbox/state. */
void sbx_xapi_state_to_json(const struct sbx_xapi_store *s, struct sbx_buf *b);
uint64_t sbx_xapi_tokens_issued(const struct sbx_xapi_store *s);

/* True for the OAuth scopes of xAPI 1.0.3 (and Learning Locker's
 * xapi/all and xapi/read): the names a client's "scopes" may hold. */
bool sbx_xapi_scope_known(const char *scope);

/* True when a request to the tenant's /oauth/token names one of its xAPI
 * clients (HTTP Basic or the form's client_id): the dispatcher then hands it
 * to sbx_xapi_token instead of Degreed's token server. */
bool sbx_xapi_token_claims(const struct sbx_tenant *t, const struct sbx_request *req);
void sbx_xapi_token(struct sbx_world *w, struct sbx_tenant *t, struct sbx_request *req,
                    struct sbx_response *resp);
/* /t/<tenant>/xapi/... */
void sbx_xapi_api(struct sbx_world *w, struct sbx_tenant *t, struct sbx_request *req,
                  struct sbx_response *resp);
/* The LRS's error answer {"error":<status>,"message":...}, with the
 * X-Experience-API-Version header every xAPI response carries; used for
 * injected faults and the dispatcher's own errors too. */
void sbx_xapi_error(const struct sbx_request *req, struct sbx_response *resp, int status,
                    const char *message);

#endif
