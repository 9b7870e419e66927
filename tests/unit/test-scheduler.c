/*
 * Unit tests of the scheduler on a real loop: every target of the
 * configuration runs (its EWS URL is a closed loopback port, so each run
 * fails fast), and a reload keeps what the remaining targets know, drops
 * the removed ones and adds new ones as pending. The scheduler speaks
 * through STATUS= (read from our own NOTIFY_SOCKET); nothing here asserts
 * how long anything takes: waits are bounded by a watchdog only.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "config.h"
#include "dns.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "scheduler.h"
#include "xmalloc.h"

#include "helpers/run-loop.h"
#include "helpers/hello-pki.h"
#include "helpers/loopback.h"

/* Generous: a run against a closed port fails at once, even under load. */
#define GUARD_MS 120000

static char dir[] = "/tmp/test-scheduler-XXXXXX";
static char *ca_path;
static int closed_port;
static int notify_fd = -1;
static char last_status[512]; /* the newest STATUS= text */
static const char *want_status; /* stop the loop when it is this */

/* A port on 127.0.0.1 that nothing listens on (bound, then closed). */
static int
pick_closed_port(void)
{
	int port, fd = loopback_listen(&port);

	close(fd);
	return port;
}

/* Our NOTIFY_SOCKET: a datagram socket sd_notify() writes to. */
static void
notify_open(void)
{
	struct sockaddr_un sun;
	char *path;

	xasprintf(&path, "%s/notify", dir);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_true(notify_fd >= 0);
	assert_int_equal(bind(notify_fd, (struct sockaddr *)&sun, sizeof sun),
	    0);
	setenv("NOTIFY_SOCKET", path, 1);
	free(path);
}

/* Read every waiting notification; keep the newest STATUS= text. */
static void
notify_drain(void)
{
	char buf[1024], *p;
	ssize_t n;

	while ((n = recv(notify_fd, buf, sizeof buf - 1, 0)) > 0) {
		buf[n] = '\0';
		for (p = strtok(buf, "\n"); p != NULL; p = strtok(NULL, "\n"))
			if (strncmp(p, "STATUS=", 7) == 0)
				snprintf(last_status, sizeof last_status, "%s",
				    p + 7);
	}
}

/* Poll the notifications; stop the loop once STATUS= says want_status. */
static void
poll_cb(evutil_socket_t fd, short what, void *arg)
{
	notify_drain();
	if (want_status != NULL && strcmp(last_status, want_status) == 0)
		loop_exit();
}

/* Run the loop until STATUS= reads want; 0 if it did, 1 on the watchdog. */
static int
run_until_status(const char *want)
{
	struct timeval tv = {0, 100000};
	struct event *ev;
	int fired;

	want_status = want;
	ev = event_new(loop_base(), -1, EV_PERSIST, poll_cb, NULL);
	evtimer_add(ev, &tv);
	fired = run_loop(GUARD_MS);
	event_free(ev);
	want_status = NULL;
	return fired;
}

/* The configuration with these mailboxes (names), all on the closed port. */
static struct config *
config_with(const char *const *names, size_t n)
{
	struct config *cfg = NULL;
	char *text, *tmp, *errors = NULL;

	xasprintf(&text,
	    "[daemon]\ninterval = 1s\nretry_interval = 1s\nfail_after = 1\n"
	    "concurrency = 4\nmetrics_file =\nstatus_file =\n"
	    "[profile lync-phone-edition]\nfrontend_ca = %s\n",
	    ca_path);
	for (size_t i = 0; i < n; i++) {
		xasprintf(&tmp,
		    "%s[mailbox %s]\naddress = %s@contoso.com\n"
		    "ews_internal_url = https://127.0.0.1:%d/EWS/Exchange.asmx\n",
		    text, names[i], names[i], closed_port);
		free(text);
		text = tmp;
	}
	if (config_load_text("(test)", text, 0, &cfg, &errors) != 0)
		fail_msg("config: %s", errors);
	free(text);
	return cfg;
}

/*
 * Start monitoring the mailboxes names (reload: swap to them); return the
 * STATUS= text that follows at once.
 */
static const char *
configure(const char *const *names, size_t n, int reload)
{
	struct config *cfg = config_with(names, n);
	char *cause = NULL;

	if ((reload ? scheduler_reload(cfg, &cause)
	            : scheduler_start(cfg, &cause)) != 0)
		fail_msg("scheduler: %s", cause);
	config_unref(cfg);
	notify_drain();
	return last_status;
}

/* The loop, DNS, HTTP, a CA file and the notification socket. */
static int
setup(void **state)
{
	struct hello_pki pki;

	assert_non_null(mkdtemp(dir));
	hello_pki_make(&pki, "mail.contoso.com");
	xasprintf(&ca_path, "%s/ca.pem", dir);
	assert_int_equal(hello_pki_write(dir, "ca.pem", pki.ca, NULL), 0);
	hello_pki_free(&pki);
	closed_port = pick_closed_port();
	notify_open();
	unsetenv("STATE_DIRECTORY");
	loop_init();
	dns_init(0, 0);
	http_init();
	return 0;
}

/* Undo setup. */
static int
teardown(void **state)
{
	char *path;

	http_shutdown();
	dns_shutdown();
	loop_free();
	close(notify_fd);
	xasprintf(&path, "%s/notify", dir);
	unlink(path);
	free(path);
	unlink(ca_path);
	free(ca_path);
	rmdir(dir);
	return 0;
}

/*
 * Every target runs (the first run of each comes within its window),
 * then a reload keeps the state of the target that remains, forgets the
 * removed one and adds the new one as pending.
 */
static void
test_run_and_reload(void **state)
{
	const char *before[] = {"m1", "m2"}, *after[] = {"m2", "m3"};
	const char *all_critical =
	    "2 targets: 0 ok, 0 warning, 2 critical, 0 unknown";

	assert_string_equal(configure(before, 2, 0),
	    "2 targets: 0 ok, 0 warning, 0 critical, 0 unknown, pending");
	assert_int_equal(run_until_status(all_critical), 0);
	assert_string_equal(configure(after, 2, 1),
	    "2 targets: 0 ok, 0 warning, 1 critical, 0 unknown, pending");
	/* The new target runs too. */
	assert_int_equal(run_until_status(all_critical), 0);
	scheduler_stop();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_run_and_reload, setup,
	        teardown),
	};

	log_init(LOG_TARGET_STDERR, getenv("TEST_DEBUG") != NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
