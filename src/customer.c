/* customer.c - the rules about a customer that more than one file applies. */
#include "customer.h"

#include <string.h>

#include "banned.h"

bool customer_billing_active(const struct customer *c)
{
	return c->prepay || c->own_billing_active;
}

bool customer_mail_receipt_approved(const struct customer *c)
{
	return strcmp(c->form_status, "approved") == 0 &&
	       strcmp(c->identity_status, "verified") == 0;
}
