"""Operators, their roles and their Ed25519 keys; signing and checking decisions.

An operator's private key never leaves the operator's console (here: a key file readable by
its owner only). c2 knows only public keys, each registered with the operator it belongs
to, the operator's role and whether it is a simulation key (DESIGN.md §6.5).
"""

from __future__ import annotations

import base64
import binascii
import os
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path

import msgspec
import yaml
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hotzone.types import Decision, OperatorRole, Verdict
from hotzone.types.signing import decision_signing_bytes, key_id_of


class KeyFileError(ValueError):
    """A key or registry file that cannot be used, with the reason."""


def _raw_public(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


class OperatorKey(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One registered public key: whose it is, the holder's role, simulation or real."""

    operator_id: str
    role: OperatorRole
    public_key: str  # base64 of the 32 raw Ed25519 bytes
    simulation: bool = False

    def raw_public_key(self) -> bytes:
        try:
            raw = base64.b64decode(self.public_key, validate=True)
        except binascii.Error:
            raise KeyFileError(f"operator {self.operator_id}: public_key is not base64") from None
        if len(raw) != 32:
            raise KeyFileError(
                f"operator {self.operator_id}: public_key must be 32 bytes, got {len(raw)}"
            )
        return raw

    @property
    def key_id(self) -> str:
        return key_id_of(self.raw_public_key())

    def verifier(self) -> Ed25519PublicKey:
        return Ed25519PublicKey.from_public_bytes(self.raw_public_key())


class _RegistryFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    operators: list[OperatorKey]


class OperatorRegistry:
    """The public keys c2 accepts decisions from, by key id."""

    def __init__(self, keys: Iterable[OperatorKey] = ()) -> None:
        self._keys: dict[str, OperatorKey] = {}
        for key in keys:
            self.register(key)

    def register(self, key: OperatorKey) -> None:
        key_id = key.key_id  # also checks the key decodes
        if key_id in self._keys:
            raise KeyFileError(f"key {key_id} of {key.operator_id} is registered twice")
        self._keys[key_id] = key

    def get(self, key_id: str) -> OperatorKey | None:
        return self._keys.get(key_id)

    def __iter__(self) -> Iterator[OperatorKey]:
        return iter(self._keys.values())

    def __len__(self) -> int:
        return len(self._keys)

    @classmethod
    def load(cls, path: Path | str) -> OperatorRegistry:
        """Read ``operators: [{operator_id, role, public_key, simulation}]`` from YAML."""
        try:
            raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
            parsed = msgspec.convert(raw, _RegistryFile)
        except OSError as error:
            raise KeyFileError(f"{path}: {error.strerror}") from None
        except (yaml.YAMLError, msgspec.ValidationError) as error:
            raise KeyFileError(f"{path}: {error}") from None
        return cls(parsed.operators)

    def dump(self, path: Path | str) -> None:
        document = {"operators": msgspec.to_builtins(list(self._keys.values()))}
        Path(path).write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


def verify_signature(decision: Decision, key: OperatorKey) -> bool:
    """Whether ``decision.signature`` is ``key``'s Ed25519 signature over the decision."""
    try:
        signature = base64.b64decode(decision.signature, validate=True)
        key.verifier().verify(signature, decision_signing_bytes(decision))
    except (binascii.Error, InvalidSignature, ValueError):
        return False
    return True


class SigningKey:
    """An operator's private key with who holds it: signs decisions."""

    def __init__(
        self,
        operator_id: str,
        role: OperatorRole,
        private_key: Ed25519PrivateKey,
        simulation: bool = False,
    ) -> None:
        self.operator_id = operator_id
        self.role = role
        self.simulation = simulation
        self._private_key = private_key

    @classmethod
    def generate(cls, operator_id: str, role: OperatorRole, simulation: bool = False) -> SigningKey:
        return cls(operator_id, role, Ed25519PrivateKey.generate(), simulation)

    @property
    def public(self) -> OperatorKey:
        raw = _raw_public(self._private_key.public_key())
        return OperatorKey(
            operator_id=self.operator_id,
            role=self.role,
            public_key=base64.b64encode(raw).decode("ascii"),
            simulation=self.simulation,
        )

    @property
    def key_id(self) -> str:
        return key_id_of(_raw_public(self._private_key.public_key()))

    def sign(self, unsigned: Decision) -> Decision:
        """The decision with this key's signature (any signature it held is replaced)."""
        signature = self._private_key.sign(decision_signing_bytes(unsigned))
        return msgspec.structs.replace(
            unsigned, signature=base64.b64encode(signature).decode("ascii")
        )

    def decide(
        self,
        proposal_hash: str,
        verdict: Verdict,
        time: datetime,
        decision_id: str | None = None,
        releasability: str = "NATO",
    ) -> Decision:
        unsigned = Decision(
            decision_id=decision_id or f"dec-{uuid.uuid4().hex[:12]}",
            time=time,
            proposal_hash=proposal_hash,
            verdict=verdict,
            operator_id=self.operator_id,
            role=self.role,
            key_id=self.key_id,
            signature="",
            releasability=releasability,
        )
        return self.sign(unsigned)

    def save(self, path: Path | str) -> None:
        """Write the key file (owner read/write only): operator, role, raw private key."""
        raw = self._private_key.private_bytes_raw()
        document = {
            "operator_id": self.operator_id,
            "role": str(self.role),
            "simulation": self.simulation,
            "private_key": base64.b64encode(raw).decode("ascii"),
        }
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            yaml.safe_dump(document, stream, sort_keys=False)

    @classmethod
    def load(cls, path: Path | str) -> SigningKey:
        try:
            document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except OSError as error:
            raise KeyFileError(f"{path}: {error.strerror}") from None
        except yaml.YAMLError as error:
            raise KeyFileError(f"{path}: not a key file: {error}") from None
        if not isinstance(document, dict) or not {"operator_id", "role", "private_key"} <= set(
            document
        ):
            raise KeyFileError(f"{path}: a key file needs operator_id, role and private_key")
        try:
            role = OperatorRole(document["role"])
            raw = base64.b64decode(str(document["private_key"]), validate=True)
            private_key = Ed25519PrivateKey.from_private_bytes(raw)
        except (ValueError, binascii.Error) as error:
            raise KeyFileError(f"{path}: {error}") from None
        return cls(
            str(document["operator_id"]), role, private_key, bool(document.get("simulation"))
        )
