/* fuzz_body.c - libFuzzer harness for request bodies: the JSON reader of the
 * dispatcher (duplicate keys, depth, NUL) and the idempotency fingerprint of
 * what it accepts. Invariants: an accepted body is a JSON object, a refused
 * one is a 400 invalid_json with a message, and the fingerprint of a body
 * does not depend on anything but the body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "idem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *body = NULL;
	struct err e = {0};
	if (dispatch_body_parse((const char *)data, size, &body, &e) < 0) {
		if (e.status != 400 || strcmp(e.code, "invalid_json") != 0 || !e.message[0])
			abort();
		return 0;
	}
	if (!json_is_object(body))
		abort();
	char a[65], b[65];
	idem_fingerprint("POST", "/api/v1/customers", body, a);
	idem_fingerprint("POST", "/api/v1/customers", body, b);
	if (strlen(a) != 64 || strcmp(a, b) != 0)
		abort();
	json_decref(body);
	return 0;
}
