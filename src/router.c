/* router.c - matching request paths against the route table's templates. */
#include "router.h"

#include <stdbool.h>
#include <string.h>

#include "banned.h"

/* Returns true when path fits template, filling params from "{...}" segments. */
static bool template_match(const char *tpl, const char *path, struct arena *a,
			   const char *params[ROUTE_MAX_PARAMS])
{
	int np = 0;
	while (*tpl && *path) {
		if (*tpl != '/' || *path != '/')
			return false;
		tpl++;
		path++;
		const char *tend = strchr(tpl, '/'), *pend = strchr(path, '/');
		size_t tl = tend ? (size_t)(tend - tpl) : strlen(tpl);
		size_t pl = pend ? (size_t)(pend - path) : strlen(path);
		if (tl > 0 && tpl[0] == '{') {
			if (pl == 0 || np == ROUTE_MAX_PARAMS)
				return false;
			if (params)
				params[np] = arena_strndup(a, path, pl);
			np++;
		} else if (tl != pl || memcmp(tpl, path, tl) != 0) {
			return false;
		}
		tpl += tl;
		path += pl;
	}
	return *tpl == '\0' && *path == '\0';
}

bool router_is_dashboard(const char *path)
{
	return strncmp(path, ROUTE_DASHBOARD_API "/", strlen(ROUTE_DASHBOARD_API "/")) == 0;
}

const struct route *router_lookup(const char *method, const char *path)
{
	for (size_t i = 0; i < routes_count; i++)
		if (strcmp(routes[i].method, method) == 0 &&
		    template_match(routes[i].path, path, NULL, NULL))
			return &routes[i];
	return NULL;
}

const struct route *router_match(const struct route *table, size_t n, struct arena *a,
				 const char *method, const char *path,
				 const char *params[ROUTE_MAX_PARAMS], int *status, char *allow,
				 size_t allow_size)
{
	size_t used = 0;
	bool path_known = false;
	allow[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (!template_match(table[i].path, path, NULL, NULL))
			continue;
		path_known = true;
		if (strcmp(table[i].method, method) == 0) {
			template_match(table[i].path, path, a, params);
			return &table[i];
		}
		size_t ml = strlen(table[i].method);
		if (used + ml + 3 < allow_size) {
			if (used) {
				memcpy(allow + used, ", ", 2);
				used += 2;
			}
			memcpy(allow + used, table[i].method, ml + 1);
			used += ml;
		}
	}
	*status = path_known ? 405 : 404;
	return NULL;
}
