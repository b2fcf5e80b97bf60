/* buf.h - a growable byte buffer, and JSON written straight into it with
 * exactly the bytes jansson's json_dumps(JSON_COMPACT) writes: the hot
 * objects (render.c) are rendered once into one, and the same bytes become
 * the response body, the event payload and the stored idempotent answer. */
#ifndef INNBOCKS_BUF_H
#define INNBOCKS_BUF_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* data is malloc'ed (NULL while empty); there is always room for a NUL
 * after len bytes. Start one as `struct buf b = {0};`. */
struct buf {
	char *data;
	size_t len, cap;
};

/* Makes room for more bytes after len (and the NUL). Aborts on
 * out-of-memory. */
void buf_reserve(struct buf *b, size_t more);

/* Appends the n bytes at s. */
static inline void buf_put(struct buf *b, const void *s, size_t n)
{
	if (b->cap - b->len <= n)
		buf_reserve(b, n);
	memcpy(b->data + b->len, s, n);
	b->len += n;
}

/* Appends a string literal. */
#define buf_lit(b, s) buf_put((b), "" s, sizeof(s) - 1)

/* Appends one byte. */
static inline void buf_putc(struct buf *b, char ch)
{
	if (b->cap - b->len <= 1)
		buf_reserve(b, 1);
	b->data[b->len++] = ch;
}

/* Returns the bytes NUL-terminated, still owned by b (valid until it
 * changes). */
const char *buf_str(struct buf *b);
/* Returns the bytes, NUL-terminated and malloc'ed (the caller frees them),
 * with their length in *len; leaves b empty. An empty buffer gives "". */
char *buf_take(struct buf *b, size_t *len);
/* Frees what b holds and leaves it empty. Accepts NULL. */
void buf_free(struct buf *b);

/* Appends the n bytes at s as a quoted JSON string escaped as jansson does
 * (\" \\ \b \f \n \r \t, other control characters as \u00XX; everything
 * else as it is, no \/, no \u for non-ASCII). Returns false, having
 * appended something to drop, when s is not valid UTF-8: jansson's
 * json_string() refuses such a string, so its member is left out. */
bool buf_json_string(struct buf *b, const char *s, size_t n);
/* Appends v (borrowed) as json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)
 * writes it. */
void buf_json_value(struct buf *b, const json_t *v);
/* Appends stored JSON text (NULL: null) as jansson would write it once
 * parsed: text already in that form (what json_dumps wrote) is copied as it
 * is; anything else goes through jansson, and text it cannot parse is
 * null. */
void buf_json_text(struct buf *b, const char *text);

#endif
