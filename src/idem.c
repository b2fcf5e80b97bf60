/* idem.c - Idempotency-Key checks and request fingerprints. */
#include "idem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"
#include "banned.h"

/* One member of an object, to be written in the order of its key. */
struct member {
	const char *key;
	size_t len;
	json_t *value;
};

/* jansson's JSON_SORT_KEYS order: by the key's bytes, then its length. */
static int member_order(const void *a, const void *b)
{
	const struct member *x = a, *y = b;
	int c = memcmp(x->key, y->key, x->len < y->len ? x->len : y->len);
	return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Objects with up to this many members are sorted on the stack. */
#define MEMBERS_ON_STACK 16

/* Appends v as json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS |
 * JSON_ENCODE_ANY) writes it, which is what fingerprints were made of
 * before (and what those stored with idempotency records still are):
 * the same bytes, without building them in a string of jansson's and
 * copying them into another. */
static void canonical(struct buf *b, json_t *v)
{
	if (!v)
		die("no request body to fingerprint");
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		size_t n = json_object_size(v), i = 0;
		struct member stack[MEMBERS_ON_STACK];
		struct member *m = n <= MEMBERS_ON_STACK ? stack : malloc(n * sizeof(*m));
		if (!m)
			die("out of memory");
		const char *key;
		json_t *value;
		/* Keys hold no NUL: json_loadb() refuses one. */
		json_object_foreach(v, key, value) {
			m[i++] = (struct member){key, strlen(key), value};
		}
		qsort(m, n, sizeof(*m), member_order);
		buf_putc(b, '{');
		for (i = 0; i < n; i++) {
			if (i)
				buf_putc(b, ',');
			if (!buf_json_string(b, m[i].key, m[i].len))
				die("a JSON key is not UTF-8");
			buf_putc(b, ':');
			canonical(b, m[i].value);
		}
		buf_putc(b, '}');
		if (m != stack)
			free(m);
		return;
	}
	case JSON_ARRAY: {
		buf_putc(b, '[');
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i)
				buf_putc(b, ',');
			canonical(b, json_array_get(v, i));
		}
		buf_putc(b, ']');
		return;
	}
	case JSON_STRING:
		if (!buf_json_string(b, json_string_value(v), json_string_length(v)))
			die("a JSON string is not UTF-8");
		return;
	case JSON_INTEGER: {
		char digits[24];
		int n = snprintf(digits, sizeof(digits), "%" JSON_INTEGER_FORMAT,
				 json_integer_value(v));
		buf_put(b, digits, (size_t)n);
		return;
	}
	case JSON_TRUE:
		buf_lit(b, "true");
		return;
	case JSON_FALSE:
		buf_lit(b, "false");
		return;
	case JSON_NULL:
		buf_lit(b, "null");
		return;
	default: /* a real: jansson's own formatting */
		buf_json_value(b, v);
		return;
	}
}

void idem_fingerprint(const char *method, const char *path, json_t *body, char out[65])
{
	struct buf b = {0};
	buf_put(&b, method, strlen(method));
	buf_putc(&b, '\n');
	buf_put(&b, path, strlen(path));
	buf_putc(&b, '\n');
	canonical(&b, body);
	sha256_hex(b.data, b.len, out);
	buf_free(&b);
}

int idem_key_check(const char *key, struct err *e)
{
	size_t n = strlen(key);
	if (n == 0 || n > IDEM_KEY_MAX)
		return error(e, 400, "invalid_idempotency_key", NULL,
			     "Idempotency-Key must be 1 to %d characters", IDEM_KEY_MAX);
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			return error(e, 400, "invalid_idempotency_key", NULL,
				     "Idempotency-Key must be printable ASCII");
	return 0;
}
