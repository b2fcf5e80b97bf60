/* field.h - the request body's fields as handlers read them, each refused
 * with the documented error naming the field (docs/api.md). Strings read
 * point into the body or the request's arena and live as long as the
 * request. */
#ifndef INNBOCKS_FIELD_H
#define INNBOCKS_FIELD_H

#include <stdbool.h>
#include <stddef.h>

#include "dispatch.h"

/* Refuses (400 unknown_parameter) any body field not in allowed
 * (NULL-terminated). Returns 0 or -1. */
int field_allow(struct ctx *c, const char *const allowed[]);
/* Returns true when the body has the field (null included). */
bool field_present(struct ctx *c, const char *name);
/* Returns true when the body's field is the string stored (stored may be
 * NULL: then false). An update that sends back what it read changes
 * nothing there, and its value is not judged again by rules newer than
 * it (a blank name stored before blanks were refused). */
bool field_same(struct ctx *c, const char *name, const char *stored);
/* What a text field may hold besides its length. */
enum field_text {
	/* One line. When it may not be empty (min >= 1), it may not be blank
	 * either: white space and invisible characters alone (a zero-width
	 * space) are no name, reason or address line. */
	FIELD_LINE,
	FIELD_MULTILINE, /* as FIELD_LINE, and newlines and tabs allowed */
	FIELD_SECRET,    /* a password: one line, taken as typed, blank or not */
};

/* Reads a string field of min..max characters without control characters,
 * as kind says. Absent: *out NULL, and an error when required. null:
 * allowed (as absent) only when nullable. Returns 0 or -1 with 422
 * validation_failed naming the field. *out points into the body. */
int field_string(struct ctx *c, const char *name, bool required, bool nullable, size_t min,
		 size_t max, enum field_text kind, const char **out);
/* Reads a boolean field; *present says whether it was given. */
int field_bool(struct ctx *c, const char *name, bool *present, bool *out);
/* Reads the optional "mode" field ("live" or "test") of a key or webhook
 * endpoint being created; without it, the dashboard page's mode, or live
 * on the operator API. Returns 0 or -1 with 422. */
int field_mode(struct ctx *c, bool *livemode);
/* Reads a string field that must be one of choices (NULL-terminated); an
 * optional one may be null, meaning absent. */
int field_choice(struct ctx *c, const char *name, bool required, const char *const choices[],
		 const char **out);
/* Reads an address object into out (strings in the arena); absent or null
 * is "is required", another type "must be an address object". line1, city,
 * postal_code and country (ISO 3166-1 alpha-2) are required, line2 is
 * optional; with_name (a forwarding address) also requires name and makes
 * state optional, otherwise (a partner location) state is required. */
int field_address(struct ctx *c, const char *name, bool with_name, struct address *out);
/* When the body has metadata, applies it as a patch (validate.h
 * metadata_apply; null clears every key) to the JSON object text current
 * (NULL = {}) and writes the new text, in the arena, to *out; otherwise
 * leaves *out alone. Returns 0 or -1 with 422. */
int field_metadata(struct ctx *c, const char *current, const char **out);

#endif
