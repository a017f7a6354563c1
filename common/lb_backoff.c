#include "lb_backoff.h"

int64_t lb_backoff_delay(const lb_backoff_policy *p, int attempt, int64_t floor_ms, double random01)
{
  int64_t cap = p->initial_ms;
  for (int i = 1; i < attempt && cap < p->max_ms; i++)
    cap *= 2;
  if (cap > p->max_ms)
    cap = p->max_ms;
  if (random01 < 0)
    random01 = 0;
  if (random01 >= 1)
    random01 = 0.999999;
  int64_t delay = (int64_t)((double)cap * random01);
  if (floor_ms > 0 && delay < floor_ms) {
    int64_t spread = floor_ms / 10 < 1000 ? floor_ms / 10 : 1000;
    delay = floor_ms + (int64_t)((double)spread * random01);
  }
  return delay;
}

bool lb_backoff_may_retry(const lb_backoff_policy *p, int attempts, int64_t first_failure_ms,
                          int64_t now_ms, int64_t delay_ms)
{
  if (attempts >= p->max_attempts)
    return false;
  return now_ms + delay_ms <= first_failure_ms + p->budget_ms;
}

double lb_backoff_random(uint64_t *state)
{
  uint64_t x = *state ? *state : 0x9E3779B97F4A7C15ull;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  *state = x;
  return (double)(x >> 11) / 9007199254740992.0; /* 2^53 */
}
