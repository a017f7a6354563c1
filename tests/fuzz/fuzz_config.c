/* Fuzz target config: a configuration file's contents through
 * lb_config_load as the catalog-worker; a file that loads is loaded again
 * as the completion-worker and as dlq-replay (Kafka only), and checked
 * against its daemon (lb_worker_check_config).
 *
 * libconfig 1.5 leaks the text of a string its parser refuses (a file
 * holding only ""). The daemons read a file's syntax in a child process
 * first for that reason (lb_config_syntax_check); here a fork per input
 * would cost 20 ms under the sanitizers (35 inputs a second), so the file
 * is loaded at once and LeakSanitizer is told to ignore what libconfig
 * allocates itself (__lsan_default_suppressions below): every leak of
 * lmsbridge's own code is still found. test_lb_config checks that the
 * syntax check and the loader agree. Skipped: files that make the loader
 * use other files than secrets of the test's own, which is the operator's
 * choice and no parsing of ours: librdkafka's plugin.library.paths (loads
 * any shared object of the system), libconfig's @include, and paths under
 * /dev, /proc and /sys (a device that never ends, or blocks reading).
 *
 * The secrets of fuzz_util.c are in the environment (@env:LB_FUZZ_SECRET_*)
 * and registered for redaction, as a daemon's would be. Besides not
 * crashing:
 * - a refusal is "file:line: key: what" lines, without a secret once
 *   redacted (what --check-config and the logs show);
 * - --check-config's summary prints no secret, raw (a secret's text may
 *   show only as the value of a setting that is no secret, a client_id or
 *   a username given the same reference, or where the file itself holds
 *   it: libFuzzer learns the texts the checks look for);
 * - the index agrees with the integrations: each found by its id and its
 *   organization, the public-catalog ones exactly those taking public
 *   content. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "lb_config.h"
#include "lb_log.h"
#include "lb_worker.h"

static char path[4096];

/* LeakSanitizer's suppressions: libconfig's own leak (see above). */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
  return "leak:libconfig.so\n";
}

static void remove_file(void)
{
  unlink(path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  const char *tmp = getenv("TMPDIR");
  snprintf(path, sizeof(path), "%s/lb-fuzz-config-%ld.conf", tmp && *tmp ? tmp : "/tmp",
           (long)getpid());
  atexit(remove_file);
  fz_secrets_setenv();
  return 0;
}

static void write_file(const uint8_t *data, size_t size)
{
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  FZ_CHECK(fd >= 0, "cannot write %s", path);
  for (size_t off = 0; off < size;) {
    ssize_t n = write(fd, data + off, size - off);
    FZ_CHECK(n > 0, "cannot write %s", path);
    off += (size_t)n;
  }
  close(fd);
}

/* The text of errors as they are shown: through the logs' redaction. */
static void check_errors(const char *errors)
{
  size_t n = strlen(errors), cap = n * 4 + 64;
  char *shown = malloc(cap);
  FZ_CHECK(shown != NULL, "out of memory");
  lb_log_redact(errors, shown, cap);
  for (size_t i = 0; fz_secrets[i]; i++)
    FZ_CHECK(!strstr(shown, fz_secrets[i]), "a shown error holds a secret");
  /* every line is about this file */
  for (const char *line = errors; *line; line = strchr(line, '\n') + 1) {
    FZ_CHECK(strncmp(line, path, strlen(path)) == 0 && line[strlen(path)] == ':',
             "an error line not about the file: %.200s", line);
    FZ_CHECK(strchr(line, '\n'), "an error without its newline");
  }
  free(shown);
}

/* Whether `secret` is the value of a setting that is no secret. */
static bool shown_elsewhere(const lb_config *cfg, const char *secret)
{
  for (size_t i = 0; i < cfg->nintegrations; i++) {
    const lb_integration *in = &cfg->integrations[i];
    if ((in->client_id && strstr(in->client_id, secret)) ||
        (in->username && strstr(in->username, secret)))
      return true;
  }
  return false;
}

static void check_summary(const lb_config *cfg)
{
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  FZ_CHECK(mem != NULL, "out of memory");
  lb_config_print_summary(cfg, mem);
  fclose(mem);
  for (size_t i = 0; fz_secrets[i]; i++)
    FZ_CHECK(!strstr(text, fz_secrets[i]) || shown_elsewhere(cfg, fz_secrets[i]) ||
                 fz_input_holds(fz_secrets[i]),
             "the summary prints a secret");
  free(text);
}

static void check_index(const lb_config *cfg)
{
  size_t npub = 0, n = 0;
  const size_t *pub = lb_config_public_catalog(cfg, &npub);
  for (size_t i = 0; i < cfg->nintegrations; i++) {
    const lb_integration *in = &cfg->integrations[i];
    FZ_CHECK(lb_config_integration(cfg, in->id) == in, "%s is not found by its id", in->id);
    const size_t *mine = lb_config_by_organization(cfg, in->organization, &n);
    bool found = false;
    for (size_t k = 0; mine && k < n; k++) {
      found = found || mine[k] == i;
      FZ_CHECK(strcmp(cfg->integrations[mine[k]].organization, in->organization) == 0,
               "%s's organization holds %s", in->id, cfg->integrations[mine[k]].id);
    }
    FZ_CHECK(found, "%s is not found by its organization", in->id);
    bool listed = false;
    for (size_t k = 0; pub && k < npub; k++)
      listed = listed || pub[k] == i;
    FZ_CHECK(listed == in->catalog_public, "%s: public %d, listed %d", in->id, in->catalog_public,
             listed);
  }
}

static lb_config_defaults defaults_of(const lb_worker *w)
{
  return (lb_config_defaults){ .worker = w->name,
                               .default_topic = w->default_topic,
                               .default_scopes = w->default_scopes,
                               .skill_ratings_scope = w->skill_ratings_scope };
}

/* Loads the file as d says; LB_E_OK or LB_E_CONFIG, checked. */
static lb_err load(const lb_config_defaults *d, const lb_worker *w)
{
  lb_config cfg;
  char *errors = NULL;
  lb_err e = lb_config_load(&cfg, path, d, &errors);
  FZ_CHECK(e == LB_E_OK || e == LB_E_CONFIG, "loading: %s", lb_strerror(e));
  if (e == LB_E_OK) {
    FZ_CHECK(!errors, "errors of a file that loads");
    check_summary(&cfg);
    check_index(&cfg);
    char *wrong = NULL;
    if (w && lb_worker_check_config(w, &cfg, &wrong) != LB_E_OK) {
      FZ_CHECK(wrong && wrong[0], "refused without why");
      free(wrong);
    }
    lb_config_release(&cfg);
  } else {
    FZ_CHECK(errors && errors[0], "refused without why");
    check_errors(errors);
  }
  free(errors);
  return e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  fz_begin(data, size);
  static const char *const skipped[] = { "plugin.", "@include", "/dev/", "/proc/", "/sys/" };
  for (size_t i = 0; i < sizeof(skipped) / sizeof(skipped[0]); i++)
    if (fz_holds(data, size, skipped[i]))
      return 0;
  lb_log_clear_secrets();
  for (size_t i = 0; fz_secrets[i]; i++)
    lb_log_add_secret(fz_secrets[i]);
  write_file(data, size);

  lb_config_defaults d = defaults_of(&lb_worker_catalog);
  if (load(&d, &lb_worker_catalog) == LB_E_OK) {
    d = defaults_of(&lb_worker_completion);
    load(&d, &lb_worker_completion);
    d = defaults_of(&lb_worker_catalog);
    d.kafka_only = true;
    load(&d, NULL);
  }
  return 0;
}
