/* test_accesslog.c - the access log line (accesslog.h): its exact bytes in
 * both formats, times with milliseconds, integers of every sign; and the
 * server's batches of lines: when they are written out. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

/* Returns what can be read from the non-blocking fd now ("" for nothing). */
static const char *readable(int fd, char *buf, size_t size)
{
	ssize_t n = read(fd, buf, size - 1);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* Counts the lines in s. */
static int lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static int batch_fd;

static void *log_one_and_exit(void *arg)
{
	const struct accesslog_entry *e = arg;
	accesslog_append(batch_fd, ACCESSLOG_TEXT, e);
	return NULL;
}

TEST(accesslog_batches_lines_until_they_span_the_batch_time_or_are_flushed)
{
	int fds[2];
	if (!CHECK(pipe2(fds, O_NONBLOCK) == 0))
		return;
	batch_fd = fds[1];
	char buf[8192];
	struct accesslog_entry e = {.time_us = 1000000, .source = "http", .exit_code = -1};
	for (int i = 0; i < 3; i++) {
		e.time_us += 1000;
		accesslog_append(fds[1], ACCESSLOG_TEXT, &e);
	}
	CHECK_STR(readable(fds[0], buf, sizeof(buf)), "");
	/* A line arriving the batch time after the first sends all four. */
	e.time_us = 1001000 + ACCESSLOG_BATCH_MS * 1000;
	accesslog_append(fds[1], ACCESSLOG_TEXT, &e);
	CHECK_INT(lines(readable(fds[0], buf, sizeof(buf))), 4);
	e.time_us += 1000;
	accesslog_append(fds[1], ACCESSLOG_TEXT, &e);
	CHECK_STR(readable(fds[0], buf, sizeof(buf)), "");
	accesslog_flush();
	CHECK_INT(lines(readable(fds[0], buf, sizeof(buf))), 1);
	/* A thread's lines go out when it exits. */
	pthread_t t;
	if (CHECK(pthread_create(&t, NULL, log_one_and_exit, &e) == 0))
		pthread_join(t, NULL);
	CHECK_INT(lines(readable(fds[0], buf, sizeof(buf))), 1);
	close(fds[0]);
	close(fds[1]);
}

TEST(accesslog_writes_a_full_buffer_before_the_line_that_does_not_fit)
{
	int fds[2];
	if (!CHECK(pipe2(fds, O_NONBLOCK) == 0))
		return;
	fcntl(fds[1], F_SETPIPE_SZ, 1024 * 1024);
	char line[1024];
	struct accesslog_entry e = {.time_us = 5000000, .source = "http", .exit_code = -1};
	size_t n = accesslog_format_line(ACCESSLOG_TEXT, &e, line, sizeof(line));
	size_t fit = ACCESSLOG_BUFFER / n;
	for (size_t i = 0; i < fit; i++)
		accesslog_append(fds[1], ACCESSLOG_TEXT, &e);
	static char buf[ACCESSLOG_BUFFER + 1];
	CHECK_STR(readable(fds[0], buf, sizeof(buf)), "");
	accesslog_append(fds[1], ACCESSLOG_TEXT, &e);
	CHECK_INT(lines(readable(fds[0], buf, sizeof(buf))), (long long)fit);
	accesslog_flush();
	CHECK_INT(lines(readable(fds[0], buf, sizeof(buf))), 1);
	close(fds[0]);
	close(fds[1]);
}

/* The escaping the line promises, one byte at a time: quote and backslash
 * with a backslash, control characters, DEL and non-ASCII as \u00XX. */
static void escape_reference(const char *s, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			*out++ = '\\';
			*out++ = (char)ch;
		} else if (ch < 0x20 || ch >= 0x7f) {
			memcpy(out, "\\u00", 4);
			out[4] = hex[ch >> 4];
			out[5] = hex[ch & 15];
			out += 6;
		} else {
			*out++ = (char)ch;
		}
	}
	*out = '\0';
}

TEST(accesslog_escapes_any_byte_anywhere_in_a_value_of_any_length)
{
	bool ok = true;
	for (size_t len = 1; len <= 24 && ok; len++)
		for (size_t at = 0; at < len && ok; at++)
			for (unsigned v = 1; v < 256 && ok; v++) {
				char value[32], want[256], line[1024], field[300];
				memset(value, 'a', len);
				value[len] = '\0';
				value[at] = (char)v;
				escape_reference(value, want);
				struct accesslog_entry e = {.source = value, .exit_code = -1};
				size_t n = accesslog_format_line(ACCESSLOG_JSON, &e, line,
								 sizeof(line));
				line[n] = '\0';
				snprintf(field, sizeof(field), "\"source\":\"%s\",", want);
				ok = CHECK(strstr(line, field) != NULL);
			}
}

/* Returns the time a line of e at time_us shows (JSON). */
static const char *line_time(int64_t time_us, char out[64])
{
	struct accesslog_entry e = {.time_us = time_us, .source = "http", .exit_code = -1};
	char line[1024];
	size_t n = accesslog_format_line(ACCESSLOG_JSON, &e, line, sizeof(line));
	line[n] = '\0';
	const char *at = strstr(line, "\"time\":\"");
	snprintf(out, 64, "%.24s", at ? at + 8 : "");
	return out;
}

TEST(accesslog_times_are_right_within_a_second_across_seconds_and_back_in_time)
{
	char t[64];
	/* A thread keeps the last second it wrote: a new second, the next
	 * millisecond of the same one, an earlier second again. */
	CHECK_STR(line_time(1795777828123456, t), "2026-11-27T11:10:28.123Z");
	CHECK_STR(line_time(1795777828999999, t), "2026-11-27T11:10:28.999Z");
	CHECK_STR(line_time(1795777829000000, t), "2026-11-27T11:10:29.000Z");
	CHECK_STR(line_time(1795777828000999, t), "2026-11-27T11:10:28.000Z");
	CHECK_STR(line_time(1798761599999000, t), "2026-12-31T23:59:59.999Z");
	CHECK_STR(line_time(1798761600000000, t), "2027-01-01T00:00:00.000Z");
	CHECK_STR(line_time(0, t), "1970-01-01T00:00:00.000Z");
	CHECK_STR(line_time(-1, t), "1969-12-31T23:59:59.999Z");
	CHECK_STR(line_time(-1000000, t), "1969-12-31T23:59:59.000Z");
}
