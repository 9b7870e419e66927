/*
 * xmlsafe: owns libxml2's configuration and every parse of untrusted XML,
 * plus small namespace-aware tree helpers so no caller ever matches by
 * local name alone.
 */
#include <ctype.h>
#include <limits.h>
#include <string.h>

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

/* Parser errors echo attacker bytes: they are counted, never printed. */
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

/*
 * Parse len bytes of untrusted XML capped at max bytes. Return the document
 * (caller frees with xmlFreeDoc) or NULL with *status saying why.
 */
xmlDocPtr
xmlsafe_parse(const char *buf, size_t len, size_t max,
    enum xmlsafe_status *status)
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
	if (len > max || len > INT_MAX) {
		*status = XMLSAFE_TOO_LARGE;
		return NULL;
	}
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
