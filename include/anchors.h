/*
 * anchors: `ewsprobed anchors` — what phones trust now, per profile: the
 * Front End pool's issuer (learned by a live handshake, or the profile's
 * frontend_ca), each web-trusted CA and public root, each with its subject
 * as encoded, SHA-256, the SHA-1 thumbprint Windows shows (what
 * Get-CsWebServiceConfiguration's TrustedCACerts and
 * New-CsWebTrustedCACertificate -Thumbprint name) and its expiry. Also the
 * anchor listing check-cert prints.
 */
#ifndef EWSPROBED_ANCHORS_H
#define EWSPROBED_ANCHORS_H

#include "admin.h"

struct json;

int anchors_main(int, char **, const char *);
void anchors_print_profile(const struct admin_profile *, int);
void anchors_json_profile(struct json *, const struct admin_profile *);

#endif
