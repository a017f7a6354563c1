/* lb_cli: the command line both daemons share (docs/command-line.md):
 * --config FILE, --check-config, --map FILE|-, --version, --help. */
#ifndef LB_CLI_H
#define LB_CLI_H

#include "lb_worker.h"

/* Logs each "file:line: key: what" line of a configuration error report
 * (lb_config_load) as an error with `msg`. */
void lb_cli_log_config_errors(const char *errors, const char *msg);

/* Runs the daemon's command line; returns the process exit code
 * (0 success, 1 invalid configuration or input, 2 usage). */
int lb_cli_main(const lb_worker *w, int argc, char **argv);

#endif
