#!/usr/bin/python3
"""Integration test: `meson install` into a DESTDIR puts exactly the
documented files in place (README, "Install"), the installed unit passes
`systemd-analyze verify`, and its exposure score from
`systemd-analyze security --offline=yes` is 2.0 or lower (printed).

  test-install.py EWSPROBED SOURCE
"""
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from ewstest import Skip, check, run_tests  # noqa: E402

SOURCE = os.path.abspath(sys.argv[2])
# The documented list (README "Install"), for --prefix=/usr.
EXPECTED = sorted([
    "etc/ewsprobed/ewsprobed.conf",
    "usr/lib/systemd/catalog/ewsprobed.catalog",
    "usr/lib/systemd/system/ewsprobed.service",
    "usr/lib/sysusers.d/ewsprobed.conf",
    "usr/sbin/ewsprobed",
    "usr/share/doc/ewsprobed/examples/ewsprobed.conf",
    "usr/share/doc/ewsprobed/examples/ewsprobed.rules.yml",
    "usr/share/man/man5/ewsprobed.conf.5",
    "usr/share/man/man8/ewsprobed.8",
])
WORK = tempfile.mkdtemp(prefix="ewsprobed-install-")
DESTDIR = os.path.join(WORK, "dest")


def sh(*argv, **kw):
    """Run a command; fail the test with its output if it fails."""
    p = subprocess.run(argv, capture_output=True, text=True, timeout=600,
                       **kw)
    check(p.returncode == 0, f"{' '.join(argv)}:\n{p.stdout}{p.stderr}")
    return p.stdout


def test_destdir_install():
    """A DESTDIR install holds exactly the documented files."""
    build = os.path.join(WORK, "build")
    sh("meson", "setup", build, SOURCE, "--prefix=/usr",
       "-Dtests=disabled")
    sh("ninja", "-C", build)
    env = dict(os.environ, DESTDIR=DESTDIR)
    sh("meson", "install", "-C", build, "--no-rebuild", "--quiet", env=env)
    got = sorted(os.path.relpath(os.path.join(d, f), DESTDIR)
                 for d, _, files in os.walk(DESTDIR) for f in files)
    check(got == EXPECTED, f"installed {got}, documented {EXPECTED}")
    # A second install keeps an admin's configuration.
    conf = os.path.join(DESTDIR, "etc/ewsprobed/ewsprobed.conf")
    with open(conf, "a") as f:
        f.write("; edited by the admin\n")
    sh("meson", "install", "-C", build, "--no-rebuild", "--quiet", env=env)
    with open(conf) as f:
        check("edited by the admin" in f.read(), "configuration overwritten")


def test_unit_verified():
    """systemd-analyze verify is clean; exposure score <= 2.0."""
    unit = os.path.join(DESTDIR, "usr/lib/systemd/system/ewsprobed.service")
    check(os.path.exists(unit), "no installed unit (install test failed?)")
    if os.geteuid() != 0:
        raise Skip("verify needs the binary at its installed path (root)")
    # The unit names /usr/sbin/ewsprobed: show it there, in a private
    # mount namespace, without touching the host's /usr/sbin.
    script = (
        "set -e; mount --make-rprivate / 2>/dev/null || exit 77; "
        "mount -t tmpfs tmpfs /usr/sbin && "
        f"cp {DESTDIR}/usr/sbin/ewsprobed /usr/sbin/ && "
        f"MANPATH={DESTDIR}/usr/share/man: systemd-analyze verify {unit}")
    p = subprocess.run(["unshare", "--mount", "--propagation", "unchanged",
                        "sh", "-c", script], capture_output=True, text=True,
                       timeout=120)
    if p.returncode == 77:
        raise Skip("mounts cannot be made private here")
    check(p.returncode == 0 and p.stdout + p.stderr == "",
          f"systemd-analyze verify:\n{p.stdout}{p.stderr}")
    out = sh("systemd-analyze", "security", "--offline=yes", unit)
    line = [l for l in out.splitlines() if "Overall exposure level" in l]
    check(line, f"no exposure score in:\n{out}")
    score = float(line[0].split(":")[1].split()[0])
    print(f"exposure score: {score}")
    check(score <= 2.0, f"exposure score {score} above 2.0")


try:
    run_tests([test_destdir_install, test_unit_verified])
finally:
    shutil.rmtree(WORK, ignore_errors=True)
