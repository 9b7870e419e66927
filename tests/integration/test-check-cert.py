#!/usr/bin/python3
"""Integration test: the admin commands check-cert, anchors and status
(issue "Before the change: will phones trust this certificate?").

In the lab (root; skipped otherwise): the incident's CAS certificate from
"Issuing-CA for contoso, DC=contoso, DC=com" is refused for phones with
12045 and both fixes; the reissued one passes; the incident's passes once
its CA is web-trusted; wildcard, expiring, missing and extra
intermediates give their findings; a live --host check matches the file
check; anchors lists the learned issuer and the web-trusted CAs with
their fingerprints; status matches a running daemon's status file.
Anywhere: bad files (a private key, not a certificate, unreadable) and
status files with known content in every state, stale and missing.

  test-check-cert.py EWSPROBED SOURCE         run from outside
  test-check-cert.py --inside NAME EWSPROBED  (internal) one check in a lab
"""
import datetime
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from ewstest import (Skip, TestFailure, check, result_doc,  # noqa: E402
                     run_in_lab, run_inside, run_tests, tempdir,
                     write_file)

CAS_DN = "CN=Issuing-CA for contoso, DC=contoso, DC=com"
FE_DN = "CN=Issuing CA for contoso,com"
HOST = "casarray.contoso.com"
PUBLISH = ("publish its CA ('" + CAS_DN + "') with "
           "New-CsWebTrustedCACertificate before you install it")
REISSUE = "or reissue the certificate from '" + FE_DN + "'"


def run(ewsprobed, *args, timeout=120):
    """Run ewsprobed; return (status, stdout, stderr)."""
    p = subprocess.run([ewsprobed, *args], capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def check_cert(ewsprobed, conf, *args):
    """check-cert --json; return (status, document)."""
    rc, out, err = run(ewsprobed, "check-cert", "-f", conf, "--json", *args)
    check(rc in (0, 1, 2, 3), f"check-cert exit {rc}: {err}")
    try:
        return rc, json.loads(out)
    except ValueError:
        raise TestFailure(f"not JSON: {out!r} {err!r}")


def result(doc, profile="lync-phone-edition", name=HOST):
    """The result for name under profile."""
    for p in doc["profiles"]:
        if p["profile"] == profile:
            for r in p["results"]:
                if r["name"] == name:
                    return r
    raise TestFailure(f"no result for {name} under {profile}: {doc}")


def sha256(pem):
    """The SHA-256 fingerprint of a PEM certificate, lower-case hex."""
    p = subprocess.run(["openssl", "x509", "-in", pem, "-noout",
                        "-fingerprint", "-sha256"], capture_output=True,
                       text=True, check=True)
    return p.stdout.strip().split("=", 1)[1].replace(":", "").lower()


def sha1(pem):
    """The SHA-1 thumbprint as Windows shows it."""
    p = subprocess.run(["openssl", "x509", "-in", pem, "-noout",
                        "-fingerprint", "-sha1"], capture_output=True,
                       text=True, check=True)
    return p.stdout.strip().split("=", 1)[1].replace(":", "").upper()


def lab_conf(extra_profile=""):
    """LAB_CONF with lines added to its phone profile; return its path."""
    with open(os.environ["LAB_CONF"]) as f:
        text = f.read()
    text = text.replace("[profile lync-phone-edition]\n",
                        "[profile lync-phone-edition]\n" + extra_profile)
    path = os.path.join(os.environ["LAB_STATE_DIR"],
                        f"cc-{abs(hash(extra_profile))}.conf")
    with open(path, "w") as f:
        f.write(text)
    return path


def leaf(spec):
    """A served chain from the lab's PKI (same authorities as the lab)."""
    sys.path.insert(0, os.environ["LAB_TOOLS"])
    import pki
    return pki.PKI().leaf(spec)["chain"]


def inside_incident(ewsprobed):
    """The incident's certificate, the reissued one, and the web-trusted
    fix, judged from files before anything is installed."""
    conf = lab_conf()
    incident = os.path.join(os.environ["LAB_DIR"], f"{HOST}.chain.pem")
    rc, out, err = run(ewsprobed, "check-cert", "-f", conf, incident,
                       "--name", HOST)
    check(rc == 2, f"incident: exit {rc}:\n{out}{err}")
    for text in ("cert_untrusted_phone", "errorCode=12045 (0x80072F0D)",
                 f"issuer: '{CAS_DN}', sent at position 1",
                 "not an anchor of profile lync-phone-edition",
                 f"Front End issuer: '{FE_DN}', learned now",
                 PUBLISH, REISSUE, "PCs (system store): trusted",
                 "CRITICAL: phones will not trust this certificate"):
        check(text in out, f"incident: {text!r} not in:\n{out}")
    rc, doc = check_cert(ewsprobed, conf, incident, "--name", HOST)
    r = result(doc)
    check((rc, doc["verdict"], r["verdict"], r["reason"], r["phone_error"],
           r["hresult"]) == (2, "critical", "critical",
                             "cert_untrusted_phone", 12045, "0x80072F0D"),
          f"incident JSON: {r}")
    check(r["issuer"]["subject"] == CAS_DN and not r["issuer"]["lookalike"]
          and r["issuer"]["sha256"] == sha256(
              os.path.join(os.environ["LAB_DIR"], "cas.pem")),
          f"issuer: {r['issuer']}")
    check(r["fixes"][0] == PUBLISH and r["fixes"][1].startswith(REISSUE),
          f"fixes: {r['fixes']}")
    check(r["system"]["trusted"], "PCs trust the incident's chain")
    # The same certificate reissued from the pool's CA: phones trust it.
    reissued = leaf({"issuer": "fe", "names": [HOST]})
    rc, doc = check_cert(ewsprobed, conf, reissued, "--name", HOST)
    r = result(doc)
    check((rc, r["verdict"], r["reason"], r["phone"]["anchor"],
           r["fixes"]) == (0, "ok", "ok", FE_DN, []), f"reissued: {r}")
    # The incident's certificate once its CA is web-trusted.
    trusted = lab_conf("web_trusted_ca = " + os.path.join(
        os.environ["LAB_DIR"], "cas.pem") + "\n")
    rc, doc = check_cert(ewsprobed, trusted, incident, "--name", HOST)
    r = result(doc)
    check((rc, r["verdict"], r["phone"]["anchor"],
           r["phone"]["anchor_source"]) == (0, "ok", CAS_DN, "web-trusted"),
          f"web-trusted: {r}")
    # A name the certificate does not hold: 12038.
    rc, doc = check_cert(ewsprobed, conf, reissued, "--name",
                         "mail.contoso.com")
    r = result(doc, name="mail.contoso.com")
    check((rc, r["reason"], r["phone_error"]) ==
          (2, "cert_name_mismatch", 12038), f"name mismatch: {r}")
    # trusted: the policy accepts it; the chain alone apart (issue 14).
    check((r["phone"]["trusted"], r["phone"]["chain_trusted"],
           r["system"]["trusted"], r["system"]["reason"]) ==
          (False, True, False, "cert_name_mismatch"), f"name mismatch: {r}")


FINDINGS = {
    # variant: (extra names, finding kind, words in a fix)
    "wildcard": (["*.contoso.com"], [], "wildcard_name",
                 "names the EWS host itself"),
    "expiring": ([HOST], ["expiring"], "cert_expiring",
                 "renewed well before they expire"),
    "missing": ([HOST], ["missing_intermediate"], "missing_intermediate",
                "add the intermediate ('" + FE_DN + "') to the chain you "
                "serve"),
    "extra": ([HOST], ["extra_intermediate"], "extra_intermediates",
              "only the issuing CA"),
}


WARNING_REASONS = {"wildcard": "cert_phone_risk", "expiring": "cert_expiring",
                   "missing": "cert_untrusted", "extra": "cert_phone_risk"}


def inside_findings(ewsprobed):
    """Phones would trust these, with risks: warning, finding and fix."""
    conf = lab_conf()
    for what, (names, variant, kind, fix) in FINDINGS.items():
        chain = leaf({"issuer": "fe", "names": names, "variant": variant})
        rc, doc = check_cert(ewsprobed, conf, chain, "--name", HOST)
        r = result(doc)
        kinds = [f["kind"] for f in r["findings"]]
        check(rc == 1 and r["verdict"] == "warning" and kind in kinds,
              f"{what}: exit {rc}, {r['verdict']}, findings {kinds}")
        # A warning's reason names its risk, never ok (issue 14).
        check(r["reason"] == WARNING_REASONS[what],
              f"{what}: reason {r['reason']}, want {WARNING_REASONS[what]}")
        check(any(fix in f for f in r["fixes"]),
              f"{what}: no fix with {fix!r}: {r['fixes']}")
        rc, out, _ = run(ewsprobed, "check-cert", "-f", conf, chain,
                         "--name", HOST)
        check(f"finding: {kind}" in out and "WARNING" in out,
              f"{what}: text report:\n{out}")


def comparable(r):
    """A result without the words that name the source."""
    return {k: v for k, v in r.items() if k != "message"}


def inside_host(ewsprobed):
    """--host: the live handshake (TLS 1.0, as phones) gives the same
    judgement as the file of the same chain; no sign-in is tried."""
    conf = lab_conf()
    incident = os.path.join(os.environ["LAB_DIR"], f"{HOST}.chain.pem")
    with open(os.environ["LAB_REQUEST_LOG"]) as f:
        before = len(f.readlines())
    rc_file, by_file = check_cert(ewsprobed, conf, incident, "--name", HOST)
    rc_host, by_host = check_cert(ewsprobed, conf, "--host", HOST, "--name",
                                  HOST)
    check(rc_file == rc_host == 2, f"exit {rc_file} vs {rc_host}")
    check(comparable(result(by_file)) == comparable(result(by_host)),
          f"file {result(by_file)}\nhost {result(by_host)}")
    hs = by_host["profiles"][0]["handshake"]
    check(hs["tls_version"] == "TLSv1" and hs["address"].startswith(
        "127.0.1.3"), f"handshake {hs}")
    check([c["sha256"] for c in by_host["profiles"][0]["certificates"]] ==
          [c["sha256"] for c in by_file["certificates"]],
          "the host presented another chain than the file's")
    with open(os.environ["LAB_REQUEST_LOG"]) as f:
        recs = [json.loads(line) for line in f.readlines()[before:]]
    check(not any(r["authorization"] for r in recs),
          "an Authorization header from check-cert")
    # A port nothing listens on: a clear unknown, not a crash.
    rc, doc = check_cert(ewsprobed, conf, "--host", HOST + ":4443",
                         "--name", HOST)
    r = result(doc)
    check(rc == 3 and r["reason"] == "connect_failed", f"closed port: {r}")


def inside_anchors(ewsprobed):
    """anchors: the learned Front End issuer, then the web-trusted CAs."""
    lab = os.environ["LAB_DIR"]
    conf = lab_conf("web_trusted_ca = " + os.path.join(lab, "cas.pem") +
                    ", " + os.path.join(lab, "public.pem") + "\n")
    rc, out, err = run(ewsprobed, "anchors", "-f", conf)
    check(rc == 0, f"anchors exit {rc}: {err}")
    check(f"Front End issuer: '{FE_DN}', learned now from the Lync pool "
          "lyncpool.contoso.com port 443" in out, out)
    for name, dn in (("fe", FE_DN), ("cas", CAS_DN)):
        pem = os.path.join(lab, f"{name}.pem")
        check(dn in out and sha256(pem) in out and sha1(pem) in out,
              f"{name} not listed with its fingerprints:\n{out}")
    rc, out, err = run(ewsprobed, "anchors", "-f", conf, "--json")
    doc = json.loads(out)
    got = [(a["source"], a["subject"]) for a in doc["profiles"][0]["anchors"]]
    check(got == [("web-trusted", CAS_DN),
                  ("web-trusted",
                   "CN=Lab Public TLS CA, O=Lab Public Trust, C=US"),
                  ("frontend", FE_DN)], f"anchors {got}")
    fe = doc["profiles"][0]["frontend"]
    check(fe["learned"] and fe["issuer"] == FE_DN, f"frontend {fe}")


def inside_status(ewsprobed):
    """status reads what a running daemon wrote, as it is in the file."""
    with open(os.environ["LAB_CONF"]) as f:
        text = f.read()
    for key, value in (("interval", "1s"), ("retry_interval", "1s"),
                       ("fail_after", "1"), ("recover_after", "1")):
        text = "\n".join(f"{key} = {value}" if line.startswith(key + " =")
                         else line for line in text.split("\n"))
    text += f"ews_internal_url = https://{HOST}/EWS/Exchange.asmx\n"
    conf = os.path.join(os.environ["LAB_STATE_DIR"], "status.conf")
    with open(conf, "w") as f:
        f.write(text)
    path = os.path.join(os.environ["LAB_STATE_DIR"], "status.json")
    rc, out, err = run(ewsprobed, "status", "-f", conf)
    check(rc == 3 and "does not exist" in err, f"no file yet: {rc} {err}")
    d = subprocess.Popen([ewsprobed, "-d", "-f", conf],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        doc = None
        while doc is None or doc["targets"][0]["state"] != "critical":
            check(time.monotonic() < deadline, f"no critical state: {doc}")
            time.sleep(0.2)
            try:
                with open(path) as f:
                    doc = json.load(f)
            except (FileNotFoundError, ValueError):
                doc = None
        d.terminate()
        d.wait(timeout=30)
    finally:
        if d.poll() is None:
            d.kill()
            d.wait()
    with open(path) as f:
        doc = json.load(f)
    rc, out, err = run(ewsprobed, "status", "-f", conf, "--max-age", "1h")
    t = doc["targets"][0]
    row = [line.split() for line in out.splitlines()
           if line.startswith(t["target"] + " ")]
    check(rc == 2 and row == [[t["target"], t["profile"], t["state"],
                               t["since"], t["last_run"]["reason"],
                               str(t["last_run"]["phone_error"]),
                               t["last_run"]["started"]]],
          f"status {rc}: {row} vs {t}:\n{out}{err}")
    rc, out, err = run(ewsprobed, "status", "-f", conf, "--max-age", "1h",
                       "--json")
    got = result_doc(out)   # checked against the schema
    check(got["schema"] == 1 and got["document"] == "status_view" and
          got["stale"] is False and got["worst_state"] == "critical",
          f"status --json: {got}")
    check(rc == 2 and got["targets"] == doc["targets"] and
          got["daemon"] == doc["daemon"], "status --json is not the file's")


INSIDE = {"incident": inside_incident, "findings": inside_findings,
          "host": inside_host, "anchors": inside_anchors,
          "status": inside_status}


def lab(name):
    """Run one inside check in the incident lab (root only)."""
    if os.geteuid() != 0:
        raise Skip("the lab needs root")
    run_in_lab(SOURCE, "incident", __file__, "--inside", name, EWSPROBED)


def test_incident_and_fixes():
    """12045 and both fixes; reissued and web-trusted pass."""
    lab("incident")


def test_findings():
    """Wildcard, expiring, missing and extra intermediates."""
    lab("findings")


def test_live_host_matches_file():
    """--host judges the live chain as the file's."""
    lab("host")


def test_anchors():
    """The learned issuer and the web-trusted CAs, with fingerprints."""
    lab("anchors")


def test_status_live():
    """status matches a running daemon's status file."""
    lab("status")


def plain_conf(d, status_file, extra=""):
    """A configuration for the tests that need no lab."""
    return write_file(os.path.join(d, "ewsprobed.conf"), f"""[daemon]
interval = 5m
status_file = {status_file}
metrics_file =
dns_servers = 127.0.0.1:9
{extra}
[profile lync-phone-edition]
frontend_ca = {os.path.join(d, "ca.pem")}

[mailbox lab]
address = lab@contoso.com
ews_internal_url = https://{HOST}/EWS/Exchange.asmx
""")


def make_cert(d):
    """A CA and a leaf for HOST in d, made with openssl; return paths."""
    def ossl(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True,
                       capture_output=True, timeout=60)
    ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
         "ca.key", "-out", "ca.pem", "-subj", "/CN=Test CA", "-days", "30",
         "-addext", "basicConstraints=critical,CA:TRUE")
    ossl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "leaf.key",
         "-out", "leaf.csr", "-subj", f"/CN={HOST}")
    write_file(os.path.join(d, "ext"), f"subjectAltName=DNS:{HOST}\n")
    ossl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey",
         "ca.key", "-CAcreateserial", "-out", "leaf.pem", "-days", "300",
         "-extfile", "ext")
    return os.path.join(d, "leaf.pem"), os.path.join(d, "leaf.key")


def test_bad_files():
    """A private key, not a certificate, unreadable: exit 3, words, and
    nothing of the key printed."""
    d = tempdir()
    cert, key = make_cert(d)
    conf = plain_conf(d, "")
    with open(cert) as f, open(key) as g:
        both = write_file(os.path.join(d, "both.pem"), f.read() + g.read())
    keyline = open(key).read().splitlines()[1]
    rc, out, err = run(EWSPROBED, "check-cert", "-f", conf, both, "--name",
                       HOST)
    check(rc == 3 and "holds a private key" in err,
          f"key: {rc} {out} {err}")
    check(keyline not in out + err, "the key was echoed")
    pfx = os.path.join(d, "cert.pfx")
    subprocess.run(["openssl", "pkcs12", "-export", "-in", cert, "-inkey",
                    key, "-out", pfx, "-passout", "pass:x"], check=True,
                   capture_output=True, timeout=60)
    rc, out, err = run(EWSPROBED, "check-cert", "-f", conf, pfx)
    check(rc == 3 and "-nokeys" in err, f"pfx: {rc} {err}")
    junk = write_file(os.path.join(d, "junk.pem"), "\x1b[2Jhello\n")
    rc, out, err = run(EWSPROBED, "check-cert", "-f", conf, junk)
    check(rc == 3 and "no certificate in it" in err and "\x1b" not in err,
          f"junk: {rc} {err!r}")
    rc, out, err = run(EWSPROBED, "check-cert", "-f", conf,
                       os.path.join(d, "none.pem"))
    check(rc == 3 and "cannot open it" in err, f"missing: {rc} {err}")
    rc, out, err = run(EWSPROBED, "check-cert", "-f", conf, d)
    check(rc == 3 and "not a regular file" in err, f"dir: {rc} {err}")
    rc, out, err = run(EWSPROBED, "check-cert", "-f", conf)
    check(rc == 3 and "usage" in err, f"no file: {rc} {err}")
    # A good file without a network: the configured anchors judge it.
    rc, out, err = run(EWSPROBED, "check-cert", "-f", conf, cert)
    check(rc == 1 and f"{HOST} (ews_internal_url of mailbox lab)" in out
          and "missing_intermediate" in out, f"good file: {rc}\n{out}{err}")


def status_doc(states, written):
    """A status document as status.c writes it (its members that
    `status` reads), one target per state."""
    targets = []
    for i, st in enumerate(states):
        targets.append({
            "target": f"m{i}/lync-phone-edition", "mailbox": f"m{i}",
            "address": f"m{i}@contoso.com", "profile": "lync-phone-edition",
            "state": st, "since": "2026-12-06T00:50:00Z",
            "consecutive_failures": 0, "consecutive_successes": 1,
            "runs": 1, "last_success": None,
            "last_run": {"started": "2026-12-06T00:59:30Z",
                         "duration_ms": 12.5, "verdict": st,
                         "reason": "cert_untrusted_phone"
                         if st == "critical" else "ok",
                         "phone_error": 12045 if st == "critical"
                         else None,
                         "message": "m", "remedy": None,
                         "frontend": None, "urls": []}})
    return {"schema": 1, "document": "status",
            "daemon": {"version": "0.1.0", "pid": 1, "started": written,
                       "written": written, "config": "x"},
            "targets": targets}


def test_status_files():
    """status against files of known content: every state, the worst
    state's exit status, selection, stale and missing files."""
    d = tempdir()
    make_cert(d)
    path = os.path.join(d, "status.json")
    conf = plain_conf(d, path)
    now = datetime.datetime.now(datetime.timezone.utc)
    fresh = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    want = {"ok": 0, "warning": 1, "critical": 2, "unknown": 3,
            "pending": 3}
    for st, code in want.items():
        write_file(path, json.dumps(status_doc([st], fresh)))
        rc, out, err = run(EWSPROBED, "status", "-f", conf)
        check(rc == code, f"{st}: exit {rc}, want {code}: {err}")
        check(re.search(rf"^m0/lync-phone-edition +lync-phone-edition +"
                        rf"{st} +2026-12-06T00:50:00Z ", out, re.M),
              f"{st}: row missing:\n{out}")
    write_file(path, json.dumps(status_doc(["ok", "critical", "warning"],
                                           fresh)))
    rc, out, err = run(EWSPROBED, "status", "-f", conf)
    check(rc == 2 and "12045" in out, f"worst: {rc}\n{out}")
    rc, out, err = run(EWSPROBED, "status", "-f", conf, "m2")
    check(rc == 1 and "m1/" not in out, f"select: {rc}\n{out}")
    rc, out, err = run(EWSPROBED, "status", "m0", "-f", conf, "--json", "m2")
    got = json.loads(out)
    check([t["mailbox"] for t in got["targets"]] == ["m0", "m2"] and
          got["exit_status"] == 1, f"--json: {got}")
    old = (now - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    write_file(path, json.dumps(status_doc(["ok"], old)))
    rc, out, err = run(EWSPROBED, "status", "-f", conf)
    check(rc == 3 and "is stale" in err and "more than 900 s" in err,
          f"stale: {rc} {err}")
    rc, out, err = run(EWSPROBED, "status", "-f", conf, "--max-age", "2h")
    check(rc == 0, f"--max-age 2h: {rc} {err}")
    write_file(path, "{\"daemon\": ")
    rc, out, err = run(EWSPROBED, "status", "-f", conf)
    check(rc == 3 and "not a status file" in err, f"torn: {rc} {err}")
    os.unlink(path)
    rc, out, err = run(EWSPROBED, "status", "-f", conf)
    check(rc == 3 and "does not exist" in err, f"missing: {rc} {err}")


if len(sys.argv) == 4 and sys.argv[1] == "--inside":
    run_inside(sys.argv[2], INSIDE[sys.argv[2]], sys.argv[3])

EWSPROBED = os.path.abspath(sys.argv[1])
SOURCE = os.path.abspath(sys.argv[2])
run_tests([test_bad_files, test_status_files, test_incident_and_fixes,
           test_findings, test_live_host_matches_file, test_anchors,
           test_status_live])
