/* field.c - body field readers that answer with the documented errors,
 * shared by handlers. */
#include "field.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tenant.h"
#include "util.h"
#include "validate.h"
#include "banned.h"

int field_allow(struct ctx *c, const char *const allowed[])
{
	const char *k;
	json_t *v;
	json_object_foreach(c->body, k, v)
		if (!valid_one_of(k, allowed))
			return error(&c->err, 400, "unknown_parameter", k,
				     "unknown parameter: %s", resp_quote(k));
	return 0;
}

bool field_present(struct ctx *c, const char *name)
{
	return json_object_get(c->body, name) != NULL;
}

bool field_same(struct ctx *c, const char *name, const char *stored)
{
	json_t *v = json_object_get(c->body, name);
	return stored && json_is_string(v) && strcmp(json_string_value(v), stored) == 0;
}

/* Reads a string member of obj; path names it in errors. */
static int object_string(struct ctx *c, json_t *obj, const char *path, const char *name,
			 bool required, bool nullable, size_t min, size_t max,
			 enum field_text kind, const char **out)
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
	if (!valid_text(s, kind == FIELD_MULTILINE))
		return error(&c->err, 422, "validation_failed", path,
			     "%s must not contain control characters", path);
	if (min >= 1 && kind != FIELD_SECRET && !valid_visible(s))
		return error(&c->err, 422, "validation_failed", path, "%s must not be blank",
			     path);
	*out = s;
	return 0;
}

int field_string(struct ctx *c, const char *name, bool required, bool nullable, size_t min,
		 size_t max, enum field_text kind, const char **out)
{
	return object_string(c, c->body, name, name, required, nullable, min, max, kind, out);
}

int field_bool(struct ctx *c, const char *name, bool *present, bool *out)
{
	json_t *v = json_object_get(c->body, name);
	*present = v != NULL;
	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return error(&c->err, 422, "validation_failed", name,
			     "%s must be true or false", name);
	*out = json_is_true(v);
	return 0;
}

int field_choice(struct ctx *c, const char *name, bool required, const char *const choices[],
		 const char **out)
{
	/* No length of its own: a value too long is one that is not a choice. */
	if (field_string(c, name, required, !required, 1, SIZE_MAX, FIELD_LINE, out) < 0)
		return -1;
	if (*out && !valid_one_of(*out, choices))
		return error(&c->err, 422, "validation_failed", name,
			     "%s is not a valid %s: use %s", resp_quote(*out), name,
			     resp_choices(choices));
	return 0;
}

int field_mode(struct ctx *c, bool *livemode)
{
	const char *mode;
	if (field_choice(c, "mode", false, tenant_modes, &mode) < 0)
		return -1;
	/* A dashboard request's tenant is the page's mode (dispatch.c). */
	*livemode = c->session ? tenant_livemode(c->partner_id) : true;
	if (mode)
		tenant_mode_parse(mode, livemode);
	if (c->session)
		c->audit_mode = tenant_mode_name(*livemode);
	return 0;
}

int field_address(struct ctx *c, const char *name, bool with_name, struct address *out)
{
	json_t *obj = json_object_get(c->body, name);
	if (!obj || json_is_null(obj))
		return error(&c->err, 422, "validation_failed", name, "%s is required", name);
	if (!json_is_object(obj))
		return error(&c->err, 422, "validation_failed", name,
			     "%s must be an address object", name);
	static const char *const fields[] = {"line1",       "line2",   "city", "state",
					     "postal_code", "country", NULL};
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v)
		if (!valid_one_of(k, fields) && !(with_name && strcmp(k, "name") == 0))
			return error(&c->err, 400, "unknown_parameter",
				     arena_printf(c->a, "%s.%s", name, k),
				     "unknown parameter: %s.%s", name, resp_quote(k));
	struct {
		const char *field;
		bool required;
		size_t max;
		const char **dst;
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
				  parts[i].max, FIELD_LINE, &s) < 0)
			return -1;
		*parts[i].dst = arena_strdup(c->a, s);
	}
	if (!valid_country(out->country))
		return error(&c->err, 422, "validation_failed",
			     arena_printf(c->a, "%s.country", name),
			     "%s.country must be an ISO 3166-1 alpha-2 code such as US", name);
	return 0;
}

int field_metadata(struct ctx *c, const char *current, const char **out)
{
	json_t *patch = json_object_get(c->body, "metadata");
	if (!patch)
		return 0;
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
