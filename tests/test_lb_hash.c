/* lb_hash: the exact values (dlq-replay's group names depend on them). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "lb_hash.h"

static void test_published_vectors(void **state)
{
  (void)state;
  assert_true(lb_hash_str("") == 0x14650fb0739d0383ull);
  assert_true(lb_hash_str("a") == 0x44bd8ad473cd9906ull);
  assert_true(lb_hash_str("foobar") == 0x88fad7c0a8ff07f2ull);
  assert_true(lb_hash_str("acme\x1f"
                          "course-1") != lb_hash_str("acme\x1f"
                                                     "course-2"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_published_vectors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
