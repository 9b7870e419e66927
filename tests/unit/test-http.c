/*
 * Unit tests of http against a loopback fixture (tests/unit/http-fixture.py,
 * started here): success, POST, multi-valued headers, redirects not
 * followed, caps on body and headers, stalls and timeouts, refused
 * connections, TLS verification and version limits, the SSL_CTX hook,
 * pinning, cancellation, and NTLM credentials never appearing in output.
 * Every wait is bounded by a watchdog timer.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "config.h"
#include "http.h"
#include "log.h"
#include "loop.h"

#define FIXTURE TEST_DATA_DIR "/../unit/http-fixture.py"

static char dir[64];
static char cafile[128], othercafile[128];
static int port_https, port_https12, port_http;
static pid_t fixture_pid = -1;
static int fixture_stdin = -1;

static struct http_req *done_req;
static int done_calls;

/* Start the fixture and read its ports; skip everything if it fails. */
static int
setup(void **unused)
{
	char path[192], name[16];
	int pipefd[2], i, port;
	FILE *fp = NULL;

	loop_init();
	http_init();
	strcpy(dir, "/tmp/test-http-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(cafile, sizeof cafile, "%s/ca.pem", dir);
	snprintf(othercafile, sizeof othercafile, "%s/otherca.pem", dir);
	assert_int_equal(pipe(pipefd), 0);
	if ((fixture_pid = fork()) == 0) {
		dup2(pipefd[0], 0);
		close(pipefd[1]);
		execl("/usr/bin/python3", "python3", FIXTURE, dir,
		    (char *)NULL);
		_exit(127);
	}
	close(pipefd[0]);
	fixture_stdin = pipefd[1];
	snprintf(path, sizeof path, "%s/ports", dir);
	for (i = 0; i < 1000 && (fp = fopen(path, "r")) == NULL; i++)
		usleep(20000);
	assert_non_null(fp);
	while (fscanf(fp, "%15s %d", name, &port) == 2) {
		if (strcmp(name, "https") == 0)
			port_https = port;
		else if (strcmp(name, "https12") == 0)
			port_https12 = port;
		else if (strcmp(name, "http") == 0)
			port_http = port;
	}
	fclose(fp);
	return 0;
}

/* Stop the fixture, remove its files. */
static int
teardown(void **unused)
{
	char cmd[128];

	close(fixture_stdin);
	if (fixture_pid > 0) {
		kill(fixture_pid, SIGTERM);
		waitpid(fixture_pid, NULL, 0);
	}
	http_shutdown();
	loop_free();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Done callback: remember the request, stop the loop. */
static void
done_cb(struct http_req *req, void *arg)
{
	done_calls++;
	done_req = req;
	loop_exit();
}

/* Watchdog: fail instead of hanging. */
static void
watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	*(int *)arg = 1;
	loop_exit();
}

/* Run the loop until done or secs; return 1 if the watchdog fired. */
static int
run_loop(int secs)
{
	struct timeval tv = {secs, 0};
	struct event *wd;
	int fired = 0;

	wd = evtimer_new(loop_base(), watchdog_cb, &fired);
	evtimer_add(wd, &tv);
	loop_run();
	event_free(wd);
	return fired;
}

/* A request to fixture.test:port/path pinned to 127.0.0.1. */
static struct http_req *
make(const char *method, int port, const char *path)
{
	char url[256];
	struct http_req *req;

	snprintf(url, sizeof url, "https://fixture.test:%d%s", port, path);
	req = http_req_new(method, url);
	http_req_pin(req, "fixture.test", port, "127.0.0.1");
	http_req_set_cafile(req, cafile);
	http_req_set_timeouts(req, 5000, 10000, 1, 30);
	return req;
}

/* Submit and wait; return the finished request (caller frees). */
static struct http_req *
run(struct http_req *req, int secs)
{
	done_calls = 0;
	done_req = NULL;
	http_req_submit(req, done_cb, NULL);
	assert_int_equal(done_calls, 0); /* never inside the submitter */
	assert_int_equal(run_loop(secs), 0);
	assert_int_equal(done_calls, 1);
	assert_ptr_equal(done_req, req);
	return req;
}

/* A GET: status, body, address, TLS version and timings. */
static void
test_get(void **unused)
{
	struct http_req *req = run(make("GET", port_https, "/ok"), 10);
	struct step_timings t;
	size_t len;

	assert_int_equal(http_req_status(req), HTTP_DONE);
	assert_int_equal(http_req_code(req), 200);
	assert_string_equal(http_req_body(req, &len), "hello");
	assert_int_equal(len, 5);
	assert_string_equal(http_req_header(req, "content-type"), "text/plain");
	assert_non_null(strstr(http_req_address(req), "127.0.0.1:"));
	assert_non_null(http_req_tls_version(req));
	assert_non_null(strstr(http_req_tls_version(req), "TLSv1"));
	http_req_timings(req, &t);
	assert_true(t.connect_us > 0);
	assert_true(t.tls_us >= t.connect_us);
	assert_true(t.total_us >= t.tls_us);
	http_req_free(req);
}

/* A POST carries its body; the method is kept. */
static void
test_post(void **unused)
{
	struct http_req *req = make("POST", port_https, "/echo");

	http_req_add_header(req, "Content-Type: text/xml; charset=utf-8");
	http_req_set_body(req, "<a>payload</a>", 14);
	run(req, 10);
	assert_int_equal(http_req_code(req), 200);
	assert_string_equal(http_req_body(req, NULL), "<a>payload</a>");
	assert_string_equal(http_req_header(req, "X-Method"), "POST");
	http_req_free(req);
}

/* Several WWW-Authenticate headers are all kept. */
static void
test_multi_header(void **unused)
{
	struct http_req *req = run(make("POST", port_https, "/401"), 10);
	const char *v[4];

	assert_int_equal(http_req_code(req), 401);
	assert_int_equal(http_req_header_values(req, "www-authenticate", v, 4),
	    2);
	assert_string_equal(v[0], "Negotiate");
	assert_string_equal(v[1], "NTLM");
	http_req_free(req);
}

/* A 302 is reported, never followed. */
static void
test_redirect_not_followed(void **unused)
{
	struct http_req *req = run(make("POST", port_https, "/302"), 10);

	assert_int_equal(http_req_status(req), HTTP_DONE);
	assert_int_equal(http_req_code(req), 302);
	assert_string_equal(http_req_header(req, "Location"),
	    "https://elsewhere.test/autodiscover/autodiscover.xml");
	http_req_free(req);
}

/* Bodies over the cap stop the transfer: streamed or announced. */
static void
test_body_caps(void **unused)
{
	struct http_req *req = make("GET", port_https, "/big");

	http_req_set_limits(req, 100000, 65536);
	run(req, 10);
	assert_int_equal(http_req_status(req), HTTP_ERR_TOO_LARGE);
	assert_true(strlen(http_req_body(req, NULL)) <= 100000);
	http_req_free(req);

	req = make("GET", port_https, "/biglen");
	run(req, 10);
	assert_int_equal(http_req_status(req), HTTP_ERR_TOO_LARGE);
	http_req_free(req);
}

/* A header flood is an error, not unbounded memory. */
static void
test_header_flood(void **unused)
{
	struct http_req *req = make("GET", port_https, "/hdrflood");

	run(req, 10);
	assert_int_equal(http_req_status(req), HTTP_ERR_HEADERS_TOO_LARGE);
	http_req_free(req);
}

/* A drip below the low-speed limit is "stalled"; silence is "timeout". */
static void
test_stall_and_timeout(void **unused)
{
	struct http_req *req = make("GET", port_https, "/slow");

	http_req_set_timeouts(req, 5000, 20000, 100, 2);
	run(req, 15);
	assert_int_equal(http_req_status(req), HTTP_ERR_STALLED);
	http_req_free(req);

	req = make("GET", port_https, "/stall");
	http_req_set_timeouts(req, 5000, 1500, 1, 60);
	run(req, 15);
	assert_int_equal(http_req_status(req), HTTP_ERR_TIMEOUT);
	http_req_free(req);
}

/* Nobody listening: connect failed. */
static void
test_refused(void **unused)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;
	struct http_req *req;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&sin, sizeof sin);
	getsockname(fd, (struct sockaddr *)&sin, &len);
	port = ntohs(sin.sin_port);
	close(fd);
	req = run(make("GET", port, "/ok"), 10);
	assert_int_equal(http_req_status(req), HTTP_ERR_CONNECT);
	assert_non_null(http_req_error(req));
	http_req_free(req);
}

/* A chain from a CA we do not trust fails verification. */
static void
test_verify_failure(void **unused)
{
	struct http_req *req = make("GET", port_https, "/ok");

	http_req_set_cafile(req, othercafile);
	run(req, 10);
	assert_int_equal(http_req_status(req), HTTP_ERR_TLS_VERIFY);
	assert_int_equal(http_req_code(req), 0);
	http_req_free(req);
}

/* TLS 1.0 only against a TLS 1.2+ server: version mismatch. */
static void
test_tls_version(void **unused)
{
	struct http_req *req = make("GET", port_https12, "/ok");

	http_req_set_tls(req, CONFIG_TLS_1_0, CONFIG_TLS_1_0,
	    "DEFAULT:@SECLEVEL=0");
	run(req, 10);
	assert_int_equal(http_req_status(req), HTTP_ERR_TLS_VERSION);
	http_req_free(req);

	/* The same client limits reach a server that still allows 1.0. */
	req = make("GET", port_https, "/ok");
	http_req_set_tls(req, CONFIG_TLS_1_0, CONFIG_TLS_1_0,
	    "DEFAULT:@SECLEVEL=0");
	run(req, 10);
	assert_int_equal(http_req_status(req), HTTP_DONE);
	assert_string_equal(http_req_tls_version(req), "TLSv1");
	http_req_free(req);
}

/* The SSL_CTX hook runs before the handshake and can refuse it. */
static int
ssl_hook(void *ctx, void *arg)
{
	int *calls = arg;

	assert_non_null(ctx);
	(*calls)++;
	return *calls > 1 ? -1 : 0;
}

static void
test_ssl_ctx_hook(void **unused)
{
	struct http_req *req = make("GET", port_https, "/ok");
	int calls = 0;

	http_req_set_ssl_ctx(req, ssl_hook, &calls);
	run(req, 10);
	assert_int_equal(calls, 1);
	assert_int_equal(http_req_status(req), HTTP_DONE);
	http_req_free(req);

	req = make("GET", port_https, "/ok");
	http_req_set_ssl_ctx(req, ssl_hook, &calls);
	run(req, 10);
	assert_int_equal(calls, 2);
	assert_int_not_equal(http_req_status(req), HTTP_DONE);
	http_req_free(req);
}

/* Without a pin nothing is resolved or sent; http:// needs permission. */
static void
test_pin_and_scheme(void **unused)
{
	struct http_req *req;
	char url[128];

	req = http_req_new("GET", "https://fixture.test:1/ok");
	run(req, 5);
	assert_int_equal(http_req_status(req), HTTP_ERR_NOT_PINNED);
	http_req_free(req);

	snprintf(url, sizeof url, "http://fixture.test:%d/ok", port_http);
	req = http_req_new("GET", url);
	http_req_pin(req, "fixture.test", port_http, "127.0.0.1");
	run(req, 5);
	assert_int_not_equal(http_req_status(req), HTTP_DONE);
	http_req_free(req);

	req = http_req_new("GET", url);
	http_req_pin(req, "fixture.test", port_http, "127.0.0.1");
	http_req_allow_http(req);
	run(req, 5);
	assert_int_equal(http_req_status(req), HTTP_DONE);
	assert_int_equal(http_req_code(req), 200);
	http_req_free(req);
}

/* A cancelled request never calls back; freeing a queued one is safe. */
static void
test_cancel(void **unused)
{
	struct http_req *req = make("GET", port_https, "/stall");

	done_calls = 0;
	http_req_submit(req, done_cb, NULL);
	http_req_cancel(req);
	assert_int_equal(run_loop(1), 1);
	assert_int_equal(done_calls, 0);
	http_req_free(req);

	/* Freed while its early failure is queued: no callback either. */
	req = http_req_new("GET", "https://unpinned.test/");
	http_req_submit(req, done_cb, NULL);
	http_req_free(req);
	assert_int_equal(run_loop(1), 1);
	assert_int_equal(done_calls, 0);
}

static char captured[65536];

/* NTLM: the scheme is sent; the password never reaches our output. */
static void
test_ntlm_no_leak(void **unused)
{
	struct http_req *req = make("POST", port_https, "/ntlm");
	char path[192], line[256];
	FILE *tmp = tmpfile(), *fp;
	int saved = dup(2), saw_ntlm = 0, saw_basic = 0;
	size_t n;

	log_init(LOG_TARGET_STDERR, 1);
	dup2(fileno(tmp), 2);
	http_req_set_ntlm(req, "CONTOSO\\lab", "Canary-Pa55w0rd-31c4");
	run(req, 10);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	if (http_req_code(req) != 401)
		fail_msg("status %s code %ld error %s",
		    http_status_name(http_req_status(req)), http_req_code(req),
		    http_req_error(req) ? http_req_error(req) : "-");
	http_req_free(req);
	rewind(tmp);
	n = fread(captured, 1, sizeof captured - 1, tmp);
	captured[n] = '\0';
	fclose(tmp);
	assert_null(strstr(captured, "Canary-Pa55w0rd"));
	snprintf(path, sizeof path, "%s/requests", dir);
	fp = fopen(path, "r");
	assert_non_null(fp);
	while (fgets(line, sizeof line, fp) != NULL) {
		if (strncmp(line, "/ntlm NTLM", 10) == 0)
			saw_ntlm = 1;
		if (strstr(line, "Basic") != NULL)
			saw_basic = 1;
	}
	fclose(fp);
	assert_true(saw_ntlm);
	assert_false(saw_basic);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_get),
	    cmocka_unit_test(test_post),
	    cmocka_unit_test(test_multi_header),
	    cmocka_unit_test(test_redirect_not_followed),
	    cmocka_unit_test(test_body_caps),
	    cmocka_unit_test(test_header_flood),
	    cmocka_unit_test(test_stall_and_timeout),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_verify_failure),
	    cmocka_unit_test(test_tls_version),
	    cmocka_unit_test(test_ssl_ctx_hook),
	    cmocka_unit_test(test_pin_and_scheme),
	    cmocka_unit_test(test_cancel),
	    cmocka_unit_test(test_ntlm_no_leak),
	};

	return cmocka_run_group_tests_name("http", tests, setup, teardown);
}
