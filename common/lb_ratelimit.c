#include "lb_ratelimit.h"

#include <math.h>

#include "lb_classify.h"

/* The burst: a tenth of the minute's quota. */
#define BURST_FRACTION 0.1
/* With no share, when to ask again (the share changes at a rebalance). */
#define NO_SHARE_WAIT_MS 1000

static void refill(lb_ratelimit *b, int64_t now_ms)
{
  if (now_ms > b->last_ms) {
    b->tokens = fmin(b->capacity, b->tokens + (double)(now_ms - b->last_ms) * b->per_ms);
    b->last_ms = now_ms;
  }
}

static void apply_share(lb_ratelimit *b)
{
  double per_minute = b->per_minute * b->share;
  b->per_ms = per_minute / 60000.0;
  b->capacity = fmax(1.0, floor(per_minute * BURST_FRACTION));
  b->tokens = fmin(b->tokens, b->capacity);
}

void lb_ratelimit_init(lb_ratelimit *b, int per_minute, int64_t now_ms)
{
  *b = (lb_ratelimit){ .last_ms = now_ms, .share = 1.0 };
  if (per_minute <= 0)
    return;
  b->per_minute = per_minute;
  b->tokens = INFINITY;
  apply_share(b);
}

void lb_ratelimit_set_share(lb_ratelimit *b, double share, int64_t now_ms)
{
  if (!(share > 0))
    share = 0; /* NaN too */
  if (share > 1)
    share = 1;
  if (b->per_minute > 0)
    refill(b, now_ms); /* what was earned at the old rate */
  b->share = share;
  if (b->per_minute > 0)
    apply_share(b);
}

int64_t lb_ratelimit_take(lb_ratelimit *b, int64_t now_ms)
{
  if (now_ms < b->blocked_until_ms)
    return b->blocked_until_ms - now_ms;
  if (b->per_minute == 0)
    return 0;
  if (b->per_ms == 0)
    return NO_SHARE_WAIT_MS;
  refill(b, now_ms);
  if (b->tokens >= 1.0) {
    b->tokens -= 1.0;
    return 0;
  }
  int64_t wait = (int64_t)ceil((1.0 - b->tokens) / b->per_ms);
  return wait > 0 ? wait : 1;
}

void lb_ratelimit_observe(lb_ratelimit *b, int64_t now_ms, long remaining, int64_t reset_at_ms)
{
  if (remaining < 0)
    return;
  if (remaining == 0 && reset_at_ms > now_ms) {
    lb_ratelimit_block_until(b, now_ms, reset_at_ms);
    return;
  }
  if (b->per_ms > 0) {
    refill(b, now_ms);
    if ((double)remaining < b->tokens)
      b->tokens = (double)remaining;
  }
}

void lb_ratelimit_block_until(lb_ratelimit *b, int64_t now_ms, int64_t until_ms)
{
  if (until_ms > now_ms + LB_SERVER_PAUSE_MAX_MS)
    until_ms = now_ms + LB_SERVER_PAUSE_MAX_MS;
  if (until_ms > b->blocked_until_ms)
    b->blocked_until_ms = until_ms;
  if (b->per_ms > 0) {
    /* Start refilling from empty when the pause ends. */
    b->tokens = 0;
    if (b->blocked_until_ms > b->last_ms)
      b->last_ms = b->blocked_until_ms;
  }
}
