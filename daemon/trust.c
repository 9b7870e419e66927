/*
 * trust: owns trust sets (anchor certificates and their X509_STORE), the
 * evaluation of a presented chain under the phone and system sets, the
 * findings and the explanation of a verdict, and the SSL_CTX set-up that
 * captures (or enforces) on a live connection. OpenSSL's codes stop here:
 * callers see enum reason and words.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "trust.h"
#include "xmalloc.h"

/*
 * The cipher suites a Windows CE 6 era TLS 1.0 client (Lync Phone Edition)
 * offers: RSA key exchange with AES or 3DES (XXX assumption: the LPE
 * ClientHello is not documented publicly; RC4 is gone from OpenSSL 3).
 * OpenSSL 3 refuses these below security level 0, so the profile lowers the
 * level and applies its own checks (the findings) instead.
 */
#define TRUST_PHONE_CIPHERS "AES128-SHA:AES256-SHA:DES-CBC3-SHA:@SECLEVEL=0"

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
	int partial; /* intermediates are anchors (phone sets) */
};

struct trust_capture {
	int tls_min, tls_max;
	const struct trust_set *phone;
	char *host;
	int enforce;
	int refused;
	STACK_OF(X509) * chain;
};

/* Errors met while verifying one chain, gathered by the callback. */
struct trust_errors {
	int untrusted;
	int expired;
	int not_yet_valid;
	int name;
	int invalid;
	int first; /* first X509_V_ERR_* seen, or X509_V_OK */
};

/* A certificate's display DN, ordered as encoded, ", " between RDNs. */
char *
trust_dn(const X509_NAME *name)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p, *out;
	long n;

	if (b == NULL)
		fatalx("BIO_new: out of memory");
	/*
	 * Reverse (most specific first) as Windows shows it, no escaping of
	 * the comma inside "Issuing CA for contoso,com": the two look-alike
	 * names then read exactly as an admin sees them in certlm.msc.
	 */
	X509_NAME_print_ex(b, name, 0,
	    XN_FLAG_SEP_CPLUS_SPC | XN_FLAG_DN_REV | XN_FLAG_FN_SN |
	        ASN1_STRFLGS_UTF8_CONVERT | ASN1_STRFLGS_ESC_CTRL);
	n = BIO_get_mem_data(b, &p);
	out = xstrndup(p, n > 0 ? (size_t)n : 0);
	BIO_free(b);
	return out;
}

/* The SHA-256 fingerprint of a certificate as lower-case hex. */
static void
trust_sha256(X509 *cert, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;

	X509_digest(cert, EVP_sha256(), md, &len);
	for (i = 0; i < len && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[2 * i] = '\0';
}

/* Add an anchor to a set (the certificate is up-referenced). */
static void
trust_add(struct trust_set *set, X509 *cert, enum trust_source source)
{
	struct trust_anchor *a;

	set->anchors = xreallocarray(set->anchors, set->nanchors + 1,
	    sizeof *set->anchors);
	a = &set->anchors[set->nanchors++];
	X509_up_ref(cert);
	a->cert = cert;
	a->source = source;
	a->dn = trust_dn(X509_get_subject_name(cert));
	trust_sha256(cert, a->sha256);
}

/* (Re)build the set's X509_STORE from its anchors. */
static void
trust_rebuild(struct trust_set *set)
{
	size_t i;

	X509_STORE_free(set->store);
	if ((set->store = X509_STORE_new()) == NULL)
		fatalx("X509_STORE_new: out of memory");
	for (i = 0; i < set->nanchors; i++)
		X509_STORE_add_cert(set->store, set->anchors[i].cert);
}

/* Load every certificate of a PEM file; return how many, -1 on error. */
static int
trust_load_file(struct trust_set *set, const char *path,
    enum trust_source source, char **cause)
{
	BIO *b;
	X509 *x;
	int n = 0;

	if ((b = BIO_new_file(path, "r")) == NULL) {
		xasprintf(cause, "%s: cannot open", path);
		ERR_clear_error();
		return -1;
	}
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		trust_add(set, x, source);
		X509_free(x);
		n++;
	}
	ERR_clear_error();
	BIO_free(b);
	if (n == 0) {
		xasprintf(cause, "%s: no PEM certificate in it", path);
		return -1;
	}
	return n;
}

/* Load a file, or every .pem/.crt/.cer file of a directory. */
static int
trust_load_path(struct trust_set *set, const char *path,
    enum trust_source source, char **cause)
{
	struct dirent *de;
	struct stat sb;
	const char *dot;
	char *file;
	DIR *d;
	int n = 0;

	if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return trust_load_file(set, path, source, cause);
	if ((d = opendir(path)) == NULL) {
		xasprintf(cause, "%s: cannot open the directory", path);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		dot = strrchr(de->d_name, '.');
		if (dot == NULL ||
		    (strcasecmp(dot, ".pem") != 0 &&
		        strcasecmp(dot, ".crt") != 0 &&
		        strcasecmp(dot, ".cer") != 0))
			continue;
		xasprintf(&file, "%s/%s", path, de->d_name);
		if (trust_load_file(set, file, source, cause) < 0) {
			free(file);
			closedir(d);
			return -1;
		}
		free(file);
		n++;
	}
	closedir(d);
	return n;
}

/* A new, empty set. */
static struct trust_set *
trust_set_alloc(int partial)
{
	struct trust_set *set = xcalloc(1, sizeof *set);

	set->partial = partial;
	return set;
}

/*
 * The phone set of a profile: FE issuing CA file, web-trusted CAs, public
 * roots (the learned FE issuer comes later). NULL with *cause on error.
 */
struct trust_set *
trust_set_new_phone(const struct config_profile *p, char **cause)
{
	struct trust_set *set = trust_set_alloc(1);
	size_t i;

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

/* The system set from an OS bundle (parsed once per load: ~30 ms). */
struct trust_set *
trust_set_new_system(const char *bundle, char **cause)
{
	struct trust_set *set = trust_set_alloc(0);

	if (trust_load_path(set, bundle, TRUST_SOURCE_SYSTEM, cause) < 0) {
		trust_set_free(set);
		return NULL;
	}
	trust_rebuild(set);
	return set;
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
 * presented: the presented certificate whose key signed the leaf. It
 * replaces a previously learned FE anchor; *changed says whether it
 * differs (by fingerprint) from the one before. 0, or -1 with *cause.
 */
int
trust_set_learn_frontend(struct trust_set *set, STACK_OF(X509) * chain,
    int *changed, char **cause)
{
	X509 *leaf, *cand, *issuer = NULL;
	EVP_PKEY *key;
	char sha[65], old[65] = "";
	size_t i, j;
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
		char *dn = trust_dn(X509_get_issuer_name(leaf));

		xasprintf(cause,
		    "the Front End pool did not send the CA that "
		    "issued its certificate ('%s'); give it as frontend_ca",
		    dn);
		free(dn);
		return -1;
	}
	trust_sha256(issuer, sha);
	/* Drop the previously learned FE anchors, keep the others. */
	for (i = j = 0; i < set->nanchors; i++) {
		if (set->anchors[i].source == TRUST_SOURCE_FRONTEND) {
			if (old[0] == '\0')
				memcpy(old, set->anchors[i].sha256, sizeof old);
			X509_free(set->anchors[i].cert);
			free(set->anchors[i].dn);
			continue;
		}
		set->anchors[j++] = set->anchors[i];
	}
	set->nanchors = j;
	trust_add(set, issuer, TRUST_SOURCE_FRONTEND);
	trust_rebuild(set);
	*changed = old[0] != '\0' && strcmp(old, sha) != 0;
	return 0;
}

/* Verify callback: note every error and go on, so all are known. */
static int
trust_verify_cb(int ok, X509_STORE_CTX *ctx)
{
	struct trust_errors *e = X509_STORE_CTX_get_app_data(ctx);
	int err = X509_STORE_CTX_get_error(ctx);

	if (ok)
		return 1;
	if (e->first == X509_V_OK)
		e->first = err;
	switch (err) {
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_CERT_UNTRUSTED:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		e->untrusted = 1;
		break;
	case X509_V_ERR_CERT_HAS_EXPIRED:
		e->expired = 1;
		break;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		e->not_yet_valid = 1;
		break;
	case X509_V_ERR_HOSTNAME_MISMATCH:
		e->name = 1;
		break;
	default:
		e->invalid = 1;
		break;
	}
	return 1;
}

/*
 * Verify the presented chain under set: exactly the certificates sent, no
 * AIA fetching, at time now, for host (NULL: no name check). Fill e; set
 * *anchor to the anchor's DN when the chain reached one.
 */
static void
trust_verify(const struct trust_set *set, STACK_OF(X509) * presented,
    const char *host, time_t now, struct trust_errors *e, char **anchor)
{
	X509_STORE_CTX *ctx;
	X509_VERIFY_PARAM *param;
	STACK_OF(X509) * built;
	X509 *top;
	size_t i;

	memset(e, 0, sizeof *e);
	e->first = X509_V_OK;
	if (anchor != NULL)
		*anchor = NULL;
	if ((ctx = X509_STORE_CTX_new()) == NULL)
		fatalx("X509_STORE_CTX_new: out of memory");
	if (!X509_STORE_CTX_init(ctx, set->store, sk_X509_value(presented, 0),
	        presented))
		fatalx("X509_STORE_CTX_init failed");
	X509_STORE_CTX_set_app_data(ctx, e);
	X509_STORE_CTX_set_verify_cb(ctx, trust_verify_cb);
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
	param = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_time(param, now);
	if (set->partial)
		X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
	if (host != NULL) {
		X509_VERIFY_PARAM_set_hostflags(param,
		    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		X509_VERIFY_PARAM_set1_host(param, host, 0);
	}
	(void)X509_verify_cert(ctx);
	if (set->nanchors == 0)
		e->untrusted = 1;
	built = X509_STORE_CTX_get0_chain(ctx);
	if (!e->untrusted && anchor != NULL && built != NULL &&
	    sk_X509_num(built) > 0) {
		top = sk_X509_value(built, sk_X509_num(built) - 1);
		for (i = 0; i < set->nanchors; i++) {
			if (X509_cmp(top, set->anchors[i].cert) == 0)
				*anchor = xstrdup(set->anchors[i].dn);
		}
	}
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
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

/* Describe one presented certificate. */
static void
trust_describe(X509 *x, struct trust_cert_info *ci)
{
	GENERAL_NAMES *gens;
	const GENERAL_NAME *g;
	EVP_PKEY *key;
	BIGNUM *bn;
	char *hex, *s = NULL, *t;
	int i, nid;

	ci->subject = trust_dn(X509_get_subject_name(x));
	ci->issuer = trust_dn(X509_get_issuer_name(x));
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	hex = bn != NULL ? BN_bn2hex(bn) : NULL;
	ci->serial = xstrdup(hex != NULL ? hex : "");
	OPENSSL_free(hex);
	BN_free(bn);
	trust_sha256(x, ci->sha256);
	ci->not_before = trust_time(X509_get0_notBefore(x));
	ci->not_after = trust_time(X509_get0_notAfter(x));
	if ((key = X509_get0_pubkey(x)) != NULL) {
		if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC) {
			char group[32] = "";

			EVP_PKEY_get_group_name(key, group, sizeof group, NULL);
			snprintf(ci->key, sizeof ci->key, "EC-%s", group);
		} else
			snprintf(ci->key, sizeof ci->key, "%s-%d",
			    EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA_PSS
			        ? "RSA-PSS"
			        : EVP_PKEY_get0_type_name(key),
			    EVP_PKEY_get_bits(key));
	}
	nid = X509_get_signature_nid(x);
	snprintf(ci->sigalg, sizeof ci->sigalg, "%s", OBJ_nid2ln(nid));
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != GEN_DNS)
			continue;
		xasprintf(&t, "%s%s%.*s", s != NULL ? s : "",
		    s != NULL ? ", " : "", ASN1_STRING_length(g->d.dNSName),
		    (const char *)ASN1_STRING_get0_data(g->d.dNSName));
		free(s);
		s = t;
	}
	GENERAL_NAMES_free(gens);
	ci->sans = s;
	ci->is_ca = X509_check_ca(x) > 0;
	ci->self_signed = X509_check_issued(x, x) == X509_V_OK;
	ERR_clear_error();
}

/* Append words to the findings text. */
static void trust_finding(struct trust_verdict *v, unsigned int bit,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
trust_finding(struct trust_verdict *v, unsigned int bit, const char *fmt, ...)
{
	char *words, *t;
	va_list ap;

	if (v->findings & bit)
		return;
	v->findings |= bit;
	va_start(ap, fmt);
	xvasprintf(&words, fmt, ap);
	va_end(ap);
	xasprintf(&t, "%s%s%s",
	    v->findings_text != NULL ? v->findings_text : "",
	    v->findings_text != NULL ? "; " : "", words);
	free(v->findings_text);
	free(words);
	v->findings_text = t;
}

/* Whether host is matched only through a wildcard SAN of the leaf. */
static int
trust_wildcard_match(X509 *leaf, const char *host)
{
	char *peer = NULL;
	int r;

	if (host == NULL)
		return 0;
	r = X509_check_host(leaf, host, 0, X509_CHECK_FLAG_NO_WILDCARDS, NULL);
	if (r == 1)
		return 0;
	r = X509_check_host(leaf, host, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
	    &peer);
	OPENSSL_free(peer);
	return r == 1;
}

/* Record the risk findings of a presented chain. */
static void
trust_findings(struct trust_verdict *v, STACK_OF(X509) * presented,
    const char *host, time_t now, unsigned int warn_days)
{
	const struct trust_cert_info *ci;
	size_t i, intermediates = 0;
	int nid;

	if (trust_wildcard_match(sk_X509_value(presented, 0), host))
		trust_finding(v, TRUST_FINDING_WILDCARD,
		    "the name %s is covered only by a wildcard", host);
	for (i = 0; i < v->ncerts; i++) {
		ci = &v->certs[i];
		nid = X509_get_signature_nid(sk_X509_value(presented, (int)i));
		if (i > 0 && !ci->self_signed)
			intermediates++;
		if (ci->self_signed && i > 0)
			trust_finding(v, TRUST_FINDING_ROOT_SENT,
			    "the root '%s' is sent in the chain", ci->subject);
		if (nid == NID_sha384WithRSAEncryption ||
		    nid == NID_sha512WithRSAEncryption ||
		    nid == NID_ecdsa_with_SHA384 ||
		    nid == NID_ecdsa_with_SHA512)
			trust_finding(v, TRUST_FINDING_SHA384_512,
			    "'%s' is signed with %s", ci->subject, ci->sigalg);
		if (strncmp(ci->key, "EC-", 3) == 0)
			trust_finding(v, TRUST_FINDING_ECDSA,
			    "'%s' has an ECDSA key (%s)", ci->subject, ci->key);
		if (nid == NID_rsassaPss || strncmp(ci->key, "RSA-PSS", 7) == 0)
			trust_finding(v, TRUST_FINDING_RSA_PSS,
			    "'%s' uses RSA-PSS", ci->subject);
		if (strncmp(ci->key, "RSA-", 4) == 0 &&
		    atoi(ci->key + 4) > 2048)
			trust_finding(v, TRUST_FINDING_LARGE_KEY,
			    "'%s' has a %s key (above 2048 bits)", ci->subject,
			    ci->key);
		if (ci->not_after > now &&
		    ci->not_after - now < (time_t)warn_days * 86400)
			trust_finding(v, TRUST_FINDING_EXPIRING,
			    "'%s' expires in %ld days", ci->subject,
			    (long)((ci->not_after - now) / 86400));
	}
	if (intermediates > 1)
		trust_finding(v, TRUST_FINDING_EXTRA_INTERMEDIATES,
		    "%zu intermediate certificates are sent", intermediates);
}

/*
 * Judge a presented chain (leaf first, as sent) for host at time now:
 * under the phone set (this decides), and under the system set when given.
 * Precedence, as WinINet reports the first of these a chain has: untrusted
 * (12045), expired/not yet valid (12037), name (12038), other (12169).
 */
struct trust_verdict *
trust_evaluate(const struct trust_set *phone, const struct trust_set *system,
    STACK_OF(X509) * presented, const char *host, time_t now,
    unsigned int warn_days)
{
	struct trust_verdict *v = xcalloc(1, sizeof *v);
	struct trust_errors pe, se;
	int i;

	v->system_trusted = -1;
	if (presented == NULL || sk_X509_num(presented) == 0) {
		v->reason = REASON_CERT_INVALID;
		return v;
	}
	v->ncerts = (size_t)sk_X509_num(presented);
	v->certs = xcalloc(v->ncerts, sizeof *v->certs);
	for (i = 0; i < sk_X509_num(presented); i++)
		trust_describe(sk_X509_value(presented, i), &v->certs[i]);

	trust_verify(phone, presented, host, now, &pe, &v->anchor);
	v->phone_error = pe.first;
	v->phone_trusted = !pe.untrusted;
	if (system != NULL) {
		trust_verify(system, presented, NULL, now, &se, NULL);
		v->system_error = se.first;
		v->system_trusted = !se.untrusted;
	}
	if (phone->nanchors == 0)
		v->reason = REASON_FRONTEND_UNKNOWN;
	else if (pe.untrusted)
		v->reason = v->system_trusted == 1 ? REASON_CERT_UNTRUSTED_PHONE
		                                   : REASON_CERT_UNTRUSTED;
	else if (pe.expired)
		v->reason = REASON_CERT_EXPIRED;
	else if (pe.not_yet_valid)
		v->reason = REASON_CERT_NOT_YET_VALID;
	else if (pe.name)
		v->reason = REASON_CERT_NAME_MISMATCH;
	else if (pe.invalid)
		v->reason = REASON_CERT_INVALID;
	else
		v->reason = REASON_OK;
	trust_findings(v, presented, host, now, warn_days);
	return v;
}

/* Free a verdict; NULL is a no-op. */
void
trust_verdict_free(struct trust_verdict *v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < v->ncerts; i++) {
		free(v->certs[i].subject);
		free(v->certs[i].issuer);
		free(v->certs[i].serial);
		free(v->certs[i].sans);
	}
	free(v->certs);
	free(v->anchor);
	free(v->findings_text);
	free(v);
}

/* "they trust 'X', issuer of the Lync pool certificate, and N ..." */
static char *
trust_phone_anchors(const struct trust_set *phone)
{
	const char *fe = trust_set_frontend_issuer(phone);
	size_t web = trust_set_count(phone, TRUST_SOURCE_WEB_TRUSTED);
	size_t pub = trust_set_count(phone, TRUST_SOURCE_PUBLIC_ROOT);
	char *s, *roots = NULL;

	if (pub > 0)
		xasprintf(&roots, ", and %zu firmware public root%s", pub,
		    pub == 1 ? "" : "s");
	if (fe != NULL)
		xasprintf(&s,
		    "they trust '%s', issuer of the Lync pool "
		    "certificate, and %zu web-trusted CA%s%s",
		    fe, web, web == 1 ? "" : "s", roots != NULL ? roots : "");
	else
		xasprintf(&s,
		    "they trust %zu web-trusted CA%s%s and no Lync "
		    "pool issuer",
		    web, web == 1 ? "" : "s", roots != NULL ? roots : "");
	free(roots);
	return s;
}

/* The date part of a time for messages (UTC, YYYY-MM-DD). */
static void
trust_date(time_t t, char buf[16])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 16, "%Y-%m-%d", &tm);
}

/*
 * Explain a verdict in one line, and the remedy, from the evidence: which
 * certificate, which CAs, what the phone logs. Both strings: caller frees.
 */
void
trust_explain(const struct trust_verdict *v, const struct trust_set *phone,
    const char *url, const char *role, char **message, char **remedy)
{
	const struct trust_cert_info *leaf =
	    v->ncerts > 0 ? &v->certs[0] : NULL;
	const char *fe = trust_set_frontend_issuer(phone);
	char *anchors, d[16], head[512];

	snprintf(head, sizeof head, "phones cannot use EWS at %s (%s)", url,
	    role);
	*message = *remedy = NULL;
	switch (v->reason) {
	case REASON_OK:
		xasprintf(message, "phones trust EWS at %s (%s)%s%s", url, role,
		    v->anchor != NULL ? ": chain ends at " : "",
		    v->anchor != NULL ? v->anchor : "");
		return;
	case REASON_FRONTEND_UNKNOWN:
		xasprintf(message,
		    "cannot judge EWS at %s (%s) as a phone: "
		    "no phone trust anchor is known (the Lync pool's issuer "
		    "was "
		    "not learned)",
		    url, role);
		xasprintf(remedy,
		    "set frontend = <Lync pool FQDN> (reachable "
		    "on 443) or frontend_ca = <issuing CA PEM> in the phone "
		    "profile");
		return;
	case REASON_CERT_UNTRUSTED_PHONE:
	case REASON_CERT_UNTRUSTED:
		anchors = trust_phone_anchors(phone);
		xasprintf(message,
		    "%s: its certificate was issued by '%s', "
		    "which phones do not trust (%s); PCs %s. Phones log "
		    "errorCode=%d (0x%08X).",
		    head, leaf->issuer, anchors,
		    v->reason == REASON_CERT_UNTRUSTED_PHONE
		        ? "do trust it"
		        : "do not trust it either",
		    reason_wininet(v->reason), reason_hresult(v->reason));
		free(anchors);
		if (fe != NULL)
			xasprintf(remedy,
			    "reissue the certificate from '%s', "
			    "or publish its CA with "
			    "New-CsWebTrustedCACertificate.",
			    fe);
		else
			xasprintf(remedy,
			    "reissue the certificate from the CA "
			    "that issued the Lync pool certificate, or publish "
			    "its CA with New-CsWebTrustedCACertificate.");
		return;
	case REASON_CERT_EXPIRED:
	case REASON_CERT_NOT_YET_VALID:
		trust_date(v->reason == REASON_CERT_EXPIRED ? leaf->not_after
		                                            : leaf->not_before,
		    d);
		xasprintf(message,
		    "%s: its certificate '%s' %s %s. Phones log "
		    "errorCode=%d (0x%08X).",
		    head, leaf->subject,
		    v->reason == REASON_CERT_EXPIRED ? "expired on"
		                                     : "is not valid before",
		    d, reason_wininet(v->reason), reason_hresult(v->reason));
		xasprintf(remedy, "%s",
		    v->reason == REASON_CERT_EXPIRED
		        ? "renew the EWS certificate (from a CA phones trust) "
		          "and "
		          "bind it in IIS."
		        : "check the server's and this host's "
		          "clocks, or install a certificate that is valid "
		          "now.");
		return;
	case REASON_CERT_NAME_MISMATCH:
		xasprintf(message,
		    "%s: its certificate '%s' does not name the "
		    "host (names: %s). Phones log errorCode=%d (0x%08X).",
		    head, leaf->subject,
		    leaf->sans != NULL ? leaf->sans : "none",
		    reason_wininet(v->reason), reason_hresult(v->reason));
		xasprintf(remedy,
		    "add the EWS host name to the certificate's "
		    "subject alternative names, or publish an EWS URL the "
		    "certificate names.");
		return;
	default:
		xasprintf(message,
		    "%s: its certificate chain is invalid "
		    "(OpenSSL: %s). Phones log errorCode=%d (0x%08X).",
		    head, X509_verify_cert_error_string(v->phone_error),
		    reason_wininet(v->reason), reason_hresult(v->reason));
		xasprintf(remedy, "install a valid certificate chain for EWS.");
		return;
	}
}

/* A capture for one connection: TLS per profile, phone set for host. */
struct trust_capture *
trust_capture_new(const struct config_profile *p, const struct trust_set *phone,
    const char *host, int enforce)
{
	struct trust_capture *cap = xcalloc(1, sizeof *cap);

	cap->tls_min = p->tls_min;
	cap->tls_max = p->tls_max;
	cap->phone = phone;
	cap->host = xstrdup(host);
	cap->enforce = enforce;
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

/* The captured chain (leaf first), or NULL if no handshake got that far. */
STACK_OF(X509) * trust_capture_chain(const struct trust_capture *cap)
{
	return cap->chain;
}

/* Whether an enforcing capture refused the handshake. */
int
trust_capture_refused(const struct trust_capture *cap)
{
	return cap->refused;
}

/*
 * The connection's certificate check (SSL_CTX_set_cert_verify_callback):
 * keep a copy of exactly what the server sent, then either let the
 * handshake finish (capture) or finish it only if phones trust the chain
 * (enforce). Short: the decision is trust_evaluate's.
 */
static int
trust_cert_verify_cb(X509_STORE_CTX *xctx, void *arg)
{
	struct trust_capture *cap = arg;
	STACK_OF(X509) *sent = X509_STORE_CTX_get0_untrusted(xctx);
	X509 *leaf = X509_STORE_CTX_get0_cert(xctx), *x;
	struct trust_verdict *v;
	int i;

	if (cap->chain != NULL)
		sk_X509_pop_free(cap->chain, X509_free);
	if ((cap->chain = sk_X509_new_null()) == NULL)
		fatalx("sk_X509_new_null: out of memory");
	X509_up_ref(leaf);
	sk_X509_push(cap->chain, leaf);
	for (i = 0; sent != NULL && i < sk_X509_num(sent); i++) {
		x = sk_X509_value(sent, i);
		if (X509_cmp(x, leaf) == 0)
			continue;
		X509_up_ref(x);
		sk_X509_push(cap->chain, x);
	}
	if (cap->enforce) {
		v = trust_evaluate(cap->phone, NULL, cap->chain, cap->host,
		    time(NULL), 0);
		cap->refused = v->reason != REASON_OK;
		trust_verdict_free(v);
		if (cap->refused) {
			X509_STORE_CTX_set_error(xctx,
			    X509_V_ERR_CERT_UNTRUSTED);
			return 0;
		}
	}
	X509_STORE_CTX_set_error(xctx, X509_V_OK);
	return 1;
}

/* Protocol version constants for CONFIG_TLS_*. */
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
 * An http_ssl_ctx_cb: make the SSL_CTX speak like the profile and check
 * certificates through the capture. Never resumes a session (a resumed
 * handshake presents no certificate).
 */
int
trust_capture_install(void *ssl_ctx, void *arg)
{
	struct trust_capture *cap = arg;
	SSL_CTX *ctx = ssl_ctx;

	if (cap->tls_max <= CONFIG_TLS_1_1) {
		SSL_CTX_set_security_level(ctx, 0);
		if (SSL_CTX_set_cipher_list(ctx, TRUST_PHONE_CIPHERS) != 1)
			return -1;
	}
	if (SSL_CTX_set_min_proto_version(ctx, trust_proto(cap->tls_min)) !=
	        1 ||
	    SSL_CTX_set_max_proto_version(ctx, trust_proto(cap->tls_max)) != 1)
		return -1;
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_cert_verify_callback(ctx, trust_cert_verify_cb, cap);
	return 0;
}
