/*
 * certinfo: what is shown of one certificate — its names as an admin reads
 * them (display DNs), fingerprint, serial, dates, key, signature algorithm
 * and DNS names — as plain data, so no OpenSSL object leaves the trust
 * modules. struct certinfo is public because the verdict (chain.h) carries
 * one per presented certificate and the reporters (status, once, alert,
 * checkcert, anchors) read its fields; certinfo_clear() frees it.
 *
 * Display DNs (certinfo_dn) are written here by hand, on purpose: they follow
 * documented display rules — most specific RDN first, as Windows, certutil
 * and PowerShell's .Issuer show them, RDNs joined by ", ", values quoted
 * exactly as the certificate encodes them — which no OpenSSL printer gives
 * (X509_NAME_print_ex escapes by RFC 4514, so an ordinary value would not
 * read as the admin sees it). A backslash appears only where a value would
 * otherwise read like structure: "\, " for a comma followed by a space,
 * "\+", "\\", leading or trailing spaces, and "\XX" for control bytes. So
 * "CN=Issuing CA for contoso,com" (one RDN whose CN holds a comma) and
 * "CN=Issuing-CA for contoso, DC=contoso, DC=com" (three RDNs) read as an
 * admin sees them, and never alike.
 */
#ifndef EWSPROBED_CERTINFO_H
#define EWSPROBED_CERTINFO_H

#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

/* What is kept of one certificate (a presented one, or an anchor). */
struct certinfo {
	char *subject; /* display DN (certinfo_dn) */
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

char *certinfo_dn(const X509_NAME *);
char *certinfo_printable(const unsigned char *, int);
void certinfo_sha256(X509 *, char[65]);
time_t certinfo_time(const ASN1_TIME *);
void certinfo_describe(X509 *, struct certinfo *);
void certinfo_copy(struct certinfo *, const struct certinfo *);
void certinfo_clear(struct certinfo *);
void certinfo_cache_flush(void);
void certinfo_cache_stats(size_t *, size_t *);
size_t certinfo_cache_set(X509 *);

/*
 * The descriptions of a presented chain, shared by every holder of an
 * equal one (every field equal): a verdict is kept per target until its
 * next run, and targets on one site are shown the same chain. get takes
 * the n descriptions given (moves or clears them) and returns a counted
 * reference; its certs are read-only and last until the last put.
 */
struct certinfo_chain;
struct certinfo_chain *certinfo_chain_get(struct certinfo *, size_t);
struct certinfo_chain *certinfo_chain_ref(struct certinfo_chain *);
struct certinfo *certinfo_chain_certs(struct certinfo_chain *);
void certinfo_chain_put(struct certinfo_chain *);
size_t certinfo_chain_count(void);

#endif
