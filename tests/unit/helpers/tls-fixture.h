/*
 * tls-fixture: a loopback HTTP(S) server for test-http, written against the
 * OpenSSL C API. Header-only (static functions): the test build compiles
 * one source file per test.
 *
 * fixture_start() makes a throwaway CA, a server certificate for
 * fixture.test signed by it and an unrelated second CA, all in memory,
 * binds three listeners on 127.0.0.1 ephemeral ports (TLS 1.0-1.3 at
 * security level 0, TLS 1.2+ only, plain HTTP) and forks a server. Each
 * connection is served by its own forked process, so a connection that
 * stalls never blocks the next test. Behaviour is chosen by the request
 * path; every request is reported on a pipe as one line
 * "<pid> <path> <auth>" (auth: "-", "Basic", "NTLM1", "NTLM3", "NTLM?"),
 * and the big-body handler reports "<pid> sent <bytes>" when the client
 * goes away. All children die with the test (PR_SET_PDEATHSIG).
 */
#ifndef TEST_TLS_FIXTURE_H
#define TEST_TLS_FIXTURE_H

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "loopback.h"

#define FIXTURE_BIG_TOTAL (256u << 20)

struct fixture {
	char *ca_pem; /* the CA that issued the server's certificate */
	size_t ca_pem_len;
	char *other_ca_pem; /* an unrelated CA */
	size_t other_ca_pem_len;
	int port_https; /* TLS 1.0 - 1.3, SECLEVEL=0 */
	int port_https12; /* TLS 1.2+ only */
	int port_http; /* plain HTTP */
	pid_t pid;
	int log_fd; /* read end: one line per request */
	int log_wfd; /* write end (children) */
	EVP_PKEY *key;
	X509 *cert;
};

/* One connection: TLS or plain. */
struct fixture_conn {
	SSL *ssl;
	int fd;
};

/* Add an X509v3 extension to cert (issued by issuer). */
static void
fixture_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL || !X509_add_ext(cert, ext, -1))
		abort();
	X509_EXTENSION_free(ext);
}

/* A certificate for cn with key, signed by issuer/ikey (NULL: self). */
static X509 *
fixture_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey,
    int ca, long serial)
{
	X509 *c = X509_new();
	X509_NAME *name = X509_NAME_new();

	X509_set_version(c, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c), serial);
	X509_gmtime_adj(X509_getm_notBefore(c), -3600);
	X509_gmtime_adj(X509_getm_notAfter(c), 86400);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(c, name);
	X509_set_issuer_name(c,
	    issuer != NULL ? X509_get_subject_name(issuer) : name);
	X509_set_pubkey(c, key);
	if (ca) {
		fixture_ext(c, issuer != NULL ? issuer : c,
		    NID_basic_constraints, "critical,CA:TRUE");
		fixture_ext(c, issuer != NULL ? issuer : c, NID_key_usage,
		    "critical,keyCertSign,cRLSign");
	} else {
		fixture_ext(c, issuer, NID_subject_alt_name,
		    "DNS:fixture.test");
		fixture_ext(c, issuer, NID_ext_key_usage, "serverAuth");
	}
	if (X509_sign(c, ikey != NULL ? ikey : key, EVP_sha256()) == 0)
		abort();
	X509_NAME_free(name);
	return c;
}

/* The PEM text of a certificate (caller frees). */
static char *
fixture_pem(X509 *c, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	PEM_write_bio_X509(b, c);
	n = BIO_get_mem_data(b, &data);
	out = malloc((size_t)n + 1);
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	*len = (size_t)n;
	BIO_free(b);
	return out;
}

/* Build the two CAs and the server certificate. */
static void
fixture_pki(struct fixture *f)
{
	EVP_PKEY *cakey = EVP_EC_gen("P-256"), *okey = EVP_EC_gen("P-256");
	X509 *ca, *other;

	f->key = EVP_EC_gen("P-256");
	ca = fixture_cert("test-http CA", cakey, NULL, NULL, 1, 1);
	other = fixture_cert("test-http other CA", okey, NULL, NULL, 1, 2);
	f->cert = fixture_cert("fixture.test", f->key, ca, cakey, 0, 3);
	f->ca_pem = fixture_pem(ca, &f->ca_pem_len);
	f->other_ca_pem = fixture_pem(other, &f->other_ca_pem_len);
	X509_free(ca);
	X509_free(other);
	EVP_PKEY_free(cakey);
	EVP_PKEY_free(okey);
}

/* Read up to len bytes. */
static ssize_t
fixture_read(struct fixture_conn *c, void *buf, size_t len)
{
	int n;

	if (c->ssl == NULL)
		return read(c->fd, buf, len);
	n = SSL_read(c->ssl, buf, (int)len);
	return n > 0 ? n : -1;
}

/* Write all of buf; -1 when the peer went away. */
static int
fixture_write(struct fixture_conn *c, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		if (c->ssl != NULL)
			n = SSL_write(c->ssl, p, (int)len);
		else
			n = write(c->fd, p, len);
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Write a formatted string. */
static int __attribute__((format(printf, 2, 3)))
fixture_printf(struct fixture_conn *c, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return fixture_write(c, buf, (size_t)n);
}

/* One parsed request. */
struct fixture_request {
	char method[16];
	char path[256];
	char auth[2048];
	char body[4096];
	size_t body_len;
};

/* Read one request (headers and a Content-Length body); -1 on EOF. */
static int
fixture_read_request(struct fixture_conn *c, struct fixture_request *r)
{
	char buf[16384], *end, *line, *next;
	size_t have = 0, clen = 0, hlen;
	ssize_t n;

	memset(r, 0, sizeof *r);
	for (;;) {
		if (have == sizeof buf - 1)
			return -1;
		if ((n = fixture_read(c, buf + have, sizeof buf - 1 - have)) <=
		    0)
			return -1;
		have += (size_t)n;
		buf[have] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) != NULL)
			break;
	}
	hlen = (size_t)(end - buf) + 4;
	*end = '\0';
	if (sscanf(buf, "%15s %255s", r->method, r->path) != 2)
		return -1;
	for (line = strstr(buf, "\r\n"); line != NULL; line = next) {
		line += 2;
		next = strstr(line, "\r\n");
		if (next != NULL)
			*next = '\0';
		if (strncasecmp(line, "Content-Length:", 15) == 0)
			clen = strtoul(line + 15, NULL, 10);
		else if (strncasecmp(line, "Authorization:", 14) == 0)
			snprintf(r->auth, sizeof r->auth, "%s", line + 15);
	}
	if (clen >= sizeof r->body)
		return -1;
	r->body_len = have - hlen < clen ? have - hlen : clen;
	memcpy(r->body, buf + hlen, r->body_len);
	while (r->body_len < clen) {
		n = fixture_read(c, r->body + r->body_len, clen - r->body_len);
		if (n <= 0)
			return -1;
		r->body_len += (size_t)n;
	}
	return 0;
}

/* Report a line to the test. */
static void __attribute__((format(printf, 2, 3)))
fixture_log(struct fixture *f, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (write(f->log_wfd, buf, (size_t)n) != n)
		_exit(3);
}

/* The name of the scheme in an Authorization value. */
static const char *
fixture_auth_name(const char *auth)
{
	if (auth[0] == '\0')
		return "-";
	if (strncmp(auth, "Basic ", 6) == 0)
		return "Basic";
	/* base64("NTLMSSP\0") then the message type. */
	if (strncmp(auth, "NTLM TlRMTVNTUAAB", 17) == 0)
		return "NTLM1";
	if (strncmp(auth, "NTLM TlRMTVNTUAAD", 17) == 0)
		return "NTLM3";
	return "NTLM?";
}

/*
 * An NTLM type-2 message (48 bytes: no target name, no target info;
 * flags UNICODE | NTLM), base64.
 */
static const char fixture_type2[] =
    "TlRMTVNTUAACAAAAAAAAADAAAAABAgAAASNFZ4mrze8AAAAAAAAAAAAAAAAwAAAA";

/* Send 256 MiB (chunked) until the client gives up; report the count. */
static void
fixture_big(struct fixture *f, struct fixture_conn *c)
{
	static char chunk[16384];
	size_t sent = 0;

	memset(chunk, 'x', sizeof chunk);
	fixture_printf(c,
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
	    "Connection: close\r\n\r\n");
	while (sent < FIXTURE_BIG_TOTAL) {
		if (fixture_printf(c, "%zx\r\n", sizeof chunk) != 0 ||
		    fixture_write(c, chunk, sizeof chunk) != 0 ||
		    fixture_write(c, "\r\n", 2) != 0)
			break;
		sent += sizeof chunk;
	}
	fixture_log(f, "%d sent %zu\n", (int)getpid(), sent);
}

/* Send a response with a body and Connection: close. */
static void
fixture_reply(struct fixture_conn *c, const char *status, const char *extra,
    const char *body, size_t len)
{
	fixture_printf(c,
	    "HTTP/1.1 %s\r\nContent-Type: text/plain\r\n"
	    "Content-Length: %zu\r\n%sConnection: close\r\n\r\n",
	    status, len, extra);
	fixture_write(c, body, len);
}

/* Answer one request; return 1 to keep the connection for another. */
static int
fixture_handle(struct fixture *f, struct fixture_conn *c,
    struct fixture_request *r)
{
	const char *p = r->path;
	char extra[256];
	int i;

	if (strcmp(p, "/ok") == 0)
		fixture_reply(c, "200 OK", "", "hello", 5);
	else if (strcmp(p, "/ka") == 0) {
		/* Keep-alive: the client must not reuse it anyway. */
		fixture_printf(c,
		    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"
		    "ka");
		return 1;
	} else if (strcmp(p, "/echo") == 0) {
		snprintf(extra, sizeof extra, "X-Method: %s\r\n", r->method);
		fixture_reply(c, "200 OK", extra, r->body, r->body_len);
	} else if (strcmp(p, "/401") == 0)
		fixture_reply(c, "401 Unauthorized",
		    "WWW-Authenticate: Negotiate\r\n"
		    "WWW-Authenticate: NTLM\r\n",
		    "no", 2);
	else if (strcmp(p, "/302") == 0)
		fixture_reply(c, "302 Found",
		    "Location: https://elsewhere.test/autodiscover/"
		    "autodiscover.xml\r\n",
		    "", 0);
	else if (strcmp(p, "/sub/302rel") == 0)
		fixture_reply(c, "302 Found",
		    "Location: ../autodiscover/autodiscover.xml?x=1\r\n", "",
		    0);
	else if (strcmp(p, "/302ff") == 0)
		fixture_reply(c, "302 Found",
		    "Location: https://fixture.test/\xff\r\n", "", 0);
	else if (strcmp(p, "/big") == 0)
		fixture_big(f, c);
	else if (strcmp(p, "/biglen") == 0) {
		fixture_printf(c,
		    "HTTP/1.1 200 OK\r\n"
		    "Content-Length: 1000000000\r\n\r\nxxxx");
		sleep(10);
	} else if (strcmp(p, "/hdrflood") == 0) {
		fixture_printf(c, "HTTP/1.1 200 OK\r\n");
		for (i = 0; i < 20000; i++) {
			if (fixture_printf(c, "X-Flood-%d: %0100d\r\n", i, i) !=
			    0)
				break;
		}
	} else if (strcmp(p, "/slow") == 0) {
		fixture_printf(c,
		    "HTTP/1.1 200 OK\r\nContent-Length: 100"
		    "\r\n\r\n");
		for (i = 0; i < 100; i++) {
			if (fixture_write(c, "x", 1) != 0)
				break;
			usleep(250000);
		}
	} else if (strcmp(p, "/stall") == 0)
		sleep(30);
	else if (strcmp(p, "/ntlm") == 0) {
		if (strcmp(fixture_auth_name(r->auth), "NTLM1") == 0) {
			fixture_printf(c,
			    "HTTP/1.1 401 Unauthorized\r\n"
			    "WWW-Authenticate: NTLM %s\r\n"
			    "Content-Length: 0\r\n\r\n",
			    fixture_type2);
			return 1;
		}
		if (strcmp(fixture_auth_name(r->auth), "NTLM3") == 0)
			fixture_reply(c, "200 OK", "", "welcome", 7);
		else
			fixture_reply(c, "401 Unauthorized",
			    "WWW-Authenticate: NTLM\r\n", "", 0);
	} else if (strcmp(p, "/basic") == 0) {
		if (strcmp(fixture_auth_name(r->auth), "Basic") == 0)
			fixture_reply(c, "200 OK", "", "basic", 5);
		else
			fixture_reply(c, "401 Unauthorized",
			    "WWW-Authenticate: Basic realm=\"t\"\r\n", "", 0);
	} else
		fixture_reply(c, "404 Not Found", "", "", 0);
	return 0;
}

/* Serve one accepted connection (in its own process). */
static void
fixture_serve(struct fixture *f, int fd, SSL_CTX *ctx)
{
	struct fixture_conn c = {NULL, fd};
	struct fixture_request r;

	if (ctx != NULL) {
		c.ssl = SSL_new(ctx);
		SSL_set_fd(c.ssl, fd);
		if (SSL_accept(c.ssl) != 1)
			goto out;
	}
	do {
		if (fixture_read_request(&c, &r) != 0)
			break;
		fixture_log(f, "%d %s %s\n", (int)getpid(), r.path,
		    fixture_auth_name(r.auth));
	} while (fixture_handle(f, &c, &r));
	if (c.ssl != NULL)
		SSL_shutdown(c.ssl);
out:
	SSL_free(c.ssl);
	close(fd);
}

/* A server SSL_CTX limited to [min, max]. */
static SSL_CTX *
fixture_ctx(struct fixture *f, int min, int max)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	SSL_CTX_set_min_proto_version(ctx, min);
	SSL_CTX_set_max_proto_version(ctx, max);
	if (min < TLS1_2_VERSION)
		SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
	if (SSL_CTX_use_certificate(ctx, f->cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, f->key) != 1)
		abort();
	return ctx;
}

/* The server process: accept, fork a handler per connection. */
static void __attribute__((noreturn))
fixture_server(struct fixture *f, int lfd[3])
{
	SSL_CTX *ctx[3];
	struct pollfd pfd[3];
	int i, fd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	ctx[0] = fixture_ctx(f, TLS1_VERSION, TLS1_3_VERSION);
	ctx[1] = fixture_ctx(f, TLS1_2_VERSION, TLS1_3_VERSION);
	ctx[2] = NULL;
	for (i = 0; i < 3; i++) {
		pfd[i].fd = lfd[i];
		pfd[i].events = POLLIN;
	}
	for (;;) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (poll(pfd, 3, 200) <= 0)
			continue;
		for (i = 0; i < 3; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			if ((fd = accept(lfd[i], NULL, NULL)) < 0)
				continue;
			if (fork() == 0) {
				prctl(PR_SET_PDEATHSIG, SIGKILL);
				fixture_serve(f, fd, ctx[i]);
				_exit(0);
			}
			close(fd);
		}
	}
}

/* Make the PKI, bind the listeners, fork the server. */
static void
fixture_start(struct fixture *f)
{
	int lfd[3], pipefd[2], i;

	memset(f, 0, sizeof *f);
	fixture_pki(f);
	lfd[0] = loopback_listen(&f->port_https);
	lfd[1] = loopback_listen(&f->port_https12);
	lfd[2] = loopback_listen(&f->port_http);
	if (pipe(pipefd) != 0)
		abort();
	f->log_fd = pipefd[0];
	f->log_wfd = pipefd[1];
	if ((f->pid = fork()) == 0) {
		close(f->log_fd);
		fixture_server(f, lfd);
	}
	for (i = 0; i < 3; i++)
		close(lfd[i]);
	close(f->log_wfd);
	f->log_wfd = -1;
}

/* Collect the lines reported so far (non-blocking) into buf. */
static void
fixture_drain(struct fixture *f, char *buf, size_t size)
{
	struct pollfd pfd = {f->log_fd, POLLIN, 0};
	size_t have = strlen(buf);
	ssize_t n;

	while (
	    have < size - 1 && poll(&pfd, 1, 0) > 0 && (pfd.revents & POLLIN)) {
		n = read(f->log_fd, buf + have, size - 1 - have);
		if (n <= 0)
			break;
		have += (size_t)n;
	}
	buf[have] = '\0';
}

/* Stop the server and free everything. */
static void
fixture_stop(struct fixture *f)
{
	if (f->pid > 0) {
		kill(f->pid, SIGKILL);
		waitpid(f->pid, NULL, 0);
	}
	close(f->log_fd);
	free(f->ca_pem);
	free(f->other_ca_pem);
	X509_free(f->cert);
	EVP_PKEY_free(f->key);
}

#endif
