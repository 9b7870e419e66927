#!/usr/bin/python3
"""Integration test: every server behind the Autodiscover host that
answered (issue 15, discovery side), in the lab.

discovery-array: autodiscover.contoso.com resolves to three addresses;
127.0.2.5 serves a certificate from the CA phones do not trust. DNS
rotates the answer, so the walk meets either a good server (phones find
the URLs: the run checks every address of the host with a handshake and
the target is a warning, cert_untrusted_phone_some) or the bad one first
(phones stop there: critical, as test-discovery-phone shows). Checks that
`--once`, `--once --json` and, for the daemon, the status file and the
journal name 127.0.2.5, count the two good ones and give 12045 and the
server to fix. Needs root (the lab); skipped otherwise.

  test-discovery-addrs.py EWSPROBED SOURCE
  test-discovery-addrs.py --inside NAME EWSPROBED   (internal)
"""
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from ewstest import (TestFailure, check, lab_args, lab_daemon,  # noqa: E402
                     lab_journal, result_doc, run_in_lab, run_inside,
                     run_tests)

HOST = "autodiscover.contoso.com"
BAD = "127.0.2.5"
GOOD = {"127.0.1.2", "127.0.2.4"}
CAS_CA = "CN=Issuing-CA for contoso, DC=contoso, DC=com"
MSGID_DEGRADED = "c8e85b71f8144537b2a34d478ffcbc09"
TARGET = "lab/lync-phone-edition"
# DNS rotates three addresses: the walk meets a good one within a few runs.
TRIES = 9


def once(ewsprobed, *flags):
    """Run --once on the lab's configuration: (exit status, stdout)."""
    p = subprocess.run([ewsprobed, "--once", *flags, "-f",
                        os.environ["LAB_CONF"]], capture_output=True,
                       text=True, timeout=120)
    return p.returncode, p.stdout


def check_finding(a, where):
    """The autodiscover_addresses object names the bad address, counts
    the good ones, gives 12045 and the server to fix."""
    check(a is not None, f"{where}: no autodiscover_addresses")
    by = {x["address"]: x for x in a["addresses"]}
    check(a["host"] == HOST and set(by) == GOOD | {BAD} and
          a["reason"] == "cert_untrusted_phone_some" and
          a["phone_error"] == 12045 and a["addresses_failed"] == 1 and
          a["addresses_resolved"] == 3, f"{where}: {a}")
    b = by[BAD]
    check(b["failed"] and b["reason"] == "cert_untrusted_phone" and
          b["phone_trusted"] is False and b["system_trusted"] is True and
          b["cert_issuer"] == CAS_CA, f"{where}: bad address {b}")
    for g in GOOD:
        check(not by[g]["failed"] and by[g]["phone_trusted"] is True and
              by[g]["system_trusted"] is True, f"{where}: {by[g]}")
    m = a["message"]
    check(f"1 of 3 addresses of {HOST} ({BAD})" in m and
          "errorCode=12045" in m and "the other 2" in m and
          CAS_CA in m, f"{where}: message {m}")
    check(f"fix the server behind {HOST} at {BAD}" in a["remedy"],
          f"{where}: remedy {a['remedy']}")


def inside_once(ewsprobed):
    """--once and --once --json: a warning naming the bad server."""
    for _ in range(TRIES):
        rc, out = once(ewsprobed, "--json")
        t = result_doc(out)["targets"][0]
        t = t.get("last_run") or t
        if t["autodiscover"]["phone_found"]:
            break
        # Phones met the bad server first: discovery-phone's case.
        check(rc == 2 and t["verdict"] == "critical" and
              t["autodiscover"]["phone_reason"] != "ok" and
              t["autodiscover_addresses"] is None, f"walk met {BAD}: {t}")
    else:
        raise TestFailure(f"phones never met a good server in {TRIES}")
    check(rc == 1 and t["verdict"] == "warning" and
          t["reason"] == "cert_untrusted_phone_some" and
          BAD in t["message"] and t["phone_error"] == 12045,
          f"--once --json: {rc} {t}")
    check_finding(t["autodiscover_addresses"], "--once --json")
    for _ in range(TRIES):
        rc, out = once(ewsprobed)
        if rc != 2:
            break
    check(rc == 1 and f"1 of 3 addresses of {HOST} ({BAD})" in out and
          "errorCode=12045" in out and f"address {BAD}" in out and
          f"fix the server behind {HOST} at {BAD}" in out and
          "verdict: warning" in out, f"--once:\n{out}")
    # The sub-steps come under the discovery, before the Front End.
    check(out.index(f"address {BAD}") < out.index("Lync Front End pool"),
          f"--once order:\n{out}")


def conf():
    """LAB_CONF with a one-second interval; return its path."""
    with open(os.environ["LAB_CONF"]) as f:
        lines = f.read().split("\n")
    keys = {"interval": "1s", "retry_interval": "1s", "fail_after": "1",
            "recover_after": "1"}
    for key, value in keys.items():
        lines = [x for x in lines if not x.startswith(key + " =")]
        lines.insert(lines.index("[daemon]") + 1, f"{key} = {value}")
    path = os.path.join(os.environ["LAB_STATE_DIR"], "daddrs.conf")
    with open(path, "w") as f:
        f.write("\n".join(lines))
    return path


def status_target():
    """The lab target of the status file, or None before it exists."""
    try:
        with open(os.path.join(os.environ["LAB_STATE_DIR"],
                               "status.json")) as f:
            st = result_doc(f.read())
    except (FileNotFoundError, ValueError):
        return None
    t = [x for x in st["targets"] if x["target"] == TARGET]
    return t[0] if t and t[0].get("last_run") else None


def wait(cond, what, timeout=120):
    """Poll cond until true or fail after timeout seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.3)
    raise TestFailure(f"timed out waiting for {what}")


def warned():
    """The status file's run is the warning of this finding."""
    t = status_target()
    return (t is not None and
            t["last_run"]["reason"] == "cert_untrusted_phone_some")


def inside_daemon(ewsprobed):
    """The daemon: status file and journal name the bad server."""
    with lab_daemon(ewsprobed, conf()):
        wait(warned, "a run with the finding in the status file")
        run = status_target()["last_run"]
        check(run["verdict"] == "warning" and BAD in run["message"],
              f"status {run}")
        check_finding(run["autodiscover_addresses"], "status file")
        wait(lambda: [e for e in lab_journal(MSGID_DEGRADED)
                      if BAD in e["MESSAGE"]], "a 'degraded' entry")
        e = [e for e in lab_journal(MSGID_DEGRADED) if BAD in e["MESSAGE"]][0]
        check(e["EWSPROBED_REASON"] == "cert_untrusted_phone_some" and
              e["EWSPROBED_PHONE_ERROR"].startswith("12045") and
              f"at {BAD}" in e["EWSPROBED_REMEDY"] and
              f"1 of 3 addresses of {HOST}" in e["MESSAGE"], f"entry {e}")
        # The evidence is the Autodiscover host's, not the good EWS's.
        check(e["EWSPROBED_ROLE"] == "autodiscover" and
              e["EWSPROBED_URL"].startswith(f"https://{HOST}/") and
              e["EWSPROBED_ADDRESSES_FAILED"] == BAD and
              e["EWSPROBED_CERT_ISSUER"] == CAS_CA, f"evidence {e}")


INSIDE = {"once": inside_once, "daemon": inside_daemon}


def test_once():
    """--once and --once --json name the bad Autodiscover server."""
    run_in_lab(SOURCE, "discovery-array", __file__, "--inside", "once",
               EWSPROBED)


def test_daemon():
    """The status file and the journal name it too."""
    run_in_lab(SOURCE, "discovery-array", __file__, "--inside", "daemon",
               EWSPROBED)


if len(sys.argv) == 4 and sys.argv[1] == "--inside":
    run_inside(sys.argv[2], INSIDE[sys.argv[2]], sys.argv[3])

EWSPROBED, SOURCE = lab_args()
run_tests([test_once, test_daemon])
