/*
 * hello: owns hello specs (the built-in phone hello, the text forms) and
 * the names of what a hello carries (cipher suites, extensions, alerts,
 * versions). The ClientHello bytes are made in hello_build.c, the server's
 * clear-text reply is read in hello_read.c. Names and values: the IANA TLS
 * parameters registry (docs/tls-hello.md lists the ones used here).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hello.h"
#include "hello_private.h"
#include "xmalloc.h"

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

/*
 * Whether two specs make the same hello (but for the random and the SNI
 * name): the same versions, suites and flags in order, compression
 * methods and extensions in order.
 */
int
hello_spec_equal(const struct hello_spec *a, const struct hello_spec *b)
{
	return a->record_version == b->record_version &&
	    a->client_version == b->client_version &&
	    a->nsuites == b->nsuites && a->ncompression == b->ncompression &&
	    a->nextensions == b->nextensions &&
	    memcmp(a->suites, b->suites, a->nsuites * sizeof a->suites[0]) ==
	    0 &&
	    memcmp(a->suite_flags, b->suite_flags, a->nsuites) == 0 &&
	    memcmp(a->compression, b->compression, a->ncompression) == 0 &&
	    memcmp(a->extensions, b->extensions,
	        a->nextensions * sizeof a->extensions[0]) == 0;
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

/*
 * The fixed body the builder sends for an extension type: 0 with *body
 * and *len (NULL and 0 for an empty body, and for server_name, whose body
 * the builder makes from the host), or -1 for a type not in the table.
 */
int
hello_extension_body(uint16_t type, const uint8_t **body, size_t *len)
{
	size_t i;

	for (i = 0; i < sizeof hello_exts / sizeof hello_exts[0]; i++) {
		if (hello_exts[i].type == type) {
			*body = hello_exts[i].body;
			*len = hello_exts[i].len;
			return 0;
		}
	}
	return -1;
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
