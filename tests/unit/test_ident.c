/*
 * Unit tests: client identity from a certificate (ident.c), with
 * subjects made here that no CA would sign: NUL bytes, huge values,
 * many OUs, BMP and T61 strings.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/asn1.h>
#include <openssl/x509.h>

#include "core/ident.h"

static X509 *
cert_with(X509_NAME *subj, long serial)
{
	X509 *x = X509_new();

	assert_non_null(x);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_set_subject_name(x, subj);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_NAME_free(subj);
	return x;
}

static void
add(X509_NAME *n, int nid, int type, const void *bytes, size_t len)
{
	assert_int_equal(X509_NAME_add_entry_by_NID(n, nid, type,
	    (const unsigned char *)bytes, (int)len, -1, 0), 1);
}

static void
plain_user_and_groups(void **state)
{
	X509_NAME *n = X509_NAME_new();
	struct ident id;
	X509 *x;

	(void)state;
	add(n, NID_commonName, MBSTRING_UTF8, "alice", 5);
	add(n, NID_organizationalUnitName, MBSTRING_UTF8, "ops", 3);
	add(n, NID_organizationalUnitName, MBSTRING_UTF8, "a,b\\c", 5);
	x = cert_with(n, 0x1234);
	assert_int_equal(ident_get(x, &id), IDENT_OK);
	assert_string_equal(id.user, "alice");
	assert_string_equal(id.user_shown, "alice");
	assert_int_equal(id.ngroups, 2);
	assert_string_equal(id.groups[1], "a,b\\c");
	assert_string_equal(id.groups_text, "ops,a\\,b\\\\c");
	assert_string_equal(id.serial, "1234");
	assert_non_null(strstr(id.subject, "CN=alice"));
	assert_true(id.not_after > 0);
	ident_free(&id);
	X509_free(x);
}

/* The crash found by attack: a NUL, then a long tail. */
static void
nul_in_cn(void **state)
{
	static char cn[20002];
	X509_NAME *n = X509_NAME_new();
	struct ident id;
	X509 *x;

	(void)state;
	memset(cn, 'B', sizeof(cn));
	cn[0] = 'a';
	cn[1] = '\0';
	add(n, NID_commonName, V_ASN1_UTF8STRING, cn, sizeof(cn));
	x = cert_with(n, 1);
	assert_int_equal(ident_get(x, &id), IDENT_TOO_LARGE);
	assert_null(id.user);
	assert_int_equal(strlen(id.user_shown), IDENT_VALUE_MAX);
	assert_memory_equal(id.user_shown, "a?BBB", 5);
	ident_free(&id);
	X509_free(x);

	n = X509_NAME_new();
	add(n, NID_commonName, V_ASN1_UTF8STRING, "admin\0evil", 10);
	add(n, NID_organizationalUnitName, V_ASN1_UTF8STRING, "ops\0x", 5);
	add(n, NID_organizationalUnitName, V_ASN1_UTF8STRING, "dev", 3);
	x = cert_with(n, 2);
	assert_int_equal(ident_get(x, &id), IDENT_OK);
	assert_null(id.user);		/* matches no rule by name */
	assert_string_equal(id.user_shown, "admin?evil");
	assert_int_equal(id.ngroups, 1);	/* the NUL OU is left out */
	assert_string_equal(id.groups[0], "dev");
	assert_non_null(strstr(id.subject, "admin\\00evil"));
	ident_free(&id);
	X509_free(x);
}

static void
too_many_ous(void **state)
{
	X509_NAME *n = X509_NAME_new();
	struct ident id;
	char g[16];
	int i;
	X509 *x;

	(void)state;
	add(n, NID_commonName, MBSTRING_UTF8, "olga", 4);
	for (i = 0; i <= IDENT_GROUPS_MAX; i++) {
		snprintf(g, sizeof(g), "g%d", i);
		add(n, NID_organizationalUnitName, MBSTRING_UTF8, g, strlen(g));
	}
	x = cert_with(n, 3);
	assert_int_equal(ident_get(x, &id), IDENT_TOO_LARGE);
	ident_free(&id);
	X509_free(x);
}

static void
other_string_types(void **state)
{
	/* "j\u00fcrgen" as BMPString (UTF-16BE), T61 (Latin-1) OU */
	static const unsigned char bmp[] = { 0, 'j', 0, 0xfc, 0, 'r', 0, 'g',
	    0, 'e', 0, 'n' };
	static const unsigned char t61[] = { 'd', 0xe9, 'v' };
	X509_NAME *n = X509_NAME_new();
	struct ident id;
	X509 *x;

	(void)state;
	add(n, NID_commonName, V_ASN1_BMPSTRING, bmp, sizeof(bmp));
	add(n, NID_organizationalUnitName, V_ASN1_T61STRING, t61, sizeof(t61));
	x = cert_with(n, 4);
	assert_int_equal(ident_get(x, &id), IDENT_OK);
	assert_string_equal(id.user, "j\xc3\xbcrgen");
	assert_string_equal(id.groups[0], "d\xc3\xa9v");
	ident_free(&id);
	X509_free(x);
}

static void
empty_subject_and_huge_serial(void **state)
{
	X509_NAME *n = X509_NAME_new();
	unsigned char big[200];
	BIGNUM *bn;
	struct ident id;
	X509 *x;

	(void)state;
	x = cert_with(n, 5);
	memset(big, 0xab, sizeof(big));
	bn = BN_bin2bn(big, sizeof(big), NULL);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	assert_int_equal(ident_get(x, &id), IDENT_OK);
	assert_null(id.user);
	assert_null(id.user_shown);
	assert_int_equal(id.ngroups, 0);
	assert_string_equal(id.groups_text, "");
	assert_int_equal(strlen(id.serial), IDENT_SERIAL_MAX);
	ident_free(&id);
	ident_free(&id);	/* twice is harmless */
	X509_free(x);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plain_user_and_groups),
		cmocka_unit_test(nul_in_cn),
		cmocka_unit_test(too_many_ous),
		cmocka_unit_test(other_string_types),
		cmocka_unit_test(empty_subject_and_huge_serial),
	};

	return cmocka_run_group_tests_name("ident", tests, NULL, NULL);
}
