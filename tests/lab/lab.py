"""The lab runner: contoso in a box.

Owns: the namespaces (a private network, mount and PID namespace made with
unshare(2); the runner is PID 1 of its PID namespace, so when it exits the
kernel kills everything still inside, whatever COMMAND started), setting
them up (private mounts, a fresh /proc, lo, a tmpfs /run holding
/run/systemd and /run/log, the lab resolv.conf and hosts, a machine id if
the host has none), starting the lab's services (dnsmasq, systemd-journald,
the Exchange/Lync double), writing what COMMAND gets (LAB_DIR, LAB_CONF,
...), running COMMAND, switching scenarios on request, and tearing down.
Every wait is bounded.

  lab.py run [--timeout SECS] SCENARIO -- COMMAND...   (as root)
  lab.py switch SCENARIO                               (from COMMAND)
"""
import ctypes
import os
import select
import shutil
import signal
import subprocess
import sys
import time
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import dns  # noqa: E402
import exchange  # noqa: E402
import pki as pkimod  # noqa: E402

RUN = "/run/contoso"
LAB_DIR = RUN + "/lab"
PR_SET_PDEATHSIG = 1
CLONE_NEWNS, CLONE_NEWNET, CLONE_NEWPID = 0x00020000, 0x40000000, 0x20000000
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
# Variables a service manager may have given us that must not reach the
# lab's processes (they name the host's sockets and streams).
HOST_ENV = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS",
            "LISTEN_PID", "LISTEN_FDNAMES", "JOURNAL_STREAM",
            "INVOCATION_ID", "CREDENTIALS_DIRECTORY")
libc = ctypes.CDLL("libc.so.6", use_errno=True)


class LabError(Exception):
    """The lab itself failed (exit status 2)."""


def die(msg, status=2):
    """Print msg and exit (2: lab failure, 77: cannot run here)."""
    print(f"contoso: {msg}", file=sys.stderr)
    sys.stderr.flush()
    sys.exit(status)


def scenario_path(name):
    """A scenario name under scenarios/, or a path to a scenario file."""
    if os.sep in name or name.endswith(".toml"):
        return os.path.abspath(name)
    return os.path.join(HERE, "scenarios", name + ".toml")


def load_scenario(name):
    """Read and check a scenario file; raise LabError if it is wrong."""
    path = scenario_path(name)
    try:
        with open(path, "rb") as f:
            sc = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise LabError(f"scenario {name}: {e}")
    for key in ("mailbox", "hosts"):
        if key not in sc:
            raise LabError(f"scenario {name}: no [{key}]")
    for key in ("address", "account", "password"):
        if key not in sc["mailbox"]:
            raise LabError(f"scenario {name}: [mailbox] has no {key}")
    for hname, conf in sc["hosts"].items():
        for host in exchange.servers(conf):
            if not host.get("address", "").startswith("127."):
                raise LabError(f"scenario {name}: host {hname} needs a "
                               "127.x address (each node too)")
            if host.get("https", True) and "cert" not in host and \
                    host.get("connect") != "blackhole":
                raise LabError(f"scenario {name}: host {hname} has no cert")
            # A node may reset or answer clients without SNI on its own.
            nosni = host.get("nosni")
            if nosni is not None and nosni != "reset" and \
                    not (isinstance(nosni, dict) and "issuer" in nosni):
                raise LabError(f"scenario {name}: host {hname}: nosni is "
                               "\"reset\" or a certificate (each node too)")
        host = conf
        for table in ("paths", "http_paths"):
            for p, ep in host.get(table, {}).items():
                if not hasattr(exchange.ExchangeHandler,
                               "ep_" + ep.get("kind", "")):
                    raise LabError(f"scenario {name}: {hname} {p}: unknown "
                                   f"kind {ep.get('kind')!r}")
                if ep["kind"] == "hostile" and \
                        ep.get("behaviour") not in exchange.HOSTILE:
                    raise LabError(f"scenario {name}: {hname} {p}: unknown "
                                   f"behaviour {ep.get('behaviour')!r}")
    sc["name"] = os.path.basename(path).rsplit(".", 1)[0]
    sc["path"] = path
    return sc


def die_with_parent():
    """preexec_fn: the child gets SIGKILL when the lab runner dies."""
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def sh(*args):
    """Run a setup command; fail the lab if it fails."""
    p = subprocess.run(args, capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        raise LabError(f"{' '.join(args)}: {p.stderr.strip()}")


def wait_for(cond, what, timeout=60.0):
    """Poll cond until true, or fail the lab after timeout seconds."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise LabError(f"timed out waiting for {what}")
        time.sleep(0.02)


def udp_bound(addr, port):
    """Whether something is bound to UDP addr:port (IPv4), read from
    /proc/net/udp of this namespace. Not by trying to bind it: a test bind
    while dnsmasq starts can take the port from under it, and dnsmasq then
    exits with "Address already in use" (seen once in CI)."""
    import socket
    import struct
    # /proc/net/udp spells a local address as host-order hex of the
    # network-order address, then the port in hex: 3500007F:0035.
    want = "%08X:%04X" % (
        struct.unpack("=I", socket.inet_aton(addr))[0], port)
    with open("/proc/net/udp") as f:
        next(f)
        return any(line.split()[1] == want for line in f)


class Runner:
    """One lab run inside the namespaces: services, COMMAND, teardown."""

    def __init__(self, scenario):
        self.scenario = scenario
        self.procs = {}
        self.dns_argv = None
        self.lab = None
        self.stop_signal = None
        self.switch_requested = False

    def setup_namespace(self):
        """Private mounts, /proc, lo, a private /run, resolv.conf, hosts,
        machine id, journald configuration."""
        # Nothing mounted here may propagate to the host. In a chroot "/"
        # is no mount point and cannot be made private: refuse to run.
        if subprocess.run(["mount", "--make-rprivate", "/"],
                          capture_output=True).returncode != 0:
            die("cannot make mounts private here (is / a chroot directory "
                "rather than a mount point?); the lab would leak mounts to "
                "the host, so it does not run", 77)
        sh("mount", "-t", "proc", "-o", "nosuid,nodev,noexec", "proc",
           "/proc")
        sh("ip", "link", "set", "lo", "up")
        resolv_target = os.path.realpath("/etc/resolv.conf")
        sh("mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", "/run")
        for d in ("/run/systemd/journald.conf.d", "/run/log", LAB_DIR,
                  RUN + "/state"):
            os.makedirs(d, exist_ok=True)
        self.machine_id()
        with open(RUN + "/resolv.conf", "w") as f:
            f.write(f"nameserver {dns.ADDRESS}\noptions timeout:2 "
                    "attempts:1\n")
        if resolv_target.startswith("/run/"):
            os.makedirs(os.path.dirname(resolv_target), exist_ok=True)
            shutil.copy(RUN + "/resolv.conf", resolv_target)
        elif os.path.exists("/etc/resolv.conf"):
            sh("mount", "--bind", RUN + "/resolv.conf", "/etc/resolv.conf")
        if os.path.exists("/etc/hosts"):
            with open(RUN + "/hosts", "w") as f:
                f.write("127.0.0.1 localhost\n::1 localhost\n")
            sh("mount", "--bind", RUN + "/hosts", "/etc/hosts")
        # Keep the journal in the namespace's /run, never on the host; the
        # name sorts last so host drop-ins cannot override it.
        with open("/run/systemd/journald.conf.d/zz-contoso-lab.conf",
                  "w") as f:
            f.write("[Journal]\nStorage=volatile\nRateLimitBurst=0\n"
                    "ReadKMsg=no\nForwardToSyslog=no\nForwardToWall=no\n"
                    "ForwardToConsole=no\nForwardToKMsg=no\nAudit=no\n")

    def machine_id(self):
        """journald needs /etc/machine-id: if it is empty or invalid, bind
        a generated one over it; if it is missing, overlay /etc."""
        try:
            with open("/etc/machine-id") as f:
                if len(f.read().strip()) == 32:
                    return
        except OSError:
            pass
        mid = os.urandom(16).hex() + "\n"
        if os.path.exists("/etc/machine-id"):
            with open(RUN + "/machine-id", "w") as f:
                f.write(mid)
            sh("mount", "--bind", RUN + "/machine-id", "/etc/machine-id")
            return
        up, work = RUN + "/etc-upper", RUN + "/etc-work"
        os.makedirs(up)
        os.makedirs(work)
        with open(up + "/machine-id", "w") as f:
            f.write(mid)
        sh("mount", "-t", "overlay", "overlay", "-o",
           f"lowerdir=/etc,upperdir={up},workdir={work}", "/etc")

    def env(self):
        """The environment of services and COMMAND."""
        env = {k: v for k, v in os.environ.items() if k not in HOST_ENV}
        env.update(
            LAB_DIR=LAB_DIR, LAB_CONF=LAB_DIR + "/ewsprobed.conf",
            LAB_PASSWORD_FILE=LAB_DIR + "/lab.password",
            LAB_REQUEST_LOG=RUN + "/requests.jsonl",
            LAB_TLS_LOG=RUN + "/tls.jsonl", LAB_DNS_LOG=RUN + "/dns.log",
            LAB_RUN_DIR=RUN, LAB_STATE_DIR=RUN + "/state",
            LAB_DNS=dns.ADDRESS, LAB_SCENARIO=self.scenario["name"],
            LAB_JOURNAL_DIR="/run/log/journal", LAB_TOOLS=HERE,
            LAB_CONTOSO=os.path.join(HERE, "contoso"))
        return env

    def spawn(self, name, argv):
        """Start a service that dies with us."""
        with open(os.path.join(RUN, name + ".out"), "a") as log:
            self.procs[name] = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, env=self.env(),
                preexec_fn=die_with_parent)

    def start_dns(self):
        """(Re)start dnsmasq when the scenario's records changed."""
        argv = dns.dnsmasq_argv(self.scenario, RUN + "/dns.log")
        if argv == self.dns_argv and self.procs["dns"].poll() is None:
            return
        if "dns" in self.procs:
            self.stop("dns")
        wait_for(lambda: not udp_bound(dns.ADDRESS, 53), "port 53 free", 60)
        self.spawn("dns", argv)
        self.dns_argv = argv
        wait_for(lambda: udp_bound(dns.ADDRESS, 53) or
                 self.procs["dns"].poll() is not None, "dnsmasq")
        if self.procs["dns"].poll() is not None:
            with open(RUN + "/dns.out") as f:
                raise LabError(f"dnsmasq failed: {f.read().strip()}")

    def start_journal(self):
        """A real systemd-journald for the namespace."""
        self.spawn("journald", ["/lib/systemd/systemd-journald"])
        wait_for(lambda: os.path.exists("/run/systemd/journal/socket") or
                 self.procs["journald"].poll() is not None,
                 "systemd-journald")
        if self.procs["journald"].poll() is not None:
            with open(RUN + "/journald.out") as f:
                raise LabError(f"systemd-journald failed: {f.read()}")

    def write_material(self):
        """LAB_DIR: CAs, chains, system store, password, canary, the
        scenario; then LAB_CONF."""
        d, p = LAB_DIR, self.lab.pki
        for name in list(pkimod.CAS) + ["system-store"]:
            shutil.copy(p.path(f"{name}.pem"), f"{d}/{name}.pem")
        for hname, conf in self.scenario["hosts"].items():
            for i, host in enumerate(exchange.servers(conf)):
                if "cert" not in host:
                    continue
                # A node's own files are named by its address.
                base = hname if i == 0 else f"{hname}@{host['address']}"
                files = p.leaf(host["cert"])
                shutil.copy(files["chain"], f"{d}/{base}.chain.pem")
                shutil.copy(files["leaf"], f"{d}/{base}.pem")
        shutil.copy(self.scenario["path"], f"{d}/scenario.toml")
        pw = f"{d}/lab.password"
        if os.path.exists(pw):
            os.unlink(pw)
        fd = os.open(pw, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, (self.scenario["mailbox"]["password"] + "\n").encode())
        os.close(fd)
        if not os.path.exists(f"{d}/canary.txt"):
            with open(f"{d}/canary.txt", "w") as f:
                f.write(f"CANARY-{os.urandom(8).hex()}\n")
        self.write_conf()
        with open(RUN + "/scenario", "w") as f:
            f.write(self.scenario["name"] + "\n")

    def write_conf(self):
        """The ewsprobed configuration for this scenario's mailbox."""
        sc, d = self.scenario, LAB_DIR
        prof = sc.get("profile", {})
        lines = [
            "; ewsprobed configuration for lab scenario " + sc["name"],
            "[daemon]", "interval = 30s", "retry_interval = 10s",
            "discovery_interval = 24h", "fail_after = 3", "recover_after = 2",
            "concurrency = 8", "timeout = 10s",
            f"status_file = {RUN}/state/status.json",
            f"metrics_file = {RUN}/state/ewsprobed.prom",
            f"dns_servers = {dns.ADDRESS}", "cert_warn_days = 30",
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
        result = "ok"
        try:
            sc = load_scenario(name)
            self.lab.start(sc)
            self.scenario = sc
            self.start_dns()
            self.write_material()
        except (LabError, RuntimeError, OSError, KeyError, ValueError) as e:
            result = f"switch to {name} failed: {e}"
        with open(RUN + "/switch.done.tmp", "w") as f:
            f.write(result)
        os.rename(RUN + "/switch.done.tmp", RUN + "/switch.done")

    def reap_orphans(self):
        """As PID 1, reap zombies that are not our own children."""
        ours = {p.pid for p in self.procs.values()} | {self.cmd.pid}
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) in ours:
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    state, ppid = f.read().rsplit(")", 1)[1].split()[:2]
            except (OSError, ValueError):
                continue
            if state == "Z" and ppid == "1":
                try:
                    os.waitpid(int(entry), os.WNOHANG)
                except ChildProcessError:
                    pass

    def on_signal(self, sig, frame):
        """A stop signal: end COMMAND, then the lab."""
        if sig == signal.SIGUSR1:
            self.switch_requested = True
        elif self.stop_signal is None:
            self.stop_signal = sig

    def run(self, argv, timeout):
        """Set up, run COMMAND, tear down; return COMMAND's status."""
        for sig in STOP_SIGNALS + (signal.SIGUSR1,):
            signal.signal(sig, self.on_signal)
        self.setup_namespace()
        for name in ("requests.jsonl", "tls.jsonl", "dns.log"):
            open(os.path.join(RUN, name), "w").close()
        self.lab = exchange.Lab(pkimod.PKI(), RUN + "/requests.jsonl",
                                RUN + "/tls.jsonl")
        self.start_dns()
        self.start_journal()
        self.lab.start(self.scenario)
        self.write_material()
        with open(RUN + "/runner.pid", "w") as f:
            f.write(f"{os.getpid()}\n")
        if self.stop_signal is not None:
            return 128 + self.stop_signal
        try:
            self.cmd = subprocess.Popen(argv, env=self.env(),
                                        preexec_fn=die_with_parent)
        except OSError as e:
            print(f"contoso: cannot run {argv[0]}: {e.strerror}",
                  file=sys.stderr)
            return 127
        deadline = time.monotonic() + timeout
        next_reap = 0
        status = None
        try:
            while status is None:
                if self.switch_requested:
                    self.switch_requested = False
                    self.switch()
                if self.stop_signal is not None:
                    status = self.end_command(128 + self.stop_signal)
                    break
                if time.monotonic() > deadline:
                    print(f"contoso: COMMAND still running after {timeout}s"
                          ", killing it", file=sys.stderr)
                    status = self.end_command(124)
                    break
                try:
                    status = self.cmd.wait(timeout=0.05)
                except subprocess.TimeoutExpired:
                    pass
                if time.monotonic() > next_reap:
                    self.reap_orphans()
                    next_reap = time.monotonic() + 1
        finally:
            if self.cmd.poll() is None:
                self.cmd.kill()
                self.cmd.wait()
            self.lab.stop()
            for name in list(self.procs):
                self.stop(name)
        return status if status >= 0 else 128 - status

    def end_command(self, status):
        """SIGTERM COMMAND, SIGKILL it after 5 s; return status."""
        self.cmd.terminate()
        try:
            self.cmd.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.cmd.kill()
            self.cmd.wait()
        return status


def cmd_run(args):
    """Outside: make the namespaces, fork the runner (PID 1 inside), pass
    stop signals on to it, return its status."""
    timeout = 600.0
    if len(args) >= 2 and args[0] == "--timeout":
        timeout = float(args[1])
        args = args[2:]
    if len(args) < 3 or args[1] != "--":
        die("usage: contoso run [--timeout SECS] SCENARIO -- COMMAND...")
    if os.geteuid() != 0:
        die("the lab needs root (it creates network, mount and PID "
            "namespaces)", 77)
    try:
        scenario = load_scenario(args[0])
    except LabError as e:
        die(str(e))
    if libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID) != 0:
        die(f"unshare: {os.strerror(ctypes.get_errno())} (no namespaces "
            "here?)", 77)
    # The runner learns that we died through PR_SET_PDEATHSIG; this pipe
    # closes the gap before it is set (getppid() is 0 across PID
    # namespaces, so it cannot tell).
    alive_r, alive_w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    child = os.fork()
    if child == 0:
        status = 2
        try:
            die_with_parent()
            os.close(alive_w)
            if select.select([alive_r], [], [], 0)[0]:
                os._exit(2)
            os.close(alive_r)
            status = Runner(scenario).run(args[2:], timeout)
        except LabError as e:
            print(f"contoso: {e}", file=sys.stderr)
        except SystemExit as e:
            status = e.code if isinstance(e.code, int) else 2
        except BaseException:
            import traceback
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)
    os.close(alive_r)
    kill_at = [None]

    def forward(sig, frame):
        """Pass a stop signal to the runner; SIGKILL it 20 s later."""
        try:
            os.kill(child, sig)
        except ProcessLookupError:
            pass
        kill_at[0] = kill_at[0] or time.monotonic() + 20
        signal.alarm(21)

    def overdue(sig, frame):
        """The runner did not stop in time."""
        if kill_at[0] and time.monotonic() >= kill_at[0]:
            os.kill(child, signal.SIGKILL)

    for sig in STOP_SIGNALS:
        signal.signal(sig, forward)
    signal.signal(signal.SIGALRM, overdue)
    _, wstatus = os.waitpid(child, 0)
    code = os.waitstatus_to_exitcode(wstatus)
    return code if code >= 0 else 128 - code


def cmd_switch(name):
    """Ask the runner of this namespace to serve another scenario."""
    try:
        load_scenario(name)
        with open(RUN + "/runner.pid") as f:
            pid = int(f.read())
    except LabError as e:
        die(str(e))
    except (OSError, ValueError):
        die("switch: not inside a lab (no runner)")
    done = RUN + "/switch.done"
    if os.path.exists(done):
        os.unlink(done)
    with open(RUN + "/switch.request.tmp", "w") as f:
        f.write(name + "\n")
    os.rename(RUN + "/switch.request.tmp", RUN + "/switch.request")
    os.kill(pid, signal.SIGUSR1)
    try:
        wait_for(lambda: os.path.exists(done), "the scenario switch", 60)
    except LabError as e:
        die(str(e))
    with open(done) as f:
        result = f.read()
    if result != "ok":
        die(result)


def main():
    args = sys.argv[1:]
    if args[:1] == ["switch"] and len(args) == 2:
        cmd_switch(args[1])
        return 0
    if args[:1] == ["run"]:
        return cmd_run(args[1:])
    die("usage: contoso run [--timeout SECS] SCENARIO -- COMMAND... | "
        "contoso switch SCENARIO")


if __name__ == "__main__":
    sys.exit(main())
