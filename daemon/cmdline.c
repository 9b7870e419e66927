/*
 * cmdline: owns ewsprobed's command line — the option table, the checks of
 * which options go together, and the usage text. cmdline_parse is pure: it
 * opens nothing, starts nothing and prints nothing; a wrong combination is
 * a usage error whose message names the options, so that no option is ever
 * silently ignored (--json without --once would otherwise start the
 * daemon).
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "textsafe.h"
#include "xmalloc.h"

/* The options that describe a mailbox on the command line (--once only). */
static const char *const cmdline_mailbox_opts = "AUPFCTEXDS";

static const struct option cmdline_longopts[] = {
    {"config", required_argument, NULL, 'f'},
    {"check-config", no_argument, NULL, 'n'},
    {"debug", no_argument, NULL, 'd'},
    {"version", no_argument, NULL, 'V'},
    {"help", no_argument, NULL, 'h'},
    {"once", no_argument, NULL, 'o'},
    {"json", no_argument, NULL, 'J'},
    {"address", required_argument, NULL, 'A'},
    {"account", required_argument, NULL, 'U'},
    {"password-file", required_argument, NULL, 'P'},
    {"frontend", required_argument, NULL, 'F'},
    {"frontend-ca", required_argument, NULL, 'C'},
    {"trust-ca", required_argument, NULL, 'T'},
    {"ews-url", required_argument, NULL, 'E'},
    {"ews-external-url", required_argument, NULL, 'X'},
    {"dns-server", required_argument, NULL, 'D'},
    {"system-store", required_argument, NULL, 'S'},
    {NULL, 0, NULL, 0},
};

/* Print the usage text to fp. */
void
cmdline_usage(FILE *fp, const char *default_config)
{
	fprintf(fp,
	    "usage: ewsprobed [-dnhV] [-f file]\n"
	    "       ewsprobed --once [-d] [--json] [-f file] [MAILBOX...]\n"
	    "       ewsprobed --once [--json] --address SMTP\n"
	    "                 [--account ACCOUNT --password-file FILE]\n"
	    "                 [--frontend HOST[:PORT]]\n"
	    "                 [--frontend-ca PEM] [--trust-ca PEM]...\n"
	    "                 [--ews-url URL] [--ews-external-url URL]\n"
	    "                 [--dns-server ADDR] [--system-store PEM]\n"
	    "       ewsprobed parse FILE|-\n"
	    "       ewsprobed check-cert FILE|--host HOST[:PORT] [--name HOST]...\n"
	    "                 [-f file] [--profile NAME]... [--json]\n"
	    "       ewsprobed anchors [-f file] [--profile NAME]... [--json]\n"
	    "       ewsprobed status [-f file] [--json] [--max-age DURATION]\n"
	    "                 [TARGET...]\n"
	    "\n"
	    "Emulates a Lync Phone Edition phone's path to Exchange (DNS\n"
	    "autodiscover, then EWS over TLS with NTLM under the phone's\n"
	    "trust policy) and journals when phones would break.\n"
	    "\n"
	    "  -f, --config FILE    configuration file (default %s)\n"
	    "  -n, --check-config   validate the configuration and exit\n"
	    "  -d, --debug          stay in the foreground, log to stderr,\n"
	    "                       debug level\n"
	    "  -V, --version        print the version and exit\n"
	    "  -h, --help           print this help and exit\n"
	    "      --once           probe the mailboxes once, print a report\n"
	    "                       (exit 0 ok, 1 warning, 2 critical,\n"
	    "                       3 unknown)\n"
	    "      --json           with --once: print JSON instead\n"
	    "      --address ... --system-store\n"
	    "                       with --once and no -f: the one mailbox\n"
	    "                       to probe, described on the command line\n"
	    "                       (without --account, sign-in is not\n"
	    "                       tested; one of --frontend,\n"
	    "                       --frontend-ca, --trust-ca is needed)\n"
	    "\n"
	    "  parse FILE           print as JSON what a phone would take from\n"
	    "                       an Autodiscover answer (- for stdin)\n"
	    "  check-cert           will phones trust this certificate? (before\n"
	    "                       you install it; exit status as --once)\n"
	    "  anchors              what phones trust now, per profile\n"
	    "  status               the daemon's view from its status file\n"
	    "                       (exit status by the worst state)\n"
	    "\n"
	    "Exit status: 0 success; 1 invalid configuration or fatal error;\n"
	    "2 usage error. parse: 0 the file was read, 1 it was not.\n"
	    "With --once: 0 ok, 1 warning, 2 critical,\n"
	    "3 unknown (the Nagios convention).\n",
	    default_config);
}

/* An option as the user would write it ("-f", "--address"). */
static const char *
cmdline_name(int ch)
{
	static const struct {
		int ch;
		const char *name;
	} names[] = {{'f', "-f"}, {'n', "-n"}, {'d', "-d"}, {'V', "-V"},
	    {'h', "-h"}, {'o', "--once"}, {'J', "--json"}, {'A', "--address"},
	    {'U', "--account"}, {'P', "--password-file"}, {'F', "--frontend"},
	    {'C', "--frontend-ca"}, {'T', "--trust-ca"}, {'E', "--ews-url"},
	    {'X', "--ews-external-url"}, {'D', "--dns-server"},
	    {'S', "--system-store"}};
	size_t i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (names[i].ch == ch)
			return names[i].name;
	}
	return "?";
}

/*
 * Make cl a usage error with a formatted message (escaped by textsafe);
 * return CMDLINE_USAGE.
 */
static enum cmdline_mode cmdline_fail(struct cmdline *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static enum cmdline_mode
cmdline_fail(struct cmdline *cl, const char *fmt, ...)
{
	va_list ap;
	char *raw;

	va_start(ap, fmt);
	xvasprintf(&raw, fmt, ap);
	va_end(ap);
	/* The message quotes argv: escaped as all text from outside. */
	free(cl->error);
	cl->error = textsafe(raw);
	free(raw);
	cl->mode = CMDLINE_USAGE;
	return CMDLINE_USAGE;
}

/*
 * An admin command (args[0]) takes only -f and -d before it: the rest of
 * the line is its own. Return CMDLINE_ADMIN, or CMDLINE_USAGE.
 */
static enum cmdline_mode
cmdline_check_admin(struct cmdline *cl, const char *seen, const char *mbox,
    int nargs, char **args)
{
	const char *p;

	for (p = "noJ"; *p != '\0'; p++) {
		if (seen[(unsigned char)*p])
			return cmdline_fail(cl, "%s cannot be combined with %s",
			    args[0], cmdline_name(*p));
	}
	if (mbox != NULL)
		return cmdline_fail(cl, "%s cannot be combined with %s",
		    args[0], mbox);
	cl->admin_argc = nargs;
	cl->admin_argv = args;
	cl->mode = CMDLINE_ADMIN;
	return cl->mode;
}

/*
 * --once with a mailbox described by options (mbox names the first):
 * no file, an address, and a trust anchor. Return CMDLINE_ONCE, or
 * CMDLINE_USAGE.
 */
static enum cmdline_mode
cmdline_check_described(struct cmdline *cl, const char *seen, const char *mbox,
    int nargs, char **args)
{
	if (seen['f'])
		return cmdline_fail(cl,
		    "-f and %s cannot be combined (the options describe a mailbox without a configuration file)",
		    mbox);
	if (!seen['A'])
		return cmdline_fail(cl, "%s needs --address", mbox);
	if (nargs > 0)
		return cmdline_fail(cl,
		    "mailbox names (%s) need a configuration file, not --address",
		    args[0]);
	if (seen['U'] != seen['P'])
		return cmdline_fail(cl,
		    "--account and --password-file go together (both to test the sign-in, neither to stop at the 401)");
	if (!seen['F'] && !seen['C'] && !seen['T'])
		return cmdline_fail(cl,
		    "--address needs a trust anchor for the phone profile: --frontend HOST[:PORT], --frontend-ca PEM or --trust-ca PEM");
	cl->once.config = NULL;
	cl->mode = CMDLINE_ONCE;
	return cl->mode;
}

/*
 * Check that the options given (seen[ch] set for each) go together with
 * the mode. Return cl->mode, or CMDLINE_USAGE with the reason.
 */
static enum cmdline_mode
cmdline_check(struct cmdline *cl, const char *seen, int nargs, char **args)
{
	const char *p, *mbox = NULL, *other = NULL;

	for (p = cmdline_mailbox_opts; *p != '\0' && mbox == NULL; p++) {
		if (seen[(unsigned char)*p])
			mbox = cmdline_name(*p);
	}
	for (p = "noJf"; *p != '\0' && other == NULL; p++) {
		if (seen[(unsigned char)*p])
			other = cmdline_name(*p);
	}
	if (nargs > 0 && strcmp(args[0], "parse") == 0) {
		if (nargs != 2)
			return cmdline_fail(cl, "parse takes one FILE (or -)");
		if (other != NULL || mbox != NULL)
			return cmdline_fail(cl,
			    "parse cannot be combined with %s",
			    other != NULL ? other : mbox);
		cl->parse_file = args[1];
		cl->mode = CMDLINE_PARSE;
		return cl->mode;
	}
	if (nargs > 0 &&
	    (strcmp(args[0], "check-cert") == 0 ||
	        strcmp(args[0], "anchors") == 0 ||
	        strcmp(args[0], "status") == 0))
		return cmdline_check_admin(cl, seen, mbox, nargs, args);
	if (seen['n'] && seen['o'])
		return cmdline_fail(cl, "-n and --once cannot be combined");
	if (!seen['o']) {
		if (seen['J'])
			return cmdline_fail(cl, "--json needs --once");
		if (mbox != NULL)
			return cmdline_fail(cl, "%s needs --once%s", mbox,
			    seen['n'] ? " (-n checks a configuration file)"
			              : "");
		if (nargs > 0)
			return cmdline_fail(cl, "unknown command '%s'",
			    args[0]);
		cl->mode = seen['n'] ? CMDLINE_CHECK : CMDLINE_DAEMON;
		return cl->mode;
	}
	cl->once.json = seen['J'];
	cl->once.mailboxes = args;
	cl->once.nmailboxes = nargs;
	if (mbox == NULL) {
		cl->once.config = cl->config;
		cl->mode = CMDLINE_ONCE;
		return cl->mode;
	}
	return cmdline_check_described(cl, seen, mbox, nargs, args);
}

/* Whether s holds a control character (they would reach the report). */
static int
cmdline_has_control(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	}
	return 0;
}

/*
 * Take option ch (its value in optarg). Return 0, or -1 when parsing
 * stops there with cl->mode (version, help or a usage error).
 */
static int
cmdline_option(struct cmdline *cl, int ch)
{
	struct once_opts *oo = &cl->once;

	switch (ch) {
	case 'f':
		cl->config = optarg;
		cl->config_given = 1;
		break;
	case 'd':
		cl->debug = 1;
		break;
	case 'V':
		cl->mode = CMDLINE_VERSION;
		return -1;
	case 'h':
		cl->mode = CMDLINE_HELP;
		return -1;
	case 'A':
		oo->address = optarg;
		break;
	case 'U':
		oo->account = optarg;
		break;
	case 'P':
		oo->password_file = optarg;
		break;
	case 'F':
		oo->frontend = optarg;
		break;
	case 'C':
		oo->frontend_ca = optarg;
		break;
	case 'T':
		if (oo->ntrust_ca ==
		    (int)(sizeof oo->trust_ca / sizeof oo->trust_ca[0])) {
			(void)cmdline_fail(cl, "more than %zu --trust-ca",
			    sizeof oo->trust_ca / sizeof oo->trust_ca[0]);
			return -1;
		}
		oo->trust_ca[oo->ntrust_ca++] = optarg;
		break;
	case 'E':
		oo->ews_internal_url = optarg;
		break;
	case 'X':
		oo->ews_external_url = optarg;
		break;
	case 'D':
		oo->dns_servers = optarg;
		break;
	case 'S':
		oo->system_store = optarg;
		break;
	default: /* n, o, J: seen[] is enough */
		break;
	}
	return 0;
}

/* Parse the command line; see cmdline.h. */
enum cmdline_mode
cmdline_parse(int argc, char **argv, const char *default_config,
    struct cmdline *cl)
{
	char seen[256];
	int ch;

	memset(cl, 0, sizeof *cl);
	memset(seen, 0, sizeof seen);
	cl->config = default_config;
	/* Start afresh (optind 0 resets glibc's state) and print nothing. */
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:f:ndVh", cmdline_longopts,
	            NULL)) != -1) {
		if (ch == ':')
			return cmdline_fail(cl, "option %s needs a value",
			    cmdline_name(optopt));
		if (ch == '?' && optopt != 0)
			return cmdline_fail(cl, "unknown option '-%c'", optopt);
		if (ch == '?')
			/* An unknown or ambiguous long option: just passed. */
			return cmdline_fail(cl, "unknown option '%s'",
			    optind > 0 && optind <= argc ? argv[optind - 1]
			                                 : "?");
		seen[(unsigned char)ch] = 1;
		if (strchr(cmdline_mailbox_opts, ch) != NULL &&
		    cmdline_has_control(optarg))
			return cmdline_fail(cl,
			    "%s '%s': control characters are not allowed in a value",
			    cmdline_name(ch), optarg);
		if (cmdline_option(cl, ch) != 0)
			return cl->mode;
	}
	return cmdline_check(cl, seen, argc - optind, argv + optind);
}

/* Free what cmdline_parse allocated. */
void
cmdline_clear(struct cmdline *cl)
{
	free(cl->error);
	cl->error = NULL;
}
