/* writer.c - group commit: one thread, one write transaction per batch. */
#include "writer.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpointer.h"
#include "metrics.h"
#include "store/store.h"
#include "util.h"
#include "banned.h"

#define BATCH_MAX 256

struct queued {
	struct queued *next;
	uint64_t arrival; /* the writer's count of calls before this one */
	struct ctx *c;
	writer_done_fn *done;
	void *cls;
	/* Set when its tenant could not be taken (a row another session holds
	 * past the lock timeout): answered with refusal, never run again. */
	bool refused;
	struct err refusal;
};

struct writer {
	struct store *store;
	struct checkpointer *checkpointer;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t wake;
	struct queued *head, *tail;
	uint64_t arrivals;
	bool stopping;
};

/* A batch's calls in the order they run: grouped by tenant
 * (dispatch_tenant(): an operator's write on a partner's objects is that
 * partner's), tenants in the order of their ids (operator calls with none
 * last), each tenant's calls in their order of arrival. */
struct batch {
	struct queued *q[BATCH_MAX];
	size_t n;
	bool set_aside; /* this run set a tenant aside: run the batch again */
	bool waited;    /* a run waited out a held tenant: wait briefly now */
};

static int by_tenant(const void *pa, const void *pb)
{
	const struct queued *a = *(struct queued *const *)pa, *b = *(struct queued *const *)pb;
	const char *ta = dispatch_tenant(a->c), *tb = dispatch_tenant(b->c);
	if (!ta != !tb)
		return ta ? -1 : 1;
	int order = ta ? strcmp(ta, tb) : 0;
	if (order)
		return order;
	return a->arrival < b->arrival ? -1 : a->arrival > b->arrival;
}

/* Sets every call of the tenant of b->q[from] (the calls after it, sorted by
 * tenant) aside, to be answered with e. */
static void refuse_tenant(struct batch *b, size_t from, const struct err *e)
{
	const char *tenant = dispatch_tenant(b->q[from]->c);
	for (size_t i = from; i < b->n; i++) {
		const char *its = dispatch_tenant(b->q[i]->c);
		if (!its || strcmp(its, tenant) != 0)
			break;
		b->q[i]->refused = true;
		b->q[i]->refusal = *e;
	}
}

/* One run of a batch, for store_tx_write(): reads every call's
 * Idempotency-Key ahead (store.h, idem_prefetch), takes each tenant before
 * its calls (tx_lock_tenant), then runs every call in its savepoint. A run
 * that lost a conflict is rolled back and run again whole. A tenant that
 * cannot be taken (its row held past the lock timeout) is set aside: its
 * calls are answered with that failure, and the others run again without
 * them (run_batch()), so one partner's held row never fails another's
 * writes; from then on a held tenant is given up on after a brief wait. */
static int batch_run(struct store *s, void *arg, struct err *e)
{
	struct batch *b = arg;
	const char *scopes[BATCH_MAX], *keys[BATCH_MAX];
	size_t key_of[BATCH_MAX] = {0}; /* the call of each key */
	bool in_use[BATCH_MAX], elsewhere[BATCH_MAX] = {false};
	int nkeys = 0;
	for (size_t i = 0; i < b->n; i++) {
		if (b->q[i]->refused)
			continue;
		keys[nkeys] = dispatch_idem_key(b->q[i]->c, &scopes[nkeys]);
		if (keys[nkeys])
			key_of[nkeys++] = i;
	}
	if (nkeys && s->ops->idem_prefetch(s, nkeys, scopes, keys, in_use, e) < 0)
		return -1;
	/* A call whose key another transaction holds (another instance runs
	 * the same request) is answered 409 from what was read ahead, at once:
	 * it takes no tenant, whose row another session may hold for seconds. */
	for (int k = 0; k < nkeys; k++)
		elsewhere[key_of[k]] = in_use[k];
	const char *held = NULL;
	for (size_t i = 0; i < b->n; i++) {
		if (b->q[i]->refused)
			continue;
		const char *tenant = elsewhere[i] ? NULL : dispatch_tenant(b->q[i]->c);
		if (tenant && (!held || strcmp(tenant, held) != 0)) {
			if (s->ops->tx_lock_tenant(s, tenant, b->waited, e) < 0) {
				if (!e->retry) {
					refuse_tenant(b, i, e);
					b->set_aside = b->waited = true;
				}
				return -1;
			}
			held = tenant;
		}
		dispatch_write_in_tx(b->q[i]->c);
	}
	return 0;
}

/* Runs one batch in one transaction, then answers every call. */
static void run_batch(struct writer *w, struct queued *list)
{
	struct store *s = w->store;
	struct batch b = {0};
	for (struct queued *q = list; q; q = q->next)
		b.q[b.n++] = q;
	qsort(b.q, b.n, sizeof(b.q[0]), by_tenant);
	struct err e;
	/* Each run that sets a tenant aside ends at once and leaves fewer
	 * tenants, so this ends; it spends none of store_tx_write()'s
	 * attempts, which are for conflicts. */
	bool committed;
	do {
		b.set_aside = false;
		committed = store_tx_write(s, batch_run, &b, &e) == 0;
	} while (!committed && b.set_aside);
	metrics_batch(b.n);
	for (size_t i = 0; i < b.n; i++) {
		struct queued *q = b.q[i];
		if (q->refused)
			dispatch_write_failed(q->c, &q->refusal);
		else if (!committed)
			dispatch_write_failed(q->c, &e);
		else
			dispatch_committed(q->c);
		q->done(q->cls);
		free(q);
	}
	/* After the answers, so the batch's requests never wait for it. */
	checkpointer_wal_bound(w->checkpointer);
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	pthread_setname_np(pthread_self(), "writer"); /* as top -H and perf show it */
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

struct writer *writer_start(struct store *s, struct checkpointer *k)
{
	struct writer *w = calloc(1, sizeof(*w));
	if (!w)
		die("out of memory");
	w->store = s;
	w->checkpointer = k;
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
	q->arrival = w->arrivals++;
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
