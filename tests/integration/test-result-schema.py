#!/usr/bin/python3
"""Integration test: the result documents follow docs/result-schema.json
(issue 13 "one way to render").

Checks the schema itself (JSON Schema draft 2020-12); that `--once --json`
and the daemon's status file, both from the lab, conform to it and describe
a run with the same members (one renderer); that the validator rejects
documents whose members change type or shape (the pre-schema --once
output among them), so the checks above can fail; and that --once --json
streams: a target is printed when its turn comes, not at the end. Needs
python3-jsonschema (tests/setup-debian); the lab parts need root.

  test-result-schema.py EWSPROBED SOURCE          run from outside
  test-result-schema.py --inside NAME EWSPROBED   (internal) in a lab
"""
import copy
import json
import os
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from ewstest import (RESULT_SCHEMA, Skip, basic_config, check,  # noqa: E402
                     run_in_lab, run_inside, run_tests, schema_errors,
                     tempdir, wait_exit, write_file)

# One run at a time in the lab; the daemon is given this long at most.
GUARD = 120


def valid(doc, what):
    """Fail unless doc conforms to the schema."""
    errors = schema_errors(doc)
    check(not errors, f"{what} is not schema 1:\n" + "\n".join(errors[:10]))


def invalid(doc, what):
    """Fail if doc conforms: the schema must catch this change."""
    check(schema_errors(doc), f"the schema accepts {what}")


def once_json(ewsprobed, conf, *boxes):
    """--once --json; the parsed document."""
    p = subprocess.run([ewsprobed, "--once", "--json", "-f", conf, *boxes],
                       capture_output=True, text=True, timeout=GUARD)
    check(p.returncode in (0, 1, 2, 3) and p.stdout.startswith("{"),
          f"--once exited {p.returncode}: {p.stderr}")
    return json.loads(p.stdout)


def members(run):
    """The members of a run and of its parts, as (path, type) pairs; not
    those of steps, which the status file keeps only for failed parts."""
    out = set()

    def walk(path, v):
        if path.endswith("/steps[]"):
            return
        if isinstance(v, dict):
            for k, x in v.items():
                walk(f"{path}/{k}", x)
        elif isinstance(v, list):
            for x in v:
                walk(f"{path}[]", x)
        out.add((path, type(v).__name__ if v is not None else "null"))
    walk("", run)
    return out


def inside_lab(ewsprobed):
    """In the incident: --once --json and the status file conform; the
    status file's last run has the members --once's has."""
    conf = os.environ["LAB_CONF"]
    doc = once_json(ewsprobed, conf)
    valid(doc, "--once --json")
    run = doc["targets"][0]["last_run"]
    check(doc["schema"] == 1 and doc["document"] == "once" and
          run["verdict"] == "critical" and run["autodiscover"]["found"] and
          run["urls"][0]["certificates"], f"not the incident's run: {run}")
    cert = run["urls"][0]["certificates"][0]
    check(cert["not_after"].endswith("Z") and cert["names"],
          f"certificate {cert}")
    check(any(s["timings_ms"]["total"] is not None
              for s in run["urls"][0]["steps"]), "no step was timed")
    state = os.environ["LAB_STATE_DIR"]
    path = os.path.join(state, "status.json")
    d = subprocess.Popen([ewsprobed, "-f", conf], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + GUARD
        st = None
        while st is None or st["targets"][0]["last_run"] is None:
            check(time.monotonic() < deadline, "no run in the status file")
            check(d.poll() is None, f"the daemon exited ({d.returncode})")
            time.sleep(0.2)
            try:
                with open(path) as f:
                    st = json.load(f)
            except FileNotFoundError:
                pass
        d.send_signal(signal.SIGTERM)
        check(wait_exit(d, 30) == 0, "the daemon did not stop cleanly")
    finally:
        if d.poll() is None:
            d.kill()
            d.wait()
    valid(st, "the status file")
    check(st["document"] == "status" and st["schedule"] is not None,
          f"status document {st['document']}")
    t = st["targets"][0]
    check(set(doc["targets"][0]) <= set(t),
          f"status target lacks {set(doc['targets'][0]) - set(t)}")
    srun = t["last_run"]
    # The status file keeps a failed part's steps, so both runs of the
    # incident show the same members with the same types.
    got, want = members(srun), members(run)
    check(got == want, f"status and --once differ: {sorted(got ^ want)}")


def test_schema_is_valid():
    """The schema file is a valid draft 2020-12 schema."""
    try:
        import jsonschema
    except ImportError:
        raise Skip("no python3-jsonschema (tests/setup-debian installs it)")
    with open(RESULT_SCHEMA) as f:
        jsonschema.Draft202012Validator.check_schema(json.load(f))


def local_doc():
    """--once --json of two mailboxes on closed ports, no network."""
    d = tempdir()
    conf = write_file(os.path.join(d, "t.conf"), basic_config(
        d, "ews_internal_url = https://127.0.0.1:9/EWS/Exchange.asmx\n") +
        "\n[mailbox two]\naddress = two@contoso.com\n"
        "ews_internal_url = https://127.0.0.1:9/a\n"
        "ews_external_url = https://127.0.0.1:9/b\n")
    return once_json(EWSPROBED, conf)


def test_once_conforms():
    """--once --json without a network conforms (no lab needed)."""
    doc = local_doc()
    valid(doc, "--once --json")
    check([t["target"] for t in doc["targets"]] ==
          ["lab/lync-phone-edition", "two/lync-phone-edition"] and
          doc["exit_status"] == 2 and doc["verdict"] == "critical",
          f"document {json.dumps(doc)[:1000]}")


def old_once(doc):
    """doc in the pre-schema --once shape: the run's members at the
    target, Unix not_after, step total_us, no schema member."""
    old = {"targets": [], "verdict": doc["verdict"],
           "exit_status": doc["exit_status"]}
    for t in doc["targets"]:
        o = {k: v for k, v in t.items() if k != "last_run"}
        o.update(copy.deepcopy(t["last_run"]))
        for u in o["urls"]:
            for s in u["steps"]:
                s["total_us"] = 1500
                del s["timings_ms"]
        old["targets"].append(o)
    return old


def test_schema_catches_changes():
    """Members that change type or shape fail the schema."""
    doc = local_doc()
    invalid(old_once(doc), "the pre-schema --once shape")
    changes = {
        "schema 2": lambda d: d.update(schema=2),
        "no schema member": lambda d: d.pop("schema"),
        "a verdict outside the set": lambda d: d.update(verdict="fine"),
        "a Unix start time": lambda d: d["targets"][0]["last_run"].update(
            started=1765000000),
        "a duration as a string": lambda d: d["targets"][0][
            "last_run"].update(duration_ms="12 ms"),
        "timings in a list": lambda d: d["targets"][0]["last_run"][
            "urls"][0].update(timings_ms=[1, 2]),
        "a missing listed member": lambda d: d["targets"][0][
            "last_run"]["urls"][0].pop("phone_trusted"),
        "phone_error as a string": lambda d: d["targets"][0][
            "last_run"].update(phone_error="12029"),
        "a step's http_status as text": lambda d: d["targets"][0][
            "last_run"]["frontend"]["steps"][0].update(http_status="200"),
        "a status document's targets in a --once document": lambda d:
            d.update(document="status"),
    }
    for what, change in changes.items():
        bad = copy.deepcopy(doc)
        change(bad)
        invalid(bad, what)
    # And members nobody listed are welcome (other writers add them).
    more = copy.deepcopy(doc)
    more["targets"][0]["last_run"]["new_member"] = {"x": 1}
    more["new_top"] = [1]
    valid(more, "a document with added members")


def test_once_streams():
    """A target is printed as soon as its turn comes: the first target
    is on stdout while the second still waits on a server that never
    answers (then the run is stopped)."""
    hole = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    hole.bind(("127.0.0.1", 0))
    hole.listen(8)
    port = hole.getsockname()[1]
    d = tempdir()
    conf = write_file(os.path.join(d, "t.conf"), basic_config(
        d, "ews_internal_url = https://127.0.0.1:9/EWS/Exchange.asmx\n")
        .replace("interval = 5m", "interval = 5m\ntimeout = 60s") +
        f"\n[mailbox hole]\naddress = hole@contoso.com\n"
        f"ews_internal_url = https://127.0.0.1:{port}/EWS/Exchange.asmx\n")
    p = subprocess.Popen([EWSPROBED, "--once", "--json", "-f", conf],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        text = ""
        # The first target's object ends with "\n    }" (pretty, depth 2;
        # the comma comes with the next one).
        while "\n    }" not in text:
            chunk = os.read(p.stdout.fileno(), 65536)
            check(chunk, "the output ended before the first target: " +
                  text)
            text += chunk.decode()
        check(p.poll() is None and '"hole"' not in text,
              f"not the first target alone: {text[:3000]}")
        text = text[:text.index("\n    }") + 6]
        check('"mailbox": "lab"' in text, f"not the first target: {text}")
        first = json.loads(text[text.index("    {"):])
        check(first["last_run"]["reason"] == "connect_failed",
              f"first target {first}")
    finally:
        p.kill()
        p.wait()
        hole.close()


def test_lab():
    """--once --json and the status file in the incident."""
    if os.geteuid() != 0:
        raise Skip("the lab needs root")
    schema_errors({})    # Skip without python3-jsonschema
    run_in_lab(SOURCE, "incident", __file__, "--inside", "lab", EWSPROBED)


if len(sys.argv) == 4 and sys.argv[1] == "--inside":
    run_inside(sys.argv[2], inside_lab, sys.argv[3])

EWSPROBED = os.path.abspath(sys.argv[1])
SOURCE = os.path.abspath(sys.argv[2])
run_tests([test_schema_is_valid, test_once_conforms,
           test_schema_catches_changes, test_once_streams, test_lab])
