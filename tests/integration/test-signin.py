#!/usr/bin/python3
"""Integration test: where the mailbox's credential goes (issue 12, item 5;
docs/credentials.md). In the lab's "foreign-ews" scenario Autodiscover
names EWS hosts outside the mailbox's domain that phones trust (one from
the Front End pool's CA, one from a public root that a public_roots
profile trusts). Without signin_allow they are checked up to the 401 and
never see an Authorization header; the report says why and how to allow
it. With signin_allow (or its first name redirect_allow) the sign-in
happens; a URL the admin fixed (ews_internal_url) is signed in to as
typed; a host in the mailbox's domain always is.

  test-signin.py EWSPROBED SOURCE
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from ewstest import (check, lab_args, result_doc, run_in_lab,  # noqa: E402
                     run_inside, run_steps, run_tests)

ATTACKER = "ews.attacker.example"
PUBLIC = "ews.public.example"


def requests_since(start):
    """The request log's records after the first start ones."""
    with open(os.environ["LAB_REQUEST_LOG"]) as f:
        return [json.loads(line) for line in f][start:]


def run_once(name, mailbox):
    """--once --json with the lab's daemon and profile sections, a
    public_roots profile and one [mailbox lab] with the extra lines;
    return the targets' runs by target name and the requests it made."""
    with open(os.environ["LAB_CONF"]) as f:
        base = f.read()
    base = base[:base.index("[mailbox lab]")]
    lab = os.environ["LAB_DIR"]
    text = (base + "\n[profile modern]\npublic_roots = "
            f"{lab}/public-root.pem\n\n[mailbox lab]\n"
            "address = lab@contoso.com\naccount = CONTOSO\\lab\n"
            f"credential = {os.environ['LAB_PASSWORD_FILE']}\n"
            "profiles = lync-phone-edition, modern\n" + mailbox)
    conf = os.path.join(os.environ["LAB_STATE_DIR"], name + ".conf")
    with open(conf, "w") as f:
        f.write(text)
    start = len(requests_since(0))
    p = subprocess.run([os.environ["EWSPROBED"], "--once", "--json", "-f",
                        conf], capture_output=True, text=True, timeout=200)
    check(p.stdout, f"{name}: no report: {p.stderr}")
    doc = result_doc(p.stdout)
    return ({t["target"]: t["last_run"] for t in doc["targets"]},
            requests_since(start), p.stdout)


def url_of(run, host):
    """The URL result of a target's run at host."""
    urls = [u for u in run["urls"] if f"//{host}/" in u["url"]]
    check(len(urls) == 1, f"no URL at {host}: "
          f"{json.dumps(run, indent=1)}")
    return urls[0]


def signed_in(recs, server):
    """Whether a request carrying NTLM reached server and was let in."""
    return any(r["server"] == server and r["authorization"] == "NTLM" and
               r["status"] == 200 for r in recs)


def inside_refused():
    """Discovered foreign hosts: checked up to the 401, no credential."""
    targets, recs, out = run_once("refused", "")
    for server in (ATTACKER, PUBLIC):
        check(any(r["server"] == server and r["status"] == 401 and
                  not r["authorization"] for r in recs),
              f"{server} was not checked up to the 401")
    sent = [r for r in recs if r["authorization"] and
            not r["server"].endswith(".contoso.com")]
    check(not sent, f"credentials went outside contoso.com: {sent}")
    # Both trust cases: the Front End CA (phone profile) and a public root.
    for tname, host in (("lab/lync-phone-edition", ATTACKER),
                        ("lab/modern", PUBLIC)):
        t = targets[tname]
        u = url_of(t, host)
        # A warning's reason names it, never ok (issue 14).
        check(u["reason"] == "signin_not_allowed" and u["phone_trusted"],
              f"{tname}: {host} not checked as a phone: {u}")
        skipped = [s for s in run_steps(t) if s["result"] == "skip" and
                   s["reason"] == "signin_not_allowed"]
        check(skipped and host in skipped[0]["detail"] and
              "add it to signin_allow in [mailbox lab]" in
              skipped[0]["detail"],
              f"{tname}: no skipped sign-in step for {host}: "
              f"{run_steps(t)}")
        # The other URL's chain is not trusted under this profile: the
        # target is critical for that; this URL is a warning, never ok.
        check(u["warning"] and t["verdict"] != "ok",
              f"{tname}: verdict {t['verdict']}, {u}")
        check("sign-in not tested" in u["message"] and
              "NTLM accepted" not in u["message"],
              f"{tname}: message claims a sign-in: {u['message']}")
        check("add it to signin_allow in [mailbox lab]" in u["remedy"] and
              host in u["remedy"], f"{tname}: remedy {u['remedy']}")
    check("NTLM accepted" not in out, "the report claims a sign-in")


def inside_allowed():
    """signin_allow admits the hosts; the first name still works."""
    targets, recs, _ = run_once(
        "allowed", f"signin_allow = {ATTACKER}, {PUBLIC}\n")
    for server in (ATTACKER, PUBLIC):
        check(signed_in(recs, server), f"no sign-in at allowed {server}")
    for tname, host in (("lab/lync-phone-edition", ATTACKER),
                        ("lab/modern", PUBLIC)):
        u = url_of(targets[tname], host)
        check(u["reason"] == "ok" and "NTLM accepted" in u["message"],
              f"allowed: {tname}: {host} not signed in: {u['message']}")
    _, recs, _ = run_once("legacy", f"redirect_allow = {PUBLIC}\n")
    check(signed_in(recs, PUBLIC), "redirect_allow no longer admits")
    check(not [r for r in recs if r["server"] == ATTACKER and
               r["authorization"]], "redirect_allow admitted another host")


def inside_fixed():
    """A URL the admin typed is signed in to, in or outside the domain."""
    _, recs, _ = run_once(
        "fixed", f"ews_internal_url = https://{ATTACKER}/EWS/Exchange.asmx\n"
        "ews_external_url = https://mail.contoso.com/EWS/Exchange.asmx\n")
    check(signed_in(recs, ATTACKER), "no sign-in at the fixed URL")
    check(signed_in(recs, "mail.contoso.com"),
          "no sign-in in the mailbox's domain")


def inside_both_names():
    """signin_allow and redirect_allow are one list: not both."""
    with open(os.environ["LAB_CONF"]) as f:
        text = f.read() + f"signin_allow = {ATTACKER}\n" \
            f"redirect_allow = {PUBLIC}\n"
    conf = os.path.join(os.environ["LAB_STATE_DIR"], "both.conf")
    with open(conf, "w") as f:
        f.write(text)
    p = subprocess.run([os.environ["EWSPROBED"], "-n", "-f", conf],
                       capture_output=True, text=True, timeout=60)
    check(p.returncode != 0 and "one list" in p.stderr,
          f"both names accepted: {p.returncode} {p.stderr}")


def inside():
    inside_both_names()
    inside_refused()
    inside_allowed()
    inside_fixed()


def test_signin_only_to_admitted_hosts():
    """No Authorization outside the mailbox's domain unless allowed."""
    run_in_lab(SOURCE, "foreign-ews", __file__, "--inside", EWSPROBED)


if len(sys.argv) == 3 and sys.argv[1] == "--inside":
    os.environ["EWSPROBED"] = sys.argv[2]
    run_inside("inside", inside)

EWSPROBED, SOURCE = lab_args()
run_tests([test_signin_only_to_admitted_hosts])
