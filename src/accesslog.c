/* accesslog.c - one line per request, JSON or logfmt.
 *
 * The line is built on the caller's stack. The command line writes it with
 * one write(2); the server's threads append it to a buffer of their own
 * and write many lines at once (accesslog_append): a write(2) per request
 * to a pipe costs its reader a wake-up each time (measured: a third more
 * CPU per /healthz with `| cat`). Each buffer has its own mutex, which only
 * the main loop's flush ever contends for; every write is of whole lines,
 * so lines never interleave. The time is formatted by hand: glibc's
 * gmtime_r takes the time-zone lock. */
#include "accesslog.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "router.h"
#include "util.h"
#include "banned.h"

#define LINE_MAX_BYTES 1024
#define METHOD_MAX 16 /* longer methods (none is real) are cut */

int accesslog_format_parse(const char *name, enum accesslog_format *out)
{
	static const char *const names[] = {"json", "text", "off"};
	for (int i = 0; i < 3; i++)
		if (strcmp(name, names[i]) == 0) {
			*out = (enum accesslog_format)i;
			return 0;
		}
	return -1;
}

int64_t accesslog_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A line being built; `full` once something did not fit. */
struct line {
	char *buf;
	size_t len, size;
	bool full;
};

/* Inlined everywhere: with n known at the call, the copy is a few moves. */
#define INLINE static inline __attribute__((always_inline))

INLINE void put(struct line *l, const char *s, size_t n)
{
	/* Two bytes stay free for the closing "}\n". */
	if (l->full || l->len + n + 2 > l->size) {
		l->full = true;
		return;
	}
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

/* Appends a string literal. */
#define PUT_LITERAL(l, s) put(l, s, sizeof(s) - 1)

/* Returns true when the 8 bytes of x are all printable ASCII other than a
 * quote or a backslash (what the line keeps as it is); buf.c's plain8()
 * with DEL escaped too. */
INLINE bool printable8(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
	uint64_t quote = x ^ (ones * '"'), backslash = x ^ (ones * '\\'),
		 del = x ^ (ones * 0x7f);
	uint64_t bad = ((x - ones * 0x20) & ~x) | ((quote - ones) & ~quote) |
		       ((backslash - ones) & ~backslash) | ((del - ones) & ~del) | x;
	return (bad & high) == 0;
}

/* Returns true when none of the n bytes at s needs an escape: 8 bytes at a
 * time, the last 8 overlapping, a short string padded with spaces. */
static bool printable(const char *s, size_t n)
{
	uint64_t x;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		memcpy(&x, s + i, 8);
		if (!printable8(x))
			return false;
	}
	if (i == n)
		return true;
	if (n >= 8) {
		memcpy(&x, s + n - 8, 8);
		return printable8(x);
	}
	char padded[8] = "        ";
	memcpy(padded, s, n);
	memcpy(&x, padded, 8);
	return printable8(x);
}

/* Appends s (at most max bytes of it) escaped for a JSON string; quoted
 * adds the quotes. Control and non-ASCII bytes become \u00XX, so the line
 * stays one line of valid JSON whatever a client sent. */
static void put_escaped(struct line *l, const char *s, size_t max, bool quoted)
{
	static const char hex[] = "0123456789abcdef";
	if (quoted)
		PUT_LITERAL(l, "\"");
	size_t n = strnlen(s, max);
	if (printable(s, n)) { /* what every value the server makes is */
		put(l, s, n);
		if (quoted)
			PUT_LITERAL(l, "\"");
		return;
	}
	size_t run = 0, i = 0; /* s[run..i) needs no escape */
	for (; i < n; i++) {
		uint64_t x;
		while (n - i >= 8 && (memcpy(&x, s + i, 8), printable8(x)))
			i += 8;
		if (i == n)
			break;
		unsigned char ch = (unsigned char)s[i];
		if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\')
			continue;
		put(l, s + run, i - run);
		if (ch == '"' || ch == '\\') {
			char esc[2] = {'\\', (char)ch};
			put(l, esc, 2);
		} else {
			char esc[6] = {'\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15]};
			put(l, esc, 6);
		}
		run = i + 1;
	}
	put(l, s + run, i - run);
	if (quoted)
		PUT_LITERAL(l, "\"");
}

/* The last second a thread formatted, as "2026-11-29T12:00:00": the
 * calendar arithmetic runs once a second, not once a line. */
static _Thread_local int64_t second_secs;
static _Thread_local bool second_valid;
static _Thread_local char second_text[20];

/* Appends Unix microseconds as 2026-11-29T12:00:00.123Z (24 bytes, no
 * quotes; time_digits(), no formatter: this runs for every request). */
static void put_time(struct line *l, int64_t us)
{
	int64_t secs = us / 1000000, within = us % 1000000;
	if (within < 0) { /* before 1970: the second before, and the µs after it */
		secs--;
		within += 1000000;
	}
	int64_t ms = within / 1000;
	if (!second_valid || second_secs != secs) {
		second_valid = time_digits(secs, second_text);
		second_secs = secs;
		if (!second_valid) {
			PUT_LITERAL(l, "0000-01-01T00:00:00.000Z");
			return;
		}
	}
	char frac[5] = {'.', (char)('0' + ms / 100), (char)('0' + ms / 10 % 10),
			(char)('0' + ms % 10), 'Z'};
	put(l, second_text, 19);
	put(l, frac, 5);
}

/* A field's name as JSON writes it, `,"name":`, with its length: the
 * bytes are written at once; text writes ` name=` from the middle of them. */
#define NAME(name) ",\"" name "\":", sizeof(name) + 3

/* Appends a field's name in format f. */
INLINE void put_name(struct line *l, enum accesslog_format f, const char *json, size_t n)
{
	if (f == ACCESSLOG_JSON) {
		put(l, json, n);
		return;
	}
	PUT_LITERAL(l, " ");
	put(l, json + 2, n - 4);
	PUT_LITERAL(l, "=");
}

/* Appends a string field; value NULL is JSON null (left out of text). */
INLINE void member_string(struct line *l, enum accesslog_format f, const char *name, size_t n,
			  const char *value)
{
	if (f == ACCESSLOG_TEXT && !value)
		return;
	put_name(l, f, name, n);
	if (!value) {
		PUT_LITERAL(l, "null");
		return;
	}
	/* logfmt: quote what has a space, a quote or an equals sign. */
	bool quote = f == ACCESSLOG_JSON || !*value || strpbrk(value, " \"=") != NULL;
	put_escaped(l, value, LINE_MAX_BYTES, quote);
}

/* Appends a field whose value is a literal (true, false, null); value
 * NULL is JSON null (left out of text). */
INLINE void member_literal(struct line *l, enum accesslog_format f, const char *name, size_t n,
			   const char *value)
{
	if (f == ACCESSLOG_TEXT && !value)
		return;
	put_name(l, f, name, n);
	put(l, value ? value : "null", value ? strlen(value) : 4);
}

static void put_int(struct line *l, int64_t v)
{
	char text[21];
	put(l, text, int_text(v, text));
}

INLINE void member_int(struct line *l, enum accesslog_format f, const char *name, size_t n,
		       int64_t v)
{
	put_name(l, f, name, n);
	put_int(l, v);
}

size_t accesslog_format_line(enum accesslog_format f, const struct accesslog_entry *e,
			     char *out, size_t size)
{
	if (f == ACCESSLOG_OFF || size < 4)
		return 0;
	struct line l = {.buf = out, .size = size};
	const struct resp_facts *fa = e->facts;
	if (f == ACCESSLOG_JSON) {
		PUT_LITERAL(&l, "{\"time\":\"");
		put_time(&l, e->time_us);
		PUT_LITERAL(&l, "\"");
	} else {
		PUT_LITERAL(&l, "time=");
		put_time(&l, e->time_us);
	}
	member_string(&l, f, NAME("source"), e->source);
	if (e->command)
		member_string(&l, f, NAME("command"), e->command);
	member_string(&l, f, NAME("request_id"), fa ? fa->request_id : NULL);
	if (e->method) {
		char method[METHOD_MAX + 1];
		text_copy(method, sizeof(method), e->method, strnlen(e->method, METHOD_MAX));
		member_string(&l, f, NAME("method"), method);
	} else {
		member_string(&l, f, NAME("method"), NULL);
	}
	/* Unmatched paths are never logged: they may hold anything a client sent. */
	const char *route = fa ? (fa->route ? fa->route->path : "unmatched") : NULL;
	member_string(&l, f, NAME("route"), route);
	if (e->status)
		member_int(&l, f, NAME("status"), e->status);
	else
		member_literal(&l, f, NAME("status"), NULL);
	member_int(&l, f, NAME("duration_us"), e->duration_us);
	bool partner = fa && fa->partner_id[0];
	member_string(&l, f, NAME("partner_id"), partner ? fa->partner_id : NULL);
	member_literal(&l, f, NAME("livemode"),
		       !partner       ? NULL
		       : fa->livemode ? "true"
				      : "false");
	/* A dashboard request has its partner but no key. */
	member_string(&l, f, NAME("key_prefix"),
		      partner && fa->key_prefix[0] ? fa->key_prefix : NULL);
	member_int(&l, f, NAME("bytes_out"), (int64_t)e->bytes_out);
	member_literal(&l, f, NAME("replayed"), fa && fa->replayed ? "true" : "false");
	if (e->exit_code >= 0)
		member_int(&l, f, NAME("exit_code"), e->exit_code);
	/* put() kept two bytes free for these. */
	if (f == ACCESSLOG_JSON)
		l.buf[l.len++] = '}';
	l.buf[l.len++] = '\n';
	return l.len;
}

/* Writes the n bytes at buf to fd, retrying only the part not written;
 * gives up silently on an error. */
static void write_all(int fd, const char *buf, size_t n)
{
	size_t done = 0;
	while (done < n) {
		ssize_t w = write(fd, buf + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		done += (size_t)w;
	}
}

void accesslog_write(int fd, enum accesslog_format f, const struct accesslog_entry *e)
{
	char buf[LINE_MAX_BYTES];
	size_t n = accesslog_format_line(f, e, buf, sizeof(buf));
	write_all(fd, buf, n);
}

/* A thread's buffer of lines, in the list of every thread's. */
struct batch {
	pthread_mutex_t lock; /* the owner's appends; the main loop's flush */
	struct batch *next;
	int fd;
	int64_t first_us; /* arrival time of the oldest line held */
	size_t len;
	char data[ACCESSLOG_BUFFER];
};

static pthread_mutex_t batches_lock = PTHREAD_MUTEX_INITIALIZER;
static struct batch *batches;
static _Thread_local struct batch *own_batch;
static pthread_key_t batch_key;
static pthread_once_t batch_once = PTHREAD_ONCE_INIT;

/* Writes out what b holds; b->lock is held. */
static void batch_write(struct batch *b)
{
	write_all(b->fd, b->data, b->len);
	b->len = 0;
}

/* Runs when a thread that logged exits: its lines go out, its buffer goes. */
static void batch_drop(void *p)
{
	struct batch *b = p;
	pthread_mutex_lock(&batches_lock);
	for (struct batch **at = &batches; *at; at = &(*at)->next)
		if (*at == b) {
			*at = b->next;
			break;
		}
	pthread_mutex_unlock(&batches_lock);
	pthread_mutex_lock(&b->lock);
	batch_write(b);
	pthread_mutex_unlock(&b->lock);
	pthread_mutex_destroy(&b->lock);
	free(b);
	own_batch = NULL;
}

static void batch_key_create(void)
{
	if (pthread_key_create(&batch_key, batch_drop) != 0)
		die("pthread_key_create failed");
}

/* Returns the calling thread's buffer, made on its first line. */
static struct batch *batch_own(int fd)
{
	if (own_batch)
		return own_batch;
	pthread_once(&batch_once, batch_key_create);
	struct batch *b = malloc(sizeof(*b));
	if (!b)
		die("out of memory");
	pthread_mutex_init(&b->lock, NULL);
	b->fd = fd;
	b->len = 0;
	b->first_us = 0;
	pthread_setspecific(batch_key, b);
	pthread_mutex_lock(&batches_lock);
	b->next = batches;
	batches = b;
	pthread_mutex_unlock(&batches_lock);
	own_batch = b;
	return b;
}

void accesslog_append(int fd, enum accesslog_format f, const struct accesslog_entry *e)
{
	char line[LINE_MAX_BYTES];
	size_t n = accesslog_format_line(f, e, line, sizeof(line));
	if (n == 0)
		return;
	struct batch *b = batch_own(fd);
	pthread_mutex_lock(&b->lock);
	if (b->len + n > sizeof(b->data) || b->fd != fd)
		batch_write(b);
	b->fd = fd;
	if (b->len == 0)
		b->first_us = e->time_us;
	memcpy(b->data + b->len, line, n);
	b->len += n;
	if (e->time_us - b->first_us >= ACCESSLOG_BATCH_MS * 1000)
		batch_write(b);
	pthread_mutex_unlock(&b->lock);
}

void accesslog_flush(void)
{
	pthread_mutex_lock(&batches_lock);
	for (struct batch *b = batches; b; b = b->next) {
		pthread_mutex_lock(&b->lock);
		batch_write(b);
		pthread_mutex_unlock(&b->lock);
	}
	pthread_mutex_unlock(&batches_lock);
}
