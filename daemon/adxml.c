/*
 * adxml: owns the Autodiscover XML knowledge — building the SOAP
 * GetUserSettings and POX requests, and reading any answer body (SOAP, POX,
 * a WCF fault, an HTML page, hostile XML) into one struct adxml_result.
 * Parsing goes through xmlsafe (size cap, no DTDs, no network, no entity
 * loading); element matching here compares namespace URIs byte for byte.
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
#include "json.h"
#include "log.h"
#include "xmalloc.h"
#include "xmlsafe.h"

/* Namespaces, written without their scheme so both spellings can match. */
enum adxml_ns {
	NS_SOAP,
	NS_AD,
	NS_XSI,
	NS_POX,
	NS_POX_OUTLOOK,
	NS_COUNT,
};

/*
 * The 2006a name does not fit on one line, and a literal split inside an
 * array initializer draws clang's -Wstring-concatenation.
 */
#define ADXML_REST_POXA \
	"schemas.microsoft.com/exchange/autodiscover/outlook/" \
	"responseschema/2006a"

static const char *const adxml_ns_rest[NS_COUNT] = {
    "schemas.xmlsoap.org/soap/envelope/",
    "schemas.microsoft.com/exchange/2010/Autodiscover",
    "www.w3.org/2001/XMLSchema-instance",
    "schemas.microsoft.com/exchange/autodiscover/responseschema/2006",
    ADXML_REST_POXA,
};

#define ADXML_SOAP_NS "http://schemas.xmlsoap.org/soap/envelope/"
#define ADXML_AD_NS "http://schemas.microsoft.com/exchange/2010/Autodiscover"
#define ADXML_WSA_NS "http://www.w3.org/2005/08/addressing"
#define ADXML_XSI_NS "http://www.w3.org/2001/XMLSchema-instance"
#define ADXML_POX_REQ_NS \
	"http://schemas.microsoft.com/exchange/autodiscover/outlook/" \
	"requestschema/2006"
#define ADXML_POX_OUTLOOK_NS "http://" ADXML_REST_POXA
#define ADXML_ACTION \
	"http://schemas.microsoft.com/exchange/2010/Autodiscover/" \
	"Autodiscover/GetUserSettings"

/* Server text quoted in a note is cut to this many bytes. */
#define ADXML_NOTE_QUOTE 200
/* Notes beyond this many are dropped (one final note says so). */
#define ADXML_MAX_NOTES 32

/* Per-parse state. */
struct adxml_ctx {
	struct adxml_result *r;
	unsigned int https_noted; /* bit per enum adxml_ns */
};

/*
 * Settings asked for, in request order. The two URLs are what the phone
 * needs. CasVersion and EwsSupportedSchemas say which Exchange answered
 * (on-premises 15.0/15.1/15.2 or Exchange Online), and AutoDiscoverSMTPAddress
 * shows the primary address when the configured one is an alias. All five
 * are in [MS-OXWSADISC]'s setting list; a server that does not offer one
 * answers with a per-setting error, only a note (docs/protocol.md §1.2).
 */
static const char *const adxml_settings[] = {
    "InternalEwsUrl",
    "ExternalEwsUrl",
    "CasVersion",
    "EwsSupportedSchemas",
    "AutoDiscoverSMTPAddress",
};

/*
 * Escape s for XML text with libxml2 (xmlEncodeSpecialChars: &, <, >, "
 * and CR), or return NULL when it cannot be sent: empty, not UTF-8, or
 * holding control characters XML 1.0 cannot carry (or that have no
 * business in an address or URL). The check is ours: libxml2 would
 * encode what it should refuse. Caller frees.
 */
static char *
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

/*
 * The SOAP GetUserSettings request for one mailbox, to be POSTed to url
 * (which becomes wsa:To, docs/protocol.md §1.2). NULL if url or mailbox cannot
 * be written as XML. Caller frees.
 */
char *
adxml_soap_request(const char *url, const char *mailbox)
{
	char *eurl = NULL, *ebox = NULL, *settings = NULL, *out = NULL, *tmp;
	size_t i;

	if ((eurl = adxml_escape(url)) == NULL ||
	    (ebox = adxml_escape(mailbox)) == NULL)
		goto fail;
	settings = xstrdup("");
	for (i = 0; i < sizeof adxml_settings / sizeof adxml_settings[0]; i++) {
		xasprintf(&tmp, "%s          <a:Setting>%s</a:Setting>\n",
		    settings, adxml_settings[i]);
		free(settings);
		settings = tmp;
	}
	xasprintf(&out,
	    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	    "<soap:Envelope xmlns:a=\"" ADXML_AD_NS "\"\n"
	    "    xmlns:wsa=\"" ADXML_WSA_NS "\"\n"
	    "    xmlns:xsi=\"" ADXML_XSI_NS "\"\n"
	    "    xmlns:soap=\"" ADXML_SOAP_NS "\">\n"
	    "  <soap:Header>\n"
	    "    <a:RequestedServerVersion>Exchange2010"
	    "</a:RequestedServerVersion>\n"
	    "    <wsa:Action>" ADXML_ACTION "</wsa:Action>\n"
	    "    <wsa:To>%s</wsa:To>\n"
	    "  </soap:Header>\n"
	    "  <soap:Body>\n"
	    "    <a:GetUserSettingsRequestMessage xmlns:a=\"" ADXML_AD_NS
	    "\">\n"
	    "      <a:Request>\n"
	    "        <a:Users>\n"
	    "          <a:User>\n"
	    "            <a:Mailbox>%s</a:Mailbox>\n"
	    "          </a:User>\n"
	    "        </a:Users>\n"
	    "        <a:RequestedSettings>\n"
	    "%s"
	    "        </a:RequestedSettings>\n"
	    "      </a:Request>\n"
	    "    </a:GetUserSettingsRequestMessage>\n"
	    "  </soap:Body>\n"
	    "</soap:Envelope>\n",
	    eurl, ebox, settings);
fail:
	free(eurl);
	free(ebox);
	free(settings);
	return out;
}

/*
 * The POX request for one mailbox (docs/protocol.md §2.1), or NULL if the
 * mailbox cannot be written as XML. Caller frees.
 */
char *
adxml_pox_request(const char *mailbox)
{
	char *ebox, *out;

	if ((ebox = adxml_escape(mailbox)) == NULL)
		return NULL;
	xasprintf(&out,
	    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	    "<Autodiscover xmlns=\"" ADXML_POX_REQ_NS "\">\n"
	    "  <Request>\n"
	    "    <EMailAddress>%s</EMailAddress>\n"
	    "    <AcceptableResponseSchema>" ADXML_POX_OUTLOOK_NS
	    "</AcceptableResponseSchema>\n"
	    "  </Request>\n"
	    "</Autodiscover>\n",
	    ebox);
	free(ebox);
	return out;
}

/* Append a note (printf format) to the result, up to ADXML_MAX_NOTES. */
static void __attribute__((format(printf, 2, 3)))
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
static char *
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
static void __attribute__((format(printf, 4, 5)))
adxml_fail(struct adxml_ctx *c, enum adxml_outcome outcome, const char *reason,
    const char *fmt, ...)
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
static void
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
static int
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
			    "non-standard namespace %s (real servers use "
			    "http://%s)",
			    href, rest);
		}
		return 1;
	}
	return 0;
}

/* Whether node is an element called name in namespace id. */
static int
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
static xmlNode *
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
static xmlNode *
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
static char *
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
static char *
adxml_text(struct adxml_ctx *c, const xmlNode *node)
{
	if (node == NULL || adxml_is_nil(c, node))
		return NULL;
	return xmlsafe_text(node);
}

/* The trimmed text of child name (namespace id) of parent. Caller frees. */
static char *
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

/*
 * Take one string setting into *dst: the first one of a name wins, an
 * empty value counts as absent.
 */
static void
adxml_take_setting(struct adxml_ctx *c, const char *name, char **dst,
    char *value)
{
	if (value == NULL) {
		adxml_note(c->r, "setting %s is empty", name);
		return;
	}
	if (*dst != NULL) {
		adxml_note(c->r, "setting %s given twice; the first was used",
		    name);
		free(value);
		return;
	}
	*dst = value;
}

/*
 * Resolve a UserSetting's xsi:type QName. Return its local part (caller
 * frees) when it names a type in the Autodiscover namespace, else NULL with
 * *shown set to the raw value for a note (caller frees; NULL if no type).
 */
static char *
adxml_setting_type(struct adxml_ctx *c, const xmlNode *node, char **shown)
{
	char *raw, *colon, *local;
	xmlNs *ns;

	*shown = NULL;
	if ((raw = adxml_ns_attr(c, node, NS_XSI, "type")) == NULL)
		return NULL;
	if ((colon = strchr(raw, ':')) != NULL) {
		*colon = '\0';
		ns = xmlSearchNs(node->doc, (xmlNode *)node,
		    (const xmlChar *)raw);
		local = colon + 1;
		*colon = ':';
	} else {
		ns = xmlSearchNs(node->doc, (xmlNode *)node, NULL);
		local = raw;
	}
	if (ns == NULL || !adxml_ns_match(c, ns, NS_AD) || *local == '\0') {
		*shown = raw;
		return NULL;
	}
	local = xstrdup(local);
	free(raw);
	return local;
}

/* Read one UserSetting element into the result. */
static void
adxml_soap_setting(struct adxml_ctx *c, const xmlNode *us)
{
	static const char *const known[] = {
	    "WebClientUrlCollectionSetting",
	    "ProtocolConnectionCollectionSetting",
	    "AlternateMailboxCollectionSetting",
	    "DocumentSharingLocationCollectionSetting",
	};
	struct adxml_result *r = c->r;
	char *type, *shown, *name, *q;
	size_t i;

	name = adxml_child_text(c, us, NS_AD, "Name");
	type = adxml_setting_type(c, us, &shown);
	if (type == NULL) {
		q = adxml_quote(shown);
		if (shown == NULL)
			adxml_note(r, "UserSetting %s has no xsi:type; skipped",
			    name != NULL ? name : "(unnamed)");
		else
			adxml_note(r,
			    "UserSetting of unknown type '%s' skipped", q);
		free(q);
		goto out;
	}
	if (strcmp(type, "StringSetting") != 0) {
		for (i = 0; i < sizeof known / sizeof known[0]; i++) {
			if (strcmp(type, known[i]) == 0)
				break;
		}
		if (i == sizeof known / sizeof known[0]) {
			q = adxml_quote(type);
			adxml_note(r,
			    "UserSetting of unknown type '%s' skipped", q);
			free(q);
		}
		goto out;
	}
	if (name == NULL)
		goto out;
	if (strcmp(name, "InternalEwsUrl") == 0)
		adxml_take_setting(c, name, &r->internal_ews_url,
		    adxml_child_text(c, us, NS_AD, "Value"));
	else if (strcmp(name, "ExternalEwsUrl") == 0)
		adxml_take_setting(c, name, &r->external_ews_url,
		    adxml_child_text(c, us, NS_AD, "Value"));
	else if (strcmp(name, "CasVersion") == 0)
		adxml_take_setting(c, name, &r->cas_version,
		    adxml_child_text(c, us, NS_AD, "Value"));
	else if (strcmp(name, "EwsSupportedSchemas") == 0)
		adxml_take_setting(c, name, &r->ews_supported_schemas,
		    adxml_child_text(c, us, NS_AD, "Value"));
	else if (strcmp(name, "AutoDiscoverSMTPAddress") == 0)
		adxml_take_setting(c, name, &r->smtp_address,
		    adxml_child_text(c, us, NS_AD, "Value"));
out:
	free(name);
	free(type);
	free(shown);
}

/* Note each UserSettingError: harmless unless it hides a URL we need. */
static void
adxml_soap_setting_errors(struct adxml_ctx *c, const xmlNode *ur)
{
	xmlNode *errs, *e;
	char *code, *msg, *name, *qn, *qc, *qm;

	errs = adxml_child(c, ur, NS_AD, "UserSettingErrors");
	for (e = errs != NULL ? errs->children : NULL; e != NULL; e = e->next) {
		if (!adxml_is(c, e, NS_AD, "UserSettingError"))
			continue;
		name = adxml_child_text(c, e, NS_AD, "SettingName");
		code = adxml_child_text(c, e, NS_AD, "ErrorCode");
		msg = adxml_child_text(c, e, NS_AD, "ErrorMessage");
		qn = adxml_quote(name != NULL ? name : "(unnamed)");
		qc = adxml_quote(code != NULL ? code : "(no code)");
		qm = adxml_quote(msg);
		adxml_note(c->r, "setting error for %s: %s%s%s%s", qn, qc,
		    msg != NULL ? " (" : "", qm, msg != NULL ? ")" : "");
		free(qn);
		free(qc);
		free(qm);
		free(name);
		free(code);
		free(msg);
	}
}

/* Read ServerVersionInfo from the SOAP header. */
static void
adxml_soap_version(struct adxml_ctx *c, const xmlNode *header)
{
	static const char *const parts[] = {"MajorVersion", "MinorVersion",
	    "MajorBuildNumber", "MinorBuildNumber"};
	struct adxml_result *r = c->r;
	xmlNode *svi;
	char *v[4], *ver;
	size_t i;

	if ((svi = adxml_child(c, header, NS_AD, "ServerVersionInfo")) == NULL)
		return;
	for (i = 0; i < 4; i++)
		v[i] = adxml_child_text(c, svi, NS_AD, parts[i]);
	if (v[0] != NULL && v[1] != NULL)
		xasprintf(&r->server_build, "%s.%s%s%s%s%s", v[0], v[1],
		    v[2] != NULL ? "." : "", v[2] != NULL ? v[2] : "",
		    v[2] != NULL && v[3] != NULL ? "." : "",
		    v[2] != NULL && v[3] != NULL ? v[3] : "");
	ver = adxml_child_text(c, svi, NS_AD, "Version");
	if (ver != NULL)
		r->server_version = ver;
	else if (r->server_build != NULL)
		r->server_version = xstrdup(r->server_build);
	for (i = 0; i < 4; i++)
		free(v[i]);
}

/* Read a WCF/SOAP 1.1 Fault (faultcode and faultstring are unqualified). */
static void
adxml_soap_fault(struct adxml_ctx *c, const xmlNode *fault)
{
	struct adxml_result *r = c->r;
	xmlNode *n;

	r->outcome = ADXML_FAULT;
	if ((n = xmlsafe_child(fault, NULL, "faultcode")) == NULL)
		n = adxml_child(c, fault, NS_SOAP, "faultcode");
	r->error_code = adxml_text(c, n);
	if ((n = xmlsafe_child(fault, NULL, "faultstring")) == NULL)
		n = adxml_child(c, fault, NS_SOAP, "faultstring");
	r->error_message = adxml_text(c, n);
}

/* Read the one UserResponse of a NoError Response. */
static void
adxml_soap_user(struct adxml_ctx *c, const xmlNode *ur)
{
	struct adxml_result *r = c->r;
	xmlNode *settings, *n;
	const char *redirect = NULL;
	char *code;

	if ((code = adxml_child_text(c, ur, NS_AD, "ErrorCode")) == NULL) {
		adxml_fail(c, ADXML_MALFORMED, "ad_incomplete",
		    "UserResponse has no ErrorCode");
		return;
	}
	adxml_soap_setting_errors(c, ur);
	if (strcmp(code, "NoError") == 0) {
		r->outcome = ADXML_SETTINGS;
		settings = adxml_child(c, ur, NS_AD, "UserSettings");
		for (n = settings != NULL ? settings->children : NULL;
		     n != NULL; n = n->next) {
			if (adxml_is(c, n, NS_AD, "UserSetting"))
				adxml_soap_setting(c, n);
		}
		if (r->internal_ews_url == NULL && r->external_ews_url == NULL)
			adxml_note(r, "no EWS URL in the answer");
		free(code);
		return;
	}
	r->error_level = ADXML_LEVEL_USER;
	r->error_code = code;
	r->error_message = adxml_child_text(c, ur, NS_AD, "ErrorMessage");
	if (strcmp(code, "RedirectAddress") == 0)
		redirect = "RedirectAddress";
	else if (strcmp(code, "RedirectUrl") == 0)
		redirect = "RedirectUrl";
	if (redirect == NULL) {
		r->outcome = ADXML_ERROR;
		return;
	}
	r->redirect_target = adxml_child_text(c, ur, NS_AD, "RedirectTarget");
	if (r->redirect_target == NULL) {
		adxml_fail(c, ADXML_MALFORMED, "ad_incomplete",
		    "%s without a RedirectTarget", redirect);
		return;
	}
	r->outcome =
	    redirect[8] == 'A' ? ADXML_REDIRECT_ADDRESS : ADXML_REDIRECT_URL;
}

/* Classify a SOAP envelope (docs/protocol.md §1.3). */
static void
adxml_soap(struct adxml_ctx *c, const xmlNode *env)
{
	struct adxml_result *r = c->r;
	xmlNode *body, *msg, *resp, *users, *ur, *n;
	char *code;
	size_t extra = 0;

	r->format = ADXML_FORMAT_SOAP;
	adxml_soap_version(c, adxml_child(c, env, NS_SOAP, "Header"));
	if ((body = adxml_child(c, env, NS_SOAP, "Body")) == NULL) {
		adxml_fail(c, ADXML_NOT_AUTODISCOVER, "not_autodiscover",
		    "SOAP envelope without a Body");
		return;
	}
	if ((n = adxml_child(c, body, NS_SOAP, "Fault")) != NULL) {
		adxml_soap_fault(c, n);
		return;
	}
	msg = adxml_child(c, body, NS_AD, "GetUserSettingsResponseMessage");
	if (msg == NULL) {
		if ((n = adxml_child_any(body,
		         "GetUserSettingsResponseMessage")) != NULL)
			adxml_wrong_ns(c, n);
		else
			adxml_fail(c, ADXML_NOT_AUTODISCOVER,
			    "not_autodiscover",
			    "SOAP Body holds no "
			    "GetUserSettingsResponseMessage");
		return;
	}
	if ((resp = adxml_child(c, msg, NS_AD, "Response")) == NULL) {
		adxml_fail(c, ADXML_MALFORMED, "ad_incomplete",
		    "GetUserSettingsResponseMessage has no Response");
		return;
	}
	if ((code = adxml_child_text(c, resp, NS_AD, "ErrorCode")) == NULL) {
		adxml_fail(c, ADXML_MALFORMED, "ad_incomplete",
		    "Response has no ErrorCode");
		return;
	}
	if (strcmp(code, "NoError") != 0) {
		r->outcome = ADXML_ERROR;
		r->error_level = ADXML_LEVEL_RESPONSE;
		r->error_code = code;
		r->error_message =
		    adxml_child_text(c, resp, NS_AD, "ErrorMessage");
		return;
	}
	free(code);
	users = adxml_child(c, resp, NS_AD, "UserResponses");
	if ((ur = adxml_child(c, users, NS_AD, "UserResponse")) == NULL) {
		adxml_fail(c, ADXML_MALFORMED, "ad_incomplete",
		    "Response has no UserResponse");
		return;
	}
	/* One user was asked for; answers pair with users by position. */
	for (n = ur->next; n != NULL; n = n->next) {
		if (adxml_is(c, n, NS_AD, "UserResponse"))
			extra++;
	}
	if (extra != 0)
		adxml_note(r,
		    "%zu UserResponses for one user; the first was "
		    "used",
		    extra + 1);
	adxml_soap_user(c, ur);
}

/*
 * Read an EXCH ServerVersion, eight hex digits: bits 31-28 are 0111, then 6
 * bits major, 6 bits minor, one flag bit and 15 bits build (720180F0 is
 * 8.1.240, Exchange 2007 SP1). Both server_version and server_build get the
 * decoded number; an undecodable value is kept as server_version only.
 */
static void
adxml_pox_version(struct adxml_ctx *c, const xmlNode *proto, enum adxml_ns id)
{
	struct adxml_result *r = c->r;
	unsigned long v;
	char *raw, *end;

	if ((raw = adxml_child_text(c, proto, id, "ServerVersion")) == NULL)
		return;
	if (strlen(raw) != 8 || strspn(raw, "0123456789abcdefABCDEF") != 8 ||
	    ((v = strtoul(raw, &end, 16)) >> 28) != 7) {
		r->server_version = raw;
		return;
	}
	xasprintf(&r->server_build, "%lu.%lu.%lu", (v >> 22) & 0x3f,
	    (v >> 16) & 0x3f, v & 0x7fff);
	r->server_version = xstrdup(r->server_build);
	free(raw);
}

/*
 * An EWS URL of a POX Protocol: EwsUrl, or for Exchange 2007-style answers
 * (no EwsUrl) ASUrl, with a note. Caller frees.
 */
static char *
adxml_pox_url(struct adxml_ctx *c, const xmlNode *proto, enum adxml_ns id,
    const char *type)
{
	char *url;

	if ((url = adxml_child_text(c, proto, id, "EwsUrl")) != NULL)
		return url;
	if ((url = adxml_child_text(c, proto, id, "ASUrl")) != NULL)
		adxml_note(c->r, "%s has no EwsUrl; its ASUrl was used", type);
	return url;
}

/* Read Protocols: EXCH is internal, EXPR external (docs/protocol.md §2.2). */
static void
adxml_pox_protocols(struct adxml_ctx *c, const xmlNode *acct, enum adxml_ns id)
{
	struct adxml_result *r = c->r;
	int seen_exch = 0, seen_expr = 0;
	xmlNode *p;
	char *type;

	for (p = acct->children; p != NULL; p = p->next) {
		if (!adxml_is(c, p, id, "Protocol"))
			continue;
		if ((type = adxml_child_text(c, p, id, "Type")) == NULL)
			continue;
		if (strcmp(type, "EXCH") == 0 && !seen_exch) {
			seen_exch = 1;
			r->internal_ews_url = adxml_pox_url(c, p, id, type);
			adxml_pox_version(c, p, id);
		} else if (strcmp(type, "EXPR") == 0 && !seen_expr) {
			seen_expr = 1;
			r->external_ews_url = adxml_pox_url(c, p, id, type);
		}
		free(type);
	}
	if (r->internal_ews_url == NULL && r->external_ews_url == NULL)
		adxml_note(r, "no EWS URL in the answer");
}

/* Read a POX Error element (Response- or Account-level). */
static void
adxml_pox_error(struct adxml_ctx *c, const xmlNode *err, enum adxml_ns id,
    enum adxml_level level)
{
	struct adxml_result *r = c->r;
	char *code;

	if ((code = adxml_child_text(c, err, id, "ErrorCode")) == NULL) {
		adxml_fail(c, ADXML_MALFORMED, "ad_incomplete",
		    "Error has no ErrorCode");
		return;
	}
	r->outcome = ADXML_ERROR;
	r->error_level = level;
	r->error_code = code;
	r->error_message = adxml_child_text(c, err, id, "Message");
}

/* Read a POX redirect: Action redirectAddr or redirectUrl. */
static void
adxml_pox_redirect(struct adxml_ctx *c, const xmlNode *acct, enum adxml_ns id,
    const char *elem, enum adxml_outcome outcome)
{
	struct adxml_result *r = c->r;

	r->redirect_target = adxml_child_text(c, acct, id, elem);
	if (r->redirect_target != NULL) {
		r->outcome = outcome;
		return;
	}
	/* exchangelib once looked for RedirectURL; the name is RedirectUrl. */
	if (outcome == ADXML_REDIRECT_URL &&
	    adxml_child(c, acct, id, "RedirectURL") != NULL)
		adxml_fail(c, ADXML_MALFORMED, "ad_incomplete",
		    "Action redirectUrl with RedirectURL, not RedirectUrl "
		    "(names are case-sensitive)");
	else
		adxml_fail(c, ADXML_MALFORMED, "ad_incomplete",
		    "Action %s without %s",
		    outcome == ADXML_REDIRECT_URL ? "redirectUrl"
		                                  : "redirectAddr",
		    elem);
}

/*
 * Classify a POX Autodiscover document (docs/protocol.md §2.2). Response is in
 * the outlook 2006a namespace, except in Microsoft's error sample where it
 * keeps the outer 2006 one; its children are read in Response's namespace.
 */
static void
adxml_pox(struct adxml_ctx *c, const xmlNode *root)
{
	struct adxml_result *r = c->r;
	enum adxml_ns id = NS_POX_OUTLOOK;
	xmlNode *resp, *acct, *n;
	char *action, *q;

	r->format = ADXML_FORMAT_POX;
	if ((resp = adxml_child(c, root, NS_POX_OUTLOOK, "Response")) == NULL) {
		id = NS_POX;
		resp = adxml_child(c, root, NS_POX, "Response");
	}
	if (resp == NULL) {
		if ((n = adxml_child_any(root, "Response")) != NULL)
			adxml_wrong_ns(c, n);
		else
			adxml_fail(c, ADXML_MALFORMED, "ad_incomplete",
			    "Autodiscover has no Response");
		return;
	}
	if ((n = adxml_child(c, resp, id, "Error")) != NULL) {
		adxml_pox_error(c, n, id, ADXML_LEVEL_RESPONSE);
		return;
	}
	r->smtp_address = adxml_child_text(c, adxml_child(c, resp, id, "User"),
	    id, "AutoDiscoverSMTPAddress");
	if ((acct = adxml_child(c, resp, id, "Account")) == NULL) {
		adxml_fail(c, ADXML_MALFORMED, "ad_incomplete",
		    "Response has neither Error nor Account");
		return;
	}
	if ((n = adxml_child(c, acct, id, "Error")) != NULL) {
		adxml_pox_error(c, n, id, ADXML_LEVEL_USER);
		return;
	}
	if ((action = adxml_child_text(c, acct, id, "Action")) == NULL) {
		adxml_fail(c, ADXML_MALFORMED, "ad_incomplete",
		    "Account has no Action");
		return;
	}
	if (strcmp(action, "settings") == 0) {
		r->outcome = ADXML_SETTINGS;
		adxml_pox_protocols(c, acct, id);
	} else if (strcmp(action, "redirectAddr") == 0)
		adxml_pox_redirect(c, acct, id, "RedirectAddr",
		    ADXML_REDIRECT_ADDRESS);
	else if (strcmp(action, "redirectUrl") == 0)
		adxml_pox_redirect(c, acct, id, "RedirectUrl",
		    ADXML_REDIRECT_URL);
	else {
		q = adxml_quote(action);
		adxml_fail(c, ADXML_MALFORMED, "ad_incomplete",
		    "unknown Action '%s'", q);
		free(q);
	}
	free(action);
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
		adxml_soap(c, root);
		return;
	}
	if (adxml_is(c, root, NS_POX, "Autodiscover")) {
		adxml_pox(c, root);
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
		json_string(j, r->notes[i]);
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
