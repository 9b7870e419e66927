"""Shared helpers for ewsprobed's integration tests (Python stdlib only).

Owns: temporary test directories, writing configurations and credential
files, a NOTIFY_SOCKET listener, and bounded waits. Every wait has a timeout;
nothing here sleeps without one.
"""
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

PASSWORD_CANARY = "Canary-Pa55w0rd-9f3e1c"
# The result documents' schema (the status file, --once --json, status --json).
RESULT_SCHEMA = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
        __file__)))), "docs", "result-schema.json")


class TestFailure(Exception):
    """An assertion about the daemon's behaviour did not hold."""


class Skip(Exception):
    """The environment cannot run this test."""


def check(cond, what):
    """Fail the test with `what` unless cond holds."""
    if not cond:
        raise TestFailure(what)


def tempdir():
    """Make a private temporary directory for one test."""
    return tempfile.mkdtemp(prefix="ewsprobed-test-")


def write_file(path, text, mode=0o644):
    """Write text to path with the given mode."""
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def basic_config(d, extra_mailbox=""):
    """A minimal valid configuration in d with a 0600 credential file."""
    cred = write_file(os.path.join(d, "lab.password"),
                      PASSWORD_CANARY + "\n", 0o600)
    # DNS goes to a closed loopback port: nothing leaves the machine.
    return f"""[daemon]
interval = 5m
status_file =
metrics_file =
dns_servers = 127.0.0.1:9

[profile lync-phone-edition]
frontend = lyncpool.contoso.com

[mailbox lab]
address = lab@contoso.com
account = CONTOSO\\lab
credential = {cred}
{extra_mailbox}"""


class NotifyListener:
    """An AF_UNIX datagram socket standing in for systemd's NOTIFY_SOCKET."""

    def __init__(self, d):
        self.path = os.path.join(d, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.messages = []

    def wait_for(self, key, timeout=60.0):
        """Wait until a datagram containing line `key` arrives; return it."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            check(left > 0, f"no {key!r} from the daemon within {timeout}s; "
                  f"got {self.messages!r}")
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(4096).decode()
            except socket.timeout:
                continue
            self.messages.append(data)
            if any(line == key or line.startswith(key)
                   for line in data.split("\n")):
                return data

    def close(self):
        """Close and remove the socket."""
        self.sock.close()
        os.unlink(self.path)


def wait_exit(proc, timeout):
    """Wait for proc to exit within timeout seconds; return its status."""
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise TestFailure(f"daemon did not exit within {timeout}s")


def run_in_lab(source, scenario, script, *args):
    """Run `script args...` with this Python inside a lab of scenario;
    skip when the lab cannot run here, fail with the output otherwise."""
    contoso = os.path.join(source, "tests", "lab", "contoso")
    p = subprocess.run([contoso, "run", "--timeout", "240", scenario, "--",
                        sys.executable, script, *args], capture_output=True,
                       text=True, timeout=300)
    if p.returncode == 77:
        raise Skip(p.stderr.strip())
    check(p.returncode == 0, f"{scenario}:\n{p.stdout}{p.stderr}")


def run_inside(name, fn, *args):
    """The inside half of a lab test: run fn(*args) in the lab that
    run_in_lab started, print why it failed, and exit 0 or 1."""
    try:
        fn(*args)
    except TestFailure as e:
        print(f"not ok - {name}: {e}")
        sys.exit(1)
    sys.exit(0)


def lab_args():
    """The outside half's arguments (EWSPROBED SOURCE) as absolute paths;
    exits 77 (skipped) unless root, which the lab needs."""
    ewsprobed = os.path.abspath(sys.argv[1])
    source = os.path.abspath(sys.argv[2])
    if os.geteuid() != 0:
        print("the lab needs root: skipped")
        sys.exit(77)
    return ewsprobed, source


def run_tests(tests):
    """Run test functions, print a summary, exit 0 only if all passed."""
    failed = skipped = 0
    for t in tests:
        try:
            t()
            print(f"ok - {t.__name__}")
        except Skip as e:
            skipped += 1
            print(f"ok - {t.__name__} # SKIP {e}")
        except TestFailure as e:
            failed += 1
            print(f"not ok - {t.__name__}: {e}")
    print(f"{len(tests) - failed - skipped} passed, {failed} failed, "
          f"{skipped} skipped")
    sys.exit(1 if failed else (77 if skipped == len(tests) else 0))


def lab_status():
    """Inside the lab: the daemon's status file as JSON (it is always
    whole), or None before the first write."""
    path = os.path.join(os.environ["LAB_STATE_DIR"], "status.json")
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def lab_journal(msgid):
    """Inside the lab: journal entries with this MESSAGE_ID, as dicts."""
    p = subprocess.run(["journalctl", "--no-pager", "-o", "json",
                        f"MESSAGE_ID={msgid}"], capture_output=True,
                       text=True, timeout=30)
    return [json.loads(line) for line in p.stdout.splitlines()
            if line.startswith("{")]


@contextlib.contextmanager
def lab_daemon(ewsprobed, path, env=None, stderr_name="stderr"):
    """Run the daemon on configuration path, its stderr in LAB_STATE_DIR
    (stderr_name; None: ours); at the end of the block stop it with
    SIGTERM, which it must obey with exit status 0."""
    err = None
    if stderr_name is not None:
        err = open(os.path.join(os.environ["LAB_STATE_DIR"], stderr_name),
                   "w")
    d = subprocess.Popen([ewsprobed, "-f", path], env=env, stderr=err)
    try:
        yield d
        d.send_signal(signal.SIGTERM)
        check(d.wait(timeout=30) == 0, "exit status")
    finally:
        if d.poll() is None:
            d.kill()
            d.wait()
        if err is not None:
            err.close()


def lab_conf_mailboxes(daemon, mailboxes, name="scale.conf"):
    """Inside the lab: LAB_CONF with [daemon] keys replaced or added and
    mailboxes {name: EWS URL} (account CONTOSO\\lab) instead of the lab's;
    written atomically to LAB_STATE_DIR/name, whose path is returned."""
    with open(os.environ["LAB_CONF"]) as f:
        base = f.read()
    lines = base[:base.index("[mailbox lab]")].split("\n")
    for key, value in daemon.items():
        lines = [line for line in lines if not line.startswith(key + " =")]
        lines.insert(lines.index("[daemon]") + 1, f"{key} = {value}")
    text = "\n".join(lines) + "".join(
        f"\n[mailbox {box}]\naddress = {box}@contoso.com\n"
        "account = CONTOSO\\lab\n"
        f"credential = {os.environ['LAB_PASSWORD_FILE']}\n"
        f"ews_internal_url = {url}\n" for box, url in mailboxes.items())
    path = os.path.join(os.environ["LAB_STATE_DIR"], name)
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)
    return path


def schema_errors(doc):
    """How doc breaks docs/result-schema.json: one line per error, none
    when it conforms. Raises Skip without python3-jsonschema (which
    tests/setup-debian installs)."""
    try:
        import jsonschema
    except ImportError:
        raise Skip("no python3-jsonschema (tests/setup-debian installs it)")
    with open(RESULT_SCHEMA) as f:
        schema = json.load(f)
    v = jsonschema.Draft202012Validator(schema)
    return [f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message}"
            for e in v.iter_errors(doc)]


def result_doc(text):
    """A result document (--once --json, the status file) parsed, and
    checked against the schema where python3-jsonschema is installed."""
    doc = json.loads(text)
    try:
        errors = schema_errors(doc)
    except Skip:
        return doc
    check(not errors, "not schema 1: " + "; ".join(errors[:5]))
    return doc


def run_steps(run):
    """Every step of a run (a target's last_run), in order: Autodiscover,
    the Front End, then each URL."""
    parts = [run["autodiscover"], run["frontend"]] + run["urls"]
    return [s for p in parts if p is not None for s in p["steps"]]
