#!/usr/bin/python3
"""Integration test: one EWS URL for both roles is probed once per run
(issue 16). Most deployments publish the same URL as Internal and External
EWS URL; a phone uses it once, and so does ewsprobe: the lab's request log
shows the EWS request sequence of one URL per run, and every report (the
--once text and JSON, the status file, the journal) still shows both roles
with the same verdict.

  test-oneurl.py EWSPROBED SOURCE
"""
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from ewstest import (check, lab_args, result_doc, run_in_lab,  # noqa: E402
                     run_inside, run_tests, wait_exit)

CAS = "casarray.contoso.com"
URL = f"https://{CAS}/EWS/Exchange.asmx"
MSGID_DOWN = "39f4c06529b34f678a50fe21ce9564d3"
TARGET = "lab/lync-phone-edition"


def ews_requests(server, since):
    """EWS requests the double received for server after the first since
    records of the request log."""
    with open(os.environ["LAB_REQUEST_LOG"]) as f:
        recs = [json.loads(line) for line in f][since:]
    return [r for r in recs
            if r["server"] == server and r["path"] == "/EWS/Exchange.asmx"]


def log_length():
    """How many requests the double has logged so far."""
    with open(os.environ["LAB_REQUEST_LOG"]) as f:
        return sum(1 for _ in f)


def serve_one_url(base):
    """Serve scenario base with Autodiscover naming URL for both roles."""
    path = os.path.join(os.environ["LAB_TOOLS"], "scenarios", base + ".toml")
    with open(path) as f:
        sc = f.read()
    old = 'external_ews_url = "https://mail.contoso.com/EWS/Exchange.asmx"'
    check(old in sc, f"{base}: the scenario changed")
    sc = sc.replace(old, f'external_ews_url = "{URL}"')
    out = os.path.join(os.environ["LAB_STATE_DIR"], base + "-one-url.toml")
    with open(out, "w") as f:
        f.write(sc)
    subprocess.run([os.environ["LAB_CONTOSO"], "switch", out], check=True,
                   timeout=60)


def once(ewsprobed, *args):
    """ewsprobed --once over LAB_CONF; its stdout."""
    p = subprocess.run([ewsprobed, "--once", *args, "-f",
                        os.environ["LAB_CONF"]],
                       capture_output=True, text=True, timeout=120)
    check(p.stdout, f"no report: {p.stderr}")
    return p.stdout


def both_roles(urls, reason):
    """Check that a target's URL results are URL under both roles with
    reason."""
    check([u["role"] for u in urls] == ["internal", "external"],
          f"roles {[u['role'] for u in urls]}")
    check(all(u["url"] == URL and u["reason"] == reason for u in urls),
          "the roles differ: " + json.dumps(urls)[:2000])


def inside(ewsprobed):
    # Distinct URLs (healthy as it is): what one run asks of casarray,
    # the internal URL's host, alone.
    start = log_length()
    t = result_doc(once(ewsprobed, "--json"))["targets"][0]["last_run"]
    check(t["verdict"] == "ok", f"healthy: verdict {t['verdict']}")
    one = len(ews_requests(CAS, start))
    check(one >= 2, f"{one} EWS requests for one URL (401 then NTLM)")

    # The same URL for both roles: the same sequence once, not twice.
    serve_one_url("healthy")
    start = log_length()
    t = result_doc(once(ewsprobed, "--json"))["targets"][0]["last_run"]
    got = len(ews_requests(CAS, start))
    check(got == one, f"{got} EWS requests to {CAS} for one URL in both "
          f"roles, {one} for it alone")
    check(not ews_requests("mail.contoso.com", start), "mail was asked")
    check(t["verdict"] == "ok", f"verdict {t['verdict']}")
    both_roles(t["urls"], "ok")
    text = once(ewsprobed)
    for role in ("internal", "external"):
        check(f"{role} EWS {URL}" in text, f"{role} not in:\n{text}")

    # Phones distrust it: the daemon journals the failure and its status
    # file shows both roles failing alike.
    serve_one_url("incident")
    with open(os.environ["LAB_CONF"]) as f:
        conf = f.read()
    for key in ("interval", "retry_interval"):
        conf = "\n".join(f"{key} = 1s" if line.startswith(key + " =")
                         else line for line in conf.split("\n"))
    path = os.path.join(os.environ["LAB_STATE_DIR"], "daemon.conf")
    with open(path, "w") as f:
        f.write(conf)
    start = log_length()
    d = subprocess.Popen([ewsprobed, "-f", path], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        down = []
        while not down:
            check(time.monotonic() < deadline, "no 'target down' entry")
            time.sleep(0.2)
            p = subprocess.run(["journalctl", "--no-pager", "-o", "json",
                                f"MESSAGE_ID={MSGID_DOWN}"],
                               capture_output=True, text=True, timeout=30)
            down = [json.loads(line) for line in p.stdout.splitlines()
                    if line.startswith("{")]
        d.send_signal(15)
        check(wait_exit(d, 30) == 0, "the daemon did not stop cleanly")
    finally:
        if d.poll() is None:
            d.kill()
            d.wait()
    e = down[0]
    check(e["EWSPROBED_REASON"] == "cert_untrusted_phone",
          f"reason {e['EWSPROBED_REASON']}")
    check(URL in e["MESSAGE"], f"{URL} not in {e['MESSAGE']}")
    with open(os.path.join(os.environ["LAB_STATE_DIR"], "status.json")) as f:
        st = result_doc(f.read())
    run = [x for x in st["targets"] if x["target"] == TARGET][0]["last_run"]
    check(run["verdict"] == "critical", f"status verdict {run['verdict']}")
    both_roles(run["urls"], "cert_untrusted_phone")
    check(not ews_requests("mail.contoso.com", start), "mail was asked")


def test_one_url_probed_once():
    """Internal = external: one EWS sequence per run, both roles shown."""
    run_in_lab(SOURCE, "healthy", __file__, "--inside", EWSPROBED)


if len(sys.argv) == 3 and sys.argv[1] == "--inside":
    run_inside("inside", inside, sys.argv[2])

EWSPROBED, SOURCE = lab_args()
run_tests([test_one_url_probed_once])
