#!/usr/bin/python3
"""Scale measurements of docs/scale.md, run inside the lab (as root):

  tests/lab/contoso run --timeout 200 hostile -- \\
      python3 tests/bench/scale.py round EWSPROBED 1000 75
      (N mailboxes on the black-holed host at concurrency 32, timeout 30 s:
       how many runs ended after SECS seconds)
  tests/lab/contoso run --timeout 120 hostile -- \\
      python3 tests/bench/scale.py memory EWSPROBED 300 512 URL
      (N mailboxes on URL with that max_in_flight, timeout 120 s: VmRSS
       and the most file descriptors over 30 s; URL e.g.
       https://blackhole.contoso.com/EWS/Exchange.asmx or
       https://hostile.contoso.com/stall; "-" leaves max_in_flight unset)
"""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
from ewstest import lab_conf_mailboxes  # noqa: E402


def config(n, url, keys):
    """LAB_CONF's [daemon] with keys set, and n mailboxes on url."""
    return lab_conf_mailboxes(keys, {f"m{i}": url for i in range(n)})


def stop(d):
    """SIGTERM and wait (bounded)."""
    d.send_signal(signal.SIGTERM)
    try:
        d.wait(timeout=30)
    except subprocess.TimeoutExpired:
        d.kill()
        d.wait()


def measure_round(ewsprobed, n, secs):
    """Runs ended after secs with n black-holed mailboxes."""
    conf = config(n, "https://blackhole.contoso.com/EWS/Exchange.asmx",
                  {"concurrency": "32", "timeout": "30s", "interval": "5m",
                   "retry_interval": "1m"})
    d = subprocess.Popen([ewsprobed, "-f", conf])
    time.sleep(secs)
    stop(d)
    with open(os.path.join(os.environ["LAB_STATE_DIR"], "status.json")) as f:
        st = json.load(f)
    runs = sum(t["runs"] for t in st["targets"])
    print(f"{n} black-holed mailboxes, {secs:.0f} s: {runs} runs ended")


def measure_memory(ewsprobed, n, max_in_flight, url):
    """VmRSS after 30 s and the most descriptors open meanwhile."""
    keys = {"timeout": "120s"}
    if max_in_flight != "-":
        keys["max_in_flight"] = max_in_flight
    d = subprocess.Popen([ewsprobed, "-f", config(n, url, keys)])
    most = rss = 0
    t0 = time.monotonic()
    while time.monotonic() - t0 < 30:
        time.sleep(1)
        with open(f"/proc/{d.pid}/status") as f:
            st = dict(line.split(":", 1) for line in f)
        rss = int(st["VmRSS"].split()[0])
        most = max(most, len(os.listdir(f"/proc/{d.pid}/fd")))
    stop(d)
    print(f"{n} mailboxes on {url}, max_in_flight {max_in_flight}: "
          f"VmRSS {rss} kB after 30 s, at most {most} descriptors")


if len(sys.argv) == 5 and sys.argv[1] == "round":
    measure_round(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
elif len(sys.argv) == 6 and sys.argv[1] == "memory":
    measure_memory(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
else:
    sys.exit(__doc__)
