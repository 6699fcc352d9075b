"""``hotzone decide`` and ``hotzone abort``: signed decisions appended to the store."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotzone.c2.authority import ABORT_HASH
from hotzone.c2.keys import OperatorRegistry, verify_signature
from hotzone.cli import main
from hotzone.store import SQLiteStore
from hotzone.types import Decision, Verdict
from tests.c2.factories import make_proposal


def test_keygen_approve_and_abort(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "hotzone.sqlite"
    proposal = make_proposal()
    store = SQLiteStore(db)
    store.append("hz.PL.c2.proposal", proposal)
    store.close()
    key, registry = tmp_path / "cdr.key", tmp_path / "operators.yaml"
    args = ["decide", "keygen", "--operator", "cdr-1", "--role", "commander"]
    assert main([*args, "--out", str(key), "--registry", str(registry)]) == 0
    assert main([*args, "--out", str(key)]) == 2  # never overwrites a key
    assert main(["decide", "list", str(tmp_path)]) == 0
    assert "P1" in capsys.readouterr().out
    assert main(["decide", "approve", str(db), proposal.content_hash[:10], "--key", str(key)]) == 0
    assert main(["abort", str(db), "--key", str(key)]) == 0
    assert main(["decide", "approve", str(db), "nope", "--key", str(key)]) == 2
    store = SQLiteStore(db)
    decisions = [s.message for s in store.replay(types=["decision"])]
    store.close()
    assert [d.proposal_hash for d in decisions] == [proposal.content_hash, ABORT_HASH]
    keys = OperatorRegistry.load(registry)
    for decision in decisions:
        assert isinstance(decision, Decision)
        signer = keys.get(decision.key_id)
        assert signer is not None and verify_signature(decision, signer)
    assert decisions[0].verdict is Verdict.APPROVE


def test_a_bad_key_file_is_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "hotzone.sqlite"
    SQLiteStore(db).close()
    bad = tmp_path / "bad.key"
    bad.write_text("operator_id: x\n")
    assert main(["abort", str(db), "--key", str(bad)]) == 2
    assert "operator_id, role and private_key" in capsys.readouterr().err
