/* completion-worker: records learners' completions and skill scores in
 * their employer's LMS (completion-events -> Degreed completions and skill
 * ratings, OCN learning events). */
#include "lb_cli.h"

static const lb_worker completion_worker = {
  .name = "completion-worker",
  .default_topic = "completion-events",
  .default_scopes = "completions:write",
  .skill_ratings_scope = "skill_ratings:write",
  .summary = "Consumes completion-events and records each learner's "
             "completion in their employer's Degreed or SuccessFactors.",
  .plan = lb_plan_completion,
};

int main(int argc, char **argv)
{
  return lb_cli_main(&completion_worker, argc, argv);
}
