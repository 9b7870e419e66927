/*
 * Unit tests of certfile: a served chain read from bytes and files — PEM
 * in order, one DER certificate, and every bad input check-cert must
 * refuse with words and without a crash: private keys (PEM of each kind,
 * PKCS#12) never echoed, other PEM blocks, garbage, trailing bytes,
 * unreadable, non-regular and oversized files. Certificates are made here
 * with the OpenSSL C API from the fixed test keys (tests/data/trust).
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "certfile.h"

#define KEYS TEST_DATA_DIR "/trust/"

static EVP_PKEY *leaf_key, *ca_key;
static X509 *leaf, *ca;
static char dir[] = "/tmp/test-certfile-XXXXXX";

/* Load a fixed key. */
static EVP_PKEY *
key_load(const char *name)
{
	EVP_PKEY *key;
	FILE *fp = fopen(name, "r");

	assert_non_null(fp);
	key = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(key);
	return key;
}

/* A certificate with common name cn for key, signed by ikey. */
static X509 *
cert_make(const char *cn, EVP_PKEY *key, const char *issuer, EVP_PKEY *ikey)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new(), *in = X509_NAME_new();

	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_NAME_add_entry_by_txt(in, "CN", MBSTRING_UTF8,
	    (const unsigned char *)issuer, -1, -1, 0);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, in);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	assert_true(X509_sign(x, ikey, EVP_sha256()) > 0);
	X509_NAME_free(n);
	X509_NAME_free(in);
	return x;
}

/* The PEM text of a certificate, or of a key (caller frees). */
static char *
pem_of(X509 *x, EVP_PKEY *key)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p, *out;
	long n;

	if (x != NULL)
		PEM_write_bio_X509(b, x);
	else
		PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL);
	n = BIO_get_mem_data(b, &p);
	out = strndup(p, (size_t)n);
	BIO_free(b);
	return out;
}

/* Write bytes to a file of the test directory; return its path. */
static char *
file_put(const char *name, const void *data, size_t len)
{
	static char path[256];
	FILE *fp;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	fclose(fp);
	return path;
}

/* Parse text; return the status and keep the chain in *chain. */
static enum certfile_status
parse(const char *text, STACK_OF(X509) **chain, char **cause)
{
	return certfile_parse((const unsigned char *)text, strlen(text), chain,
	    cause);
}

static int
setup(void **state)
{
	assert_non_null(mkdtemp(dir));
	leaf_key = key_load(KEYS "leaf.key");
	ca_key = key_load(KEYS "fe-ca.key");
	ca = cert_make("Issuing CA for contoso,com", ca_key,
	    "Issuing CA for contoso,com", ca_key);
	leaf = cert_make("casarray.contoso.com", leaf_key,
	    "Issuing CA for contoso,com", ca_key);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[300];

	X509_free(leaf);
	X509_free(ca);
	EVP_PKEY_free(leaf_key);
	EVP_PKEY_free(ca_key);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A PEM chain keeps its order, with text around the blocks. */
static void
test_pem_chain(void **state)
{
	char *a = pem_of(leaf, NULL), *b = pem_of(ca, NULL), *text;
	STACK_OF(X509) *chain;
	char *cause;

	assert_true(
	    asprintf(&text, "subject=casarray\n%s\nissuer\n%s", a, b) > 0);
	assert_int_equal(parse(text, &chain, &cause), CERTFILE_OK);
	assert_null(cause);
	assert_int_equal(sk_X509_num(chain), 2);
	assert_int_equal(X509_cmp(sk_X509_value(chain, 0), leaf), 0);
	assert_int_equal(X509_cmp(sk_X509_value(chain, 1), ca), 0);
	sk_X509_pop_free(chain, X509_free);
	free(text);
	free(a);
	free(b);
}

/* One DER certificate, as Windows exports a .cer; trailing bytes refused. */
static void
test_der(void **state)
{
	unsigned char *der = NULL, *more;
	STACK_OF(X509) *chain;
	char *cause;
	int n = i2d_X509(leaf, &der);

	assert_true(n > 0);
	assert_int_equal(certfile_parse(der, (size_t)n, &chain, &cause),
	    CERTFILE_OK);
	assert_int_equal(sk_X509_num(chain), 1);
	sk_X509_pop_free(chain, X509_free);
	more = malloc((size_t)n + 4);
	memcpy(more, der, (size_t)n);
	memcpy(more + n, "junk", 4);
	assert_int_equal(certfile_parse(more, (size_t)n + 4, &chain, &cause),
	    CERTFILE_NOT_CHAIN);
	assert_null(chain);
	assert_non_null(strstr(cause, "follows"));
	free(cause);
	free(more);
	OPENSSL_free(der);
}

/*
 * A private key anywhere (before, after, encrypted, broken) refuses the
 * file, and the message holds nothing of the key.
 */
static void
test_private_key(void **state)
{
	char *cert = pem_of(leaf, NULL), *key = pem_of(NULL, leaf_key), *text;
	char broken[] = "-----BEGIN RSA PRIVATE KEY-----\nnot base64\n";
	STACK_OF(X509) *chain;
	char *cause, b64[41];
	size_t i;

	/* A line of the key's base64: it must appear nowhere. */
	memcpy(b64, strchr(key, '\n') + 1, 40);
	b64[40] = '\0';
	for (i = 0; i < 2; i++) {
		assert_true(asprintf(&text, "%s%s", i == 0 ? cert : key,
		                i == 0 ? key : cert) > 0);
		assert_int_equal(parse(text, &chain, &cause),
		    CERTFILE_PRIVATE_KEY);
		assert_null(chain);
		assert_non_null(strstr(cause, "private key"));
		assert_null(strstr(cause, b64));
		free(cause);
		free(text);
	}
	assert_true(asprintf(&text, "%s%s", cert, broken) > 0);
	assert_int_equal(parse(text, &chain, &cause), CERTFILE_PRIVATE_KEY);
	free(cause);
	free(text);
	free(cert);
	free(key);
}

/* A PKCS#12 bundle carries the key: refused, not opened. */
static void
test_pkcs12(void **state)
{
	PKCS12 *p12 =
	    PKCS12_create("pw", "ews", leaf_key, leaf, NULL, 0, 0, 0, 0, 0);
	unsigned char *der = NULL;
	STACK_OF(X509) *chain;
	char *cause;
	int n;

	assert_non_null(p12);
	n = i2d_PKCS12(p12, &der);
	assert_true(n > 0);
	assert_int_equal(certfile_parse(der, (size_t)n, &chain, &cause),
	    CERTFILE_PRIVATE_KEY);
	assert_non_null(strstr(cause, "-nokeys"));
	free(cause);
	OPENSSL_free(der);
	PKCS12_free(p12);
}

/* Not a chain: garbage, empty, another PEM block, a broken block. */
static void
test_not_chain(void **state)
{
	char *cert = pem_of(leaf, NULL), *text;
	STACK_OF(X509) *chain;
	char *cause;

	assert_int_equal(parse("hello\n", &chain, &cause), CERTFILE_NOT_CHAIN);
	assert_non_null(strstr(cause, "no certificate"));
	free(cause);
	assert_int_equal(parse("", &chain, &cause), CERTFILE_NOT_CHAIN);
	free(cause);
	assert_int_equal(parse("-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n"
	                       "-----END CERTIFICATE REQUEST-----\n",
	                     &chain, &cause),
	    CERTFILE_NOT_CHAIN);
	assert_non_null(strstr(cause, "CERTIFICATE REQUEST"));
	free(cause);
	assert_true(asprintf(&text,
	                "%s-----BEGIN CERTIFICATE-----\nAAAA\n"
	                "-----END CERTIFICATE-----\n",
	                cert) > 0);
	assert_int_equal(parse(text, &chain, &cause), CERTFILE_NOT_CHAIN);
	assert_non_null(strstr(cause, "block 2"));
	assert_null(chain);
	free(cause);
	free(text);
	free(cert);
}

/* Files: read, missing, a directory, too large. */
static void
test_files(void **state)
{
	char *cert = pem_of(leaf, NULL), *big;
	STACK_OF(X509) *chain;
	char *cause;

	assert_int_equal(certfile_read(file_put("ok.pem", cert, strlen(cert)),
	                     &chain, &cause),
	    CERTFILE_OK);
	sk_X509_pop_free(chain, X509_free);
	assert_int_equal(certfile_read("/nonexistent/x.pem", &chain, &cause),
	    CERTFILE_UNREADABLE);
	assert_non_null(strstr(cause, "cannot open"));
	free(cause);
	assert_int_equal(certfile_read(dir, &chain, &cause),
	    CERTFILE_UNREADABLE);
	free(cause);
	big = calloc(1, CERTFILE_MAX_BYTES + 10);
	memset(big, 'A', CERTFILE_MAX_BYTES + 10);
	assert_int_equal(certfile_read(file_put("big.pem", big,
	                                   CERTFILE_MAX_BYTES + 10),
	                     &chain, &cause),
	    CERTFILE_UNREADABLE);
	assert_non_null(strstr(cause, "larger"));
	free(cause);
	free(big);
	free(cert);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pem_chain),
	    cmocka_unit_test(test_der),
	    cmocka_unit_test(test_private_key),
	    cmocka_unit_test(test_pkcs12),
	    cmocka_unit_test(test_not_chain),
	    cmocka_unit_test(test_files),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
