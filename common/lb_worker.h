/* lb_worker: what makes each daemon itself (name, default topic, Degreed
 * scopes, planner), looked up by name, and the check that refuses a
 * configuration plainly written for the other daemon. */
#ifndef LB_WORKER_H
#define LB_WORKER_H

#include <stdbool.h>

#include "lb_config.h"
#include "lb_error.h"
#include "lb_plan.h"

/* What makes a daemon itself: its name, default topic, the Degreed scopes
 * it needs, and its handler. */
typedef struct {
  const char *name;                /* "catalog-worker" */
  const char *default_topic;       /* "catalog-events" */
  const char *default_scopes;      /* Degreed OAuth scopes */
  const char *skill_ratings_scope; /* added when skill ratings are pushed */
  const char *summary;             /* one line for --help */
  lb_plan_fn plan;
  /* A record this daemon cannot plan that is a valid event of the other
   * daemon (a misrouted topic): that daemon's name, else NULL. */
  const char *(*foreign_event)(const char *value, size_t len);
  /* It keeps the catalog state in kafka.state_topic (lb_config_defaults). */
  bool keeps_state;
} lb_worker;

/* The daemons, and both in a NULL-terminated list. */
extern const lb_worker lb_worker_catalog;
extern const lb_worker lb_worker_completion;
extern const lb_worker *const lb_worker_all[];

/* The daemon named `name`, or NULL. */
const lb_worker *lb_worker_find(const char *name);

/* Refuses a configuration that is plainly another daemon's (its group id,
 * or a topic that is the other daemon's topic, retry, dead-letter or state
 * topic by default), and a state topic for a daemon that keeps no state:
 * LB_E_CONFIG with one "file: key: what" line per finding in
 * *ret_errors (new, free() it), saying how to fix it. LB_E_OK for a NULL
 * worker. */
lb_err lb_worker_check_config(const lb_worker *w, const lb_config *cfg, char **ret_errors);

#endif
