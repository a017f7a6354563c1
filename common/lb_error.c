#include "lb_error.h"

static const char *const messages[] = {
#define LB_ERROR_MSG(name, msg) msg,
  LB_ERROR_MAP(LB_ERROR_MSG)
#undef LB_ERROR_MSG
};

static const char *const names[] = {
#define LB_ERROR_NAME(name, msg) #name,
  LB_ERROR_MAP(LB_ERROR_NAME)
#undef LB_ERROR_NAME
};

const char *lb_strerror(lb_err err)
{
  if ((unsigned)err >= LB_E__COUNT)
    return "unknown error";
  return messages[err];
}

const char *lb_err_name(lb_err err)
{
  if ((unsigned)err >= LB_E__COUNT)
    return "UNKNOWN";
  return names[err];
}
