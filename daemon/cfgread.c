/*
 * cfgread: owns reading an INI file into sections and key = value lines,
 * with every problem reported at its file:line, and the caps that bound
 * what one file may cost.
 *
 * inih as Debian builds it does not tell its handler the line number and
 * reports only the first syntax error, so the file is fed to inih through
 * our own line reader (cfgread_reader). The reader counts lines, sees
 * every section header (inih does not announce sections), and notes lines
 * inih would reject or misread, so that every problem is reported with
 * its file:line. Duplicate sections and keys are found here too. Problems
 * are collected, sorted by line and returned together.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>

#include "cfgread.h"
#include "hashset.h"
#include "log.h"
#include "textsafe.h"
#include "xmalloc.h"

#define CFGREAD_MAX_ERRORS 200 /* shown */
#define CFGREAD_KEEP_ERRORS 10000 /* kept to sort */

/*
 * What one file may cost. A reload runs on the event loop, so the work a
 * file can cause is bounded: every check is linear (hash sets, no pairwise
 * comparisons), and the file, its sections and their keys are capped. The
 * caps are far above any real file: a mailbox takes 60-200 bytes, so 8 MiB
 * holds the 50,000 sections the section cap allows, with ten keys each.
 */
#define CFGREAD_MAX_FILE (8 * 1024 * 1024) /* bytes */
#define CFGREAD_MAX_SECTIONS 50000
#define CFGREAD_MAX_KEYS 500000 /* key lines in the file */

/* Where the reader is: which keys it hands on. */
enum cfgread_state {
	CFGREAD_NONE, /* before the first section */
	CFGREAD_TAKE, /* in a section the caller wants */
	CFGREAD_SKIP, /* in a bad, unknown or duplicate section */
};

/* One problem found, kept until the read ends and they are sorted. */
struct cfgread_err {
	int line; /* 0: about the whole file; -1: a cap was hit */
	size_t seq; /* order found, to keep the sort stable */
	char *text; /* the full line, without "\n" */
};

struct cfgread {
	char *path;
	const char *(*option)(const char *); /* command-line text */
	const char *text; /* what is read, and how far */
	size_t len, pos;
	int lineno;
	const struct cfgread_handler *h;
	void *arg;
	enum cfgread_state state;
	char *sname; /* the section messages name, or NULL */
	struct hashset *keys; /* keys seen in this section */
	size_t nkeys; /* key lines in the file */
	struct hashset *sections; /* every section header seen */
	size_t nsections;
	/* every problem found */
	struct cfgread_err *errs;
	size_t nerrs; /* kept in errs */
	size_t nfound; /* found, kept or not */
};

/* A reader of the file path; see cfgread.h. */
struct cfgread *
cfgread_new(const char *path, const char *(*option)(const char *))
{
	struct cfgread *rd;

	rd = xcalloc(1, sizeof *rd);
	rd->path = xstrdup(path);
	rd->option = option;
	rd->keys = hashset_new();
	rd->sections = hashset_new();
	return rd;
}

/* Free a reader and every problem it holds. */
void
cfgread_free(struct cfgread *rd)
{
	size_t i;

	if (rd == NULL)
		return;
	for (i = 0; i < rd->nerrs; i++)
		free(rd->errs[i].text);
	free(rd->errs);
	hashset_free(rd->keys);
	hashset_free(rd->sections);
	free(rd->sname);
	free(rd->path);
	free(rd);
}

/* The number of the line being read. */
int
cfgread_line(const struct cfgread *rd)
{
	return rd->lineno;
}

/* Name the section later messages are about. */
void
cfgread_section(struct cfgread *rd, const char *name)
{
	free(rd->sname);
	rd->sname = name != NULL ? xstrdup(name) : NULL;
}

/* Messages now name section "type name" (no formatting: once a mailbox). */
void
cfgread_section_named(struct cfgread *rd, const char *type, const char *name)
{
	size_t lt = strlen(type), ln = strlen(name);

	free(rd->sname);
	rd->sname = xmalloc(lt + 1 + ln + 1);
	memcpy(rd->sname, type, lt);
	rd->sname[lt] = ' ';
	memcpy(rd->sname + lt + 1, name, ln + 1);
}

/* How many problems were found. */
size_t
cfgread_nerrors(const struct cfgread *rd)
{
	return rd->nfound;
}

/* Record one problem, formatted, at a line; see cfgread.h. */
void
cfgread_error(struct cfgread *rd, int line, const char *key, const char *fmt,
    ...)
{
	struct cfgread_err *e;
	char *msg;
	va_list ap;

	/* A cap that was hit is always kept: it explains what follows. */
	if (rd->nfound++ >= CFGREAD_KEEP_ERRORS && line >= 0)
		return;
	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	rd->errs = xreallocarray(rd->errs, rd->nerrs + 1, sizeof *rd->errs);
	e = &rd->errs[rd->nerrs++];
	e->line = line > 0 ? line : line < 0 ? -1 : 0;
	e->seq = rd->nerrs;
	if (rd->option != NULL && key != NULL)
		xasprintf(&e->text, "%s: %s: %s", rd->path, rd->option(key),
		    msg);
	else if (rd->option != NULL || line <= 0)
		xasprintf(&e->text, "%s: %s", rd->path, msg);
	else if (rd->sname == NULL)
		xasprintf(&e->text, "%s:%d: %s", rd->path, line, msg);
	else if (key == NULL)
		xasprintf(&e->text, "%s:%d: [%s]: %s", rd->path, line,
		    rd->sname, msg);
	else
		xasprintf(&e->text, "%s:%d: [%s] %s: %s", rd->path, line,
		    rd->sname, key, msg);
	free(msg);
	/*
	 * Messages quote the file (and the path from the command line), and
	 * go to the terminal and the journal: what they quote is escaped as
	 * every other text from outside (textsafe).
	 */
	msg = e->text;
	e->text = textsafe(msg);
	free(msg);
}

/*
 * Order errors by line, caps that were hit first, file-wide ones last,
 * then as found.
 */
static int
cfgread_err_cmp(const void *a, const void *b)
{
	const struct cfgread_err *x = a, *y = b;

	if (x->line != y->line && (x->line < 0 || y->line < 0))
		return x->line < 0 ? -1 : 1;
	if (x->line != y->line) {
		if (x->line == 0 || y->line == 0)
			return x->line == 0 ? 1 : -1;
		return x->line < y->line ? -1 : 1;
	}
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sort the problems and join them into one string; see cfgread.h. */
char *
cfgread_errors(struct cfgread *rd)
{
	char *out = NULL, *more = NULL;
	size_t i, len = 0, n, shown;

	if (rd->nfound == 0)
		return NULL;
	qsort(rd->errs, rd->nerrs, sizeof *rd->errs, cfgread_err_cmp);
	shown = rd->nerrs < CFGREAD_MAX_ERRORS ? rd->nerrs : CFGREAD_MAX_ERRORS;
	if (rd->nfound > shown)
		xasprintf(&more, "%s: %zu more errors not shown", rd->path,
		    rd->nfound - shown);
	for (i = 0; i <= shown; i++) {
		const char *t = i < shown ? rd->errs[i].text : more;

		if (t == NULL)
			continue;
		n = strlen(t);
		out = xreallocarray(out, len + n + 2, 1);
		memcpy(out + len, t, n);
		out[len + n] = '\n';
		len += n + 1;
		out[len] = '\0';
	}
	free(more);
	return out;
}

/*
 * Count one more key or section; past the cap, report it once (the rest
 * of the file is only skipped) and return 1.
 */
static int
cfgread_over_cap(struct cfgread *rd, size_t *count, size_t max,
    const char *what)
{
	if (++*count <= max)
		return 0;
	if (*count == max + 1)
		cfgread_error(rd, -1, NULL,
		    "more than %zu %s; line %d and the rest of the file are not read",
		    max, what, rd->lineno);
	return 1;
}

/* Finish the current section: the caller's checks, then forget it. */
static void
cfgread_end_section(struct cfgread *rd)
{
	rd->h->end(rd->arg);
	hashset_clear(rd->keys);
	cfgread_section(rd, NULL);
}

/* Start a section from the text between its brackets. */
static void
cfgread_begin_section(struct cfgread *rd, const char *header)
{
	cfgread_end_section(rd);
	cfgread_section(rd, header);
	rd->state = CFGREAD_SKIP;
	if (cfgread_over_cap(rd, &rd->nsections, CFGREAD_MAX_SECTIONS,
	        "sections"))
		return;
	if (!hashset_add(rd->sections, header, NULL)) {
		cfgread_error(rd, rd->lineno, NULL, "section defined twice");
		return;
	}
	if (rd->h->begin(rd->arg, header))
		rd->state = CFGREAD_TAKE;
}

/* inih's handler: one key = value line of the current section. */
static int
cfgread_handler(void *arg, const char *section, const char *key,
    const char *value)
{
	struct cfgread *rd = arg;

	switch (rd->state) {
	case CFGREAD_NONE:
		cfgread_error(rd, rd->lineno, NULL,
		    "'%s' is outside any section", key);
		return 1;
	case CFGREAD_SKIP:
		return 1;
	default:
		break;
	}
	if (cfgread_over_cap(rd, &rd->nkeys, CFGREAD_MAX_KEYS, "keys"))
		return 1;
	if (!hashset_add(rd->keys, key, NULL)) {
		cfgread_error(rd, rd->lineno, key,
		    "given more than once in this section");
		return 1;
	}
	if (!rd->h->key(rd->arg, key, value))
		cfgread_error(rd, rd->lineno, key, "unknown key");
	return 1;
}

/*
 * Read one line into str (at most num - 2 characters kept), without its
 * end of line. Return -1 at the end of the file, 0 for a line, or 1 for a
 * line that cannot be taken (too long, control characters), already
 * reported.
 */
static int
cfgread_getline(struct cfgread *rd, char *str, int num)
{
	size_t len = 0, max = (size_t)num - 2;
	int c, bad = -1, toolong = 0;

	if (rd->pos >= rd->len) {
		str[0] = '\0';
		return -1;
	}
	while (rd->pos < rd->len) {
		c = (unsigned char)rd->text[rd->pos++];
		if (c == '\n')
			break;
		/* CR LF ends a line; a CR anywhere else is refused. */
		if (c == '\r' &&
		    (rd->pos == rd->len || rd->text[rd->pos] == '\n')) {
			rd->pos += rd->pos < rd->len;
			break;
		}
		if ((c < ' ' && c != '\t') || c == 0x7f) {
			if (bad < 0)
				bad = c;
		} else if (len < max)
			str[len++] = (char)c;
		else
			toolong = 1;
	}
	str[len] = '\0';
	rd->lineno++;
	if (toolong)
		cfgread_error(rd, rd->lineno, NULL,
		    "line longer than %zu characters", max);
	else if (bad >= 0)
		cfgread_error(rd, rd->lineno, NULL,
		    "control character 0x%02x in the line", (unsigned int)bad);
	else
		return 0;
	return 1;
}

/*
 * A section header line (starting with '['): start the section, or report
 * why not. The line is handed to inih as it is (or empty when it is bad).
 */
static void
cfgread_header(struct cfgread *rd, char *str)
{
	char *s, *end;

	if ((end = strchr(str, ']')) == NULL) {
		cfgread_end_section(rd);
		rd->state = CFGREAD_SKIP;
		cfgread_error(rd, rd->lineno, NULL,
		    "section header without ']'");
		str[0] = '\0';
		return;
	}
	*end = '\0';
	cfgread_begin_section(rd, str + 1);
	*end = ']';
	for (s = end + 1; *s == ' ' || *s == '\t'; s++)
		;
	if (*s != '\0' && *s != ';' && *s != '#')
		cfgread_error(rd, rd->lineno, NULL,
		    "text after the section header");
}

/*
 * inih's line reader. Counts lines, starts sections (inih does not tell its
 * handler), and reports the lines inih would reject or misread with their
 * numbers; those are handed to inih as empty lines.
 *
 * Leading white space is removed: with INI_ALLOW_MULTILINE (on in Debian's
 * build) inih would take an indented line as the continuation of the
 * previous value, and an indented "key = value" would silently become part
 * of the value above it.
 */
static char *
cfgread_reader(char *str, int num, void *arg)
{
	struct cfgread *rd = arg;
	char *s;
	int r;

	if ((r = cfgread_getline(rd, str, num)) < 0)
		return NULL;
	if (r > 0) {
		str[0] = '\0';
		return str;
	}
	s = str;
	if (rd->lineno == 1 && strncmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;
	while (*s == ' ' || *s == '\t')
		s++;
	memmove(str, s, strlen(s) + 1);
	if (*str == '\0' || *str == ';' || *str == '#')
		return str;
	if (*str == '[') {
		cfgread_header(rd, str);
		return str;
	}
	if ((s = strpbrk(str, "=:")) == NULL) {
		cfgread_error(rd, rd->lineno, NULL,
		    "syntax error (want key = value)");
		str[0] = '\0';
	} else if (*s == ':') {
		cfgread_error(rd, rd->lineno, NULL,
		    "syntax error (want key = value, not key: value)");
		str[0] = '\0';
	} else if (s == str) {
		cfgread_error(rd, rd->lineno, NULL,
		    "syntax error (no key before '=')");
		str[0] = '\0';
	}
	return str;
}

/* Report a file over the size cap. */
static void
cfgread_too_big(struct cfgread *rd)
{
	cfgread_error(rd, -1, NULL,
	    "larger than %d MiB (the cap bounds the time a reload may hold the event loop)",
	    CFGREAD_MAX_FILE / (1024 * 1024));
}

/*
 * Open the file for reading and check it: only a regular file, opened
 * without blocking (a FIFO would wait for a writer) and checked through the
 * descriptor, so /dev/zero or a FIFO is refused before a byte is read.
 * Return the descriptor and set *size, or report why not and return -1.
 */
static int
cfgread_open(struct cfgread *rd, size_t *size)
{
	struct stat sb;
	int fd;

	if ((fd = open(rd->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0) {
		cfgread_error(rd, 0, NULL, "%s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) != 0)
		cfgread_error(rd, 0, NULL, "%s", strerror(errno));
	else if (!S_ISREG(sb.st_mode))
		cfgread_error(rd, 0, NULL, "%s",
		    S_ISDIR(sb.st_mode) ? "is a directory"
		                        : "is not a regular file");
	else if (sb.st_size > CFGREAD_MAX_FILE)
		cfgread_too_big(rd);
	else {
		*size = (size_t)sb.st_size;
		return fd;
	}
	close(fd);
	return -1;
}

/*
 * Read the file into a new buffer (caller frees), at most one byte more
 * than CFGREAD_MAX_FILE, or report why not and return NULL.
 */
static char *
cfgread_file(struct cfgread *rd, size_t *lenp)
{
	size_t len = 0, cap;
	ssize_t n;
	char *buf;
	int fd;

	if ((fd = cfgread_open(rd, &cap)) < 0)
		return NULL;
	cap += 2;
	buf = xmalloc(cap);
	/* The file may grow while it is read: read one byte past the cap. */
	while (len <= CFGREAD_MAX_FILE) {
		if (len + 1 >= cap) {
			cap = cap * 2 < CFGREAD_MAX_FILE + 2
			    ? cap * 2
			    : CFGREAD_MAX_FILE + 2;
			buf = xreallocarray(buf, cap, 1);
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			cfgread_error(rd, 0, NULL, "cannot read the file: %s",
			    strerror(errno));
			free(buf);
			close(fd);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

/* Read text, or the file; see cfgread.h. */
int
cfgread_parse(struct cfgread *rd, const char *text,
    const struct cfgread_handler *h, void *arg)
{
	char *buf = NULL;
	size_t len;
	int r = 0;

	rd->h = h;
	rd->arg = arg;
	if (text != NULL)
		len = strlen(text);
	else if ((buf = cfgread_file(rd, &len)) == NULL)
		return -1;
	else
		text = buf;
	if (len > CFGREAD_MAX_FILE) {
		cfgread_too_big(rd);
		free(buf);
		return -1;
	}
	/* The lines are read from memory (cfgread_getline), not a FILE. */
	rd->text = text;
	rd->len = len;
	rd->pos = 0;
	if (len > 0)
		r = ini_parse_stream(cfgread_reader, rd, cfgread_handler, rd);
	cfgread_end_section(rd);
	rd->text = NULL;
	free(buf);
	if (r < 0)
		cfgread_error(rd, 0, NULL, "cannot read the file");
	else if (r > 0 && rd->nfound == 0)
		cfgread_error(rd, r, NULL, "syntax error");
	return 0;
}
