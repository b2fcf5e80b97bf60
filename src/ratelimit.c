/* ratelimit.c - per-key token buckets in a small chained hash table, or in
 * the database when several processes share it. */
#include "ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "util.h"
#include "banned.h"

#define BUCKETS 1024
/* After a shared bucket's database failed to answer (a row another session
 * holds waited out, a connection lost), this process's bucket decides for
 * that key for this long: a held row then costs one brief lock wait per key
 * and period, not one per request on every HTTP thread. */
#define SHARED_RETRY_S 5.0

struct bucket {
	struct bucket *next;
	double tokens, updated;
	double local_until; /* monotonic time until which a shared limiter decides here */
	int64_t marked_used;
	char key_id[]; /* a key id, an email address or a client address */
};

struct ratelimit {
	double rate, burst;
	struct store *shared; /* the buckets' home when not NULL (borrowed) */
	const char *name;     /* the shared buckets' prefix */
	pthread_mutex_t mu;
	struct bucket *table[BUCKETS];
};

struct ratelimit *ratelimit_new(double rate, double burst)
{
	struct ratelimit *rl = calloc(1, sizeof(*rl));
	if (!rl)
		die("out of memory");
	rl->rate = rate;
	rl->burst = burst < 1 ? 1 : burst;
	pthread_mutex_init(&rl->mu, NULL);
	return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
	if (!rl)
		return;
	for (int i = 0; i < BUCKETS; i++) {
		struct bucket *b = rl->table[i];
		while (b) {
			struct bucket *next = b->next;
			free(b);
			b = next;
		}
	}
	pthread_mutex_destroy(&rl->mu);
	free(rl);
}

void ratelimit_share(struct ratelimit *rl, struct store *s, const char *name)
{
	rl->shared = s;
	rl->name = name;
}

bool ratelimit_enabled(const struct ratelimit *rl)
{
	return rl->rate > 0;
}

/* Returns the bucket for key_id, creating a full one; caller holds mu. */
static struct bucket *bucket_get(struct ratelimit *rl, const char *key_id, double now)
{
	struct bucket **slot = &rl->table[text_hash(TEXT_HASH_START, key_id) % BUCKETS];
	for (struct bucket *b = *slot; b; b = b->next)
		if (strcmp(b->key_id, key_id) == 0)
			return b;
	size_t len = strlen(key_id);
	struct bucket *b = calloc(1, sizeof(*b) + len + 1);
	if (!b)
		die("out of memory");
	memcpy(b->key_id, key_id, len + 1);
	b->tokens = rl->burst;
	b->updated = now;
	b->next = *slot;
	*slot = b;
	return b;
}

/* Fills out from a bucket left with tokens after a request that did (or,
 * refused, did not) spend one. */
static void result_fill(const struct ratelimit *rl, double tokens, bool allowed,
			struct ratelimit_result *out)
{
	out->allowed = allowed;
	out->limit = (long)rl->burst;
	out->remaining = (long)floor(tokens);
	out->reset = rl->rate > 0 ? (long)ceil((rl->burst - tokens) / rl->rate) : 0;
	out->retry_after = allowed || rl->rate <= 0 ? 0 : (long)ceil((1.0 - tokens) / rl->rate);
	if (!allowed && out->retry_after < 1)
		out->retry_after = 1;
}

/* Spends cost tokens of key_id's shared bucket in the database and fills
 * out; returns false (out untouched) when the database did not answer. */
static bool take_shared(struct ratelimit *rl, const char *key_id, double cost,
			struct ratelimit_result *out)
{
	double tokens;
	bool allowed;
	struct err e;
	char bucket[320]; /* a name, and a key id, an email address or a client address */
	snprintf(bucket, sizeof(bucket), "%s:%s", rl->name, key_id);
	if (rl->shared->ops->rate_spend(rl->shared, bucket, rl->rate, rl->burst, cost, &tokens,
					&allowed, &e) < 0)
		return false;
	result_fill(rl, tokens, allowed, out);
	return true;
}

/* Spends cost tokens of key_id's bucket (-1: gives one back, up to the
 * burst), in the database when rl is shared, and fills out. */
static void take(struct ratelimit *rl, const char *key_id, double now, double cost,
		 struct ratelimit_result *out)
{
	bool shared = rl->shared && rl->rate > 0;
	if (shared) {
		pthread_mutex_lock(&rl->mu);
		bool ask = now >= bucket_get(rl, key_id, now)->local_until;
		pthread_mutex_unlock(&rl->mu);
		if (ask && take_shared(rl, key_id, cost, out))
			return;
		/* The database did not answer (now, or a moment ago): the
		 * request most likely fails on it next; meanwhile this
		 * process's bucket limits it. */
	}
	pthread_mutex_lock(&rl->mu);
	struct bucket *b = bucket_get(rl, key_id, now);
	if (shared && now >= b->local_until)
		b->local_until = now + SHARED_RETRY_S;
	if (rl->rate > 0) {
		b->tokens = fmin(rl->burst, b->tokens + (now - b->updated) * rl->rate);
		b->updated = now;
	}
	bool allowed = rl->rate <= 0 || b->tokens >= cost;
	if (allowed && rl->rate > 0)
		b->tokens = fmin(rl->burst, b->tokens - cost);
	result_fill(rl, b->tokens, allowed, out);
	pthread_mutex_unlock(&rl->mu);
}

void ratelimit_spend(struct ratelimit *rl, const char *key_id, double now,
		     struct ratelimit_result *out)
{
	take(rl, key_id, now, 1, out);
}

void ratelimit_refund(struct ratelimit *rl, const char *key_id, double now)
{
	struct ratelimit_result ignored;
	take(rl, key_id, now, -1, &ignored);
}

bool ratelimit_touch_due(struct ratelimit *rl, const char *key_id, int64_t t)
{
	pthread_mutex_lock(&rl->mu);
	struct bucket *b = bucket_get(rl, key_id, monotonic_seconds());
	bool due = t - b->marked_used >= 60;
	if (due)
		b->marked_used = t;
	pthread_mutex_unlock(&rl->mu);
	return due;
}
