/* tenant.c - mapping between partners, their live and test tenants, and
 * mode names. Pure string work: a partner's ids never contain the suffix
 * (they are "ptn_" and base62), so it cannot be mistaken. */
#include "tenant.h"

#include <string.h>

#include "banned.h"

static bool ends_with_suffix(const char *s)
{
	size_t n = strlen(s), k = sizeof(TENANT_TEST_SUFFIX) - 1;
	return n > k && memcmp(s + n - k, TENANT_TEST_SUFFIX, k) == 0;
}

bool tenant_livemode(const char *tenant_id)
{
	return !ends_with_suffix(tenant_id);
}

const char *tenant_of(struct arena *a, const char *partner_id, bool livemode)
{
	return livemode ? partner_id : arena_printf(a, "%s" TENANT_TEST_SUFFIX, partner_id);
}

size_t tenant_partner_len(const char *tenant_id)
{
	size_t n = strlen(tenant_id);
	return ends_with_suffix(tenant_id) ? n - (sizeof(TENANT_TEST_SUFFIX) - 1) : n;
}

bool tenant_owned_by(const char *tenant_id, const char *partner_id)
{
	size_t n = tenant_partner_len(tenant_id);
	return strlen(partner_id) == n && strncmp(tenant_id, partner_id, n) == 0;
}

const char *tenant_mode_name(bool livemode)
{
	return livemode ? "live" : "test";
}

const char *const tenant_modes[] = {"live", "test", NULL};

bool tenant_mode_parse(const char *name, bool *livemode)
{
	for (size_t i = 0; tenant_modes[i]; i++)
		if (strcmp(name, tenant_modes[i]) == 0) {
			*livemode = i == 0;
			return true;
		}
	return false;
}
