/*
 * config: owns reading ewsprobed.conf (through inih), checking every value,
 * loading credentials, and the lifetime of the resulting immutable object.
 *
 * inih as Debian builds it does not tell its handler the line number and
 * reports only the first syntax error, so the file is fed to inih through
 * our own line reader (config_reader). The reader counts lines, sees every
 * section header (inih does not announce sections), and notes lines inih
 * would reject or misread, so that every problem is reported with its
 * file:line. Problems are collected, sorted by line and returned together;
 * a configuration with any problem is never handed out.
 *
 * Passwords are read here and nowhere else; no message ever contains one.
 */
#include <sys/stat.h>

#include <pwd.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <ini.h>

#include "config.h"
#include "dns.h"
#include "ewsprobed-build.h"
#include "log.h"
#include "textsafe.h"
#include "xmalloc.h"

#define CONFIG_MAX_PASSWORD 1024
#define CONFIG_MAX_ERRORS 200 /* shown */
#define CONFIG_KEEP_ERRORS 10000 /* kept to sort */

/*
 * What one file may cost. A reload runs on the event loop, so the work a
 * file can cause is bounded: every check is linear (hash sets, no pairwise
 * comparisons), and the file, its sections and their keys are capped. The
 * caps are far above any real file: a mailbox takes 60-200 bytes, so 8 MiB
 * holds the 50,000 sections the section cap allows, with ten keys each;
 * a mailbox has one profile, or a few.
 */
#define CONFIG_MAX_FILE (8 * 1024 * 1024) /* bytes */
#define CONFIG_MAX_SECTIONS 50000
#define CONFIG_MAX_KEYS 500000 /* key lines in the file */
#define CONFIG_MAX_MBOX_PROFILES 16

enum config_section {
	CONFIG_SECTION_NONE, /* before the first section */
	CONFIG_SECTION_DAEMON,
	CONFIG_SECTION_PROFILE,
	CONFIG_SECTION_MAILBOX,
	CONFIG_SECTION_BAD, /* unknown or duplicate: keys ignored */
};

/* What a mailbox section said, before its references are resolved. */
struct config_mbox_draft {
	char *profiles; /* the profiles= value, or NULL */
	int sline; /* line of the section header */
	int profiles_line; /* line of profiles=, or 0 */
	int cred_line; /* line of credential=, or 0 */
	int address_given; /* address= seen, valid or not */
	int account_given; /* account= seen, valid or not */
};

/* One problem found, kept until the load ends and they are sorted. */
struct config_err {
	int line; /* 0: about the whole file; -1: a cap was hit */
	size_t seq; /* order found, to keep the sort stable */
	char *text; /* the full line, without "\n" */
};

/* A slot of a config_set: a string and what it stands for. */
struct config_slot {
	char *key; /* NULL: free */
	void *value;
};

/*
 * A set of strings (open addressing) with a value each: duplicate
 * sections and keys and profile names are found in constant time.
 */
struct config_set {
	struct config_slot *slots;
	size_t size; /* a power of two, or 0 */
	size_t n;
};

/* The state of one load. */
struct config_parse {
	const char *path;
	int flags; /* CONFIG_LOAD_* */
	FILE *fp;
	int lineno;
	int read_errno; /* set when reading the file failed */
	struct config *cfg;
	/* every problem found */
	struct config_err *errs;
	size_t nerrs; /* kept in errs */
	size_t nfound; /* found, kept or not */
	/* the current section */
	enum config_section kind;
	char *sname; /* "daemon", "profile X", ... */
	int sline;
	int tls_line; /* last tls_min/tls_max line of this section */
	struct config_profile *profile;
	struct config_mailbox *mailbox;
	struct config_mbox_draft *draft;
	struct config_set keys; /* keys seen in this section */
	size_t nkeys; /* key lines in the file */
	struct config_set sections; /* every section header seen */
	size_t nsections;
	struct config_set profiles; /* name -> struct config_profile */
	struct config_mbox_draft **drafts; /* parallel to cfg->mailboxes */
};

static void config_format_duration(char *, size_t, uint64_t);

/*
 * The command-line option of --once that sets a key (CONFIG_LOAD_CMDLINE):
 * its errors name the option the user wrote, not a line of a file the
 * user never saw.
 */
static const char *
config_cmdline_option(const char *key)
{
	static const char *map[][2] = {
	    {"address", "--address"},
	    {"account", "--account"},
	    {"credential", "--password-file"},
	    {"frontend", "--frontend"},
	    {"frontend_ca", "--frontend-ca"},
	    {"web_trusted_ca", "--trust-ca"},
	    {"ews_internal_url", "--ews-url"},
	    {"ews_external_url", "--ews-external-url"},
	    {"dns_servers", "--dns-server"},
	    {"system_store", "--system-store"},
	};
	size_t i;

	for (i = 0; i < sizeof map / sizeof map[0]; i++) {
		if (strcmp(map[i][0], key) == 0)
			return map[i][1];
	}
	return key;
}

/* Record one problem, formatted, at a line (0: the whole file). */
static void config_error_at(struct config_parse *cp, int line, const char *key,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
config_error_at(struct config_parse *cp, int line, const char *key,
    const char *fmt, ...)
{
	struct config_err *e;
	char *msg;
	va_list ap;

	/* A cap that was hit is always kept: it explains what follows. */
	if (cp->nfound++ >= CONFIG_KEEP_ERRORS && line >= 0)
		return;
	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	cp->errs = xreallocarray(cp->errs, cp->nerrs + 1, sizeof *cp->errs);
	e = &cp->errs[cp->nerrs++];
	e->line = line > 0 ? line : line < 0 ? -1 : 0;
	e->seq = cp->nerrs;
	if ((cp->flags & CONFIG_LOAD_CMDLINE) != 0 && key != NULL)
		xasprintf(&e->text, "%s: %s: %s", cp->path,
		    config_cmdline_option(key), msg);
	else if ((cp->flags & CONFIG_LOAD_CMDLINE) != 0 || line <= 0)
		xasprintf(&e->text, "%s: %s", cp->path, msg);
	else if (cp->sname == NULL)
		xasprintf(&e->text, "%s:%d: %s", cp->path, line, msg);
	else if (key == NULL)
		xasprintf(&e->text, "%s:%d: [%s]: %s", cp->path, line,
		    cp->sname, msg);
	else
		xasprintf(&e->text, "%s:%d: [%s] %s: %s", cp->path, line,
		    cp->sname, key, msg);
	free(msg);
	/*
	 * Messages quote the file (and the path from the command line), and
	 * go to the terminal and the journal: what they quote is escaped as
	 * every other text from outside (textsafe).
	 */
	msg = e->text;
	e->text = textsafe(msg);
	free(msg);
}

/*
 * Order errors by line, caps that were hit first, file-wide ones last,
 * then as found.
 */
static int
config_err_cmp(const void *a, const void *b)
{
	const struct config_err *x = a, *y = b;

	if (x->line != y->line && (x->line < 0 || y->line < 0))
		return x->line < 0 ? -1 : 1;
	if (x->line != y->line) {
		if (x->line == 0 || y->line == 0)
			return x->line == 0 ? 1 : -1;
		return x->line < y->line ? -1 : 1;
	}
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sort the errors and join them into one string, one per line. */
static char *
config_errors_join(struct config_parse *cp)
{
	char *out = NULL, *more = NULL;
	size_t i, len = 0, n, shown;

	qsort(cp->errs, cp->nerrs, sizeof *cp->errs, config_err_cmp);
	shown = cp->nerrs < CONFIG_MAX_ERRORS ? cp->nerrs : CONFIG_MAX_ERRORS;
	if (cp->nfound > shown)
		xasprintf(&more, "%s: %zu more errors not shown", cp->path,
		    cp->nfound - shown);
	for (i = 0; i <= shown; i++) {
		const char *t = i < shown ? cp->errs[i].text : more;

		if (t == NULL)
			continue;
		n = strlen(t);
		out = xreallocarray(out, len + n + 2, 1);
		memcpy(out + len, t, n);
		out[len + n] = '\n';
		len += n + 1;
		out[len] = '\0';
	}
	for (i = 0; i < cp->nerrs; i++)
		free(cp->errs[i].text);
	free(cp->errs);
	free(more);
	return out;
}

/*
 * FNV-1a hash of a string: the same on every run and machine (the
 * scheduler's stable offsets use it too).
 */
uint32_t
config_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The slot of s in a set: where it is, or the free slot it would take. */
static struct config_slot *
config_set_slot(const struct config_set *set, const char *s)
{
	size_t i = config_hash(s) & (set->size - 1);

	for (; set->slots[i].key != NULL; i = (i + 1) & (set->size - 1)) {
		if (strcmp(set->slots[i].key, s) == 0)
			break;
	}
	return &set->slots[i];
}

/* Whether s is in the set. */
static int
config_set_has(const struct config_set *set, const char *s)
{
	return set->size != 0 && config_set_slot(set, s)->key != NULL;
}

/* The value stored with s, or NULL when s is not in the set. */
static void *
config_set_get(const struct config_set *set, const char *s)
{
	return config_set_has(set, s) ? config_set_slot(set, s)->value : NULL;
}

/* Add s with a value to a set; return 0 if it was there already. */
static int
config_set_add(struct config_set *set, const char *s, void *value)
{
	struct config_slot *old, *slot;
	size_t i, oldsize;

	if (set->n + 1 > set->size / 2) {
		old = set->slots;
		oldsize = set->size;
		set->size = oldsize == 0 ? 64 : oldsize * 2;
		set->slots = xcalloc(set->size, sizeof *set->slots);
		for (i = 0; i < oldsize; i++) {
			if (old[i].key != NULL)
				*config_set_slot(set, old[i].key) = old[i];
		}
		free(old);
	}
	slot = config_set_slot(set, s);
	if (slot->key != NULL)
		return 0;
	slot->key = xstrdup(s);
	slot->value = value;
	set->n++;
	return 1;
}

/* Empty a set (the values are not owned). */
static void
config_set_clear(struct config_set *set)
{
	size_t i;

	for (i = 0; i < set->size; i++)
		free(set->slots[i].key);
	free(set->slots);
	memset(set, 0, sizeof *set);
}

/* Append a copy of s to a list. */
void
config_strlist_add(struct config_strlist *l, const char *s)
{
	l->items = xreallocarray(l->items, l->n + 1, sizeof *l->items);
	l->items[l->n++] = xstrdup(s);
}

/* Free a list's strings, leaving it empty. */
void
config_strlist_clear(struct config_strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

/* Whether a list holds s, compared without regard to case. */
int
config_strlist_has(const struct config_strlist *l, const char *s)
{
	size_t i;

	for (i = 0; l != NULL && i < l->n; i++) {
		if (strcasecmp(l->items[i], s) == 0)
			return 1;
	}
	return 0;
}

/*
 * Split a comma- or space-separated value into l (replacing it). Return
 * the number of items.
 */
static size_t
config_split(const char *value, struct config_strlist *l)
{
	char *copy, *p, *tok;

	config_strlist_clear(l);
	copy = xstrdup(value);
	for (p = copy; (tok = strsep(&p, ", \t")) != NULL;) {
		if (*tok != '\0')
			config_strlist_add(l, tok);
	}
	free(copy);
	return l->n;
}

/*
 * Parse "30s", "5m", "24h", "2d", "1500ms" (a bare number is seconds) into
 * *ms. Return 0, -1 when it is not a duration (or zero), or -2 when it
 * does not fit in 64 bits of milliseconds.
 */
static int
config_parse_duration_any(const char *s, uint64_t *ms)
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
 * Parse a duration of at most CONFIG_MAX_DURATION_MS; see config.h. The
 * bound keeps every sum of durations (an interval plus its jitter, a
 * timestamp plus an interval) far from overflowing.
 */
int
config_parse_duration(const char *s, uint64_t *ms)
{
	uint64_t v;

	if (config_parse_duration_any(s, &v) != 0 || v > CONFIG_MAX_DURATION_MS)
		return -1;
	*ms = v;
	return 0;
}

/* Parse a duration value into *ms within [min, max] ms, or report it. */
static void
config_duration(struct config_parse *cp, const char *key, const char *value,
    uint64_t min, uint64_t max, uint64_t *ms)
{
	char lo[32], hi[32];
	uint64_t v = 0;
	int r;

	if ((r = config_parse_duration_any(value, &v)) == -1) {
		config_error_at(cp, cp->lineno, key,
		    "invalid duration '%s' (use e.g. 1500ms, 30s, 5m, 24h, 2d)",
		    value);
		return;
	}
	if (max > CONFIG_MAX_DURATION_MS)
		max = CONFIG_MAX_DURATION_MS;
	if (r != 0 || v < min || v > max) {
		config_format_duration(lo, sizeof lo, min);
		config_format_duration(hi, sizeof hi, max);
		config_error_at(cp, cp->lineno, key,
		    "duration '%s' out of range (%s to %s)", value, lo, hi);
		return;
	}
	*ms = v;
}

/* Parse an unsigned integer value within [min, max], or report it. */
static void
config_uint(struct config_parse *cp, const char *key, const char *value,
    unsigned int min, unsigned int max, unsigned int *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(value, &end, 10);
	if (!isdigit((unsigned char)*value) || *end != '\0' || errno != 0 ||
	    v < min || v > max) {
		config_error_at(cp, cp->lineno, key,
		    "invalid number '%s' (want %u to %u)", value, min, max);
		return;
	}
	*out = (unsigned int)v;
}

/* Parse a boolean value, or report it. */
static void
config_bool(struct config_parse *cp, const char *key, const char *value,
    int *out)
{
	if (strcasecmp(value, "yes") == 0 || strcasecmp(value, "true") == 0 ||
	    strcmp(value, "1") == 0 || strcasecmp(value, "on") == 0)
		*out = 1;
	else if (strcasecmp(value, "no") == 0 ||
	    strcasecmp(value, "false") == 0 || strcmp(value, "0") == 0 ||
	    strcasecmp(value, "off") == 0)
		*out = 0;
	else
		config_error_at(cp, cp->lineno, key,
		    "invalid boolean '%s' (use yes or no)", value);
}

/* Parse a TLS version "1.0".."1.3" into CONFIG_TLS_*, or report it. */
static void
config_tls(struct config_parse *cp, const char *key, const char *value,
    int *out)
{
	static const char *names[] = {"1.0", "1.1", "1.2", "1.3"};
	int i;

	for (i = 0; i < 4; i++) {
		if (strcmp(value, names[i]) == 0) {
			*out = CONFIG_TLS_1_0 + i;
			return;
		}
	}
	config_error_at(cp, cp->lineno, key,
	    "invalid TLS version '%s' (use 1.0, 1.1, 1.2 or 1.3)", value);
}

/* Whether s is an IPv4 or IPv6 address literal. */
static int
config_is_ip(const char *s)
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
config_service_may(const struct stat *sb, const struct passwd *pw,
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
config_service_readable(const char *path, const struct stat *sb)
{
	const struct passwd *pw = getpwnam(EWSPROBED_USER);
	char *dir, *slash;
	struct stat db;
	int ok;

	if (pw == NULL)
		return 1; /* no unit installed here: nothing to check against */
	ok = config_service_may(sb, pw, S_ISDIR(sb->st_mode) ? 5 : 4);
	dir = xstrdup(path);
	while (ok && (slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		ok = stat(dir, &db) == 0 && config_service_may(&db, pw, 1);
	}
	free(dir);
	return ok;
}

/*
 * Whether the unit's user could read path as its owner: it owns it, or it
 * does not exist here (no unit installed: nothing to check against).
 */
static int
config_service_owns(const char *path)
{
	const struct passwd *pw = getpwnam(EWSPROBED_USER);
	struct stat sb;

	return pw == NULL || (lstat(path, &sb) == 0 && sb.st_uid == pw->pw_uid);
}

/* Check a readable regular file (or, when dir_ok, a directory). */
static void
config_file(struct config_parse *cp, const char *key, const char *path,
    int dir_ok)
{
	struct stat sb;

	if (path[0] != '/')
		config_error_at(cp, cp->lineno, key,
		    "'%s' is not an absolute path", path);
	else if (stat(path, &sb) != 0)
		config_error_at(cp, cp->lineno, key, "%s: %s", path,
		    strerror(errno));
	else if (S_ISDIR(sb.st_mode) && !dir_ok)
		config_error_at(cp, cp->lineno, key, "%s is a directory", path);
	else if (!S_ISDIR(sb.st_mode) && !S_ISREG(sb.st_mode))
		config_error_at(cp, cp->lineno, key, "%s is not a regular file",
		    path);
	else if (access(path, R_OK | (S_ISDIR(sb.st_mode) ? X_OK : 0)) != 0)
		config_error_at(cp, cp->lineno, key, "%s: %s", path,
		    strerror(errno));
	else if ((cp->flags & CONFIG_LOAD_CHECK) != 0 && geteuid() == 0 &&
	    !config_service_readable(path, &sb))
		config_error_at(cp, cp->lineno, key,
		    "%s: the service's user %s cannot read it: make it "
		    "readable by that user or group, or by others (chmod o+r; "
		    "o+x on its directories)",
		    path, EWSPROBED_USER);
}

/* Parse a port number, digits only; return it or -1. */
static long
config_port(const char *s)
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
static void
config_dns_servers(struct config_parse *cp, const char *key, const char *value,
    struct config_strlist *l)
{
	char addr[64];
	const char *s, *colon, *end;
	size_t i, n;

	config_split(value, l);
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
		if (colon != NULL && config_port(colon + 1) < 0)
			goto bad;
		if (!config_is_ip(addr) ||
		    (s[0] == '[' && strchr(addr, ':') == NULL))
			goto bad;
		continue;
	bad:
		config_error_at(cp, cp->lineno, key,
		    "invalid DNS server '%s' (use 192.0.2.53, 192.0.2.53:5353 "
		    "or [2001:db8::53]:53)",
		    s);
	}
}

/*
 * Check a fixed EWS URL with curl's own URL parser: https only, a host, no
 * user or password in it.
 */
static void
config_https_url(struct config_parse *cp, const char *key, const char *value,
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
		config_error_at(cp, cp->lineno, key, "'%s' %s", value, why);
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

/* A new profile with the defaults of its kind. */
static struct config_profile *
config_profile_new(const char *name, int line)
{
	struct config_profile *p;

	p = xcalloc(1, sizeof *p);
	p->name = xstrdup(name);
	p->line = line;
	p->frontend_port = 443;
	p->tls_min = CONFIG_TLS_1_0;
	p->tls_max = CONFIG_TLS_1_3;
	p->system_store = 1;
	p->frontend_interval_ms = 3600 * 1000;
	if (strcmp(name, CONFIG_PROFILE_PHONE) == 0) {
		/* Lync Phone Edition speaks TLS 1.0 only. */
		p->builtin = 1;
		p->tls_max = CONFIG_TLS_1_0;
	}
	return p;
}

/* Free a profile. */
static void
config_profile_free(struct config_profile *p)
{
	if (p == NULL)
		return;
	free(p->name);
	free(p->frontend_host);
	free(p->frontend_ca_file);
	config_strlist_clear(&p->web_trusted);
	free(p->public_roots_file);
	free(p);
}

/* Free a mailbox, wiping its password. */
static void
config_mailbox_free(struct config_mailbox *m)
{
	if (m == NULL)
		return;
	free(m->name);
	free(m->address);
	free(m->domain);
	free(m->account);
	free(m->credential);
	xfree_secret(m->password);
	free(m->profiles);
	config_strlist_clear(&m->dns_servers);
	free(m->ews_internal_url);
	free(m->ews_external_url);
	config_strlist_clear(&m->redirect_allow);
	free(m);
}

/* Free a whole configuration. */
static void
config_free(struct config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->nprofiles; i++)
		config_profile_free(cfg->profiles[i]);
	free(cfg->profiles);
	for (i = 0; i < cfg->nmailboxes; i++)
		config_mailbox_free(cfg->mailboxes[i]);
	free(cfg->mailboxes);
	free(cfg->path);
	free(cfg->status_file);
	free(cfg->metrics_file);
	free(cfg->system_store_file);
	config_strlist_clear(&cfg->dns_servers);
	free(cfg);
}

/* Replace *field with value, or NULL when value is empty. */
static void
config_set_path(char **field, const char *value)
{
	free(*field);
	*field = value[0] != '\0' ? xstrdup(value) : NULL;
}

/* A key of [daemon]; return 0 if the key is unknown. */
static int
config_daemon_key(struct config_parse *cp, const char *key, const char *v)
{
	struct config *c = cp->cfg;

	if (strcmp(key, "interval") == 0)
		config_duration(cp, key, v, 1000, CONFIG_MAX_DURATION_MS,
		    &c->interval_ms);
	else if (strcmp(key, "retry_interval") == 0)
		config_duration(cp, key, v, 1000, CONFIG_MAX_DURATION_MS,
		    &c->retry_interval_ms);
	else if (strcmp(key, "discovery_interval") == 0)
		config_duration(cp, key, v, 1000, CONFIG_MAX_DURATION_MS,
		    &c->discovery_interval_ms);
	else if (strcmp(key, "timeout") == 0)
		config_duration(cp, key, v, 1000, 600 * 1000, &c->timeout_ms);
	else if (strcmp(key, "fail_after") == 0)
		config_uint(cp, key, v, 1, 100, &c->fail_after);
	else if (strcmp(key, "recover_after") == 0)
		config_uint(cp, key, v, 1, 100, &c->recover_after);
	else if (strcmp(key, "concurrency") == 0)
		config_uint(cp, key, v, 1, 4096, &c->concurrency);
	else if (strcmp(key, "max_in_flight") == 0)
		config_uint(cp, key, v, 1, 65536, &c->max_in_flight);
	else if (strcmp(key, "cert_warn_days") == 0)
		config_uint(cp, key, v, 0, 3650, &c->cert_warn_days);
	else if (strcmp(key, "status_file") == 0 ||
	    strcmp(key, "metrics_file") == 0) {
		if (v[0] != '\0' && v[0] != '/')
			config_error_at(cp, cp->lineno, key,
			    "'%s' is not an absolute path", v);
		else
			config_set_path(key[0] == 's' ? &c->status_file
			                              : &c->metrics_file,
			    v);
	} else if (strcmp(key, "system_store") == 0) {
		config_file(cp, key, v, 0);
		config_set_path(&c->system_store_file, v);
	} else if (strcmp(key, "dns_servers") == 0)
		config_dns_servers(cp, key, v, &c->dns_servers);
	else
		return 0;
	return 1;
}

/* Parse "host[:port]" (host a name, an IPv4 or a [IPv6]) for frontend=. */
static void
config_frontend(struct config_parse *cp, const char *key, const char *v,
    struct config_profile *p)
{
	char *host, *colon = NULL, *end;
	long port = 443;
	int ok;

	if (v[0] == '[') {
		host = xstrdup(v + 1);
		if ((end = strchr(host, ']')) == NULL ||
		    (end[1] != '\0' && end[1] != ':')) {
			config_error_at(cp, cp->lineno, key,
			    "invalid host '%s' (want host, host:port or "
			    "[IPv6]:port)",
			    v);
			free(host);
			return;
		}
		*end = '\0';
		colon = end[1] == ':' ? end + 1 : NULL;
		ok = strchr(host, ':') != NULL && config_is_ip(host);
	} else {
		host = xstrdup(v);
		/* One colon: host:port; more: a bare IPv6 address. */
		if ((colon = strchr(host, ':')) != NULL &&
		    strchr(colon + 1, ':') != NULL)
			colon = NULL;
		if (colon != NULL)
			*colon = '\0';
		ok = dns_valid_hostname(host) || config_is_ip(host);
	}
	if (colon != NULL && (port = config_port(colon + 1)) < 0) {
		config_error_at(cp, cp->lineno, key,
		    "invalid port in '%s' (want 1 to 65535)", v);
		free(host);
		return;
	}
	if (!ok)
		config_error_at(cp, cp->lineno, key,
		    "invalid host '%s' (want host, host:port or [IPv6]:port)",
		    v);
	else {
		dns_lower(host);
		free(p->frontend_host);
		p->frontend_host = xstrdup(host);
		p->frontend_port = (int)port;
	}
	free(host);
}

/* A key of [profile NAME]; return 0 if the key is unknown. */
static int
config_profile_key(struct config_parse *cp, const char *key, const char *v)
{
	struct config_profile *p = cp->profile;
	size_t i;

	if (strcmp(key, "frontend") == 0)
		config_frontend(cp, key, v, p);
	else if (strcmp(key, "frontend_ca") == 0) {
		config_file(cp, key, v, 0);
		config_set_path(&p->frontend_ca_file, v);
	} else if (strcmp(key, "web_trusted_ca") == 0) {
		config_split(v, &p->web_trusted);
		for (i = 0; i < p->web_trusted.n; i++)
			config_file(cp, key, p->web_trusted.items[i], 1);
	} else if (strcmp(key, "public_roots") == 0) {
		config_file(cp, key, v, 0);
		config_set_path(&p->public_roots_file, v);
	} else if (strcmp(key, "tls_min") == 0) {
		config_tls(cp, key, v, &p->tls_min);
		cp->tls_line = cp->lineno;
	} else if (strcmp(key, "tls_max") == 0) {
		config_tls(cp, key, v, &p->tls_max);
		cp->tls_line = cp->lineno;
	} else if (strcmp(key, "system_store") == 0)
		config_bool(cp, key, v, &p->system_store);
	else if (strcmp(key, "allow_basic") == 0)
		config_error_at(cp, cp->lineno, key,
		    "removed: phones sign in with NTLM only; delete the line");
	else if (strcmp(key, "frontend_interval") == 0)
		config_duration(cp, key, v, 1000, CONFIG_MAX_DURATION_MS,
		    &p->frontend_interval_ms);
	else
		return 0;
	return 1;
}

/*
 * Check and store address=: local@domain. The domain is stored lower-cased
 * and without a trailing dot, in domain and in the address; it must be a DNS
 * name (not an address literal, not an all-numeric top label).
 */
static void
config_address(struct config_parse *cp, const char *key, const char *v,
    struct config_mailbox *m)
{
	const char *at = strchr(v, '@'), *p, *tld;
	char *domain;
	size_t len;

	if (at == NULL || at == v || strchr(at + 1, '@') != NULL ||
	    at - v > 64 || strlen(v) > 254) {
		config_error_at(cp, cp->lineno, key,
		    "'%s' is not an SMTP address (want user@domain)", v);
		return;
	}
	for (p = v; p < at; p++) {
		if ((unsigned char)*p <= ' ' ||
		    strchr("\"(),:;<>[\\]", *p) != NULL ||
		    (unsigned char)*p >= 0x7f ||
		    (*p == '.' && (p == v || p + 1 == at || p[1] == '.'))) {
			config_error_at(cp, cp->lineno, key,
			    "'%s' has a local part that is not a plain "
			    "dot-atom",
			    v);
			return;
		}
	}
	domain = xstrdup(at + 1);
	len = strlen(domain);
	if (len > 0 && domain[len - 1] == '.')
		domain[len - 1] = '\0';
	dns_lower(domain);
	tld = strrchr(domain, '.');
	if (!dns_valid_hostname(domain) || tld == NULL ||
	    strspn(tld + 1, "0123456789") == strlen(tld + 1) ||
	    config_is_ip(domain)) {
		config_error_at(cp, cp->lineno, key,
		    "'%s' does not end in a DNS domain name", v);
		free(domain);
		return;
	}
	if (dns_public_suffix(domain)) {
		config_error_at(cp, cp->lineno, key,
		    "'%s': %s is a public suffix; autodiscover there would "
		    "ask strangers",
		    v, domain);
		free(domain);
		return;
	}
	free(m->address);
	free(m->domain);
	xasprintf(&m->address, "%.*s@%s", (int)(at - v), v, domain);
	m->domain = domain;
}

/* Check account=: DOMAIN\user or user@upn-suffix. */
static void
config_account(struct config_parse *cp, const char *key, const char *v,
    struct config_mailbox *m)
{
	const char *bs = strchr(v, '\\'), *at = strchr(v, '@');
	const char *p;

	for (p = v; *p != '\0'; p++) {
		if ((unsigned char)*p < ' ' || *p == ':') {
			config_error_at(cp, cp->lineno, key,
			    "invalid characters in account '%s'", v);
			return;
		}
	}
	if ((bs != NULL &&
	        (bs == v || bs[1] == '\0' || strchr(bs + 1, '\\') != NULL ||
	            at != NULL)) ||
	    (bs == NULL && (at == NULL || at == v || at[1] == '\0'))) {
		config_error_at(cp, cp->lineno, key,
		    "'%s' is neither DOMAIN\\user nor user@domain", v);
		return;
	}
	free(m->account);
	m->account = xstrdup(v);
}

/* A key of [mailbox NAME]; return 0 if the key is unknown. */
static int
config_mailbox_key(struct config_parse *cp, const char *key, const char *v)
{
	struct config_mailbox *m = cp->mailbox;
	size_t i;

	if (strcmp(key, "address") == 0) {
		config_address(cp, key, v, m);
		cp->draft->address_given = 1;
	} else if (strcmp(key, "account") == 0) {
		config_account(cp, key, v, m);
		cp->draft->account_given = 1;
	} else if (strcmp(key, "credential") == 0) {
		/* Read once the whole file is checked (config_check). */
		free(m->credential);
		m->credential = xstrdup(v);
		cp->draft->cred_line = cp->lineno;
	} else if (strcmp(key, "profiles") == 0) {
		free(cp->draft->profiles);
		cp->draft->profiles = xstrdup(v);
		cp->draft->profiles_line = cp->lineno;
	} else if (strcmp(key, "interval") == 0)
		config_duration(cp, key, v, 1000, CONFIG_MAX_DURATION_MS,
		    &m->interval_ms);
	else if (strcmp(key, "dns_servers") == 0)
		config_dns_servers(cp, key, v, &m->dns_servers);
	else if (strcmp(key, "ews_internal_url") == 0)
		config_https_url(cp, key, v, &m->ews_internal_url);
	else if (strcmp(key, "ews_external_url") == 0)
		config_https_url(cp, key, v, &m->ews_external_url);
	else if (strcmp(key, "signin_allow") == 0 ||
	    strcmp(key, "redirect_allow") == 0) {
		/* redirect_allow is signin_allow's first name: one list. */
		if (m->redirect_allow.n > 0)
			config_error_at(cp, cp->lineno, key,
			    "signin_allow and redirect_allow are one list: "
			    "give it once");
		config_split(v, &m->redirect_allow);
		for (i = 0; i < m->redirect_allow.n; i++) {
			dns_lower(m->redirect_allow.items[i]);
			if (!dns_valid_hostname(m->redirect_allow.items[i]))
				config_error_at(cp, cp->lineno, key,
				    "invalid host name '%s'",
				    m->redirect_allow.items[i]);
			else if (dns_public_suffix(m->redirect_allow.items[i]))
				config_error_at(cp, cp->lineno, key,
				    "'%s' is a public suffix",
				    m->redirect_allow.items[i]);
		}
	} else if (strcmp(key, "discovery") == 0) {
		if (strcmp(v, "first") == 0)
			m->discovery = CONFIG_DISCOVERY_FIRST;
		else if (strcmp(v, "all") == 0)
			m->discovery = CONFIG_DISCOVERY_ALL;
		else
			config_error_at(cp, cp->lineno, key,
			    "invalid mode '%s' (use first or all)", v);
	} else
		return 0;
	return 1;
}

/*
 * Count one more key or section; past the cap, report it once (the rest
 * of the file is only skipped) and return 1.
 */
static int
config_over_cap(struct config_parse *cp, size_t *count, size_t max,
    const char *what)
{
	if (++*count <= max)
		return 0;
	if (*count == max + 1)
		config_error_at(cp, -1, NULL,
		    "more than %zu %s; line %d and the rest of the file are "
		    "not read",
		    max, what, cp->lineno);
	return 1;
}

/* inih's handler: one key = value line of the current section. */
static int
config_handler(void *arg, const char *section, const char *key,
    const char *value)
{
	struct config_parse *cp = arg;
	int known = 0;

	switch (cp->kind) {
	case CONFIG_SECTION_NONE:
		config_error_at(cp, cp->lineno, NULL,
		    "'%s' is outside any section", key);
		return 1;
	case CONFIG_SECTION_BAD:
		return 1;
	default:
		break;
	}
	if (config_over_cap(cp, &cp->nkeys, CONFIG_MAX_KEYS, "keys"))
		return 1;
	if (!config_set_add(&cp->keys, key, NULL)) {
		config_error_at(cp, cp->lineno, key,
		    "given more than once in this section");
		return 1;
	}

	if (cp->kind == CONFIG_SECTION_DAEMON)
		known = config_daemon_key(cp, key, value);
	else if (cp->kind == CONFIG_SECTION_PROFILE)
		known = config_profile_key(cp, key, value);
	else if (cp->kind == CONFIG_SECTION_MAILBOX)
		known = config_mailbox_key(cp, key, value);
	if (!known)
		config_error_at(cp, cp->lineno, key, "unknown key");
	return 1;
}

/* Finish the section that ended: check what needs all of it, forget it. */
static void
config_end_section(struct config_parse *cp)
{
	struct config_profile *p = cp->profile;

	if (p != NULL && p->tls_min > p->tls_max)
		config_error_at(cp, cp->tls_line, NULL,
		    "tls_min %d.%d is above tls_max %d.%d", p->tls_min / 10,
		    p->tls_min % 10, p->tls_max / 10, p->tls_max % 10);
	config_set_clear(&cp->keys);
	free(cp->sname);
	cp->sname = NULL;
	cp->profile = NULL;
	cp->mailbox = NULL;
	cp->draft = NULL;
	cp->tls_line = 0;
}

/* Whether s is a valid section name (letters, digits, . _ -). */
static int
config_valid_name(const char *s)
{
	if (*s == '\0' || strlen(s) > 64)
		return 0;
	for (; *s != '\0'; s++) {
		if (!isalnum((unsigned char)*s) && strchr("._-", *s) == NULL)
			return 0;
	}
	return 1;
}

/* Start a section from the text between its brackets. */
static void
config_begin_section(struct config_parse *cp, const char *header)
{
	char type[16], name[128];
	struct config_mailbox *m;

	config_end_section(cp);
	cp->sline = cp->lineno;
	cp->sname = xstrdup(header);
	cp->kind = CONFIG_SECTION_BAD;
	name[0] = '\0';
	if (sscanf(header, "%15s %127s", type, name) < 1)
		type[0] = '\0';
	if (config_over_cap(cp, &cp->nsections, CONFIG_MAX_SECTIONS,
	        "sections"))
		return;
	if (!config_set_add(&cp->sections, header, NULL)) {
		config_error_at(cp, cp->lineno, NULL, "section defined twice");
		return;
	}

	if (strcmp(header, "daemon") == 0)
		cp->kind = CONFIG_SECTION_DAEMON;
	else if (strcmp(type, "profile") == 0 || strcmp(type, "mailbox") == 0) {
		if (!config_valid_name(name) ||
		    strlen(type) + 1 + strlen(name) != strlen(header)) {
			config_error_at(cp, cp->lineno, NULL,
			    "invalid section name (want [%s NAME], NAME of "
			    "letters, digits, '.', '_' and '-')",
			    type);
			return;
		}
		if (type[0] == 'p') {
			cp->kind = CONFIG_SECTION_PROFILE;
			cp->profile = config_set_get(&cp->profiles, name);
			if (cp->profile == NULL) {
				cp->profile =
				    config_profile_new(name, cp->lineno);
				cp->cfg->profiles =
				    xreallocarray(cp->cfg->profiles,
				        cp->cfg->nprofiles + 1,
				        sizeof *cp->cfg->profiles);
				cp->cfg->profiles[cp->cfg->nprofiles++] =
				    cp->profile;
				config_set_add(&cp->profiles, name,
				    cp->profile);
			}
			cp->profile->line = cp->lineno;
		} else {
			cp->kind = CONFIG_SECTION_MAILBOX;
			m = xcalloc(1, sizeof *m);
			m->name = xstrdup(name);
			m->line = cp->lineno;
			cp->mailbox = m;
			cp->draft = xcalloc(1, sizeof *cp->draft);
			cp->draft->sline = cp->lineno;
			cp->cfg->mailboxes = xreallocarray(cp->cfg->mailboxes,
			    cp->cfg->nmailboxes + 1,
			    sizeof *cp->cfg->mailboxes);
			cp->drafts = xreallocarray(cp->drafts,
			    cp->cfg->nmailboxes + 1, sizeof *cp->drafts);
			cp->drafts[cp->cfg->nmailboxes] = cp->draft;
			cp->cfg->mailboxes[cp->cfg->nmailboxes++] = m;
		}
	} else
		config_error_at(cp, cp->lineno, NULL,
		    "unknown section (want [daemon], [profile NAME] or "
		    "[mailbox NAME])");
}

/*
 * Read one line into str (at most num - 2 characters kept), without its
 * end of line. Return -1 at the end of the file, 0 for a line, or 1 for a
 * line that cannot be taken (too long, control characters), already
 * reported.
 */
static int
config_getline(struct config_parse *cp, char *str, int num)
{
	size_t len = 0, max = (size_t)num - 2;
	int c, any = 0, bad = -1, toolong = 0;

	while ((c = getc(cp->fp)) != EOF) {
		any = 1;
		if (c == '\n')
			break;
		if (c == '\r') {
			/* CR LF ends a line; a CR anywhere else is refused. */
			if ((c = getc(cp->fp)) == '\n' || c == EOF)
				break;
			ungetc(c, cp->fp);
			c = '\r';
		}
		if (((unsigned char)c < ' ' && c != '\t') || c == 0x7f) {
			if (bad < 0)
				bad = c;
		} else if (len < max)
			str[len++] = (char)c;
		else
			toolong = 1;
	}
	str[len] = '\0';
	if (!any) {
		if (ferror(cp->fp))
			cp->read_errno = errno != 0 ? errno : EIO;
		return -1;
	}
	cp->lineno++;
	if (toolong)
		config_error_at(cp, cp->lineno, NULL,
		    "line longer than %zu characters", max);
	else if (bad >= 0)
		config_error_at(cp, cp->lineno, NULL,
		    "control character 0x%02x in the line", (unsigned int)bad);
	else
		return 0;
	return 1;
}

/*
 * inih's line reader. Counts lines, starts sections (inih does not tell its
 * handler), and reports the lines inih would reject or misread with their
 * numbers; those are handed to inih as empty lines.
 *
 * Leading white space is removed: with INI_ALLOW_MULTILINE (on in Debian's
 * build) inih would take an indented line as the continuation of the
 * previous value, and an indented "key = value" would silently become part
 * of the value above it.
 */
static char *
config_reader(char *str, int num, void *arg)
{
	struct config_parse *cp = arg;
	char *s, *end;
	int r;

	if ((r = config_getline(cp, str, num)) < 0)
		return NULL;
	if (r > 0) {
		str[0] = '\0';
		return str;
	}
	s = str;
	if (cp->lineno == 1 && strncmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;
	while (*s == ' ' || *s == '\t')
		s++;
	memmove(str, s, strlen(s) + 1);
	if (*str == '\0' || *str == ';' || *str == '#')
		return str;
	if (*str == '[') {
		if ((end = strchr(str, ']')) == NULL) {
			config_end_section(cp);
			cp->kind = CONFIG_SECTION_BAD;
			config_error_at(cp, cp->lineno, NULL,
			    "section header without ']'");
			str[0] = '\0';
			return str;
		}
		*end = '\0';
		config_begin_section(cp, str + 1);
		*end = ']';
		for (s = end + 1; *s == ' ' || *s == '\t'; s++)
			;
		if (*s != '\0' && *s != ';' && *s != '#')
			config_error_at(cp, cp->lineno, NULL,
			    "text after the section header");
		return str;
	}
	if ((s = strpbrk(str, "=:")) == NULL) {
		config_error_at(cp, cp->lineno, NULL,
		    "syntax error (want key = value)");
		str[0] = '\0';
	} else if (*s == ':') {
		config_error_at(cp, cp->lineno, NULL,
		    "syntax error (want key = value, not key: value)");
		str[0] = '\0';
	} else if (s == str) {
		config_error_at(cp, cp->lineno, NULL,
		    "syntax error (no key before '=')");
		str[0] = '\0';
	}
	return str;
}

/*
 * Read a credential: $CREDENTIALS_DIRECTORY/NAME, or an absolute path.
 * The file must be private, as OpenBSD's check_file_secrecy() wants it:
 * no group or other bits, owned by root or by us. It is checked through
 * the descriptor that is read, so it cannot change in between. The
 * password itself never goes into a message.
 */
static void
config_credential(struct config_parse *cp, struct config_mailbox *m, int line)
{
	char *path = NULL, buf[CONFIG_MAX_PASSWORD + 4];
	const char *dir, *ref = m->credential;
	struct stat sb;
	ssize_t n = 0;
	size_t len = 0;
	int fd = -1;

	if ((dir = getenv("CREDENTIALS_DIRECTORY")) != NULL && *dir == '\0')
		dir = NULL;
	if (ref[0] == '/' && (cp->flags & CONFIG_LOAD_CHECK) != 0 &&
	    geteuid() == 0 && !config_service_owns(ref)) {
		/* Root could read it; the service's user cannot. */
		config_error_at(cp, line, "credential",
		    "%s: the service's user %s cannot read a file it does not "
		    "own; chown it to %s, or put it in /etc/ewsprobed/"
		    "credentials and give its credential name "
		    "(credentials/password is credential = ewsprobed_password)",
		    ref, EWSPROBED_USER, EWSPROBED_USER);
		goto out;
	} else if (ref[0] == '/')
		path = xstrdup(ref);
	else if (!config_valid_name(ref)) {
		config_error_at(cp, line, "credential",
		    "'%s' is neither an absolute path nor a credential name",
		    ref);
		goto out;
	} else if (dir == NULL && (cp->flags & CONFIG_LOAD_CHECK) != 0) {
		/*
		 * -n outside the service: systemd gives the credential only
		 * to the running unit, so it cannot be read here. Say so.
		 */
		cp->cfg->credentials_unchecked++;
		goto out;
	} else if (dir == NULL) {
		config_error_at(cp, line, "credential",
		    "credential '%s' needs $CREDENTIALS_DIRECTORY (systemd "
		    "LoadCredential=), which is not set; or give an absolute "
		    "path to a 0600 file",
		    ref);
		goto out;
	} else
		xasprintf(&path, "%s/%s", dir, ref);

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		config_error_at(cp, line, "credential", "%s: %s", path,
		    errno == ELOOP ? "is a symbolic link" : strerror(errno));
		goto out;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		config_error_at(cp, line, "credential",
		    "%s is not a regular file", path);
		goto out;
	}
	if ((sb.st_mode & 077) != 0) {
		config_error_at(cp, line, "credential",
		    "credential file %s is %s by group/other (mode %04o); "
		    "chmod 600 it",
		    path, (sb.st_mode & 044) != 0 ? "readable" : "accessible",
		    (unsigned int)(sb.st_mode & 07777));
		goto out;
	}
	if (sb.st_uid != 0 && sb.st_uid != geteuid()) {
		config_error_at(cp, line, "credential",
		    "credential file %s is owned by uid %u, not by root or "
		    "uid %u",
		    path, (unsigned int)sb.st_uid, (unsigned int)geteuid());
		goto out;
	}
	/*
	 * Read up to a password of the maximum length, a CR LF, and one byte
	 * more to see that there is more.
	 */
	while (len < sizeof buf - 1) {
		n = read(fd, buf + len, sizeof buf - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (n < 0) {
		config_error_at(cp, line, "credential", "%s: %s", path,
		    strerror(errno));
		goto out;
	}
	/* Strip one end of line: "\n" or "\r\n". */
	if (len <= CONFIG_MAX_PASSWORD + 2 && len > 0 && buf[len - 1] == '\n') {
		len--;
		if (len > 0 && buf[len - 1] == '\r')
			len--;
	}
	buf[len] = '\0';
	if (len > CONFIG_MAX_PASSWORD)
		config_error_at(cp, line, "credential",
		    "%s is longer than %d bytes", path, CONFIG_MAX_PASSWORD);
	else if (len == 0)
		config_error_at(cp, line, "credential", "%s is empty", path);
	else if (memchr(buf, '\0', len) != NULL)
		config_error_at(cp, line, "credential",
		    "%s contains a NUL byte", path);
	else if (memchr(buf, '\n', len) != NULL ||
	    memchr(buf, '\r', len) != NULL)
		config_error_at(cp, line, "credential",
		    "%s has a line break (CR or LF) that is not its one final "
		    "end of line; a password is one line",
		    path);
	else
		m->password = xstrdup(buf);
out:
	explicit_bzero(buf, sizeof buf);
	if (fd >= 0)
		close(fd);
	free(path);
}

/* Check a mailbox once the file is read; resolve its profiles. */
static void
config_check_mailbox(struct config_parse *cp, struct config_mailbox *m,
    struct config_mbox_draft *d)
{
	struct config_strlist names = {NULL, 0};
	struct config_profile *p;
	int sline = d->sline, pline;
	size_t i, j;

	pline = d->profiles_line != 0 ? d->profiles_line : sline;
	free(cp->sname);
	xasprintf(&cp->sname, "mailbox %s", m->name);
	/* A bad value was reported already: it is not "missing". */
	if (!d->address_given)
		config_error_at(cp, sline, NULL, "address is required");
	/*
	 * Sign-in is optional: without account and credential the probe
	 * stops once EWS offers NTLM over a trusted chain. One without the
	 * other is a mistake.
	 */
	if (d->account_given && m->credential == NULL)
		config_error_at(cp, sline, NULL,
		    "account needs a credential (a name under "
		    "$CREDENTIALS_DIRECTORY or an absolute path)");
	if (!d->account_given && m->credential != NULL)
		config_error_at(cp, sline, NULL,
		    "credential needs an account to sign in with");
	if (config_split(d->profiles != NULL ? d->profiles
	                                     : CONFIG_PROFILE_PHONE,
	        &names) == 0)
		config_error_at(cp, pline, "profiles", "no profile named");
	for (i = 0; i < names.n; i++) {
		if ((p = config_set_get(&cp->profiles, names.items[i])) ==
		    NULL) {
			config_error_at(cp, pline, "profiles",
			    "no profile '%s' (define [profile %s])",
			    names.items[i], names.items[i]);
			continue;
		}
		for (j = 0; j < m->nprofiles; j++) {
			if (m->profiles[j] == p)
				break;
		}
		if (j < m->nprofiles) {
			config_error_at(cp, pline, "profiles",
			    "profile '%s' listed twice", p->name);
			continue;
		}
		if (m->nprofiles == CONFIG_MAX_MBOX_PROFILES) {
			config_error_at(cp, pline, "profiles",
			    "more than %d profiles", CONFIG_MAX_MBOX_PROFILES);
			break;
		}
		m->profiles = xreallocarray(m->profiles, m->nprofiles + 1,
		    sizeof *m->profiles);
		m->profiles[m->nprofiles++] = p;
	}
	config_strlist_clear(&names);
	if (m->credential != NULL)
		config_credential(cp, m, d->cred_line);
}

/* Check a profile that a mailbox uses: it needs an anchor source. */
static void
config_check_profile(struct config_parse *cp, struct config_profile *p)
{
	if (p->frontend_host != NULL || p->frontend_ca_file != NULL ||
	    p->web_trusted.n != 0 || p->public_roots_file != NULL)
		return;
	if ((cp->flags & CONFIG_LOAD_CMDLINE) != 0) {
		config_error_at(cp, 0, NULL,
		    "no trust anchor: give --frontend (the Lync pool, "
		    "host[:port]), --frontend-ca or --trust-ca");
		return;
	}
	free(cp->sname);
	xasprintf(&cp->sname, "profile %s", p->name);
	config_error_at(cp, p->line, NULL,
	    "profile '%s' has no trust anchors: set frontend (the Lync pool, "
	    "host[:port]) or frontend_ca, web_trusted_ca, public_roots%s",
	    p->name,
	    p->builtin && p->line == 0 ? " in a [profile " CONFIG_PROFILE_PHONE
	                                 "] section"
	                               : "");
}

/*
 * Check what needs the whole file: references and credentials, and the
 * trust anchors of every profile a mailbox uses (collected in a set, so
 * that this stays linear).
 */
static void
config_check(struct config_parse *cp)
{
	struct config *cfg = cp->cfg;
	struct config_set used = {NULL, 0, 0};
	size_t i, k;

	for (i = 0; i < cfg->nmailboxes; i++)
		config_check_mailbox(cp, cfg->mailboxes[i], cp->drafts[i]);
	for (i = 0; i < cfg->nmailboxes; i++) {
		for (k = 0; k < cfg->mailboxes[i]->nprofiles; k++)
			config_set_add(&used,
			    cfg->mailboxes[i]->profiles[k]->name, NULL);
	}
	for (i = 0; i < cfg->nprofiles; i++) {
		if (config_set_has(&used, cfg->profiles[i]->name))
			config_check_profile(cp, cfg->profiles[i]);
	}
	config_set_clear(&used);
	free(cp->sname);
	cp->sname = NULL;
	if (cfg->nmailboxes == 0)
		config_error_at(cp, 0, NULL,
		    "no [mailbox NAME] section: nothing to monitor");
}

/* Load and validate path; see config.h. */
int
config_load(const char *path, struct config **cfgp, char **errors)
{
	return config_load_flags(path, 0, cfgp, errors);
}

/* Load with CONFIG_LOAD_* flags; see config.h. */
int
config_load_flags(const char *path, int flags, struct config **cfgp,
    char **errors)
{
	return config_load_text(path, NULL, flags, cfgp, errors);
}

/* Report a file over the size cap. */
static void
config_too_big(struct config_parse *cp)
{
	config_error_at(cp, -1, NULL,
	    "larger than %d MiB (the cap bounds the time a reload may hold "
	    "the event loop)",
	    CONFIG_MAX_FILE / (1024 * 1024));
}

/*
 * Read the file path into a new buffer (caller frees), at most one byte
 * more than CONFIG_MAX_FILE, or report why not and return NULL. Only a
 * regular file is read: opened without blocking (a FIFO would wait for a
 * writer) and checked through the descriptor, so /dev/zero or a FIFO is
 * refused before a byte is read.
 */
static char *
config_read_file(struct config_parse *cp, const char *path, size_t *lenp)
{
	struct stat sb;
	size_t len = 0, cap;
	ssize_t n;
	char *buf;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0) {
		config_error_at(cp, 0, NULL, "%s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &sb) != 0) {
		config_error_at(cp, 0, NULL, "%s", strerror(errno));
		close(fd);
		return NULL;
	}
	if (!S_ISREG(sb.st_mode)) {
		config_error_at(cp, 0, NULL, "%s",
		    S_ISDIR(sb.st_mode) ? "is a directory"
		                        : "is not a regular file");
		close(fd);
		return NULL;
	}
	if (sb.st_size > CONFIG_MAX_FILE) {
		config_too_big(cp);
		close(fd);
		return NULL;
	}
	cap = (size_t)sb.st_size + 2;
	buf = xmalloc(cap);
	/* The file may grow while it is read: read one byte past the cap. */
	while (len <= CONFIG_MAX_FILE) {
		if (len + 1 >= cap) {
			cap = cap * 2 < CONFIG_MAX_FILE + 2
			    ? cap * 2
			    : CONFIG_MAX_FILE + 2;
			buf = xreallocarray(buf, cap, 1);
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			config_error_at(cp, 0, NULL, "cannot read the file: %s",
			    strerror(errno));
			free(buf);
			close(fd);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

/*
 * Load from text in memory (named path in errors), or from the file path
 * when text is NULL.
 */
int
config_load_text(const char *path, const char *text, int flags,
    struct config **cfgp, char **errors)
{
	struct config_parse cp;
	struct config *cfg;
	char *buf = NULL;
	size_t i, len;
	int r;

	memset(&cp, 0, sizeof cp);
	cp.path = path;
	cp.flags = flags;
	*cfgp = NULL;
	*errors = NULL;
	cfg = xcalloc(1, sizeof *cfg);
	cfg->refcnt = 1;
	cfg->path = xstrdup(path);
	cfg->interval_ms = 5 * 60 * 1000;
	cfg->retry_interval_ms = 60 * 1000;
	cfg->discovery_interval_ms = 24 * 3600 * 1000;
	cfg->timeout_ms = 30 * 1000;
	cfg->fail_after = 3;
	cfg->recover_after = 2;
	cfg->concurrency = 32;
	cfg->max_in_flight = 512;
	cfg->cert_warn_days = 30;
	cfg->status_file = xstrdup("/run/ewsprobed/status.json");
	cfg->metrics_file = xstrdup("/run/ewsprobed/ewsprobed.prom");
	cfg->system_store_file = xstrdup(EWSPROBED_SYSTEM_CA_BUNDLE);
	cfg->profiles = xcalloc(1, sizeof *cfg->profiles);
	cfg->profiles[0] = config_profile_new(CONFIG_PROFILE_PHONE, 0);
	cfg->nprofiles = 1;
	config_set_add(&cp.profiles, CONFIG_PROFILE_PHONE, cfg->profiles[0]);
	cp.cfg = cfg;

	if (text != NULL)
		len = strlen(text);
	else if ((buf = config_read_file(&cp, path, &len)) == NULL)
		goto done;
	else
		text = buf;
	if (len > CONFIG_MAX_FILE) {
		config_too_big(&cp);
		goto done;
	}
	/* fmemopen wants at least one byte; an empty file has no lines. */
	r = 0;
	if (len > 0) {
		if ((cp.fp = fmemopen((void *)text, len, "r")) == NULL)
			fatal("fmemopen");
		r = ini_parse_stream(config_reader, &cp, config_handler, &cp);
		fclose(cp.fp);
	}
	config_end_section(&cp);
	if (cp.read_errno != 0)
		config_error_at(&cp, 0, NULL, "cannot read the file: %s",
		    strerror(cp.read_errno));
	else if (r < 0)
		config_error_at(&cp, 0, NULL, "cannot read the file");
	else if (r > 0 && cp.nfound == 0)
		config_error_at(&cp, r, NULL, "syntax error");
	config_check(&cp);

done:
	free(buf);
	config_end_section(&cp);
	config_set_clear(&cp.sections);
	config_set_clear(&cp.profiles);
	for (i = 0; i < cfg->nmailboxes; i++) {
		if (cp.drafts != NULL && cp.drafts[i] != NULL) {
			free(cp.drafts[i]->profiles);
			free(cp.drafts[i]);
		}
	}
	free(cp.drafts);
	if (cp.nfound > 0) {
		*errors = config_errors_join(&cp);
		config_free(cfg);
		return -1;
	}
	*cfgp = cfg;
	return 0;
}

/* Take a reference. */
struct config *
config_ref(struct config *cfg)
{
	cfg->refcnt++;
	return cfg;
}

/* Drop a reference; the last one frees (and wipes the passwords). */
void
config_unref(struct config *cfg)
{
	if (cfg != NULL && --cfg->refcnt == 0)
		config_free(cfg);
}

/* Find a profile by name. */
const struct config_profile *
config_profile_find(const struct config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->nprofiles; i++) {
		if (strcmp(cfg->profiles[i]->name, name) == 0)
			return cfg->profiles[i];
	}
	return NULL;
}

/* Find a mailbox by name. */
const struct config_mailbox *
config_mailbox_find(const struct config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->nmailboxes; i++) {
		if (strcmp(cfg->mailboxes[i]->name, name) == 0)
			return cfg->mailboxes[i];
	}
	return NULL;
}

/* Format a duration in ms the way the file would say it. */
static void
config_format_duration(char *buf, size_t size, uint64_t ms)
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

/* One-line summary. Caller frees. */
char *
config_summary(const struct config *cfg)
{
	char iv[32], *s;

	config_format_duration(iv, sizeof iv, cfg->interval_ms);
	xasprintf(&s, "%zu mailbox%s, %zu profile%s, interval %s",
	    cfg->nmailboxes, cfg->nmailboxes == 1 ? "" : "es", cfg->nprofiles,
	    cfg->nprofiles == 1 ? "" : "s", iv);
	return s;
}
