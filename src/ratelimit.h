/* ratelimit.h - per-key token buckets (docs/api.md#rate-limits). State is
 * in memory, per server process, unless it is shared through the database
 * (ratelimit_share(): several instances on one PostgreSQL). */
#ifndef INNBOCKS_RATELIMIT_H
#define INNBOCKS_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct ratelimit;
struct store;

struct ratelimit_result {
	bool allowed;
	long limit;       /* RateLimit-Limit: the bucket size (burst) */
	long remaining;   /* RateLimit-Remaining: whole requests left now */
	long reset;       /* RateLimit-Reset: seconds until the bucket is full */
	long retry_after; /* Retry-After when refused: seconds until one token */
};

/* Returns a limiter allowing rate requests per second with bursts of burst;
 * rate 0 turns limiting off. Freed with ratelimit_free(). */
struct ratelimit *ratelimit_new(double rate, double burst);
/* Frees the limiter. Accepts NULL. */
void ratelimit_free(struct ratelimit *rl);
/* Keeps rl's buckets in s (store.h: rate_spend) rather than in this
 * process, so every process serving the database spends from the same
 * bucket per key; name (a static string) keeps this limiter's buckets apart
 * from other limiters' in the same table. s is borrowed and must outlive
 * rl. */
void ratelimit_share(struct ratelimit *rl, struct store *s, const char *name);
/* Returns false when limiting is off (no headers are sent then). */
bool ratelimit_enabled(const struct ratelimit *rl);
/* Spends one token of key_id's bucket at monotonic time now (seconds), when it
 * has one, and fills out; thread-safe. A shared limiter asks the database
 * (whose clock then counts, not now); when that fails, this process's own
 * bucket decides, for that key's requests of the next few seconds too. */
void ratelimit_spend(struct ratelimit *rl, const char *key_id, double now,
		     struct ratelimit_result *out);
/* Gives back the token a request spent from key_id's bucket (up to the
 * burst): what it was spent on turned out not to count (a correct
 * password). */
void ratelimit_refund(struct ratelimit *rl, const char *key_id, double now);
/* Returns true (and remembers t) when key_id's last_used_at was last
 * written by this process more than a minute before wall time t, so a busy
 * key costs one write a minute rather than one per request. */
bool ratelimit_touch_due(struct ratelimit *rl, const char *key_id, int64_t t);

#endif
