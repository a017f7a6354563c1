/* lb_state: the state record's value read strictly (a malformed one is
 * refused, never half-read), its key, and the fingerprint of what the
 * catalog mappings send: the same content maps to the same fingerprint
 * whenever it is mapped, any change of what is sent changes it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_connector.h"
#include "lb_state.h"
#include "lb_test_events.h"

#define FP "0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0"

static void test_encode_decode_round_trip(void **state)
{
  (void)state;
  char err[256];
  lb_state_record in, out;
  lb_state_record_init(&in);
  in.version = 5;
  snprintf(in.fingerprint, sizeof(in.fingerprint), "%s", FP);
  in.lms_id = strdup("deg-42");
  in.delivered_at_ms = 1767323045123; /* 2026-01-02T03:04:05.123Z */
  char *text = lb_state_record_encode(&in);
  assert_non_null(text);
  assert_string_equal(text, "{\"v\":1,\"version\":5,\"fingerprint\":\"" FP "\","
                            "\"lms_id\":\"deg-42\",\"delivered_at\":\"2026-01-02T03:04:05.123Z\","
                            "\"archived\":false}");
  assert_int_equal(lb_state_record_decode(&out, text, strlen(text), err, sizeof(err)), LB_E_OK);
  assert_int_equal(out.version, 5);
  assert_string_equal(out.fingerprint, FP);
  assert_string_equal(out.lms_id, "deg-42");
  assert_int_equal(out.delivered_at_ms, 1767323045123);
  assert_false(out.archived);
  lb_state_record_release(&out);
  free(text);

  /* no LMS id (OCN), archived */
  free(in.lms_id);
  in.lms_id = NULL;
  in.archived = true;
  in.version = 0;
  text = lb_state_record_encode(&in);
  assert_non_null(text);
  assert_non_null(strstr(text, "\"lms_id\":null"));
  assert_int_equal(lb_state_record_decode(&out, text, strlen(text), err, sizeof(err)), LB_E_OK);
  assert_null(out.lms_id);
  assert_true(out.archived);
  assert_int_equal(out.version, 0);
  lb_state_record_release(&out);
  free(text);

  /* nothing invalid is written */
  snprintf(in.fingerprint, sizeof(in.fingerprint), "not-a-uuid");
  assert_null(lb_state_record_encode(&in));
  snprintf(in.fingerprint, sizeof(in.fingerprint), "%s", FP);
  in.lms_id = "";
  assert_null(lb_state_record_encode(&in));
  in.lms_id = NULL;
}

/* Values refused, each with the words its message must hold. */
static const struct {
  const char *value;
  const char *why;
} malformed[] = {
  { "", "empty" },
  { "not json", "not JSON" },
  { "{\"v\":1", "not JSON" },
  { "[1,2]", "not a JSON object" },
  { "{\"v\":1,\"version\":5,\"fingerprint\":\"" FP "\",\"lms_id\":null,"
    "\"delivered_at\":\"2026-01-02T03:04:05Z\"} trailing",
    "not JSON" },
  { "{\"version\":5,\"fingerprint\":\"" FP "\",\"lms_id\":null,"
    "\"delivered_at\":\"2026-01-02T03:04:05Z\"}",
    "\"v\" is missing" },
  { "{\"v\":2,\"version\":5,\"fingerprint\":\"" FP "\",\"lms_id\":null,"
    "\"delivered_at\":\"2026-01-02T03:04:05Z\"}",
    "format \"v\" 2" },
  { "{\"v\":\"1\",\"version\":5,\"fingerprint\":\"" FP "\",\"lms_id\":null,"
    "\"delivered_at\":\"2026-01-02T03:04:05Z\"}",
    "\"v\" must be an integer" },
  { "{\"v\":1,\"fingerprint\":\"" FP "\",\"lms_id\":null,"
    "\"delivered_at\":\"2026-01-02T03:04:05Z\"}",
    "\"version\" is missing" },
  { "{\"v\":1,\"version\":-1,\"fingerprint\":\"" FP "\",\"lms_id\":null,"
    "\"delivered_at\":\"2026-01-02T03:04:05Z\"}",
    "\"version\" must be >= 0" },
  { "{\"v\":1,\"version\":5.5,\"fingerprint\":\"" FP "\",\"lms_id\":null,"
    "\"delivered_at\":\"2026-01-02T03:04:05Z\"}",
    "\"version\" must be an integer" },
  { "{\"v\":1,\"version\":\"5\",\"fingerprint\":\"" FP "\",\"lms_id\":null,"
    "\"delivered_at\":\"2026-01-02T03:04:05Z\"}",
    "\"version\" must be an integer" },
  { "{\"v\":1,\"version\":5,\"lms_id\":null,\"delivered_at\":\"2026-01-02T03:04:05Z\"}",
    "\"fingerprint\" is missing" },
  { "{\"v\":1,\"version\":5,\"fingerprint\":\"0F1E2D3C-4B5A-5968-8776-A5B4C3D2E1F0\","
    "\"lms_id\":null,\"delivered_at\":\"2026-01-02T03:04:05Z\"}",
    "lowercase UUID" },
  { "{\"v\":1,\"version\":5,\"fingerprint\":\"0f1e2d3c\",\"lms_id\":null,"
    "\"delivered_at\":\"2026-01-02T03:04:05Z\"}",
    "lowercase UUID" },
  { "{\"v\":1,\"version\":5,\"fingerprint\":7,\"lms_id\":null,"
    "\"delivered_at\":\"2026-01-02T03:04:05Z\"}",
    "\"fingerprint\" must be a string" },
  { "{\"v\":1,\"version\":5,\"fingerprint\":\"" FP "\","
    "\"delivered_at\":\"2026-01-02T03:04:05Z\"}",
    "\"lms_id\" is missing" },
  { "{\"v\":1,\"version\":5,\"fingerprint\":\"" FP "\",\"lms_id\":42,"
    "\"delivered_at\":\"2026-01-02T03:04:05Z\"}",
    "\"lms_id\" must be a string or null" },
  { "{\"v\":1,\"version\":5,\"fingerprint\":\"" FP "\",\"lms_id\":\"\","
    "\"delivered_at\":\"2026-01-02T03:04:05Z\"}",
    "\"lms_id\" must be 1 to" },
  { "{\"v\":1,\"version\":5,\"fingerprint\":\"" FP "\",\"lms_id\":null}",
    "\"delivered_at\" is missing" },
  { "{\"v\":1,\"version\":5,\"fingerprint\":\"" FP "\",\"lms_id\":null,"
    "\"delivered_at\":\"yesterday\"}",
    "RFC 3339" },
  { "{\"v\":1,\"version\":5,\"fingerprint\":\"" FP "\",\"lms_id\":null,"
    "\"delivered_at\":\"2026-02-30T03:04:05Z\"}",
    "RFC 3339" },
  { "{\"v\":1,\"version\":5,\"fingerprint\":\"" FP "\",\"lms_id\":null,"
    "\"delivered_at\":\"2026-01-02T03:04:05Z\",\"archived\":\"yes\"}",
    "\"archived\" must be a boolean" },
};

static void test_malformed_values_are_refused(void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
    char err[256] = "";
    lb_state_record out = { .version = 99 };
    lb_err rc = lb_state_record_decode(&out, malformed[i].value, strlen(malformed[i].value), err,
                                       sizeof(err));
    if (rc != LB_E_PARSE || !strstr(err, malformed[i].why))
      fail_msg("case %zu %s: rc %d, err \"%s\", want \"%s\"", i, malformed[i].value, rc, err,
               malformed[i].why);
    assert_int_equal(out.version, 99); /* untouched */
  }
  /* a value with a NUL inside is not JSON */
  const char nul[] = "{\"v\":1}\0{}";
  char err[256];
  lb_state_record out;
  assert_int_equal(lb_state_record_decode(&out, nul, sizeof(nul) - 1, err, sizeof(err)),
                   LB_E_PARSE);
  /* an LMS id over the limit */
  char big[LB_STATE_LMS_ID_MAX + 300];
  int n =
      snprintf(big, sizeof(big), "{\"v\":1,\"version\":5,\"fingerprint\":\"" FP "\",\"lms_id\":\"");
  memset(big + n, 'a', LB_STATE_LMS_ID_MAX + 1);
  snprintf(big + n + LB_STATE_LMS_ID_MAX + 1, sizeof(big) - (size_t)n - LB_STATE_LMS_ID_MAX - 1,
           "\",\"delivered_at\":\"2026-01-02T03:04:05Z\"}");
  assert_int_equal(lb_state_record_decode(&out, big, strlen(big), err, sizeof(err)), LB_E_PARSE);
  /* other members are ignored, archived is optional */
  const char *extra = "{\"v\":1,\"version\":5,\"fingerprint\":\"" FP "\",\"lms_id\":null,"
                      "\"delivered_at\":\"2026-01-02T03:04:05+01:00\",\"note\":[1]}";
  assert_int_equal(lb_state_record_decode(&out, extra, strlen(extra), err, sizeof(err)), LB_E_OK);
  assert_false(out.archived);
  assert_int_equal(out.delivered_at_ms, 1767319445000);
  lb_state_record_release(&out);
}

static void test_keys(void **state)
{
  (void)state;
  char integ[LB_STATE_INTEGRATION_MAX + 1] = "x", item[LB_STATE_ITEM_MAX + 1] = "y";
  char *k = lb_state_key("acme-degreed", "course-42");
  assert_string_equal(k, "acme-degreed/course-42");
  assert_true(lb_state_key_split(k, strlen(k), integ, item));
  assert_string_equal(integ, "acme-degreed");
  assert_string_equal(item, "course-42");
  free(k);
  /* split at the first '/': a content id may hold one */
  assert_true(lb_state_key_split("acme/track-a/b", 14, integ, item));
  assert_string_equal(integ, "acme");
  assert_string_equal(item, "track-a/b");
  /* not keys: buffers untouched */
  strcpy(integ, "x");
  strcpy(item, "y");
  static const char *const bad[] = { "no-slash", "/course-1", "acme/", "" };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_false(lb_state_key_split(bad[i], strlen(bad[i]), integ, item));
  assert_false(lb_state_key_split(NULL, 0, integ, item));
  assert_false(lb_state_key_split("acme/c\0d", 8, integ, item));
  char longer[LB_STATE_INTEGRATION_MAX + 10];
  memset(longer, 'a', LB_STATE_INTEGRATION_MAX + 1);
  strcpy(longer + LB_STATE_INTEGRATION_MAX + 1, "/c-1");
  assert_false(lb_state_key_split(longer, strlen(longer), integ, item));
  assert_string_equal(integ, "x");
  assert_string_equal(item, "y");
}

static void add(lb_request_list *l, lb_method m, const char *url, const char *body)
{
  assert_int_equal(lb_request_list_add(l, LB_STEP_CREATE, m, url, body, "k"), LB_E_OK);
}

static void fingerprint(const lb_request_list *l, char *fp)
{
  assert_int_equal(lb_state_fingerprint(l, fp), LB_E_OK);
}

static void test_fingerprint_names_what_is_sent(void **state)
{
  (void)state;
  lb_request_list a, b;
  char fa[LB_STATE_FINGERPRINT_SIZE], fb[LB_STATE_FINGERPRINT_SIZE];
  lb_request_list_init(&a);
  lb_request_list_init(&b);
  assert_int_equal(lb_state_fingerprint(&a, fa), LB_E_INVALID); /* nothing sent */
  add(&a, LB_POST, "https://x.example/c", "{\"t\":1}");
  add(&a, LB_GET, "https://x.example/c?id=k", NULL);
  add(&b, LB_POST, "https://x.example/c", "{\"t\":1}");
  add(&b, LB_GET, "https://x.example/c?id=k", NULL);
  fingerprint(&a, fa);
  fingerprint(&b, fb);
  assert_string_equal(fa, fb);
  assert_int_equal(strlen(fa), 36);
  assert_int_equal(fa[14], '5'); /* a name-based (SHA-1) UUID */
  for (const char *c = fa; *c; c++)
    assert_true((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f') || *c == '-');

  /* each field counts: the method, the URL, a header, the body */
  lb_request_list_release(&b);
  lb_request_list_init(&b);
  add(&b, LB_PUT, "https://x.example/c", "{\"t\":1}");
  add(&b, LB_GET, "https://x.example/c?id=k", NULL);
  fingerprint(&b, fb);
  assert_string_not_equal(fa, fb);
  b.items[0].method = LB_POST;
  free(b.items[0].url);
  b.items[0].url = strdup("https://x.example/d");
  fingerprint(&b, fb);
  assert_string_not_equal(fa, fb);
  free(b.items[0].url);
  b.items[0].url = strdup("https://x.example/c");
  fingerprint(&b, fb);
  assert_string_equal(fa, fb);
  assert_int_equal(lb_request_list_add_header(&b, "X-Version: 2"), LB_E_OK);
  fingerprint(&b, fb);
  assert_string_not_equal(fa, fb);
  lb_request_list_release(&b);
  lb_request_list_init(&b);
  add(&b, LB_POST, "https://x.example/c", "{\"t\":2}");
  add(&b, LB_GET, "https://x.example/c?id=k", NULL);
  fingerprint(&b, fb);
  assert_string_not_equal(fa, fb);
  /* no body is not an empty body; fields cannot slide into each other */
  lb_request_list_release(&b);
  lb_request_list_init(&b);
  add(&b, LB_POST, "https://x.example/c", "{\"t\":1}");
  add(&b, LB_GET, "https://x.example/c?id=k", "");
  fingerprint(&b, fb);
  assert_string_not_equal(fa, fb);
  lb_request_list_release(&b);
  lb_request_list_init(&b);
  add(&b, LB_POST, "https://x.example/c", "{\"t\":1}\nGET 24:https://x.example/c?id=k\n-");
  fingerprint(&b, fb);
  assert_string_not_equal(fa, fb);
  lb_request_list_release(&a);
  lb_request_list_release(&b);
}

static const lb_provider provider = {
  .code = "datacamp",
  .ocn_provider_id = "DATACAMP",
  .logo_url = "https://cdn.example.com/logo.png",
  .assessment_num_questions = 15,
};

/* The fingerprint of `type`'s mapping of ev at time now_ms. */
static void mapped(lb_integ_type type, const lb_catalog_event *ev, const char *base, int64_t now_ms,
                   char *fp)
{
  lb_integration in = { .id = "acme",
                        .type = type,
                        .organization = "acme",
                        .api_base_url = (char *)base,
                        .catalog_public = true,
                        .catalog_custom_tracks = true };
  lb_request_list l;
  const char *why = NULL;
  lb_request_list_init(&l);
  assert_int_equal(lb_connector_of(type)->map_catalog(ev, &in, &provider, now_ms, &l, &why),
                   LB_E_OK);
  assert_true(l.n > 0);
  fingerprint(&l, fp);
  lb_request_list_release(&l);
}

static void test_catalog_mappings_are_time_independent(void **state)
{
  (void)state;
  static const lb_integ_type types[] = { LB_INTEG_DEGREED, LB_INTEG_SUCCESSFACTORS };
  for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
    lb_catalog_event ev, changed, archived;
    char f1[LB_STATE_FINGERPRINT_SIZE], f2[LB_STATE_FINGERPRINT_SIZE];
    lb_test_catalog_item(&ev, "content.upserted", "course", "");
    lb_test_catalog_item(&changed, "content.upserted", "course", ",\"language\":\"de\"");
    lb_test_catalog_item(&archived, "content.archived", "course", "");
    /* mapped a day apart: nothing of the clock is sent */
    mapped(types[t], &ev, "https://lms.example", 1767323045000, f1);
    mapped(types[t], &ev, "https://lms.example", 1767323045000 + 86400000, f2);
    assert_string_equal(f1, f2);
    /* a change of content, of the archive state or of the endpoint shows */
    mapped(types[t], &changed, "https://lms.example", 1767323045000, f2);
    assert_string_not_equal(f1, f2);
    mapped(types[t], &archived, "https://lms.example", 1767323045000, f2);
    assert_string_not_equal(f1, f2);
    mapped(types[t], &ev, "https://other.example", 1767323045000, f2);
    assert_string_not_equal(f1, f2);
    lb_catalog_event_release(&ev);
    lb_catalog_event_release(&changed);
    lb_catalog_event_release(&archived);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_encode_decode_round_trip),
    cmocka_unit_test(test_malformed_values_are_refused),
    cmocka_unit_test(test_keys),
    cmocka_unit_test(test_fingerprint_names_what_is_sent),
    cmocka_unit_test(test_catalog_mappings_are_time_independent),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
