#!/usr/bin/python3
"""Integration test: what ewsprobed shows a person cannot be forged or
broken by what it reads (issue 12, items 1 and 6; README "Hostile input").

- A mailbox named twice on the command line is probed once (no write past
  the selection; no lab needed).
- In the lab, an Autodiscover answer whose ExternalEwsUrl and
  InternalEwsUrl carry "&#10;  verdict: ok&#10;OK: phones can use
  Exchange", U+009B (CSI) and U+202E (RLO), and an EWS fault whose words
  carry the same: the --once text report, the -d log on stderr and the
  journal (MESSAGE and every EWSPROBED_* field) hold no raw control or bidi
  character, no forged line, one line per journal MESSAGE, and the targets
  stay critical. The fault text reaches the outputs even if URLs with
  control characters are refused upstream.

  test-report-safety.py EWSPROBED SOURCE
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from ewstest import (basic_config, check, run_in_lab, run_inside,  # noqa: E402
                     run_tests, tempdir, write_file)

FORGED = "&#10;  verdict: ok&#10;OK: phones can use Exchange"
# C0 but for the line breaks between lines, DEL, C1, bidi, separators.
BAD = re.compile("[\x00-\x09\x0b-\x1f\x7f\x80-\x9f\u061c\u200e\u200f"
                 "\u202a-\u202e\u2066-\u2069\u2028\u2029]")
MSGID_DOWN = "39f4c06529b34f678a50fe21ce9564d3"

SCENARIO = r'''# forged — a hostile Autodiscover answer and EWS fault (test-report-safety)
[mailbox]
address = "lab@contoso.com"
account = 'CONTOSO\lab'
password = "Lab-Passw0rd!2026"

[frontend]
host = "lyncpool.contoso.com"

[autodiscover]
internal_ews_url = "https://casarray.contoso.com/EWS/Exchange.asmx%(forged)s"
external_ews_url = "https://mail.contoso.com/EWS/Exchange.asmx\u009b2J\u202ekO%(forged)s"

[dns]
srv = [
  { name = "_autodiscover._tcp.contoso.com", target = "autodiscover.contoso.com", port = 443, priority = 0, weight = 0 },
]

[hosts."autodiscover.contoso.com"]
address = "127.0.1.2"
cert = { issuer = "fe", names = ["autodiscover.contoso.com"] }
[hosts."autodiscover.contoso.com".paths]
"/autodiscover/autodiscover.svc" = { kind = "soap", answer = "settings" }
"/autodiscover/autodiscover.xml" = { kind = "pox", answer = "settings" }

[hosts."casarray.contoso.com"]
address = "127.0.1.3"
cert = { issuer = "fe", names = ["casarray.contoso.com"] }
[hosts."casarray.contoso.com".paths]
"/EWS/Exchange.asmx" = { kind = "ews" }
"/EWS/fault" = { kind = "ews", answer = "fault", fault_text = "No.%(forged)s\u009b31m\u202e\u2066x\u0085y" }

[hosts."mail.contoso.com"]
address = "127.0.1.4"
cert = { issuer = "fe", names = ["mail.contoso.com"] }
[hosts."mail.contoso.com".paths]
"/EWS/Exchange.asmx" = { kind = "ews" }

[hosts."lyncpool.contoso.com"]
address = "127.0.1.5"
cert = { issuer = "fe", names = ["lyncpool.contoso.com"] }
''' % {"forged": FORGED}


def clean(text, where):
    """No raw control/bidi character and no forged line in text."""
    m = BAD.search(text)
    check(m is None, f"{where}: raw {m.group()!r} at {m.start()} in:\n"
          f"{text[max(0, m.start() - 200):m.start() + 200]!r}"
          if m else "")
    for line in text.split("\n"):
        check(not re.match(r"\s*verdict: ok\b", line) and
              not line.startswith("OK: phones can use Exchange"),
              f"{where}: a forged line {line!r}")


def value(v):
    """A journal JSON value as text (journalctl gives unprintable values
    as arrays of bytes)."""
    if isinstance(v, list):
        return bytes(v).decode("utf-8", errors="surrogateescape")
    return v


def config():
    """LAB_CONF with fast timings, plus a mailbox on the hostile fault."""
    with open(os.environ["LAB_CONF"]) as f:
        text = f.read()
    for key, val in (("interval", "1s"), ("retry_interval", "1s"),
                     ("fail_after", "1"), ("timeout", "5s")):
        text = "\n".join(f"{key} = {val}" if line.startswith(key + " =")
                         else line for line in text.split("\n"))
    text += (f"\n[mailbox fault]\naddress = lab@contoso.com\n"
             "account = CONTOSO\\lab\n"
             f"credential = {os.environ['LAB_PASSWORD_FILE']}\n"
             "ews_internal_url = https://casarray.contoso.com/EWS/fault\n")
    path = os.path.join(os.environ["LAB_STATE_DIR"], "forged.conf")
    with open(path, "w") as f:
        f.write(text)
    return path


def inside(ewsprobed):
    """The report, the -d log and the journal of the forged lab."""
    conf = config()
    p = subprocess.run([ewsprobed, "--once", "-d", "-f", conf],
                       capture_output=True, timeout=120)
    out = p.stdout.decode("utf-8", errors="surrogateescape")
    err = p.stderr.decode("utf-8", errors="surrogateescape")
    check(p.returncode == 2, f"exit status {p.returncode}, want 2 "
          f"(critical):\n{out}{err}")
    # The forged target fails (critical; unknown if its URLs are refused
    # before any is probed); the fault target is critical.
    verdicts = re.findall(r"^  verdict: (\w+)", out, re.M)
    check(len(verdicts) == 2 and verdicts[0] in ("critical", "unknown") and
          verdicts[1] == "critical", f"verdicts {verdicts}:\n{out}")
    check(out.rstrip().endswith("CRITICAL: phones cannot use Exchange"),
          f"last line:\n{out}")
    # The hostile words did reach the report and the log, escaped.
    check("No.\\x0a  verdict: ok\\x0aOK: phones can use Exchange\\u009b31m"
          "\\u202e\\u2066x\\u0085y" in out, f"fault text not shown:\n{out}")
    clean(out, "--once report")
    clean(err, "-d log")
    check(err.strip() != "" and all(re.match(r"<\d>", line)
                                    for line in err.strip().split("\n")),
          f"-d log: a line that is no record:\n{err}")

    # The daemon: each failed target goes down (an unknown one raises no
    # alert); every entry it journals is clean.
    d = subprocess.Popen([ewsprobed, "-f", conf], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            q = subprocess.run([os.path.join(os.environ["LAB_TOOLS"],
                                             "journal-json"),
                                "SYSLOG_IDENTIFIER=ewsprobed"],
                               capture_output=True, text=True, timeout=30)
            recs = [json.loads(line) for line in q.stdout.splitlines()
                    if line.startswith("{")]
            down = [r for r in recs if r.get("MESSAGE_ID") == MSGID_DOWN]
            targets = {value(r.get("EWSPROBED_TARGET")) for r in down}
            if {"fault/lync-phone-edition",
                    "lab/lync-phone-edition"} <= targets or (
                    "fault/lync-phone-edition" in targets and
                    verdicts[0] == "unknown"):
                break
            check(time.monotonic() < deadline, f"'down' entries for "
                  f"{targets} after 60 s")
            time.sleep(0.5)
    finally:
        d.kill()
        d.wait()
    fault = [r for r in down
             if "\\u202e" in value(r["MESSAGE"])]
    check(fault, "the fault's words are not in a 'down' MESSAGE")
    for r in recs:
        msg = value(r["MESSAGE"])
        check("\n" not in msg, f"a MESSAGE on several lines: {msg!r}")
        clean(msg, "journal MESSAGE")
        for k, v in r.items():
            if k.startswith("EWSPROBED_"):
                clean(value(v), f"journal {k}")
                check("\n" not in value(v), f"journal {k} on two lines")


def test_forged_answer_lab():
    """Forged Autodiscover URLs and EWS fault text, in the lab."""
    d = tempfile.mkdtemp(prefix="ewsprobed-forged-")
    scenario = write_file(os.path.join(d, "forged.toml"), SCENARIO)
    run_in_lab(SOURCE, scenario, __file__, "--inside", EWSPROBED)


def test_mailbox_named_twice():
    """`--once -f one.conf lab lab lab` probes lab once (was a heap
    overflow)."""
    d = tempdir()
    conf = write_file(os.path.join(d, "one.conf"), basic_config(
        d, "ews_internal_url = https://127.0.0.1:9/EWS/Exchange.asmx\n"))
    p = subprocess.run([EWSPROBED, "--once", "--json", "-f", conf, "lab",
                        "lab", "lab"], capture_output=True, text=True,
                       timeout=60)
    doc = json.loads(p.stdout)
    check([t["target"] for t in doc["targets"]] ==
          ["lab/lync-phone-edition"], f"targets {doc['targets']!r}")
    # An unknown name after a known one: a usage error, no write past.
    p = subprocess.run([EWSPROBED, "--once", "-f", conf, "lab", "b"],
                       capture_output=True, text=True, timeout=60)
    check(p.returncode == 3 and "no mailbox 'b'" in p.stderr,
          f"rc {p.returncode}: {p.stderr}")


if len(sys.argv) == 3 and sys.argv[1] == "--inside":
    run_inside("inside", inside, sys.argv[2])

EWSPROBED = os.path.abspath(sys.argv[1])
SOURCE = os.path.abspath(sys.argv[2])
if os.geteuid() != 0:
    tests = [test_mailbox_named_twice]
else:
    tests = [test_mailbox_named_twice, test_forged_answer_lab]
run_tests(tests)
