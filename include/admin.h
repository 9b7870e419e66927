/*
 * admin: what the admin commands (check-cert, anchors, status) share: the
 * configuration read for a command at a shell (no probing, credentials
 * for systemd's LoadCredential= not needed), the trust sets of the
 * profiles with each Front End issuer learned by a live handshake, the
 * chain a host presents to each profile's handshake, and lines of text
 * made safe to print.
 *
 * The live part runs on the daemon's event loop machinery (dns, http,
 * frontend, trust captures) in one bounded run: every step has the
 * configuration's timeout, and a deadline ends the run whatever happens.
 * The profile results below are plain data, public for reading only.
 */
#ifndef EWSPROBED_ADMIN_H
#define EWSPROBED_ADMIN_H

#include <stdarg.h>
#include <stddef.h>

#include <openssl/x509.h>

#include "config.h"
#include "frontend.h"
#include "reason.h"
#include "trustset.h"

/* Exit status of a command that could not judge (--once's "unknown"). */
#define ADMIN_EXIT_UNKNOWN 3

/* One profile of a command: its sets and what the live run found. */
struct admin_profile {
	const struct config_profile *p;
	struct trustset *phone;
	struct frontend_result *fe; /* NULL: the profile names no pool */
	/* admin_run with a host: the handshake under this profile's TLS */
	STACK_OF(X509) *chain; /* presented, leaf first; NULL: none */
	char *address; /* connected to, or NULL */
	char *tls_version;
	enum reason hs_reason; /* REASON_OK when a chain was captured */
	char *hs_error; /* why not, or NULL */
};

struct admin;

int admin_config(const char *, struct config **);
struct admin *admin_new(struct config *, char **, size_t, char **);
void admin_free(struct admin *);
void admin_run(struct admin *, const char *, int);
size_t admin_nprofiles(const struct admin *);
struct admin_profile *admin_profile(struct admin *, size_t);
const struct trustset *admin_system(const struct admin *);
int admin_split_host(const char *, char **, int *);

void admin_error(const char *, ...) __attribute__((format(printf, 1, 2)));
void admin_say(int, const char *, ...) __attribute__((format(printf, 2, 3)));
void
admin_vsay(int, const char *, va_list) __attribute__((format(printf, 2, 0)));

#endif
