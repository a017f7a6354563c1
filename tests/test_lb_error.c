/* lb_error: every code has its own name and a message; codes outside the
 * list get a fixed fallback, never NULL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <string.h>

#include "lb_error.h"

/* The list as the rest of the project (and its logs) knows it. Append
 * only: a code that moves or changes name breaks this table. */
static const struct {
  lb_err code;
  int value;
  const char *name;
} known[] = {
  { LB_E_OK, 0, "OK" },
  { LB_E_NOMEM, 1, "NOMEM" },
  { LB_E_INVALID, 2, "INVALID" },
  { LB_E_IO, 3, "IO" },
  { LB_E_CONFIG, 4, "CONFIG" },
  { LB_E_SECRET, 5, "SECRET" },
  { LB_E_PARSE, 6, "PARSE" },
  { LB_E_EVENT, 7, "EVENT" },
  { LB_E_MAPPING, 8, "MAPPING" },
  { LB_E_TOO_BIG, 9, "TOO_BIG" },
  { LB_E_NOT_FOUND, 10, "NOT_FOUND" },
};

static void test_known_codes(void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
    assert_int_equal(known[i].code, known[i].value);
    assert_string_equal(lb_err_name(known[i].code), known[i].name);
  }
  assert_true(LB_E__COUNT >= sizeof(known) / sizeof(known[0]));
  assert_string_equal(lb_strerror(LB_E_OK), "success");
  assert_string_equal(lb_strerror(LB_E_NOMEM), "out of memory");
}

static void test_every_code_distinct_name_and_message(void **state)
{
  (void)state;
  for (int i = 0; i < LB_E__COUNT; i++) {
    const char *name = lb_err_name((lb_err)i);
    const char *msg = lb_strerror((lb_err)i);
    assert_non_null(name);
    assert_non_null(msg);
    assert_true(strlen(name) > 0);
    assert_true(strlen(msg) > 0);
    assert_string_not_equal(name, "UNKNOWN");
    assert_string_not_equal(msg, "unknown error");
    /* Names are upper-case identifiers; messages are lower-case prose. */
    for (const char *p = name; *p; p++)
      assert_true(isupper((unsigned char)*p) || *p == '_');
    assert_false(isupper((unsigned char)msg[0]));
    for (int j = 0; j < i; j++) {
      if (strcmp(name, lb_err_name((lb_err)j)) == 0)
        fail_msg("codes %d and %d share the name %s", i, j, name);
      if (strcmp(msg, lb_strerror((lb_err)j)) == 0)
        fail_msg("codes %d and %d share the message \"%s\"", i, j, msg);
    }
  }
}

static void test_unknown_codes(void **state)
{
  (void)state;
  static const int unknown[] = { LB_E__COUNT, LB_E__COUNT + 1, 1000, -1, -1000 };
  for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
    lb_err e = (lb_err)unknown[i];
    assert_non_null(lb_strerror(e));
    assert_non_null(lb_err_name(e));
    assert_string_equal(lb_strerror(e), "unknown error");
    assert_string_equal(lb_err_name(e), "UNKNOWN");
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_known_codes),
    cmocka_unit_test(test_every_code_distinct_name_and_message),
    cmocka_unit_test(test_unknown_codes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
