/* lb_resync: which records a resync republishes (each item's newest, when
 * the integration takes it) and the headers it gives them. The run itself
 * is tested end to end (tests/e2e/test_catalog_state.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "lb_resync.h"

static void test_newest_record_of_each_item(void **state)
{
  (void)state;
  lb_resync_pick *p = lb_resync_pick_new();
  /* topic 0: course-1 v1, v3, v2 (out of order: v3 is the newest) */
  assert_int_equal(lb_resync_pick_add(p, "course-1", 1, 0, 0, 10, true), LB_E_OK);
  assert_int_equal(lb_resync_pick_add(p, "course-1", 3, 0, 0, 11, true), LB_E_OK);
  assert_int_equal(lb_resync_pick_add(p, "course-1", 2, 0, 0, 12, true), LB_E_OK);
  /* course-2 v5 twice (a replayed copy): the later one */
  assert_int_equal(lb_resync_pick_add(p, "course-2", 5, 0, 1, 4, true), LB_E_OK);
  assert_int_equal(lb_resync_pick_add(p, "course-2", 5, 0, 1, 9, true), LB_E_OK);
  /* course-3: its newest version is not taken (a filter): nothing, not
   * the older version that was */
  assert_int_equal(lb_resync_pick_add(p, "course-3", 1, 0, 0, 13, true), LB_E_OK);
  assert_int_equal(lb_resync_pick_add(p, "course-3", 2, 0, 0, 14, false), LB_E_OK);
  /* the same item in a second topic: one newest across both */
  assert_int_equal(lb_resync_pick_add(p, "course-4", 7, 0, 1, 20, true), LB_E_OK);
  assert_int_equal(lb_resync_pick_add(p, "course-4", 8, 1, 1, 2, true), LB_E_OK);
  assert_int_equal(lb_resync_pick_finish(p), LB_E_OK);
  assert_int_equal(lb_resync_pick_items(p), 4);
  assert_int_equal(lb_resync_pick_chosen_count(p), 3);
  static const struct {
    size_t topic;
    int32_t partition;
    int64_t offset;
    bool chosen;
  } want[] = {
    { 0, 0, 10, false }, { 0, 0, 11, true },  { 0, 0, 12, false }, { 0, 1, 4, false },
    { 0, 1, 9, true },   { 0, 0, 13, false }, { 0, 0, 14, false }, { 0, 1, 20, false },
    { 1, 1, 2, true },   { 1, 0, 11, false }, { 0, 1, 11, false },
  };
  for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
    if (lb_resync_pick_chosen(p, want[i].topic, want[i].partition, want[i].offset) !=
        want[i].chosen)
      fail_msg("case %zu: topic %zu partition %d offset %lld: chosen should be %d", i,
               want[i].topic, (int)want[i].partition, (long long)want[i].offset, want[i].chosen);
  lb_resync_pick_destroy(p);

  /* nothing read: nothing chosen */
  p = lb_resync_pick_new();
  assert_int_equal(lb_resync_pick_finish(p), LB_E_OK);
  assert_int_equal(lb_resync_pick_items(p), 0);
  assert_false(lb_resync_pick_chosen(p, 0, 0, 0));
  lb_resync_pick_destroy(p);
  lb_resync_pick_destroy(NULL);
}

static void test_many_records(void **state)
{
  (void)state;
  lb_resync_pick *p = lb_resync_pick_new();
  char item[32];
  /* 10,000 items, three versions each, the newest in the middle */
  for (int v = 0; v < 3; v++)
    for (int i = 0; i < 10000; i++) {
      snprintf(item, sizeof(item), "course-%d", i);
      uint64_t version = v == 1 ? 9 : (uint64_t)v;
      assert_int_equal(lb_resync_pick_add(p, item, version, 0, i % 4, v * 10000 + i, true),
                       LB_E_OK);
    }
  assert_int_equal(lb_resync_pick_finish(p), LB_E_OK);
  assert_int_equal(lb_resync_pick_items(p), 10000);
  assert_int_equal(lb_resync_pick_chosen_count(p), 10000);
  for (int i = 0; i < 10000; i += 997) {
    assert_true(lb_resync_pick_chosen(p, 0, i % 4, 10000 + i));
    assert_false(lb_resync_pick_chosen(p, 0, i % 4, i));
    assert_false(lb_resync_pick_chosen(p, 0, i % 4, 20000 + i));
  }
  lb_resync_pick_destroy(p);
}

static void test_headers(void **state)
{
  (void)state;
  rd_kafka_headers_t *src = rd_kafka_headers_new(8);
  rd_kafka_header_add(src, "trace-id", -1, "t-1", -1);
  rd_kafka_header_add(src, "lmsbridge.target", -1, "other-integration", -1);
  rd_kafka_header_add(src, "lmsbridge.replays", -1, "2", -1);
  rd_kafka_header_add(src, "__connect.errors.topic", -1, "x", -1);
  rd_kafka_header_add(src, "empty", -1, NULL, 0);
  rd_kafka_headers_t *h = lb_resync_headers(src, "acme-degreed");
  static const char *const want[][2] = { { "trace-id", "t-1" },
                                         { "empty", NULL },
                                         { "lmsbridge.target", "acme-degreed" },
                                         { "lmsbridge.resync", "true" } };
  assert_int_equal(rd_kafka_header_cnt(h), 4);
  for (size_t i = 0; i < 4; i++) {
    const char *name;
    const void *val;
    size_t size;
    assert_int_equal(rd_kafka_header_get_all(h, i, &name, &val, &size), 0);
    assert_string_equal(name, want[i][0]);
    if (!want[i][1]) {
      assert_null(val);
    } else {
      assert_int_equal(size, strlen(want[i][1]));
      assert_memory_equal(val, want[i][1], size);
    }
  }
  rd_kafka_headers_destroy(h);
  rd_kafka_headers_destroy(src);
  h = lb_resync_headers(NULL, "globex-sf");
  assert_int_equal(rd_kafka_header_cnt(h), 2);
  rd_kafka_headers_destroy(h);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_newest_record_of_each_item),
    cmocka_unit_test(test_many_records),
    cmocka_unit_test(test_headers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
