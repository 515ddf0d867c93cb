#include "core/log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/sbuf.h"

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
put_str(struct sbuf *o, const char *s, int json)
{
	if (!json && text_plain(s))
		sbuf_str(o, s);
	else
		sbuf_quoted(o, s, LOG_VALUE_MAX, json ? SBUF_JSON : SBUF_C);
}

static void
key(struct sbuf *o, const char *k, int json)
{
	if (json) {
		sbuf_str(o, o->len > 1 ? ",\"" : "\"");
		sbuf_str(o, k);
		sbuf_str(o, "\":");
	} else {
		sbuf_str(o, " ");
		sbuf_str(o, k);
		sbuf_str(o, "=");
	}
}

static void
field_str(struct sbuf *o, const char *k, const char *v, int json)
{
	if (v == NULL)
		return;
	key(o, k, json);
	put_str(o, v, json);
}

static void
field_u64(struct sbuf *o, const char *k, uint64_t v, int json)
{
	char num[32];

	key(o, k, json);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
	sbuf_str(o, num);
}

/* A count that may be unknown (negative: left out). */
static void
field_num(struct sbuf *o, const char *k, long v, int json)
{
	if (v >= 0)
		field_u64(o, k, (uint64_t)v, json);
}

size_t
log_format(const struct log_record *r, int json, char *buf, size_t len)
{
	struct sbuf o;
	char ts[80];
	struct tm tm;
	time_t secs = (time_t)r->time;
	int ms = (int)((r->time - (double)secs) * 1000);

	sbuf_fixed(&o, buf, len - 1);		/* room kept for '\n' */
	gmtime_r(&secs, &tm);
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ms < 0 ? 0 : ms > 999 ? 999 : ms);
	if (json) {
		sbuf_str(&o, "{");
		field_str(&o, "time", ts, 1);
	} else
		sbuf_str(&o, ts);
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
	field_str(&o, "mode", r->mode, json);
	field_str(&o, "alpn", r->alpn, json);
	field_str(&o, "dst", r->dst, json);
	field_str(&o, "tls", r->tls, json);
	if (r->tls_resumed) {
		key(&o, "tls_resumed", json);
		sbuf_str(&o, json ? "true" : "yes");
	}
	field_num(&o, "handshake_ms", r->handshake_ms, json);
	field_num(&o, "connect_ms", r->connect_ms, json);
	field_num(&o, "duration_ms", r->duration_ms, json);
	if (!r->no_counts) {
		field_u64(&o, "bytes_up", r->bytes_up, json);
		field_u64(&o, "bytes_down", r->bytes_down, json);
	}
	field_str(&o, "detail", r->detail, json);
	if (json)
		sbuf_str(&o, "}");
	if (o.len > o.cap)	/* cannot happen with LOG_VALUE_MAX: stay whole */
		o.len = o.cap;
	buf[o.len] = '\n';
	return o.len + 1;
}
