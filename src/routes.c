/* routes.c - THE route table. The dispatcher reads method, path, scope and
 * flags from here; nothing else decides who may call what. */
#include "auth.h"
#include "handlers.h"
#include "router.h"
#include "session.h"
#include "banned.h"

#define API "/api/v1"
#define ADMIN "/admin/v1"
#define DASH ROUTE_DASHBOARD_API

/* Rows of the Partner and operator APIs leave the dashboard's last columns
 * (role, before) out: zero, no session and no before hook (but the
 * operator's writes on a partner's objects, which find its tenant first). */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

/* One route a line, as the table reads best. */
/* clang-format off */
const struct route routes[] = {
	{"GET", "/healthz", api_meta_health, 0, ROUTE_PUBLIC},
	{"GET", API "/openapi.json", api_meta_openapi, 0, ROUTE_PUBLIC},
	/* The dashboard's pages (no session needed to load them). */
	{"GET", "/dashboard", dash_asset_root_redirect, 0, ROUTE_PUBLIC},
	{"GET", "/dashboard/", dash_asset_get, 0, ROUTE_PUBLIC},
	{"GET", "/dashboard/{file}", dash_asset_get, 0, ROUTE_PUBLIC},
	{"GET", "/metrics", api_meta_metrics, 0, ROUTE_ADMIN},

	{"POST", API "/customers", api_customer_create, SCOPE_CUSTOMERS_WRITE, 0},
	{"GET", API "/customers", api_customer_list, SCOPE_CUSTOMERS_READ, 0},
	{"GET", API "/customers/{id}", api_customer_get, SCOPE_CUSTOMERS_READ, 0},
	{"PATCH", API "/customers/{id}", api_customer_update, SCOPE_CUSTOMERS_WRITE, 0},
	{"POST", API "/customers/{id}/deactivate", api_customer_deactivate,
	 SCOPE_CUSTOMERS_WRITE, 0},
	{"GET", API "/customers/{id}/compliance", api_customer_compliance,
	 SCOPE_CUSTOMERS_READ, 0},
	{"GET", API "/customers/{id}/mailbox", api_customer_mailbox, SCOPE_CUSTOMERS_READ, 0},
	{"GET", API "/customers/{id}/mail", api_mail_list, SCOPE_MAIL_READ, 0},
	{"POST", API "/mail", api_mail_create, SCOPE_MAIL_WRITE, 0},
	{"GET", API "/mail/{id}", api_mail_get, SCOPE_MAIL_READ, 0},
	{"DELETE", API "/mail/{id}", api_mail_delete, SCOPE_MAIL_WRITE, 0},
	{"POST", API "/mail/{id}/scan", api_action_scan, SCOPE_MAIL_ACTIONS_WRITE, 0},
	{"POST", API "/mail/{id}/forward", api_action_forward, SCOPE_MAIL_ACTIONS_WRITE, 0},
	{"POST", API "/mail/{id}/shred", api_action_shred, SCOPE_MAIL_ACTIONS_WRITE, 0},
	{"POST", API "/mail/{id}/pickup", api_action_pickup, SCOPE_MAIL_ACTIONS_WRITE, 0},
	{"GET", API "/webhook-events", api_webhook_event_list, SCOPE_WEBHOOKS_READ, 0},
	{"GET", API "/webhook-deliveries", api_webhook_delivery_list, SCOPE_WEBHOOKS_READ, 0},
	{"GET", API "/events", api_event_list, SCOPE_WEBHOOKS_READ, 0},
	{"GET", API "/events/{id}", api_event_get, SCOPE_WEBHOOKS_READ, 0},
	{"GET", API "/billing/usage", api_billing_usage, SCOPE_BILLING_READ, 0},

	/* Test helpers: the operator's handlers, for the key's test tenant. */
	{"POST", API "/test-helpers/customers/{id}/accept-invite", admin_customer_accept_invite,
	 SCOPE_CUSTOMERS_WRITE, ROUTE_TEST_ONLY},
	{"POST", API "/test-helpers/customers/{id}/billing", admin_customer_billing,
	 SCOPE_CUSTOMERS_WRITE, ROUTE_TEST_ONLY},
	{"POST", API "/test-helpers/customers/{id}/compliance", admin_customer_compliance,
	 SCOPE_CUSTOMERS_WRITE, ROUTE_TEST_ONLY},
	{"POST", API "/test-helpers/mail-actions/{id}/complete", admin_action_complete,
	 SCOPE_MAIL_ACTIONS_WRITE, ROUTE_TEST_ONLY},
	{"POST", API "/test-helpers/mail-actions/{id}/fail", admin_action_fail,
	 SCOPE_MAIL_ACTIONS_WRITE, ROUTE_TEST_ONLY},
	{"POST", API "/test-helpers/mail-actions/{id}/cancel", admin_action_cancel,
	 SCOPE_MAIL_ACTIONS_WRITE, ROUTE_TEST_ONLY},

	{"POST", ADMIN "/partners", admin_partner_create, 0, ROUTE_ADMIN},
	{"GET", ADMIN "/partners", admin_partner_list, 0, ROUTE_ADMIN},
	{"GET", ADMIN "/partners/{id}", admin_partner_get, 0, ROUTE_ADMIN},
	{"POST", ADMIN "/partners/{id}/keys", admin_key_create, 0, ROUTE_ADMIN},
	{"GET", ADMIN "/partners/{id}/keys", admin_key_list, 0, ROUTE_ADMIN},
	{"POST", ADMIN "/keys/{id}/revoke", admin_key_revoke, 0, ROUTE_ADMIN},
	{"POST", ADMIN "/partners/{id}/users", admin_user_create, 0, ROUTE_ADMIN},
	{"GET", ADMIN "/partners/{id}/users", admin_user_list, 0, ROUTE_ADMIN},
	{"POST", ADMIN "/users/{id}/setup-link", admin_user_setup_link, 0, ROUTE_ADMIN},
	{"GET", ADMIN "/customers/{id}", admin_customer_get, 0, ROUTE_ADMIN},
	{"POST", ADMIN "/customers/{id}/accept-invite", admin_customer_accept_invite, 0,
	 ROUTE_ADMIN, 0, admin_tenant_customer},
	{"POST", ADMIN "/customers/{id}/billing", admin_customer_billing, 0, ROUTE_ADMIN, 0,
	 admin_tenant_customer},
	{"POST", ADMIN "/customers/{id}/compliance", admin_customer_compliance, 0,
	 ROUTE_ADMIN, 0, admin_tenant_customer},
	{"GET", ADMIN "/events", admin_event_list, 0, ROUTE_ADMIN},
	{"POST", ADMIN "/partners/{id}/webhook-endpoints", admin_endpoint_create, 0, ROUTE_ADMIN},
	{"GET", ADMIN "/partners/{id}/webhook-endpoints", admin_endpoint_list, 0, ROUTE_ADMIN},
	{"GET", ADMIN "/webhook-endpoints/{id}", admin_endpoint_get, 0, ROUTE_ADMIN},
	{"PATCH", ADMIN "/webhook-endpoints/{id}", admin_endpoint_update, 0, ROUTE_ADMIN},
	{"POST", ADMIN "/webhook-endpoints/{id}/rotate-secret", admin_endpoint_rotate, 0,
	 ROUTE_ADMIN},
	{"POST", ADMIN "/mail", admin_mail_create, 0, ROUTE_ADMIN, 0, admin_tenant_mail},
	{"GET", ADMIN "/mail/{id}", admin_mail_get, 0, ROUTE_ADMIN},
	{"GET", ADMIN "/mail-actions", admin_action_list, 0, ROUTE_ADMIN},
	{"GET", ADMIN "/mail-actions/{id}", admin_action_get, 0, ROUTE_ADMIN},
	{"POST", ADMIN "/mail-actions/{id}/complete", admin_action_complete, 0, ROUTE_ADMIN, 0,
	 admin_tenant_action},
	{"POST", ADMIN "/mail-actions/{id}/fail", admin_action_fail, 0, ROUTE_ADMIN, 0,
	 admin_tenant_action},
	{"POST", ADMIN "/mail-actions/{id}/cancel", admin_action_cancel, 0, ROUTE_ADMIN, 0,
	 admin_tenant_action},

	/* The dashboard's JSON API: a session instead of a key, the least role
	 * each route needs, and the operator handlers for the session's partner
	 * (admin_partner_load) in the mode the page is in. Sign-in and password
	 * setup hash passwords in their before hooks, off the HTTP threads. */
	{"POST", DASH "/signin", dash_session_signin, 0, ROUTE_NO_AUTH, 0,
	 dash_session_signin_check},
	{"POST", DASH "/setup", dash_session_setup, 0, ROUTE_NO_AUTH, 0, dash_session_setup_hash},
	{"POST", DASH "/setup/check", dash_session_setup_check, 0, ROUTE_NO_AUTH, 0, NULL},
	{"GET", DASH "/session", dash_session_get, 0, ROUTE_SESSION | ROUTE_BOTH_MODES,
	 ROLE_VIEWER, NULL},
	{"POST", DASH "/signout", dash_session_signout, 0, ROUTE_SESSION | ROUTE_BOTH_MODES,
	 ROLE_VIEWER, NULL},
	{"POST", DASH "/password", dash_session_password, 0, ROUTE_SESSION | ROUTE_BOTH_MODES,
	 ROLE_VIEWER, dash_session_password_check},
	{"GET", DASH "/keys", admin_key_list, 0, ROUTE_SESSION, ROLE_VIEWER, NULL},
	{"POST", DASH "/keys", admin_key_create, 0, ROUTE_SESSION, ROLE_DEVELOPER, NULL},
	{"POST", DASH "/keys/{id}/revoke", admin_key_revoke, 0, ROUTE_SESSION, ROLE_DEVELOPER,
	 NULL},
	{"POST", DASH "/keys/{id}/roll", dash_key_roll, 0, ROUTE_SESSION, ROLE_DEVELOPER, NULL},
	{"GET", DASH "/users", admin_user_list, 0, ROUTE_SESSION | ROUTE_BOTH_MODES,
	 ROLE_OWNER, NULL},
	{"POST", DASH "/users", admin_user_create, 0, ROUTE_SESSION | ROUTE_BOTH_MODES,
	 ROLE_OWNER, NULL},
	{"PATCH", DASH "/users/{id}", dash_user_update, 0, ROUTE_SESSION | ROUTE_BOTH_MODES,
	 ROLE_OWNER, NULL},
	{"DELETE", DASH "/users/{id}", dash_user_delete, 0, ROUTE_SESSION | ROUTE_BOTH_MODES,
	 ROLE_OWNER, NULL},
	{"POST", DASH "/users/{id}/setup-link", admin_user_setup_link, 0,
	 ROUTE_SESSION | ROUTE_BOTH_MODES, ROLE_OWNER, NULL},
	{"GET", DASH "/webhook-endpoints", admin_endpoint_list, 0, ROUTE_SESSION, ROLE_VIEWER,
	 NULL},
	{"POST", DASH "/webhook-endpoints", admin_endpoint_create, 0, ROUTE_SESSION,
	 ROLE_DEVELOPER, NULL},
	{"PATCH", DASH "/webhook-endpoints/{id}", admin_endpoint_update, 0, ROUTE_SESSION,
	 ROLE_DEVELOPER, NULL},
	{"POST", DASH "/webhook-endpoints/{id}/rotate-secret", admin_endpoint_rotate, 0,
	 ROUTE_SESSION, ROLE_DEVELOPER, NULL},
	{"POST", DASH "/webhook-endpoints/{id}/reveal-secret", dash_endpoint_reveal, 0,
	 ROUTE_SESSION, ROLE_DEVELOPER, dash_endpoint_reveal_check},
	{"GET", DASH "/webhook-endpoints/{id}/deliveries", dash_endpoint_delivery_list, 0,
	 ROUTE_SESSION, ROLE_VIEWER, NULL},
	{"GET", DASH "/webhook-endpoints/{id}/deliveries/{did}", dash_endpoint_delivery_get, 0,
	 ROUTE_SESSION, ROLE_VIEWER, NULL},
	{"POST", DASH "/webhook-endpoints/{id}/resend", dash_endpoint_resend, 0, ROUTE_SESSION,
	 ROLE_DEVELOPER, NULL},
	{"POST", DASH "/webhook-endpoints/{id}/resend-failed", dash_endpoint_resend_failed, 0,
	 ROUTE_SESSION, ROLE_DEVELOPER, NULL},
	{"GET", DASH "/customers", api_customer_list, 0, ROUTE_SESSION, ROLE_VIEWER, NULL},
	{"GET", DASH "/customers/{id}", api_customer_get, 0, ROUTE_SESSION, ROLE_VIEWER, NULL},
	{"GET", DASH "/customers/{id}/compliance", api_customer_compliance, 0, ROUTE_SESSION,
	 ROLE_VIEWER, NULL},
	{"GET", DASH "/customers/{id}/mailbox", api_customer_mailbox, 0, ROUTE_SESSION,
	 ROLE_VIEWER, NULL},
	{"GET", DASH "/customers/{id}/mail", api_mail_list, 0, ROUTE_SESSION, ROLE_VIEWER, NULL},
	{"GET", DASH "/billing/usage", api_billing_usage, 0, ROUTE_SESSION, ROLE_VIEWER, NULL},
	{"GET", DASH "/audit-log", dash_audit_list, 0, ROUTE_SESSION | ROUTE_BOTH_MODES,
	 ROLE_OWNER, NULL},
	{"GET", DASH "/events", api_event_list, 0, ROUTE_SESSION, ROLE_VIEWER, NULL},
	{"GET", DASH "/events/{id}", api_event_get, 0, ROUTE_SESSION, ROLE_VIEWER, NULL},
	{"GET", DASH "/webhook-events", api_webhook_event_list, 0, ROUTE_SESSION, ROLE_VIEWER,
	 NULL},
	/* The test helpers of the Partner API, for a developer with the page in
	 * test mode: what Innbocks staff do in live mode. */
	{"POST", DASH "/test-helpers/customers/{id}/accept-invite", admin_customer_accept_invite, 0,
	 ROUTE_SESSION | ROUTE_TEST_ONLY, ROLE_DEVELOPER, NULL},
	{"POST", DASH "/test-helpers/customers/{id}/billing", admin_customer_billing, 0,
	 ROUTE_SESSION | ROUTE_TEST_ONLY, ROLE_DEVELOPER, NULL},
	{"POST", DASH "/test-helpers/customers/{id}/compliance", admin_customer_compliance, 0,
	 ROUTE_SESSION | ROUTE_TEST_ONLY, ROLE_DEVELOPER, NULL},
	{"POST", DASH "/test-helpers/mail-actions/{id}/complete", admin_action_complete, 0,
	 ROUTE_SESSION | ROUTE_TEST_ONLY, ROLE_DEVELOPER, NULL},
	{"POST", DASH "/test-helpers/mail-actions/{id}/fail", admin_action_fail, 0,
	 ROUTE_SESSION | ROUTE_TEST_ONLY, ROLE_DEVELOPER, NULL},
	{"POST", DASH "/test-helpers/mail-actions/{id}/cancel", admin_action_cancel, 0,
	 ROUTE_SESSION | ROUTE_TEST_ONLY, ROLE_DEVELOPER, NULL},
};
/* clang-format on */

const size_t routes_count = sizeof(routes) / sizeof(routes[0]);
