/*
 * http: owns the one CURLM of the process, its sockets and timer on the
 * event loop, and the lifecycle of requests.
 *
 * The multi-socket pattern (curl's docs/examples/hiperfifo.c shape, with
 * its known traps avoided — style.md §3): the socket callback only records
 * which events to watch; the timer callback only (re)arms one libevent
 * timer and never calls libcurl (curl/curl#8282); readiness and the timer
 * call curl_multi_socket_action and then http_check_done, which removes
 * finished handles (never from inside a libcurl callback) and only then
 * calls the user's done callback.
 */
#include <sys/queue.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "config.h"
#include "ewsprobed-build.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "xmalloc.h"

#define HTTP_DEFAULT_MAX_BODY (1u << 20)
#define HTTP_DEFAULT_MAX_HEADERS (64u << 10)

/* One socket libcurl asked us to watch. */
struct http_sock {
	curl_socket_t fd;
	struct event *ev;
};

enum http_req_state {
	HTTP_REQ_NEW,
	HTTP_REQ_RUNNING,
	HTTP_REQ_DONE,
	HTTP_REQ_CANCELLED,
};

struct http_header {
	char *name;
	char *value;
};

struct http_req {
	enum http_req_state state;
	CURL *easy;
	char errbuf[CURL_ERROR_SIZE];
	/* request */
	char *method;
	char *url;
	struct curl_slist *headers;
	struct curl_slist *resolve;
	char *body;
	size_t body_len;
	long connect_ms, total_ms, low_bytes, low_secs;
	size_t max_body, max_headers;
	int allow_http;
	int tls_min, tls_max;
	char *ciphers;
	http_ssl_ctx_cb ssl_cb;
	void *ssl_arg;
	int verify_peer, verify_host;
	char *cafile;
	char *user;
	char *password; /* secret: wiped on free */
	http_done_cb done;
	void *done_arg;
	/* response */
	enum http_status status;
	char *error;
	long code;
	char *resp;
	size_t resp_len;
	size_t header_bytes;
	struct http_header *resp_headers;
	size_t nresp_headers;
	char *address;
	char *tls_version;
	struct step_timings timings;
	int body_too_large;
	int headers_too_large;
	int zombie; /* freed while an early delivery was queued */
};

static CURLM *http_multi;
static struct event *http_timer;

static void http_check_done(void);

/* Free a socket record (deferred: its event may be the running one). */
static void
http_sock_free(void *arg)
{
	struct http_sock *s = arg;

	event_free(s->ev);
	free(s);
}

/* Readiness on a libcurl socket: hand it to libcurl, then drain. */
static void
http_event_cb(evutil_socket_t fd, short what, void *arg)
{
	int action = 0, running;
	CURLMcode mc;

	if (what & EV_READ)
		action |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	mc = curl_multi_socket_action(http_multi, fd, action, &running);
	if (mc != CURLM_OK)
		fatalx("curl_multi_socket_action: %s", curl_multi_strerror(mc));
	http_check_done();
}

/* The timer fired: let libcurl run its timeouts, then drain. */
static void
http_timer_event_cb(evutil_socket_t fd, short what, void *arg)
{
	int running;
	CURLMcode mc;

	mc = curl_multi_socket_action(http_multi, CURL_SOCKET_TIMEOUT, 0,
	    &running);
	if (mc != CURLM_OK)
		fatalx("curl_multi_socket_action: %s", curl_multi_strerror(mc));
	http_check_done();
}

/*
 * CURLMOPT_TIMERFUNCTION: replace the single timer (-1 deletes it, 0 is a
 * valid "as soon as possible"). Never calls libcurl.
 */
static int
http_timer_cb(CURLM *multi, long timeout_ms, void *arg)
{
	struct timeval tv;

	if (timeout_ms < 0) {
		evtimer_del(http_timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(http_timer, &tv);
	return 0;
}

/*
 * CURLMOPT_SOCKETFUNCTION: watch, change or forget a socket. A REMOVE for
 * a socket we never saw is a no-op; event_del always precedes event_assign.
 */
static int
http_sock_cb(CURL *easy, curl_socket_t fd, int what, void *arg, void *sockp)
{
	struct http_sock *s = sockp;
	short kind;

	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			event_del(s->ev);
			curl_multi_assign(http_multi, fd, NULL);
			loop_defer(http_sock_free, s);
		}
		return 0;
	}
	if (s == NULL) {
		s = xcalloc(1, sizeof *s);
		s->fd = fd;
		if ((s->ev = event_new(loop_base(), fd, 0, http_event_cb,
		         NULL)) == NULL)
			fatalx("event_new failed");
		curl_multi_assign(http_multi, fd, s);
	}
	kind = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
	    ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
	event_del(s->ev);
	if (event_assign(s->ev, loop_base(), fd, kind, http_event_cb, NULL) !=
	        0 ||
	    event_add(s->ev, NULL) != 0)
		fatalx("cannot watch an HTTP socket");
	return 0;
}

/* Start libcurl and the multi handle on the loop. */
void
http_init(void)
{
	CURLcode c;

	if ((c = curl_global_init(CURL_GLOBAL_DEFAULT)) != CURLE_OK)
		fatalx("curl_global_init: %s", curl_easy_strerror(c));
	if ((http_multi = curl_multi_init()) == NULL)
		fatalx("curl_multi_init failed");
	http_timer = evtimer_new(loop_base(), http_timer_event_cb, NULL);
	if (http_timer == NULL)
		fatalx("evtimer_new failed");
	curl_multi_setopt(http_multi, CURLMOPT_SOCKETFUNCTION, http_sock_cb);
	curl_multi_setopt(http_multi, CURLMOPT_TIMERFUNCTION, http_timer_cb);
	/* Probes never share connections (see design §3.2). */
	curl_multi_setopt(http_multi, CURLMOPT_MAXCONNECTS, 1L);
}

/*
 * Tear down the multi handle. Requests must have been cancelled or freed;
 * the event base must still exist (libcurl calls the socket callback
 * during cleanup).
 */
void
http_shutdown(void)
{
	if (http_multi != NULL)
		curl_multi_cleanup(http_multi);
	http_multi = NULL;
	if (http_timer != NULL)
		event_free(http_timer);
	http_timer = NULL;
	curl_global_cleanup();
}

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
	req->tls_min = CONFIG_TLS_1_0;
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

/* Pin host:port to a numeric address (the one dns found). */
void
http_req_pin(struct http_req *req, const char *host, int port, const char *addr)
{
	struct curl_slist *l;
	char *entry;

	if (strchr(addr, ':') != NULL)
		xasprintf(&entry, "%s:%d:[%s]", host, port, addr);
	else
		xasprintf(&entry, "%s:%d:%s", host, port, addr);
	if ((l = curl_slist_append(req->resolve, entry)) == NULL)
		fatalx("curl_slist_append: out of memory");
	req->resolve = l;
	free(entry);
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

/* TLS versions (CONFIG_TLS_*) and an OpenSSL cipher list (or NULL). */
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

/* The CA bundle libcurl verifies against (NULL: none, no CA path). */
void
http_req_set_cafile(struct http_req *req, const char *cafile)
{
	free(req->cafile);
	req->cafile = cafile != NULL ? xstrdup(cafile) : NULL;
}

/* Authenticate with NTLM as user (copied; the password is wiped later). */
void
http_req_set_ntlm(struct http_req *req, const char *user, const char *password)
{
	free(req->user);
	xfree_secret(req->password);
	req->user = xstrdup(user);
	req->password = xstrdup(password);
}

/* CURLOPT_WRITEFUNCTION: keep the body, refuse beyond the cap. */
static size_t
http_write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct http_req *req = arg;
	size_t len = size * n;

	if (req->resp_len + len > req->max_body) {
		req->body_too_large = 1;
		return 0;
	}
	req->resp = xreallocarray(req->resp, req->resp_len + len + 1, 1);
	memcpy(req->resp + req->resp_len, data, len);
	req->resp_len += len;
	req->resp[req->resp_len] = '\0';
	return len;
}

/* Forget the headers of an earlier response of the same transfer. */
static void
http_clear_headers(struct http_req *req)
{
	size_t i;

	for (i = 0; i < req->nresp_headers; i++) {
		free(req->resp_headers[i].name);
		free(req->resp_headers[i].value);
	}
	free(req->resp_headers);
	req->resp_headers = NULL;
	req->nresp_headers = 0;
}

/*
 * CURLOPT_HEADERFUNCTION: keep the last response's headers (an NTLM
 * exchange has several responses in one transfer), count their bytes, and
 * note the TLS version while the connection still exists.
 */
static size_t
http_header_cb(char *data, size_t size, size_t n, void *arg)
{
	struct http_req *req = arg;
	struct curl_tlssessioninfo *info = NULL;
	size_t len = size * n, nlen;
	const char *colon, *v, *end;
	struct http_header *h;

	req->header_bytes += len;
	if (req->header_bytes > req->max_headers) {
		req->headers_too_large = 1;
		return 0;
	}
	if (req->tls_version == NULL &&
	    curl_easy_getinfo(req->easy, CURLINFO_TLS_SSL_PTR, &info) ==
	        CURLE_OK &&
	    info != NULL && info->backend == CURLSSLBACKEND_OPENSSL &&
	    info->internals != NULL)
		req->tls_version = xstrdup(SSL_get_version(info->internals));
	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		http_clear_headers(req);
		return len;
	}
	if ((colon = memchr(data, ':', len)) == NULL)
		return len;
	nlen = (size_t)(colon - data);
	end = data + len;
	while (end > colon + 1 &&
	    (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' ||
	        end[-1] == '\t'))
		end--;
	for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	req->resp_headers = xreallocarray(req->resp_headers,
	    req->nresp_headers + 1, sizeof *req->resp_headers);
	h = &req->resp_headers[req->nresp_headers++];
	h->name = xstrndup(data, nlen);
	h->value = xstrndup(v, (size_t)(end - v));
	return len;
}

/* CURLOPT_SSL_CTX_FUNCTION: hand the SSL_CTX to the request's hook. */
static CURLcode
http_ssl_ctx_fn(CURL *easy, void *ssl_ctx, void *arg)
{
	struct http_req *req = arg;

	if (req->ssl_cb != NULL && req->ssl_cb(ssl_ctx, req->ssl_arg) != 0)
		return CURLE_SSL_CERTPROBLEM;
	return CURLE_OK;
}

/* Whether the URL's host:port has a pinned address. */
static int
http_is_pinned(struct http_req *req)
{
	CURLU *u;
	char *host = NULL, *port = NULL, *want;
	struct curl_slist *l;
	int found = 0;

	if ((u = curl_url()) == NULL)
		fatalx("curl_url: out of memory");
	if (curl_url_set(u, CURLUPART_URL, req->url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) ==
	        CURLUE_OK) {
		xasprintf(&want, "%s:%s:", host, port);
		for (l = req->resolve; l != NULL; l = l->next) {
			if (strncasecmp(l->data, want, strlen(want)) == 0)
				found = 1;
		}
		free(want);
	}
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return found;
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
		min = CONFIG_TLS_1_0;
	if (max < min || max > CONFIG_TLS_1_3)
		max = CONFIG_TLS_1_3;
	return mins[min - CONFIG_TLS_1_0] | maxs[max - CONFIG_TLS_1_0];
}

/* Set every option of the easy handle; return 0 or a CURLcode. */
static CURLcode
http_setup(struct http_req *req)
{
	CURL *e = req->easy;
	CURLcode c = CURLE_OK;

#define HTTP_SET(opt, val) \
	do { \
		if (c == CURLE_OK) \
			c = curl_easy_setopt(e, opt, val); \
	} while (0)
	HTTP_SET(CURLOPT_URL, req->url);
	HTTP_SET(CURLOPT_PRIVATE, req);
	HTTP_SET(CURLOPT_ERRORBUFFER, req->errbuf);
	HTTP_SET(CURLOPT_NOSIGNAL, 1L);
	HTTP_SET(CURLOPT_USERAGENT, "ewsprobed/" PACKAGE_VERSION);
	HTTP_SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	HTTP_SET(CURLOPT_FOLLOWLOCATION, 0L);
	HTTP_SET(CURLOPT_PROTOCOLS_STR,
	    req->allow_http ? "http,https" : "https");
	HTTP_SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
	HTTP_SET(CURLOPT_RESOLVE, req->resolve);
	HTTP_SET(CURLOPT_CONNECTTIMEOUT_MS, req->connect_ms);
	HTTP_SET(CURLOPT_TIMEOUT_MS, req->total_ms);
	HTTP_SET(CURLOPT_LOW_SPEED_LIMIT, req->low_bytes);
	HTTP_SET(CURLOPT_LOW_SPEED_TIME, req->low_secs);
	HTTP_SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)req->max_body);
	HTTP_SET(CURLOPT_WRITEFUNCTION, http_write_cb);
	HTTP_SET(CURLOPT_WRITEDATA, req);
	HTTP_SET(CURLOPT_HEADERFUNCTION, http_header_cb);
	HTTP_SET(CURLOPT_HEADERDATA, req);
	/*
	 * Every probe judges a full handshake on a new connection. NTLM
	 * authenticates the connection, so its handshake needs the same
	 * connection for all its legs: forbidding reuse there makes libcurl
	 * start over on a new connection for ever (seen with 7.88). The
	 * connection left in the cache is never reused: FRESH_CONNECT.
	 */
	HTTP_SET(CURLOPT_FRESH_CONNECT, 1L);
	HTTP_SET(CURLOPT_FORBID_REUSE, req->user != NULL ? 0L : 1L);
	HTTP_SET(CURLOPT_SSL_SESSIONID_CACHE, 0L);
	HTTP_SET(CURLOPT_SSLVERSION,
	    http_sslversion(req->tls_min, req->tls_max));
	if (req->ciphers != NULL)
		HTTP_SET(CURLOPT_SSL_CIPHER_LIST, req->ciphers);
	HTTP_SET(CURLOPT_SSL_VERIFYPEER, (long)req->verify_peer);
	HTTP_SET(CURLOPT_SSL_VERIFYHOST, req->verify_host ? 2L : 0L);
	/*
	 * A restricted store needs the CA path cleared too, and curl's CA
	 * cache must not outlive a reload (security.md §3.4).
	 */
	HTTP_SET(CURLOPT_CAINFO, req->cafile);
	HTTP_SET(CURLOPT_CAPATH, (char *)NULL);
	HTTP_SET(CURLOPT_CA_CACHE_TIMEOUT, 0L);
	if (req->ssl_cb != NULL) {
		HTTP_SET(CURLOPT_SSL_CTX_FUNCTION, http_ssl_ctx_fn);
		HTTP_SET(CURLOPT_SSL_CTX_DATA, req);
	}
	if (req->user != NULL) {
		HTTP_SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_NTLM);
		HTTP_SET(CURLOPT_USERNAME, req->user);
		HTTP_SET(CURLOPT_PASSWORD, req->password);
		HTTP_SET(CURLOPT_UNRESTRICTED_AUTH, 0L);
	}
	/* No "Expect: 100-continue" round trip on POST. */
	http_req_add_header(req, "Expect:");
	HTTP_SET(CURLOPT_HTTPHEADER, req->headers);
	if (strcmp(req->method, "POST") == 0) {
		HTTP_SET(CURLOPT_POSTFIELDSIZE, (long)req->body_len);
		HTTP_SET(CURLOPT_POSTFIELDS,
		    req->body != NULL ? req->body : "");
	} else
		HTTP_SET(CURLOPT_HTTPGET, 1L);
#undef HTTP_SET
	return c;
}

/* Finish a request that never reached libcurl: deliver on the next turn. */
static void http_req_destroy(struct http_req *);

static void
http_deliver_early(void *arg)
{
	struct http_req *req = arg;

	if (req->zombie) {
		http_req_destroy(req);
		return;
	}
	if (req->state != HTTP_REQ_RUNNING)
		return;
	req->state = HTTP_REQ_DONE;
	req->done(req, req->done_arg);
}

/*
 * Submit: the result arrives through done(req, arg) on a later loop turn.
 * A request whose host is not pinned fails without any network access.
 */
void
http_req_submit(struct http_req *req, http_done_cb done, void *arg)
{
	CURLcode c;
	CURLMcode mc;

	req->done = done;
	req->done_arg = arg;
	req->state = HTTP_REQ_RUNNING;
	if (!http_is_pinned(req)) {
		req->status = HTTP_ERR_NOT_PINNED;
		req->error = xstrdup("no address pinned for the URL's host");
		loop_defer(http_deliver_early, req);
		return;
	}
	if ((req->easy = curl_easy_init()) == NULL)
		fatalx("curl_easy_init failed");
	if ((c = http_setup(req)) != CURLE_OK) {
		req->status = HTTP_ERR_OTHER;
		xasprintf(&req->error, "curl_easy_setopt: %s",
		    curl_easy_strerror(c));
		curl_easy_cleanup(req->easy);
		req->easy = NULL;
		loop_defer(http_deliver_early, req);
		return;
	}
	/* The handle is complete before libcurl sees it. */
	if ((mc = curl_multi_add_handle(http_multi, req->easy)) != CURLM_OK)
		fatalx("curl_multi_add_handle: %s", curl_multi_strerror(mc));
}

/* Whether the error text names a TLS version mismatch. */
static int
http_is_version_error(const char *msg)
{
	static const char *words[] = {"alert protocol version",
	    "unsupported protocol", "wrong version number",
	    "no protocols available", "version too low", "unknown protocol",
	    "tlsv1 alert protocol"};
	size_t i;

	for (i = 0; i < sizeof words / sizeof words[0]; i++) {
		if (strcasestr(msg, words[i]) != NULL)
			return 1;
	}
	return 0;
}

/* Convert a finished transfer's CURLcode into our status. */
static enum http_status
http_map(struct http_req *req, CURLcode c)
{
	switch (c) {
	case CURLE_OK:
		return HTTP_DONE;
	case CURLE_COULDNT_CONNECT:
		return HTTP_ERR_CONNECT;
	case CURLE_OPERATION_TIMEDOUT:
		if (strcasestr(req->errbuf, "too slow") != NULL)
			return HTTP_ERR_STALLED;
		if (req->timings.connect_us <= 0)
			return HTTP_ERR_CONNECT_TIMEOUT;
		return HTTP_ERR_TIMEOUT;
	case CURLE_SSL_CONNECT_ERROR:
		return http_is_version_error(req->errbuf)
		    ? HTTP_ERR_TLS_VERSION
		    : HTTP_ERR_TLS_HANDSHAKE;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
		return HTTP_ERR_TLS_VERIFY;
	case CURLE_FILESIZE_EXCEEDED:
		return HTTP_ERR_TOO_LARGE;
	case CURLE_WRITE_ERROR:
		if (req->headers_too_large)
			return HTTP_ERR_HEADERS_TOO_LARGE;
		return req->body_too_large ? HTTP_ERR_TOO_LARGE
		                           : HTTP_ERR_OTHER;
	case CURLE_RECV_ERROR:
		if (req->headers_too_large ||
		    strcasestr(req->errbuf, "header") != NULL)
			return HTTP_ERR_HEADERS_TOO_LARGE;
		return HTTP_ERR_PROTOCOL;
	case CURLE_GOT_NOTHING:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_BAD_CONTENT_ENCODING:
		return HTTP_ERR_PROTOCOL;
	case CURLE_COULDNT_RESOLVE_HOST:
		return HTTP_ERR_NOT_PINNED;
	case CURLE_UNSUPPORTED_PROTOCOL:
		return HTTP_ERR_OTHER;
	default:
		return HTTP_ERR_OTHER;
	}
}

/* Copy what is kept of a finished transfer before its handle goes. */
static void
http_collect(struct http_req *req, CURLcode result)
{
	curl_off_t t;
	char *ip = NULL;
	long port = 0;

	curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &req->code);
	if (curl_easy_getinfo(req->easy, CURLINFO_PRIMARY_IP, &ip) ==
	        CURLE_OK &&
	    ip != NULL && ip[0] != '\0') {
		curl_easy_getinfo(req->easy, CURLINFO_PRIMARY_PORT, &port);
		xasprintf(&req->address,
		    strchr(ip, ':') != NULL ? "[%s]:%ld" : "%s:%ld", ip, port);
	}
	if (curl_easy_getinfo(req->easy, CURLINFO_NAMELOOKUP_TIME_T, &t) ==
	    CURLE_OK)
		req->timings.dns_us = t;
	if (curl_easy_getinfo(req->easy, CURLINFO_CONNECT_TIME_T, &t) ==
	    CURLE_OK)
		req->timings.connect_us = t;
	if (curl_easy_getinfo(req->easy, CURLINFO_APPCONNECT_TIME_T, &t) ==
	    CURLE_OK)
		req->timings.tls_us = t;
	if (curl_easy_getinfo(req->easy, CURLINFO_STARTTRANSFER_TIME_T, &t) ==
	    CURLE_OK)
		req->timings.first_byte_us = t;
	if (curl_easy_getinfo(req->easy, CURLINFO_TOTAL_TIME_T, &t) == CURLE_OK)
		req->timings.total_us = t;
	req->status = http_map(req, result);
	if (result != CURLE_OK)
		xasprintf(&req->error, "%s",
		    req->errbuf[0] != '\0' ? req->errbuf
		                           : curl_easy_strerror(result));
}

/*
 * Drain finished transfers: remove each handle (we are not inside a
 * libcurl callback here), then call its done callback. The callback may
 * free the request or submit others.
 */
static void
http_check_done(void)
{
	struct http_req *req;
	CURLMsg *msg;
	CURLcode result;
	int left;
	char *p;

	while ((msg = curl_multi_info_read(http_multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		result = msg->data.result;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &p);
		req = (struct http_req *)(void *)p;
		http_collect(req, result);
		curl_multi_remove_handle(http_multi, req->easy);
		curl_easy_cleanup(req->easy);
		req->easy = NULL;
		req->state = HTTP_REQ_DONE;
		req->done(req, req->done_arg);
	}
}

/* Cancel: no callback will follow. Safe in any state. */
void
http_req_cancel(struct http_req *req)
{
	if (req == NULL || req->state != HTTP_REQ_RUNNING)
		return;
	if (req->easy != NULL) {
		curl_multi_remove_handle(http_multi, req->easy);
		curl_easy_cleanup(req->easy);
		req->easy = NULL;
	}
	req->state = HTTP_REQ_CANCELLED;
	req->status = HTTP_ERR_CANCELLED;
}

/* Free everything a request holds. */
static void
http_req_destroy(struct http_req *req)
{
	free(req->method);
	free(req->url);
	curl_slist_free_all(req->headers);
	curl_slist_free_all(req->resolve);
	free(req->body);
	free(req->ciphers);
	free(req->cafile);
	free(req->user);
	xfree_secret(req->password);
	free(req->error);
	free(req->resp);
	free(req->address);
	free(req->tls_version);
	http_clear_headers(req);
	free(req);
}

/* Free a request (cancelling it if it runs); NULL is a no-op. */
void
http_req_free(struct http_req *req)
{
	if (req == NULL)
		return;
	/*
	 * An early failure is still queued with loop_defer: that turn frees
	 * the request instead of delivering it.
	 */
	if (req->state == HTTP_REQ_RUNNING && req->easy == NULL) {
		req->zombie = 1;
		return;
	}
	http_req_cancel(req);
	http_req_destroy(req);
}

/* The request's outcome. */
enum http_status
http_req_status(const struct http_req *req)
{
	return req->status;
}

/* The error text of a failed request, or NULL. */
const char *
http_req_error(const struct http_req *req)
{
	return req->error;
}

/* The HTTP status code of the last response (0 if none). */
long
http_req_code(const struct http_req *req)
{
	return req->code;
}

/* The response body (NUL-terminated) and its length. */
const char *
http_req_body(const struct http_req *req, size_t *len)
{
	if (len != NULL)
		*len = req->resp_len;
	return req->resp != NULL ? req->resp : "";
}

/* Up to max values of a response header (case-insensitive name). */
size_t
http_req_header_values(const struct http_req *req, const char *name,
    const char **values, size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < req->nresp_headers && n < max; i++) {
		if (strcasecmp(req->resp_headers[i].name, name) == 0)
			values[n++] = req->resp_headers[i].value;
	}
	return n;
}

/* The first value of a response header, or NULL. */
const char *
http_req_header(const struct http_req *req, const char *name)
{
	const char *v = NULL;

	http_req_header_values(req, name, &v, 1);
	return v;
}

/* "address:port" connected to, or NULL. */
const char *
http_req_address(const struct http_req *req)
{
	return req->address;
}

/* The negotiated TLS version ("TLSv1", "TLSv1.2", ...), or NULL. */
const char *
http_req_tls_version(const struct http_req *req)
{
	return req->tls_version;
}

/* The request's URL. */
const char *
http_req_url(const struct http_req *req)
{
	return req->url;
}

/* The transfer's timings. */
void
http_req_timings(const struct http_req *req, struct step_timings *t)
{
	*t = req->timings;
}

/* The status's name. */
const char *
http_status_name(enum http_status s)
{
	switch (s) {
	case HTTP_DONE:
		return "done";
	case HTTP_ERR_NOT_PINNED:
		return "not_pinned";
	case HTTP_ERR_CONNECT:
		return "connect_failed";
	case HTTP_ERR_CONNECT_TIMEOUT:
		return "connect_timeout";
	case HTTP_ERR_TIMEOUT:
		return "timeout";
	case HTTP_ERR_STALLED:
		return "stalled";
	case HTTP_ERR_TLS_VERSION:
		return "tls_version_unsupported";
	case HTTP_ERR_TLS_HANDSHAKE:
		return "tls_handshake_failed";
	case HTTP_ERR_TLS_VERIFY:
		return "tls_verify_failed";
	case HTTP_ERR_TOO_LARGE:
		return "response_too_large";
	case HTTP_ERR_HEADERS_TOO_LARGE:
		return "headers_too_large";
	case HTTP_ERR_PROTOCOL:
		return "http_protocol_error";
	case HTTP_ERR_CANCELLED:
		return "cancelled";
	case HTTP_ERR_OTHER:
		return "http_error";
	}
	return "http_error";
}
