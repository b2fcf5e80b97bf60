/* handlers.h - every route handler, named <audience>_<resource>_<verb> and
 * defined in <audience>_<resources>.c (docs/architecture.md lists each
 * route's handler and file), and the few helpers handler files share. Each
 * handler is a handler_fn (router.h): 0 with ctx status/out, or -1 with
 * err. */
#ifndef INNBOCKS_HANDLERS_H
#define INNBOCKS_HANDLERS_H

#include <jansson.h>
#include <stdbool.h>

#include "dispatch.h"

/* api_meta.c */
int api_meta_health(struct ctx *c);
int api_meta_openapi(struct ctx *c);
int api_meta_metrics(struct ctx *c);

/* api_customers.c */
int api_customer_create(struct ctx *c);
int api_customer_list(struct ctx *c);
int api_customer_get(struct ctx *c);
int api_customer_update(struct ctx *c);
int api_customer_deactivate(struct ctx *c);
int api_customer_compliance(struct ctx *c);
int api_customer_mailbox(struct ctx *c);
/* Loads customer id of the caller's tenant (c->partner_id) into cu; answers
 * 404 not_found for a missing or another tenant's customer. The operator
 * API reads across partners with the store's customer_get_any_partner
 * instead (admin_customers.c). Returns 0 or -1. */
int api_customer_load(struct ctx *c, const char *id, struct customer *cu);
/* Fills cu->location from its partner, for rendering the mailbox address.
 * Returns 0 or -1. */
int api_customer_location_load(struct ctx *c, struct customer *cu);
/* Stamps cu's updated_at and writes it, then emits type about the customer
 * and replies 200 with it. Returns 0 or -1. */
int api_customer_save_emit(struct ctx *c, struct customer *cu, const char *type);
/* Replies status with the customer object. Returns 0. */
int api_customer_reply(struct ctx *c, int status, const struct customer *cu);

/* api_mail.c */
int api_mail_create(struct ctx *c);
int api_mail_list(struct ctx *c);
int api_mail_get(struct ctx *c);
int api_mail_delete(struct ctx *c);
/* Loads the caller's tenant's mail id unless it is deleted; answers 404
 * not_found otherwise. Returns 0 or -1. */
int api_mail_load(struct ctx *c, const char *id, struct mail *m);
/* Writes the mail object with its actions (loaded here) into b. Returns 0,
 * or -1 with c->err set. */
int api_mail_write(struct ctx *c, struct buf *b, const struct mail *m);
/* Records inbound mail from the body for source "partner" or "innbocks",
 * with every check of docs/api.md#mail in order; replies 201. */
int api_mail_record(struct ctx *c, const char *source);
/* The carriers mail and forwarding results may name (NULL-terminated). */
extern const char *const api_mail_carriers[];

/* api_actions.c */
int api_action_scan(struct ctx *c);
int api_action_forward(struct ctx *c);
int api_action_shred(struct ctx *c);
int api_action_pickup(struct ctx *c);

/* api_webhooks.c */
int api_webhook_event_list(struct ctx *c);
int api_webhook_delivery_list(struct ctx *c);
/* Returns a new webhook_delivery object; with bodies, also the body sent
 * and the start of the answer kept (the dashboard's detail view). */
json_t *api_webhook_delivery_json(const struct webhook_delivery *d, bool bodies);
/* Returns true for a type of the webhook event catalogue. */
bool api_webhook_event_type_known(const char *type);
/* Returns true when family (a prefix ending in its dot, "customer.") begins
 * a type of the catalogue. */
bool api_webhook_event_family_known(const char *family);

/* api_events.c */
int api_event_list(struct ctx *c);
int api_event_get(struct ctx *c);
/* Renders a stored event (a struct event) as a list item: its payload as
 * delivered. Returns a new reference, or NULL with c->err set. */
json_t *api_event_item(struct ctx *c, const void *item);

/* api_billing.c */
int api_billing_usage(struct ctx *c);

/* admin_partners.c */
int admin_partner_create(struct ctx *c);
int admin_partner_list(struct ctx *c);
int admin_partner_get(struct ctx *c);
/* Loads the partner named by the path's first parameter (on the dashboard:
 * the signed-in user's partner); answers 404 not_found for an unknown id.
 * Returns 0 or -1. */
int admin_partner_load(struct ctx *c, struct partner *p);
/* Loads partner id (a partner's own id, never its test tenant's), or
 * answers 404 not_found naming param (NULL: none). Returns 0 or -1. */
int admin_partner_find(struct ctx *c, const char *id, const char *param, struct partner *p);

/* admin_keys.c */
int admin_key_create(struct ctx *c);
int admin_key_list(struct ctx *c);
int admin_key_revoke(struct ctx *c);
/* Loads the key of path parameter 0: any partner's on the operator API,
 * only the signed-in partner's on the dashboard (else 404). Returns 0 or -1. */
int admin_key_load(struct ctx *c, struct api_key *k);
/* Creates a key of tenant with name and scopes and replies 201 with it and
 * its secret, plus extra (taken; may be NULL) merged in. Returns 0 or -1. */
int admin_key_issue(struct ctx *c, const char *tenant, const char *name, unsigned scopes,
		    json_t *extra);

/* admin_users.c */
int admin_user_create(struct ctx *c);
/* The users of the path's partner (the session's on the dashboard), without
 * their password hashes. */
int admin_user_list(struct ctx *c);
/* A fresh one-time setup link for the path's user, ending the ones not used
 * yet: the operator's for a user without a password; an owner's for a
 * teammate, a password reset link when they have one. */
int admin_user_setup_link(struct ctx *c);

/* dash_sessions.c: sign-in, password setup, sign-out, the session itself */
int dash_session_signin_check(struct ctx *c);
int dash_session_signin(struct ctx *c);
int dash_session_setup_hash(struct ctx *c);
int dash_session_setup(struct ctx *c);
int dash_session_setup_check(struct ctx *c);
int dash_session_signout(struct ctx *c);
int dash_session_get(struct ctx *c);
int dash_session_password_check(struct ctx *c);
/* Spends a password attempt of the client address and, unless email is
 * NULL, of the account; returns -1 with 429 (and Retry-After) when either
 * has none left, audited as action (unless NULL; at most once a minute per
 * address or account). For every route that checks a password. */
int dash_session_limit(struct ctx *c, const char *email, const char *action);
/* Returns whether password is the one hash was made from; when it is, the
 * token dash_session_limit() spent from the account of email goes back
 * (only wrong passwords use up an account's attempts). */
bool dash_session_password_right(struct ctx *c, const char *email, const char *hash,
				 const char *password);
/* Has the refusal the caller is about to return audited as action, although
 * the request fails: about the user its email names on sign-in, else the
 * signed-in user and the path's object. Never pass a secret. */
void dash_session_audit_refusal(struct ctx *c, const char *action);
int dash_session_password(struct ctx *c);

/* dash_keys.c */
int dash_key_roll(struct ctx *c);

/* dash_endpoints.c */
int dash_endpoint_reveal_check(struct ctx *c);
int dash_endpoint_reveal(struct ctx *c);
int dash_endpoint_delivery_list(struct ctx *c);
int dash_endpoint_delivery_get(struct ctx *c);
int dash_endpoint_resend(struct ctx *c);
int dash_endpoint_resend_failed(struct ctx *c);

/* dash_users.c: the team (owners) */
int dash_user_update(struct ctx *c);
int dash_user_delete(struct ctx *c);

/* dash_audit.c */
int dash_audit_list(struct ctx *c);

/* dash_assets.c: the dashboard's pages, embedded at build time */
int dash_asset_get(struct ctx *c);
int dash_asset_root_redirect(struct ctx *c);

/* admin_tenant.c: before hooks of the operator's writes on one partner's
 * objects, which set c->operator_tenant to the tenant of the customer (path
 * parameter 0, or the body's customer_id) or of the mail action (path
 * parameter 0) they change. */
int admin_tenant_customer(struct ctx *c);
int admin_tenant_mail(struct ctx *c);
int admin_tenant_action(struct ctx *c);

/* admin_customers.c */
int admin_customer_get(struct ctx *c);
int admin_customer_accept_invite(struct ctx *c);
int admin_customer_billing(struct ctx *c);
int admin_customer_compliance(struct ctx *c);

/* admin_events.c */
int admin_event_list(struct ctx *c);

/* admin_mail.c */
int admin_mail_create(struct ctx *c);
int admin_mail_get(struct ctx *c);

/* admin_actions.c */
int admin_action_list(struct ctx *c);
int admin_action_get(struct ctx *c);
int admin_action_complete(struct ctx *c);
int admin_action_fail(struct ctx *c);
int admin_action_cancel(struct ctx *c);

/* admin_endpoints.c */
int admin_endpoint_create(struct ctx *c);
int admin_endpoint_list(struct ctx *c);
int admin_endpoint_get(struct ctx *c);
int admin_endpoint_update(struct ctx *c);
int admin_endpoint_rotate(struct ctx *c);
/* Loads the endpoint named by the path (on the dashboard: only the session's
 * partner's), or answers 404. Returns 0 or -1. */
int admin_endpoint_load(struct ctx *c, struct webhook_endpoint *w);

#endif
