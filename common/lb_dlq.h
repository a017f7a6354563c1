/* lb_dlq: the dead-letter contract (docs/delivery.md) in one place: the
 * names of the headers lmsbridge writes and the classes, the builder of a
 * dead letter's headers the engine uses, and what dlq-replay decides about
 * them: decoding the headers, the filters of `list` and `replay`, the
 * verdict on a replay, the headers of the replayed record, the JSON line
 * of `list`, totals. No I/O: reading and republishing are lb_dlq_reader and lb_dlq_replayer. */
#ifndef LB_DLQ_H
#define LB_DLQ_H

#include <json-c/json.h>
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lb_config.h"
#include "lb_error.h"

/* Header values longer than this are cut when decoded (the builder writes
 * at most LB_DLQ_BODY_MAX bytes of body and LB_DLQ_MESSAGE_MAX of message). */
#define LB_DLQ_HEADER_MAX 8192
/* The LMS's answer (lmsbridge.http.body) and the message, redacted, are
 * cut to at most these many bytes, at a UTF-8 character boundary. */
#define LB_DLQ_BODY_MAX 2048
#define LB_DLQ_MESSAGE_MAX 2047

/* ---- the contract: header names and classes ---- */

/* Prefixes of the headers lmsbridge writes: Kafka Connect's (so existing
 * tools read them) and its own. A record's headers under either are
 * dropped before they are written anew (a retried or replayed record
 * carries the previous ones). */
#define LB_DLQ_CONNECT_PREFIX "__connect.errors."
#define LB_DLQ_OWN_PREFIX "lmsbridge."

/* The dead-letter classes (__connect.errors.exception.class.name). */
typedef enum {
  LB_DLQ_INVALID_EVENT,
  LB_DLQ_MAPPING,
  LB_DLQ_PERMANENT_HTTP,
  LB_DLQ_RETRIES_EXHAUSTED,
  LB_DLQ_AUTH,
  LB_DLQ_CONFIG,
  LB_DLQ_CLASS__COUNT
} lb_dlq_class;

/* The class names by lb_dlq_class, in the order of docs/delivery.md;
 * NULL-terminated. */
extern const char *const lb_dlq_reasons[LB_DLQ_CLASS__COUNT + 1];

/* Every header lmsbridge writes: a dead letter's, in the order they are
 * written (LB_DLQ_H_TOPIC .. LB_DLQ_H_REPLAYS, then the marks of a value
 * cut to fit), then those of a parked record (<topic>.retry) and of a
 * replayed one. */
typedef enum {
  LB_DLQ_H_TOPIC,       /* original topic */
  LB_DLQ_H_PARTITION,   /* original partition */
  LB_DLQ_H_OFFSET,      /* original offset */
  LB_DLQ_H_CLASS,       /* one of lb_dlq_reasons */
  LB_DLQ_H_MESSAGE,     /* why, redacted */
  LB_DLQ_H_INTEGRATION, /* "" for the event's own dead letter */
  LB_DLQ_H_HTTP_STATUS, /* 0: none */
  LB_DLQ_H_HTTP_BODY,   /* the LMS's answer, redacted, first 2 KiB */
  LB_DLQ_H_ATTEMPTS,
  LB_DLQ_H_FIRST_FAILURE, /* RFC 3339 in a dead letter, ms in a parked record */
  LB_DLQ_H_LAST_FAILURE,
  LB_DLQ_H_WORKER,
  LB_DLQ_H_REPLAYS,
  LB_DLQ_H_VALUE_TRUNCATED,      /* "true": the value was cut to fit */
  LB_DLQ_H_VALUE_ORIGINAL_BYTES, /* the source value's size */
  LB_DLQ_H_HEADERS_DROPPED,      /* the source's own headers left out */
  LB_DLQ_H_TARGET,               /* parked or replayed: the one integration */
  LB_DLQ_H_NOT_BEFORE,           /* parked: due time, ms */
  LB_DLQ_H_ORIG_TOPIC,           /* parked: the source's coordinates */
  LB_DLQ_H_ORIG_PARTITION,
  LB_DLQ_H_ORIG_OFFSET,
  LB_DLQ_H_REPLAYED_FROM, /* replayed: "<dlq topic>/<partition>/<offset>" */
  LB_DLQ_H_RESYNC,        /* "true": a resync, sent even when unchanged */
  LB_DLQ_H__COUNT
} lb_dlq_header;

typedef struct {
  const char *name;
  bool text; /* free text (--grep searches it), not a number, time or mark */
  bool ours; /* lmsbridge's own name, not Kafka Connect's */
} lb_dlq_header_info;

/* Indexed by lb_dlq_header. */
extern const lb_dlq_header_info lb_dlq_header_table[LB_DLQ_H__COUNT];

static inline const char *lb_dlq_header_name(lb_dlq_header h)
{
  return lb_dlq_header_table[h].name;
}

/* Whether name is one lmsbridge writes (under either prefix): dropped from
 * a record before its headers are written again. */
bool lb_dlq_header_is_own(const char *name);
/* Whether name is a header of the table that holds no free text (--grep
 * leaves it out: --grep 400 is not meant to match an offset). */
bool lb_dlq_header_is_structured(const char *name);

/* ---- building a dead letter's headers ---- */

/* What a dead letter says. Strings may be NULL (written as ""). */
typedef struct {
  const char *topic; /* original coordinates */
  int32_t partition;
  int64_t offset;
  const char *reason;  /* class name, lb_dlq_reasons */
  const char *message; /* redacted, cut to LB_DLQ_MESSAGE_MAX */
  const char *integration;
  int http_status;
  const char *http_body; /* redacted, cut to LB_DLQ_BODY_MAX */
  int attempts;
  int64_t first_failure_ms; /* 0: written as "" */
  int64_t last_failure_ms;
  const char *worker;
  int replays;
  bool resync; /* the source record was a resync: a replay keeps the mark */
  /* the value was cut to fit: value_original_bytes is the source's size;
   * headers_dropped >= 0: the source's own headers (that many) were left
   * out too */
  bool value_truncated;
  int64_t value_original_bytes;
  int headers_dropped;
} lb_dlq_fields;

/* Appends the dead letter's headers to h in the contract's order (the
 * marks of a cut value last), the message and body through the logs'
 * redaction (lb_log_redact). No other effect. */
void lb_dlq_headers_add(rd_kafka_headers_t *h, const lb_dlq_fields *f);

/* ---- a parked record's headers (<topic>.retry), written and read ---- */

/* What a parked record carries besides the source's own headers: the one
 * integration it waits for, its retry state, and where it came from. A
 * replayed record carries target and replays too. */
typedef struct {
  bool has_target;
  char target[256];
  int attempts;
  int64_t not_before_ms; /* due time, ms since the epoch */
  int64_t first_failure_ms, last_failure_ms;
  bool has_orig; /* orig_* were carried */
  char orig_topic[256];
  int32_t orig_partition;
  int64_t orig_offset;
  int replays;
  bool resync; /* a resync (lmsbridge.resync "true"): sent even when the
                  item is unchanged, never when older */
} lb_dlq_parked;

/* Appends p's headers to h (names from lb_dlq_header_table; numbers in
 * decimal, times in ms). No other effect. */
void lb_dlq_parked_headers_add(rd_kafka_headers_t *h, const lb_dlq_parked *p);
/* What headers h carry (the last of each name; h may be NULL): a field not
 * carried, or not a number, is left at its default (false, "", 0; -1 for
 * orig_partition and orig_offset). Texts longer than the buffers are cut. */
void lb_dlq_parked_read(const rd_kafka_headers_t *h, lb_dlq_parked *ret);

/* A DLQ record as read from Kafka. Everything is borrowed from the message
 * it was read from and valid as long as that message is. */
typedef struct {
  const char *topic; /* the DLQ topic */
  int32_t partition;
  int64_t offset;
  int64_t timestamp_ms; /* -1: none */
  const void *key;      /* NULL: no key */
  size_t key_len;
  const void *value; /* NULL: no value */
  size_t value_len;
  const rd_kafka_headers_t *headers; /* NULL: none */
} lb_dlq_raw;

/* A decoded DLQ record. Strings are new (freed by lb_dlq_record_release),
 * NUL-terminated, cut at LB_DLQ_HEADER_MAX; NULL when the header is absent.
 * `raw` is borrowed (see lb_dlq_raw). */
typedef struct {
  lb_dlq_raw raw;
  char *topic;       /* __connect.errors.topic: where it came from */
  int32_t partition; /* -1: absent or not a number */
  int64_t offset;    /* -1: absent or not a number */
  char *reason;      /* exception class: invalid_event, permanent_http... */
  char *message;     /* exception message */
  char *integration; /* NULL also when the header is empty */
  int http_status;   /* 0: none */
  char *http_body;
  int attempts;
  char *first_failure; /* RFC 3339 as written */
  char *last_failure;
  int64_t last_failure_ms; /* -1: absent or not RFC 3339 */
  int replays;             /* lmsbridge.replays, 0 when absent */
  char *worker;
  bool resync; /* lmsbridge.resync is "true": a resync's dead letter */
  /* lmsbridge.value.truncated is "true": the engine cut the value to fit
   * the producer's limit, so it is not the event that failed */
  bool value_truncated;
  int64_t value_original_bytes; /* lmsbridge.value.original_bytes; -1: absent */
  int headers_dropped;          /* lmsbridge.headers.dropped; -1: absent */
} lb_dlq_record;

/* Decodes raw's headers into *ret. LB_E_NOMEM leaves *ret released. */
lb_err lb_dlq_record_decode(lb_dlq_record *ret, const lb_dlq_raw *raw);
void lb_dlq_record_release(lb_dlq_record *r);

/* The time the time filters compare: last_failure, else the DLQ record's
 * timestamp, else -1. */
int64_t lb_dlq_record_time(const lb_dlq_record *r);

/* The `list` line: original coordinates, key, value (JSON when it is
 * JSON, else a string; "key_base64"/"value_base64" when not UTF-8),
 * reason, message, integration, HTTP status and body, attempts, failure
 * times, replays, worker, whether the value was cut (value_truncated,
 * value_original_bytes, headers_dropped), the DLQ record's own partition,
 * offset and timestamp, and the other headers it carries. New object. */
json_object *lb_dlq_record_json(const lb_dlq_record *r);

/* ---- filters ---- */

typedef struct {
  int lo, hi;
} lb_dlq_status_range;

/* Every given criterion must hold; a list criterion holds when one of its
 * values does. Plain value type: lb_dlq_filter_init/_release. */
typedef struct {
  char **integrations; /* lmsbridge.integration; "" stands for none */
  size_t nintegrations;
  char **reasons; /* class names from lb_dlq_reasons */
  size_t nreasons;
  lb_dlq_status_range *statuses; /* 404, or 4xx = 400..499 */
  size_t nstatuses;
  int64_t since_ms;    /* lb_dlq_record_time >= since; -1: none */
  int64_t until_ms;    /* lb_dlq_record_time < until; -1: none */
  int32_t partition;   /* original partition; -1: any */
  int64_t offset_from; /* original offset, inclusive; -1: none */
  int64_t offset_to;   /* original offset, inclusive; -1: none */
  char *key;           /* the record key, exactly; NULL: any */
  char *grep;          /* ASCII case-insensitive substring of the message,
                          the LMS's answer (http.body) or another text
                          header (numbers and times excepted); NULL: any */
} lb_dlq_filter;

void lb_dlq_filter_init(lb_dlq_filter *f);
void lb_dlq_filter_release(lb_dlq_filter *f);

/* Adds the criterion of one command-line option: `name` is the long option
 * without its dashes ("integration", "reason", "status", "since", "until",
 * "partition", "offset-from", "offset-to", "key", "grep"); list options
 * take comma-separated values and may be repeated. On a bad value returns
 * LB_E_INVALID with why in err (filter unchanged); LB_E_NOT_FOUND for an
 * unknown name. */
lb_err lb_dlq_filter_add(lb_dlq_filter *f, const char *name, const char *value, char *err,
                         size_t errlen);
bool lb_dlq_filter_empty(const lb_dlq_filter *f);
bool lb_dlq_filter_match(const lb_dlq_filter *f, const lb_dlq_record *r);

/* One line naming the selection, the same for the same criteria whatever
 * their order on the command line ("" for no filter). New string, NULL
 * on out of memory. */
char *lb_dlq_filter_canonical(const lb_dlq_filter *f);

/* The consumer group that holds a selection's replay progress:
 * "<group_id>.dlq-replay" without filters, else followed by "." and 12 hex
 * digits of a hash of lb_dlq_filter_canonical(). New string, NULL on out
 * of memory. */
char *lb_dlq_progress_group(const char *group_id, const lb_dlq_filter *f);

/* ---- replay ---- */

typedef enum {
  LB_DLQ_REPLAY,             /* to the integration that failed */
  LB_DLQ_REPLAY_UNTARGETED,  /* no integration (invalid event): to all */
  LB_DLQ_REFUSE_NOT_DLQ,     /* no original topic: not a dead letter */
  LB_DLQ_REFUSE_TOPIC,       /* its topic is not one the worker consumes */
  LB_DLQ_REFUSE_TRUNCATED,   /* its value was cut: not the original event */
  LB_DLQ_REFUSE_LIMIT,       /* replayed max_replays times already */
  LB_DLQ_REFUSE_UNTARGETED,  /* no integration, and not asked for */
  LB_DLQ_REFUSE_INTEGRATION, /* integration not in the configuration */
  LB_DLQ_VERDICT__COUNT
} lb_dlq_verdict;

typedef struct {
  const lb_config *cfg;  /* borrowed: topics and integrations */
  int max_replays;       /* refuse when replays >= this */
  bool allow_untargeted; /* replay records without an integration */
} lb_dlq_policy;

/* What happens to a selected record; the first refusal that applies, in
 * the order of the enum (a cut value is refused before the refusals an
 * option can lift: no option replays it). */
lb_dlq_verdict lb_dlq_judge(const lb_dlq_policy *p, const lb_dlq_record *r);
bool lb_dlq_verdict_replays(lb_dlq_verdict v);
/* "replay", "replay_untargeted", "not_a_dead_letter", "unknown_topic",
 * "truncated", "replay_limit", "no_integration", "unknown_integration".
 * Static. */
const char *lb_dlq_verdict_name(lb_dlq_verdict v);

/* Headers of the replayed record: the DLQ record's own headers except
 * lmsbridge.* and __connect.errors.* ones, in their order, then
 * lmsbridge.target (the record's integration; not for an untargeted
 * replay) with lmsbridge.resync when the record is a resync's dead letter,
 * lmsbridge.replays (the record's + 1) and
 * lmsbridge.replayed_from ("<dlq topic>/<partition>/<offset>"). New:
 * rd_kafka_headers_destroy() it, or hand it to rd_kafka_producev(). */
rd_kafka_headers_t *lb_dlq_replay_headers(const lb_dlq_record *r, bool targeted);

/* ---- totals ---- */

/* Counts by (integration, reason); "(none)" for a record without one.
 * Bounded: past 10,000 distinct pairs the rest count as "(other)". */
typedef struct {
  struct lb_dlq_count *rows;
  size_t n, cap;
  long long total;
} lb_dlq_totals;

void lb_dlq_totals_init(lb_dlq_totals *t);
void lb_dlq_totals_release(lb_dlq_totals *t);
/* Returns 0, or -1 on out of memory (the total still counts it). */
int lb_dlq_totals_add(lb_dlq_totals *t, const char *integration, const char *reason);
/* {"total": N, "by_integration": {..}, "by_reason": {..},
 *  "by_integration_and_reason": {integration: {reason: n}}}. New. */
json_object *lb_dlq_totals_json(const lb_dlq_totals *t);

#endif
