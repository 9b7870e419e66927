/*
 * afile: owns the atomic-replace recipe: write a temporary file in the same
 * directory, fsync it, rename it over the target, fsync the directory.
 * rename(2) within one filesystem is atomic, and the two fsyncs make the
 * new contents and the new name durable in that order.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "afile.h"
#include "xmalloc.h"

/* Write all of buf to fd, retrying short writes; -1 on error. */
static int
afile_write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Fsync the directory holding path so the rename is durable. */
static int
afile_sync_dir(const char *path)
{
	char *copy, *dir;
	int fd, r;

	copy = xstrdup(path);
	dir = dirname(copy);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd < 0)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

/* Replace path atomically with data; see afile.h. */
int
afile_write(const char *path, const void *data, size_t len, mode_t mode,
    char **cause)
{
	char *tmp;
	const char *what;
	int fd, saved_errno;

	xasprintf(&tmp, "%s.tmp.%ld", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    mode);
	if (fd < 0) {
		what = "create";
		goto fail;
	}
	/* The mode is the target's, whatever umask said (still 0 for others
	 * unless the caller asked). */
	if (fchmod(fd, mode) != 0) {
		what = "chmod";
		goto fail;
	}
	if (afile_write_all(fd, data, len) != 0) {
		what = "write";
		goto fail;
	}
	if (fsync(fd) != 0) {
		what = "fsync";
		goto fail;
	}
	if (close(fd) != 0) {
		fd = -1;
		what = "close";
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		what = "rename";
		goto fail;
	}
	free(tmp);
	/* The new file is in place; a failed directory fsync only weakens
	 * durability across power loss, so it is not an error. */
	(void)afile_sync_dir(path);
	return 0;

fail:
	saved_errno = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	if (cause != NULL)
		xasprintf(cause, "%s %s: %s", what,
		    strcmp(what, "rename") == 0 ? path : tmp,
		    strerror(saved_errno));
	free(tmp);
	errno = saved_errno;
	return -1;
}
