/* lb_ratelimit: a token bucket per integration (Degreed: 70 requests a
 * minute per API client), corrected by what the server says
 * (X-Rate-Limit-Remaining/-Reset, 429 + Retry-After). Pure arithmetic on
 * times passed in; not thread-safe (one event loop owns it). */
#ifndef LB_RATELIMIT_H
#define LB_RATELIMIT_H

#include <stdint.h>

typedef struct {
  double per_ms;     /* refill rate; 0 = unlimited */
  double capacity;   /* burst */
  double tokens;
  int64_t last_ms;   /* when tokens was last refilled */
  int64_t blocked_until_ms; /* server-imposed pause */
} lb_ratelimit;

/* per_minute 0 means no limit. The burst is ten seconds' worth (at least
 * one request), so a fresh client does not spend a whole minute's quota
 * in its first instant. */
void lb_ratelimit_init(lb_ratelimit *b, int per_minute, int64_t now_ms);

/* 0 when a request may go now (a token is taken), else the ms to wait. */
int64_t lb_ratelimit_take(lb_ratelimit *b, int64_t now_ms);

/* A response said `remaining` requests are left until reset_at_ms
 * (remaining < 0: header absent). None left: pause until the reset. */
void lb_ratelimit_observe(lb_ratelimit *b, int64_t now_ms, long remaining,
                       int64_t reset_at_ms);

/* The server throttled: nothing goes before until_ms. */
void lb_ratelimit_block_until(lb_ratelimit *b, int64_t until_ms);

#endif
