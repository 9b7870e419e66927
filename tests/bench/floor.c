/*
 * floor: the benchmark's baseline client, the least work a probe can cost.
 * It owns nothing but its own loop of blocking probes: for each probe a
 * fresh TCP connection and a full TLS handshake (no session cache, no
 * tickets) to POST the Autodiscover GetUserSettings request, then a second
 * fresh connection to POST the EWS GetFolder request, which must be
 * refused with a 401 offering NTLM. The chain is verified against a CA
 * file loaded once into the SSL_CTX of each kind of connection, and the
 * name is checked (SNI plus SSL_set1_host), as ewsprobed does. Its CPU
 * time per probe is the floor that tests/bench/run compares ewsprobed
 * with.
 *
 *   floor [-n PROBES] [-c THREADS] [-v VERSION] [-d VERSION] -C CAFILE
 *         [-a ADDRESS] [-p PORT] [-A AUTODISCOVER_HOST] [-E EWS_HOST]
 *         [-X EXTERNAL_EWS_HOST]
 *
 * -v sets the TLS version of both connections (1.0, 1.2 or 1.3; 1.0 with
 * the phone's cipher suites at security level 0), -d overrides it for the
 * Autodiscover connection, so the floor can negotiate exactly what
 * ewsprobed does. -X adds a third connection per probe, the same EWS POST
 * to a second host (an answer whose Internal and External EWS URLs
 * differ).
 *
 * It prints one line of key=value pairs (tests/bench/run reads it) and
 * exits 0 when every probe succeeded, 1 otherwise.
 */
#define _GNU_SOURCE /* asprintf */

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define FLOOR_RESPONSE_MAX (256 * 1024)
#define FLOOR_MAX_THREADS 1024
#define FLOOR_MAX_ERRORS 5 /* failures described on stderr */

/* What every thread shares; read-only once the threads run. */
struct floor_conf {
	SSL_CTX *ad_ctx; /* for the Autodiscover connection */
	SSL_CTX *ews_ctx; /* for the EWS connection */
	struct sockaddr_in addr;
	const char *ad_host; /* Host and SNI of the Autodiscover POST */
	const char *ews_host; /* Host and SNI of the EWS POST */
	const char *ext_host; /* ... of a second EWS POST, or NULL */
};

/* One thread's share of the probes and what came of them. */
struct floor_thread {
	pthread_t tid;
	const struct floor_conf *conf;
	unsigned long first; /* number of its first probe (mailbox userN) */
	unsigned long n;
	unsigned long ok;
	unsigned long failed;
	char version[16]; /* protocol and cipher of its first handshake */
	char cipher[64];
};

static pthread_mutex_t floor_err_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned int floor_nerrors;

static const char floor_ews_body[] =
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
    "<soap:Envelope"
    " xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\""
    " xmlns:m=\"http://schemas.microsoft.com/exchange/services/2006/messages\""
    " xmlns:t=\"http://schemas.microsoft.com/exchange/services/2006/types\""
    " xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\">\n"
    "  <soap:Header>\n"
    "    <t:RequestServerVersion Version=\"Exchange2010\" />\n"
    "  </soap:Header>\n"
    "  <soap:Body>\n"
    "    <m:GetFolder>\n"
    "      <m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape>\n"
    "      <m:FolderIds>\n"
    "        <t:DistinguishedFolderId Id=\"calendar\" />\n"
    "      </m:FolderIds>\n"
    "    </m:GetFolder>\n"
    "  </soap:Body>\n"
    "</soap:Envelope>\n";

/* Print the usage text and exit 2. */
static void
floor_usage(void)
{
	fprintf(stderr,
	    "usage: floor [-n PROBES] [-c THREADS] [-v 1.0|1.2|1.3] "
	    "[-d 1.0|1.2|1.3] -C CAFILE\n"
	    "             [-a ADDRESS] [-p PORT] [-A AUTODISCOVER_HOST] "
	    "[-E EWS_HOST] [-X EXTERNAL_EWS_HOST]\n");
	exit(2);
}

/* Describe a failed probe on stderr (the first few only). */
static void
floor_fail(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&floor_err_lock);
	if (floor_nerrors++ < FLOOR_MAX_ERRORS) {
		fputs("floor: ", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
		ERR_print_errors_fp(stderr);
	}
	pthread_mutex_unlock(&floor_err_lock);
	ERR_clear_error();
}

/* Write all of buf over TLS; 0 or -1. */
static int
floor_write_all(SSL *ssl, const char *buf, size_t len)
{
	int n;

	while (len > 0) {
		n = SSL_write(ssl, buf, len > 65536 ? 65536 : (int)len);
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Read the response until the server closes (it sends Connection: close),
 * into buf; return its length or -1.
 */
static long
floor_read_all(SSL *ssl, char *buf, size_t size)
{
	size_t len = 0;
	int n, e;

	for (;;) {
		if (len + 1 >= size)
			return -1;
		n = SSL_read(ssl, buf + len, (int)(size - len - 1));
		if (n > 0) {
			len += (size_t)n;
			continue;
		}
		e = SSL_get_error(ssl, n);
		/* A close without close_notify still ends the response. */
		if (e == SSL_ERROR_ZERO_RETURN ||
		    (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0))
			break;
		return -1;
	}
	buf[len] = '\0';
	return (long)len;
}

/*
 * Check an HTTP response: the status code is want, the body is complete
 * (Content-Length), and the header block holds need (case-insensitive)
 * when need is not NULL. Return 0 or -1 with *why set.
 */
static int
floor_check(const char *rsp, long len, int want, const char *need,
    const char **why)
{
	const char *end, *p;
	long clen = -1;
	int code;

	if (sscanf(rsp, "HTTP/1.%*d %d", &code) != 1) {
		*why = "no status line";
		return -1;
	}
	if (code != want) {
		*why = "unexpected status";
		return -1;
	}
	if ((end = strstr(rsp, "\r\n\r\n")) == NULL) {
		*why = "no end of headers";
		return -1;
	}
	for (p = strstr(rsp, "\r\n"); p != NULL && p < end;
	     p = strstr(p + 2, "\r\n")) {
		if (strncasecmp(p + 2, "Content-Length:", 15) == 0)
			clen = strtol(p + 17, NULL, 10);
	}
	if (clen >= 0 && (end + 4 - rsp) + clen != len) {
		*why = "body shorter or longer than Content-Length";
		return -1;
	}
	if (need != NULL) {
		for (p = rsp; p < end; p++)
			if (strncasecmp(p, need, strlen(need)) == 0)
				break;
		if (p >= end) {
			*why = "header missing";
			return -1;
		}
	}
	return 0;
}

/*
 * One request on a fresh connection: connect, handshake with SNI and a
 * name check, send req, read the whole response into rsp, check it.
 * Return 0 or -1. The first EWS connection's protocol and cipher are
 * recorded in th.
 */
static int
floor_request(struct floor_thread *th, SSL_CTX *ctx, const char *host,
    const char *req, size_t reqlen, char *rsp, int want, const char *need)
{
	const struct floor_conf *fc = th->conf;
	const char *why = NULL;
	SSL *ssl = NULL;
	long len;
	int fd, one = 1, rc = -1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1) {
		floor_fail("socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, (const struct sockaddr *)&fc->addr, sizeof fc->addr) !=
	    0) {
		floor_fail("connect: %s", strerror(errno));
		goto out;
	}
	if ((ssl = SSL_new(ctx)) == NULL ||
	    SSL_set_tlsext_host_name(ssl, host) != 1 ||
	    SSL_set1_host(ssl, host) != 1 || SSL_set_fd(ssl, fd) != 1) {
		floor_fail("%s: cannot set up the TLS connection", host);
		goto out;
	}
	if (SSL_connect(ssl) != 1) {
		floor_fail("%s: handshake failed (verify: %s)", host,
		    X509_verify_cert_error_string(SSL_get_verify_result(ssl)));
		goto out;
	}
	if (ctx == fc->ews_ctx && th->version[0] == '\0') {
		snprintf(th->version, sizeof th->version, "%s",
		    SSL_get_version(ssl));
		snprintf(th->cipher, sizeof th->cipher, "%s",
		    SSL_get_cipher_name(ssl));
	}
	if (floor_write_all(ssl, req, reqlen) != 0) {
		floor_fail("%s: write failed", host);
		goto out;
	}
	if ((len = floor_read_all(ssl, rsp, FLOOR_RESPONSE_MAX)) < 0) {
		floor_fail("%s: read failed", host);
		goto out;
	}
	if (floor_check(rsp, len, want, need, &why) != 0) {
		floor_fail("%s: %s: %.40s", host, why, rsp);
		goto out;
	}
	SSL_shutdown(ssl);
	rc = 0;
out:
	SSL_free(ssl);
	close(fd);
	return rc;
}

/* Build the Autodiscover POST for mailbox userN@domain. Caller frees. */
static char *
floor_ad_request(const char *host, unsigned long n, size_t *lenp)
{
	const char *domain =
	    strncmp(host, "autodiscover.", 13) == 0 ? host + 13 : host;
	char body[4096], *req;
	int blen, len;

	blen = snprintf(body, sizeof body,
	    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	    "<soap:Envelope"
	    " xmlns:a=\"http://schemas.microsoft.com/exchange/2010/"
	    "Autodiscover\"\n"
	    "    xmlns:wsa=\"http://www.w3.org/2005/08/addressing\"\n"
	    "    xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"\n"
	    "    xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\">\n"
	    "  <soap:Header>\n"
	    "    <a:RequestedServerVersion>Exchange2010"
	    "</a:RequestedServerVersion>\n"
	    "    <wsa:Action>http://schemas.microsoft.com/exchange/2010/"
	    "Autodiscover/Autodiscover/GetUserSettings</wsa:Action>\n"
	    "    <wsa:To>https://%s/autodiscover/autodiscover.svc</wsa:To>\n"
	    "  </soap:Header>\n"
	    "  <soap:Body>\n"
	    "    <a:GetUserSettingsRequestMessage"
	    " xmlns:a=\"http://schemas.microsoft.com/exchange/2010/"
	    "Autodiscover\">\n"
	    "      <a:Request>\n"
	    "        <a:Users><a:User>\n"
	    "          <a:Mailbox>user%lu@%s</a:Mailbox>\n"
	    "        </a:User></a:Users>\n"
	    "        <a:RequestedSettings>\n"
	    "          <a:Setting>InternalEwsUrl</a:Setting>\n"
	    "          <a:Setting>ExternalEwsUrl</a:Setting>\n"
	    "          <a:Setting>CasVersion</a:Setting>\n"
	    "          <a:Setting>EwsSupportedSchemas</a:Setting>\n"
	    "          <a:Setting>AutoDiscoverSMTPAddress</a:Setting>\n"
	    "        </a:RequestedSettings>\n"
	    "      </a:Request>\n"
	    "    </a:GetUserSettingsRequestMessage>\n"
	    "  </soap:Body>\n"
	    "</soap:Envelope>\n",
	    host, n, domain);
	len = asprintf(&req,
	    "POST /autodiscover/autodiscover.svc HTTP/1.1\r\n"
	    "Host: %s\r\n"
	    "User-Agent: floor\r\n"
	    "Accept: */*\r\n"
	    "Content-Type: text/xml; charset=utf-8\r\n"
	    "Content-Length: %d\r\n"
	    "Connection: close\r\n\r\n%s",
	    host, blen, body);
	if (len < 0) {
		fprintf(stderr, "floor: out of memory\n");
		exit(1);
	}
	*lenp = (size_t)len;
	return req;
}

/* Build the EWS GetFolder POST to host (exits when out of memory). */
static char *
floor_ews_request(const char *host, size_t *lenp)
{
	char *req;
	int len;

	len = asprintf(&req,
	    "POST /EWS/Exchange.asmx HTTP/1.1\r\n"
	    "Host: %s\r\n"
	    "User-Agent: floor\r\n"
	    "Accept: */*\r\n"
	    "Content-Type: text/xml; charset=utf-8\r\n"
	    "Content-Length: %zu\r\n"
	    "Connection: close\r\n\r\n%s",
	    host, sizeof floor_ews_body - 1, floor_ews_body);
	if (len < 0) {
		fprintf(stderr, "floor: out of memory\n");
		exit(1);
	}
	*lenp = (size_t)len;
	return req;
}

/* A thread: its share of the probes, one after another. */
static void *
floor_thread_main(void *arg)
{
	struct floor_thread *th = arg;
	const struct floor_conf *fc = th->conf;
	char *rsp, *ad, *ews, *ext = NULL;
	size_t adlen, ewslen, extlen = 0;
	unsigned long i;

	if ((rsp = malloc(FLOOR_RESPONSE_MAX)) == NULL)
		return NULL;
	ews = floor_ews_request(fc->ews_host, &ewslen);
	if (fc->ext_host != NULL)
		ext = floor_ews_request(fc->ext_host, &extlen);
	for (i = 0; i < th->n; i++) {
		ad = floor_ad_request(fc->ad_host, th->first + i, &adlen);
		if (floor_request(th, fc->ad_ctx, fc->ad_host, ad, adlen, rsp,
		        200, NULL) == 0 &&
		    strstr(rsp, "InternalEwsUrl") != NULL &&
		    floor_request(th, fc->ews_ctx, fc->ews_host, ews, ewslen,
		        rsp, 401, "WWW-Authenticate: NTLM") == 0 &&
		    (ext == NULL ||
		        floor_request(th, fc->ews_ctx, fc->ext_host, ext,
		            extlen, rsp, 401, "WWW-Authenticate: NTLM") == 0))
			th->ok++;
		else
			th->failed++;
		free(ad);
	}
	free(ews);
	free(ext);
	free(rsp);
	return NULL;
}

/* The one SSL_CTX: protocol, ciphers, no resumption, the CA loaded once. */
static SSL_CTX *
floor_ctx(const char *version, const char *cafile)
{
	SSL_CTX *ctx;
	int v;

	if (strcmp(version, "1.0") == 0)
		v = TLS1_VERSION;
	else if (strcmp(version, "1.2") == 0)
		v = TLS1_2_VERSION;
	else if (strcmp(version, "1.3") == 0)
		v = TLS1_3_VERSION;
	else
		floor_usage();
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, v);
	SSL_CTX_set_max_proto_version(ctx, v);
	if (v == TLS1_VERSION) {
		/* What a Lync Phone Edition phone, and ewsprobed, offers. */
		SSL_CTX_set_security_level(ctx, 0);
		if (SSL_CTX_set_cipher_list(ctx,
		        "AES128-SHA:AES256-SHA:DES-CBC3-SHA") != 1)
			goto fail;
	}
	/* A probe must see the certificate: never resume a session. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1)
		goto fail;
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* Seconds on the monotonic clock. */
static double
floor_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run the probes in threads, then print the one result line. */
int
main(int argc, char **argv)
{
	struct floor_thread *ths;
	struct floor_conf fc;
	struct rusage ru;
	const char *version = "1.0", *ad_version = NULL, *cafile = NULL;
	const char *address = "127.0.0.1";
	unsigned long probes = 2000, threads = 1, ok = 0, failed = 0, i;
	double began, wall, cpu;
	int ch, port = 443;

	memset(&fc, 0, sizeof fc);
	fc.ad_host = "bench.test";
	fc.ews_host = "mail.bench.test";
	while ((ch = getopt(argc, argv, "n:c:v:d:C:a:p:A:E:X:")) != -1) {
		switch (ch) {
		case 'n':
			probes = strtoul(optarg, NULL, 10);
			break;
		case 'c':
			threads = strtoul(optarg, NULL, 10);
			break;
		case 'v':
			version = optarg;
			break;
		case 'd':
			ad_version = optarg;
			break;
		case 'C':
			cafile = optarg;
			break;
		case 'a':
			address = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'A':
			fc.ad_host = optarg;
			break;
		case 'E':
			fc.ews_host = optarg;
			break;
		case 'X':
			fc.ext_host = optarg;
			break;
		default:
			floor_usage();
		}
	}
	if (cafile == NULL || probes == 0 || threads == 0 ||
	    threads > FLOOR_MAX_THREADS || port <= 0 || port > 65535)
		floor_usage();
	if (threads > probes)
		threads = probes;
	fc.addr.sin_family = AF_INET;
	fc.addr.sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, address, &fc.addr.sin_addr) != 1)
		floor_usage();
	if (ad_version == NULL)
		ad_version = version;
	if ((fc.ews_ctx = floor_ctx(version, cafile)) == NULL ||
	    (fc.ad_ctx = floor_ctx(ad_version, cafile)) == NULL) {
		fprintf(stderr, "floor: cannot set up TLS (CA file %s)\n",
		    cafile);
		ERR_print_errors_fp(stderr);
		return 1;
	}
	if ((ths = calloc(threads, sizeof *ths)) == NULL)
		return 1;

	began = floor_now();
	for (i = 0; i < threads; i++) {
		ths[i].conf = &fc;
		ths[i].n = probes / threads + (i < probes % threads ? 1 : 0);
		ths[i].first = i == 0 ? 1 : ths[i - 1].first + ths[i - 1].n;
		if (pthread_create(&ths[i].tid, NULL, floor_thread_main,
		        &ths[i]) != 0) {
			fprintf(stderr, "floor: cannot start thread %lu\n", i);
			return 1;
		}
	}
	for (i = 0; i < threads; i++) {
		pthread_join(ths[i].tid, NULL);
		ok += ths[i].ok;
		failed += ths[i].failed;
	}
	wall = floor_now() - began;

	getrusage(RUSAGE_SELF, &ru);
	cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
	printf("floor probes=%lu ok=%lu failed=%lu threads=%lu "
	       "ad_tls=%s ews_tls=%s ews_protocol=%s ews_cipher=%s "
	       "cpu_ms=%.1f wall_s=%.3f maxrss_kb=%ld\n",
	    probes, ok, failed, threads, ad_version, version,
	    ths[0].version[0] != '\0' ? ths[0].version : "-",
	    ths[0].cipher[0] != '\0' ? ths[0].cipher : "-", cpu, wall,
	    ru.ru_maxrss);
	free(ths);
	SSL_CTX_free(fc.ad_ctx);
	SSL_CTX_free(fc.ews_ctx);
	return failed == 0 && ok == probes ? 0 : 1;
}
