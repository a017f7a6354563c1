/* lb_strbuf: appends grow the buffer and keep it NUL-terminated; an append
 * that would pass the cap is refused whole (buffer unchanged, overflow
 * set); JSON string literals are escaped as RFC 8259 wants. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <inttypes.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lb_strbuf.h"

static void test_init_is_empty(void **state)
{
  (void)state;
  lb_strbuf b;
  lb_strbuf_init(&b, 100);
  assert_null(b.buf);
  assert_int_equal(b.len, 0);
  assert_int_equal(b.max, 100);
  assert_false(b.overflow);
  lb_strbuf_release(&b);
}

static void test_append_concatenates(void **state)
{
  (void)state;
  lb_strbuf b;
  lb_strbuf_init(&b, 0);
  assert_int_equal(lb_strbuf_append(&b, "hello"), 0);
  assert_int_equal(lb_strbuf_append(&b, ", "), 0);
  assert_int_equal(lb_strbuf_append_len(&b, "world!!!", 5), 0);
  assert_int_equal(lb_strbuf_append(&b, ""), 0);
  assert_string_equal(b.buf, "hello, world");
  assert_int_equal(b.len, 12);
  assert_true(b.cap > b.len);
  assert_false(b.overflow);
  lb_strbuf_release(&b);
}

static void test_append_len_keeps_embedded_bytes(void **state)
{
  (void)state;
  lb_strbuf b;
  lb_strbuf_init(&b, 0);
  assert_int_equal(lb_strbuf_append_len(&b, "a\0b", 3), 0);
  assert_int_equal(b.len, 3);
  assert_memory_equal(b.buf, "a\0b", 4); /* and the terminating NUL */
  lb_strbuf_release(&b);
}

static void test_append_grows_past_many_reallocations(void **state)
{
  (void)state;
  lb_strbuf b;
  char expect[10001];
  lb_strbuf_init(&b, 0);
  for (int i = 0; i < 10000; i++) {
    expect[i] = (char)('a' + i % 26);
    assert_int_equal(lb_strbuf_append_len(&b, &expect[i], 1), 0);
  }
  expect[10000] = '\0';
  assert_int_equal(b.len, 10000);
  assert_string_equal(b.buf, expect);
  lb_strbuf_release(&b);
}

static void test_appendf_short(void **state)
{
  (void)state;
  lb_strbuf b;
  lb_strbuf_init(&b, 0);
  assert_int_equal(lb_strbuf_append(&b, "x="), 0);
  assert_int_equal(lb_strbuf_appendf(&b, "%d/%s/%.2f", 42, "abc", 1.5), 0);
  assert_string_equal(b.buf, "x=42/abc/1.50");
  assert_int_equal(b.len, strlen("x=42/abc/1.50"));
  lb_strbuf_release(&b);
}

/* Results of 255, 256 and 257 bytes straddle the internal 256-byte
 * scratch buffer; 1000 is far past it. */
static void test_appendf_long_results(void **state)
{
  (void)state;
  static const size_t sizes[] = { 255, 256, 257, 1000, 70000 };
  for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
    size_t n = sizes[k];
    char *arg = malloc(n + 1);
    assert_non_null(arg);
    for (size_t i = 0; i < n; i++)
      arg[i] = (char)('A' + i % 26);
    arg[n] = '\0';

    lb_strbuf b;
    lb_strbuf_init(&b, 0);
    assert_int_equal(lb_strbuf_append(&b, "<"), 0);
    assert_int_equal(lb_strbuf_appendf(&b, "%s|%zu", arg, n), 0);
    assert_int_equal(lb_strbuf_append(&b, ">"), 0);

    char tail[32];
    int tl = snprintf(tail, sizeof(tail), "|%zu>", n);
    assert_int_equal(b.len, 1 + n + (size_t)tl);
    assert_int_equal(b.buf[0], '<');
    assert_memory_equal(b.buf + 1, arg, n);
    assert_string_equal(b.buf + 1 + n, tail);
    assert_int_equal(strlen(b.buf), b.len);
    lb_strbuf_release(&b);
    free(arg);
  }
}

static void test_cap_allows_exactly_max(void **state)
{
  (void)state;
  lb_strbuf b;
  lb_strbuf_init(&b, 8);
  assert_int_equal(lb_strbuf_append(&b, "12345"), 0);
  assert_int_equal(lb_strbuf_append(&b, "678"), 0);
  assert_string_equal(b.buf, "12345678");
  assert_false(b.overflow);
  assert_int_equal(lb_strbuf_append(&b, ""), 0);
  assert_false(b.overflow);
  lb_strbuf_release(&b);
}

/* Every kind of append, refused at the cap, leaves the text as it was. */
static void test_cap_refusal_leaves_buffer_unchanged(void **state)
{
  (void)state;
  enum { APPEND, APPEND_LEN, APPENDF_SHORT, APPENDF_LONG, JSON };
  for (int kind = APPEND; kind <= JSON; kind++) {
    lb_strbuf b;
    lb_strbuf_init(&b, 10);
    assert_int_equal(lb_strbuf_append(&b, "abcdef"), 0);
    int rc = 0;
    char big[400];
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    switch (kind) {
    case APPEND:
      rc = lb_strbuf_append(&b, "ghijk");
      break;
    case APPEND_LEN:
      rc = lb_strbuf_append_len(&b, "ghijkl", 5);
      break;
    case APPENDF_SHORT:
      rc = lb_strbuf_appendf(&b, "%d", 12345);
      break;
    case APPENDF_LONG:
      rc = lb_strbuf_appendf(&b, "%s", big);
      break;
    case JSON:
      rc = lb_strbuf_append_json_string(&b, "ab\"c");
      break;
    }
    assert_int_equal(rc, -1);
    assert_true(b.overflow);
    assert_int_equal(b.len, 6);
    assert_string_equal(b.buf, "abcdef");
    /* A later append that fits still works; overflow stays set. */
    assert_int_equal(lb_strbuf_append(&b, "1234"), 0);
    assert_string_equal(b.buf, "abcdef1234");
    assert_true(b.overflow);
    lb_strbuf_release(&b);
  }
}

static void test_cap_refusal_on_empty_buffer(void **state)
{
  (void)state;
  lb_strbuf b;
  lb_strbuf_init(&b, 3);
  assert_int_equal(lb_strbuf_append(&b, "abcd"), -1);
  assert_true(b.overflow);
  assert_int_equal(b.len, 0);
  assert_true(b.buf == NULL || b.buf[0] == '\0');
  assert_int_equal(lb_strbuf_append_json_string(&b, "ab"), -1); /* 4 bytes */
  assert_int_equal(b.len, 0);
  assert_true(b.buf == NULL || b.buf[0] == '\0');
  char *s = lb_strbuf_detach(&b);
  assert_string_equal(s, "");
  free(s);
}

static void test_cap_huge_length_does_not_wrap(void **state)
{
  (void)state;
  lb_strbuf b;
  lb_strbuf_init(&b, 16);
  assert_int_equal(lb_strbuf_append(&b, "ab"), 0);
  assert_int_equal(lb_strbuf_append_len(&b, "x", SIZE_MAX - 1), -1);
  assert_true(b.overflow);
  assert_string_equal(b.buf, "ab");
  lb_strbuf_release(&b);
}

struct json_case {
  const char *in;
  const char *out;
};

static const struct json_case json_cases[] = {
  { "", "\"\"" },
  { "plain", "\"plain\"" },
  { "say \"hi\"", "\"say \\\"hi\\\"\"" },
  { "back\\slash", "\"back\\\\slash\"" },
  { "a/b", "\"a/b\"" },
  { "line\nfeed", "\"line\\nfeed\"" },
  { "cr\rtab\t", "\"cr\\rtab\\t\"" },
  { "\x01", "\"\\u0001\"" },
  { "\x08\x0c", "\"\\b\\f\"" },
  { "x\x1fy", "\"x\\u001fy\"" },
  { "\x7f", "\"\x7f\"" },
  { "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"" },
};

/* Every byte: escaped exactly when JSON cannot hold it (below 0x20, '"',
 * '\\'), in json-c's short form where JSON has one, else \u00XX. */
static void test_json_escape_every_byte(void **state)
{
  (void)state;
  static const char *const short_forms = "\b\f\n\r\t\"\\";
  static const char *const letters = "bfnrt\"\\";
  for (int c = 0; c < 256; c++) {
    char out[6];
    size_t n = lb_strbuf_json_escape((unsigned char)c, out);
    const char *sf = c ? strchr(short_forms, c) : NULL;
    if (c >= 0x20 && !sf) {
      assert_int_equal(n, 0);
    } else if (sf) {
      assert_int_equal(n, 2);
      assert_memory_equal(out, ((char[]){ '\\', letters[sf - short_forms] }), 2);
    } else {
      char want[7];
      snprintf(want, sizeof(want), "\\u%04x", c);
      assert_int_equal(n, 6);
      assert_memory_equal(out, want, 6);
    }
  }
}

static void test_json_string_escaping(void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof(json_cases) / sizeof(json_cases[0]); i++) {
    lb_strbuf b;
    lb_strbuf_init(&b, 0);
    assert_int_equal(lb_strbuf_append_json_string(&b, json_cases[i].in), 0);
    /* \u escapes compared without regard to the case of hex digits. */
    if (strcasecmp(b.buf, json_cases[i].out) != 0)
      fail_msg("case %zu: got %s, want %s", i, b.buf, json_cases[i].out);
    assert_int_equal(b.len, strlen(json_cases[i].out));
    lb_strbuf_release(&b);
  }
}

/* Every byte 0x01-0xFF that is part of valid text round-trips through a
 * JSON parser, and no raw control character reaches the output. */
static void test_json_string_round_trips_all_control_chars(void **state)
{
  (void)state;
  char in[128];
  for (int c = 1; c < 128; c++)
    in[c - 1] = (char)c;
  in[127] = '\0';
  lb_strbuf b;
  lb_strbuf_init(&b, 0);
  assert_int_equal(lb_strbuf_append_json_string(&b, in), 0);
  for (size_t i = 0; i < b.len; i++)
    assert_true((unsigned char)b.buf[i] >= 0x20);
  json_object *o = json_tokener_parse(b.buf);
  assert_non_null(o);
  assert_true(json_object_is_type(o, json_type_string));
  assert_string_equal(json_object_get_string(o), in);
  json_object_put(o);
  lb_strbuf_release(&b);
}

static void test_json_string_appends_after_existing_text(void **state)
{
  (void)state;
  lb_strbuf b;
  lb_strbuf_init(&b, 0);
  assert_int_equal(lb_strbuf_append(&b, "{\"k\":"), 0);
  assert_int_equal(lb_strbuf_append_json_string(&b, "v\"1"), 0);
  assert_int_equal(lb_strbuf_append(&b, "}"), 0);
  assert_string_equal(b.buf, "{\"k\":\"v\\\"1\"}");
  lb_strbuf_release(&b);
}

/* The literal's escaped form does not fit although the raw text would:
 * nothing of it is kept. */
static void test_json_string_refused_midway_is_all_or_nothing(void **state)
{
  (void)state;
  lb_strbuf b;
  lb_strbuf_init(&b, 12);
  assert_int_equal(lb_strbuf_append(&b, "[1,"), 0);
  /* raw 6 bytes + 2 quotes = 8 would fit; escaped it is 14. */
  assert_int_equal(lb_strbuf_append_json_string(&b, "\x01\x02\x03"), -1);
  assert_true(b.overflow);
  assert_int_equal(b.len, 3);
  assert_string_equal(b.buf, "[1,");
  lb_strbuf_release(&b);
}

static void test_detach_hands_over_and_empties(void **state)
{
  (void)state;
  lb_strbuf b;
  lb_strbuf_init(&b, 50);
  assert_int_equal(lb_strbuf_append(&b, "owned text"), 0);
  char *s = lb_strbuf_detach(&b);
  assert_non_null(s);
  assert_string_equal(s, "owned text");
  assert_null(b.buf);
  assert_int_equal(b.len, 0);
  assert_int_equal(b.cap, 0);
  assert_int_equal(b.max, 50);
  assert_false(b.overflow);
  /* The buffer is usable again and does not share memory with s. */
  assert_int_equal(lb_strbuf_append(&b, "again"), 0);
  assert_string_equal(b.buf, "again");
  assert_string_equal(s, "owned text");
  free(s);
  lb_strbuf_release(&b);
}

static void test_detach_of_unused_buffer_is_empty_string(void **state)
{
  (void)state;
  lb_strbuf b;
  lb_strbuf_init(&b, 0);
  char *s = lb_strbuf_detach(&b);
  assert_non_null(s);
  assert_string_equal(s, "");
  free(s);
}

static void test_reset_keeps_memory_and_cap(void **state)
{
  (void)state;
  lb_strbuf b;
  lb_strbuf_init(&b, 10);
  assert_int_equal(lb_strbuf_append(&b, "abcdefgh"), 0);
  assert_int_equal(lb_strbuf_append(&b, "ijk"), -1);
  assert_true(b.overflow);
  char *mem = b.buf;
  size_t cap = b.cap;
  lb_strbuf_reset(&b);
  assert_int_equal(b.len, 0);
  assert_string_equal(b.buf, "");
  assert_false(b.overflow);
  assert_ptr_equal(b.buf, mem);
  assert_int_equal(b.cap, cap);
  assert_int_equal(b.max, 10);
  /* The cap still holds after reset. */
  assert_int_equal(lb_strbuf_append(&b, "0123456789"), 0);
  assert_int_equal(lb_strbuf_append(&b, "x"), -1);
  assert_string_equal(b.buf, "0123456789");
  lb_strbuf_release(&b);
}

static void test_reset_of_unused_buffer(void **state)
{
  (void)state;
  lb_strbuf b;
  lb_strbuf_init(&b, 0);
  lb_strbuf_reset(&b);
  assert_int_equal(b.len, 0);
  assert_int_equal(lb_strbuf_append(&b, "x"), 0);
  assert_string_equal(b.buf, "x");
  lb_strbuf_release(&b);
}

static void test_release_empties_and_accepts_null(void **state)
{
  (void)state;
  lb_strbuf b;
  lb_strbuf_init(&b, 7);
  assert_int_equal(lb_strbuf_append(&b, "abc"), 0);
  lb_strbuf_release(&b);
  assert_null(b.buf);
  assert_int_equal(b.len, 0);
  assert_int_equal(b.cap, 0);
  assert_false(b.overflow);
  lb_strbuf_release(&b); /* twice is harmless */
  lb_strbuf_release(NULL);
  /* Reusable after release. */
  assert_int_equal(lb_strbuf_append(&b, "def"), 0);
  assert_string_equal(b.buf, "def");
  lb_strbuf_release(&b);
}

static void test_base64(void **state)
{
  (void)state;
  static const struct {
    const char *in, *out;
  } cases[] = { { "", "" },
                { "f", "Zg==" },
                { "fo", "Zm8=" },
                { "foo", "Zm9v" },
                { "user:p\xc3\xa4ss", "dXNlcjpww6Rzcw==" } };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    lb_strbuf b;
    lb_strbuf_init(&b, 0);
    assert_int_equal(lb_strbuf_append_base64(&b, cases[i].in, strlen(cases[i].in)), 0);
    assert_string_equal(b.buf ? b.buf : "", cases[i].out);
    lb_strbuf_release(&b);
  }
  /* refused past the cap, the buffer as it was */
  lb_strbuf b;
  lb_strbuf_init(&b, 6);
  lb_strbuf_append(&b, "ab");
  assert_int_equal(lb_strbuf_append_base64(&b, "foobar", 6), -1);
  assert_string_equal(b.buf, "ab");
  assert_true(b.overflow);
  lb_strbuf_release(&b);
}

static void test_contains_nocase(void **state)
{
  (void)state;
  static const char hay[] = "HTTP 400: The Token Has EXPIRED\0token has expired";
  size_t first = strlen(hay); /* up to the NUL */
  const struct {
    size_t len;
    const char *needle;
    bool found;
  } cases[] = {
    { sizeof(hay) - 1, "token has expired", true },
    { sizeof(hay) - 1, "http 400", true }, /* at the start */
    { first, "has expired", true },        /* at the very end of the range */
    { first - 1, "has expired", false },   /* one byte short */
    { first + 6, "expired token", false }, /* a NUL is not a space */
    { sizeof(hay) - 1, "expired token", false },
    { sizeof(hay) - 1, "tokenhas", false },
    { 4, "http 400", false }, /* range shorter than the needle */
    { 0, "h", false },
    { 0, "", true },
    { sizeof(hay) - 1, "", true },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    if (lb_strbuf_contains_nocase(hay, cases[i].len, cases[i].needle) != cases[i].found)
      fail_msg("case %zu \"%s\" in %zu bytes: want %d", i, cases[i].needle, cases[i].len,
               cases[i].found);
  /* the second copy, past the NUL, is found in the whole range */
  assert_true(lb_strbuf_contains_nocase(hay + first, sizeof(hay) - 1 - first, "TOKEN HAS"));
  assert_false(lb_strbuf_contains_nocase(NULL, 10, "x"));
  assert_true(lb_strbuf_contains_nocase(NULL, 0, ""));
}

/* RFC 3629: what is a character, what is not, where a cut may fall. */
/* Every position after ASCII runs of every length (the validator skips
 * them eight bytes at a time): a bad byte is found where it is, a good
 * sequence there passes. */
static void test_utf8_after_ascii(void **state)
{
  (void)state;
  static const char *const bad_seqs[] = { "\xff", "\x80", "\xc0\xaf", "\xed\xa0\x80", "\xe2\x82" };
  static const char *const good_seqs[] = { "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80" };
  char buf[64];
  for (size_t at = 0; at < 40; at++) {
    for (size_t k = 0; k < sizeof(bad_seqs) / sizeof(bad_seqs[0]); k++) {
      size_t n = strlen(bad_seqs[k]), where = 99;
      memset(buf, 'a', sizeof(buf));
      memcpy(buf + at, bad_seqs[k], n);
      assert_false(lb_strbuf_utf8_valid(buf, at + n + 3, &where));
      assert_int_equal(where, at);
    }
    for (size_t k = 0; k < sizeof(good_seqs) / sizeof(good_seqs[0]); k++) {
      size_t n = strlen(good_seqs[k]);
      memset(buf, 'a', sizeof(buf));
      memcpy(buf + at, good_seqs[k], n);
      assert_true(lb_strbuf_utf8_valid(buf, at + n, NULL));
      assert_true(lb_strbuf_utf8_valid(buf, at + n + 9, NULL));
      if (n > 1) /* cut short at the end */
        assert_false(lb_strbuf_utf8_valid(buf, at + n - 1, NULL));
    }
  }
}

/* lb_strbuf_concat against snprintf("%s%s%s") at every buffer size, the
 * bytes past what either writes untouched; lb_strbuf_i64 against PRId64. */
static void test_concat_and_i64(void **state)
{
  (void)state;
  static const char *const parts[][3] = {
    { "", "", "" },
    { "lb-", "0a1b2c3d", "-17" },
    { "Authorization: Bearer ", "tok.en/with+chars", "" },
    { "course", "-", "abc:def_1.2" },
    { "caf\xc3\xa9", " ", "\xe2\x82\xac" },
  };
  for (size_t k = 0; k < sizeof(parts) / sizeof(parts[0]); k++) {
    for (size_t len = 0; len <= 48; len++) {
      char want[64], got[64];
      memset(want, '#', sizeof(want));
      memset(got, '#', sizeof(got));
      snprintf(want, len, "%s%s%s", parts[k][0], parts[k][1], parts[k][2]);
      assert_ptr_equal(
          lb_strbuf_concat(got, len, parts[k][0], parts[k][1], parts[k][2], (char *)NULL), got);
      assert_memory_equal(got, want, sizeof(got));
    }
  }
  char one[8];
  assert_string_equal(lb_strbuf_concat(one, sizeof(one), (char *)NULL), "");

  static const int64_t values[] = { 0,
                                    1,
                                    -1,
                                    9,
                                    10,
                                    -10,
                                    99,
                                    100,
                                    404,
                                    -2147483648LL,
                                    INT64_MAX,
                                    INT64_MIN,
                                    INT64_MAX - 1,
                                    INT64_MIN + 1,
                                    1234567890123456789LL };
  for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
    char want[32], got[LB_STRBUF_I64_MAX];
    snprintf(want, sizeof(want), "%" PRId64, values[i]);
    assert_ptr_equal(lb_strbuf_i64(got, values[i]), got);
    assert_string_equal(got, want);
  }
  for (int64_t v = -100000; v <= 100000; v += 7) {
    char want[32], got[LB_STRBUF_I64_MAX];
    snprintf(want, sizeof(want), "%" PRId64, v);
    assert_string_equal(lb_strbuf_i64(got, v), want);
  }
}

static void test_utf8(void **state)
{
  (void)state;
  static const struct {
    const char *s;
    size_t len, seq; /* length of the first character, 0: none */
    bool valid;
    size_t bad;
  } cases[] = {
    { "a", 1, 1, true, 0 },
    { "\xC3\xA9t\xC3\xA9", 6, 2, true, 0 }, /* été */
    { "\xE2\x82\xAC", 3, 3, true, 0 },      /* U+20AC */
    { "\xF0\x9F\x98\x80", 4, 4, true, 0 },  /* U+1F600 */
    { "\xC0\x80", 2, 0, false, 0 },         /* overlong NUL */
    { "\xE0\x80\xAF", 3, 0, false, 0 },     /* overlong / */
    { "\xED\xA0\x80", 3, 0, false, 0 },     /* a surrogate */
    { "\xF4\x90\x80\x80", 4, 0, false, 0 }, /* past U+10FFFF */
    { "ab\xE2\x82", 4, 1, false, 2 },       /* cut short */
    { "ok\xFF", 3, 1, false, 2 },
    { "\x80", 1, 0, false, 0 }, /* a lone continuation */
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    size_t bad = 99;
    bool valid = lb_strbuf_utf8_valid(cases[i].s, cases[i].len, &bad);
    size_t seq = lb_strbuf_utf8_seq(cases[i].s, cases[i].len);
    if (valid != cases[i].valid || seq != cases[i].seq || (!valid && bad != cases[i].bad))
      fail_msg("case %zu: valid %d seq %zu bad %zu", i, valid, seq, bad);
  }
  assert_int_equal(lb_strbuf_utf8_seq("", 0), 0);
  assert_true(lb_strbuf_utf8_valid("", 0, NULL));
  /* "a€b": a cut inside the euro sign backs off to before it */
  const char *t = "a\xE2\x82\xAC"
                  "b";
  assert_int_equal(lb_strbuf_utf8_floor(t, 5, 0), 0);
  assert_int_equal(lb_strbuf_utf8_floor(t, 5, 1), 1);
  assert_int_equal(lb_strbuf_utf8_floor(t, 5, 2), 1);
  assert_int_equal(lb_strbuf_utf8_floor(t, 5, 3), 1);
  assert_int_equal(lb_strbuf_utf8_floor(t, 5, 4), 4);
  assert_int_equal(lb_strbuf_utf8_floor(t, 5, 9), 5);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_init_is_empty),
    cmocka_unit_test(test_append_concatenates),
    cmocka_unit_test(test_append_len_keeps_embedded_bytes),
    cmocka_unit_test(test_append_grows_past_many_reallocations),
    cmocka_unit_test(test_appendf_short),
    cmocka_unit_test(test_appendf_long_results),
    cmocka_unit_test(test_cap_allows_exactly_max),
    cmocka_unit_test(test_cap_refusal_leaves_buffer_unchanged),
    cmocka_unit_test(test_cap_refusal_on_empty_buffer),
    cmocka_unit_test(test_cap_huge_length_does_not_wrap),
    cmocka_unit_test(test_json_string_escaping),
    cmocka_unit_test(test_json_escape_every_byte),
    cmocka_unit_test(test_json_string_round_trips_all_control_chars),
    cmocka_unit_test(test_json_string_appends_after_existing_text),
    cmocka_unit_test(test_json_string_refused_midway_is_all_or_nothing),
    cmocka_unit_test(test_detach_hands_over_and_empties),
    cmocka_unit_test(test_detach_of_unused_buffer_is_empty_string),
    cmocka_unit_test(test_reset_keeps_memory_and_cap),
    cmocka_unit_test(test_reset_of_unused_buffer),
    cmocka_unit_test(test_release_empties_and_accepts_null),
    cmocka_unit_test(test_contains_nocase),
    cmocka_unit_test(test_utf8),
    cmocka_unit_test(test_concat_and_i64),
    cmocka_unit_test(test_utf8_after_ascii),
    cmocka_unit_test(test_base64),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
