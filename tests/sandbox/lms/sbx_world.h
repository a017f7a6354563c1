/* sbx_world: everything the sandbox knows: tenants, tokens and the request
 * log, with the one lock that guards tenants and tokens.
 *
 * Locking: `lock` guards tenants, their state and the tokens; take it
 * around any sbx_tenant_* / sbx_tokens_* call. The request log has its own
 * lock and may be used without `lock`. */
#ifndef SBX_WORLD_H
#define SBX_WORLD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "sbx_map.h"
#include "sbx_reqlog.h"
#include "sbx_tenant.h"
#include "sbx_tokens.h"

struct sbx_limits {
  size_t max_tokens;      /* tokens kept at once */
  size_t log_max_entries; /* request log entries */
  size_t log_max_bytes;   /* request log text */
  size_t max_records;     /* per tenant and collection */
  size_t max_body_bytes;  /* request body cap */
};

struct sbx_world {
  pthread_mutex_t lock;
  struct sbx_map tenants;   /* name -> struct sbx_tenant * */
  struct sbx_tenant **list; /* creation order */
  size_t n_tenants;
  struct sbx_tokens tokens;
  struct sbx_reqlog *log;
  struct sbx_limits limits;
};

struct sbx_world *sbx_world_new(const struct sbx_limits *limits);
void sbx_world_destroy(struct sbx_world *w);

/* Lock held. Borrowed until the lock is released, or NULL. */
struct sbx_tenant *sbx_world_tenant(struct sbx_world *w, const char *name);

/* Lock NOT held. Applies {"tenants":[...]} or one tenant object: every
 * tenant is validated first, then created or reconfigured (state kept).
 * Names of created tenants are appended to created (JSON array members),
 * of updated ones to updated. */
bool sbx_world_apply_config(struct sbx_world *w, json_object *o, const char *where,
                            struct sbx_buf *created, struct sbx_buf *updated, char *err,
                            size_t errlen);
/* Lock NOT held. Reads a JSON file (comments allowed) and applies it. */
bool sbx_world_load_file(struct sbx_world *w, const char *path, char *err, size_t errlen);
/* Lock held. Removes a tenant with its tokens; false if unknown. */
bool sbx_world_remove_tenant(struct sbx_world *w, const char *name);

#endif
