/*
 * afile: write a whole file atomically, so that a reader (a scraper, an
 * admin's cat) sees either the previous complete file or the new complete
 * file, never a torn one — even across a crash, a full disk or SIGKILL.
 */
#ifndef EWSPROBED_AFILE_H
#define EWSPROBED_AFILE_H

#include <sys/types.h>

#include <stddef.h>
#include <stdio.h>

/*
 * Replace path with len bytes of data, created with mode (before umask).
 * Return 0, or -1 with *cause set (caller frees); on failure path is
 * untouched and no temporary file is left behind.
 */
int afile_write(const char *, const void *, size_t, mode_t, char **);

/*
 * The same, streamed: afile_open() creates the temporary file, the
 * caller writes to afile_stream(), afile_commit() puts it in place (or
 * fails and leaves path untouched), afile_abort() gives up.
 */
struct afile;
struct afile *afile_open(const char *, mode_t, char **);
FILE *afile_stream(struct afile *);
int afile_commit(struct afile *, char **);
void afile_abort(struct afile *);

#endif
