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

/* Returns the slot of (scope, key). */
static struct entry **slot_of(struct idem_running *r, const char *scope, const char *key)
{
	uint64_t h = text_hash(text_hash(text_hash(TEXT_HASH_START, scope), "\n"), key);
	return &r->slots[h % SLOTS];
}

/* Returns whether id is (scope, key). */
static bool id_is(const char *id, const char *scope, const char *key)
{
	size_t ls = strlen(scope);
	return strncmp(id, scope, ls) == 0 && id[ls] == '\n' && strcmp(id + ls + 1, key) == 0;
}

bool idem_running_claim(struct idem_running *r, const char *scope, const char *key)
{
	pthread_mutex_lock(&r->mu);
	struct entry **slot = slot_of(r, scope, key);
	for (struct entry *e = *slot; e; e = e->next)
		if (id_is(e->id, scope, key)) {
			pthread_mutex_unlock(&r->mu);
			return false;
		}
	size_t ls = strlen(scope), lk = strlen(key);
	struct entry *fresh = malloc(sizeof(*fresh) + ls + 1 + lk + 1);
	if (!fresh)
		die("out of memory");
	memcpy(fresh->id, scope, ls);
	fresh->id[ls] = '\n';
	memcpy(fresh->id + ls + 1, key, lk + 1);
	fresh->next = *slot;
	*slot = fresh;
	pthread_mutex_unlock(&r->mu);
	return true;
}

void idem_running_release(struct idem_running *r, const char *scope, const char *key)
{
	pthread_mutex_lock(&r->mu);
	for (struct entry **at = slot_of(r, scope, key); *at; at = &(*at)->next)
		if (id_is((*at)->id, scope, key)) {
			struct entry *gone = *at;
			*at = gone->next;
			free(gone);
			break;
		}
	pthread_mutex_unlock(&r->mu);
}
