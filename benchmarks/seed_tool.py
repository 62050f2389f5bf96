"""What running the seed tool (replicate/cog-safe-push, installed in a venv of its own) against
the fakes of tests/fakes takes, for benchmarks that compare the two tools on one workload.

The seed tool reaches the fakes as a user's machine reaches Replicate: the `replicate` client
honours REPLICATE_BASE_URL, the `anthropic` SDK honours ANTHROPIC_BASE_URL, and `cog` is the
stand-in of tests/fakes/bin found on PATH. One more address is outside: every fuzz input it
writes first fetches https://multimedia-example-files.replicate.dev/index.txt (the catalogue of
sample media it offers the AI) with httpx, and this machine has no route there. `MediaIndexStub`
answers that one URL: an HTTP proxy on 127.0.0.1 (HTTPS_PROXY; NO_PROXY keeps the fakes direct)
that accepts CONNECT for that host only and serves a small catalogue over TLS with a certificate
of a throwaway CA (SSL_CERT_FILE, which httpx honours). The seed tool runs unmodified.
"""

from __future__ import annotations

import datetime
import socket
import ssl
import tempfile
import threading
from pathlib import Path

INDEX_HOST = "multimedia-example-files.replicate.dev"
INDEX = f"""# Multimedia example files (a stand-in of the real catalogue, served locally)

## Images
* https://{INDEX_HOST}/replicate-logo.png
* https://{INDEX_HOST}/mona-lisa.jpg

## Audio
* https://{INDEX_HOST}/sample.wav

## Video
* https://{INDEX_HOST}/sample.mp4
"""


def _certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for INDEX_HOST: (ca.pem, cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "benchmark stand-in CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, INDEX_HOST)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(INDEX_HOST)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    paths = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    paths[0].write_bytes(ca.public_bytes(pem))
    paths[1].write_bytes(cert.public_bytes(pem))
    paths[2].write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


class MediaIndexStub:
    """Context manager; `env()` is what a process needs to fetch the catalogue from here."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="media-index-stub-"))
        self.fetches = 0
        self._listener: socket.socket | None = None
        self._context: ssl.SSLContext | None = None
        self.ca_file: Path | None = None

    def __enter__(self) -> MediaIndexStub:
        self.ca_file, cert, key = _certificates(self.directory)
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.load_cert_chain(cert, key)
        self._listener = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=self._serve, name="media-index-stub", daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def env(self) -> dict[str, str]:
        assert self._listener is not None and self.ca_file is not None
        proxy = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        return {
            "HTTPS_PROXY": proxy,
            "https_proxy": proxy,
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            "SSL_CERT_FILE": str(self.ca_file),
        }

    def _serve(self) -> None:
        while self._listener is not None:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            head = _read_head(conn)
            target = head.split(b" ")[1].decode() if head.count(b" ") >= 2 else ""
            if not head.startswith(b"CONNECT ") or target != f"{INDEX_HOST}:443":
                conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                return
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            assert self._context is not None
            try:
                with self._context.wrap_socket(conn, server_side=True) as tls:
                    request = _read_head(tls)
                    body = INDEX.encode()
                    if request.startswith(b"GET /index.txt "):
                        self.fetches += 1
                        status = b"200 OK"
                    else:
                        status, body = b"404 Not Found", b"not found\n"
                    tls.sendall(
                        b"HTTP/1.1 " + status + b"\r\nContent-Type: text/plain\r\n"
                        b"Content-Length: " + str(len(body)).encode() + b"\r\n"
                        b"Connection: close\r\n\r\n" + body
                    )
            except (ssl.SSLError, OSError):
                return


def _read_head(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data
