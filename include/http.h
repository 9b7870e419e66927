/*
 * http: HTTP(S) requests on the daemon's event loop through one libcurl
 * multi handle (multi-socket API).
 *
 * A request is built with the setters, submitted once, and completes once
 * through its done callback (never inside a libcurl callback, never inside
 * the submitter's stack); http_req_cancel() guarantees no later callback.
 * Every request opens a fresh connection, closes it afterwards and never
 * resumes a TLS session, so each one judges a real, full handshake.
 * Requests never follow redirects (http_req_redirect_url gives the
 * target, resolved) and never resolve names: the caller pins
 * the addresses it looked up with dns, and a request whose host is not
 * pinned (or that connects anywhere else) fails. Library codes are
 * converted here into enum http_status; strings returned by getters are
 * borrowed and live as long as the request.
 *
 * The module is four files, one concept each: http.c (the multi handle on
 * the loop, a request's lifecycle), http_req.c (building a request, its
 * libcurl options), http_resp.c (what comes back, its classification),
 * http_url.c (which URLs are usable).
 */
#ifndef EWSPROBED_HTTP_H
#define EWSPROBED_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "step.h"

enum http_status {
	HTTP_DONE, /* a response was received (any HTTP code) */
	HTTP_ERR_NOT_PINNED, /* the URL's host had no pinned address */
	HTTP_ERR_BAD_URL, /* malformed, has credentials, scheme refused */
	HTTP_ERR_CONNECT, /* TCP connect refused or unreachable */
	HTTP_ERR_CONNECT_TIMEOUT, /* TCP connect did not complete in time */
	HTTP_ERR_TIMEOUT, /* the whole request took too long */
	HTTP_ERR_STALLED, /* below the low-speed limit too long */
	HTTP_ERR_TLS_VERSION, /* no TLS version in common */
	HTTP_ERR_TLS_HANDSHAKE, /* other TLS handshake failure */
	HTTP_ERR_TLS_VERIFY, /* the peer's certificate was refused */
	HTTP_ERR_TOO_LARGE, /* body above the cap */
	HTTP_ERR_HEADERS_TOO_LARGE, /* headers above the cap */
	HTTP_ERR_PROTOCOL, /* not HTTP, reset, malformed */
	HTTP_ERR_CANCELLED,
	HTTP_ERR_OTHER,
};

/* A URL's parts (http_url_split); strings owned, freed by http_url_clear. */
struct http_url {
	char *scheme; /* lower case */
	char *host;
	int port; /* the scheme's default when the URL names none */
	int credentials; /* the URL carries a user name or password */
};

struct http_req;
typedef void (*http_done_cb)(struct http_req *, void *);
/*
 * Called with the connection's SSL_CTX (an OpenSSL SSL_CTX *) before the
 * handshake; return 0 to go on, anything else to fail the request.
 */
typedef int (*http_ssl_ctx_cb)(void *, void *);

void http_init(void);
void http_shutdown(void);

/* Building (before http_req_submit only). */
struct http_req *http_req_new(const char *, const char *);
void http_req_add_header(struct http_req *, const char *);
void http_req_set_body(struct http_req *, const char *, size_t);
void http_req_pin(struct http_req *, const char *, int, const char *);
void http_req_set_timeouts(struct http_req *, long, long, long, long);
void http_req_set_limits(struct http_req *, size_t, size_t);
void http_req_allow_http(struct http_req *);
void http_req_set_tls(struct http_req *, int, int, const char *);
void http_req_set_ssl_ctx(struct http_req *, http_ssl_ctx_cb, void *);
void http_req_set_verify(struct http_req *, int, int);
void http_req_set_cafile(struct http_req *, const char *);
void http_req_set_ca_pem(struct http_req *, const char *, size_t);
void http_req_set_ntlm(struct http_req *, const char *, const char *);
void http_req_set_basic(struct http_req *, const char *, const char *);

/* Running. */
void http_req_submit(struct http_req *, http_done_cb, void *);
void http_req_cancel(struct http_req *);
void http_req_free(struct http_req *);

/* Results (valid once the done callback runs). */
enum http_status http_req_status(const struct http_req *);
const char *http_req_error(const struct http_req *);
long http_req_code(const struct http_req *);
const char *http_req_body(const struct http_req *, size_t *);
size_t http_req_header_values(const struct http_req *, const char *,
    const char **, size_t);
const char *http_req_header(const struct http_req *, const char *);
const char *http_req_redirect_url(const struct http_req *);
const char *http_req_address(const struct http_req *);
const char *http_req_tls_version(const struct http_req *);
const char *http_req_url(const struct http_req *);
void http_req_timings(const struct http_req *, struct step_timings *);
const char *http_status_name(enum http_status);
const char *http_url_refused(const char *);
const char *http_url_split(const char *, struct http_url *);
void http_url_clear(struct http_url *);
int http_req_feed_header(struct http_req *, const char *, size_t);

#endif
