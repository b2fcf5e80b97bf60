/* http.c - libmicrohttpd glue. Never uses MHD's PostProcessor: bodies are
 * JSON, buffered here with a hard cap and parsed by the dispatcher.
 *
 * Modes (measured on MHD 0.9.75): epoll with a pool of worker threads (>= 2 avoids
 * MHD's single-thread stall at multiples of 128 ready connections), fixed
 * deadlines for a request's head and body against slowloris (deadline.h;
 * MHD's own timeout restarts with every byte), and responses queued only
 * after the first handler call, so keep-alive survives. */
#include "http.h"
#include "deadline.h"
#include "hasher.h"
#include "metrics.h"
#include "validate.h"
#include "writer.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "banned.h"

#define CONNECTION_TIMEOUT_S 30
#define CONNECTION_LIMIT 4096
/* Descriptors kept back from clients: database connections (one per
 * thread), webhook sockets, logs, the listening socket and MHD's own. */
#define FD_RESERVE 160
#define CONNECTION_MEMORY \
	(16 * 1024) /* headers in, per connection; MHD zeroes it per request */
/* A body over BODY_MAX is read and dropped, so the client can read its 413;
 * one announced larger than this is refused before it is sent. */
#define BODY_DISCARD_MAX (64ull * 1024 * 1024)
/* Bodies announced larger than this (or chunked) are read only once the
 * headers pass dispatch_admissible(). */
#define EARLY_CHECK_MIN (16 * 1024)
/* The most memory all bodies being read may hold at once. */
#define BODY_BUFFER_MAX ((size_t)256 * 1024 * 1024)

struct http_server {
	struct MHD_Daemon *daemon;
	struct app *app;
	struct writer *writer;       /* NULL: each write commits on its own */
	struct hasher *hasher;       /* runs routes' before hooks (password hashing) */
	struct deadlines *deadlines; /* NULL on the metrics listener */
	char keep_alive[32];         /* the Keep-Alive header ("timeout=10"), or "" */
	atomic_int in_flight;
	atomic_size_t body_bytes; /* buffered by requests being read */
	atomic_bool stopping;     /* no new suspensions: MHD must not stop with one */
	bool metrics_only;        /* the INNBOCKS_METRICS_LISTEN listener */
};

struct query_collect {
	struct arena *a; /* made for the first parameter */
	struct query_param items[QUERY_MAX];
	size_t n;
	bool overflow;
	bool nul;             /* a key or value held a NUL byte (%00) */
	const char *repeated; /* the first key given twice, or NULL */
};

/* One request's state between handler calls (and, for a write waiting for
 * its group commit, while the connection is suspended). */
struct pending {
	bool started;    /* on_request has seen this request */
	bool uri_nul;    /* the raw URI spells a NUL byte (%00) */
	bool uri_slash;  /* the raw path spells a slash (%2F) */
	bool after_stop; /* arrived once the server was stopping: refused, 503 */
	struct http_server *srv;
	struct MHD_Connection *conn;
	char client_addr[INET6_ADDRSTRLEN];
	char *body;
	size_t len, cap;
	bool too_large;
	bool overloaded;      /* dropped: BODY_BUFFER_MAX was reached */
	atomic_bool answered; /* resp is final: queue it on the next call */
	struct ctx *call;     /* a write waiting for its group commit */
	struct query_collect query;
	struct request req;
	struct response resp;
	int64_t arrived_us; /* wall clock, for the access log */
	int64_t started_us; /* monotonic, for the duration */
};

/* Returns the monotonic clock in microseconds. */
static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
				     size_t key_size, const char *value, size_t value_size)
{
	(void)kind;
	struct query_collect *q = cls;
	if (q->n == QUERY_MAX) {
		q->overflow = true;
		return MHD_NO;
	}
	/* A decoded %00 would silently cut the text short. */
	if (strlen(key) != key_size || (value && strlen(value) != value_size))
		q->nul = true;
	for (size_t i = 0; i < q->n && !q->repeated; i++)
		if (strcmp(q->items[i].key, key) == 0)
			q->repeated = q->items[i].key;
	if (!q->a)
		q->a = arena_new();
	q->items[q->n].key = arena_strdup(q->a, key);
	q->items[q->n].value = arena_strdup(q->a, value ? value : "");
	q->n++;
	return MHD_YES;
}

/* Returns true when the path of a raw URI (before any '?') spells a slash
 * as %2F: decoded, it would split a segment in two. */
static bool path_spells_slash(const char *uri)
{
	for (const char *s = uri; *s && *s != '?'; s++)
		if (s[0] == '%' && s[1] == '2' && (s[2] == 'F' || s[2] == 'f'))
			return true;
	return false;
}

/* Sees every request's URI before MHD decodes it, and starts the request's
 * state with what only the raw form shows: a NUL byte spelled %00, a slash
 * spelled %2F in the path. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	(void)conn;
	struct http_server *srv = cls;
	/* Zeroed but for the answer's header slots, which resp.nheaders says
	 * are unused: 2.7 KiB a request that zeroing them cost every answer. */
	struct pending *p = malloc(sizeof(*p));
	if (!p)
		die("out of memory");
	memset(p, 0, offsetof(struct pending, resp.headers));
	memset(&p->resp.nheaders, 0, sizeof(*p) - offsetof(struct pending, resp.nheaders));
	atomic_fetch_add(&srv->in_flight, 1);
	p->started_us = mono_us();
	p->arrived_us = accesslog_now_us();
	p->uri_nul = strstr(uri, "%00") != NULL;
	p->uri_slash = path_spells_slash(uri);
	p->after_stop = atomic_load(&srv->stopping);
	return p;
}

static enum MHD_Result send_response(struct http_server *srv, struct MHD_Connection *conn,
				     struct response *r)
{
	struct MHD_Response *mr = MHD_create_response_from_buffer(r->body_len, r->body,
								  MHD_RESPMEM_MUST_FREE);
	if (!mr)
		return MHD_NO;
	r->body = NULL; /* MHD frees it */
	MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE,
				r->content_type ? r->content_type
						: "application/json; charset=utf-8");
	for (int i = 0; i < r->nheaders; i++)
		MHD_add_response_header(mr, r->headers[i].name, r->headers[i].value);
	/* Stopping, the connection closes after this answer, so no request
	 * is sent on it that the stop would cut off. Else: when an idle
	 * connection will be closed (the head deadline), so clients stop
	 * reusing it before, not as, it happens. */
	if (atomic_load(&srv->stopping))
		MHD_add_response_header(mr, MHD_HTTP_HEADER_CONNECTION, "close");
	else if (srv->keep_alive[0])
		MHD_add_response_header(mr, "Keep-Alive", srv->keep_alive);
	enum MHD_Result ret = MHD_queue_response(conn, (unsigned)r->status, mr);
	MHD_destroy_response(mr);
	return ret;
}

/* Runs on the writer thread when a suspended request's answer is final. */
static void on_written(void *cls)
{
	struct pending *p = cls;
	dispatch_end(p->call);
	p->call = NULL;
	p->answered = true;
	MHD_resume_connection(p->conn);
}

/* Runs on a hasher thread: the route's slow before hook, then the write
 * (handed to the writer, or run here without one). */
static void after_before(void *cls)
{
	struct pending *p = cls;
	struct http_server *srv = p->srv;
	if (dispatch_before(p->call) < 0) {
		on_written(p);
	} else if (srv->writer && !atomic_load(&srv->stopping)) {
		writer_submit(srv->writer, p->call, on_written, p);
	} else {
		dispatch_write(p->call);
		on_written(p);
	}
}

/* Writes the connection's peer address into p->client_addr ("" if none). */
static void client_addr_get(struct pending *p, struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
		conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	p->client_addr[0] = '\0';
	if (!ci || !ci->client_addr)
		return;
	const struct sockaddr *sa = ci->client_addr;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		ipv4_text((const unsigned char *)&in->sin_addr.s_addr, p->client_addr);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, p->client_addr, sizeof(p->client_addr));
	}
}

/* Returns the connection's deadline (NULL on the metrics listener). */
static struct deadline *conn_deadline(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
		conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

/* Gives each connection its deadline from accept to close. MHD notifies
 * "closed" before it closes the socket (deadline.c relies on it). */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct http_server *srv = cls;
	if (!srv->deadlines)
		return;
	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		deadline_close(srv->deadlines, *socket_context);
		*socket_context = NULL;
		return;
	}
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
		conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci)
		*socket_context = deadline_open(srv->deadlines, ci->connect_fd);
}

/* What one pass over a request's headers finds: the ones the dispatcher
 * reads (the first of each name, as MHD's lookup would give) and the
 * framing headers, counted. */
struct headers {
	struct request *req;
	const char *content_length; /* the first */
	int content_lengths, transfer_encodings, hosts;
	bool chunked_only; /* every Transfer-Encoding is exactly "chunked" */
	bool bad_name;     /* a name that is not an RFC 9110 token */
};

/* Keeps the value of a header the server reads, sent once; a second one
 * is remembered as the request's repeated header (which copy the client
 * meant, no one can tell). */
static void once(struct request *r, const char **slot, const char *value, const char *name)
{
	if (*slot)
		r->header_repeated = r->header_repeated ? r->header_repeated : name;
	else
		*slot = value ? value : "";
}

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
				      size_t key_size, const char *value, size_t value_size)
{
	(void)kind;
	(void)value_size;
	struct headers *h = cls;
	struct request *r = h->req;
	/* A name with a space or a tab in it ("Content-Length : 5") is one
	 * libmicrohttpd keeps as it came: the server would not see the framing
	 * header a proxy in front may have read. */
	if (!valid_header_name(key, key_size))
		h->bad_name = true;
	switch (key_size) { /* by length first: a name is compared with one or two at most */
#define IS(name) (key_size == sizeof(name) - 1 && strcasecmp(key, name) == 0)
	case 4:
		if (IS(MHD_HTTP_HEADER_HOST))
			h->hosts++;
		break;
	case 6:
		if (IS(MHD_HTTP_HEADER_COOKIE))
			once(r, &r->cookie, value, MHD_HTTP_HEADER_COOKIE);
		break;
	case 12:
		if (IS(MHD_HTTP_HEADER_CONTENT_TYPE))
			once(r, &r->content_type, value, MHD_HTTP_HEADER_CONTENT_TYPE);
		else if (IS("X-CSRF-Token"))
			once(r, &r->csrf_token, value, "X-CSRF-Token");
		break;
	case 13:
		if (IS(MHD_HTTP_HEADER_AUTHORIZATION))
			once(r, &r->authorization, value, MHD_HTTP_HEADER_AUTHORIZATION);
		else if (IS("Innbocks-Mode"))
			once(r, &r->mode, value, "Innbocks-Mode");
		break;
	case 14:
		if (IS(MHD_HTTP_HEADER_CONTENT_LENGTH)) {
			if (!h->content_lengths++)
				h->content_length = value ? value : "";
		}
		break;
	case 15:
		if (IS("Idempotency-Key"))
			once(r, &r->idempotency_key, value, "Idempotency-Key");
		break;
	case 17:
		if (IS(MHD_HTTP_HEADER_TRANSFER_ENCODING)) {
			h->transfer_encodings++;
			if (!value || strcasecmp(value, "chunked") != 0)
				h->chunked_only = false;
		}
		break;
	default:
		break;
	}
#undef IS
	return MHD_YES;
}

/* Returns why the request's length cannot be trusted (the patterns of
 * request smuggling: RFC 9112 section 6.3), or NULL. libmicrohttpd would
 * take the first Content-Length and hang on a coding it does not know. */
static const char *framing_problem(const struct headers *h, const char *version)
{
	if (h->bad_name)
		return "a header name holds a space or another character a name cannot have "
		       "(RFC 9110 section 5.6.2)";
	if (h->content_lengths > 1)
		return "send one Content-Length header, not several";
	if (h->transfer_encodings > 1 || !h->chunked_only)
		return "the only Transfer-Encoding accepted is chunked, sent once";
	if (h->transfer_encodings && h->content_lengths)
		return "send Content-Length or Transfer-Encoding, not both";
	if (h->hosts != 1 && strcmp(version, MHD_HTTP_VERSION_1_1) == 0)
		return "an HTTP/1.1 request needs exactly one Host header";
	return NULL;
}

/* Returns the path of a request target: url itself, or the path of one in
 * absolute form ("http://host/path", which RFC 9112 section 3.2.2 has
 * servers accept; libmicrohttpd hands it on as it came, its query split
 * off). */
static const char *target_path(const char *url)
{
	size_t scheme = strncasecmp(url, "http://", 7) == 0    ? 7
			: strncasecmp(url, "https://", 8) == 0 ? 8
							       : 0;
	if (!scheme)
		return url;
	const char *slash = strchr(url + scheme, '/');
	return slash ? slash : "/";
}

/* Builds p->req from the connection's headers and query (the body, if
 * any, is added when it has been read), reading the headers once; h gets
 * the framing headers. */
static void request_build(struct http_server *srv, struct pending *p,
			  struct MHD_Connection *conn, const char *url, const char *method,
			  const char *version, struct headers *h)
{
	p->srv = srv;
	client_addr_get(p, conn);
	MHD_get_connection_values_n(conn, MHD_GET_ARGUMENT_KIND, collect_query, &p->query);
	p->req = (struct request){
		.method = method,
		.path = target_path(url),
		.query = p->query.items,
		.nquery = p->query.n,
		.query_overflow = p->query.overflow,
		.query_repeated = p->query.repeated,
		.client_addr = p->client_addr[0] ? p->client_addr : NULL,
	};
	*h = (struct headers){.req = &p->req, .chunked_only = true};
	MHD_get_connection_values_n(conn, MHD_HEADER_KIND, collect_header, h);
	p->req.has_nul = p->uri_nul || p->query.nul;
	p->req.path_slash = p->uri_slash;
	p->req.bad_framing = framing_problem(h, version);
}

/* Answers p with the error e, without the dispatcher: no route ran. As
 * every refusal, never cached (resp_error adds Retry-After to a 503). */
static void answer_refusal(struct pending *p, const struct err *e)
{
	if (!p->query.a)
		p->query.a = arena_new();
	const char *id = id_new(p->query.a, "req_");
	resp_header_add(&p->resp, "X-Request-Id", id);
	resp_header_add(&p->resp, "Cache-Control", "no-store");
	snprintf(p->resp.facts.request_id, sizeof(p->resp.facts.request_id), "%s", id);
	p->resp.facts.livemode = -1;
	resp_error(&p->resp, e, id);
	p->answered = true;
}

/* Answers the request whose body (if any) has been read, or hands its
 * write to the group-commit writer (suspending the connection). */
static void start_answer(struct http_server *srv, struct pending *p,
			 struct MHD_Connection *conn, const char *url)
{
	p->req.body = p->body;
	p->req.body_len = p->len;
	p->req.body_too_large = p->too_large;
	p->req.body_overloaded = p->overloaded;
	if (srv->metrics_only) {
		/* This listener is for the scraper: /metrics without a token, and
		 * nothing else at all. */
		if (strcmp(url, "/metrics") == 0) {
			p->req.operator_trusted = true;
		} else {
			struct err e;
			error(&e, 404, "route_not_found", NULL,
			      "this listener serves GET /metrics only");
			answer_refusal(p, &e);
			return;
		}
	}
	/* A request that came once the stop began (on a connection kept
	 * alive) never runs: the client can tell it from one that did. */
	if (p->after_stop) {
		struct err e;
		error(&e, 503, "unavailable", NULL,
		      "the server is stopping; send the request again (to another instance, or "
		      "to this one once it is back)");
		/* Counted and logged under its route, as the dispatcher's answers. */
		p->resp.facts.route = router_lookup(p->req.method, p->req.path);
		answer_refusal(p, &e);
		return;
	}
	if (atomic_load(&srv->stopping)) {
		dispatch(srv->app, &p->req, &p->resp);
		p->answered = true;
		return;
	}
	struct ctx *c = dispatch_start(srv->app, &p->req, &p->resp);
	if (!c) {
		p->answered = true;
		return;
	}
	if (!srv->writer && !c->route->before) {
		dispatch_write(c);
		dispatch_end(c);
		p->answered = true;
		return;
	}
	p->conn = conn;
	p->call = c;
	MHD_suspend_connection(conn);
	if (c->route->before)
		hasher_submit(srv->hasher, after_before, p);
	else
		writer_submit(srv->writer, c, on_written, p);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct http_server *srv = cls;
	struct pending *p = *con_cls; /* made by on_uri */
	if (!p->started) {
		p->started = true;
		struct headers h;
		request_build(srv, p, conn, url, method, version, &h);
		unsigned long long announced = h.content_length
						       ? strtoull(h.content_length, NULL, 10)
						       : 0;
		p->too_large = announced > BODY_MAX;
		/* A body worth holding memory for is read only for a request that
		 * its headers already admit (route, content type, credentials):
		 * anyone else's upload is refused before a byte of it is kept. */
		bool refuse = announced > BODY_DISCARD_MAX || p->req.bad_framing;
		if (!refuse && (announced > EARLY_CHECK_MIN || h.transfer_encodings) &&
		    !dispatch_admissible(srv->app, &p->req)) {
			p->req.body_announced = true;
			refuse = true;
		}
		if (!refuse) {
			/* The body, if any, is due within the body deadline. */
			deadline_body(srv->deadlines, conn_deadline(conn));
			return MHD_YES; /* answer on a later call, so keep-alive survives */
		}
		if (!deadline_none(conn_deadline(conn)))
			return MHD_NO; /* closed by its deadline: nothing to answer */
		/* Answer at once; MHD closes the connection, and a client still
		 * sending may see the close before the answer. */
		start_answer(srv, p, conn, url);
		if (p->req.bad_framing) /* what follows on the stream is not a request */
			resp_header_add(&p->resp, "Connection", "close");
		return send_response(srv, conn, &p->resp);
	}
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (p->too_large || p->overloaded)
			return MHD_YES; /* already refused: the rest is discarded */
		if (p->len + n > BODY_MAX) {
			p->too_large = true;
			return MHD_YES;
		}
		if (p->len + n > p->cap) {
			size_t cap = p->cap ? p->cap : 4096;
			while (cap < p->len + n)
				cap *= 2;
			/* All bodies being read share BODY_BUFFER_MAX; past it this
			 * one is dropped and answered 503. */
			size_t more = cap - p->cap;
			if (atomic_fetch_add(&srv->body_bytes, more) + more > BODY_BUFFER_MAX) {
				atomic_fetch_sub(&srv->body_bytes, more);
				p->overloaded = true;
				return MHD_YES;
			}
			char *nb = realloc(p->body, cap);
			if (!nb)
				return MHD_NO;
			p->body = nb;
			p->cap = cap;
		}
		memcpy(p->body + p->len, upload_data, n);
		p->len += n;
		return MHD_YES;
	}

	if (p->answered)
		return send_response(srv, conn, &p->resp);
	/* A request complete only once its deadline closed the connection
	 * (read after the process resumed from a stop) never runs: its client
	 * saw the connection close and cannot tell whether it did. */
	if (!deadline_none(conn_deadline(conn)))
		return MHD_NO;
	start_answer(srv, p, conn, url);
	if (!p->answered)
		return MHD_YES; /* suspended until the writer commits it */
	return send_response(srv, conn, &p->resp);
}

/* Logs an answered request, once its answer has gone out: the access
 * log line never delays the answer. */
static void record(struct http_server *srv, const struct pending *p)
{
	int64_t duration = mono_us() - p->started_us;
	metrics_request(p->resp.facts.route, p->req.method, p->resp.status, duration,
			p->resp.facts.replayed);
	if (srv->app->log != ACCESSLOG_OFF) {
		struct accesslog_entry e = {
			.time_us = p->arrived_us,
			.source = "http",
			.method = p->req.method,
			.status = p->resp.status,
			.duration_us = duration,
			.bytes_out = p->resp.body_len,
			.exit_code = -1,
			.facts = &p->resp.facts,
		};
		accesslog_append(STDOUT_FILENO, srv->app->log, &e);
	}
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)toe;
	struct http_server *srv = cls;
	struct pending *p = *con_cls;
	if (!p)
		return;
	/* The next request's head is due from now (keep-alive). */
	deadline_head(srv->deadlines, conn_deadline(conn));
	if (p->resp.status && p->req.method)
		record(srv, p);
	atomic_fetch_sub(&srv->body_bytes, p->cap);
	free(p->body);
	arena_free(p->query.a);
	resp_free(&p->resp);
	free(p);
	*con_cls = NULL;
	atomic_fetch_sub(&srv->in_flight, 1);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	fputs("innbocks: http: ", stderr);
	vfprintf(stderr, fmt, ap);
}

/* Returns how many client connections fit in the process's descriptors
 * (raising the soft limit to the hard one first), less FD_RESERVE, at most
 * CONNECTION_LIMIT: more would make accept() fail, and the database and the
 * webhook worker starve, for as long as an attack lasts. */
static unsigned connection_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 256;
	if (rl.rlim_cur < rl.rlim_max) {
		struct rlimit raised = {rl.rlim_max, rl.rlim_max};
		if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
			rl = raised;
	}
	rlim_t n = rl.rlim_cur;
	if (n == RLIM_INFINITY || n > CONNECTION_LIMIT + FD_RESERVE)
		return CONNECTION_LIMIT;
	return n > FD_RESERVE + 16 ? (unsigned)(n - FD_RESERVE) : 16u;
}

/* One worker thread per core, at least two: more threads than cores only
 * adds context switches to the tail latency (writes never block a worker:
 * they wait for their group commit suspended), and fewer than two would
 * meet MHD's single-epoll-thread stall. */
static unsigned worker_threads(void)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	return cores > 2 ? (unsigned)cores : 2u;
}

/* Starts the daemon: the API's (a pool of epoll threads) or, metrics_only,
 * the scraper's (one poll thread: it serves a request now and then). */
static struct http_server *start(struct app *app, struct writer *writer, const char *host,
				 int port, const struct http_deadlines *dl)
{
	bool metrics_only = dl == NULL;
	struct sockaddr_in6 a6 = {0};
	struct sockaddr_in a4 = {0};
	const struct sockaddr *addr;
	unsigned flags = metrics_only ? MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG |
						MHD_USE_ITC
				      : MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG |
						MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME;
	if (inet_pton(AF_INET, host, &a4.sin_addr) == 1) {
		a4.sin_family = AF_INET;
		a4.sin_port = htons((uint16_t)port);
		addr = (const struct sockaddr *)&a4;
	} else if (inet_pton(AF_INET6, host, &a6.sin6_addr) == 1) {
		a6.sin6_family = AF_INET6;
		a6.sin6_port = htons((uint16_t)port);
		addr = (const struct sockaddr *)&a6;
		flags |= MHD_USE_IPv6;
	} else if (strcmp(host, "localhost") == 0) {
		a4.sin_family = AF_INET;
		a4.sin_port = htons((uint16_t)port);
		a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		addr = (const struct sockaddr *)&a4;
	} else {
		fprintf(stderr, "innbocks: cannot listen on '%s': give an IP address\n", host);
		return NULL;
	}
	struct http_server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		die("out of memory");
	srv->app = app;
	srv->writer = writer;
	srv->hasher = hasher_start(2);
	srv->deadlines = dl ? deadlines_start(dl->head_ms, dl->body_ms) : NULL;
	if (dl)
		snprintf(srv->keep_alive, sizeof(srv->keep_alive), "timeout=%d",
			 dl->head_ms / 1000);
	if (!srv->hasher || (dl && !srv->deadlines)) {
		hasher_stop(srv->hasher);
		free(srv);
		return NULL;
	}
	unsigned limit = connection_limit();
	srv->metrics_only = metrics_only;
	/* A thread pool for the API; the scraper's listener has its one thread. */
	struct MHD_OptionItem pool[] = {
		{MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)worker_threads(), NULL},
		{MHD_OPTION_END, 0, NULL},
	};
	struct MHD_OptionItem no_pool[] = {{MHD_OPTION_END, 0, NULL}};
	srv->daemon = MHD_start_daemon(
		flags, (uint16_t)port, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER,
		on_mhd_log, NULL, MHD_OPTION_SOCK_ADDR, addr, MHD_OPTION_ARRAY,
		metrics_only ? no_pool : pool, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)CONNECTION_TIMEOUT_S, MHD_OPTION_CONNECTION_LIMIT, limit,
		/* One address (a proxy, a NAT) gets at most a quarter. */
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, limit / 4 > 8 ? limit / 4 : limit,
		MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_URI_LOG_CALLBACK,
		on_uri, srv, MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv, MHD_OPTION_END);
	if (!srv->daemon) {
		fprintf(stderr, "innbocks: cannot listen on %s:%d\n", host, port);
		deadlines_stop(srv->deadlines);
		hasher_stop(srv->hasher);
		free(srv);
		return NULL;
	}
	return srv;
}

struct http_server *http_start(struct app *app, struct writer *writer, const char *host,
			       int port, const struct http_deadlines *deadlines)
{
	return start(app, writer, host, port, deadlines);
}

struct http_server *http_metrics_start(struct app *app, const char *host, int port)
{
	return start(app, NULL, host, port, NULL);
}

void http_stop(struct http_server *srv, int grace_ms)
{
	if (!srv)
		return;
	/* From here every write commits on its own, so once the requests in
	 * flight are done no connection is left suspended for MHD_stop_daemon;
	 * and a request that arrives is refused (on_uri). Set first, so that a
	 * client refused a connection knows the stop has begun. */
	atomic_store(&srv->stopping, true);
	MHD_socket listener = MHD_quiesce_daemon(srv->daemon);
	/* Refuse new connections at once. Quiesced, the socket still listens:
	 * the kernel completes handshakes into its backlog, which no one
	 * accepts, and those clients hang until the exit resets them. MHD
	 * wants it open until it has stopped, so it is shut down, not closed. */
	if (listener != MHD_INVALID_SOCKET)
		shutdown(listener, SHUT_RDWR);
	struct timespec tick = {0, 10 * 1000 * 1000};
	for (int waited = 0; waited < grace_ms && atomic_load(&srv->in_flight) > 0;
	     waited += 10)
		nanosleep(&tick, NULL);
	MHD_stop_daemon(srv->daemon);
	if (listener != MHD_INVALID_SOCKET)
		close(listener);
	deadlines_stop(srv->deadlines); /* every connection has closed */
	hasher_stop(srv->hasher);
	free(srv);
}
