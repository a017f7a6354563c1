/* lb_content: the seven content types, their wire names and labels, and
 * the rules of docs/mapping.md for each (tables). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "lb_content.h"

/* docs/events.md, docs/mapping.md: wire name, label; tracks; duration is
 * sent for courses, projects and tracks; completions exist for courses,
 * projects, practices and assessments. */
static const struct {
  lb_content_type t;
  const char *name;
  const char *label;
  bool track, duration, completion;
} types[] = {
  { LB_CT_COURSE, "course", "Course", false, true, true },
  { LB_CT_PROJECT, "project", "Project", false, true, true },
  { LB_CT_PRACTICE, "practice", "Practice", false, false, true },
  { LB_CT_ASSESSMENT, "assessment", "Assessment", false, false, true },
  { LB_CT_SKILL_TRACK, "skill_track", "Skill Track", true, true, false },
  { LB_CT_CAREER_TRACK, "career_track", "Career Track", true, true, false },
  { LB_CT_CUSTOM_TRACK, "custom_track", "Custom Track", true, true, false },
};
#define NTYPES (sizeof(types) / sizeof(types[0]))

static void test_seven_types(void **state)
{
  (void)state;
  assert_int_equal(LB_CT__COUNT, 7);
  assert_int_equal(NTYPES, 7);
  assert_int_equal(LB_CT_ALL_MASK, 0x7f);
  unsigned mask = 0;
  for (size_t i = 0; i < NTYPES; i++)
    mask |= LB_CT_BIT(types[i].t);
  assert_int_equal(mask, LB_CT_ALL_MASK);
}

static void test_name_label_parse_round_trip(void **state)
{
  (void)state;
  for (size_t i = 0; i < NTYPES; i++) {
    assert_string_equal(lb_content_type_name(types[i].t), types[i].name);
    assert_string_equal(lb_content_type_label(types[i].t), types[i].label);
    lb_content_type got = (lb_content_type)99;
    assert_int_equal(lb_content_type_parse(types[i].name, &got), 0);
    assert_int_equal(got, types[i].t);
    assert_int_equal(lb_content_type_parse(lb_content_type_name(got), &got), 0);
    assert_int_equal(got, types[i].t);
  }
}

static void test_unknown_names(void **state)
{
  (void)state;
  static const char *const bad[] = {
    "Course",     "COURSE", "courses", "course ", " course", "skill-track", "Skill Track",
    "skilltrack", "track",  "unknown", "",        "video",   NULL,
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    lb_content_type got = (lb_content_type)99;
    if (lb_content_type_parse(bad[i], &got) != -1)
      fail_msg("\"%s\" parsed", bad[i] ? bad[i] : "(null)");
    assert_int_equal(got, 99); /* untouched */
  }
  /* Out-of-range values have a name and a label, never NULL. */
  assert_non_null(lb_content_type_name(LB_CT__COUNT));
  assert_non_null(lb_content_type_label((lb_content_type)-1));
  lb_content_type got;
  assert_int_equal(lb_content_type_parse(lb_content_type_name(LB_CT__COUNT), &got), -1);
}

static void test_rule_tables(void **state)
{
  (void)state;
  for (size_t i = 0; i < NTYPES; i++) {
    if (lb_content_type_is_track(types[i].t) != types[i].track)
      fail_msg("%s: is_track", types[i].name);
    if (lb_content_type_has_duration(types[i].t) != types[i].duration)
      fail_msg("%s: has_duration", types[i].name);
    if (lb_content_type_has_completion(types[i].t) != types[i].completion)
      fail_msg("%s: has_completion", types[i].name);
  }
}

static void test_external_id(void **state)
{
  (void)state;
  static const struct {
    lb_content_type t;
    const char *id;
    const char *want;
  } cases[] = {
    { LB_CT_COURSE, "1234", "course-1234" },
    { LB_CT_PROJECT, "abc-def", "project-abc-def" },
    { LB_CT_PRACTICE, "9", "practice-9" },
    { LB_CT_ASSESSMENT, "python-basics", "assessment-python-basics" },
    { LB_CT_SKILL_TRACK, "42", "skill_track-42" },
    { LB_CT_CAREER_TRACK, "data-scientist", "career_track-data-scientist" },
    { LB_CT_CUSTOM_TRACK, "t1", "custom_track-t1" },
    { LB_CT_COURSE, "", "course-" },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char buf[64];
    assert_ptr_equal(lb_content_external_id(cases[i].t, cases[i].id, buf, sizeof(buf)), buf);
    assert_string_equal(buf, cases[i].want);
  }
  /* Truncated, NUL-terminated, nothing written past the buffer. */
  char buf[16];
  memset(buf, '#', sizeof(buf));
  lb_content_external_id(LB_CT_CAREER_TRACK, "data-scientist", buf, 8);
  assert_string_equal(buf, "career_");
  assert_int_equal(buf[8], '#');
}

static void test_title(void **state)
{
  (void)state;
  static const struct {
    const char *title;
    lb_content_type t;
    const char *want;
  } cases[] = {
    { "Wrangling and Visualizing Musical Data", LB_CT_PROJECT,
      "Wrangling and Visualizing Musical Data - Project" },
    { "Introduction to Python", LB_CT_COURSE, "Introduction to Python - Course" },
    { "Python Data Manipulation", LB_CT_PRACTICE, "Python Data Manipulation - Practice" },
    { "Data Literacy", LB_CT_ASSESSMENT, "Data Literacy - Assessment" },
    { "Python Programming", LB_CT_SKILL_TRACK, "Python Programming - Skill Track" },
    { "Data Scientist", LB_CT_CAREER_TRACK, "Data Scientist - Career Track" },
    { "Onboarding", LB_CT_CUSTOM_TRACK, "Onboarding - Custom Track" },
    { "", LB_CT_COURSE, " - Course" },
    { "Caf\xc3\xa9 \"quoted\"", LB_CT_COURSE, "Caf\xc3\xa9 \"quoted\" - Course" },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *s = lb_content_title(cases[i].title, cases[i].t);
    assert_non_null(s);
    assert_string_equal(s, cases[i].want);
    free(s);
  }
  /* A long title is not cut. */
  char *long_title = malloc(5001);
  assert_non_null(long_title);
  memset(long_title, 'T', 5000);
  long_title[5000] = '\0';
  char *s = lb_content_title(long_title, LB_CT_CAREER_TRACK);
  assert_non_null(s);
  assert_int_equal(strlen(s), 5000 + strlen(" - Career Track"));
  assert_string_equal(s + 5000, " - Career Track");
  free(s);
  free(long_title);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_seven_types),   cmocka_unit_test(test_name_label_parse_round_trip),
    cmocka_unit_test(test_unknown_names), cmocka_unit_test(test_rule_tables),
    cmocka_unit_test(test_external_id),   cmocka_unit_test(test_title),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
