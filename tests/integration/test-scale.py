#!/usr/bin/python3
"""Integration test: faults at scale (issue 12, item 8).

- A DNS server that never answers: the EWS URL fails with reason
  dns_timeout and a remedy about the DNS servers, not "publish the name"
  (a timeout is not NXDOMAIN). No lab needed: a silent UDP socket.
- Many mailboxes, some on a black-holed host (connects never complete, the
  timeout is long): the mailboxes on a healthy host still complete round
  after round while every black-holed run is still waiting.
- Rounds that cannot keep to their interval: one journal warning (with its
  MESSAGE_ID), the textfile metric and STATUS= say so; it is not repeated
  while it lasts; after a reload that removes the cause, "back on schedule"
  once; when it recurs, a second warning.
Counts only, no speed: every wait is a generous hang guard.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from ewstest import (TestFailure, check, lab_args,  # noqa: E402
                     lab_conf_mailboxes as lab_conf, lab_journal as journal,
                     lab_status as status, result_doc, run_in_lab,
                     run_inside, run_tests)

MSGID_BEHIND = "17f4b98ab5204ff1925cc6884238a610"
MSGID_CAUGHT_UP = "c0a4e54604f948d49254365663e18ace"
HEALTHY_URL = "https://hostile.contoso.com/ews-fault"
BLACKHOLE_URL = "https://blackhole.contoso.com/EWS/Exchange.asmx"


def metric(name):
    """A series without labels from the textfile, or None."""
    path = os.path.join(os.environ["LAB_STATE_DIR"], "ewsprobed.prom")
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(name + " "):
                    return float(line.split()[1])
    except FileNotFoundError:
        pass
    return None


def wait(cond, what, timeout):
    """Poll cond until true; fail naming what after timeout seconds."""
    deadline = time.monotonic() + timeout
    while not cond():
        check(time.monotonic() < deadline, f"{what} within {timeout}s")
        time.sleep(0.2)


def notified(n, text, timeout):
    """Wait until a datagram (read by another thread) holds text."""
    wait(lambda: any(text in m for m in list(n.messages)),
         f"{text!r} on NOTIFY_SOCKET", timeout)


def stop(d):
    """SIGTERM; the daemon ends with status 0."""
    d.send_signal(signal.SIGTERM)
    try:
        rc = d.wait(timeout=10)
    except subprocess.TimeoutExpired:
        d.kill()
        d.wait()
        raise TestFailure("no exit within 10 s of SIGTERM")
    check(rc == 0, f"exit status {rc}")


def inside_blackhole(ewsprobed):
    """20 mailboxes on a healthy host and 20 on a black-holed one, 4
    working slots, connects that wait 120 s: before any black-holed run
    could end, every healthy mailbox completes 3 runs."""
    boxes = {f"h{i}": HEALTHY_URL for i in range(20)}
    boxes.update({f"b{i}": BLACKHOLE_URL for i in range(20)})
    conf = lab_conf({"interval": "2s", "retry_interval": "2s",
                     "concurrency": "4", "max_in_flight": "64",
                     "timeout": "120s"}, boxes)
    d = subprocess.Popen([ewsprobed, "-f", conf])
    try:
        def healthy_done():
            st = status()
            if st is None:
                return False
            runs = {t["mailbox"]: t["runs"] for t in st["targets"]}
            return all(runs[f"h{i}"] >= 3 for i in range(20))
        # Hang guard, well under the 120 s a black-holed run waits: on a
        # scheduler where waiting runs keep their slots, the first four
        # black-holed runs hold every slot for 120 s.
        wait(healthy_done, "every healthy mailbox ran 3 times", 90)
        st = status()
        check(d.poll() is None, "the daemon exited")
        runs = {t["mailbox"]: t["runs"] for t in st["targets"]}
        check(all(runs[f"b{i}"] == 0 for i in range(20)),
              f"a black-holed run ended: {runs}")
        sched = st["schedule"]
        check(sched["runs_in_flight"] >= 20 and
              sched["runs_in_flight"] <= 64, f"schedule {sched}")
        check(sched["runs_working"] <= 4, f"schedule {sched}")
        print(f"healthy mailboxes ran {min(runs[f'h{i}'] for i in range(20))}"
              f"+ times with {sched['runs_in_flight']} runs in flight")
    finally:
        stop(d)


def inside_behind(ewsprobed):
    """Room for 4 runs in flight, 8 black-holed mailboxes: due runs wait
    longer than the 2 s interval. Told once (journal, metric, STATUS=);
    a reload without them: back on schedule, once; again: told again."""
    sys.path.insert(0, os.environ["LAB_TOOLS"])
    import lablib
    bad = {f"b{i}": BLACKHOLE_URL for i in range(8)}
    good = {f"h{i}": HEALTHY_URL for i in range(2)}
    keys = {"interval": "2s", "retry_interval": "2s", "concurrency": "2",
            "max_in_flight": "4", "timeout": "120s"}
    conf = lab_conf(keys, {**good, **bad})
    check(journal(MSGID_BEHIND) == [], "a warning before the start")
    with lablib.NotifyListener() as n:
        # Keep reading: a datagram socket nobody reads blocks the sender
        # once its queue is full (net.unix.max_dgram_qlen).
        done = threading.Event()
        reader = threading.Thread(target=lambda: [
            n.receive(0.2) for _ in iter(done.is_set, True)])
        d = subprocess.Popen([ewsprobed, "-f", conf], env=n.env())
        reader.start()
        try:
            wait(lambda: journal(MSGID_BEHIND), "a 'behind schedule' entry",
                 60)
            notified(n, "behind schedule", 30)
            wait(lambda: metric("ewsprobed_schedule_behind") == 1,
                 "ewsprobed_schedule_behind 1", 30)
            e = journal(MSGID_BEHIND)[0]
            check(e["PRIORITY"] == "4", "a warning")
            check(int(e["EWSPROBED_LAG_SECONDS"]) >= 2 and
                  e["EWSPROBED_MAX_IN_FLIGHT"] == "4", f"fields {e}")
            # It lasts (nothing can end for 120 s): several more intervals
            # pass without a second entry.
            time.sleep(6)
            check(len(journal(MSGID_BEHIND)) == 1,
                  f"{len(journal(MSGID_BEHIND))} 'behind' entries")
            check(metric("ewsprobed_schedule_overruns_total") == 1,
                  "overruns_total")
            # Reload without the black-holed mailboxes: caught up, once.
            lab_conf(keys, good)
            d.send_signal(signal.SIGHUP)
            wait(lambda: journal(MSGID_CAUGHT_UP), "'back on schedule'", 30)
            wait(lambda: metric("ewsprobed_schedule_behind") == 0,
                 "ewsprobed_schedule_behind 0", 30)
            # And back: it recurs, and is told again.
            lab_conf(keys, {**good, **bad})
            d.send_signal(signal.SIGHUP)
            wait(lambda: len(journal(MSGID_BEHIND)) == 2,
                 "a second 'behind schedule' entry", 60)
            check(len(journal(MSGID_CAUGHT_UP)) == 1, "one 'back' entry")
            wait(lambda: metric("ewsprobed_schedule_overruns_total") == 2,
                 "overruns_total 2", 30)
            check(any(m.startswith("READY=1") or "\nREADY=1" in m
                      for m in n.messages), "no READY=1")
            check(d.poll() is None, "the daemon exited")
        finally:
            stop(d)
            done.set()
            reader.join()


def test_dns_timeout():
    """A resolver that never answers: dns_timeout, not 'does not resolve'."""
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    port = silent.getsockname()[1]
    try:
        p = subprocess.run(
            [EWSPROBED, "--once", "--json", "--address", "lab@contoso.com",
             "--frontend", "lyncpool.contoso.com", "--dns-server",
             f"127.0.0.1:{port}", "--ews-url",
             "https://mail.contoso.com/EWS/Exchange.asmx"],
            capture_output=True, text=True, timeout=90)
    finally:
        silent.close()
    doc = result_doc(p.stdout)
    t = doc["targets"][0]["last_run"]
    u = t["urls"][0]
    check(u["reason"] == "dns_timeout", f"reason {u['reason']}")
    check("does not resolve" not in u["message"] and
          "did not answer" in u["message"], f"message {u['message']}")
    check(t["reason"] == "dns_timeout" and
          "publish" not in (t["remedy"] or "") and
          "DNS servers" in t["remedy"], f"remedy {t['remedy']}")
    check(t["phone_error"] is None, f"phone_error {t['phone_error']}")


def test_blackhole_does_not_starve():
    """Runs waiting on a black-holed host leave the slots to others."""
    run_in_lab(SOURCE, "hostile", __file__, "--inside-blackhole", EWSPROBED)


def test_behind_schedule_told_once():
    """Rounds longer than the interval: told once, again after recovery."""
    run_in_lab(SOURCE, "hostile", __file__, "--inside-behind", EWSPROBED)


INSIDE = {"--inside-blackhole": lambda e: inside_blackhole(e),
          "--inside-behind": lambda e: inside_behind(e)}
if len(sys.argv) == 3 and sys.argv[1] in INSIDE:
    run_inside("inside", INSIDE[sys.argv[1]], sys.argv[2])

EWSPROBED, SOURCE = lab_args()
run_tests([test_dns_timeout, test_blackhole_does_not_starve,
           test_behind_schedule_told_once])
