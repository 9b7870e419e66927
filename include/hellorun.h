/*
 * hellorun: one raw-hello exchange on the event loop — connect to an
 * address, send the ClientHello of a hello spec (hello.h), feed the
 * server's answer to a hello reader until it decides, the server closes
 * or resets, the connection fails or the time is up; then call back once.
 *
 * Nothing is encrypted and nothing is sent after the hello: the exchange
 * ends at the server's first flight, so it never carries a credential.
 * The socket is closed by hellorun_free(). The callback runs once, as the
 * last thing hellorun does for that exchange: it may free it.
 */
#ifndef EWSPROBED_HELLORUN_H
#define EWSPROBED_HELLORUN_H

#include <sys/socket.h>

#include <stdint.h>

#include "hello.h"

enum hellorun_end {
	HELLORUN_ANSWERED, /* the reader decided: see reply->status */
	HELLORUN_CLOSED, /* the server closed before deciding */
	HELLORUN_RESET, /* the connection was reset before deciding */
	HELLORUN_CONNECT_FAILED, /* TCP connect failed (errno) */
	HELLORUN_IO_ERROR, /* another socket error (errno) */
	HELLORUN_TIMEOUT, /* no decision in time */
};

/* Microseconds from the start; -1 when the point was not reached. */
struct hellorun_timings {
	int64_t connect_us;
	int64_t first_byte_us;
	int64_t total_us;
};

struct hellorun;
typedef void (*hellorun_cb)(struct hellorun *, void *);

struct hellorun *
hellorun_start(const struct sockaddr *, socklen_t, const struct hello_spec *,
    const char *, uint64_t, hellorun_cb, void *, char **);
void hellorun_free(struct hellorun *);
enum hellorun_end hellorun_end(const struct hellorun *);
int hellorun_errno(const struct hellorun *);
const struct hello_reply *hellorun_reply(const struct hellorun *);
const struct hello_spec *hellorun_spec(const struct hellorun *);
int hellorun_sent_sni(const struct hellorun *);
void hellorun_timings(const struct hellorun *, struct hellorun_timings *);
const char *hellorun_end_name(enum hellorun_end);

#endif
