/*
 * libFuzzer harness for the command line: the input split at NUL bytes is
 * argv (after "ewsprobed"); cmdline_parse must give one consistent mode,
 * a usage error with a message textsafe would not change, and never crash or leak. Nothing
 * is started: the parser is pure.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "textsafe.h"

/* Stop at the first broken invariant with a clear crash. */
#define CHECK(c) \
	do { \
		if (!(c)) \
			__builtin_trap(); \
	} while (0)

#define FUZZ_MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The mode and what it needs agree. */
static void
fuzz_invariants(const struct cmdline *cl, enum cmdline_mode mode)
{
	const struct once_opts *oo = &cl->once;

	CHECK(mode == cl->mode);
	CHECK((mode == CMDLINE_USAGE) == (cl->error != NULL));
	CHECK(cl->config != NULL);
	if (cl->error != NULL)
		CHECK(*cl->error != '\0' && textsafe_is_safe(cl->error));
	if (mode == CMDLINE_PARSE)
		CHECK(cl->parse_file != NULL);
	if (mode != CMDLINE_ONCE)
		return;
	CHECK(oo->ntrust_ca >= 0 && oo->ntrust_ca <= 16);
	CHECK(oo->nmailboxes >= 0);
	if (oo->config == NULL) {
		/* A mailbox from options: complete, and no file. */
		CHECK(oo->address != NULL && !cl->config_given);
		CHECK(oo->nmailboxes == 0);
		CHECK((oo->account == NULL) == (oo->password_file == NULL));
		CHECK(oo->frontend != NULL || oo->frontend_ca != NULL ||
		    oo->ntrust_ca > 0);
	} else
		CHECK(oo->address == NULL && oo->frontend == NULL &&
		    oo->ntrust_ca == 0 && oo->dns_servers == NULL);
}

/* Split the input into argv and parse it, twice (state must reset). */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy, *argv[FUZZ_MAX_ARGS + 2], *p, *end;
	struct cmdline cl, cl2;
	enum cmdline_mode mode;
	int argc = 0;

	copy = malloc(size + 1);
	memcpy(copy, data, size);
	copy[size] = '\0';
	argv[argc++] = "ewsprobed";
	for (p = copy, end = copy + size; p <= end && argc <= FUZZ_MAX_ARGS;
	     p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;
	mode = cmdline_parse(argc, argv, "/etc/ewsprobed/ewsprobed.conf", &cl);
	fuzz_invariants(&cl, mode);
	CHECK(cmdline_parse(argc, argv, "/etc/ewsprobed/ewsprobed.conf",
	          &cl2) == mode);
	CHECK((cl.error == NULL && cl2.error == NULL) ||
	    (cl.error != NULL && cl2.error != NULL &&
	        strcmp(cl.error, cl2.error) == 0));
	cmdline_clear(&cl);
	cmdline_clear(&cl2);
	free(copy);
	return 0;
}
