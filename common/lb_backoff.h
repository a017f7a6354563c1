/* lb_backoff: retry delays (exponential, full jitter, capped, Retry-After
 * honoured) and the retry budget. Pure; randomness is passed in. */
#ifndef LB_BACKOFF_H
#define LB_BACKOFF_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
  int64_t initial_ms; /* cap of the first delay */
  int64_t max_ms;     /* cap of every delay */
  int max_attempts;   /* attempts in all, the first included */
  int64_t budget_ms;  /* time after the first failure to keep trying */
} lb_backoff_policy;

/* Delay before attempt `attempt + 1` after `attempt` failed ones (>= 1):
 * uniform in [0, min(max, initial * 2^(attempt-1))] from `random01` in
 * [0,1), then raised to at least `floor_ms` (Retry-After, a 503's minimum)
 * with up to 10% (at most 1 s) of spread so throttled clients do not come
 * back all at once. */
int64_t lb_backoff_delay(const lb_backoff_policy *p, int attempt, int64_t floor_ms,
                         double random01);

/* False once `attempts` reached max_attempts or the next try (at
 * now + delay) would fall after first_failure + budget. */
bool lb_backoff_may_retry(const lb_backoff_policy *p, int attempts, int64_t first_failure_ms,
                          int64_t now_ms, int64_t delay_ms);

/* A uniform double in [0,1) from a xorshift state (seed it non-zero). */
double lb_backoff_random(uint64_t *state);

#endif
