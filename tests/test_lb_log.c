/* lb_log: one JSON object per line ({"ts","level","msg", fields...} in
 * that order, with the fields' JSON types), level filtering, and
 * redaction: a registered secret never reaches the stream, wherever it
 * appears. Lines go to a tmpfile through lb_log_set_stream. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <json-c/json.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lb_log.h"
#include "lb_time.h"

static FILE *stream;

static int setup(void **state)
{
  (void)state;
  stream = tmpfile();
  if (!stream)
    return -1;
  lb_log_clear_secrets();
  lb_log_set_stream(stream);
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  lb_log_set_stream(NULL);
  lb_log_clear_secrets();
  lb_log_set_level(LB_LOG_INFO);
  if (stream)
    fclose(stream);
  stream = NULL;
  return 0;
}

/* Everything written so far; free() it. */
static char *captured(void)
{
  fflush(stream);
  long size = ftell(stream);
  assert_true(size >= 0);
  char *text = malloc((size_t)size + 1);
  assert_non_null(text);
  rewind(stream);
  size_t n = fread(text, 1, (size_t)size, stream);
  assert_int_equal(n, (size_t)size);
  text[n] = '\0';
  fseek(stream, 0, SEEK_END);
  return text;
}

static size_t count_lines(const char *text)
{
  size_t n = 0;
  for (const char *p = text; *p; p++)
    if (*p == '\n')
      n++;
  return n;
}

/* Strict-parses one line (without its '\n') as a JSON object. */
static json_object *parse_line(const char *line, size_t len)
{
  json_tokener *tok = json_tokener_new();
  assert_non_null(tok);
  json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
  json_object *o = json_tokener_parse_ex(tok, line, (int)len);
  if (json_tokener_get_error(tok) != json_tokener_success || json_tokener_get_parse_end(tok) != len)
    fail_msg("not one JSON value: %.*s", (int)len, line);
  json_tokener_free(tok);
  assert_true(json_object_is_type(o, json_type_object));
  return o;
}

/* The only line written since setup, parsed. */
static json_object *only_line(void)
{
  char *text = captured();
  assert_int_equal(count_lines(text), 1);
  size_t len = strlen(text);
  assert_int_equal(text[len - 1], '\n');
  json_object *o = parse_line(text, len - 1);
  free(text);
  return o;
}

static const char *get_str(json_object *o, const char *key)
{
  json_object *v;
  if (!json_object_object_get_ex(o, key, &v))
    fail_msg("no field \"%s\"", key);
  assert_true(json_object_is_type(v, json_type_string));
  return json_object_get_string(v);
}

static void assert_not_in_output(const char *needle)
{
  char *text = captured();
  if (strstr(text, needle))
    fail_msg("\"%s\" appears in: %s", needle, text);
  free(text);
}

/* Runs first, before anything changes the level. */
static void test_default_level_is_info(void **state)
{
  (void)state;
  assert_int_equal(lb_log_get_level(), LB_LOG_INFO);
  lb_log(LB_LOG_DEBUG, "hidden");
  lb_log(LB_LOG_INFO, "shown");
  json_object *o = only_line();
  assert_string_equal(get_str(o, "msg"), "shown");
  json_object_put(o);
}

static void test_line_has_ts_level_msg(void **state)
{
  (void)state;
  int64_t before = lb_time_now_ms();
  lb_log(LB_LOG_WARN, "disk is slow");
  int64_t after = lb_time_now_ms();
  json_object *o = only_line();

  const char *ts = get_str(o, "ts");
  /* YYYY-MM-DDTHH:MM:SS.mmmZ */
  const char *shape = "dddd-dd-ddTdd:dd:dd.dddZ";
  assert_int_equal(strlen(ts), strlen(shape));
  for (size_t i = 0; shape[i]; i++) {
    if (shape[i] == 'd')
      assert_true(ts[i] >= '0' && ts[i] <= '9');
    else
      assert_int_equal(ts[i], shape[i]);
  }
  int64_t ms;
  assert_int_equal(lb_time_parse_rfc3339(ts, &ms), LB_E_OK);
  assert_true(ms >= before - 1 && ms <= after + 1);

  assert_string_equal(get_str(o, "level"), "warn");
  assert_string_equal(get_str(o, "msg"), "disk is slow");
  assert_int_equal(json_object_object_length(o), 3);
  json_object_put(o);
}

static void test_fields_in_order_with_types(void **state)
{
  (void)state;
  lb_log(LB_LOG_ERROR, "delivery failed", LB_S("integration", "acme-degreed"), LB_I("status", 503),
         LB_D("seconds", 1.25), LB_S("user", NULL), LB_I("neg", -7), LB_I("big", LLONG_MAX),
         LB_I("small", LLONG_MIN), LB_D("ratio", 0.1), LB_D("nan", NAN), LB_D("inf", INFINITY),
         LB_S("empty", ""), LB_D("pi", 3.141592653589793));
  json_object *o = only_line();

  static const char *const order[] = { "ts",      "level", "msg", "integration", "status",
                                       "seconds", "user",  "neg", "big",         "small",
                                       "ratio",   "nan",   "inf", "empty",       "pi" };
  size_t i = 0;
  json_object_object_foreach(o, key, val)
  {
    (void)val;
    assert_true(i < sizeof(order) / sizeof(order[0]));
    assert_string_equal(key, order[i]);
    i++;
  }
  assert_int_equal(i, sizeof(order) / sizeof(order[0]));

  assert_string_equal(get_str(o, "level"), "error");
  assert_string_equal(get_str(o, "integration"), "acme-degreed");
  assert_string_equal(get_str(o, "empty"), "");

  json_object *v;
  assert_true(json_object_object_get_ex(o, "status", &v));
  assert_true(json_object_is_type(v, json_type_int));
  assert_int_equal(json_object_get_int64(v), 503);
  assert_true(json_object_object_get_ex(o, "neg", &v));
  assert_true(json_object_is_type(v, json_type_int));
  assert_int_equal(json_object_get_int64(v), -7);
  assert_true(json_object_object_get_ex(o, "big", &v));
  assert_true(json_object_get_int64(v) == LLONG_MAX);
  assert_true(json_object_object_get_ex(o, "small", &v));
  assert_true(json_object_get_int64(v) == LLONG_MIN);

  assert_true(json_object_object_get_ex(o, "seconds", &v));
  assert_true(json_object_is_type(v, json_type_double));
  assert_true(json_object_get_double(v) == 1.25);
  assert_true(json_object_object_get_ex(o, "ratio", &v));
  assert_true(json_object_is_type(v, json_type_double));
  assert_true(json_object_get_double(v) == 0.1);

  assert_true(json_object_object_get_ex(o, "pi", &v));
  assert_true(json_object_is_type(v, json_type_double));
  assert_true(fabs(json_object_get_double(v) - 3.141592653589793) < 1e-13);

  assert_true(json_object_object_get_ex(o, "user", &v));
  assert_null(v); /* JSON null */
  assert_true(json_object_object_get_ex(o, "nan", &v));
  assert_null(v);
  assert_true(json_object_object_get_ex(o, "inf", &v));
  assert_null(v);
  json_object_put(o);
}

static void test_special_characters_are_escaped(void **state)
{
  (void)state;
  const char *msg = "quote \" backslash \\ newline \n tab \t ctrl \x01 "
                    "utf8 caf\xc3\xa9 \xf0\x9f\x98\x80";
  lb_log(LB_LOG_INFO, msg, LB_S("k\"ey\n", "v\\al\x1f"));
  json_object *o = only_line();
  assert_string_equal(get_str(o, "msg"), msg);
  assert_string_equal(get_str(o, "k\"ey\n"), "v\\al\x1f");
  json_object_put(o);
}

static void test_level_filtering(void **state)
{
  (void)state;
  static const struct {
    lb_log_level min;
    const char *expect; /* levels written, in order */
  } cases[] = {
    { LB_LOG_DEBUG, "debug,info,warn,error," },
    { LB_LOG_INFO, "info,warn,error," },
    { LB_LOG_WARN, "warn,error," },
    { LB_LOG_ERROR, "error," },
  };
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    assert_int_equal(ftruncate(fileno(stream), 0), 0);
    rewind(stream);
    lb_log_set_level(cases[c].min);
    assert_int_equal(lb_log_get_level(), cases[c].min);
    for (lb_log_level l = LB_LOG_DEBUG; l <= LB_LOG_ERROR; l++)
      lb_log(l, "m", LB_I("l", l));

    char *text = captured();
    char got[64] = "";
    size_t glen = 0;
    char *line = text;
    for (char *nl; (nl = strchr(line, '\n')); line = nl + 1) {
      json_object *o = parse_line(line, (size_t)(nl - line));
      glen += (size_t)snprintf(got + glen, sizeof(got) - glen, "%s,", get_str(o, "level"));
      assert_true(glen < sizeof(got));
      json_object_put(o);
    }
    assert_string_equal(line, ""); /* nothing after the last newline */
    assert_string_equal(got, cases[c].expect);
    free(text);
  }
}

static void test_level_parse_table(void **state)
{
  (void)state;
  static const struct {
    const char *name;
    int rc;
    lb_log_level level;
  } cases[] = {
    { "debug", 0, LB_LOG_DEBUG },
    { "info", 0, LB_LOG_INFO },
    { "warn", 0, LB_LOG_WARN },
    { "error", 0, LB_LOG_ERROR },
    { "warning", -1, 0 },
    { "INFO", -1, 0 },
    { "Debug", -1, 0 },
    { "", -1, 0 },
    { " info", -1, 0 },
    { "info ", -1, 0 },
    { "err", -1, 0 },
    { "trace", -1, 0 },
    { NULL, -1, 0 },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    lb_log_level got = (lb_log_level)99;
    int rc = lb_log_level_parse(cases[i].name, &got);
    if (rc != cases[i].rc)
      fail_msg("\"%s\": rc %d, want %d", cases[i].name ? cases[i].name : "(null)", rc, cases[i].rc);
    if (rc == 0) {
      assert_int_equal(got, cases[i].level);
      assert_string_equal(lb_log_level_name(got), cases[i].name);
    } else {
      assert_int_equal(got, 99); /* untouched */
    }
  }
  assert_non_null(lb_log_level_name((lb_log_level)42));
}

#define SECRET "s3cr3t-Tok3n-value"

static void test_secret_in_msg_is_redacted(void **state)
{
  (void)state;
  lb_log_add_secret(SECRET);
  lb_log(LB_LOG_INFO, "token " SECRET " refused, and again:" SECRET);
  assert_not_in_output(SECRET);
  json_object *o = only_line();
  assert_string_equal(get_str(o, "msg"), "token [REDACTED] refused, and again:[REDACTED]");
  json_object_put(o);
}

static void test_secret_in_field_value_is_redacted(void **state)
{
  (void)state;
  lb_log_add_secret(SECRET);
  lb_log(LB_LOG_ERROR, "token request failed", LB_S("body", "{\"access_token\":\"" SECRET "\"}"),
         LB_S("plain", SECRET));
  assert_not_in_output(SECRET);
  json_object *o = only_line();
  assert_string_equal(get_str(o, "body"), "{\"access_token\":\"[REDACTED]\"}");
  assert_string_equal(get_str(o, "plain"), "[REDACTED]");
  json_object_put(o);
}

static void test_secret_in_field_key_is_redacted(void **state)
{
  (void)state;
  lb_log_add_secret(SECRET);
  lb_log(LB_LOG_INFO, "odd key", LB_S("x-" SECRET, "v"));
  assert_not_in_output(SECRET);
  json_object *o = only_line();
  assert_string_equal(get_str(o, "x-[REDACTED]"), "v");
  json_object_put(o);
}

/* Where two secrets match at one position, the longer is replaced whole,
 * whichever was registered first. */
static void test_overlapping_secrets_longer_wins(void **state)
{
  (void)state;
  static const char *const orders[2][2] = {
    { "token", "token-123456789" },
    { "token-123456789", "token" },
  };
  for (int k = 0; k < 2; k++) {
    lb_log_clear_secrets();
    assert_int_equal(ftruncate(fileno(stream), 0), 0);
    rewind(stream);
    lb_log_add_secret(orders[k][0]);
    lb_log_add_secret(orders[k][1]);
    lb_log(LB_LOG_INFO, "a token-123456789 b token c");
    assert_not_in_output("123456789");
    json_object *o = only_line();
    assert_string_equal(get_str(o, "msg"), "a [REDACTED] b [REDACTED] c");
    json_object_put(o);

    char out[64];
    lb_log_redact("token-123456789", out, sizeof(out));
    assert_string_equal(out, "[REDACTED]");
  }
}

/* A secret with a quote and a backslash appears raw in the text: neither
 * it nor its JSON-escaped form reaches the stream. */
/* Secrets overlapping at different offsets: no piece of either shows. */
static void test_overlapping_secrets_at_offsets(void **state)
{
  (void)state;
  char out[64];
  lb_log_add_secret("abcdef");
  lb_log_add_secret("cdefgh");
  lb_log_redact("x abcdefgh y", out, sizeof(out));
  assert_string_equal(out, "x [REDACTED] y");
  lb_log_redact("cdefgh abcdef", out, sizeof(out));
  assert_string_equal(out, "[REDACTED] [REDACTED]");
}

static void test_secret_with_json_special_characters(void **state)
{
  (void)state;
  const char *secret = "pa\"ss\\w0rd";
  const char *escaped = "pa\\\"ss\\\\w0rd";
  lb_log_add_secret(secret);
  char msg[128];
  snprintf(msg, sizeof(msg), "login with %s failed", secret);
  lb_log(LB_LOG_WARN, msg, LB_S("password", secret), LB_S(secret, "k"));
  assert_not_in_output(secret);
  assert_not_in_output(escaped);
  assert_not_in_output("ss\\\\w0rd");
  json_object *o = only_line();
  assert_string_equal(get_str(o, "msg"), "login with [REDACTED] failed");
  assert_string_equal(get_str(o, "password"), "[REDACTED]");
  assert_string_equal(get_str(o, "[REDACTED]"), "k");
  json_object_put(o);
}

static void test_short_secrets_are_ignored(void **state)
{
  (void)state;
  lb_log_add_secret("ab");
  lb_log_add_secret("x");
  lb_log_add_secret("");
  lb_log_add_secret(NULL);
  lb_log_add_secret("abc"); /* 3 bytes: the shortest that counts */
  lb_log(LB_LOG_INFO, "ab x abc abcd");
  json_object *o = only_line();
  assert_string_equal(get_str(o, "msg"), "ab x [REDACTED] [REDACTED]d");
  json_object_put(o);
}

static void test_remove_and_clear_secrets(void **state)
{
  (void)state;
  lb_log_add_secret("first-secret");
  lb_log_add_secret("second-secret");
  lb_log_add_secret("third-secret");
  lb_log_remove_secret("second-secret");
  lb_log_remove_secret("never-added");
  lb_log_remove_secret(NULL);
  char out[128];
  lb_log_redact("first-secret second-secret third-secret", out, sizeof(out));
  assert_string_equal(out, "[REDACTED] second-secret [REDACTED]");

  lb_log_clear_secrets();
  lb_log_redact("first-secret second-secret third-secret", out, sizeof(out));
  assert_string_equal(out, "first-secret second-secret third-secret");

  /* Usable again after clearing. */
  lb_log_add_secret("third-secret");
  lb_log(LB_LOG_INFO, "third-secret first-secret");
  json_object *o = only_line();
  assert_string_equal(get_str(o, "msg"), "[REDACTED] first-secret");
  json_object_put(o);
}

/* More secrets than the initial table holds. */
/* Thousands of secrets (a thousand customers' credentials and tokens),
 * many starting alike: every one is found wherever it stands in a line,
 * once added twice it is one, removing one leaves the others. */
static void test_many_secrets(void **state)
{
  (void)state;
  char s[32], out[128], line[128];
  for (int i = 0; i < 3000; i++) {
    snprintf(s, sizeof(s), "secret-%04d", i);
    lb_log_add_secret(s);
  }
  lb_log_add_secret("secret-0042"); /* again */
  for (int i = 0; i < 3000; i += 7) {
    snprintf(line, sizeof(line), "a secret-%04d b", i);
    lb_log_redact(line, out, sizeof(out));
    assert_string_equal(out, "a [REDACTED] b");
  }
  /* secrets that share a prefix, one inside another, side by side */
  lb_log_add_secret("sec");
  lb_log_redact("xsecret-2999secret-0001 se sec", out, sizeof(out));
  assert_string_equal(out, "x[REDACTED] se [REDACTED]");
  lb_log_remove_secret("secret-0042");
  lb_log_redact("secret-0042 secret-0043", out, sizeof(out));
  assert_string_equal(out, "[REDACTED]ret-0042 [REDACTED]"); /* "sec" still is one */
  lb_log_remove_secret("sec");
  lb_log_redact("secret-0042 secret-0043", out, sizeof(out));
  assert_string_equal(out, "secret-0042 [REDACTED]");
  lb_log_clear_secrets();
}

static void test_redact_copies_and_truncates(void **state)
{
  (void)state;
  char out[64];
  assert_ptr_equal(lb_log_redact("nothing to hide", out, sizeof(out)), out);
  assert_string_equal(out, "nothing to hide");

  lb_log_add_secret("SECRETVALUE");
  lb_log_redact("ab SECRETVALUE cd", out, sizeof(out));
  assert_string_equal(out, "ab [REDACTED] cd");

  /* Truncation applies to the redacted text: no prefix of the secret. */
  static const struct {
    const char *in;
    size_t outlen;
    const char *expect;
  } cases[] = {
    { "abSECRETVALUE", 8, "ab[REDA" },
    { "abSECRETVALUE", 3, "ab" },
    { "abSECRETVALUE", 13, "ab[REDACTED]" },
    { "abSECRETVALUE", 12, "ab[REDACTED" },
    { "abcdef", 4, "abc" },
    { "abcdef", 1, "" },
    { "", 10, "" },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    memset(out, '#', sizeof(out));
    lb_log_redact(cases[i].in, out, cases[i].outlen);
    assert_string_equal(out, cases[i].expect);
    /* Nothing written past outlen. */
    for (size_t k = cases[i].outlen; k < sizeof(out); k++)
      assert_int_equal(out[k], '#');
  }

  memset(out, '#', sizeof(out));
  lb_log_redact("abc", out, 0);
  assert_int_equal(out[0], '#');

  lb_log_redact(NULL, out, sizeof(out));
  assert_string_equal(out, "");
}

#define THREADS 4
#define LINES_PER_THREAD 300

static void *log_many(void *arg)
{
  char value[200];
  memset(value, 'a' + (int)(intptr_t)arg, sizeof(value) - 1);
  value[sizeof(value) - 1] = '\0';
  for (int i = 0; i < LINES_PER_THREAD; i++)
    lb_log(LB_LOG_INFO, "concurrent", LB_I("thread", (intptr_t)arg), LB_I("i", i),
           LB_S("pad", value));
  return NULL;
}

/* Lines from several threads are never interleaved. */
static void test_lines_from_threads_stay_whole(void **state)
{
  (void)state;
  pthread_t t[THREADS];
  for (intptr_t k = 0; k < THREADS; k++)
    assert_int_equal(pthread_create(&t[k], NULL, log_many, (void *)k), 0);
  for (int k = 0; k < THREADS; k++)
    pthread_join(t[k], NULL);

  char *text = captured();
  assert_int_equal(count_lines(text), THREADS * LINES_PER_THREAD);
  int seen[THREADS] = { 0 };
  char *line = text;
  for (char *nl; (nl = strchr(line, '\n')); line = nl + 1) {
    json_object *o = parse_line(line, (size_t)(nl - line));
    json_object *v;
    assert_true(json_object_object_get_ex(o, "thread", &v));
    int k = json_object_get_int(v);
    assert_true(k >= 0 && k < THREADS);
    assert_true(json_object_object_get_ex(o, "i", &v));
    assert_int_equal(json_object_get_int(v), seen[k]++); /* in order per thread */
    json_object_put(o);
  }
  free(text);
}

/* A throttled condition is due at once, then not before the interval has
 * passed, then again; each record of "next" is its own. */
static void test_due_once_per_interval(void **state)
{
  (void)state;
  int64_t next = 0, other = 0;
  assert_true(lb_log_due(&next, 1000, 30000));
  assert_int_equal(next, 31000);
  assert_false(lb_log_due(&next, 1001, 30000));
  assert_false(lb_log_due(&next, 30999, 30000));
  assert_int_equal(next, 31000);
  assert_true(lb_log_due(&other, 1001, 30000)); /* another condition */
  assert_true(lb_log_due(&next, 31000, 30000));
  assert_int_equal(next, 61000);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_default_level_is_info, setup, teardown),
    cmocka_unit_test_setup_teardown(test_line_has_ts_level_msg, setup, teardown),
    cmocka_unit_test_setup_teardown(test_fields_in_order_with_types, setup, teardown),
    cmocka_unit_test_setup_teardown(test_special_characters_are_escaped, setup, teardown),
    cmocka_unit_test_setup_teardown(test_level_filtering, setup, teardown),
    cmocka_unit_test_setup_teardown(test_level_parse_table, setup, teardown),
    cmocka_unit_test_setup_teardown(test_secret_in_msg_is_redacted, setup, teardown),
    cmocka_unit_test_setup_teardown(test_secret_in_field_value_is_redacted, setup, teardown),
    cmocka_unit_test_setup_teardown(test_secret_in_field_key_is_redacted, setup, teardown),
    cmocka_unit_test_setup_teardown(test_overlapping_secrets_longer_wins, setup, teardown),
    cmocka_unit_test_setup_teardown(test_overlapping_secrets_at_offsets, setup, teardown),
    cmocka_unit_test_setup_teardown(test_secret_with_json_special_characters, setup, teardown),
    cmocka_unit_test_setup_teardown(test_short_secrets_are_ignored, setup, teardown),
    cmocka_unit_test_setup_teardown(test_remove_and_clear_secrets, setup, teardown),
    cmocka_unit_test_setup_teardown(test_many_secrets, setup, teardown),
    cmocka_unit_test_setup_teardown(test_redact_copies_and_truncates, setup, teardown),
    cmocka_unit_test_setup_teardown(test_lines_from_threads_stay_whole, setup, teardown),
    cmocka_unit_test(test_due_once_per_interval),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
