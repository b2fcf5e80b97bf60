/* router.h - path templates ("/api/v1/customers/{id}"), their parameters,
 * and the difference between 404 (no such path) and 405 (path exists, the
 * method does not). The table itself lives in routes.c. */
#ifndef INNBOCKS_ROUTER_H
#define INNBOCKS_ROUTER_H

#include <stddef.h>

#include "util.h"

struct ctx;
typedef int handler_fn(struct ctx *c);

/* Where the dashboard's JSON API lives: every route under it is the
 * dashboard's (routes.c), and its answers carry what a browser needs. */
#define ROUTE_DASHBOARD_API "/dashboard/api"

enum route_flags {
	ROUTE_PUBLIC = 1 << 0,    /* no authentication (healthz) */
	ROUTE_ADMIN = 1 << 1,     /* operator token instead of a partner key */
	ROUTE_TEST_ONLY = 1 << 2, /* test-mode keys only (the test helpers) */
	ROUTE_SESSION = 1 << 3, /* a dashboard session (cookie + CSRF token) instead of a key */
	ROUTE_NO_AUTH = 1 << 4, /* no credentials, but a transaction like any route
				 * (dashboard sign-in, password setup) */
	ROUTE_BOTH_MODES = 1 << 5, /* a dashboard route the same in both modes (the team,
				    * the session): its audit rows record no mode */
};

#define ROUTE_MAX_PARAMS 3

struct route {
	const char *method;
	const char *path; /* template; "{name}" matches one non-empty segment */
	handler_fn *handler;
	unsigned scope; /* SCOPE_* bit a partner key needs; 0 for none */
	unsigned flags;
	int role; /* ROUTE_SESSION: the least role (session.h) it needs */
	/* Runs before the write transaction, off the HTTP threads, for slow
	 * work (password hashing) or a read the write's ordering needs (an
	 * operator write's tenant, admin_tenant.c); NULL for none. 0 or -1
	 * like a handler. */
	handler_fn *before;
};

/* The route table (routes.c) and its length. */
extern const struct route routes[];
extern const size_t routes_count;

/* Returns true for a path under ROUTE_DASHBOARD_API, matched or not. */
bool router_is_dashboard(const char *path);

/* The route of routes (routes.c) that method and path match, or NULL:
 * router_match() without the parameters and the 404/405 detail, for
 * those who only need to know which route a request is for. */
const struct route *router_lookup(const char *method, const char *path);

/* Matches method and path against table. Returns the route and fills
 * params (arena strings, in template order), or returns NULL and sets
 * *status to 404, or to 405 with the allowed methods written into allow
 * (comma-separated). */
const struct route *router_match(const struct route *table, size_t n, struct arena *a,
				 const char *method, const char *path,
				 const char *params[ROUTE_MAX_PARAMS], int *status, char *allow,
				 size_t allow_size);

#endif
