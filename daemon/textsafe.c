/*
 * textsafe: owns the escaping of outside text for human-facing output
 * (see textsafe.h for what is escaped and why).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "textsafe.h"
#include "xmalloc.h"

/*
 * The length of the well-formed UTF-8 sequence at p (RFC 3629 §4 table),
 * with its code point in *cp, or 0 when the bytes there are not one. This
 * is written out because libxml2's xmlGetUTF8Char (Debian 12) accepts
 * overlong forms and stray continuation bytes.
 */
static size_t
textsafe_utf8(const unsigned char *p, unsigned int *cp)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		*cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		*cp = p[0] & 0x0f;
		if (p[0] == 0xe0)
			lo = 0xa0; /* no overlong forms */
		else if (p[0] == 0xed)
			hi = 0x9f; /* no surrogates */
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		*cp = p[0] & 0x07;
		if (p[0] == 0xf0)
			lo = 0x90;
		else if (p[0] == 0xf4)
			hi = 0x8f; /* nothing beyond U+10FFFF */
	} else
		return 0;
	for (i = 1; i < n; i++) {
		/* A NUL ends the string here: the sequence is cut. */
		if (p[i] < lo || p[i] > hi)
			return 0;
		*cp = (*cp << 6) | (p[i] & 0x3f);
		lo = 0x80;
		hi = 0xbf;
	}
	return n;
}

/* Whether a code point must be shown escaped. */
static int
textsafe_escaped(unsigned int cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c ||
	    cp == 0x200e || cp == 0x200f || cp == 0x2028 || cp == 0x2029 ||
	    (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/* Whether s needs no escaping at all (NULL counts as safe). */
int
textsafe_is_safe(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned int cp;
	size_t n;

	for (; p != NULL && *p != '\0'; p += n) {
		if ((n = textsafe_utf8(p, &cp)) == 0 || textsafe_escaped(cp))
			return 0;
	}
	return 1;
}

/* An escaped copy of s (see textsafe.h); NULL for NULL. Caller frees. */
char *
textsafe(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned int cp;
	char *out, *q;
	size_t n;

	if (s == NULL)
		return NULL;
	/* At worst every byte grows to "\xHH" (4), every C1 pair to 6. */
	out = q = xreallocarray(NULL, strlen(s) + 1, 4);
	for (; *p != '\0'; p += n) {
		if ((n = textsafe_utf8(p, &cp)) == 0) {
			q += sprintf(q, "\\x%02x", *p);
			n = 1;
		} else if (!textsafe_escaped(cp)) {
			memcpy(q, p, n);
			q += n;
		} else if (cp < 0x80)
			q += sprintf(q, "\\x%02x", cp);
		else
			q += sprintf(q, "\\u%04x", cp);
	}
	*q = '\0';
	return out;
}
