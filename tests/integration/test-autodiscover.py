#!/usr/bin/python3
"""Integration test: DNS Autodiscover as a phone runs it, in the lab's
"discovery" scenario (one domain per path, see its comment): the bare
domain, autodiscover.<d>, the HTTP redirect probe only, SRV only, a
RedirectAddress restart (allow-listed) and refusals (not allow-listed, a
public suffix), a RedirectUrl loop, a redirect chain over the budget, a
redirect to http://, a redirect to a host outside the mailbox's domain,
a relative Location (resolved and followed);
hostile first candidates the walk must survive (docs/security.md §7 rows 1-3,
10, 16, 18-20, 23, 24, 26, 27); mode "all" and "first" — and the safety rules: no
Authorization on port 80 and none but NTLM, no request at all to foreign
hosts, no DNS name outside the policy.

  test-autodiscover.py EWSPROBED SOURCE
"""
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from ewstest import (check, lab_args, result_doc, run_in_lab,  # noqa: E402
                     run_inside, run_tests)

SVC = "/autodiscover/autodiscover.svc"

# mailbox name: (domain, extra config, found, source or reason, hops)
CASES = {
    "root": ("root.example", "", True, "https://root.example" + SVC, 0),
    "ad": ("ad.example", "", True, "https://autodiscover.ad.example" + SVC,
           0),
    "httponly": ("httponly.example", "", True, "https://mail.httponly."
                 "example/autodiscover/autodiscover.xml", 1),
    "srvonly": ("srvonly.example", "", True,
                "https://ad.srvonly.example" + SVC, 0),
    # Another domain only when the admin allow-lists it (security row 17).
    "redir": ("redir.example", "redirect_allow = ad.example\n", True,
              "https://autodiscover.ad.example" + SVC, 1),
    "redirfar": ("redirfar.example", "", False, "redirect_rejected", None),
    "topsl": ("topsl.example", "", False, "redirect_rejected", None),
    "loop": ("loop.example", "", False, "redirect_loop", None),
    "chain": ("chain.example", "", False, "redirect_loop", 11),
    "tohttp": ("tohttp.example", "", False, None, None),
    "urlhttp": ("urlhttp.example", "", False, "redirect_rejected", None),
    "foreign": ("foreign.example", "", False, None, None),
    "big": ("big.example", "", True, "https://autodiscover.big.example" + SVC,
            0),
    "hugelen": ("hugelen.example", "", True,
                "https://autodiscover.hugelen.example" + SVC, 0),
    "flood": ("flood.example", "", True,
              "https://autodiscover.flood.example" + SVC, 0),
    "err": ("err.example", "", True, "https://autodiscover.err.example" + SVC,
            0),
    "basic": ("basic.example", "", True,
              "https://autodiscover.basic.example" + SVC, 0),
    "slow": ("slow.example", "", True,
             "https://autodiscover.slow.example" + SVC, 0),
    "hole": ("hole.example", "", True,
             "https://autodiscover.hole.example" + SVC, 0),
    "untrusted": ("untrusted.example", "", True,
                  "https://autodiscover.untrusted.example" + SVC, 0),
    "denied": ("denied.example", "", False, "auth_failed", None),
    "srvmany": ("srvmany.example", "", True,
                "https://ad1.srvmany.example" + SVC, 0),
    "two": ("two.example", "", True, "https://two.example" + SVC, 0),
    "twofirst": ("two.example", "discovery = first\n", True,
                 "https://two.example" + SVC, 0),
    # A relative Location, resolved against the request's URL.
    "relloc": ("relloc.example", "", True,
               "https://autodiscover.relloc.example/ad2/autodiscover.svc", 1),
}

# The step of the first candidate of a hostile domain: (title start,
# step reasons accepted, docs/security.md row).
HOSTILE = {
    # With NTLM, libcurl's first POST leg carries no body; a 200 with an
    # endless body to it makes libcurl close the connection (it would
    # have to send the body again), which it reports as a partial
    # transfer. Either way the body is dropped well before 1 MiB is kept.
    "big": ("POST https://big.example/",
            ("response_too_large", "http_protocol_error"), 1),
    "hugelen": ("POST https://hugelen.example/", ("response_too_large",), 2),
    "flood": ("POST https://flood.example/",
              ("headers_too_large", "http_protocol_error"), 3),
    "basic": ("POST https://basic.example/", ("auth_failed",), 19),
    "slow": ("POST https://slow.example/", ("timeout", "stalled"), 26),
    "hole": ("POST https://hole.example/", ("connect_timeout",), 27),
    # Credentials only over TLS that PCs trust: the system store refuses
    # the chain in the handshake, before any request.
    "untrusted": ("POST https://untrusted.example/", ("tls_verify_failed",),
                  None),
}


def steps_of(target):
    """The autodiscover steps of a target."""
    return target["autodiscover"]["steps"]


def check_case(name, t):
    """One mailbox's discovery: found or not, source or reason, hops."""
    domain, _, found, what, hops = CASES[name]
    ad = t["autodiscover"]
    check(ad["found"] == found, f"{name}: found {ad['found']}:\n"
          f"{json.dumps(ad, indent=1)}")
    if found:
        check(ad["source"] == what, f"{name}: source {ad['source']}")
        check(ad["answers"][0]["source"] == what, f"{name}: answers")
    elif what is not None:
        check(t["reason"] == what, f"{name}: reason {t['reason']}:\n"
              f"{json.dumps(steps_of(t), indent=1)}")
    if hops is not None:
        check(ad["hops"] == hops, f"{name}: {ad['hops']} hops")
    if name in HOSTILE:
        title, reasons, row = HOSTILE[name]
        st = [s for s in steps_of(t) if s["title"].startswith(title)]
        check(st and st[0]["result"] == "fail" and
              st[0]["reason"] in reasons,
              f"{name} (row {row}): first candidate {st}")


def check_details(targets):
    """What the single cases show beyond found/reason."""
    # Row 10: an Autodiscover error moves on (SOAP, POX, next host).
    st = [s for s in steps_of(targets["err"])
          if s["title"].startswith("POST https://err.example/")]
    check(len(st) == 2 and all(s["result"] == "fail" for s in st),
          f"err: {st}")
    check("InvalidUser" in (st[0]["detail"] or "") and
          "600" in (st[1]["detail"] or ""), f"err: details {st}")
    # Row 17: RedirectAddress outside the domain, or to a public suffix.
    for name, words in (("redirfar", "not in redirect_allow"),
                        ("topsl", "a public suffix")):
        st = [s for s in steps_of(targets[name])
              if s["reason"] == "redirect_addr_not_allowed"]
        check(st and words in st[0]["detail"], f"{name}: {st}")
    # Rows 23, 24: 52 SRV records: the best 16 are kept, of which the one
    # on port 80 and the one outside the domain are skipped; priority 0
    # first.
    tried = [s["title"].split()[1] for s in steps_of(targets["srvmany"])
             if re.match(r"POST https://(t\d+|ad1)\.srvmany\.example/",
                         s["title"])]
    check(len(tried) == 14 and
          tried[0] == "https://ad1.srvmany.example" + SVC,
          f"srvmany: tried {tried}")
    # Mode "all" (the report's default) keeps both answers and says they
    # differ; "first" stops at the first.
    ad = targets["two"]["autodiscover"]
    check(len(ad["answers"]) == 2 and ad["answers_disagree"] and
          ad["answers"][1]["internal_ews_url"] ==
          "https://other.two.example/EWS/Exchange.asmx", f"two: {ad}")
    ad = targets["twofirst"]["autodiscover"]
    check(len(ad["answers"]) == 1 and not ad["answers_disagree"],
          f"twofirst: {ad}")


def inside(ewsprobed):
    """Every case from inside the lab, in one overlapping --once run."""
    with open(os.environ["LAB_CONF"]) as f:
        base = f.read()
    base = base[:base.index("[mailbox lab]")]
    # Short steps: the stalling candidates (rows 26, 27) end in 4 s.
    base = base.replace("timeout = 10s", "timeout = 4s")
    check("timeout = 4s" in base, "the lab configuration changed")
    for name, (domain, extra, _, _, _) in CASES.items():
        base += (f"\n[mailbox {name}]\naddress = lab@{domain}\n"
                 "account = CONTOSO\\lab\n"
                 f"credential = {os.environ['LAB_PASSWORD_FILE']}\n{extra}")
    conf = os.path.join(os.environ["LAB_STATE_DIR"], "discovery.conf")
    with open(conf, "w") as f:
        f.write(base)
    p = subprocess.run([ewsprobed, "--once", "--json", "-f", conf],
                       capture_output=True, text=True, timeout=300)
    doc = result_doc(p.stdout)
    targets = {t["mailbox"]: t["last_run"] for t in doc["targets"]}
    check(list(targets) == list(CASES), f"targets {list(targets)}")
    for name in CASES:
        check_case(name, targets[name])
    check_details(targets)
    with open(os.environ["LAB_REQUEST_LOG"]) as f:
        recs = [json.loads(line) for line in f]
    check(not [r for r in recs if r["port"] == 80 and r["authorization"]],
          "credentials sent on port 80")
    check(any(r["port"] == 80 for r in recs), "the HTTP probe never ran")
    # Row 18: the redirect probe is a bare GET.
    check(all(r["method"] == "GET" and not r["body_bytes"] and
              not r["cookie"] for r in recs if r["port"] == 80),
          "the HTTP probe sent more than a GET")
    check(not [r for r in recs if r["server"] == "ad1.srvmany.example"
               and r["port"] == 80], "an SRV record on port 80 was used")
    check(not [r for r in recs if r["port"] == 80 and
               r["path"].endswith(".svc")],
          "a RedirectUrl to http:// was followed")
    check(not [r for r in recs if r["server"] == "evil.attacker.example"],
          "a request reached the foreign host")
    check(not [r for r in recs if r["server"] == "autodiscover.tohttp.example"
               and r["port"] == 80 and r["method"] == "POST"],
          "a redirect to http:// was followed")
    check(not [r for r in recs if r["server"].endswith("attacker.example")],
          "a request reached attacker.example")
    check(not [r for r in recs if r["authorization"] and
               r["authorization"] != "NTLM"],
          "an Authorization other than NTLM was sent")
    check(any(r["server"] == "basic.example" for r in recs),
          "basic.example was not asked")
    check(not [r for r in recs if r["server"] == "untrusted.example"],
          "a request went over TLS that PCs do not trust")
    with open(os.environ["LAB_DNS_LOG"]) as f:
        names = {line.split()[5] for line in f if "query[" in line}
    domains = {d for d, _, _, _, _ in CASES.values()}
    allowed_suffixes = tuple("." + d for d in domains) + (".contoso.com",)
    # The lab's own servers look up their addresses' names when they
    # start (Python's HTTPServer.server_bind): PTR queries are not ours.
    bad = [n for n in names if n not in domains and
           not n.endswith(allowed_suffixes) and
           not n.endswith(".in-addr.arpa")]
    check(not bad, f"DNS names outside the policy were asked: {bad}")
    for parent in ("autodiscover.com", "autodiscover.example",
                   "autodiscover.co.uk", "co.uk",
                   "autodiscover.attacker.example", "attacker.example"):
        check(parent not in names, f"{parent} was asked")


def test_discovery_paths_and_safety():
    """Each discovery path, each refusal, nothing outside the policy."""
    run_in_lab(SOURCE, "discovery", __file__, "--inside", EWSPROBED)


if len(sys.argv) == 3 and sys.argv[1] == "--inside":
    run_inside("inside", inside, sys.argv[2])

EWSPROBED, SOURCE = lab_args()
run_tests([test_discovery_paths_and_safety])
