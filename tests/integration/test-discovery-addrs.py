#!/usr/bin/python3
"""Integration test: every server behind the Autodiscover host that
answered (issue 15, discovery side), in the lab.

discovery-array: autodiscover.contoso.com resolves to three addresses;
127.0.2.5 serves a certificate from the CA phones do not trust. DNS
rotates the answer, so the walk meets either a good server (phones find
the URLs: the run checks every address of the host) or the bad one first
(phones stop there: the run checks every address of the host where they
stopped). Either way the target is a warning, cert_untrusted_phone_some
(the order DNS answers in is no state change), and `--once`,
`--once --json` and, for the daemon, the status file and the journal name
127.0.2.5, count the two good ones and give 12045 and the server to fix;
a walk that met the bad server says so.

discovery-array-nosni: four servers, all with the right certificate for a
client with SNI; 127.0.2.5 resets the phone's hello (no SNI), 127.0.2.6
answers it with a default certificate from the other CA. The phone's own
hello to each address finds both (address_failed_some, 12031 and 12045).
Needs root (the lab); skipped otherwise.

  test-discovery-addrs.py EWSPROBED SOURCE
  test-discovery-addrs.py --inside NAME EWSPROBED   (internal)
"""
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from ewstest import (TestFailure, check, lab_args, lab_daemon,  # noqa: E402
                     lab_journal, result_doc, run_in_lab, run_inside,
                     run_tests)

HOST = "autodiscover.contoso.com"
BAD = "127.0.2.5"
GOOD = {"127.0.1.2", "127.0.2.4"}
CAS_CA = "CN=Issuing-CA for contoso, DC=contoso, DC=com"
MSGID_DEGRADED = "c8e85b71f8144537b2a34d478ffcbc09"
MSGID_DOWN = "39f4c06529b34f678a50fe21ce9564d3"
MSGID_RECOVERED = "71160a706f8b44a9871329ced6201b0c"
TARGET = "lab/lync-phone-edition"
# DNS rotates the addresses: with one more query between runs, the walk
# meets each server first within a few runs.
TRIES = 12
MET_BAD = "This run's walk as a phone met a bad server there and stopped"


def once(ewsprobed, *flags):
    """Run --once on the lab's configuration: (exit status, stdout)."""
    p = subprocess.run([ewsprobed, "--once", *flags, "-f",
                        os.environ["LAB_CONF"]], capture_output=True,
                       text=True, timeout=120)
    return p.returncode, p.stdout


def check_finding(a, where):
    """The autodiscover_addresses object names the bad address, counts
    the good ones, gives 12045 and the server to fix."""
    check(a is not None, f"{where}: no autodiscover_addresses")
    by = {x["address"]: x for x in a["addresses"]}
    check(a["host"] == HOST and set(by) == GOOD | {BAD} and
          a["reason"] == "cert_untrusted_phone_some" and
          a["phone_error"] == 12045 and a["addresses_failed"] == 1 and
          a["addresses_resolved"] == 3, f"{where}: {a}")
    b = by[BAD]
    check(b["failed"] and b["reason"] == "cert_untrusted_phone" and
          b["phone_trusted"] is False and b["system_trusted"] is True and
          b["cert_issuer"] == CAS_CA, f"{where}: bad address {b}")
    for g in GOOD:
        check(not by[g]["failed"] and by[g]["phone_trusted"] is True and
              by[g]["system_trusted"] is True, f"{where}: {by[g]}")
    m = a["message"]
    check(f"1 of 3 addresses of {HOST} ({BAD})" in m and
          "errorCode=12045" in m and "the other 2" in m and
          CAS_CA in m, f"{where}: message {m}")
    check(f"fix the server behind {HOST} at {BAD}" in a["remedy"],
          f"{where}: remedy {a['remedy']}")


def rotate(n):
    """n % 4 more A queries, so the next run's answer starts elsewhere
    (dnsmasq rotates its records per query; as measured, the walks of
    runs 0, 1, 2, 3 queries apart meet every server first within 8)."""
    for _ in range(n % 4):
        subprocess.run(["dig", "+short", "@" + os.environ["LAB_DNS"], HOST],
                       capture_output=True, timeout=30)


def json_run(ewsprobed):
    """--once --json: (exit status, the lab target's run)."""
    rc, out = once(ewsprobed, "--json")
    t = result_doc(out)["targets"][0]
    return rc, t.get("last_run") or t


def both_walks(ewsprobed):
    """--once --json until one run's walk met a good server first and one
    the bad one: {phones found the URLs: (exit status, run)}."""
    seen = {}
    for n in range(TRIES):
        rc, t = json_run(ewsprobed)
        seen.setdefault(t["autodiscover"]["phone_found"], (rc, t))
        if len(seen) == 2:
            return seen
        rotate(n)
    raise TestFailure(f"the walk met only one kind of server in "
                      f"{TRIES} runs: {list(seen)}")


def inside_once(ewsprobed):
    """--once and --once --json: a warning naming the bad server, whether
    the walk met a good server first or the bad one."""
    seen = both_walks(ewsprobed)
    for found, (rc, t) in seen.items():
        where = f"--once --json (walk met a {'good' if found else 'bad'})"
        check(rc == 1 and t["verdict"] == "warning" and
              t["reason"] == "cert_untrusted_phone_some" and
              BAD in t["message"] and t["phone_error"] == 12045 and
              f"fix the server behind {HOST} at {BAD}" in t["remedy"],
              f"{where}: {rc} {t}")
        check_finding(t["autodiscover_addresses"], where)
        # The walk's own failure stays visible.
        check((MET_BAD in t["message"]) == (not found), f"{where}: {t}")
    t = seen[False][1]
    check(t["autodiscover"]["phone_reason"] ==
          "autodiscover_cert_untrusted_phone" and
          t["autodiscover"]["phone_url"].startswith(f"https://{HOST}/") and
          "phones that resolve it to those discover EWS" in t["message"],
          f"walk met {BAD}: {t}")
    texts = {}
    for n in range(TRIES):
        rc, out = once(ewsprobed)
        texts.setdefault("phones find no EWS URL" in out, (rc, out))
        if len(texts) == 2:
            break
        rotate(n)
    else:
        raise TestFailure(f"--once met only one kind of server: "
                          f"{list(texts)}")
    for met_bad, (rc, out) in texts.items():
        check(rc == 1 and f"1 of 3 addresses of {HOST} ({BAD})" in out and
              "errorCode=12045" in out and f"address {BAD}" in out and
              f"fix the server behind {HOST} at {BAD}" in out and
              "verdict: warning" in out and (MET_BAD in out) == met_bad,
              f"--once:\n{out}")
        # The sub-steps come under the discovery, before the Front End.
        check(out.index(f"address {BAD}") < out.index("Lync Front End pool"),
              f"--once order:\n{out}")


def conf():
    """LAB_CONF with a one-second interval; return its path."""
    with open(os.environ["LAB_CONF"]) as f:
        lines = f.read().split("\n")
    # Every run walks (discovery_interval 1s): DNS rotation shows.
    keys = {"interval": "1s", "retry_interval": "1s", "fail_after": "1",
            "recover_after": "1", "discovery_interval": "1s"}
    for key, value in keys.items():
        lines = [x for x in lines if not x.startswith(key + " =")]
        lines.insert(lines.index("[daemon]") + 1, f"{key} = {value}")
    path = os.path.join(os.environ["LAB_STATE_DIR"], "daddrs.conf")
    with open(path, "w") as f:
        f.write("\n".join(lines))
    return path


def status_target():
    """The lab target of the status file, or None before it exists."""
    try:
        with open(os.path.join(os.environ["LAB_STATE_DIR"],
                               "status.json")) as f:
            st = result_doc(f.read())
    except (FileNotFoundError, ValueError):
        return None
    t = [x for x in st["targets"] if x["target"] == TARGET]
    return t[0] if t and t[0].get("last_run") else None


def wait(cond, what, timeout=120):
    """Poll cond until true or fail after timeout seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.3)
    raise TestFailure(f"timed out waiting for {what}")


def warned():
    """The status file's run is the warning of this finding."""
    t = status_target()
    return (t is not None and
            t["last_run"]["reason"] == "cert_untrusted_phone_some")


def inside_daemon(ewsprobed):
    """The daemon: status file and journal name the bad server; runs
    whose walk met the bad server and runs whose walk met a good one keep
    one state (one 'degraded' entry, no 'down')."""
    seen = set()

    def both():
        t = status_target()
        d = t["last_run"].get("autodiscover") if t is not None else None
        if d is not None and \
                t["last_run"]["reason"] == "cert_untrusted_phone_some":
            seen.add(d["phone_found"])
        rotate(1 + len(seen))
        return len(seen) == 2

    with lab_daemon(ewsprobed, conf()):
        wait(warned, "a run with the finding in the status file")
        run = status_target()["last_run"]
        check(run["verdict"] == "warning" and BAD in run["message"],
              f"status {run}")
        check_finding(run["autodiscover_addresses"], "status file")
        wait(lambda: [e for e in lab_journal(MSGID_DEGRADED)
                      if BAD in e["MESSAGE"]], "a 'degraded' entry")
        e = [e for e in lab_journal(MSGID_DEGRADED) if BAD in e["MESSAGE"]][0]
        check(e["EWSPROBED_REASON"] == "cert_untrusted_phone_some" and
              e["EWSPROBED_PHONE_ERROR"].startswith("12045") and
              f"at {BAD}" in e["EWSPROBED_REMEDY"] and
              f"1 of 3 addresses of {HOST}" in e["MESSAGE"], f"entry {e}")
        # The evidence is the Autodiscover host's, not the good EWS's.
        check(e["EWSPROBED_ROLE"] == "autodiscover" and
              e["EWSPROBED_URL"].startswith(f"https://{HOST}/") and
              e["EWSPROBED_ADDRESSES_FAILED"] == BAD and
              e["EWSPROBED_CERT_ISSUER"] == CAS_CA, f"evidence {e}")
        wait(both, "runs whose walk met the bad and a good server")
        check(len(lab_journal(MSGID_DEGRADED)) == 1 and
              not lab_journal(MSGID_DOWN) and
              not lab_journal(MSGID_RECOVERED),
              "the order DNS answers in changed the state: "
              f"{lab_journal(MSGID_DEGRADED)} {lab_journal(MSGID_DOWN)}")


def inside_nosni(ewsprobed):
    """discovery-array-nosni: the phone's own hello to each address finds
    the server that resets it and the one with another default
    certificate, named with their codes, whether the walk met a good
    server first or one of those."""
    seen = both_walks(ewsprobed)
    for found, (rc, t) in seen.items():
        check_nosni(rc, t, found)
    t = seen[False][1]["autodiscover"]
    check(t["phone_reason"] in ("autodiscover_tls_reset",
                                "autodiscover_cert_untrusted_phone"), t)


def check_nosni(rc, t, found):
    """One run of discovery-array-nosni: a warning naming both servers."""
    where = f"nosni (walk met a {'good' if found else 'bad'} server)"
    a = t["autodiscover_addresses"]
    check(rc == 1 and t["verdict"] == "warning" and
          t["reason"] == "address_failed_some" and a is not None and
          a["reason"] == "address_failed_some" and
          a["addresses_failed"] == 2 and a["addresses_resolved"] == 4 and
          (MET_BAD in t["message"]) == (not found), f"{where}: {rc} {t}")
    by = {x["address"]: x for x in a["addresses"]}
    r, d = by["127.0.2.5"], by["127.0.2.6"]
    check(r["failed"] and r["reason"] == "tls_reset" and
          r["phone_error"] == 12031 and
          r["phone_hello"]["end"] == "reset" and
          r["system_trusted"] is True, f"{where}: reset node {r}")
    check(d["failed"] and d["reason"] == "cert_untrusted_phone" and
          d["phone_error"] == 12045 and
          d["phone_hello"]["cert_issuer"] == CAS_CA and
          d["cert_issuer"] != CAS_CA, f"{where}: default-cert node {d}")
    for g in ("127.0.1.2", "127.0.2.4"):
        check(not by[g]["failed"] and by[g]["phone_trusted"] is True,
              f"{where}: good node {by[g]}")
    m = t["message"]
    check(f"2 of 4 addresses of {HOST}" in m and "127.0.2.5" in m and
          "127.0.2.6" in m and "without SNI" in m and
          "the other 2" in m and "serves a certificate" not in m,
          f"{where}: {m}")
    check("clients without SNI" in t["remedy"] and
          ("127.0.2.5, 127.0.2.6" in t["remedy"] or
           "127.0.2.6, 127.0.2.5" in t["remedy"]), f"{where}: {t['remedy']}")


INSIDE = {"once": inside_once, "daemon": inside_daemon,
          "nosni": inside_nosni}


def test_once():
    """--once and --once --json name the bad Autodiscover server."""
    run_in_lab(SOURCE, "discovery-array", __file__, "--inside", "once",
               EWSPROBED)


def test_daemon():
    """The status file and the journal name it too."""
    run_in_lab(SOURCE, "discovery-array", __file__, "--inside", "daemon",
               EWSPROBED)


def test_nosni():
    """The phone's own hello at every address of the host."""
    run_in_lab(SOURCE, "discovery-array-nosni", __file__, "--inside",
               "nosni", EWSPROBED)


if len(sys.argv) == 4 and sys.argv[1] == "--inside":
    run_inside(sys.argv[2], INSIDE[sys.argv[2]], sys.argv[3])

EWSPROBED, SOURCE = lab_args()
run_tests([test_once, test_daemon, test_nosni])
