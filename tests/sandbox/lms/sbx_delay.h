/* sbx_delay: resumes suspended libmicrohttpd connections at a deadline,
 * so a tenant's injected latency holds no worker thread and never delays
 * other tenants. One timer thread with a min-heap. */
#ifndef SBX_DELAY_H
#define SBX_DELAY_H

#include <stdint.h>

#include <microhttpd.h>

struct sbx_delay;

struct sbx_delay *sbx_delay_new(void);
/* Resumes conn at deadline (monotonic ms). conn must already be suspended
 * by the caller. After sbx_delay_stop, resumes at once. Any thread. */
void sbx_delay_add(struct sbx_delay *d, struct MHD_Connection *conn, uint64_t deadline_mono_ms);
/* Resumes every waiting connection now and stops the timer thread. */
void sbx_delay_stop(struct sbx_delay *d);
void sbx_delay_destroy(struct sbx_delay *d);

#endif
