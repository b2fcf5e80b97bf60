/* test_ids.c - random ids and base62 text, SHA-256 hex, partner API keys
 * (generation, shape, hash), Bearer header parsing and scope names. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "unit.h"
#include "util.h"

static const char base62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* Returns true when s is non-empty and consists of base62 characters only. */
static bool all_base62(const char *s)
{
	return *s && strspn(s, base62) == strlen(s);
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

TEST(id_new_is_the_prefix_and_24_base62_characters)
{
	struct arena *a = arena_new();
	char *id = id_new(a, "cus_");
	CHECK_INT(strlen(id), 4 + 24);
	CHECK(strncmp(id, "cus_", 4) == 0);
	CHECK(all_base62(id + 4));
	arena_free(a);
}

TEST(id_new_sorts_by_creation_time)
{
	struct arena *a = arena_new();
	char *first = id_new(a, "cus_");
	struct timespec pause = {0, 3 * 1000000L};
	nanosleep(&pause, NULL);
	char *second = id_new(a, "cus_");
	CHECK(strcmp(first, second) < 0);
	/* Made 3 ms apart: the time parts differ, and the random parts too. */
	CHECK(strncmp(first, second, 4 + ID_TIME_CHARS) != 0);
	CHECK(strcmp(first + 4 + ID_TIME_CHARS, second + 4 + ID_TIME_CHARS) != 0);
	arena_free(a);
}

TEST(id_new_gives_10000_distinct_ids)
{
	struct arena *a = arena_new();
	enum { N = 10000 };
	char **ids = malloc(N * sizeof(*ids));
	for (int i = 0; i < N; i++)
		ids[i] = id_new(a, "evt_");
	qsort(ids, N, sizeof(*ids), compare_strings);
	int duplicates = 0;
	for (int i = 1; i < N; i++)
		duplicates += strcmp(ids[i - 1], ids[i]) == 0;
	CHECK_INT(duplicates, 0);
	free(ids);
	arena_free(a);
}

TEST(random_base62_writes_n_characters_and_a_nul)
{
	char out[18];
	memset(out, '#', sizeof(out));
	random_base62(out, 16);
	CHECK_INT(strlen(out), 16);
	CHECK(all_base62(out));
	CHECK(out[17] == '#');
}

TEST(random_base62_uses_all_62_characters)
{
	/* 6200 draws miss a given character with probability (61/62)^6200,
	 * about 1e-44: a missing one means a smaller alphabet. */
	enum { N = 6200 };
	char *s = malloc(N + 1);
	random_base62(s, N);
	CHECK(strspn(s, base62) == N);
	int missing = 0;
	for (const char *c = base62; *c; c++)
		missing += memchr(s, *c, N) == NULL;
	CHECK_INT(missing, 0);
	free(s);
}

TEST(sha256_hex_matches_the_known_vectors)
{
	char hex[65];
	sha256_hex("abc", 3, hex);
	CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha256_hex("", 0, hex);
	CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(secret_equal_compares_whole_strings)
{
	CHECK(secret_equal("ib_admin_abc", "ib_admin_abc"));
	CHECK(!secret_equal("ib_admin_abc", "ib_admin_abd"));
	CHECK(!secret_equal("ib_admin_abc", "ib_admin_ab"));
	CHECK(!secret_equal("ib_admin_ab", "ib_admin_abc"));
	CHECK(!secret_equal("", "x"));
}

/* --- partner API keys ---------------------------------------------------- */

TEST(auth_key_generate_makes_ib_live_and_32_base62_characters)
{
	struct arena *a = arena_new();
	const char *secret, *hash, *prefix;
	auth_key_generate(a, true, &secret, &hash, &prefix);
	CHECK_INT(strlen(secret), strlen("ib_live_") + 32);
	CHECK(strncmp(secret, "ib_live_", 8) == 0);
	CHECK(all_base62(secret + 8));
	arena_free(a);
}

TEST(auth_key_generate_makes_ib_test_keys_for_test_mode)
{
	struct arena *a = arena_new();
	const char *secret, *hash, *prefix;
	auth_key_generate(a, false, &secret, &hash, &prefix);
	CHECK_INT(strlen(secret), strlen("ib_test_") + 32);
	CHECK(strncmp(secret, "ib_test_", 8) == 0);
	CHECK(strncmp(prefix, "ib_test_", 8) == 0);
	CHECK(all_base62(secret + 8));
	CHECK(auth_key_well_formed(secret));
	arena_free(a);
}

TEST(auth_key_generate_hash_is_the_sha256_hex_of_the_secret)
{
	struct arena *a = arena_new();
	const char *secret, *hash, *prefix;
	char want[65];
	auth_key_generate(a, true, &secret, &hash, &prefix);
	sha256_hex(secret, strlen(secret), want);
	CHECK_STR(hash, want);
	arena_free(a);
}

TEST(auth_key_generate_prefix_begins_the_secret_without_revealing_it)
{
	struct arena *a = arena_new();
	const char *secret, *hash, *prefix;
	auth_key_generate(a, true, &secret, &hash, &prefix);
	CHECK(strlen(prefix) > strlen("ib_live_"));
	CHECK(strlen(prefix) < strlen(secret));
	CHECK(strncmp(secret, prefix, strlen(prefix)) == 0);
	arena_free(a);
}

TEST(auth_key_generate_makes_a_new_secret_each_time)
{
	struct arena *a = arena_new();
	const char *s1, *h1, *p1, *s2, *h2, *p2;
	auth_key_generate(a, true, &s1, &h1, &p1);
	auth_key_generate(a, true, &s2, &h2, &p2);
	CHECK(strcmp(s1, s2) != 0);
	CHECK(strcmp(h1, h2) != 0);
	arena_free(a);
}

TEST(auth_key_well_formed_accepts_a_generated_key)
{
	struct arena *a = arena_new();
	const char *secret, *hash, *prefix;
	auth_key_generate(a, true, &secret, &hash, &prefix);
	CHECK(auth_key_well_formed(secret));
	CHECK(auth_key_well_formed("ib_live_0123456789ABCDEFGHIJabcdefghijkl"));
	arena_free(a);
}

TEST(auth_key_well_formed_refuses_another_prefix)
{
	CHECK(!auth_key_well_formed("ib_prod_0123456789ABCDEFGHIJabcdefghijkl"));
	CHECK(!auth_key_well_formed("IB_TEST_0123456789ABCDEFGHIJabcdefghijkl"));
	CHECK(!auth_key_well_formed("IB_LIVE_0123456789ABCDEFGHIJabcdefghijkl"));
	CHECK(!auth_key_well_formed("ib_admin_0123456789ABCDEFGHIJabcdefghijk"));
	CHECK(!auth_key_well_formed("0123456789ABCDEFGHIJabcdefghijklmnopqrst"));
}

TEST(auth_key_well_formed_refuses_another_length)
{
	CHECK(!auth_key_well_formed("ib_live_0123456789ABCDEFGHIJabcdefghijk"));   /* 31 */
	CHECK(!auth_key_well_formed("ib_live_0123456789ABCDEFGHIJabcdefghijklm")); /* 33 */
	CHECK(!auth_key_well_formed("ib_live_"));
	CHECK(!auth_key_well_formed(""));
}

TEST(auth_key_well_formed_refuses_characters_outside_base62)
{
	CHECK(!auth_key_well_formed("ib_live_0123456789ABCDEFGHIJabcdefghij-l"));
	CHECK(!auth_key_well_formed("ib_live_0123456789ABCDEFGHIJabcdefghij_l"));
	CHECK(!auth_key_well_formed("ib_live_0123456789ABCDEFGHIJabcdefghij l"));
	CHECK(!auth_key_well_formed("ib_live_0123456789ABCDEFGHIJabcdefghi\xc3\xa9"));
}

/* --- the Authorization header -------------------------------------------- */

TEST(auth_bearer_returns_the_credential_after_the_scheme)
{
	const char *h = "Bearer ib_live_abc";
	CHECK_STR(auth_bearer(h), "ib_live_abc");
	CHECK(auth_bearer(h) == h + 7);
}

TEST(auth_bearer_reads_the_scheme_case_insensitively)
{
	CHECK_STR(auth_bearer("bearer ib_live_abc"), "ib_live_abc");
	CHECK_STR(auth_bearer("BEARER ib_live_abc"), "ib_live_abc");
	CHECK_STR(auth_bearer("BeArEr ib_live_abc"), "ib_live_abc");
}

TEST(auth_bearer_returns_null_without_the_bearer_scheme)
{
	CHECK(auth_bearer(NULL) == NULL);
	CHECK(auth_bearer("") == NULL);
	CHECK(auth_bearer("ib_live_abc") == NULL);
	CHECK(auth_bearer("Basic aWI6bGl2ZQ==") == NULL);
	CHECK(auth_bearer("Bearerib_live_abc") == NULL);
}

TEST(auth_bearer_returns_null_for_an_empty_credential)
{
	CHECK(auth_bearer("Bearer") == NULL);
	CHECK(auth_bearer("Bearer ") == NULL);
	CHECK(auth_bearer("Bearer    ") == NULL);
}

/* --- scopes -------------------------------------------------------------- */

TEST(scope_names_round_trip_through_scope_parse)
{
	unsigned all = 0;
	for (int i = 0; i < SCOPE_COUNT; i++) {
		unsigned bit = 1u << i;
		const char *name = auth_scope_name(bit);
		if (!CHECK(name != NULL))
			continue;
		CHECK_INT(auth_scope_parse(name), bit);
		all |= bit;
	}
	CHECK_INT(all, SCOPE_ALL);
	CHECK_STR(auth_scope_name(SCOPE_CUSTOMERS_READ), "customers:read");
	CHECK_INT(auth_scope_parse("billing:read"), SCOPE_BILLING_READ);
}

TEST(scope_name_is_null_for_anything_but_one_known_bit)
{
	CHECK(auth_scope_name(0) == NULL);
	CHECK(auth_scope_name(SCOPE_CUSTOMERS_READ | SCOPE_CUSTOMERS_WRITE) == NULL);
	CHECK(auth_scope_name(1u << SCOPE_COUNT) == NULL);
	CHECK(auth_scope_name(SCOPE_ALL) == NULL);
}

TEST(scope_list_names_every_scope_once_and_truncates_safely)
{
	char all[160], small[20];
	auth_scope_list(all, sizeof(all));
	CHECK_STR(all, "customers:read, customers:write, mail:read, mail:write, "
		       "mail_actions:write, webhooks:read, billing:read");
	auth_scope_list(small, sizeof(small));
	CHECK_STR(small, "customers:read, cus");
}

TEST(scope_parse_is_zero_for_an_unknown_name)
{
	CHECK_INT(auth_scope_parse("customers:delete"), 0);
	CHECK_INT(auth_scope_parse("customers"), 0);
	CHECK_INT(auth_scope_parse("customers:read "), 0);
	CHECK_INT(auth_scope_parse(""), 0);
}

/* Returns what time_format wrote before it formatted by hand: strftime. */
static void time_format_strftime(int64_t t, char out[21])
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

TEST(time_format_writes_what_strftime_wrote)
{
	static const int64_t edges[] = {0,
					1,
					-1,
					-86400,
					-86401,
					59,
					60,
					86399,
					86400,
					951782400 /* 2000-02-29 */,
					951868800,
					4107542400 /* 2100-02-28 */,
					4107628800,
					1795777828,
					-30610224000,
					-30610224001,
					253402300799,
					253402300800,
					-62167219200,
					68169600 /* 1972-02-29 */};
	bool ok = true;
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]) && ok; i++) {
		char got[21], want[21];
		time_format(edges[i], got);
		time_format_strftime(edges[i], want);
		ok = CHECK_STR(got, want);
	}
	uint64_t x = 88172645463325252u;
	for (int i = 0; i < 200000 && ok; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		int64_t t = (int64_t)(x % 300000000000u) - 40000000000;
		char got[21], want[21];
		time_format(t, got);
		time_format_strftime(t, want);
		ok = CHECK_STR(got, want);
	}
	/* Times of the same day one after another, then of the day before
	 * (the thread keeps the last day's date). */
	for (int64_t t = 1795777828 - 3 * 86400, i = 0; i < 20000 && ok; i++) {
		t += i % 7 == 6 ? -86400 : 1237;
		char got[21], want[21];
		time_format(t, got);
		time_format_strftime(t, want);
		ok = CHECK_STR(got, want);
	}
}

TEST(arena_memory_is_zeroed_and_aligned_when_an_arena_is_reused)
{
	/* The second arena may be the first one, kept as the thread's spare:
	 * what the first held must not show through. */
	for (int round = 0; round < 3; round++) {
		struct arena *a = arena_new();
		bool clean = true, aligned = true;
		for (size_t n = 1; n < 20000; n = n * 3 + 1) {
			unsigned char *p = arena_alloc(a, n);
			aligned = aligned && (uintptr_t)p % _Alignof(max_align_t) == 0;
			for (size_t i = 0; i < n; i++)
				clean = clean && p[i] == 0;
			memset(p, 0xA5, n);
		}
		char *big = arena_alloc(a, 100000); /* a block of its own */
		memset(big, 0x5A, 100000);
		CHECK(clean);
		CHECK(aligned);
		arena_free(a);
	}
}
