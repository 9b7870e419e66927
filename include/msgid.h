/*
 * msgid: the journal MESSAGE_IDs of ewsprobed's events, in one place.
 *
 * Each was made with `journalctl --new-id128` and has an entry in
 * systemd/ewsprobed.catalog explaining cause and fix. Never reuse or change an
 * ID: admins filter and alert on them.
 */
#ifndef EWSPROBED_MSGID_H
#define EWSPROBED_MSGID_H

#define MSGID_STARTED "2e87efc4ce1342dfadf6932d48c6fb42"
#define MSGID_STOPPING "b07e5b44d86f4aa3813410ba307f3d5f"
#define MSGID_CONFIG_RELOADED "8d776a2c3ead43d1af20e274289c5be9"
#define MSGID_CONFIG_REJECTED "48cee85b37aa406f824da984c9e52933"
#define MSGID_CONFIG_INVALID "7d0f3d98eedb4bceb8836fb87351d913"
#define MSGID_TARGET_DOWN "39f4c06529b34f678a50fe21ce9564d3"
#define MSGID_TARGET_DEGRADED "c8e85b71f8144537b2a34d478ffcbc09"
#define MSGID_TARGET_RECOVERED "71160a706f8b44a9871329ced6201b0c"
#define MSGID_EWS_URL_CHANGED "e3880e2d911e46af9a44645ca9a0d193"
#define MSGID_FE_ISSUER_CHANGED "44993bbf63f941aabbd5e74c69423668"
#define MSGID_FE_PHONE_HELLO "973997d5eafc47b081cd8a9eebb541ad"
#define MSGID_CERT_EXPIRING "eeea44f1eabc42d3bf11e607556b1d50"
#define MSGID_SCHEDULE_BEHIND "17f4b98ab5204ff1925cc6884238a610"
#define MSGID_SCHEDULE_CAUGHT_UP "c0a4e54604f948d49254365663e18ace"

#endif
