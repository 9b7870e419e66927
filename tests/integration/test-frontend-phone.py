#!/usr/bin/python3
"""Integration test: the phone's own hello at the Lync Front End pool
(issue 18), in the lab.

frontend-nosni: the pool gives a client with SNI its certificate (from the
issuer phones trust) and a client without SNI, as a phone, the default
binding's from the CAS's CA. The issuer learned stays the pool
certificate's and the verdict on Exchange is unchanged (ok), but the
finding — phones cannot connect to the pool, so they cannot sign in to
Lync — is in `--once`, `--once --json`, one journal entry per learning
(MESSAGE_ID 973997d5eafc47b081cd8a9eebb541ad) and the status file.
healthy: no finding.

  test-frontend-phone.py EWSPROBED SOURCE
"""
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

MSGID_FE_PHONE = "973997d5eafc47b081cd8a9eebb541ad"
TARGET = "lab/lync-phone-edition"
FE = "CN=Issuing CA for contoso,com"
CAS = "CN=Issuing-CA for contoso, DC=contoso, DC=com"
POOL = "https://lyncpool.contoso.com:443/"
# Words every view of the finding shows.
WORDS = (f"phones cannot connect to the Lync pool {POOL}, so they cannot "
         "sign in to Lync",
         "without SNI, lyncpool.contoso.com answers with "
         "'CN=default.contoso.com' (its default binding), not "
         "'CN=lyncpool.contoso.com' as with SNI",
         f"issued by '{CAS}'", "errorCode=12045")
FIX = "serve the right certificate to clients without SNI"


def once(ewsprobed, *args):
    """Run --once on LAB_CONF; return (exit status, stdout)."""
    p = subprocess.run([ewsprobed, "--once", *args, "-f",
                        os.environ["LAB_CONF"]], capture_output=True,
                       text=True, timeout=180)
    return p.returncode, p.stdout


def daemon_conf():
    """LAB_CONF probing every second."""
    with open(os.environ["LAB_CONF"]) as f:
        text = f.read()
    for key, value in (("interval", "1s"), ("retry_interval", "1s")):
        text = re.sub(rf"(?m)^{key} = .*$", f"{key} = {value}", text)
    path = os.path.join(os.environ["LAB_STATE_DIR"], "daemon.conf")
    with open(path, "w") as f:
        f.write(text)
    return path


def has_all(words, text, where):
    """Every one of words is in text."""
    for w in words:
        check(text is not None and w in text,
              f"{w!r} missing from {where}:\n{text}")


def inside_nosni(ewsprobed):
    """The finding in every view; the verdict stays ok."""
    rc, out = once(ewsprobed)
    check(rc == 0 and "verdict: ok" in out, f"exit {rc}, want 0:\n{out}")
    check(f"Lync Front End pool: {FE}" in out, f"issuer learned:\n{out}")
    check("finding (cert_untrusted): " in out, f"no finding line:\n{out}")
    has_all(WORDS + (FIX,), out, "--once")

    rc, out = once(ewsprobed, "--json")
    fe = result_doc(out)["targets"][0]["last_run"]["frontend"]
    check(fe["learned"] and fe["issuer"] == FE and
          fe["phone_reason"] == "cert_untrusted", f"JSON frontend {fe}")
    has_all(WORDS, fe["phone_message"], "the JSON message")
    has_all((FIX,), fe["phone_remedy"], "the JSON remedy")
    check(any(s["title"].startswith("TLS hello as lync-phone-edition")
              and s["result"] == "fail" for s in fe["steps"]),
          f"no hello step: {fe['steps']}")

    err = open(os.path.join(os.environ["LAB_STATE_DIR"], "stderr"), "w")
    d = subprocess.Popen([ewsprobed, "-f", daemon_conf()], stderr=err)
    try:
        deadline = time.monotonic() + 60
        while not lab_journal(MSGID_FE_PHONE):
            check(time.monotonic() < deadline, "no journal entry")
            time.sleep(0.2)
        e = lab_journal(MSGID_FE_PHONE)[0]
        check(e["EWSPROBED_PROFILE"] == "lync-phone-edition" and
              e["EWSPROBED_FRONTEND"] == "lyncpool.contoso.com" and
              e["EWSPROBED_REASON"] == "cert_untrusted" and
              e["EWSPROBED_PHONE_ERROR"].startswith("12045 ") and
              e["PRIORITY"] == "4", f"journal {e}")
        has_all(WORDS, e["MESSAGE"], "the journal")
        has_all((FIX,), e["EWSPROBED_REMEDY"], "the journal remedy")
        # The status file keeps the learning's result; wait for three
        # runs, which share that one learning (frontend_interval: 1 h).
        while True:
            st = lab_status()
            t = [x for x in (st or {}).get("targets", [])
                 if x["target"] == TARGET]
            if t and t[0]["runs"] >= 3 and \
                    t[0]["last_run"]["frontend"] is not None:
                break
            check(time.monotonic() < deadline, f"status {st}")
            time.sleep(0.2)
        run = t[0]["last_run"]
        check(run["verdict"] == "ok" and
              run["frontend"]["phone_reason"] == "cert_untrusted",
              f"status {run['verdict']} {run['frontend']}")
        has_all(WORDS, run["frontend"]["phone_message"], "the status file")
        n = len(lab_journal(MSGID_FE_PHONE))
        check(n == 1, f"{n} journal entries for one learning, "
              f"{t[0]['runs']} runs")
    finally:
        d.terminate()
        wait_exit(d, 30)


def inside_healthy(ewsprobed):
    """No finding where the pool serves phones."""
    rc, out = once(ewsprobed, "--json")
    fe = result_doc(out)["targets"][0]["last_run"]["frontend"]
    check(rc == 0 and fe["phone_reason"] is None and
          fe["phone_message"] is None, f"healthy: {fe}")
    check(any(s["title"].startswith("TLS hello as lync-phone-edition")
              and s["result"] == "ok" for s in fe["steps"]),
          f"healthy: no hello step: {fe['steps']}")


def inside(scenario, ewsprobed):
    """One scenario, from inside its lab."""
    if scenario == "frontend-nosni":
        inside_nosni(ewsprobed)
    else:
        inside_healthy(ewsprobed)


def lab_test(scenario):
    """A test function running the check of scenario in its lab."""
    def test():
        run_in_lab(SOURCE, scenario, __file__, "--inside", scenario,
                   EWSPROBED)
    test.__name__ = "test_" + scenario.replace("-", "_")
    return test


if len(sys.argv) == 4 and sys.argv[1] == "--inside":
    run_inside(sys.argv[2], inside, sys.argv[2], sys.argv[3])

EWSPROBED, SOURCE = lab_args()
run_tests([lab_test(s) for s in ("frontend-nosni", "healthy")])
