"""``hotzone runs list|prune`` and ``demo --keep``: run folders do not pile up."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from hotzone.cli import main
from hotzone.runtime.run_folders import list_run_folders, prune_run_folders
from hotzone.store import SQLiteStore


def _fake_run(parent: Path, name: str, age_s: float, scenario: str = "suwalki-drones") -> Path:
    """A run folder as demo leaves it, as far as listing and pruning look: its store,
    inputs/ and summary.json, written ``age_s`` seconds ago."""
    folder = parent / name
    (folder / "inputs").mkdir(parents=True)
    SQLiteStore(folder / "hotzone.sqlite").close()
    (folder / "summary.json").write_text(json.dumps({"scenario": scenario, "seed": 1}))
    moment = 1_700_000_000 - age_s
    os.utime(folder / "summary.json", (moment, moment))
    return folder


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    parent = tmp_path / "runs"
    for index, age in enumerate((300.0, 100.0, 200.0)):
        _fake_run(parent, f"run-{index}", age)
    (parent / "notes").mkdir()  # not a run folder: never listed, never removed
    (parent / "notes" / "hotzone.sqlite").write_bytes(b"")
    return parent


def test_list_shows_run_folders_newest_first(
    runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert [folder.path.name for folder in list_run_folders(runs)] == ["run-1", "run-2", "run-0"]
    assert main(["runs", "list", "--out", str(runs)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[4].rsplit("/", 1)[-1] for line in out[:3]] == ["run-1", "run-2", "run-0"]
    assert out[-1].startswith("3 run folders")


def test_prune_keeps_the_newest_and_nothing_else_goes(runs: Path) -> None:
    assert main(["runs", "prune", "--keep", "1", "--out", str(runs), "--dry-run"]) == 0
    assert len(list_run_folders(runs)) == 3
    assert main(["runs", "prune", "--keep", "1", "--out", str(runs)]) == 0
    assert sorted(path.name for path in runs.iterdir()) == ["notes", "run-1"]
    assert prune_run_folders(runs, 0) and not list_run_folders(runs)
    assert (runs / "notes").is_dir()


def test_a_missing_parent_holds_no_runs(tmp_path: Path) -> None:
    assert main(["runs", "prune", "--keep", "0", "--out", str(tmp_path / "none")]) == 0


def test_demo_keep_removes_all_but_the_newest(
    runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["demo", "--quiet", "--duration", "5", "--out", str(runs), "--keep", "2"])
    assert code == 0
    names = [folder.path.name for folder in list_run_folders(runs)]
    assert len(names) == 2 and names[1] == "run-1"  # the demo's own folder is the newest
    assert "removed 2 older run folders" in capsys.readouterr().out
