"""``hotzone report``: one self-contained HTML file from a run folder."""

from __future__ import annotations

import shutil
from pathlib import Path

from hotzone.cli import main
from hotzone.sim.scenario import shipped_scenario_path
from hotzone.types import GeoPoint, StandardIdentity, TargetClass, TruthState, write_jsonl
from tests.api.picture_fixture import START, write_picture_store
from tests.runtime.report_html import read_report


def _run_folder(root: Path) -> Path:
    run = root / "run"
    (run / "inputs").mkdir(parents=True)
    write_picture_store(run / "hotzone.sqlite")
    shutil.copyfile(shipped_scenario_path("suwalki-drones"), run / "inputs" / "scenario.yaml")
    # The true drone sits on track T1's last position (fixture: +0.002/-0.003 deg per scan).
    truth = [
        TruthState(
            time=START.replace(second=16),
            target_id="owa-01",
            target_class=TargetClass.ONE_WAY_ATTACK_DRONE,
            affiliation=StandardIdentity.HOSTILE,
            position=GeoPoint(lat_deg=53.968, lon_deg=23.478, height_m=300.0),
            enu_position_m=(0.0, 0.0, 300.0),
            enu_velocity_mps=(-40.0, 25.0, 0.0),
        )
    ]
    with open(run / "inputs" / "truth.jsonl", "wb") as stream:
        write_jsonl(truth, stream)
    return run


def test_report_embeds_every_section(tmp_path: Path, capsys: object) -> None:
    run = _run_folder(tmp_path)
    assert main(["report", str(run)]) == 0
    page = (run / "report.html").read_text(encoding="utf-8")
    for title in ("Map", "Timeline", "OSPA / GOSPA over time", "Classification confusion"):
        assert f"<h2>{title}</h2>" in page
    assert page.count("data:image/png;base64,") == 3
    report = read_report(page)
    header, *rows = report.tables["confusion"]
    matrix = {row[0]: dict(zip(header[1:], row[1:], strict=True)) for row in rows}
    # T1 sits on the true drone; the airliner and the helicopter have no true object near.
    assert matrix["one_way_attack_drone"]["one_way_attack_drone"] == "1"
    assert matrix["clutter (no true object)"]["airliner"] == "1"
    assert matrix["clutter (no true object)"]["helicopter"] == "1"
    # The timeline marks the fixture's alerts and proposals.
    kinds = [row[1] for row in report.tables["events"][1:]]
    assert kinds.count("alert") == 2 and kinds.count("proposal") == 2
    assert 'src="http' not in page  # self-contained


def test_report_refuses_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    assert main(["report", str(tmp_path)]) == 2
