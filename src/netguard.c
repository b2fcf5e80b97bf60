/* netguard.c - address classification for the webhook SSRF guard. IPv4
 * literals are parsed with inet_aton, which takes every spelling a resolver
 * takes (2130706433, 0x7f.1, 0177.0.0.1, 127.1), so what we check is what
 * would be connected to. */
#include "netguard.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <idn2.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "validate.h"
#include "banned.h"

struct v4_range {
	uint32_t net, mask;
	const char *name;
};

#define V4(a, b, c, d) \
	(((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))
#define MASK(bits) ((uint32_t)(0xFFFFFFFFull << (32 - (bits))))

static const struct v4_range v4_forbidden[] = {
	{V4(0, 0, 0, 0), MASK(8), "unspecified"},
	{V4(10, 0, 0, 0), MASK(8), "private"},
	{V4(100, 64, 0, 0), MASK(10), "shared"},
	{V4(127, 0, 0, 0), MASK(8), "loopback"},
	{V4(169, 254, 0, 0), MASK(16), "link-local"},
	{V4(172, 16, 0, 0), MASK(12), "private"},
	{V4(192, 0, 0, 0), MASK(24), "reserved"},
	{V4(192, 0, 2, 0), MASK(24), "documentation"},
	{V4(192, 88, 99, 0), MASK(24), "reserved"},
	{V4(192, 168, 0, 0), MASK(16), "private"},
	{V4(198, 18, 0, 0), MASK(15), "reserved"},
	{V4(198, 51, 100, 0), MASK(24), "documentation"},
	{V4(203, 0, 113, 0), MASK(24), "documentation"},
	{V4(224, 0, 0, 0), MASK(4), "multicast"},
	{V4(240, 0, 0, 0), MASK(4), "reserved"},
};

/* Returns the forbidden range of a host-order IPv4 address, or NULL. */
static const char *v4_forbidden_name(uint32_t ip, bool allow_loopback)
{
	for (size_t i = 0; i < sizeof(v4_forbidden) / sizeof(v4_forbidden[0]); i++) {
		if ((ip & v4_forbidden[i].mask) != v4_forbidden[i].net)
			continue;
		if (allow_loopback && strcmp(v4_forbidden[i].name, "loopback") == 0)
			return NULL;
		return v4_forbidden[i].name;
	}
	return NULL;
}

static uint32_t v4_at(const unsigned char *b)
{
	return V4(b[0], b[1], b[2], b[3]);
}

/* Returns the forbidden range of an IPv6 address, or NULL. */
static const char *v6_forbidden_name(const struct in6_addr *a, bool allow_loopback)
{
	const unsigned char *b = a->s6_addr;
	static const unsigned char zero[16];
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	/* ::ffff:0:0/96, IPv4-translated (RFC 2765's SIIT) */
	static const unsigned char translated[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b};
	static const unsigned char nat64_local[6] = {0, 0x64, 0xff, 0x9b, 0, 0x01};
	if (memcmp(b, zero, 16) == 0)
		return "unspecified";
	if (memcmp(b, zero, 15) == 0 && b[15] == 1)
		return allow_loopback ? NULL : "loopback";
	/* Forms that carry an IPv4 address are judged by that address. */
	if (memcmp(b, mapped, 12) == 0 || memcmp(b, translated, 12) == 0 ||
	    memcmp(b, nat64, 12) == 0 || memcmp(b, zero, 12) == 0)
		return v4_forbidden_name(v4_at(b + 12), allow_loopback);
	if (memcmp(b, nat64_local, 6) == 0)
		return "reserved";        /* 64:ff9b:1::/48, local-use translation (RFC 8215) */
	if (b[0] == 0x20 && b[1] == 0x02) /* 6to4 */
		return v4_forbidden_name(v4_at(b + 2), allow_loopback);
	if ((b[0] & 0xfe) == 0xfc)
		return "private";
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
		return "link-local";
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)
		return "private"; /* site-local, deprecated */
	if (b[0] == 0xff)
		return "multicast";
	if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)
		return "documentation";
	if (b[0] == 0x01 && memcmp(b + 1, zero, 7) == 0)
		return "reserved"; /* 100::/64, discard */
	if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0)
		return "reserved"; /* 2001::/32, Teredo */
	return NULL;
}

const char *netguard_forbidden_addr(const struct sockaddr *sa, bool allow_loopback)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		return v4_forbidden_name(ntohl(in->sin_addr.s_addr), allow_loopback);
	}
	if (sa->sa_family == AF_INET6)
		return v6_forbidden_name(&((const struct sockaddr_in6 *)sa)->sin6_addr,
					 allow_loopback);
	return "reserved";
}

/* The longest name DNS resolves, without a trailing dot. */
#define HOST_MAX 253

/* Writes into out (HOST_MAX + 2 bytes) the ASCII host a resolver would look
 * up for host: a name with other characters goes through UTS #46 (libidn2),
 * which maps full-width digits, ideographic full stops, circled and other
 * compatibility letters to ASCII, so "１２７。０。０。１" is judged as
 * 127.0.0.1. Returns 0, or -1 with the reason in why. */
static int host_ascii(const char *host, char *out, char *why, size_t why_size)
{
	char *mapped = NULL;
	const char *h = host;
	for (const unsigned char *p = (const unsigned char *)host; *p; p++) {
		if (*p < 0x80)
			continue;
		if (idn2_to_ascii_8z(host, &mapped, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL) !=
		    IDN2_OK) {
			snprintf(why, why_size, "url host is not a valid domain name");
			return -1;
		}
		h = mapped;
		break;
	}
	size_t n = strlen(h);
	size_t name = n && h[n - 1] == '.' ? n - 1 : n;
	int rc = 0;
	if (name > HOST_MAX) {
		snprintf(why, why_size, "url host is longer than %d characters", HOST_MAX);
		rc = -1;
	} else {
		memcpy(out, h, n + 1);
	}
	idn2_free(mapped);
	return rc;
}

/* Judges a host as written in a URL (ASCII, at most HOST_MAX + 1
 * characters); returns the forbidden range or NULL. */
static const char *host_forbidden(const char *host, bool allow_loopback)
{
	char buf[HOST_MAX + 2];
	size_t n = strlen(host);
	if (n >= sizeof(buf))
		return "reserved";
	memcpy(buf, host, n + 1);
	if (buf[0] == '[' && n > 2 && buf[n - 1] == ']') {
		memmove(buf, buf + 1, n - 2);
		buf[n - 2] = '\0';
	}
	char *zone = strchr(buf, '%');
	if (zone)
		*zone = '\0';
	struct in6_addr a6;
	if (inet_pton(AF_INET6, buf, &a6) == 1)
		return v6_forbidden_name(&a6, allow_loopback);
	size_t len = strlen(buf);
	if (len && buf[len - 1] == '.')
		buf[--len] = '\0'; /* "127.0.0.1." and "localhost." resolve the same */
	struct in_addr a4;
	if (inet_aton(buf, &a4) == 1)
		return v4_forbidden_name(ntohl(a4.s_addr), allow_loopback);
	if (strcasecmp(buf, "localhost") == 0 ||
	    (len > 10 && strcasecmp(buf + len - 10, ".localhost") == 0))
		return allow_loopback ? NULL : "loopback";
	return NULL;
}

/* Returns true when a host in its ASCII form (host_ascii()) is an address
 * literal, or a domain name of valid labels (valid_domain_labels(), with
 * underscores, which DNS allows in names). */
static bool host_well_formed(const char *host)
{
	char buf[HOST_MAX + 2];
	size_t n = strlen(host);
	struct in_addr a4;
	if (host[0] == '[' || n >= sizeof(buf))
		return host[0] == '['; /* an IPv6 literal (parsed by curl) */
	memcpy(buf, host, n + 1);
	if (n && buf[n - 1] == '.')
		buf[--n] = '\0';
	return inet_aton(buf, &a4) == 1 || valid_domain_labels(buf, true);
}

int netguard_check_url(const char *url, bool allow_loopback, char *why, size_t why_size)
{
	int rc = -1;
	char *scheme = NULL, *host = NULL, *decoded = NULL;
	CURLU *u = curl_url();
	if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		snprintf(why, why_size, "url must be an absolute https URL");
		goto out;
	}
	/* curl reads a host out of "https:/host" and "https:///host"; the
	 * URL must spell it out: "//" and then the host (the OpenAPI pattern). */
	const char *rest = url + strlen(scheme);
	if (strncmp(rest, "://", 3) != 0 || !rest[3] || strchr("/?#:@", rest[3]) ||
	    (unsigned char)rest[3] <= 0x20 || rest[3] == 0x7f) {
		snprintf(why, why_size, "url must be an absolute https URL");
		goto out;
	}
	bool https = strcasecmp(scheme, "https") == 0;
	if (!https && !(allow_loopback && strcasecmp(scheme, "http") == 0)) {
		snprintf(why, why_size, "url must use https");
		goto out;
	}
	/* The host as written, and percent-decoded: each in its ASCII form. */
	char ascii[HOST_MAX + 2];
	if (host_ascii(host, ascii, why, why_size) < 0)
		goto out;
	const char *range = host_forbidden(ascii, allow_loopback);
	if (!range && curl_url_get(u, CURLUPART_HOST, &decoded, CURLU_URLDECODE) == CURLUE_OK) {
		if (host_ascii(decoded, ascii, why, why_size) < 0)
			goto out;
		range = host_forbidden(ascii, allow_loopback);
	}
	if (range) {
		snprintf(why, why_size, "url must not point to a %s address", range);
		goto out;
	}
	/* The host as a resolver takes it (decoded, when it decodes). */
	if (!host_well_formed(ascii)) {
		snprintf(why, why_size, "url host is not a valid domain name");
		goto out;
	}
	if (!valid_url_port(u)) {
		snprintf(why, why_size, "url port must be from 1 to 65535");
		goto out;
	}
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(decoded);
	curl_url_cleanup(u);
	return rc;
}
