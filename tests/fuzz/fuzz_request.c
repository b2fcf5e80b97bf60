/* fuzz_request.c - libFuzzer harness for the whole request path: the input
 * is a request (lines: method, path with its query, Content-Type,
 * Authorization, Idempotency-Key — an empty line for an absent header — then
 * the body), answered by the real dispatcher on a real SQLite database made
 * once, with a partner and a live and a test key the seed corpus uses.
 * Invariants: every answer has a status from 200 to 599, an X-Request-Id and
 * a JSON body; every error answer is the envelope with code, message and the
 * same request_id (a replay keeps the first answer's). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dispatch.h"
#include "idem_running.h"
#include "store/store.h"
#include "util.h"

#define LIVE_KEY "ib_live_fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzz"
#define TEST_KEY "ib_test_fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzz"
#define PARTNER "ptn_0000fuzz000000000000000"
#define MAX_QUERY 40

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct app app;
static char dir[] = "/tmp/innbocks-fuzz-XXXXXX";

/* Closes the store and removes the database when the fuzzer exits. */
static void cleanup(void)
{
	app.store->ops->close(app.store);
	idem_running_free(app.running);
	const char *files[] = {"fuzz.db", "fuzz.db-wal", "fuzz.db-shm"};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char p[96];
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		unlink(p);
	}
	rmdir(dir);
}

/* Adds a key with a fixed secret to a tenant. */
static void key_add(struct store *s, const char *id, const char *tenant, const char *secret)
{
	char hash[65];
	sha256_hex(secret, strlen(secret), hash);
	struct api_key k = {.id = id,
			    .partner_id = tenant,
			    .name = "fuzz",
			    .prefix = "ib_fuzz",
			    .hash = hash,
			    .scopes = 0x7F,
			    .created_at = 1};
	struct err e;
	if (s->ops->key_insert(s, &k, &e) < 0)
		die("fuzz: key_insert: %s", e.message);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (!mkdtemp(dir))
		die("fuzz: mkdtemp");
	char db[64];
	snprintf(db, sizeof(db), "%s/fuzz.db", dir);
	struct err e;
	struct store *s = store_open(db, &e);
	if (!s)
		die("fuzz: store_open: %s", e.message);
	struct partner p = {.id = PARTNER,
			    .name = "Fuzz",
			    .location = {.line1 = "1 Main St",
					 .city = "Austin",
					 .state = "TX",
					 .postal_code = "78701",
					 .country = "US"},
			    .created_at = 1};
	if (s->ops->tx_begin(s, true, &e) < 0 || s->ops->partner_insert(s, &p, &e) < 0)
		die("fuzz: partner_insert: %s", e.message);
	key_add(s, "key_fuzzlive", PARTNER, LIVE_KEY);
	key_add(s, "key_fuzztest", PARTNER "_test", TEST_KEY);
	if (s->ops->tx_commit(s, &e) < 0)
		die("fuzz: commit: %s", e.message);
	app.store = s;
	app.admin_token = "ib_admin_fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzz";
	app.running = idem_running_new(); /* as serve has it */
	atexit(cleanup);
	return 0;
}

/* Cuts the next line off *text (NUL-terminating it); NULL when none is left. */
static char *line(char **text)
{
	if (!*text)
		return NULL;
	char *start = *text, *nl = strchr(start, '\n');
	if (nl) {
		*nl = '\0';
		*text = nl + 1;
	} else {
		*text = NULL;
	}
	return start;
}

static const char *header(char *v)
{
	return v && *v ? v : NULL;
}

static void check_answer(const struct response *r)
{
	if (r->status < 200 || r->status > 599 || !r->body)
		abort();
	const char *rid = NULL;
	bool replayed = false;
	for (int i = 0; i < r->nheaders; i++) {
		if (strcmp(r->headers[i].name, "X-Request-Id") == 0)
			rid = r->headers[i].value;
		replayed |= strcmp(r->headers[i].name, "Idempotent-Replayed") == 0;
	}
	if (!rid || strncmp(rid, "req_", 4) != 0)
		abort();
	/* A successful non-JSON answer (GET /metrics: Prometheus text) has
	 * nothing more to check; every error is still the JSON envelope. */
	if (r->content_type && r->status < 400)
		return;
	json_t *v = json_loadb(r->body, r->body_len, 0, NULL);
	if (!v)
		abort();
	if (r->status >= 400) {
		json_t *err = json_object_get(v, "error");
		const char *code = json_string_value(json_object_get(err, "code"));
		const char *msg = json_string_value(json_object_get(err, "message"));
		const char *req = json_string_value(json_object_get(err, "request_id"));
		/* A replay is the first answer byte for byte, its request id too. */
		if (!code || !*code || !msg || !*msg || !req || strncmp(req, "req_", 4) != 0 ||
		    (!replayed && strcmp(req, rid) != 0))
			abort();
	}
	json_decref(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	char *rest = text;
	char *method = line(&rest), *target = line(&rest);
	char *ctype = line(&rest), *auth = line(&rest), *idem = line(&rest);
	const char *body = rest ? rest : "";
	struct query_param query[MAX_QUERY];
	size_t nquery = 0;
	bool overflow = false;
	char *qs = target ? strchr(target, '?') : NULL;
	if (qs) {
		*qs++ = '\0';
		char *save = NULL;
		for (char *t = strtok_r(qs, "&", &save); t; t = strtok_r(NULL, "&", &save)) {
			if (nquery == MAX_QUERY) {
				overflow = true;
				break;
			}
			char *eq = strchr(t, '=');
			if (eq)
				*eq++ = '\0';
			query[nquery++] = (struct query_param){t, eq ? eq : ""};
		}
	}
	struct request req = {
		.method = method && *method ? method : "GET",
		.path = target && *target ? target : "/",
		.query = query,
		.nquery = nquery,
		.query_overflow = overflow,
		.content_type = header(ctype),
		.authorization = header(auth),
		.idempotency_key = idem ? idem : NULL,
		.body = body,
		.body_len = strlen(body),
	};
	if (idem && !*idem)
		req.idempotency_key = NULL;
	struct response resp = {0};
	dispatch(&app, &req, &resp);
	check_answer(&resp);
	resp_free(&resp);
	free(text);
	return 0;
}
