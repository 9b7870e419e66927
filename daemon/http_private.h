/*
 * http_private: the fields of a request and the functions the files of
 * the http module (http.c, http_req.c, http_resp.c, http_url.c) share.
 * Nothing outside those files includes it: http.h is the module's API.
 */
#ifndef EWSPROBED_HTTP_PRIVATE_H
#define EWSPROBED_HTTP_PRIVATE_H

#include <sys/queue.h>

#include <netinet/in.h>

#include <curl/curl.h>

#include "http.h"

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

/* http_req.c */
enum http_status http_req_check_url(struct http_req *);
CURLcode http_req_setup(struct http_req *);
void http_req_destroy(struct http_req *);

/* http_resp.c */
size_t http_resp_write_cb(char *, size_t, size_t, void *);
size_t http_resp_header_cb(char *, size_t, size_t, void *);
void http_resp_clear_headers(struct http_req *);
void http_resp_collect(struct http_req *, CURLcode);

/* http_url.c */
const char *http_url_bytes_refused(const char *);

#endif
