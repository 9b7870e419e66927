#!/usr/bin/python3
"""Integration test: discovery judged under the phone's policy (issue 14
§1), in the lab.

discovery-ca: the Autodiscover host's certificate comes from a CA PCs trust
and phones do not (12045 during discovery); discovery-tls: the Autodiscover
host refuses TLS 1.0 (12157); discovery-nosni-reset: it resets the phone's
own hello, which sends no SNI (12031); discovery-nosni-default: without SNI
it answers with its default certificate, from the CAS's CA (12045), while
a client with SNI gets the right one (issue 18). Each is critical with its
discovery reason,
the phone's code, the host, the issuer as the certificate spells it, the
anchors phones have and the fixes, in `--once`, `--once --json`, the
journal and the status file; EWS is still checked at the URLs PCs found.
Their fixed variants (discovery-ca-fixed: the CA published as web-trusted;
discovery-tls-fixed: TLS 1.0 enabled again) are ok, and so is
discovery-legacy, a host that accepts of the phones' suites only the 3DES
and RC4 this platform's OpenSSL lacks: the phone's own hello gets the right
certificate, so phones go on (the answer read over the PCs' connection). A mailbox under two
profiles with the same TLS range is discovered once (one handshake per
candidate judged under both profiles' anchors); a profile with another
range gets its own discovery.

  test-discovery-phone.py EWSPROBED SOURCE
"""
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from ewstest import (check, lab_args, lab_journal, lab_status,  # noqa: E402
                     result_doc, run_in_lab, run_inside, run_tests,
                     wait_exit)

MSGID_DOWN = "39f4c06529b34f678a50fe21ce9564d3"
TARGET = "lab/lync-phone-edition"
AD = "https://autodiscover.contoso.com/autodiscover/autodiscover.svc"
CAS = "CN=Issuing-CA for contoso, DC=contoso, DC=com"
FE = "CN=Issuing CA for contoso,com"

# scenario: (reason, code, HRESULT, words every view shows, remedy words)
BROKEN = {
    "discovery-ca": (
        "autodiscover_cert_untrusted_phone", 12045, "0x80072F0D",
        (f"issued by '{CAS}'", f"they trust '{FE}'", "PCs do trust it",
         "during discovery"),
        ("reissue the Autodiscover certificate of autodiscover.contoso.com "
         f"from '{FE}'", "New-CsWebTrustedCACertificate")),
    "discovery-tls": (
        "autodiscover_tls_refused", 12157, "0x80072F7D",
        ("the server refuses TLS 1.0", "during discovery"),
        ("enable TLS 1.0 on the Autodiscover site "
         "autodiscover.contoso.com",)),
    "discovery-nosni-reset": (
        "autodiscover_tls_reset", 12031, "0x80072EFF",
        ("without SNI, autodiscover.contoso.com resets the connection",
         "phones that send no SNI fail", "during discovery"),
        ("on the Autodiscover site autodiscover.contoso.com: serve a "
         "certificate to clients without SNI",
         "'Require Server Name Indication' off")),
    "discovery-nosni-default": (
        "autodiscover_cert_untrusted_phone", 12045, "0x80072F0D",
        ("without SNI, autodiscover.contoso.com answers with "
         "'CN=default.contoso.com' (its default binding), not "
         "'CN=autodiscover.contoso.com' as with SNI",
         f"issued by '{CAS}'", f"they trust '{FE}'", "during discovery"),
        ("on the Autodiscover site autodiscover.contoso.com: serve the "
         "right certificate to clients without SNI",
         "'Require Server Name Indication' off")),
}
# The certificate phones met during discovery: its issuer, whether PCs
# would accept it for the host (None: phones got none).
PHONE_CERT = {
    "discovery-ca": (CAS, "yes"),
    "discovery-nosni-default": (CAS, "no"),
}


def once(ewsprobed, *args):
    """Run --once on LAB_CONF; return (exit status, stdout + stderr)."""
    p = subprocess.run([ewsprobed, "--once", *args, "-f",
                        os.environ["LAB_CONF"]], capture_output=True,
                       text=True, timeout=180)
    return p.returncode, p.stdout + ("" if "--json" in args else p.stderr)


def daemon_conf():
    """LAB_CONF probing every second, alerting after two failed runs."""
    with open(os.environ["LAB_CONF"]) as f:
        text = f.read()
    for key, value in (("interval", "1s"), ("retry_interval", "1s"),
                       ("fail_after", "2"), ("recover_after", "2")):
        text = re.sub(rf"(?m)^{key} = .*$", f"{key} = {value}", text)
    path = os.path.join(os.environ["LAB_STATE_DIR"], "daemon.conf")
    with open(path, "w") as f:
        f.write(text)
    return path


def check_text(scenario, words, where, text):
    """Every one of words is in text."""
    for w in words:
        check(w in text, f"{scenario}: {w!r} missing from {where}:\n{text}")


def inside_broken(scenario, ewsprobed):
    """Critical with the discovery reason in every view."""
    reason, code, hresult, words, fixes = BROKEN[scenario]
    rc, out = once(ewsprobed)
    check(rc == 2, f"{scenario}: exit {rc}, want 2:\n{out}")
    check(f"verdict: critical — reason {reason}, phones log "
          f"errorCode={code} ({hresult})" in out,
          f"{scenario}: verdict line:\n{out}")
    check_text(scenario, words + fixes + (AD,), "--once", out)
    check("phones find no EWS URL" in out, f"{scenario}: discovery line")
    # EWS is still checked at the URLs PCs found (it works there).
    check(re.search(r"✓ internal EWS https://casarray", out) is not None,
          f"{scenario}: EWS not checked:\n{out}")

    rc, out = once(ewsprobed, "--json")
    t = result_doc(out)["targets"][0]["last_run"]
    check(t["verdict"] == "critical" and t["reason"] == reason and
          t["phone_error"] == code and t["hresult"] == hresult,
          f"{scenario}: JSON {t['verdict']} {t['reason']}")
    check_text(scenario, words, "the JSON message", t["message"])
    check_text(scenario, fixes, "the JSON remedy", t["remedy"])
    ad = t["autodiscover"]
    check(ad["found"] and not ad["phone_found"] and
          ad["phone_reason"] == reason and ad["phone_error"] == code and
          ad["phone_url"] == AD, f"{scenario}: autodiscover {ad}")
    issuer, pc_trusted = PHONE_CERT.get(scenario, (None, None))
    check(ad["phone_cert_issuer"] == issuer, f"{scenario}: issuer {ad}")
    check(all(u["reason"] == "ok" for u in t["urls"]) and
          len(t["urls"]) == 2, f"{scenario}: EWS {t['urls']}")

    err = open(os.path.join(os.environ["LAB_STATE_DIR"], "stderr"), "w")
    d = subprocess.Popen([ewsprobed, "-f", daemon_conf()], stderr=err)
    try:
        deadline = time.monotonic() + 60
        while not lab_journal(MSGID_DOWN):
            check(time.monotonic() < deadline, f"{scenario}: no alert")
            time.sleep(0.2)
        e = lab_journal(MSGID_DOWN)[0]
        check(e["EWSPROBED_REASON"] == reason and
              e["EWSPROBED_PHONE_ERROR"].startswith(f"{code} ") and
              e["EWSPROBED_ROLE"] == "autodiscover" and
              e["EWSPROBED_URL"] == AD, f"{scenario}: journal {e}")
        if issuer is not None:
            check(e["EWSPROBED_CERT_ISSUER"] == issuer and
                  e["EWSPROBED_SYSTEM_TRUSTED"] == pc_trusted,
                  f"{scenario}: journal certificate {e}")
        else:
            check("EWSPROBED_CERT_ISSUER" not in e,
                  f"{scenario}: journal certificate {e}")
        check_text(scenario, words, "the journal", e["MESSAGE"])
        check_text(scenario, fixes, "the journal remedy",
                   e["EWSPROBED_REMEDY"])
        # The status file follows the journal entry (it is written after).
        while True:
            st = lab_status()
            t = [x for x in st["targets"] if x["target"] == TARGET][0]
            if t["state"] == "critical":
                break
            check(time.monotonic() < deadline, f"{scenario}: status {t}")
            time.sleep(0.2)
        run = t["last_run"]
        check(t["state"] == "critical" and run["reason"] == reason and
              run["phone_error"] == code, f"{scenario}: status {t}")
        check_text(scenario, words, "the status message", run["message"])
        check_text(scenario, fixes, "the status remedy", run["remedy"])
        ad = run["autodiscover"]
        check(not ad["phone_found"] and ad["phone_url"] == AD and
              ad["steps"], f"{scenario}: status autodiscover {ad}")
    finally:
        d.terminate()
        wait_exit(d, 30)
    with open(os.environ["LAB_TLS_LOG"]) as f:
        recs = [json.loads(line) for line in f
                if json.loads(line)["server"] == "autodiscover.contoso.com"]
    if scenario == "discovery-tls":
        check(any(not r["ok"] for r in recs),
              "no refused TLS 1.0 handshake with the Autodiscover host")
    if scenario == "discovery-nosni-reset":
        # The lab reset the phone's hello (no SNI) and served the others.
        check(any(r.get("error") == "reset" and r["sni"] is False
                  for r in recs) and any(r["ok"] for r in recs),
              f"{scenario}: no reset of a hello without SNI: {recs}")


def inside_fixed(scenario, ewsprobed):
    """The fixed variant: ok, phones find the URLs themselves."""
    rc, out = once(ewsprobed)
    check(rc == 0 and "verdict: ok" in out, f"{scenario}: exit {rc}:\n{out}")
    if scenario == "discovery-legacy":
        check("their own hello got a certificate they accept" in out and
              re.search(r"TLSv1, TLS_RSA_WITH_(RC4_128|3DES_EDE_CBC)_SHA, "
                        r"certificate 'CN=autodiscover.contoso.com'", out)
              is not None, f"{scenario}: the phone's hello:\n{out}")
    rc, out = once(ewsprobed, "--json")
    t = result_doc(out)["targets"][0]["last_run"]
    ad = t["autodiscover"]
    check(t["reason"] == "ok" and ad["phone_found"] and
          ad["phone_reason"] == "ok" and ad["phone_error"] is None and
          ad["source"] == AD, f"{scenario}: {t['reason']} {ad}")


def shared_conf(profiles, concurrency=1):
    """LAB_CONF, concurrency runs at a time, mailbox lab under profiles; the extra
    profiles "second" (as phones: TLS 1.0, the pool's CA from a file) and
    "modern" (TLS 1.2 and later)."""
    with open(os.environ["LAB_CONF"]) as f:
        text = f.read()
    text = re.sub(r"(?m)^concurrency = .*$", f"concurrency = {concurrency}", text)
    text = re.sub(r"(?m)^profiles = .*$", "profiles = " + ", ".join(profiles),
                  text)
    fe = os.path.join(os.environ["LAB_DIR"], "fe.pem")
    text += (f"\n[profile second]\nfrontend_ca = {fe}\ntls_min = 1.0\n"
             f"tls_max = 1.0\n\n[profile twin]\nfrontend_ca = {fe}\n"
             "tls_min = 1.0\ntls_max = 1.0\n\n[profile modern]\n"
             f"frontend_ca = {fe}\n"
             "tls_min = 1.2\ntls_max = 1.3\n")
    path = os.path.join(os.environ["LAB_STATE_DIR"], "shared.conf")
    with open(path, "w") as f:
        f.write(text)
    return path


def ad_handshakes():
    """How many TLS handshakes autodiscover.contoso.com has completed (the
    phone's own raw hello never completes one: it stops at the server's
    first flight, and only lync-phone-edition sends it)."""
    with open(os.environ["LAB_TLS_LOG"]) as f:
        return sum(1 for line in f
                   if json.loads(line)["server"] == "autodiscover.contoso.com"
                   and json.loads(line)["ok"])


def discovered(ewsprobed, profiles, concurrency=1):
    """Run --once --json under profiles, concurrency runs at a time:
    (handshakes with the Autodiscover host, {profile: target})."""
    before = ad_handshakes()
    p = subprocess.run([ewsprobed, "--once", "--json", "-f",
                        shared_conf(profiles, concurrency)],
                       capture_output=True,
                       text=True, timeout=180)
    check(p.returncode == 0, f"{profiles}: exit {p.returncode}:\n"
          f"{p.stdout}{p.stderr}")
    targets = {t["profile"]: t["last_run"]
               for t in result_doc(p.stdout)["targets"]}
    return ad_handshakes() - before, targets


def inside_shared(ewsprobed):
    """Profiles whose TLS agrees share one discovery; others do not."""
    alone, t = discovered(ewsprobed, ["lync-phone-edition"])
    check(alone > 0 and t["lync-phone-edition"]["autodiscover"]["found"],
          f"no discovery: {alone} handshakes")
    shared, t = discovered(ewsprobed, ["lync-phone-edition", "second"])
    check(shared == alone, f"two agreeing profiles: {shared} handshakes "
          f"with the Autodiscover host, one alone: {alone}")
    check(t["lync-phone-edition"]["autodiscover"]["phone_found"] and
          t["second"]["autodiscover"] is None and
          t["second"]["verdict"] == "ok", f"second: {t['second']}")
    # Runs at the same time whose anchors are complete from the start (the
    # pool's CA from a file): one run waits for the other's discovery
    # rather than making the same handshakes.
    one, t = discovered(ewsprobed, ["second"])
    together, t = discovered(ewsprobed, ["second", "twin"], 4)
    check(together == one, f"two agreeing profiles at once: {together} "
          f"handshakes with the Autodiscover host, one alone: {one}")
    check(sorted(x["autodiscover"] is None for x in t.values()) ==
          [False, True] and all(x["verdict"] == "ok" for x in t.values()),
          f"at once: {t}")
    apart, t = discovered(ewsprobed, ["lync-phone-edition", "modern"])
    check(apart == 2 * alone, f"another TLS range: {apart} handshakes, "
          f"want {2 * alone}")
    check(t["modern"]["autodiscover"]["phone_found"],
          f"modern: {t['modern']['autodiscover']}")


def inside(scenario, ewsprobed):
    """One scenario, from inside its lab."""
    if scenario == "shared":
        inside_shared(ewsprobed)
    elif scenario in BROKEN:
        inside_broken(scenario, ewsprobed)
    else:
        inside_fixed(scenario, ewsprobed)


def lab_test(scenario, lab=None):
    """A test function running one check in the lab of scenario (or of
    lab, when the check is not a scenario)."""
    def test():
        run_in_lab(SOURCE, lab or scenario, __file__, "--inside", scenario,
                   EWSPROBED)
    test.__name__ = "test_" + scenario.replace("-", "_")
    return test


if len(sys.argv) == 4 and sys.argv[1] == "--inside":
    run_inside(sys.argv[2], inside, sys.argv[2], sys.argv[3])

EWSPROBED, SOURCE = lab_args()
run_tests([lab_test(s) for s in ("discovery-ca", "discovery-ca-fixed",
                                 "discovery-tls", "discovery-tls-fixed",
                                 "discovery-nosni-reset",
                                 "discovery-nosni-default",
                                 "discovery-legacy")] +
          [lab_test("shared", "healthy")])
