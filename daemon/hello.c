/*
 * hello: owns hello specs (the built-in phone hello, the text forms), the
 * ClientHello builder and the reader of the server's clear-text reply.
 * Wire layout: RFC 2246 (TLS 1.0) 6.2 and 7.4, RFC 5246 (TLS 1.2) 7.4.1,
 * extensions RFC 6066 and RFC 5246 7.4.1.4. Names and values: the IANA TLS
 * parameters registry (docs/tls-hello.md lists the ones used here).
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "hello.h"
#include "log.h"
#include "xmalloc.h"

#define HELLO_CONTENT_CCS 20
#define HELLO_CONTENT_ALERT 21
#define HELLO_CONTENT_HANDSHAKE 22
#define HELLO_CONTENT_APPDATA 23

#define HELLO_HS_HELLO_REQUEST 0
#define HELLO_HS_CLIENT_HELLO 1
#define HELLO_HS_SERVER_HELLO 2
#define HELLO_HS_CERTIFICATE 11
#define HELLO_HS_SERVER_KEY_EXCHANGE 12
#define HELLO_HS_CERTIFICATE_REQUEST 13
#define HELLO_HS_SERVER_HELLO_DONE 14

/* Cipher suites by IANA value; the OpenSSL name where OpenSSL has one. */
static const struct {
	uint16_t value;
	const char *name;
	const char *openssl;
} hello_suites[] = {
    {0x0004, "TLS_RSA_WITH_RC4_128_MD5", "RC4-MD5"},
    {0x0005, "TLS_RSA_WITH_RC4_128_SHA", "RC4-SHA"},
    {0x0009, "TLS_RSA_WITH_DES_CBC_SHA", NULL},
    {0x000a, "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "DES-CBC3-SHA"},
    {0x0013, "TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA", "DHE-DSS-DES-CBC3-SHA"},
    {0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA", "DHE-RSA-DES-CBC3-SHA"},
    {0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA"},
    {0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA", "DHE-RSA-AES128-SHA"},
    {0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA"},
    {0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", "DHE-RSA-AES256-SHA"},
    {0x003c, "TLS_RSA_WITH_AES_128_CBC_SHA256", "AES128-SHA256"},
    {0x003d, "TLS_RSA_WITH_AES_256_CBC_SHA256", "AES256-SHA256"},
    {0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256"},
    {0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384"},
    {0x009e, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
        "DHE-RSA-AES128-GCM-SHA256"},
    {0x009f, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
        "DHE-RSA-AES256-GCM-SHA384"},
    {0x00ff, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV", NULL},
    {0x5600, "TLS_FALLBACK_SCSV", NULL},
    {0xc009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA"},
    {0xc00a, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA"},
    {0xc011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA", "ECDHE-RSA-RC4-SHA"},
    {0xc012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", "ECDHE-RSA-DES-CBC3-SHA"},
    {0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"},
    {0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA"},
    {0xc027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
        "ECDHE-RSA-AES128-SHA256"},
    {0xc028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
        "ECDHE-RSA-AES256-SHA384"},
    {0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        "ECDHE-ECDSA-AES128-GCM-SHA256"},
    {0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        "ECDHE-ECDSA-AES256-GCM-SHA384"},
    {0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256"},
    {0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384"},
    {0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        "ECDHE-RSA-CHACHA20-POLY1305"},
    {0xcca9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        "ECDHE-ECDSA-CHACHA20-POLY1305"},
};

/*
 * Extensions the builder can send, each with its fixed body. server_name
 * has none here: its body is made from the host name.
 */
static const uint8_t hello_groups[] = {0x00, 0x06, 0x00, 0x1d, 0x00, 0x17, 0x00,
    0x18}; /* x25519, secp256r1, secp384r1 */
static const uint8_t hello_point_formats[] = {0x01, 0x00}; /* uncompressed */
static const uint8_t hello_sigalgs[] = {0x00, 0x0a, 0x04, 0x01, 0x05, 0x01,
    0x02, 0x01, 0x04, 0x03, 0x08, 0x04};
static const uint8_t hello_reneg[] = {0x00}; /* empty renegotiated_connection */

static const struct {
	uint16_t type;
	const char *name;
	const uint8_t *body;
	size_t len;
} hello_exts[] = {
    {HELLO_EXT_SERVER_NAME, "server_name", NULL, 0},
    {HELLO_EXT_SUPPORTED_GROUPS, "supported_groups", hello_groups,
        sizeof hello_groups},
    {HELLO_EXT_EC_POINT_FORMATS, "ec_point_formats", hello_point_formats,
        sizeof hello_point_formats},
    {HELLO_EXT_SIGNATURE_ALGORITHMS, "signature_algorithms", hello_sigalgs,
        sizeof hello_sigalgs},
    {HELLO_EXT_EXTENDED_MASTER_SECRET, "extended_master_secret", NULL, 0},
    {HELLO_EXT_SESSION_TICKET, "session_ticket", NULL, 0},
    {HELLO_EXT_RENEGOTIATION_INFO, "renegotiation_info", hello_reneg,
        sizeof hello_reneg},
};

/* Alert descriptions: RFC 5246 7.2, RFC 6066 (11x), RFC 7507 (86). */
static const struct {
	uint8_t value;
	const char *name;
} hello_alerts[] = {
    {0, "close_notify"},
    {10, "unexpected_message"},
    {20, "bad_record_mac"},
    {21, "decryption_failed"},
    {22, "record_overflow"},
    {30, "decompression_failure"},
    {40, "handshake_failure"},
    {41, "no_certificate"},
    {42, "bad_certificate"},
    {43, "unsupported_certificate"},
    {44, "certificate_revoked"},
    {45, "certificate_expired"},
    {46, "certificate_unknown"},
    {47, "illegal_parameter"},
    {48, "unknown_ca"},
    {49, "access_denied"},
    {50, "decode_error"},
    {51, "decrypt_error"},
    {60, "export_restriction"},
    {70, "protocol_version"},
    {71, "insufficient_security"},
    {80, "internal_error"},
    {86, "inappropriate_fallback"},
    {90, "user_canceled"},
    {100, "no_renegotiation"},
    {110, "unsupported_extension"},
    {111, "certificate_unobtainable"},
    {112, "unrecognized_name"},
    {113, "bad_certificate_status_response"},
    {114, "bad_certificate_hash_value"},
};

/* The reader's state between calls. */
struct hello_reader {
	struct hello_spec spec;
	struct hello_reply reply;
	uint8_t rec_hdr[5]; /* the current record's header */
	size_t rec_hdr_have; /* 5: inside the record's body */
	size_t rec_left; /* body bytes still to come */
	uint8_t msg_hdr[4]; /* the current handshake message's header */
	size_t msg_hdr_have;
	size_t msg_len; /* its body length (valid once the header is in) */
	uint8_t *msg; /* its body so far */
	size_t msg_have;
	size_t msg_alloc;
	uint8_t alert[2];
	size_t alert_have;
};

/* A bounds-checked view of a handshake message body. */
struct hello_cursor {
	const uint8_t *p;
	size_t left;
};

/*
 * The built-in lync-phone-edition hello: TLS 1.0, RSA key exchange, RC4
 * and 3DES first as the evidence suggests, AES last and flagged uncertain,
 * null compression, no extensions (so no SNI). docs/phone-tls-client.md
 * gives the sources and the reasoning.
 */
void
hello_spec_phone(struct hello_spec *s)
{
	static const uint16_t suites[] = {0x0004, 0x0005, 0x000a, 0x002f,
	    0x0035};
	size_t i;

	memset(s, 0, sizeof *s);
	s->record_version = HELLO_TLS1_0;
	s->client_version = HELLO_TLS1_0;
	for (i = 0; i < sizeof suites / sizeof suites[0]; i++) {
		s->suites[i] = suites[i];
		s->suite_flags[i] = suites[i] == 0x002f || suites[i] == 0x0035
		    ? HELLO_SUITE_UNCERTAIN
		    : 0;
	}
	s->nsuites = i;
	s->compression[0] = 0;
	s->ncompression = 1;
	s->nextensions = 0;
}

/* Parse "ssl3", "1.0", "1.1" or "1.2" into a wire version; 0 or -1. */
int
hello_spec_parse_version(const char *text, uint16_t *v)
{
	if (strcasecmp(text, "ssl3") == 0 || strcmp(text, "3.0") == 0)
		*v = HELLO_SSL3;
	else if (strcmp(text, "1.0") == 0)
		*v = HELLO_TLS1_0;
	else if (strcmp(text, "1.1") == 0)
		*v = HELLO_TLS1_1;
	else if (strcmp(text, "1.2") == 0)
		*v = HELLO_TLS1_2;
	else
		return -1;
	return 0;
}

/* Is c a separator in a list ("a, b", "a:b", "a b")? */
static int
hello_is_sep(char c)
{
	return c == ',' || c == ':' || c == ' ' || c == '\t';
}

/*
 * Split text into tokens of [A-Za-z0-9_.?-]; call fn on each. Returns 0,
 * or -1 with *err set (by fn, or here for a bad character).
 */
static int
hello_tokens(const char *text, void *arg,
    int (*fn)(void *, const char *, char **), char **err)
{
	char tok[128];
	size_t n;

	while (*text != '\0') {
		while (hello_is_sep(*text))
			text++;
		if (*text == '\0')
			break;
		for (n = 0; *text != '\0' && !hello_is_sep(*text); text++) {
			if (strchr(
			        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.?-",
			        *text) == NULL) {
				xasprintf(err,
				    "invalid character (byte 0x%02x) in a list",
				    (unsigned char)*text);
				return -1;
			}
			if (n == sizeof tok - 1) {
				xasprintf(err, "a list item is too long");
				return -1;
			}
			tok[n++] = *text;
		}
		tok[n] = '\0';
		if (fn(arg, tok, err) != 0)
			return -1;
	}
	return 0;
}

/* Look up a suite by IANA name, OpenSSL name or "0xNNNN"; 0 or -1. */
int
hello_suite_lookup(const char *name, uint16_t *value)
{
	unsigned long v;
	char *end;
	size_t i;

	for (i = 0; i < sizeof hello_suites / sizeof hello_suites[0]; i++) {
		if (strcasecmp(name, hello_suites[i].name) == 0 ||
		    (hello_suites[i].openssl != NULL &&
		        strcasecmp(name, hello_suites[i].openssl) == 0)) {
			*value = hello_suites[i].value;
			return 0;
		}
	}
	if (strncasecmp(name, "0x", 2) == 0 && strlen(name) == 6) {
		v = strtoul(name + 2, &end, 16);
		if (*end == '\0') {
			*value = (uint16_t)v;
			return 0;
		}
	}
	return -1;
}

/* One suite token: "[?]name". */
static int
hello_suite_token(void *arg, const char *tok, char **err)
{
	struct hello_spec *s = arg;
	uint8_t flags = 0;
	uint16_t v;
	size_t i;

	if (*tok == '?') {
		flags = HELLO_SUITE_UNCERTAIN;
		tok++;
	}
	if (hello_suite_lookup(tok, &v) != 0) {
		xasprintf(err, "unknown cipher suite \"%s\"", tok);
		return -1;
	}
	for (i = 0; i < s->nsuites; i++) {
		if (s->suites[i] == v) {
			xasprintf(err, "cipher suite \"%s\" listed twice", tok);
			return -1;
		}
	}
	if (s->nsuites == HELLO_MAX_SUITES) {
		xasprintf(err, "more than %d cipher suites", HELLO_MAX_SUITES);
		return -1;
	}
	s->suite_flags[s->nsuites] = flags;
	s->suites[s->nsuites++] = v;
	return 0;
}

/*
 * Replace the spec's suites with a list of names in order; a leading '?'
 * flags a suite as uncertain for the phone. 0, or -1 and *err (caller
 * frees; the spec is then unchanged).
 */
int
hello_spec_parse_suites(struct hello_spec *s, const char *text, char **err)
{
	struct hello_spec tmp = *s;

	tmp.nsuites = 0;
	if (hello_tokens(text, &tmp, hello_suite_token, err) != 0)
		return -1;
	if (tmp.nsuites == 0) {
		xasprintf(err, "no cipher suite");
		return -1;
	}
	*s = tmp;
	return 0;
}

/* One extension token: a name from hello_exts, or "none". */
static int
hello_ext_token(void *arg, const char *tok, char **err)
{
	struct hello_spec *s = arg;
	size_t i, j;

	if (strcasecmp(tok, "none") == 0)
		return 0;
	for (i = 0; i < sizeof hello_exts / sizeof hello_exts[0]; i++) {
		if (strcasecmp(tok, hello_exts[i].name) != 0)
			continue;
		for (j = 0; j < s->nextensions; j++) {
			if (s->extensions[j] == hello_exts[i].type) {
				xasprintf(err, "extension \"%s\" listed twice",
				    tok);
				return -1;
			}
		}
		if (s->nextensions == HELLO_MAX_EXTENSIONS) {
			xasprintf(err, "more than %d extensions",
			    HELLO_MAX_EXTENSIONS);
			return -1;
		}
		s->extensions[s->nextensions++] = hello_exts[i].type;
		return 0;
	}
	xasprintf(err, "unknown extension \"%s\"", tok);
	return -1;
}

/* Replace the spec's extensions with a list of names ("none": none). */
int
hello_spec_parse_extensions(struct hello_spec *s, const char *text, char **err)
{
	struct hello_spec tmp = *s;

	tmp.nextensions = 0;
	if (hello_tokens(text, &tmp, hello_ext_token, err) != 0)
		return -1;
	*s = tmp;
	return 0;
}

/* The same hello with only the suites not flagged uncertain. */
void
hello_spec_core(const struct hello_spec *s, struct hello_spec *core)
{
	size_t i;

	*core = *s;
	core->nsuites = 0;
	for (i = 0; i < s->nsuites; i++) {
		if (s->suite_flags[i] & HELLO_SUITE_UNCERTAIN)
			continue;
		core->suite_flags[core->nsuites] = s->suite_flags[i];
		core->suites[core->nsuites++] = s->suites[i];
	}
}

/* Does the hello offer this suite? */
int
hello_spec_offers_suite(const struct hello_spec *s, uint16_t v)
{
	size_t i;

	for (i = 0; i < s->nsuites; i++) {
		if (s->suites[i] == v)
			return 1;
	}
	return 0;
}

/* Does the hello list this extension type? */
int
hello_spec_offers_extension(const struct hello_spec *s, uint16_t type)
{
	size_t i;

	for (i = 0; i < s->nextensions; i++) {
		if (s->extensions[i] == type)
			return 1;
	}
	return 0;
}

/*
 * One line for reports: "TLSv1, no SNI, suites A, B, C (uncertain),
 * extensions none". Caller frees.
 */
char *
hello_spec_describe(const struct hello_spec *s)
{
	char *out, *tmp;
	const char *name;
	size_t i;

	xasprintf(&out, "%s, %s, suites ",
	    hello_version_name(s->client_version) != NULL
	        ? hello_version_name(s->client_version)
	        : "unknown version",
	    hello_spec_offers_extension(s, HELLO_EXT_SERVER_NAME) ? "SNI"
	                                                          : "no SNI");
	for (i = 0; i < s->nsuites; i++) {
		name = hello_suite_name(s->suites[i]);
		if (name != NULL)
			xasprintf(&tmp, "%s%s%s%s", out, i > 0 ? ", " : "",
			    name,
			    s->suite_flags[i] & HELLO_SUITE_UNCERTAIN
			        ? " (uncertain)"
			        : "");
		else
			xasprintf(&tmp, "%s%s0x%04x%s", out, i > 0 ? ", " : "",
			    s->suites[i],
			    s->suite_flags[i] & HELLO_SUITE_UNCERTAIN
			        ? " (uncertain)"
			        : "");
		free(out);
		out = tmp;
	}
	xasprintf(&tmp, "%s, extensions %s", out,
	    s->nextensions == 0 ? "none" : "");
	free(out);
	out = tmp;
	for (i = 0; i < s->nextensions; i++) {
		name = hello_extension_name(s->extensions[i]);
		xasprintf(&tmp, "%s%s%s", out, i > 0 ? ", " : "",
		    name != NULL ? name : "?");
		free(out);
		out = tmp;
	}
	return out;
}

/* The table entry of a cipher suite, or -1. */
static int
hello_suite_index(uint16_t v)
{
	size_t i;

	for (i = 0; i < sizeof hello_suites / sizeof hello_suites[0]; i++) {
		if (hello_suites[i].value == v)
			return (int)i;
	}
	return -1;
}

/* The IANA name of a cipher suite, or NULL. */
const char *
hello_suite_name(uint16_t v)
{
	int i = hello_suite_index(v);

	return i < 0 ? NULL : hello_suites[i].name;
}

/* OpenSSL's name of a cipher suite, or NULL. */
const char *
hello_suite_openssl_name(uint16_t v)
{
	int i = hello_suite_index(v);

	return i < 0 ? NULL : hello_suites[i].openssl;
}

/* The IANA name of an extension type the builder knows, or NULL. */
const char *
hello_extension_name(uint16_t type)
{
	size_t i;

	for (i = 0; i < sizeof hello_exts / sizeof hello_exts[0]; i++) {
		if (hello_exts[i].type == type)
			return hello_exts[i].name;
	}
	return NULL;
}

/* The RFC name of an alert description, or NULL. */
const char *
hello_alert_name(uint8_t v)
{
	size_t i;

	for (i = 0; i < sizeof hello_alerts / sizeof hello_alerts[0]; i++) {
		if (hello_alerts[i].value == v)
			return hello_alerts[i].name;
	}
	return NULL;
}

/* "SSLv3", "TLSv1" ... as OpenSSL's SSL_get_version() says; or NULL. */
const char *
hello_version_name(uint16_t v)
{
	switch (v) {
	case HELLO_SSL3:
		return "SSLv3";
	case HELLO_TLS1_0:
		return "TLSv1";
	case HELLO_TLS1_1:
		return "TLSv1.1";
	case HELLO_TLS1_2:
		return "TLSv1.2";
	case 0x0304:
		return "TLSv1.3";
	}
	return NULL;
}

/*
 * The server_name to send for host: 1 and the name in out (no trailing
 * dot), 0 when there is none to send (no host, or an IP literal, which RFC
 * 6066 3 forbids in server_name), -1 when the name is too long.
 */
int
hello_sni_name(const char *host, char out[256])
{
	unsigned char addr[16];
	size_t len;

	if (host == NULL || *host == '\0')
		return 0;
	if (inet_pton(AF_INET, host, addr) == 1 ||
	    inet_pton(AF_INET6, host, addr) == 1 || host[0] == '[')
		return 0;
	len = strlen(host);
	if (host[len - 1] == '.')
		len--;
	if (len == 0)
		return 0;
	if (len > 253)
		return -1;
	memcpy(out, host, len);
	out[len] = '\0';
	return 1;
}

/* Append helpers for the builder; overflowing is an internal bug. */
static void
hello_put(uint8_t *buf, size_t *off, const void *p, size_t n)
{
	if (*off + n > HELLO_BUILD_MAX)
		fatalx("hello_build: ClientHello over %d bytes",
		    HELLO_BUILD_MAX);
	memcpy(buf + *off, p, n);
	*off += n;
}

static void
hello_put8(uint8_t *buf, size_t *off, unsigned int v)
{
	uint8_t b = (uint8_t)v;

	hello_put(buf, off, &b, 1);
}

static void
hello_put16(uint8_t *buf, size_t *off, unsigned int v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	hello_put(buf, off, b, 2);
}

/* Write a 16-bit length at off (a placeholder made before). */
static void
hello_patch16(uint8_t *buf, size_t off, size_t v)
{
	buf[off] = (uint8_t)(v >> 8);
	buf[off + 1] = (uint8_t)v;
}

/* Append one extension (type, length, body) of the spec. */
static void
hello_put_extension(uint8_t *buf, size_t *off, uint16_t type, const char *sni)
{
	size_t i, n;

	hello_put16(buf, off, type);
	if (type == HELLO_EXT_SERVER_NAME) {
		/* ServerNameList: one host_name entry (RFC 6066 3). */
		n = strlen(sni);
		hello_put16(buf, off, n + 5);
		hello_put16(buf, off, n + 3);
		hello_put8(buf, off, 0);
		hello_put16(buf, off, n);
		hello_put(buf, off, sni, n);
		return;
	}
	for (i = 0; i < sizeof hello_exts / sizeof hello_exts[0]; i++) {
		if (hello_exts[i].type == type) {
			hello_put16(buf, off, hello_exts[i].len);
			if (hello_exts[i].len > 0)
				hello_put(buf, off, hello_exts[i].body,
				    hello_exts[i].len);
			return;
		}
	}
	/* A spec made outside the parser may carry any type: empty body. */
	hello_put16(buf, off, 0);
}

/*
 * Make the ClientHello record for spec (SNI for host when the spec lists
 * server_name and host is a DNS name) with the given random. Returns its
 * length, or -1 and *errstr (static text) when host is too long or the
 * spec offers no suite.
 */
int
hello_build(const struct hello_spec *s, const char *host,
    const uint8_t random[HELLO_RANDOM_LEN], uint8_t out[HELLO_BUILD_MAX],
    const char **errstr)
{
	char sni[256];
	size_t off = 0, hs_len_at, ext_len_at = 0, i;
	int has_sni = 0, any_ext = 0;

	if (s->nsuites > HELLO_MAX_SUITES ||
	    s->ncompression > HELLO_MAX_COMPRESSION ||
	    s->nextensions > HELLO_MAX_EXTENSIONS)
		fatalx("hello_build: spec over its array sizes");
	if (s->nsuites == 0) {
		*errstr = "the hello offers no cipher suite";
		return -1;
	}
	if (hello_spec_offers_extension(s, HELLO_EXT_SERVER_NAME)) {
		if ((has_sni = hello_sni_name(host, sni)) < 0) {
			*errstr = "host name too long for server_name";
			return -1;
		}
	}
	/* Record header; its length is patched at the end. */
	hello_put8(out, &off, HELLO_CONTENT_HANDSHAKE);
	hello_put16(out, &off, s->record_version);
	hello_put16(out, &off, 0);
	/* Handshake header: type, 24-bit length (patched). */
	hello_put8(out, &off, HELLO_HS_CLIENT_HELLO);
	hs_len_at = off;
	hello_put8(out, &off, 0);
	hello_put16(out, &off, 0);
	hello_put16(out, &off, s->client_version);
	hello_put(out, &off, random, HELLO_RANDOM_LEN);
	hello_put8(out, &off, 0); /* no session to resume */
	hello_put16(out, &off, s->nsuites * 2);
	for (i = 0; i < s->nsuites; i++)
		hello_put16(out, &off, s->suites[i]);
	hello_put8(out, &off, s->ncompression);
	hello_put(out, &off, s->compression, s->ncompression);
	for (i = 0; i < s->nextensions; i++) {
		if (s->extensions[i] == HELLO_EXT_SERVER_NAME && !has_sni)
			continue;
		if (!any_ext) {
			any_ext = 1;
			ext_len_at = off;
			hello_put16(out, &off, 0);
		}
		hello_put_extension(out, &off, s->extensions[i], sni);
	}
	if (any_ext)
		hello_patch16(out, ext_len_at, off - ext_len_at - 2);
	hello_patch16(out, 3, off - 5);
	out[hs_len_at] = 0;
	hello_patch16(out, hs_len_at + 1, off - hs_len_at - 3);
	return (int)off;
}

/* Make a reader for the reply to a hello made from spec. */
struct hello_reader *
hello_reader_new(const struct hello_spec *s)
{
	struct hello_reader *r;

	r = xcalloc(1, sizeof *r);
	r->spec = *s;
	r->reply.status = HELLO_MORE;
	return r;
}

/* Free a reader and what its reply holds. */
void
hello_reader_free(struct hello_reader *r)
{
	if (r == NULL)
		return;
	if (r->reply.chain != NULL)
		sk_X509_pop_free(r->reply.chain, X509_free);
	free(r->msg);
	free(r);
}

/* The reply so far (valid until hello_reader_free). */
const struct hello_reply *
hello_reader_reply(const struct hello_reader *r)
{
	return &r->reply;
}

/* Stop with HELLO_ERROR and a reason (numbers only, never server text). */
static void __attribute__((format(printf, 2, 3)))
hello_fail(struct hello_reader *r, const char *fmt, ...)
{
	va_list ap;

	if (r->reply.status != HELLO_MORE)
		return;
	va_start(ap, fmt);
	vsnprintf(r->reply.reason, sizeof r->reply.reason, fmt, ap);
	va_end(ap);
	r->reply.status = HELLO_ERROR;
}

/* Cursor reads: 0, or -1 when the message is too short. */
static int
hello_get(struct hello_cursor *c, size_t n, uint32_t *v)
{
	size_t i;

	if (c->left < n)
		return -1;
	*v = 0;
	for (i = 0; i < n; i++)
		*v = (*v << 8) | c->p[i];
	c->p += n;
	c->left -= n;
	return 0;
}

static int
hello_skip(struct hello_cursor *c, size_t n)
{
	if (c->left < n)
		return -1;
	c->p += n;
	c->left -= n;
	return 0;
}

/* Parse ServerHello's extensions block (RFC 5246 7.4.1.4). */
static int
hello_read_server_extensions(struct hello_reader *r, struct hello_cursor *c)
{
	struct hello_reply *rp = &r->reply;
	uint32_t total, type, len;
	size_t i;

	if (hello_get(c, 2, &total) != 0 || total != c->left) {
		hello_fail(r,
		    "ServerHello extensions length does not match the message");
		return -1;
	}
	while (c->left > 0) {
		if (hello_get(c, 2, &type) != 0 || hello_get(c, 2, &len) != 0 ||
		    hello_skip(c, len) != 0) {
			hello_fail(r, "ServerHello extension truncated");
			return -1;
		}
		for (i = 0; i < rp->nextensions; i++) {
			if (rp->extensions[i] == type) {
				hello_fail(r,
				    "ServerHello repeats extension %u",
				    (unsigned int)type);
				return -1;
			}
		}
		if (rp->nextensions == HELLO_MAX_SERVER_EXTENSIONS) {
			hello_fail(r, "ServerHello has more than %d extensions",
			    HELLO_MAX_SERVER_EXTENSIONS);
			return -1;
		}
		rp->extensions[rp->nextensions++] = (uint16_t)type;
		if (type == HELLO_EXT_SERVER_NAME) {
			if (len != 0) {
				hello_fail(r,
				    "ServerHello server_name is not empty");
				return -1;
			}
			rp->sni_acked = 1;
		}
	}
	return 0;
}

/*
 * Is the ServerHello an answer to this hello: a version no higher than
 * offered, a suite and compression offered, only extensions asked for
 * (RFC 5246 7.4.1.4; renegotiation_info may answer the SCSV, RFC 5746)?
 */
static void
hello_check_server_hello(struct hello_reader *r)
{
	struct hello_reply *rp = &r->reply;
	const struct hello_spec *s = &r->spec;
	size_t i;

	if (rp->version > s->client_version) {
		hello_fail(r,
		    "the server chose version 0x%04x, above the 0x%04x offered",
		    rp->version, s->client_version);
		return;
	}
	if (rp->suite == HELLO_SCSV_RENEGOTIATION ||
	    !hello_spec_offers_suite(s, rp->suite)) {
		hello_fail(r,
		    "the server chose cipher suite 0x%04x, which the hello did not offer",
		    rp->suite);
		return;
	}
	for (i = 0; i < s->nsuites; i++) {
		if (s->suites[i] == rp->suite)
			rp->suite_uncertain =
			    (s->suite_flags[i] & HELLO_SUITE_UNCERTAIN) != 0;
	}
	if (memchr(s->compression, rp->compression, s->ncompression) == NULL) {
		hello_fail(r,
		    "the server chose compression %u, which the hello did not offer",
		    rp->compression);
		return;
	}
	for (i = 0; i < rp->nextensions; i++) {
		if (hello_spec_offers_extension(s, rp->extensions[i]))
			continue;
		if (rp->extensions[i] == HELLO_EXT_RENEGOTIATION_INFO &&
		    hello_spec_offers_suite(s, HELLO_SCSV_RENEGOTIATION))
			continue;
		hello_fail(r,
		    "the server sent extension %u, which the hello did not offer",
		    rp->extensions[i]);
		return;
	}
}

/* ServerHello (RFC 5246 7.4.1.3). */
static void
hello_read_server_hello(struct hello_reader *r, struct hello_cursor *c)
{
	struct hello_reply *rp = &r->reply;
	uint32_t version, sid_len, suite, comp;

	if (hello_get(c, 2, &version) != 0 || hello_skip(c, 32) != 0 ||
	    hello_get(c, 1, &sid_len) != 0 || sid_len > 32 ||
	    hello_skip(c, sid_len) != 0 || hello_get(c, 2, &suite) != 0 ||
	    hello_get(c, 1, &comp) != 0) {
		hello_fail(r, "ServerHello truncated or malformed");
		return;
	}
	if ((version >> 8) != 3) {
		hello_fail(r, "ServerHello version 0x%04x is not TLS",
		    (unsigned int)version);
		return;
	}
	rp->version = (uint16_t)version;
	rp->suite = (uint16_t)suite;
	rp->compression = (uint8_t)comp;
	rp->have_server_hello = 1;
	if (c->left > 0 && hello_read_server_extensions(r, c) != 0)
		return;
	hello_check_server_hello(r);
}

/* Certificate (RFC 5246 7.4.2): the chain as X509 objects. */
static void
hello_read_certificate(struct hello_reader *r, struct hello_cursor *c)
{
	struct hello_reply *rp = &r->reply;
	const unsigned char *q;
	uint32_t total, len;
	X509 *x;
	int n = 0;

	if (hello_get(c, 3, &total) != 0 || total != c->left) {
		hello_fail(r,
		    "Certificate list length does not match the message");
		return;
	}
	if (total == 0) {
		hello_fail(r, "Certificate message with no certificate");
		return;
	}
	if ((rp->chain = sk_X509_new_null()) == NULL)
		fatalx("sk_X509_new_null: out of memory");
	while (c->left > 0) {
		if (hello_get(c, 3, &len) != 0 || len == 0 || len > c->left) {
			hello_fail(r, "certificate %d: bad length", n);
			return;
		}
		if (n == HELLO_MAX_CERTS) {
			hello_fail(r, "more than %d certificates",
			    HELLO_MAX_CERTS);
			return;
		}
		/* Keep OpenSSL's error queue as it was: callers read it. */
		ERR_set_mark();
		q = c->p;
		x = d2i_X509(NULL, &q, (long)len);
		ERR_pop_to_mark();
		if (x == NULL || q != c->p + len) {
			X509_free(x);
			hello_fail(r, "certificate %d is not a DER certificate",
			    n);
			return;
		}
		if (sk_X509_push(rp->chain, x) == 0)
			fatalx("sk_X509_push: out of memory");
		hello_skip(c, len);
		n++;
	}
	rp->have_certificate = 1;
}

/* One complete handshake message from the server's first flight. */
static void
hello_message(struct hello_reader *r, unsigned int type)
{
	struct hello_reply *rp = &r->reply;
	struct hello_cursor c = {r->msg, r->msg_len};

	if (type == HELLO_HS_HELLO_REQUEST) {
		/* RFC 5246 7.4.1.1: ignored while negotiating. */
		if (r->msg_len != 0)
			hello_fail(r, "HelloRequest is not empty");
		return;
	}
	if (type == HELLO_HS_SERVER_HELLO) {
		if (rp->have_server_hello)
			hello_fail(r, "second ServerHello");
		else
			hello_read_server_hello(r, &c);
		return;
	}
	if (!rp->have_server_hello) {
		hello_fail(r, "handshake message %u before ServerHello", type);
		return;
	}
	switch (type) {
	case HELLO_HS_CERTIFICATE:
		if (rp->have_certificate || rp->have_server_key_exchange ||
		    rp->have_certificate_request)
			hello_fail(r, "Certificate out of order");
		else
			hello_read_certificate(r, &c);
		break;
	case HELLO_HS_SERVER_KEY_EXCHANGE:
		if (rp->have_server_key_exchange ||
		    rp->have_certificate_request)
			hello_fail(r, "ServerKeyExchange out of order");
		rp->have_server_key_exchange = 1;
		break;
	case HELLO_HS_CERTIFICATE_REQUEST:
		if (rp->have_certificate_request)
			hello_fail(r, "second CertificateRequest");
		rp->have_certificate_request = 1;
		break;
	case HELLO_HS_SERVER_HELLO_DONE:
		if (r->msg_len != 0)
			hello_fail(r, "ServerHelloDone is not empty");
		else
			rp->status = HELLO_DONE;
		break;
	default:
		hello_fail(r, "unexpected handshake message %u", type);
		break;
	}
}

/*
 * Handshake record bytes: gather one message at a time, then read it.
 * Returns how many bytes were used (fewer than n once decided).
 */
static size_t
hello_handshake_bytes(struct hello_reader *r, const uint8_t *p, size_t n)
{
	size_t k, used = 0;

	while (n > 0 && r->reply.status == HELLO_MORE) {
		if (r->msg_hdr_have < 4) {
			k = 4 - r->msg_hdr_have < n ? 4 - r->msg_hdr_have : n;
			memcpy(r->msg_hdr + r->msg_hdr_have, p, k);
			r->msg_hdr_have += k;
			p += k;
			n -= k;
			used += k;
			if (r->msg_hdr_have < 4)
				break;
			r->msg_len = (size_t)r->msg_hdr[1] << 16 |
			    (size_t)r->msg_hdr[2] << 8 | r->msg_hdr[3];
			if (r->msg_len > HELLO_MESSAGE_MAX) {
				hello_fail(r,
				    "handshake message of %zu bytes (cap %d)",
				    r->msg_len, HELLO_MESSAGE_MAX);
				break;
			}
			if (r->msg_len > r->msg_alloc) {
				r->msg = xreallocarray(r->msg, 1, r->msg_len);
				r->msg_alloc = r->msg_len;
			}
			r->msg_have = 0;
		} else {
			k = r->msg_len - r->msg_have < n
			    ? r->msg_len - r->msg_have
			    : n;
			memcpy(r->msg + r->msg_have, p, k);
			r->msg_have += k;
			p += k;
			n -= k;
			used += k;
		}
		if (r->msg_have == r->msg_len) {
			hello_message(r, r->msg_hdr[0]);
			r->msg_hdr_have = 0;
		}
	}
	return used;
}

/*
 * Alert record bytes (RFC 5246 7.2). Warnings other than close_notify are
 * counted and passed over, as clients do; a fatal alert or close_notify
 * decides. Returns how many bytes were used.
 */
static size_t
hello_alert_bytes(struct hello_reader *r, const uint8_t *p, size_t n)
{
	struct hello_reply *rp = &r->reply;
	size_t used = 0;

	while (used < n && rp->status == HELLO_MORE) {
		r->alert[r->alert_have++] = p[used++];
		if (r->alert_have < 2)
			continue;
		r->alert_have = 0;
		if (r->alert[0] != 1 && r->alert[0] != 2) {
			hello_fail(r, "alert of unknown level %u", r->alert[0]);
			break;
		}
		if (r->alert[0] == 1 && r->alert[1] != 0) {
			rp->nwarnings++;
			continue;
		}
		rp->have_alert = 1;
		rp->alert_level = r->alert[0];
		rp->alert_description = r->alert[1];
		rp->status = HELLO_ALERT;
	}
	return used;
}

/* A complete record header: check it, start its body. */
static void
hello_record_header(struct hello_reader *r)
{
	unsigned int type = r->rec_hdr[0];
	unsigned int version = (unsigned int)r->rec_hdr[1] << 8 | r->rec_hdr[2];
	size_t len = (size_t)r->rec_hdr[3] << 8 | r->rec_hdr[4];

	switch (type) {
	case HELLO_CONTENT_HANDSHAKE:
	case HELLO_CONTENT_ALERT:
		break;
	case HELLO_CONTENT_CCS:
		hello_fail(r, "ChangeCipherSpec before ServerHelloDone");
		return;
	case HELLO_CONTENT_APPDATA:
		hello_fail(r, "application data before the handshake");
		return;
	default:
		if (r->reply.consumed == 5 && type >= 0x20 && type < 0x7f)
			hello_fail(r, "the server answered with text, not TLS");
		else
			hello_fail(r, "not TLS: record type %u", type);
		return;
	}
	if ((version >> 8) != 3) {
		hello_fail(r, "not TLS: record version 0x%04x", version);
		return;
	}
	if (len > HELLO_RECORD_MAX) {
		hello_fail(r, "record of %zu bytes (cap %d)", len,
		    HELLO_RECORD_MAX);
		return;
	}
	if (len == 0 && type == HELLO_CONTENT_ALERT) {
		hello_fail(r, "empty alert record");
		return;
	}
	r->rec_left = len;
	if (len == 0)
		r->rec_hdr_have = 0;
}

/*
 * Feed n bytes the server sent. Returns the status: HELLO_MORE until the
 * first flight ends (ServerHelloDone), an alert decides or the bytes are
 * not a valid answer. Once decided, further bytes are ignored. Never reads
 * past p + n; keeps at most one handshake message (HELLO_MESSAGE_MAX) and
 * reads at most HELLO_INPUT_MAX bytes in all.
 */
enum hello_status
hello_reader_feed(struct hello_reader *r, const uint8_t *p, size_t n)
{
	struct hello_reply *rp = &r->reply;
	size_t k, room;

	while (n > 0 && rp->status == HELLO_MORE) {
		if (rp->consumed >= HELLO_INPUT_MAX) {
			hello_fail(r, "over %d bytes without ServerHelloDone",
			    HELLO_INPUT_MAX);
			break;
		}
		room = HELLO_INPUT_MAX - rp->consumed;
		if (r->rec_hdr_have < 5) {
			k = 5 - r->rec_hdr_have < n ? 5 - r->rec_hdr_have : n;
			if (k > room)
				k = room;
			memcpy(r->rec_hdr + r->rec_hdr_have, p, k);
			r->rec_hdr_have += k;
			rp->consumed += k;
			p += k;
			n -= k;
			if (r->rec_hdr_have == 5)
				hello_record_header(r);
			continue;
		}
		k = r->rec_left < n ? r->rec_left : n;
		if (k > room)
			k = room;
		if (r->rec_hdr[0] == HELLO_CONTENT_HANDSHAKE)
			k = hello_handshake_bytes(r, p, k);
		else
			k = hello_alert_bytes(r, p, k);
		rp->consumed += k;
		r->rec_left -= k;
		p += k;
		n -= k;
		if (r->rec_left == 0)
			r->rec_hdr_have = 0;
	}
	return rp->status;
}
