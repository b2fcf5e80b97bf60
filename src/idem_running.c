/* idem_running.c - the Idempotency-Keys of the requests running now: a
 * small chained hash set under one mutex (a request holds its entry from
 * admission to its answer, so the set is as large as the requests in
 * flight). */
#include "idem_running.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "banned.h"

#define SLOTS 256

struct entry {
	struct entry *next;
	char id[]; /* the scope, a newline, the key */
};

struct idem_running {
	pthread_mutex_t mu;
	struct entry *slots[SLOTS];
};

struct idem_running *idem_running_new(void)
{
	struct idem_running *r = calloc(1, sizeof(*r));
	if (!r)
		die("out of memory");
	pthread_mutex_init(&r->mu, NULL);
	return r;
}

void idem_running_free(struct idem_running *r)
{
	if (!r)
		return;
	for (int i = 0; i < SLOTS; i++)
		for (struct entry *e = r->slots[i], *next; e; e = next) {
			next = e->next;
			free(e);
		}
	pthread_mutex_destroy(&r->mu);
	free(r);
}

/* Returns a new entry for (scope, key), not yet in the set. */
static struct entry *entry_new(const char *scope, const char *key)
{
	size_t ls = strlen(scope), lk = strlen(key);
	struct entry *e = malloc(sizeof(*e) + ls + 1 + lk + 1);
	if (!e)
		die("out of memory");
	e->next = NULL;
	memcpy(e->id, scope, ls);
	e->id[ls] = '\n';
	memcpy(e->id + ls + 1, key, lk + 1);
	return e;
}

/* Returns the slot of an entry's id (djb2). */
static struct entry **slot_of(struct idem_running *r, const char *id)
{
	unsigned h = 5381;
	for (const char *p = id; *p; p++)
		h = h * 33 + (unsigned char)*p;
	return &r->slots[h % SLOTS];
}

bool idem_running_claim(struct idem_running *r, const char *scope, const char *key)
{
	struct entry *fresh = entry_new(scope, key);
	pthread_mutex_lock(&r->mu);
	struct entry **slot = slot_of(r, fresh->id);
	for (struct entry *e = *slot; e; e = e->next)
		if (strcmp(e->id, fresh->id) == 0) {
			pthread_mutex_unlock(&r->mu);
			free(fresh);
			return false;
		}
	fresh->next = *slot;
	*slot = fresh;
	pthread_mutex_unlock(&r->mu);
	return true;
}

void idem_running_release(struct idem_running *r, const char *scope, const char *key)
{
	struct entry *probe = entry_new(scope, key);
	pthread_mutex_lock(&r->mu);
	for (struct entry **at = slot_of(r, probe->id); *at; at = &(*at)->next)
		if (strcmp((*at)->id, probe->id) == 0) {
			struct entry *gone = *at;
			*at = gone->next;
			free(gone);
			break;
		}
	pthread_mutex_unlock(&r->mu);
	free(probe);
}
