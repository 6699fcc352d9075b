"""``hotzone audit verify|export RUN_OR_DB``: check and export the hash-chained audit log.

``RUN_OR_DB`` is a run folder (its ``hotzone.sqlite``), a SQLite store file, or a JSONL
file of audit records (e.g. ``outputs/audit.jsonl``). ``verify`` names the first record
that breaks the chain and exits 1; an intact chain exits 0.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from hotzone.commands.common import CommandError, SubParsers

if TYPE_CHECKING:
    from hotzone.types import AuditRecord


class UnreadableRecordError(Exception):
    """A stored record that no longer decodes: the chain breaks there."""

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(f"record #{index + 1}: cannot be read: {reason}")
        self.index = index


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


def audit_records(run_or_db: Path) -> Iterator[AuditRecord]:
    """The audit records in order; an undecodable one raises `UnreadableRecordError`."""
    from hotzone.types import AuditRecord, DecodeError, ValidationError, from_json

    path = store_path(run_or_db)
    if path.suffix == ".jsonl":
        with open(path, "rb") as stream:
            index = 0
            for line in stream:
                if not line.strip():
                    continue
                try:
                    message = from_json(line)
                except (DecodeError, ValidationError) as error:
                    raise UnreadableRecordError(index, str(error)) from None
                if not isinstance(message, AuditRecord):
                    raise UnreadableRecordError(
                        index, f"a {type(message).__name__}, not an audit record"
                    )
                yield message
                index += 1
        return
    import sqlite3

    from hotzone.store import SQLiteStore

    try:
        store = SQLiteStore(path)
    except sqlite3.DatabaseError as error:
        raise CommandError(f"{path}: not a hotzone store: {error}") from None
    index = 0
    try:
        replay = store.replay(types=["audit"])
        while True:
            try:
                stored = next(replay)
            except StopIteration:
                return
            except (DecodeError, ValidationError) as error:
                raise UnreadableRecordError(index, str(error)) from None
            if isinstance(stored.message, AuditRecord):
                yield stored.message
                index += 1
    except sqlite3.DatabaseError as error:
        raise CommandError(f"{path}: not a hotzone store: {error}") from None
    finally:
        store.close()


def add_parser(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "audit",
        help="verify or export the hash-chained audit log of a run",
        description="Verify the hash chain of the audit log (naming the first bad record) "
        "or export it as JSON Lines.",
    )
    actions = parser.add_subparsers(dest="audit_action", metavar="ACTION", required=True)
    verify = actions.add_parser("verify", help="check the whole chain")
    verify.add_argument("source", type=Path, help="run folder, SQLite store or audit JSONL")
    verify.set_defaults(run=run_verify)
    export = actions.add_parser("export", help="write the audit records as JSONL")
    export.add_argument("source", type=Path, help="run folder, SQLite store or audit JSONL")
    export.add_argument("-o", "--output", type=Path, default=None, help="file (default stdout)")
    export.set_defaults(run=run_export)


def run_verify(args: argparse.Namespace) -> int:
    from hotzone.c2.audit import ChainFault, verify_chain

    count = 0

    def counted() -> Iterator[AuditRecord]:
        nonlocal count
        for record in audit_records(args.source):
            count += 1
            yield record

    fault: ChainFault | UnreadableRecordError | None
    try:
        fault = verify_chain(counted())
    except UnreadableRecordError as error:
        fault = error
    if fault is None:
        print(f"audit chain intact: {count} records")
        return 0
    print(f"audit chain broken at {fault}")
    return 1


def run_export(args: argparse.Namespace) -> int:
    import sys

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
