/* config.h - the settings of docs/operators.md, from flags or the environment
 * (flags win). */
#ifndef INNBOCKS_CONFIG_H
#define INNBOCKS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "accesslog.h"

#define RETRY_MAX 16

struct config {
	char listen[128];
	char listen_host[128]; /* listen split by config_load() */
	int listen_port;
	char database[1024];
	char admin_token[256]; /* empty when not set */
	bool webhook_allow_loopback;
	int retry_schedule[RETRY_MAX];
	int retry_count;
	long webhook_timeout_ms;
	long head_timeout_ms; /* a request head must be complete within this */
	long body_timeout_ms; /* and its body within this after the head */
	double rate_limit, rate_burst;
	bool group_commit;           /* batch durable writes (writer.h); default on */
	double signin_address_burst; /* dashboard password attempts per client address
				      * before one every 2 s (0: no address limit) */
	enum accesslog_format log;   /* INNBOCKS_LOG: json (default), text or off */
	bool metrics;                /* INNBOCKS_METRICS: count for /metrics; default on */
	char metrics_listen[128];    /* INNBOCKS_METRICS_LISTEN; empty: /metrics on listen */
	char metrics_host[128];      /* metrics_listen split, when set */
	int metrics_port;
	char public_url[256]; /* INNBOCKS_PUBLIC_URL: scheme and host; or empty */
};

/* Fills cfg from the environment, then from the flags in argv (which may
 * be "--name value" or "--name=value"); argv entries that are not
 * settings are left for the caller: their indexes are written to rest
 * (*nrest of them). Returns 0, or -1 with a message in msg. */
int config_load(struct config *cfg, int argc, char **argv, int *rest, int *nrest, char *msg,
		size_t msg_size);

/* Writes the address users reach the server at, for the links it makes
 * (dashboard setup links): INNBOCKS_PUBLIC_URL, else http://LISTEN. */
void config_base_url(const struct config *cfg, char *out, size_t size);

#endif
