"""The README's `make demo` output block is what `hotzone demo` (the command `make demo`
runs, with its defaults: suwalki-drones, seed 1, 1,200 s) prints at its end.

A demo of one seed comes out the same every time (tests/runtime/test_demo_reproducible.py),
so the block's counts and closing lines are compared with a real run's: every row the
README shows must be in the run's table with the same count, and the closing lines must be
the run's, but for the run folder's time stamp.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
STAMP = re.compile(r"seed1-\d{8}T\d{6}Z")


def readme_block() -> list[str]:
    """The lines of the fenced block after "ends with" in README.md."""
    text = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    after = text.split("It shows a live summary and ends with", 1)[1]
    block = after.split("```", 2)[1]
    return [line.rstrip() for line in block.strip("\n").splitlines()]


def table_rows(lines: list[str]) -> dict[str, str]:
    """A rich table's body rows, ``│ what │ count │``, as {what: count}."""
    rows = {}
    for line in lines:
        cells = [cell.strip() for cell in line.split("│")]
        if len(cells) == 4 and cells[1]:
            rows[cells[1]] = cells[2]
    return rows


def closing_lines(lines: list[str]) -> list[str]:
    """What follows the table, the run folder's time stamp made a pattern."""
    end = max(index for index, line in enumerate(lines) if line.startswith("└"))
    return [STAMP.sub("seed1-<stamp>", line.rstrip()) for line in lines[end + 1 :]]


@pytest.mark.slow(90)
@pytest.mark.timeout(1500)  # a hang guard: 77-91 s in `make test` on the 2-core machine
def test_the_readme_shows_what_make_demo_prints(tmp_path: Path) -> None:
    block = readme_block()
    shown = table_rows(block)
    assert len(shown) >= 8, block  # the block is a table, not an empty fence
    hotzone = Path(sys.executable).parent / "hotzone"
    home = tmp_path / "home"
    home.mkdir()
    completed = subprocess.run(
        [str(hotzone), "demo"],
        cwd=tmp_path,
        env={**os.environ, "HOTZONE_HOME": str(home), "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # the summary table goes to stderr: both, as a user sees
        text=True,
        timeout=1800,
        check=False,
    )
    printed = completed.stdout.splitlines()
    assert completed.returncode == 0, completed.stdout[-4000:]
    counts = table_rows(printed)
    differing = {what: (count, counts.get(what)) for what, count in shown.items()}
    differing = {what: pair for what, pair in differing.items() if pair[0] != pair[1]}
    assert not differing, f"README count, run's count: {differing}"
    assert closing_lines(printed) == closing_lines(block)
    assert block[0] in [line.rstrip() for line in printed]  # "hotzone demo: suwalki-drones"
    folder = next(line for line in printed if line.startswith("run folder: "))
    assert (tmp_path / folder.removeprefix("run folder: ").strip() / "report.html").is_file()
