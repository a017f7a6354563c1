#include "lb_test_sandbox.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(long ms)
{
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  nanosleep(&ts, NULL);
}

const char *lb_test_write_file(const char *dir, const char *name, const char *text)
{
  static char path[512];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  if (!f)
    fail_msg("cannot write %s: %s", path, strerror(errno));
  fputs(text, f);
  fclose(f);
  return path;
}

void lb_test_lms_start(lb_test_lms *s, const char *config_json)
{
  char ready[600], config[600] = "";
  memset(s, 0, sizeof(*s));
  snprintf(s->dir, sizeof(s->dir), "%s/lms-XXXXXX", LB_TEST_TMP);
  if (!mkdtemp(s->dir))
    fail_msg("mkdtemp: %s", strerror(errno));
  snprintf(ready, sizeof(ready), "%s/ready", s->dir);
  if (config_json)
    snprintf(config, sizeof(config), "%s", lb_test_write_file(s->dir, "lms.json", config_json));
  s->pid = fork();
  if (s->pid == 0) {
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0)
      dup2(devnull, 1);
    if (config_json)
      execl(LB_LMS_SANDBOX_BIN, "lms-sandbox", "--listen", "127.0.0.1:0", "--ready-file", ready,
            "--config", config, (char *)NULL);
    else
      execl(LB_LMS_SANDBOX_BIN, "lms-sandbox", "--listen", "127.0.0.1:0", "--ready-file", ready,
            (char *)NULL);
    _exit(127);
  }
  for (int i = 0; i < 200; i++) {
    FILE *f = fopen(ready, "r");
    if (f) {
      size_t n = fread(s->base_url, 1, sizeof(s->base_url) - 1, f);
      fclose(f);
      while (n > 0 && (s->base_url[n - 1] == '\n' || s->base_url[n - 1] == ' '))
        n--;
      s->base_url[n] = '\0';
      if (n > 0)
        return;
    }
    int status;
    if (waitpid(s->pid, &status, WNOHANG) == s->pid)
      fail_msg("lms-sandbox exited during start-up (status %d)", status);
    sleep_ms(50);
  }
  fail_msg("lms-sandbox did not become ready");
}

void lb_test_lms_stop(lb_test_lms *s)
{
  int status = 0;
  if (s->pid <= 0)
    return;
  kill(s->pid, SIGTERM);
  for (int i = 0; i < 200; i++) {
    if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
      s->pid = 0;
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("lms-sandbox did not exit 0 (status %d)", status);
      return;
    }
    sleep_ms(50);
  }
  kill(s->pid, SIGKILL);
  waitpid(s->pid, &status, 0);
  s->pid = 0;
  fail_msg("lms-sandbox did not stop on SIGTERM");
}

static size_t collect(char *data, size_t size, size_t nmemb, void *userdata)
{
  FILE *mem = userdata;
  return fwrite(data, size, nmemb, mem);
}

long lb_test_http(const char *method, const char *url, const char *body, char **ret_body)
{
  char *text = NULL;
  size_t len = 0;
  long status = 0;
  FILE *mem = open_memstream(&text, &len);
  CURL *e = curl_easy_init();
  struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(e, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, mem);
  if (body)
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
  CURLcode rc = curl_easy_perform(e);
  if (rc == CURLE_OK)
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(h);
  curl_easy_cleanup(e);
  fclose(mem);
  if (ret_body)
    *ret_body = text;
  else
    free(text);
  return status;
}

json_object *lb_test_get_json(const lb_test_lms *s, const char *path)
{
  char url[1024], *body = NULL;
  snprintf(url, sizeof(url), "%s%s", s->base_url, path);
  long status = lb_test_http("GET", url, NULL, &body);
  if (status != 200)
    fail_msg("GET %s: %ld %s", path, status, body ? body : "");
  json_object *obj = json_tokener_parse(body);
  free(body);
  if (!obj)
    fail_msg("GET %s: not JSON", path);
  return obj;
}

void lb_test_post_json(const lb_test_lms *s, const char *path, const char *body)
{
  char url[1024], *resp = NULL;
  snprintf(url, sizeof(url), "%s%s", s->base_url, path);
  long status = lb_test_http("POST", url, body, &resp);
  if (status < 200 || status >= 300)
    fail_msg("POST %s: %ld %s", path, status, resp ? resp : "");
  free(resp);
}

json_object *lb_test_dig(json_object *obj, const char *path)
{
  char buf[256];
  snprintf(buf, sizeof(buf), "%s", path);
  for (char *part = strtok(buf, "."); part && obj; part = strtok(NULL, ".")) {
    json_object *next = NULL;
    if (!json_object_object_get_ex(obj, part, &next))
      return NULL;
    obj = next;
  }
  return obj;
}
