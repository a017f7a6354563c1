/* lb_state: the catalog's delivery state as catalog-worker keeps it in
 * <topic>.state (docs/delivery.md, "The catalog state"): one compacted
 * record per (integration, item), written after a delivery succeeds.
 *
 *   key    "<integration id>/<content key>"      (acme-degreed/course-42)
 *   value  {"v":1,"version":5,"fingerprint":"<uuid>","lms_id":"abc"|null,
 *           "delivered_at":"2026-01-31T09:00:00.123Z","archived":false}
 *   null   the item is forgotten
 *
 * The fingerprint names what was sent: a name-based UUID (util-linux
 * libuuid, uuid_generate_sha1) over the method, URL, headers and body of
 * each request the mapping made for the item. The catalog mappings put
 * nothing time-varying in them, so the same content mapped twice has the
 * same fingerprint. Pure: no Kafka, no I/O. */
#ifndef LB_STATE_H
#define LB_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lb_error.h"
#include "lb_request.h"

/* A fingerprint as text: 36 characters and the NUL. */
#define LB_STATE_FINGERPRINT_SIZE 37
/* The value's format version this code writes and reads ("v"). */
#define LB_STATE_FORMAT 1
/* Longest LMS id a state record may carry (bytes). */
#define LB_STATE_LMS_ID_MAX 1024
/* Longest integration id and content key a key may hold (bytes). */
#define LB_STATE_INTEGRATION_MAX 64
#define LB_STATE_ITEM_MAX 512

typedef struct {
  uint64_t version; /* the catalog version delivered */
  char fingerprint[LB_STATE_FINGERPRINT_SIZE];
  char *lms_id; /* the LMS's id of the item; NULL: none (OCN) */
  int64_t delivered_at_ms;
  bool archived; /* the version delivered was an archive */
} lb_state_record;

void lb_state_record_init(lb_state_record *r);
void lb_state_record_release(lb_state_record *r);

/* The record's value as JSON text (new: free() it); NULL when out of
 * memory or when r is not a valid record (a fingerprint that is no UUID,
 * an LMS id longer than LB_STATE_LMS_ID_MAX). */
char *lb_state_record_encode(const lb_state_record *r);

/* Parses a value strictly: an object with "v" 1, "version" an integer >= 0,
 * "fingerprint" a lowercase UUID, "lms_id" a non-empty string of at most
 * LB_STATE_LMS_ID_MAX bytes or null, "delivered_at" RFC 3339, and
 * optionally "archived" a boolean (false when absent); other members are
 * ignored. On failure returns LB_E_PARSE with why in err and leaves *ret
 * untouched; LB_E_NOMEM when out of memory. *ret is initialised by it. */
lb_err lb_state_record_decode(lb_state_record *ret, const void *value, size_t len, char *err,
                              size_t errlen);

/* "<integration>/<item>" (new: free() it); NULL when out of memory. */
char *lb_state_key(const char *integration, const char *item);

/* Splits a key at its first '/': the integration id (1 to
 * LB_STATE_INTEGRATION_MAX bytes, no NUL) into integ and the content key
 * (1 to LB_STATE_ITEM_MAX bytes, no NUL) into item, both NUL-terminated;
 * the buffers need LB_STATE_INTEGRATION_MAX + 1 and LB_STATE_ITEM_MAX + 1
 * bytes. False, buffers untouched, when the key is not one. */
bool lb_state_key_split(const void *key, size_t len, char integ[LB_STATE_INTEGRATION_MAX + 1],
                        char item[LB_STATE_ITEM_MAX + 1]);

/* The fingerprint of what an item's requests send (method, URL, headers,
 * body of each, in order) into ret. LB_E_INVALID for an empty list,
 * LB_E_NOMEM when out of memory. */
lb_err lb_state_fingerprint(const lb_request_list *reqs, char ret[LB_STATE_FINGERPRINT_SIZE]);

#endif
