/* lb_time: RFC 3339 parsing and the timestamp formats the LMS APIs want.
 * Pure functions; all times are UTC epoch milliseconds. */
#ifndef LB_TIME_H
#define LB_TIME_H

#include <stddef.h>
#include <stdint.h>

#include "lb_error.h"

/* Parses the strict RFC 3339 form of schemas/ (uppercase T and Z, optional
 * fraction of up to 9 digits, Z or +hh:mm) and rejects impossible calendar
 * dates. A leap second (:60) counts as :59.999. On success sets *ret_ms;
 * on failure leaves it untouched and returns LB_E_PARSE. */
lb_err lb_time_parse_rfc3339(const char *s, int64_t *ret_ms);

/* "2026-01-02T03:04:05.123Z"; buf needs 25 bytes. Returns buf. */
char *lb_time_format_rfc3339(int64_t ms, char *buf, size_t len);
/* "2026-01-02T03:04:05" in UTC, Degreed's completed-at form; 20 bytes. */
char *lb_time_format_seconds(int64_t ms, char *buf, size_t len);

/* Wall clock (CLOCK_REALTIME) and monotonic clock in milliseconds. */
int64_t lb_time_now_ms(void);
int64_t lb_time_mono_ms(void);

#endif
