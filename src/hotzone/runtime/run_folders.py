"""The run folders under a parent folder (``runs/`` by default): listing and pruning.

A run folder is what ``hotzone demo`` (and ``serve`` of a scenario) writes: a folder that
holds ``hotzone.sqlite`` and ``inputs/``. Nothing else under the parent is ever listed or
removed, so pruning cannot take a folder that only happens to sit beside the runs.
Newest first, by the time the run was written (``summary.json``, else the store).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


@dataclass(frozen=True)
class RunFolder:
    path: Path
    written_at: datetime
    size_bytes: int
    scenario: str | None
    seed: int | None
    finished: bool  # summary.json exists: the run ended and wrote its summary


def run_file(run_directory: Path, name: str) -> Path:
    """``inputs/truth.jsonl`` of a run: the gzip-compressed ``truth.jsonl.gz`` that runs
    write now, or the plain file of an older run (or of a hand-made one)."""
    plain = run_directory / name
    compressed = plain.with_name(plain.name + ".gz")
    return compressed if compressed.is_file() and not plain.is_file() else plain


def is_run_folder(path: Path) -> bool:
    return path.is_dir() and (path / "hotzone.sqlite").is_file() and (path / "inputs").is_dir()


def _size(path: Path) -> int:
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


def describe_run_folder(path: Path) -> RunFolder:
    summary_path = path / "summary.json"
    scenario: str | None = None
    seed: int | None = None
    marker = summary_path if summary_path.is_file() else path / "hotzone.sqlite"
    try:
        summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
    except (OSError, ValueError):
        summary = {}
    if isinstance(summary, dict):
        scenario = summary.get("scenario") if isinstance(summary.get("scenario"), str) else None
        seed = summary.get("seed") if isinstance(summary.get("seed"), int) else None
    return RunFolder(
        path=path,
        written_at=datetime.fromtimestamp(marker.stat().st_mtime, UTC),
        size_bytes=_size(path),
        scenario=scenario,
        seed=seed,
        finished=summary_path.is_file(),
    )


def list_run_folders(parent: Path) -> list[RunFolder]:
    """The run folders directly under ``parent``, newest first."""
    if not parent.is_dir():
        return []
    folders = [describe_run_folder(path) for path in parent.iterdir() if is_run_folder(path)]
    return sorted(folders, key=lambda folder: (folder.written_at, folder.path.name), reverse=True)


def prune_run_folders(parent: Path, keep: int, dry_run: bool = False) -> list[RunFolder]:
    """Remove all but the ``keep`` newest run folders under ``parent``; returns the
    removed ones (or, with ``dry_run``, those that would be)."""
    if keep < 0:
        raise ValueError(f"keep must be 0 or more, got {keep}")
    removed = list_run_folders(parent)[keep:]
    if not dry_run:
        for folder in removed:
            shutil.rmtree(folder.path)
    return removed
