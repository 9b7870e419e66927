/*
 * statuscmd: owns the status command: finding and reading the daemon's
 * status file (jansson parses it; the file is only read), judging its
 * age, filtering its targets, and printing them as a table or as JSON
 * with the exit status of the worst state.
 */
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "admin.h"
#include "cfgvalue.h"
#include "config.h"
#include "log.h"
#include "once.h"
#include "state.h"
#include "statuscmd.h"
#include "textsafe.h"
#include "xmalloc.h"

/* The largest status file read (10,000 targets take a few MB). */
#define STATUSCMD_MAX_BYTES (256u << 20)
/* Stale after this many of the longest probe interval. */
#define STATUSCMD_STALE_INTERVALS 3

/* The columns of the table. */
enum {
	COL_TARGET,
	COL_PROFILE,
	COL_STATE,
	COL_SINCE,
	COL_REASON,
	COL_CODE,
	COL_LAST,
	NCOLS,
};

static const char *statuscmd_heads[NCOLS] = {"TARGET", "PROFILE", "STATE",
    "SINCE", "REASON", "CODE", "LAST RUN"};

/*
 * The default allowed age: STATUSCMD_STALE_INTERVALS times the longest
 * probe interval of any mailbox (the daemon rewrites the file after runs,
 * so a healthy daemon's file is never older than one interval, its
 * timeouts and the write's coalescing gap).
 */
uint64_t
statuscmd_max_age(const struct config *cfg)
{
	uint64_t longest = cfg->interval_ms, iv;
	size_t i;

	for (i = 0; i < cfg->nmailboxes; i++) {
		iv = cfg->mailboxes[i]->interval_ms;
		if (iv > longest)
			longest = iv;
	}
	return STATUSCMD_STALE_INTERVALS * longest;
}

/* A string member of an object, or NULL (absent, null, not a string). */
static const char *
statuscmd_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* An RFC 3339 UTC time as written by status.c, or -1. */
static time_t
statuscmd_time(const char *s)
{
	struct tm tm;
	const char *end;

	if (s == NULL)
		return -1;
	memset(&tm, 0, sizeof tm);
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm)) == NULL ||
	    *end != '\0')
		return -1;
	return timegm(&tm);
}

/* Whether target t is selected by the view. */
static int
statuscmd_selected(const json_t *t, const struct statuscmd_view *v)
{
	const char *name = statuscmd_str(t, "target");
	const char *box = statuscmd_str(t, "mailbox");
	size_t i;

	if (v->ntargets == 0)
		return 1;
	for (i = 0; i < v->ntargets; i++) {
		if ((name != NULL && strcmp(name, v->targets[i]) == 0) ||
		    (box != NULL && strcmp(box, v->targets[i]) == 0))
			return 1;
	}
	return 0;
}

/* A state's verdict for the exit status ("pending" and others: unknown). */
static enum state_verdict
statuscmd_state(const char *s)
{
	if (s != NULL && strcmp(s, "ok") == 0)
		return STATE_OK;
	if (s != NULL && strcmp(s, "warning") == 0)
		return STATE_WARNING;
	if (s != NULL && strcmp(s, "critical") == 0)
		return STATE_CRITICAL;
	return STATE_UNKNOWN;
}

/* The cells of one target's row (caller frees each; escaped). */
static void
statuscmd_row(const json_t *t, char *cells[NCOLS])
{
	const json_t *last = json_object_get(t, "last_run");
	const char *s;
	json_int_t code;
	char buf[32];

	s = statuscmd_str(t, "target");
	cells[COL_TARGET] = textsafe(s != NULL ? s : "?");
	s = statuscmd_str(t, "profile");
	cells[COL_PROFILE] = textsafe(s != NULL ? s : "?");
	s = statuscmd_str(t, "state");
	cells[COL_STATE] = textsafe(s != NULL ? s : "?");
	s = statuscmd_str(t, "since");
	cells[COL_SINCE] = textsafe(s != NULL ? s : "-");
	s = json_is_object(last) ? statuscmd_str(last, "reason") : NULL;
	cells[COL_REASON] = textsafe(s != NULL ? s : "-");
	code = json_is_object(last)
	    ? json_integer_value(json_object_get(last, "phone_error"))
	    : 0;
	if (code != 0)
		snprintf(buf, sizeof buf, "%lld", (long long)code);
	else
		snprintf(buf, sizeof buf, "-");
	cells[COL_CODE] = xstrdup(buf);
	s = json_is_object(last) ? statuscmd_str(last, "started") : NULL;
	cells[COL_LAST] = textsafe(s != NULL ? s : "never");
}

/* Print the selected targets as a table with aligned columns. */
static void
statuscmd_table(const json_t *targets, const struct statuscmd_view *v,
    FILE *out)
{
	char *(*rows)[NCOLS];
	size_t n = 0, i, k, width[NCOLS], w;
	const json_t *t;

	rows = xcalloc(json_array_size(targets) + 1, sizeof *rows);
	for (k = 0; k < NCOLS; k++)
		width[k] = strlen(statuscmd_heads[k]);
	json_array_foreach(targets, i, t)
	{
		if (!json_is_object(t) || !statuscmd_selected(t, v))
			continue;
		statuscmd_row(t, rows[n]);
		for (k = 0; k < NCOLS; k++) {
			w = strlen(rows[n][k]);
			width[k] = w > width[k] ? w : width[k];
		}
		n++;
	}
	for (k = 0; k < NCOLS; k++)
		fprintf(out, "%-*s%s", k + 1 < NCOLS ? (int)width[k] : 0,
		    statuscmd_heads[k], k + 1 < NCOLS ? "  " : "\n");
	for (i = 0; i < n; i++) {
		for (k = 0; k < NCOLS; k++) {
			fprintf(out, "%-*s%s",
			    k + 1 < NCOLS ? (int)width[k] : 0, rows[i][k],
			    k + 1 < NCOLS ? "  " : "\n");
			free(rows[i][k]);
		}
	}
	free(rows);
}

/* The first target or mailbox the view asks for that targets lacks. */
static const char *
statuscmd_missing(json_t *targets, const struct statuscmd_view *v)
{
	struct statuscmd_view one = *v;
	json_t *t;
	size_t i, k;
	int found;

	for (k = 0; k < v->ntargets; k++) {
		one.targets = &v->targets[k];
		one.ntargets = 1;
		found = 0;
		json_array_foreach(targets, i, t)
		{
			if (!found && json_is_object(t))
				found = statuscmd_selected(t, &one);
		}
		if (!found)
			return v->targets[k];
	}
	return NULL;
}

/* Print the --json view: the selected targets and what the file says. */
static void
statuscmd_print_json(const struct statuscmd_view *v, const char *written,
    long long age, int stale, json_t *daemon, json_t *sel, int rc, FILE *out)
{
	json_t *outdoc, *path;
	char *dump, *safe;

	/*
	 * The path as given when it is UTF-8 (JSON strings must be); else
	 * its escaped form: a configured path is no reason to exit.
	 */
	if ((path = json_string(v->path)) == NULL) {
		safe = textsafe(v->path);
		path = json_string(safe);
		free(safe);
	}
	/*
	 * A result document of schema 1 like the file it reads
	 * (docs/result-schema.json, document "status_view"), so a reader
	 * can tell the two apart and check both.
	 */
	outdoc = json_pack("{s:i, s:s, s:o, s:s, s:I, s:b, s:O, s:O, s:s, s:i}",
	    "schema", 1, "document", "status_view", "status_file", path,
	    "written", written, "age_seconds", (json_int_t)age, "stale", stale,
	    "daemon", daemon, "targets", sel, "worst_state",
	    once_status_name(rc), "exit_status", rc);
	if (outdoc == NULL ||
	    (dump = json_dumps(outdoc, JSON_INDENT(2))) == NULL)
		fatalx("json_pack: out of memory");
	fprintf(out, "%s\n", dump);
	free(dump);
	json_decref(outdoc);
}

/* Print msg (if any) to err, escaped, and free it. */
static void
statuscmd_error(char *msg, FILE *err)
{
	char *safe;

	if (msg == NULL)
		return;
	safe = textsafe(msg);
	fprintf(err, "ewsprobed: %s\n", safe);
	free(safe);
	free(msg);
}

/*
 * Render a status document (the file's bytes) as the view asks, to out;
 * errors go to err. Returns the exit status: the worst selected state
 * (ONCE_*), or 3 for a document that is not a status file, a target
 * asked for that is not in it, or a stale file (the table is still
 * printed, then the error).
 */
int
statuscmd_render(const char *text, size_t len, const struct statuscmd_view *v,
    FILE *out, FILE *err)
{
	json_t *doc, *targets, *daemon, *t, *sel = NULL;
	json_error_t jerr;
	const char *written, *missing;
	char *msg = NULL, *safe, *path;
	time_t when;
	long long age = 0;
	size_t i;
	int rc = ONCE_OK, stale;

	if ((doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		xasprintf(&msg, "%s: not a status file: %s (line %d)", v->path,
		    jerr.text, jerr.line);
		goto fail;
	}
	daemon = json_object_get(doc, "daemon");
	targets = json_object_get(doc, "targets");
	written =
	    json_is_object(daemon) ? statuscmd_str(daemon, "written") : NULL;
	if (!json_is_array(targets) || (when = statuscmd_time(written)) < 0) {
		xasprintf(&msg,
		    "%s: not a status file of ewsprobed (no daemon.written time or no targets)",
		    v->path);
		goto fail;
	}
	if ((missing = statuscmd_missing(targets, v)) != NULL) {
		xasprintf(&msg, "%s: no target or mailbox '%s' in it", v->path,
		    missing);
		goto fail;
	}
	age = (long long)(v->now - when);
	stale = age > (long long)(v->max_age_ms / 1000);
	sel = json_array();
	json_array_foreach(targets, i, t)
	{
		if (!json_is_object(t) || !statuscmd_selected(t, v))
			continue;
		json_array_append(sel, t);
		rc = once_fold(rc, statuscmd_state(statuscmd_str(t, "state")));
	}
	if (stale)
		rc = ADMIN_EXIT_UNKNOWN;
	if (v->json)
		statuscmd_print_json(v, written, age, stale, daemon, sel, rc,
		    out);
	else {
		safe = textsafe(written);
		path = textsafe(v->path);
		fprintf(out, "status of %s (written %s, %lld s ago)\n", path,
		    safe, age);
		free(path);
		free(safe);
		statuscmd_table(targets, v, out);
	}
	if (stale)
		xasprintf(&msg,
		    "%s is stale: written %lld s ago, more than %llu s (is the daemon running?)",
		    v->path, age, (unsigned long long)(v->max_age_ms / 1000));
	json_decref(sel);
	json_decref(doc);
	statuscmd_error(msg, err);
	return rc;

fail:
	statuscmd_error(msg, err);
	json_decref(doc);
	return ADMIN_EXIT_UNKNOWN;
}

/* Read the whole status file; 0, or -1 with a message printed. */
static int
statuscmd_read(const char *path, char **text, size_t *len)
{
	struct stat sb;
	FILE *fp;
	char *safe;

	*text = NULL;
	safe = textsafe(path);
	if ((fp = fopen(path, "r")) == NULL) {
		if (errno == ENOENT)
			fprintf(stderr,
			    "ewsprobed: status file %s does not exist: the daemon is not running, or has not finished a run yet\n",
			    safe);
		else
			fprintf(stderr, "ewsprobed: status file %s: %s\n", safe,
			    strerror(errno));
		free(safe);
		return -1;
	}
	if (fstat(fileno(fp), &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    (uint64_t)sb.st_size > STATUSCMD_MAX_BYTES) {
		fprintf(stderr,
		    "ewsprobed: status file %s: not a regular file of at most %u bytes\n",
		    safe, STATUSCMD_MAX_BYTES);
		fclose(fp);
		free(safe);
		return -1;
	}
	*text = xmalloc((size_t)sb.st_size + 1);
	*len = fread(*text, 1, (size_t)sb.st_size, fp);
	if (ferror(fp)) {
		fprintf(stderr, "ewsprobed: status file %s: read error\n",
		    safe);
		free(*text);
		*text = NULL;
	}
	fclose(fp);
	free(safe);
	return *text != NULL ? 0 : -1;
}

/* Print the usage of status to fp. */
static void
statuscmd_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: ewsprobed status [-f file] [--json] [--max-age DURATION] [TARGET...]\n");
}

/* `ewsprobed status`: see statuscmd.h. */
int
statuscmd_main(int argc, char **argv, const char *config_path)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'f'},
	    {"json", no_argument, NULL, 'J'},
	    {"max-age", required_argument, NULL, 'M'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct statuscmd_view v;
	struct config *cfg = NULL;
	const char *max_age = NULL;
	char *text = NULL;
	size_t len = 0;
	int ch, rc = ADMIN_EXIT_UNKNOWN;

	memset(&v, 0, sizeof v);
	optind = 0;
	while ((ch = getopt_long(argc, argv, "f:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			config_path = optarg;
			break;
		case 'J':
			v.json = 1;
			break;
		case 'M':
			max_age = optarg;
			break;
		case 'h':
			statuscmd_usage(stdout);
			return ONCE_OK;
		default:
			statuscmd_usage(stderr);
			return ADMIN_EXIT_UNKNOWN;
		}
	}
	v.targets = argv + optind;
	v.ntargets = (size_t)(argc - optind);
	if (admin_config(config_path, &cfg) != 0)
		return ADMIN_EXIT_UNKNOWN;
	if (cfg->status_file == NULL) {
		fprintf(stderr,
		    "ewsprobed: %s writes no status file (status_file is empty)\n",
		    cfg->path);
		goto out;
	}
	v.max_age_ms = statuscmd_max_age(cfg);
	if (max_age != NULL &&
	    (cfgvalue_parse_duration(max_age, &v.max_age_ms) != 0 ||
	        v.max_age_ms == 0)) {
		fprintf(stderr,
		    "ewsprobed: --max-age: not a duration (30s, 5m, 1h)\n");
		goto out;
	}
	v.path = cfg->status_file;
	v.now = time(NULL);
	if (statuscmd_read(v.path, &text, &len) == 0)
		rc = statuscmd_render(text, len, &v, stdout, stderr);
out:
	free(text);
	config_unref(cfg);
	return rc;
}
