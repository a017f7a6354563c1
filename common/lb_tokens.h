/* lb_tokens: OAuth2 client-credentials tokens, one cache slot per
 * integration. Degreed: form body with client_id, client_secret and
 * comma-separated scopes. SuccessFactors: HTTP Basic and a JSON scope
 * {userId, companyId, userType "admin", resourceType}.
 *
 * At most one fetch per integration is in flight; a token is refreshed in
 * the background once 80% of its lifetime has passed and the old one stays
 * in use until the new one arrives (or expires); failed fetches back off
 * (1 s doubling to 60 s). Tokens are registered with lb_log's redaction and
 * never logged. Runs on the caller's lb_http loop; not thread-safe. */
#ifndef LB_TOKENS_H
#define LB_TOKENS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lb_config.h"
#include "lb_http.h"

typedef struct lb_tokens lb_tokens;

/* How a token fetch ended. REFUSED: the token endpoint answered 401 or 403,
 * the credentials or scopes are wrong (an operator must act); FAILED: any
 * other failure (network, 5xx, a malformed answer), worth retrying. */
typedef enum { LB_TOKEN_OK, LB_TOKEN_FAILED, LB_TOKEN_REFUSED } lb_token_outcome;

/* Called when a fetch for integration `index` ends; unless the outcome is
 * LB_TOKEN_OK, `error` says why, secret-free. The caller retries what
 * waited. */
typedef void (*lb_token_ready_fn)(void *opaque, size_t index, lb_token_outcome outcome,
                                  const char *error);

/* `ins` (n of them) is borrowed for the cache's lifetime. */
lb_tokens *lb_tokens_new(lb_http *http, const lb_integration *ins, size_t n, long timeout_ms,
                         lb_token_ready_fn ready, void *opaque);
/* Accepts NULL. Destroy the lb_http first: it aborts fetches in flight
 * without calling back into a freed cache. */
void lb_tokens_destroy(lb_tokens *t);

/* The usable token of integration `index` at now_ms (lb_time_mono_ms();
 * borrowed until the next call into lb_tokens) and its generation, or NULL: then a fetch is started
 * (unless one is in flight or a failed one is backing off) and `ready` will
 * be called. Starts a background refresh past 80% of the lifetime. */
const char *lb_tokens_get(lb_tokens *t, size_t index, int64_t now_ms, unsigned *ret_generation);

/* A request made with token `generation` got a 401 or an expired-token
 * answer: drop that token (if still current) so the next get fetches. */
void lb_tokens_invalidate(lb_tokens *t, size_t index, unsigned generation);

/* When a fetch that failed may be tried again (0: no back-off now). */
int64_t lb_tokens_retry_at(const lb_tokens *t, size_t index);

/* Counters for lmsbridge_oauth_token_fetches_total{outcome}. */
uint64_t lb_tokens_fetches(const lb_tokens *t, size_t index, bool ok);

/* ---- carried over a reload ---- */

/* Live tokens taken out of a cache, each with what it was issued for. */
typedef struct lb_tokens_kept lb_tokens_kept;

/* Takes t's live tokens out of it (t then holds none), at now_ms
 * (lb_time_mono_ms()). NULL when there is none or no memory: nothing is
 * carried, the new cache fetches. */
lb_tokens_kept *lb_tokens_keep(lb_tokens *t, int64_t now_ms);
/* Gives t each kept token whose integration has the same id, token URL,
 * client and token request (scopes, company, user) as the one it was
 * issued for: a reload that changes none of them sends no token request;
 * one that rotates a secret fetches anew. Destroys k (accepts NULL).
 * Returns how many tokens t took. */
size_t lb_tokens_adopt(lb_tokens *t, lb_tokens_kept *k, int64_t now_ms);
/* Frees what was kept and not adopted (accepts NULL). */
void lb_tokens_kept_destroy(lb_tokens_kept *k);

/* Pure helpers, exposed for tests. */

/* Parses a token response: a non-empty string access_token and a positive
 * expires_in (seconds). New string in *ret_token. */
lb_err lb_tokens_parse(const char *body, size_t len, char **ret_token, int64_t *ret_expires_in_s,
                       char *err, size_t errlen);

/* The token request body for an integration: form (Degreed) or JSON (SF).
 * New string in *ret_body; *ret_content_type is static. */
lb_err lb_tokens_request_body(const lb_integration *in, char **ret_body,
                              const char **ret_content_type);

#endif
