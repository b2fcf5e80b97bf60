/* store.h - the storage interface. Handlers speak only to struct store and
 * reach its backend through s->ops, the backend's one const table of
 * operations (struct store_ops: store_sqlite_ops in store_sqlite.c,
 * store_pg_ops in store_pg.c), as curl's vtls.h does for its TLS backends.
 * Every state change and the events it causes are written between one
 * tx_begin() and tx_commit() on the calling thread.
 *
 * Conventions for every operation:
 * - returns 0 on success, STORE_NOT_FOUND when the object does not exist
 *   (for the partner given), -1 on failure with e filled: 503 unavailable
 *   for busy or unreachable storage, 409 for a unique value a client can
 *   take first (store_conflict(): external_id_conflict, user_exists), 500
 *   for anything else;
 * - tenancy fails closed: an operation that takes a partner id (or a
 *   tenant id) reads and writes that partner's rows only, and refuses NULL
 *   with a 500 (store_partner_required()) rather than reading every
 *   partner's. A read by id takes the partner the row must belong to and
 *   answers STORE_NOT_FOUND for another's, so no handler checks ownership
 *   after reading. The reads across partners (the operator's, and
 *   sign-in's and a setup link's, which find a user before knowing its
 *   partner) are operations of their own, named for it:
 *   customer_get_any_partner, mail_get_any_partner, action_get_any_partner,
 *   action_list_any_partner, event_list_any_partner, key_get_any_partner,
 *   endpoint_get_any_partner, user_get_any_partner; a read by a secret's
 *   hash (key_find_by_hash, session_find, operator_token_find, user_setup_use)
 *   finds whoever holds the secret;
 * - a write by id (customer_update, key_touch, ...) changes the row the
 *   caller read in the same transaction; it returns 0 even when no row has
 *   the id;
 * - a paged list (one taking pg) fills *items (arena), *n and *has_more
 *   with up to pg->limit items;
 * - strings in results are allocated in the arena a and die with it;
 * - inputs are borrowed; times are Unix seconds, 0 meaning null.
 * The structs below never own their strings (const char *): they point into
 * an arena, the request, or a string literal. */
#ifndef INNBOCKS_STORE_H
#define INNBOCKS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "resp.h"
#include "util.h"

#define STORE_NOT_FOUND 1
/* event_insert's success when it is sure it queued no delivery job (no
 * endpoint wants the event), so no delivery worker needs waking; a backend
 * that cannot tell cheaply answers 0. */
#define STORE_NONE_QUEUED 2

struct address {
	const char *name; /* forwarding addresses only; NULL for locations */
	const char *line1, *line2, *city, *state, *postal_code, *country;
};

struct partner {
	const char *id;
	const char *name;
	struct address location;
	int64_t created_at;
};

struct api_key {
	const char *id, *partner_id, *name;
	const char *prefix; /* the first characters of the key, shown in lists */
	const char *hash;   /* lowercase hex SHA-256 of the full key */
	unsigned scopes;    /* SCOPE_* bits (auth.h) */
	int64_t created_at, last_used_at, revoked_at;
};

struct mailbox {
	const char *id;
	const char *number;
	const char *status; /* reserved | active | closed */
	int64_t reserved_at, activated_at, closed_at;
};

struct customer {
	const char *id, *partner_id;
	const char *external_id; /* NULL when unset */
	const char *email, *name;
	const char *phone; /* NULL when unset */
	bool prepay, own_billing_active;
	const char *status;      /* invited | active | deactivated */
	const char *form_status; /* not_started | submitted | approved | rejected */
	int64_t form_submitted_at, form_approved_at;
	const char *form_rejection_reason;
	const char *identity_status; /* not_started | pending | verified | failed */
	int64_t identity_verified_at;
	const char *identity_failure_reason;
	int64_t compliance_updated_at;
	const char *metadata; /* a JSON object, as text */
	int64_t created_at, updated_at, deactivated_at;
	const char *deactivation_reason;
	struct mailbox mailbox;
	struct address
		location; /* the partner's; filled only by api_customer_location_load() */
};

struct event {
	const char *id, *partner_id, *type;
	int64_t created_at;
	const char *payload; /* the whole event JSON, exactly as delivered */
};

/* What GET /api/v1/events filters on. Times are inclusive-exclusive bounds:
 * an event is listed when created_gte <= created_at < created_lt. */
struct event_filter {
	const char *type;   /* one type, or NULL */
	const char *family; /* a type prefix with its dot ("customer."), or NULL */
	int64_t created_gte, created_lt;
	/* Events created before this are expired: never listed, and not a
	 * cursor either. */
	int64_t not_before;
};

struct mail {
	const char *id, *partner_id, *customer_id, *mailbox_id;
	const char *type;   /* letter | large_envelope | package | periodical */
	const char *status; /* in_storage | forwarded | shredded | picked_up */
	const char *source; /* partner | innbocks */
	const char *photos; /* a JSON array of URLs, as text */
	const char *performed_by;
	const char *tracking_number, *carrier, *sender, *notes; /* NULL when unset */
	const char *metadata;                                   /* a JSON object, as text */
	int64_t received_at, created_at, updated_at, deleted_at;
};

struct mail_action {
	const char *id, *partner_id, *mail_id, *customer_id;
	const char *type;            /* scan | forward | shred | pickup */
	const char *status;          /* requested | completed | failed | canceled */
	const char *forward_address; /* a JSON object as text (forward only), else NULL */
	const char *shipping_speed;  /* forward only, else NULL */
	const char *notes;
	const char *result; /* a JSON object as text once completed, else NULL */
	const char *failure_reason;
	int64_t requested_at, completed_at;
};

struct mail_filter {
	const char *type, *status; /* NULL = no filter */
};

struct webhook_endpoint {
	const char *id, *partner_id, *url;
	const char *enabled_events; /* a JSON array as text: types, or ["*"] */
	const char *status;         /* enabled | disabled */
	const char *secret;
	const char *previous_secret; /* NULL when none */
	int64_t previous_secret_expires_at, created_at, updated_at;
};

/* One due delivery of one event to one endpoint, with what sending needs. */
struct webhook_job {
	const char *event_id, *event_type, *partner_id, *payload;
	const char *endpoint_id, *url, *secret;
	const char *previous_secret; /* NULL unless a rotation is within its overlap */
	int attempts;                /* attempts made before this one */
};

/* One attempt, as GET /webhook-deliveries shows it. */
struct webhook_delivery {
	const char *id, *partner_id, *event_id, *event_type, *endpoint_id, *url;
	int attempt;
	const char *status;  /* succeeded | failed */
	int response_status; /* 0 = none */
	const char *error;   /* NULL, or timeout | connection_refused | ... */
	int64_t duration_ms, attempted_at, next_attempt_at;
	const char *request_body;  /* the payload sent; NULL = not kept */
	const char *response_body; /* the answer's first 4 KiB; NULL = none */
};

struct delivery_filter {
	const char *event_id, *event_type, *status; /* NULL = no filter */
	const char *endpoint_id;                    /* NULL = every endpoint */
};

struct idem_record {
	const char *fingerprint;
	int status;
	const char *body;
	size_t body_len;
	int64_t created_at; /* filled by idem_get: when the key was first used */
};

/* One page request of a list endpoint (docs/api.md#lists). Lists are newest
 * first; a cursor id that does not exist in the list's scope is a 400. */
struct page {
	int limit;
	const char *starting_after;
	const char *ending_before;
};

/* A mailbox's active seconds [activated_at, closed_at); closed_at 0 while
 * it is open. */
struct usage_span {
	int64_t activated_at, closed_at;
};

struct customer_filter {
	const char *status, *external_id, *email; /* NULL = no filter */
};

/* A partner's dashboard user (docs/decisions.md, "Dashboard"). */
struct user {
	const char *id, *partner_id, *email;
	const char *role;          /* owner | developer | viewer */
	const char *password_hash; /* Argon2id string; NULL until set */
	int64_t created_at, password_changed_at;
};

/* A signed-in dashboard session, with its user. */
struct user_session {
	const char *hash; /* hex SHA-256 of the cookie's token */
	const char *csrf_token;
	int64_t created_at, last_seen_at;
	struct user user;
};

/* One row of the dashboard's audit log; never a secret. */
struct audit_entry {
	const char *id;
	const char *partner_id; /* NULL: a failed sign-in of an unknown email */
	const char *user_id, *actor, *action, *target, *mode, *client_addr;
	int64_t created_at;
};

/* Figures for the metrics (metrics.h). */
struct store_stats {
	int64_t database_bytes;     /* the database file */
	int64_t wal_bytes;          /* its write-ahead log (0: none now; -1: the backend
				     * keeps none of its own, PostgreSQL) */
	int64_t webhook_pending;    /* delivery jobs waiting: due, or retrying later;
				     * not those of a disabled endpoint, which are
				     * paused */
	int64_t webhook_oldest_due; /* next_attempt_at of the oldest of them; 0: none */
};

struct store;

/* The operations of one backend, every one with its contract. A backend
 * defines exactly one const table of them (designated initializers), and
 * its open points struct store's ops at it; callers write
 * s->ops->customer_get(s, ...). */
struct store_ops {
	/* Starts a transaction on the calling thread's connection. write=true
	 * takes the write lock at once (waiting for it). Returns 0, or -1 with
	 * 503 when storage is busy or unreachable. */
	int (*tx_begin)(struct store *s, bool write, struct err *e);
	/* Opens a savepoint inside the open transaction; each is closed by
	 * exactly one tx_release() (keep its changes) or tx_undo() (drop them). */
	int (*tx_savepoint)(struct store *s, struct err *e);
	/* Closes the innermost savepoint, keeping its changes in the
	 * transaction. Returns 0, or -1 with e set when one of its changes
	 * failed (PostgreSQL sends writes whose result nothing waits for with
	 * the next statement: their failures are reported here at the
	 * latest); the savepoint is then still open, for tx_undo(). */
	int (*tx_release)(struct store *s, struct err *e);
	/* Drops every change since the innermost savepoint and closes it; the
	 * transaction stays open for more (a refused request's audit row). */
	void (*tx_undo)(struct store *s);
	/* Commits durably; on failure the transaction is rolled back. A
	 * transaction in which a statement lost a conflict with a concurrent
	 * one (e->retry: a serialization failure or a deadlock) never commits,
	 * even after tx_undo() dropped that statement: tx_commit() rolls it
	 * back and fails with 503 and e->retry, so that the caller runs the
	 * whole transaction again (store_tx_write()) rather than commit what a
	 * request that failed left behind. */
	int (*tx_commit)(struct store *s, struct err *e);
	/* Rolls back the open transaction, if any. */
	void (*tx_rollback)(struct store *s);
	/* In a write transaction: waits until no other transaction holds the
	 * tenant (a partner's live or test id), then holds it until this one
	 * ends. Group commit (writer.c) takes the tenants of a batch's writes in
	 * the order of their ids before running them, so that batches of two
	 * server processes on one database wait for each other in turn and
	 * never in a cycle (a deadlock). brief: wait a moment only, for this
	 * and every later lock of the transaction (a batch that already waited
	 * out a held tenant gives up on the next one soon, not after the whole
	 * lock timeout again). Returns 0 (also for a tenant
	 * that does not exist), or -1 with e set: e->retry when the transaction lost a
	 * conflict (a request's failure in a run without savepoints among
	 * them), to be run again whole; else the failure is the tenant's own
	 * (503: its row held past the lock timeout, or the server lost), and
	 * the writer answers the tenant's writes with it and runs the others
	 * again without them. SQLite's one writer at a time needs nothing. */
	int (*tx_lock_tenant)(struct store *s, const char *tenant_id, bool brief,
			      struct err *e);

	/* Inserts the partner and, with the same name and location, its test
	 * tenant (tenant.h). The id is the caller's new one: taken, it is a bug
	 * (500). */
	int (*partner_insert)(struct store *s, const struct partner *p, struct err *e);
	/* Reads a partner or a test tenant by id; STORE_NOT_FOUND when there is
	 * none (partners are the operator's, and a key's own). */
	int (*partner_get)(struct store *s, struct arena *a, const char *id,
			   struct partner *out, struct err *e);
	/* Fills *items with up to page->limit partners (never test tenants),
	 * newest first. */
	int (*partner_list)(struct store *s, struct arena *a, const struct page *pg,
			    struct partner **items, size_t *n, bool *has_more, struct err *e);

	/* Inserts k for its partner or test tenant (which must exist). Its id
	 * and hash are new: taken, they are a bug (500). */
	int (*key_insert)(struct store *s, const struct api_key *k, struct err *e);
	/* Reads key id, revoked or not, of the tenant tenant_id (required);
	 * STORE_NOT_FOUND when there is none or it is another tenant's (another
	 * partner's, or the partner's other mode). */
	int (*key_get)(struct store *s, struct arena *a, const char *tenant_id, const char *id,
		       struct api_key *out, struct err *e);
	/* The operator's read: key id of whichever partner has it, as key_get
	 * does otherwise. */
	int (*key_get_any_partner)(struct store *s, struct arena *a, const char *id,
				   struct api_key *out, struct err *e);
	/* Finds a key (revoked ones too) by the hash of its secret. */
	int (*key_find_by_hash)(struct store *s, struct arena *a, const char *hash,
				struct api_key *out, struct err *e);
	/* The keys of tenant_id (required), newest first; with both_modes,
	 * tenant_id is a partner's id and its test tenant's keys are listed too.
	 * A cursor must be one of the listed keys, else 400. */
	int (*key_list)(struct store *s, struct arena *a, const char *tenant_id,
			bool both_modes, const struct page *pg, struct api_key **items,
			size_t *n, bool *has_more, struct err *e);
	/* Sets revoked_at to at unless the key already stops at or before it
	 * (a rolled key stops later; revoking it stops it now). */
	int (*key_revoke)(struct store *s, const char *id, int64_t at, struct err *e);
	/* Sets last_used_at of key id to now. */
	int (*key_touch)(struct store *s, const char *id, int64_t now, struct err *e);
	/* Spends cost tokens of key_id's bucket when it has them: a bucket holds
	 * at most burst tokens and gains rate a second on the database's clock,
	 * a new one starts full. A cost of -1 gives one back (up to burst),
	 * always allowed. Sets *tokens to what is left and *allowed to whether
	 * the cost was spent. Outside a transaction: it commits at once. A
	 * bucket another session holds is waited for briefly, then fails. Only
	 * for a shared backend; one that is not answers 500 (a process that owns
	 * its database keeps the buckets in memory, ratelimit.h). */
	int (*rate_spend)(struct store *s, const char *key_id, double rate, double burst,
			  double cost, double *tokens, bool *allowed, struct err *e);

	/* Stores an operator token's hash (never the token) under the new id. */
	int (*operator_token_insert)(struct store *s, const char *id, const char *hash,
				     int64_t now, struct err *e);
	/* Returns 0 when a token with this hash exists, else STORE_NOT_FOUND. */
	int (*operator_token_find)(struct store *s, const char *hash, struct err *e);

	/* Inserts c and its mailbox for the tenant c->partner_id (required;
	 * unknown: 500); assigns the tenant's next mailbox number into
	 * c->mailbox.number (arena a), "T"-prefixed for a test tenant, unique
	 * and gap-free even under concurrent inserts. An external id another
	 * customer of the tenant has: 409 external_id_conflict. */
	int (*customer_insert)(struct store *s, struct arena *a, struct customer *c,
			       struct err *e);
	/* Reads customer id of the tenant partner_id (required), with its
	 * mailbox; STORE_NOT_FOUND when it does not exist or is another
	 * tenant's. In a write transaction the row is locked until the end
	 * (PostgreSQL; SQLite's one writer gives the same). */
	int (*customer_get)(struct store *s, struct arena *a, const char *partner_id,
			    const char *id, struct customer *out, struct err *e);
	/* The operator's read: customer id of whichever partner has it, as
	 * customer_get does otherwise. */
	int (*customer_get_any_partner)(struct store *s, struct arena *a, const char *id,
					struct customer *out, struct err *e);
	/* The customers of the tenant partner_id (required) that match f,
	 * newest first. A cursor must be one of the tenant's, else 400. */
	int (*customer_list)(struct store *s, struct arena *a, const char *partner_id,
			     const struct customer_filter *f, const struct page *pg,
			     struct customer **items, size_t *n, bool *has_more, struct err *e);
	/* Writes every mutable field of customer c->id and of its mailbox (the
	 * caller read it in this transaction). An external id another customer
	 * of the tenant has: 409 external_id_conflict. */
	int (*customer_update)(struct store *s, const struct customer *c, struct err *e);
	/* Returns 0 when another customer of the tenant partner_id (required;
	 * not except_id) has this external id, else STORE_NOT_FOUND. */
	int (*customer_external_id_find)(struct store *s, const char *partner_id,
					 const char *external_id, const char *except_id,
					 struct err *e);
	/* Billing usage of the tenant partner_id (required): its mailboxes
	 * active at some second of [start, hi) (a mailbox closed in the second
	 * it was activated was active in that second); none when start >= hi.
	 * usage_spans gives the active span of each, in no order (the totals).
	 * usage_customers gives a page of their customers in order of
	 * activation (the billing line items): up to pg->limit of them, the
	 * first ones, those after pg->starting_after or the last ones before
	 * pg->ending_before (a customer or mailbox id; one that is not a line
	 * item is 400), with *has_more looking in the direction of travel. */
	int (*usage_spans)(struct store *s, struct arena *a, const char *partner_id,
			   int64_t start, int64_t hi, struct usage_span **spans, size_t *n,
			   struct err *e);
	int (*usage_customers)(struct store *s, struct arena *a, const char *partner_id,
			       int64_t start, int64_t hi, const struct page *pg,
			       struct customer **items, size_t *n, bool *has_more,
			       struct err *e);

	/* Inserts m for its customer (the caller checked it is the tenant's). */
	int (*mail_insert)(struct store *s, const struct mail *m, struct err *e);
	/* Reads mail id of the tenant partner_id (required) unless it is
	 * deleted; STORE_NOT_FOUND when it does not exist, is deleted or is
	 * another tenant's. Locks the row in a write transaction (PostgreSQL). */
	int (*mail_get)(struct store *s, struct arena *a, const char *partner_id,
			const char *id, struct mail *out, struct err *e);
	/* The operator's read: mail id of whichever partner has it, as
	 * mail_get does otherwise. */
	int (*mail_get_any_partner)(struct store *s, struct arena *a, const char *id,
				    struct mail *out, struct err *e);
	/* The mail of customer_id (which the caller loaded for its tenant)
	 * that is not deleted and matches f, newest first. A cursor must be
	 * one of them, else 400. */
	int (*mail_list)(struct store *s, struct arena *a, const char *customer_id,
			 const struct mail_filter *f, const struct page *pg,
			 struct mail **items, size_t *n, bool *has_more, struct err *e);
	/* Writes status, updated_at and deleted_at of mail m->id (read by the
	 * caller in this transaction). */
	int (*mail_update)(struct store *s, const struct mail *m, struct err *e);

	/* Inserts act for its mail (the caller loaded it for its tenant). */
	int (*action_insert)(struct store *s, const struct mail_action *act, struct err *e);
	/* Reads mail action id of the tenant partner_id (required);
	 * STORE_NOT_FOUND when it does not exist or is another tenant's. Locks
	 * the row in a write transaction (PostgreSQL). */
	int (*action_get)(struct store *s, struct arena *a, const char *partner_id,
			  const char *id, struct mail_action *out, struct err *e);
	/* The operator's read: mail action id of whichever partner has it, as
	 * action_get does otherwise. */
	int (*action_get_any_partner)(struct store *s, struct arena *a, const char *id,
				      struct mail_action *out, struct err *e);
	/* Writes status, result, failure_reason and completed_at of action
	 * act->id (read by the caller in this transaction). */
	int (*action_update)(struct store *s, const struct mail_action *act, struct err *e);
	/* Every action of mail_id (which the caller loaded for its tenant),
	 * oldest first. */
	int (*action_list_for_mail)(struct store *s, struct arena *a, const char *mail_id,
				    struct mail_action **items, size_t *n, struct err *e);
	/* The operator's work queue: every partner's actions, newest first;
	 * status NULL means any; livemode 1 only live tenants' actions, 0 only
	 * test ones', -1 both. */
	int (*action_list_any_partner)(struct store *s, struct arena *a, const char *status,
				       int livemode, const struct page *pg,
				       struct mail_action **items, size_t *n, bool *has_more,
				       struct err *e);

	/* Inserts the event and, in the same transaction, a pending delivery job
	 * for every enabled endpoint of its partner that wants its type; returns
	 * STORE_NONE_QUEUED (success) when that was none. */
	int (*event_insert)(struct store *s, const struct event *ev, struct err *e);
	/* The events of both tenants of partner_id (a partner, required), of
	 * type (NULL: any), of the mode `livemode` (1 live, 0 test, -1 either),
	 * newest first. A cursor must be one of them, else 400. */
	int (*event_list)(struct store *s, struct arena *a, const char *partner_id,
			  const char *type, int livemode, const struct page *pg,
			  struct event **items, size_t *n, bool *has_more, struct err *e);
	/* The operator's list: event_list over every partner's events. */
	int (*event_list_any_partner)(struct store *s, struct arena *a, const char *type,
				      int livemode, const struct page *pg, struct event **items,
				      size_t *n, bool *has_more, struct err *e);
	/* The events of exactly one tenant (tenant_id, required: one partner
	 * in one mode) that match f, newest first. A cursor must be an event of the tenant that
	 * has not expired (f->not_before), else 400. */
	int (*event_list_tenant)(struct store *s, struct arena *a, const char *tenant_id,
				 const struct event_filter *f, const struct page *pg,
				 struct event **items, size_t *n, bool *has_more,
				 struct err *e);
	/* Reads event id of tenant_id (required) if it was created at or after
	 * not_before; STORE_NOT_FOUND otherwise. */
	int (*event_get)(struct store *s, struct arena *a, const char *tenant_id,
			 const char *id, int64_t not_before, struct event *out, struct err *e);
	/* Deletes up to limit events created before `before` that no pending
	 * delivery job still needs, together with their finished jobs and
	 * their delivery attempts; *purged is the number of events deleted.
	 * Call inside a write transaction. */
	int (*event_purge)(struct store *s, int64_t before, int limit, int *purged,
			   struct err *e);

	/* Inserts w for its partner or test tenant (which must exist). */
	int (*endpoint_insert)(struct store *s, const struct webhook_endpoint *w,
			       struct err *e);
	/* Reads endpoint id of the tenant tenant_id (required); STORE_NOT_FOUND
	 * when there is none or it is another tenant's (another partner's, or
	 * the partner's other mode). Locks the row in a write transaction
	 * (PostgreSQL). */
	int (*endpoint_get)(struct store *s, struct arena *a, const char *tenant_id,
			    const char *id, struct webhook_endpoint *out, struct err *e);
	/* The operator's read: endpoint id of whichever partner has it, as
	 * endpoint_get does otherwise. */
	int (*endpoint_get_any_partner)(struct store *s, struct arena *a, const char *id,
					struct webhook_endpoint *out, struct err *e);
	/* The endpoints of tenant_id (required), newest first; with both_modes,
	 * those of the partner tenant_id's test tenant too (as key_list). A
	 * cursor must be one of the listed endpoints, else 400. */
	int (*endpoint_list)(struct store *s, struct arena *a, const char *tenant_id,
			     bool both_modes, const struct page *pg,
			     struct webhook_endpoint **items, size_t *n, bool *has_more,
			     struct err *e);
	/* Writes url, enabled_events, status, both secrets and updated_at of
	 * endpoint w->id (read by the caller in this transaction). */
	int (*endpoint_update)(struct store *s, const struct webhook_endpoint *w,
			       struct err *e);

	/* Leases to owner (the calling worker's id, webhook_worker.c) up to
	 * limit pending jobs that are due and not leased, for lease_s seconds,
	 * but never so many that an endpoint would have more than per_endpoint,
	 * or a partner's tenant more than per_tenant, leased at once: a hanging
	 * endpoint then holds only its share of the worker. Which jobs: those
	 * of the tenants with the fewest leased first, within a tenant those of
	 * the endpoints with the fewest leased, then the oldest due; so a slot
	 * freed by a hanging attempt goes to whoever has least in flight, not
	 * back to the hanging endpoint's older backlog. The last `reserve` of
	 * the limit go only to a tenant's first job when it has none leased,
	 * so that a tenant with nothing in flight rarely waits at all. The
	 * jobs come back oldest due first.
	 * Every time here is the database's clock, never the caller's (the
	 * instances sharing a database may disagree): a job is due when its
	 * next_attempt_at has come, and leased while its lease has not ended.
	 * A lease that ended unrecorded (its worker crashed, hung or lost the
	 * database) is taken over by whichever claim comes next, with the job's
	 * attempts as they were. Two claims, in this process or another, never
	 * lease one job at once: PostgreSQL's skips a job another transaction is
	 * claiming (FOR UPDATE SKIP LOCKED) rather than waiting for it; SQLite
	 * has one writer. Call inside a write transaction. */
	int (*webhook_claim)(struct store *s, struct arena *a, const char *owner, int lease_s,
			     int limit, int reserve, int per_endpoint, int per_tenant,
			     struct webhook_job **items, size_t *n, struct err *e);
	/* Records an attempt of job (d->event_id, d->endpoint_id) made under
	 * owner's lease: inserts d, moves the job to job_status ("pending" with
	 * d->next_attempt_at, "succeeded" or "failed") and drops the lease;
	 * disables the endpoint when asked (410). When owner no longer holds the
	 * lease (another worker took the job over after it ended), the attempt
	 * still goes into the log, since the receiver saw it (without a
	 * next_attempt_at: no retry of its follows), but the job and the
	 * endpoint are left to the new owner, and STORE_NOT_FOUND is returned.
	 * When the job was resent while the attempt ran (webhook_resend), the
	 * attempt is logged the same way and only drops the lease: the job
	 * stays as the resend left it, to start over, and 0 is returned.
	 * Call inside a write transaction. */
	int (*webhook_record)(struct store *s, const char *owner,
			      const struct webhook_delivery *d, const char *job_status,
			      bool disable_endpoint, struct err *e);
	/* The delivery attempts of both tenants of partner_id (required) that
	 * match f, newest first, without their bodies. A cursor must be one of
	 * them, else 400. */
	int (*delivery_list)(struct store *s, struct arena *a, const char *partner_id,
			     const struct delivery_filter *f, const struct page *pg,
			     struct webhook_delivery **items, size_t *n, bool *has_more,
			     struct err *e);
	/* Reads delivery attempt id of endpoint endpoint_id of either tenant of
	 * the partner partner_id (both required), with the body sent and the
	 * answer kept; STORE_NOT_FOUND when there is none, or it is another
	 * endpoint's or another partner's. */
	int (*delivery_get)(struct store *s, struct arena *a, const char *partner_id,
			    const char *endpoint_id, const char *id,
			    struct webhook_delivery *out, struct err *e);
	/* Delivers event_id to endpoint_id again: its job (made when missing)
	 * becomes pending, due at now, with its attempts counted from zero. A
	 * live lease stays, so an attempt in flight is not doubled, but is
	 * marked resent (locked_by gets the suffix "+resent", which no worker
	 * id has): that attempt's webhook_record then leaves the job to start
	 * over instead of writing its own outcome over the resend. Call inside
	 * a write transaction. */
	int (*webhook_resend)(struct store *s, const char *event_id, const char *endpoint_id,
			      int64_t now, struct err *e);
	/* Does the same for every job of endpoint_id that failed for good after
	 * an attempt at or after since; *resent is how many. Call inside a
	 * write transaction. */
	int (*webhook_resend_failed)(struct store *s, const char *endpoint_id, int64_t since,
				     int64_t now, int *resent, struct err *e);

	/* Inserts a dashboard user. An email belongs to one user of one
	 * partner: one another user has, in any case, is 409 user_exists. A
	 * role other than owner, developer or viewer is refused (500). */
	int (*user_insert)(struct store *s, const struct user *u, struct err *e);
	/* Reads user id of partner_id (required); STORE_NOT_FOUND when there
	 * is none or it is another partner's. */
	int (*user_get)(struct store *s, struct arena *a, const char *partner_id,
			const char *id, struct user *out, struct err *e);
	/* Reads user id of whichever partner has it: the operator's read, and
	 * sign-in's and a setup link's, which learn the partner from the user. */
	int (*user_get_any_partner)(struct store *s, struct arena *a, const char *id,
				    struct user *out, struct err *e);
	/* Finds the user by email, case-insensitively. */
	int (*user_find_by_email)(struct store *s, struct arena *a, const char *email,
				  struct user *out, struct err *e);
	/* The users of partner_id (required), newest first. A cursor must be
	 * one of them, else 400. */
	int (*user_list)(struct store *s, struct arena *a, const char *partner_id,
			 const struct page *pg, struct user **items, size_t *n, bool *has_more,
			 struct err *e);
	/* Sets the role of user id (owner, developer or viewer). */
	int (*user_role_set)(struct store *s, const char *id, const char *role, struct err *e);
	/* Deletes the user with its sessions and setup links (its audit rows stay). */
	int (*user_delete)(struct store *s, const char *id, struct err *e);
	/* Sets the password hash and ends every session of the user and every
	 * setup link not used yet. */
	int (*user_password_set)(struct store *s, const char *id, const char *hash, int64_t now,
				 struct err *e);
	/* Stores a setup link for user_id by its token's hash (never the
	 * token), usable once until expires_at; it replaces (ends) every link
	 * of the user not used yet. */
	int (*user_setup_insert)(struct store *s, const char *hash, const char *user_id,
				 int64_t now, int64_t expires_at, struct err *e);
	/* Ends every setup link not used yet of partner_id's users: a link does
	 * not say which owner made it, and one who is removed or demoted must
	 * not keep a way in through a teammate's reset link. */
	int (*user_setup_void_partner)(struct store *s, const char *partner_id, struct err *e);
	/* Uses the setup token with this hash once: fills *user_id (arena) and
	 * marks it used, or STORE_NOT_FOUND when unknown, used or expired. */
	int (*user_setup_use)(struct store *s, struct arena *a, const char *hash, int64_t now,
			      const char **user_id, struct err *e);
	/* Like user_setup_use, without using the link: the setup page's "for
	 * whom", before a password is chosen. */
	int (*user_setup_find)(struct store *s, struct arena *a, const char *hash, int64_t now,
			       const char **user_id, struct err *e);
	/* Stores a signed-in session by its token's hash (never the token). */
	int (*session_insert)(struct store *s, const struct user_session *ss, struct err *e);
	/* Finds the session by token hash, with its user; STORE_NOT_FOUND when
	 * there is none. */
	int (*session_find)(struct store *s, struct arena *a, const char *hash,
			    struct user_session *out, struct err *e);
	/* Sets last_seen_at of the session to now. */
	int (*session_touch)(struct store *s, const char *hash, int64_t now, struct err *e);
	/* Ends the session (signing out); an unknown hash is not an error. */
	int (*session_delete)(struct store *s, const char *hash, struct err *e);
	/* Appends ae to the audit log, whose rows never change. */
	int (*audit_insert)(struct store *s, const struct audit_entry *ae, struct err *e);
	/* The audit log of partner_id (required), newest first. A cursor must
	 * be one of its rows, else 400. */
	int (*audit_list)(struct store *s, struct arena *a, const char *partner_id,
			  const struct page *pg, struct audit_entry **items, size_t *n,
			  bool *has_more, struct err *e);

	/* Reads the stored answer of (scope, key). Inside a write transaction;
	 * a backend whose writes run concurrently (PostgreSQL) also claims the
	 * key until the transaction ends, and answers 409
	 * idempotency_key_in_use while another transaction holds it. */
	int (*idem_get)(struct store *s, struct arena *a, const char *scope, const char *key,
			struct idem_record *out, struct err *e);
	/* Reads ahead, inside a write transaction, what idem_get() will be
	 * asked for the n (scope, key) pairs of the requests it is about to
	 * run, so that idem_get() of each answers without waiting for the
	 * database (PostgreSQL: every key's claim and stored answer in one
	 * round trip; SQLite does nothing). A pair given twice is read once,
	 * for its first idem_get(): the second sees what the first stored.
	 * Sets in_use[i] when another transaction holds pair i's key, so that
	 * idem_get() of it will answer 409 idempotency_key_in_use: its request
	 * needs nothing more of the transaction (SQLite: never; its duplicates
	 * are found in the process, idem_running.h).
	 * The strings must stay valid until the transaction ends. Returns 0,
	 * or -1 with e set (the transaction is then rolled back). */
	int (*idem_prefetch)(struct store *s, int n, const char *const *scopes,
			     const char *const *keys, bool *in_use, struct err *e);
	/* Stores r as the answer of (scope, key), created at now, replacing
	 * one stored before. Call in the request's write transaction, so the
	 * answer commits with its effects. */
	int (*idem_put)(struct store *s, const char *scope, const char *key,
			const struct idem_record *r, int64_t now, struct err *e);
	/* Deletes records created before `before`; one stored out of time order
	 * (the clock stepped back) may stay until a later purge. */
	int (*idem_purge)(struct store *s, int64_t before, struct err *e);

	/* Moves committed changes from the write-ahead log into the database,
	 * without waiting for or blocking writers (SQLite; other backends may do
	 * nothing). Called by the checkpointer thread (checkpointer.h), every
	 * 500 ms and when wal_bound() asks for it, so that commits never pay
	 * for it. Returns 0 or -1. */
	int (*checkpoint)(struct store *s, struct err *e);
	/* Keeps the write-ahead log bounded: when it has grown past its limit,
	 * checkpoints it completely and restarts it, blocking this process's
	 * writers meanwhile; otherwise returns at once. Returns 1 when a
	 * checkpoint() on another thread should run now: the log nears its
	 * limit, or has passed it with much left to copy, and the copying is
	 * better done while writes go on than at the restart. Called between
	 * group-commit batches and by the main thread, never inside a
	 * transaction (the caller must not hold the write lock). Returns 0, 1 or
	 * -1 (a checkpoint that readers keep busy is not an error: it is
	 * retried). */
	int (*wal_bound)(struct store *s, struct err *e);

	/* Returns false from the moment a write met a full, read-only or failing
	 * disk until a commit succeeds again: the health check reports it. */
	bool (*writable)(struct store *s);
	/* When not writable, tries a minimal commit (and so becomes writable
	 * when the disk has recovered); otherwise does nothing. Called by the
	 * main thread between requests. Returns 0 or -1. */
	int (*probe_write)(struct store *s, struct err *e);
	/* Fills out with the figures of the metrics. Call inside a transaction
	 * (a read one will do). */
	int (*stats)(struct store *s, struct store_stats *out, struct err *e);

	/* Writes a consistent copy of the whole database into the new file
	 * path while the server keeps reading and writing, synced to disk; a
	 * path that exists is refused. SQLite: VACUUM INTO, one read
	 * transaction (a snapshot) of the calling thread's connection; call
	 * outside any transaction. A backend with a dump tool of its own
	 * (PostgreSQL: pg_dump) may refuse with a message naming it. */
	int (*backup)(struct store *s, const char *path, struct err *e);

	/* Closes every connection and frees s. */
	void (*close)(struct store *s);
};

/* An open database: the backend's operations and what every backend shares.
 * A backend's own state follows it in a larger struct (struct
 * sqlite_store, struct pg_store) whose first member it is. */
struct store {
	const struct store_ops *ops;
	/* True when writes gain from writer.h's group commit (one writer thread
	 * batching requests into one transaction, one fsync): both backends.
	 * False would let each request commit on its own thread. */
	bool group_commit;
	/* True when several server processes may serve this database at once
	 * (PostgreSQL): per-key state they must agree on, the rate limits' token
	 * buckets, is then kept in it (rate_spend) rather than in each process. */
	bool shared;
	/* The schema version (the number of migrations applied) the database
	 * had when opened, and the one it has since open applied the missing
	 * migrations: `innbocks migrate` prints both. */
	int schema_found, schema_version;
};

/* Every slot of struct store_ops, in its order, for code that must visit
 * them all: a backend's open checks that its table fills each one
 * (store_slot_missing()), and so does a unit test. The assertion below fails
 * the build when a slot is added to struct store_ops but not here. */
/* The slots in the order of struct store_ops, laid out by hand. */
/* clang-format off */
#define STORE_SLOTS(X) \
	X(tx_begin) X(tx_savepoint) X(tx_release) X(tx_undo) X(tx_commit) X(tx_rollback) \
	X(tx_lock_tenant) \
	X(partner_insert) X(partner_get) X(partner_list) X(key_insert) X(key_get) \
	X(key_get_any_partner) X(key_find_by_hash) X(key_list) X(key_revoke) X(key_touch) X(rate_spend) \
	X(operator_token_insert) X(operator_token_find) X(customer_insert) X(customer_get) \
	X(customer_get_any_partner) X(customer_list) X(customer_update) \
	X(customer_external_id_find) X(usage_spans) X(usage_customers) \
	X(mail_insert) X(mail_get) X(mail_get_any_partner) X(mail_list) X(mail_update) \
	X(action_insert) X(action_get) X(action_get_any_partner) X(action_update) \
	X(action_list_for_mail) X(action_list_any_partner) X(event_insert) X(event_list) \
	X(event_list_any_partner) X(event_list_tenant) X(event_get) X(event_purge) \
	X(endpoint_insert) X(endpoint_get) X(endpoint_get_any_partner) X(endpoint_list) X(endpoint_update) \
	X(webhook_claim) X(webhook_record) X(delivery_list) X(delivery_get) \
	X(webhook_resend) X(webhook_resend_failed) X(user_insert) X(user_get) X(user_get_any_partner) \
	X(user_find_by_email) X(user_list) X(user_role_set) X(user_delete) \
	X(user_password_set) X(user_setup_insert) X(user_setup_void_partner) X(user_setup_use) X(user_setup_find) X(session_insert) \
	X(session_find) X(session_touch) X(session_delete) X(audit_insert) X(audit_list) \
	X(idem_get) X(idem_prefetch) X(idem_put) X(idem_purge) X(checkpoint) X(wal_bound) X(writable) \
	X(probe_write) X(stats) X(backup) X(close)
/* clang-format on */

#define STORE_SLOT_COUNT_ONE(name) +1
_Static_assert(sizeof(struct store_ops) ==
		       (0 STORE_SLOTS(STORE_SLOT_COUNT_ONE)) * sizeof(void (*)(void)),
	       "STORE_SLOTS must name every slot of struct store_ops");

/* Returns the name of the first slot of ops (STORE_SLOTS) that is NULL, or
 * NULL when every one is filled. A backend's open calls it on its table, so
 * a forgotten operation fails at once rather than crashing the first
 * request that uses it. */
const char *store_slot_missing(const struct store_ops *ops);

/* How often store_tx_write() runs a transaction that keeps losing conflicts
 * with concurrent ones before it gives up. */
#define STORE_TX_ATTEMPTS 4

/* Does the work of one write transaction: returns 0 to commit, or -1 with
 * e to roll back. It may run more than once (store_tx_write()), each time in
 * a fresh transaction, so it starts from what it was given, not from what an
 * earlier run left. */
typedef int store_tx_body(struct store *s, void *arg, struct err *e);

/* Runs body(s, arg, e) in a write transaction of its own and commits it.
 * When body or the commit fails with e->retry (store_retry_error():
 * PostgreSQL's serialization failures and deadlocks, or, on either backend,
 * a first run that undid a savepoint after rows changed in it: that run
 * sends no savepoints, so it runs again with them), rolls back, waits a few
 * jittered milliseconds (longer each time) and runs it again, up to
 * STORE_TX_ATTEMPTS times in all. Returns 0 once committed, or -1 with e:
 * body's own failure, a failed begin or commit, or after the last attempt
 * the 503. Every write transaction goes through it: the group-commit
 * writer's batches (writer.h), a write without group commit, the delivery
 * worker's records. */
int store_tx_write(struct store *s, store_tx_body *body, void *arg, struct err *e);
/* Fills e with the 503 of a write transaction that must run again from its
 * start (e->retry, for store_tx_write()); returns -1. */
int store_retry_error(struct err *e);

/* Fails closed on a missing partner: every operation scoped to a partner or
 * a tenant starts with it. Returns 0 when partner_id is given, else -1 with
 * e 500 internal_error naming op (a caller's bug; reading every partner's
 * rows instead would show them to whoever asked). */
int store_partner_required(const char *partner_id, const char *op, struct err *e);

/* Fills e with the 400 of a list's cursor (pg->starting_after or
 * pg->ending_before) that names no object of the list, and returns -1. */
int store_cursor_unknown(const struct page *pg, struct err *e);

/* Reverses the order of n items of item_size bytes, in place. */
void store_items_reverse(void *items, size_t item_size, size_t n);
/* Ends a page read oldest first with one row past it, fetched in the
 * direction of travel (backwards: newest first, from pg->ending_before):
 * *has_more tells whether that row was there, *n keeps pg->limit rows at
 * most, and a backwards page is turned to read oldest first. */
void store_page_oldest_first(const struct page *pg, void *items, size_t item_size, size_t *n,
			     bool *has_more);

/* Answers a violation of the unique constraint named (as both schemas name
 * it): for one a client can cause, such as customers_partner_external or
 * users_email, fills e with the 409 the handler gives when it finds the
 * value taken itself (external_id_conflict, user_exists) and returns -1.
 * Returns 0 and leaves e alone for any other constraint (or NULL): only a
 * bug violates those (random ids, counters under a lock), and the backend
 * reports it as a 500, which a retry may run again; a 409 would be stored
 * as the request's idempotent answer. */
int store_conflict(const char *constraint, struct err *e);


/* The table of each compiled backend; reached through struct store's ops,
 * and named here for the unit test that checks every slot of each. */
extern const struct store_ops store_sqlite_ops;
extern const struct store_ops store_pg_ops;

/* Opens the backend named by `database`, applying schema migrations:
 * PostgreSQL for a postgres:// or postgresql:// URI or a libpq conninfo
 * string (store_is_postgres()), else SQLite on that path. Returns the store
 * (closed with s->ops->close) or NULL with e filled. */
struct store *store_open(const char *database, struct err *e);
/* True when a database setting names PostgreSQL rather than an SQLite path. */
bool store_is_postgres(const char *database);
/* Each backend's migrations, in order, then NULL: sql/sqlite/ and
 * sql/postgres/ embedded by the build (build/gen/). */
extern const char *const sqlite_migrations[];
extern const char *const pg_migrations[];
/* The schema version this binary migrates a database to, per backend: the
 * number of its migrations. */
int store_schema_version(bool postgres);

/* The SQLite backend; see store_open(). */
struct store *store_sqlite_open(const char *path, struct err *e);
/* The PostgreSQL backend on a libpq connection string (URI or conninfo). */
struct store *store_pg_open(const char *conninfo, struct err *e);

#endif
