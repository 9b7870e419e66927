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

/* An atomic replacement in progress: the temporary file and its stream. */
struct afile {
	char *path;
	char *tmp;
	FILE *fp;
};

/* Undo: close and remove the temporary file, free the handle. */
static void
afile_discard(struct afile *af)
{
	if (af->fp != NULL)
		fclose(af->fp);
	unlink(af->tmp);
	free(af->tmp);
	free(af->path);
	free(af);
}

/* Fail with "what file: error", undoing everything; return -1. */
static int
afile_fail(struct afile *af, const char *what, int err, char **cause)
{
	if (cause != NULL)
		xasprintf(cause, "%s %s: %s", what,
		    strcmp(what, "rename") == 0 ? af->path : af->tmp,
		    strerror(err));
	afile_discard(af);
	errno = err;
	return -1;
}

/*
 * Start replacing path: create its temporary file with mode (whatever the
 * umask says) and return a handle whose stream takes the new contents.
 * NULL with *cause on error.
 */
struct afile *
afile_open(const char *path, mode_t mode, char **cause)
{
	struct afile *af = xcalloc(1, sizeof *af);
	int fd;

	af->path = xstrdup(path);
	xasprintf(&af->tmp, "%s.tmp.%ld", path, (long)getpid());
	fd = open(af->tmp,
	    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		afile_fail(af, "create", errno, cause);
		return NULL;
	}
	/* The mode is the target's, whatever umask said. */
	if (fchmod(fd, mode) != 0 || (af->fp = fdopen(fd, "w")) == NULL) {
		close(fd);
		afile_fail(af, "create", errno, cause);
		return NULL;
	}
	return af;
}

/* The stream that takes the new contents. */
FILE *
afile_stream(struct afile *af)
{
	return af->fp;
}

/*
 * Finish: flush, fsync, rename over the target, fsync the directory. On
 * any error (including an earlier write error on the stream) the target
 * is untouched and the temporary file is gone: -1 with *cause. The
 * handle is freed either way.
 */
int
afile_commit(struct afile *af, char **cause)
{
	int fd = fileno(af->fp), err;

	if (fflush(af->fp) != 0 || ferror(af->fp))
		return afile_fail(af, "write", errno != 0 ? errno : EIO, cause);
	if (fsync(fd) != 0)
		return afile_fail(af, "fsync", errno, cause);
	err = fclose(af->fp);
	af->fp = NULL;
	if (err != 0)
		return afile_fail(af, "close", errno, cause);
	if (rename(af->tmp, af->path) != 0)
		return afile_fail(af, "rename", errno, cause);
	/* The new file is in place; a failed directory fsync only weakens
	 * durability across power loss, so it is not an error. */
	(void)afile_sync_dir(af->path);
	free(af->tmp);
	free(af->path);
	free(af);
	return 0;
}

/* Give up: the target stays as it was. */
void
afile_abort(struct afile *af)
{
	if (af != NULL)
		afile_discard(af);
}

/* Replace path atomically with data; see afile.h. */
int
afile_write(const char *path, const void *data, size_t len, mode_t mode,
    char **cause)
{
	struct afile *af;

	if ((af = afile_open(path, mode, cause)) == NULL)
		return -1;
	errno = 0;
	if (len > 0 && fwrite(data, 1, len, af->fp) != len)
		return afile_fail(af, "write", errno != 0 ? errno : EIO, cause);
	return afile_commit(af, cause);
}
