/*
 * main: the command line, the start-up order and the modes of ewsprobed
 * (daemon, check-config, once, parse). Everything long-running happens on the one
 * event loop; main only wires the modules together and owns the current
 * configuration and its reloads.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ewsprobed-build.h"

#include "anchors.h"
#include "checkcert.h"
#include "config.h"
#include "dns.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "msgid.h"
#include "notify.h"
#include "once.h"
#include "parsecmd.h"
#include "scheduler.h"
#include "statuscmd.h"

#include "xmalloc.h"

/* Exit codes of the daemon and of -n (documented in --help and README). */
#define EXIT_OK 0
#define EXIT_CONFIG 1 /* configuration invalid, or a fatal runtime error */
#define EXIT_USAGE 2 /* bad command line */

static const char *main_config_path = EWSPROBED_DEFAULT_CONFIG;
static struct config *main_config;
static int main_stopping;

/* Print the usage text to fp. */
static void
main_usage(FILE *fp)
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
	    "       ewsprobed check-cert FILE|--host HOST[:PORT] "
	    "[--name HOST]...\n"
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
	    "                       (without --account, sign-in is not "
	    "tested)\n"
	    "\n"
	    "  parse FILE           print as JSON what a phone would take "
	    "from\n"
	    "                       an Autodiscover answer (- for stdin)\n"
	    "  check-cert           will phones trust this certificate? "
	    "(before\n"
	    "                       you install it; exit status as --once)\n"
	    "  anchors              what phones trust now, per profile\n"
	    "  status               the daemon's view from its status file\n"
	    "                       (exit status by the worst state)\n"
	    "\n"
	    "Exit status: 0 success; 1 invalid configuration or fatal error;\n"
	    "2 usage error. parse: 0 the file was read, 1 it was not.\n"
	    "With --once: 0 ok, 1 warning, 2 critical,\n"
	    "3 unknown (the Nagios convention).\n",
	    EWSPROBED_DEFAULT_CONFIG);
}

/* Print every line of a newline-separated error list to stderr. */
static void
main_print_errors(const char *errors)
{
	fprintf(stderr, "%s%s", errors,
	    errors[0] != '\0' && errors[strlen(errors) - 1] == '\n' ? ""
	                                                            : "\n");
}

/* Journal each line of a rejected configuration's error list. */
static void
main_log_rejected(const char *path, const char *errors)
{
	struct log_field f[2];
	const char *p, *nl;
	int n = 0;

	f[0].name = "CONFIG_FILE";
	f[0].value = path;
	f[1].name = "CONFIG_ERRORS";
	f[1].value = errors;
	log_event(LOG_ERR, MSGID_CONFIG_REJECTED, f, 2,
	    "configuration %s rejected, keeping the previous one", path);
	for (p = errors; *p != '\0' && n < 50; p = nl + 1, n++) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p) - 1;
		log_errx("%.*s", (int)(nl - p + (*nl != '\n')), p);
	}
}

/*
 * SIGHUP: build a new configuration and swap it in, or keep the old one.
 * READY=1 follows RELOADING=1 on every path, or systemd would leave the
 * unit "reloading" for ever.
 */
static void
main_reload(int signo, void *arg)
{
	struct config *cfg;
	struct log_field f[1];
	char *errors = NULL, *summary;

	if (main_stopping)
		return;
	notify_reloading();
	if (config_load(main_config_path, &cfg, &errors) != 0) {
		main_log_rejected(main_config_path, errors);
		free(errors);
	} else if (scheduler_reload(cfg, &errors) != 0) {
		main_log_rejected(main_config_path, errors);
		free(errors);
		config_unref(cfg);
	} else {
		config_unref(main_config);
		main_config = cfg;
		summary = config_summary(cfg);
		f[0].name = "CONFIG_FILE";
		f[0].value = main_config_path;
		log_event(LOG_NOTICE, MSGID_CONFIG_RELOADED, f, 1,
		    "configuration %s reloaded: %s", main_config_path, summary);
		free(summary);
	}
	notify_ready();
}

/*
 * SIGTERM/SIGINT: stop the loop after this turn. A second signal while
 * stopping exits at once.
 */
static void
main_shutdown(int signo, void *arg)
{
	if (main_stopping) {
		log_warnx("second signal %d while stopping, exiting now",
		    signo);
		_exit(EXIT_OK);
	}
	main_stopping = 1;
	notify_stopping();
	log_event(LOG_INFO, MSGID_STOPPING, NULL, 0, "stopping on signal %d",
	    signo);
	loop_exit();
}

/* -n: validate the configuration, print a summary or every error. */
static int
main_check_config(void)
{
	struct config *cfg;
	char *errors = NULL, *summary;

	if (config_load_flags(main_config_path, CONFIG_LOAD_CHECK, &cfg,
	        &errors) != 0) {
		main_print_errors(errors);
		fprintf(stderr, "%s: configuration invalid\n",
		    main_config_path);
		free(errors);
		return EXIT_CONFIG;
	}
	summary = config_summary(cfg);
	printf("%s: configuration OK: %s%s\n", main_config_path, summary,
	    cfg->credentials_unchecked > 0
	        ? " (credentials for systemd's "
	          "LoadCredential= not checked: $CREDENTIALS_DIRECTORY is not "
	          "set)"
	        : "");
	free(summary);
	config_unref(cfg);
	return EXIT_OK;
}

/* The daemon: load the configuration, then run the loop until stopped. */
static int
main_daemon(int debug)
{
	char *errors = NULL, *summary;

	if (config_load(main_config_path, &main_config, &errors) != 0) {
		main_print_errors(errors);
		if (log_to_journal())
			main_log_rejected(main_config_path, errors);
		free(errors);
		return EXIT_CONFIG;
	}
	loop_init();
	dns_init(0, 0);
	http_init();
	loop_signal(SIGTERM, main_shutdown, NULL);
	loop_signal(SIGINT, main_shutdown, NULL);
	loop_signal(SIGHUP, main_reload, NULL);

	if (scheduler_start(main_config, &errors) != 0) {
		fprintf(stderr, "ewsprobed: %s\n", errors);
		log_errx("cannot start: %s", errors);
		free(errors);
		return EXIT_CONFIG;
	}
	summary = config_summary(main_config);
	log_event(LOG_INFO, MSGID_STARTED, NULL, 0,
	    "ewsprobed %s started: %s: %s", PACKAGE_VERSION, main_config_path,
	    summary);
	free(summary);
	notify_watchdog_start();
	notify_ready();

	if (loop_run() != 0)
		fatalx("event loop failed");

	notify_watchdog_stop();
	scheduler_stop();
	http_shutdown();
	dns_shutdown();
	config_unref(main_config);
	main_config = NULL;
	loop_free();
	return EXIT_OK;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
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
	struct once_opts oo;
	int ch, debug = 0, check = 0, once = 0, config_given = 0;

	memset(&oo, 0, sizeof oo);

	while (
	    (ch = getopt_long(argc, argv, "+f:ndVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			main_config_path = optarg;
			config_given = 1;
			break;
		case 'n':
			check = 1;
			break;
		case 'd':
			debug = 1;
			break;
		case 'V':
			printf("ewsprobed %s\n", PACKAGE_VERSION);
			return EXIT_OK;
		case 'h':
			main_usage(stdout);
			return EXIT_OK;
		case 'o':
			once = 1;
			break;
		case 'J':
			oo.json = 1;
			break;
		case 'A':
			oo.address = optarg;
			break;
		case 'U':
			oo.account = optarg;
			break;
		case 'P':
			oo.password_file = optarg;
			break;
		case 'F':
			oo.frontend = optarg;
			break;
		case 'C':
			oo.frontend_ca = optarg;
			break;
		case 'T':
			if (oo.ntrust_ca ==
			    (int)(sizeof oo.trust_ca / sizeof oo.trust_ca[0])) {
				fprintf(stderr,
				    "ewsprobed: too many --trust-ca\n");
				return EXIT_USAGE;
			}
			oo.trust_ca[oo.ntrust_ca++] = optarg;
			break;
		case 'E':
			oo.ews_internal_url = optarg;
			break;
		case 'X':
			oo.ews_external_url = optarg;
			break;
		case 'D':
			oo.dns_servers = optarg;
			break;
		case 'S':
			oo.system_store = optarg;
			break;
		default:
			main_usage(stderr);
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;

	/* Commands print to stdout/stderr; the daemon logs to the journal. */
	if (argc > 0 && strcmp(argv[0], "parse") == 0) {
		if (argc != 2) {
			main_usage(stderr);
			return EXIT_USAGE;
		}
		log_init(LOG_TARGET_STDERR, debug);
		return parsecmd_run(argv[1]);
	}
	/* Admin commands parse their own options (ewsprobed(8)). */
	if (argc > 0 && strcmp(argv[0], "check-cert") == 0) {
		log_init(LOG_TARGET_STDERR, debug);
		return checkcert_main(argc, argv, main_config_path);
	}
	if (argc > 0 && strcmp(argv[0], "anchors") == 0) {
		log_init(LOG_TARGET_STDERR, debug);
		return anchors_main(argc, argv, main_config_path);
	}
	if (argc > 0 && strcmp(argv[0], "status") == 0) {
		log_init(LOG_TARGET_STDERR, debug);
		return statuscmd_main(argc, argv, main_config_path);
	}
	if (once) {
		log_init(LOG_TARGET_STDERR, debug);
		/* Flags describing a mailbox mean: no configuration file. */
		oo.config = config_given || oo.address == NULL
		    ? main_config_path
		    : NULL;
		oo.mailboxes = argv;
		oo.nmailboxes = argc;
		return once_run(&oo);
	}
	if (argc > 0) {
		fprintf(stderr, "ewsprobed: unknown command '%s'\n", argv[0]);
		main_usage(stderr);
		return EXIT_USAGE;
	}
	if (check) {
		log_init(LOG_TARGET_STDERR, debug);
		return main_check_config();
	}
	log_init(debug ? LOG_TARGET_STDERR : LOG_TARGET_AUTO, debug);
	return main_daemon(debug);
}
