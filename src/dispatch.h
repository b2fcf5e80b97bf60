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
#include "resp.h"
#include "router.h"
#include "store.h"

#define BODY_MAX (1024 * 1024)
#define JSON_MAX_DEPTH 32

struct query_param {
	const char *key, *value;
};

/* A request as the dispatcher sees it; everything is borrowed. */
struct request {
	const char *method, *path;
	const struct query_param *query;
	size_t nquery;
	bool query_overflow;          /* more parameters than the HTTP layer keeps */
	const char *query_repeated;   /* a query parameter given twice, or NULL */
	bool has_nul;                 /* a NUL byte (%00) in the path or the query */
	const char *content_type;     /* NULL when absent */
	const char *authorization;    /* NULL when absent */
	const char *idempotency_key;  /* NULL when absent, "" when empty */
	const char *body;
	size_t body_len;
	bool body_too_large;
	bool operator_trusted;        /* the local command line: no token needed */
};

/* What the dispatcher needs for every request; lives as long as the server. */
struct app {
	struct store *store;
	struct ratelimit *ratelimit;
	const char *admin_token;      /* INNBOCKS_ADMIN_TOKEN, or NULL */
	bool webhook_allow_loopback;  /* INNBOCKS_WEBHOOK_ALLOW_LOOPBACK */
	enum accesslog_format log;    /* INNBOCKS_LOG: the HTTP layer's access log */
};

/* Everything a handler may use. A handler returns 0 with status and out
 * set (out is taken), or -1 with err filled (and out, if set, dropped). */
struct ctx {
	struct app *app;
	struct store *store;
	struct arena *a;
	const struct request *req;
	const struct route *route;
	const char *params[ROUTE_MAX_PARAMS];
	json_t *body;             /* the parsed body; {} when there was none */
	const char *partner_id;   /* the key's partner; NULL on the operator API */
	const char *touch_key_id; /* a key whose last_used_at is due a write */
	const char *request_id;
	int64_t now;
	struct err err;
	int status;
	json_t *out;
	const char *raw;          /* a ready body instead of out (static, or in a) */
	size_t raw_len;
	const char *content_type; /* of raw (a static string); NULL: JSON */
	struct response *resp;    /* where the answer goes */
	char fingerprint[65];     /* of the request, when it has an Idempotency-Key */
	int headers_before_write; /* resp headers set before the write part */
};

/* Answers req into resp (which the caller zeroes and later resp_free()s),
 * running a write in a transaction of its own. */
void dispatch(struct app *app, const struct request *req, struct response *resp);

/* The same in parts, so writes can be batched (writer.h): runs every step
 * before the write transaction. Returns NULL when resp is complete (reads,
 * refusals), else the request's context: run dispatch_write_in_tx() inside
 * a write transaction, dispatch_write_failed() if that transaction does not
 * commit, then dispatch_end(). req and resp must live until then. */
struct ctx *dispatch_start(struct app *app, const struct request *req,
			   struct response *resp);
/* Runs the write part (idempotent replay, or the handler and the stored
 * outcome) in its own savepoint of the open transaction: whatever happens,
 * it leaves either its whole effect or nothing, and an answer in resp. */
void dispatch_write_in_tx(struct ctx *c);
/* Replaces the answer with e: the transaction did not commit. */
void dispatch_write_failed(struct ctx *c, const struct err *e);
/* Frees the context. Accepts NULL. */
void dispatch_end(struct ctx *c);

/* Parses a request body: empty is {}, otherwise a JSON object without
 * duplicate keys, deeper nesting than JSON_MAX_DEPTH or NUL characters.
 * Returns 0 with *out set (the caller decrefs) or -1 with e set to 400. */
int dispatch_body_parse(const char *body, size_t len, json_t **out, struct err *e);

#endif
