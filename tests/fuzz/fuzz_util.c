#include "fuzz_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_json.h"
#include "lb_strbuf.h"

void fz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
  va_list ap;
  fprintf(stderr, "\n==fuzz== invariant broken at %s:%d: %s\n==fuzz== ", file, line, cond);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  abort();
}

uint8_t fz_take_byte(fz_input *in)
{
  if (in->n == 0)
    return 0;
  in->n--;
  return *in->p++;
}

char *fz_take_str(fz_input *in)
{
  const uint8_t *end = memchr(in->p, 0, in->n);
  size_t len = end ? (size_t)(end - in->p) : in->n;
  char *s = malloc(len + 1);
  FZ_CHECK(s != NULL, "out of memory");
  if (len)
    memcpy(s, in->p, len);
  s[len] = '\0';
  in->p += len;
  in->n -= len;
  if (end) {
    in->p++;
    in->n--;
  }
  return s;
}

/* The secrets plan.conf refers to: their variables, then their values,
 * texts that no corpus holds. */
static const char *const secret_names[] = {
  "LB_FUZZ_SECRET_PROVIDER", "LB_FUZZ_SECRET_ACME",
  "LB_FUZZ_SECRET_WAYNE",    "LB_FUZZ_SECRET_GLOBEX",
  "LB_FUZZ_SECRET_INITECH",  "LB_FUZZ_SECRET_UMBRELLA",
  "LB_FUZZ_SECRET_HOOLI",    "LB_FUZZ_SECRET_STARK",
  "LB_FUZZ_SECRET_ACME_LRS", NULL,
};

const char *const fz_secrets[] = {
  "Fz7-provider-s3cret-Qw1", "Fz7-acme-s3cret-Er2",
  "Fz7-wayne-s3cret-Ty3",    "Fz7-globex-s3cret-Ui4",
  "Fz7-initech-s3cret-Op5",  "Fz7-umbrella-s3cret-As6",
  "Fz7-hooli-s3cret-Df7",    "Fz7-stark-s3cret-Gh8",
  "Fz7-acmelrs-s3cret-Jk9",  NULL,
};

/* Client ids and LRS keys given as references: no secrets, printed. */
static const char *const id_env[][2] = {
  { "LB_FUZZ_ID_PROVIDER", "provider-client-id" },
  { "LB_FUZZ_ID_WAYNE", "wayne-client-id" },
  { "LB_FUZZ_ID_ACME_LRS", "acme-lrs-key" },
};

/* The input being run (fz_begin), for fz_check_no_secret. */
static const void *input;
static size_t input_len;

void fz_secrets_setenv(void)
{
  for (size_t i = 0; secret_names[i]; i++)
    setenv(secret_names[i], fz_secrets[i], 1);
  for (size_t i = 0; i < sizeof(id_env) / sizeof(id_env[0]); i++)
    setenv(id_env[i][0], id_env[i][1], 1);
}

void fz_begin(const uint8_t *data, size_t size)
{
  input = data;
  input_len = size;
}

bool fz_holds(const void *text, size_t len, const char *needle)
{
  size_t n = strlen(needle);
  const char *s = text;
  if (!text || n > len)
    return false;
  for (size_t i = 0; i + n <= len; i++)
    if (s[i] == needle[0] && memcmp(s + i, needle, n) == 0)
      return true;
  return false;
}

bool fz_input_holds(const char *needle)
{
  return fz_holds(input, input_len, needle);
}

void fz_check_no_secret(const char *what, const void *text, size_t len)
{
  for (size_t i = 0; text && fz_secrets[i]; i++)
    FZ_CHECK(!fz_holds(text, len, fz_secrets[i]) || fz_input_holds(fz_secrets[i]),
             "%s holds the secret of %s", what, secret_names[i]);
}

const char *fz_source_path(const char *rel)
{
  static char path[4096];
  snprintf(path, sizeof(path), "%s/%s", LB_FUZZ_DIR, rel);
  return path;
}

const lb_config *fz_plan_config(const lb_worker *w)
{
  static lb_config cfgs[2];
  static bool loaded[2];
  size_t k = w == &lb_worker_catalog ? 0 : 1;
  if (!loaded[k]) {
    lb_config_defaults d = { .worker = w->name,
                             .default_topic = w->default_topic,
                             .default_scopes = w->default_scopes,
                             .skill_ratings_scope = w->skill_ratings_scope };
    char *errors = NULL;
    fz_secrets_setenv();
    lb_err e = lb_config_load(&cfgs[k], fz_source_path("plan.conf"), &d, &errors);
    FZ_CHECK(e == LB_E_OK, "plan.conf does not load: %s", errors ? errors : lb_strerror(e));
    loaded[k] = true;
  }
  return &cfgs[k];
}

void fz_check_json(const char *what, const char *text, size_t len)
{
  char err[256];
  json_object *o = NULL;
  lb_err e = lb_json_parse(text, len, &o, err, sizeof(err));
  FZ_CHECK(e == LB_E_OK, "%s is not JSON (%s): %.*s", what, err, (int)(len > 2000 ? 2000 : len),
           text);
  json_object_put(o);
}

void fz_check_utf8(const char *what, const char *s, size_t len)
{
  size_t bad = 0;
  FZ_CHECK(lb_strbuf_utf8_valid(s, len, &bad), "%s is not UTF-8 at byte %zu", what, bad);
}
