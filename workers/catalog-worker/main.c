/* catalog-worker: keeps every customer's LMS catalog in step with the
 * provider's (catalog-events -> Degreed courses/assessments, OCN courses). */
#include "lb_cli.h"

static const lb_worker catalog_worker = {
  .name = "catalog-worker",
  .default_topic = "catalog-events",
  .default_scopes = "content:read,content:write",
  .summary = "Consumes catalog-events and keeps the provider's catalog in "
             "every customer's Degreed and SuccessFactors (OCN).",
  .plan = lb_plan_catalog,
};

int main(int argc, char **argv)
{
  return lb_cli_main(&catalog_worker, argc, argv);
}
