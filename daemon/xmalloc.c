/*
 * xmalloc: versions of malloc and friends that check their results and never
 * return failure. An allocation failure is fatal (clean exit, status 1).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmalloc.h"

/* Allocate size bytes; size 0 is a bug. */
void *
xmalloc(size_t size)
{
	void *ptr;

	if (size == 0)
		fatalx("xmalloc: zero size");
	if ((ptr = malloc(size)) == NULL)
		log_oom(size);
	return ptr;
}

/* Allocate a zeroed array of nmemb elements of size bytes. */
void *
xcalloc(size_t nmemb, size_t size)
{
	void *ptr;

	if (size == 0 || nmemb == 0)
		fatalx("xcalloc: zero size");
	if ((ptr = calloc(nmemb, size)) == NULL)
		log_oom(nmemb * size);
	return ptr;
}

/* Resize an array, checking the multiplication for overflow. */
void *
xreallocarray(void *ptr, size_t nmemb, size_t size)
{
	void *new_ptr;

	if (nmemb == 0 || size == 0)
		fatalx("xreallocarray: zero size");
	if ((new_ptr = reallocarray(ptr, nmemb, size)) == NULL)
		log_oom(nmemb * size);
	return new_ptr;
}

/* Duplicate a string. */
char *
xstrdup(const char *str)
{
	char *cp;

	if ((cp = strdup(str)) == NULL)
		log_oom(strlen(str) + 1);
	return cp;
}

/* Duplicate at most len bytes of a string, always NUL-terminated. */
char *
xstrndup(const char *str, size_t len)
{
	char *cp;

	if ((cp = strndup(str, len)) == NULL)
		log_oom(len + 1);
	return cp;
}

/* Format into a newly allocated string. */
int
xasprintf(char **ret, const char *fmt, ...)
{
	va_list ap;
	int i;

	va_start(ap, fmt);
	i = xvasprintf(ret, fmt, ap);
	va_end(ap);
	return i;
}

/* Format into a newly allocated string (va_list form). */
int
xvasprintf(char **ret, const char *fmt, va_list ap)
{
	int i;

	i = vasprintf(ret, fmt, ap);
	if (i < 0 || *ret == NULL)
		log_oom(strlen(fmt));
	return i;
}

/* Wipe a NUL-terminated secret before freeing it; NULL is a no-op. */
void
xfree_secret(char *secret)
{
	if (secret == NULL)
		return;
	explicit_bzero(secret, strlen(secret));
	free(secret);
}

/* Open a string that grows as it is written (open_memstream); *out is set. */
FILE *
xopen_memstream(char **out, size_t *len)
{
	FILE *fp;

	*out = NULL;
	if ((fp = open_memstream(out, len)) == NULL)
		fatal("open_memstream");
	return fp;
}

/* Close a growing string and return it (the caller frees). */
char *
xclose_memstream(FILE *fp, char **out)
{
	if (fclose(fp) != 0 || *out == NULL)
		fatalx("open_memstream: out of memory");
	return *out;
}
