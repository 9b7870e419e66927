"""The lab runner: contoso in a box, inside the private network and mount
namespace that tests/lab/contoso created with unshare.

Owns: setting the namespace up (lo, a tmpfs /run with /run/systemd and
/run/log, the lab resolv.conf, a volatile journal), starting the lab's
services (dnsmasq, systemd-journald, the Exchange/Lync double), writing the
material COMMAND gets (LAB_DIR, LAB_CONF), running COMMAND, switching
scenarios on request, and tearing everything down. Every wait is bounded.

  lab.py run [--timeout SECS] SCENARIO -- COMMAND...   (inside unshare)
  lab.py switch SCENARIO                               (from COMMAND)
"""
import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import exchange  # noqa: E402
import pki as pkimod  # noqa: E402

RUN = "/run/contoso"
DNS_ADDRESS = "127.0.0.53"
PR_SET_PDEATHSIG = 1


def die(msg):
    """Print msg and exit with status 2 (lab failure, not COMMAND's)."""
    print(f"contoso: {msg}", file=sys.stderr)
    sys.exit(2)


def scenario_path(name):
    """A scenario name under scenarios/, or a path to a scenario file."""
    if os.sep in name or name.endswith(".toml"):
        return os.path.abspath(name)
    return os.path.join(HERE, "scenarios", name + ".toml")


def load_scenario(name):
    """Read and check a scenario file."""
    path = scenario_path(name)
    try:
        with open(path, "rb") as f:
            sc = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as e:
        die(f"scenario {name}: {e}")
    for key in ("mailbox", "hosts"):
        if key not in sc:
            die(f"scenario {name}: no [{key}]")
    for hname, host in sc["hosts"].items():
        if not host.get("address", "").startswith("127."):
            die(f"scenario {name}: host {hname} needs a 127.x address")
        if host.get("https", True) and "cert" not in host:
            die(f"scenario {name}: host {hname} has no cert")
    sc["name"] = os.path.basename(path).rsplit(".", 1)[0]
    return sc


def die_with_parent():
    """preexec_fn: the child gets SIGKILL when the lab runner dies."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def sh(*args):
    """Run a setup command; fail the lab if it fails."""
    p = subprocess.run(args, capture_output=True, text=True)
    if p.returncode != 0:
        die(f"{' '.join(args)}: {p.stderr.strip()}")


def wait_for(cond, what, timeout=10.0):
    """Poll cond until true, or fail the lab after timeout seconds."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            die(f"timed out waiting for {what}")
        time.sleep(0.02)


class Runner:
    """One lab run: namespace, services, COMMAND."""

    def __init__(self, scenario):
        self.scenario = scenario
        self.procs = {}
        self.pki = None
        self.lab = None
        self.switch_requested = False

    def setup_namespace(self):
        """Private mounts; lo up; private /run; resolv.conf; machine id;
        journald config."""
        # Nothing mounted here may propagate to the host. In a chroot "/"
        # is no mount point and cannot be made private: refuse to run.
        if subprocess.run(["mount", "--make-rprivate", "/"],
                          capture_output=True).returncode != 0:
            print("contoso: cannot make mounts private here (is / a chroot "
                  "directory rather than a mount point?); the lab would "
                  "leak mounts to the host, so it does not run",
                  file=sys.stderr)
            sys.exit(77)
        sh("ip", "link", "set", "lo", "up")
        resolv_target = os.path.realpath("/etc/resolv.conf")
        sh("mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", "/run")
        for d in ("/run/systemd/journald.conf.d", "/run/log", RUN,
                  RUN + "/lab", RUN + "/state"):
            os.makedirs(d, exist_ok=True)
        with open(RUN + "/resolv.conf", "w") as f:
            f.write(f"nameserver {DNS_ADDRESS}\noptions timeout:2 "
                    "attempts:1\n")
        if resolv_target.startswith("/run/"):
            os.makedirs(os.path.dirname(resolv_target), exist_ok=True)
            shutil.copy(RUN + "/resolv.conf", resolv_target)
        else:
            sh("mount", "--bind", RUN + "/resolv.conf", "/etc/resolv.conf")
        try:
            with open("/etc/machine-id") as f:
                have_id = len(f.read().strip()) == 32
        except OSError:
            have_id = False
        if not have_id and os.path.exists("/etc/machine-id"):
            with open(RUN + "/machine-id", "w") as f:
                f.write(os.urandom(16).hex() + "\n")
            sh("mount", "--bind", RUN + "/machine-id", "/etc/machine-id")
        # Keep the journal in the namespace's /run, never on the host.
        with open("/run/systemd/journald.conf.d/lab.conf", "w") as f:
            f.write("[Journal]\nStorage=volatile\nRateLimitBurst=0\n"
                    "ReadKMsg=no\nForwardToSyslog=no\nForwardToWall=no\n"
                    "ForwardToConsole=no\nForwardToKMsg=no\n")

    def spawn(self, name, argv, **kw):
        """Start a service that dies with us."""
        log = open(os.path.join(RUN, name + ".out"), "w")
        self.procs[name] = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent, **kw)

    def start_dns(self):
        """dnsmasq on 127.0.0.53 with the scenario's records only."""
        argv = ["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null",
                f"--listen-address={DNS_ADDRESS}", "--port=53",
                "--bind-interfaces", "--no-resolv", "--no-hosts",
                "--pid-file", "--user=root", "--local=/#/", "--log-queries",
                f"--log-facility={RUN}/dns.log"]
        for name, host in self.scenario["hosts"].items():
            rec = f"{name},{host['address']}"
            if host.get("address6"):
                rec += f",{host['address6']}"
            argv.append(f"--host-record={rec}")
        dns = self.scenario.get("dns", {})
        for name, addr in dns.get("a", {}).items():
            argv.append(f"--host-record={name},{addr}")
        for srv in dns.get("srv", []):
            argv.append("--srv-host={},{},{},{},{}".format(
                srv["name"], srv["target"], srv.get("port", 443),
                srv.get("priority", 0), srv.get("weight", 0)))
        if "dns" in self.procs:
            self.stop("dns")
        self.spawn("dns", argv)
        wait_for(lambda: self.udp_bound(DNS_ADDRESS, 53), "dnsmasq")

    @staticmethod
    def udp_bound(addr, port):
        """Whether something is bound to UDP addr:port."""
        import socket
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind((addr, port))
            return False
        except OSError:
            return True
        finally:
            s.close()

    def start_journal(self):
        """A real systemd-journald for the namespace."""
        self.spawn("journald", ["/lib/systemd/systemd-journald"])
        wait_for(lambda: os.path.exists("/run/systemd/journal/socket"),
                 "systemd-journald")

    def write_material(self):
        """LAB_DIR: CAs, chains, system store, password; LAB_CONF."""
        d = RUN + "/lab"
        for name in pkimod.CAS:
            shutil.copy(self.pki.path(f"{name}.pem"), f"{d}/{name}.pem")
        shutil.copy(self.pki.path("system-store.pem"),
                    f"{d}/system-store.pem")
        for hname, host in self.scenario["hosts"].items():
            if "cert" in host:
                files = self.pki.leaf(host["cert"])
                shutil.copy(files["chain"], f"{d}/{hname}.chain.pem")
        pw = f"{d}/lab.password"
        if os.path.exists(pw):
            os.unlink(pw)
        fd = os.open(pw, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, (self.scenario["mailbox"]["password"] + "\n").encode())
        os.close(fd)
        self.write_conf()

    def write_conf(self):
        """The ewsprobed configuration for this scenario's mailbox."""
        sc = self.scenario
        d = RUN + "/lab"
        prof = sc.get("profile", {})
        lines = [
            "; ewsprobed configuration for lab scenario " + sc["name"],
            "[daemon]", "interval = 30s", "retry_interval = 10s",
            "discovery_interval = 24h", "fail_after = 3", "recover_after = 2",
            "concurrency = 8", "timeout = 10s",
            f"status_file = {RUN}/state/status.json",
            f"metrics_file = {RUN}/state/ewsprobed.prom",
            f"dns_servers = {DNS_ADDRESS}", "cert_warn_days = 30",
            f"system_store = {d}/system-store.pem", "",
            "[profile lync-phone-edition]"]
        fe = sc.get("frontend")
        if fe:
            lines.append(f"frontend = {fe['host']}:{fe.get('port', 443)}")
        if prof.get("web_trusted"):
            lines.append("web_trusted_ca = " + ", ".join(
                f"{d}/{ca}.pem" for ca in prof["web_trusted"]))
        mb = sc["mailbox"]
        lines += ["", "[mailbox lab]", f"address = {mb['address']}",
                  f"account = {mb['account']}",
                  f"credential = {d}/lab.password",
                  "profiles = lync-phone-edition", ""]
        tmp = f"{d}/ewsprobed.conf.tmp"
        with open(tmp, "w") as f:
            f.write("\n".join(lines))
        os.rename(tmp, f"{d}/ewsprobed.conf")

    def stop(self, name):
        """Stop one service, bounded."""
        p = self.procs.pop(name, None)
        if p is None or p.poll() is not None:
            return
        p.terminate()
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()

    def switch(self):
        """Serve the scenario named in the switch request."""
        req = RUN + "/switch.request"
        try:
            with open(req) as f:
                name = f.read().strip()
            os.unlink(req)
        except OSError:
            return
        try:
            sc = load_scenario(name)
            sc_err = None
        except SystemExit:
            sc_err = f"cannot load scenario {name}"
        if sc_err is None:
            self.scenario = sc
            self.start_dns()
            self.lab.start(sc)
            self.write_material()
            with open(RUN + "/scenario", "w") as f:
                f.write(sc["name"] + "\n")
        with open(RUN + "/switch.done.tmp", "w") as f:
            f.write(sc_err or "ok")
        os.rename(RUN + "/switch.done.tmp", RUN + "/switch.done")

    def run(self, argv, timeout):
        """Set up, run COMMAND, tear down; return COMMAND's status."""
        self.setup_namespace()
        self.pki = pkimod.PKI()
        self.start_dns()
        self.start_journal()
        self.lab = exchange.Lab(self.pki, RUN + "/requests.jsonl")
        open(RUN + "/requests.jsonl", "w").close()
        self.lab.start(self.scenario)
        self.write_material()
        with open(RUN + "/scenario", "w") as f:
            f.write(self.scenario["name"] + "\n")
        with open(RUN + "/runner.pid", "w") as f:
            f.write(f"{os.getpid()}\n")
        signal.signal(signal.SIGUSR1,
                      lambda *_: setattr(self, "switch_requested", True))
        env = dict(os.environ, LAB_DIR=RUN + "/lab",
                   LAB_CONF=RUN + "/lab/ewsprobed.conf",
                   LAB_REQUEST_LOG=RUN + "/requests.jsonl",
                   LAB_DNS_LOG=RUN + "/dns.log", LAB_RUN_DIR=RUN,
                   LAB_STATE_DIR=RUN + "/state", LAB_DNS=DNS_ADDRESS,
                   LAB_SCENARIO=self.scenario["name"],
                   LAB_TOOLS=HERE,
                   LAB_PASSWORD_FILE=RUN + "/lab/lab.password")
        cmd = subprocess.Popen(argv, env=env, preexec_fn=die_with_parent)
        deadline = time.monotonic() + timeout
        status = None
        try:
            while status is None:
                if self.switch_requested:
                    self.switch_requested = False
                    self.switch()
                try:
                    status = cmd.wait(timeout=0.05)
                except subprocess.TimeoutExpired:
                    if time.monotonic() > deadline:
                        print(f"contoso: COMMAND still running after "
                              f"{timeout}s, killing it", file=sys.stderr)
                        cmd.kill()
                        status = cmd.wait()
        finally:
            if cmd.poll() is None:
                cmd.kill()
                cmd.wait()
            self.lab.stop()
            for name in list(self.procs):
                self.stop(name)
        return status if status >= 0 else 128 - status


def cmd_switch(name):
    """Ask the runner of this namespace to serve another scenario."""
    load_scenario(name)
    try:
        with open(RUN + "/runner.pid") as f:
            pid = int(f.read())
    except (OSError, ValueError):
        die("switch: not inside a lab (no runner)")
    done = RUN + "/switch.done"
    if os.path.exists(done):
        os.unlink(done)
    with open(RUN + "/switch.request.tmp", "w") as f:
        f.write(name + "\n")
    os.rename(RUN + "/switch.request.tmp", RUN + "/switch.request")
    os.kill(pid, signal.SIGUSR1)
    wait_for(lambda: os.path.exists(done), "the scenario switch", 60)
    with open(done) as f:
        result = f.read()
    if result != "ok":
        die(result)


def main():
    args = sys.argv[1:]
    if len(args) >= 1 and args[0] == "switch" and len(args) == 2:
        cmd_switch(args[1])
        return 0
    if len(args) >= 1 and args[0] == "run":
        args = args[1:]
        timeout = 600.0
        if len(args) >= 2 and args[0] == "--timeout":
            timeout = float(args[1])
            args = args[2:]
        if len(args) < 3 or args[1] != "--":
            die("usage: contoso run [--timeout SECS] SCENARIO -- COMMAND...")
        runner = Runner(load_scenario(args[0]))
        return runner.run(args[2:], timeout)
    die("usage: contoso run SCENARIO -- COMMAND... | contoso switch "
        "SCENARIO")


if __name__ == "__main__":
    sys.exit(main())
