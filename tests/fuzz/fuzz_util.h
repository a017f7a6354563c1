/* fuzz_util: what the fuzz targets of tests/fuzz/ share: reading one fuzz
 * input as several parts, the planner's configuration (plan.conf) and the
 * secrets it holds, and invariant checks that abort (a crash, for
 * libFuzzer) saying what broke. Single-threaded, like the targets. */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lb_config.h"
#include "lb_worker.h"

/* Every target defines it; libFuzzer (or fuzz_main.c) calls it once per
 * input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant that must hold: when it does not, says where and why on
 * stderr and aborts. */
#define FZ_CHECK(cond, ...)                                                                        \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      fz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                                             \
  } while (0)

void fz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 4, 5)));

/* A fuzz input read part by part; parts are separated by NUL bytes. */
typedef struct {
  const uint8_t *p;
  size_t n;
} fz_input;

/* The next byte (0 at the end). */
uint8_t fz_take_byte(fz_input *in);
/* The bytes up to the next NUL (consumed) or the end, as a new
 * NUL-terminated string (free() it); "" at the end. Aborts when out of
 * memory. */
char *fz_take_str(fz_input *in);

/* The secrets plan.conf refers to (NULL-ended), set in the environment
 * with the client ids it refers to by fz_secrets_setenv(), under the
 * names plan.conf uses. */
extern const char *const fz_secrets[];
void fz_secrets_setenv(void);
/* The input being run: each target's LLVMFuzzerTestOneInput says it
 * first. */
void fz_begin(const uint8_t *data, size_t size);
/* Aborts when the len bytes at text hold one of fz_secrets that the input
 * does not hold itself (libFuzzer learns the texts the checks compare: an
 * event may carry a secret's text to a request legitimately). `what`
 * names the text in the message; the secret is not printed. */
void fz_check_no_secret(const char *what, const void *text, size_t len);
/* Whether the input being run holds needle. */
bool fz_input_holds(const char *needle);
/* Whether the len bytes at text (NULL: none) hold needle. */
bool fz_holds(const void *text, size_t len, const char *needle);

/* tests/fuzz/plan.conf loaded as daemon w loads it (its default topic
 * and scopes), once per daemon; aborts when it does not load. Borrowed
 * for the process's lifetime. */
const lb_config *fz_plan_config(const lb_worker *w);

/* A path under tests/fuzz/ of the source tree; static buffer. */
const char *fz_source_path(const char *rel);

/* Aborts unless the len bytes at text are one JSON value that
 * lb_json_parse accepts. */
void fz_check_json(const char *what, const char *text, size_t len);
/* Aborts unless s[0..len) is UTF-8 (RFC 3629). */
void fz_check_utf8(const char *what, const char *s, size_t len);

#endif
