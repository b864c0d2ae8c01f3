"""A real, local SciTokens issuer for tests: keys, a CA, and HTTPS on loopback.

The issuer serves its OpenID configuration and JWKS over HTTPS (a certificate signed by
a throw-away CA), exactly what a schedd fetches to verify a token. Tokens are minted
with the ``scitokens`` package.
"""

from __future__ import annotations

import base64
import datetime
import http.server
import json
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import jwt
import scitokens
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _b64(number: int, length: int) -> str:
    return base64.urlsafe_b64encode(number.to_bytes(length, "big")).rstrip(b"=").decode()


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _certificate(
    subject: str, issuer_key: Any, public: Any, issuer: str, *, ca: bool
) -> x509.Certificate:
    import ipaddress

    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@dataclass
class Tls:
    ca_pem: str
    cert_file: Path
    key_file: Path


def make_tls(folder: Path) -> Tls:
    """A CA and a server certificate for 127.0.0.1 / localhost, signed by it."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _certificate(
        "condor_nb test CA", ca_key, ca_key.public_key(), "condor_nb test CA", ca=True
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = _certificate(
        "127.0.0.1", ca_key, server_key.public_key(), "condor_nb test CA", ca=False
    )
    folder.mkdir(parents=True, exist_ok=True)
    cert_file, key_file = folder / "server.pem", folder / "server.key"
    cert_file.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Tls(ca_cert.public_bytes(serialization.Encoding.PEM).decode(), cert_file, key_file)


class SigningKey:
    """An EC P-256 key with a key id: signs tokens, publishes its JWK."""

    def __init__(self, kid: str) -> None:
        self.kid = kid
        self.private = ec.generate_private_key(ec.SECP256R1())

    def jwk(self) -> dict[str, str]:
        numbers = self.private.public_key().public_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "alg": "ES256",
            "use": "sig",
            "kid": self.kid,
            "x": _b64(numbers.x, 32),
            "y": _b64(numbers.y, 32),
        }

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def mint(
        self,
        issuer: str,
        *,
        subject: str = "alice",
        scope: str = "condor:/READ condor:/WRITE",
        audience: str | list[str] | None = None,
        lifetime: int = 3600,
        expired: bool = False,
    ) -> str:
        """A signed SciToken (``expired``: its exp is in the past)."""
        token = scitokens.SciToken(key=self.private, key_id=self.kid, algorithm="ES256")
        token["sub"] = subject
        token["scope"] = scope
        token["ver"] = "scitoken:2.0"
        if audience is not None:
            token["aud"] = audience
        text = token.serialize(issuer=issuer, lifetime=lifetime).decode()
        if not expired:
            return text
        claims = jwt.decode(text, options={"verify_signature": False})
        now = int(time.time())
        claims.update(iat=now - 7200, nbf=now - 7200, exp=now - 3600)
        return jwt.encode(claims, self.private, algorithm="ES256", headers={"kid": self.kid})


class _Handler(http.server.BaseHTTPRequestHandler):
    documents: ClassVar[dict[str, bytes]] = {}
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        body = self.documents.get(self.path)
        self.hits.append(self.path)
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@dataclass
class Issuer:
    base: str  # https://127.0.0.1:PORT
    tls: Tls
    hits: list[str]

    def url(self, name: str) -> str:
        return f"{self.base}/{name}"


@contextmanager
def serve_issuers(folder: Path, keys: dict[str, SigningKey]) -> Iterator[Issuer]:
    """One HTTPS server; issuer ``NAME`` lives at https://127.0.0.1:PORT/NAME."""
    tls = make_tls(folder)
    handler = type("Handler", (_Handler,), {"documents": {}, "hits": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls.cert_file, tls.key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    base = f"https://127.0.0.1:{server.server_address[1]}"
    for name, key in keys.items():
        issuer = f"{base}/{name}"
        config = {"issuer": issuer, "jwks_uri": f"{issuer}/jwks"}
        handler.documents[f"/{name}/.well-known/openid-configuration"] = json.dumps(config).encode()
        handler.documents[f"/{name}/jwks"] = json.dumps({"keys": [key.jwk()]}).encode()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Issuer(base, tls, handler.hits)
    finally:
        server.shutdown()
        server.server_close()
