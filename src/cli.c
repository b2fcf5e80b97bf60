/* cli.c - the operator command line. Commands are thin: they build an
 * operator API request and print the answer, pretty, on stdout (errors on
 * stderr). One table, commands[] at the bottom, names every command with
 * the function that runs it, its usage line and the flags it takes: it
 * drives both the dispatch and the usage text. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accesslog.h"
#include "auth.h"
#include "dispatch.h"
#include "store/store.h"
#include "banned.h"

/* What every command is given: the open store and the settings. */
struct cli {
	struct store *store;
	const struct config *cfg;
	const char *command; /* "key create", for the access log */
	int *requests;       /* operator requests run so far */
	bool quiet;          /* print an answer only when it is an error */
};

static int usage(void);

/* Returns the value of --name in argv, or NULL. */
static const char *opt(int argc, char **argv, const char *name)
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

/* Returns the first argument that is neither an option nor its value. */
static const char *positional(int argc, char **argv)
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

static void set_opt(json_t *o, const char *key, const char *value)
{
	if (value)
		json_object_set_new(o, key, json_string(value));
}

/* Sets, for each {field, flag} pair of map (ended by {NULL}), o's field to
 * the value of --flag when the command line gives it. */
static void set_opts(json_t *o, int argc, char **argv, const char *const map[][2])
{
	for (int i = 0; map[i][0]; i++)
		set_opt(o, map[i][0], opt(argc, argv, map[i][1]));
}

/* Runs one operator request and prints the answer. Takes body (may be NULL). */
static int run(const struct cli *cli, const char *method, const char *path, json_t *body,
	       json_t **out)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	char base_url[300];
	config_base_url(cli->cfg, base_url, sizeof(base_url));
	struct app app = {
		.store = cli->store,
		.webhook_allow_loopback = cli->cfg->webhook_allow_loopback,
		.base_url = base_url,
	};
	char *path_only = strdup(path);
	if (!path_only)
		die("out of memory");
	struct query_param query[16];
	size_t nquery = 0;
	char *qs = strchr(path_only, '?');
	if (qs) {
		*qs++ = '\0';
		char *save = NULL;
		for (char *tok = strtok_r(qs, "&", &save); tok && nquery < 16;
		     tok = strtok_r(NULL, "&", &save)) {
			char *eq = strchr(tok, '=');
			if (eq)
				*eq++ = '\0';
			query[nquery++] = (struct query_param){tok, eq ? eq : ""};
		}
	}
	struct request req = {
		.method = method,
		.path = path_only,
		.query = query,
		.nquery = nquery,
		.content_type = "application/json",
		.body = text,
		.body_len = text ? strlen(text) : 0,
		.operator_trusted = true,
	};
	struct response resp = {0};
	int64_t arrived = accesslog_now_us();
	double started = monotonic_seconds();
	dispatch(&app, &req, &resp);
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
		.method = method,
		.status = resp.status,
		.duration_us = (int64_t)((monotonic_seconds() - started) * 1e6),
		.bytes_out = resp.body_len,
		.exit_code = code,
		.facts = &resp.facts,
	};
	accesslog_write(STDERR_FILENO, cli->cfg->log, &entry);
	free(path_only);
	if (out && code == 0)
		*out = answer;
	else
		json_decref(answer);
	resp_free(&resp);
	return code;
}

static int cmd_partner_create(const struct cli *cli, int argc, char **argv)
{
	static const char *const location[][2] = {
		{"line1", "line1"},
		{"line2", "line2"},
		{"city", "city"},
		{"state", "state"},
		{"postal_code", "postal-code"},
		{"country", "country"},
		{NULL, NULL},
	};
	json_t *loc = json_object();
	set_opts(loc, argc, argv, location);
	json_t *body = json_object();
	set_opt(body, "name", opt(argc, argv, "name"));
	json_object_set_new(body, "location", loc);
	return run(cli, "POST", "/admin/v1/partners", body, NULL);
}

/* Returns a JSON array of the items of a comma-separated list. */
static json_t *list_array(const char *list)
{
	json_t *a = json_array();
	char *copy = strdup(list);
	if (!copy)
		die("out of memory");
	char *save = NULL;
	for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save))
		json_array_append_new(a, json_string(tok));
	free(copy);
	return a;
}

/* Returns the JSON value of a true|false option: a boolean for those two
 * words, else the text as a string, which the handler refuses (422) as it
 * would over HTTP, so a typo never reads as false. */
static json_t *bool_value(const char *text)
{
	if (strcmp(text, "true") == 0)
		return json_true();
	if (strcmp(text, "false") == 0)
		return json_false();
	return json_string(text);
}

static int cmd_partner_list(const struct cli *cli, int argc, char **argv)
{
	(void)argc, (void)argv;
	return run(cli, "GET", "/admin/v1/partners?limit=100", NULL, NULL);
}

static int cmd_key_create(const struct cli *cli, int argc, char **argv)
{
	const char *partner = opt(argc, argv, "partner");
	const char *scopes = opt(argc, argv, "scopes");
	if (!partner || !scopes)
		return usage();
	json_t *body = json_object();
	set_opt(body, "name", opt(argc, argv, "name"));
	set_opt(body, "mode", opt(argc, argv, "mode"));
	json_object_set_new(body, "scopes", list_array(scopes));
	char path[256];
	snprintf(path, sizeof(path), "/admin/v1/partners/%s/keys", partner);
	return run(cli, "POST", path, body, NULL);
}

/* Prints the newest 100 of the --partner's `what` (keys, users, ...). */
static int partner_list(const struct cli *cli, int argc, char **argv, const char *what)
{
	const char *partner = opt(argc, argv, "partner");
	if (!partner)
		return usage();
	char path[256];
	snprintf(path, sizeof(path), "/admin/v1/partners/%s/%s?limit=100", partner, what);
	return run(cli, "GET", path, NULL, NULL);
}

static int cmd_key_list(const struct cli *cli, int argc, char **argv)
{
	return partner_list(cli, argc, argv, "keys");
}

static int cmd_key_revoke(const struct cli *cli, int argc, char **argv)
{
	const char *id = positional(argc, argv);
	if (!id)
		return usage();
	char path[256];
	snprintf(path, sizeof(path), "/admin/v1/keys/%s/revoke", id);
	return run(cli, "POST", path, NULL, NULL);
}

static int cmd_customer_show(const struct cli *cli, int argc, char **argv)
{
	const char *id = positional(argc, argv);
	if (!id)
		return usage();
	char path[256];
	snprintf(path, sizeof(path), "/admin/v1/customers/%s", id);
	return run(cli, "GET", path, NULL, NULL);
}

/* POSTs body (taken) to the operator action of the customer named in argv. */
static int customer_post(const struct cli *cli, int argc, char **argv, const char *action,
			 json_t *body)
{
	const char *id = positional(argc, argv);
	if (!id) {
		json_decref(body);
		return usage();
	}
	char path[256];
	snprintf(path, sizeof(path), "/admin/v1/customers/%s/%s", id, action);
	return run(cli, "POST", path, body, NULL);
}

static int cmd_customer_accept_invite(const struct cli *cli, int argc, char **argv)
{
	return customer_post(cli, argc, argv, "accept-invite", json_object());
}

static int cmd_customer_billing(const struct cli *cli, int argc, char **argv)
{
	const char *active = opt(argc, argv, "active");
	if (!active)
		return usage();
	json_t *body = json_object();
	json_object_set_new(body, "active", bool_value(active));
	return customer_post(cli, argc, argv, "billing", body);
}

static int cmd_customer_compliance(const struct cli *cli, int argc, char **argv)
{
	static const char *const fields[][2] = {
		{"form_1583", "form-1583"},
		{"identity", "identity"},
		{"reason", "reason"},
		{NULL, NULL},
	};
	json_t *body = json_object();
	set_opts(body, argc, argv, fields);
	return customer_post(cli, argc, argv, "compliance", body);
}

static int cmd_mail_record(const struct cli *cli, int argc, char **argv)
{
	static const char *const fields[][2] = {
		{"customer_id", "customer"},
		{"type", "type"},
		{"performed_by", "performed-by"},
		{"tracking_number", "tracking-number"},
		{"carrier", "carrier"},
		{"sender", "sender"},
		{"notes", "notes"},
		{"received_at", "received-at"},
		{NULL, NULL},
	};
	json_t *body = json_object();
	set_opts(body, argc, argv, fields);
	json_t *photos = json_array();
	for (int i = 0; i < argc; i++) {
		if (strncmp(argv[i], "--photo=", 8) == 0)
			json_array_append_new(photos, json_string(argv[i] + 8));
		else if (strcmp(argv[i], "--photo") == 0 && i + 1 < argc)
			json_array_append_new(photos, json_string(argv[++i]));
	}
	json_object_set_new(body, "photos", photos);
	return run(cli, "POST", "/admin/v1/mail", body, NULL);
}

static int cmd_action_list(const struct cli *cli, int argc, char **argv)
{
	const char *status = opt(argc, argv, "status");
	char path[256];
	snprintf(path, sizeof(path), "/admin/v1/mail-actions?limit=100%s%s",
		 status ? "&status=" : "", status ? status : "");
	return run(cli, "GET", path, NULL, NULL);
}

/* POSTs the flags in argv to the operator verb (complete, fail, cancel)
 * of the mail action named in argv. */
static int action_close(const struct cli *cli, int argc, char **argv, const char *verb)
{
	static const char *const fields[][2] = {
		{"document_url", "document-url"},
		{"carrier", "carrier"},
		{"tracking_number", "tracking-number"},
		{"reason", "reason"},
		{NULL, NULL},
	};
	const char *id = positional(argc, argv);
	if (!id)
		return usage();
	json_t *body = json_object();
	set_opts(body, argc, argv, fields);
	char path[256];
	snprintf(path, sizeof(path), "/admin/v1/mail-actions/%s/%s", id, verb);
	return run(cli, "POST", path, body, NULL);
}

static int cmd_action_complete(const struct cli *cli, int argc, char **argv)
{
	return action_close(cli, argc, argv, "complete");
}

static int cmd_action_fail(const struct cli *cli, int argc, char **argv)
{
	return action_close(cli, argc, argv, "fail");
}

static int cmd_action_cancel(const struct cli *cli, int argc, char **argv)
{
	return action_close(cli, argc, argv, "cancel");
}

/* Returns the body of webhook create and update: --url, --events and
 * --enabled, when given. */
static json_t *webhook_body(int argc, char **argv)
{
	const char *events = opt(argc, argv, "events");
	const char *enabled = opt(argc, argv, "enabled");
	json_t *body = json_object();
	set_opt(body, "url", opt(argc, argv, "url"));
	if (events)
		json_object_set_new(body, "enabled_events", list_array(events));
	if (enabled)
		json_object_set_new(body, "enabled", bool_value(enabled));
	return body;
}

static int cmd_webhook_create(const struct cli *cli, int argc, char **argv)
{
	const char *partner = opt(argc, argv, "partner");
	if (!partner)
		return usage();
	char path[256];
	snprintf(path, sizeof(path), "/admin/v1/partners/%s/webhook-endpoints", partner);
	json_t *body = webhook_body(argc, argv);
	set_opt(body, "mode", opt(argc, argv, "mode"));
	return run(cli, "POST", path, body, NULL);
}

static int cmd_webhook_list(const struct cli *cli, int argc, char **argv)
{
	return partner_list(cli, argc, argv, "webhook-endpoints");
}

static int cmd_webhook_update(const struct cli *cli, int argc, char **argv)
{
	const char *id = positional(argc, argv);
	if (!id)
		return usage();
	char path[256];
	snprintf(path, sizeof(path), "/admin/v1/webhook-endpoints/%s", id);
	return run(cli, "PATCH", path, webhook_body(argc, argv), NULL);
}

static int cmd_webhook_rotate_secret(const struct cli *cli, int argc, char **argv)
{
	const char *id = positional(argc, argv);
	if (!id)
		return usage();
	char path[256];
	snprintf(path, sizeof(path), "/admin/v1/webhook-endpoints/%s/rotate-secret", id);
	return run(cli, "POST", path, NULL, NULL);
}

static int cmd_user_create(const struct cli *cli, int argc, char **argv)
{
	const char *partner = opt(argc, argv, "partner");
	if (!partner || !opt(argc, argv, "email") || !opt(argc, argv, "role"))
		return usage();
	json_t *body = json_object();
	set_opt(body, "email", opt(argc, argv, "email"));
	set_opt(body, "role", opt(argc, argv, "role"));
	char path[256];
	snprintf(path, sizeof(path), "/admin/v1/partners/%s/users", partner);
	json_t *user = NULL;
	if (run(cli, "POST", path, body, &user) != 0)
		return 1;
	/* The link itself only on stdout: stderr is where the request's log
	 * line goes, and the link is a credential. */
	fprintf(stderr, "\nSend the user its setup_url (above): there the user chooses a "
			"password (valid 72 hours, once).\n");
	json_decref(user);
	return 0;
}

static int cmd_user_list(const struct cli *cli, int argc, char **argv)
{
	return partner_list(cli, argc, argv, "users");
}

static int cmd_user_setup_link(const struct cli *cli, int argc, char **argv)
{
	const char *id = positional(argc, argv);
	if (!id)
		return usage();
	char path[256];
	snprintf(path, sizeof(path), "/admin/v1/users/%s/setup-link", id);
	json_t *user = NULL;
	if (run(cli, "POST", path, NULL, &user) != 0)
		return 1;
	fprintf(stderr, "\nSend the user its setup_url (above): there the user chooses a "
			"password (valid 72 hours, once; earlier links no longer work).\n");
	json_decref(user);
	return 0;
}

static int cmd_admin_token_create(const struct cli *cli, int argc, char **argv)
{
	(void)argc, (void)argv;
	struct store *s = cli->store;
	struct arena *a = arena_new();
	char token[64] = ADMIN_TOKEN_PREFIX, hash[65];
	random_base62(token + strlen(token), 32);
	sha256_hex(token, strlen(token), hash);
	struct err e;
	int rc = s->ops->operator_token_insert(s, id_new(a, "opt_"), hash, now_seconds(), &e);
	arena_free(a);
	if (rc < 0) {
		fprintf(stderr, "innbocks: %s\n", e.message);
		return 1;
	}
	printf("%s\n", token);
	fputs("Keep it safe: only its hash is stored. Use it as "
	      "Authorization: Bearer <token> on /admin/v1.\n",
	      stderr);
	return 0;
}

/* backup FILE: a consistent copy of the database, taken while the server
 * runs and writes; restoring is starting the server on the copy. */
static int cmd_backup(const struct cli *cli, int argc, char **argv)
{
	const char *file = positional(argc, argv);
	if (!file || argc != 1)
		return usage();
	double started = monotonic_seconds();
	struct err e;
	if (cli->store->ops->backup(cli->store, file, &e) < 0) {
		fprintf(stderr, "innbocks: backup failed: %s\n", e.message);
		return 1;
	}
	struct stat sb;
	long long size = stat(file, &sb) == 0 ? (long long)sb.st_size : -1;
	json_t *out = json_pack("{s:s, s:I, s:I}", "path", file, "bytes", (json_int_t)size,
				"duration_ms",
				(json_int_t)((monotonic_seconds() - started) * 1000.0));
	char *text = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	printf("%s\n", text);
	free(text);
	json_decref(out);
	return 0;
}

/* migrate: applies the migrations the database lacks and prints its schema
 * version before and after. Opening the store did the work, exactly as
 * `serve` does at start (on PostgreSQL in one transaction under the
 * migrations' advisory lock, so instances starting meanwhile wait for it and
 * then find nothing to do); running it alone before several instances
 * start puts the schema change in one place (docs/deploy.md). */
static int cmd_migrate(const struct cli *cli, int argc, char **argv)
{
	(void)argv;
	if (argc != 0)
		return usage();
	const struct store *s = cli->store;
	bool pg = store_is_postgres(cli->cfg->database);
	/* A PostgreSQL connection string may hold a password: never printed. */
	json_t *out = json_pack("{s:s, s:s?, s:i, s:i, s:i}", "backend",
				pg ? "postgresql" : "sqlite", "database",
				pg ? NULL : cli->cfg->database, "schema_version_before",
				s->schema_found, "schema_version_after", s->schema_version,
				"migrations_applied", s->schema_version - s->schema_found);
	if (pg)
		json_object_del(out, "database");
	char *text = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	printf("%s\n", text);
	free(text);
	json_decref(out);
	return 0;
}

/* Creates a demo partner, an all-scope key of each mode and a dashboard
 * owner on an empty database, and prints the owner's setup link and a curl
 * command that creates a customer. */
static int cmd_demo(const struct cli *loud, int argc, char **argv)
{
	(void)argc, (void)argv;
	struct cli quiet = *loud;
	quiet.quiet = true;
	const struct cli *cli = &quiet;
	json_t *list = NULL;
	if (run(cli, "GET", "/admin/v1/partners?limit=1", NULL, &list) != 0)
		return 1;
	size_t existing = json_array_size(json_object_get(list, "data"));
	json_decref(list);
	if (existing) {
		printf("The database already has partners; make a key with:\n"
		       "  build/innbocks key create --database %s --partner ptn_... "
		       "--scopes customers:read,customers:write\n",
		       cli->cfg->database);
		return 0;
	}
	json_t *body = json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:s}}", "name", "Demo Coworking",
				 "location", "line1", "548 Market St", "city", "San Francisco",
				 "state", "CA", "postal_code", "94104", "country", "US");
	json_t *partner = NULL, *key = NULL, *test_key = NULL;
	if (run(cli, "POST", "/admin/v1/partners", body, &partner) != 0)
		return 1;
	char path[256], users[256];
	snprintf(path, sizeof(path), "/admin/v1/partners/%s/keys",
		 json_string_value(json_object_get(partner, "id")));
	snprintf(users, sizeof(users), "/admin/v1/partners/%s/users",
		 json_string_value(json_object_get(partner, "id")));
	json_decref(partner);
	static const char all_scopes[] = "customers:read,customers:write,mail:read,mail:write,"
					 "mail_actions:write,webhooks:read,billing:read";
	body = json_pack("{s:s, s:o}", "name", "demo (all scopes)", "scopes",
			 list_array(all_scopes));
	if (run(cli, "POST", path, body, &key) != 0)
		return 1;
	body = json_pack("{s:s, s:s, s:o}", "name", "demo test mode (all scopes)", "mode",
			 "test", "scopes", list_array(all_scopes));
	if (run(cli, "POST", path, body, &test_key) != 0) {
		json_decref(key);
		return 1;
	}
	json_t *owner = NULL;
	body = json_pack("{s:s, s:s}", "email", "owner@demo.example", "role", "owner");
	if (run(cli, "POST", users, body, &owner) != 0) {
		json_decref(key);
		json_decref(test_key);
		return 1;
	}
	printf("\nDashboard: open this one-time link (valid 72 hours) to choose a password for\n"
	       "owner@demo.example, then create keys and webhook endpoints in the browser:\n"
	       "  %s\n",
	       json_string_value(json_object_get(owner, "setup_url")));
	json_decref(owner);
	printf("\nTest-mode key (its data and webhooks stay apart from live mode; the\n"
	       "/api/v1/test-helpers/ routes stand in for Innbocks staff, see README):\n"
	       "  %s\n",
	       json_string_value(json_object_get(test_key, "secret")));
	json_decref(test_key);
	char base_url[300];
	config_base_url(cli->cfg, base_url, sizeof(base_url));
	printf("\nCreate a customer:\n\n"
	       "curl -X POST %s/api/v1/customers \\\n"
	       "  -H \"Authorization: Bearer %s\" \\\n"
	       "  -H \"Content-Type: application/json\" \\\n"
	       "  -H \"Idempotency-Key: crm_customer_123_create\" \\\n"
	       "  -d '{\"external_customer_id\": \"crm_customer_123\", "
	       "\"email\": \"jane@example.com\", \"name\": \"Jane Smith\", "
	       "\"phone\": \"+15555555555\", \"prepay\": true}'\n\n",
	       base_url, json_string_value(json_object_get(key, "secret")));
	json_decref(key);
	return 0;
}

/* request METHOD PATH [JSON]: any operator API call. */
static int cmd_request(const struct cli *cli, int argc, char **argv)
{
	if (argc < 2)
		return usage();
	json_t *body = NULL;
	if (argc >= 3) {
		json_error_t jerr;
		body = json_loads(argv[2], JSON_REJECT_DUPLICATES, &jerr);
		if (!body) {
			fprintf(stderr, "innbocks: the JSON body is not valid: %s\n",
				jerr.text);
			return 2;
		}
	}
	return run(cli, argv[0], argv[1], body, NULL);
}

#define FLAGS_MAX 10

/* One command: `innbocks <name> [<sub>] <arguments>`. */
struct command {
	const char *name;
	const char *sub; /* NULL: the command has no subcommand */
	/* Runs the command on the arguments after name and sub; returns the
	 * exit code. NULL: main.c runs it. */
	int (*run)(const struct cli *cli, int argc, char **argv);
	/* Its line(s) of the usage text, after "innbocks "; NULL when the line
	 * of the command above covers it too. */
	const char *usage;
	/* The --flags it takes, without the dashes; unused slots are NULL. */
	const char *flags[FLAGS_MAX];
	/* How many arguments it takes besides its flags, at most (an id, a
	 * file): more is a mistake to refuse, not to ignore (`key revoke A B`
	 * would revoke A and leave B working). */
	int args;
};

/* Every command, in the order of the usage text. The settings' flags
 * (config.c) are taken out of argv before a command sees it. */
static const struct command commands[] = {
	{"serve",
	 NULL,
	 NULL,
	 "serve [--listen HOST:PORT] [--database PATH] [--admin-token T] ...",
	 {0},
	 0},
	{"partner",
	 "create",
	 cmd_partner_create,
	 "partner create --name N --line1 L [--line2 L2] --city C --state S\n"
	 "                          --postal-code P --country CC",
	 {"name", "line1", "line2", "city", "state", "postal-code", "country"},
	 0},
	{"partner", "list", cmd_partner_list, "partner list", {0}, 0},
	{"key",
	 "create",
	 cmd_key_create,
	 "key create --partner ptn_... --scopes a,b,... [--name N] [--mode live|test]",
	 {"partner", "scopes", "name", "mode"},
	 0},
	{"key", "list", cmd_key_list, "key list --partner ptn_...", {"partner"}, 0},
	{"key", "revoke", cmd_key_revoke, "key revoke key_...", {0}, 1},
	{"customer",
	 "accept-invite",
	 cmd_customer_accept_invite,
	 "customer accept-invite|show cus_...",
	 {0},
	 1},
	{"customer", "show", cmd_customer_show, NULL, {0}, 1},
	{"customer",
	 "billing",
	 cmd_customer_billing,
	 "customer billing cus_... --active true|false",
	 {"active"},
	 1},
	{"customer",
	 "compliance",
	 cmd_customer_compliance,
	 "customer compliance cus_... [--form-1583 S] [--identity S] [--reason R]",
	 {"form-1583", "identity", "reason"},
	 1},
	{"mail",
	 "record",
	 cmd_mail_record,
	 "mail record --customer cus_... --type letter|large_envelope|package|\n"
	 "                       periodical --photo URL [--photo URL2 ...] --performed-by W\n"
	 "                       [--tracking-number T] [--carrier C] [--sender S] [--notes N]\n"
	 "                       [--received-at RFC3339]",
	 {"customer", "type", "photo", "performed-by", "tracking-number", "carrier", "sender",
	  "notes", "received-at"},
	 0},
	{"action", "list", cmd_action_list, "action list [--status requested]", {"status"}, 0},
	{"action",
	 "complete",
	 cmd_action_complete,
	 "action complete act_... [--document-url U | --carrier C\n"
	 "                                    --tracking-number T]",
	 {"document-url", "carrier", "tracking-number"},
	 1},
	{"action", "fail", cmd_action_fail, "action fail act_... --reason R", {"reason"}, 1},
	{"action", "cancel", cmd_action_cancel, "action cancel act_...", {0}, 1},
	{"webhook",
	 "create",
	 cmd_webhook_create,
	 "webhook create --partner ptn_... --url URL [--events a,b,...]\n"
	 "                         [--mode live|test]",
	 {"partner", "url", "events", "mode"},
	 0},
	{"webhook", "list", cmd_webhook_list, "webhook list --partner ptn_...", {"partner"}, 0},
	{"webhook",
	 "update",
	 cmd_webhook_update,
	 "webhook update we_... [--url URL] [--events a,b] [--enabled true|false]",
	 {"url", "events", "enabled"},
	 1},
	{"webhook",
	 "rotate-secret",
	 cmd_webhook_rotate_secret,
	 "webhook rotate-secret we_...",
	 {0},
	 1},
	{"user",
	 "create",
	 cmd_user_create,
	 "user create --partner ptn_... --email E --role owner|developer|viewer\n"
	 "                       (a dashboard user; prints the one-time setup link)",
	 {"partner", "email", "role"},
	 0},
	{"user",
	 "list",
	 cmd_user_list,
	 "user list --partner ptn_...   (the partner's newest 100 dashboard users)",
	 {"partner"},
	 0},
	{"user",
	 "setup-link",
	 cmd_user_setup_link,
	 "user setup-link usr_...   (a new one-time setup link for a user who has not\n"
	 "                       set a password; the earlier ones stop working)",
	 {0},
	 1},
	{"admin-token", "create", cmd_admin_token_create, "admin-token create", {0}, 0},
	{"backup",
	 NULL,
	 cmd_backup,
	 "backup FILE     (a consistent copy of the database, while the server runs)",
	 {0},
	 1},
	{"migrate",
	 NULL,
	 cmd_migrate,
	 "migrate         (applies the migrations the database lacks, as serve does at\n"
	 "                            start; prints the schema version before and after)",
	 {0},
	 0},
	{"demo",
	 NULL,
	 cmd_demo,
	 "demo            (an empty database: a demo partner, keys, a dashboard owner)",
	 {0},
	 0},
	{"request",
	 NULL,
	 cmd_request,
	 "request METHOD PATH [JSON]   (any operator API call)",
	 {0},
	 3},
	{"version",
	 NULL,
	 NULL,
	 "version         (the commit it was built from and the schema versions it\n"
	 "                            migrates to; also --version; needs no database)",
	 {0},
	 0},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

/* Prints every command's usage on stderr; returns the misuse exit code. */
static int usage(void)
{
	fputs("usage:\n", stderr);
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (commands[i].usage)
			fprintf(stderr, "  innbocks %s\n", commands[i].usage);
	fputs("Every command takes --database PATH (or INNBOCKS_DATABASE).\n", stderr);
	return 2;
}

/* Returns the command that argv names, or NULL. */
static const struct command *command_find(int argc, char **argv)
{
	for (size_t i = 0; i < NCOMMANDS; i++) {
		const struct command *cmd = &commands[i];
		if (strcmp(argv[0], cmd->name) == 0 &&
		    (!cmd->sub || (argc > 1 && strcmp(argv[1], cmd->sub) == 0)))
			return cmd;
	}
	return NULL;
}

/* Returns true when cmd takes the flag of len bytes at flag. */
static bool flag_known(const struct command *cmd, const char *flag, size_t len)
{
	for (int i = 0; i < FLAGS_MAX && cmd->flags[i]; i++)
		if (strlen(cmd->flags[i]) == len && strncmp(cmd->flags[i], flag, len) == 0)
			return true;
	return false;
}

/* Returns 0 when cmd takes every --flag in argv, its arguments, and no more
 * other arguments than it takes, or -1 after saying on stderr what it does
 * not take. A flag's value is the next argument unless given as
 * --flag=value. */
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
			for (int j = 0; j < FLAGS_MAX && cmd->flags[j]; j++)
				fprintf(stderr, " --%s", cmd->flags[j]);
			fputs(cmd->flags[0] ? ")\n" : " none)\n", stderr);
			return -1;
		}
		if (!flag[len])
			i++;
	}
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
