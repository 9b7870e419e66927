/*
 * http_req: owns a request before it runs — what its builder sets
 * (method, URL, headers, body, pinned addresses, timeouts, caps, TLS
 * versions and trust, credentials), the checks made before any network
 * access, and how all of it becomes libcurl options, including the
 * hooks that refuse an unpinned address and run the SSL_CTX callback.
 *
 * Hardening (docs/security.md §3): https only unless asked, no redirects,
 * no proxy from the environment, no cookies, no verbose output, pinned
 * addresses only (checked again when the connection is made), a restricted
 * CA set with the CA path cleared and no CA cache, no partial chains,
 * fresh connections closed after use and no TLS session cache, and caps on
 * body and header bytes enforced in our own callbacks (http_resp.c).
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/ssl.h>

#include "config.h"
#include "ewsprobed-build.h"
#include "http.h"
#include "http_private.h"
#include "log.h"
#include "xmalloc.h"

#define HTTP_DEFAULT_MAX_BODY (1u << 20)
#define HTTP_DEFAULT_MAX_HEADERS (64u << 10)

/* A new request for method ("GET" or "POST") and url. */
struct http_req *
http_req_new(const char *method, const char *url)
{
	struct http_req *req;

	req = xcalloc(1, sizeof *req);
	req->method = xstrdup(method);
	req->url = xstrdup(url);
	req->connect_ms = 10000;
	req->total_ms = 30000;
	req->low_bytes = 1024;
	req->low_secs = 15;
	req->max_body = HTTP_DEFAULT_MAX_BODY;
	req->max_headers = HTTP_DEFAULT_MAX_HEADERS;
	req->tls_min = CONFIG_TLS_1_2;
	req->tls_max = CONFIG_TLS_1_3;
	req->verify_peer = 1;
	req->verify_host = 1;
	req->status = HTTP_ERR_OTHER;
	req->timings.dns_us = req->timings.connect_us = -1;
	req->timings.tls_us = req->timings.first_byte_us = -1;
	req->timings.total_us = -1;
	return req;
}

/* Append a request header line ("Name: value"). */
void
http_req_add_header(struct http_req *req, const char *line)
{
	struct curl_slist *l;

	if ((l = curl_slist_append(req->headers, line)) == NULL)
		fatalx("curl_slist_append: out of memory");
	req->headers = l;
}

/* Set the request body (copied). */
void
http_req_set_body(struct http_req *req, const char *body, size_t len)
{
	free(req->body);
	req->body = xmalloc(len + 1);
	memcpy(req->body, body, len);
	req->body[len] = '\0';
	req->body_len = len;
}

/*
 * Pin host:port to a numeric address (one dns found); call once per
 * address. An address that is not numeric makes the request fail.
 */
void
http_req_pin(struct http_req *req, const char *host, int port, const char *addr)
{
	unsigned char bin[sizeof(struct in6_addr)];
	struct http_pin *p;
	int family;

	family = strchr(addr, ':') != NULL ? AF_INET6 : AF_INET;
	if (inet_pton(family, addr, bin) != 1 || port <= 0 || port > 65535) {
		req->bad_pin = 1;
		return;
	}
	req->pins = xreallocarray(req->pins, req->npins + 1, sizeof *req->pins);
	p = &req->pins[req->npins++];
	p->host = xstrdup(host);
	p->port = port;
	p->family = family;
	inet_ntop(family, bin, p->addr, sizeof p->addr);
}

/*
 * Set the connect and total timeouts (ms) and the low-speed limit: fewer
 * than low_bytes per second for low_secs seconds aborts the transfer.
 */
void
http_req_set_timeouts(struct http_req *req, long connect_ms, long total_ms,
    long low_bytes, long low_secs)
{
	req->connect_ms = connect_ms;
	req->total_ms = total_ms;
	req->low_bytes = low_bytes;
	req->low_secs = low_secs;
}

/* Cap the response body and the response headers, in bytes. */
void
http_req_set_limits(struct http_req *req, size_t max_body, size_t max_headers)
{
	req->max_body = max_body;
	req->max_headers = max_headers;
}

/* Allow a plain http:// URL (the unauthenticated redirect probe only). */
void
http_req_allow_http(struct http_req *req)
{
	req->allow_http = 1;
}

/*
 * TLS versions (CONFIG_TLS_*; default 1.2 to 1.3) and an OpenSSL cipher
 * list (NULL: curl's default). The phone's TLS 1.0 profile needs
 * "DEFAULT:@SECLEVEL=0" with OpenSSL 3.
 */
void
http_req_set_tls(struct http_req *req, int min, int max, const char *ciphers)
{
	req->tls_min = min;
	req->tls_max = max;
	free(req->ciphers);
	req->ciphers = ciphers != NULL ? xstrdup(ciphers) : NULL;
}

/* Call cb(SSL_CTX *, arg) before the handshake (trust policies). */
void
http_req_set_ssl_ctx(struct http_req *req, http_ssl_ctx_cb cb, void *arg)
{
	req->ssl_cb = cb;
	req->ssl_arg = arg;
}

/* Whether libcurl itself verifies the peer's chain and its name. */
void
http_req_set_verify(struct http_req *req, int peer, int host)
{
	req->verify_peer = peer;
	req->verify_host = host;
}

/*
 * The CA bundle file libcurl verifies against. With neither a file nor a
 * PEM blob there are no trust anchors at all (fail closed); the CA path is
 * never used.
 */
void
http_req_set_cafile(struct http_req *req, const char *cafile)
{
	free(req->cafile);
	req->cafile = cafile != NULL ? xstrdup(cafile) : NULL;
}

/* CA certificates in PEM, in memory (copied; never cached by libcurl). */
void
http_req_set_ca_pem(struct http_req *req, const char *pem, size_t len)
{
	free(req->ca_pem);
	req->ca_pem = NULL;
	req->ca_pem_len = 0;
	if (pem == NULL)
		return;
	req->ca_pem = xmalloc(len + 1);
	memcpy(req->ca_pem, pem, len);
	req->ca_pem[len] = '\0';
	req->ca_pem_len = len;
}

/* Keep credentials (copied; the password is wiped on free). */
static void
http_req_set_auth(struct http_req *req, long auth, const char *user,
    const char *password)
{
	free(req->user);
	xfree_secret(req->password);
	req->auth = auth;
	req->user = xstrdup(user);
	req->password = xstrdup(password);
}

/* Authenticate with NTLM (and nothing else) as user. */
void
http_req_set_ntlm(struct http_req *req, const char *user, const char *password)
{
	http_req_set_auth(req, CURLAUTH_NTLM, user, password);
}

/*
 * Authenticate with Basic as user. Only for a policy that explicitly
 * allows it: Basic gives the password to whoever asks (docs/security.md §3.5).
 */
void
http_req_set_basic(struct http_req *req, const char *user, const char *password)
{
	http_req_set_auth(req, CURLAUTH_BASIC, user, password);
}

/* Whether addr is pinned for the URL's host and port. */
static int
http_pinned(const struct http_req *req, const char *addr)
{
	size_t i;

	for (i = 0; i < req->npins; i++) {
		if (req->pins[i].port == req->url_port &&
		    strcasecmp(req->pins[i].host, req->url_host) == 0 &&
		    (addr == NULL || strcmp(req->pins[i].addr, addr) == 0))
			return 1;
	}
	return 0;
}

/*
 * CURLOPT_PREREQFUNCTION: the connection is up (and TLS done). Refuse it
 * unless it goes to a pinned address, and note the TLS version while the
 * connection still exists.
 */
static int
http_prereq_cb(void *arg, char *ip, char *local_ip, int port, int local_port)
{
	struct http_req *req = arg;
	struct curl_tlssessioninfo *info = NULL;

	if (!http_pinned(req, ip)) {
		req->pin_violation = 1;
		return CURL_PREREQFUNC_ABORT;
	}
	if (req->tls_version == NULL &&
	    curl_easy_getinfo(req->easy, CURLINFO_TLS_SSL_PTR, &info) ==
	        CURLE_OK &&
	    info != NULL && info->backend == CURLSSLBACKEND_OPENSSL &&
	    info->internals != NULL)
		req->tls_version = xstrdup(SSL_get_version(info->internals));
	return CURL_PREREQFUNC_OK;
}

/* CURLOPT_SSL_CTX_FUNCTION: hand the SSL_CTX to the request's hook. */
static CURLcode
http_ssl_ctx_fn(CURL *easy, void *ssl_ctx, void *arg)
{
	struct http_req *req = arg;

	if (req->ssl_cb(ssl_ctx, req->ssl_arg) != 0) {
		req->hook_failed = 1;
		return CURLE_ABORTED_BY_CALLBACK;
	}
	return CURLE_OK;
}

/*
 * Check the URL before anything touches the network: a URL at all
 * (http_url_split), no credentials in it, an allowed scheme, and a
 * pinned host:port. Returns HTTP_DONE when it may go on; otherwise sets
 * the error text.
 */
enum http_status
http_req_check_url(struct http_req *req)
{
	struct http_url u;
	const char *why;

	if ((why = http_url_split(req->url, &u)) != NULL) {
		xasprintf(&req->error, "not a usable URL: %s", why);
		return HTTP_ERR_BAD_URL;
	}
	if (u.credentials)
		req->error = xstrdup("credentials in the URL refused");
	else if (strcmp(u.scheme, "https") != 0 &&
	    !(req->allow_http && strcmp(u.scheme, "http") == 0))
		xasprintf(&req->error, "scheme %s not allowed", u.scheme);
	else {
		req->url_host = u.host;
		req->url_port = u.port;
		u.host = NULL;
	}
	http_url_clear(&u);
	if (req->error != NULL)
		return HTTP_ERR_BAD_URL;
	if (req->bad_pin || !http_pinned(req, NULL)) {
		req->error = xstrdup("no address pinned for the URL's host");
		return HTTP_ERR_NOT_PINNED;
	}
	return HTTP_DONE;
}

/*
 * Build the CURLOPT_RESOLVE list: one "host:port:addr,addr" entry per
 * host:port (a second entry for the same pair would replace the first).
 */
static void
http_build_resolve(struct http_req *req)
{
	struct curl_slist *l;
	char *entry, *tmp;
	size_t i, j;

	for (i = 0; i < req->npins; i++) {
		for (j = 0; j < i; j++) {
			if (req->pins[j].port == req->pins[i].port &&
			    strcasecmp(req->pins[j].host, req->pins[i].host) ==
			        0)
				break;
		}
		if (j < i)
			continue; /* already in an earlier entry */
		xasprintf(&entry, "%s:%d:", req->pins[i].host,
		    req->pins[i].port);
		for (j = i; j < req->npins; j++) {
			if (req->pins[j].port != req->pins[i].port ||
			    strcasecmp(req->pins[j].host, req->pins[i].host) !=
			        0)
				continue;
			xasprintf(&tmp,
			    req->pins[j].family == AF_INET6 ? "%s%s[%s]"
			                                    : "%s%s%s",
			    entry, j == i ? "" : ",", req->pins[j].addr);
			free(entry);
			entry = tmp;
		}
		if ((l = curl_slist_append(req->resolve, entry)) == NULL)
			fatalx("curl_slist_append: out of memory");
		req->resolve = l;
		free(entry);
	}
}

/* The CURL_SSLVERSION_* value for a CONFIG_TLS_* minimum and maximum. */
static long
http_sslversion(int min, int max)
{
	static const long mins[] = {CURL_SSLVERSION_TLSv1_0,
	    CURL_SSLVERSION_TLSv1_1, CURL_SSLVERSION_TLSv1_2,
	    CURL_SSLVERSION_TLSv1_3};
	static const long maxs[] = {CURL_SSLVERSION_MAX_TLSv1_0,
	    CURL_SSLVERSION_MAX_TLSv1_1, CURL_SSLVERSION_MAX_TLSv1_2,
	    CURL_SSLVERSION_MAX_TLSv1_3};

	if (min < CONFIG_TLS_1_0 || min > CONFIG_TLS_1_3)
		min = CONFIG_TLS_1_2;
	if (max < min || max > CONFIG_TLS_1_3)
		max = CONFIG_TLS_1_3;
	return mins[min - CONFIG_TLS_1_0] | maxs[max - CONFIG_TLS_1_0];
}

#define HTTP_SET(opt, val) \
	do { \
		if (c == CURLE_OK) \
			c = curl_easy_setopt(e, opt, val); \
	} while (0)

/* Set the TLS options: versions, ciphers, trust, hook, no session cache. */
static CURLcode
http_setup_tls(struct http_req *req)
{
	CURL *e = req->easy;
	CURLcode c = CURLE_OK;
	struct curl_blob blob;

	HTTP_SET(CURLOPT_SSL_SESSIONID_CACHE, 0L);
	HTTP_SET(CURLOPT_SSLVERSION,
	    http_sslversion(req->tls_min, req->tls_max));
	if (req->ciphers != NULL)
		HTTP_SET(CURLOPT_SSL_CIPHER_LIST, req->ciphers);
	HTTP_SET(CURLOPT_SSL_VERIFYPEER, req->verify_peer ? 1L : 0L);
	HTTP_SET(CURLOPT_SSL_VERIFYHOST, req->verify_host ? 2L : 0L);
	/*
	 * Only the trust set given here: Debian's compiled-in CA path would
	 * otherwise stay trusted, and curl's CA store cache (keyed by path
	 * only) must not outlive a reload (docs/security.md §3.4).
	 */
	HTTP_SET(CURLOPT_CAINFO, req->cafile);
	HTTP_SET(CURLOPT_CAPATH, (char *)NULL);
	HTTP_SET(CURLOPT_CA_CACHE_TIMEOUT, 0L);
	if (req->ca_pem != NULL) {
		blob.data = req->ca_pem;
		blob.len = req->ca_pem_len;
		blob.flags = CURL_BLOB_COPY;
		HTTP_SET(CURLOPT_CAINFO_BLOB, &blob);
	}
	HTTP_SET(CURLOPT_SSL_OPTIONS, (long)CURLSSLOPT_NO_PARTIALCHAIN);
	if (req->ssl_cb != NULL) {
		HTTP_SET(CURLOPT_SSL_CTX_FUNCTION, http_ssl_ctx_fn);
		HTTP_SET(CURLOPT_SSL_CTX_DATA, req);
	}
	return c;
}

/*
 * Make the request's easy handle with every option set (the pins as its
 * CURLOPT_RESOLVE list); return CURLE_OK or the failure.
 */
CURLcode
http_req_setup(struct http_req *req)
{
	CURL *e;
	CURLcode c = CURLE_OK;

	http_build_resolve(req);
	if ((e = req->easy = curl_easy_init()) == NULL)
		fatalx("curl_easy_init failed");
	HTTP_SET(CURLOPT_URL, req->url);
	HTTP_SET(CURLOPT_PRIVATE, req);
	HTTP_SET(CURLOPT_ERRORBUFFER, req->errbuf);
	HTTP_SET(CURLOPT_NOSIGNAL, 1L);
	HTTP_SET(CURLOPT_VERBOSE, 0L);
	HTTP_SET(CURLOPT_QUICK_EXIT, 1L);
	HTTP_SET(CURLOPT_USERAGENT, "ewsprobed/" PACKAGE_VERSION);
	HTTP_SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	HTTP_SET(CURLOPT_FOLLOWLOCATION, 0L);
	HTTP_SET(CURLOPT_PROTOCOLS_STR,
	    req->allow_http ? "http,https" : "https");
	HTTP_SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
	HTTP_SET(CURLOPT_PROXY, ""); /* never http_proxy & co. */
	HTTP_SET(CURLOPT_RESOLVE, req->resolve);
	HTTP_SET(CURLOPT_PREREQFUNCTION, http_prereq_cb);
	HTTP_SET(CURLOPT_PREREQDATA, req);
	HTTP_SET(CURLOPT_CONNECTTIMEOUT_MS, req->connect_ms);
	HTTP_SET(CURLOPT_TIMEOUT_MS, req->total_ms);
	HTTP_SET(CURLOPT_LOW_SPEED_LIMIT, req->low_bytes);
	HTTP_SET(CURLOPT_LOW_SPEED_TIME, req->low_secs);
	HTTP_SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)req->max_body);
	HTTP_SET(CURLOPT_WRITEFUNCTION, http_resp_write_cb);
	HTTP_SET(CURLOPT_WRITEDATA, req);
	HTTP_SET(CURLOPT_HEADERFUNCTION, http_resp_header_cb);
	HTTP_SET(CURLOPT_HEADERDATA, req);
	/*
	 * Every request judges a full handshake on a new connection that is
	 * closed after (docs/security.md §3). curl keeps the connection of an
	 * NTLM handshake within the one transfer despite both options
	 * (multi.c multi_done, url.c this_is_a_follow).
	 */
	HTTP_SET(CURLOPT_FRESH_CONNECT, 1L);
	HTTP_SET(CURLOPT_FORBID_REUSE, 1L);
	if (c == CURLE_OK)
		c = http_setup_tls(req);
	if (req->auth != 0) {
		HTTP_SET(CURLOPT_HTTPAUTH, req->auth);
		HTTP_SET(CURLOPT_USERNAME, req->user);
		HTTP_SET(CURLOPT_PASSWORD, req->password);
		HTTP_SET(CURLOPT_UNRESTRICTED_AUTH, 0L);
	}
	/* No "Expect: 100-continue" round trip on POST. */
	http_req_add_header(req, "Expect:");
	HTTP_SET(CURLOPT_HTTPHEADER, req->headers);
	if (strcmp(req->method, "POST") == 0) {
		HTTP_SET(CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)req->body_len);
		HTTP_SET(CURLOPT_POSTFIELDS,
		    req->body != NULL ? req->body : "");
	} else
		HTTP_SET(CURLOPT_HTTPGET, 1L);
	return c;
}

#undef HTTP_SET

/* Free everything a request holds. */
void
http_req_destroy(struct http_req *req)
{
	size_t i;

	free(req->method);
	free(req->url);
	free(req->url_host);
	curl_slist_free_all(req->headers);
	curl_slist_free_all(req->resolve);
	for (i = 0; i < req->npins; i++)
		free(req->pins[i].host);
	free(req->pins);
	free(req->body);
	free(req->ciphers);
	free(req->cafile);
	free(req->ca_pem);
	free(req->user);
	xfree_secret(req->password);
	free(req->error);
	free(req->resp);
	free(req->address);
	free(req->tls_version);
	free(req->redirect_url);
	http_resp_clear_headers(req);
	free(req);
}
