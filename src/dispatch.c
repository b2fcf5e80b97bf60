/* dispatch.c - the one request path: match -> body -> authenticate -> scope
 * -> rate limit -> idempotency -> handler -> commit with the stored result.
 * Handlers never repeat any of these steps. */
#include "dispatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "checkpointer.h"
#include "idem.h"
#include "idem_running.h"
#include "query.h"
#include "ratelimit.h"
#include "session.h"
#include "tenant.h"
#include "util.h"
#include "validate.h"
#include "webhook_worker.h"
#include "banned.h"


/* Returns 1 when v nests deeper than `depth` more levels. */
static int body_depth_exceeds(json_t *v, int depth)
{
	if (!json_is_object(v) && !json_is_array(v))
		return 0;
	if (depth == 0)
		return 1;
	if (json_is_object(v)) {
		const char *k;
		json_t *child;
		json_object_foreach(v, k, child)
			if (body_depth_exceeds(child, depth - 1))
				return 1;
	} else {
		size_t i;
		json_t *child;
		json_array_foreach(v, i, child)
			if (body_depth_exceeds(child, depth - 1))
				return 1;
	}
	return 0;
}

/* What is wrong with a body jansson refused, in our words: its own text
 * quotes the body ("near '...'", up to 160 bytes of it) and names its
 * flags (JSON_ALLOW_NUL). */
static const char *body_error_reason(const json_error_t *jerr)
{
	switch (json_error_code(jerr)) {
	case json_error_duplicate_key:
		return "a key appears twice in one object";
	case json_error_null_character:
	case json_error_null_byte_in_key:
		return "\\u0000 is not allowed";
	case json_error_invalid_utf8:
		return "the text is not valid UTF-8";
	case json_error_premature_end_of_input:
		return "the text ends before the value does";
	case json_error_end_of_input_expected:
		return "something follows the value";
	case json_error_numeric_overflow:
		return "a number is too large";
	case json_error_stack_overflow:
		return "the value nests too deep";
	default:
		return "the syntax is wrong";
	}
}

int dispatch_body_parse(const char *body, size_t len, json_t **out, struct err *e)
{
	*out = NULL;
	if (len == 0) {
		*out = json_object();
		return 0;
	}
	json_error_t jerr;
	json_t *v = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!v)
		return error(e, 400, "invalid_json", NULL,
			     "the body is not valid JSON: %s (line %d, column %d)",
			     body_error_reason(&jerr), jerr.line, jerr.column);
	if (!json_is_object(v)) {
		json_decref(v);
		return error(e, 400, "invalid_json", NULL, "the body must be a JSON object");
	}
	if (body_depth_exceeds(v, JSON_MAX_DEPTH)) {
		json_decref(v);
		return error(e, 400, "invalid_json", NULL,
			     "the body nests deeper than %d levels", JSON_MAX_DEPTH);
	}
	*out = v;
	return 0;
}

/* Returns true when the Content-Type names application/json (parameters
 * such as charset are allowed). */
static bool content_type_is_json(const char *ct)
{
	if (!ct)
		return false;
	while (*ct == ' ')
		ct++;
	size_t n = strlen("application/json");
	if (strncasecmp(ct, "application/json", n) != 0)
		return false;
	ct += n;
	while (*ct == ' ')
		ct++;
	return *ct == '\0' || *ct == ';';
}

/* The mode a dashboard change's audit row names: the one the form chose
 * for a new object, else the page's; none for what is the same in both
 * modes (the team, the session) and for the operator. */
static const char *audit_mode(const struct ctx *c)
{
	if (!c->session || !c->partner_id || (c->route->flags & ROUTE_BOTH_MODES))
		return NULL;
	return c->audit_mode ? c->audit_mode : tenant_mode_name(tenant_livemode(c->partner_id));
}

int dispatch_audit(struct ctx *c, const char *partner_id, const struct user *u,
		   const char *action, const char *target)
{
	struct audit_entry ae = {
		.id = id_new(c->a, "aud_"),
		.partner_id = partner_id,
		.user_id = u ? u->id : NULL,
		.actor = u            ? u->email
			 : c->session ? c->session->user.email
			 : partner_id ? "operator"
				      : "unknown user",
		.action = action,
		.target = target,
		.mode = audit_mode(c),
		.client_addr = c->req->client_addr,
		.created_at = c->now,
	};
	if (c->session && !u)
		ae.user_id = c->session->user.id;
	return c->store->ops->audit_insert(c->store, &ae, &c->err);
}

/* Authenticates a dashboard request by its session cookie: the session
 * must exist and be neither idle too long nor too old; a state change must
 * carry the session's CSRF token; the user's role must reach the route's.
 * Sets c->partner_id to the tenant of the mode the page is in. */
static int admit_session(struct ctx *c)
{
	const char *token = session_cookie_get(c->a, c->req->cookie);
	if (!token)
		return error(&c->err, 401, "unauthenticated", NULL, "sign in to the dashboard");
	char hash[65];
	sha256_hex(token, strlen(token), hash);
	struct user_session *ss = arena_alloc(c->a, sizeof(*ss));
	int rc = c->store->ops->session_find(c->store, c->a, hash, ss, &c->err);
	if (rc < 0)
		return -1;
	if (rc == STORE_NOT_FOUND || c->now - ss->last_seen_at >= SESSION_IDLE_S ||
	    c->now - ss->created_at >= SESSION_MAX_S)
		return error(&c->err, 401, "unauthenticated", NULL,
			     "the session has ended; sign in again");
	if (strcmp(c->req->method, "GET") != 0 &&
	    (!c->req->csrf_token || !secret_equal(c->req->csrf_token, ss->csrf_token)))
		return error(
			&c->err, 403, "csrf_failed", NULL,
			"the request lacks the session's X-CSRF-Token header; reload the page");
	if (session_role_parse(ss->user.role) < c->route->role)
		return error(&c->err, 403, "insufficient_role", NULL,
			     "your role (%s) cannot do this; ask an owner of your team",
			     ss->user.role);
	bool livemode = true;
	if (c->req->mode && !tenant_mode_parse(c->req->mode, &livemode))
		return error(&c->err, 400, "invalid_request", NULL,
			     "Innbocks-Mode must be live or test");
	c->session = ss;
	c->partner_id = tenant_of(c->a, ss->user.partner_id, livemode);
	if (c->now - ss->last_seen_at >= SESSION_TOUCH_S)
		c->touch_session = ss->hash;
	return 0;
}

/* Checks the request's credentials only (no rate, no scope, nothing
 * written): the key, the session or the operator token its route needs. */
static int credentials_check(struct ctx *c)
{
	const struct route *r = c->route;
	if (r->flags & (ROUTE_PUBLIC | ROUTE_NO_AUTH))
		return 0;
	if (r->flags & ROUTE_SESSION)
		return admit_session(c);
	if (r->flags & ROUTE_ADMIN)
		return c->req->operator_trusted ? 0
						: auth_operator(c->store, c->app->admin_token,
								c->req->authorization, &c->err);
	struct api_key key;
	return auth_partner(c->store, c->a, c->req->authorization, &key, &c->err);
}

bool dispatch_admissible(struct app *app, const struct request *req)
{
	struct ctx c = {
		.app = app,
		.store = app->store,
		.a = arena_new(),
		.req = req,
		.now = now_seconds(),
	};
	c.route = router_lookup(req->method, req->path);
	bool ok = c.route && !req->has_nul && !req->path_slash && !req->header_repeated &&
		  content_type_is_json(req->content_type);
	/* Storage that cannot be asked is no reason to refuse here: the
	 * request's own path will say what is wrong. */
	if (ok && c.store->ops->tx_begin(c.store, false, &c.err) == 0) {
		ok = credentials_check(&c) == 0;
		c.store->ops->tx_rollback(c.store);
	}
	arena_free(c.a);
	return ok;
}

/* Names the request's partner for the access log: its own id (in both
 * modes) and the mode of tenant_id. */
static void facts_partner_set(struct resp_facts *f, const char *tenant_id)
{
	text_copy(f->partner_id, sizeof(f->partner_id), tenant_id,
		  tenant_partner_len(tenant_id));
	f->livemode = tenant_livemode(tenant_id);
}

/* A test helper asked for on the live side (a live key, or the dashboard's
 * page in live mode) is refused for what it is. Returns 0 or -1. */
static int test_only_check(struct ctx *c)
{
	if (!(c->route->flags & ROUTE_TEST_ONLY) || !tenant_livemode(c->partner_id))
		return 0;
	return error(&c->err, 403, "test_mode_only", NULL, "%s",
		     c->session ? "test helpers work in test mode only: switch the page to test"
				: "test helpers work with test-mode keys (ib_test_...) only");
}

/* Authenticates, checks scope and rate, filling c->partner_id and headers. */
static int admit(struct ctx *c, struct response *resp)
{
	const struct route *r = c->route;
	if (r->flags & (ROUTE_PUBLIC | ROUTE_NO_AUTH))
		return 0;
	if (r->flags & ROUTE_SESSION) {
		if (admit_session(c) < 0)
			return -1;
		facts_partner_set(&resp->facts, c->partner_id);
		return test_only_check(c);
	}
	if (r->flags & ROUTE_ADMIN) {
		if (c->req->operator_trusted)
			return 0;
		return auth_operator(c->store, c->app->admin_token, c->req->authorization,
				     &c->err);
	}
	struct api_key key;
	if (auth_partner(c->store, c->a, c->req->authorization, &key, &c->err) < 0)
		return -1;
	c->partner_id = key.partner_id;
	struct resp_facts *f = &resp->facts;
	facts_partner_set(f, key.partner_id);
	const char *prefix = key.prefix ? key.prefix : "";
	text_copy(f->key_prefix, sizeof(f->key_prefix), prefix, strlen(prefix));
	/* Every authenticated answer carries the RateLimit headers, so the token
	 * is taken before the scope check; a missing scope still wins over 429. */
	struct ratelimit *rl = c->app->ratelimit;
	struct ratelimit_result rr = {.allowed = true};
	if (rl && ratelimit_enabled(rl)) {
		ratelimit_spend(rl, key.id, monotonic_seconds(), &rr);
		resp_header_add_int(resp, "RateLimit-Limit", rr.limit);
		resp_header_add_int(resp, "RateLimit-Remaining", rr.remaining);
		resp_header_add_int(resp, "RateLimit-Reset", rr.reset);
	}
	/* Before the scope: a live key is refused for what it is, not for
	 * what it lacks. */
	if (test_only_check(c) < 0)
		return -1;
	if (r->scope && !(key.scopes & r->scope))
		return error(&c->err, 403, "insufficient_scope", NULL,
			     "this API key lacks the %s scope", auth_scope_name(r->scope));
	if (!rr.allowed) {
		resp_header_add_int(resp, "Retry-After", rr.retry_after);
		return error(&c->err, 429, "rate_limited", NULL,
			     "too many requests for this API key; retry after %ld s",
			     rr.retry_after);
	}
	if (rl && ratelimit_touch_due(rl, key.id, c->now))
		c->touch_key_id = key.id;
	return 0;
}

/* Serialises the handler's result, or its error, into resp. A handler that
 * fails after replying leaves c->out for dispatch_end() to drop. */
static void respond(struct ctx *c, int rc, struct response *resp)
{
	if (rc < 0) {
		resp_error(resp, &c->err, c->request_id);
	} else if (c->raw) {
		resp_raw(resp, c->status, c->raw, c->raw_len);
		resp->content_type = c->content_type;
	} else if (c->out_bytes.data) {
		size_t len;
		char *body = buf_take(&c->out_bytes, &len);
		resp_body_take(resp, c->status, body, len);
	} else {
		resp_json_take(resp, c->status, c->out);
		c->out = NULL;
	}
}

/* Authenticates and runs a GET handler in one read transaction: one
 * consistent snapshot, and one set of SQLite read locks (each read
 * transaction takes and drops a lock on the WAL's shared memory, two fcntl
 * calls under a mutex the HTTP threads share), so the key is read in the
 * handler's snapshot. On a shared store admission comes first, outside it,
 * as for writes: a rate limit kept in the database (store.h: rate_spend)
 * spends its token in a commit of its own, which the read transaction's
 * rollback would undo. */
static void run_read(struct ctx *c, struct response *resp)
{
	struct store *s = c->store;
	bool admit_first = s->shared;
	int rc = admit_first ? admit(c, resp) : 0;
	if (rc == 0)
		rc = s->ops->tx_begin(s, false, &c->err);
	if (rc == 0) {
		if (!admit_first)
			rc = admit(c, resp);
		if (rc == 0)
			rc = c->route->handler(c);
		s->ops->tx_rollback(s);
	}
	respond(c, rc, resp);
}

/* Replaces whatever the write part answered with the error in c->err. */
static void write_fail(struct ctx *c)
{
	json_decref(c->out);
	c->out = NULL;
	buf_free(&c->out_bytes);
	c->resp->nheaders = c->headers_before_write;
	resp_error(c->resp, &c->err, c->request_id);
}

/* Puts the context and the answer back as dispatch_start() left them, for
 * the write part to run again: nothing of an attempt that rolled back may
 * reach the answer (its headers, such as a session cookie, included). */
static void write_reset(struct ctx *c)
{
	json_decref(c->out);
	c->out = NULL;
	buf_free(&c->out_bytes);
	c->raw = NULL;
	c->raw_len = 0;
	c->content_type = NULL;
	c->status = 0;
	c->audit_mode = NULL;
	c->events_emitted = false;
	c->err = (struct err){0};
	/* The before hook's on_refused stays (the write part runs only it
	 * again, with c->refusal); a handler's is its run's own. */
	if (!c->refused_before)
		c->on_refused = NULL;
	resp_free(c->resp);
	c->resp->status = 0;
	c->resp->body_len = 0;
	c->resp->content_type = NULL;
	c->resp->nheaders = c->headers_before_write;
	c->resp->facts.replayed = false;
}

/* The answer stored for the key (idem_get), unless it is past its 24
 * hours: a record the purge has not reached yet (it runs every 10 minutes,
 * and stops at the first record of the last 24 hours, which a clock
 * stepped back may have stamped in the future) is no answer. */
static int idem_stored(struct ctx *c, const char *scope, const char *key,
		       struct idem_record *rec, struct err *e)
{
	int rc = c->store->ops->idem_get(c->store, c->a, scope, key, rec, e);
	if (rc == 0 && rec->created_at < c->now - IDEM_RETENTION_SECONDS)
		return STORE_NOT_FOUND;
	return rc;
}

const char *dispatch_idem_key(struct ctx *c, const char **scope)
{
	/* Sign-in and setup have no caller to scope a key to; a refusal of
	 * the before hook stores no answer. */
	const char *key = c->route->flags & ROUTE_NO_AUTH ? NULL : c->req->idempotency_key;
	if (!key || c->refused_before)
		return NULL;
	/* Made once: a batch reads the keys ahead, then runs each call,
	 * perhaps twice. A dashboard user's keys are the user's in the page's
	 * mode, or in both for what is the same in both (the team, the
	 * session). */
	if (!c->idem_scope && c->session)
		c->idem_scope = arena_printf(c->a, "%s:%s", c->session->user.id,
					     c->route->flags & ROUTE_BOTH_MODES
						     ? c->session->user.partner_id
						     : c->partner_id);
	else if (!c->idem_scope)
		c->idem_scope = c->partner_id ? c->partner_id : "operator";
	if (!c->idem_digest[0])
		idem_key_digest(key, c->idem_digest);
	*scope = c->idem_scope;
	return c->idem_digest;
}

/* Claims the write's Idempotency-Key among those of the requests this
 * process is running: while the first request with a key runs (waiting
 * for the writer, hashing a password, in its transaction), a duplicate is
 * answered 409 at once. Returns 0, or -1 with that 409 in c->err. */
static int running_claim(struct ctx *c)
{
	const char *scope = NULL;
	const char *key = dispatch_idem_key(c, &scope);
	if (!key || !c->app->running)
		return 0;
	if (!idem_running_claim(c->app->running, scope, key))
		return idem_in_use(&c->err);
	c->idem_claimed = true;
	return 0;
}

void dispatch_write_in_tx(struct ctx *c)
{
	if (c->write_runs++ > 0)
		write_reset(c);
	struct store *s = c->store;
	struct response *resp = c->resp;
	const char *scope = NULL;
	const char *key = dispatch_idem_key(c, &scope);
	c->headers_before_write = resp->nheaders;
	if (s->ops->tx_savepoint(s, &c->err) < 0)
		goto fail;
	if (c->refused_before) {
		/* No handler, no idempotent record: only the refusal's audit row. */
		if (c->on_refused(c) < 0 || s->ops->tx_release(s, &c->err) < 0)
			goto undo;
		c->err = c->refusal;
		respond(c, -1, resp);
		return;
	}
	if (key) {
		struct idem_record rec;
		int rc = idem_stored(c, scope, key, &rec, &c->err);
		if (rc == 0 && idem_open(c->a, scope, c->req->idempotency_key, rec.body,
					 rec.body_len, &rec.body, &rec.body_len, &c->err) < 0)
			rc = -1;
		if (rc < 0)
			goto undo;
		if (rc == 0) {
			if (s->ops->tx_release(s, &c->err) < 0)
				goto undo;
			if (strcmp(rec.fingerprint, c->fingerprint) != 0) {
				char first[21];
				time_format(rec.created_at, first);
				error(&c->err, 422, "idempotency_key_reused", NULL,
				      "this Idempotency-Key was first used at %s with a different "
				      "request, which was answered %d; send a new key for a new "
				      "request",
				      first, rec.status);
				goto fail;
			}
			resp->status = rec.status;
			resp->body = malloc(rec.body_len + 1);
			if (!resp->body)
				die("out of memory");
			memcpy(resp->body, rec.body, rec.body_len + 1);
			resp->body_len = rec.body_len;
			resp_header_add(resp, "Idempotent-Replayed", "true");
			resp->facts.replayed = true;
			return;
		}
	}
	int rc = c->route->handler(c);
	if (rc < 0 && c->err.status >= 500)
		goto undo;
	if (rc < 0) {
		/* A refused request changes nothing, but its answer is kept. */
		s->ops->tx_undo(s);
		if (s->ops->tx_savepoint(s, &c->err) < 0)
			goto fail;
		struct err refusal = c->err;
		if (c->on_refused && c->on_refused(c) < 0)
			goto undo;
		c->err = refusal;
	} else if (c->session) {
		/* Every dashboard change is in the audit log: the route, and the
		 * object it acted on (the path's: a rolled key, not its successor)
		 * or else the one it made (the answer's id). */
		const char *target = c->params[0];
		if (!target) {
			json_t *rendered = c->out_bytes.data
						   ? json_loadb(c->out_bytes.data,
								c->out_bytes.len, 0, NULL)
						   : json_incref(c->out);
			json_t *id = json_object_get(rendered, "id");
			if (json_is_string(id))
				target = arena_strdup(c->a, json_string_value(id));
			json_decref(rendered);
		}
		char action[160];
		snprintf(action, sizeof(action), "%s %s", c->route->method, c->route->path);
		if (dispatch_audit(c, c->session->user.partner_id, NULL,
				   arena_strdup(c->a, action), target) < 0)
			goto undo;
	}
	respond(c, rc, resp);
	if (key) {
		struct idem_record rec = {.fingerprint = c->fingerprint,
					  .status = resp->status};
		if (c->answer_secret)
			rec.body = idem_seal(c->a, scope, c->req->idempotency_key, resp->body,
					     resp->body_len, &rec.body_len);
		else
			rec.body = resp->body, rec.body_len = resp->body_len;
		if (s->ops->idem_put(s, scope, key, &rec, c->now, &c->err) < 0)
			goto undo;
	}
	if (s->ops->tx_release(s, &c->err) < 0)
		goto undo;
	return;
undo:
	s->ops->tx_undo(s);
fail:
	write_fail(c);
}

void dispatch_write_failed(struct ctx *c, const struct err *e)
{
	c->err = *e;
	resp_free(c->resp);
	c->resp->facts.replayed = false;
	write_fail(c);
}

/* Matches the route and reads the body; returns -1 with c->err set to refuse. */
static int prepare(struct ctx *c, struct response *resp)
{
	const struct request *req = c->req;
	int status = 0;
	char allow[64];
	/* Before anything: the request may not be the request the client sent. */
	if (req->bad_framing)
		return error(&c->err, 400, "invalid_request", NULL, "%s", req->bad_framing);
	if (req->header_repeated)
		return error(&c->err, 400, "invalid_request", NULL,
			     "send the %s header once, not several times",
			     req->header_repeated);
	/* Before matching: cut short at the NUL, the path could match another route. */
	if (req->has_nul)
		return error(&c->err, 400, "invalid_request", NULL,
			     "the request contains a NUL byte (%%00)");
	/* Decoded, a percent-escape may spell bytes that are not UTF-8 (%FF):
	 * no id, filter or cursor is such text, and PostgreSQL refuses to
	 * compare with it (a 500 where SQLite found nothing). */
	if (!valid_utf8(req->path))
		return error(&c->err, 400, "invalid_request", NULL,
			     "the path is not UTF-8 once its percent-escapes are decoded");
	for (size_t i = 0; i < req->nquery; i++)
		if (!valid_utf8(req->query[i].key) || !valid_utf8(req->query[i].value))
			return error(
				&c->err, 400, "invalid_request",
				valid_utf8(req->query[i].key) ? req->query[i].key : NULL,
				"a query parameter is not UTF-8 once its percent-escapes are "
				"decoded");
	/* Decoded, %2F splits a segment, and the path could match another
	 * route (mail_x%2Fscan as mail_x/scan); no id holds a slash. */
	if (req->path_slash)
		return error(&c->err, 404, "route_not_found", NULL,
			     "no route takes a slash spelled %%2F inside a path segment");
	c->route = router_match(routes, routes_count, c->a, req->method, req->path, c->params,
				&status, allow, sizeof(allow));
	resp->facts.route = c->route;
	if (!c->route) {
		if (status == 405) {
			resp_header_add(resp, "Allow", allow);
			return error(&c->err, 405, "method_not_allowed", NULL,
				     "%s is not allowed here; allowed: %s",
				     resp_quote(req->method), allow);
		}
		return error(&c->err, 404, "route_not_found", NULL, "no such route: %s %s",
			     resp_quote(req->method), resp_quote(req->path));
	}
	if (req->query_overflow)
		return error(&c->err, 400, "invalid_request", NULL,
			     "too many query parameters: at most %d", QUERY_MAX);
	if (req->query_repeated)
		return error(&c->err, 400, "invalid_request", req->query_repeated,
			     "the query parameter %s is given more than once",
			     resp_quote(req->query_repeated));
	if (req->body_too_large)
		return error(&c->err, 413, "payload_too_large", NULL,
			     "the body is larger than 1 MiB");
	if (req->body_overloaded)
		return error(
			&c->err, 503, "unavailable", NULL,
			"the server is receiving too many request bodies at once; retry shortly");
	if (strcmp(req->method, "GET") == 0)
		return 0; /* no body: c->body stays NULL */
	bool has_body = req->body_len > 0 || req->body_announced;
	if (has_body && !content_type_is_json(req->content_type))
		return error(&c->err, 415, "unsupported_media_type", NULL,
			     "send the body as Content-Type: application/json");
	return dispatch_body_parse(has_body ? req->body : NULL, has_body ? req->body_len : 0,
				   &c->body, &c->err);
}

struct ctx *dispatch_start(struct app *app, const struct request *req, struct response *resp)
{
	struct arena *a = arena_new();
	struct ctx *c = arena_alloc(a, sizeof(*c));
	*c = (struct ctx){
		.app = app,
		.store = app->store,
		.a = a,
		.req = req,
		.resp = resp,
		.now = now_seconds(),
	};
	c->request_id = id_new(c->a, "req_");
	resp->facts.livemode = -1;
	text_copy(resp->facts.request_id, sizeof(resp->facts.request_id), c->request_id,
		  strlen(c->request_id));
	resp_header_add(resp, "X-Request-Id", c->request_id);
	bool write = false;
	int prepared = prepare(c, resp);
	/* The answers hold partners' data, and some a secret shown once: no
	 * cache on the way (a proxy, the browser's) keeps them. */
	if (prepared < 0 || !(c->route->flags & ROUTE_PUBLIC))
		resp_header_add(resp, "Cache-Control", "no-store");
	/* The dashboard's pages send it too: a browser never reads one of its
	 * JSON answers as anything else. */
	if (router_is_dashboard(req->path))
		resp_header_add(resp, "X-Content-Type-Options", "nosniff");
	if (prepared < 0)
		resp_error(resp, &c->err, c->request_id);
	else if (c->route->flags & ROUTE_PUBLIC)
		respond(c, c->route->handler(c), resp);
	else if (strcmp(req->method, "GET") == 0)
		run_read(c, resp);
	/* No write takes a query parameter. */
	else if (admit(c, resp) < 0 || query_allow(c, NULL) < 0 ||
		 (req->idempotency_key && idem_key_check(req->idempotency_key, &c->err) < 0))
		resp_error(resp, &c->err, c->request_id);
	else
		write = true;
	if (c->touch_key_id) {
		/* Best effort, outside any transaction: last_used_at must not fail
		 * a request. */
		struct err ignored;
		c->store->ops->key_touch(c->store, c->touch_key_id, c->now, &ignored);
	}
	if (c->touch_session) {
		struct err ignored;
		c->store->ops->session_touch(c->store, c->touch_session, c->now, &ignored);
	}
	if (write && running_claim(c) < 0) {
		resp_error(resp, &c->err, c->request_id);
		write = false;
	}
	if (write) {
		if (req->idempotency_key)
			idem_fingerprint(req->method, req->path, c->body, c->fingerprint);
		/* What a failed write keeps (X-Request-Id, RateLimit), even when
		 * its batch fails before its write part runs. */
		c->headers_before_write = resp->nheaders;
		return c;
	}
	dispatch_end(c);
	return NULL;
}

void dispatch_end(struct ctx *c)
{
	if (!c)
		return;
	if (c->idem_claimed)
		idem_running_release(c->app->running, c->idem_scope, c->idem_digest);
	json_decref(c->body);
	json_decref(c->out);
	buf_free(&c->out_bytes);
	arena_free(c->a); /* c itself is in it */
}

/* Whether an answer is stored for the write's Idempotency-Key already.
 * Its before hook (a password check) then does not run again: the key's
 * retry must not meet a check the first request changed the outcome of
 * (a password change, checked against the password it replaced), nor
 * spend a sign-in attempt or write an audit row. The write part replays
 * the answer, or refuses a different request with the same key. A store
 * that cannot answer is no answer: the hook runs, the write part finds
 * out. */
static bool idem_answer_stored(struct ctx *c)
{
	const char *scope = NULL;
	const char *key = dispatch_idem_key(c, &scope);
	struct store *s = c->store;
	struct err ignored;
	if (!key || s->ops->tx_begin(s, false, &ignored) < 0)
		return false;
	struct idem_record rec;
	int rc = idem_stored(c, scope, key, &rec, &ignored);
	s->ops->tx_rollback(s);
	return rc == 0;
}

int dispatch_before(struct ctx *c)
{
	if (!c->route->before || idem_answer_stored(c) || c->route->before(c) == 0)
		return 0;
	if (c->on_refused) {
		c->refused_before = true;
		c->refusal = c->err;
		return 0;
	}
	resp_error(c->resp, &c->err, c->request_id);
	return -1;
}

const char *dispatch_tenant(const struct ctx *c)
{
	return c->partner_id ? c->partner_id : c->operator_tenant;
}

/* One run of the write part, for store_tx_write(), after its tenant, as
 * the writer takes it: the answer is in c->resp whatever happens, so the
 * transaction always goes on to its commit, which fails (for another run)
 * when the handler lost a conflict. */
static int write_attempt(struct store *s, void *arg, struct err *e)
{
	struct ctx *c = arg;
	const char *tenant = dispatch_tenant(c);
	if (tenant && s->ops->tx_lock_tenant(s, tenant, false, e) < 0)
		return -1;
	dispatch_write_in_tx(c);
	return 0;
}

void dispatch_write(struct ctx *c)
{
	struct err e;
	if (store_tx_write(c->store, write_attempt, c, &e) < 0) {
		dispatch_write_failed(c, &e);
		return;
	}
	dispatch_committed(c);
	/* Every commit, as the writer after every batch: the main thread's
	 * twice a second let the log pass its bound by half under load. */
	if (c->app->checkpointer)
		checkpointer_wal_bound(c->app->checkpointer);
}

void dispatch_committed(struct ctx *c)
{
	/* In-process, after the commit: never a NOTIFY inside the request's
	 * transaction (docs/decisions.md). */
	if (c->events_emitted)
		webhook_worker_wake(c->app->worker);
}

void dispatch(struct app *app, const struct request *req, struct response *resp)
{
	struct ctx *c = dispatch_start(app, req, resp);
	if (!c)
		return;
	if (dispatch_before(c) == 0)
		dispatch_write(c);
	dispatch_end(c);
}

bool dispatch_operator(const struct ctx *c)
{
	return (c->route->flags & ROUTE_ADMIN) != 0;
}
