"""Where a nation's trust lives: its c2 node keys and its enrolled operators.

A nation's configuration directory (``$HOTZONE_HOME``, default ``~/.config/hotzone``)
holds

* ``nodes/<NATION>.key``: the private Ed25519 key of the nation's c2 node (owner-only),
  which signs task orders and audit checkpoints; made on first use;
* ``nodes/trusted.yaml``: the public keys of the c2 nodes this installation trusts, by
  nation (its own, and allies' when they are added): what every consumer of an order and
  every audit verification checks signatures against;
* ``nodes/<NATION>-gateway.key``: the private key of the nation's effector gateways
  (``hotzone effectors run``), which signs each lifecycle step they report on an order;
  ``nodes/gateways.yaml``: the gateway keys c2 believes such reports from. A gateway key
  is never a c2 node key: it cannot sign an order;
* ``operators.yaml``: the operators enrolled to decide (`hotzone operators`), with their
  public keys or WebAuthn credentials, never a private key.

The run folder records which key signed, never which key to trust: a rewritten chain
re-signed with a new key is refused because that key is not in this directory.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path

import msgspec
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hotzone.types.signing import key_id_of

HOME_VARIABLE = "HOTZONE_HOME"


class TrustError(ValueError):
    """A key or trust file that cannot be used, with the reason."""


def config_home() -> Path:
    """The nation's configuration directory: ``$HOTZONE_HOME`` or ``~/.config/hotzone``."""
    configured = os.environ.get(HOME_VARIABLE)
    return Path(configured) if configured else Path.home() / ".config" / "hotzone"


def operators_path(home: Path | None = None) -> Path:
    """The enrolled operators of the nation (`hotzone operators`)."""
    return (home or config_home()) / "operators.yaml"


C2_ROLE = "c2"
GATEWAY_ROLE = "gateway"


class NodeKey:
    """A node's Ed25519 signing key: a c2 node's signs orders and audit checkpoints, an
    effector gateway's (``role`` gateway) the lifecycle steps it reports."""

    def __init__(self, nation: str, private_key: Ed25519PrivateKey, role: str = C2_ROLE) -> None:
        self.nation = nation
        self.role = role
        self._private_key = private_key

    @classmethod
    def generate(cls, nation: str, role: str = C2_ROLE) -> NodeKey:
        return cls(nation, Ed25519PrivateKey.generate(), role)

    @property
    def public_raw(self) -> bytes:
        return self._private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def key_id(self) -> str:
        return key_id_of(self.public_raw)

    @property
    def node_id(self) -> str:
        return f"{self.nation}-{self.role}"

    def sign(self, data: bytes) -> str:
        """Base64 of the Ed25519 signature of ``data``."""
        return base64.b64encode(self._private_key.sign(data)).decode("ascii")

    def save(self, path: Path) -> None:
        """Write the private key (owner read/write only)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        raw = self._private_key.private_bytes_raw()
        document = {"nation": self.nation, "private_key": base64.b64encode(raw).decode("ascii")}
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            yaml.safe_dump(document, stream, sort_keys=False)

    @classmethod
    def load(cls, path: Path, role: str = C2_ROLE) -> NodeKey:
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
            raw = base64.b64decode(str(document["private_key"]), validate=True)
            return cls(str(document["nation"]), Ed25519PrivateKey.from_private_bytes(raw), role)
        except OSError as error:
            raise TrustError(f"{path}: {error.strerror}") from None
        except (yaml.YAMLError, KeyError, TypeError, ValueError, binascii.Error) as error:
            raise TrustError(f"{path}: not a node key file ({error})") from None


class TrustedNode(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    nation: str
    key_id: str
    public_key: str  # base64 of the 32 raw Ed25519 bytes


class _TrustedFile(msgspec.Struct, forbid_unknown_fields=True):
    nodes: list[TrustedNode] = msgspec.field(default_factory=list)


_TRUST_FILES = {C2_ROLE: "trusted.yaml", GATEWAY_ROLE: "gateways.yaml"}


def _trusted_path(home: Path, role: str = C2_ROLE) -> Path:
    return home / "nodes" / _TRUST_FILES[role]


def _read_trusted(home: Path, role: str = C2_ROLE) -> list[TrustedNode]:
    path = _trusted_path(home, role)
    if not path.is_file():
        return []
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return msgspec.convert(raw, _TrustedFile).nodes
    except (OSError, yaml.YAMLError, msgspec.ValidationError) as error:
        raise TrustError(f"{path}: {error}") from None


def trusted_node_keys(home: Path | None = None, role: str = C2_ROLE) -> dict[str, bytes]:
    """Raw public keys of the trusted c2 nodes (or, with ``role`` gateway, of the trusted
    effector gateways), by key id."""
    trusted = {}
    for node in _read_trusted(home or config_home(), role):
        try:
            raw = base64.b64decode(node.public_key, validate=True)
        except binascii.Error:
            raise TrustError(f"trusted node key {node.key_id}: not base64") from None
        if key_id_of(raw) != node.key_id:
            raise TrustError(f"trusted node key {node.key_id}: key id does not match the key")
        trusted[node.key_id] = raw
    return trusted


def trust_node(
    public_raw: bytes, nation: str, home: Path | None = None, role: str = C2_ROLE
) -> None:
    """Add a c2 node's public key to the trusted keys (an ally's, or this nation's own);
    with ``role`` gateway, an effector gateway's to those c2 believes lifecycle steps of."""
    home = home or config_home()
    nodes = _read_trusted(home, role)
    key_id = key_id_of(public_raw)
    if any(node.key_id == key_id for node in nodes):
        return
    nodes.append(
        TrustedNode(
            nation=nation, key_id=key_id, public_key=base64.b64encode(public_raw).decode("ascii")
        )
    )
    path = _trusted_path(home, role)
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"nodes": msgspec.to_builtins(nodes)}
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


def node_key_for(nation: str, home: Path | None = None, role: str = C2_ROLE) -> NodeKey:
    """The nation's c2 node key (or, with ``role`` gateway, its effector gateways' key),
    made (and trusted for that role only) on first use."""
    home = home or config_home()
    name = f"{nation}.key" if role == C2_ROLE else f"{nation}-{role}.key"
    path = home / "nodes" / name
    if path.is_file():
        key = NodeKey.load(path, role)
    else:
        key = NodeKey.generate(nation, role)
        key.save(path)
    trust_node(key.public_raw, nation, home, role)
    return key


def gateway_key_for(nation: str, home: Path | None = None) -> NodeKey:
    """The key the nation's effector gateways sign lifecycle steps with (made and trusted
    by c2 on first use; ``nodes/gateways.yaml`` lists the others c2 believes)."""
    return node_key_for(nation, home, GATEWAY_ROLE)


def trusted_gateway_keys(home: Path | None = None) -> dict[str, bytes]:
    """Raw public keys of the effector gateways c2 believes lifecycle steps from."""
    return trusted_node_keys(home, GATEWAY_ROLE)
