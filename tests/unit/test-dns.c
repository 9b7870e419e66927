/*
 * Unit tests of dns: lookups on the event loop against a small DNS
 * responder this test runs in-process on 127.0.0.1 (same libevent loop,
 * ephemeral UDP port) — A/AAAA, SRV (valid, hostile and too many records),
 * NXDOMAIN, NODATA, SERVFAIL, REFUSED, malformed and truncated answers, a
 * silent server — plus per-lookup server lists, cancellation, shutdown,
 * the cache of A/AAAA answers (on an injected clock),
 * and the pure RFC 2782 ordering. A cross-check against dnsmasq runs when
 * it is installed. Every wait is bounded by a watchdog timer.
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
#include <strings.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "dns.h"
#include "log.h"
#include "loop.h"
#include "helpers/run-loop.h"

/* The last result delivered, copied for assertions. */
static struct {
	int calls;
	struct dns_result *r;
} got;

/* Done callback: keep a copy of the result, stop the loop. */
static void
done_cb(const struct dns_result *r, void *arg)
{
	got.calls++;
	dns_result_free(got.r);
	got.r = dns_result_copy(r);
	loop_exit();
}

/* Forget the last result. */
static void
got_reset(void)
{
	dns_result_free(got.r);
	memset(&got, 0, sizeof got);
}

/* ---- the responder ---- */

enum responder_mode {
	R_ZONE, /* answer from the test zone */
	R_SILENT, /* never answer */
	R_GARBAGE, /* a header claiming an answer, nothing else */
	R_SHORT, /* 5 bytes */
	R_DELAY, /* answer from the zone, 20 ms later (counts outstanding) */
};

/* A query an R_DELAY responder holds back. */
struct held {
	unsigned char q[512];
	size_t n;
	struct sockaddr_in from;
	socklen_t flen;
};

#define MAX_HELD 4096

struct responder {
	int fd;
	int port;
	enum responder_mode mode;
	int a_octet; /* last octet of mail.example.test's A record */
	int queries;
	struct event *ev;
	char servers[64]; /* "127.0.0.1:port" */
	struct held *held; /* R_DELAY: queries not answered yet */
	int nheld;
	int most_held; /* most queries outstanding at once */
	struct event *tick;
};

/* A DNS message being built. */
struct msg {
	unsigned char b[1500];
	size_t len;
};

/* Append bytes. */
static void
put(struct msg *m, const void *p, size_t n)
{
	assert_true(m->len + n <= sizeof m->b);
	memcpy(m->b + m->len, p, n);
	m->len += n;
}

/* Append a 16-bit and a 32-bit number in network order. */
static void
put16(struct msg *m, unsigned v)
{
	unsigned char x[2] = {(unsigned char)(v >> 8), (unsigned char)v};

	put(m, x, 2);
}

static void
put32(struct msg *m, unsigned long v)
{
	put16(m, (unsigned)(v >> 16));
	put16(m, (unsigned)(v & 0xffff));
}

/*
 * Append a name given as labels separated by '|' (so a label may contain
 * '.' or any byte); "" is the root.
 */
static void
put_labels(struct msg *m, const char *labels, size_t len)
{
	const char *p = labels, *end = labels + len, *bar;
	unsigned char n;

	while (p < end) {
		bar = memchr(p, '|', (size_t)(end - p));
		if (bar == NULL)
			bar = end;
		n = (unsigned char)(bar - p);
		put(m, &n, 1);
		put(m, p, n);
		p = bar + 1;
	}
	put(m, "", 1);
}

/* The TTL of the answers being built (zone() sets it per question). */
static unsigned long rr_ttl = 60;

/* Append an answer RR header for the question name (pointer to 12). */
static void
put_rr(struct msg *m, unsigned type, unsigned rdlen)
{
	put16(m, 0xc00c);
	put16(m, type);
	put16(m, 1);
	put32(m, rr_ttl);
	put16(m, rdlen);
}

/* Append an SRV answer with a raw target ('|'-separated labels). */
static void
put_srv(struct msg *m, unsigned prio, unsigned weight, unsigned port,
    const char *target, size_t tlen)
{
	struct msg rd = {{0}, 0};

	put16(&rd, prio);
	put16(&rd, weight);
	put16(&rd, port);
	put_labels(&rd, target, tlen);
	put_rr(m, 33, (unsigned)rd.len);
	put(m, rd.b, rd.len);
}

#define SRV(m, p, w, port, t) put_srv(m, p, w, port, t, sizeof(t) - 1)

/* Fill the answers for qname/qtype; return the rcode and count. */
static int
zone(struct responder *r, const char *q, unsigned qtype, struct msg *m, int *an)
{
	unsigned char v6[16] = {0};
	unsigned char v4[4] = {127, 0, 0, 0};
	char name[32];
	int i;

	*an = 0;
	rr_ttl = 60;
	if (strcasecmp(q, "ttl0.example.test") == 0) {
		if (qtype == 1) {
			rr_ttl = 0; /* "do not cache" */
			v4[3] = 10;
			put_rr(m, 1, 4);
			put(m, v4, 4);
			*an = 1;
		}
		return 0;
	}
	if (strcasecmp(q, "mail.example.test") == 0 ||
	    strcasecmp(q, "v4.example.test") == 0) {
		if (qtype == 1) {
			v4[3] = q[0] == 'm' ? (unsigned char)r->a_octet : 6;
			put_rr(m, 1, 4);
			put(m, v4, 4);
			*an = 1;
		} else if (qtype == 28 && q[0] == 'm') {
			v6[15] = 5;
			put_rr(m, 28, 16);
			put(m, v6, 16);
			*an = 1;
		}
		return 0;
	}
	if (strcasecmp(q, "_autodiscover._tcp.mail.example.test") == 0)
		return 0; /* exists, no records: NODATA */
	if (strcasecmp(q, "servfail.example.test") == 0)
		return 2;
	if (strcasecmp(q, "refused.example.test") == 0)
		return 5;
	if (qtype != 33)
		return 3;
	if (strcasecmp(q, "_autodiscover._tcp.example.test") == 0) {
		SRV(m, 10, 60, 443, "mail|example|test");
		SRV(m, 10, 40, 443, "Backup|Example|TEST");
		SRV(m, 5, 0, 443, "first|example|test");
		SRV(m, 20, 0, 443, "last|example|test");
		*an = 4;
	} else if (strcasecmp(q, "_bad._tcp.example.test") == 0) {
		SRV(m, 1, 0, 443, ""); /* "." */
		SRV(m, 1, 0, 443, "m.il|example|test");
		SRV(m, 1, 0, 443, "a\0b|example|test");
		SRV(m, 1, 0, 443, "a\nb|example|test");
		SRV(m, 1, 0, 443, "under_score|example|test");
		SRV(m, 1, 0, 443, "-lead|example|test");
		SRV(m, 1, 0, 0, "zero|example|test"); /* port 0 */
		SRV(m, 2, 0, 443, "ok|example|test");
		*an = 8;
	} else if (strcasecmp(q, "_many._tcp.example.test") == 0) {
		for (i = 0; i < 18; i++) {
			snprintf(name, sizeof name, "h%d|t", i);
			put_srv(m, 1, 1, 443, name, strlen(name));
		}
		*an = 18;
	} else if (strcasecmp(q, "_badlen._tcp.example.test") == 0) {
		put_rr(m, 33, 400); /* rdlength beyond the packet */
		put16(m, 1);
		*an = 1;
	} else
		return 3;
	return 0;
}

/* Read the question's name (dotted) and type; return its end or 0. */
static size_t
parse_question(const unsigned char *b, size_t n, char *q, size_t qsize,
    unsigned *qtype)
{
	size_t off = 12, w = 0, l;

	while (off < n && b[off] != 0) {
		l = b[off++];
		if (off + l > n || w + l + 2 > qsize)
			return 0;
		if (w > 0)
			q[w++] = '.';
		memcpy(q + w, b + off, l);
		w += l;
		off += l;
	}
	q[w] = '\0';
	if (off + 5 > n)
		return 0;
	*qtype = (unsigned)(b[off + 1] << 8 | b[off + 2]);
	return off + 5;
}

/* Answer one query q of n bytes from the zone (or as the mode says). */
static void
respond(struct responder *r, int fd, const unsigned char *q, ssize_t n,
    struct sockaddr_in from, socklen_t flen)
{
	struct msg m = {{0}, 0};
	char name[256];
	unsigned qtype;
	size_t qend;
	int rcode, an;

	if (r->mode == R_SHORT) {
		sendto(fd, q, 5, 0, (struct sockaddr *)&from, flen);
		return;
	}
	qend = parse_question(q, (size_t)n, name, sizeof name, &qtype);
	if (qend == 0)
		return;
	put(&m, q, qend); /* header and question */
	m.b[2] = 0x84 | (q[2] & 0x01); /* QR, AA, RD copied */
	m.b[3] = 0x80; /* RA */
	if (r->mode == R_GARBAGE) {
		m.b[7] = 1;
		sendto(fd, m.b, 12, 0, (struct sockaddr *)&from, flen);
		return;
	}
	rcode = zone(r, name, qtype, &m, &an);
	m.b[3] |= (unsigned char)rcode;
	m.b[6] = (unsigned char)(an >> 8);
	m.b[7] = (unsigned char)an;
	sendto(fd, m.b, m.len, 0, (struct sockaddr *)&from, flen);
}

/* Answer (or not, or later) one query according to the mode. */
static void
responder_cb(evutil_socket_t fd, short what, void *arg)
{
	struct responder *r = arg;
	unsigned char q[512];
	struct sockaddr_in from;
	socklen_t flen = sizeof from;
	struct held *h;
	ssize_t n;

	n = recvfrom(fd, q, sizeof q, 0, (struct sockaddr *)&from, &flen);
	if (n < 12)
		return;
	r->queries++;
	if (r->mode == R_SILENT)
		return;
	if (r->mode == R_DELAY) {
		assert_true(r->nheld < MAX_HELD);
		h = &r->held[r->nheld++];
		memcpy(h->q, q, (size_t)n);
		h->n = (size_t)n;
		h->from = from;
		h->flen = flen;
		if (r->nheld > r->most_held)
			r->most_held = r->nheld;
		return;
	}
	respond(r, fd, q, n, from, flen);
}

/* R_DELAY's tick: answer every query held back. */
static void
responder_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct responder *r = arg;
	int i;

	for (i = 0; i < r->nheld; i++)
		respond(r, r->fd, r->held[i].q, (ssize_t)r->held[i].n,
		    r->held[i].from, r->held[i].flen);
	r->nheld = 0;
}

/* Start a responder in the given mode. */
static void
responder_start(struct responder *r, enum responder_mode mode)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;

	memset(r, 0, sizeof *r);
	r->mode = mode;
	r->a_octet = 5;
	r->fd = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(r->fd, (struct sockaddr *)&sin, sizeof sin), 0);
	getsockname(r->fd, (struct sockaddr *)&sin, &len);
	r->port = ntohs(sin.sin_port);
	snprintf(r->servers, sizeof r->servers, "127.0.0.1:%d", r->port);
	r->ev = event_new(loop_base(), r->fd, EV_READ | EV_PERSIST,
	    responder_cb, r);
	event_add(r->ev, NULL);
	if (mode == R_DELAY) {
		struct timeval tv = {0, 20 * 1000};

		r->held = calloc(MAX_HELD, sizeof *r->held);
		assert_non_null(r->held);
		r->tick = event_new(loop_base(), -1, EV_PERSIST,
		    responder_tick_cb, r);
		event_add(r->tick, &tv);
	}
}

/* Stop a responder. */
static void
responder_stop(struct responder *r)
{
	if (r->tick != NULL)
		event_free(r->tick);
	free(r->held);
	event_free(r->ev);
	close(r->fd);
}

static struct responder zr; /* the zone responder of every test */

/*
 * The timeout of lookups that are answered: a hang guard, long enough that
 * a busy machine (valgrind, a CPU hog on every core) never turns an answer
 * the responder gives into a timeout. Tests of timeouts set their own.
 */
#define DNS_GUARD_MS 3000

/* Start the loop, dns (DNS_GUARD_MS x 2 tries) and the zone responder. */
static int
setup(void **unused)
{
	log_init(LOG_TARGET_STDERR, getenv("TEST_DEBUG") != NULL);
	loop_init();
	dns_init(DNS_GUARD_MS, 2);
	responder_start(&zr, R_ZONE);
	return 0;
}

/* Stop everything. */
static int
teardown(void **unused)
{
	got_reset();
	responder_stop(&zr);
	dns_shutdown();
	loop_free();
	return 0;
}

/* Look up and wait; the result is in got.r. */
static void
lookup(int srv, const char *name, const char *servers)
{
	got_reset();
	if (srv)
		dns_lookup_srv(name, servers, done_cb, NULL);
	else
		dns_lookup_addr(name, servers, done_cb, NULL);
	assert_int_equal(got.calls, 0); /* never inside the caller */
	assert_int_equal(run_loop(4 * DNS_GUARD_MS), 0);
	assert_int_equal(got.calls, 1);
	assert_non_null(got.r);
	assert_string_equal(got.r->name, name);
}

/* Whether the result holds the address text of that family. */
static int
has_addr(const char *text, int family)
{
	size_t i;

	for (i = 0; i < got.r->naddrs; i++) {
		if (strcmp(got.r->addrs[i].text, text) == 0 &&
		    got.r->addrs[i].family == family)
			return 1;
	}
	return 0;
}

/* A and AAAA records of one name, both families; only A of another. */
static void
test_addr(void **unused)
{
	lookup(0, "mail.example.test", zr.servers);
	assert_int_equal(got.r->status, DNS_OK);
	assert_int_equal(got.r->naddrs, 2);
	assert_true(has_addr("127.0.0.5", AF_INET));
	assert_true(has_addr("::5", AF_INET6));
	assert_true(got.r->elapsed_us >= 0);

	lookup(0, "v4.example.test", zr.servers);
	assert_int_equal(got.r->status, DNS_OK);
	assert_int_equal(got.r->naddrs, 1);
	assert_true(has_addr("127.0.0.6", AF_INET));
}

/* NXDOMAIN, NODATA, SERVFAIL and REFUSED are told apart. */
static void
test_negative(void **unused)
{
	lookup(0, "nosuch.example.test", zr.servers);
	assert_int_equal(got.r->status, DNS_NXDOMAIN);
	assert_int_equal(got.r->naddrs, 0);
	lookup(1, "nosuch.example.test", zr.servers);
	assert_int_equal(got.r->status, DNS_NXDOMAIN);
	lookup(1, "_autodiscover._tcp.mail.example.test", zr.servers);
	assert_int_equal(got.r->status, DNS_NODATA);
	assert_int_equal(got.r->nsrvs, 0);
	lookup(1, "servfail.example.test", zr.servers);
	assert_int_equal(got.r->status, DNS_SERVFAIL);
	lookup(1, "refused.example.test", zr.servers);
	assert_int_equal(got.r->status, DNS_REFUSED);
	lookup(0, "servfail.example.test", zr.servers);
	assert_int_equal(got.r->status, DNS_SERVFAIL);
	lookup(0, "refused.example.test", zr.servers);
	assert_int_equal(got.r->status, DNS_REFUSED);
	assert_string_equal(dns_status_name(DNS_REFUSED), "refused");
	assert_non_null(strstr(dns_strerror(DNS_REFUSED), "refused"));
}

/* A deterministic generator for the ordering tests. */
static uint32_t
seq_rng(void *arg)
{
	uint32_t *s = arg;

	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

/* SRV records arrive validated, lower case, in RFC 2782 order. */
static void
test_srv(void **unused)
{
	uint32_t seed = 3;
	int mail_first = 0, i;

	lookup(1, "_autodiscover._tcp.example.test", zr.servers);
	assert_int_equal(got.r->status, DNS_OK);
	assert_int_equal(got.r->nsrvs, 4);
	assert_int_equal(got.r->nsrv_rejected, 0);
	assert_string_equal(got.r->srvs[0].target, "first.example.test");
	assert_int_equal(got.r->srvs[0].port, 443);
	assert_int_equal(got.r->srvs[1].priority, 10);
	assert_int_equal(got.r->srvs[2].priority, 10);
	assert_string_equal(got.r->srvs[3].target, "last.example.test");
	assert_true(strcmp(got.r->srvs[1].target, "backup.example.test") == 0 ||
	    strcmp(got.r->srvs[2].target, "backup.example.test") == 0);

	/* With an injected RNG, weight 60 of 100 comes first about 60%. */
	dns_set_rng(seq_rng, &seed);
	for (i = 0; i < 50; i++) {
		lookup(1, "_autodiscover._tcp.example.test", zr.servers);
		if (strcmp(got.r->srvs[1].target, "mail.example.test") == 0)
			mail_first++;
	}
	dns_set_rng(NULL, NULL);
	assert_in_range(mail_first, 18, 42);
}

/* Hostile targets are dropped; at most 16 records are kept. */
static void
test_srv_hostile(void **unused)
{
	lookup(1, "_bad._tcp.example.test", zr.servers);
	assert_int_equal(got.r->status, DNS_OK);
	assert_int_equal(got.r->nsrvs, 1);
	assert_int_equal(got.r->nsrv_rejected, 7);
	assert_string_equal(got.r->srvs[0].target, "ok.example.test");

	lookup(1, "_many._tcp.example.test", zr.servers);
	assert_int_equal(got.r->status, DNS_OK);
	assert_int_equal(got.r->nsrvs, DNS_MAX_SRV);
	assert_int_equal(got.r->nsrv_rejected, 2);

	lookup(1, "_badlen._tcp.example.test", zr.servers);
	assert_int_equal(got.r->status, DNS_BADRESP);
	assert_int_equal(got.r->nsrvs, 0);
}

/* Malformed and truncated answers are errors, not crashes. */
static void
test_malformed(void **unused)
{
	struct responder r;
	enum responder_mode mode;

	/* c-ares drops what it cannot parse and waits: keep it short. */
	dns_init(100, 2);
	for (mode = R_GARBAGE; mode <= R_SHORT; mode++) {
		responder_start(&r, mode);
		lookup(1, "_autodiscover._tcp.example.test", r.servers);
		assert_int_not_equal(got.r->status, DNS_OK);
		assert_int_equal(got.r->nsrvs, 0);
		lookup(0, "mail.example.test", r.servers);
		assert_int_not_equal(got.r->status, DNS_OK);
		assert_int_equal(got.r->naddrs, 0);
		responder_stop(&r);
	}
	dns_init(DNS_GUARD_MS, 2);
}

/* A silent server times out within timeout x tries (300 ms x 2). */
static void
test_timeout(void **unused)
{
	struct responder r;
	uint64_t t0, dt;

	dns_init(300, 2);
	responder_start(&r, R_SILENT);
	t0 = loop_now_ms();
	lookup(1, "_autodiscover._tcp.example.test", r.servers);
	dt = loop_now_ms() - t0;
	dns_init(DNS_GUARD_MS, 2);
	assert_int_equal(got.r->status, DNS_TIMEOUT);
	assert_int_equal(r.queries, 2);
	/*
	 * 300 ms, then 600 ms (c-ares 1.18 doubles per round): at least the
	 * first timeout. No upper bound: a busy machine may take longer.
	 */
	assert_true(dt >= 250);
	responder_stop(&r);
}

/* Count the answers of the flood test; stop the loop after the last. */
static struct {
	int ok, other, want;
} flood;

static void
flood_cb(const struct dns_result *r, void *arg)
{
	if (r->status == DNS_OK)
		flood.ok++;
	else
		flood.other++;
	if (flood.ok + flood.other == flood.want)
		loop_exit();
}

/*
 * 1,000 lookups at once (as 4,096 runs starting together make): the server
 * never has more than DNS_MAX_IN_FLIGHT lookups' queries outstanding, and
 * every lookup is answered — the queue does not eat into the timeout of
 * the lookups waiting in it (1,000 / 64 rounds of 20 ms each is longer
 * than the 300 ms timeout the zone responder gets).
 */
static void
test_bounded_in_flight(void **unused)
{
	struct responder r;
	struct dns_lookup *l;
	unsigned int in_flight, queued;
	int i;

	responder_start(&r, R_DELAY);
	memset(&flood, 0, sizeof flood);
	flood.want = 1000;
	for (i = 0; i < 1000; i++) {
		if (i % 2 == 0)
			dns_lookup_addr("mail.example.test", r.servers,
			    flood_cb, NULL);
		else
			dns_lookup_srv("_autodiscover._tcp.example.test",
			    r.servers, flood_cb, NULL);
	}
	dns_load(&in_flight, &queued);
	assert_int_equal(in_flight, DNS_MAX_IN_FLIGHT);
	assert_int_equal(queued, 1000 - DNS_MAX_IN_FLIGHT);
	/* A queued lookup that is cancelled leaves at once, silently. */
	l = dns_lookup_srv("_autodiscover._tcp.example.test", r.servers,
	    flood_cb, NULL);
	dns_cancel(l);
	dns_load(&in_flight, &queued);
	assert_int_equal(queued, 1000 - DNS_MAX_IN_FLIGHT);
	/* Generous hang guard: about 16 ticks of 20 ms are needed. */
	assert_int_equal(run_loop(60000), 0);
	assert_int_equal(flood.ok, 1000);
	assert_int_equal(flood.other, 0);
	/* An A/AAAA lookup asks two questions. */
	assert_true(r.most_held > 0);
	assert_true(r.most_held <= 2 * DNS_MAX_IN_FLIGHT);
	dns_load(&in_flight, &queued);
	assert_int_equal(in_flight + queued, 0);
	responder_stop(&r);
}

/* Each lookup asks its own servers; a bad list fails, never falls back. */
static void
test_per_lookup_servers(void **unused)
{
	struct responder other;
	char list[160];
	int i;

	responder_start(&other, R_ZONE);
	other.a_octet = 7;
	lookup(0, "mail.example.test", other.servers);
	assert_true(has_addr("127.0.0.7", AF_INET));
	lookup(0, "mail.example.test", zr.servers);
	assert_true(has_addr("127.0.0.5", AF_INET));
	snprintf(list, sizeof list, "%s, %s", other.servers, zr.servers);
	lookup(0, "mail.example.test", list);
	assert_true(has_addr("127.0.0.7", AF_INET));

	zr.queries = 0;
	lookup(0, "mail.example.test", "not-an-address");
	assert_int_equal(got.r->status, DNS_ERROR);
	assert_int_equal(zr.queries, 0);

	/* Many distinct lists: idle channels are closed, lookups go on. */
	for (i = 0; i < 12; i++) {
		snprintf(list, sizeof list, "%s%s", zr.servers,
		    i % 2 ? "" : " ");
		snprintf(list + strlen(list), sizeof list - strlen(list),
		    "%.*s", i, "            ");
		lookup(0, "v4.example.test", list);
		assert_true(has_addr("127.0.0.6", AF_INET));
	}
	responder_stop(&other);
}

/* A cancelled lookup never calls back, whatever its state. */
static void
test_cancel(void **unused)
{
	struct dns_lookup *l;

	got_reset();
	l = dns_lookup_srv("_autodiscover._tcp.example.test", zr.servers,
	    done_cb, NULL);
	dns_cancel(l);
	/* A numeric name is answered inside the call: cancel it too. */
	l = dns_lookup_addr("127.0.0.9", zr.servers, done_cb, NULL);
	dns_cancel(l);
	dns_cancel(NULL);
	assert_int_equal(run_loop(300), 1);
	assert_int_equal(got.calls, 0);

	/* Numeric names need no server and are still delivered later. */
	lookup(0, "127.0.0.9", zr.servers);
	assert_int_equal(got.r->status, DNS_OK);
	assert_true(has_addr("127.0.0.9", AF_INET));
}

/* The cache's clock, moved by the test. */
static uint64_t fake_ms;

/* dns_clock: the test's time. */
static uint64_t
fake_clock(void *arg)
{
	return fake_ms;
}

/*
 * A/AAAA answers are kept for their TTL (60 s in the zone) per server list
 * and name, without asking again; after the TTL a changed answer is seen.
 * Failures and TTL-0 answers are never kept; a cached answer is still
 * delivered on a later turn and can be cancelled.
 */
static void
test_cache(void **unused)
{
	struct responder other;
	struct dns_lookup *l;

	dns_shutdown(); /* an empty cache */
	dns_init(DNS_GUARD_MS, 2);
	fake_ms = 1000;
	dns_set_clock(fake_clock, NULL);
	zr.queries = 0;
	lookup(0, "mail.example.test", zr.servers);
	assert_int_equal(got.r->cached, 0);
	assert_int_equal(zr.queries, 2); /* A and AAAA */

	/* Within the TTL: the same addresses, no query. */
	zr.a_octet = 8;
	fake_ms += 59999;
	lookup(0, "MAIL.example.test", zr.servers);
	assert_int_equal(got.r->status, DNS_OK);
	assert_int_equal(got.r->cached, 1);
	assert_int_equal(got.r->elapsed_us, 0);
	assert_int_equal(got.r->naddrs, 2);
	assert_true(has_addr("127.0.0.5", AF_INET));
	assert_true(has_addr("::5", AF_INET6));
	assert_int_equal(zr.queries, 2);

	/* Other servers are another view: asked, not shared. */
	responder_start(&other, R_ZONE);
	other.a_octet = 7;
	lookup(0, "mail.example.test", other.servers);
	assert_int_equal(got.r->cached, 0);
	assert_true(has_addr("127.0.0.7", AF_INET));
	assert_int_equal(other.queries, 2);
	responder_stop(&other);

	/* A cancelled cached lookup never calls back. */
	got_reset();
	l = dns_lookup_addr("mail.example.test", zr.servers, done_cb, NULL);
	dns_cancel(l);
	assert_int_equal(run_loop(100), 1);
	assert_int_equal(got.calls, 0);

	/* At expiry the name is asked again and the change is seen. */
	fake_ms += 1;
	lookup(0, "mail.example.test", zr.servers);
	assert_int_equal(got.r->cached, 0);
	assert_true(has_addr("127.0.0.8", AF_INET));
	assert_int_equal(zr.queries, 4);
	lookup(0, "mail.example.test", zr.servers);
	assert_int_equal(got.r->cached, 1);
	assert_true(has_addr("127.0.0.8", AF_INET));
	assert_int_equal(zr.queries, 4);

	/* TTL 0 and failures are asked every time. */
	lookup(0, "ttl0.example.test", zr.servers);
	assert_true(has_addr("127.0.0.10", AF_INET));
	lookup(0, "ttl0.example.test", zr.servers);
	assert_int_equal(got.r->cached, 0);
	assert_int_equal(zr.queries, 8);
	lookup(0, "servfail.example.test", zr.servers);
	lookup(0, "servfail.example.test", zr.servers);
	assert_int_equal(got.r->status, DNS_SERVFAIL);
	assert_int_equal(got.r->cached, 0);
	assert_int_equal(zr.queries, 12);

	zr.a_octet = 5;
	dns_set_clock(NULL, NULL);
	dns_shutdown();
	dns_init(DNS_GUARD_MS, 2);
}

/* Shutdown drops pending and queued lookups without callbacks. */
static void
test_shutdown(void **unused)
{
	struct responder r;

	responder_start(&r, R_SILENT);
	got_reset();
	dns_lookup_srv("_autodiscover._tcp.example.test", r.servers, done_cb,
	    NULL);
	dns_lookup_addr("127.0.0.9", NULL, done_cb, NULL);
	dns_shutdown();
	dns_init(DNS_GUARD_MS, 2);
	assert_int_equal(run_loop(200), 1);
	assert_int_equal(got.calls, 0);
	responder_stop(&r);
}

/* The same answers from dnsmasq, when it is installed. */
static void
test_dnsmasq(void **unused)
{
	char portarg[32], servers[64];
	struct responder probe;
	pid_t pid;
	int port, i;

	if (access("/usr/sbin/dnsmasq", X_OK) != 0)
		skip();
	/* Borrow an ephemeral port; dnsmasq binds it right after. */
	responder_start(&probe, R_SILENT);
	port = probe.port;
	responder_stop(&probe);
	snprintf(portarg, sizeof portarg, "--port=%d", port);
	snprintf(servers, sizeof servers, "127.0.0.1:%d", port);
	if ((pid = fork()) == 0) {
		execl("/usr/sbin/dnsmasq", "dnsmasq", "--keep-in-foreground",
		    portarg, "--listen-address=127.0.0.1", "--bind-interfaces",
		    "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
		    "--pid-file", "--user=root", "--local=/example.test/",
		    "--host-record=mail.example.test,127.0.0.5,::5",
		    "--srv-host=_autodiscover._tcp.example.test,"
		    "mail.example.test,443,10,5",
		    "--srv-host=_autodiscover._tcp.example.test,"
		    "first.example.test,443,5,0",
		    "--log-facility=/dev/null", (char *)NULL);
		_exit(127);
	}
	/* Ready when it answers; give up (skip) after about 3 s. */
	for (i = 0; i < 30; i++) {
		got_reset();
		dns_lookup_addr("mail.example.test", servers, done_cb, NULL);
		if (run_loop(1000) == 0 && got.r->status == DNS_OK)
			break;
		run_loop(100); /* not up yet: wait a little */
	}
	if (got.r == NULL || got.r->status != DNS_OK) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
		skip();
	}
	assert_true(has_addr("127.0.0.5", AF_INET));
	assert_true(has_addr("::5", AF_INET6));
	lookup(1, "_autodiscover._tcp.example.test", servers);
	assert_int_equal(got.r->nsrvs, 2);
	assert_string_equal(got.r->srvs[0].target, "first.example.test");
	lookup(0, "nosuch.example.test", servers);
	assert_int_equal(got.r->status, DNS_NXDOMAIN);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

/* Lowest priority first; weighted within a priority; weight 0 rare. */
static void
test_srv_order(void **unused)
{
	struct dns_srv v[5];
	uint32_t seed = 1;
	int first_a = 0, first_z = 0, i;

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
		if (strcmp(v[0].target, "z") == 0)
			first_z++;
	}
	/* a: 90 of 101 (sum + 1 values); z (weight 0): 1 of 101. */
	assert_in_range(first_a, 1650, 1900);
	assert_in_range(first_z, 1, 60);
}

/* The same seed gives the same order; all records are kept. */
static void
test_srv_order_deterministic(void **unused)
{
	struct dns_srv a[16], b[16];
	uint32_t s1 = 42, s2 = 42;
	int i, j, seen;

	for (i = 0; i < 16; i++) {
		a[i] = (struct dns_srv){"x", (uint16_t)i, (uint16_t)(i % 3),
		    (uint16_t)(i * 7 % 5)};
		b[i] = a[i];
	}
	dns_srv_order(a, 16, seq_rng, &s1);
	dns_srv_order(b, 16, seq_rng, &s2);
	for (i = 0; i < 16; i++) {
		assert_int_equal(a[i].port, b[i].port);
		if (i > 0)
			assert_true(a[i - 1].priority <= a[i].priority);
		for (seen = 0, j = 0; j < 16; j++)
			seen += a[j].port == i;
		assert_int_equal(seen, 1);
	}
	dns_srv_order(a, 0, seq_rng, &s1);
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
	assert_false(dns_valid_hostname("a-.example"));
	assert_false(dns_valid_hostname("a..example"));
	assert_false(dns_valid_hostname("under_score.example"));
	assert_false(dns_valid_hostname("sp ace.example"));
}

/* The address picked: the first IPv4, else the first; none: NULL. */
static void
test_result_pick(void **unused)
{
	struct dns_addr a[3] = {
	    {AF_INET6, "2001:db8::1"},
	    {AF_INET, "192.0.2.1"},
	    {AF_INET, "192.0.2.2"},
	};
	struct dns_result r = {.status = DNS_OK, .addrs = a, .naddrs = 3};

	assert_string_equal(dns_result_pick(&r)->text, "192.0.2.1");
	r.naddrs = 1;
	assert_string_equal(dns_result_pick(&r)->text, "2001:db8::1");
	r.naddrs = 0;
	assert_null(dns_result_pick(&r));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_addr),
	    cmocka_unit_test(test_negative),
	    cmocka_unit_test(test_srv),
	    cmocka_unit_test(test_srv_hostile),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_timeout),
	    cmocka_unit_test(test_bounded_in_flight),
	    cmocka_unit_test(test_per_lookup_servers),
	    cmocka_unit_test(test_cancel),
	    cmocka_unit_test(test_cache),
	    cmocka_unit_test(test_shutdown),
	    cmocka_unit_test(test_dnsmasq),
	    cmocka_unit_test(test_srv_order),
	    cmocka_unit_test(test_srv_order_deterministic),
	    cmocka_unit_test(test_srv_order_zero_weights),
	    cmocka_unit_test(test_valid_hostname),
	    cmocka_unit_test(test_result_pick),
	};

	return cmocka_run_group_tests_name("dns", tests, setup, teardown);
}
