/* resp.h - the one error envelope and the response a request produces.
 * Every failure anywhere in the request path is described by a struct err;
 * resp_error() is the only place that turns one into the JSON envelope. */
#ifndef INNBOCKS_RESP_H
#define INNBOCKS_RESP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct err {
	int status;       /* HTTP status to answer with */
	const char *code; /* one of the codes of docs/api.md#errors (static string) */
	char message[256];
	char param[256];    /* empty when no single field is at fault */
	const char *reason; /* a static machine-readable sub-code, or NULL */
	/* Seconds for a Retry-After header, when a retry soon may succeed
	 * where this one could not; 0: none (a 503 always says 1). */
	int retry_after;
	/* Set by a storage backend (with 503) when the transaction lost a
	 * conflict with a concurrent one: a serialization failure or a deadlock
	 * (PostgreSQL). Running the whole transaction again may succeed
	 * (store_tx_write() does); error() clears it. */
	bool retry;
};

/* Fills e and returns -1, so callers can write `return error(e, ...)`.
 * param may be NULL. */
int error(struct err *e, int status, const char *code, const char *param, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* s as an error message quotes what a client sent: whole when it is at most
 * 64 bytes, else its first 60 or fewer (never half a UTF-8 character)
 * followed by "…", so that a long value cannot push the rest of the
 * sentence out of the message. The result is s itself or a buffer of the
 * calling thread that the fourth call after this one reuses: pass it
 * straight to error(). NULL is shown as "". */
const char *resp_quote(const char *s);
/* Returns the values of list (NULL-terminated) as a message says them,
 * "a, b or c", for a refusal that tells what is allowed ("royalmail is not
 * a valid carrier: use usps, ups, fedex, dhl or other"). The text is the
 * calling thread's, valid until its next call; a list too long for 240
 * bytes ends in "...". */
const char *resp_choices(const char *const list[]);

/* Sets the machine-readable reason (a static string, kept by pointer) of
 * the error error() just filled in e, shown as "reason" next to "code";
 * returns -1 like error(). */
int resp_error_reason(struct err *e, const char *reason);

#define RESP_MAX_HEADERS 12

struct resp_header {
	char name[32];
	char value[192];
};

struct route;

/* What the access log and the metrics tell about an answer besides its
 * status and body; the dispatcher fills it. It never holds a secret: of
 * the key, only its display prefix (what key lists show). */
struct resp_facts {
	const struct route *route; /* the matched route (routes.c); NULL: none */
	char request_id[32];
	char partner_id[40]; /* the key's partner, never its test tenant; "" */
	int livemode;        /* 1 live key, 0 test key, -1 no partner key */
	char key_prefix[16]; /* "" when no partner key */
	bool replayed;       /* an idempotent replay of a stored answer */
};

/* What the server answers. body is malloc'ed and owned by the response. */
struct response {
	int status;
	char *body;
	size_t body_len;
	const char *content_type; /* static; NULL means JSON */
	struct resp_header headers[RESP_MAX_HEADERS];
	int nheaders;
	struct resp_facts facts;
};

/* Adds a header (truncated to the fixed sizes; callers pass short values). */
void resp_header_add(struct response *r, const char *name, const char *value);
/* Adds a header whose value is the decimal of v. */
void resp_header_add_int(struct response *r, const char *name, int64_t v);
/* Sets status and takes body_json (serialised compactly, then decref'ed). */
void resp_json_take(struct response *r, int status, json_t *body_json);
/* Sets status and takes body, len bytes malloc'ed with a NUL after them. */
void resp_body_take(struct response *r, int status, char *body, size_t len);
/* Sets status and a copy of the len bytes of a ready JSON body. */
void resp_raw(struct response *r, int status, const char *body, size_t len);
/* Sets the error envelope for e, repeating request_id in the body. */
void resp_error(struct response *r, const struct err *e, const char *request_id);
/* Frees what the response owns (not r itself). Accepts NULL. */
void resp_free(struct response *r);

#endif
