"""NTLM for the lab's Exchange double: the server side of the handshake.

Owns: MD4 (RFC 1320; Python's hashlib has none under OpenSSL 3), the
CHALLENGE_MESSAGE a Windows server sends, and the check of an
AUTHENTICATE_MESSAGE's NTLMv2 response against the lab account's password
([MS-NLMP] 3.3.2). A wrong password, user or domain fails the check.
"""
import base64
import hmac
import os
import struct
import time

# NEGOTIATE flags of the CHALLENGE_MESSAGE ([MS-NLMP] 2.2.2.5).
UNICODE = 0x00000001
REQUEST_TARGET = 0x00000004
NTLM = 0x00000200
ALWAYS_SIGN = 0x00008000
TARGET_TYPE_DOMAIN = 0x00010000
EXTENDED_SESSIONSECURITY = 0x00080000
TARGET_INFO = 0x00800000
VERSION = 0x02000000
KEY_128 = 0x20000000
KEY_56 = 0x80000000


def _rotl(x, n):
    """32-bit rotate left."""
    x &= 0xFFFFFFFF
    return ((x << n) | (x >> (32 - n))) & 0xFFFFFFFF


def md4(data):
    """MD4 digest of data (RFC 1320)."""
    msg = bytearray(data)
    bitlen = (8 * len(data)) & 0xFFFFFFFFFFFFFFFF
    msg.append(0x80)
    while len(msg) % 64 != 56:
        msg.append(0)
    msg += struct.pack("<Q", bitlen)
    a, b, c, d = 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476
    for off in range(0, len(msg), 64):
        x = struct.unpack("<16I", msg[off:off + 64])
        aa, bb, cc, dd = a, b, c, d

        def f(x_, y, z):
            return (x_ & y) | (~x_ & z)

        def g(x_, y, z):
            return (x_ & y) | (x_ & z) | (y & z)

        def h(x_, y, z):
            return x_ ^ y ^ z
        for i in range(16):
            k = i
            s = (3, 7, 11, 19)[i % 4]
            if i % 4 == 0:
                a = _rotl(a + f(b, c, d) + x[k], s)
            elif i % 4 == 1:
                d = _rotl(d + f(a, b, c) + x[k], s)
            elif i % 4 == 2:
                c = _rotl(c + f(d, a, b) + x[k], s)
            else:
                b = _rotl(b + f(c, d, a) + x[k], s)
        for i in range(16):
            k = (i % 4) * 4 + i // 4
            s = (3, 5, 9, 13)[i % 4]
            if i % 4 == 0:
                a = _rotl(a + g(b, c, d) + x[k] + 0x5A827999, s)
            elif i % 4 == 1:
                d = _rotl(d + g(a, b, c) + x[k] + 0x5A827999, s)
            elif i % 4 == 2:
                c = _rotl(c + g(d, a, b) + x[k] + 0x5A827999, s)
            else:
                b = _rotl(b + g(c, d, a) + x[k] + 0x5A827999, s)
        order = (0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15)
        for i in range(16):
            k = order[i]
            s = (3, 9, 11, 15)[i % 4]
            if i % 4 == 0:
                a = _rotl(a + h(b, c, d) + x[k] + 0x6ED9EBA1, s)
            elif i % 4 == 1:
                d = _rotl(d + h(a, b, c) + x[k] + 0x6ED9EBA1, s)
            elif i % 4 == 2:
                c = _rotl(c + h(d, a, b) + x[k] + 0x6ED9EBA1, s)
            else:
                b = _rotl(b + h(c, d, a) + x[k] + 0x6ED9EBA1, s)
        a = (a + aa) & 0xFFFFFFFF
        b = (b + bb) & 0xFFFFFFFF
        c = (c + cc) & 0xFFFFFFFF
        d = (d + dd) & 0xFFFFFFFF
    return struct.pack("<4I", a, b, c, d)


def _av(av_id, value):
    """One AV_PAIR of target info."""
    return struct.pack("<HH", av_id, len(value)) + value


def challenge(domain, computer, dns_domain):
    """A CHALLENGE_MESSAGE; returns (base64 text, server challenge)."""
    server_challenge = os.urandom(8)
    target = domain.upper().encode("utf-16-le")
    filetime = int((time.time() + 11644473600) * 10000000)
    info = (_av(2, domain.upper().encode("utf-16-le")) +
            _av(1, computer.upper().encode("utf-16-le")) +
            _av(4, dns_domain.encode("utf-16-le")) +
            _av(3, f"{computer}.{dns_domain}".encode("utf-16-le")) +
            _av(7, struct.pack("<Q", filetime)) + _av(0, b""))
    flags = (UNICODE | REQUEST_TARGET | NTLM | ALWAYS_SIGN |
             TARGET_TYPE_DOMAIN | EXTENDED_SESSIONSECURITY | TARGET_INFO |
             VERSION | KEY_128 | KEY_56)
    header_len = 56
    msg = (b"NTLMSSP\0" + struct.pack("<I", 2) +
           struct.pack("<HHI", len(target), len(target), header_len) +
           struct.pack("<I", flags) + server_challenge + b"\0" * 8 +
           struct.pack("<HHI", len(info), len(info),
                       header_len + len(target)) +
           bytes([10, 0]) + struct.pack("<H", 20348) + b"\0\0\0\x0f")
    return base64.b64encode(msg + target + info).decode(), server_challenge


def message_type(token):
    """The NTLM message type (1, 2, 3) of a base64 token, or 0."""
    try:
        raw = base64.b64decode(token, validate=True)
    except ValueError:
        return 0
    if len(raw) < 12 or raw[:8] != b"NTLMSSP\0":
        return 0
    return struct.unpack("<I", raw[8:12])[0]


def _field(raw, off):
    """A security buffer's bytes at header offset off."""
    length, _, where = struct.unpack("<HHI", raw[off:off + 8])
    if where + length > len(raw):
        raise ValueError("buffer outside the message")
    return raw[where:where + length]


def verify(token, server_challenge, account_domain, account_user, password):
    """Check an AUTHENTICATE_MESSAGE (base64). Returns (ok, user, domain).

    ok is True only for an NTLMv2 response computed from the lab password
    for the lab account; NTLMv1 and anonymous logons are refused.
    """
    try:
        raw = base64.b64decode(token, validate=True)
        if raw[:8] != b"NTLMSSP\0" or struct.unpack("<I", raw[8:12])[0] != 3:
            return False, "", ""
        nt = _field(raw, 20)
        domain = _field(raw, 28).decode("utf-16-le")
        user = _field(raw, 36).decode("utf-16-le")
    except (ValueError, struct.error, UnicodeDecodeError):
        return False, "", ""
    if len(nt) <= 24:
        return False, user, domain
    if (user.lower() != account_user.lower() or
            domain.lower() != account_domain.lower()):
        return False, user, domain
    nt_hash = md4(password.encode("utf-16-le"))
    key = hmac.new(nt_hash, (user.upper() + domain).encode("utf-16-le"),
                   "md5").digest()
    proof, blob = nt[:16], nt[16:]
    want = hmac.new(key, server_challenge + blob, "md5").digest()
    return hmac.compare_digest(proof, want), user, domain
