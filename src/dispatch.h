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
};

/* Everything a handler may use. A handler returns 0 with status and out
 * set (out is taken), or -1 with err filled. */
struct ctx {
	struct app *app;
	struct store *store;
	struct arena *a;
	const struct request *req;
	const struct route *route;
	const char *params[ROUTE_MAX_PARAMS];
	json_t *body;             /* the parsed body; {} when there was none */
	const char *partner_id;   /* the key's partner; NULL on the operator API */
	const char *request_id;
	int64_t now;
	struct err err;
	int status;
	json_t *out;
};

/* Answers req into resp (which the caller zeroes and later resp_free()s). */
void dispatch(struct app *app, const struct request *req, struct response *resp);

/* Parses a request body: empty is {}, otherwise a JSON object without
 * duplicate keys, deeper nesting than JSON_MAX_DEPTH or NUL characters.
 * Returns 0 with *out set (the caller decrefs) or -1 with e set to 400. */
int body_parse(const char *body, size_t len, json_t **out, struct err *e);

#endif
