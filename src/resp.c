/* resp.c - JSON responses and the one error envelope. */
#include "resp.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "banned.h"

int error(struct err *e, int status, const char *code, const char *param, const char *fmt, ...)
{
	va_list ap;
	e->status = status;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	snprintf(e->param, sizeof(e->param), "%s", param ? param : "");
	/* Both may echo request text: any bytes, possibly cut mid-character. */
	utf8_make_valid(e->message);
	utf8_make_valid(e->param);
	e->reason = NULL;
	e->retry_after = 0;
	e->retry = false;
	return -1;
}

/* How much of a client's text a message quotes whole (resp_quote()). */
#define QUOTE_MAX 64
#define QUOTE_CUT 60
#define QUOTE_RING 4

const char *resp_quote(const char *s)
{
	static _Thread_local char ring[QUOTE_RING][QUOTE_CUT + sizeof("\u2026")];
	static _Thread_local unsigned next;
	if (!s)
		return "";
	if (strnlen(s, QUOTE_MAX + 1) <= QUOTE_MAX)
		return s;
	/* While s[cut] continues a character, cut before the character starts
	 * (at most 3 bytes back: bytes that are not UTF-8 are error()'s to mend). */
	size_t cut = QUOTE_CUT;
	while (cut > QUOTE_CUT - 3 && ((unsigned char)s[cut] & 0xC0) == 0x80)
		cut--;
	char *out = ring[next++ % QUOTE_RING];
	memcpy(out, s, cut);
	memcpy(out + cut, "\u2026", sizeof("\u2026"));
	return out;
}

int resp_error_reason(struct err *e, const char *reason)
{
	e->reason = reason;
	return -1;
}

void resp_header_add(struct response *r, const char *name, const char *value)
{
	if (r->nheaders == RESP_MAX_HEADERS)
		die("too many response headers");
	struct resp_header *h = &r->headers[r->nheaders++];
	text_copy(h->name, sizeof(h->name), name, strlen(name));
	text_copy(h->value, sizeof(h->value), value, strlen(value));
}

void resp_header_add_int(struct response *r, const char *name, int64_t v)
{
	char text[21];
	int_text(v, text);
	resp_header_add(r, name, text);
}

void resp_json_take(struct response *r, int status, json_t *body_json)
{
	free(r->body);
	r->status = status;
	r->body = json_dumps(body_json, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(body_json);
	if (!r->body)
		die("out of memory serialising a response");
	r->body_len = strlen(r->body);
}

void resp_body_take(struct response *r, int status, char *body, size_t len)
{
	free(r->body);
	r->status = status;
	r->body = body;
	r->body_len = len;
}

void resp_raw(struct response *r, int status, const char *body, size_t len)
{
	free(r->body);
	r->status = status;
	r->body = malloc(len + 1);
	if (!r->body)
		die("out of memory");
	memcpy(r->body, body, len);
	r->body[len] = '\0';
	r->body_len = len;
}

void resp_error(struct response *r, const struct err *e, const char *request_id)
{
	json_t *inner = json_object();
	json_object_set_new(inner, "code", json_string(e->code));
	json_object_set_new(inner, "message", json_string(e->message));
	if (e->param[0])
		json_object_set_new(inner, "param", json_string(e->param));
	if (e->reason)
		json_object_set_new(inner, "reason", json_string(e->reason));
	json_object_set_new(inner, "request_id", json_string(request_id));
	json_t *outer = json_object();
	json_object_set_new(outer, "error", inner);
	resp_json_take(r, e->status, outer);
	/* Storage that is busy, full or stopping: worth another try soon. */
	if (e->retry_after > 0)
		resp_header_add_int(r, "Retry-After", e->retry_after);
	else if (e->status == 503)
		resp_header_add(r, "Retry-After", "1");
}

const char *resp_choices(const char *const list[])
{
	static _Thread_local char text[240];
	size_t n = 0, count = 0;
	while (list[count])
		count++;
	text[0] = '\0';
	for (size_t i = 0; i < count && n < sizeof(text); i++) {
		const char *sep = i == 0 ? "" : i + 1 == count ? " or " : ", ";
		int w = snprintf(text + n, sizeof(text) - n, "%s%s", sep, list[i]);
		if (w < 0 || (size_t)w >= sizeof(text) - n) {
			memcpy(text + sizeof(text) - 4, "...", 4);
			break;
		}
		n += (size_t)w;
	}
	return text;
}

void resp_free(struct response *r)
{
	if (!r)
		return;
	free(r->body);
	r->body = NULL;
}
