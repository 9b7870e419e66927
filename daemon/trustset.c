/*
 * trustset: owns trust sets — loading anchor certificates (files and
 * directories, PEM or DER), learning the Front End pool's issuer, and the
 * X509_STORE each set verifies with. Anchors are kept with their source,
 * display DN and fingerprint; other modules read them through accessors.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "trustset.h"
#include "xmalloc.h"

/* FNV-1a's 64-bit offset basis: where every stamp starts. */
#define TRUSTSET_STAMP_INIT 0xcbf29ce484222325ULL

struct trustset_anchor {
	X509 *cert;
	enum trustset_source source;
	char *dn;
	char sha256[65];
};

struct trustset {
	X509_STORE *store;
	struct trustset_anchor *anchors;
	size_t nanchors;
	int partial; /* every anchor counts, not only roots (phone sets) */
	int learns_frontend; /* the profile names a FE pool to learn from */
	uint64_t stamp; /* system set: of the files loaded (trustset_walk) */
	uint64_t version; /* trustset_version: new on every change */
};

/* The last version given to a set (trustset_version). */
static uint64_t trustset_versions;

static const char *trustset_source_names[] = {
    [TRUSTSET_FRONTEND] = "frontend",
    [TRUSTSET_WEB_TRUSTED] = "web-trusted",
    [TRUSTSET_PUBLIC_ROOT] = "public-root",
    [TRUSTSET_SYSTEM] = "system",
};

/* A trust source's stable name. */
const char *
trustset_source_name(enum trustset_source s)
{
	if ((size_t)s >=
	    sizeof trustset_source_names / sizeof *trustset_source_names)
		return "unknown";
	return trustset_source_names[s];
}

/*
 * Add an anchor to a set unless that source has it already (by
 * fingerprint). One certificate may come from two sources (the FE's issuer
 * also published as web-trusted); each keeps its own entry, so learning a
 * new FE issuer never drops a web-trusted CA.
 */
static void
trustset_add(struct trustset *set, X509 *cert, enum trustset_source source)
{
	struct trustset_anchor *a;
	char sha[65];
	size_t i;

	certinfo_sha256(cert, sha);
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
	a->dn = certinfo_dn(X509_get_subject_name(cert));
	memcpy(a->sha256, sha, sizeof a->sha256);
	set->version = ++trustset_versions;
}

/* Drop a set's anchor i. */
static void
trustset_drop(struct trustset *set, size_t i)
{
	X509_free(set->anchors[i].cert);
	free(set->anchors[i].dn);
	memmove(&set->anchors[i], &set->anchors[i + 1],
	    (set->nanchors - i - 1) * sizeof *set->anchors);
	set->nanchors--;
	set->version = ++trustset_versions;
}

/*
 * (Re)build the set's X509_STORE from its anchors. A store cannot drop a
 * certificate, and the FE anchor is replaced when the pool's issuer
 * changes, so the store is rebuilt instead (rare: once per learning).
 */
static void
trustset_rebuild(struct trustset *set)
{
	size_t i;

	X509_STORE_free(set->store);
	if ((set->store = X509_STORE_new()) == NULL)
		fatalx("X509_STORE_new: out of memory");
	for (i = 0; i < set->nanchors; i++) {
		if (X509_STORE_add_cert(set->store, set->anchors[i].cert) != 1)
			fatalx("X509_STORE_add_cert failed");
	}
	set->version = ++trustset_versions;
}

/*
 * Load every certificate of a file: PEM (one or many), else one DER
 * certificate (a ".cer" exported from Windows often is DER). Return how
 * many, or -1 with *cause.
 */
static int
trustset_load_file(struct trustset *set, const char *path,
    enum trustset_source source, char **cause)
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
		trustset_add(set, x, source);
		X509_free(x);
		n++;
	}
	if (n == 0 && BIO_reset(b) == 0 &&
	    (x = d2i_X509_bio(b, NULL)) != NULL) {
		trustset_add(set, x, source);
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
trustset_dir_filter(const struct dirent *de)
{
	const char *dot = strrchr(de->d_name, '.');

	return dot != NULL &&
	    (strcasecmp(dot, ".pem") == 0 || strcasecmp(dot, ".crt") == 0 ||
	        strcasecmp(dot, ".cer") == 0);
}

/*
 * Mix one file's identity into a stamp: its name, device, inode, size and
 * modification time. A file replaced, edited or touched changes the stamp;
 * FNV-1a over the fields is enough (this detects change, it is no MAC).
 */
static uint64_t
trustset_stamp_file(uint64_t h, const char *path, const struct stat *sb)
{
	uint64_t f[6];
	const unsigned char *b;
	size_t i;

	f[0] = (uint64_t)sb->st_dev;
	f[1] = (uint64_t)sb->st_ino;
	f[2] = (uint64_t)sb->st_size;
	f[3] = (uint64_t)sb->st_mtim.tv_sec;
	f[4] = (uint64_t)sb->st_mtim.tv_nsec;
	f[5] = (uint64_t)sb->st_ctim.tv_sec ^ (uint64_t)sb->st_ctim.tv_nsec;
	for (b = (const unsigned char *)path; *b != '\0'; b++)
		h = (h ^ *b) * 0x100000001b3ULL;
	b = (const unsigned char *)f;
	for (i = 0; i < sizeof f; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

/*
 * Walk a file, or every .pem/.crt/.cer file of a directory in name order,
 * stamping each; when set is not NULL also load each into it. The same
 * walk serves loading and trustset_unchanged, so both see the same files.
 */
static int
trustset_walk(struct trustset *set, const char *path,
    enum trustset_source source, uint64_t *stamp, char **cause)
{
	struct dirent **list;
	struct stat sb;
	char *file;
	int i, n, r = 0;

	if (stat(path, &sb) != 0)
		memset(&sb, 0, sizeof sb); /* missing: loading says why */
	if (!S_ISDIR(sb.st_mode)) {
		*stamp = trustset_stamp_file(*stamp, path, &sb);
		return set != NULL
		    ? trustset_load_file(set, path, source, cause)
		    : 0;
	}
	if ((n = scandir(path, &list, trustset_dir_filter, alphasort)) < 0) {
		if (cause != NULL)
			xasprintf(cause, "%s: cannot read the directory", path);
		return -1;
	}
	for (i = 0; i < n; i++) {
		xasprintf(&file, "%s/%s", path, list[i]->d_name);
		if (r >= 0 && stat(file, &sb) == 0 && S_ISREG(sb.st_mode)) {
			*stamp = trustset_stamp_file(*stamp, file, &sb);
			if (set != NULL &&
			    trustset_load_file(set, file, source, cause) < 0)
				r = -1;
		}
		free(file);
		free(list[i]);
	}
	free(list);
	return r;
}

/*
 * Load a file, or every .pem/.crt/.cer file of a directory, in name order.
 * Each file is read explicitly: OpenSSL's hashed-directory lookup would
 * need c_rehash links and finds certificates by name, not by certificate.
 */
static int
trustset_load_path(struct trustset *set, const char *path,
    enum trustset_source source, char **cause)
{
	return trustset_walk(set, path, source, &set->stamp, cause);
}

/*
 * Whether the files a set was loaded from (path, as given to its
 * constructor) are still the ones it read: same names, inodes, sizes and
 * times. A reload keeps such a set instead of parsing it again.
 */
int
trustset_unchanged(const struct trustset *set, const char *path)
{
	uint64_t stamp = TRUSTSET_STAMP_INIT;

	if (trustset_walk(NULL, path, TRUSTSET_SYSTEM, &stamp, NULL) < 0)
		return 0;
	return stamp == set->stamp;
}

/*
 * The phone set of a profile: FE issuing CA file, web-trusted CAs, public
 * roots (the learned FE issuer comes later). NULL with *cause on error.
 */
struct trustset *
trustset_new_phone(const struct config_profile *p, char **cause)
{
	struct trustset *set = xcalloc(1, sizeof *set);
	size_t i;

	set->partial = 1;
	set->learns_frontend = p->frontend_host != NULL;
	if (p->frontend_ca_file != NULL &&
	    trustset_load_path(set, p->frontend_ca_file, TRUSTSET_FRONTEND,
	        cause) < 0)
		goto fail;
	for (i = 0; i < p->web_trusted.n; i++) {
		if (trustset_load_path(set, p->web_trusted.items[i],
		        TRUSTSET_WEB_TRUSTED, cause) < 0)
			goto fail;
	}
	if (p->public_roots_file != NULL &&
	    trustset_load_path(set, p->public_roots_file, TRUSTSET_PUBLIC_ROOT,
	        cause) < 0)
		goto fail;
	trustset_rebuild(set);
	return set;

fail:
	trustset_free(set);
	return NULL;
}

/*
 * The system set from an OS bundle (parsed once per load: ~30 ms). A PC
 * trusts roots, so partial chains do not count here.
 */
struct trustset *
trustset_new_system(const char *bundle, char **cause)
{
	struct trustset *set = xcalloc(1, sizeof *set);

	set->stamp = TRUSTSET_STAMP_INIT;
	if (trustset_load_path(set, bundle, TRUSTSET_SYSTEM, cause) < 0)
		goto fail;
	trustset_rebuild(set);
	return set;

fail:
	trustset_free(set);
	return NULL;
}

/* Free a set; NULL is a no-op. */
void
trustset_free(struct trustset *set)
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
trustset_count(const struct trustset *set, enum trustset_source source)
{
	size_t i, n = 0;

	for (i = 0; i < set->nanchors; i++)
		n += set->anchors[i].source == source;
	return n;
}

/* The DN of the (first) Front End issuer anchor, or NULL. */
const char *
trustset_frontend_issuer(const struct trustset *set)
{
	size_t i;

	for (i = 0; i < set->nanchors; i++) {
		if (set->anchors[i].source == TRUSTSET_FRONTEND)
			return set->anchors[i].dn;
	}
	return NULL;
}

/*
 * The (first) Front End issuer anchor as base64 DER, to be retained across
 * a restart; NULL when there is none. The caller frees it.
 */
char *
trustset_frontend_der64(const struct trustset *set)
{
	unsigned char *der = NULL;
	char *out = NULL;
	size_t i;
	int len;

	for (i = 0; i < set->nanchors; i++) {
		if (set->anchors[i].source != TRUSTSET_FRONTEND)
			continue;
		if ((len = i2d_X509(set->anchors[i].cert, &der)) <= 0)
			break;
		out = xmalloc(4 * (((size_t)len + 2) / 3) + 1);
		EVP_EncodeBlock((unsigned char *)out, der, len);
		OPENSSL_free(der);
		break;
	}
	ERR_clear_error();
	return out;
}

/*
 * Take a retained Front End issuer (base64 DER, from
 * trustset_frontend_der64 before a restart) as the set's FE anchor, as if
 * just learned, so that phones' trust is what it was and the next learning
 * sees a change. Only for a set that learns from a pool. 0, or -1 with
 * *cause (the set is unchanged).
 */
int
trustset_seed_frontend(struct trustset *set, const char *der64, char **cause)
{
	size_t n = strlen(der64), i;
	const unsigned char *p;
	unsigned char *der;
	X509 *cert = NULL;
	int len;

	if (!set->learns_frontend) {
		xasprintf(cause, "the profile learns from no Front End pool");
		return -1;
	}
	der = xmalloc(n / 4 * 3 + 3);
	len = n > 0 && n % 4 == 0 && n <= INT_MAX
	    ? EVP_DecodeBlock(der, (const unsigned char *)der64, (int)n)
	    : -1;
	/* EVP_DecodeBlock counts the padding as bytes; DER ends itself. */
	p = der;
	if (len > 0)
		cert = d2i_X509(NULL, &p, len);
	free(der);
	ERR_clear_error();
	if (cert == NULL) {
		xasprintf(cause, "not a certificate");
		return -1;
	}
	for (i = 0; i < set->nanchors;) {
		if (set->anchors[i].source == TRUSTSET_FRONTEND)
			trustset_drop(set, i);
		else
			i++;
	}
	trustset_add(set, cert, TRUSTSET_FRONTEND);
	X509_free(cert);
	trustset_rebuild(set);
	return 0;
}

/* Whether a set has no anchor at all (it can trust nothing). */
int
trustset_empty(const struct trustset *set)
{
	return set->nanchors == 0;
}

/* Whether the profile names a Front End pool whose issuer is learned. */
int
trustset_learns_frontend(const struct trustset *set)
{
	return set->learns_frontend;
}

/* Whether every anchor counts (phone sets), not only self-signed roots. */
int
trustset_partial(const struct trustset *set)
{
	return set->partial;
}

/*
 * What the set is now: a number no other set, and no earlier state of
 * this one, had in this process (a new set and every change of its
 * anchors take the next). chain.c keys its kept verdicts on it.
 */
uint64_t
trustset_version(const struct trustset *set)
{
	return set->version;
}

/* The set's store (borrowed; rebuilt when the FE issuer is learned). */
X509_STORE *
trustset_store(const struct trustset *set)
{
	return set->store;
}

/* The display DN and source of anchor i, or NULL past the last anchor. */
const char *
trustset_dn(const struct trustset *set, size_t i, enum trustset_source *source)
{
	if (i >= set->nanchors)
		return NULL;
	*source = set->anchors[i].source;
	return set->anchors[i].dn;
}

/*
 * Find the anchor that is cert (the top of a built chain): its display DN,
 * fingerprint and source, borrowed from the set. 0, or -1 if none is.
 */
int
trustset_find(const struct trustset *set, const X509 *cert, const char **dn,
    const char **sha256, enum trustset_source *source)
{
	size_t i;

	for (i = 0; i < set->nanchors; i++) {
		if (X509_cmp(cert, set->anchors[i].cert) != 0)
			continue;
		*dn = set->anchors[i].dn;
		*sha256 = set->anchors[i].sha256;
		*source = set->anchors[i].source;
		return 0;
	}
	return -1;
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
trustset_learn_frontend(struct trustset *set, STACK_OF(X509) *chain,
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
		dn = certinfo_dn(X509_get_issuer_name(leaf));
		xasprintf(cause,
		    "the Front End pool did not send the CA certificate that issued its own ('%s'); give that CA as frontend_ca",
		    dn);
		free(dn);
		return -1;
	}
	certinfo_sha256(issuer, sha);
	for (i = 0; i < set->nanchors;) {
		if (set->anchors[i].source != TRUSTSET_FRONTEND) {
			i++;
			continue;
		}
		if (old[0] == '\0')
			memcpy(old, set->anchors[i].sha256, sizeof old);
		trustset_drop(set, i);
	}
	trustset_add(set, issuer, TRUSTSET_FRONTEND);
	trustset_rebuild(set);
	*changed = old[0] != '\0' && strcmp(old, sha) != 0;
	return 0;
}

/*
 * Describe anchor i of a set (for commands that list what phones trust):
 * its source and its certificate, as a presented one is described, and
 * the certificate itself (borrowed from the set). 0, or -1 past the last
 * anchor. Clear ci with certinfo_clear().
 */
int
trustset_anchor(const struct trustset *set, size_t i,
    enum trustset_source *source, struct certinfo *ci, X509 **cert)
{
	memset(ci, 0, sizeof *ci);
	if (i >= set->nanchors)
		return -1;
	*source = set->anchors[i].source;
	*cert = set->anchors[i].cert;
	certinfo_describe(set->anchors[i].cert, ci);
	return 0;
}

/* Whether set has an anchor named dn whose fingerprint is not sha. */
int
trustset_name_clash(const struct trustset *set, const char *dn, const char *sha)
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
 * An http_ssl_ctx_cb (http.h) for requests that libcurl itself validates
 * (autodiscover): the set's store, built once per configuration load,
 * becomes the connection's trust store, so that no CA bundle is parsed per
 * connection (~30 ms for a system bundle: thirty handshakes). Never
 * resumes a session.
 */
int
trustset_install(void *ssl_ctx, void *arg)
{
	struct trustset *set = arg;

	/* Takes a reference: a store rebuilt later does not pull the rug. */
	SSL_CTX_set1_cert_store(ssl_ctx, set->store);
	SSL_CTX_set_options(ssl_ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ssl_ctx, SSL_SESS_CACHE_OFF);
	return 0;
}
