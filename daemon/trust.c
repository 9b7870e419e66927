/*
 * trust: owns trust sets (anchor certificates and their X509_STORE), the
 * evaluation of a presented chain under the phone and system sets, the
 * findings and the explanation of a verdict, the classification of failed
 * handshakes, and the SSL_CTX set-up that captures (or enforces) on a live
 * connection. OpenSSL's codes stop here: callers see enum reason, plain
 * data and words.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "trust.h"
#include "xmalloc.h"

/*
 * The cipher suites offered under a TLS 1.0/1.1 ceiling, as a Windows CE 6
 * era schannel client (Lync Phone Edition) would: RSA key exchange with AES
 * or 3DES. XXX assumption: the LPE ClientHello is not documented publicly
 * (protocol.md §3.7 only says TLS 1.0, no TLS 1.2 [BUMPIN] [UCVNEXT]); CE 6
 * predates schannel's ECC suites, so no ECDHE is offered. RC4-SHA/RC4-MD5
 * would belong here too, but OpenSSL 3 has no RC4 in its default provider,
 * so they would only be dropped. These suites need security level 0 in
 * OpenSSL 3; the profile applies its own checks (the findings) instead.
 */
#define TRUST_PHONE_CIPHERS "AES128-SHA:AES256-SHA:DES-CBC3-SHA:@SECLEVEL=0"

/* Bounds on what is kept of a presented chain (it is the peer's input). */
#define TRUST_MAX_CERTS 16
#define TRUST_MAX_SANS 64

struct trust_anchor {
	X509 *cert;
	enum trust_source source;
	char *dn;
	char sha256[65];
};

struct trust_set {
	X509_STORE *store;
	struct trust_anchor *anchors;
	size_t nanchors;
	int partial; /* every anchor counts, not only roots (phone sets) */
	int learns_frontend; /* the profile names a FE pool to learn from */
};

struct trust_capture {
	int tls_min, tls_max;
	const struct trust_set *phone;
	char *host;
	int enforce;
	int refused;
	enum reason reason;
	const char *version;
	STACK_OF(X509) * chain;
};

/* Errors met while verifying one chain, gathered by the callback. */
struct trust_errors {
	STACK_OF(X509) * presented;
	int untrusted; /* no anchor reached */
	int sig_invalid; /* a presented certificate's signature is bad */
	int invalid; /* other defects: usage, constraints, encoding */
	int expired;
	int not_yet_valid;
	int name;
	int first; /* first X509_V_ERR_* seen, or X509_V_OK */
	int first_depth;
	int date_position; /* first date error: presented position or -1 */
	char *date_subject;
	time_t date_when;
};

static const char *trust_source_names[] = {
    [TRUST_SOURCE_FRONTEND] = "frontend",
    [TRUST_SOURCE_WEB_TRUSTED] = "web-trusted",
    [TRUST_SOURCE_PUBLIC_ROOT] = "public-root",
    [TRUST_SOURCE_SYSTEM] = "system",
};

static const char *trust_finding_names[] = {
    [TRUST_FINDING_WILDCARD] = "wildcard_name",
    [TRUST_FINDING_EXTRA_INTERMEDIATES] = "extra_intermediates",
    [TRUST_FINDING_ROOT_SENT] = "root_sent",
    [TRUST_FINDING_SHA384_512] = "sha384_512_signature",
    [TRUST_FINDING_ECDSA] = "ecdsa_key",
    [TRUST_FINDING_RSA_PSS] = "rsa_pss",
    [TRUST_FINDING_LARGE_KEY] = "rsa_key_over_2048",
    [TRUST_FINDING_EXPIRING] = "cert_expiring",
};

/* What a phone should be served instead, per finding (for remedies). */
static const char *trust_finding_fixes[] = {
    [TRUST_FINDING_WILDCARD] = "a certificate that names the EWS host "
                               "itself, not a wildcard",
    [TRUST_FINDING_EXTRA_INTERMEDIATES] = "only the issuing CA along with "
                                          "the certificate",
    [TRUST_FINDING_ROOT_SENT] = "a chain without its root",
    [TRUST_FINDING_SHA384_512] = "SHA-256 signatures",
    [TRUST_FINDING_ECDSA] = "RSA keys",
    [TRUST_FINDING_RSA_PSS] = "PKCS#1 v1.5 signatures, not RSA-PSS",
    [TRUST_FINDING_LARGE_KEY] = "RSA-2048 keys",
    [TRUST_FINDING_EXPIRING] = "certificates renewed well before they expire",
};

/* A trust source's stable name. */
const char *
trust_source_name(enum trust_source s)
{
	if ((size_t)s >= sizeof trust_source_names / sizeof *trust_source_names)
		return "unknown";
	return trust_source_names[s];
}

/* A finding's stable name. */
const char *
trust_finding_name(enum trust_finding_kind k)
{
	if ((size_t)k >=
	    sizeof trust_finding_names / sizeof *trust_finding_names)
		return "unknown";
	return trust_finding_names[k];
}

/* What to serve instead, for a finding ("SHA-256 signatures"). */
const char *
trust_finding_fix(enum trust_finding_kind k)
{
	if ((size_t)k >=
	    sizeof trust_finding_fixes / sizeof *trust_finding_fixes)
		return "a chain without this risk";
	return trust_finding_fixes[k];
}

/* Open a growing string; fatal when out of memory. */
static FILE *
trust_memstream(char **out, size_t *len)
{
	FILE *fp;

	*out = NULL;
	if ((fp = open_memstream(out, len)) == NULL)
		fatal("open_memstream");
	return fp;
}

/* Close a growing string and hand it over (caller frees). */
static char *
trust_memstream_done(FILE *fp, char **out)
{
	if (fclose(fp) != 0 || *out == NULL)
		fatalx("open_memstream: out of memory");
	return *out;
}

/*
 * Write one DN value. Escape only what would otherwise read like structure
 * (see trust.h): the point is that two look-alike names never print alike,
 * while an ordinary value prints exactly as the certificate encodes it.
 */
static void
trust_dn_value(FILE *fp, const unsigned char *p, size_t len, int utf8)
{
	size_t i;
	unsigned char c;

	for (i = 0; i < len; i++) {
		c = p[i];
		if (c < 0x20 || c == 0x7f || (!utf8 && c >= 0x80))
			fprintf(fp, "\\%02X", c);
		else if (c == '\\' || c == '+')
			fprintf(fp, "\\%c", c);
		else if (c == ',' && (i + 1 == len || p[i + 1] == ' '))
			fputs("\\,", fp);
		else if (c == ' ' && (i == 0 || i + 1 == len))
			fputs("\\ ", fp);
		else
			fputc(c, fp);
	}
}

/* A certificate name for display, most specific RDN first (caller frees). */
char *
trust_dn(const X509_NAME *name)
{
	const X509_NAME_ENTRY *e;
	const ASN1_STRING *data;
	unsigned char *u;
	char attr[80], *out;
	size_t len;
	FILE *fp = trust_memstream(&out, &len);
	int i, n, set, prev = -1, ulen, nid;

	n = X509_NAME_entry_count(name);
	for (i = n - 1; i >= 0; i--) {
		e = X509_NAME_get_entry(name, i);
		set = X509_NAME_ENTRY_set(e);
		if (i != n - 1)
			fputs(set == prev ? "+" : ", ", fp);
		prev = set;
		nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
		if (nid != NID_undef)
			snprintf(attr, sizeof attr, "%s", OBJ_nid2sn(nid));
		else
			OBJ_obj2txt(attr, sizeof attr,
			    X509_NAME_ENTRY_get_object(e), 1);
		fprintf(fp, "%s=", attr);
		data = X509_NAME_ENTRY_get_data(e);
		if ((ulen = ASN1_STRING_to_UTF8(&u, data)) >= 0) {
			trust_dn_value(fp, u, (size_t)ulen, 1);
			OPENSSL_free(u);
		} else {
			/* Not convertible: show the raw bytes, escaped. */
			ERR_clear_error();
			trust_dn_value(fp, ASN1_STRING_get0_data(data),
			    (size_t)ASN1_STRING_length(data), 0);
		}
	}
	return trust_memstream_done(fp, &out);
}

/* Peer-supplied bytes as a printable string (caller frees). */
static char *
trust_clean(const unsigned char *p, int len)
{
	char *out;
	size_t n;
	FILE *fp = trust_memstream(&out, &n);
	int i;

	for (i = 0; i < len; i++) {
		if (p[i] < 0x21 || p[i] >= 0x7f || p[i] == '\\')
			fprintf(fp, "\\%02X", p[i]);
		else
			fputc(p[i], fp);
	}
	return trust_memstream_done(fp, &out);
}

/* The SHA-256 fingerprint of a certificate as lower-case hex. */
static void
trust_sha256(X509 *cert, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;

	if (X509_digest(cert, EVP_sha256(), md, &len) != 1)
		fatalx("X509_digest failed");
	for (i = 0; i < len && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[2 * i] = '\0';
}

/*
 * Add an anchor to a set unless that source has it already (by
 * fingerprint). One certificate may come from two sources (the FE's issuer
 * also published as web-trusted); each keeps its own entry, so learning a
 * new FE issuer never drops a web-trusted CA.
 */
static void
trust_add(struct trust_set *set, X509 *cert, enum trust_source source)
{
	struct trust_anchor *a;
	char sha[65];
	size_t i;

	trust_sha256(cert, sha);
	for (i = 0; i < set->nanchors; i++) {
		if (set->anchors[i].source == source &&
		    strcmp(set->anchors[i].sha256, sha) == 0)
			return;
	}
	set->anchors = xreallocarray(set->anchors, set->nanchors + 1,
	    sizeof *set->anchors);
	a = &set->anchors[set->nanchors++];
	X509_up_ref(cert);
	a->cert = cert;
	a->source = source;
	a->dn = trust_dn(X509_get_subject_name(cert));
	memcpy(a->sha256, sha, sizeof a->sha256);
}

/* Drop a set's anchor i. */
static void
trust_drop(struct trust_set *set, size_t i)
{
	X509_free(set->anchors[i].cert);
	free(set->anchors[i].dn);
	memmove(&set->anchors[i], &set->anchors[i + 1],
	    (set->nanchors - i - 1) * sizeof *set->anchors);
	set->nanchors--;
}

/*
 * (Re)build the set's X509_STORE from its anchors. A store cannot drop a
 * certificate, and the FE anchor is replaced when the pool's issuer
 * changes, so the store is rebuilt instead (rare: once per learning).
 */
static void
trust_rebuild(struct trust_set *set)
{
	size_t i;

	X509_STORE_free(set->store);
	if ((set->store = X509_STORE_new()) == NULL)
		fatalx("X509_STORE_new: out of memory");
	for (i = 0; i < set->nanchors; i++) {
		if (X509_STORE_add_cert(set->store, set->anchors[i].cert) != 1)
			fatalx("X509_STORE_add_cert failed");
	}
}

/*
 * Load every certificate of a file: PEM (one or many), else one DER
 * certificate (a ".cer" exported from Windows often is DER). Return how
 * many, or -1 with *cause.
 */
static int
trust_load_file(struct trust_set *set, const char *path,
    enum trust_source source, char **cause)
{
	BIO *b;
	X509 *x;
	int n = 0;

	if ((b = BIO_new_file(path, "rb")) == NULL) {
		xasprintf(cause, "%s: cannot open", path);
		ERR_clear_error();
		return -1;
	}
	while ((x = PEM_read_bio_X509_AUX(b, NULL, NULL, NULL)) != NULL) {
		trust_add(set, x, source);
		X509_free(x);
		n++;
	}
	if (n == 0 && BIO_reset(b) == 0 &&
	    (x = d2i_X509_bio(b, NULL)) != NULL) {
		trust_add(set, x, source);
		X509_free(x);
		n++;
	}
	ERR_clear_error();
	BIO_free(b);
	if (n == 0) {
		xasprintf(cause, "%s: no certificate in it (PEM or DER)", path);
		return -1;
	}
	return n;
}

/* scandir filter: names ending .pem, .crt or .cer (any case). */
static int
trust_dir_filter(const struct dirent *de)
{
	const char *dot = strrchr(de->d_name, '.');

	return dot != NULL &&
	    (strcasecmp(dot, ".pem") == 0 || strcasecmp(dot, ".crt") == 0 ||
	        strcasecmp(dot, ".cer") == 0);
}

/*
 * Load a file, or every .pem/.crt/.cer file of a directory, in name order.
 * Each file is read explicitly: OpenSSL's hashed-directory lookup would
 * need c_rehash links and finds certificates by name, not by certificate.
 */
static int
trust_load_path(struct trust_set *set, const char *path,
    enum trust_source source, char **cause)
{
	struct dirent **list;
	struct stat sb;
	char *file;
	int i, n, r = 0;

	if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return trust_load_file(set, path, source, cause);
	if ((n = scandir(path, &list, trust_dir_filter, alphasort)) < 0) {
		xasprintf(cause, "%s: cannot read the directory", path);
		return -1;
	}
	for (i = 0; i < n; i++) {
		xasprintf(&file, "%s/%s", path, list[i]->d_name);
		if (r >= 0 && stat(file, &sb) == 0 && S_ISREG(sb.st_mode) &&
		    trust_load_file(set, file, source, cause) < 0)
			r = -1;
		free(file);
		free(list[i]);
	}
	free(list);
	return r;
}

/*
 * The phone set of a profile: FE issuing CA file, web-trusted CAs, public
 * roots (the learned FE issuer comes later). NULL with *cause on error.
 */
struct trust_set *
trust_set_new_phone(const struct config_profile *p, char **cause)
{
	struct trust_set *set = xcalloc(1, sizeof *set);
	size_t i;

	set->partial = 1;
	set->learns_frontend = p->frontend_host != NULL;
	if (p->frontend_ca_file != NULL &&
	    trust_load_path(set, p->frontend_ca_file, TRUST_SOURCE_FRONTEND,
	        cause) < 0)
		goto fail;
	for (i = 0; i < p->web_trusted.n; i++) {
		if (trust_load_path(set, p->web_trusted.items[i],
		        TRUST_SOURCE_WEB_TRUSTED, cause) < 0)
			goto fail;
	}
	if (p->public_roots_file != NULL &&
	    trust_load_path(set, p->public_roots_file, TRUST_SOURCE_PUBLIC_ROOT,
	        cause) < 0)
		goto fail;
	trust_rebuild(set);
	return set;

fail:
	trust_set_free(set);
	return NULL;
}

/*
 * The system set from an OS bundle (parsed once per load: ~30 ms). A PC
 * trusts roots, so partial chains do not count here.
 */
struct trust_set *
trust_set_new_system(const char *bundle, char **cause)
{
	struct trust_set *set = xcalloc(1, sizeof *set);

	if (trust_load_path(set, bundle, TRUST_SOURCE_SYSTEM, cause) < 0)
		goto fail;
	trust_rebuild(set);
	return set;

fail:
	trust_set_free(set);
	return NULL;
}

/* Free a set; NULL is a no-op. */
void
trust_set_free(struct trust_set *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->nanchors; i++) {
		X509_free(set->anchors[i].cert);
		free(set->anchors[i].dn);
	}
	free(set->anchors);
	X509_STORE_free(set->store);
	free(set);
}

/* How many anchors of a source a set has. */
size_t
trust_set_count(const struct trust_set *set, enum trust_source source)
{
	size_t i, n = 0;

	for (i = 0; i < set->nanchors; i++)
		n += set->anchors[i].source == source;
	return n;
}

/* The DN of the (first) Front End issuer anchor, or NULL. */
const char *
trust_set_frontend_issuer(const struct trust_set *set)
{
	size_t i;

	for (i = 0; i < set->nanchors; i++) {
		if (set->anchors[i].source == TRUST_SOURCE_FRONTEND)
			return set->anchors[i].dn;
	}
	return NULL;
}

/*
 * Learn the issuer of the FE pool certificate from the chain the pool
 * presented: the presented certificate that issued the leaf (names and key
 * identifiers match, and its key verifies the leaf's signature). It
 * replaces the FE anchors before it (learned, or from frontend_ca);
 * *changed says whether it differs by fingerprint from the one before (a
 * first learning is no change). 0, or -1 with *cause.
 */
int
trust_set_learn_frontend(struct trust_set *set, STACK_OF(X509) * chain,
    int *changed, char **cause)
{
	X509 *leaf, *cand, *issuer = NULL;
	EVP_PKEY *key;
	char sha[65], old[65] = "", *dn;
	size_t i;
	int k;

	*changed = 0;
	if (chain == NULL || sk_X509_num(chain) < 1) {
		xasprintf(cause, "the Front End pool presented no certificate");
		return -1;
	}
	leaf = sk_X509_value(chain, 0);
	for (k = 1; k < sk_X509_num(chain) && issuer == NULL; k++) {
		cand = sk_X509_value(chain, k);
		if (X509_check_issued(cand, leaf) != X509_V_OK)
			continue;
		if ((key = X509_get0_pubkey(cand)) != NULL &&
		    X509_verify(leaf, key) == 1)
			issuer = cand;
	}
	ERR_clear_error();
	if (issuer == NULL) {
		dn = trust_dn(X509_get_issuer_name(leaf));
		xasprintf(cause,
		    "the Front End pool did not send the CA certificate that "
		    "issued its own ('%s'); give that CA as frontend_ca",
		    dn);
		free(dn);
		return -1;
	}
	trust_sha256(issuer, sha);
	for (i = 0; i < set->nanchors;) {
		if (set->anchors[i].source != TRUST_SOURCE_FRONTEND) {
			i++;
			continue;
		}
		if (old[0] == '\0')
			memcpy(old, set->anchors[i].sha256, sizeof old);
		trust_drop(set, i);
	}
	trust_add(set, issuer, TRUST_SOURCE_FRONTEND);
	trust_rebuild(set);
	*changed = old[0] != '\0' && strcmp(old, sha) != 0;
	return 0;
}

/* The position of cert in the presented chain, or -1. */
static int
trust_position(STACK_OF(X509) * presented, const X509 *cert)
{
	int i;

	for (i = 0; i < sk_X509_num(presented); i++) {
		if (X509_cmp(sk_X509_value(presented, i), cert) == 0)
			return i;
	}
	return -1;
}

/* An ASN1_TIME as time_t (0 when unreadable). */
static time_t
trust_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

/* Note the first date error: which certificate, and which date. */
static void
trust_date_error(struct trust_errors *e, X509_STORE_CTX *ctx, int expired)
{
	X509 *x = X509_STORE_CTX_get_current_cert(ctx);

	if (expired)
		e->expired = 1;
	else
		e->not_yet_valid = 1;
	if (e->date_subject != NULL || x == NULL)
		return;
	e->date_position = trust_position(e->presented, x);
	e->date_subject = trust_dn(X509_get_subject_name(x));
	e->date_when = trust_time(
	    expired ? X509_get0_notAfter(x) : X509_get0_notBefore(x));
}

/*
 * Verify callback: note every error and go on, so all are known and the
 * verdict can rank them (trust_evaluate). A bad signature whose issuer
 * came from the store means a trusted CA has the issuer's name but not its
 * key (a look-alike): the chain reached no anchor.
 */
static int
trust_verify_cb(int ok, X509_STORE_CTX *ctx)
{
	struct trust_errors *e = X509_STORE_CTX_get_app_data(ctx);
	int err = X509_STORE_CTX_get_error(ctx);
	int depth = X509_STORE_CTX_get_error_depth(ctx);

	if (ok)
		return 1;
	if (e->first == X509_V_OK) {
		e->first = err;
		e->first_depth = depth;
	}
	switch (err) {
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_CERT_UNTRUSTED:
	case X509_V_ERR_CERT_REJECTED:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		e->untrusted = 1;
		break;
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
	case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
		if (depth + 1 >= X509_STORE_CTX_get_num_untrusted(ctx))
			e->untrusted = 1;
		else
			e->sig_invalid = 1;
		break;
	case X509_V_ERR_CERT_HAS_EXPIRED:
		trust_date_error(e, ctx, 1);
		break;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		trust_date_error(e, ctx, 0);
		break;
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		e->name = 1;
		break;
	default:
		e->invalid = 1;
		break;
	}
	return 1;
}

/* Whether host is an IPv4 or IPv6 literal. */
static int
trust_is_ip(const char *host)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, host, buf) == 1 ||
	    inet_pton(AF_INET6, host, buf) == 1;
}

/*
 * Verify the presented chain under set: exactly the certificates sent
 * (the ones after the leaf are the untrusted intermediates; no AIA
 * fetching), at time now, as a TLS client checks a server, for host (NULL:
 * no name check). Fill e and c.
 */
static void
trust_verify(const struct trust_set *set, STACK_OF(X509) * presented,
    const char *host, time_t now, struct trust_errors *e, struct trust_check *c)
{
	X509_STORE_CTX *ctx;
	X509_VERIFY_PARAM *param;
	STACK_OF(X509) * built;
	X509 *top;
	size_t i;

	memset(e, 0, sizeof *e);
	e->presented = presented;
	e->first = X509_V_OK;
	e->first_depth = -1;
	e->date_position = -1;
	if ((ctx = X509_STORE_CTX_new()) == NULL)
		fatalx("X509_STORE_CTX_new: out of memory");
	if (X509_STORE_CTX_init(ctx, set->store, sk_X509_value(presented, 0),
	        presented) != 1)
		fatalx("X509_STORE_CTX_init failed");
	X509_STORE_CTX_set_app_data(ctx, e);
	X509_STORE_CTX_set_verify_cb(ctx, trust_verify_cb);
	if (X509_STORE_CTX_set_default(ctx, "ssl_server") != 1)
		fatalx("X509_STORE_CTX_set_default failed");
	param = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_time(param, now);
	if (set->partial)
		X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
	if (host != NULL && trust_is_ip(host))
		X509_VERIFY_PARAM_set1_ip_asc(param, host);
	else if (host != NULL) {
		X509_VERIFY_PARAM_set_hostflags(param,
		    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		X509_VERIFY_PARAM_set1_host(param, host, 0);
	}
	(void)X509_verify_cert(ctx);
	if (set->nanchors == 0)
		e->untrusted = 1;

	c->evaluated = 1;
	c->trusted = !e->untrusted && !e->sig_invalid;
	c->error = e->first;
	c->error_string = X509_verify_cert_error_string(e->first);
	c->error_depth = e->first_depth;
	built = X509_STORE_CTX_get0_chain(ctx);
	if (c->trusted && built != NULL && sk_X509_num(built) > 0) {
		top = sk_X509_value(built, sk_X509_num(built) - 1);
		for (i = 0; i < set->nanchors; i++) {
			if (X509_cmp(top, set->anchors[i].cert) != 0)
				continue;
			c->anchor = xstrdup(set->anchors[i].dn);
			memcpy(c->anchor_sha256, set->anchors[i].sha256,
			    sizeof c->anchor_sha256);
			c->anchor_source = set->anchors[i].source;
			break;
		}
	}
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
}

/* A key's type and size for display: "RSA-2048", "EC P-256". */
static void
trust_key(EVP_PKEY *key, char *buf, size_t size)
{
	char group[64] = "";
	const char *nist;
	int id = EVP_PKEY_get_base_id(key);

	if (id == EVP_PKEY_EC) {
		EVP_PKEY_get_group_name(key, group, sizeof group, NULL);
		nist = EC_curve_nid2nist(OBJ_txt2nid(group));
		snprintf(buf, size, "EC %s", nist != NULL ? nist : group);
	} else if (id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS ||
	    id == EVP_PKEY_DSA)
		snprintf(buf, size, "%s-%d",
		    id == EVP_PKEY_RSA_PSS ? "RSA-PSS"
		                           : EVP_PKEY_get0_type_name(key),
		    EVP_PKEY_get_bits(key));
	else
		snprintf(buf, size, "%s", OBJ_nid2sn(id));
}

/* Describe one presented certificate. */
static void
trust_describe(X509 *x, struct trust_cert_info *ci)
{
	GENERAL_NAMES *gens;
	const GENERAL_NAME *g;
	EVP_PKEY *key;
	BIGNUM *bn;
	char *hex;
	int i, nid;

	ci->subject = trust_dn(X509_get_subject_name(x));
	ci->issuer = trust_dn(X509_get_issuer_name(x));
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	hex = bn != NULL ? BN_bn2hex(bn) : NULL;
	ci->serial = xstrdup(hex != NULL ? hex : "");
	for (i = 0; ci->serial[i] != '\0'; i++)
		ci->serial[i] = (char)tolower((unsigned char)ci->serial[i]);
	OPENSSL_free(hex);
	BN_free(bn);
	trust_sha256(x, ci->sha256);
	ci->not_before = trust_time(X509_get0_notBefore(x));
	ci->not_after = trust_time(X509_get0_notAfter(x));
	if ((key = X509_get0_pubkey(x)) != NULL)
		trust_key(key, ci->key, sizeof ci->key);
	else
		snprintf(ci->key, sizeof ci->key, "unreadable");
	nid = X509_get_signature_nid(x);
	if (nid != NID_undef)
		snprintf(ci->sigalg, sizeof ci->sigalg, "%s", OBJ_nid2ln(nid));
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens) &&
	     ci->nsans < TRUST_MAX_SANS;
	     i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != GEN_DNS)
			continue;
		ci->sans =
		    xreallocarray(ci->sans, ci->nsans + 1, sizeof *ci->sans);
		ci->sans[ci->nsans++] =
		    trust_clean(ASN1_STRING_get0_data(g->d.dNSName),
		        ASN1_STRING_length(g->d.dNSName));
	}
	GENERAL_NAMES_free(gens);
	ci->is_ca = (X509_get_extension_flags(x) & EXFLAG_CA) != 0;
	ci->self_signed = X509_self_signed(x, 1) == 1;
	ERR_clear_error();
}

/* Record one finding. */
static void trust_find(struct trust_verdict *, enum trust_finding_kind, int,
    const char *, ...) __attribute__((format(printf, 4, 5)));

static void
trust_find(struct trust_verdict *v, enum trust_finding_kind kind, int pos,
    const char *fmt, ...)
{
	struct trust_finding *f;
	char *t;
	va_list ap;

	v->finding_list = xreallocarray(v->finding_list, v->nfindings + 1,
	    sizeof *v->finding_list);
	f = &v->finding_list[v->nfindings++];
	f->kind = kind;
	f->position = pos;
	va_start(ap, fmt);
	xvasprintf(&f->detail, fmt, ap);
	va_end(ap);
	v->findings |= TRUST_FINDING_BIT(kind);
	t = v->findings_text;
	xasprintf(&v->findings_text, "%s%s%s (%s)", t != NULL ? t : "",
	    t != NULL ? "; " : "", trust_finding_name(kind), f->detail);
	free(t);
}

/* The wildcard name of the leaf that covers host, if only one does. */
static char *
trust_wildcard_match(X509 *leaf, const char *host)
{
	char *peer = NULL, *out = NULL;

	if (host == NULL || trust_is_ip(host))
		return NULL;
	if (X509_check_host(leaf, host, 0, X509_CHECK_FLAG_NO_WILDCARDS,
	        NULL) == 1)
		return NULL;
	if (X509_check_host(leaf, host, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
	        &peer) == 1 &&
	    peer != NULL)
		out =
		    trust_clean((const unsigned char *)peer, (int)strlen(peer));
	OPENSSL_free(peer);
	ERR_clear_error();
	return out;
}

/*
 * Record the phone-risk findings of a presented chain (protocol.md §3.7:
 * support for these on LPE is unverified or reported broken). Keys and
 * dates count at every position; a signature only where the phone checks
 * it (not a self-signed root's own).
 */
static void
trust_findings(struct trust_verdict *v, STACK_OF(X509) * presented, time_t now,
    unsigned int warn_days)
{
	const struct trust_cert_info *ci;
	X509 *x;
	char *wild;
	size_t i, intermediates = 0;
	int md = NID_undef, nid;

	if ((wild = trust_wildcard_match(sk_X509_value(presented, 0),
	         v->host)) != NULL) {
		trust_find(v, TRUST_FINDING_WILDCARD, 0,
		    "%s is named only by the wildcard %s", v->host, wild);
		free(wild);
	}
	for (i = 0; i < v->ncerts; i++) {
		ci = &v->certs[i];
		x = sk_X509_value(presented, (int)i);
		if (i > 0 && !ci->self_signed)
			intermediates++;
		if (i > 0 && ci->self_signed)
			trust_find(v, TRUST_FINDING_ROOT_SENT, (int)i,
			    "the root '%s' is sent in the chain", ci->subject);
		if (!ci->self_signed &&
		    X509_get_signature_info(x, &md, NULL, NULL, NULL) == 1 &&
		    (md == NID_sha384 || md == NID_sha512))
			trust_find(v, TRUST_FINDING_SHA384_512, (int)i,
			    "'%s' is signed with %s", ci->subject, ci->sigalg);
		if (strncmp(ci->key, "EC ", 3) == 0)
			trust_find(v, TRUST_FINDING_ECDSA, (int)i,
			    "'%s' has an ECDSA key (%s)", ci->subject, ci->key);
		nid = X509_get_signature_nid(x);
		if ((!ci->self_signed && nid == NID_rsassaPss) ||
		    strncmp(ci->key, "RSA-PSS", 7) == 0)
			trust_find(v, TRUST_FINDING_RSA_PSS, (int)i,
			    "'%s' uses RSA-PSS (%s, %s)", ci->subject, ci->key,
			    ci->sigalg);
		if (strncmp(ci->key, "RSA-", 4) == 0 &&
		    strtol(ci->key + (ci->key[4] == 'P' ? 8 : 4), NULL, 10) >
		        2048)
			trust_find(v, TRUST_FINDING_LARGE_KEY, (int)i,
			    "'%s' has an %s key", ci->subject, ci->key);
		if (ci->not_after > now &&
		    ci->not_after - now < (time_t)warn_days * 86400)
			trust_find(v, TRUST_FINDING_EXPIRING, (int)i,
			    "'%s' expires in %lld days", ci->subject,
			    (long long)((ci->not_after - now) / 86400));
	}
	ERR_clear_error();
	if (intermediates > 1)
		trust_find(v, TRUST_FINDING_EXTRA_INTERMEDIATES, -1,
		    "%zu intermediate CA certificates are sent", intermediates);
}

/* Whether set has an anchor named dn whose fingerprint is not sha. */
static int
trust_name_clash(const struct trust_set *set, const char *dn, const char *sha)
{
	size_t i;

	for (i = 0; i < set->nanchors; i++) {
		if (strcmp(set->anchors[i].dn, dn) == 0 &&
		    (sha == NULL || strcmp(set->anchors[i].sha256, sha) != 0))
			return 1;
	}
	return 0;
}

/*
 * Judge a presented chain (leaf first, as sent) for host at time now,
 * under the phone set (this decides) and the system set when given (NULL:
 * not asked). The chain details are kept whatever the verdict.
 *
 * Precedence follows the order in which CryptoAPI's base chain policy
 * reports a chain's errors (bad signature, untrusted root or partial
 * chain, wrong usage, time, then the SSL policy's name check), mapped to
 * what WinINet logs:
 *   1. cert_invalid: a presented certificate's signature is bad, or the
 *      server sent more than TRUST_MAX_CERTS certificates (12169);
 *   2. the chain reaches no phone anchor (12045): frontend_unknown when
 *      the phone set cannot judge yet (no anchor at all, or the FE
 *      issuer is still to be learned), else cert_untrusted_phone when the
 *      system set trusts it (the incident), else cert_untrusted;
 *   3. cert_invalid: other defects (usage, basic constraints, ...);
 *   4. cert_expired, then cert_not_yet_valid, for any certificate of the
 *      built chain, anchor included (12037);
 *   5. cert_name_mismatch (12038).
 * Every error is still kept: the OpenSSL error per set, the date problem,
 * the findings. Returns a verdict; never NULL.
 */
struct trust_verdict *
trust_evaluate(const struct trust_set *phone, const struct trust_set *system,
    STACK_OF(X509) * presented, const char *host, time_t now,
    unsigned int warn_days)
{
	struct trust_verdict *v = xcalloc(1, sizeof *v);
	struct trust_errors pe, se;
	STACK_OF(X509) * kept;
	const char *sha;
	X509 *leaf;
	int i, n;

	v->system_trusted = -1;
	v->phone.error_depth = v->system.error_depth = -1;
	v->issuer_position = v->date_position = -1;
	v->host = host != NULL ? xstrdup(host) : NULL;
	v->now = now;
	if (presented == NULL || (n = sk_X509_num(presented)) == 0) {
		v->reason = REASON_CERT_INVALID;
		return v;
	}
	/*
	 * Everything below sees only the kept certificates, so every
	 * position (issuer, date error, finding) indexes v->certs. A longer
	 * chain is judged on its head for the evidence, and fails: no real
	 * server sends more, and what a phone does with one is unknown.
	 */
	v->npresented = (size_t)n;
	v->ncerts = (size_t)(n < TRUST_MAX_CERTS ? n : TRUST_MAX_CERTS);
	if ((kept = sk_X509_dup(presented)) == NULL)
		fatalx("sk_X509_dup: out of memory");
	while (sk_X509_num(kept) > (int)v->ncerts)
		(void)sk_X509_pop(kept);
	v->certs = xcalloc(v->ncerts, sizeof *v->certs);
	for (i = 0; i < (int)v->ncerts; i++)
		trust_describe(sk_X509_value(kept, i), &v->certs[i]);
	leaf = sk_X509_value(kept, 0);
	for (i = 1; i < (int)v->ncerts && v->issuer_position < 0; i++) {
		if (X509_check_issued(sk_X509_value(kept, i), leaf) ==
		    X509_V_OK)
			v->issuer_position = i;
	}

	trust_verify(phone, kept, host, now, &pe, &v->phone);
	v->phone_trusted = v->phone.trusted;
	if (system != NULL) {
		trust_verify(system, kept, NULL, now, &se, &v->system);
		v->system_trusted = v->system.trusted;
		free(se.date_subject);
	}
	v->date_position = pe.date_position;
	v->date_subject = pe.date_subject;
	v->date_when = pe.date_when;
	sha = v->issuer_position >= 0 ? v->certs[v->issuer_position].sha256
	                              : NULL;
	v->issuer_lookalike = !v->phone_trusted && !v->certs[0].self_signed &&
	    trust_name_clash(phone, v->certs[0].issuer, sha);

	if (pe.sig_invalid || v->npresented > v->ncerts)
		v->reason = REASON_CERT_INVALID;
	else if (!v->phone_trusted) {
		if (phone->nanchors == 0 ||
		    (phone->learns_frontend &&
		        trust_set_count(phone, TRUST_SOURCE_FRONTEND) == 0))
			v->reason = REASON_FRONTEND_UNKNOWN;
		else if (v->system_trusted == 1)
			v->reason = REASON_CERT_UNTRUSTED_PHONE;
		else
			v->reason = REASON_CERT_UNTRUSTED;
	} else if (pe.invalid)
		v->reason = REASON_CERT_INVALID;
	else if (pe.expired)
		v->reason = REASON_CERT_EXPIRED;
	else if (pe.not_yet_valid)
		v->reason = REASON_CERT_NOT_YET_VALID;
	else if (pe.name)
		v->reason = REASON_CERT_NAME_MISMATCH;
	else
		v->reason = REASON_OK;
	trust_findings(v, kept, now, warn_days);
	sk_X509_free(kept);
	return v;
}

/* Free what a certificate description holds and zero it. */
void
trust_cert_info_clear(struct trust_cert_info *ci)
{
	size_t j;

	free(ci->subject);
	free(ci->issuer);
	free(ci->serial);
	for (j = 0; j < ci->nsans; j++)
		free(ci->sans[j]);
	free(ci->sans);
	memset(ci, 0, sizeof *ci);
}

/*
 * Describe anchor i of a set (for commands that list what phones trust):
 * its source and its certificate, as a presented one is described, and
 * the certificate itself (borrowed from the set). 0, or -1 past the last
 * anchor. Clear ci with trust_cert_info_clear().
 */
int
trust_set_anchor(const struct trust_set *set, size_t i,
    enum trust_source *source, struct trust_cert_info *ci, X509 **cert)
{
	memset(ci, 0, sizeof *ci);
	if (i >= set->nanchors)
		return -1;
	*source = set->anchors[i].source;
	*cert = set->anchors[i].cert;
	trust_describe(set->anchors[i].cert, ci);
	return 0;
}

/* Free a verdict; NULL is a no-op. */
void
trust_verdict_free(struct trust_verdict *v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < v->ncerts; i++)
		trust_cert_info_clear(&v->certs[i]);
	free(v->certs);
	for (i = 0; i < v->nfindings; i++)
		free(v->finding_list[i].detail);
	free(v->finding_list);
	free(v->findings_text);
	free(v->phone.anchor);
	free(v->system.anchor);
	free(v->host);
	free(v->date_subject);
	free(v);
}

/* "'X', issuer of the Lync pool certificate, and N web-trusted CAs" */
static char *
trust_phone_anchors(const struct trust_set *phone)
{
	size_t web = trust_set_count(phone, TRUST_SOURCE_WEB_TRUSTED);
	size_t pub = trust_set_count(phone, TRUST_SOURCE_PUBLIC_ROOT);
	size_t fe = trust_set_count(phone, TRUST_SOURCE_FRONTEND), i, k = 0;
	char *out;
	size_t len;
	FILE *fp = trust_memstream(&out, &len);

	for (i = 0; i < phone->nanchors; i++) {
		if (phone->anchors[i].source == TRUST_SOURCE_FRONTEND)
			fprintf(fp, "%s'%s'", k++ > 0 ? ", " : "",
			    phone->anchors[i].dn);
	}
	if (fe == 0)
		fputs("no Lync pool issuer", fp);
	else if (fe == 1)
		fputs(", issuer of the Lync pool certificate", fp);
	else
		fputs(" (the Lync pool certificate's CAs)", fp);
	if (pub == 0)
		fprintf(fp, ", and %zu web-trusted CA%s", web,
		    web == 1 ? "" : "s");
	else
		fprintf(fp,
		    ", %zu web-trusted CA%s and %zu firmware public "
		    "root%s",
		    web, web == 1 ? "" : "s", pub, pub == 1 ? "" : "s");
	return trust_memstream_done(fp, &out);
}

/* A time for messages: "2026-01-31 23:59 UTC" (also the commands'). */
void
trust_date(time_t t, char buf[32])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, 32, "%Y-%m-%d %H:%M UTC", &tm) == 0)
		snprintf(buf, 32, "@%lld", (long long)t);
}

/* "Phones log errorCode=12045 (0x80072F0D)." for a reason. */
static void
trust_logline(enum reason r, char buf[64])
{
	snprintf(buf, 64, "Phones log errorCode=%d (0x%08X).",
	    reason_wininet(r), reason_hresult(r));
}

/* The remedy for a chain phones do not trust. */
static char *
trust_untrusted_remedy(const struct trust_verdict *v,
    const struct trust_set *phone)
{
	const char *fe = trust_set_frontend_issuer(phone);
	char *out, *from;

	if (fe != NULL)
		xasprintf(&from, "'%s'", fe);
	else
		from = xstrdup("the CA that issued the Lync pool certificate");
	if (v->issuer_position < 0 && !v->certs[0].self_signed)
		xasprintf(&out,
		    "make the server send its issuing CA's certificate ('%s') "
		    "with its own; if phones still do not trust it, reissue "
		    "the certificate from %s, or publish its CA with "
		    "New-CsWebTrustedCACertificate.",
		    v->certs[0].issuer, from);
	else
		xasprintf(&out,
		    "reissue the certificate from %s, or publish its CA with "
		    "New-CsWebTrustedCACertificate.",
		    from);
	free(from);
	return out;
}

/* Message and remedy for a chain that reaches no phone anchor. */
static void
trust_explain_untrusted(const struct trust_verdict *v,
    const struct trust_set *phone, const char *head, char **message,
    char **remedy)
{
	const struct trust_cert_info *leaf = &v->certs[0];
	char *anchors = trust_phone_anchors(phone), *by, log[64];
	const char *pcs;

	if (leaf->self_signed)
		xasprintf(&by, "its certificate is self-signed ('%s')",
		    leaf->subject);
	else
		xasprintf(&by, "its certificate was issued by '%s'%s",
		    leaf->issuer,
		    v->issuer_position < 0 ? " (whose certificate the server "
		                             "does not send)"
		                           : "");
	if (v->system_trusted == 1)
		pcs = "PCs do trust it";
	else if (v->system_trusted == 0)
		pcs = "PCs do not trust it either";
	else
		pcs = "PC trust was not checked";
	trust_logline(v->reason, log);
	*remedy = trust_untrusted_remedy(v, phone);
	xasprintf(message,
	    "%s: %s, which phones do not trust (they trust %s)%s; "
	    "%s. %s",
	    head, by, anchors,
	    v->issuer_lookalike ? ": the CA they trust by that name is another "
	                          "certificate, with another key"
	                        : "",
	    pcs, log);
	free(anchors);
	free(by);
}

/* Message and remedy for a date problem (expired or not yet valid). */
static void
trust_explain_date(const struct trust_verdict *v, const char *head,
    char **message, char **remedy)
{
	char when[32], now[32], log[64], *what;
	int expired = v->reason == REASON_CERT_EXPIRED;
	const char *subject = v->date_subject != NULL ? v->date_subject : "?";

	trust_date(v->date_when, when);
	trust_date(v->now, now);
	trust_logline(v->reason, log);
	if (v->date_position == 0)
		xasprintf(&what, "its certificate '%s'", subject);
	else if (v->date_position > 0)
		xasprintf(&what,
		    "the CA certificate '%s' it sends (position "
		    "%d)",
		    subject, v->date_position);
	else
		xasprintf(&what, "the trusted CA certificate '%s'", subject);
	if (!expired)
		xasprintf(remedy,
		    "check the clocks of this host and of the CA that issued "
		    "'%s'; a certificate dated in the future means one of "
		    "them is wrong.",
		    subject);
	else if (v->date_position == 0)
		xasprintf(remedy,
		    "renew the EWS certificate and bind it in IIS on every "
		    "server behind this name (if it is current, check this "
		    "host's clock).");
	else if (v->date_position > 0)
		xasprintf(remedy,
		    "renew the CA certificate '%s' and make the server send "
		    "the new one.",
		    subject);
	else
		xasprintf(remedy,
		    "renew the CA '%s' and publish its new certificate to "
		    "phones and PCs.",
		    subject);
	xasprintf(message, "%s: %s %s %s (now %s). %s", head, what,
	    expired ? "expired on" : "is not valid before", when, now, log);
	free(what);
}

/* Message and remedy when the certificate does not name the host. */
static void
trust_explain_name(const struct trust_verdict *v, const struct trust_set *phone,
    const char *head, char **message, char **remedy)
{
	const struct trust_cert_info *leaf = &v->certs[0];
	const char *fe = trust_set_frontend_issuer(phone);
	char *names, log[64];
	size_t i, len;
	FILE *fp = trust_memstream(&names, &len);

	for (i = 0; i < leaf->nsans; i++)
		fprintf(fp, "%s%s", i > 0 ? ", " : "", leaf->sans[i]);
	if (leaf->nsans == 0)
		fputs("no DNS names; only its subject", fp);
	trust_memstream_done(fp, &names);
	trust_logline(v->reason, log);
	xasprintf(remedy,
	    "reissue the certificate%s%s%s with '%s' among its subject "
	    "alternative names, or publish an EWS URL whose host it names.",
	    fe != NULL ? " from '" : "", fe != NULL ? fe : "",
	    fe != NULL ? "'" : "", v->host != NULL ? v->host : "?");
	xasprintf(message,
	    "%s: its certificate '%s' does not name '%s' (names: %s; "
	    "wildcards cover one whole label only). %s",
	    head, leaf->subject, v->host != NULL ? v->host : "?", names, log);
	free(names);
}

/* Message and remedy for a healthy chain, with its risks if any. */
static void
trust_explain_ok(const struct trust_verdict *v, const char *url,
    const char *role, char **message, char **remedy)
{
	char *risks, *fixes;
	size_t i, k, len, flen;
	FILE *fp = trust_memstream(&risks, &len);
	FILE *fx = trust_memstream(&fixes, &flen);

	for (i = 0; i < v->nfindings; i++)
		fprintf(fp, "%s%s (%s)", i > 0 ? "; " : "",
		    trust_finding_name(v->finding_list[i].kind),
		    v->finding_list[i].detail);
	for (i = k = 0;
	     i < sizeof trust_finding_fixes / sizeof *trust_finding_fixes;
	     i++) {
		if (v->findings & TRUST_FINDING_BIT(i))
			fprintf(fx, "%s%s", k++ > 0 ? "; " : "",
			    trust_finding_fixes[i]);
	}
	trust_memstream_done(fp, &risks);
	trust_memstream_done(fx, &fixes);
	if (v->nfindings == 0) {
		xasprintf(message,
		    "phones can use EWS at %s (%s): its certificate chains "
		    "to '%s' (%s).",
		    url, role, v->phone.anchor != NULL ? v->phone.anchor : "?",
		    trust_source_name(v->phone.anchor_source));
		*remedy = NULL;
	} else {
		xasprintf(remedy, "to be safe for phones, serve %s.", fixes);
		xasprintf(message,
		    "phones can use EWS at %s (%s): its certificate chains "
		    "to '%s' (%s), but phones may fail on: %s.",
		    url, role, v->phone.anchor != NULL ? v->phone.anchor : "?",
		    trust_source_name(v->phone.anchor_source), risks);
	}
	free(risks);
	free(fixes);
}

/*
 * Explain a verdict in one line, and the remedy, from the evidence: which
 * certificate, which CAs (the EWS certificate's issuer, the CA an admin
 * reissues from or publishes), what the phone logs. The remedy comes
 * apart (NULL when there is nothing to fix); a journal line is
 * "<message> Fix: <remedy>". Both strings: caller frees.
 */
void
trust_explain(const struct trust_verdict *v, const struct trust_set *phone,
    const char *url, const char *role, char **message, char **remedy)
{
	size_t web = trust_set_count(phone, TRUST_SOURCE_WEB_TRUSTED);
	size_t pub = trust_set_count(phone, TRUST_SOURCE_PUBLIC_ROOT);
	char *head, log[64];

	*message = *remedy = NULL;
	xasprintf(&head, "phones cannot use EWS at %s (%s)", url, role);
	if (v->ncerts == 0) {
		trust_logline(REASON_CERT_INVALID, log);
		*remedy = xstrdup("make the server present its certificate "
		                  "chain.");
		xasprintf(message,
		    "%s: the server presented no usable "
		    "certificate chain. %s",
		    head, log);
		free(head);
		return;
	}
	if (v->npresented > v->ncerts) {
		trust_logline(REASON_CERT_INVALID, log);
		*remedy = xstrdup("make the server send only its certificate "
		                  "and its issuing CA's.");
		xasprintf(message,
		    "%s: the server sent %zu certificates; ewsprobed judges "
		    "at most %d, and what a phone does with more is not "
		    "known (certificate '%s'). %s",
		    head, v->npresented, TRUST_MAX_CERTS, v->certs[0].subject,
		    log);
		free(head);
		return;
	}
	switch (v->reason) {
	case REASON_OK:
		trust_explain_ok(v, url, role, message, remedy);
		break;
	case REASON_FRONTEND_UNKNOWN:
		if (phone->learns_frontend)
			xasprintf(remedy,
			    "make sure this host reaches the Lync pool named "
			    "by frontend (its issuer is learned from a TLS "
			    "handshake with it), or give frontend_ca = <PEM "
			    "file of the CA that issued the pool "
			    "certificate>.");
		else
			xasprintf(remedy,
			    "set frontend = <Lync pool FQDN>[:port] (its "
			    "issuer is learned from a TLS handshake) or "
			    "frontend_ca = <PEM file of the CA that issued the "
			    "pool certificate> in the profile.");
		xasprintf(message,
		    "cannot tell whether phones can use EWS at %s (%s): the "
		    "CA that issued the Lync pool certificate is not known, "
		    "and its certificate, issued by '%s', chains to none of "
		    "the %zu web-trusted CAs and %zu public roots.",
		    url, role, v->certs[0].issuer, web, pub);
		break;
	case REASON_CERT_UNTRUSTED_PHONE:
	case REASON_CERT_UNTRUSTED:
		trust_explain_untrusted(v, phone, head, message, remedy);
		break;
	case REASON_CERT_EXPIRED:
	case REASON_CERT_NOT_YET_VALID:
		trust_explain_date(v, head, message, remedy);
		break;
	case REASON_CERT_NAME_MISMATCH:
		trust_explain_name(v, phone, head, message, remedy);
		break;
	default:
		trust_logline(REASON_CERT_INVALID, log);
		xasprintf(remedy,
		    "install a chain that verifies (signatures, CA basic "
		    "constraints and key usage, serverAuth usage) on every "
		    "server behind this name.");
		xasprintf(message,
		    "%s: its certificate chain is invalid (OpenSSL: %s, at "
		    "depth %d; certificate '%s'). %s",
		    head,
		    v->phone.error_string != NULL ? v->phone.error_string
		                                  : "no certificate",
		    v->phone.error_depth, v->certs[0].subject, log);
		break;
	}
	free(head);
}

/*
 * Classify an OpenSSL error from a failed handshake: the peer and we share
 * no protocol version (a server that refuses TLS < 1.2 answers a TLS 1.0
 * client with a protocol_version alert), or anything else. "wrong version
 * number" also means the peer does not speak TLS at all on that port.
 */
enum reason
trust_classify_handshake_error(unsigned long err)
{
	if (ERR_GET_LIB(err) != ERR_LIB_SSL)
		return REASON_TLS_HANDSHAKE_FAILED;
	switch (ERR_GET_REASON(err)) {
	case SSL_R_UNSUPPORTED_PROTOCOL:
	case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
	case SSL_R_WRONG_VERSION_NUMBER:
	case SSL_R_NO_PROTOCOLS_AVAILABLE:
	case SSL_R_UNSUPPORTED_SSL_VERSION:
	case SSL_R_VERSION_TOO_LOW:
	case SSL_R_VERSION_TOO_HIGH:
		return REASON_TLS_VERSION_UNSUPPORTED;
	default:
		return REASON_TLS_HANDSHAKE_FAILED;
	}
}

/*
 * The same for a message that carries an OpenSSL error string, as libcurl
 * puts it in CURLOPT_ERRORBUFFER ("error:0A00042E:SSL
 * routines::tlsv1 alert protocol version"); the words alone also do.
 */
enum reason
trust_classify_handshake_message(const char *msg)
{
	static const char *words[] = {"alert protocol version",
	    "unsupported protocol", "wrong version number",
	    "no protocols available", "version too low", "version too high"};
	const char *p;
	unsigned long err;
	char *end;
	size_t i;

	if (msg == NULL)
		return REASON_TLS_HANDSHAKE_FAILED;
	if ((p = strstr(msg, "error:")) != NULL) {
		err = strtoul(p + 6, &end, 16);
		if (end != p + 6 && *end == ':' &&
		    trust_classify_handshake_error(err) ==
		        REASON_TLS_VERSION_UNSUPPORTED)
			return REASON_TLS_VERSION_UNSUPPORTED;
	}
	for (i = 0; i < sizeof words / sizeof *words; i++) {
		if (strcasestr(msg, words[i]) != NULL)
			return REASON_TLS_VERSION_UNSUPPORTED;
	}
	return REASON_TLS_HANDSHAKE_FAILED;
}

/*
 * A capture for one connection: TLS as the profile says; when enforce is
 * set, the handshake fails unless the phone set trusts the chain for host.
 * The set must outlive the capture, the capture the connection.
 */
struct trust_capture *
trust_capture_new(const struct config_profile *p, const struct trust_set *phone,
    const char *host, int enforce)
{
	struct trust_capture *cap = xcalloc(1, sizeof *cap);

	cap->tls_min = p->tls_min;
	cap->tls_max = p->tls_max;
	cap->phone = phone;
	cap->host = host != NULL ? xstrdup(host) : NULL;
	cap->enforce = enforce;
	cap->reason = REASON_OK;
	return cap;
}

/* Free a capture and its chain; NULL is a no-op. */
void
trust_capture_free(struct trust_capture *cap)
{
	if (cap == NULL)
		return;
	if (cap->chain != NULL)
		sk_X509_pop_free(cap->chain, X509_free);
	free(cap->host);
	free(cap);
}

/* The captured chain (leaf first, as sent), or NULL: borrowed. */
STACK_OF(X509) * trust_capture_chain(const struct trust_capture *cap)
{
	return cap->chain;
}

/* The TLS version the handshake negotiated ("TLSv1"), or NULL. */
const char *
trust_capture_tls_version(const struct trust_capture *cap)
{
	return cap->version;
}

/* Whether an enforcing capture refused the handshake. */
int
trust_capture_refused(const struct trust_capture *cap)
{
	return cap->refused;
}

/* Why an enforcing capture refused (REASON_OK if it did not). */
enum reason
trust_capture_reason(const struct trust_capture *cap)
{
	return cap->reason;
}

/*
 * The connection's certificate check (SSL_CTX_set_cert_verify_callback,
 * which replaces OpenSSL's own verification, so whatever store curl put in
 * the SSL_CTX plays no part): keep a copy of exactly what the server sent,
 * then either let the handshake finish (capture) or finish it only if
 * phones trust the chain (enforce). The decision is trust_evaluate's.
 */
static int
trust_cert_verify_cb(X509_STORE_CTX *xctx, void *arg)
{
	struct trust_capture *cap = arg;
	STACK_OF(X509) *sent = X509_STORE_CTX_get0_untrusted(xctx);
	X509 *leaf = X509_STORE_CTX_get0_cert(xctx), *x;
	SSL *ssl = X509_STORE_CTX_get_ex_data(xctx,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	struct trust_verdict *v;
	int i;

	if (cap->chain != NULL)
		sk_X509_pop_free(cap->chain, X509_free);
	if ((cap->chain = sk_X509_new_null()) == NULL)
		fatalx("sk_X509_new_null: out of memory");
	cap->version = ssl != NULL ? SSL_get_version(ssl) : NULL;
	/* libssl passes the peer's chain, leaf first, as untrusted. */
	if (leaf != NULL &&
	    (sent == NULL || sk_X509_num(sent) == 0 ||
	        X509_cmp(sk_X509_value(sent, 0), leaf) != 0)) {
		X509_up_ref(leaf);
		if (sk_X509_push(cap->chain, leaf) <= 0)
			fatalx("sk_X509_push: out of memory");
	}
	for (i = 0; sent != NULL && i < sk_X509_num(sent); i++) {
		x = sk_X509_value(sent, i);
		X509_up_ref(x);
		if (sk_X509_push(cap->chain, x) <= 0)
			fatalx("sk_X509_push: out of memory");
	}
	if (cap->enforce) {
		v = trust_evaluate(cap->phone, NULL, cap->chain, cap->host,
		    time(NULL), 0);
		cap->reason = v->reason;
		cap->refused = v->reason != REASON_OK;
		X509_STORE_CTX_set_error(xctx,
		    !cap->refused ? X509_V_OK
		        : v->phone.error != X509_V_OK
		        ? v->phone.error
		        : X509_V_ERR_CERT_UNTRUSTED);
		trust_verdict_free(v);
		return !cap->refused;
	}
	X509_STORE_CTX_set_error(xctx, X509_V_OK);
	return 1;
}

/* The OpenSSL protocol version for a CONFIG_TLS_* value. */
static int
trust_proto(int v)
{
	switch (v) {
	case CONFIG_TLS_1_0:
		return TLS1_VERSION;
	case CONFIG_TLS_1_1:
		return TLS1_1_VERSION;
	case CONFIG_TLS_1_2:
		return TLS1_2_VERSION;
	default:
		return TLS1_3_VERSION;
	}
}

/*
 * Make an SSL_CTX speak like the capture's profile and check certificates
 * through the capture. Never resumes a session: a resumed handshake
 * presents no certificate, and would hand back an old verdict. 0, or -1
 * when OpenSSL refuses a setting.
 */
int
trust_ssl_ctx_setup(SSL_CTX *ctx, struct trust_capture *cap)
{
	int lo = cap->tls_min != 0 ? cap->tls_min : CONFIG_TLS_1_0;
	int hi = cap->tls_max != 0 ? cap->tls_max : CONFIG_TLS_1_3;

	/* OpenSSL 3 refuses TLS 1.0/1.1 above security level 0. */
	if (lo <= CONFIG_TLS_1_1)
		SSL_CTX_set_security_level(ctx, 0);
	if (hi <= CONFIG_TLS_1_1 &&
	    SSL_CTX_set_cipher_list(ctx, TRUST_PHONE_CIPHERS) != 1)
		goto fail;
	if (SSL_CTX_set_min_proto_version(ctx, trust_proto(lo)) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, trust_proto(hi)) != 1)
		goto fail;
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_cert_verify_callback(ctx, trust_cert_verify_cb, cap);
	return 0;

fail:
	log_warnx("%s: OpenSSL refused the TLS settings of the profile",
	    __func__);
	ERR_clear_error();
	return -1;
}

/*
 * An http_ssl_ctx_cb (http.h) for requests that libcurl itself validates
 * (autodiscover): the set's store, built once per configuration load,
 * becomes the connection's trust store, so that no CA bundle is parsed per
 * connection (~30 ms for a system bundle: thirty handshakes). Never
 * resumes a session.
 */
int
trust_set_install(void *ssl_ctx, void *arg)
{
	struct trust_set *set = arg;

	/* Takes a reference: a store rebuilt later does not pull the rug. */
	SSL_CTX_set1_cert_store(ssl_ctx, set->store);
	SSL_CTX_set_options(ssl_ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ssl_ctx, SSL_SESS_CACHE_OFF);
	return 0;
}

/* An http_ssl_ctx_cb (http.h): trust_ssl_ctx_setup for a capture. */
int
trust_capture_install(void *ssl_ctx, void *arg)
{
	return trust_ssl_ctx_setup(ssl_ctx, arg);
}
