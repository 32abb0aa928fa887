"""Key material: load the private signing key (PEM from the environment, or a development
key file generated once) and describe public keys as JWKs with RFC 7638 thumbprint kids.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

ACTIVE_POINTER = "active"


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: ec.EllipticCurvePrivateKey

    @property
    def public_jwk(self) -> dict[str, Any]:
        return public_jwk(self.private_key.public_key(), self.kid)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _coordinates(public_key: ec.EllipticCurvePublicKey) -> tuple[str, str]:
    numbers = public_key.public_numbers()
    return _b64(numbers.x.to_bytes(32, "big")), _b64(numbers.y.to_bytes(32, "big"))


def thumbprint(public_key: ec.EllipticCurvePublicKey) -> str:
    """RFC 7638 thumbprint: the same key always gets the same kid, on every replica."""
    x, y = _coordinates(public_key)
    canonical = json.dumps({"crv": "P-256", "kty": "EC", "x": x, "y": y}, separators=(",", ":"), sort_keys=True)
    return _b64(hashlib.sha256(canonical.encode()).digest())


def public_jwk(public_key: ec.EllipticCurvePublicKey, kid: str) -> dict[str, Any]:
    x, y = _coordinates(public_key)
    return {"kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": kid, "use": "sig", "alg": "ES256"}


def generate_key() -> SigningKey:
    private_key = ec.generate_private_key(ec.SECP256R1())
    return SigningKey(thumbprint(private_key.public_key()), private_key)


def key_from_pem(pem: str) -> SigningKey:
    loaded = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(loaded, ec.EllipticCurvePrivateKey) or loaded.curve.name != "secp256r1":
        raise ValueError("JWT_PRIVATE_KEY must be a P-256 (ES256) EC private key")
    return SigningKey(thumbprint(loaded.public_key()), loaded)


def key_to_pem(key: SigningKey) -> str:
    return key.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def write_key_file(key_dir: Path, key: SigningKey, *, activate: bool) -> Path:
    key_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(key_dir, 0o700)
    path = key_dir / f"{key.kid}.pem"
    # Created with 0600 from the start so the private key is never world-readable.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key_to_pem(key))
    if activate:
        pointer = key_dir / ACTIVE_POINTER
        tmp = pointer.with_suffix(".tmp")
        tmp.write_text(key.kid)
        tmp.replace(pointer)
    return path


def load_dev_key(key_dir: Path) -> SigningKey:
    """The active development key, generated on first use."""
    pointer = key_dir / ACTIVE_POINTER
    if pointer.exists():
        kid = pointer.read_text().strip()
        return key_from_pem((key_dir / f"{kid}.pem").read_text())
    key = generate_key()
    write_key_file(key_dir, key, activate=True)
    return key


def load_signing_key(pem: str | None, key_dir: Path) -> SigningKey:
    return key_from_pem(pem) if pem else load_dev_key(key_dir)
