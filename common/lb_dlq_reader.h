/* lb_dlq_reader: reads a dead-letter topic for dlq-replay, from a start
 * (the beginning, or where a progress group stopped) to the end each
 * partition had when the reader was created, without joining a group.
 * Nothing is ever deleted from the DLQ.
 *
 * Single-threaded: every call from the thread that created the handle. */
#ifndef LB_DLQ_READER_H
#define LB_DLQ_READER_H

#include <json-c/json.h>
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>

#include "lb_config.h"
#include "lb_dlq.h"
#include "lb_error.h"

typedef struct lb_dlq_reader lb_dlq_reader;

typedef struct {
  const lb_config *cfg; /* borrowed for the reader's lifetime: brokers,
                           properties, dlq_topic */
  const char *group;    /* group.id: where progress is read and committed */
  bool from_committed;  /* start at the group's committed offsets (else
                           at the beginning of each partition) */
  int timeout_ms;       /* metadata, committed offsets, watermarks; 0: 10 s */
  const char *topic;    /* another topic to read the same way (dlq-replay
                           resync reads the source topics); NULL: dlq_topic */
} lb_dlq_reader_options;

/* Looks the topic up and fixes each partition's start and end. NULL with
 * why in err (e.g. the topic does not exist, brokers unreachable). */
lb_dlq_reader *lb_dlq_reader_new(const lb_dlq_reader_options *o, char *err, size_t errlen);
/* Accepts NULL. */
void lb_dlq_reader_destroy(lb_dlq_reader *r);

/* Offsets between the starts and the ends: the records to read (fewer on
 * a compacted topic). */
int64_t lb_dlq_reader_total(const lb_dlq_reader *r);
/* {"<partition>": {"start": s, "end": e}, ...}. New. */
json_object *lb_dlq_reader_range_json(const lb_dlq_reader *r);

/* (Re)starts reading at the start offsets; call it before the first
 * lb_dlq_reader_next. */
lb_err lb_dlq_reader_rewind(lb_dlq_reader *r, char *err, size_t errlen);

/* The next record below the ends, waiting up to timeout_ms: returns 1 with
 * *ret set (new: rd_kafka_message_destroy() it), 0 when every partition
 * has reached its end, -1 when nothing came in time (*ret untouched). */
int lb_dlq_reader_next(lb_dlq_reader *r, int timeout_ms, rd_kafka_message_t **ret);

/* The raw view of a message the reader returned (borrowed from it). */
void lb_dlq_reader_raw_from_message(lb_dlq_raw *ret, const rd_kafka_message_t *m);

/* ---- replaying ---- */

/* What a replayer works with: the reader's Kafka handle (whose group the
 * progress is committed to), its topic and time bound, and its partitions
 * (ids in [0, count)). */
rd_kafka_t *lb_dlq_reader_kafka(const lb_dlq_reader *r);
const char *lb_dlq_reader_topic(const lb_dlq_reader *r);
int lb_dlq_reader_timeout_ms(const lb_dlq_reader *r);
size_t lb_dlq_reader_partition_count(const lb_dlq_reader *r);
int32_t lb_dlq_reader_partition(const lb_dlq_reader *r, size_t i);

#endif
