/* test_tenant.c - live and test tenants (src/tenant.h): the mapping between
 * a partner and its two tenants, both ways, and the mode names. */
#include "tenant.h"
#include "unit.h"

TEST(tenant_live_is_the_partner_itself_test_is_the_shadow)
{
	struct arena *a = arena_new();
	CHECK_STR(tenant_of(a, "ptn_Abc123", true), "ptn_Abc123");
	CHECK_STR(tenant_of(a, "ptn_Abc123", false), "ptn_Abc123_test");
	CHECK(tenant_livemode("ptn_Abc123"));
	CHECK(!tenant_livemode("ptn_Abc123_test"));
	arena_free(a);
}

TEST(tenant_partner_maps_both_tenants_back_to_the_partner)
{
	struct arena *a = arena_new();
	CHECK_INT(tenant_partner_len("ptn_Abc123"), 10);
	CHECK_INT(tenant_partner_len("ptn_Abc123_test"), 10);
	CHECK_INT(tenant_partner_len(tenant_of(a, "ptn_Z", false)), 5);
	/* The suffix alone is no tenant of anything: it stays as it is. */
	CHECK_INT(tenant_partner_len("_test"), 5);
	CHECK(tenant_livemode("_test"));
	arena_free(a);
}

TEST(tenant_mode_names_parse_and_print)
{
	bool live = false;
	CHECK(tenant_mode_parse("live", &live) && live);
	CHECK(tenant_mode_parse("test", &live) && !live);
	CHECK(!tenant_mode_parse("LIVE", &live));
	CHECK(!tenant_mode_parse("", &live));
	CHECK(!tenant_mode_parse("sandbox", &live));
	CHECK_STR(tenant_mode_name(true), "live");
	CHECK_STR(tenant_mode_name(false), "test");
}

TEST(tenant_owned_by_is_true_for_both_tenants_of_the_partner_only)
{
	CHECK(tenant_owned_by("ptn_Abc123", "ptn_Abc123"));
	CHECK(tenant_owned_by("ptn_Abc123_test", "ptn_Abc123"));
	CHECK(!tenant_owned_by("ptn_Abc1234", "ptn_Abc123"));
	CHECK(!tenant_owned_by("ptn_Abc12", "ptn_Abc123"));
	CHECK(!tenant_owned_by("ptn_Other_test", "ptn_Abc123"));
}
