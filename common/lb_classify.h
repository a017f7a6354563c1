/* lb_classify: what to do with an LMS response by its HTTP status and the
 * step it answers (docs/delivery.md). One pure function, table-tested; a
 * connector adjusts it where its LMS means more (lb_connector_classify),
 * and the delivery client acts on the verdict. */
#ifndef LB_CLASSIFY_H
#define LB_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lb_request.h"

typedef enum {
  LB_OUT_SUCCESS,   /* done (a 2xx that is not an HTML page) */
  LB_OUT_CONFLICT,  /* 409 on a Degreed create: look the item up, update it */
  LB_OUT_STALE_ID,  /* 404 on an update by a remembered id: look it up again */
  LB_OUT_AUTH,      /* 401 (or what a connector reads as one): new token, retry once */
  LB_OUT_RETRY,     /* 408, 429, 5xx, transport error, a 2xx HTML page:
                     * back off, retry */
  LB_OUT_PERMANENT, /* any other 4xx (or a 3xx: redirects are not followed) */
} lb_outcome;

typedef struct {
  lb_outcome outcome;
  int64_t min_delay_ms; /* least wait before a retry (Degreed's 503: 30 s), else 0 */
  const char *why;      /* static, for logs and DLQ headers */
} lb_verdict;

/* `status` is the HTTP status, or 0 when the request failed before one
 * (connect, TLS, timeout, reset). `body` may be NULL. */
lb_verdict lb_classify(lb_step step, int status, const char *body, size_t len);

const char *lb_outcome_name(lb_outcome o);

/* The longest pause an LMS may impose (a Retry-After, a rate-limit window's
 * reset): a longer one, meant or not (Retry-After: 86399999, a date in year
 * 9999), is cut to it rather than stopping a customer for years; what must
 * wait that long is parked meanwhile. */
#define LB_SERVER_PAUSE_MAX_MS (10 * 60000)

/* Retry-After in seconds ("120") or HTTP-date form, as a delay in ms from
 * now_ms (0 when the date has passed), at most LB_SERVER_PAUSE_MAX_MS. -1
 * when absent or unreadable. */
int64_t lb_classify_retry_after_ms(const char *value, int64_t now_ms);

#endif
