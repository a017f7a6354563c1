/* lb_error: the one error enum of lmsbridge, generated from one X-macro
 * list so codes, names and messages cannot drift. Append only. */
#ifndef LB_ERROR_H
#define LB_ERROR_H

#define LB_ERROR_MAP(X)                                                                            \
  X(OK, "success")                                                                                 \
  X(NOMEM, "out of memory")                                                                        \
  X(INVALID, "invalid argument")                                                                   \
  X(IO, "input/output error")                                                                      \
  X(CONFIG, "invalid configuration")                                                               \
  X(SECRET, "secret could not be resolved")                                                        \
  X(PARSE, "malformed input")                                                                      \
  X(EVENT, "invalid event")                                                                        \
  X(MAPPING, "event cannot be mapped")                                                             \
  X(TOO_BIG, "size limit exceeded")                                                                \
  X(NOT_FOUND, "not found")

typedef enum {
#define LB_ERROR_ENUM(name, msg) LB_E_##name,
  LB_ERROR_MAP(LB_ERROR_ENUM)
#undef LB_ERROR_ENUM
      LB_E__COUNT
} lb_err;

/* Static human-readable message; never NULL, also for unknown codes. */
const char *lb_strerror(lb_err err);
/* Static short name such as "CONFIG"; never NULL. */
const char *lb_err_name(lb_err err);

#endif
