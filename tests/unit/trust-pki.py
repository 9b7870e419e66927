#!/usr/bin/python3
"""Make the certificates test-trust needs with the lab's PKI (pki.py) in
DIR, and write DIR/index: one "name path-of-chain" line per leaf, plus the
authorities as "ca-NAME path"."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lab"))
import pki  # noqa: E402

d = sys.argv[1]
p = pki.PKI(d)
leaves = {
    "incident": {"issuer": "cas", "names": ["casarray.contoso.com"]},
    "reissued": {"issuer": "fe", "names": ["casarray.contoso.com"]},
    "lookalike": {"issuer": "lookalike", "names": ["casarray.contoso.com"]},
    "fe-pool": {"issuer": "fe", "names": ["lyncpool.contoso.com"]},
    "fe-pool-renewed": {"issuer": "cas", "names": ["lyncpool.contoso.com"]},
    "expired": {"issuer": "fe", "names": ["casarray.contoso.com"],
                "variant": ["expired"]},
    "not-yet-valid": {"issuer": "fe", "names": ["casarray.contoso.com"],
                      "variant": ["not_yet_valid"]},
    "wrong-name": {"issuer": "fe", "names": ["owa.contoso.com"]},
    "wildcard": {"issuer": "fe", "names": ["*.contoso.com"]},
    "sha384": {"issuer": "fe", "names": ["casarray.contoso.com"],
               "variant": ["sha384"]},
    "rsa4096": {"issuer": "fe", "names": ["casarray.contoso.com"],
                "variant": ["rsa4096"]},
    "ecdsa": {"issuer": "fe", "names": ["casarray.contoso.com"],
              "variant": ["ecdsa"]},
    "extra-intermediate": {"issuer": "fe", "names": ["casarray.contoso.com"],
                           "variant": ["extra_intermediate"]},
    "missing-intermediate": {"issuer": "fe",
                             "names": ["casarray.contoso.com"],
                             "variant": ["missing_intermediate"]},
    "root-sent": {"issuer": "fe", "names": ["casarray.contoso.com"],
                  "variant": ["root_sent"]},
    "expiring": {"issuer": "fe", "names": ["casarray.contoso.com"],
                 "variant": ["expiring"]},
}
with open(os.path.join(d, "index"), "w") as f:
    for name, spec in leaves.items():
        f.write(f"{name} {p.leaf(spec)['chain']}\n")
    for name in pki.CAS:
        f.write(f"ca-{name} {p.path(name + '.pem')}\n")
    f.write(f"system-store {p.path('system-store.pem')}\n")
