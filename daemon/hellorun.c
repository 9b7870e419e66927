/*
 * hellorun: owns one raw-hello exchange — its socket, its three events
 * (writable, readable, deadline) on the loop's base, the ClientHello bytes
 * and the hello reader fed from the socket.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/rand.h>

#include "hello.h"
#include "hellorun.h"
#include "log.h"
#include "loop.h"
#include "xmalloc.h"

/* Bytes read per readiness callback (one TLS record at most, roughly). */
#define HELLORUN_READ_CHUNK 16384

struct hellorun {
	int fd;
	struct event *ev_write;
	struct event *ev_read;
	struct event *ev_timer;
	struct hello_spec spec; /* as sent: server_name only if it was */
	int sent_sni;
	uint8_t hello[HELLO_BUILD_MAX];
	size_t hello_len;
	size_t hello_sent;
	struct hello_reader *reader;
	int connected;
	int pending_errno; /* connect() failed at once */
	enum hellorun_end end;
	int err;
	uint64_t start_us;
	struct hellorun_timings timings;
	hellorun_cb cb;
	void *arg;
};

/* Stop watching, note how it ended, tell the owner (the last action). */
static void
hellorun_finish(struct hellorun *hr, enum hellorun_end end, int err)
{
	event_del(hr->ev_write);
	event_del(hr->ev_read);
	event_del(hr->ev_timer);
	hr->end = end;
	hr->err = err;
	hr->timings.total_us = (int64_t)(loop_now_usec() - hr->start_us);
	hr->cb(hr, hr->arg);
}

/* A socket error: reset, or something else. */
static void
hellorun_socket_error(struct hellorun *hr, int err)
{
	if (err == ECONNRESET || err == EPIPE)
		hellorun_finish(hr, HELLORUN_RESET, err);
	else
		hellorun_finish(hr, HELLORUN_IO_ERROR, err);
}

/* Writable: finish connecting, then send the rest of the hello. */
static void
hellorun_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hellorun *hr = arg;
	socklen_t len = sizeof(int);
	ssize_t n;
	int err = 0;

	if (!hr->connected) {
		if (hr->pending_errno != 0)
			err = hr->pending_errno;
		else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
			err = errno;
		if (err != 0) {
			hellorun_finish(hr, HELLORUN_CONNECT_FAILED, err);
			return;
		}
		hr->connected = 1;
		hr->timings.connect_us =
		    (int64_t)(loop_now_usec() - hr->start_us);
		if (event_add(hr->ev_read, NULL) != 0)
			fatalx("cannot watch a hello socket");
	}
	n = send(fd, hr->hello + hr->hello_sent, hr->hello_len - hr->hello_sent,
	    MSG_NOSIGNAL);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			hellorun_socket_error(hr, errno);
		return;
	}
	hr->hello_sent += (size_t)n;
	if (hr->hello_sent == hr->hello_len)
		event_del(hr->ev_write);
}

/* Readable: feed what came to the reader until it decides. */
static void
hellorun_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hellorun *hr = arg;
	uint8_t buf[HELLORUN_READ_CHUNK];
	ssize_t n;

	n = recv(fd, buf, sizeof buf, 0);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			hellorun_socket_error(hr, errno);
		return;
	}
	if (n == 0) {
		hellorun_finish(hr, HELLORUN_CLOSED, 0);
		return;
	}
	if (hr->timings.first_byte_us < 0)
		hr->timings.first_byte_us =
		    (int64_t)(loop_now_usec() - hr->start_us);
	if (hello_reader_feed(hr->reader, buf, (size_t)n) != HELLO_MORE)
		hellorun_finish(hr, HELLORUN_ANSWERED, 0);
}

/* The deadline passed before a decision. */
static void
hellorun_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hellorun *hr = arg;

	hellorun_finish(hr, HELLORUN_TIMEOUT, 0);
}

/* The ClientHello's random: gmt_unix_time then 28 random bytes. */
static void
hellorun_random(uint8_t random[HELLO_RANDOM_LEN])
{
	uint32_t t = (uint32_t)time(NULL);

	random[0] = (uint8_t)(t >> 24);
	random[1] = (uint8_t)(t >> 16);
	random[2] = (uint8_t)(t >> 8);
	random[3] = (uint8_t)t;
	if (RAND_bytes(random + 4, HELLO_RANDOM_LEN - 4) != 1)
		fatalx("RAND_bytes failed");
}

/*
 * Start an exchange with the server at sa: the hello of spec, with SNI for
 * host when the spec lists server_name and host is a DNS name. cb(hr, arg)
 * runs once, within timeout_ms. Returns NULL and *errp (caller frees) when
 * the hello cannot be made or no socket is available.
 */
struct hellorun *
hellorun_start(const struct sockaddr *sa, socklen_t salen,
    const struct hello_spec *spec, const char *host, uint64_t timeout_ms,
    hellorun_cb cb, void *arg, char **errp)
{
	struct hellorun *hr;
	uint8_t random[HELLO_RANDOM_LEN];
	const char *errstr;
	char sni[256];
	size_t i, j;
	int len;

	hr = xcalloc(1, sizeof *hr);
	hr->fd = -1;
	hr->cb = cb;
	hr->arg = arg;
	hr->spec = *spec;
	hr->timings.connect_us = hr->timings.first_byte_us = -1;
	hr->timings.total_us = -1;
	hellorun_random(random);
	if ((len = hello_build(spec, host, random, hr->hello, &errstr)) < 0) {
		xasprintf(errp, "cannot make the hello: %s", errstr);
		goto fail;
	}
	hr->hello_len = (size_t)len;
	/* The reader must know whether server_name really went out. */
	hr->sent_sni =
	    hello_spec_offers_extension(spec, HELLO_EXT_SERVER_NAME) &&
	    hello_sni_name(host, sni) == 1;
	if (!hr->sent_sni) {
		for (i = j = 0; i < hr->spec.nextensions; i++) {
			if (hr->spec.extensions[i] != HELLO_EXT_SERVER_NAME)
				hr->spec.extensions[j++] =
				    hr->spec.extensions[i];
		}
		hr->spec.nextensions = j;
	}
	hr->reader = hello_reader_new(&hr->spec);
	hr->fd = socket(sa->sa_family,
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (hr->fd < 0) {
		xasprintf(errp, "socket: %s", strerror(errno));
		goto fail;
	}
	hr->ev_write = event_new(loop_base(), hr->fd, EV_WRITE | EV_PERSIST,
	    hellorun_write_cb, hr);
	hr->ev_read = event_new(loop_base(), hr->fd, EV_READ | EV_PERSIST,
	    hellorun_read_cb, hr);
	hr->ev_timer = evtimer_new(loop_base(), hellorun_timer_cb, hr);
	if (hr->ev_write == NULL || hr->ev_read == NULL || hr->ev_timer == NULL)
		fatalx("cannot make the events of a hello exchange");
	hr->start_us = loop_now_usec();
	if (connect(hr->fd, sa, salen) != 0 && errno != EINPROGRESS)
		hr->pending_errno = errno;
	/* A connect that failed at once is reported from the loop too. */
	if (event_add(hr->ev_write, NULL) != 0 ||
	    loop_timer_ms(hr->ev_timer, timeout_ms) != 0)
		fatalx("cannot watch a hello socket");
	if (hr->pending_errno != 0)
		event_active(hr->ev_write, EV_WRITE, 0);
	return hr;

fail:
	hellorun_free(hr);
	return NULL;
}

/* Close the socket and free everything (safe from the callback). */
void
hellorun_free(struct hellorun *hr)
{
	if (hr == NULL)
		return;
	if (hr->ev_write != NULL)
		event_free(hr->ev_write);
	if (hr->ev_read != NULL)
		event_free(hr->ev_read);
	if (hr->ev_timer != NULL)
		event_free(hr->ev_timer);
	if (hr->fd >= 0)
		close(hr->fd);
	hello_reader_free(hr->reader);
	free(hr);
}

/* How the exchange ended (valid from the callback on). */
enum hellorun_end
hellorun_end(const struct hellorun *hr)
{
	return hr->end;
}

/* The errno of a connect, reset or I/O end; 0 otherwise. */
int
hellorun_errno(const struct hellorun *hr)
{
	return hr->err;
}

/* What the server answered, as far as it went. */
const struct hello_reply *
hellorun_reply(const struct hellorun *hr)
{
	return hello_reader_reply(hr->reader);
}

/* The hello as sent (server_name listed only when it was sent). */
const struct hello_spec *
hellorun_spec(const struct hellorun *hr)
{
	return &hr->spec;
}

/* Did the hello carry a server_name? */
int
hellorun_sent_sni(const struct hellorun *hr)
{
	return hr->sent_sni;
}

/* Connect, first byte and total times. */
void
hellorun_timings(const struct hellorun *hr, struct hellorun_timings *t)
{
	*t = hr->timings;
}

/* A stable name for an end ("answered", "reset", ...). */
const char *
hellorun_end_name(enum hellorun_end end)
{
	switch (end) {
	case HELLORUN_ANSWERED:
		return "answered";
	case HELLORUN_CLOSED:
		return "closed";
	case HELLORUN_RESET:
		return "reset";
	case HELLORUN_CONNECT_FAILED:
		return "connect_failed";
	case HELLORUN_IO_ERROR:
		return "io_error";
	case HELLORUN_TIMEOUT:
		return "timeout";
	}
	return "unknown";
}
