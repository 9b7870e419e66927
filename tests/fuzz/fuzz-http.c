/*
 * libFuzzer harness for an HTTP response as the daemon reads it: the
 * status line and header lines go through http_req_feed_header (what
 * libcurl's header callback calls), then Location is judged as a redirect
 * (http_url_refused, autodiscover_redirect_refused), WWW-Authenticate as
 * auth offers (ews_auth_schemes), and the body as an Autodiscover answer
 * whose RedirectUrl / RedirectAddress are judged the same way. Whatever
 * passes a check must be usable by the next stage: a URL or address the
 * checks admit can always be written into an Autodiscover request (the
 * fatalx of issue 12 item 3 was the opposite).
 *
 * Input: header lines separated by "\n" up to an empty line, then the
 * body. The first line is also tried as the mailbox address.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "adxml.h"
#include "autodiscover.h"
#include "ews.h"
#include "http.h"
#include "xmlsafe.h"

/* Stop at the first broken invariant with a clear crash. */
#define CHECK(c) \
	do { \
		if (!(c)) \
			__builtin_trap(); \
	} while (0)

#define FUZZ_DOMAIN "contoso.com"
#define FUZZ_ADDRESS "lab@contoso.com"

int LLVMFuzzerInitialize(int *, char ***);
int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* A URL that passed http_url_refused is printable ASCII with no space. */
static void
fuzz_url_is_printable(const char *url)
{
	const unsigned char *p;

	for (p = (const unsigned char *)url; *p != '\0'; p++)
		CHECK(*p > 0x20 && *p < 0x7f);
}

/* Judge a redirect target as autodiscover does; check what it admits. */
static void
fuzz_redirect(const char *url)
{
	char *body;

	if (http_url_refused(url) == NULL)
		fuzz_url_is_printable(url);
	if (autodiscover_redirect_refused(url, FUZZ_DOMAIN, NULL) != NULL)
		return;
	CHECK(http_url_refused(url) == NULL);
	CHECK(strncasecmp(url, "https:", 6) == 0);
	/* The next stage builds the request: it must never fail now. */
	body = adxml_soap_request(url, FUZZ_ADDRESS);
	CHECK(body != NULL);
	free(body);
}

/* Judge a RedirectAddress as autodiscover does; check what it admits. */
static void
fuzz_address(const char *address)
{
	char *body;

	if (autodiscover_address_refused(address, FUZZ_DOMAIN, NULL) != NULL)
		return;
	CHECK(strpbrk(address, " \t\r\n") == NULL);
	body = adxml_pox_request(address);
	CHECK(body != NULL);
	free(body);
	body = adxml_soap_request("https://autodiscover.contoso.com/"
	                          "autodiscover/autodiscover.svc",
	    address);
	CHECK(body != NULL);
	free(body);
}

/* The auth offers of the 401 headers. */
static void
fuzz_auth(const struct http_req *req)
{
	const char *values[16];
	size_t n;
	int bits;
	char *names;

	n = http_req_header_values(req, "WWW-Authenticate", values, 16);
	bits = ews_auth_schemes(values, n);
	CHECK((bits &
	          ~(EWS_AUTH_NTLM | EWS_AUTH_NEGOTIATE | EWS_AUTH_BASIC |
	              EWS_AUTH_BEARER | EWS_AUTH_OTHER)) == 0);
	CHECK(n > 0 || bits == 0);
	names = ews_auth_names(bits);
	CHECK(names != NULL && names[0] != '\0');
	free(names);
}

/* The body as an Autodiscover answer; its redirect targets judged. */
static void
fuzz_body(const char *body, size_t len)
{
	struct adxml_result *r;

	r = adxml_parse(body, len);
	if (r->outcome == ADXML_REDIRECT_URL)
		fuzz_redirect(r->redirect_target);
	else if (r->outcome == ADXML_REDIRECT_ADDRESS)
		fuzz_address(r->redirect_target);
	if (r->internal_ews_url != NULL &&
	    http_url_refused(r->internal_ews_url) == NULL)
		fuzz_url_is_printable(r->internal_ews_url);
	adxml_result_free(r);
}

/* Set libxml2 up once, as the daemon does. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	xmlsafe_init();
	return 0;
}

/* Read one response: headers, then body; check every stage. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *nl;
	struct http_req *req;
	const char *loc;
	char *copy, *first = NULL;
	size_t len;

	req = http_req_new("POST",
	    "https://autodiscover.contoso.com/autodiscover/autodiscover.svc");
	http_req_set_limits(req, 1u << 20, 64u << 10);
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		len = nl != NULL ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		if (first == NULL)
			first = strndup(p, nl != NULL ? len - 1 : len);
		if (len == 1 || (len == 2 && p[0] == '\r')) {
			p += len;
			break; /* the empty line ends the headers */
		}
		if (http_req_feed_header(req, p, len) != 0)
			break;
		p += len;
	}
	if ((loc = http_req_header(req, "Location")) != NULL)
		fuzz_redirect(loc);
	fuzz_auth(req);
	if (first != NULL)
		fuzz_address(first);
	free(first);
	http_req_free(req);
	/* The body, as the daemon holds it: NUL-terminated. */
	len = (size_t)(end - p);
	if ((copy = malloc(len + 1)) == NULL)
		abort();
	memcpy(copy, p, len);
	copy[len] = '\0';
	fuzz_body(copy, len);
	free(copy);
	return 0;
}
