/*
 * log: structured logging to the systemd journal, with a stderr fallback.
 *
 * Messages go to journald over its native socket (sd_journal_sendv) with
 * PRIORITY, SYSLOG_IDENTIFIER, CODE_FILE/LINE/FUNC and any EWSPROBED_* fields.
 * sd_journal_send() drops messages silently when no journal socket exists, so
 * log_init() checks for the socket itself and otherwise (or under -d) writes
 * "<N>message" lines to stderr, where N is the syslog priority.
 *
 * The log_* entry points are macros so that every record names the caller's
 * file, line and function. Never pass untrusted text as a format.
 */
#ifndef EWSPROBED_LOG_H
#define EWSPROBED_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <syslog.h>

enum log_target {
	LOG_TARGET_AUTO, /* journal if its socket exists, else stderr */
	LOG_TARGET_STDERR, /* always stderr (foreground / -d) */
};

/* One extra journal field: name without the EWSPROBED_ prefix, and value. */
struct log_field {
	const char *name;
	const char *value;
};

void log_init(enum log_target, int verbose);
void log_setverbose(int);
int log_getverbose(void);
int log_to_journal(void);

void log_emit(int, const char *, int, const char *, const char *,
    const struct log_field *, size_t, const char *, ...)
    __attribute__((format(printf, 8, 9)));
void log_vemit(int, const char *, int, const char *, const char *,
    const struct log_field *, size_t, const char *, va_list)
    __attribute__((format(printf, 8, 0)));
__attribute__((noreturn)) void log_fatal(int, const char *, int, const char *,
    const char *, ...) __attribute__((format(printf, 5, 6)));
__attribute__((noreturn)) void log_oom(size_t);

#define log_debug(...) \
	log_emit(LOG_DEBUG, __FILE__, __LINE__, __func__, NULL, NULL, 0, \
	    __VA_ARGS__)
#define log_info(...) \
	log_emit(LOG_INFO, __FILE__, __LINE__, __func__, NULL, NULL, 0, \
	    __VA_ARGS__)
#define log_notice(...) \
	log_emit(LOG_NOTICE, __FILE__, __LINE__, __func__, NULL, NULL, 0, \
	    __VA_ARGS__)
#define log_warnx(...) \
	log_emit(LOG_WARNING, __FILE__, __LINE__, __func__, NULL, NULL, 0, \
	    __VA_ARGS__)
#define log_errx(...) \
	log_emit(LOG_ERR, __FILE__, __LINE__, __func__, NULL, NULL, 0, \
	    __VA_ARGS__)
/* Like log_warnx, appending ": strerror(errno)". */
#define log_warn(...) \
	log_fatal_or_warn_errno(LOG_WARNING, __FILE__, __LINE__, __func__, \
	    __VA_ARGS__)
/* An event with a MESSAGE_ID and EWSPROBED_* fields (n entries). */
#define log_event(pri, msgid, fields, n, ...) \
	log_emit(pri, __FILE__, __LINE__, __func__, msgid, fields, n, \
	    __VA_ARGS__)
/* Fatal errors: log at LOG_CRIT and exit(1). fatal() appends errno. */
#define fatal(...) log_fatal(1, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define fatalx(...) log_fatal(0, __FILE__, __LINE__, __func__, __VA_ARGS__)

void log_fatal_or_warn_errno(int, const char *, int, const char *, const char *,
    ...) __attribute__((format(printf, 5, 6)));

#endif
