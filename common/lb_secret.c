#include "lb_secret.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENV_PREFIX "@env:"
#define FILE_PREFIX "@file:"

bool lb_secret_is_ref(const char *value)
{
  return value && (strncmp(value, ENV_PREFIX, strlen(ENV_PREFIX)) == 0 ||
                   strncmp(value, FILE_PREFIX, strlen(FILE_PREFIX)) == 0);
}

static char *read_secret_file(const char *path, char *why, size_t whylen)
{
  char *buf = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(why, whylen, "cannot open secret file \"%s\": %s", path, strerror(errno));
    return NULL;
  }
  buf = malloc(LB_SECRET_MAX + 1);
  if (!buf) {
    snprintf(why, whylen, "out of memory");
    goto out;
  }
  size_t n = fread(buf, 1, LB_SECRET_MAX + 1, f);
  if (ferror(f)) {
    snprintf(why, whylen, "cannot read secret file \"%s\"", path);
    goto fail;
  }
  if (n > LB_SECRET_MAX) {
    snprintf(why, whylen, "secret file \"%s\" is larger than %d bytes", path, LB_SECRET_MAX);
    goto fail;
  }
  buf[n] = '\0';
  if (n && buf[n - 1] == '\n')
    buf[--n] = '\0';
  if (n && buf[n - 1] == '\r')
    buf[--n] = '\0';
  if (strlen(buf) != n) {
    snprintf(why, whylen, "secret file \"%s\" contains a NUL byte", path);
    goto fail;
  }
  goto out;
fail:
  free(buf);
  buf = NULL;
out:
  fclose(f);
  return buf;
}

lb_err lb_secret_check_ref(const char *ref, char *why, size_t whylen)
{
  bool env = ref && strncmp(ref, ENV_PREFIX, strlen(ENV_PREFIX)) == 0;
  bool file = ref && strncmp(ref, FILE_PREFIX, strlen(FILE_PREFIX)) == 0;
  if (!env && !file) {
    snprintf(why, whylen, "must be \"@env:NAME\" or \"@file:PATH\"");
    return LB_E_SECRET;
  }
  if (!ref[strlen(env ? ENV_PREFIX : FILE_PREFIX)]) {
    snprintf(why, whylen, "\"%s\" names no %s", env ? ENV_PREFIX : FILE_PREFIX,
             env ? "variable" : "file");
    return LB_E_SECRET;
  }
  return LB_E_OK;
}

lb_err lb_secret_resolve(const char *ref, char **ret, char *why, size_t whylen)
{
  char *value = NULL;
  lb_err rc = lb_secret_check_ref(ref, why, whylen);

  if (rc != LB_E_OK)
    return rc;
  if (strncmp(ref, ENV_PREFIX, strlen(ENV_PREFIX)) == 0) {
    const char *name = ref + strlen(ENV_PREFIX);
    const char *env = getenv(name);
    if (!env) {
      snprintf(why, whylen, "environment variable \"%s\" is not set", name);
      return LB_E_SECRET;
    }
    value = strdup(env);
  } else {
    value = read_secret_file(ref + strlen(FILE_PREFIX), why, whylen);
    if (!value)
      return LB_E_SECRET;
  }
  if (!value) {
    snprintf(why, whylen, "out of memory");
    return LB_E_NOMEM;
  }
  if (!*value) {
    snprintf(why, whylen, "secret %s is empty", ref);
    free(value);
    return LB_E_SECRET;
  }
  *ret = value;
  return LB_E_OK;
}
