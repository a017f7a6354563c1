#include "lb_watchdog.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lb_log.h"

struct lb_watchdog {
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv; /* on CLOCK_MONOTONIC, as the deadline */
  bool done;
  int64_t deadline;
  int exit_code;
  char *why;
};

static void *watch(void *arg)
{
  lb_watchdog *w = arg;
  struct timespec at = { .tv_sec = (time_t)(w->deadline / 1000),
                         .tv_nsec = (long)(w->deadline % 1000) * 1000000 };
  pthread_mutex_lock(&w->mu);
  while (!w->done) {
    if (pthread_cond_timedwait(&w->cv, &w->mu, &at) == ETIMEDOUT && !w->done) {
      pthread_mutex_unlock(&w->mu);
      lb_log(LB_LOG_WARN, w->why, LB_I("exit_code", w->exit_code));
      _exit(w->exit_code);
    }
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

lb_err lb_watchdog_start(int64_t deadline_mono_ms, int exit_code, const char *why,
                         lb_watchdog **ret)
{
  pthread_condattr_t attr;
  lb_watchdog *w = calloc(1, sizeof(*w));
  *ret = NULL;
  if (!w || !(w->why = strdup(why))) {
    free(w);
    return LB_E_NOMEM;
  }
  w->deadline = deadline_mono_ms;
  w->exit_code = exit_code;
  pthread_mutex_init(&w->mu, NULL);
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&w->cv, &attr);
  pthread_condattr_destroy(&attr);
  if (pthread_create(&w->thread, NULL, watch, w) != 0) {
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w->why);
    free(w);
    return LB_E_NOMEM;
  }
  *ret = w;
  return LB_E_OK;
}

void lb_watchdog_destroy(lb_watchdog *w)
{
  if (!w)
    return;
  pthread_mutex_lock(&w->mu);
  w->done = true;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  pthread_join(w->thread, NULL);
  pthread_cond_destroy(&w->cv);
  pthread_mutex_destroy(&w->mu);
  free(w->why);
  free(w);
}
