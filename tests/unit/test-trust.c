/*
 * Unit tests of the trust modules, which share these fixtures: display DNs
 * (certinfo), trust sets and Front End issuer learning (trustset), verdicts
 * of presented chains under the phone and system sets — reasons,
 * precedence, chain details, findings (chain) — their explanations
 * (explain), and the TLS capture on a real in-process handshake over a
 * socketpair (tlscapture).
 *
 * Every certificate is made here with the OpenSSL C API: the incident's
 * two enterprise PKIs with near-identical issuing CA names, a look-alike
 * CA with exactly the FE CA's DN and another key, and the variants. Keys
 * are fixed files (tests/data/trust: RSA key generation is slow); time is
 * the "now" parameter, nothing sleeps and nothing touches the network.
 */
#include <sys/stat.h>
#include <sys/socket.h>

#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "adpolicy.h"
#include "config.h"
#include "chain.h"
#include "explain.h"
#include "tlscapture.h"
#include "trustset.h"

#define KEYS TEST_DATA_DIR "/trust/"
#define DAY 86400L
#define EWS_HOST "casarray.contoso.com"
#define EWS_URL "https://casarray.contoso.com/EWS/Exchange.asmx"
#define FE_DN "CN=Issuing CA for contoso,com"
#define CAS_DN "CN=Issuing-CA for contoso, DC=contoso, DC=com"

/* How to make one certificate. */
struct spec {
	const char *subject; /* "DC=com/DC=contoso/CN=x", encoded order */
	EVP_PKEY *key;
	X509 *issuer; /* NULL: self-signed */
	EVP_PKEY *ikey; /* the key that signs (normally the issuer's) */
	int ca;
	const char *san; /* "DNS:a,DNS:b" or NULL */
	long nb, na; /* validity, in days from now */
	const EVP_MD *md; /* NULL: SHA-256 */
	int pss; /* sign with RSA-PSS */
	int no_aki; /* no authority key identifier */
};

static time_t now;
static char dir[] = "/tmp/test-trust-XXXXXX";
static long serial = 1;

static struct {
	EVP_PKEY *fe_root, *fe_ca, *cas_root, *cas_ca, *rogue_root;
	EVP_PKEY *lookalike, *sub, *leaf, *leaf4096, *ec;
} k;
static struct {
	X509 *fe_root, *fe_ca, *cas_root, *cas_ca, *rogue_root, *lookalike;
	X509 *sub;
} ca;
static struct trustset *sys_set;

/* Load a fixed key. */
static EVP_PKEY *
key_load(const char *name)
{
	char path[512];
	EVP_PKEY *key;
	FILE *fp;

	snprintf(path, sizeof path, KEYS "%s", name);
	fp = fopen(path, "r");
	assert_non_null(fp);
	key = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(key);
	return key;
}

/* A name from "A=x/B=y" (encoded order: most general first). */
static X509_NAME *
name_make(const char *spec)
{
	X509_NAME *n = X509_NAME_new();
	char *s = strdup(spec), *p, *eq, *save = NULL;

	assert_non_null(n);
	for (p = strtok_r(s, "/", &save); p != NULL;
	     p = strtok_r(NULL, "/", &save)) {
		eq = strchr(p, '=');
		assert_non_null(eq);
		*eq = '\0';
		assert_int_equal(X509_NAME_add_entry_by_txt(n, p, MBSTRING_UTF8,
		                     (unsigned char *)eq + 1, -1, -1, 0),
		    1);
	}
	free(s);
	return n;
}

/* Add one extension by its configuration text. */
static void
ext_add(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);

	assert_non_null(ext);
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
}

/* Make a certificate. */
static X509 *
cert_make(const struct spec *s)
{
	X509 *x = X509_new();
	X509_NAME *subject = name_make(s->subject);
	X509V3_CTX ctx;
	EVP_MD_CTX *mctx;
	EVP_PKEY_CTX *pctx;
	X509 *issuer = s->issuer != NULL ? s->issuer : x;
	EVP_PKEY *ikey = s->ikey != NULL ? s->ikey : s->key;

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_set_subject_name(x, subject);
	X509_set_issuer_name(x,
	    s->issuer != NULL ? X509_get_subject_name(s->issuer) : subject);
	X509_NAME_free(subject);
	ASN1_TIME_set(X509_getm_notBefore(x), now + s->nb * DAY);
	ASN1_TIME_set(X509_getm_notAfter(x), now + s->na * DAY);
	X509_set_pubkey(x, s->key);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	ext_add(x, &ctx, NID_basic_constraints,
	    s->ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	ext_add(x, &ctx, NID_key_usage,
	    s->ca ? "critical,keyCertSign,cRLSign"
	          : "critical,digitalSignature,keyEncipherment");
	ext_add(x, &ctx, NID_subject_key_identifier, "hash");
	if (!s->no_aki)
		ext_add(x, &ctx, NID_authority_key_identifier, "keyid");
	if (!s->ca)
		ext_add(x, &ctx, NID_ext_key_usage, "serverAuth");
	if (s->san != NULL)
		ext_add(x, &ctx, NID_subject_alt_name, s->san);
	mctx = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestSignInit(mctx, &pctx,
	                     s->md != NULL ? s->md : EVP_sha256(), NULL, ikey),
	    1);
	if (s->pss)
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx,
		                     RSA_PKCS1_PSS_PADDING),
		    1);
	assert_true(X509_sign_ctx(x, mctx) > 0);
	EVP_MD_CTX_free(mctx);
	return x;
}

/* A CA certificate. */
static X509 *
ca_make(const char *subject, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey)
{
	struct spec s = {subject, key, issuer, ikey, 1, NULL, -365, 3650, NULL,
	    0, 0};

	return cert_make(&s);
}

/* The usual EWS leaf spec: issued by the FE's CA, valid for a year. */
static struct spec
leaf_spec(void)
{
	struct spec s = {"CN=" EWS_HOST, k.leaf, ca.fe_ca, k.fe_ca, 0,
	    "DNS:" EWS_HOST, -30, 365, NULL, 0, 0};

	return s;
}

/* A chain: leaf (taken over) then the CAs given (up-referenced), NULL. */
static STACK_OF(X509) *
chain_make(X509 *leaf, ...)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	va_list ap;
	X509 *x;

	assert_non_null(sk);
	sk_X509_push(sk, leaf);
	va_start(ap, leaf);
	while ((x = va_arg(ap, X509 *)) != NULL) {
		X509_up_ref(x);
		sk_X509_push(sk, x);
	}
	va_end(ap);
	return sk;
}

/* Free a chain. */
static void
chain_free(STACK_OF(X509) *sk)
{
	sk_X509_pop_free(sk, X509_free);
}

/* Write certificates (NULL-terminated) as PEM to dir/name. */
static const char *
pem_write(const char *name, ...)
{
	static char path[8][256];
	static int slot;
	char *p = path[slot++ % 8];
	va_list ap;
	FILE *fp;
	X509 *x;

	snprintf(p, 256, "%s/%s", dir, name);
	fp = fopen(p, "w");
	assert_non_null(fp);
	va_start(ap, name);
	while ((x = va_arg(ap, X509 *)) != NULL)
		assert_int_equal(PEM_write_X509(fp, x), 1);
	va_end(ap);
	fclose(fp);
	return p;
}

/* Make the two PKIs, the look-alike, and the system set. */
static int
setup(void **unused)
{
	char *cause = NULL;

	now = time(NULL);
	assert_non_null(mkdtemp(dir));
	k.fe_root = key_load("fe-root.key");
	k.fe_ca = key_load("fe-ca.key");
	k.cas_root = key_load("cas-root.key");
	k.cas_ca = key_load("cas-ca.key");
	k.rogue_root = key_load("rogue-root.key");
	k.lookalike = key_load("lookalike-ca.key");
	k.sub = key_load("sub-ca.key");
	k.leaf = key_load("leaf.key");
	k.leaf4096 = key_load("leaf-4096.key");
	k.ec = EVP_EC_gen("P-256");
	assert_non_null(k.ec);

	ca.fe_root = ca_make("CN=Contoso Lync Root", k.fe_root, NULL, NULL);
	ca.fe_ca = ca_make("CN=Issuing CA for contoso,com", k.fe_ca, ca.fe_root,
	    k.fe_root);
	ca.cas_root = ca_make("DC=com/DC=contoso/CN=contoso-ROOT-CA",
	    k.cas_root, NULL, NULL);
	ca.cas_ca = ca_make("DC=com/DC=contoso/CN=Issuing-CA for contoso",
	    k.cas_ca, ca.cas_root, k.cas_root);
	ca.rogue_root = ca_make("CN=Rogue Root", k.rogue_root, NULL, NULL);
	ca.lookalike = ca_make("CN=Issuing CA for contoso,com", k.lookalike,
	    ca.rogue_root, k.rogue_root);
	ca.sub = ca_make("CN=Contoso Web Sub CA", k.sub, ca.fe_ca, k.fe_ca);

	/* PCs trust both enterprise roots. */
	sys_set = trustset_new_system(pem_write("system.pem", ca.fe_root,
	                                  ca.cas_root, NULL),
	    &cause);
	assert_non_null(sys_set);
	return 0;
}

/* Remove one file or directory (nftw callback). */
static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	return remove(path);
}

/* Free everything and remove the files. */
static int
teardown(void **unused)
{
	X509 **xs[] = {&ca.fe_root, &ca.fe_ca, &ca.cas_root, &ca.cas_ca,
	    &ca.rogue_root, &ca.lookalike, &ca.sub};
	EVP_PKEY **ks[] = {&k.fe_root, &k.fe_ca, &k.cas_root, &k.cas_ca,
	    &k.rogue_root, &k.lookalike, &k.sub, &k.leaf, &k.leaf4096, &k.ec};
	size_t i;

	for (i = 0; i < sizeof xs / sizeof *xs; i++)
		X509_free(*xs[i]);
	for (i = 0; i < sizeof ks / sizeof *ks; i++)
		EVP_PKEY_free(*ks[i]);
	trustset_free(sys_set);
	return nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* The Lync pool's chain: its certificate from issuer, and issuer. */
static STACK_OF(X509) *
pool_chain(X509 *issuer, EVP_PKEY *ikey)
{
	struct spec s = {"CN=lyncpool.contoso.com", k.leaf, issuer, ikey, 0,
	    "DNS:lyncpool.contoso.com", -30, 365, NULL, 0, 0};

	return chain_make(cert_make(&s), issuer, NULL);
}

/* A phone set for a profile that learned its FE issuer from the pool. */
static struct trustset *
phone_set(const char *web_trusted)
{
	struct config_profile p;
	struct trustset *set;
	STACK_OF(X509) *fe = pool_chain(ca.fe_ca, k.fe_ca);
	char *cause = NULL, *items[1];
	int changed = -1;

	memset(&p, 0, sizeof p);
	p.frontend_host = (char *)"lyncpool.contoso.com";
	if (web_trusted != NULL) {
		items[0] = (char *)web_trusted;
		p.web_trusted.items = items;
		p.web_trusted.n = 1;
	}
	set = trustset_new_phone(&p, &cause);
	assert_non_null(set);
	assert_int_equal(trustset_learn_frontend(set, fe, &changed, &cause), 0);
	assert_int_equal(changed, 0);
	chain_free(fe);
	return set;
}

/* Judge a chain (freed here) for the EWS host, now. */
static struct chain_verdict *
judge(const struct trustset *phone, STACK_OF(X509) *sk, unsigned int warn)
{
	struct chain_verdict *v;

	v = chain_evaluate(phone, sys_set, sk, EWS_HOST, now, warn);
	chain_free(sk);
	return v;
}

/* The incident's chain: the EWS certificate from the CAS array's CA. */
static STACK_OF(X509) *
incident_chain(void)
{
	struct spec s = leaf_spec();

	s.issuer = ca.cas_ca;
	s.ikey = k.cas_ca;
	return chain_make(cert_make(&s), ca.cas_ca, NULL);
}

/* The healthy chain: reissued from the FE's CA. */
static STACK_OF(X509) *
reissued_chain(void)
{
	struct spec s = leaf_spec();

	return chain_make(cert_make(&s), ca.fe_ca, NULL);
}

/* The explanation as one journal line: "<message> Fix: <remedy>". */
static char *
explain_line(const struct chain_verdict *v, const struct trustset *phone,
    const char *role)
{
	char *msg, *fix, *line;

	explain_verdict(v, phone, EWS_URL, role, &msg, &fix);
	assert_non_null(msg);
	assert_null(strchr(msg, '\n'));
	if (fix == NULL)
		line = msg;
	else {
		assert_int_not_equal(asprintf(&line, "%s Fix: %s", msg, fix),
		    -1);
		free(msg);
		free(fix);
	}
	/* TEST_TRUST_VERBOSE=1 shows every explanation, for review. */
	if (getenv("TEST_TRUST_VERBOSE") != NULL)
		printf("%s: %s\n", reason_name(v->reason), line);
	return line;
}

/* Display DNs: as admins see them, look-alikes never alike. */
static void
test_dn_display(void **unused)
{
	static const struct {
		const char *spec, *shown;
	} cases[] = {
	    {"CN=Issuing CA for contoso,com", FE_DN},
	    {"DC=com/DC=contoso/CN=Issuing-CA for contoso", CAS_DN},
	    /* One RDN whose value looks like the three above. */
	    {"CN=Issuing-CA for contoso, DC=contoso, DC=com",
	        "CN=Issuing-CA for contoso\\, DC=contoso\\, DC=com"},
	    {"C=US/O=Contoso, Ltd/CN= a+b\\c ",
	        "CN=\\ a\\+b\\\\c\\ , O=Contoso\\, Ltd, C=US"},
	    {"CN=line\nbreak", "CN=line\\0Abreak"},
	    {"CN=Zürich CA", "CN=Zürich CA"},
	};
	X509_NAME *n;
	char *s;
	size_t i;

	for (i = 0; i < sizeof cases / sizeof *cases; i++) {
		n = name_make(cases[i].spec);
		s = certinfo_dn(n);
		assert_string_equal(s, cases[i].shown);
		free(s);
		X509_NAME_free(n);
	}
}

/* A copy of x whose last DER byte (in the signature) is flipped. */
static X509 *
cert_tamper(X509 *x)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	X509 *t;
	int len;

	len = i2d_X509(x, &der);
	assert_true(len > 0);
	der[len - 1] ^= 0x01;
	p = der;
	t = d2i_X509(NULL, &p, len);
	assert_non_null(t);
	OPENSSL_free(der);
	return t;
}

/* Whether two descriptions say the same, field by field. */
static int
certinfo_same(const struct certinfo *a, const struct certinfo *b)
{
	size_t i;

	if (strcmp(a->subject, b->subject) != 0 ||
	    strcmp(a->issuer, b->issuer) != 0 ||
	    strcmp(a->serial, b->serial) != 0 ||
	    strcmp(a->sha256, b->sha256) != 0 ||
	    a->not_before != b->not_before || a->not_after != b->not_after ||
	    strcmp(a->key, b->key) != 0 || strcmp(a->sigalg, b->sigalg) != 0 ||
	    a->nsans != b->nsans || a->is_ca != b->is_ca ||
	    a->self_signed != b->self_signed)
		return 0;
	for (i = 0; i < a->nsans; i++) {
		if (strcmp(a->sans[i], b->sans[i]) != 0)
			return 0;
	}
	return 1;
}

/*
 * A certificate described again comes from the table, equal in every
 * field; one whose bytes differ only in the signature is described
 * afresh: its own fingerprint, and a root with a bad signature is not
 * self-signed.
 */
static void
test_describe_cache(void **unused)
{
	struct spec s = leaf_spec();
	struct certinfo a, b, c, r, rt;
	X509 *leaf = cert_make(&s), *bad, *badroot;
	size_t h0, m0, h, m;
	char sha[65];

	certinfo_cache_flush();
	certinfo_cache_stats(&h0, &m0);
	certinfo_describe(leaf, &a);
	certinfo_describe(leaf, &b);
	certinfo_cache_stats(&h, &m);
	assert_int_equal(m - m0, 1);
	assert_int_equal(h - h0, 1);
	assert_true(certinfo_same(&a, &b));
	assert_ptr_not_equal(a.subject, b.subject); /* a copy, not shared */
	assert_string_equal(b.sans[0], EWS_HOST);

	bad = cert_tamper(leaf);
	certinfo_describe(bad, &c);
	certinfo_sha256(bad, sha);
	assert_string_equal(c.sha256, sha);
	assert_string_not_equal(c.sha256, a.sha256);
	assert_string_equal(c.subject, a.subject);
	certinfo_cache_stats(&h, &m);
	assert_int_equal(h - h0, 1);
	assert_int_equal(m - m0, 2);

	certinfo_describe(ca.fe_root, &r);
	assert_true(r.self_signed);
	badroot = cert_tamper(ca.fe_root);
	certinfo_describe(badroot, &rt);
	assert_false(rt.self_signed);
	assert_string_equal(rt.subject, r.subject);

	certinfo_clear(&a);
	certinfo_clear(&b);
	certinfo_clear(&c);
	certinfo_clear(&r);
	certinfo_clear(&rt);
	X509_free(leaf);
	X509_free(bad);
	X509_free(badroot);
	certinfo_cache_flush();
}

/* A copy of x with byte at (from the end) XORed with flip (in the signature). */
static X509 *
cert_flip(X509 *x, int at, unsigned char flip)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	X509 *t;
	int len;

	len = i2d_X509(x, &der);
	assert_true(len > at);
	der[len - 1 - at] ^= flip;
	p = der;
	t = d2i_X509(NULL, &p, len);
	assert_non_null(t);
	OPENSSL_free(der);
	return t;
}

/*
 * Two certificates whose descriptions go to the same set of the table
 * (a leaf and its issuer can: 1 pair in 16) both stay: shown in turn,
 * each is described once, then found every time.
 */
static void
test_describe_cache_same_set(void **unused)
{
	struct spec s = leaf_spec();
	struct certinfo d;
	X509 *a = cert_make(&s), *b = NULL;
	size_t h0, m0, h, m;
	int i, n;

	/* Variants of a differ in a signature byte: find one in a's set. */
	for (n = 1; n < 256 * 8 && b == NULL; n++) {
		b = cert_flip(a, n / 256, (unsigned char)(n % 256));
		if (n % 256 == 0 ||
		    certinfo_cache_set(b) != certinfo_cache_set(a)) {
			X509_free(b);
			b = NULL;
		}
	}
	assert_non_null(b);
	certinfo_cache_flush();
	certinfo_cache_stats(&h0, &m0);
	for (i = 0; i < 6; i++) {
		certinfo_describe(i % 2 == 0 ? a : b, &d);
		certinfo_clear(&d);
	}
	certinfo_cache_stats(&h, &m);
	assert_int_equal(m - m0, 2);
	assert_int_equal(h - h0, 4);
	X509_free(a);
	X509_free(b);
	certinfo_cache_flush();
}

/* Whether two verdicts say the same, field by field. */
static int
verdict_same(const struct chain_verdict *a, const struct chain_verdict *b)
{
	size_t i;

	if (a->reason != b->reason || a->phone_trusted != b->phone_trusted ||
	    a->system_trusted != b->system_trusted ||
	    a->phone.error != b->phone.error ||
	    a->system.error != b->system.error || a->now != b->now ||
	    strcmp(a->host, b->host) != 0 || a->ncerts != b->ncerts ||
	    a->nfindings != b->nfindings || a->findings != b->findings ||
	    (a->phone.anchor == NULL) != (b->phone.anchor == NULL) ||
	    (a->phone.anchor != NULL &&
	        strcmp(a->phone.anchor, b->phone.anchor) != 0) ||
	    (a->findings_text == NULL) != (b->findings_text == NULL) ||
	    (a->findings_text != NULL &&
	        strcmp(a->findings_text, b->findings_text) != 0))
		return 0;
	for (i = 0; i < a->ncerts; i++) {
		if (!certinfo_same(&a->certs[i], &b->certs[i]))
			return 0;
	}
	for (i = 0; i < a->nfindings; i++) {
		if (strcmp(a->finding_list[i].detail,
		        b->finding_list[i].detail) != 0)
			return 0;
	}
	return 1;
}

/*
 * A chain judged again with every input the same gets a copy of the kept
 * verdict; another host, another second or a changed phone set (the
 * pool's issuer learned anew) is judged afresh, and the changed set's
 * verdict is its own.
 */
static void
test_verdict_memo(void **unused)
{
	struct trustset *phone = phone_set(NULL);
	STACK_OF(X509) *sk = reissued_chain(), *fe;
	struct chain_verdict *a, *b, *c;
	size_t h0, m0, h, m;
	char *cause = NULL;
	int changed;

	chain_memo_flush();
	chain_memo_stats(&h0, &m0);
	a = chain_evaluate(phone, sys_set, sk, EWS_HOST, now, 30);
	b = chain_evaluate(phone, sys_set, sk, EWS_HOST, now, 30);
	chain_memo_stats(&h, &m);
	assert_int_equal(m - m0, 1);
	assert_int_equal(h - h0, 1);
	assert_int_equal(a->reason, REASON_OK);
	assert_true(verdict_same(a, b));
	/* A copy, except the descriptions: shared and counted. */
	assert_ptr_equal(a->certs, b->certs);
	assert_ptr_not_equal(a->phone.anchor, b->phone.anchor);
	chain_verdict_free(b);
	assert_string_equal(a->certs[0].sans[0], EWS_HOST);

	c = chain_evaluate(phone, sys_set, sk, "other.contoso.com", now, 30);
	assert_int_equal(c->reason, REASON_CERT_NAME_MISMATCH);
	chain_verdict_free(c);
	c = chain_evaluate(phone, sys_set, sk, EWS_HOST, now + 1, 30);
	assert_true(c->now == now + 1);
	chain_verdict_free(c);
	c = chain_evaluate(phone, NULL, sk, EWS_HOST, now, 30);
	assert_int_equal(c->system_trusted, -1);
	chain_verdict_free(c);
	chain_memo_stats(&h, &m);
	assert_int_equal(m - m0, 4);
	assert_int_equal(h - h0, 1);

	/* The pool moved to the CAS array's CA: phones refuse this chain. */
	fe = pool_chain(ca.cas_ca, k.cas_ca);
	assert_int_equal(trustset_learn_frontend(phone, fe, &changed, &cause),
	    0);
	assert_int_equal(changed, 1);
	chain_free(fe);
	c = chain_evaluate(phone, sys_set, sk, EWS_HOST, now, 30);
	assert_int_equal(c->reason, REASON_CERT_UNTRUSTED_PHONE);
	chain_memo_stats(&h, &m);
	assert_int_equal(m - m0, 5);
	chain_verdict_free(c);

	chain_verdict_free(a);
	chain_free(sk);
	trustset_free(phone);
	chain_memo_flush();
}

/*
 * Verdicts on equal chains share one copy of the descriptions, which
 * outlives each verdict until the last; another chain gets its own, and
 * the last release frees it.
 */
static void
test_shared_descriptions(void **unused)
{
	struct trustset *phone = phone_set(NULL);
	STACK_OF(X509) *sk = incident_chain(), *head = sk_X509_new_null();
	struct chain_verdict *v1, *v2, *v3;
	size_t n0;
	char *subject;

	/* Kept verdicts (chain.c's memo) hold their descriptions too. */
	chain_memo_flush();
	n0 = certinfo_chain_count();
	v1 = chain_evaluate(phone, sys_set, sk, EWS_HOST, now, 30);
	v2 = chain_evaluate(phone, sys_set, sk, EWS_HOST, now, 30);
	assert_int_equal(v1->ncerts, 2);
	assert_ptr_equal(v1->certs, v2->certs);
	assert_int_equal(certinfo_chain_count(), n0 + 1);
	subject = strdup(v1->certs[0].subject);
	chain_verdict_free(v1);
	assert_string_equal(v2->certs[0].subject, subject);
	assert_string_equal(v2->certs[0].sans[0], EWS_HOST);

	/* The leaf alone: not the same chain. */
	assert_true(sk_X509_push(head, sk_X509_value(sk, 0)) > 0);
	v3 = chain_evaluate(phone, sys_set, head, EWS_HOST, now, 30);
	assert_int_equal(v3->ncerts, 1);
	assert_ptr_not_equal(v3->certs, v2->certs);
	assert_string_equal(v3->certs[0].subject, subject);
	assert_int_equal(certinfo_chain_count(), n0 + 2);
	chain_verdict_free(v2);
	chain_verdict_free(v3);
	chain_memo_flush();
	assert_int_equal(certinfo_chain_count(), n0);
	free(subject);
	sk_X509_free(head);
	chain_free(sk);
	trustset_free(phone);
}

/* The incident: phones reject, PCs trust, 12045, both CAs named. */
static void
test_incident(void **unused)
{
	struct trustset *phone = phone_set(NULL);
	struct chain_verdict *v = judge(phone, incident_chain(), 30);
	const struct certinfo *c;
	char *line, *msg, *fix;

	assert_int_equal(v->reason, REASON_CERT_UNTRUSTED_PHONE);
	assert_string_equal(reason_name(v->reason), "cert_untrusted_phone");
	assert_int_equal(reason_wininet(v->reason), 12045);
	assert_int_equal(reason_hresult(v->reason), 0x80072F0D);
	assert_string_equal(reason_wininet_name(v->reason),
	    "ERROR_INTERNET_INVALID_CA");
	assert_false(v->phone_trusted);
	assert_int_equal(v->system_trusted, 1);
	assert_true(v->phone.evaluated && v->system.evaluated);
	assert_int_not_equal(v->phone.error, X509_V_OK);
	assert_non_null(v->phone.error_string);
	assert_null(v->phone.anchor);
	assert_int_equal(v->system.error, X509_V_OK);
	assert_string_equal(v->system.anchor,
	    "CN=contoso-ROOT-CA, DC=contoso, DC=com");
	assert_int_equal(v->system.anchor_source, TRUSTSET_SYSTEM);
	assert_string_equal(trustset_frontend_issuer(phone), FE_DN);
	assert_int_equal(v->issuer_position, 1);
	assert_false(v->issuer_lookalike);
	assert_int_equal(v->nfindings, 0);

	/* The presented chain is kept although verification failed. */
	assert_int_equal(v->ncerts, 2);
	c = &v->certs[0];
	assert_string_equal(c->subject, "CN=" EWS_HOST);
	assert_string_equal(c->issuer, CAS_DN);
	assert_int_equal(strlen(c->sha256), 64);
	assert_int_equal(strspn(c->sha256, "0123456789abcdef"), 64);
	assert_true(strlen(c->serial) > 0);
	assert_int_equal(c->nsans, 1);
	assert_string_equal(c->sans[0], EWS_HOST);
	assert_string_equal(c->key, "RSA-2048");
	assert_string_equal(c->sigalg, "sha256WithRSAEncryption");
	assert_int_equal(c->not_before, now - 30 * DAY);
	assert_int_equal(c->not_after, now + 365 * DAY);
	assert_false(c->is_ca);
	assert_false(c->self_signed);
	assert_string_equal(v->certs[1].subject, CAS_DN);
	assert_string_equal(v->certs[1].issuer,
	    "CN=contoso-ROOT-CA, DC=contoso, DC=com");
	assert_true(v->certs[1].is_ca);
	assert_false(v->certs[1].self_signed);

	line = explain_line(v, phone, "internal");
	assert_string_equal(line,
	    "phones cannot use EWS at " EWS_URL " (internal): its certificate "
	    "was issued by '" CAS_DN "', which phones do not trust (they "
	    "trust '" FE_DN "', issuer of the Lync pool certificate, and 0 "
	    "web-trusted CAs); PCs do trust it. Phones log errorCode=12045 "
	    "(0x80072F0D). Fix: reissue the certificate from '" FE_DN "', or "
	    "publish its CA with New-CsWebTrustedCACertificate.");
	free(line);
	explain_verdict(v, phone, EWS_URL, "internal", &msg, &fix);
	assert_string_equal(fix,
	    "reissue the certificate from '" FE_DN "', or publish its CA "
	    "with New-CsWebTrustedCACertificate.");
	assert_null(strstr(msg, "Fix:"));
	free(msg);
	free(fix);
	chain_verdict_free(v);
	trustset_free(phone);
}

/* Reissued from the FE's CA, or its CA web-trusted: phones trust it. */
static void
test_fixed(void **unused)
{
	struct trustset *phone = phone_set(NULL);
	struct chain_verdict *v = judge(phone, reissued_chain(), 30);
	char path[300], *msg, *fix;
	unsigned char *der = NULL;
	int len;
	FILE *fp;

	assert_int_equal(v->reason, REASON_OK);
	assert_true(v->phone_trusted);
	assert_int_equal(v->system_trusted, 1);
	assert_string_equal(v->phone.anchor, FE_DN);
	assert_int_equal(v->phone.anchor_source, TRUSTSET_FRONTEND);
	assert_int_equal(v->findings, 0);
	assert_null(v->findings_text);
	assert_int_equal(reason_wininet(v->reason), 0);
	explain_verdict(v, phone, EWS_URL, "external", &msg, &fix);
	assert_non_null(strstr(msg, "phones can use EWS"));
	assert_null(fix);
	free(msg);
	chain_verdict_free(v);
	trustset_free(phone);

	/*
	 * The CAS array's CA published as web-trusted: a directory with it as
	 * a DER .cer (as Windows exports it), and files that do not count.
	 */
	snprintf(path, sizeof path, "%s/web", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof path, "%s/web/cas-ca.cer", dir);
	len = i2d_X509(ca.cas_ca, &der);
	assert_true(len > 0);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(der, 1, (size_t)len, fp), (size_t)len);
	fclose(fp);
	OPENSSL_free(der);
	snprintf(path, sizeof path, "%s/web/README.txt", dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("not a certificate\n", fp);
	fclose(fp);
	snprintf(path, sizeof path, "%s/web/old.pem", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof path, "%s/web", dir);

	phone = phone_set(path);
	assert_int_equal(trustset_count(phone, TRUSTSET_WEB_TRUSTED), 1);
	assert_int_equal(trustset_count(phone, TRUSTSET_FRONTEND), 1);
	v = judge(phone, incident_chain(), 30);
	assert_int_equal(v->reason, REASON_OK);
	assert_string_equal(v->phone.anchor, CAS_DN);
	assert_int_equal(v->phone.anchor_source, TRUSTSET_WEB_TRUSTED);
	chain_verdict_free(v);
	trustset_free(phone);

	/* The same as a PEM file. */
	phone = phone_set(pem_write("web-cas.pem", ca.cas_ca, NULL));
	v = judge(phone, incident_chain(), 30);
	assert_int_equal(v->reason, REASON_OK);
	chain_verdict_free(v);
	trustset_free(phone);
}

/* Same DN, other key: anchors match by certificate, never by name. */
static void
test_lookalike(void **unused)
{
	struct trustset *phone = phone_set(NULL);
	struct chain_verdict *v;
	struct spec s = leaf_spec();
	char *line;
	int i;

	s.issuer = ca.lookalike;
	s.ikey = k.lookalike;
	for (i = 0; i < 3; i++) {
		/*
		 * 0: key identifiers, look-alike sent; 1: no AKI, sent;
		 * 2: no AKI, not sent (OpenSSL then finds the trusted CA by
		 * name, and its key does not verify the leaf).
		 */
		s.no_aki = i > 0;
		v = judge(phone,
		    i < 2 ? chain_make(cert_make(&s), ca.lookalike, NULL)
		          : chain_make(cert_make(&s), NULL),
		    30);
		assert_string_equal(v->certs[0].issuer, FE_DN);
		assert_false(v->phone_trusted);
		assert_int_equal(v->system_trusted, 0);
		assert_int_equal(v->reason, REASON_CERT_UNTRUSTED);
		assert_true(v->issuer_lookalike);
		assert_null(v->phone.anchor);
		/* Without key identifiers the name alone picks the CA. */
		assert_int_equal(v->phone.error,
		    i == 0 ? X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
		           : X509_V_ERR_CERT_SIGNATURE_FAILURE);
		line = explain_line(v, phone, "internal");
		assert_non_null(strstr(line, "PCs do not trust it either"));
		assert_non_null(strstr(line, "another key"));
		free(line);
		chain_verdict_free(v);
	}
	trustset_free(phone);
}

/*
 * A chain longer than what is kept (16): 18 certificates, the leaf from
 * the look-alike CA, 16 fillers, the look-alike last, where only a search
 * of every presented certificate finds it (ASan caught the read past the
 * kept array here). The verdict fails with its reason, phones or not, and
 * every position it names is one it kept.
 */
static void
test_long_chain(void **unused)
{
	struct trustset *phone = phone_set(NULL);
	struct chain_verdict *v;
	struct spec s = leaf_spec();
	STACK_OF(X509) *sk;
	char *line;
	int i;

	s.issuer = ca.lookalike;
	s.ikey = k.lookalike;
	sk = chain_make(cert_make(&s), NULL);
	for (i = 0; i < 16; i++) {
		X509_up_ref(ca.sub);
		sk_X509_push(sk, ca.sub);
	}
	X509_up_ref(ca.lookalike);
	sk_X509_push(sk, ca.lookalike);
	assert_int_equal(sk_X509_num(sk), 18);
	v = judge(phone, sk, 30);
	assert_int_equal(v->npresented, 18);
	assert_int_equal(v->ncerts, 16);
	assert_true(v->issuer_position < (int)v->ncerts);
	assert_true(v->date_position < (int)v->ncerts);
	for (i = 0; i < (int)v->nfindings; i++)
		assert_true(v->finding_list[i].position < (int)v->ncerts);
	assert_false(v->phone_trusted);
	assert_int_equal(v->reason, REASON_CERT_INVALID);
	line = explain_line(v, phone, "internal");
	assert_non_null(strstr(line, "the server sent 18 certificates"));
	assert_non_null(strstr(line, "12169"));
	free(line);
	chain_verdict_free(v);

	/* The same, healthy but too long: still not ok. */
	s = leaf_spec();
	sk = chain_make(cert_make(&s), ca.fe_ca, NULL);
	for (i = 0; i < 20; i++) {
		X509_up_ref(ca.fe_ca);
		sk_X509_push(sk, ca.fe_ca);
	}
	v = judge(phone, sk, 30);
	assert_int_equal(v->ncerts, 16);
	assert_int_equal(v->reason, REASON_CERT_INVALID);
	chain_verdict_free(v);
	trustset_free(phone);
}

/* Learning the FE issuer; a renewed pool certificate moves it. */
static void
test_frontend_learning(void **unused)
{
	struct config_profile p;
	struct trustset *phone;
	struct chain_verdict *v;
	STACK_OF(X509) *sk;
	char *cause = NULL, *msg, *fix;
	int changed = -1;

	memset(&p, 0, sizeof p);
	p.frontend_host = (char *)"lyncpool.contoso.com";
	phone = trustset_new_phone(&p, &cause);
	assert_non_null(phone);
	assert_null(trustset_frontend_issuer(phone));

	/* Not learned yet: phones' trust cannot be judged. */
	v = judge(phone, reissued_chain(), 30);
	assert_int_equal(v->reason, REASON_FRONTEND_UNKNOWN);
	assert_string_equal(reason_name(v->reason), "frontend_unknown");
	assert_int_equal(reason_wininet(v->reason), 0);
	explain_verdict(v, phone, EWS_URL, "internal", &msg, &fix);
	assert_non_null(strstr(msg, "cannot tell"));
	assert_non_null(strstr(fix, "frontend"));
	free(msg);
	free(fix);
	chain_verdict_free(v);

	/* A pool that does not send its issuer teaches nothing. */
	sk = pool_chain(ca.fe_ca, k.fe_ca);
	X509_free(sk_X509_pop(sk));
	assert_int_equal(trustset_learn_frontend(phone, sk, &changed, &cause),
	    -1);
	assert_non_null(strstr(cause, FE_DN));
	free(cause);
	chain_free(sk);

	sk = pool_chain(ca.fe_ca, k.fe_ca);
	assert_int_equal(trustset_learn_frontend(phone, sk, &changed, &cause),
	    0);
	assert_int_equal(changed, 0);
	chain_free(sk);
	assert_string_equal(trustset_frontend_issuer(phone), FE_DN);
	v = judge(phone, reissued_chain(), 30);
	assert_int_equal(v->reason, REASON_OK);
	chain_verdict_free(v);

	/* The pool's certificate renewed from the CAS array's CA. */
	sk = pool_chain(ca.cas_ca, k.cas_ca);
	assert_int_equal(trustset_learn_frontend(phone, sk, &changed, &cause),
	    0);
	assert_int_equal(changed, 1);
	assert_string_equal(trustset_frontend_issuer(phone), CAS_DN);
	assert_int_equal(trustset_count(phone, TRUSTSET_FRONTEND), 1);
	v = judge(phone, incident_chain(), 30);
	assert_int_equal(v->reason, REASON_OK);
	chain_verdict_free(v);
	v = judge(phone, reissued_chain(), 30);
	assert_int_equal(v->reason, REASON_CERT_UNTRUSTED_PHONE);
	chain_verdict_free(v);
	/* The same issuer again is no change. */
	assert_int_equal(trustset_learn_frontend(phone, sk, &changed, &cause),
	    0);
	assert_int_equal(changed, 0);
	chain_free(sk);
	trustset_free(phone);

	/* A frontend_ca file, then a pool that says otherwise: changed. */
	memset(&p, 0, sizeof p);
	p.frontend_ca_file = (char *)pem_write("fe-ca.pem", ca.fe_ca, NULL);
	phone = trustset_new_phone(&p, &cause);
	assert_non_null(phone);
	assert_string_equal(trustset_frontend_issuer(phone), FE_DN);
	sk = pool_chain(ca.cas_ca, k.cas_ca);
	assert_int_equal(trustset_learn_frontend(phone, sk, &changed, &cause),
	    0);
	assert_int_equal(changed, 1);
	chain_free(sk);
	trustset_free(phone);

	/*
	 * The FE's issuer also published as web-trusted: when the pool moves
	 * to another CA, the web-trusted CA stays.
	 */
	phone = phone_set(pem_write("web-cas2.pem", ca.cas_ca, NULL));
	sk = pool_chain(ca.cas_ca, k.cas_ca);
	assert_int_equal(trustset_learn_frontend(phone, sk, &changed, &cause),
	    0);
	assert_int_equal(changed, 1);
	chain_free(sk);
	sk = pool_chain(ca.fe_ca, k.fe_ca);
	assert_int_equal(trustset_learn_frontend(phone, sk, &changed, &cause),
	    0);
	assert_int_equal(changed, 1);
	chain_free(sk);
	assert_int_equal(trustset_count(phone, TRUSTSET_WEB_TRUSTED), 1);
	assert_int_equal(trustset_count(phone, TRUSTSET_FRONTEND), 1);
	v = judge(phone, incident_chain(), 30);
	assert_int_equal(v->reason, REASON_OK);
	assert_int_equal(v->phone.anchor_source, TRUSTSET_WEB_TRUSTED);
	chain_verdict_free(v);
	trustset_free(phone);
}

/* Dates: 12037, which certificate and when; untrusted comes first. */
static void
test_dates(void **unused)
{
	struct trustset *phone = phone_set(NULL);
	struct chain_verdict *v;
	struct spec s = leaf_spec(), o;
	X509 *old;
	char *line;

	s.nb = -400;
	s.na = -1;
	v = judge(phone, chain_make(cert_make(&s), ca.fe_ca, NULL), 30);
	assert_int_equal(v->reason, REASON_CERT_EXPIRED);
	assert_int_equal(reason_wininet(v->reason), 12037);
	assert_int_equal(reason_hresult(v->reason), 0x80072F05);
	/* Phones and PCs reject it; the chain alone is fine (issue 14). */
	assert_false(v->phone_trusted);
	assert_true(v->phone.trusted);
	assert_int_equal(v->system_trusted, 0);
	assert_int_equal(v->system_reason, REASON_CERT_EXPIRED);
	assert_int_equal(v->phone.error, X509_V_ERR_CERT_HAS_EXPIRED);
	assert_int_equal(v->date_position, 0);
	assert_string_equal(v->date_subject, "CN=" EWS_HOST);
	assert_int_equal(v->date_when, now - DAY);
	line = explain_line(v, phone, "internal");
	assert_non_null(
	    strstr(line, "its certificate 'CN=" EWS_HOST "' expired on"));
	assert_non_null(strstr(line, "errorCode=12037 (0x80072F05)"));
	free(line);
	chain_verdict_free(v);

	s = leaf_spec();
	s.nb = 10;
	v = judge(phone, chain_make(cert_make(&s), ca.fe_ca, NULL), 30);
	assert_int_equal(v->reason, REASON_CERT_NOT_YET_VALID);
	assert_int_equal(reason_wininet(v->reason), 12037);
	assert_int_equal(v->date_when, now + 10 * DAY);
	line = explain_line(v, phone, "internal");
	assert_non_null(strstr(line, "is not valid before"));
	free(line);
	chain_verdict_free(v);

	/* An expired intermediate: the message names it, not the leaf. */
	o = (struct spec){"CN=Contoso Old Sub CA", k.sub, ca.fe_ca, k.fe_ca, 1,
	    NULL, -800, -2, NULL, 0, 0};
	old = cert_make(&o);
	s = leaf_spec();
	s.issuer = old;
	s.ikey = k.sub;
	v = judge(phone, chain_make(cert_make(&s), old, NULL), 30);
	assert_int_equal(v->reason, REASON_CERT_EXPIRED);
	assert_int_equal(v->date_position, 1);
	assert_string_equal(v->date_subject, "CN=Contoso Old Sub CA");
	line = explain_line(v, phone, "internal");
	assert_non_null(strstr(line,
	    "the CA certificate 'CN=Contoso Old Sub "
	    "CA' it sends (position 1) expired on"));
	free(line);
	chain_verdict_free(v);
	X509_free(old);

	/* Expired and untrusted: untrusted is reported (CryptoAPI order). */
	s = leaf_spec();
	s.issuer = ca.cas_ca;
	s.ikey = k.cas_ca;
	s.nb = -400;
	s.na = -1;
	v = judge(phone, chain_make(cert_make(&s), ca.cas_ca, NULL), 30);
	assert_int_equal(v->reason, REASON_CERT_UNTRUSTED_PHONE);
	assert_true(v->system.trusted);
	assert_int_equal(v->system_trusted, 0);
	assert_int_equal(v->date_position, 0);
	chain_verdict_free(v);
	trustset_free(phone);
}

/* Names: 12038 with the names the certificate does carry. */
static void
test_names(void **unused)
{
	struct trustset *phone = phone_set(NULL);
	struct chain_verdict *v;
	struct spec s = leaf_spec();
	char *line;

	s.subject = "CN=owa.contoso.com";
	s.san = "DNS:owa.contoso.com,DNS:mail.contoso.com";
	v = judge(phone, chain_make(cert_make(&s), ca.fe_ca, NULL), 30);
	assert_int_equal(v->reason, REASON_CERT_NAME_MISMATCH);
	assert_string_equal(reason_name(v->reason), "cert_name_mismatch");
	assert_int_equal(reason_wininet(v->reason), 12038);
	assert_int_equal(reason_hresult(v->reason), 0x80072F06);
	/* Neither phones nor PCs accept a wrong name (issue 14). */
	assert_false(v->phone_trusted);
	assert_true(v->phone.trusted);
	assert_int_equal(v->system_trusted, 0);
	assert_int_equal(v->system_reason, REASON_CERT_NAME_MISMATCH);
	line = explain_line(v, phone, "external");
	assert_non_null(strstr(line,
	    "does not name '" EWS_HOST "' (names: owa.contoso.com, "
	    "mail.contoso.com;"));
	assert_non_null(strstr(line, "errorCode=12038 (0x80072F06)"));
	free(line);
	chain_verdict_free(v);

	/* No partial wildcards. */
	s.san = "DNS:cas*.contoso.com";
	v = judge(phone, chain_make(cert_make(&s), ca.fe_ca, NULL), 30);
	assert_int_equal(v->reason, REASON_CERT_NAME_MISMATCH);
	chain_verdict_free(v);
	trustset_free(phone);
}

/* A bad signature inside the presented chain: 12169. */
static void
test_invalid(void **unused)
{
	struct trustset *phone = phone_set(NULL);
	struct chain_verdict *v;
	struct spec s = leaf_spec();

	/* Names the sub CA as issuer, signed with another key. */
	s.issuer = ca.sub;
	s.ikey = k.lookalike;
	v = judge(phone, chain_make(cert_make(&s), ca.sub, NULL), 30);
	assert_int_equal(v->reason, REASON_CERT_INVALID);
	assert_int_equal(reason_wininet(v->reason), 12169);
	assert_int_equal(v->phone.error, X509_V_ERR_CERT_SIGNATURE_FAILURE);
	assert_false(v->phone_trusted);
	chain_verdict_free(v);

	/* Nothing presented. */
	v = chain_evaluate(phone, sys_set, NULL, EWS_HOST, now, 30);
	assert_int_equal(v->reason, REASON_CERT_INVALID);
	assert_int_equal(v->ncerts, 0);
	chain_verdict_free(v);
	trustset_free(phone);
}

/* Findings: warnings on a chain phones trust. */
static void
test_findings(void **unused)
{
	struct trustset *phone = phone_set(NULL);
	struct chain_verdict *v;
	struct spec s;
	STACK_OF(X509) *sk;
	char *line;
	int i;
	static const struct {
		enum chain_finding_kind kind;
		int position;
		const char *key;
	} want[] = {
	    {CHAIN_FINDING_WILDCARD, 0, "RSA-2048"},
	    {CHAIN_FINDING_EXTRA_INTERMEDIATES, -1, "RSA-2048"},
	    {CHAIN_FINDING_ROOT_SENT, 2, "RSA-2048"},
	    {CHAIN_FINDING_SHA384_512, 0, "RSA-2048"},
	    {CHAIN_FINDING_ECDSA, 0, "EC P-256"},
	    {CHAIN_FINDING_RSA_PSS, 0, "RSA-2048"},
	    {CHAIN_FINDING_LARGE_KEY, 0, "RSA-4096"},
	    {CHAIN_FINDING_EXPIRING, 0, "RSA-2048"},
	};

	for (i = 0; i < (int)(sizeof want / sizeof *want); i++) {
		s = leaf_spec();
		sk = NULL;
		switch (want[i].kind) {
		case CHAIN_FINDING_WILDCARD:
			s.subject = "CN=*.contoso.com";
			s.san = "DNS:*.contoso.com";
			break;
		case CHAIN_FINDING_EXTRA_INTERMEDIATES:
			s.issuer = ca.sub;
			s.ikey = k.sub;
			sk = chain_make(cert_make(&s), ca.sub, ca.fe_ca, NULL);
			break;
		case CHAIN_FINDING_ROOT_SENT:
			sk = chain_make(cert_make(&s), ca.fe_ca, ca.fe_root,
			    NULL);
			break;
		case CHAIN_FINDING_SHA384_512:
			s.md = EVP_sha384();
			break;
		case CHAIN_FINDING_ECDSA:
			s.key = k.ec;
			break;
		case CHAIN_FINDING_RSA_PSS:
			s.pss = 1;
			break;
		case CHAIN_FINDING_LARGE_KEY:
			s.key = k.leaf4096;
			break;
		case CHAIN_FINDING_EXPIRING:
			s.na = 10;
			break;
		}
		if (sk == NULL)
			sk = chain_make(cert_make(&s), ca.fe_ca, NULL);
		v = judge(phone, sk, 30);
		if (v->reason != REASON_OK || v->nfindings != 1 ||
		    v->finding_list[0].kind != want[i].kind)
			fail_msg("%s: reason %s, %zu findings (%s)",
			    chain_finding_name(want[i].kind),
			    reason_name(v->reason), v->nfindings,
			    v->findings_text ? v->findings_text : "-");
		assert_int_equal(v->findings, CHAIN_FINDING_BIT(want[i].kind));
		assert_int_equal(v->finding_list[0].position, want[i].position);
		assert_non_null(v->finding_list[0].detail);
		assert_non_null(
		    strstr(v->findings_text, chain_finding_name(want[i].kind)));
		assert_string_equal(v->certs[0].key, want[i].key);
		line = explain_line(v, phone, "internal");
		assert_non_null(strstr(line, "phones may fail on"));
		free(line);
		chain_verdict_free(v);
	}

	/* Names and details a dashboard relies on. */
	assert_string_equal(chain_finding_name(CHAIN_FINDING_WILDCARD),
	    "wildcard_name");
	assert_string_equal(trustset_source_name(TRUSTSET_WEB_TRUSTED),
	    "web-trusted");

	/* Signature algorithm names as OpenSSL spells them. */
	s = leaf_spec();
	s.md = EVP_sha384();
	v = judge(phone, chain_make(cert_make(&s), ca.fe_ca, NULL), 0);
	assert_string_equal(v->certs[0].sigalg, "sha384WithRSAEncryption");
	chain_verdict_free(v);

	/* Every position counts for expiry; a window of 0 days: none. */
	s = leaf_spec();
	s.na = 10;
	v = judge(phone, chain_make(cert_make(&s), ca.fe_ca, NULL), 0);
	assert_int_equal(v->findings, 0);
	chain_verdict_free(v);
	v = judge(phone, reissued_chain(), 4000);
	assert_int_equal(v->nfindings, 2);
	assert_int_equal(v->finding_list[1].position, 1);
	chain_verdict_free(v);
	trustset_free(phone);
}

/* A missing intermediate is never fetched (no AIA): untrusted. */
static void
test_missing_intermediate(void **unused)
{
	struct config_profile p;
	struct trustset *phone;
	struct chain_verdict *v;
	struct spec s = leaf_spec();
	char *cause = NULL, *line;

	memset(&p, 0, sizeof p);
	p.public_roots_file = (char *)pem_write("roots.pem", ca.fe_root, NULL);
	phone = trustset_new_phone(&p, &cause);
	assert_non_null(phone);
	assert_int_equal(trustset_count(phone, TRUSTSET_PUBLIC_ROOT), 1);
	v = judge(phone, reissued_chain(), 30);
	assert_int_equal(v->reason, REASON_OK);
	assert_int_equal(v->phone.anchor_source, TRUSTSET_PUBLIC_ROOT);
	chain_verdict_free(v);

	v = judge(phone, chain_make(cert_make(&s), NULL), 30);
	assert_int_equal(v->ncerts, 1);
	assert_int_equal(v->issuer_position, -1);
	assert_int_equal(v->reason, REASON_CERT_UNTRUSTED);
	assert_int_equal(v->system_trusted, 0);
	line = explain_line(v, phone, "internal");
	assert_non_null(strstr(line, "the server does not send"));
	assert_non_null(strstr(line, "1 firmware public root"));
	free(line);
	chain_verdict_free(v);
	trustset_free(phone);
}

/* Sets that cannot be loaded say why. */
static void
test_load_errors(void **unused)
{
	struct config_profile p;
	struct trustset *set;
	char *cause = NULL, path[300];
	FILE *fp;

	memset(&p, 0, sizeof p);
	set = trustset_new_phone(&p, &cause);
	assert_non_null(set);
	assert_int_equal(trustset_count(set, TRUSTSET_FRONTEND), 0);
	trustset_free(set);

	p.public_roots_file = (char *)"/nonexistent/roots.pem";
	assert_null(trustset_new_phone(&p, &cause));
	assert_non_null(strstr(cause, "/nonexistent/roots.pem"));
	free(cause);

	snprintf(path, sizeof path, "%s/garbage.pem", dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("-----BEGIN CERTIFICATE-----\nnot base64\n", fp);
	fclose(fp);
	assert_null(trustset_new_system(path, &cause));
	assert_non_null(strstr(cause, "no certificate"));
	free(cause);
}

/*
 * trustset_unchanged: a reload keeps the system set only while its files
 * are the same — a rewritten file, a file added to its directory, or
 * another path is a change; an untouched directory is not.
 */
static void
test_system_unchanged(void **unused)
{
	char sub[300], *cause = NULL;
	struct trustset *set;
	struct timespec ts[2];
	const char *one;

	snprintf(sub, sizeof sub, "%s/sysdir", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	one = pem_write("sysdir/one.pem", ca.fe_root, NULL);
	set = trustset_new_system(sub, &cause);
	assert_non_null(set);
	assert_true(trustset_unchanged(set, sub));
	/* The same certificate at another path: another source. */
	assert_false(
	    trustset_unchanged(set, pem_write("other.pem", ca.fe_root, NULL)));
	/* The same bytes, a new modification time: changed. */
	assert_int_equal(clock_gettime(CLOCK_REALTIME, &ts[0]), 0);
	ts[0].tv_sec -= 3600;
	ts[1] = ts[0];
	assert_int_equal(utimensat(AT_FDCWD, one, ts, 0), 0);
	assert_false(trustset_unchanged(set, sub));
	trustset_free(set);
	set = trustset_new_system(sub, &cause);
	assert_non_null(set);
	assert_true(trustset_unchanged(set, sub));
	/* A file added: changed. A file the walk skips: not. */
	pem_write("sysdir/notes.txt", ca.cas_root, NULL);
	assert_true(trustset_unchanged(set, sub));
	pem_write("sysdir/two.crt", ca.cas_root, NULL);
	assert_false(trustset_unchanged(set, sub));
	trustset_free(set);
}

/* Run both ends of a handshake in turn; 1 when both finished. */
static int
handshake(SSL_CTX *cctx, SSL_CTX *sctx, unsigned long *cerr)
{
	SSL *c = SSL_new(cctx), *s = SSL_new(sctx);
	int sv[2], cdone = 0, sdone = 0, cfail = 0, sfail = 0, r, i;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	SSL_set_fd(c, sv[0]);
	SSL_set_fd(s, sv[1]);
	SSL_set_tlsext_host_name(c, EWS_HOST);
	SSL_set_connect_state(c);
	SSL_set_accept_state(s);
	*cerr = 0;
	for (i = 0; i < 100 && !cfail && !sfail && !(cdone && sdone); i++) {
		if (!cdone) {
			ERR_clear_error();
			if ((r = SSL_do_handshake(c)) == 1)
				cdone = 1;
			else if (SSL_get_error(c, r) != SSL_ERROR_WANT_READ &&
			    SSL_get_error(c, r) != SSL_ERROR_WANT_WRITE) {
				*cerr = ERR_peek_error();
				cfail = 1;
			}
		}
		if (!sdone) {
			ERR_clear_error();
			if ((r = SSL_do_handshake(s)) == 1)
				sdone = 1;
			else if (SSL_get_error(s, r) != SSL_ERROR_WANT_READ &&
			    SSL_get_error(s, r) != SSL_ERROR_WANT_WRITE)
				sfail = 1;
		}
	}
	/* The client learns of a server-side failure through its alert. */
	for (i = 0; sfail && !cfail && !cdone && i < 10; i++) {
		ERR_clear_error();
		if ((r = SSL_do_handshake(c)) == 1)
			cdone = 1;
		else if (SSL_get_error(c, r) != SSL_ERROR_WANT_READ &&
		    SSL_get_error(c, r) != SSL_ERROR_WANT_WRITE) {
			*cerr = ERR_peek_error();
			cfail = 1;
		}
	}
	ERR_clear_error();
	SSL_free(c);
	SSL_free(s);
	close(sv[0]);
	close(sv[1]);
	return cdone && sdone;
}

/* A server for a chain (leaf first) with the leaf key, TLS min..max. */
static SSL_CTX *
server_ctx(STACK_OF(X509) *sk, EVP_PKEY *key, int min, int max)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	int i;

	assert_non_null(ctx);
	SSL_CTX_set_security_level(ctx, 0);
	assert_int_equal(SSL_CTX_set_cipher_list(ctx, "ALL:@SECLEVEL=0"), 1);
	assert_int_equal(SSL_CTX_set_min_proto_version(ctx, min), 1);
	assert_int_equal(SSL_CTX_set_max_proto_version(ctx, max), 1);
	assert_int_equal(SSL_CTX_use_certificate(ctx, sk_X509_value(sk, 0)), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(ctx, key), 1);
	for (i = 1; i < sk_X509_num(sk); i++)
		assert_int_equal(SSL_CTX_add1_chain_cert(ctx,
		                     sk_X509_value(sk, i)),
		    1);
	return ctx;
}

/* A phone-profile client with a capture. */
static SSL_CTX *
client_ctx(struct tlscapture *cap)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	assert_non_null(ctx);
	assert_int_equal(tlscapture_install(ctx, cap), 0);
	return ctx;
}

/* TLS 1.0 like a phone: the chain is captured, the handshake completes. */
static void
test_handshake_tls10(void **unused)
{
	struct config_profile p;
	struct trustset *phone = phone_set(NULL);
	struct tlscapture *cap;
	struct chain_verdict *v;
	STACK_OF(X509) *sk = incident_chain();
	SSL_CTX *sctx, *cctx;
	unsigned long err;
	char sha[65];

	memset(&p, 0, sizeof p);
	p.tls_min = p.tls_max = CONFIG_TLS_1_0;
	cap = tlscapture_new(&p, phone, EWS_HOST, 0);
	sctx = server_ctx(sk, k.leaf, TLS1_VERSION, TLS1_3_VERSION);
	cctx = client_ctx(cap);
	assert_null(tlscapture_chain(cap));
	assert_int_equal(handshake(cctx, sctx, &err), 1);
	assert_non_null(tlscapture_chain(cap));
	assert_int_equal(sk_X509_num(tlscapture_chain(cap)), 2);
	assert_int_equal(X509_cmp(sk_X509_value(tlscapture_chain(cap), 0),
	                     sk_X509_value(sk, 0)),
	    0);
	assert_string_equal(tlscapture_tls_version(cap), "TLSv1");
	assert_false(tlscapture_refused(cap));

	/* Both verdicts on the captured chain. */
	v = chain_evaluate(phone, sys_set, tlscapture_chain(cap), EWS_HOST, now,
	    30);
	assert_int_equal(v->reason, REASON_CERT_UNTRUSTED_PHONE);
	memcpy(sha, v->certs[1].sha256, sizeof sha);
	chain_verdict_free(v);
	v = chain_evaluate(phone, NULL, sk, EWS_HOST, now, 30);
	assert_string_equal(v->certs[1].sha256, sha);
	assert_int_equal(v->reason, REASON_CERT_UNTRUSTED);
	assert_int_equal(v->system_trusted, -1);
	chain_verdict_free(v);

	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	tlscapture_free(cap);
	chain_free(sk);
	trustset_free(phone);
}

/*
 * A server that refuses TLS < 1.2: the TLS 1.0 profile cannot shake hands
 * (http_resp.c names this tls_version_unsupported: test-http test_tls_version).
 */
static void
test_handshake_tls12_only(void **unused)
{
	struct config_profile p;
	struct trustset *phone = phone_set(NULL);
	struct tlscapture *cap;
	STACK_OF(X509) *sk = reissued_chain();
	SSL_CTX *sctx, *cctx;
	unsigned long err;

	memset(&p, 0, sizeof p);
	p.tls_min = p.tls_max = CONFIG_TLS_1_0;
	cap = tlscapture_new(&p, phone, EWS_HOST, 0);
	sctx = server_ctx(sk, k.leaf, TLS1_2_VERSION, TLS1_3_VERSION);
	cctx = client_ctx(cap);
	assert_int_equal(handshake(cctx, sctx, &err), 0);
	assert_int_not_equal(err, 0);
	assert_int_equal(reason_wininet(REASON_TLS_VERSION_UNSUPPORTED), 12157);
	assert_int_equal(reason_hresult(REASON_TLS_VERSION_UNSUPPORTED),
	    0x80072F7D);
	assert_null(tlscapture_chain(cap));
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	tlscapture_free(cap);

	/* The same server, to a profile with a TLS 1.2 ceiling: fine. */
	p.tls_max = CONFIG_TLS_1_2;
	cap = tlscapture_new(&p, phone, EWS_HOST, 0);
	sctx = server_ctx(sk, k.leaf, TLS1_2_VERSION, TLS1_3_VERSION);
	cctx = client_ctx(cap);
	assert_int_equal(handshake(cctx, sctx, &err), 1);
	assert_string_equal(tlscapture_tls_version(cap), "TLSv1.2");
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	tlscapture_free(cap);
	chain_free(sk);
	trustset_free(phone);
}

/* Enforcing: no handshake completes unless phones trust the server. */
static void
test_handshake_enforce(void **unused)
{
	struct config_profile p;
	struct trustset *phone = phone_set(NULL);
	struct tlscapture *cap;
	struct spec s = leaf_spec();
	STACK_OF(X509) *sks[3];
	static const enum reason want[3] = {REASON_CERT_UNTRUSTED, REASON_OK,
	    REASON_CERT_NAME_MISMATCH};
	SSL_CTX *sctx, *cctx;
	unsigned long err;
	int i;

	memset(&p, 0, sizeof p);
	p.tls_min = p.tls_max = CONFIG_TLS_1_0;
	sks[0] = incident_chain();
	sks[1] = reissued_chain();
	s.san = "DNS:owa.contoso.com";
	sks[2] = chain_make(cert_make(&s), ca.fe_ca, NULL);
	for (i = 0; i < 3; i++) {
		cap = tlscapture_new(&p, phone, EWS_HOST, 1);
		sctx = server_ctx(sks[i], k.leaf, TLS1_VERSION, TLS1_VERSION);
		cctx = client_ctx(cap);
		assert_int_equal(handshake(cctx, sctx, &err),
		    want[i] == REASON_OK);
		assert_int_equal(tlscapture_refused(cap), want[i] != REASON_OK);
		assert_int_equal(tlscapture_reason(cap), want[i]);
		assert_non_null(tlscapture_chain(cap));
		SSL_CTX_free(cctx);
		SSL_CTX_free(sctx);
		tlscapture_free(cap);
		chain_free(sks[i]);
	}
	trustset_free(phone);
}

/*
 * Autodiscover's enforcing capture admits what a policy still walking
 * accepts: PCs' trust lets the incident's chain through, phones' trust
 * does not; a walk that does not reach the candidate admits nothing.
 */
static void
test_handshake_admit(void **unused)
{
	static const struct {
		int incident, phone, pc, done;
	} cases[] = {
	    {1, 1, 1, 1}, /* PCs trust it: the PCs' walk goes on */
	    {1, 1, 0, 0}, /* phones alone: refused */
	    {1, 0, 1, 1}, {0, 1, 0, 1}, /* the pool's CA: phones trust it */
	    {0, 0, 0, 0}, /* no walk reaches it */
	};
	struct config_profile p;
	struct trustset *phone = phone_set(NULL);
	struct tlscapture *cap;
	STACK_OF(X509) *sk;
	SSL_CTX *sctx, *cctx;
	unsigned long err;
	size_t i;

	memset(&p, 0, sizeof p);
	p.tls_min = p.tls_max = CONFIG_TLS_1_0;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		sk = cases[i].incident ? incident_chain() : reissued_chain();
		cap = tlscapture_new(&p, phone, EWS_HOST, 1);
		tlscapture_admit(cap, cases[i].phone,
		    cases[i].pc ? sys_set : NULL);
		sctx = server_ctx(sk, k.leaf, TLS1_VERSION, TLS1_VERSION);
		cctx = client_ctx(cap);
		if (handshake(cctx, sctx, &err) != cases[i].done)
			fail_msg("case %zu: handshake %s", i,
			    cases[i].done ? "refused" : "completed");
		assert_int_equal(tlscapture_refused(cap), !cases[i].done);
		SSL_CTX_free(cctx);
		SSL_CTX_free(sctx);
		tlscapture_free(cap);
		chain_free(sk);
	}
	trustset_free(phone);
}

/* Whether needle is in hay; says which is missing when not. */
static void
assert_has(const char *hay, const char *needle)
{
	if (hay == NULL || strstr(hay, needle) == NULL)
		fail_msg("'%s' not in: %s", needle, hay ? hay : "(null)");
}

/*
 * A discovery only PCs complete, in words: the Autodiscover URL, the
 * issuer as the certificate spells it, the anchors phones have, the code
 * and the fixes (issue 14, class a); and a TLS 1.0 refusal (class b).
 */
static void
test_discovery_explain(void **unused)
{
	struct config_profile p;
	struct trustset *phone = phone_set(NULL);
	struct adpolicy_params ap = {&p, phone, sys_set, NULL, 0, 0};
	struct adpolicy_block b;
	struct phonelook_result look;
	char *msg, *fix;

	memset(&p, 0, sizeof p);
	p.tls_min = p.tls_max = CONFIG_TLS_1_0;
	memset(&b, 0, sizeof b);
	b.url = (char *)"https://autodiscover.contoso.com/autodiscover/"
	                "autodiscover.svc";
	b.host = (char *)"autodiscover.contoso.com";
	b.verdict = judge(phone, incident_chain(), 30);
	b.cause = b.verdict->reason;
	b.reason = reason_discovery(b.cause);
	assert_int_equal(b.reason, REASON_AUTODISCOVER_CERT_UNTRUSTED_PHONE);
	adpolicy_explain(&ap, &b, "lab@contoso.com", &msg, &fix);
	assert_has(msg, "phones cannot discover Exchange for lab@contoso.com");
	assert_has(msg, b.url);
	assert_has(msg, "issued by '" CAS_DN "'");
	assert_has(msg, "they trust '" FE_DN "'");
	assert_has(msg, "errorCode=12045 (0x80072F0D) during discovery");
	assert_has(fix,
	    "reissue the Autodiscover certificate of "
	    "autodiscover.contoso.com from '" FE_DN "'");
	assert_has(fix, "publish its issuer '" CAS_DN "'");
	assert_has(fix, "New-CsWebTrustedCACertificate");
	free(msg);
	free(fix);

	/*
	 * The phone's own hello (no SNI) was reset while the handshake with
	 * SNI got a certificate (issue 18): its words, on the host.
	 */
	memset(&look, 0, sizeof look);
	look.reason = REASON_TLS_RESET;
	look.host = (char *)"autodiscover.contoso.com";
	look.address = (char *)"127.0.1.2:443";
	look.hello = (char *)"TLSv1, no SNI";
	look.end = HELLORUN_RESET;
	look.alert = -1;
	b.look = &look;
	b.cause = look.reason;
	b.reason = reason_discovery(b.cause);
	assert_int_equal(b.reason, REASON_AUTODISCOVER_TLS_RESET);
	adpolicy_explain(&ap, &b, "lab@contoso.com", &msg, &fix);
	assert_has(msg, "phones cannot discover Exchange for lab@contoso.com");
	assert_has(msg,
	    "without SNI, autodiscover.contoso.com resets the connection");
	assert_has(msg, "errorCode=12031 (0x80072EFF) during discovery");
	assert_has(fix,
	    "on the Autodiscover site autodiscover.contoso.com: serve a "
	    "certificate to clients without SNI");
	free(msg);
	free(fix);
	b.look = NULL;
	chain_verdict_free(b.verdict);

	b.verdict = NULL;
	b.cause = REASON_TLS_VERSION_UNSUPPORTED;
	b.reason = reason_discovery(b.cause);
	b.tls_error = (char *)"tlsv1 alert protocol version";
	assert_int_equal(b.reason, REASON_AUTODISCOVER_TLS_REFUSED);
	adpolicy_explain(&ap, &b, "lab@contoso.com", &msg, &fix);
	assert_has(msg, "the server refuses TLS 1.0");
	assert_has(msg, "errorCode=12157 (0x80072F7D) during discovery");
	assert_has(fix,
	    "enable TLS 1.0 on the Autodiscover site "
	    "autodiscover.contoso.com");
	free(msg);
	free(fix);
	trustset_free(phone);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dn_display),
	    cmocka_unit_test(test_system_unchanged),
	    cmocka_unit_test(test_incident),
	    cmocka_unit_test(test_fixed),
	    cmocka_unit_test(test_lookalike),
	    cmocka_unit_test(test_long_chain),
	    cmocka_unit_test(test_frontend_learning),
	    cmocka_unit_test(test_dates),
	    cmocka_unit_test(test_describe_cache),
	    cmocka_unit_test(test_describe_cache_same_set),
	    cmocka_unit_test(test_verdict_memo),
	    cmocka_unit_test(test_shared_descriptions),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_invalid),
	    cmocka_unit_test(test_findings),
	    cmocka_unit_test(test_missing_intermediate),
	    cmocka_unit_test(test_load_errors),
	    cmocka_unit_test(test_handshake_tls10),
	    cmocka_unit_test(test_handshake_tls12_only),
	    cmocka_unit_test(test_handshake_enforce),
	    cmocka_unit_test(test_handshake_admit),
	    cmocka_unit_test(test_discovery_explain),
	};

	return cmocka_run_group_tests_name("trust", tests, setup, teardown);
}
