/* lb_offsets: the watermark never passes a gap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>

#include "lb_offsets.h"

static void test_watermark_waits_for_the_slow_one(void **state)
{
  (void)state;
  lb_offsets o;
  lb_offsets_init(&o);
  for (int64_t off = 10; off < 15; off++)
    assert_int_equal(lb_offsets_add(&o, off), 0);
  assert_int_equal(lb_offsets_committable(&o), -1);
  /* 11..14 finish, 10 is slow: nothing committable */
  for (int64_t off = 11; off < 15; off++)
    assert_false(lb_offsets_done(&o, off));
  assert_int_equal(lb_offsets_committable(&o), -1);
  assert_int_equal(lb_offsets_oldest(&o), 10);
  assert_int_equal(lb_offsets_in_flight(&o), 5);
  /* 10 finishes: everything up to 14 is committable at once */
  assert_true(lb_offsets_done(&o, 10));
  assert_int_equal(lb_offsets_committable(&o), 15);
  assert_int_equal(lb_offsets_in_flight(&o), 0);
  assert_int_equal(lb_offsets_oldest(&o), -1);
  /* unknown or repeated offsets change nothing */
  assert_false(lb_offsets_done(&o, 12));
  assert_false(lb_offsets_done(&o, 99));
  lb_offsets_release(&o);
}

static void test_gaps_in_offsets_and_random_order(void **state)
{
  (void)state;
  lb_offsets o;
  lb_offsets_init(&o);
  enum { N = 5000 };
  static int64_t offs[N];
  /* offsets with holes (compacted or transaction markers), ring growth */
  for (int i = 0; i < N; i++) {
    offs[i] = 100 + 3 * i;
    assert_int_equal(lb_offsets_add(&o, offs[i]), 0);
  }
  /* finish in a shuffled order; the watermark is always the oldest
   * unfinished offset */
  srand(7);
  for (int i = N - 1; i > 0; i--) {
    int j = rand() % (i + 1);
    int64_t t = offs[i];
    offs[i] = offs[j];
    offs[j] = t;
  }
  int64_t last = -1;
  for (int i = 0; i < N; i++) {
    lb_offsets_done(&o, offs[i]);
    int64_t c = lb_offsets_committable(&o);
    assert_true(c >= last);
    if (lb_offsets_in_flight(&o))
      assert_true(c <= lb_offsets_oldest(&o));
    last = c;
  }
  assert_int_equal(lb_offsets_committable(&o), 100 + 3 * (N - 1) + 1);
  lb_offsets_release(&o);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_watermark_waits_for_the_slow_one),
    cmocka_unit_test(test_gaps_in_offsets_and_random_order),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
