/* accesslog.h - the access log: one line per request (docs/operators.md), as JSON
 * or as logfmt text. The server's lines gather in a buffer per thread and go
 * out in batches (one write(2) for many lines: a pipe's reader is woken once
 * per batch, not per request); the command line writes its one line at
 * once. Threads never share a lock or a stdio buffer for it. It holds
 * who called (the partner, its mode, the key's display prefix), what was
 * matched (the route template, never the path or query) and how it went;
 * never a key, a token, a secret or a body. */
#ifndef INNBOCKS_ACCESSLOG_H
#define INNBOCKS_ACCESSLOG_H

#include <stddef.h>
#include <stdint.h>

#include "resp.h"

enum accesslog_format { ACCESSLOG_JSON, ACCESSLOG_TEXT, ACCESSLOG_OFF };

/* Reads a format name ("json", "text" or "off") into *out; returns 0, or
 * -1 for any other name. */
int accesslog_format_parse(const char *name, enum accesslog_format *out);

/* One line of the log. Everything is borrowed. */
struct accesslog_entry {
	int64_t time_us;     /* wall clock when the request arrived, Unix µs */
	const char *source;  /* "http", or "cli" for the command line */
	const char *command; /* the CLI command ("key create"); NULL over HTTP */
	const char *method;  /* NULL for a command that is no API request */
	int status;          /* 0 for a command that is no API request */
	int64_t duration_us;
	size_t bytes_out;               /* the response body's length */
	int exit_code;                  /* the CLI's exit code; -1 over HTTP */
	const struct resp_facts *facts; /* NULL for a command that is no API request */
};

/* Returns the wall clock in Unix microseconds. */
int64_t accesslog_now_us(void);

/* Formats e into out (size bytes) in format f, newline included. Returns
 * the line's length (0 when off); a line that would not fit is cut at a
 * field boundary, still ending in a newline. */
size_t accesslog_format_line(enum accesslog_format f, const struct accesslog_entry *e,
			     char *out, size_t size);

/* Writes e's line to fd with one write(2) (retried only for the part not
 * written). Never fails the caller: a log that cannot be written is
 * dropped. */
void accesslog_write(int fd, enum accesslog_format f, const struct accesslog_entry *e);

/* How long a line may wait in its thread's buffer while more requests come
 * (by their arrival times), and how much a buffer holds. */
#define ACCESSLOG_BATCH_MS 100
#define ACCESSLOG_BUFFER (64 * 1024)

/* Adds e's line to the calling thread's buffer for fd (the server's
 * stdout; lines held for another fd are written out first). The buffer is written with one write(2)
 * when the next line would not fit, when its lines span ACCESSLOG_BATCH_MS,
 * at accesslog_flush() and when the thread exits. Never fails the caller. */
void accesslog_append(int fd, enum accesslog_format f, const struct accesslog_entry *e);
/* Writes out what every thread's buffer holds. The server calls it on its
 * main loop's tick (so an idle server's last lines wait at most a tick)
 * and once its HTTP threads have stopped (so a clean stop loses none). */
void accesslog_flush(void);

#endif
