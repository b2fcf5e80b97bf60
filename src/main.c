/* main.c - one binary: `innbocks serve` runs the server; every other
 * command is the operator command line (cli.c). */
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accesslog.h"
#include "checkpointer.h"
#include "cli.h"
#include "config.h"
#include "event.h"
#include "http.h"
#include "idem.h"
#include "idem_running.h"
#include "metrics.h"
#include "ratelimit.h"
#include "store/store.h"
#include "webhook_worker.h"
#include "writer.h"
#include "banned.h"

#define SHUTDOWN_GRACE_MS 10000
#define MAINTENANCE_EVERY_S 600
#define TICK_MS 500
#define EVENT_PURGE_BATCH 500

/* Deletes events past their retention that no delivery needs any more,
 * with their finished jobs and attempts, a batch per transaction so that
 * requests wait for one batch at most. */
static void events_purge(struct store *s)
{
	struct err e;
	int purged = EVENT_PURGE_BATCH;
	while (purged == EVENT_PURGE_BATCH) {
		if (s->ops->tx_begin(s, true, &e) < 0)
			goto fail;
		if (s->ops->event_purge(s, now_seconds() - EVENT_RETENTION_SECONDS,
					EVENT_PURGE_BATCH, &purged, &e) < 0) {
			s->ops->tx_rollback(s);
			goto fail;
		}
		if (s->ops->tx_commit(s, &e) < 0)
			goto fail;
	}
	return;
fail:
	fprintf(stderr, "innbocks: event purge failed: %s\n", e.message);
}

/* Deletes idempotency records and events past their retention. */
static void maintenance(struct store *s)
{
	struct err e;
	if (s->ops->idem_purge(s, now_seconds() - IDEM_RETENTION_SECONDS, &e) < 0)
		fprintf(stderr, "innbocks: idempotency purge failed: %s\n", e.message);
	events_purge(s);
}

static int serve(const struct config *cfg)
{
	/* Signals are taken by sigwait below; worker threads inherit the mask. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGHUP); /* settings are read at start: nothing to reload */
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);

	metrics_set_enabled(cfg->metrics);
	struct err e;
	struct store *s = store_open(cfg->database, &e);
	if (!s) {
		fprintf(stderr, "innbocks: %s\n", e.message);
		return 1;
	}
	char base_url[300];
	config_base_url(cfg, base_url, sizeof(base_url));
	struct app app = {
		.store = s,
		.ratelimit = ratelimit_new(cfg->rate_limit, cfg->rate_burst),
		.admin_token = cfg->admin_token[0] ? cfg->admin_token : NULL,
		.webhook_allow_loopback = cfg->webhook_allow_loopback,
		.base_url = base_url,
		/* Dashboard password attempts: 10 per account, then one every 30 s;
		 * 50 per client address (INNBOCKS_SIGNIN_ADDRESS_BURST), then one
		 * every 2 s. */
		.signin_by_account = ratelimit_new(1.0 / 30, 10),
		.signin_by_addr = cfg->signin_address_burst > 0
					  ? ratelimit_new(0.5, cfg->signin_address_burst)
					  : NULL,
		.log = cfg->log,
		.running = idem_running_new(),
	};
	/* Every instance on a shared database spends from the same buckets:
	 * API keys' and the dashboard's sign-in attempts'. */
	if (s->shared) {
		ratelimit_share(app.ratelimit, s, "key");
		ratelimit_share(app.signin_by_account, s, "signin-account");
		if (app.signin_by_addr)
			ratelimit_share(app.signin_by_addr, s, "signin-address");
	}
	maintenance(s);
	struct checkpointer *checkpointer = checkpointer_start(s);
	app.checkpointer = checkpointer;
	struct webhook_worker *worker = webhook_worker_start(s, cfg, checkpointer);
	app.worker = worker;
	/* Group commit only where the backend gains from it (store.h). */
	bool batch = cfg->group_commit && s->group_commit;
	struct writer *writer = batch && worker && checkpointer ? writer_start(s, checkpointer)
								: NULL;
	struct http_deadlines deadlines = {(int)cfg->head_timeout_ms,
					   (int)cfg->body_timeout_ms};
	struct http_server *srv = worker && checkpointer && (writer || !batch)
					  ? http_start(&app, writer, cfg->listen_host,
						       cfg->listen_port, &deadlines)
					  : NULL;
	struct http_server *metrics_srv = NULL;
	if (srv && cfg->metrics_listen[0]) {
		metrics_srv = http_metrics_start(&app, cfg->metrics_host, cfg->metrics_port);
		if (!metrics_srv) {
			http_stop(srv, 0);
			srv = NULL;
		}
	}
	if (!srv) {
		writer_stop(writer);
		checkpointer_stop(checkpointer);
		webhook_worker_stop(worker);
		ratelimit_free(app.ratelimit);
		ratelimit_free(app.signin_by_account);
		ratelimit_free(app.signin_by_addr);
		idem_running_free(app.running);
		s->ops->close(s);
		return 1;
	}
	/* A PostgreSQL connection string may hold a password: never logged. */
	fprintf(stderr, "innbocks: listening on http://%s (database %s)\n", cfg->listen,
		store_is_postgres(cfg->database) ? "on PostgreSQL" : cfg->database);
	if (metrics_srv)
		fprintf(stderr, "innbocks: metrics on http://%s/metrics\n",
			cfg->metrics_listen);
	/* The main thread waits for a signal, checking the write-ahead log's
	 * bound in between too (a log left near it by the last writes), and
	 * purging old idempotency records and events. */
	int ticks = 0;
	for (;;) {
		struct timespec tick = {0, TICK_MS * 1000000L};
		int sig = sigtimedwait(&stop, NULL, &tick);
		if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP)
			break;
		accesslog_flush(); /* an idle server's last lines */
		checkpointer_wal_bound(checkpointer);
		/* After a full or read-only disk, notice its recovery by itself. */
		s->ops->probe_write(s, &e);
		if (++ticks == MAINTENANCE_EVERY_S * 1000 / TICK_MS) {
			maintenance(s);
			ticks = 0;
		}
	}
	fprintf(stderr, "innbocks: stopping\n");
	/* Its last attempts end beside the requests in flight, in the same grace. */
	webhook_worker_quit(worker, SHUTDOWN_GRACE_MS);
	http_stop(metrics_srv, SHUTDOWN_GRACE_MS);
	http_stop(srv, SHUTDOWN_GRACE_MS);
	accesslog_flush(); /* the HTTP threads are gone: every line goes out */
	writer_stop(writer);
	webhook_worker_stop(worker);
	checkpointer_stop(checkpointer); /* after the writer and the worker, which wake it */
	ratelimit_free(app.ratelimit);
	ratelimit_free(app.signin_by_account);
	ratelimit_free(app.signin_by_addr);
	idem_running_free(app.running);
	s->ops->close(s);
	return 0;
}

int main(int argc, char **argv)
{
	static struct config cfg;
	char msg[256];
	int *rest = calloc((size_t)argc + 1, sizeof(int));
	char **args = calloc((size_t)argc + 1, sizeof(char *));
	if (!rest || !args)
		return 1;
	int nrest = 0, code;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (config_load(&cfg, argc, argv, rest, &nrest, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "innbocks: %s\n", msg);
		code = 2;
		goto out;
	}
	for (int i = 0; i < nrest; i++)
		args[i] = argv[rest[i]];
	if (nrest < 1 || strcmp(args[0], "serve") != 0) {
		code = cli_run(&cfg, nrest, args);
	} else if (nrest == 1) {
		code = serve(&cfg);
	} else {
		/* The settings took their flags out: what is left is a flag no
		 * setting has, or an argument serve does not take. */
		if (strncmp(args[1], "--", 2) == 0)
			fprintf(stderr,
				"innbocks: unknown option %s for 'serve' (its options are the "
				"settings of docs/operators.md#settings)\n",
				args[1]);
		else
			fprintf(stderr,
				"innbocks: 'serve' takes no argument besides its options; '%s' is "
				"one too many\n",
				args[1]);
		code = 2;
	}
out:
	curl_global_cleanup();
	free(rest);
	free(args);
	return code;
}
