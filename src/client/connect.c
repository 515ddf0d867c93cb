#include "client/connect.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "client/askpass.h"
#include "client/dial.h"
#include "client/httpproxy.h"
#include "client/say.h"
#include "client/tlsrelay.h"
#include "config/file.h"
#include "core/addr.h"
#include "core/pemid.h"
#include "core/tlsio.h"
#include "client/sesscache.h"
#include "core/util.h"

#define CERT_FILE_MAX (1u << 20)	/* a client certificate chain and key */

struct opts {
	const char *ca, *cert, *key;
	int insecure, no_resume;
	double timeout;
	const char *proxy_arg;	/* --proxy, NULL if not given */
	int use_proxy;		/* proxy holds the one to go through */
	struct proxyurl proxy;
	char host[256];		/* the gateway, without brackets */
	unsigned port;
	const char *target;	/* the SNI */
	struct tls_first *first;	/* what the gateway sent first */
	char names[400];	/* whom the gateway's certificate is for */
	char cache_key[65];	/* its session cache entry, "" for none */
};

/* GATEWAY[:PORT], [V6]:PORT, or a bare IPv6 address. */
static int
parse_gateway(const char *s, struct opts *o)
{
	char err[128];
	struct addr a;

	o->port = CONNECT_DEFAULT_PORT;
	if (addr_parse_ip(s, 0, &a) == 0 || (s[0] != '[' &&
	    strchr(s, ':') == NULL)) {
		if (strlen(s) == 0 || strlen(s) >= sizeof(o->host))
			return -1;
		util_strlcpy(o->host, s, sizeof(o->host));
		return 0;
	}
	return addr_split(s, o->host, sizeof(o->host), &o->port, err,
	    sizeof(err));
}

static int
usage_connect(void)
{
	fprintf(stderr, "usage: %s\n", CONNECT_USAGE);
	return 2;
}

static int
parse_args(int argc, char **argv, struct opts *o)
{
	unsigned long t;
	int i, pos = 0;

	memset(o, 0, sizeof(*o));
	o->ca = getenv("SSHGATE_CA");
	o->cert = getenv("SSHGATE_CERT");
	o->key = getenv("SSHGATE_KEY");
	o->timeout = 10;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		int has_val = i + 1 < argc;

		if (strcmp(a, "--ca") == 0 && has_val)
			o->ca = argv[++i];
		else if (strcmp(a, "--cert") == 0 && has_val)
			o->cert = argv[++i];
		else if (strcmp(a, "--key") == 0 && has_val)
			o->key = argv[++i];
		else if (strcmp(a, "--insecure") == 0)
			o->insecure = 1;
		else if (strcmp(a, "--no-resume") == 0)
			o->no_resume = 1;
		else if (strcmp(a, "--proxy") == 0 && has_val)
			o->proxy_arg = argv[++i];
		else if (strcmp(a, "--timeout") == 0 && has_val) {
			if (util_parse_uint(argv[++i], 1, 3600, &t) == -1) {
				client_say("--timeout: expected seconds (1-3600), got "
				    "'%s'", argv[i]);
				return -1;
			}
			o->timeout = (double)t;
		} else if (a[0] == '-' && a[1] != '\0') {
			client_say("connect: unknown or incomplete option '%s'", a);
			return -1;
		} else if (pos == 0) {
			if (parse_gateway(a, o) == -1) {
				client_say("connect: '%s' is not GATEWAY[:PORT]", a);
				return -1;
			}
			pos++;
		} else if (pos == 1) {
			o->target = a;
			pos++;
		} else {
			client_say("connect: unexpected argument '%s'", a);
			return -1;
		}
	}
	if (pos != 2)
		return -1;
	if (o->key != NULL && o->cert == NULL) {
		client_say("connect: --key needs --cert");
		return -1;
	}
	if (strlen(o->target) == 0 || strlen(o->target) > 255) {
		client_say("connect: TARGET must be 1 to 255 characters");
		return -1;
	}
	if ((o->use_proxy = httpproxy_choose(o->proxy_arg, o->host,
	    &o->proxy)) == -1)
		return -1;
	return 0;
}

/* Asks for a key's passphrase on the terminal (client/askpass.c). */
static int
passphrase(char *buf, int size, int rwflag, void *userdata)
{
	char prompt[PATH_MAX + 32];
	int tty, n;

	(void)rwflag;
	if (size <= 0 ||
	    (tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)) == -1)
		return -1;	/* said by pemid: cannot decrypt */
	snprintf(prompt, sizeof(prompt), "Passphrase for %s: ",
	    (const char *)userdata);
	n = askpass(tty, prompt, buf, (size_t)size);
	close(tty);
	return n;
}

/* The names and addresses a certificate is for: its SANs, else its CN. */
static void
cert_names(X509 *x, char *out, size_t len)
{
	GENERAL_NAMES *gens;
	size_t k = 0;
	int i;

	util_strlcpy(out, "no name", len);
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens) &&
	    k + 64 < len; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const unsigned char *d;
		char ip[64];
		int n;

		if (g->type == GEN_DNS) {
			d = ASN1_STRING_get0_data(g->d.dNSName);
			n = ASN1_STRING_length(g->d.dNSName);
			k += (size_t)snprintf(out + k, len - k, "%s%.*s",
			    k > 0 ? ", " : "", n > 60 ? 60 : n, d);
		} else if (g->type == GEN_IPADD) {
			n = ASN1_STRING_length(g->d.iPAddress);
			if (n == 4 || n == 16) {
				inet_ntop(n == 4 ? AF_INET : AF_INET6,
				    ASN1_STRING_get0_data(g->d.iPAddress), ip,
				    sizeof(ip));
				k += (size_t)snprintf(out + k, len - k, "%s%s",
				    k > 0 ? ", " : "", ip);
			}
		}
	}
	GENERAL_NAMES_free(gens);
	if (k == 0)
		X509_NAME_get_text_by_NID(X509_get_subject_name(x),
		    NID_commonName, out, (int)len);
}

/*
 * Verification keeps its verdict; on a name or address mismatch it notes
 * whom the certificate is for, which a failed handshake no longer tells.
 */
static int
verify_gateway(int ok, X509_STORE_CTX *st)
{
	int err = X509_STORE_CTX_get_error(st);
	SSL *ssl;
	struct opts *o;

	if (ok || (err != X509_V_ERR_HOSTNAME_MISMATCH &&
	    err != X509_V_ERR_IP_ADDRESS_MISMATCH))
		return ok;
	ssl = X509_STORE_CTX_get_ex_data(st,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	if (ssl != NULL && (o = SSL_get_app_data(ssl)) != NULL &&
	    X509_STORE_CTX_get_current_cert(st) != NULL)
		cert_names(X509_STORE_CTX_get_current_cert(st), o->names,
		    sizeof(o->names));
	return ok;
}

/* The client certificate (--cert, its chain) and key (--key, or in it). */
static int
use_cert(SSL_CTX *ctx, const struct opts *o)
{
	const char *keypath = o->key != NULL ? o->key : o->cert;
	struct pemfile cf = { o->cert, NULL, 0 }, kf = { o->key, NULL, 0 };
	char *cdata = NULL, *kdata = NULL, why[512];
	struct pemid id;
	int i, rc = -1;

	if (file_read(o->cert, CERT_FILE_MAX, &cdata, &cf.len, why,
	    sizeof(why)) == -1) {
		client_say("cannot read --cert %s: %s", o->cert, why);
		return -1;
	}
	if (o->key != NULL && file_read(o->key, CERT_FILE_MAX, &kdata,
	    &kf.len, why, sizeof(why)) == -1) {
		client_say("cannot read --key %s: %s", o->key, why);
		free(cdata);
		return -1;
	}
	cf.data = cdata;
	kf.data = kdata;
	if (pemid_parse(&id, &cf, o->key != NULL ? &kf : NULL, passphrase,
	    (void *)(uintptr_t)keypath, "--key", why, sizeof(why)) == -1) {
		client_say("client certificate: %s", why);
		goto out;
	}
	if (SSL_CTX_use_certificate(ctx, id.cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, id.key) != 1)
		goto ssl_error;
	for (i = 0; i < sk_X509_num(id.chain); i++)
		if (SSL_CTX_add1_chain_cert(ctx, sk_X509_value(id.chain, i)) !=
		    1)
			goto ssl_error;
	rc = 0;
	goto done;
ssl_error:
	client_say("cannot use client certificate %s: %s", o->cert,
	    tls_err_reason(ERR_get_error(), "unknown error"));
done:
	pemid_free(&id);
out:
	free(cdata);
	free(kdata);
	return rc;
}

static SSL_CTX *
make_ctx(const struct opts *o)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (!o->insecure) {
		if ((o->ca != NULL ? SSL_CTX_load_verify_locations(ctx, o->ca,
		    NULL) : SSL_CTX_set_default_verify_paths(ctx)) != 1) {
			client_say("cannot load CA certificates %s: %s", o->ca != NULL ?
			    o->ca : "(system)", tls_err_reason(ERR_get_error(),
			    "none found"));
			SSL_CTX_free(ctx);
			return NULL;
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_gateway);
	}
	if (o->cert != NULL && use_cert(ctx, o) == -1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* The server's verdict on us, from a TLS alert it sent. */
static const char *
alert_refusal(int alert, int sent_cert)
{
	switch (alert) {
	case SSL_AD_UNRECOGNIZED_NAME:
		return NULL;	/* said with the name by the caller */
	case SSL_AD_HANDSHAKE_FAILURE:
	case SSL_AD_ACCESS_DENIED:
		return sent_cert ? "access denied" :
		    "the TLS handshake was refused";
	case SSL_AD_CERTIFICATE_REQUIRED:
		return "a client certificate is required";
	case SSL_AD_UNKNOWN_CA:
	case SSL_AD_BAD_CERTIFICATE:
	case SSL_AD_UNSUPPORTED_CERTIFICATE:
	case SSL_AD_CERTIFICATE_UNKNOWN:
		return "your certificate is not trusted";
	case SSL_AD_CERTIFICATE_EXPIRED:
		return "your certificate has expired";
	case SSL_AD_CERTIFICATE_REVOKED:
		return "your certificate is revoked";
	default:
		return "TLS alert";
	}
}

/*
 * Explains a failed TLS operation: verification of the gateway, an alert
 * from it, or a plain error. Always returns 1 (the exit status).
 */
static int
explain_failure(SSL *ssl, const struct opts *o)
{
	long vr = SSL_get_verify_result(ssl);
	unsigned long e = ERR_peek_error();
	int reason = ERR_GET_REASON(e);
	const char *why;

	if (o->first != NULL && tls_first_is_ssh(o->first)) {
		client_say("%s:%u is an SSH server, not an sshgate gateway: "
		    "connect to it with plain ssh, or give connect the "
		    "gateway's TLS address", o->host, o->port);
		return 1;
	}
	if (!o->insecure && vr != X509_V_OK) {
		switch (vr) {
		case X509_V_ERR_HOSTNAME_MISMATCH:
		case X509_V_ERR_IP_ADDRESS_MISMATCH:
			client_say("cannot verify gateway %s:%u: %s mismatch: "
			    "wanted %s, the gateway's certificate is for %s",
			    o->host, o->port, vr == X509_V_ERR_HOSTNAME_MISMATCH ?
			    "name" : "address", o->host, o->names[0] != '\0' ?
			    o->names : "no name");
			break;
		case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
		case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
		case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
		case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
		case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
			client_say("cannot verify gateway %s:%u: certificate signed "
			    "by an unknown CA", o->host, o->port);
			break;
		case X509_V_ERR_CERT_HAS_EXPIRED:
			client_say("cannot verify gateway %s:%u: certificate "
			    "expired", o->host, o->port);
			break;
		default:
			client_say("cannot verify gateway %s:%u: %s", o->host,
			    o->port, X509_verify_cert_error_string(vr));
		}
		return 1;
	}
	if (ERR_GET_LIB(e) == ERR_LIB_SSL && reason > SSL_AD_REASON_OFFSET &&
	    reason < SSL_AD_REASON_OFFSET + 256) {
		int alert = reason - SSL_AD_REASON_OFFSET;

		why = alert_refusal(alert, o->cert != NULL);
		if (why == NULL)
			client_say("gateway refused: unknown server name '%s'",
			    o->target);
		else if (strcmp(why, "TLS alert") == 0)
			client_say("gateway refused: TLS alert %d (%s)", alert,
			    SSL_alert_desc_string_long(alert));
		else
			client_say("gateway refused: %s", why);
		return 1;
	}
	if (e != 0)
		client_say("TLS with %s:%u failed: %s", o->host, o->port,
		    ERR_reason_error_string(e) != NULL ?
		    ERR_reason_error_string(e) : "unknown error");
	else
		client_say("gateway closed the connection before the server "
		    "answered (refused: the gateway's log says why)");
	return 1;
}

/* Handshake within the deadline. Returns 0, or the exit status. */
static int
handshake(SSL *ssl, int fd, const struct opts *o, double deadline)
{
	enum tls_io st;
	struct pollfd p;
	int left, sys;

	for (;;) {
		ERR_clear_error();
		if ((st = tls_status(ssl, SSL_connect(ssl), &sys)) == TLS_OK)
			return 0;
		if ((p.events = (short)tls_want_events(st, POLLIN, POLLOUT)) ==
		    0)
			return explain_failure(ssl, o);
		p.fd = fd;
		left = dial_left_ms(deadline);
		if (left <= 0 || poll(&p, 1, left) == 0) {
			client_say("%s:%u: no TLS handshake within %gs", o->host,
			    o->port, o->timeout);
			return 1;
		}
	}
}

static int
new_session(SSL *ssl, SSL_SESSION *sess)
{
	const struct opts *o = SSL_get_app_data(ssl);

	if (o != NULL && o->cache_key[0] != '\0')
		sesscache_store(o->cache_key, sess);
	return 0;		/* we keep no reference */
}

int
connect_main(int argc, char **argv)
{
	struct tls_first first;
	struct opts o;
	struct addr lit;
	double deadline;
	SSL_CTX *ctx;
	SSL *ssl = NULL;
	SSL_SESSION *sess = NULL;
	int fd, rc = 1;

	if (parse_args(argc, argv, &o) == -1)
		return usage_connect();
	signal(SIGPIPE, SIG_IGN);
	if (o.insecure)
		client_say("warning: --insecure: the gateway's certificate is not "
		    "verified");
	if ((ctx = make_ctx(&o)) == NULL)
		return 1;
	deadline = dial_now() + o.timeout;
	fd = o.use_proxy ? httpproxy_open(&o.proxy, o.host, o.port, deadline,
	    o.timeout) : dial_tcp(o.host, o.port, "", deadline);
	OPENSSL_cleanse(&o.proxy, sizeof(o.proxy));
	if (fd == -1)
		goto out;
	if ((ssl = SSL_new(ctx)) == NULL || SSL_set_fd(ssl, fd) != 1 ||
	    SSL_set_tlsext_host_name(ssl, o.target) != 1) {
		client_say("cannot set up TLS");
		goto out;
	}
	tls_first_watch(ssl, &first);	/* an SSH server answers "SSH-" */
	o.first = &first;
	SSL_set_app_data(ssl, &o);
	if (!o.insecure) {
		X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);

		if (addr_parse_ip(o.host, 0, &lit) == 0)
			(void)X509_VERIFY_PARAM_set1_ip_asc(vp, o.host);
		else
			(void)X509_VERIFY_PARAM_set1_host(vp, o.host, 0);
		X509_VERIFY_PARAM_set_hostflags(vp,
		    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	}
	if (!o.no_resume) {
		sesscache_key(o.cache_key, o.host, o.port, o.target, o.ca,
		    o.cert, o.key, o.insecure);
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT |
		    SSL_SESS_CACHE_NO_INTERNAL_STORE);
		SSL_CTX_sess_set_new_cb(ctx, new_session);
		if ((sess = sesscache_load(o.cache_key, ctx)) != NULL)
			(void)SSL_set_session(ssl, sess);
	}
	if ((rc = handshake(ssl, fd, &o, deadline)) == 0) {
		rc = tlsrelay_run(ssl, fd);
		if (rc == TLSRELAY_UNEXPLAINED)
			rc = explain_failure(ssl, &o);
	}
	/* a refused resumption must not be replayed by the next run */
	if (rc != 0 && !o.no_resume && SSL_session_reused(ssl))
		sesscache_forget(o.cache_key);
out:
	SSL_SESSION_free(sess);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	if (fd != -1)
		close(fd);
	return rc;
}
