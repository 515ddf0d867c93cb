/*
 * ca: `sshgate ca`, the command shell of a small CA that makes what the
 * gateway's access control rests on: client certificates (user = CN,
 * groups = OU), the gateway's own certificate, and the CRL. Objects are
 * made by casign (OpenSSL's X509 API, never the openssl command), the
 * directory kept by castore, the index by core/caindex, names and
 * lifetimes checked by core/caname. Here: arguments, the order of the
 * steps, and what the user is told. init, revoke, crl and list live
 * here; issue, request and gateway in caissue.c.
 */
#include "admin/ca.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "admin/ca_int.h"
#include "admin/capass.h"
#include "admin/casign.h"
#include "admin/castore.h"
#include "core/caname.h"
#include "core/sbuf.h"

#define CRL_DAYS_DEFAULT 30

static const struct caname_period ca_period = { 3650L * 86400, 36500, 0 };
static const struct caname_period crl_period = {
	CRL_DAYS_DEFAULT * 86400L, 365, 0 };

void
ca_say(const char *sub, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sshgate: ca %s: ", sub);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
ca_usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sshgate: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: %s\n", usage);
	return 2;
}

/* Is the option word (without "--") in allowed ("days,hours,...")? */
static int
allowed_opt(const char *allowed, const char *name, size_t len)
{
	const char *p = allowed;

	while (*p != '\0') {
		size_t n = strcspn(p, ",");

		if (n == len && strncmp(p, name, len) == 0)
			return 1;
		p += n + (p[n] == ',');
	}
	return 0;
}

int
ca_parse(int argc, char **argv, const char *allowed, const char *usage,
    struct ca_args *a)
{
	static const char *const with_value[] = { "name", "days", "hours",
	    "key", "csr", "out", "group" };
	const char *arg, *val, *eq;
	size_t len, k;
	int i, options = 1;

	memset(a, 0, sizeof(*a));
	for (i = 1; i < argc; i++) {
		arg = argv[i];
		if (!options || strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
			if (options && strcmp(arg, "--") == 0) {
				options = 0;
				continue;
			}
			if (options && arg[0] == '-' && arg[1] != '\0')
				return ca_usage_error(usage, "ca %s: unknown "
				    "option %s", argv[0], arg);
			if (a->npos == CA_POSITIONAL_MAX)
				return ca_usage_error(usage, "ca %s: more "
				    "than %d arguments", argv[0],
				    CA_POSITIONAL_MAX);
			a->pos[a->npos++] = arg;
			continue;
		}
		eq = strchr(arg + 2, '=');
		len = eq != NULL ? (size_t)(eq - arg - 2) : strlen(arg + 2);
		if (!allowed_opt(allowed, arg + 2, len))
			return ca_usage_error(usage, "ca %s: unknown option "
			    "%.*s", argv[0], (int)len + 2, arg);
		if ((len == 4 && strncmp(arg + 2, "json", 4) == 0) ||
		    (len == 7 && strncmp(arg + 2, "encrypt", 7) == 0)) {
			if (eq != NULL)
				return ca_usage_error(usage, "ca %s: %.*s "
				    "takes no value", argv[0], (int)len + 2,
				    arg);
			if (len == 4)
				a->json = 1;
			else
				a->encrypt = 1;
			continue;
		}
		if (eq != NULL)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		else
			return ca_usage_error(usage, "ca %s: %s needs a value",
			    argv[0], arg);
		for (k = 0; k < sizeof(with_value) / sizeof(*with_value); k++)
			if (strlen(with_value[k]) == len &&
			    strncmp(with_value[k], arg + 2, len) == 0)
				break;
		switch (k) {
		case 0: a->name = val; break;
		case 1: a->days = val; break;
		case 2: a->hours = val; break;
		case 3: a->key = val; break;
		case 4: a->csr = val; break;
		case 5: a->out = val; break;
		default:
			if (a->ngroups == CA_GROUPS_MAX)
				return ca_usage_error(usage, "ca %s: more "
				    "than %d groups", argv[0], CA_GROUPS_MAX);
			a->groups[a->ngroups++] = val;
			break;
		}
	}
	return 0;
}

int
ca_check_key_kind(const char *sub, const char *kind, const char *usage)
{
	char shown[CA_SHOWN_MAX];

	if (kind == NULL || strcmp(kind, "ecdsa") == 0 ||
	    strcmp(kind, "ed25519") == 0 || strcmp(kind, "rsa") == 0)
		return 0;
	return ca_usage_error(usage, "ca %s: --key must be ecdsa, ed25519 or "
	    "rsa, not %s", sub, ca_shown(kind, shown, sizeof(shown)));
}

const char *
ca_shown(const char *s, char *buf, size_t len)
{
	struct sbuf b;

	sbuf_fixed(&b, buf, len);
	sbuf_quoted(&b, s, len / 4, SBUF_C);
	sbuf_add(&b, "", 1);
	if (b.failed && len > 0)
		buf[len - 1] = '\0';
	return buf;
}

/* The files of a CA: init refuses a directory holding any of them. */
static const char *const ca_files[] = { "ca.key", "ca.pem", "index.txt",
    "crl.pem" };

static int
holds_ca(const char *dir, char *err, size_t errlen)
{
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(ca_files) / sizeof(*ca_files); i++) {
		castore_path(dir, ca_files[i], path, sizeof(path));
		if (access(path, F_OK) == 0 || errno != ENOENT) {
			snprintf(err, errlen, "%s already holds a CA (%s): "
			    "not replaced", dir, path);
			return 1;
		}
	}
	return 0;
}

/* Writes a new CRL for s into DIR/crl.pem. Returns 0, or -1 with err. */
static int
write_crl(struct castore *s, long secs, X509_CRL **made, char *err,
    size_t errlen)
{
	char path[PATH_MAX], *pem;
	X509_CRL *crl;
	size_t len = 0;
	int rc = -1;

	crl = casign_crl(s->cert, s->key, &s->index, s->crl, secs, err,
	    errlen);
	if (crl == NULL)
		return -1;
	castore_path(s->dir, "crl.pem", path, sizeof(path));
	if ((pem = castore_pem_crl(crl, &len)) == NULL)
		snprintf(err, errlen, "%s: out of memory", path);
	else
		rc = castore_write(path, pem, len, 0644, 1, err, errlen);
	free(pem);
	if (rc == 0 && made != NULL)
		*made = crl;
	else
		X509_CRL_free(crl);
	return rc;
}

/* Says a CRL's number and next update on stdout. */
static void
print_crl(const char *dir, X509_CRL *crl)
{
	ASN1_INTEGER *num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL,
	    NULL);
	int n = sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl));
	char when[32];

	caindex_time(casign_time(X509_CRL_get0_nextUpdate(crl)), when,
	    sizeof(when));
	printf("%s/crl.pem: CRL number %ld, %d revoked, next update %s\n",
	    dir, num != NULL ? ASN1_INTEGER_get(num) : 0L,
	    n > 0 ? n : 0, when);
	ASN1_INTEGER_free(num);
}

static int
ca_init(int argc, char **argv)
{
	const char *usage = CA_USAGE_INIT, *name, *dir;
	char shown[CA_SHOWN_MAX], pass[CAPASS_MAX], prompt[PATH_MAX + 64];
	char err[CA_ERR_MAX], path[PATH_MAX], *pem = NULL;
	const char *written[4];
	size_t nwritten = 0, len = 0, i;
	struct castore s;
	struct ca_args a;
	long secs;
	int rc;

	err[0] = '\0';
	if ((rc = ca_parse(argc, argv, "name,days,key,encrypt", usage,
	    &a)) != 0)
		return rc;
	if (a.npos != 1)
		return ca_usage_error(usage, "ca init: give one DIR");
	dir = a.pos[0];
	name = a.name != NULL ? a.name : "sshgate CA";
	if (caname_check(name) != NULL)
		return ca_usage_error(usage, "ca init: --name %s %s",
		    ca_shown(name, shown, sizeof(shown)), caname_check(name));
	if (caname_period(&ca_period, a.days, NULL, &secs, err,
	    sizeof(err)) == -1)
		return ca_usage_error(usage, "ca init: %s", err);
	if ((rc = ca_check_key_kind("init", a.key, usage)) != 0)
		return rc;
	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		ca_say("init", "cannot make %s: %s", dir, strerror(errno));
		return 1;
	}
	memset(&s, 0, sizeof(s));
	caindex_init(&s.index);
	if (castore_lock(&s, dir, 1, err, sizeof(err)) == -1 ||
	    holds_ca(dir, err, sizeof(err))) {
		ca_say("init", "%s", err);
		castore_close(&s);
		return 1;
	}
	rc = 1;
	if (a.encrypt) {
		snprintf(prompt, sizeof(prompt), "New passphrase for "
		    "%s/ca.key: ", dir);
		if (capass_get(prompt, 1, pass, sizeof(pass), err,
		    sizeof(err)) == -1)
			goto out;
	}
	if ((s.key = casign_new_key(a.key != NULL ? a.key : "ecdsa")) == NULL) {
		snprintf(err, sizeof(err), "cannot make a key");
		goto out;
	}
	if ((s.cert = casign_ca(s.key, name, secs, err, sizeof(err))) == NULL)
		goto out;
	castore_path(dir, "certs", path, sizeof(path));
	if (mkdir(path, 0755) == -1 && errno != EEXIST) {
		snprintf(err, sizeof(err), "cannot make %s: %s", path,
		    strerror(errno));
		goto out;
	}
	/* the key last: a directory without it is no CA to refuse next time */
	if (castore_save_index(&s, err, sizeof(err)) == -1)
		goto out;
	written[nwritten++] = "index.txt";
	if (write_crl(&s, crl_period.def, NULL, err, sizeof(err)) == -1)
		goto out;
	written[nwritten++] = "crl.pem";
	castore_path(dir, "ca.pem", path, sizeof(path));
	if ((pem = castore_pem_cert(s.cert, &len)) == NULL ||
	    castore_write(path, pem, len, 0644, 0, err, sizeof(err)) == -1)
		goto out;
	written[nwritten++] = "ca.pem";
	free(pem);
	castore_path(dir, "ca.key", path, sizeof(path));
	if ((pem = castore_pem_key(s.key, a.encrypt ? pass : NULL,
	    &len)) == NULL ||
	    castore_write(path, pem, len, 0600, 0, err, sizeof(err)) == -1)
		goto out;
	written[nwritten++] = "ca.key";
	printf("%s: a new CA, \"%s\" (%s key):\n"
	    "  %s/ca.pem   the CA certificate: the gateway's client-ca, "
	    "'sshgate connect --ca'\n"
	    "  %s/crl.pem  its CRL: the gateway's crl\n"
	    "  %s/ca.key   its private key (0600%s): keep it secret\n",
	    dir, name, a.key != NULL ? a.key : "ecdsa", dir, dir, dir,
	    a.encrypt ? ", encrypted" : "");
	rc = 0;
out:
	OPENSSL_cleanse(pass, sizeof(pass));
	if (pem != NULL) {
		OPENSSL_cleanse(pem, len);
		free(pem);
	}
	if (rc != 0) {
		ca_say("init", "%s", err[0] != '\0' ? err : "out of memory");
		for (i = 0; i < nwritten; i++) {
			castore_path(dir, written[i], path, sizeof(path));
			unlink(path);
		}
	}
	castore_close(&s);
	return rc;
}

/* A CRL as long-lived as prev was, else the default. */
static long
crl_secs_like(const X509_CRL *prev)
{
	time_t last, next;

	if (prev == NULL)
		return crl_period.def;
	last = casign_time(X509_CRL_get0_lastUpdate(prev));
	next = casign_time(X509_CRL_get0_nextUpdate(prev));
	if (last == 0 || next <= last || next - last > crl_period.max_days *
	    86400L)
		return crl_period.def;
	return (long)(next - last);
}

/* Is s all hex digits? */
static int
is_hex(const char *s)
{
	return *s != '\0' && s[strspn(s, "0123456789abcdefABCDEF")] == '\0';
}

/*
 * Marks what `revoke` names: the entry with serial what, else every
 * unexpired client certificate of the user what (a gateway certificate
 * whose CN happens to be that name is no user's: only its serial
 * revokes it). Returns how many, or -1 with err set.
 */
static int
mark_revoked(struct caindex *ix, const char *what, time_t now, char *err,
    size_t errlen)
{
	struct caindex_entry *e = is_hex(what) ? caindex_find(ix, what) : NULL;
	char when[32], shown[CA_SHOWN_MAX];
	size_t i, named = 0, marked = 0;

	if (e != NULL) {
		if (e->revoked) {
			caindex_time(e->revoked_at, when, sizeof(when));
			snprintf(err, errlen, "%s (%s) is already revoked, "
			    "since %s", e->serial, e->name, when);
			return -1;
		}
		e->revoked = 1;
		e->revoked_at = now;
		return 1;
	}
	for (i = 0; i < ix->n; i++) {
		e = &ix->v[i];
		if (e->kind != CAINDEX_CLIENT || strcmp(e->name, what) != 0)
			continue;
		named++;
		if (!e->revoked && e->not_after > now) {
			e->revoked = 1;
			e->revoked_at = now;
			marked++;
		}
	}
	ca_shown(what, shown, sizeof(shown));
	if (named == 0)
		snprintf(err, errlen, "no certificate with the serial or user "
		    "%s in the index", shown);
	else if (marked == 0)
		snprintf(err, errlen, "%s has no certificate left to revoke: "
		    "each is already revoked or expired", shown);
	return marked > 0 ? (int)marked : -1;
}

static int
ca_revoke(int argc, char **argv)
{
	const char *usage = CA_USAGE_REVOKE;
	char err[CA_ERR_MAX], *before = NULL;
	X509_CRL *crl = NULL;
	struct castore s;
	struct ca_args a;
	time_t now = time(NULL);
	size_t i;
	int rc, n;

	if ((rc = ca_parse(argc, argv, "", usage, &a)) != 0)
		return rc;
	if (a.npos != 2)
		return ca_usage_error(usage, "ca revoke: give DIR and one "
		    "SERIAL or USER");
	if (castore_open(&s, a.pos[0], 1, 1, err, sizeof(err)) == -1) {
		ca_say("revoke", "%s", err);
		return 1;
	}
	rc = 1;
	if ((before = caindex_format(&s.index)) == NULL) {
		snprintf(err, sizeof(err), "out of memory");
		goto out;
	}
	if ((n = mark_revoked(&s.index, a.pos[1], now, err,
	    sizeof(err))) == -1)
		goto out;
	/* the index first: a CRL is always made from it, never the reverse */
	if (castore_save_index(&s, err, sizeof(err)) == -1)
		goto out;
	if (write_crl(&s, crl_secs_like(s.crl), &crl, err, sizeof(err)) == -1) {
		char path[PATH_MAX], e2[256];

		castore_path(s.dir, "index.txt", path, sizeof(path));
		if (castore_write(path, before, strlen(before), 0644, 1, e2,
		    sizeof(e2)) == -1)
			snprintf(err + strlen(err), sizeof(err) - strlen(err),
			    "; the index records the revocation: run 'sshgate "
			    "ca crl %s'", s.dir);
		goto out;
	}
	for (i = 0; i < s.index.n; i++)
		if (s.index.v[i].revoked && s.index.v[i].revoked_at == now)
			printf("revoked %s (%s)\n", s.index.v[i].serial,
			    s.index.v[i].name);
	print_crl(s.dir, crl);
	printf("give the gateway the new CRL: sshgate ctl reload (or "
	    "systemctl reload sshgate)\n");
	rc = 0;
out:
	if (rc != 0)
		ca_say("revoke", "%s", err);
	free(before);
	X509_CRL_free(crl);
	castore_close(&s);
	return rc;
}

static int
ca_crl(int argc, char **argv)
{
	const char *usage = CA_USAGE_CRL;
	X509_CRL *crl = NULL;
	struct castore s;
	struct ca_args a;
	char err[CA_ERR_MAX];
	long secs;
	int rc;

	if ((rc = ca_parse(argc, argv, "days", usage, &a)) != 0)
		return rc;
	if (a.npos != 1)
		return ca_usage_error(usage, "ca crl: give one DIR");
	if (caname_period(&crl_period, a.days, NULL, &secs, err,
	    sizeof(err)) == -1)
		return ca_usage_error(usage, "ca crl: %s", err);
	if (castore_open(&s, a.pos[0], 1, 1, err, sizeof(err)) == -1 ||
	    write_crl(&s, secs, &crl, err, sizeof(err)) == -1) {
		ca_say("crl", "%s", err);
		castore_close(&s);
		return 1;
	}
	print_crl(s.dir, crl);
	X509_CRL_free(crl);
	castore_close(&s);
	return 0;
}

static const char *
status_of(const struct caindex_entry *e, time_t now)
{
	return e->revoked ? "revoked" : e->not_after <= now ? "expired" :
	    "valid";
}

static void
list_json(const struct caindex *ix, time_t now)
{
	const struct caindex_entry *e;
	char when[32];
	struct sbuf b;
	size_t i, j;

	sbuf_growing(&b, 256u << 20);
	sbuf_str(&b, "[");
	for (i = 0; i < ix->n; i++) {
		e = &ix->v[i];
		caindex_time(e->not_after, when, sizeof(when));
		sbuf_printf(&b, "%s\n{\"serial\":\"%s\",\"kind\":\"%s\","
		    "\"user\":", i > 0 ? "," : "", e->serial,
		    e->kind == CAINDEX_GATEWAY ? "gateway" : "client");
		sbuf_quoted(&b, e->name, CANAME_MAX, SBUF_JSON);
		sbuf_str(&b, ",\"groups\":[");
		for (j = 0; j < e->ngroups; j++) {
			if (j > 0)
				sbuf_str(&b, ",");
			sbuf_quoted(&b, e->groups[j], CANAME_MAX, SBUF_JSON);
		}
		sbuf_printf(&b, "],\"not_after\":\"%s\",\"status\":\"%s\"",
		    when, status_of(e, now));
		if (e->revoked) {
			caindex_time(e->revoked_at, when, sizeof(when));
			sbuf_printf(&b, ",\"revoked_at\":\"%s\"", when);
		}
		sbuf_str(&b, "}");
	}
	sbuf_str(&b, ix->n > 0 ? "\n]\n" : "]\n");
	if (!b.failed)
		fwrite(b.p, 1, b.len, stdout);
	sbuf_free(&b);
}

static void
list_text(const struct caindex *ix, time_t now)
{
	const struct caindex_entry *e;
	char when[32];
	size_t i, j;

	printf("%-32s  %-7s  %-20s  %-7s  %s\n", "SERIAL", "STATUS",
	    "NOT-AFTER", "KIND", "USER GROUPS");
	for (i = 0; i < ix->n; i++) {
		e = &ix->v[i];
		caindex_time(e->not_after, when, sizeof(when));
		printf("%-32s  %-7s  %-20s  %-7s  %s ", e->serial,
		    status_of(e, now), when, e->kind == CAINDEX_GATEWAY ?
		    "gateway" : "client", e->name);
		for (j = 0; j < e->ngroups; j++)
			printf("%s%s", j > 0 ? "," : "", e->groups[j]);
		printf("%s\n", e->ngroups == 0 ? "-" : "");
	}
}

static int
ca_list(int argc, char **argv)
{
	const char *usage = CA_USAGE_LIST;
	struct castore s;
	struct ca_args a;
	char err[CA_ERR_MAX];
	int rc;

	if ((rc = ca_parse(argc, argv, "json", usage, &a)) != 0)
		return rc;
	if (a.npos != 1)
		return ca_usage_error(usage, "ca list: give one DIR");
	if (castore_open(&s, a.pos[0], 0, 0, err, sizeof(err)) == -1) {
		ca_say("list", "%s", err);
		return 1;
	}
	if (a.json)
		list_json(&s.index, time(NULL));
	else
		list_text(&s.index, time(NULL));
	castore_close(&s);
	return fflush(stdout) == 0 ? 0 : 1;
}

static const struct ca_sub {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage;
} subs[] = {
	{ "init", ca_init, CA_USAGE_INIT },
	{ "issue", ca_issue, CA_USAGE_ISSUE },
	{ "request", ca_request, CA_USAGE_REQUEST },
	{ "gateway", ca_gateway, CA_USAGE_GATEWAY },
	{ "revoke", ca_revoke, CA_USAGE_REVOKE },
	{ "crl", ca_crl, CA_USAGE_CRL },
	{ "list", ca_list, CA_USAGE_LIST },
};

int
ca_main(int argc, char **argv)
{
	char shown[CA_SHOWN_MAX];
	size_t i;
	int k;

	if (argc < 2) {
		fprintf(stderr, "usage: %s\n", CA_USAGE);
		return 2;
	}
	for (i = 0; i < sizeof(subs) / sizeof(*subs); i++) {
		if (strcmp(argv[1], subs[i].name) != 0)
			continue;
		for (k = 2; k < argc && strcmp(argv[k], "--") != 0; k++)
			if (strcmp(argv[k], "--help") == 0 ||
			    strcmp(argv[k], "-h") == 0) {
				printf("usage: %s\n", subs[i].usage);
				return 0;
			}
		return subs[i].run(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		printf("usage: %s\n", CA_USAGE);
		return 0;
	}
	return ca_usage_error(CA_USAGE, "ca: unknown subcommand %s",
	    ca_shown(argv[1], shown, sizeof(shown)));
}
