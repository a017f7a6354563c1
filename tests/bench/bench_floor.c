/* lb-bench-floor: the floor under the delivery client, libcurl's multi
 * interface alone (no lmsbridge code) sending the request completion-worker
 * sends to Degreed for a new completion, on the same endpoint.
 *   lb-bench-floor BASE_URL TENANT CLIENT_ID REQUESTS [IN_FLIGHT [BODY_BYTES]]
 * The client secret comes from $BENCH_SECRET; the token is fetched once
 * (client_credentials, BASE_URL/t/TENANT/oauth/token) before the timed part.
 * Each request: POST BASE_URL/t/TENANT/api/v2/completions with
 * Authorization: Bearer, Accept and Content-Type: application/json, the
 * worker's User-Agent, a fresh X-Request-Id and a completion body of
 * BODY_BYTES (default 224, what the bench's events map to), keep-alive, at
 * most IN_FLIGHT (default 256) at a time on as many connections. One line:
 * "floor in_flight=K requests=N failed=F seconds=S rate=R cpu_seconds=C
 * cpu_us_per_request=U body_bytes=B". run_requests holds the timed part
 * alone: callgrind counts only it with --toggle-collect=run_requests. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define MAX_BODY 4096

typedef struct {
  CURL *easy;
  struct curl_slist headers[6];
  char auth[2048];
  char request_id[64];
  char body[MAX_BODY];
} slot;

static char token[2000];
static size_t token_len;

static size_t discard(char *data, size_t size, size_t nmemb, void *userdata)
{
  (void)data;
  (void)userdata;
  return size * nmemb;
}

static size_t keep_token_response(char *data, size_t size, size_t nmemb, void *userdata)
{
  char *buf = userdata;
  size_t n = size * nmemb, len = strlen(buf);
  if (len + n < 4096) {
    memcpy(buf + len, data, n);
    buf[len + n] = '\0';
  }
  return n;
}

/* The bearer token of CLIENT_ID, read from the token response's
 * "access_token" (enough JSON for lms-sandbox's answer). */
static int fetch_token(const char *base, const char *tenant, const char *client_id,
                       const char *secret)
{
  char url[1024], form[1024], resp[4096] = "";
  CURL *e = curl_easy_init();
  snprintf(url, sizeof(url), "%s/t/%s/oauth/token", base, tenant);
  char *id = curl_easy_escape(e, client_id, 0), *sec = curl_easy_escape(e, secret, 0);
  snprintf(form, sizeof(form), "grant_type=client_credentials&client_id=%s&client_secret=%s", id,
           sec);
  curl_free(id);
  curl_free(sec);
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, form);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, keep_token_response);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)resp);
  CURLcode rc = curl_easy_perform(e);
  curl_easy_cleanup(e);
  const char *p = rc == CURLE_OK ? strstr(resp, "\"access_token\"") : NULL;
  if (p)
    p = strchr(p + 14, '"');
  const char *end = p ? strchr(p + 1, '"') : NULL;
  if (!end || (size_t)(end - p - 1) >= sizeof(token)) {
    fprintf(stderr, "lb-bench-floor: no token from %s (%s)\n", url,
            rc == CURLE_OK ? "no access_token in the answer" : curl_easy_strerror(rc));
    return -1;
  }
  token_len = (size_t)(end - p - 1);
  memcpy(token, p + 1, token_len);
  token[token_len] = '\0';
  return 0;
}

static double cpu_seconds(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static double now_seconds(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Request number `n` on slot `s`: a new X-Request-Id and a new body of
 * `body_bytes` (the user differs per request, as the events' do). */
static void prepare(slot *s, int n, int body_bytes)
{
  static const char tail[] =
      "@bench.example\",\"user-identifier-type\":\"Email\",\"content-id\":\"1\","
      "\"content-id-type\":\"ExternalId\",\"content-type\":\"Course\","
      "\"completed-at\":\"2026-01-02T03:04:05\"}}}";
  snprintf(s->request_id, sizeof(s->request_id), "X-Request-Id: lb-00f100r0-%d", n);
  int len = snprintf(s->body, MAX_BODY,
                     "{\"data\":{\"type\":\"completions\",\"attributes\":{\"user-id\":\"u%d", n);
  /* the user's address is padded to the size asked for */
  while (len + (int)sizeof(tail) - 1 < body_bytes)
    s->body[len++] = 'x';
  memcpy(s->body + len, tail, sizeof(tail));
  curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE, (long)(len + (int)sizeof(tail) - 1));
  curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, s->body);
}

/* REQUESTS requests, IN_FLIGHT at a time: the part callgrind counts (not
 * inlined: --toggle-collect finds it by its name). */
__attribute__((noinline)) static int run_requests(CURLM *multi, slot *slots, int in_flight,
                                                  int requests, int body_bytes)
{
  int started = 0, done = 0, failed = 0, running = 0;
  for (int i = 0; i < in_flight && started < requests; i++) {
    prepare(&slots[i], started++, body_bytes);
    curl_multi_add_handle(multi, slots[i].easy);
  }
  while (done < requests) {
    curl_multi_perform(multi, &running);
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(multi, &left))) {
      if (m->msg != CURLMSG_DONE)
        continue;
      slot *s;
      long status = 0;
      CURL *e = m->easy_handle;
      CURLcode result = m->data.result;
      curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&s);
      curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
      if (result != CURLE_OK || status < 200 || status > 299)
        failed++;
      done++;
      curl_multi_remove_handle(multi, e);
      if (started < requests) {
        prepare(s, started++, body_bytes);
        curl_multi_add_handle(multi, e);
      }
    }
    if (done < requests)
      curl_multi_poll(multi, NULL, 0, 1000, NULL);
  }
  return failed;
}

int main(int argc, char **argv)
{
  if (argc < 5) {
    fprintf(stderr,
            "usage: lb-bench-floor BASE_URL TENANT CLIENT_ID REQUESTS [IN_FLIGHT [BODY_BYTES]]\n");
    return 2;
  }
  const char *base = argv[1], *tenant = argv[2], *secret = getenv("BENCH_SECRET");
  int requests = atoi(argv[4]);
  int in_flight = argc > 5 ? atoi(argv[5]) : 256;
  int body_bytes = argc > 6 ? atoi(argv[6]) : 224;
  if (requests < 1 || in_flight < 1 || body_bytes < 0 || body_bytes > MAX_BODY - 256 || !secret) {
    fprintf(stderr,
            "lb-bench-floor: REQUESTS and IN_FLIGHT >= 1, BODY_BYTES <= %d, "
            "$BENCH_SECRET set\n",
            MAX_BODY - 256);
    return 2;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  if (fetch_token(base, tenant, argv[3], secret) != 0)
    return 1;
  char url[1024];
  snprintf(url, sizeof(url), "%s/t/%s/api/v2/completions", base, tenant);
  CURLM *multi = curl_multi_init();
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)in_flight);
  slot *slots = calloc((size_t)in_flight, sizeof(*slots));
  for (int i = 0; i < in_flight; i++) {
    slot *s = &slots[i];
    CURL *e = s->easy = curl_easy_init();
    snprintf(s->auth, sizeof(s->auth), "Authorization: Bearer %s", token);
    const char *fixed[] = { s->auth, "Accept: application/json", "Content-Type: application/json",
                            s->request_id, "Expect:" };
    for (int h = 0; h < 5; h++) {
      s->headers[h].data = (char *)fixed[h];
      s->headers[h].next = h < 4 ? &s->headers[h + 1] : NULL;
    }
    curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)s);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, s->headers);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "lmsbridge/" LB_VERSION);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
  }
  double cpu0 = cpu_seconds(), t0 = now_seconds();
  int failed = run_requests(multi, slots, in_flight, requests, body_bytes);
  double secs = now_seconds() - t0, cpu = cpu_seconds() - cpu0;
  printf("floor in_flight=%d requests=%d failed=%d seconds=%.2f rate=%.0f cpu_seconds=%.3f "
         "cpu_us_per_request=%.1f body_bytes=%d\n",
         in_flight, requests, failed, secs, requests / secs, cpu, cpu * 1e6 / requests,
         (int)strlen(slots[0].body));
  for (int i = 0; i < in_flight; i++)
    curl_easy_cleanup(slots[i].easy);
  free(slots);
  curl_multi_cleanup(multi);
  curl_global_cleanup();
  return failed ? 1 : 0;
}
