/*
 * hello_read: owns the reader of a server's clear-text reply to the
 * phone's hello (records, ServerHello, Certificate, alerts), bounded in
 * every length it accepts and fed in pieces of any size.
 * Wire layout: RFC 2246 (TLS 1.0) 6.2 and 7.4, RFC 5246 (TLS 1.2) 7.4.1.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "hello.h"
#include "hello_private.h"
#include "log.h"
#include "xmalloc.h"

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
