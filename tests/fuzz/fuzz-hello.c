/*
 * libFuzzer harness for the hello reader (hello_reader_feed) and the
 * hello spec text forms. The first byte chooses the hello the answer is
 * read against and how the bytes are cut into reads; any answer must give
 * one consistent reply, the same one however it is cut, and no crash,
 * leak, hang or read past the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hello.h"

/* Stop at the first broken invariant with a clear crash. */
#define CHECK(c) \
	do { \
		if (!(c)) \
			__builtin_trap(); \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The reply agrees with itself. */
static void
fuzz_invariants(const struct hello_reply *rp, size_t size)
{
	CHECK(rp->consumed <= size);
	CHECK(rp->consumed <= HELLO_INPUT_MAX);
	CHECK((rp->status == HELLO_ERROR) == (rp->reason[0] != '\0'));
	CHECK(memchr(rp->reason, '\0', sizeof rp->reason) != NULL);
	CHECK(rp->status != HELLO_ALERT || rp->have_alert);
	CHECK(!rp->have_alert || rp->status == HELLO_ALERT);
	CHECK(rp->status != HELLO_DONE || rp->have_server_hello);
	CHECK(!rp->have_certificate ||
	    (rp->chain != NULL && sk_X509_num(rp->chain) >= 1 &&
	        sk_X509_num(rp->chain) <= HELLO_MAX_CERTS));
	CHECK(rp->nextensions <= HELLO_MAX_SERVER_EXTENSIONS);
	CHECK(rp->status == HELLO_MORE || rp->status == HELLO_DONE ||
	    rp->status == HELLO_ALERT || rp->status == HELLO_ERROR);
}

/* Feed data in pieces of step bytes (0: all at once). */
static struct hello_reader *
fuzz_read(const struct hello_spec *spec, const uint8_t *data, size_t size,
    size_t step)
{
	struct hello_reader *r = hello_reader_new(spec);
	size_t off = 0, n;

	while (off < size) {
		n = step == 0 || size - off < step ? size - off : step;
		hello_reader_feed(r, data + off, n);
		off += n;
	}
	return r;
}

/* The text forms: any list parses or fails with a message. */
static void
fuzz_text(const uint8_t *data, size_t size)
{
	struct hello_spec spec;
	char *text, *err = NULL, *d;

	text = malloc(size + 1);
	CHECK(text != NULL);
	memcpy(text, data, size);
	text[size] = '\0';
	hello_spec_phone(&spec);
	if (hello_spec_parse_suites(&spec, text, &err) != 0) {
		CHECK(err != NULL);
		free(err);
		err = NULL;
	} else
		CHECK(spec.nsuites >= 1 && spec.nsuites <= HELLO_MAX_SUITES);
	if (hello_spec_parse_extensions(&spec, text, &err) != 0) {
		CHECK(err != NULL);
		free(err);
	} else
		CHECK(spec.nextensions <= HELLO_MAX_EXTENSIONS);
	d = hello_spec_describe(&spec);
	free(d);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t steps[] = {1, 2, 3, 5, 7, 64, 1000, 16389};
	struct hello_spec spec;
	struct hello_reader *whole, *cut;
	const struct hello_reply *a, *b;
	char *err = NULL;
	uint8_t mode;

	if (size < 1)
		return 0;
	mode = data[0];
	data++;
	size--;
	if (mode & 0x80) {
		fuzz_text(data, size);
		return 0;
	}
	hello_spec_phone(&spec);
	if (mode & 0x01)
		CHECK(hello_spec_parse_extensions(&spec,
		          "server_name renegotiation_info", &err) == 0);
	if (mode & 0x02) {
		CHECK(hello_spec_parse_suites(&spec,
		          "ECDHE-RSA-AES128-SHA AES128-SHA "
		          "TLS_EMPTY_RENEGOTIATION_INFO_SCSV",
		          &err) == 0);
		CHECK(hello_spec_parse_extensions(&spec,
		          "server_name supported_groups ec_point_formats",
		          &err) == 0);
	}
	whole = fuzz_read(&spec, data, size, 0);
	cut = fuzz_read(&spec, data, size, steps[(mode >> 2) & 7]);
	a = hello_reader_reply(whole);
	b = hello_reader_reply(cut);
	fuzz_invariants(a, size);
	fuzz_invariants(b, size);
	/* However the bytes arrive, the answer is the same. */
	CHECK(a->status == b->status);
	CHECK(a->consumed == b->consumed);
	CHECK(strcmp(a->reason, b->reason) == 0);
	CHECK(a->suite == b->suite && a->version == b->version);
	CHECK(a->have_certificate == b->have_certificate);
	hello_reader_free(whole);
	hello_reader_free(cut);
	return 0;
}
