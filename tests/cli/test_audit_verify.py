"""``hotzone audit verify`` names every kind of tampering with a stored, signed chain.

Each test builds a real run (1,000 c2 events: open, 20 checkpoints, a final one; 1,022
records) signed by the node key of a temporary ``$HOTZONE_HOME``, stores it in a real
SQLite store, tampers with the file, and runs the real command.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hotzone.c2.trust import NodeKey, node_key_for, trust_node
from hotzone.cli import main
from hotzone.commands.audit import read_source
from hotzone.types import AuditCheckpoint
from tests.c2.audit_chains import (
    NATION,
    Chain,
    build_chain,
    cut_and_reclose,
    delete_all,
    delete_records,
    edit_record,
    make_run,
    read_records,
    replace_chain,
    rewrite,
    swap_records,
    witness_store,
)

INTACT = "intact: 1022 records, 21 checkpoints (last signed at sequence 1021)"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "home"
    monkeypatch.setenv("HOTZONE_HOME", str(path))
    return path


@pytest.fixture
def run(tmp_path: Path, home: Path) -> Path:
    folder = tmp_path / "run"
    chain = make_run(folder, home)
    assert len(chain.records) == 1022 and len(chain.checkpoints) == 21
    return folder


def verify(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, list[str]]:
    code = main(["audit", "verify", *(str(arg) for arg in args)])
    return code, capsys.readouterr().out.splitlines()


def test_an_untampered_run_is_intact(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = verify(capsys, run)
    assert (code, lines) == (0, [f"{INTACT}, 0 witnessed"])
    code, lines = verify(capsys, run / "hotzone.sqlite")
    assert code == 0


def test_an_edited_record_is_named(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit_record(run / "hotzone.sqlite", 500, actor="someone-else")
    code, lines = verify(capsys, run)
    assert code == 1
    assert lines == [
        "record #500 (sequence 500): record hash does not match its content: the record was edited"
    ]


def test_a_deleted_record_is_named(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    delete_records(run / "hotzone.sqlite", [500])
    code, lines = verify(capsys, run)
    assert code == 1
    assert lines[0] == (
        "record #500 (sequence 501): sequence 499 is followed by sequence 501: "
        "record 500 was deleted"
    )


def test_two_swapped_records_are_named(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    swap_records(run / "hotzone.sqlite", 310, 311)
    code, lines = verify(capsys, run)
    assert code == 1
    assert lines == [
        "record #311 (sequence 310): stands after sequence 311: records were swapped or reordered"
    ]


def test_the_last_record_removed_is_named(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    delete_records(run / "hotzone.sqlite", [-1])
    code, lines = verify(capsys, run)
    assert code == 1
    assert lines[0] == (
        "the last record is sequence 1021 but final checkpoint 1021 was signed (stored): "
        "tail of at least 1 record removed"
    )
    assert "does not end in a final signed checkpoint" in lines[1]


def test_the_last_30_records_removed_are_named(
    run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    delete_records(run / "hotzone.sqlite", list(range(-30, 0)))
    code, lines = verify(capsys, run)
    assert code == 1
    assert lines[0] == (
        "the last record is sequence 992 but final checkpoint 1021 was signed (stored): "
        "tail of at least 30 records removed"
    )


def test_a_cut_tail_is_named_even_with_the_stored_checkpoints_gone(
    run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    delete_records(run / "hotzone.sqlite", list(range(-30, 0)))
    delete_all(run / "hotzone.sqlite", "audit_checkpoint")
    code, lines = verify(capsys, run)
    assert code == 1
    assert lines == [
        "record #992 (sequence 992): the chain does not end in a final signed checkpoint "
        "(the last record is of kind 'order'); the last signed checkpoint covers sequence "
        "950: its tail was removed or c2 did not close the log"
    ]


def test_all_records_removed_is_named(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    delete_all(run / "hotzone.sqlite", "audit")
    code, lines = verify(capsys, run)
    assert code == 1
    assert lines[0] == "no audit records, but the store shows c2 ran: the audit log was emptied"
    assert lines[1] == (
        "no records remain but final checkpoint 1021 was signed (stored): "
        "at least 1022 records removed"
    )
    delete_all(run / "hotzone.sqlite", "audit_checkpoint")
    code, lines = verify(capsys, run)
    assert (code, lines[0]) == (
        1,
        "no audit records, but the store shows c2 ran: the audit log was emptied",
    )


def test_a_chain_rewritten_and_resigned_with_a_new_key_is_named(
    run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = run / "hotzone.sqlite"
    forger = NodeKey.generate(NATION)
    # Hide order 500 (sequence 504): re-number, re-hash and re-sign everything after it.
    replace_chain(store, rewrite(read_records(store), forger, drop=frozenset({504})))
    code, lines = verify(capsys, run)
    assert code == 1
    assert lines[0] == (
        f"record #51 (sequence 51): checkpoint at sequence 50 signed by key {forger.key_id}, "
        "not a trusted c2 node key (and 20 more checkpoints signed by it)"
    )


def test_the_trust_anchor_is_the_auditors_home_not_the_run(
    run: Path, tmp_path: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    auditor = tmp_path / "auditor"
    code, lines = verify(capsys, run, "--home", auditor)
    assert code == 1
    assert "not a trusted c2 node key" in lines[0]
    trust_node(node_key_for(NATION, home).public_raw, NATION, auditor)
    code, lines = verify(capsys, run, "--home", auditor)
    assert (code, lines) == (0, [f"{INTACT}, 0 witnessed"])


def test_a_tail_rewritten_with_the_real_key_is_caught_by_an_allys_witnesses(
    run: Path, tmp_path: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = run / "hotzone.sqlite"
    published = Chain(read_records(store), [])
    ally = witness_store(
        tmp_path / "ally" / "hotzone.sqlite",
        Chain([], _stored_checkpoints(store)),
    )
    # An insider holding the node key itself hides order 920 and re-signs the tail.
    key = node_key_for(NATION, home)
    rewritten = rewrite(published.records, key, start=905, drop=frozenset({920}))
    replace_chain(store, rewritten)
    code, lines = verify(capsys, run)
    assert code == 0, "without witnesses a rewrite signed with the real key holds locally"
    code, lines = verify(capsys, run, "--witness", ally)
    assert code == 1
    assert lines[0].startswith("witnessed checkpoint at sequence 950 names hash ")
    assert lines[0].endswith(": the chain was rewritten after it was signed")
    assert lines[-1] == (
        "the last record is sequence 1021 but final checkpoint 1021 was signed (witnessed): "
        "tail of at least 1 record removed"
    )


def test_a_cut_and_reclosed_tail_is_caught_by_an_allys_witnesses(
    run: Path, tmp_path: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = run / "hotzone.sqlite"
    ally = witness_store(tmp_path / "ally.sqlite", Chain([], _stored_checkpoints(store)))
    cut_and_reclose(store, node_key_for(NATION, home), 30)
    assert verify(capsys, run)[0] == 0
    code, lines = verify(capsys, run, "--witness", ally)
    assert code == 1
    assert lines == [
        "the last record is sequence 993 but final checkpoint 1021 was signed (witnessed): "
        "tail of at least 29 records removed"
    ]


def test_witnesses_of_other_runs_in_the_allys_store_are_told_apart(
    run: Path, tmp_path: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    earlier = build_chain(node_key_for(NATION, home), events=1500)
    later = build_chain(node_key_for(NATION, home), events=300)
    ally_folder = tmp_path / "ally-run"
    ours = Chain([], _stored_checkpoints(run / "hotzone.sqlite"))
    witness_store(ally_folder / "hotzone.sqlite", earlier, ours, later)
    code, lines = verify(capsys, run, "--witness", ally_folder)
    assert (code, lines) == (0, [f"{INTACT}, 21 witnessed"])


def test_a_run_still_going_verifies_with_live(
    tmp_path: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "live"
    make_run(folder, home, events=1000, close=False)
    code, lines = verify(capsys, folder, "--live")
    assert (code, lines) == (
        0,
        [
            "intact: 1021 records, 20 checkpoints (last signed at sequence 1000), 0 witnessed; "
            "the last 20 records are not yet signed"
        ],
    )
    code, lines = verify(capsys, folder)
    assert code == 1 and "does not end in a final signed checkpoint" in lines[0]


@pytest.mark.parametrize("what", ["text", "missing", "witness"])
def test_bad_input_is_one_line_and_exit_2(
    run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], what: str
) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_text("this is not a database\n")
    cases: dict[str, list[str | Path]] = {
        "text": [junk],
        "missing": [tmp_path / "nowhere"],
        "witness": [run, "--witness", junk],
    }
    args = cases[what]
    assert main(["audit", "verify", *(str(arg) for arg in args)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.splitlines()) == 1
    assert "Traceback" not in captured.err


def _stored_checkpoints(store: Path) -> list[AuditCheckpoint]:
    return read_source(store).checkpoints
