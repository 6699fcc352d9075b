"""The hash-chained, signed and witnessed audit log of everything c2 did (docs/audit.md).

Each `AuditRecord` holds its sequence number, what happened (``kind``), who did it
(``actor``), the message or text concerned (``payload``), the hash of the record before it
and its own hash over all of these. Changing, deleting, inserting or reordering a record
breaks the chain at that record.

A hash chain alone proves nothing against whoever can rewrite all of it, or cut its tail
off. So the chain is anchored, as Certificate Transparency anchors its logs with signed
tree heads (RFC 9162, §4.10):

* the first record (kind ``open``) names the nation, the run mode, the c2 node key and how
  often the log signs its head;
* every ``checkpoint_every`` records the log appends a ``checkpoint`` record whose payload
  is an `AuditCheckpoint`, signed by the c2 node key, over the sequence and hash of the
  record before it; `AuditLog.close` appends a final one (``final=True``);
* the same checkpoints are drained (`AuditLog.drain_checkpoints`) for the runtime to
  publish on ``hz.{nation}.audit.checkpoint``, where allies store them as witnesses.

`verify_audit` checks a chain against the trusted node keys of the auditor's own
configuration (never a key found next to the records), the checkpoints stored with the
run, and the checkpoints allies witnessed; it names every fault it finds. `verify_chain`
is the older, hash-only check that returns the first broken record.

c2 builds the records; the runtime stores them (c2 sits below the store), so verification
works on any iterable of records: a store replay, a JSONL export, a list in a test.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

import msgspec

from hotzone.c2.trust import NodeKey
from hotzone.types import AuditCheckpoint, AuditRecord, Message, to_json
from hotzone.types.signing import checkpoint_signing_bytes, ed25519_valid

GENESIS_HASH = "0" * 64
"""The ``previous_hash`` of the first record of a log."""

C2_ACTOR = "c2"
"""The actor of the records the log writes itself (open and checkpoints)."""

_encoder = msgspec.json.Encoder()


class AuditKind(StrEnum):
    """What an audit record is about."""

    OPEN = "open"
    CHECKPOINT = "checkpoint"
    PROPOSAL = "proposal"
    DECISION = "decision"
    REFUSAL = "refusal"
    ORDER = "order"
    ACKNOWLEDGE = "acknowledge"
    ABORT = "abort"
    RESUME = "resume"
    OVERRIDE = "override"
    CUE = "cue"
    VOID = "void"
    EXPIRY = "expiry"
    EFFECTOR = "effector"
    """An effector gateway's report on an order (a lifecycle step or an operator alert)."""


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


def _recomputed(record: AuditRecord) -> str:
    return record_hash(
        record.sequence,
        record.time,
        record.kind,
        record.actor,
        record.payload,
        record.previous_hash,
        record.releasability,
    )


class OpenPayload(msgspec.Struct, frozen=True, kw_only=True):
    """The payload of an ``open`` record: whose log this is and how it is anchored.

    ``checkpoint_every`` is 0 when the log has no node key (it then signs nothing);
    ``resumed_after`` is the sequence the log resumed after (0 for a new log);
    ``chain_id`` makes every chain differ from its first record on (a random value unless
    the caller names the run), so two runs of one scenario never share a hash and an ally's
    witnesses of one run cannot be mistaken for another's.
    """

    nation: str
    mode: str
    key_id: str
    checkpoint_every: int = 0
    resumed_after: int = 0
    chain_id: str = ""


class AuditLog:
    """Builds the next records of a chain; resumes after ``last`` when given.

    With a ``node_key`` the log signs its head: after every record whose sequence is a
    multiple of ``checkpoint_every`` it appends a ``checkpoint`` record holding a signed
    `AuditCheckpoint` over that record, and `close` appends a final one. Checkpoints carry
    ``checkpoint_releasability`` (default: the log's own label; pass ``"NATO"`` or a REL
    label to let allies witness a national log, the checkpoint holding only a hash).
    """

    def __init__(
        self,
        last: AuditRecord | None = None,
        releasability: str = "NATO",
        *,
        node_key: NodeKey | None = None,
        nation: str = "",
        checkpoint_every: int = 50,
        checkpoint_releasability: str | None = None,
    ) -> None:
        if checkpoint_every < 1:
            raise ValueError(f"checkpoint_every must be at least 1, not {checkpoint_every}")
        self._next_sequence = 1 if last is None else last.sequence + 1
        self._previous_hash = GENESIS_HASH if last is None else last.record_hash
        self._releasability = releasability
        self._node_key = node_key
        self.nation = nation or (node_key.nation if node_key is not None else "")
        self.checkpoint_every = checkpoint_every
        self._checkpoint_releasability = checkpoint_releasability or releasability
        self.records: list[AuditRecord] = []
        self.checkpoints: list[AuditCheckpoint] = []

    @property
    def next_sequence(self) -> int:
        return self._next_sequence

    def open(self, time: datetime, mode: str, chain_id: str | None = None) -> AuditRecord:
        """Append the ``open`` record: the first of a new log, or the mark of a resumed one.

        ``chain_id`` names this chain (default: 128 random bits, hex); pass a stable one
        (the run's id) where a run must be reproduced byte for byte.
        """
        key_id = self._node_key.key_id if self._node_key is not None else ""
        payload = OpenPayload(
            nation=self.nation,
            mode=mode,
            key_id=key_id,
            checkpoint_every=self.checkpoint_every if self._node_key is not None else 0,
            resumed_after=self._next_sequence - 1,
            chain_id=secrets.token_hex(16) if chain_id is None else chain_id,
        )
        record = self._append(time, AuditKind.OPEN, C2_ACTOR, _encoder.encode(payload).decode())
        self._checkpoint_if_due(time, record)
        return record

    def append(
        self, time: datetime, kind: AuditKind, actor: str, payload: Message | str
    ) -> AuditRecord:
        if kind in (AuditKind.OPEN, AuditKind.CHECKPOINT):
            raise ValueError(f"{kind} records are written by the log itself (open, close)")
        text = payload if isinstance(payload, str) else to_json(payload).decode()  # type: ignore[arg-type]
        record = self._append(time, kind, actor, text)
        self._checkpoint_if_due(time, record)
        return record

    def close(self, time: datetime) -> AuditRecord:
        """Append the final signed checkpoint (the log's last head when c2 shuts down)."""
        if self._node_key is None:
            raise ValueError("an audit log without a node key cannot sign its final checkpoint")
        return self._checkpoint(time, final=True)

    def drain(self) -> list[AuditRecord]:
        """The records appended since the last drain (for the stage to publish)."""
        drained, self.records = self.records, []
        return drained

    def drain_checkpoints(self) -> list[AuditCheckpoint]:
        """The signed checkpoints since the last drain (published for allies to witness)."""
        drained, self.checkpoints = self.checkpoints, []
        return drained

    def _checkpoint_if_due(self, time: datetime, record: AuditRecord) -> None:
        if self._node_key is not None and record.sequence % self.checkpoint_every == 0:
            self._checkpoint(time, final=False)

    def _checkpoint(self, time: datetime, final: bool) -> AuditRecord:
        assert self._node_key is not None
        unsigned = AuditCheckpoint(
            time=time,
            nation=self.nation,
            sequence=self._next_sequence - 1,
            record_hash=self._previous_hash,
            key_id=self._node_key.key_id,
            signature="",
            final=final,
            releasability=self._checkpoint_releasability,
        )
        signed = msgspec.structs.replace(
            unsigned, signature=self._node_key.sign(checkpoint_signing_bytes(unsigned))
        )
        record = self._append(time, AuditKind.CHECKPOINT, C2_ACTOR, to_json(signed).decode())
        self.checkpoints.append(signed)
        return record

    def _append(self, time: datetime, kind: AuditKind, actor: str, text: str) -> AuditRecord:
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


class FaultKind(StrEnum):
    """What kind of tampering (or damage) a fault shows."""

    EDITED = "edited"
    """A record's content no longer matches its hash."""
    DELETED = "deleted"
    """Sequence numbers are missing: records were deleted."""
    REORDERED = "reordered"
    """Records stand out of sequence order: swapped or moved."""
    DUPLICATED = "duplicated"
    """A sequence number appears twice: a record was copied or inserted."""
    RELINKED = "relinked"
    """A record does not link to the one before it: one was replaced and re-hashed."""
    TRUNCATED = "truncated"
    """A signed checkpoint names records beyond the end: the tail was removed."""
    UNCLOSED = "unclosed"
    """The chain does not end in a final signed checkpoint."""
    EMPTIED = "emptied"
    """No records, where the run shows c2 ran."""
    UNTRUSTED = "untrusted"
    """A checkpoint signed by a key that is not a trusted c2 node key."""
    FORGED = "forged"
    """A checkpoint whose signature does not match its content."""
    REWRITTEN = "rewritten"
    """A signed checkpoint disagrees with the records: the chain was rewritten."""
    MALFORMED = "malformed"
    """An open or checkpoint record that does not hold what it should."""
    UNREADABLE = "unreadable"
    """A stored record that no longer decodes."""


@dataclass(frozen=True)
class ChainFault:
    """Where a chain breaks: the record's position (if one), its sequence, why, and what
    kind of tampering that shows."""

    index: int | None
    sequence: int | None
    reason: str
    kind: FaultKind = FaultKind.EDITED

    def __str__(self) -> str:
        if self.index is None:
            return self.reason
        where = f"record #{self.index + 1}"
        if self.sequence is not None:
            where += f" (sequence {self.sequence})"
        return f"{where}: {self.reason}"


def verify_chain(records: Iterable[AuditRecord]) -> ChainFault | None:
    """The first record that breaks the hash chain, or None if the whole chain holds.

    A changed record fails its own hash; a deleted one leaves a gap in the sequence and a
    ``previous_hash`` that points at a record no longer there; a swapped pair breaks at the
    first of the two. This checks no signature and cannot see a cut tail or a rewritten
    chain: `verify_audit` does.
    """
    expected_sequence = 1
    previous_hash = GENESIS_HASH
    for index, record in enumerate(records):
        if _recomputed(record) != record.record_hash:
            return ChainFault(
                index, record.sequence, "record hash does not match its content", FaultKind.EDITED
            )
        if record.sequence != expected_sequence:
            return ChainFault(
                index,
                record.sequence,
                f"sequence {record.sequence} where {expected_sequence} was expected",
                FaultKind.DELETED if record.sequence > expected_sequence else FaultKind.REORDERED,
            )
        if record.previous_hash != previous_hash:
            return ChainFault(
                index,
                record.sequence,
                "previous_hash does not match the record before",
                FaultKind.RELINKED,
            )
        expected_sequence += 1
        previous_hash = record.record_hash
    return None


@dataclass(frozen=True)
class AuditVerdict:
    """What `verify_audit` found: every fault (the first is the one to read first), and
    what was checked."""

    faults: list[ChainFault]
    records: int
    checkpoints_checked: int
    witnessed: int = 0
    last_signed_sequence: int | None = None
    closed: bool = False
    nation: str = ""
    unsigned_tail: int = 0
    """Records after the last signed checkpoint (0 for a closed log)."""

    @property
    def intact(self) -> bool:
        return not self.faults

    def summary(self) -> str:
        """``intact: …`` in one line, or one line per fault."""
        if self.faults:
            return "\n".join(str(fault) for fault in self.faults)
        text = f"intact: {self.records} records, {self.checkpoints_checked} checkpoints"
        if self.last_signed_sequence is not None:
            text += f" (last signed at sequence {self.last_signed_sequence})"
        text += f", {self.witnessed} witnessed"
        if self.unsigned_tail:
            verb = "is" if self.unsigned_tail == 1 else "are"
            text += f"; the last {_count(self.unsigned_tail, 'record')} {verb} not yet signed"
        return text


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _short(digest: str) -> str:
    return digest[:16]


def decode_checkpoint(payload: str) -> AuditCheckpoint | None:
    """The signed checkpoint a ``checkpoint`` record holds, or None if it holds none."""
    try:
        return msgspec.json.decode(payload, type=AuditCheckpoint)
    except (msgspec.DecodeError, msgspec.ValidationError, ValueError):
        return None


def decode_open(payload: str) -> OpenPayload | None:
    """What an ``open`` record says, or None if it says nothing readable."""
    try:
        return msgspec.json.decode(payload, type=OpenPayload)
    except (msgspec.DecodeError, msgspec.ValidationError, ValueError):
        return None


@dataclass
class _Audit:
    """The state of one `verify_audit` call."""

    chain: list[AuditRecord]
    trusted_keys: Mapping[str, bytes]
    faults: list[ChainFault] = field(default_factory=list)
    by_sequence: dict[int, int] = field(default_factory=dict)  # sequence -> first index
    bad: set[int] = field(default_factory=set)  # indexes whose content cannot be trusted
    nation: str = ""
    heads: dict[int, AuditCheckpoint] = field(default_factory=dict)  # by covered sequence
    checked: set[AuditCheckpoint] = field(default_factory=set)
    untrusted: dict[str, tuple[int, int]] = field(default_factory=dict)  # key -> (fault, n)
    failed: set[AuditCheckpoint] = field(default_factory=set)

    def fault(self, index: int | None, sequence: int | None, reason: str, kind: FaultKind) -> None:
        self.faults.append(ChainFault(index, sequence, reason, kind))

    def record(self, sequence: int) -> AuditRecord | None:
        index = self.by_sequence.get(sequence)
        return None if index is None else self.chain[index]

    def signature_holds(
        self, checkpoint: AuditCheckpoint, index: int | None, sequence: int | None, what: str
    ) -> bool:
        """Whether a checkpoint's signature holds; a fault (once per checkpoint, wherever
        else a copy of it is found) when it does not."""
        if checkpoint in self.failed:
            return False
        public_key = self.trusted_keys.get(checkpoint.key_id)
        if public_key is None:
            self.failed.add(checkpoint)
            seen = self.untrusted.get(checkpoint.key_id)
            if seen is None:
                self.untrusted[checkpoint.key_id] = (len(self.faults), 0)
                self.fault(
                    index,
                    sequence,
                    f"{what} at sequence {checkpoint.sequence} signed by key "
                    f"{checkpoint.key_id}, not a trusted c2 node key",
                    FaultKind.UNTRUSTED,
                )
            else:
                self.untrusted[checkpoint.key_id] = (seen[0], seen[1] + 1)
            return False
        if not ed25519_valid(
            public_key, checkpoint.signature, checkpoint_signing_bytes(checkpoint)
        ):
            self.failed.add(checkpoint)
            self.fault(
                index,
                sequence,
                f"{what} at sequence {checkpoint.sequence}: signature does not match its "
                f"content (key {checkpoint.key_id})",
                FaultKind.FORGED,
            )
            return False
        return True

    def finish_untrusted(self) -> None:
        for position, more in self.untrusted.values():
            if more:
                fault = self.faults[position]
                reason = f"{fault.reason} (and {_count(more, 'more checkpoint')} signed by it)"
                self.faults[position] = ChainFault(fault.index, fault.sequence, reason, fault.kind)


def verify_audit(
    records: Iterable[AuditRecord],
    *,
    trusted_keys: Mapping[str, bytes],
    checkpoints: Iterable[AuditCheckpoint] = (),
    witnesses: Iterable[AuditCheckpoint] = (),
    expect_records: bool = False,
    expect_closed: bool = True,
) -> AuditVerdict:
    """Check an audit chain and its anchors; name every kind of tampering found.

    ``records`` in stored order. ``trusted_keys``: key id -> raw Ed25519 public key of the
    c2 nodes the auditor trusts (from the auditor's own configuration). ``checkpoints``:
    the `AuditCheckpoint` messages stored with the run; ``witnesses``: those an ally
    stored (the caller picks the ones of this chain). ``expect_records``: the run shows
    c2 ran, so an empty log is a fault. ``expect_closed``: the log must end in a final
    signed checkpoint (False for a run still going).

    Checkpoints of another nation than the chain's (its ``open`` record says which) are
    left out: a store holds allies' checkpoints too.
    """
    audit = _Audit(list(records), trusted_keys)
    chain = audit.chain
    if not chain and expect_records:
        audit.fault(
            None,
            None,
            "no audit records, but the store shows c2 ran: the audit log was emptied",
            FaultKind.EMPTIED,
        )
    _check_records(audit)
    sequences = sorted(audit.by_sequence)
    _check_gaps(audit, sequences)
    _check_links(audit, sequences)
    last_signed = _check_anchors(audit, sequences)
    witnessed, checked_outside = _check_outside(audit, sequences, checkpoints, witnesses)
    closed = _check_closed(audit, sequences, expect_closed)
    audit.finish_untrusted()
    last_sequence = sequences[-1] if sequences else 0
    signed_through = 0 if last_signed is None else last_signed + 1  # and the checkpoint
    unsigned = 0 if closed else last_sequence - signed_through
    return AuditVerdict(
        faults=audit.faults,
        records=len(chain),
        checkpoints_checked=len(audit.checked) + checked_outside,
        witnessed=witnessed,
        last_signed_sequence=last_signed,
        closed=closed,
        nation=audit.nation,
        unsigned_tail=max(unsigned, 0),
    )


def _check_records(audit: _Audit) -> None:
    """Each record against its own hash; the stored order against the sequence order."""
    previous: AuditRecord | None = None
    for index, record in enumerate(audit.chain):
        if _recomputed(record) != record.record_hash:
            audit.bad.add(index)
            audit.fault(
                index,
                record.sequence,
                "record hash does not match its content: the record was edited",
                FaultKind.EDITED,
            )
        first = audit.by_sequence.get(record.sequence)
        if first is not None:
            audit.bad.add(index)
            audit.fault(
                index,
                record.sequence,
                f"sequence {record.sequence} appears again (first at record #{first + 1}): "
                "a record was copied or inserted",
                FaultKind.DUPLICATED,
            )
        elif previous is not None and record.sequence < previous.sequence:
            audit.fault(
                index,
                record.sequence,
                f"stands after sequence {previous.sequence}: records were swapped or reordered",
                FaultKind.REORDERED,
            )
        if first is None:
            audit.by_sequence[record.sequence] = index
        previous = record


def _check_gaps(audit: _Audit, sequences: list[int]) -> None:
    """Missing sequence numbers: deleted records."""
    previous = 0
    for sequence in sequences:
        if sequence > previous + 1:
            missing = sequence - previous - 1
            gone = (
                f"record {previous + 1} was deleted"
                if missing == 1
                else f"records {previous + 1}-{sequence - 1} were deleted ({missing} records)"
            )
            reason = (
                f"the chain starts at sequence {sequence}: {gone}"
                if previous == 0
                else f"sequence {previous} is followed by sequence {sequence}: {gone}"
            )
            audit.fault(
                audit.by_sequence[sequence],
                sequence,
                reason,
                FaultKind.DELETED,
            )
        previous = sequence


def _check_links(audit: _Audit, sequences: list[int]) -> None:
    """Each record's ``previous_hash`` against the hash of the record before it."""
    for sequence in sequences:
        index = audit.by_sequence[sequence]
        if index in audit.bad:
            continue
        record = audit.chain[index]
        if sequence == 1:
            if record.previous_hash != GENESIS_HASH:
                audit.bad.add(index)
                audit.fault(
                    index,
                    sequence,
                    "the first record does not start a chain (its previous_hash is not the "
                    "genesis hash): records before it were removed and it was re-hashed",
                    FaultKind.RELINKED,
                )
            continue
        before = audit.by_sequence.get(sequence - 1)
        if before is None or before in audit.bad:
            continue
        if record.previous_hash != audit.chain[before].record_hash:
            audit.bad.add(index)
            audit.fault(
                index,
                sequence,
                f"previous_hash does not match the hash of record {sequence - 1}: one of "
                "them was replaced and re-hashed",
                FaultKind.RELINKED,
            )


def _check_anchors(audit: _Audit, sequences: list[int]) -> int | None:
    """The open and checkpoint records: who signed, over what; returns the last signed
    sequence (the highest record covered by a valid checkpoint record)."""
    key_id = ""
    every = 0
    last_signed: int | None = None
    for sequence in sequences:
        index = audit.by_sequence[sequence]
        if index in audit.bad:
            continue
        record = audit.chain[index]
        if record.kind == AuditKind.OPEN:
            opened = decode_open(record.payload)
            if opened is None:
                audit.fault(
                    index,
                    sequence,
                    "open record does not say whose log it is",
                    FaultKind.MALFORMED,
                )
                continue
            if not audit.nation:
                audit.nation = opened.nation
            elif opened.nation != audit.nation:
                audit.fault(
                    index,
                    sequence,
                    f"open record names nation {opened.nation}, the chain is {audit.nation}'s",
                    FaultKind.REWRITTEN,
                )
            key_id, every = opened.key_id, opened.checkpoint_every
        if record.kind == AuditKind.CHECKPOINT:
            signed = _check_checkpoint_record(audit, index, record, key_id)
            if signed is not None:
                last_signed = signed
            continue
        if every and sequence % every == 0:
            following = audit.record(sequence + 1)
            if following is not None and following.kind != AuditKind.CHECKPOINT:
                audit.fault(
                    audit.by_sequence[sequence + 1],
                    sequence + 1,
                    f"should be the checkpoint over sequence {sequence} (the open record says "
                    f"one every {every} records) but is a {following.kind!r} record: the "
                    "chain was rewritten",
                    FaultKind.REWRITTEN,
                )
    return last_signed


def _check_checkpoint_record(
    audit: _Audit, index: int, record: AuditRecord, key_id: str
) -> int | None:
    sequence = record.sequence
    checkpoint = decode_checkpoint(record.payload)
    if checkpoint is None:
        audit.fault(
            index, sequence, "checkpoint record holds no signed checkpoint", FaultKind.MALFORMED
        )
        return None
    if checkpoint.sequence != sequence - 1 or checkpoint.record_hash != record.previous_hash:
        audit.fault(
            index,
            sequence,
            f"holds a checkpoint over sequence {checkpoint.sequence}, not over the record "
            "before it: a checkpoint was copied in or the chain rewritten",
            FaultKind.REWRITTEN,
        )
        return None
    if not audit.signature_holds(checkpoint, index, sequence, "checkpoint"):
        return None
    if key_id and checkpoint.key_id != key_id:
        audit.fault(
            index,
            sequence,
            f"checkpoint at sequence {checkpoint.sequence} signed by key {checkpoint.key_id}, "
            f"but the open record names key {key_id}",
            FaultKind.UNTRUSTED,
        )
        return None
    if audit.nation and checkpoint.nation != audit.nation:
        audit.fault(
            index,
            sequence,
            f"checkpoint at sequence {checkpoint.sequence} is for nation {checkpoint.nation}, "
            f"the chain is {audit.nation}'s",
            FaultKind.REWRITTEN,
        )
        return None
    if not audit.nation:
        audit.nation = checkpoint.nation
    audit.heads[checkpoint.sequence] = checkpoint
    audit.checked.add(checkpoint)
    return checkpoint.sequence


def _check_outside(
    audit: _Audit,
    sequences: list[int],
    checkpoints: Iterable[AuditCheckpoint],
    witnesses: Iterable[AuditCheckpoint],
) -> tuple[int, int]:
    """Stored and witnessed checkpoints against the chain; returns (witnessed, stored
    checkpoints checked that no record holds)."""
    last = sequences[-1] if sequences else 0
    witnessed = 0
    checked_outside = 0
    beyond: tuple[AuditCheckpoint, str] | None = None
    for source, items in (("stored", checkpoints), ("witnessed", witnesses)):
        seen: set[AuditCheckpoint] = set()
        for checkpoint in items:
            if checkpoint in seen or (audit.nation and checkpoint.nation != audit.nation):
                continue
            seen.add(checkpoint)
            known = checkpoint in audit.checked
            if not known and not audit.signature_holds(
                checkpoint, None, None, f"{source} checkpoint"
            ):
                continue
            if source == "stored" and not known:
                checked_outside += 1
            covered = checkpoint.sequence
            if covered + 1 > last:
                if beyond is None or covered > beyond[0].sequence:
                    beyond = (checkpoint, source)
                continue
            if _disagrees(audit, checkpoint, source):
                continue
            if source == "witnessed":
                witnessed += 1
    if beyond is not None:
        checkpoint, source = beyond
        removed = checkpoint.sequence + 1 - last
        what = "final checkpoint" if checkpoint.final else "checkpoint"
        if sequences:
            reason = (
                f"the last record is sequence {last} but {what} {checkpoint.sequence} was "
                f"signed ({source}): tail of at least {_count(removed, 'record')} removed"
            )
        else:
            reason = (
                f"no records remain but {what} {checkpoint.sequence} was signed ({source}): "
                f"at least {_count(removed, 'record')} removed"
            )
        audit.fault(None, None, reason, FaultKind.TRUNCATED)
    return witnessed, checked_outside


def _disagrees(audit: _Audit, checkpoint: AuditCheckpoint, source: str) -> bool:
    """Record a fault if a signed checkpoint disagrees with the records; True if it does."""
    covered = checkpoint.sequence
    record = audit.record(covered)
    if covered > 0 and record is None:
        return True  # a deleted record: the gap is already named
    if record is not None and record.record_hash != checkpoint.record_hash:
        audit.fault(
            None,
            None,
            f"{source} checkpoint at sequence {covered} names hash "
            f"{_short(checkpoint.record_hash)}, but record {covered} has hash "
            f"{_short(record.record_hash)}: the chain was rewritten after it was signed",
            FaultKind.REWRITTEN,
        )
        return True
    holder = audit.record(covered + 1)
    held = decode_checkpoint(holder.payload) if holder is not None else None
    if held is None or held != checkpoint:
        audit.fault(
            None,
            None,
            f"{source} checkpoint at sequence {covered} is not the one record {covered + 1} "
            "holds: the chain was rewritten after it was signed",
            FaultKind.REWRITTEN,
        )
        return True
    return False


def _check_closed(audit: _Audit, sequences: list[int], expect_closed: bool) -> bool:
    """Whether the chain ends in a valid final checkpoint; a fault if it must and does not."""
    if not sequences:
        return False
    last = sequences[-1]
    index = audit.by_sequence[last]
    record = audit.chain[index]
    head = audit.heads.get(last - 1)
    if record.kind == AuditKind.CHECKPOINT and head is not None and head.final:
        return True
    if not expect_closed or index in audit.bad:
        return False  # not asked for, or the last record is already named as edited
    if record.kind == AuditKind.CHECKPOINT:
        final = decode_checkpoint(record.payload)
        if final is None or final.final:
            return False  # a final checkpoint that failed, already named
    signed = [sequence for sequence in audit.heads if sequence < last]
    covered = (
        f"the last signed checkpoint covers sequence {max(signed)}"
        if signed
        else "no record is covered by a trusted signature"
    )
    audit.fault(
        index,
        last,
        f"the chain does not end in a final signed checkpoint (the last record is of kind "
        f"{record.kind!r}); {covered}: its tail was removed or c2 did not close the log",
        FaultKind.UNCLOSED,
    )
    return False
