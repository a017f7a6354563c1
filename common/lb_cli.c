#include "lb_cli.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lb_connector.h"
#include "lb_engine.h"
#include "lb_event.h"
#include "lb_json.h"
#include "lb_log.h"
#include "lb_route.h"
#include "lb_strbuf.h"
#include "lb_time.h"

#define MAP_INPUT_MAX ((size_t)256 * 1024 * 1024)

static void usage(const lb_worker *w, FILE *out)
{
  fprintf(out,
          "usage: %s --config FILE [--check-config | --map FILE|-]\n"
          "       %s --version | --help\n"
          "\n%s\n\n"
          "  --config FILE    the daemon's libconfig file (docs/configuration.md)\n"
          "  --check-config   validate the configuration, print a summary\n"
          "                   without secrets, exit 0 (valid) or 1 (each\n"
          "                   problem printed as file:line: key: what)\n"
          "  --map FILE|-     read events (JSON lines, or one JSON document)\n"
          "                   and print, as JSON lines, the requests each\n"
          "                   integration would receive, or why not; no\n"
          "                   Kafka, no network\n"
          "  --version        print the version\n"
          "  --help           print this help\n",
          w->name, w->name, w->summary);
}

void lb_cli_log_config_errors(const char *errors, const char *msg)
{
  const char *p = errors;
  while (p && *p) {
    const char *nl = strchr(p, '\n');
    size_t n = nl ? (size_t)(nl - p) : strlen(p);
    char line[1024];
    snprintf(line, sizeof(line), "%.*s", (int)n, p);
    lb_log(LB_LOG_ERROR, msg, LB_S("error", line));
    p = nl ? nl + 1 : NULL;
  }
}

/* What the commands a person runs (--check-config, --map) print for
 * people goes through the log redaction as well: belt and braces against
 * a secret pasted where no secret was expected. */
static void print_redacted(const char *text, FILE *out)
{
  size_t cap = strlen(text) * 2 + 64;
  char *safe = malloc(cap);
  if (safe) {
    lb_log_redact(text, safe, cap);
    fputs(safe, out);
  }
  free(safe);
}

static void print_summary(const lb_config *cfg)
{
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  if (!mem)
    return;
  lb_config_print_summary(cfg, mem);
  fclose(mem);
  print_redacted(text, stdout);
  free(text);
}

/* A failure of --check-config or --map, for the person at the terminal:
 * "<daemon>: <what>" on stderr (the daemon itself logs JSON lines). */
static void say(const lb_worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(const lb_worker *w, const char *fmt, ...)
{
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  fprintf(stderr, "%s: ", w->name);
  print_redacted(line, stderr);
  fputc('\n', stderr);
}

static json_object *request_json(const lb_request *r)
{
  json_object *o = json_object_new_object();
  json_object *body = NULL;
  char err[64];
  json_object_object_add(o, "step", json_object_new_string(lb_step_name(r->step)));
  json_object_object_add(o, "method", json_object_new_string(lb_method_name(r->method)));
  json_object_object_add(o, "url", json_object_new_string(r->url));
  if (r->nheaders) {
    json_object *h = json_object_new_array();
    for (size_t i = 0; i < r->nheaders; i++)
      json_object_array_add(h, json_object_new_string(r->headers[i]));
    json_object_object_add(o, "headers", h);
  }
  if (r->body && lb_json_parse(r->body, strlen(r->body), &body, err, sizeof(err)) != LB_E_OK)
    body = json_object_new_string(r->body);
  json_object_object_add(o, "body", body);
  return o;
}

/* A request its connector coalesces, shown as the batch of one it would
 * travel in (with other items, as the note says). */
static json_object *batch_json(const lb_request *r, const lb_connector_batching *policy)
{
  lb_request one = *r;
  char *joined = NULL;
  const char *bodies[] = { r->body ? r->body : "null" };
  if (policy->join(bodies, 1, &joined) == LB_E_OK)
    one.body = joined;
  json_object *o = request_json(&one);
  free(joined);
  json_object_object_add(o, "note", json_object_new_string(policy->note));
  return o;
}

static void print_line(json_object *o)
{
  fputs(lb_json_text(o), stdout);
  fputc('\n', stdout);
  json_object_put(o);
}

static json_object *line_head(long lineno, const char *event_id)
{
  json_object *o = json_object_new_object();
  json_object_object_add(o, "line", json_object_new_int64(lineno));
  json_object_object_add(o, "event_id", lb_json_string_or_null(event_id));
  return o;
}

static void print_skip(long lineno, const char *event_id, const lb_integration *in,
                       const char *reason)
{
  json_object *o = line_head(lineno, event_id);
  json_object_object_add(o, "integration", json_object_new_string(in->id));
  json_object_object_add(o, "skip", json_object_new_string(reason));
  print_line(o);
}

/* Why each integration the plan leaves out does not receive a valid event
 * (another organization's, public content off): the planner keeps no item
 * for those, as the daemon has nothing to count or log, but a person asking
 * what an integration receives wants the reason. why[i] is set (static
 * text) for cfg->integrations[i] when its route is LB_ROUTE_NONE. */
static void unconcerned_reasons(const lb_worker *w, const lb_config *cfg, const char *value,
                                size_t len, const char **why)
{
  char err[64];
  if (w->plan == lb_plan_catalog) {
    lb_catalog_event ev;
    if (lb_catalog_event_parse(&ev, value, len, err, sizeof(err)) != LB_E_OK)
      return;
    for (size_t i = 0; i < cfg->nintegrations; i++)
      if (lb_route_catalog(&cfg->integrations[i], &ev, &why[i]) != LB_ROUTE_NONE)
        why[i] = NULL;
    lb_catalog_event_release(&ev);
  } else if (w->plan == lb_plan_completion) {
    lb_completion_event ev;
    if (lb_completion_event_parse(&ev, value, len, err, sizeof(err)) != LB_E_OK)
      return;
    for (size_t i = 0; i < cfg->nintegrations; i++)
      if (lb_route_completion(&cfg->integrations[i], &ev, &why[i]) != LB_ROUTE_NONE)
        why[i] = NULL;
    lb_completion_event_release(&ev);
  }
}

static void print_item(long lineno, const char *event_id, const lb_plan_item *it)
{
  if (it->skip) {
    print_skip(lineno, event_id, it->integration, it->reason);
    return;
  }
  for (size_t j = 0; j < it->requests.n; j++) {
    const lb_request *r = &it->requests.items[j];
    const lb_connector_batching *policy = lb_connector_of(it->integration->type)->batching;
    json_object *req = policy && it->requests.n == 1 && r->step == policy->step
                           ? batch_json(r, policy)
                           : request_json(r);
    json_object *o = line_head(lineno, event_id);
    json_object_object_add(o, "integration", json_object_new_string(it->integration->id));
    json_object_object_foreach(req, k, v) json_object_object_add(o, k, json_object_get(v));
    json_object_put(req);
    print_line(o);
  }
}

/* One line per request, per skipped integration (the plan's skips and the
 * integrations it leaves out, in the configuration's order) or for the
 * dead letter, which names the event by its id whenever the message has a
 * string event_id, however invalid the rest. False when out of memory. */
static bool print_plan(const lb_worker *w, const lb_config *cfg, long lineno, const lb_plan *plan,
                       const char *value, size_t len)
{
  if (plan->dead_letter) {
    char *id = plan->event_id ? NULL : lb_event_id_peek(value, len);
    json_object *o = line_head(lineno, plan->event_id ? plan->event_id : id);
    json_object_object_add(o, "dead_letter", json_object_new_string(plan->dlq_class));
    json_object_object_add(o, "reason", json_object_new_string(plan->dlq_message));
    print_line(o);
    free(id);
    return true;
  }
  const char **why = calloc(cfg->nintegrations + 1, sizeof(*why));
  if (!why)
    return false;
  unconcerned_reasons(w, cfg, value, len, why);
  bool printed = false;
  for (size_t i = 0; i < cfg->nintegrations; i++) {
    const lb_integration *in = &cfg->integrations[i];
    for (size_t k = 0; k < plan->n; k++)
      if (plan->items[k].integration == in) {
        print_item(lineno, plan->event_id, &plan->items[k]);
        printed = true;
      }
    if (why[i]) {
      print_skip(lineno, plan->event_id, in, why[i]);
      printed = true;
    }
  }
  if (!printed) {
    json_object *o = line_head(lineno, plan->event_id);
    json_object_object_add(o, "skip",
                           json_object_new_string("no configured integration receives this event"));
    print_line(o);
  }
  free(why);
  return true;
}

/* Plans and prints one event; false when the planner itself failed. */
static bool map_one(const lb_worker *w, const lb_config *cfg, long lineno, const char *value,
                    size_t len)
{
  lb_plan plan;
  lb_err e = w->plan(cfg, value, len, lb_time_now_ms(), &plan);
  if (e == LB_E_OK) {
    if (!print_plan(w, cfg, lineno, &plan, value, len))
      e = LB_E_NOMEM;
    lb_plan_release(&plan);
  }
  if (e != LB_E_OK)
    say(w, "cannot map the event of line %ld: %s, stopping", lineno, lb_strerror(e));
  return e == LB_E_OK;
}

static bool blank(char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Reads events from `path` ("-" = stdin): JSON lines, or one JSON document
 * spread over several lines (as in schemas/examples/). It is one document
 * when its first value, valid or not, does not end on the line where it
 * starts: then the whole text is that document, mapped (or dead-lettered
 * with its one real error) under the line where it starts. Blank lines
 * are no events. Returns 0, or 1 when the input could not be read or held
 * no event. */
static int run_map(const lb_worker *w, const lb_config *cfg, const char *path)
{
  FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
  char name[512], chunk[65536];
  lb_strbuf all;
  int rc = 0;

  if (!in) {
    say(w, "cannot open \"%s\": %s, nothing mapped", path, strerror(errno));
    return 1;
  }
  if (in == stdin)
    snprintf(name, sizeof(name), "the standard input");
  else
    snprintf(name, sizeof(name), "\"%s\"", path);
  lb_strbuf_init(&all, MAP_INPUT_MAX);
  size_t n;
  while ((n = fread(chunk, 1, sizeof(chunk), in)) > 0)
    if (lb_strbuf_append_len(&all, chunk, n) < 0)
      break;
  if (ferror(in) || all.overflow) {
    say(w, "cannot read %s: %s, nothing mapped", name,
        all.overflow ? "larger than 256 MiB" : "read error");
    rc = 1;
    goto out;
  }
  const char *text = all.buf ? all.buf : "";
  size_t start = 0;
  while (start < all.len && blank(text[start]))
    start++;
  if (start == all.len) {
    say(w, "no event in %s (%s), nothing mapped", name, all.len ? "only blank lines" : "empty");
    rc = 1;
    goto out;
  }
  size_t end = start + lb_json_value_end(text + start, all.len - start);
  if (memchr(text + start, '\n', end - start)) {
    long first = 1;
    for (size_t i = 0; i < start; i++)
      first += text[i] == '\n';
    rc = map_one(w, cfg, first, text, all.len) ? 0 : 1;
    goto out;
  }
  long lineno = 0;
  for (const char *p = text; p < text + all.len && rc == 0;) {
    const char *nl = memchr(p, '\n', (size_t)(text + all.len - p));
    size_t len = nl ? (size_t)(nl - p) : (size_t)(text + all.len - p);
    lineno++;
    size_t trimmed = len;
    while (trimmed > 0 && blank(p[trimmed - 1]))
      trimmed--;
    size_t lead = 0;
    while (lead < trimmed && blank(p[lead]))
      lead++;
    if (lead < trimmed && !map_one(w, cfg, lineno, p, trimmed))
      rc = 1;
    p = nl ? nl + 1 : p + len;
  }
out:
  lb_strbuf_release(&all);
  if (in != stdin)
    fclose(in);
  fflush(stdout);
  return rc;
}

/* The only mutable globals: set by the signal handlers, read by the loop. */
static volatile sig_atomic_t stop_requested, terminate_requested, reload_requested;

static void on_stop_signal(int sig)
{
  (void)sig;
  if (terminate_requested)
    _exit(1); /* a second signal: exit at once */
  terminate_requested = 1;
  stop_requested = 1;
}

static void on_reload_signal(int sig)
{
  (void)sig;
  reload_requested = 1;
}

/* What a reload needs: the file, and the configuration it produced. */
typedef struct {
  const char *path;
  const lb_config_defaults *defaults;
  lb_config next;
  bool have_next;
} reload_ctx;

/* SIGHUP, from the engine's loop: the file is read and validated again;
 * only a valid one stops the engine (which drains and commits like
 * SIGTERM) to start again with it. An invalid one changes nothing. */
static bool accept_reload(void *opaque)
{
  reload_ctx *r = opaque;
  char *errors = NULL;
  lb_config next;
  lb_log(LB_LOG_INFO, "SIGHUP: reading the configuration again", LB_S("file", r->path));
  /* syntax first, in a child (lb_config_syntax_check: libconfig leaks on
   * some broken files); a file that cannot be checked is loaded as is */
  lb_err e = lb_config_syntax_check(r->path, &errors);
  if (e == LB_E_IO)
    e = LB_E_OK;
  if (e == LB_E_OK)
    e = lb_config_load(&next, r->path, r->defaults, &errors);
  if (e == LB_E_OK &&
      (e = lb_worker_check_config(lb_worker_find(r->defaults->worker), &next, &errors)) != LB_E_OK)
    lb_config_release(&next);
  if (e != LB_E_OK) {
    lb_cli_log_config_errors(errors, "invalid configuration, reload refused, keeping the "
                                     "running configuration");
    free(errors);
    return false;
  }
  if (r->have_next)
    lb_config_release(&r->next);
  r->next = next;
  r->have_next = true;
  return true;
}

static int run_daemon(const lb_worker *w, lb_config *cfg, const char *path,
                      const lb_config_defaults *defaults)
{
  char err[512];
  sigset_t block, old;
  reload_ctx reload = { .path = path, .defaults = defaults };

  curl_global_init(CURL_GLOBAL_DEFAULT);
  /* librdkafka's and libcurl's threads inherit a mask without them: the
   * signals reach this thread only */
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  struct sigaction sa = { .sa_handler = on_stop_signal };
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sa.sa_handler = on_reload_signal;
  sigaction(SIGHUP, &sa, NULL);
  int rc = 1;
  lb_engine *e = NULL;
  for (;;) {
    if (!e) {
      lb_engine_options opts = { .cfg = cfg,
                                 .plan = w->plan,
                                 .worker = w->name,
                                 .foreign_event = w->foreign_event,
                                 .reload = &reload_requested,
                                 .accept_reload = accept_reload,
                                 .reload_opaque = &reload };
      e = lb_engine_new(&opts, err, sizeof(err));
      if (!e) {
        lb_log(LB_LOG_ERROR, "cannot start, exiting", LB_S("error", err));
        rc = 1;
        break;
      }
      lb_log(LB_LOG_INFO, "starting", LB_S("worker", w->name), LB_S("version", LB_VERSION),
             LB_I("integrations", (long long)cfg->nintegrations));
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    reload.have_next = false;
    rc = lb_engine_run(e, &stop_requested);
    pthread_sigmask(SIG_BLOCK, &block, NULL);
    if (rc != 0 || terminate_requested || !reload.have_next)
      break;
    /* the engine stopped for a valid new file: it goes on with it, with
     * its Kafka clients and partitions when the kafka settings are the
     * same (no rebalance), else a new engine joins the group anew */
    bool kept = lb_engine_can_keep(e, &reload.next, err, sizeof(err));
    if (!kept) {
      lb_engine_destroy(e); /* leaves the group, under the running configuration */
      e = NULL;
    }
    lb_config running = *cfg;
    *cfg = reload.next;
    reload.have_next = false;
    lb_log_set_level(cfg->observability.log_level);
    if (kept && lb_engine_reconfigure(e, err, sizeof(err)) != LB_E_OK) {
      lb_log(LB_LOG_WARN,
             "reload: cannot go on with the same clients, new clients join "
             "the group",
             LB_S("error", err));
      lb_engine_destroy(e);
      e = NULL;
      kept = false;
    }
    lb_config_release(&running);
    lb_log(LB_LOG_INFO, "configuration reloaded", LB_S("file", path),
           LB_I("integrations", (long long)cfg->nintegrations),
           LB_S("kafka", kept ? "same clients, partitions kept" : "new clients"),
           LB_S("why", kept ? NULL : err));
  }
  lb_engine_destroy(e);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (reload.have_next)
    lb_config_release(&reload.next);
  curl_global_cleanup();
  return rc;
}

int lb_cli_main(const lb_worker *w, int argc, char **argv)
{
  static const struct option opts[] = {
    { "config", required_argument, NULL, 'c' }, { "check-config", no_argument, NULL, 'k' },
    { "map", required_argument, NULL, 'm' },    { "version", no_argument, NULL, 'V' },
    { "help", no_argument, NULL, 'h' },         { NULL, 0, NULL, 0 },
  };
  const char *config_path = NULL, *map_path = NULL;
  bool check = false;
  int c, rc;
  char *errors = NULL;
  lb_config cfg;

  opterr = 0;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
    case 'c':
      config_path = optarg;
      break;
    case 'k':
      check = true;
      break;
    case 'm':
      map_path = optarg;
      break;
    case 'V':
      printf("%s %s\n", w->name, LB_VERSION);
      return 0;
    case 'h':
      usage(w, stdout);
      return 0;
    default:
      fprintf(stderr, "%s: unknown or incomplete option \"%s\"\n", w->name, argv[optind - 1]);
      usage(w, stderr);
      return 2;
    }
  }
  if (optind < argc || !config_path || (check && map_path)) {
    fprintf(stderr, "%s: %s\n", w->name,
            optind < argc  ? "unexpected argument"
            : !config_path ? "--config FILE is required"
                           : "--check-config and --map exclude each other");
    usage(w, stderr);
    return 2;
  }

  lb_config_defaults defaults = { .worker = w->name,
                                  .default_topic = w->default_topic,
                                  .default_scopes = w->default_scopes,
                                  .skill_ratings_scope = w->skill_ratings_scope,
                                  .keeps_state = w->keeps_state };
  lb_err e = lb_config_load(&cfg, config_path, &defaults, &errors);
  /* the other daemon's file: refused (--map shows what it would do) */
  if (e == LB_E_OK && !map_path && (e = lb_worker_check_config(w, &cfg, &errors)) != LB_E_OK)
    lb_config_release(&cfg);
  if (e != LB_E_OK) {
    /* the daemon logs JSON for its supervisor; --check-config and --map
     * are run by a person: the file:line: key: what lines, plainly */
    if ((check || map_path) && errors)
      print_redacted(errors, stderr);
    else if (check || map_path)
      say(w, "cannot load \"%s\": %s", config_path, lb_strerror(e));
    else
      lb_cli_log_config_errors(errors, "invalid configuration, not starting");
    free(errors);
    return 1;
  }
  lb_log_set_level(cfg.observability.log_level);
  if (check) {
    print_summary(&cfg);
    rc = 0;
  } else if (map_path) {
    rc = run_map(w, &cfg, map_path);
  } else {
    rc = run_daemon(w, &cfg, config_path, &defaults);
  }
  lb_config_release(&cfg);
  lb_log_clear_secrets();
  return rc;
}
