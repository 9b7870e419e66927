/*
 * xmlsafe: owns libxml2's configuration and every parse of untrusted XML —
 * the linear pre-scan that refuses pathological structure before libxml2
 * sees it (docs/xml-limits.md), the parse itself — plus small
 * namespace-aware tree helpers so no caller ever matches by local name
 * alone.
 */
#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/globals.h>
#include <libxml/parser.h>
#include <libxml/xmlIO.h>

#include "log.h"
#include "xmalloc.h"
#include "xmlsafe.h"

/* External entities are never loaded, whatever the document asks for. */
static xmlParserInputPtr
xmlsafe_deny_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
	return NULL;
}

/*
 * Parser errors echo attacker bytes: they are never printed. (Stopping
 * the parser here would bound the work after a fatal error, but
 * xmlStopParser frees the input under the function that raised the error;
 * the pre-scan already bounds the whole document.)
 */
static void
xmlsafe_error_cb(void *ctx, xmlErrorPtr error)
{
}

/* Swallow one libxml2 generic (printf-style) message. */
static void
xmlsafe_generic_cb(void *ctx, const char *fmt, ...)
{
}

/* Set libxml2 up once per process, before any parse. */
void
xmlsafe_init(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	xmlInitParser();
	xmlSetExternalEntityLoader(xmlsafe_deny_loader);
}

/* The pre-scan's position and counts over one document. */
struct xmlsafe_scan {
	const char *p, *end;
	size_t elements; /* markup items: tags, comments, PIs, CDATA */
	size_t attributes; /* in the whole document */
	size_t namespaces; /* xmlns and xmlns:p declarations */
	size_t depth;
	char *why; /* the refusal, for a note (caller frees) */
};

/* Refuse the document: say why (printf format) and return status. */
static enum xmlsafe_status __attribute__((format(printf, 3, 4)))
xmlsafe_refuse(struct xmlsafe_scan *s, enum xmlsafe_status status,
    const char *fmt, ...)
{
	va_list ap;

	if (s->why == NULL) {
		va_start(ap, fmt);
		xvasprintf(&s->why, fmt, ap);
		va_end(ap);
	}
	return status;
}

/* Whether c ends an XML name for the pre-scan (ASCII delimiters). */
static int
xmlsafe_name_end(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '>' ||
	    c == '/' || c == '=' || c == '<' || c == '"' || c == '\'' ||
	    c == '?';
}

/* Skip XML white space. */
static void
xmlsafe_skip_space(struct xmlsafe_scan *s)
{
	while (s->p < s->end &&
	    (*s->p == ' ' || *s->p == '\t' || *s->p == '\r' || *s->p == '\n'))
		s->p++;
}

/* Read a name at s->p; return its length (0: none), capped as a name. */
static size_t
xmlsafe_name(struct xmlsafe_scan *s)
{
	const char *start = s->p;

	while (s->p < s->end && !xmlsafe_name_end((unsigned char)*s->p))
		s->p++;
	return (size_t)(s->p - start);
}

/* Move past the first occurrence of the terminator; 0, or -1 if none. */
static int
xmlsafe_skip_past(struct xmlsafe_scan *s, const char *term)
{
	const char *q;
	size_t tl = strlen(term);

	q = memmem(s->p, (size_t)(s->end - s->p), term, tl);
	if (q == NULL)
		return -1;
	s->p = q + tl;
	return 0;
}

/* Count one markup item against the limit. */
static enum xmlsafe_status
xmlsafe_count_item(struct xmlsafe_scan *s)
{
	if (++s->elements > XMLSAFE_MAX_ITEMS)
		return xmlsafe_refuse(s, XMLSAFE_TOO_COMPLEX,
		    "more than %u elements, comments and processing instructions",
		    XMLSAFE_MAX_ITEMS);
	return XMLSAFE_OK;
}

/* Whether an encoding name keeps ASCII bytes as ASCII characters. */
static int
xmlsafe_ascii_encoding(const char *v, size_t len)
{
	static const char *const exact[] = {"utf-8", "utf8", "us-ascii",
	    "ascii", "latin1"};
	static const char *const prefix[] = {"iso-8859-", "windows-125"};
	size_t i, n;

	for (i = 0; i < sizeof exact / sizeof exact[0]; i++) {
		if (len == strlen(exact[i]) &&
		    strncasecmp(v, exact[i], len) == 0)
			return 1;
	}
	for (i = 0; i < sizeof prefix / sizeof prefix[0]; i++) {
		n = strlen(prefix[i]);
		if (len > n && len <= n + 2 &&
		    strncasecmp(v, prefix[i], n) == 0 &&
		    strspn(v + n, "0123456789") == len - n)
			return 1;
	}
	return 0;
}

/*
 * The encoding named by an XML declaration at the very start of the
 * document (at s->p), if any: only encodings that keep ASCII bytes as
 * ASCII characters are admitted, so that what the pre-scan counts is what
 * libxml2 reads (UTF-7 or EBCDIC would hide markup from it).
 */
static enum xmlsafe_status
xmlsafe_check_decl(struct xmlsafe_scan *s)
{
	const char *decl = s->p, *e, *v, *q;
	char quote;

	if (s->end - decl < 6 || memcmp(decl, "<?xml", 5) != 0 ||
	    !(decl[5] == ' ' || decl[5] == '\t' || decl[5] == '\r' ||
	        decl[5] == '\n'))
		return XMLSAFE_OK;
	if ((e = memmem(decl, (size_t)(s->end - decl), "?>", 2)) == NULL)
		return xmlsafe_refuse(s, XMLSAFE_MALFORMED,
		    "unterminated XML declaration");
	if ((v = memmem(decl, (size_t)(e - decl), "encoding", 8)) == NULL)
		return XMLSAFE_OK;
	for (v += 8; v < e &&
	     (*v == ' ' || *v == '=' || *v == '\t' || *v == '\r' || *v == '\n');
	     v++)
		;
	if (v >= e || (*v != '"' && *v != '\''))
		return xmlsafe_refuse(s, XMLSAFE_MALFORMED,
		    "malformed XML declaration");
	quote = *v++;
	if ((q = memchr(v, quote, (size_t)(e - v))) == NULL)
		return xmlsafe_refuse(s, XMLSAFE_MALFORMED,
		    "malformed XML declaration");
	if (!xmlsafe_ascii_encoding(v, (size_t)(q - v)))
		return xmlsafe_refuse(s, XMLSAFE_MALFORMED,
		    "an encoding that is not ASCII-compatible (UTF-8 expected)");
	return XMLSAFE_OK;
}

/* Scan one start tag after its '<': name, attributes, end. */
static enum xmlsafe_status
xmlsafe_scan_start_tag(struct xmlsafe_scan *s)
{
	const char *name;
	size_t n, attrs = 0, nsdecls = 0;
	const char *q;
	char quote;

	if ((n = xmlsafe_name(s)) == 0)
		return xmlsafe_refuse(s, XMLSAFE_MALFORMED,
		    "empty element name");
	if (n > XMLSAFE_MAX_NAME)
		return xmlsafe_refuse(s, XMLSAFE_TOO_COMPLEX,
		    "an element name of %zu bytes (at most %u)", n,
		    XMLSAFE_MAX_NAME);
	for (;;) {
		xmlsafe_skip_space(s);
		if (s->p >= s->end)
			return xmlsafe_refuse(s, XMLSAFE_MALFORMED,
			    "unterminated start tag");
		if (*s->p == '>') {
			s->p++;
			if (++s->depth > XMLSAFE_MAX_DEPTH)
				return xmlsafe_refuse(s, XMLSAFE_TOO_COMPLEX,
				    "elements nested more than %u deep",
				    XMLSAFE_MAX_DEPTH);
			return XMLSAFE_OK;
		}
		if (*s->p == '/') {
			if (s->end - s->p < 2 || s->p[1] != '>')
				return xmlsafe_refuse(s, XMLSAFE_MALFORMED,
				    "malformed empty-element tag");
			s->p += 2;
			return XMLSAFE_OK;
		}
		name = s->p;
		if ((n = xmlsafe_name(s)) == 0)
			return xmlsafe_refuse(s, XMLSAFE_MALFORMED,
			    "malformed attribute");
		if (n > XMLSAFE_MAX_NAME)
			return xmlsafe_refuse(s, XMLSAFE_TOO_COMPLEX,
			    "an attribute name of %zu bytes (at most %u)", n,
			    XMLSAFE_MAX_NAME);
		if (++attrs > XMLSAFE_MAX_ATTRS)
			return xmlsafe_refuse(s, XMLSAFE_TOO_COMPLEX,
			    "more than %u attributes on one element",
			    XMLSAFE_MAX_ATTRS);
		if (++s->attributes > XMLSAFE_MAX_ALL_ATTRS)
			return xmlsafe_refuse(s, XMLSAFE_TOO_COMPLEX,
			    "more than %u attributes in the document",
			    XMLSAFE_MAX_ALL_ATTRS);
		if ((n == 5 || (n > 5 && name[5] == ':')) &&
		    memcmp(name, "xmlns", 5) == 0) {
			nsdecls++;
			if (++s->namespaces > XMLSAFE_MAX_NAMESPACES)
				return xmlsafe_refuse(s, XMLSAFE_TOO_COMPLEX,
				    "more than %u namespace declarations",
				    XMLSAFE_MAX_NAMESPACES);
		}
		xmlsafe_skip_space(s);
		if (s->p >= s->end || *s->p != '=')
			return xmlsafe_refuse(s, XMLSAFE_MALFORMED,
			    "attribute without a value");
		s->p++;
		xmlsafe_skip_space(s);
		if (s->p >= s->end || (*s->p != '"' && *s->p != '\''))
			return xmlsafe_refuse(s, XMLSAFE_MALFORMED,
			    "attribute value not quoted");
		quote = *s->p++;
		if ((q = memchr(s->p, quote, (size_t)(s->end - s->p))) ==
		        NULL ||
		    memchr(s->p, '<', (size_t)(q - s->p)) != NULL)
			return xmlsafe_refuse(s, XMLSAFE_MALFORMED,
			    "malformed attribute value");
		s->p = q + 1;
	}
}

/* Scan one end tag after its "</". */
static enum xmlsafe_status
xmlsafe_scan_end_tag(struct xmlsafe_scan *s)
{
	size_t n;

	if ((n = xmlsafe_name(s)) == 0 || n > XMLSAFE_MAX_NAME)
		return xmlsafe_refuse(s, XMLSAFE_MALFORMED,
		    "malformed end tag");
	xmlsafe_skip_space(s);
	if (s->p >= s->end || *s->p != '>' || s->depth == 0)
		return xmlsafe_refuse(s, XMLSAFE_MALFORMED,
		    "malformed end tag");
	s->p++;
	s->depth--;
	return XMLSAFE_OK;
}

/* Scan one item that starts with '<' at s->p. */
static enum xmlsafe_status
xmlsafe_scan_markup(struct xmlsafe_scan *s)
{
	size_t left = (size_t)(s->end - s->p);
	enum xmlsafe_status st;

	if (left >= 2 && s->p[1] == '/') {
		s->p += 2;
		return xmlsafe_scan_end_tag(s);
	}
	if ((st = xmlsafe_count_item(s)) != XMLSAFE_OK)
		return st;
	if (left >= 4 && memcmp(s->p, "<!--", 4) == 0) {
		s->p += 4;
		if (xmlsafe_skip_past(s, "-->") != 0)
			return xmlsafe_refuse(s, XMLSAFE_MALFORMED,
			    "unterminated comment");
		return XMLSAFE_OK;
	}
	if (left >= 9 && memcmp(s->p, "<![CDATA[", 9) == 0) {
		s->p += 9;
		if (xmlsafe_skip_past(s, "]]>") != 0)
			return xmlsafe_refuse(s, XMLSAFE_MALFORMED,
			    "unterminated CDATA section");
		return XMLSAFE_OK;
	}
	if (left >= 9 && memcmp(s->p, "<!DOCTYPE", 9) == 0)
		return xmlsafe_refuse(s, XMLSAFE_FORBIDDEN,
		    "a document type declaration (answers never carry one)");
	if (left >= 2 && s->p[1] == '!')
		return xmlsafe_refuse(s, XMLSAFE_MALFORMED,
		    "a markup declaration outside a DTD");
	if (left >= 2 && s->p[1] == '?') {
		s->p += 2;
		if (xmlsafe_name(s) > XMLSAFE_MAX_NAME)
			return xmlsafe_refuse(s, XMLSAFE_TOO_COMPLEX,
			    "a processing instruction target over %u bytes",
			    XMLSAFE_MAX_NAME);
		if (xmlsafe_skip_past(s, "?>") != 0)
			return xmlsafe_refuse(s, XMLSAFE_MALFORMED,
			    "unterminated processing instruction");
		return XMLSAFE_OK;
	}
	s->p++;
	return xmlsafe_scan_start_tag(s);
}

/*
 * The pre-scan: one linear pass over the bytes that refuses what libxml2
 * 2.9 handles in more than linear time — many attributes on one element
 * (its duplicate checks are quadratic), many namespace declarations,
 * deep nesting, long names, huge element counts — and every DTD (entity
 * tricks live there), before libxml2 sees a byte (docs/xml-limits.md).
 * It reads only what it must to count; well-formedness is libxml2's job,
 * except that bytes it cannot follow (a NUL, text before the first tag,
 * an encoding that moves ASCII bytes) are refused as malformed.
 */
static enum xmlsafe_status
xmlsafe_prescan(const char *buf, size_t len, char **why)
{
	struct xmlsafe_scan s;
	enum xmlsafe_status st = XMLSAFE_OK;
	const char *lt;

	memset(&s, 0, sizeof s);
	s.p = buf;
	s.end = buf + len;
	if (memchr(buf, '\0', len) != NULL) {
		/* UTF-16 and UTF-32 documents are full of NUL bytes. */
		st = xmlsafe_refuse(&s, XMLSAFE_MALFORMED,
		    "a NUL byte (UTF-16 or UTF-32 are not supported)");
		goto out;
	}
	if (len >= 3 && memcmp(s.p, "\xef\xbb\xbf", 3) == 0)
		s.p += 3;
	xmlsafe_skip_space(&s);
	if (s.p >= s.end || *s.p != '<') {
		st = xmlsafe_refuse(&s, XMLSAFE_MALFORMED,
		    "text before the first tag");
		goto out;
	}
	if ((st = xmlsafe_check_decl(&s)) != XMLSAFE_OK)
		goto out;
	while (s.p < s.end) {
		if ((lt = memchr(s.p, '<', (size_t)(s.end - s.p))) == NULL)
			break;
		s.p = lt;
		if ((st = xmlsafe_scan_markup(&s)) != XMLSAFE_OK)
			break;
	}
out:
	if (st != XMLSAFE_OK && why != NULL) {
		*why = s.why;
		s.why = NULL;
	}
	free(s.why);
	return st;
}

/*
 * Parse len bytes of untrusted XML capped at max bytes. Return the document
 * (caller frees with xmlFreeDoc) or NULL with *status saying why, and, when
 * why is not NULL, *why a sentence for a human when there is more to say
 * than the status (caller frees; else NULL).
 */
xmlDocPtr
xmlsafe_parse(const char *buf, size_t len, size_t max,
    enum xmlsafe_status *status, char **why)
{
	xmlStructuredErrorFunc old_serror;
	xmlGenericErrorFunc old_generic;
	void *old_sctx, *old_gctx;
	xmlParserCtxtPtr ctxt;
	xmlDocPtr doc;

	xmlsafe_init();
	if (len == 0) {
		*status = XMLSAFE_EMPTY;
		return NULL;
	}
	if (why != NULL)
		*why = NULL;
	if (len > max || len > INT_MAX) {
		*status = XMLSAFE_TOO_LARGE;
		return NULL;
	}
	if ((*status = xmlsafe_prescan(buf, len, why)) != XMLSAFE_OK)
		return NULL;
	if ((ctxt = xmlNewParserCtxt()) == NULL)
		fatalx("xmlNewParserCtxt: out of memory");
	ctxt->sax->serror = xmlsafe_error_cb;
	/*
	 * libxml2 2.9.14 raises encoding-conversion and I/O errors without a
	 * parser context, so the context's serror never sees them and the
	 * default handler would print attacker bytes to stderr. Silence the
	 * per-thread global handlers for the parse, then restore them.
	 */
	old_serror = xmlStructuredError;
	old_sctx = xmlStructuredErrorContext;
	old_generic = xmlGenericError;
	old_gctx = xmlGenericErrorContext;
	xmlSetStructuredErrorFunc(NULL, xmlsafe_error_cb);
	xmlSetGenericErrorFunc(NULL, xmlsafe_generic_cb);
	doc = xmlCtxtReadMemory(ctxt, buf, (int)len, "answer.xml", NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
	        XML_PARSE_NOCDATA);
	xmlSetStructuredErrorFunc(old_sctx, old_serror);
	xmlSetGenericErrorFunc(old_gctx, old_generic);
	if (doc != NULL && (doc->intSubset != NULL || doc->extSubset != NULL))
		*status = XMLSAFE_FORBIDDEN;
	else if (doc == NULL || !ctxt->wellFormed)
		*status = ctxt->errNo == XML_ERR_ENTITY_LOOP
		    ? XMLSAFE_FORBIDDEN
		    : XMLSAFE_MALFORMED;
	else
		*status = XMLSAFE_OK;
	xmlFreeParserCtxt(ctxt);
	if (*status != XMLSAFE_OK) {
		xmlFreeDoc(doc);
		return NULL;
	}
	return doc;
}

/* The status's name, used as a reason detail. */
const char *
xmlsafe_status_name(enum xmlsafe_status status)
{
	switch (status) {
	case XMLSAFE_OK:
		return "ok";
	case XMLSAFE_EMPTY:
		return "xml_empty";
	case XMLSAFE_TOO_LARGE:
		return "response_too_large";
	case XMLSAFE_MALFORMED:
		return "xml_malformed";
	case XMLSAFE_FORBIDDEN:
		return "xml_dtd_forbidden";
	case XMLSAFE_TOO_COMPLEX:
		return "xml_too_complex";
	}
	return "xml_malformed";
}

/* Whether node is an element named name in namespace ns (exact URI). */
int
xmlsafe_is(const xmlNode *node, const char *ns, const char *name)
{
	if (node == NULL || node->type != XML_ELEMENT_NODE)
		return 0;
	if (strcmp((const char *)node->name, name) != 0)
		return 0;
	if (ns == NULL)
		return node->ns == NULL;
	return node->ns != NULL && node->ns->href != NULL &&
	    strcmp((const char *)node->ns->href, ns) == 0;
}

/* The first child element of parent named name in ns, or NULL. */
xmlNode *
xmlsafe_child(const xmlNode *parent, const char *ns, const char *name)
{
	xmlNode *n;

	if (parent == NULL)
		return NULL;
	for (n = parent->children; n != NULL; n = n->next) {
		if (xmlsafe_is(n, ns, name))
			return n;
	}
	return NULL;
}

/* The next sibling element after node named name in ns, or NULL. */
xmlNode *
xmlsafe_next(const xmlNode *node, const char *ns, const char *name)
{
	xmlNode *n;

	for (n = node->next; n != NULL; n = n->next) {
		if (xmlsafe_is(n, ns, name))
			return n;
	}
	return NULL;
}

/*
 * The text content of an element with surrounding whitespace trimmed, or
 * NULL when the element is missing or empty. Caller frees.
 */
char *
xmlsafe_text(const xmlNode *node)
{
	xmlChar *raw;
	const char *s, *e;
	char *out = NULL;

	if (node == NULL)
		return NULL;
	if ((raw = xmlNodeGetContent(node)) == NULL)
		return NULL;
	s = (const char *)raw;
	while (*s != '\0' && isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	if (e > s)
		out = xstrndup(s, (size_t)(e - s));
	xmlFree(raw);
	return out;
}

/* An attribute without namespace, or NULL. Caller frees. */
char *
xmlsafe_attr(const xmlNode *node, const char *name)
{
	xmlChar *v;
	char *out;

	if (node == NULL)
		return NULL;
	if ((v = xmlGetNoNsProp(node, (const xmlChar *)name)) == NULL)
		return NULL;
	out = xstrdup((const char *)v);
	xmlFree(v);
	return out;
}
