/* buf.c - a growable byte buffer, and JSON written into it byte for byte as
 * jansson 2.14's json_dumps(JSON_COMPACT) writes it (its dump.c: the
 * escapes, uppercase \u00XX, no whitespace). tests/unit/test_render.c
 * compares the two over edge cases and generated inputs. */
#include "buf.h"

#include <stdint.h>
#include <stdlib.h>

#include "util.h"
#include "banned.h"

void buf_reserve(struct buf *b, size_t more)
{
	if (b->cap - b->len > more)
		return;
	size_t cap = b->cap ? b->cap : 1024; /* a customer is ~600 bytes */
	while (cap - b->len <= more)
		cap *= 2;
	char *data = realloc(b->data, cap);
	if (!data)
		die("out of memory");
	b->data = data;
	b->cap = cap;
}

const char *buf_str(struct buf *b)
{
	buf_reserve(b, 0);
	b->data[b->len] = '\0';
	return b->data;
}

char *buf_take(struct buf *b, size_t *len)
{
	buf_reserve(b, 0);
	b->data[b->len] = '\0';
	char *data = b->data;
	*len = b->len;
	*b = (struct buf){0};
	return data;
}

void buf_free(struct buf *b)
{
	if (!b)
		return;
	free(b->data);
	*b = (struct buf){0};
}

/* Returns the length of the UTF-8 sequence at s (n bytes left, s[0] >=
 * 0x80), or 0 when it is not one jansson accepts: no overlong forms, no
 * surrogates, nothing past U+10FFFF (its utf.c). */
static size_t utf8_sequence(const unsigned char *s, size_t n)
{
	size_t k;
	uint32_t cp;
	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		k = 2;
		cp = s[0] & 0x1F;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		k = 3;
		cp = s[0] & 0x0F;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		k = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < k)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3F);
	}
	if ((k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) ||
	    (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
		return 0;
	return k;
}

/* Appends the escape of the control character, quote or backslash ch. */
static void escape(struct buf *b, unsigned char ch)
{
	static const char hex[] = "0123456789ABCDEF";
	char short_form = 0;
	switch (ch) {
	case '"':
		short_form = '"';
		break;
	case '\\':
		short_form = '\\';
		break;
	case '\b':
		short_form = 'b';
		break;
	case '\f':
		short_form = 'f';
		break;
	case '\n':
		short_form = 'n';
		break;
	case '\r':
		short_form = 'r';
		break;
	case '\t':
		short_form = 't';
		break;
	default:
		break;
	}
	if (short_form) {
		char esc[2] = {'\\', short_form};
		buf_put(b, esc, 2);
	} else {
		char esc[6] = {'\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15]};
		buf_put(b, esc, 6);
	}
}

/* Returns true when none of the 8 bytes of x needs a look: no control
 * character, quote, backslash or non-ASCII byte (the bit tricks of "Bit
 * Twiddling Hacks"; a false alarm only sends the bytes one at a time). */
static bool plain8(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
	uint64_t quote = x ^ (ones * '"'), backslash = x ^ (ones * '\\');
	uint64_t control = (x - ones * 0x20) & ~x;              /* a byte below 0x20 */
	uint64_t quotes = (quote - ones) & ~quote;              /* a byte equal to " */
	uint64_t backslashes = (backslash - ones) & ~backslash; /* ... to \ */
	return ((control | quotes | backslashes | x) & high) == 0;
}

bool buf_json_string(struct buf *b, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	buf_reserve(b, n + 2);
	buf_putc(b, '"');
	size_t run = 0, i = 0; /* s[run..i) is copied as it is */
	while (i < n) {
		uint64_t x;
		if (n - i >= 8 && (memcpy(&x, s + i, 8), plain8(x))) {
			i += 8;
			continue;
		}
		unsigned char ch = s[i];
		if (ch >= 0x20 && ch < 0x80 && ch != '"' && ch != '\\') {
			i++;
		} else if (ch >= 0x80) {
			size_t k = utf8_sequence(s + i, n - i);
			if (!k)
				return false;
			i += k;
		} else {
			buf_put(b, s + run, i - run);
			escape(b, ch);
			run = ++i;
		}
	}
	buf_put(b, s + run, n - run);
	buf_putc(b, '"');
	return true;
}

static int dump_to_buf(const char *bytes, size_t n, void *data)
{
	buf_put(data, bytes, n);
	return 0;
}

void buf_json_value(struct buf *b, const json_t *v)
{
	if (json_dump_callback(v, dump_to_buf, b,
			       JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY) < 0)
		die("cannot serialise a JSON value");
}

/* Checks that stored JSON text is what json_dumps(JSON_COMPACT) writes,
 * so that parsing and writing it again would give the same bytes: no
 * whitespace, strings in jansson's escaping and valid UTF-8, integers only
 * (a real's text is not kept: 1.5e0 becomes 1.5), no key twice in an
 * object (jansson keeps the last value), no deeper than CANON_DEPTH.
 * Anything else is left to jansson. */
#define CANON_DEPTH 32
#define CANON_KEYS 64 /* more keys in one object are left to jansson */

struct scan {
	const unsigned char *p, *end;
};

static bool canon_value(struct scan *s, int depth);

static bool canon_string(struct scan *s)
{
	const unsigned char *p = s->p, *end = s->end;
	if (p == end || *p != '"')
		return false;
	for (p++; p < end;) {
		unsigned char ch = *p;
		if (ch == '"') {
			s->p = p + 1;
			return true;
		}
		if (ch < 0x20)
			return false;
		if (ch >= 0x80) {
			size_t k = utf8_sequence(p, (size_t)(end - p));
			if (!k)
				return false;
			p += k;
			continue;
		}
		if (ch != '\\') {
			p++;
			continue;
		}
		if (end - p < 2)
			return false;
		if (strchr("\"\\bfnrt", p[1])) {
			p += 2;
			continue;
		}
		/* \u00XX, uppercase, for the control characters without a short
		 * form; \u0000 is refused by jansson's parser. */
		if (p[1] != 'u' || end - p < 6 || p[2] != '0' || p[3] != '0' ||
		    !strchr("01", p[4]) || !strchr("0123456789ABCDEF", p[5]))
			return false;
		unsigned v = (unsigned)(p[4] - '0') * 16 +
			     (unsigned)(p[5] <= '9' ? p[5] - '0' : p[5] - 'A' + 10);
		if (v == 0 || strchr("\b\f\n\r\t", (int)v))
			return false;
		p += 6;
	}
	return false;
}

/* An integer as jansson writes one: no "-0", no leading zero, and short
 * enough to fit its json_int_t. */
static bool canon_integer(struct scan *s)
{
	const unsigned char *p = s->p, *end = s->end;
	if (p < end && *p == '-')
		p++;
	const unsigned char *digits = p;
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	size_t n = (size_t)(p - digits);
	if (n == 0 || n > 18 || (digits[0] == '0' && (n > 1 || digits != s->p)))
		return false;
	if (p < end && (*p == '.' || *p == 'e' || *p == 'E'))
		return false;
	s->p = p;
	return true;
}

static bool canon_literal(struct scan *s, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
		return false;
	s->p += n;
	return true;
}

static bool canon_object(struct scan *s, int depth)
{
	struct {
		const unsigned char *at;
		size_t len;
	} keys[CANON_KEYS];
	size_t nkeys = 0;
	s->p++;
	if (s->p < s->end && *s->p == '}') {
		s->p++;
		return true;
	}
	for (;;) {
		const unsigned char *key = s->p;
		if (!canon_string(s) || nkeys == CANON_KEYS)
			return false;
		size_t len = (size_t)(s->p - key);
		for (size_t i = 0; i < nkeys; i++)
			if (keys[i].len == len && memcmp(keys[i].at, key, len) == 0)
				return false;
		keys[nkeys].at = key;
		keys[nkeys++].len = len;
		if (s->p == s->end || *s->p++ != ':' || !canon_value(s, depth))
			return false;
		if (s->p == s->end)
			return false;
		if (*s->p == '}') {
			s->p++;
			return true;
		}
		if (*s->p++ != ',')
			return false;
	}
}

static bool canon_array(struct scan *s, int depth)
{
	s->p++;
	if (s->p < s->end && *s->p == ']') {
		s->p++;
		return true;
	}
	for (;;) {
		if (!canon_value(s, depth) || s->p == s->end)
			return false;
		if (*s->p == ']') {
			s->p++;
			return true;
		}
		if (*s->p++ != ',')
			return false;
	}
}

static bool canon_value(struct scan *s, int depth)
{
	if (s->p == s->end)
		return false;
	switch (*s->p) {
	case '{':
		return depth < CANON_DEPTH && canon_object(s, depth + 1);
	case '[':
		return depth < CANON_DEPTH && canon_array(s, depth + 1);
	case '"':
		return canon_string(s);
	case 't':
		return canon_literal(s, "true");
	case 'f':
		return canon_literal(s, "false");
	case 'n':
		return canon_literal(s, "null");
	default:
		return canon_integer(s);
	}
}

void buf_json_text(struct buf *b, const char *text)
{
	if (text) {
		size_t n = strlen(text);
		struct scan s = {(const unsigned char *)text, (const unsigned char *)text + n};
		if (canon_value(&s, 0) && s.p == s.end) {
			buf_put(b, text, n);
			return;
		}
		json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
		if (v) {
			buf_json_value(b, v);
			json_decref(v);
			return;
		}
	}
	buf_lit(b, "null");
}
