#include "sbx_ratelimit.h"

#include "sbx_util.h"

void sbx_ratelimit_hit(struct sbx_map *windows, const char *client, uint32_t limit,
                       uint32_t window_s, uint64_t now, struct sbx_rl_result *ret)
{
  struct sbx_rl_window *w = sbx_map_get(windows, client);
  uint64_t window_ms = (uint64_t)window_s * 1000u;

  if (!w) {
    w = sbx_xcalloc(1, sizeof(*w));
    w->start_mono_ms = now;
    sbx_map_put(windows, client, w);
  }
  if (now >= w->start_mono_ms + window_ms) {
    w->start_mono_ms = now;
    w->count = 0;
  }
  ret->limit = limit;
  ret->window_s = window_s;
  ret->reset_mono_ms = w->start_mono_ms + window_ms;
  if (w->count >= limit) {
    uint64_t left = ret->reset_mono_ms - now;

    ret->allowed = false;
    ret->remaining = 0;
    ret->retry_after_s = (uint32_t)((left + 999) / 1000);
    if (ret->retry_after_s == 0)
      ret->retry_after_s = 1;
    return;
  }
  w->count++;
  ret->allowed = true;
  ret->remaining = limit - w->count;
  ret->retry_after_s = 0;
}
