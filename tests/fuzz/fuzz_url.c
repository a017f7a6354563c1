/* Fuzz target url: a string through lb_url.h: the event contract's link
 * (content.url), the endpoints a configuration may name, the loopback
 * test and query encoding. Besides not crashing:
 * - an accepted link is https://, a host of letters, digits, dots and
 *   dashes (a letter or digit at each end), a port of 1-5 digits up to
 *   65535, then nothing or a path, query or fragment without space or
 *   control character, at most 2048 characters;
 * - an accepted endpoint has no fragment, no user info, no query unless
 *   allowed, no space or control character, and is https unless its
 *   host is a loopback one; accepted without a query, it is accepted
 *   with; refused, it says why;
 * - a loopback host is "localhost", "[::1]" or 127. and digits and dots;
 * - encoded, a text is unreserved characters and %XX only, and decodes to
 *   itself. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "lb_strbuf.h"
#include "lb_url.h"

static bool plain(const char *s)
{
  for (; *s; s++)
    if ((unsigned char)*s <= 0x20 || (unsigned char)*s == 0x7f)
      return false;
  return true;
}

static void check_link(const char *s)
{
  const char *p = s + 8;
  size_t chars = 0;
  FZ_CHECK(strncmp(s, "https://", 8) == 0, "a link \"%s\"", s);
  for (const char *q = s; *q; q++)
    chars += ((unsigned char)*q & 0xC0) != 0x80;
  FZ_CHECK(chars <= 2048, "a link of %zu characters", chars);
  FZ_CHECK(isalnum((unsigned char)*p), "a link's host starts with 0x%02x", (unsigned char)*p);
  while (isalnum((unsigned char)*p) || *p == '.' || *p == '-')
    p++;
  FZ_CHECK(isalnum((unsigned char)p[-1]), "a link's host ends with '%c'", p[-1]);
  if (*p == ':') {
    long port = 0;
    int n = 0;
    for (p++; isdigit((unsigned char)*p); p++, n++)
      port = port * 10 + (*p - '0');
    FZ_CHECK(n >= 1 && n <= 5 && port <= 65535, "a link's port in \"%s\"", s);
  }
  FZ_CHECK(!*p || *p == '/' || *p == '?' || *p == '#', "a link's host is followed by 0x%02x",
           (unsigned char)*p);
  FZ_CHECK(plain(p), "a link's path has a space or control character: \"%s\"", s);
}

static void check_endpoint(const char *s, bool allow_query)
{
  bool https = strncmp(s, "https://", 8) == 0;
  FZ_CHECK(https || strncmp(s, "http://", 7) == 0, "an endpoint \"%s\"", s);
  const char *host = s + (https ? 8 : 7);
  size_t hlen = strcspn(host, ":/?");
  if (host[0] == '[')
    hlen = strcspn(host, "]") + 1;
  FZ_CHECK(!strchr(s, '#'), "an endpoint with a fragment: \"%s\"", s);
  FZ_CHECK(allow_query || !strchr(s, '?'), "an endpoint with a query: \"%s\"", s);
  FZ_CHECK(!memchr(host, '@', strcspn(host, "/?")), "an endpoint with user info: \"%s\"", s);
  FZ_CHECK(plain(s), "an endpoint with a space or control character: \"%s\"", s);
  FZ_CHECK(https || lb_url_host_is_loopback(host, hlen), "http to \"%.*s\"", (int)hlen, host);
}

static void check_loopback(const char *host, size_t len)
{
  if (!lb_url_host_is_loopback(host, len))
    return;
  if ((len == 9 && memcmp(host, "localhost", 9) == 0) ||
      (len == 5 && memcmp(host, "[::1]", 5) == 0))
    return;
  FZ_CHECK(len >= 7 && memcmp(host, "127.", 4) == 0, "loopback \"%.*s\"", (int)len, host);
  for (size_t i = 0; i < len; i++)
    FZ_CHECK(isdigit((unsigned char)host[i]) || host[i] == '.', "loopback \"%.*s\"", (int)len,
             host);
}

static int hexval(char c)
{
  return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static void check_encoded(const char *s)
{
  lb_strbuf b;
  lb_strbuf_init(&b, 0);
  FZ_CHECK(lb_url_append_encoded(&b, s) == 0, "encoding refused");
  const char *e = b.buf ? b.buf : "";
  size_t n = strlen(s), j = 0;
  for (size_t i = 0; e[i]; j++) {
    int c;
    if (e[i] == '%') {
      int hi = hexval(e[i + 1]), lo = hi < 0 ? -1 : hexval(e[i + 2]);
      FZ_CHECK(hi >= 0 && lo >= 0, "\"%s\" encoded as \"%s\"", s, e);
      c = hi * 16 + lo;
      i += 3;
    } else {
      c = (unsigned char)e[i++];
      FZ_CHECK(isalnum(c) || strchr("-._~", c), "'%c' left unencoded", c);
    }
    FZ_CHECK(j < n && (unsigned char)s[j] == c, "\"%s\" encoded as \"%s\"", s, e);
  }
  FZ_CHECK(j == n, "\"%s\" encoded as \"%s\"", s, e);
  lb_strbuf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *s = malloc(size + 1), why[256];
  FZ_CHECK(s != NULL, "out of memory");
  memcpy(s, data, size);
  s[size] = '\0';
  fz_begin(data, size);

  if (lb_url_is_https_link(s))
    check_link(s);
  why[0] = '\0';
  bool strict = lb_url_is_endpoint(s, false, why, sizeof(why));
  if (strict)
    check_endpoint(s, false);
  else
    FZ_CHECK(why[0], "an endpoint refused without why");
  why[0] = '\0';
  bool query = lb_url_is_endpoint(s, true, why, sizeof(why));
  FZ_CHECK(query || !strict, "accepted without a query, refused with: %s", why);
  if (query)
    check_endpoint(s, true);
  else
    FZ_CHECK(why[0], "an endpoint refused without why");
  /* the raw bytes: it reads no further than told */
  check_loopback((const char *)data, size);
  check_encoded(s);
  free(s);
  return 0;
}
