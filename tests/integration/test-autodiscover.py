#!/usr/bin/python3
"""Integration test: DNS Autodiscover as a phone runs it, in the lab's
"discovery" scenario (one domain per path, see its comment): the bare
domain, autodiscover.<d>, the HTTP redirect probe only, SRV only, a
RedirectAddress restart, a RedirectUrl loop, a redirect chain over the
budget, a redirect to http://, a redirect to a host outside the mailbox's
domain — and the safety rules: no Authorization on port 80, no request at
all to the foreign host, no DNS name outside the policy.

  test-autodiscover.py EWSPROBED SOURCE
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from ewstest import TestFailure, check, run_in_lab, run_tests  # noqa: E402

# mailbox domain: (found, source or reason, hops)
CASES = {
    "root.example": (True, "https://root.example/autodiscover/"
                     "autodiscover.svc", 0),
    "ad.example": (True, "https://autodiscover.ad.example/autodiscover/"
                   "autodiscover.svc", 0),
    "httponly.example": (True, "https://mail.httponly.example/autodiscover/"
                         "autodiscover.xml", 1),
    "srvonly.example": (True, "https://ad.srvonly.example/autodiscover/"
                        "autodiscover.svc", 0),
    "redir.example": (True, "https://autodiscover.ad.example/autodiscover/"
                      "autodiscover.svc", 1),
    "loop.example": (False, "redirect_loop", None),
    "chain.example": (False, "redirect_loop", 11),
    "tohttp.example": (False, None, None),
    "foreign.example": (False, None, None),
}


def inside(ewsprobed):
    """Every case from inside the lab."""
    with open(os.environ["LAB_CONF"]) as f:
        base = f.read()
    base = base[:base.index("[mailbox lab]")]
    for i, domain in enumerate(CASES):
        base += (f"\n[mailbox m{i}]\naddress = lab@{domain}\n"
                 "account = CONTOSO\\lab\n"
                 f"credential = {os.environ['LAB_PASSWORD_FILE']}\n")
    conf = os.path.join(os.environ["LAB_STATE_DIR"], "discovery.conf")
    with open(conf, "w") as f:
        f.write(base)
    for i, (domain, (found, what, hops)) in enumerate(CASES.items()):
        p = subprocess.run([ewsprobed, "--once", "--json", "-f", conf,
                            f"m{i}"], capture_output=True, text=True,
                           timeout=120)
        doc = json.loads(p.stdout)
        ad = doc["targets"][0]["autodiscover"]
        check(ad["found"] == found, f"{domain}: found {ad['found']}:\n"
              f"{json.dumps(ad, indent=1)}")
        if found:
            check(ad["source"] == what, f"{domain}: source {ad['source']}")
            check(ad["internal_ews_url"] ==
                  "https://casarray.contoso.com/EWS/Exchange.asmx",
                  f"{domain}: internal URL")
        elif what is not None:
            check(doc["targets"][0]["reason"] == what,
                  f"{domain}: reason {doc['targets'][0]['reason']}")
        if hops is not None:
            check(ad["hops"] == hops, f"{domain}: {ad['hops']} hops")
    with open(os.environ["LAB_REQUEST_LOG"]) as f:
        recs = [json.loads(line) for line in f]
    check(not [r for r in recs if r["port"] == 80 and r["authorization"]],
          "credentials sent on port 80")
    check(any(r["port"] == 80 for r in recs), "the HTTP probe never ran")
    check(not [r for r in recs if r["server"] == "evil.attacker.example"],
          "a request reached the foreign host")
    check(not [r for r in recs if r["server"] == "autodiscover.tohttp.example"
               and r["port"] == 80 and r["method"] == "POST"],
          "a redirect to http:// was followed")
    with open(os.environ["LAB_DNS_LOG"]) as f:
        names = {line.split()[5] for line in f if "query[" in line}
    allowed_suffixes = tuple("." + d for d in CASES) + (".contoso.com",)
    # The lab's own servers look up their addresses' names when they
    # start (Python's HTTPServer.server_bind): PTR queries are not ours.
    bad = [n for n in names if n not in CASES and
           not n.endswith(allowed_suffixes) and
           not n.endswith(".in-addr.arpa")]
    check(not bad, f"DNS names outside the policy were asked: {bad}")
    check("autodiscover.com" not in names and "autodiscover.example"
          not in names, "a parent domain was tried")


def test_discovery_paths_and_safety():
    """Each discovery path, each refusal, nothing outside the policy."""
    run_in_lab(SOURCE, "discovery", __file__, "--inside", EWSPROBED)


if len(sys.argv) == 3 and sys.argv[1] == "--inside":
    try:
        inside(sys.argv[2])
    except TestFailure as e:
        print(f"not ok - inside: {e}")
        sys.exit(1)
    sys.exit(0)

EWSPROBED = os.path.abspath(sys.argv[1])
SOURCE = os.path.abspath(sys.argv[2])
if os.geteuid() != 0:
    print("the lab needs root: skipped")
    sys.exit(77)
run_tests([test_discovery_paths_and_safety])
