/* ksb_parse: pure parsers for the kafka-sandbox command line and control
 * API (numbers, Kafka API keys, librdkafka error names, topic names).
 * No I/O, no allocation; every function may be called from any thread. */
#ifndef KSB_PARSE_H
#define KSB_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

/* Longest topic name Kafka accepts. */
#define KSB_TOPIC_NAME_MAX 249

/* Parses all of `s` as a base-10 integer in [min, max]. Returns 0 and sets
 * *ret, or -1 (empty, trailing characters, out of range) leaving *ret
 * untouched. */
int ksb_parse_long(const char *s, long min, long max, long *ret);

/* Parses a Kafka protocol API key given by name ("Produce", "OffsetCommit",
 * case-insensitive) or by number (0..99). Returns 0 or -1; *ret untouched
 * on failure. */
int ksb_parse_api_key(const char *s, int16_t *ret);

/* Static name of an API key ("Produce"), or NULL when the key has no name
 * in our table. */
const char *ksb_api_key_name(int16_t api_key);

/* Parses one librdkafka error given by name as rd_kafka_err2name() prints
 * it ("REQUEST_TIMED_OUT", "_TRANSPORT", case-insensitive, an optional
 * "RD_KAFKA_RESP_ERR_" prefix) or by number. Only codes librdkafka knows
 * are accepted. Returns 0 or -1; *ret untouched on failure. */
int ksb_parse_error(const char *s, rd_kafka_resp_err_t *ret);

/* Parses a comma-separated list of at most `max` errors into out[]. Returns
 * the count (>= 1), or -1 with the offending item (a pointer into `s`, NUL
 * not guaranteed: use *bad_len) in *bad and *bad_len. */
int ksb_parse_error_list(const char *s, rd_kafka_resp_err_t *out, size_t max, const char **bad,
                         size_t *bad_len);

/* Parses a comma-separated list of at most `max` integers in [min, max_val].
 * Returns the count (>= 1) or -1. */
int ksb_parse_long_list(const char *s, long min, long max_val, long *out, size_t max);

/* True when `name` is a legal Kafka topic name: 1..249 characters of
 * [a-zA-Z0-9._-], and neither "." nor "..". */
bool ksb_topic_name_valid(const char *name);

#endif
