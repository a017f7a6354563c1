/* catalog-worker: keeps every customer's LMS catalog in step with the
 * provider's (catalog-events -> Degreed courses/assessments, OCN courses). */
#include "lb_cli.h"

int main(int argc, char **argv)
{
  return lb_cli_main(&lb_worker_catalog, argc, argv);
}
