/*
 * Unit tests of hellorun: the raw hello over real loopback TCP on the
 * event loop, against real servers started here with certificates made
 * here — gnutls-serv with the phone's 3DES/RC4 suites (Debian 12's
 * OpenSSL has none), openssl s_server limited to AES, to ECDHE, and
 * choosing its certificate by SNI — and against in-process listeners that
 * close, reset or never answer, and a port nobody listens on.
 *
 * The servers are bounded: each lives for one test and dies with this
 * process (PR_SET_PDEATHSIG). Waits are hang guards, never measurements.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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
#include <openssl/pem.h>

#include "hello.h"
#include "hellorun.h"
#include "loop.h"
#include "helpers/hello-pki.h"
#include "helpers/run-loop.h"
#include "helpers/tls-servers.h"

#define GNUTLS_OLD "NORMAL:+3DES-CBC:+ARCFOUR-128:+VERS-TLS1.0:+RSA"
#define GNUTLS_3DES_ONLY \
	"NONE:+VERS-TLS1.0:+3DES-CBC:+RSA:+SHA1:+COMP-NULL:+SIGN-ALL"

static struct hello_pki pki;
static X509 *other; /* the default certificate of the SNI server */
static char dir[] = "/tmp/test-hellorun-XXXXXX";

/* What one exchange gave (copied in the callback, which frees it). */
struct outcome {
	int called;
	enum hellorun_end end;
	int err;
	struct hello_reply reply; /* chain: our own reference */
	int sent_sni;
	struct hellorun_timings t;
};

static int
setup(void **state)
{
	char path[512];
	FILE *fp;

	hello_pki_make(&pki, "ews.hello.test");
	other = hello_pki_cert("default.hello.test", pki.key, pki.ca,
	    pki.ca_key, 0, 3);
	if (mkdtemp(dir) == NULL)
		return -1;
	assert_int_equal(hello_pki_write(dir, "chain.pem", pki.cert, pki.ca),
	    0);
	assert_int_equal(hello_pki_write(dir, "default.pem", other, pki.ca), 0);
	snprintf(path, sizeof path, "%s/key.pem", dir);
	if ((fp = fopen(path, "w")) == NULL)
		return -1;
	PEM_write_PrivateKey(fp, pki.key, NULL, NULL, 0, NULL, NULL);
	fclose(fp);
	loop_init();
	return 0;
}

static int
teardown(void **state)
{
	char path[512];
	const char *f[] = {"chain.pem", "default.pem", "key.pem"};
	size_t i;

	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, f[i]);
		unlink(path);
	}
	rmdir(dir);
	loop_free();
	X509_free(other);
	hello_pki_free(&pki);
	return 0;
}

/* The exchange's callback: copy the outcome, free it, stop the loop. */
static void
done_cb(struct hellorun *hr, void *arg)
{
	struct outcome *o = arg;

	o->called++;
	o->end = hellorun_end(hr);
	o->err = hellorun_errno(hr);
	o->reply = *hellorun_reply(hr);
	if (o->reply.chain != NULL)
		o->reply.chain = X509_chain_up_ref(o->reply.chain);
	o->sent_sni = hellorun_sent_sni(hr);
	hellorun_timings(hr, &o->t);
	/* Freeing from the callback is allowed: it is hellorun's last act. */
	hellorun_free(hr);
	loop_exit();
}

/* One exchange with 127.0.0.1:port; the loop runs 20 s at most. */
static void
exchange(int port, const struct hello_spec *spec, const char *host,
    uint64_t timeout_ms, struct outcome *o)
{
	struct sockaddr_in sin = tls_loopback(port);
	struct hellorun *hr;
	char *err = NULL;

	memset(o, 0, sizeof *o);
	hr = hellorun_start((struct sockaddr *)&sin, sizeof sin, spec, host,
	    timeout_ms, done_cb, o, &err);
	assert_non_null(hr);
	assert_int_equal(run_loop(20000), 0);
	assert_int_equal(o->called, 1);
}

static void
outcome_free(struct outcome *o)
{
	if (o->reply.chain != NULL)
		sk_X509_pop_free(o->reply.chain, X509_free);
}

/* The phone's 3DES is what a 3DES-only GnuTLS server picks. */
static void
test_gnutls_3des(void **state)
{
	struct hello_spec spec;
	struct outcome o;
	int port = tls_free_port();
	pid_t pid = tls_gnutls(dir, port, GNUTLS_3DES_ONLY);

	hello_spec_phone(&spec);
	exchange(port, &spec, "ews.hello.test", 10000, &o);
	assert_int_equal(o.end, HELLORUN_ANSWERED);
	assert_int_equal(o.reply.status, HELLO_DONE);
	assert_int_equal(o.reply.version, HELLO_TLS1_0);
	assert_int_equal(o.reply.suite, 0x000a);
	assert_string_equal(hello_suite_name(o.reply.suite),
	    "TLS_RSA_WITH_3DES_EDE_CBC_SHA");
	assert_false(o.reply.suite_uncertain);
	assert_false(o.sent_sni);
	assert_int_equal(sk_X509_num(o.reply.chain), 2);
	assert_int_equal(X509_cmp(sk_X509_value(o.reply.chain, 0), pki.cert),
	    0);
	assert_true(o.t.connect_us >= 0);
	assert_true(o.t.first_byte_us >= o.t.connect_us);
	assert_true(o.t.total_us >= o.t.first_byte_us);
	outcome_free(&o);
	tls_reap(pid);
}

/*
 * A GnuTLS server that also accepts 3DES and RC4 (its NORMAL list plus
 * them): the core-only hello gets one of the phone's core suites.
 */
static void
test_gnutls_old_suites(void **state)
{
	struct hello_spec spec, core;
	struct outcome o;
	int port = tls_free_port();
	pid_t pid = tls_gnutls(dir, port, GNUTLS_OLD);

	hello_spec_phone(&spec);
	hello_spec_core(&spec, &core);
	exchange(port, &core, NULL, 10000, &o);
	assert_int_equal(o.reply.status, HELLO_DONE);
	assert_true(o.reply.suite == 0x000a || o.reply.suite == 0x0005);
	assert_int_equal(X509_cmp(sk_X509_value(o.reply.chain, 0), pki.cert),
	    0);
	outcome_free(&o);
	exchange(port, &spec, NULL, 10000, &o);
	assert_int_equal(o.reply.status, HELLO_DONE);
	assert_true(hello_spec_offers_suite(&spec, o.reply.suite));
	outcome_free(&o);
	tls_reap(pid);
}

/* An AES-only server: the phone hello gets AES (uncertain), core fails. */
static void
test_openssl_aes_only(void **state)
{
	struct hello_spec spec, core;
	struct outcome o;
	int port = tls_free_port();
	pid_t pid = tls_s_server(dir, port, "AES128-SHA:@SECLEVEL=0", NULL);

	hello_spec_phone(&spec);
	exchange(port, &spec, NULL, 10000, &o);
	assert_int_equal(o.reply.status, HELLO_DONE);
	assert_int_equal(o.reply.suite, 0x002f);
	assert_true(o.reply.suite_uncertain);
	assert_int_equal(X509_cmp(sk_X509_value(o.reply.chain, 0), pki.cert),
	    0);
	outcome_free(&o);
	hello_spec_core(&spec, &core);
	exchange(port, &core, NULL, 10000, &o);
	assert_int_equal(o.end, HELLORUN_ANSWERED);
	assert_int_equal(o.reply.status, HELLO_ALERT);
	assert_int_equal(o.reply.alert_description, 40);
	outcome_free(&o);
	tls_reap(pid);
}

/* An ECDHE-only server refuses the phone: handshake_failure. */
static void
test_openssl_ecdhe_only(void **state)
{
	struct hello_spec spec;
	struct outcome o;
	int port = tls_free_port();
	pid_t pid =
	    tls_s_server(dir, port, "ECDHE-RSA-AES128-SHA:@SECLEVEL=0", NULL);

	hello_spec_phone(&spec);
	exchange(port, &spec, NULL, 10000, &o);
	assert_int_equal(o.end, HELLORUN_ANSWERED);
	assert_int_equal(o.reply.status, HELLO_ALERT);
	assert_int_equal(o.reply.alert_level, 2);
	assert_string_equal(hello_alert_name(o.reply.alert_description),
	    "handshake_failure");
	outcome_free(&o);
	tls_reap(pid);
}

/* Certificate chosen by SNI: without SNI the phone gets the default. */
static void
test_openssl_sni_default(void **state)
{
	struct hello_spec spec, sni;
	struct outcome o;
	char *err = NULL;
	int port = tls_free_port();
	pid_t pid =
	    tls_s_server(dir, port, "AES128-SHA:@SECLEVEL=0", "ews.hello.test");

	hello_spec_phone(&spec);
	exchange(port, &spec, "ews.hello.test", 10000, &o);
	assert_int_equal(o.reply.status, HELLO_DONE);
	assert_int_equal(X509_cmp(sk_X509_value(o.reply.chain, 0), other), 0);
	outcome_free(&o);
	sni = spec;
	assert_int_equal(hello_spec_parse_extensions(&sni, "server_name", &err),
	    0);
	exchange(port, &sni, "ews.hello.test", 10000, &o);
	assert_true(o.sent_sni);
	assert_int_equal(o.reply.status, HELLO_DONE);
	assert_true(o.reply.sni_acked);
	assert_int_equal(X509_cmp(sk_X509_value(o.reply.chain, 0), pki.cert),
	    0);
	outcome_free(&o);
	/* An address as host: no server_name goes out, none is expected. */
	exchange(port, &sni, "127.0.0.1", 10000, &o);
	assert_false(o.sent_sni);
	assert_int_equal(o.reply.status, HELLO_DONE);
	assert_int_equal(X509_cmp(sk_X509_value(o.reply.chain, 0), other), 0);
	outcome_free(&o);
	tls_reap(pid);
}

/* How an in-process listener treats a connection. */
enum behaviour {
	BEHAVE_CLOSE, /* read the hello, close (FIN) */
	BEHAVE_RESET, /* read the hello, reset (RST) */
};

struct listener {
	int fd;
	int port;
	enum behaviour how;
	struct event *ev_accept;
	struct event *ev_conn;
	int conn;
};

/* The accepted connection has the hello: answer as told, by closing. */
static void
conn_cb(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;
	struct linger lg = {1, 0};
	char buf[4096];

	if (read(fd, buf, sizeof buf) <= 0)
		return;
	if (l->how == BEHAVE_RESET)
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	event_del(l->ev_conn);
	close(fd);
	l->conn = -1;
}

/* Accept one connection and wait for its hello. */
static void
accept_cb(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;

	if ((l->conn = accept(fd, NULL, NULL)) < 0)
		return;
	l->ev_conn =
	    event_new(loop_base(), l->conn, EV_READ | EV_PERSIST, conn_cb, l);
	event_add(l->ev_conn, NULL);
}

/* Listen on loopback; accept only when accepting is set. */
static void
listener_start(struct listener *l, enum behaviour how, int accepting)
{
	struct sockaddr_in sin = tls_loopback(0);
	socklen_t len = sizeof sin;

	memset(l, 0, sizeof *l);
	l->how = how;
	l->conn = -1;
	l->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_int_equal(bind(l->fd, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(listen(l->fd, 4), 0);
	assert_int_equal(getsockname(l->fd, (struct sockaddr *)&sin, &len), 0);
	l->port = ntohs(sin.sin_port);
	if (accepting) {
		l->ev_accept = event_new(loop_base(), l->fd,
		    EV_READ | EV_PERSIST, accept_cb, l);
		event_add(l->ev_accept, NULL);
	}
}

static void
listener_stop(struct listener *l)
{
	if (l->ev_accept != NULL)
		event_free(l->ev_accept);
	if (l->ev_conn != NULL)
		event_free(l->ev_conn);
	if (l->conn >= 0)
		close(l->conn);
	close(l->fd);
}

/* A server that closes after the hello: closed, nothing decided. */
static void
test_closed(void **state)
{
	struct hello_spec spec;
	struct listener l;
	struct outcome o;

	hello_spec_phone(&spec);
	listener_start(&l, BEHAVE_CLOSE, 1);
	exchange(l.port, &spec, NULL, 10000, &o);
	assert_int_equal(o.end, HELLORUN_CLOSED);
	assert_int_equal(o.reply.status, HELLO_MORE);
	assert_int_equal(o.reply.consumed, 0);
	listener_stop(&l);
}

/* A server that resets after the hello (http.sys without SNI binding). */
static void
test_reset(void **state)
{
	struct hello_spec spec;
	struct listener l;
	struct outcome o;

	hello_spec_phone(&spec);
	listener_start(&l, BEHAVE_RESET, 1);
	exchange(l.port, &spec, NULL, 10000, &o);
	assert_int_equal(o.end, HELLORUN_RESET);
	assert_int_equal(o.err, ECONNRESET);
	assert_string_equal(hellorun_end_name(o.end), "reset");
	listener_stop(&l);
}

/* A server that never answers: the deadline ends the exchange. */
static void
test_timeout(void **state)
{
	struct hello_spec spec;
	struct listener l;
	struct outcome o;

	hello_spec_phone(&spec);
	listener_start(&l, BEHAVE_CLOSE, 0);
	exchange(l.port, &spec, NULL, 300, &o);
	assert_int_equal(o.end, HELLORUN_TIMEOUT);
	assert_true(o.t.connect_us >= 0);
	assert_int_equal(o.t.first_byte_us, -1);
	listener_stop(&l);
}

/* Nobody listens: connect_failed with ECONNREFUSED. */
static void
test_refused(void **state)
{
	struct hello_spec spec;
	struct outcome o;

	hello_spec_phone(&spec);
	exchange(tls_free_port(), &spec, NULL, 10000, &o);
	assert_int_equal(o.end, HELLORUN_CONNECT_FAILED);
	assert_int_equal(o.err, ECONNREFUSED);
	assert_int_equal(o.t.connect_us, -1);
}

/* A hello that cannot be made is refused at the start. */
static void
test_bad_host(void **state)
{
	struct hello_spec spec;
	struct sockaddr_in sin = tls_loopback(9);
	char host[300], *err = NULL;

	hello_spec_phone(&spec);
	assert_int_equal(hello_spec_parse_extensions(&spec, "server_name",
	                     &err),
	    0);
	memset(host, 'a', 299);
	host[299] = '\0';
	assert_null(hellorun_start((struct sockaddr *)&sin, sizeof sin, &spec,
	    host, 1000, done_cb, NULL, &err));
	assert_string_equal(err,
	    "cannot make the hello: host name too long for server_name");
	free(err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gnutls_3des),
	    cmocka_unit_test(test_gnutls_old_suites),
	    cmocka_unit_test(test_openssl_aes_only),
	    cmocka_unit_test(test_openssl_ecdhe_only),
	    cmocka_unit_test(test_openssl_sni_default),
	    cmocka_unit_test(test_closed),
	    cmocka_unit_test(test_reset),
	    cmocka_unit_test(test_timeout),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_bad_host),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
