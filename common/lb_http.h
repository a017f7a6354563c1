/* lb_http: asynchronous HTTP on one libcurl multi handle. Many requests in
 * flight from one thread, connections kept and reused (HTTP/2 multiplexing
 * where the server offers it), a timeout per request, TLS verification
 * always on, redirects never followed, response bodies capped: the first
 * max_body bytes are kept, and a body longer than max_read is not read to
 * its end (the transfer ends as an error naming the cap), so an endless or
 * 1 GB answer costs neither memory nor the request's whole timeout.
 *
 * Driven from the caller's loop: lb_http_run() waits for the HTTP sockets
 * and, optionally, one more file descriptor of the caller's (librdkafka's
 * queue event fd), so one thread serves Kafka and HTTP. Completion
 * callbacks run inside lb_http_run(), on that thread. Not thread-safe. */
#ifndef LB_HTTP_H
#define LB_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lb_error.h"

typedef struct lb_http lb_http;

typedef struct {
  const char *ca_bundle;  /* NULL: the system's CA store */
  size_t max_body;        /* response bytes kept; 0: 1 MiB */
  size_t max_read;        /* response bytes read at most (kept or dropped)
                           * before the transfer is aborted; 0: 16 MiB;
                           * never below max_body */
  long max_connections;   /* total connection cache; 0: 256 */
  const char *user_agent; /* NULL: "lmsbridge/<version>" */
} lb_http_options;

typedef struct {
  const char *method; /* "GET", "POST", "PATCH", "DELETE" */
  const char *url;
  const char *const *headers; /* "Name: value", nheaders (at most 12) of
                               * them; copied */
  size_t nheaders;
  const char *body; /* copied; NULL for none (a GET has none) */
  size_t body_len;
  const char *basic_user; /* HTTP Basic credentials, both or neither */
  const char *basic_password;
  long timeout_ms; /* whole request; 0: 20 s */
} lb_http_request;

/* What came back. Borrowed for the duration of the callback. */
typedef struct {
  uint64_t id;            /* the request's number in this lb_http */
  const char *request_id; /* "lb-<random tag>-<id>", sent as X-Request-Id */
  int status;             /* HTTP status; 0 when no response (see error) */
  const char *error;      /* transport error text when status is 0, else NULL
                           * (a body past max_read: "response body larger
                           * than the 16 MiB read cap, not read further") */
  const char *body;       /* NUL-terminated, at most max_body bytes */
  size_t body_len;
  bool body_truncated;        /* the server sent more than max_body (and at
                               * most max_read) */
  const char *retry_after;    /* header values, NULL when absent; at most
                               * 255 bytes, printable ASCII (any other
                               * byte is '?') */
  const char *rate_remaining; /* X-Rate-Limit-Remaining */
  const char *rate_reset;     /* X-Rate-Limit-Reset */
  const char *location;       /* Location (of a redirect, never followed) */
  double seconds;             /* total time */
} lb_http_response;

typedef void (*lb_http_done_fn)(void *opaque, const lb_http_response *resp);

/* New client; NULL on failure. curl_global_init() must have run. */
lb_http *lb_http_new(const lb_http_options *opts);
/* Aborts what is in flight (no callbacks) and frees. Accepts NULL. */
void lb_http_destroy(lb_http *h);

/* Starts a request; `done` is called exactly once from lb_http_run() (never
 * from inside this call). On failure returns an error and never calls it. */
lb_err lb_http_start(lb_http *h, const lb_http_request *req, lb_http_done_fn done, void *opaque,
                     uint64_t *ret_id);

/* Waits at most timeout_ms for network activity or for `extra_fd`
 * (-1: none) to become readable, then advances transfers and calls the
 * callbacks of finished ones. Returns the requests still in flight. */
size_t lb_http_run(lb_http *h, int timeout_ms, int extra_fd);

size_t lb_http_in_flight(const lb_http *h);

#endif
