/* Test support: start and stop the sandboxes, call their control APIs.
 * For tests only; aborts the test (cmocka fail) on setup problems. */
#ifndef LB_TEST_SANDBOX_H
#define LB_TEST_SANDBOX_H

#include <json-c/json.h>
#include <sys/types.h>

typedef struct {
  pid_t pid;
  char dir[256];      /* temporary directory of this sandbox */
  char base_url[128]; /* http://127.0.0.1:PORT */
} lb_test_lms;

/* Starts lms-sandbox (LB_LMS_SANDBOX_BIN) with `config_json` (may be NULL)
 * and waits for its ready file. */
void lb_test_lms_start(lb_test_lms *s, const char *config_json);
/* SIGTERM, wait; fails the test unless it exits 0. */
void lb_test_lms_stop(lb_test_lms *s);

/* One HTTP call with libcurl easy; returns the status, body in *ret_body
 * (free() it) when ret_body is not NULL. */
long lb_test_http(const char *method, const char *url, const char *body, char **ret_body);
/* GET base_url + path, parsed (json_object_put() it); fails on non-200. */
json_object *lb_test_get_json(const lb_test_lms *s, const char *path);
/* POST base_url + path with a JSON body; fails unless status is 2xx. */
void lb_test_post_json(const lb_test_lms *s, const char *path, const char *body);

/* Writes `text` to dir/name; returns the path (static buffer). */
const char *lb_test_write_file(const char *dir, const char *name, const char *text);

/* Follows a dotted path ("tenants.acme.degreed.courses") in obj. */
json_object *lb_test_dig(json_object *obj, const char *path);

#endif
