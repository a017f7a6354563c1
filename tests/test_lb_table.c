/* lb_table: insert, find, remove; buckets that grow with the elements up
 * to the cap and no further; keys that share a bucket; the walk over every
 * element, also while removing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_hash.h"
#include "lb_list.h"
#include "lb_table.h"

typedef struct {
  lb_table_node tn;
  int v;
  bool seen;
  char key[24];
} elem;

static elem *find(const lb_table *t, const char *key)
{
  return LB_TABLE_ENTRY(lb_table_find(t, key), elem, tn);
}

/* n elements keyed "k<i>", value i. */
static elem *make(size_t n)
{
  elem *e = calloc(n, sizeof(*e));
  assert_non_null(e);
  for (size_t i = 0; i < n; i++) {
    snprintf(e[i].key, sizeof(e[i].key), "k%zu", i);
    e[i].v = (int)i;
  }
  return e;
}

static bool is_pow2(size_t n)
{
  return n && (n & (n - 1)) == 0;
}

static void test_insert_find_remove(void **state)
{
  (void)state;
  lb_table t = { 0 }; /* a zeroed table is empty, with the default cap */
  elem e[3] = { { .key = "acme\037course-1", .v = 1 },
                { .key = "acme\037course-2", .v = 2 },
                { .key = "globex\037course-1", .v = 3 } };
  assert_null(find(&t, "acme\037course-1"));
  assert_null(lb_table_first(&t));
  for (int i = 0; i < 3; i++)
    lb_table_insert(&t, &e[i].tn, e[i].key);
  assert_int_equal(lb_table_count(&t), 3);
  assert_ptr_equal(find(&t, "acme\037course-2"), &e[1]);
  assert_ptr_equal(find(&t, "globex\037course-1"), &e[2]);
  assert_null(find(&t, "acme\037course-3"));
  assert_null(find(&t, "acme")); /* a prefix is another key */
  assert_null(find(&t, ""));
  /* the key is the element's own string, not a copy */
  assert_ptr_equal(e[0].tn.key, e[0].key);

  lb_table_remove(&t, &e[1].tn);
  assert_int_equal(lb_table_count(&t), 2);
  assert_null(find(&t, "acme\037course-2"));
  assert_ptr_equal(find(&t, "acme\037course-1"), &e[0]);
  assert_ptr_equal(find(&t, "globex\037course-1"), &e[2]);
  /* in again, and the others out */
  lb_table_insert(&t, &e[1].tn, e[1].key);
  assert_ptr_equal(find(&t, "acme\037course-2"), &e[1]);
  lb_table_remove(&t, &e[0].tn);
  lb_table_remove(&t, &e[2].tn);
  lb_table_remove(&t, &e[1].tn);
  assert_int_equal(lb_table_count(&t), 0);
  assert_null(lb_table_first(&t));
  lb_table_release(&t);
}

/* The buckets double as elements come, never fewer than the elements,
 * and every element stays findable across each growth. */
static void test_growth(void **state)
{
  (void)state;
  enum { N = 5000 };
  elem *e = make(N);
  lb_table t;
  lb_table_init(&t, 0);
  assert_int_equal(lb_table_buckets(&t), 1);
  size_t growths = 0, last = 1;
  for (size_t i = 0; i < N; i++) {
    lb_table_insert(&t, &e[i].tn, e[i].key);
    size_t b = lb_table_buckets(&t);
    assert_true(is_pow2(b));
    assert_true(b >= lb_table_count(&t));
    if (b != last) {
      growths++;
      last = b;
      for (size_t j = 0; j <= i; j++)
        assert_ptr_equal(find(&t, e[j].key), &e[j]);
    }
  }
  assert_int_equal(lb_table_buckets(&t), 8192);
  assert_true(growths >= 10); /* 1, 8, 16, ... 8192 */
  for (size_t i = 0; i < N; i++)
    assert_int_equal(find(&t, e[i].key)->v, (int)i);
  lb_table_release(&t);
  assert_int_equal(lb_table_count(&t), 0);
  assert_int_equal(lb_table_buckets(&t), 1);
  free(e);
}

/* Past its cap a table keeps its buckets: longer chains, every element
 * still found. The cap is rounded down to a power of two. */
static void test_cap(void **state)
{
  (void)state;
  enum { N = 3000 };
  elem *e = make(N);
  const size_t caps[][2] = { { 16, 16 }, { 100, 64 }, { 4, 4 }, { 1, 1 } };
  for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
    lb_table t;
    lb_table_init(&t, caps[c][0]);
    for (size_t i = 0; i < N; i++) {
      lb_table_insert(&t, &e[i].tn, e[i].key);
      assert_true(lb_table_buckets(&t) <= caps[c][1]);
    }
    assert_int_equal(lb_table_buckets(&t), caps[c][1]);
    assert_int_equal(lb_table_count(&t), N);
    for (size_t i = 0; i < N; i++)
      assert_ptr_equal(find(&t, e[i].key), &e[i]);
    for (size_t i = 0; i < N; i += 2)
      lb_table_remove(&t, &e[i].tn);
    for (size_t i = 0; i < N; i++)
      assert_ptr_equal(find(&t, e[i].key), i % 2 ? &e[i] : NULL);
    lb_table_release(&t);
    /* release keeps the cap */
    for (size_t i = 0; i < N; i++)
      lb_table_insert(&t, &e[i].tn, e[i].key);
    assert_int_equal(lb_table_buckets(&t), caps[c][1]);
    lb_table_release(&t);
  }
  /* a cap above the default is the default */
  lb_table t;
  lb_table_init(&t, LB_TABLE_MAX_BUCKETS * 4);
  assert_int_equal(t.max_buckets, LB_TABLE_MAX_BUCKETS);
  free(e);
}

/* Keys that all land in one bucket of a grown table: found, removed
 * from the chain's head, middle and tail, the others untouched. */
static void test_keys_colliding_in_one_bucket(void **state)
{
  (void)state;
  enum { N = 40, MASK = 1023 };
  elem *e = calloc(N, sizeof(*e));
  assert_non_null(e);
  /* filler so the table has 1024 buckets */
  elem *fill = make(700);
  lb_table t = { 0 };
  for (size_t i = 0; i < 700; i++)
    lb_table_insert(&t, &fill[i].tn, fill[i].key);
  assert_int_equal(lb_table_buckets(&t), 1024);
  uint64_t target = lb_hash_str("x0") & MASK;
  size_t n = 0;
  for (unsigned i = 0; n < N; i++) {
    char key[24];
    snprintf(key, sizeof(key), "x%u", i);
    if ((lb_hash_str(key) & MASK) != target)
      continue;
    snprintf(e[n].key, sizeof(e[n].key), "%s", key);
    e[n].v = (int)n;
    n++;
  }
  for (size_t i = 0; i < N; i++)
    lb_table_insert(&t, &e[i].tn, e[i].key);
  assert_int_equal(lb_table_buckets(&t), 1024); /* 740 elements */
  /* they share one chain: its length is at least N */
  size_t chain = 0;
  for (lb_table_node *x = &e[N - 1].tn; x; x = x->next)
    chain++;
  assert_true(chain >= N);
  for (size_t i = 0; i < N; i++)
    assert_ptr_equal(find(&t, e[i].key), &e[i]);
  /* out: the chain's head (the last inserted), the first of them, one
   * in the middle */
  size_t gone[] = { N - 1, 0, N / 2 };
  for (size_t g = 0; g < 3; g++) {
    lb_table_remove(&t, &e[gone[g]].tn);
    for (size_t i = 0; i < N; i++) {
      bool removed = false;
      for (size_t h = 0; h <= g; h++)
        removed = removed || i == gone[h];
      assert_ptr_equal(find(&t, e[i].key), removed ? NULL : &e[i]);
    }
  }
  assert_int_equal(lb_table_count(&t), 700 + N - 3);
  lb_table_release(&t);
  free(fill);
  free(e);
}

/* The walk meets every element once, in each shape of table. */
static void walk_all(lb_table *t, elem *e, size_t n)
{
  for (size_t i = 0; i < n; i++)
    e[i].seen = false;
  size_t count = 0;
  for (lb_table_node *x = lb_table_first(t); x; x = lb_table_next(t, x)) {
    elem *el = LB_CONTAINER_OF(x, elem, tn);
    assert_false(el->seen);
    el->seen = true;
    count++;
  }
  assert_int_equal(count, lb_table_count(t));
}

static void test_iteration(void **state)
{
  (void)state;
  enum { N = 1000 };
  elem *e = make(N);
  lb_table t;
  lb_table_init(&t, 256);
  /* one bucket, then 8, ..., then past the cap */
  const size_t sizes[] = { 1, 2, 8, 9, 100, 256, 257, N };
  size_t have = 0;
  for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
    for (; have < sizes[s]; have++)
      lb_table_insert(&t, &e[have].tn, e[have].key);
    walk_all(&t, e, have);
    for (size_t i = 0; i < have; i++)
      assert_true(e[i].seen);
  }
  /* removing each node after taking its next: the walk goes on, and
   * every node is met */
  size_t met = 0;
  for (lb_table_node *x = lb_table_first(&t), *next; x; x = next) {
    next = lb_table_next(&t, x);
    if (LB_CONTAINER_OF(x, elem, tn)->v % 3 == 0)
      lb_table_remove(&t, x);
    met++;
  }
  assert_int_equal(met, N);
  assert_int_equal(lb_table_count(&t), N - (N + 2) / 3);
  walk_all(&t, e, N);
  for (size_t i = 0; i < N; i++)
    assert_int_equal(e[i].seen, i % 3 != 0);
  lb_table_release(&t);
  free(e);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_insert_find_remove),
    cmocka_unit_test(test_growth),
    cmocka_unit_test(test_cap),
    cmocka_unit_test(test_keys_colliding_in_one_bucket),
    cmocka_unit_test(test_iteration),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
