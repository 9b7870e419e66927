#!/usr/bin/python3
"""Self-tests of the lab (meson suite "lab"): each test starts a lab with
tests/lab/contoso and checks, from inside, that its parts behave as
README.md says — material and LAB_CONF, DNS, PKI chains, TLS, NTLM,
Autodiscover, the journal, NOTIFY_SOCKET, scenario switching, hostile
switches — and, from outside, exit statuses, signals, and that nothing is
left behind: no process of the lab's namespaces, no mount, no temporary
file. Needs root; exits 77 (skip) otherwise.

  selftest.py [TEST...]     run every test (or those named) from outside
  selftest.py inside NAME   (internal) the inside half of check NAME
"""
import configparser
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CONTOSO = os.path.join(HERE, "contoso")
sys.path.insert(0, HERE)
import lablib  # noqa: E402

# The keys ewsprobed accepts (the daemon rejects any other).
CONF_KEYS = {
    "daemon": {"interval", "retry_interval", "discovery_interval",
               "fail_after", "recover_after", "concurrency", "timeout",
               "status_file", "metrics_file", "dns_servers",
               "cert_warn_days", "system_store"},
    "profile": {"frontend", "frontend_ca", "web_trusted_ca", "public_roots",
                "tls_max"},
    "mailbox": {"address", "account", "credential", "profiles"},
}
EWS = "https://casarray.contoso.com/EWS/Exchange.asmx"
SOAP_REQUEST = """<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:a="http://schemas.microsoft.com/exchange/2010/Autodiscover" xmlns:wsa="http://www.w3.org/2005/08/addressing" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
  <soap:Header>
    <a:RequestedServerVersion>Exchange2010</a:RequestedServerVersion>
    <wsa:Action>http://schemas.microsoft.com/exchange/2010/Autodiscover/Autodiscover/GetUserSettings</wsa:Action>
    <wsa:To>https://autodiscover.contoso.com/autodiscover/autodiscover.svc</wsa:To>
  </soap:Header>
  <soap:Body>
    <a:GetUserSettingsRequestMessage>
      <a:Request>
        <a:Users><a:User><a:Mailbox>{address}</a:Mailbox></a:User></a:Users>
        <a:RequestedSettings>
          <a:Setting>InternalEwsUrl</a:Setting>
          <a:Setting>ExternalEwsUrl</a:Setting>
        </a:RequestedSettings>
      </a:Request>
    </a:GetUserSettingsRequestMessage>
  </soap:Body>
</soap:Envelope>
"""
POX_REQUEST = """<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>lab@contoso.com</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>
"""


class Failure(Exception):
    """A check did not hold."""


def check(cond, what):
    """Fail with what unless cond."""
    if not cond:
        raise Failure(what)


def out(*argv, input=""):
    """Run a command (bounded); return its stdout and stderr."""
    p = subprocess.run(argv, capture_output=True, text=True, input=input,
                       timeout=60)
    return p.stdout + p.stderr


def curl(*args, cacert="system-store.pem"):
    """curl args; return (exit status, HTTP code, headers, body)."""
    d = tempfile.mkdtemp(prefix="lab-selftest-", dir=lablib.env("LAB_RUN_DIR"))
    p = subprocess.run(
        ["curl", "-s", "-D", f"{d}/h", "-o", f"{d}/b", "-w", "%{http_code}",
         "--cacert", os.path.join(lablib.env("LAB_DIR"), cacert), *args],
        capture_output=True, text=True, timeout=60)
    heads = open(f"{d}/h").read() if os.path.exists(f"{d}/h") else ""
    body = open(f"{d}/b").read() if os.path.exists(f"{d}/b") else ""
    return p.returncode, p.stdout, heads, body


def ntlm(*args, password=None, user="CONTOSO\\lab"):
    """curl --ntlm as the lab account (or another)."""
    pw = lablib.password() if password is None else password
    return curl("--ntlm", "-u", f"{user}:{pw}", "-H",
                "Content-Type: text/xml; charset=utf-8", *args)


def served(host, *opts):
    """s_client's view of host:443 (certificates shown)."""
    return out("openssl", "s_client", "-showcerts", "-connect", f"{host}:443",
               "-servername", host, *opts)


def issuer(host):
    """The issuer of the certificate host:443 presents, RFC 2253."""
    text = served(host)
    cert = text[text.find("-----BEGIN"):
                text.find("-----END CERTIFICATE-----") + 25]
    return out("openssl", "x509", "-noout", "-issuer", "-nameopt", "RFC2253",
               input=cert).strip()


# ---- inside checks (run in a lab of the scenario named in INSIDE) ----

def inside_material():
    """LAB_DIR, LAB_CONF (schema keys only), password mode, env."""
    d = lablib.env("LAB_DIR")
    for f in ("fe-root.pem", "fe.pem", "cas-root.pem", "cas.pem",
              "public-root.pem", "system-store.pem", "scenario.toml",
              "casarray.contoso.com.chain.pem", "casarray.contoso.com.pem",
              "lyncpool.contoso.com.chain.pem", "ewsprobed.conf"):
        check(os.path.exists(os.path.join(d, f)), f"LAB_DIR lacks {f}")
    st = os.stat(lablib.env("LAB_PASSWORD_FILE"))
    check(st.st_mode & 0o777 == 0o600, "lab.password is not mode 0600")
    check(out("grep", "-c", "BEGIN CERT", f"{d}/system-store.pem").strip()
          == "3", "system store: three roots")
    conf = configparser.ConfigParser(interpolation=None,
                                     inline_comment_prefixes=(";",))
    conf.read(lablib.env("LAB_CONF"))
    for section in conf.sections():
        kind = section.split(" ")[0]
        extra = set(conf[section]) - CONF_KEYS[kind]
        check(not extra, f"LAB_CONF [{section}] has unknown keys {extra}")
    check(conf["profile lync-phone-edition"]["frontend"] ==
          "lyncpool.contoso.com:443", "LAB_CONF frontend")
    check(conf["mailbox lab"]["credential"] ==
          lablib.env("LAB_PASSWORD_FILE"), "LAB_CONF credential")
    check("web_trusted_ca" not in conf["profile lync-phone-edition"],
          "incident has no web-trusted CA")
    for key in ("status_file", "metrics_file"):
        check(conf["daemon"][key].startswith(lablib.env("LAB_STATE_DIR")),
              f"{key} outside LAB_STATE_DIR")
    probe = os.path.join(lablib.env("LAB_STATE_DIR"), "probe")
    open(probe, "w").close()
    os.unlink(probe)
    check(lablib.scenario() == "incident", "current scenario")


def inside_dns():
    """A, SRV, NXDOMAIN, resolv.conf, the query log."""
    check(out("dig", "+short", "casarray.contoso.com").strip() ==
          "127.0.1.3", "A record of casarray.contoso.com")
    check(out("dig", "+short", "SRV", "_autodiscover._tcp.contoso.com")
          .strip() == "0 0 443 autodiscover.contoso.com.", "SRV record")
    for name in ("unknown.contoso.com", "autodiscover.fabrikam.example",
                 "www.example.com"):
        check("status: NXDOMAIN" in out("dig", name), f"{name}: NXDOMAIN")
    check("ANSWER: 0" in out("dig", "AAAA", "casarray.contoso.com"),
          "no AAAA for an IPv4-only host")
    check("127.0.1.5" in out("getent", "hosts", "lyncpool.contoso.com"),
          "the system resolver (resolv.conf) uses the lab DNS")
    qs = lablib.dns_queries()
    check(("SRV", "_autodiscover._tcp.contoso.com") in qs and
          ("A", "unknown.contoso.com") in qs, f"query log: {qs}")
    check(not [q for q in qs if q[0] == "PTR"],
          f"the lab itself asked the DNS: {qs}")


def inside_tls():
    """The incident's CAs, chains, TLS 1.0, the TLS log."""
    cas = issuer("casarray.contoso.com")
    check(cas == "issuer=CN=Issuing-CA for contoso,DC=contoso,DC=com",
          f"CAS issuer: {cas}")
    fe = issuer("lyncpool.contoso.com")
    check(fe == "issuer=CN=Issuing CA for contoso\\,com", f"FE issuer: {fe}")
    check(served("casarray.contoso.com").count("BEGIN CERTIFICATE") == 2,
          "leaf + issuing CA sent")
    text = served("casarray.contoso.com", "-tls1", "-cipher",
                  "DEFAULT:@SECLEVEL=0")
    check("Protocol  : TLSv1\n" in text, "a phone's TLS 1.0 handshake works")
    text = served("casarray.contoso.com", "-verify_return_error", "-CAfile",
                  os.path.join(lablib.env("LAB_DIR"), "system-store.pem"))
    check("Verify return code: 0 (ok)" in text, "PCs trust the CAS chain")
    text = served("casarray.contoso.com", "-verify_return_error", "-CAfile",
                  os.path.join(lablib.env("LAB_DIR"), "fe.pem"),
                  "-partial_chain")
    check("Verify return code: 0" not in text,
          "a phone (trusting the FE's CA only) must refuse the CAS chain")
    hs = lablib.handshakes(server="casarray.contoso.com", tls="TLSv1")
    check(hs and hs[0]["sni"] == "casarray.contoso.com", f"TLS log: {hs}")


def inside_ntlm():
    """Right password: GetFolder success; wrong password or user: 401."""
    _, code, heads, _ = curl("-d", "<x/>", EWS)
    offers = [h.strip() for h in heads.splitlines()
              if h.startswith("WWW-Authenticate:")]
    check(code == "401" and offers == ["WWW-Authenticate: Negotiate",
                                       "WWW-Authenticate: NTLM"],
          f"EWS offers: {heads}")
    _, code, _, body = ntlm("-d", "<x/>", EWS)
    check(code == "200", f"right password gets {code}")
    check('ResponseClass="Success"' in body and
          "<m:ResponseCode>NoError</m:ResponseCode>" in body,
          "GetFolder success body")
    _, code, _, _ = ntlm("-d", "<x/>", EWS, password="wrong-password")
    check(code == "401", f"wrong password gets {code}")
    _, code, _, _ = ntlm("-d", "<x/>", EWS, user="CONTOSO\\other")
    check(code == "401", f"wrong user gets {code}")
    recs = lablib.requests(server="casarray.contoso.com")
    check(any(r["authorization"] == "NTLM" and r["status"] == 200 and
              r["address"] == "127.0.1.3" for r in recs),
          "request log records the NTLM success")
    with open(lablib.env("LAB_REQUEST_LOG")) as f:
        log = f.read()
    check(lablib.password() not in log and "TlRMTVNTUA" not in log,
          "the request log holds a credential")


def inside_autodiscover():
    """SOAP and POX with NTLM, the HTTP redirect method, unknown users."""
    ad = "https://autodiscover.contoso.com/autodiscover/"
    soap = SOAP_REQUEST.format(address="lab@contoso.com")
    _, code, heads, _ = curl("-d", soap, ad + "autodiscover.svc")
    check(code == "401" and "WWW-Authenticate: NTLM" in heads and
          "X-SOAP-Enabled: True" in heads, "Autodiscover demands NTLM")
    _, code, _, body = ntlm("-d", soap, ad + "autodiscover.svc")
    check(code == "200" and "<ErrorCode>NoError</ErrorCode>" in body and
          "<Value>https://casarray.contoso.com/EWS/Exchange.asmx</Value>"
          in body and
          "<Value>https://mail.contoso.com/EWS/Exchange.asmx</Value>" in body,
          f"SOAP GetUserSettings: {code} {body}")
    _, code, _, body = ntlm("-d", SOAP_REQUEST.format(
        address="nobody@contoso.com"), ad + "autodiscover.svc")
    check("<ErrorCode>InvalidUser</ErrorCode>" in body, "unknown mailbox")
    _, code, _, body = ntlm("-d", POX_REQUEST, ad + "autodiscover.xml")
    check(code == "200" and "<Type>EXCH</Type>" in body and
          "<EwsUrl>https://casarray.contoso.com/EWS/Exchange.asmx</EwsUrl>"
          in body and "<Action>settings</Action>" in body, f"POX: {body}")
    _, code, heads, _ = curl(
        "http://autodiscover.contoso.com/autodiscover/autodiscover.xml")
    check(code == "302" and "Location: https://autodiscover.contoso.com/"
          "autodiscover/autodiscover.xml" in heads, f"HTTP redirect: {heads}")
    r = lablib.requests(port=80)[-1]
    check(r["method"] == "GET" and r["authorization"] is None and
          r["tls"] is None, f"HTTP probe record: {r}")
    check(any(r["email"] == "nobody@contoso.com"
              for r in lablib.requests(path="/autodiscover/autodiscover.svc")),
          "the requested address is in the request log")
    check(not lablib.requests(server="autodiscover.com"),
          "the attacker was contacted")


def inside_journal():
    """logger --journald and systemd-cat entries are read back as JSON."""
    subprocess.run(["logger", "--journald"], input=(
        "MESSAGE=lab self-test\nSYSLOG_IDENTIFIER=lab-selftest\n"
        "LAB_FIELD=42\n"), text=True, check=True, timeout=10)
    subprocess.run(["systemd-cat", "-t", "lab-stream", "echo", "streamed"],
                   check=True, timeout=10)
    entries = lablib.wait_until(lambda: lablib.journal("-t", "lab-selftest"),
                                "the journal entry", 5)
    check(entries[0]["MESSAGE"] == "lab self-test" and
          entries[0]["LAB_FIELD"] == "42", f"journal entry: {entries[0]}")
    lablib.wait_until(lambda: lablib.journal("-t", "lab-stream"),
                      "the stdout stream entry", 5)
    lines = out(CONTOSO, "journal", "-t", "lab-selftest").splitlines()
    check(json.loads(lines[0])["LAB_FIELD"] == "42", "contoso journal")


def inside_notify():
    """lablib.NotifyListener and notify-listen receive sd_notify."""
    with lablib.NotifyListener() as n:
        subprocess.run(["systemd-notify", "--no-block", "--ready",
                        "STATUS=lab up"],
                       env=n.env(), check=True, timeout=10)
        msg = n.wait_for("READY=1")
        check("STATUS=lab up" in msg, f"notify message: {msg!r}")
        path = n.path
    check(not os.path.exists(os.path.dirname(path)), "listener dir left")
    log = os.path.join(lablib.env("LAB_RUN_DIR"), "notify.jsonl")
    p = subprocess.run([os.path.join(HERE, "notify-listen"), log, "--",
                        "systemd-notify", "--no-block", "STOPPING=1"],
                       timeout=20)
    check(p.returncode == 0, f"notify-listen: {p.returncode}")
    with open(log) as f:
        recs = [json.loads(line) for line in f]
    check(recs and recs[0]["message"].startswith("STOPPING=1"),
          f"notify-listen log: {recs}")


def inside_switch():
    """switch: next handshake sees the new certificate; no listener or
    DNS downtime; LAB_CONF rewritten; a bad scenario is refused."""
    def dnsmasq_pid():
        return [p for p in os.listdir("/proc") if p.isdigit() and
                open(f"/proc/{p}/comm").read().strip() == "dnsmasq"]
    dns_before = dnsmasq_pid()
    before = issuer("casarray.contoso.com")
    stop, errors, count = threading.Event(), [], [0]

    def hammer():
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        while not stop.is_set():
            try:
                with socket.create_connection(("127.0.1.3", 443), 5) as s:
                    ctx.wrap_socket(s, server_hostname="casarray."
                                    "contoso.com").close()
                count[0] += 1
            except OSError as e:
                errors.append(e)
    t = threading.Thread(target=hammer)
    t.start()
    try:
        time.sleep(0.2)
        lablib.switch("healthy")
        time.sleep(0.2)
    finally:
        stop.set()
        t.join(10)
    check(not errors and count[0] > 5, f"handshakes during the switch: "
          f"{count[0]} ok, errors {errors[:3]}")
    after = issuer("casarray.contoso.com")
    check("Issuing-CA for contoso" in before, f"before: {before}")
    check(after == "issuer=CN=Issuing CA for contoso\\,com",
          f"after switch: {after}")
    check(dnsmasq_pid() == dns_before, "DNS restarted though unchanged")
    check(lablib.scenario() == "healthy", "current scenario file")
    lablib.switch("fixed-web-trusted")
    with open(lablib.env("LAB_CONF")) as f:
        conf = f.read()
    check("web_trusted_ca = " + os.path.join(lablib.env("LAB_DIR"),
                                             "cas.pem") in conf,
          f"LAB_CONF after fixed-web-trusted:\n{conf}")
    check("Issuing-CA for contoso" in issuer("casarray.contoso.com"),
          "fixed-web-trusted serves the CAS's CA again")
    p = subprocess.run([CONTOSO, "switch", "/nonexistent/x.toml"],
                       capture_output=True, text=True, timeout=30)
    check(p.returncode == 2 and "x.toml" in p.stderr,
          f"bad switch: {p.returncode} {p.stderr}")
    check(lablib.scenario() == "fixed-web-trusted", "bad switch kept")
    lablib.switch("hostile")
    check(dnsmasq_pid() != dns_before, "DNS not restarted for new records")
    check(out("dig", "+short", "hostile.contoso.com").strip() ==
          "127.0.2.1", "hostile's DNS served after the switch")
    check("status: NXDOMAIN" in out("dig", "casarray.contoso.com"),
          "incident's names gone after the switch")


def inside_hostile():
    """Each hostile switch misbehaves as documented."""
    url = "https://hostile.contoso.com"
    check(curl("--max-time", "2", url + "/slow")[0] == 28, "slow drip")
    check(curl("--max-time", "2", url + "/stall")[0] == 28, "stall")
    size = out("curl", "-s", "-o", "/dev/null", "-w", "%{size_download}",
               "--max-time", "10", "--cacert",
               os.path.join(lablib.env("LAB_DIR"), "fe-root.pem"),
               url + "/oversized")
    check(int(size) > 10 << 20, f"oversized body: {size} bytes")
    t0 = time.monotonic()
    check(curl("--max-filesize", "1048576", url + "/huge-length")[0] == 63 and
          time.monotonic() - t0 < 2, "huge Content-Length")
    check(curl(url + "/reset")[0] in (52, 56), "connection reset")
    check(curl(url + "/flood")[0] != 0, "header flood")
    for path, text in (("/malformed", "<Response>"), ("/html", "<html>"),
                       ("/laughs", "<!ENTITY lol"),
                       ("/quadratic", "<!ENTITY a"),
                       ("/xxe", 'SYSTEM "file:///run/contoso/lab/canary'),
                       ("/external-dtd", 'SYSTEM "http://hostile'),
                       ("/deep", "<a><a><a>"),
                       ("/many-attributes", ' a100000=""'),
                       ("/many-namespaces", ' xmlns:p39999="u"'),
                       ("/wrong-namespace", 'xmlns="http://evil.test/x"')):
        rc, code, _, body = curl("-d", POX_REQUEST, url + path)
        check((rc, code) == (0, "200") and text in body, path)
    for path, where in (("/to-http", "http://hostile"),
                        ("/to-other-domain", "fabrikam"),
                        ("/to-attacker", "attacker.test")):
        _, code, heads, _ = curl(url + path)
        check(code == "302" and where in heads, path)
    rc, _, _, _ = curl("-L", "--max-redirs", "5", url + "/loop-a")
    check(rc == 47, f"redirect loop: curl {rc}")
    _, code, heads, _ = curl("-X", "POST", url + "/basic-only")
    check(code == "401" and "WWW-Authenticate: Basic" in heads and
          "NTLM" not in heads, "basic only")
    rc, _, _, _ = curl("--tls-max", "1.0", "--ciphers",
                       "DEFAULT:@SECLEVEL=0", "https://tls12.contoso.com/")
    check(rc == 35, f"TLS 1.0 against a TLS 1.2 host: curl exit {rc}")
    check(lablib.handshakes(server="tls12.contoso.com", ok=False),
          "the refused handshake is in the TLS log")
    rc, _, _, _ = curl("https://variants.contoso.com/")
    check(rc == 60, f"expired SHA-1 leaf without intermediate: exit {rc}")
    text = served("variants.contoso.com", "-cipher", "DEFAULT:@SECLEVEL=0")
    check(text.count(" s:") == 1 and "1024 bit" in text,
          "variants host sends only its RSA-1024 leaf")
    t0 = time.monotonic()
    rc = curl("--connect-timeout", "1", "https://blackhole.contoso.com/")[0]
    check(rc == 28 and time.monotonic() - t0 < 3, f"blackhole: curl {rc}")
    check(lablib.requests(server="mail.attacker.test") == [],
          "attacker contacted")


INSIDE = {"material": inside_material, "dns": inside_dns, "tls": inside_tls,
          "ntlm": inside_ntlm, "autodiscover": inside_autodiscover,
          "journal": inside_journal, "notify": inside_notify,
          "switch": inside_switch, "hostile": inside_hostile}
# The order matters: switch changes the scenario, so it comes last.
INCIDENT_CHECKS = ("material", "dns", "tls", "ntlm", "autodiscover",
                   "journal", "notify", "switch")


def run_inside(names):
    """The inside half: run checks, report TAP-like lines."""
    failed = 0
    for n in names:
        try:
            INSIDE[n]()
            print(f"ok - inside {n}", flush=True)
        except (Failure, lablib.LabTimeout, subprocess.SubprocessError,
                OSError) as e:
            failed += 1
            print(f"not ok - inside {n}: {e}", flush=True)
    return 1 if failed else 0


# ---- outside tests ----

def namespaces_of(pid_file):
    """The namespace inodes a lab COMMAND recorded ("pid:[...]" ...)."""
    with open(pid_file) as f:
        return set(f.read().split())


def left_in(namespaces):
    """PIDs of host processes still in any of those namespaces."""
    left = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        for ns in ("pid", "net", "mnt"):
            try:
                if os.readlink(f"/proc/{p}/ns/{ns}") in namespaces:
                    left.append(p)
            except OSError:
                pass
    return left


def tmp_entries():
    """Names in /tmp that a lab or its helpers could leave."""
    return {e for e in os.listdir(tempfile.gettempdir())
            if e.startswith(("lab-", "contoso"))}


def mounts():
    """The host's mount table (mount points and sources)."""
    with open("/proc/self/mountinfo") as f:
        return sorted(" ".join(line.split()[3:5]) for line in f)


RECORD_NS = ("for n in pid net mnt; do readlink /proc/self/ns/$n; done "
             "> {f}; ")


class Outside:
    """A lab run from outside, checked for leftovers afterwards."""

    def __init__(self, scenario, shell, timeout=120, lab_timeout=None):
        self.d = tempfile.mkdtemp(prefix="selftest-")
        self.ns_file = os.path.join(self.d, "ns")
        argv = [CONTOSO, "run"]
        if lab_timeout:
            argv += ["--timeout", str(lab_timeout)]
        argv += [scenario, "--", "sh", "-c",
                 RECORD_NS.format(f=self.ns_file) + shell]
        self.mounts, self.tmp = mounts(), tmp_entries()
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.timeout = timeout

    def wait_started(self):
        """Wait until COMMAND has recorded its namespaces."""
        deadline = time.monotonic() + 60
        while not (os.path.exists(self.ns_file) and
                   len(namespaces_of(self.ns_file)) == 3):
            check(time.monotonic() < deadline and self.proc.poll() is None,
                  f"lab did not start: {self.proc.poll()}")
            time.sleep(0.05)

    def finish(self):
        """Wait for the lab; check nothing is left; return (status,
        output)."""
        try:
            output, _ = self.proc.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            output, _ = self.proc.communicate()
            raise Failure(f"lab still running after {self.timeout}s")
        ns = namespaces_of(self.ns_file)
        check(len(ns) == 3, f"COMMAND did not record its namespaces: {ns}")
        # A hang guard: tearing the namespaces down takes its time on a
        # busy machine (a CPU hog on every core).
        deadline = time.monotonic() + 60
        while left_in(ns) and time.monotonic() < deadline:
            time.sleep(0.05)
        check(not left_in(ns), f"processes left in the lab's namespaces: "
              f"{left_in(ns)}")
        check(mounts() == self.mounts, "the host's mounts changed")
        check(tmp_entries() <= self.tmp,
              f"left in /tmp: {tmp_entries() - self.tmp}")
        check(not os.path.exists("/run/contoso"), "/run/contoso on the host")
        os.unlink(self.ns_file)
        os.rmdir(self.d)
        return self.proc.returncode, output


def test_incident_inside():
    """Every inside check, in the incident scenario; nothing left."""
    t0 = time.monotonic()
    lab = Outside("incident", f'exec {sys.executable} "{__file__}" inside '
                  + " ".join(INCIDENT_CHECKS))
    status, output = lab.finish()
    check(status == 0, f"inside checks failed:\n{output}")
    print(output, end="")
    print(f"  (lab run took {time.monotonic() - t0:.1f}s)")


def test_hostile_inside():
    """The hostile scenario's switches and certificate variants."""
    lab = Outside("hostile", f'exec {sys.executable} "{__file__}" inside '
                  "hostile")
    status, output = lab.finish()
    check(status == 0, f"hostile checks failed:\n{output}")
    print(output, end="")


def test_exit_status():
    """COMMAND's status is the lab's, killed COMMAND 128+signal, the
    --timeout kills COMMAND (124); background children die with the lab."""
    status, _ = Outside("healthy", "sleep 1000 & exit 7").finish()
    check(status == 7, f"exit status {status}, want 7")
    status, _ = Outside("healthy", "kill -9 $$").finish()
    check(status == 137, f"killed COMMAND: status {status}")
    t0 = time.monotonic()
    status, _ = Outside("healthy", "sleep 1000", lab_timeout=1).finish()
    check(status == 124 and time.monotonic() - t0 < 15,
          f"--timeout: status {status}")


def test_signals():
    """SIGTERM to the lab ends COMMAND (143) cleanly; SIGKILL to the lab
    leaves nothing either."""
    lab = Outside("healthy", "sleep 1000 & sleep 1000")
    lab.wait_started()
    t0 = time.monotonic()
    lab.proc.send_signal(signal.SIGTERM)
    status, _ = lab.finish()
    check(status == 143 and time.monotonic() - t0 < 10,
          f"SIGTERM: status {status}")
    lab = Outside("healthy", "sleep 1000 & sleep 1000")
    lab.wait_started()
    lab.proc.kill()
    status, _ = lab.finish()
    check(status == -9, f"SIGKILL: status {status}")


def test_bad_scenario():
    """A scenario file that does not parse is a clear lab error (2)."""
    with tempfile.NamedTemporaryFile("w", suffix=".toml") as bad:
        bad.write("[mailbox\n")
        bad.flush()
        p = subprocess.run([CONTOSO, "run", bad.name, "--", "true"],
                           capture_output=True, text=True, timeout=60)
    check(p.returncode == 2 and "scenario" in p.stderr,
          f"status {p.returncode}: {p.stderr}")
    p = subprocess.run([CONTOSO, "run", "no-such-scenario", "--", "true"],
                       capture_output=True, text=True, timeout=60)
    check(p.returncode == 2 and "no-such-scenario" in p.stderr,
          f"status {p.returncode}: {p.stderr}")


def test_not_root():
    """Without root the lab says so and exits 77."""
    p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534",
                        "--clear-groups", CONTOSO, "run", "healthy", "--",
                        "true"], capture_output=True, text=True, timeout=60)
    check(p.returncode == 77 and "root" in p.stderr,
          f"status {p.returncode}: {p.stderr}")


TESTS = [test_incident_inside, test_hostile_inside, test_exit_status,
         test_signals, test_bad_scenario, test_not_root]


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "inside":
        return run_inside(sys.argv[2:])
    if os.geteuid() != 0:
        print("lab self-tests need root: skipped")
        return 77
    probe = subprocess.run([CONTOSO, "run", "healthy", "--", "true"],
                           capture_output=True, text=True, timeout=120)
    if probe.returncode == 77:
        print(f"the lab cannot run here: skipped\n{probe.stderr}")
        return 77
    tests = [t for t in TESTS if len(sys.argv) == 1 or
             t.__name__ in sys.argv[1:] or t.__name__[5:] in sys.argv[1:]]
    t0 = time.monotonic()
    failed = 0
    for t in tests:
        try:
            t()
            print(f"ok - {t.__name__}", flush=True)
        except (Failure, subprocess.TimeoutExpired, OSError) as e:
            failed += 1
            print(f"not ok - {t.__name__}: {e}", flush=True)
    print(f"{len(tests) - failed} passed, {failed} failed "
          f"({time.monotonic() - t0:.1f}s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
