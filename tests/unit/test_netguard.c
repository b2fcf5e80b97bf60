/* test_netguard.c - the webhook SSRF guard (docs/webhooks.md, src/netguard.h): the
 * address classifier for connected addresses, and the URL check at endpoint
 * creation with every spelling of a forbidden address. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "netguard.h"
#include "unit.h"

/* The forbidden range of an IPv4 or IPv6 address given as text (inet_pton
 * spelling), as netguard_forbidden_addr() names it; "bad-test-address" when
 * the text is not an address (so the check fails visibly). */
static const char *classify(const char *text, bool allow_loopback)
{
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;
	memset(&in4, 0, sizeof(in4));
	memset(&in6, 0, sizeof(in6));
	if (inet_pton(AF_INET, text, &in4.sin_addr) == 1) {
		in4.sin_family = AF_INET;
		in4.sin_port = htons(443);
		return netguard_forbidden_addr((const struct sockaddr *)&in4, allow_loopback);
	}
	if (inet_pton(AF_INET6, text, &in6.sin6_addr) == 1) {
		in6.sin6_family = AF_INET6;
		in6.sin6_port = htons(443);
		return netguard_forbidden_addr((const struct sockaddr *)&in6, allow_loopback);
	}
	return "bad-test-address";
}

/* Checks that every address of list is forbidden (classified non-NULL), and
 * that the ones with an expected name carry that name. */
struct expect {
	const char *addr, *range; /* range NULL: any forbidden range */
};

static void check_forbidden(const struct expect *list, size_t n, bool allow_loopback)
{
	for (size_t i = 0; i < n; i++) {
		const char *got = classify(list[i].addr, allow_loopback);
		char what[160];
		snprintf(what, sizeof(what), "%s is forbidden (allow_loopback=%d)",
			 list[i].addr, allow_loopback);
		unit_check(got != NULL, __FILE__, __LINE__, what);
		if (got && list[i].range) {
			snprintf(what, sizeof(what), "range of %s", list[i].addr);
			unit_check_str(got, list[i].range, __FILE__, __LINE__, what);
		}
	}
}

static void check_allowed(const char *const *list, size_t n, bool allow_loopback)
{
	for (size_t i = 0; i < n; i++) {
		const char *got = classify(list[i], allow_loopback);
		char what[160];
		snprintf(what, sizeof(what), "%s is allowed (allow_loopback=%d)", list[i],
			 allow_loopback);
		unit_check_str(got, NULL, __FILE__, __LINE__, what);
	}
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Forbidden whatever the loopback switch says. */
static const struct expect always_forbidden[] = {
	{"10.0.0.1", "private"},
	{"10.255.255.255", "private"},
	{"172.16.0.1", "private"},
	{"172.31.255.254", "private"},
	{"192.168.1.1", "private"},
	{"169.254.169.254", "link-local"},
	{"169.254.0.1", "link-local"},
	{"100.64.0.1", "shared"},
	{"100.127.255.254", "shared"},
	{"224.0.0.1", "multicast"},
	{"239.255.255.250", "multicast"},
	{"0.0.0.0", "unspecified"},
	{"240.0.0.1", NULL},
	{"255.255.255.255", NULL},
	{"::", "unspecified"},
	{"fe80::1", "link-local"},
	{"fc00::1", "private"},
	{"fd12:3456::1", "private"},
	{"ff02::1", "multicast"},
	{"::ffff:10.0.0.1", "private"},
	{"::ffff:169.254.169.254", "link-local"},
	{"::ffff:0.0.0.0", NULL},
	{"::ffff:0:10.0.0.1", "private"},
	{"::ffff:0:a9fe:a9fe", "link-local"},
};

static const struct expect loopback[] = {
	{"127.0.0.1", "loopback"},          {"127.1.2.3", "loopback"},
	{"127.255.255.254", "loopback"},    {"::1", "loopback"},
	{"::ffff:127.0.0.1", "loopback"},   {"::ffff:7f00:1", "loopback"},
	{"::ffff:0:127.0.0.1", "loopback"}, {"::ffff:0:7f00:1", "loopback"},
};

static const char *const public_addrs[] = {
	"93.184.216.34",
	"8.8.8.8",
	"1.1.1.1",
	"172.32.0.1",     /* just past 172.16.0.0/12 */
	"172.15.255.254", /* just before it */
	"100.128.0.1",    /* just past 100.64.0.0/10 */
	"100.63.255.254", /* just before it */
	"11.0.0.1",
	"126.255.255.254",
	"128.0.0.1",
	"169.253.255.254",
	"192.169.0.1",
	"223.255.255.254",
	"2606:4700::1111",
	"2a00:1450:4001:80b::200e",
	"::ffff:93.184.216.34",
};

TEST(netguard_forbidden_addr_refuses_private_link_local_shared_multicast_unspecified)
{
	check_forbidden(always_forbidden, N(always_forbidden), false);
}

TEST(netguard_forbidden_addr_refuses_loopback_in_v4_v6_and_mapped_form)
{
	check_forbidden(loopback, N(loopback), false);
}

TEST(netguard_forbidden_addr_allows_public_addresses)
{
	check_allowed(public_addrs, N(public_addrs), false);
	check_allowed(public_addrs, N(public_addrs), true);
}

TEST(netguard_forbidden_addr_loopback_switch_admits_loopback_only)
{
	static const char *const loopback_addrs[] = {"127.0.0.1", "127.1.2.3", "::1"};
	check_allowed(loopback_addrs, N(loopback_addrs), true);
	check_forbidden(always_forbidden, N(always_forbidden), true);
}

TEST(netguard_forbidden_addr_refuses_other_address_families)
{
	struct sockaddr_un un;
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	strcpy(un.sun_path, "/tmp/x.sock");
	CHECK(netguard_forbidden_addr((const struct sockaddr *)&un, false) != NULL);
	CHECK(netguard_forbidden_addr((const struct sockaddr *)&un, true) != NULL);
}

/* Checks that url is refused (-1 and a reason) or accepted (0). */
static void check_url(const char *url, bool allow_loopback, bool accepted)
{
	char why[128];
	memset(why, 0, sizeof(why));
	int rc = netguard_check_url(url, allow_loopback, why, sizeof(why));
	char what[300];
	snprintf(what, sizeof(what),
		 "netguard_check_url(\"%s\", allow_loopback=%d) %s (why: %s)", url,
		 allow_loopback, accepted ? "accepts" : "refuses", why);
	unit_check(rc == (accepted ? 0 : -1), __FILE__, __LINE__, what);
	if (!accepted) {
		snprintf(what, sizeof(what), "a refusal of \"%s\" gives a reason", url);
		unit_check(why[0] != '\0', __FILE__, __LINE__, what);
	}
}

/* Loopback in every spelling a resolver or URL parser takes. */
static const char *const loopback_urls[] = {
	"https://127.0.0.1/hook",
	"https://127.0.0.1:8443/hook",
	"https://2130706433/hook",
	"https://0x7f.1/hook",
	"https://0x7f000001/hook",
	"https://0177.0.0.1/hook",
	"https://017700000001/hook",
	"https://127.1/hook",
	"https://127.0.1/hook",
	"https://127.000.000.001/hook",
	"https://[::1]/hook",
	"https://[0:0:0:0:0:0:0:1]/hook",
	"https://[::ffff:127.0.0.1]/hook",
	"https://[::ffff:7f00:1]/hook",
	"https://[::ffff:0:127.0.0.1]/hook",
	"https://[::ffff:0:7f00:1]/hook",
	"https://localhost/hook",
	"https://LOCALHOST/hook",
	"https://localhost./hook",
	"https://foo.localhost/hook",
	"https://127.0.0.1./hook",
	"https://%31%32%37.0.0.1/hook",
	"HTTPS://127.0.0.1/hook",
	"https://crm.example.com@127.0.0.1/hook",
};

/* Forbidden with or without the switch. */
static const char *const other_forbidden_urls[] = {
	"https://10.0.0.1/hook",
	"https://172.16.0.1/hook",
	"https://192.168.1.1/hook",
	"https://169.254.169.254/latest/meta-data/",
	"https://0xa9fea9fe/latest/meta-data/",
	"https://2852039166/latest/meta-data/",
	"https://100.64.0.1/hook",
	"https://224.0.0.1/hook",
	"https://0.0.0.0/hook",
	"https://0/hook",
	"https://[::]/hook",
	"https://[fe80::1]/hook",
	"https://[fe80::1%25eth0]/hook",
	"https://[fc00::1]/hook",
	"https://[::ffff:10.0.0.1]/hook",
	"https://[::ffff:a9fe:a9fe]/hook",
	"https://%31%30.0.0.1/hook",
};

/* Not URLs a webhook may have. */
static const char *const malformed_urls[] = {
	"",
	"crm.example.com/hooks",
	"/hooks",
	"https://",
	"ftp://crm.example.com/hooks",
	"file:///etc/passwd",
	"gopher://crm.example.com/",
	/* curl finds a host in these; the URL must spell "//host" out. */
	"https:/crm.example.com/hooks",
	"https:///crm.example.com/hooks",
	"https:crm.example.com/hooks",
	"https://@crm.example.com/hooks",
};

/* Spellings an IDNA-aware resolver or client maps to a forbidden host
 * (UTS #46: full-width digits, ideographic full stops, circled letters),
 * percent-encoded too. */
static const char *const unicode_loopback_urls[] = {
	"https://\xef\xbc\x91\xef\xbc\x92\xef\xbc\x97.\xef\xbc\x90.\xef\xbc\x90.\xef\xbc\x91/hook", /* １２７.０.０.１ */
	"https://127\xe3\x80\x82"
	"0\xe3\x80\x82"
	"0\xe3\x80\x82"
	"1/hook", /* 127。0。0。1 */
	"https://\xe2\x93\x9b\xe2\x93\x9e\xe2\x93\x92\xe2\x93\x90\xe2\x93\x9b"
	"\xe2\x93\x97\xe2\x93\x9e\xe2\x93\xa2\xe2\x93\xa3/hook", /* ⓛⓞⓒⓐⓛⓗⓞⓢⓣ */
	"https://%EF%BC%91%EF%BC%92%EF%BC%97.0.0.1/hook",
	"https://LOCAL\xe2\x84\x8cOST/hook", /* LOCALℌOST */
};

TEST(netguard_check_url_refuses_unicode_spellings_of_forbidden_hosts)
{
	for (size_t i = 0; i < N(unicode_loopback_urls); i++) {
		check_url(unicode_loopback_urls[i], false, false);
		check_url(unicode_loopback_urls[i], true, true);
	}
	check_url("https://\xef\xbc\x91\xef\xbc\x90.0.0.1/hook", true, false); /* １０.0.0.1 */
	/* A real internationalised name is fine. */
	check_url("https://b\xc3\xbc"
		  "cher.example/hooks",
		  false, true);
}

TEST(netguard_check_url_refuses_hosts_longer_than_dns_allows)
{
	char url[400];
	char label[64];
	memset(label, 'a', 63);
	label[63] = '\0';
	/* Four 63-letter labels and dots: 255 characters, over DNS's 253. */
	snprintf(url, sizeof(url), "https://%s.%s.%s.%s/hook", label, label, label, label);
	check_url(url, false, false);
	/* 3 labels + a short one: 253 characters, the longest name DNS takes. */
	snprintf(url, sizeof(url), "https://%s.%s.%s.%.61s/hook", label, label, label, label);
	check_url(url, false, true);
}

/* What docs/webhooks.md promises: a host that is not a valid domain name is
 * refused. These were accepted, the ASCII ones never being looked at. */
TEST(netguard_check_url_refuses_hosts_that_are_not_domain_names)
{
	char url[128];
	char label[65];
	memset(label, 'a', 64);
	label[64] = '\0';
	snprintf(url, sizeof(url), "https://%s.example.com/hook", label);
	const char *const bad[] = {
		"https://-crm.example.com/hook",
		"https://crm-.example.com/hook",
		"https://crm..example.com/hook",
		"https://xn--localhost-/hook",
		"https://xn--zz.example.com/hook",
		"https://xn--a.example.com/hook", /* decodes, to U+0080: IDNA2008 refuses it */
		"https://xn--ls8h.example.com/hook", /* a symbol, which IDNA2008 refuses */
		"https://crm.exa!mple.com/hook",
		url,
	};
	for (size_t i = 0; i < N(bad); i++) {
		check_url(bad[i], false, false);
		check_url(bad[i], true, false);
	}
	char why[128];
	CHECK(netguard_check_url("https://-crm.example.com/hook", false, why, sizeof(why)) < 0);
	CHECK_STR(why, "url host is not a valid domain name");
	static const char *const fine[] = {
		"https://crm-1.example.com/hook",     "https://my_crm.example.com/hook",
		"https://xn--bcher-kva.example/hook", "https://crm.example.com./hook",
		"https://1.2.3.4.5.example/hook",
	};
	for (size_t i = 0; i < N(fine); i++)
		check_url(fine[i], false, true);
	label[63] = '\0'; /* 63 characters: the longest label */
	snprintf(url, sizeof(url), "https://%s.example.com/hook", label);
	check_url(url, false, true);
}

TEST(netguard_forbidden_addr_refuses_the_local_nat64_prefix)
{
	CHECK_STR(classify("64:ff9b:1::1", false), "reserved");
	CHECK_STR(classify("64:ff9b:1:ffff::a00:1", true), "reserved");
	/* The well-known prefix is judged by the IPv4 address it carries. */
	CHECK(classify("64:ff9b::5db8:d822", false) == NULL);
	CHECK_STR(classify("64:ff9b::7f00:1", false), "loopback");
}

TEST(netguard_check_url_refuses_loopback_in_every_spelling)
{
	for (size_t i = 0; i < N(loopback_urls); i++)
		check_url(loopback_urls[i], false, false);
}

TEST(netguard_check_url_refuses_other_forbidden_ranges)
{
	for (size_t i = 0; i < N(other_forbidden_urls); i++) {
		check_url(other_forbidden_urls[i], false, false);
		check_url(other_forbidden_urls[i], true, false);
	}
}

TEST(netguard_check_url_requires_https_without_the_switch)
{
	check_url("http://crm.example.com/hooks", false, false);
	check_url("http://93.184.216.34/hooks", false, false);
	for (size_t i = 0; i < N(malformed_urls); i++) {
		check_url(malformed_urls[i], false, false);
		check_url(malformed_urls[i], true, false);
	}
}

TEST(netguard_check_url_accepts_public_https_urls)
{
	static const char *const ok[] = {
		"https://crm.example.com/hooks",
		"https://crm.example.com:8443/hooks/innbocks?x=1",
		"https://93.184.216.34/hooks",
		"https://[2606:4700::1111]/hooks",
		"HTTPS://CRM.EXAMPLE.COM/hooks",
		"https://user@crm.example.com/hooks",
	};
	for (size_t i = 0; i < N(ok); i++) {
		check_url(ok[i], false, true);
		check_url(ok[i], true, true);
	}
}

TEST(netguard_check_url_loopback_switch_admits_http_and_loopback_only)
{
	check_url("http://127.0.0.1:8080/hook", true, true);
	check_url("https://127.0.0.1/hook", true, true);
	check_url("https://[::1]/hook", true, true);
	check_url("http://localhost:9/hook", true, true);
	check_url("http://crm.example.com/hooks", true, true);
	check_url("http://10.0.0.1/hook", true, false);
	check_url("http://169.254.169.254/latest/meta-data/", true, false);
	check_url("http://[fe80::1]/hook", true, false);
	check_url("http://192.168.1.1/hook", true, false);
}

TEST(netguard_check_url_keeps_the_reason_within_a_small_buffer)
{
	char why[8];
	memset(why, '#', sizeof(why));
	CHECK_INT(netguard_check_url("https://169.254.169.254/latest/meta-data/", false, why,
				     sizeof(why)),
		  -1);
	CHECK(memchr(why, '\0', sizeof(why)) != NULL);
}
