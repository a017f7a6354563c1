/* sbx_tenant: a tenant of the sandbox: its configuration (Degreed clients,
 * SuccessFactors company, users, limits, xAPI credentials, start-up faults)
 * and its state (content, completions, ratings, OCN courses and events,
 * xAPI statements, counters).
 *
 * Tenants live in the world (sbx_world.h); every function here must be
 * called with the world lock held. */
#ifndef SBX_TENANT_H
#define SBX_TENANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "sbx_faults.h"
#include "sbx_map.h"
#include "sbx_util.h"

#define SBX_DEFAULT_DEGREED_EXPIRES_IN 5183999L
#define SBX_DEFAULT_SF_EXPIRES_IN 1800L
#define SBX_DEFAULT_RATE_LIMIT 70L
#define SBX_DEFAULT_XAPI_EXPIRES_IN 3600L

struct sbx_xapi_store;

struct sbx_client {
  char *id;
  char *secret;
  char **scopes; /* Degreed and xAPI clients: allowed scopes */
  size_t n_scopes;
};

struct sbx_sf_user {
  char *id;
  bool active;
};

struct sbx_tenant_config {
  char *name;

  /* Degreed */
  struct sbx_client *dg_clients;
  size_t n_dg_clients;
  long dg_expires_in;
  long dg_rate_limit; /* requests per minute per client */
  bool dg_has_users;
  char **dg_users; /* as configured */
  size_t n_dg_users;
  struct sbx_map dg_user_set; /* lowercased email -> (void *)1 */
  bool dg_require_known_content;
  bool dg_unique_urls;

  /* SuccessFactors */
  char *sf_company_id;
  struct sbx_client *sf_clients;
  size_t n_sf_clients;
  char **sf_admins;
  size_t n_sf_admins;
  bool sf_has_users;
  struct sbx_sf_user *sf_users;
  size_t n_sf_users;
  struct sbx_map sf_user_map; /* userID -> struct sbx_sf_user * */
  long sf_expires_in;
  long sf_min_post_interval_s;
  bool sf_require_known_course;

  /* xAPI LRS: Basic credentials (id = username, secret = password) and
   * OAuth2 clients that take tokens at /oauth/token. */
  struct sbx_client *xapi_users;
  size_t n_xapi_users;
  struct sbx_client *xapi_clients;
  size_t n_xapi_clients;
  long xapi_expires_in;

  bool has_faults;
  struct sbx_faults faults;
};

/* Parses one tenant object; on failure cfg is released and err names the
 * offending key as "<where>.key: what". */
bool sbx_tenant_config_parse(json_object *o, const char *where, int64_t now_wall_ms,
                             struct sbx_tenant_config *cfg, char *err, size_t errlen);
void sbx_tenant_config_release(struct sbx_tenant_config *cfg);
/* Appends the configuration as JSON with every secret redacted. */
void sbx_tenant_config_to_json(const struct sbx_tenant_config *cfg, struct sbx_buf *b);
bool sbx_tenant_name_valid(const char *name);
/* The first client of list[0..n) with this id, or NULL. */
const struct sbx_client *sbx_client_find(const struct sbx_client *list, size_t n, const char *id);

/* A Degreed course or assessment. */
struct sbx_content {
  char id[12];
  json_object *attrs; /* owned; attributes as sent, PATCHes merged */
  char *external_id;  /* copies for the indexes */
  char *url;
  json_object *skills; /* owned array or NULL (relationships/skills) */
  int64_t created_wall_ms;
  int64_t modified_wall_ms;
  uint32_t patches;
  struct sbx_content *prev, *next;
};

struct sbx_content_store {
  const char *type;       /* "content/courses" */
  const char *collection; /* "courses" */
  struct sbx_content *head, *tail;
  size_t count;
  struct sbx_map by_id;
  struct sbx_map by_ext;
  struct sbx_map by_url;
  struct sbx_buf deleted; /* JSON array members of deleted items */
  uint64_t n_deleted;
};

/* A stored record: completion, skill rating, OCN course or OCN event. */
struct sbx_record {
  char id[12];
  char *key;  /* dedup / upsert key (may be NULL) */
  char *json; /* latest body as sent */
  int64_t first_wall_ms;
  int64_t last_wall_ms;
  uint32_t count;  /* times received (OCN course: revisions) */
  char status[12]; /* OCN course status */
};

struct sbx_records {
  struct sbx_record **items;
  size_t n, cap;
  struct sbx_map by_key;
};

struct sbx_tenant {
  struct sbx_tenant_config cfg;
  struct sbx_faults faults;

  struct sbx_content_store courses;
  struct sbx_content_store assessments;
  struct sbx_records completions;
  struct sbx_records skill_ratings;
  struct sbx_records ocn_courses;
  struct sbx_records ocn_events;
  struct sbx_xapi_store *xapi; /* owned: statements (sbx_xapi.h) */

  struct sbx_map rate_windows; /* client_id -> struct sbx_rl_window * */

  uint64_t dg_tokens_issued;
  uint64_t sf_tokens_issued;
  uint64_t dg_rate_limited;
  uint64_t ocn_posts;
  uint64_t ocn_posts_accepted;
  uint64_t ocn_posts_throttled;
  bool ocn_posted;
  uint64_t ocn_last_post_mono_ms;
  int64_t created_wall_ms;
};

/* New tenant taking the configuration (cfg is emptied). */
struct sbx_tenant *sbx_tenant_new(struct sbx_tenant_config *cfg);
void sbx_tenant_destroy(struct sbx_tenant *t);
/* Replaces the configuration, keeping the state; faults are replaced only
 * when the new configuration has some. cfg is emptied. */
void sbx_tenant_reconfigure(struct sbx_tenant *t, struct sbx_tenant_config *cfg);
/* Drops all state (not the configuration or the faults). */
void sbx_tenant_reset(struct sbx_tenant *t);
void sbx_tenant_state_to_json(struct sbx_tenant *t, struct sbx_buf *b);

/* Content store helpers. */
struct sbx_content *sbx_content_find(struct sbx_content_store *s, const char *id);
/* New unique id for this tenant (unique across both content stores). */
void sbx_tenant_new_content_id(struct sbx_tenant *t, char *out);
void sbx_content_insert(struct sbx_content_store *s, struct sbx_content *c);
void sbx_content_remove(struct sbx_content_store *s, struct sbx_content *c);
/* Re-indexes external id and url after attrs changed. */
void sbx_content_reindex(struct sbx_content_store *s, struct sbx_content *c);
/* Appends {"type","id","attributes",...} for API responses. */
void sbx_content_to_json(const struct sbx_content_store *s, const struct sbx_content *c,
                         const char *self_base, struct sbx_buf *b);

/* Record helpers. */
struct sbx_record *sbx_records_find(struct sbx_records *r, const char *key);
/* Appends a new record (key may be NULL); json is taken. */
struct sbx_record *sbx_records_add(struct sbx_records *r, const char *key, char *json,
                                   int64_t now_wall_ms);

/* Degreed user list check: true when no list is configured. */
bool sbx_tenant_dg_user_known(const struct sbx_tenant *t, const char *user);
const struct sbx_sf_user *sbx_tenant_sf_user(const struct sbx_tenant *t, const char *id);

#endif
