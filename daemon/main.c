/*
 * main: the command line, the start-up order and the modes of ewsprobed
 * (daemon, check-config, once, parse). Everything long-running happens on the one
 * event loop; main only wires the modules together and owns the current
 * configuration and its reloads.
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ewsprobed-build.h"

#include "anchors.h"
#include "checkcert.h"
#include "cmdline.h"
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

static const char *main_config_path;
static struct config *main_config;
static int main_stopping;

/* Print every line of a newline-separated error list to stderr. */
static void
main_print_errors(const char *errors)
{
	fprintf(stderr, "%s%s", errors,
	    errors[0] != '\0' && errors[strlen(errors) - 1] == '\n' ? ""
	                                                            : "\n");
}

/*
 * Journal each line of a configuration's error list: rejected on reload
 * (the previous one stays), or invalid at start (there is none: the daemon
 * exits).
 */
static void
main_log_rejected(const char *path, const char *errors, int starting)
{
	struct log_field f[2];
	const char *p, *nl;
	int n = 0;

	f[0].name = "CONFIG_FILE";
	f[0].value = path;
	f[1].name = "CONFIG_ERRORS";
	f[1].value = errors;
	if (starting)
		log_event(LOG_ERR, MSGID_CONFIG_INVALID, f, 2,
		    "configuration %s invalid, not starting", path);
	else
		log_event(LOG_ERR, MSGID_CONFIG_REJECTED, f, 2,
		    "configuration %s rejected, keeping the previous one",
		    path);
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
		main_log_rejected(main_config_path, errors, 0);
		free(errors);
	} else if (scheduler_reload(cfg, &errors) != 0) {
		main_log_rejected(main_config_path, errors, 0);
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
	        ? " (credentials for systemd's LoadCredential= not checked: $CREDENTIALS_DIRECTORY is not set)"
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
	sigset_t set;

	/*
	 * Blocks of 16 kB and more (OpenSSL's handshake buffer, libcurl's
	 * receive buffer) get their own mappings and go back to the kernel
	 * when their connection ends, instead of leaving holes in the heap
	 * between the results kept per target, which keep the heap at the
	 * size of the first round's burst of connections. Setting it also
	 * stops glibc from raising the threshold after the first such block
	 * is freed. What it saved: docs/scale.md, "Memory".
	 */
	if (mallopt(M_MMAP_THRESHOLD, 16 * 1024) != 1)
		log_warnx("mallopt(M_MMAP_THRESHOLD) failed");
	/*
	 * Loading a large configuration takes a moment, and systemd may send
	 * SIGHUP (a reload) or SIGTERM in it: with the default actions they
	 * would kill the daemon (rc 129). Such signals wait, blocked, until
	 * the loop's handlers are in place; a SIGHUP in that window is then
	 * one reload, a SIGTERM a clean stop. They are unblocked then even
	 * when the parent left them blocked: the daemon handles them.
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		fatal("sigprocmask");
	if (config_load(main_config_path, &main_config, &errors) != 0) {
		/* Under systemd stderr is the journal too: say it once. */
		if (log_to_journal())
			main_log_rejected(main_config_path, errors, 1);
		else
			main_print_errors(errors);
		free(errors);
		return EXIT_CONFIG;
	}
	loop_init();
	dns_init(0, 0);
	http_init();
	loop_signal(SIGTERM, main_shutdown, NULL);
	loop_signal(SIGINT, main_shutdown, NULL);
	loop_signal(SIGHUP, main_reload, NULL);
	if (sigprocmask(SIG_UNBLOCK, &set, NULL) != 0)
		fatal("sigprocmask");

	if (scheduler_start(main_config, &errors) != 0) {
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
	struct cmdline cl;
	int rc;

	switch (cmdline_parse(argc, argv, EWSPROBED_DEFAULT_CONFIG, &cl)) {
	case CMDLINE_USAGE:
		fprintf(stderr, "ewsprobed: %s\n", cl.error);
		cmdline_usage(stderr, EWSPROBED_DEFAULT_CONFIG);
		cmdline_clear(&cl);
		return EXIT_USAGE;
	case CMDLINE_VERSION:
		printf("ewsprobed %s\n", PACKAGE_VERSION);
		return EXIT_OK;
	case CMDLINE_HELP:
		cmdline_usage(stdout, EWSPROBED_DEFAULT_CONFIG);
		return EXIT_OK;
	case CMDLINE_PARSE:
		/* Commands print to stdout/stderr; the daemon logs. */
		log_init(LOG_TARGET_STDERR, cl.debug);
		return parsecmd_run(cl.parse_file);
	case CMDLINE_ONCE:
		log_init(LOG_TARGET_STDERR, cl.debug);
		return once_run(&cl.once);
	case CMDLINE_ADMIN:
		/* Admin commands parse their own options (ewsprobed(8)). */
		log_init(LOG_TARGET_STDERR, cl.debug);
		if (strcmp(cl.admin_argv[0], "check-cert") == 0)
			return checkcert_main(cl.admin_argc, cl.admin_argv,
			    cl.config);
		if (strcmp(cl.admin_argv[0], "anchors") == 0)
			return anchors_main(cl.admin_argc, cl.admin_argv,
			    cl.config);
		return statuscmd_main(cl.admin_argc, cl.admin_argv, cl.config);
	case CMDLINE_CHECK:
		main_config_path = cl.config;
		log_init(LOG_TARGET_STDERR, cl.debug);
		return main_check_config();
	case CMDLINE_DAEMON:
		break;
	}
	main_config_path = cl.config;
	log_init(cl.debug ? LOG_TARGET_STDERR : LOG_TARGET_AUTO, cl.debug);
	rc = main_daemon(cl.debug);
	cmdline_clear(&cl);
	return rc;
}
