/* netguard.h - the SSRF guard for webhook URLs (docs/webhooks.md): which addresses
 * a webhook may reach, checked on the URL at creation and on every address
 * actually connected to. */
#ifndef INNBOCKS_NETGUARD_H
#define INNBOCKS_NETGUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* Returns NULL when the address may be connected to, else the name of its
 * forbidden range ("loopback", "private", "link-local", "shared",
 * "multicast", "unspecified", "reserved", "documentation"). allow_loopback
 * admits 127.0.0.0/8 and ::1 (and nothing else). */
const char *netguard_forbidden_addr(const struct sockaddr *sa, bool allow_loopback);

/* Checks a webhook URL: https (http too with allow_loopback), a host of at
 * most 253 characters, and no IP literal in a forbidden range in any
 * spelling (decimal, hex, octal, short forms, IPv4-mapped IPv6, and the
 * Unicode forms UTS #46 maps to those: full-width digits, ideographic full
 * stops, circled letters) nor a localhost name. Host names are checked when
 * connecting. Returns 0, or -1 with a reason in why. */
int netguard_check_url(const char *url, bool allow_loopback, char *why, size_t why_size);

#endif
