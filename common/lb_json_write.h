/* lb_json_write: compact JSON text written straight into an lb_strbuf,
 * without building a json-c tree first. The text is byte for byte what
 * lb_json_text() prints for the same tree (json-c's plain output without
 * escaped slashes): no white space; in strings '"' and '\\' escaped, \b
 * \f \n \r \t by name, other bytes below 0x20 as \u00xx (lowercase hex),
 * everything else (DEL, '/', bytes of UTF-8) as it is; numbers as
 * lb_json_format_number() prints them.
 *
 * The writer places the commas and colons. Mistakes (a value where a member
 * name is due, a name outside an object, an end that closes nothing, a
 * second top-level value, nesting past LB_JSON_MAX_DEPTH) and a refused
 * append (the buffer's cap, or no memory) are not reported by each call:
 * the first one stops the writing and lb_json_write_finish() reports it.
 *
 *   lb_json_writer w;
 *   lb_json_write_init(&w, &buf);
 *   lb_json_write_object_begin(&w);
 *   lb_json_write_name(&w, "n");
 *   lb_json_write_int64(&w, 1);
 *   lb_json_write_object_end(&w);
 *   if (lb_json_write_finish(&w) == LB_E_OK) ... buf.buf holds {"n":1}
 */
#ifndef LB_JSON_WRITE_H
#define LB_JSON_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lb_error.h"
#include "lb_json.h"
#include "lb_strbuf.h"

/* Bytes gathered before they go to the lb_strbuf in one append. */
#define LB_JSON_WRITE_STAGE 512

/* A plain value on the caller's stack; owns nothing, needs no release.
 * Its members are the writer's: read them through the functions. */
typedef struct {
  lb_strbuf *out; /* borrowed until lb_json_write_finish() */
  size_t start;   /* out->len when writing began */
  size_t staged;  /* bytes in stage, not yet in out */
  char stage[LB_JSON_WRITE_STAGE];
  unsigned depth;    /* containers open, at most LB_JSON_MAX_DEPTH */
  uint64_t arrays;   /* bit d-1 set: the container at depth d is an array */
  uint64_t nonempty; /* bit d-1 set: it has a member or element already */
  bool named;        /* in an object, a name was written: its value is due */
  bool done;         /* the top-level value is complete */
  lb_err err;        /* the first mistake or refusal, LB_E_OK while none */
} lb_json_writer;

/* Starts one JSON value appended to *out (which keeps what it holds). */
void lb_json_write_init(lb_json_writer *w, lb_strbuf *out);

void lb_json_write_object_begin(lb_json_writer *w);
void lb_json_write_object_end(lb_json_writer *w);
void lb_json_write_array_begin(lb_json_writer *w);
void lb_json_write_array_end(lb_json_writer *w);

/* The name of the next member of the open object (NUL-terminated). */
void lb_json_write_name(lb_json_writer *w, const char *name);

/* A string value; NULL writes null (as lb_json_string_or_null()). */
void lb_json_write_string(lb_json_writer *w, const char *s);
/* The len bytes at s as a string value, NUL bytes included (\u0000). */
void lb_json_write_string_len(lb_json_writer *w, const char *s, size_t len);
void lb_json_write_int64(lb_json_writer *w, int64_t v);
/* d as lb_json_number() writes it; null for NaN and infinities (as
 * json-c writes the NULL lb_json_number() gives for them). */
void lb_json_write_number(lb_json_writer *w, double d);
void lb_json_write_bool(lb_json_writer *w, bool b);
void lb_json_write_null(lb_json_writer *w);

/* Ends the value (the text reaches *out in pieces; complete only now).
 * LB_E_OK when exactly one complete value was written: the text is
 * out->buf from the `start` offset on (out->buf itself when
 * *out was empty at init). Otherwise out is cut back to what it held at
 * init and the first failure is returned: LB_E_NOMEM (out of memory),
 * LB_E_TOO_BIG (past out's cap), LB_E_INVALID (a mistake listed above, or
 * the value left unfinished). */
lb_err lb_json_write_finish(lb_json_writer *w);

#endif
