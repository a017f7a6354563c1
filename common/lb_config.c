#include "lb_config.h"

#include <ctype.h>
#include <errno.h>
#include <libconfig.h>
#include <librdkafka/rdkafka.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lb_connector.h"
#include "lb_hash.h"
#include "lb_secret.h"
#include "lb_strbuf.h"
#include "lb_url.h"

#define MAX_ERRORS 50
#define MAX_INTEGRATIONS 10000

/* Validation state: the file, and the problems found so far. */
struct lb_config_reader {
  const char *path;
  lb_strbuf errors;
  int nerrors;
  bool nomem;
  bool kafka_only; /* lb_config_defaults.kafka_only */
};
typedef struct lb_config_reader ctx;

static void vfail_at(ctx *c, int line, const char *key, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

/* Control characters (C0, DEL) of s as '?': a text quoted from the file
 * must not start a report line of its own (a newline in a value) nor
 * reach the terminal of --check-config as an escape sequence. */
static char *one_line(char *s)
{
  for (char *p = s; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f)
      *p = '?';
  return s;
}

static void vfail_at(ctx *c, int line, const char *key, const char *fmt, va_list ap)
{
  char what[512], k[256];

  c->nerrors++;
  if (c->nerrors > MAX_ERRORS)
    return;
  vsnprintf(what, sizeof(what), fmt, ap);
  snprintf(k, sizeof(k), "%s", key);
  lb_strbuf_appendf(&c->errors, "%s:%d: %s: %s\n", c->path, line, one_line(k), one_line(what));
  if (c->nerrors == MAX_ERRORS)
    lb_strbuf_appendf(&c->errors, "%s: too many errors, stopping\n", c->path);
}

static void fail_at(ctx *c, int line, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void fail_at(ctx *c, int line, const char *key, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vfail_at(c, line, key, fmt, ap);
  va_end(ap);
}

static int line_of(const config_setting_t *s)
{
  return s ? (int)config_setting_source_line(s) : 0;
}

static char *dup_or_flag(ctx *c, const char *s)
{
  char *d = strdup(s ? s : "");
  if (!d)
    c->nomem = true;
  return d;
}

/* "prefix.name" for messages; a name too long for buf ends in "...". */
static const char *key_name(char *buf, size_t len, const char *prefix, const char *name)
{
  int n;
  if (prefix && *prefix)
    n = snprintf(buf, len, "%s.%s", prefix, name);
  else
    n = snprintf(buf, len, "%s", name);
  if ((n < 0 || (size_t)n >= len) && len > 4)
    memcpy(buf + len - 4, "...", 4);
  return buf;
}

/* Reports every member of `group` whose name is not in `allowed`. */
static void check_members(ctx *c, const config_setting_t *group, const char *prefix,
                          const char *const *allowed)
{
  char key[256];
  int n = config_setting_length(group);
  for (int i = 0; i < n; i++) {
    const config_setting_t *m = config_setting_get_elem(group, (unsigned)i);
    const char *name = config_setting_name(m);
    bool known = false;
    for (const char *const *a = allowed; *a && !known; a++)
      known = name && strcmp(name, *a) == 0;
    if (!known)
      fail_at(c, line_of(m), key_name(key, sizeof(key), prefix, name ? name : "?"),
              "unknown setting");
  }
}

/* A group member that must be a string. Returns NULL if absent (reporting
 * it when required) or of another type (always reported). Borrowed from
 * libconfig. */
static const char *get_str(ctx *c, const config_setting_t *group, const char *prefix,
                           const char *name, bool required)
{
  char key[256];
  const config_setting_t *s = config_setting_get_member(group, name);
  key_name(key, sizeof(key), prefix, name);
  if (!s) {
    if (required)
      fail_at(c, line_of(group), key, "missing required setting");
    return NULL;
  }
  if (config_setting_type(s) != CONFIG_TYPE_STRING) {
    fail_at(c, line_of(s), key, "must be a string");
    return NULL;
  }
  const char *v = config_setting_get_string(s);
  if (required && (!v || !*v)) {
    fail_at(c, line_of(s), key, "must not be empty");
    return NULL;
  }
  return v;
}

/* Copies an optional string member into *out, keeping *out (a default,
 * owned) when the member is absent. */
static void take_str(ctx *c, const config_setting_t *group, const char *prefix, const char *name,
                     bool required, char **out)
{
  const char *v = get_str(c, group, prefix, name, required);
  if (v) {
    free(*out);
    *out = dup_or_flag(c, v);
  }
}

static void take_int(ctx *c, const config_setting_t *group, const char *prefix, const char *name,
                     long long min, long long max, int *out)
{
  char key[256];
  const config_setting_t *s = config_setting_get_member(group, name);
  if (!s)
    return;
  key_name(key, sizeof(key), prefix, name);
  int t = config_setting_type(s);
  if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64) {
    fail_at(c, line_of(s), key, "must be an integer");
    return;
  }
  long long v = config_setting_get_int64(s);
  if (v < min || v > max) {
    fail_at(c, line_of(s), key, "must be between %lld and %lld, not %lld", min, max, v);
    return;
  }
  *out = (int)v;
}

static void take_bool(ctx *c, const config_setting_t *group, const char *prefix, const char *name,
                      bool *out, bool *was_set)
{
  char key[256];
  const config_setting_t *s = config_setting_get_member(group, name);
  if (!s)
    return;
  if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
    fail_at(c, line_of(s), key_name(key, sizeof(key), prefix, name), "must be true or false");
    return;
  }
  *out = config_setting_get_bool(s) != 0;
  if (was_set)
    *was_set = true;
}

/* A value that may be a reference: resolves it (*ret_ref gets a copy of the
 * reference) or copies the literal. With must_be_ref, literals are refused:
 * secrets are never written in the file. A resolved value is registered
 * for log redaction when `secret`. */
static void take_resolved(ctx *c, const config_setting_t *s, const char *key, const char *value,
                          bool must_be_ref, bool secret, char **ret, char **ret_ref)
{
  char why[512];
  if (lb_secret_is_ref(value)) {
    char *resolved = NULL;
    if (lb_secret_resolve(value, &resolved, why, sizeof(why)) != LB_E_OK) {
      fail_at(c, line_of(s), key, "%s", why);
      return;
    }
    *ret = resolved;
    if (secret)
      lb_log_add_secret(resolved);
    if (ret_ref)
      *ret_ref = dup_or_flag(c, value);
  } else if (must_be_ref) {
    fail_at(c, line_of(s), key,
            "secrets are never written in the file: use \"@env:NAME\" or "
            "\"@file:PATH\"");
  } else {
    *ret = dup_or_flag(c, value);
  }
}

/* A secret, or a value that becomes one by coming from a reference. */
static void take_secretable(ctx *c, const config_setting_t *s, const char *key, const char *value,
                            bool must_be_ref, char **ret, char **ret_ref)
{
  take_resolved(c, s, key, value, must_be_ref, true, ret, ret_ref);
}

/* A credential of an integration: resolved as take_resolved does, except
 * in kafka-only mode, where a reference is only checked to name something
 * and kept in *ret_ref (*ret stays NULL). */
static void take_credential(ctx *c, const config_setting_t *s, const char *key, const char *value,
                            bool must_be_ref, bool secret, char **ret, char **ret_ref)
{
  if (!c->kafka_only || !lb_secret_is_ref(value)) {
    take_resolved(c, s, key, value, must_be_ref, secret, ret, ret_ref);
    return;
  }
  char why[512];
  if (lb_secret_check_ref(value, why, sizeof(why)) != LB_E_OK) {
    fail_at(c, line_of(s), key, "%s", why);
    return;
  }
  *ret_ref = dup_or_flag(c, value);
}

/* librdkafka properties the engine owns: setting them would break its
 * offset handling or duplicate a dedicated setting. */
static const char *const reserved_properties[] = {
  "enable.auto.offset.store", "group.id", "group.instance.id", "bootstrap.servers",
  "metadata.broker.list",     NULL,
};

/* Property names whose values are secrets: literals are refused. */
static bool property_is_secret(const char *name)
{
  return strstr(name, "password") || strstr(name, "secret") ||
         strcmp(name, "sasl.oauthbearer.config") == 0 || strcmp(name, "ssl.key.pem") == 0;
}

static void load_properties(ctx *c, const config_setting_t *list, lb_config *cfg)
{
  char key[256];
  char errstr[512];
  int n = config_setting_length(list);
  int t = config_setting_type(list);

  if (t != CONFIG_TYPE_LIST && t != CONFIG_TYPE_ARRAY) {
    fail_at(c, line_of(list), "kafka.properties", "must be a list of [\"name\", \"value\"] pairs");
    return;
  }
  cfg->kafka.properties = calloc((size_t)n + 1, sizeof(lb_config_pair));
  if (!cfg->kafka.properties) {
    c->nomem = true;
    return;
  }
  rd_kafka_conf_t *probe = rd_kafka_conf_new();
  for (int i = 0; i < n; i++) {
    const config_setting_t *pair = config_setting_get_elem(list, (unsigned)i);
    snprintf(key, sizeof(key), "kafka.properties[%d]", i);
    const char *name = NULL, *value = NULL;
    if (config_setting_is_aggregate(pair) && config_setting_length(pair) == 2) {
      name = config_setting_get_string_elem(pair, 0);
      value = config_setting_get_string_elem(pair, 1);
    }
    if (!name || !value || !*name) {
      fail_at(c, line_of(pair), key, "must be a [\"name\", \"value\"] pair of strings");
      continue;
    }
    snprintf(key, sizeof(key), "kafka.properties[\"%s\"]", name);
    bool reserved = false;
    for (const char *const *r = reserved_properties; *r; r++)
      reserved = reserved || strcmp(name, *r) == 0;
    if (reserved) {
      fail_at(c, line_of(pair), key,
              "is set by lmsbridge (use kafka.brokers / kafka.group_id / "
              "kafka.group_instance_id)");
      continue;
    }
    if (lb_config_property_given(cfg, name))
      fail_at(c, line_of(pair), key, "is given twice");
    lb_config_pair *p = &cfg->kafka.properties[cfg->kafka.nproperties];
    take_secretable(c, pair, key, value, property_is_secret(name), &p->value, &p->ref);
    if (!p->value)
      continue;
    p->name = dup_or_flag(c, name);
    cfg->kafka.nproperties++;
    if (rd_kafka_conf_set(probe, name, p->value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
      fail_at(c, line_of(pair), key, "rejected by librdkafka: %s", errstr);
  }
  rd_kafka_conf_destroy(probe);
}

static bool valid_topic_name(const char *t)
{
  size_t n = strlen(t);
  if (n == 0 || n > 249 || strcmp(t, ".") == 0 || strcmp(t, "..") == 0)
    return false;
  for (; *t; t++)
    if (!isalnum((unsigned char)*t) && *t != '.' && *t != '_' && *t != '-')
      return false;
  return true;
}

static char *topic_with_suffix(ctx *c, const char *topic, const char *suffix)
{
  lb_strbuf b;
  lb_strbuf_init(&b, 0);
  lb_strbuf_appendf(&b, "%s%s", topic, suffix);
  if (b.overflow)
    c->nomem = true;
  return lb_strbuf_detach(&b);
}

/* kafka.state_topic: a worker that keeps the catalog state has one (its
 * default: the first topic + ".state"), distinct from every other topic it
 * uses. For the other worker the key is only read: lb_worker_check_config
 * refuses it, saying whose file it looks like. */
static void load_state_topic(ctx *c, const config_setting_t *k, lb_config *cfg,
                             const lb_config_defaults *d, const char *first)
{
  if (d->keeps_state)
    cfg->kafka.state_topic = topic_with_suffix(c, first, LB_CONFIG_STATE_SUFFIX);
  take_str(c, k, "kafka", "state_topic", false, &cfg->kafka.state_topic);
  const char *st = cfg->kafka.state_topic;
  if (!st)
    return;
  if (!valid_topic_name(st))
    lb_config_fail(c, k, "kafka", "state_topic", "is not a valid topic name");
  for (size_t i = 0; i < cfg->kafka.ntopics; i++)
    if (strcmp(cfg->kafka.topics[i], st) == 0)
      lb_config_fail(c, k, "kafka", "state_topic", "must not be one of kafka.topics");
  if ((cfg->kafka.dlq_topic && strcmp(cfg->kafka.dlq_topic, st) == 0) ||
      (cfg->kafka.retry_topic && strcmp(cfg->kafka.retry_topic, st) == 0))
    lb_config_fail(c, k, "kafka", "state_topic",
                   "must differ from kafka.dlq_topic and kafka.retry_topic");
}

static void load_kafka(ctx *c, const config_setting_t *root, lb_config *cfg,
                       const lb_config_defaults *d)
{
  static const char *const allowed[] = { "brokers",     "group_id",   "group_instance_id",
                                         "topics",      "dlq_topic",  "retry_topic",
                                         "state_topic", "properties", NULL };
  const config_setting_t *k = config_setting_get_member(root, "kafka");
  if (!k) {
    fail_at(c, line_of(root), "kafka", "missing required group");
    return;
  }
  if (!config_setting_is_group(k)) {
    fail_at(c, line_of(k), "kafka", "must be a group { ... }");
    return;
  }
  check_members(c, k, "kafka", allowed);
  take_str(c, k, "kafka", "brokers", true, &cfg->kafka.brokers);
  cfg->kafka.group_id = dup_or_flag(c, d->worker);
  take_str(c, k, "kafka", "group_id", false, &cfg->kafka.group_id);
  if (cfg->kafka.group_id && !*cfg->kafka.group_id)
    lb_config_fail(c, k, "kafka", "group_id", "must not be empty");
  /* static membership: a value, or a reference read as the secrets are
   * ("@env:POD_NAME": each pod its own); not a secret, so not redacted */
  const char *instance = get_str(c, k, "kafka", "group_instance_id", false);
  if (instance) {
    const config_setting_t *s = config_setting_get_member(k, "group_instance_id");
    take_credential(c, s, "kafka.group_instance_id", instance, false, false,
                    &cfg->kafka.group_instance_id, &cfg->kafka.group_instance_id_ref);
    if (cfg->kafka.group_instance_id && !valid_topic_name(cfg->kafka.group_instance_id))
      fail_at(c, line_of(s), "kafka.group_instance_id",
              "\"%s\"%s is not a valid group instance id: 1 to 249 letters, digits, '.', "
              "'_' and '-'",
              cfg->kafka.group_instance_id,
              cfg->kafka.group_instance_id_ref ? " (its reference's value)" : "");
  }

  const config_setting_t *topics = config_setting_get_member(k, "topics");
  if (topics) {
    int n = config_setting_length(topics);
    if (!config_setting_is_aggregate(topics) || n == 0) {
      fail_at(c, line_of(topics), "kafka.topics", "must be a non-empty list of topic names");
    } else {
      cfg->kafka.topics = calloc((size_t)n, sizeof(char *));
      if (!cfg->kafka.topics) {
        c->nomem = true;
        return;
      }
      for (int i = 0; i < n; i++) {
        const char *t = config_setting_get_string_elem(topics, (unsigned)i);
        if (!t || !valid_topic_name(t)) {
          fail_at(c, line_of(config_setting_get_elem(topics, (unsigned)i)), "kafka.topics",
                  "element %d is not a valid topic name", i);
          continue;
        }
        cfg->kafka.topics[cfg->kafka.ntopics++] = dup_or_flag(c, t);
      }
    }
  } else {
    cfg->kafka.topics = calloc(1, sizeof(char *));
    if (!cfg->kafka.topics) {
      c->nomem = true;
      return;
    }
    cfg->kafka.topics[0] = dup_or_flag(c, d->default_topic);
    cfg->kafka.ntopics = 1;
  }
  const char *first = cfg->kafka.ntopics ? cfg->kafka.topics[0] : d->default_topic;
  cfg->kafka.dlq_topic = topic_with_suffix(c, first, LB_CONFIG_DLQ_SUFFIX);
  cfg->kafka.retry_topic = topic_with_suffix(c, first, LB_CONFIG_RETRY_SUFFIX);
  take_str(c, k, "kafka", "dlq_topic", false, &cfg->kafka.dlq_topic);
  take_str(c, k, "kafka", "retry_topic", false, &cfg->kafka.retry_topic);
  if (cfg->kafka.dlq_topic && !valid_topic_name(cfg->kafka.dlq_topic))
    lb_config_fail(c, k, "kafka", "dlq_topic", "is not a valid topic name");
  if (cfg->kafka.retry_topic && !valid_topic_name(cfg->kafka.retry_topic))
    lb_config_fail(c, k, "kafka", "retry_topic", "is not a valid topic name");
  for (size_t i = 0; i < cfg->kafka.ntopics; i++) {
    if (cfg->kafka.dlq_topic && strcmp(cfg->kafka.topics[i], cfg->kafka.dlq_topic) == 0)
      lb_config_fail(c, k, "kafka", "dlq_topic",
                     "must not be one of kafka.topics: a worker never consumes "
                     "its own dead letters");
    if (cfg->kafka.retry_topic && strcmp(cfg->kafka.topics[i], cfg->kafka.retry_topic) == 0)
      lb_config_fail(c, k, "kafka", "retry_topic",
                     "must not be one of kafka.topics (it is consumed anyway)");
  }
  if (cfg->kafka.dlq_topic && cfg->kafka.retry_topic &&
      strcmp(cfg->kafka.dlq_topic, cfg->kafka.retry_topic) == 0)
    lb_config_fail(c, k, "kafka", "retry_topic", "must differ from kafka.dlq_topic");
  load_state_topic(c, k, cfg, d, first);

  const config_setting_t *props = config_setting_get_member(k, "properties");
  if (props)
    load_properties(c, props, cfg);
}

/* Checks the endpoint `url` that `group`'s member `name` sets (or that a
 * default gave it); false when it was reported. */
static bool check_endpoint(ctx *c, const config_setting_t *group, const char *prefix,
                           const char *name, const char *url, bool allow_query)
{
  char why[256];
  if (!url || lb_url_is_endpoint(url, allow_query, why, sizeof(why)))
    return true;
  lb_config_fail(c, group, prefix, name, "\"%s\" %s", url, why);
  return false;
}

static void load_provider(ctx *c, const config_setting_t *root, lb_config *cfg)
{
  static const char *const allowed[] = {
    "code",       "ocn_provider_id",          "logo_url",
    "thumbnails", "assessment_num_questions", "activity_iri_base",
    NULL
  };
  lb_provider *p = &cfg->provider;
  p->assessment_num_questions = 15;
  const config_setting_t *g = config_setting_get_member(root, "provider");
  if (!g) {
    fail_at(c, line_of(root), "provider", "missing required group");
    return;
  }
  if (!config_setting_is_group(g)) {
    fail_at(c, line_of(g), "provider", "must be a group { ... }");
    return;
  }
  check_members(c, g, "provider", allowed);
  take_str(c, g, "provider", "code", true, &p->code);
  take_str(c, g, "provider", "ocn_provider_id", false, &p->ocn_provider_id);
  take_str(c, g, "provider", "logo_url", true, &p->logo_url);
  if (p->logo_url && !lb_url_is_https_link(p->logo_url))
    lb_config_fail(c, g, "provider", "logo_url", "\"%s\" must be an https URL", p->logo_url);
  take_int(c, g, "provider", "assessment_num_questions", 1, 10000, &p->assessment_num_questions);
  take_str(c, g, "provider", "activity_iri_base", false, &p->activity_iri_base);

  const config_setting_t *th = config_setting_get_member(g, "thumbnails");
  if (!th)
    return;
  if (!config_setting_is_group(th)) {
    fail_at(c, line_of(th), "provider.thumbnails",
            "must be a group { technology = \"https://...\"; }");
    return;
  }
  int n = config_setting_length(th);
  p->thumbnails = calloc((size_t)n + 1, sizeof(lb_config_pair));
  if (!p->thumbnails) {
    c->nomem = true;
    return;
  }
  for (int i = 0; i < n; i++) {
    const config_setting_t *m = config_setting_get_elem(th, (unsigned)i);
    char key[256];
    snprintf(key, sizeof(key), "provider.thumbnails.%s", config_setting_name(m));
    const char *url = config_setting_get_string(m);
    if (!url || !lb_url_is_https_link(url)) {
      fail_at(c, line_of(m), key, "must be an https URL");
      continue;
    }
    lb_config_pair *pair = &p->thumbnails[p->nthumbnails++];
    pair->name = dup_or_flag(c, config_setting_name(m));
    pair->value = dup_or_flag(c, url);
  }
}

static void load_delivery(ctx *c, const config_setting_t *root, lb_config *cfg)
{
  static const char *const allowed[] = { "max_in_flight",      "max_attempts",
                                         "backoff_initial_ms", "backoff_max_ms",
                                         "retry_budget_s",     "request_timeout_ms",
                                         "ca_bundle",          NULL };
  cfg->delivery.max_in_flight = 256;
  cfg->delivery.max_attempts = 12;
  cfg->delivery.backoff_initial_ms = 500;
  cfg->delivery.backoff_max_ms = 300000;
  cfg->delivery.retry_budget_s = 86400;
  cfg->delivery.request_timeout_ms = 20000;
  const config_setting_t *g = config_setting_get_member(root, "delivery");
  if (!g)
    return;
  if (!config_setting_is_group(g)) {
    fail_at(c, line_of(g), "delivery", "must be a group { ... }");
    return;
  }
  check_members(c, g, "delivery", allowed);
  take_int(c, g, "delivery", "max_in_flight", 1, 100000, &cfg->delivery.max_in_flight);
  take_int(c, g, "delivery", "max_attempts", 1, 1000, &cfg->delivery.max_attempts);
  take_int(c, g, "delivery", "backoff_initial_ms", 1, 3600000, &cfg->delivery.backoff_initial_ms);
  take_int(c, g, "delivery", "backoff_max_ms", 1, 86400000, &cfg->delivery.backoff_max_ms);
  take_int(c, g, "delivery", "retry_budget_s", 1, 30 * 86400, &cfg->delivery.retry_budget_s);
  take_int(c, g, "delivery", "request_timeout_ms", 100, 600000, &cfg->delivery.request_timeout_ms);
  take_str(c, g, "delivery", "ca_bundle", false, &cfg->delivery.ca_bundle);
  if (cfg->delivery.backoff_max_ms < cfg->delivery.backoff_initial_ms)
    lb_config_fail(c, g, "delivery", "backoff_max_ms",
                   "must not be below delivery.backoff_initial_ms");
}

/* "host:port" with a numeric port. */
static bool valid_listen(const char *s)
{
  const char *colon = strrchr(s, ':');
  if (!colon || colon == s || !colon[1])
    return false;
  char *end;
  long port = strtol(colon + 1, &end, 10);
  return *end == '\0' && port >= 0 && port <= 65535;
}

static void load_observability(ctx *c, const config_setting_t *root, lb_config *cfg)
{
  static const char *const allowed[] = { "listen", "log_level", NULL };
  cfg->observability.listen = dup_or_flag(c, "127.0.0.1:9464");
  cfg->observability.log_level = LB_LOG_INFO;
  const config_setting_t *g = config_setting_get_member(root, "observability");
  if (!g)
    return;
  if (!config_setting_is_group(g)) {
    fail_at(c, line_of(g), "observability", "must be a group { ... }");
    return;
  }
  check_members(c, g, "observability", allowed);
  take_str(c, g, "observability", "listen", false, &cfg->observability.listen);
  if (cfg->observability.listen && !valid_listen(cfg->observability.listen))
    lb_config_fail(c, g, "observability", "listen", "\"%s\" must be host:port",
                   cfg->observability.listen);
  const char *lvl = get_str(c, g, "observability", "log_level", false);
  if (lvl && lb_log_level_parse(lvl, &cfg->observability.log_level) != 0)
    lb_config_fail(c, g, "observability", "log_level", "\"%s\" must be debug, info, warn or error",
                   lvl);
}

static bool valid_integration_id(const char *id)
{
  size_t n = strlen(id);
  if (n == 0 || n > 64 || !isalnum((unsigned char)id[0]))
    return false;
  for (; *id; id++)
    if (!isalnum((unsigned char)*id) && *id != '-' && *id != '_' && *id != '.')
      return false;
  return true;
}

void lb_config_strip_slash(char *url)
{
  const char *sep = url ? strstr(url, "://") : NULL;
  size_t min = sep ? (size_t)(sep - url) + 3 : 0;
  size_t n = url ? strlen(url) : 0;
  while (n > min && url[n - 1] == '/')
    url[--n] = '\0';
}

static void load_catalog_filter(ctx *c, const config_setting_t *g, const char *prefix,
                                lb_integration *in)
{
  static const char *const allowed[] = { "public", "custom_tracks", "types", NULL };
  char key[256];
  in->catalog_public = in->provider_level;
  in->catalog_custom_tracks = !in->provider_level;
  in->catalog_types = LB_CT_ALL_MASK & ~LB_CT_BIT(LB_CT_CUSTOM_TRACK);
  const config_setting_t *cat = config_setting_get_member(g, "catalog");
  if (!cat)
    return;
  key_name(key, sizeof(key), prefix, "catalog");
  if (!config_setting_is_group(cat)) {
    fail_at(c, line_of(cat), key, "must be a group { public = ...; }");
    return;
  }
  check_members(c, cat, key, allowed);
  take_bool(c, cat, key, "public", &in->catalog_public, NULL);
  take_bool(c, cat, key, "custom_tracks", &in->catalog_custom_tracks, NULL);
  if (in->provider_level && in->catalog_custom_tracks)
    lb_config_fail(c, cat, key, "custom_tracks",
                   "cannot be true for the provider-level integration "
                   "(organization \"*\"): a custom track belongs to one customer");
  const config_setting_t *types = config_setting_get_member(cat, "types");
  if (!types)
    return;
  char tkey[300];
  snprintf(tkey, sizeof(tkey), "%s.types", key);
  if (!config_setting_is_aggregate(types)) {
    fail_at(c, line_of(types), tkey, "must be a list of content types");
    return;
  }
  in->catalog_types = 0;
  int n = config_setting_length(types);
  for (int i = 0; i < n; i++) {
    const config_setting_t *e = config_setting_get_elem(types, (unsigned)i);
    const char *t = config_setting_get_string(e);
    lb_content_type ct;
    if (!t || lb_content_type_parse(t, &ct) != 0) {
      fail_at(c, line_of(e), tkey,
              "unknown content type \"%s\" (course, project, practice, "
              "assessment, skill_track, career_track)",
              t ? t : "?");
      continue;
    }
    if (ct == LB_CT_CUSTOM_TRACK) {
      fail_at(c, line_of(e), tkey, "custom_track is governed by catalog.custom_tracks, not types");
      continue;
    }
    in->catalog_types |= LB_CT_BIT(ct);
  }
}

/* Settings every integration may have, whatever its type. */
static const char *const shared_keys[] = { "id",
                                           "type",
                                           "organization",
                                           "client_id",
                                           "client_secret",
                                           "token_url",
                                           "catalog",
                                           "completions",
                                           "rate_limit_per_minute",
                                           "max_in_flight",
                                           NULL };

/* Whether `name` is a shared setting or one of connector k's. */
static bool key_known(const lb_connector *k, const char *name)
{
  for (const char *const *a = shared_keys; *a; a++)
    if (strcmp(*a, name) == 0)
      return true;
  for (const char *const *a = k ? k->keys : NULL; a && *a; a++)
    if (strcmp(*a, name) == 0)
      return true;
  return false;
}

/* Reports the members of an integration group no connector knows, and
 * those of another type than `k` (NULL: the type is not known yet). */
static void check_integration_members(ctx *c, const config_setting_t *g, const char *prefix,
                                      const lb_connector *k)
{
  size_t nk;
  const lb_connector *const *all = lb_connector_all(&nk);
  char key[256];
  int n = config_setting_length(g);
  for (int i = 0; i < n; i++) {
    const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
    const char *name = config_setting_name(m);
    if (!name || key_known(k, name))
      continue;
    const lb_connector *owner = NULL;
    for (size_t j = 0; j < nk && !owner; j++)
      if (key_known(all[j], name))
        owner = all[j];
    if (!owner)
      fail_at(c, line_of(m), key_name(key, sizeof(key), prefix, name), "unknown setting");
    else if (k)
      fail_at(c, line_of(m), key_name(key, sizeof(key), prefix, name),
              "is not a setting of %s integrations", k->name);
  }
}

static void load_integration(ctx *c, const config_setting_t *g, int index, lb_integration *in,
                             const lb_config_defaults *d)
{
  char prefix[64];

  snprintf(prefix, sizeof(prefix), "integrations[%d]", index);
  in->line = line_of(g);
  if (!config_setting_is_group(g)) {
    fail_at(c, line_of(g), prefix, "must be a group { id = ...; type = ...; }");
    return;
  }
  take_str(c, g, prefix, "id", true, &in->id);
  if (in->id && !valid_integration_id(in->id))
    lb_config_fail(c, g, prefix, "id", "\"%s\" must be 1-64 letters, digits, '-', '_' or '.'",
                   in->id);
  take_str(c, g, prefix, "organization", true, &in->organization);
  in->provider_level = in->organization && strcmp(in->organization, "*") == 0;

  const char *type = get_str(c, g, prefix, "type", true);
  const lb_connector *k = type ? lb_connector_find(type) : NULL;
  check_integration_members(c, g, prefix, k);
  if (!k) {
    if (type)
      lb_config_fail(c, g, prefix, "type", "unknown integration type \"%s\" (%s)", type,
                     lb_connector_names());
    return;
  }
  in->type = k->type;

  load_catalog_filter(c, g, prefix, in);
  bool completions_set = false;
  in->completions = !in->provider_level;
  take_bool(c, g, prefix, "completions", &in->completions, &completions_set);
  if (in->provider_level && in->completions)
    lb_config_fail(c, g, prefix, "completions",
                   "cannot be true for the provider-level integration "
                   "(organization \"*\"): completions belong to one customer");
  in->max_in_flight = 16;
  take_int(c, g, prefix, "max_in_flight", 1, 10000, &in->max_in_flight);

  k->load(c, g, prefix, in, d);
  take_str(c, g, prefix, "token_url", false, &in->token_url);
  take_int(c, g, prefix, "rate_limit_per_minute", 0, 1000000, &in->rate_limit_per_minute);
  lb_config_strip_slash(in->api_base_url);
  bool base_ok = check_endpoint(c, g, prefix, k->endpoint_key, in->api_base_url, false);
  /* A token URL derived from a base URL just refused is not reported again. */
  if (base_ok || config_setting_get_member(g, "token_url"))
    check_endpoint(c, g, prefix, "token_url", in->token_url, true);
}

static void load_integrations(ctx *c, const config_setting_t *root, lb_config *cfg,
                              const lb_config_defaults *d)
{
  const config_setting_t *list = config_setting_get_member(root, "integrations");
  if (!list)
    return;
  if (!config_setting_is_list(list)) {
    fail_at(c, line_of(list), "integrations", "must be a list ( { ... }, ... )");
    return;
  }
  int n = config_setting_length(list);
  if (n > MAX_INTEGRATIONS) {
    fail_at(c, line_of(list), "integrations", "more than %d integrations", MAX_INTEGRATIONS);
    return;
  }
  cfg->integrations = calloc((size_t)n + 1, sizeof(lb_integration));
  if (!cfg->integrations) {
    c->nomem = true;
    return;
  }
  for (int i = 0; i < n; i++) {
    const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
    lb_integration *in = &cfg->integrations[cfg->nintegrations++];
    load_integration(c, g, i, in, d);
    for (int j = 0; in->id && j < i; j++) {
      if (cfg->integrations[j].id && strcmp(cfg->integrations[j].id, in->id) == 0) {
        char prefix[64];
        snprintf(prefix, sizeof(prefix), "integrations[%d]", i);
        lb_config_fail(c, g, prefix, "id",
                       "duplicate integration id \"%s\" (first defined on line "
                       "%d)",
                       in->id, cfg->integrations[j].line);
      }
    }
  }
}

/* The provider settings the configured connectors need. */
static void check_cross(ctx *c, const config_setting_t *root, lb_config *cfg)
{
  size_t nk;
  const lb_connector *const *all = lb_connector_all(&nk);
  const config_setting_t *provider = config_setting_get_member(root, "provider");
  for (size_t k = 0; k < nk; k++) {
    if (!all[k]->check_provider)
      continue;
    for (size_t i = 0; i < cfg->nintegrations; i++) {
      if (cfg->integrations[i].type == all[k]->type) {
        all[k]->check_provider(c, provider, &cfg->provider);
        break;
      }
    }
  }
}

/* ---- the index (lb_config.h) ----
 * Open addressing: a slot holds an integration's position + 1 (0: empty),
 * with at least twice as many slots as integrations. */
struct lb_config_index {
  size_t mask;     /* slots - 1 */
  size_t *by_id;   /* an integration by its id */
  size_t *by_org;  /* each organization's first integration */
  size_t *run_at;  /* [first] where its organization's run starts in members */
  size_t *run_len; /* [first] how many integrations the run has */
  size_t *members; /* integrations grouped by organization, the file's order within */
  size_t *pub;     /* catalog.public true, the file's order */
  size_t npub;
};

static void index_free(struct lb_config_index *x)
{
  if (!x)
    return;
  free(x->by_id);
  free(x->by_org);
  free(x->run_at);
  free(x->run_len);
  free(x->members);
  free(x->pub);
  free(x);
}

/* The slot of `key` in x->by_org (org) or x->by_id: where the integration
 * with that organization or id is, or the empty slot where it would go. */
static size_t index_probe(const struct lb_config_index *x, const lb_integration *ins, bool org,
                          const char *key)
{
  const size_t *slots = org ? x->by_org : x->by_id;
  size_t s = (size_t)lb_hash_str(key) & x->mask;
  while (slots[s]) {
    const lb_integration *in = &ins[slots[s] - 1];
    if (strcmp(org ? in->organization : in->id, key) == 0)
      break;
    s = (s + 1) & x->mask;
  }
  return s;
}

/* Builds cfg->index from a configuration loaded without errors. */
static lb_err index_build(lb_config *cfg)
{
  size_t n = cfg->nintegrations, slots = 16;
  while (slots < 2 * n)
    slots *= 2;
  struct lb_config_index *x = calloc(1, sizeof(*x));
  size_t *first = calloc(n + 1, sizeof(size_t)), *next = calloc(n + 1, sizeof(size_t));
  lb_err rc = LB_E_NOMEM;
  if (!x || !first || !next)
    goto out;
  x->mask = slots - 1;
  x->by_id = calloc(slots, sizeof(size_t));
  x->by_org = calloc(slots, sizeof(size_t));
  x->run_at = calloc(n + 1, sizeof(size_t));
  x->run_len = calloc(n + 1, sizeof(size_t));
  x->members = calloc(n + 1, sizeof(size_t));
  x->pub = calloc(n + 1, sizeof(size_t));
  if (!x->by_id || !x->by_org || !x->run_at || !x->run_len || !x->members || !x->pub)
    goto out;
  const lb_integration *ins = cfg->integrations;
  for (size_t i = 0; i < n; i++) {
    size_t s = index_probe(x, ins, false, ins[i].id);
    x->by_id[s] = i + 1; /* ids are unique in a loaded file */
    s = index_probe(x, ins, true, ins[i].organization);
    if (!x->by_org[s])
      x->by_org[s] = i + 1;
    first[i] = x->by_org[s] - 1;
    x->run_len[first[i]]++;
    if (ins[i].catalog_public)
      x->pub[x->npub++] = i;
  }
  for (size_t i = 0, at = 0; i < n; i++) {
    if (first[i] == i) {
      x->run_at[i] = next[i] = at;
      at += x->run_len[i];
    }
  }
  for (size_t i = 0; i < n; i++)
    x->members[next[first[i]]++] = i;
  cfg->index = x;
  x = NULL; /* now owned by cfg */
  rc = LB_E_OK;
out:
  index_free(x);
  free(first);
  free(next);
  return rc;
}

static void integration_release(lb_integration *in)
{
  const lb_connector *k = in->conn_data ? lb_connector_of(in->type) : NULL;
  if (k && k->release)
    k->release(in);
  free(in->id);
  free(in->organization);
  free(in->api_base_url);
  free(in->token_url);
  free(in->scopes);
  free(in->client_id);
  free(in->client_secret);
  free(in->client_id_ref);
  free(in->client_secret_ref);
  free(in->username);
  free(in->password);
  free(in->username_ref);
  free(in->password_ref);
  free(in->skill_ratings_path);
  free(in->company_id);
  free(in->admin_user);
}

static void pairs_free(lb_config_pair *pairs, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    free(pairs[i].name);
    free(pairs[i].value);
    free(pairs[i].ref);
  }
  free(pairs);
}

void lb_config_release(lb_config *cfg)
{
  if (!cfg)
    return;
  free(cfg->path);
  free(cfg->worker);
  free(cfg->kafka.brokers);
  free(cfg->kafka.group_id);
  free(cfg->kafka.group_instance_id);
  free(cfg->kafka.group_instance_id_ref);
  for (size_t i = 0; i < cfg->kafka.ntopics; i++)
    free(cfg->kafka.topics[i]);
  free(cfg->kafka.topics);
  free(cfg->kafka.dlq_topic);
  free(cfg->kafka.retry_topic);
  free(cfg->kafka.state_topic);
  pairs_free(cfg->kafka.properties, cfg->kafka.nproperties);
  free(cfg->provider.code);
  free(cfg->provider.ocn_provider_id);
  free(cfg->provider.logo_url);
  free(cfg->provider.activity_iri_base);
  pairs_free(cfg->provider.thumbnails, cfg->provider.nthumbnails);
  free(cfg->delivery.ca_bundle);
  free(cfg->observability.listen);
  for (size_t i = 0; i < cfg->nintegrations; i++)
    integration_release(&cfg->integrations[i]);
  free(cfg->integrations);
  index_free(cfg->index);
  *cfg = (lb_config){ 0 };
}

/* Why libconfig could not read the file into lc, as one report line. */
static void read_error(const config_t *lc, const char *path, lb_strbuf *out)
{
  if (config_error_type(lc) == CONFIG_ERR_FILE_IO)
    lb_strbuf_appendf(out, "%s:0: (file): cannot read the file\n", path);
  else
    lb_strbuf_appendf(out, "%s:%d: (syntax): %s\n",
                      config_error_file(lc) ? config_error_file(lc) : path, config_error_line(lc),
                      config_error_text(lc));
}

/* libconfig's verdict on the file: nothing when it reads it, else the
 * line lb_config_load writes. */
static void syntax_verdict(const char *path, lb_strbuf *out)
{
  config_t lc;
  config_init(&lc);
  if (config_read_file(&lc, path) != CONFIG_TRUE)
    read_error(&lc, path, out);
  config_destroy(&lc);
}

lb_err lb_config_syntax_check(const char *path, char **ret_errors)
{
  int fds[2];
  *ret_errors = NULL;
  if (pipe(fds) != 0)
    return LB_E_IO;
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return LB_E_IO;
  }
  if (pid == 0) {
    /* the child: what it leaks ends with it (_exit: nothing of the
     * parent's atexit handlers or stdio buffers runs here) */
    close(fds[0]);
    lb_strbuf v;
    lb_strbuf_init(&v, 4096);
    syntax_verdict(path, &v);
    size_t off = 0;
    while (off < v.len) {
      ssize_t n = write(fds[1], v.buf + off, v.len - off);
      if (n <= 0)
        break;
      off += (size_t)n;
    }
    _exit(0);
  }
  close(fds[1]);
  lb_strbuf got;
  lb_strbuf_init(&got, 4096);
  char buf[512];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof(buf))) != 0) {
    if (n > 0)
      lb_strbuf_append_len(&got, buf, (size_t)n);
    else if (errno != EINTR)
      break;
  }
  close(fds[0]);
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (got.len == 0) {
    lb_strbuf_release(&got);
    return LB_E_OK;
  }
  *ret_errors = lb_strbuf_detach(&got);
  return LB_E_CONFIG;
}

lb_err lb_config_load(lb_config *cfg, const char *path, const lb_config_defaults *d,
                      char **ret_errors)
{
  static const char *const allowed[] = { "kafka",         "provider",     "delivery",
                                         "observability", "integrations", NULL };
  config_t lc;
  ctx c = { .path = path, .kafka_only = d->kafka_only };
  lb_err rc = LB_E_OK;

  *cfg = (lb_config){ 0 };
  lb_strbuf_init(&c.errors, 0);
  config_init(&lc);
  if (config_read_file(&lc, path) != CONFIG_TRUE) {
    read_error(&lc, path, &c.errors);
    c.nerrors++;
    goto out;
  }
  const config_setting_t *root = config_root_setting(&lc);
  cfg->path = dup_or_flag(&c, path);
  cfg->worker = dup_or_flag(&c, d->worker);
  check_members(&c, root, "", allowed);
  load_kafka(&c, root, cfg, d);
  load_provider(&c, root, cfg);
  load_delivery(&c, root, cfg);
  load_observability(&c, root, cfg);
  load_integrations(&c, root, cfg, d);
  check_cross(&c, root, cfg);
  if (!c.nerrors && !c.nomem && index_build(cfg) != LB_E_OK)
    c.nomem = true;
out:
  config_destroy(&lc);
  if (c.nomem) {
    rc = LB_E_NOMEM;
    lb_strbuf_appendf(&c.errors, "%s: out of memory\n", path);
  } else if (c.nerrors) {
    rc = LB_E_CONFIG;
  }
  if (rc != LB_E_OK) {
    lb_config_release(cfg);
    if (ret_errors)
      *ret_errors = lb_strbuf_detach(&c.errors);
  }
  lb_strbuf_release(&c.errors);
  return rc;
}

const lb_integration *lb_config_integration(const lb_config *cfg, const char *id)
{
  const struct lb_config_index *x = cfg->index;
  if (id && x) {
    size_t s = index_probe(x, cfg->integrations, false, id);
    return x->by_id[s] ? &cfg->integrations[x->by_id[s] - 1] : NULL;
  }
  for (size_t i = 0; id && i < cfg->nintegrations; i++)
    if (strcmp(cfg->integrations[i].id, id) == 0)
      return &cfg->integrations[i];
  return NULL;
}

const size_t *lb_config_by_organization(const lb_config *cfg, const char *org, size_t *n)
{
  const struct lb_config_index *x = cfg->index;
  if (!x) {
    *n = cfg->nintegrations;
    return NULL;
  }
  size_t s = org ? index_probe(x, cfg->integrations, true, org) : 0;
  if (!org || !x->by_org[s]) {
    *n = 0;
    return NULL;
  }
  size_t first = x->by_org[s] - 1;
  *n = x->run_len[first];
  return &x->members[x->run_at[first]];
}

const size_t *lb_config_public_catalog(const lb_config *cfg, size_t *n)
{
  const struct lb_config_index *x = cfg->index;
  *n = x ? x->npub : cfg->nintegrations;
  return x && x->npub ? x->pub : NULL;
}

bool lb_config_property_given(const lb_config *cfg, const char *name)
{
  for (size_t i = 0; i < cfg->kafka.nproperties; i++)
    if (strcmp(cfg->kafka.properties[i].name, name) == 0)
      return true;
  return false;
}

const char *lb_provider_thumbnail(const lb_provider *p, const char *technology)
{
  for (size_t i = 0; technology && i < p->nthumbnails; i++)
    if (strcasecmp(p->thumbnails[i].name, technology) == 0)
      return p->thumbnails[i].value;
  return p->logo_url;
}

const char *lb_integ_type_name(lb_integ_type t)
{
  const lb_connector *k = lb_connector_of(t);
  return k ? k->name : "?";
}

const char *lb_user_id_kind_name(lb_user_id_kind k)
{
  switch (k) {
  case LB_UID_EMAIL:
    return "email";
  case LB_UID_SSO_NAMEID:
    return "sso_nameid";
  case LB_UID_LMS_USERNAME:
    return "lms_username";
  }
  return "?";
}

static const char *shown(const char *value, const char *ref, char *buf, size_t len)
{
  if (ref && value)
    snprintf(buf, len, "%s (from %s)", value, ref);
  else if (ref)
    snprintf(buf, len, "<secret from %s>", ref);
  else
    snprintf(buf, len, "%s", value ? value : "");
  return buf;
}

void lb_config_print_summary(const lb_config *cfg, FILE *out)
{
  char buf[512];

  fprintf(out, "config: %s (%s)\n", cfg->path, cfg->worker);
  fprintf(out, "kafka:\n  brokers: %s\n  group_id: %s\n", cfg->kafka.brokers, cfg->kafka.group_id);
  if (cfg->kafka.group_instance_id || cfg->kafka.group_instance_id_ref)
    fprintf(out, "  group_instance_id: %s%s%s (static membership)\n",
            cfg->kafka.group_instance_id ? cfg->kafka.group_instance_id : "",
            cfg->kafka.group_instance_id && cfg->kafka.group_instance_id_ref ? " from " : "",
            cfg->kafka.group_instance_id_ref ? cfg->kafka.group_instance_id_ref : "");
  else
    fprintf(out, "  group_instance_id: - (dynamic membership)\n");
  fprintf(out, "  topics:");
  for (size_t i = 0; i < cfg->kafka.ntopics; i++)
    fprintf(out, " %s", cfg->kafka.topics[i]);
  fprintf(out, "\n  dlq_topic: %s\n  retry_topic: %s\n", cfg->kafka.dlq_topic,
          cfg->kafka.retry_topic);
  if (cfg->kafka.state_topic)
    fprintf(out, "  state_topic: %s\n", cfg->kafka.state_topic);
  for (size_t i = 0; i < cfg->kafka.nproperties; i++) {
    const lb_config_pair *p = &cfg->kafka.properties[i];
    fprintf(out, "  property %s = %s\n", p->name,
            shown(p->ref ? NULL : p->value, p->ref, buf, sizeof(buf)));
  }
  fprintf(out,
          "provider:\n  code: %s\n  ocn_provider_id: %s\n  logo_url: %s\n"
          "  assessment_num_questions: %d\n",
          cfg->provider.code, cfg->provider.ocn_provider_id ? cfg->provider.ocn_provider_id : "-",
          cfg->provider.logo_url, cfg->provider.assessment_num_questions);
  for (size_t i = 0; i < cfg->provider.nthumbnails; i++)
    fprintf(out, "  thumbnail %s: %s\n", cfg->provider.thumbnails[i].name,
            cfg->provider.thumbnails[i].value);
  if (cfg->provider.activity_iri_base)
    fprintf(out, "  activity_iri_base: %s\n", cfg->provider.activity_iri_base);
  fprintf(out,
          "delivery:\n  max_in_flight: %d\n  max_attempts: %d\n"
          "  backoff_initial_ms: %d\n  backoff_max_ms: %d\n"
          "  retry_budget_s: %d\n  request_timeout_ms: %d\n  ca_bundle: %s\n",
          cfg->delivery.max_in_flight, cfg->delivery.max_attempts, cfg->delivery.backoff_initial_ms,
          cfg->delivery.backoff_max_ms, cfg->delivery.retry_budget_s,
          cfg->delivery.request_timeout_ms,
          cfg->delivery.ca_bundle ? cfg->delivery.ca_bundle : "(system)");
  fprintf(out, "observability:\n  listen: %s\n  log_level: %s\n", cfg->observability.listen,
          lb_log_level_name(cfg->observability.log_level));
  fprintf(out, "integrations: %zu\n", cfg->nintegrations);
  for (size_t i = 0; i < cfg->nintegrations; i++) {
    const lb_integration *in = &cfg->integrations[i];
    fprintf(out, "- id: %s\n  type: %s\n  organization: %s%s\n", in->id,
            lb_integ_type_name(in->type), in->organization,
            in->provider_level ? " (provider level)" : "");
    const lb_connector *k = lb_connector_of(in->type);
    fprintf(out, "  %s: %s\n", k->endpoint_key, in->api_base_url);
    if (in->auth == LB_AUTH_BASIC) {
      fprintf(out, "  auth: basic\n  username: %s\n",
              shown(in->username, in->username_ref, buf, sizeof(buf)));
      fprintf(out, "  password: %s\n", shown(NULL, in->password_ref, buf, sizeof(buf)));
    } else {
      fprintf(out, "  token_url: %s\n", in->token_url);
      fprintf(out, "  client_id: %s\n", shown(in->client_id, in->client_id_ref, buf, sizeof(buf)));
      fprintf(out, "  client_secret: %s\n", shown(NULL, in->client_secret_ref, buf, sizeof(buf)));
    }
    if (k->map_catalog) {
      fprintf(out,
              "  catalog: public=%s custom_tracks=%s types=", in->catalog_public ? "true" : "false",
              in->catalog_custom_tracks ? "true" : "false");
      const char *sep = "";
      for (unsigned t = 0; t < LB_CT__COUNT; t++) {
        if (in->catalog_types & LB_CT_BIT(t)) {
          fprintf(out, "%s%s", sep, lb_content_type_name((lb_content_type)t));
          sep = ",";
        }
      }
      fputc('\n', out);
    }
    fprintf(out, "  completions: %s\n", in->completions ? "true" : "false");
    if (k->print)
      k->print(in, out);
    fprintf(out, "  rate_limit_per_minute: %d\n  max_in_flight: %d\n", in->rate_limit_per_minute,
            in->max_in_flight);
  }
}

/* ---- the reader functions of lb_config.h, for connectors ---- */

const char *lb_config_get_str(lb_config_reader *r, const lb_config_group *g, const char *prefix,
                              const char *name, bool required)
{
  return get_str(r, g, prefix, name, required);
}

void lb_config_take_str(lb_config_reader *r, const lb_config_group *g, const char *prefix,
                        const char *name, bool required, char **out)
{
  take_str(r, g, prefix, name, required, out);
}

void lb_config_take_int(lb_config_reader *r, const lb_config_group *g, const char *prefix,
                        const char *name, long long min, long long max, int *out)
{
  take_int(r, g, prefix, name, min, max, out);
}

void lb_config_take_bool(lb_config_reader *r, const lb_config_group *g, const char *prefix,
                         const char *name, bool *out)
{
  take_bool(r, g, prefix, name, out, NULL);
}

int lb_config_take_word(lb_config_reader *r, const lb_config_group *g, const char *prefix,
                        const char *name, const char *what, const char *const *words, int dflt)
{
  const char *v = get_str(r, g, prefix, name, false);
  if (!v)
    return config_setting_get_member(g, name) ? -1 : dflt;
  for (int i = 0; words[i]; i++)
    if (strcmp(v, words[i]) == 0)
      return i;
  lb_strbuf list;
  lb_strbuf_init(&list, 0);
  for (int i = 0; words[i]; i++)
    lb_strbuf_appendf(&list, "%s%s", i == 0 ? "" : words[i + 1] ? ", " : " or ", words[i]);
  lb_config_fail(r, g, prefix, name, "unknown %s \"%s\" (%s)", what, v, list.buf ? list.buf : "");
  lb_strbuf_release(&list);
  return -1;
}

void lb_config_take_credential(lb_config_reader *r, const lb_config_group *g, const char *prefix,
                               const char *name, bool must_be_ref, bool secret, char **ret,
                               char **ret_ref)
{
  char key[256];
  const char *v = get_str(r, g, prefix, name, true);
  if (v)
    take_credential(r, config_setting_get_member(g, name), key_name(key, sizeof(key), prefix, name),
                    v, must_be_ref, secret, ret, ret_ref);
}

void lb_config_fail(lb_config_reader *r, const lb_config_group *g, const char *prefix,
                    const char *name, const char *fmt, ...)
{
  char key[256];
  const config_setting_t *m = g ? config_setting_get_member(g, name) : NULL;
  va_list ap;
  va_start(ap, fmt);
  vfail_at(r, line_of(m ? m : g), key_name(key, sizeof(key), prefix, name), fmt, ap);
  va_end(ap);
}

bool lb_config_has(const lb_config_group *g, const char *name)
{
  return g && config_setting_get_member(g, name) != NULL;
}

char *lb_config_dup(lb_config_reader *r, const char *s)
{
  return dup_or_flag(r, s);
}
