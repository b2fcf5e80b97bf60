/* tenant.h - live and test mode (docs/api.md#live-and-test-mode).
 *
 * Each partner owns two tenants. Its live data lives under the partner's own
 * id; its test data under a shadow tenant whose id is the partner's id with
 * TENANT_TEST_SUFFIX (a partners row of its own: same name and location, a
 * mailbox number sequence of its own). Keys, webhook endpoints, customers,
 * mail, actions, events and idempotency records all belong to one tenant,
 * so the partner_id filters that keep partners apart keep the modes apart
 * too: a query cannot forget the mode without forgetting the partner. */
#ifndef INNBOCKS_TENANT_H
#define INNBOCKS_TENANT_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

#define TENANT_TEST_SUFFIX "_test"

/* Returns true when tenant_id is a partner's live tenant (its own id). */
bool tenant_livemode(const char *tenant_id);

/* Returns the id of the partner's tenant for the mode: partner_id itself
 * when live, else a string in the arena. */
const char *tenant_of(struct arena *a, const char *partner_id, bool livemode);

/* Returns the length of the id of the partner that owns tenant_id: its
 * first tenant_partner_len() characters. */
size_t tenant_partner_len(const char *tenant_id);

/* Returns true when tenant_id is one of partner_id's two tenants. */
bool tenant_owned_by(const char *tenant_id, const char *partner_id);

/* Returns "live" or "test". */
const char *tenant_mode_name(bool livemode);

/* The mode names, live first, NULL-terminated (for field_choice()). */
extern const char *const tenant_modes[];

/* Reads a mode name ("live" or "test") into *livemode; returns false for
 * anything else. */
bool tenant_mode_parse(const char *name, bool *livemode);

#endif
