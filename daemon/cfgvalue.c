/*
 * cfgvalue: owns checking one value of the configuration file against its
 * syntax: durations, numbers, booleans, TLS versions, paths, DNS servers,
 * https URLs, host[:port], SMTP addresses, accounts and host lists.
 *
 * Each checker stores what it parsed, or reports the value (quoted, and
 * escaped by the reader) at the line being read and leaves the old value.
 * Which key takes which checker, and the defaults, are config.c's.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <pwd.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cfgread.h"
#include "cfgvalue.h"
#include "config.h"
#include "dns.h"
#include "ewsprobed-build.h"
#include "log.h"
#include "strlist.h"
#include "xmalloc.h"

/*
 * Parse "30s", "5m", "24h", "2d", "1500ms" (a bare number is seconds) into
 * *ms. Return 0, -1 when it is not a duration (or zero), or -2 when it
 * does not fit in 64 bits of milliseconds.
 */
static int
cfgvalue_parse_duration_any(const char *s, uint64_t *ms)
{
	unsigned long long n, mult;
	char *end;

	if (s == NULL || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (end == s || (n == 0 && errno == 0))
		return -1;
	if (*end == '\0' || strcmp(end, "s") == 0)
		mult = 1000;
	else if (strcmp(end, "ms") == 0)
		mult = 1;
	else if (strcmp(end, "m") == 0)
		mult = 60 * 1000;
	else if (strcmp(end, "h") == 0)
		mult = 3600 * 1000;
	else if (strcmp(end, "d") == 0)
		mult = 86400 * 1000;
	else
		return -1;
	if (errno != 0 || n > UINT64_MAX / mult)
		return -2;
	*ms = n * mult;
	return 0;
}

/*
 * Parse a duration of at most CONFIG_MAX_DURATION_MS; see cfgvalue.h. The
 * bound keeps every sum of durations (an interval plus its jitter, a
 * timestamp plus an interval) far from overflowing.
 */
int
cfgvalue_parse_duration(const char *s, uint64_t *ms)
{
	uint64_t v;

	if (cfgvalue_parse_duration_any(s, &v) != 0 ||
	    v > CONFIG_MAX_DURATION_MS)
		return -1;
	*ms = v;
	return 0;
}

/* Format a duration in ms the way the file would say it. */
void
cfgvalue_format_duration(char *buf, size_t size, uint64_t ms)
{
	if (ms % 86400000 == 0)
		snprintf(buf, size, "%" PRIu64 "d", ms / 86400000);
	else if (ms % 3600000 == 0)
		snprintf(buf, size, "%" PRIu64 "h", ms / 3600000);
	else if (ms % 60000 == 0)
		snprintf(buf, size, "%" PRIu64 "m", ms / 60000);
	else if (ms % 1000 == 0)
		snprintf(buf, size, "%" PRIu64 "s", ms / 1000);
	else
		snprintf(buf, size, "%" PRIu64 "ms", ms);
}

/* Parse a duration value into *ms within [min, max] ms, or report it. */
void
cfgvalue_duration(struct cfgread *rd, const char *key, const char *value,
    uint64_t min, uint64_t max, uint64_t *ms)
{
	char lo[32], hi[32];
	uint64_t v = 0;
	int r;

	if ((r = cfgvalue_parse_duration_any(value, &v)) == -1) {
		cfgread_error(rd, cfgread_line(rd), key,
		    "invalid duration '%s' (use e.g. 1500ms, 30s, 5m, 24h, 2d)",
		    value);
		return;
	}
	if (max > CONFIG_MAX_DURATION_MS)
		max = CONFIG_MAX_DURATION_MS;
	if (r != 0 || v < min || v > max) {
		cfgvalue_format_duration(lo, sizeof lo, min);
		cfgvalue_format_duration(hi, sizeof hi, max);
		cfgread_error(rd, cfgread_line(rd), key,
		    "duration '%s' out of range (%s to %s)", value, lo, hi);
		return;
	}
	*ms = v;
}

/* Parse an unsigned integer value within [min, max], or report it. */
void
cfgvalue_uint(struct cfgread *rd, const char *key, const char *value,
    unsigned int min, unsigned int max, unsigned int *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(value, &end, 10);
	if (!isdigit((unsigned char)*value) || *end != '\0' || errno != 0 ||
	    v < min || v > max) {
		cfgread_error(rd, cfgread_line(rd), key,
		    "invalid number '%s' (want %u to %u)", value, min, max);
		return;
	}
	*out = (unsigned int)v;
}

/* Parse a boolean value, or report it. */
void
cfgvalue_bool(struct cfgread *rd, const char *key, const char *value, int *out)
{
	if (strcasecmp(value, "yes") == 0 || strcasecmp(value, "true") == 0 ||
	    strcmp(value, "1") == 0 || strcasecmp(value, "on") == 0)
		*out = 1;
	else if (strcasecmp(value, "no") == 0 ||
	    strcasecmp(value, "false") == 0 || strcmp(value, "0") == 0 ||
	    strcasecmp(value, "off") == 0)
		*out = 0;
	else
		cfgread_error(rd, cfgread_line(rd), key,
		    "invalid boolean '%s' (use yes or no)", value);
}

/* Parse a TLS version "1.0".."1.3" into CONFIG_TLS_*, or report it. */
void
cfgvalue_tls(struct cfgread *rd, const char *key, const char *value, int *out)
{
	static const char *names[] = {"1.0", "1.1", "1.2", "1.3"};
	int i;

	for (i = 0; i < 4; i++) {
		if (strcmp(value, names[i]) == 0) {
			*out = CONFIG_TLS_1_0 + i;
			return;
		}
	}
	cfgread_error(rd, cfgread_line(rd), key,
	    "invalid TLS version '%s' (use 1.0, 1.1, 1.2 or 1.3)", value);
}

/* Whether s is an IPv4 or IPv6 address literal. */
static int
cfgvalue_is_ip(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 ||
	    inet_pton(AF_INET6, s, buf) == 1;
}

/*
 * Whether the unit's user (EWSPROBED_USER, in no other group; "other" when
 * it does not exist here) may use the file: read it, or read and search
 * it as a directory (want 4 or 5), or search it (want 1).
 */
static int
cfgvalue_service_may(const struct stat *sb, const struct passwd *pw,
    unsigned int want)
{
	unsigned int bits = sb->st_mode & 07;

	if (pw != NULL && sb->st_uid == pw->pw_uid)
		bits = (sb->st_mode >> 6) & 07;
	else if (pw != NULL && sb->st_gid == pw->pw_gid)
		bits = (sb->st_mode >> 3) & 07;
	return (bits & want) == want;
}

/*
 * -n run by root checks for the service, which runs as an unprivileged
 * user: it must be able to read the file (and list a directory) and to
 * search every directory above it. Return 1 when it can.
 */
static int
cfgvalue_service_readable(const char *path, const struct stat *sb)
{
	const struct passwd *pw = getpwnam(EWSPROBED_USER);
	char *dir, *slash;
	struct stat db;
	int ok;

	if (pw == NULL)
		return 1; /* no unit installed here: nothing to check against */
	ok = cfgvalue_service_may(sb, pw, S_ISDIR(sb->st_mode) ? 5 : 4);
	dir = xstrdup(path);
	while (ok && (slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		ok = stat(dir, &db) == 0 && cfgvalue_service_may(&db, pw, 1);
	}
	free(dir);
	return ok;
}

/*
 * Check a readable regular file (or, when dir_ok, a directory); with
 * for_service (-n as root), one the service's user can read too.
 */
void
cfgvalue_file(struct cfgread *rd, const char *key, const char *path, int dir_ok,
    int for_service)
{
	struct stat sb;

	if (path[0] != '/')
		cfgread_error(rd, cfgread_line(rd), key,
		    "'%s' is not an absolute path", path);
	else if (stat(path, &sb) != 0)
		cfgread_error(rd, cfgread_line(rd), key, "%s: %s", path,
		    strerror(errno));
	else if (S_ISDIR(sb.st_mode) && !dir_ok)
		cfgread_error(rd, cfgread_line(rd), key, "%s is a directory",
		    path);
	else if (!S_ISDIR(sb.st_mode) && !S_ISREG(sb.st_mode))
		cfgread_error(rd, cfgread_line(rd), key,
		    "%s is not a regular file", path);
	else if (access(path, R_OK | (S_ISDIR(sb.st_mode) ? X_OK : 0)) != 0)
		cfgread_error(rd, cfgread_line(rd), key, "%s: %s", path,
		    strerror(errno));
	else if (for_service && geteuid() == 0 &&
	    !cfgvalue_service_readable(path, &sb))
		cfgread_error(rd, cfgread_line(rd), key,
		    "%s: the service's user %s cannot read it: make it readable by that user or group, or by others (chmod o+r; o+x on its directories)",
		    path, EWSPROBED_USER);
}

/* Parse a port number, digits only; return it or -1. */
static long
cfgvalue_port(const char *s)
{
	long port = 0;

	if (*s == '\0' || strlen(s) > 5)
		return -1;
	for (; *s != '\0'; s++) {
		if (!isdigit((unsigned char)*s))
			return -1;
		port = port * 10 + (*s - '0');
	}
	return port >= 1 && port <= 65535 ? port : -1;
}

/* Check a DNS server list: addr, addr:port, [v6]:port. */
void
cfgvalue_dns_servers(struct cfgread *rd, const char *key, const char *value,
    struct strlist *l)
{
	char addr[64];
	const char *s, *colon, *end;
	size_t i, n;

	strlist_split(l, value);
	for (i = 0; i < l->n; i++) {
		s = l->items[i];
		if (s[0] == '[') {
			end = strchr(s, ']');
			n = end != NULL ? (size_t)(end - s - 1) : 0;
			if (end == NULL || n == 0 || n >= sizeof addr)
				goto bad;
			memcpy(addr, s + 1, n);
			addr[n] = '\0';
			colon = end[1] == ':' ? end + 1 : NULL;
			if (end[1] != '\0' && colon == NULL)
				goto bad;
		} else if ((colon = strchr(s, ':')) != NULL &&
		    strchr(colon + 1, ':') == NULL) {
			n = (size_t)(colon - s);
			if (n == 0 || n >= sizeof addr)
				goto bad;
			memcpy(addr, s, n);
			addr[n] = '\0';
		} else {
			colon = NULL;
			if (strlcpy(addr, s, sizeof addr) >= sizeof addr)
				goto bad;
		}
		if (colon != NULL && cfgvalue_port(colon + 1) < 0)
			goto bad;
		if (!cfgvalue_is_ip(addr) ||
		    (s[0] == '[' && strchr(addr, ':') == NULL))
			goto bad;
		continue;
	bad:
		cfgread_error(rd, cfgread_line(rd), key,
		    "invalid DNS server '%s' (use 192.0.2.53, 192.0.2.53:5353 or [2001:db8::53]:53)",
		    s);
	}
}

/*
 * Check a fixed EWS URL with curl's own URL parser: https only, a host, no
 * user or password in it.
 */
void
cfgvalue_https_url(struct cfgread *rd, const char *key, const char *value,
    char **out)
{
	CURLU *u;
	char *scheme = NULL, *host = NULL, *user = NULL, *password = NULL;
	const char *why = NULL;

	if ((u = curl_url()) == NULL)
		fatalx("curl_url: out of memory");
	/*
	 * curl's parser is lenient ("https:/host", "https:///host"): insist
	 * on the plain form first.
	 */
	if (strncasecmp(value, "https://", 8) != 0)
		why = "must be an https:// URL";
	else if (value[8] == '\0' || value[8] == '/')
		why = "has no host";
	else if (curl_url_set(u, CURLUPART_URL, value, 0) != CURLUE_OK)
		why = "is not a valid URL";
	else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    strcmp(scheme, "https") != 0)
		why = "must be an https:// URL";
	else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    host[0] == '\0')
		why = "has no host";
	else if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PASSWORD, &password, 0) == CURLUE_OK)
		why = "must not carry a user name or password";
	if (why != NULL)
		cfgread_error(rd, cfgread_line(rd), key, "'%s' %s", value, why);
	else {
		free(*out);
		*out = xstrdup(value);
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	curl_free(password);
	curl_url_cleanup(u);
}

/*
 * Check "host[:port]" (host a name, an IPv4 or a [IPv6]; port 443 when
 * not given) and store the host, lower-cased, and the port.
 */
void
cfgvalue_hostport(struct cfgread *rd, const char *key, const char *v,
    char **hostp, int *portp)
{
	char *host, *colon = NULL, *end;
	long port = 443;
	int ok;

	if (v[0] == '[') {
		host = xstrdup(v + 1);
		if ((end = strchr(host, ']')) == NULL ||
		    (end[1] != '\0' && end[1] != ':')) {
			cfgread_error(rd, cfgread_line(rd), key,
			    "invalid host '%s' (want host, host:port or [IPv6]:port)",
			    v);
			free(host);
			return;
		}
		*end = '\0';
		colon = end[1] == ':' ? end + 1 : NULL;
		ok = strchr(host, ':') != NULL && cfgvalue_is_ip(host);
	} else {
		host = xstrdup(v);
		/* One colon: host:port; more: a bare IPv6 address. */
		if ((colon = strchr(host, ':')) != NULL &&
		    strchr(colon + 1, ':') != NULL)
			colon = NULL;
		if (colon != NULL)
			*colon = '\0';
		ok = dns_valid_hostname(host) || cfgvalue_is_ip(host);
	}
	if (colon != NULL && (port = cfgvalue_port(colon + 1)) < 0) {
		cfgread_error(rd, cfgread_line(rd), key,
		    "invalid port in '%s' (want 1 to 65535)", v);
		free(host);
		return;
	}
	if (!ok)
		cfgread_error(rd, cfgread_line(rd), key,
		    "invalid host '%s' (want host, host:port or [IPv6]:port)",
		    v);
	else {
		dns_lower(host);
		free(*hostp);
		*hostp = xstrdup(host);
		*portp = (int)port;
	}
	free(host);
}

/*
 * The last domain an address= passed the checks with: the checks depend on
 * the name alone, and the mailboxes of a file mostly share a few domains
 * (10,000 public-suffix look-ups were a tenth of a reload's parse).
 */
static char cfgvalue_last_domain[256];

/*
 * Whether domain (lower case, no final dot; of address v) can be a
 * mailbox's: a DNS name, not an address literal, not an all-numeric top
 * label, not a public suffix. Report why not.
 */
static int
cfgvalue_mail_domain(struct cfgread *rd, const char *key, const char *v,
    const char *domain)
{
	const char *tld = strrchr(domain, '.');

	/* The cache starts empty: an empty domain is never taken as known. */
	if (domain[0] != '\0' && strcmp(domain, cfgvalue_last_domain) == 0)
		return 1;
	if (!dns_valid_hostname(domain) || tld == NULL ||
	    strspn(tld + 1, "0123456789") == strlen(tld + 1) ||
	    cfgvalue_is_ip(domain)) {
		cfgread_error(rd, cfgread_line(rd), key,
		    "'%s' does not end in a DNS domain name", v);
		return 0;
	}
	if (dns_public_suffix(domain)) {
		cfgread_error(rd, cfgread_line(rd), key,
		    "'%s': %s is a public suffix; autodiscover there would ask strangers",
		    v, domain);
		return 0;
	}
	if (strlen(domain) < sizeof cfgvalue_last_domain)
		memcpy(cfgvalue_last_domain, domain, strlen(domain) + 1);
	return 1;
}

/*
 * Check and store address=: local@domain. The domain is stored lower-cased
 * and without a trailing dot, in domain and in the address; it must be a DNS
 * name (not an address literal, not an all-numeric top label).
 */
void
cfgvalue_address(struct cfgread *rd, const char *key, const char *v,
    char **addressp, char **domainp)
{
	const char *at = strchr(v, '@'), *p;
	size_t local = (size_t)(at != NULL ? at - v : 0), len;
	char *domain;

	if (at == NULL || at == v || strchr(at + 1, '@') != NULL ||
	    at - v > 64 || strlen(v) > 254) {
		cfgread_error(rd, cfgread_line(rd), key,
		    "'%s' is not an SMTP address (want user@domain)", v);
		return;
	}
	for (p = v; p < at; p++) {
		if ((unsigned char)*p <= ' ' ||
		    strchr("\"(),:;<>[\\]", *p) != NULL ||
		    (unsigned char)*p >= 0x7f ||
		    (*p == '.' && (p == v || p + 1 == at || p[1] == '.'))) {
			cfgread_error(rd, cfgread_line(rd), key,
			    "'%s' has a local part that is not a plain dot-atom",
			    v);
			return;
		}
	}
	domain = xstrdup(at + 1);
	len = strlen(domain);
	if (len > 0 && domain[len - 1] == '.')
		domain[--len] = '\0';
	dns_lower(domain);
	if (!cfgvalue_mail_domain(rd, key, v, domain)) {
		free(domain);
		return;
	}
	free(*addressp);
	free(*domainp);
	*addressp = xmalloc(local + 1 + len + 1);
	memcpy(*addressp, v, local);
	(*addressp)[local] = '@';
	memcpy(*addressp + local + 1, domain, len + 1);
	*domainp = domain;
}

/* Check account=: DOMAIN\user or user@upn-suffix. */
void
cfgvalue_account(struct cfgread *rd, const char *key, const char *v,
    char **accountp)
{
	const char *bs = strchr(v, '\\'), *at = strchr(v, '@');
	const char *p;

	for (p = v; *p != '\0'; p++) {
		if ((unsigned char)*p < ' ' || *p == ':') {
			cfgread_error(rd, cfgread_line(rd), key,
			    "invalid characters in account '%s'", v);
			return;
		}
	}
	if ((bs != NULL &&
	        (bs == v || bs[1] == '\0' || strchr(bs + 1, '\\') != NULL ||
	            at != NULL)) ||
	    (bs == NULL && (at == NULL || at == v || at[1] == '\0'))) {
		cfgread_error(rd, cfgread_line(rd), key,
		    "'%s' is neither DOMAIN\\user nor user@domain", v);
		return;
	}
	free(*accountp);
	*accountp = xstrdup(v);
}

/*
 * Check a list of host names (comma- or space-separated) into l, each
 * lower-cased: a DNS name that is not a public suffix.
 */
void
cfgvalue_hosts(struct cfgread *rd, const char *key, const char *value,
    struct strlist *l)
{
	size_t i;

	strlist_split(l, value);
	for (i = 0; i < l->n; i++) {
		dns_lower(l->items[i]);
		if (!dns_valid_hostname(l->items[i]))
			cfgread_error(rd, cfgread_line(rd), key,
			    "invalid host name '%s'", l->items[i]);
		else if (dns_public_suffix(l->items[i]))
			cfgread_error(rd, cfgread_line(rd), key,
			    "'%s' is a public suffix", l->items[i]);
	}
}
