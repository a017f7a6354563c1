#include "lb_obs.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lb_time.h"

#define STALE_MS 30000

struct lb_obs {
  struct MHD_Daemon *daemon;
  lb_metrics *metrics;
  int port;
  atomic_bool ready;
  atomic_llong last_beat_ms;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             char *body, bool owned)
{
  struct MHD_Response *r = MHD_create_response_from_buffer(
      strlen(body), body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
  if (!r) {
    if (owned)
      free(body);
    return MHD_NO;
  }
  MHD_add_response_header(r, "Content-Type", type);
  enum MHD_Result ret = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **state)
{
  lb_obs *o = cls;
  (void)version;
  (void)upload;
  (void)upload_size;
  (void)state;
  if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
    return reply(c, 405, "text/plain", "method not allowed\n", false);
  if (strcmp(url, "/metrics") == 0) {
    char *text = lb_metrics_render(o->metrics);
    if (!text)
      return reply(c, 500, "text/plain", "out of memory\n", false);
    return reply(c, 200, "text/plain; version=0.0.4", text, true);
  }
  if (strcmp(url, "/healthz") == 0) {
    bool alive = lb_time_mono_ms() - atomic_load(&o->last_beat_ms) < STALE_MS;
    return alive ? reply(c, 200, "text/plain", "ok\n", false)
                 : reply(c, 503, "text/plain", "event loop stalled\n", false);
  }
  if (strcmp(url, "/readyz") == 0)
    return atomic_load(&o->ready) ? reply(c, 200, "text/plain", "ready\n", false)
                                  : reply(c, 503, "text/plain", "not ready\n", false);
  return reply(c, 404, "text/plain", "not found: /metrics, /healthz, /readyz\n", false);
}

lb_obs *lb_obs_new(const char *listen, lb_metrics *m, char *err, size_t errlen)
{
  char host[128];
  const char *colon = strrchr(listen, ':');
  struct sockaddr_in addr = { .sin_family = AF_INET };
  if (!colon || (size_t)(colon - listen) >= sizeof(host)) {
    snprintf(err, errlen, "\"%s\" is not host:port", listen);
    return NULL;
  }
  snprintf(host, sizeof(host), "%.*s", (int)(colon - listen), listen);
  if (strcmp(host, "localhost") == 0)
    snprintf(host, sizeof(host), "127.0.0.1");
  if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
    snprintf(err, errlen, "\"%s\" is not an IPv4 address", host);
    return NULL;
  }
  addr.sin_port = htons((uint16_t)strtol(colon + 1, NULL, 10));
  lb_obs *o = calloc(1, sizeof(*o));
  if (!o) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  o->metrics = m;
  atomic_store(&o->last_beat_ms, lb_time_mono_ms());
  o->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                               handle, o, MHD_OPTION_SOCK_ADDR, &addr,
                               MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
  if (!o->daemon) {
    snprintf(err, errlen, "cannot listen on %s", listen);
    free(o);
    return NULL;
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(o->daemon, MHD_DAEMON_INFO_BIND_PORT);
  o->port = info ? info->port : 0;
  return o;
}

void lb_obs_destroy(lb_obs *o)
{
  if (!o)
    return;
  MHD_stop_daemon(o->daemon);
  free(o);
}

int lb_obs_port(const lb_obs *o)
{
  return o->port;
}

void lb_obs_set_ready(lb_obs *o, bool ready)
{
  atomic_store(&o->ready, ready);
}

void lb_obs_beat(lb_obs *o)
{
  atomic_store(&o->last_beat_ms, lb_time_mono_ms());
}
