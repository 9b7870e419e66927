#!/usr/bin/python3
"""Integration test: retained state survives a restart (issue 17).

In the lab, with $STATE_DIRECTORY set as systemd's StateDirectory= sets it:
- `incident`: the daemon alerts "target down" once; stopped and started
  again, it runs on without a second "down" entry, its run counter goes on
  from where it was, and the status file says critical at once;
- `expiring`: the 30-day expiry warning is given once across a restart;
- `healthy` with autodiscover: after a restart the discovered EWS URLs
  are used again without asking autodiscover;
- `healthy` -> `fe-renewed` while the daemon is stopped: the Front End
  issuer learned before the restart is kept, so the change is reported;
- a corrupt, a foreign-version and an unreadable retained file each cost one
  warning and a fresh start (the daemon runs and alerts as new);
- a reload (SIGHUP) keeps the same: five mailboxes that have run once are
  neither rediscovered nor run again at once; Autodiscover that moves the
  EWS URL, and a Front End issuer that is renewed, across a reload are
  each reported once (issue 13).
Needs root (the lab); skipped otherwise.
"""
import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from ewstest import (check, lab_args, lab_daemon, run_in_lab,  # noqa: E402
                     run_inside, run_tests)

MSGID_DOWN = "39f4c06529b34f678a50fe21ce9564d3"
MSGID_EXPIRING = "eeea44f1eabc42d3bf11e607556b1d50"
MSGID_FE_CHANGED = "44993bbf63f941aabbd5e74c69423668"
MSGID_URL_CHANGED = "e3880e2d911e46af9a44645ca9a0d193"
TARGET = "lab/lync-phone-edition"


def conf(fixed=True):
    """LAB_CONF with fast timings (and fixed EWS URLs); return its path."""
    with open(os.environ["LAB_CONF"]) as f:
        text = f.read()
    for key, value in (("interval", "1s"), ("retry_interval", "1s"),
                       ("fail_after", "2"), ("recover_after", "2")):
        text = "\n".join(f"{key} = {value}" if line.startswith(key + " =")
                         else line for line in text.split("\n"))
    if fixed:
        text += ("ews_internal_url = https://casarray.contoso.com/EWS/"
                 "Exchange.asmx\n")
    path = os.path.join(os.environ["LAB_STATE_DIR"], "retain.conf")
    with open(path, "w") as f:
        f.write(text)
    return path


def state_dir():
    """A private state directory, as systemd makes it."""
    d = os.path.join(os.environ["LAB_STATE_DIR"], "state")
    os.makedirs(d, mode=0o700, exist_ok=True)
    return d


def target():
    """The lab target in the status file, or None."""
    path = os.path.join(os.environ["LAB_STATE_DIR"], "status.json")
    try:
        with open(path) as f:
            st = json.load(f)
    except FileNotFoundError:
        return None
    return next((t for t in st["targets"] if t["target"] == TARGET), None)


def journal(msgid=None, grep=None):
    """Journal entries (with this MESSAGE_ID or text), as dicts."""
    argv = ["journalctl", "--no-pager", "-o", "json"]
    argv += [f"MESSAGE_ID={msgid}"] if msgid else ["--grep", grep]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    return [json.loads(line) for line in p.stdout.splitlines()
            if line.startswith("{")]


def daemon(ewsprobed, path):
    """Run the daemon with the state directory (lab_daemon: stopped with
    SIGTERM at the end of the block)."""
    return lab_daemon(ewsprobed, path,
                      env=dict(os.environ, STATE_DIRECTORY=state_dir()),
                      stderr_name=None)


def wait(cond, what, d, timeout=60):
    """Wait until cond() holds while the daemon runs."""
    deadline = time.monotonic() + timeout
    while not cond():
        check(d.poll() is None, f"the daemon exited while waiting: {what}")
        check(time.monotonic() < deadline, f"timed out: {what}")
        time.sleep(0.2)


def runs():
    """The lab target's run counter (0 before the first status)."""
    t = target()
    return t["runs"] if t else 0


def inside_down(ewsprobed):
    """One "down" across a restart; counters go on."""
    path = conf()
    with daemon(ewsprobed, path) as d:
        wait(lambda: journal(MSGID_DOWN), "the down alert", d)
    before = runs()
    check(before >= 2, f"{before} runs before the restart")
    retained = os.path.join(state_dir(), "retained.xml")
    check(os.stat(retained).st_mode & 0o777 == 0o600, "retained file mode")
    with daemon(ewsprobed, path) as d:
        wait(lambda: target() is not None and target()["state"] ==
             "critical", "critical in the status", d)
        wait(lambda: runs() >= before + 4, "four more runs", d)
    check(len(journal(MSGID_DOWN)) == 1,
          f"{len(journal(MSGID_DOWN))} down alerts across a restart")


def inside_expiring(ewsprobed):
    """One expiry warning across a restart."""
    path = conf()
    with daemon(ewsprobed, path) as d:
        wait(lambda: journal(MSGID_EXPIRING), "the expiry warning", d)
    before = runs()
    with daemon(ewsprobed, path) as d:
        wait(lambda: runs() >= before + 3, "three more runs", d)
    check(len(journal(MSGID_EXPIRING)) == 1,
          f"{len(journal(MSGID_EXPIRING))} expiry warnings")


def autodiscover_requests():
    """How many requests the double got for Autodiscover."""
    with open(os.environ["LAB_REQUEST_LOG"]) as f:
        return sum("autodiscover" in json.loads(line)["path"].lower()
                   for line in f if line.startswith("{"))


def inside_discovery(ewsprobed):
    """Discovered URLs are used again after a restart."""
    path = conf(fixed=False)
    with daemon(ewsprobed, path) as d:
        wait(lambda: target() is not None and target()["state"] == "ok",
             "ok", d)
    asked = autodiscover_requests()
    check(asked >= 1, "autodiscover was never asked")
    before = runs()
    with daemon(ewsprobed, path) as d:
        wait(lambda: runs() >= before + 3, "three more runs", d)
    check(autodiscover_requests() == asked,
          f"autodiscover asked again after the restart "
          f"({asked} -> {autodiscover_requests()} requests)")


def check_fe_changed_once():
    """One 'FE issuer changed' entry, from the lab's first issuer."""
    fe = journal(MSGID_FE_CHANGED)
    check(len(fe) == 1, f"{len(fe)} 'FE issuer changed' entries")
    check(fe[0]["EWSPROBED_PREV_ISSUER"] == "CN=Issuing CA for contoso,com",
          "previous issuer")


def inside_frontend(ewsprobed):
    """The pool's issuer changes while the daemon is stopped: reported."""
    path = conf()
    with daemon(ewsprobed, path) as d:
        wait(lambda: target() is not None and target()["state"] == "ok",
             "ok", d)
    contoso = os.path.join(os.environ["LAB_TOOLS"], "contoso")
    subprocess.run([contoso, "switch", "fe-renewed"], check=True, timeout=60)
    with daemon(ewsprobed, path) as d:
        wait(lambda: journal(MSGID_FE_CHANGED), "the FE issuer change", d)
    check_fe_changed_once()


def set_key(path, key, value):
    """Set a [daemon] key of the configuration at path."""
    with open(path) as f:
        lines = f.read().split("\n")
    lines = [f"{key} = {value}" if line.startswith(key + " =") else line
             for line in lines]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def reload(d):
    """SIGHUP; return once the daemon journaled the reload."""
    before = len(journal(grep="configuration .* reloaded"))
    d.send_signal(signal.SIGHUP)
    wait(lambda: len(journal(grep="configuration .* reloaded")) > before,
         "the reload", d)


def all_runs(names):
    """The run counters of the named targets (0 before their first)."""
    path = os.path.join(os.environ["LAB_STATE_DIR"], "status.json")
    try:
        with open(path) as f:
            st = json.load(f)
    except FileNotFoundError:
        return {n: 0 for n in names}
    got = {t["target"]: t["runs"] for t in st["targets"]}
    return {n: got.get(n, 0) for n in names}


def inside_reload_kept(ewsprobed):
    """Five mailboxes, run once each, reloaded: no rediscovery, no re-run."""
    path = conf(fixed=False)
    set_key(path, "interval", "300s")
    with open(path) as f:
        text = f.read()
    section = text[text.index("[mailbox lab]"):]
    with open(path, "a") as f:
        for i in range(2, 6):
            f.write("\n" + section.replace("[mailbox lab]",
                                            f"[mailbox lab{i}]"))
    names = [TARGET] + [f"lab{i}/lync-phone-edition" for i in range(2, 6)]
    with daemon(ewsprobed, path) as d:
        wait(lambda: min(all_runs(names).values()) >= 1,
             "every target's first run", d)
        asked, before = autodiscover_requests(), all_runs(names)
        check(asked >= len(names), f"{asked} autodiscover requests")
        reload(d)
        # Before the fix every target ran again within 10 s of a reload.
        time.sleep(12)
        check(all_runs(names) == before,
              f"runs after the reload: {before} -> {all_runs(names)}")
        check(autodiscover_requests() == asked,
              f"autodiscover asked again after the reload "
              f"({asked} -> {autodiscover_requests()} requests)")


def inside_reload_moved(ewsprobed):
    """Autodiscover moves the EWS URL across a reload: reported once."""
    path = conf(fixed=False)
    with daemon(ewsprobed, path) as d:
        wait(lambda: target() is not None and target()["state"] == "ok",
             "ok", d)
        contoso = os.path.join(os.environ["LAB_TOOLS"], "contoso")
        subprocess.run([contoso, "switch", "moved"], check=True, timeout=60)
        # The new configuration rediscovers at once (discovery_interval).
        set_key(path, "discovery_interval", "1s")
        reload(d)
        wait(lambda: journal(MSGID_URL_CHANGED), "'EWS URL changed'", d,
             timeout=30)
    ent = journal(MSGID_URL_CHANGED)
    check(len(ent) == 1, f"{len(ent)} 'EWS URL changed' entries")
    check(ent[0]["EWSPROBED_URL"] ==
          "https://mail.contoso.com/EWS/Exchange.asmx" and
          ent[0]["EWSPROBED_PREV_URL"] ==
          "https://casarray.contoso.com/EWS/Exchange.asmx",
          f"fields {ent[0]}")


def inside_reload_frontend(ewsprobed):
    """The pool's issuer is renewed across a reload: reported once."""
    path = conf()
    with daemon(ewsprobed, path) as d:
        wait(lambda: target() is not None and target()["state"] == "ok",
             "ok", d)
        contoso = os.path.join(os.environ["LAB_TOOLS"], "contoso")
        subprocess.run([contoso, "switch", "fe-renewed"], check=True,
                       timeout=60)
        reload(d)
        wait(lambda: journal(MSGID_FE_CHANGED), "the FE issuer change", d,
             timeout=30)
    check_fe_changed_once()


def inside_bad_files(ewsprobed):
    """Each bad file: one warning, a fresh start that alerts as new."""
    path = conf()
    retained = os.path.join(state_dir(), "retained.xml")
    bad = {
        "corrupt": b"<ewsprobed-retained version='1'><target name='x' ",
        "foreign": b"<ewsprobed-retained version='99'/>",
        "invalid": b"<ewsprobed-retained version='1'><target name='"
                   b"lab/lync-phone-edition' hard='on fire'/>"
                   b"</ewsprobed-retained>",
        "dtd": b"<!DOCTYPE x [<!ENTITY e 'e'>]><ewsprobed-retained "
               b"version='1'/>",
        "unreadable": None,
    }
    for n, (name, data) in enumerate(bad.items(), start=1):
        if os.path.lexists(retained):
            os.unlink(retained)
        if data is None:
            os.mkdir(retained)      # not a regular file: cannot be read
        else:
            with open(retained, "wb") as f:
                f.write(data)
        with daemon(ewsprobed, path) as d:
            wait(lambda: len(journal(MSGID_DOWN)) >= n,
                 f"{name}: a down alert after a fresh start", d)
        warn = journal(grep=f"retained state {retained}.*starting without")
        check(len(warn) == n, f"{name}: {len(warn)} warnings, want {n}")
        check(warn[-1]["PRIORITY"] == "4", f"{name}: not a warning")
        if data is None:
            os.rmdir(retained)


def test_down_not_repeated():
    """incident: one "down" across a restart."""
    run_in_lab(SOURCE, "incident", __file__, "--inside-down", EWSPROBED)


def test_expiry_not_repeated():
    """expiring: one expiry warning across a restart."""
    run_in_lab(SOURCE, "expiring", __file__, "--inside-expiring", EWSPROBED)


def test_discovery_kept():
    """healthy: no autodiscover after a restart (the URLs are kept)."""
    run_in_lab(SOURCE, "healthy", __file__, "--inside-discovery", EWSPROBED)


def test_frontend_kept():
    """healthy, restart into fe-renewed: the issuer change is reported."""
    run_in_lab(SOURCE, "healthy", __file__, "--inside-frontend", EWSPROBED)


def test_bad_files():
    """Corrupt, foreign, invalid, DTD, unreadable: warned, never fatal."""
    run_in_lab(SOURCE, "incident", __file__, "--inside-bad", EWSPROBED)


def test_reload_kept():
    """healthy, five mailboxes: a reload rediscovers and re-runs none."""
    run_in_lab(SOURCE, "healthy", __file__, "--inside-reload-kept",
               EWSPROBED)


def test_reload_moved():
    """healthy, reload into moved: 'EWS URL changed' once."""
    run_in_lab(SOURCE, "healthy", __file__, "--inside-reload-moved",
               EWSPROBED)


def test_reload_frontend():
    """healthy, reload into fe-renewed: 'FE issuer changed' once."""
    run_in_lab(SOURCE, "healthy", __file__, "--inside-reload-frontend",
               EWSPROBED)


INSIDE = {"--inside-down": inside_down, "--inside-expiring": inside_expiring,
          "--inside-bad": inside_bad_files,
          "--inside-discovery": inside_discovery,
          "--inside-frontend": inside_frontend,
          "--inside-reload-kept": inside_reload_kept,
          "--inside-reload-moved": inside_reload_moved,
          "--inside-reload-frontend": inside_reload_frontend}
if len(sys.argv) == 3 and sys.argv[1] in INSIDE:
    run_inside("inside", INSIDE[sys.argv[1]], sys.argv[2])

EWSPROBED, SOURCE = lab_args()
run_tests([test_down_not_repeated, test_expiry_not_repeated,
           test_discovery_kept, test_frontend_kept, test_bad_files,
           test_reload_kept, test_reload_moved, test_reload_frontend])
