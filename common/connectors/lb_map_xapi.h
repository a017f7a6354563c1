/* lb_map_xapi: completions as xAPI statements for a Learning Record Store
 * (LRS), as pure functions: a completion event and an integration's xAPI
 * options give one PUT of one statement, or the reason it is not sent. No
 * I/O; the time is passed in. The statement id is a name-based UUID made
 * by util-linux's libuuid (uuid_generate_sha1), not by a hash of ours.
 *
 * Not decided here:
 * - authentication: HTTP Basic (username, password) or an OAuth2
 *   client-credentials token is the integration's configuration (`auth`),
 *   applied by the delivery client as for every LMS; the request below
 *   carries no Authorization header and no secret;
 * - the LRS's answer: 204 is stored, 409 is a statement the LRS already
 *   holds under that id (a delivery made before: success, a repeat).
 *
 * The request is a plain value (method, URL, "Name: value" headers, body)
 * in the shape lb_http_request takes, so that it can move behind the
 * connector interface unchanged. */
#ifndef LB_MAP_XAPI_H
#define LB_MAP_XAPI_H

#include <stddef.h>
#include <stdint.h>

#include "lb_error.h"
#include "lb_event.h"

/* The namespace of statement ids: RFC 9562's URL namespace. */
#define LB_MAP_XAPI_NAMESPACE "6ba7b811-9dad-11d1-80b4-00c04fd430c8"
/* A statement id as text: 36 characters, lower-case hex, and the NUL. */
#define LB_MAP_XAPI_ID_SIZE 37
#define LB_MAP_XAPI_NHEADERS 2

/* Each list is X(enum suffix, configuration word). */

/* The X-Experience-API-Version the requests carry (the statement is the
 * same for both). */
#define LB_MAP_XAPI_VERSION_MAP(X)                                                                 \
  X(V1_0_3, "1.0.3")                                                                               \
  X(V2_0_0, "2.0.0")

/* How the learner is named: an Agent with an mbox ("mailto:<email>", the
 * default) or with an account {homePage, name}. */
#define LB_MAP_XAPI_ACTOR_MAP(X)                                                                   \
  X(ACTOR_MBOX, "mbox")                                                                            \
  X(ACTOR_ACCOUNT, "account")

/* Which user field of the event is an account's name ("id": the
 * provider's own user id, which every event has). */
#define LB_MAP_XAPI_ACCOUNT_NAME_MAP(X)                                                            \
  X(NAME_SSO_NAMEID, "sso_nameid")                                                                 \
  X(NAME_LMS_USERNAME, "lms_username")                                                             \
  X(NAME_ID, "id")

#define LB_MAP_XAPI_ENUM(e, word) LB_MAP_XAPI_##e,
typedef enum { LB_MAP_XAPI_VERSION_MAP(LB_MAP_XAPI_ENUM) } lb_map_xapi_version;
typedef enum { LB_MAP_XAPI_ACTOR_MAP(LB_MAP_XAPI_ENUM) } lb_map_xapi_actor;
typedef enum { LB_MAP_XAPI_ACCOUNT_NAME_MAP(LB_MAP_XAPI_ENUM) } lb_map_xapi_account_name;
#undef LB_MAP_XAPI_ENUM

/* One xAPI integration's settings. Every string is borrowed for the call
 * only, and each is required unless marked. */
typedef struct {
  const char *integration_id; /* part of the statement id's name */
  const char *endpoint;       /* the LRS's xAPI base, e.g.
                               * https://lrs.example/xapi; trailing '/' dropped */
  lb_map_xapi_version version;
  lb_map_xapi_actor actor;
  const char *account_home_page; /* actor ACCOUNT only */
  lb_map_xapi_account_name account_name;
  const char *platform;          /* context.platform: the provider code */
  const char *activity_iri_base; /* provider.activity_iri_base; trailing '/'
                                  * dropped */
} lb_map_xapi_options;

/* One statement to PUT. Embedded value: _init, then filled by
 * lb_map_xapi_completion, then _release. */
typedef struct {
  const char *method;                        /* "PUT"; static */
  char *url;                                 /* new: <endpoint>/statements?statementId=<id> */
  const char *headers[LB_MAP_XAPI_NHEADERS]; /* "Name: value"; static */
  size_t nheaders;
  char *body; /* new: the statement, compact JSON */
  char *key;  /* new: the item's external id <type>-<id> */
  char statement_id[LB_MAP_XAPI_ID_SIZE];
} lb_map_xapi_request;

void lb_map_xapi_request_init(lb_map_xapi_request *r);
/* Frees what the request owns and leaves it as _init does; NULL is fine. */
void lb_map_xapi_request_release(lb_map_xapi_request *r);

/* The statement for one completion, or why it is not sent.
 * - Not sent (returns LB_E_OK, sets *skip_reason to static text, leaves
 *   *ret as it was): the learner tested out (skipped), the content is a
 *   track, or the learner lacks the identifier the options use (email for
 *   mbox; the account_name field for account).
 * - Sent (returns LB_E_OK, sets *skip_reason to NULL, fills *ret, which
 *   must be released): PUT <endpoint>/statements?statementId=<id> with
 *   X-Experience-API-Version and Content-Type: application/json; the body
 *   {actor, verb "completed", object Activity
 *   <activity_iri_base>/<type>/<content id> of type assessment or course,
 *   result {completion true[, duration][, score]}, timestamp, context
 *   {platform}}. The timestamp is completed_at as the event wrote it,
 *   except that a time after now_ms is sent as now_ms (a statement's
 *   timestamp must not be in the future), and an offset "-00:mm" or a
 *   leap second (:60), which LRSs may refuse (Learning Locker's validation
 *   does), is sent as the same instant in UTC.
 * On failure (LB_E_INVALID: a required option missing; LB_E_NOMEM) *ret
 * and *skip_reason are left as they were. */
lb_err lb_map_xapi_completion(const lb_completion_event *ev, const lb_map_xapi_options *opt,
                              int64_t now_ms, lb_map_xapi_request *ret, const char **skip_reason);

/* The statement id of an event for an integration: the version 5 UUID
 * (RFC 9562) in LB_MAP_XAPI_NAMESPACE of the UTF-8 name
 * "lmsbridge:<integration_id>:<event_id>", lower-case, into ret. The same
 * pair always gives the same id, so a retry or a replay sends the same
 * statement. LB_E_INVALID for a NULL argument, LB_E_NOMEM; ret is written
 * only on success. */
lb_err lb_map_xapi_statement_id(const char *integration_id, const char *event_id,
                                char ret[LB_MAP_XAPI_ID_SIZE]);

/* An ISO 8601 duration ("PT2H30M", "PT3.6S", "PT0S") for hours >= 0,
 * rounded to 0.01 s, in hours, minutes and seconds (no days: a day is not
 * always 24 hours). Returns buf, or NULL when hours is negative or not a
 * number or buf (32 bytes are enough) is too small. */
char *lb_map_xapi_duration(double hours, char *buf, size_t len);

/* Configuration words and back. Each _parse returns 0 and sets *ret for a
 * known word, -1 (and leaves *ret) otherwise; each _name returns a static
 * string ("?" for an unknown value). */
const char *lb_map_xapi_version_name(lb_map_xapi_version v);
int lb_map_xapi_version_parse(const char *s, lb_map_xapi_version *ret);
const char *lb_map_xapi_actor_name(lb_map_xapi_actor a);
int lb_map_xapi_actor_parse(const char *s, lb_map_xapi_actor *ret);
const char *lb_map_xapi_account_name_name(lb_map_xapi_account_name n);
int lb_map_xapi_account_name_parse(const char *s, lb_map_xapi_account_name *ret);

#endif
