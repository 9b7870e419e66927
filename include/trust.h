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
 * The TLS side: trust_capture_install() makes a connection's SSL_CTX speak
 * like the profile (TLS range, ciphers, no session reuse) and capture the
 * chain the server presents. In enforcing mode it also refuses the
 * handshake unless the phone set trusts the chain, so no request — and no
 * credential — goes to a server a phone would not trust.
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
	TRUST_SOURCE_FRONTEND, /* issuer of the FE pool certificate */
	TRUST_SOURCE_WEB_TRUSTED, /* New-CsWebTrustedCACertificate */
	TRUST_SOURCE_PUBLIC_ROOT, /* the phone firmware's roots */
	TRUST_SOURCE_SYSTEM, /* the OS bundle */
};

/* Findings on a chain that do not fail it but put phones at risk. */
#define TRUST_FINDING_WILDCARD 0x01
#define TRUST_FINDING_EXTRA_INTERMEDIATES 0x02
#define TRUST_FINDING_ROOT_SENT 0x04
#define TRUST_FINDING_SHA384_512 0x08
#define TRUST_FINDING_ECDSA 0x10
#define TRUST_FINDING_RSA_PSS 0x20
#define TRUST_FINDING_LARGE_KEY 0x40
#define TRUST_FINDING_EXPIRING 0x80

/* What is kept of one presented certificate (position 0 = leaf). */
struct trust_cert_info {
	char *subject; /* display DN, as the certificate orders it */
	char *issuer;
	char *serial; /* hex */
	char sha256[65]; /* lower-case hex */
	time_t not_before;
	time_t not_after;
	char key[32]; /* "RSA-2048", "EC-prime256v1" */
	char sigalg[48]; /* "sha256WithRSAEncryption" */
	char *sans; /* "a.example, b.example" or NULL */
	int is_ca;
	int self_signed;
};

struct trust_verdict {
	enum reason reason; /* REASON_OK or a certificate reason */
	int phone_trusted;
	int system_trusted; /* -1 when the system store was not asked */
	int phone_error; /* OpenSSL X509_V_ERR_* under the phone set */
	int system_error;
	char *anchor; /* the phone anchor that verified, or NULL */
	unsigned int findings; /* TRUST_FINDING_* */
	char *findings_text; /* human words for the findings, or NULL */
	struct trust_cert_info *certs;
	size_t ncerts;
};

struct trust_set;

struct trust_set *trust_set_new_phone(const struct config_profile *, char **);
struct trust_set *trust_set_new_system(const char *, char **);
void trust_set_free(struct trust_set *);
int
trust_set_learn_frontend(struct trust_set *, STACK_OF(X509) *, int *, char **);
size_t trust_set_count(const struct trust_set *, enum trust_source);
const char *trust_set_frontend_issuer(const struct trust_set *);

struct trust_verdict *
trust_evaluate(const struct trust_set *, const struct trust_set *,
    STACK_OF(X509) *, const char *, time_t, unsigned int);
void trust_verdict_free(struct trust_verdict *);
void trust_explain(const struct trust_verdict *, const struct trust_set *,
    const char *, const char *, char **, char **);
char *trust_dn(const X509_NAME *);

/* Capturing (and optionally enforcing) on a TLS connection. */
struct trust_capture;
struct trust_capture *trust_capture_new(const struct config_profile *,
    const struct trust_set *, const char *, int);
void trust_capture_free(struct trust_capture *);
int trust_capture_install(void *, void *);
STACK_OF(X509) * trust_capture_chain(const struct trust_capture *);
int trust_capture_refused(const struct trust_capture *);

#endif
