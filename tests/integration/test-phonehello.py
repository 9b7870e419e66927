#!/usr/bin/python3
"""Integration test: the phone's own handshake (issue 18) in the lab.

In the phone-hello scenario every EWS host gives a modern client with SNI
the right certificate; what differs is what the phone's hello (TLS 1.0,
RSA suites, no SNI; docs/phone-tls-client.md) gets. Checks, for each host,
the verdict, reason, phone code and remedy of `--once`, the phone_hello
and PC fields of `--once --json`, and then the daemon's journal entry and
status file. Needs root (the lab); skipped otherwise.

  test-phonehello.py EWSPROBED SOURCE           run from outside
  test-phonehello.py --inside NAME EWSPROBED    (internal) in the lab
"""
import json
import os
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from ewstest import (check, lab_args, lab_journal, lab_status,  # noqa: E402
                     result_doc, run_in_lab, run_inside, run_tests)

MSGID_TARGET_DOWN = "39f4c06529b34f678a50fe21ce9564d3"
MSGID_TARGET_DEGRADED = "c8e85b71f8144537b2a34d478ffcbc09"

SNI_FIX = "serve the right certificate to clients without SNI (IIS: a " \
    "binding with 'Require Server Name Indication' off"

# mailbox: (host, verdict, reason, phone code, words in the message,
#           words in the remedy, the phone's suite, the PCs' verdict)
CASES = {
    "sni-default": (
        "sni-default", "critical", "cert_untrusted_phone", 12045,
        ["without SNI, sni-default.contoso.com answers with "
         "'CN=default.contoso.com' (its default binding), not "
         "'CN=sni-default.contoso.com' as with SNI; phones that send no "
         "SNI fail", "'CN=Issuing-CA for contoso, DC=contoso, DC=com'"],
        SNI_FIX, "TLS_RSA_WITH_AES_256_CBC_SHA", True),
    "sni-reset": (
        "sni-reset", "critical", "tls_reset", 12031,
        ["without SNI, sni-reset.contoso.com resets the connection",
         "errorCode=12031 (0x80072EFF)"],
        "serve a certificate to clients without SNI (IIS: a binding with "
        "'Require Server Name Indication' off", None, True),
    "legacy": (
        "legacy", "ok", None, 0, ["phones can use EWS"], None,
        "TLS_RSA_WITH_RC4_128_SHA", True),
    "aesonly": (
        "aesonly", "ok", None, 0, ["phones can use EWS"], None,
        "TLS_RSA_WITH_AES_128_CBC_SHA", True),
    "aeswarn": (
        "aesonly", "warning", "tls_suite_risk", 0,
        ["phones can use EWS"],
        "also enable TLS_RSA_WITH_3DES_EDE_CBC_SHA for TLS 1.0",
        "TLS_RSA_WITH_AES_128_CBC_SHA", True),
    "ecdhe": (
        "ecdhe", "critical", "tls_no_common_suite", 12157,
        ["ecdhe.contoso.com accepts none of the phones' cipher suites",
         "alert handshake_failure (40)"],
        "enable TLS_RSA_WITH_3DES_EDE_CBC_SHA", None, True),
}


def write_conf(daemon_keys=None):
    """LAB_CONF with one mailbox per case (aeswarn under a profile that
    makes only-uncertain suites a warning); return its path."""
    base = open(os.environ["LAB_CONF"]).read()
    base = base[:base.index("[mailbox lab]")]
    for key, value in (daemon_keys or {}).items():
        base = re.sub(rf"^{key} = .*$", f"{key} = {value}", base,
                      flags=re.M)
    fe = re.search(r"^frontend = .*$", base, re.M).group(0)
    text = base + f"\n[profile strict]\n{fe}\nhello_uncertain_only = " \
        "warning\nhello_suites = RC4-MD5, RC4-SHA, DES-CBC3-SHA, " \
        "?AES128-SHA, ?AES256-SHA\nhello_extensions = none\n" \
        "hello_version = 1.0\ntls_max = 1.0\n"
    for box, case in CASES.items():
        prof = "strict" if box == "aeswarn" else "lync-phone-edition"
        text += (f"\n[mailbox {box}]\naddress = lab@contoso.com\n"
                 f"account = CONTOSO\\lab\n"
                 f"credential = {os.environ['LAB_PASSWORD_FILE']}\n"
                 f"profiles = {prof}\n"
                 f"ews_internal_url = https://{case[0]}.contoso.com/EWS/"
                 "Exchange.asmx\n")
    path = os.path.join(os.environ["LAB_STATE_DIR"], "hello.conf")
    with open(path, "w") as f:
        f.write(text)
    return path


def once(ewsprobed, conf, *args):
    """Run --once; return (exit status, stdout + stderr)."""
    p = subprocess.run([ewsprobed, "--once", "-f", conf, *args],
                       capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout + p.stderr


def check_text(box, out):
    """One mailbox's --once report against its case."""
    _, verdict, reason, code, words, fix, _, _ = CASES[box]
    m = re.search(r"verdict: (\w+)(?: — reason (\w+))?", out)
    check(m is not None and (m.group(1), m.group(2)) == (verdict, reason),
          f"{box}: verdict {m and m.groups()}, want {(verdict, reason)}:"
          f"\n{out}")
    if code:
        check(f"phones log errorCode={code}" in out, f"{box}: no {code}")
    for w in words:
        check(w in out, f"{box}: {w!r} not in:\n{out}")
    if fix:
        check(re.search(r"fix: .*" + re.escape(fix), out) is not None,
              f"{box}: remedy {fix!r} not in:\n{out}")
    check(re.search(r"TLS hello as [\w-]+ \(no SNI\)", out) is not None,
          f"{box}: no step for the phone's hello:\n{out}")


def check_json(box, u):
    """One URL of --once --json or the status file against its case: the
    reason, the phone code and what PCs get; and each address's
    phone_hello: no SNI sent, the suite the server chose for the phone's
    hello, and phone_trusted following what that hello got."""
    _, verdict, reason, code, _, _, suite, pc = CASES[box]
    check(u["reason"] == (reason or "ok") and u["phone_error"] ==
          (code or None), f"{box}: {u['reason']} {u['phone_error']}")
    check(u["system_trusted"] is pc, f"{box}: PCs {u['system_trusted']}")
    check(len(u["addresses"]) >= 1, f"{box}: no address")
    for a in u["addresses"]:
        h = a["phone_hello"]
        check(h is not None and h["sni_sent"] is False,
              f"{box}: phone_hello {h}")
        check(h["suite"] == suite, f"{box}: suite {h['suite']}, "
              f"want {suite}")
        phones_ok = verdict != "critical"
        check(h["phone_trusted"] is phones_ok and
              a["phone_trusted"] is phones_ok,
              f"{box}: phone_trusted {h['phone_trusted']} "
              f"{a['phone_trusted']}")


def inside_once(ewsprobed):
    """--once, text and JSON, for every case."""
    conf = write_conf()
    for box, case in CASES.items():
        rc, out = once(ewsprobed, conf, box)
        check(rc == {"ok": 0, "warning": 1, "critical": 2}[case[1]],
              f"{box}: exit status {rc}:\n{out}")
        check_text(box, out)
    p = subprocess.run([ewsprobed, "--once", "--json", "-f", conf],
                       capture_output=True, text=True, timeout=300)
    doc = result_doc(p.stdout)
    for t in doc["targets"]:
        run = t["last_run"]
        check(run["verdict"] == CASES[t["mailbox"]][1],
              f"{t['mailbox']}: {run['verdict']}")
        check_json(t["mailbox"], run["urls"][0])
    # Only the legacy host's phone hello reached GnuTLS: the request log
    # shows every sign-in went over the double's own TLS.
    with open(os.environ["LAB_TLS_LOG"]) as f:
        recs = [json.loads(line) for line in f]
    check(any(r.get("error") == "legacy" and r["server"] ==
              "legacy.contoso.com" for r in recs), "no legacy handshake")
    check(any(r.get("error") == "reset" and r["server"] ==
              "sni-reset.contoso.com" for r in recs), "no reset")


def wait_status(d, want, timeout=90):
    """Wait until the status file shows every target's state in want."""
    deadline = time.monotonic() + timeout
    while True:
        st = lab_status()
        got = {t["target"].split("/")[0]: t["state"]
               for t in (st or {}).get("targets", [])}
        if all(got.get(k) == v for k, v in want.items()):
            return st
        check(d.poll() is None, "the daemon exited")
        check(time.monotonic() < deadline, f"states {got}, want {want}")
        time.sleep(0.3)


def inside_daemon(ewsprobed):
    """The daemon: the journal entries and the status file say the same."""
    conf = write_conf({"interval": "2s", "retry_interval": "1s",
                       "fail_after": "1"})
    d = subprocess.Popen([ewsprobed, "-f", conf],
                         stderr=subprocess.DEVNULL)
    try:
        want = {box: {"ok": "ok", "warning": "warning",
                      "critical": "critical"}[c[1]]
                for box, c in CASES.items()}
        st = wait_status(d, want)
    finally:
        d.send_signal(signal.SIGTERM)
        d.wait(timeout=10)
    st = result_doc(json.dumps(st))   # checked against the schema
    for t in st["targets"]:
        box = t["target"].split("/")[0]
        u = t["last_run"]["urls"][0]
        check_json(box, u)
    entries = lab_journal(MSGID_TARGET_DOWN) + \
        lab_journal(MSGID_TARGET_DEGRADED)
    for box, (_, verdict, reason, code, words, fix, _, _) in CASES.items():
        if verdict == "ok":
            continue
        e = [x for x in entries if x.get("EWSPROBED_TARGET", "").startswith(
            box + "/")]
        check(len(e) >= 1, f"{box}: no journal entry")
        e = e[-1]
        check(e["EWSPROBED_REASON"] == reason, f"{box}: {e}")
        if code:
            check(e["EWSPROBED_PHONE_ERROR"].startswith(str(code)),
                  f"{box}: {e}")
        check(words[0] in e["MESSAGE"] and fix in e["EWSPROBED_REMEDY"],
              f"{box}: {e['MESSAGE']}")



INSIDE = {"once": inside_once, "daemon": inside_daemon}


def test_once():
    """--once gives each documented verdict, code and remedy."""
    run_in_lab(SOURCE, "phone-hello", __file__, "--inside", "once",
               EWSPROBED)


def test_daemon():
    """The journal and the status file say the same as --once."""
    run_in_lab(SOURCE, "phone-hello", __file__, "--inside", "daemon",
               EWSPROBED)


if len(sys.argv) == 4 and sys.argv[1] == "--inside":
    run_inside(sys.argv[2], INSIDE[sys.argv[2]], sys.argv[3])

EWSPROBED, SOURCE = lab_args()
run_tests([test_once, test_daemon])
