/* lb_route: which integrations receive an event (docs/mapping.md).
 * Pure. */
#ifndef LB_ROUTE_H
#define LB_ROUTE_H

#include "lb_config.h"
#include "lb_event.h"

typedef enum {
  LB_ROUTE_NONE, /* not this integration's business (another customer...) */
  LB_ROUTE_SKIP, /* this integration's, but a rule says not to send it */
  LB_ROUTE_OFF,  /* this integration's, but its configuration leaves it out
                  * (completions off, catalog filters): skipped quietly */
  LB_ROUTE_SEND,
} lb_route;

/* The planner (lb_plan.c) asks these only of the candidates the
 * configuration's index names: the event's organization's integrations
 * (completions, custom tracks) or those with catalog.public (public
 * content); every other integration must be LB_ROUTE_NONE. A rule
 * reaching beyond them changes the candidates too. */

/* Public content goes to integrations whose catalog filter takes public
 * content of that type (the provider-level Degreed integration by
 * default); a custom track only to its organization's integrations.
 * *why (static text) is set for every result but LB_ROUTE_SEND. */
lb_route lb_route_catalog(const lb_integration *in, const lb_catalog_event *ev, const char **why);

/* Completions go to the integrations of the event's organization that have
 * completions on; tested-out completions and content types without
 * completions are skipped. */
lb_route lb_route_completion(const lb_integration *in, const lb_completion_event *ev,
                             const char **why);

#endif
