#!/usr/bin/python3
"""Integration test: Front End learning is single flight (issue 12, item 8).
Many mailboxes of one profile start at once (--once, concurrency above
their number, fixed EWS URLs so every run reaches the learning together);
the Lync pool sees one TLS handshake (LAB_TLS_LOG; and once the phone's
own raw hello, which completes none) and every run gets its result. Then
the pool refuses the phone's TLS 1.0: again one handshake, and every run
gets the same failure.

  test-frontend.py EWSPROBED SOURCE
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from ewstest import (check, lab_args, result_doc, run_in_lab,  # noqa: E402
                     run_inside, run_tests)

POOL = "lyncpool.contoso.com"
MAILBOXES = 24


def handshakes_since(start):
    """The TLS log's records after the first start ones."""
    with open(os.environ["LAB_TLS_LOG"]) as f:
        return [json.loads(line) for line in f][start:]


def run_all(ewsprobed, conf):
    """One --once over every mailbox; the targets' runs and the pool's
    handshakes it caused."""
    start = len(handshakes_since(0))
    p = subprocess.run([ewsprobed, "--once", "--json", "-f", conf],
                       capture_output=True, text=True, timeout=200)
    check(p.stdout, f"no report: {p.stderr}")
    targets = [t["last_run"] for t in result_doc(p.stdout)["targets"]]
    check(len(targets) == MAILBOXES, f"{len(targets)} targets")
    return targets, [h for h in handshakes_since(start)
                     if h["server"] == POOL]


def inside(ewsprobed):
    with open(os.environ["LAB_CONF"]) as f:
        base = f.read()
    base = base[:base.index("[mailbox lab]")]
    base = base.replace("concurrency = 8", f"concurrency = {MAILBOXES * 2}")
    check(f"concurrency = {MAILBOXES * 2}" in base, "the lab conf changed")
    for i in range(MAILBOXES):
        base += (f"\n[mailbox m{i}]\naddress = m{i}@contoso.com\n"
                 "ews_internal_url = https://mail.contoso.com/EWS/"
                 "Exchange.asmx\n")
    conf = os.path.join(os.environ["LAB_STATE_DIR"], "many.conf")
    with open(conf, "w") as f:
        f.write(base)

    targets, pool = run_all(ewsprobed, conf)
    # One handshake, and once for all the phone's own raw hello after it
    # (and its core-only second one): neither completes a handshake.
    done = [h for h in pool if h["ok"]]
    check(len(done) == 1 and len(pool) - len(done) <= 2,
          f"{len(pool)} handshakes with the pool: {pool}")
    check(all(t["frontend"]["learned"] and t["frontend"]["issuer"] ==
              "CN=Issuing CA for contoso,com" for t in targets),
          "a run did not get the learned issuer: " +
          json.dumps([t.get("frontend") for t in targets])[:2000])
    check(all(t["verdict"] == "ok" for t in targets),
          f"verdicts {[t['verdict'] for t in targets]}")

    # The pool now speaks TLS 1.2+ only: the phone's handshake fails.
    with open(os.environ["LAB_DIR"] + "/scenario.toml") as f:
        sc = f.read()
    sc = sc.replace('[hosts."lyncpool.contoso.com"]\n',
                    '[hosts."lyncpool.contoso.com"]\ntls = ["1.2", "1.3"]\n')
    check('tls = ["1.2", "1.3"]' in sc, "the scenario changed")
    path = os.path.join(os.environ["LAB_STATE_DIR"], "pool-tls12.toml")
    with open(path, "w") as f:
        f.write(sc)
    subprocess.run([os.environ["LAB_CONTOSO"], "switch", path], check=True,
                   timeout=60)
    targets, pool = run_all(ewsprobed, conf)
    check(len(pool) == 1 and not pool[0]["ok"],
          f"{len(pool)} handshakes with the refusing pool: {pool}")
    errors = {t["frontend"]["error"] for t in targets}
    check(len(errors) == 1 and not any(t["frontend"]["learned"]
                                       for t in targets),
          f"runs got different outcomes: {errors}")
    check(all(t["verdict"] == "unknown" for t in targets),
          f"verdicts {[t['verdict'] for t in targets]}")


def test_frontend_learning_single_flight():
    """One pool handshake for many concurrent runs, success or failure."""
    run_in_lab(SOURCE, "foreign-ews", __file__, "--inside", EWSPROBED)


if len(sys.argv) == 3 and sys.argv[1] == "--inside":
    run_inside("inside", inside, sys.argv[2])

EWSPROBED, SOURCE = lab_args()
run_tests([test_frontend_learning_single_flight])
