/* util.c - the request arena, clocks, random ids, hashing, UTF-8 length. */
#include "util.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistr.h>

#include "banned.h"

#define ARENA_BLOCK 8192

struct arena_block {
	struct arena_block *next;
	size_t used, size;
	max_align_t data[];
};

/* The arena and its first block are one allocation; an arena that is
 * freed keeps its first block as its thread's spare, which the next
 * arena_new() of the thread takes: a request's arena then costs no malloc.
 * Under AddressSanitizer every arena is really freed, so a use after
 * arena_free() is still caught. */
struct arena {
	struct arena_block *head;
	struct arena_block *first; /* follows the header, ARENA_BLOCK bytes */
};

#define ARENA_HEADER \
	((sizeof(struct arena) + sizeof(max_align_t) - 1) / sizeof(max_align_t) * \
	 sizeof(max_align_t))

#if defined(__SANITIZE_ADDRESS__)
#define ARENA_SPARE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_SPARE 0
#endif
#endif
#ifndef ARENA_SPARE
#define ARENA_SPARE 1
#endif

static _Thread_local struct arena *arena_spare;
static _Thread_local bool arena_spare_registered;
static pthread_key_t arena_spare_key;
static pthread_once_t arena_spare_once = PTHREAD_ONCE_INIT;

/* Runs when a thread exits, with its arena_spare's address. */
static void arena_spare_drop(void *slot)
{
	struct arena **spare = slot;
	free(*spare);
	*spare = NULL;
}

static void arena_spare_key_create(void)
{
	if (pthread_key_create(&arena_spare_key, arena_spare_drop) != 0)
		die("pthread_key_create failed");
}

_Noreturn void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("innbocks: fatal: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

struct arena *arena_new(void)
{
	struct arena *a = arena_spare;
	if (a) {
		arena_spare = NULL;
		return a;
	}
	a = malloc(ARENA_HEADER + sizeof(struct arena_block) + ARENA_BLOCK);
	if (!a)
		die("out of memory");
	a->first = (struct arena_block *)(void *)((char *)a + ARENA_HEADER);
	*a->first = (struct arena_block){.size = ARENA_BLOCK};
	a->head = a->first;
	return a;
}

void arena_free(struct arena *a)
{
	if (!a)
		return;
	struct arena_block *b = a->head;
	while (b != a->first) {
		struct arena_block *next = b->next;
		free(b);
		b = next;
	}
	if (!ARENA_SPARE || arena_spare) {
		free(a);
		return;
	}
	if (!arena_spare_registered) {
		/* So that the spare is freed when the thread exits. */
		pthread_once(&arena_spare_once, arena_spare_key_create);
		pthread_setspecific(arena_spare_key, &arena_spare);
		arena_spare_registered = true;
	}
	a->first->used = 0;
	a->head = a->first;
	arena_spare = a;
}

/* Room for n bytes in the arena, aligned, not zeroed. */
static void *arena_take(struct arena *a, size_t n)
{
	size_t align = sizeof(max_align_t);
	n = (n + align - 1) / align * align;
	struct arena_block *b = a->head;
	if (b->size - b->used < n) {
		size_t size = n > ARENA_BLOCK ? n : ARENA_BLOCK;
		b = malloc(sizeof(*b) + size);
		if (!b)
			die("out of memory");
		b->size = size;
		b->used = 0;
		b->next = a->head;
		a->head = b;
	}
	void *p = (char *)b->data + b->used;
	b->used += n;
	return p;
}

void *arena_alloc(struct arena *a, size_t n)
{
	return memset(arena_take(a, n), 0, n);
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	/* Not zeroed first: every byte is written. */
	char *p = arena_take(a, n + 1);
	if (n)
		memcpy(p, s, n); /* s may be NULL when n is 0 (an empty SQLite blob) */
	p[n] = '\0';
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return s ? arena_strndup(a, s, strlen(s)) : NULL;
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap, ap2;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		die("bad format");
	char *p = arena_alloc(a, (size_t)n + 1);
	vsnprintf(p, (size_t)n + 1, fmt, ap2);
	va_end(ap2);
	return p;
}

void log_limited(struct log_limit *l, const char *fmt, ...)
{
	int64_t now = (int64_t)(monotonic_seconds() * 1000);
	int64_t next = atomic_load(&l->next_ms);
	if (now < next || !atomic_compare_exchange_strong(&l->next_ms, &next, now + 1000)) {
		atomic_fetch_add(&l->dropped, 1);
		return;
	}
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	long dropped = atomic_exchange(&l->dropped, 0);
	if (dropped)
		fprintf(stderr, "innbocks: %s (and %ld more since the last such line)\n", line,
			dropped);
	else
		fprintf(stderr, "innbocks: %s\n", line);
}

int64_t now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

double monotonic_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "00" to "99": a time's fields are written two digits at a time. */
static const char digit_pairs[] = "00010203040506070809"
				  "10111213141516171819"
				  "20212223242526272829"
				  "30313233343536373839"
				  "40414243444546474849"
				  "50515253545556575859"
				  "60616263646566676869"
				  "70717273747576777879"
				  "80818283848586878889"
				  "90919293949596979899";

static void two_digits(char *out, int64_t v)
{
	memcpy(out, digit_pairs + 2 * v, 2);
}

/* The date of the last day a thread wrote: the times a request renders are
 * mostly of a few days, and the civil date is most of a time's work. */
static _Thread_local int64_t last_day = INT64_MIN;
static _Thread_local char last_date[10];

static void date_digits(int64_t days, char out[10])
{
	if (days == last_day) {
		memcpy(out, last_date, 10);
		return;
	}
	/* Days to a civil date: Howard Hinnant's civil_from_days. */
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t d = doy - (153 * mp + 2) / 5 + 1;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;
	int64_t y = yoe + era * 400 + (m <= 2);
	two_digits(out, y / 100);
	two_digits(out + 2, y % 100);
	out[4] = '-';
	two_digits(out + 5, m);
	out[7] = '-';
	two_digits(out + 8, d);
	memcpy(last_date, out, 10);
	last_day = days;
}

bool time_digits(int64_t t, char out[19])
{
	/* 1000-01-01T00:00:00Z to 9999-12-31T23:59:59Z. */
	if (t < -30610224000 || t > 253402300799)
		return false;
	int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
	int64_t secs = t - days * 86400;
	date_digits(days, out);
	out[10] = 'T';
	two_digits(out + 11, secs / 3600);
	out[13] = ':';
	two_digits(out + 14, secs / 60 % 60);
	out[16] = ':';
	two_digits(out + 17, secs % 60);
	return true;
}

size_t int_text(int64_t v, char out[21])
{
	char tmp[20];
	char *end = tmp + sizeof(tmp), *p = end;
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	size_t n = 0;
	if (v < 0)
		out[n++] = '-';
	memcpy(out + n, p, (size_t)(end - p));
	n += (size_t)(end - p);
	out[n] = '\0';
	return n;
}

size_t text_copy(char *out, size_t size, const char *s, size_t n)
{
	if (n >= size)
		n = size - 1;
	memcpy(out, s, n);
	out[n] = '\0';
	return n;
}

void time_format(int64_t t, char out[21])
{
	/* By hand: glibc's gmtime_r takes the time-zone lock, and strftime is
	 * a formatter's work, three times for every customer rendered. */
	if (time_digits(t, out)) {
		out[19] = 'Z';
		out[20] = '\0';
		return;
	}
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* In ASCII order, so that base62 numbers of equal length sort as numbers. */
static const char base62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* Each thread keeps a pool of bytes from the CSPRNG: an id then costs no
 * RAND_bytes call (with its locks and fork check). A byte is wiped as it is
 * handed out, so the pool never holds what earlier secrets were made of. */
#define RANDOM_POOL 512
static _Thread_local unsigned char random_pool[RANDOM_POOL];
static _Thread_local size_t random_left;

static unsigned char random_byte(void)
{
	if (!random_left) {
		if (RAND_bytes(random_pool, RANDOM_POOL) != 1)
			die("RAND_bytes failed");
		random_left = RANDOM_POOL;
	}
	unsigned char b = random_pool[--random_left];
	random_pool[random_left] = 0;
	return b;
}

void random_bytes(void *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		((unsigned char *)out)[i] = random_byte();
}

void random_base62(char *out, size_t n)
{
	for (size_t i = 0; i < n;) {
		/* 248 = 4 * 62: rejecting bytes above it keeps every letter equally
		 * likely. */
		unsigned char b = random_byte();
		if (b < 248)
			out[i++] = base62[b % 62];
	}
	out[n] = '\0';
}

char *id_new(struct arena *a, const char *prefix)
{
	size_t plen = strlen(prefix);
	char *id = arena_alloc(a, plen + ID_TIME_CHARS + ID_RANDOM_CHARS + 1);
	memcpy(id, prefix, plen);
	/* Milliseconds since 1970 in ID_TIME_CHARS base62 digits (enough until
	 * the year 8900), most significant first: newer ids sort after older
	 * ones, so inserts append at the right edge of every id index. */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
	for (int i = ID_TIME_CHARS - 1; i >= 0; i--) {
		id[plen + (size_t)i] = base62[ms % 62];
		ms /= 62;
	}
	random_base62(id + plen + ID_TIME_CHARS, ID_RANDOM_CHARS);
	return id;
}

static EVP_MD *sha256_md;

static void sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!sha256_md)
		die("SHA-256 is not available");
}

void sha256(const void *data, size_t len, unsigned char out[32])
{
	/* Fetched once: OpenSSL 3 looks the algorithm up on every implicit use. */
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, sha256_fetch);
	unsigned int mdlen = 0;
	if (EVP_Digest(data, len, out, &mdlen, sha256_md, NULL) != 1)
		die("SHA-256 failed");
}

void sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];
	sha256(data, len, md);
	hex_encode(md, 32, out);
}

void ipv4_text(const unsigned char addr[4], char out[16])
{
	for (int i = 0; i < 4; i++) {
		unsigned v = addr[i];
		if (v >= 100)
			*out++ = (char)('0' + v / 100);
		if (v >= 10)
			*out++ = (char)('0' + v / 10 % 10);
		*out++ = (char)('0' + v % 10);
		*out++ = i < 3 ? '.' : '\0';
	}
}

void hex_encode(const unsigned char *bytes, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 15];
	}
	out[2 * n] = '\0';
}

bool secret_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la != lb)
		return false;
	return CRYPTO_memcmp(a, b, la) == 0;
}

void utf8_make_valid(char *s)
{
	size_t n = strlen(s);
	uint8_t *u = (uint8_t *)s;
	const uint8_t *bad;
	while ((bad = u8_check(u, n))) {
		size_t at = (size_t)(bad - u);
		ucs4_t uc;
		if (u8_mbtoucr(&uc, bad, n - at) == -2) {
			s[at] = '\0'; /* an incomplete last character: cut before it */
			return;
		}
		s[at] = '?';
	}
}

size_t utf8_length(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

uint64_t text_hash(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}
