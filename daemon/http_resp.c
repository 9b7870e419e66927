/*
 * http_resp: owns what comes back from a request — the body and the last
 * response's headers, kept within their caps; what is copied from the
 * finished transfer (code, address, redirect target, timings); the
 * conversion of libcurl's result into enum http_status; and the getters.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "http.h"
#include "http_private.h"
#include "log.h"
#include "xmalloc.h"

/* CURLOPT_WRITEFUNCTION: keep the body, refuse beyond the cap. */
size_t
http_resp_write_cb(char *data, size_t size, size_t n, void *arg)
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
void
http_resp_clear_headers(struct http_req *req)
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
		http_resp_clear_headers(req);
	else
		http_keep_header(req, data, len);
	return 0;
}

/* CURLOPT_HEADERFUNCTION: http_req_feed_header; 0 aborts the transfer. */
size_t
http_resp_header_cb(char *data, size_t size, size_t n, void *arg)
{
	size_t len = size * n;

	return http_req_feed_header(arg, data, len) == 0 ? len : 0;
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
 * journal. The request's URL never carries credentials (http_req_check_url).
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
void
http_resp_collect(struct http_req *req, CURLcode result)
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
