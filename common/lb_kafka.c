#include "lb_kafka.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_log.h"

/* One row of librdkafka's property table: the name and the kind of client
 * it applies to ('C' consumer, 'P' producer, '*' both). */
typedef struct {
  char *name;
  char scope;
} prop;

/* Read once (pthread_once), then only read: never freed, reachable until
 * exit. */
static prop *props;
static size_t nprops;
static pthread_once_t props_once = PTHREAD_ONCE_INIT;

static char *trim(char *s)
{
  while (*s == ' ')
    s++;
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\n'))
    s[--n] = '\0';
  return s;
}

/* Reads a row "name | C/P | range | default | importance | description":
 * the first two columns. Headings, the header row and its rule are not
 * rows (their second column is not one of C, P, *). */
static void add_row(char *line, size_t *cap)
{
  char *bar1 = strchr(line, '|');
  char *bar2 = bar1 ? strchr(bar1 + 1, '|') : NULL;
  if (!bar2)
    return;
  *bar1 = *bar2 = '\0';
  char *name = trim(line), *scope = trim(bar1 + 1);
  if (!*name || strlen(scope) != 1 || !strchr("CP*", scope[0]))
    return;
  /* a name in the global and the topic table: the global one is what
   * rd_kafka_conf_set() sets */
  for (size_t i = 0; i < nprops; i++)
    if (strcmp(props[i].name, name) == 0)
      return;
  if (nprops == *cap) {
    size_t ncap = *cap ? *cap * 2 : 256;
    prop *p = realloc(props, ncap * sizeof(*p));
    if (!p)
      return;
    props = p;
    *cap = ncap;
  }
  if (!(props[nprops].name = strdup(name)))
    return;
  props[nprops++].scope = scope[0];
}

/* librdkafka prints its table (aliases with the scope of the property they
 * stand for); out of memory leaves it shorter, so that more properties go
 * to both clients, as before this module. */
static void load_props(void)
{
  char *text = NULL;
  size_t len = 0, cap = 0;
  FILE *mem = open_memstream(&text, &len);
  if (!mem)
    return;
  rd_kafka_conf_properties_show(mem);
  if (fclose(mem) != 0 || !text) {
    free(text);
    return;
  }
  for (char *line = text, *next; line && *line; line = next) {
    next = strchr(line, '\n');
    if (next)
      *next++ = '\0';
    add_row(line, &cap);
  }
  free(text);
}

bool lb_kafka_property_applies(const char *name, lb_kafka_client client)
{
  pthread_once(&props_once, load_props);
  for (size_t i = 0; i < nprops; i++)
    if (strcmp(props[i].name, name) == 0)
      return props[i].scope == '*' || props[i].scope == (client == LB_KAFKA_CONSUMER ? 'C' : 'P');
  return true;
}

lb_log_level lb_kafka_log_level(int level, const char *fac)
{
  if (level <= 3)
    return fac && strcmp(fac, "FAIL") == 0 ? LB_LOG_WARN : LB_LOG_ERROR;
  return level == 4 ? LB_LOG_WARN : level <= 6 ? LB_LOG_INFO : LB_LOG_DEBUG;
}

void lb_kafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
  lb_log_level l = lb_kafka_log_level(level, fac);
  lb_log(l, "librdkafka", LB_S("client", rd_kafka_name(rk)), LB_S("facility", fac),
         LB_S("detail", buf));
}

bool lb_kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err,
                       size_t errlen)
{
  return rd_kafka_conf_set(conf, name, value, err, errlen) == RD_KAFKA_CONF_OK;
}

const char *lb_kafka_client_prop(rd_kafka_t *rk, const char *name, char *buf, size_t len)
{
  size_t n = len;
  if (rd_kafka_conf_get(rd_kafka_conf(rk), name, buf, &n) != RD_KAFKA_CONF_OK)
    buf[0] = '\0';
  return buf;
}

const char *lb_kafka_missing_acl(char *buf, size_t len, const char *operation,
                                 const char *resource_type, const char *name)
{
  snprintf(buf, len, "%s on %s %s", operation, resource_type, name);
  return buf;
}

rd_kafka_conf_t *lb_kafka_conf_new(const lb_config *cfg, lb_kafka_client client, char *err,
                                   size_t errlen)
{
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  char value[32];
  rd_kafka_conf_set_log_cb(conf, lb_kafka_log);
  if (rd_kafka_conf_set(conf, "bootstrap.servers", cfg->kafka.brokers, err, errlen) !=
      RD_KAFKA_CONF_OK)
    goto fail;
  for (size_t i = 0; i < cfg->kafka.nproperties; i++) {
    const lb_config_pair *p = &cfg->kafka.properties[i];
    if (lb_kafka_property_applies(p->name, client) &&
        rd_kafka_conf_set(conf, p->name, p->value, err, errlen) != RD_KAFKA_CONF_OK)
      goto fail;
  }
  /* a consumer's default is false already, and setting it explicitly has
   * librdkafka warn (AUTOCREATE) against brokers whose Metadata requests
   * cannot carry it (the mock cluster): only the producer's true goes */
  if (client == LB_KAFKA_PRODUCER && !lb_config_property_given(cfg, "allow.auto.create.topics") &&
      rd_kafka_conf_set(conf, "allow.auto.create.topics", "false", err, errlen) != RD_KAFKA_CONF_OK)
    goto fail;
  if (client == LB_KAFKA_PRODUCER && !lb_config_property_given(cfg, "message.max.bytes")) {
    snprintf(value, sizeof(value), "%d", LB_KAFKA_MESSAGE_MAX_BYTES);
    if (rd_kafka_conf_set(conf, "message.max.bytes", value, err, errlen) != RD_KAFKA_CONF_OK)
      goto fail;
  }
  /* idempotence is not the file's to turn off: the workers' offsets wait
   * for records the brokers have, once and in order */
  if (client == LB_KAFKA_PRODUCER &&
      ((!lb_config_property_given(cfg, "linger.ms") &&
        !lb_kafka_conf_set(conf, "linger.ms", "5", err, errlen)) ||
       !lb_kafka_conf_set(conf, "enable.idempotence", "true", err, errlen)))
    goto fail;
  return conf;
fail:
  rd_kafka_conf_destroy(conf);
  return NULL;
}

lb_err lb_kafka_topic_partitions(rd_kafka_t *rk, const char *const *topics, size_t n,
                                 int timeout_ms, int *ret_partitions, char *err, size_t errlen)
{
  lb_err rc = LB_E_OK;
  const rd_kafka_metadata_t *md = NULL;
  rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1 /* every topic */, NULL, &md, timeout_ms);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    snprintf(err, errlen, "cannot list the brokers' topics: %s", rd_kafka_err2str(e));
    return LB_E_IO;
  }
  /* checked first: ret_partitions is untouched on failure */
  for (size_t i = 0; i < n && rc == LB_E_OK; i++)
    for (int t = 0; t < md->topic_cnt; t++)
      if (strcmp(md->topics[t].topic, topics[i]) == 0 && md->topics[t].partition_cnt <= 0 &&
          md->topics[t].err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
        snprintf(err, errlen, "the brokers list topic \"%s\" without its partitions: %s", topics[i],
                 rd_kafka_err2str(md->topics[t].err));
        rc = LB_E_IO;
        break;
      }
  for (size_t i = 0; i < n && rc == LB_E_OK; i++) {
    ret_partitions[i] = 0;
    for (int t = 0; t < md->topic_cnt; t++)
      if (strcmp(md->topics[t].topic, topics[i]) == 0 &&
          md->topics[t].err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
        ret_partitions[i] = md->topics[t].partition_cnt;
  }
  rd_kafka_metadata_destroy(md);
  return rc;
}

/* snprintf at *at of buf[len], *at moving on (never past the end). */
static void append(char *buf, size_t len, size_t *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t len, size_t *at, const char *fmt, ...)
{
  if (*at >= len)
    return;
  va_list ap;
  va_start(ap, fmt);
  int w = vsnprintf(buf + *at, len - *at, fmt, ap);
  va_end(ap);
  if (w > 0)
    *at = *at + (size_t)w < len ? *at + (size_t)w : len;
}

bool lb_kafka_copartitioned(const char *const *topics, const char *const *keys,
                            const int *partitions, size_t n, char *why, size_t whylen)
{
  bool same = true;
  for (size_t i = 1; i < n; i++)
    same = same && partitions[i] == partitions[0];
  if (same)
    return true;
  size_t at = 0;
  if (whylen)
    why[0] = '\0';
  append(why, whylen, &at, "topics are not co-partitioned: ");
  for (size_t i = 0; i < n; i++)
    append(why, whylen, &at, "%s%s has %d%s", i ? ", " : "", topics[i], partitions[i],
           i                    ? ""
           : partitions[i] == 1 ? " partition"
                                : " partitions");
  append(why, whylen, &at, " (");
  for (size_t i = 0, k = 0; i < n; i++) {
    bool said = false;
    for (size_t j = 0; j < i && !said; j++)
      said = strcmp(keys[j], keys[i]) == 0;
    if (!said)
      append(why, whylen, &at, "%s%s", k++ ? ", " : "", keys[i]);
  }
  append(why, whylen, &at, "); give them the same count (kafka-topics --alter --partitions)");
  return false;
}

void lb_kafka_consumer_destroy(rd_kafka_t *rk)
{
  if (!rk)
    return;
  rd_kafka_assign(rk, NULL);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
}
