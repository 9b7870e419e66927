/*
 * Unit tests of hello: specs (built-in phone hello, text forms), the
 * ClientHello byte for byte against the RFC 2246 / RFC 5246 layout, the
 * hello read by a real OpenSSL server in process (socketpair, TLS 1.0 at
 * security level 0) whose answer the reader then parses, and the reader on
 * hand-made answers: split and fragmented records, caps, alerts, wrong
 * content, and every malformation it names. Nothing touches the network.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "hello.h"
#include "helpers/hello-pki.h"

static struct hello_pki pki;
static uint8_t random_bytes[HELLO_RANDOM_LEN];

/* A growing byte buffer for hand-made server answers. */
struct buf {
	uint8_t *p;
	size_t len;
};

static void
buf_add(struct buf *b, const void *p, size_t n)
{
	b->p = realloc(b->p, b->len + n + 1);
	assert_non_null(b->p);
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void
buf_u8(struct buf *b, unsigned int v)
{
	uint8_t x = (uint8_t)v;

	buf_add(b, &x, 1);
}

static void
buf_u16(struct buf *b, unsigned int v)
{
	buf_u8(b, v >> 8);
	buf_u8(b, v);
}

static void
buf_u24(struct buf *b, size_t v)
{
	buf_u8(b, (unsigned int)(v >> 16));
	buf_u16(b, (unsigned int)v);
}

/* Append a handshake message (type, 24-bit length, body). */
static void
hs_add(struct buf *b, unsigned int type, const struct buf *body)
{
	buf_u8(b, type);
	buf_u24(b, body->len);
	buf_add(b, body->p, body->len);
}

/* Append records of type carrying data, at most frag bytes each. */
static void
records_add(struct buf *b, unsigned int type, const struct buf *data,
    size_t frag)
{
	size_t off = 0, n;

	do {
		n = data->len - off < frag ? data->len - off : frag;
		buf_u8(b, type);
		buf_u16(b, 0x0301);
		buf_u16(b, (unsigned int)n);
		buf_add(b, data->p + off, n);
		off += n;
	} while (off < data->len);
}

/* A ServerHello body; ext (may be NULL) is the whole extensions block. */
static void
server_hello_body(struct buf *b, unsigned int version, unsigned int suite,
    const struct buf *ext)
{
	uint8_t rnd[32] = {0};

	buf_u16(b, version);
	buf_add(b, rnd, sizeof rnd);
	buf_u8(b, 4);
	buf_add(b, "sess", 4);
	buf_u16(b, suite);
	buf_u8(b, 0);
	if (ext != NULL)
		buf_add(b, ext->p, ext->len);
}

/* A Certificate body with n copies of cert. */
static void
certificate_body(struct buf *b, X509 *cert, int n)
{
	unsigned char *der = NULL;
	int len = i2d_X509(cert, &der), i;

	assert_true(len > 0);
	buf_u24(b, (size_t)(len + 3) * (size_t)n);
	for (i = 0; i < n; i++) {
		buf_u24(b, (size_t)len);
		buf_add(b, der, (size_t)len);
	}
	OPENSSL_free(der);
}

/* The handshake stream of a whole first flight: SH, Certificate, SHD. */
static void
flight(struct buf *hs, unsigned int suite, int ncerts)
{
	struct buf sh = {0}, cert = {0}, done = {0};

	server_hello_body(&sh, 0x0301, suite, NULL);
	hs_add(hs, 2, &sh);
	certificate_body(&cert, pki.cert, ncerts);
	hs_add(hs, 11, &cert);
	hs_add(hs, 14, &done);
	free(sh.p);
	free(cert.p);
}

/* Feed all of b at once to a reader for spec; return the reader. */
static struct hello_reader *
read_all(const struct hello_spec *spec, const struct buf *b)
{
	struct hello_reader *r = hello_reader_new(spec);

	hello_reader_feed(r, b->p, b->len);
	return r;
}

/* Feed b (records of a handshake stream) and expect an error. */
static void
expect_error(const struct hello_spec *spec, const struct buf *b,
    const char *reason_part)
{
	struct hello_reader *r = read_all(spec, b);
	const struct hello_reply *rp = hello_reader_reply(r);

	assert_int_equal(rp->status, HELLO_ERROR);
	if (strstr(rp->reason, reason_part) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", rp->reason, reason_part);
	assert_true(rp->consumed <= b->len);
	hello_reader_free(r);
}

/* Wrap a handshake stream in records and expect an error. */
static void
expect_hs_error(const struct hello_spec *spec, const struct buf *hs,
    const char *reason_part)
{
	struct buf rec = {0};

	records_add(&rec, 22, hs, 16384);
	expect_error(spec, &rec, reason_part);
	free(rec.p);
}

static int
setup(void **state)
{
	size_t i;

	hello_pki_make(&pki, "hello.test");
	for (i = 0; i < sizeof random_bytes; i++)
		random_bytes[i] = (uint8_t)(0xa0 + i);
	return 0;
}

static int
teardown(void **state)
{
	hello_pki_free(&pki);
	return 0;
}

/* The built-in phone hello, byte for byte (RFC 2246 7.4.1.2, 6.2.1). */
static void
test_build_phone(void **state)
{
	struct hello_spec spec;
	uint8_t out[HELLO_BUILD_MAX];
	const char *err = NULL;
	static const uint8_t head[] = {
	    0x16, 0x03, 0x01, 0x00, 0x35, /* handshake record, TLS 1.0, 53 */
	    0x01, 0x00, 0x00, 0x31, /* ClientHello, 49 */
	    0x03, 0x01, /* client_version TLS 1.0 */
	};
	static const uint8_t tail[] = {
	    0x00, /* session_id: empty */
	    0x00, 0x0a, 0x00, 0x04, 0x00, 0x05, 0x00, 0x0a, 0x00, 0x2f, 0x00,
	    0x35, /* RC4-MD5, RC4-SHA, 3DES, AES128, AES256 */
	    0x01, 0x00, /* compression: null only; no extensions */
	};
	int len;

	hello_spec_phone(&spec);
	len = hello_build(&spec, "mail.contoso.com", random_bytes, out, &err);
	assert_int_equal(len, (int)(sizeof head + 32 + sizeof tail));
	assert_memory_equal(out, head, sizeof head);
	assert_memory_equal(out + sizeof head, random_bytes, 32);
	assert_memory_equal(out + sizeof head + 32, tail, sizeof tail);
	assert_int_equal(spec.suite_flags[2], 0);
	assert_int_equal(spec.suite_flags[3], HELLO_SUITE_UNCERTAIN);
	assert_int_equal(spec.suite_flags[4], HELLO_SUITE_UNCERTAIN);
}

/* server_name and renegotiation_info in order (RFC 6066 3, RFC 5746). */
static void
test_build_sni(void **state)
{
	struct hello_spec spec;
	uint8_t out[HELLO_BUILD_MAX];
	const char *err = NULL;
	char *perr = NULL;
	static const uint8_t ext[] = {
	    0x00, 0x1e, /* extensions: 30 bytes */
	    0x00, 0x00, 0x00, 0x15, /* server_name, 21 */
	    0x00, 0x13, 0x00, 0x00, 0x10, /* list 19, host_name, 16 */
	    'M', 'a', 'i', 'l', '.', 'C', 'o', 'n', 't', 'o', 's', 'o', '.',
	    'c', 'o', 'm', /* */
	    0xff, 0x01, 0x00, 0x01, 0x00, /* renegotiation_info, empty */
	};
	int len, base;

	hello_spec_phone(&spec);
	base = hello_build(&spec, NULL, random_bytes, out, &err);
	assert_int_equal(hello_spec_parse_extensions(&spec,
	                     "server_name, renegotiation_info", &perr),
	    0);
	/* The trailing dot of a fully qualified name is not sent. */
	len = hello_build(&spec, "Mail.Contoso.com.", random_bytes, out, &err);
	assert_int_equal(len, base + (int)sizeof ext);
	assert_memory_equal(out + base, ext, sizeof ext);
	assert_int_equal(out[3] << 8 | out[4], len - 5);
	assert_int_equal(out[6] << 16 | out[7] << 8 | out[8], len - 9);

	/* An address is never a server_name: only renegotiation_info. */
	len = hello_build(&spec, "192.0.2.7", random_bytes, out, &err);
	assert_int_equal(len, base + 2 + 5);
	assert_int_equal(out[base + 2], 0xff);
	len = hello_build(&spec, "2001:db8::1", random_bytes, out, &err);
	assert_int_equal(len, base + 2 + 5);
}

/* Names too long for server_name and hellos without suites are refused. */
static void
test_build_refused(void **state)
{
	struct hello_spec spec, core;
	uint8_t out[HELLO_BUILD_MAX];
	char host[300], *perr = NULL;
	const char *err = NULL;

	hello_spec_phone(&spec);
	assert_int_equal(hello_spec_parse_extensions(&spec, "server_name",
	                     &perr),
	    0);
	memset(host, 'a', 254);
	host[254] = '\0';
	assert_int_equal(hello_build(&spec, host, random_bytes, out, &err), -1);
	assert_string_equal(err, "host name too long for server_name");
	host[253] = '\0';
	assert_true(hello_build(&spec, host, random_bytes, out, &err) > 0);

	assert_int_equal(hello_spec_parse_suites(&spec, "?AES128-SHA", &perr),
	    0);
	hello_spec_core(&spec, &core);
	assert_int_equal(core.nsuites, 0);
	assert_int_equal(hello_build(&core, NULL, random_bytes, out, &err), -1);
}

/*
 * Specs that make the same hello are equal; a suite's flag, its order,
 * an extension or the version makes another (run.c shares a discovery
 * only between profiles whose hellos are equal).
 */
static void
test_spec_equal(void **state)
{
	struct hello_spec a, b;
	char *err = NULL;

	(void)state;
	hello_spec_phone(&a);
	b = a;
	assert_true(hello_spec_equal(&a, &b));
	/* Bytes past the counts do not count. */
	b.suites[b.nsuites] = 0x1234;
	assert_true(hello_spec_equal(&a, &b));
	assert_int_equal(hello_spec_parse_suites(&a, "RC4-SHA ?AES128-SHA",
	                     &err),
	    0);
	assert_int_equal(hello_spec_parse_suites(&b, "RC4-SHA AES128-SHA",
	                     &err),
	    0);
	assert_false(hello_spec_equal(&a, &b)); /* the flag */
	assert_int_equal(hello_spec_parse_suites(&b, "?AES128-SHA RC4-SHA",
	                     &err),
	    0);
	assert_false(hello_spec_equal(&a, &b)); /* the order */
	assert_int_equal(hello_spec_parse_suites(&b, "RC4-SHA ?AES128-SHA",
	                     &err),
	    0);
	assert_true(hello_spec_equal(&a, &b));
	assert_int_equal(hello_spec_parse_extensions(&b, "server_name", &err),
	    0);
	assert_false(hello_spec_equal(&a, &b));
	b = a;
	b.client_version = 0x0303;
	assert_false(hello_spec_equal(&a, &b));
}

/* Suites by IANA name, OpenSSL name or value; '?' flags uncertain. */
static void
test_spec_parse(void **state)
{
	struct hello_spec spec, core;
	char *err = NULL, *d;
	uint16_t v;

	hello_spec_phone(&spec);
	assert_int_equal(hello_spec_parse_suites(&spec,
	                     "tls_rsa_with_3des_ede_cbc_sha:RC4-SHA, 0x0004 "
	                     "?AES128-SHA",
	                     &err),
	    0);
	assert_int_equal(spec.nsuites, 4);
	assert_int_equal(spec.suites[0], 0x000a);
	assert_int_equal(spec.suites[1], 0x0005);
	assert_int_equal(spec.suites[2], 0x0004);
	assert_int_equal(spec.suites[3], 0x002f);
	assert_int_equal(spec.suite_flags[3], HELLO_SUITE_UNCERTAIN);
	hello_spec_core(&spec, &core);
	assert_int_equal(core.nsuites, 3);
	assert_false(hello_spec_offers_suite(&core, 0x002f));

	assert_int_equal(hello_spec_parse_suites(&spec, "RC4-SHA BOGUS", &err),
	    -1);
	assert_string_equal(err, "unknown cipher suite \"BOGUS\"");
	free(err);
	assert_int_equal(spec.nsuites, 4); /* unchanged on error */
	assert_int_equal(hello_spec_parse_suites(&spec,
	                     "RC4-SHA TLS_RSA_WITH_RC4_128_SHA", &err),
	    -1);
	assert_non_null(strstr(err, "listed twice"));
	free(err);
	assert_int_equal(hello_spec_parse_suites(&spec, " , ", &err), -1);
	assert_string_equal(err, "no cipher suite");
	free(err);
	assert_int_equal(hello_spec_parse_suites(&spec, "RC4-SHA;x", &err), -1);
	assert_non_null(strstr(err, "0x3b"));
	free(err);

	assert_int_equal(hello_spec_parse_extensions(&spec, "none", &err), 0);
	assert_int_equal(spec.nextensions, 0);
	assert_int_equal(hello_spec_parse_extensions(&spec, "server_name,alpn",
	                     &err),
	    -1);
	free(err);

	assert_int_equal(hello_suite_lookup("DES-CBC3-SHA", &v), 0);
	assert_int_equal(v, 0x000a);
	assert_string_equal(hello_suite_name(0x0035),
	    "TLS_RSA_WITH_AES_256_CBC_SHA");
	assert_null(hello_suite_name(0x1301));
	assert_string_equal(hello_suite_openssl_name(0x000a), "DES-CBC3-SHA");
	assert_null(hello_suite_openssl_name(0x00ff));
	assert_string_equal(hello_alert_name(40), "handshake_failure");
	assert_int_equal(hello_spec_parse_version("1.0", &v), 0);
	assert_int_equal(v, 0x0301);
	assert_int_equal(hello_spec_parse_version("1.3", &v), -1);

	hello_spec_phone(&spec);
	d = hello_spec_describe(&spec);
	assert_string_equal(d,
	    "TLSv1, no SNI, suites TLS_RSA_WITH_RC4_128_MD5, "
	    "TLS_RSA_WITH_RC4_128_SHA, TLS_RSA_WITH_3DES_EDE_CBC_SHA, "
	    "TLS_RSA_WITH_AES_128_CBC_SHA (uncertain), "
	    "TLS_RSA_WITH_AES_256_CBC_SHA (uncertain), extensions none");
	free(d);
}

/* What an in-process OpenSSL server saw and answered. */
struct served {
	int saw_sni;
	char sni[256];
	struct hello_reader *reader;
};

/* OpenSSL's SNI callback: note the name the client sent. */
static int
servername_cb(SSL *ssl, int *al, void *arg)
{
	struct served *sv = arg;
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);

	if (name != NULL) {
		sv->saw_sni = 1;
		snprintf(sv->sni, sizeof sv->sni, "%s", name);
	}
	return SSL_TLSEXT_ERR_OK;
}

/*
 * Send the hello of spec (SNI for host) to an OpenSSL server limited to
 * ciphers and [min, TLS 1.2]; read its answer with a hello reader.
 */
static void
serve(const struct hello_spec *spec, const char *host, const char *ciphers,
    int min, struct served *sv)
{
	uint8_t out[HELLO_BUILD_MAX], buf[65536];
	const char *err;
	SSL_CTX *ctx;
	SSL *ssl;
	ssize_t n;
	int sv_fd[2], len, i, rc;

	memset(sv, 0, sizeof *sv);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv_fd), 0);
	assert_int_equal(fcntl(sv_fd[0], F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(fcntl(sv_fd[1], F_SETFL, O_NONBLOCK), 0);
	ctx = SSL_CTX_new(TLS_server_method());
	assert_non_null(ctx);
	SSL_CTX_set_min_proto_version(ctx, min);
	SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
	assert_int_equal(SSL_CTX_set_cipher_list(ctx, ciphers), 1);
	assert_int_equal(SSL_CTX_use_certificate(ctx, pki.cert), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(ctx, pki.key), 1);
	assert_int_equal(SSL_CTX_add1_chain_cert(ctx, pki.ca), 1);
	SSL_CTX_set_tlsext_servername_callback(ctx, servername_cb);
	SSL_CTX_set_tlsext_servername_arg(ctx, sv);
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, sv_fd[1]);

	len = hello_build(spec, host, random_bytes, out, &err);
	assert_true(len > 0);
	assert_int_equal(write(sv_fd[0], out, (size_t)len), len);
	/* One accept reads the hello, sends the first flight, then waits. */
	for (i = 0; i < 4; i++) {
		rc = SSL_accept(ssl);
		assert_int_not_equal(rc, 1);
		if (SSL_get_error(ssl, rc) != SSL_ERROR_WANT_WRITE)
			break;
	}
	ERR_clear_error();
	sv->reader = hello_reader_new(spec);
	while ((n = read(sv_fd[0], buf, sizeof buf)) > 0)
		hello_reader_feed(sv->reader, buf, (size_t)n);
	assert_true(n < 0 && errno == EAGAIN);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(sv_fd[0]);
	close(sv_fd[1]);
}

/* OpenSSL takes the phone hello, picks AES and presents its chain. */
static void
test_openssl_aes(void **state)
{
	struct hello_spec spec;
	const struct hello_reply *rp;
	struct served sv;

	hello_spec_phone(&spec);
	serve(&spec, "hello.test", "AES128-SHA:@SECLEVEL=0", TLS1_VERSION, &sv);
	rp = hello_reader_reply(sv.reader);
	assert_int_equal(rp->status, HELLO_DONE);
	assert_int_equal(rp->version, HELLO_TLS1_0);
	assert_int_equal(rp->suite, 0x002f);
	assert_true(rp->suite_uncertain);
	assert_int_equal(rp->compression, 0);
	assert_true(rp->have_certificate);
	assert_int_equal(sk_X509_num(rp->chain), 2);
	assert_int_equal(X509_cmp(sk_X509_value(rp->chain, 0), pki.cert), 0);
	assert_int_equal(X509_cmp(sk_X509_value(rp->chain, 1), pki.ca), 0);
	assert_false(rp->have_server_key_exchange);
	assert_false(rp->sni_acked);
	/* The phone hello carries no server_name. */
	assert_false(sv.saw_sni);
	hello_reader_free(sv.reader);
}

/* With server_name listed the server sees the name and acknowledges it. */
static void
test_openssl_sni(void **state)
{
	struct hello_spec spec;
	const struct hello_reply *rp;
	struct served sv;
	char *err = NULL;

	hello_spec_phone(&spec);
	assert_int_equal(hello_spec_parse_extensions(&spec, "server_name",
	                     &err),
	    0);
	serve(&spec, "hello.test", "AES256-SHA:@SECLEVEL=0", TLS1_VERSION, &sv);
	rp = hello_reader_reply(sv.reader);
	assert_int_equal(rp->status, HELLO_DONE);
	assert_int_equal(rp->suite, 0x0035);
	assert_true(sv.saw_sni);
	assert_string_equal(sv.sni, "hello.test");
	assert_true(rp->sni_acked);
	hello_reader_free(sv.reader);
}

/* An ECDHE server shares no suite with the phone: handshake_failure. */
static void
test_openssl_ecdhe_only(void **state)
{
	struct hello_spec spec;
	const struct hello_reply *rp;
	struct served sv;

	hello_spec_phone(&spec);
	serve(&spec, NULL, "ECDHE-RSA-AES128-SHA:@SECLEVEL=0", TLS1_VERSION,
	    &sv);
	rp = hello_reader_reply(sv.reader);
	assert_int_equal(rp->status, HELLO_ALERT);
	assert_int_equal(rp->alert_level, 2);
	assert_int_equal(rp->alert_description, 40);
	assert_false(rp->have_server_hello);
	hello_reader_free(sv.reader);
}

/* A TLS 1.2-only server refuses the TLS 1.0 hello: protocol_version. */
static void
test_openssl_tls12_only(void **state)
{
	struct hello_spec spec;
	const struct hello_reply *rp;
	struct served sv;

	hello_spec_phone(&spec);
	serve(&spec, NULL, "AES128-SHA", TLS1_2_VERSION, &sv);
	rp = hello_reader_reply(sv.reader);
	assert_int_equal(rp->status, HELLO_ALERT);
	assert_int_equal(rp->alert_description, 70);
	hello_reader_free(sv.reader);
}

/* An AES-only server accepts the phone hello but not its core suites. */
static void
test_openssl_core_refused(void **state)
{
	struct hello_spec spec, core;
	const struct hello_reply *rp;
	struct served sv;

	hello_spec_phone(&spec);
	hello_spec_core(&spec, &core);
	serve(&core, NULL, "AES128-SHA:AES256-SHA:@SECLEVEL=0", TLS1_VERSION,
	    &sv);
	rp = hello_reader_reply(sv.reader);
	assert_int_equal(rp->status, HELLO_ALERT);
	assert_int_equal(rp->alert_description, 40);
	hello_reader_free(sv.reader);
}

/* A whole flight read at once, byte by byte, and in 1-byte records. */
static void
test_read_split(void **state)
{
	struct hello_spec spec;
	struct hello_reader *r;
	const struct hello_reply *rp;
	struct buf hs = {0}, rec = {0}, frag = {0};
	size_t i;

	hello_spec_phone(&spec);
	flight(&hs, 0x000a, 2);
	records_add(&rec, 22, &hs, 16384);
	records_add(&frag, 22, &hs, 1);

	r = read_all(&spec, &rec);
	rp = hello_reader_reply(r);
	assert_int_equal(rp->status, HELLO_DONE);
	assert_int_equal(rp->suite, 0x000a);
	assert_false(rp->suite_uncertain);
	assert_int_equal(sk_X509_num(rp->chain), 2);
	assert_int_equal(rp->consumed, rec.len);
	hello_reader_free(r);

	r = hello_reader_new(&spec);
	for (i = 0; i < rec.len; i++) {
		assert_int_equal(hello_reader_reply(r)->status, HELLO_MORE);
		hello_reader_feed(r, rec.p + i, 1);
	}
	assert_int_equal(hello_reader_reply(r)->status, HELLO_DONE);
	/* Bytes after the decision are not read. */
	assert_int_equal(hello_reader_feed(r, rec.p, 5), HELLO_DONE);
	assert_int_equal(hello_reader_reply(r)->consumed, rec.len);
	hello_reader_free(r);

	r = read_all(&spec, &frag);
	assert_int_equal(hello_reader_reply(r)->status, HELLO_DONE);
	assert_int_equal(sk_X509_num(hello_reader_reply(r)->chain), 2);
	hello_reader_free(r);
	free(hs.p);
	free(rec.p);
	free(frag.p);
}

/* Every proper prefix of a valid answer just asks for more. */
static void
test_read_truncated(void **state)
{
	struct hello_spec spec;
	struct hello_reader *r;
	struct buf hs = {0}, rec = {0};
	size_t i;

	hello_spec_phone(&spec);
	flight(&hs, 0x0005, 1);
	records_add(&rec, 22, &hs, 700);
	for (i = 0; i < rec.len; i++) {
		r = read_all(&spec, &(struct buf){rec.p, i});
		assert_int_equal(hello_reader_reply(r)->status, HELLO_MORE);
		assert_int_equal(hello_reader_reply(r)->consumed, i);
		hello_reader_free(r);
	}
	free(hs.p);
	free(rec.p);
}

/* Records and messages over their caps; too many certificates. */
static void
test_read_caps(void **state)
{
	struct hello_spec spec;
	struct hello_reader *r;
	struct buf b = {0}, hs = {0}, sh = {0}, hr = {0};
	uint8_t hdr[5] = {22, 3, 1, 0, 0};
	size_t i;

	hello_spec_phone(&spec);
	hdr[3] = HELLO_RECORD_MAX >> 8;
	hdr[4] = HELLO_RECORD_MAX & 0xff;
	r = read_all(&spec, &(struct buf){hdr, 5});
	assert_int_equal(hello_reader_reply(r)->status, HELLO_MORE);
	hello_reader_free(r);
	hdr[4]++;
	expect_error(&spec, &(struct buf){hdr, 5}, "record of 18433 bytes");

	buf_u8(&b, 2);
	buf_u24(&b, HELLO_MESSAGE_MAX + 1);
	expect_hs_error(&spec, &b, "handshake message of 102401 bytes");
	free(b.p);
	b = (struct buf){0};

	server_hello_body(&sh, 0x0301, 0x000a, NULL);
	hs_add(&hs, 2, &sh);
	certificate_body(&b, pki.cert, HELLO_MAX_CERTS + 1);
	hs_add(&hs, 11, &b);
	free(b.p);
	b = (struct buf){0};
	records_add(&b, 22, &hs, 16384);
	expect_error(&spec, &b, "more than 16 certificates");
	free(b.p);
	b = (struct buf){0};

	/* HelloRequests forever: stopped by the input cap. */
	for (i = 0; i < 4000; i++)
		hs_add(&hr, 0, &(struct buf){0});
	for (i = 0; i < 20; i++)
		records_add(&b, 22, &hr, 16384);
	expect_error(&spec, &b, "without ServerHelloDone");
	free(b.p);
	free(hr.p);
	free(hs.p);
	free(sh.p);
}

/* Fatal alerts, close_notify and warnings; a split alert. */
static void
test_read_alerts(void **state)
{
	struct hello_spec spec;
	struct hello_reader *r;
	const struct hello_reply *rp;
	struct buf b = {0}, a = {0}, hs = {0};

	hello_spec_phone(&spec);
	buf_u8(&a, 2);
	buf_u8(&a, 40);
	records_add(&b, 21, &a, 1);
	r = read_all(&spec, &b);
	rp = hello_reader_reply(r);
	assert_int_equal(rp->status, HELLO_ALERT);
	assert_int_equal(rp->alert_level, 2);
	assert_int_equal(rp->alert_description, 40);
	hello_reader_free(r);

	/* A warning (unrecognized_name) is passed over; the flight follows. */
	free(b.p);
	b = (struct buf){0};
	a.len = 0;
	buf_u8(&a, 1);
	buf_u8(&a, 112);
	records_add(&b, 21, &a, 16384);
	flight(&hs, 0x000a, 1);
	records_add(&b, 22, &hs, 16384);
	r = read_all(&spec, &b);
	rp = hello_reader_reply(r);
	assert_int_equal(rp->status, HELLO_DONE);
	assert_int_equal(rp->nwarnings, 1);
	assert_false(rp->have_alert);
	hello_reader_free(r);

	/* close_notify decides even as a warning. */
	free(b.p);
	b = (struct buf){0};
	a.len = 0;
	buf_u8(&a, 1);
	buf_u8(&a, 0);
	records_add(&b, 21, &a, 16384);
	r = read_all(&spec, &b);
	assert_int_equal(hello_reader_reply(r)->status, HELLO_ALERT);
	assert_int_equal(hello_reader_reply(r)->alert_description, 0);
	hello_reader_free(r);

	a.len = 0;
	buf_u8(&a, 3);
	buf_u8(&a, 40);
	free(b.p);
	b = (struct buf){0};
	records_add(&b, 21, &a, 16384);
	expect_error(&spec, &b, "alert of unknown level 3");
	free(b.p);
	b = (struct buf){0};
	records_add(&b, 21, &(struct buf){0}, 16384);
	expect_error(&spec, &b, "empty alert record");
	free(b.p);
	free(a.p);
	free(hs.p);
}

/* What is not a TLS handshake answer at all. */
static void
test_read_not_tls(void **state)
{
	struct hello_spec spec;
	struct buf b = {0}, d = {0};
	static const char http[] = "HTTP/1.1 400 Bad Request\r\n\r\n";

	hello_spec_phone(&spec);
	expect_error(&spec, &(struct buf){(uint8_t *)http, sizeof http - 1},
	    "answered with text");
	buf_add(&d, "x", 1);
	records_add(&b, 23, &d, 16384);
	expect_error(&spec, &b, "application data");
	free(b.p);
	b = (struct buf){0};
	records_add(&b, 20, &d, 16384);
	expect_error(&spec, &b, "ChangeCipherSpec");
	free(b.p);
	b = (struct buf){0};
	records_add(&b, 5, &d, 16384);
	expect_error(&spec, &b, "record type 5");
	free(b.p);
	b = (struct buf){0};
	buf_u8(&b, 22);
	buf_u16(&b, 0x0200);
	buf_u16(&b, 1);
	expect_error(&spec, &b, "record version 0x0200");
	free(b.p);
	free(d.p);
}

/* ServerHellos that do not answer the hello, or do not parse. */
static void
test_read_bad_server_hello(void **state)
{
	struct hello_spec spec, sni;
	struct hello_reader *r;
	struct buf hs = {0}, sh = {0}, ext = {0}, rec = {0};
	char *err = NULL;

	hello_spec_phone(&spec);
	server_hello_body(&sh, 0x0301, 0xc02f, NULL);
	hs_add(&hs, 2, &sh);
	records_add(&rec, 22, &hs, 16384);
	r = read_all(&spec, &rec);
	assert_int_equal(hello_reader_reply(r)->status, HELLO_ERROR);
	assert_true(hello_reader_reply(r)->have_server_hello);
	assert_int_equal(hello_reader_reply(r)->suite, 0xc02f);
	assert_non_null(strstr(hello_reader_reply(r)->reason, "0xc02f"));
	hello_reader_free(r);

#define RESET() \
	do { \
		free(hs.p); \
		free(sh.p); \
		free(ext.p); \
		hs = sh = ext = (struct buf){0}; \
	} while (0)
	RESET();
	server_hello_body(&sh, 0x0303, 0x000a, NULL);
	hs_add(&hs, 2, &sh);
	expect_hs_error(&spec, &hs, "above the 0x0301 offered");

	RESET();
	server_hello_body(&sh, 0x0401, 0x000a, NULL);
	hs_add(&hs, 2, &sh);
	expect_hs_error(&spec, &hs, "is not TLS");

	/* An empty server_name answers no SNI the phone never sent. */
	RESET();
	buf_u16(&ext, 4);
	buf_u16(&ext, 0);
	buf_u16(&ext, 0);
	server_hello_body(&sh, 0x0301, 0x000a, &ext);
	hs_add(&hs, 2, &sh);
	hs_add(&hs, 14, &(struct buf){0});
	expect_hs_error(&spec, &hs, "extension 0");
	sni = spec;
	assert_int_equal(hello_spec_parse_extensions(&sni, "server_name", &err),
	    0);
	free(rec.p);
	rec = (struct buf){0};
	records_add(&rec, 22, &hs, 16384);
	r = read_all(&sni, &rec);
	assert_int_equal(hello_reader_reply(r)->status, HELLO_DONE);
	assert_true(hello_reader_reply(r)->sni_acked);
	assert_false(hello_reader_reply(r)->have_certificate);
	hello_reader_free(r);

	/* renegotiation_info answers the SCSV. */
	RESET();
	buf_u16(&ext, 5);
	buf_u16(&ext, 0xff01);
	buf_u16(&ext, 1);
	buf_u8(&ext, 0);
	server_hello_body(&sh, 0x0301, 0x000a, &ext);
	hs_add(&hs, 2, &sh);
	expect_hs_error(&spec, &hs, "extension 65281");
	sni = spec;
	assert_int_equal(hello_spec_parse_suites(&sni,
	                     "DES-CBC3-SHA TLS_EMPTY_RENEGOTIATION_INFO_SCSV",
	                     &err),
	    0);
	free(rec.p);
	rec = (struct buf){0};
	records_add(&rec, 22, &hs, 16384);
	r = read_all(&sni, &rec);
	assert_int_equal(hello_reader_reply(r)->status, HELLO_MORE);
	hello_reader_free(r);

	RESET();
	buf_u16(&ext, 9);
	buf_u16(&ext, 0xff01);
	buf_u16(&ext, 0);
	server_hello_body(&sh, 0x0301, 0x000a, &ext);
	hs_add(&hs, 2, &sh);
	expect_hs_error(&spec, &hs, "extensions length");

	RESET();
	buf_u16(&ext, 8);
	buf_u16(&ext, 0x0017);
	buf_u16(&ext, 0);
	buf_u16(&ext, 0x0017);
	buf_u16(&ext, 0);
	server_hello_body(&sh, 0x0301, 0x000a, &ext);
	hs_add(&hs, 2, &sh);
	expect_hs_error(&spec, &hs, "repeats extension 23");

	RESET();
	buf_u8(&ext, 1); /* one byte where an extensions block would be */
	server_hello_body(&sh, 0x0301, 0x000a, &ext);
	hs_add(&hs, 2, &sh);
	expect_hs_error(&spec, &hs, "extensions length");

	RESET();
	buf_u16(&sh, 0x0301);
	buf_add(&sh, random_bytes, 32);
	buf_u8(&sh, 33);
	hs_add(&hs, 2, &sh);
	expect_hs_error(&spec, &hs, "ServerHello truncated");

	RESET();
	server_hello_body(&sh, 0x0301, 0x000a, NULL);
	sh.len -= 1;
	hs_add(&hs, 2, &sh);
	expect_hs_error(&spec, &hs, "ServerHello truncated");
	RESET();
	free(rec.p);
#undef RESET
}

/* Messages out of order, unknown ones, and broken certificate lists. */
static void
test_read_bad_messages(void **state)
{
	struct hello_spec spec;
	struct hello_reader *r;
	struct buf hs = {0}, sh = {0}, body = {0}, rec = {0};
	uint8_t junk[40];

	hello_spec_phone(&spec);
	server_hello_body(&sh, 0x0301, 0x000a, NULL);

#define RESET() \
	do { \
		free(hs.p); \
		free(body.p); \
		hs = body = (struct buf){0}; \
	} while (0)
	hs_add(&hs, 14, &body);
	expect_hs_error(&spec, &hs, "message 14 before ServerHello");
	RESET();
	hs_add(&hs, 2, &sh);
	hs_add(&hs, 2, &sh);
	expect_hs_error(&spec, &hs, "second ServerHello");
	RESET();
	hs_add(&hs, 2, &sh);
	hs_add(&hs, 4, &body);
	expect_hs_error(&spec, &hs, "unexpected handshake message 4");
	RESET();
	hs_add(&hs, 2, &sh);
	buf_u8(&body, 0);
	hs_add(&hs, 14, &body);
	expect_hs_error(&spec, &hs, "ServerHelloDone is not empty");
	RESET();
	hs_add(&hs, 2, &sh);
	hs_add(&hs, 12, &body);
	certificate_body(&body, pki.cert, 1);
	hs_add(&hs, 11, &body);
	expect_hs_error(&spec, &hs, "Certificate out of order");

	/* Certificate lists. */
	RESET();
	hs_add(&hs, 2, &sh);
	buf_u24(&body, 0);
	hs_add(&hs, 11, &body);
	expect_hs_error(&spec, &hs, "no certificate");
	RESET();
	hs_add(&hs, 2, &sh);
	buf_u24(&body, 10);
	hs_add(&hs, 11, &body);
	expect_hs_error(&spec, &hs, "list length");
	RESET();
	hs_add(&hs, 2, &sh);
	buf_u24(&body, 3);
	buf_u24(&body, 0);
	hs_add(&hs, 11, &body);
	expect_hs_error(&spec, &hs, "certificate 0: bad length");
	RESET();
	memset(junk, 0x30, sizeof junk);
	hs_add(&hs, 2, &sh);
	buf_u24(&body, sizeof junk + 3);
	buf_u24(&body, sizeof junk);
	buf_add(&body, junk, sizeof junk);
	hs_add(&hs, 11, &body);
	ERR_clear_error();
	expect_hs_error(&spec, &hs, "certificate 0 is not a DER certificate");
	/* The reader leaves OpenSSL's error queue as it found it. */
	assert_int_equal(ERR_peek_error(), 0);
	RESET();
	{
		/* A valid DER certificate followed by a stray byte. */
		unsigned char *der = NULL;
		int len = i2d_X509(pki.cert, &der);

		hs_add(&hs, 2, &sh);
		buf_u24(&body, (size_t)len + 4);
		buf_u24(&body, (size_t)len + 1);
		buf_add(&body, der, (size_t)len);
		buf_u8(&body, 0);
		hs_add(&hs, 11, &body);
		OPENSSL_free(der);
	}
	expect_hs_error(&spec, &hs, "not a DER certificate");

	/* DHE-style flight: key exchange and a certificate request. */
	RESET();
	hs_add(&hs, 0, &body);
	hs_add(&hs, 2, &sh);
	certificate_body(&body, pki.cert, 1);
	hs_add(&hs, 11, &body);
	hs_add(&hs, 12, &body);
	hs_add(&hs, 13, &body);
	hs_add(&hs, 14, &(struct buf){0});
	records_add(&rec, 22, &hs, 100);
	r = read_all(&spec, &rec);
	assert_int_equal(hello_reader_reply(r)->status, HELLO_DONE);
	assert_true(hello_reader_reply(r)->have_server_key_exchange);
	assert_true(hello_reader_reply(r)->have_certificate_request);
	hello_reader_free(r);
	RESET();
	free(sh.p);
	free(rec.p);
#undef RESET
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_build_phone),
	    cmocka_unit_test(test_build_sni),
	    cmocka_unit_test(test_build_refused),
	    cmocka_unit_test(test_spec_parse),
	    cmocka_unit_test(test_spec_equal),
	    cmocka_unit_test(test_openssl_aes),
	    cmocka_unit_test(test_openssl_sni),
	    cmocka_unit_test(test_openssl_ecdhe_only),
	    cmocka_unit_test(test_openssl_tls12_only),
	    cmocka_unit_test(test_openssl_core_refused),
	    cmocka_unit_test(test_read_split),
	    cmocka_unit_test(test_read_truncated),
	    cmocka_unit_test(test_read_caps),
	    cmocka_unit_test(test_read_alerts),
	    cmocka_unit_test(test_read_not_tls),
	    cmocka_unit_test(test_read_bad_server_hello),
	    cmocka_unit_test(test_read_bad_messages),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
