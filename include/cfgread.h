/*
 * cfgread: read an INI file (through inih) into sections and key = value
 * lines, and collect every problem found with its file:line.
 *
 * The reader knows nothing of ewsprobed's sections and keys: it hands
 * each section header and each key line to its caller, which checks them
 * and reports problems back through cfgread_error. Problems are sorted by
 * line and joined when the read is over.
 */
#ifndef EWSPROBED_CFGREAD_H
#define EWSPROBED_CFGREAD_H

#include <stddef.h>

struct cfgread;

/*
 * What the caller does with what is read. begin gets the text between a
 * header's brackets and returns 1 if the section's keys are wanted (0: an
 * unknown or bad section, reported by the caller; its keys are skipped).
 * end finishes the current section (the messages still name it). key
 * gets one line of a wanted section and returns 0 for an unknown key.
 */
struct cfgread_handler {
	int (*begin)(void *, const char *);
	void (*end)(void *);
	int (*key)(void *, const char *, const char *);
};

/*
 * A reader of the file path (also the name in messages). With option
 * set, the text was built from command-line options: a message about a
 * key names option(key) instead of a line ("path: --opt: message").
 */
struct cfgread *cfgread_new(const char *, const char *(*)(const char *));
void cfgread_free(struct cfgread *);

/*
 * Read text (NUL-terminated), or the file when text is NULL: only a
 * regular file of at most 8 MiB, opened without blocking. At most 50,000
 * sections and 500,000 key lines are taken; past a cap the rest is
 * skipped and the cap reported. Return 0, or -1 when nothing could be
 * read (the file cannot be opened, or is too large).
 */
int cfgread_parse(struct cfgread *, const char *,
    const struct cfgread_handler *, void *);
/* The number of the line being read (1 is the first). */
int cfgread_line(const struct cfgread *);
/* Name the section later messages are about ("mailbox x"; NULL: none). */
void cfgread_section(struct cfgread *, const char *);
/* The same as "type name", from its two parts. */
void cfgread_section_named(struct cfgread *, const char *, const char *);
/*
 * Report a problem at a line (0: the whole file; -1: a cap was hit), about
 * a key or (NULL) the section or line. The forms are
 *	file:line: [section] key: message	(a value)
 *	file:line: [section]: message		(a section, or a line in it)
 *	file:line: message			(a line outside any section)
 *	file: message				(the whole file)
 * What the message quotes is escaped (textsafe).
 */
void cfgread_error(struct cfgread *, int, const char *, const char *, ...)
    __attribute__((format(printf, 4, 5)));
/* How many problems were found. */
size_t cfgread_nerrors(const struct cfgread *);
/*
 * Every problem, sorted by line (caps first, the whole file last), one per
 * line ending in "\n"; past 200, a count of the rest. NULL when there was
 * none. Caller frees.
 */
char *cfgread_errors(struct cfgread *);

#endif
