/*
 * Unit tests for src/log.c: the audit record in text and JSON; and for
 * where lines go: the queue (logq.c), the rules for opening a log file
 * (file.c), the sinks and the daemon's own messages (logsink.c). JSON
 * lines are checked by a strict JSON reader (json_query, below) as well
 * as byte for byte.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config/file.h"
#include "core/log.h"
#include "core/logq.h"
#include "gateway/logsink.h"

/* 2023-11-14T22:13:20Z, plus half a second (exact in binary). */
#define T0 1700000000.5
#define T0_TEXT "2023-11-14T22:13:20.500Z"

/* Every string field of struct log_record, in the order they appear. */
#define NSTRINGS 12

/* --- helpers: records and lines ----------------------------------------- */

/* A plain successful session, like the first README example. */
static struct log_record
typical_record(void)
{
	struct log_record r;

	memset(&r, 0, sizeof(r));
	r.time = T0;
	r.event = "close";
	r.conn = 1;
	r.client = "203.0.113.7:51700";
	r.sni = "server1.example.local";
	r.result = "ok";
	r.reason = "client-closed";
	r.route = "server1.example.local";
	r.dst = "192.168.0.10:22";
	r.tls = "TLSv1.3/TLS_AES_256_GCM_SHA384";
	r.handshake_ms = 1;
	r.connect_ms = 1;
	r.duration_ms = 254;
	r.bytes_up = 3757;
	r.bytes_down = 3673;
	return r;
}

/* A record with every string field set to v and every number known. */
static struct log_record
every_field(const char *v)
{
	struct log_record r;

	memset(&r, 0, sizeof(r));
	r.time = T0;
	r.event = r.client = r.sni = r.result = r.reason = v;
	r.user = r.groups = r.cert_serial = r.route = r.dst = r.tls = v;
	r.mode = r.alpn = v;
	r.detail = v;
	r.conn = 7;
	r.tls_resumed = 1;
	r.handshake_ms = 2;
	r.connect_ms = 3;
	r.duration_ms = 4;
	r.bytes_up = 5;
	r.bytes_down = 6;
	return r;
}

/*
 * Checks what every record line must be: the returned length fits the
 * buffer, the line ends in exactly one '\n' and holds no other newline
 * (nor any NUL: sinks write it as bytes).
 */
static void
assert_one_line(const char *buf, size_t n, size_t len)
{
	assert_true(n >= 2);
	assert_true(n <= len);
	assert_int_equal(buf[n - 1], '\n');
	assert_null(memchr(buf, '\n', n - 1));
	assert_null(memchr(buf, '\r', n));
	assert_null(memchr(buf, '\0', n));
}

/*
 * Formats r into a LOG_LINE_MAX buffer (the size conn.c uses), checks
 * it is one line, and returns it NUL-terminated (caller frees).
 */
static char *
format(const struct log_record *r, int json)
{
	char *buf = malloc(LOG_LINE_MAX + 1);
	size_t n;

	assert_non_null(buf);
	/* poison: nothing may rely on bytes log_format did not write */
	memset(buf, 'Z', LOG_LINE_MAX + 1);
	n = log_format(r, json, buf, LOG_LINE_MAX);
	assert_one_line(buf, n, LOG_LINE_MAX);
	buf[n] = '\0';
	return buf;
}

static void
assert_line(const struct log_record *r, int json, const char *want)
{
	char *line = format(r, json);

	if (strcmp(line, want) != 0) {
		/* print before freeing: fail_msg does not return */
		print_error("got  %s", line);
		print_error("want %s", want);
		free(line);
		fail_msg("log line differs");
	}
	free(line);
}

/* A string of n copies of byte ch (caller frees). */
static char *
repeat(int ch, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, ch, n);
	s[n] = '\0';
	return s;
}

/* Does a text line hold the key (" key=")? */
static int
has_text_key(const char *line, const char *key)
{
	char pat[64];

	snprintf(pat, sizeof(pat), " %s=", key);
	return strstr(line, pat) != NULL;
}

/* --- helpers: a strict JSON reader ------------------------------------- */

/*
 * JSON as RFC 8259 has it, read as strictly as python3's json module with
 * duplicate keys refused: the whole text valid UTF-8, no raw control
 * character inside a string, no lone surrogate in a \u escape, no NaN or
 * Infinity, no duplicate key in any object. The tests below hold it to
 * that (json_checker_rejects_broken_lines).
 */
struct json {
	const unsigned char *p, *end;
	int depth;
};

#define JSON_DEPTH_MAX 32

static int json_value(struct json *j, unsigned char *dec, size_t *declen,
    size_t decmax);

static void
json_blank(struct json *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' ||
	    *j->p == '\r'))
		j->p++;
}

/* Appends code point cp as UTF-8 to dec (when dec is not NULL). */
static int
json_put(unsigned char *dec, size_t *len, size_t max, unsigned long cp)
{
	unsigned char b[4];
	size_t n, i;

	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | cp >> 6);
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | cp >> 12);
		b[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | cp >> 18);
		b[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		b[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	if (dec == NULL)
		return 0;
	if (*len + n > max)
		return -1;
	for (i = 0; i < n; i++)
		dec[(*len)++] = b[i];
	return 0;
}

/*
 * One UTF-8 sequence at j->p (lead byte >= 0x80): its code point, or -1
 * if it is not a valid, shortest-form sequence of a scalar value.
 */
static long
json_utf8(struct json *j)
{
	const unsigned char *p = j->p;
	unsigned long cp, min;
	size_t n, i;

	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		cp = p[0] & 0x1f;
		min = 0x80;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		cp = p[0] & 0x0f;
		min = 0x800;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		cp = p[0] & 0x07;
		min = 0x10000;
	} else {
		return -1;
	}
	if ((size_t)(j->end - p) < n)
		return -1;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	j->p += n;
	return (long)cp;
}

static int
json_hex4(struct json *j, unsigned long *v)
{
	int i;

	if (j->end - j->p < 4)
		return -1;
	*v = 0;
	for (i = 0; i < 4; i++) {
		int c = j->p[i], d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		*v = *v << 4 | (unsigned long)d;
	}
	j->p += 4;
	return 0;
}

/*
 * A string at j->p (its opening quote); its UTF-8 value goes to dec (NULL:
 * checked only). Returns 0, or -1 if it is not a valid JSON string.
 */
static int
json_string(struct json *j, unsigned char *dec, size_t *len, size_t max)
{
	unsigned long cp, lo;
	long u;

	if (dec != NULL)
		*len = 0;
	j->p++;
	for (;;) {
		if (j->p >= j->end || *j->p < 0x20)
			return -1;	/* cut short, or a raw control */
		if (*j->p == '"') {
			j->p++;
			return 0;
		}
		if (*j->p >= 0x80) {
			if ((u = json_utf8(j)) == -1)
				return -1;
			cp = (unsigned long)u;
		} else if (*j->p != '\\') {
			cp = *j->p++;
		} else {
			if (j->end - j->p < 2)
				return -1;
			j->p += 2;
			switch (j->p[-1]) {
			case '"': cp = '"'; break;
			case '\\': cp = '\\'; break;
			case '/': cp = '/'; break;
			case 'b': cp = '\b'; break;
			case 'f': cp = '\f'; break;
			case 'n': cp = '\n'; break;
			case 'r': cp = '\r'; break;
			case 't': cp = '\t'; break;
			case 'u':
				if (json_hex4(j, &cp) == -1)
					return -1;
				if (cp >= 0xdc00 && cp <= 0xdfff)
					return -1;	/* a lone low half */
				if (cp >= 0xd800 && cp <= 0xdbff) {
					if (j->end - j->p < 6 || j->p[0] != '\\' ||
					    j->p[1] != 'u')
						return -1;
					j->p += 2;
					if (json_hex4(j, &lo) == -1 ||
					    lo < 0xdc00 || lo > 0xdfff)
						return -1;
					cp = 0x10000 + ((cp - 0xd800) << 10) +
					    (lo - 0xdc00);
				}
				break;
			default:
				return -1;
			}
		}
		if (json_put(dec, len, max, cp) == -1)
			fail_msg("a JSON string longer than %zu bytes", max);
	}
}

static int
json_digits(struct json *j)
{
	const unsigned char *start = j->p;

	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > start ? 0 : -1;
}

static int
json_number(struct json *j)
{
	if (*j->p == '-')
		j->p++;
	if (j->p < j->end && *j->p == '0')
		j->p++;		/* no leading zeros */
	else if (json_digits(j) == -1)
		return -1;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (json_digits(j) == -1)
			return -1;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (json_digits(j) == -1)
			return -1;
	}
	return 0;
}

/*
 * An object at j->p. With keys != NULL (the top level), its keys go there
 * comma-separated, and the value of key want (if present) to val: a
 * string as its UTF-8 bytes (*is_string set), anything else as its JSON
 * text.
 */
static int
json_object(struct json *j, char *keys, size_t keysmax, const char *want,
    unsigned char *val, size_t *vallen, size_t valmax, int *is_string)
{
	unsigned char seen[64][128];
	size_t nseen = 0, klen, i, used = 0;
	unsigned char key[128];
	const unsigned char *v;
	int rc = -1;

	if (++j->depth > JSON_DEPTH_MAX)
		return -1;
	j->p++;
	json_blank(j);
	if (j->p < j->end && *j->p == '}') {
		j->p++;
		rc = 0;
		goto out;
	}
	for (;;) {
		json_blank(j);
		if (j->p >= j->end || *j->p != '"' ||
		    json_string(j, key, &klen, sizeof(key) - 1) == -1)
			goto out;
		key[klen] = '\0';
		for (i = 0; i < nseen; i++)
			if (memcmp(seen[i], key, klen + 1) == 0)
				goto out;	/* a duplicate key */
		if (nseen == 64)
			fail_msg("a JSON object with over 64 keys");
		memcpy(seen[nseen++], key, klen + 1);
		if (keys != NULL) {
			if (used + klen + 2 > keysmax)
				fail_msg("JSON keys longer than %zu", keysmax);
			if (used > 0)
				keys[used++] = ',';
			memcpy(keys + used, key, klen);
			keys[used += klen] = '\0';
		}
		json_blank(j);
		if (j->p >= j->end || *j->p != ':')
			goto out;
		j->p++;
		json_blank(j);
		v = j->p;
		if (keys != NULL && strcmp((char *)key, want) == 0) {
			*is_string = j->p < j->end && *j->p == '"';
			if (*is_string) {
				if (json_string(j, val, vallen, valmax) == -1)
					goto out;
			} else {
				if (json_value(j, NULL, NULL, 0) == -1)
					goto out;
				if ((size_t)(j->p - v) > valmax)
					fail_msg("a JSON value too long");
				memcpy(val, v, (size_t)(j->p - v));
				*vallen = (size_t)(j->p - v);
			}
		} else if (json_value(j, NULL, NULL, 0) == -1) {
			goto out;
		}
		json_blank(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == '}') {
			j->p++;
			rc = 0;
		}
		goto out;
	}
out:
	j->depth--;
	return rc;
}

static int
json_array(struct json *j)
{
	if (++j->depth > JSON_DEPTH_MAX)
		return -1;
	j->p++;
	json_blank(j);
	if (j->p < j->end && *j->p == ']') {
		j->p++;
		j->depth--;
		return 0;
	}
	for (;;) {
		json_blank(j);
		if (json_value(j, NULL, NULL, 0) == -1)
			return -1;
		json_blank(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == ']') {
			j->p++;
			j->depth--;
			return 0;
		}
		return -1;
	}
}

static int
json_literal(struct json *j, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
		return -1;
	j->p += n;
	return 0;
}

/* Any value at j->p (checked, skipped; a string's value to dec). */
static int
json_value(struct json *j, unsigned char *dec, size_t *declen, size_t decmax)
{
	if (j->p >= j->end)
		return -1;
	switch (*j->p) {
	case '{':
		return json_object(j, NULL, 0, NULL, NULL, NULL, 0, NULL);
	case '[':
		return json_array(j);
	case '"':
		return json_string(j, dec, declen, decmax);
	case 't':
		return json_literal(j, "true");
	case 'f':
		return json_literal(j, "false");
	case 'n':
		return json_literal(j, "null");
	default:
		if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9'))
			return json_number(j);
		return -1;
	}
}

/*
 * Reads line as one JSON object on one line (it ends in its only '\n').
 * Returns 0 with, in out: the keys ("-keys", comma-separated, in order),
 * or arg's value (a string as the hex of its UTF-8 bytes, anything else
 * as its JSON text), or "-absent-". Returns -1 if the line is not that.
 */
static int
json_query(const char *line, const char *arg, char *out, size_t outlen)
{
	static unsigned char val[8192];
	static char keys[2048];
	struct json j;
	size_t n = strlen(line), vallen = 0, i;
	int is_string = 0, found;

	val[0] = '\0';
	keys[0] = '\0';
	if (n == 0 || line[n - 1] != '\n' || memchr(line, '\n', n - 1) != NULL)
		return -1;
	j.p = (const unsigned char *)line;
	j.end = j.p + n - 1;
	j.depth = 0;
	json_blank(&j);
	/* a lead byte outside strings is never valid: UTF-8 is checked */
	if (j.p >= j.end || *j.p != '{')
		return -1;
	vallen = (size_t)-1;
	if (json_object(&j, keys, sizeof(keys), arg, val, &vallen,
	    sizeof(val), &is_string) == -1)
		return -1;
	json_blank(&j);
	if (j.p != j.end)
		return -1;	/* more after the object */
	found = vallen != (size_t)-1;
	if (strcmp(arg, "-keys") == 0)
		snprintf(out, outlen, "%s", keys);
	else if (!found)
		snprintf(out, outlen, "-absent-");
	else if (is_string) {
		if (2 * vallen + 1 > outlen)
			fail_msg("no room for the hex of a %zu byte value",
			    vallen);
		for (i = 0; i < vallen; i++)
			snprintf(out + 2 * i, 3, "%02x", val[i]);
		out[2 * vallen] = '\0';
	} else {
		snprintf(out, outlen, "%.*s", (int)vallen, (const char *)val);
	}
	return 0;
}

static void
assert_valid_json(const char *line)
{
	char out[1024];

	if (json_query(line, "-keys", out, sizeof(out)) != 0)
		fail_msg("not one valid JSON object on one line: %.300s", line);
}

/* The hex of the UTF-8 bytes of want, as json_query prints strings. */
static void
to_hex(const char *want, char *hex, size_t hexlen)
{
	size_t i;

	for (i = 0; want[i] != '\0' && 2 * i + 2 < hexlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", (unsigned char)want[i]);
	hex[2 * i] = '\0';
}

/* The parsed JSON value of key must be the string want (UTF-8). */
static void
assert_json_string(const char *line, const char *key, const char *want)
{
	static char got[16384], hex[16384];

	if (json_query(line, key, got, sizeof(got)) != 0)
		fail_msg("not valid JSON: %.300s", line);
	to_hex(want, hex, sizeof(hex));
	if (strcmp(got, hex) != 0)
		fail_msg("\"%s\" decodes to hex %.200s, want %.200s", key, got,
		    hex);
}

/* --- the checker itself ------------------------------------------------ */

/* json_query on line must refuse it. */
static void
assert_not_json(const char *line)
{
	char out[256];

	if (json_query(line, "a", out, sizeof(out)) != -1)
		fail_msg("the checker took %s", line);
}

/* json_query(line, arg) must give want. */
static void
assert_query(const char *line, const char *arg, const char *want)
{
	char out[256];

	if (json_query(line, arg, out, sizeof(out)) != 0)
		fail_msg("the checker refused %s", line);
	assert_string_equal(out, want);
}

static void
json_checker_rejects_broken_lines(void **state)
{
	(void)state;
	/* the JSON tests below are only as good as this checker */
	assert_query("{\"a\":\"x\"}\n", "a", "78");
	assert_query("{\"a\":\"x\"}\n", "b", "-absent-");
	assert_query("{}\n", "-keys", "");
	assert_query(" { \"b\" : 1 ,\t\"a\":[1,{\"c\":null},\"s\"] ,"
	    "\"d\":true}\r\n", "-keys", "b,a,d");
	assert_query("{\"a\":-1.5e+3}\n", "a", "-1.5e+3");
	assert_query("{\"a\":0,\"z\":false}\n", "z", "false");
	assert_query("{\"a\":[1,2]}\n", "a", "[1,2]");
	/* escapes decode to UTF-8; a surrogate pair to one character */
	assert_query("{\"a\":\"\\u00e9\\ud83d\\udd11\\n\\/\\\"\\\\\\t\"}\n",
	    "a", "c3a9f09f94910a2f225c09");
	assert_query("{\"a\":\"caf\xc3\xa9 \xf4\x8f\xbf\xbf\x7f\"}\n", "a",
	    "636166c3a920f48fbfbf7f");
	/* a raw control character inside a string */
	assert_not_json("{\"a\":\"x\ty\"}\n");
	assert_not_json("{\"a\":\"x\x01\"}\n");
	/* cut short, two lines, duplicate key, no newline, empty */
	assert_not_json("{\"a\":\"x\n");
	assert_not_json("{\"a\":1}\n{}\n");
	assert_not_json("{\"a\":1,\"a\":2}\n");
	assert_not_json("{\"a\":{\"b\":1,\"b\":2}}\n");
	assert_not_json("{\"a\":1}");
	assert_not_json("\n");
	assert_not_json("");
	/* invalid UTF-8: a stray byte, overlong, a surrogate, past U+10FFFF,
	 * a sequence cut short */
	assert_not_json("{\"a\":\"\xff\"}\n");
	assert_not_json("{\"a\":\"\xc0\xaf\"}\n");
	assert_not_json("{\"a\":\"\xe0\x80\xaf\"}\n");
	assert_not_json("{\"a\":\"\xed\xa0\x80\"}\n");
	assert_not_json("{\"a\":\"\xf4\x90\x80\x80\"}\n");
	assert_not_json("{\"a\":\"\xe2\x82\"}\n");
	assert_not_json("{\"\xff\":1}\n");
	/* escapes: unknown, short, lone surrogate halves */
	assert_not_json("{\"a\":\"\\x41\"}\n");
	assert_not_json("{\"a\":\"\\u12\"}\n");
	assert_not_json("{\"a\":\"\\ud800\"}\n");
	assert_not_json("{\"a\":\"\\udc00\"}\n");
	assert_not_json("{\"a\":\"\\ud800\\u0041\"}\n");
	/* grammar: trailing comma, leading zero, bare words, quotes, junk */
	assert_not_json("{\"a\":1,}\n");
	assert_not_json("{\"a\":01}\n");
	assert_not_json("{\"a\":1.}\n");
	assert_not_json("{\"a\":-}\n");
	assert_not_json("{\"a\":NaN}\n");
	assert_not_json("{\"a\":Infinity}\n");
	assert_not_json("{\"a\":tru}\n");
	assert_not_json("{a:1}\n");
	assert_not_json("{'a':1}\n");
	assert_not_json("{\"a\" 1}\n");
	assert_not_json("{\"a\":[1,]}\n");
	assert_not_json("{\"a\":1}x\n");
	assert_not_json("[1]\n");
	assert_not_json("\"a\"\n");
}

/* --- text format -------------------------------------------------------- */

static void
text_typical_record(void **state)
{
	struct log_record r = typical_record();

	(void)state;
	/* the README's first example, byte for byte */
	assert_line(&r, 0, T0_TEXT " event=close conn=1 "
	    "client=203.0.113.7:51700 sni=server1.example.local result=ok "
	    "reason=client-closed route=server1.example.local "
	    "dst=192.168.0.10:22 tls=TLSv1.3/TLS_AES_256_GCM_SHA384 "
	    "handshake_ms=1 connect_ms=1 duration_ms=254 bytes_up=3757 "
	    "bytes_down=3673\n");
}

static void
text_key_order(void **state)
{
	struct log_record r = every_field("v");

	(void)state;
	/* fixed order, so that lines can be compared and grepped */
	assert_line(&r, 0, T0_TEXT " event=v conn=7 client=v sni=v result=v "
	    "reason=v user=v groups=v cert_serial=v route=v mode=v alpn=v "
	    "dst=v tls=v "
	    "tls_resumed=yes handshake_ms=2 connect_ms=3 duration_ms=4 "
	    "bytes_up=5 bytes_down=6 detail=v\n");
}

static void
text_sni_empty_when_none(void **state)
{
	struct log_record r = typical_record();
	char *line;

	(void)state;
	/* "sni" is always present: a record without it is unambiguous */
	r.sni = NULL;
	line = format(&r, 0);
	assert_non_null(strstr(line, " sni=\"\" result=ok"));
	free(line);
	r.sni = "";
	line = format(&r, 0);
	assert_non_null(strstr(line, " sni=\"\" result=ok"));
	free(line);
}

static void
text_unknown_strings_omitted(void **state)
{
	struct log_record r = typical_record();
	char *line;

	(void)state;
	r.route = NULL;
	r.dst = NULL;
	r.tls = NULL;
	r.event = NULL;
	line = format(&r, 0);
	assert_false(has_text_key(line, "route"));
	assert_false(has_text_key(line, "dst"));
	assert_false(has_text_key(line, "tls"));
	assert_false(has_text_key(line, "event"));
	assert_false(has_text_key(line, "user"));
	assert_false(has_text_key(line, "detail"));
	assert_true(has_text_key(line, "client"));
	free(line);
}

static void
text_negative_numbers_omitted(void **state)
{
	struct log_record r = typical_record();

	(void)state;
	/* -1: never measured (no handshake, no connect) */
	r.handshake_ms = -1;
	r.connect_ms = -5;
	r.duration_ms = 0;
	r.bytes_up = 0;
	r.bytes_down = 0;
	r.conn = 0;
	r.route = r.dst = r.tls = NULL;
	/* ... while 0 is a real value and stays */
	assert_line(&r, 0, T0_TEXT " event=close conn=0 "
	    "client=203.0.113.7:51700 sni=server1.example.local result=ok "
	    "reason=client-closed duration_ms=0 bytes_up=0 bytes_down=0\n");
}

static void
text_tls_resumed_only_when_set(void **state)
{
	struct log_record r = typical_record();
	char *line;

	(void)state;
	line = format(&r, 0);
	assert_false(has_text_key(line, "tls_resumed"));
	free(line);
	r.tls_resumed = 1;
	line = format(&r, 0);
	assert_non_null(strstr(line, " tls=TLSv1.3/TLS_AES_256_GCM_SHA384 "
	    "tls_resumed=yes handshake_ms=1 "));
	free(line);
}

/* A passthrough session: its mode and the protocols its client offered. */
static void
text_passthrough_record(void **state)
{
	struct log_record r = typical_record();

	(void)state;
	r.mode = "passthrough";
	r.alpn = "h2,http/1.1";
	r.sni = "www.example.com";
	r.route = "www.example.com";
	r.tls = NULL;
	r.handshake_ms = -1;
	assert_line(&r, 0, T0_TEXT " event=close conn=1 "
	    "client=203.0.113.7:51700 sni=www.example.com result=ok "
	    "reason=client-closed route=www.example.com mode=passthrough "
	    "alpn=h2,http/1.1 dst=192.168.0.10:22 connect_ms=1 "
	    "duration_ms=254 bytes_up=3757 bytes_down=3673\n");
}

static void
text_large_numbers(void **state)
{
	struct log_record r = typical_record();
	char *line;

	(void)state;
	r.bytes_up = 9007199254740993ULL;	/* 2^53 + 1: no double here */
	r.duration_ms = 2147483647L;
	line = format(&r, 0);
	assert_non_null(strstr(line, " bytes_up=9007199254740993 "));
	assert_non_null(strstr(line, " duration_ms=2147483647 "));
	free(line);
}

/* Formats a record whose detail is v; the text after "detail=" must be want. */
static void
assert_text_detail(const char *v, const char *want)
{
	struct log_record r = typical_record();
	char *line, *d;

	r.detail = v;
	line = format(&r, 0);
	d = strstr(line, " detail=");
	assert_non_null(d);
	d += strlen(" detail=");
	/* detail is the last key: the value runs to the newline */
	d[strlen(d) - 1] = '\0';
	if (strcmp(d, want) != 0) {
		print_error("got  detail=%s\n", d);
		free(line);
		fail_msg("want detail=%s", want);
	}
	free(line);
}

static void
text_harmless_values_stay_bare(void **state)
{
	(void)state;
	assert_text_detail("ECONNREFUSED", "ECONNREFUSED");
	assert_text_detail("a/b:c,d;e@f-g_h.i[j]k'l", "a/b:c,d;e@f-g_h.i[j]k'l");
}

static void
text_quotes_values_that_would_break_the_line(void **state)
{
	(void)state;
	/* a blank would start what looks like the next key */
	assert_text_detail("first bytes are not SSH",
	    "\"first bytes are not SSH\"");
	/* '=' could be read as a key of its own */
	assert_text_detail("user=root", "\"user=root\"");
	assert_text_detail("a\"b", "\"a\\\"b\"");
	assert_text_detail("a\\b", "\"a\\\\b\"");
	assert_text_detail("", "\"\"");
}

static void
text_escapes_control_characters(void **state)
{
	(void)state;
	assert_text_detail("a\nb", "\"a\\nb\"");
	assert_text_detail("a\tb", "\"a\\tb\"");
	assert_text_detail("a\rb", "\"a\\x0db\"");
	assert_text_detail("\x1b[31mred", "\"\\x1b[31mred\"");
	assert_text_detail("a\x01", "\"a\\x01\"");
	assert_text_detail("del\x7f", "\"del\\x7f\"");
}

static void
text_non_ascii_as_hex(void **state)
{
	(void)state;
	/* text logs stay ASCII: UTF-8 and stray bytes alike become \xHH */
	assert_text_detail("caf\xc3\xa9", "\"caf\\xc3\\xa9\"");
	assert_text_detail("\xff\xfe", "\"\\xff\\xfe\"");
}

static void
text_value_at_limit_is_whole(void **state)
{
	char *v = repeat('a', LOG_VALUE_MAX);

	(void)state;
	/* exactly LOG_VALUE_MAX bytes: not cut, still bare */
	assert_text_detail(v, v);
	free(v);
}

static void
text_long_value_is_cut(void **state)
{
	char *v = repeat('a', LOG_VALUE_MAX + 100);
	char *want = malloc(LOG_VALUE_MAX + 8);

	(void)state;
	assert_non_null(want);
	/* cut after LOG_VALUE_MAX bytes, quoted, ending in "..." */
	snprintf(want, LOG_VALUE_MAX + 8, "\"%.*s...\"", LOG_VALUE_MAX, v);
	assert_text_detail(v, want);
	v[LOG_VALUE_MAX + 1] = '\0';
	assert_text_detail(v, want);
	free(v);
	free(want);
}

static void
text_cut_counts_input_bytes(void **state)
{
	char *v = repeat('\x01', 2 * LOG_VALUE_MAX);
	char *want = malloc(4 * LOG_VALUE_MAX + 8);
	size_t i, pos = 0;

	(void)state;
	assert_non_null(want);
	/* the limit is on the value's bytes, not on their escaped form */
	want[pos++] = '"';
	for (i = 0; i < LOG_VALUE_MAX; i++) {
		memcpy(want + pos, "\\x01", 4);
		pos += 4;
	}
	strcpy(want + pos, "...\"");
	assert_text_detail(v, want);
	free(v);
	free(want);
}

static void
text_newline_in_every_field_stays_one_line(void **state)
{
	struct log_record r = every_field("evil\nkey=forged\r\n");
	char *line;

	(void)state;
	/* a client-chosen value must not forge a second record */
	line = format(&r, 0);
	assert_null(strstr(line, " key=forged"));
	free(line);
}

static void
text_timestamps(void **state)
{
	struct log_record r = typical_record();
	char *line;

	(void)state;
	r.time = 0;
	line = format(&r, 0);
	assert_int_equal(strncmp(line, "1970-01-01T00:00:00.000Z event=", 31),
	    0);
	free(line);
	/* milliseconds are truncated, never rounded up to 1000 */
	r.time = 1700000000.9999;
	line = format(&r, 0);
	assert_int_equal(strncmp(line, "2023-11-14T22:13:20.999Z ", 25), 0);
	free(line);
	r.time = 1700000000.25;
	line = format(&r, 0);
	assert_int_equal(strncmp(line, "2023-11-14T22:13:20.250Z ", 25), 0);
	free(line);
}

static void
text_small_buffer_still_one_line(void **state)
{
	struct log_record r = typical_record();
	char buf[64];
	size_t n;

	(void)state;
	/* the documented minimum: cut, but still a line */
	memset(buf, 'Z', sizeof(buf));
	n = log_format(&r, 0, buf, sizeof(buf));
	assert_one_line(buf, n, sizeof(buf));
	assert_int_equal(n, sizeof(buf));
	assert_memory_equal(buf, T0_TEXT " event=close", 36);
}

static void
text_worst_case_fits_line_max(void **state)
{
	char *v = repeat('\x01', 2 * LOG_VALUE_MAX);
	struct log_record r = every_field(v);
	char *line;
	size_t n;

	(void)state;
	/* every field at its escaped maximum (4 bytes each): nothing lost */
	line = format(&r, 0);
	n = strlen(line);
	assert_non_null(strstr(line, " detail=\"\\x01\\x01"));
	assert_true(n > 5);
	assert_memory_equal(line + n - 5, "...\"\n", 5);
	free(line);
	free(v);
}

/* --- JSON format -------------------------------------------------------- */

static void
json_typical_record(void **state)
{
	struct log_record r = typical_record();

	(void)state;
	assert_line(&r, 1, "{\"time\":\"" T0_TEXT "\",\"event\":\"close\","
	    "\"conn\":1,\"client\":\"203.0.113.7:51700\","
	    "\"sni\":\"server1.example.local\",\"result\":\"ok\","
	    "\"reason\":\"client-closed\",\"route\":\"server1.example.local\","
	    "\"dst\":\"192.168.0.10:22\","
	    "\"tls\":\"TLSv1.3/TLS_AES_256_GCM_SHA384\",\"handshake_ms\":1,"
	    "\"connect_ms\":1,\"duration_ms\":254,\"bytes_up\":3757,"
	    "\"bytes_down\":3673}\n");
}

static void
json_parses_with_keys_in_order(void **state)
{
	struct log_record r = every_field("v");
	char *line = format(&r, 1);
	char keys[1024];

	(void)state;
	if (json_query(line, "-keys", keys, sizeof(keys)) != 0) {
		free(line);
		fail_msg("not valid JSON");
	}
	free(line);
	/* the same keys as text, "time" first */
	assert_string_equal(keys, "time,event,conn,client,sni,result,reason,"
	    "user,groups,cert_serial,route,mode,alpn,dst,tls,tls_resumed,"
	    "handshake_ms,"
	    "connect_ms,duration_ms,bytes_up,bytes_down,detail");
}

static void
json_numbers_and_booleans_are_typed(void **state)
{
	struct log_record r = every_field("v");
	char *line = format(&r, 1);
	char out[64];

	(void)state;
	/* numbers are JSON numbers, not strings; resumed is a boolean */
	assert_int_equal(json_query(line, "conn", out, sizeof(out)), 0);
	assert_string_equal(out, "7");
	assert_int_equal(json_query(line, "bytes_down", out, sizeof(out)), 0);
	assert_string_equal(out, "6");
	assert_int_equal(json_query(line, "tls_resumed", out, sizeof(out)), 0);
	assert_string_equal(out, "true");
	free(line);
}

static void
json_sni_empty_when_none(void **state)
{
	struct log_record r = typical_record();
	char *line;

	(void)state;
	r.sni = NULL;
	line = format(&r, 1);
	assert_non_null(strstr(line, ",\"sni\":\"\","));
	assert_json_string(line, "sni", "");
	free(line);
}

static void
json_unknown_values_omitted(void **state)
{
	struct log_record r = typical_record();
	char *line;

	(void)state;
	r.route = r.dst = r.tls = NULL;
	r.handshake_ms = r.connect_ms = -1;
	line = format(&r, 1);
	/* omitted, not null: consumers test for presence */
	assert_string_equal(line, "{\"time\":\"" T0_TEXT "\","
	    "\"event\":\"close\",\"conn\":1,\"client\":\"203.0.113.7:51700\","
	    "\"sni\":\"server1.example.local\",\"result\":\"ok\","
	    "\"reason\":\"client-closed\",\"duration_ms\":254,"
	    "\"bytes_up\":3757,\"bytes_down\":3673}\n");
	assert_valid_json(line);
	free(line);
}

static void
json_no_fields_but_sni(void **state)
{
	struct log_record r;
	char *line;

	(void)state;
	/* everything unknown: still an object, no stray comma */
	memset(&r, 0, sizeof(r));
	r.time = T0;
	r.duration_ms = r.handshake_ms = r.connect_ms = -1;
	line = format(&r, 1);
	assert_string_equal(line, "{\"time\":\"" T0_TEXT "\",\"conn\":0,"
	    "\"sni\":\"\",\"bytes_up\":0,\"bytes_down\":0}\n");
	assert_valid_json(line);
	free(line);
}

/* Formats detail = v as JSON; the parsed value must be want. */
static void
assert_json_detail(const char *v, const char *want)
{
	struct log_record r = typical_record();
	char *line;

	r.detail = v;
	line = format(&r, 1);
	assert_json_string(line, "detail", want);
	free(line);
}

static void
json_escapes_quotes_and_backslashes(void **state)
{
	(void)state;
	assert_json_detail("say \"hi\"", "say \"hi\"");
	assert_json_detail("c:\\dir\\", "c:\\dir\\");
	assert_json_detail("\"}, \"result\": \"ok", "\"}, \"result\": \"ok");
}

static void
json_escapes_control_characters(void **state)
{
	struct log_record r = typical_record();
	char *line;

	(void)state;
	/* raw control characters are invalid inside JSON strings */
	assert_json_detail("a\nb\tc\rd", "a\nb\tc\rd");
	assert_json_detail("\x01\x1b\x1f\x7f", "\x01\x1b\x1f\x7f");
	r.detail = "a\rb\x01";
	line = format(&r, 1);
	assert_non_null(strstr(line, "\"detail\":\"a\\u000db\\u0001\"}"));
	free(line);
}

static void
json_keeps_valid_utf8(void **state)
{
	struct log_record r = typical_record();
	char *line;

	(void)state;
	/* 2, 3 and 4 byte sequences, and the highest code point */
	assert_json_detail("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91",
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91");
	assert_json_detail("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf");
	/* kept as the bytes themselves, not \u escapes */
	r.detail = "caf\xc3\xa9";
	line = format(&r, 1);
	assert_non_null(strstr(line, "\"detail\":\"caf\xc3\xa9\"}"));
	free(line);
}

#define FFFD "\xef\xbf\xbd"

static void
json_replaces_invalid_utf8(void **state)
{
	(void)state;
	/* each byte that does not start a valid sequence becomes U+FFFD */
	assert_json_detail("a\xff" "b", "a" FFFD "b");
	assert_json_detail("\x80", FFFD);
	/* a lead byte without its continuation */
	assert_json_detail("\xc3" "a", FFFD "a");
	assert_json_detail("\xe2\x82", FFFD FFFD);
	/* overlong forms of '/' */
	assert_json_detail("\xc0\xaf", FFFD FFFD);
	assert_json_detail("\xe0\x80\xaf", FFFD FFFD FFFD);
	/* a UTF-16 surrogate, and past U+10FFFF */
	assert_json_detail("\xed\xa0\x80", FFFD FFFD FFFD);
	assert_json_detail("\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD);
}

static void
json_long_value_is_cut(void **state)
{
	char *v = repeat('a', LOG_VALUE_MAX + 100);
	char *want = malloc(LOG_VALUE_MAX + 8);

	(void)state;
	assert_non_null(want);
	snprintf(want, LOG_VALUE_MAX + 8, "%.*s...", LOG_VALUE_MAX, v);
	assert_json_detail(v, want);
	/* LOG_VALUE_MAX exactly: whole */
	v[LOG_VALUE_MAX] = '\0';
	assert_json_detail(v, v);
	free(v);
	free(want);
}

static void
json_cut_keeps_utf8_sequences_whole(void **state)
{
	char v[LOG_VALUE_MAX + 32], want[LOG_VALUE_MAX + 32];

	(void)state;
	/* a 3-byte character straddling the limit is kept, not split */
	memset(v, 'a', LOG_VALUE_MAX - 2);
	strcpy(v + LOG_VALUE_MAX - 2, "\xe2\x82\xac" "bbbbbbbb");
	memset(want, 'a', LOG_VALUE_MAX - 2);
	strcpy(want + LOG_VALUE_MAX - 2, "\xe2\x82\xac...");
	assert_json_detail(v, want);
}

static void
json_newline_in_every_field_stays_one_line(void **state)
{
	struct log_record r = every_field("evil\n{\"event\":\"forged\"}\r\n");
	char *line = format(&r, 1);

	(void)state;
	/* the helper also checks the object has no duplicate keys */
	assert_json_string(line, "client", "evil\n{\"event\":\"forged\"}\r\n");
	free(line);
}

static void
json_worst_case_fits_line_max(void **state)
{
	char *v = repeat('\x01', 2 * LOG_VALUE_MAX);
	struct log_record r = every_field(v);
	char *line = format(&r, 1);
	char *want = malloc(8 * LOG_VALUE_MAX);
	size_t i, pos = 0;

	(void)state;
	/*
	 * log.h promises that, values cut at LOG_VALUE_MAX, a record
	 * "escaped, always fits in LOG_LINE_MAX". In JSON one byte can take
	 * six ("\u0001"), and there are 12 string fields: the line must
	 * still be whole, valid JSON with every value kept to the cut.
	 */
	assert_non_null(want);
	for (i = 0; i < LOG_VALUE_MAX; i++)
		want[pos++] = '\x01';
	strcpy(want + pos, "...");
	free(v);
	if (strlen(line) < 2 || strcmp(line + strlen(line) - 2, "}\n") != 0) {
		print_error("line of %zu bytes ends in: %s", strlen(line),
		    line + strlen(line) - (strlen(line) > 40 ? 40 : 0));
		free(want);
		free(line);
		fail_msg("JSON record cut short: not a whole object");
	}
	assert_json_string(line, "detail", want);
	free(want);
	free(line);
}

static void
json_small_buffer_still_one_line(void **state)
{
	struct log_record r = typical_record();
	char buf[64];
	size_t n;

	(void)state;
	memset(buf, 'Z', sizeof(buf));
	n = log_format(&r, 1, buf, sizeof(buf));
	assert_one_line(buf, n, sizeof(buf));
	assert_memory_equal(buf, "{\"time\":\"" T0_TEXT "\"", 34);
}

/* --- sinks and daemon messages ------------------------------------------ */

static void
sink_file_appends_lines(void **state)
{
	char path[] = "/tmp/sshgate-log-XXXXXX";
	char err[256] = "", got[256];
	struct log_sink *s;
	ssize_t n;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd != -1);
	/* an existing log is appended to, never truncated */
	assert_int_equal(write(fd, "old\n", 4), 4);
	assert_int_equal(close(fd), 0);
	s = log_sink_open(LOG_TO_FILE, path, 0, err, sizeof(err));
	assert_non_null(s);
	log_sink_write(s, "one\n", 4);
	log_sink_write(s, "two\n", 4);
	log_sink_close(s);
	assert_int_equal(log_shutdown(5), 0);	/* written out */
	fd = open(path, O_RDONLY);
	assert_true(fd != -1);
	n = read(fd, got, sizeof(got) - 1);
	assert_int_equal(close(fd), 0);
	unlink(path);
	assert_int_equal(n, 12);
	got[n] = '\0';
	assert_string_equal(got, "old\none\ntwo\n");
}

static void
sink_file_created_not_world_readable(void **state)
{
	char dir[] = "/tmp/sshgate-log-XXXXXX";
	char path[64], err[256] = "";
	struct log_sink *s;
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	s = log_sink_open(LOG_TO_FILE, path, 0, err, sizeof(err));
	assert_non_null(s);
	log_sink_close(s);
	assert_int_equal(log_shutdown(5), 0);
	assert_int_equal(stat(path, &st), 0);
	unlink(path);
	rmdir(dir);
	/* the audit log names clients and servers: no access for others */
	assert_int_equal(st.st_mode & 0007, 0);
}

static void
sink_file_open_error(void **state)
{
	char err[256] = "";
	struct log_sink *s;

	(void)state;
	s = log_sink_open(LOG_TO_FILE, "/nonexistent-sshgate-dir/a.log", 0, err,
	    sizeof(err));
	assert_null(s);
	assert_string_equal(err, "cannot open log file "
	    "/nonexistent-sshgate-dir/a.log: No such file or directory");
}

/* Reads the whole of path into buf (NUL-terminated). */
static void
slurp(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd = open(path, O_RDONLY);

	assert_true(fd != -1);
	n = read(fd, buf, len - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
}

static void
sink_close_null_is_safe(void **state)
{
	char dir[] = "/tmp/sshgate-log-XXXXXX";
	char path[64], moved[64], err[256] = "", got[64];
	struct log_sink *s;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	snprintf(moved, sizeof(moved), "%s/audit.log.1", dir);
	s = log_sink_open(LOG_TO_FILE, path, 0, err, sizeof(err));
	assert_non_null(s);
	/* closing NULL (a sink that failed to open) leaves open ones alone:
	 * this one still writes, and is still reopened after a rotation */
	log_sink_close(NULL);
	log_sink_write(s, "one\n", 4);
	assert_int_equal(log_shutdown(5), 0);	/* written, s stays open */
	assert_int_equal(rename(path, moved), 0);
	assert_int_equal(log_reopen_all(), 0);
	log_sink_write(s, "two\n", 4);
	log_sink_close(s);
	assert_int_equal(log_shutdown(5), 0);
	slurp(moved, got, sizeof(got));
	assert_string_equal(got, "one\n");
	slurp(path, got, sizeof(got));
	assert_string_equal(got, "two\n");
	unlink(moved);
	unlink(path);
	rmdir(dir);
}

/*
 * Runs fn with stderr sent to a temporary file; returns what it wrote
 * (NUL-terminated, in out).
 */
static size_t
capture_stderr(void (*fn)(void), char *out, size_t outlen)
{
	char path[] = "/tmp/sshgate-log-XXXXXX";
	int fd, saved;
	ssize_t n;

	fd = mkstemp(path);
	assert_true(fd != -1);
	unlink(path);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	assert_true(saved != -1);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	fn();
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	n = read(fd, out, outlen - 1);
	close(fd);
	assert_true(n >= 0);
	out[n] = '\0';
	return (size_t)n;
}

static void
say_levels(void)
{
	log_info("listening on %s", "127.0.0.1:2222");
	log_warnx("route %d shadows route %d", 2, 1);
	log_errx("cannot bind: %s", "Address in use");
}

static void
say_long(void)
{
	char big[3000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_errx("%s", big);
}

static void
daemon_messages_have_prefix_and_level(void **state)
{
	char out[512];

	(void)state;
	capture_stderr(say_levels, out, sizeof(out));
	assert_string_equal(out,
	    "sshgate: listening on 127.0.0.1:2222\n"
	    "sshgate: warning: route 2 shadows route 1\n"
	    "sshgate: error: cannot bind: Address in use\n");
}

static void
daemon_long_message_cut_to_one_line(void **state)
{
	char out[4096];
	size_t n;

	(void)state;
	n = capture_stderr(say_long, out, sizeof(out));
	/* cut, but one whole line with its prefix and newline */
	assert_true(n > 100 && n < 2100);
	assert_int_equal(strncmp(out, "sshgate: error: xxx", 19), 0);
	assert_int_equal(out[n - 1], '\n');
	assert_null(memchr(out, '\n', n - 1));
	assert_null(memchr(out, '\0', n));
}

/* --- the queue: whole lines, bounded ------------------------------------ */

static void
logq_keeps_lines_whole_and_bounded(void **state)
{
	const char line[] = "0123456789abcdefghi\n";	/* 20 bytes */
	struct logq q;
	char *batch, *again;
	size_t n;

	(void)state;
	assert_int_equal(logq_init(&q, 64), 0);
	assert_true(logq_empty(&q));
	assert_int_equal(logq_push(&q, line, 20), 0);
	assert_int_equal(logq_push(&q, line, 20), 0);
	assert_int_equal(logq_push(&q, line, 20), 0);
	/* 4 bytes left: the next line is refused whole, not cut */
	assert_int_equal(logq_push(&q, line, 20), -1);
	assert_int_equal(logq_push(&q, "ab\n", 3), 0);
	n = logq_take(&q, &batch);
	assert_int_equal(n, 63);
	assert_memory_equal(batch, line, 20);
	assert_memory_equal(batch + 40, line, 20);
	assert_memory_equal(batch + 60, "ab\n", 3);
	assert_true(logq_empty(&q));
	/* while the batch is written, the other buffer fills, to its bound */
	assert_int_equal(logq_push(&q, line, 20), 0);
	assert_int_equal(logq_push(&q, line, 20), 0);
	assert_int_equal(logq_push(&q, line, 20), 0);
	assert_int_equal(logq_push(&q, line, 20), -1);
	assert_int_equal(logq_take(&q, &again), 0);	/* one batch at a time */
	assert_null(again);
	logq_give_back(&q, batch);
	n = logq_take(&q, &again);
	assert_int_equal(n, 60);
	assert_true(again != batch);
	logq_give_back(&q, again);
	assert_int_equal(logq_take(&q, &batch), 0);	/* nothing queued */
	logq_free(&q);
}

static void
logq_line_longer_than_a_buffer_is_refused(void **state)
{
	char line[17];
	struct logq q;
	char *batch;

	(void)state;
	memset(line, 'x', sizeof(line));
	assert_int_equal(logq_init(&q, 16), 0);
	assert_int_equal(logq_push(&q, line, 17), -1);
	assert_true(logq_empty(&q));
	assert_int_equal(logq_push(&q, line, 16), 0);
	assert_int_equal(logq_take(&q, &batch), 16);
	logq_give_back(&q, batch);
	logq_free(&q);
}

/* --- opening a log file: what may be written, what may be chowned -------- */

static void
file_log_kind_by_type_and_links(void **state)
{
	(void)state;
	assert_int_equal(file_log_kind(S_IFREG | 0640, 1), FILE_LOG_REGULAR);
	assert_int_equal(file_log_kind(S_IFREG | 0640, 2), FILE_LOG_LINKED);
	assert_int_equal(file_log_kind(S_IFREG | 0640, 0), FILE_LOG_LINKED);
	assert_int_equal(file_log_kind(S_IFCHR | 0666, 1), FILE_LOG_DEVICE);
	assert_int_equal(file_log_kind(S_IFLNK | 0777, 1), FILE_LOG_SYMLINK);
	assert_int_equal(file_log_kind(S_IFDIR | 0755, 2), FILE_LOG_OTHER);
	assert_int_equal(file_log_kind(S_IFIFO | 0600, 1), FILE_LOG_OTHER);
	assert_int_equal(file_log_kind(S_IFSOCK | 0600, 1), FILE_LOG_OTHER);
	assert_int_equal(file_log_kind(S_IFBLK | 0600, 1), FILE_LOG_OTHER);
}

/* A scratch directory with a "secret" file and paths in it. */
struct scratch {
	char dir[64], secret[96], log[96];
};

static void
scratch_make(struct scratch *t)
{
	int fd;

	snprintf(t->dir, sizeof(t->dir), "/tmp/sshgate-log-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->secret, sizeof(t->secret), "%s/secret", t->dir);
	snprintf(t->log, sizeof(t->log), "%s/audit.log", t->dir);
	fd = open(t->secret, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd != -1);
	assert_int_equal(write(fd, "secret\n", 7), 7);
	close(fd);
}

static void
scratch_secret_untouched(const struct scratch *t)
{
	char got[32];
	ssize_t n;
	int fd = open(t->secret, O_RDONLY);

	assert_true(fd != -1);
	n = read(fd, got, sizeof(got));
	close(fd);
	assert_int_equal(n, 7);
	assert_memory_equal(got, "secret\n", 7);
}

static void
scratch_remove(struct scratch *t)
{
	unlink(t->log);
	unlink(t->secret);
	assert_int_equal(rmdir(t->dir), 0);
}

/* Both the opener (serve) and the checker (check) refuse path: why. */
static void
assert_log_refused(const char *path, const char *why)
{
	char err[256] = "";

	assert_int_equal(file_open_log(path, err, sizeof(err)), -1);
	assert_string_equal(err, why);
	err[0] = '\0';
	assert_int_equal(file_check_log(path, err, sizeof(err)), -1);
	assert_string_equal(err, why);
}

static void
log_path_symlink_refused(void **state)
{
	struct scratch t;

	(void)state;
	scratch_make(&t);
	assert_int_equal(symlink(t.secret, t.log), 0);
	assert_log_refused(t.log, "a symbolic link (refused: name the file "
	    "itself)");
	scratch_secret_untouched(&t);
	/* dangling: refused too, and nothing is created where it points */
	unlink(t.log);
	unlink(t.secret);
	assert_int_equal(symlink(t.secret, t.log), 0);
	assert_log_refused(t.log, "a symbolic link (refused: name the file "
	    "itself)");
	assert_int_equal(access(t.secret, F_OK), -1);
	scratch_remove(&t);
}

static void
log_path_hard_link_refused(void **state)
{
	struct scratch t;

	(void)state;
	scratch_make(&t);
	assert_int_equal(link(t.secret, t.log), 0);
	assert_log_refused(t.log, "a file with 2 hard links (refused: another "
	    "of its names could be any file)");
	scratch_secret_untouched(&t);
	scratch_remove(&t);
}

static void
log_path_fifo_refused_without_waiting(void **state)
{
	struct scratch t;

	(void)state;
	scratch_make(&t);
	/* nobody reads it: a plain open for writing would wait forever */
	assert_int_equal(mkfifo(t.log, 0600), 0);
	assert_log_refused(t.log, "a FIFO, not a regular file or a character "
	    "device");
	scratch_remove(&t);
}

static void
log_path_directory_refused(void **state)
{
	struct scratch t;

	(void)state;
	scratch_make(&t);
	assert_log_refused(t.dir, "a directory, not a regular file or a "
	    "character device");
	scratch_remove(&t);
}

static void
log_path_device_is_written(void **state)
{
	char err[256] = "";
	int fd;

	(void)state;
	fd = file_open_log("/dev/null", err, sizeof(err));
	assert_true(fd != -1);
	assert_int_equal(write(fd, "x\n", 2), 2);
	assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	close(fd);
	assert_int_equal(file_check_log("/dev/null", err, sizeof(err)), 0);
}

static void
log_path_regular_created(void **state)
{
	struct scratch t;
	char err[256] = "";
	struct stat st;
	int fd;

	(void)state;
	scratch_make(&t);
	/* missing: check says it can be created, and does not create it */
	assert_int_equal(file_check_log(t.log, err, sizeof(err)), 0);
	assert_int_equal(access(t.log, F_OK), -1);
	fd = file_open_log(t.log, err, sizeof(err));
	assert_true(fd != -1);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0007, 0);
	close(fd);
	assert_int_equal(file_check_log(t.log, err, sizeof(err)), 0);
	scratch_remove(&t);
}

static void
log_path_in_missing_directory(void **state)
{
	char err[256] = "";

	(void)state;
	assert_int_equal(file_check_log("/nonexistent-sshgate-dir/a.log", err,
	    sizeof(err)), -1);
	assert_string_equal(err, "No such file or directory");
}

/* --- sinks: queued, written by their own thread --------------------------- */

static void
sinks_are_shared_by_destination(void **state)
{
	struct scratch t;
	struct log_sink *a, *b, *c, *d;
	char err[256] = "";

	(void)state;
	scratch_make(&t);
	a = log_sink_open(LOG_TO_FILE, t.log, 0, err, sizeof(err));
	b = log_sink_open(LOG_TO_FILE, t.log, 0, err, sizeof(err));
	c = log_sink_open(LOG_TO_STDERR, NULL, 0, err, sizeof(err));
	d = log_sink_open(LOG_TO_STDERR, NULL, 0, err, sizeof(err));
	assert_non_null(a);
	assert_non_null(c);
	assert_ptr_equal(a, b);		/* one queue, one writer a file */
	assert_ptr_equal(c, d);
	assert_true(a != c);
	log_sink_close(a);
	log_sink_write(b, "still open\n", 11);
	log_sink_close(b);
	log_sink_close(c);
	log_sink_close(d);
	assert_int_equal(log_shutdown(5), 0);
	scratch_remove(&t);
}

static void
second_open_of_a_file_opens_it_again(void **state)
{
	char err[256] = "", moved[128], got[64];
	struct log_sink *a, *b;
	struct scratch t;

	(void)state;
	scratch_make(&t);
	snprintf(moved, sizeof(moved), "%s.1", t.log);
	a = log_sink_open(LOG_TO_FILE, t.log, 0, err, sizeof(err));
	assert_non_null(a);
	log_sink_write(a, "before\n", 7);
	assert_int_equal(log_shutdown(5), 0);	/* written, a stays open */
	/* rotated, then a reload opens the same path: a fresh file */
	assert_int_equal(rename(t.log, moved), 0);
	b = log_sink_open(LOG_TO_FILE, t.log, 0, err, sizeof(err));
	assert_ptr_equal(a, b);
	log_sink_write(a, "after\n", 6);
	/* a symbolic link in its place: refused, the sink keeps its file */
	assert_int_equal(rename(t.log, t.secret), 0);
	assert_int_equal(symlink(t.secret, t.log), 0);
	assert_null(log_sink_open(LOG_TO_FILE, t.log, 0, err, sizeof(err)));
	assert_non_null(strstr(err, ": a symbolic link"));
	log_sink_write(a, "still\n", 6);
	log_sink_close(a);
	log_sink_close(b);
	assert_int_equal(log_shutdown(5), 0);
	slurp(moved, got, sizeof(got));
	assert_string_equal(got, "before\n");
	slurp(t.secret, got, sizeof(got));	/* the file "after" went to */
	assert_string_equal(got, "after\nstill\n");
	unlink(moved);
	scratch_remove(&t);
}

static void
sink_chown_gives_a_regular_file_away(void **state)
{
	char err[256] = "";
	struct log_sink *s;
	struct scratch t;
	struct stat st;

	(void)state;
	if (geteuid() != 0)
		skip();
	scratch_make(&t);
	s = log_sink_open(LOG_TO_FILE, t.log, 0, err, sizeof(err));
	assert_non_null(s);
	log_sink_chown(s, 65534, 65534);
	log_sink_close(s);
	assert_int_equal(log_shutdown(5), 0);
	assert_int_equal(stat(t.log, &st), 0);
	assert_int_equal(st.st_uid, 65534);
	assert_int_equal(st.st_gid, 65534);
	scratch_remove(&t);
}

static unsigned long long full_failed;

static void
write_to_dev_full(void)
{
	unsigned long long d0, e0, d1, e1;
	struct log_sink *s;
	char err[256] = "";

	log_counters(&d0, &e0);
	s = log_sink_open(LOG_TO_FILE, "/dev/full", 0, err, sizeof(err));
	assert_non_null(s);
	log_sink_write(s, "one\n", 4);
	log_sink_write(s, "two\n", 4);
	log_sink_write(s, "three\n", 6);
	log_sink_close(s);
	assert_int_equal(log_shutdown(5), 0);
	log_counters(&d1, &e1);
	assert_int_equal(d1, d0);
	full_failed = e1 - e0;
}

static void
sink_write_errors_counted_and_told(void **state)
{
	char out[512];

	(void)state;
	capture_stderr(write_to_dev_full, out, sizeof(out));
	assert_int_equal(full_failed, 3);
	assert_string_equal(out, "sshgate: warning: log file /dev/full: 3 "
	    "records could not be written: No space left on device\n");
}

#define STALL_LINES 3000
#define STALL_LINE 1000		/* 3 MB: more than a sink's two buffers */

static unsigned long long stall_dropped;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* stdout is a pipe nobody reads: writing must go on, dropping lines. */
static void
stall_stdout(void)
{
	unsigned long long d0, e0, d1, e1;
	char line[STALL_LINE], err[256] = "";
	struct log_sink *s;
	double t0;
	int i;

	log_counters(&d0, &e0);
	s = log_sink_open(LOG_TO_STDOUT, NULL, 0, err, sizeof(err));
	assert_non_null(s);
	memset(line, 'x', sizeof(line));
	line[STALL_LINE - 1] = '\n';
	t0 = now();
	for (i = 0; i < STALL_LINES; i++) {
		snprintf(line, sizeof(line), "%06d", i);
		line[6] = ' ';
		log_sink_write(s, line, sizeof(line));
	}
	assert_true(now() - t0 < 5);	/* never waited for the pipe */
	log_counters(&d1, &e1);
	stall_dropped = d1 - d0;
	assert_true(stall_dropped > 0 && stall_dropped < STALL_LINES);
	assert_int_equal(e1, e0);
	log_sink_close(s);
	/* the writer is stuck: shutdown gives up, bounded */
	t0 = now();
	assert_int_equal(log_shutdown(0.2), -1);
	assert_true(now() - t0 < 3);
}

static void
stalled_sink_drops_lines_never_blocks(void **state)
{
	char out[512], want[256], got[STALL_LINE];
	int p[2], saved;
	size_t expect, have, k;
	long prev = -1;
	ssize_t n;

	(void)state;
	alarm(60);		/* a hang is a failure */
	fflush(stdout);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	(void)fcntl(p[1], F_SETPIPE_SZ, 4096);
	saved = dup(STDOUT_FILENO);
	assert_true(saved != -1);
	assert_int_equal(dup2(p[1], STDOUT_FILENO), STDOUT_FILENO);
	capture_stderr(stall_stdout, out, sizeof(out));
	snprintf(want, sizeof(want), "sshgate: warning: log stdout: %llu "
	    "records dropped: the log sink is not keeping up\n",
	    stall_dropped);
	assert_string_equal(out, want);
	/* now read: every line not dropped comes, whole and in order */
	expect = (STALL_LINES - stall_dropped) * STALL_LINE;
	for (have = 0; have < expect; have += STALL_LINE) {
		for (k = 0; k < STALL_LINE; k += (size_t)n) {
			n = read(p[0], got + k, STALL_LINE - k);
			assert_true(n > 0);
		}
		assert_int_equal(got[6], ' ');
		assert_int_equal(got[STALL_LINE - 1], '\n');
		assert_null(memchr(got, '\n', STALL_LINE - 1));
		assert_true(strtol(got, NULL, 10) > prev);
		prev = strtol(got, NULL, 10);
	}
	assert_int_equal(log_shutdown(5), 0);	/* and the writer reaped */
	assert_int_equal(dup2(saved, STDOUT_FILENO), STDOUT_FILENO);
	close(saved);
	close(p[0]);
	close(p[1]);
	alarm(0);
}

static void
say_through_queue(void)
{
	char err[256] = "";

	assert_int_equal(log_daemon_start(err, sizeof(err)), 0);
	log_info("queued %d", 1);
	log_warnx("queued %d", 2);
	assert_int_equal(log_shutdown(5), 0);
	log_errx("direct %d", 3);	/* after the end: direct again */
}

static void
daemon_messages_queued_while_serving(void **state)
{
	char out[512];

	(void)state;
	capture_stderr(say_through_queue, out, sizeof(out));
	assert_string_equal(out, "sshgate: queued 1\n"
	    "sshgate: warning: queued 2\n"
	    "sshgate: error: direct 3\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(json_checker_rejects_broken_lines),
		cmocka_unit_test(text_typical_record),
		cmocka_unit_test(text_key_order),
		cmocka_unit_test(text_sni_empty_when_none),
		cmocka_unit_test(text_unknown_strings_omitted),
		cmocka_unit_test(text_negative_numbers_omitted),
		cmocka_unit_test(text_tls_resumed_only_when_set),
		cmocka_unit_test(text_large_numbers),
		cmocka_unit_test(text_harmless_values_stay_bare),
		cmocka_unit_test(text_quotes_values_that_would_break_the_line),
		cmocka_unit_test(text_escapes_control_characters),
		cmocka_unit_test(text_non_ascii_as_hex),
		cmocka_unit_test(text_value_at_limit_is_whole),
		cmocka_unit_test(text_long_value_is_cut),
		cmocka_unit_test(text_cut_counts_input_bytes),
		cmocka_unit_test(text_newline_in_every_field_stays_one_line),
		cmocka_unit_test(text_timestamps),
		cmocka_unit_test(text_small_buffer_still_one_line),
		cmocka_unit_test(text_worst_case_fits_line_max),
		cmocka_unit_test(text_passthrough_record),
		cmocka_unit_test(json_typical_record),
		cmocka_unit_test(json_parses_with_keys_in_order),
		cmocka_unit_test(json_numbers_and_booleans_are_typed),
		cmocka_unit_test(json_sni_empty_when_none),
		cmocka_unit_test(json_unknown_values_omitted),
		cmocka_unit_test(json_no_fields_but_sni),
		cmocka_unit_test(json_escapes_quotes_and_backslashes),
		cmocka_unit_test(json_escapes_control_characters),
		cmocka_unit_test(json_keeps_valid_utf8),
		cmocka_unit_test(json_replaces_invalid_utf8),
		cmocka_unit_test(json_long_value_is_cut),
		cmocka_unit_test(json_cut_keeps_utf8_sequences_whole),
		cmocka_unit_test(json_newline_in_every_field_stays_one_line),
		cmocka_unit_test(json_worst_case_fits_line_max),
		cmocka_unit_test(json_small_buffer_still_one_line),
		cmocka_unit_test(sink_file_appends_lines),
		cmocka_unit_test(sink_file_created_not_world_readable),
		cmocka_unit_test(sink_file_open_error),
		cmocka_unit_test(sink_close_null_is_safe),
		cmocka_unit_test(daemon_messages_have_prefix_and_level),
		cmocka_unit_test(daemon_long_message_cut_to_one_line),
		cmocka_unit_test(logq_keeps_lines_whole_and_bounded),
		cmocka_unit_test(logq_line_longer_than_a_buffer_is_refused),
		cmocka_unit_test(file_log_kind_by_type_and_links),
		cmocka_unit_test(log_path_symlink_refused),
		cmocka_unit_test(log_path_hard_link_refused),
		cmocka_unit_test(log_path_fifo_refused_without_waiting),
		cmocka_unit_test(log_path_directory_refused),
		cmocka_unit_test(log_path_device_is_written),
		cmocka_unit_test(log_path_regular_created),
		cmocka_unit_test(log_path_in_missing_directory),
		cmocka_unit_test(sinks_are_shared_by_destination),
		cmocka_unit_test(second_open_of_a_file_opens_it_again),
		cmocka_unit_test(sink_chown_gives_a_regular_file_away),
		cmocka_unit_test(sink_write_errors_counted_and_told),
		cmocka_unit_test(stalled_sink_drops_lines_never_blocks),
		cmocka_unit_test(daemon_messages_queued_while_serving),
	};

	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
