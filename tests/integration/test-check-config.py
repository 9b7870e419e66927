#!/usr/bin/python3
"""Integration test: `ewsprobed -n` and the command line.

The shipped sample configuration validates; a configuration with a typo'd
key, a bad duration and a world-readable credential file is refused with all
three problems named by file:line (docs/security.md row 34); allocation failure
ends in a clean exit 1, never a crash (row 40); usage errors exit 2.
"""
import os
import re
import resource
import subprocess
import sys

from ewstest import (PASSWORD_CANARY, basic_config, check, run_tests,
                     tempdir, write_file)

EWSPROBED = os.path.abspath(sys.argv[1])
SOURCE = os.path.abspath(sys.argv[2])


def run(args, env=None, preexec=None):
    """Run ewsprobed with args; return (status, stdout, stderr)."""
    try:
        p = subprocess.run([EWSPROBED] + args, capture_output=True,
                           text=True, env=env, timeout=30,
                           preexec_fn=preexec)
    except subprocess.TimeoutExpired:
        check(False, f"{args} still running after 30 s (a hang guard)")
    return p.returncode, p.stdout, p.stderr


def test_sample_config_ok():
    """conf/ewsprobed.conf passes -n (its credential from a creds dir)."""
    d = tempdir()
    write_file(os.path.join(d, "ewsprobed_password"), "secret\n", 0o600)
    env = dict(os.environ, CREDENTIALS_DIRECTORY=d)
    rc, out, err = run(["-n", "-f", os.path.join(SOURCE, "conf",
                                                   "ewsprobed.conf")], env)
    check(rc == 0, f"-n on the sample exits {rc}: {err}")
    check("configuration OK" in out, f"no summary line: {out!r}")
    check(len(out.strip().split("\n")) == 1, f"summary not one line: {out!r}")


def test_sample_without_credentials_dir():
    """Outside the service -n cannot see LoadCredential=: it says so and
    still exits 0 (the daemon itself refuses to start without it)."""
    sample = os.path.join(SOURCE, "conf", "ewsprobed.conf")
    env = dict(os.environ)
    env.pop("CREDENTIALS_DIRECTORY", None)
    rc, out, err = run(["-n", "-f", sample], env)
    check(rc == 0, f"-n exits {rc}: {err}")
    check("not checked" in out, f"no note about the credential: {out!r}")


def test_three_errors_named():
    """Typo'd key, bad duration, world-readable credential: all reported."""
    d = tempdir()
    cfg = os.path.join(d, "bad.conf")
    text = basic_config(d).replace("interval = 5m", "interval = 5 minutes")
    text = text.replace("metrics_file =", "metrics_file =\nconcurrrency = 4")
    write_file(cfg, text)
    os.chmod(os.path.join(d, "lab.password"), 0o644)
    lines = text.split("\n")
    dur_line = lines.index("interval = 5 minutes") + 1
    typo_line = lines.index("concurrrency = 4") + 1
    cred_line = [i for i, l in enumerate(lines)
                 if l.startswith("credential =")][0] + 1
    rc, out, err = run(["-n", "-f", cfg])
    check(rc == 1, f"exit status {rc}, want 1")
    for line, word in ((dur_line, "interval"), (typo_line, "concurrrency"),
                       (cred_line, "credential")):
        check(any(f"{cfg}:{line}:" in l and word in l
                  for l in err.split("\n")),
              f"no error naming {cfg}:{line} {word}: {err!r}")
    check(PASSWORD_CANARY not in err + out, "password in the output")


def limited(mb):
    """A preexec function capping the address space at mb MiB."""
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (mb << 20, mb << 20))
    return limit


def test_oom_is_clean():
    """When memory runs out the process exits 1 with a message, never a
    crash: a sweep of address-space limits from the smallest that lets the
    binary load, over a configuration that needs more than that."""
    d = tempdir()
    cfg = os.path.join(d, "ewsprobed.conf")
    write_file(cfg, basic_config(d) + "".join(
        f"\n[mailbox m{i}]\naddress = m{i}@contoso.com\naccount = C\\m{i}\n"
        f"credential = {os.path.join(d, 'lab.password')}\n"
        for i in range(20000)))
    # The smallest limit under which the binary and its libraries load.
    lo, hi = 1, 512
    while lo < hi:
        mid = (lo + hi) // 2
        if run(["-V"], preexec=limited(mid))[0] == 0:
            hi = mid
        else:
            lo = mid + 1
    check(lo < 512, "ewsprobed -V does not run even with 512 MiB")
    oom_seen = False
    for mb in range(lo, lo + 12):
        rc, out, err = run(["-n", "-f", cfg], preexec=limited(mb))
        check(rc in (0, 1), f"exit status {rc} at {mb} MiB: {err[-300:]!r}")
        if rc == 1:
            check("out of memory" in err or "cannot read" in err,
                  f"exit 1 without an out-of-memory message at {mb} MiB: "
                  f"{err[-300:]!r}")
            oom_seen = oom_seen or "out of memory" in err
    check(oom_seen, "no limit in the sweep ran out of memory")


def test_usage():
    """Unknown options and commands exit 2; -V and -h exit 0."""
    check(run(["--no-such-option"])[0] == 2, "bad option")
    check(run(["frobnicate"])[0] == 2, "bad command")
    rc, out, _ = run(["-V"])
    check(rc == 0 and out.startswith("ewsprobed "), "-V")
    rc, out, _ = run(["-h"])
    check(rc == 0 and "--check-config" in out, "-h")


def test_not_regular():
    """-n -f /dev/zero and -f FIFO (no writer) are refused at once instead
    of reading forever or waiting for a writer (the 30 s subprocess timeout
    is only a hang guard)."""
    d = tempdir()
    fifo = os.path.join(d, "fifo.conf")
    os.mkfifo(fifo)
    for path in ("/dev/zero", fifo):
        rc, out, err = run(["-n", "-f", path])
        check(rc == 1 and f"{path}: is not a regular file" in err,
              f"-n -f {path}: {rc} {err!r}")


def test_password_line_breaks():
    """One final LF or CR LF is the end of the password's line; any other
    CR or LF is refused with a line that says so."""
    d = tempdir()
    cfg = os.path.join(d, "ewsprobed.conf")
    write_file(cfg, basic_config(d))
    pw = os.path.join(d, "lab.password")
    for content in (b"secret\n\n", b"sec ret\r\r\n", b"secret\r"):
        with open(pw, "wb") as f:
            f.write(content)
        rc, out, err = run(["-n", "-f", cfg])
        check(rc == 1 and "has a line break (CR or LF) that is not its "
              "one final end of line" in err, f"{content!r}: {rc} {err!r}")
    for content in (b"sec ret\r\n", b"secret\n", b"secret"):
        with open(pw, "wb") as f:
            f.write(content)
        rc, out, err = run(["-n", "-f", cfg])
        check(rc == 0, f"{content!r}: {rc} {err!r}")


def test_duration_bounds():
    """Durations are bounded (30 days), so no sum of them overflows."""
    d = tempdir()
    cfg = os.path.join(d, "ewsprobed.conf")
    for value in ("18446744073709551615ms", "31d", "2592001s"):
        write_file(cfg, basic_config(d).replace("interval = 5m",
                                                f"interval = {value}"))
        rc, out, err = run(["-n", "-f", cfg])
        check(rc == 1 and f"duration '{value}' out of range (1s to 30d)"
              in err, f"interval = {value}: {rc} {err!r}")
    write_file(cfg, basic_config(d).replace("interval = 5m",
                                            "interval = 30d"))
    check(run(["-n", "-f", cfg])[0] == 0, "interval = 30d refused")


def test_wrong_combinations():
    """Options that would be ignored are usage errors (exit 2) naming
    them; errors about a mailbox given by options name the option, never
    a line of a file the user did not write."""
    cases = [
        (["--json"], "--json needs --once"),
        (["--json", "-f", "/nonexistent"], "--json needs --once"),
        (["-n", "--address", "a@contoso.com"], "--address needs --once"),
        (["-n", "--once"], "-n and --once cannot be combined"),
        (["--once", "--address", "a@contoso.com"],
         "--address needs a trust anchor"),
        (["--once", "--frontend", "fe.contoso.com"],
         "--frontend needs --address"),
        (["--once", "-f", "/nonexistent", "--address", "a@contoso.com"],
         "-f and --address cannot be combined"),
        (["--once", "--address", "a@contoso.com", "--frontend",
          "fe.contoso.com", "lab"], "need a configuration file"),
        (["--once", "--address", "a@contoso.com", "--frontend",
          "fe.contoso.com", "--account", "C\\a"],
         "--account and --password-file go together"),
        (["-n", "parse", "-"], "parse cannot be combined with -n"),
        (["--address"], "option --address needs a value"),
        (["-q"], "unknown option '-q'"),
        (["--no-such\x1b[31m"], "unknown option '--no-such\\x1b[31m'"),
        (["--once", "--address", "a@contoso.com\x1b[2J", "--frontend",
          "fe.contoso.com"], "--address 'a@contoso.com\\x1b[2J': control"),
    ]
    for args, want in cases:
        rc, out, err = run(args)
        check(rc == 2 and want in err and "\x1b" not in err,
              f"{args}: {rc} {err!r}")
        check(":4:" not in err and "[profile" not in err, f"{args}: {err!r}")
    rc, out, err = run(["--once", "--address", "not-an-address",
                        "--frontend", "fe.contoso.com"])
    check(rc == 3 and "(command line): --address: 'not-an-address' is not "
          "an SMTP address" in err, f"bad --address: {rc} {err!r}")
    check(not re.search(r"\(command line\):\d", err), f"a fake line: {err!r}")


run_tests([test_sample_config_ok, test_sample_without_credentials_dir,
           test_three_errors_named, test_oom_is_clean,
           test_usage, test_not_regular, test_password_line_breaks,
           test_duration_bounds, test_wrong_combinations])
