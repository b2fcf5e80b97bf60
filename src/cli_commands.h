/* cli_commands.h - what the operator commands (cli_commands.c) share with
 * the command line's machinery (cli.c): the table that names every
 * command, and the calls a command makes to read its arguments and to run
 * an operator API request. Not for the rest of the server: cli.h is. */
#ifndef INNBOCKS_CLI_COMMANDS_H
#define INNBOCKS_CLI_COMMANDS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "store/store.h"

/* What every command is given: the open store and the settings. */
struct cli {
	struct store *store;
	const struct config *cfg;
	const char *command; /* "key create", for the access log */
	int *requests;       /* operator requests run so far */
	bool quiet;          /* print an answer only when it is an error */
};

#define CLI_FLAGS_MAX 10
#define CLI_NEEDS_MAX 3

/* One command: `innbocks <name> [<sub>] <arguments>`. */
struct command {
	const char *name;
	const char *sub; /* NULL: the command has no subcommand */
	/* Runs the command on the arguments after name and sub; returns the
	 * exit code. NULL: main.c runs it. It runs only once cli.c has found
	 * in argv the flags of needs and args_min arguments, and nothing it
	 * does not take: it need not check them again. */
	int (*run)(const struct cli *cli, int argc, char **argv);
	/* Its line(s) of the usage text, after "innbocks "; NULL when the line
	 * of the command above covers it too. */
	const char *usage;
	/* The --flags it takes, without the dashes; unused slots are NULL. */
	const char *flags[CLI_FLAGS_MAX];
	/* How many arguments it takes besides its flags, at most (an id, a
	 * file): more is a mistake to refuse, not to ignore (`key revoke A B`
	 * would revoke A and leave B working). */
	int args;
	/* How many of them it cannot run without. */
	int args_min;
	/* The flags it cannot run without; unused slots are NULL. */
	const char *needs[CLI_NEEDS_MAX];
};

/* Every command, in the order of the usage text (cli_commands.c). */
extern const struct command cli_commands[];
extern const size_t cli_commands_count;

/* Returns the value of --name in argv (borrowed from argv), or NULL. */
const char *cli_opt(int argc, char **argv, const char *name);

/* Returns the first argument that is neither an option nor its value, or
 * NULL. */
const char *cli_positional(int argc, char **argv);

/* Sets o's field key to the string value, when value is not NULL. */
void cli_set_opt(json_t *o, const char *key, const char *value);

/* Sets, for each {field, flag} pair of map (ended by {NULL}), o's field to
 * the value of --flag when the command line gives it. */
void cli_set_opts(json_t *o, int argc, char **argv, const char *const map[][2]);

/* Runs the operator request method path_fmt, whose one "%s" (if any) is
 * id, and prints the answer: on stdout, pretty, unless cli is quiet; an
 * error on stderr. id is one path segment as typed: never split at a '?'
 * nor decoded, so `customer show 'cus_1?x'` asks for that customer, as
 * .../cus_1%3Fx would over HTTP. body (may be NULL) is taken. When out is
 * not NULL, *out gets the answer of a success (the caller frees it).
 * Returns the exit code: 0 on a 2xx answer, 1 otherwise, 2 when id is too
 * long to be a path segment. */
int cli_call(const struct cli *cli, const char *method, const char *path_fmt, const char *id,
	     json_t *body, json_t **out);

/* The most filters a list command passes on (cli_list()). */
#define CLI_FILTERS_MAX 4

/* Prints the first 100 items of the list at path_fmt (with id, as
 * cli_call()), filtered, for each {query parameter, flag} pair of filters
 * (ended by {NULL}; at most CLI_FILTERS_MAX; NULL for none), by the value
 * of --flag when argv gives it. Returns the exit code. */
int cli_list(const struct cli *cli, const char *path_fmt, const char *id, int argc, char **argv,
	     const char *const filters[][2]);

/* Runs the operator request method target, a path and query as an HTTP
 * client would send them: percent-escapes and a '+' in the query decoded
 * as the HTTP layer decodes them. body (may be NULL) is taken. Returns
 * the exit code. */
int cli_call_target(const struct cli *cli, const char *method, const char *target,
		    json_t *body);

#endif
