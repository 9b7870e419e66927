/*
 * xmlsafe: the one way ewsprobed parses XML that came from the network
 * (Autodiscover and EWS answers) with libxml2 2.9.14.
 *
 * Rules (docs/security.md §2): cap bytes before parsing; parse with NONET and
 * without NOENT, DTDLOAD, HUGE, XINCLUDE or RECOVER; reject any document that
 * carries a DTD (answers never do, and entity tricks live there) before any
 * content is read; never print parser errors; deny every external entity.
 */
#ifndef EWSPROBED_XMLSAFE_H
#define EWSPROBED_XMLSAFE_H

#include <stddef.h>

#include <libxml/tree.h>

enum xmlsafe_status {
	XMLSAFE_OK,
	XMLSAFE_EMPTY, /* no bytes */
	XMLSAFE_TOO_LARGE, /* above the cap: not parsed */
	XMLSAFE_MALFORMED, /* not well-formed (incl. too deep) */
	XMLSAFE_FORBIDDEN, /* carries a DTD / entity declarations */
	XMLSAFE_TOO_COMPLEX, /* over a structure limit below: not parsed */
};

/*
 * Structure limits of the pre-scan (docs/xml-limits.md: real answers use
 * a few percent of each; at these limits libxml2 2.9.14 parses any 1 MiB
 * document within the loop's budget).
 */
#define XMLSAFE_MAX_ITEMS 8192u /* elements, comments, PIs, CDATA */
#define XMLSAFE_MAX_ATTRS 32u /* attributes (incl. xmlns) per element */
#define XMLSAFE_MAX_ALL_ATTRS 16384u /* attributes in the document */
#define XMLSAFE_MAX_NAMESPACES 256u /* namespace declarations */
#define XMLSAFE_MAX_DEPTH 64u /* element nesting */
#define XMLSAFE_MAX_NAME 256u /* bytes in a name (incl. prefix) */

void xmlsafe_init(void);
xmlDocPtr
xmlsafe_parse(const char *, size_t, size_t, enum xmlsafe_status *, char **);
const char *xmlsafe_status_name(enum xmlsafe_status);

/* Namespace-aware helpers over a parsed tree (ns compared byte-for-byte). */
int xmlsafe_is(const xmlNode *, const char *, const char *);
xmlNode *xmlsafe_child(const xmlNode *, const char *, const char *);
xmlNode *xmlsafe_next(const xmlNode *, const char *, const char *);
char *xmlsafe_text(const xmlNode *);
char *xmlsafe_attr(const xmlNode *, const char *);

#endif
