/*
 * autodiscover_rules: owns the safety rules of a discovery, apart from
 * the walk (autodiscover.c): which hosts may be asked for a mailbox (and
 * get its credentials), which redirect targets and RedirectAddresses are
 * followed. Pure functions: the fuzzers drive them with hostile values.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "adxml.h"
#include "autodiscover.h"
#include "dns.h"
#include "http.h"
#include "strlist.h"
#include "xmalloc.h"

/*
 * Whether host may be asked with credentials for a mailbox in domain: the
 * domain itself, a name under it, or an allow-listed host. Never a parent
 * of the domain (the "autodiscover.<tld>" credential leak).
 */
int
autodiscover_host_allowed(const char *host, const char *domain,
    const struct strlist *allow)
{
	size_t hl = strlen(host), dl = strlen(domain);
	char *lower;
	int ps;

	/* A public suffix (co.uk) is nobody's autodiscover host. */
	lower = dns_lower(xstrdup(host));
	ps = dns_public_suffix(lower);
	free(lower);
	if (ps)
		return 0;
	if (strcasecmp(host, domain) == 0)
		return 1;
	if (hl > dl + 1 && host[hl - dl - 1] == '.' &&
	    strcasecmp(host + hl - dl, domain) == 0)
		return 1;
	return allow != NULL && strlist_has(allow, host);
}

/*
 * Why a redirect target URL is refused, or NULL: it must be a URL at all
 * (printable ASCII, http_url_split), https, and on a host that may be
 * asked for a mailbox in domain (autodiscover_host_allowed). Pure: the
 * fuzzer drives it with Location and RedirectUrl values.
 */
const char *
autodiscover_redirect_refused(const char *url, const char *domain,
    const struct strlist *allow)
{
	struct http_url u;
	const char *why;

	if ((why = http_url_split(url, &u)) != NULL)
		return why;
	if (strcmp(u.scheme, "https") != 0)
		why = "not https (redirect_not_https)";
	else if (!autodiscover_host_allowed(u.host, domain, allow))
		why =
		    "host outside the mailbox's domain and not in redirect_allow (redirect_host_not_allowed)";
	http_url_clear(&u);
	return why;
}

/*
 * Why a RedirectAddress to address is refused, or NULL to follow it. It
 * must be an address a request can carry (no white space or control
 * characters, UTF-8: the test is building one). Its domain must pass the
 * host policy against the mailbox's own domain home: that domain or under
 * it, or listed in redirect_allow (credentials go nowhere the admin did
 * not name), and never a public suffix. Pure: the fuzzer drives it.
 */
const char *
autodiscover_address_refused(const char *address, const char *home,
    const struct strlist *allow)
{
	const char *at = strrchr(address, '@'), *why = NULL;
	char *domain, *body;

	if (at == NULL || at == address || at[1] == '\0')
		return "not an SMTP address";
	if (strpbrk(address, " \t\r\n") != NULL ||
	    (body = adxml_pox_request(address)) == NULL)
		return "not an SMTP address (a space, a control character or bytes that are not UTF-8)";
	free(body);
	domain = dns_lower(xstrdup(at + 1));
	if (!dns_valid_hostname(domain))
		why = "not a DNS domain";
	else if (dns_public_suffix(domain))
		why = "a public suffix";
	else if (!autodiscover_host_allowed(domain, home, allow))
		why = "outside the mailbox's domain and not in redirect_allow";
	free(domain);
	return why;
}
