/* lb_watchdog: past its deadline it logs why and ends the process with
 * its exit code, whatever the process is doing (here: blocked in a sleep);
 * destroyed in time it does nothing, and start/destroy leak nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lb_log.h"
#include "lb_time.h"
#include "lb_watchdog.h"

/* Runs child() in a child process whose stderr (the log) is read back into
 * log; returns its wait status. */
static int run_child(void (*child)(void), char *log, size_t loglen)
{
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    dup2(fds[1], STDERR_FILENO);
    child();
    _exit(99); /* child() does not return */
  }
  close(fds[1]);
  size_t n = 0;
  ssize_t got;
  while (n + 1 < loglen && (got = read(fds[0], log + n, loglen - 1 - n)) > 0)
    n += (size_t)got;
  log[n] = '\0';
  close(fds[0]);
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  return status;
}

/* Blocked past the deadline: the watchdog ends it with code 7. */
static void blocked_child(void)
{
  lb_watchdog *w = NULL;
  if (lb_watchdog_start(lb_time_mono_ms() + 200, 7, "the step did not end in time", &w) != LB_E_OK)
    _exit(98);
  sleep(60); /* a call that never returns; 60 s if the watchdog fails */
  _exit(0);
}

/* The step ends in time: the watchdog is destroyed, the process goes on. */
static void in_time_child(void)
{
  lb_watchdog *w = NULL;
  if (lb_watchdog_start(lb_time_mono_ms() + 60000, 7, "never said", &w) != LB_E_OK)
    _exit(98);
  lb_watchdog_destroy(w);
  lb_log(LB_LOG_INFO, "went on");
  _exit(3);
}

static void test_ends_a_blocked_process(void **state)
{
  (void)state;
  char log[4096];
  int status = run_child(blocked_child, log, sizeof(log));
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 7);
  assert_non_null(strstr(log, "\"level\":\"warn\""));
  assert_non_null(strstr(log, "the step did not end in time"));
  assert_non_null(strstr(log, "\"exit_code\":7"));
}

static void test_destroyed_in_time(void **state)
{
  (void)state;
  char log[4096];
  int status = run_child(in_time_child, log, sizeof(log));
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 3);
  assert_non_null(strstr(log, "went on"));
  assert_null(strstr(log, "never said"));
}

static void test_start_destroy(void **state)
{
  (void)state;
  for (int i = 0; i < 100; i++) {
    lb_watchdog *w = NULL;
    assert_int_equal(lb_watchdog_start(lb_time_mono_ms() + 60000, 1, "x", &w), LB_E_OK);
    assert_non_null(w);
    lb_watchdog_destroy(w);
  }
  lb_watchdog_destroy(NULL);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_ends_a_blocked_process),
    cmocka_unit_test(test_destroyed_in_time),
    cmocka_unit_test(test_start_destroy),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
