/*
 * adxml_private: what the files of the adxml module (adxml.c,
 * adxml_soap.c, adxml_pox.c) share — namespaces, the per-parse state and
 * the element matching and result helpers. Nothing outside those files
 * includes it: adxml.h is the module's API.
 */
#ifndef EWSPROBED_ADXML_PRIVATE_H
#define EWSPROBED_ADXML_PRIVATE_H

#include <libxml/tree.h>

#include "adxml.h"

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

/* Per-parse state. */
struct adxml_ctx {
	struct adxml_result *r;
	unsigned int https_noted; /* bit per enum adxml_ns */
};

/* adxml.c */
char *adxml_escape(const char *);
void adxml_note(struct adxml_result *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
char *adxml_quote(const char *);
void adxml_fail(struct adxml_ctx *, enum adxml_outcome, const char *,
    const char *, ...) __attribute__((format(printf, 4, 5)));
void adxml_wrong_ns(struct adxml_ctx *, const xmlNode *);
int adxml_ns_match(struct adxml_ctx *, const xmlNs *, enum adxml_ns);
int adxml_is(struct adxml_ctx *, const xmlNode *, enum adxml_ns, const char *);
xmlNode *
adxml_child(struct adxml_ctx *, const xmlNode *, enum adxml_ns, const char *);
xmlNode *adxml_child_any(const xmlNode *, const char *);
char *
adxml_ns_attr(struct adxml_ctx *, const xmlNode *, enum adxml_ns, const char *);
char *adxml_text(struct adxml_ctx *, const xmlNode *);
char *adxml_child_text(struct adxml_ctx *, const xmlNode *, enum adxml_ns,
    const char *);

/* adxml_soap.c */
void adxml_soap_read(struct adxml_ctx *, const xmlNode *);

/* adxml_pox.c */
void adxml_pox_read(struct adxml_ctx *, const xmlNode *);

#endif
