#!/usr/bin/python3
"""Self-tests of the lab (meson suite "lab"): each test starts a lab with
tests/lab/contoso and checks, from inside, that its parts behave as
documented — DNS, PKI chains, NTLM, the journal, scenario switching — and,
from outside, that nothing is left behind. Needs root; exits 77 (skip)
otherwise.

  selftest.py            run every test from outside
  selftest.py inside T   (internal) the inside half of test T
"""
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CONTOSO = os.path.join(HERE, "contoso")


class Failure(Exception):
    """A check did not hold."""


def check(cond, what):
    """Fail with what unless cond."""
    if not cond:
        raise Failure(what)


def out(*argv, input=None):
    """Run a command inside the lab; return its stdout."""
    p = subprocess.run(argv, capture_output=True, text=True, input=input,
                       timeout=60)
    return p.stdout + p.stderr


def curl_ews(password):
    """POST to the internal EWS URL with NTLM; return (code, body)."""
    body_file = os.path.join(os.environ["LAB_RUN_DIR"], "curl.body")
    code = out("curl", "-s", "-o", body_file, "-w", "%{http_code}",
               "--cacert", os.path.join(os.environ["LAB_DIR"],
                                        "system-store.pem"),
               "--ntlm", "-u", f"CONTOSO\\lab:{password}", "-H",
               "Content-Type: text/xml", "-d", "<x/>",
               "https://casarray.contoso.com/EWS/Exchange.asmx")
    with open(body_file) as f:
        return code.strip(), f.read()


def issuer(host):
    """The issuer of the certificate host:443 presents, RFC 2253."""
    pem = out("openssl", "s_client", "-connect", f"{host}:443",
              "-servername", host, input="")
    cert = pem[pem.find("-----BEGIN"):pem.find("-----END CERTIFICATE-----")
               + 25]
    return out("openssl", "x509", "-noout", "-issuer", "-nameopt", "RFC2253",
               input=cert).strip()


def inside_dns():
    """A, SRV and NXDOMAIN from the lab's dnsmasq."""
    check(out("dig", "+short", "casarray.contoso.com").strip() ==
          "127.0.1.3", "A record of casarray.contoso.com")
    check("autodiscover.contoso.com." in
          out("dig", "+short", "SRV", "_autodiscover._tcp.contoso.com"),
          "SRV record")
    check("NXDOMAIN" in out("dig", "autodiscover.com"),
          "a name outside the scenario must be NXDOMAIN")


def inside_tls():
    """The incident's two CAs, exactly as the scenario names them."""
    check(issuer("casarray.contoso.com") ==
          "issuer=CN=Issuing-CA for contoso,DC=contoso,DC=com",
          f"CAS issuer: {issuer('casarray.contoso.com')}")
    check(issuer("lyncpool.contoso.com") ==
          "issuer=CN=Issuing CA for contoso\\,com",
          f"FE issuer: {issuer('lyncpool.contoso.com')}")
    chain = out("openssl", "s_client", "-showcerts", "-connect",
                "casarray.contoso.com:443", input="")
    check(chain.count("BEGIN CERTIFICATE") == 2, "leaf + issuing CA sent")


def inside_ntlm():
    """Right password: GetFolder success; wrong one: 401; no secrets."""
    with open(os.environ["LAB_PASSWORD_FILE"]) as f:
        password = f.read().strip()
    code, body = curl_ews(password)
    check(code == "200", f"right password gets {code}")
    check('ResponseClass="Success"' in body, "GetFolder success body")
    code, _ = curl_ews("wrong-password")
    check(code == "401", f"wrong password gets {code}")
    with open(os.environ["LAB_REQUEST_LOG"]) as f:
        log = f.read()
    recs = [json.loads(line) for line in log.splitlines()]
    check(any(r["authorization"] == "NTLM" and r["status"] == 200
              for r in recs), "request log records the NTLM success")
    check(password not in log and "TlRMTVNTUA" not in log,
          "the request log holds a credential")


def inside_journal():
    """An entry written with logger --journald is read back as JSON."""
    subprocess.run(["logger", "--journald"], input=(
        "MESSAGE=lab self-test\nSYSLOG_IDENTIFIER=lab-selftest\n"
        "LAB_FIELD=42\n"), text=True, check=True)
    deadline = time.monotonic() + 5
    while True:
        lines = out(CONTOSO, "journal", "-t", "lab-selftest").splitlines()
        entries = [json.loads(line) for line in lines if line.startswith("{")]
        if entries:
            break
        check(time.monotonic() < deadline, "journal entry not read back")
        time.sleep(0.1)
    check(entries[0]["MESSAGE"] == "lab self-test" and
          entries[0]["LAB_FIELD"] == "42", f"journal entry: {entries[0]}")


def inside_switch():
    """switch changes the certificate served on the next handshake."""
    before = issuer("casarray.contoso.com")
    subprocess.run([CONTOSO, "switch", "healthy"], check=True, timeout=60)
    after = issuer("casarray.contoso.com")
    check("Issuing-CA for contoso" in before, f"before: {before}")
    check(after == "issuer=CN=Issuing CA for contoso\\,com",
          f"after switch: {after}")
    with open(os.environ["LAB_CONF"]) as f:
        check("lyncpool.contoso.com" in f.read(), "LAB_CONF rewritten")


def curl_status(*args):
    """curl's exit status and HTTP code for args (bounded)."""
    p = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w",
                        "%{http_code}", "--cacert",
                        os.path.join(os.environ["LAB_DIR"], "fe-root.pem"),
                        *args], capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout


def inside_hostile():
    """Each hostile switch misbehaves as documented."""
    url = "https://hostile.contoso.com"
    check(curl_status("--max-time", "2", url + "/slow")[0] == 28,
          "slow drip")
    check(curl_status("--max-time", "2", url + "/stall")[0] == 28, "stall")
    size = out("curl", "-s", "-o", "/dev/null", "-w", "%{size_download}",
               "--max-time", "10", "--cacert",
               os.path.join(os.environ["LAB_DIR"], "fe-root.pem"),
               url + "/oversized")
    check(int(size) > 10 << 20, f"oversized body: {size} bytes")
    check(curl_status(url + "/reset")[0] in (52, 56), "connection reset")
    check(curl_status(url + "/flood")[0] != 0, "header flood")
    for path in ("/malformed", "/html", "/laughs"):
        check(curl_status(url + path) == (0, "200"), path)
    check(curl_status(url + "/to-http")[1] == "302", "redirect to http")
    check(curl_status("-X", "POST", url + "/basic-only")[1] == "401",
          "basic only")
    rc, _ = curl_status("--tls-max", "1.0", "--ciphers",
                        "DEFAULT:@SECLEVEL=0",
                        "https://tls12.contoso.com/EWS/Exchange.asmx")
    check(rc == 35, f"TLS 1.0 against a TLS 1.2 host: curl exit {rc}")
    rc, _ = curl_status("https://variants.contoso.com/")
    check(rc == 60, f"expired SHA-1 leaf without intermediate: exit {rc}")
    text = out("openssl", "s_client", "-connect", "variants.contoso.com:443",
               "-cipher", "DEFAULT:@SECLEVEL=0", input="")
    check(text.count(" s:") == 1 and "1024 bit" in text,
          "variants host sends only its RSA-1024 leaf")


INSIDE = {"dns": inside_dns, "tls": inside_tls, "ntlm": inside_ntlm,
          "journal": inside_journal, "switch": inside_switch,
          "hostile": inside_hostile}


def lab_processes():
    """PIDs of lab services and doubles (dnsmasq on .53, lab.py)."""
    ps = out("ps", "-eo", "pid,args")
    return [line for line in ps.splitlines()
            if "127.0.0.53" in line or "lab.py run" in line or
            ("systemd-journald" in line and "pid,args" not in line)]


def test_inside_checks():
    """Every inside check passes in the incident scenario."""
    before = lab_processes()
    t0 = time.monotonic()
    p = subprocess.run([CONTOSO, "run", "--timeout", "120", "incident", "--",
                        sys.executable, __file__, "inside", "all"],
                       capture_output=True, text=True, timeout=180)
    check(p.returncode == 0, f"inside checks failed:\n{p.stdout}{p.stderr}")
    check(lab_processes() == before,
          f"left running: {set(lab_processes()) - set(before)}")
    check(not os.path.exists("/run/contoso"), "/run/contoso left behind")
    print(f"  (lab run took {time.monotonic() - t0:.1f}s)")


def test_hostile():
    """The hostile scenario's switches and certificate variants."""
    p = subprocess.run([CONTOSO, "run", "--timeout", "120", "hostile", "--",
                        sys.executable, __file__, "inside", "hostile"],
                       capture_output=True, text=True, timeout=180)
    check(p.returncode == 0, f"hostile checks failed:\n{p.stdout}{p.stderr}")


def test_exit_status():
    """COMMAND's exit status is the lab's; a killed COMMAND is cleaned up."""
    p = subprocess.run([CONTOSO, "run", "healthy", "--", "sh", "-c",
                        "exit 7"], timeout=120)
    check(p.returncode == 7, f"exit status {p.returncode}, want 7")
    p = subprocess.run([CONTOSO, "run", "healthy", "--", "sh", "-c",
                        "kill -9 $$"], timeout=120)
    check(p.returncode == 137, f"killed COMMAND: status {p.returncode}")


def test_bad_scenario():
    """A scenario file that does not parse is a clear lab error (2)."""
    bad = "/tmp/contoso-bad-scenario.toml"
    with open(bad, "w") as f:
        f.write("[mailbox\n")
    p = subprocess.run([CONTOSO, "run", bad, "--", "true"],
                       capture_output=True, text=True, timeout=60)
    os.unlink(bad)
    check(p.returncode == 2 and "scenario" in p.stderr,
          f"status {p.returncode}: {p.stderr}")


def test_not_root():
    """Without root the lab says so and exits 77."""
    p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534",
                        "--clear-groups", CONTOSO, "run", "healthy", "--",
                        "true"], capture_output=True, text=True, timeout=60)
    check(p.returncode == 77 and "root" in p.stderr,
          f"status {p.returncode}: {p.stderr}")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "inside":
        names = ([n for n in INSIDE if n != "hostile"] if sys.argv[2] == "all"
             else [sys.argv[2]])
        failed = 0
        for n in names:
            try:
                INSIDE[n]()
                print(f"ok - inside {n}")
            except Failure as e:
                failed += 1
                print(f"not ok - inside {n}: {e}")
        return 1 if failed else 0
    if os.geteuid() != 0:
        print("lab self-tests need root: skipped")
        return 77
    probe = subprocess.run([CONTOSO, "run", "healthy", "--", "true"],
                           capture_output=True, text=True, timeout=120)
    if probe.returncode == 77:
        print(f"the lab cannot run here: skipped\n{probe.stderr}")
        return 77
    tests = [test_inside_checks, test_hostile, test_exit_status, test_bad_scenario,
             test_not_root]
    failed = 0
    for t in tests:
        try:
            t()
            print(f"ok - {t.__name__}")
        except (Failure, subprocess.TimeoutExpired) as e:
            failed += 1
            print(f"not ok - {t.__name__}: {e}")
    print(f"{len(tests) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
