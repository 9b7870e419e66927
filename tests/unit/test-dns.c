/*
 * Unit tests of dns: RFC 2782 ordering (pure), and lookups on the event
 * loop against servers the test starts on 127.0.0.1 — dnsmasq for real
 * answers, and small in-test UDP responders for a silent server and for
 * malformed answers. Every wait is bounded by a watchdog timer.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <errno.h>
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

#include "dns.h"
#include "loop.h"

static pid_t dnsmasq_pid = -1;
static int dnsmasq_port;
static char dnsmasq_servers[64];

/* The last result delivered, copied for assertions. */
static struct {
	int calls;
	enum dns_status status;
	size_t naddrs, nsrvs, rejected;
	char addr0[64], addr1[64];
	char srv0[128];
	int srv0_port;
} got;

/* A free UDP port on 127.0.0.1 (bound then released). */
static int
free_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;
	int fd = socket(AF_INET, SOCK_DGRAM, 0), port;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	getsockname(fd, (struct sockaddr *)&sin, &len);
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/* Whether something is bound to UDP 127.0.0.1:port. */
static int
port_taken(int port)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_DGRAM, 0), r;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	r = bind(fd, (struct sockaddr *)&sin, sizeof sin);
	close(fd);
	return r != 0 && errno == EADDRINUSE;
}

/* Start dnsmasq with the test zone; skip its tests if it is missing. */
static int
setup(void **unused)
{
	char portarg[32];
	int i;

	loop_init();
	dns_init(300, 2);
	if (access("/usr/sbin/dnsmasq", X_OK) != 0)
		return 0;
	dnsmasq_port = free_port();
	snprintf(portarg, sizeof portarg, "--port=%d", dnsmasq_port);
	snprintf(dnsmasq_servers, sizeof dnsmasq_servers, "127.0.0.1:%d",
	    dnsmasq_port);
	if ((dnsmasq_pid = fork()) == 0) {
		execl("/usr/sbin/dnsmasq", "dnsmasq", "--keep-in-foreground",
		    portarg, "--listen-address=127.0.0.1", "--bind-interfaces",
		    "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
		    "--pid-file", "--user=root", "--local=/example.test/",
		    "--host-record=mail.example.test,127.0.0.5,::5",
		    "--host-record=v4.example.test,127.0.0.6",
		    "--srv-host=_autodiscover._tcp.example.test,"
		    "mail.example.test,443,10,5",
		    "--srv-host=_autodiscover._tcp.example.test,"
		    "backup.example.test,443,20,5",
		    "--srv-host=_autodiscover._tcp.example.test,"
		    "first.example.test,443,5,0",
		    "--log-facility=/dev/null", (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 200 && !port_taken(dnsmasq_port); i++)
		usleep(10000);
	if (!port_taken(dnsmasq_port)) {
		kill(dnsmasq_pid, SIGTERM);
		waitpid(dnsmasq_pid, NULL, 0);
		dnsmasq_pid = -1;
	}
	return 0;
}

/* Stop dnsmasq and the loop. */
static int
teardown(void **unused)
{
	if (dnsmasq_pid > 0) {
		kill(dnsmasq_pid, SIGTERM);
		waitpid(dnsmasq_pid, NULL, 0);
	}
	dns_shutdown();
	loop_free();
	return 0;
}

/* Done callback: copy the result, stop the loop. */
static void
done_cb(const struct dns_result *r, void *arg)
{
	got.calls++;
	got.status = r->status;
	got.naddrs = r->naddrs;
	got.nsrvs = r->nsrvs;
	got.rejected = r->nsrv_rejected;
	got.addr0[0] = got.addr1[0] = got.srv0[0] = '\0';
	if (r->naddrs > 0)
		snprintf(got.addr0, sizeof got.addr0, "%s", r->addrs[0].text);
	if (r->naddrs > 1)
		snprintf(got.addr1, sizeof got.addr1, "%s", r->addrs[1].text);
	if (r->nsrvs > 0) {
		snprintf(got.srv0, sizeof got.srv0, "%s", r->srvs[0].target);
		got.srv0_port = r->srvs[0].port;
	}
	loop_exit();
}

/* Watchdog: a test that waits too long fails instead of hanging. */
static void
watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	*(int *)arg = 1;
	loop_exit();
}

/* Run the loop until a callback or secs seconds; return 1 on timeout. */
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

/* Skip a test when dnsmasq could not be started. */
#define NEED_DNSMASQ() \
	do { \
		if (dnsmasq_pid <= 0) \
			skip(); \
	} while (0)

/* A and AAAA records of one name, both families. */
static void
test_addr(void **unused)
{
	NEED_DNSMASQ();
	memset(&got, 0, sizeof got);
	dns_lookup_addr("mail.example.test", dnsmasq_servers, done_cb, NULL);
	assert_int_equal(got.calls, 0); /* never inside the caller */
	assert_int_equal(run_loop(5), 0);
	assert_int_equal(got.calls, 1);
	assert_int_equal(got.status, DNS_OK);
	assert_int_equal(got.naddrs, 2);
	assert_true((strcmp(got.addr0, "127.0.0.5") == 0 &&
	                strcmp(got.addr1, "::5") == 0) ||
	    (strcmp(got.addr1, "127.0.0.5") == 0 &&
	        strcmp(got.addr0, "::5") == 0));
}

/* An unknown name in the zone is NXDOMAIN. */
static void
test_nxdomain(void **unused)
{
	NEED_DNSMASQ();
	memset(&got, 0, sizeof got);
	dns_lookup_addr("nosuch.example.test", dnsmasq_servers, done_cb, NULL);
	assert_int_equal(run_loop(5), 0);
	assert_int_equal(got.status, DNS_NXDOMAIN);
	assert_int_equal(got.naddrs, 0);
}

/* SRV records are returned (ordering is the caller's, see below). */
static void
test_srv(void **unused)
{
	NEED_DNSMASQ();
	memset(&got, 0, sizeof got);
	dns_lookup_srv("_autodiscover._tcp.example.test", dnsmasq_servers,
	    done_cb, NULL);
	assert_int_equal(run_loop(5), 0);
	assert_int_equal(got.status, DNS_OK);
	assert_int_equal(got.nsrvs, 3);
	assert_int_equal(got.srv0_port, 443);
	/* A name without SRV records. */
	memset(&got, 0, sizeof got);
	dns_lookup_srv("_autodiscover._tcp.mail.example.test", dnsmasq_servers,
	    done_cb, NULL);
	assert_int_equal(run_loop(5), 0);
	assert_true(got.status == DNS_NXDOMAIN || got.status == DNS_NODATA);
}

/* A cancelled lookup never calls back. */
static void
test_cancel(void **unused)
{
	struct dns_lookup *l;

	NEED_DNSMASQ();
	memset(&got, 0, sizeof got);
	l = dns_lookup_addr("mail.example.test", dnsmasq_servers, done_cb,
	    NULL);
	dns_cancel(l);
	/* Nothing stops the loop but the watchdog. */
	assert_int_equal(run_loop(1), 1);
	assert_int_equal(got.calls, 0);
}

/* A UDP responder on 127.0.0.1: mode 0 silent, 1 garbage, 2 truncated. */
struct responder {
	int fd;
	int mode;
	int port;
	struct event *ev;
};

/* Answer (or not) one query according to the responder's mode. */
static void
responder_cb(evutil_socket_t fd, short what, void *arg)
{
	struct responder *r = arg;
	unsigned char buf[512];
	struct sockaddr_in from;
	socklen_t flen = sizeof from;
	ssize_t n;

	n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
	if (n < 12 || r->mode == 0)
		return;
	if (r->mode == 1) {
		/* Same ID, response bit, one answer claimed, no bytes. */
		buf[2] |= 0x80;
		buf[7] = 1;
		sendto(fd, buf, 12, 0, (struct sockaddr *)&from, flen);
	} else {
		/* Only 5 bytes: shorter than a header. */
		sendto(fd, buf, 5, 0, (struct sockaddr *)&from, flen);
	}
}

/* Start a responder in the given mode. */
static void
responder_start(struct responder *r, int mode)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;

	r->mode = mode;
	r->fd = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(r->fd, (struct sockaddr *)&sin, sizeof sin), 0);
	getsockname(r->fd, (struct sockaddr *)&sin, &len);
	r->port = ntohs(sin.sin_port);
	r->ev = event_new(loop_base(), r->fd, EV_READ | EV_PERSIST,
	    responder_cb, r);
	event_add(r->ev, NULL);
}

/* Stop a responder. */
static void
responder_stop(struct responder *r)
{
	event_free(r->ev);
	close(r->fd);
}

/* A silent server times out within timeout x tries (300 ms x 2 here). */
static void
test_timeout(void **unused)
{
	struct responder r;
	char servers[64];
	uint64_t t0;

	responder_start(&r, 0);
	snprintf(servers, sizeof servers, "127.0.0.1:%d", r.port);
	memset(&got, 0, sizeof got);
	t0 = loop_now_ms();
	dns_lookup_srv("_autodiscover._tcp.example.test", servers, done_cb,
	    NULL);
	assert_int_equal(run_loop(10), 0);
	assert_int_equal(got.status, DNS_TIMEOUT);
	/* Bounded, not a speed claim: well under the 10 s watchdog. */
	assert_true(loop_now_ms() - t0 < 5000);
	responder_stop(&r);
}

/* Malformed and truncated answers are errors, not crashes. */
static void
test_malformed(void **unused)
{
	struct responder r;
	char servers[64];
	int mode;

	for (mode = 1; mode <= 2; mode++) {
		responder_start(&r, mode);
		snprintf(servers, sizeof servers, "127.0.0.1:%d", r.port);
		memset(&got, 0, sizeof got);
		dns_lookup_srv("_autodiscover._tcp.example.test", servers,
		    done_cb, NULL);
		assert_int_equal(run_loop(10), 0);
		assert_int_not_equal(got.status, DNS_OK);
		assert_int_equal(got.nsrvs, 0);
		responder_stop(&r);
	}
}

/* A deterministic generator for the ordering tests. */
static uint32_t
seq_rng(void *arg)
{
	uint32_t *s = arg;

	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

/* Lowest priority first; weighted within a priority; weight 0 first. */
static void
test_srv_order(void **unused)
{
	struct dns_srv v[5];
	uint32_t seed = 1;
	int first_a = 0, i;

	for (i = 0; i < 2000; i++) {
		v[0] = (struct dns_srv){"c", 443, 20, 50};
		v[1] = (struct dns_srv){"a", 443, 10, 90};
		v[2] = (struct dns_srv){"b", 443, 10, 10};
		v[3] = (struct dns_srv){"z", 443, 10, 0};
		v[4] = (struct dns_srv){"d", 443, 30, 0};
		dns_srv_order(v, 5, seq_rng, &seed);
		assert_int_equal(v[0].priority, 10);
		assert_int_equal(v[1].priority, 10);
		assert_int_equal(v[2].priority, 10);
		assert_string_equal(v[3].target, "c");
		assert_string_equal(v[4].target, "d");
		if (strcmp(v[0].target, "a") == 0)
			first_a++;
	}
	/* a has weight 90 of 100: chosen first about 90% of the time. */
	assert_in_range(first_a, 1600, 1900);
}

/* All weights 0: every record still comes out, in priority order. */
static void
test_srv_order_zero_weights(void **unused)
{
	struct dns_srv v[3] = {
	    {"x", 443, 2, 0},
	    {"y", 443, 1, 0},
	    {"z", 443, 1, 0},
	};
	uint32_t seed = 7;

	dns_srv_order(v, 3, seq_rng, &seed);
	assert_int_equal(v[0].priority, 1);
	assert_int_equal(v[1].priority, 1);
	assert_string_equal(v[2].target, "x");
}

/* Host names: LDH only; escapes, "." and empty refused. */
static void
test_valid_hostname(void **unused)
{
	assert_true(dns_valid_hostname("mail.contoso.com"));
	assert_true(dns_valid_hostname("a-b.c0"));
	assert_false(dns_valid_hostname("."));
	assert_false(dns_valid_hostname(""));
	assert_false(dns_valid_hostname("a\\000b.example"));
	assert_false(dns_valid_hostname("m\\.il.example"));
	assert_false(dns_valid_hostname("-a.example"));
	assert_false(dns_valid_hostname("a..example"));
	assert_false(dns_valid_hostname("under_score.example"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_addr),
	    cmocka_unit_test(test_nxdomain),
	    cmocka_unit_test(test_srv),
	    cmocka_unit_test(test_cancel),
	    cmocka_unit_test(test_timeout),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_srv_order),
	    cmocka_unit_test(test_srv_order_zero_weights),
	    cmocka_unit_test(test_valid_hostname),
	};

	return cmocka_run_group_tests_name("dns", tests, setup, teardown);
}
