/*
 * hello: a TLS 1.0-1.2 ClientHello made byte for byte from a description,
 * and a bounded, incremental reader of the server's clear-text answer to
 * it (ServerHello, Certificate, ServerHelloDone or an alert).
 *
 * Why: a Lync Phone Edition phone offers suites (3DES, RC4) that this
 * platform's OpenSSL cannot offer at all, and sends no SNI. In TLS 1.0-1.2
 * everything a client needs to judge a server (the version and suite it
 * picks, the certificate chain it presents to that client, or its refusal)
 * travels in clear before the key exchange, so the probe sends the phone's
 * exact hello and reads that far, as sslscan and testssl.sh do. See
 * docs/tls-hello.md (format, caps, suite table) and
 * docs/phone-tls-client.md (the phone's hello and why).
 *
 * Everything here is pure: no I/O, no clock, no randomness (the caller
 * gives the 32 random bytes), so the reader can be fuzzed. The network
 * side is hellorun.h.
 *
 * A spec is plain data (copy it freely). A reply is public for reading
 * only and owned by its reader; its chain is borrowed (X509_up_ref or
 * X509_chain_up_ref to keep it).
 */
#ifndef EWSPROBED_HELLO_H
#define EWSPROBED_HELLO_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

/* Protocol versions as on the wire. */
#define HELLO_SSL3 0x0300
#define HELLO_TLS1_0 0x0301
#define HELLO_TLS1_1 0x0302
#define HELLO_TLS1_2 0x0303

/* Extension types (IANA "TLS ExtensionType Values"). */
#define HELLO_EXT_SERVER_NAME 0x0000
#define HELLO_EXT_SUPPORTED_GROUPS 0x000a
#define HELLO_EXT_EC_POINT_FORMATS 0x000b
#define HELLO_EXT_SIGNATURE_ALGORITHMS 0x000d
#define HELLO_EXT_EXTENDED_MASTER_SECRET 0x0017
#define HELLO_EXT_SESSION_TICKET 0x0023
#define HELLO_EXT_RENEGOTIATION_INFO 0xff01

/* Signalling suite values (RFC 5746, RFC 7507). */
#define HELLO_SCSV_RENEGOTIATION 0x00ff

#define HELLO_MAX_SUITES 64
#define HELLO_MAX_EXTENSIONS 16
#define HELLO_MAX_COMPRESSION 4
#define HELLO_RANDOM_LEN 32
/* Largest ClientHello hello_build() can make (one record). */
#define HELLO_BUILD_MAX 2048

/* Caps of the reader (docs/tls-hello.md says why each). */
#define HELLO_RECORD_MAX (16384 + 2048) /* RFC 5246 6.2.3 */
#define HELLO_MESSAGE_MAX (100 * 1024) /* OpenSSL's max_cert_list */
#define HELLO_MAX_CERTS 16
#define HELLO_INPUT_MAX (256 * 1024)
#define HELLO_MAX_SERVER_EXTENSIONS 32

/* A suite the profile offers but whose use by the phone is unproven. */
#define HELLO_SUITE_UNCERTAIN 0x01

/* What to send: one ClientHello in one record. */
struct hello_spec {
	uint16_t record_version; /* the record layer's version */
	uint16_t client_version; /* ClientHello.client_version */
	uint16_t suites[HELLO_MAX_SUITES]; /* in the client's order */
	uint8_t suite_flags[HELLO_MAX_SUITES]; /* HELLO_SUITE_* */
	size_t nsuites;
	uint8_t compression[HELLO_MAX_COMPRESSION]; /* 0 = null */
	size_t ncompression;
	/*
	 * Extension types in order; none: no extensions block at all, as a
	 * TLS 1.0 client without extensions sends. HELLO_EXT_SERVER_NAME is
	 * sent only when hello_build() is given a DNS name.
	 */
	uint16_t extensions[HELLO_MAX_EXTENSIONS];
	size_t nextensions;
};

enum hello_status {
	HELLO_MORE, /* needs more bytes */
	HELLO_DONE, /* ServerHelloDone: the server's whole first flight */
	HELLO_ALERT, /* the server sent an alert (reply.alert_*) */
	HELLO_ERROR, /* not a valid answer: reply.reason says why */
};

/* What the server answered, as far as it went. */
struct hello_reply {
	enum hello_status status;
	char reason[160]; /* HELLO_ERROR: why (no server text in it) */
	int have_server_hello;
	uint16_t version; /* ServerHello.server_version */
	uint16_t suite; /* the suite the server chose */
	uint8_t compression;
	int suite_uncertain; /* the suite is flagged HELLO_SUITE_UNCERTAIN */
	uint16_t extensions[HELLO_MAX_SERVER_EXTENSIONS]; /* ServerHello's */
	size_t nextensions;
	int sni_acked; /* an empty server_name: the server used our SNI */
	int have_certificate;
	STACK_OF(X509) *chain; /* as presented, leaf first; or NULL */
	int have_server_key_exchange;
	int have_certificate_request;
	int have_alert;
	uint8_t alert_level; /* 1 warning, 2 fatal */
	uint8_t alert_description; /* RFC 5246 7.2 */
	size_t nwarnings; /* warning alerts passed over */
	size_t consumed; /* bytes read so far */
};

struct hello_reader;

/* Descriptions. */
void hello_spec_phone(struct hello_spec *);
int hello_spec_parse_version(const char *, uint16_t *);
int hello_spec_parse_suites(struct hello_spec *, const char *, char **);
int hello_spec_parse_extensions(struct hello_spec *, const char *, char **);
void hello_spec_core(const struct hello_spec *, struct hello_spec *);
int hello_spec_equal(const struct hello_spec *, const struct hello_spec *);
int hello_spec_offers_suite(const struct hello_spec *, uint16_t);
int hello_spec_offers_extension(const struct hello_spec *, uint16_t);
char *hello_spec_describe(const struct hello_spec *);

/* Names (IANA), NULL when unknown. */
const char *hello_suite_name(uint16_t);
const char *hello_suite_openssl_name(uint16_t);
int hello_suite_lookup(const char *, uint16_t *);
const char *hello_extension_name(uint16_t);
const char *hello_alert_name(uint8_t);
const char *hello_version_name(uint16_t);

/* The ClientHello: length, or -1 and *errstr (static) on a bad host. */
int hello_sni_name(const char *, char[256]);
int hello_build(const struct hello_spec *, const char *,
    const uint8_t[HELLO_RANDOM_LEN], uint8_t[HELLO_BUILD_MAX], const char **);

/* The reader. */
struct hello_reader *hello_reader_new(const struct hello_spec *);
enum hello_status
hello_reader_feed(struct hello_reader *, const uint8_t *, size_t);
const struct hello_reply *hello_reader_reply(const struct hello_reader *);
void hello_reader_free(struct hello_reader *);

#endif
