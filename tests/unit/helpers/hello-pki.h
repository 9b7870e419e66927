/*
 * hello-pki: the certificates test-hello and test-hellorun present, made
 * at run time with the OpenSSL C API from the fixed RSA keys in
 * tests/data/hello: a CA and a server certificate it issued, and a writer
 * of them as PEM files. Header-only.
 */
#ifndef EWSPROBED_TEST_HELLO_PKI_H
#define EWSPROBED_TEST_HELLO_PKI_H

#include <stdio.h>
#include <stdlib.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

struct hello_pki {
	EVP_PKEY *ca_key;
	EVP_PKEY *key; /* the server's */
	X509 *ca;
	X509 *cert; /* CN=<cn>, issued by ca */
};

/* Load one fixed key from tests/data/hello. */
static EVP_PKEY *
hello_pki_key(const char *name)
{
	char path[512];
	EVP_PKEY *key;
	FILE *fp;

	snprintf(path, sizeof path, "%s/hello/%s", TEST_DATA_DIR, name);
	if ((fp = fopen(path, "r")) == NULL)
		abort();
	key = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	if (key == NULL)
		abort();
	return key;
}

/* One certificate: CN=cn for key, signed by ikey (issuer NULL: self). */
static X509 *
hello_pki_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey,
    int ca, long serial)
{
	X509 *c = X509_new();
	X509_NAME *name = X509_NAME_new();
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509_set_version(c, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c), serial);
	X509_gmtime_adj(X509_getm_notBefore(c), -3600);
	X509_gmtime_adj(X509_getm_notAfter(c), 86400);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(c, name);
	X509_set_issuer_name(c,
	    issuer != NULL ? X509_get_subject_name(issuer) : name);
	X509_set_pubkey(c, key);
	X509V3_set_ctx(&ctx, issuer != NULL ? issuer : c, c, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints,
	    ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	if (ext == NULL || !X509_add_ext(c, ext, -1))
		abort();
	X509_EXTENSION_free(ext);
	if (X509_sign(c, ikey, EVP_sha256()) == 0)
		abort();
	X509_NAME_free(name);
	return c;
}

/* Make the CA and the server certificate for cn. */
static void
hello_pki_make(struct hello_pki *p, const char *cn)
{
	p->ca_key = hello_pki_key("ca.key");
	p->key = hello_pki_key("server.key");
	p->ca =
	    hello_pki_cert("hello test CA", p->ca_key, NULL, p->ca_key, 1, 1);
	p->cert = hello_pki_cert(cn, p->key, p->ca, p->ca_key, 0, 2);
}

/*
 * Write certificate a (and b, when not NULL) as PEM to dir/name. Returns
 * 0, or -1 when the file cannot be written (the caller asserts).
 */
static inline int
hello_pki_write(const char *dir, const char *name, X509 *a, X509 *b)
{
	char path[512];
	FILE *fp;
	int ok;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if ((fp = fopen(path, "w")) == NULL)
		return -1;
	ok = PEM_write_X509(fp, a) == 1 &&
	    (b == NULL || PEM_write_X509(fp, b) == 1);
	return fclose(fp) == 0 && ok ? 0 : -1;
}

/* Free what hello_pki_make made. */
static void
hello_pki_free(struct hello_pki *p)
{
	X509_free(p->cert);
	X509_free(p->ca);
	EVP_PKEY_free(p->key);
	EVP_PKEY_free(p->ca_key);
}

#endif
