/* cli.h - the operator command line: `innbocks partner create`, `key
 * create`, ... Each command becomes an operator API request run through
 * the same dispatcher as HTTP, so validation and events are identical. */
#ifndef INNBOCKS_CLI_H
#define INNBOCKS_CLI_H

#include "config.h"

/* Runs the command in argv[0..argc) against cfg's database. Returns the
 * process exit code: 0 on success, 1 on a refused request, 2 on misuse. */
int cli_run(const struct config *cfg, int argc, char **argv);

#endif
