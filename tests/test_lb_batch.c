/* lb_batch: coalescing (the newest version wins), size and linger
 * triggers, one batch in flight, the minimum interval between batches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "lb_batch.h"

static int items[100];

static void test_newest_version_wins_in_place(void **state)
{
  (void)state;
  lb_batch_limits lim = { .max_items = 10, .linger_ms = 1000, .min_interval_ms = 0 };
  lb_batch *b = lb_batch_new(&lim);
  void *kept, *dropped;
  assert_int_equal(lb_batch_add(b, "A", 2, &items[0], 0, &kept, &dropped), LB_E_OK);
  assert_ptr_equal(kept, &items[0]);
  assert_null(dropped);
  lb_batch_add(b, "B", 1, &items[1], 10, &kept, &dropped);
  /* a newer A replaces the waiting one */
  lb_batch_add(b, "A", 3, &items[2], 20, &kept, &dropped);
  assert_ptr_equal(kept, &items[2]);
  assert_ptr_equal(dropped, &items[0]);
  /* an older A arriving late is the one dropped */
  lb_batch_add(b, "A", 1, &items[3], 30, &kept, &dropped);
  assert_ptr_equal(kept, &items[2]);
  assert_ptr_equal(dropped, &items[3]);
  /* the same version again: the later arrival wins */
  lb_batch_add(b, "B", 1, &items[4], 40, &kept, &dropped);
  assert_ptr_equal(kept, &items[4]);
  assert_ptr_equal(dropped, &items[1]);
  assert_int_equal(lb_batch_waiting(b), 2);
  /* linger counts from A's first arrival; A keeps its place */
  assert_int_equal(lb_batch_due_in(b, 500), 500);
  void *out[10];
  assert_int_equal(lb_batch_take(b, 999, out), 0);
  assert_int_equal(lb_batch_take(b, 1000, out), 2);
  assert_ptr_equal(out[0], &items[2]);
  assert_ptr_equal(out[1], &items[4]);
  lb_batch_destroy(b);
}

static void test_size_linger_in_flight_and_interval(void **state)
{
  (void)state;
  lb_batch_limits lim = { .max_items = 3, .linger_ms = 1000, .min_interval_ms = 5000 };
  lb_batch *b = lb_batch_new(&lim);
  void *kept, *dropped, *out[3];
  char key[8];
  assert_int_equal(lb_batch_due_in(b, 0), -1);
  for (int i = 0; i < 7; i++) {
    snprintf(key, sizeof(key), "k%d", i);
    lb_batch_add(b, key, 1, &items[i], 100, &kept, &dropped);
  }
  /* full: due at once, the first batch never waits for an interval */
  assert_int_equal(lb_batch_due_in(b, 100), 0);
  assert_int_equal(lb_batch_take(b, 100, out), 3);
  assert_ptr_equal(out[0], &items[0]);
  assert_ptr_equal(out[2], &items[2]);
  /* in flight: nothing else goes, even a full batch */
  assert_int_equal(lb_batch_due_in(b, 200), -1);
  assert_int_equal(lb_batch_take(b, 200, out), 0);
  /* a key that is in flight waits for the next batch as a new item */
  lb_batch_add(b, "k0", 2, &items[10], 300, &kept, &dropped);
  assert_null(dropped);
  lb_batch_done(b, 1000);
  /* the next one 5 s after the previous finished */
  assert_int_equal(lb_batch_due_in(b, 1000), 5000);
  assert_int_equal(lb_batch_take(b, 5999, out), 0);
  assert_int_equal(lb_batch_take(b, 6000, out), 3);
  assert_ptr_equal(out[0], &items[3]);
  lb_batch_done(b, 6000);
  /* two left (k6 and the new k0), not full: linger has long passed, the
   * interval decides */
  assert_int_equal(lb_batch_waiting(b), 2);
  assert_int_equal(lb_batch_due_in(b, 7000), 4000);
  assert_int_equal(lb_batch_take(b, 11000, out), 2);
  assert_ptr_equal(out[1], &items[10]);
  lb_batch_destroy(b);
}

static void test_remove_a_waiting_item(void **state)
{
  (void)state;
  lb_batch_limits lim = { .max_items = 10, .linger_ms = 0, .min_interval_ms = 0 };
  lb_batch *b = lb_batch_new(&lim);
  void *kept, *dropped, *out[10];
  lb_batch_add(b, "A", 1, &items[0], 0, &kept, &dropped);
  lb_batch_add(b, "B", 1, &items[1], 0, &kept, &dropped);
  assert_false(lb_batch_remove(b, "A", &items[1])); /* not the one waiting */
  assert_false(lb_batch_remove(b, "C", &items[0]));
  assert_true(lb_batch_remove(b, "A", &items[0]));
  assert_int_equal(lb_batch_waiting(b), 1);
  assert_int_equal(lb_batch_take(b, 0, out), 1);
  assert_ptr_equal(out[0], &items[1]);
  lb_batch_done(b, 0);
  assert_int_equal(lb_batch_due_in(b, 0), -1);
  lb_batch_destroy(b);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_newest_version_wins_in_place),
    cmocka_unit_test(test_size_linger_in_flight_and_interval),
    cmocka_unit_test(test_remove_a_waiting_item),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
