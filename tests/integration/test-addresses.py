#!/usr/bin/python3
"""Integration test: every server behind an EWS name (issue 15).

casarray.contoso.com resolves to three addresses in the lab
(tests/lab/scenarios/array-*.toml). Checks that `--once`, `--once --json`,
the journal, the status file and the textfile name the bad address, count
the good ones and give the phone's code and the remedy; that the fixed
variant is ok and shown collapsed; that a black-holed address costs its
timeout and no more (structure: the others answered while it hung); that an
AAAA that refuses is a warning saying IPv4-only phones are unaffected; that
the sign-in runs once per URL, at an address phones accept; and that the
journal alerts once per set of failing addresses. Needs root (the lab);
skipped otherwise.

  test-addresses.py EWSPROBED SOURCE          run from outside
  test-addresses.py --inside NAME EWSPROBED   (internal) one check in a lab
"""
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from ewstest import (check, lab_args, lab_daemon, lab_journal,  # noqa: E402
                     lab_status, result_doc, run_in_lab, run_inside,
                     run_tests)

HOST = "casarray.contoso.com"
URL = f"https://{HOST}/EWS/Exchange.asmx"
ALL = {"127.0.1.3", "127.0.2.2", "127.0.2.3"}
CAS_CA = "CN=Issuing-CA for contoso, DC=contoso, DC=com"
MSGID_DOWN = "39f4c06529b34f678a50fe21ce9564d3"
MSGID_RECOVERED = "71160a706f8b44a9871329ced6201b0c"
MSGID_CERT_EXPIRING = "eeea44f1eabc42d3bf11e607556b1d50"
TARGET = "lab/lync-phone-edition"


def lab_tools():
    """Import lablib from the lab's folder."""
    sys.path.insert(0, os.environ["LAB_TOOLS"])
    import lablib
    return lablib


def conf(**daemon):
    """LAB_CONF with [daemon] keys replaced; return its path."""
    with open(os.environ["LAB_CONF"]) as f:
        lines = f.read().split("\n")
    for key, value in daemon.items():
        lines = [x for x in lines if not x.startswith(key + " =")]
        lines.insert(lines.index("[daemon]") + 1, f"{key} = {value}")
    path = os.path.join(os.environ["LAB_STATE_DIR"], "addresses.conf")
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(lines))
    os.rename(path + ".tmp", path)
    return path


def once(ewsprobed, path, *flags):
    """Run --once; return (exit status, stdout)."""
    p = subprocess.run([ewsprobed, "--once", *flags, "-f", path],
                       capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout


def once_json(ewsprobed, path):
    """--once --json: (exit status, the lab target, its one URL)."""
    rc, out = once(ewsprobed, path, "--json")
    doc = result_doc(out)
    # The run's members: under "last_run" in the result schema.
    t = doc["targets"][0]
    t = t.get("last_run") or t
    check(t["urls"], f"no URL in {out}")
    u = t["urls"][0]
    check(u["url"] == URL, f"URL {u['url']}")
    return rc, t, u


def verdict_of(output):
    """(verdict, reason) from the report's verdict line."""
    m = re.search(r"verdict: (\w+)(?: — reason (\w+))?", output)
    check(m is not None, f"no verdict line in:\n{output}")
    return m.group(1), m.group(2)


def by_address(u):
    """{address: entry} of a URL's JSON "addresses"."""
    return {a["address"]: a for a in u["addresses"]}


def signins(lablib, since):
    """The EWS sign-in requests (NTLM at the array) the double received
    after `since` requests: [(address, status)]."""
    return [(r["address"], r["status"]) for r in lablib.requests()[since:]
            if r["authorization"] == "NTLM" and r["server"] == HOST]


def inside_one_bad(ewsprobed):
    """array-one-bad: text and JSON name 127.0.2.3, count the good two,
    give 12045 and the server to fix; each address has its own handshake
    with the right SNI and Host; one sign-in, at a good address."""
    lablib = lab_tools()
    path = conf()
    n0 = len(lablib.requests())
    h0 = len(lablib.handshakes())
    rc, out = once(ewsprobed, path)
    check(rc == 2, f"exit status {rc}, want 2:\n{out}")
    check(verdict_of(out) == ("critical", "cert_untrusted_phone_some"),
          f"verdict {verdict_of(out)}:\n{out}")
    for text in (f"1 of 3 addresses of {HOST} (127.0.2.3) serves a "
                 f"certificate issued by '{CAS_CA}', which phones do not "
                 "trust; phones that connect there log errorCode=12045",
                 "the other 2 (", "errorCode=12045 (0x80072F0D)",
                 f"fix: fix the server behind {HOST} at 127.0.2.3 (",
                 "reissue the certificate from 'CN=Issuing CA for "
                 "contoso,com'", "✗ address 127.0.2.3"):
        check(text in out, f"{text!r} missing from the report:\n{out}")
    good = re.search(r"the other 2 \(([^)]*)\) work", out).group(1)
    check(set(good.split(", ")) == ALL - {"127.0.2.3"},
          f"good addresses {good}")
    # Every address over its own handshake, SNI and Host the name.
    seen = lablib.handshakes()[h0:]
    check({h["address"] for h in seen if h["server"] == HOST} == ALL,
          f"handshakes at {[h['address'] for h in seen]}")
    reqs = [r for r in lablib.requests()[n0:] if r["server"] == HOST]
    for r in reqs:
        check(r["sni"] == HOST and r["host"] == HOST,
              f"SNI {r['sni']} Host {r['host']} at {r['address']}")
    check({r["address"] for r in reqs if r["authorization"] is None} ==
          ALL, "an address without its unauthenticated request")
    # One sign-in for the URL (both roles), never at the bad address.
    s = signins(lablib, n0)
    check(s and all(a != "127.0.2.3" for a, _ in s),
          f"sign-in requests at {s}")
    check(len([1 for _, st in s if st == 200]) == 1,
          f"{len(s)} sign-in requests: {s}")

    n0 = len(lablib.requests())
    rc, t, u = once_json(ewsprobed, path)
    check(rc == 2 and t["verdict"] == "critical", f"JSON verdict {t}")
    check(t["reason"] == "cert_untrusted_phone_some" and
          t["phone_error"] == 12045, f"reason {t['reason']}")
    check("127.0.2.3" in t["message"] and "127.0.2.3" in t["remedy"],
          f"message {t['message']} remedy {t['remedy']}")
    check(u["addresses_failed"] == 1 and u["addresses_resolved"] == 3,
          f"counts {u['addresses_failed']}/{u['addresses_resolved']}")
    a = by_address(u)
    check(set(a) == ALL, f"addresses {set(a)}")
    bad = a["127.0.2.3"]
    check(bad["failed"] and bad["reason"] == "cert_untrusted_phone" and
          bad["phone_error"] == 12045 and bad["cert_issuer"] == CAS_CA and
          bad["phone_trusted"] is False and bad["system_trusted"] is True,
          f"bad address {bad}")
    for addr in ALL - {"127.0.2.3"}:
        check(not a[addr]["failed"] and a[addr]["reason"] == "ok" and
              a[addr]["phone_trusted"] is True, f"good address {a[addr]}")
    check(len([1 for _, st in signins(lablib, n0) if st == 200]) == 1,
          "not one sign-in")


def inside_fixed(ewsprobed):
    """array-fixed: ok, every address agrees, shown as one sub-step."""
    lablib = lab_tools()
    lablib.switch("array-fixed")
    path = conf()
    rc, out = once(ewsprobed, path)
    check(rc == 0, f"exit status {rc}, want 0:\n{out}")
    check(verdict_of(out) == ("ok", None), f"verdict {verdict_of(out)}")
    check(f"all 3 addresses of {HOST} alike:" in out and
          "address 127." not in out, f"not collapsed:\n{out}")
    rc, t, u = once_json(ewsprobed, path)
    check(t["verdict"] == "ok" and u["addresses_failed"] == 0 and
          {a["reason"] for a in u["addresses"]} == {"ok"} and
          set(by_address(u)) == ALL, f"JSON {u['addresses']}")


def inside_blackhole(ewsprobed):
    """array-blackhole: 127.0.2.3 times out, the others answer; the URL
    fails for some phones with 12002. The others are not held up by it:
    they answered while it hung (their requests reached the double well
    before the sign-in, which waits for every address's check), and it
    took its full timeout, no more is asked of it."""
    lablib = lab_tools()
    lablib.switch("array-blackhole")
    timeout_s = 5
    path = conf(timeout=f"{timeout_s}s")
    n0 = len(lablib.requests())
    rc, t, u = once_json(ewsprobed, path)
    check(rc == 2 and t["reason"] == "address_failed_some",
          f"verdict {t['verdict']} {t['reason']}")
    for text in ("1 of 3 addresses of casarray.contoso.com (127.0.2.3) "
                 "fails for phones", "errorCode=12002", "the other 2 ("):
        check(text in t["message"], f"{text!r} not in {t['message']}")
    check("at 127.0.2.3" in t["remedy"], f"remedy {t['remedy']}")
    a = by_address(u)
    check(a["127.0.2.3"]["reason"] == "timeout" and
          a["127.0.2.3"]["phone_error"] == 12002, f"{a['127.0.2.3']}")
    check(a["127.0.2.3"]["duration_ms"] >= timeout_s * 1e3 * 0.9,
          f"the black hole gave up early: {a['127.0.2.3']}")
    for addr in ALL - {"127.0.2.3"}:
        check(a[addr]["reason"] == "ok", f"{a[addr]}")
    reqs = [r for r in lablib.requests()[n0:] if r["server"] == HOST]
    first_signin = min(r["time"] for r in reqs
                       if r["authorization"] == "NTLM")
    for r in reqs:
        if r["authorization"] is None:
            check(first_signin - r["time"] >= timeout_s / 2,
                  f"{r['address']} asked only as the black hole timed "
                  "out: the addresses were not checked together")
    rc, out = once(ewsprobed, path)
    check(verdict_of(out) == ("critical", "address_failed_some") and
          "✗ address 127.0.2.3" in out, f"text report:\n{out}")


def inside_aaaa(ewsprobed):
    """array-aaaa: the AAAA (::1) refuses, IPv4 works: a warning that
    says phones on IPv4-only networks are unaffected, not EWS down."""
    lablib = lab_tools()
    lablib.switch("array-aaaa")
    path = conf()
    rc, out = once(ewsprobed, path)
    check(rc == 1, f"exit status {rc}, want 1 (warning):\n{out}")
    check(verdict_of(out) == ("warning", "aaaa_unreachable"),
          f"verdict {verdict_of(out)}:\n{out}")
    for text in ("the IPv6 address ::1 of casarray.contoso.com cannot be "
                 "reached (connect_failed) while IPv4 works",
                 "phones on IPv4-only networks are not affected",
                 "calendar read", "remove that AAAA record"):
        check(text in out, f"{text!r} missing:\n{out}")
    rc, t, u = once_json(ewsprobed, path)
    a = by_address(u)
    check(a["::1"]["family"] == "ipv6" and
          a["::1"]["reason"] == "connect_failed" and
          u["addresses_failed"] == 1 and
          all(a[x]["reason"] == "ok" for x in ALL),
          f"addresses {u['addresses']}")


def runs(st):
    """The lab target's run count in a status document."""
    return [x for x in st["targets"] if x["target"] == TARGET][0]["runs"]


def wait(cond, what, timeout=90):
    """Wait until cond() is true."""
    deadline = time.monotonic() + timeout
    while not cond():
        check(time.monotonic() < deadline, f"no {what} in {timeout}s")
        time.sleep(0.2)


def wait_runs(more):
    """Wait until the daemon has finished `more` further runs."""
    n = runs(lab_status())
    wait(lambda: runs(lab_status()) >= n + more, f"{more} more runs")


def daemon(ewsprobed):
    """The daemon at 1-second intervals, failing and recovering after one
    run (lab_daemon: stopped at the end of the block)."""
    return lab_daemon(ewsprobed, conf(interval="1s", retry_interval="1s",
                                      fail_after="1", recover_after="1"))


def status_url():
    """The status file's first URL of TARGET."""
    with open(os.path.join(os.environ["LAB_STATE_DIR"],
                           "status.json")) as f:
        st = result_doc(f.read())
    t = [x for x in st["targets"] if x["target"] == TARGET][0]
    return t["last_run"]["urls"][0]


def inside_daemon(ewsprobed):
    """The daemon: one 'down' entry naming 127.0.2.3, none more while
    the set stays (whatever order DNS answers in), one more when a second
    server goes bad, 'recovered' once fixed; the status file and the
    textfile carry each address."""
    lablib = lab_tools()
    with daemon(ewsprobed):
        wait(lambda: lab_journal(MSGID_DOWN), "'down' entry")
        e = lab_journal(MSGID_DOWN)[0]
        check(e["EWSPROBED_REASON"] == "cert_untrusted_phone_some" and
              e["EWSPROBED_ADDRESSES_FAILED"] == "127.0.2.3" and
              e["EWSPROBED_PHONE_ERROR"].startswith("12045") and
              "at 127.0.2.3" in e["EWSPROBED_REMEDY"] and
              "1 of 3 addresses" in e["MESSAGE"] and
              e["EWSPROBED_CERT_ISSUER"] == CAS_CA, f"entry {e}")
        wait_runs(3)
        check(len(lab_journal(MSGID_DOWN)) == 1,
              "an alert on a run that changed nothing")
        u = status_url()
        a = by_address(u)
        check(set(a) == ALL and a["127.0.2.3"]["failed"] and
              a["127.0.2.3"]["reason"] == "cert_untrusted_phone" and
              u["addresses_failed"] == 1 and "127.0.2.3" in u["message"],
              f"status {u}")
        with open(os.path.join(os.environ["LAB_STATE_DIR"],
                               "ewsprobed.prom")) as f:
            prom = f.read()
        for addr in ALL:
            series = (f'role="internal",address="{addr}",reason="' +
                      ('cert_untrusted_phone"} 0' if addr == "127.0.2.3"
                       else 'ok"} 1'))
            check(series in prom, f"{series!r} not in the textfile")

        lablib.switch("array-two-bad")
        wait(lambda: len(lab_journal(MSGID_DOWN)) >= 2, "second 'down'")
        e = lab_journal(MSGID_DOWN)[1]
        check(e["EWSPROBED_ADDRESSES_FAILED"] == "127.0.2.2,127.0.2.3" and
              e["EWSPROBED_PREV_ADDRESSES_FAILED"].endswith("127.0.2.3") and
              "2 of 3 addresses" in e["MESSAGE"], f"entry {e}")
        wait_runs(3)
        check(len(lab_journal(MSGID_DOWN)) == 2, "a third 'down' entry")

        lablib.switch("array-fixed")
        wait(lambda: lab_journal(MSGID_RECOVERED), "'recovered'")


def inside_expiring(ewsprobed):
    """A renewal missed on one server of three while another serves the
    wrong CA's certificate (the one the URL's report shows): the expiry
    is journalled once, naming the server it is on."""
    lablib = lab_tools()
    lablib.switch("array-expiring")
    with daemon(ewsprobed):
        wait(lambda: lab_journal(MSGID_CERT_EXPIRING), "expiry entry")
        wait_runs(3)
        es = lab_journal(MSGID_CERT_EXPIRING)
        check(len(es) == 1, f"{len(es)} expiry entries: {es}")
        e = es[0]
        check(e["EWSPROBED_SERVER"] == "127.0.2.3" and
              e["EWSPROBED_WINDOW_DAYS"] == "30" and
              "at 127.0.2.3" in e["MESSAGE"] and
              "12037" in e["MESSAGE"] and
              e["EWSPROBED_CERT_SUBJECT"].endswith("casarray.contoso.com"),
              f"entry {e}")
        u = status_url()
        a = by_address(u)
        # The report's certificate is 127.0.2.2's: the expiry entry
        # comes from the servers behind the name, not from the report.
        check(e["EWSPROBED_CERT_FINGERPRINT"] ==
              a["127.0.2.3"]["cert_sha256"] and
              u["certificates"][0]["sha256"] ==
              a["127.0.2.2"]["cert_sha256"] and
              a["127.0.2.2"]["failed"], f"status {u}")


INSIDE = {"one-bad": inside_one_bad, "fixed": inside_fixed,
          "blackhole": inside_blackhole, "aaaa": inside_aaaa,
          "daemon": inside_daemon, "expiring": inside_expiring}


def lab(name):
    """Run one inside check in a lab that starts with array-one-bad."""
    run_in_lab(SOURCE, "array-one-bad", __file__, "--inside", name,
               EWSPROBED)


def test_one_bad():
    """One bad node of three: named, counted, 12045, the server to fix."""
    lab("one-bad")


def test_fixed():
    """The fixed array is ok, shown collapsed."""
    lab("fixed")


def test_blackhole():
    """A black-holed node costs its timeout, not the others' verdict."""
    lab("blackhole")


def test_aaaa():
    """An AAAA that refuses while IPv4 works is a warning, not down."""
    lab("aaaa")


def test_daemon():
    """Journal once per set of failing addresses; status and textfile."""
    lab("daemon")


def test_expiring():
    """A missed renewal on one server is journalled, naming it."""
    lab("expiring")


if len(sys.argv) == 4 and sys.argv[1] == "--inside":
    run_inside(sys.argv[2], INSIDE[sys.argv[2]], sys.argv[3])

EWSPROBED, SOURCE = lab_args()
run_tests([test_one_bad, test_fixed, test_blackhole, test_aaaa, test_daemon,
           test_expiring])
