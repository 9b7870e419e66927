/*
 * trustset: the anchors of one trust policy, matched by certificate (never
 * by name), and their X509_STORE. Sets are built once per configuration
 * load and shared by every handshake. The phone set of a profile holds the
 * issuer of the Lync Front End pool certificate (learned from a handshake
 * with the pool, or a PEM file), the web-trusted CAs and the firmware's
 * public roots; an issuing CA is an anchor in its own right (partial
 * chains count). The system set is the OS bundle, where only roots count.
 */
#ifndef EWSPROBED_TRUSTSET_H
#define EWSPROBED_TRUSTSET_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "certinfo.h"
#include "config.h"

enum trustset_source {
	TRUSTSET_FRONTEND, /* "frontend": issuer of the FE pool cert */
	TRUSTSET_WEB_TRUSTED, /* "web-trusted": New-CsWebTrustedCA... */
	TRUSTSET_PUBLIC_ROOT, /* "public-root": the firmware's roots */
	TRUSTSET_SYSTEM, /* "system": the OS bundle */
};

struct trustset;

const char *trustset_source_name(enum trustset_source);

/* Building: once per configuration load. */
struct trustset *trustset_new_phone(const struct config_profile *, char **);
struct trustset *trustset_new_system(const char *, char **);
void trustset_free(struct trustset *);
int trustset_unchanged(const struct trustset *, const char *);
int
trustset_learn_frontend(struct trustset *, STACK_OF(X509) *, int *, char **);

/* Reading. */
size_t trustset_count(const struct trustset *, enum trustset_source);
const char *trustset_frontend_issuer(const struct trustset *);
char *trustset_frontend_der64(const struct trustset *);
int trustset_seed_frontend(struct trustset *, const char *, char **);
int trustset_empty(const struct trustset *);
int trustset_learns_frontend(const struct trustset *);
int trustset_partial(const struct trustset *);
X509_STORE *trustset_store(const struct trustset *);
uint64_t trustset_version(const struct trustset *);
const char *
trustset_dn(const struct trustset *, size_t, enum trustset_source *);
int trustset_find(const struct trustset *, const X509 *, const char **,
    const char **, enum trustset_source *);
int trustset_name_clash(const struct trustset *, const char *, const char *);
int trustset_anchor(const struct trustset *, size_t, enum trustset_source *,
    struct certinfo *, X509 **);

/* An http_ssl_ctx_cb (http.h): the set's store verifies the connection. */
int trustset_install(void *, void *);

#endif
