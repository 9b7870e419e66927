/*
 * parsecmd: owns the `parse` command — reading the file (or stdin) with a
 * size cap, handing the bytes to adxml, and printing the JSON. Exit status
 * is 0 whenever the file could be read, whatever it holds.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adxml.h"
#include "json.h"
#include "parsecmd.h"
#include "xmalloc.h"

/*
 * Read up to max bytes from fd into a new buffer (caller frees); *len gets
 * the count. Return -1 with errno set on a read error.
 */
static int
parsecmd_read(int fd, size_t max, char **out, size_t *len)
{
	size_t cap = 64 * 1024, n = 0;
	char *buf;
	ssize_t got;

	buf = xmalloc(cap);
	while (n < max) {
		if (n == cap) {
			cap = cap * 2 > max ? max : cap * 2;
			buf = xreallocarray(buf, 1, cap);
		}
		got = read(fd, buf + n, cap - n);
		if (got == -1 && errno == EINTR)
			continue;
		if (got == -1) {
			free(buf);
			return -1;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	*out = buf;
	*len = n;
	return 0;
}

/*
 * Run `ewsprobed parse path` ("-" is stdin). Return 0 when the file was
 * read (the JSON is on stdout), 1 when it could not be read or the JSON
 * could not be written (a message is on stderr).
 */
int
parsecmd_run(const char *path)
{
	struct adxml_result *r;
	char *buf = NULL, *text;
	size_t len, tlen;
	int fd, rc, saved, is_stdin;

	if ((is_stdin = strcmp(path, "-") == 0))
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		fprintf(stderr, "ewsprobed: parse: %s: %s\n", path,
		    strerror(errno));
		return 1;
	}
	/*
	 * One byte past the cap is read so that a larger file still reaches
	 * adxml as "more than allowed" rather than as a truncated document.
	 */
	rc = parsecmd_read(fd, PARSECMD_MAX_READ + 1, &buf, &len);
	saved = errno;
	if (!is_stdin)
		close(fd);
	if (rc == -1) {
		fprintf(stderr, "ewsprobed: parse: %s: %s\n",
		    is_stdin ? "stdin" : path, strerror(saved));
		return 1;
	}
	r = adxml_parse(buf, len);
	free(buf);
	text = adxml_result_to_json(r, JSON_PRETTY);
	tlen = strlen(text);
	adxml_result_free(r);
	rc = fwrite(text, 1, tlen, stdout) == tlen && fflush(stdout) == 0;
	saved = errno;
	free(text);
	if (!rc) {
		fprintf(stderr, "ewsprobed: parse: stdout: %s\n",
		    strerror(saved));
		return 1;
	}
	return 0;
}
