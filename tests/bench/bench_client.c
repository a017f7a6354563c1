/* lb-bench-client: requests/s of the delivery client against lms-sandbox.
 *   lb-bench-client BASE_URL TENANT CLIENT_ID REQUESTS IN_FLIGHT...
 * The client secret comes from $BENCH_SECRET. For each IN_FLIGHT, a fresh
 * client delivers REQUESTS new Degreed completions and one line is
 * printed: "in_flight=K requests=N failed=F seconds=S rate=R
 * cpu_us_per_request=U" (the process's CPU, getrusage, over the timed part). */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "lb_client.h"
#include "lb_config.h"
#include "lb_time.h"

static int done_count, failed_count;

static void on_done(void *opaque, const lb_delivery_result *r)
{
  (void)opaque;
  done_count++;
  if (r->status != LB_DELIVERY_SUCCESS)
    failed_count++;
}

static double cpu_seconds(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int run(const char *base, const char *tenant, const char *client_id, int requests,
               int in_flight, int round)
{
  char path[] = "/tmp/lb-bench-XXXXXX";
  char conf[2048], *errors = NULL;
  int fd = mkstemp(path);
  if (fd < 0)
    return -1;
  snprintf(conf, sizeof(conf),
           "kafka: { brokers = \"127.0.0.1:9092\"; };\n"
           "provider: { code = \"bench\"; logo_url = \"https://cdn.example.com/l.png\"; };\n"
           "delivery: { max_in_flight = %d; };\n"
           "integrations = ({ id = \"bench\"; type = \"degreed\"; organization = \"o\";"
           " api_base_url = \"%s/t/%s\"; token_url = \"%s/t/%s/oauth/token\";"
           " client_id = \"%s\"; client_secret = \"@env:BENCH_SECRET\";"
           " scopes = \"completions:write\"; rate_limit_per_minute = 0; max_in_flight = %d; });\n",
           in_flight, base, tenant, base, tenant, client_id, in_flight);
  if (write(fd, conf, strlen(conf)) < 0)
    return -1;
  close(fd);
  lb_config cfg;
  lb_config_defaults d = { .worker = "bench", .default_topic = "b", .default_scopes = "x" };
  if (lb_config_load(&cfg, path, &d, &errors) != LB_E_OK) {
    fprintf(stderr, "%s", errors);
    return -1;
  }
  unlink(path);
  lb_client *c = lb_client_new(&cfg, NULL);
  lb_request_list *plans = calloc((size_t)requests, sizeof(*plans));
  char url[512], body[512];
  snprintf(url, sizeof(url), "%s/api/v2/completions", cfg.integrations[0].api_base_url);
  done_count = failed_count = 0;
  int64_t start = lb_time_mono_ms();
  double cpu0 = cpu_seconds();
  for (int i = 0; i < requests; i++) {
    snprintf(body, sizeof(body),
             "{\"data\":{\"type\":\"completions\",\"attributes\":{\"user-id\":"
             "\"r%d-u%d@bench.example\",\"user-identifier-type\":\"Email\",\"content-id\":"
             "\"course-1\",\"content-id-type\":\"ExternalId\",\"content-type\":\"Course\","
             "\"completed-at\":\"2026-01-02T03:04:05\"}}}",
             round, i);
    lb_request_list_init(&plans[i]);
    lb_request_list_add(&plans[i], LB_STEP_COMPLETION, LB_POST, url, body, "course-1");
    lb_client_deliver(c, 0, &plans[i], NULL, 0, 0, on_done, NULL, NULL);
  }
  while (done_count < requests)
    lb_client_run(c, 100, -1);
  double secs = (double)(lb_time_mono_ms() - start) / 1000.0;
  double cpu = cpu_seconds() - cpu0;
  printf("in_flight=%d requests=%d failed=%d seconds=%.2f rate=%.0f cpu_us_per_request=%.1f\n",
         in_flight, requests, failed_count, secs, requests / secs, cpu * 1e6 / requests);
  fflush(stdout);
  lb_client_destroy(c);
  for (int i = 0; i < requests; i++)
    lb_request_list_release(&plans[i]);
  free(plans);
  lb_config_release(&cfg);
  return failed_count ? 1 : 0;
}

int main(int argc, char **argv)
{
  if (argc < 6) {
    fprintf(stderr, "usage: lb-bench-client BASE_URL TENANT CLIENT_ID REQUESTS IN_FLIGHT...\n");
    return 2;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int rc = 0;
  for (int i = 5; i < argc; i++)
    if (run(argv[1], argv[2], argv[3], atoi(argv[4]), atoi(argv[i]), i) != 0)
      rc = 1;
  curl_global_cleanup();
  return rc;
}
