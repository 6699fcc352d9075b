"""``hotzone report``: one self-contained HTML file from a run folder."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

from hotzone.cli import main
from hotzone.runtime.routing import subject_for
from hotzone.sim.scenario import shipped_scenario_path
from hotzone.store import SQLiteStore
from hotzone.types import (
    AuditRecord,
    Event,
    EventKind,
    GeoPoint,
    Proposal,
    StandardIdentity,
    TargetClass,
    TaskOrder,
    TruthState,
    write_jsonl,
)
from tests.api.picture_fixture import START, picture_messages, write_picture_store
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


def _order(order_id: str, proposal: Proposal, seconds: int) -> TaskOrder:
    return TaskOrder(
        order_id=order_id,
        time=START + timedelta(seconds=seconds),
        proposal_hash=proposal.content_hash,
        effector_id=proposal.effector_id,
        track_id=proposal.track_id,
        action=proposal.action,
        decision_ids=("d-1", "d-2"),
        releasability="REL PL LT",
    )


def test_report_engagements_are_the_orders_on_c2s_audit_record(tmp_path: Path) -> None:
    """An order c2 audited, with the effect model's outcome: a row with its outcome and an
    order and an engagement on the timeline; an order on the bus c2 never audited: none."""
    run = _run_folder(tmp_path)
    kinetic = next(
        m for m in picture_messages() if isinstance(m, Proposal) and m.proposal_id == "P-KINETIC"
    )
    audited, forged = _order("O-1", kinetic, 20), _order("O-FORGED", kinetic, 21)
    record = AuditRecord(
        sequence=1,
        time=audited.time,
        kind="order",
        actor="PL-c2",
        payload=json.dumps({"order_id": "O-1"}, separators=(",", ":")),
        previous_hash="0" * 64,
        record_hash="1" * 64,
        releasability="REL PL LT",
    )
    effect = Event(
        event_id="effect-1",
        time=START + timedelta(seconds=30),
        source_id="effect-model",
        kind=EventKind.OBSERVATION,
        severity=5,
        summary="target stopped",
        attributes={"order_id": "O-1", "outcome": "stopped"},
        releasability="REL PL LT",
    )
    with SQLiteStore(run / "hotzone.sqlite") as store:
        messages = [audited, record, forged, effect]
        store.append_many((subject_for(m, "PL"), m) for m in messages)
    assert main(["report", str(run)]) == 0
    report = read_report((run / "report.html").read_text(encoding="utf-8"))
    rows = report.tables["engagements"][1:]
    assert [(row[0], row[2], row[4]) for row in rows] == [("O-1", "T1", "stopped")]
    assert rows[0][1].startswith("sam-suwalki")
    assert any(
        "1 order message(s) on the bus are not on c2's audit record" in p for p in report.paragraphs
    )
    events = {(row[1], row[2]) for row in report.tables["events"][1:]}
    assert any(kind == "order" and "sam-suwalki" in what for kind, what in events)
    assert ("engagement", "sam-suwalki → T1: stopped") in events
    assert not any("O-FORGED" in what for _, what in events)
    assert sum(1 for kind, _ in events if kind == "order") == 1
