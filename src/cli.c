/* cli.c - the operator command line. Commands are thin: they build an
 * operator API request and print the answer, pretty, on stdout (errors on
 * stderr). */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "dispatch.h"
#include "store.h"

/* INNBOCKS_WEBHOOK_ALLOW_LOOPBACK, for the URL check of webhook commands. */
static bool cfg_allow_loopback;

static int usage(void)
{
	fputs("usage:\n"
	      "  innbocks serve [--listen HOST:PORT] [--database PATH] [--admin-token T] ...\n"
	      "  innbocks partner create --name N --line1 L [--line2 L2] --city C --state S\n"
	      "                          --postal-code P --country CC\n"
	      "  innbocks partner list\n"
	      "  innbocks key create --partner ptn_... --scopes a,b,... [--name N]\n"
	      "  innbocks key list --partner ptn_...\n"
	      "  innbocks key revoke key_...\n"
	      "  innbocks customer accept-invite|show cus_...\n"
	      "  innbocks customer billing cus_... --active true|false\n"
	      "  innbocks customer compliance cus_... [--form-1583 S] [--identity S] [--reason R]\n"
	      "  innbocks mail record --customer cus_... --type letter|large_envelope|package|\n"
	      "                       periodical --photo URL [--photo URL2 ...] --performed-by W\n"
	      "                       [--tracking-number T] [--carrier C] [--sender S] [--notes N]\n"
	      "  innbocks action list [--status requested]\n"
	      "  innbocks action complete act_... [--document-url U | --carrier C\n"
	      "                                    --tracking-number T]\n"
	      "  innbocks action fail act_... --reason R\n"
	      "  innbocks action cancel act_...\n"
	      "  innbocks webhook create --partner ptn_... --url URL [--events a,b,...]\n"
	      "  innbocks webhook list --partner ptn_...\n"
	      "  innbocks webhook update we_... [--url URL] [--events a,b] [--enabled true|false]\n"
	      "  innbocks webhook rotate-secret we_...\n"
	      "  innbocks admin-token create\n"
	      "  innbocks demo            (an empty database: a demo partner and key)\n"
	      "  innbocks request METHOD PATH [JSON]   (any operator API call)\n"
	      "Every command takes --database PATH (or INNBOCKS_DATABASE).\n",
	      stderr);
	return 2;
}

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
static int run(struct store *s, const char *method, const char *path, json_t *body,
	       json_t **out)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	struct app app = {.store = s, .webhook_allow_loopback = cfg_allow_loopback};
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
	dispatch(&app, &req, &resp);
	free(text);
	free(path_only);
	json_t *answer = json_loadb(resp.body, resp.body_len, 0, NULL);
	int code = resp.status >= 200 && resp.status < 300 ? 0 : 1;
	if (answer) {
		char *pretty = json_dumps(answer, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fprintf(code ? stderr : stdout, "%s\n", pretty);
		free(pretty);
	}
	if (out && code == 0)
		*out = answer;
	else
		json_decref(answer);
	resp_free(&resp);
	return code;
}

static int cmd_partner_create(struct store *s, int argc, char **argv)
{
	static const char *const location[][2] = {
		{"line1", "line1"}, {"line2", "line2"}, {"city", "city"}, {"state", "state"},
		{"postal_code", "postal-code"}, {"country", "country"}, {NULL, NULL},
	};
	json_t *loc = json_object();
	set_opts(loc, argc, argv, location);
	json_t *body = json_object();
	set_opt(body, "name", opt(argc, argv, "name"));
	json_object_set_new(body, "location", loc);
	return run(s, "POST", "/admin/v1/partners", body, NULL);
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

static int cmd_key_create(struct store *s, int argc, char **argv)
{
	const char *partner = opt(argc, argv, "partner");
	const char *scopes = opt(argc, argv, "scopes");
	if (!partner || !scopes)
		return usage();
	json_t *body = json_object();
	set_opt(body, "name", opt(argc, argv, "name"));
	json_object_set_new(body, "scopes", list_array(scopes));
	char path[256];
	snprintf(path, sizeof(path), "/admin/v1/partners/%s/keys", partner);
	return run(s, "POST", path, body, NULL);
}

static int cmd_admin_token_create(struct store *s)
{
	struct arena *a = arena_new();
	char token[64] = ADMIN_TOKEN_PREFIX, hash[65];
	random_base62(token + strlen(token), 32);
	sha256_hex(token, strlen(token), hash);
	struct err e;
	int rc = s->operator_token_insert(s, id_new(a, "opt_"), hash, now_seconds(), &e);
	arena_free(a);
	if (rc < 0) {
		fprintf(stderr, "innbocks: %s\n", e.message);
		return 1;
	}
	printf("%s\n", token);
	fputs("Keep it safe: only its hash is stored. Use it as "
	      "Authorization: Bearer <token> on /admin/v1.\n", stderr);
	return 0;
}

/* Creates a demo partner and an all-scope key on an empty database and
 * prints a curl command that creates a customer. */
static int cmd_demo(struct store *s, const struct config *cfg)
{
	json_t *list = NULL;
	if (run(s, "GET", "/admin/v1/partners?limit=1", NULL, &list) != 0)
		return 1;
	size_t existing = json_array_size(json_object_get(list, "data"));
	json_decref(list);
	if (existing) {
		printf("The database already has partners; make a key with:\n"
		       "  build/innbocks key create --database %s --partner ptn_... "
		       "--scopes customers:read,customers:write\n", cfg->database);
		return 0;
	}
	json_t *body = json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:s}}", "name",
				 "Demo Coworking", "location", "line1", "548 Market St", "city",
				 "San Francisco", "state", "CA", "postal_code", "94104",
				 "country", "US");
	json_t *partner = NULL, *key = NULL;
	if (run(s, "POST", "/admin/v1/partners", body, &partner) != 0)
		return 1;
	char path[256];
	snprintf(path, sizeof(path), "/admin/v1/partners/%s/keys",
		 json_string_value(json_object_get(partner, "id")));
	json_decref(partner);
	body = json_pack("{s:s, s:o}", "name", "demo (all scopes)", "scopes",
			 list_array("customers:read,customers:write,mail:read,mail:write,"
				      "mail_actions:write,webhooks:read,billing:read"));
	if (run(s, "POST", path, body, &key) != 0)
		return 1;
	printf("\nCreate a customer:\n\n"
	       "curl -X POST http://%s/api/v1/customers \\\n"
	       "  -H \"Authorization: Bearer %s\" \\\n"
	       "  -H \"Content-Type: application/json\" \\\n"
	       "  -H \"Idempotency-Key: crm_customer_123_create\" \\\n"
	       "  -d '{\"external_customer_id\": \"crm_customer_123\", "
	       "\"email\": \"jane@example.com\", \"name\": \"Jane Smith\", "
	       "\"phone\": \"+15555555555\", \"prepay\": true}'\n\n",
	       cfg->listen, json_string_value(json_object_get(key, "secret")));
	json_decref(key);
	return 0;
}

static int cmd_customer(struct store *s, int argc, char **argv)
{
	const char *verb = argc > 0 ? argv[0] : NULL;
	const char *id = positional(argc - 1, argv + 1);
	if (!verb || !id)
		return usage();
	char path[256];
	if (strcmp(verb, "show") == 0) {
		snprintf(path, sizeof(path), "/admin/v1/customers/%s", id);
		return run(s, "GET", path, NULL, NULL);
	}
	json_t *body = json_object();
	if (strcmp(verb, "billing") == 0) {
		const char *active = opt(argc, argv, "active");
		if (!active) {
			json_decref(body);
			return usage();
		}
		json_object_set_new(body, "active", json_boolean(strcmp(active, "true") == 0));
	} else if (strcmp(verb, "compliance") == 0) {
		static const char *const fields[][2] = {
			{"form_1583", "form-1583"}, {"identity", "identity"}, {"reason", "reason"},
			{NULL, NULL},
		};
		set_opts(body, argc, argv, fields);
	} else if (strcmp(verb, "accept-invite") != 0) {
		json_decref(body);
		return usage();
	}
	snprintf(path, sizeof(path), "/admin/v1/customers/%s/%s", id, verb);
	return run(s, "POST", path, body, NULL);
}

static int cmd_mail_record(struct store *s, int argc, char **argv)
{
	static const char *const fields[][2] = {
		{"customer_id", "customer"}, {"type", "type"}, {"performed_by", "performed-by"},
		{"tracking_number", "tracking-number"}, {"carrier", "carrier"},
		{"sender", "sender"}, {"notes", "notes"}, {"received_at", "received-at"},
		{NULL, NULL},
	};
	json_t *body = json_object();
	set_opts(body, argc, argv, fields);
	json_t *photos = json_array();
	for (int i = 0; i + 1 < argc; i++)
		if (strcmp(argv[i], "--photo") == 0)
			json_array_append_new(photos, json_string(argv[++i]));
	json_object_set_new(body, "photos", photos);
	return run(s, "POST", "/admin/v1/mail", body, NULL);
}

static int cmd_action(struct store *s, int argc, char **argv)
{
	const char *verb = argc > 0 ? argv[0] : "";
	char path[256];
	if (strcmp(verb, "list") == 0) {
		const char *status = opt(argc - 1, argv + 1, "status");
		snprintf(path, sizeof(path), "/admin/v1/mail-actions?limit=100%s%s",
			 status ? "&status=" : "", status ? status : "");
		return run(s, "GET", path, NULL, NULL);
	}
	const char *id = positional(argc - 1, argv + 1);
	if (!id || (strcmp(verb, "complete") != 0 && strcmp(verb, "fail") != 0 &&
		    strcmp(verb, "cancel") != 0))
		return usage();
	static const char *const fields[][2] = {
		{"document_url", "document-url"}, {"carrier", "carrier"},
		{"tracking_number", "tracking-number"}, {"reason", "reason"}, {NULL, NULL},
	};
	json_t *body = json_object();
	set_opts(body, argc - 1, argv + 1, fields);
	snprintf(path, sizeof(path), "/admin/v1/mail-actions/%s/%s", id, verb);
	return run(s, "POST", path, body, NULL);
}

static int cmd_webhook(struct store *s, int argc, char **argv)
{
	const char *verb = argc > 0 ? argv[0] : "";
	const char *id = positional(argc - 1, argv + 1);
	const char *partner = opt(argc, argv, "partner");
	const char *events = opt(argc, argv, "events");
	const char *enabled = opt(argc, argv, "enabled");
	char path[256];
	json_t *body = json_object();
	set_opt(body, "url", opt(argc, argv, "url"));
	if (events)
		json_object_set_new(body, "enabled_events", list_array(events));
	if (enabled)
		json_object_set_new(body, "enabled", json_boolean(strcmp(enabled, "true") == 0));
	if (strcmp(verb, "create") == 0 && partner) {
		snprintf(path, sizeof(path), "/admin/v1/partners/%s/webhook-endpoints", partner);
		return run(s, "POST", path, body, NULL);
	}
	if (strcmp(verb, "update") == 0 && id) {
		snprintf(path, sizeof(path), "/admin/v1/webhook-endpoints/%s", id);
		return run(s, "PATCH", path, body, NULL);
	}
	json_decref(body);
	if (strcmp(verb, "list") == 0 && partner) {
		snprintf(path, sizeof(path), "/admin/v1/partners/%s/webhook-endpoints?limit=100",
			 partner);
		return run(s, "GET", path, NULL, NULL);
	}
	if (strcmp(verb, "rotate-secret") == 0 && id) {
		snprintf(path, sizeof(path), "/admin/v1/webhook-endpoints/%s/rotate-secret", id);
		return run(s, "POST", path, NULL, NULL);
	}
	return usage();
}

/* Dispatches a command whose store is open. */
static int command(struct store *s, const struct config *cfg, int argc, char **argv)
{
	const char *noun = argv[0], *verb = argc > 1 ? argv[1] : "";
	char path[256];
	if (strcmp(noun, "partner") == 0 && strcmp(verb, "create") == 0)
		return cmd_partner_create(s, argc - 2, argv + 2);
	if (strcmp(noun, "partner") == 0 && strcmp(verb, "list") == 0)
		return run(s, "GET", "/admin/v1/partners?limit=100", NULL, NULL);
	if (strcmp(noun, "key") == 0 && strcmp(verb, "create") == 0)
		return cmd_key_create(s, argc - 2, argv + 2);
	if (strcmp(noun, "key") == 0 && strcmp(verb, "list") == 0) {
		const char *partner = opt(argc - 2, argv + 2, "partner");
		if (!partner)
			return usage();
		snprintf(path, sizeof(path), "/admin/v1/partners/%s/keys?limit=100", partner);
		return run(s, "GET", path, NULL, NULL);
	}
	if (strcmp(noun, "key") == 0 && strcmp(verb, "revoke") == 0) {
		const char *id = positional(argc - 2, argv + 2);
		if (!id)
			return usage();
		snprintf(path, sizeof(path), "/admin/v1/keys/%s/revoke", id);
		return run(s, "POST", path, NULL, NULL);
	}
	if (strcmp(noun, "customer") == 0)
		return cmd_customer(s, argc - 1, argv + 1);
	if (strcmp(noun, "mail") == 0 && strcmp(verb, "record") == 0)
		return cmd_mail_record(s, argc - 2, argv + 2);
	if (strcmp(noun, "action") == 0)
		return cmd_action(s, argc - 1, argv + 1);
	if (strcmp(noun, "webhook") == 0)
		return cmd_webhook(s, argc - 1, argv + 1);
	if (strcmp(noun, "admin-token") == 0 && strcmp(verb, "create") == 0)
		return cmd_admin_token_create(s);
	if (strcmp(noun, "demo") == 0)
		return cmd_demo(s, cfg);
	if (strcmp(noun, "request") == 0 && argc >= 3) {
		json_t *body = NULL;
		if (argc >= 4) {
			json_error_t jerr;
			body = json_loads(argv[3], JSON_REJECT_DUPLICATES, &jerr);
			if (!body) {
				fprintf(stderr, "innbocks: the JSON body is not valid: %s\n", jerr.text);
				return 2;
			}
		}
		return run(s, argv[1], argv[2], body, NULL);
	}
	return usage();
}

int cli_run(const struct config *cfg, int argc, char **argv)
{
	if (argc < 1)
		return usage();
	struct err e;
	cfg_allow_loopback = cfg->webhook_allow_loopback;
	struct store *s = store_open(cfg->database, &e);
	if (!s) {
		fprintf(stderr, "innbocks: %s\n", e.message);
		return 1;
	}
	int rc = command(s, cfg, argc, argv);
	s->close(s);
	return rc;
}
