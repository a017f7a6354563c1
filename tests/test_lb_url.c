/* lb_url: the event contract's https link (the same verdicts as the
 * schemas/ pattern `^https://[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?
 * (:[0-9]{1,5})?([/?#][^\s]*)?$` with ECMA-262 \s, at most 2048 bytes),
 * configuration endpoints, loopback hosts and query encoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_url.h"

static const struct {
  const char *url;
  bool ok;
} links[] = {
  { "https://a", true },
  { "https://example.com", true },
  { "https://example.com/", true },
  { "https://www.datacamp.com/courses/intro-to-python", true },
  { "https://example.com:443/path?x=1&y=2#frag", true },
  { "https://example.com?x", true },
  { "https://example.com#top", true },
  { "https://sub.example-site.co.uk/a/b", true },
  { "https://1.2.3.4:8080", true },
  { "https://a..b", true },
  { "https://a-b", true },
  { "https://example.com:1", true },
  { "https://example.com:65535/", true },
  { "https://example.com:65536/", false }, /* a port is at most 65535 */
  { "https://example.com:99999/", false },
  { "https://l/\x01", false }, /* no control character */
  { "https://l/a\x7f", false },
  { "https://l/a\x1f?b", false },
  { "https://example.com/caf\xc3\xa9", true },
  { "https://example.com/a\"b<c>{d}", true },
  { "https://example.com/%20", true },
  { "https://example.com//", true },
  { NULL, false },
  { "", false },
  { "https://", false },
  { "https:///path", false },
  { "http://example.com", false },
  { "HTTPS://example.com", false },
  { "Https://example.com", false },
  { "ftp://example.com", false },
  { "https:/example.com", false },
  { "https:example.com", false },
  { "//example.com", false },
  { " https://example.com", false },
  { "https://example.com ", false },
  { "https://exa mple.com", false },
  { "https://example.com/a b", false },
  { "https://example.com/a\tb", false },
  { "https://example.com/a\nb", false },
  { "https://example.com/\r", false },
  { "https://example.com/\v", false },
  { "https://example.com/\f", false },
  { "https://example.com\n", false },
  { "https://-example.com", false },
  { "https://example.com-", false },
  { "https://example.com.", false },
  { "https://.example.com", false },
  { "https://-", false },
  { "https://exa_mple.com", false },
  { "https://user@example.com", false },
  { "https://user:pw@example.com/", false },
  { "https://example.com:", false },
  { "https://example.com:/", false },
  { "https://example.com:123456", false },
  { "https://example.com:80a", false },
  { "https://example.com:-1", false },
  { "https://[::1]/", false },
  { "https://example.com\\path", false },
  { "https://exam\xc3\xa9ple.com", false },
};

static void test_https_link_table(void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
    bool got = lb_url_is_https_link(links[i].url);
    if (got != links[i].ok)
      fail_msg("\"%s\": %s, want %s", links[i].url ? links[i].url : "(null)",
               got ? "accepted" : "refused", links[i].ok ? "accepted" : "refused");
  }
}

/* ECMA-262 \s (what JSON Schema's pattern means) also matches the Unicode
 * spaces: NBSP, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F,
 * U+3000 and U+FEFF. The schema refuses these URLs, so must the C check. */
static void test_https_link_refuses_unicode_whitespace(void **state)
{
  (void)state;
  static const char *const spaces[] = {
    "\xc2\xa0",     /* U+00A0 */
    "\xe1\x9a\x80", /* U+1680 */
    "\xe2\x80\x80", /* U+2000 */
    "\xe2\x80\x8a", /* U+200A */
    "\xe2\x80\xa8", /* U+2028 */
    "\xe2\x80\xa9", /* U+2029 */
    "\xe2\x80\xaf", /* U+202F */
    "\xe2\x81\x9f", /* U+205F */
    "\xe3\x80\x80", /* U+3000 */
    "\xef\xbb\xbf", /* U+FEFF */
  };
  int failures = 0;
  for (size_t i = 0; i < sizeof(spaces) / sizeof(spaces[0]); i++) {
    char url[64];
    snprintf(url, sizeof(url), "https://example.com/a%sb", spaces[i]);
    if (lb_url_is_https_link(url)) {
      print_error("accepted a URL with Unicode space %zu (\"%s\")\n", i, url);
      failures++;
    }
  }
  assert_int_equal(failures, 0);
}

static void test_https_link_length_limit(void **state)
{
  (void)state;
  char *url = malloc(2050);
  assert_non_null(url);
  size_t n = (size_t)snprintf(url, 2050, "https://example.com/");
  memset(url + n, 'a', 2048 - n);
  url[2048] = '\0';
  assert_true(lb_url_is_https_link(url)); /* exactly 2048 bytes */
  url[2048] = 'a';
  url[2049] = '\0';
  assert_false(lb_url_is_https_link(url)); /* 2049 */
  free(url);
}

struct endpoint_case {
  const char *url;
  bool allow_query;
  bool ok;
  const char *why; /* a word the reason must contain */
};

static const struct endpoint_case endpoints[] = {
  { "https://api.degreed.com", false, true, NULL },
  { "https://api.degreed.com/", false, true, NULL },
  { "https://api.eu.degreed.com/api/v2", false, true, NULL },
  { "https://globex.example-lms.com/learning/odatav4", false, true, NULL },
  { "https://host:8443/prefix", false, true, NULL },
  { "https://host:1/", false, true, NULL },
  { "https://host:65535/", false, true, NULL },
  { "https://host/oauth/token?grant_type=x", true, true, NULL },
  { "https://host?x=1", true, true, NULL },
  { "https://10.0.0.1/", false, true, NULL },
  { "https://[::1]:9000/x", false, true, NULL },
  { "http://127.0.0.1", false, true, NULL },
  { "http://127.0.0.1:8080/api", false, true, NULL },
  { "http://127.255.255.254/", false, true, NULL },
  { "http://127.1.2.3:9/", false, true, NULL },
  { "http://localhost", false, true, NULL },
  { "http://localhost:9000/oauth/token", false, true, NULL },
  { "http://localhost:9000/t?x=1", true, true, NULL },
  { "http://[::1]", false, true, NULL },
  { "http://[::1]:9000/x", false, true, NULL },

  { NULL, false, false, "empty" },
  { "", false, false, "empty" },
  { "ftp://host/", false, false, "https" },
  { "host.example.com/path", false, false, "https" },
  { "//host/", false, false, "https" },
  { "http://10.0.0.1/", false, false, "https" },
  { "http://10.0.0.1:8080/", false, false, "https" },
  { "http://example.com/", false, false, "https" },
  { "http://example.com", false, false, "https" },
  { "http://128.0.0.1/", false, false, "https" },
  { "http://127.0.0.1.nip.io/", false, false, "https" },
  { "http://localhost.example.com/", false, false, "https" },
  { "http://[::2]/", false, false, "https" },
  { "https://user@host/", false, false, "user info" },
  { "https://user:pw@host/", false, false, "user info" },
  { "http://127.0.0.1@evil.com/", false, false, "user info" },
  { "http://localhost:80@evil.com/", false, false, "user info" },
  { "https://host/path#frag", false, false, "fragment" },
  { "https://host/path#frag", true, false, "fragment" },
  { "https://host/path?x=1#f", true, false, "fragment" },
  { "https://host/path?x=1", false, false, "query" },
  { "https://host:0/", false, false, "port" },
  { "https://host:70000/", false, false, "port" },
  { "https://host:65536/", false, false, "port" },
  { "https://host:1234567/", false, false, "port" },
  { "https://host:/", false, false, "port" },
  { "https://host:abc/", false, false, "port" },
  { "https://", false, false, "host" },
  { "https:///path", false, false, "host" },
  { "http://:8080/", false, false, "host" },
  { "https://ho st/", false, false, NULL },
  { "https://host\\evil/", false, false, NULL },
  { " https://host/", false, false, NULL },
  { "https://host/a b", false, false, "whitespace" },
  { "https://host/a\tb", false, false, "whitespace" },
  { "https://host/\n", false, false, "whitespace" },
  { "https://host/x?a= b", true, false, "whitespace" },
};

static void check_endpoints(const struct endpoint_case *cases, size_t n)
{
  int failures = 0;
  for (size_t i = 0; i < n; i++) {
    char why[256] = "";
    bool got = lb_url_is_endpoint(cases[i].url, cases[i].allow_query, why, sizeof(why));
    const char *u = cases[i].url ? cases[i].url : "(null)";
    if (got != cases[i].ok) {
      print_error("\"%s\" (allow_query %d): %s, want %s (why: %s)\n", u, cases[i].allow_query,
                  got ? "accepted" : "refused", cases[i].ok ? "accepted" : "refused", why);
      failures++;
      continue;
    }
    if (!got && why[0] == '\0')
      fail_msg("\"%s\": refused without a reason", u);
    if (!got && cases[i].why && !strstr(why, cases[i].why))
      fail_msg("\"%s\": reason \"%s\" does not say \"%s\"", u, why, cases[i].why);
  }
  assert_int_equal(failures, 0);
}

static void test_endpoint_table(void **state)
{
  (void)state;
  check_endpoints(endpoints, sizeof(endpoints) / sizeof(endpoints[0]));
}

/* A bracketed host that is not closed or holds whitespace is no URL. */
static void test_endpoint_refuses_malformed_bracket_host(void **state)
{
  (void)state;
  static const struct endpoint_case cases[] = {
    { "https://[::1", false, false, NULL },    { "https://[::1/api", false, false, NULL },
    { "https://[::1 ]/", false, false, NULL }, { "https://[ ]/", false, false, NULL },
    { "https://[]/", false, false, NULL },
  };
  check_endpoints(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_endpoint_reason_is_bounded(void **state)
{
  (void)state;
  char why[8];
  memset(why, '#', sizeof(why));
  assert_false(lb_url_is_endpoint("http://example.com/", false, why, sizeof(why)));
  assert_int_equal(why[sizeof(why) - 1], '\0');
  assert_int_equal(strlen(why), sizeof(why) - 1);
}

static void test_host_is_loopback_table(void **state)
{
  (void)state;
  static const struct {
    const char *host;
    bool loopback;
  } cases[] = {
    { "127.0.0.1", true },
    { "127.0.0.0", true },
    { "127.255.255.254", true },
    { "127.255.255.255", true },
    { "127.10.20.30", true },
    { "localhost", true },
    { "[::1]", true },
    { "128.0.0.1", false },
    { "126.0.0.1", false },
    { "10.0.0.1", false },
    { "0.0.0.0", false },
    { "127.1", false },
    { "127.0.1", false },
    { "127.0.0.1.1", false },
    { "127.0.0.256", false },
    { "127.0.256.1", false },
    { "127.0.0.1000", false },
    { "1127.0.0.1", false },
    { "127.0.0.", false },
    { "127..0.1", false },
    { ".127.0.0.1", false },
    { "127.0.0.1 ", false },
    { "127.0.0.-1", false },
    { "127.0.0.x", false },
    { "127.0.0.1.nip.io", false },
    { "localhost.localdomain.example", false },
    { "localhos", false },
    { "localhostx", false },
    { "[::2]", false },
    { "[::1", false },
    { "example.com", false },
    { "", false },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    bool got = lb_url_host_is_loopback(cases[i].host, strlen(cases[i].host));
    if (got != cases[i].loopback)
      fail_msg("\"%s\": %d, want %d", cases[i].host, got, cases[i].loopback);
  }
}

/* Only `len` bytes are the host: what follows is not looked at. */
static void test_host_is_loopback_honours_len(void **state)
{
  (void)state;
  assert_true(lb_url_host_is_loopback("127.0.0.1:8080/x", 9));
  assert_true(lb_url_host_is_loopback("localhost:9000", 9));
  assert_true(lb_url_host_is_loopback("[::1]:9000", 5));
  assert_false(lb_url_host_is_loopback("127.0.0.1", 7)); /* "127.0.0" */
  assert_false(lb_url_host_is_loopback("localhost", 5));
  assert_false(lb_url_host_is_loopback("127.0.0.1", 0));
}

static void test_append_encoded_table(void **state)
{
  (void)state;
  static const struct {
    const char *in;
    const char *out;
  } cases[] = {
    { "", "" },
    { "abcXYZ0189", "abcXYZ0189" },
    { "-._~", "-._~" },
    { " ", "%20" },
    { "a+b", "a%2Bb" },
    { "a&b=c", "a%26b%3Dc" },
    { "/?#[]@", "%2F%3F%23%5B%5D%40" },
    { "!$'()*,;:", "%21%24%27%28%29%2A%2C%3B%3A" },
    { "%", "%25" },
    { "\"<>\\^`{|}", "%22%3C%3E%5C%5E%60%7B%7C%7D" },
    { "user@example.com", "user%40example.com" },
    { "course-123", "course-123" },
    { "caf\xc3\xa9", "caf%C3%A9" },
    { "\x01\x1f\x7f\x80\xff", "%01%1F%7F%80%FF" },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    lb_strbuf b;
    lb_strbuf_init(&b, 0);
    assert_int_equal(lb_strbuf_append(&b, "q="), 0);
    assert_int_equal(lb_url_append_encoded(&b, cases[i].in), 0);
    assert_non_null(b.buf);
    if (strcmp(b.buf + 2, cases[i].out) != 0)
      fail_msg("\"%s\": got \"%s\", want \"%s\"", cases[i].in, b.buf + 2, cases[i].out);
    assert_memory_equal(b.buf, "q=", 2);
    lb_strbuf_release(&b);
  }
}

static void test_append_encoded_refused_by_cap(void **state)
{
  (void)state;
  lb_strbuf b;
  lb_strbuf_init(&b, 6);
  assert_int_equal(lb_url_append_encoded(&b, "a b c"), -1); /* 9 bytes */
  assert_true(b.overflow);
  assert_true(b.len <= 6);
  lb_strbuf_release(&b);

  lb_strbuf_init(&b, 6);
  assert_int_equal(lb_url_append_encoded(&b, "ab c"), 0); /* exactly 6 */
  assert_string_equal(b.buf, "ab%20c");
  assert_false(b.overflow);
  lb_strbuf_release(&b);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_https_link_table),
    cmocka_unit_test(test_https_link_refuses_unicode_whitespace),
    cmocka_unit_test(test_https_link_length_limit),
    cmocka_unit_test(test_endpoint_table),
    cmocka_unit_test(test_endpoint_refuses_malformed_bracket_host),
    cmocka_unit_test(test_endpoint_reason_is_bounded),
    cmocka_unit_test(test_host_is_loopback_table),
    cmocka_unit_test(test_host_is_loopback_honours_len),
    cmocka_unit_test(test_append_encoded_table),
    cmocka_unit_test(test_append_encoded_refused_by_cap),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
