/* lb_obs: the observability HTTP server on observability.listen:
 * /metrics (Prometheus text from lb_metrics), /healthz (the event loop
 * beat within the last 30 s), /readyz (assigned partitions and connected,
 * and not shutting down). libmicrohttpd runs it on its own thread. */
#ifndef LB_OBS_H
#define LB_OBS_H

#include <stdbool.h>
#include <stddef.h>

#include "lb_error.h"
#include "lb_metrics.h"

typedef struct lb_obs lb_obs;

/* Listens on "host:port" (port 0: any free port). `m` is borrowed. On
 * failure returns NULL with why in err. */
lb_obs *lb_obs_new(const char *listen, lb_metrics *m, char *err, size_t errlen);
/* Stops the server. Accepts NULL. */
void lb_obs_destroy(lb_obs *o);

/* The port it listens on. */
int lb_obs_port(const lb_obs *o);
void lb_obs_set_ready(lb_obs *o, bool ready);
/* The event loop is alive: called on every turn. */
void lb_obs_beat(lb_obs *o);

#endif
