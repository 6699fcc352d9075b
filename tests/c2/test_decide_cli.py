"""``hotzone decide`` and ``hotzone abort|resume``: decisions signed with the operator's key
file are put to the run's c2 (restored from its store), which verifies, audits and answers
them; unknown, revoked, observer and edited keys are refused and on the audit record."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from hotzone.c2.config import load_c2_spec
from hotzone.c2.keys import RegistryFile, SigningKey
from hotzone.c2.stage import ResponseStage
from hotzone.c2.trust import node_key_for, operators_path
from hotzone.cli import main
from hotzone.runtime.routing import subject_for
from hotzone.sim.scenario import load_scenario
from hotzone.store import SQLiteStore
from hotzone.types import (
    AuditRecord,
    C2State,
    DecisionOutcome,
    Proposal,
    RunMode,
    TaskOrder,
)
from tests.c2.factories import make_assessment, make_track
from tests.c2.test_attacks_on_the_bus import START


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOTZONE_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _live_run(folder: Path, home: Path) -> Proposal:
    """A run folder whose c2 (live mode) proposed a kinetic engagement a moment ago."""
    (folder / "inputs").mkdir(parents=True)
    source = load_scenario("suwalki-drones").source_path
    assert source is not None
    shutil.copyfile(source, folder / "inputs" / "scenario.yaml")
    stage = ResponseStage(
        load_c2_spec("suwalki-drones"),
        RegistryFile(operators_path(home)).current,
        mode=RunMode.LIVE,
        node_key=node_key_for("PL", home),
    )
    now = datetime.now(UTC) - timedelta(seconds=2)
    track = msgspec.structs.replace(
        make_track(position=START, time=now), enu_velocity_mps=(-5.0, 0.0, 0.0)
    )
    inputs = [track, make_assessment(time=now)]
    outputs = stage.step(now, inputs) + stage.finish(now)
    with SQLiteStore(folder / "hotzone.sqlite") as store:
        store.append_many((subject_for(m, "PL"), m) for m in [*inputs, *outputs])
    return next(p for p in outputs if isinstance(p, Proposal) and p.effect_class == "kinetic")


def _enrolled(home: Path, tmp_path: Path, name: str, role: str, nation: str = "PL") -> Path:
    key = tmp_path / f"{name}.key"
    args = ["operators", "enroll", "--operator", name, "--role", role, "--nation", nation]
    assert main([*args, "--key-out", str(key)]) == 0
    return key


def _stored(folder: Path, kind: type) -> list:  # type: ignore[type-arg]
    with SQLiteStore(folder / "hotzone.sqlite") as store:
        return [s.message for s in store.replay() if isinstance(s.message, kind)]


def test_cli_decisions_are_verified_by_c2_and_two_people_make_an_order(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    operator = _enrolled(home, tmp_path, "pl.op.kowalska", "operator")
    commander = _enrolled(home, tmp_path, "pl.cdr.nowak", "commander")
    observer = _enrolled(home, tmp_path, "pl.obs.nowicka", "observer")
    ally = _enrolled(home, tmp_path, "lt.cdr.petraitis", "commander", "LT")
    revoked = _enrolled(home, tmp_path, "pl.op.zielinski", "operator")
    assert main(["operators", "revoke", "pl.op.zielinski"]) == 0
    stranger = tmp_path / "stranger.key"
    SigningKey.generate("pl.cdr.nowak", SigningKey.load(commander).role).save(stranger)
    # A key file edited to claim the commander's name around the operator's private key.
    edited = tmp_path / "edited.key"
    edited.write_text(
        operator.read_text()
        .replace("pl.op.kowalska", "pl.cdr.nowak")
        .replace("role: operator", "role: commander")
    )
    proposal = _live_run(run, home)
    prefix = proposal.content_hash[:12]
    assert main(["decide", "list", str(run)]) == 0
    listed = capsys.readouterr().out
    assert proposal.proposal_id in listed and "awaiting 2 more approvals" in listed

    for key, words in (
        (stranger, "unknown key"),
        (observer, "may not decide"),
        (ally, "national authority"),
        (revoked, "revoked"),
        (edited, "belongs to"),
    ):
        assert main(["decide", "approve", str(run), prefix, "--key", str(key)]) == 1, words
        assert words in capsys.readouterr().out
    refusals = [r.payload for r in _stored(run, AuditRecord) if r.kind == "refusal"]
    assert len(refusals) == 5

    assert main(["decide", "approve", str(run), prefix, "--key", str(operator)]) == 0
    assert "counted by c2" in capsys.readouterr().out
    assert not _stored(run, TaskOrder)
    assert main(["decide", "show", str(run), prefix]) == 0
    assert "awaiting commander" in capsys.readouterr().out
    assert main(["decide", "approve", str(run), prefix, "--key", str(commander)]) == 0
    assert "order issued" in capsys.readouterr().out
    (order,) = _stored(run, TaskOrder)
    assert order.proposal_hash == proposal.content_hash and order.signature
    outcomes = _stored(run, DecisionOutcome)
    assert [o.accepted for o in outcomes] == [False] * 5 + [True, True]
    assert main(["audit", "verify", str(run)]) == 0


def test_abort_and_resume_from_the_cli_are_signed_decisions_c2_keeps(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    operator = _enrolled(home, tmp_path, "pl.op.kowalska", "operator")
    commander = _enrolled(home, tmp_path, "pl.cdr.nowak", "commander")
    _live_run(run, home)
    assert main(["abort", str(run), "--key", str(operator), "--reason", "drill"]) == 0
    assert main(["resume", str(run), "--key", str(operator)]) == 1
    assert "only a commander" in capsys.readouterr().out
    states = _stored(run, C2State)
    assert states[-1].abort_active and states[-1].changed_by == "pl.op.kowalska"
    assert main(["resume", str(run), "--key", str(commander)]) == 0
    assert not _stored(run, C2State)[-1].abort_active
    assert main(["audit", "verify", str(run)]) == 0


def test_a_bad_key_file_is_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "hotzone.sqlite"
    SQLiteStore(db).close()
    bad = tmp_path / "bad.key"
    bad.write_text("operator_id: x\n")
    assert main(["abort", str(db), "--key", str(bad)]) == 2
    assert "operator_id, role and private_key" in capsys.readouterr().err
