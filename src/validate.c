/* validate.c - pure checks of input values. */
#include "validate.h"

#include <ctype.h>
#include <curl/curl.h>
#include <idn2.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unictype.h>
#include <unistr.h>

#include "util.h"
#include "banned.h"

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d);

/* The flags every IDNA conversion of a host or domain here uses: NFC, then
 * UTS #46's mapping as resolvers and browsers apply it. */
#define IDNA_FLAGS (IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL)

bool valid_domain_labels(const char *ascii, bool underscore)
{
	const char *chars =
		underscore ? "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
			   : "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-";
	for (const char *d = ascii;; d++) {
		size_t l = strcspn(d, ".");
		if (l == 0 || l > 63 || d[0] == '-' || d[l - 1] == '-' || strspn(d, chars) < l)
			return false;
		/* An A-label IDNA2008 takes: one that merely decodes may spell
		 * a control character (xn--a is U+0080) or a symbol. */
		if (l > 4 && strncasecmp(d, "xn--", 4) == 0) {
			char label[64], *checked = NULL;
			memcpy(label, d, l);
			label[l] = '\0';
			bool ok = idn2_to_ascii_8z(label, &checked, IDNA_FLAGS) == IDN2_OK;
			idn2_free(checked);
			if (!ok)
				return false;
		}
		d += l;
		if (!*d)
			return true;
	}
}

/* Returns true when an email domain in its ASCII form is two or more valid
 * labels (valid_domain_labels(), no underscores), the last a top-level
 * domain: two or more letters, or an A-label (".xn--p1ai" is .рф). */
static bool email_domain_ascii(const char *d)
{
	if (!valid_domain_labels(d, false))
		return false;
	const char *dot = strrchr(d, '.');
	if (!dot)
		return false; /* one label: no top-level domain */
	const char *top = dot + 1;
	size_t n = strlen(top);
	bool letters = n >= 2;
	for (size_t i = 0; i < n && letters; i++)
		letters = isalpha((unsigned char)top[i]);
	return letters || strncasecmp(top, "xn--", 4) == 0;
}

/* Returns true when s holds a character that shows nothing (white space,
 * or one default-ignorable: a zero-width space, a bidi override) if unseen,
 * or one that shows something if not. */
static bool holds(const char *s, bool unseen)
{
	const uint8_t *p = (const uint8_t *)s;
	ucs4_t uc;
	while ((p = u8_next(&uc, p)) != NULL)
		if ((uc_is_property_white_space(uc) ||
		     uc_is_property_default_ignorable_code_point(uc)) == unseen)
			return true;
	return false;
}

bool valid_email(const char *s)
{
	const char *at = strchr(s, '@');
	if (!at || at == s || strchr(at + 1, '@') || utf8_length(s) > 254 ||
	    u8_mbsnlen((const uint8_t *)s, (size_t)(at - s)) > 64 || holds(s, true))
		return false;
	for (const char *p = s; p < at; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '"' || *p == '(' ||
		    *p == ')' || *p == ',' || *p == ':' || *p == ';' || *p == '<' ||
		    *p == '>' || *p == '[' || *p == ']' || *p == '\\')
			return false;
	if (s[0] == '.' || at[-1] == '.' || strstr(s, ".."))
		return false;
	/* The domain as a mail server would send to it, in its ASCII form
	 * (user@пример.рф is user@xn--e1afmkfd.xn--p1ai); IDNA refuses a label
	 * of symbols or a broken A-label. */
	char *ascii = NULL;
	bool ok = idn2_to_ascii_8z(at + 1, &ascii, IDNA_FLAGS) == IDN2_OK &&
		  email_domain_ascii(ascii);
	idn2_free(ascii);
	return ok;
}

bool valid_e164(const char *s)
{
	if (s[0] != '+' || s[1] < '1' || s[1] > '9')
		return false;
	size_t ndigits = 0;
	for (const char *p = s + 1; *p; p++, ndigits++)
		if (!isdigit((unsigned char)*p))
			return false;
	return ndigits >= 2 && ndigits <= 15;
}

bool valid_external_id(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > 128)
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("_.:-", *p))
			return false;
	return true;
}

/* The 249 officially assigned ISO 3166-1 alpha-2 codes, by first letter:
 * the second letters each takes. Taken from Debian's iso-codes 4.15
 * (/usr/share/iso-codes/json/iso_3166-1.json), which test_validate.c
 * compares them with. User-assigned codes (AA, QM-QZ, XA-XZ, ZZ) and
 * reserved ones (UK, EU) are no countries. */
static const char *const country_second_letters[26] = {
	"DEFGILMOQRSTUWXZ",        /* A */
	"ABDEFGHIJLMNOQRSTVWYZ",   /* B */
	"ACDFGHIKLMNORUVWXYZ",     /* C */
	"EJKMOZ",                  /* D */
	"CEGHRST",                 /* E */
	"IJKMOR",                  /* F */
	"ABDEFGHILMNPQRSTUWY",     /* G */
	"KMNRTU",                  /* H */
	"DELMNOQRST",              /* I */
	"EMOP",                    /* J */
	"EGHIMNPRWYZ",             /* K */
	"ABCIKRSTUVY",             /* L */
	"ACDEFGHKLMNOPQRSTUVWXYZ", /* M */
	"ACEFGILOPRUZ",            /* N */
	"M",                       /* O */
	"AEFGHKLMNRSTWY",          /* P */
	"A",                       /* Q */
	"EOSUW",                   /* R */
	"ABCDEGHIJKLMNORSTVXYZ",   /* S */
	"CDFGHJKLMNORTVWZ",        /* T */
	"AGMSYZ",                  /* U */
	"ACEGINU",                 /* V */
	"FS",                      /* W */
	"",                        /* X */
	"ET",                      /* Y */
	"AMW",                     /* Z */
};

bool valid_country(const char *s)
{
	if (s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z' || s[2] != '\0')
		return false;
	return strchr(country_second_letters[s[0] - 'A'], s[1]) != NULL;
}

bool valid_header_name(const char *s, size_t n)
{
	/* The token characters as bits, one per byte value: !#$%&'*+-.^_`|~,
	 * digits and letters (the unit test checks them against that list). */
	static const uint64_t token[4] = {0x03ff6cfa00000000ull, 0x57ffffffc7fffffeull, 0, 0};
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (!(token[ch >> 6] >> (ch & 63) & 1))
			return false;
	}
	return true;
}

bool valid_utf8(const char *s)
{
	return u8_check((const uint8_t *)s, strlen(s)) == NULL;
}

bool valid_text(const char *s, bool multiline)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		/* U+0080 to U+009F, the C1 controls, are 0xC2 0x80 to 0xC2 0x9F
		 * (the text is valid UTF-8: jansson checked it). */
		if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			return false;
		if (*p >= 0x20 && *p != 0x7f)
			continue;
		if (multiline && (*p == '\n' || *p == '\t' || *p == '\r'))
			continue;
		return false;
	}
	return true;
}

bool valid_one_of(const char *s, const char *const list[])
{
	for (int i = 0; list && list[i]; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

bool valid_http_url(const char *s)
{
	size_t skip;
	if (strncasecmp(s, "https://", 8) == 0)
		skip = 8;
	else if (strncasecmp(s, "http://", 7) == 0)
		skip = 7;
	else
		return false;
	if (utf8_length(s) > 2048 || !valid_text(s, false) || holds(s, true))
		return false;
	const char *host = s + skip;
	const char *at = strpbrk(host, "@/?#");
	if (at && *at == '@')
		host = at + 1; /* userinfo before the host */
	if (!*host || strchr("/?#:", *host))
		return false;
	/* The rest as a client fetching it would read it: a port of digits up
	 * to 65535, an IPv6 literal in brackets, a host of valid characters. */
	CURLU *u = curl_url();
	if (!u)
		die("out of memory");
	bool ok = curl_url_set(u, CURLUPART_URL, s, 0) == CURLUE_OK && valid_url_port(u);
	curl_url_cleanup(u);
	return ok;
}

bool valid_url_port(CURLU *u)
{
	/* curl refuses a port past 65535 when it parses; 0 it takes. */
	char *port = NULL;
	bool ok = curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK ||
		  strcmp(port, "0") != 0;
	curl_free(port);
	return ok;
}

bool valid_visible(const char *s)
{
	return holds(s, false);
}

/* Reads exactly n digits at s into *v; returns false otherwise. */
static bool digits(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		*v = *v * 10 + (s[i] - '0');
	}
	return true;
}

/* RFC 3339 (5.7): a second 60 is a leap second, which is only ever the
 * last of a UTC day that ends June or December; midnight is the instant
 * after it (in Unix seconds). */
static bool leap_second_at(int64_t midnight)
{
	time_t t = (time_t)midnight;
	struct tm tm;
	return midnight % 86400 == 0 && gmtime_r(&t, &tm) && tm.tm_mday == 1 &&
	       (tm.tm_mon == 0 || tm.tm_mon == 6);
}

int rfc3339_parse(const char *s, int64_t *out)
{
	int y, mo, d, h, mi, sec;
	if (strlen(s) < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
	    s[7] != '-' || !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
	    !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !digits(s + 17, 2, &sec))
		return -1;
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || sec > 60)
		return -1;
	const char *p = s + 19;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p))
			p++;
	}
	int64_t offset = 0;
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
		offset = 0;
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
		int oh, om;
		if (!digits(p + 1, 2, &oh) || !digits(p + 4, 2, &om) || oh > 23 || om > 59)
			return -1;
		offset = (oh * 3600 + om * 60) * (*p == '+' ? 1 : -1);
	} else {
		return -1;
	}
	/* A leap second is stored as the second before it. */
	int64_t t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 +
		    (sec == 60 ? 59 : sec) - offset;
	if (sec == 60 && !leap_second_at(t + 1))
		return -1;
	*out = t;
	return 0;
}

int metadata_apply(json_t *current, json_t *patch, struct err *e)
{
	if (!json_is_object(patch))
		return error(e, 422, "validation_failed", "metadata",
			     "metadata must be an object of string values");
	const char *k;
	json_t *v;
	size_t added = 0;
	json_object_foreach(patch, k, v) {
		size_t kl = utf8_length(k);
		if (kl == 0 || kl > METADATA_KEY_MAX)
			return error(e, 422, "validation_failed", "metadata",
				     "metadata keys must be 1 to %d characters; \"%s\" is not",
				     METADATA_KEY_MAX, resp_quote(k));
		if (json_is_null(v))
			continue;
		if (!json_is_string(v))
			return error(
				e, 422, "validation_failed", "metadata",
				"metadata values must be strings (or null to remove a key); "
				"the value of \"%s\" is not",
				resp_quote(k));
		if (utf8_length(json_string_value(v)) > METADATA_VALUE_MAX)
			return error(
				e, 422, "validation_failed", "metadata",
				"metadata values must be at most %d characters; the value of "
				"\"%s\" is longer",
				METADATA_VALUE_MAX, resp_quote(k));
		if (json_string_length(v) > 0 && !json_object_get(current, k))
			added++;
	}
	size_t removed = 0;
	json_object_foreach(patch, k, v)
		if ((json_is_null(v) || json_string_length(v) == 0) &&
		    json_object_get(current, k))
			removed++;
	if (json_object_size(current) + added - removed > METADATA_MAX_KEYS)
		return error(e, 422, "validation_failed", "metadata",
			     "metadata may hold at most %d keys", METADATA_MAX_KEYS);
	json_object_foreach(patch, k, v) {
		if (json_is_null(v) || json_string_length(v) == 0)
			json_object_del(current, k);
		else
			json_object_set(current, k, v);
	}
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

int period_parse(const char *s, int64_t *start, int64_t *end)
{
	if (strlen(s) != 7 || s[4] != '-')
		return -1;
	for (int i = 0; i < 7; i++)
		if (i != 4 && !isdigit((unsigned char)s[i]))
			return -1;
	int year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	int month = (s[5] - '0') * 10 + (s[6] - '0');
	/* 9999-12 would end in the year 10000, which RFC 3339 cannot write. */
	if (year < 1970 || month < 1 || month > 12 || (year == 9999 && month == 12))
		return -1;
	*start = days_from_civil(year, (unsigned)month, 1) * 86400;
	*end = (month == 12 ? days_from_civil(year + 1, 1, 1)
			    : days_from_civil(year, (unsigned)month + 1, 1)) *
	       86400;
	return 0;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

int64_t usage_active_days(int64_t activated, int64_t closed, int64_t start, int64_t end,
			  int64_t now)
{
	/* Active seconds are [activated, closed); we count the seconds of the
	 * period that are not in the future: [start, min(end, now + 1)). A
	 * mailbox closed in the second it was activated is billed for that
	 * second, so for the day it was activated (docs/api.md#billing-usage). */
	if (closed && closed == activated)
		closed = activated + 1;
	int64_t lo = activated > start ? activated : start;
	int64_t hi = end < now + 1 ? end : now + 1;
	if (closed && closed < hi)
		hi = closed;
	if (!activated || lo >= hi)
		return 0;
	return floor_div(hi - 1, 86400) - floor_div(lo, 86400) + 1;
}

bool usage_active_at(int64_t activated, int64_t closed, int64_t t)
{
	return activated && activated <= t && (!closed || closed > t);
}
