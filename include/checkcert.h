/*
 * checkcert: `ewsprobed check-cert` — will phones trust this certificate,
 * before it is installed? A chain from a file (as it will be served), or
 * the chain a (staging) server presents to each profile's own handshake,
 * is judged by chain_evaluate exactly as the probe judges a presented
 * chain, for each name, under each profile's anchors (Front End issuer
 * learned live, web-trusted CAs, public roots) and under the system
 * store; printed like --once (text or JSON) with the phone's error code,
 * the issuer against the anchors, the findings and the fixes. The exit
 * status is --once's (Nagios).
 */
#ifndef EWSPROBED_CHECKCERT_H
#define EWSPROBED_CHECKCERT_H

int checkcert_main(int, char **, const char *);

#endif
