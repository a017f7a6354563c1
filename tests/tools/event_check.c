/* event-check catalog|completion FILE: runs one file through the C event
 * parser, for tests/schema_agreement.py. Prints "valid" (exit 0) or
 * "invalid: <field>: <why>" (exit 1); exit 2 on usage or I/O errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_event.h"

#define MAX_FILE (4 * 1024 * 1024)

int main(int argc, char **argv)
{
  char err[512];
  int rc = 2;
  char *buf = NULL;
  FILE *f = NULL;

  if (argc != 3 || (strcmp(argv[1], "catalog") && strcmp(argv[1], "completion"))) {
    fprintf(stderr, "usage: event-check catalog|completion FILE\n");
    return 2;
  }
  if (!(f = fopen(argv[2], "rb")) || !(buf = malloc(MAX_FILE))) {
    fprintf(stderr, "event-check: cannot read \"%s\"\n", argv[2]);
    goto out;
  }
  size_t n = fread(buf, 1, MAX_FILE, f);
  if (ferror(f) || n == MAX_FILE) {
    fprintf(stderr, "event-check: cannot read \"%s\" (or too big)\n", argv[2]);
    goto out;
  }
  lb_err e;
  if (strcmp(argv[1], "catalog") == 0) {
    lb_catalog_event ev;
    e = lb_catalog_event_parse(&ev, buf, n, err, sizeof(err));
    lb_catalog_event_release(&ev);
  } else {
    lb_completion_event ev;
    e = lb_completion_event_parse(&ev, buf, n, err, sizeof(err));
    lb_completion_event_release(&ev);
  }
  if (e == LB_E_OK) {
    printf("valid\n");
    rc = 0;
  } else if (e == LB_E_EVENT) {
    printf("invalid: %s\n", err);
    rc = 1;
  } else {
    fprintf(stderr, "event-check: %s\n", lb_strerror(e));
  }
out:
  if (f)
    fclose(f);
  free(buf);
  return rc;
}
