/* cli_commands.c - every operator command, and THE table that names them
 * (cli_commands[], at the bottom): its rows give each command's function,
 * usage line and flags, and drive both the dispatch and the usage text
 * (cli.c). Commands are thin: most build one operator API request, which
 * cli_call() runs through the same dispatcher as HTTP and prints. */
#include "cli_commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "auth.h"
#include "banned.h"

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
	cli_set_opts(loc, argc, argv, location);
	json_t *body = json_object();
	cli_set_opt(body, "name", cli_opt(argc, argv, "name"));
	json_object_set_new(body, "location", loc);
	return cli_call(cli, "POST", "/admin/v1/partners", NULL, body, NULL);
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
	return cli_list(cli, "/admin/v1/partners", NULL, argc, argv, NULL);
}

static int cmd_key_create(const struct cli *cli, int argc, char **argv)
{
	const char *partner = cli_opt(argc, argv, "partner");
	const char *scopes = cli_opt(argc, argv, "scopes");
	json_t *body = json_object();
	cli_set_opt(body, "name", cli_opt(argc, argv, "name"));
	cli_set_opt(body, "mode", cli_opt(argc, argv, "mode"));
	json_object_set_new(body, "scopes", list_array(scopes));
	return cli_call(cli, "POST", "/admin/v1/partners/%s/keys", partner, body, NULL);
}

/* Prints the newest 100 of the --partner's list at path_fmt (its keys,
 * users, ...). */
static int partner_list(const struct cli *cli, int argc, char **argv, const char *path_fmt)
{
	const char *partner = cli_opt(argc, argv, "partner");
	return cli_list(cli, path_fmt, partner, argc, argv, NULL);
}

static int cmd_key_list(const struct cli *cli, int argc, char **argv)
{
	return partner_list(cli, argc, argv, "/admin/v1/partners/%s/keys");
}

static int cmd_key_revoke(const struct cli *cli, int argc, char **argv)
{
	const char *id = cli_positional(argc, argv);
	return cli_call(cli, "POST", "/admin/v1/keys/%s/revoke", id, NULL, NULL);
}

static int cmd_customer_show(const struct cli *cli, int argc, char **argv)
{
	const char *id = cli_positional(argc, argv);
	return cli_call(cli, "GET", "/admin/v1/customers/%s", id, NULL, NULL);
}

/* POSTs body (taken) to path_fmt, the operator action of the customer
 * named in argv. */
static int customer_post(const struct cli *cli, int argc, char **argv, const char *path_fmt,
			 json_t *body)
{
	const char *id = cli_positional(argc, argv);
	return cli_call(cli, "POST", path_fmt, id, body, NULL);
}

static int cmd_customer_accept_invite(const struct cli *cli, int argc, char **argv)
{
	return customer_post(cli, argc, argv, "/admin/v1/customers/%s/accept-invite",
			     json_object());
}

static int cmd_customer_billing(const struct cli *cli, int argc, char **argv)
{
	const char *active = cli_opt(argc, argv, "active");
	json_t *body = json_object();
	json_object_set_new(body, "active", bool_value(active));
	return customer_post(cli, argc, argv, "/admin/v1/customers/%s/billing", body);
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
	cli_set_opts(body, argc, argv, fields);
	return customer_post(cli, argc, argv, "/admin/v1/customers/%s/compliance", body);
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
	cli_set_opts(body, argc, argv, fields);
	json_t *photos = json_array();
	for (int i = 0; i < argc; i++) {
		if (strncmp(argv[i], "--photo=", 8) == 0)
			json_array_append_new(photos, json_string(argv[i] + 8));
		else if (strcmp(argv[i], "--photo") == 0 && i + 1 < argc)
			json_array_append_new(photos, json_string(argv[++i]));
	}
	json_object_set_new(body, "photos", photos);
	return cli_call(cli, "POST", "/admin/v1/mail", NULL, body, NULL);
}

static int cmd_action_list(const struct cli *cli, int argc, char **argv)
{
	static const char *const filters[][2] = {
		{"status", "status"},
		{"livemode", "livemode"},
		{NULL, NULL},
	};
	return cli_list(cli, "/admin/v1/mail-actions", NULL, argc, argv, filters);
}

/* POSTs the flags in argv to path_fmt, the operator verb (complete, fail,
 * cancel) of the mail action named in argv. */
static int action_close(const struct cli *cli, int argc, char **argv, const char *path_fmt)
{
	static const char *const fields[][2] = {
		{"document_url", "document-url"},
		{"carrier", "carrier"},
		{"tracking_number", "tracking-number"},
		{"reason", "reason"},
		{NULL, NULL},
	};
	const char *id = cli_positional(argc, argv);
	json_t *body = json_object();
	cli_set_opts(body, argc, argv, fields);
	return cli_call(cli, "POST", path_fmt, id, body, NULL);
}

static int cmd_action_complete(const struct cli *cli, int argc, char **argv)
{
	return action_close(cli, argc, argv, "/admin/v1/mail-actions/%s/complete");
}

static int cmd_action_fail(const struct cli *cli, int argc, char **argv)
{
	return action_close(cli, argc, argv, "/admin/v1/mail-actions/%s/fail");
}

static int cmd_action_cancel(const struct cli *cli, int argc, char **argv)
{
	return action_close(cli, argc, argv, "/admin/v1/mail-actions/%s/cancel");
}

/* Returns the body of webhook create and update: --url, --events and
 * --enabled, when given. */
static json_t *webhook_body(int argc, char **argv)
{
	const char *events = cli_opt(argc, argv, "events");
	const char *enabled = cli_opt(argc, argv, "enabled");
	json_t *body = json_object();
	cli_set_opt(body, "url", cli_opt(argc, argv, "url"));
	if (events)
		json_object_set_new(body, "enabled_events", list_array(events));
	if (enabled)
		json_object_set_new(body, "enabled", bool_value(enabled));
	return body;
}

static int cmd_webhook_create(const struct cli *cli, int argc, char **argv)
{
	const char *partner = cli_opt(argc, argv, "partner");
	json_t *body = webhook_body(argc, argv);
	cli_set_opt(body, "mode", cli_opt(argc, argv, "mode"));
	return cli_call(cli, "POST", "/admin/v1/partners/%s/webhook-endpoints", partner, body,
			NULL);
}

static int cmd_webhook_list(const struct cli *cli, int argc, char **argv)
{
	return partner_list(cli, argc, argv, "/admin/v1/partners/%s/webhook-endpoints");
}

static int cmd_webhook_update(const struct cli *cli, int argc, char **argv)
{
	const char *id = cli_positional(argc, argv);
	return cli_call(cli, "PATCH", "/admin/v1/webhook-endpoints/%s", id,
			webhook_body(argc, argv), NULL);
}

static int cmd_webhook_rotate_secret(const struct cli *cli, int argc, char **argv)
{
	const char *id = cli_positional(argc, argv);
	return cli_call(cli, "POST", "/admin/v1/webhook-endpoints/%s/rotate-secret", id, NULL,
			NULL);
}

static int cmd_user_create(const struct cli *cli, int argc, char **argv)
{
	const char *partner = cli_opt(argc, argv, "partner");
	json_t *body = json_object();
	cli_set_opt(body, "email", cli_opt(argc, argv, "email"));
	cli_set_opt(body, "role", cli_opt(argc, argv, "role"));
	json_t *user = NULL;
	if (cli_call(cli, "POST", "/admin/v1/partners/%s/users", partner, body, &user) != 0)
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
	return partner_list(cli, argc, argv, "/admin/v1/partners/%s/users");
}

static int cmd_user_setup_link(const struct cli *cli, int argc, char **argv)
{
	const char *id = cli_positional(argc, argv);
	json_t *user = NULL;
	if (cli_call(cli, "POST", "/admin/v1/users/%s/setup-link", id, NULL, &user) != 0)
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

/* Prints what a command made of its own (not an operator request's
 * answer, which cli_call() prints) on stdout, pretty; takes out. */
static void print_take(json_t *out)
{
	char *text = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	printf("%s\n", text);
	free(text);
	json_decref(out);
}

/* backup FILE: a consistent copy of the database, taken while the server
 * runs and writes; restoring is starting the server on the copy. */
static int cmd_backup(const struct cli *cli, int argc, char **argv)
{
	const char *file = cli_positional(argc, argv);
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
	print_take(out);
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
	(void)argc, (void)argv;
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
	print_take(out);
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
	if (cli_call(cli, "GET", "/admin/v1/partners", NULL, NULL, &list) != 0)
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
	if (cli_call(cli, "POST", "/admin/v1/partners", NULL, body, &partner) != 0)
		return 1;
	char id[64];
	snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(partner, "id")));
	json_decref(partner);
	static const char all_scopes[] = "customers:read,customers:write,mail:read,mail:write,"
					 "mail_actions:write,webhooks:read,billing:read";
	body = json_pack("{s:s, s:o}", "name", "demo (all scopes)", "scopes",
			 list_array(all_scopes));
	if (cli_call(cli, "POST", "/admin/v1/partners/%s/keys", id, body, &key) != 0)
		return 1;
	body = json_pack("{s:s, s:s, s:o}", "name", "demo test mode (all scopes)", "mode",
			 "test", "scopes", list_array(all_scopes));
	if (cli_call(cli, "POST", "/admin/v1/partners/%s/keys", id, body, &test_key) != 0) {
		json_decref(key);
		return 1;
	}
	json_t *owner = NULL;
	body = json_pack("{s:s, s:s}", "email", "owner@demo.example", "role", "owner");
	if (cli_call(cli, "POST", "/admin/v1/partners/%s/users", id, body, &owner) != 0) {
		json_decref(key);
		json_decref(test_key);
		return 1;
	}
	printf("\nPartner: Demo Coworking, %s\n"
	       "  (the --partner of operator commands such as `innbocks webhook create`)\n",
	       id);
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
	json_t *body = NULL;
	if (argc >= 3) {
		json_error_t jerr;
		/* Any JSON value: the dispatcher answers one that is no object,
		 * as it would over HTTP. */
		body = json_loads(argv[2], JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
		if (!body) {
			fprintf(stderr, "innbocks: the JSON body is not valid: %s\n",
				jerr.text);
			return 2;
		}
	}
	return cli_call_target(cli, argv[0], argv[1], body);
}

/* The settings' flags (config.c) are taken out of argv before a command
 * sees it. */
const struct command cli_commands[] = {
	{.name = "serve",
	 .usage = "serve [--listen HOST:PORT] [--database PATH] [--admin-token T] ..."},
	{.name = "partner",
	 .sub = "create",
	 .run = cmd_partner_create,
	 .usage = "partner create --name N --line1 L [--line2 L2] --city C --state S\n"
		  "                          --postal-code P --country CC",
	 .flags = {"name", "line1", "line2", "city", "state", "postal-code", "country"}},
	{.name = "partner", .sub = "list", .run = cmd_partner_list, .usage = "partner list"},
	{.name = "key",
	 .sub = "create",
	 .run = cmd_key_create,
	 .usage = "key create --partner ptn_... --scopes a,b,... [--name N] [--mode live|test]",
	 .flags = {"partner", "scopes", "name", "mode"},
	 .needs = {"partner", "scopes"}},
	{.name = "key",
	 .sub = "list",
	 .run = cmd_key_list,
	 .usage = "key list --partner ptn_...",
	 .flags = {"partner"},
	 .needs = {"partner"}},
	{.name = "key",
	 .sub = "revoke",
	 .run = cmd_key_revoke,
	 .usage = "key revoke key_...",
	 .args = 1,
	 .args_min = 1},
	{.name = "customer",
	 .sub = "accept-invite",
	 .run = cmd_customer_accept_invite,
	 .usage = "customer accept-invite|show cus_...",
	 .args = 1,
	 .args_min = 1},
	{.name = "customer", .sub = "show", .run = cmd_customer_show, .args = 1, .args_min = 1},
	{.name = "customer",
	 .sub = "billing",
	 .run = cmd_customer_billing,
	 .usage = "customer billing cus_... --active true|false",
	 .flags = {"active"},
	 .args = 1,
	 .args_min = 1,
	 .needs = {"active"}},
	{.name = "customer",
	 .sub = "compliance",
	 .run = cmd_customer_compliance,
	 .usage = "customer compliance cus_... [--form-1583 S] [--identity S] [--reason R]",
	 .flags = {"form-1583", "identity", "reason"},
	 .args = 1,
	 .args_min = 1},
	{.name = "mail",
	 .sub = "record",
	 .run = cmd_mail_record,
	 .usage =
		 "mail record --customer cus_... --type letter|large_envelope|package|\n"
		 "                       periodical --photo URL [--photo URL2 ...] --performed-by W\n"
		 "                       [--tracking-number T] [--carrier C] [--sender S] [--notes N]\n"
		 "                       [--received-at RFC3339]",
	 .flags = {"customer", "type", "photo", "performed-by", "tracking-number", "carrier",
		   "sender", "notes", "received-at"}},
	{.name = "action",
	 .sub = "list",
	 .run = cmd_action_list,
	 .usage = "action list [--status requested] [--livemode true|false]",
	 .flags = {"status", "livemode"}},
	{.name = "action",
	 .sub = "complete",
	 .run = cmd_action_complete,
	 .usage = "action complete act_... [--document-url U | --carrier C\n"
		  "                                    --tracking-number T]",
	 .flags = {"document-url", "carrier", "tracking-number"},
	 .args = 1,
	 .args_min = 1},
	{.name = "action",
	 .sub = "fail",
	 .run = cmd_action_fail,
	 .usage = "action fail act_... --reason R",
	 .flags = {"reason"},
	 .args = 1,
	 .args_min = 1},
	{.name = "action",
	 .sub = "cancel",
	 .run = cmd_action_cancel,
	 .usage = "action cancel act_...",
	 .args = 1,
	 .args_min = 1},
	{.name = "webhook",
	 .sub = "create",
	 .run = cmd_webhook_create,
	 .usage = "webhook create --partner ptn_... --url URL [--events a,b,...]\n"
		  "                         [--mode live|test]",
	 .flags = {"partner", "url", "events", "mode"},
	 .needs = {"partner"}},
	{.name = "webhook",
	 .sub = "list",
	 .run = cmd_webhook_list,
	 .usage = "webhook list --partner ptn_...",
	 .flags = {"partner"},
	 .needs = {"partner"}},
	{.name = "webhook",
	 .sub = "update",
	 .run = cmd_webhook_update,
	 .usage = "webhook update we_... [--url URL] [--events a,b] [--enabled true|false]",
	 .flags = {"url", "events", "enabled"},
	 .args = 1,
	 .args_min = 1},
	{.name = "webhook",
	 .sub = "rotate-secret",
	 .run = cmd_webhook_rotate_secret,
	 .usage = "webhook rotate-secret we_...",
	 .args = 1,
	 .args_min = 1},
	{.name = "user",
	 .sub = "create",
	 .run = cmd_user_create,
	 .usage = "user create --partner ptn_... --email E --role owner|developer|viewer\n"
		  "                       (a dashboard user; prints the one-time setup link)",
	 .flags = {"partner", "email", "role"},
	 .needs = {"partner", "email", "role"}},
	{.name = "user",
	 .sub = "list",
	 .run = cmd_user_list,
	 .usage = "user list --partner ptn_...   (the partner's newest 100 dashboard users)",
	 .flags = {"partner"},
	 .needs = {"partner"}},
	{.name = "user",
	 .sub = "setup-link",
	 .run = cmd_user_setup_link,
	 .usage =
		 "user setup-link usr_...   (a new one-time setup link for a user who has not\n"
		 "                       set a password; the earlier ones stop working)",
	 .args = 1,
	 .args_min = 1},
	{.name = "admin-token",
	 .sub = "create",
	 .run = cmd_admin_token_create,
	 .usage = "admin-token create"},
	{.name = "backup",
	 .run = cmd_backup,
	 .usage = "backup FILE     (a consistent copy of the database, while the server runs)",
	 .args = 1,
	 .args_min = 1},
	{.name = "migrate",
	 .run = cmd_migrate,
	 .usage =
		 "migrate         (applies the migrations the database lacks, as serve does at\n"
		 "                            start; prints the schema version before and after)"},
	{.name = "demo",
	 .run = cmd_demo,
	 .usage =
		 "demo            (an empty database: a demo partner, keys, a dashboard owner)"},
	{.name = "request",
	 .run = cmd_request,
	 .usage = "request METHOD PATH [JSON]   (any operator API call)",
	 .args = 3,
	 .args_min = 2},
	{.name = "version",
	 .usage =
		 "version         (the commit it was built from and the schema versions it\n"
		 "                            migrates to; also --version; needs no database)"},
};

const size_t cli_commands_count = sizeof(cli_commands) / sizeof(cli_commands[0]);
