/* test_render.c - the customer, mail and mail action objects rendered
 * straight into a buffer (render.c, buf.c) are byte for byte what the
 * server wrote before: json_dumps(JSON_COMPACT |
 * JSON_PRESERVE_ORDER) of the jansson tree built below (render.c's tree
 * code as it was), over edge cases (nulls, escapes, control characters,
 * non-ASCII, invalid UTF-8, stored JSON text in and out of jansson's form)
 * and generated inputs; plus the exact bytes of a few objects, so the
 * reference itself cannot drift. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "customer.h"
#include "render.h"
#include "tenant.h"
#include "unit.h"
#include "util.h"

/* The reference: the jansson trees render.c built before it wrote these
 * objects straight into a buffer. */

static json_t *ref_time(int64_t t)
{
	if (!t)
		return json_null();
	char buf[21];
	time_format(t, buf);
	return json_string(buf);
}

static json_t *ref_string_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *ref_json_text(const char *text)
{
	json_t *v = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
	return v ? v : json_null();
}

static json_t *ref_customer(const struct customer *c)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(c->id));
	json_object_set_new(o, "object", json_string("customer"));
	json_object_set_new(o, "livemode", json_boolean(tenant_livemode(c->partner_id)));
	json_object_set_new(o, "external_customer_id", ref_string_or_null(c->external_id));
	json_object_set_new(o, "email", json_string(c->email));
	json_object_set_new(o, "name", json_string(c->name));
	json_object_set_new(o, "phone", ref_string_or_null(c->phone));
	json_object_set_new(o, "prepay", json_boolean(c->prepay));
	json_object_set_new(o, "status", json_string(c->status));
	json_object_set_new(o, "billing_status",
			    json_string(customer_billing_active(c) ? "active" : "inactive"));
	json_object_set_new(o, "mail_receipt_approved",
			    json_boolean(customer_mail_receipt_approved(c)));
	json_object_set_new(o, "mailbox_id", json_string(c->mailbox.id));
	json_object_set_new(o, "metadata", ref_json_text(c->metadata));
	json_object_set_new(o, "created_at", ref_time(c->created_at));
	json_object_set_new(o, "updated_at", ref_time(c->updated_at));
	json_object_set_new(o, "deactivated_at", ref_time(c->deactivated_at));
	return o;
}

static json_t *ref_action(const struct mail_action *act)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(act->id));
	json_object_set_new(o, "object", json_string("mail_action"));
	json_object_set_new(o, "livemode", json_boolean(tenant_livemode(act->partner_id)));
	json_object_set_new(o, "mail_id", json_string(act->mail_id));
	json_object_set_new(o, "customer_id", json_string(act->customer_id));
	json_object_set_new(o, "type", json_string(act->type));
	json_object_set_new(o, "status", json_string(act->status));
	json_object_set_new(o, "forward_address", ref_json_text(act->forward_address));
	json_object_set_new(o, "shipping_speed", ref_string_or_null(act->shipping_speed));
	json_object_set_new(o, "notes", ref_string_or_null(act->notes));
	json_object_set_new(o, "result", ref_json_text(act->result));
	json_object_set_new(o, "failure_reason", ref_string_or_null(act->failure_reason));
	json_object_set_new(o, "requested_at", ref_time(act->requested_at));
	json_object_set_new(o, "completed_at", ref_time(act->completed_at));
	return o;
}

static json_t *ref_mail(const struct mail *m, const struct mail_action *actions, size_t n)
{
	json_t *acts = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(acts, ref_action(&actions[i]));
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(m->id));
	json_object_set_new(o, "object", json_string("mail"));
	json_object_set_new(o, "livemode", json_boolean(tenant_livemode(m->partner_id)));
	json_object_set_new(o, "customer_id", json_string(m->customer_id));
	json_object_set_new(o, "mailbox_id", json_string(m->mailbox_id));
	json_object_set_new(o, "type", json_string(m->type));
	json_object_set_new(o, "status", json_string(m->status));
	json_object_set_new(o, "source", json_string(m->source));
	json_object_set_new(o, "photos", ref_json_text(m->photos));
	json_object_set_new(o, "performed_by", json_string(m->performed_by));
	json_object_set_new(o, "tracking_number", ref_string_or_null(m->tracking_number));
	json_object_set_new(o, "carrier", ref_string_or_null(m->carrier));
	json_object_set_new(o, "sender", ref_string_or_null(m->sender));
	json_object_set_new(o, "notes", ref_string_or_null(m->notes));
	json_object_set_new(o, "metadata", ref_json_text(m->metadata));
	json_object_set_new(o, "actions", acts);
	json_object_set_new(o, "received_at", ref_time(m->received_at));
	json_object_set_new(o, "created_at", ref_time(m->created_at));
	json_object_set_new(o, "updated_at", ref_time(m->updated_at));
	return o;
}

static json_t *ref_event(const struct event *ev, json_t *object)
{
	json_t *data = json_object();
	json_object_set(data, "object", object);
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(ev->id));
	json_object_set_new(o, "object", json_string("event"));
	json_object_set_new(o, "type", json_string(ev->type));
	json_object_set_new(o, "api_version", json_string("v1"));
	json_object_set_new(o, "livemode", json_boolean(tenant_livemode(ev->partner_id)));
	json_object_set_new(o, "created_at", ref_time(ev->created_at));
	json_object_set_new(o, "data", data);
	return o;
}

/* Returns the reference bytes of tree (taken), malloc'ed. */
static char *ref_dump(json_t *tree)
{
	char *s = json_dumps(tree, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(tree);
	return s;
}

/* The bytes under test, malloc'ed. */
static char *customer_bytes(const struct customer *c)
{
	struct buf b = {0};
	render_customer_write(&b, c);
	size_t n;
	return buf_take(&b, &n);
}

static char *mail_bytes(const struct mail *m, const struct mail_action *a, size_t n)
{
	struct buf b = {0};
	render_mail_write(&b, m, a, n);
	size_t len;
	return buf_take(&b, &len);
}

/* Checks one customer against the reference; returns true when equal. */
static bool customer_same(const struct customer *c)
{
	char *want = ref_dump(ref_customer(c)), *got = customer_bytes(c);
	bool ok = CHECK_STR(got, want);
	free(want);
	free(got);
	return ok;
}

static bool mail_same(const struct mail *m, const struct mail_action *a, size_t n)
{
	char *want = ref_dump(ref_mail(m, a, n)), *got = mail_bytes(m, a, n);
	bool ok = CHECK_STR(got, want);
	free(want);
	free(got);
	return ok;
}

static const struct customer sample_customer = {
	.id = "cus_0Ab12Cd3EfGh4IjK5LmN6OpQ",
	.partner_id = "ptr_0Ab12Cd3EfGh4IjK5LmN6OpQ_test",
	.external_id = "crm-42",
	.email = "ren\xc3\xa9"
		 "e@example.com",
	.name = "Ren\xc3\xa9"
		"e \"Q\" O'Brien \\ \xf0\x9f\x93\xa6",
	.phone = "+15555550100",
	.prepay = true,
	.status = "active",
	.form_status = "approved",
	.identity_status = "verified",
	.metadata = "{\"tier\":\"gold\",\"note\":\"line\\nbreak\"}",
	.created_at = 1795777828,
	.updated_at = 1795781428,
	.deactivated_at = 0,
	.mailbox = {.id = "mbx_0Ab12Cd3EfGh4IjK5LmN6OpQ"},
};

TEST(render_customer_writes_exactly_these_bytes)
{
	char *got = customer_bytes(&sample_customer);
	CHECK_STR(got, "{\"id\":\"cus_0Ab12Cd3EfGh4IjK5LmN6OpQ\",\"object\":\"customer\","
		       "\"livemode\":false,\"external_customer_id\":\"crm-42\","
		       "\"email\":\"ren\xc3\xa9"
		       "e@example.com\",\"name\":\"Ren\xc3\xa9"
		       "e \\\"Q\\\" O'Brien \\\\ \xf0\x9f\x93\xa6\","
		       "\"phone\":\"+15555550100\",\"prepay\":true,\"status\":\"active\","
		       "\"billing_status\":\"active\",\"mail_receipt_approved\":true,"
		       "\"mailbox_id\":\"mbx_0Ab12Cd3EfGh4IjK5LmN6OpQ\","
		       "\"metadata\":{\"tier\":\"gold\",\"note\":\"line\\nbreak\"},"
		       "\"created_at\":\"2026-11-27T11:10:28Z\","
		       "\"updated_at\":\"2026-11-27T12:10:28Z\",\"deactivated_at\":null}");
	free(got);
	customer_same(&sample_customer);
}

TEST(render_mail_writes_exactly_these_bytes)
{
	struct mail m = {
		.id = "mail_1",
		.partner_id = "ptr_1",
		.customer_id = "cus_1",
		.mailbox_id = "mbx_1",
		.type = "package",
		.status = "in_storage",
		.source = "partner",
		.photos = "[\"https://example.com/a.jpg\",\"https://example.com/b.jpg\"]",
		.performed_by = "front desk",
		.carrier = "ups",
		.metadata = "{}",
		.received_at = 1795777828,
		.created_at = 1795777828,
		.updated_at = 1795777828,
	};
	struct mail_action a = {
		.id = "act_1",
		.partner_id = "ptr_1",
		.mail_id = "mail_1",
		.customer_id = "cus_1",
		.type = "forward",
		.status = "completed",
		.forward_address =
			"{\"name\":\"Jane\",\"line1\":\"1 Main St\",\"country\":\"US\"}",
		.shipping_speed = "express",
		.result = "{\"tracking_number\":\"1Z999\",\"pages\":3}",
		.requested_at = 1795777828,
		.completed_at = 1795781428,
	};
	char *got = mail_bytes(&m, &a, 1);
	CHECK_STR(
		got,
		"{\"id\":\"mail_1\",\"object\":\"mail\",\"livemode\":true,"
		"\"customer_id\":\"cus_1\",\"mailbox_id\":\"mbx_1\",\"type\":\"package\","
		"\"status\":\"in_storage\",\"source\":\"partner\","
		"\"photos\":[\"https://example.com/a.jpg\",\"https://example.com/b.jpg\"],"
		"\"performed_by\":\"front desk\",\"tracking_number\":null,\"carrier\":\"ups\","
		"\"sender\":null,\"notes\":null,\"metadata\":{},\"actions\":[{\"id\":\"act_1\","
		"\"object\":\"mail_action\",\"livemode\":true,\"mail_id\":\"mail_1\","
		"\"customer_id\":\"cus_1\",\"type\":\"forward\",\"status\":\"completed\","
		"\"forward_address\":{\"name\":\"Jane\",\"line1\":\"1 Main St\","
		"\"country\":\"US\"},\"shipping_speed\":\"express\",\"notes\":null,"
		"\"result\":{\"tracking_number\":\"1Z999\",\"pages\":3},"
		"\"failure_reason\":null,\"requested_at\":\"2026-11-27T11:10:28Z\","
		"\"completed_at\":\"2026-11-27T12:10:28Z\"}],"
		"\"received_at\":\"2026-11-27T11:10:28Z\","
		"\"created_at\":\"2026-11-27T11:10:28Z\","
		"\"updated_at\":\"2026-11-27T11:10:28Z\"}");
	free(got);
	mail_same(&m, &a, 1);
	mail_same(&m, NULL, 0);
}

/* Strings jansson escapes, keeps, or refuses (then the member is left out). */
static const char *const edge_strings[] = {
	"",
	"plain ASCII",
	"quote \" backslash \\ slash / end",
	"\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f",
	"\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f",
	"DEL \x7f kept",
	"caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80",
	"line separator \xe2\x80\xa8 and \xe2\x80\xa9",
	"largest \xf4\x8f\xbf\xbf and \xef\xbf\xbf",
	"\xff invalid byte",
	"overlong \xc0\x80",
	"overlong \xe0\x80\xaf",
	"surrogate \xed\xa0\x80",
	"past U+10FFFF \xf4\x90\x80\x80",
	"cut short \xe2\x82",
	"lone continuation \x80",
	"ends in a lead byte \xc3",
	"<script>alert('x')</script> & \\u0041",
};

#define NEDGE (sizeof(edge_strings) / sizeof(edge_strings[0]))

/* Stored JSON text: what json_dumps writes (copied), and what it does not
 * (through jansson, or null when jansson cannot parse it). */
static const char *const edge_texts[] = {
	NULL,
	"{}",
	"[]",
	"{\"a\":\"b\"}",
	"{\"a\":{\"b\":[1,-2,0,true,false,null,\"x\",{}]},\"c\":[]}",
	"{ \"a\" : \"b\" }",
	" {}",
	"{}\n",
	"{\"a\":\"\\u00e9\"}",
	"{\"a\":\"\\/\"}",
	"{\"a\":\"\\u001F\\u0001\"}",
	"{\"a\":\"\\u001f\"}",
	"{\"a\":\"\\u000A\"}",
	"{\"a\":\"\\u0000\"}",
	"{\"a\":\"\\n\\t\\\"\\\\\\b\\f\\r\"}",
	"{\"a\":\"\\ud83d\\ude00\"}",
	"{\"a\":\"\\ud83d\"}",
	"{\"a\":1.5}",
	"{\"a\":1e2}",
	"{\"a\":1E2}",
	"{\"a\":0.1}",
	"{\"a\":-0}",
	"{\"a\":007}",
	"{\"a\":123456789012345678}",
	"{\"a\":1234567890123456789}",
	"{\"a\":12345678901234567890}",
	"{\"a\":-9223372036854775808}",
	"{\"a\":\"1\",\"a\":\"2\"}",
	"{\"a\":\"1\",\"b\":\"2\",\"a\":\"3\"}",
	"[1,2,[3,[4]]]",
	"\"just a string\"",
	"42",
	"true",
	"null",
	"",
	"{",
	"{\"a\":}",
	"{\"a\":\"b\",}",
	"[1,]",
	"{\"a\":\"b\"}x",
	"{\"a\":\"b\"}{}",
	"{\"a\":\"\xff\"}",
	"{\"a\":\"tab\there\"}",
	"{\"caf\xc3\xa9\":\"\xe6\x97\xa5\"}",
	"{\"a\":tru}",
	"{\"a\":nul}",
	"{\"a\":\"b\\x\"}",
	"{\"a\":\"\\u00\"}",
	"[\"unterminated]",
};

#define NTEXT (sizeof(edge_texts) / sizeof(edge_texts[0]))

TEST(render_customer_matches_jansson_on_edge_strings_and_texts)
{
	bool ok = true;
	for (size_t i = 0; i < NEDGE && ok; i++) {
		struct customer c = sample_customer;
		c.id = c.email = c.name = c.external_id = c.phone = c.status = edge_strings[i];
		c.mailbox.id = edge_strings[i];
		ok = customer_same(&c);
	}
	for (size_t i = 0; i < NTEXT && ok; i++) {
		struct customer c = sample_customer;
		c.metadata = edge_texts[i];
		ok = customer_same(&c);
	}
}

TEST(render_customer_leaves_out_what_jansson_left_out)
{
	/* json_string(NULL) is NULL: json_object_set_new() then sets nothing. */
	struct customer c = sample_customer;
	c.id = NULL;
	c.email = NULL;
	c.external_id = NULL;
	c.phone = NULL;
	c.mailbox.id = NULL;
	c.created_at = c.updated_at = 0;
	c.deactivated_at = 1795777828;
	c.prepay = false;
	c.own_billing_active = true;
	c.form_status = "submitted";
	customer_same(&c);
	c.prepay = c.own_billing_active = false;
	c.id = "\xff";
	c.partner_id = "ptr_live";
	customer_same(&c);
}

TEST(render_customer_matches_jansson_on_deep_and_wide_metadata)
{
	char deep[512] = "", wide[4096] = "{";
	for (int i = 0; i < 40; i++)
		snprintf(deep + strlen(deep), sizeof(deep) - strlen(deep), "[");
	for (int i = 0; i < 40; i++)
		snprintf(deep + strlen(deep), sizeof(deep) - strlen(deep), "]");
	for (int i = 0; i < 100; i++)
		snprintf(wide + strlen(wide), sizeof(wide) - strlen(wide), "%s\"k%d\":\"v\"",
			 i ? "," : "", i);
	snprintf(wide + strlen(wide), sizeof(wide) - strlen(wide), "}");
	struct customer c = sample_customer;
	c.metadata = deep;
	customer_same(&c);
	c.metadata = wide;
	customer_same(&c);
}

/* A small deterministic generator (xorshift64*), so a failure repeats. */
static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1Du;
}

/* Returns a random string (mostly text, some escapes, non-ASCII and the
 * odd invalid byte) in the arena. */
static char *random_string(struct arena *a, bool valid)
{
	static const char *const pieces[] = {"a",
					     "Z",
					     "0",
					     " ",
					     "-",
					     "@",
					     ".",
					     "\"",
					     "\\",
					     "/",
					     "\n",
					     "\t",
					     "\r",
					     "\b",
					     "\f",
					     "\x01",
					     "\x1f",
					     "\x7f",
					     "\xc3\xa9",
					     "\xe2\x82\xac",
					     "\xf0\x9f\x98\x80",
					     "\xe2\x80\xa8",
					     "{",
					     "}",
					     "[",
					     ":",
					     ","};
	size_t n = rng() % 24;
	char *s = arena_alloc(a, n * 4 + 2);
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		const char *p = pieces[rng() % (sizeof(pieces) / sizeof(pieces[0]))];
		memcpy(s + len, p, strlen(p));
		len += strlen(p);
	}
	if (!valid && rng() % 8 == 0)
		s[len++] = (char)(0x80 + rng() % 0x80);
	s[len] = '\0';
	return s;
}

/* Returns stored JSON text: a random flat object of strings dumped by
 * jansson (what field.c stores), sometimes spaced out or damaged. */
static char *random_text(struct arena *a)
{
	if (rng() % 10 == 0)
		return NULL;
	json_t *o = json_object();
	size_t n = rng() % 5;
	for (size_t i = 0; i < n; i++) {
		const char *k = random_string(a, true);
		json_object_set_new(o, k, json_string(random_string(a, true)));
	}
	if (rng() % 4 == 0)
		json_object_set_new(o, "n", json_integer((json_int_t)(rng() % 2000) - 1000));
	char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	char *out = arena_strdup(a, text);
	free(text);
	size_t len = strlen(out);
	switch (rng() % 6) {
	case 0: { /* spaced out, as another writer might */
		json_t *v = json_loads(out, 0, NULL);
		text = json_dumps(v, JSON_INDENT(1));
		json_decref(v);
		out = arena_strdup(a, text ? text : "{}");
		free(text);
		break;
	}
	case 1: /* one byte damaged */
		if (len > 1)
			out[1 + rng() % (len - 1)] = (char)(1 + rng() % 255);
		break;
	default:
		break;
	}
	return out;
}

static int64_t random_time(void)
{
	return rng() % 5 == 0 ? 0 : (int64_t)(rng() % 4102444800u);
}

TEST(render_event_wraps_the_rendered_object_as_jansson_did)
{
	struct event ev = {
		.id = "evt_0Ab12Cd3EfGh4IjK5LmN6OpQ",
		.partner_id = "ptr_1_test",
		.type = "customer.created",
		.created_at = 1795777828,
	};
	struct buf obj = {0}, b = {0};
	render_customer_write(&obj, &sample_customer);
	render_event_write(&b, &ev, obj.data, obj.len);
	json_t *tree = ref_customer(&sample_customer);
	char *want = ref_dump(ref_event(&ev, tree));
	json_decref(tree);
	CHECK_STR(buf_str(&b), want);
	static const char head[] =
		"{\"id\":\"evt_0Ab12Cd3EfGh4IjK5LmN6OpQ\",\"object\":\"event\","
		"\"type\":\"customer.created\",\"api_version\":\"v1\","
		"\"livemode\":false,\"created_at\":\"2026-11-27T11:10:28Z\","
		"\"data\":{\"object\":{\"id\":\"cus_";
	CHECK(strncmp(buf_str(&b), head, strlen(head)) == 0);
	CHECK(strcmp(buf_str(&b) + b.len - 3, "}}}") == 0);
	free(want);
	buf_free(&obj);
	buf_free(&b);
}

TEST(render_customer_matches_jansson_on_generated_customers)
{
	bool ok = true;
	for (int i = 0; i < 3000 && ok; i++) {
		struct arena *a = arena_new();
		struct customer c = {
			.id = random_string(a, i % 7 != 0),
			.partner_id = rng() % 2 ? "ptr_x" : "ptr_x_test",
			.external_id = rng() % 3 ? random_string(a, true) : NULL,
			.email = random_string(a, i % 5 != 0),
			.name = random_string(a, i % 5 != 1),
			.phone = rng() % 3 ? random_string(a, true) : NULL,
			.prepay = rng() % 2,
			.own_billing_active = rng() % 2,
			.status = random_string(a, true),
			.form_status = rng() % 2 ? "approved" : "submitted",
			.identity_status = rng() % 2 ? "verified" : "pending",
			.metadata = random_text(a),
			.created_at = random_time(),
			.updated_at = random_time(),
			.deactivated_at = random_time(),
			.mailbox = {.id = random_string(a, true)},
		};
		ok = customer_same(&c);
		arena_free(a);
	}
}

TEST(render_mail_matches_jansson_on_generated_mail)
{
	bool ok = true;
	for (int i = 0; i < 1000 && ok; i++) {
		struct arena *a = arena_new();
		struct mail_action acts[3];
		size_t n = rng() % 4;
		for (size_t k = 0; k < n; k++)
			acts[k] = (struct mail_action){
				.id = random_string(a, true),
				.partner_id = "ptr_x",
				.mail_id = random_string(a, true),
				.customer_id = random_string(a, k != 1),
				.type = random_string(a, true),
				.status = random_string(a, true),
				.forward_address = random_text(a),
				.shipping_speed = rng() % 2 ? random_string(a, true) : NULL,
				.notes = rng() % 2 ? random_string(a, false) : NULL,
				.result = random_text(a),
				.failure_reason = rng() % 2 ? random_string(a, true) : NULL,
				.requested_at = random_time(),
				.completed_at = random_time(),
			};
		struct mail m = {
			.id = random_string(a, true),
			.partner_id = rng() % 2 ? "ptr_x" : "ptr_x_test",
			.customer_id = random_string(a, true),
			.mailbox_id = random_string(a, true),
			.type = random_string(a, true),
			.status = random_string(a, true),
			.source = random_string(a, true),
			.photos = random_text(a),
			.performed_by = random_string(a, i % 9 != 0),
			.tracking_number = rng() % 2 ? random_string(a, true) : NULL,
			.carrier = rng() % 2 ? random_string(a, true) : NULL,
			.sender = rng() % 2 ? random_string(a, false) : NULL,
			.notes = rng() % 2 ? random_string(a, true) : NULL,
			.metadata = random_text(a),
			.received_at = random_time(),
			.created_at = random_time(),
			.updated_at = random_time(),
		};
		ok = mail_same(&m, acts, n);
		arena_free(a);
	}
}

TEST(buf_json_string_matches_jansson_with_any_byte_anywhere_in_24)
{
	/* The writer looks at 8 bytes at a time: one odd byte at every place
	 * of a longer string, or a valid sequence of two, three or four. */
	static const char *const odd[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
	bool ok = true;
	for (size_t at = 0; at < 24 && ok; at++)
		for (unsigned v = 1; v < 256 + 3 && ok; v++) {
			char s[32];
			memset(s, 'a', 24);
			s[24] = '\0';
			if (v < 256) {
				s[at] = (char)v;
			} else if (at + strlen(odd[v - 256]) <= 24) {
				memcpy(s + at, odd[v - 256], strlen(odd[v - 256]));
			}
			json_t *j = json_string(s);
			char *want = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
			json_decref(j);
			struct buf b = {0};
			bool written = buf_json_string(&b, s, strlen(s));
			ok = written ? CHECK_STR(buf_str(&b), want) : CHECK(want == NULL);
			free(want);
			buf_free(&b);
		}
}

TEST(buf_json_string_matches_jansson_on_every_byte_pair)
{
	/* Every one- and two-byte string: escapes, and where UTF-8 starts or
	 * fails. Three-byte forms are covered by the edge cases above. */
	bool ok = true;
	for (unsigned x = 1; x < 256 && ok; x++)
		for (unsigned y = 0; y < 256 && ok; y++) {
			char s[3] = {(char)x, (char)y, 0};
			json_t *v = json_string(s);
			char *want = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
			json_decref(v);
			struct buf b = {0};
			bool written = buf_json_string(&b, s, strlen(s));
			size_t len;
			char *got = buf_take(&b, &len);
			ok = written ? CHECK_STR(got, want) : CHECK(want == NULL);
			free(want);
			free(got);
		}
}
