/* http.h - libmicrohttpd glue: turns HTTP requests into struct request
 * (buffering bodies up to the 1 MiB cap) and struct response back. */
#ifndef INNBOCKS_HTTP_H
#define INNBOCKS_HTTP_H

#include "dispatch.h"

struct http_server;

struct writer;

/* How long a client may take to send a request (deadline.h). */
struct http_deadlines {
	int head_ms; /* from accept, or the previous answer, to a complete head */
	int body_ms; /* from the head to a complete body */
};

/* Starts listening on host:port with worker threads serving app; writes go
 * to writer (group commit) when it is not NULL. Returns the server (stopped
 * with http_stop) or NULL with a message on stderr. */
struct http_server *http_start(struct app *app, struct writer *writer, const char *host,
			       int port, const struct http_deadlines *deadlines);
/* Starts a second listener on host:port that answers only GET /metrics,
 * without a token (bind it where only the scraper reaches it), and 404 to
 * anything else. Returns it (stopped with http_stop) or NULL with a message
 * on stderr. */
struct http_server *http_metrics_start(struct app *app, const char *host, int port);
/* Stops accepting connections, waits up to grace_ms for requests in flight
 * (writes waiting for their commit included) to finish, then stops the
 * workers and frees the server. Accepts NULL. */
void http_stop(struct http_server *srv, int grace_ms);

#endif
