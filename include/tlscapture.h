/*
 * tlscapture: a TLS connection set up to speak like a profile (TLS range,
 * ciphers, no session reuse) and to capture the chain the server presents.
 * A capturing handshake always completes and SSL_get_verify_result() then
 * says X509_V_OK: such a connection is NOT verified and must never carry a
 * credential. An enforcing capture refuses the handshake unless the phone
 * set trusts the chain for the host (chain_evaluate says reason ok), so no
 * request — and no credential — goes to a server a phone would not trust,
 * even when a load balancer hands a later connection to another server.
 * Autodiscover's captures also admit what PCs trust (tlscapture_admit).
 */
#ifndef EWSPROBED_TLSCAPTURE_H
#define EWSPROBED_TLSCAPTURE_H

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "config.h"
#include "reason.h"
#include "trustset.h"

struct tlscapture;

struct tlscapture *tlscapture_new(const struct config_profile *,
    const struct trustset *, const char *, int);
void tlscapture_admit(struct tlscapture *, int, const struct trustset *);
void tlscapture_free(struct tlscapture *);
void tlscapture_set_modern(struct tlscapture *);
int tlscapture_setup(SSL_CTX *, struct tlscapture *);
int tlscapture_install(void *, void *);
STACK_OF(X509) *tlscapture_chain(const struct tlscapture *);
const char *tlscapture_tls_version(const struct tlscapture *);
int tlscapture_refused(const struct tlscapture *);
enum reason tlscapture_reason(const struct tlscapture *);

#endif
