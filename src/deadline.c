/* deadline.c - fixed deadlines for slow clients (see deadline.h).
 *
 * Each connection's state is one atomic word: the phase in the low bits and
 * the monotonic millisecond it is due in the rest, so the HTTP threads move
 * it on without a lock, and the sweeper claims an expired one with a
 * compare-and-swap that fails if the request moved on meanwhile.
 *
 * The sweeper touches a socket only under the list mutex, and a connection
 * leaves the list (deadline_close, from MHD's "closed" notification) before
 * libmicrohttpd closes its socket: so the descriptor it writes to and shuts
 * down is never one the kernel has handed to another connection. */
#include "deadline.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "resp.h"
#include "util.h"
#include "banned.h"

/* How often the sweeper looks: deadlines are kept to within this. */
#define SWEEP_MS 200

enum phase {
	PHASE_NONE,    /* being answered */
	PHASE_HEAD,    /* waiting for a request head */
	PHASE_BODY,    /* waiting for the rest of a body */
	PHASE_EXPIRED, /* claimed by the sweeper: being closed */
};

#define STATE(due_ms, phase) ((due_ms)*4 + (phase))
#define STATE_PHASE(s) ((enum phase)((s) % 4))
#define STATE_DUE(s) ((s) / 4)

struct deadline {
	int fd;
	_Atomic int64_t state;
	struct deadline *prev, *next;
};

struct deadlines {
	int head_ms, body_ms;
	pthread_mutex_t lock; /* guards the list and every socket use */
	pthread_cond_t wake;
	bool stopping;
	struct deadline *list;
	pthread_t sweeper;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Moves d to state s unless the sweeper has claimed it; returns whether
 * it moved. */
static bool move(struct deadline *d, int64_t s)
{
	int64_t cur = atomic_load(&d->state);
	while (STATE_PHASE(cur) != PHASE_EXPIRED) {
		if (atomic_compare_exchange_weak(&d->state, &cur, s))
			return true;
	}
	return false;
}

/* Answers a late body with a 408 in the error envelope (resp_error, like
 * every other answer). Nothing else has been written for this request, and
 * the socket is closed right after. */
static void answer_late_body(int fd, int body_ms)
{
	struct arena *a = arena_new();
	const char *id = id_new(a, "req_");
	struct err e;
	error(&e, 408, "invalid_request", NULL,
	      "the request body did not arrive within %g s; send the whole body promptly",
	      body_ms / 1000.0);
	struct response r = {0};
	resp_error(&r, &e, id);
	char head[256];
	int m = snprintf(head, sizeof(head),
			 "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n"
			 "Content-Type: application/json; charset=utf-8\r\nX-Request-Id: %s\r\n"
			 "Content-Length: %zu\r\n\r\n",
			 id, r.body_len);
	/* The socket is non-blocking and its send buffer empty: one call each. */
	if (m > 0 && (size_t)m < sizeof(head) &&
	    send(fd, head, (size_t)m, MSG_NOSIGNAL | MSG_DONTWAIT) == m)
		(void)send(fd, r.body, r.body_len, MSG_NOSIGNAL | MSG_DONTWAIT);
	resp_free(&r);
	arena_free(a);
}

/* Closes every connection whose deadline has passed; call with the lock. */
static void sweep(struct deadlines *ds)
{
	int64_t now = now_ms();
	for (struct deadline *d = ds->list; d; d = d->next) {
		int64_t s = atomic_load(&d->state);
		enum phase ph = STATE_PHASE(s);
		if ((ph != PHASE_HEAD && ph != PHASE_BODY) || STATE_DUE(s) > now ||
		    !atomic_compare_exchange_strong(&d->state, &s, STATE(0, PHASE_EXPIRED)))
			continue;
		if (ph == PHASE_BODY)
			answer_late_body(d->fd, ds->body_ms);
		/* MHD sees the end of the stream and closes the connection. */
		shutdown(d->fd, SHUT_RDWR);
	}
}

static void *sweeper_main(void *arg)
{
	struct deadlines *ds = arg;
	pthread_setname_np(pthread_self(), "deadlines"); /* as top -H and perf show it */
	pthread_mutex_lock(&ds->lock);
	while (!ds->stopping) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += SWEEP_MS * 1000000L;
		until.tv_sec += until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		int rc = pthread_cond_timedwait(&ds->wake, &ds->lock, &until);
		if (rc != 0 && rc != ETIMEDOUT)
			break;
		sweep(ds);
	}
	pthread_mutex_unlock(&ds->lock);
	return NULL;
}

struct deadlines *deadlines_start(int head_ms, int body_ms)
{
	struct deadlines *ds = calloc(1, sizeof(*ds));
	if (!ds)
		die("out of memory");
	ds->head_ms = head_ms;
	ds->body_ms = body_ms;
	pthread_mutex_init(&ds->lock, NULL);
	pthread_cond_init(&ds->wake, NULL);
	if (pthread_create(&ds->sweeper, NULL, sweeper_main, ds) != 0) {
		fprintf(stderr, "innbocks: cannot start the deadline sweeper\n");
		pthread_cond_destroy(&ds->wake);
		pthread_mutex_destroy(&ds->lock);
		free(ds);
		return NULL;
	}
	return ds;
}

void deadlines_stop(struct deadlines *ds)
{
	if (!ds)
		return;
	pthread_mutex_lock(&ds->lock);
	ds->stopping = true;
	pthread_cond_signal(&ds->wake);
	pthread_mutex_unlock(&ds->lock);
	pthread_join(ds->sweeper, NULL);
	while (ds->list) {
		struct deadline *d = ds->list;
		ds->list = d->next;
		free(d);
	}
	pthread_cond_destroy(&ds->wake);
	pthread_mutex_destroy(&ds->lock);
	free(ds);
}

struct deadline *deadline_open(struct deadlines *ds, int fd)
{
	struct deadline *d = calloc(1, sizeof(*d));
	if (!d)
		die("out of memory");
	d->fd = fd;
	atomic_init(&d->state, STATE(now_ms() + ds->head_ms, PHASE_HEAD));
	pthread_mutex_lock(&ds->lock);
	d->next = ds->list;
	if (ds->list)
		ds->list->prev = d;
	ds->list = d;
	pthread_mutex_unlock(&ds->lock);
	return d;
}

void deadline_close(struct deadlines *ds, struct deadline *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&ds->lock);
	if (d->prev)
		d->prev->next = d->next;
	else
		ds->list = d->next;
	if (d->next)
		d->next->prev = d->prev;
	pthread_mutex_unlock(&ds->lock);
	free(d);
}

void deadline_body(struct deadlines *ds, struct deadline *d)
{
	if (d)
		move(d, STATE(now_ms() + ds->body_ms, PHASE_BODY));
}

bool deadline_none(struct deadline *d)
{
	return !d || move(d, STATE(0, PHASE_NONE));
}

void deadline_head(struct deadlines *ds, struct deadline *d)
{
	if (d)
		move(d, STATE(now_ms() + ds->head_ms, PHASE_HEAD));
}
