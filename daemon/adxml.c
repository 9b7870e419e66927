/*
 * adxml: owns reading an Autodiscover answer body — any body (SOAP, POX,
 * a WCF fault, an HTML page, hostile XML) — into one struct adxml_result:
 * the parse through xmlsafe (size cap, no DTDs, no network, no entity
 * loading), the choice of dialect by the root element, the result and its
 * notes, and the element matching both dialects use, which compares
 * namespace URIs byte for byte. The dialects themselves, requests and
 * answers, are adxml_soap.c's and adxml_pox.c's (shared declarations:
 * adxml_private.h).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/entities.h>
#include <libxml/globals.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlstring.h>

#include "adxml.h"
#include "adxml_private.h"
#include "json.h"
#include "log.h"
#include "xmalloc.h"
#include "xmlsafe.h"

static const char *const adxml_ns_rest[NS_COUNT] = {
    "schemas.xmlsoap.org/soap/envelope/",
    "schemas.microsoft.com/exchange/2010/Autodiscover",
    "www.w3.org/2001/XMLSchema-instance",
    "schemas.microsoft.com/exchange/autodiscover/responseschema/2006",
    ADXML_REST_POXA,
};

/* Server text quoted in a note is cut to this many bytes. */
#define ADXML_NOTE_QUOTE 200
/* Notes beyond this many are dropped (one final note says so). */
#define ADXML_MAX_NOTES 32

/*
 * Escape s for XML text with libxml2 (xmlEncodeSpecialChars: &, <, >, "
 * and CR), or return NULL when it cannot be sent: empty, not UTF-8, or
 * holding control characters XML 1.0 cannot carry (or that have no
 * business in an address or URL). The check is ours: libxml2 would
 * encode what it should refuse. Caller frees.
 */
char *
adxml_escape(const char *s)
{
	const unsigned char *p;
	xmlChar *enc;
	char *out;

	if (s == NULL || *s == '\0' || !xmlCheckUTF8((const xmlChar *)s))
		return NULL;
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return NULL;
	}
	if ((enc = xmlEncodeSpecialChars(NULL, (const xmlChar *)s)) == NULL)
		fatalx("xmlEncodeSpecialChars: out of memory");
	out = xstrdup((const char *)enc);
	xmlFree(enc);
	return out;
}

/* Append a note (printf format) to the result, up to ADXML_MAX_NOTES. */
void __attribute__((format(printf, 2, 3)))
adxml_note(struct adxml_result *r, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (r->nnotes > ADXML_MAX_NOTES)
		return;
	if (r->nnotes == ADXML_MAX_NOTES)
		s = xstrdup("further notes omitted");
	else {
		va_start(ap, fmt);
		xvasprintf(&s, fmt, ap);
		va_end(ap);
	}
	r->notes = xreallocarray(r->notes, r->nnotes + 1, sizeof *r->notes);
	r->notes[r->nnotes++] = s;
}

/*
 * Server text for a note: at most ADXML_NOTE_QUOTE bytes, cut on a UTF-8
 * character boundary. Caller frees.
 */
char *
adxml_quote(const char *s)
{
	size_t n;

	if (s == NULL)
		return xstrdup("");
	if ((n = strlen(s)) <= ADXML_NOTE_QUOTE)
		return xstrdup(s);
	n = ADXML_NOTE_QUOTE;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return xstrndup(s, n);
}

/* Free every extracted field and note, keeping format and outcome. */
static void
adxml_clear(struct adxml_result *r)
{
	size_t i;

	free(r->error_code);
	free(r->error_message);
	free(r->internal_ews_url);
	free(r->external_ews_url);
	free(r->redirect_target);
	free(r->server_version);
	free(r->server_build);
	free(r->cas_version);
	free(r->ews_supported_schemas);
	free(r->smtp_address);
	for (i = 0; i < r->nnotes; i++)
		free(r->notes[i]);
	free(r->notes);
	r->error_code = r->error_message = NULL;
	r->internal_ews_url = r->external_ews_url = NULL;
	r->redirect_target = r->server_version = r->server_build = NULL;
	r->cas_version = r->ews_supported_schemas = r->smtp_address = NULL;
	r->notes = NULL;
	r->nnotes = 0;
	r->error_level = ADXML_LEVEL_NONE;
}

/*
 * Turn the result into a failure: everything extracted so far is dropped
 * so that no caller can act on half of an answer; only the reason and one
 * note (the why, when known) remain.
 */
void __attribute__((format(printf, 4, 5))) adxml_fail(struct adxml_ctx *c,
    enum adxml_outcome outcome, const char *reason, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	if (fmt != NULL) {
		va_start(ap, fmt);
		xvasprintf(&s, fmt, ap);
		va_end(ap);
	}
	adxml_clear(c->r);
	c->r->outcome = outcome;
	c->r->reason = reason;
	if (s != NULL)
		adxml_note(c->r, "%s", s);
	free(s);
}

/* Fail as xml_wrong_namespace: node has a known name in a foreign one. */
void
adxml_wrong_ns(struct adxml_ctx *c, const xmlNode *node)
{
	char *qn, *qh;

	qn = adxml_quote((const char *)node->name);
	qh = adxml_quote(node->ns != NULL && node->ns->href != NULL
	        ? (const char *)node->ns->href
	        : "");
	adxml_fail(c, ADXML_NOT_AUTODISCOVER, "xml_wrong_namespace",
	    "%s in foreign namespace '%s'", qn, qh);
	c->r->wrong_namespace = 1;
	free(qn);
	free(qh);
}

/*
 * Whether href is namespace ns. The http:// name is the real one; the
 * https:// spelling comes from Microsoft's rewritten documentation
 * (docs/protocol.md §1.2) and is accepted on purpose, with a note.
 */
int
adxml_ns_match(struct adxml_ctx *c, const xmlNs *ns, enum adxml_ns id)
{
	const char *href, *rest = adxml_ns_rest[id];

	if (ns == NULL || ns->href == NULL)
		return 0;
	href = (const char *)ns->href;
	if (strncmp(href, "http://", 7) == 0 && strcmp(href + 7, rest) == 0)
		return 1;
	if (strncmp(href, "https://", 8) == 0 && strcmp(href + 8, rest) == 0) {
		if (!(c->https_noted & (1u << id))) {
			c->https_noted |= 1u << id;
			adxml_note(c->r,
			    "non-standard namespace %s (real servers use http://%s)",
			    href, rest);
		}
		return 1;
	}
	return 0;
}

/* Whether node is an element called name in namespace id. */
int
adxml_is(struct adxml_ctx *c, const xmlNode *node, enum adxml_ns id,
    const char *name)
{
	if (node == NULL || node->type != XML_ELEMENT_NODE)
		return 0;
	if (strcmp((const char *)node->name, name) != 0)
		return 0;
	return adxml_ns_match(c, node->ns, id);
}

/* The first child element of parent called name in namespace id. */
xmlNode *
adxml_child(struct adxml_ctx *c, const xmlNode *parent, enum adxml_ns id,
    const char *name)
{
	xmlNode *n;

	if (parent == NULL)
		return NULL;
	for (n = parent->children; n != NULL; n = n->next) {
		if (adxml_is(c, n, id, name))
			return n;
	}
	return NULL;
}

/* The first child element called name, whatever its namespace. */
xmlNode *
adxml_child_any(const xmlNode *parent, const char *name)
{
	xmlNode *n;

	if (parent == NULL)
		return NULL;
	for (n = parent->children; n != NULL; n = n->next) {
		if (n->type == XML_ELEMENT_NODE &&
		    strcmp((const char *)n->name, name) == 0)
			return n;
	}
	return NULL;
}

/* An attribute in namespace id (either spelling), or NULL. Caller frees. */
char *
adxml_ns_attr(struct adxml_ctx *c, const xmlNode *node, enum adxml_ns id,
    const char *name)
{
	xmlAttr *a;
	xmlChar *v;
	char *out;

	for (a = node->properties; a != NULL; a = a->next) {
		if (strcmp((const char *)a->name, name) == 0 &&
		    adxml_ns_match(c, a->ns, id))
			break;
	}
	if (a == NULL)
		return NULL;
	if ((v = xmlNodeListGetString(node->doc, a->children, 1)) == NULL)
		return xstrdup("");
	out = xstrdup((const char *)v);
	xmlFree(v);
	return out;
}

/* Whether an element says xsi:nil="true" (or "1"). */
static int
adxml_is_nil(struct adxml_ctx *c, const xmlNode *node)
{
	char *v;
	int nil;

	if ((v = adxml_ns_attr(c, node, NS_XSI, "nil")) == NULL)
		return 0;
	nil = strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
	free(v);
	return nil;
}

/*
 * The trimmed text of an element, or NULL when it is missing, empty or
 * xsi:nil. Caller frees.
 */
char *
adxml_text(struct adxml_ctx *c, const xmlNode *node)
{
	if (node == NULL || adxml_is_nil(c, node))
		return NULL;
	return xmlsafe_text(node);
}

/* The trimmed text of child name (namespace id) of parent. Caller frees. */
char *
adxml_child_text(struct adxml_ctx *c, const xmlNode *parent, enum adxml_ns id,
    const char *name)
{
	return adxml_text(c, adxml_child(c, parent, id, name));
}

/*
 * Whether an HTML page is what came back (a captive portal, a web site on
 * the bare domain): it starts, after a BOM, white space and an XML
 * declaration, with "<!DOCTYPE html" or "<html". Such pages are never
 * handed to the XML parser (their DOCTYPE would be rejected anyway).
 */
static int
adxml_looks_html(const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len, *q;
	int pass;

	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	for (pass = 0; pass < 2; pass++) {
		while (p < end &&
		    (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
			p++;
		if (pass == 0 && end - p >= 5 && memcmp(p, "<?xml", 5) == 0) {
			if ((q = memchr(p, '>', (size_t)(end - p))) == NULL)
				return 0;
			p = q + 1;
		}
	}
	if (end - p >= 15 && strncasecmp(p, "<!doctype html", 14) == 0 &&
	    (p[14] == ' ' || p[14] == '>' || p[14] == '\n' || p[14] == '\r' ||
	        p[14] == '\t'))
		return 1;
	if (end - p >= 6 && strncasecmp(p, "<html", 5) == 0 &&
	    (p[5] == ' ' || p[5] == '>' || p[5] == '\n' || p[5] == '\r' ||
	        p[5] == '\t'))
		return 1;
	return 0;
}

/* Classify a well-formed document by its root element. */
static void
adxml_classify(struct adxml_ctx *c, const xmlNode *root)
{
	char *qn;

	if (root == NULL) {
		adxml_fail(c, ADXML_MALFORMED, "xml_malformed", NULL);
		return;
	}
	if (adxml_is(c, root, NS_SOAP, "Envelope")) {
		adxml_soap_read(c, root);
		return;
	}
	if (adxml_is(c, root, NS_POX, "Autodiscover")) {
		adxml_pox_read(c, root);
		return;
	}
	if (strcmp((const char *)root->name, "Envelope") == 0 ||
	    strcmp((const char *)root->name, "Autodiscover") == 0) {
		adxml_wrong_ns(c, root);
		return;
	}
	if (strcasecmp((const char *)root->name, "html") == 0) {
		adxml_fail(c, ADXML_NOT_AUTODISCOVER, "not_autodiscover",
		    "an HTML page");
		return;
	}
	qn = adxml_quote((const char *)root->name);
	adxml_fail(c, ADXML_NOT_AUTODISCOVER, "not_autodiscover",
	    "root element <%s> is not Autodiscover", qn);
	free(qn);
}

/*
 * Classify an answer body of len bytes. Never NULL; free with
 * adxml_result_free().
 */
struct adxml_result *
adxml_parse(const char *body, size_t len)
{
	struct adxml_result *r;
	struct adxml_ctx c;
	enum xmlsafe_status status;
	xmlDocPtr doc;
	char *why = NULL;

	r = xcalloc(1, sizeof *r);
	memset(&c, 0, sizeof c);
	c.r = r;
	r->format = ADXML_FORMAT_UNKNOWN;
	if (len > ADXML_MAX_BODY) {
		r->too_large = 1;
		adxml_fail(&c, ADXML_MALFORMED, "response_too_large",
		    "%zu bytes, more than the %u allowed", len, ADXML_MAX_BODY);
		return r;
	}
	if (len != 0 && adxml_looks_html(body, len)) {
		adxml_fail(&c, ADXML_NOT_AUTODISCOVER, "not_autodiscover",
		    "an HTML page");
		return r;
	}
	doc = xmlsafe_parse(body, len, ADXML_MAX_BODY, &status, &why);
	if (doc == NULL) {
		if (status == XMLSAFE_FORBIDDEN)
			r->forbidden = 1;
		if (status == XMLSAFE_TOO_LARGE)
			r->too_large = 1;
		if (why != NULL)
			adxml_fail(&c, ADXML_MALFORMED,
			    xmlsafe_status_name(status), "%s", why);
		else
			adxml_fail(&c, ADXML_MALFORMED,
			    xmlsafe_status_name(status), NULL);
		free(why);
		return r;
	}
	adxml_classify(&c, xmlDocGetRootElement(doc));
	xmlFreeDoc(doc);
	return r;
}

/* Free a result and everything it owns. */
void
adxml_result_free(struct adxml_result *r)
{
	if (r == NULL)
		return;
	adxml_clear(r);
	free(r);
}

/* Write the result as one JSON object into j (the `parse` keys). */
void
adxml_result_json(const struct adxml_result *r, struct json *j)
{
	size_t i;

	json_object_begin(j);
	json_kv_string(j, "format", adxml_format_name(r->format));
	json_kv_string(j, "outcome", adxml_outcome_name(r->outcome));
	json_kv_string(j, "error_code", r->error_code);
	json_kv_string(j, "error_level",
	    r->error_level == ADXML_LEVEL_NONE
	        ? NULL
	        : adxml_level_name(r->error_level));
	json_kv_string(j, "error_message", r->error_message);
	json_kv_string(j, "internal_ews_url", r->internal_ews_url);
	json_kv_string(j, "external_ews_url", r->external_ews_url);
	json_kv_string(j, "redirect_target", r->redirect_target);
	json_kv_string(j, "server_version", r->server_version);
	json_kv_string(j, "server_build", r->server_build);
	json_kv_string(j, "cas_version", r->cas_version);
	json_kv_string(j, "ews_supported_schemas", r->ews_supported_schemas);
	json_kv_string(j, "smtp_address", r->smtp_address);
	json_kv_string(j, "reason", r->reason);
	json_key(j, "notes");
	json_array_begin(j);
	for (i = 0; i < r->nnotes; i++)
		json_str(j, r->notes[i]);
	json_array_end(j);
	json_object_end(j);
}

/* The result as a JSON object (flags: JSON_PRETTY). Caller frees. */
char *
adxml_result_to_json(const struct adxml_result *r, int flags)
{
	struct json *j;

	j = json_new(flags);
	adxml_result_json(r, j);
	return json_finish(j, NULL);
}

/* The format's name as printed. */
const char *
adxml_format_name(enum adxml_format f)
{
	switch (f) {
	case ADXML_FORMAT_SOAP:
		return "soap";
	case ADXML_FORMAT_POX:
		return "pox";
	case ADXML_FORMAT_UNKNOWN:
		break;
	}
	return "unknown";
}

/* The outcome's name as printed. */
const char *
adxml_outcome_name(enum adxml_outcome o)
{
	switch (o) {
	case ADXML_SETTINGS:
		return "settings";
	case ADXML_REDIRECT_ADDRESS:
		return "redirect_address";
	case ADXML_REDIRECT_URL:
		return "redirect_url";
	case ADXML_ERROR:
		return "error";
	case ADXML_FAULT:
		return "fault";
	case ADXML_NOT_AUTODISCOVER:
		return "not_autodiscover";
	case ADXML_MALFORMED:
		break;
	}
	return "malformed";
}

/* The error level's name as printed ("none" for no level). */
const char *
adxml_level_name(enum adxml_level l)
{
	switch (l) {
	case ADXML_LEVEL_RESPONSE:
		return "response";
	case ADXML_LEVEL_USER:
		return "user";
	case ADXML_LEVEL_NONE:
		break;
	}
	return "none";
}
