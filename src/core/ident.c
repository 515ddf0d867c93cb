#include "core/ident.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>

/*
 * The entry's text as UTF-8 with its length (any ASN.1 string type;
 * NUL bytes kept), or NULL if it cannot be converted. Caller frees.
 */
static char *
entry_utf8(X509_NAME_ENTRY *e, size_t *len)
{
	unsigned char *u = NULL;
	char *s;
	int n;

	if ((n = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(e))) < 0)
		return NULL;
	if ((s = malloc((size_t)n + 1)) != NULL) {
		memcpy(s, u, (size_t)n);
		s[n] = '\0';
		*len = (size_t)n;
	}
	OPENSSL_free(u);
	return s;
}

/* The CN for the log: at most IDENT_VALUE_MAX bytes, NULs as '?'. */
static char *
shown(const char *s, size_t len)
{
	size_t k, n = len < IDENT_VALUE_MAX ? len : IDENT_VALUE_MAX;
	char *out = malloc(n + 1);

	if (out == NULL)
		return NULL;
	for (k = 0; k < n; k++)
		out[k] = s[k] != '\0' ? s[k] : '?';
	out[n] = '\0';
	return out;
}

static int
subject_text(X509_NAME *subj, struct ident *id)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;
	int rc = -1;

	/* escapes control bytes (NUL as \00) and keeps UTF-8 as it is */
	if (b != NULL && X509_NAME_print_ex(b, subj, 0, XN_FLAG_RFC2253 &
	    ~XN_FLAG_DN_REV & ~ASN1_STRFLGS_ESC_MSB) >= 0 &&
	    (n = BIO_get_mem_data(b, &p)) >= 0) {
		if ((size_t)n > 4 * IDENT_VALUE_MAX)
			n = 4 * IDENT_VALUE_MAX;	/* the log cuts it anyway */
		if ((id->subject = malloc((size_t)n + 1)) != NULL) {
			if (n > 0)
				memcpy(id->subject, p, (size_t)n);
			id->subject[n] = '\0';
			rc = 0;
		}
	}
	BIO_free(b);
	return rc;
}

static int
groups_text(struct ident *id)
{
	size_t i, k = 0, tl = 1;
	const char *s;

	for (i = 0; i < id->ngroups; i++)
		tl += 2 * strlen(id->groups[i]) + 1;
	if ((id->groups_text = malloc(tl)) == NULL)
		return -1;
	for (i = 0; i < id->ngroups; i++) {
		if (i > 0)
			id->groups_text[k++] = ',';
		for (s = id->groups[i]; *s != '\0'; s++) {
			if (*s == ',' || *s == '\\')
				id->groups_text[k++] = '\\';
			id->groups_text[k++] = *s;
		}
	}
	id->groups_text[k] = '\0';
	return 0;
}

static void
serial_text(X509 *cert, struct ident *id)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	char *hex;

	if (bn != NULL && (hex = BN_bn2hex(bn)) != NULL) {
		size_t n = strlen(hex);

		if (n > IDENT_SERIAL_MAX)
			n = IDENT_SERIAL_MAX;
		memcpy(id->serial, hex, n);
		id->serial[n] = '\0';
		OPENSSL_free(hex);
	}
	BN_free(bn);
}

enum ident_status
ident_get(X509 *cert, struct ident *id)
{
	X509_NAME *subj = X509_get_subject_name(cert);
	const ASN1_TIME *na = X509_get0_notAfter(cert);
	enum ident_status st = IDENT_OK;
	struct tm tm;
	char *s, **v;
	size_t len;
	int pos;

	memset(id, 0, sizeof(*id));
	serial_text(cert, id);
	if (na != NULL && ASN1_TIME_to_tm(na, &tm) == 1)
		id->not_after = timegm(&tm);
	if (subj == NULL)
		return groups_text(id) == 0 ? IDENT_OK : IDENT_NO_MEMORY;
	if (subject_text(subj, id) == -1)
		goto oom;
	/* the user: the first CN; one with a NUL byte can match nothing */
	if ((pos = X509_NAME_get_index_by_NID(subj, NID_commonName, -1)) >= 0 &&
	    (s = entry_utf8(X509_NAME_get_entry(subj, pos), &len)) != NULL) {
		if ((id->user_shown = shown(s, len)) == NULL) {
			free(s);
			goto oom;
		}
		if (len > IDENT_VALUE_MAX)
			st = IDENT_TOO_LARGE;
		if (len > 0 && len <= IDENT_VALUE_MAX &&
		    memchr(s, '\0', len) == NULL)
			id->user = s;
		else
			free(s);
	}
	/* the groups: every OU, in order */
	for (pos = -1; st == IDENT_OK && (pos = X509_NAME_get_index_by_NID(subj,
	    NID_organizationalUnitName, pos)) >= 0;) {
		if ((s = entry_utf8(X509_NAME_get_entry(subj, pos), &len)) ==
		    NULL)
			continue;
		if (len > IDENT_VALUE_MAX || id->ngroups == IDENT_GROUPS_MAX) {
			/* leaving one out could skip a deny rule: refuse */
			free(s);
			st = IDENT_TOO_LARGE;
			break;
		}
		if (len == 0 || memchr(s, '\0', len) != NULL) {
			free(s);
			continue;
		}
		if ((v = realloc(id->groups, (id->ngroups + 1) *
		    sizeof(*v))) == NULL) {
			free(s);
			goto oom;
		}
		id->groups = v;
		v[id->ngroups++] = s;
	}
	if (groups_text(id) == -1)
		goto oom;
	return st;
oom:
	ident_free(id);
	return IDENT_NO_MEMORY;
}

void
ident_free(struct ident *id)
{
	size_t i;

	for (i = 0; i < id->ngroups; i++)
		free(id->groups[i]);
	free(id->groups);
	free(id->groups_text);
	free(id->user);
	free(id->user_shown);
	free(id->subject);
	memset(id, 0, sizeof(*id));
}
