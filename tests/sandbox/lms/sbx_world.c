#include "sbx_world.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sbx_world *sbx_world_new(const struct sbx_limits *limits)
{
  struct sbx_world *w = sbx_xcalloc(1, sizeof(*w));

  pthread_mutex_init(&w->lock, NULL);
  sbx_map_init(&w->tenants);
  w->limits = *limits;
  sbx_tokens_init(&w->tokens, limits->max_tokens);
  w->log = sbx_reqlog_new(limits->log_max_entries, limits->log_max_bytes);
  return w;
}

void sbx_world_destroy(struct sbx_world *w)
{
  size_t i;

  if (!w)
    return;
  sbx_tokens_release(&w->tokens);
  for (i = 0; i < w->n_tenants; i++)
    sbx_tenant_destroy(w->list[i]);
  free(w->list);
  sbx_map_release(&w->tenants, NULL);
  sbx_reqlog_destroy(w->log);
  pthread_mutex_destroy(&w->lock);
  free(w);
}

struct sbx_tenant *sbx_world_tenant(struct sbx_world *w, const char *name)
{
  return sbx_map_get(&w->tenants, name);
}

bool sbx_world_apply_config(struct sbx_world *w, json_object *o, const char *where,
                            struct sbx_buf *created, struct sbx_buf *updated, char *err,
                            size_t errlen)
{
  struct sbx_tenant_config *cfgs = NULL;
  json_object *arr = NULL;
  size_t n = 0, i, j;
  int64_t now = sbx_wall_ms();
  bool ok = false;

  if (!json_object_is_type(o, json_type_object)) {
    snprintf(err, errlen, "%s: must be a JSON object", where);
    return false;
  }
  if (json_object_object_get_ex(o, "tenants", &arr)) {
    json_object_object_foreach(o, key, val)
    {
      (void)val;
      if (strcmp(key, "tenants") != 0 && key[0] != '_') {
        snprintf(err, errlen, "%s: unknown key '%s'", where, key);
        return false;
      }
    }
    if (!json_object_is_type(arr, json_type_array)) {
      snprintf(err, errlen, "%s.tenants: must be an array", where);
      return false;
    }
    n = json_object_array_length(arr);
    cfgs = sbx_xcalloc(n, sizeof(*cfgs));
    for (i = 0; i < n; i++) {
      char w2[96];

      snprintf(w2, sizeof(w2), "%s.tenants[%zu]", where, i);
      if (!sbx_tenant_config_parse(json_object_array_get_idx(arr, i), w2, now, &cfgs[i], err,
                                   errlen))
        goto out;
      for (j = 0; j < i; j++) {
        if (strcmp(cfgs[j].name, cfgs[i].name) == 0) {
          snprintf(err, errlen, "%s.name: tenant '%s' given twice", w2, cfgs[i].name);
          goto out;
        }
      }
    }
  } else {
    n = 1;
    cfgs = sbx_xcalloc(1, sizeof(*cfgs));
    if (!sbx_tenant_config_parse(o, where, now, &cfgs[0], err, errlen))
      goto out;
  }

  pthread_mutex_lock(&w->lock);
  for (i = 0; i < n; i++) {
    struct sbx_tenant *t = sbx_world_tenant(w, cfgs[i].name);
    struct sbx_buf *names = t ? updated : created;

    if (names) {
      if (names->len)
        sbx_buf_putc(names, ',');
      sbx_buf_json_str(names, cfgs[i].name);
    }
    if (t) {
      sbx_tenant_reconfigure(t, &cfgs[i]);
      continue;
    }
    t = sbx_tenant_new(&cfgs[i]);
    sbx_map_put(&w->tenants, t->cfg.name, t);
    w->list = sbx_xrealloc(w->list, (w->n_tenants + 1) * sizeof(*w->list));
    w->list[w->n_tenants++] = t;
  }
  pthread_mutex_unlock(&w->lock);
  ok = true;
out:
  for (i = 0; i < n; i++)
    sbx_tenant_config_release(&cfgs[i]);
  free(cfgs);
  return ok;
}

#define MAX_CONFIG_BYTES (64u << 20)

bool sbx_world_load_file(struct sbx_world *w, const char *path, char *err, size_t errlen)
{
  FILE *f = fopen(path, "rb");
  struct sbx_buf b;
  char chunk[65536];
  size_t got;
  json_object *o = NULL;
  struct json_tokener *tok = NULL;
  bool ok = false;

  sbx_buf_init(&b);
  if (!f) {
    snprintf(err, errlen, "cannot open config '%s': %s", path, strerror(errno));
    return false;
  }
  while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
    sbx_buf_append(&b, chunk, got);
    if (b.len > MAX_CONFIG_BYTES) {
      snprintf(err, errlen, "config '%s': larger than %u bytes", path, MAX_CONFIG_BYTES);
      goto out;
    }
  }
  if (ferror(f)) {
    snprintf(err, errlen, "cannot read config '%s': %s", path, strerror(errno));
    goto out;
  }
  /* Not strict: the config file may carry comments. */
  tok = json_tokener_new();
  o = json_tokener_parse_ex(tok, b.data ? b.data : "", (int)b.len);
  if (json_tokener_get_error(tok) != json_tokener_success || !o) {
    snprintf(err, errlen, "config '%s': malformed JSON: %s at offset %zu", path,
             json_tokener_error_desc(json_tokener_get_error(tok)), json_tokener_get_parse_end(tok));
    goto out;
  }
  ok = sbx_world_apply_config(w, o, path, NULL, NULL, err, errlen);
out:
  if (o)
    json_object_put(o);
  if (tok)
    json_tokener_free(tok);
  sbx_buf_release(&b);
  fclose(f);
  return ok;
}

bool sbx_world_remove_tenant(struct sbx_world *w, const char *name)
{
  struct sbx_tenant *t = sbx_map_remove(&w->tenants, name);
  size_t i;

  if (!t)
    return false;
  for (i = 0; i < w->n_tenants; i++) {
    if (w->list[i] == t) {
      memmove(&w->list[i], &w->list[i + 1], (w->n_tenants - i - 1) * sizeof(*w->list));
      w->n_tenants--;
      break;
    }
  }
  sbx_tokens_drop(&w->tokens, t);
  sbx_tenant_destroy(t);
  return true;
}
