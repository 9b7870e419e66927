#!/usr/bin/python3
"""Integration test: server bytes can neither stop nor freeze ewsprobed
(issue 12 items 3 and 4), in the lab's "hostile-input" scenario (see its
comment).

- A Location holding byte 0xFF, a RedirectAddress with a tab in it and EWS
  URLs with a line feed or byte 0xFF are refused as failed steps with a
  reason; `--once` ends with a report, and the healthy mailbox in the same
  run is ok. (On the code before the fix the first two exit through
  fatalx with no report.)
- The daemon discovers a host whose every answer is built to be slow in
  libxml2 (105,000 attributes on one element, 40,000 namespace
  declarations) every second for 40 s, next to a healthy mailbox: the
  WATCHDOG=1 pings (every second asked) never stop for 30 s or more, the
  hostile host is asked again and again, and the healthy mailbox stays ok.
  The bound is a hang guard, not a speed claim: before the fix one answer
  held the loop for 30 s or more.

  test-hostile.py EWSPROBED SOURCE
"""
import json
import os
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from ewstest import (check, lab_args, result_doc, run_in_lab,  # noqa: E402
                     run_inside, run_tests)

WATCH_S = 40
MAX_GAP_S = 30


def base_conf(interval):
    """LAB_CONF without its mailbox, with the daemon's timings set."""
    with open(os.environ["LAB_CONF"]) as f:
        text = f.read()
    text = text[:text.index("[mailbox lab]")]
    for key, value in (("interval", interval), ("retry_interval", interval),
                       ("timeout", "4s")):
        text = "\n".join(f"{key} = {value}" if line.startswith(key + " =")
                         else line for line in text.split("\n"))
    return text


def mailbox(name, domain, extra=""):
    """One [mailbox] section for lab@domain with the lab's account."""
    return (f"\n[mailbox {name}]\naddress = lab@{domain}\n"
            "account = CONTOSO\\lab\n"
            f"credential = {os.environ['LAB_PASSWORD_FILE']}\n{extra}")


HEALTHY = ("ews_internal_url = https://casarray.contoso.com/EWS/"
           "Exchange.asmx\n"
           "ews_external_url = https://mail.contoso.com/EWS/Exchange.asmx\n")


def write(name, text):
    """Write a configuration into the lab's state directory."""
    path = os.path.join(os.environ["LAB_STATE_DIR"], name)
    with open(path, "w") as f:
        f.write(text)
    return path


def steps(t):
    """The autodiscover steps of a target."""
    return t["autodiscover"]["steps"]


def failed_step(t, reason, words):
    """Whether a failed step has reason and words in its detail."""
    return any(s["result"] == "fail" and s["reason"] == reason and
               words in (s["detail"] or "") for s in steps(t))


def inside_bytes(ewsprobed):
    """Hostile bytes are failed steps; the run ends with a report."""
    conf = write("bytes.conf", base_conf("30s") +
                 mailbox("healthy", "contoso.com", HEALTHY) +
                 mailbox("badloc", "badloc.example") +
                 mailbox("badaddr", "badaddr.example") +
                 mailbox("ctlurl", "ctlurl.example"))
    p = subprocess.run([ewsprobed, "--once", "--json", "-f", conf],
                       capture_output=True, timeout=200)
    check(p.returncode in (0, 1, 2, 3) and p.stdout.startswith(b"{"),
          f"--once exited {p.returncode} without a report:\n"
          f"{p.stderr.decode(errors='replace')}")
    doc = result_doc(p.stdout.decode(errors="replace"))
    t = {x["mailbox"]: x["last_run"] for x in doc["targets"]}
    check(t["healthy"]["verdict"] == "ok", f"healthy: {t['healthy']}")
    check(failed_step(t["badloc"], "redirect_rejected", "not ASCII"),
          f"badloc: {json.dumps(steps(t['badloc']), indent=1)}")
    check(failed_step(t["badaddr"], "redirect_addr_not_allowed",
                      "not an SMTP address"),
          f"badaddr: {json.dumps(steps(t['badaddr']), indent=1)}")
    check(failed_step(t["ctlurl"], "ews_url_refused", "control character")
          and failed_step(t["ctlurl"], "ews_url_refused", "not ASCII"),
          f"ctlurl: {json.dumps(steps(t['ctlurl']), indent=1)}")
    for name in ("badloc", "badaddr", "ctlurl"):
        check(not t[name]["autodiscover"]["found"], f"{name} found URLs")
    # The refused address was never sent anywhere.
    with open(os.environ["LAB_REQUEST_LOG"]) as f:
        recs = [json.loads(line) for line in f]
    check(not [r for r in recs if "\t" in json.dumps(r)],
          "a request carried the tab of the refused address")


def watchdog_pings(sock, seconds):
    """The times WATCHDOG=1 arrived on sock within the next seconds."""
    times, end = [], time.monotonic() + seconds
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return times, end
        sock.settimeout(left)
        try:
            data = sock.recv(4096).decode(errors="replace")
        except socket.timeout:
            continue
        if "WATCHDOG=1" in data.split("\n"):
            times.append(time.monotonic())


def status_state(target):
    """The hard state of target in the status file, or None."""
    path = os.path.join(os.environ["LAB_STATE_DIR"], "status.json")
    try:
        with open(path) as f:
            st = json.load(f)
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    for t in st["targets"]:
        if t["target"] == target:
            return t["state"]
    return None


def inside_watchdog(ewsprobed):
    """The loop keeps its watchdog while a hostile host is discovered."""
    conf = write("watchdog.conf", base_conf("1s") +
                 mailbox("healthy", "contoso.com", HEALTHY) +
                 mailbox("slow", "slowparse.example"))
    path = os.path.join(os.environ["LAB_STATE_DIR"], "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="2000000")
    env.pop("WATCHDOG_PID", None)
    err = open(os.path.join(os.environ["LAB_STATE_DIR"], "stderr"), "w")
    d = subprocess.Popen([ewsprobed, "-f", conf], env=env, stderr=err)
    try:
        start = time.monotonic()
        times, end = watchdog_pings(sock, WATCH_S)
        check(d.poll() is None, f"the daemon exited with {d.returncode}")
        marks = [start] + times + [end]
        gap = max(b - a for a, b in zip(marks, marks[1:]))
        check(gap < MAX_GAP_S, f"WATCHDOG=1 stopped for {gap:.1f} s "
              f"({len(times)} pings in {WATCH_S} s)")
        check(status_state("healthy/lync-phone-edition") == "ok",
              f"healthy mailbox: {status_state('healthy/lync-phone-edition')}")
    finally:
        d.kill()
        d.wait()
        sock.close()
    with open(os.environ["LAB_REQUEST_LOG"]) as f:
        asked = [json.loads(line) for line in f]
    asked = [r for r in asked if r["server"].endswith("slowparse.example")]
    check(len(asked) >= 5, f"the hostile host was asked {len(asked)} times")


def test_hostile_bytes_are_failed_steps():
    """Location, RedirectAddress and EWS URL bytes: refused, reported."""
    run_in_lab(SOURCE, SCENARIO, __file__, "--inside-bytes", EWSPROBED)


def test_watchdog_while_hostile_host_discovered():
    """Slow-to-parse answers every second: the loop keeps its watchdog."""
    run_in_lab(SOURCE, SCENARIO, __file__, "--inside-watchdog", EWSPROBED)


if len(sys.argv) == 3 and sys.argv[1] == "--inside-bytes":
    run_inside("inside", inside_bytes, sys.argv[2])
if len(sys.argv) == 3 and sys.argv[1] == "--inside-watchdog":
    run_inside("inside", inside_watchdog, sys.argv[2])

EWSPROBED, SOURCE = lab_args()
SCENARIO = os.path.join(SOURCE, "tests", "lab", "scenarios",
                        "hostile-input.toml")
run_tests([test_hostile_bytes_are_failed_steps,
           test_watchdog_while_hostile_host_discovered])
