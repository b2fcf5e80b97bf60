/* dispatch.h - the one request path. Every request, from HTTP or from the
 * command line, goes through dispatch(): match -> body -> authenticate ->
 * scope -> rate limit -> idempotency -> handler -> store the idempotent
 * result in the handler's transaction. Handlers see a struct ctx. */
#ifndef INNBOCKS_DISPATCH_H
#define INNBOCKS_DISPATCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "accesslog.h"
#include "buf.h"
#include "resp.h"
#include "router.h"
#include "store/store.h"

#define BODY_MAX (1024 * 1024)
#define JSON_MAX_DEPTH 32

/* The most query parameters a request keeps; more set query_overflow. */
#define QUERY_MAX 32

struct query_param {
	const char *key, *value;
};

/* A request as the dispatcher sees it; everything is borrowed. */
struct request {
	const char *method, *path;
	const struct query_param *query;
	size_t nquery;
	bool query_overflow;         /* more parameters than the HTTP layer keeps */
	const char *query_repeated;  /* a query parameter given twice, or NULL */
	bool has_nul;                /* a NUL byte (%00) in the path or the query */
	bool path_slash;             /* the path spelled a slash as %2F */
	const char *bad_framing;     /* why the body's length is untrustworthy, or NULL */
	const char *header_repeated; /* a header the server reads, sent twice, or NULL */
	const char *content_type;    /* NULL when absent */
	const char *authorization;   /* NULL when absent */
	const char *idempotency_key; /* NULL when absent, "" when empty */
	const char *body;
	size_t body_len;
	bool body_too_large;
	bool body_announced;     /* a body was announced but not read (refused early) */
	bool body_overloaded;    /* the body was dropped: too many bodies in memory */
	bool operator_trusted;   /* the local command line: no token needed */
	const char *cookie;      /* the Cookie header; NULL when absent */
	const char *csrf_token;  /* X-CSRF-Token; NULL when absent */
	const char *mode;        /* Innbocks-Mode (dashboard): "live" or "test" */
	const char *client_addr; /* the peer's IP address; NULL on the command line */
};

/* What the dispatcher needs for every request; lives as long as the server. */
struct app {
	struct store *store;
	struct ratelimit *ratelimit;
	const char *admin_token;     /* INNBOCKS_ADMIN_TOKEN, or NULL */
	bool webhook_allow_loopback; /* INNBOCKS_WEBHOOK_ALLOW_LOOPBACK */
	const char *base_url;        /* "http://host:port", for dashboard links */
	struct ratelimit *signin_by_account, *signin_by_addr; /* NULL: unlimited */
	enum accesslog_format log; /* INNBOCKS_LOG: the HTTP layer's access log */
	/* This process's delivery worker, woken when a write that emitted an
	 * event has committed (dispatch_committed()); NULL: none. */
	struct webhook_worker *worker;
	/* Keeps the write-ahead log bounded after a write committed on its own
	 * (dispatch_write(), group commit off), as the writer does after each
	 * batch; NULL: none (the command line). */
	struct checkpointer *checkpointer;
	/* The Idempotency-Keys of the writes running in this process, so a
	 * duplicate meanwhile is 409 at once; NULL: none (the command line). */
	struct idem_running *running;
};

/* Everything a handler may use. A handler returns 0 with status and out
 * (or out_bytes) set, which are taken, or -1 with err filled (and out, if
 * set, dropped). */
struct ctx {
	struct app *app;
	struct store *store;
	struct arena *a;
	const struct request *req;
	const struct route *route;
	const char *params[ROUTE_MAX_PARAMS];
	json_t *body;           /* the parsed body; {} when there was none, NULL on GET */
	const char *partner_id; /* the key's (or the session's mode's) tenant; NULL on
				   * the operator API */
	/* The tenant an operator's write changes (a partner's customer or mail
	 * action), set by its before hook (admin_tenant.c); NULL otherwise. */
	const char *operator_tenant;
	const struct user_session *session; /* ROUTE_SESSION: the signed-in user */
	const char *touch_session;          /* a session whose last_seen_at is due a write */
	const char *signin_user;            /* set by a sign-in's before hook: the user whose
				   * password matched, else NULL */
	const char *password_hash;          /* set by a before hook: the new password's hash */
	/* Runs in the savepoint after a refused handler's changes were undone,
	 * for what must outlive the refusal (a failed sign-in's audit row). A
	 * before hook that refuses with it set still goes on to the write part,
	 * which then runs only on_refused (refused_before). */
	handler_fn *on_refused;
	const char *refusal_action; /* the audit action on_refused records, if it needs one */
	bool refused_before;        /* the before hook refused; refusal holds why */
	struct err refusal;         /* the before hook's refusal, when refused_before */
	const char *content_type;   /* of raw, when not JSON (static) */
	const char *touch_key_id;   /* a key whose last_used_at is due a write */
	const char *request_id;
	int64_t now;
	struct err err;
	int status;
	json_t *out;
	struct buf out_bytes; /* a rendered JSON body instead of out (reply_buf_take) */
	const char *raw;      /* a ready body instead of out (static, or in a) */
	size_t raw_len;
	struct response *resp;  /* where the answer goes */
	char fingerprint[65];   /* of the request, when it has an Idempotency-Key */
	const char *idem_scope; /* its scope, once dispatch_idem_key() made it */
	char idem_digest[65];   /* the key as stored (idem_key_digest), or "" */
	bool idem_claimed;      /* the key is in app->running until dispatch_end() */
	/* The answer holds a secret (a new API key, a webhook endpoint's signing
	 * secret, a setup link): its copy for Idempotency-Key replays is stored
	 * sealed (idem.h). Set by the handler that puts the secret in. */
	bool answer_secret;
	/* The mode the dashboard's change acted in when the form chose one
	 * (field_mode): its audit row's; NULL: the page's mode. */
	const char *audit_mode;
	int headers_before_write; /* resp headers set before the write part */
	int write_runs;           /* times the write part ran (dispatch_write) */
	bool events_emitted;      /* the write part stored an event that may have
				   * queued delivery jobs (event.c) */
};

/* The tenant c's write is ordered with, taken before it runs (writer.c,
 * dispatch_write()): the key's or session's, or the one an operator's write
 * changes; NULL for none. */
const char *dispatch_tenant(const struct ctx *c);

/* Judges a request from its headers alone, before its body is read: true
 * when the body is worth reading, false when the request would be refused
 * anyway (no route, a NUL, not JSON, no valid credentials: key, session or
 * operator token). Answer a refused one with dispatch() and
 * body_announced set. */
bool dispatch_admissible(struct app *app, const struct request *req);

/* Answers req into resp (which the caller zeroes and later resp_free()s),
 * running a write in a transaction of its own. */
void dispatch(struct app *app, const struct request *req, struct response *resp);

/* The same in parts, so writes can be batched (writer.h): runs every step
 * before the write transaction. Returns NULL when resp is complete (reads,
 * refusals), else the request's context: run dispatch_write_in_tx() inside
 * a write transaction, dispatch_write_failed() if that transaction does not
 * commit, then dispatch_end(). req and resp must live until then. */
struct ctx *dispatch_start(struct app *app, const struct request *req, struct response *resp);
/* Runs the write part (idempotent replay, or the handler and the stored
 * outcome) in its own savepoint of the open transaction: whatever happens,
 * it leaves either its whole effect or nothing, and an answer in resp.
 * Called again after its transaction rolled back (to run it again), it
 * first drops everything the earlier run put into c and resp. */
void dispatch_write_in_tx(struct ctx *c);
/* Returns the Idempotency-Key dispatch_write_in_tx() will look up for c,
 * as the store keeps it (its digest, idem.h), with its scope in *scope
 * (c's arena), or NULL when it looks up none; for a batch to read every key
 * ahead (store.h, idem_prefetch). */
const char *dispatch_idem_key(struct ctx *c, const char **scope);
/* Replaces the answer with e: the transaction did not commit. */
void dispatch_write_failed(struct ctx *c, const struct err *e);
/* Tells what must know that c's write part committed: the delivery worker,
 * when it emitted events, so their jobs go out at once. The callers that
 * commit (dispatch_write(), writer.c) call it after a commit only. */
void dispatch_committed(struct ctx *c);
/* Frees the context. Accepts NULL. */
void dispatch_end(struct ctx *c);
/* Runs the route's before hook (slow work outside any transaction) when it
 * has one. Returns 0, or -1 with the refusal in resp: skip the write then.
 * A refusal with c->on_refused set returns 0: the write part keeps what
 * on_refused writes (an audit row) and answers the refusal. */
int dispatch_before(struct ctx *c);
/* Runs the write part in a transaction of its own (begin, dispatch_write_in_tx,
 * commit), for callers without a group-commit writer. A transaction that
 * loses a conflict with a concurrent one (PostgreSQL: a serialization
 * failure or a deadlock) is run again from the start, a few times, by
 * store_tx_write(); only then does the request answer 503. */
void dispatch_write(struct ctx *c);

/* Writes a row of the dashboard's audit log about partner_id (NULL: none
 * known): done by u (NULL: the session's user, or the operator), action
 * and its target (may be NULL). Never pass a secret. Returns 0 or -1. */
int dispatch_audit(struct ctx *c, const char *partner_id, const struct user *u,
		   const char *action, const char *target);

/* True on the operator API (an operator token, ROUTE_ADMIN): the only
 * requests whose reads may cross partners, through the store's operations
 * named for it (customer_get_any_partner, ...). The operator handlers that
 * the test helpers reuse answer for the key's tenant otherwise. */
bool dispatch_operator(const struct ctx *c);

/* Parses a request body: empty is {}, otherwise a JSON object without
 * duplicate keys, deeper nesting than JSON_MAX_DEPTH or NUL characters.
 * Returns 0 with *out set (the caller decrefs) or -1 with e set to 400. */
int dispatch_body_parse(const char *body, size_t len, json_t **out, struct err *e);

#endif
