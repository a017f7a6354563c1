#include "lb_state.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include "lb_json.h"
#include "lb_strbuf.h"
#include "lb_time.h"

/* The namespace of the fingerprints' name-based UUIDs (any fixed UUID;
 * changing it changes every fingerprint, so every item would be sent
 * again once). */
#define FINGERPRINT_NAMESPACE "9b4c51f2-7d0e-4e5a-a8c3-1f62d7e0b935"

void lb_state_record_init(lb_state_record *r)
{
  *r = (lb_state_record){ 0 };
}

void lb_state_record_release(lb_state_record *r)
{
  if (!r)
    return;
  free(r->lms_id);
  *r = (lb_state_record){ 0 };
}

/* A lowercase UUID in its 36-character text form. */
static bool valid_fingerprint(const char *s)
{
  uuid_t u;
  if (strlen(s) != LB_STATE_FINGERPRINT_SIZE - 1 || uuid_parse(s, u) != 0)
    return false;
  for (; *s; s++)
    if (*s >= 'A' && *s <= 'F')
      return false;
  return true;
}

char *lb_state_record_encode(const lb_state_record *r)
{
  char at[32];
  if (!valid_fingerprint(r->fingerprint) ||
      (r->lms_id && (!*r->lms_id || strlen(r->lms_id) > LB_STATE_LMS_ID_MAX)))
    return NULL;
  json_object *o = json_object_new_object();
  if (!o)
    return NULL;
  json_object_object_add(o, "v", json_object_new_int(LB_STATE_FORMAT));
  json_object_object_add(o, "version", json_object_new_int64((int64_t)r->version));
  json_object_object_add(o, "fingerprint", json_object_new_string(r->fingerprint));
  json_object_object_add(o, "lms_id", lb_json_string_or_null(r->lms_id));
  json_object_object_add(
      o, "delivered_at",
      json_object_new_string(lb_time_format_rfc3339(r->delivered_at_ms, at, sizeof(at))));
  json_object_object_add(o, "archived", json_object_new_boolean(r->archived));
  const char *text = lb_json_text(o);
  char *ret = text ? strdup(text) : NULL;
  json_object_put(o);
  return ret;
}

/* Member `name` of o when it has the type t; NULL (why in err) when it is
 * absent or of another type. */
static json_object *member(json_object *o, const char *name, json_type t, char *err, size_t errlen)
{
  json_object *v = NULL;
  if (!json_object_object_get_ex(o, name, &v)) {
    snprintf(err, errlen, "\"%s\" is missing", name);
    return NULL;
  }
  if (!json_object_is_type(v, t)) {
    snprintf(err, errlen, "\"%s\" must be %s", name,
             t == json_type_int      ? "an integer"
             : t == json_type_string ? "a string"
                                     : "a boolean");
    return NULL;
  }
  return v;
}

lb_err lb_state_record_decode(lb_state_record *ret, const void *value, size_t len, char *err,
                              size_t errlen)
{
  char why[160];
  json_object *root = NULL, *v;
  lb_state_record r;
  lb_err rc = LB_E_PARSE;

  lb_state_record_init(&r);
  if (!value || len == 0) {
    snprintf(err, errlen, "empty value (a forgotten item is a null value, not decoded)");
    return LB_E_PARSE;
  }
  if (lb_json_parse(value, len, &root, why, sizeof(why)) != LB_E_OK) {
    snprintf(err, errlen, "not JSON: %s", why);
    return LB_E_PARSE;
  }
  if (!json_object_is_type(root, json_type_object)) {
    snprintf(err, errlen, "not a JSON object");
    goto out;
  }
  if (!(v = member(root, "v", json_type_int, err, errlen)))
    goto out;
  if (json_object_get_int64(v) != LB_STATE_FORMAT) {
    snprintf(err, errlen, "format \"v\" %lld is not %d (written by another lmsbridge?)",
             (long long)json_object_get_int64(v), LB_STATE_FORMAT);
    goto out;
  }
  if (!(v = member(root, "version", json_type_int, err, errlen)))
    goto out;
  if (json_object_get_int64(v) < 0) {
    snprintf(err, errlen, "\"version\" must be >= 0");
    goto out;
  }
  r.version = (uint64_t)json_object_get_int64(v);
  if (!(v = member(root, "fingerprint", json_type_string, err, errlen)))
    goto out;
  if (!valid_fingerprint(json_object_get_string(v))) {
    snprintf(err, errlen, "\"fingerprint\" must be a lowercase UUID");
    goto out;
  }
  memcpy(r.fingerprint, json_object_get_string(v), LB_STATE_FINGERPRINT_SIZE);
  if (!json_object_object_get_ex(root, "lms_id", &v)) {
    snprintf(err, errlen, "\"lms_id\" is missing (null when none)");
    goto out;
  }
  if (v) {
    if (!json_object_is_type(v, json_type_string)) {
      snprintf(err, errlen, "\"lms_id\" must be a string or null");
      goto out;
    }
    size_t n = (size_t)json_object_get_string_len(v);
    if (n == 0 || n > LB_STATE_LMS_ID_MAX || memchr(json_object_get_string(v), '\0', n)) {
      snprintf(err, errlen, "\"lms_id\" must be 1 to %d bytes", LB_STATE_LMS_ID_MAX);
      goto out;
    }
    if (!(r.lms_id = strdup(json_object_get_string(v)))) {
      rc = LB_E_NOMEM;
      snprintf(err, errlen, "out of memory");
      goto out;
    }
  }
  if (!(v = member(root, "delivered_at", json_type_string, err, errlen)))
    goto out;
  if (lb_time_parse_rfc3339(json_object_get_string(v), &r.delivered_at_ms) != LB_E_OK) {
    snprintf(err, errlen, "\"delivered_at\" must be an RFC 3339 time");
    goto out;
  }
  if (json_object_object_get_ex(root, "archived", NULL)) {
    if (!(v = member(root, "archived", json_type_boolean, err, errlen)))
      goto out;
    r.archived = json_object_get_boolean(v);
  }
  rc = LB_E_OK;
out:
  json_object_put(root);
  if (rc == LB_E_OK)
    *ret = r;
  else
    lb_state_record_release(&r);
  return rc;
}

char *lb_state_key(const char *integration, const char *item)
{
  lb_strbuf b;
  lb_strbuf_init(&b, 0);
  lb_strbuf_appendf(&b, "%s/%s", integration, item);
  if (b.overflow) {
    lb_strbuf_release(&b);
    return NULL;
  }
  return lb_strbuf_detach(&b);
}

bool lb_state_key_split(const void *key, size_t len, char integ[LB_STATE_INTEGRATION_MAX + 1],
                        char item[LB_STATE_ITEM_MAX + 1])
{
  const char *k = key;
  const char *slash = k ? memchr(k, '/', len) : NULL;
  if (!slash || memchr(k, '\0', len))
    return false;
  size_t ni = (size_t)(slash - k), nt = len - ni - 1;
  if (ni == 0 || ni > LB_STATE_INTEGRATION_MAX || nt == 0 || nt > LB_STATE_ITEM_MAX)
    return false;
  memcpy(integ, k, ni);
  integ[ni] = '\0';
  memcpy(item, slash + 1, nt);
  item[nt] = '\0';
  return true;
}

lb_err lb_state_fingerprint(const lb_request_list *reqs, char ret[LB_STATE_FINGERPRINT_SIZE])
{
  uuid_t ns, id;
  lb_strbuf name;
  lb_err rc = LB_E_INVALID;

  lb_strbuf_init(&name, 0);
  if (!reqs || reqs->n == 0 || uuid_parse(FINGERPRINT_NAMESPACE, ns) != 0)
    goto out;
  /* every field framed by its length: no two lists make the same name */
  for (size_t i = 0; i < reqs->n; i++) {
    const lb_request *r = &reqs->items[i];
    const char *url = r->url ? r->url : "";
    lb_strbuf_appendf(&name, "%s %zu:%s\n", lb_method_name(r->method), strlen(url), url);
    for (size_t h = 0; h < r->nheaders; h++)
      lb_strbuf_appendf(&name, "h%zu:%s\n", strlen(r->headers[h]), r->headers[h]);
    if (r->body)
      lb_strbuf_appendf(&name, "b%zu:%s\n", strlen(r->body), r->body);
    else
      lb_strbuf_append(&name, "-\n");
  }
  rc = LB_E_NOMEM;
  if (name.overflow)
    goto out;
  uuid_generate_sha1(id, ns, name.buf, name.len);
  uuid_unparse_lower(id, ret);
  rc = LB_E_OK;
out:
  lb_strbuf_release(&name);
  return rc;
}
