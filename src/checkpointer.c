/* checkpointer.c - the write-ahead log's checkpoints, on a thread of their
 * own (see checkpointer.h). */
#include "checkpointer.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "store/store.h"
#include "util.h"
#include "banned.h"

#define CHECKPOINT_EVERY_MS 500

struct checkpointer {
	struct store *store;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t wake; /* on CLOCK_MONOTONIC */
	bool wanted;         /* woken since the latest checkpoint began */
	bool stopping;
};

/* A full disk fails every checkpoint, twice a second. */
static struct log_limit checkpoint_failures;

static void *checkpointer_main(void *arg)
{
	struct checkpointer *k = arg;
	pthread_setname_np(pthread_self(), "checkpointer"); /* as top -H and perf show it */
	pthread_mutex_lock(&k->mu);
	while (!k->stopping) {
		if (!k->wanted) {
			struct timespec until;
			clock_gettime(CLOCK_MONOTONIC, &until);
			until.tv_nsec += CHECKPOINT_EVERY_MS * 1000000L;
			until.tv_sec += until.tv_nsec / 1000000000L;
			until.tv_nsec %= 1000000000L;
			int rc = pthread_cond_timedwait(&k->wake, &k->mu, &until);
			if (rc != 0 && rc != ETIMEDOUT)
				break;
			if (k->stopping)
				break;
		}
		k->wanted = false;
		pthread_mutex_unlock(&k->mu);
		struct err e;
		if (k->store->ops->checkpoint(k->store, &e) < 0)
			log_limited(&checkpoint_failures, "checkpoint failed: %s", e.message);
		pthread_mutex_lock(&k->mu);
	}
	pthread_mutex_unlock(&k->mu);
	return NULL;
}

struct checkpointer *checkpointer_start(struct store *s)
{
	struct checkpointer *k = calloc(1, sizeof(*k));
	if (!k)
		die("out of memory");
	k->store = s;
	pthread_mutex_init(&k->mu, NULL);
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&k->wake, &attr);
	pthread_condattr_destroy(&attr);
	if (pthread_create(&k->thread, NULL, checkpointer_main, k) != 0) {
		fprintf(stderr, "innbocks: cannot start the checkpointer thread\n");
		pthread_cond_destroy(&k->wake);
		pthread_mutex_destroy(&k->mu);
		free(k);
		return NULL;
	}
	return k;
}

void checkpointer_wal_bound(struct checkpointer *k)
{
	if (!k)
		return;
	struct err e;
	int bound = k->store->ops->wal_bound(k->store, &e);
	if (bound < 0)
		log_limited(&checkpoint_failures, "checkpoint failed: %s", e.message);
	if (bound <= 0)
		return;
	pthread_mutex_lock(&k->mu);
	k->wanted = true;
	pthread_cond_signal(&k->wake);
	pthread_mutex_unlock(&k->mu);
}

void checkpointer_stop(struct checkpointer *k)
{
	if (!k)
		return;
	pthread_mutex_lock(&k->mu);
	k->stopping = true;
	pthread_cond_signal(&k->wake);
	pthread_mutex_unlock(&k->mu);
	pthread_join(k->thread, NULL);
	pthread_cond_destroy(&k->wake);
	pthread_mutex_destroy(&k->mu);
	free(k);
}
