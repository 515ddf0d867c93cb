/*
 * libFuzzer target for what a client controls: its first bytes (the
 * SSH gate), its SNI (normalization, route matching, the log record),
 * and address texts; and for what `connect` reads from a gateway, or
 * from a server behind it, as a notice.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/addr.h"
#include "core/banner.h"
#include "core/dest.h"
#include "core/log.h"
#include "core/notice.h"
#include "core/proxy.h"
#include "core/route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const patterns[] = {
	"*", "db7.example.local", "*.example.local", "10.0.0.0/8", "::1",
	"::ffff:0:0/96",
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	char sni[ROUTE_SNI_MAX + 1], host[256], err[256];
	static char line[LOG_LINE_MAX];
	struct log_record r;
	struct pattern p;
	struct cidr cidr;
	struct addr a;
	unsigned port;
	size_t i;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	(void)banner_check(data, size);
	{	/* a notice: parsed as read, and made from any text */
		char reason[32], text[NOTICE_TEXT_MAX + 1], buf[NOTICE_MAX];
		enum notice_kind kind;
		size_t n;

		(void)notice_parse(data, size, &kind, reason, text);
		n = notice_format(buf, NOTICE_ENDED, "killed", s);
		if (n > NOTICE_MAX || notice_parse(buf, n, &kind, reason,
		    text) != 1)
			abort();
	}
	{	/* what an L4 balancer (or anyone on that port) sends first */
		struct proxy_info pi;
		const char *pwhy;
		size_t used;

		if (proxy_parse(data, size, &used, &pi, &pwhy) == PROXY_OK &&
		    used > size)
			abort();
	}
	if (route_normalize_sni(s, sni) == 0) {
		for (i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
			if (pattern_parse(patterns[i], &p, err,
			    sizeof(err)) == 0) {
				(void)pattern_match(&p, sni);
				pattern_free(&p);
			}
		}
	}
	if (pattern_parse(s, &p, err, sizeof(err)) == 0) {
		(void)pattern_match(&p, "db7.example.local");
		pattern_free(&p);
	}
	if (addr_split(s, host, sizeof(host), &port, err, sizeof(err)) == 0 &&
	    addr_parse_ip(host, port, &a) == 0)
		addr_format(&a, host, sizeof(host));
	if (cidr_parse(s, &cidr) == 0 && addr_parse_ip("10.1.2.3", 22, &a) == 0)
		(void)cidr_match(&cidr, &a);
	if (addr_parse_ip(s, 22, &a) == 0) {	/* a client-chosen destination */
		struct dest_policy pol;
		struct cidr allow;

		memset(&pol, 0, sizeof(pol));
		if (cidr_parse("10.0.0.0/8", &allow) == 0) {
			pol.allow = &allow;
			pol.nallow = 1;
		}
		(void)dest_check(&pol, &a, err, sizeof(err));
	}
	memset(&r, 0, sizeof(r));
	r.client = "127.0.0.1:1";
	r.sni = s;
	r.detail = s;
	r.result = "ok";
	r.reason = "client-closed";
	(void)log_format(&r, size & 1, line, sizeof(line));
	if (memchr(line, '\n', sizeof(line)) == NULL)
		abort();	/* every record ends its line */
	free(s);
	return 0;
}
