/*
 * libFuzzer harness for chain_evaluate() and explain_verdict(): the input is
 * a small program that builds a presented chain of 0-64 certificates —
 * keys of several types (made once at start), look-alike anchors (the
 * trusted FE CA's DN with another key), odd and huge DNs in every string
 * type, bad and extreme dates, SANs of any bytes, several signature
 * digests and RSA-PSS — each certificate encoded and parsed back as if it
 * came off the wire. The verdict must keep every position inside what it
 * kept, fail a chain longer than it keeps, and its explanation must be one
 * line; nothing may crash, leak or take long (run with -timeout=1).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "textsafe.h"
#include "chain.h"
#include "explain.h"
#include "trustset.h"

/* Stop at the first broken invariant with a clear crash. */
#define CHECK(c) \
	do { \
		if (!(c)) \
			__builtin_trap(); \
	} while (0)

#define FUZZ_MAX_CHAIN 64
#define FUZZ_NOW 1780000000L /* 2026-05-28: fixed, so runs repeat */
#define FUZZ_FE_DN "Issuing CA for contoso,com"

int LLVMFuzzerInitialize(int *, char ***);
int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The input, read front to back; zeros once it is used up. */
struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

static EVP_PKEY *fuzz_keys[8];
static size_t fuzz_nkeys;
static EVP_PKEY *fuzz_root_key, *fuzz_fe_key, *fuzz_look_key;
static X509 *fuzz_root, *fuzz_fe, *fuzz_look;
static struct trustset *fuzz_phone, *fuzz_system;

/* The next byte of input, or 0. */
static uint8_t
fuzz_byte(struct fuzz_in *in)
{
	if (in->n == 0)
		return 0;
	in->n--;
	return *in->p++;
}

/* Up to max bytes of input (the length from the input); *len is set. */
static const uint8_t *
fuzz_take(struct fuzz_in *in, size_t max, size_t *len)
{
	const uint8_t *p;

	*len = fuzz_byte(in) % (max + 1);
	if (*len > in->n)
		*len = in->n;
	p = in->p;
	in->p += *len;
	in->n -= *len;
	return p;
}

/* A key, made once. */
static EVP_PKEY *
fuzz_keygen(const char *type, const char *arg)
{
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *k = NULL;

	if (strcmp(type, "RSA-PSS") == 0) {
		ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
		CHECK(ctx != NULL && EVP_PKEY_keygen_init(ctx) == 1);
		CHECK(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, atoi(arg)) == 1);
		CHECK(EVP_PKEY_generate(ctx, &k) == 1);
		EVP_PKEY_CTX_free(ctx);
	} else if (strcmp(type, "RSA") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, type, (size_t)atoi(arg));
	else if (arg != NULL)
		k = EVP_PKEY_Q_keygen(NULL, NULL, type, arg);
	else
		k = EVP_PKEY_Q_keygen(NULL, NULL, type);
	CHECK(k != NULL);
	return k;
}

/* Sign x with key (md by index; RSA keys may sign with PSS). */
static void
fuzz_sign(X509 *x, EVP_PKEY *key, uint8_t how)
{
	const EVP_MD *mds[] = {EVP_sha256(), EVP_sha1(), EVP_sha384(),
	    EVP_sha512(), EVP_md5(), EVP_sha224()};
	int id = EVP_PKEY_get_base_id(key);
	const EVP_MD *md = mds[how % 6];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx;

	CHECK(ctx != NULL);
	if (id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448)
		md = NULL;
	if (EVP_DigestSignInit(ctx, &pctx, md, NULL, key) == 1) {
		if (id == EVP_PKEY_RSA && (how & 0x80) != 0)
			EVP_PKEY_CTX_set_rsa_padding(pctx,
			    RSA_PKCS1_PSS_PADDING);
		(void)X509_sign_ctx(x, ctx);
	}
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
}

/* One RDN value from the input, in a string type the input picks. */
static void
fuzz_rdn(X509_NAME *name, struct fuzz_in *in, int set)
{
	const int nids[] = {NID_commonName, NID_organizationName,
	    NID_organizationalUnitName, NID_domainComponent, NID_countryName,
	    NID_serialNumber, NID_pkcs9_emailAddress, NID_title};
	const int types[] = {MBSTRING_UTF8, V_ASN1_UTF8STRING, V_ASN1_BMPSTRING,
	    V_ASN1_T61STRING, V_ASN1_IA5STRING, V_ASN1_PRINTABLESTRING,
	    V_ASN1_UNIVERSALSTRING, MBSTRING_ASC};
	uint8_t b = fuzz_byte(in);
	const uint8_t *v;
	size_t len;

	v = fuzz_take(in, 64, &len);
	(void)X509_NAME_add_entry_by_NID(name, nids[b % 8], types[(b >> 3) % 8],
	    v, (int)len, -1, set);
	ERR_clear_error();
}

/*
 * A subject DN: plain, the FE CA's (look-alike), odd, huge, or empty. One
 * huge DN per chain: the time then goes to judging it, not to building 64.
 */
static X509_NAME *
fuzz_name(struct fuzz_in *in, size_t idx, int *huge)
{
	X509_NAME *name = X509_NAME_new();
	uint8_t kind = fuzz_byte(in), count;
	const uint8_t *v;
	char buf[32];
	size_t len, i;

	CHECK(name != NULL);
	switch (kind % 5) {
	case 0:
		snprintf(buf, sizeof buf, "cert %zu", idx);
		X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
		    (const unsigned char *)buf, -1, -1, 0);
		break;
	case 1:
		X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
		    (const unsigned char *)FUZZ_FE_DN, -1, -1, 0);
		break;
	case 2:
		count = fuzz_byte(in) % 9;
		for (i = 0; i < count; i++)
			fuzz_rdn(name, in, (kind & 0x80) != 0 ? 0 : -1);
		break;
	case 3:
		/* Many RDNs of one value: up to 255 of up to 32 bytes. */
		count = fuzz_byte(in);
		v = fuzz_take(in, 32, &len);
		for (i = 0; !*huge && i < count; i++)
			X509_NAME_add_entry_by_NID(name, NID_commonName,
			    V_ASN1_UTF8STRING, v, (int)len, -1, 0);
		*huge = 1;
		break;
	default:
		break;
	}
	ERR_clear_error();
	return name;
}

/* A date: sane, at a boundary, far out, or bytes that are no date. */
static void
fuzz_date(ASN1_TIME *t, struct fuzz_in *in)
{
	const time_t when[] = {FUZZ_NOW - 400 * 86400L, FUZZ_NOW - 86400,
	    FUZZ_NOW + 86400, FUZZ_NOW + 20 * 86400L, FUZZ_NOW + 3650 * 86400L,
	    -631152000L /* 1950 */, 2524607999L /* 2049-12-31 23:59:59 */,
	    2524608000L /* 2050 */, 253402300799L /* 9999-12-31 */, 0, -1};
	uint8_t b = fuzz_byte(in);
	const uint8_t *v;
	size_t len;

	if (b < 0xf0) {
		ASN1_TIME_set(t, when[b % 11]);
		return;
	}
	v = fuzz_take(in, 24, &len);
	(void)ASN1_STRING_set(t, v, (int)len);
	if (b & 1)
		t->type = V_ASN1_GENERALIZEDTIME;
}

/* DNS SANs of any bytes (the conf parser would refuse most of them). */
static void
fuzz_sans(X509 *x, struct fuzz_in *in)
{
	GENERAL_NAMES *gens = GENERAL_NAMES_new();
	GENERAL_NAME *g;
	ASN1_IA5STRING *s;
	uint8_t count = fuzz_byte(in) % 5;
	const uint8_t *v;
	size_t len, i;

	CHECK(gens != NULL);
	for (i = 0; i < count; i++) {
		v = fuzz_take(in, 48, &len);
		g = GENERAL_NAME_new();
		s = ASN1_IA5STRING_new();
		CHECK(g != NULL && s != NULL);
		CHECK(ASN1_STRING_set(s, v, (int)len) == 1);
		GENERAL_NAME_set0_value(g, GEN_DNS, s);
		CHECK(sk_GENERAL_NAME_push(gens, g) > 0);
	}
	(void)X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, 0);
	GENERAL_NAMES_free(gens);
	ERR_clear_error();
}

/* Add one extension by its configuration text. */
static void
fuzz_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);

	if (ext != NULL)
		X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	ERR_clear_error();
}

/*
 * Build certificate idx from the input, signed by itself, a trusted CA,
 * the look-alike, the root, or an earlier one; then encode it and parse
 * it back, as a server's would be. NULL when it does not encode.
 */
static X509 *
fuzz_cert(struct fuzz_in *in, size_t idx, X509 **made, EVP_PKEY **keys,
    int *huge)
{
	uint8_t kb = fuzz_byte(in), ib = fuzz_byte(in), flags = fuzz_byte(in);
	uint8_t how = fuzz_byte(in);
	X509 *x = X509_new(), *issuer, *out;
	X509_NAME *name;
	EVP_PKEY *ikey;
	X509V3_CTX v3;
	unsigned char *der = NULL;
	const unsigned char *p;
	int len;

	CHECK(x != NULL);
	keys[idx] = fuzz_keys[kb % fuzz_nkeys];
	X509_set_version(x, (flags & 0x40) != 0 ? 0 : 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)idx + 1);
	name = fuzz_name(in, idx, huge);
	X509_set_subject_name(x, name);
	X509_NAME_free(name);
	fuzz_date(X509_getm_notBefore(x), in);
	fuzz_date(X509_getm_notAfter(x), in);
	X509_set_pubkey(x, keys[idx]);
	issuer = x, ikey = keys[idx];
	if (ib % 6 == 1)
		issuer = fuzz_fe, ikey = fuzz_fe_key;
	else if (ib % 6 == 2)
		issuer = fuzz_look, ikey = fuzz_look_key;
	else if (ib % 6 == 3)
		issuer = fuzz_root, ikey = fuzz_root_key;
	else if (ib % 6 >= 4 && idx > 0 && made[(ib / 6) % idx] != NULL)
		issuer = made[(ib / 6) % idx], ikey = keys[(ib / 6) % idx];
	/*
	 * The RSA-4096 key only sits in certificates (rsa_key_over_2048):
	 * signing with it would cost more than judging. Its certificates
	 * sign with RSA-1024 instead, so what they issue fails to verify.
	 */
	if (ikey == fuzz_keys[1])
		ikey = fuzz_keys[0];
	X509_set_issuer_name(x, X509_get_subject_name(issuer));
	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	if ((flags & 0x40) == 0) {
		fuzz_ext(x, &v3, NID_basic_constraints,
		    (flags & 1) != 0 ? "critical,CA:TRUE" : "CA:FALSE");
		if ((flags & 2) != 0)
			fuzz_ext(x, &v3, NID_key_usage,
			    (flags & 1) != 0 ? "keyCertSign,cRLSign"
			                     : "digitalSignature");
		if ((flags & 4) != 0)
			fuzz_ext(x, &v3, NID_subject_key_identifier, "hash");
		if ((flags & 8) != 0)
			fuzz_ext(x, &v3, NID_authority_key_identifier, "keyid");
		if ((flags & 0x10) != 0)
			fuzz_ext(x, &v3, NID_ext_key_usage,
			    (flags & 0x80) != 0 ? "clientAuth" : "serverAuth");
		if ((flags & 0x20) != 0)
			fuzz_sans(x, in);
	}
	fuzz_sign(x, ikey, how);
	len = i2d_X509(x, &der);
	X509_free(x);
	ERR_clear_error();
	if (len <= 0)
		return NULL;
	p = der;
	out = d2i_X509(NULL, &p, len);
	OPENSSL_free(der);
	ERR_clear_error();
	return out;
}

/* A CA certificate for the fixed PKI. */
static X509 *
fuzz_ca(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey)
{
	X509 *x = X509_new();
	X509V3_CTX v3;

	CHECK(x != NULL);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1000);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x,
	    X509_get_subject_name(issuer != NULL ? issuer : x));
	ASN1_TIME_set(X509_getm_notBefore(x), FUZZ_NOW - 365 * 86400L);
	ASN1_TIME_set(X509_getm_notAfter(x), FUZZ_NOW + 3650 * 86400L);
	X509_set_pubkey(x, key);
	X509V3_set_ctx(&v3, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	fuzz_ext(x, &v3, NID_basic_constraints, "critical,CA:TRUE");
	fuzz_ext(x, &v3, NID_key_usage, "critical,keyCertSign,cRLSign");
	fuzz_ext(x, &v3, NID_subject_key_identifier, "hash");
	CHECK(X509_sign(x, ikey != NULL ? ikey : key, EVP_sha256()) > 0);
	return x;
}

/*
 * Make the keys (RSA-1024, RSA-PSS, EC on three curves, Ed25519, Ed448;
 * RSA-4096 is a file: making one takes seconds), the
 * fixed PKI (root, FE issuing CA, look-alike with the FE CA's DN), the
 * phone set that learned the FE CA, and a system set trusting the root.
 */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct config_profile p;
	STACK_OF(X509) *pool = sk_X509_new_null();
	char path[] = "/tmp/fuzz-trust-XXXXXX", *cause = NULL;
	int changed, fd;
	FILE *fp;

	fuzz_keys[fuzz_nkeys++] = fuzz_keygen("RSA", "1024");
	fp = fopen(TEST_DATA_DIR "/trust/leaf-4096.key", "r");
	CHECK(fp != NULL);
	fuzz_keys[fuzz_nkeys++] = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	CHECK(fuzz_keys[1] != NULL);
	fclose(fp);
	fuzz_keys[fuzz_nkeys++] = fuzz_keygen("RSA-PSS", "1024");
	fuzz_keys[fuzz_nkeys++] = fuzz_keygen("EC", "P-256");
	fuzz_keys[fuzz_nkeys++] = fuzz_keygen("EC", "P-384");
	fuzz_keys[fuzz_nkeys++] = fuzz_keygen("EC", "secp256k1");
	fuzz_keys[fuzz_nkeys++] = fuzz_keygen("ED25519", NULL);
	fuzz_keys[fuzz_nkeys++] = fuzz_keygen("ED448", NULL);
	fuzz_root_key = fuzz_keygen("RSA", "1024");
	fuzz_fe_key = fuzz_keygen("EC", "P-256");
	fuzz_look_key = fuzz_keygen("EC", "P-256");
	fuzz_root = fuzz_ca("Contoso Root", fuzz_root_key, NULL, NULL);
	fuzz_fe = fuzz_ca(FUZZ_FE_DN, fuzz_fe_key, fuzz_root, fuzz_root_key);
	fuzz_look = fuzz_ca(FUZZ_FE_DN, fuzz_look_key, NULL, NULL);

	memset(&p, 0, sizeof p);
	p.frontend_host = (char *)"lyncpool.contoso.com";
	fuzz_phone = trustset_new_phone(&p, &cause);
	CHECK(fuzz_phone != NULL && pool != NULL);
	/* The pool's certificate (only its issuer counts), then the FE CA. */
	sk_X509_push(pool,
	    fuzz_ca("lyncpool.contoso.com", fuzz_keys[3], fuzz_fe,
	        fuzz_fe_key));
	X509_up_ref(fuzz_fe);
	sk_X509_push(pool, fuzz_fe);
	CHECK(trustset_learn_frontend(fuzz_phone, pool, &changed, &cause) == 0);
	sk_X509_pop_free(pool, X509_free);

	CHECK((fd = mkstemp(path)) >= 0 && (fp = fdopen(fd, "w")) != NULL);
	CHECK(PEM_write_X509(fp, fuzz_root) == 1);
	fclose(fp);
	fuzz_system = trustset_new_system(path, &cause);
	unlink(path);
	CHECK(fuzz_system != NULL);
	return 0;
}

/* The verdict and its explanation hold what they promise. */
static void
fuzz_check(const struct chain_verdict *v, int n)
{
	char *msg, *fix, *safe;
	size_t i;

	CHECK(v != NULL);
	CHECK(v->ncerts == (size_t)(n < 16 ? n : 16));
	CHECK(v->issuer_position < (int)v->ncerts);
	CHECK(v->date_position < (int)v->ncerts);
	for (i = 0; i < v->nfindings; i++)
		CHECK(v->finding_list[i].position < (int)v->ncerts);
	if (v->reason == REASON_OK)
		CHECK(v->phone_trusted && n <= 16 && n > 0);
	if (n > 16)
		CHECK(v->reason == REASON_CERT_INVALID);
	explain_verdict(v, fuzz_phone, "https://ews/EWS/Exchange.asmx",
	    "internal", &msg, &fix);
	CHECK(msg != NULL);
	safe = textsafe(msg);
	CHECK(textsafe_is_safe(safe) && strchr(safe, '\n') == NULL);
	free(safe);
	free(msg);
	free(fix);
}

/* Build one chain from the input and judge it. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	X509 *made[FUZZ_MAX_CHAIN], *x, *extra[3];
	EVP_PKEY *keys[FUZZ_MAX_CHAIN];
	STACK_OF(X509) *sk = sk_X509_new_null();
	struct chain_verdict *v;
	const char *hosts[] = {"casarray.contoso.com", "127.0.0.1",
	    "*.contoso.com", "::1", ""};
	char host[64];
	const uint8_t *hv;
	size_t n, i, len;
	uint8_t order, hb, warn;
	int huge = 0;

	CHECK(sk != NULL);
	n = fuzz_byte(&in) % (FUZZ_MAX_CHAIN + 1);
	order = fuzz_byte(&in);
	hb = fuzz_byte(&in);
	warn = fuzz_byte(&in);
	if (hb < 0xf0)
		snprintf(host, sizeof host, "%s", hosts[hb % 5]);
	else {
		hv = fuzz_take(&in, sizeof host - 1, &len);
		memcpy(host, hv, len);
		host[len] = '\0';
	}
	for (i = 0; i < n; i++)
		made[i] = fuzz_cert(&in, i, made, keys, &huge);
	/* Presented leaf first: the last made, or the input's order. */
	for (i = 0; i < n; i++) {
		x = made[(order & 1) != 0 ? i : n - 1 - i];
		if (x != NULL)
			sk_X509_push(sk, x);
	}
	/* The anchors themselves, sent along (look-alike included). */
	extra[0] = fuzz_look, extra[1] = fuzz_fe, extra[2] = fuzz_root;
	for (i = 0; i < 3 && sk_X509_num(sk) < FUZZ_MAX_CHAIN; i++) {
		if ((order & (2 << i)) != 0) {
			X509_up_ref(extra[i]);
			sk_X509_push(sk, extra[i]);
		}
	}
	v = chain_evaluate(fuzz_phone, (order & 0x10) != 0 ? NULL : fuzz_system,
	    sk, host[0] != '\0' ? host : NULL, FUZZ_NOW, warn);
	fuzz_check(v, sk_X509_num(sk));
	chain_verdict_free(v);
	sk_X509_pop_free(sk, X509_free);
	ERR_clear_error();
	return 0;
}
