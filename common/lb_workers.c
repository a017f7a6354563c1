/* The two daemons' descriptors: their names, default topics and scopes are
 * contracts (docs/configuration.md) shared by the daemons and dlq-replay. */
#include "lb_cli.h"

const lb_worker lb_catalog_worker = {
  .name = "catalog-worker",
  .default_topic = "catalog-events",
  .default_scopes = "content:read,content:write",
  .summary = "Consumes catalog-events and keeps the provider's catalog in "
             "every customer's Degreed and SuccessFactors (OCN).",
  .plan = lb_plan_catalog,
};

const lb_worker lb_completion_worker = {
  .name = "completion-worker",
  .default_topic = "completion-events",
  .default_scopes = "completions:write",
  .skill_ratings_scope = "skill_ratings:write",
  .summary = "Consumes completion-events and records each learner's "
             "completion in their employer's Degreed or SuccessFactors.",
  .plan = lb_plan_completion,
};

const lb_worker *const lb_workers[] = {&lb_catalog_worker, &lb_completion_worker, NULL};
