#!/usr/bin/python3
"""Integration test: the incident, end to end, with the real daemon, the
real journald and the lab (tests/lab/README.md; issue "probe runs, state and
alerts" item 7).

The daemon starts on `healthy` and settles to ok; the lab switches to
`incident` (EWS certificate from the wrong issuing CA): exactly one "target
down" entry appears in the journal, naming both CAs and 12045, and the
status file says critical; the lab switches to `fixed-web-trusted` and the
daemon reloads the configuration that publishes the CA: exactly one
"recovered" entry; SIGTERM ends it with status 0 and a whole status file.
Needs root (the lab); skipped otherwise.
"""
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from ewstest import (TestFailure, check, lab_args,  # noqa: E402
                     lab_conf_mailboxes, lab_journal as journal,
                     lab_status as status,
                     run_in_lab, run_inside, run_tests)

MSGID_DOWN = "39f4c06529b34f678a50fe21ce9564d3"
MSGID_RECOVERED = "71160a706f8b44a9871329ced6201b0c"
MSGID_FE_CHANGED = "44993bbf63f941aabbd5e74c69423668"
MSGID_EXPIRING = "eeea44f1eabc42d3bf11e607556b1d50"
MSGID_URL_CHANGED = "e3880e2d911e46af9a44645ca9a0d193"
TARGET = "lab/lync-phone-edition"
# Waits are hang guards, never measures of speed: the suite must pass with
# a CPU hog on every core.
GUARD = 60


@contextlib.contextmanager
def running(argv, **kw):
    """Start the daemon; kill it on the way out if it is still running."""
    d = subprocess.Popen(argv, **kw)
    try:
        yield d
    finally:
        if d.poll() is None:
            d.kill()
            d.wait()


def write_conf(extra=""):
    """LAB_CONF with fast timings and the EWS URLs; return its path."""
    with open(os.environ["LAB_CONF"]) as f:
        text = f.read()
    text = text.replace("[profile lync-phone-edition]\n",
                        "[profile lync-phone-edition]\n" + extra)
    for key, value in (("interval", "1s"), ("retry_interval", "1s"),
                       ("fail_after", "2"), ("recover_after", "2")):
        text = "\n".join(f"{key} = {value}" if line.startswith(key + " =")
                         else line for line in text.split("\n"))
    text += ("ews_internal_url = https://casarray.contoso.com/EWS/"
             "Exchange.asmx\n"
             "ews_external_url = https://mail.contoso.com/EWS/Exchange.asmx\n")
    path = os.path.join(os.environ["LAB_STATE_DIR"], "daemon.conf")
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)
    return path


def target_state():
    """The hard state of the lab target in the status file."""
    st = status()
    if st is None:
        return None
    for t in st["targets"]:
        if t["target"] == TARGET:
            return t["state"]
    return None


def wait_state(want, timeout=30):
    """Wait until the status file shows the target in state want."""
    deadline = time.monotonic() + timeout
    while target_state() != want:
        check(time.monotonic() < deadline,
              f"state {target_state()!r} after {timeout}s, want {want}")
        time.sleep(0.2)


def install_catalog():
    """Install the catalog into this lab's private mounts only."""
    source = os.path.join(SOURCE_DIR, "systemd", "ewsprobed.catalog")
    for d in ("/usr/lib/systemd/catalog", "/var/lib/systemd/catalog"):
        if not os.path.isdir(d):
            raise TestFailure(f"{d} missing (systemd not installed?)")
        subprocess.run(["mount", "-t", "tmpfs", "tmpfs", d], check=True)
    subprocess.run(["cp", source, "/usr/lib/systemd/catalog/"], check=True)
    subprocess.run(["journalctl", "--update-catalog"], check=True,
                   timeout=30)


def explain_down(entry):
    """journalctl -x explains the alert from the installed catalog."""
    install_catalog()
    p = subprocess.run(["journalctl", "--no-pager", "-x",
                        f"MESSAGE_ID={MSGID_DOWN}"], capture_output=True,
                       text=True, timeout=30)
    for text in ("Subject: Phones cannot use Exchange for " + TARGET,
                 "New-CsWebTrustedCACertificate",
                 "Reason: cert_untrusted_phone (internal URL "
                 "https://casarray.contoso.com/EWS/Exchange.asmx)"):
        check(text in p.stdout, f"{text!r} not in journalctl -x:\n"
              f"{p.stdout}")


def inside(ewsprobed):
    """The scenario, from inside the lab."""
    contoso = os.path.join(os.environ["LAB_TOOLS"], "contoso")
    conf = write_conf()
    err = open(os.path.join(os.environ["LAB_STATE_DIR"], "stderr"), "w")
    with running([ewsprobed, "-f", conf], stderr=err) as d:
        wait_state("ok")
        check(journal(MSGID_DOWN) == [], "an alert while healthy")

        subprocess.run([contoso, "switch", "incident"], check=True,
                       timeout=60)
        wait_state("critical")
        time.sleep(1.5)         # more failing runs: still one alert
        down = journal(MSGID_DOWN)
        check(len(down) == 1, f"{len(down)} 'target down' entries")
        e = down[0]
        for text in ("CN=Issuing-CA for contoso, DC=contoso, DC=com",
                     "CN=Issuing CA for contoso,com", "12045"):
            check(text in e["MESSAGE"], f"{text!r} not in {e['MESSAGE']}")
        check(e["PRIORITY"] == "3", f"priority {e['PRIORITY']}")
        check(e["EWSPROBED_REASON"] == "cert_untrusted_phone", "reason")
        check(e["EWSPROBED_SYSTEM_TRUSTED"] == "yes", "system trusted")
        check(e["EWSPROBED_PHONE_ERROR"].startswith("12045"), "phone error")
        check(e["EWSPROBED_CERT_ISSUER"] ==
              "CN=Issuing-CA for contoso, DC=contoso, DC=com", "issuer")
        check(e["EWSPROBED_TARGET"] == TARGET, "target field")
        explain_down(e)
        st = status()
        run = [t for t in st["targets"] if t["target"] == TARGET][0]
        check(run["last_run"]["reason"] == "cert_untrusted_phone",
              "status reason")
        check(run["last_run"]["urls"][0]["certificates"][0]["issuer"] ==
              "CN=Issuing-CA for contoso, DC=contoso, DC=com",
              "status certificate")
        prom = os.path.join(os.environ["LAB_STATE_DIR"], "ewsprobed.prom")
        with open(prom) as f:
            metrics = f.read()
        for series in (
                'ewsprobed_target_state{target="lab/lync-phone-edition",'
                'mailbox="lab",profile="lync-phone-edition",'
                'state="critical"} 1',
                'reason="cert_untrusted_phone",role="internal",'
                'phone_error="12045"} 1',
                'ewsprobed_probe_success{target="lab/lync-phone-edition",'
                'mailbox="lab",profile="lync-phone-edition"} 0'):
            check(series in metrics, f"{series!r} not in the textfile")
        p = subprocess.run(["promtool", "check", "metrics"], input=metrics,
                           capture_output=True, text=True, timeout=30)
        check(p.returncode == 0, f"promtool: {p.stdout}{p.stderr}")

        subprocess.run([contoso, "switch", "fixed-web-trusted"], check=True,
                       timeout=60)
        write_conf()
        d.send_signal(signal.SIGHUP)
        wait_state("ok")
        time.sleep(1.5)
        rec = journal(MSGID_RECOVERED)
        check(len(rec) == 1, f"{len(rec)} 'recovered' entries")
        check(rec[0]["PRIORITY"] == "5", "recovered is a notice")
        check(len(journal(MSGID_DOWN)) == 1, "a second 'down' entry")

        d.send_signal(signal.SIGTERM)
        check(d.wait(timeout=GUARD) == 0, "SIGTERM exit status")
        check(target_state() == "ok", "status file after shutdown")
        pw = open(os.environ["LAB_PASSWORD_FILE"]).read().strip()
        every = subprocess.run(["journalctl", "--no-pager", "-o", "json"],
                               capture_output=True, text=True).stdout
        check(pw not in every and "TlRMTVNTUA" not in every,
              "a credential in the journal")
        with open(os.path.join(os.environ["LAB_STATE_DIR"],
                               "status.json")) as f:
            check(pw not in f.read(), "a credential in the status file")


def inside_fe(ewsprobed):
    """The pool's certificate renewed from the other CA: one "FE issuer
    changed" entry, and EWS (untouched) goes down for phones."""
    contoso = os.path.join(os.environ["LAB_TOOLS"], "contoso")
    conf = write_conf("frontend_interval = 1s\n")
    with running([ewsprobed, "-f", conf]) as d:
        wait_state("ok")
        subprocess.run([contoso, "switch", "fe-renewed"], check=True,
                       timeout=60)
        wait_state("critical")
        fe = journal(MSGID_FE_CHANGED)
        check(len(fe) == 1, f"{len(fe)} 'FE issuer changed' entries")
        check(fe[0]["EWSPROBED_CERT_ISSUER"] ==
              "CN=Issuing-CA for contoso, DC=contoso, DC=com", "new issuer")
        check(fe[0]["EWSPROBED_PREV_ISSUER"] ==
              "CN=Issuing CA for contoso,com", "previous issuer")
        down = journal(MSGID_DOWN)
        check(len(down) == 1 and "12045" in down[0]["MESSAGE"],
              f"down entries: {down}")
        d.send_signal(signal.SIGTERM)
        check(d.wait(timeout=GUARD) == 0, "SIGTERM exit status")


def inside_robust(ewsprobed):
    """SIGTERM while a transfer stalls (row 35); a read-only status
    directory (row 36): probing and alerting go on, one log line."""
    state = os.environ["LAB_STATE_DIR"]
    with open(os.environ["LAB_CONF"]) as f:
        base = f.read()
    conf = os.path.join(state, "stall.conf")
    with open(conf, "w") as f:
        f.write(base + "ews_internal_url = https://hostile.contoso.com/"
                "stall\n")
    with running([ewsprobed, "-f", conf]) as d:
        # The first run starts within the first interval (<= 10 s; the
        # wait is a hang guard).
        deadline = time.monotonic() + GUARD
        while True:
            with open(os.environ["LAB_REQUEST_LOG"]) as f:
                if "/stall" in f.read():
                    break
            check(time.monotonic() < deadline, "the stall was never hit")
            time.sleep(0.1)
        d.send_signal(signal.SIGTERM)
        check(d.wait(timeout=GUARD) == 0, "exit status after SIGTERM")
        check(status() is not None, "no whole status file at shutdown")
        check(not [n for n in os.listdir(state) if ".tmp" in n],
              "a temporary file left behind")

    # A read-only status directory: alerts still go out.
    ro = os.path.join(state, "ro")
    os.makedirs(ro, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs",
                    ro], check=True)
    conf = os.path.join(state, "ro.conf")
    text = write_conf_text(base).replace(
        os.path.join(state, "status.json"), os.path.join(ro, "status.json"))
    with open(conf, "w") as f:
        f.write(text + "ews_internal_url = https://variants.contoso.com/"
                "EWS/Exchange.asmx\n")
    with running([ewsprobed, "-f", conf]) as d:
        deadline = time.monotonic() + 30
        while not journal(MSGID_DOWN):
            check(time.monotonic() < deadline, "no alert with a read-only "
                  "status directory")
            time.sleep(0.2)
        # Never ok before: its first alert does not say it was (issue 14).
        prev = journal(MSGID_DOWN)[0]["EWSPROBED_PREV_STATE"]
        check(prev == "pending", f"PREV_STATE {prev!r}, want 'pending'")
        time.sleep(2)
        p = subprocess.run(["journalctl", "--no-pager", "-o", "cat",
                            "-t", "ewsprobed"], capture_output=True,
                           text=True)
        n = p.stdout.count("status.json not written")
        check(n == 1, f"{n} log lines about the status file, want 1")
        d.send_signal(signal.SIGTERM)
        check(d.wait(timeout=GUARD) == 0, "exit status")

    # A full disk (4 KiB): the write fails with ENOSPC, leaves no
    # temporary file, is logged once, and alerting goes on.
    full = os.path.join(state, "full")
    os.makedirs(full, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", full],
                   check=True)
    conf = os.path.join(state, "full.conf")
    with open(conf, "w") as f:
        f.write(text.replace(os.path.join(ro, "status.json"),
                             os.path.join(full, "status.json")) +
                "ews_internal_url = https://variants.contoso.com/"
                "EWS/Exchange.asmx\n")
    before = len(journal(MSGID_DOWN))
    with running([ewsprobed, "-f", conf]) as d:
        deadline = time.monotonic() + 30
        while len(journal(MSGID_DOWN)) == before:
            check(time.monotonic() < deadline, "no alert with a full disk")
            time.sleep(0.2)
        time.sleep(2)
        p = subprocess.run(["journalctl", "--no-pager", "-o", "cat",
                            "-t", "ewsprobed"], capture_output=True,
                           text=True)
        check(p.stdout.count("No space left on device") == 1,
              "ENOSPC not logged exactly once")
        check(not [n for n in os.listdir(full) if ".tmp" in n],
              f"a temporary file left: {os.listdir(full)}")
        if os.path.exists(os.path.join(full, "status.json")):
            with open(os.path.join(full, "status.json")) as f:
                json.load(f)    # an earlier, smaller version: whole
        d.send_signal(signal.SIGTERM)
        check(d.wait(timeout=GUARD) == 0, "exit status")


def inside_restricted(ewsprobed):
    """Under the unit's restrictions that need no PID 1: an unprivileged
    user, no capabilities, a read-only file system but for the state
    directory. The daemon still probes and writes its status files."""
    state = os.environ["LAB_STATE_DIR"]
    run = os.path.join(state, "restricted")
    os.makedirs(run)
    shutil.copy(os.environ["LAB_PASSWORD_FILE"], run + "/password")
    with open(os.environ["LAB_CONF"]) as f:
        text = write_conf_text(f.read())
    text = text.replace(os.environ["LAB_PASSWORD_FILE"], run + "/password")
    text = text.replace(os.path.join(state, "status.json"),
                        run + "/status.json")
    text = text.replace(os.path.join(state, "ewsprobed.prom"),
                        run + "/ewsprobed.prom")
    text += ("ews_internal_url = https://casarray.contoso.com/EWS/"
             "Exchange.asmx\n")
    with open(run + "/ewsprobed.conf", "w") as f:
        f.write(text)
    os.chown(run, 65534, 65534)
    os.chown(run + "/password", 65534, 65534)
    script = (
        "set -e; mount --bind / / && mount -o remount,bind,ro / && "
        f"mount --bind {run} {run} && "
        "exec setpriv --reuid=65534 --regid=65534 --clear-groups "
        "--inh-caps=-all --bounding-set=-all --no-new-privs "
        f"{ewsprobed} -f {run}/ewsprobed.conf")
    with running(["unshare", "--mount", "--propagation", "private",
                          "sh", "-c", script]) as d:
        path = run + "/status.json"
        deadline = time.monotonic() + 30
        while True:
            try:
                with open(path) as f:
                    st = json.load(f)
                if st["targets"][0]["state"] == "ok":
                    break
            except (OSError, ValueError, IndexError, KeyError):
                pass
            check(d.poll() is None, f"the daemon exited ({d.returncode})")
            check(time.monotonic() < deadline, "no ok status as nobody")
            time.sleep(0.2)
        check(os.stat(path).st_uid == 65534, "status not written as nobody")
        check(os.path.exists(run + "/ewsprobed.prom"), "no textfile")
        with open("/proc/%d/status" % d.pid) as f:
            proc = f.read()
        check("CapEff:\t0000000000000000" in proc, "capabilities left")
        d.send_signal(signal.SIGTERM)
        check(d.wait(timeout=GUARD) == 0, "exit status")


def inside_expiring(ewsprobed):
    """A certificate 10 days from expiry is inside the 30-day window only
    (the 7- and 1-day windows come later): one warning, however many runs;
    the target is degraded to warning, not down."""
    conf = write_conf()
    with running([ewsprobed, "-f", conf]) as d:
        deadline = time.monotonic() + 30
        while not journal(MSGID_EXPIRING):
            check(d.poll() is None, "the daemon exited")
            check(time.monotonic() < deadline, "no expiry warning")
            time.sleep(0.2)
        time.sleep(3)           # several more runs
        ent = journal(MSGID_EXPIRING)
        check(len(ent) == 1, f"{len(ent)} expiry warnings, want 1")
        e = ent[0]
        check(e["PRIORITY"] == "4", "a warning")
        check(e["EWSPROBED_CERT_SUBJECT"] == "CN=casarray.contoso.com",
              "subject")
        check(e["EWSPROBED_CERT_POSITION"] == "0" and
              e["EWSPROBED_WINDOW_DAYS"] == "30", "position and window")
        check(target_state() == "warning", f"state {target_state()}")
        d.send_signal(signal.SIGTERM)
        check(d.wait(timeout=GUARD) == 0, "exit status")


def inside_many_stalled(ewsprobed):
    """300 targets whose EWS stalls (row 39): never more than max_in_flight
    transfers at once (stalled runs give their concurrency slot away, not
    their place in flight), one thread, bounded memory."""
    state = os.environ["LAB_STATE_DIR"]
    with open(os.environ["LAB_CONF"]) as f:
        base = f.read()
    base = base[:base.index("[mailbox lab]")]
    base = base.replace("[daemon]\n", "[daemon]\nmax_in_flight = 16\n", 1)
    text = base + "".join(
        f"\n[mailbox m{i}]\naddress = m{i}@contoso.com\n"
        f"account = CONTOSO\\lab\n"
        f"credential = {os.environ['LAB_PASSWORD_FILE']}\n"
        "ews_internal_url = https://hostile.contoso.com/stall\n"
        for i in range(300))
    conf = os.path.join(state, "many.conf")
    with open(conf, "w") as f:
        f.write(text)
    with running([ewsprobed, "-f", conf]) as d:
        # Every first run is due within 10 s; sample the daemon's open
        # connections to the stalling server meanwhile.
        most = 0
        deadline = time.monotonic() + 12
        while time.monotonic() < deadline:
            p = subprocess.run(["ss", "-Htnp", "state", "established",
                                "dst", "127.0.2.1:443"],
                               capture_output=True, text=True)
            most = max(most, sum(f"pid={d.pid}," in line
                                 for line in p.stdout.splitlines()))
            time.sleep(0.2)
        check(d.poll() is None, "the daemon exited")
        with open(os.environ["LAB_REQUEST_LOG"]) as f:
            stalls = sum(1 for line in f if '"/stall"' in line)
        check(stalls >= 8, f"only {stalls} transfers reached the server")
        check(0 < most <= 16, f"{most} connections at once, cap is 16")
        with open(f"/proc/{d.pid}/status") as f:
            st = dict(line.split(":", 1) for line in f)
        threads = int(st["Threads"])
        rss_kb = int(st["VmRSS"].split()[0])
        print(f"300 stalled targets: at most {most} connections, "
              f"{threads} thread(s), VmRSS {rss_kb} kB")
        check(threads == 1, f"{threads} threads")
        check(rss_kb < 64 * 1024, f"VmRSS {rss_kb} kB")
        d.send_signal(signal.SIGTERM)
        check(d.wait(timeout=GUARD) == 0, "exit status")


def inside_moved(ewsprobed):
    """Autodiscover gives another EWS URL: one 'EWS URL changed' entry."""
    with open(os.environ["LAB_CONF"]) as f:
        text = write_conf_text(f.read())
    text = text.replace("discovery_interval = 24h", "discovery_interval = 1s")
    conf = os.path.join(os.environ["LAB_STATE_DIR"], "moved.conf")
    with open(conf, "w") as f:
        f.write(text)
    with running([ewsprobed, "-f", conf]) as d:
        wait_state("ok")
        check(journal(MSGID_URL_CHANGED) == [], "a change before any")
        subprocess.run([os.path.join(os.environ["LAB_TOOLS"], "contoso"),
                        "switch", "moved"], check=True, timeout=60)
        deadline = time.monotonic() + 30
        while not journal(MSGID_URL_CHANGED):
            check(time.monotonic() < deadline, "no 'EWS URL changed'")
            time.sleep(0.2)
        time.sleep(2)
        ent = journal(MSGID_URL_CHANGED)
        check(len(ent) == 1, f"{len(ent)} 'EWS URL changed' entries")
        check(ent[0]["EWSPROBED_URL"] ==
              "https://mail.contoso.com/EWS/Exchange.asmx" and
              ent[0]["EWSPROBED_PREV_URL"] ==
              "https://casarray.contoso.com/EWS/Exchange.asmx",
              f"fields {ent[0]}")
        d.send_signal(signal.SIGTERM)
        check(d.wait(timeout=GUARD) == 0, "exit status")


def inside_clock(ewsprobed):
    """The wall clock jumps (row 38): cadence unchanged (timers are
    monotonic), status times follow the wall clock, certificates are
    judged against it (expired in 2030, not yet valid in 2020)."""
    lib = subprocess.run(["dpkg", "-L", "libfaketime"], capture_output=True,
                         text=True).stdout.split()
    lib = [p for p in lib if p.endswith("libfaketimeMT.so.1")]
    check(lib, "libfaketime is not installed (tests/setup-debian)")
    clock = os.path.join(os.environ["LAB_STATE_DIR"], "faketime")
    with open(clock, "w") as f:
        f.write("@2030-01-01 00:00:00\n")
    conf = write_conf()
    env = dict(os.environ, LD_PRELOAD=lib[0], FAKETIME_TIMESTAMP_FILE=clock,
               FAKETIME_NO_CACHE="1", FAKETIME_DONT_FAKE_MONOTONIC="1")

    def last():
        st = status()
        return None if st is None else (st["daemon"]["written"],
                                         st["targets"][0])
    with running([ewsprobed, "-f", conf], env=env) as d:
        deadline = time.monotonic() + 30
        while last() is None or last()[1]["runs"] < 3:
            check(time.monotonic() < deadline, "no runs in 2030")
            time.sleep(0.2)
        written, t = last()
        check(written.startswith("2030-"), f"written {written}")
        check(t["last_run"]["reason"] == "cert_expired",
              f"2030: {t['last_run']['reason']}")
        with open(clock, "w") as f:
            f.write("@2020-06-01 00:00:00\n")
        runs0 = t["runs"]
        t0 = time.monotonic()
        # The runs go on after the jump (a busy machine may slow them, so
        # only their count is awaited), and do not come in a burst.
        deadline = t0 + GUARD
        while last()[1]["runs"] < runs0 + 3:
            check(time.monotonic() < deadline, "no runs after the jump")
            time.sleep(0.2)
        written, t = last()
        elapsed = time.monotonic() - t0
        check(written.startswith("2020-"), f"written {written}")
        check(t["last_run"]["reason"] == "cert_not_yet_valid",
              f"2020: {t['last_run']['reason']}")
        # interval 1 s: at most about one run a second after the jump.
        check(t["runs"] - runs0 <= 1.5 * elapsed + 2,
              f"{t['runs'] - runs0} runs in {elapsed:.1f} s after the jump")
        d.send_signal(signal.SIGTERM)
        check(d.wait(timeout=GUARD) == 0, "exit status")


def message_ids():
    """{name: id} of every MESSAGE_ID in include/msgid.h."""
    with open(os.path.join(SOURCE_DIR, "include", "msgid.h")) as f:
        return dict(re.findall(r'#define (MSGID_\w+) "([0-9a-f]{32})"',
                               f.read()))


# IDs no lab run can make the daemon write, and why.
UNTRIGGERED = {}


def wait_journal(msgid, what, timeout=60):
    """Wait until an entry with this MESSAGE_ID is in the journal."""
    deadline = time.monotonic() + timeout
    while not journal(msgid):
        check(time.monotonic() < deadline, f"no {what} entry")
        time.sleep(0.2)


def inside_catalog(ewsprobed):
    """The daemon writes an entry of every MESSAGE_ID (start, reloads
    taken and refused, degraded, expiring, down, recovered, URLs moved,
    the phone's hello failing at the pool, pool issuer changed, behind
    schedule and caught up, stop, an invalid
    file at start), and `journalctl -x` explains each with
    every @FIELD@ of the catalog substituted (issue 14: systemd
    substitutes only [A-Z_] names)."""
    contoso = os.path.join(os.environ["LAB_TOOLS"], "contoso")
    ids = message_ids()
    with open(os.environ["LAB_CONF"]) as f:
        text = write_conf_text(f.read())
    text = text.replace("discovery_interval = 24h", "discovery_interval = 1s")
    text = text.replace("[profile lync-phone-edition]\n",
                        "[profile lync-phone-edition]\n"
                        "frontend_interval = 1s\n")
    conf = os.path.join(os.environ["LAB_STATE_DIR"], "catalog.conf")
    with open(conf, "w") as f:
        f.write(text)
    with running([ewsprobed, "-f", conf]) as d:
        wait_state("ok")
        d.send_signal(signal.SIGHUP)
        wait_journal(ids["MSGID_CONFIG_RELOADED"], "reloaded")
        with open(conf, "w") as f:
            f.write(text.replace("[mailbox lab]\n",
                                 "[mailbox lab]\nno_such_key = 1\n"))
        d.send_signal(signal.SIGHUP)
        wait_journal(ids["MSGID_CONFIG_REJECTED"], "rejected")
        with open(conf, "w") as f:
            f.write(text)
        for scenario, want in (("expiring", "warning"),
                               ("incident", "critical"),
                               ("healthy", "ok"), ("moved", "ok"),
                               ("frontend-nosni", "ok"),
                               ("fe-renewed", "critical")):
            subprocess.run([contoso, "switch", scenario], check=True,
                           timeout=60)
            wait_state(want, timeout=60)
            # moved is ok like healthy: wait for the rediscovery itself.
            if scenario == "moved":
                wait_journal(ids["MSGID_EWS_URL_CHANGED"], "URLs changed")
            # Ok too: wait for the pool's finding (learned every 1 s).
            if scenario == "frontend-nosni":
                wait_journal(ids["MSGID_FE_PHONE_HELLO"], "pool finding")
        wait_journal(ids["MSGID_FE_ISSUER_CHANGED"], "issuer changed")
        # Behind schedule: 8 black-holed mailboxes, room for 4 runs in
        # flight; then back without them (as test-scale does).
        subprocess.run([contoso, "switch", "hostile"], check=True,
                       timeout=60)
        lab_conf_mailboxes(
            {"interval": "2s", "retry_interval": "2s", "concurrency": "2",
             "max_in_flight": "4", "timeout": "120s"},
            {f"b{i}": "https://blackhole.contoso.com/EWS/Exchange.asmx"
             for i in range(8)}, os.path.basename(conf))
        d.send_signal(signal.SIGHUP)
        wait_journal(ids["MSGID_SCHEDULE_BEHIND"], "behind schedule")
        with open(conf, "w") as f:
            f.write(text)
        d.send_signal(signal.SIGHUP)
        wait_journal(ids["MSGID_SCHEDULE_CAUGHT_UP"], "caught up")
        d.send_signal(signal.SIGTERM)
        check(d.wait(timeout=30) == 0, "SIGTERM exit status")
    # An invalid file at start: its own entry, and exit status 1.
    bad = conf + ".bad"
    with open(bad, "w") as f:
        f.write(text.replace("[mailbox lab]\n",
                             "[mailbox lab]\nno_such_key = 1\n"))
    p = subprocess.run([ewsprobed, "-f", bad], capture_output=True,
                       timeout=120)
    check(p.returncode == 1, f"invalid file at start: exit {p.returncode}")
    wait_journal(ids["MSGID_CONFIG_INVALID"], "invalid at start")
    install_catalog()
    raw = re.compile(r"@[A-Za-z0-9_]+@")
    for name, msgid in sorted(ids.items()):
        if name in UNTRIGGERED:
            print(f"{name}: not triggered: {UNTRIGGERED[name]}")
            continue
        check(journal(msgid), f"no {name} entry in the journal")
        p = subprocess.run(["journalctl", "--no-pager", "-x",
                            f"MESSAGE_ID={msgid}"], capture_output=True,
                           text=True, timeout=30)
        check("Subject: " in p.stdout, f"{name}: no catalog text:\n"
              f"{p.stdout}")
        left = raw.findall(p.stdout)
        check(not left, f"{name}: {left} not substituted:\n{p.stdout}")
        # A field the entry lacks shows as its bare name.
        text = "".join(line for line in p.stdout.splitlines(True)
                       if line.startswith("\u2591\u2591"))
        check("EWSPROBED_" not in text, f"{name}: a field missing from "
              f"the entry:\n{p.stdout}")


def write_conf_text(text):
    """Fast timings (1 s, alert after 2 failures) in a configuration."""
    for key, value in (("interval", "1s"), ("retry_interval", "1s"),
                       ("fail_after", "2"), ("recover_after", "2")):
        text = "\n".join(f"{key} = {value}" if line.startswith(key + " =")
                         else line for line in text.split("\n"))
    return text


def test_robustness():
    """Stalled transfer at SIGTERM; read-only status directory."""
    run_in_lab(SOURCE, "hostile", __file__, "--inside-robust", EWSPROBED)


def test_restricted():
    """Unprivileged, no capabilities, read-only file system."""
    run_in_lab(SOURCE, "healthy", __file__, "--inside-restricted", EWSPROBED)


def test_expiring():
    """An expiring certificate is reported once, not every run."""
    run_in_lab(SOURCE, "expiring", __file__, "--inside-expiring", EWSPROBED)


def test_many_stalled():
    """Many stalling targets: the concurrency cap holds."""
    run_in_lab(SOURCE, "hostile", __file__, "--inside-many", EWSPROBED)


def test_urls_moved():
    """Autodiscover's answer changes: reported once."""
    run_in_lab(SOURCE, "healthy", __file__, "--inside-moved", EWSPROBED)


def test_clock_jumps():
    """Wall clock jumps ten years forward and back."""
    run_in_lab(SOURCE, "healthy", __file__, "--inside-clock", EWSPROBED)


def test_catalog_every_id():
    """journalctl -x explains every MESSAGE_ID with its fields."""
    run_in_lab(SOURCE, "healthy", __file__, "--inside-catalog", EWSPROBED)


def test_incident_end_to_end():
    """healthy -> incident -> fixed: one down, one recovered."""
    run_in_lab(SOURCE, "healthy", __file__, "--inside", EWSPROBED)


def test_frontend_renewed():
    """The pool's issuer changes: reported, and EWS judged again."""
    run_in_lab(SOURCE, "healthy", __file__, "--inside-fe", EWSPROBED)


INSIDE = {"--inside": inside, "--inside-fe": lambda e: inside_fe(e),
          "--inside-robust": lambda e: inside_robust(e),
          "--inside-restricted": lambda e: inside_restricted(e),
          "--inside-expiring": lambda e: inside_expiring(e),
          "--inside-many": lambda e: inside_many_stalled(e),
          "--inside-moved": lambda e: inside_moved(e),
          "--inside-clock": lambda e: inside_clock(e),
          "--inside-catalog": lambda e: inside_catalog(e)}
SOURCE_DIR = os.path.dirname(os.path.dirname(HERE))
if len(sys.argv) == 3 and sys.argv[1] in INSIDE:
    run_inside("inside", INSIDE[sys.argv[1]], sys.argv[2])

EWSPROBED, SOURCE = lab_args()
run_tests([test_incident_end_to_end, test_frontend_renewed,
           test_robustness, test_restricted, test_expiring,
           test_many_stalled, test_urls_moved, test_clock_jumps,
           test_catalog_every_id])
