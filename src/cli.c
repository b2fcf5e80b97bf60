/* cli.c - the operator command line's machinery: it finds the command that
 * argv names in the table of cli_commands.c, refuses options and
 * arguments the command does not take, opens the database, and runs each
 * operator API request a command makes through the same dispatcher as
 * HTTP, printing the answer (pretty, on stdout; errors on stderr) and
 * logging it as the access log logs a request. */
#include "cli.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accesslog.h"
#include "cli_commands.h"
#include "dispatch.h"
#include "banned.h"

/* The longest path a command asks for: an id longer than a path can hold
 * is no id. */
#define CLI_PATH_MAX 2048

const char *cli_opt(int argc, char **argv, const char *name)
{
	size_t nl = strlen(name);
	for (int i = 0; i < argc; i++) {
		if (strncmp(argv[i], "--", 2) != 0 || strncmp(argv[i] + 2, name, nl) != 0)
			continue;
		if (argv[i][2 + nl] == '=')
			return argv[i] + 3 + nl;
		if (argv[i][2 + nl] == '\0' && i + 1 < argc)
			return argv[i + 1];
	}
	return NULL;
}

const char *cli_positional(int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		if (strncmp(argv[i], "--", 2) == 0) {
			if (!strchr(argv[i], '='))
				i++;
			continue;
		}
		return argv[i];
	}
	return NULL;
}

void cli_set_opt(json_t *o, const char *key, const char *value)
{
	if (value)
		json_object_set_new(o, key, json_string(value));
}

void cli_set_opts(json_t *o, int argc, char **argv, const char *const map[][2])
{
	for (int i = 0; map[i][0]; i++)
		cli_set_opt(o, map[i][0], cli_opt(argc, argv, map[i][1]));
}

/* Runs req (its method, path and query set) with body (taken, may be
 * NULL) as an operator request, prints and logs the answer, and returns
 * the exit code; *out as cli_call() says. */
static int call(const struct cli *cli, struct request *req, json_t *body, json_t **out)
{
	char *text = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	json_decref(body);
	char base_url[300];
	config_base_url(cli->cfg, base_url, sizeof(base_url));
	struct app app = {
		.store = cli->store,
		.webhook_allow_loopback = cli->cfg->webhook_allow_loopback,
		.base_url = base_url,
	};
	req->content_type = "application/json";
	req->body = text;
	req->body_len = text ? strlen(text) : 0;
	req->operator_trusted = true;
	struct response resp = {0};
	int64_t arrived = accesslog_now_us();
	double started = monotonic_seconds();
	dispatch(&app, req, &resp);
	free(text);
	json_t *answer = json_loadb(resp.body, resp.body_len, 0, NULL);
	int code = resp.status >= 200 && resp.status < 300 ? 0 : 1;
	FILE *to = code ? stderr : stdout;
	if (cli->quiet && !code) {
		/* the command prints its own summary */
	} else if (answer) {
		char *pretty = json_dumps(answer, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fprintf(to, "%s\n", pretty);
		free(pretty);
	} else if (resp.body_len) {
		/* Not JSON (the metrics): as it was answered. */
		fwrite(resp.body, 1, resp.body_len, to);
	}
	fflush(stdout);
	fflush(stderr);
	(*cli->requests)++;
	struct accesslog_entry entry = {
		.time_us = arrived,
		.source = "cli",
		.command = cli->command,
		.method = req->method,
		.status = resp.status,
		.duration_us = (int64_t)((monotonic_seconds() - started) * 1e6),
		.bytes_out = resp.body_len,
		.exit_code = code,
		.facts = &resp.facts,
	};
	accesslog_write(STDERR_FILENO, cli->cfg->log, &entry);
	if (out && code == 0)
		*out = answer;
	else
		json_decref(answer);
	resp_free(&resp);
	return code;
}

/* Writes path_fmt with id in place of its "%s" (if any) into
 * path[CLI_PATH_MAX]; returns 0, or -1 after saying on stderr that id is
 * too long. */
static int path_fill(char path[static CLI_PATH_MAX], const char *path_fmt, const char *id)
{
	const char *hole = strstr(path_fmt, "%s");
	size_t head = hole ? (size_t)(hole - path_fmt) : strlen(path_fmt);
	const char *tail = hole ? hole + 2 : "";
	size_t idlen = hole && id ? strlen(id) : 0;
	if (head + idlen + strlen(tail) >= CLI_PATH_MAX) {
		fprintf(stderr, "innbocks: '%.32s...' is too long to be an id\n", id);
		return -1;
	}
	memcpy(path, path_fmt, head);
	memcpy(path + head, hole && id ? id : "", idlen);
	memcpy(path + head + idlen, tail, strlen(tail) + 1);
	return 0;
}

int cli_call(const struct cli *cli, const char *method, const char *path_fmt, const char *id,
	     json_t *body, json_t **out)
{
	char path[CLI_PATH_MAX];
	if (path_fill(path, path_fmt, id) < 0) {
		json_decref(body);
		return 2;
	}
	/* A slash in an id would split its segment: as %2F over HTTP, no route. */
	struct request req = {
		.method = method, .path = path, .path_slash = id && strchr(id, '/')};
	return call(cli, &req, body, out);
}

int cli_list(const struct cli *cli, const char *path_fmt, const char *id, int argc, char **argv,
	     const char *const filters[][2])
{
	char path[CLI_PATH_MAX];
	if (path_fill(path, path_fmt, id) < 0)
		return 2;
	struct query_param query[1 + CLI_FILTERS_MAX] = {{"limit", "100"}};
	struct request req = {
		.method = "GET",
		.path = path,
		.query = query,
		.nquery = 1,
		.path_slash = id && strchr(id, '/'), /* as cli_call() */
	};
	for (int i = 0; filters && i < CLI_FILTERS_MAX && filters[i][0]; i++) {
		const char *value = cli_opt(argc, argv, filters[i][1]);
		if (value)
			query[req.nquery++] = (struct query_param){filters[i][0], value};
	}
	return call(cli, &req, NULL, NULL);
}

/* Decodes text in place as the HTTP layer decodes a path or a query
 * parameter (plus: a '+' is a space, as in a query); returns false when a
 * decoded byte is NUL, which would cut the text short. */
static bool target_decode(char *text, bool plus)
{
	if (plus)
		for (char *s = strchr(text, '+'); s; s = strchr(s + 1, '+'))
			*s = ' ';
	size_t len = MHD_http_unescape(text);
	return strlen(text) == len;
}

int cli_call_target(const struct cli *cli, const char *method, const char *target, json_t *body)
{
	char *path = strdup(target);
	if (!path)
		die("out of memory");
	struct query_param query[QUERY_MAX];
	struct request req = {.method = method, .path = path, .query = query};
	char *qs = strchr(path, '?');
	if (qs)
		*qs++ = '\0';
	/* The refusals the HTTP layer leaves to the dispatcher, so that the
	 * answer is the one a client of the server gets. */
	for (const char *s = strstr(path, "%2"); s && !req.path_slash; s = strstr(s + 1, "%2"))
		req.path_slash = s[2] == 'F' || s[2] == 'f';
	req.has_nul = !target_decode(path, false);
	/* Every piece between '&'s is a parameter, an empty one too (the HTTP
	 * layer hands on an empty name, which no route takes). */
	for (char *tok; qs && *qs && (tok = strsep(&qs, "&")) != NULL;) {
		if (req.nquery == QUERY_MAX) {
			req.query_overflow = true;
			break;
		}
		char *value = strchr(tok, '=');
		if (value)
			*value++ = '\0';
		req.has_nul |= !target_decode(tok, true);
		req.has_nul |= value && !target_decode(value, true);
		for (size_t i = 0; i < req.nquery && !req.query_repeated; i++)
			if (strcmp(query[i].key, tok) == 0)
				req.query_repeated = query[i].key;
		query[req.nquery++] = (struct query_param){tok, value ? value : ""};
	}
	int code = call(cli, &req, body, NULL);
	free(path);
	return code;
}

/* Prints every command's usage on stderr; returns the misuse exit code. */
static int usage(void)
{
	fputs("usage:\n", stderr);
	for (size_t i = 0; i < cli_commands_count; i++)
		if (cli_commands[i].usage)
			fprintf(stderr, "  innbocks %s\n", cli_commands[i].usage);
	fputs("Every command takes --database PATH (or INNBOCKS_DATABASE).\n", stderr);
	return 2;
}

/* Returns the command that argv names, or NULL. */
static const struct command *command_find(int argc, char **argv)
{
	for (size_t i = 0; i < cli_commands_count; i++) {
		const struct command *cmd = &cli_commands[i];
		if (strcmp(argv[0], cmd->name) == 0 &&
		    (!cmd->sub || (argc > 1 && strcmp(argv[1], cmd->sub) == 0)))
			return cmd;
	}
	return NULL;
}

/* Returns true when cmd takes the flag of len bytes at flag. */
static bool flag_known(const struct command *cmd, const char *flag, size_t len)
{
	for (int i = 0; i < CLI_FLAGS_MAX && cmd->flags[i]; i++)
		if (strlen(cmd->flags[i]) == len && strncmp(cmd->flags[i], flag, len) == 0)
			return true;
	return false;
}

/* Says on stderr that cmd needs what, and how cmd is used; returns -1. */
static int lacks(const struct command *cmd, const char *what)
{
	const struct command *with_usage = cmd;
	while (!with_usage->usage && with_usage > cli_commands)
		with_usage--; /* a line the row above shares */
	fprintf(stderr, "innbocks: '%s%s%s' needs %s; usage:\n  innbocks %s\n", cmd->name,
		cmd->sub ? " " : "", cmd->sub ? cmd->sub : "", what, with_usage->usage);
	return -1;
}

/* Returns 0 when cmd takes every --flag in argv, its arguments, and no more
 * other arguments than it takes, and argv has the flags and arguments cmd
 * needs; or -1 after saying on stderr what it does not take or lacks. A
 * flag's value is the next argument unless given as --flag=value. */
static int args_check(const struct command *cmd, int argc, char **argv)
{
	int args = 0;
	for (int i = 0; i < argc; i++) {
		if (strncmp(argv[i], "--", 2) != 0) {
			if (++args > cmd->args) {
				char most[32];
				if (cmd->args <= 1)
					snprintf(most, sizeof(most), "%s",
						 cmd->args ? "one argument" : "no argument");
				else
					snprintf(most, sizeof(most), "%d arguments at most",
						 cmd->args);
				fprintf(stderr,
					"innbocks: '%s%s%s' takes %s besides its options; '%s' is "
					"one too many\n",
					cmd->name, cmd->sub ? " " : "",
					cmd->sub ? cmd->sub : "", most, argv[i]);
				return -1;
			}
			continue;
		}
		const char *flag = argv[i] + 2;
		size_t len = strcspn(flag, "=");
		if (!flag_known(cmd, flag, len)) {
			fprintf(stderr,
				"innbocks: unknown option --%.*s for '%s%s%s' (it takes",
				(int)len, flag, cmd->name, cmd->sub ? " " : "",
				cmd->sub ? cmd->sub : "");
			for (int j = 0; j < CLI_FLAGS_MAX && cmd->flags[j]; j++)
				fprintf(stderr, " --%s", cmd->flags[j]);
			fputs(cmd->flags[0] ? ")\n" : " none)\n", stderr);
			return -1;
		}
		if (!flag[len])
			i++;
	}
	for (int j = 0; j < CLI_NEEDS_MAX && cmd->needs[j]; j++) {
		if (!cli_opt(argc, argv, cmd->needs[j])) {
			char what[64];
			snprintf(what, sizeof(what), "--%s", cmd->needs[j]);
			return lacks(cmd, what);
		}
	}
	if (args < cmd->args_min)
		return lacks(cmd, cmd->args_min == 1 ? "an argument" : "more arguments");
	return 0;
}

/* Returns 0 when the database at path exists (or is SQLite's in-memory
 * one, or a PostgreSQL database, which opening checks: PostgreSQL never
 * creates one), or -1 after saying on stderr where it looked and how to
 * point the command at the server's database: only `serve`, `migrate`
 * and `demo` create one, so a mistyped path or another directory is not a
 * fresh empty database. */
static int database_exists(const char *path)
{
	struct stat st;
	char cwd[1024];
	if (store_is_postgres(path) || strcmp(path, ":memory:") == 0 || stat(path, &st) == 0)
		return 0;
	fprintf(stderr, "innbocks: no database at %s", path);
	if (path[0] != '/' && getcwd(cwd, sizeof(cwd)))
		fprintf(stderr, " (looked in %s)", cwd);
	fputs(".\nOperator commands work on the server's database and never create one.\n"
	      "Point them at it with --database PATH or INNBOCKS_DATABASE=PATH (the path the\n"
	      "server was started with; ./scripts/start.sh uses innbocks.db in the repository),\n"
	      "or create one with `innbocks serve`, `innbocks migrate` or `innbocks demo`.\n",
	      stderr);
	return -1;
}

/* build/gen/version.c: the commit the binary was built from. */
extern const char innbocks_version[];

/* Says which binary this is, for an operator comparing instances (a
 * rolling upgrade): the commit, and the schema each backend ends at. */
static int version(void)
{
	printf("innbocks %s (schema: SQLite %d, PostgreSQL %d)\n", innbocks_version,
	       store_schema_version(false), store_schema_version(true));
	return 0;
}

int cli_run(const struct config *cfg, int argc, char **argv)
{
	if (argc == 1 && (strcmp(argv[0], "version") == 0 || strcmp(argv[0], "--version") == 0))
		return version();
	const struct command *cmd = argc > 0 ? command_find(argc, argv) : NULL;
	if (!cmd || !cmd->run)
		return usage();
	int skip = cmd->sub ? 2 : 1;
	if (args_check(cmd, argc - skip, argv + skip) < 0)
		return 2;
	bool creates = strcmp(cmd->name, "demo") == 0 || strcmp(cmd->name, "migrate") == 0;
	if (!creates && database_exists(cfg->database) < 0)
		return 1;
	struct err e;
	char name[64];
	snprintf(name, sizeof(name), "%s%s%s", cmd->name, cmd->sub ? " " : "",
		 cmd->sub ? cmd->sub : "");
	int requests = 0;
	struct cli cli = {
		.store = store_open(cfg->database, &e),
		.cfg = cfg,
		.command = name,
		.requests = &requests,
	};
	if (!cli.store) {
		fprintf(stderr, "innbocks: %s\n", e.message);
		return 1;
	}
	int64_t arrived = accesslog_now_us();
	double started = monotonic_seconds();
	int rc = cmd->run(&cli, argc - skip, argv + skip);
	cli.store->ops->close(cli.store);
	/* Commands that made operator requests logged each; the others
	 * (admin-token create, backup) log themselves here. */
	if (requests == 0 && rc != 2) {
		fflush(stdout);
		fflush(stderr);
		struct accesslog_entry entry = {
			.time_us = arrived,
			.source = "cli",
			.command = name,
			.duration_us = (int64_t)((monotonic_seconds() - started) * 1e6),
			.exit_code = rc,
		};
		accesslog_write(STDERR_FILENO, cfg->log, &entry);
	}
	return rc;
}
