/* lb_time: the strict RFC 3339 form of schemas/ (tables of accepted
 * strings with their epoch ms, and of rejects), and the two output
 * formats, which round-trip through the parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lb_time.h"

#define SENTINEL INT64_C(0x5a5a5a5a5a5a)

static const struct {
  const char *in;
  int64_t ms;
} accepts[] = {
  { "1970-01-01T00:00:00Z", 0 },
  { "1970-01-01T00:00:00.001Z", 1 },
  { "2026-01-02T03:04:05.123Z", INT64_C(1767323045123) },
  { "2026-01-02T03:04:05Z", INT64_C(1767323045000) },
  /* offsets: local time minus the offset is UTC */
  { "2026-01-02T03:04:05+01:00", INT64_C(1767319445000) },
  { "2026-01-02T03:04:05-05:30", INT64_C(1767342845000) },
  { "2026-01-02T03:04:05+00:00", INT64_C(1767323045000) },
  { "2026-01-02T03:04:05-00:00", INT64_C(1767323045000) },
  { "1970-01-01T00:00:00+14:00", INT64_C(-50400000) },
  { "2026-03-01T00:30:00+01:00", INT64_C(1772321400000) }, /* back into Feb */
  { "2024-12-31T23:00:00-01:00", INT64_C(1735689600000) }, /* into 2025 */
  { "2026-01-02T03:04:05.123+01:00", INT64_C(1767319445123) },
  /* fractions of 1 to 9 digits, truncated to ms */
  { "2026-01-02T03:04:05.1Z", INT64_C(1767323045100) },
  { "2026-01-02T03:04:05.12Z", INT64_C(1767323045120) },
  { "2026-01-02T03:04:05.1239Z", INT64_C(1767323045123) },
  { "2026-01-02T03:04:05.12399Z", INT64_C(1767323045123) },
  { "2026-01-02T03:04:05.123999Z", INT64_C(1767323045123) },
  { "2026-01-02T03:04:05.1239999Z", INT64_C(1767323045123) },
  { "2026-01-02T03:04:05.12399999Z", INT64_C(1767323045123) },
  { "2026-01-02T03:04:05.999999999Z", INT64_C(1767323045999) },
  { "2026-01-02T03:04:05.000000000Z", INT64_C(1767323045000) },
  { "2026-01-02T03:04:05.0Z", INT64_C(1767323045000) },
  /* leap second counts as :59.999 */
  { "2016-12-31T23:59:60Z", INT64_C(1483228799999) },
  { "2016-12-31T23:59:60.5Z", INT64_C(1483228799999) },
  { "2017-01-01T00:59:60+01:00", INT64_C(1483228799999) },
  /* calendar */
  { "2024-02-29T12:00:00Z", INT64_C(1709208000000) },
  { "2000-02-29T00:00:00Z", INT64_C(951782400000) },
  { "2026-04-30T23:59:59Z", INT64_C(1777593599000) },
  { "1999-12-31T23:59:59.999Z", INT64_C(946684799999) },
  { "2000-01-01T00:00:00Z", INT64_C(946684800000) },
  { "9999-12-31T23:59:59.999Z", INT64_C(253402300799999) },
  /* before 1970 */
  { "1969-12-31T23:59:59.999Z", -1 },
  { "1969-12-31T23:59:59Z", -1000 },
  { "1900-01-01T00:00:00Z", INT64_C(-2208988800000) },
  { "0001-01-01T00:00:00Z", INT64_C(-62135596800000) },
};

static void test_parse_accepts(void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof(accepts) / sizeof(accepts[0]); i++) {
    int64_t ms = SENTINEL;
    lb_err rc = lb_time_parse_rfc3339(accepts[i].in, &ms);
    if (rc != LB_E_OK)
      fail_msg("\"%s\" refused", accepts[i].in);
    if (ms != accepts[i].ms)
      fail_msg("\"%s\": %lld, want %lld", accepts[i].in, (long long)ms, (long long)accepts[i].ms);
  }
}

static const char *const rejects[] = {
  "",
  "2026-01-02t03:04:05Z",    /* lowercase t */
  "2026-01-02T03:04:05z",    /* lowercase z */
  "2026-01-02 03:04:05Z",    /* space instead of T */
  "2026-01-02T03:04:05",     /* no zone */
  "2026-01-02T03:04:05.123", /* no zone after fraction */
  "2026-01-02",              /* date only */
  "2026-01-02T",
  "2026-01-02T03:04Z",    /* no seconds */
  "2026-13-01T00:00:00Z", /* month 13 */
  "2026-00-01T00:00:00Z", /* month 0 */
  "2026-01-32T00:00:00Z", /* day 32 */
  "2026-01-00T00:00:00Z", /* day 0 */
  "2023-02-29T00:00:00Z", /* not a leap year */
  "1900-02-29T00:00:00Z", /* century, not a leap year */
  "2024-02-30T00:00:00Z",
  "2026-04-31T00:00:00Z", /* April has 30 days */
  "2026-06-31T00:00:00Z",
  "2026-09-31T00:00:00Z",
  "2026-11-31T00:00:00Z",
  "2026-01-02T24:00:00Z",            /* hour 24 */
  "2026-01-02T03:60:00Z",            /* minute 60 */
  "2026-01-02T03:04:61Z",            /* second 61 */
  "2026-01-02T03:04:05.1234567890Z", /* 10 fraction digits */
  "2026-01-02T03:04:05.Z",           /* empty fraction */
  "2026-01-02T03:04:05,123Z",        /* comma fraction */
  "2026-01-02T03:04:05Z ",           /* trailing space */
  " 2026-01-02T03:04:05Z",           /* leading space */
  "2026-01-02T03:04:05Z\n",
  "2026-01-02T03:04:05ZZ",
  "2026-01-02T03:04:05+01",    /* offset without minutes */
  "2026-01-02T03:04:05+0100",  /* offset without colon */
  "2026-01-02T03:04:05+24:00", /* offset hour 24 */
  "2026-01-02T03:04:05+01:60", /* offset minute 60 */
  "2026-01-02T03:04:05+01:00Z",
  "2026-1-02T03:04:05Z", /* one-digit month */
  "26-01-02T03:04:05Z",  /* two-digit year */
  "+2026-01-02T03:04:05Z",
  "2026-01-02T3:04:05Z",
  "2026/01/02T03:04:05Z",
  "2026-01-02T03:04:05.12a3Z",
  "not a time",
};

static void test_parse_rejects(void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof(rejects) / sizeof(rejects[0]); i++) {
    int64_t ms = SENTINEL;
    lb_err rc = lb_time_parse_rfc3339(rejects[i], &ms);
    if (rc != LB_E_PARSE)
      fail_msg("\"%s\": rc %d, want LB_E_PARSE", rejects[i], (int)rc);
    if (ms != SENTINEL)
      fail_msg("\"%s\": output changed on failure", rejects[i]);
  }
  int64_t ms = SENTINEL;
  assert_int_equal(lb_time_parse_rfc3339(NULL, &ms), LB_E_PARSE);
  assert_true(ms == SENTINEL);
}

/* A string cut short at every position is refused, never read past. */
static void test_parse_rejects_every_prefix(void **state)
{
  (void)state;
  const char *full = "2026-01-02T03:04:05.123+01:00";
  char buf[64];
  for (size_t n = 0; n < strlen(full); n++) {
    memcpy(buf, full, n);
    buf[n] = '\0';
    int64_t ms = SENTINEL;
    if (lb_time_parse_rfc3339(buf, &ms) != LB_E_PARSE)
      fail_msg("prefix \"%s\" accepted", buf);
    assert_true(ms == SENTINEL);
  }
}

static const struct {
  int64_t ms;
  const char *rfc3339;
  const char *seconds;
} formats[] = {
  { 0, "1970-01-01T00:00:00.000Z", "1970-01-01T00:00:00" },
  { 1, "1970-01-01T00:00:00.001Z", "1970-01-01T00:00:00" },
  { 999, "1970-01-01T00:00:00.999Z", "1970-01-01T00:00:00" },
  { INT64_C(1767323045123), "2026-01-02T03:04:05.123Z", "2026-01-02T03:04:05" },
  { INT64_C(1709208000000), "2024-02-29T12:00:00.000Z", "2024-02-29T12:00:00" },
  { INT64_C(946684799999), "1999-12-31T23:59:59.999Z", "1999-12-31T23:59:59" },
  { INT64_C(946684800000), "2000-01-01T00:00:00.000Z", "2000-01-01T00:00:00" },
  { -1, "1969-12-31T23:59:59.999Z", "1969-12-31T23:59:59" },
  { -1000, "1969-12-31T23:59:59.000Z", "1969-12-31T23:59:59" },
  { -1001, "1969-12-31T23:59:58.999Z", "1969-12-31T23:59:58" },
  { INT64_C(-2208988800000), "1900-01-01T00:00:00.000Z", "1900-01-01T00:00:00" },
  { INT64_C(253402300799999), "9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59" },
};

static void test_format_rfc3339(void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
    char buf[25]; /* the documented size, exactly */
    memset(buf, '#', sizeof(buf));
    assert_ptr_equal(lb_time_format_rfc3339(formats[i].ms, buf, sizeof(buf)), buf);
    assert_string_equal(buf, formats[i].rfc3339);
  }
}

static void test_format_seconds(void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
    char buf[20]; /* the documented size, exactly */
    memset(buf, '#', sizeof(buf));
    assert_ptr_equal(lb_time_format_seconds(formats[i].ms, buf, sizeof(buf)), buf);
    assert_string_equal(buf, formats[i].seconds);
  }
}

/* format -> parse gives the same ms; parse -> format gives the canonical
 * text (UTC, three fraction digits). */
static void test_round_trips(void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
    char buf[25];
    int64_t ms = SENTINEL;
    lb_time_format_rfc3339(formats[i].ms, buf, sizeof(buf));
    assert_int_equal(lb_time_parse_rfc3339(buf, &ms), LB_E_OK);
    assert_true(ms == formats[i].ms);

    /* The seconds form plus "Z" parses to the ms floored to the second. */
    char sec[40];
    lb_time_format_seconds(formats[i].ms, buf, sizeof(buf));
    snprintf(sec, sizeof(sec), "%sZ", buf);
    assert_int_equal(lb_time_parse_rfc3339(sec, &ms), LB_E_OK);
    int64_t floored = formats[i].ms - ((formats[i].ms % 1000) + 1000) % 1000;
    assert_true(ms == floored);
  }
  for (size_t i = 0; i < sizeof(accepts) / sizeof(accepts[0]); i++) {
    char buf[25];
    int64_t a, b;
    assert_int_equal(lb_time_parse_rfc3339(accepts[i].in, &a), LB_E_OK);
    lb_time_format_rfc3339(a, buf, sizeof(buf));
    assert_int_equal(lb_time_parse_rfc3339(buf, &b), LB_E_OK);
    assert_true(a == b);
  }
  /* Every ms of a few seconds around the epoch and around a leap day. */
  static const int64_t starts[] = { -3000, INT64_C(1709251197000) };
  for (size_t s = 0; s < 2; s++) {
    for (int64_t t = starts[s]; t < starts[s] + 6000; t++) {
      char buf[25];
      int64_t back;
      lb_time_format_rfc3339(t, buf, sizeof(buf));
      assert_int_equal(lb_time_parse_rfc3339(buf, &back), LB_E_OK);
      assert_true(back == t);
    }
  }
}

/* The formats against gmtime_r + snprintf, what they replaced: a sweep
 * from year 1 to 9999 in steps that change every field, then every buffer
 * size from 0 up, cut as snprintf cuts. */
static void test_format_against_snprintf(void **state)
{
  (void)state;
  const int64_t first = INT64_C(-62135596800000), last = INT64_C(253402300799999);
  for (int64_t ms = first; ms <= last; ms += INT64_C(86399999) * 37 + 1234567) {
    struct tm tm;
    time_t secs = (time_t)((ms - ((ms % 1000) + 1000) % 1000) / 1000);
    int millis = (int)(((ms % 1000) + 1000) % 1000);
    char want[48], got[48];
    gmtime_r(&secs, &tm);
    snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
    assert_string_equal(lb_time_format_rfc3339(ms, got, sizeof(got)), want);
    want[19] = '\0';
    assert_string_equal(lb_time_format_seconds(ms, got, sizeof(got)), want);
  }
  const char *full = "2026-01-02T03:04:05.123Z";
  for (size_t len = 0; len <= 26; len++) {
    char want[32], got[32];
    memset(want, '#', sizeof(want));
    memset(got, '#', sizeof(got));
    snprintf(want, len, "%s", full);
    lb_time_format_rfc3339(INT64_C(1767323045123), got, len);
    assert_memory_equal(got, want, sizeof(got));
  }
}

static void test_clocks(void **state)
{
  (void)state;
  int64_t now = lb_time_now_ms();
  assert_true(now > INT64_C(1704067200000)); /* after 2024-01-01 */
  assert_true(now < INT64_C(4102444800000)); /* before 2100-01-01 */
  int64_t m1 = lb_time_mono_ms();
  int64_t m2 = lb_time_mono_ms();
  assert_true(m2 >= m1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_parse_accepts),
    cmocka_unit_test(test_parse_rejects),
    cmocka_unit_test(test_parse_rejects_every_prefix),
    cmocka_unit_test(test_format_rfc3339),
    cmocka_unit_test(test_format_seconds),
    cmocka_unit_test(test_format_against_snprintf),
    cmocka_unit_test(test_round_trips),
    cmocka_unit_test(test_clocks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
