/* lb_secret: "@env:NAME" and "@file:/path" references resolve to the
 * value; every failure returns LB_E_SECRET, leaves *ret untouched and
 * explains itself without ever quoting the secret. Files are created
 * under LB_TEST_TMP and removed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lb_secret.h"

#define VALUE "Zq8-secret-VALUE-7x"
#define ENV_NAME "LB_TEST_SECRET_VAR"

static char path[512];
static char ref[600];
static char *const UNTOUCHED = (char *)"untouched";

/* Writes `len` bytes to the test file; ref becomes "@file:<path>". */
static void write_file(const char *data, size_t len)
{
  snprintf(path, sizeof(path), "%s/test_lb_secret.%ld", LB_TEST_TMP, (long)getpid());
  snprintf(ref, sizeof(ref), "@file:%s", path);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, len, f), len);
  assert_int_equal(fclose(f), 0);
}

static int teardown(void **state)
{
  (void)state;
  if (path[0])
    remove(path);
  path[0] = '\0';
  unsetenv(ENV_NAME);
  return 0;
}

static void expect_resolves(const char *r, const char *want)
{
  char *got = UNTOUCHED;
  char why[256] = "untouched";
  lb_err rc = lb_secret_resolve(r, &got, why, sizeof(why));
  if (rc != LB_E_OK)
    fail_msg("\"%s\": rc %s (%s)", r, lb_err_name(rc), why);
  assert_true(got != UNTOUCHED);
  assert_string_equal(why, "untouched"); /* error detail only on failure */
  assert_string_equal(got, want);
  free(got);
}

/* Fails with LB_E_SECRET, *ret untouched, a reason that contains `word`
 * and none of the strings in `never` (NULL-terminated). */
static void expect_refused(const char *r, const char *word, const char *const *never)
{
  char *got = UNTOUCHED;
  char why[512] = "";
  lb_err rc = lb_secret_resolve(r, &got, why, sizeof(why));
  if (rc != LB_E_SECRET)
    fail_msg("\"%s\": rc %s, want SECRET", r ? r : "(null)", lb_err_name(rc));
  assert_ptr_equal(got, UNTOUCHED);
  if (why[0] == '\0')
    fail_msg("\"%s\": no reason given", r ? r : "(null)");
  if (word && !strstr(why, word))
    fail_msg("\"%s\": reason \"%s\" does not say \"%s\"", r ? r : "(null)", why, word);
  for (; never && *never; never++)
    if (strstr(why, *never))
      fail_msg("reason \"%s\" contains \"%s\"", why, *never);
}

static const char *const no_value[] = { VALUE, "VALUE", NULL };

static void test_is_ref_table(void **state)
{
  (void)state;
  static const struct {
    const char *value;
    bool ref;
  } cases[] = {
    { "@env:X", true },   { "@env:", true },         { "@file:/run/secrets/x", true },
    { "@file:", true },   { "@env", false },         { "@file", false },
    { "env:X", false },   { "file:/x", false },      { "@ENV:X", false },
    { " @env:X", false }, { "plain-secret", false }, { "", false },
    { NULL, false },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    if (lb_secret_is_ref(cases[i].value) != cases[i].ref)
      fail_msg("\"%s\": want %d", cases[i].value ? cases[i].value : "(null)", cases[i].ref);
}

static void test_env_set(void **state)
{
  (void)state;
  setenv(ENV_NAME, VALUE, 1);
  expect_resolves("@env:" ENV_NAME, VALUE);
  /* The value is kept as is: spaces and a trailing newline included. */
  setenv(ENV_NAME, " spaced value\n", 1);
  expect_resolves("@env:" ENV_NAME, " spaced value\n");
}

static void test_env_result_is_a_copy(void **state)
{
  (void)state;
  setenv(ENV_NAME, VALUE, 1);
  char *got = NULL;
  char why[128];
  assert_int_equal(lb_secret_resolve("@env:" ENV_NAME, &got, why, sizeof(why)), LB_E_OK);
  assert_ptr_not_equal(got, getenv(ENV_NAME));
  setenv(ENV_NAME, "changed", 1);
  assert_string_equal(got, VALUE);
  free(got);
}

static void test_env_unset(void **state)
{
  (void)state;
  unsetenv(ENV_NAME);
  expect_refused("@env:" ENV_NAME, ENV_NAME, no_value);
}

static void test_env_empty_name(void **state)
{
  (void)state;
  expect_refused("@env:", NULL, no_value);
}

static void test_env_empty_value(void **state)
{
  (void)state;
  setenv(ENV_NAME, "", 1);
  expect_refused("@env:" ENV_NAME, "empty", no_value);
}

static void test_file_variants(void **state)
{
  (void)state;
  static const struct {
    const char *data;
    size_t len;
    const char *value;
  } cases[] = {
    { VALUE, sizeof(VALUE) - 1, VALUE },
    { VALUE "\n", sizeof(VALUE), VALUE },
    { VALUE "\r\n", sizeof(VALUE) + 1, VALUE },
    { VALUE "\n\n", sizeof(VALUE) + 1, VALUE "\n" }, /* one newline only */
    { " " VALUE " ", sizeof(VALUE) + 1, " " VALUE " " },
    { "line1\nline2\n", 12, "line1\nline2" },
    { "caf\xc3\xa9", 5, "caf\xc3\xa9" },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    write_file(cases[i].data, cases[i].len);
    expect_resolves(ref, cases[i].value);
  }
}

static void test_file_of_exactly_max_size(void **state)
{
  (void)state;
  char *data = malloc(LB_SECRET_MAX);
  assert_non_null(data);
  memset(data, 'k', LB_SECRET_MAX);
  write_file(data, LB_SECRET_MAX);
  char *got = NULL;
  char why[256];
  assert_int_equal(lb_secret_resolve(ref, &got, why, sizeof(why)), LB_E_OK);
  assert_int_equal(strlen(got), LB_SECRET_MAX);
  assert_memory_equal(got, data, LB_SECRET_MAX);
  free(got);
  free(data);
}

static void test_file_over_64k(void **state)
{
  (void)state;
  size_t len = LB_SECRET_MAX + 1;
  char *data = malloc(len);
  assert_non_null(data);
  memset(data, 'k', len);
  memcpy(data, VALUE, strlen(VALUE));
  write_file(data, len);
  expect_refused(ref, "larger", no_value);
  free(data);
}

static void test_file_missing(void **state)
{
  (void)state;
  char missing[600];
  snprintf(missing, sizeof(missing), "@file:%s/test_lb_secret.does-not-exist", LB_TEST_TMP);
  expect_refused(missing, "does-not-exist", no_value);
}

static void test_file_empty_name(void **state)
{
  (void)state;
  expect_refused("@file:", NULL, no_value);
}

static void test_file_that_is_a_directory(void **state)
{
  (void)state;
  char dir[600];
  snprintf(dir, sizeof(dir), "@file:%s", LB_TEST_TMP);
  expect_refused(dir, NULL, no_value);
}

static void test_file_empty_or_only_newline(void **state)
{
  (void)state;
  write_file("", 0);
  expect_refused(ref, "empty", no_value);
  write_file("\n", 1);
  expect_refused(ref, "empty", no_value);
  write_file("\r\n", 2);
  expect_refused(ref, "empty", no_value);
}

static void test_file_with_nul_byte(void **state)
{
  (void)state;
  static const char data[] = VALUE "\0"
                                   "tail-part-of-secret";
  write_file(data, sizeof(data) - 1);
  static const char *const never[] = { VALUE, "tail-part-of-secret", NULL };
  expect_refused(ref, "NUL", never);

  static const char lead[] = "\0" VALUE;
  write_file(lead, sizeof(lead) - 1);
  expect_refused(ref, "NUL", never);
}

/* A literal value where a reference is required is refused, and the
 * refusal does not repeat it. */
static void test_literal_value_refused(void **state)
{
  (void)state;
  expect_refused(VALUE, NULL, no_value);
  static const char *const never_env[] = { "env:" VALUE, NULL };
  expect_refused("env:" VALUE, NULL, never_env);
  expect_refused("", NULL, NULL);
  expect_refused(NULL, NULL, NULL);
}

/* The form alone: a reference naming something passes whether or not the
 * variable is set or the file exists; the reasons are those resolve gives. */
static void test_check_ref_table(void **state)
{
  (void)state;
  static const struct {
    const char *ref;
    lb_err rc;
    const char *why;
  } cases[] = {
    { "@env:" ENV_NAME, LB_E_OK, NULL },
    { "@file:/does/not/exist", LB_E_OK, NULL },
    { "@env:", LB_E_SECRET, "\"@env:\" names no variable" },
    { "@file:", LB_E_SECRET, "\"@file:\" names no file" },
    { "@env", LB_E_SECRET, "must be \"@env:NAME\" or \"@file:PATH\"" },
    { VALUE, LB_E_SECRET, "must be \"@env:NAME\" or \"@file:PATH\"" },
    { NULL, LB_E_SECRET, "must be \"@env:NAME\" or \"@file:PATH\"" },
  };
  unsetenv(ENV_NAME);
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char why[256] = "untouched";
    const char *r = cases[i].ref ? cases[i].ref : "(null)";
    lb_err rc = lb_secret_check_ref(cases[i].ref, why, sizeof(why));
    if (rc != cases[i].rc)
      fail_msg("\"%s\": rc %s, want %s", r, lb_err_name(rc), lb_err_name(cases[i].rc));
    if (strcmp(why, cases[i].why ? cases[i].why : "untouched") != 0)
      fail_msg("\"%s\": reason \"%s\"", r, why);
    if (cases[i].why) { /* resolve refuses it with the same words */
      char *got = UNTOUCHED;
      char rwhy[256] = "";
      assert_int_equal(lb_secret_resolve(cases[i].ref, &got, rwhy, sizeof(rwhy)), LB_E_SECRET);
      assert_ptr_equal(got, UNTOUCHED);
      assert_string_equal(rwhy, cases[i].why);
    }
  }
}

static void test_why_is_bounded(void **state)
{
  (void)state;
  char why[10];
  char *got = UNTOUCHED;
  memset(why, '#', sizeof(why));
  unsetenv(ENV_NAME);
  assert_int_equal(lb_secret_resolve("@env:" ENV_NAME, &got, why, sizeof(why)), LB_E_SECRET);
  assert_ptr_equal(got, UNTOUCHED);
  assert_int_equal(strlen(why), sizeof(why) - 1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(test_is_ref_table, teardown),
    cmocka_unit_test_teardown(test_env_set, teardown),
    cmocka_unit_test_teardown(test_env_result_is_a_copy, teardown),
    cmocka_unit_test_teardown(test_env_unset, teardown),
    cmocka_unit_test_teardown(test_env_empty_name, teardown),
    cmocka_unit_test_teardown(test_env_empty_value, teardown),
    cmocka_unit_test_teardown(test_file_variants, teardown),
    cmocka_unit_test_teardown(test_file_of_exactly_max_size, teardown),
    cmocka_unit_test_teardown(test_file_over_64k, teardown),
    cmocka_unit_test_teardown(test_file_missing, teardown),
    cmocka_unit_test_teardown(test_file_empty_name, teardown),
    cmocka_unit_test_teardown(test_file_that_is_a_directory, teardown),
    cmocka_unit_test_teardown(test_file_empty_or_only_newline, teardown),
    cmocka_unit_test_teardown(test_file_with_nul_byte, teardown),
    cmocka_unit_test_teardown(test_literal_value_refused, teardown),
    cmocka_unit_test_teardown(test_check_ref_table, teardown),
    cmocka_unit_test_teardown(test_why_is_bounded, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
