/*
 * certinfo: owns what is shown of one certificate — display DNs by the
 * documented rules (certinfo.h), peer bytes made printable, the SHA-256
 * fingerprint, dates, key, signature algorithm and DNS names — so that
 * every other module handles plain data, not X509 objects.
 *
 * A description depends on the certificate's bytes alone, and every run
 * against a site is presented the same few certificates: the last
 * descriptions are kept in a small table, found by a hash of the DER and
 * confirmed by comparing all of it (never by a digest, nor by the signed
 * part alone, which a server can pair with another signature). The table
 * is set-associative: a hash picks a set of a few ways, so that two
 * certificates shown on every run (a leaf and its issuer) that hash to the
 * same set still both stay (direct-mapped, such a pair evicted each other
 * on every handshake: 1 PKI in 64).
 *
 * A verdict keeps the descriptions of its presented chain until the next
 * run of its target, and thousands of targets are shown the same chain:
 * equal descriptions of a whole chain are kept once, counted, and shared
 * (certinfo_chain_*), found by a hash of the fingerprints and confirmed by
 * comparing every field shown.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "certinfo.h"
#include "log.h"
#include "xmalloc.h"

/* Bound on the DNS names kept of one certificate (it is the peer's input). */
#define CERTINFO_MAX_SANS 64

/*
 * Descriptions kept: CERTINFO_CACHE_SETS sets of CERTINFO_CACHE_WAYS, the
 * least recently used way of a set replaced; and the largest certificate
 * kept.
 */
#define CERTINFO_CACHE_SETS 16
#define CERTINFO_CACHE_WAYS 4
#define CERTINFO_CACHE_MAX_DER 16384

struct certinfo_slot {
	unsigned char *der;
	int derlen;
	unsigned long used; /* certinfo_clock when last found or filled */
	struct certinfo ci;
};

static struct certinfo_slot certinfo_cache[CERTINFO_CACHE_SETS]
                                          [CERTINFO_CACHE_WAYS];
static size_t certinfo_hits, certinfo_misses;
static unsigned long certinfo_clock;

/* The shared chains (certinfo.h), chained in buckets by hash. */
struct certinfo_chain {
	unsigned int refcnt;
	uint32_t hash;
	struct certinfo_chain *next; /* in its bucket */
	size_t n;
	struct certinfo certs[];
};

static struct certinfo_chain **certinfo_chains; /* buckets, a power of 2 */
static size_t certinfo_nbuckets, certinfo_nchains;

/*
 * Write one DN value. Escape only what would otherwise read like structure
 * (see certinfo.h): the point is that two look-alike names never print alike,
 * while an ordinary value prints exactly as the certificate encodes it.
 */
static void
certinfo_dn_value(FILE *fp, const unsigned char *p, size_t len, int utf8)
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
certinfo_dn(const X509_NAME *name)
{
	const X509_NAME_ENTRY *e;
	const ASN1_STRING *data;
	unsigned char *u;
	char attr[80], *out;
	size_t len;
	FILE *fp = xopen_memstream(&out, &len);
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
			certinfo_dn_value(fp, u, (size_t)ulen, 1);
			OPENSSL_free(u);
		} else {
			/* Not convertible: show the raw bytes, escaped. */
			ERR_clear_error();
			certinfo_dn_value(fp, ASN1_STRING_get0_data(data),
			    (size_t)ASN1_STRING_length(data), 0);
		}
	}
	return xclose_memstream(fp, &out);
}

/* Peer-supplied bytes as a printable string (caller frees). */
char *
certinfo_printable(const unsigned char *p, int len)
{
	char *out;
	size_t n;
	FILE *fp = xopen_memstream(&out, &n);
	int i;

	for (i = 0; i < len; i++) {
		if (p[i] < 0x21 || p[i] >= 0x7f || p[i] == '\\')
			fprintf(fp, "\\%02X", p[i]);
		else
			fputc(p[i], fp);
	}
	return xclose_memstream(fp, &out);
}

/* The SHA-256 fingerprint of a certificate as lower-case hex. */
void
certinfo_sha256(X509 *cert, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;

	static const char hex[] = "0123456789abcdef";

	if (X509_digest(cert, EVP_sha256(), md, &len) != 1)
		fatalx("X509_digest failed");
	for (i = 0; i < len && i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0x0f];
	}
	out[2 * i] = '\0';
}

/* An ASN1_TIME as time_t (0 when unreadable). */
time_t
certinfo_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

/* A key's type and size for display: "RSA-2048", "EC P-256". */
static void
certinfo_key(EVP_PKEY *key, char *buf, size_t size)
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

/* Describe one certificate from its parts. */
static void
certinfo_describe_fresh(X509 *x, struct certinfo *ci)
{
	GENERAL_NAMES *gens;
	const GENERAL_NAME *g;
	EVP_PKEY *key;
	BIGNUM *bn;
	char *hex;
	int i, nid;

	ci->subject = certinfo_dn(X509_get_subject_name(x));
	ci->issuer = certinfo_dn(X509_get_issuer_name(x));
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	hex = bn != NULL ? BN_bn2hex(bn) : NULL;
	ci->serial = xstrdup(hex != NULL ? hex : "");
	for (i = 0; ci->serial[i] != '\0'; i++)
		ci->serial[i] = (char)tolower((unsigned char)ci->serial[i]);
	OPENSSL_free(hex);
	BN_free(bn);
	certinfo_sha256(x, ci->sha256);
	ci->not_before = certinfo_time(X509_get0_notBefore(x));
	ci->not_after = certinfo_time(X509_get0_notAfter(x));
	if ((key = X509_get0_pubkey(x)) != NULL)
		certinfo_key(key, ci->key, sizeof ci->key);
	else
		snprintf(ci->key, sizeof ci->key, "unreadable");
	nid = X509_get_signature_nid(x);
	if (nid != NID_undef)
		snprintf(ci->sigalg, sizeof ci->sigalg, "%s", OBJ_nid2ln(nid));
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens) &&
	     ci->nsans < CERTINFO_MAX_SANS;
	     i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != GEN_DNS)
			continue;
		ci->sans =
		    xreallocarray(ci->sans, ci->nsans + 1, sizeof *ci->sans);
		ci->sans[ci->nsans++] =
		    certinfo_printable(ASN1_STRING_get0_data(g->d.dNSName),
		        ASN1_STRING_length(g->d.dNSName));
	}
	GENERAL_NAMES_free(gens);
	ci->is_ca = (X509_get_extension_flags(x) & EXFLAG_CA) != 0;
	ci->self_signed = X509_self_signed(x, 1) == 1;
	ERR_clear_error();
}

/* A deep copy of a description into dst (clear it with certinfo_clear()). */
void
certinfo_copy(struct certinfo *dst, const struct certinfo *src)
{
	size_t i;

	*dst = *src;
	dst->subject = xstrdup(src->subject);
	dst->issuer = xstrdup(src->issuer);
	dst->serial = xstrdup(src->serial);
	dst->sans = NULL;
	if (src->nsans > 0) {
		dst->sans = xreallocarray(NULL, src->nsans, sizeof *dst->sans);
		for (i = 0; i < src->nsans; i++)
			dst->sans[i] = xstrdup(src->sans[i]);
	}
}

/* FNV-1a over bytes: the set of a certificate's DER. */
static size_t
certinfo_set_of(const unsigned char *p, int len)
{
	uint32_t h = 2166136261u;
	int i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h % CERTINFO_CACHE_SETS;
}

/*
 * The way of set that holds these bytes, or NULL; *victim the way to
 * replace when it is not there (an empty one, else the least recently
 * used).
 */
static struct certinfo_slot *
certinfo_find(struct certinfo_slot *set, const unsigned char *der, int len,
    struct certinfo_slot **victim)
{
	struct certinfo_slot *sl;
	size_t w;

	*victim = &set[0];
	for (w = 0; w < CERTINFO_CACHE_WAYS; w++) {
		sl = &set[w];
		if (sl->der != NULL && sl->derlen == len &&
		    memcmp(sl->der, der, (size_t)len) == 0)
			return sl;
		if ((*victim)->der != NULL &&
		    (sl->der == NULL || sl->used < (*victim)->used))
			*victim = sl;
	}
	return NULL;
}

/*
 * Describe one certificate (clear it with certinfo_clear()): from the
 * table when the same bytes were described before, else from its parts,
 * then kept in the table in place of its set's least recently used.
 */
void
certinfo_describe(X509 *x, struct certinfo *ci)
{
	struct certinfo_slot *sl, *victim;
	unsigned char *der = NULL;
	int len;

	memset(ci, 0, sizeof *ci);
	len = i2d_X509(x, &der);
	if (len <= 0 || len > CERTINFO_CACHE_MAX_DER) {
		OPENSSL_free(der);
		ERR_clear_error();
		certinfo_describe_fresh(x, ci);
		return;
	}
	sl = certinfo_find(certinfo_cache[certinfo_set_of(der, len)], der, len,
	    &victim);
	if (sl != NULL) {
		OPENSSL_free(der);
		certinfo_hits++;
		sl->used = ++certinfo_clock;
		certinfo_copy(ci, &sl->ci);
		return;
	}
	certinfo_misses++;
	certinfo_describe_fresh(x, ci);
	sl = victim;
	OPENSSL_free(sl->der);
	certinfo_clear(&sl->ci);
	sl->der = der;
	sl->derlen = len;
	sl->used = ++certinfo_clock;
	certinfo_copy(&sl->ci, ci);
}

/* Which set of the table a certificate's description goes to. For tests. */
size_t
certinfo_cache_set(X509 *x)
{
	unsigned char *der = NULL;
	int len = i2d_X509(x, &der);
	size_t set = len > 0 ? certinfo_set_of(der, len) : 0;

	OPENSSL_free(der);
	return set;
}

/* Empty the table of descriptions. */
void
certinfo_cache_flush(void)
{
	struct certinfo_slot *sl;
	size_t i, w;

	for (i = 0; i < CERTINFO_CACHE_SETS; i++) {
		for (w = 0; w < CERTINFO_CACHE_WAYS; w++) {
			sl = &certinfo_cache[i][w];
			OPENSSL_free(sl->der);
			certinfo_clear(&sl->ci);
			sl->der = NULL;
			sl->derlen = 0;
			sl->used = 0;
		}
	}
}

/* Descriptions found in the table and made afresh so far. For tests. */
void
certinfo_cache_stats(size_t *hits, size_t *misses)
{
	*hits = certinfo_hits;
	*misses = certinfo_misses;
}

/* Free what a certificate description holds and zero it. */
void
certinfo_clear(struct certinfo *ci)
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

/* Whether two descriptions show the same: every field equal. */
static int
certinfo_equal(const struct certinfo *a, const struct certinfo *b)
{
	size_t i;

	if (strcmp(a->sha256, b->sha256) != 0 ||
	    strcmp(a->subject, b->subject) != 0 ||
	    strcmp(a->issuer, b->issuer) != 0 ||
	    strcmp(a->serial, b->serial) != 0 ||
	    a->not_before != b->not_before || a->not_after != b->not_after ||
	    strcmp(a->key, b->key) != 0 || strcmp(a->sigalg, b->sigalg) != 0 ||
	    a->nsans != b->nsans || a->is_ca != b->is_ca ||
	    a->self_signed != b->self_signed)
		return 0;
	for (i = 0; i < a->nsans; i++)
		if (strcmp(a->sans[i], b->sans[i]) != 0)
			return 0;
	return 1;
}

/* FNV-1a over the fingerprints of n descriptions. */
static uint32_t
certinfo_chain_hash(const struct certinfo *c, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		for (const char *p = c[i].sha256; *p != '\0'; p++) {
			h ^= (unsigned char)*p;
			h *= 16777619u;
		}
	return h;
}

/* Double the buckets once there are more chains than buckets. */
static void
certinfo_chains_grow(void)
{
	struct certinfo_chain **b, *c, *next;
	size_t n = certinfo_nbuckets > 0 ? certinfo_nbuckets * 2 : 64, i;

	b = xcalloc(n, sizeof *b);
	for (i = 0; i < certinfo_nbuckets; i++) {
		for (c = certinfo_chains[i]; c != NULL; c = next) {
			next = c->next;
			c->next = b[c->hash & (n - 1)];
			b[c->hash & (n - 1)] = c;
		}
	}
	free(certinfo_chains);
	certinfo_chains = b;
	certinfo_nbuckets = n;
}

/*
 * The shared descriptions of a chain equal to the n in c (n > 0), which
 * are taken (cleared, or moved into a new shared chain). Release the
 * result with certinfo_chain_put(); its certs stay read-only.
 */
struct certinfo_chain *
certinfo_chain_get(struct certinfo *c, size_t n)
{
	uint32_t h = certinfo_chain_hash(c, n);
	struct certinfo_chain *ch;
	size_t i;

	for (ch = certinfo_nbuckets > 0
	         ? certinfo_chains[h & (certinfo_nbuckets - 1)]
	         : NULL;
	     ch != NULL; ch = ch->next) {
		if (ch->hash != h || ch->n != n)
			continue;
		for (i = 0; i < n && certinfo_equal(&ch->certs[i], &c[i]); i++)
			;
		if (i == n)
			break;
	}
	if (ch != NULL) {
		for (i = 0; i < n; i++)
			certinfo_clear(&c[i]);
		ch->refcnt++;
		return ch;
	}
	if (certinfo_nchains >= certinfo_nbuckets)
		certinfo_chains_grow();
	ch = xmalloc(sizeof *ch + n * sizeof ch->certs[0]);
	ch->refcnt = 1;
	ch->hash = h;
	ch->n = n;
	memcpy(ch->certs, c, n * sizeof *c);
	memset(c, 0, n * sizeof *c);
	ch->next = certinfo_chains[h & (certinfo_nbuckets - 1)];
	certinfo_chains[h & (certinfo_nbuckets - 1)] = ch;
	certinfo_nchains++;
	return ch;
}

/* One more holder of a shared chain; returns it. */
struct certinfo_chain *
certinfo_chain_ref(struct certinfo_chain *ch)
{
	ch->refcnt++;
	return ch;
}

/* The descriptions of a shared chain, in presented order. */
struct certinfo *
certinfo_chain_certs(struct certinfo_chain *ch)
{
	return ch->certs;
}

/* Release a shared chain (NULL is a no-op); the last release frees it. */
void
certinfo_chain_put(struct certinfo_chain *ch)
{
	struct certinfo_chain **pp;

	if (ch == NULL || --ch->refcnt > 0)
		return;
	pp = &certinfo_chains[ch->hash & (certinfo_nbuckets - 1)];
	while (*pp != ch)
		pp = &(*pp)->next;
	*pp = ch->next;
	certinfo_nchains--;
	for (size_t i = 0; i < ch->n; i++)
		certinfo_clear(&ch->certs[i]);
	free(ch);
	if (certinfo_nchains == 0) {
		free(certinfo_chains);
		certinfo_chains = NULL;
		certinfo_nbuckets = 0;
	}
}

/* How many distinct chains are shared now. For tests. */
size_t
certinfo_chain_count(void)
{
	return certinfo_nchains;
}
