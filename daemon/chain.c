/*
 * chain: owns the evaluation of a presented certificate chain — verifying
 * it under the phone set and the system set as a TLS client would, ranking
 * the errors into one reason as a phone reports them, and recording the
 * findings that put phones at risk. OpenSSL's verify codes stop here:
 * callers see enum reason and plain data (chain.h).
 *
 * A verdict depends on its inputs alone: the bytes of the certificates
 * presented, the two sets as they are (trustset_version), the host, the
 * second it is judged at and warn_days. Every handshake of a run against
 * one site presents the same chain, and a discovery judges its chain
 * twice (in the handshake and after it), so the last few verdicts are
 * kept with their inputs: a chain whose inputs are all equal, the
 * certificates compared byte for byte, gets a copy of the kept verdict
 * instead of its signatures verified again. Each handshake still gets a
 * verdict of its own, equal to what judging it afresh would give.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "chain.h"
#include "log.h"
#include "xmalloc.h"

/* Errors met while verifying one chain, gathered by the callback. */
struct chain_errors {
	STACK_OF(X509) *presented;
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

/*
 * Verdicts kept (see above): CHAIN_MEMO_SLOTS of them, the least recently
 * used replaced; chains whose certificates total more than
 * CHAIN_MEMO_MAX_DER bytes are judged afresh and not kept.
 */
#define CHAIN_MEMO_SLOTS 8
#define CHAIN_MEMO_MAX_DER 65536

struct chain_memo {
	unsigned char *key; /* per certificate presented: 4-byte length, DER */
	size_t keylen;
	uint64_t phone, system; /* trustset_version; 0: no set */
	char *host;
	time_t now;
	unsigned int warn_days;
	unsigned long used; /* chain_memo_clock when last found or filled */
	struct chain_verdict *v;
};

static struct chain_memo chain_memo[CHAIN_MEMO_SLOTS];
static unsigned long chain_memo_clock;
static size_t chain_memo_hits, chain_memo_misses;

static const char *chain_finding_names[] = {
    [CHAIN_FINDING_WILDCARD] = "wildcard_name",
    [CHAIN_FINDING_EXTRA_INTERMEDIATES] = "extra_intermediates",
    [CHAIN_FINDING_ROOT_SENT] = "root_sent",
    [CHAIN_FINDING_SHA384_512] = "sha384_512_signature",
    [CHAIN_FINDING_ECDSA] = "ecdsa_key",
    [CHAIN_FINDING_RSA_PSS] = "rsa_pss",
    [CHAIN_FINDING_LARGE_KEY] = "rsa_key_over_2048",
    [CHAIN_FINDING_EXPIRING] = "cert_expiring",
};

/*
 * What each finding risks for a phone (docs/protocol.md §3.7), so that a
 * warning says why it is one.
 */
static const char *chain_finding_risks[] = {
    [CHAIN_FINDING_WILDCARD] =
        "a wildcard EWS certificate is reported to stop Exchange integration on phones",
    [CHAIN_FINDING_EXTRA_INTERMEDIATES] =
        "extra intermediates or cross-certificates broke phones even with the root trusted",
    [CHAIN_FINDING_ROOT_SENT] =
        "phones build the chain only from what is sent; a root in it is one more certificate to get wrong",
    [CHAIN_FINDING_SHA384_512] =
        "whether phones verify SHA-384/512 signatures is not known",
    [CHAIN_FINDING_ECDSA] =
        "phones offer only RSA key exchange; whether they accept ECDSA is not known",
    [CHAIN_FINDING_RSA_PSS] =
        "whether phones verify RSA-PSS signatures is not known",
    [CHAIN_FINDING_LARGE_KEY] =
        "whether phones accept RSA keys over 2048 bits is not known",
    [CHAIN_FINDING_EXPIRING] =
        "phones log 12037 and lose Exchange the day it expires",
};

/* What a phone should be served instead, per finding (for remedies). */
static const char *chain_finding_fixes[] = {
    [CHAIN_FINDING_WILDCARD] =
        "a certificate that names the EWS host itself, not a wildcard",
    [CHAIN_FINDING_EXTRA_INTERMEDIATES] =
        "only the issuing CA along with the certificate",
    [CHAIN_FINDING_ROOT_SENT] = "a chain without its root",
    [CHAIN_FINDING_SHA384_512] = "SHA-256 signatures",
    [CHAIN_FINDING_ECDSA] = "RSA keys",
    [CHAIN_FINDING_RSA_PSS] = "PKCS#1 v1.5 signatures, not RSA-PSS",
    [CHAIN_FINDING_LARGE_KEY] = "RSA-2048 keys",
    [CHAIN_FINDING_EXPIRING] = "certificates renewed well before they expire",
};

/* A finding's stable name. */
const char *
chain_finding_name(enum chain_finding_kind k)
{
	if ((size_t)k >=
	    sizeof chain_finding_names / sizeof *chain_finding_names)
		return "unknown";
	return chain_finding_names[k];
}

/* What to serve instead, for a finding ("SHA-256 signatures"). */
const char *
chain_finding_fix(enum chain_finding_kind k)
{
	if ((size_t)k >=
	    sizeof chain_finding_fixes / sizeof *chain_finding_fixes)
		return "a chain without this risk";
	return chain_finding_fixes[k];
}

/* What a finding risks for a phone, in words. */
const char *
chain_finding_risk(enum chain_finding_kind k)
{
	if ((size_t)k >=
	    sizeof chain_finding_risks / sizeof *chain_finding_risks)
		return "unknown risk";
	return chain_finding_risks[k];
}

/*
 * The findings of a verdict with what each risks for phones, "name
 * (detail): risk; ...", or NULL when there are none. Caller frees.
 */
char *
chain_risks_text(const struct chain_verdict *v)
{
	char *risks;
	size_t i, len;
	FILE *fp;

	if (v->nfindings == 0)
		return NULL;
	fp = xopen_memstream(&risks, &len);
	for (i = 0; i < v->nfindings; i++)
		fprintf(fp, "%s%s (%s): %s", i > 0 ? "; " : "",
		    chain_finding_name(v->finding_list[i].kind),
		    v->finding_list[i].detail,
		    chain_finding_risk(v->finding_list[i].kind));
	return xclose_memstream(fp, &risks);
}

/* The position of cert in the presented chain, or -1. */
static int
chain_position(STACK_OF(X509) *presented, const X509 *cert)
{
	int i;

	for (i = 0; i < sk_X509_num(presented); i++) {
		if (X509_cmp(sk_X509_value(presented, i), cert) == 0)
			return i;
	}
	return -1;
}

/* Note the first date error: which certificate, and which date. */
static void
chain_date_error(struct chain_errors *e, X509_STORE_CTX *ctx, int expired)
{
	X509 *x = X509_STORE_CTX_get_current_cert(ctx);

	if (expired)
		e->expired = 1;
	else
		e->not_yet_valid = 1;
	if (e->date_subject != NULL || x == NULL)
		return;
	e->date_position = chain_position(e->presented, x);
	e->date_subject = certinfo_dn(X509_get_subject_name(x));
	e->date_when = certinfo_time(
	    expired ? X509_get0_notAfter(x) : X509_get0_notBefore(x));
}

/*
 * Verify callback: note every error and go on, so all are known and the
 * verdict can rank them (chain_evaluate). A bad signature whose issuer
 * came from the store means a trusted CA has the issuer's name but not its
 * key (a look-alike): the chain reached no anchor.
 */
static int
chain_verify_cb(int ok, X509_STORE_CTX *ctx)
{
	struct chain_errors *e = X509_STORE_CTX_get_app_data(ctx);
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
		chain_date_error(e, ctx, 1);
		break;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		chain_date_error(e, ctx, 0);
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
chain_is_ip(const char *host)
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
chain_verify(const struct trustset *set, STACK_OF(X509) *presented,
    const char *host, time_t now, struct chain_errors *e, struct chain_check *c)
{
	X509_STORE_CTX *ctx;
	X509_VERIFY_PARAM *param;
	STACK_OF(X509) *built;
	const char *dn, *sha;

	memset(e, 0, sizeof *e);
	e->presented = presented;
	e->first = X509_V_OK;
	e->first_depth = -1;
	e->date_position = -1;
	if ((ctx = X509_STORE_CTX_new()) == NULL)
		fatalx("X509_STORE_CTX_new: out of memory");
	if (X509_STORE_CTX_init(ctx, trustset_store(set),
	        sk_X509_value(presented, 0), presented) != 1)
		fatalx("X509_STORE_CTX_init failed");
	X509_STORE_CTX_set_app_data(ctx, e);
	X509_STORE_CTX_set_verify_cb(ctx, chain_verify_cb);
	if (X509_STORE_CTX_set_default(ctx, "ssl_server") != 1)
		fatalx("X509_STORE_CTX_set_default failed");
	param = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_time(param, now);
	if (trustset_partial(set))
		X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
	if (host != NULL && chain_is_ip(host))
		X509_VERIFY_PARAM_set1_ip_asc(param, host);
	else if (host != NULL) {
		X509_VERIFY_PARAM_set_hostflags(param,
		    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		X509_VERIFY_PARAM_set1_host(param, host, 0);
	}
	(void)X509_verify_cert(ctx);
	if (trustset_empty(set))
		e->untrusted = 1;

	c->evaluated = 1;
	c->trusted = !e->untrusted && !e->sig_invalid;
	c->error = e->first;
	c->error_string = X509_verify_cert_error_string(e->first);
	c->error_depth = e->first_depth;
	built = X509_STORE_CTX_get0_chain(ctx);
	if (c->trusted && built != NULL && sk_X509_num(built) > 0 &&
	    trustset_find(set, sk_X509_value(built, sk_X509_num(built) - 1),
	        &dn, &sha, &c->anchor_source) == 0) {
		c->anchor = xstrdup(dn);
		memcpy(c->anchor_sha256, sha, sizeof c->anchor_sha256);
	}
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
}

/* Record one finding. */
static void chain_find(struct chain_verdict *, enum chain_finding_kind, int,
    const char *, ...) __attribute__((format(printf, 4, 5)));

static void
chain_find(struct chain_verdict *v, enum chain_finding_kind kind, int pos,
    const char *fmt, ...)
{
	struct chain_finding *f;
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
	v->findings |= CHAIN_FINDING_BIT(kind);
	t = v->findings_text;
	xasprintf(&v->findings_text, "%s%s%s (%s)", t != NULL ? t : "",
	    t != NULL ? "; " : "", chain_finding_name(kind), f->detail);
	free(t);
}

/* The wildcard name of the leaf that covers host, if only one does. */
static char *
chain_wildcard_match(X509 *leaf, const char *host)
{
	char *peer = NULL, *out = NULL;

	if (host == NULL || chain_is_ip(host))
		return NULL;
	if (X509_check_host(leaf, host, 0, X509_CHECK_FLAG_NO_WILDCARDS,
	        NULL) == 1)
		return NULL;
	if (X509_check_host(leaf, host, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
	        &peer) == 1 &&
	    peer != NULL)
		out = certinfo_printable((const unsigned char *)peer,
		    (int)strlen(peer));
	OPENSSL_free(peer);
	ERR_clear_error();
	return out;
}

/*
 * Record the phone-risk findings of a presented chain (docs/protocol.md §3.7:
 * support for these on LPE is unverified or reported broken). Keys and
 * dates count at every position; a signature only where the phone checks
 * it (not a self-signed root's own).
 */
static void
chain_findings(struct chain_verdict *v, STACK_OF(X509) *presented, time_t now,
    unsigned int warn_days)
{
	const struct certinfo *ci;
	X509 *x;
	char *wild;
	size_t i, intermediates = 0;
	int md = NID_undef, nid;

	if ((wild = chain_wildcard_match(sk_X509_value(presented, 0),
	         v->host)) != NULL) {
		chain_find(v, CHAIN_FINDING_WILDCARD, 0,
		    "%s is named only by the wildcard %s", v->host, wild);
		free(wild);
	}
	for (i = 0; i < v->ncerts; i++) {
		ci = &v->certs[i];
		x = sk_X509_value(presented, (int)i);
		if (i > 0 && !ci->self_signed)
			intermediates++;
		if (i > 0 && ci->self_signed)
			chain_find(v, CHAIN_FINDING_ROOT_SENT, (int)i,
			    "the root '%s' is sent in the chain", ci->subject);
		if (!ci->self_signed &&
		    X509_get_signature_info(x, &md, NULL, NULL, NULL) == 1 &&
		    (md == NID_sha384 || md == NID_sha512))
			chain_find(v, CHAIN_FINDING_SHA384_512, (int)i,
			    "'%s' is signed with %s", ci->subject, ci->sigalg);
		if (strncmp(ci->key, "EC ", 3) == 0)
			chain_find(v, CHAIN_FINDING_ECDSA, (int)i,
			    "'%s' has an ECDSA key (%s)", ci->subject, ci->key);
		nid = X509_get_signature_nid(x);
		if ((!ci->self_signed && nid == NID_rsassaPss) ||
		    strncmp(ci->key, "RSA-PSS", 7) == 0)
			chain_find(v, CHAIN_FINDING_RSA_PSS, (int)i,
			    "'%s' uses RSA-PSS (%s, %s)", ci->subject, ci->key,
			    ci->sigalg);
		if (strncmp(ci->key, "RSA-", 4) == 0 &&
		    strtol(ci->key + (ci->key[4] == 'P' ? 8 : 4), NULL, 10) >
		        2048)
			chain_find(v, CHAIN_FINDING_LARGE_KEY, (int)i,
			    "'%s' has an %s key", ci->subject, ci->key);
		if (ci->not_after > now &&
		    ci->not_after - now < (time_t)warn_days * 86400)
			chain_find(v, CHAIN_FINDING_EXPIRING, (int)i,
			    "'%s' expires in %lld days", ci->subject,
			    (long long)((ci->not_after - now) / 86400));
	}
	ERR_clear_error();
	if (intermediates > 1)
		chain_find(v, CHAIN_FINDING_EXTRA_INTERMEDIATES, -1,
		    "%zu intermediate CA certificates are sent", intermediates);
}

/*
 * Keep the head of the presented chain in v: at most CHAIN_MAX_CERTS
 * certificates, described, and the position of the leaf's issuer among
 * them. Returns the kept stack (the caller frees it, not its certificates).
 *
 * Everything after this sees only the kept certificates, so every
 * position (issuer, date error, finding) indexes v->certs. A longer chain
 * is judged on its head for the evidence, and fails: no real server sends
 * more, and what a phone does with one is unknown.
 */
static STACK_OF(X509) *
chain_keep(struct chain_verdict *v, STACK_OF(X509) *presented, int n)
{
	STACK_OF(X509) *kept;
	X509 *leaf;
	int i;

	v->npresented = (size_t)n;
	v->ncerts = (size_t)(n < CHAIN_MAX_CERTS ? n : CHAIN_MAX_CERTS);
	if ((kept = sk_X509_dup(presented)) == NULL)
		fatalx("sk_X509_dup: out of memory");
	while (sk_X509_num(kept) > (int)v->ncerts)
		(void)sk_X509_pop(kept);
	if (v->ncerts > 0) {
		struct certinfo desc[CHAIN_MAX_CERTS];

		for (i = 0; i < (int)v->ncerts; i++)
			certinfo_describe(sk_X509_value(kept, i), &desc[i]);
		v->shared = certinfo_chain_get(desc, v->ncerts);
		v->certs = certinfo_chain_certs(v->shared);
	}
	leaf = sk_X509_value(kept, 0);
	for (i = 1; i < (int)v->ncerts && v->issuer_position < 0; i++) {
		if (X509_check_issued(sk_X509_value(kept, i), leaf) ==
		    X509_V_OK)
			v->issuer_position = i;
	}
	return kept;
}

/*
 * The reason of a chain that reaches an anchor: its other defects, in
 * CryptoAPI's order (see chain_evaluate), or ok.
 */
static enum reason
chain_defect_reason(const struct chain_errors *e)
{
	if (e->invalid)
		return REASON_CERT_INVALID;
	if (e->expired)
		return REASON_CERT_EXPIRED;
	if (e->not_yet_valid)
		return REASON_CERT_NOT_YET_VALID;
	if (e->name)
		return REASON_CERT_NAME_MISMATCH;
	return REASON_OK;
}

/*
 * The one reason for a verdict, from the errors met under the phone set
 * (pe), in the precedence chain_evaluate describes.
 */
static enum reason
chain_rank(const struct chain_verdict *v, const struct trustset *phone,
    const struct chain_errors *pe)
{
	if (pe->sig_invalid || v->npresented > v->ncerts)
		return REASON_CERT_INVALID;
	if (!v->phone.trusted) {
		if (trustset_empty(phone) ||
		    (trustset_learns_frontend(phone) &&
		        trustset_count(phone, TRUSTSET_FRONTEND) == 0))
			return REASON_FRONTEND_UNKNOWN;
		if (v->system.trusted)
			return REASON_CERT_UNTRUSTED_PHONE;
		return REASON_CERT_UNTRUSTED;
	}
	return chain_defect_reason(pe);
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
 *      server sent more than CHAIN_MAX_CERTS certificates (12169);
 *   2. the chain reaches no phone anchor (12045): frontend_unknown when
 *      the phone set cannot judge yet (no anchor at all, or the FE
 *      issuer is still to be learned), else cert_untrusted_phone when the
 *      system set trusts it (the incident), else cert_untrusted;
 *   3. cert_invalid: other defects (usage, basic constraints, ...);
 *   4. cert_expired, then cert_not_yet_valid, for any certificate of the
 *      built chain, anchor included (12037);
 *   5. cert_name_mismatch (12038).
 * Every error is still kept: the OpenSSL error per set, the date problem,
 * the findings. Returns a verdict; never NULL. chain_evaluate calls it
 * for inputs it has no verdict for.
 */
static struct chain_verdict *
chain_judge(const struct trustset *phone, const struct trustset *system,
    STACK_OF(X509) *presented, const char *host, time_t now,
    unsigned int warn_days)
{
	struct chain_verdict *v = xcalloc(1, sizeof *v);
	struct chain_errors pe, se;
	STACK_OF(X509) *kept;
	const char *sha;
	int n;

	v->system_trusted = -1;
	v->phone.error_depth = v->system.error_depth = -1;
	v->issuer_position = v->date_position = -1;
	v->host = host != NULL ? xstrdup(host) : NULL;
	v->now = now;
	if (presented == NULL || (n = sk_X509_num(presented)) == 0) {
		v->reason = REASON_CERT_INVALID;
		return v;
	}
	kept = chain_keep(v, presented, n);
	chain_verify(phone, kept, host, now, &pe, &v->phone);
	if (system != NULL) {
		/* As a PC would: chain, dates and name. */
		chain_verify(system, kept, host, now, &se, &v->system);
		if (se.sig_invalid || v->npresented > v->ncerts)
			v->system_reason = REASON_CERT_INVALID;
		else if (!v->system.trusted)
			v->system_reason = REASON_CERT_UNTRUSTED;
		else
			v->system_reason = chain_defect_reason(&se);
		v->system_trusted = v->system_reason == REASON_OK;
		free(se.date_subject);
	}
	v->date_position = pe.date_position;
	v->date_subject = pe.date_subject;
	v->date_when = pe.date_when;
	sha = v->issuer_position >= 0 ? v->certs[v->issuer_position].sha256
	                              : NULL;
	v->issuer_lookalike = !v->phone.trusted && !v->certs[0].self_signed &&
	    trustset_name_clash(phone, v->certs[0].issuer, sha);
	v->reason = chain_rank(v, phone, &pe);
	/* Would a phone accept it: chain, dates, name, all of it. */
	v->phone_trusted = v->reason == REASON_OK;
	chain_findings(v, kept, now, warn_days);
	sk_X509_free(kept);
	return v;
}

/* A copy of s, or NULL for NULL. */
static char *
chain_dup(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/* A deep copy of a verdict. */
static struct chain_verdict *
chain_verdict_copy(const struct chain_verdict *src)
{
	struct chain_verdict *v = xmalloc(sizeof *v);
	size_t i;

	*v = *src;
	v->phone.anchor = chain_dup(src->phone.anchor);
	v->system.anchor = chain_dup(src->system.anchor);
	v->host = chain_dup(src->host);
	v->date_subject = chain_dup(src->date_subject);
	v->findings_text = chain_dup(src->findings_text);
	v->finding_list = NULL;
	if (src->nfindings > 0) {
		v->finding_list = xreallocarray(NULL, src->nfindings,
		    sizeof *v->finding_list);
		for (i = 0; i < src->nfindings; i++) {
			v->finding_list[i] = src->finding_list[i];
			v->finding_list[i].detail =
			    xstrdup(src->finding_list[i].detail);
		}
	}
	if (src->shared != NULL) {
		/* The descriptions are shared, read-only: one more holder. */
		v->shared = certinfo_chain_ref(src->shared);
		return v;
	}
	v->certs = xcalloc(src->ncerts > 0 ? src->ncerts : 1, sizeof *v->certs);
	for (i = 0; i < src->ncerts; i++)
		certinfo_copy(&v->certs[i], &src->certs[i]);
	return v;
}

/*
 * The memo key of a presented chain: each certificate's DER after its
 * length (4 bytes), so that no two chains share one. NULL when a
 * certificate cannot be encoded or the chain is too large to keep.
 */
static unsigned char *
chain_memo_key(STACK_OF(X509) *presented, size_t *len)
{
	unsigned char *key = NULL, *der;
	size_t used = 0;
	int i, n;

	for (i = 0; i < sk_X509_num(presented); i++) {
		der = NULL;
		n = i2d_X509(sk_X509_value(presented, i), &der);
		if (n <= 0 || used + 4 + (size_t)n > CHAIN_MEMO_MAX_DER) {
			OPENSSL_free(der);
			ERR_clear_error();
			free(key);
			return NULL;
		}
		key = xreallocarray(key, used + 4 + (size_t)n, 1);
		key[used] = (unsigned char)((unsigned)n >> 24);
		key[used + 1] = (unsigned char)((unsigned)n >> 16);
		key[used + 2] = (unsigned char)((unsigned)n >> 8);
		key[used + 3] = (unsigned char)n;
		memcpy(key + used + 4, der, (size_t)n);
		used += 4 + (size_t)n;
		OPENSSL_free(der);
	}
	*len = used;
	return key;
}

/* Empty one kept verdict's slot. */
static void
chain_memo_clear(struct chain_memo *m)
{
	free(m->key);
	free(m->host);
	chain_verdict_free(m->v);
	memset(m, 0, sizeof *m);
}

/*
 * The kept verdict whose inputs are in's (key, versions, host, now,
 * warn_days), or NULL; *victim the slot to fill when there is none (an
 * empty one, else the least recently used).
 */
static struct chain_memo *
chain_memo_find(const struct chain_memo *in, struct chain_memo **victim)
{
	struct chain_memo *m;
	size_t i;

	*victim = &chain_memo[0];
	for (i = 0; i < CHAIN_MEMO_SLOTS; i++) {
		m = &chain_memo[i];
		if (m->v != NULL && m->keylen == in->keylen &&
		    m->phone == in->phone && m->system == in->system &&
		    m->now == in->now && m->warn_days == in->warn_days &&
		    (m->host == NULL ? in->host == NULL
		                     : in->host != NULL &&
		                strcmp(m->host, in->host) == 0) &&
		    memcmp(m->key, in->key, in->keylen) == 0)
			return m;
		if ((*victim)->v != NULL &&
		    (m->v == NULL || m->used < (*victim)->used))
			*victim = m;
	}
	return NULL;
}

/*
 * Judge a presented chain (leaf first, as sent) for host at time now under
 * the phone set and the system set (NULL: not asked), as chain_judge
 * says: a copy of the kept verdict when every input is the same as one
 * judged before (see the top of this file), else judged now and kept.
 * Returns a verdict the caller frees; never NULL.
 */
struct chain_verdict *
chain_evaluate(const struct trustset *phone, const struct trustset *system,
    STACK_OF(X509) *presented, const char *host, time_t now,
    unsigned int warn_days)
{
	struct chain_memo in, *m, *victim;
	struct chain_verdict *v;

	memset(&in, 0, sizeof in);
	if (presented == NULL || sk_X509_num(presented) == 0 ||
	    (in.key = chain_memo_key(presented, &in.keylen)) == NULL)
		return chain_judge(phone, system, presented, host, now,
		    warn_days);
	in.phone = phone != NULL ? trustset_version(phone) : 0;
	in.system = system != NULL ? trustset_version(system) : 0;
	in.host = (char *)host;
	in.now = now;
	in.warn_days = warn_days;
	if ((m = chain_memo_find(&in, &victim)) != NULL) {
		free(in.key);
		chain_memo_hits++;
		m->used = ++chain_memo_clock;
		return chain_verdict_copy(m->v);
	}
	chain_memo_misses++;
	v = chain_judge(phone, system, presented, host, now, warn_days);
	chain_memo_clear(victim);
	*victim = in;
	victim->host = chain_dup(host);
	victim->used = ++chain_memo_clock;
	victim->v = chain_verdict_copy(v);
	return v;
}

/* Forget every kept verdict. */
void
chain_memo_flush(void)
{
	size_t i;

	for (i = 0; i < CHAIN_MEMO_SLOTS; i++)
		chain_memo_clear(&chain_memo[i]);
}

/* Verdicts copied from the kept ones and judged afresh so far. For tests. */
void
chain_memo_stats(size_t *hits, size_t *misses)
{
	*hits = chain_memo_hits;
	*misses = chain_memo_misses;
}

/* Free a verdict; NULL is a no-op. */
void
chain_verdict_free(struct chain_verdict *v)
{
	size_t i;

	if (v == NULL)
		return;
	if (v->shared != NULL)
		certinfo_chain_put(v->shared);
	else {
		for (i = 0; i < v->ncerts; i++)
			certinfo_clear(&v->certs[i]);
		free(v->certs);
	}
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
