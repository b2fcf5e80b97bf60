/* admin_mail.c - mail on the operator API: staff-recorded mail, with the
 * same checks as partners' (api_mail_record), and any partner's mail read
 * (docs/api.md#mail, docs/operators.md). */
#include "handlers.h"
#include "query.h"
#include "reply.h"
#include "banned.h"

int admin_mail_create(struct ctx *c)
{
	return api_mail_record(c, "innbocks");
}

int admin_mail_get(struct ctx *c)
{
	struct mail m;
	if (query_allow(c, NULL) < 0)
		return -1;
	int rc = c->store->ops->mail_get_any_partner(c->store, c->a, c->params[0], &m, &c->err);
	if (rc == STORE_NOT_FOUND)
		return reply_not_found(c, "mail", c->params[0], NULL);
	if (rc < 0)
		return -1;
	struct buf b = {0};
	if (api_mail_write(c, &b, &m) < 0) {
		buf_free(&b);
		return -1;
	}
	return reply_buf_take(c, 200, &b);
}
