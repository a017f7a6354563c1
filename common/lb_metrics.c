#include "lb_metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_list.h"
#include "lb_strbuf.h"
#include "lb_table.h"

#define NBUCKETS 12
/* Delivery latency buckets, seconds. */
static const double bounds[NBUCKETS] = {
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30
};

/* A metric's series are found by their labels, its families by name, in
 * tables: an update costs the same with 1 integration or 1,000 (a series
 * per integration and outcome). */
typedef struct {
  lb_list_node link; /* in its family's series, first created first */
  lb_table_node by_labels;
  char *labels;
  double value; /* counter/gauge; histogram: sum */
  uint64_t count;
  uint64_t buckets[NBUCKETS];
} series;

typedef struct {
  lb_list_node link; /* in families, in declaration order */
  lb_table_node by_name;
  char *name;
  char *help;
  lb_metric_type type;
  lb_list series;
  lb_table series_by_labels;
} family;

struct lb_metrics {
  pthread_mutex_t lock;
  lb_list families;
  lb_table families_by_name;
};

lb_metrics *lb_metrics_new(void)
{
  lb_metrics *m = calloc(1, sizeof(*m));
  if (m)
    pthread_mutex_init(&m->lock, NULL);
  return m;
}

/* Frees every series of f; it has none after. */
static void free_series(family *f)
{
  lb_table_release(&f->series_by_labels);
  LB_LIST_EACH_SAFE (series, s, &f->series, link) {
    free(s->labels);
    free(s);
  }
  lb_list_init(&f->series);
}

void lb_metrics_destroy(lb_metrics *m)
{
  if (!m)
    return;
  LB_LIST_EACH_SAFE (family, f, &m->families, link) {
    free_series(f);
    free(f->name);
    free(f->help);
    free(f);
  }
  lb_table_release(&m->families_by_name);
  pthread_mutex_destroy(&m->lock);
  free(m);
}

static family *find_family(lb_metrics *m, const char *name)
{
  return LB_TABLE_ENTRY(lb_table_find(&m->families_by_name, name), family, by_name);
}

void lb_metrics_declare(lb_metrics *m, const char *name, lb_metric_type type, const char *help)
{
  pthread_mutex_lock(&m->lock);
  if (!find_family(m, name)) {
    family *f = calloc(1, sizeof(*f));
    if (f && (f->name = strdup(name)) && (f->help = strdup(help))) {
      f->type = type;
      /* keep declaration order for a stable exposition */
      lb_list_push_back(&m->families, &f->link);
      lb_table_insert(&m->families_by_name, &f->by_name, f->name);
    } else if (f) {
      free(f->name);
      free(f);
    }
  }
  pthread_mutex_unlock(&m->lock);
}

/* The series, created when missing. Caller holds the lock. */
static series *get_series(lb_metrics *m, const char *name, const char *labels)
{
  family *f = find_family(m, name);
  if (!f)
    return NULL;
  series *s = LB_TABLE_ENTRY(lb_table_find(&f->series_by_labels, labels), series, by_labels);
  if (s)
    return s;
  s = calloc(1, sizeof(*s));
  if (!s || !(s->labels = strdup(labels))) {
    free(s);
    return NULL;
  }
  lb_list_push_back(&f->series, &s->link);
  lb_table_insert(&f->series_by_labels, &s->by_labels, s->labels);
  return s;
}

void lb_metrics_add(lb_metrics *m, const char *name, const char *labels, double v)
{
  pthread_mutex_lock(&m->lock);
  series *s = get_series(m, name, labels);
  if (s)
    s->value += v;
  pthread_mutex_unlock(&m->lock);
}

void lb_metrics_set(lb_metrics *m, const char *name, const char *labels, double v)
{
  pthread_mutex_lock(&m->lock);
  series *s = get_series(m, name, labels);
  if (s)
    s->value = v;
  pthread_mutex_unlock(&m->lock);
}

void lb_metrics_observe(lb_metrics *m, const char *name, const char *labels, double v)
{
  pthread_mutex_lock(&m->lock);
  series *s = get_series(m, name, labels);
  if (s) {
    s->value += v;
    s->count++;
    for (int i = 0; i < NBUCKETS; i++)
      if (v <= bounds[i])
        s->buckets[i]++;
  }
  pthread_mutex_unlock(&m->lock);
}

void lb_metrics_clear(lb_metrics *m, const char *name)
{
  pthread_mutex_lock(&m->lock);
  family *f = find_family(m, name);
  if (f)
    free_series(f);
  pthread_mutex_unlock(&m->lock);
}

double lb_metrics_get(lb_metrics *m, const char *name, const char *labels)
{
  double v = 0;
  pthread_mutex_lock(&m->lock);
  family *f = find_family(m, name);
  if (f) {
    LB_LIST_EACH (series, s, &f->series, link)
      if (!labels || strcmp(s->labels, labels) == 0)
        v += f->type == LB_HISTOGRAM ? (double)s->count : s->value;
  }
  pthread_mutex_unlock(&m->lock);
  return v;
}

char *lb_metrics_label(char *buf, size_t len, const char *key, const char *value)
{
  /* by hand, not snprintf: labels are made for every delivery */
  size_t n = strlen(buf), klen = strlen(key);
  if (n + klen + 3 >= len) { /* no room for ,key=" and a closing quote */
    if (len)
      buf[n < len ? n : len - 1] = '\0';
    return buf;
  }
  if (n)
    buf[n++] = ',';
  memcpy(buf + n, key, klen);
  n += klen;
  buf[n++] = '=';
  buf[n++] = '"';
  for (const char *p = value ? value : ""; *p && n + 3 < len; p++) {
    if (*p == '"' || *p == '\\') {
      buf[n++] = '\\';
      buf[n++] = *p;
    } else if (*p == '\n') {
      buf[n++] = '\\';
      buf[n++] = 'n';
    } else {
      buf[n++] = *p;
    }
  }
  if (n + 1 < len) {
    buf[n++] = '"';
    buf[n] = '\0';
  } else if (len) {
    buf[len - 1] = '\0';
  }
  return buf;
}

static void number(lb_strbuf *b, double v)
{
  if (isfinite(v) && v == floor(v) && fabs(v) < 1e15)
    lb_strbuf_appendf(b, "%.0f", v);
  else
    lb_strbuf_appendf(b, "%.9g", v);
}

char *lb_metrics_render(lb_metrics *m)
{
  static const char *const types[] = { "counter", "gauge", "histogram" };
  lb_strbuf b;
  lb_strbuf_init(&b, 0);
  pthread_mutex_lock(&m->lock);
  LB_LIST_EACH (family, f, &m->families, link) {
    lb_strbuf_appendf(&b, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
                      types[f->type]);
    LB_LIST_EACH (series, s, &f->series, link) {
      const char *sep = *s->labels ? "," : "";
      if (f->type != LB_HISTOGRAM) {
        lb_strbuf_appendf(&b, *s->labels ? "%s{%s} " : "%s%s ", f->name, s->labels);
        number(&b, s->value);
        lb_strbuf_append(&b, "\n");
        continue;
      }
      for (int i = 0; i < NBUCKETS; i++)
        lb_strbuf_appendf(&b, "%s_bucket{%s%sle=\"%g\"} %llu\n", f->name, s->labels, sep, bounds[i],
                          (unsigned long long)s->buckets[i]);
      lb_strbuf_appendf(&b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", f->name, s->labels, sep,
                        (unsigned long long)s->count);
      lb_strbuf_appendf(&b, *s->labels ? "%s_sum{%s} " : "%s_sum%s ", f->name, s->labels);
      number(&b, s->value);
      lb_strbuf_appendf(&b, *s->labels ? "\n%s_count{%s} %llu\n" : "\n%s_count%s %llu\n", f->name,
                        s->labels, (unsigned long long)s->count);
    }
  }
  pthread_mutex_unlock(&m->lock);
  return lb_strbuf_detach(&b);
}
