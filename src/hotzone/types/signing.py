"""The exact bytes that are hashed and signed in the human-control chain (DESIGN.md §6).

Both sides of a signature need the same bytes: `hotzone.c2`, which verifies decisions, and
whoever signs them (an operator's console, the CLI, the simulated operator in `sim/`). The
bytes are the canonical msgspec JSON of the message (fields in declaration order) with the
hash or signature field emptied, behind a domain prefix so a signature over one kind of
message can never be replayed as another.
"""

from __future__ import annotations

import hashlib

import msgspec

from hotzone.types.messages import Decision, Proposal

PROPOSAL_DOMAIN = b"hotzone/proposal/v1\n"
DECISION_DOMAIN = b"hotzone/decision/v1\n"

_encoder = msgspec.json.Encoder()


def proposal_content_hash(proposal: Proposal) -> str:
    """SHA-256 (hex) of the proposal without its own ``content_hash``."""
    unhashed = msgspec.structs.replace(proposal, content_hash="")
    return hashlib.sha256(PROPOSAL_DOMAIN + _encoder.encode(unhashed)).hexdigest()


def decision_signing_bytes(decision: Decision) -> bytes:
    """What an operator's Ed25519 key signs: the decision without its ``signature``."""
    unsigned = msgspec.structs.replace(decision, signature="")
    return DECISION_DOMAIN + _encoder.encode(unsigned)
