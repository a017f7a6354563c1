/* lb_tokens: token responses (the reference's test vectors T2/T2b) and the
 * token request of each API; then the cache against lms-sandbox, with the
 * clock passed in: one fetch at a time, the refresh from 80% of the
 * lifetime with the old token still in use, expiry at 100%, failed fetches
 * backing off (1 s, 2 s) while the old token stays, invalidation by
 * generation. Behaviour under load is in test_lb_client. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lb_test_sandbox.h"
#include "lb_time.h"
#include "lb_tokens.h"

static void test_parse_token_responses(void **state)
{
  (void)state;
  static const struct {
    const char *body;
    bool ok;
    int64_t expires;
  } cases[] = {
    { "{\"access_token\":\"abc\",\"token_type\":\"bearer\",\"expires_in\":5183999,\"refresh_"
      "token\":\"r\"}",
      true, 5183999 },
    { "{\"expires_in\": 1800, \"access_token\": \"access_token\"}", true, 1800 },
    { "{\"access_token\":\"abc\",\"expires_in\":1800.5}", true, 1800 },
    /* under a second counts as one: a zero lifetime would refetch at once */
    { "{\"access_token\":\"abc\",\"expires_in\":0.25}", true, 1 },
    { "{\"issuedFor\": \"learning_public_api\"}", false, 0 },
    { "", false, 0 },
    { "not json", false, 0 },
    { "[]", false, 0 },
    { "{\"access_token\":\"\",\"expires_in\":10}", false, 0 },
    { "{\"access_token\":7,\"expires_in\":10}", false, 0 },
    { "{\"access_token\":\"abc\"}", false, 0 },
    { "{\"access_token\":\"abc\",\"expires_in\":0}", false, 0 },
    { "{\"access_token\":\"abc\",\"expires_in\":-5}", false, 0 },
    { "{\"access_token\":\"abc\",\"expires_in\":true}", false, 0 },
    { "{\"access_token\":\"abc\",\"expires_in\":\"1800\"}", false, 0 },
    /* RFC 6750 b64token: letters, digits, -._~+/ then trailing '=' only */
    { "{\"access_token\":\"eyJ0.a-b_c~d+e/f==\",\"expires_in\":60}", true, 60 },
    { "{\"access_token\":\"abc\\r\\nX-Injected: 1\",\"expires_in\":60}", false, 0 },
    { "{\"access_token\":\"abc\\nX\",\"expires_in\":60}", false, 0 },
    { "{\"access_token\":\"ab c\",\"expires_in\":60}", false, 0 },
    { "{\"access_token\":\"ab\\\"c\",\"expires_in\":60}", false, 0 },
    { "{\"access_token\":\"abc\\u0000def\",\"expires_in\":60}", false, 0 },
    { "{\"access_token\":\"==\",\"expires_in\":60}", false, 0 },
    { "{\"access_token\":\"a=b\",\"expires_in\":60}", false, 0 },
    { "{\"access_token\":\"caf\u00e9\",\"expires_in\":60}", false, 0 },
    /* absurd lifetimes are capped at 400 days */
    { "{\"access_token\":\"abc\",\"expires_in\":1e12}", true, 400LL * 86400 },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *token = NULL, err[160] = "";
    int64_t expires = -1;
    lb_err rc =
        lb_tokens_parse(cases[i].body, strlen(cases[i].body), &token, &expires, err, sizeof(err));
    if ((rc == LB_E_OK) != cases[i].ok)
      fail_msg("case %zu: rc %d (%s)", i, rc, err);
    if (cases[i].ok) {
      assert_int_equal(expires, cases[i].expires);
      assert_non_null(token);
    } else {
      assert_null(token);
      assert_true(strlen(err) > 0);
      assert_int_equal(expires, -1);
    }
    free(token);
  }
  /* a 200 HTML page (a proxy's, a login or maintenance page) is said to be one */
  static const char *const pages[] = { "<!DOCTYPE html><html><body>Maintenance</body></html>",
                                       "\r\n  <html>", "not json" };
  for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
    char *token = NULL, err[160] = "";
    int64_t expires = -1;
    assert_int_equal(
        lb_tokens_parse(pages[i], strlen(pages[i]), &token, &expires, err, sizeof(err)),
        LB_E_PARSE);
    assert_null(token);
    assert_non_null(strstr(err, "token response is not a JSON object"));
    assert_true((strstr(err, "(an HTML page)") != NULL) == (pages[i][0] != 'n'));
  }
}

static void test_request_bodies(void **state)
{
  (void)state;
  char *body = NULL;
  const char *ctype = NULL;
  lb_integration degreed = { .type = LB_INTEG_DEGREED,
                             .client_id = "id 1",
                             .client_secret = "s&e=c+r/t",
                             .scopes = "content:read,content:write" };
  assert_int_equal(lb_tokens_request_body(&degreed, &body, &ctype), LB_E_OK);
  assert_string_equal(ctype, "application/x-www-form-urlencoded");
  assert_string_equal(body, "grant_type=client_credentials&client_id=id%201"
                            "&client_secret=s%26e%3Dc%2Br%2Ft"
                            "&scope=content%3Aread%2Ccontent%3Awrite");
  free(body);

  lb_integration sf = { .type = LB_INTEG_SUCCESSFACTORS,
                        .client_id = "GLOBEX",
                        .client_secret = "x",
                        .company_id = "GLOBEX",
                        .admin_user = "ocn_admin" };
  assert_int_equal(lb_tokens_request_body(&sf, &body, &ctype), LB_E_OK);
  assert_string_equal(ctype, "application/json");
  /* the secret travels in the Basic header, never in this body */
  assert_string_equal(body, "{\"grant_type\":\"client_credentials\",\"scope\":{\"userId\":"
                            "\"ocn_admin\",\"companyId\":\"GLOBEX\",\"userType\":\"admin\","
                            "\"resourceType\":\"learning_public_api\"}}");
  free(body);
}

/* ---- the cache, against lms-sandbox ---- */

static lb_test_lms lms;

static int start_sandbox(void **state)
{
  (void)state;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  /* tokens that last 100 s */
  lb_test_lms_start(&lms, "{\"tenants\":[{\"name\":\"tk\",\"degreed\":{\"clients\":[{"
                          "\"client_id\":\"tk-id\",\"client_secret\":\"tk-secret-1\"}],"
                          "\"token_expires_in\":100}}]}");
  return 0;
}

static int stop_sandbox(void **state)
{
  (void)state;
  lb_test_lms_stop(&lms);
  curl_global_cleanup();
  return 0;
}

typedef struct {
  int calls, ok;
  lb_token_outcome last;
  char error[256];
} readiness;

static void on_ready(void *opaque, size_t index, lb_token_outcome outcome, const char *error)
{
  readiness *r = opaque;
  assert_int_equal(index, 0);
  r->calls++;
  r->ok += outcome == LB_TOKEN_OK;
  r->last = outcome;
  snprintf(r->error, sizeof(r->error), "%s", error ? error : "");
}

/* Runs the HTTP loop until `ready` was called `n` times in all. */
static void pump_until(lb_http *h, const readiness *r, int n)
{
  int64_t end = lb_time_mono_ms() + 10000;
  while (r->calls < n && lb_time_mono_ms() < end)
    lb_http_run(h, 50, -1);
  assert_int_equal(r->calls, n);
}

/* `got` is the token `want` (a NULL fails the test instead of crashing it). */
static void assert_token(const char *got, const char *want)
{
  assert_non_null(got);
  assert_string_equal(got, want);
}

typedef struct {
  char url[256];
  lb_integration in;
  lb_http *http;
  lb_tokens *tokens;
  readiness ready;
} cache;

static void cache_open(cache *c)
{
  memset(c, 0, sizeof(*c));
  snprintf(c->url, sizeof(c->url), "%s/t/tk/oauth/token", lms.base_url);
  c->in = (lb_integration){ .id = "tk",
                            .type = LB_INTEG_DEGREED,
                            .token_url = c->url,
                            .client_id = "tk-id",
                            .client_secret = "tk-secret-1",
                            .scopes = "content:read" };
  c->http = lb_http_new(NULL);
  assert_non_null(c->http);
  c->tokens = lb_tokens_new(c->http, &c->in, 1, 5000, on_ready, &c->ready);
  assert_non_null(c->tokens);
}

static void cache_close(cache *c)
{
  lb_http_destroy(c->http); /* first: it drops fetches in flight */
  lb_tokens_destroy(c->tokens);
}

/* The first token, fetched between *ret_t0 and *ret_t1 (monotonic). */
static void first_token(cache *c, char *tok, size_t len, unsigned *gen, int64_t *ret_t0,
                        int64_t *ret_t1)
{
  *ret_t0 = lb_time_mono_ms();
  assert_null(lb_tokens_get(c->tokens, 0, *ret_t0, gen));
  assert_int_equal(lb_http_in_flight(c->http), 1);
  /* asked again while it is on its way: no second fetch */
  assert_null(lb_tokens_get(c->tokens, 0, *ret_t0, gen));
  assert_int_equal(lb_http_in_flight(c->http), 1);
  pump_until(c->http, &c->ready, c->ready.calls + 1);
  assert_int_equal(c->ready.ok, 1);
  *ret_t1 = lb_time_mono_ms();
  const char *t = lb_tokens_get(c->tokens, 0, *ret_t1, gen);
  assert_non_null(t);
  assert_int_equal(strlen(t), 40);
  snprintf(tok, len, "%s", t);
}

static void test_refresh_at_80_percent_and_expiry(void **state)
{
  (void)state;
  cache c;
  char first[64];
  unsigned gen = 0, gen1 = 0;
  int64_t t0, t1;
  cache_open(&c);
  first_token(&c, first, sizeof(first), &gen1, &t0, &t1);

  /* Lifetime 100 s, counted from the answer (between t0 and t1): the
   * token is used alone until 80 s ... */
  const char *t = lb_tokens_get(c.tokens, 0, t0 + 79999, &gen);
  assert_token(t, first);
  assert_int_equal(gen, gen1);
  assert_int_equal(lb_http_in_flight(c.http), 0);
  assert_int_equal(lb_tokens_fetches(c.tokens, 0, true), 1);

  /* ... from 80 s a refresh goes out, the old token still served ... */
  t = lb_tokens_get(c.tokens, 0, t1 + 80000, &gen);
  assert_token(t, first);
  assert_int_equal(gen, gen1);
  assert_int_equal(lb_http_in_flight(c.http), 1);
  t = lb_tokens_get(c.tokens, 0, t0 + 99999, &gen); /* one refresh at a time */
  assert_token(t, first);
  assert_int_equal(lb_http_in_flight(c.http), 1);

  /* ... and at 100 s it is no longer used, even with the refresh late */
  assert_null(lb_tokens_get(c.tokens, 0, t1 + 100000, &gen));
  assert_int_equal(lb_http_in_flight(c.http), 1);
  pump_until(c.http, &c.ready, 2);
  assert_int_equal(c.ready.ok, 2);
  t = lb_tokens_get(c.tokens, 0, lb_time_mono_ms(), &gen);
  assert_non_null(t);
  assert_string_not_equal(t, first);
  assert_true(gen != gen1);
  assert_int_equal(lb_tokens_fetches(c.tokens, 0, true), 2);
  assert_int_equal(lb_tokens_fetches(c.tokens, 0, false), 0);

  /* a 401 with the replaced token's generation drops nothing; with the
   * current one the token goes and the next get fetches */
  unsigned gen2 = gen;
  lb_tokens_invalidate(c.tokens, 0, gen1);
  assert_non_null(lb_tokens_get(c.tokens, 0, lb_time_mono_ms(), &gen));
  assert_int_equal(lb_http_in_flight(c.http), 0);
  lb_tokens_invalidate(c.tokens, 0, gen2);
  assert_null(lb_tokens_get(c.tokens, 0, lb_time_mono_ms(), &gen));
  assert_int_equal(lb_http_in_flight(c.http), 1);
  pump_until(c.http, &c.ready, 3);
  assert_int_equal(lb_tokens_fetches(c.tokens, 0, true), 3);
  cache_close(&c);
}

/* A reload: the token goes to the next cache when the integration's id,
 * token URL, client and request are the same, with its lifetime and
 * refresh time as they were; a rotated secret, a changed scope or another
 * id fetch anew. */
static void test_tokens_carried_over_a_reload(void **state)
{
  (void)state;
  cache c;
  char first[64];
  unsigned gen = 0;
  int64_t t0, t1;
  cache_open(&c);
  first_token(&c, first, sizeof(first), &gen, &t0, &t1);

  /* nothing live, nothing kept */
  cache empty;
  cache_open(&empty);
  assert_null(lb_tokens_keep(empty.tokens, lb_time_mono_ms()));
  cache_close(&empty);

  static const struct {
    char *why, *id, *secret, *scopes;
    bool carried;
  } cases[] = {
    { "unchanged", "tk", "tk-secret-1", "content:read", true },
    { "secret rotated", "tk", "tk-secret-2", "content:read", false },
    { "scope changed", "tk", "tk-secret-1", "content:read,content:write", false },
    { "another integration", "tk2", "tk-secret-1", "content:read", false },
  };
  for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
    if (k > 0) { /* a live token in the old cache again */
      cache_close(&c);
      cache_open(&c);
      first_token(&c, first, sizeof(first), &gen, &t0, &t1);
    }
    int64_t now = lb_time_mono_ms();
    lb_tokens_kept *kept = lb_tokens_keep(c.tokens, now);
    assert_non_null(kept);
    /* taken out: the old cache holds it no more (it would fetch) */
    assert_null(lb_tokens_get(c.tokens, 0, now, &gen));

    cache next;
    cache_open(&next);
    next.in.id = cases[k].id;
    next.in.client_secret = cases[k].secret;
    next.in.scopes = cases[k].scopes;
    size_t taken = lb_tokens_adopt(next.tokens, kept, now + 1000);
    print_message("%s: %zu carried\n", cases[k].why, taken);
    assert_int_equal(taken, cases[k].carried ? 1 : 0);
    const char *t = lb_tokens_get(next.tokens, 0, now + 1000, &gen);
    if (cases[k].carried) {
      assert_token(t, first);
      assert_int_equal(lb_http_in_flight(next.http), 0); /* no token request */
      /* its refresh time came along: a refresh at 80 s of its lifetime, no
       * use past 100 s */
      assert_non_null(lb_tokens_get(next.tokens, 0, t0 + 79000, &gen));
      assert_int_equal(lb_http_in_flight(next.http), 0);
      assert_null(lb_tokens_get(next.tokens, 0, t1 + 100000, &gen));
    } else {
      assert_null(t);
      assert_int_equal(lb_http_in_flight(next.http), 1);
    }
    cache_close(&next);
  }
  cache_close(&c);
  lb_tokens_kept_destroy(NULL);
}

/* A failed fetch backs off 1 s, then 2 s (the clock is the real one
 * here: lb_tokens_retry_at() is on it); the third succeeds. */
static void test_failed_fetches_back_off(void **state)
{
  (void)state;
  cache c;
  unsigned gen = 0;
  cache_open(&c);
  lb_test_post_json(&lms, "/_sandbox/faults",
                    "{\"tenant\":\"tk\",\"token_failures\":{\"count\":2,\"status\":503,"
                    "\"api\":\"all\"}}");
  int64_t before = lb_time_mono_ms();
  assert_null(lb_tokens_get(c.tokens, 0, before, &gen));
  assert_int_equal(lb_tokens_retry_at(c.tokens, 0), 0); /* on its way */
  pump_until(c.http, &c.ready, 1);
  int64_t after = lb_time_mono_ms();
  assert_int_equal(c.ready.ok, 0);
  assert_int_equal(c.ready.last, LB_TOKEN_FAILED); /* a 503 is worth retrying */
  assert_non_null(strstr(c.ready.error, "503"));
  int64_t retry = lb_tokens_retry_at(c.tokens, 0);
  assert_true(retry >= before + 1000 && retry <= after + 1000);
  assert_null(lb_tokens_get(c.tokens, 0, retry - 1, &gen));
  assert_int_equal(lb_http_in_flight(c.http), 0); /* backing off */

  assert_null(lb_tokens_get(c.tokens, 0, retry, &gen));
  assert_int_equal(lb_http_in_flight(c.http), 1);
  before = lb_time_mono_ms();
  pump_until(c.http, &c.ready, 2);
  after = lb_time_mono_ms();
  retry = lb_tokens_retry_at(c.tokens, 0);
  assert_true(retry >= before + 2000 && retry <= after + 2000);
  assert_null(lb_tokens_get(c.tokens, 0, retry - 1, &gen));
  assert_int_equal(lb_http_in_flight(c.http), 0);
  assert_int_equal(lb_tokens_fetches(c.tokens, 0, false), 2);

  assert_null(lb_tokens_get(c.tokens, 0, retry, &gen));
  pump_until(c.http, &c.ready, 3);
  assert_int_equal(c.ready.ok, 1);
  assert_int_equal(lb_tokens_retry_at(c.tokens, 0), 0); /* back-off forgotten */
  assert_non_null(lb_tokens_get(c.tokens, 0, lb_time_mono_ms(), &gen));
  assert_int_equal(lb_tokens_fetches(c.tokens, 0, true), 1);
  cache_close(&c);
}

/* A refresh that fails leaves the old token in use until it expires. */
static void test_failed_refresh_keeps_the_token(void **state)
{
  (void)state;
  cache c;
  char first[64];
  unsigned gen = 0, gen1 = 0;
  int64_t t0, t1;
  cache_open(&c);
  first_token(&c, first, sizeof(first), &gen1, &t0, &t1);
  lb_test_post_json(&lms, "/_sandbox/faults",
                    "{\"tenant\":\"tk\",\"token_failures\":{\"count\":1,\"status\":503,"
                    "\"api\":\"all\"}}");
  assert_token(lb_tokens_get(c.tokens, 0, t1 + 80000, &gen), first);
  assert_int_equal(lb_http_in_flight(c.http), 1);
  pump_until(c.http, &c.ready, 2);
  assert_int_equal(c.ready.ok, 1); /* the first fetch only */
  assert_token(lb_tokens_get(c.tokens, 0, t1 + 80000, &gen), first);
  assert_int_equal(gen, gen1);
  assert_token(lb_tokens_get(c.tokens, 0, t0 + 99999, &gen), first);
  assert_null(lb_tokens_get(c.tokens, 0, t1 + 100000, &gen));
  cache_close(&c);
}

/* ---- a token endpoint that answers a header-injecting token ---- */

typedef struct {
  int fd;
  int requests;
} evil_server;

/* Answers every request on `fd` with a token holding CR LF and a header of
 * its own, until the listening socket is shut down. */
static void *evil_serve(void *arg)
{
  evil_server *es = arg;
  static const char body[] =
      "{\"access_token\":\"s3cr3tTok\\r\\nX-Injected: 1\",\"expires_in\":600}";
  for (;;) {
    int c = accept(es->fd, NULL, NULL);
    if (c < 0)
      return NULL;
    char req[4096];
    size_t got = 0;
    ssize_t n;
    /* the whole request: headers, then the Content-Length body */
    while (got < sizeof(req) - 1 && (n = read(c, req + got, sizeof(req) - 1 - got)) > 0) {
      got += (size_t)n;
      req[got] = '\0';
      char *end = strstr(req, "\r\n\r\n");
      const char *cl = strstr(req, "Content-Length:");
      if (end && (!cl || (size_t)(end + 4 - req) + strtoul(cl + 15, NULL, 10) <= got))
        break;
    }
    es->requests++;
    char resp[512];
    int len = snprintf(resp, sizeof(resp),
                       "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                       "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                       strlen(body), body);
    if (write(c, resp, (size_t)len) != len)
      fail_msg("write: %s", strerror(errno));
    close(c);
  }
}

static void test_header_injecting_token_refused(void **state)
{
  (void)state;
  evil_server es = { .fd = socket(AF_INET, SOCK_STREAM, 0) };
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  socklen_t alen = sizeof(a);
  assert_true(es.fd >= 0);
  assert_int_equal(bind(es.fd, (struct sockaddr *)&a, sizeof(a)), 0);
  assert_int_equal(listen(es.fd, 8), 0);
  assert_int_equal(getsockname(es.fd, (struct sockaddr *)&a, &alen), 0);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, evil_serve, &es), 0);

  cache c;
  memset(&c, 0, sizeof(c));
  snprintf(c.url, sizeof(c.url), "http://127.0.0.1:%d/oauth/token", ntohs(a.sin_port));
  c.in = (lb_integration){ .id = "evil",
                           .type = LB_INTEG_DEGREED,
                           .token_url = c.url,
                           .client_id = "evil-id",
                           .client_secret = "evil-secret",
                           .scopes = "content:read" };
  c.http = lb_http_new(NULL);
  assert_non_null(c.http);
  c.tokens = lb_tokens_new(c.http, &c.in, 1, 5000, on_ready, &c.ready);
  assert_non_null(c.tokens);

  unsigned gen = 0;
  int64_t now = lb_time_mono_ms();
  assert_null(lb_tokens_get(c.tokens, 0, now, &gen));
  pump_until(c.http, &c.ready, 1);
  /* the fetch reached the endpoint and its answer was refused, with a reason
   * that neither quotes the token nor the injected header */
  assert_int_equal(es.requests, 1);
  assert_int_equal(c.ready.ok, 0);
  assert_non_null(strstr(c.ready.error, "RFC 6750"));
  assert_null(strstr(c.ready.error, "X-Injected"));
  assert_null(strstr(c.ready.error, "s3cr3tTok"));
  assert_int_equal(lb_tokens_fetches(c.tokens, 0, false), 1);
  assert_int_equal(lb_tokens_fetches(c.tokens, 0, true), 0);
  /* nothing usable: the caller waits for the back-off, never sends it */
  assert_null(lb_tokens_get(c.tokens, 0, lb_time_mono_ms(), &gen));
  assert_true(lb_tokens_retry_at(c.tokens, 0) > 0);

  cache_close(&c);
  shutdown(es.fd, SHUT_RDWR);
  close(es.fd);
  pthread_join(th, NULL);
}

/* A token endpoint's Retry-After holds the next fetch back longer than the
 * back-off (deliveries then park instead of retrying into the outage), up
 * to a cap of ten minutes. */
static void test_retry_after_honoured_and_capped(void **state)
{
  (void)state;
  static const struct {
    const char *outage;
    int64_t min_ms, max_ms;
  } cases[] = {
    { "{\"tenant\":\"tk\",\"outage\":{\"seconds\":30,\"api\":\"all\"}}", 29000, 30000 },
    { "{\"tenant\":\"tk\",\"outage\":{\"seconds\":86400,\"api\":\"all\"}}", 600000, 600000 },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    cache c;
    unsigned gen = 0;
    cache_open(&c);
    lb_test_post_json(&lms, "/_sandbox/faults", cases[i].outage);
    int64_t before = lb_time_mono_ms();
    assert_null(lb_tokens_get(c.tokens, 0, before, &gen));
    pump_until(c.http, &c.ready, 1);
    int64_t after = lb_time_mono_ms();
    assert_int_equal(c.ready.ok, 0);
    int64_t retry = lb_tokens_retry_at(c.tokens, 0);
    if (retry < before + cases[i].min_ms || retry > after + cases[i].max_ms)
      fail_msg("case %zu: next fetch in %lld ms", i, (long long)(retry - before));
    assert_null(lb_tokens_get(c.tokens, 0, retry - 1, &gen));
    assert_int_equal(lb_http_in_flight(c.http), 0);
    cache_close(&c);
    char url[512];
    snprintf(url, sizeof(url), "%s/_sandbox/faults?tenant=tk", lms.base_url);
    assert_int_equal(lb_test_http("DELETE", url, NULL, NULL), 200);
  }
}

/* 401 and 403 from the token endpoint are a refusal of the credentials or
 * scopes (an operator must act), told apart from a failure by the outcome,
 * not by the words of the error; a 500 is a failure. */
static void test_refusal_is_an_outcome(void **state)
{
  (void)state;
  static const struct {
    int status;
    lb_token_outcome outcome;
  } cases[] = { { 401, LB_TOKEN_REFUSED }, { 403, LB_TOKEN_REFUSED }, { 500, LB_TOKEN_FAILED } };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    cache c;
    unsigned gen = 0;
    char fault[160];
    cache_open(&c);
    snprintf(fault, sizeof(fault),
             "{\"tenant\":\"tk\",\"token_failures\":{\"count\":1,\"status\":%d,"
             "\"api\":\"all\"}}",
             cases[i].status);
    lb_test_post_json(&lms, "/_sandbox/faults", fault);
    assert_null(lb_tokens_get(c.tokens, 0, lb_time_mono_ms(), &gen));
    pump_until(c.http, &c.ready, 1);
    if (c.ready.calls != 1 || c.ready.ok != 0 || c.ready.last != cases[i].outcome)
      fail_msg("status %d: %d calls, %d ok, outcome %d (want %d): %s", cases[i].status,
               c.ready.calls, c.ready.ok, (int)c.ready.last, (int)cases[i].outcome, c.ready.error);
    cache_close(&c);
    char url[512];
    snprintf(url, sizeof(url), "%s/_sandbox/faults?tenant=tk", lms.base_url);
    assert_int_equal(lb_test_http("DELETE", url, NULL, NULL), 200);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_parse_token_responses),
    cmocka_unit_test(test_request_bodies),
    cmocka_unit_test(test_header_injecting_token_refused),
    cmocka_unit_test_setup_teardown(test_refresh_at_80_percent_and_expiry, start_sandbox,
                                    stop_sandbox),
    cmocka_unit_test_setup_teardown(test_failed_fetches_back_off, start_sandbox, stop_sandbox),
    cmocka_unit_test_setup_teardown(test_tokens_carried_over_a_reload, start_sandbox, stop_sandbox),
    cmocka_unit_test_setup_teardown(test_refusal_is_an_outcome, start_sandbox, stop_sandbox),
    cmocka_unit_test_setup_teardown(test_retry_after_honoured_and_capped, start_sandbox,
                                    stop_sandbox),
    cmocka_unit_test_setup_teardown(test_failed_refresh_keeps_the_token, start_sandbox,
                                    stop_sandbox),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
