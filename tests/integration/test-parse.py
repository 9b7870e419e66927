#!/usr/bin/python3
"""Integration test: `ewsprobed parse FILE|-`.

Every sample answer in tests/data/autodiscover is parsed by the real binary
and its JSON compared, as parsed JSON (not bytes), with the sample's .json
next to it. Also: stdin, an unreadable file (exit 1, message naming it),
a file larger than the 16 MiB read cap (exit 0, response_too_large), and
a canary file referenced by an XXE sample never showing up in the output.

Usage: test-parse.py EWSPROBED [SOURCE_ROOT]
"""
import json
import os
import subprocess
import sys

from ewstest import check, run_tests, tempdir, write_file

EWSPROBED = os.path.abspath(sys.argv[1])
SOURCE = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else
                         os.path.join(os.path.dirname(__file__), "..", ".."))
SAMPLES = os.path.join(SOURCE, "tests", "data", "autodiscover")

KEYS = ("format", "outcome", "error_code", "error_level",
        "internal_ews_url", "external_ews_url", "redirect_target",
        "server_version", "notes")


def parse(path, stdin=None):
    """Run `ewsprobed parse path`; return (status, stdout, stderr)."""
    p = subprocess.run([EWSPROBED, "parse", path], input=stdin,
                       capture_output=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def samples():
    """The sample files (everything but the expected .json files)."""
    names = sorted(n for n in os.listdir(SAMPLES)
                   if not n.endswith(".json") and not n.startswith("."))
    check(len(names) >= 29, f"only {len(names)} samples in {SAMPLES}")
    return names


def test_every_sample():
    """Each sample prints one JSON object equal to its expected .json."""
    bad = []
    for name in samples():
        path = os.path.join(SAMPLES, name)
        rc, out, err = parse(path)
        if rc != 0:
            bad.append(f"{name}: exit {rc}: {err!r}")
            continue
        try:
            got = json.loads(out)
        except ValueError as e:
            bad.append(f"{name}: not JSON ({e}): {out[:200]!r}")
            continue
        with open(os.path.join(SAMPLES, os.path.splitext(name)[0] +
                               ".json")) as f:
            want = json.load(f)
        missing = [k for k in KEYS if k not in got]
        if missing:
            bad.append(f"{name}: keys missing: {missing}")
        elif got != want:
            diff = {k: (got.get(k), want.get(k))
                    for k in set(got) | set(want) if got.get(k) != want.get(k)}
            bad.append(f"{name}: differs (got, want): {diff}")
    check(not bad, "; ".join(bad))


def test_stdin():
    """`parse -` reads standard input."""
    name = "soap-noerror-both"
    with open(os.path.join(SAMPLES, name + ".xml"), "rb") as f:
        rc, out, err = parse("-", stdin=f.read())
    check(rc == 0, f"exit {rc}: {err!r}")
    with open(os.path.join(SAMPLES, name + ".json")) as f:
        check(json.loads(out) == json.load(f), f"stdin differs: {out!r}")


def test_unreadable():
    """A missing file or a directory: exit 1, stderr names the file."""
    d = tempdir()
    for path in (os.path.join(d, "no-such-file.xml"), d):
        rc, out, err = parse(path)
        check(rc == 1, f"{path}: exit {rc}, want 1")
        check(out == b"", f"{path}: stdout not empty: {out!r}")
        check(path.encode() in err, f"{path}: not named in {err!r}")


def test_too_large():
    """A 17 MiB file is read (exit 0) and called response_too_large."""
    d = tempdir()
    path = os.path.join(d, "big.xml")
    with open(path, "wb") as f:
        f.write(b"<a>" + b" " * (17 * 1024 * 1024) + b"</a>")
    rc, out, err = parse(path)
    check(rc == 0, f"exit {rc}: {err!r}")
    got = json.loads(out)
    check(got["outcome"] == "malformed" and
          got["reason"] == "response_too_large", f"got {got}")


def test_xxe_canary():
    """An XXE pointing at a canary file: forbidden, canary never printed."""
    d = tempdir()
    canary = "CANARY-parse-8e21d0"
    cpath = write_file(os.path.join(d, "canary.txt"), canary + "\n")
    doc = write_file(os.path.join(d, "xxe.xml"), f"""<?xml version="1.0"?>
<!DOCTYPE Autodiscover [<!ENTITY x SYSTEM "file://{cpath}">]>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
<Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">
<Account><Action>redirectAddr</Action><RedirectAddr>&x;</RedirectAddr></Account>
</Response></Autodiscover>
""")
    rc, out, err = parse(doc)
    check(rc == 0, f"exit {rc}: {err!r}")
    got = json.loads(out)
    check(got["reason"] == "xml_dtd_forbidden", f"got {got}")
    check(canary.encode() not in out + err, "canary in the output")


if __name__ == "__main__":
    run_tests([test_every_sample, test_stdin, test_unreadable,
               test_too_large, test_xxe_canary])
