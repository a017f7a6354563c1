#include "lb_content.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_strbuf.h"

static const char *const names[] = {
#define LB_CT_NAME(e, name, label) name,
  LB_CONTENT_TYPE_MAP(LB_CT_NAME)
#undef LB_CT_NAME
};

static const char *const labels[] = {
#define LB_CT_LABEL(e, name, label) label,
  LB_CONTENT_TYPE_MAP(LB_CT_LABEL)
#undef LB_CT_LABEL
};

const char *lb_content_type_name(lb_content_type t)
{
  return (unsigned)t < LB_CT__COUNT ? names[t] : "unknown";
}

const char *lb_content_type_label(lb_content_type t)
{
  return (unsigned)t < LB_CT__COUNT ? labels[t] : "Unknown";
}

int lb_content_type_parse(const char *name, lb_content_type *ret)
{
  for (unsigned i = 0; name && i < LB_CT__COUNT; i++) {
    if (strcmp(name, names[i]) == 0) {
      *ret = (lb_content_type)i;
      return 0;
    }
  }
  return -1;
}

bool lb_content_type_is_track(lb_content_type t)
{
  return t == LB_CT_SKILL_TRACK || t == LB_CT_CAREER_TRACK || t == LB_CT_CUSTOM_TRACK;
}

bool lb_content_type_has_duration(lb_content_type t)
{
  return t == LB_CT_COURSE || t == LB_CT_PROJECT || lb_content_type_is_track(t);
}

bool lb_content_type_has_completion(lb_content_type t)
{
  return t == LB_CT_COURSE || t == LB_CT_PROJECT || t == LB_CT_PRACTICE || t == LB_CT_ASSESSMENT;
}

char *lb_content_external_id(lb_content_type t, const char *id, char *buf, size_t len)
{
  lb_strbuf_concat(buf, len, lb_content_type_name(t), "-", id, (char *)NULL);
  return buf;
}

char *lb_content_title(const char *title, lb_content_type t)
{
  const char *label = lb_content_type_label(t);
  size_t len = strlen(title) + strlen(label) + 4;
  char *s = malloc(len);
  if (s)
    snprintf(s, len, "%s - %s", title, label);
  return s;
}
