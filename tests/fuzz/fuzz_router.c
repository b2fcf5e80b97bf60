/* fuzz_router.c - libFuzzer harness for the router over THE route table:
 * the input is a method, a newline, and a path. Invariants: a match names a
 * route of the table with the same method; no match is a 404 or a 405, and a
 * 405 comes with a non-empty Allow list. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "router.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	char *nl = strchr(text, '\n');
	const char *method = "GET", *path = text;
	if (nl) {
		*nl = '\0';
		method = text;
		path = nl + 1;
	}
	struct arena *a = arena_new();
	const char *params[ROUTE_MAX_PARAMS] = {0};
	int status = 0;
	char allow[64] = "";
	const struct route *r = router_match(routes, routes_count, a, method, path, params,
					     &status, allow, sizeof(allow));
	if (r) {
		if (r < routes || r >= routes + routes_count || strcmp(r->method, method) != 0)
			abort();
	} else if (status != 404 && !(status == 405 && allow[0])) {
		abort();
	}
	arena_free(a);
	free(text);
	return 0;
}
