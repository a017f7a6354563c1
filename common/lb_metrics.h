/* lb_metrics: counters, gauges and histograms with labels, rendered in the
 * Prometheus text format (docs/metrics.md). Updated by the event loop,
 * rendered by the observability server's thread: thread-safe. */
#ifndef LB_METRICS_H
#define LB_METRICS_H

#include <stddef.h>

typedef struct lb_metrics lb_metrics;

typedef enum { LB_COUNTER, LB_GAUGE, LB_HISTOGRAM } lb_metric_type;

lb_metrics *lb_metrics_new(void);
void lb_metrics_destroy(lb_metrics *m);

/* Declares a metric family (name, type, help) once, before use. */
void lb_metrics_declare(lb_metrics *m, const char *name, lb_metric_type type, const char *help);

/* `labels` is the text between the braces, e.g.
 * "integration=\"acme\",outcome=\"success\"" (values already escaped with
 * lb_metrics_label()), or "" for none. */
void lb_metrics_add(lb_metrics *m, const char *name, const char *labels, double v);
void lb_metrics_set(lb_metrics *m, const char *name, const char *labels, double v);
void lb_metrics_observe(lb_metrics *m, const char *name, const char *labels, double v);
/* Drops every series of `name` (gauges recomputed from scratch). */
void lb_metrics_clear(lb_metrics *m, const char *name);

/* The value of one series (0 when absent), or with labels NULL the sum of
 * the family's series; for tests, health checks and the stop's summary. */
double lb_metrics_get(lb_metrics *m, const char *name, const char *labels);

/* key="value" with the value escaped, appended to buf (NUL-terminated,
 * truncated at len). Returns buf. */
char *lb_metrics_label(char *buf, size_t len, const char *key, const char *value);

/* The whole exposition as text. New string (free() it). */
char *lb_metrics_render(lb_metrics *m);

#endif
