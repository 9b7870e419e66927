#!/usr/bin/python3
"""Integration test: ewsprobed's conversation with the service manager.

Runs the real daemon with a test-owned NOTIFY_SOCKET and checks READY,
STATUS, WATCHDOG, RELOADING/READY around a rejected and an accepted reload
(docs/security.md row 32: a broken reload keeps the old configuration), STOPPING
and a clean exit 0 on SIGTERM, and a SIGHUP during the start. The daemon runs where no journal
socket exists (a private mount namespace with an empty /run/systemd when we
are root), so its messages must reach stderr (row 37).
"""
import os
import signal
import subprocess
import sys
import time

from ewstest import (PASSWORD_CANARY, NotifyListener, Skip, basic_config,
                     check, run_tests, tempdir, wait_exit, write_file)

EWSPROBED = os.path.abspath(sys.argv[1])


# Waits are hang guards, never measures of speed: the suite must pass with a
# CPU hog on every core.
GUARD = 60.0


def start(d, cfg, env_extra=None, preexec=None):
    """Start the daemon on cfg with NOTIFY_SOCKET, stderr to a file."""
    listener = NotifyListener(d)
    env = dict(os.environ, NOTIFY_SOCKET=listener.path)
    env.pop("WATCHDOG_USEC", None)
    env.pop("WATCHDOG_PID", None)
    env.update(env_extra or {})
    argv = [EWSPROBED, "-f", cfg]
    if os.path.exists("/run/systemd/journal/socket"):
        # Hide the host's journal socket: sd_journal_send would drop
        # messages silently, the daemon must notice and use stderr. The
        # namespace's mounts must stay private to it.
        if os.geteuid() != 0:
            raise Skip("a journal socket exists and we cannot hide it")
        argv = ["unshare", "--mount", "--propagation", "private", "sh",
                "-c", "mount -t tmpfs tmpfs /run/systemd || exit 99; "
                'exec "$@"', "sh"] + argv
    errf = open(os.path.join(d, "stderr"), "w+")
    proc = subprocess.Popen(argv, env=env, stderr=errf,
                            stdout=subprocess.DEVNULL, preexec_fn=preexec)
    return proc, listener, errf


def stderr_text(errf):
    """Everything the daemon wrote to stderr so far."""
    errf.flush()
    errf.seek(0)
    return errf.read()


def test_lifecycle():
    """READY/STATUS, broken reload kept, good reload, STOPPING, exit 0."""
    d = tempdir()
    cfg = write_file(os.path.join(d, "ewsprobed.conf"), basic_config(d))
    proc, n, errf = start(d, cfg)
    try:
        n.wait_for("READY=1", GUARD)
        check(any("STATUS=1 target:" in m for m in n.messages),
              f"no STATUS line before READY: {n.messages!r}")
        check("<6>ewsprobed" in stderr_text(errf) or
              "started" in stderr_text(errf),
              "no start message on stderr without a journal socket")

        # A broken configuration: RELOADING, READY, the old one stays.
        write_file(cfg, basic_config(d) + "\nbogus_key = 1\n")
        proc.send_signal(signal.SIGHUP)
        n.wait_for("RELOADING=1", GUARD)
        n.wait_for("READY=1", GUARD)
        deadline = time.monotonic() + GUARD
        while "rejected" not in stderr_text(errf):
            check(time.monotonic() < deadline, "no rejection logged")
            time.sleep(0.05)
        err = stderr_text(errf)
        check("bogus_key" in err and "ewsprobed.conf:" in err,
              f"rejection does not name the key and file: {err!r}")
        check(proc.poll() is None, "daemon died on a broken reload")

        # A good configuration with a second mailbox is taken.
        extra = ("\n[mailbox second]\naddress = b@contoso.com\n"
                 "account = CONTOSO\\b\ncredential = "
                 + os.path.join(d, "lab.password") + "\n")
        write_file(cfg, basic_config(d, extra))
        proc.send_signal(signal.SIGHUP)
        n.wait_for("RELOADING=1", GUARD)
        n.wait_for("READY=1", GUARD)
        check("STATUS=2 targets:" in "".join(n.messages),
              f"reload not applied: {n.messages!r}")

        proc.send_signal(signal.SIGTERM)
        n.wait_for("STOPPING=1", GUARD)
        rc = wait_exit(proc, GUARD)
        check(rc == 0, f"exit status {rc} after SIGTERM")
        check(PASSWORD_CANARY not in stderr_text(errf),
              "the password reached stderr")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        n.close()


def test_watchdog():
    """With WATCHDOG_USEC set, WATCHDOG=1 keeps arriving (at half the
    period; a busy machine may delay a ping, so only its arrival is
    checked, not the time it took)."""
    d = tempdir()
    cfg = write_file(os.path.join(d, "ewsprobed.conf"), basic_config(d))
    proc, n, errf = start(d, cfg, {"WATCHDOG_USEC": "200000"})
    try:
        n.wait_for("READY=1", GUARD)
        for _ in range(3):
            n.wait_for("WATCHDOG=1", GUARD)
        proc.send_signal(signal.SIGINT)
        check(wait_exit(proc, GUARD) == 0, "SIGINT did not exit 0")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        n.close()


def block_hup():
    """In the child before exec: block SIGHUP, as a busy start would have
    it arrive before any handler exists (the mask survives exec)."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})


def test_hup_during_start():
    """A SIGHUP that arrives while the configuration is still being loaded
    neither kills the daemon (it did: rc 129) nor is lost: it becomes one
    reload once the daemon is up. The signal is sent before the daemon can
    have installed its handlers and held pending by an inherited mask, so
    the order does not depend on the machine's speed."""
    d = tempdir()
    cfg = write_file(os.path.join(d, "ewsprobed.conf"), basic_config(d))
    proc, n, errf = start(d, cfg, preexec=block_hup)
    try:
        proc.send_signal(signal.SIGHUP)
        n.wait_for("READY=1", GUARD)
        n.wait_for("RELOADING=1", GUARD)
        n.wait_for("READY=1", GUARD)
        check(proc.poll() is None, f"daemon exited: {proc.poll()}")
        proc.send_signal(signal.SIGTERM)
        rc = wait_exit(proc, GUARD)
        check(rc == 0, f"exit status {rc} after SIGTERM")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        n.close()


def test_bad_start():
    """A daemon whose configuration is invalid never says READY, exits 1."""
    d = tempdir()
    cfg = write_file(os.path.join(d, "ewsprobed.conf"),
                     basic_config(d) + "\nintervall = 5m\n")
    proc, n, errf = start(d, cfg)
    try:
        rc = wait_exit(proc, GUARD)
        check(rc == 1, f"exit status {rc}, want 1")
        check("READY=1" not in "".join(n.messages), "READY before config")
        check("intervall" in stderr_text(errf), "error does not name key")
    finally:
        n.close()


run_tests([test_lifecycle, test_watchdog, test_hup_during_start,
           test_bad_start])
