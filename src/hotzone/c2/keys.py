"""Operators, their roles and their keys; enrolling, revoking; signing decisions.

An operator's private key never leaves what the operator holds: a WebAuthn authenticator
in the browser (a security key or the platform's), or, for the CLI, an Ed25519 key file
readable by its owner only. c2 knows only public keys, each enrolled with the operator it
belongs to, the operator's role and nation, and whether it is a simulation key
(docs/operators.md). The nation's enrolled operators live in ``operators.yaml`` in its
configuration directory (`hotzone.c2.trust.config_home`); `RegistryFile` re-reads it when it
changes, so a running c2 sees an enrollment or a revocation at once.

How a decision's signature is checked against its key: `hotzone.c2.webauthn.signature_fault`.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import fcntl
import os
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

import msgspec
import yaml
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hotzone.types import Decision, OperatorRole, Verdict
from hotzone.types.signing import decision_signing_bytes, key_id_of

KeyKind = Literal["ed25519", "webauthn"]
EnrolledAt = Annotated[datetime, msgspec.Meta(tz=True)]

OPERATORS_FILE = "operators.yaml"
"""The name of the registry file in a nation's configuration directory."""


class KeyFileError(ValueError):
    """A key or registry file that cannot be used, with the reason."""


def _raw_public(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _base64url_decode(text: str) -> bytes:
    """Bytes of unpadded base64url ``text`` (as browsers give WebAuthn fields)."""
    if not text or any(c not in _BASE64URL for c in text):
        raise ValueError(f"{text!r} is not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_BASE64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


class OperatorKey(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True, omit_defaults=True
):
    """One enrolled public key: whose it is, the holder's role and nation, and its kind.

    ``kind`` ``ed25519``: ``public_key`` is base64 of the 32 raw Ed25519 bytes and the key
    id is `key_id_of` them. ``webauthn``: ``public_key`` is base64 of the COSE public key
    from the authenticator's registration, ``credential_id`` (base64url) is the key id and
    ``sign_count`` the authenticator's signature counter last seen. A revoked key stays in
    the registry (its past decisions stay explainable) but signs nothing any more.
    """

    operator_id: str
    role: OperatorRole
    public_key: str
    simulation: bool = False
    nation: str = ""
    kind: KeyKind = "ed25519"
    credential_id: str = ""
    sign_count: int = 0
    revoked: bool = False
    enrolled_at: EnrolledAt | None = None

    def __post_init__(self) -> None:
        if self.kind == "webauthn":
            try:
                _base64url_decode(self.credential_id)
            except ValueError:
                raise KeyFileError(
                    f"operator {self.operator_id}: a webauthn key needs a base64url "
                    f"credential_id, got {self.credential_id!r}"
                ) from None
        elif self.credential_id:
            raise KeyFileError(f"operator {self.operator_id}: an ed25519 key has no credential_id")
        if self.sign_count < 0:
            raise KeyFileError(f"operator {self.operator_id}: sign_count is negative")
        if self.enrolled_at is not None and self.enrolled_at.utcoffset() is None:
            raise KeyFileError(f"operator {self.operator_id}: enrolled_at has no time zone")

    def raw_public_key(self) -> bytes:
        """The 32 raw Ed25519 bytes, or the COSE key bytes of a webauthn credential."""
        try:
            raw = base64.b64decode(self.public_key, validate=True)
        except binascii.Error:
            raise KeyFileError(f"operator {self.operator_id}: public_key is not base64") from None
        if self.kind == "ed25519" and len(raw) != 32:
            raise KeyFileError(
                f"operator {self.operator_id}: public_key must be 32 bytes, got {len(raw)}"
            )
        if not raw:
            raise KeyFileError(f"operator {self.operator_id}: public_key is empty")
        return raw

    @property
    def key_id(self) -> str:
        if self.kind == "webauthn":
            return self.credential_id
        return key_id_of(self.raw_public_key())

    def verifier(self) -> Ed25519PublicKey:
        if self.kind != "ed25519":
            raise KeyFileError(f"key {self.key_id} of {self.operator_id} is not an Ed25519 key")
        return Ed25519PublicKey.from_public_bytes(self.raw_public_key())


class _RegistryDocument(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    operators: list[OperatorKey] = msgspec.field(default_factory=list)


class OperatorRegistry:
    """The public keys c2 accepts decisions from, by key id (revoked ones included)."""

    def __init__(self, keys: Iterable[OperatorKey] = ()) -> None:
        self._keys: dict[str, OperatorKey] = {}
        for key in keys:
            self.register(key)

    def register(self, key: OperatorKey) -> None:
        """Add ``key``; a key id seen before is an error (a registry lists each key once)."""
        key_id = key.key_id  # also checks the key decodes
        if key_id in self._keys:
            raise KeyFileError(f"key {key_id} of {key.operator_id} is registered twice")
        key.raw_public_key()
        self._keys[key_id] = key

    def enroll(self, key: OperatorKey) -> OperatorKey:
        """Register a new key for an operator, refusing a key that is already enrolled and
        a role or nation other than the operator's other (unrevoked) keys have (a key
        enrolled without a nation, as older registries have them, conflicts with none)."""
        existing = self._keys.get(key.key_id)
        if existing is not None:
            state = "revoked" if existing.revoked else "enrolled"
            raise KeyFileError(
                f"key {key.key_id} is already {state} (operator {existing.operator_id})"
            )
        for other in self._keys.values():
            if other.operator_id != key.operator_id or other.revoked:
                continue
            nations_differ = bool(other.nation and key.nation and other.nation != key.nation)
            if other.role != key.role or nations_differ:
                raise KeyFileError(
                    f"operator {key.operator_id} is enrolled as {other.role} of "
                    f"{other.nation or 'no nation'} (key {other.key_id}): revoke that key "
                    f"before enrolling one as {key.role} of {key.nation or 'no nation'}"
                )
        self.register(key)
        return key

    def revoke(self, operator_or_key_id: str) -> int:
        """Revoke every key of an operator, or one key by its id: how many were revoked now."""
        revoked = 0
        for key_id, key in list(self._keys.items()):
            if key.revoked or operator_or_key_id not in (key.operator_id, key_id):
                continue
            self._keys[key_id] = msgspec.structs.replace(key, revoked=True)
            revoked += 1
        return revoked

    def record_sign_count(self, key_id: str, sign_count: int) -> bool:
        """Raise a webauthn key's last-seen counter to ``sign_count``; whether it rose."""
        key = self._keys.get(key_id)
        if key is None or sign_count <= key.sign_count:
            return False
        self._keys[key_id] = msgspec.structs.replace(key, sign_count=sign_count)
        return True

    def get(self, key_id: str) -> OperatorKey | None:
        return self._keys.get(key_id)

    def __iter__(self) -> Iterator[OperatorKey]:
        return iter(self._keys.values())

    def __len__(self) -> int:
        return len(self._keys)

    @classmethod
    def load(cls, path: Path | str) -> OperatorRegistry:
        """Read ``operators: [{operator_id, role, public_key, ...}]`` from YAML."""
        try:
            raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
            parsed = msgspec.convert({} if raw is None else raw, _RegistryDocument)
        except OSError as error:
            raise KeyFileError(f"{path}: {error.strerror}") from None
        except (yaml.YAMLError, msgspec.ValidationError) as error:
            raise KeyFileError(f"{path}: {error}") from None
        return cls(parsed.operators)

    def dump(self, path: Path | str) -> None:
        """Write the registry (atomically: readers see the old file or the new one)."""
        path = Path(path)
        document = {"operators": msgspec.to_builtins(list(self._keys.values()))}
        text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}")
        try:
            temporary.write_text(text, encoding="utf-8")
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)

    def list(self) -> builtins.list[OperatorKey]:
        """The keys in enrollment order."""
        return builtins.list(self._keys.values())


_Stamp = tuple[int, int, int]


class RegistryFile:
    """``operators.yaml`` as c2 and the enrollment routes see it, re-read when it changes.

    `current` costs one ``stat`` while the file is unchanged. Writers (`enroll`, `revoke`,
    `record_sign_count`, and ``hotzone operators`` through them) hold an exclusive lock on
    a lock file beside it while they read, change and atomically replace it, so enrollments
    from the browser and the CLI, and counters recorded by c2, never overwrite each other.
    Signature counters seen in this process are never lowered by a re-read.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._guard = threading.Lock()
        self._stamp: _Stamp | None = None
        self._registry = OperatorRegistry()
        self._seen_counts: dict[str, int] = {}

    def _file_stamp(self) -> _Stamp | None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise KeyFileError(f"{self.path}: {error.strerror}") from None
        return (stat.st_mtime_ns, stat.st_size, stat.st_ino)

    def _read(self) -> tuple[OperatorRegistry, _Stamp | None]:
        stamp = self._file_stamp()
        registry = OperatorRegistry() if stamp is None else OperatorRegistry.load(self.path)
        return registry, stamp

    def _with_seen_counts(self, registry: OperatorRegistry) -> OperatorRegistry:
        for key_id, count in self._seen_counts.items():
            registry.record_sign_count(key_id, count)
        return registry

    def current(self) -> OperatorRegistry:
        """The registry as the file says now (re-read only when the file changed)."""
        with self._guard:
            stamp = self._file_stamp()
            if stamp != self._stamp or stamp is None:
                registry, self._stamp = self._read()
                self._registry = self._with_seen_counts(registry)
            return self._registry

    @contextmanager
    def _locked(self) -> Iterator[OperatorRegistry]:
        """The file's registry, fresh under the writers' lock; written back on success."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(f".{self.path.name}.lock")
        with self._guard, open(lock_path, "a", encoding="utf-8") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                registry, _ = self._read()
                before = registry.list()
                yield self._with_seen_counts(registry)  # counters seen here are written too
                if registry.list() != before:
                    registry.dump(self.path)
                self._registry, self._stamp = registry, self._file_stamp()
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def enroll(self, key: OperatorKey) -> OperatorKey:
        """Enroll ``key`` in the file (see `OperatorRegistry.enroll`)."""
        with self._locked() as registry:
            return registry.enroll(key)

    def revoke(self, operator_or_key_id: str) -> int:
        """Revoke an operator's keys or one key in the file: how many were revoked now."""
        with self._locked() as registry:
            return registry.revoke(operator_or_key_id)

    def record_sign_count(self, key_id: str, sign_count: int) -> None:
        """Remember a webauthn key's counter from a verified assertion, here and in the file.

        The next assertion of that credential must carry a higher counter (a replayed or
        cloned authenticator's does not). Call it after every accepted assertion with
        `SignatureCheck.sign_count`.
        """
        with self._guard:
            if sign_count <= self._seen_counts.get(key_id, 0):
                return
            self._seen_counts[key_id] = sign_count
            self._registry.record_sign_count(key_id, sign_count)
        if self.current().get(key_id) is None:
            return
        with self._locked() as registry:
            registry.record_sign_count(key_id, sign_count)


def verify_signature(decision: Decision, key: OperatorKey) -> bool:
    """Whether ``decision.signature`` is ``key``'s Ed25519 signature over the decision.

    False for a webauthn or revoked key: `hotzone.c2.webauthn.signature_fault` checks any
    key and says why it refuses.
    """
    if key.kind != "ed25519" or key.revoked:
        return False
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
