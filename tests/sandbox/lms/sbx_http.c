#include "sbx_http.h"

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "sbx_delay.h"
#include "sbx_dispatch.h"

struct sbx_server {
  struct MHD_Daemon *daemon;
  struct sbx_world *world;
  struct sbx_delay *delay;
  size_t max_body;
  atomic_bool stopping;
  uint16_t port;
};

enum phase { PH_NEW, PH_BODY, PH_WAIT, PH_DONE };

/* Per-request context: created by the URI callback, freed on completion. */
struct conn_ctx {
  struct sbx_request req;
  struct sbx_buf body;
  enum phase phase;
};

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
  struct conn_ctx *ctx = sbx_xcalloc(1, sizeof(*ctx));

  (void)cls;
  (void)conn;
  sbx_request_init(&ctx->req);
  sbx_buf_init(&ctx->body);
  sbx_request_set_uri(&ctx->req, uri ? uri : "/");
  return ctx;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
  struct conn_ctx *ctx = *con_cls;

  (void)cls;
  (void)conn;
  (void)toe;
  if (!ctx)
    return;
  sbx_request_release(&ctx->req);
  sbx_buf_release(&ctx->body);
  free(ctx);
  *con_cls = NULL;
}

#define MAX_DRAIN_BYTES (1024ull * 1024 * 1024)

static bool expects_continue(struct MHD_Connection *conn)
{
  const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);

  return v && strncasecmp(v, "100-continue", 12) == 0;
}

static char *header_dup(struct MHD_Connection *conn, const char *name)
{
  const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);

  return v ? sbx_xstrdup(v) : NULL;
}

static void read_headers(struct sbx_server *srv, struct MHD_Connection *conn,
                         struct sbx_request *req, const char *method)
{
  const char *cl;
  long long n;
  char *end;

  snprintf(req->method, sizeof(req->method), "%s", method);
  req->host = header_dup(conn, MHD_HTTP_HEADER_HOST);
  req->authorization = header_dup(conn, MHD_HTTP_HEADER_AUTHORIZATION);
  req->content_type = header_dup(conn, MHD_HTTP_HEADER_CONTENT_TYPE);
  req->accept = header_dup(conn, MHD_HTTP_HEADER_ACCEPT);
  req->user_agent = header_dup(conn, MHD_HTTP_HEADER_USER_AGENT);
  req->org_code = header_dup(conn, "X-Degreed-Organization-Code");
  req->request_id = header_dup(conn, "X-Request-Id");
  req->app_key = header_dup(conn, "Application-Interface-Key");
  req->xapi_version = header_dup(conn, "X-Experience-API-Version");
  cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
  if (cl) {
    errno = 0;
    n = strtoll(cl, &end, 10);
    if (!errno && *end == '\0' && n >= 0) {
      req->has_content_length = true;
      req->content_length = (uint64_t)n;
      if ((uint64_t)n > srv->max_body)
        req->body_too_large = true;
    }
  }
  req->received_wall_ms = sbx_wall_ms();
  req->received_mono_ms = sbx_mono_ms();
  sbx_route(req);
}

/* huge_body: a JSON-looking start, then spaces, as fast as the client
 * reads; MHD stops at the declared size or when the client leaves. */
static ssize_t huge_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
  static const char start[] = "{\"data\":";
  (void)cls;
  memset(buf, ' ', max);
  for (size_t i = 0; pos + i < sizeof(start) - 1 && i < max; i++)
    buf[i] = start[pos + i];
  return (ssize_t)max;
}

/* drop_mid_response: the first half of the body, then the connection is
 * closed (the declared Content-Length is the whole body's). */
struct cut_body {
  char *body;
  size_t half;
};

static ssize_t cut_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
  struct cut_body *c = cls;
  size_t n;

  if (pos >= c->half)
    return MHD_CONTENT_READER_END_WITH_ERROR;
  n = c->half - (size_t)pos < max ? c->half - (size_t)pos : max;
  memcpy(buf, c->body + pos, n);
  return (ssize_t)n;
}

static void cut_free(void *cls)
{
  struct cut_body *c = cls;

  free(c->body);
  free(c);
}

static enum MHD_Result respond(struct sbx_server *srv, struct MHD_Connection *conn,
                               struct conn_ctx *ctx)
{
  struct sbx_request *req = &ctx->req;
  struct sbx_response resp;
  struct MHD_Response *mr;
  enum MHD_Result ret;
  size_t i;

  ctx->phase = PH_DONE;
  if (ctx->body.len)
    req->body = sbx_buf_steal(&ctx->body, &req->body_len);
  sbx_response_init(&resp);
  sbx_dispatch(srv->world, req, &resp);
  sbx_dispatch_log(srv->world, req, &resp, sbx_mono_ms());
  if (resp.status == 0) {
    sbx_response_release(&resp);
    return MHD_NO; /* close without an answer (connection_reset fault) */
  }
  if (resp.stream_bytes) {
    mr = MHD_create_response_from_callback(resp.stream_bytes, 64 * 1024, huge_reader, NULL, NULL);
  } else if (resp.cut_half && resp.body) {
    struct cut_body *c = sbx_xcalloc(1, sizeof(*c));

    c->body = resp.body;
    c->half = resp.body_len / 2;
    mr = MHD_create_response_from_callback(resp.body_len, 4096, cut_reader, c, cut_free);
    if (mr)
      resp.body = NULL; /* now owned by mr, through c */
    else
      free(c);
  } else if (resp.body) {
    mr = MHD_create_response_from_buffer(resp.body_len, resp.body, MHD_RESPMEM_MUST_FREE);
    if (mr)
      resp.body = NULL; /* now owned by mr */
  } else {
    mr = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
  }
  if (!mr) {
    sbx_response_release(&resp);
    return MHD_NO;
  }
  if ((resp.body_len || resp.stream_bytes) && resp.content_type)
    MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, resp.content_type);
  for (i = 0; i < resp.n_headers; i++)
    MHD_add_response_header(mr, resp.headers[i].name, resp.headers[i].value);
  ret = MHD_queue_response(conn, (unsigned int)resp.status, mr);
  MHD_destroy_response(mr);
  sbx_response_release(&resp);
  return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
  struct sbx_server *srv = cls;
  struct conn_ctx *ctx = *con_cls;
  uint32_t delay;

  (void)version;
  if (!ctx) {
    ctx = on_uri(srv, url, conn);
    *con_cls = ctx;
  }
  if (ctx->phase == PH_NEW) {
    read_headers(srv, conn, &ctx->req, method);
    ctx->phase = PH_BODY;
    /* A declared oversize body is answered at once when the client
     * waits for "100 Continue" or the body is huge; otherwise it is
     * read and discarded first, so simple clients see the 413
     * instead of a broken pipe. */
    if (ctx->req.body_too_large &&
        (expects_continue(conn) || ctx->req.content_length > MAX_DRAIN_BYTES))
      return respond(srv, conn, ctx);
    return MHD_YES;
  }
  if (*upload_data_size) {
    if (!ctx->req.body_too_large) {
      if (ctx->body.len + *upload_data_size > srv->max_body) {
        ctx->req.body_too_large = true;
        sbx_buf_release(&ctx->body);
      } else {
        sbx_buf_append(&ctx->body, upload_data, *upload_data_size);
      }
    }
    *upload_data_size = 0;
    return MHD_YES;
  }
  if (ctx->phase == PH_BODY && !atomic_load(&srv->stopping)) {
    delay = sbx_dispatch_latency(srv->world, &ctx->req);
    if (delay) {
      ctx->req.delay_ms = delay;
      ctx->phase = PH_WAIT;
      MHD_suspend_connection(conn);
      sbx_delay_add(srv->delay, conn, sbx_mono_ms() + delay);
      return MHD_YES;
    }
  }
  if (ctx->phase == PH_DONE)
    return MHD_NO;
  return respond(srv, conn, ctx);
}

static void quiet_logger(void *cls, const char *fmt, va_list ap)
{
  (void)cls;
  (void)fmt;
  (void)ap;
}

struct sbx_server *sbx_server_start(struct sbx_world *w, const struct sockaddr *addr,
                                    unsigned threads, char *err, size_t errlen)
{
  struct sbx_server *s = sbx_xcalloc(1, sizeof(*s));
  const union MHD_DaemonInfo *info;
  unsigned int flags =
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO;

  s->world = w;
  s->max_body = w->limits.max_body_bytes;
  atomic_init(&s->stopping, false);
  s->delay = sbx_delay_new();
  if (!s->delay) {
    snprintf(err, errlen, "cannot start the delay thread");
    free(s);
    return NULL;
  }
  if (addr->sa_family == AF_INET6)
    flags |= MHD_USE_IPv6;
  s->daemon = MHD_start_daemon(
      flags, 0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, addr, MHD_OPTION_THREAD_POOL_SIZE,
      (unsigned int)(threads > 1 ? threads : 0), MHD_OPTION_CONNECTION_LIMIT, (unsigned int)10000,
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)300, MHD_OPTION_LISTEN_BACKLOG_SIZE,
      (unsigned int)1024, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(128 * 1024),
      MHD_OPTION_URI_LOG_CALLBACK, on_uri, s, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
      MHD_OPTION_EXTERNAL_LOGGER, quiet_logger, NULL, MHD_OPTION_END);
  if (!s->daemon) {
    snprintf(err, errlen, "cannot start the HTTP server (address in use?)");
    sbx_delay_destroy(s->delay);
    free(s);
    return NULL;
  }
  info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
  s->port = info ? info->port : 0;
  return s;
}

uint16_t sbx_server_port(const struct sbx_server *s)
{
  return s->port;
}

void sbx_server_stop(struct sbx_server *s)
{
  MHD_socket fd;
  int i;

  if (!s)
    return;
  atomic_store(&s->stopping, true);
  fd = MHD_quiesce_daemon(s->daemon);
  if (fd != MHD_INVALID_SOCKET)
    close(fd);
  sbx_delay_stop(s->delay);
  /* Let resumed requests be answered before the connections close. */
  for (i = 0; i < 50; i++) {
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    struct timespec ts = { 0, 10 * 1000000L };

    if (!info || info->num_connections == 0)
      break;
    nanosleep(&ts, NULL);
  }
  MHD_stop_daemon(s->daemon);
  sbx_delay_destroy(s->delay);
  free(s);
}
