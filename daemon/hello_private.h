/*
 * hello_private: the TLS wire constants and the extension bodies the files
 * of the hello module (hello.c, hello_build.c, hello_read.c) share.
 * Nothing outside those files includes it: hello.h is the module's API.
 */
#ifndef EWSPROBED_HELLO_PRIVATE_H
#define EWSPROBED_HELLO_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "hello.h"

/* Record content types (RFC 5246 6.2.1). */
#define HELLO_CONTENT_CCS 20
#define HELLO_CONTENT_ALERT 21
#define HELLO_CONTENT_HANDSHAKE 22
#define HELLO_CONTENT_APPDATA 23

/* Handshake message types (RFC 5246 7.4). */
#define HELLO_HS_HELLO_REQUEST 0
#define HELLO_HS_CLIENT_HELLO 1
#define HELLO_HS_SERVER_HELLO 2
#define HELLO_HS_CERTIFICATE 11
#define HELLO_HS_SERVER_KEY_EXCHANGE 12
#define HELLO_HS_CERTIFICATE_REQUEST 13
#define HELLO_HS_SERVER_HELLO_DONE 14

int hello_extension_body(uint16_t, const uint8_t **, size_t *);

#endif
