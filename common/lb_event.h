/* lb_event: the two event contracts of docs/events.md (the same rules
 * as schemas/ *.schema.json), parsed from a Kafka message value into typed
 * structs. Pure; strings are copies owned by the struct. Unknown fields
 * are ignored; a violation is reported as "<field path>: <why>". */
#ifndef LB_EVENT_H
#define LB_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lb_content.h"
#include "lb_error.h"

typedef enum {
  LB_CATALOG_UPSERTED,
  LB_CATALOG_ARCHIVED,
} lb_catalog_event_type;

typedef struct {
  char *event_id;
  lb_catalog_event_type event_type;
  char *occurred_at;
  int64_t occurred_at_ms;
  uint64_t version;
  struct {
    char *id;
    lb_content_type type;
    char *title;
    char *description;
    char *url;
    char *technology; /* NULL when absent or null */
    bool has_duration;
    double duration_hours;
    bool has_num_questions;
    int num_questions;
    char *language;        /* "en-US" when absent */
    char *organization_id; /* custom tracks only */
    char **skills;
    size_t nskills;
  } content;
} lb_catalog_event;

typedef struct {
  char *name;
  double score; /* 0-100 */
  int level;    /* 1-8, 0 when not given */
} lb_skill_score;

typedef struct {
  char *event_id;
  char *occurred_at;
  int64_t occurred_at_ms;
  char *organization_id;
  struct {
    char *id;
    char *email; /* NULL when absent or null */
    char *sso_nameid;
    char *lms_username;
  } user;
  struct {
    char *id;
    lb_content_type type;
  } content;
  char *completed_at;
  int64_t completed_at_ms;
  bool skipped;
  bool has_duration;
  double duration_hours;
  bool has_score;
  double score;
  lb_skill_score *skills;
  size_t nskills;
} lb_completion_event;

/* Parse `len` bytes. On failure returns LB_E_EVENT (or LB_E_NOMEM), writes
 * "<field>: <why>" into err and leaves *ev zeroed. */
lb_err lb_catalog_event_parse(lb_catalog_event *ev, const char *buf, size_t len, char *err,
                              size_t errlen);
void lb_catalog_event_release(lb_catalog_event *ev);

lb_err lb_completion_event_parse(lb_completion_event *ev, const char *buf, size_t len, char *err,
                                 size_t errlen);
void lb_completion_event_release(lb_completion_event *ev);

/* The top-level "event_id" of a message that is a JSON object, whatever
 * else is wrong with it, so that an invalid event can still be named. New
 * (free() it); NULL when the message is not a JSON object, or its event_id
 * is missing or not a string, or out of memory. */
char *lb_event_id_peek(const char *buf, size_t len);

/* The learner identifier of the given kind (lb_user_id_kind values:
 * 0 email, 1 sso_nameid, 2 lms_username), or NULL when the event has none.
 * Borrowed from ev. */
const char *lb_completion_event_user_identifier(const lb_completion_event *ev, int kind);

#endif
