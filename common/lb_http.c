#include "lb_http.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#include "lb_list.h"
#include "lb_strbuf.h"

#define SPARE_TRANSFERS 256
#define DEFAULT_MAX_BODY (1024 * 1024)
#define DEFAULT_MAX_READ (16 * 1024 * 1024)
#define DEFAULT_TIMEOUT_MS 20000
#define MAX_HEADER_VALUE 256
#define MAX_HEADERS 14      /* the caller's, plus X-Request-Id and Expect */
#define KEPT_CAPACITY 16384 /* larger buffers are not kept for reuse */

typedef struct transfer transfer;

struct lb_http {
  CURLM *multi;
  lb_list active; /* every request in flight */
  size_t in_flight;
  size_t max_body;
  size_t max_read; /* >= max_body */
  uint64_t next_id;
  char *ca_bundle;
  char *user_agent;
  char tag[16];      /* random, in every request id: ids of different processes
                      * (and lb_http instances) do not collide */
  bool no_proxy_env; /* no proxy variable set: curl need not look */
  /* finished transfers, their easy handles still configured, for the next
   * requests: a handle reset or created per request (its buffers, its
   * option parsing, its allocations) cost more CPU than the request */
  lb_list spare;
};

/* One request in flight, on lb_http's list until it finishes; then kept
 * on the spare list with its handle and buffers. */
struct transfer {
  lb_list_node link; /* in active or spare, or in hand */
  lb_http *h;
  CURL *easy;
  /* the header list lives here, not in curl_slist_append's allocations:
   * curl only reads it */
  struct curl_slist header_nodes[MAX_HEADERS];
  lb_strbuf header_text;
  lb_strbuf body;
  lb_strbuf resp;
  bool truncated;
  bool over_read_cap; /* aborted: the body went past max_read */
  size_t received;    /* body bytes read, kept or not */
  uint64_t id;
  char request_id[48];
  char retry_after[MAX_HEADER_VALUE];
  char rate_remaining[MAX_HEADER_VALUE];
  char rate_reset[MAX_HEADER_VALUE];
  char location[MAX_HEADER_VALUE];
  char errbuf[CURL_ERROR_SIZE];
  lb_http_done_fn done;
  void *opaque;
};

lb_http *lb_http_new(const lb_http_options *opts)
{
  lb_http *h = calloc(1, sizeof(*h));
  char ua[64];
  if (!h)
    return NULL;
  h->multi = curl_multi_init();
  h->max_body = opts && opts->max_body ? opts->max_body : DEFAULT_MAX_BODY;
  h->max_read = opts && opts->max_read ? opts->max_read : DEFAULT_MAX_READ;
  if (h->max_read < h->max_body)
    h->max_read = h->max_body;
  snprintf(ua, sizeof(ua), "lmsbridge/%s", LB_VERSION);
  h->user_agent = strdup(opts && opts->user_agent ? opts->user_agent : ua);
  if (opts && opts->ca_bundle)
    h->ca_bundle = strdup(opts->ca_bundle);
  if (!h->multi || !h->user_agent || (opts && opts->ca_bundle && !h->ca_bundle)) {
    lb_http_destroy(h);
    return NULL;
  }
  uint32_t r;
  if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
    r = (uint32_t)getpid() ^ (uint32_t)(uintptr_t)h;
  snprintf(h->tag, sizeof(h->tag), "%08x", (unsigned)r);
  /* curl reads the proxy variables again for every request; the
   * environment does not change, so when none is set it is told so once */
  static const char *const proxy_vars[] = { "http_proxy",  "HTTP_PROXY", "https_proxy",
                                            "HTTPS_PROXY", "all_proxy",  "ALL_PROXY" };
  h->no_proxy_env = true;
  for (size_t i = 0; i < sizeof(proxy_vars) / sizeof(proxy_vars[0]); i++)
    if (getenv(proxy_vars[i]))
      h->no_proxy_env = false;
  long maxconn = opts && opts->max_connections ? opts->max_connections : 256;
  curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, maxconn);
  curl_multi_setopt(h->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
  return h;
}

static void transfer_destroy(transfer *t)
{
  if (t->easy)
    curl_easy_cleanup(t->easy);
  lb_strbuf_release(&t->header_text);
  lb_strbuf_release(&t->body);
  lb_strbuf_release(&t->resp);
  free(t);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata);
static size_t on_header(char *line, size_t size, size_t nmemb, void *userdata);

/* A new transfer whose handle carries the options every request shares. */
static transfer *transfer_new(lb_http *h)
{
  transfer *t = calloc(1, sizeof(*t));
  if (!t)
    return NULL;
  t->h = h;
  lb_strbuf_init(&t->header_text, 0);
  lb_strbuf_init(&t->body, 0);
  lb_strbuf_init(&t->resp, h->max_body);
  CURL *e = t->easy = curl_easy_init();
  if (!e) {
    free(t);
    return NULL;
  }
  curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)t);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
  if (h->ca_bundle)
    curl_easy_setopt(e, CURLOPT_CAINFO, h->ca_bundle);
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
  curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  if (h->no_proxy_env) {
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_NOPROXY, "");
  }
  curl_easy_setopt(e, CURLOPT_USERAGENT, h->user_agent);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
  return t;
}

/* A transfer for a new request: a spare one, else a new one. */
static transfer *transfer_get(lb_http *h)
{
  lb_list_node *n = lb_list_pop_front(&h->spare);
  return n ? LB_CONTAINER_OF(n, transfer, link) : transfer_new(h);
}

/* A buffer of a spare transfer keeps its memory unless it grew large. */
static void buffer_recycle(lb_strbuf *b)
{
  if (b->cap > KEPT_CAPACITY)
    lb_strbuf_release(b);
  else
    lb_strbuf_reset(b);
}

/* Off the in-flight list and out of the multi handle; kept as a spare. */
static void transfer_free(transfer *t)
{
  lb_http *h = t->h;
  if (lb_list_linked(&h->active, &t->link))
    lb_list_remove(&h->active, &t->link);
  curl_multi_remove_handle(h->multi, t->easy);
  if (lb_list_len(&h->spare) >= SPARE_TRANSFERS) {
    transfer_destroy(t);
    return;
  }
  buffer_recycle(&t->header_text);
  buffer_recycle(&t->body);
  buffer_recycle(&t->resp);
  t->truncated = false;
  t->over_read_cap = false;
  t->received = 0;
  t->done = NULL;
  t->opaque = NULL;
  lb_list_push_front(&h->spare, &t->link);
}

void lb_http_destroy(lb_http *h)
{
  if (!h)
    return;
  LB_LIST_EACH_SAFE (transfer, t, &h->active, link)
    transfer_free(t);
  LB_LIST_EACH_SAFE (transfer, t, &h->spare, link)
    transfer_destroy(t);
  if (h->multi)
    curl_multi_cleanup(h->multi);
  free(h->ca_bundle);
  free(h->user_agent);
  free(h);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
  transfer *t = userdata;
  size_t n = size * nmemb;
  size_t room = t->h->max_body - t->resp.len;
  /* a peer controls the length: past the read cap the transfer ends (curl
   * reports a write error, the connection is closed) */
  if (n > t->h->max_read - t->received) {
    t->over_read_cap = true;
    return 0;
  }
  t->received += n;
  if (n > room) {
    t->truncated = true;
    if (room)
      lb_strbuf_append_len(&t->resp, data, room);
  } else {
    lb_strbuf_append_len(&t->resp, data, n);
  }
  return n; /* up to max_read: read (and drop) so the connection stays usable */
}

/* Copies the value of header line `line` into `out` when its name matches. */
static void take_header(const char *line, size_t len, const char *name, char *out)
{
  size_t nlen = strlen(name);
  if (len <= nlen || strncasecmp(line, name, nlen) != 0 || line[nlen] != ':')
    return;
  const char *v = line + nlen + 1;
  const char *end = line + len;
  while (v < end && (*v == ' ' || *v == '\t'))
    v++;
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
    end--;
  size_t n = (size_t)(end - v);
  if (n >= MAX_HEADER_VALUE)
    n = MAX_HEADER_VALUE - 1;
  /* a peer's bytes: only printable ASCII goes on (to logs, to dead letters) */
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)v[i];
    out[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
  }
  out[n] = '\0';
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *userdata)
{
  transfer *t = userdata;
  size_t n = size * nmemb;
  /* A new status line (after a 100 Continue, say) starts a new response. */
  if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
    t->retry_after[0] = t->rate_remaining[0] = t->rate_reset[0] = t->location[0] = '\0';
    return n;
  }
  take_header(line, n, "Retry-After", t->retry_after);
  take_header(line, n, "Location", t->location);
  take_header(line, n, "X-Rate-Limit-Remaining", t->rate_remaining);
  take_header(line, n, "X-Rate-Limit-Reset", t->rate_reset);
  return n;
}

/* The request's headers, ours after the caller's, into the transfer's
 * own list nodes. */
static lb_err set_headers(transfer *t, const lb_http_request *req)
{
  char idhdr[80];
  const char *extra[] = { idhdr, "Expect:" }; /* no 100-continue round trip */
  size_t n = req->nheaders + 2;
  if (n > MAX_HEADERS)
    return LB_E_INVALID;
  lb_strbuf_concat(idhdr, sizeof(idhdr), "X-Request-Id: ", t->request_id, (char *)NULL);
  /* every string first (the buffer may move), then the nodes */
  for (size_t i = 0; i < n; i++) {
    const char *v = i < req->nheaders ? req->headers[i] : extra[i - req->nheaders];
    if (lb_strbuf_append_len(&t->header_text, v, strlen(v) + 1) < 0)
      return LB_E_NOMEM;
  }
  const char *p = t->header_text.buf;
  for (size_t i = 0; i < n; i++) {
    t->header_nodes[i].data = (char *)p;
    t->header_nodes[i].next = i + 1 < n ? &t->header_nodes[i + 1] : NULL;
    p += strlen(p) + 1;
  }
  return LB_E_OK;
}

/* What changes from one request to the next: every option a previous
 * request of this handle may have set is set again. */
static void set_request(transfer *t, const lb_http_request *req)
{
  CURL *e = t->easy;
  const char *method = req->method ? req->method : "GET";
  curl_easy_setopt(e, CURLOPT_URL, req->url);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                   req->timeout_ms > 0 ? req->timeout_ms : (long)DEFAULT_TIMEOUT_MS);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->header_nodes);
  curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
  curl_easy_setopt(e, CURLOPT_USERNAME, req->basic_user);
  curl_easy_setopt(e, CURLOPT_PASSWORD,
                   req->basic_user && !req->basic_password ? "" : req->basic_password);
  if (req->body || strcmp(method, "POST") == 0) {
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)t->body.len);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->body.buf ? t->body.buf : "");
  } else {
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  }
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST,
                   strcmp(method, "GET") == 0 || strcmp(method, "POST") == 0 ? NULL : method);
}

lb_err lb_http_start(lb_http *h, const lb_http_request *req, lb_http_done_fn done, void *opaque,
                     uint64_t *ret_id)
{
  if (req->body && req->method && strcmp(req->method, "GET") == 0)
    return LB_E_INVALID; /* curl would send it as a POST */
  transfer *t = transfer_get(h);
  lb_err rc;
  if (!t)
    return LB_E_NOMEM;
  t->done = done;
  t->opaque = opaque;
  t->id = ++h->next_id;
  char id[LB_STRBUF_I64_MAX];
  lb_strbuf_concat(t->request_id, sizeof(t->request_id), "lb-", h->tag, "-",
                   lb_strbuf_i64(id, (int64_t)t->id), (char *)NULL);
  t->errbuf[0] = '\0';
  t->over_read_cap = false;
  t->received = 0;
  t->retry_after[0] = t->rate_remaining[0] = t->rate_reset[0] = t->location[0] = '\0';
  if ((rc = set_headers(t, req)) != LB_E_OK)
    goto fail;
  rc = LB_E_NOMEM;
  if (req->body && lb_strbuf_append_len(&t->body, req->body, req->body_len) < 0)
    goto fail;
  set_request(t, req);
  if (curl_multi_add_handle(h->multi, t->easy) != CURLM_OK) {
    rc = LB_E_IO;
    goto fail;
  }
  h->in_flight++;
  lb_list_push_front(&h->active, &t->link);
  if (ret_id)
    *ret_id = t->id;
  return LB_E_OK;
fail:
  transfer_free(t);
  return rc;
}

static void finish(lb_http *h, CURL *easy, CURLcode result)
{
  transfer *t = NULL;
  long status = 0;
  double seconds = 0;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME, &seconds);
  h->in_flight--;
  lb_http_response r = {
    .id = t->id,
    .request_id = t->request_id,
    .status = result == CURLE_OK ? (int)status : 0,
    .body = t->resp.buf ? t->resp.buf : "",
    .body_len = t->resp.len,
    .body_truncated = t->truncated,
    .retry_after = t->retry_after[0] ? t->retry_after : NULL,
    .rate_remaining = t->rate_remaining[0] ? t->rate_remaining : NULL,
    .rate_reset = t->rate_reset[0] ? t->rate_reset : NULL,
    .location = t->location[0] ? t->location : NULL,
    .seconds = seconds,
  };
  if (result != CURLE_OK && t->over_read_cap) {
    size_t mib = h->max_read / (1024 * 1024);
    if (mib && h->max_read % (1024 * 1024) == 0)
      snprintf(t->errbuf, sizeof(t->errbuf),
               "response body larger than the %zu MiB read cap, not read further", mib);
    else
      snprintf(t->errbuf, sizeof(t->errbuf),
               "response body larger than the %zu-byte read cap, not read further", h->max_read);
    r.error = t->errbuf;
  } else if (result != CURLE_OK) {
    r.error = t->errbuf[0] ? t->errbuf : curl_easy_strerror(result);
  }
  /* The callback may start new requests; this one is freed after it. */
  t->done(t->opaque, &r);
  transfer_free(t);
}

/* Calls the callbacks of finished transfers; returns how many. */
static int reap(lb_http *h)
{
  CURLMsg *msg;
  int left, n = 0;
  while ((msg = curl_multi_info_read(h->multi, &left))) {
    if (msg->msg == CURLMSG_DONE) {
      finish(h, msg->easy_handle, msg->data.result);
      n++;
    }
  }
  return n;
}

size_t lb_http_run(lb_http *h, int timeout_ms, int extra_fd)
{
  struct curl_waitfd extra = { .fd = extra_fd, .events = CURL_WAIT_POLLIN };
  int running = 0, numfds = 0;

  /* what is ready now first: a response that already arrived must not
   * wait for the poll's timeout */
  curl_multi_perform(h->multi, &running);
  if (reap(h) > 0)
    return h->in_flight;
  curl_multi_poll(h->multi, extra_fd >= 0 ? &extra : NULL, extra_fd >= 0 ? 1 : 0, timeout_ms,
                  &numfds);
  curl_multi_perform(h->multi, &running);
  reap(h);
  return h->in_flight;
}

size_t lb_http_in_flight(const lb_http *h)
{
  return h->in_flight;
}
