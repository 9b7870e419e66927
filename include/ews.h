/*
 * ews: the Exchange Web Services side of the phone's path — the GetFolder
 * request a phone-like client sends, what a 401 offers, and what an EWS
 * answer means. The functions here are pure (no I/O) so they can be tested
 * and fuzzed on bytes.
 */
#ifndef EWSPROBED_EWS_H
#define EWSPROBED_EWS_H

#include <stddef.h>

/* Authentication schemes a 401 offered (WWW-Authenticate), as bits. */
#define EWS_AUTH_NTLM 0x01
#define EWS_AUTH_NEGOTIATE 0x02
#define EWS_AUTH_BASIC 0x04
#define EWS_AUTH_BEARER 0x08
#define EWS_AUTH_OTHER 0x10

enum ews_outcome {
	EWS_SUCCESS, /* GetFolder ResponseClass="Success" NoError */
	EWS_ERROR, /* a ResponseMessage with ResponseClass Error */
	EWS_FAULT, /* a SOAP fault */
	EWS_NOT_EWS, /* well-formed, but not an EWS answer */
	EWS_MALFORMED, /* not well-formed, too large, or forbidden */
};

struct ews_answer {
	enum ews_outcome outcome;
	char *response_code; /* ResponseCode, or faultcode, or NULL */
	char *message; /* MessageText or faultstring, or NULL */
	char *server_version; /* from ServerVersionInfo, or NULL */
};

char *ews_getfolder_request(void);
int ews_auth_schemes(const char *const *, size_t);
int ews_auth_phone_ok(int);
char *ews_auth_names(int);
int ews_parse_answer(const char *, size_t, struct ews_answer *);
void ews_answer_clear(struct ews_answer *);
const char *ews_outcome_name(enum ews_outcome);

#endif
