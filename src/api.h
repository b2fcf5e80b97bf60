/* api.h - what every handler uses: query and body field readers that answer
 * with the documented errors, paging, replies, the outbox. */
#ifndef INNBOCKS_API_H
#define INNBOCKS_API_H

#include <jansson.h>
#include <stdbool.h>

#include "dispatch.h"

/* Returns the query parameter's value, or NULL when absent. */
const char *query_get(struct ctx *c, const char *name);
/* Refuses (400 unknown_parameter) any query parameter not in allowed
 * (NULL-terminated). Returns 0 or -1. */
int query_allow(struct ctx *c, const char *const allowed[]);
/* Checks the query against allowed plus limit/starting_after/ending_before
 * and fills pg. Returns 0 or -1 with 400 invalid_request / unknown_parameter. */
int page_parse(struct ctx *c, const char *const allowed[], struct page *pg);
/* Returns the value of a filter, refusing (400 invalid_request) values not
 * in choices (NULL-terminated). *out is NULL when absent. */
int query_choice(struct ctx *c, const char *name, const char *const choices[],
		 const char **out);

/* Refuses (400 unknown_parameter) any body field not in allowed. */
int body_allow(struct ctx *c, const char *const allowed[]);
/* Returns true when the body has the field (null included). */
bool field_present(struct ctx *c, const char *name);
/* Reads a string field of min..max characters without control characters
 * (newlines allowed when multiline). Absent: *out NULL, and an error when
 * required. null: allowed (as absent) only when nullable. Returns 0 or -1
 * with 422 validation_failed naming the field. *out points into the body. */
int field_string(struct ctx *c, const char *name, bool required, bool nullable,
		 size_t min, size_t max, bool multiline, const char **out);
/* Reads a boolean field; *present says whether it was given. */
int field_bool(struct ctx *c, const char *name, bool *present, bool *out);
/* Reads a string field that must be one of choices (NULL-terminated); an
 * optional one may be null, meaning absent. */
int field_choice(struct ctx *c, const char *name, bool required,
		 const char *const choices[], const char **out);
/* Reads an address object into out (strings in the arena). line1, city,
 * postal_code and country (ISO 3166-1 alpha-2) are required, line2 is
 * optional; with_name (a forwarding address) also requires name and makes
 * state optional, otherwise (a partner location) state is required. */
int field_address(struct ctx *c, const char *name, bool with_name, struct address *out);

/* Applies a metadata patch (validate.h metadata_apply; a null patch clears
 * every key) to the JSON object text current (NULL = {}), writing the new
 * text, in the arena, to *out. Returns 0 or -1 with 422. */
int metadata_patch_text(struct ctx *c, const char *current, json_t *patch, char **out);

/* Sets the handler's result; returns 0. Takes obj. */
int reply(struct ctx *c, int status, json_t *obj);
/* Replies 200 with the list envelope around data (taken). */
int reply_list(struct ctx *c, json_t *data, bool has_more);
/* Returns -1 with 404 not_found for a missing (or another partner's) object. */
int not_found(struct ctx *c, const char *kind, const char *id, const char *param);

/* Writes an event of type for partner_id to the outbox, in the current
 * transaction, with object (borrowed) as data.object. Returns 0 or -1. */
int event_emit(struct ctx *c, const char *partner_id, const char *type, json_t *object);

#endif
