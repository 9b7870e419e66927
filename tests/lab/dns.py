"""The lab's DNS: the dnsmasq command line serving a scenario's records.

Owns: turning a scenario's hosts and [dns] table into dnsmasq options —
A/AAAA for every host (each of its nodes too, and extra names), SRV records — on ADDRESS:53 only,
with no upstream, no /etc/hosts, NXDOMAIN for every other name
(`--local=/#/`: all names are local, so unknown ones do not exist), and a
log of every query. The runner starts and stops the process.
"""

ADDRESS = "127.0.0.53"


def dnsmasq_argv(scenario, log_file):
    """dnsmasq's argv for scenario, logging queries to log_file."""
    argv = ["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null",
            f"--listen-address={ADDRESS}", "--port=53", "--bind-interfaces",
            "--no-resolv", "--no-hosts", "--pid-file",
            "--user=root", "--local=/#/", "--log-queries",
            f"--log-facility={log_file}", "--local-ttl=1"]
    for name, host in scenario["hosts"].items():
        rec = f"{name},{host['address']}"
        if host.get("address6"):
            rec += f",{host['address6']}"
        argv.append(f"--host-record={rec}")
        # The other servers behind the name (round robin): one record
        # each, and dnsmasq answers them all.
        for node in host.get("nodes", []):
            argv.append(f"--host-record={name},{node['address']}")
    dns = scenario.get("dns", {})
    for name, addr in dns.get("a", {}).items():
        argv.append(f"--host-record={name},{addr}")
    for srv in dns.get("srv", []):
        if srv.get("target") in (None, "", "."):
            # "Service decidedly not available here" (RFC 2782 target ".").
            argv.append(f"--srv-host={srv['name']}")
            continue
        argv.append("--srv-host={},{},{},{},{}".format(
            srv["name"], srv["target"], srv.get("port", 443),
            srv.get("priority", 0), srv.get("weight", 0)))
    return argv


def queries(log_file):
    """The (type, name) pairs asked so far, in order, from the query log."""
    out = []
    try:
        with open(log_file) as f:
            for line in f:
                # "... query[SRV] _autodiscover._tcp.contoso.com from
                # 127.0.0.1"
                i = line.find(" query[")
                if i < 0:
                    continue
                qtype, _, rest = line[i + 7:].partition("] ")
                out.append((qtype, rest.split(" ")[0]))
    except FileNotFoundError:
        pass
    return out
