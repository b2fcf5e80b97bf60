/* handlers.h - every route handler, named <audience>_<resource>_<verb>.
 * Each is a handler_fn (router.h): 0 with ctx status/out, or -1 with err. */
#ifndef INNBOCKS_HANDLERS_H
#define INNBOCKS_HANDLERS_H

#include "dispatch.h"

int api_health(struct ctx *c);

int api_customer_create(struct ctx *c);
int api_customer_list(struct ctx *c);
int api_customer_get(struct ctx *c);
int api_customer_update(struct ctx *c);
int api_customer_deactivate(struct ctx *c);
int api_customer_compliance(struct ctx *c);
int api_customer_mailbox(struct ctx *c);
int api_billing_usage(struct ctx *c);

int admin_partner_create(struct ctx *c);
int admin_partner_list(struct ctx *c);
int admin_partner_get(struct ctx *c);
int admin_key_create(struct ctx *c);
int admin_key_list(struct ctx *c);
int admin_key_revoke(struct ctx *c);
int admin_customer_get(struct ctx *c);
int admin_customer_accept_invite(struct ctx *c);
int admin_customer_billing(struct ctx *c);
int admin_customer_compliance(struct ctx *c);
int admin_event_list(struct ctx *c);

/* Loads the calling partner's customer id into cu; answers 404 not_found
 * for a missing or another partner's customer. Returns 0 or -1. */
int customer_load(struct ctx *c, const char *id, struct customer *cu);

#endif
