/*
 * certfile: a certificate chain read from a file as it will be served —
 * PEM (leaf first, then the CA certificates the server sends) or one DER
 * certificate — for check-cert. A file that holds a private key (PEM key
 * blocks, or a PKCS#12 bundle) is refused without reading further: the key
 * is never parsed, kept or echoed, and the bytes read are wiped. Errors are
 * words for a person (the path is the caller's to print).
 */
#ifndef EWSPROBED_CERTFILE_H
#define EWSPROBED_CERTFILE_H

#include <stddef.h>

#include <openssl/x509.h>

/* The largest file read, and the most certificates kept. */
#define CERTFILE_MAX_BYTES (1u << 20)
#define CERTFILE_MAX_CERTS 32

enum certfile_status {
	CERTFILE_OK,
	CERTFILE_UNREADABLE, /* cannot be opened or read, or too large */
	CERTFILE_PRIVATE_KEY, /* holds a private key: refused */
	CERTFILE_NOT_CHAIN, /* no certificate, or something else in it */
};

enum certfile_status certfile_read(const char *, STACK_OF(X509) **, char **);
enum certfile_status
certfile_parse(const unsigned char *, size_t, STACK_OF(X509) **, char **);

#endif
