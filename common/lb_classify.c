#include "lb_classify.h"

#include <ctype.h>
#include <curl/curl.h>
#include <string.h>
#include <time.h>

#include "lb_strbuf.h"

const char *lb_outcome_name(lb_outcome o)
{
  static const char *const names[] = { "success", "conflict", "stale_id",
                                       "auth",    "retry",    "permanent" };
  return (unsigned)o <= LB_OUT_PERMANENT ? names[o] : "?";
}

/* Whether a body is markup (an HTML page: a proxy's, a login or
 * maintenance page) rather than the JSON, or nothing, every API we call
 * answers: its first byte after white space is '<'. */
static bool is_markup(const char *body, size_t len)
{
  size_t i = 0;
  while (body && i < len &&
         (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n'))
    i++;
  return body && i < len && body[i] == '<';
}

/* The `why` of a retry or a permanent refusal does not name the status:
 * lb_client appends "(HTTP <status>)" to it. */
lb_verdict lb_classify(lb_step step, int status, const char *body, size_t len)
{
  if (status == 0)
    return (lb_verdict){ LB_OUT_RETRY, 0,
                         "no usable response (network, TLS, timeout or malformed HTTP)" };
  /* a 2xx page in place of the API's answer says nothing was done:
   * retried (creates and completions are safe to send again) */
  if (status >= 200 && status < 300 && is_markup(body, len))
    return (lb_verdict){ LB_OUT_RETRY, 0,
                         "success status but an HTML page instead of the API's JSON" };
  if (status >= 200 && status < 300)
    return (lb_verdict){ LB_OUT_SUCCESS, 0, "success" };
  if (status == 401)
    return (lb_verdict){ LB_OUT_AUTH, 0, "401 unauthorized" };
  if (status == 409 && step == LB_STEP_CREATE)
    return (lb_verdict){ LB_OUT_CONFLICT, 0, "409 conflict: item exists" };
  /* A completion the LMS already holds is what we wanted. */
  if (status == 409 && step == LB_STEP_COMPLETION)
    return (lb_verdict){ LB_OUT_SUCCESS, 0, "already recorded" };
  if (status == 404 && step == LB_STEP_UPDATE)
    return (lb_verdict){ LB_OUT_STALE_ID, 0, "404 on update: id no longer valid" };
  if (status == 408)
    return (lb_verdict){ LB_OUT_RETRY, 0, "request timeout" };
  if (status == 429)
    return (lb_verdict){ LB_OUT_RETRY, 0, "rate limited" };
  if (status == 503)
    return (lb_verdict){ LB_OUT_RETRY, 0, "unavailable" };
  if (status >= 500)
    return (lb_verdict){ LB_OUT_RETRY, 0, "server error" };
  if (status >= 300 && status < 400)
    return (lb_verdict){ LB_OUT_PERMANENT, 0, "redirect (not followed)" };
  if (status == 403)
    return (lb_verdict){ LB_OUT_PERMANENT, 0, "forbidden (credentials or scopes)" };
  return (lb_verdict){ LB_OUT_PERMANENT, 0, "rejected by the LMS" };
}

int64_t lb_classify_retry_after_ms(const char *value, int64_t now_ms)
{
  if (!value)
    return -1;
  while (isspace((unsigned char)*value))
    value++;
  if (!*value)
    return -1;
  if (isdigit((unsigned char)*value)) {
    int64_t secs = 0;
    const char *p = value;
    for (; isdigit((unsigned char)*p); p++)
      if (secs <= LB_SERVER_PAUSE_MAX_MS / 1000)
        secs = secs * 10 + (*p - '0'); /* past the cap: only read on */
    while (isspace((unsigned char)*p))
      p++;
    if (*p)
      return -1;
    return secs * 1000 < LB_SERVER_PAUSE_MAX_MS ? secs * 1000 : LB_SERVER_PAUSE_MAX_MS;
  }
  time_t when = curl_getdate(value, NULL);
  if (when == -1)
    return -1;
  /* in seconds first: a year such as 1994639999 is no count of ms */
  if ((int64_t)when > now_ms / 1000 + LB_SERVER_PAUSE_MAX_MS / 1000)
    return LB_SERVER_PAUSE_MAX_MS;
  int64_t delay = (int64_t)when * 1000 - now_ms;
  return delay <= 0 ? 0 : delay < LB_SERVER_PAUSE_MAX_MS ? delay : LB_SERVER_PAUSE_MAX_MS;
}
