"""`mtor tls create`: a realm's CA and certificates made with the openssl command, and a mutual TLS
realm, worker and client that use them."""
from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

from harness import FAST, wait_until
from mtor_client import TLS, Client


def mtor(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mtor_server.cli", *args], capture_output=True, text=True,
                          timeout=60, env={**os.environ, **FAST, **(env or {})})


def create(*args: str, env: dict[str, str] | None = None) -> str:
    made = mtor("tls", "create", *args, env=env)
    assert made.returncode == 0, made.stderr
    return made.stdout


def tls_sections(output: str) -> list[dict[str, str]]:
    """The [tls] sections printed, as TOML reads them."""
    return [tomllib.loads(block)["tls"] for block in re.findall(r"^\[tls\]\n(?:\w+ = .*\n)+", output, re.M)]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def openssl(*args: str) -> str:
    done = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_create_makes_a_ca_then_certificates_it_signs(tmp_path):
    d = tmp_path / "tls"
    out = create("alpha", "--dir", str(d))
    assert mode(d) == 0o700
    assert {p.name: mode(p) for p in d.iterdir()} == {"ca.pem": 0o644, "ca.key": 0o600,
                                                      "alpha.pem": 0o644, "alpha.key": 0o600}
    assert "made CA \"MTOR alpha CA\"" in out and "Federation: give " + str(d / "ca.pem") in out
    realm_side, caller_side = tls_sections(out)
    assert realm_side == {"cert_file": str(d / "alpha.pem"), "key_file": str(d / "alpha.key"),
                          "client_ca_file": str(d / "ca.pem"), "ca_file": str(d / "ca.pem"),
                          "client_cert_file": str(d / "alpha.pem"), "client_key_file": str(d / "alpha.key")}
    assert caller_side == {"ca_file": str(d / "ca.pem"), "client_cert_file": str(d / "alpha.pem"),
                           "client_key_file": str(d / "alpha.key")}

    assert openssl("verify", "-x509_strict", "-CAfile", str(d / "ca.pem"), str(d / "alpha.pem")).strip().endswith("OK")
    leaf = openssl("x509", "-in", str(d / "alpha.pem"), "-noout", "-text")
    assert "IP Address:127.0.0.1" in leaf and "DNS:localhost" in leaf
    assert "TLS Web Server Authentication, TLS Web Client Authentication" in leaf and "CA:FALSE" in leaf
    ca = openssl("x509", "-in", str(d / "ca.pem"), "-noout", "-text")
    assert "CN = MTOR alpha CA" in ca and "CA:TRUE" in ca and "Certificate Sign, CRL Sign" in ca

    ca_pem, alpha_pem = (d / "ca.pem").read_bytes(), (d / "alpha.pem").read_bytes()
    again = mtor("tls", "create", "alpha", "--dir", str(d))
    assert again.returncode == 2 and "alpha.pem exists; --force" in again.stderr
    assert (d / "alpha.pem").read_bytes() == alpha_pem

    out = create("beta", "--dir", str(d), "--ip", "10.1.2.3", "--dns", "realm.lan")
    assert out.startswith(f"signed by the CA {d / 'ca.pem'}")
    assert (d / "ca.pem").read_bytes() == ca_pem  # the same CA
    beta = openssl("x509", "-in", str(d / "beta.pem"), "-noout", "-ext", "subjectAltName")
    assert "IP Address:10.1.2.3, DNS:realm.lan" in beta and "127.0.0.1" not in beta
    create("alpha", "--dir", str(d), "--force")
    assert (d / "alpha.pem").read_bytes() != alpha_pem and (d / "ca.pem").read_bytes() == ca_pem

    # the default directory; mistakes before anything is made
    create("gamma", "--data-dir", str(tmp_path / "data"))
    assert mode(tmp_path / "data" / "tls") == 0o700 and (tmp_path / "data" / "tls" / "gamma.key").exists()
    bad_ip = mtor("tls", "create", "delta", "--dir", str(d), "--ip", "10.1.2")
    assert bad_ip.returncode == 2 and "--ip '10.1.2' is not an IP address" in bad_ip.stderr
    no_openssl = mtor("tls", "create", "delta", "--dir", str(d), env={"PATH": str(tmp_path / "empty")})
    assert no_openssl.returncode == 2 and "the openssl command is needed" in no_openssl.stderr
    assert not (d / "delta.pem").exists() and not [p for p in d.iterdir() if p.name.startswith(".")]


def test_a_realm_worker_and_client_use_them_for_mutual_tls(cluster, tmp_path):
    d = tmp_path / "tls"
    realm_output = create("alpha", "--dir", str(d))
    create("worker1", "--dir", str(d))
    create("client1", "--dir", str(d))
    # the realm reads the [tls] section the command printed for it
    realm_dir = tmp_path / "realm"
    realm_dir.mkdir()
    (realm_dir / "mtor.toml").write_text(re.search(r"^\[tls\]\n(?:\w+ = .*\n)+", realm_output, re.M).group(0))
    client_tls = TLS.from_files(ca=d / "ca.pem", cert=d / "client1.pem", key=d / "client1.key")
    realm = cluster.realm(name="realm", tls=client_tls)
    assert f"listening on {realm.address} with mutual TLS (" in realm.proc.output()
    cluster.worker(realm, "worker1", env={"MTOR_TLS_CA_FILE": str(d / "ca.pem"),
                                          "MTOR_TLS_CLIENT_CERT_FILE": str(d / "worker1.pem"),
                                          "MTOR_TLS_CLIENT_KEY_FILE": str(d / "worker1.key")})
    with Client(realm.address, tls=client_tls, timeout=20) as client:
        answer = client.chat("hello, certified")
    assert (answer.text, answer.worker) == ("echo: hello, certified", "worker1")


def test_two_realms_with_their_own_cas_federate_over_mutual_tls(cluster, tmp_path):
    """Per-realm certificates: A and C each make their own CA, swap ca.pem files into a trust bundle, and
    link over mutual TLS (each presents its own certificate to the other) with a peer token on top."""
    dirs = {name: tmp_path / f"tls-{name}" for name in ("A", "C")}
    for name, d in dirs.items():
        create(name, "--dir", str(d))
        create("sysop", "--dir", str(d))  # the test's own client certificate for that realm
    for name, d in dirs.items():
        other = dirs["C" if name == "A" else "A"]
        (d / "trusted.pem").write_bytes((d / "ca.pem").read_bytes() + (other / "ca.pem").read_bytes())

    def realm_env(name: str) -> dict[str, str]:
        d = dirs[name]
        return {"MTOR_REALM_NAME": name, "MTOR_TLS_CERT_FILE": str(d / f"{name}.pem"),
                "MTOR_TLS_KEY_FILE": str(d / f"{name}.key"), "MTOR_TLS_CLIENT_CA_FILE": str(d / "trusted.pem"),
                "MTOR_TLS_CA_FILE": str(d / "trusted.pem"), "MTOR_TLS_CLIENT_CERT_FILE": str(d / f"{name}.pem"),
                "MTOR_TLS_CLIENT_KEY_FILE": str(d / f"{name}.key")}

    def sysop(name: str) -> TLS:
        d = dirs[name]
        return TLS.from_files(ca=d / "ca.pem", cert=d / "sysop.pem", key=d / "sysop.key")

    a = cluster.realm(realm_env("A"), name="A", tls=sysop("A"))
    c = cluster.realm(realm_env("C"), name="C", tls=sysop("C"))
    cluster.worker(c, "c-worker", env={k: v for k, v in realm_env("C").items() if "CLIENT_" in k or "CA_FILE" in k})
    with c.admin() as admin:
        token = admin.add_peer("A").token
    with a.admin() as admin:
        admin.add_peer("C", address=f"grpcs://{c.address}", token=token)
        wait_until(lambda: admin.peers()[0].state == "up" and admin.peers()[0].capacity, 20.0, what="C up at A")
    with Client(a.address, tls=sysop("A"), timeout=20) as client:
        answer = client.chat("between two CAs")
    assert (answer.text, answer.realm, answer.worker) == ("echo: between two CAs", "C", "c-worker")
