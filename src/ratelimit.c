/* ratelimit.c - per-key token buckets in a small chained hash table. */
#include "ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "banned.h"

#define BUCKETS 1024

struct bucket {
	struct bucket *next;
	char key_id[40];
	double tokens, updated;
	int64_t marked_used;
};

struct ratelimit {
	double rate, burst;
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

bool ratelimit_enabled(const struct ratelimit *rl)
{
	return rl->rate > 0;
}

/* Returns the bucket for key_id, creating a full one; caller holds mu. */
static struct bucket *bucket_get(struct ratelimit *rl, const char *key_id, double now)
{
	unsigned h = 5381;
	for (const char *p = key_id; *p; p++)
		h = h * 33 + (unsigned char)*p;
	struct bucket **slot = &rl->table[h % BUCKETS];
	for (struct bucket *b = *slot; b; b = b->next)
		if (strcmp(b->key_id, key_id) == 0)
			return b;
	struct bucket *b = calloc(1, sizeof(*b));
	if (!b)
		die("out of memory");
	snprintf(b->key_id, sizeof(b->key_id), "%s", key_id);
	b->tokens = rl->burst;
	b->updated = now;
	b->next = *slot;
	*slot = b;
	return b;
}

void ratelimit_spend(struct ratelimit *rl, const char *key_id, double now,
		     struct ratelimit_result *out)
{
	pthread_mutex_lock(&rl->mu);
	struct bucket *b = bucket_get(rl, key_id, now);
	if (rl->rate > 0) {
		b->tokens = fmin(rl->burst, b->tokens + (now - b->updated) * rl->rate);
		b->updated = now;
	}
	out->allowed = rl->rate <= 0 || b->tokens >= 1.0;
	if (out->allowed && rl->rate > 0)
		b->tokens -= 1.0;
	out->limit = (long)rl->burst;
	out->remaining = (long)floor(b->tokens);
	out->reset = rl->rate > 0 ? (long)ceil((rl->burst - b->tokens) / rl->rate) : 0;
	out->retry_after = out->allowed || rl->rate <= 0
				   ? 0
				   : (long)ceil((1.0 - b->tokens) / rl->rate);
	if (!out->allowed && out->retry_after < 1)
		out->retry_after = 1;
	pthread_mutex_unlock(&rl->mu);
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
