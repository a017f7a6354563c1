/* Fuzz target headers: the pause an LMS imposes through its headers:
 * Retry-After (lb_classify_retry_after_ms, both forms) and
 * X-Rate-Limit-Remaining / X-Rate-Limit-Reset, read as the delivery client
 * reads them (lb_client.c's observe_rate_headers, static there: strtol,
 * lb_time_parse_rfc3339, then lb_ratelimit_observe and, on a 429,
 * lb_ratelimit_block_until), on a token bucket, response after response.
 *
 * Input: the bucket's limit and share (two bytes), then responses, each
 * the seconds since the previous one and whether it is a 429 (two bytes)
 * and the three header values (NUL-separated; an empty one is absent).
 *
 * Besides not crashing: a Retry-After is -1 or 0 to LB_SERVER_PAUSE_MAX_MS;
 * a bucket is never paused beyond LB_SERVER_PAUSE_MAX_MS from the last
 * response, never holds more tokens than its burst nor fewer than none,
 * and, paused, asks to wait exactly until the pause ends. */
#include <math.h>
#include <stdlib.h>

#include "fuzz_util.h"
#include "lb_classify.h"
#include "lb_ratelimit.h"
#include "lb_time.h"

#define WALL_START_MS 1800000000000  /* the wall clock of the first response */
#define MONO_START_MS 5000000        /* the monotonic clock's */
#define NO_RETRY_AFTER_PAUSE_MS 1000 /* lb_client.c's pause after a bare 429 */

static void observe(lb_ratelimit *b, int64_t mono, int64_t wall, bool throttled,
                    const char *retry_after, const char *remaining_text, const char *reset)
{
  int64_t after = lb_classify_retry_after_ms(retry_after, wall);
  FZ_CHECK(after == -1 || (after >= 0 && after <= LB_SERVER_PAUSE_MAX_MS),
           "Retry-After \"%s\": %lld ms", retry_after ? retry_after : "", (long long)after);
  if (remaining_text) {
    char *end;
    long remaining = strtol(remaining_text, &end, 10);
    int64_t reset_wall = 0, reset_mono = 0;
    if (reset && lb_time_parse_rfc3339(reset, &reset_wall) == LB_E_OK)
      reset_mono = mono + (reset_wall - wall);
    if (end != remaining_text)
      lb_ratelimit_observe(b, mono, remaining, reset_mono);
  }
  if (throttled)
    lb_ratelimit_block_until(b, mono, mono + (after > 0 ? after : NO_RETRY_AFTER_PAUSE_MS));
  FZ_CHECK(b->blocked_until_ms <= mono + LB_SERVER_PAUSE_MAX_MS,
           "paused for %lld ms (remaining \"%s\", reset \"%s\", Retry-After \"%s\")",
           (long long)(b->blocked_until_ms - mono), remaining_text ? remaining_text : "",
           reset ? reset : "", retry_after ? retry_after : "");
  if (b->per_minute > 0)
    FZ_CHECK(b->tokens >= 0 && b->tokens <= b->capacity, "%g tokens of %g", b->tokens, b->capacity);
  if (mono < b->blocked_until_ms) {
    lb_ratelimit probe = *b;
    int64_t wait = lb_ratelimit_take(&probe, mono);
    FZ_CHECK(wait == b->blocked_until_ms - mono, "paused until %lld, asked to wait %lld ms",
             (long long)b->blocked_until_ms, (long long)wait);
  }
}

static char *absent_if_empty(char *s)
{
  if (s[0])
    return s;
  free(s);
  return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const int limits[] = { 0, 1, 70, 600, 100000 };
  fz_input in = { data, size };
  fz_begin(data, size);
  int64_t mono = MONO_START_MS, wall = WALL_START_MS;
  lb_ratelimit b;
  lb_ratelimit_init(&b, limits[fz_take_byte(&in) % 5], mono);
  lb_ratelimit_set_share(&b, fz_take_byte(&in) / 255.0, mono);
  for (int n = 0; in.n > 0 && n < 64; n++) {
    uint8_t dt = fz_take_byte(&in);
    bool throttled = fz_take_byte(&in) & 1;
    char *retry_after = absent_if_empty(fz_take_str(&in));
    char *remaining = absent_if_empty(fz_take_str(&in));
    char *reset = absent_if_empty(fz_take_str(&in));
    mono += (int64_t)dt * 1000;
    wall += (int64_t)dt * 1000;
    observe(&b, mono, wall, throttled, retry_after, remaining, reset);
    lb_ratelimit_take(&b, mono);
    free(retry_after);
    free(remaining);
    free(reset);
  }
  return 0;
}
