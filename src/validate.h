/* validate.h - pure checks of input values (docs/api.md). No I/O. */
#ifndef INNBOCKS_VALIDATE_H
#define INNBOCKS_VALIDATE_H

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "resp.h"

#define METADATA_MAX_KEYS 50
#define METADATA_KEY_MAX 40
#define METADATA_VALUE_MAX 500

/* Returns true for a plausible e-mail address of at most 254 characters
 * (code points): one '@', a local part of at most 64 without spaces or
 * control characters, and a domain of dot-separated labels (letters,
 * digits, hyphens; in Unicode, judged in its ASCII form) ending in a
 * top-level label of at least two letters or an A-label ("xn--p1ai"). */
bool valid_email(const char *s);
/* Returns true when ascii, a domain name in its ASCII form without a
 * trailing dot, is labels of 1 to 63 letters, digits and hyphens (neither
 * first nor last), and underscores too when underscore (DNS names may hold
 * them; mail domains not), each A-label ("xn--...") one IDNA2008 takes. */
bool valid_domain_labels(const char *ascii, bool underscore);
/* Returns true for an E.164 number: '+', a non-zero digit, 1-14 more. */
bool valid_e164(const char *s);
/* Returns true for 1-128 characters of [A-Za-z0-9_.:-]. */
bool valid_external_id(const char *s);
/* Returns true for an officially assigned ISO 3166-1 alpha-2 code (US, GB). */
bool valid_country(const char *s);
/* Returns true for an HTTP field name: n > 0 characters of an RFC 9110
 * token (section 5.6.2), so no space, tab or colon. */
bool valid_header_name(const char *s, size_t n);
/* Returns true when the NUL-terminated s is valid UTF-8. */
bool valid_utf8(const char *s);
/* Returns true when s (valid UTF-8) has no control characters: C0, DEL or
 * C1 (tabs and newlines allowed when multiline is true). */
bool valid_text(const char *s, bool multiline);
/* Returns true when s is one of list (NULL-terminated; a NULL list holds
 * nothing). */
bool valid_one_of(const char *s, const char *const list[]);

/* Returns true for an absolute http:// or https:// URL of at most 2048
 * characters (code points) with a host, no whitespace or control
 * characters (C1 included), and a port, if any, from 1 to 65535. */
bool valid_http_url(const char *s);
/* Returns false when the URL curl parsed into u names port 0, which
 * connects nowhere (curl itself refuses ports past 65535). */
bool valid_url_port(CURLU *u);
/* Returns true when s holds a character that is neither white space nor
 * invisible (default-ignorable, such as a zero-width space). */
bool valid_visible(const char *s);
/* Parses an RFC 3339 date-time ("2026-11-27T11:10:28Z", fractions and
 * offsets allowed) into Unix seconds. Returns 0, or -1 when malformed. */
int rfc3339_parse(const char *s, int64_t *out);

/* Applies a metadata patch to current (an object, modified in place): a
 * string value sets its key, "" or null removes it. Returns 0, or -1 with
 * e set to 422 validation_failed (param "metadata") when patch is not an
 * object, a key or value is too long, a value is not a string, or the
 * result would hold more than 50 keys; current is unchanged then. */
int metadata_apply(json_t *current, json_t *patch, struct err *e);

/* Parses a billing period "YYYY-MM", 1970-01 to 9999-11, into [start, end)
 * Unix seconds. Returns 0, or -1 when malformed or out of that range. */
int period_parse(const char *s, int64_t *start, int64_t *end);
/* Returns the UTC calendar days of [start, end) with any moment, up to and
 * including now, at which a mailbox active from activated until closed
 * (0 = still open) was active. A mailbox closed in the very second it was
 * activated counts as active for that second: one day. */
int64_t usage_active_days(int64_t activated, int64_t closed, int64_t start, int64_t end,
			  int64_t now);
/* Returns true when the mailbox was active at instant t. */
bool usage_active_at(int64_t activated, int64_t closed, int64_t t);

#endif
