/*
 * caissue: the `sshgate ca` subcommands that hand out certificates and
 * keys: issue (a client certificate, its key made here or kept on the
 * user's machine behind a request), request (that key and request, on
 * the user's side) and gateway (the gateway's own certificate, chain and
 * key in one PEM for its `certificate` line).
 *
 * Outputs are written whole under new names only (never over a file),
 * before the index records the certificate; on any failure what this
 * command wrote is removed.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <openssl/crypto.h>

#include "admin/ca.h"
#include "admin/ca_int.h"
#include "admin/casign.h"
#include "admin/castore.h"
#include "config/file.h"
#include "core/caname.h"

#define CSR_MAX (1u << 20)
#define OUTPUTS_MAX 3

static const struct caname_period client_period = { 365L * 86400, 3650, 1 };
static const struct caname_period gateway_period = { 365L * 86400, 3650, 0 };

/* The files one command writes, removed again if it fails. */
struct outputs {
	char path[OUTPUTS_MAX][PATH_MAX];
	size_t n;
};

/* "PREFIX.ext" into buf; -1 (err set) if too long or already there. */
static int
out_path(const char *prefix, const char *ext, char *buf, size_t len,
    char *err, size_t errlen)
{
	int n = snprintf(buf, len, "%s.%s", prefix, ext);

	if (n < 0 || (size_t)n >= len) {
		snprintf(err, errlen, "%s.%s: path too long", prefix, ext);
		return -1;
	}
	if (access(buf, F_OK) == 0 || errno != ENOENT) {
		snprintf(err, errlen, "%s already exists: not replaced (give "
		    "another --out PREFIX)", buf);
		return -1;
	}
	return 0;
}

/* Writes text (len bytes) as the next output; 0, or -1 with err. */
static int
out_write(struct outputs *o, const char *path, const char *text,
    size_t len, mode_t mode, char *err, size_t errlen)
{
	if (text == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	if (castore_write(path, text, len, mode, 0, err, errlen) == -1)
		return -1;
	snprintf(o->path[o->n++], PATH_MAX, "%s", path);
	return 0;
}

static void
out_undo(struct outputs *o)
{
	while (o->n > 0)
		unlink(o->path[--o->n]);
}

/* Frees key text, wiping it first. */
static void
free_secret(char *text, size_t len)
{
	if (text != NULL) {
		OPENSSL_cleanse(text, len);
		free(text);
	}
}

/* A copy of x as DIR/certs/SERIAL.pem, then x in the index. */
static int
record(struct castore *s, struct outputs *o, X509 *x,
    const struct caindex_entry *e, char *err, size_t errlen)
{
	char path[PATH_MAX], name[CAINDEX_SERIAL_MAX + 16], *pem;
	size_t len = 0;
	int rc;

	snprintf(name, sizeof(name), "certs/%s.pem", e->serial);
	castore_path(s->dir, name, path, sizeof(path));
	pem = castore_pem_cert(x, &len);
	rc = out_write(o, path, pem, len, 0644, err, errlen);
	free(pem);
	if (rc == -1)
		return -1;
	if (caindex_add(&s->index, e) == -1) {
		snprintf(err, errlen, "%s", errno == EEXIST ? "the serial is "
		    "already in the index" : "the index is full");
		return -1;
	}
	return castore_save_index(s, err, errlen);
}

/* The index entry of a certificate just signed. */
static void
entry_of(struct caindex_entry *e, X509 *x, enum caindex_kind kind,
    const char *name, const char *const *groups, size_t ngroups,
    const char *serial)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->serial, sizeof(e->serial), "%s", serial);
	e->not_after = casign_time(X509_get0_notAfter(x));
	e->kind = kind;
	e->name = (char *)(uintptr_t)name;
	e->groups = (char **)(uintptr_t)groups;
	e->ngroups = ngroups;
}

/* The request's public key (file path), or NULL with err set. */
static EVP_PKEY *
csr_key(const char *path, const char *user, const char *const *groups,
    size_t ngroups, char *err, size_t errlen)
{
	char *text, why[256], subject[512];
	EVP_PKEY *pub;
	size_t len, i;

	if (file_read(path, CSR_MAX, &text, &len, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: %s", path, why);
		return NULL;
	}
	pub = casign_csr_key(path, text, len, subject, sizeof(subject), err,
	    errlen);
	free(text);
	if (pub != NULL) {
		/* only the command line names; the request just says so */
		fprintf(stderr, "sshgate: ca issue: %s asked for \"%s\"; "
		    "what is signed is only its key, with CN=%s", path, subject,
		    user);
		for (i = 0; i < ngroups; i++)
			fprintf(stderr, ", OU=%s", groups[i]);
		fputc('\n', stderr);
	}
	return pub;
}

int
ca_issue(int argc, char **argv)
{
	const char *usage = CA_USAGE_ISSUE, *user, *prefix, *why;
	char shown[CA_SHOWN_MAX];
	char err[CA_ERR_MAX], crt[PATH_MAX], keyp[PATH_MAX];
	char serial[CAINDEX_SERIAL_MAX + 1], when[32];
	char *pem = NULL, *keypem = NULL;
	size_t len = 0, keylen = 0, i, j;
	struct outputs o = { .n = 0 };
	struct casign_leaf l;
	struct caindex_entry e;
	struct castore s;
	struct ca_args a;
	X509 *x = NULL;
	int rc;

	if ((rc = ca_parse(argc, argv, "group,days,hours,csr,out,key", usage,
	    &a)) != 0)
		return rc;
	if (a.npos != 2)
		return ca_usage_error(usage, "ca issue: give DIR and one USER");
	user = a.pos[1];
	if ((why = caname_check_user(user)) != NULL)
		return ca_usage_error(usage, "ca issue: the user %s %s",
		    ca_shown(user, shown, sizeof(shown)), why);
	for (i = 0; i < a.ngroups; i++) {
		if ((why = caname_check(a.groups[i])) != NULL)
			return ca_usage_error(usage, "ca issue: the group %s "
			    "%s", ca_shown(a.groups[i], shown, sizeof(shown)),
			    why);
		for (j = 0; j < i; j++)
			if (strcmp(a.groups[i], a.groups[j]) == 0)
				return ca_usage_error(usage, "ca issue: the "
				    "group %s is given twice", ca_shown(
				    a.groups[i], shown, sizeof(shown)));
	}
	memset(&l, 0, sizeof(l));
	if (caname_period(&client_period, a.days, a.hours, &l.secs, err,
	    sizeof(err)) == -1)
		return ca_usage_error(usage, "ca issue: %s", err);
	if ((rc = ca_check_key_kind("issue", a.key, usage)) != 0)
		return rc;
	if (a.csr != NULL && a.key != NULL)
		return ca_usage_error(usage, "ca issue: --key makes a key here; "
		    "with --csr the key is the request's");
	prefix = a.out != NULL ? a.out : user;
	if (out_path(prefix, "crt", crt, sizeof(crt), err, sizeof(err)) == -1 ||
	    (a.csr == NULL && out_path(prefix, "key", keyp, sizeof(keyp), err,
	    sizeof(err)) == -1)) {
		ca_say("issue", "%s", err);
		return 1;
	}
	if (castore_open(&s, a.pos[0], 1, 1, err, sizeof(err)) == -1) {
		ca_say("issue", "%s", err);
		return 1;
	}
	rc = 1;
	if (a.csr != NULL)
		l.pub = csr_key(a.csr, user, a.groups, a.ngroups, err,
		    sizeof(err));
	else if ((l.pub = casign_new_key(a.key != NULL ? a.key :
	    "ecdsa")) == NULL)
		snprintf(err, sizeof(err), "cannot make a key");
	if (l.pub == NULL)
		goto out;
	l.kind = CAINDEX_CLIENT;
	l.name = user;
	l.groups = a.groups;
	l.ngroups = a.ngroups;
	if ((x = casign_leaf(s.cert, s.key, &l, serial, err,
	    sizeof(err))) == NULL)
		goto out;
	if (a.csr == NULL) {
		keypem = castore_pem_key(l.pub, NULL, &keylen);
		if (out_write(&o, keyp, keypem, keylen, 0600, err,
		    sizeof(err)) == -1)
			goto out;
	}
	pem = castore_pem_cert(x, &len);
	if (out_write(&o, crt, pem, len, 0644, err, sizeof(err)) == -1)
		goto out;
	entry_of(&e, x, CAINDEX_CLIENT, user, a.groups, a.ngroups, serial);
	if (record(&s, &o, x, &e, err, sizeof(err)) == -1)
		goto out;
	caindex_time(e.not_after, when, sizeof(when));
	printf("issued %s to %s", serial, user);
	for (i = 0; i < a.ngroups; i++)
		printf("%s%s", i == 0 ? " (groups " : ",", a.groups[i]);
	printf("%s, valid until %s: %s%s%s\n", a.ngroups > 0 ? ")" : "",
	    when, crt, a.csr == NULL ? ", " : "", a.csr == NULL ? keyp : "");
	rc = 0;
out:
	if (rc != 0) {
		ca_say("issue", "%s", err);
		out_undo(&o);
	}
	free(pem);
	free_secret(keypem, keylen);
	X509_free(x);
	EVP_PKEY_free(l.pub);
	castore_close(&s);
	return rc;
}

int
ca_request(int argc, char **argv)
{
	const char *usage = CA_USAGE_REQUEST, *user, *prefix, *why;
	char shown[CA_SHOWN_MAX];
	char err[CA_ERR_MAX], csrp[PATH_MAX], keyp[PATH_MAX];
	char *pem = NULL, *keypem = NULL;
	size_t len = 0, keylen = 0;
	struct outputs o = { .n = 0 };
	struct ca_args a;
	X509_REQ *req = NULL;
	EVP_PKEY *key = NULL;
	int rc;

	if ((rc = ca_parse(argc, argv, "out,key", usage, &a)) != 0)
		return rc;
	if (a.npos != 1)
		return ca_usage_error(usage, "ca request: give one USER");
	user = a.pos[0];
	if ((why = caname_check_user(user)) != NULL)
		return ca_usage_error(usage, "ca request: the user %s %s",
		    ca_shown(user, shown, sizeof(shown)), why);
	if ((rc = ca_check_key_kind("request", a.key, usage)) != 0)
		return rc;
	prefix = a.out != NULL ? a.out : user;
	rc = 1;
	if (out_path(prefix, "key", keyp, sizeof(keyp), err, sizeof(err)) ||
	    out_path(prefix, "csr", csrp, sizeof(csrp), err, sizeof(err)))
		goto out;
	if ((key = casign_new_key(a.key != NULL ? a.key : "ecdsa")) == NULL ||
	    (req = casign_request(key, user)) == NULL) {
		snprintf(err, sizeof(err), "cannot make the key and request");
		goto out;
	}
	keypem = castore_pem_key(key, NULL, &keylen);
	if (out_write(&o, keyp, keypem, keylen, 0600, err, sizeof(err)) == -1)
		goto out;
	pem = castore_pem_req(req, &len);
	if (out_write(&o, csrp, pem, len, 0644, err, sizeof(err)) == -1)
		goto out;
	printf("%s: your private key (0600): it stays here\n"
	    "%s: the request: send it to the CA's admin, who runs\n"
	    "  sshgate ca issue DIR %s --csr %s [--group G]...\n"
	    "and sends back %s.crt\n", keyp, csrp, user, csrp, prefix);
	rc = 0;
out:
	if (rc != 0) {
		ca_say("request", "%s", err);
		out_undo(&o);
	}
	free(pem);
	free_secret(keypem, keylen);
	X509_REQ_free(req);
	EVP_PKEY_free(key);
	return rc;
}

/* Checks a gateway's name or address; NULL or why not. */
static const char *
check_gateway_name(const char *s)
{
	unsigned char a[16];

	if (inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1)
		return NULL;
	return caname_check_dns(s);
}

int
ca_gateway(int argc, char **argv)
{
	const char *usage = CA_USAGE_GATEWAY, *why, *prefix;
	char shown[CA_SHOWN_MAX];
	char err[CA_ERR_MAX], path[PATH_MAX], serial[CAINDEX_SERIAL_MAX + 1];
	char when[32], *cert = NULL, *chain = NULL, *keypem = NULL, *all;
	size_t clen = 0, chlen = 0, klen = 0, i;
	struct outputs o = { .n = 0 };
	struct casign_leaf l;
	struct caindex_entry e;
	struct castore s;
	struct ca_args a;
	X509 *x = NULL;
	int rc;

	if ((rc = ca_parse(argc, argv, "days,out,key", usage, &a)) != 0)
		return rc;
	if (a.npos < 2)
		return ca_usage_error(usage, "ca gateway: give DIR and the "
		    "gateway's names and addresses");
	if (a.npos - 1 > CA_NAMES_MAX)
		return ca_usage_error(usage, "ca gateway: more than %d names",
		    CA_NAMES_MAX);
	for (i = 1; i < a.npos; i++)
		if ((why = check_gateway_name(a.pos[i])) != NULL)
			return ca_usage_error(usage, "ca gateway: %s is no "
			    "address, and as a DNS name it %s", ca_shown(
			    a.pos[i], shown, sizeof(shown)), why);
	if (strlen(a.pos[1]) > CANAME_MAX)
		return ca_usage_error(usage, "ca gateway: %s is the first name, "
		    "the certificate's CN: at most %d bytes (give a shorter "
		    "name first)", ca_shown(a.pos[1], shown, sizeof(shown)),
		    CANAME_MAX);
	memset(&l, 0, sizeof(l));
	if (caname_period(&gateway_period, a.days, NULL, &l.secs, err,
	    sizeof(err)) == -1)
		return ca_usage_error(usage, "ca gateway: %s", err);
	if ((rc = ca_check_key_kind("gateway", a.key, usage)) != 0)
		return rc;
	prefix = a.out != NULL ? a.out : a.pos[1];
	if (out_path(prefix, "pem", path, sizeof(path), err,
	    sizeof(err)) == -1) {
		ca_say("gateway", "%s", err);
		return 1;
	}
	if (castore_open(&s, a.pos[0], 1, 1, err, sizeof(err)) == -1) {
		ca_say("gateway", "%s", err);
		return 1;
	}
	rc = 1;
	if ((l.pub = casign_new_key(a.key != NULL ? a.key : "ecdsa")) == NULL) {
		snprintf(err, sizeof(err), "cannot make a key");
		goto out;
	}
	l.kind = CAINDEX_GATEWAY;
	l.name = a.pos[1];
	l.sans = a.pos + 1;
	l.nsans = a.npos - 1;
	if ((x = casign_leaf(s.cert, s.key, &l, serial, err,
	    sizeof(err))) == NULL)
		goto out;
	cert = castore_pem_cert(x, &clen);
	chain = castore_pem_cert(s.cert, &chlen);
	keypem = castore_pem_key(l.pub, NULL, &klen);
	all = cert != NULL && chain != NULL && keypem != NULL ?
	    malloc(clen + chlen + klen + 1) : NULL;
	if (all != NULL) {
		memcpy(all, cert, clen);
		memcpy(all + clen, chain, chlen);
		memcpy(all + clen + chlen, keypem, klen);
	}
	rc = out_write(&o, path, all, clen + chlen + klen, 0600, err,
	    sizeof(err));
	free_secret(all, clen + chlen + klen);
	if (rc == -1) {
		rc = 1;
		goto out;
	}
	rc = 1;
	entry_of(&e, x, CAINDEX_GATEWAY, a.pos[1], NULL, 0, serial);
	if (record(&s, &o, x, &e, err, sizeof(err)) == -1)
		goto out;
	caindex_time(e.not_after, when, sizeof(when));
	printf("issued %s to the gateway %s, valid until %s:\n"
	    "%s: certificate, CA certificate and key (0600), for the "
	    "gateway's 'certificate %s' line\n", serial, a.pos[1], when, path,
	    path);
	rc = 0;
out:
	if (rc != 0) {
		ca_say("gateway", "%s", err);
		out_undo(&o);
	}
	free(cert);
	free(chain);
	free_secret(keypem, klen);
	X509_free(x);
	EVP_PKEY_free(l.pub);
	castore_close(&s);
	return rc;
}
