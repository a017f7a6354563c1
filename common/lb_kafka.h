/* lb_kafka: the librdkafka configuration every lmsbridge Kafka client starts
 * from (the workers' consumer and producer, dlq-replay's reader and
 * replayer). The file's kafka.properties go to a client only when librdkafka
 * applies them to its kind: librdkafka's own property table (the C/P column
 * of rd_kafka_conf_properties_show) says which, so a consumer property such
 * as session.timeout.ms never reaches a producer, which would warn
 * (CONFWARN) that it ignores it. */
#ifndef LB_KAFKA_H
#define LB_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>

#include "lb_config.h"
#include "lb_error.h"

typedef enum { LB_KAFKA_CONSUMER, LB_KAFKA_PRODUCER } lb_kafka_client;

/* Kafka's default largest record batch (a broker's message.max.bytes, a
 * topic's max.message.bytes): the producers' message.max.bytes unless the
 * file sets it. librdkafka's own default, 1000000, is less than an event
 * the workers accept (1 MiB). */
#define LB_KAFKA_MESSAGE_MAX_BYTES 1048588

/* Whether librdkafka applies the property `name` (a name or an alias, global
 * or topic-level) to a client of kind `client`. A name librdkafka does not
 * list (a misspelling, a hidden property) counts as applying to both, so
 * librdkafka itself reports it. Thread-safe; the table is read once. */
bool lb_kafka_property_applies(const char *name, lb_kafka_client client);

/* A new configuration for a client of kind `client`: bootstrap.servers,
 * the file's properties that apply to it (in the file's order), lb_kafka_log
 * as the log callback, and, where the file does not set them, the defaults
 * lmsbridge's clients share: no client has a broker create a topic
 * (allow.auto.create.topics false, a consumer's default and set on
 * producers: topics are made by their owners, with their partitions and
 * retention; a missing one is an error), producers write records up to
 * LB_KAFKA_MESSAGE_MAX_BYTES and linger 5 ms. Producers are always
 * idempotent (a retry never duplicates or reorders a record; a record is
 * done when the brokers have it). The caller adds what is its own (group.id,
 * callbacks) and hands it to rd_kafka_new(). NULL with why in err. */
rd_kafka_conf_t *lb_kafka_conf_new(const lb_config *cfg, lb_kafka_client client, char *err,
                                   size_t errlen);

/* rd_kafka_conf_set() as a bool, why in err. */
bool lb_kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err,
                       size_t errlen);

/* A property of a client as librdkafka holds it ("" when unset). Returns
 * buf. */
const char *lb_kafka_client_prop(rd_kafka_t *rk, const char *name, char *buf, size_t len);

/* The ACL a refusal shows missing, as every lmsbridge error names it:
 * "<operation> on <resource type> <name>" ("WRITE on topic orders.dlq",
 * "READ on group completion-worker"). Returns buf. */
const char *lb_kafka_missing_acl(char *buf, size_t len, const char *operation,
                                 const char *resource_type, const char *name);

/* Each of topics[0..n)'s partition count on the brokers: ret_partitions[i],
 * 0 when they do not have it. Asks for every topic's metadata, which names
 * none, so that no broker creates one by being asked (the mock cluster, and
 * brokers with auto.create.topics.enable, create a topic a metadata request
 * names); a topic the client may not describe (ACLs) is not listed, so 0
 * too. LB_E_IO with why in err (ret_partitions untouched) when the brokers
 * did not answer within timeout_ms, or list a topic without its partitions
 * (one being created: ask again). */
lb_err lb_kafka_topic_partitions(rd_kafka_t *rk, const char *const *topics, size_t n,
                                 int timeout_ms, int *ret_partitions, char *err, size_t errlen);

/* Whether topics[0..n) have one partition count (partitions[i] each, all
 * above 0): records are placed by partition number across them (a parked
 * record in <topic>.retry goes to the partition numbered like its source),
 * and the range assignor gives a member partition k of each. When they do
 * not, why says which counts differ and how to fix it, naming the
 * configuration key of each (keys[i], said once each): "topics are not
 * co-partitioned: a has 8 partitions, a.retry has 2 (kafka.topics,
 * kafka.retry_topic); give them the same count (kafka-topics --alter
 * --partitions)". n 0 or 1: true. */
bool lb_kafka_copartitioned(const char *const *topics, const char *const *keys,
                            const int *partitions, size_t n, char *why, size_t whylen);

/* Ends a consumer that reads partitions it assigned itself (no group):
 * drops its assignment, closes it (nothing to commit, no group to leave)
 * and destroys it. Accepts NULL. */
void lb_kafka_consumer_destroy(rd_kafka_t *rk);

/* librdkafka's log lines as lb_log JSON lines (called from librdkafka's
 * threads: lb_log is thread-safe), at lb_kafka_log_level's level. */
void lb_kafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf);

/* The level of a librdkafka line of syslog level `level` and facility
 * `fac`: syslog's, except that a failed connection to a broker (FAIL,
 * which librdkafka says at level 3 and retries) is a warning: while
 * brokers restart or are unreachable the worker waits and says so itself,
 * and an alert on error lines must not fire for a wait. */
lb_log_level lb_kafka_log_level(int level, const char *fac);

#endif
