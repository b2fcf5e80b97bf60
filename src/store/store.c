/* store.c - picks the storage backend a database setting names, checks that
 * a backend's table fills every slot of struct store_ops, and holds what
 * both backends share: the refusal of a partner-scoped operation given no
 * partner, the answer to an unknown cursor, turning a page read backwards,
 * and the answers to unique
 * violations a client can cause. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store.h"
#include "banned.h"

bool store_is_postgres(const char *database)
{
	/* A URI, or a libpq key=value conninfo naming a host or a database
	 * (an SQLite path never contains "host=" or "dbname="). */
	return strncmp(database, "postgres://", 11) == 0 ||
	       strncmp(database, "postgresql://", 13) == 0 ||
	       strncmp(database, "host=", 5) == 0 || strncmp(database, "dbname=", 7) == 0 ||
	       strstr(database, " host=") || strstr(database, " dbname=");
}

int store_schema_version(bool postgres)
{
	const char *const *m = postgres ? pg_migrations : sqlite_migrations;
	int n = 0;
	while (m[n])
		n++;
	return n;
}

struct store *store_open(const char *database, struct err *e)
{
	if (store_is_postgres(database))
		return store_pg_open(database, e);
	return store_sqlite_open(database, e);
}

const char *store_slot_missing(const struct store_ops *ops)
{
#define STORE_SLOT_CHECK(name) \
	if (!ops->name) \
		return #name;
	STORE_SLOTS(STORE_SLOT_CHECK)
#undef STORE_SLOT_CHECK
	return NULL;
}

/* Sleeps before attempt number `attempt` (2, 3, ...) of a transaction that
 * lost a conflict: 1-3 ms, then 2-6, 4-12, ... The jitter (the clock's
 * nanoseconds) keeps two transactions that deadlocked from meeting again
 * in step. */
static void conflict_backoff(int attempt)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long base_us = 1000L << (attempt - 2);
	long us = base_us + (long)(now.tv_nsec / 1000 % (2 * base_us));
	struct timespec wait = {us / 1000000, us % 1000000 * 1000};
	nanosleep(&wait, NULL);
}

int store_tx_write(struct store *s, store_tx_body *body, void *arg, struct err *e)
{
	for (int attempt = 1;; attempt++) {
		if (attempt > 1)
			conflict_backoff(attempt);
		if (s->ops->tx_begin(s, true, e) < 0)
			return -1;
		if (body(s, arg, e) < 0) {
			s->ops->tx_rollback(s);
			if (!e->retry || attempt == STORE_TX_ATTEMPTS)
				return -1;
			continue;
		}
		if (s->ops->tx_commit(s, e) == 0)
			return 0;
		if (!e->retry || attempt == STORE_TX_ATTEMPTS)
			return -1;
	}
}

int store_retry_error(struct err *e)
{
	error(e, 503, "unavailable", NULL, "storage is busy, retry shortly");
	e->retry = true;
	return -1;
}

int store_partner_required(const char *partner_id, const char *op, struct err *e)
{
	if (partner_id)
		return 0;
	/* A caller's bug, never a client's: say so where operators look. */
	fprintf(stderr, "innbocks: store: %s was called without a partner id; refused\n", op);
	return error(e, 500, "internal_error", NULL, "%s needs a partner id", op);
}

int store_cursor_unknown(const struct page *pg, struct err *e)
{
	const char *param = pg->starting_after ? "starting_after" : "ending_before";
	const char *cursor = pg->starting_after ? pg->starting_after : pg->ending_before;
	return error(e, 400, "invalid_request", param, "no object with id %s in this list",
		     resp_quote(cursor));
}

void store_items_reverse(void *items, size_t item_size, size_t n)
{
	unsigned char *buf = items;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned char *x = buf + item_size * i, *y = buf + item_size * (n - 1 - i);
		for (size_t b = 0; b < item_size; b++) {
			unsigned char t = x[b];
			x[b] = y[b];
			y[b] = t;
		}
	}
}

void store_page_oldest_first(const struct page *pg, void *items, size_t item_size, size_t *n,
			     bool *has_more)
{
	*has_more = *n > (size_t)pg->limit;
	if (*has_more)
		*n = (size_t)pg->limit;
	if (pg->ending_before)
		store_items_reverse(items, item_size, *n);
}

/* The unique constraints a client can run into (two requests racing for one
 * value), by the name both schemas give them, with the answer the handler
 * gives when it finds the value taken itself (api_customers.c,
 * admin_users.c). */
static const struct {
	const char *constraint, *code, *param, *message;
} conflicts[] = {
	{"customers_partner_external", "external_id_conflict", "external_customer_id",
	 "another customer already has this external_customer_id; find it with "
	 "GET /api/v1/customers?external_customer_id=<the id>"},
	{"users_email", "user_exists", "email",
	 "a dashboard user with this email exists already"},
};

int store_conflict(const char *constraint, struct err *e)
{
	for (size_t i = 0; constraint && i < sizeof(conflicts) / sizeof(conflicts[0]); i++)
		if (strcmp(constraint, conflicts[i].constraint) == 0)
			return error(e, 409, conflicts[i].code, conflicts[i].param, "%s",
				     conflicts[i].message);
	return 0;
}
