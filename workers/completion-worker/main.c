/* completion-worker: records learners' completions and skill scores in
 * their employer's LMS (completion-events -> Degreed completions and skill
 * ratings, OCN learning events). */
#include "lb_cli.h"

int main(int argc, char **argv)
{
  return lb_cli_main(&lb_worker_completion, argc, argv);
}
