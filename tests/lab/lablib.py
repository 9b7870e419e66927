"""Helpers for tests that run inside the lab (Python standard library only).

Owns: what a test script inside `tests/lab/contoso run` needs to look at the
lab — its environment, the request, TLS and DNS logs, the journal as JSON,
switching scenario — and NotifyListener, a NOTIFY_SOCKET stand-in. Every wait
has a timeout.

    import os, sys
    sys.path.insert(0, os.environ["LAB_TOOLS"])
    import lablib
    with lablib.NotifyListener() as n:
        p = subprocess.Popen([ewsprobed, "-f", os.environ["LAB_CONF"]],
                             env=n.env())
        n.wait_for("READY=1")
    lablib.switch("fixed-web-trusted")
    lablib.wait_until(lambda: lablib.requests(status=200), "a GetFolder")
"""
import json
import os
import socket
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


class LabTimeout(AssertionError):
    """A bounded wait ran out."""


def env(name):
    """A lab variable (LAB_DIR, LAB_CONF, ...); fails outside a lab."""
    try:
        return os.environ[name]
    except KeyError:
        raise RuntimeError(f"{name} is not set: not inside a lab "
                           "(tests/lab/contoso run SCENARIO -- ...)")


def password():
    """The lab account's password."""
    with open(env("LAB_PASSWORD_FILE")) as f:
        return f.read().strip()


def scenario():
    """The name of the scenario served now (it changes with switch)."""
    with open(os.path.join(env("LAB_RUN_DIR"), "scenario")) as f:
        return f.read().strip()


def switch(name, timeout=60):
    """Serve scenario name (a name or a path) from now on; returns once
    the new certificates, answers and DNS records are served."""
    subprocess.run([os.path.join(HERE, "contoso"), "switch", name],
                   check=True, timeout=timeout)


def _jsonl(path, match):
    """Records of a JSON-lines file whose fields equal match's."""
    out = []
    with open(path) as f:
        for line in f:
            rec = json.loads(line)
            if all(rec.get(k) == v for k, v in match.items()):
                out.append(rec)
    return out


def requests(**match):
    """Requests the double received (LAB_REQUEST_LOG), optionally only
    those whose fields equal the keyword arguments, e.g.
    requests(server="casarray.contoso.com", status=200)."""
    return _jsonl(env("LAB_REQUEST_LOG"), match)


def handshakes(**match):
    """TLS handshakes the double saw (LAB_TLS_LOG), e.g.
    handshakes(server="casarray.contoso.com", ok=False)."""
    return _jsonl(env("LAB_TLS_LOG"), match)


def dns_queries():
    """(type, name) of every DNS query asked so far, in order."""
    import dns
    return dns.queries(env("LAB_DNS_LOG"))


def journal(*args):
    """The lab journal's entries (dicts) matching journalctl args,
    e.g. journal("-t", "ewsprobed") or journal("PRIORITY=3")."""
    p = subprocess.run([os.path.join(HERE, "journal-json"), *args],
                       capture_output=True, text=True, timeout=30)
    return [json.loads(line) for line in p.stdout.splitlines()
            if line.startswith("{")]


def wait_until(cond, what, timeout=10.0, interval=0.05):
    """Poll cond() until it returns something true; return that. Raise
    LabTimeout naming what after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        got = cond()
        if got:
            return got
        if time.monotonic() > deadline:
            raise LabTimeout(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class NotifyListener:
    """An AF_UNIX datagram socket standing in for systemd's NOTIFY_SOCKET.

    Datagrams are kept in .messages (text) and, with their sender's pid
    when the kernel passes it, in .records as (pid, text). Use as a context
    manager, or call close(). The socket lives in a private temporary
    directory (or in d, when given)."""

    def __init__(self, d=None, log_file=None):
        self.dir = None if d else tempfile.mkdtemp(prefix="lab-notify-")
        self.path = os.path.join(d or self.dir, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.log_file = log_file
        self.messages = []
        self.records = []

    def env(self, base=None, **extra):
        """An environment (os.environ or base) with NOTIFY_SOCKET set."""
        e = dict(os.environ if base is None else base, NOTIFY_SOCKET=self.path)
        e.update(extra)
        return e

    def receive(self, timeout):
        """Wait up to timeout seconds for one datagram; return its text or
        None."""
        self.sock.settimeout(max(timeout, 0.001))
        try:
            data, anc, _, _ = self.sock.recvmsg(65536, socket.CMSG_SPACE(12))
        except socket.timeout:
            return None
        pid = None
        for level, kind, value in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = int.from_bytes(value[:4], "little")
        text = data.decode(errors="replace")
        self.messages.append(text)
        self.records.append((pid, text))
        if self.log_file:
            with open(self.log_file, "a") as f:
                f.write(json.dumps({"time": time.time(), "pid": pid,
                                    "message": text}) + "\n")
        return text

    def wait_for(self, key, timeout=60.0):
        """Wait until a datagram with a line equal to key, or starting with
        it, arrives; return that datagram. Earlier datagrams are kept."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise LabTimeout(f"no {key!r} on NOTIFY_SOCKET within "
                                 f"{timeout}s; got {self.messages!r}")
            text = self.receive(left)
            if text is not None and any(
                    line == key or line.startswith(key)
                    for line in text.split("\n")):
                return text

    def close(self):
        """Close and remove the socket (and its directory)."""
        self.sock.close()
        if os.path.exists(self.path):
            os.unlink(self.path)
        if self.dir:
            os.rmdir(self.dir)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
