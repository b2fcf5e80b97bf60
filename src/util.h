/* util.h - small shared pieces: the request arena, clocks, random ids,
 * hashing and UTF-8 length. Nothing here knows about HTTP or storage. */
#ifndef INNBOCKS_UTIL_H
#define INNBOCKS_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A bump allocator that lives as long as one request (or one command).
 * Everything allocated from it dies with arena_free(). */
struct arena;

/* Returns a new empty arena (its first 8 KiB come with it); the caller
 * frees it with arena_free(). */
struct arena *arena_new(void);
/* Frees the arena and everything allocated from it. Accepts NULL. */
void arena_free(struct arena *a);
/* Returns n zeroed bytes owned by the arena. Aborts on out-of-memory. */
void *arena_alloc(struct arena *a, size_t n);
/* Returns a NUL-terminated copy of s (NULL stays NULL), owned by the arena. */
char *arena_strdup(struct arena *a, const char *s);
/* Returns a copy of the n bytes at s plus a NUL, owned by the arena. */
char *arena_strndup(struct arena *a, const char *s, size_t n);
/* Returns a printf-formatted string owned by the arena. */
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A storage fault's line on stderr, written at most once a second: a full
 * disk or a database that is down fails every request, and a line for each
 * would flood the journal (often on the same disk). Zero-initialised;
 * static at each place that logs. */
struct log_limit {
	_Atomic int64_t next_ms; /* when the next line may be written */
	_Atomic long dropped;    /* lines left out since the last one */
};
/* Writes "innbocks: <message>" to stderr unless a line went through l less
 * than a second ago; the next line that goes through says how many did not. */
void log_limited(struct log_limit *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Returns the current wall-clock time in whole Unix seconds. */
int64_t now_seconds(void);
/* Returns the monotonic clock in seconds, for durations and rates. */
double monotonic_seconds(void);
/* Writes t as RFC 3339 UTC ("2026-11-27T11:10:28Z") into out (>= 21 bytes). */
void time_format(int64_t t, char out[21]);
/* Writes the date and time of day of t (Unix seconds, UTC; years 1000 to
 * 9999, where strftime's %Y has four digits too) as "YYYY-MM-DDTHH:MM:SS"
 * into out[0..18], no NUL. Returns false, writing nothing, for a t outside
 * those years. */
bool time_digits(int64_t t, char out[19]);

/* Writes v in decimal and a NUL into out; returns its length. For the
 * numbers written on every request, where snprintf("%ld") is a
 * formatter's work. */
size_t int_text(int64_t v, char out[21]);

/* Copies the first n bytes of s (fewer when size is smaller) into out,
 * size > 0 bytes, and a NUL; returns the length copied. For the fixed
 * fields filled on every request, where snprintf("%s") is a formatter's
 * work. */
size_t text_copy(char *out, size_t size, const char *s, size_t n);
/* FNV-1a over the bytes of s, going on from h (TEXT_HASH_START for a new
 * hash): the key of the in-process tables (statements, buckets, keys). */
#define TEXT_HASH_START 14695981039346656037ULL
uint64_t text_hash(uint64_t h, const char *s);

/* Fills out with n random base62 characters and a NUL (out has n+1 bytes).
 * Uses OpenSSL's CSPRNG (through a per-thread pool); aborts if it fails. */
void random_base62(char *out, size_t n);

/* Fills out with n bytes from the same per-thread pool of the CSPRNG. */
void random_bytes(void *out, size_t n);

/* An id is its prefix, the creation time in ID_TIME_CHARS base62 digits,
 * then ID_RANDOM_CHARS random base62 characters (95 random bits). */
#define ID_TIME_CHARS 8
#define ID_RANDOM_CHARS 16
/* Returns "<prefix><time><random>" (24 characters after the prefix), owned
 * by the arena; ids made later sort after earlier ones (to the millisecond). */
char *id_new(struct arena *a, const char *prefix);

/* Writes the IPv4 address of the 4 bytes at addr (network order) into out
 * with its NUL, as inet_ntop() does ("192.0.2.1") but without the printf it
 * runs for every request's access log line. */
void ipv4_text(const unsigned char addr[4], char out[16]);

/* Writes the n bytes as 2n lowercase hex digits and a NUL into out. */
void hex_encode(const unsigned char *bytes, size_t n, char *out);
/* Writes the SHA-256 of the len bytes at data into out. */
void sha256(const void *data, size_t len, unsigned char out[32]);
/* Writes the lowercase hex SHA-256 of the len bytes at data into out. */
void sha256_hex(const void *data, size_t len, char out[65]);
/* Returns true when a and b (NUL-terminated) are equal, in constant time
 * for equal lengths. */
bool secret_equal(const char *a, const char *b);

/* Returns the number of code points in the valid UTF-8 string s. */
size_t utf8_length(const char *s);
/* Makes the string s valid UTF-8 in place (libunistring checks it): a
 * sequence cut off at the end is dropped, any other invalid byte becomes
 * '?'. For text echoed back to clients, which may be any bytes. */
void utf8_make_valid(char *s);

/* Aborts with a message; for out-of-memory and broken invariants only. */
_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
