/*
 * xmalloc: allocation wrappers that never return NULL.
 *
 * Running out of memory is not an operational condition this daemon can
 * recover from: every x*() call either succeeds or ends the process through
 * fatalx() with a clear message and exit status 1 (never a crash).
 * Callers therefore never check the results.
 */
#ifndef EWSPROBED_XMALLOC_H
#define EWSPROBED_XMALLOC_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

void *xmalloc(size_t);
void *xcalloc(size_t, size_t);
void *xreallocarray(void *, size_t, size_t);
char *xstrdup(const char *);
char *xstrndup(const char *, size_t);
int xasprintf(char **, const char *, ...) __attribute__((format(printf, 2, 3)));
int xvasprintf(char **, const char *, va_list)
    __attribute__((format(printf, 2, 0)));

/* A string written through a FILE (open_memstream), never NULL. */
FILE *xopen_memstream(char **, size_t *);
char *xclose_memstream(FILE *, char **);

/* Wipe a secret buffer so it does not linger in freed memory, then free. */
void xfree_secret(char *);

#endif
