"""Real signed audit chains in real stores, and the ways an attacker tampers with them.

Every chain is built by `AuditLog` with a real `NodeKey` (``node_key_for``, so trusted in
the given home) and stored in a real `SQLiteStore` the way the runtime stores it: records
on ``hz.PL.audit``, published checkpoints on ``hz.PL.audit.checkpoint``, and a proposal on
``hz.PL.c2.proposal`` to show c2 ran. Tampering works on the SQLite file itself.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import msgspec

from hotzone.c2.audit import (
    GENESIS_HASH,
    AuditKind,
    AuditLog,
    decode_checkpoint,
    decode_open,
    record_hash,
)
from hotzone.c2.trust import NodeKey, node_key_for
from hotzone.store import SQLiteStore
from hotzone.types import AnyMessage, AuditCheckpoint, AuditRecord, to_json
from hotzone.types.signing import checkpoint_signing_bytes
from hotzone.types.subjects import audit_subject, c2_subject, checkpoint_subject
from tests.c2.factories import make_proposal, seconds

NATION = "PL"
KINDS = [AuditKind.PROPOSAL, AuditKind.DECISION, AuditKind.REFUSAL, AuditKind.ORDER]


@dataclass
class Chain:
    records: list[AuditRecord]
    checkpoints: list[AuditCheckpoint]


def build_chain(
    key: NodeKey,
    events: int = 1000,
    every: int = 50,
    close: bool = True,
    start: float = 0.0,
    releasability: str = "REL PL LT",
) -> Chain:
    """A c2 log: open, ``events`` records (every hundredth a real proposal), close."""
    log = AuditLog(releasability=releasability, node_key=key, checkpoint_every=every)
    proposal = make_proposal()
    log.open(seconds(start), "live")
    for index in range(events):
        payload = proposal if index % 100 == 0 else f"event {index}: reason {index % 7}"
        log.append(
            seconds(start + 1 + index * 0.5),
            KINDS[index % len(KINDS)],
            f"op-{index % 5}",
            payload,
        )
    if close:
        log.close(seconds(start + 1 + events))
    return Chain(log.drain(), log.drain_checkpoints())


def store_chain(path: Path, chain: Chain, c2_ran: bool = True) -> Path:
    """Write the chain to a SQLite store as the runtime does; returns the store path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    items: list[tuple[str, AnyMessage]] = []
    if c2_ran:
        items.append((c2_subject(NATION, "proposal"), make_proposal()))
    items.extend((audit_subject(NATION), record) for record in chain.records)
    items.extend((checkpoint_subject(NATION), checkpoint) for checkpoint in chain.checkpoints)
    with SQLiteStore(path) as store:
        store.append_many(items)
    return path


def make_run(folder: Path, home: Path, events: int = 1000, close: bool = True) -> Chain:
    """A run folder (``folder/hotzone.sqlite``) whose chain is signed by the home's key."""
    chain = build_chain(node_key_for(NATION, home), events=events, close=close)
    store_chain(folder / "hotzone.sqlite", chain)
    return chain


def witness_store(path: Path, *chains: Chain) -> Path:
    """An ally's store holding the checkpoints it received from PL, chain after chain."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with SQLiteStore(path) as store:
        store.append_many(
            (checkpoint_subject(NATION), checkpoint)
            for chain in chains
            for checkpoint in chain.checkpoints
        )
    return path


# --- tampering with the SQLite file -------------------------------------------------------


def audit_rows(connection: sqlite3.Connection, tag: str = "audit") -> list[tuple[int, bytes]]:
    """(row sequence, payload) of every stored message of one type, in stored order."""
    rows = connection.execute(
        "SELECT sequence, payload FROM messages WHERE type = ? ORDER BY sequence", (tag,)
    ).fetchall()
    return [(int(row), bytes(payload)) for row, payload in rows]


def edit_record(path: Path, position: int, **changes: object) -> None:
    """Change fields of the audit record at a 1-based position, leaving its hash."""
    with sqlite3.connect(path) as connection:
        row, payload = audit_rows(connection)[position - 1]
        document = msgspec.json.decode(payload)
        document.update(changes)
        connection.execute(
            "UPDATE messages SET payload = ? WHERE sequence = ?",
            (msgspec.json.encode(document), row),
        )


def delete_records(path: Path, positions: list[int]) -> None:
    """Delete the audit records at these 1-based positions (negative: from the end)."""
    with sqlite3.connect(path) as connection:
        rows = audit_rows(connection)
        for position in positions:
            row, _ = rows[position - 1] if position > 0 else rows[position]
            connection.execute("DELETE FROM messages WHERE sequence = ?", (row,))


def swap_records(path: Path, first: int, second: int) -> None:
    """Swap the stored places of two audit records (1-based positions)."""
    with sqlite3.connect(path) as connection:
        rows = audit_rows(connection)
        (row_a, payload_a), (row_b, payload_b) = rows[first - 1], rows[second - 1]
        connection.execute("UPDATE messages SET payload = ? WHERE sequence = ?", (payload_b, row_a))
        connection.execute("UPDATE messages SET payload = ? WHERE sequence = ?", (payload_a, row_b))


def delete_all(path: Path, tag: str = "audit") -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("DELETE FROM messages WHERE type = ?", (tag,))


def read_records(path: Path) -> list[AuditRecord]:
    with sqlite3.connect(path) as connection:
        rows = audit_rows(connection)
    return [msgspec.json.decode(payload, type=AuditRecord) for _, payload in rows]


def rewrite(
    records: list[AuditRecord],
    key: NodeKey,
    start: int = 1,
    drop: frozenset[int] = frozenset(),
    rename_key: bool = True,
) -> Chain:
    """What an attacker with ``key`` does: keep records before ``start``, drop the records
    whose sequence is in ``drop``, renumber and re-hash the rest, and re-sign every
    checkpoint (and, with ``rename_key``, name ``key`` in the open record) so the chain
    holds again."""
    kept: list[AuditRecord] = []
    checkpoints: list[AuditCheckpoint] = []
    previous = GENESIS_HASH
    for record in records:
        if record.sequence in drop:
            continue
        if record.sequence < start:
            kept.append(record)
            previous = record.record_hash
            if (held := decode_checkpoint(record.payload)) is not None:
                checkpoints.append(held)
            continue
        sequence = len(kept) + 1
        payload = record.payload
        opened = decode_open(payload) if record.kind == AuditKind.OPEN and rename_key else None
        if opened is not None:
            reopened = msgspec.structs.replace(opened, key_id=key.key_id)
            payload = msgspec.json.encode(reopened).decode()
        if record.kind == AuditKind.CHECKPOINT and (held := decode_checkpoint(payload)):
            unsigned = msgspec.structs.replace(
                held, sequence=sequence - 1, record_hash=previous, key_id=key.key_id, signature=""
            )
            signed = msgspec.structs.replace(
                unsigned, signature=key.sign(checkpoint_signing_bytes(unsigned))
            )
            checkpoints.append(signed)
            payload = to_json(signed).decode()
        digest = record_hash(
            sequence,
            record.time,
            record.kind,
            record.actor,
            payload,
            previous,
            record.releasability,
        )
        kept.append(
            msgspec.structs.replace(
                record,
                sequence=sequence,
                payload=payload,
                previous_hash=previous,
                record_hash=digest,
            )
        )
        previous = digest
    return Chain(kept, checkpoints)


def replace_chain(path: Path, chain: Chain) -> None:
    """Put a rewritten chain (records and stored checkpoints) in place of the stored one."""
    delete_all(path, "audit")
    delete_all(path, "audit_checkpoint")
    with SQLiteStore(path) as store:
        store.append_many(
            [
                *((audit_subject(NATION), record) for record in chain.records),
                *((checkpoint_subject(NATION), cp) for cp in chain.checkpoints),
            ]
        )


def cut_and_reclose(path: Path, key: NodeKey, count: int) -> None:
    """What an insider holding the node key does: cut the last ``count`` records, sign a new
    final checkpoint, and replace the stored checkpoints with it."""
    kept = read_records(path)[:-count]
    log = AuditLog(last=kept[-1], releasability=kept[-1].releasability, node_key=key)
    log.close(kept[-1].time)
    replace_chain(path, Chain([*kept, *log.drain()], log.drain_checkpoints()))
