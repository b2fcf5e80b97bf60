/* hasher.c - a fixed pool of threads taking jobs from one queue. */
#include "hasher.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "util.h"
#include "banned.h"

#define HASHER_MAX_THREADS 8

struct job {
	struct job *next;
	hasher_fn *fn;
	void *cls;
};

struct hasher {
	pthread_t threads[HASHER_MAX_THREADS];
	int nthreads;
	pthread_mutex_t mu;
	pthread_cond_t wake;
	struct job *head, *tail;
	bool stopping;
};

static void *hasher_main(void *arg)
{
	struct hasher *h = arg;
	pthread_setname_np(pthread_self(), "hasher"); /* as top -H and perf show it */
	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (!h->head && !h->stopping)
			pthread_cond_wait(&h->wake, &h->mu);
		struct job *j = h->head;
		if (!j)
			break;
		h->head = j->next;
		if (!h->head)
			h->tail = NULL;
		pthread_mutex_unlock(&h->mu);
		j->fn(j->cls);
		free(j);
		pthread_mutex_lock(&h->mu);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

struct hasher *hasher_start(int nthreads)
{
	struct hasher *h = calloc(1, sizeof(*h));
	if (!h)
		die("out of memory");
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->wake, NULL);
	if (nthreads > HASHER_MAX_THREADS)
		nthreads = HASHER_MAX_THREADS;
	for (int i = 0; i < nthreads; i++) {
		if (pthread_create(&h->threads[i], NULL, hasher_main, h) != 0) {
			fprintf(stderr,
				"innbocks: cannot start the password-hashing threads\n");
			hasher_stop(h);
			return NULL;
		}
		h->nthreads++;
	}
	return h;
}

void hasher_submit(struct hasher *h, hasher_fn *fn, void *cls)
{
	struct job *j = calloc(1, sizeof(*j));
	if (!j)
		die("out of memory");
	*j = (struct job){.fn = fn, .cls = cls};
	pthread_mutex_lock(&h->mu);
	if (h->tail)
		h->tail->next = j;
	else
		h->head = j;
	h->tail = j;
	pthread_cond_signal(&h->wake);
	pthread_mutex_unlock(&h->mu);
}

void hasher_stop(struct hasher *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->mu);
	h->stopping = true;
	pthread_cond_broadcast(&h->wake);
	pthread_mutex_unlock(&h->mu);
	for (int i = 0; i < h->nthreads; i++)
		pthread_join(h->threads[i], NULL);
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->wake);
	free(h);
}
