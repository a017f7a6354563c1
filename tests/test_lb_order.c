/* lb_order: one item at a time per key, in order; keys independent; the
 * next handed on when the first is done; keys forgotten when their chain
 * empties; an item given up while it waits; no memory for a key; 10,000
 * keys at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_order.h"

/* malloc as lb_order sees it (tests/CMakeLists.txt links this test with
 * --wrap=malloc): fails while fail_malloc is set. */
static bool fail_malloc;
void *__real_malloc(size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_malloc(size_t size)
{
  return fail_malloc ? NULL : __real_malloc(size);
}

typedef struct {
  lb_order_node node;
  int key; /* index of its key */
  int seq; /* place among the items of its key */
  bool running, finished;
} item;

static item *of(lb_order_node *n)
{
  return n ? LB_CONTAINER_OF(n, item, node) : NULL;
}

static const char *key_name(int k, char *buf, size_t len)
{
  snprintf(buf, len, "integ\037course-%d", k);
  return buf;
}

/* Enqueues it; it runs at once when lb_order says so. */
static bool enqueue(lb_order *o, item *it)
{
  char buf[64];
  bool now = lb_order_enqueue(o, &it->node, key_name(it->key, buf, sizeof(buf)));
  it->running = now;
  return now;
}

/* it is done; the item handed on, if any, runs. */
static item *done(lb_order *o, item *it)
{
  it->running = false;
  it->finished = true;
  item *next = of(lb_order_done(o, &it->node));
  if (next) {
    assert_false(next->running);
    next->running = true;
  }
  return next;
}

static void test_order_kept_per_key(void **state)
{
  (void)state;
  lb_order *o = lb_order_new();
  assert_non_null(o);
  item a[4] = {
    { .key = 1, .seq = 0 }, { .key = 1, .seq = 1 }, { .key = 1, .seq = 2 }, { .key = 1, .seq = 3 }
  };
  assert_true(enqueue(o, &a[0]));
  assert_false(enqueue(o, &a[1]));
  assert_false(enqueue(o, &a[2]));
  assert_int_equal(lb_order_keys(o), 1);
  assert_ptr_equal(done(o, &a[0]), &a[1]);
  assert_false(a[2].running);
  /* one enqueued while the chain runs goes last */
  assert_false(enqueue(o, &a[3]));
  assert_ptr_equal(done(o, &a[1]), &a[2]);
  assert_ptr_equal(done(o, &a[2]), &a[3]);
  assert_int_equal(lb_order_keys(o), 1);
  assert_null(done(o, &a[3]));
  assert_int_equal(lb_order_keys(o), 0);
  lb_order_destroy(o);
}

static void test_independent_keys(void **state)
{
  (void)state;
  lb_order *o = lb_order_new();
  item a1 = { .key = 1 }, a2 = { .key = 1 }, b1 = { .key = 2 }, b2 = { .key = 2 },
       c1 = { .key = 3 };
  assert_true(enqueue(o, &a1));
  assert_true(enqueue(o, &b1)); /* another key does not wait for a1 */
  assert_false(enqueue(o, &a2));
  assert_false(enqueue(o, &b2));
  assert_true(enqueue(o, &c1));
  assert_int_equal(lb_order_keys(o), 3);
  /* b1 done hands on b2, not a2 */
  assert_ptr_equal(done(o, &b1), &b2);
  assert_false(a2.running);
  assert_null(done(o, &c1));
  assert_int_equal(lb_order_keys(o), 2);
  assert_ptr_equal(done(o, &a1), &a2);
  assert_null(done(o, &b2));
  assert_null(done(o, &a2));
  assert_int_equal(lb_order_keys(o), 0);
  lb_order_destroy(o);
}

/* A forgotten key starts afresh; the key is lb_order's copy, not the
 * caller's string. */
static void test_key_forgotten_and_copied(void **state)
{
  (void)state;
  lb_order *o = lb_order_new();
  char key[32] = "acme\037course-7";
  item x = { 0 }, y = { 0 }, z = { 0 };
  assert_true(lb_order_enqueue(o, &x.node, key));
  memset(key, 'q', sizeof(key) - 1); /* the caller's buffer changes */
  assert_false(lb_order_enqueue(o, &y.node, "acme\037course-7"));
  assert_ptr_equal(lb_order_done(o, &x.node), &y.node);
  assert_null(lb_order_done(o, &y.node));
  assert_int_equal(lb_order_keys(o), 0);
  assert_true(lb_order_enqueue(o, &z.node, "acme\037course-7"));
  assert_int_equal(lb_order_keys(o), 1);
  assert_null(lb_order_done(o, &z.node));
  assert_int_equal(lb_order_keys(o), 0);
  /* a node in no chain (never enqueued, or done already) */
  assert_null(lb_order_done(o, &z.node));
  item never = { 0 };
  assert_null(lb_order_done(o, &never.node));
  lb_order_destroy(o);
}

/* An item given up while it waits leaves its chain without starting
 * anything; the first still runs and hands on to the one after it. */
static void test_waiting_item_given_up(void **state)
{
  (void)state;
  lb_order *o = lb_order_new();
  item a[4] = { { .key = 5 }, { .key = 5 }, { .key = 5 }, { .key = 5 } };
  for (int i = 0; i < 4; i++)
    assert_int_equal(enqueue(o, &a[i]), i == 0);
  assert_null(lb_order_done(o, &a[1].node)); /* the middle */
  assert_null(lb_order_done(o, &a[3].node)); /* the last */
  assert_true(a[0].running);
  assert_int_equal(lb_order_keys(o), 1);
  assert_ptr_equal(done(o, &a[0]), &a[2]);
  assert_null(done(o, &a[2]));
  assert_int_equal(lb_order_keys(o), 0);
  lb_order_destroy(o);
}

/* No memory for a new key: the item goes now, unordered (lb_order.h);
 * one enqueued on the same key later does not wait for it. */
static void test_no_memory_for_a_key(void **state)
{
  (void)state;
  lb_order *o = lb_order_new();
  item a = { .key = 9 }, b = { .key = 9 }, c = { .key = 9 };
  fail_malloc = true;
  bool now = enqueue(o, &a);
  fail_malloc = false;
  assert_true(now);
  assert_int_equal(lb_order_keys(o), 0);
  assert_true(enqueue(o, &b));
  assert_false(enqueue(o, &c));
  assert_null(done(o, &a)); /* in no chain: hands nothing on */
  assert_false(c.running);
  assert_ptr_equal(done(o, &b), &c);
  assert_null(done(o, &c));
  assert_int_equal(lb_order_keys(o), 0);
  lb_order_destroy(o);
}

/* Keys with items still waiting are freed by destroy (ASan: no leak). */
static void test_destroy_with_keys(void **state)
{
  (void)state;
  lb_order *o = lb_order_new();
  item it[100];
  for (int i = 0; i < 100; i++) {
    it[i] = (item){ .key = i % 7 };
    enqueue(o, &it[i]);
  }
  assert_int_equal(lb_order_keys(o), 7);
  lb_order_destroy(o);
  lb_order_destroy(NULL);
}

static uint64_t rng_next(uint64_t *s)
{
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

/* 10,000 keys, 3 items each, enqueued interleaved and finished in a
 * random order: per key the items run one at a time and in order, every
 * item runs once, and every key is forgotten at the end. */
static void test_ten_thousand_keys(void **state)
{
  (void)state;
  enum { KEYS = 10000, PER = 3, N = KEYS * PER };
  lb_order *o = lb_order_new();
  item *it = calloc(N, sizeof(*it));
  item **running = calloc(N, sizeof(*running));
  int *next_seq = calloc(KEYS, sizeof(*next_seq));
  assert_non_null(it);
  assert_non_null(running);
  assert_non_null(next_seq);
  size_t nrunning = 0;
  for (int s = 0; s < PER; s++) {
    for (int k = 0; k < KEYS; k++) {
      item *x = &it[s * KEYS + k];
      *x = (item){ .key = k, .seq = s };
      if (enqueue(o, x)) {
        assert_int_equal(x->seq, 0);
        running[nrunning++] = x;
      }
    }
  }
  assert_int_equal(nrunning, KEYS);
  assert_int_equal(lb_order_keys(o), KEYS);
  uint64_t seed = 0x9e3779b97f4a7c15ull;
  size_t finished = 0;
  while (nrunning > 0) {
    size_t i = (size_t)(rng_next(&seed) % nrunning);
    item *x = running[i];
    running[i] = running[--nrunning];
    assert_int_equal(x->seq, next_seq[x->key]);
    next_seq[x->key]++;
    item *n = done(o, x);
    finished++;
    if (x->seq + 1 < PER) {
      assert_non_null(n);
      assert_int_equal(n->key, x->key);
      assert_int_equal(n->seq, x->seq + 1);
      running[nrunning++] = n;
    } else {
      assert_null(n);
    }
  }
  assert_int_equal(finished, N);
  assert_int_equal(lb_order_keys(o), 0);
  for (int k = 0; k < KEYS; k++)
    assert_int_equal(next_seq[k], PER);
  for (size_t i = 0; i < N; i++)
    assert_true(it[i].finished);
  free(next_seq);
  free(running);
  free(it);
  lb_order_destroy(o);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_order_kept_per_key),       cmocka_unit_test(test_independent_keys),
    cmocka_unit_test(test_key_forgotten_and_copied), cmocka_unit_test(test_waiting_item_given_up),
    cmocka_unit_test(test_no_memory_for_a_key),      cmocka_unit_test(test_destroy_with_keys),
    cmocka_unit_test(test_ten_thousand_keys),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
