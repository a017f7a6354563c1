/* lb_http over HTTPS, against tests/support/tls_server.py and certificates
 * openssl makes at test time: a trusted CA bundle lets the request
 * through; the system store, a bundle of another certificate or a
 * certificate for another host name stop it with a verification error; a
 * 302 comes back as a 302; sequential requests share one connection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lb_http.h"
#include "lb_time.h"

#define NO_OPENSSL_EXIT 77 /* tls_server.py: no openssl command */

static pid_t server_pid;
static char dir[256];
static int port, wrong_port;

static void sleep_ms(long ms)
{
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  nanosleep(&ts, NULL);
}

static const char *in_dir(const char *name)
{
  static char path[4][512];
  static int k;
  k = (k + 1) % 4;
  snprintf(path[k], sizeof(path[k]), "%s/%s", dir, name);
  return path[k];
}

static int setup(void **state)
{
  (void)state;
  char ready[300];
  curl_global_init(CURL_GLOBAL_DEFAULT);
  snprintf(dir, sizeof(dir), "%s/tls-XXXXXX", LB_TEST_TMP);
  if (!mkdtemp(dir))
    fail_msg("mkdtemp: %s", strerror(errno));
  snprintf(ready, sizeof(ready), "%s/ready", dir);
  server_pid = fork();
  if (server_pid == 0) {
    execl(LB_PYTHON, "python3", LB_SOURCE_DIR "/tests/support/tls_server.py", "--dir", dir,
          "--ready", ready, (char *)NULL);
    _exit(127);
  }
  for (int i = 0; i < 400; i++) {
    FILE *f = fopen(ready, "r");
    if (f) {
      int n = fscanf(f, "%d %d", &port, &wrong_port);
      fclose(f);
      if (n == 2)
        return 0;
    }
    int status;
    if (waitpid(server_pid, &status, WNOHANG) == server_pid) {
      server_pid = 0;
      if (WIFEXITED(status) && WEXITSTATUS(status) == NO_OPENSSL_EXIT)
        fail_msg("the openssl command is missing (scripts/test.sh installs it)");
      fail_msg("tls_server.py exited during start-up (status %d)", status);
    }
    sleep_ms(50);
  }
  fail_msg("tls_server.py did not become ready");
  return -1;
}

static int teardown(void **state)
{
  (void)state;
  if (server_pid > 0) {
    int status;
    kill(server_pid, SIGTERM);
    waitpid(server_pid, &status, 0);
  }
  curl_global_cleanup();
  return 0;
}

typedef struct {
  int done;
  int status;
  char error[256];
  char body[512];
} result;

static void on_done(void *opaque, const lb_http_response *r)
{
  result *res = opaque;
  res->done++;
  res->status = r->status;
  snprintf(res->error, sizeof(res->error), "%s", r->error ? r->error : "");
  snprintf(res->body, sizeof(res->body), "%s", r->body);
}

/* GET https://127.0.0.1:<p><path> on `h`, waiting for the answer. */
static void get(lb_http *h, int p, const char *path, result *r)
{
  char url[256];
  snprintf(url, sizeof(url), "https://127.0.0.1:%d%s", p, path);
  lb_http_request req = { .method = "GET", .url = url, .timeout_ms = 10000 };
  memset(r, 0, sizeof(*r));
  assert_int_equal(lb_http_start(h, &req, on_done, r, NULL), LB_E_OK);
  int64_t end = lb_time_mono_ms() + 15000;
  while (!r->done && lb_time_mono_ms() < end)
    lb_http_run(h, 100, -1);
  assert_int_equal(r->done, 1);
}

/* The server's counts for its port, read over `h` (so on its connection). */
static void stats(lb_http *h, int p, int *connections, int *ok_hits)
{
  result r;
  get(h, p, "/stats", &r);
  assert_int_equal(r.status, 200);
  json_object *o = json_tokener_parse(r.body), *v;
  assert_non_null(o);
  assert_true(json_object_object_get_ex(o, "connections", &v));
  *connections = json_object_get_int(v);
  assert_true(json_object_object_get_ex(o, "ok_hits", &v));
  *ok_hits = json_object_get_int(v);
  json_object_put(o);
}

static void test_ca_bundle_trusted(void **state)
{
  (void)state;
  result r;
  lb_http *h = lb_http_new(&(lb_http_options){ .ca_bundle = in_dir("cert.pem") });
  assert_non_null(h);
  get(h, port, "/ok", &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, "ok");
  assert_string_equal(r.error, "");
  lb_http_destroy(h);
}

static void test_untrusted_certificates_refused(void **state)
{
  (void)state;
  result r;
  int connections, ok_before, ok_after;
  lb_http *h = lb_http_new(&(lb_http_options){ .ca_bundle = in_dir("cert.pem") });
  stats(h, port, &connections, &ok_before);
  lb_http_destroy(h);

  /* the system's CA store does not know our self-signed certificate */
  h = lb_http_new(NULL);
  get(h, port, "/ok", &r);
  assert_int_equal(r.status, 0);
  if (!strstr(r.error, "certificate"))
    fail_msg("not a verification error: %s", r.error);
  lb_http_destroy(h);

  /* a bundle with another certificate */
  h = lb_http_new(&(lb_http_options){ .ca_bundle = in_dir("other.pem") });
  get(h, port, "/ok", &r);
  assert_int_equal(r.status, 0);
  if (!strstr(r.error, "certificate"))
    fail_msg("not a verification error: %s", r.error);
  lb_http_destroy(h);

  /* a trusted certificate for another host name */
  h = lb_http_new(&(lb_http_options){ .ca_bundle = in_dir("wronghost.pem") });
  get(h, wrong_port, "/ok", &r);
  assert_int_equal(r.status, 0);
  if (!strstr(r.error, "127.0.0.1") && !strstr(r.error, "subject") && !strstr(r.error, "host"))
    fail_msg("not a host name error: %s", r.error);
  lb_http_destroy(h);

  /* none of these requests reached the server */
  h = lb_http_new(&(lb_http_options){ .ca_bundle = in_dir("cert.pem") });
  stats(h, port, &connections, &ok_after);
  assert_int_equal(ok_after, ok_before);
  lb_http_destroy(h);
}

static void test_redirect_not_followed(void **state)
{
  (void)state;
  result r;
  int connections, before, after;
  lb_http *h = lb_http_new(&(lb_http_options){ .ca_bundle = in_dir("cert.pem") });
  stats(h, port, &connections, &before);
  get(h, port, "/redirect", &r);
  assert_int_equal(r.status, 302);
  assert_string_equal(r.body, "moved");
  stats(h, port, &connections, &after);
  assert_int_equal(after, before); /* /ok never asked for */
  lb_http_destroy(h);
}

static void test_sequential_requests_share_a_connection(void **state)
{
  (void)state;
  enum { N = 8 };
  result r;
  int first, last, ok_before, ok_after;
  lb_http *h = lb_http_new(&(lb_http_options){ .ca_bundle = in_dir("cert.pem") });
  /* the first request opens a connection; the next ones reuse it */
  stats(h, port, &first, &ok_before);
  for (int i = 0; i < N; i++) {
    get(h, port, "/ok", &r);
    assert_int_equal(r.status, 200);
  }
  stats(h, port, &last, &ok_after);
  assert_int_equal(ok_after - ok_before, N);
  assert_int_equal(last, first); /* N + 1 requests, no new connection */
  lb_http_destroy(h);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_ca_bundle_trusted),
    cmocka_unit_test(test_untrusted_certificates_refused),
    cmocka_unit_test(test_redirect_not_followed),
    cmocka_unit_test(test_sequential_requests_share_a_connection),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
