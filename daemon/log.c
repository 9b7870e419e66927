/*
 * log: the daemon's only way to say anything to an operator.
 *
 * Owns the choice of backend (journal or stderr), the verbosity, and the
 * formatting of records. Structured events (MESSAGE_ID + EWSPROBED_* fields)
 * go through the same path as plain messages.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "log.h"
#include "textsafe.h"

#define LOG_IDENT "ewsprobed"
#define LOG_JOURNAL_SOCKET "/run/systemd/journal/socket"
#define LOG_MAX_FIELDS 48

static int log_journal; /* 1 when the journal socket was found */
static int log_verbose; /* 1 logs LOG_DEBUG too */

/*
 * Choose the backend. sd_journal_send() returns success even when no journald
 * listens (it drops the datagram), so look for the socket ourselves.
 */
void
log_init(enum log_target target, int verbose)
{
	struct stat sb;

	log_verbose = verbose;
	log_journal = 0;
	if (target == LOG_TARGET_STDERR)
		return;
	if (stat(LOG_JOURNAL_SOCKET, &sb) == 0 && S_ISSOCK(sb.st_mode))
		log_journal = 1;
}

/* Set whether debug messages are logged. */
void
log_setverbose(int verbose)
{
	log_verbose = verbose;
}

/* Return whether debug messages are logged. */
int
log_getverbose(void)
{
	return log_verbose;
}

/* Return 1 when records go to the journal, 0 for stderr. */
int
log_to_journal(void)
{
	return log_journal;
}

/* Write a record (escaped by log_vemit) to stderr, fields appended. */
static void
log_stderr(int pri, const char *msg, const struct log_field *fields,
    size_t nfields)
{
	char line[8192];
	size_t len, i;
	int n;

	n = snprintf(line, sizeof line, "<%d>%s", pri, msg);
	if (n < 0)
		return;
	len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
	for (i = 0; i < nfields && len < sizeof line - 1; i++) {
		if (fields[i].value == NULL)
			continue;
		n = snprintf(line + len, sizeof line - len, " %s=%s",
		    fields[i].name, fields[i].value);
		if (n < 0)
			break;
		len += (size_t)n;
		if (len >= sizeof line)
			len = sizeof line - 1;
	}
	line[len] = '\n';
	fwrite(line, 1, len + 1, stderr);
	fflush(stderr);
}

/* Send a record to the journal; return -1 when that failed. */
static int
log_journal_send(int pri, const char *file, int line, const char *func,
    const char *msgid, const struct log_field *fields, size_t nfields,
    const char *msg)
{
	struct iovec iov[LOG_MAX_FIELDS + 8];
	char *bufs[LOG_MAX_FIELDS + 8];
	size_t n = 0, i;
	int r, ok = 1;

	memset(bufs, 0, sizeof bufs);
#define LOG_ADD(...) \
	do { \
		if (asprintf(&bufs[n], __VA_ARGS__) < 0) { \
			bufs[n] = NULL; \
			ok = 0; \
		} else { \
			iov[n].iov_base = bufs[n]; \
			iov[n].iov_len = strlen(bufs[n]); \
			n++; \
		} \
	} while (0)
	LOG_ADD("MESSAGE=%s", msg);
	LOG_ADD("PRIORITY=%d", pri);
	LOG_ADD("SYSLOG_IDENTIFIER=%s", LOG_IDENT);
	LOG_ADD("CODE_FILE=%s", file);
	LOG_ADD("CODE_LINE=%d", line);
	LOG_ADD("CODE_FUNC=%s", func);
	if (msgid != NULL)
		LOG_ADD("MESSAGE_ID=%s", msgid);
	for (i = 0; i < nfields && n < LOG_MAX_FIELDS + 7 && ok; i++) {
		if (fields[i].value != NULL)
			LOG_ADD("EWSPROBED_%s=%s", fields[i].name,
			    fields[i].value);
	}
#undef LOG_ADD
	r = ok ? sd_journal_sendv(iov, (int)n) : -ENOMEM;
	for (i = 0; i < n; i++)
		free(bufs[i]);
	return r < 0 ? -1 : 0;
}

/*
 * Log one record (va_list form). The message and every field value are
 * escaped here (textsafe), the one place every record passes: whatever a
 * server put in them, a record is one line (journal MESSAGE included) with
 * no control or bidi character.
 */
void
log_vemit(int pri, const char *file, int line, const char *func,
    const char *msgid, const struct log_field *fields, size_t nfields,
    const char *fmt, va_list ap)
{
	struct log_field safe[LOG_MAX_FIELDS];
	char raw[4096], *msg;
	size_t i;
	int saved_errno = errno;

	if (pri == LOG_DEBUG && !log_verbose)
		return;
	vsnprintf(raw, sizeof raw, fmt, ap);
	msg = textsafe(raw);
	if (nfields > LOG_MAX_FIELDS)
		nfields = LOG_MAX_FIELDS;
	for (i = 0; i < nfields; i++) {
		safe[i].name = fields[i].name;
		safe[i].value = textsafe(fields[i].value);
	}
	if (!log_journal ||
	    log_journal_send(pri, file, line, func, msgid, safe, nfields,
	        msg) != 0)
		log_stderr(pri, msg, safe, nfields);
	for (i = 0; i < nfields; i++)
		free((char *)safe[i].value);
	free(msg);
	errno = saved_errno;
}

/* Log one record. */
void
log_emit(int pri, const char *file, int line, const char *func,
    const char *msgid, const struct log_field *fields, size_t nfields,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(pri, file, line, func, msgid, fields, nfields, fmt, ap);
	va_end(ap);
}

/* Log a warning with strerror(errno) appended. */
void
log_fatal_or_warn_errno(int pri, const char *file, int line, const char *func,
    const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	int saved_errno = errno;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log_emit(pri, file, line, func, NULL, NULL, 0, "%s: %s", msg,
	    strerror(saved_errno));
	errno = saved_errno;
}

/* Log a fatal error (with strerror(errno) when use_errno) and exit 1. */
void
log_fatal(int use_errno, const char *file, int line, const char *func,
    const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	int saved_errno = errno;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (use_errno)
		log_emit(LOG_CRIT, file, line, func, NULL, NULL, 0,
		    "fatal: %s: %s", msg, strerror(saved_errno));
	else
		log_emit(LOG_CRIT, file, line, func, NULL, NULL, 0, "fatal: %s",
		    msg);
	exit(1);
}

/*
 * Out of memory: say so without allocating (asprintf in the journal path
 * could fail too) and exit 1. This is the defined end of every allocation
 * failure, never a crash.
 */
void
log_oom(size_t size)
{
	char msg[128];
	int n;

	n = snprintf(msg, sizeof msg,
	    "<2>ewsprobed: fatal: out of memory (allocating %zu bytes)\n",
	    size);
	if (n > 0)
		(void)!write(STDERR_FILENO, msg, (size_t)n);
	_exit(1);
}
