"""TLS and mutual TLS between the realm, its workers and its callers, with
certificates made by the openssl command for 127.0.0.1."""
from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest
from harness import FAST, Realm, spawn, start_realm, wait_until
from mtor_client import TLS, AsyncClient, Client, Unavailable
from mtor_client.admin import AdminClient
from mtor_client.channels import split_target

from mtor_common.address import split_address
from mtor_common.config import ConfigError, TlsSection
from mtor_common.tls import client_tls, server_credentials, server_mode

SERVER_EXT = "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n"
CLIENT_EXT = "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n"


@dataclass(frozen=True)
class Certs:
    """PEM files: a CA, a server certificate it signed for 127.0.0.1, a client
    certificate it signed, and a second CA that signed nothing of ours."""

    ca: str
    server_cert: str
    server_key: str
    client_cert: str
    client_key: str
    other_ca: str


def _openssl(where: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=where, check=True, capture_output=True, timeout=30)


def _new_key_args(name: str) -> list[str]:
    return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", f"{name}.key"]


def _make_ca(where: Path, name: str) -> None:
    _openssl(where, "req", "-x509", *_new_key_args(name), "-out", f"{name}.pem", "-days", "2",
             "-subj", f"/CN=MTOR test {name}", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")


def _make_leaf(where: Path, name: str, ca: str, extensions: str, serial: int) -> None:
    (where / f"{name}.ext").write_text(extensions)
    _openssl(where, "req", *_new_key_args(name), "-out", f"{name}.csr", "-subj", f"/CN=mtor-{name}")
    _openssl(where, "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
             "-set_serial", str(serial), "-days", "2", "-out", f"{name}.pem", "-extfile", f"{name}.ext")


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    where = tmp_path_factory.mktemp("certs")
    _make_ca(where, "ca")
    _make_ca(where, "other-ca")
    _make_leaf(where, "server", "ca", SERVER_EXT, 1)
    _make_leaf(where, "client", "ca", CLIENT_EXT, 2)
    p = lambda name: str(where / name)  # noqa: E731
    return Certs(p("ca.pem"), p("server.pem"), p("server.key"), p("client.pem"), p("client.key"), p("other-ca.pem"))


def server_env(certs: Certs, *, mutual: bool = False) -> dict[str, str]:
    env = {"MTOR_TLS_CERT_FILE": certs.server_cert, "MTOR_TLS_KEY_FILE": certs.server_key}
    return {**env, "MTOR_TLS_CLIENT_CA_FILE": certs.ca} if mutual else env


def client_env(certs: Certs, *, with_cert: bool = False) -> dict[str, str]:
    env = {"MTOR_TLS_CA_FILE": certs.ca}
    if with_cert:
        env |= {"MTOR_TLS_CLIENT_CERT_FILE": certs.client_cert, "MTOR_TLS_CLIENT_KEY_FILE": certs.client_key}
    return env


def mtor(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mtor_server.cli", *args], capture_output=True, text=True,
                          timeout=60, env={**os.environ, **FAST, **(env or {})})


@pytest.fixture(scope="module")
def tls_realm(certs: Certs, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Realm]:
    """One TLS realm (no mutual TLS, no workers) for the tests that only call it."""
    realm = start_realm(tmp_path_factory.mktemp("tls-realm"), server_env(certs), tls=TLS.from_files(ca=certs.ca))
    try:
        yield realm
    finally:
        realm.proc.popen.kill()
        realm.proc.popen.wait(10)


# -- with real processes --

def test_a_tls_realm_serves_clients_through_a_worker_that_connects_over_tls(cluster, certs):
    realm = cluster.realm(server_env(certs), tls=TLS.from_files(ca=certs.ca))
    assert f"listening on {realm.address} with TLS (" in realm.proc.output()
    worker = cluster.worker(realm, "w1", env=client_env(certs))  # waits until Describe counts it
    assert "reaching the realm over TLS" in worker.output()
    tls = TLS.from_files(ca=certs.ca)
    with Client(realm.address, tls=tls, timeout=20) as client:
        assert client.chat("hello over tls").text == "echo: hello over tls"

    async def ask() -> str:
        async with AsyncClient(realm.address, tls=tls, timeout=20) as client:
            return (await client.chat("async over tls")).text

    assert asyncio.run(ask()) == "echo: async over tls"
    # the realm's other server, the metrics endpoint, speaks TLS with the same certificate
    url = re.search(r"metrics on (\S+)", realm.proc.output()).group(1)
    assert url.startswith("https://127.0.0.1:")
    with urllib.request.urlopen(url, context=ssl.create_default_context(cafile=certs.ca), timeout=10) as reply:
        assert "mtor_intents_total" in reply.read().decode()
    with pytest.raises((urllib.error.URLError, ConnectionError)):  # no metrics in clear
        urllib.request.urlopen(url.replace("https://", "http://"), timeout=5)


def test_a_plaintext_client_is_refused_and_the_port_speaks_only_tls(tls_realm, certs):
    with Client(tls_realm.address, timeout=5) as client, pytest.raises(Unavailable):
        client.describe()
    host, port = split_address(tls_realm.address)
    # A plaintext HTTP/2 client's preface: a plaintext gRPC server would answer with a SETTINGS frame.
    with socket.create_connection((host, port), timeout=5) as raw:
        raw.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]))
        reply = _read_until_closed(raw)
    assert not (len(reply) >= 9 and reply[3] == 4), reply[:32]
    # The same port completes a TLS handshake with the certificate made for 127.0.0.1.
    context = ssl.create_default_context(cafile=certs.ca)
    context.set_alpn_protocols(["h2"])
    with socket.create_connection((host, port), timeout=5) as raw, \
            context.wrap_socket(raw, server_hostname=host) as tls_socket:
        assert ("IP Address", "127.0.0.1") in tls_socket.getpeercert()["subjectAltName"]


def _read_until_closed(raw: socket.socket) -> bytes:
    data = b""
    try:
        while chunk := raw.recv(4096):
            data += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return data


def test_a_client_that_does_not_trust_the_realms_ca_is_refused(tls_realm, certs):
    # a CA that signed nothing of the realm's, then the system's roots (grpcs:// alone)
    for target, tls in ((tls_realm.address, TLS.from_files(ca=certs.other_ca)), (f"grpcs://{tls_realm.address}", None)):
        with Client(target, tls=tls, timeout=5) as client, pytest.raises(Unavailable) as refused:
            client.describe()
        assert "CERTIFICATE_VERIFY_FAILED" in str(refused.value)  # refused for trust, not for want of a server


def test_the_admin_client_works_over_tls(tls_realm):
    with tls_realm.admin() as admin:  # the harness's AdminClient, given the realm's CA
        admin.create_user("alice")
        assert "alice" in [u.name for u in admin.users()]
    with AdminClient(tls_realm.address, token="x", timeout=5) as plaintext, pytest.raises(Unavailable):
        plaintext.users()


def test_the_mtor_command_reads_the_tls_client_settings(tls_realm, certs, tmp_path):
    no_config = tmp_path / "no-such-dir"
    args = ("status", "--realm", tls_realm.address, "--data-dir", str(no_config))
    from_env = mtor(*args, env=client_env(certs))
    assert from_env.returncode == 0, from_env.stderr
    assert from_env.stdout.startswith("realm '")
    assert not no_config.exists()  # a client command writes no config

    # mtor.toml's [tls] alone is read: a stale key elsewhere (a realm setting) does not matter here
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "mtor.toml").write_text(f'[tls]\nca_file = "{certs.ca}"\n\n[queue]\nno_such_key = 1\n')
    from_file = mtor("status", "--realm", tls_realm.address, "--data-dir", str(data_dir))
    assert from_file.returncode == 0, from_file.stderr

    plaintext = mtor(*args)
    assert plaintext.returncode == 1 and "UNAVAILABLE" in plaintext.stderr
    contradiction = mtor("status", "--realm", f"grpc://{tls_realm.address}", "--data-dir", str(no_config),
                         env=client_env(certs))
    assert contradiction.returncode == 2
    assert "written as plaintext but TLS material was given" in contradiction.stderr


def test_mutual_tls_admits_only_clients_and_workers_with_a_certificate(cluster, certs):
    with_cert = TLS.from_files(ca=certs.ca, cert=certs.client_cert, key=certs.client_key)
    realm = cluster.realm(server_env(certs, mutual=True), tls=with_cert)
    assert f"listening on {realm.address} with mutual TLS (" in realm.proc.output()
    with Client(realm.address, tls=TLS.from_files(ca=certs.ca), timeout=5) as anonymous, \
            pytest.raises(Unavailable):
        anonymous.describe()

    stranger = cluster.worker(realm, "stranger", env=client_env(certs), wait=False)
    wait_until(lambda: re.search(r"realm at \S+ unavailable", stranger.output()), 30,
               what="the worker without a certificate to be refused")
    assert stranger.alive()  # it keeps trying ...
    assert realm.workers() == 0  # ... but never joins

    cluster.worker(realm, "member", env=client_env(certs, with_cert=True))
    realm.wait_workers(1)  # the member alone
    with Client(realm.address, tls=with_cert, timeout=20) as client:
        answer = client.chat("hello, mutually")
    assert answer.text == "echo: hello, mutually" and answer.worker == "member"
    url = re.search(r"metrics on (\S+)", realm.proc.output()).group(1)
    with pytest.raises((urllib.error.URLError, ssl.SSLError, ConnectionError)):  # no client certificate
        urllib.request.urlopen(url, context=ssl.create_default_context(cafile=certs.ca), timeout=5).read()
    scraper = ssl.create_default_context(cafile=certs.ca)
    scraper.load_cert_chain(certs.client_cert, certs.client_key)
    with urllib.request.urlopen(url, context=scraper, timeout=10) as reply:
        assert "mtor_workers" in reply.read().decode()


def test_a_half_configured_realm_refuses_to_start_naming_the_missing_setting(tmp_path, certs):
    proc = spawn(["realm", "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path)], tmp_path / "realm.log",
                 {"MTOR_TLS_CERT_FILE": certs.server_cert})
    assert proc.popen.wait(30) == 2
    output = proc.output()
    assert "tls.cert_file is set but tls.key_file is empty" in output
    assert "listening" not in output and "Traceback" not in output


def test_up_with_tls_serves_through_its_local_worker(tmp_path, certs):
    env = {**server_env(certs), **client_env(certs)}
    proc = spawn(["up", "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "data"), "--backend", "echo"],
                 tmp_path / "up.log", env)
    try:
        address = wait_until(lambda: (m := re.search(r"listening on (\S+) with TLS", proc.output())) and m.group(1),
                             20, what="the realm")
        realm = Realm(proc, str(address), tmp_path / "data", tls=TLS.from_files(ca=certs.ca))
        wait_until(lambda: realm.workers() == 1, 30, interval=0.1, what="the local worker to join over TLS")
        answer = mtor("chat", "are you there", "--realm", str(address), "--data-dir", str(tmp_path / "data"),
                      env=client_env(certs))
        assert answer.returncode == 0, answer.stderr
        assert answer.stdout.strip() == "echo: are you there"
        proc.popen.send_signal(signal.SIGTERM)
        assert proc.popen.wait(30) == 0, proc.output()
    finally:
        if proc.alive():
            os.killpg(proc.popen.pid, signal.SIGKILL)  # the realm and its worker (own session)
            proc.popen.wait(10)


# -- the settings and the SDK, in process --

@pytest.mark.parametrize("settings,build,message", [
    ({"cert_file": "<CERT>"}, server_credentials, "tls.cert_file is set but tls.key_file is empty"),
    ({"key_file": "<KEY>"}, server_credentials, "tls.key_file is set but tls.cert_file is empty"),
    ({"client_ca_file": "<CA>"}, server_credentials, "tls.client_ca_file is set but tls.cert_file and tls.key_file"),
    ({"cert_file": "/no/such/cert.pem", "key_file": "<KEY>"}, server_credentials,
     "tls.cert_file: cannot read /no/such/cert.pem: No such file or directory"),
    ({"cert_file": "<CERT>", "key_file": "<NOT_PEM>"}, server_credentials, "tls.key_file: <NOT_PEM> is not a PEM file"),
    ({"cert_file": "<CERT>", "key_file": "<CLIENT_KEY>"}, server_credentials,
     "tls.cert_file and tls.key_file: <CERT> and <CLIENT_KEY> are not a certificate and its unencrypted private key"),
    ({"cert_file": "<CERT>", "key_file": "<KEY>", "client_ca_file": "<BAD_PEM>"}, server_credentials,
     "tls.client_ca_file: <BAD_PEM> holds no usable CA certificate"),
    ({"client_cert_file": "<CERT>"}, client_tls, "tls.client_cert_file is set but tls.client_key_file is empty"),
    ({"ca_file": "/no/such/ca.pem"}, client_tls, "tls.ca_file: cannot read /no/such/ca.pem"),
])
def test_unusable_tls_settings_are_errors_naming_the_setting(tmp_path, certs, settings, build, message):
    (tmp_path / "not.pem").write_bytes(b"\x30\x82 DER, not PEM")
    (tmp_path / "bad.pem").write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    files = {"<CERT>": certs.server_cert, "<KEY>": certs.server_key, "<CA>": certs.ca, "<CLIENT_KEY>": certs.client_key,
             "<NOT_PEM>": str(tmp_path / "not.pem"), "<BAD_PEM>": str(tmp_path / "bad.pem")}
    section = TlsSection(**{k: files.get(v, v) for k, v in settings.items()})
    with pytest.raises(ConfigError) as e:
        build(section)
    for placeholder, path in files.items():
        message = message.replace(placeholder, path)
    assert message in str(e.value)


def test_tls_settings_when_complete(certs):
    assert server_mode(TlsSection()) == "plaintext" and server_credentials(TlsSection()) is None
    assert client_tls(TlsSection()) is None
    both = TlsSection(cert_file=certs.server_cert, key_file=certs.server_key)
    assert server_mode(both) == "TLS" and server_credentials(both) is not None
    assert server_mode(TlsSection(cert_file="c", key_file="k", client_ca_file="ca")) == "mutual TLS"
    tls = client_tls(TlsSection(ca_file=certs.ca, client_cert_file=certs.client_cert,
                                client_key_file=certs.client_key))
    assert tls is not None and tls.ca == Path(certs.ca).read_bytes() and tls.key == Path(certs.client_key).read_bytes()


def test_the_sdk_target_rule():
    tls = TLS(ca=b"-----BEGIN CERTIFICATE-----")
    assert split_target("127.0.0.1:7070") == ("127.0.0.1:7070", False)
    assert split_target("grpcs://realm.example:7070/") == ("realm.example:7070", True)  # the system's roots
    assert split_target("127.0.0.1:7070", tls) == ("127.0.0.1:7070", True)
    assert split_target("dns:///realm.example:7070", tls) == ("dns:///realm.example:7070", True)
    with pytest.raises(ValueError, match="written as plaintext"):
        split_target("grpc://127.0.0.1:7070", tls)


def test_the_sdk_tls_value(tmp_path):
    with pytest.raises(ValueError, match="needs its key"):
        TLS(cert=b"-----BEGIN CERTIFICATE-----")
    assert "secret" not in repr(TLS(cert=b"c", key=b"secret"))
    with pytest.raises(FileNotFoundError, match="missing.pem"):
        TLS.from_files(ca=tmp_path / "missing.pem")
    assert TLS.from_files(ca="", cert=None) == TLS()


def test_peer_realms_link_over_mutual_tls(cluster, certs):
    """C requires client certificates; A calls it with its own (the [tls] client settings) and its peer token."""
    with_cert = TLS.from_files(ca=certs.ca, cert=certs.client_cert, key=certs.client_key)
    c = cluster.realm({**server_env(certs, mutual=True), "MTOR_REALM_NAME": "C"}, name="C", tls=with_cert)
    cluster.worker(c, "c-worker", env=client_env(certs, with_cert=True))
    a = cluster.realm({**client_env(certs, with_cert=True), "MTOR_REALM_NAME": "A"}, name="A")
    with c.admin() as admin:
        token = admin.add_peer("A").token
    with a.admin() as admin:
        admin.add_peer("C", address=f"grpcs://{c.address}", token=token)
        wait_until(lambda: admin.peers()[0].state == "up" and admin.peers()[0].capacity, 20.0, what="C up at A")
    with Client(a.address, timeout=20) as client:
        answer = client.chat("across realms, mutually")
    assert (answer.text, answer.realm, answer.worker) == ("echo: across realms, mutually", "C", "c-worker")


def test_the_gateway_calls_a_mutual_tls_realm_with_the_tls_client_settings(cluster, certs):
    import json

    realm = cluster.realm(server_env(certs, mutual=True), tls=TLS.from_files(ca=certs.ca, cert=certs.client_cert,
                                                                           key=certs.client_key))
    cluster.worker(realm, "member", env=client_env(certs, with_cert=True))
    realm.wait_workers(1)
    member = cluster.gateway(realm, env=client_env(certs, with_cert=True), name="member")
    body = json.dumps({"model": "", "messages": [{"role": "user", "content": "over TLS"}]}).encode()
    request = urllib.request.Request(f"{member.url}/v1/chat/completions", body, {"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=20) as reply:
        assert json.loads(reply.read())["choices"][0]["message"]["content"] == "echo: over TLS"
    stranger = cluster.gateway(realm, env=client_env(certs), name="stranger")  # no client certificate
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{stranger.url}/healthz", timeout=20)
    assert refused.value.code == 503
