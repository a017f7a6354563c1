#include "sbx_tenant.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbx_ratelimit.h"
#include "sbx_request.h"
#include "sbx_xapi.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

static const char *const default_scopes[] = { "content:read",
                                              "content:write",
                                              "completions:read",
                                              "completions:write",
                                              "skill_ratings:read",
                                              "skill_ratings:write",
                                              NULL };
static const char *const xapi_default_scopes[] = { "all", NULL };

enum client_kind { CLIENT_DEGREED, CLIENT_SF, CLIENT_XAPI };

const struct sbx_client *sbx_client_find(const struct sbx_client *list, size_t n, const char *id)
{
  size_t i;

  for (i = 0; i < n; i++)
    if (strcmp(list[i].id, id) == 0)
      return &list[i];
  return NULL;
}

bool sbx_tenant_name_valid(const char *name)
{
  size_t n = strlen(name), i;

  if (n == 0 || n > SBX_TENANT_NAME_MAX)
    return false;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)name[i];

    if (!isalnum(c) && c != '-' && c != '_' && c != '.')
      return false;
  }
  return true;
}

/* ---- configuration parsing ---------------------------------------- */

struct parse_ctx {
  char *err;
  size_t errlen;
};

static bool fail(struct parse_ctx *p, const char *where, const char *key, const char *what)
{
  if (key)
    snprintf(p->err, p->errlen, "%s.%s: %s", where, key, what);
  else
    snprintf(p->err, p->errlen, "%s: %s", where, what);
  return false;
}

static bool check_keys(struct parse_ctx *p, json_object *o, const char *where,
                       const char *const *keys)
{
  if (!json_object_is_type(o, json_type_object))
    return fail(p, where, NULL, "must be an object");
  json_object_object_foreach(o, key, val)
  {
    size_t i;

    (void)val;
    if (key[0] == '_')
      continue;
    for (i = 0; keys[i]; i++)
      if (strcmp(keys[i], key) == 0)
        break;
    if (!keys[i]) {
      char what[160];

      snprintf(what, sizeof(what), "unknown key '%s'", key);
      return fail(p, where, NULL, what);
    }
  }
  return true;
}

static bool get_string(struct parse_ctx *p, json_object *o, const char *where, const char *key,
                       bool required, char **ret)
{
  json_object *v = NULL;

  if (!json_object_object_get_ex(o, key, &v) || !v) {
    if (required)
      return fail(p, where, key, "required");
    return true;
  }
  if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0)
    return fail(p, where, key, "must be a non-empty string");
  free(*ret);
  *ret = sbx_xstrdup(json_object_get_string(v));
  return true;
}

static bool get_long(struct parse_ctx *p, json_object *o, const char *where, const char *key,
                     long min, long max, long *ret)
{
  json_object *v = NULL;
  int64_t n;

  if (!json_object_object_get_ex(o, key, &v) || !v)
    return true;
  if (!json_object_is_type(v, json_type_int))
    return fail(p, where, key, "must be an integer");
  n = json_object_get_int64(v);
  if (n < min || n > max) {
    char what[96];

    snprintf(what, sizeof(what), "must be between %ld and %ld", min, max);
    return fail(p, where, key, what);
  }
  *ret = (long)n;
  return true;
}

static bool get_bool(struct parse_ctx *p, json_object *o, const char *where, const char *key,
                     bool *ret)
{
  json_object *v = NULL;

  if (!json_object_object_get_ex(o, key, &v) || !v)
    return true;
  if (!json_object_is_type(v, json_type_boolean))
    return fail(p, where, key, "must be true or false");
  *ret = json_object_get_boolean(v);
  return true;
}

static void push_str(char ***arr, size_t *n, const char *s)
{
  *arr = sbx_xrealloc(*arr, (*n + 1) * sizeof(**arr));
  (*arr)[(*n)++] = sbx_xstrdup(s);
}

static void free_strs(char **arr, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    free(arr[i]);
  free(arr);
}

/* Accepts ["a","b"] or "a,b" (Degreed's comma-delimited form); defaults
 * when absent. */
static bool get_scopes(struct parse_ctx *p, json_object *o, const char *where,
                       const char *const *defaults, struct sbx_client *c)
{
  json_object *v = NULL;
  size_t i;

  if (!json_object_object_get_ex(o, "scopes", &v) || !v) {
    for (i = 0; defaults[i]; i++)
      push_str(&c->scopes, &c->n_scopes, defaults[i]);
    return true;
  }
  if (json_object_is_type(v, json_type_string)) {
    const char *s = json_object_get_string(v);

    while (*s) {
      const char *comma = strchr(s, ',');
      size_t n = comma ? (size_t)(comma - s) : strlen(s);
      char *one;

      while (n > 0 && isspace((unsigned char)*s)) {
        s++;
        n--;
      }
      while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
      if (n) {
        one = sbx_xstrndup(s, n);
        push_str(&c->scopes, &c->n_scopes, one);
        free(one);
      }
      s += comma ? (size_t)(comma - s) + 1 : strlen(s);
    }
    return true;
  }
  if (!json_object_is_type(v, json_type_array))
    return fail(p, where, "scopes", "must be an array of strings");
  for (i = 0; i < json_object_array_length(v); i++) {
    json_object *e = json_object_array_get_idx(v, i);

    if (!json_object_is_type(e, json_type_string))
      return fail(p, where, "scopes", "must be an array of strings");
    push_str(&c->scopes, &c->n_scopes, json_object_get_string(e));
  }
  return true;
}

static void client_release(struct sbx_client *c)
{
  free(c->id);
  free(c->secret);
  free_strs(c->scopes, c->n_scopes);
  memset(c, 0, sizeof(*c));
}

static bool parse_clients(struct parse_ctx *p, json_object *arr, const char *where,
                          enum client_kind kind, struct sbx_client **ret, size_t *ret_n)
{
  static const char *const dg_keys[] = { "client_id", "client_secret", "scopes", NULL };
  static const char *const sf_keys[] = { "client_id", "client_secret", NULL };
  size_t i, j;

  if (!json_object_is_type(arr, json_type_array))
    return fail(p, where, "clients", "must be an array");
  for (i = 0; i < json_object_array_length(arr); i++) {
    json_object *o = json_object_array_get_idx(arr, i);
    struct sbx_client c;
    char w[160];

    memset(&c, 0, sizeof(c));
    snprintf(w, sizeof(w), "%s.clients[%zu]", where, i);
    if (!check_keys(p, o, w, kind == CLIENT_SF ? sf_keys : dg_keys) ||
        !get_string(p, o, w, "client_id", true, &c.id) ||
        !get_string(p, o, w, "client_secret", true, &c.secret) ||
        (kind != CLIENT_SF &&
         !get_scopes(p, o, w, kind == CLIENT_XAPI ? xapi_default_scopes : default_scopes, &c))) {
      client_release(&c);
      return false;
    }
    for (j = 0; kind == CLIENT_XAPI && j < c.n_scopes; j++) {
      if (!sbx_xapi_scope_known(c.scopes[j])) {
        char what[200];

        snprintf(what, sizeof(what), "unknown xAPI scope '%.100s'", c.scopes[j]);
        client_release(&c);
        return fail(p, w, "scopes", what);
      }
    }
    *ret = sbx_xrealloc(*ret, (*ret_n + 1) * sizeof(**ret));
    (*ret)[(*ret_n)++] = c;
  }
  return true;
}

static bool parse_degreed(struct parse_ctx *p, json_object *o, const char *where,
                          struct sbx_tenant_config *cfg)
{
  static const char *const keys[] = { "clients", "token_expires_in",      "rate_limit_per_minute",
                                      "users",   "require_known_content", "unique_urls",
                                      NULL };
  json_object *v = NULL;
  char w[128];
  size_t i;

  snprintf(w, sizeof(w), "%s.degreed", where);
  if (!check_keys(p, o, w, keys))
    return false;
  if (json_object_object_get_ex(o, "clients", &v) &&
      !parse_clients(p, v, w, CLIENT_DEGREED, &cfg->dg_clients, &cfg->n_dg_clients))
    return false;
  if (!get_long(p, o, w, "token_expires_in", 1, 315360000, &cfg->dg_expires_in) ||
      !get_long(p, o, w, "rate_limit_per_minute", 1, 100000000, &cfg->dg_rate_limit) ||
      !get_bool(p, o, w, "require_known_content", &cfg->dg_require_known_content) ||
      !get_bool(p, o, w, "unique_urls", &cfg->dg_unique_urls))
    return false;
  if (json_object_object_get_ex(o, "users", &v) && v) {
    if (!json_object_is_type(v, json_type_array))
      return fail(p, w, "users", "must be an array of strings");
    cfg->dg_has_users = true;
    for (i = 0; i < json_object_array_length(v); i++) {
      json_object *e = json_object_array_get_idx(v, i);
      char *lower;

      if (!json_object_is_type(e, json_type_string))
        return fail(p, w, "users", "must be an array of strings");
      push_str(&cfg->dg_users, &cfg->n_dg_users, json_object_get_string(e));
      lower = sbx_lower_dup(json_object_get_string(e));
      sbx_map_put(&cfg->dg_user_set, lower, (void *)1);
      free(lower);
    }
  }
  return true;
}

static bool parse_sf(struct parse_ctx *p, json_object *o, const char *where,
                     struct sbx_tenant_config *cfg)
{
  static const char *const keys[] = { "company_id",           "client_id",
                                      "client_secret",        "clients",
                                      "admin_users",          "users",
                                      "token_expires_in",     "min_post_interval_s",
                                      "require_known_course", NULL };
  json_object *v = NULL;
  struct sbx_client single;
  char w[128];
  size_t i;

  snprintf(w, sizeof(w), "%s.sf", where);
  memset(&single, 0, sizeof(single));
  if (!check_keys(p, o, w, keys) ||
      !get_string(p, o, w, "company_id", false, &cfg->sf_company_id) ||
      !get_string(p, o, w, "client_id", false, &single.id) ||
      !get_string(p, o, w, "client_secret", false, &single.secret)) {
    client_release(&single);
    return false;
  }
  if (!single.id != !single.secret) {
    client_release(&single);
    return fail(p, w, NULL, "client_id and client_secret go together");
  }
  if (single.id) {
    cfg->sf_clients = sbx_xrealloc(cfg->sf_clients, sizeof(*cfg->sf_clients));
    cfg->sf_clients[0] = single;
    cfg->n_sf_clients = 1;
  }
  if (json_object_object_get_ex(o, "clients", &v) &&
      !parse_clients(p, v, w, CLIENT_SF, &cfg->sf_clients, &cfg->n_sf_clients))
    return false;
  if (!get_long(p, o, w, "token_expires_in", 1, 315360000, &cfg->sf_expires_in) ||
      !get_long(p, o, w, "min_post_interval_s", 0, 86400, &cfg->sf_min_post_interval_s) ||
      !get_bool(p, o, w, "require_known_course", &cfg->sf_require_known_course))
    return false;
  if (json_object_object_get_ex(o, "admin_users", &v) && v) {
    if (!json_object_is_type(v, json_type_array))
      return fail(p, w, "admin_users", "must be an array of strings");
    for (i = 0; i < json_object_array_length(v); i++) {
      json_object *e = json_object_array_get_idx(v, i);

      if (!json_object_is_type(e, json_type_string))
        return fail(p, w, "admin_users", "must be an array of strings");
      push_str(&cfg->sf_admins, &cfg->n_sf_admins, json_object_get_string(e));
    }
  }
  if (json_object_object_get_ex(o, "users", &v) && v) {
    size_t n;

    if (!json_object_is_type(v, json_type_array))
      return fail(p, w, "users", "must be an array");
    n = json_object_array_length(v);
    cfg->sf_has_users = true;
    cfg->sf_users = sbx_xcalloc(n, sizeof(*cfg->sf_users));
    for (i = 0; i < n; i++) {
      static const char *const ukeys[] = { "userID", "active", NULL };
      json_object *e = json_object_array_get_idx(v, i);
      struct sbx_sf_user *u = &cfg->sf_users[i];
      char uw[160];

      snprintf(uw, sizeof(uw), "%s.users[%zu]", w, i);
      u->active = true;
      if (json_object_is_type(e, json_type_string)) {
        u->id = sbx_xstrdup(json_object_get_string(e));
      } else if (!check_keys(p, e, uw, ukeys) || !get_string(p, e, uw, "userID", true, &u->id) ||
                 !get_bool(p, e, uw, "active", &u->active)) {
        cfg->n_sf_users = i + 1;
        return false;
      }
      cfg->n_sf_users = i + 1;
      sbx_map_put(&cfg->sf_user_map, u->id, u);
    }
  }
  return true;
}

static bool parse_xapi(struct parse_ctx *p, json_object *o, const char *where,
                       struct sbx_tenant_config *cfg)
{
  static const char *const keys[] = { "credentials", "clients", "token_expires_in", NULL };
  static const char *const cred_keys[] = { "username", "password", NULL };
  json_object *v = NULL;
  char w[128];
  size_t i, j;

  snprintf(w, sizeof(w), "%s.xapi", where);
  if (!check_keys(p, o, w, keys) ||
      !get_long(p, o, w, "token_expires_in", 1, 315360000, &cfg->xapi_expires_in))
    return false;
  if (json_object_object_get_ex(o, "credentials", &v) && v) {
    if (!json_object_is_type(v, json_type_array))
      return fail(p, w, "credentials", "must be an array");
    for (i = 0; i < json_object_array_length(v); i++) {
      json_object *e = json_object_array_get_idx(v, i);
      struct sbx_client c;
      char cw[192];

      memset(&c, 0, sizeof(c));
      snprintf(cw, sizeof(cw), "%s.credentials[%zu]", w, i);
      if (!check_keys(p, e, cw, cred_keys) || !get_string(p, e, cw, "username", true, &c.id) ||
          !get_string(p, e, cw, "password", true, &c.secret)) {
        client_release(&c);
        return false;
      }
      if (strchr(c.id, ':')) {
        client_release(&c);
        return fail(p, cw, "username", "must not contain ':' (HTTP Basic)");
      }
      cfg->xapi_users =
          sbx_xrealloc(cfg->xapi_users, (cfg->n_xapi_users + 1) * sizeof(*cfg->xapi_users));
      cfg->xapi_users[cfg->n_xapi_users++] = c;
    }
  }
  if (json_object_object_get_ex(o, "clients", &v) && v &&
      !parse_clients(p, v, w, CLIENT_XAPI, &cfg->xapi_clients, &cfg->n_xapi_clients))
    return false;
  /* Both kinds of client ask /oauth/token: the client id says which. */
  for (i = 0; i < cfg->n_xapi_clients; i++) {
    for (j = 0; j < cfg->n_dg_clients; j++) {
      if (strcmp(cfg->xapi_clients[i].id, cfg->dg_clients[j].id) == 0) {
        char cw[192];

        snprintf(cw, sizeof(cw), "%s.clients[%zu]", w, i);
        return fail(p, cw, "client_id", "is also a degreed client of this tenant");
      }
    }
  }
  return true;
}

bool sbx_tenant_config_parse(json_object *o, const char *where, int64_t now_wall_ms,
                             struct sbx_tenant_config *cfg, char *err, size_t errlen)
{
  static const char *const keys[] = { "name", "degreed", "sf", "xapi", "faults", NULL };
  struct parse_ctx p = { err, errlen };
  json_object *v = NULL;

  memset(cfg, 0, sizeof(*cfg));
  cfg->dg_expires_in = SBX_DEFAULT_DEGREED_EXPIRES_IN;
  cfg->dg_rate_limit = SBX_DEFAULT_RATE_LIMIT;
  cfg->dg_unique_urls = true;
  cfg->sf_expires_in = SBX_DEFAULT_SF_EXPIRES_IN;
  cfg->sf_require_known_course = true;
  cfg->xapi_expires_in = SBX_DEFAULT_XAPI_EXPIRES_IN;
  sbx_map_init(&cfg->dg_user_set);
  sbx_map_init(&cfg->sf_user_map);

  if (!check_keys(&p, o, where, keys) || !get_string(&p, o, where, "name", true, &cfg->name))
    goto bad;
  if (!sbx_tenant_name_valid(cfg->name)) {
    fail(&p, where, "name", "must be 1-64 characters of [A-Za-z0-9._-]");
    goto bad;
  }
  if (json_object_object_get_ex(o, "degreed", &v) && v && !parse_degreed(&p, v, where, cfg))
    goto bad;
  if (json_object_object_get_ex(o, "sf", &v) && v && !parse_sf(&p, v, where, cfg))
    goto bad;
  /* after "degreed": the client ids of both are compared */
  if (json_object_object_get_ex(o, "xapi", &v) && v && !parse_xapi(&p, v, where, cfg))
    goto bad;
  if (json_object_object_get_ex(o, "faults", &v) && v) {
    cfg->has_faults = true;
    if (!sbx_faults_apply_json(&cfg->faults, v, now_wall_ms, err, errlen)) {
      char inner[256];

      snprintf(inner, sizeof(inner), "%s", err);
      snprintf(err, errlen, "%s.%s", where, inner);
      goto bad;
    }
  }
  return true;
bad:
  sbx_tenant_config_release(cfg);
  return false;
}

void sbx_tenant_config_release(struct sbx_tenant_config *cfg)
{
  size_t i;

  free(cfg->name);
  for (i = 0; i < cfg->n_dg_clients; i++)
    client_release(&cfg->dg_clients[i]);
  free(cfg->dg_clients);
  free_strs(cfg->dg_users, cfg->n_dg_users);
  sbx_map_release(&cfg->dg_user_set, NULL);
  free(cfg->sf_company_id);
  for (i = 0; i < cfg->n_sf_clients; i++)
    client_release(&cfg->sf_clients[i]);
  free(cfg->sf_clients);
  free_strs(cfg->sf_admins, cfg->n_sf_admins);
  for (i = 0; i < cfg->n_sf_users; i++)
    free(cfg->sf_users[i].id);
  free(cfg->sf_users);
  sbx_map_release(&cfg->sf_user_map, NULL);
  for (i = 0; i < cfg->n_xapi_users; i++)
    client_release(&cfg->xapi_users[i]);
  free(cfg->xapi_users);
  for (i = 0; i < cfg->n_xapi_clients; i++)
    client_release(&cfg->xapi_clients[i]);
  free(cfg->xapi_clients);
  memset(cfg, 0, sizeof(*cfg));
}

static void strs_to_json(char **arr, size_t n, struct sbx_buf *b)
{
  size_t i;

  sbx_buf_putc(b, '[');
  for (i = 0; i < n; i++) {
    if (i)
      sbx_buf_putc(b, ',');
    sbx_buf_json_str(b, arr[i]);
  }
  sbx_buf_putc(b, ']');
}

void sbx_tenant_config_to_json(const struct sbx_tenant_config *cfg, struct sbx_buf *b)
{
  size_t i;

  sbx_buf_puts(b, "{\"name\":");
  sbx_buf_json_str(b, cfg->name);
  sbx_buf_puts(b, ",\"degreed\":{\"clients\":[");
  for (i = 0; i < cfg->n_dg_clients; i++) {
    sbx_buf_puts(b, i ? ",{\"client_id\":" : "{\"client_id\":");
    sbx_buf_json_str(b, cfg->dg_clients[i].id);
    sbx_buf_puts(b, ",\"client_secret\":\"<redacted>\",\"scopes\":");
    strs_to_json(cfg->dg_clients[i].scopes, cfg->dg_clients[i].n_scopes, b);
    sbx_buf_putc(b, '}');
  }
  sbx_buf_printf(b, "],\"token_expires_in\":%ld,\"rate_limit_per_minute\":%ld,", cfg->dg_expires_in,
                 cfg->dg_rate_limit);
  sbx_buf_puts(b, "\"users\":");
  if (cfg->dg_has_users)
    strs_to_json(cfg->dg_users, cfg->n_dg_users, b);
  else
    sbx_buf_puts(b, "null");
  sbx_buf_printf(b, ",\"require_known_content\":%s,\"unique_urls\":%s},",
                 cfg->dg_require_known_content ? "true" : "false",
                 cfg->dg_unique_urls ? "true" : "false");
  sbx_buf_puts(b, "\"sf\":{\"company_id\":");
  sbx_buf_json_str(b, cfg->sf_company_id);
  sbx_buf_puts(b, ",\"clients\":[");
  for (i = 0; i < cfg->n_sf_clients; i++) {
    sbx_buf_puts(b, i ? ",{\"client_id\":" : "{\"client_id\":");
    sbx_buf_json_str(b, cfg->sf_clients[i].id);
    sbx_buf_puts(b, ",\"client_secret\":\"<redacted>\"}");
  }
  sbx_buf_puts(b, "],\"admin_users\":");
  strs_to_json(cfg->sf_admins, cfg->n_sf_admins, b);
  sbx_buf_puts(b, ",\"users\":");
  if (cfg->sf_has_users) {
    sbx_buf_putc(b, '[');
    for (i = 0; i < cfg->n_sf_users; i++) {
      sbx_buf_puts(b, i ? ",{\"userID\":" : "{\"userID\":");
      sbx_buf_json_str(b, cfg->sf_users[i].id);
      sbx_buf_printf(b, ",\"active\":%s}", cfg->sf_users[i].active ? "true" : "false");
    }
    sbx_buf_putc(b, ']');
  } else {
    sbx_buf_puts(b, "null");
  }
  sbx_buf_printf(b,
                 ",\"token_expires_in\":%ld,\"min_post_interval_s\":%ld,"
                 "\"require_known_course\":%s},",
                 cfg->sf_expires_in, cfg->sf_min_post_interval_s,
                 cfg->sf_require_known_course ? "true" : "false");
  sbx_buf_puts(b, "\"xapi\":{\"credentials\":[");
  for (i = 0; i < cfg->n_xapi_users; i++) {
    sbx_buf_puts(b, i ? ",{\"username\":" : "{\"username\":");
    sbx_buf_json_str(b, cfg->xapi_users[i].id);
    sbx_buf_puts(b, ",\"password\":\"<redacted>\"}");
  }
  sbx_buf_puts(b, "],\"clients\":[");
  for (i = 0; i < cfg->n_xapi_clients; i++) {
    sbx_buf_puts(b, i ? ",{\"client_id\":" : "{\"client_id\":");
    sbx_buf_json_str(b, cfg->xapi_clients[i].id);
    sbx_buf_puts(b, ",\"client_secret\":\"<redacted>\",\"scopes\":");
    strs_to_json(cfg->xapi_clients[i].scopes, cfg->xapi_clients[i].n_scopes, b);
    sbx_buf_putc(b, '}');
  }
  sbx_buf_printf(b, "],\"token_expires_in\":%ld}}", cfg->xapi_expires_in);
}

/* ---- state ---------------------------------------------------------- */

static void store_init(struct sbx_content_store *s, const char *type, const char *collection)
{
  memset(s, 0, sizeof(*s));
  s->type = type;
  s->collection = collection;
  sbx_map_init(&s->by_id);
  sbx_map_init(&s->by_ext);
  sbx_map_init(&s->by_url);
  sbx_buf_init(&s->deleted);
}

static void content_free(struct sbx_content *c)
{
  if (!c)
    return;
  if (c->attrs)
    json_object_put(c->attrs);
  if (c->skills)
    json_object_put(c->skills);
  free(c->external_id);
  free(c->url);
  free(c);
}

static void store_release(struct sbx_content_store *s)
{
  struct sbx_content *c = s->head;

  while (c) {
    struct sbx_content *next = c->next;

    content_free(c);
    c = next;
  }
  sbx_map_release(&s->by_id, NULL);
  sbx_map_release(&s->by_ext, NULL);
  sbx_map_release(&s->by_url, NULL);
  sbx_buf_release(&s->deleted);
  store_init(s, s->type, s->collection);
}

static void records_init(struct sbx_records *r)
{
  memset(r, 0, sizeof(*r));
  sbx_map_init(&r->by_key);
}

static void records_release(struct sbx_records *r)
{
  size_t i;

  for (i = 0; i < r->n; i++) {
    free(r->items[i]->key);
    free(r->items[i]->json);
    free(r->items[i]);
  }
  free(r->items);
  sbx_map_release(&r->by_key, NULL);
  records_init(r);
}

static void state_init(struct sbx_tenant *t)
{
  store_init(&t->courses, "content/courses", "courses");
  store_init(&t->assessments, "content/assessments", "assessments");
  records_init(&t->completions);
  records_init(&t->skill_ratings);
  records_init(&t->ocn_courses);
  records_init(&t->ocn_events);
  t->xapi = sbx_xapi_store_new();
  sbx_map_init(&t->rate_windows);
  t->dg_tokens_issued = t->sf_tokens_issued = 0;
  t->dg_rate_limited = 0;
  t->ocn_posts = t->ocn_posts_accepted = t->ocn_posts_throttled = 0;
  t->ocn_posted = false;
  t->ocn_last_post_mono_ms = 0;
}

static void state_release(struct sbx_tenant *t)
{
  store_release(&t->courses);
  store_release(&t->assessments);
  records_release(&t->completions);
  records_release(&t->skill_ratings);
  records_release(&t->ocn_courses);
  records_release(&t->ocn_events);
  sbx_xapi_store_destroy(t->xapi);
  t->xapi = NULL;
  sbx_map_release(&t->rate_windows, free);
}

struct sbx_tenant *sbx_tenant_new(struct sbx_tenant_config *cfg)
{
  struct sbx_tenant *t = sbx_xcalloc(1, sizeof(*t));

  t->cfg = *cfg;
  memset(cfg, 0, sizeof(*cfg));
  if (t->cfg.has_faults)
    t->faults = t->cfg.faults;
  state_init(t);
  t->created_wall_ms = sbx_wall_ms();
  return t;
}

void sbx_tenant_destroy(struct sbx_tenant *t)
{
  if (!t)
    return;
  state_release(t);
  sbx_tenant_config_release(&t->cfg);
  free(t);
}

void sbx_tenant_reconfigure(struct sbx_tenant *t, struct sbx_tenant_config *cfg)
{
  sbx_tenant_config_release(&t->cfg);
  t->cfg = *cfg;
  memset(cfg, 0, sizeof(*cfg));
  if (t->cfg.has_faults)
    t->faults = t->cfg.faults;
  /* Rate windows keep counting; a new limit applies from the next call. */
}

void sbx_tenant_reset(struct sbx_tenant *t)
{
  state_release(t);
  state_init(t);
}

struct sbx_content *sbx_content_find(struct sbx_content_store *s, const char *id)
{
  return sbx_map_get(&s->by_id, id);
}

void sbx_tenant_new_content_id(struct sbx_tenant *t, char *out)
{
  for (;;) {
    bool upper = false, lower = false;
    size_t i;

    sbx_random_alnum(out, 7);
    for (i = 0; out[i]; i++) {
      upper |= isupper((unsigned char)out[i]) != 0;
      lower |= islower((unsigned char)out[i]) != 0;
    }
    if (upper && lower && !sbx_map_get(&t->courses.by_id, out) &&
        !sbx_map_get(&t->assessments.by_id, out))
      return;
  }
}

static const char *attr_string(json_object *attrs, const char *key)
{
  json_object *v = NULL;

  if (json_object_object_get_ex(attrs, key, &v) && v && json_object_is_type(v, json_type_string))
    return json_object_get_string(v);
  return NULL;
}

static void index_add(struct sbx_content_store *s, struct sbx_content *c)
{
  const char *ext = attr_string(c->attrs, "external-id");
  const char *url = attr_string(c->attrs, "url");

  free(c->external_id);
  free(c->url);
  c->external_id = ext ? sbx_xstrdup(ext) : NULL;
  c->url = url ? sbx_xstrdup(url) : NULL;
  if (c->external_id)
    sbx_map_put(&s->by_ext, c->external_id, c);
  if (c->url)
    sbx_map_put(&s->by_url, c->url, c);
}

static void index_remove(struct sbx_content_store *s, struct sbx_content *c)
{
  if (c->external_id && sbx_map_get(&s->by_ext, c->external_id) == c)
    sbx_map_remove(&s->by_ext, c->external_id);
  if (c->url && sbx_map_get(&s->by_url, c->url) == c)
    sbx_map_remove(&s->by_url, c->url);
}

void sbx_content_insert(struct sbx_content_store *s, struct sbx_content *c)
{
  c->prev = s->tail;
  c->next = NULL;
  if (s->tail)
    s->tail->next = c;
  else
    s->head = c;
  s->tail = c;
  s->count++;
  sbx_map_put(&s->by_id, c->id, c);
  index_add(s, c);
}

void sbx_content_remove(struct sbx_content_store *s, struct sbx_content *c)
{
  char when[40];

  sbx_iso8601(sbx_wall_ms(), 3, when, sizeof(when));
  if (s->deleted.len)
    sbx_buf_putc(&s->deleted, ',');
  sbx_buf_puts(&s->deleted, "{\"id\":");
  sbx_buf_json_str(&s->deleted, c->id);
  sbx_buf_puts(&s->deleted, ",\"external-id\":");
  sbx_buf_json_str(&s->deleted, c->external_id);
  sbx_buf_printf(&s->deleted, ",\"deleted_at\":\"%s\"}", when);
  s->n_deleted++;

  index_remove(s, c);
  sbx_map_remove(&s->by_id, c->id);
  if (c->prev)
    c->prev->next = c->next;
  else
    s->head = c->next;
  if (c->next)
    c->next->prev = c->prev;
  else
    s->tail = c->prev;
  s->count--;
  content_free(c);
}

void sbx_content_reindex(struct sbx_content_store *s, struct sbx_content *c)
{
  index_remove(s, c);
  index_add(s, c);
}

void sbx_content_to_json(const struct sbx_content_store *s, const struct sbx_content *c,
                         const char *self_base, struct sbx_buf *b)
{
  char created[40], modified[40];
  bool has_created = false, has_modified = false, first = true;

  sbx_iso8601(c->created_wall_ms, 3, created, sizeof(created));
  sbx_iso8601(c->modified_wall_ms, 3, modified, sizeof(modified));
  sbx_buf_puts(b, "{\"type\":");
  sbx_buf_json_str(b, s->type);
  sbx_buf_puts(b, ",\"id\":");
  sbx_buf_json_str(b, c->id);
  sbx_buf_puts(b, ",\"attributes\":{");
  json_object_object_foreach(c->attrs, key, val)
  {
    if (!first)
      sbx_buf_putc(b, ',');
    first = false;
    sbx_buf_json_str(b, key);
    sbx_buf_putc(b, ':');
    sbx_buf_puts(b, val ? json_object_to_json_string_ext(val, JSON_FLAGS) : "null");
    has_created |= strcmp(key, "created-at") == 0;
    has_modified |= strcmp(key, "modified-at") == 0;
  }
  if (!has_created)
    sbx_buf_printf(b, "%s\"created-at\":\"%s\"", first ? "" : ",", created);
  first = first && has_created;
  if (!has_modified)
    sbx_buf_printf(b, "%s\"modified-at\":\"%s\"", first ? "" : ",", modified);
  sbx_buf_putc(b, '}');
  if (self_base) {
    sbx_buf_puts(b, ",\"links\":{\"self\":");
    sbx_buf_putc(b, '"');
    sbx_buf_puts(b, self_base);
    sbx_buf_putc(b, '/');
    sbx_buf_puts(b, c->id);
    sbx_buf_puts(b, "\"}");
  }
  sbx_buf_putc(b, '}');
}

struct sbx_record *sbx_records_find(struct sbx_records *r, const char *key)
{
  return sbx_map_get(&r->by_key, key);
}

struct sbx_record *sbx_records_add(struct sbx_records *r, const char *key, char *json,
                                   int64_t now_wall_ms)
{
  struct sbx_record *rec = sbx_xcalloc(1, sizeof(*rec));

  sbx_random_alnum(rec->id, 8);
  rec->json = json;
  rec->first_wall_ms = rec->last_wall_ms = now_wall_ms;
  rec->count = 1;
  if (key) {
    rec->key = sbx_xstrdup(key);
    sbx_map_put(&r->by_key, key, rec);
  }
  if (r->n == r->cap) {
    r->cap = r->cap ? r->cap * 2 : 64;
    r->items = sbx_xrealloc(r->items, r->cap * sizeof(*r->items));
  }
  r->items[r->n++] = rec;
  return rec;
}

bool sbx_tenant_dg_user_known(const struct sbx_tenant *t, const char *user)
{
  char *lower;
  bool known;

  if (!t->cfg.dg_has_users)
    return true;
  lower = sbx_lower_dup(user);
  known = sbx_map_get(&t->cfg.dg_user_set, lower) != NULL;
  free(lower);
  return known;
}

const struct sbx_sf_user *sbx_tenant_sf_user(const struct sbx_tenant *t, const char *id)
{
  return sbx_map_get(&t->cfg.sf_user_map, id);
}

static void store_to_json(struct sbx_content_store *s, struct sbx_buf *b)
{
  char created[40], modified[40];
  struct sbx_content *c;

  sbx_buf_putc(b, '[');
  for (c = s->head; c; c = c->next) {
    sbx_iso8601(c->created_wall_ms, 3, created, sizeof(created));
    sbx_iso8601(c->modified_wall_ms, 3, modified, sizeof(modified));
    if (c != s->head)
      sbx_buf_putc(b, ',');
    sbx_buf_puts(b, "{\"id\":");
    sbx_buf_json_str(b, c->id);
    sbx_buf_puts(b, ",\"attributes\":");
    sbx_buf_puts(b, json_object_to_json_string_ext(c->attrs, JSON_FLAGS));
    sbx_buf_puts(b, ",\"skills\":");
    sbx_buf_puts(b, c->skills ? json_object_to_json_string_ext(c->skills, JSON_FLAGS) : "null");
    sbx_buf_printf(b, ",\"created_at\":\"%s\",\"modified_at\":\"%s\",\"patches\":%u}", created,
                   modified, c->patches);
  }
  sbx_buf_putc(b, ']');
}

static void records_to_json(struct sbx_records *r, const char *body_key, bool ocn_course,
                            struct sbx_buf *b)
{
  char first[40], last[40];
  size_t i;

  sbx_buf_putc(b, '[');
  for (i = 0; i < r->n; i++) {
    struct sbx_record *rec = r->items[i];

    sbx_iso8601(rec->first_wall_ms, 3, first, sizeof(first));
    sbx_iso8601(rec->last_wall_ms, 3, last, sizeof(last));
    if (i)
      sbx_buf_putc(b, ',');
    if (ocn_course) {
      const char *sep = rec->key ? strchr(rec->key, '\x1f') : NULL;

      sbx_buf_puts(b, "{\"providerID\":");
      if (sep)
        sbx_buf_json_strn(b, rec->key, (size_t)(sep - rec->key));
      else
        sbx_buf_puts(b, "null");
      sbx_buf_puts(b, ",\"courseID\":");
      sbx_buf_json_str(b, sep ? sep + 1 : NULL);
      sbx_buf_puts(b, ",\"status\":");
      sbx_buf_json_str(b, rec->status);
      sbx_buf_printf(b,
                     ",\"revisions\":%u,\"first_posted_at\":\"%s\","
                     "\"last_posted_at\":\"%s\",",
                     rec->count, first, last);
    } else {
      sbx_buf_puts(b, "{\"id\":");
      sbx_buf_json_str(b, rec->id);
      sbx_buf_printf(b,
                     ",\"received_at\":\"%s\",\"last_received_at\":\"%s\","
                     "\"repeats\":%u,",
                     first, last, rec->count - 1);
    }
    sbx_buf_json_str(b, body_key);
    sbx_buf_putc(b, ':');
    sbx_buf_puts(b, rec->json);
    sbx_buf_putc(b, '}');
  }
  sbx_buf_putc(b, ']');
}

void sbx_tenant_state_to_json(struct sbx_tenant *t, struct sbx_buf *b)
{
  sbx_buf_puts(b, "{\"name\":");
  sbx_buf_json_str(b, t->cfg.name);
  sbx_buf_puts(b, ",\"degreed\":{\"courses\":");
  store_to_json(&t->courses, b);
  sbx_buf_puts(b, ",\"assessments\":");
  store_to_json(&t->assessments, b);
  sbx_buf_puts(b, ",\"deleted_courses\":[");
  sbx_buf_append(b, t->courses.deleted.data ? t->courses.deleted.data : "", t->courses.deleted.len);
  sbx_buf_puts(b, "],\"deleted_assessments\":[");
  sbx_buf_append(b, t->assessments.deleted.data ? t->assessments.deleted.data : "",
                 t->assessments.deleted.len);
  sbx_buf_puts(b, "],\"completions\":");
  records_to_json(&t->completions, "attributes", false, b);
  sbx_buf_puts(b, ",\"skill_ratings\":");
  records_to_json(&t->skill_ratings, "attributes", false, b);
  sbx_buf_printf(b, ",\"tokens_issued\":%llu,\"rate_limited_requests\":%llu},",
                 (unsigned long long)t->dg_tokens_issued, (unsigned long long)t->dg_rate_limited);
  sbx_buf_puts(b, "\"sf\":{\"ocn_courses\":");
  records_to_json(&t->ocn_courses, "course", true, b);
  sbx_buf_printf(b,
                 ",\"ocn_course_posts\":%llu,\"ocn_course_posts_accepted\":%llu,"
                 "\"ocn_course_posts_throttled\":%llu,\"learning_events\":",
                 (unsigned long long)t->ocn_posts, (unsigned long long)t->ocn_posts_accepted,
                 (unsigned long long)t->ocn_posts_throttled);
  records_to_json(&t->ocn_events, "event", false, b);
  sbx_buf_printf(b, ",\"tokens_issued\":%llu},\"xapi\":", (unsigned long long)t->sf_tokens_issued);
  sbx_xapi_state_to_json(t->xapi, b);
  sbx_buf_printf(b, ",\"tokens_issued\":%llu}",
                 (unsigned long long)(t->dg_tokens_issued + t->sf_tokens_issued +
                                      sbx_xapi_tokens_issued(t->xapi)));
}
