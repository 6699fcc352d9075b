"""The exact bytes that are hashed and signed in the human-control chain (docs/architecture.md).

Both sides of a signature need the same bytes: `hotzone.c2`, which verifies decisions and
signs orders and audit checkpoints, and whoever signs or checks them elsewhere (an
operator's console, the CLI, the browser's authenticator, the simulated operator in
`sim/`, every consumer of an order). The bytes are the canonical msgspec JSON of the
message (fields in declaration order) with the hash or signature fields emptied, behind a
domain prefix so a signature over one kind of message can never be replayed as another.

Order verification lives here too, at the bottom of the layers, because every consumer of
an order (the effect model, effector gateways, the picture, an ally's importer) must check
it before acting on or showing it, and those sit in layers that may not import `c2`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hotzone.types.messages import AuditCheckpoint, Decision, Event, Proposal, TaskOrder

PROPOSAL_DOMAIN = b"hotzone/proposal/v1\n"
DECISION_DOMAIN = b"hotzone/decision/v1\n"
ORDER_DOMAIN = b"hotzone/order/v1\n"
CHECKPOINT_DOMAIN = b"hotzone/audit-checkpoint/v1\n"
LIFECYCLE_DOMAIN = b"hotzone/effector-lifecycle/v1\n"

#: The attributes of an effector gateway's lifecycle `Event` that carry its signature.
SIGNER_ATTRIBUTE = "signer_key_id"
SIGNATURE_ATTRIBUTE = "signature"

_encoder = msgspec.json.Encoder()


def key_id_of(public_key_raw: bytes) -> str:
    """A public key's identifier: the first 16 hex digits of SHA-256 over its raw bytes."""
    return hashlib.sha256(public_key_raw).hexdigest()[:16]


def proposal_content_hash(proposal: Proposal) -> str:
    """SHA-256 (hex) of the proposal without its own ``content_hash``."""
    unhashed = msgspec.structs.replace(proposal, content_hash="")
    return hashlib.sha256(PROPOSAL_DOMAIN + _encoder.encode(unhashed)).hexdigest()


def decision_signing_bytes(decision: Decision) -> bytes:
    """What an operator signs: the decision without its ``signature`` and ``assertion``."""
    unsigned = msgspec.structs.replace(decision, signature="", assertion=None)
    return DECISION_DOMAIN + _encoder.encode(unsigned)


def decision_challenge(decision: Decision) -> bytes:
    """The WebAuthn challenge for ``decision``: SHA-256 of its signing bytes (32 bytes).

    The authenticator signs the client data that holds this challenge, so an assertion is
    bound to the proposal hash, verdict, operator, role, time and decision id.
    """
    return hashlib.sha256(decision_signing_bytes(decision)).digest()


def decision_hash(decision: Decision) -> str:
    """SHA-256 (hex) of the whole signed decision, as an order names it."""
    return hashlib.sha256(DECISION_DOMAIN + _encoder.encode(decision)).hexdigest()


def order_signing_bytes(order: TaskOrder) -> bytes:
    """What the issuing c2 node signs: the order without its ``signature``."""
    return ORDER_DOMAIN + _encoder.encode(msgspec.structs.replace(order, signature=""))


def checkpoint_signing_bytes(checkpoint: AuditCheckpoint) -> bytes:
    """What the c2 node signs in an audit checkpoint: everything but the signature."""
    unsigned = msgspec.structs.replace(checkpoint, signature="")
    return CHECKPOINT_DOMAIN + _encoder.encode(unsigned)


def ed25519_valid(public_key_raw: bytes, signature_b64: str, signed: bytes) -> bool:
    """Whether ``signature_b64`` is a valid Ed25519 signature of ``signed``."""
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        Ed25519PublicKey.from_public_bytes(public_key_raw).verify(signature, signed)
    except (binascii.Error, InvalidSignature, ValueError):
        return False
    return True


def order_fault(order: TaskOrder, trusted_issuers: Mapping[str, bytes]) -> str | None:
    """Why ``order`` must not be acted on or shown, or None when its signature holds.

    ``trusted_issuers`` maps the key ids of the c2 nodes this consumer trusts (from the
    nation's configuration, never from the order) to their raw Ed25519 public keys.
    """
    if not order.signature:
        return f"order {order.order_id} is not signed"
    public_key = trusted_issuers.get(order.issuer_key_id)
    if public_key is None:
        return (
            f"order {order.order_id} is signed by key {order.issuer_key_id!r}, "
            "not a trusted c2 node"
        )
    if not order.decision_ids or len(order.decision_hashes) != len(order.decision_ids):
        return f"order {order.order_id} names no authorizing decisions"
    if not ed25519_valid(public_key, order.signature, order_signing_bytes(order)):
        return f"order {order.order_id}: signature does not match its content"
    return None


def lifecycle_signing_bytes(event: Event) -> bytes:
    """What an effector gateway signs in a lifecycle `Event`: the event with the
    ``signature`` attribute left out (the signer's key id is signed with the rest)."""
    attributes = {k: v for k, v in event.attributes.items() if k != SIGNATURE_ATTRIBUTE}
    unsigned = msgspec.structs.replace(event, attributes=attributes)
    return LIFECYCLE_DOMAIN + _encoder.encode(unsigned)


def lifecycle_fault(event: Event, trusted_gateways: Mapping[str, bytes]) -> str | None:
    """Why a lifecycle `Event` must not be believed, or None when a trusted effector
    gateway's key signed exactly this content.

    ``trusted_gateways`` maps the key ids of the gateways this c2 trusts (its
    configuration, ``$HOTZONE_HOME/nodes/gateways.yaml``) to their raw Ed25519 public keys.
    """
    what = (
        f"{event.attributes.get('lifecycle', '?')} of order {event.attributes.get('order_id', '?')}"
    )
    signature = event.attributes.get(SIGNATURE_ATTRIBUTE, "")
    key_id = event.attributes.get(SIGNER_ATTRIBUTE, "")
    if not signature:
        return f"lifecycle event {event.event_id} ({what}) is not signed"
    public_key = trusted_gateways.get(key_id)
    if public_key is None:
        return (
            f"lifecycle event {event.event_id} ({what}) is signed by key {key_id!r}, "
            "not a trusted effector gateway"
        )
    if not ed25519_valid(public_key, signature, lifecycle_signing_bytes(event)):
        return f"lifecycle event {event.event_id} ({what}): signature does not match its content"
    return None
