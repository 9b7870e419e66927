/*
 * adxml_pox: owns the POX dialect of Autodiscover (autodiscover.xml,
 * docs/protocol.md §2) — the request for one mailbox, and reading an
 * Autodiscover document answer: EXCH and EXPR protocols, errors,
 * redirects and the EXCH ServerVersion.
 */
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "adxml.h"
#include "adxml_private.h"
#include "xmalloc.h"

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
		    "Action redirectUrl with RedirectURL, not RedirectUrl (names are case-sensitive)");
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
void
adxml_pox_read(struct adxml_ctx *c, const xmlNode *root)
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
