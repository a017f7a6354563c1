/* lb_secret: secret references of the configuration. A value
 * "@env:NAME" is read from the environment, "@file:/path" from a file
 * (one trailing newline dropped, at most 64 KiB). The caller decides
 * whether the value is a secret to register with lb_log_add_secret(). */
#ifndef LB_SECRET_H
#define LB_SECRET_H

#include <stdbool.h>
#include <stddef.h>

#include "lb_error.h"

#define LB_SECRET_MAX 65536

/* True when `value` starts with "@env:" or "@file:". */
bool lb_secret_is_ref(const char *value);

/* Checks the form of a reference without resolving it: LB_E_OK when it is
 * "@env:NAME" or "@file:PATH" with a name or path; else LB_E_SECRET with
 * why in `why`. */
lb_err lb_secret_check_ref(const char *ref, char *why, size_t whylen);

/* Resolves a reference into a new string (*ret, free() it). On failure
 * returns LB_E_SECRET, writes why to `why` (never the secret) and leaves
 * *ret untouched. */
lb_err lb_secret_resolve(const char *ref, char **ret, char *why, size_t whylen);

#endif
