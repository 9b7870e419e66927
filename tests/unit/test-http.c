/*
 * Unit tests of http against a loopback HTTP(S) server the test starts
 * itself (helpers/tls-fixture.h: OpenSSL C API, throwaway PKI made at test
 * time): success, POST, multi-valued headers, redirects not followed, caps
 * on body and headers, stalls and timeouts, refused connections, TLS
 * verification and version limits, the SSL_CTX hook, pinning and schemes,
 * fresh connections, cancellation and freeing from callbacks, NTLM and
 * Basic, and credentials never appearing in our output. Every wait is
 * bounded by a watchdog timer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <event2/event.h>

#include "config.h"
#include "helpers/tls-fixture.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "helpers/capture.h"
#include "helpers/run-loop.h"

/*
 * Every wait here is a hang guard, never a measure of speed: the suite must
 * pass under valgrind on a busy machine, where four NTLM handshakes can
 * take many seconds. Only the limits a test is about are short.
 */
#define GUARD_MS 120000 /* the longest any wait may take */

static struct fixture fx;
static char fxlog[65536]; /* what the server reported, accumulated */

static struct http_req *done_req;
static int done_calls;

/* Start the loop, http and the server. */
static int
setup(void **unused)
{
	signal(SIGPIPE, SIG_IGN);
	loop_init();
	http_init();
	fixture_start(&fx);
	return 0;
}

/* Stop everything. */
static int
teardown(void **unused)
{
	http_shutdown();
	loop_free();
	fixture_stop(&fx);
	return 0;
}

/* Done callback: remember the request, stop the loop. */
static void
done_cb(struct http_req *req, void *arg)
{
	done_calls++;
	done_req = req;
	loop_exit();
}

/* A request to fixture.test:port/path pinned to 127.0.0.1, trusting CA. */
static struct http_req *
make(const char *method, int port, const char *path)
{
	char url[256];
	struct http_req *req;

	snprintf(url, sizeof url, "https://fixture.test:%d%s", port, path);
	req = http_req_new(method, url);
	http_req_pin(req, "fixture.test", port, "127.0.0.1");
	http_req_set_ca_pem(req, fx.ca_pem, fx.ca_pem_len);
	http_req_set_timeouts(req, GUARD_MS / 2, GUARD_MS / 2, 1, 60);
	return req;
}

/* Submit and wait (at most ms); return the finished request. */
static struct http_req *
run(struct http_req *req, long ms)
{
	done_calls = 0;
	done_req = NULL;
	http_req_submit(req, done_cb, NULL);
	assert_int_equal(done_calls, 0); /* never inside the submitter */
	assert_int_equal(run_loop(ms), 0);
	assert_int_equal(done_calls, 1);
	assert_ptr_equal(done_req, req);
	return req;
}

/* Wait up to ms for the server to report a line containing needle. */
static const char *
server_said(const char *needle, int ms)
{
	const char *p;
	int i;

	for (i = 0; i <= ms / 10; i++) {
		fixture_drain(&fx, fxlog, sizeof fxlog);
		if ((p = strstr(fxlog, needle)) != NULL)
			return p;
		usleep(10000);
	}
	return NULL;
}

/* Forget what the server reported so far. */
static void
server_forget(void)
{
	fixture_drain(&fx, fxlog, sizeof fxlog);
	fxlog[0] = '\0';
}

/* A GET: status, body, header, address, TLS version and timings. */
static void
test_get(void **unused)
{
	struct http_req *req = run(make("GET", fx.port_https, "/ok"), GUARD_MS);
	struct step_timings t;
	char addr[64];
	size_t len;

	assert_int_equal(http_req_status(req), HTTP_DONE);
	assert_null(http_req_error(req));
	assert_int_equal(http_req_code(req), 200);
	assert_string_equal(http_req_body(req, &len), "hello");
	assert_int_equal(len, 5);
	assert_string_equal(http_req_header(req, "content-type"), "text/plain");
	snprintf(addr, sizeof addr, "127.0.0.1:%d", fx.port_https);
	assert_string_equal(http_req_address(req), addr);
	assert_non_null(http_req_tls_version(req));
	assert_non_null(strstr(http_req_tls_version(req), "TLSv1.3"));
	http_req_timings(req, &t);
	assert_true(t.connect_us > 0);
	assert_true(t.tls_us >= t.connect_us);
	assert_true(t.first_byte_us >= t.tls_us);
	assert_true(t.total_us >= t.first_byte_us);
	http_req_free(req);
}

/* A POST carries its body; the method is kept. */
static void
test_post(void **unused)
{
	struct http_req *req = make("POST", fx.port_https, "/echo");

	http_req_add_header(req, "Content-Type: text/xml; charset=utf-8");
	http_req_set_body(req, "<a>payload</a>", 14);
	run(req, GUARD_MS);
	assert_int_equal(http_req_code(req), 200);
	assert_string_equal(http_req_body(req, NULL), "<a>payload</a>");
	assert_string_equal(http_req_header(req, "X-Method"), "POST");
	http_req_free(req);
}

/* Several WWW-Authenticate headers are all kept, in order. */
static void
test_multi_header(void **unused)
{
	struct http_req *req =
	    run(make("POST", fx.port_https, "/401"), GUARD_MS);
	const char *v[4];

	assert_int_equal(http_req_status(req), HTTP_DONE);
	assert_int_equal(http_req_code(req), 401);
	assert_int_equal(http_req_header_values(req, "www-authenticate", v, 4),
	    2);
	assert_string_equal(v[0], "Negotiate");
	assert_string_equal(v[1], "NTLM");
	assert_int_equal(http_req_header_values(req, "www-authenticate", v, 1),
	    1);
	assert_null(http_req_header(req, "X-Absent"));
	http_req_free(req);
}

/* A 302 is reported, never followed. */
static void
test_redirect_not_followed(void **unused)
{
	struct http_req *req;

	server_forget();
	req = run(make("POST", fx.port_https, "/302"), GUARD_MS);
	assert_int_equal(http_req_status(req), HTTP_DONE);
	assert_int_equal(http_req_code(req), 302);
	assert_string_equal(http_req_header(req, "Location"),
	    "https://elsewhere.test/autodiscover/autodiscover.xml");
	assert_string_equal(http_req_redirect_url(req),
	    "https://elsewhere.test/autodiscover/autodiscover.xml");
	http_req_free(req);
	assert_non_null(server_said(" /302 ", GUARD_MS));
	assert_null(strstr(fxlog, "autodiscover"));
}

/*
 * A relative Location is resolved against the request's URL (RFC 9110
 * §10.2.2): the target is a full URL a caller can check and follow. A
 * Location holding a byte no URL may hold is handed back raw, so that the
 * caller's URL check refuses it.
 */
static void
test_redirect_relative(void **unused)
{
	struct http_req *req;
	char want[128];

	/*
	 * With credentials set: they never appear in the target (libcurl's
	 * CURLINFO_REDIRECT_URL puts them into it).
	 */
	req = make("POST", fx.port_https, "/sub/302rel");
	http_req_set_basic(req, "lab", "Canary-Pa55w0rd-31c4");
	run(req, GUARD_MS);
	assert_int_equal(http_req_code(req), 302);
	snprintf(want, sizeof want,
	    "https://fixture.test:%d/autodiscover/autodiscover.xml?x=1",
	    fx.port_https);
	assert_string_equal(http_req_redirect_url(req), want);
	assert_null(http_url_refused(http_req_redirect_url(req)));
	http_req_free(req);

	req = run(make("GET", fx.port_https, "/302ff"), GUARD_MS);
	assert_int_equal(http_req_code(req), 302);
	assert_string_equal(http_req_redirect_url(req),
	    "https://fixture.test/\xff");
	assert_non_null(http_url_refused(http_req_redirect_url(req)));
	http_req_free(req);

	req = run(make("GET", fx.port_https, "/ok"), GUARD_MS);
	assert_null(http_req_redirect_url(req));
	http_req_free(req);
}

/* Bodies over the cap stop the transfer: streamed or announced. */
static void
test_body_caps(void **unused)
{
	struct http_req *req = make("GET", fx.port_https, "/big");
	const char *sent;

	server_forget();
	http_req_set_limits(req, 100000, 65536);
	run(req, GUARD_MS);
	assert_int_equal(http_req_status(req), HTTP_ERR_TOO_LARGE);
	assert_true(strlen(http_req_body(req, NULL)) <= 100000);
	http_req_free(req);
	/* The server noticed long before sending everything. */
	assert_non_null(sent = server_said(" sent ", GUARD_MS));
	assert_true(strtoull(sent + 6, NULL, 10) < FIXTURE_BIG_TOTAL / 2);

	req = make("GET", fx.port_https, "/biglen");
	run(req, GUARD_MS);
	assert_int_equal(http_req_status(req), HTTP_ERR_TOO_LARGE);
	http_req_free(req);
}

/* A header flood is an error, not unbounded memory. */
static void
test_header_flood(void **unused)
{
	struct http_req *req = make("GET", fx.port_https, "/hdrflood");

	run(req, GUARD_MS);
	assert_int_equal(http_req_status(req), HTTP_ERR_HEADERS_TOO_LARGE);
	http_req_free(req);
}

/*
 * A drip below the low-speed limit is "stalled"; silence is "timeout".
 * Each test sets only the limit it is about short; the status says which
 * limit ended the transfer, and no limit fires early (a lower bound holds
 * however busy the machine is; an upper bound would not).
 */
static void
test_stall_and_timeout(void **unused)
{
	struct http_req *req = make("GET", fx.port_https, "/slow");
	uint64_t t0 = loop_now_ms();

	http_req_set_timeouts(req, GUARD_MS / 2, GUARD_MS / 2, 100, 1);
	run(req, GUARD_MS);
	assert_int_equal(http_req_status(req), HTTP_ERR_STALLED);
	assert_true(loop_now_ms() - t0 >= 900);
	http_req_free(req);

	req = make("GET", fx.port_https, "/stall");
	t0 = loop_now_ms();
	/*
	 * The total limit ends it: TIMEOUT once connected; CONNECT_TIMEOUT
	 * when a busy machine (valgrind, a CPU hog) has not finished the TLS
	 * handshake within the 2 s. Never anything else.
	 */
	http_req_set_timeouts(req, GUARD_MS / 2, 2000, 1, 60);
	run(req, GUARD_MS);
	assert_true(http_req_status(req) == HTTP_ERR_TIMEOUT ||
	    http_req_status(req) == HTTP_ERR_CONNECT_TIMEOUT);
	assert_true(loop_now_ms() - t0 >= 1900);
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
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	getsockname(fd, (struct sockaddr *)&sin, &len);
	port = ntohs(sin.sin_port);
	close(fd);
	req = run(make("GET", port, "/ok"), GUARD_MS);
	assert_int_equal(http_req_status(req), HTTP_ERR_CONNECT);
	assert_non_null(http_req_error(req));
	http_req_free(req);
}

/* A chain from a CA we do not trust, or the wrong name, fails. */
static void
test_verify_failure(void **unused)
{
	struct http_req *req = make("GET", fx.port_https, "/ok");
	char url[128];

	http_req_set_ca_pem(req, fx.other_ca_pem, fx.other_ca_pem_len);
	run(req, GUARD_MS);
	assert_int_equal(http_req_status(req), HTTP_ERR_TLS_VERIFY);
	assert_int_equal(http_req_code(req), 0);
	http_req_free(req);

	/* No trust anchors at all: fail closed, not the system store. */
	req = make("GET", fx.port_https, "/ok");
	http_req_set_ca_pem(req, NULL, 0);
	run(req, GUARD_MS);
	assert_int_equal(http_req_status(req), HTTP_ERR_TLS_VERIFY);
	http_req_free(req);

	snprintf(url, sizeof url, "https://wrong.test:%d/ok", fx.port_https);
	req = http_req_new("GET", url);
	http_req_pin(req, "wrong.test", fx.port_https, "127.0.0.1");
	http_req_set_ca_pem(req, fx.ca_pem, fx.ca_pem_len);
	run(req, GUARD_MS);
	assert_int_equal(http_req_status(req), HTTP_ERR_TLS_VERIFY);
	http_req_free(req);
}

/* TLS 1.0 only against a TLS 1.2+ server: version mismatch. */
static void
test_tls_version(void **unused)
{
	struct http_req *req = make("GET", fx.port_https12, "/ok");

	http_req_set_tls(req, CONFIG_TLS_1_0, CONFIG_TLS_1_0,
	    "DEFAULT:@SECLEVEL=0");
	run(req, GUARD_MS);
	assert_int_equal(http_req_status(req), HTTP_ERR_TLS_VERSION);
	assert_null(http_req_tls_version(req));
	http_req_free(req);

	/* The same client limits reach a server that still allows 1.0. */
	req = make("GET", fx.port_https, "/ok");
	http_req_set_tls(req, CONFIG_TLS_1_0, CONFIG_TLS_1_0,
	    "DEFAULT:@SECLEVEL=0");
	run(req, GUARD_MS);
	assert_int_equal(http_req_status(req), HTTP_DONE);
	assert_string_equal(http_req_tls_version(req), "TLSv1");
	http_req_free(req);

	/* A 1.2 ceiling is kept. */
	req = make("GET", fx.port_https12, "/ok");
	http_req_set_tls(req, CONFIG_TLS_1_2, CONFIG_TLS_1_2, NULL);
	run(req, GUARD_MS);
	assert_string_equal(http_req_tls_version(req), "TLSv1.2");
	http_req_free(req);
}

/* The SSL_CTX hook: gets an SSL_CTX before the handshake; may refuse. */
static int
ssl_hook(void *ctx, void *arg)
{
	int *calls = arg;

	assert_non_null(ctx);
	assert_true(SSL_CTX_get_cert_store(ctx) != NULL);
	(*calls)++;
	return *calls == 2 ? -1 : 0;
}

static void
test_ssl_ctx_hook(void **unused)
{
	struct http_req *req = make("GET", fx.port_https, "/ok");
	int calls = 0;

	http_req_set_ssl_ctx(req, ssl_hook, &calls);
	run(req, GUARD_MS);
	assert_int_equal(calls, 1);
	assert_int_equal(http_req_status(req), HTTP_DONE);
	http_req_free(req);

	req = make("GET", fx.port_https, "/ok");
	http_req_set_ssl_ctx(req, ssl_hook, &calls);
	run(req, GUARD_MS);
	assert_int_equal(calls, 2);
	assert_int_equal(http_req_status(req), HTTP_ERR_OTHER);
	assert_non_null(strstr(http_req_error(req), "hook"));
	http_req_free(req);

	/* The hook's policy may switch libcurl's own checks off. */
	req = make("GET", fx.port_https, "/ok");
	http_req_set_ca_pem(req, fx.other_ca_pem, fx.other_ca_pem_len);
	http_req_set_ssl_ctx(req, ssl_hook, &calls);
	http_req_set_verify(req, 0, 0);
	run(req, GUARD_MS);
	assert_int_equal(calls, 3);
	assert_int_equal(http_req_status(req), HTTP_DONE);
	http_req_free(req);
}

/* Run one request that must fail before any network access. */
static void
expect_early(struct http_req *req, enum http_status want)
{
	run(req, GUARD_MS);
	assert_int_equal(http_req_status(req), want);
	assert_non_null(http_req_error(req));
	assert_int_equal(http_req_code(req), 0);
	http_req_free(req);
}

/* Pins are required and used; http:// and URL credentials refused. */
static void
test_pin_and_scheme(void **unused)
{
	struct http_req *req;
	char url[128], bad[128];

	server_forget();
	/* A name that resolves nowhere works through its pin (test_get). */
	snprintf(url, sizeof url, "https://fixture.test:%d/ok", fx.port_https);
	expect_early(http_req_new("GET", url), HTTP_ERR_NOT_PINNED);
	req = http_req_new("GET", url);
	http_req_pin(req, "other.test", fx.port_https, "127.0.0.1");
	expect_early(req, HTTP_ERR_NOT_PINNED);
	req = http_req_new("GET", url);
	http_req_pin(req, "fixture.test", fx.port_https + 1, "127.0.0.1");
	expect_early(req, HTTP_ERR_NOT_PINNED);
	req = http_req_new("GET", url);
	http_req_pin(req, "fixture.test", fx.port_https, "fixture.test");
	expect_early(req, HTTP_ERR_NOT_PINNED);

	snprintf(url, sizeof url, "https://u:Canary-Pa55@fixture.test:%d/ok",
	    fx.port_https);
	req = http_req_new("GET", url);
	http_req_pin(req, "fixture.test", fx.port_https, "127.0.0.1");
	expect_early(req, HTTP_ERR_BAD_URL);
	expect_early(http_req_new("GET", "not a url"), HTTP_ERR_BAD_URL);
	expect_early(http_req_new("GET", "ftp://fixture.test/"),
	    HTTP_ERR_BAD_URL);

	snprintf(url, sizeof url, "http://fixture.test:%d/ok", fx.port_http);
	req = http_req_new("GET", url);
	http_req_pin(req, "fixture.test", fx.port_http, "127.0.0.1");
	expect_early(req, HTTP_ERR_BAD_URL);
	/* A byte libcurl's parser lets through is still not a URL. */
	snprintf(bad, sizeof bad, "https://fixture.test:%d/o\xffk",
	    fx.port_https);
	req = http_req_new("GET", bad);
	http_req_pin(req, "fixture.test", fx.port_https, "127.0.0.1");
	expect_early(req, HTTP_ERR_BAD_URL);
	assert_null(server_said("/ok", 0)); /* nothing reached the server */

	req = http_req_new("GET", url);
	http_req_pin(req, "fixture.test", fx.port_http, "127.0.0.1");
	http_req_allow_http(req);
	run(req, GUARD_MS);
	assert_int_equal(http_req_status(req), HTTP_DONE);
	assert_int_equal(http_req_code(req), 200);
	assert_null(http_req_tls_version(req));
	http_req_free(req);

	/* Two addresses for one name (::1 has no listener): both pinned. */
	req = make("GET", fx.port_https, "/ok");
	http_req_pin(req, "fixture.test", fx.port_https, "::1");
	run(req, GUARD_MS);
	assert_int_equal(http_req_status(req), HTTP_DONE);
	http_req_free(req);
}

/* Every request opens its own connection, even if the server keeps it. */
static void
test_fresh_connection(void **unused)
{
	struct http_req *req;
	const char *p;
	int pid1, pid2;

	server_forget();
	req = run(make("GET", fx.port_https, "/ka"), GUARD_MS);
	assert_int_equal(http_req_code(req), 200);
	http_req_free(req);
	req = run(make("GET", fx.port_https, "/ka"), GUARD_MS);
	assert_int_equal(http_req_code(req), 200);
	http_req_free(req);
	assert_non_null(server_said("/ka", GUARD_MS));
	p = fxlog;
	assert_int_equal(sscanf(p, "%d /ka", &pid1), 1);
	assert_non_null(p = strchr(p, '\n'));
	assert_non_null(server_said("\n", GUARD_MS));
	assert_int_equal(sscanf(p + 1, "%d /ka", &pid2), 1);
	assert_int_not_equal(pid1, pid2);
}

static struct http_req *sibling;

/* Done callback that cancels a sibling and frees its own request. */
static void
free_self_cb(struct http_req *req, void *arg)
{
	done_calls++;
	http_req_cancel(sibling);
	http_req_free(sibling);
	sibling = NULL;
	http_req_free(req);
	loop_exit();
}

/* Cancelled requests never call back; freeing at any point is safe. */
static void
test_cancel(void **unused)
{
	struct http_req *req = make("GET", fx.port_https, "/stall");

	done_calls = 0;
	http_req_submit(req, done_cb, NULL);
	assert_int_equal(run_loop(100), 1); /* connected, waiting */
	http_req_cancel(req);
	http_req_cancel(req);
	assert_int_equal(http_req_status(req), HTTP_ERR_CANCELLED);
	assert_int_equal(run_loop(200), 1);
	assert_int_equal(done_calls, 0);
	http_req_free(req);
	http_req_free(NULL);

	/* Freed while its early failure is queued: no callback either. */
	req = http_req_new("GET", "https://unpinned.test/");
	http_req_submit(req, done_cb, NULL);
	http_req_free(req);
	/* Cancelled, then freed, while queued. */
	req = http_req_new("GET", "https://unpinned.test/");
	http_req_submit(req, done_cb, NULL);
	http_req_cancel(req);
	http_req_free(req);
	assert_int_equal(run_loop(200), 1);
	assert_int_equal(done_calls, 0);

	/* A done callback cancels a running sibling and frees itself. */
	sibling = make("GET", fx.port_https, "/stall");
	http_req_submit(sibling, done_cb, NULL);
	req = make("GET", fx.port_https, "/ok");
	http_req_submit(req, free_self_cb, NULL);
	assert_int_equal(run_loop(GUARD_MS), 0);
	assert_int_equal(done_calls, 1);
	assert_null(sibling);
	assert_int_equal(run_loop(200), 1);
	assert_int_equal(done_calls, 1);
}

/* Shutdown with a request running: no callback, nothing leaks. */
static void
test_shutdown_running(void **unused)
{
	struct http_req *req = make("GET", fx.port_https, "/stall");

	done_calls = 0;
	http_req_submit(req, done_cb, NULL);
	assert_int_equal(run_loop(100), 1);
	http_shutdown();
	http_init();
	assert_int_equal(run_loop(100), 1);
	assert_int_equal(done_calls, 0);
	assert_int_equal(http_req_status(req), HTTP_ERR_CANCELLED);
	http_req_free(req);
}

static char captured[1 << 20];

/* Run req with our log at debug level captured from stderr. */
static void
run_captured(struct http_req *req)
{
	log_init(LOG_TARGET_STDERR, 1);
	capture_begin();
	run(req, GUARD_MS);
	capture_end(captured, sizeof captured);
}

/* The canary password in any form we could leak it in. */
static void
assert_no_secret(const char *text)
{
	assert_null(strstr(text, "Canary-Pa55w0rd"));
	/* base64("lab:Canary-Pa55w0rd-31c4") and NTLMSSP. */
	assert_null(strstr(text, "bGFiOkNhbmFyeS1QYTU1dzByZC0zMWM0"));
	assert_null(strstr(text, "TlRMTVNTUA"));
	assert_null(strstr(text, "Authorization"));
}

/* NTLM: the handshake runs on one connection; no secret in our output. */
static void
test_ntlm(void **unused)
{
	struct http_req *req = make("POST", fx.port_https, "/ntlm");
	int pid1 = 0, pid3 = 0;
	const char *p;

	server_forget();
	http_req_set_body(req, "<x/>", 4);
	http_req_set_ntlm(req, "lab", "Canary-Pa55w0rd-31c4");
	run_captured(req);
	assert_int_equal(http_req_status(req), HTTP_DONE);
	assert_int_equal(http_req_code(req), 200);
	assert_string_equal(http_req_body(req, NULL), "welcome");
	http_req_free(req);
	assert_non_null(captured[0] != '\0' ? captured : NULL);
	assert_no_secret(captured);
	assert_non_null(p = server_said("/ntlm NTLM3", GUARD_MS));
	assert_non_null(p = strstr(fxlog, "/ntlm NTLM1"));
	sscanf(fxlog, "%d /ntlm NTLM1", &pid1);
	sscanf(strchr(fxlog, '\n') + 1, "%d /ntlm NTLM3", &pid3);
	assert_true(pid1 > 0);
	assert_int_equal(pid1, pid3); /* same connection */
	assert_null(strstr(fxlog, "Basic"));
}

/* Done callback of the concurrent test: stop once all are done. */
static void
count_cb(struct http_req *req, void *arg)
{
	int *left = arg;

	(void)req;
	if (--*left == 0)
		loop_exit();
}

/*
 * Concurrent NTLM exchanges each keep their connection between the legs:
 * a connection cache smaller than the number of transfers closed one
 * parked connection per new one, and every handshake restarted forever.
 */
static void
test_ntlm_concurrent(void **unused)
{
	struct http_req *req[4];
	int i, left = 4;

	server_forget();
	for (i = 0; i < 4; i++) {
		req[i] = make("POST", fx.port_https, "/ntlm");
		http_req_set_body(req[i], "<x/>", 4);
		http_req_set_ntlm(req[i], "lab", "Canary-Pa55w0rd-31c4");
		http_req_submit(req[i], count_cb, &left);
	}
	assert_int_equal(run_loop(GUARD_MS), 0);
	assert_int_equal(left, 0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(http_req_status(req[i]), HTTP_DONE);
		assert_int_equal(http_req_code(req[i]), 200);
		http_req_free(req[i]);
	}
}

/* Basic is never offered to a Basic-only server unless asked for. */
static void
test_basic(void **unused)
{
	struct http_req *req = make("GET", fx.port_https, "/basic");

	server_forget();
	http_req_set_ntlm(req, "lab", "Canary-Pa55w0rd-31c4");
	run_captured(req);
	assert_int_equal(http_req_code(req), 401);
	http_req_free(req);
	assert_non_null(server_said("/basic", GUARD_MS));
	assert_null(strstr(fxlog, "Basic"));
	assert_no_secret(captured);

	req = make("GET", fx.port_https, "/basic");
	http_req_set_basic(req, "lab", "Canary-Pa55w0rd-31c4");
	run_captured(req);
	assert_int_equal(http_req_code(req), 200);
	http_req_free(req);
	assert_no_secret(captured);
}

/*
 * Which strings are URLs: printable ASCII that libcurl parses with a
 * host. Location headers, RedirectUrls and EWS URLs all pass here.
 */
static void
test_url_refused(void **unused)
{
	static const char *const good[] = {
	    "https://mail.contoso.com/EWS/Exchange.asmx",
	    "https://autodiscover.contoso.com:8443/autodiscover/autodiscover.svc?x=%20y#f",
	    "http://[::1]/a",
	};
	static const struct {
		const char *url;
		const char *why;
	} bad[] = {
	    {"", "empty"},
	    {"https://mail.contoso.com/EWS/\xff", "not ASCII"},
	    {"https://mail.contoso.com/\xc3\xa9", "not ASCII"},
	    {"https://mail.contoso.com/a\tb", "control character"},
	    {"https://mail.contoso.com/EWS\n  verdict: ok", "control"},
	    {"https://mail.contoso.com/\x7f", "control character"},
	    {"https://mail.contoso.com/\xc2\x9b", "not ASCII"},
	    {"https://mail.contoso.com/a b", "space"},
	    {"not a url", "space"},
	    {"https://", "not a URL"},
	    {"/relative/path", "not a URL"},
	};
	size_t i;
	const char *why;

	for (i = 0; i < sizeof good / sizeof good[0]; i++)
		assert_null(http_url_refused(good[i]));
	assert_non_null(http_url_refused(NULL));
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		why = http_url_refused(bad[i].url);
		assert_non_null(why);
		assert_non_null(strstr(why, bad[i].why));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_url_refused),
	    cmocka_unit_test(test_get),
	    cmocka_unit_test(test_post),
	    cmocka_unit_test(test_multi_header),
	    cmocka_unit_test(test_redirect_not_followed),
	    cmocka_unit_test(test_redirect_relative),
	    cmocka_unit_test(test_body_caps),
	    cmocka_unit_test(test_header_flood),
	    cmocka_unit_test(test_stall_and_timeout),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_verify_failure),
	    cmocka_unit_test(test_tls_version),
	    cmocka_unit_test(test_ssl_ctx_hook),
	    cmocka_unit_test(test_pin_and_scheme),
	    cmocka_unit_test(test_fresh_connection),
	    cmocka_unit_test(test_cancel),
	    cmocka_unit_test(test_shutdown_running),
	    cmocka_unit_test(test_ntlm),
	    cmocka_unit_test(test_ntlm_concurrent),
	    cmocka_unit_test(test_basic),
	};

	return cmocka_run_group_tests_name("http", tests, setup, teardown);
}
