/*
 * capture.h: for the unit tests that read what the log wrote — stderr
 * redirected to a temporary file between capture_begin() and
 * capture_end(), which copies it into the caller's buffer. Header-only.
 */
#ifndef EWSPROBED_TEST_CAPTURE_H
#define EWSPROBED_TEST_CAPTURE_H

#include <stdio.h>
#include <unistd.h>

static FILE *capture_tmp;
static int capture_saved = -1;

/* Start keeping what is written to stderr. */
static void
capture_begin(void)
{
	capture_tmp = tmpfile();
	assert_non_null(capture_tmp);
	fflush(stderr);
	capture_saved = dup(STDERR_FILENO);
	dup2(fileno(capture_tmp), STDERR_FILENO);
}

/* Stop; buf (size bytes) holds what was written, NUL-terminated. */
static void
capture_end(char *buf, size_t size)
{
	size_t n;

	fflush(stderr);
	dup2(capture_saved, STDERR_FILENO);
	close(capture_saved);
	capture_saved = -1;
	rewind(capture_tmp);
	n = fread(buf, 1, size - 1, capture_tmp);
	buf[n] = '\0';
	fclose(capture_tmp);
	capture_tmp = NULL;
}

#endif
