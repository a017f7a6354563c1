/* lms-sandbox: an HTTP server that behaves like the Degreed API v2, the
 * SAP SuccessFactors OCN APIs and an xAPI Learning Record Store, for tests,
 * demos and benchmarks.
 * See README.md beside this file. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "sbx_http.h"
#include "sbx_world.h"

#define DEFAULT_THREADS 4
#define MIB (1024ul * 1024ul)

struct options {
  const char *listen;
  const char *config;
  const char *ready_file;
  long threads;
  long max_body_mib;
  long log_max_entries;
  long log_max_mib;
  long max_records;
  long max_tokens;
};

static void usage(FILE *out)
{
  fputs("usage: lms-sandbox --listen HOST:PORT [--config FILE] [--threads N]\n"
        "                   [--ready-file FILE] [--max-body-mib N]\n"
        "                   [--log-max-entries N] [--log-max-mib N]\n"
        "                   [--max-records N] [--max-tokens N]\n"
        "\n"
        "Serves the Degreed API v2, SuccessFactors OCN APIs and an xAPI LRS per\n"
        "tenant under /t/<tenant>/..., and the control API under /_sandbox/.\n"
        "PORT 0 picks a free port; the ready file then receives http://HOST:PORT.\n"
        "Runs until SIGTERM or SIGINT. See tests/sandbox/lms/README.md.\n",
        out);
}

static bool parse_num(const char *name, const char *value, long min, long max, long *ret)
{
  if (!value || !sbx_parse_long(value, min, max, ret)) {
    fprintf(stderr, "lms-sandbox: invalid %s '%s': expected %ld..%ld\n", name, value ? value : "",
            min, max);
    return false;
  }
  return true;
}

/* Returns 0 to run, 1 on a usage error, 2 after --help/--version. */
static int parse_args(int argc, char **argv, struct options *o)
{
  int i;

  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;

    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return 2;
    }
    if (strcmp(a, "--version") == 0) {
      printf("lms-sandbox %s\n", LB_VERSION);
      return 2;
    }
    if (!v) {
      fprintf(stderr, "lms-sandbox: unknown or incomplete option '%s'\n", a);
      return 1;
    }
    i++;
    if (strcmp(a, "--listen") == 0)
      o->listen = v;
    else if (strcmp(a, "--config") == 0)
      o->config = v;
    else if (strcmp(a, "--ready-file") == 0)
      o->ready_file = v;
    else if (strcmp(a, "--threads") == 0) {
      if (!parse_num(a, v, 1, 256, &o->threads))
        return 1;
    } else if (strcmp(a, "--max-body-mib") == 0) {
      if (!parse_num(a, v, 1, 1024, &o->max_body_mib))
        return 1;
    } else if (strcmp(a, "--log-max-entries") == 0) {
      if (!parse_num(a, v, 1, 100000000, &o->log_max_entries))
        return 1;
    } else if (strcmp(a, "--log-max-mib") == 0) {
      if (!parse_num(a, v, 1, 1048576, &o->log_max_mib))
        return 1;
    } else if (strcmp(a, "--max-records") == 0) {
      if (!parse_num(a, v, 1, 1000000000, &o->max_records))
        return 1;
    } else if (strcmp(a, "--max-tokens") == 0) {
      if (!parse_num(a, v, 1, 1000000000, &o->max_tokens))
        return 1;
    } else {
      fprintf(stderr, "lms-sandbox: unknown option '%s'\n", a);
      return 1;
    }
  }
  if (!o->listen) {
    fputs("lms-sandbox: --listen HOST:PORT is required\n", stderr);
    return 1;
  }
  return 0;
}

/* "127.0.0.1:8080", "[::1]:0" or "localhost:0". url gets http://host:port
 * once the port is known (written by the caller). */
static bool parse_listen(const char *s, struct sockaddr_storage *ss, char *host, size_t hostlen)
{
  const char *colon;
  char addr[64];
  long port;
  size_t n;

  memset(ss, 0, sizeof(*ss));
  if (s[0] == '[') {
    const char *close = strchr(s, ']');

    if (!close || close[1] != ':')
      return false;
    n = (size_t)(close - s - 1);
    colon = close + 1;
    if (n == 0 || n >= sizeof(addr))
      return false;
    memcpy(addr, s + 1, n);
  } else {
    colon = strrchr(s, ':');
    if (!colon)
      return false;
    n = (size_t)(colon - s);
    if (n == 0 || n >= sizeof(addr))
      return false;
    memcpy(addr, s, n);
  }
  addr[n] = '\0';
  if (!sbx_parse_long(colon + 1, 0, 65535, &port))
    return false;
  if (strcmp(addr, "localhost") == 0)
    snprintf(addr, sizeof(addr), "127.0.0.1");
  if (strchr(addr, ':')) {
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, addr, &in6->sin6_addr) != 1)
      return false;
    snprintf(host, hostlen, "[%s]", strcmp(addr, "::") == 0 ? "::1" : addr);
  } else {
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;

    in4->sin_family = AF_INET;
    in4->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, addr, &in4->sin_addr) != 1)
      return false;
    snprintf(host, hostlen, "%s", strcmp(addr, "0.0.0.0") == 0 ? "127.0.0.1" : addr);
  }
  return true;
}

/* Writes the URL atomically (temp file + rename) so readers never see a
 * partial line. */
static bool write_ready_file(const char *path, const char *url)
{
  char tmp[4096];
  FILE *f;

  if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= sizeof(tmp))
    return false;
  f = fopen(tmp, "w");
  if (!f)
    return false;
  if (fprintf(f, "%s\n", url) < 0 || fclose(f) != 0) {
    unlink(tmp);
    return false;
  }
  if (rename(tmp, path) != 0) {
    unlink(tmp);
    return false;
  }
  return true;
}

static void raise_fd_limit(void)
{
  struct rlimit rl;

  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

int main(int argc, char **argv)
{
  struct options o = {
    .threads = DEFAULT_THREADS,
    .max_body_mib = 16,
    .log_max_entries = 1000000,
    .log_max_mib = 1024,
    .max_records = 1000000,
    .max_tokens = 1000000,
  };
  struct sbx_limits limits;
  struct sockaddr_storage ss;
  struct sbx_world *w = NULL;
  struct sbx_server *srv = NULL;
  sigset_t set;
  char host[80], url[128], err[512];
  int rc, sig = 0;
  bool ready_written = false;
  size_t n_tenants;

  rc = parse_args(argc, argv, &o);
  if (rc == 2)
    return 0;
  if (rc) {
    usage(stderr);
    return 1;
  }
  if (!parse_listen(o.listen, &ss, host, sizeof(host))) {
    fprintf(stderr, "lms-sandbox: invalid --listen '%s': expected HOST:PORT\n", o.listen);
    return 1;
  }
  /* Signals are handled by sigwait in this thread only: block them before
   * any thread starts so every thread inherits the mask. */
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);
  raise_fd_limit();

  limits.max_tokens = (size_t)o.max_tokens;
  limits.log_max_entries = (size_t)o.log_max_entries;
  limits.log_max_bytes = (size_t)o.log_max_mib * MIB;
  limits.max_records = (size_t)o.max_records;
  limits.max_body_bytes = (size_t)o.max_body_mib * MIB;
  w = sbx_world_new(&limits);
  if (o.config && !sbx_world_load_file(w, o.config, err, sizeof(err))) {
    fprintf(stderr, "lms-sandbox: %s\n", err);
    rc = 1;
    goto out;
  }
  n_tenants = w->n_tenants; /* before any request can change it */
  srv = sbx_server_start(w, (const struct sockaddr *)&ss, (unsigned)o.threads, err, sizeof(err));
  if (!srv) {
    fprintf(stderr, "lms-sandbox: %s: '%s'\n", err, o.listen);
    rc = 1;
    goto out;
  }
  snprintf(url, sizeof(url), "http://%s:%u", host, sbx_server_port(srv));
  if (o.ready_file && !write_ready_file(o.ready_file, url)) {
    fprintf(stderr, "lms-sandbox: cannot write ready file '%s': %s\n", o.ready_file,
            strerror(errno));
    rc = 1;
    goto out;
  }
  ready_written = o.ready_file != NULL;
  fprintf(stderr, "lms-sandbox: listening on %s (%ld threads, %zu tenants)\n", url, o.threads,
          n_tenants);
  while (sigwait(&set, &sig) != 0 || (sig != SIGTERM && sig != SIGINT))
    ;
  fprintf(stderr, "lms-sandbox: %s received, stopping\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  rc = 0;
out:
  sbx_server_stop(srv);
  sbx_world_destroy(w);
  if (ready_written)
    unlink(o.ready_file);
  return rc;
}
