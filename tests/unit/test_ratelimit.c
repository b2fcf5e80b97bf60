/* test_ratelimit.c - the in-memory token buckets (ratelimit.h): a full
 * bucket at first, one token per request, refused when empty, refilled at
 * the rate; a token given back is spendable again but never fills past the
 * burst. Times are passed in, so nothing here waits. */
#include "ratelimit.h"
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
