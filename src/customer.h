/* customer.h - the rules about a customer that more than one file applies:
 * what "billing active" and "approved for mail receipt" mean (docs/api.md).
 * render.c shows them, api_mail.c checks them before recording mail. */
#ifndef INNBOCKS_CUSTOMER_H
#define INNBOCKS_CUSTOMER_H

#include <stdbool.h>

#include "store/store.h"

/* Returns true when the customer's billing is active (prepay or own). */
bool customer_billing_active(const struct customer *c);
/* Returns true when Form 1583 is approved and identity verified. */
bool customer_mail_receipt_approved(const struct customer *c);

#endif
