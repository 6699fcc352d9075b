"""Which c2 file a run uses: the one its scenario names, else the one shipped under its name.

A malformed or missing named file is one line and exit 2; a scenario with no c2 file at
all runs without a response stage and says so in the summary and on the page.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hotzone.api.app import create_app
from hotzone.api.live import run_folder_config
from hotzone.api.users import DEMO_USERS_FILE
from hotzone.c2.config import shipped_c2_path
from hotzone.cli import main
from hotzone.sim.scenario import shipped_scenario_path


def _scenario(folder: Path, name: str, c2_line: str = "") -> Path:
    """suwalki-drones under another name (so no shipped c2 file matches it)."""
    text = shipped_scenario_path("suwalki-drones").read_text(encoding="utf-8")
    text = text.replace(
        "name: suwalki-drones", f"name: {name}" + (f"\n{c2_line}" if c2_line else ""), 1
    )
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _demo(scenario: Path, out: Path) -> int:
    return main(
        ["demo", "--scenario", str(scenario), "--duration", "20", "--quiet", "--out", str(out)]
    )


def _only_run(out: Path) -> Path:
    (run,) = [p for p in out.iterdir() if p.is_dir()]
    return run


def test_a_malformed_named_c2_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "broken-c2.yaml").write_text("effectors: [{id: 1, kind: nonsense}\n")
    scenario = _scenario(tmp_path, "raid-broken", "c2: broken-c2.yaml")
    assert _demo(scenario, tmp_path / "runs") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "broken-c2.yaml" in err and "Traceback" not in err


def test_a_missing_named_c2_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = _scenario(tmp_path, "raid-missing", "c2: nowhere.yaml")
    assert _demo(scenario, tmp_path / "runs") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nowhere.yaml: no such c2 file" in err


def test_the_c2_file_a_scenario_names_is_the_one_the_run_uses(tmp_path: Path) -> None:
    c2 = tmp_path / "our-c2.yaml"
    c2.write_bytes(shipped_c2_path("suwalki-drones").read_bytes())
    scenario = _scenario(tmp_path, "raid-own-c2", "c2: our-c2.yaml")
    assert _demo(scenario, tmp_path / "runs") == 0
    summary = json.loads((_only_run(tmp_path / "runs") / "summary.json").read_text())
    assert summary["response_stage"] == "c2 with simulated operators"


def test_a_run_without_c2_says_so_in_the_summary_and_to_the_page(tmp_path: Path) -> None:
    scenario = _scenario(tmp_path, "raid-no-c2")
    assert _demo(scenario, tmp_path / "runs") == 0
    run = _only_run(tmp_path / "runs")
    summary = json.loads((run / "summary.json").read_text())
    assert summary["response_stage"] == "no response stage: no c2 config for raid-no-c2"
    assert "no response stage: no c2 config for raid-no-c2" in (run / "summary.md").read_text()

    with TestClient(create_app(run_folder_config(run, DEMO_USERS_FILE, "PL"))) as client:
        login = client.post(
            "/api/login", json={"username": "observer", "password": "observer-test"}
        )
        assert login.status_code == 200
        status = client.get("/api/status").json()
    assert status["response_stage"] == "no response stage: no c2 config for raid-no-c2"
