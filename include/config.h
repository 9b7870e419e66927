/*
 * config: ewsprobed's configuration — parse (inih), validate, and hold it
 * as an immutable, reference-counted object.
 *
 * A configuration is loaded completely and validated completely before
 * anyone sees it; every problem found is reported (file:line, section, key),
 * not only the first. A reload builds a new object and swaps it in; users
 * that are still running with the old one hold a reference (config_ref) and
 * the old object goes away with the last config_unref.
 *
 * Passwords are never in the file: a mailbox names a credential that is read
 * from $CREDENTIALS_DIRECTORY/<name> (systemd LoadCredential=) or from an
 * absolute path to a file that only its owner can read. Passwords are wiped
 * from memory when the configuration is freed.
 *
 * The structures below are public for reading only; never modify a loaded
 * configuration.
 */
#ifndef EWSPROBED_CONFIG_H
#define EWSPROBED_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "hello.h"
#include "strlist.h"

/* TLS protocol versions as written in the file: 1.0 -> 10 ... 1.3 -> 13. */
#define CONFIG_TLS_1_0 10
#define CONFIG_TLS_1_1 11
#define CONFIG_TLS_1_2 12
#define CONFIG_TLS_1_3 13

#define CONFIG_PROFILE_PHONE "lync-phone-edition"

enum config_discovery {
	CONFIG_DISCOVERY_DEFAULT, /* not set: first in the daemon, all --once */
	CONFIG_DISCOVERY_FIRST, /* stop at the first candidate with EWS URLs */
	CONFIG_DISCOVERY_ALL, /* try and report every candidate */
};

struct config_profile {
	char *name;
	int builtin; /* the built-in lync-phone-edition */
	char *frontend_host; /* FE pool to learn the issuer from */
	int frontend_port; /* default 443 */
	char *frontend_ca_file; /* FE issuing CA as PEM */
	struct strlist web_trusted; /* PEM files or directories */
	char *public_roots_file; /* firmware public roots, PEM bundle */
	int tls_min; /* CONFIG_TLS_* */
	int tls_max; /* CONFIG_TLS_* (the ceiling) */
	int system_store; /* also evaluate the OS store */
	uint64_t frontend_interval_ms; /* FE issuer re-learning period */
	/*
	 * The phone's own handshake (phonelook.c): the ClientHello phones
	 * send (hello_*), whether it is made at all (on by default for the
	 * built-in profile, or once any hello_* key is set), and whether a
	 * server that accepts only the suites flagged uncertain is a
	 * warning (hello_uncertain_only = warning) or informational.
	 */
	int hello_enabled;
	struct hello_spec hello;
	int hello_uncertain_warn;
	int line; /* where the section starts */
};

struct config_mailbox {
	char *name;
	char *address; /* primary SMTP address */
	char *domain; /* right-hand side, lower case */
	char *account; /* DOMAIN\user or UPN */
	char *credential; /* the reference as written */
	char *password; /* secret: never log */
	struct config_profile **profiles; /* borrowed from the config */
	size_t nprofiles;
	uint64_t interval_ms; /* 0: the daemon's interval */
	struct strlist dns_servers; /* empty: the daemon's */
	char *ews_internal_url; /* fixed URL, skips discovery */
	char *ews_external_url; /* fixed URL, skips discovery */
	/* signin_allow (or redirect_allow): other hosts that may get the
	 * credential — Autodiscover redirects and EWS sign-in. */
	struct strlist redirect_allow;
	enum config_discovery discovery;
	int line;
};

struct config {
	char *path;
	/* [daemon] */
	uint64_t interval_ms;
	uint64_t retry_interval_ms;
	uint64_t discovery_interval_ms;
	uint64_t timeout_ms;
	unsigned int fail_after;
	unsigned int recover_after;
	unsigned int concurrency; /* runs working at once (CPU) */
	unsigned int max_in_flight; /* runs started, working or waiting */
	unsigned int cert_warn_days;
	unsigned int max_addresses; /* probed per EWS name, client order */
	char *status_file; /* NULL: not written */
	char *metrics_file; /* NULL: not written */
	char *system_store_file; /* the OS CA bundle */
	struct strlist dns_servers; /* empty: /etc/resolv.conf */
	/* sections */
	struct config_profile **profiles;
	size_t nprofiles;
	struct config_mailbox **mailboxes;
	size_t nmailboxes;
	int refcnt;
	int credentials_unchecked; /* CONFIG_LOAD_CHECK only */
};

/*
 * For -n outside the service: a credential named for systemd's
 * LoadCredential= (no $CREDENTIALS_DIRECTORY here) is counted in
 * credentials_unchecked instead of being an error; such a configuration
 * has no password for those mailboxes and must not be used to probe.
 */
#define CONFIG_LOAD_CHECK 0x01
/*
 * The text was built from --once's command-line options: errors name the
 * option ("(command line): --address: ..."), never a line number.
 */
#define CONFIG_LOAD_CMDLINE 0x02

/*
 * Load and validate path. On success return 0 and set *cfgp (refcount 1).
 * On failure return -1 and set *errors to every problem found, sorted by
 * line, each ending in "\n"; the caller frees it. The forms are
 *	file:line: [section] key: message	(a value)
 *	file:line: [section]: message		(a section, or a line in it)
 *	file:line: message			(a line outside any section)
 *	file: message				(the whole file)
 * Past 200 problems the rest are counted ("file: N more errors not
 * shown"). No message ever contains a password. Only a regular file of at
 * most 8 MiB is read (a FIFO or a device is refused without blocking);
 * at most 50,000 sections and 500,000 keys are taken, so
 * that a load costs time linear in a bounded size.
 */
int config_load(const char *, struct config **, char **);
int config_load_flags(const char *, int, struct config **, char **);
int
config_load_text(const char *, const char *, int, struct config **, char **);

struct config *config_ref(struct config *);
void config_unref(struct config *);

const struct config_profile *
config_profile_find(const struct config *, const char *);
const struct config_mailbox *
config_mailbox_find(const struct config *, const char *);

/*
 * The longest duration any key takes (30 days). Every duration in a loaded
 * configuration is at most this, so adding two (an interval and its
 * jitter, a time and an interval) never overflows 64 bits.
 */
#define CONFIG_MAX_DURATION_MS (30ULL * 86400 * 1000)
/*
 * Addresses probed per EWS name at most (max_addresses): each costs one
 * handshake per run and one set of metric series (docs/addresses.md).
 */
#define CONFIG_MAX_ADDRESSES 64

/*
 * Parse "30s", "5m", "24h", "2d", "1500ms" (bare number = seconds), from
 * 1ms to CONFIG_MAX_DURATION_MS.
 */

/*
 * One-line summary for -n: "3 mailboxes, 2 profiles, interval 5m". Caller
 * frees.
 */
char *config_summary(const struct config *);

#endif
