/* store.c - picks the storage backend a database setting names, checks that
 * a backend's table fills every slot of struct store_ops, and holds what
 * both backends share: the refusal of a partner-scoped operation given no
 * partner, and the answers to unique violations a client can cause. */
#include <stdio.h>
#include <string.h>

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

int store_partner_required(const char *partner_id, const char *op, struct err *e)
{
	if (partner_id)
		return 0;
	/* A caller's bug, never a client's: say so where operators look. */
	fprintf(stderr, "innbocks: store: %s was called without a partner id; refused\n", op);
	return error(e, 500, "internal_error", NULL, "%s needs a partner id", op);
}

/* The unique constraints a client can run into (two requests racing for one
 * value), by the name both schemas give them, with the answer the handler
 * gives when it finds the value taken itself (api_customers.c,
 * admin_users.c). */
static const struct {
	const char *constraint, *code, *param, *message;
} conflicts[] = {
	{"customers_partner_external", "external_id_conflict", "external_customer_id",
	 "another customer already has this external_customer_id"},
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
