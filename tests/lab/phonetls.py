"""What a lab host does to a client before Python's TLS sees it: the
behaviours that depend on the client's ClientHello (docs/phone-tls-client.md).

Owns: reading a ClientHello without consuming it (MSG_PEEK; its SNI and
cipher suites), resetting the connection of a client that sends no SNI (as
http.sys does with SNI-only bindings), and handing a client that offers
3DES or RC4 suites to a GnuTLS server (gnutls-serv), because Debian 12's
OpenSSL, and so Python's ssl, has none of those suites. Scenario keys of a
host (tests/lab/README.md):

  nosni = "reset"             a client without SNI gets a TCP reset
  nosni = { issuer = ... }    a client without SNI gets this certificate
                              (the default binding), others the host's
  legacy = "PRIORITY"         a hello offering RC4 or 3DES is served by
                              gnutls-serv --priority PRIORITY
  ciphers = "OPENSSL LIST"    the suites the host's own TLS accepts

A node of a host (`nodes`, one server behind the name) may set any of
them for itself: its keys override the host's (exchange.servers).
"""
import select
import socket
import struct
import subprocess
import threading
import time

# TLS_RSA_WITH_RC4_128_MD5, _RC4_128_SHA, _3DES_EDE_CBC_SHA (IANA).
LEGACY_SUITES = {0x0004, 0x0005, 0x000A}
PEEK_MAX = 16384 + 5
PEEK_TIMEOUT = 5.0


def peek_hello(sock):
    """The client's first ClientHello as {"sni": bool, "suites": [...]},
    read with MSG_PEEK (the bytes stay for the TLS server), or None when
    the client sends no parsable ClientHello in time."""
    deadline = time.monotonic() + PEEK_TIMEOUT
    data = b""
    while time.monotonic() < deadline:
        left = deadline - time.monotonic()
        r, _, _ = select.select([sock], [], [], max(left, 0))
        if not r:
            return None
        data = sock.recv(PEEK_MAX, socket.MSG_PEEK)
        if len(data) < 5 or data[0] != 22:
            if len(data) >= 5 or not data:
                return None
            continue
        need = 5 + struct.unpack("!H", data[3:5])[0]
        if len(data) >= need:
            return parse_hello(data[5:need])
        if len(data) >= PEEK_MAX:
            return None
        time.sleep(0.01)
    return None


def parse_hello(body):
    """Parse one ClientHello handshake message (within one record)."""
    try:
        if body[0] != 1:
            return None
        p = 4 + 2 + 32
        p += 1 + body[p]
        n = struct.unpack("!H", body[p:p + 2])[0]
        suites = [struct.unpack("!H", body[p + 2 + i:p + 4 + i])[0]
                  for i in range(0, n, 2)]
        p += 2 + n
        p += 1 + body[p]
        sni = False
        if p + 2 <= len(body):
            end = p + 2 + struct.unpack("!H", body[p:p + 2])[0]
            p += 2
            while p + 4 <= end:
                etype, elen = struct.unpack("!HH", body[p:p + 4])
                sni = sni or etype == 0
                p += 4 + elen
        return {"sni": sni, "suites": suites}
    except (IndexError, struct.error):
        return None


def reset(sock):
    """Close with a TCP reset (SO_LINGER 0), as http.sys does."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                    struct.pack("ii", 1, 0))
    sock.close()


def splice(client, port):
    """Relay client <-> 127.0.0.1:port until either side closes."""
    try:
        upstream = socket.create_connection(("127.0.0.1", port), timeout=5)
    except OSError:
        reset(client)
        return
    socks = [client, upstream]
    try:
        while True:
            r, _, _ = select.select(socks, [], [], 30)
            if not r:
                break
            for s in r:
                data = s.recv(16384)
                if not data:
                    return
                (upstream if s is client else client).sendall(data)
    except OSError:
        pass
    finally:
        upstream.close()


class Legacy:
    """The gnutls-serv processes of the scenario's legacy hosts, one
    loopback port each (the lab's network namespace is private)."""

    def __init__(self):
        self.procs = {}   # host name -> (Popen, port)
        self.lock = threading.Lock()

    def start(self, scenario, pki):
        """Serve every host with a legacy key; stop the others."""
        self.stop()
        port = 14430
        for name, host in sorted(scenario["hosts"].items()):
            if "legacy" not in host:
                continue
            files = pki.leaf(host["cert"])
            p = subprocess.Popen(
                ["gnutls-serv", "-q", "-a", "--port", str(port),
                 "--x509certfile", files["chain"],
                 "--x509keyfile", files["key"],
                 "--priority=" + host["legacy"]],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
            self.procs[name] = (p, port)
            wait_listening(port)
            port += 1

    def port(self, name):
        """The gnutls-serv port for host name, or None."""
        with self.lock:
            entry = self.procs.get(name)
        return entry[1] if entry else None

    def stop(self):
        """Stop every gnutls-serv, bounded."""
        with self.lock:
            procs, self.procs = self.procs, {}
        for p, _ in procs.values():
            p.terminate()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def wait_listening(port, timeout=10.0):
    """Wait until something accepts on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"gnutls-serv did not listen on port {port}")


def before_tls(vhost, sock, legacy):
    """What the host does before its own TLS: "tls" (go on), "reset" or
    "legacy" (the connection was handled here), with the hello seen."""
    conf = vhost.conf
    if conf.get("nosni") != "reset" and "legacy" not in conf:
        return "tls", None
    hello = peek_hello(sock)
    if hello is None:
        return "tls", None
    if conf.get("nosni") == "reset" and not hello["sni"]:
        reset(sock)
        return "reset", hello
    port = legacy.port(vhost.name)
    if port is not None and LEGACY_SUITES & set(hello["suites"]):
        splice(sock, port)
        return "legacy", hello
    return "tls", hello

