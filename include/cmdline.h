/*
 * cmdline: ewsprobed's command line — the options, which combinations make
 * sense, and the usage text. Parsing is pure: it starts nothing, opens no
 * file and prints nothing, so that it can be tested and fuzzed.
 */
#ifndef EWSPROBED_CMDLINE_H
#define EWSPROBED_CMDLINE_H

#include <stdio.h>

#include "once.h"

enum cmdline_mode {
	CMDLINE_DAEMON, /* run the daemon */
	CMDLINE_CHECK, /* -n */
	CMDLINE_ONCE, /* --once */
	CMDLINE_PARSE, /* parse FILE */
	CMDLINE_ADMIN, /* check-cert, anchors, status: see admin_argv */
	CMDLINE_VERSION, /* -V */
	CMDLINE_HELP, /* -h */
	CMDLINE_USAGE, /* a usage error: see error */
};

/* What the command line asked for; strings point into argv. */
struct cmdline {
	enum cmdline_mode mode;
	int debug; /* -d */
	const char *config; /* -f, or the default */
	int config_given; /* -f was given */
	const char *parse_file; /* CMDLINE_PARSE */
	int admin_argc; /* CMDLINE_ADMIN: the command and its arguments, */
	char **admin_argv; /* which the command parses itself */
	struct once_opts once; /* CMDLINE_ONCE */
	char *error; /* CMDLINE_USAGE: why, naming the options */
};

/*
 * Parse argc/argv into cl and return cl->mode. default_config is the
 * file when -f is not given. The caller frees cl->error with
 * cmdline_clear.
 */
enum cmdline_mode cmdline_parse(int, char **, const char *, struct cmdline *);
void cmdline_clear(struct cmdline *);
void cmdline_usage(FILE *, const char *);

#endif
