"""NATS NKeys, JWTs and credentials files, on `cryptography`'s Ed25519.

An *nkey* is an Ed25519 key written as base32 with a role prefix (``O`` operator, ``A``
account, ``U`` user; a seed starts with ``S`` and the role's letter) and a CRC-16 check.
NATS decentralized authentication chains them in JWTs: the operator signs accounts, an
account signs its users; a server trusts the operator, and a client proves it holds the
user's seed by signing the nonce the server sends. A ``.creds`` file holds the user's JWT
and seed. The format follows nats-io/nkeys and nats-io/jwt (v2) exactly, so nats-server,
the ``nats`` CLI and every NATS client read what this module writes; it needs no package
beyond `cryptography`, which hotzone depends on already.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


class NkeyError(ValueError):
    """A malformed key, seed, JWT or credentials file."""


class Role(IntEnum):
    """The prefix byte of a public nkey, which says what it identifies."""

    OPERATOR = 14 << 3
    ACCOUNT = 0
    USER = 20 << 3
    SERVER = 13 << 3
    CLUSTER = 2 << 3


_SEED = 18 << 3


def _crc16(data: bytes) -> int:
    """CRC-16/XMODEM (polynomial 0x1021, initial 0), as nkeys checks its encodings."""
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def _b32encode(raw: bytes) -> str:
    return base64.b32encode(raw).decode().rstrip("=")


def _b32decode(text: str) -> bytes:
    try:
        return base64.b32decode(text + "=" * (-len(text) % 8))
    except ValueError as error:
        raise NkeyError(f"not base32: {error}") from None


def _checked(text: str) -> bytes:
    raw = _b32decode(text)
    if len(raw) < 4:
        raise NkeyError("nkey too short")
    body, check = raw[:-2], int.from_bytes(raw[-2:], "little")
    if _crc16(body) != check:
        raise NkeyError("nkey checksum does not match")
    return body


def encode_public(role: Role, raw: bytes) -> str:
    body = bytes([role]) + raw
    return _b32encode(body + _crc16(body).to_bytes(2, "little"))


def decode_public(key: str) -> tuple[Role, bytes]:
    body = _checked(key)
    try:
        role = Role(body[0])
    except ValueError:
        raise NkeyError(f"{key[:1]!r} is not the prefix of a public nkey") from None
    if len(body) != 33:
        raise NkeyError("a public nkey holds 32 bytes")
    return role, body[1:]


@dataclass(frozen=True)
class KeyPair:
    """An Ed25519 key with its nkey role."""

    role: Role
    private: Ed25519PrivateKey

    @classmethod
    def create(cls, role: Role) -> KeyPair:
        return cls(role, Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: str) -> KeyPair:
        body = _checked(seed.strip())
        if len(body) != 34 or body[0] & 0xF8 != _SEED:
            raise NkeyError("not an nkey seed")
        prefix = ((body[0] & 0x07) << 5) | ((body[1] & 0xF8) >> 3)
        try:
            role = Role(prefix)
        except ValueError:
            raise NkeyError("the seed names no known role") from None
        return cls(role, Ed25519PrivateKey.from_private_bytes(body[2:]))

    @property
    def seed(self) -> str:
        raw = self.private.private_bytes_raw()
        body = bytes([_SEED | (self.role >> 5), (self.role & 0x1F) << 3]) + raw
        return _b32encode(body + _crc16(body).to_bytes(2, "little"))

    @property
    def public_key(self) -> str:
        raw = self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return encode_public(self.role, raw)

    def sign(self, data: bytes) -> bytes:
        return self.private.sign(data)


def verify(public_key: str, data: bytes, signature: bytes) -> bool:
    _, raw = decode_public(public_key)
    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(signature, data)
    except InvalidSignature:
        return False
    return True


# --- JWTs (nats-io/jwt v2) -------------------------------------------------------------

_HEADER = {"typ": "JWT", "alg": "ed25519-nkey"}


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def encode_jwt(
    issuer: KeyPair,
    subject: str,
    name: str,
    nats: Mapping[str, Any],
    issued_at: int | None = None,
) -> str:
    """A v2 JWT: ``nats`` holds the type's claims (``type`` set by the caller); ``jti`` is
    the SHA-512/256 of the standard claims, as nats-io/jwt computes it."""
    claims: dict[str, Any] = {
        "iat": int(time.time()) if issued_at is None else issued_at,
        "iss": issuer.public_key,
        "name": name,
        "sub": subject,
    }
    digest = hashlib.new("sha512_256", _compact(claims).encode()).digest()
    claims = {"jti": _b32encode(digest), **claims, "nats": {**nats, "version": 2}}
    signed = f"{_b64url(_compact(_HEADER).encode())}.{_b64url(_compact(claims).encode())}"
    return f"{signed}.{_b64url(issuer.sign(signed.encode()))}"


def decode_jwt(token: str) -> dict[str, Any]:
    """The claims of a JWT whose signature its issuer made (``NkeyError`` otherwise)."""
    try:
        header, payload, signature = token.strip().split(".")
        claims: dict[str, Any] = json.loads(_b64url_decode(payload))
        if json.loads(_b64url_decode(header)).get("alg") != _HEADER["alg"]:
            raise NkeyError("not an ed25519-nkey JWT")
        valid = verify(claims["iss"], f"{header}.{payload}".encode(), _b64url_decode(signature))
    except (ValueError, KeyError) as error:
        raise NkeyError(f"malformed JWT: {error}") from None
    if not valid:
        raise NkeyError("the JWT's signature is not its issuer's")
    return claims


# --- credentials files -------------------------------------------------------------------

_CREDS_TEMPLATE = """-----BEGIN NATS USER JWT-----
{jwt}
------END NATS USER JWT------

************************* IMPORTANT *************************
NKEY Seed printed below can be used to sign and prove identity.
NKEYs are sensitive and should be treated as secrets.

-----BEGIN USER NKEY SEED-----
{seed}
------END USER NKEY SEED------

*************************************************************
"""
_CREDS_BLOCK = re.compile(r"-{3,}BEGIN ([A-Z ]+)-{3,}\s*\n\s*(\S+)\s*\n\s*-{3,}END \1-{3,}")


def format_credentials(user_jwt: str, user_seed: str) -> str:
    return _CREDS_TEMPLATE.format(jwt=user_jwt, seed=user_seed)


@dataclass(frozen=True)
class Credentials:
    """A user's JWT and key: what a NATS client needs to authenticate."""

    jwt: str
    key: KeyPair

    @classmethod
    def read(cls, path: Path) -> Credentials:
        try:
            text = path.read_text()
        except OSError as error:
            raise NkeyError(f"credentials {path}: {error.strerror}") from None
        blocks = {name: value for name, value in _CREDS_BLOCK.findall(text)}
        if "NATS USER JWT" not in blocks or "USER NKEY SEED" not in blocks:
            raise NkeyError(f"{path} is not a NATS credentials file (user JWT and seed)")
        key = KeyPair.from_seed(blocks["USER NKEY SEED"])
        claims = decode_jwt(blocks["NATS USER JWT"])
        if claims.get("sub") != key.public_key:
            raise NkeyError(f"{path}: the seed is not the key of the user the JWT names")
        return cls(blocks["NATS USER JWT"], key)

    def jwt_callback(self) -> Callable[[], bytearray]:
        """For nats-py ``user_jwt_cb``."""
        return lambda: bytearray(self.jwt.encode())

    def signature_callback(self) -> Callable[[str], bytes]:
        """For nats-py ``signature_cb``: the server's nonce signed, base64 (std)."""
        return lambda nonce: base64.b64encode(self.key.sign(nonce.encode()))
