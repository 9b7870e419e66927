/*
 * strlist: a list of strings (hosts, files, servers, visited URLs), in the
 * order added. The fields are public for reading.
 */
#ifndef EWSPROBED_STRLIST_H
#define EWSPROBED_STRLIST_H

#include <stddef.h>

struct strlist {
	char **items;
	size_t n;
};

void strlist_add(struct strlist *, const char *);
void strlist_clear(struct strlist *);
int strlist_has(const struct strlist *, const char *);
size_t strlist_split(struct strlist *, const char *);

#endif
