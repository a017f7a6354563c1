#include "sbx_delay.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "sbx_util.h"

struct item {
  uint64_t deadline;
  uint64_t order; /* FIFO among equal deadlines */
  struct MHD_Connection *conn;
};

struct sbx_delay {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  pthread_t thread;
  bool started;
  bool stopping;
  struct item *heap;
  size_t n, cap;
  uint64_t next_order;
};

static bool before(const struct item *a, const struct item *b)
{
  return a->deadline < b->deadline || (a->deadline == b->deadline && a->order < b->order);
}

static void heap_push(struct sbx_delay *d, struct item it)
{
  size_t i;

  if (d->n == d->cap) {
    d->cap = d->cap ? d->cap * 2 : 256;
    d->heap = sbx_xrealloc(d->heap, d->cap * sizeof(*d->heap));
  }
  i = d->n++;
  while (i > 0 && before(&it, &d->heap[(i - 1) / 2])) {
    d->heap[i] = d->heap[(i - 1) / 2];
    i = (i - 1) / 2;
  }
  d->heap[i] = it;
}

static struct item heap_pop(struct sbx_delay *d)
{
  struct item top = d->heap[0], last = d->heap[--d->n];
  size_t i = 0;

  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    const struct item *mi = &last;

    if (l < d->n && before(&d->heap[l], mi)) {
      m = l;
      mi = &d->heap[l];
    }
    if (r < d->n && before(&d->heap[r], mi))
      m = r;
    if (m == i)
      break;
    d->heap[i] = d->heap[m];
    i = m;
  }
  if (d->n)
    d->heap[i] = last;
  return top;
}

static void *run(void *arg)
{
  struct sbx_delay *d = arg;
  struct MHD_Connection **due = NULL;
  size_t cap = 0;

  pthread_mutex_lock(&d->lock);
  for (;;) {
    uint64_t now = sbx_mono_ms();
    size_t n = 0, i;
    bool stopping = d->stopping;

    while (d->n && (stopping || d->heap[0].deadline <= now)) {
      if (n == cap) {
        cap = cap ? cap * 2 : 64;
        due = sbx_xrealloc(due, cap * sizeof(*due));
      }
      due[n++] = heap_pop(d).conn;
    }
    if (n) {
      /* Resume without our lock: MHD takes its own locks. */
      pthread_mutex_unlock(&d->lock);
      for (i = 0; i < n; i++)
        MHD_resume_connection(due[i]);
      pthread_mutex_lock(&d->lock);
      continue;
    }
    if (stopping)
      break;
    if (d->n) {
      uint64_t wait = d->heap[0].deadline;
      struct timespec ts = { (time_t)(wait / 1000), (long)(wait % 1000) * 1000000L };

      pthread_cond_timedwait(&d->cond, &d->lock, &ts);
    } else {
      pthread_cond_wait(&d->cond, &d->lock);
    }
  }
  pthread_mutex_unlock(&d->lock);
  free(due);
  return NULL;
}

struct sbx_delay *sbx_delay_new(void)
{
  struct sbx_delay *d = sbx_xcalloc(1, sizeof(*d));
  pthread_condattr_t attr;

  pthread_mutex_init(&d->lock, NULL);
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&d->cond, &attr);
  pthread_condattr_destroy(&attr);
  if (pthread_create(&d->thread, NULL, run, d) != 0) {
    pthread_cond_destroy(&d->cond);
    pthread_mutex_destroy(&d->lock);
    free(d);
    return NULL;
  }
  d->started = true;
  return d;
}

void sbx_delay_add(struct sbx_delay *d, struct MHD_Connection *conn, uint64_t deadline_mono_ms)
{
  struct item it = { deadline_mono_ms, 0, conn };

  pthread_mutex_lock(&d->lock);
  if (d->stopping) {
    pthread_mutex_unlock(&d->lock);
    MHD_resume_connection(conn);
    return;
  }
  it.order = d->next_order++;
  heap_push(d, it);
  if (d->heap[0].conn == conn)
    pthread_cond_signal(&d->cond);
  pthread_mutex_unlock(&d->lock);
}

void sbx_delay_stop(struct sbx_delay *d)
{
  if (!d || !d->started)
    return;
  pthread_mutex_lock(&d->lock);
  d->stopping = true;
  pthread_cond_signal(&d->cond);
  pthread_mutex_unlock(&d->lock);
  pthread_join(d->thread, NULL);
  d->started = false;
}

void sbx_delay_destroy(struct sbx_delay *d)
{
  if (!d)
    return;
  sbx_delay_stop(d);
  free(d->heap);
  pthread_cond_destroy(&d->cond);
  pthread_mutex_destroy(&d->lock);
  free(d);
}
