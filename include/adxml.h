/*
 * adxml: the Autodiscover XML a phone-like client sends and reads — the SOAP
 * GetUserSettings request (autodiscover.svc), the POX request
 * (autodiscover.xml), and the classification of any answer body into what a
 * phone would take (docs/protocol.md §1, §2). Pure functions over bytes:
 * no I/O, so they can be unit-tested and fuzzed.
 *
 * Every answer gets exactly one outcome; nothing is ever half-parsed. A
 * result either carries a full classification or says malformed (with a
 * reason) and nothing else.
 *
 * The module is three files: adxml.c (reading any answer, the result),
 * adxml_soap.c and adxml_pox.c (one dialect each, request and answer).
 */
#ifndef EWSPROBED_ADXML_H
#define EWSPROBED_ADXML_H

#include <stddef.h>

struct json;

/* Autodiscover answers are a few KB; anything above this is not parsed. */
#define ADXML_MAX_BODY (1024u * 1024u)

enum adxml_format {
	ADXML_FORMAT_UNKNOWN, /* neither SOAP nor POX Autodiscover */
	ADXML_FORMAT_SOAP, /* a SOAP 1.1 envelope (autodiscover.svc) */
	ADXML_FORMAT_POX, /* an Autodiscover document (autodiscover.xml) */
};

enum adxml_outcome {
	ADXML_SETTINGS, /* NoError / Action settings: URLs (maybe none) */
	ADXML_REDIRECT_ADDRESS, /* redirect_target: a new SMTP address */
	ADXML_REDIRECT_URL, /* redirect_target: a new Autodiscover URL */
	ADXML_ERROR, /* error_code at error_level */
	ADXML_FAULT, /* a SOAP Fault: error_code = faultcode */
	ADXML_MALFORMED, /* reason says why; nothing else is set */
	ADXML_NOT_AUTODISCOVER, /* HTML, other XML, foreign namespace */
};

enum adxml_level {
	ADXML_LEVEL_NONE,
	ADXML_LEVEL_RESPONSE, /* the whole request failed */
	ADXML_LEVEL_USER, /* the one mailbox's result */
};

/*
 * What a phone would take from one answer. All strings are owned by the
 * result (trimmed, never empty: absent is NULL) and freed with
 * adxml_result_free(); callers only read.
 */
struct adxml_result {
	enum adxml_format format;
	enum adxml_outcome outcome;
	enum adxml_level error_level;
	char *error_code; /* ErrorCode, POX error number, faultcode */
	char *error_message; /* ErrorMessage, Message, faultstring */
	char *internal_ews_url; /* InternalEwsUrl; POX EXCH EwsUrl/ASUrl */
	char *external_ews_url; /* ExternalEwsUrl; POX EXPR EwsUrl/ASUrl */
	char *redirect_target; /* address or URL of a redirect outcome */
	char *server_version; /* ServerVersionInfo Version, else build */
	char *server_build; /* "15.0.160.4" from ServerVersionInfo */
	char *cas_version; /* CasVersion setting */
	char *ews_supported_schemas; /* EwsSupportedSchemas setting */
	char *smtp_address; /* AutoDiscoverSMTPAddress */

	/*
	 * Why an answer is malformed or not Autodiscover (static string):
	 * xml_empty, response_too_large, xml_malformed, xml_dtd_forbidden,
	 * xml_too_complex, ad_incomplete, xml_wrong_namespace, not_autodiscover; else NULL.
	 */
	const char *reason;
	int forbidden; /* carried a DTD / entity declarations */
	int too_large; /* above ADXML_MAX_BODY: not parsed */
	int wrong_namespace; /* Autodiscover names in a foreign namespace */

	char **notes; /* things worth telling a human, in order */
	size_t nnotes;
};

char *adxml_soap_request(const char *, const char *);
char *adxml_pox_request(const char *);

struct adxml_result *adxml_parse(const char *, size_t);
void adxml_result_free(struct adxml_result *);

void adxml_result_json(const struct adxml_result *, struct json *);
char *adxml_result_to_json(const struct adxml_result *, int);

const char *adxml_format_name(enum adxml_format);
const char *adxml_outcome_name(enum adxml_outcome);
const char *adxml_level_name(enum adxml_level);

#endif
