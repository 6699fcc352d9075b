"""The hash-chained audit log and ``hotzone audit verify|export`` on a 10,000-event log.

The log is signed (open record, a checkpoint every 50 records, a final one) by a real node
key trusted in a temporary home, which every ``verify`` names with ``--home``.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest

from hotzone.c2.audit import AuditKind, AuditLog, verify_chain
from hotzone.c2.trust import NodeKey, node_key_for
from hotzone.cli import main
from hotzone.store import SQLiteStore
from hotzone.types import AuditRecord, read_jsonl, write_jsonl
from tests.c2.factories import make_proposal, seconds

EVENTS = 10_000
RECORDS = 10_206  # open, events, a checkpoint after every 50th sequence, final checkpoint
KINDS = [AuditKind.PROPOSAL, AuditKind.DECISION, AuditKind.REFUSAL, AuditKind.ORDER]


def build_log(count: int, key: NodeKey) -> list[AuditRecord]:
    log = AuditLog(releasability="REL PL LT", node_key=key)
    proposal = make_proposal()
    log.open(seconds(0), "live")
    for index in range(count):
        payload = proposal if index % 100 == 0 else f"event {index}: refused for reason {index % 7}"
        log.append(seconds(index * 0.5), KINDS[index % len(KINDS)], f"op-{index % 5}", payload)
    log.close(seconds(count))
    return log.drain()


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def records(home: Path) -> list[AuditRecord]:
    records = build_log(EVENTS, node_key_for("PL", home))
    assert len(records) == RECORDS
    return records


@pytest.fixture(scope="module")
def clean_db(records: list[AuditRecord], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("audit") / "hotzone.sqlite"
    store = SQLiteStore(path)
    store.append_many(("hz.PL.audit", record) for record in records)
    store.close()
    return path


Verify = Callable[[Path], tuple[int, str]]


@pytest.fixture
def verify(home: Path, capsys: pytest.CaptureFixture[str]) -> Verify:
    def run(path: Path) -> tuple[int, str]:
        code = main(["audit", "verify", str(path), "--home", str(home)])
        return code, capsys.readouterr().out

    return run


def copy_of(clean_db: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "hotzone.sqlite"
    shutil.copy(clean_db, copy)
    return copy


def payload_row(connection: sqlite3.Connection, position: int) -> tuple[int, bytes]:
    """(row sequence, payload) of the audit record at a 1-based position."""
    row = connection.execute(
        "SELECT sequence, payload FROM messages WHERE type = 'audit' ORDER BY sequence "
        "LIMIT 1 OFFSET ?",
        (position - 1,),
    ).fetchone()
    return int(row[0]), bytes(row[1])


def test_a_fresh_log_verifies(records: list[AuditRecord]) -> None:
    assert verify_chain(records) is None
    assert [r.sequence for r in records[:3]] == [1, 2, 3]
    assert records[0].kind == AuditKind.OPEN and records[-1].kind == AuditKind.CHECKPOINT
    assert records[1].previous_hash == records[0].record_hash


def test_a_log_resumed_after_its_last_record_continues_the_chain(
    records: list[AuditRecord],
) -> None:
    head = records[:10]
    resumed = AuditLog(last=head[-1], releasability="REL PL LT")
    resumed.append(seconds(100), AuditKind.ABORT, "cdr", "abort")
    assert verify_chain([*head, *resumed.drain()]) is None


def test_changing_any_field_breaks_the_record_itself(records: list[AuditRecord]) -> None:
    for field_name, value in [
        ("actor", "someone-else"),
        ("kind", "abort"),
        ("payload", "nothing happened"),
        ("releasability", "NATO"),
        ("time", seconds(-1)),
    ]:
        changed = list(records[:50])
        changed[20] = msgspec.structs.replace(changed[20], **{field_name: value})
        fault = verify_chain(changed)
        assert fault is not None, field_name
        assert fault.index == 20 and fault.sequence == 21


def test_cli_accepts_the_intact_log(clean_db: Path, verify: Verify) -> None:
    code, out = verify(clean_db)
    assert code == 0
    assert f"{RECORDS} records" in out


def test_cli_accepts_a_run_folder(clean_db: Path, verify: Verify) -> None:
    code, _ = verify(clean_db.parent)
    assert code == 0


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_cli_names_a_single_changed_byte(
    clean_db: Path, tmp_path: Path, verify: Verify, seed: int
) -> None:
    rng = random.Random(seed)
    position = rng.randrange(1, RECORDS + 1)
    path = copy_of(clean_db, tmp_path)
    with sqlite3.connect(path) as connection:
        sequence, payload = payload_row(connection, position)
        changed = bytearray(payload)
        offset = rng.randrange(len(changed))
        changed[offset] = ord("7") if changed[offset] != ord("7") else ord("8")
        connection.execute(
            "UPDATE messages SET payload = ? WHERE sequence = ?", (bytes(changed), sequence)
        )
    code, out = verify(path)
    assert code == 1
    assert f"record #{position}" in out, (offset, out)


def test_cli_names_a_deleted_record(clean_db: Path, tmp_path: Path, verify: Verify) -> None:
    path = copy_of(clean_db, tmp_path)
    with sqlite3.connect(path) as connection:
        sequence, _ = payload_row(connection, 4321)
        connection.execute("DELETE FROM messages WHERE sequence = ?", (sequence,))
    code, out = verify(path)
    assert code == 1
    # The gap shows at the record that now stands where the deleted one was.
    assert "record #4321 (sequence 4322)" in out


def test_cli_names_a_swapped_pair(clean_db: Path, tmp_path: Path, verify: Verify) -> None:
    path = copy_of(clean_db, tmp_path)
    with sqlite3.connect(path) as connection:
        first_row, first = payload_row(connection, 7000)
        second_row, second = payload_row(connection, 7001)
        connection.execute(
            "UPDATE messages SET payload = ? WHERE sequence = ?", (second, first_row)
        )
        connection.execute(
            "UPDATE messages SET payload = ? WHERE sequence = ?", (first, second_row)
        )
    code, out = verify(path)
    assert code == 1
    assert "record #7001 (sequence 7000): stands after sequence 7001" in out


def test_cli_export_writes_jsonl_that_verifies_and_names_a_bad_line(
    clean_db: Path, tmp_path: Path, verify: Verify
) -> None:
    exported = tmp_path / "audit.jsonl"
    assert main(["audit", "export", str(clean_db), "-o", str(exported)]) == 0
    assert len(list(read_jsonl(exported))) == RECORDS
    code, _ = verify(exported)
    assert code == 0
    lines = exported.read_bytes().splitlines(keepends=True)
    del lines[99]
    broken = tmp_path / "broken.jsonl"
    broken.write_bytes(b"".join(lines))
    code, out = verify(broken)
    assert code == 1
    assert "record #100 (sequence 101)" in out


def test_cli_refuses_a_missing_source(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "verify", str(tmp_path / "nothing")]) == 2
    assert "no such run folder or file" in capsys.readouterr().err


def test_an_empty_log_verifies(tmp_path: Path, verify: Verify) -> None:
    empty = tmp_path / "audit.jsonl"
    with open(empty, "wb") as stream:
        write_jsonl([], stream)
    code, out = verify(empty)
    assert code == 0 and "0 records" in out
