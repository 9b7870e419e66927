#!/usr/bin/python3
"""Integration test: the phone trust policy and the EWS probe in the lab
(issue "phone trust policy and EWS probe").

Runs `ewsprobed --once` inside tests/lab/contoso on the incident, its two
fixes and the phone-checks scenario, and checks each verdict, reason and
message; that no Authorization header ever reached a host whose chain the
phone profile refused; and that no credential appears in any output
(docs/security.md rows 28-30 and 33). Needs root (the lab); skipped otherwise.

  test-phone.py EWSPROBED SOURCE            run from outside
  test-phone.py --inside NAME EWSPROBED     (internal) one check in a lab
"""
import base64
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from ewstest import (check, lab_args, result_doc, run_in_lab,  # noqa: E402
                     run_inside, run_steps, run_tests)


def once(ewsprobed, conf, *boxes):
    """Run --once; return (exit status, output)."""
    p = subprocess.run([ewsprobed, "--once", "-f", conf, *boxes],
                       capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout + p.stderr


def lab_conf(extra):
    """LAB_CONF plus extra lines appended to its [mailbox lab]."""
    path = os.path.join(os.environ["LAB_STATE_DIR"], "test.conf")
    with open(os.environ["LAB_CONF"]) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(text + extra)
    return path


def verdict_of(output):
    """(verdict, reason) from the report's verdict line."""
    m = re.search(r"verdict: (\w+)(?: — reason (\w+))?", output)
    check(m is not None, f"no verdict line in:\n{output}")
    return m.group(1), m.group(2)


def no_secrets(output):
    """No password, no Basic token, no NTLM message in output or logs."""
    pw = open(os.environ["LAB_PASSWORD_FILE"]).read().strip()
    basic = base64.b64encode(f"CONTOSO\\lab:{pw}".encode()).decode()
    with open(os.environ["LAB_REQUEST_LOG"]) as f:
        log = f.read()
    for text, where in ((output, "report"), (log, "request log")):
        for secret in (pw, basic, "TlRMTVNTUA"):
            check(secret not in text, f"a credential in the {where}")


URLS = ("ews_internal_url = https://casarray.contoso.com/EWS/Exchange.asmx\n"
        "ews_external_url = https://mail.contoso.com/EWS/Exchange.asmx\n")


def inside_incident(ewsprobed):
    """incident: critical, cert_untrusted_phone, 12045, both CAs, fixes."""
    rc, out = once(ewsprobed, lab_conf(URLS))
    check(rc == 2, f"exit status {rc}, want 2:\n{out}")
    check(verdict_of(out) == ("critical", "cert_untrusted_phone"),
          f"verdict {verdict_of(out)}")
    for text in ("'CN=Issuing-CA for contoso, DC=contoso, DC=com'",
                 "'CN=Issuing CA for contoso,com'", "PCs do trust it",
                 "errorCode=12045 (0x80072F0D)",
                 "reissue the certificate from 'CN=Issuing CA for "
                 "contoso,com'", "New-CsWebTrustedCACertificate"):
        check(text in out, f"{text!r} missing from the report")
    with open(os.environ["LAB_REQUEST_LOG"]) as f:
        recs = [json.loads(line) for line in f]
    check(recs and all(r["authorization"] is None for r in recs
                       if r["server"] in ("casarray.contoso.com",
                                          "mail.contoso.com")),
          "credentials went to a server phones do not trust")
    check(any(r["tls"] == "TLSv1" for r in recs), "phones speak TLS 1.0")
    no_secrets(out)


def inside_fixed(ewsprobed):
    """fixed-reissued, then fixed-web-trusted: ok, NTLM, GetFolder."""
    for scenario in ("fixed-reissued", "fixed-web-trusted"):
        subprocess.run([os.path.join(os.environ["LAB_TOOLS"], "contoso"),
                        "switch", scenario], check=True, timeout=60)
        rc, out = once(ewsprobed, lab_conf(URLS))
        check(rc == 0, f"{scenario}: exit status {rc}:\n{out}")
        check(verdict_of(out)[0] == "ok", f"{scenario}: not ok")
        check("GetFolder NoError" in out, f"{scenario}: no GetFolder")
        no_secrets(out)


CHECKS = {
    # mailbox: (host, extra config, verdict, reason or None, text)
    "expired": ("expired", "", "critical", "cert_expired", "12037"),
    "wrongname": ("wrongname", "", "critical", "cert_name_mismatch",
                  "names: owa.contoso.com"),
    # A warning's reason names its risk, and says it (issue 14).
    "wildcard": ("wildcard", "", "warning", "cert_phone_risk",
                 "a wildcard EWS certificate is reported to stop Exchange "
                 "integration on phones"),
    "sha384": ("sha384", "", "warning", "cert_phone_risk",
               "sha384WithRSAEncryption"),
    "rsa4096": ("rsa4096", "", "warning", "cert_phone_risk", "RSA-4096"),
    # Phones offer RSA key exchange only: an ECDSA-only server cannot
    # complete their handshake at all.
    # Phones offer RSA key exchange only: their own hello finds no suite
    # in common with an ECDSA-only server (12157; issue 18).
    "ecdsa": ("ecdsa", "", "critical", "tls_no_common_suite", "ECDSA"),
    "extra": ("extra", "", "warning", "cert_phone_risk",
              "broke phones even with the root trusted"),
    "nointermediate": ("nointermediate", "", "ok", None, "chains to"),
    "tls12phone": ("tls12", "", "critical", "tls_version_unsupported",
                   "12157"),
    "tls12modern": ("tls12", "modern", "ok", None, "over TLSv1.3"),
    "basic": ("basic", "", "critical", "auth_ntlm_not_offered", "Basic"),
    "fault": ("fault", "", "critical", "ews_fault", "ErrorSchemaValidation"),
    "wrongpw": ("casarray", "wrongpw", "critical", "auth_failed", "401"),
}


def inside_checks(ewsprobed):
    """Each phone-checks host gives its documented verdict and reason."""
    base = open(os.environ["LAB_CONF"]).read()
    # The daemon's own section stays; mailbox lab is replaced by one
    # mailbox per check.
    base = base[:base.index("[mailbox lab]")]
    wrong = os.path.join(os.environ["LAB_STATE_DIR"], "wrong.password")
    fd = os.open(wrong, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, b"not-the-password\n")
    os.close(fd)
    text = base + "\n[profile modern]\npublic_roots = " + os.path.join(
        os.environ["LAB_DIR"], "fe-root.pem") + "\ntls_min = 1.2\n"
    for box, (host, extra, _, _, _) in CHECKS.items():
        cred = wrong if extra == "wrongpw" else os.environ[
            "LAB_PASSWORD_FILE"]
        prof = "modern" if extra == "modern" else "lync-phone-edition"
        text += (f"\n[mailbox {box}]\naddress = lab@contoso.com\n"
                 f"account = CONTOSO\\lab\ncredential = {cred}\n"
                 f"profiles = {prof}\n"
                 f"ews_internal_url = https://{host}.contoso.com/EWS/"
                 "Exchange.asmx\n")
    conf = os.path.join(os.environ["LAB_STATE_DIR"], "checks.conf")
    with open(conf, "w") as f:
        f.write(text)
    for box, (host, _, verdict, reason, words) in CHECKS.items():
        rc, out = once(ewsprobed, conf, box)
        got = verdict_of(out)
        check(got == (verdict, reason), f"{box}: {got}, want "
              f"{(verdict, reason)}:\n{out}")
        check(words in out, f"{box}: {words!r} not in:\n{out}")
        check(rc == {"ok": 0, "warning": 1, "critical": 2}[verdict],
              f"{box}: exit status {rc}")
        no_secrets(out)
    # All at once: the runs overlap (up to [daemon] concurrency), the
    # report keeps the configuration's order and each target's verdict.
    p = subprocess.run([ewsprobed, "--once", "--json", "-f", conf],
                       capture_output=True, text=True, timeout=300)
    doc = result_doc(p.stdout)
    got = [(t["mailbox"], t["last_run"]["verdict"]) for t in doc["targets"]]
    want = [(box, v[2]) for box, v in CHECKS.items()]
    check(got == want, f"all at once: {got}, want {want}")
    check(p.returncode == 2, f"all at once: exit status {p.returncode}")
    agree(ewsprobed, conf, doc)
    with open(os.environ["LAB_REQUEST_LOG"]) as f:
        recs = [json.loads(line) for line in f]
    refused = ("expired.contoso.com", "wrongname.contoso.com")
    check(not any(r["authorization"] for r in recs if r["server"] in
                  refused), "credentials sent to a refused chain")
    check(any(r["authorization"] == "NTLM" for r in recs
              if r["server"] == "wildcard.contoso.com"),
          "no sign-in where phones trust the chain")


def agree(ewsprobed, conf, doc):
    """Every field and line says the same thing (issue 14 section 2)."""
    urls = {t["mailbox"]: t["last_run"]["urls"][0] for t in doc["targets"]}
    tgts = {t["mailbox"]: t["last_run"] for t in doc["targets"]}
    # A warning never has reason ok, at the URL or the target.
    for box, t in tgts.items():
        if t["verdict"] == "warning":
            check(t["reason"] != "ok" and urls[box]["reason"] != "ok",
                  f"{box}: a warning with reason ok: {t}")
    w = urls["wildcard"]
    check((w["reason"], w["warning"], w["phone_error"]) ==
          ("cert_phone_risk", True, None), f"wildcard: {w}")
    check("stop Exchange integration on phones" in w["message"],
          f"wildcard message: {w['message']}")
    # phone_trusted: would phones accept this connection; the chain
    # alone is phone_chain_trusted. Expired / wrong name: phones and
    # PCs refuse it though the chain is fine.
    for box, reason in (("expired", "cert_expired"),
                        ("wrongname", "cert_name_mismatch")):
        u = urls[box]
        check((u["phone_trusted"], u["phone_chain_trusted"],
               u["system_trusted"], u["system_reason"]) ==
              (False, True, False, reason), f"{box}: {u}")
    # ecdsa: the phones' handshake fails, so phones do not accept it.
    check(urls["ecdsa"]["phone_trusted"] is False, f"ecdsa: {urls['ecdsa']}")
    # nointermediate: phones accept it, PCs cannot build the chain.
    u = urls["nointermediate"]
    check((u["phone_trusted"], u["system_trusted"], u["system_reason"],
           u["system_chain_trusted"]) ==
          (True, False, "cert_untrusted", False), f"nointermediate: {u}")
    # ... and the text report marks each policy on its own line.
    rc, out = once(ewsprobed, conf, "nointermediate")
    check("and the system store" not in out, f"one line for both:\n{out}")
    check(re.search(r"✓ certificate under lync-phone-edition \(phones\)",
                    out) is not None, f"no phone line:\n{out}")
    check(re.search(r"✗ certificate under the system store \(PCs\)[^\n]*\n"
                    r"\s+PCs refuse it: cert_untrusted", out) is not None,
          f"no system line with its reason:\n{out}")


def inside_cli(ewsprobed):
    """--once without a file: flags describe the mailbox; --json."""
    lab = os.environ["LAB_DIR"]
    base = [ewsprobed, "--once", "--address", "lab@contoso.com",
            "--account", "CONTOSO\\lab", "--password-file",
            os.environ["LAB_PASSWORD_FILE"], "--frontend",
            "lyncpool.contoso.com", "--dns-server", os.environ["LAB_DNS"],
            "--system-store", os.path.join(lab, "system-store.pem"),
            "--ews-url", "https://casarray.contoso.com/EWS/Exchange.asmx"]
    p = subprocess.run(base + ["--json"], capture_output=True, text=True,
                       timeout=120)
    check(p.returncode == 2, f"exit status {p.returncode}: {p.stderr}")
    doc = result_doc(p.stdout)
    t = doc["targets"][0]["last_run"]
    check(doc["verdict"] == "critical" and doc["exit_status"] == 2,
          f"document verdict {doc['verdict']}")
    check((doc["targets"][0]["target"], t["verdict"], t["reason"],
           t["phone_error"]) ==
          ("cli/lync-phone-edition", "critical", "cert_untrusted_phone",
           12045), f"target {t}")
    check(t["hresult"] == "0x80072F0D", "hresult")
    check(any(s["kind"] == "tls" and s["result"] == "fail"
              for s in run_steps(t)), "no failed TLS step in steps")
    check(t["urls"][0]["certificates"][0]["issuer"] ==
          "CN=Issuing-CA for contoso, DC=contoso, DC=com", "certificate")
    no_secrets(p.stdout + p.stderr)
    p = subprocess.run(base + ["--trust-ca", os.path.join(lab, "cas.pem")],
                       capture_output=True, text=True, timeout=120)
    check(p.returncode == 0, f"with --trust-ca: exit {p.returncode}")
    p = subprocess.run([ewsprobed, "--once", "--address", "x@contoso.com",
                        "--account", "CONTOSO\\lab"],
                       capture_output=True, text=True, timeout=30)
    check(p.returncode == 2 and "--password-file" in p.stderr,
          f"missing flags: {p.returncode} {p.stderr}")


def unsigned(ewsprobed, want_rc):
    """--once with no account: run; check rc and that no credential went
    anywhere; return the report."""
    lab = os.environ["LAB_DIR"]
    with open(os.environ["LAB_REQUEST_LOG"]) as f:
        before = len(f.readlines())
    p = subprocess.run(
        [ewsprobed, "--once", "--address", "lab@contoso.com", "--frontend",
         "lyncpool.contoso.com", "--dns-server", os.environ["LAB_DNS"],
         "--system-store", os.path.join(lab, "system-store.pem"),
         "--ews-url", "https://casarray.contoso.com/EWS/Exchange.asmx"],
        capture_output=True, text=True, timeout=120)
    out = p.stdout + p.stderr
    check(p.returncode == want_rc, f"exit status {p.returncode}:\n{out}")
    with open(os.environ["LAB_REQUEST_LOG"]) as f:
        recs = [json.loads(line) for line in f.readlines()[before:]]
    check(any(r["server"] == "casarray.contoso.com" for r in recs),
          "EWS was not asked")
    check(not any(r["authorization"] for r in recs),
          "an Authorization header without an account")
    return out


def inside_unsigned(ewsprobed):
    """No account and credential: the incident is still found (it is a TLS
    failure); once fixed, the URL is ok and the sign-in is marked untested."""
    out = unsigned(ewsprobed, 2)
    check(verdict_of(out) == ("critical", "cert_untrusted_phone"),
          f"incident without sign-in: {verdict_of(out)}")
    check("errorCode=12045" in out, "12045 missing")
    subprocess.run([os.path.join(os.environ["LAB_TOOLS"], "contoso"),
                    "switch", "fixed-reissued"], check=True, timeout=60)
    out = unsigned(ewsprobed, 0)
    check(verdict_of(out)[0] == "ok", f"fixed without sign-in:\n{out}")
    for text in ("offers Negotiate, NTLM",
                 "sign-in not tested: the mailbox has no account and "
                 "credential", "(sign-in not tested)"):
        check(text in out, f"{text!r} not in:\n{out}")


INSIDE = {"incident": inside_incident, "fixed": inside_fixed,
          "checks": inside_checks, "cli": inside_cli,
          "unsigned": inside_unsigned}


def lab(scenario, name, ewsprobed):
    """Run one inside check in a lab."""
    run_in_lab(SOURCE, scenario, __file__, "--inside", name, ewsprobed)


def test_incident():
    """The incident: critical with both CAs and the fixes."""
    lab("incident", "incident", EWSPROBED)


def test_fixes():
    """Both fixes make phones work again."""
    lab("incident", "fixed", EWSPROBED)


def test_cli_and_json():
    """--once from flags alone, and its JSON report."""
    lab("incident", "cli", EWSPROBED)


def test_unsigned():
    """Without account and credential: TLS and NTLM offer only."""
    lab("incident", "unsigned", EWSPROBED)


def test_phone_checks():
    """Every phone pitfall gives its documented reason or warning."""
    lab("phone-checks", "checks", EWSPROBED)


if len(sys.argv) == 4 and sys.argv[1] == "--inside":
    run_inside(sys.argv[2], INSIDE[sys.argv[2]], sys.argv[3])

EWSPROBED, SOURCE = lab_args()
run_tests([test_incident, test_fixes, test_cli_and_json, test_unsigned,
           test_phone_checks])
