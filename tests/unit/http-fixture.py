#!/usr/bin/python3
"""Loopback HTTP(S) fixture for test-http: behaviours selected by path.

Usage: http-fixture.py DIR. Generates a CA, a server certificate for
fixture.test and a second, unrelated CA in DIR with the openssl CLI, serves
HTTPS (TLS 1.0-1.3), HTTPS (TLS 1.2 only) and HTTP on 127.0.0.1 ephemeral
ports, writes "NAME PORT" lines to DIR/ports when ready, and logs one line
per request ("path authorization-scheme") to DIR/requests. It exits when its
parent dies (stdin closes) or after 120 s.
"""
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DIR = sys.argv[1]
LOG_LOCK = threading.Lock()


def openssl(*args):
    """Run the openssl CLI quietly."""
    subprocess.run(["openssl", *args], check=True, cwd=DIR,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_pki():
    """A CA, a leaf for fixture.test signed by it, and another CA."""
    for ca in ("ca", "otherca"):
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                "-subj", f"/CN=test-http {ca}", "-keyout", f"{ca}.key",
                "-out", f"{ca}.pem")
    with open(os.path.join(DIR, "leaf.ext"), "w") as f:
        f.write("subjectAltName=DNS:fixture.test\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=fixture.test",
            "-keyout", "leaf.key", "-out", "leaf.csr")
    openssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey",
            "ca.key", "-CAcreateserial", "-days", "2", "-extfile", "leaf.ext",
            "-out", "leaf.pem")


class Handler(BaseHTTPRequestHandler):
    """Answers by path; see the module docstring."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def record(self):
        """Log the path and the scheme of any Authorization header."""
        auth = self.headers.get("Authorization", "")
        with LOG_LOCK, open(os.path.join(DIR, "requests"), "a") as f:
            f.write(f"{self.path} {auth.split(' ')[0] if auth else '-'}\n")

    def send(self, code, body=b"", headers=()):
        """Send a complete response."""
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.record()
        self.route()

    def do_POST(self):
        self.record()
        n = int(self.headers.get("Content-Length", "0"))
        self.body = self.rfile.read(n)
        self.route()

    def route(self):
        p = self.path
        if p == "/ok":
            self.send(200, b"hello", [("Content-Type", "text/plain")])
        elif p == "/echo":
            self.send(200, getattr(self, "body", b""),
                      [("X-Method", self.command)])
        elif p in ("/401", "/ntlm"):
            self.send(401, b"", [("WWW-Authenticate", "Negotiate"),
                                 ("WWW-Authenticate", "NTLM")])
        elif p == "/302":
            self.send(302, b"", [("Location", "https://elsewhere.test/"
                                  "autodiscover/autodiscover.xml")])
        elif p == "/big":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"x" * 65536
            try:
                for _ in range(128):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except OSError:
                pass
            self.close_connection = True
        elif p == "/biglen":
            self.send_response(200)
            self.send_header("Content-Length", "5368709120")
            self.end_headers()
            self.close_connection = True
        elif p == "/hdrflood":
            self.send_response(200)
            try:
                for i in range(3000):
                    self.send_header(f"X-Flood-{i}", "y" * 80)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:
                pass
            self.close_connection = True
        elif p == "/slow":
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            try:
                for _ in range(60):
                    self.wfile.write(b"z")
                    self.wfile.flush()
                    time.sleep(0.5)
            except OSError:
                pass
            self.close_connection = True
        elif p == "/stall":
            self.send_response(200)
            self.send_header("Content-Length", "10")
            self.end_headers()
            self.wfile.flush()
            time.sleep(20)
            self.close_connection = True
        else:
            self.send(404, b"not found")


def serve(ctx):
    """Start a threaded server (TLS when ctx) on an ephemeral port."""
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    if ctx is not None:
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv.server_address[1]


def tls_context(minimum):
    """A server context with the fixture's chain and a minimum version."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    ctx.minimum_version = minimum
    ctx.load_cert_chain(os.path.join(DIR, "leaf.pem"),
                        os.path.join(DIR, "leaf.key"))
    return ctx


def main():
    make_pki()
    ports = {
        "https": serve(tls_context(ssl.TLSVersion.TLSv1)),
        "https12": serve(tls_context(ssl.TLSVersion.TLSv1_2)),
        "http": serve(None),
    }
    tmp = os.path.join(DIR, "ports.tmp")
    with open(tmp, "w") as f:
        for k, v in ports.items():
            f.write(f"{k} {v}\n")
    os.rename(tmp, os.path.join(DIR, "ports"))
    # Exit with the parent (stdin is a pipe it holds), or after 120 s.
    threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)),
                     daemon=True).start()
    time.sleep(120)
    os._exit(0)


main()
