/* lb_plan: what one Kafka message asks of each integration: the requests
 * to send, a rule-based skip, or (for the whole message) a dead letter.
 * The daemons' handlers; pure (no Kafka, no network), so --map and the
 * consumer engine share them. */
#ifndef LB_PLAN_H
#define LB_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lb_config.h"
#include "lb_request.h"

typedef struct {
  const lb_integration *integration; /* borrowed from the config */
  bool skip;
  bool quiet;         /* a skip the integration's configuration asks for
                       * (completions off, catalog filters): counted, but
                       * logged at debug, not once per event at info */
  const char *reason; /* static; set when skip */
  lb_request_list requests;
} lb_plan_item;

#define LB_PLAN_DLQ_MESSAGE_MAX 512

typedef struct {
  char *event_id;        /* NULL when the event could not be parsed */
  char *item_key;        /* catalog: the external id `<type>-<id>` */
  uint64_t version;      /* catalog: the event's version */
  bool archived;         /* catalog: the event archives the item */
  bool dead_letter;      /* the whole message goes to the DLQ */
  const char *dlq_class; /* class name, docs/delivery.md */
  char *dlq_message;     /* why, when dead_letter (owned; on the heap, as
                          * the engine holds thousands of plans with a
                          * backlog): at most LB_PLAN_DLQ_MESSAGE_MAX - 1 bytes */
  lb_plan_item *items;   /* one per integration concerned */
  size_t n;
} lb_plan;

typedef lb_err (*lb_plan_fn)(const lb_config *cfg, const char *value, size_t len, int64_t now_ms,
                             lb_plan *ret);

/* Plans a catalog-events / completion-events message. LB_E_OK also for a
 * dead-lettered event (see ret->dead_letter); other codes are failures of
 * the planner itself (out of memory). */
lb_err lb_plan_catalog(const lb_config *cfg, const char *value, size_t len, int64_t now_ms,
                       lb_plan *ret);
lb_err lb_plan_completion(const lb_config *cfg, const char *value, size_t len, int64_t now_ms,
                          lb_plan *ret);
void lb_plan_release(lb_plan *plan);

#endif
