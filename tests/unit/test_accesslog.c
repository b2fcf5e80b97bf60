/* test_accesslog.c - the access log line (accesslog.h): its exact bytes in
 * both formats, times with milliseconds, integers of every sign. */
#include <string.h>

#include "accesslog.h"
#include "unit.h"

TEST(accesslog_json_line_has_exactly_these_bytes)
{
	struct resp_facts facts = {
		.request_id = "req_1",
		.partner_id = "ptn_1",
		.livemode = 0,
		.key_prefix = "ib_test_abcd",
		.replayed = true,
	};
	struct accesslog_entry e = {
		.time_us = 1795777828123456,
		.source = "http",
		.method = "POST",
		.status = 201,
		.duration_us = 1234567,
		.bytes_out = 0,
		.exit_code = -1,
		.facts = &facts,
	};
	char line[1024];
	size_t n = accesslog_format_line(ACCESSLOG_JSON, &e, line, sizeof(line));
	const char *want =
		"{\"time\":\"2026-11-27T11:10:28.123Z\",\"source\":\"http\","
		"\"request_id\":\"req_1\",\"method\":\"POST\",\"route\":\"unmatched\","
		"\"status\":201,\"duration_us\":1234567,\"partner_id\":\"ptn_1\","
		"\"livemode\":false,\"key_prefix\":\"ib_test_abcd\",\"bytes_out\":0,"
		"\"replayed\":true}\n";
	line[n] = '\0';
	CHECK_STR(line, want);
	CHECK_INT(n, strlen(want));
}

TEST(accesslog_text_line_has_exactly_these_bytes)
{
	struct accesslog_entry e = {
		.time_us = 0,
		.source = "cli",
		.command = "key create",
		.duration_us = -42,
		.bytes_out = 9223372036854775807u,
		.exit_code = 0,
	};
	char line[1024];
	size_t n = accesslog_format_line(ACCESSLOG_TEXT, &e, line, sizeof(line));
	line[n] = '\0';
	CHECK_STR(line, "time=1970-01-01T00:00:00.000Z source=cli command=\"key create\" "
			"duration_us=-42 bytes_out=9223372036854775807 replayed=false "
			"exit_code=0\n");
}
