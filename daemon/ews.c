/*
 * ews: owns the EWS protocol knowledge a phone-like probe needs — the
 * GetFolder(calendar) request, reading WWW-Authenticate offers, and
 * classifying an EWS answer. Pure functions over strings and bytes.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ews.h"
#include "xmalloc.h"
#include "xmlsafe.h"

#define EWS_NS_SOAP "http://schemas.xmlsoap.org/soap/envelope/"
#define EWS_NS_M "http://schemas.microsoft.com/exchange/services/2006/messages"
#define EWS_NS_T "http://schemas.microsoft.com/exchange/services/2006/types"
#define EWS_NS_E "http://schemas.microsoft.com/exchange/services/2006/errors"

/*
 * A GetFolder(calendar, IdOnly) answer is about 1 KB; 1 MiB bounds it with
 * room to spare and keeps the parse within the loop's budget
 * (docs/xml-limits.md).
 */
#define EWS_MAX_ANSWER (1u << 20)

/*
 * The request: GetFolder on the calendar (what the phone reads), IdOnly,
 * version Exchange2010 as an attribute of t:RequestServerVersion
 * (docs/protocol.md §8.1). Caller frees.
 */
char *
ews_getfolder_request(void)
{
	return xstrdup(
	    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	    "<soap:Envelope xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:m=\"" EWS_NS_M
	    "\" xmlns:t=\"" EWS_NS_T "\" xmlns:soap=\"" EWS_NS_SOAP "\">\n"
	    "  <soap:Header>\n"
	    "    <t:RequestServerVersion Version=\"Exchange2010\" />\n"
	    "  </soap:Header>\n"
	    "  <soap:Body>\n"
	    "    <m:GetFolder>\n"
	    "      <m:FolderShape>\n"
	    "        <t:BaseShape>IdOnly</t:BaseShape>\n"
	    "      </m:FolderShape>\n"
	    "      <m:FolderIds>\n"
	    "        <t:DistinguishedFolderId Id=\"calendar\" />\n"
	    "      </m:FolderIds>\n"
	    "    </m:GetFolder>\n"
	    "  </soap:Body>\n"
	    "</soap:Envelope>\n");
}

/* The scheme bit of one auth-scheme token of length len, or 0. */
static int
ews_scheme_bit(const char *tok, size_t len)
{
	static const struct {
		const char *name;
		int bit;
	} schemes[] = {
	    {"NTLM", EWS_AUTH_NTLM},
	    {"Negotiate", EWS_AUTH_NEGOTIATE},
	    {"Basic", EWS_AUTH_BASIC},
	    {"Bearer", EWS_AUTH_BEARER},
	};
	size_t i;

	for (i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
		if (strlen(schemes[i].name) == len &&
		    strncasecmp(tok, schemes[i].name, len) == 0)
			return schemes[i].bit;
	}
	return 0;
}

/*
 * The schemes offered by a 401's WWW-Authenticate header values. A value
 * starts with a scheme; RFC 7235 also allows several challenges in one
 * value separated by commas, so a token that follows a comma and is itself
 * followed by a space, a comma or the end is read as a scheme too.
 *
 * Why not libcurl's CURLINFO_HTTPAUTH_AVAIL: it drops every scheme libcurl
 * does not implement (the report's "other", e.g. "offers only other"),
 * reports Negotiate only when libcurl was built with GSS-API, and reads a
 * challenge list by skipping to the next comma even inside a quoted
 * parameter (lib/http.c Curl_http_input_auth), so a realm or Bearer
 * parameter holding ", NTLM " would count as an NTLM offer and turn
 * auth_ntlm_not_offered into a sign-in attempt. Measured with libcurl
 * 7.88.1 (Debian 12) on a loopback 401: it agrees on "Negotiate" + "NTLM"
 * and on "Basic realm=\"x\", NTLM", but gives NTLM for
 * 'Bearer realm="a, NTLM b"' and nothing for "X-Custom" (test-ews.c
 * checks this parser on both). The fuzzer drives it with server bytes
 * (tests/fuzz/fuzz-http.c).
 */
int
ews_auth_schemes(const char *const *values, size_t n)
{
	const char *p, *tok;
	size_t i, len;
	int bits = 0, bit, at_start;

	for (i = 0; i < n; i++) {
		if (values[i] == NULL)
			continue;
		at_start = 1;
		for (p = values[i]; *p != '\0';) {
			while (*p == ' ' || *p == '\t' || *p == ',') {
				if (*p == ',')
					at_start = 1;
				p++;
			}
			tok = p;
			while (*p != '\0' && *p != ' ' && *p != '\t' &&
			    *p != ',' && *p != '=')
				p++;
			len = (size_t)(p - tok);
			if (len == 0) {
				if (*p != '\0')
					p++;
				continue;
			}
			if (at_start && *p != '=') {
				bit = ews_scheme_bit(tok, len);
				bits |= bit != 0 ? bit : EWS_AUTH_OTHER;
			}
			at_start = 0;
			/* Skip a quoted parameter value whole. */
			if (*p == '=' && p[1] == '"') {
				for (p += 2; *p != '\0' && *p != '"'; p++) {
					if (*p == '\\' && p[1] != '\0')
						p++;
				}
				if (*p == '"')
					p++;
			}
		}
	}
	return bits;
}

/* Whether a phone can sign in with these schemes: NTLM (or Negotiate). */
int
ews_auth_phone_ok(int bits)
{
	return (bits & (EWS_AUTH_NTLM | EWS_AUTH_NEGOTIATE)) != 0;
}

/* The offered schemes as "NTLM, Negotiate" or "none". Caller frees. */
char *
ews_auth_names(int bits)
{
	char buf[64] = "";

	if (bits & EWS_AUTH_NEGOTIATE)
		strcat(buf, ", Negotiate");
	if (bits & EWS_AUTH_NTLM)
		strcat(buf, ", NTLM");
	if (bits & EWS_AUTH_BASIC)
		strcat(buf, ", Basic");
	if (bits & EWS_AUTH_BEARER)
		strcat(buf, ", Bearer");
	if (bits & EWS_AUTH_OTHER)
		strcat(buf, ", other");
	return xstrdup(buf[0] != '\0' ? buf + 2 : "none");
}

/* Read t:ServerVersionInfo attributes as "15.0.1497.2 (V2_42)". */
static char *
ews_server_version(const xmlNode *header)
{
	xmlNode *svi;
	char *maj, *min, *bmaj, *bmin, *ver, *out = NULL;

	if ((svi = xmlsafe_child(header, EWS_NS_T, "ServerVersionInfo")) ==
	    NULL)
		return NULL;
	maj = xmlsafe_attr(svi, "MajorVersion");
	min = xmlsafe_attr(svi, "MinorVersion");
	bmaj = xmlsafe_attr(svi, "MajorBuildNumber");
	bmin = xmlsafe_attr(svi, "MinorBuildNumber");
	ver = xmlsafe_attr(svi, "Version");
	if (maj != NULL)
		xasprintf(&out, "%s.%s.%s.%s%s%s%s", maj, min ? min : "0",
		    bmaj ? bmaj : "0", bmin ? bmin : "0", ver ? " (" : "",
		    ver ? ver : "", ver ? ")" : "");
	else if (ver != NULL)
		out = xstrdup(ver);
	free(maj);
	free(min);
	free(bmaj);
	free(bmin);
	free(ver);
	return out;
}

/* Fill ans from a SOAP Fault element. */
static void
ews_read_fault(const xmlNode *fault, struct ews_answer *ans)
{
	xmlNode *detail;

	ans->outcome = EWS_FAULT;
	detail = xmlsafe_child(fault, NULL, "detail");
	ans->response_code =
	    xmlsafe_text(xmlsafe_child(detail, EWS_NS_E, "ResponseCode"));
	if (ans->response_code == NULL)
		ans->response_code =
		    xmlsafe_text(xmlsafe_child(fault, NULL, "faultcode"));
	ans->message = xmlsafe_text(xmlsafe_child(fault, NULL, "faultstring"));
}

/* Fill ans from a GetFolderResponseMessage element. */
static void
ews_read_message(const xmlNode *msg, struct ews_answer *ans)
{
	char *cls;

	cls = xmlsafe_attr(msg, "ResponseClass");
	ans->response_code =
	    xmlsafe_text(xmlsafe_child(msg, EWS_NS_M, "ResponseCode"));
	ans->message =
	    xmlsafe_text(xmlsafe_child(msg, EWS_NS_M, "MessageText"));
	if (cls != NULL && strcmp(cls, "Success") == 0 &&
	    (ans->response_code == NULL ||
	        strcmp(ans->response_code, "NoError") == 0))
		ans->outcome = EWS_SUCCESS;
	else
		ans->outcome = EWS_ERROR;
	free(cls);
}

/*
 * Classify an EWS answer body. Return 0 and fill ans (clear it with
 * ews_answer_clear); the outcome says what it was.
 */
int
ews_parse_answer(const char *body, size_t len, struct ews_answer *ans)
{
	enum xmlsafe_status status;
	xmlDocPtr doc;
	xmlNode *env, *bodyn, *n;

	memset(ans, 0, sizeof *ans);
	ans->outcome = EWS_MALFORMED;
	if ((doc = xmlsafe_parse(body, len, EWS_MAX_ANSWER, &status, NULL)) ==
	    NULL) {
		ans->response_code = xstrdup(xmlsafe_status_name(status));
		return 0;
	}
	ans->outcome = EWS_NOT_EWS;
	env = xmlDocGetRootElement(doc);
	if (!xmlsafe_is(env, EWS_NS_SOAP, "Envelope"))
		goto out;
	ans->server_version =
	    ews_server_version(xmlsafe_child(env, EWS_NS_SOAP, "Header"));
	if ((bodyn = xmlsafe_child(env, EWS_NS_SOAP, "Body")) == NULL)
		goto out;
	if ((n = xmlsafe_child(bodyn, EWS_NS_SOAP, "Fault")) != NULL) {
		ews_read_fault(n, ans);
		goto out;
	}
	n = xmlsafe_child(bodyn, EWS_NS_M, "GetFolderResponse");
	n = xmlsafe_child(n, EWS_NS_M, "ResponseMessages");
	n = xmlsafe_child(n, EWS_NS_M, "GetFolderResponseMessage");
	if (n != NULL)
		ews_read_message(n, ans);
out:
	xmlFreeDoc(doc);
	return 0;
}

/* Free what an answer holds. */
void
ews_answer_clear(struct ews_answer *ans)
{
	free(ans->response_code);
	free(ans->message);
	free(ans->server_version);
	memset(ans, 0, sizeof *ans);
}

/* The outcome's name. */
const char *
ews_outcome_name(enum ews_outcome o)
{
	switch (o) {
	case EWS_SUCCESS:
		return "success";
	case EWS_ERROR:
		return "error";
	case EWS_FAULT:
		return "fault";
	case EWS_NOT_EWS:
		return "not_ews";
	case EWS_MALFORMED:
		return "malformed";
	}
	return "malformed";
}
