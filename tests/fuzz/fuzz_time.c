/* Fuzz target time: a string through lb_time_parse_rfc3339 (occurred_at,
 * completed_at, X-Rate-Limit-Reset). Besides not crashing:
 * - what is accepted has the strict form of schemas/
 *   (YYYY-MM-DDTHH:MM:SS[.1-9 digits](Z|+hh:mm|-hh:mm)), checked here
 *   by a reader of its own;
 * - its time is what glibc's timegm() makes of the same fields (a leap
 *   second as :59.999, the fraction cut to milliseconds, the offset
 *   taken off);
 * - refused, *ret_ms is untouched;
 * - formatted back (lb_time_format_rfc3339), a time of years 0000-9999
 *   parses to itself; lb_time_format_seconds writes 19 characters there. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuzz_util.h"
#include "lb_time.h"

static bool digits(const char *s, int n, int *ret)
{
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    v = v * 10 + (s[i] - '0');
  }
  *ret = v;
  return true;
}

/* The strict form, and the time it names; false when not that form. */
static bool reference(const char *s, int64_t *ret_ms)
{
  int y, mo, d, h, mi, sec, ms = 0, oh = 0, om = 0, sign = 1;
  size_t len = strlen(s), at = 19;
  if (len < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
      !digits(s + 8, 2, &d) || s[10] != 'T' || !digits(s + 11, 2, &h) || s[13] != ':' ||
      !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &sec))
    return false;
  if (s[at] == '.') {
    size_t n = 0;
    while (at + 1 + n < len && s[at + 1 + n] >= '0' && s[at + 1 + n] <= '9')
      n++;
    if (n < 1 || n > 9)
      return false;
    for (size_t i = 0; i < 3; i++)
      ms = ms * 10 + (i < n ? s[at + 1 + i] - '0' : 0);
    at += 1 + n;
  }
  if (s[at] == 'Z' && at + 1 == len) {
    /* UTC */
  } else if ((s[at] == '+' || s[at] == '-') && at + 6 == len && digits(s + at + 1, 2, &oh) &&
             s[at + 3] == ':' && digits(s + at + 4, 2, &om)) {
    sign = s[at] == '-' ? -1 : 1;
  } else {
    return false;
  }
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 60 || oh > 23 || om > 59)
    return false;
  struct tm tm = { .tm_year = y - 1900,
                   .tm_mon = mo - 1,
                   .tm_mday = d,
                   .tm_hour = h,
                   .tm_min = mi,
                   .tm_sec = sec == 60 ? 59 : sec };
  time_t t = timegm(&tm);
  if (tm.tm_mday != d || tm.tm_mon != mo - 1) /* 2026-02-30 came out as March */
    return false;
  if (sec == 60)
    ms = 999;
  *ret_ms = ((int64_t)t - (int64_t)sign * (oh * 3600 + om * 60)) * 1000 + ms;
  return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *s = malloc(size + 1);
  FZ_CHECK(s != NULL, "out of memory");
  memcpy(s, data, size);
  s[size] = '\0';
  fz_begin(data, size);

  int64_t ms = -42, expect = 0;
  lb_err e = lb_time_parse_rfc3339(s, &ms);
  bool form = reference(s, &expect);
  FZ_CHECK(e == LB_E_OK || e == LB_E_PARSE, "%s", lb_strerror(e));
  FZ_CHECK((e == LB_E_OK) == form, "\"%s\" is %s, the strict form says %s", s,
           e == LB_E_OK ? "accepted" : "refused", form ? "accept" : "refuse");
  if (e != LB_E_OK) {
    FZ_CHECK(ms == -42, "a refused time set *ret_ms");
  } else {
    FZ_CHECK(ms == expect, "\"%s\" read as %" PRId64 " ms, timegm says %" PRId64, s, ms, expect);
    /* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z */
    if (ms >= -62167219200000 && ms <= 253402300799999) {
      char buf[32], secs[32];
      int64_t back = 0;
      lb_time_format_rfc3339(ms, buf, sizeof(buf));
      FZ_CHECK(lb_time_parse_rfc3339(buf, &back) == LB_E_OK && back == ms,
               "%" PRId64 " ms formatted as \"%s\"", ms, buf);
      lb_time_format_seconds(ms, secs, sizeof(secs));
      FZ_CHECK(strlen(secs) == 19 && strncmp(secs, buf, 19) == 0, "\"%s\" in seconds: \"%s\"", buf,
               secs);
    }
  }
  free(s);
  return 0;
}
