"""docs/c2.md: every command it shows runs as written, with the outcome it describes."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from hotzone.cli import main
from hotzone.store import SQLiteStore
from hotzone.types import Proposal, TaskOrder
from tests.c2.test_decide_cli import _live_run

DOC = Path(__file__).parents[2] / "docs" / "c2.md"


def test_every_command_in_docs_c2_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("HOTZONE_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    commands = re.findall(r"^\$ (hotzone .+)$", DOC.read_text(), flags=re.MULTILINE)
    assert len(commands) == 9
    enrolments = [c for c in commands if c.startswith("hotzone operators")]
    for command in enrolments:
        assert main(shlex.split(command)[1:]) == 0, command
    proposal = _live_run(tmp_path / "runs" / "live", home)
    assert proposal.proposal_id == "prop-00001"
    for command in commands[len(enrolments) :]:
        assert main(shlex.split(command)[1:]) == 0, (command, capsys.readouterr())
    with SQLiteStore(tmp_path / "runs" / "live" / "hotzone.sqlite") as store:
        orders = [m.message for m in store.replay(types=["task_order"])]
        proposals = [m.message for m in store.replay(types=["proposal"])]
    assert [type(o) for o in orders] == [TaskOrder]
    assert isinstance(proposals[0], Proposal)
