/*
 * record: what a session leaves behind. Its audit records ("open" once it
 * relays, "close" with the reason it ended) and, when the gateway ends
 * it, the last words its client gets: a notice of why, then close_notify.
 */
#include <stdio.h>
#include <string.h>

#include "core/ident.h"
#include "core/log.h"
#include "core/notice.h"
#include "core/util.h"
#include "gateway/conn_int.h"
#include "gateway/ctls.h"
#include "gateway/logsink.h"
#include "gateway/runtime.h"
#include "gateway/worker.h"

/*
 * Writes c's audit record: "open" when it starts relaying (r is then
 * unused), "close" with its reason when it ends.
 */
void
conn_log_record(struct conn *c, int open, enum reason r, const char *detail)
{
	char client[ADDR_TEXT_MAX], dst[ADDR_TEXT_MAX], tls[128];
	char line[LOG_LINE_MAX];
	struct log_record rec;
	ev_tstamp now = ev_time();
	size_t len;

	if (c->rt->sink == NULL)
		return;
	memset(&rec, 0, sizeof(rec));
	addr_format(&c->peer, client, sizeof(client));
	rec.time = now;
	rec.event = open ? "open" : "close";
	rec.conn = c->id;
	rec.client = client;
	rec.sni = c->sni;
	rec.route = c->route != NULL ? c->route->text : NULL;
	if (c->flags & F_PASSTHROUGH) {
		rec.mode = "passthrough";
		rec.alpn = c->alpn;
	}
	if (c->flags & F_DST) {
		addr_format(&c->dst, dst, sizeof(dst));
		rec.dst = dst;
	}
	if (c->flags & F_HANDSHAKEN) {
		snprintf(tls, sizeof(tls), "%s/%s", c->tls_version,
		    c->tls_cipher);
		rec.tls = tls;
		rec.tls_resumed = (c->flags & F_RESUMED) != 0;
	}
	if (c->ident != NULL) {
		rec.user = c->ident->user_shown;
		rec.groups = c->ident->ngroups > 0 ? c->ident->groups_text :
		    NULL;
		rec.cert_serial = c->ident->serial[0] != '\0' ?
		    c->ident->serial : NULL;
		rec.cert_subject = c->ident->subject;
	}
	rec.handshake_ms = c->handshake_ms;
	rec.connect_ms = c->connect_ms;	/* -1 until connected */
	if (open) {
		rec.duration_ms = -1;	/* no result, reason or counts yet */
		rec.no_counts = 1;
	} else {
		rec.result = reason_class_name(reason_class(r));
		rec.reason = reason_token(r);
		rec.duration_ms = (long)((now - c->t_start) * 1000);
		rec.bytes_up = c->bytes_up;
		rec.bytes_down = c->bytes_down;
		rec.detail = detail;
	}
	len = log_format(&rec, c->rt->conf->log_json, line, sizeof(line));
	log_sink_write(c->rt->sink, line, len);
}

void
conn_log_open(struct conn *c)
{
	/* relaying both ways: the server answered and the client is SSH */
	if (c->phase != CONN_RELAY || !(c->flags & F_INSPECTED) ||
	    (c->flags & F_OPENED))
		return;
	c->flags |= F_OPENED;
	conn_log_record(c, 1, R_NONE, NULL);
}

/*
 * What the client is told of an end the gateway decided, in words
 * without internals (no rule file, no resolver): "" for ends it need
 * not be told of (the peers closed) or cannot be (no TLS).
 */
static void
notice_text(const struct conn *c, enum reason r, const char *detail,
    char *out, size_t len)
{
	const char *user = c->ident != NULL && c->ident->user_shown != NULL ?
	    c->ident->user_shown : "you";
	char dst[ADDR_TEXT_MAX];

	if (c->flags & F_DST)
		addr_format(&c->dst, dst, sizeof(dst));
	else
		util_strlcpy(dst, c->sni, sizeof(dst));
	out[0] = '\0';
	switch (r) {
	case R_ACCESS_DENIED:
		snprintf(out, len, "access denied for %.100s to %.64s", user,
		    dst);
		break;
	case R_DESTINATION_DENIED:
		snprintf(out, len, "the destination %.64s is not allowed", dst);
		break;
	case R_DNS_FAILED:
		snprintf(out, len, "cannot resolve %.100s (%.60s)", c->sni,
		    detail != NULL ? detail : "no answer");
		break;
	case R_CONNECT_FAILED:
		snprintf(out, len, "the server %.64s cannot be reached", dst);
		break;
	case R_CONNECT_TIMEOUT:
		snprintf(out, len, "the server %.64s did not answer in time",
		    dst);
		break;
	case R_CRL_EXPIRED:
		snprintf(out, len, "the gateway's certificate revocation list "
		    "is out of date, so no certificate of your CA can be "
		    "checked; its operator must publish a new one");
		break;
	case R_CERT_EXPIRED:
		snprintf(out, len, "your certificate expired");
		break;
	case R_CERT_REVOKED:
		snprintf(out, len, "your certificate is revoked");
		break;
	case R_KILLED:
		if (detail != NULL && strncmp(detail, "sshgate ctl", 11) == 0)
			snprintf(out, len, "closed by an operator");
		else if (detail != NULL && strstr(detail, "revoked") != NULL)
			snprintf(out, len, "your certificate was revoked");
		else
			snprintf(out, len, "your access was withdrawn by a "
			    "configuration change");
		break;
	case R_SHUTDOWN:
		snprintf(out, len, "the gateway is shutting down");
		break;
	case R_IDLE_TIMEOUT:
		snprintf(out, len, "the session was idle for %gs",
		    c->rt->conf->t_idle);
		break;
	case R_INSPECT_TIMEOUT:
		snprintf(out, len, "no SSH identification within %gs",
		    c->rt->conf->t_inspect);
		break;
	case R_NOT_SSH:
		snprintf(out, len, "the stream is not SSH");
		break;
	case R_INTERNAL:
		snprintf(out, len, "an error inside the gateway");
		break;
	default:
		break;
	}
}

/*
 * The gateway's last words to a client whose TLS is up: a notice of why
 * (a record of its own, only if nothing else waits to be written), then
 * close_notify, so that the client can tell it from a cut.
 */
int
conn_last_words(struct conn *c, enum reason r, const char *detail)
{
	char text[NOTICE_TEXT_MAX + 1], line[NOTICE_MAX];
	size_t n = 0;

	if ((c->ssl == NULL && c->off == NULL) ||
	    (c->flags & (F_DOWN_SHUT | F_TLS_FAILED)))
		return 0;
	notice_text(c, r, detail, text, sizeof(text));
	if (text[0] != '\0' && (c->flags & F_HANDSHAKEN))
		n = notice_format(line, c->bytes_down == 0 ? NOTICE_REFUSED :
		    NOTICE_ENDED, reason_token(r), text);
	ctls_last_words(c, n > 0 ? line : NULL, n);
	return text[0] != '\0';
}
