/*
 * http: owns the one CURLM of the process, its sockets and timer on the
 * event loop, and the lifecycle of requests (struct http_req).
 *
 * The multi-socket pattern (curl's docs/examples/hiperfifo.c shape, with
 * its traps avoided — docs/style.md §3): the socket callback only records
 * which events to watch; the timer callback only (re)arms one libevent
 * timer and never calls libcurl (curl/curl#8282); readiness and the timer
 * event call curl_multi_socket_action and then http_check_done, which
 * removes finished handles (never from inside a libcurl callback) and only
 * then calls the user's done callback.
 *
 * Hardening (docs/security.md §3): https only unless asked, no redirects,
 * no proxy from the environment, no cookies, no verbose output, pinned
 * addresses only (checked again when the connection is made), a restricted
 * CA set with the CA path cleared and no CA cache, no partial chains,
 * fresh connections closed after use and no TLS session cache, and caps on
 * body and header bytes enforced in our own callbacks.
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <arpa/inet.h>
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
	HTTP_REQ_NEW, /* being built */
	HTTP_REQ_RUNNING, /* in the multi handle */
	HTTP_REQ_EARLY, /* failed before libcurl; delivery queued */
	HTTP_REQ_DONE, /* delivered */
	HTTP_REQ_CANCELLED,
};

/* A response header (the last response of the transfer only). */
struct http_header {
	char *name;
	char *value;
};

/* One pinned address for host:port. */
struct http_pin {
	char *host;
	int port;
	char addr[INET6_ADDRSTRLEN]; /* canonical numeric form */
	int family;
};

struct http_req {
	enum http_req_state state;
	int queued; /* an early delivery is in loop_defer */
	int freed; /* http_req_free() ran while queued */
	CURL *easy;
	char errbuf[CURL_ERROR_SIZE];
	TAILQ_ENTRY(http_req) entry; /* http_reqs while RUNNING/EARLY */

	/* request */
	char *method;
	char *url;
	char *url_host; /* host and port of the URL, once checked */
	int url_port;
	struct curl_slist *headers;
	struct curl_slist *resolve;
	struct http_pin *pins;
	size_t npins;
	int bad_pin;
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
	char *ca_pem;
	size_t ca_pem_len;
	long auth; /* CURLAUTH_NTLM, CURLAUTH_BASIC or 0 */
	char *user;
	char *password; /* secret: wiped on free, never logged */
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
	size_t nresp_headers, resp_headers_cap;
	char *address;
	char *tls_version;
	char *redirect_url; /* Location, resolved against url */
	struct step_timings timings;
	int body_too_large;
	int headers_too_large;
	int pin_violation;
	int hook_failed;
};

static CURLM *http_multi;
static struct event *http_timer;
/*
 * The connection cache only ever holds connections parked between the legs
 * of an NTLM exchange (FORBID_REUSE closes all others), one per transfer in
 * that state. It must hold as many as can run at once: a smaller cache
 * closes a parked connection for each new one, and those handshakes start
 * over forever. 4096 is the highest [daemon] concurrency.
 */
#define HTTP_MAX_PARKED 4096L
static TAILQ_HEAD(, http_req) http_reqs = TAILQ_HEAD_INITIALIZER(http_reqs);
static int http_in_curl; /* inside curl_multi_socket_action */

static void http_check_done(void);
static void http_req_destroy(struct http_req *);

/* Free a socket record (deferred: its event may be the running one). */
static void
http_sock_free(void *arg)
{
	struct http_sock *s = arg;

	event_free(s->ev);
	free(s);
}

/*
 * Let libcurl act on a socket (or its timeouts). A CURLMcode error leaves
 * every transfer in an unknown state (docs/style.md §3): that
 * is fatal to the multi, and the multi is the whole module.
 */
static void
http_socket_action(curl_socket_t fd, int action)
{
	CURLMcode mc;
	int running;

	http_in_curl++;
	mc = curl_multi_socket_action(http_multi, fd, action, &running);
	http_in_curl--;
	if (mc != CURLM_OK)
		fatalx("curl_multi_socket_action: %s", curl_multi_strerror(mc));
	http_check_done();
}

/* Readiness on a libcurl socket: hand it to libcurl, then drain. */
static void
http_event_cb(evutil_socket_t fd, short what, void *arg)
{
	int action = 0;

	if (what & EV_READ)
		action |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	http_socket_action(fd, action);
}

/* The timer fired: let libcurl run its timeouts, then drain. */
static void
http_timer_event_cb(evutil_socket_t fd, short what, void *arg)
{
	http_socket_action(CURL_SOCKET_TIMEOUT, 0);
}

/*
 * CURLMOPT_TIMERFUNCTION: replace the single timer (-1 deletes it, 0 is a
 * valid "as soon as possible"). Never calls libcurl.
 */
static int
http_timer_cb(CURLM *multi, long timeout_ms, void *arg)
{
	if (timeout_ms < 0) {
		evtimer_del(http_timer);
		return 0;
	}
	return loop_timer_ms(http_timer, (uint64_t)timeout_ms) != 0 ? -1 : 0;
}

/*
 * CURLMOPT_SOCKETFUNCTION: watch, change or forget a socket. A REMOVE for
 * a socket we never saw is a no-op; event_del always precedes event_assign;
 * records are keyed by socketp, never by the fd alone.
 */
static int
http_sock_cb(CURL *easy, curl_socket_t fd, int what, void *arg, void *sockp)
{
	struct http_sock *s = sockp;
	short kind;

	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			event_del(s->ev);
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

/* Start libcurl and the multi handle on the loop (after loop_init). */
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
	if (curl_multi_setopt(http_multi, CURLMOPT_SOCKETFUNCTION,
	        http_sock_cb) != CURLM_OK ||
	    curl_multi_setopt(http_multi, CURLMOPT_TIMERFUNCTION,
	        http_timer_cb) != CURLM_OK ||
	    curl_multi_setopt(http_multi, CURLMOPT_MAXCONNECTS,
	        HTTP_MAX_PARKED) != CURLM_OK)
		fatalx("curl_multi_setopt failed");
}

/*
 * Tear down the multi handle. Requests still running are cancelled (no
 * callback). The event base must still exist: libcurl calls the socket
 * callback during curl_multi_cleanup. Never call from a done callback.
 */
void
http_shutdown(void)
{
	struct http_req *req, *next;

	TAILQ_FOREACH_SAFE (req, &http_reqs, entry, next) {
		http_req_cancel(req);
	}
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

/* CURLOPT_WRITEFUNCTION: keep the body, refuse beyond the cap. */
static size_t
http_write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct http_req *req = arg;
	size_t len = size * n;

	if (len > req->max_body - req->resp_len) {
		req->body_too_large = 1;
		return 0; /* CURLE_WRITE_ERROR */
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
	req->nresp_headers = req->resp_headers_cap = 0;
}

/* Record one "Name: value" header line (trimmed). */
static void
http_keep_header(struct http_req *req, const char *data, size_t len)
{
	const char *colon, *v, *end;
	struct http_header *h;

	if ((colon = memchr(data, ':', len)) == NULL || colon == data)
		return;
	end = data + len;
	while (end > colon + 1 &&
	    (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' ||
	        end[-1] == '\t'))
		end--;
	for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	if (req->nresp_headers == req->resp_headers_cap) {
		/* Grown geometrically: 64 KiB of "a:\n" lines is 21,000. */
		req->resp_headers_cap =
		    req->resp_headers_cap == 0 ? 16 : req->resp_headers_cap * 2;
		req->resp_headers = xreallocarray(req->resp_headers,
		    req->resp_headers_cap, sizeof *req->resp_headers);
	}
	h = &req->resp_headers[req->nresp_headers++];
	h->name = xstrndup(data, (size_t)(colon - data));
	h->value = xstrndup(v, (size_t)(end - v));
}

/*
 * Read one response header line of len bytes as libcurl hands it over
 * (the status line starts a response, so an NTLM exchange's several
 * responses leave only the last one's headers) and count the bytes of
 * all of them. Return 0, or -1 past the cap (the transfer is aborted).
 * Pure apart from req: the fuzzer feeds it server bytes.
 */
int
http_req_feed_header(struct http_req *req, const char *data, size_t len)
{
	if (len > req->max_headers - req->header_bytes) {
		req->headers_too_large = 1;
		return -1;
	}
	req->header_bytes += len;
	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0)
		http_clear_headers(req);
	else
		http_keep_header(req, data, len);
	return 0;
}

/* CURLOPT_HEADERFUNCTION: http_req_feed_header; 0 aborts the transfer. */
static size_t
http_header_cb(char *data, size_t size, size_t n, void *arg)
{
	size_t len = size * n;

	return http_req_feed_header(arg, data, len) == 0 ? len : 0;
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
 * Why text cannot be a URL byte-wise, or NULL: a URL is printable ASCII
 * (RFC 3986 §2). A control character, a space or a byte above 0x7e is
 * refused whatever libcurl's parser would make of it (it passes 0xff
 * through), so that such bytes never reach a request, an XML body or a
 * report as a URL.
 */
static const char *
http_url_bytes_refused(const char *text)
{
	const unsigned char *p;

	if (text == NULL || *text == '\0')
		return "empty";
	for (p = (const unsigned char *)text; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return "holds a control character";
		if (*p == ' ')
			return "holds a space";
		if (*p > 0x7e)
			return "holds a byte that is not ASCII";
	}
	return NULL;
}

/*
 * Split url into its lower-case scheme, host and port (the scheme's
 * default when none is given) with libcurl's parser, and note whether it
 * carries a user name or password; return why it is not a URL ewsprobed
 * will use, or NULL. A URL is printable ASCII (http_url_bytes_refused);
 * then libcurl must parse it and find a host. Pure: servers' Location headers,
 * RedirectUrls and EWS URLs all pass through it. On success the caller
 * frees out with http_url_clear; on failure out holds nothing.
 */
const char *
http_url_split(const char *url, struct http_url *out)
{
	CURLU *u;
	char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL;
	char *password = NULL;
	const char *why = NULL;

	memset(out, 0, sizeof *out);
	if ((why = http_url_bytes_refused(url)) != NULL)
		return why;
	if ((u = curl_url()) == NULL)
		fatalx("curl_url: out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK)
		why = "not a URL";
	else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    host == NULL || *host == '\0')
		why = "no host";
	else if (curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
	    CURLUE_OK)
		why = "no port";
	else {
		out->scheme = xstrdup(scheme);
		out->host = xstrdup(host);
		out->port = (int)strtol(port, NULL, 10);
		out->credentials =
		    curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
		    curl_url_get(u, CURLUPART_PASSWORD, &password, 0) ==
		        CURLUE_OK;
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(user);
	curl_free(password);
	curl_url_cleanup(u);
	return why;
}

/* Free what http_url_split kept. */
void
http_url_clear(struct http_url *u)
{
	free(u->scheme);
	free(u->host);
	memset(u, 0, sizeof *u);
}

/* Why url is not a URL ewsprobed will use (http_url_split), or NULL. */
const char *
http_url_refused(const char *url)
{
	struct http_url u;
	const char *why;

	if ((why = http_url_split(url, &u)) == NULL)
		http_url_clear(&u);
	return why;
}

/*
 * Check the URL before anything touches the network: a URL at all
 * (http_url_split), no credentials in it, an allowed scheme, and a
 * pinned host:port. Returns HTTP_DONE when it may go on; otherwise sets
 * the error text.
 */
static enum http_status
http_check_url(struct http_req *req)
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

/* Set every option of the easy handle; return CURLE_OK or the failure. */
static CURLcode
http_setup(struct http_req *req)
{
	CURL *e = req->easy;
	CURLcode c = CURLE_OK;

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
	HTTP_SET(CURLOPT_WRITEFUNCTION, http_write_cb);
	HTTP_SET(CURLOPT_WRITEDATA, req);
	HTTP_SET(CURLOPT_HEADERFUNCTION, http_header_cb);
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

/* Deferred delivery of a request that failed before reaching libcurl. */
static void
http_deliver_early(void *arg)
{
	struct http_req *req = arg;

	req->queued = 0;
	if (req->freed) {
		http_req_destroy(req);
		return;
	}
	if (req->state != HTTP_REQ_EARLY)
		return; /* cancelled meanwhile */
	TAILQ_REMOVE(&http_reqs, req, entry);
	req->state = HTTP_REQ_DONE;
	req->done(req, req->done_arg);
}

/* Fail a request before libcurl sees it; the callback comes later. */
static void
http_fail_early(struct http_req *req, enum http_status status)
{
	req->status = status;
	req->state = HTTP_REQ_EARLY;
	req->queued = 1;
	TAILQ_INSERT_TAIL(&http_reqs, req, entry);
	log_debug("%s %s: %s", req->method, req->url, req->error);
	loop_defer(http_deliver_early, req);
}

/*
 * Submit (once): the result arrives through done(req, arg) on a later loop
 * turn, never inside this call. A request whose URL is refused or whose
 * host is not pinned fails without any network access.
 */
void
http_req_submit(struct http_req *req, http_done_cb done, void *arg)
{
	enum http_status st;
	CURLcode c;
	CURLMcode mc;

	if (req->state != HTTP_REQ_NEW || http_multi == NULL)
		fatalx("request submitted twice or before http_init");
	req->done = done;
	req->done_arg = arg;
	if (strcmp(req->method, "GET") != 0 &&
	    strcmp(req->method, "POST") != 0) {
		xasprintf(&req->error, "method %s not supported", req->method);
		http_fail_early(req, HTTP_ERR_OTHER);
		return;
	}
	if ((st = http_check_url(req)) != HTTP_DONE) {
		http_fail_early(req, st);
		return;
	}
	http_build_resolve(req);
	if ((req->easy = curl_easy_init()) == NULL)
		fatalx("curl_easy_init failed");
	if ((c = http_setup(req)) != CURLE_OK) {
		xasprintf(&req->error, "curl_easy_setopt: %s",
		    curl_easy_strerror(c));
		curl_easy_cleanup(req->easy);
		req->easy = NULL;
		http_fail_early(req, HTTP_ERR_OTHER);
		return;
	}
	/* The request is complete before libcurl sees it. */
	req->state = HTTP_REQ_RUNNING;
	TAILQ_INSERT_TAIL(&http_reqs, req, entry);
	if ((mc = curl_multi_add_handle(http_multi, req->easy)) != CURLM_OK)
		fatalx("curl_multi_add_handle: %s", curl_multi_strerror(mc));
}

/* Whether the error text names a TLS version mismatch. */
static int
http_is_version_error(const char *msg)
{
	static const char *words[] = {"alert protocol version",
	    "unsupported protocol", "wrong version number",
	    "no protocols available", "version too low", "unknown protocol"};
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
		/* Debian's CVE-2023-38039 fix caps header bytes itself. */
		if (req->headers_too_large ||
		    strcasestr(req->errbuf, "header") != NULL)
			return HTTP_ERR_HEADERS_TOO_LARGE;
		return HTTP_ERR_PROTOCOL;
	case CURLE_ABORTED_BY_CALLBACK:
		if (req->pin_violation)
			return HTTP_ERR_NOT_PINNED;
		return HTTP_ERR_OTHER;
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
		return HTTP_ERR_BAD_URL;
	default:
		return HTTP_ERR_OTHER;
	}
}

/* Keep an error text, with control bytes (server-chosen) replaced. */
static void
http_set_error(struct http_req *req, const char *text)
{
	char *p;

	free(req->error);
	req->error = xstrdup(text);
	for (p = req->error; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
			*p = '?';
	}
}

/* Read one CURLINFO_*_TIME_T value into *us (left at -1 if unknown). */
static void
http_timing(CURL *e, CURLINFO what, int64_t *us)
{
	curl_off_t t;

	if (curl_easy_getinfo(e, what, &t) == CURLE_OK && t > 0)
		*us = t;
}

/*
 * Keep the redirect target: the Location resolved against the request's
 * URL by libcurl's URL parser (RFC 3986 §5: a relative Location such as
 * "../autodiscover/autodiscover.xml" becomes a full URL), or the raw
 * Location when it holds bytes no URL may hold or cannot be resolved, so
 * that the caller's URL check names why it is refused.
 *
 * Not CURLINFO_REDIRECT_URL: libcurl resolves against its own copy of the
 * URL, into which it has put CURLOPT_USERNAME and CURLOPT_PASSWORD, so a
 * relative Location came back as https://user:password@host/… (the lab's
 * relloc case) and the password would reach steps, reports and the
 * journal. The request's URL never carries credentials (http_check_url).
 */
static void
http_collect_redirect(struct http_req *req)
{
	const char *loc = http_req_header(req, "Location");
	CURLU *u;
	char *url = NULL;

	if (loc == NULL)
		return;
	if ((u = curl_url()) == NULL)
		fatalx("curl_url: out of memory");
	if (http_url_bytes_refused(loc) == NULL &&
	    curl_url_set(u, CURLUPART_URL, req->url, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_URL, loc, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_URL, &url, 0) == CURLUE_OK)
		req->redirect_url = xstrdup(url);
	else
		req->redirect_url = xstrdup(loc);
	curl_free(url);
	curl_url_cleanup(u);
}

/* Copy what is kept of a finished transfer before its handle goes. */
static void
http_collect(struct http_req *req, CURLcode result)
{
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
	http_collect_redirect(req);
	http_timing(req->easy, CURLINFO_NAMELOOKUP_TIME_T,
	    &req->timings.dns_us);
	http_timing(req->easy, CURLINFO_CONNECT_TIME_T,
	    &req->timings.connect_us);
	http_timing(req->easy, CURLINFO_APPCONNECT_TIME_T,
	    &req->timings.tls_us);
	http_timing(req->easy, CURLINFO_STARTTRANSFER_TIME_T,
	    &req->timings.first_byte_us);
	http_timing(req->easy, CURLINFO_TOTAL_TIME_T, &req->timings.total_us);
	req->status = http_map(req, result);
	if (req->hook_failed)
		http_set_error(req, "the SSL_CTX hook refused the connection");
	else if (req->pin_violation)
		http_set_error(req,
		    "connected to an address that is not pinned");
	else if (result != CURLE_OK)
		http_set_error(req,
		    req->errbuf[0] != '\0' ? req->errbuf
		                           : curl_easy_strerror(result));
}

/*
 * Drain finished transfers: remove each handle (we are not inside a
 * libcurl callback here), then call its done callback. The callback may
 * free the request, cancel others or submit new ones: removing a handle
 * also drops its pending message, and nothing of msg is used after it.
 */
static void
http_check_done(void)
{
	struct http_req *req;
	CURLMsg *msg;
	CURLMcode mc;
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
		mc = curl_multi_remove_handle(http_multi, req->easy);
		if (mc != CURLM_OK)
			fatalx("curl_multi_remove_handle: %s",
			    curl_multi_strerror(mc));
		curl_easy_cleanup(req->easy);
		req->easy = NULL;
		TAILQ_REMOVE(&http_reqs, req, entry);
		req->state = HTTP_REQ_DONE;
		log_debug("%s %s: %s, code %ld", req->method, req->url,
		    http_status_name(req->status), req->code);
		req->done(req, req->done_arg);
	}
}

/*
 * Cancel: no callback will follow. Safe in any state, from user code and
 * from done callbacks; not from the SSL_CTX hook (a libcurl callback).
 */
void
http_req_cancel(struct http_req *req)
{
	CURLMcode mc;

	if (req == NULL)
		return;
	if (req->state != HTTP_REQ_RUNNING && req->state != HTTP_REQ_EARLY)
		return;
	if (http_in_curl)
		fatalx("http_req_cancel inside a libcurl callback");
	if (req->easy != NULL) {
		mc = curl_multi_remove_handle(http_multi, req->easy);
		if (mc != CURLM_OK)
			fatalx("curl_multi_remove_handle: %s",
			    curl_multi_strerror(mc));
		curl_easy_cleanup(req->easy);
		req->easy = NULL;
	}
	TAILQ_REMOVE(&http_reqs, req, entry);
	req->state = HTTP_REQ_CANCELLED;
	req->status = HTTP_ERR_CANCELLED;
}

/* Free everything a request holds. */
static void
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
	http_clear_headers(req);
	free(req);
}

/*
 * Free a request, cancelling it if it runs; NULL is a no-op. Safe inside
 * the request's own done callback (nothing touches it afterwards).
 */
void
http_req_free(struct http_req *req)
{
	if (req == NULL)
		return;
	http_req_cancel(req);
	if (req->queued) {
		/* The queued early delivery frees it instead. */
		req->freed = 1;
		return;
	}
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

/*
 * The redirect target of a response with a Location header (see
 * http_collect_redirect), or NULL.
 */
const char *
http_req_redirect_url(const struct http_req *req)
{
	return req->redirect_url;
}

/* "address:port" connected to ("[v6]:port"), or NULL. */
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

/* The transfer's timings (microseconds from the start; -1 = n/a). */
void
http_req_timings(const struct http_req *req, struct step_timings *t)
{
	*t = req->timings;
}

/* The status's name, used as a reason and in reports. */
const char *
http_status_name(enum http_status s)
{
	switch (s) {
	case HTTP_DONE:
		return "done";
	case HTTP_ERR_NOT_PINNED:
		return "not_pinned";
	case HTTP_ERR_BAD_URL:
		return "bad_url";
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
