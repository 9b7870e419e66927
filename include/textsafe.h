/*
 * textsafe: text from outside (servers, certificates, files, the command
 * line) made safe to show a person on one line. Every human-facing output
 * path passes its text through here once: the --once text report (once.c)
 * and every log record, journal MESSAGE and EWSPROBED_* field (log.c).
 *
 * What is escaped, and how (docs/escaping.md says why; everything else is
 * copied as it is):
 *   - C0 controls (newline, tab, ESC, ...) and DEL: "\xHH";
 *   - C1 controls U+0080..U+009F (CSI U+009B included), the bidi controls
 *     U+061C, U+200E, U+200F, U+202A..U+202E, U+2066..U+2069, and the line
 *     and paragraph separators U+2028, U+2029: "\uHHHH";
 *   - bytes that are not well-formed UTF-8 (RFC 3629: stray continuation
 *     bytes, overlong forms, surrogates, beyond U+10FFFF, cut sequences):
 *     each "\xHH".
 * So nothing from outside can start a line, move the cursor, colour the
 * terminal or reorder what a reader sees. Backslashes are kept: the
 * escapes are for reading, not for decoding back.
 */
#ifndef EWSPROBED_TEXTSAFE_H
#define EWSPROBED_TEXTSAFE_H

char *textsafe(const char *);
int textsafe_is_safe(const char *);

#endif
