/* dlq-replay: shows a worker's dead letters and replays them to their
 * original topic, each to the one integration that failed (README.md in
 * this directory; docs/delivery.md). */
#include <errno.h>
#include <getopt.h>
#include <libconfig.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lb_cli.h"
#include "lb_config.h"
#include "lb_dlq.h"
#include "lb_dlq_replayer.h"
#include "lb_json.h"
#include "lb_log.h"
#include "lb_resync.h"
#include "lb_time.h"

#define NAME "dlq-replay"
#define STALL_MS 60000 /* no record for this long: give up */
#define PROGRESS_EVERY_MS 2000
#define FINISH_TIMEOUT_MS 60000

static void usage(FILE *out)
{
  fputs("usage: dlq-replay list   --config FILE [--worker NAME] [filters] [--count]\n"
        "       dlq-replay replay --config FILE [--worker NAME] [filters] [--dry-run]\n"
        "                         [--yes] [--max-replays N] [--untargeted] [--group ID]\n"
        "                         [--rate N] [--max-in-flight N]\n"
        "       dlq-replay resync --config FILE --integration ID [--dry-run] [--yes]\n"
        "                         [--rate N] [--max-in-flight N]\n"
        "       dlq-replay --version | --help\n"
        "\n"
        "Shows a worker's dead-letter topic (kafka.dlq_topic of its configuration)\n"
        "and replays its records to their original topic, each addressed to the one\n"
        "integration that failed (lmsbridge.target): the others do not receive it\n"
        "twice.\n"
        "\n"
        "  --config FILE        the worker's configuration file, checked whole; used:\n"
        "                       kafka (brokers, properties, topics, dlq_topic,\n"
        "                       group_id) and the integrations' ids. Credentials of\n"
        "                       integrations (client_id, client_secret) are never\n"
        "                       resolved: their variables and files need not exist\n"
        "                       here. References in kafka.properties (sasl.password...)\n"
        "                       are, and must resolve\n"
        "  --worker NAME        catalog-worker or completion-worker; needed only when\n"
        "                       the file leaves kafka.topics or kafka.group_id to the\n"
        "                       worker's defaults and its first topic is neither\n"
        "                       catalog-events nor completion-events\n"
        "\n"
        "Filters (all given must hold; a comma list or a repeated option means any\n"
        "of its values):\n"
        "  --integration ID     lmsbridge.integration (\"\" for records without one)\n"
        "  --reason CLASS       invalid_event, mapping, permanent_http,\n"
        "                       retries_exhausted, auth or config\n"
        "  --status N           the LMS's HTTP status: 404, or a class: 4xx\n"
        "  --since TIME         failed at or after TIME (RFC 3339: 2026-01-31T09:00:00Z)\n"
        "  --until TIME         failed before TIME. Both compare the record's\n"
        "                       lmsbridge.last_failure header (the time of the last\n"
        "                       failed attempt), or the DLQ record's own timestamp\n"
        "                       when it has none\n"
        "  --partition N        original partition\n"
        "  --offset-from N      original offset >= N\n"
        "  --offset-to N        original offset <= N\n"
        "  --key KEY            the record key, exactly\n"
        "  --grep TEXT          TEXT (ignoring case) is in the error message, the LMS's\n"
        "                       answer (lmsbridge.http.body) or another text header of\n"
        "                       the record (integration, class name, original topic,\n"
        "                       worker, the event's own headers); not searched:\n"
        "                       numbers, times, the key (--key) and the value\n"
        "\n"
        "list: one JSON line per matching record, from the beginning of the topic to\n"
        "the end it had at start; commits nothing.\n"
        "  --count              totals by integration and reason instead (JSON)\n"
        "\n"
        "replay: reads the topic from where this selection's progress stopped to the\n"
        "end it had at start, prints a summary (JSON), asks for confirmation on a\n"
        "terminal, then republishes each selected record to its original topic and\n"
        "partition with an idempotent producer: same key and value byte for byte,\n"
        "its headers except the DLQ's, lmsbridge.target = the integration that failed,\n"
        "lmsbridge.replays = the record's + 1. Progress (JSON lines) on stderr, a final\n"
        "summary (JSON) on stdout. Never replayed: a dead letter whose value the worker\n"
        "cut to fit the DLQ (lmsbridge.value.truncated: \"true\"; refused as truncated):\n"
        "it is not the event; find the original by its topic, partition and offset.\n"
        "  --dry-run            print the summary and each selected record with what\n"
        "                       would happen to it; send and commit nothing\n"
        "  --yes                do not ask (required when stdin is not a terminal)\n"
        "  --max-replays N      refuse records already replayed N times (default 3)\n"
        "  --untargeted         also replay records that name no integration\n"
        "                       (invalid_event, mapping) to every integration the\n"
        "                       worker routes them to; refused otherwise: the same\n"
        "                       bytes fail the same way unless lmsbridge changed\n"
        "  --group ID           the progress group (default: <group_id>.dlq-replay,\n"
        "                       followed by .<hash of the filters> when filters are\n"
        "                       given)\n"
        "  --rate N             at most N records a second (default: no limit)\n"
        "  --max-in-flight N    records sent and not yet acknowledged (default 1000)\n"
        "\n"
        "Progress: each selection (set of filters) has its own consumer group on the\n"
        "DLQ. A DLQ offset is committed only once every record republished up to it\n"
        "was acknowledged by the broker; records not selected or refused are passed\n"
        "over. Running the same command again replays only what was dead-lettered\n"
        "since (after a crash, at most the unacknowledged tail again). Another\n"
        "selection starts at the beginning of the DLQ: a record it matches that was\n"
        "already replayed under another selection is sent again. Refused records\n"
        "stay refused for that selection; select them explicitly (--key,\n"
        "--offset-from/--offset-to) to replay them later. Nothing is ever deleted\n"
        "from the DLQ.\n"
        "\n"
        "resync (catalog-worker's file): sends the whole catalog again to one\n"
        "integration, e.g. for a customer who wiped it. Reads the catalog topics\n"
        "(kafka.topics) from their beginning to the end they had at start, keeps each\n"
        "item's newest record (the highest version) that the integration takes (its\n"
        "routing and filters as the worker plans them), prints a summary (JSON), asks\n"
        "for confirmation on a terminal, then republishes each to its topic and\n"
        "partition: same key and value, lmsbridge.target = ID and lmsbridge.resync =\n"
        "\"true\". catalog-worker sends such a record even when it delivered the same\n"
        "content before (it is not \"unchanged\"), never when an older version than\n"
        "the one delivered. --dry-run, --yes, --rate and --max-in-flight as for replay;\n"
        "no other filter. Commits nothing: running it again sends everything again.\n"
        "\n"
        "Exit status: 0 done; 1 invalid configuration, Kafka failure, a record not\n"
        "republished, or interrupted; 2 usage, or the replay was not confirmed.\n",
        out);
}

typedef struct {
  const char *command;
  const char *config_path;
  const char *worker;
  const char *group;
  bool count, dry_run, yes, untargeted;
  long max_replays;
  long max_in_flight;
  long rate;
  lb_dlq_filter filter;
} options;

static const lb_worker *kind_named(const char *name)
{
  for (size_t i = 0; lb_worker_all[i]; i++) {
    size_t n = strlen(lb_worker_all[i]->name) - strlen("-worker");
    if (strcmp(name, lb_worker_all[i]->name) == 0 ||
        (strlen(name) == n && strncmp(name, lb_worker_all[i]->name, n) == 0))
      return lb_worker_all[i];
  }
  return NULL;
}

/* Which worker the file configures, when --worker is not given: the one
 * whose default topic is its first topic; or either when it sets both
 * topics and group_id (the kind then changes nothing we use). NULL: cannot
 * tell (or the file cannot be read: lb_config_load says why). */
static const lb_worker *infer_kind(const char *path, bool *unreadable)
{
  config_t lc;
  const lb_worker *k = NULL;
  config_init(&lc);
  *unreadable = config_read_file(&lc, path) != CONFIG_TRUE;
  if (*unreadable)
    goto out;
  const char *first = NULL, *group = NULL;
  config_setting_t *topics = config_lookup(&lc, "kafka.topics");
  if (topics && config_setting_is_aggregate(topics) && config_setting_length(topics) > 0)
    first = config_setting_get_string_elem(topics, 0);
  config_lookup_string(&lc, "kafka.group_id", &group);
  for (size_t i = 0; first && lb_worker_all[i] && !k; i++)
    if (strcmp(first, lb_worker_all[i]->default_topic) == 0)
      k = lb_worker_all[i];
  if (!k && first && group)
    k = lb_worker_all[0];
out:
  config_destroy(&lc);
  return k;
}

/* Prints a JSON line on stdout, through the log redaction: a DLQ record
 * may quote anything, and no secret this loaded (Kafka's: the integrations'
 * are never resolved here) leaves. */
static void print_json(json_object *o)
{
  const char *text = lb_json_text(o);
  size_t cap = strlen(text) * 4 + 64;
  char *safe = malloc(cap);
  if (safe) {
    lb_log_redact(text, safe, cap);
    fputs(safe, stdout);
    fputc('\n', stdout);
  }
  free(safe);
  json_object_put(o);
}

/* The only mutable global: set by the signal handlers, read by the loop. */
static volatile sig_atomic_t stop_requested;

/* librdkafka's threads are started with SIGTERM and SIGINT blocked, so
 * the signals reach the main thread only. */
static void block_stop_signals(bool block)
{
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGTERM);
  sigaddset(&s, SIGINT);
  pthread_sigmask(block ? SIG_BLOCK : SIG_UNBLOCK, &s, NULL);
}

static void on_stop_signal(int sig)
{
  (void)sig;
  if (stop_requested)
    _exit(1); /* a second signal: exit at once */
  stop_requested = 1;
}

/* Decodes a message; false (logged) on out of memory. */
static bool decode(const rd_kafka_message_t *m, lb_dlq_record *rec)
{
  lb_dlq_raw raw;
  lb_dlq_reader_raw_from_message(&raw, m);
  if (lb_dlq_record_decode(rec, &raw) != LB_E_OK) {
    lb_log(LB_LOG_ERROR, "out of memory decoding a dead letter, stopping",
           LB_I("dlq_partition", m->partition), LB_I("dlq_offset", m->offset));
    return false;
  }
  return true;
}

/* Waits for the reader's next record; logs and returns -2 when nothing has
 * come for STALL_MS. */
static int next_record(lb_dlq_reader *r, rd_kafka_message_t **m, int64_t *last_mono,
                       const char *topic)
{
  int n = lb_dlq_reader_next(r, 100, m);
  int64_t now = lb_time_mono_ms();
  if (n != -1) {
    *last_mono = now;
    return n;
  }
  if (now - *last_mono > STALL_MS) {
    lb_log(LB_LOG_ERROR, "no record read for 60 s, stopping", LB_S("topic", topic));
    return -2;
  }
  return -1;
}

static int run_list(const options *o, const lb_config *cfg)
{
  char err[512];
  int rc = 1;
  lb_dlq_totals totals;
  lb_dlq_filter none;
  lb_dlq_reader *r = NULL;
  lb_dlq_totals_init(&totals);
  lb_dlq_filter_init(&none);
  /* a group.id the reader needs; list never commits to it */
  char *group = lb_dlq_progress_group(cfg->kafka.group_id, &none);
  if (!group) {
    lb_log(LB_LOG_ERROR, "out of memory, nothing listed");
    goto out;
  }
  lb_dlq_reader_options ro = { .cfg = cfg, .group = group };
  block_stop_signals(true);
  r = lb_dlq_reader_new(&ro, err, sizeof(err));
  block_stop_signals(false);
  if (!r || lb_dlq_reader_rewind(r, err, sizeof(err)) != LB_E_OK) {
    lb_log(LB_LOG_ERROR, "cannot read the dead-letter topic, nothing listed",
           LB_S("topic", cfg->kafka.dlq_topic), LB_S("error", err));
    goto out;
  }
  rd_kafka_message_t *m;
  int n;
  int64_t last = lb_time_mono_ms();
  while ((n = next_record(r, &m, &last, cfg->kafka.dlq_topic)) != 0) {
    if (n == -2)
      goto out;
    if (n < 0)
      continue;
    lb_dlq_record rec;
    if (!decode(m, &rec)) {
      rd_kafka_message_destroy(m);
      goto out;
    }
    if (lb_dlq_filter_match(&o->filter, &rec)) {
      if (o->count)
        lb_dlq_totals_add(&totals, rec.integration, rec.reason);
      else
        print_json(lb_dlq_record_json(&rec));
    }
    lb_dlq_record_release(&rec);
    rd_kafka_message_destroy(m);
  }
  if (o->count) {
    json_object *t = lb_dlq_totals_json(&totals);
    json_object_object_add(t, "dlq_topic", json_object_new_string(cfg->kafka.dlq_topic));
    print_json(t);
  }
  rc = 0;
out:
  fflush(stdout);
  lb_dlq_totals_release(&totals);
  lb_dlq_reader_destroy(r);
  free(group);
  return rc;
}

/* What a pass over the selection found. */
typedef struct {
  lb_dlq_totals matched;   /* every selected record */
  lb_dlq_totals to_replay; /* those that would be replayed */
  long long verdicts[LB_DLQ_VERDICT__COUNT];
} plan;

static json_object *refused_json(const long long *verdicts)
{
  json_object *o = json_object_new_object();
  for (int v = 0; v < LB_DLQ_VERDICT__COUNT; v++)
    if (!lb_dlq_verdict_replays((lb_dlq_verdict)v))
      json_object_object_add(o, lb_dlq_verdict_name((lb_dlq_verdict)v),
                             json_object_new_int64(verdicts[v]));
  return o;
}

static long long replayable(const plan *p)
{
  return p->verdicts[LB_DLQ_REPLAY] + p->verdicts[LB_DLQ_REPLAY_UNTARGETED];
}

/* Pass 1: counts what the selection holds (and with --dry-run prints each
 * selected record with its verdict). 0, or 1 on failure (logged). */
static int make_plan(const options *o, const lb_dlq_policy *pol, lb_dlq_reader *r,
                     const char *topic, plan *p)
{
  char err[512];
  rd_kafka_message_t *m;
  int n;
  int64_t last = lb_time_mono_ms();
  if (lb_dlq_reader_rewind(r, err, sizeof(err)) != LB_E_OK) {
    lb_log(LB_LOG_ERROR, "cannot read the dead-letter topic, nothing replayed",
           LB_S("topic", topic), LB_S("error", err));
    return 1;
  }
  while ((n = next_record(r, &m, &last, topic)) != 0) {
    if (n == -2)
      return 1;
    if (n < 0)
      continue;
    lb_dlq_record rec;
    if (!decode(m, &rec)) {
      rd_kafka_message_destroy(m);
      return 1;
    }
    if (lb_dlq_filter_match(&o->filter, &rec)) {
      lb_dlq_verdict v = lb_dlq_judge(pol, &rec);
      p->verdicts[v]++;
      lb_dlq_totals_add(&p->matched, rec.integration, rec.reason);
      if (lb_dlq_verdict_replays(v))
        lb_dlq_totals_add(&p->to_replay, rec.integration, rec.reason);
      if (o->dry_run) {
        json_object *line = lb_dlq_record_json(&rec);
        json_object_object_add(line, "action", json_object_new_string(lb_dlq_verdict_name(v)));
        print_json(line);
      }
    }
    lb_dlq_record_release(&rec);
    rd_kafka_message_destroy(m);
  }
  return 0;
}

static void print_plan(const options *o, const char *topic, const char *group,
                       const lb_dlq_reader *r, const plan *p)
{
  json_object *s = json_object_new_object();
  json_object_object_add(s, "summary", json_object_new_string(o->dry_run ? "dry-run" : "plan"));
  json_object_object_add(s, "dlq_topic", json_object_new_string(topic));
  json_object_object_add(s, "group", json_object_new_string(group));
  json_object_object_add(s, "read", lb_dlq_reader_range_json(r));
  json_object_object_add(s, "matched", json_object_new_int64(p->matched.total));
  json_object_object_add(s, "to_replay", json_object_new_int64(replayable(p)));
  json_object_object_add(s, "refused", refused_json(p->verdicts));
  json_object_object_add(s, "max_replays", json_object_new_int64(o->max_replays));
  json_object *m = lb_dlq_totals_json(&p->matched);
  json_object *t = lb_dlq_totals_json(&p->to_replay);
  json_object_object_add(s, "matched_by", m);
  json_object_object_add(s, "to_replay_by", t);
  print_json(s);
  fflush(stdout);
}

/* Asks on the terminal, after the plan in words. 0 yes, 2 no (or no
 * terminal). */
static int confirm(const plan *p, const char *dlq)
{
  char line[64];
  long long n = replayable(p);
  if (!isatty(STDIN_FILENO)) {
    fprintf(stderr, NAME ": not replaying: stdin is not a terminal to confirm on; pass --yes "
                         "(see the summary above, or --dry-run)\n");
    return 2;
  }
  fprintf(stderr, NAME ": %lld record%s of %s match; to replay:", (long long)p->matched.total,
          p->matched.total == 1 ? "" : "s", dlq);
  json_object *t = lb_dlq_totals_json(&p->to_replay), *by = NULL;
  json_object_object_get_ex(t, "by_integration", &by);
  json_object_object_foreach(by, integ, count)
      fprintf(stderr, " %s %lld", integ, (long long)json_object_get_int64(count));
  json_object_put(t);
  fputs("; refused:", stderr);
  for (int v = 0; v < LB_DLQ_VERDICT__COUNT; v++)
    if (!lb_dlq_verdict_replays((lb_dlq_verdict)v) && p->verdicts[v])
      fprintf(stderr, " %s %lld", lb_dlq_verdict_name((lb_dlq_verdict)v), p->verdicts[v]);
  fprintf(stderr, "\n" NAME ": replay %lld record%s to their original topic? [y/N] ", n,
          n == 1 ? "" : "s");
  fflush(stderr);
  if (!fgets(line, sizeof(line), stdin) ||
      !(strcmp(line, "y\n") == 0 || strcmp(line, "yes\n") == 0 || strcmp(line, "Y\n") == 0)) {
    fprintf(stderr, NAME ": not confirmed, nothing replayed\n");
    return 2;
  }
  return 0;
}

typedef struct {
  long long read, sent, refused, passed;
  bool send_failed;
} run_stats;

static void progress(const lb_dlq_replayer *rp, const run_stats *st, int64_t total,
                     int64_t started_mono)
{
  double secs = (double)(lb_time_mono_ms() - started_mono) / 1000.0;
  long long acked = lb_dlq_replayer_acked(rp);
  lb_log(LB_LOG_INFO, "replay progress", LB_I("done", st->read), LB_I("total", total),
         LB_I("replayed", acked), LB_I("in_flight", lb_dlq_replayer_in_flight(rp)),
         LB_D("records_per_s", secs > 0 ? round((double)acked / secs * 10) / 10 : 0.0));
}

/* Pass 2: republishes the selected records. */
static void replay_pass(const options *o, const lb_dlq_policy *pol, lb_dlq_reader *r,
                        lb_dlq_replayer *rp, const char *topic, run_stats *st, int64_t total,
                        int64_t started_mono)
{
  char err[512];
  rd_kafka_message_t *m;
  int n;
  int64_t last = lb_time_mono_ms(), next_progress = started_mono + PROGRESS_EVERY_MS;

  while (!stop_requested) {
    int64_t now = lb_time_mono_ms();
    if (now >= next_progress) {
      progress(rp, st, total, started_mono);
      next_progress = now + PROGRESS_EVERY_MS;
    }
    if (lb_dlq_replayer_failed(rp, NULL) > 0) {
      st->send_failed = true;
      break;
    }
    /* bounded: the unacknowledged tail, and the pace asked for */
    bool ahead = o->rate > 0 &&
                 (double)st->sent >= (double)o->rate * (double)(now - started_mono) / 1000.0 + 1;
    if (lb_dlq_replayer_in_flight(rp) >= o->max_in_flight || ahead) {
      lb_dlq_replayer_poll(rp, ahead ? 5 : 50);
      last = lb_time_mono_ms();
      continue;
    }
    if ((n = next_record(r, &m, &last, topic)) == 0)
      break;
    if (n == -2) {
      st->send_failed = true;
      break;
    }
    if (n < 0) {
      lb_dlq_replayer_poll(rp, 0);
      continue;
    }
    st->read++;
    lb_dlq_record rec;
    if (!decode(m, &rec)) {
      rd_kafka_message_destroy(m);
      st->send_failed = true;
      break;
    }
    lb_err e = LB_E_OK;
    if (!lb_dlq_filter_match(&o->filter, &rec)) {
      st->passed++;
      e = lb_dlq_replayer_pass(rp, &rec);
    } else {
      lb_dlq_verdict v = lb_dlq_judge(pol, &rec);
      if (!lb_dlq_verdict_replays(v)) {
        st->refused++;
        if (v == LB_DLQ_REFUSE_TRUNCATED)
          lb_log(LB_LOG_WARN,
                 "dead letter not replayed: its value was cut to fit the dead-letter topic; "
                 "the original event is at the source coordinates",
                 LB_S("source_topic", rec.topic), LB_I("source_partition", rec.partition),
                 LB_I("source_offset", rec.offset), LB_I("dlq_partition", rec.raw.partition),
                 LB_I("dlq_offset", rec.raw.offset), LB_I("value_bytes", rec.value_original_bytes));
        e = lb_dlq_replayer_pass(rp, &rec);
      } else {
        rd_kafka_headers_t *h = lb_dlq_replay_headers(&rec, v == LB_DLQ_REPLAY);
        e = lb_dlq_replayer_send(rp, &rec, h, err, sizeof(err));
        if (e == LB_E_OK)
          st->sent++;
        else
          lb_log(LB_LOG_ERROR, "cannot republish a dead letter, stopping", LB_S("topic", rec.topic),
                 LB_I("dlq_partition", rec.raw.partition), LB_I("dlq_offset", rec.raw.offset),
                 LB_S("error", err));
      }
    }
    if (e == LB_E_NOMEM)
      lb_log(LB_LOG_ERROR, "out of memory tracking the replay progress, stopping");
    lb_dlq_record_release(&rec);
    rd_kafka_message_destroy(m);
    if (e != LB_E_OK) {
      st->send_failed = true;
      break;
    }
    lb_dlq_replayer_poll(rp, 0);
  }
}

static int run_replay(const options *o, const lb_config *cfg)
{
  char err[512];
  int rc = 1;
  char *group =
      o->group ? strdup(o->group) : lb_dlq_progress_group(cfg->kafka.group_id, &o->filter);
  lb_dlq_reader *r = NULL;
  lb_dlq_replayer *rp = NULL;
  plan p = { 0 };
  run_stats st = { 0 };
  lb_dlq_totals_init(&p.matched);
  lb_dlq_totals_init(&p.to_replay);
  lb_dlq_policy pol = { .cfg = cfg,
                        .max_replays = (int)o->max_replays,
                        .allow_untargeted = o->untargeted };

  if (!group) {
    lb_log(LB_LOG_ERROR, "out of memory, nothing replayed");
    goto out;
  }
  lb_dlq_reader_options ro = { .cfg = cfg, .group = group, .from_committed = true };
  block_stop_signals(true);
  r = lb_dlq_reader_new(&ro, err, sizeof(err));
  block_stop_signals(false);
  if (!r) {
    lb_log(LB_LOG_ERROR, "cannot read the dead-letter topic, nothing replayed",
           LB_S("topic", cfg->kafka.dlq_topic), LB_S("error", err));
    goto out;
  }
  if (make_plan(o, &pol, r, cfg->kafka.dlq_topic, &p) != 0)
    goto out;
  print_plan(o, cfg->kafka.dlq_topic, group, r, &p);
  if (o->dry_run) {
    rc = 0;
    goto out;
  }
  /* nothing to send: the run only moves the progress past what it read */
  if (replayable(&p) > 0 && !o->yes && (rc = confirm(&p, cfg->kafka.dlq_topic)) != 0)
    goto out;
  rc = 1;

  block_stop_signals(true);
  rp = lb_dlq_replayer_new(cfg, r, err, sizeof(err));
  /* from here a signal stops the run cleanly: in-flight records are
   * acknowledged and the progress committed */
  struct sigaction sa = { .sa_handler = on_stop_signal };
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  block_stop_signals(false);
  if (!rp) {
    lb_log(LB_LOG_ERROR, "cannot start the producer, nothing replayed", LB_S("error", err));
    goto out;
  }

  int64_t started = lb_time_mono_ms();
  lb_log(LB_LOG_INFO, "replaying", LB_S("topic", cfg->kafka.dlq_topic), LB_S("group", group),
         LB_I("to_replay", replayable(&p)), LB_I("total", lb_dlq_reader_total(r)));
  if (lb_dlq_reader_rewind(r, err, sizeof(err)) != LB_E_OK) {
    lb_log(LB_LOG_ERROR, "cannot read the dead-letter topic, nothing replayed",
           LB_S("topic", cfg->kafka.dlq_topic), LB_S("error", err));
    goto out;
  }
  replay_pass(o, &pol, r, rp, cfg->kafka.dlq_topic, &st, lb_dlq_reader_total(r), started);
  lb_err fe = lb_dlq_replayer_finish(rp, FINISH_TIMEOUT_MS, err, sizeof(err));
  if (fe != LB_E_OK)
    lb_log(LB_LOG_ERROR, "replay not finished", LB_S("error", err));
  progress(rp, &st, lb_dlq_reader_total(r), started);

  const char *first_error = NULL;
  long long failed = lb_dlq_replayer_failed(rp, &first_error);
  double secs = (double)(lb_time_mono_ms() - started) / 1000.0;
  long long acked = lb_dlq_replayer_acked(rp);
  json_object *s = json_object_new_object();
  json_object_object_add(s, "summary", json_object_new_string("replay"));
  json_object_object_add(s, "dlq_topic", json_object_new_string(cfg->kafka.dlq_topic));
  json_object_object_add(s, "group", json_object_new_string(group));
  json_object_object_add(s, "matched", json_object_new_int64(p.matched.total));
  json_object_object_add(s, "replayed", json_object_new_int64(acked));
  json_object_object_add(s, "refused", json_object_new_int64(st.refused));
  json_object_object_add(s, "refused_by", refused_json(p.verdicts));
  json_object_object_add(s, "failed", json_object_new_int64(failed));
  json_object_object_add(s, "not_acknowledged",
                         json_object_new_int64(lb_dlq_replayer_in_flight(rp)));
  json_object_object_add(s, "error", lb_json_string_or_null(first_error));
  json_object_object_add(s, "interrupted", json_object_new_boolean(stop_requested != 0));
  json_object_object_add(s, "seconds", lb_json_number(round(secs * 1000) / 1000));
  json_object_object_add(s, "records_per_s",
                         lb_json_number(secs > 0 ? round((double)acked / secs * 10) / 10 : 0));
  json_object_object_add(s, "committed", lb_dlq_replayer_committed_json(rp));
  print_json(s);
  fflush(stdout);
  bool complete =
      fe == LB_E_OK && !st.send_failed && !stop_requested && failed == 0 && acked == replayable(&p);
  if (!complete)
    lb_log(LB_LOG_WARN, "replay incomplete: run the same command again to go on",
           LB_I("replayed", acked), LB_I("to_replay", replayable(&p)), LB_I("failed", failed),
           LB_S("error", first_error ? first_error : (fe != LB_E_OK ? err : "")));
  rc = complete ? 0 : 1;
out:
  lb_dlq_replayer_destroy(rp);
  lb_dlq_reader_destroy(r);
  lb_dlq_totals_release(&p.matched);
  lb_dlq_totals_release(&p.to_replay);
  free(group);
  return rc;
}

/* resync: the whole catalog again to one integration (lb_resync). */
static int run_resync(const options *o, const lb_config *cfg, const lb_worker *k)
{
  char err[512];
  int rc = 1;
  const char *integ = o->filter.integrations[0];
  lb_resync *rs = NULL;
  lb_resync_counts c = { 0 };
  if (!k->keeps_state) {
    lb_log(LB_LOG_ERROR, "resync sends a catalog: give it catalog-worker's file, nothing sent",
           LB_S("config", cfg->path));
    return 2;
  }
  const lb_integration *in = lb_config_integration(cfg, integ);
  if (!in) {
    lb_log(LB_LOG_ERROR, "unknown integration: the file has none of that id, nothing sent",
           LB_S("integration", integ), LB_S("config", cfg->path));
    return 1;
  }
  lb_resync_options ro = { .cfg = cfg,
                           .integration = integ,
                           .plan = k->plan,
                           .rate = o->rate,
                           .max_in_flight = o->max_in_flight,
                           .stop = &stop_requested };
  block_stop_signals(true);
  rs = lb_resync_new(&ro, err, sizeof(err));
  /* from here a signal stops the run cleanly: what was queued is
   * acknowledged first */
  struct sigaction sa = { .sa_handler = on_stop_signal };
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  block_stop_signals(false);
  if (!rs) {
    lb_log(LB_LOG_ERROR, "cannot read the catalog topics, nothing sent", LB_S("error", err));
    goto out;
  }
  if (lb_resync_scan(rs, &c, err, sizeof(err)) != LB_E_OK) {
    lb_log(LB_LOG_ERROR, "cannot read the catalog topics, nothing sent", LB_S("error", err));
    goto out;
  }
  json_object *p = json_object_new_object();
  json_object_object_add(p, "summary", json_object_new_string(o->dry_run ? "dry-run" : "plan"));
  json_object_object_add(p, "integration", json_object_new_string(integ));
  json_object_object_add(p, "read", lb_resync_range_json(rs));
  json_object_object_add(p, "records", json_object_new_int64(c.read));
  json_object_object_add(p, "not_catalog_events", json_object_new_int64(c.invalid));
  json_object_object_add(p, "items", json_object_new_int64(c.items));
  json_object_object_add(p, "to_send", json_object_new_int64(c.to_send));
  json_object_object_add(p, "not_taken", json_object_new_int64(c.items - c.to_send));
  print_json(p);
  fflush(stdout);
  if (o->dry_run) {
    rc = 0;
    goto out;
  }
  if (c.to_send > 0 && !o->yes) {
    char line[64];
    if (!isatty(STDIN_FILENO)) {
      fprintf(stderr, NAME ": not sending: stdin is not a terminal to confirm on; pass --yes "
                           "(see the summary above, or --dry-run)\n");
      rc = 2;
      goto out;
    }
    fprintf(stderr, NAME ": send %lld item%s of the catalog again to %s? [y/N] ", c.to_send,
            c.to_send == 1 ? "" : "s", integ);
    fflush(stderr);
    if (!fgets(line, sizeof(line), stdin) ||
        !(strcmp(line, "y\n") == 0 || strcmp(line, "yes\n") == 0 || strcmp(line, "Y\n") == 0)) {
      fprintf(stderr, NAME ": not confirmed, nothing sent\n");
      rc = 2;
      goto out;
    }
  }
  int64_t started = lb_time_mono_ms();
  lb_log(LB_LOG_INFO, "resyncing", LB_S("integration", integ), LB_I("to_send", c.to_send));
  lb_err e = lb_resync_send(rs, &c, FINISH_TIMEOUT_MS, err, sizeof(err));
  double secs = (double)(lb_time_mono_ms() - started) / 1000.0;
  json_object *s = json_object_new_object();
  json_object_object_add(s, "summary", json_object_new_string("resync"));
  json_object_object_add(s, "integration", json_object_new_string(integ));
  json_object_object_add(s, "to_send", json_object_new_int64(c.to_send));
  json_object_object_add(s, "sent", json_object_new_int64(c.sent));
  json_object_object_add(s, "acknowledged", json_object_new_int64(c.acknowledged));
  json_object_object_add(s, "failed", json_object_new_int64(c.failed));
  json_object_object_add(s, "error", lb_json_string_or_null(e == LB_E_OK ? NULL : err));
  json_object_object_add(s, "interrupted", json_object_new_boolean(stop_requested != 0));
  json_object_object_add(s, "seconds", lb_json_number(round(secs * 1000) / 1000));
  print_json(s);
  fflush(stdout);
  if (e != LB_E_OK)
    lb_log(LB_LOG_WARN,
           "resync incomplete: run the same command again (it sends everything "
           "again, which is harmless)",
           LB_I("acknowledged", c.acknowledged), LB_I("to_send", c.to_send), LB_S("error", err));
  rc = e == LB_E_OK && c.acknowledged == c.to_send ? 0 : 1;
out:
  lb_resync_destroy(rs);
  return rc;
}

static bool parse_long(const char *s, long lo, long hi, long *ret)
{
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < lo || v > hi)
    return false;
  *ret = v;
  return true;
}

enum {
  OPT_CONFIG = 1000,
  OPT_WORKER,
  OPT_COUNT,
  OPT_DRY_RUN,
  OPT_YES,
  OPT_MAX_REPLAYS,
  OPT_UNTARGETED,
  OPT_GROUP,
  OPT_RATE,
  OPT_MAX_IN_FLIGHT,
  OPT_VERSION,
  OPT_HELP,
  OPT_FILTER, /* every filter option: its name says which */
};

/* Parses argv into *o. Returns -1 to go on, else the exit code. */
static int parse_args(int argc, char **argv, options *o)
{
  static const struct option opts[] = {
    { "config", required_argument, NULL, OPT_CONFIG },
    { "worker", required_argument, NULL, OPT_WORKER },
    { "count", no_argument, NULL, OPT_COUNT },
    { "dry-run", no_argument, NULL, OPT_DRY_RUN },
    { "yes", no_argument, NULL, OPT_YES },
    { "max-replays", required_argument, NULL, OPT_MAX_REPLAYS },
    { "untargeted", no_argument, NULL, OPT_UNTARGETED },
    { "group", required_argument, NULL, OPT_GROUP },
    { "rate", required_argument, NULL, OPT_RATE },
    { "max-in-flight", required_argument, NULL, OPT_MAX_IN_FLIGHT },
    { "version", no_argument, NULL, OPT_VERSION },
    { "help", no_argument, NULL, OPT_HELP },
    { "integration", required_argument, NULL, OPT_FILTER },
    { "reason", required_argument, NULL, OPT_FILTER },
    { "status", required_argument, NULL, OPT_FILTER },
    { "since", required_argument, NULL, OPT_FILTER },
    { "until", required_argument, NULL, OPT_FILTER },
    { "partition", required_argument, NULL, OPT_FILTER },
    { "offset-from", required_argument, NULL, OPT_FILTER },
    { "offset-to", required_argument, NULL, OPT_FILTER },
    { "key", required_argument, NULL, OPT_FILTER },
    { "grep", required_argument, NULL, OPT_FILTER },
    { NULL, 0, NULL, 0 },
  };
  char err[256];
  const char *bad = NULL;
  bool replay_only = false, not_resync = false, filters = false;
  int c, idx;

  opterr = 0;
  while ((c = getopt_long(argc, argv, "", opts, &idx)) != -1) {
    switch (c) {
    case OPT_CONFIG:
      o->config_path = optarg;
      break;
    case OPT_WORKER:
      o->worker = optarg;
      break;
    case OPT_COUNT:
      o->count = not_resync = true;
      break;
    case OPT_DRY_RUN:
      o->dry_run = replay_only = true;
      break;
    case OPT_YES:
      o->yes = replay_only = true;
      break;
    case OPT_UNTARGETED:
      o->untargeted = replay_only = not_resync = true;
      break;
    case OPT_GROUP:
      o->group = optarg;
      replay_only = not_resync = true;
      break;
    case OPT_MAX_REPLAYS:
      replay_only = not_resync = true;
      if (!parse_long(optarg, 0, 1000000, &o->max_replays))
        bad = "--max-replays: expects a number from 0 to 1000000";
      break;
    case OPT_RATE:
      replay_only = true;
      if (!parse_long(optarg, 1, 10000000, &o->rate))
        bad = "--rate: expects records a second, from 1";
      break;
    case OPT_MAX_IN_FLIGHT:
      replay_only = true;
      if (!parse_long(optarg, 1, 1000000, &o->max_in_flight))
        bad = "--max-in-flight: expects a number from 1 to 1000000";
      break;
    case OPT_VERSION:
      printf(NAME " %s\n", LB_VERSION);
      return 0;
    case OPT_HELP:
      usage(stdout);
      return 0;
    case OPT_FILTER:
      filters = filters || strcmp(opts[idx].name, "integration") != 0;
      if (lb_dlq_filter_add(&o->filter, opts[idx].name, optarg, err, sizeof(err)) != LB_E_OK) {
        fprintf(stderr, NAME ": %s\n", err);
        return 2;
      }
      break;
    default:
      fprintf(stderr, NAME ": unknown or incomplete option \"%s\"\n", argv[optind - 1]);
      fprintf(stderr, "try: " NAME " --help\n");
      return 2;
    }
    if (bad) {
      fprintf(stderr, NAME ": %s\n", bad);
      return 2;
    }
  }
  if (optind < argc)
    o->command = argv[optind++];
  bool resync = o->command && strcmp(o->command, "resync") == 0;
  if (!o->command ||
      (strcmp(o->command, "list") != 0 && strcmp(o->command, "replay") != 0 && !resync))
    bad = o->command ? "unknown command (list, replay or resync)"
                     : "a command is required (list, replay or resync)";
  else if (optind < argc)
    bad = "unexpected argument";
  else if (!o->config_path)
    bad = "--config FILE is required";
  else if (strcmp(o->command, "list") == 0 && replay_only)
    bad = "--dry-run, --yes, --untargeted, --group, --max-replays, --rate and "
          "--max-in-flight are options of replay";
  else if (strcmp(o->command, "replay") == 0 && o->count)
    bad = "--count is an option of list (replay --dry-run shows the totals)";
  else if (o->worker && !kind_named(o->worker))
    bad = "--worker: catalog-worker or completion-worker";
  else if (resync && (not_resync || filters))
    bad = "resync takes --integration, --dry-run, --yes, --rate and --max-in-flight only";
  else if (resync && (o->filter.nintegrations != 1 || !o->filter.integrations[0][0]))
    bad = "resync: --integration ID is required, exactly one";
  if (bad) {
    fprintf(stderr, NAME ": %s\n", bad);
    fprintf(stderr, "try: " NAME " --help\n");
    return 2;
  }
  return -1;
}

int main(int argc, char **argv)
{
  options o = { .max_replays = 3, .max_in_flight = 1000 };
  lb_config cfg;
  char *errors = NULL;
  int rc;

  lb_dlq_filter_init(&o.filter);
  if ((rc = parse_args(argc, argv, &o)) >= 0)
    goto out_filter;

  bool unreadable = false;
  const lb_worker *k = o.worker ? kind_named(o.worker) : infer_kind(o.config_path, &unreadable);
  if (!k && !unreadable) {
    fprintf(stderr,
            NAME ": cannot tell which worker \"%s\" configures (its kafka.topics or "
                 "kafka.group_id are the worker's defaults): pass --worker "
                 "catalog-worker or --worker completion-worker\n",
            o.config_path);
    rc = 2;
    goto out_filter;
  }
  if (!k)
    k = lb_worker_all[0]; /* the file cannot be read: the load says so */
  /* Kafka only: the integrations' credentials are never resolved (support
   * runs this with no customer secret); Kafka's own are. */
  lb_config_defaults defaults = { .worker = k->name,
                                  .default_topic = k->default_topic,
                                  .default_scopes = k->default_scopes,
                                  .skill_ratings_scope = k->skill_ratings_scope,
                                  .kafka_only = true,
                                  .keeps_state = k->keeps_state };
  if (lb_config_load(&cfg, o.config_path, &defaults, &errors) != LB_E_OK) {
    lb_cli_log_config_errors(errors, "invalid configuration, nothing done");
    free(errors);
    rc = 1;
    goto out_filter;
  }
  lb_log_set_level(cfg.observability.log_level);
  rc = strcmp(o.command, "list") == 0     ? run_list(&o, &cfg)
       : strcmp(o.command, "resync") == 0 ? run_resync(&o, &cfg, k)
                                          : run_replay(&o, &cfg);
  lb_config_release(&cfg);
  lb_log_clear_secrets();
out_filter:
  lb_dlq_filter_release(&o.filter);
  return rc;
}
