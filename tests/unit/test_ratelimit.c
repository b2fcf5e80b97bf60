/* test_ratelimit.c - the in-memory token buckets (ratelimit.h): a full
 * bucket at first, one token per request, refused when empty, refilled at
 * the rate; a token given back is spendable again but never fills past the
 * burst; keys of any length apart. And a shared limiter's way back to its
 * own buckets when the database does not answer (a stand-in store that
 * counts the calls: the database's side is the black-box suite's,
 * pg_instances.test.mjs). Times are passed in, so nothing here waits. */
#include <string.h>

#include "ratelimit.h"
#include "store/store.h"
#include "unit.h"

/* Spends one token of key at time now; returns whether it was allowed. */
static bool spend(struct ratelimit *rl, const char *key, double now)
{
	struct ratelimit_result r;
	ratelimit_spend(rl, key, now, &r);
	return r.allowed;
}

TEST(a_bucket_spends_its_burst_then_refuses_until_the_rate_refills_it)
{
	struct ratelimit *rl = ratelimit_new(1, 3);
	for (int i = 0; i < 3; i++)
		CHECK(spend(rl, "k", 100));
	struct ratelimit_result r;
	ratelimit_spend(rl, "k", 100, &r);
	CHECK(!r.allowed);
	CHECK_INT(r.retry_after, 1);
	CHECK_INT(r.remaining, 0);
	CHECK(spend(rl, "other", 100)); /* each key its own bucket */
	CHECK(spend(rl, "k", 101));     /* one second: one token */
	CHECK(!spend(rl, "k", 101));
	ratelimit_free(rl);
}

TEST(a_token_given_back_can_be_spent_again_but_never_fills_past_the_burst)
{
	struct ratelimit *rl = ratelimit_new(1.0 / 30, 2);
	CHECK(spend(rl, "k", 100));
	CHECK(spend(rl, "k", 100));
	CHECK(!spend(rl, "k", 100));
	ratelimit_refund(rl, "k", 100);
	CHECK(spend(rl, "k", 100));
	CHECK(!spend(rl, "k", 100));
	/* Given back to a full bucket, tokens are not kept. */
	for (int i = 0; i < 5; i++)
		ratelimit_refund(rl, "fresh", 100);
	CHECK(spend(rl, "fresh", 100));
	CHECK(spend(rl, "fresh", 100));
	CHECK(!spend(rl, "fresh", 100));
	ratelimit_free(rl);
}

TEST(a_rate_of_zero_limits_nothing_and_a_refund_changes_nothing)
{
	struct ratelimit *rl = ratelimit_new(0, 0);
	CHECK(!ratelimit_enabled(rl));
	ratelimit_refund(rl, "k", 100);
	for (int i = 0; i < 10; i++)
		CHECK(spend(rl, "k", 100));
	ratelimit_free(rl);
}

TEST(keys_that_differ_only_after_their_fortieth_character_have_buckets_of_their_own)
{
	struct ratelimit *rl = ratelimit_new(1.0 / 30, 1);
	const char *a = "a.rather.long.name.of.a.department@example-company.com";
	const char *b = "a.rather.long.name.of.a.department@example-company.org";
	CHECK(spend(rl, a, 100));
	CHECK(!spend(rl, a, 100));
	CHECK(spend(rl, b, 100)); /* a's attempts are not b's */
	ratelimit_free(rl);
}

/* The stand-in for a shared store: how often it was asked, and whether it
 * answers (with a bucket that always has a token). */
static int shared_calls;
static bool shared_answers;

static int shared_spend(struct store *s, const char *key_id, double rate, double burst,
			double cost, double *tokens, bool *allowed, struct err *e)
{
	(void)s, (void)rate, (void)cost, (void)e;
	CHECK(strcmp(key_id, "key:k") == 0);
	shared_calls++;
	if (!shared_answers)
		return -1;
	*tokens = burst;
	*allowed = true;
	return 0;
}

TEST(a_shared_bucket_the_database_fails_to_spend_is_kept_here_for_five_seconds)
{
	static const struct store_ops ops = {.rate_spend = shared_spend};
	struct store shared = {.ops = &ops, .shared = true};
	struct ratelimit *rl = ratelimit_new(1.0 / 30, 2);
	ratelimit_share(rl, &shared, "key");
	shared_calls = 0;
	shared_answers = true;
	CHECK(spend(rl, "k", 100));
	CHECK(spend(rl, "k", 100));
	CHECK(spend(rl, "k", 100)); /* the database's bucket, not this one */
	CHECK_INT(shared_calls, 3);
	/* It fails: this process's bucket decides, without asking again. */
	shared_answers = false;
	CHECK(spend(rl, "k", 101));
	CHECK_INT(shared_calls, 4);
	CHECK(spend(rl, "k", 102));
	CHECK(!spend(rl, "k", 103));
	ratelimit_refund(rl, "k", 104);
	CHECK_INT(shared_calls, 4);
	/* Five seconds after the failure it is asked again, and once it
	 * answers, it decides again. */
	shared_answers = true;
	CHECK(spend(rl, "k", 106));
	CHECK_INT(shared_calls, 5);
	CHECK(spend(rl, "k", 106));
	CHECK_INT(shared_calls, 6);
	ratelimit_free(rl);
}
