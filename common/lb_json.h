/* lb_json: strict JSON in and compact JSON out, over json-c. */
#ifndef LB_JSON_H
#define LB_JSON_H

#include <json-c/json.h>
#include <stddef.h>

#include "lb_error.h"

#define LB_JSON_MAX_DEPTH 64
#define LB_JSON_MAX_BYTES (1024 * 1024)

/* Parses exactly one JSON value (surrounding whitespace allowed) that is
 * valid UTF-8, at most LB_JSON_MAX_BYTES long and nested at most
 * LB_JSON_MAX_DEPTH deep. *ret is new (json_object_put() it). On failure
 * returns LB_E_PARSE or LB_E_TOO_BIG with why in err, *ret untouched. */
lb_err lb_json_parse(const char *buf, size_t len, json_object **ret, char *err, size_t errlen);

/* Where the JSON value that starts at the first non-whitespace byte of buf
 * ends: the offset just past it when its syntax is valid, else the offset
 * where it stopped being valid (len when the text is cut short). Syntax and
 * depth only (no UTF-8 check, no tree, no size limit), so that a reader can
 * tell one document spread over several lines from JSON lines. */
size_t lb_json_value_end(const char *buf, size_t len);

/* Compact text without escaped slashes; owned by `obj`, valid until it
 * changes or is freed. */
const char *lb_json_text(json_object *obj);

/* A number printed the short way ("%.15g": 1.5, 2, 0.1), not json-c's
 * 17 significant digits: the text of lb_json_format_number(). New
 * reference; NULL (JSON null) for NaN and infinities. */
json_object *lb_json_number(double d);

/* Room lb_json_format_number() needs: "-1.7976931348623157e+308" and NUL. */
#define LB_JSON_NUMBER_MAX 32

/* d as JSON text: an integral d below 2^53 in magnitude as its digits
 * ("2", "-0" as "0"), else "%.15g" ("2.5", "1e-07"), or "%.17g" where 15
 * digits round past DBL_MAX. Writes the text and its NUL to buf and
 * returns its length; 0 (buf untouched) for NaN and infinities, which JSON
 * has no number for, or when size < LB_JSON_NUMBER_MAX. */
size_t lb_json_format_number(double d, char *buf, size_t size);

/* New string, or JSON null for a NULL pointer. */
json_object *lb_json_string_or_null(const char *s);

#endif
