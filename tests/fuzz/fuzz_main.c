/* fuzz_main: without libFuzzer (a gcc build, or clang without its runtime): the
 * target as a plain program that runs each file given, or each file of each
 * directory given (in name order), through LLVMFuzzerTestOneInput once, so
 * that the corpus is a regression test in every build. Arguments starting
 * with '-' (libFuzzer's options) are ignored. Exit 0 when every input ran;
 * an input that breaks an invariant aborts (fuzz_util.h); 1 when an input
 * cannot be read, or none was given. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static long ran;

static int run_file(const char *path)
{
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "fuzz: cannot open \"%s\"\n", path);
    return -1;
  }
  size_t cap = 4096, len = 0, n;
  uint8_t *buf = malloc(cap);
  while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
    len += n;
    if (len == cap) {
      uint8_t *more = realloc(buf, cap * 2);
      if (!more) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = more;
      cap *= 2;
    }
  }
  int bad = ferror(f) || !buf;
  fclose(f);
  if (bad) {
    fprintf(stderr, "fuzz: cannot read \"%s\"\n", path);
    free(buf);
    return -1;
  }
  /* exactly `len` bytes, as libFuzzer gives them: ASan sees a read past */
  uint8_t *exact = malloc(len ? len : 1);
  if (!exact) {
    free(buf);
    return -1;
  }
  memcpy(exact, buf, len);
  free(buf);
  LLVMFuzzerTestOneInput(exact, len);
  free(exact);
  ran++;
  return 0;
}

static int keep_regular(const struct dirent *e)
{
  return e->d_name[0] != '.';
}

static int run_path(const char *path)
{
  struct stat st;
  if (stat(path, &st) != 0) {
    fprintf(stderr, "fuzz: no such file or directory \"%s\"\n", path);
    return -1;
  }
  if (!S_ISDIR(st.st_mode))
    return run_file(path);
  struct dirent **names;
  int n = scandir(path, &names, keep_regular, alphasort);
  if (n < 0) {
    fprintf(stderr, "fuzz: cannot list \"%s\"\n", path);
    return -1;
  }
  int rc = 0;
  for (int i = 0; i < n; i++) {
    char sub[4096];
    snprintf(sub, sizeof(sub), "%s/%s", path, names[i]->d_name);
    if (stat(sub, &st) == 0 && S_ISREG(st.st_mode) && run_file(sub) != 0)
      rc = -1;
    free(names[i]);
  }
  free(names);
  return rc;
}

int main(int argc, char **argv)
{
  int rc = 0;
  if (LLVMFuzzerInitialize)
    LLVMFuzzerInitialize(&argc, &argv);
  for (int i = 1; i < argc; i++)
    if (argv[i][0] != '-' && run_path(argv[i]) != 0)
      rc = 1;
  if (ran == 0) {
    fprintf(stderr, "%s: no input given (a corpus directory or files)\n", argv[0]);
    return 1;
  }
  printf("%s: %ld inputs ran, no invariant broken\n", argv[0], ran);
  return rc;
}
