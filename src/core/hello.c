#include "core/hello.h"

#include <string.h>

#define REC_HEADER 5
#define REC_HANDSHAKE 22
#define REC_MAX 16384		/* plaintext fragment, RFC 8446 5.1 */
#define HS_CLIENT_HELLO 1
#define EXT_SERVER_NAME 0
#define EXT_ALPN 16
#define SNI_HOST_NAME 0

/* A bounded reader: every get fails once the bytes run out. */
struct rd {
	const unsigned char *p;
	size_t left;
};

static int
get_u8(struct rd *r, unsigned *v)
{
	if (r->left < 1)
		return -1;
	*v = r->p[0];
	r->p++;
	r->left--;
	return 0;
}

static int
get_u16(struct rd *r, unsigned *v)
{
	if (r->left < 2)
		return -1;
	*v = (unsigned)r->p[0] << 8 | r->p[1];
	r->p += 2;
	r->left -= 2;
	return 0;
}

/* Takes the next n bytes as a reader of their own. */
static int
get_sub(struct rd *r, size_t n, struct rd *sub)
{
	if (r->left < n)
		return -1;
	sub->p = r->p;
	sub->left = n;
	r->p += n;
	r->left -= n;
	return 0;
}

static int
skip(struct rd *r, size_t n)
{
	struct rd sub;

	return get_sub(r, n, &sub);
}

int
hello_sni_ext(const unsigned char *p, size_t len, char *out,
    const char **why)
{
	struct rd r = { p, len }, list, name;
	unsigned n, type, nlen;

	out[0] = '\0';
	if (get_u16(&r, &n) == -1 || n != r.left || n == 0) {
		*why = "malformed server_name extension";
		return -1;
	}
	(void)get_sub(&r, n, &list);
	while (list.left > 0) {
		if (get_u8(&list, &type) == -1 || get_u16(&list, &nlen) == -1 ||
		    get_sub(&list, nlen, &name) == -1) {
			*why = "malformed server_name extension";
			return -1;
		}
		if (type != SNI_HOST_NAME)
			continue;	/* other name types: not ours to read */
		if (nlen == 0 || nlen > HELLO_SNI_MAX) {
			*why = nlen == 0 ? "empty server name" :
			    "server name longer than 255 bytes";
			return -1;
		}
		if (memchr(name.p, '\0', nlen) != NULL) {
			*why = "NUL byte in server name";
			return -1;
		}
		memcpy(out, name.p, nlen);
		out[nlen] = '\0';
		return 1;	/* RFC 6066: at most one host_name */
	}
	return 0;
}

int
hello_alpn_ext(const unsigned char *p, size_t len,
    char out[HELLO_ALPN_MAX][HELLO_PROTO_MAX + 1], const char **why)
{
	struct rd r = { p, len }, list, name;
	unsigned n, plen;
	int k = 0;

	if (get_u16(&r, &n) == -1 || n != r.left || n < 2) {
		*why = "malformed ALPN extension";
		return -1;
	}
	(void)get_sub(&r, n, &list);
	while (list.left > 0) {
		if (get_u8(&list, &plen) == -1 || plen == 0 ||
		    get_sub(&list, plen, &name) == -1) {
			*why = "malformed ALPN extension";
			return -1;
		}
		if (k == HELLO_ALPN_MAX)
			continue;	/* checked, not kept */
		if (plen > HELLO_PROTO_MAX)
			plen = HELLO_PROTO_MAX;
		memcpy(out[k], name.p, plen);
		out[k][plen] = '\0';
		/* a NUL inside would cut the name: it could match nothing */
		if (strlen(out[k]) != plen)
			out[k][0] = '\0';
		k++;
	}
	return k;
}

/* The ClientHello body: everything after the handshake header. */
static enum hello_status
client_hello(struct rd *r, struct hello *out, const char **why)
{
	struct rd exts, ext;
	unsigned v, n, type, elen;

	if (get_u16(r, &v) == -1 || skip(r, 32) == -1 ||	/* random */
	    get_u8(r, &n) == -1 || n > 32 || skip(r, n) == -1 ||
	    get_u16(r, &n) == -1 || n < 2 || n % 2 != 0 || skip(r, n) == -1 ||
	    get_u8(r, &n) == -1 || n < 1 || skip(r, n) == -1)
		goto bad;
	if (v >> 8 != 3) {
		*why = "unknown ClientHello version";
		return HELLO_BAD;
	}
	if (r->left == 0)
		return HELLO_OK;	/* no extensions (old clients) */
	if (get_u16(r, &n) == -1 || n != r->left)
		goto bad;
	(void)get_sub(r, n, &exts);
	while (exts.left > 0) {
		if (get_u16(&exts, &type) == -1 || get_u16(&exts, &elen) == -1 ||
		    get_sub(&exts, elen, &ext) == -1)
			goto bad;
		if (type == EXT_SERVER_NAME) {
			if (out->has_sni) {
				*why = "two server_name extensions";
				return HELLO_BAD;
			}
			switch (hello_sni_ext(ext.p, ext.left, out->sni, why)) {
			case -1:
				return HELLO_BAD;
			case 1:
				out->has_sni = 1;
				break;
			}
		} else if (type == EXT_ALPN) {
			int k = hello_alpn_ext(ext.p, ext.left, out->alpn, why);

			if (k == -1)
				return HELLO_BAD;
			out->nalpn = (size_t)k;
		}
	}
	return HELLO_OK;
bad:
	*why = "malformed ClientHello";
	return HELLO_BAD;
}

enum hello_status
hello_parse(const unsigned char *buf, size_t len, struct hello *out,
    const char **why)
{
	unsigned char msg[HELLO_BYTES_MAX];
	size_t have = 0, want = 0, off = 0, rlen, nrec = 0;
	struct rd r;

	memset(out, 0, sizeof(*out));
	if (len > 0 && buf[0] != REC_HANDSHAKE) {
		*why = buf[0] & 0x80 ? "SSLv2-style ClientHello" :
		    "not a TLS handshake";
		return HELLO_BAD;
	}
	/* gather the handshake message from as many records as it spans */
	for (;;) {
		if (len - off < REC_HEADER) {
			/* what there is of the header must already be right */
			if (len - off >= 1 && buf[off] != REC_HANDSHAKE)
				goto not_handshake;
			if (len - off >= 2 && buf[off + 1] != 3)
				goto bad_version;
			if (off + REC_HEADER >= HELLO_RAW_MAX) {
				/* no room left for a record with a byte in it */
				*why = "ClientHello too large";
				return HELLO_BAD;
			}
			out->len = off + REC_HEADER;
			return HELLO_NEED_MORE;
		}
		if (buf[off] != REC_HANDSHAKE)
			goto not_handshake;
		if (++nrec > HELLO_RECORDS_MAX) {
			*why = "ClientHello split into too many records";
			return HELLO_BAD;
		}
		if (buf[off + 1] != 3)
			goto bad_version;
		rlen = (size_t)buf[off + 3] << 8 | buf[off + 4];
		if (rlen == 0 || rlen > REC_MAX) {
			*why = "bad TLS record length";
			return HELLO_BAD;
		}
		if (off + REC_HEADER + rlen > HELLO_RAW_MAX) {
			*why = "ClientHello too large";
			return HELLO_BAD;
		}
		if (len - off - REC_HEADER < rlen) {
			out->len = off + REC_HEADER + rlen;
			return HELLO_NEED_MORE;
		}
		if (have + rlen > sizeof(msg)) {
			*why = "ClientHello too large";
			return HELLO_BAD;
		}
		memcpy(msg + have, buf + off + REC_HEADER, rlen);
		have += rlen;
		off += REC_HEADER + rlen;
		if (want == 0 && have >= 4) {
			if (msg[0] != HS_CLIENT_HELLO) {
				*why = "first handshake message is not a "
				    "ClientHello";
				return HELLO_BAD;
			}
			want = 4 + ((size_t)msg[1] << 16 | (size_t)msg[2] << 8 |
			    msg[3]);
			if (want > sizeof(msg)) {
				*why = "ClientHello too large";
				return HELLO_BAD;
			}
		}
		if (want != 0 && have >= want)
			break;
	}
	if (have != want) {
		/* the next message shares the record: not from a client */
		*why = "bytes after the ClientHello in its record";
		return HELLO_BAD;
	}
	r.p = msg + 4;
	r.left = want - 4;
	if (client_hello(&r, out, why) != HELLO_OK)
		return HELLO_BAD;
	out->len = off;
	return HELLO_OK;
not_handshake:
	*why = "not a TLS handshake record";
	return HELLO_BAD;
bad_version:
	*why = "not a TLS record version";
	return HELLO_BAD;
}
