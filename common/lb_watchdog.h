/* lb_watchdog: ends the process when a step that must end by a deadline
 * has not: for the last steps of a stop, where a call into a library can
 * block for good out of reach of our own loop's deadlines. */
#ifndef LB_WATCHDOG_H
#define LB_WATCHDOG_H

#include <stdint.h>

#include "lb_error.h"

typedef struct lb_watchdog lb_watchdog;

/* Starts a thread that, unless lb_watchdog_destroy() comes first, logs
 * `why` (a warning) at lb_time_mono_ms() == deadline_mono_ms and ends the
 * process with _exit(exit_code). *ret is NULL when it could not start
 * (out of memory or threads): the caller goes on without one. */
lb_err lb_watchdog_start(int64_t deadline_mono_ms, int exit_code, const char *why,
                         lb_watchdog **ret);

/* Stops and frees it (NULL is fine): the step ended in time. */
void lb_watchdog_destroy(lb_watchdog *w);

#endif
