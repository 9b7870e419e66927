/*
 * config: owns ewsprobed's configuration model — its sections ([daemon],
 * [profile NAME], [mailbox NAME]) and keys, their defaults, the checks
 * that need a whole file (references between sections, trust anchors,
 * credentials), and the lifetime of the resulting immutable object.
 *
 * Reading the file (lines, sections, caps, file:line messages) is
 * cfgread's; checking one value is cfgvalue's; reading a password is
 * credential's. A configuration with any problem is never handed out.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfgread.h"
#include "cfgvalue.h"
#include "config.h"
#include "credential.h"
#include "ewsprobed-build.h"
#include "hashset.h"
#include "strlist.h"
#include "xmalloc.h"

/* A mailbox has one profile, or a few. */
#define CONFIG_MAX_MBOX_PROFILES 16

enum config_section {
	CONFIG_SECTION_NONE, /* not in a section the model takes */
	CONFIG_SECTION_DAEMON,
	CONFIG_SECTION_PROFILE,
	CONFIG_SECTION_MAILBOX,
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

/* The state of one load. */
struct config_parse {
	struct cfgread *rd; /* the reader, and every problem found */
	int flags; /* CONFIG_LOAD_* */
	struct config *cfg;
	/* the current section */
	enum config_section kind;
	int tls_line; /* last tls_min/tls_max line of this section */
	struct config_profile *profile;
	struct config_mailbox *mailbox;
	struct config_mbox_draft *draft;
	struct hashset *profiles; /* name -> struct config_profile */
	struct config_mbox_draft **drafts; /* parallel to cfg->mailboxes */
};

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
	hello_spec_phone(&p->hello);
	if (strcmp(name, CONFIG_PROFILE_PHONE) == 0) {
		/* Lync Phone Edition speaks TLS 1.0 only. */
		p->builtin = 1;
		p->tls_max = CONFIG_TLS_1_0;
		p->hello_enabled = 1;
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
	strlist_clear(&p->web_trusted);
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
	strlist_clear(&m->dns_servers);
	free(m->ews_internal_url);
	free(m->ews_external_url);
	strlist_clear(&m->redirect_allow);
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
	strlist_clear(&cfg->dns_servers);
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
		cfgvalue_duration(cp->rd, key, v, 1000, CONFIG_MAX_DURATION_MS,
		    &c->interval_ms);
	else if (strcmp(key, "retry_interval") == 0)
		cfgvalue_duration(cp->rd, key, v, 1000, CONFIG_MAX_DURATION_MS,
		    &c->retry_interval_ms);
	else if (strcmp(key, "discovery_interval") == 0)
		cfgvalue_duration(cp->rd, key, v, 1000, CONFIG_MAX_DURATION_MS,
		    &c->discovery_interval_ms);
	else if (strcmp(key, "timeout") == 0)
		cfgvalue_duration(cp->rd, key, v, 1000, 600 * 1000,
		    &c->timeout_ms);
	else if (strcmp(key, "fail_after") == 0)
		cfgvalue_uint(cp->rd, key, v, 1, 100, &c->fail_after);
	else if (strcmp(key, "recover_after") == 0)
		cfgvalue_uint(cp->rd, key, v, 1, 100, &c->recover_after);
	else if (strcmp(key, "concurrency") == 0)
		cfgvalue_uint(cp->rd, key, v, 1, 4096, &c->concurrency);
	else if (strcmp(key, "max_in_flight") == 0)
		cfgvalue_uint(cp->rd, key, v, 1, 65536, &c->max_in_flight);
	else if (strcmp(key, "cert_warn_days") == 0)
		cfgvalue_uint(cp->rd, key, v, 0, 3650, &c->cert_warn_days);
	else if (strcmp(key, "max_addresses") == 0)
		cfgvalue_uint(cp->rd, key, v, 1, CONFIG_MAX_ADDRESSES,
		    &c->max_addresses);
	else if (strcmp(key, "status_file") == 0 ||
	    strcmp(key, "metrics_file") == 0) {
		if (v[0] != '\0' && v[0] != '/')
			cfgread_error(cp->rd, cfgread_line(cp->rd), key,
			    "'%s' is not an absolute path", v);
		else
			config_set_path(key[0] == 's' ? &c->status_file
			                              : &c->metrics_file,
			    v);
	} else if (strcmp(key, "system_store") == 0) {
		cfgvalue_file(cp->rd, key, v, 0,
		    (cp->flags & CONFIG_LOAD_CHECK) != 0);
		config_set_path(&c->system_store_file, v);
	} else if (strcmp(key, "dns_servers") == 0)
		cfgvalue_dns_servers(cp->rd, key, v, &c->dns_servers);
	else
		return 0;
	return 1;
}

static int
config_profile_hello_key(struct config_parse *, const char *, const char *);

/* A key of [profile NAME]; return 0 if the key is unknown. */
static int
config_profile_key(struct config_parse *cp, const char *key, const char *v)
{
	struct config_profile *p = cp->profile;
	size_t i;

	if (strcmp(key, "frontend") == 0)
		cfgvalue_hostport(cp->rd, key, v, &p->frontend_host,
		    &p->frontend_port);
	else if (strcmp(key, "frontend_ca") == 0) {
		cfgvalue_file(cp->rd, key, v, 0,
		    (cp->flags & CONFIG_LOAD_CHECK) != 0);
		config_set_path(&p->frontend_ca_file, v);
	} else if (strcmp(key, "web_trusted_ca") == 0) {
		strlist_split(&p->web_trusted, v);
		for (i = 0; i < p->web_trusted.n; i++)
			cfgvalue_file(cp->rd, key, p->web_trusted.items[i], 1,
			    (cp->flags & CONFIG_LOAD_CHECK) != 0);
	} else if (strcmp(key, "public_roots") == 0) {
		cfgvalue_file(cp->rd, key, v, 0,
		    (cp->flags & CONFIG_LOAD_CHECK) != 0);
		config_set_path(&p->public_roots_file, v);
	} else if (strcmp(key, "tls_min") == 0) {
		cfgvalue_tls(cp->rd, key, v, &p->tls_min);
		cp->tls_line = cfgread_line(cp->rd);
	} else if (strcmp(key, "tls_max") == 0) {
		cfgvalue_tls(cp->rd, key, v, &p->tls_max);
		cp->tls_line = cfgread_line(cp->rd);
	} else if (strcmp(key, "system_store") == 0)
		cfgvalue_bool(cp->rd, key, v, &p->system_store);
	else if (strcmp(key, "allow_basic") == 0)
		cfgread_error(cp->rd, cfgread_line(cp->rd), key,
		    "removed: phones sign in with NTLM only; delete the line");
	else if (strcmp(key, "frontend_interval") == 0)
		cfgvalue_duration(cp->rd, key, v, 1000, CONFIG_MAX_DURATION_MS,
		    &p->frontend_interval_ms);
	else if (strncmp(key, "hello", 5) == 0)
		return config_profile_hello_key(cp, key, v);
	else
		return 0;
	return 1;
}

/*
 * A hello key of [profile NAME]: the phone's ClientHello
 * (docs/tls-hello.md has the formats). Setting any of them turns the
 * phone's own handshake on; "hello = no" turns it off. Return 0 if the key
 * is unknown.
 */
static int
config_profile_hello_key(struct config_parse *cp, const char *key,
    const char *v)
{
	struct config_profile *p = cp->profile;
	char *err = NULL;
	uint16_t ver;

	if (strcmp(key, "hello") == 0) {
		cfgvalue_bool(cp->rd, key, v, &p->hello_enabled);
		return 1;
	}
	if (strcmp(key, "hello_version") == 0) {
		if (hello_spec_parse_version(v, &ver) != 0)
			cfgread_error(cp->rd, cfgread_line(cp->rd), key,
			    "invalid version '%s' (use ssl3, 1.0, 1.1 or 1.2)",
			    v);
		else
			p->hello.record_version = p->hello.client_version = ver;
	} else if (strcmp(key, "hello_suites") == 0) {
		if (hello_spec_parse_suites(&p->hello, v, &err) != 0)
			cfgread_error(cp->rd, cfgread_line(cp->rd), key, "%s",
			    err);
	} else if (strcmp(key, "hello_extensions") == 0) {
		if (hello_spec_parse_extensions(&p->hello, v, &err) != 0)
			cfgread_error(cp->rd, cfgread_line(cp->rd), key, "%s",
			    err);
	} else if (strcmp(key, "hello_uncertain_only") == 0) {
		if (strcmp(v, "info") == 0)
			p->hello_uncertain_warn = 0;
		else if (strcmp(v, "warning") == 0)
			p->hello_uncertain_warn = 1;
		else
			cfgread_error(cp->rd, cfgread_line(cp->rd), key,
			    "invalid value '%s' (use info or warning)", v);
		return 1;
	} else
		return 0;
	free(err);
	p->hello_enabled = 1;
	return 1;
}

/* A key of [mailbox NAME]; return 0 if the key is unknown. */
static int
config_mailbox_key(struct config_parse *cp, const char *key, const char *v)
{
	struct config_mailbox *m = cp->mailbox;

	if (strcmp(key, "address") == 0) {
		cfgvalue_address(cp->rd, key, v, &m->address, &m->domain);
		cp->draft->address_given = 1;
	} else if (strcmp(key, "account") == 0) {
		cfgvalue_account(cp->rd, key, v, &m->account);
		cp->draft->account_given = 1;
	} else if (strcmp(key, "credential") == 0) {
		/* Read once the whole file is checked (config_check). */
		free(m->credential);
		m->credential = xstrdup(v);
		cp->draft->cred_line = cfgread_line(cp->rd);
	} else if (strcmp(key, "profiles") == 0) {
		free(cp->draft->profiles);
		cp->draft->profiles = xstrdup(v);
		cp->draft->profiles_line = cfgread_line(cp->rd);
	} else if (strcmp(key, "interval") == 0)
		cfgvalue_duration(cp->rd, key, v, 1000, CONFIG_MAX_DURATION_MS,
		    &m->interval_ms);
	else if (strcmp(key, "dns_servers") == 0)
		cfgvalue_dns_servers(cp->rd, key, v, &m->dns_servers);
	else if (strcmp(key, "ews_internal_url") == 0)
		cfgvalue_https_url(cp->rd, key, v, &m->ews_internal_url);
	else if (strcmp(key, "ews_external_url") == 0)
		cfgvalue_https_url(cp->rd, key, v, &m->ews_external_url);
	else if (strcmp(key, "signin_allow") == 0 ||
	    strcmp(key, "redirect_allow") == 0) {
		/* redirect_allow is signin_allow's first name: one list. */
		if (m->redirect_allow.n > 0)
			cfgread_error(cp->rd, cfgread_line(cp->rd), key,
			    "signin_allow and redirect_allow are one list: give it once");
		cfgvalue_hosts(cp->rd, key, v, &m->redirect_allow);
	} else if (strcmp(key, "discovery") == 0) {
		if (strcmp(v, "first") == 0)
			m->discovery = CONFIG_DISCOVERY_FIRST;
		else if (strcmp(v, "all") == 0)
			m->discovery = CONFIG_DISCOVERY_ALL;
		else
			cfgread_error(cp->rd, cfgread_line(cp->rd), key,
			    "invalid mode '%s' (use first or all)", v);
	} else
		return 0;
	return 1;
}

/*
 * The reader's end: finish the section that ended, check what needs all
 * of it, forget it.
 */
static void
config_end_section(void *arg)
{
	struct config_parse *cp = arg;
	struct config_profile *p = cp->profile;

	if (p != NULL && p->tls_min > p->tls_max)
		cfgread_error(cp->rd, cp->tls_line, NULL,
		    "tls_min %d.%d is above tls_max %d.%d", p->tls_min / 10,
		    p->tls_min % 10, p->tls_max / 10, p->tls_max % 10);
	cp->kind = CONFIG_SECTION_NONE;
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

/* Start [profile NAME]: a new profile, or the built-in one it sets. */
static void
config_begin_profile(struct config_parse *cp, const char *name)
{
	struct config *cfg = cp->cfg;
	int line = cfgread_line(cp->rd);

	cp->kind = CONFIG_SECTION_PROFILE;
	cp->profile = hashset_get(cp->profiles, name);
	if (cp->profile == NULL) {
		cp->profile = config_profile_new(name, line);
		cfg->profiles = xreallocarray(cfg->profiles, cfg->nprofiles + 1,
		    sizeof *cfg->profiles);
		cfg->profiles[cfg->nprofiles++] = cp->profile;
		hashset_add(cp->profiles, name, cp->profile);
	}
	cp->profile->line = line;
}

/* Start [mailbox NAME]: a new mailbox and the draft of its references. */
static void
config_begin_mailbox(struct config_parse *cp, const char *name)
{
	struct config *cfg = cp->cfg;
	struct config_mailbox *m;

	cp->kind = CONFIG_SECTION_MAILBOX;
	m = xcalloc(1, sizeof *m);
	m->name = xstrdup(name);
	m->line = cfgread_line(cp->rd);
	cp->mailbox = m;
	cp->draft = xcalloc(1, sizeof *cp->draft);
	cp->draft->sline = m->line;
	cfg->mailboxes = xreallocarray(cfg->mailboxes, cfg->nmailboxes + 1,
	    sizeof *cfg->mailboxes);
	cp->drafts =
	    xreallocarray(cp->drafts, cfg->nmailboxes + 1, sizeof *cp->drafts);
	cp->drafts[cfg->nmailboxes] = cp->draft;
	cfg->mailboxes[cfg->nmailboxes++] = m;
}

/*
 * The reader's begin: start a section from the text between its
 * brackets. Return 1 if its keys are taken, 0 for a section that is
 * reported (unknown, or a bad name).
 */
static int
config_begin_section(void *arg, const char *header)
{
	struct config_parse *cp = arg;
	const char *ws = " \t\n\v\f\r";
	const char *start = header + strspn(header, ws);
	size_t lt = strcspn(start, ws);
	const char *name = start[lt] != '\0' ? start + lt + 1 : "";
	char type[16];

	/*
	 * "TYPE NAME": one space between, no other white space, so that
	 * one header text names one section and the reader's "defined
	 * twice" check is a check on names ([mailbox x] and
	 * [mailbox<TAB>x] would be two sections both named x).
	 */
	if (lt >= sizeof type)
		lt = 0;
	memcpy(type, start, lt);
	type[lt] = '\0';
	if (strcmp(header, "daemon") == 0) {
		cp->kind = CONFIG_SECTION_DAEMON;
		return 1;
	}
	if (strcmp(type, "profile") != 0 && strcmp(type, "mailbox") != 0) {
		cfgread_error(cp->rd, cfgread_line(cp->rd), NULL,
		    "unknown section (want [daemon], [profile NAME] or [mailbox NAME])");
		return 0;
	}
	if (start != header || (start[lt] != '\0' && start[lt] != ' ') ||
	    !config_valid_name(name)) {
		cfgread_error(cp->rd, cfgread_line(cp->rd), NULL,
		    "invalid section name (want [%s NAME], NAME of letters, digits, '.', '_' and '-')",
		    type);
		return 0;
	}
	if (type[0] == 'p')
		config_begin_profile(cp, name);
	else
		config_begin_mailbox(cp, name);
	return 1;
}

/* The reader's key: one key = value line; return 0 if it is unknown. */
static int
config_key(void *arg, const char *key, const char *value)
{
	struct config_parse *cp = arg;

	switch (cp->kind) {
	case CONFIG_SECTION_DAEMON:
		return config_daemon_key(cp, key, value);
	case CONFIG_SECTION_PROFILE:
		return config_profile_key(cp, key, value);
	case CONFIG_SECTION_MAILBOX:
		return config_mailbox_key(cp, key, value);
	default:
		return 0;
	}
}

/* Resolve a mailbox's profiles= (default: the phone's) at line pline. */
static void
config_mailbox_profiles(struct config_parse *cp, struct config_mailbox *m,
    const char *value, int pline)
{
	struct strlist names = {NULL, 0};
	struct config_profile *p;
	size_t i, j;

	if (strlist_split(&names, value) == 0)
		cfgread_error(cp->rd, pline, "profiles", "no profile named");
	for (i = 0; i < names.n; i++) {
		if ((p = hashset_get(cp->profiles, names.items[i])) == NULL) {
			cfgread_error(cp->rd, pline, "profiles",
			    "no profile '%s' (define [profile %s])",
			    names.items[i], names.items[i]);
			continue;
		}
		for (j = 0; j < m->nprofiles; j++) {
			if (m->profiles[j] == p)
				break;
		}
		if (j < m->nprofiles) {
			cfgread_error(cp->rd, pline, "profiles",
			    "profile '%s' listed twice", p->name);
			continue;
		}
		if (m->nprofiles == CONFIG_MAX_MBOX_PROFILES) {
			cfgread_error(cp->rd, pline, "profiles",
			    "more than %d profiles", CONFIG_MAX_MBOX_PROFILES);
			break;
		}
		m->profiles = xreallocarray(m->profiles, m->nprofiles + 1,
		    sizeof *m->profiles);
		m->profiles[m->nprofiles++] = p;
	}
	strlist_clear(&names);
}

/*
 * Read a mailbox's credential, named at line: an absolute path, or a name
 * under $CREDENTIALS_DIRECTORY (the same syntax as a section name).
 */
static void
config_mailbox_credential(struct config_parse *cp, struct config_mailbox *m,
    int line)
{
	const char *ref = m->credential;
	char *error;
	int r;

	if (ref[0] != '/' && !config_valid_name(ref)) {
		cfgread_error(cp->rd, line, "credential",
		    "'%s' is neither an absolute path nor a credential name",
		    ref);
		return;
	}
	r = credential_read(ref, (cp->flags & CONFIG_LOAD_CHECK) != 0,
	    &m->password, &error);
	if (r > 0)
		cp->cfg->credentials_unchecked++;
	else if (r < 0) {
		cfgread_error(cp->rd, line, "credential", "%s", error);
		free(error);
	}
}

/* Check a mailbox once the file is read; resolve its profiles. */
static void
config_check_mailbox(struct config_parse *cp, struct config_mailbox *m,
    struct config_mbox_draft *d)
{
	int sline = d->sline;

	cfgread_section_named(cp->rd, "mailbox", m->name);
	/* A bad value was reported already: it is not "missing". */
	if (!d->address_given)
		cfgread_error(cp->rd, sline, NULL, "address is required");
	/*
	 * Sign-in is optional: without account and credential the probe
	 * stops once EWS offers NTLM over a trusted chain. One without the
	 * other is a mistake.
	 */
	if (d->account_given && m->credential == NULL)
		cfgread_error(cp->rd, sline, NULL,
		    "account needs a credential (a name under $CREDENTIALS_DIRECTORY or an absolute path)");
	if (!d->account_given && m->credential != NULL)
		cfgread_error(cp->rd, sline, NULL,
		    "credential needs an account to sign in with");
	config_mailbox_profiles(cp, m,
	    d->profiles != NULL ? d->profiles : CONFIG_PROFILE_PHONE,
	    d->profiles_line != 0 ? d->profiles_line : sline);
	if (m->credential != NULL)
		config_mailbox_credential(cp, m, d->cred_line);
}

/* Check a profile that a mailbox uses: it needs an anchor source. */
static void
config_check_profile(struct config_parse *cp, struct config_profile *p)
{
	char *sname;

	if (p->frontend_host != NULL || p->frontend_ca_file != NULL ||
	    p->web_trusted.n != 0 || p->public_roots_file != NULL)
		return;
	if ((cp->flags & CONFIG_LOAD_CMDLINE) != 0) {
		cfgread_error(cp->rd, 0, NULL,
		    "no trust anchor: give --frontend (the Lync pool, host[:port]), --frontend-ca or --trust-ca");
		return;
	}
	xasprintf(&sname, "profile %s", p->name);
	cfgread_section(cp->rd, sname);
	free(sname);
	cfgread_error(cp->rd, p->line, NULL,
	    "profile '%s' has no trust anchors: set frontend (the Lync pool, host[:port]) or frontend_ca, web_trusted_ca, public_roots%s",
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
	struct hashset *used = hashset_new();
	size_t i, k;

	for (i = 0; i < cfg->nmailboxes; i++)
		config_check_mailbox(cp, cfg->mailboxes[i], cp->drafts[i]);
	for (i = 0; i < cfg->nmailboxes; i++) {
		for (k = 0; k < cfg->mailboxes[i]->nprofiles; k++)
			hashset_add(used, cfg->mailboxes[i]->profiles[k]->name,
			    NULL);
	}
	for (i = 0; i < cfg->nprofiles; i++) {
		if (hashset_has(used, cfg->profiles[i]->name))
			config_check_profile(cp, cfg->profiles[i]);
	}
	hashset_free(used);
	cfgread_section(cp->rd, NULL);
	if (cfg->nmailboxes == 0)
		cfgread_error(cp->rd, 0, NULL,
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

/*
 * A new configuration with the defaults: every [daemon] key, and the
 * built-in profile.
 */
static struct config *
config_new(const char *path)
{
	struct config *cfg;

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
	cfg->max_addresses = 8;
	cfg->status_file = xstrdup("/run/ewsprobed/status.json");
	cfg->metrics_file = xstrdup("/run/ewsprobed/ewsprobed.prom");
	cfg->system_store_file = xstrdup(EWSPROBED_SYSTEM_CA_BUNDLE);
	cfg->profiles = xcalloc(1, sizeof *cfg->profiles);
	cfg->profiles[0] = config_profile_new(CONFIG_PROFILE_PHONE, 0);
	cfg->nprofiles = 1;
	return cfg;
}

/* What the reader hands to the model: sections and their keys. */
static const struct cfgread_handler config_handler = {
    config_begin_section,
    config_end_section,
    config_key,
};

/*
 * Load from text in memory (named path in errors), or from the file path
 * when text is NULL.
 */
int
config_load_text(const char *path, const char *text, int flags,
    struct config **cfgp, char **errors)
{
	struct config_parse cp;
	size_t i, nerrors;

	memset(&cp, 0, sizeof cp);
	cp.flags = flags;
	cp.rd = cfgread_new(path,
	    (flags & CONFIG_LOAD_CMDLINE) != 0 ? config_cmdline_option : NULL);
	cp.cfg = config_new(path);
	cp.profiles = hashset_new();
	hashset_add(cp.profiles, CONFIG_PROFILE_PHONE, cp.cfg->profiles[0]);
	/* What could not be read at all is not checked further. */
	if (cfgread_parse(cp.rd, text, &config_handler, &cp) == 0)
		config_check(&cp);
	hashset_free(cp.profiles);
	for (i = 0; i < cp.cfg->nmailboxes; i++) {
		free(cp.drafts[i]->profiles);
		free(cp.drafts[i]);
	}
	free(cp.drafts);
	*cfgp = NULL;
	*errors = cfgread_errors(cp.rd);
	nerrors = cfgread_nerrors(cp.rd);
	cfgread_free(cp.rd);
	if (nerrors > 0) {
		config_free(cp.cfg);
		return -1;
	}
	*cfgp = cp.cfg;
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

/* One-line summary. Caller frees. */
char *
config_summary(const struct config *cfg)
{
	char iv[32], *s;

	cfgvalue_format_duration(iv, sizeof iv, cfg->interval_ms);
	xasprintf(&s, "%zu mailbox%s, %zu profile%s, interval %s",
	    cfg->nmailboxes, cfg->nmailboxes == 1 ? "" : "es", cfg->nprofiles,
	    cfg->nprofiles == 1 ? "" : "s", iv);
	return s;
}
