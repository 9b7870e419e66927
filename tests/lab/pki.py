"""The lab's PKI: certificate authorities and server certificates, made with
the openssl command line and cached under tests/lab/.cache/pki/<date>/
(leaves are named by a hash of their spec; older days are pruned). A file
lock makes concurrent labs (meson runs tests in parallel) share the cache
safely.

Authorities (fixed; DNs exactly as in the incident):
  fe-root  CN=Contoso Enterprise Root CA
  fe       CN=Issuing CA for contoso,com         issues the Lync pool cert
  cas-root DC=com, DC=contoso, CN=contoso-ROOT-CA
  cas      DC=com, DC=contoso, CN=Issuing-CA for contoso   (shown as
           "CN=Issuing-CA for contoso, DC=contoso, DC=com") issues the CAS
  public-root / public   a "public" root and issuing CA PCs trust
  lookalike-root / lookalike   a CA with exactly fe's DN but another key
The "system store" (what a domain PC trusts) holds fe-root, cas-root and
public-root.

A leaf is described by a spec: issuer (fe, cas, public, lookalike), names,
and variants: expired, not_yet_valid, expiring (10 days left), sha1, sha384,
rsa1024, rsa4096, ecdsa, extra_intermediate, missing_intermediate,
root_sent.
"""
import contextlib
import datetime
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))

CAS = {
    "fe-root": ("/CN=Contoso Enterprise Root CA", None),
    "fe": ("/CN=Issuing CA for contoso,com", "fe-root"),
    "cas-root": ("/DC=com/DC=contoso/CN=contoso-ROOT-CA", None),
    "cas": ("/DC=com/DC=contoso/CN=Issuing-CA for contoso", "cas-root"),
    "public-root": ("/C=US/O=Lab Public Trust/CN=Lab Public Root CA", None),
    "public": ("/C=US/O=Lab Public Trust/CN=Lab Public TLS CA",
               "public-root"),
    "lookalike-root": ("/CN=Lookalike Root CA", None),
    "lookalike": ("/CN=Issuing CA for contoso,com", "lookalike-root"),
}
SYSTEM_STORE = ("fe-root", "cas-root", "public-root")

CA_CONF = """[ca]
default_ca = lab
[lab]
dir = {dir}
database = $dir/index.txt
serial = $dir/serial
new_certs_dir = $dir/new
certificate = $dir/{name}.pem
private_key = $dir/{name}.key
policy = anything
unique_subject = no
preserve = yes
copy_extensions = none
default_md = sha256
[anything]
commonName = optional
domainComponent = optional
countryName = optional
organizationName = optional
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = @names
[subca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[names]
{names}
"""


def _run(*args, cwd):
    """Run openssl quietly; raise with its message on failure."""
    p = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True,
                       text=True)
    if p.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args[:2])}: {p.stderr}")


@contextlib.contextmanager
def _locked(path):
    """Hold an exclusive lock on path (created if needed) for a block."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _prune(root, today):
    """Remove day directories under root older than yesterday (a lab
    started before midnight may still be using yesterday's)."""
    keep = (today, (datetime.date.today() -
                    datetime.timedelta(days=1)).isoformat())
    for name in os.listdir(root):
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", name) and name not in keep:
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)


def _stamp(dt):
    """openssl ca's date format."""
    return dt.strftime("%Y%m%d%H%M%SZ")


class PKI:
    """The lab's authorities and leaves in one cache directory."""

    def __init__(self, cache_root=None):
        day = datetime.date.today().isoformat()
        root = cache_root or os.path.join(HERE, ".cache", "pki")
        self.dir = os.path.join(root, day)
        os.makedirs(self.dir, exist_ok=True)
        self.lock = os.path.join(self.dir, ".lock")
        if cache_root is None:
            with _locked(os.path.join(root, ".lock")):
                _prune(root, day)
        with _locked(self.lock):
            for name in CAS:
                self._ca(name)
            bundle = "".join(self.read(f"{n}.pem") for n in SYSTEM_STORE)
            self._write("system-store.pem", bundle)

    def path(self, name):
        """Path of a file in the PKI directory."""
        return os.path.join(self.dir, name)

    def read(self, name):
        """Text of a file in the PKI directory."""
        with open(self.path(name)) as f:
            return f.read()

    def _write(self, name, text):
        """Write a file in the PKI directory atomically."""
        tmp = self.path(name + ".tmp")
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, self.path(name))

    def _cadir(self, name):
        """The openssl ca working directory of authority name."""
        d = self.path(f"ca-{name}")
        os.makedirs(os.path.join(d, "new"), exist_ok=True)
        for f, init in (("index.txt", ""), ("serial", "1000\n")):
            if not os.path.exists(os.path.join(d, f)):
                with open(os.path.join(d, f), "w") as fh:
                    fh.write(init)
        return d

    def _sign(self, issuer, csr, out, ext, names="DNS.1 = unused",
              start=None, end=None, md="sha256"):
        """Sign csr with authority issuer through openssl ca."""
        d = self._cadir(issuer)
        conf = os.path.join(d, "ca.conf")
        with open(conf, "w") as f:
            f.write(CA_CONF.format(dir=d, name=issuer, names=names))
        for n in ("pem", "key"):
            target = os.path.join(d, f"{issuer}.{n}")
            if not os.path.exists(target):
                os.symlink(self.path(f"{issuer}.{n}"), target)
        now = datetime.datetime.utcnow()
        start = start or now - datetime.timedelta(days=1)
        end = end or now + datetime.timedelta(days=365)
        _run("ca", "-batch", "-notext", "-preserveDN", "-config", conf,
             "-in", csr, "-out", out, "-extensions", ext, "-md", md,
             "-startdate", _stamp(start), "-enddate", _stamp(end), cwd=d)

    def _ca(self, name):
        """Make authority name (and its issuer first) unless cached."""
        subj, parent = CAS[name]
        pem = self.path(f"{name}.pem")
        if os.path.exists(pem):
            return
        key = self.path(f"{name}.key")
        _run("genpkey", "-algorithm", "RSA", "-pkeyopt",
             "rsa_keygen_bits:2048", "-out", key, cwd=self.dir)
        if parent is None:
            _run("req", "-x509", "-new", "-key", key, "-subj", subj, "-days",
                 "3650", "-sha256", "-addext",
                 "basicConstraints=critical,CA:TRUE", "-addext",
                 "keyUsage=critical,keyCertSign,cRLSign", "-out", pem + ".tmp",
                 cwd=self.dir)
        else:
            self._ca(parent)
            csr = self.path(f"{name}.csr")
            _run("req", "-new", "-key", key, "-subj", subj, "-out", csr,
                 cwd=self.dir)
            self._sign(parent, csr, pem + ".tmp", "subca",
                       end=datetime.datetime.utcnow() +
                       datetime.timedelta(days=3000))
        os.rename(pem + ".tmp", pem)

    def leaf(self, spec):
        """Make (or reuse) a leaf; return {key, chain, leaf} paths.

        chain is what the server sends: leaf first, then intermediates as
        the variants say.
        """
        issuer = spec.get("issuer", "fe")
        names = list(spec["names"])
        variants = sorted(spec.get("variant", []))
        tag = hashlib.sha256(json.dumps([issuer, names, variants]).encode()
                             ).hexdigest()[:16]
        out = {k: self.path(f"leaf-{tag}.{k}.pem")
               for k in ("key", "chain", "leaf")}
        if os.path.exists(out["chain"]):
            return out
        with _locked(self.lock):
            if not os.path.exists(out["chain"]):
                self._make_leaf(issuer, names, variants, tag, out)
        return out

    def _make_leaf(self, issuer, names, variants, tag, out):
        """Generate the key, certificate and served chain of one leaf."""
        if "rsa1024" in variants or "rsa4096" in variants:
            bits = "1024" if "rsa1024" in variants else "4096"
            _run("genpkey", "-algorithm", "RSA", "-pkeyopt",
                 f"rsa_keygen_bits:{bits}", "-out", out["key"], cwd=self.dir)
        elif "ecdsa" in variants:
            _run("genpkey", "-algorithm", "EC", "-pkeyopt",
                 "ec_paramgen_curve:P-256", "-out", out["key"], cwd=self.dir)
        else:
            _run("genpkey", "-algorithm", "RSA", "-pkeyopt",
                 "rsa_keygen_bits:2048", "-out", out["key"], cwd=self.dir)
        signer = issuer
        chain_cas = [issuer]
        if "extra_intermediate" in variants:
            signer = f"{issuer}-policy"
            if not os.path.exists(self.path(f"{signer}.pem")):
                key = self.path(f"{signer}.key")
                _run("genpkey", "-algorithm", "RSA", "-pkeyopt",
                     "rsa_keygen_bits:2048", "-out", key, cwd=self.dir)
                csr = self.path(f"{signer}.csr")
                _run("req", "-new", "-key", key, "-subj",
                     f"/CN=Contoso Policy CA ({issuer})", "-out", csr,
                     cwd=self.dir)
                self._sign(issuer, csr, self.path(f"{signer}.pem"), "subca")
            chain_cas = [signer, issuer]
        csr = self.path(f"leaf-{tag}.csr")
        _run("req", "-new", "-key", out["key"], "-subj", f"/CN={names[0]}",
             "-out", csr, cwd=self.dir)
        now = datetime.datetime.utcnow()
        start = end = None
        if "expired" in variants:
            start = now - datetime.timedelta(days=400)
            end = now - datetime.timedelta(days=30)
        elif "not_yet_valid" in variants:
            start = now + datetime.timedelta(days=30)
            end = now + datetime.timedelta(days=400)
        elif "expiring" in variants:
            end = now + datetime.timedelta(days=10)
        md = "sha1" if "sha1" in variants else (
            "sha384" if "sha384" in variants else "sha256")
        alt = "\n".join(f"DNS.{i + 1} = {n}" for i, n in enumerate(names))
        self._sign(signer, csr, out["leaf"], "leaf", names=alt, start=start,
                   end=end, md=md)
        chain = self.read(out["leaf"])
        if "missing_intermediate" not in variants:
            chain += "".join(self.read(f"{c}.pem") for c in chain_cas)
        if "root_sent" in variants:
            chain += self.read(f"{CAS[issuer][1]}.pem")
        with open(out["chain"] + ".tmp", "w") as f:
            f.write(chain)
        os.rename(out["chain"] + ".tmp", out["chain"])
