/*
 * libFuzzer harness for the configuration reader: any bytes, as a file
 * (read through a memfd's /proc path, as -n reads a file) and as text from
 * the command line, must load or be refused with well-formed error lines,
 * never crash, leak or take long (run with -timeout=1).
 */
#include <sys/mman.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "textsafe.h"

/* Stop at the first broken invariant with a clear crash. */
#define CHECK(c) \
	do { \
		if (!(c)) \
			__builtin_trap(); \
	} while (0)

int LLVMFuzzerInitialize(int *, char ***);
int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int fuzz_fd = -1;
static char fuzz_path[64];

/*
 * A loaded configuration is complete, within its bounds; a refused one
 * has error lines that each start with the name, end in "\n" and are
 * safe to show (textsafe would not change them).
 */
static void
fuzz_check(int r, const char *name, struct config *cfg, char *errors)
{
	const char *p, *nl;
	size_t i, lines = 0;
	char *s, *line;

	if (r == 0) {
		CHECK(cfg != NULL && errors == NULL && cfg->nmailboxes > 0);
		CHECK(cfg->interval_ms >= 1000 &&
		    cfg->interval_ms <= CONFIG_MAX_DURATION_MS);
		CHECK(cfg->retry_interval_ms <= CONFIG_MAX_DURATION_MS);
		CHECK(cfg->discovery_interval_ms <= CONFIG_MAX_DURATION_MS);
		CHECK(cfg->timeout_ms <= CONFIG_MAX_DURATION_MS);
		for (i = 0; i < cfg->nmailboxes; i++) {
			CHECK(cfg->mailboxes[i]->address != NULL);
			CHECK(cfg->mailboxes[i]->nprofiles > 0);
			CHECK(cfg->mailboxes[i]->interval_ms <=
			    CONFIG_MAX_DURATION_MS);
			CHECK(config_mailbox_find(cfg,
			          cfg->mailboxes[i]->name) != NULL);
		}
		s = config_summary(cfg);
		free(s);
		config_unref(cfg);
		return;
	}
	CHECK(r == -1 && cfg == NULL && errors != NULL && *errors != '\0');
	for (p = errors; *p != '\0'; p = nl + 1, lines++) {
		CHECK(strncmp(p, name, strlen(name)) == 0);
		CHECK((nl = strchr(p, '\n')) != NULL);
		line = strndup(p, (size_t)(nl - p));
		CHECK(textsafe_is_safe(line));
		free(line);
	}
	/* 200 shown, one count of the rest, and the caps that were hit. */
	CHECK(lines <= 200 + 1 + 3);
	free(errors);
}

/* Make the memfd that stands for the file. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	unsetenv("CREDENTIALS_DIRECTORY");
	if ((fuzz_fd = memfd_create("fuzz-config", MFD_CLOEXEC)) < 0)
		abort();
	snprintf(fuzz_path, sizeof fuzz_path, "/proc/self/fd/%d", fuzz_fd);
	return 0;
}

/* Load the bytes as a file (-n) and as text (--once's options). */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *cfg = NULL;
	char *errors = NULL, *text;
	int r;

	if (ftruncate(fuzz_fd, 0) != 0 ||
	    pwrite(fuzz_fd, data, size, 0) != (ssize_t)size)
		abort();
	r = config_load_flags(fuzz_path, CONFIG_LOAD_CHECK, &cfg, &errors);
	fuzz_check(r, fuzz_path, cfg, errors);

	text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	cfg = NULL;
	errors = NULL;
	r = config_load_text("(command line)", text, CONFIG_LOAD_CMDLINE, &cfg,
	    &errors);
	fuzz_check(r, "(command line)", cfg, errors);
	free(text);
	return 0;
}
