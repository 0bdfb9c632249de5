"""`mtor tls create`: a realm's own CA and the certificates it signs, made with the openssl command.

A directory holds one CA (`ca.pem`, `ca.key`), made on first use, and any number of leaf
certificates (`NAME.pem`, `NAME.key`) signed by it. Every leaf is good for serverAuth and clientAuth,
so the one certificate is a realm's server certificate and its client certificate (towards peer
realms, for its local worker), or a worker's or a client's for mutual TLS.

Files are made in a private temporary directory inside the target and moved into place when
complete: a key is never readable by others, and a failed run leaves nothing half made.
"""
from __future__ import annotations

import ipaddress
import os
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mtor_common.config import _toml

CA_DAYS = 3650
LEAF_DAYS = 825
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_DNS_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_NEW_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


@dataclass(frozen=True)
class Made:
    """What `create` made (absolute paths)."""

    name: str
    directory: Path
    ca_cert: Path
    ca_key: Path
    ca_made: bool
    cert: Path
    key: Path
    subject_alt_names: list[str]
    days: int


def _check_dns(name: str) -> str:
    labels = name[2:].split(".") if name.startswith("*.") else name.split(".")
    if len(name) > 253 or not all(_DNS_LABEL.fullmatch(label) for label in labels):
        raise ValueError(f"--dns {name!r} is not a DNS name")
    return name


def default_names() -> tuple[list[str], list[str]]:
    """IP 127.0.0.1; DNS localhost and this machine's hostname (when it is a usable DNS name)."""
    dns = ["localhost"]
    host = socket.gethostname()
    try:
        if host and host.lower() != "localhost":
            dns.append(_check_dns(host))
    except ValueError:
        pass
    return ["127.0.0.1"], dns


def subject_alt_names(ips: list[str] | None, dns: list[str] | None) -> list[str]:
    """`IP:...`, `DNS:...` entries: the given ones, or the defaults when neither kind is given."""
    if not ips and not dns:
        ips, dns = default_names()
    out: list[str] = []
    for ip in ips or []:
        try:
            out.append(f"IP:{ipaddress.ip_address(ip)}")
        except ValueError:
            raise ValueError(f"--ip {ip!r} is not an IP address") from None
    out += [f"DNS:{_check_dns(name)}" for name in dns or []]
    return list(dict.fromkeys(out))


def _openssl(where: Path, *args: str) -> None:
    try:
        done = subprocess.run(["openssl", *args], cwd=where, capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        raise ValueError("the openssl command is needed to make certificates, and it is not on PATH "
                         "(install the openssl package)") from None
    if done.returncode != 0:
        detail = " ".join(done.stderr.split())[-400:] or f"exit status {done.returncode}"
        raise ValueError(f"openssl {args[0]} failed: {detail}")


def _make_ca(work: Path, realm: str, days: int) -> None:
    (work / "ca.cnf").write_text(
        "[req]\ndistinguished_name = dn\nprompt = no\n"
        f"[dn]\nCN = MTOR {realm} CA\n"
        "[ext]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n"
        "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n")
    _openssl(work, "req", "-x509", "-config", "ca.cnf", "-extensions", "ext", *_NEW_KEY, "-keyout", "ca.key",
             "-out", "ca.pem", "-days", str(days), "-set_serial", str(secrets.randbits(120)))


def _make_leaf(work: Path, name: str, ca_cert: Path, ca_key: Path, sans: list[str], days: int) -> None:
    (work / "leaf.cnf").write_text(
        f"[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = {name}\n"
        f"[ext]\nsubjectAltName = {','.join(sans)}\nextendedKeyUsage = serverAuth,clientAuth\n"
        "basicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature,keyAgreement\n"
        "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n")
    _openssl(work, "req", "-new", "-config", "leaf.cnf", *_NEW_KEY, "-keyout", "leaf.key", "-out", "leaf.csr")
    _openssl(work, "x509", "-req", "-in", "leaf.csr", "-CA", str(ca_cert), "-CAkey", str(ca_key),
             "-set_serial", str(secrets.randbits(120)), "-days", str(days), "-out", "leaf.pem",
             "-extfile", "leaf.cnf", "-extensions", "ext")


def _install(source: Path, target: Path, mode: int) -> None:
    source.chmod(mode)
    os.replace(source, target)


def create(name: str, directory: Path, *, ips: list[str] | None = None, dns: list[str] | None = None,
           days: int = LEAF_DAYS, ca_days: int = CA_DAYS, force: bool = False) -> Made:
    """Make `directory/NAME.pem` and `NAME.key` signed by the directory's CA, making the CA first
    (named after NAME) if the directory has none. ValueError for every mistake, before any file changes."""
    if not _NAME.fullmatch(name) or name.lower() == "ca":
        raise ValueError(f"NAME {name!r}: use letters, digits, '.', '_' and '-' (up to 64, not 'ca'); it names "
                         "the files and the certificate")
    if days < 1 or ca_days < 1:
        raise ValueError("--days must be at least 1")
    sans = subject_alt_names(ips, dns)
    if shutil.which("openssl") is None:
        raise ValueError("the openssl command is needed to make certificates, and it is not on PATH "
                         "(install the openssl package)")
    directory = Path(os.path.abspath(directory.expanduser()))
    ca_cert, ca_key = directory / "ca.pem", directory / "ca.key"
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    if ca_cert.exists() != ca_key.exists():
        have, lacks = (ca_cert, ca_key) if ca_cert.exists() else (ca_key, ca_cert)
        raise ValueError(f"{directory} has {have.name} but no {lacks.name}: restore it, or move {have.name} "
                         "away to make a new CA")
    existing = [p for p in (cert, key) if p.exists()]
    if existing and not force:
        raise ValueError(f"{existing[0]} exists; --force replaces it with a new key and certificate")
    if not directory.exists():
        directory.mkdir(parents=True)
        directory.chmod(0o700)
    ca_made = not ca_cert.exists()
    work = Path(tempfile.mkdtemp(prefix=".mtor-tls-", dir=directory))  # mode 0700
    try:
        if ca_made:
            _make_ca(work, name, ca_days)
        _make_leaf(work, name, work / "ca.pem" if ca_made else ca_cert, work / "ca.key" if ca_made else ca_key,
                   sans, days)
        if ca_made:  # the key first: ca.pem present means the CA is complete
            _install(work / "ca.key", ca_key, 0o600)
            _install(work / "ca.pem", ca_cert, 0o644)
        _install(work / "leaf.key", key, 0o600)
        _install(work / "leaf.pem", cert, 0o644)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return Made(name, directory, ca_cert, ca_key, ca_made, cert, key, sans, days)


def report(made: Made) -> str:
    """What was made, and the [tls] settings that use it."""
    def section(**settings: Path) -> str:
        return "[tls]\n" + "".join(f"{k} = {_toml(str(v))}\n" for k, v in settings.items())

    ca = (f"made CA \"MTOR {made.name} CA\" ({CA_DAYS} days): {made.ca_cert}, {made.ca_key}" if made.ca_made
          else f"signed by the CA {made.ca_cert}")
    return (
        f"{ca}\n"
        f"made {made.cert}, {made.key} ({', '.join(made.subject_alt_names)}; server and client; {made.days} days)\n"
        "\n# mtor.toml of a realm serving with it; client_ca_file: callers need a certificate from this CA\n"
        "# (mutual TLS); ca_file and client_*: its local worker and its calls to peer realms\n"
        + section(cert_file=made.cert, key_file=made.key, client_ca_file=made.ca_cert, ca_file=made.ca_cert,
                  client_cert_file=made.cert, client_key_file=made.key)
        + "\n# mtor.toml of a worker or an mtor client presenting it to a realm of this CA (client_*: mutual TLS)\n"
        + section(ca_file=made.ca_cert, client_cert_file=made.cert, client_key_file=made.key)
        + f"\nFederation: give {made.ca_cert} to each peer realm's sysop; put theirs and yours in one bundle\n"
          f"(cat {made.ca_cert} their-ca.pem > {made.directory / 'trusted.pem'}) and point ca_file and\n"
          "client_ca_file at it; they do the same.\n")
