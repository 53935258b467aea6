"""A throwaway certificate authority for TLS tests: a CA, server certificates and a client certificate.

``make_pki(directory)`` runs ``openssl`` and returns the files by name (``ca_pem``,
``server_pem``, ``server_key``, ``named_pem`` (only ``DNS:lakefs.test``), ``client_pem``,
``client_key``); ``server_context`` makes an ``ssl.SSLContext`` for ``LoopbackServer``.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path
from typing import Dict

CERTIFICATES = {
    "server": "subjectAltName=IP:127.0.0.1,DNS:lakefs.test",
    "named": "subjectAltName=DNS:lakefs.test",
    "client": "extendedKeyUsage=clientAuth",
}


def have_openssl() -> bool:
    return shutil.which("openssl") is not None


def make_pki(directory: Path) -> Dict[str, Path]:
    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    # Python >= 3.13 verifies strictly: a CA certificate needs keyUsage.
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=aio test CA", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    for name, extension in CERTIFICATES.items():
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}")
        (directory / f"{name}.ext").write_text(extension + "\n")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext")
    return {p.stem + p.suffix.replace(".", "_"): p for p in directory.iterdir()}


def server_context(pki: Dict[str, Path], cert: str = "server", require_client_cert: bool = False) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki[f"{cert}_pem"], pki[f"{cert}_key"])
    if require_client_cert:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(pki["ca_pem"])
    return context
