/*
 * hello_build: owns the ClientHello bytes made from a hello spec (the
 * record, the handshake message, the extensions, the server_name sent).
 * Wire layout: RFC 2246 (TLS 1.0) 6.2 and 7.4.1.2, RFC 5246 (TLS 1.2)
 * 7.4.1, extensions RFC 6066 and RFC 5246 7.4.1.4.
 */
#include <arpa/inet.h>
#include <string.h>

#include "hello.h"
#include "hello_private.h"
#include "log.h"

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
	const uint8_t *body;
	size_t len, n;

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
	/* A spec made outside the parser may carry any type: empty body. */
	if (hello_extension_body(type, &body, &len) == -1)
		len = 0;
	hello_put16(buf, off, len);
	if (len > 0)
		hello_put(buf, off, body, len);
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
