/*
 * http_url: owns which URLs ewsprobed will use — printable ASCII, parsed
 * by libcurl, with a host — and their parts (scheme, host, port, whether
 * they carry credentials). Pure: servers' Location headers, RedirectUrls
 * and EWS URLs all pass through it.
 */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "http.h"
#include "http_private.h"
#include "log.h"
#include "xmalloc.h"

/*
 * Why text cannot be a URL byte-wise, or NULL: a URL is printable ASCII
 * (RFC 3986 §2). A control character, a space or a byte above 0x7e is
 * refused whatever libcurl's parser would make of it (it passes 0xff
 * through), so that such bytes never reach a request, an XML body or a
 * report as a URL.
 */
const char *
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
