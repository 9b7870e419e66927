/*
 * tlscapture: owns the TLS side of a probe connection — the SSL_CTX set-up
 * that makes it speak like the profile's phone, and the certificate check
 * that keeps a copy of exactly what the server sent and, when enforcing,
 * finishes the handshake only if phones trust it (chain_evaluate decides).
 */
#include <stdlib.h>
#include <time.h>

#include <openssl/err.h>

#include "chain.h"
#include "log.h"
#include "tlscapture.h"
#include "xmalloc.h"

/*
 * The cipher suites offered under a TLS 1.0/1.1 ceiling, as a Windows CE 6
 * era schannel client (Lync Phone Edition) would: RSA key exchange with AES
 * or 3DES. XXX assumption: the LPE ClientHello is not documented publicly
 * (docs/protocol.md §3.7: TLS 1.0 only, no TLS 1.2 [BUMPIN] [UCVNEXT]); CE 6
 * predates schannel's ECC suites, so no ECDHE is offered. RC4-SHA/RC4-MD5
 * would belong here too, but OpenSSL 3 has no RC4 in its default provider,
 * so they would only be dropped. These suites need security level 0 in
 * OpenSSL 3; the profile applies its own checks (the findings) instead.
 */
#define TLSCAPTURE_PHONE_CIPHERS \
	"AES128-SHA:AES256-SHA:DES-CBC3-SHA:@SECLEVEL=0"

struct tlscapture {
	int tls_min, tls_max;
	const struct trustset *phone;
	const struct trustset *system; /* enforce: PCs' verdict also admits */
	int phone_admits; /* enforce: the phones' verdict admits */
	char *host;
	int modern; /* the platform's defaults, not the profile's range */
	int enforce;
	int refused;
	enum reason reason;
	const char *version;
	STACK_OF(X509) *chain;
};

/*
 * A capture for one connection: TLS as the profile says; when enforce is
 * set, the handshake fails unless the phone set trusts the chain for host.
 * The set must outlive the capture, the capture the connection.
 */
struct tlscapture *
tlscapture_new(const struct config_profile *p, const struct trustset *phone,
    const char *host, int enforce)
{
	struct tlscapture *cap = xcalloc(1, sizeof *cap);

	cap->tls_min = p->tls_min;
	cap->tls_max = p->tls_max;
	cap->phone = phone;
	cap->host = host != NULL ? xstrdup(host) : NULL;
	cap->enforce = enforce;
	cap->phone_admits = 1;
	cap->reason = REASON_OK;
	return cap;
}

/*
 * Make an enforcing capture admit a chain that either policy accepts for
 * the host: phones (when phone is set) or PCs under system (when not
 * NULL). Autodiscover walks for both: a candidate is asked — with the
 * credential — when one of them would ask it (docs/discovery.md).
 */
void
tlscapture_admit(struct tlscapture *cap, int phone,
    const struct trustset *system)
{
	cap->phone_admits = phone;
	cap->system = system;
}

/* Free a capture and its chain; NULL is a no-op. */
void
tlscapture_free(struct tlscapture *cap)
{
	if (cap == NULL)
		return;
	if (cap->chain != NULL)
		sk_X509_pop_free(cap->chain, X509_free);
	free(cap->host);
	free(cap);
}

/* The captured chain (leaf first, as sent), or NULL: borrowed. */
STACK_OF(X509) *
tlscapture_chain(const struct tlscapture *cap)
{
	return cap->chain;
}

/* The TLS version the handshake negotiated ("TLSv1"), or NULL. */
const char *
tlscapture_tls_version(const struct tlscapture *cap)
{
	return cap->version;
}

/*
 * Speak as a modern client (the platform's TLS defaults) instead of the
 * profile's phone: what a PC gets when the phone's own hello was refused
 * (phonelook.c).
 */
void
tlscapture_set_modern(struct tlscapture *cap)
{
	cap->modern = 1;
}

/* Whether an enforcing capture refused the handshake. */
int
tlscapture_refused(const struct tlscapture *cap)
{
	return cap->refused;
}

/* Why an enforcing capture refused (REASON_OK if it did not). */
enum reason
tlscapture_reason(const struct tlscapture *cap)
{
	return cap->reason;
}

/*
 * The connection's certificate check (SSL_CTX_set_cert_verify_callback,
 * which replaces OpenSSL's own verification, so whatever store curl put in
 * the SSL_CTX plays no part): keep a copy of exactly what the server sent,
 * then either let the handshake finish (capture) or finish it only if
 * phones trust the chain (enforce). The decision is chain_evaluate's.
 */
static int
tlscapture_verify_cb(X509_STORE_CTX *xctx, void *arg)
{
	struct tlscapture *cap = arg;
	STACK_OF(X509) *sent = X509_STORE_CTX_get0_untrusted(xctx);
	X509 *leaf = X509_STORE_CTX_get0_cert(xctx), *x;
	SSL *ssl = X509_STORE_CTX_get_ex_data(xctx,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	struct chain_verdict *v;
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
		v = chain_evaluate(cap->phone, cap->system, cap->chain,
		    cap->host, time(NULL), 0);
		cap->reason = v->reason;
		cap->refused = !(cap->phone_admits && v->reason == REASON_OK) &&
		    !(cap->system != NULL && v->system_trusted == 1);
		X509_STORE_CTX_set_error(xctx,
		    !cap->refused ? X509_V_OK
		        : v->phone.error != X509_V_OK
		        ? v->phone.error
		        : X509_V_ERR_CERT_UNTRUSTED);
		chain_verdict_free(v);
		return !cap->refused;
	}
	X509_STORE_CTX_set_error(xctx, X509_V_OK);
	return 1;
}

/* The OpenSSL protocol version for a CONFIG_TLS_* value. */
static int
tlscapture_proto(int v)
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
tlscapture_setup(SSL_CTX *ctx, struct tlscapture *cap)
{
	int lo = cap->tls_min != 0 ? cap->tls_min : CONFIG_TLS_1_0;
	int hi = cap->tls_max != 0 ? cap->tls_max : CONFIG_TLS_1_3;

	if (cap->modern)
		goto verify;
	/* OpenSSL 3 refuses TLS 1.0/1.1 above security level 0. */
	if (lo <= CONFIG_TLS_1_1)
		SSL_CTX_set_security_level(ctx, 0);
	if (hi <= CONFIG_TLS_1_1 &&
	    SSL_CTX_set_cipher_list(ctx, TLSCAPTURE_PHONE_CIPHERS) != 1)
		goto fail;
	if (SSL_CTX_set_min_proto_version(ctx, tlscapture_proto(lo)) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, tlscapture_proto(hi)) != 1)
		goto fail;
verify:
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_cert_verify_callback(ctx, tlscapture_verify_cb, cap);
	return 0;

fail:
	log_warnx("%s: OpenSSL refused the TLS settings of the profile",
	    __func__);
	ERR_clear_error();
	return -1;
}

/* An http_ssl_ctx_cb (http.h): tlscapture_setup for a capture. */
int
tlscapture_install(void *ssl_ctx, void *arg)
{
	return tlscapture_setup(ssl_ctx, arg);
}
