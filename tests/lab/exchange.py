"""The lab's Exchange and Lync test double: HTTPS and HTTP servers on each
scenario host's loopback address that answer as Exchange does
(docs/protocol.md §1-§3, §8).

Owns: one listener per (address, port) and the per-connection TLS (the
host's certificate chain and TLS version range, chosen when a connection
arrives, so a scenario switch changes the next handshake without closing a
listener), routing each request to its endpoint kind (SOAP and POX
Autodiscover, the HTTP redirect method, EWS behind a real NTLM handshake,
plain statuses and redirects, hostile behaviours), and two logs: one JSON
object per request (never a credential) and one per TLS handshake.
The answers' XML lives in answers.py, NTLM in ntlm.py.
"""
import base64
import io
import json
import re
import socket
import socketserver
import ssl
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import answers
import ntlm
import phonetls

TLS_VERSIONS = {
    "1.0": ssl.TLSVersion.TLSv1,
    "1.1": ssl.TLSVersion.TLSv1_1,
    "1.2": ssl.TLSVersion.TLSv1_2,
    "1.3": ssl.TLSVersion.TLSv1_3,
}
MAX_BODY = 1 << 20
EMAIL_RE = re.compile(rb"<(?:[\w-]+:)?(?:Mailbox|EMailAddress)>\s*([^<\s]+)")
HOSTILE = ("slow_drip", "stall", "oversized", "huge_length", "header_flood",
           "reset", "malformed_xml", "html", "billion_laughs", "quadratic",
           "xxe", "external_dtd", "deep_nesting", "long_names",
           "many_attributes", "many_namespaces")


class VHost:
    """What one (address, port) serves in the current scenario."""

    def __init__(self, name, conf, port, ctx):
        self.name, self.conf, self.port, self.ctx = name, conf, port, ctx
        self.paths = conf.get("http_paths" if port == 80 else "paths", {})


class QuietServer(ThreadingHTTPServer):
    """A threaded plain-TCP server; TLS is wrapped per connection."""
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def handle_error(self, request, client_address):
        pass

    def server_bind(self):
        """Bind without HTTPServer's getfqdn(): its reverse lookups would
        show in the lab's DNS query log."""
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


def servers(host):
    """The servers of one scenario host: the host itself, then each of its
    `nodes` (a table that overrides the host's keys: address, cert, tls,
    connect...), as a CAS array publishes several A records for one
    name."""
    out = [host]
    for node in host.get("nodes", []):
        merged = {k: v for k, v in host.items() if k != "nodes"}
        merged.update(node)
        out.append(merged)
    return out


class Lab:
    """The running double: scenario, virtual hosts, listeners, logs."""

    def __init__(self, pki, request_log, tls_log):
        self.pki = pki
        self.request_log = request_log
        self.tls_log = tls_log
        self.log_lock = threading.Lock()
        # (address, port) -> ("http", server) or ("hole", sockets)
        self.listeners = {}
        self.state = (None, {})   # (scenario, {(address, port): VHost})
        self.legacy = phonetls.Legacy()

    def log(self, path, record):
        """Append one JSON record to a log."""
        with self.log_lock, open(path, "a") as f:
            f.write(json.dumps(record) + "\n")

    def start(self, scenario):
        """Serve scenario. Listeners that stay keep running; the next
        connection to them sees the new certificate and answers."""
        vhosts, holes = {}, set()
        for name, conf in scenario["hosts"].items():
            for host in servers(conf):
                addr = host["address"]
                if host.get("connect") == "blackhole":
                    holes.add((addr, 443))
                    continue
                if host.get("https", True):
                    vhosts[(addr, 443)] = VHost(name, host, 443,
                                                self._tls(host))
                if host.get("http", False):
                    vhosts[(addr, 80)] = VHost(name, host, 80, None)
        self.legacy.start(scenario, self.pki)
        self.state = (scenario, vhosts)
        want = {k: "http" for k in vhosts}
        want.update({k: "hole" for k in holes})
        for key in list(self.listeners):
            if want.get(key) != self.listeners[key][0]:
                self._close(self.listeners.pop(key))
        for key, kind in want.items():
            if key not in self.listeners:
                self.listeners[key] = (kind, self._listen(key) if
                                       kind == "http" else _blackhole(key))

    def _tls(self, host, cert=None):
        """A server TLS context for host's certificate (or cert), versions
        and ciphers; with nosni = {cert}, clients without SNI get that."""
        files = self.pki.leaf(cert or host["cert"])
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        # Old clients (TLS 1.0, SHA-1, RSA-1024) must be servable.
        ctx.set_ciphers(host.get("ciphers", "DEFAULT:@SECLEVEL=0"))
        lo, hi = host.get("tls", ["1.0", "1.3"])
        ctx.minimum_version = TLS_VERSIONS[lo]
        ctx.maximum_version = TLS_VERSIONS[hi]
        ctx.options |= ssl.OP_NO_TICKET
        ctx.load_cert_chain(files["chain"], files["key"])
        if cert is None and isinstance(host.get("nosni"), dict):
            default = self._tls(host, host["nosni"])
            ctx.sni_callback = lambda s, name, c: _default_binding(
                s, name, default)
        else:
            ctx.sni_callback = _remember_sni
        return ctx

    def _listen(self, key):
        """Start one threaded server on key = (address, port)."""
        srv = QuietServer(key, ExchangeHandler)
        srv.lab, srv.key = self, key
        threading.Thread(target=srv.serve_forever, args=(0.05,),
                         daemon=True).start()
        return srv

    @staticmethod
    def _close(listener):
        """Stop one listener."""
        kind, obj = listener
        if kind == "http":
            obj.shutdown()
            obj.server_close()
        else:
            for s in obj:
                s.close()

    def stop(self):
        """Stop every listener and gnutls-serv."""
        for key in list(self.listeners):
            self._close(self.listeners.pop(key))
        self.legacy.stop()


def _remember_sni(sslsock, name, ctx):
    """sni_callback: keep the client's server name on its socket."""
    sslsock.lab_sni = name


def _default_binding(sslsock, name, default):
    """sni_callback: a client without SNI gets the default binding."""
    sslsock.lab_sni = name
    if name is None:
        sslsock.context = default


def _blackhole(key):
    """A listener whose accept queue is full, so connects never complete
    (SYNs are dropped): docs/security.md §7 row 27."""
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(key)
    lsock.listen(0)
    fillers = []
    for _ in range(2):
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(key)
        fillers.append(c)
    return [lsock] + fillers


class ExchangeHandler(BaseHTTPRequestHandler):
    """One connection to a lab host; answers per the host's paths."""
    protocol_version = "HTTP/1.1"
    timeout = 30

    def log_message(self, *args):
        pass

    def version_string(self):
        """The Server header IIS sends."""
        return "Microsoft-IIS/10.0"

    def setup(self):
        """Pick the virtual host, then do the TLS handshake (logged)."""
        self.lab = self.server.lab
        self.scenario, vhosts = self.lab.state
        self.vhost = vhosts.get(self.server.key)
        self.ntlm_challenge = None
        self.failed = self.vhost is None
        self.sni = None
        if self.vhost is not None and self.vhost.ctx is not None:
            self.request.settimeout(10)
            record = {"time": time.time(), "scenario": self.scenario["name"],
                      "server": self.vhost.name,
                      "address": self.server.key[0], "port": 443}
            action, hello = phonetls.before_tls(self.vhost, self.request,
                                                self.lab.legacy)
            if action != "tls":
                self.failed = True
                record.update(ok=False, error=action, sni=hello["sni"])
                self.lab.log(self.lab.tls_log, record)
                # The connection is closed or relayed: nothing to read.
                self.rfile, self.wfile = io.BytesIO(), io.BytesIO()
                return
            try:
                self.request = self.vhost.ctx.wrap_socket(self.request,
                                                          server_side=True)
                self.sni = getattr(self.request, "lab_sni", None)
                record.update(ok=True, sni=self.sni,
                              tls=self.request.version(),
                              cipher=self.request.cipher()[0],
                              resumed=self.request.session_reused)
            except (ssl.SSLError, OSError) as e:
                self.failed = True
                record.update(ok=False, error=getattr(e, "reason", None) or
                              str(e))
            self.lab.log(self.lab.tls_log, record)
        super().setup()

    def handle(self):
        if self.failed:
            return
        try:
            super().handle()
        except (ConnectionError, ssl.SSLError, socket.timeout):
            pass

    def finish(self):
        """Close our TLS socket too (the server only closes the raw one)."""
        try:
            super().finish()
        except OSError:
            pass
        if isinstance(self.request, ssl.SSLSocket):
            self.request.close()

    def record(self, status):
        """Log this request: the Authorization scheme, never its value."""
        auth = self.headers.get("Authorization")
        tls = (self.request.version()
               if isinstance(self.request, ssl.SSLSocket) else None)
        self.lab.log(self.lab.request_log, {
            "time": time.time(), "scenario": self.scenario["name"],
            "method": self.command, "host": self.headers.get("Host"),
            "server": self.vhost.name, "address": self.server.key[0],
            "port": self.vhost.port, "path": self.path, "sni": self.sni,
            "authorization": auth.split(" ")[0] if auth else None,
            "cookie": "Cookie" in self.headers,
            "user_agent": self.headers.get("User-Agent"),
            "body_bytes": len(self.body), "email": self.email,
            "tls": tls, "status": status})

    def send(self, status, body=b"", headers=(), close=False):
        """Send a whole response and log it."""
        if isinstance(body, str):
            body = body.encode()
        self.record(status)
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        if close or self.close_connection:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def read_body(self):
        """Read the request body, Content-Length or chunked, at most
        MAX_BODY bytes (a longer one closes the connection after)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = b""
            while True:
                size = int(self.rfile.readline(100).split(b";")[0] or b"0",
                           16)
                if size == 0:
                    while self.rfile.readline(1000) not in (b"\r\n", b"\n",
                                                            b""):
                        pass
                    return body
                if len(body) + size > MAX_BODY:
                    self.close_connection = True
                    return body
                body += self.rfile.read(size)
                self.rfile.readline(10)
        n = int(self.headers.get("Content-Length", "0") or 0)
        if n > MAX_BODY:
            self.close_connection = True
        return self.rfile.read(min(n, MAX_BODY)) if n > 0 else b""

    def do_GET(self):
        self.route()

    do_POST = do_HEAD = do_GET

    def route(self):
        """Answer by the path table of this host and port."""
        try:
            self.body = self.read_body()
        except ValueError:
            self.body, self.email = b"", None
            self.send(400, "Bad Request", close=True)
            return
        m = EMAIL_RE.search(self.body)
        self.email = m.group(1).decode(errors="replace") if m else None
        path = self.path.split("?")[0]
        ep = self.vhost.paths.get(path) or self.vhost.paths.get(path.lower())
        if ep is None:
            self.send(404, "<html><body>404 - File or directory not found."
                      "</body></html>", [("Content-Type", "text/html")])
            return
        getattr(self, "ep_" + ep["kind"])(ep)

    def offers(self, ep, default):
        """The WWW-Authenticate values an endpoint sends ([] = none)."""
        auth = ep.get("auth", default)
        if auth == "none":
            return []
        if auth == "ntlm":
            return ["Negotiate", "NTLM"]
        return list(auth)

    def authenticate(self, offered, extra=()):
        """Authenticate as IIS does; True once the client proved the lab
        password (NTLMv2 or, if offered, Basic). Sends the 401 itself
        otherwise."""
        if not offered:
            return True
        schemes = {o.split(" ")[0] for o in offered}
        mb = self.scenario["mailbox"]
        auth = self.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        token = token.strip()
        if scheme in ("NTLM", "Negotiate") and schemes & {"NTLM",
                                                          "Negotiate"}:
            mtype = ntlm.message_type(token)
            if mtype == 1:
                text, self.ntlm_challenge = ntlm.challenge(
                    "CONTOSO", "CAS01", "contoso.com")
                self.send(401, "", [("WWW-Authenticate", f"{scheme} {text}"),
                                    *extra])
                return False
            if mtype == 3 and self.ntlm_challenge is not None:
                domain, _, user = mb["account"].partition("\\")
                ok, _, _ = ntlm.verify(token, self.ntlm_challenge, domain,
                                       user, mb["password"])
                self.ntlm_challenge = None
                if ok:
                    return True
        elif scheme == "Basic" and "Basic" in schemes:
            try:
                user, _, pw = base64.b64decode(token).decode().partition(":")
            except ValueError:
                user = pw = None
            if (user or "").lower() in (mb["account"].lower(),
                                        mb["address"].lower()) and \
                    pw == mb["password"]:
                return True
        self.send(401, "", [("WWW-Authenticate", o) for o in offered] +
                  list(extra) + [("Content-Type", "text/html")])
        return False

    def known_address(self, ep):
        """Whether the endpoint knows the requested e-mail address: always
        when it lists no `addresses` or the request names none."""
        known = ep.get("addresses")
        if self.email is None or known is None:
            return True
        return self.email.lower() in (a.lower() for a in known)

    def ep_soap(self, ep):
        """SOAP Autodiscover (GetUserSettings)."""
        if not self.authenticate(self.offers(ep, "ntlm"), SOAP_HEADERS):
            return
        kind = ep.get("answer", "settings")
        if kind == "settings" and not self.known_address(ep):
            kind = "invalid_user"
        # An endpoint may give its own EWS URLs ("autodiscover" table).
        urls = ep.get("autodiscover", self.scenario.get("autodiscover", {}))
        body = answers.soap_answer(kind, urls, ep.get("target", ""))
        self.send(200, body, [("Content-Type", "text/xml; charset=utf-8")])

    def ep_pox(self, ep):
        """POX Autodiscover (autodiscover.xml); a GET gets error 600."""
        if not self.authenticate(self.offers(ep, "ntlm"), SOAP_HEADERS):
            return
        kind = ep.get("answer", "settings")
        if self.command != "POST":
            kind = "error600"
        elif kind == "settings" and not self.known_address(ep):
            kind = "error500"
        urls = ep.get("autodiscover", self.scenario.get("autodiscover", {}))
        body = answers.pox_answer(kind, urls, ep.get("target", ""))
        self.send(200, body, [("Content-Type", "text/xml; charset=utf-8")])

    def ep_ews(self, ep):
        """EWS: 401 with the offered schemes, NTLM, then GetFolder."""
        if not self.authenticate(self.offers(ep, "ntlm")):
            return
        status, body = answers.ews_answer(ep.get("answer", "success"))
        if "fault_text" in ep:
            # Hostile: the fault's words as the scenario gives them, put
            # into the XML raw (so "&#10;" arrives as a line break).
            body = body.replace("The request failed schema validation.",
                                ep["fault_text"])
        self.send(status, body, [("Content-Type", "text/xml; charset=utf-8"),
                                 ("X-Powered-By", "ASP.NET")])

    def ep_redirect(self, ep):
        """A redirect (the HTTP redirect method, or a 302 on POST)."""
        self.send(ep.get("status", 302), "",
                  [("Location", ep["location"])])

    def ep_status(self, ep):
        """A plain status with an optional body."""
        self.send(ep.get("status", 200), ep.get("body", ""),
                  [("Content-Type", ep.get("type", "text/html"))])

    def ep_hostile(self, ep):
        """Misbehaviours a scenario can switch on (README: hostile)."""
        b = ep["behaviour"]
        if b not in HOSTILE:
            raise ValueError(f"unknown hostile behaviour {b}")
        try:
            getattr(self, "hostile_" + b, self.hostile_xml)(ep)
        except OSError:
            pass
        self.close_connection = True

    def start_body(self, headers):
        """Log a 200 and send its headers; the body is the caller's."""
        self.record(200)
        self.send_response(200)
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.flush()

    def hostile_slow_drip(self, ep):
        """1 byte per second of a 100 kB body, for two minutes."""
        self.start_body([("Content-Type", "text/xml"),
                         ("Content-Length", "100000")])
        for _ in range(120):
            self.wfile.write(b"<")
            self.wfile.flush()
            time.sleep(1)

    def hostile_stall(self, ep):
        """Headers, then nothing for 60 s."""
        self.start_body([("Content-Type", "text/xml"),
                         ("Content-Length", "1000")])
        time.sleep(60)

    def hostile_oversized(self, ep):
        """An endless chunked body (64 KiB chunks, 64 MiB)."""
        self.start_body([("Content-Type", "text/xml"),
                         ("Transfer-Encoding", "chunked")])
        chunk = b"<x>" + b"a" * 65533
        for _ in range(1024):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))

    def hostile_huge_length(self, ep):
        """Content-Length: 5368709120, then 60 s of silence."""
        self.start_body([("Content-Type", "text/xml"),
                         ("Content-Length", "5368709120")])
        time.sleep(60)

    def hostile_header_flood(self, ep):
        """20,000 headers (1.4 MB) and no end of them."""
        self.record(200)
        self.send_response(200)
        for i in range(20000):
            self.send_header(f"X-Flood-{i}", "f" * 60)
        self.end_headers()

    def hostile_reset(self, ep):
        """A TCP RST instead of an answer."""
        self.record(0)
        sock = self.request
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                        struct.pack("ii", 1, 0))

    def hostile_html(self, ep):
        """A web page where XML was expected."""
        self.send(200, "<!DOCTYPE html><html><body>Welcome to Contoso"
                  "</body></html>", [("Content-Type", "text/html")])

    def hostile_xml(self, ep):
        """A hostile XML body (answers.hostile_body)."""
        target = ep.get("target", {
            "xxe": "file:///run/contoso/lab/canary.txt",
            "external_dtd": "http://hostile.contoso.com/x.dtd"}.get(
                ep["behaviour"], ""))
        self.send(200, answers.hostile_body(ep["behaviour"], target),
                  [("Content-Type", "text/xml; charset=utf-8")])


# What Exchange 2013+ adds to an Autodiscover 401 (docs/protocol.md §1.1).
SOAP_HEADERS = (("X-SOAP-Enabled", "True"), ("X-WSSecurity-Enabled", "True"),
                ("X-OAuth-Enabled", "True"))
