/* lb_test_json: whether an lb_json_doc value holds what json-c made of the
 * same text, for the unit test and the fuzz target of lb_json alike. */
#ifndef LB_TEST_JSON_H
#define LB_TEST_JSON_H

#include <json-c/json.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "lb_json.h"

/* json-c holds an integer past 64 bits as the nearest bound (INT64_MIN,
 * INT64_MAX or UINT64_MAX); the document holds the nearest double. */
static inline bool lb_test_json_clamped(json_object *o, double d)
{
  if (!json_object_is_type(o, json_type_int) || fabs(d) < 9223372036854775808.0)
    return false;
  return d < 0 ? json_object_get_int64(o) == INT64_MIN
               : json_object_get_uint64(o) == UINT64_MAX || json_object_get_int64(o) == INT64_MAX;
}

/* Types, strings to the byte (and NUL-terminated), numbers exactly, members
 * by name (json-c keeps a repeated name's last value, as lb_json_get finds
 * it) and counted, arrays in order. */
static inline bool lb_test_json_same(json_object *o, const lb_json_value *v)
{
  switch (o ? json_object_get_type(o) : json_type_null) {
  case json_type_null:
    return v->type == LB_JSON_NULL;
  case json_type_boolean:
    return v->type == LB_JSON_BOOL && v->boolean == json_object_get_boolean(o);
  case json_type_int:
  case json_type_double:
    return v->type == LB_JSON_NUMBER &&
           (v->number == json_object_get_double(o) || lb_test_json_clamped(o, v->number));
  case json_type_string:
    return v->type == LB_JSON_STRING && v->len == (size_t)json_object_get_string_len(o) &&
           memcmp(v->string, json_object_get_string(o), v->len) == 0 && v->string[v->len] == '\0';
  case json_type_array: {
    const lb_json_value *m = v->first;
    if (v->type != LB_JSON_ARRAY || v->len != json_object_array_length(o))
      return false;
    for (size_t i = 0; i < v->len; i++, m = m->next)
      if (!m || m->name || !lb_test_json_same(json_object_array_get_idx(o, i), m))
        return false;
    return m == NULL;
  }
  case json_type_object: {
    size_t distinct = 0, n = 0;
    if (v->type != LB_JSON_OBJECT)
      return false;
    for (const lb_json_value *m = v->first; m; m = m->next, n++)
      distinct += lb_json_get(v, m->name) == m;
    if (n != v->len || distinct != (size_t)json_object_object_length(o))
      return false;
    json_object_object_foreach(o, key, val)
    {
      const lb_json_value *m = lb_json_get(v, key);
      if (!m || !lb_test_json_same(val, m))
        return false;
    }
    return true;
  }
  }
  return false;
}

#endif
