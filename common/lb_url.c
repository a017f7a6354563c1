#include "lb_url.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define MAX_LINK_LEN 2048

static bool is_host_char(char c)
{
  return isalnum((unsigned char)c) || c == '.' || c == '-';
}

/* Bytes of the Unicode white space at `p` that ECMA-262's \s (the
 * schema's regex dialect) matches beyond ASCII, or 0. */
static size_t unicode_space_len(const unsigned char *p)
{
  if (p[0] == 0xC2 && p[1] == 0xA0)
    return 2; /* U+00A0 */
  if (p[0] == 0xE1 && p[1] == 0x9A && p[2] == 0x80)
    return 3; /* U+1680 */
  if (p[0] == 0xE2 && p[1] == 0x80 &&
      ((p[2] >= 0x80 && p[2] <= 0x8A) || p[2] == 0xA8 || p[2] == 0xA9 || p[2] == 0xAF))
    return 3; /* U+2000-200A, U+2028, U+2029, U+202F */
  if (p[0] == 0xE2 && p[1] == 0x81 && p[2] == 0x9F)
    return 3; /* U+205F */
  if (p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80)
    return 3; /* U+3000 */
  if (p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
    return 3; /* U+FEFF */
  return 0;
}

bool lb_url_is_https_link(const char *url)
{
  if (!url || strncmp(url, "https://", 8) != 0)
    return false;
  size_t chars = 0;
  for (const unsigned char *q = (const unsigned char *)url; *q; q++)
    if ((*q & 0xC0) != 0x80)
      chars++;
  if (chars > MAX_LINK_LEN)
    return false;
  const char *p = url + 8;
  const char *host = p;
  while (is_host_char(*p))
    p++;
  size_t hlen = (size_t)(p - host);
  if (hlen == 0 || !isalnum((unsigned char)host[0]) || !isalnum((unsigned char)host[hlen - 1]))
    return false;
  if (*p == ':') {
    p++;
    int n = 0;
    long port = 0;
    while (isdigit((unsigned char)*p) && n < 6) {
      port = port * 10 + (*p - '0');
      p++;
      n++;
    }
    if (n < 1 || n > 5 || port > 65535)
      return false;
  }
  if (*p == '\0')
    return true;
  if (*p != '/' && *p != '?' && *p != '#')
    return false;
  /* no space of any kind, no control character (C0, DEL) */
  for (; *p; p++)
    if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p) ||
        unicode_space_len((const unsigned char *)p))
      return false;
  return true;
}

bool lb_url_host_is_loopback(const char *host, size_t len)
{
  if (len == 9 && strncmp(host, "localhost", 9) == 0)
    return true;
  if (len == 5 && strncmp(host, "[::1]", 5) == 0)
    return true;
  /* 127.a.b.c with every part a number 0-255. */
  unsigned parts = 0, value = 0, ndigits = 0;
  for (size_t i = 0; i <= len; i++) {
    if (i == len || host[i] == '.') {
      if (ndigits == 0 || value > 255 || (parts == 0 && value != 127))
        return false;
      parts++;
      value = ndigits = 0;
    } else if (isdigit((unsigned char)host[i]) && ndigits < 3) {
      value = value * 10 + (unsigned)(host[i] - '0');
      ndigits++;
    } else {
      return false;
    }
  }
  return parts == 4;
}

bool lb_url_is_endpoint(const char *url, bool allow_query, char *why, size_t whylen)
{
  const char *p;
  bool https;

  if (!url || !*url) {
    snprintf(why, whylen, "is empty");
    return false;
  }
  if (strncmp(url, "https://", 8) == 0) {
    https = true;
    p = url + 8;
  } else if (strncmp(url, "http://", 7) == 0) {
    https = false;
    p = url + 7;
  } else {
    snprintf(why, whylen, "must be an https:// URL");
    return false;
  }
  const char *host = p;
  if (*p == '[') {
    /* An IPv6 literal: hex digits, colons and dots between brackets. */
    p++;
    while (isxdigit((unsigned char)*p) || *p == ':' || *p == '.')
      p++;
    if (*p != ']' || p == host + 1) {
      snprintf(why, whylen, "has an invalid host");
      return false;
    }
    p++;
  } else {
    while (is_host_char(*p) || *p == '_')
      p++;
  }
  size_t hlen = (size_t)(p - host);
  /* user info ends at '@' before the path: the host scan stops there */
  for (const char *q = p; *q && *q != '/' && *q != '?' && *q != '#'; q++) {
    if (*q == '@') {
      snprintf(why, whylen, "must not contain user info");
      return false;
    }
  }
  if (hlen == 0) {
    snprintf(why, whylen, "has no host");
    return false;
  }
  if (*p == ':') {
    p++;
    unsigned long port = 0;
    int n = 0;
    while (isdigit((unsigned char)*p) && n < 6) {
      port = port * 10 + (unsigned long)(*p - '0');
      p++;
      n++;
    }
    if (n == 0 || port == 0 || port > 65535) {
      snprintf(why, whylen, "has an invalid port");
      return false;
    }
  }
  if (*p != '\0' && *p != '/' && !(allow_query && *p == '?')) {
    snprintf(why, whylen, "has an invalid host");
    return false;
  }
  for (const char *q = p; *q; q++) {
    if (isspace((unsigned char)*q) || iscntrl((unsigned char)*q)) {
      snprintf(why, whylen, "contains whitespace");
      return false;
    }
    if (*q == '#') {
      snprintf(why, whylen, "must not contain a fragment");
      return false;
    }
    if (*q == '?' && !allow_query) {
      snprintf(why, whylen, "must not contain a query");
      return false;
    }
  }
  if (!https && !lb_url_host_is_loopback(host, hlen)) {
    snprintf(why, whylen, "must use https (plain http is accepted for loopback only)");
    return false;
  }
  return true;
}

int lb_url_append_encoded(lb_strbuf *b, const char *s)
{
  static const char hex[] = "0123456789ABCDEF";
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    char enc[3] = { '%', hex[*p >> 4], hex[*p & 15] };
    int rc = isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~'
                 ? lb_strbuf_append_len(b, (const char *)p, 1)
                 : lb_strbuf_append_len(b, enc, 3);
    if (rc < 0)
      return -1;
  }
  return 0;
}
