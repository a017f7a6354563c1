#include "lb_json.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>

/* RFC 3629 UTF-8: json-c's own check lets overlong forms and surrogates
 * through. */
static bool utf8_valid(const unsigned char *s, size_t len, size_t *bad)
{
  size_t i = 0;
  while (i < len) {
    unsigned char c = s[i];
    size_t n;
    unsigned min, cp;
    if (c < 0x80) {
      i++;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1, min = 0x80, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2, min = 0x800, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3, min = 0x10000, cp = c & 0x07;
    } else {
      goto bad;
    }
    if (len - i <= n)
      goto bad;
    for (size_t k = 1; k <= n; k++) {
      if ((s[i + k] & 0xC0) != 0x80)
        goto bad;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      goto bad;
    i += n + 1;
  }
  return true;
bad:
  *bad = i;
  return false;
}

lb_err lb_json_parse(const char *buf, size_t len, json_object **ret, char *err,
                     size_t errlen)
{
  if (len > LB_JSON_MAX_BYTES) {
    snprintf(err, errlen, "larger than %d bytes", LB_JSON_MAX_BYTES);
    return LB_E_TOO_BIG;
  }
  size_t start = 0;
  while (start < len && (buf[start] == ' ' || buf[start] == '\t' ||
                         buf[start] == '\n' || buf[start] == '\r'))
    start++;
  if (start == len) {
    snprintf(err, errlen, "empty input");
    return LB_E_PARSE;
  }
  size_t bad;
  if (!utf8_valid((const unsigned char *)buf, len, &bad)) {
    snprintf(err, errlen, "not valid UTF-8 at byte %zu", bad);
    return LB_E_PARSE;
  }
  json_tokener *tok = json_tokener_new_ex(LB_JSON_MAX_DEPTH);
  if (!tok) {
    snprintf(err, errlen, "out of memory");
    return LB_E_NOMEM;
  }
  json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
                                  JSON_TOKENER_ALLOW_TRAILING_CHARS |
                                  JSON_TOKENER_VALIDATE_UTF8);
  json_object *obj = json_tokener_parse_ex(tok, buf + start, (int)(len - start));
  enum json_tokener_error jerr = json_tokener_get_error(tok);
  size_t end = start + json_tokener_get_parse_end(tok);
  lb_err rc = LB_E_OK;

  if (jerr == json_tokener_continue) {
    snprintf(err, errlen, "not valid JSON: unexpected end of input");
    rc = LB_E_PARSE;
  } else if (jerr != json_tokener_success) {
    snprintf(err, errlen, "not valid JSON: %s at byte %zu",
             json_tokener_error_desc(jerr), end);
    rc = LB_E_PARSE;
  } else {
    for (size_t i = end; i < len; i++) {
      if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\n' && buf[i] != '\r') {
        snprintf(err, errlen, "not valid JSON: unexpected data after the value at byte %zu", i);
        rc = LB_E_PARSE;
        break;
      }
    }
  }
  json_tokener_free(tok);
  if (rc != LB_E_OK) {
    json_object_put(obj);
    return rc;
  }
  *ret = obj; /* may be NULL for the JSON literal null */
  return LB_E_OK;
}

const char *lb_json_text(json_object *obj)
{
  return json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
                                                 JSON_C_TO_STRING_NOSLASHESCAPE);
}

json_object *lb_json_number(double d)
{
  char text[64];
  if (!isfinite(d))
    return NULL;
  if (d == trunc(d) && fabs(d) < 9007199254740992.0)
    return json_object_new_int64((int64_t)d);
  snprintf(text, sizeof(text), "%.15g", d);
  return json_object_new_double_s(d, text);
}

json_object *lb_json_string_or_null(const char *s)
{
  return s ? json_object_new_string(s) : NULL;
}
