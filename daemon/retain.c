/*
 * retain: owns the retained-state file (Nagios' retention): the hard state
 * of every target with its counters, the certificate-expiry windows already
 * alerted, each mailbox's discovered EWS URLs and each profile's learned
 * Front End issuer, so that a restart or an upgrade neither alerts again
 * what was alerted nor forgets what it found.
 *
 * The file lives in the service's state directory ($STATE_DIRECTORY, from
 * systemd's StateDirectory=); without one nothing is retained. It is XML
 * written with libxml2's writer and replaced atomically (afile), so it is
 * either the old or the new one, never half written. At start it is read
 * once (retain_parse): a missing, unreadable,
 * corrupt or foreign-version file costs one warning and a fresh start,
 * never the daemon. What was read is handed out once per target or mailbox
 * (retain_take_*) and forgotten after the first build. A reload goes the
 * same way: the running daemon's discoveries and issuers are held here
 * (retain_hold) and taken by the new configuration's mailboxes and
 * profiles, each only while what it depends on is unchanged.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/xmlwriter.h>

#include "afile.h"
#include "log.h"
#include "retain.h"
#include "xmalloc.h"
#include "xmlsafe.h"

/* The format this code reads and writes; another one is ignored. */
#define RETAIN_VERSION "1"
#define RETAIN_ROOT "ewsprobed-retained"
/* Far above 10,000 targets (about 300 bytes each). */
#define RETAIN_MAX_BYTES (256u << 20)

/* A retained target as read, until the scheduler takes it (key first). */
struct retain_entry {
	char *name;
	struct retain_target t;
	int taken;
};

/* A retained discovery as read, until the prober takes it (key first). */
struct retain_disc {
	char *mailbox;
	char *internal;
	char *external;
	char *key; /* or NULL: written before keys were */
	int64_t at;
	int taken;
};

/* A retained Front End issuer as read, until taken (key first). */
struct retain_fe {
	char *profile;
	char *der64;
	char *key; /* or NULL: written before keys were */
};

static char *retain_file; /* NULL: nothing is retained */
static struct retain_fe *retain_fes; /* sorted by profile */
static size_t retain_nfes;
static struct retain_entry *retain_entries; /* sorted by name */
static size_t retain_nentries;
static struct retain_disc *retain_discs; /* sorted by mailbox */
static size_t retain_ndiscs;
static char *retain_last_error; /* of the last failed save, said once */

/*
 * Order table rows by their key, the string each row struct starts with
 * (name, mailbox, profile), for qsort and bsearch.
 */
static int
retain_key_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Sort the three tables by key for bsearch (an empty one may have no
 * array: qsort must not see a NULL one).
 */
static void
retain_sort(void)
{
	if (retain_nfes > 0)
		qsort(retain_fes, retain_nfes, sizeof *retain_fes,
		    retain_key_cmp);
	if (retain_nentries > 0)
		qsort(retain_entries, retain_nentries, sizeof *retain_entries,
		    retain_key_cmp);
	if (retain_ndiscs > 0)
		qsort(retain_discs, retain_ndiscs, sizeof *retain_discs,
		    retain_key_cmp);
}

/* Parse a verdict name; return -1 for anything else. */
static int
retain_verdict(const char *s, enum state_verdict *v)
{
	static const enum state_verdict all[] = {STATE_OK, STATE_WARNING,
	    STATE_UNKNOWN, STATE_CRITICAL};

	for (size_t i = 0; s != NULL && i < 4; i++) {
		if (strcmp(s, state_verdict_name(all[i])) == 0) {
			*v = all[i];
			return 0;
		}
	}
	return -1;
}

/* Parse a decimal integer in [min, max]; return -1 for anything else. */
static int
retain_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long n;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || n < min || n > max)
		return -1;
	*out = n;
	return 0;
}

/* Read an integer attribute of node into *out; return -1 when invalid. */
static int
retain_attr_int(const xmlNode *node, const char *name, int64_t min, int64_t max,
    int64_t *out)
{
	char *s = xmlsafe_attr(node, name);
	int r = retain_int(s, min, max, out);

	free(s);
	return r;
}

/* Free the table read at start. */
static void
retain_clear(void)
{
	for (size_t i = 0; i < retain_nentries; i++) {
		free(retain_entries[i].name);
		for (size_t e = 0; e < retain_entries[i].t.nexpiring; e++)
			free(retain_entries[i].t.expiring[e]);
		free(retain_entries[i].t.expiring);
	}
	free(retain_entries);
	retain_entries = NULL;
	retain_nentries = 0;
	for (size_t i = 0; i < retain_ndiscs; i++) {
		free(retain_discs[i].mailbox);
		free(retain_discs[i].internal);
		free(retain_discs[i].external);
		free(retain_discs[i].key);
	}
	free(retain_discs);
	retain_discs = NULL;
	retain_ndiscs = 0;
	for (size_t i = 0; i < retain_nfes; i++) {
		free(retain_fes[i].profile);
		free(retain_fes[i].der64);
		free(retain_fes[i].key);
	}
	free(retain_fes);
	retain_fes = NULL;
	retain_nfes = 0;
}

/* Read one <target>; return -1 when anything in it is invalid. */
static int
retain_read_target(const xmlNode *node, struct retain_entry *e)
{
	struct state *st = &e->t.st;
	enum state_verdict hard = STATE_OK, cand = STATE_OK;
	int64_t n[7];
	char *s, *c;
	xmlNode *x;
	int r = 0;

	memset(e, 0, sizeof *e);
	state_init(st);
	if ((e->name = xmlsafe_attr(node, "name")) == NULL ||
	    e->name[0] == '\0')
		return -1;
	s = xmlsafe_attr(node, "hard");
	c = xmlsafe_attr(node, "candidate");
	r = retain_verdict(s, &hard) | retain_verdict(c, &cand);
	free(s);
	free(c);
	if (r != 0 || retain_attr_int(node, "established", 0, 1, &n[0]) != 0 ||
	    retain_attr_int(node, "streak", 0, UINT_MAX, &n[1]) != 0 ||
	    retain_attr_int(node, "failures", 0, UINT_MAX, &n[2]) != 0 ||
	    retain_attr_int(node, "successes", 0, UINT_MAX, &n[3]) != 0 ||
	    retain_attr_int(node, "since", INT64_MIN, INT64_MAX, &n[4]) != 0 ||
	    retain_attr_int(node, "runs", 0, INT64_MAX, &n[5]) != 0 ||
	    retain_attr_int(node, "last-success", INT64_MIN, INT64_MAX,
	        &n[6]) != 0)
		return -1;
	st->hard = hard;
	st->candidate = cand;
	st->established = (int)n[0];
	st->streak = (unsigned int)n[1];
	st->failures = (unsigned int)n[2];
	st->successes = (unsigned int)n[3];
	st->since = n[4];
	e->t.runs = (uint64_t)n[5];
	e->t.last_success = n[6];
	for (x = xmlsafe_child(node, NULL, "expiring"); x != NULL;
	     x = xmlsafe_next(x, NULL, "expiring")) {
		if ((s = xmlsafe_attr(x, "key")) == NULL)
			return -1;
		e->t.expiring = xreallocarray(e->t.expiring, e->t.nexpiring + 1,
		    sizeof *e->t.expiring);
		e->t.expiring[e->t.nexpiring++] = s;
	}
	return 0;
}

/* Read one <discovery>; return -1 when anything in it is invalid. */
static int
retain_read_disc(const xmlNode *node, struct retain_disc *d)
{
	memset(d, 0, sizeof *d);
	d->mailbox = xmlsafe_attr(node, "mailbox");
	d->internal = xmlsafe_attr(node, "internal");
	d->external = xmlsafe_attr(node, "external");
	d->key = xmlsafe_attr(node, "for");
	if (d->mailbox == NULL || d->mailbox[0] == '\0' ||
	    (d->internal == NULL && d->external == NULL))
		return -1;
	return retain_attr_int(node, "at", 0, INT64_MAX, &d->at);
}

/* Turn a parsed document into the table; return why not, or NULL. */
static const char *
retain_read_doc(xmlDocPtr doc)
{
	xmlNode *root = xmlDocGetRootElement(doc), *x;
	struct retain_fe *fe;
	char *version;
	int same;

	if (root == NULL || !xmlsafe_is(root, NULL, RETAIN_ROOT))
		return "not a retained-state file";
	version = xmlsafe_attr(root, "version");
	same = version != NULL && strcmp(version, RETAIN_VERSION) == 0;
	free(version);
	if (!same)
		return "written in another format version";
	for (x = xmlsafe_child(root, NULL, "target"); x != NULL;
	     x = xmlsafe_next(x, NULL, "target")) {
		retain_entries = xreallocarray(retain_entries,
		    retain_nentries + 1, sizeof *retain_entries);
		if (retain_read_target(x, &retain_entries[retain_nentries++]) !=
		    0)
			return "a target's state is invalid";
	}
	for (x = xmlsafe_child(root, NULL, "discovery"); x != NULL;
	     x = xmlsafe_next(x, NULL, "discovery")) {
		retain_discs = xreallocarray(retain_discs, retain_ndiscs + 1,
		    sizeof *retain_discs);
		if (retain_read_disc(x, &retain_discs[retain_ndiscs++]) != 0)
			return "a discovery entry is invalid";
	}
	for (x = xmlsafe_child(root, NULL, "frontend"); x != NULL;
	     x = xmlsafe_next(x, NULL, "frontend")) {
		retain_fes = xreallocarray(retain_fes, retain_nfes + 1,
		    sizeof *retain_fes);
		fe = &retain_fes[retain_nfes++];
		fe->profile = xmlsafe_attr(x, "profile");
		fe->der64 = xmlsafe_attr(x, "issuer");
		fe->key = xmlsafe_attr(x, "from");
		if (fe->profile == NULL || fe->der64 == NULL)
			return "a Front End entry is invalid";
	}
	retain_sort();
	return NULL;
}

/* Read the whole file at path into *buf; return 0, or -1 with errno. */
static int
retain_read_file(const char *path, char **buf, size_t *len)
{
	struct stat sb;
	size_t got = 0;
	ssize_t n;
	int fd, saved;

	*buf = NULL;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, &sb) != 0)
		goto fail;
	if (!S_ISREG(sb.st_mode) || (size_t)sb.st_size > RETAIN_MAX_BYTES) {
		errno = S_ISREG(sb.st_mode) ? EFBIG : EINVAL;
		goto fail;
	}
	*buf = xmalloc((size_t)sb.st_size + 1);
	while (got < (size_t)sb.st_size) {
		n = read(fd, *buf + got, (size_t)sb.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			goto fail;
		}
		got += (size_t)n;
	}
	close(fd);
	*len = got;
	return 0;

fail:
	saved = errno;
	close(fd);
	free(*buf);
	*buf = NULL;
	errno = saved;
	return -1;
}

/*
 * Parse the file: libxml2 without network, entity substitution or DTD
 * loading, and no document that carries a DTD. Not xmlsafe_parse: its
 * structure caps (8192 elements) are sized for network answers parsed on
 * the event loop, and this file holds ten elements per target, is written
 * by the daemon itself into a directory only it can write, and is read
 * once, before the loop runs. Return the document or NULL.
 */
static xmlDocPtr
retain_parse(const char *buf, size_t len)
{
	xmlDocPtr doc;

	if (len == 0 || len > INT_MAX)
		return NULL;
	doc = xmlReadMemory(buf, (int)len, NULL, NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc != NULL && doc->intSubset != NULL) {
		xmlFreeDoc(doc);
		doc = NULL;
	}
	return doc;
}

/*
 * Choose the file from the state directory (the first of a colon-separated
 * $STATE_DIRECTORY; NULL or empty: retain nothing) and read it.
 */
void
retain_load(const char *dir)
{
	const char *why = NULL;
	size_t dlen, len = 0;
	char *buf;
	xmlDocPtr doc;

	retain_clear();
	free(retain_file);
	retain_file = NULL;
	if (dir == NULL || (dlen = strcspn(dir, ":")) == 0)
		return;
	xasprintf(&retain_file, "%.*s/%s", (int)dlen, dir, RETAIN_FILE);
	if (retain_read_file(retain_file, &buf, &len) != 0) {
		log_warnx("retained state %s: %s; starting without it",
		    retain_file,
		    errno == ENOENT ? "none yet" : strerror(errno));
		return;
	}
	doc = retain_parse(buf, len);
	free(buf);
	if (doc == NULL)
		why = "not well-formed XML, or it carries a DTD";
	else
		why = retain_read_doc(doc);
	xmlFreeDoc(doc);
	if (why != NULL) {
		retain_clear();
		log_warnx("retained state %s ignored: %s; starting without it",
		    retain_file, why);
		return;
	}
	log_info("retained state %s: %zu targets, %zu discoveries", retain_file,
	    retain_nentries, retain_ndiscs);
}

/* A copy of an optional string. */
static char *
retain_dup(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/*
 * Hold the running daemon's discoveries and Front End issuers (copies) in
 * place of anything read, for the configuration a reload builds to take.
 */
void
retain_hold(const struct retain_discovery *d, size_t nd,
    const struct retain_frontend *fe, size_t nfe)
{
	retain_clear();
	retain_discs = xcalloc(nd > 0 ? nd : 1, sizeof *retain_discs);
	for (size_t i = 0; i < nd; i++) {
		retain_discs[i].mailbox = xstrdup(d[i].mailbox);
		retain_discs[i].internal = retain_dup(d[i].internal);
		retain_discs[i].external = retain_dup(d[i].external);
		retain_discs[i].key = retain_dup(d[i].key);
		retain_discs[i].at = d[i].at;
	}
	retain_ndiscs = nd;
	retain_fes = xcalloc(nfe > 0 ? nfe : 1, sizeof *retain_fes);
	for (size_t i = 0; i < nfe; i++) {
		if (fe[i].der64 == NULL)
			continue;
		retain_fes[retain_nfes].profile = xstrdup(fe[i].profile);
		retain_fes[retain_nfes].der64 = xstrdup(fe[i].der64);
		retain_fes[retain_nfes].key = retain_dup(fe[i].key);
		retain_nfes++;
	}
	retain_sort();
}

/* Whether a held entry's key is the one asked for (NULL never is). */
static int
retain_same_key(const char *held, const char *want)
{
	return held != NULL && want != NULL && strcmp(held, want) == 0;
}

/*
 * Hand out the retained state of target name (once); the caller owns the
 * expiring list. Return 1 when there was one, 0 when not.
 */
int
retain_take_target(const char *name, struct retain_target *out)
{
	struct retain_entry key, *e;

	key.name = (char *)name;
	e = retain_nentries == 0
	    ? NULL
	    : bsearch(&key, retain_entries, retain_nentries, sizeof *e,
	          retain_key_cmp);
	if (e == NULL || e->taken)
		return 0;
	e->taken = 1;
	*out = e->t;
	out->name = NULL;
	e->t.expiring = NULL;
	e->t.nexpiring = 0;
	return 1;
}

/*
 * Hand out mailbox's retained discovered URLs (once; the caller owns them)
 * and when they were found, if they were found under key valid. Return 1 when
 * there were some, 0 when not.
 */
int
retain_take_discovery(const char *mailbox, const char *valid, char **internal,
    char **external, int64_t *at)
{
	struct retain_disc key, *d;

	key.mailbox = (char *)mailbox;
	d = retain_ndiscs == 0 ? NULL
	                       : bsearch(&key, retain_discs, retain_ndiscs,
	                             sizeof *d, retain_key_cmp);
	if (d == NULL || d->taken || !retain_same_key(d->key, valid))
		return 0;
	d->taken = 1;
	*internal = d->internal;
	*external = d->external;
	*at = d->at;
	d->internal = d->external = NULL;
	return 1;
}

/*
 * Hand out profile's retained Front End issuer (base64 DER; once, the
 * caller owns it) if it was learned from key valid, or NULL.
 */
char *
retain_take_frontend(const char *profile, const char *valid)
{
	struct retain_fe key, *fe;
	char *der64;

	key.profile = (char *)profile;
	fe = retain_nfes == 0 ? NULL
	                      : bsearch(&key, retain_fes, retain_nfes,
	                            sizeof *fe, retain_key_cmp);
	if (fe == NULL || !retain_same_key(fe->key, valid))
		return NULL;
	der64 = fe->der64;
	fe->der64 = NULL;
	return der64;
}

/* Drop what was read at start (after the first build, and at exit). */
void
retain_forget(void)
{
	retain_clear();
}

/* The file written, or NULL when nothing is retained. */
const char *
retain_path(void)
{
	return retain_file;
}

/*
 * Whether s can go into an attribute and come back the same: printable
 * ASCII only (discovered URLs are; anything else is not worth keeping).
 */
static int
retain_printable(const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

/* Write a 64-bit integer attribute; return libxml2's result. */
static int
retain_write_int(xmlTextWriterPtr w, const char *name, int64_t v)
{
	return xmlTextWriterWriteFormatAttribute(w, BAD_CAST name, "%" PRId64,
	    v);
}

/* Write one target; return < 0 when the writer failed. */
static int
retain_write_target(xmlTextWriterPtr w, const struct retain_target *t)
{
	const struct state *st = &t->st;
	int r = 0;

	r |= xmlTextWriterStartElement(w, BAD_CAST "target");
	r |= xmlTextWriterWriteAttribute(w, BAD_CAST "name", BAD_CAST t->name);
	r |= xmlTextWriterWriteAttribute(w, BAD_CAST "hard",
	    BAD_CAST state_verdict_name(st->hard));
	r |= retain_write_int(w, "established", st->established);
	r |= xmlTextWriterWriteAttribute(w, BAD_CAST "candidate",
	    BAD_CAST state_verdict_name(st->candidate));
	r |= retain_write_int(w, "streak", st->streak);
	r |= retain_write_int(w, "failures", st->failures);
	r |= retain_write_int(w, "successes", st->successes);
	r |= retain_write_int(w, "since", st->since);
	r |= retain_write_int(w, "runs", (int64_t)t->runs);
	r |= retain_write_int(w, "last-success", t->last_success);
	for (size_t i = 0; i < t->nexpiring; i++) {
		if (!retain_printable(t->expiring[i]))
			continue;
		r |= xmlTextWriterStartElement(w, BAD_CAST "expiring");
		r |= xmlTextWriterWriteAttribute(w, BAD_CAST "key",
		    BAD_CAST t->expiring[i]);
		r |= xmlTextWriterEndElement(w);
	}
	r |= xmlTextWriterEndElement(w);
	return r;
}

/* Write one mailbox's discovered URLs; return < 0 when the writer failed. */
static int
retain_write_disc(xmlTextWriterPtr w, const struct retain_discovery *d)
{
	int r = 0;

	if (!retain_printable(d->internal) || !retain_printable(d->external) ||
	    !retain_printable(d->key) ||
	    (d->internal == NULL && d->external == NULL))
		return 0;
	r |= xmlTextWriterStartElement(w, BAD_CAST "discovery");
	r |= xmlTextWriterWriteAttribute(w, BAD_CAST "mailbox",
	    BAD_CAST d->mailbox);
	if (d->internal != NULL)
		r |= xmlTextWriterWriteAttribute(w, BAD_CAST "internal",
		    BAD_CAST d->internal);
	if (d->external != NULL)
		r |= xmlTextWriterWriteAttribute(w, BAD_CAST "external",
		    BAD_CAST d->external);
	if (d->key != NULL)
		r |= xmlTextWriterWriteAttribute(w, BAD_CAST "for",
		    BAD_CAST d->key);
	r |= retain_write_int(w, "at", d->at);
	r |= xmlTextWriterEndElement(w);
	return r;
}

/* Write one profile's Front End issuer; return < 0 when the writer failed. */
static int
retain_write_fe(xmlTextWriterPtr w, const struct retain_frontend *fe)
{
	int r = 0;

	if (fe->der64 == NULL || !retain_printable(fe->der64) ||
	    !retain_printable(fe->key))
		return 0;
	r |= xmlTextWriterStartElement(w, BAD_CAST "frontend");
	r |= xmlTextWriterWriteAttribute(w, BAD_CAST "profile",
	    BAD_CAST fe->profile);
	r |= xmlTextWriterWriteAttribute(w, BAD_CAST "issuer",
	    BAD_CAST fe->der64);
	if (fe->key != NULL)
		r |= xmlTextWriterWriteAttribute(w, BAD_CAST "from",
		    BAD_CAST fe->key);
	r |= xmlTextWriterEndElement(w);
	return r;
}

/*
 * Replace the file with these targets, discoveries and Front End issuers.
 * A failure is logged
 * once until the cause changes (this runs after every status write).
 * Return 0, or -1 when it could not be written.
 */
int
retain_save(const struct retain_target *t, size_t n,
    const struct retain_discovery *d, size_t nd,
    const struct retain_frontend *fe, size_t nfe)
{
	xmlTextWriterPtr w;
	xmlBufferPtr buf;
	char *cause = NULL;
	int r = 0;

	if (retain_file == NULL)
		return 0;
	if ((buf = xmlBufferCreate()) == NULL ||
	    (w = xmlNewTextWriterMemory(buf, 0)) == NULL)
		fatalx("libxml2 writer: out of memory");
	r |= xmlTextWriterStartDocument(w, NULL, "UTF-8", NULL);
	r |= xmlTextWriterStartElement(w, BAD_CAST RETAIN_ROOT);
	r |= xmlTextWriterWriteAttribute(w, BAD_CAST "version",
	    BAD_CAST RETAIN_VERSION);
	for (size_t i = 0; i < n; i++)
		r |= retain_write_target(w, &t[i]);
	for (size_t i = 0; i < nd; i++)
		r |= retain_write_disc(w, &d[i]);
	for (size_t i = 0; i < nfe; i++)
		r |= retain_write_fe(w, &fe[i]);
	r |= xmlTextWriterEndDocument(w);
	xmlFreeTextWriter(w); /* flushes into buf */
	if (r < 0)
		cause = xstrdup("the XML writer failed");
	else if (afile_write(retain_file, xmlBufferContent(buf),
	             (size_t)xmlBufferLength(buf), 0600, &cause) == 0) {
		free(retain_last_error);
		retain_last_error = NULL;
	}
	xmlBufferFree(buf);
	if (cause == NULL)
		return 0;
	if (retain_last_error == NULL || strcmp(retain_last_error, cause) != 0)
		log_warnx("retained state %s not written: %s", retain_file,
		    cause);
	free(retain_last_error);
	retain_last_error = cause;
	return -1;
}
