"""``hotzone audit verify|export RUN_OR_DB``: check and export the signed audit chain.

``RUN_OR_DB`` is a run folder (its ``hotzone.sqlite``), a SQLite store file, or a JSONL
file of audit records (e.g. ``outputs/audit.jsonl``). The store is opened read-only: an
audit never writes to the evidence it checks.

``verify`` checks the chain, its signed checkpoints and, with ``--witness``, the
checkpoints an ally stored, against the c2 node keys trusted in the auditor's own
configuration (``--home``, default ``$HOTZONE_HOME``), never a key found in the run. It
prints ``intact: …`` and exits 0, or one line per fault and exits 1; bad input exits 2.
See docs/audit.md.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hotzone.commands.common import CommandError, OutputFile, SubParsers

if TYPE_CHECKING:
    import sqlite3

    from hotzone.c2.audit import AuditVerdict, ChainFault
    from hotzone.types import AuditCheckpoint, AuditRecord

C2_EVIDENCE_TYPES = ("proposal", "c2_state", "decision_outcome")
"""Stored message types that show c2 ran (and so wrote audit records)."""


class UnreadableRecordError(Exception):
    """A stored record that no longer decodes: the chain breaks there."""

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(f"record #{index + 1}: cannot be read: {reason}")
        self.index = index


@dataclass
class AuditSource:
    """What a store or JSONL file holds for an audit: records, checkpoints, evidence."""

    path: Path
    records: list[AuditRecord] = field(default_factory=list)
    checkpoints: list[AuditCheckpoint] = field(default_factory=list)
    unreadable: list[tuple[int, str]] = field(default_factory=list)
    """(position among the audit records, why) of records that no longer decode."""
    c2_messages: int = 0
    """Proposals, c2 states and decision outcomes stored: c2 ran."""
    audit_nation: str = ""
    """The nation named by the subject of the first audit record (``hz.PL.audit``)."""
    c2_nation: str = ""
    """The nation named by the subject of the first c2 message (``hz.PL.c2.proposal``)."""
    skipped: int = 0
    """Checkpoint rows that no longer decode."""


def store_path(run_or_db: Path) -> Path:
    """The SQLite file of a run folder, or the path itself."""
    if run_or_db.is_dir():
        candidate = run_or_db / "hotzone.sqlite"
        if not candidate.is_file():
            raise CommandError(f"{run_or_db}: a run folder holds hotzone.sqlite; none found")
        return candidate
    if not run_or_db.is_file():
        raise CommandError(f"{run_or_db}: no such run folder or file")
    return run_or_db


def read_source(run_or_db: Path) -> AuditSource:
    """Everything an audit reads from a run folder, SQLite store or JSONL file."""
    path = store_path(run_or_db)
    source = AuditSource(path)
    if path.suffix == ".jsonl":
        _read_jsonl(source)
    else:
        _read_sqlite(source)
    return source


def _take(source: AuditSource, tag: str, subject: str, payload: bytes) -> None:
    """File one stored message (its type tag, subject and JSON) into ``source``."""
    from hotzone.types import AuditCheckpoint, AuditRecord, DecodeError, ValidationError, from_json

    tokens = subject.split(".")
    if tag in C2_EVIDENCE_TYPES:
        source.c2_messages += 1
        if not source.c2_nation and len(tokens) > 2 and tokens[0] == "hz":
            source.c2_nation = tokens[1]
        return
    try:
        message = from_json(payload)
    except (DecodeError, ValidationError, ValueError) as error:
        reason: str | None = str(error)
    else:
        expected = AuditRecord if tag == "audit" else AuditCheckpoint
        reason = None
        if not isinstance(message, expected):
            reason = f"a {type(message).__name__}, not an {expected.__name__}"
    if tag == "audit":
        if reason is not None:
            source.unreadable.append((len(source.records) + len(source.unreadable), reason))
            return
        assert isinstance(message, AuditRecord)
        source.records.append(message)
        if not source.audit_nation and len(tokens) == 3 and tokens[0] == "hz":
            source.audit_nation = tokens[1]
    elif reason is None:
        assert isinstance(message, AuditCheckpoint)
        source.checkpoints.append(message)
    else:
        source.skipped += 1


def _read_jsonl(source: AuditSource) -> None:
    from hotzone.types import (
        AuditCheckpoint,
        AuditRecord,
        C2State,
        DecisionOutcome,
        DecodeError,
        Proposal,
        ValidationError,
        from_json,
    )

    try:
        lines = source.path.read_bytes().splitlines()
    except OSError as error:
        raise CommandError(f"{source.path}: {error.strerror}") from None
    for line in lines:
        if not line.strip():
            continue
        try:
            message = from_json(line)
        except (DecodeError, ValidationError, ValueError) as error:
            position = len(source.records) + len(source.unreadable)
            source.unreadable.append((position, str(error)))
            continue
        if isinstance(message, AuditRecord):
            source.records.append(message)
        elif isinstance(message, AuditCheckpoint):
            source.checkpoints.append(message)
        elif isinstance(message, Proposal | C2State | DecisionOutcome):
            source.c2_messages += 1


def _connect_read_only(path: Path) -> sqlite3.Connection:
    import sqlite3

    return sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)


def _read_sqlite(source: AuditSource) -> None:
    import sqlite3

    query = (
        "SELECT subject, type, payload FROM messages WHERE type IN ('audit', "
        "'audit_checkpoint', 'proposal', 'c2_state', 'decision_outcome') ORDER BY sequence"
    )
    try:
        connection = _connect_read_only(source.path)
        try:
            for subject, tag, payload in connection.execute(query):
                _take(source, str(tag), str(subject), bytes(payload))
        finally:
            connection.close()
    except sqlite3.Error as error:
        raise CommandError(f"{source.path}: not a hotzone store: {error}") from None


def audit_records(run_or_db: Path) -> Iterator[AuditRecord]:
    """The audit records in order; an undecodable one raises `UnreadableRecordError`."""
    source = read_source(run_or_db)
    if source.unreadable:
        raise UnreadableRecordError(*source.unreadable[0])
    yield from source.records


def run_nation(source: AuditSource, given: str | None) -> str:
    """The nation whose chain this is: ``--nation``, the open record, or the subjects."""
    from hotzone.c2.audit import AuditKind, decode_open

    if given:
        return given
    for record in source.records:
        if record.kind == AuditKind.OPEN and (opened := decode_open(record.payload)):
            return opened.nation
    if source.audit_nation or source.c2_nation:
        return source.audit_nation or source.c2_nation
    nations = {checkpoint.nation for checkpoint in source.checkpoints}
    return nations.pop() if len(nations) == 1 else ""


def witness_checkpoints(
    ally: Path, nation: str, records: list[AuditRecord]
) -> tuple[list[AuditCheckpoint], str | None]:
    """The checkpoints of ``nation`` an ally's store witnessed for this chain, and a note.

    A checkpoint names no run, so an ally's store may hold several chains of one nation
    (one per run). They are told apart by arrival order (a new chain's sequence starts
    again); the chains that agree with a record of this run are taken, or all of them
    when none agrees (a rewritten or emptied run agrees with none).
    """
    source = read_source(ally)
    mine = [checkpoint for checkpoint in source.checkpoints if checkpoint.nation == nation]
    chains: list[list[AuditCheckpoint]] = []
    for checkpoint in mine:
        if not chains or checkpoint.sequence < chains[-1][-1].sequence:
            chains.append([])
        chains[-1].append(checkpoint)
    if len(chains) <= 1:
        return mine, None
    hashes = {record.sequence: record.record_hash for record in records}
    agreeing = [
        chain
        for chain in chains
        if any(hashes.get(checkpoint.sequence) == checkpoint.record_hash for checkpoint in chain)
    ]
    if agreeing:
        return [checkpoint for chain in agreeing for checkpoint in chain], None
    note = (
        f"{ally}: holds {len(chains)} audit chains of {nation} and none agrees with this "
        "run's records; all were checked"
    )
    return mine, note


def add_parser(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "audit",
        help="verify or export the signed, hash-chained audit log of a run",
        description="Verify the audit chain of a run against its signed checkpoints, the "
        "trusted c2 node keys and allies' witnessed checkpoints, or export it as JSON Lines.",
    )
    actions = parser.add_subparsers(dest="audit_action", metavar="ACTION", required=True)
    verify = actions.add_parser(
        "verify",
        help="check the whole chain and its anchors",
        description="Exit 0 and print 'intact: …' when the chain holds; exit 1 and print one "
        "line per fault (edited, deleted, reordered, truncated, emptied, rewritten); exit 2 "
        "on bad input.",
    )
    verify.add_argument("source", type=Path, help="run folder, SQLite store or audit JSONL")
    verify.add_argument(
        "--witness",
        type=Path,
        action="append",
        default=[],
        metavar="ALLY_STORE",
        help="an ally's store (SQLite file or run folder) holding this nation's published "
        "checkpoints; repeatable",
    )
    verify.add_argument(
        "--home",
        type=Path,
        default=None,
        help="configuration directory whose nodes/trusted.yaml holds the trusted c2 node "
        "keys (default: $HOTZONE_HOME or ~/.config/hotzone)",
    )
    verify.add_argument(
        "--nation",
        default=None,
        help="whose chain this is (default: from its open record or its subjects)",
    )
    verify.add_argument(
        "--live",
        action="store_true",
        help="the run is still going: do not require a final checkpoint at the end",
    )
    verify.set_defaults(run=run_verify)
    export = actions.add_parser("export", help="write the audit records as JSONL")
    export.add_argument("source", type=Path, help="run folder, SQLite store or audit JSONL")
    export.add_argument(
        "-o", "--output", type=OutputFile(), default=None, help="file (default stdout)"
    )
    export.set_defaults(run=run_export)


def verify_source(
    source: AuditSource,
    *,
    trusted_keys: dict[str, bytes],
    witnesses: list[AuditCheckpoint],
    nation: str,
    expect_closed: bool,
) -> AuditVerdict:
    """`verify_audit` on what a store holds; unreadable records come first as faults."""
    import dataclasses

    from hotzone.c2.audit import ChainFault, FaultKind, verify_audit

    own = [c for c in source.checkpoints if not nation or c.nation == nation]
    verdict = verify_audit(
        source.records,
        trusted_keys=trusted_keys,
        checkpoints=own,
        witnesses=witnesses,
        expect_records=source.c2_messages > 0 or bool(own),
        expect_closed=expect_closed,
    )
    if not source.unreadable:
        return verdict
    unreadable: list[ChainFault] = [
        ChainFault(index, None, f"cannot be read: {reason}", FaultKind.UNREADABLE)
        for index, reason in source.unreadable
    ]
    return dataclasses.replace(
        verdict,
        faults=[*unreadable, *verdict.faults],
        records=verdict.records + len(unreadable),
    )


def run_verify(args: argparse.Namespace) -> int:
    from hotzone.c2.trust import TrustError, config_home, trusted_node_keys

    home: Path = args.home or config_home()
    try:
        trusted = trusted_node_keys(home)
    except TrustError as error:
        raise CommandError(str(error)) from None
    source = read_source(args.source)
    nation = run_nation(source, args.nation)
    witnesses: list[AuditCheckpoint] = []
    for ally in args.witness:
        if not nation:
            raise CommandError(
                f"{args.source}: cannot tell whose chain this is to pick witnesses: pass --nation"
            )
        taken, note = witness_checkpoints(ally, nation, source.records)
        if note:
            print(f"note: {note}", file=sys.stderr)
        if not taken:
            print(f"note: {ally}: holds no audit checkpoints of {nation}", file=sys.stderr)
        witnesses.extend(taken)
    if not trusted:
        print(
            f"note: no trusted c2 node keys in {home / 'nodes' / 'trusted.yaml'}", file=sys.stderr
        )
    if source.skipped:
        print(f"note: {source.skipped} stored checkpoints cannot be read", file=sys.stderr)
    verdict = verify_source(
        source,
        trusted_keys=trusted,
        witnesses=witnesses,
        nation=nation,
        expect_closed=not args.live,
    )
    print(verdict.summary())
    return 0 if verdict.intact else 1


def run_export(args: argparse.Namespace) -> int:
    from hotzone.types import write_jsonl

    try:
        records = list(audit_records(args.source))
    except UnreadableRecordError as error:
        raise CommandError(str(error)) from None
    if args.output is None:
        write_jsonl(records, sys.stdout.buffer)
        sys.stdout.flush()
    else:
        with open(args.output, "wb") as stream:
            write_jsonl(records, stream)
    print(f"exported {len(records)} audit records", file=sys.stderr)
    return 0
