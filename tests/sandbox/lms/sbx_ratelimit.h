/* sbx_ratelimit: fixed-window request counting per API client, the way
 * Degreed reports it (X-Rate-Limit-Limit/-Remaining/-Reset, 429 with
 * Retry-After). Not thread-safe: the caller holds the world lock. */
#ifndef SBX_RATELIMIT_H
#define SBX_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "sbx_map.h"

struct sbx_rl_window {
  uint64_t start_mono_ms;
  uint32_t count;
};

struct sbx_rl_result {
  bool allowed;
  uint32_t limit;
  uint32_t window_s;
  uint32_t remaining;
  uint64_t reset_mono_ms; /* when the window ends */
  uint32_t retry_after_s; /* set when !allowed, >= 1 */
};

/* Counts one request of client in windows (client_id -> new window). */
void sbx_ratelimit_hit(struct sbx_map *windows, const char *client, uint32_t limit,
                       uint32_t window_s, uint64_t now_mono_ms, struct sbx_rl_result *ret);

#endif
