/* writer.c - group commit: one thread, one write transaction per batch. */
#include "writer.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "metrics.h"
#include "util.h"
#include "banned.h"

#define BATCH_MAX 256

struct queued {
	struct queued *next;
	struct ctx *c;
	writer_done_fn *done;
	void *cls;
};

struct writer {
	struct store *store;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t wake;
	struct queued *head, *tail;
	bool stopping;
};

/* Runs one batch: every call in its savepoint, one commit, then answers. */
static void run_batch(struct writer *w, struct queued *batch)
{
	struct store *s = w->store;
	struct err e;
	bool begun = s->ops->tx_begin(s, true, &e) == 0;
	size_t n = 0;
	for (struct queued *q = batch; q && begun; q = q->next, n++)
		dispatch_write_in_tx(q->c);
	if (begun)
		metrics_batch(n);
	bool committed = begun && s->ops->tx_commit(s, &e) == 0;
	while (batch) {
		struct queued *q = batch;
		batch = q->next;
		if (!committed)
			dispatch_write_failed(q->c, &e);
		else
			dispatch_committed(q->c);
		q->done(q->cls);
		free(q);
	}
	/* After the answers, so the batch's requests never wait for it. */
	if (s->ops->wal_bound(s, &e) < 0)
		fprintf(stderr, "innbocks: checkpoint failed: %s\n", e.message);
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->head && !w->stopping)
			pthread_cond_wait(&w->wake, &w->mu);
		if (!w->head)
			break;
		/* Take up to BATCH_MAX waiting calls; later arrivals form the next batch. */
		struct queued *batch = w->head, *last = batch;
		for (int n = 1; n < BATCH_MAX && last->next; n++)
			last = last->next;
		w->head = last->next;
		if (!w->head)
			w->tail = NULL;
		last->next = NULL;
		pthread_mutex_unlock(&w->mu);
		run_batch(w, batch);
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

struct writer *writer_start(struct store *s)
{
	struct writer *w = calloc(1, sizeof(*w));
	if (!w)
		die("out of memory");
	w->store = s;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->wake, NULL);
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		fprintf(stderr, "innbocks: cannot start the writer thread\n");
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->wake);
		free(w);
		return NULL;
	}
	return w;
}

void writer_submit(struct writer *w, struct ctx *c, writer_done_fn *done, void *cls)
{
	struct queued *q = calloc(1, sizeof(*q));
	if (!q)
		die("out of memory");
	*q = (struct queued){.c = c, .done = done, .cls = cls};
	pthread_mutex_lock(&w->mu);
	if (w->tail)
		w->tail->next = q;
	else
		w->head = q;
	w->tail = q;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->mu);
}

void writer_stop(struct writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stopping = true;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->wake);
	free(w);
}
