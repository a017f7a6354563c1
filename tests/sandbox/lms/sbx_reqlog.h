/* sbx_reqlog: the bounded, ordered log of tenant requests served by
 * GET /_sandbox/requests. Entries are pre-rendered JSON (already redacted
 * by the caller). Oldest entries are dropped beyond max_entries or
 * max_bytes. Thread-safe (own lock). */
#ifndef SBX_REQLOG_H
#define SBX_REQLOG_H

#include <stddef.h>
#include <stdint.h>

struct sbx_reqlog;

struct sbx_reqlog *sbx_reqlog_new(size_t max_entries, size_t max_bytes);
void sbx_reqlog_destroy(struct sbx_reqlog *l);
/* Appends one entry and returns its seq (1, 2, ...). members is the text
 * of JSON object members without braces ("\"a\":1,\"b\":2"); it is taken.
 * tenant (may be NULL) is copied for filtering. */
uint64_t sbx_reqlog_add(struct sbx_reqlog *l, const char *tenant, char *members);
/* New JSON text {"requests":[...],"next_since":N,"more":b,"dropped":N}
 * with entries of tenant (NULL: all) whose seq > since, at most limit. */
char *sbx_reqlog_render(struct sbx_reqlog *l, const char *tenant, uint64_t since, size_t limit,
                        size_t *ret_len);
/* Drops the entries of tenant (NULL: all). Seq numbers keep growing. */
void sbx_reqlog_clear(struct sbx_reqlog *l, const char *tenant);

#endif
