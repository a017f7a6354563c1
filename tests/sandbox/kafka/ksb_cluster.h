/* ksb_cluster: the mock Kafka cluster of kafka-sandbox and what we know
 * about it (brokers, the topics we created, the faults we injected).
 *
 * Threads: ksb_cluster_new() and ksb_cluster_destroy() run in the main
 * thread; every other function is called by one thread at a time (the
 * control thread while it runs, the main thread otherwise). librdkafka's
 * mock functions themselves are thread-safe. */
#ifndef KSB_CLUSTER_H
#define KSB_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>
#include <librdkafka/rdkafka.h>

#define KSB_BROKERS_MAX 32
#define KSB_TOPICS_MAX 1024
#define KSB_PARTITIONS_MAX 1000
#define KSB_RTT_MAX_MS 60000
/* Broker id meaning "every broker" where librdkafka allows it. */
#define KSB_BROKER_ALL (-1)

/* Outcome of a cluster operation; the control API maps it to HTTP. */
typedef enum {
  KSB_OK = 0,
  KSB_E_INVALID,  /* a value out of range, detail in errbuf */
  KSB_E_NOTFOUND, /* no such broker, topic or partition */
  KSB_E_EXISTS,   /* topic already exists */
  KSB_E_LIMIT,    /* KSB_TOPICS_MAX reached */
  KSB_E_KAFKA,    /* librdkafka refused, detail in errbuf */
  KSB_E_NOMEM,
} ksb_rc;

typedef struct ksb_cluster ksb_cluster;

/* Creates a mock cluster of `brokers` brokers (ids 1..brokers) on a
 * helper producer handle; `debug` (may be NULL) is librdkafka's "debug"
 * property for that handle. Returns NULL with a message in errbuf. The
 * result is freed by ksb_cluster_destroy(). */
ksb_cluster *ksb_cluster_new(int brokers, const char *debug, char *errbuf, size_t errlen);

/* Destroys the mock cluster (disconnecting its clients), then the helper
 * handle. Accepts NULL; returns NULL. */
ksb_cluster *ksb_cluster_destroy(ksb_cluster *c);

/* Borrowed, valid until ksb_cluster_destroy(): "127.0.0.1:p1,...". */
const char *ksb_cluster_bootstraps(const ksb_cluster *c);
int ksb_cluster_broker_count(const ksb_cluster *c);

/* Creates topic `name` with `partitions` partitions. The replication factor
 * is min(3, brokers): the 2.0.2 mock ignores any other value. */
ksb_rc ksb_cluster_topic_create(ksb_cluster *c, const char *name, int partitions, char *errbuf,
                                size_t errlen);

/* Makes Metadata requests report `err` for topic `name` (NO_ERROR clears);
 * the topic must be one we created. */
ksb_rc ksb_cluster_topic_set_error(ksb_cluster *c, const char *name, rd_kafka_resp_err_t err,
                                   char *errbuf, size_t errlen);

/* Moves the leader of partition `partition` of topic `name` (one we
 * created) to `broker`, or makes it leaderless with broker -1. */
ksb_rc ksb_cluster_partition_set_leader(ksb_cluster *c, const char *name, int partition, int broker,
                                        char *errbuf, size_t errlen);

/* Broker `broker` (or KSB_BROKER_ALL) refuses connections (up == 0) or
 * accepts them again (up == 1). */
ksb_rc ksb_cluster_broker_set_up(ksb_cluster *c, int broker, int up, char *errbuf, size_t errlen);

/* Delays every response of `broker` (or KSB_BROKER_ALL) by rtt_ms. */
ksb_rc ksb_cluster_broker_set_rtt(ksb_cluster *c, int broker, int rtt_ms, char *errbuf,
                                  size_t errlen);

/* The next `cnt` requests of `api_key` to any broker fail with errs[0],
 * errs[1]... in order. */
ksb_rc ksb_cluster_push_errors(ksb_cluster *c, int16_t api_key, size_t cnt,
                               const rd_kafka_resp_err_t *errs);

/* Forgets the cluster-wide errors pushed for `api_key`. Errors pushed on
 * one broker are not cleared (librdkafka 2.0.2 has no call for that). */
void ksb_cluster_clear_errors(ksb_cluster *c, int16_t api_key);

/* The next `cnt` requests of `api_key` to `broker` are answered with
 * errs[i] (NO_ERROR = success) after rtts_ms[i]. Taken before the cluster
 * errors. */
ksb_rc ksb_cluster_broker_push_errors(ksb_cluster *c, int broker, int16_t api_key, size_t cnt,
                                      const rd_kafka_resp_err_t *errs, const int *rtts_ms,
                                      char *errbuf, size_t errlen);

/* Sets *ret to how many errors pushed on `broker` for `api_key` remain. */
ksb_rc ksb_cluster_broker_error_count(ksb_cluster *c, int broker, int16_t api_key, size_t *ret,
                                      char *errbuf, size_t errlen);

/* Makes `broker` the coordinator of `key` ("group" or "transaction"
 * `type`). */
ksb_rc ksb_cluster_coordinator_set(ksb_cluster *c, const char *type, const char *key, int broker,
                                   char *errbuf, size_t errlen);

/* New JSON object (caller puts it) describing brokers, bootstrap servers,
 * topics and the faults set through this module. NULL on no memory. */
json_object *ksb_cluster_status(const ksb_cluster *c);

#endif
