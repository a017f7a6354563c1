/* lb_json: strict JSON in (as json-c objects, or as a light read-only
 * document) and compact JSON out, over json-c. */
#ifndef LB_JSON_H
#define LB_JSON_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "lb_error.h"

#define LB_JSON_MAX_DEPTH 64
#define LB_JSON_MAX_BYTES (1024 * 1024)

/* Parses exactly one JSON value (surrounding whitespace allowed) that is
 * valid UTF-8, at most LB_JSON_MAX_BYTES long and nested at most
 * LB_JSON_MAX_DEPTH deep. *ret is new (json_object_put() it). On failure
 * returns LB_E_PARSE or LB_E_TOO_BIG with why in err, *ret untouched. */
lb_err lb_json_parse(const char *buf, size_t len, json_object **ret, char *err, size_t errlen);

/* A JSON value of an lb_json_doc, read-only; valid until its document is
 * parsed again or freed. */
typedef enum {
  LB_JSON_NULL,
  LB_JSON_BOOL,
  LB_JSON_NUMBER,
  LB_JSON_STRING,
  LB_JSON_ARRAY,
  LB_JSON_OBJECT,
} lb_json_type;

typedef struct lb_json_value lb_json_value;
struct lb_json_value {
  lb_json_type type;
  bool boolean;
  double number;              /* as strtod reads it (json-c clamps integers past 64 bits) */
  const char *string;         /* decoded, NUL-terminated; a \u0000 it holds counts in len */
  size_t len;                 /* a string's bytes; an array's or object's members */
  const char *name;           /* its member name in an object (decoded), else NULL */
  const lb_json_value *first; /* an array's or object's first member */
  const lb_json_value *next;  /* the next member of the array or object it is in */
};

typedef struct lb_json_chunk lb_json_chunk;

/* A parsed text without json-c: what arrives once per event is read here
 * with no object to make and free per member. Zero-initialise; the memory
 * is kept from one parse to the next (a big text's is given back at the
 * next small one). */
typedef struct {
  const lb_json_value *root;
  char *text; /* the decoded strings, back to back */
  size_t text_cap;
  lb_json_chunk *chunks;
} lb_json_doc;

/* Parses with exactly the rules of lb_json_parse (the same refusals and
 * reasons). On failure doc->root is NULL. */
lb_err lb_json_doc_parse(lb_json_doc *doc, const char *buf, size_t len, char *err, size_t errlen);
void lb_json_doc_release(lb_json_doc *doc);

/* This thread's document, freed when the thread ends; for a parse whose
 * values are copied out before the next one on the same thread. */
lb_json_doc *lb_json_thread_doc(void);

/* The member `name` of an object (the last one when a name repeats, as
 * json-c keeps it), or NULL when absent or obj is not an object. */
const lb_json_value *lb_json_get(const lb_json_value *obj, const char *name);

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
