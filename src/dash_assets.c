/* dash_assets.c - the dashboard's pages (web/dashboard/), compiled into the
 * binary by scripts/embed_assets.py and served with a strict
 * Content-Security-Policy: scripts, styles and everything else from this
 * origin only, no inline script or style, never inside a frame. */
#include <string.h>

#include "handlers.h"
#include "reply.h"
#include "banned.h"

/* The embedded files (build/gen/dashboard.c). */
extern const char *const dash_asset_names[];
extern const char *const dash_asset_data[];
extern const size_t dash_asset_sizes[];
extern const size_t dash_asset_count;

#define CSP \
	"default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; " \
	"object-src 'none'"

/* Returns the Content-Type for a file name by its extension, or NULL for
 * one the dashboard does not serve. */
static const char *asset_type(const char *name)
{
	static const char *const types[][2] = {
		{".html", "text/html; charset=utf-8"},
		{".js", "text/javascript; charset=utf-8"},
		{".css", "text/css; charset=utf-8"},
		{".svg", "image/svg+xml"},
	};
	const char *dot = strrchr(name, '.');
	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot, types[i][0]) == 0)
			return types[i][1];
	return NULL;
}

/* What every answer under /dashboard/ carries, a page or its 404. */
static void page_headers(struct ctx *c)
{
	resp_header_add(c->resp, "Content-Security-Policy", CSP);
	resp_header_add(c->resp, "X-Content-Type-Options", "nosniff");
	resp_header_add(c->resp, "Referrer-Policy", "no-referrer");
}

int dash_asset_get(struct ctx *c)
{
	const char *name = c->params[0] ? c->params[0] : "index.html";
	for (size_t i = 0; i < dash_asset_count; i++) {
		const char *type = asset_type(dash_asset_names[i]);
		if (!type || strcmp(name, dash_asset_names[i]) != 0)
			continue;
		c->raw = dash_asset_data[i];
		c->raw_len = dash_asset_sizes[i];
		c->content_type = type;
		c->status = 200;
		page_headers(c);
		resp_header_add(c->resp, "Cache-Control", "no-cache");
		return 0;
	}
	page_headers(c);
	return error(&c->err, 404, "route_not_found", NULL, "no such page: %s",
		     resp_quote(c->req->path));
}

/* /dashboard, typed without its slash, is the dashboard: the page's
 * relative links need the slash, so the browser is sent there. */
int dash_asset_root_redirect(struct ctx *c)
{
	static const char body[] = "";
	c->raw = body;
	c->raw_len = 0;
	c->content_type = "text/plain; charset=utf-8";
	c->status = 301;
	resp_header_add(c->resp, "Location", "/dashboard/");
	return 0;
}
