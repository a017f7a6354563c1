/* lb_content: the provider's content types and the rules of
 * docs/mapping.md that apply to each. Pure. */
#ifndef LB_CONTENT_H
#define LB_CONTENT_H

#include <stdbool.h>
#include <stddef.h>

/* X(enum suffix, wire name, display label) */
#define LB_CONTENT_TYPE_MAP(X)                                                                     \
  X(COURSE, "course", "Course")                                                                    \
  X(PROJECT, "project", "Project")                                                                 \
  X(PRACTICE, "practice", "Practice")                                                              \
  X(ASSESSMENT, "assessment", "Assessment")                                                        \
  X(SKILL_TRACK, "skill_track", "Skill Track")                                                     \
  X(CAREER_TRACK, "career_track", "Career Track")                                                  \
  X(CUSTOM_TRACK, "custom_track", "Custom Track")

typedef enum {
#define LB_CT_ENUM(e, name, label) LB_CT_##e,
  LB_CONTENT_TYPE_MAP(LB_CT_ENUM)
#undef LB_CT_ENUM
      LB_CT__COUNT
} lb_content_type;

#define LB_CT_ALL_MASK ((1u << LB_CT__COUNT) - 1)
#define LB_CT_BIT(t) (1u << (t))

/* "course", "skill_track"... */
const char *lb_content_type_name(lb_content_type t);
/* "Course", "Skill Track"... as shown in titles. */
const char *lb_content_type_label(lb_content_type t);
/* Returns 0 and sets *ret for a wire name; -1 for anything else. */
int lb_content_type_parse(const char *name, lb_content_type *ret);

bool lb_content_type_is_track(lb_content_type t);
/* Duration is sent for courses, projects and tracks. */
bool lb_content_type_has_duration(lb_content_type t);
/* Completions exist for courses, projects, practices and assessments. */
bool lb_content_type_has_completion(lb_content_type t);

/* The external id `<type>-<id>` into buf; returns buf (truncated if small). */
char *lb_content_external_id(lb_content_type t, const char *id, char *buf, size_t len);

/* "<title> - <Type>", e.g. "Wrangling and Visualizing Musical Data -
 * Project". New string (free() it), NULL on out of memory. */
char *lb_content_title(const char *title, lb_content_type t);

#endif
