"""The hash-chained audit log of everything c2 did (DESIGN.md §6.3).

Each `AuditRecord` holds its sequence number, what happened (``kind``), who did it
(``actor``), the message or text concerned (``payload``), the hash of the record before it
and its own hash over all of these. Changing, deleting, inserting or reordering any record
breaks the chain at that record, and `verify_chain` names the first one that breaks.

c2 builds the records; the runtime stores them (c2 sits below the store), so verification
works on any iterable of records: a store replay, a JSONL export, a list in a test.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import msgspec

from hotzone.types import AuditRecord, Message, to_json

GENESIS_HASH = "0" * 64
"""The ``previous_hash`` of the first record of a log."""

_encoder = msgspec.json.Encoder()


class AuditKind(StrEnum):
    """What an audit record is about."""

    PROPOSAL = "proposal"
    DECISION = "decision"
    REFUSAL = "refusal"
    ORDER = "order"
    ABORT = "abort"
    RESUME = "resume"
    OVERRIDE = "override"
    CUE = "cue"
    VOID = "void"
    EXPIRY = "expiry"


def record_hash(
    sequence: int,
    time: datetime,
    kind: str,
    actor: str,
    payload: str,
    previous_hash: str,
    releasability: str = "NATO",
) -> str:
    """SHA-256 (hex) over the canonical JSON of every field of a record but its own hash."""
    body = _encoder.encode([sequence, time, kind, actor, payload, previous_hash, releasability])
    return hashlib.sha256(b"hotzone/audit/v1\n" + body).hexdigest()


class AuditLog:
    """Builds the next records of a chain; resumes after ``last`` when given."""

    def __init__(self, last: AuditRecord | None = None, releasability: str = "NATO") -> None:
        self._next_sequence = 1 if last is None else last.sequence + 1
        self._previous_hash = GENESIS_HASH if last is None else last.record_hash
        self._releasability = releasability
        self.records: list[AuditRecord] = []

    def append(
        self, time: datetime, kind: AuditKind, actor: str, payload: Message | str
    ) -> AuditRecord:
        text = payload if isinstance(payload, str) else to_json(payload).decode()  # type: ignore[arg-type]
        sequence = self._next_sequence
        digest = record_hash(
            sequence, time, str(kind), actor, text, self._previous_hash, self._releasability
        )
        record = AuditRecord(
            sequence=sequence,
            time=time,
            kind=str(kind),
            actor=actor,
            payload=text,
            previous_hash=self._previous_hash,
            record_hash=digest,
            releasability=self._releasability,
        )
        self._next_sequence += 1
        self._previous_hash = digest
        self.records.append(record)
        return record

    def drain(self) -> list[AuditRecord]:
        """The records appended since the last drain (for the stage to publish)."""
        drained, self.records = self.records, []
        return drained


@dataclass(frozen=True)
class ChainFault:
    """The first record at which a chain breaks: its position, sequence and why."""

    index: int
    sequence: int | None
    reason: str

    def __str__(self) -> str:
        where = f"record #{self.index + 1}"
        if self.sequence is not None:
            where += f" (sequence {self.sequence})"
        return f"{where}: {self.reason}"


def verify_chain(records: Iterable[AuditRecord]) -> ChainFault | None:
    """The first record that breaks the chain, or None if the whole chain holds.

    A changed record fails its own hash; a deleted one leaves a gap in the sequence and a
    ``previous_hash`` that points at a record no longer there; a swapped pair breaks at the
    first of the two.
    """
    expected_sequence = 1
    previous_hash = GENESIS_HASH
    for index, record in enumerate(records):
        recomputed = record_hash(
            record.sequence,
            record.time,
            record.kind,
            record.actor,
            record.payload,
            record.previous_hash,
            record.releasability,
        )
        if recomputed != record.record_hash:
            return ChainFault(index, record.sequence, "record hash does not match its content")
        if record.sequence != expected_sequence:
            return ChainFault(
                index,
                record.sequence,
                f"sequence {record.sequence} where {expected_sequence} was expected",
            )
        if record.previous_hash != previous_hash:
            return ChainFault(
                index, record.sequence, "previous_hash does not match the record before"
            )
        expected_sequence += 1
        previous_hash = record.record_hash
    return None
