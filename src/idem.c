/* idem.c - Idempotency-Key checks and request fingerprints. */
#include "idem.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "banned.h"

void idem_fingerprint(const char *method, const char *path, json_t *body, char out[65])
{
	char *canonical = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	if (!canonical)
		die("out of memory");
	size_t ml = strlen(method), pl = strlen(path), bl = strlen(canonical);
	char *buf = malloc(ml + pl + bl + 3);
	if (!buf)
		die("out of memory");
	memcpy(buf, method, ml);
	buf[ml] = '\n';
	memcpy(buf + ml + 1, path, pl);
	buf[ml + 1 + pl] = '\n';
	memcpy(buf + ml + pl + 2, canonical, bl + 1);
	sha256_hex(buf, ml + pl + bl + 2, out);
	free(buf);
	free(canonical);
}

int idem_key_check(const char *key, struct err *e)
{
	size_t n = strlen(key);
	if (n == 0 || n > IDEM_KEY_MAX)
		return error(e, 400, "invalid_idempotency_key", NULL,
			     "Idempotency-Key must be 1 to %d characters", IDEM_KEY_MAX);
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			return error(e, 400, "invalid_idempotency_key", NULL,
				     "Idempotency-Key must be printable ASCII");
	return 0;
}
