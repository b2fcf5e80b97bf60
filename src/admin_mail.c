/* admin_mail.c - mail on the operator API: staff-recorded mail, with the
 * same checks as partners' (api_mail_record), and any partner's mail read
 * (docs/api.md#mail, docs/operators.md). */
#include "handlers.h"
#include "banned.h"

int admin_mail_create(struct ctx *c)
{
	return api_mail_record(c, "innbocks");
}

int admin_mail_get(struct ctx *c)
{
	return api_mail_get(c); /* partner_id is NULL here: any partner's mail */
}
