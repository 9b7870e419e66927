/*
 * adxml_soap: owns the SOAP dialect of Autodiscover (autodiscover.svc,
 * docs/protocol.md §1) — the GetUserSettings request a phone-like client
 * sends for one mailbox, and reading a SOAP envelope answer: settings,
 * per-setting errors, ServerVersionInfo, redirects and WCF faults.
 */
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "adxml.h"
#include "adxml_private.h"
#include "log.h"
#include "xmalloc.h"
#include "xmlsafe.h"

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
	    "    <a:RequestedServerVersion>Exchange2010</a:RequestedServerVersion>\n"
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
	    "%s        </a:RequestedSettings>\n"
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
void
adxml_soap_read(struct adxml_ctx *c, const xmlNode *env)
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
			    "SOAP Body holds no GetUserSettingsResponseMessage");
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
		    "%zu UserResponses for one user; the first was used",
		    extra + 1);
	adxml_soap_user(c, ur);
}
