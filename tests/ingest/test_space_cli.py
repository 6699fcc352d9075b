"""``hotzone space passes`` prints the coverage timeline and overflight warnings."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotzone.cli import main

TLE = Path(__file__).parents[1] / "golden" / "space" / "iss-2008.tle"
ARGS = ["space", "passes", "--tle", str(TLE), "--start", "2008-09-20T12:00:00Z"]


def test_passes_over_a_scenario_area_with_warnings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*ARGS, "--zone", "suwalki-drones", "--adversary", "ISS (ZARYA)"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("ISS (ZARYA)")]
    warnings = [line for line in out.splitlines() if line.startswith("WARNING")]
    assert len(rows) == len(warnings) >= 3
    assert all("#" in row for row in rows)
    assert "over suwalki-drones" in warnings[0]


def test_circle_zone_and_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*ARGS, "--zone", "54.1,22.9,30"]) == 0
    assert "WARNING" not in capsys.readouterr().out
    assert main([*ARGS, "--zone", "54.1,22.9,far"]) == 2
    assert "--zone '54.1,22.9,far'" in capsys.readouterr().err
    assert main([*ARGS[:-2], "--start", "2008-09-20T12:00", "--zone", "54,22,1"]) == 2
    assert "needs a UTC offset" in capsys.readouterr().err
