/* api.c - field readers, paging, replies and the outbox, shared by handlers. */
#include "api.h"

#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "validate.h"
#include "util.h"
#include "banned.h"

static bool in_list(const char *s, const char *const list[])
{
	for (int i = 0; list && list[i]; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

const char *query_get(struct ctx *c, const char *name)
{
	for (size_t i = 0; i < c->req->nquery; i++)
		if (strcmp(c->req->query[i].key, name) == 0)
			return c->req->query[i].value ? c->req->query[i].value : "";
	return NULL;
}

int query_allow(struct ctx *c, const char *const allowed[])
{
	for (size_t i = 0; i < c->req->nquery; i++)
		if (!in_list(c->req->query[i].key, allowed))
			return error(&c->err, 400, "unknown_parameter", c->req->query[i].key,
				     "unknown query parameter: %s", c->req->query[i].key);
	return 0;
}

int page_parse(struct ctx *c, const char *const allowed[], struct page *pg)
{
	static const char *const paging[] = {"limit", "starting_after", "ending_before", NULL};
	for (size_t i = 0; i < c->req->nquery; i++) {
		const char *k = c->req->query[i].key;
		if (!in_list(k, allowed) && !in_list(k, paging))
			return error(&c->err, 400, "unknown_parameter", k,
				     "unknown query parameter: %s", k);
	}
	pg->limit = 20;
	const char *limit = query_get(c, "limit");
	if (limit) {
		long v = 0;
		size_t digits = strspn(limit, "0123456789");
		if (digits > 0 && digits <= 3 && !limit[digits])
			v = strtol(limit, NULL, 10);
		if (v < 1 || v > 100)
			return error(&c->err, 400, "invalid_request", "limit",
				     "limit must be an integer from 1 to 100");
		pg->limit = (int)v;
	}
	pg->starting_after = query_get(c, "starting_after");
	pg->ending_before = query_get(c, "ending_before");
	if (pg->starting_after && pg->ending_before)
		return error(&c->err, 400, "invalid_request", "ending_before",
			     "send starting_after or ending_before, not both");
	if (pg->starting_after && !*pg->starting_after)
		return error(&c->err, 400, "invalid_request", "starting_after",
			     "starting_after must be an id");
	if (pg->ending_before && !*pg->ending_before)
		return error(&c->err, 400, "invalid_request", "ending_before",
			     "ending_before must be an id");
	return 0;
}

int query_choice(struct ctx *c, const char *name, const char *const choices[],
		 const char **out)
{
	*out = query_get(c, name);
	if (*out && !in_list(*out, choices))
		return error(&c->err, 400, "invalid_request", name, "%s is not a valid %s",
			     *out, name);
	return 0;
}

int body_allow(struct ctx *c, const char *const allowed[])
{
	const char *k;
	json_t *v;
	json_object_foreach(c->body, k, v)
		if (!in_list(k, allowed))
			return error(&c->err, 400, "unknown_parameter", k,
				     "unknown parameter: %s", k);
	return 0;
}

bool field_present(struct ctx *c, const char *name)
{
	return json_object_get(c->body, name) != NULL;
}

/* Reads a string member of obj; path names it in errors. */
static int object_string(struct ctx *c, json_t *obj, const char *path, const char *name,
			 bool required, bool nullable, size_t min, size_t max,
			 bool multiline, const char **out)
{
	*out = NULL;
	json_t *v = json_object_get(obj, name);
	if (!v || (json_is_null(v) && nullable)) {
		if (required)
			return error(&c->err, 422, "validation_failed", path, "%s is required",
				     path);
		return 0;
	}
	if (!json_is_string(v))
		return error(&c->err, 422, "validation_failed", path, "%s must be a string",
			     path);
	const char *s = json_string_value(v);
	size_t n = utf8_length(s);
	if (n < min || n > max) {
		if (min == 1 && n == 0)
			return error(&c->err, 422, "validation_failed", path,
				     "%s must not be empty", path);
		return error(&c->err, 422, "validation_failed", path,
			     "%s must be %zu to %zu characters", path, min, max);
	}
	if (!valid_text(s, multiline))
		return error(&c->err, 422, "validation_failed", path,
			     "%s must not contain control characters", path);
	*out = s;
	return 0;
}

int field_string(struct ctx *c, const char *name, bool required, bool nullable,
		 size_t min, size_t max, bool multiline, const char **out)
{
	return object_string(c, c->body, name, name, required, nullable, min, max, multiline,
			     out);
}

int field_bool(struct ctx *c, const char *name, bool *present, bool *out)
{
	json_t *v = json_object_get(c->body, name);
	*present = v != NULL;
	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return error(&c->err, 422, "validation_failed", name, "%s must be true or false",
			     name);
	*out = json_is_true(v);
	return 0;
}

int field_choice(struct ctx *c, const char *name, bool required,
		 const char *const choices[], const char **out)
{
	if (field_string(c, name, required, !required, 1, 64, false, out) < 0)
		return -1;
	if (*out && !in_list(*out, choices))
		return error(&c->err, 422, "validation_failed", name, "%s is not a valid %s",
			     *out, name);
	return 0;
}

int field_address(struct ctx *c, const char *name, bool with_name, struct address *out)
{
	json_t *obj = json_object_get(c->body, name);
	if (!obj || !json_is_object(obj))
		return error(&c->err, 422, "validation_failed", name,
			     "%s must be an address object", name);
	static const char *const fields[] = {"line1", "line2", "city", "state",
					     "postal_code", "country", NULL};
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v)
		if (!in_list(k, fields) && !(with_name && strcmp(k, "name") == 0))
			return error(&c->err, 400, "unknown_parameter",
				     arena_printf(c->a, "%s.%s", name, k),
				     "unknown parameter: %s.%s", name, k);
	struct {
		const char *field;
		bool required;
		size_t max;
		char **dst;
	} parts[] = {
		{"name", with_name, 200, &out->name},
		{"line1", true, 200, &out->line1},
		{"line2", false, 200, &out->line2},
		{"city", true, 100, &out->city},
		{"state", !with_name, 100, &out->state},
		{"postal_code", true, 20, &out->postal_code},
		{"country", true, 2, &out->country},
	};
	for (size_t i = with_name ? 0 : 1; i < sizeof(parts) / sizeof(parts[0]); i++) {
		const char *s;
		char *path = arena_printf(c->a, "%s.%s", name, parts[i].field);
		if (object_string(c, obj, path, parts[i].field, parts[i].required, true, 1,
				  parts[i].max, false, &s) < 0)
			return -1;
		*parts[i].dst = arena_strdup(c->a, s);
	}
	if (!valid_country(out->country))
		return error(&c->err, 422, "validation_failed",
			     arena_printf(c->a, "%s.country", name),
			     "%s.country must be an ISO 3166-1 alpha-2 code such as US", name);
	return 0;
}

int metadata_patch_text(struct ctx *c, const char *current, json_t *patch, char **out)
{
	json_t *md = current ? json_loads(current, 0, NULL) : NULL;
	if (!md)
		md = json_object();
	if (json_is_null(patch))
		json_object_clear(md);
	else if (metadata_apply(md, patch, &c->err) < 0) {
		json_decref(md);
		return -1;
	}
	char *text = json_dumps(md, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(md);
	if (!text)
		die("out of memory");
	*out = arena_strdup(c->a, text);
	free(text);
	return 0;
}

int reply(struct ctx *c, int status, json_t *obj)
{
	c->status = status;
	json_decref(c->out);
	c->out = obj;
	return 0;
}

int reply_list(struct ctx *c, json_t *data, bool has_more)
{
	json_t *o = json_object();
	json_object_set_new(o, "object", json_string("list"));
	json_object_set_new(o, "data", data);
	json_object_set_new(o, "has_more", json_boolean(has_more));
	json_object_set_new(o, "url", json_string(c->req->path));
	return reply(c, 200, o);
}

int not_found(struct ctx *c, const char *kind, const char *id, const char *param)
{
	return error(&c->err, 404, "not_found", param, "no such %s: %s", kind, id);
}

int event_emit(struct ctx *c, const char *partner_id, const char *type, json_t *object)
{
	struct event ev = {
		.id = id_new(c->a, "evt_"),
		.partner_id = (char *)partner_id,
		.type = (char *)type,
		.created_at = c->now,
	};
	json_t *data = json_object();
	json_object_set(data, "object", object);
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(ev.id));
	json_object_set_new(o, "object", json_string("event"));
	json_object_set_new(o, "type", json_string(type));
	json_object_set_new(o, "api_version", json_string("v1"));
	json_object_set_new(o, "created_at", render_time(c->now));
	json_object_set_new(o, "data", data);
	ev.payload = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!ev.payload)
		die("out of memory");
	int rc = c->store->event_insert(c->store, &ev, &c->err);
	free(ev.payload);
	return rc;
}
