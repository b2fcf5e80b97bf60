/* config.c - settings from the environment and flags. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "banned.h"

/* MILLIS: a whole number of milliseconds, 1 to a day, into a long. */
enum kind { TEXT, BOOL01, NUMBER, MILLIS, SCHEDULE, LOG_FORMAT };

struct setting {
	const char *flag, *env;
	enum kind kind;
	size_t offset, size;
};

#define AT(field) offsetof(struct config, field), sizeof(((struct config *)0)->field)

static const struct setting settings[] = {
	{"listen", "INNBOCKS_LISTEN", TEXT, AT(listen)},
	{"database", "INNBOCKS_DATABASE", TEXT, AT(database)},
	{"admin-token", "INNBOCKS_ADMIN_TOKEN", TEXT, AT(admin_token)},
	{"webhook-allow-loopback", "INNBOCKS_WEBHOOK_ALLOW_LOOPBACK", BOOL01,
	 AT(webhook_allow_loopback)},
	{"webhook-retry-schedule", "INNBOCKS_WEBHOOK_RETRY_SCHEDULE", SCHEDULE,
	 AT(retry_schedule)},
	{"webhook-timeout-ms", "INNBOCKS_WEBHOOK_TIMEOUT_MS", MILLIS, AT(webhook_timeout_ms)},
	{"head-timeout-ms", "INNBOCKS_HEAD_TIMEOUT_MS", MILLIS, AT(head_timeout_ms)},
	{"body-timeout-ms", "INNBOCKS_BODY_TIMEOUT_MS", MILLIS, AT(body_timeout_ms)},
	{"rate-limit", "INNBOCKS_RATE_LIMIT", NUMBER, AT(rate_limit)},
	{"rate-burst", "INNBOCKS_RATE_BURST", NUMBER, AT(rate_burst)},
	{"group-commit", "INNBOCKS_GROUP_COMMIT", BOOL01, AT(group_commit)},
	{"signin-address-burst", "INNBOCKS_SIGNIN_ADDRESS_BURST", NUMBER,
	 AT(signin_address_burst)},
	{"log", "INNBOCKS_LOG", LOG_FORMAT, AT(log)},
	{"metrics", "INNBOCKS_METRICS", BOOL01, AT(metrics)},
	{"metrics-listen", "INNBOCKS_METRICS_LISTEN", TEXT, AT(metrics_listen)},
	{"public-url", "INNBOCKS_PUBLIC_URL", TEXT, AT(public_url)},
};

/* Takes the trailing '/' off a public URL: links are appended to it. */
static void public_url_trim(char *url)
{
	size_t n = strlen(url);
	if (n && url[n - 1] == '/')
		url[n - 1] = '\0';
}

/* Returns true for http:// or https:// and a host (with its port): no path,
 * since the dashboard's pages name their files from the root, and no
 * query, fragment, space or control character. */
static bool public_url_valid(const char *url)
{
	size_t scheme = strncmp(url, "https://", 8) == 0  ? 8
			: strncmp(url, "http://", 7) == 0 ? 7
							  : 0;
	if (!scheme || !url[scheme])
		return false;
	for (const unsigned char *p = (const unsigned char *)url + scheme; *p; p++)
		if (*p <= ' ' || *p == 0x7f || *p == '/' || *p == '?' || *p == '#' ||
		    *p == '\\')
			return false;
	return true;
}

void config_base_url(const struct config *cfg, char *out, size_t size)
{
	if (cfg->public_url[0])
		snprintf(out, size, "%s", cfg->public_url);
	else
		snprintf(out, size, "http://%s", cfg->listen);
}

/* Returns the number of decimal digits v starts with. */
static size_t digits_span(const char *v)
{
	return strspn(v, "0123456789");
}

/* Returns true if v is decimal digits and nothing else, or (fraction) digits
 * with a '.' and more digits after them. Checked before strtol and strtod,
 * which would also take leading space, a sign, hex and exponents. */
static bool decimal_plain(const char *v, bool fraction)
{
	size_t n = digits_span(v);
	if (n == 0)
		return false;
	v += n;
	if (fraction && *v == '.') {
		n = digits_span(v + 1);
		if (n == 0)
			return false;
		v += 1 + n;
	}
	return *v == '\0';
}

/* Returns true if every character of token may stand in an "Authorization:
 * Bearer" header (RFC 6750's b64token): a space would end it there. */
static bool admin_token_chars_valid(const char *token)
{
	static const char extra[] = "-._~+/=";
	for (const char *p = token; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr(extra, *p))
			return false;
	return true;
}

static int apply(struct config *cfg, const struct setting *st, const char *v, char *msg,
		 size_t msg_size)
{
	void *field = (char *)cfg + st->offset;
	char *end = NULL;
	switch (st->kind) {
	case TEXT:
		if (strlen(v) >= st->size)
			goto bad;
		memcpy(field, v, strlen(v) + 1);
		return 0;
	case BOOL01:
		if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0)
			goto bad;
		*(bool *)field = v[0] == '1';
		return 0;
	case NUMBER: {
		if (!decimal_plain(v, true))
			goto bad;
		errno = 0;
		double d = strtod(v, &end);
		if (*end || errno || !isfinite(d))
			goto bad;
		*(double *)field = d;
		return 0;
	}
	case MILLIS: {
		if (!decimal_plain(v, false))
			goto bad;
		errno = 0;
		long ms = strtol(v, &end, 10);
		if (*end || errno || ms < 1 || ms > 86400000L)
			goto bad;
		*(long *)field = ms;
		return 0;
	}
	case LOG_FORMAT:
		if (accesslog_format_parse(v, (enum accesslog_format *)field) < 0)
			goto bad;
		return 0;
	case SCHEDULE: {
		int n = 0;
		const char *p = v;
		while (*p) {
			if (digits_span(p) == 0)
				goto bad;
			errno = 0;
			long s = strtol(p, &end, 10);
			if (errno || s < 0 || s > 7 * 86400 || n == RETRY_MAX)
				goto bad;
			cfg->retry_schedule[n++] = (int)s;
			p = end;
			if (*p == ',' && p[1]) /* a comma comes before a number */
				p++;
			else if (*p)
				goto bad;
		}
		if (n == 0)
			goto bad;
		cfg->retry_count = n;
		return 0;
	}
	}
bad:
	/* What the value must be. A text may be a secret (the admin token, a
	 * connection string with a password): its value is never repeated. */
	switch (st->kind) {
	case TEXT:
		snprintf(msg, msg_size, "%s / --%s is longer than %zu characters", st->env,
			 st->flag, st->size - 1);
		return -1;
	case BOOL01:
		snprintf(msg, msg_size, "%s / --%s must be 0 or 1, not '%.40s'", st->env,
			 st->flag, v);
		return -1;
	case NUMBER:
		snprintf(msg, msg_size,
			 "%s / --%s must be a decimal number such as 100, not '%.40s'", st->env,
			 st->flag, v);
		return -1;
	case MILLIS:
		snprintf(msg, msg_size,
			 "%s / --%s must be a whole number of milliseconds from 1 to 86400000, "
			 "not '%.40s'",
			 st->env, st->flag, v);
		return -1;
	case LOG_FORMAT:
		snprintf(msg, msg_size, "%s / --%s must be json, text or off, not '%.40s'",
			 st->env, st->flag, v);
		return -1;
	case SCHEDULE:
		snprintf(msg, msg_size,
			 "%s / --%s must be 1 to %d delays in seconds (each at most 604800) "
			 "separated by commas, such as 60,300,1800, not '%.40s'",
			 st->env, st->flag, RETRY_MAX, v);
		return -1;
	}
	return -1;
}

/* Splits "host:port" (or "[v6]:port") into host (at most host_size bytes)
 * and port; returns 0, or -1 unless the host is an IPv4 address, localhost
 * or a bracketed IPv6 address and the port decimal digits from 1 to 65535.
 * The listen address also starts the setup links (config_base_url), where
 * an IPv6 address without brackets would not be a URL. */
static int split_listen(const char *listen, char *host, size_t host_size, int *port)
{
	const char *colon = strrchr(listen, ':');
	if (!colon)
		return -1;
	const char *h = listen;
	size_t hl = (size_t)(colon - listen);
	bool bracketed = hl >= 2 && h[0] == '[' && h[hl - 1] == ']';
	if (bracketed) {
		h++;
		hl -= 2;
	}
	if (hl == 0 || hl >= host_size)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	/* What the HTTP layer can bind (http.c): an address, or localhost. */
	unsigned char addr[16];
	bool valid = bracketed ? inet_pton(AF_INET6, host, addr) == 1
			       : inet_pton(AF_INET, host, addr) == 1 ||
					 strcmp(host, "localhost") == 0;
	if (!valid || !decimal_plain(colon + 1, false))
		return -1;
	char *end = NULL;
	long p = strtol(colon + 1, &end, 10);
	if (*end || p < 1 || p > 65535)
		return -1;
	*port = (int)p;
	return 0;
}

#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

/* Returns the setting whose flag arg is ("--flag" or "--flag=value"), or
 * NULL; *value is the text after "=", or NULL (the value is the next
 * argument). */
static const struct setting *setting_flag(const char *arg, const char **value)
{
	*value = NULL;
	if (strncmp(arg, "--", 2) != 0)
		return NULL;
	for (size_t j = 0; j < NSETTINGS; j++) {
		size_t fl = strlen(settings[j].flag);
		if (strncmp(arg + 2, settings[j].flag, fl) != 0)
			continue;
		if (arg[2 + fl] == '=') {
			*value = arg + 3 + fl;
			return &settings[j];
		}
		if (arg[2 + fl] == '\0')
			return &settings[j];
	}
	return NULL;
}

int config_load(struct config *cfg, int argc, char **argv, int *rest, int *nrest, char *msg,
		size_t msg_size)
{
	static const int default_schedule[] = {60, 300, 1800, 7200, 18000, 36000, 36000};
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->listen, sizeof(cfg->listen), "127.0.0.1:8080");
	snprintf(cfg->database, sizeof(cfg->database), "innbocks.db");
	memcpy(cfg->retry_schedule, default_schedule, sizeof(default_schedule));
	cfg->retry_count = 7;
	cfg->webhook_timeout_ms = 10000;
	cfg->head_timeout_ms = 10000;
	cfg->body_timeout_ms = 10000;
	cfg->rate_limit = 100;
	cfg->rate_burst = 200;
	cfg->group_commit = true;
	cfg->signin_address_burst = 50;
	cfg->log = ACCESSLOG_JSON;
	cfg->metrics = true;
	/* A flag wins over its variable: a variable whose flag is given is
	 * not read at all (a bad value there stops nothing). */
	bool flagged[NSETTINGS] = {false};
	for (int i = 1; i < argc; i++) {
		const char *value;
		const struct setting *st = setting_flag(argv[i], &value);
		if (st) {
			flagged[st - settings] = true;
			i += !value;
		}
	}
	for (size_t i = 0; i < NSETTINGS; i++) {
		const char *v = flagged[i] ? NULL : getenv(settings[i].env);
		if (v && *v && apply(cfg, &settings[i], v, msg, msg_size) < 0)
			return -1;
	}
	*nrest = 0;
	for (int i = 1; i < argc; i++) {
		const char *value;
		const struct setting *st = setting_flag(argv[i], &value);
		if (!st) {
			rest[(*nrest)++] = i;
			continue;
		}
		if (!value) {
			if (i + 1 >= argc) {
				snprintf(msg, msg_size, "--%s needs a value", st->flag);
				return -1;
			}
			value = argv[++i];
		}
		if (apply(cfg, st, value, msg, msg_size) < 0)
			return -1;
	}
	if (cfg->admin_token[0] &&
	    (strlen(cfg->admin_token) < 32 ||
	     strncmp(cfg->admin_token, ADMIN_TOKEN_PREFIX, strlen(ADMIN_TOKEN_PREFIX)) != 0 ||
	     !admin_token_chars_valid(cfg->admin_token))) {
		snprintf(msg, msg_size,
			 "INNBOCKS_ADMIN_TOKEN / --admin-token must start with %s, be at "
			 "least 32 characters and hold only letters, digits and -._~+/=",
			 ADMIN_TOKEN_PREFIX);
		return -1;
	}
	/* Checked for every command, not only serve: a bad value stops the
	 * program whatever it was about to do. */
	if (split_listen(cfg->listen, cfg->listen_host, sizeof(cfg->listen_host),
			 &cfg->listen_port) < 0) {
		snprintf(
			msg, msg_size,
			"INNBOCKS_LISTEN / --listen must be HOST:PORT (an IPv4 address, localhost "
			"or an IPv6 address in brackets as [::1]; a port from 1 to 65535), not '%s'",
			cfg->listen);
		return -1;
	}
	if (cfg->metrics_listen[0] &&
	    split_listen(cfg->metrics_listen, cfg->metrics_host, sizeof(cfg->metrics_host),
			 &cfg->metrics_port) < 0) {
		snprintf(
			msg, msg_size,
			"INNBOCKS_METRICS_LISTEN / --metrics-listen must be HOST:PORT (an IPv4 "
			"address, localhost or an IPv6 address in brackets as [::1]; a port from "
			"1 to 65535), not '%s'",
			cfg->metrics_listen);
		return -1;
	}
	/* 0 turns limiting off, said of both (docs/operators.md); a bucket
	 * smaller than one request would refuse every request. */
	if (cfg->rate_burst > 0 && cfg->rate_burst < 1) {
		snprintf(msg, msg_size,
			 "INNBOCKS_RATE_BURST must be 0 (no limit) or at least 1");
		return -1;
	}
	if (cfg->rate_burst == 0)
		cfg->rate_limit = 0;
	public_url_trim(cfg->public_url);
	if (cfg->public_url[0] && !public_url_valid(cfg->public_url)) {
		snprintf(msg, msg_size,
			 "INNBOCKS_PUBLIC_URL must be http:// or https:// and a host, with its "
			 "port if any: no path, query or fragment");
		return -1;
	}
	return 0;
}
