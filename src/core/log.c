#include "core/log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* Appends with bounds: pos may exceed len; nothing past len is written. */
struct out {
	char *buf;
	size_t len, pos;
};

static void
put(struct out *o, const char *s, size_t n)
{
	if (o->pos < o->len) {
		size_t k = o->len - o->pos < n ? o->len - o->pos : n;

		memcpy(o->buf + o->pos, s, k);
	}
	o->pos += n;
}

static void
puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at s (>= 0x80), or 0. */
static size_t
utf8_len(const unsigned char *s)
{
	size_t n, i;
	unsigned cp;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07u;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static int
text_plain(const char *s)
{
	const char *start = s;

	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		if (s - start == LOG_VALUE_MAX)
			return 0;
		unsigned char ch = (unsigned char)*s;

		if (ch <= ' ' || ch >= 0x7f || ch == '"' || ch == '=' ||
		    ch == '\\')
			return 0;
	}
	return 1;
}

/*
 * Writes a string value. JSON: standard escapes, valid UTF-8 kept,
 * invalid bytes as U+FFFD. Text: bare if harmless, else quoted with
 * C-like escapes and non-ASCII bytes as \xHH.
 */
static void
put_str(struct out *o, const char *s, int json)
{
	const char *end;
	char esc[8];

	if (!json && text_plain(s)) {
		puts_(o, s);
		return;
	}
	put(o, "\"", 1);
	for (end = s + LOG_VALUE_MAX; *s != '\0'; ) {
		unsigned char ch = (unsigned char)*s;
		size_t n;

		if (s >= end) {
			put(o, "...", 3);
			break;
		}
		if (ch == '"' || ch == '\\') {
			esc[0] = '\\';
			esc[1] = (char)ch;
			put(o, esc, 2);
		} else if (ch == '\n')
			put(o, "\\n", 2);
		else if (ch == '\t')
			put(o, "\\t", 2);
		else if (ch < 0x20 || ch == 0x7f) {
			snprintf(esc, sizeof(esc), json ? "\\u%04x" : "\\x%02x",
			    ch);
			puts_(o, esc);
		} else if (ch < 0x80)
			put(o, s, 1);
		else if (json) {
			if ((n = utf8_len((const unsigned char *)s)) != 0) {
				put(o, s, n);
				s += n;
				continue;
			}
			put(o, "\\ufffd", 6);
		} else {
			snprintf(esc, sizeof(esc), "\\x%02x", ch);
			puts_(o, esc);
		}
		s++;
	}
	put(o, "\"", 1);
}

static void
key(struct out *o, const char *k, int json)
{
	if (json) {
		put(o, o->pos > 1 ? ",\"" : "\"", o->pos > 1 ? 2 : 1);
		puts_(o, k);
		put(o, "\":", 2);
	} else {
		put(o, " ", 1);
		puts_(o, k);
		put(o, "=", 1);
	}
}

static void
field_str(struct out *o, const char *k, const char *v, int json)
{
	if (v == NULL)
		return;
	key(o, k, json);
	put_str(o, v, json);
}

static void
field_u64(struct out *o, const char *k, uint64_t v, int json)
{
	char num[32];

	key(o, k, json);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
	puts_(o, num);
}

/* A count that may be unknown (negative: left out). */
static void
field_num(struct out *o, const char *k, long v, int json)
{
	if (v >= 0)
		field_u64(o, k, (uint64_t)v, json);
}

size_t
log_format(const struct log_record *r, int json, char *buf, size_t len)
{
	struct out o = { buf, len - 1, 0 };	/* room kept for '\n' */
	char ts[80];
	struct tm tm;
	time_t secs = (time_t)r->time;
	int ms = (int)((r->time - (double)secs) * 1000);

	gmtime_r(&secs, &tm);
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ms < 0 ? 0 : ms > 999 ? 999 : ms);
	if (json) {
		put(&o, "{", 1);
		field_str(&o, "time", ts, 1);
	} else
		puts_(&o, ts);
	field_str(&o, "event", r->event, json);
	field_u64(&o, "conn", r->conn, json);
	field_str(&o, "client", r->client, json);
	field_str(&o, "sni", r->sni != NULL ? r->sni : "", json);
	field_str(&o, "result", r->result, json);
	field_str(&o, "reason", r->reason, json);
	field_str(&o, "user", r->user, json);
	field_str(&o, "groups", r->groups, json);
	field_str(&o, "cert_serial", r->cert_serial, json);
	field_str(&o, "cert_subject", r->cert_subject, json);
	field_str(&o, "route", r->route, json);
	field_str(&o, "dst", r->dst, json);
	field_str(&o, "tls", r->tls, json);
	if (r->tls_resumed) {
		key(&o, "tls_resumed", json);
		puts_(&o, json ? "true" : "yes");
	}
	field_num(&o, "handshake_ms", r->handshake_ms, json);
	field_num(&o, "connect_ms", r->connect_ms, json);
	field_num(&o, "duration_ms", r->duration_ms, json);
	field_u64(&o, "bytes_up", r->bytes_up, json);
	field_u64(&o, "bytes_down", r->bytes_down, json);
	field_str(&o, "detail", r->detail, json);
	if (json)
		put(&o, "}", 1);
	if (o.pos > o.len)	/* cannot happen with LOG_VALUE_MAX: stay whole */
		o.pos = o.len;
	buf[o.pos] = '\n';
	return o.pos + 1;
}
