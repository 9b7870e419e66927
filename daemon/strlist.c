/*
 * strlist: owns a plain list of strings, copied in, in the order added:
 * the configuration's lists and autodiscover's visited sets. Lookups are
 * linear; the lists are short (a few hosts, the URLs of one discovery).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "strlist.h"
#include "xmalloc.h"

/* Append a copy of s to a list. */
void
strlist_add(struct strlist *l, const char *s)
{
	l->items = xreallocarray(l->items, l->n + 1, sizeof *l->items);
	l->items[l->n++] = xstrdup(s);
}

/* Free a list's strings, leaving it empty. */
void
strlist_clear(struct strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

/* Whether a list holds s, compared without regard to case. */
int
strlist_has(const struct strlist *l, const char *s)
{
	size_t i;

	for (i = 0; l != NULL && i < l->n; i++) {
		if (strcasecmp(l->items[i], s) == 0)
			return 1;
	}
	return 0;
}

/*
 * Replace a list with the items of a comma-, space- or tab-separated
 * value (empty items dropped). Return the number of items.
 */
size_t
strlist_split(struct strlist *l, const char *value)
{
	char *copy, *p, *tok;

	strlist_clear(l);
	copy = xstrdup(value);
	for (p = copy; (tok = strsep(&p, ", \t")) != NULL;) {
		if (*tok != '\0')
			strlist_add(l, tok);
	}
	free(copy);
	return l->n;
}
