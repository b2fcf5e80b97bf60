/* store.c - picks the storage backend a database setting names. */
#include <string.h>

#include "store.h"
#include "banned.h"

struct store *store_open(const char *database, struct err *e)
{
	if (strncmp(database, "postgres://", 11) == 0 ||
	    strncmp(database, "postgresql://", 13) == 0) {
		error(e, 503, "unavailable", NULL,
		      "the PostgreSQL backend is not built yet; use an SQLite path");
		return NULL;
	}
	return store_sqlite_open(database, e);
}
