"""TLS credentials from the [tls] settings: the realm's side, and the side of
its clients (workers and the `mtor` command).

Only this module reads the certificate files named in the config, so every
mistake (a missing, unreadable or non-PEM file, a certificate without its
key or with someone else's) is reported the same way: as a ConfigError naming
the setting and the file, before anything starts.
"""
from __future__ import annotations

import os
import ssl
from typing import Callable

import grpc
from mtor_client.channels import TLS, read_pem

from .config import ConfigError, TlsSection


def _path(section: TlsSection, key: str) -> str:
    return os.path.expanduser(getattr(section, key))


def _read(section: TlsSection, key: str) -> bytes:
    """The PEM file named by tls.<key> (a setting that is not empty)."""
    path = _path(section, key)
    try:
        return read_pem(path)
    except OSError as e:
        raise ConfigError(f"tls.{key}: cannot read {path}: {e.strerror or e}") from None
    except ValueError as e:
        raise ConfigError(f"tls.{key}: {e}") from None


def _check_with_ssl(what: str, load: Callable[[ssl.SSLContext], object]) -> None:
    """Let the ssl module parse what gRPC would reject later and obscurely (a key that is not the
    certificate's makes add_secure_port fail with "Failed to bind to address")."""
    try:
        load(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
    except ssl.SSLError as e:
        raise ConfigError(f"{what} ({e.reason or e})") from None


def _read_pair(section: TlsSection, cert_key: str, key_key: str) -> tuple[bytes, bytes] | None:
    """A certificate chain and its private key, both or neither (None); they must belong together."""
    cert, key = getattr(section, cert_key), getattr(section, key_key)
    if bool(cert) != bool(key):
        given, missing = (cert_key, key_key) if cert else (key_key, cert_key)
        raise ConfigError(f"tls.{given} is set but tls.{missing} is empty: set both (certificate and its "
                          "private key) or neither")
    if not cert:
        return None
    pair = _read(section, cert_key), _read(section, key_key)
    cert_path, key_path = _path(section, cert_key), _path(section, key_key)
    _check_with_ssl(f"tls.{cert_key} and tls.{key_key}: {cert_path} and {key_path} are not a certificate and its "
                    "unencrypted private key", lambda c: c.load_cert_chain(cert_path, key_path, password=""))
    return pair


def _read_ca(section: TlsSection, key: str) -> bytes | None:
    """CA certificate(s), or None when the setting is empty."""
    if not getattr(section, key):
        return None
    data, path = _read(section, key), _path(section, key)
    _check_with_ssl(f"tls.{key}: {path} holds no usable CA certificate", lambda c: c.load_verify_locations(cafile=path))
    return data


def server_mode(section: TlsSection) -> str:
    """How the realm serves: "plaintext", "TLS" or "mutual TLS" (settings only; no file is read)."""
    if not section.cert_file and not section.key_file:
        return "plaintext"
    return "mutual TLS" if section.client_ca_file else "TLS"


def server_credentials(section: TlsSection) -> grpc.ServerCredentials | None:
    """The realm's credentials; None for plaintext (cert_file and key_file both empty).

    With client_ca_file, mutual TLS: a client without a certificate signed by
    it is refused during the handshake, before any call.
    """
    pair = _read_pair(section, "cert_file", "key_file")
    if pair is None:
        if section.client_ca_file:
            raise ConfigError("tls.client_ca_file is set but tls.cert_file and tls.key_file are empty: "
                              "mutual TLS needs the realm's own certificate and key too")
        return None
    cert, key = pair
    client_ca = _read_ca(section, "client_ca_file")
    return grpc.ssl_server_credentials([(key, cert)], root_certificates=client_ca,
                                       require_client_auth=client_ca is not None)


def server_ssl_context(section: TlsSection) -> ssl.SSLContext | None:
    """The same certificate (and client CA) for the realm's other server, the metrics endpoint;
    None for plaintext. Call after server_credentials, which reports mistakes in the files."""
    if server_mode(section) == "plaintext":
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(_path(section, "cert_file"), _path(section, "key_file"))
    if section.client_ca_file:
        context.load_verify_locations(cafile=_path(section, "client_ca_file"))
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def client_tls(section: TlsSection) -> TLS | None:
    """What a worker or the `mtor` command presents and trusts; None (plaintext
    unless the realm is written grpcs://) when no client-side setting is set."""
    pair = _read_pair(section, "client_cert_file", "client_key_file")
    ca = _read_ca(section, "ca_file")
    if pair is None and ca is None:
        return None
    cert, key = pair or (None, None)
    return TLS(ca=ca, cert=cert, key=key)
