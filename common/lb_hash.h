/* lb_hash: a 64-bit FNV-1a-style hash of a string (FNV's prime, offset
 * basis 1469598103934665603 as first written: dlq-replay's progress group
 * names, kept in Kafka, depend on the exact values). The bucket of
 * lb_table (ordering keys, lb_known, lb_batch) and the group suffix.
 * Stable across runs; not for inputs chosen to collide (they are our own
 * keys). */
#ifndef LB_HASH_H
#define LB_HASH_H

#include <stdint.h>

uint64_t lb_hash_str(const char *s);

#endif
