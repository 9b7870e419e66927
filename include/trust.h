/*
 * trust: trust policies ("profiles") and the verdict of a presented
 * certificate chain under them — would a Lync Phone Edition phone trust
 * this server, would a PC, and if not, exactly why.
 *
 * A trust set holds anchors matched by certificate (never by name); an
 * issuing CA is an anchor in its own right (partial chains count). Sets are
 * built once per configuration load and shared by every handshake. The
 * phone set's anchors are the issuer of the Lync Front End pool certificate
 * (learned from a handshake with the pool, or a PEM file), the web-trusted
 * CAs, and the firmware's public roots; the system set is the OS bundle.
 *
 * A verdict is plain data (no OpenSSL objects): the structures below are
 * public for reading only, strings are owned by the verdict, and
 * trust_verdict_free() releases everything. Reasons are the daemon-wide
 * enum reason (reason.h), which also maps each one to the WinINet code and
 * HRESULT a phone logs (reason_wininet, reason_hresult).
 *
 * Display DNs (trust_dn): most specific RDN first, as Windows, certutil
 * and PowerShell's .Issuer show them, RDNs joined by ", ", values exactly
 * as encoded. A backslash appears only where a value would otherwise read
 * like structure: "\, " for a comma followed by a space, "\+", "\\",
 * leading or trailing spaces, and "\XX" for control bytes. So
 * "CN=Issuing CA for contoso,com" (one RDN whose CN holds a comma) and
 * "CN=Issuing-CA for contoso, DC=contoso, DC=com" (three RDNs) read as an
 * admin sees them, and never alike.
 *
 * trust_explain() gives a one-line message (the evidence and what phones
 * log) and, apart, the remedy; a journal line reads "<message> Fix:
 * <remedy>". The issuer named for an untrusted EWS certificate is the
 * leaf's issuer: the CA to reissue from or to publish with
 * New-CsWebTrustedCACertificate (any presented CA counts as an anchor).
 *
 * The TLS side: trust_ssl_ctx_setup() makes a connection's SSL_CTX speak
 * like the profile (TLS range, ciphers, no session reuse) and capture the
 * chain the server presents. A capturing handshake always completes and
 * SSL_get_verify_result() then says X509_V_OK: such a connection is NOT
 * verified and must never carry a credential. An enforcing capture refuses
 * the handshake unless the phone set trusts the chain for the host (reason
 * ok), so no request — and no credential — goes to a server a phone would
 * not trust, even when a load balancer hands a later connection to another
 * server.
 */
#ifndef EWSPROBED_TRUST_H
#define EWSPROBED_TRUST_H

#include <stddef.h>
#include <time.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "config.h"
#include "reason.h"

enum trust_source {
	TRUST_SOURCE_FRONTEND, /* "frontend": issuer of the FE pool cert */
	TRUST_SOURCE_WEB_TRUSTED, /* "web-trusted": New-CsWebTrustedCA... */
	TRUST_SOURCE_PUBLIC_ROOT, /* "public-root": the firmware's roots */
	TRUST_SOURCE_SYSTEM, /* "system": the OS bundle */
};

/* Findings on a presented chain that do not fail it but put phones at risk. */
enum trust_finding_kind {
	TRUST_FINDING_WILDCARD, /* "wildcard_name" */
	TRUST_FINDING_EXTRA_INTERMEDIATES, /* "extra_intermediates" */
	TRUST_FINDING_ROOT_SENT, /* "root_sent" */
	TRUST_FINDING_SHA384_512, /* "sha384_512_signature" */
	TRUST_FINDING_ECDSA, /* "ecdsa_key" */
	TRUST_FINDING_RSA_PSS, /* "rsa_pss" */
	TRUST_FINDING_LARGE_KEY, /* "rsa_key_over_2048" */
	TRUST_FINDING_EXPIRING, /* "cert_expiring" */
};
#define TRUST_FINDING_BIT(k) (1u << (k))

struct trust_finding {
	enum trust_finding_kind kind;
	int position; /* presented position (0 = leaf), -1: whole chain */
	char *detail; /* free text for humans (journal, JSON) */
};

/* What is kept of one presented certificate (position 0 = leaf). */
struct trust_cert_info {
	char *subject; /* display DN (trust_dn) */
	char *issuer;
	char *serial; /* lower-case hex */
	char sha256[65]; /* lower-case hex, no colons */
	time_t not_before;
	time_t not_after;
	char key[32]; /* "RSA-2048", "RSA-PSS-2048", "EC P-256", "ED25519" */
	char sigalg[64]; /* "sha256WithRSAEncryption", "ecdsa-with-SHA384" */
	char **sans; /* DNS names, control bytes escaped */
	size_t nsans;
	int is_ca;
	int self_signed;
};

/* The chain under one trust set. */
struct trust_check {
	int evaluated; /* 0: this set was not asked */
	int trusted; /* reaches one of its anchors, signatures valid */
	int error; /* first X509_V_ERR_* met, X509_V_OK if none */
	const char *error_string; /* OpenSSL's words for it (static) */
	int error_depth; /* depth of that error in the built chain, or -1 */
	char *anchor; /* DN of the anchor reached, or NULL */
	char anchor_sha256[65];
	enum trust_source anchor_source;
};

struct trust_verdict {
	enum reason reason; /* REASON_OK or a certificate reason */
	int phone_trusted; /* == phone.trusted */
	int system_trusted; /* == system.trusted; -1 when not evaluated */
	struct trust_check phone;
	struct trust_check system;
	char *host; /* the name checked */
	time_t now; /* the time checked against */
	int issuer_position; /* the leaf's issuer among the presented, or -1 */
	int issuer_lookalike; /* a trusted CA has its name, not its key */
	int date_position; /* failing date: presented position; -1: anchor */
	char *date_subject; /* ... its subject, or NULL if dates are fine */
	time_t date_when; /* ... notAfter (expired) or notBefore */
	unsigned int findings; /* TRUST_FINDING_BIT(kind) of each kind found */
	struct trust_finding *finding_list; /* in chain order */
	size_t nfindings;
	char *findings_text; /* "name (detail); ..." or NULL: for humans */
	struct trust_cert_info *certs; /* the presented chain, always kept */
	size_t ncerts; /* at most 16: a longer chain fails (cert_invalid) */
	size_t npresented; /* how many the server sent */
};

struct trust_set;
struct trust_capture;

char *trust_dn(const X509_NAME *);
const char *trust_source_name(enum trust_source);
const char *trust_finding_name(enum trust_finding_kind);
const char *trust_finding_fix(enum trust_finding_kind);
void trust_date(time_t, char[32]);

/* Sets: built once per configuration load. */
struct trust_set *trust_set_new_phone(const struct config_profile *, char **);
struct trust_set *trust_set_new_system(const char *, char **);
int trust_set_install(void *, void *);
void trust_set_free(struct trust_set *);
int
trust_set_learn_frontend(struct trust_set *, STACK_OF(X509) *, int *, char **);
size_t trust_set_count(const struct trust_set *, enum trust_source);
int trust_set_anchor(const struct trust_set *, size_t, enum trust_source *,
    struct trust_cert_info *, X509 **);
void trust_cert_info_clear(struct trust_cert_info *);
const char *trust_set_frontend_issuer(const struct trust_set *);

/* Verdicts: pure, no network. */
struct trust_verdict *
trust_evaluate(const struct trust_set *, const struct trust_set *,
    STACK_OF(X509) *, const char *, time_t, unsigned int);
void trust_verdict_free(struct trust_verdict *);
void trust_explain(const struct trust_verdict *, const struct trust_set *,
    const char *, const char *, char **, char **);

/* Handshake failures: tls_version_unsupported or tls_handshake_failed. */
enum reason trust_classify_handshake_error(unsigned long);
enum reason trust_classify_handshake_message(const char *);

/* Capturing (and optionally enforcing) on a TLS connection. */
struct trust_capture *trust_capture_new(const struct config_profile *,
    const struct trust_set *, const char *, int);
void trust_capture_free(struct trust_capture *);
int trust_ssl_ctx_setup(SSL_CTX *, struct trust_capture *);
int trust_capture_install(void *, void *);
STACK_OF(X509) * trust_capture_chain(const struct trust_capture *);
const char *trust_capture_tls_version(const struct trust_capture *);
int trust_capture_refused(const struct trust_capture *);
enum reason trust_capture_reason(const struct trust_capture *);

#endif
