/* lb_list: order kept by every operation, the count, removal anywhere,
 * safe iteration while removing, concatenation, container-of. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>

#include "lb_list.h"

typedef struct {
  int v;
  lb_list_node a; /* in one list */
  lb_list_node b; /* in another at the same time */
} elem;

/* The list's values head to tail into out[] (room for max); checks the
 * back links and the count on the way. Returns how many. */
static size_t values(const lb_list *l, int *out, size_t max)
{
  size_t n = 0;
  const lb_list_node *prev = NULL;
  LB_LIST_EACH (elem, e, l, a) {
    assert_ptr_equal(e->a.prev, prev);
    prev = &e->a;
    assert_true(n < max);
    out[n++] = e->v;
  }
  assert_ptr_equal(l->tail, prev);
  assert_int_equal(lb_list_len(l), n);
  assert_int_equal(lb_list_empty(l), n == 0);
  return n;
}

#define ASSERT_VALUES(l, ...)                                                                      \
  do {                                                                                             \
    const int want_[] = { __VA_ARGS__ };                                                           \
    int got_[64];                                                                                  \
    size_t n_ = values((l), got_, 64);                                                             \
    assert_int_equal(n_, sizeof(want_) / sizeof(want_[0]));                                        \
    for (size_t i_ = 0; i_ < n_; i_++)                                                             \
      assert_int_equal(got_[i_], want_[i_]);                                                       \
  } while (0)

static void test_push_remove_pop_keep_order(void **state)
{
  (void)state;
  elem e[6];
  for (int i = 0; i < 6; i++)
    e[i] = (elem){ .v = i };
  lb_list l = { 0 };
  assert_true(lb_list_empty(&l));
  assert_null(lb_list_pop_front(&l));
  assert_null(LB_LIST_FIRST(&l, elem, a));
  assert_null(LB_LIST_LAST(&l, elem, a));

  lb_list_push_back(&l, &e[1].a);
  lb_list_push_back(&l, &e[2].a);
  lb_list_push_front(&l, &e[0].a);
  lb_list_push_back(&l, &e[4].a);
  lb_list_insert_before(&l, &e[4].a, &e[3].a);
  lb_list_insert_before(&l, NULL, &e[5].a);
  ASSERT_VALUES(&l, 0, 1, 2, 3, 4, 5);
  assert_ptr_equal(LB_LIST_FIRST(&l, elem, a), &e[0]);
  assert_ptr_equal(LB_LIST_LAST(&l, elem, a), &e[5]);
  assert_ptr_equal(LB_LIST_NEXT(&e[2], elem, a), &e[3]);
  assert_null(LB_LIST_NEXT(&e[5], elem, a));

  /* the middle, the head, the tail */
  lb_list_remove(&l, &e[3].a);
  assert_null(e[3].a.prev);
  assert_null(e[3].a.next);
  assert_false(lb_list_linked(&l, &e[3].a));
  ASSERT_VALUES(&l, 0, 1, 2, 4, 5);
  lb_list_remove(&l, &e[0].a);
  ASSERT_VALUES(&l, 1, 2, 4, 5);
  lb_list_remove(&l, &e[5].a);
  ASSERT_VALUES(&l, 1, 2, 4);
  assert_true(lb_list_linked(&l, &e[1].a)); /* the head: no prev */
  assert_true(lb_list_linked(&l, &e[4].a));

  assert_ptr_equal(lb_list_pop_front(&l), &e[1].a);
  assert_ptr_equal(lb_list_pop_front(&l), &e[2].a);
  ASSERT_VALUES(&l, 4);
  assert_ptr_equal(lb_list_pop_front(&l), &e[4].a);
  assert_true(lb_list_empty(&l));
  assert_null(l.tail);
  /* a removed node goes in again */
  lb_list_push_front(&l, &e[3].a);
  ASSERT_VALUES(&l, 3);
}

static void test_one_element_in_two_lists(void **state)
{
  (void)state;
  elem e[4];
  lb_list odd_first = { 0 }, all = { 0 };
  for (int i = 0; i < 4; i++) {
    e[i] = (elem){ .v = i };
    lb_list_push_front(&all, &e[i].b);
  }
  lb_list_push_back(&odd_first, &e[1].a);
  lb_list_push_back(&odd_first, &e[3].a);
  lb_list_push_back(&odd_first, &e[0].a);
  ASSERT_VALUES(&odd_first, 1, 3, 0);
  int n = 3;
  LB_LIST_EACH (elem, x, &all, b)
    assert_int_equal(x->v, n--);
  assert_int_equal(n, -1);
  /* the container of a node that is not the first member */
  assert_ptr_equal(LB_CONTAINER_OF(&e[2].b, elem, b), &e[2]);
  assert_ptr_equal(LB_LIST_ENTRY(&e[2].b, elem, b), &e[2]);
  assert_null(LB_LIST_ENTRY(NULL, elem, b));
}

/* Every other element removed, then every one freed, while iterating. */
static void test_safe_iteration_while_removing(void **state)
{
  (void)state;
  lb_list l = { 0 };
  for (int i = 0; i < 10; i++) {
    elem *e = calloc(1, sizeof(*e));
    assert_non_null(e);
    e->v = i;
    lb_list_push_back(&l, &e->a);
  }
  lb_list gone = { 0 };
  LB_LIST_EACH_SAFE (elem, e, &l, a) {
    if (e->v % 2 == 0) {
      lb_list_remove(&l, &e->a);
      lb_list_push_back(&gone, &e->a);
    }
  }
  ASSERT_VALUES(&l, 1, 3, 5, 7, 9);
  ASSERT_VALUES(&gone, 0, 2, 4, 6, 8);
  lb_list_concat(&l, &gone);
  size_t freed = 0;
  LB_LIST_EACH_SAFE (elem, e, &l, a) {
    lb_list_remove(&l, &e->a);
    free(e); /* the walk reads nothing of it after */
    freed++;
  }
  assert_int_equal(freed, 10);
  assert_true(lb_list_empty(&l));
  assert_null(l.tail);
}

static void test_concat(void **state)
{
  (void)state;
  elem e[5];
  for (int i = 0; i < 5; i++)
    e[i] = (elem){ .v = i };
  lb_list a = { 0 }, b = { 0 };
  lb_list_concat(&a, &b); /* both empty */
  assert_true(lb_list_empty(&a));
  lb_list_push_back(&b, &e[0].a);
  lb_list_concat(&a, &b); /* into an empty one */
  ASSERT_VALUES(&a, 0);
  assert_true(lb_list_empty(&b));
  lb_list_concat(&a, &b); /* an empty one in */
  ASSERT_VALUES(&a, 0);
  for (int i = 1; i < 5; i++)
    lb_list_push_back(&b, &e[i].a);
  lb_list_concat(&a, &b);
  ASSERT_VALUES(&a, 0, 1, 2, 3, 4);
  assert_int_equal(lb_list_len(&b), 0);
  assert_null(b.head);
  assert_null(b.tail);
  /* a list copied by value takes the elements */
  lb_list c = a;
  lb_list_init(&a);
  ASSERT_VALUES(&c, 0, 1, 2, 3, 4);
  assert_int_equal(values(&a, NULL, 0), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_push_remove_pop_keep_order),
    cmocka_unit_test(test_one_element_in_two_lists),
    cmocka_unit_test(test_safe_iteration_while_removing),
    cmocka_unit_test(test_concat),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
