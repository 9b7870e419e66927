/*
 * once: the one-shot check an admin runs at a shell — every selected
 * mailbox probed once under each of its profiles, printed as a step tree
 * like Microsoft's Remote Connectivity Analyzer, ending with the verdict
 * and the remedy. The exit status follows the Nagios convention.
 */
#ifndef EWSPROBED_ONCE_H
#define EWSPROBED_ONCE_H

#include "reason.h"
#include "state.h"

#define ONCE_OK 0
#define ONCE_WARNING 1
#define ONCE_CRITICAL 2
#define ONCE_UNKNOWN 3

/* What --once was asked for on the command line. */
struct once_opts {
	const char *config; /* file, or NULL: the flags below */
	char **mailboxes; /* names to run (all when none) */
	int nmailboxes;
	int json; /* print JSON instead of the tree */
	/* configuration-less use: one mailbox from flags */
	const char *address;
	const char *account;
	const char *password_file;
	const char *frontend;
	const char *frontend_ca;
	const char *trust_ca[16];
	int ntrust_ca;
	const char *ews_internal_url;
	const char *ews_external_url;
	const char *dns_servers;
	const char *system_store;
};

int once_run(const struct once_opts *);
int once_fold(int, enum state_verdict);
const char *once_status_name(int);

#endif
