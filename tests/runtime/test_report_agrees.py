"""The after-action report and summary.md of a run of every shipped scenario state the same
figures in the same words (``report.html``'s figures are lines of ``summary.md``)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from hotzone.runtime.demo import run_demo
from hotzone.sim.scenario import shipped_scenarios
from tests.runtime.report_html import read_report


def _run(scenario: str, tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """suwalki-drones: the session's 300-s run (tests/conftest.py), which tests/runtime/
    test_demo.py and tests/web/test_report_page.py read too; the others, a run of their own."""
    if scenario == "suwalki-drones":
        shared: Path = request.getfixturevalue("suwalki_demo_seed3_300s")
        return shared
    quiet = Console(file=io.StringIO())
    return run_demo(scenario, tmp_path, seed=2, duration_s=150.0, live=False, console=quiet)


@pytest.mark.parametrize("scenario", shipped_scenarios())
def test_report_and_summary_state_the_same_figures(
    scenario: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    run = _run(scenario, tmp_path, request)
    report = read_report((run / "report.html").read_text())
    lines = (run / "summary.md").read_text().splitlines()
    figures = report.lists["figures"]
    # Tracking (3 lines) and assessment (4 lines) at least; the response where c2 runs.
    assert len(figures) >= 7
    for figure in figures:
        assert f"- {figure}" in lines, (scenario, figure)
    # The leakers the decisions section names are the number summary.md states (when
    # the run has a response stage: summary.md says nothing of leakers otherwise).
    stated = next(p for p in report.paragraphs if "reached a defended asset" in p)
    counted = stated.rsplit(": ", 1)[1].split(" ")[0]
    for figure in figures:
        if "reached a defended asset" in figure:
            assert figure.endswith(f"reached a defended asset: {counted}")
