/* webhook_worker.c - at-least-once webhook delivery from the outbox.
 *
 * One thread drives a curl multi handle. Every POLL_MS it leases due jobs
 * under its worker id (a lease outlives the attempt timeout, so after a
 * crash another run or another instance takes the job over once the lease
 * ends), sends them, and records each finished attempt with its retry in
 * one write transaction. The database's clock measures the leases
 * (store.h, webhook_claim), and the owner check keeps a worker that lost
 * its lease from moving a job another one holds. */
#include "webhook_worker.h"

#include <curl/curl.h>
#include <pthread.h>
#include <unistd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics.h"
#include "netguard.h"
#include "util.h"
#include "webhook_sign.h"
#include "banned.h"

#define POLL_MS 100
#define MAX_IN_FLIGHT 64
/* Fairness: one endpoint, or one partner's tenant, never holds more of the
 * worker than this, and a freed slot goes to the tenant (and within it the
 * endpoint) with the fewest attempts in flight, so a hanging receiver
 * delays only its own deliveries. */
#define ENDPOINT_IN_FLIGHT 4
#define TENANT_IN_FLIGHT 16
/* Of MAX_IN_FLIGHT, this many are kept for tenants with nothing in flight:
 * when hanging receivers hold all the rest, such a tenant's delivery still
 * leaves at once instead of waiting for one of them to time out. */
#define RESERVED_IN_FLIGHT 8
#define LEASE_MARGIN_S 5
/* The most of a receiver's answer that is read; the rest is not waited for. */
#define ANSWER_MAX (64 * 1024)
/* The most of it kept in the delivery log. */
#define ANSWER_KEPT 4096

/* One attempt in flight; everything it needs is copied out of the arena. */
struct transfer {
	struct transfer *next;
	CURL *easy;
	struct curl_slist *headers;
	struct arena *a; /* holds the job's strings */
	struct webhook_job job;
	double started; /* monotonic seconds */
	int64_t attempted_at;
	bool forbidden;               /* the guard refused the connected address */
	size_t answer_bytes;          /* of the answer's body read so far */
	char answer[ANSWER_KEPT + 1]; /* its first ANSWER_KEPT bytes, NUL-ended */
	bool allow_loopback;
};

struct webhook_worker {
	struct store *store;
	struct checkpointer *checkpointer; /* told after each commit (the WAL's bound) */
	/* This process's worker id, the owner of its leases: host, process
	 * and a random part (a restarted process, or one in another container
	 * with the same pid, is another owner). Ending in base62, it never
	 * ends in the "+resent" a resend marks a running lease with. */
	char owner[96];
	const struct config *cfg;
	pthread_t thread;
	atomic_bool stopping;
	_Atomic double stop_by; /* stopping: when attempts still in flight are cut off */
	atomic_bool woken;      /* webhook_worker_wake() since the last claim */
	CURLM *multi;
	struct transfer *in_flight;
	int count;
};

/* Connects only to addresses the SSRF guard admits; this sees the address
 * actually used, after DNS, so rebinding cannot slip past it. */
static curl_socket_t open_socket(void *clientp, curlsocktype purpose,
				 struct curl_sockaddr *addr)
{
	(void)purpose;
	struct transfer *t = clientp;
	if (netguard_forbidden_addr(&addr->addr, t->allow_loopback)) {
		t->forbidden = true;
		return CURL_SOCKET_BAD;
	}
	return socket(addr->family, addr->socktype, addr->protocol);
}

/* Keeps the first ANSWER_KEPT bytes of the receiver's answer for the
 * delivery log, discards the rest (the status is what matters), and stops
 * the transfer once ANSWER_MAX bytes came (an endless or huge answer would
 * otherwise hold the attempt until its timeout). */
static size_t discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct transfer *t = userdata;
	size_t got = size * nmemb;
	if (t->answer_bytes < ANSWER_KEPT) {
		size_t room = ANSWER_KEPT - t->answer_bytes;
		memcpy(t->answer + t->answer_bytes, ptr, got < room ? got : room);
	}
	t->answer_bytes += got;
	if (t->answer_bytes > ANSWER_MAX)
		return 0; /* curl ends the transfer with CURLE_WRITE_ERROR */
	return size * nmemb;
}

static void transfer_free(struct transfer *t)
{
	if (!t)
		return;
	if (t->easy)
		curl_easy_cleanup(t->easy);
	curl_slist_free_all(t->headers);
	arena_free(t->a);
	free(t);
}

/* Starts the attempt of one leased job (copied into the transfer's arena). */
static void transfer_start(struct webhook_worker *w, const struct webhook_job *job)
{
	struct transfer *t = calloc(1, sizeof(*t));
	if (!t)
		die("out of memory");
	t->a = arena_new();
	t->job = (struct webhook_job){
		.event_id = arena_strdup(t->a, job->event_id),
		.event_type = arena_strdup(t->a, job->event_type),
		.partner_id = arena_strdup(t->a, job->partner_id),
		.payload = arena_strdup(t->a, job->payload),
		.endpoint_id = arena_strdup(t->a, job->endpoint_id),
		.url = arena_strdup(t->a, job->url),
		.secret = arena_strdup(t->a, job->secret),
		.previous_secret = arena_strdup(t->a, job->previous_secret),
		.attempts = job->attempts,
	};
	t->allow_loopback = w->cfg->webhook_allow_loopback;
	t->attempted_at = now_seconds();
	t->started = monotonic_seconds();
	size_t len = strlen(t->job.payload);
	char sig[140], line[256];
	webhook_sign_header(t->job.secret, t->job.previous_secret, t->attempted_at,
			    t->job.payload, len, sig);
	const char *fixed[] = {"Content-Type: application/json",
			       "User-Agent: Innbocks-Webhooks/1", "Expect:"};
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		t->headers = curl_slist_append(t->headers, fixed[i]);
	snprintf(line, sizeof(line), "Innbocks-Event-Id: %s", t->job.event_id);
	t->headers = curl_slist_append(t->headers, line);
	snprintf(line, sizeof(line), "Innbocks-Event-Type: %s", t->job.event_type);
	t->headers = curl_slist_append(t->headers, line);
	snprintf(line, sizeof(line), "Innbocks-Timestamp: %lld", (long long)t->attempted_at);
	t->headers = curl_slist_append(t->headers, line);
	snprintf(line, sizeof(line), "Innbocks-Signature: %s", sig);
	t->headers = curl_slist_append(t->headers, line);

	CURL *c = t->easy = curl_easy_init();
	if (!c || !t->headers)
		die("out of memory starting a webhook attempt");
	curl_easy_setopt(c, CURLOPT_URL, t->job.url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, t->allow_loopback ? "http,https" : "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, t->job.payload);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, t->headers);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, w->cfg->webhook_timeout_ms);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, t);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(c, CURLOPT_PRIVATE, t);
	curl_multi_add_handle(w->multi, c);
	t->next = w->in_flight;
	w->in_flight = t;
	w->count++;
}

/* Leases due jobs and starts them, up to MAX_IN_FLIGHT at once. */
static void claim_due(struct webhook_worker *w)
{
	if (w->count >= MAX_IN_FLIGHT)
		return;
	struct store *s = w->store;
	struct arena *a = arena_new();
	struct err e;
	struct webhook_job *jobs;
	size_t n = 0;
	int lease_s = (int)((w->cfg->webhook_timeout_ms + 999) / 1000) + LEASE_MARGIN_S;
	if (s->ops->tx_begin(s, true, &e) < 0 ||
	    s->ops->webhook_claim(s, a, w->owner, lease_s, MAX_IN_FLIGHT - w->count,
				  RESERVED_IN_FLIGHT, ENDPOINT_IN_FLIGHT, TENANT_IN_FLIGHT,
				  &jobs, &n, &e) < 0 ||
	    s->ops->tx_commit(s, &e) < 0) {
		s->ops->tx_rollback(s);
		if (e.status != 503)
			fprintf(stderr, "innbocks: webhooks: cannot lease jobs: %s\n",
				e.message);
		n = 0;
	}
	if (n)
		checkpointer_wal_bound(w->checkpointer);
	for (size_t i = 0; i < n; i++)
		transfer_start(w, &jobs[i]);
	arena_free(a);
}

/* Names a transport failure as the delivery log shows it. */
static const char *transport_error(const struct transfer *t, CURLcode rc)
{
	if (t->forbidden)
		return "forbidden_address";
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		return "timeout";
	case CURLE_COULDNT_RESOLVE_HOST:
		return "dns_failure";
	case CURLE_COULDNT_CONNECT:
		return "connection_refused";
	case CURLE_UNSUPPORTED_PROTOCOL:
		return "unsupported_protocol";
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
		return "tls_error";
	default:
		return "network_error";
	}
}

/* The kept start of the answer as text: NULL when there was none; NUL
 * bytes become '?', and so does anything else that is not UTF-8 (a
 * character cut at the end is dropped): the log keeps only valid text. */
static const char *answer_text(char answer[ANSWER_KEPT + 1], size_t bytes)
{
	size_t n = bytes < ANSWER_KEPT ? bytes : ANSWER_KEPT;
	/* cppcheck sees answer_bytes grow only through curl's write callback,
	 * so it takes it for always 0 here. */
	/* cppcheck-suppress knownConditionTrueFalse */
	if (n == 0)
		return NULL;
	answer[n] = '\0';
	/* cppcheck-suppress knownConditionTrueFalse */
	for (size_t i = 0; i < n; i++)
		if (answer[i] == '\0')
			answer[i] = '?';
	utf8_make_valid(answer);
	return answer;
}

/* One attempt's outcome, for store_tx_write(). */
struct attempt_record {
	const char *owner;
	const struct webhook_delivery *d;
	const char *job_status;
	bool gone; /* 410: disable the endpoint */
	bool lost; /* the lease was another worker's by then */
};

/* Writes the attempt and moves its job on, in the transaction given. */
static int attempt_store(struct store *s, void *arg, struct err *e)
{
	struct attempt_record *rec = arg;
	int rc = s->ops->webhook_record(s, rec->owner, rec->d, rec->job_status, rec->gone, e);
	rec->lost = rc == STORE_NOT_FOUND;
	return rc < 0 ? -1 : 0;
}

/* Records the outcome of a finished attempt, with its retry, durably (run
 * again when it loses a conflict with a concurrent transaction). */
static void transfer_finish(struct webhook_worker *w, struct transfer *t, CURLcode rc)
{
	/* The attempt counts by the status the endpoint sent within the
	 * timeout, whatever its body did after: cut at ANSWER_MAX, stalled,
	 * trickled past the timeout or ended by a close. The body is only
	 * logged (what came of it); a 2xx whose body never ended is still a
	 * success, and retrying it would deliver the event twice. An
	 * informational 1xx alone is no answer. */
	long status = 0;
	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200)
		status = 0;
	bool answered = status != 0;
	bool ok = answered && status < 300;
	bool gone = status == 410;
	int attempt = t->job.attempts + 1;
	int64_t now = now_seconds();
	struct webhook_delivery d = {
		.id = id_new(t->a, "whd_"),
		.partner_id = t->job.partner_id,
		.event_id = t->job.event_id,
		.event_type = t->job.event_type,
		.endpoint_id = t->job.endpoint_id,
		.url = t->job.url,
		.attempt = attempt,
		.status = ok ? "succeeded" : "failed",
		.response_status = (int)status,
		.error = answered ? NULL : transport_error(t, rc),
		.duration_ms = (int64_t)((monotonic_seconds() - t->started) * 1000.0),
		.attempted_at = t->attempted_at,
		.request_body = t->job.payload,
		.response_body = answer_text(t->answer, t->answer_bytes),
	};
	metrics_webhook_attempt(ok         ? "success"
				: gone     ? "gone"
				: answered ? "http_error"
					   : transport_error(t, rc));
	const char *job_status = "succeeded";
	if (!ok) {
		bool retry = !gone && attempt <= w->cfg->retry_count;
		job_status = retry ? "pending" : "failed";
		if (retry)
			d.next_attempt_at = now + w->cfg->retry_schedule[attempt - 1];
	}
	struct attempt_record rec = {
		.owner = w->owner, .d = &d, .job_status = job_status, .gone = gone};
	struct err e;
	if (store_tx_write(w->store, attempt_store, &rec, &e) < 0) {
		/* The lease runs out and the attempt is made again: at least once. */
		fprintf(stderr, "innbocks: webhooks: cannot record attempt of %s: %s\n",
			t->job.event_id, e.message);
		return;
	}
	/* Like every writer after its commits: a backlog of attempts with
	 * their bodies is a stream of writes of its own, which the main
	 * thread's check twice a second let past the bound. */
	checkpointer_wal_bound(w->checkpointer);
	if (rec.lost) {
		/* The lease ended before the attempt did (a stall longer than
		 * the margin) and another worker took the job over: the attempt
		 * is in the log, the job is the new owner's. */
		fprintf(stderr,
			"innbocks: webhooks: the lease of %s to %s was taken over; attempt "
			"logged, the job left to its new owner\n",
			t->job.event_id, t->job.endpoint_id);
	}
}

/* Collects finished transfers from the multi handle. */
static void reap(struct webhook_worker *w)
{
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(w->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		struct transfer *t = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
		CURLcode rc = msg->data.result;
		curl_multi_remove_handle(w->multi, t->easy);
		transfer_finish(w, t, rc);
		for (struct transfer **p = &w->in_flight; *p; p = &(*p)->next)
			if (*p == t) {
				*p = t->next;
				break;
			}
		w->count--;
		transfer_free(t);
	}
}

/* Cuts off the attempts still in flight when the stop's time is up: not
 * recorded, they are made again once their leases run out, as after a
 * crash. */
static void cut_off_all(struct webhook_worker *w)
{
	while (w->in_flight) {
		struct transfer *t = w->in_flight;
		w->in_flight = t->next;
		curl_multi_remove_handle(w->multi, t->easy);
		transfer_free(t);
	}
	w->count = 0;
}

static void *worker_main(void *arg)
{
	struct webhook_worker *w = arg;
	pthread_setname_np(pthread_self(), "webhooks"); /* as top -H and perf show it */
	double next_claim = 0;
	/* Asked to stop, it claims nothing more and ends between attempts: the
	 * ones in flight run to their answer or their timeout and are recorded
	 * as any other, until stop_by. */
	for (;;) {
		double now = monotonic_seconds();
		bool stopping = atomic_load(&w->stopping);
		if (stopping && (!w->in_flight || now >= atomic_load(&w->stop_by)))
			break;
		if (!stopping && now >= next_claim) {
			claim_due(w);
			next_claim = now + POLL_MS / 1000.0;
		}
		int running = 0;
		curl_multi_perform(w->multi, &running);
		int before = w->count;
		reap(w);
		/* A finished attempt frees its endpoint's share at once: claim
		 * again now, or one endpoint would get at most its share per
		 * poll (40 deliveries a second) however fast its receiver is. */
		if (w->count < before)
			next_claim = 0;
		/* Stopping, there is nothing to claim: only wait for answers. */
		curl_multi_poll(w->multi, NULL, 0, stopping || next_claim ? POLL_MS : 0, NULL);
		/* New jobs committed by this process: claim them now. */
		if (atomic_exchange(&w->woken, false))
			next_claim = 0;
	}
	cut_off_all(w);
	return NULL;
}

struct webhook_worker *webhook_worker_start(struct store *s, const struct config *cfg,
					    struct checkpointer *checkpointer)
{
	struct webhook_worker *w = calloc(1, sizeof(*w));
	if (!w)
		die("out of memory");
	w->store = s;
	w->checkpointer = checkpointer;
	w->cfg = cfg;
	char host[48] = "";
	char rnd[13];
	if (gethostname(host, sizeof(host) - 1) < 0 || !host[0])
		snprintf(host, sizeof(host), "host");
	random_base62(rnd, sizeof(rnd) - 1);
	snprintf(w->owner, sizeof(w->owner), "%s:%ld:%s", host, (long)getpid(), rnd);
	w->multi = curl_multi_init();
	if (!w->multi || pthread_create(&w->thread, NULL, worker_main, w) != 0) {
		fprintf(stderr, "innbocks: cannot start the webhook worker\n");
		curl_multi_cleanup(w->multi);
		free(w);
		return NULL;
	}
	return w;
}

void webhook_worker_wake(struct webhook_worker *w)
{
	if (!w || atomic_exchange(&w->woken, true))
		return; /* none, or woken already and not yet claimed */
	curl_multi_wakeup(w->multi);
}

void webhook_worker_quit(struct webhook_worker *w, int grace_ms)
{
	if (!w || atomic_load(&w->stopping))
		return;
	atomic_store(&w->stop_by, monotonic_seconds() + grace_ms / 1000.0);
	atomic_store(&w->stopping, true);
	curl_multi_wakeup(w->multi);
}

void webhook_worker_stop(struct webhook_worker *w)
{
	if (!w)
		return;
	webhook_worker_quit(w, 0);
	pthread_join(w->thread, NULL);
	curl_multi_cleanup(w->multi);
	free(w);
}
