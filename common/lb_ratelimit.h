/* lb_ratelimit: a token bucket per integration (Degreed: 70 requests a
 * minute per API client), corrected by what the server says
 * (X-Rate-Limit-Remaining/-Reset, 429 + Retry-After). In a consumer group
 * each member takes a share of the limit (the source partitions it holds
 * over all of them), so the members together stay within it. Pure
 * arithmetic on times passed in; not thread-safe (one event loop owns it). */
#ifndef LB_RATELIMIT_H
#define LB_RATELIMIT_H

#include <stdint.h>

typedef struct {
  int per_minute;  /* the integration's whole limit; 0 = unlimited */
  double share;    /* this member's part of it, in [0, 1] */
  double per_ms;   /* refill rate: per_minute * share per minute */
  double capacity; /* burst */
  double tokens;
  int64_t last_ms;          /* when tokens was last refilled */
  int64_t blocked_until_ms; /* server-imposed pause */
} lb_ratelimit;

/* per_minute 0 means no limit; the share is 1. The burst is a tenth of
 * the minute's quota (at least one request), so a fresh member does not
 * spend the quota in its first instant, and a group's bursts together stay
 * within a tenth of the limit (while each member's share is worth one). */
void lb_ratelimit_init(lb_ratelimit *b, int per_minute, int64_t now_ms);

/* This member's share of the limit from now_ms (0: it may send nothing; a
 * value outside [0, 1] is clamped). Tokens earned so far are kept up to
 * the new burst. */
void lb_ratelimit_set_share(lb_ratelimit *b, double share, int64_t now_ms);

/* 0 when a request may go now (a token is taken), else the ms to wait. */
int64_t lb_ratelimit_take(lb_ratelimit *b, int64_t now_ms);

/* A response said `remaining` requests are left until reset_at_ms
 * (remaining < 0: header absent). None left: pause until the reset, at
 * most LB_SERVER_PAUSE_MAX_MS (lb_classify.h) from now_ms. */
void lb_ratelimit_observe(lb_ratelimit *b, int64_t now_ms, long remaining, int64_t reset_at_ms);

/* The server throttled: nothing goes before until_ms, or before
 * LB_SERVER_PAUSE_MAX_MS from now_ms when that is sooner. A pause is never
 * shortened. */
void lb_ratelimit_block_until(lb_ratelimit *b, int64_t now_ms, int64_t until_ms);

#endif
