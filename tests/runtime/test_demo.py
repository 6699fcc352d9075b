"""``hotzone demo`` end to end on a short run: every stage, a run folder an auditor can check."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from hotzone.cli import main
from hotzone.runtime.demo import OUTPUT_FILES
from hotzone.runtime.effectors.config import Interface, load_gateway_spec
from hotzone.runtime.effectors.exercise import exercise_links
from hotzone.runtime.run_folders import run_file
from hotzone.runtime.run_report import leakers
from hotzone.sim.scenario import load_scenario
from hotzone.store import SQLiteStore
from hotzone.types import (
    Assessment,
    AuditRecord,
    Event,
    EventKind,
    Proposal,
    TaskOrder,
    Track,
    TrackStatus,
    TruthState,
    read_jsonl,
)
from tests.demo_runs import run_home
from tests.runtime.report_html import read_report

DOCS = Path(__file__).resolve().parents[2] / "docs"
SAPIENT_NODES = {
    link.node_id
    for link in load_gateway_spec("suwalki-drones").by_interface(Interface.SAPIENT).values()
}


@pytest.fixture(scope="module")
def run_folder(suwalki_demo_seed3_300s: Path) -> Path:
    """suwalki-drones, seed 3, 300 s: the session's run (tests/conftest.py), which
    tests/web/test_report_page.py reads too; these tests only read it."""
    return suwalki_demo_seed3_300s


def test_the_run_folder_holds_inputs_outputs_store_and_summary(run_folder: Path) -> None:
    for name in ("scenario.yaml", "detections.jsonl", "truth.jsonl"):
        assert run_file(run_folder, f"inputs/{name}").stat().st_size > 0
    for name in OUTPUT_FILES.values():
        assert (run_folder / "outputs" / name).exists()
    assert (run_folder / "hotzone.sqlite").exists()
    summary = json.loads((run_folder / "summary.json").read_text())
    assert summary["scenario"] == "suwalki-drones"
    assert summary["dead_letters"] == 0
    assert set(summary["stage_outputs"]) >= {"fusion", "assess", "c2"}
    assert "## Tracking" in (run_folder / "summary.md").read_text()
    # The after-action report comes with the run, self-contained (plots embedded).
    report = (run_folder / "report.html").read_text()
    assert "data:image/png;base64," in report and "<script src=" not in report


def test_report_html_and_the_summary_count_the_same_leakers(run_folder: Path) -> None:
    """Both read one definition of a leaker, so the two documents cannot disagree."""
    summary = json.loads((run_folder / "summary.json").read_text())
    in_report = re.search(
        r"objects that reached a defended asset: (\d+) \(", (run_folder / "report.html").read_text()
    )
    in_markdown = re.search(
        r"reached a defended asset: (\d+)", (run_folder / "summary.md").read_text()
    )
    assert in_report is not None and in_markdown is not None
    assert int(in_report[1]) == int(in_markdown[1]) == summary["response"]["leakers"]


def test_report_tables_match_the_runs_store(run_folder: Path) -> None:
    """The report's proposals, engagements, leakers and confusion matrix, read back from
    its HTML, against what the run's store and truth hold."""
    report = read_report((run_folder / "report.html").read_text())
    with SQLiteStore(run_folder / "hotzone.sqlite") as store:
        messages = [stored.message for stored in store.replay()]
    proposals = [m.proposal_id for m in messages if isinstance(m, Proposal)]
    assert [row[0] for row in report.tables["proposals"][1:]] == proposals
    issued = {
        json.loads(record.payload)["order_id"]
        for record in messages
        if isinstance(record, AuditRecord) and record.kind == "order"
    }
    orders = [m for m in messages if isinstance(m, TaskOrder) and m.order_id in issued]
    rows = report.tables["engagements"][1:]
    assert sorted(row[0] for row in rows) == sorted(o.order_id for o in orders)
    for row, order in zip(sorted(rows), sorted(orders, key=lambda o: o.order_id), strict=True):
        assert (row[2], row[1].split(" ")[0]) == (order.track_id, order.effector_id)
    scenario = load_scenario(run_folder / "inputs" / "scenario.yaml")
    truth = [m for m in read_jsonl(run_file(run_folder, "inputs/truth.jsonl"))]
    truth = [m for m in truth if isinstance(m, TruthState)]
    reached = leakers(scenario, truth)
    stated = next(p for p in report.paragraphs if "reached a defended asset" in p)
    assert stated.endswith(f": {len(reached)} ({', '.join(reached) or 'none'}).")
    # The confusion matrix: one cell count per confirmed, assessed track (matched to a true
    # object or in the clutter row), and every true object either matched or "no track".
    confusion = report.tables["confusion"]
    header, body = confusion[0], confusion[1:]
    no_track = header.index("no track")
    counts = {row[0]: [int(c) if c else 0 for c in row[1:]] for row in body}
    truth_seconds = {round(s.time.timestamp()) for s in truth}
    assessed = {m.track_id for m in messages if isinstance(m, Assessment)}
    matchable = {
        m.track_id
        for m in messages
        if isinstance(m, Track)
        and m.status == TrackStatus.CONFIRMED
        and m.track_id in assessed
        and round(m.time.timestamp()) in truth_seconds
    }
    in_cells = sum(sum(c for i, c in enumerate(row, 1) if i != no_track) for row in counts.values())
    assert in_cells == len(matchable) > 0
    decoys = {s.target_id for s in truth if s.target_id.startswith("decoy")}
    assert decoys and sum(counts["decoy (small_uav)"]) >= len(decoys)
    untracked = sum(row[no_track - 1] for row in counts.values())
    assert untracked <= len({s.target_id for s in truth})


def test_report_html_states_the_figures_of_summary_md(run_folder: Path) -> None:
    """Same terms, same numbers: each figure the report states is a line of summary.md."""
    figures = read_report((run_folder / "report.html").read_text()).lists["figures"]
    lines = (run_folder / "summary.md").read_text().splitlines()
    assert len(figures) >= 8
    for figure in figures:
        assert f"- {figure}" in lines, figure


def test_the_demo_tracks_the_incursion_and_scores_it_against_truth(run_folder: Path) -> None:
    tracks = [m for m in read_jsonl(run_file(run_folder, "outputs/tracks.jsonl"))]
    assert tracks and all(isinstance(t, Track) for t in tracks)
    assert all(t.status == TrackStatus.CONFIRMED for t in tracks if isinstance(t, Track))
    tracking = json.loads((run_folder / "outputs" / "eval.json").read_text())
    assert tracking["hostile_objects"] > 0
    assert tracking["hostile_tracked"] == tracking["hostile_objects"]
    assert 0 < tracking["ospa_mean_m"] < 500


def test_the_demo_raises_alerts_and_proposes_responses(run_folder: Path) -> None:
    summary = json.loads((run_folder / "summary.json").read_text())
    assert summary["output_files"]["alerts.jsonl"] > 0
    assert summary["output_files"]["proposals.jsonl"] > 0
    assert summary["output_files"]["audit.jsonl"] > 0
    for row in summary["response"]["proposals"]:
        assert row["outcome"]


def test_the_summary_says_what_the_picture_understood(run_folder: Path) -> None:
    summary = json.loads((run_folder / "summary.json").read_text())
    understood = summary["assessment"]
    assert understood["tracks_assessed"] > 0
    assert understood.get("identities", {}).get("hostile", 0) > 0
    assert sum(understood["alerts_by_kind"].values()) == summary["output_files"]["alerts.jsonl"]
    markdown = (run_folder / "summary.md").read_text()
    assert "## Assessment" in markdown
    # Identity conflicts and spoofing are listed (none are staged in this scenario).
    assert understood["identity_conflicts"] == []
    assert "## Identity conflicts and spoofing\n\n- none" in markdown


def test_an_auditor_proves_the_run_audit_chain_intact(
    run_folder: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The auditor trusts the nation's configured c2 node keys: those the run was made with.
    monkeypatch.setenv("HOTZONE_HOME", str(run_home(run_folder)))
    assert main(["audit", "verify", str(run_folder)]) == 0
    assert "intact" in capsys.readouterr().out.lower()


def test_the_run_folder_is_compact(run_folder: Path) -> None:
    # Issue 16: the 1,200-s demo wrote 166 MB (the store's JSON, and the same messages
    # again as JSONL). The store compresses the high-volume payloads and the big JSONL
    # files are gzip: about a quarter of that now. This run is a quarter as long.
    size = sum(path.stat().st_size for path in run_folder.rglob("*") if path.is_file())
    assert size < 15_000_000
    assert (run_folder / "outputs" / "tracks.jsonl.gz").is_file()


def _recorded(run_folder: Path) -> list[object]:
    with SQLiteStore(run_folder / "hotzone.sqlite") as store:
        return [stored.message for stored in store.replay(types=["event", "task_order"])]


def _effector_nodes_reporting(messages: list[object]) -> set[str]:
    """The SAPIENT effector nodes whose StatusReports the run recorded."""
    return {
        m.source_id for m in messages if isinstance(m, Event) and m.kind is EventKind.SENSOR_STATUS
    } & SAPIENT_NODES


def test_the_demo_runs_its_effectors_behind_the_real_gateways(run_folder: Path) -> None:
    """By default the scenario's SAPIENT effectors are simulated nodes on hotzone's SAPIENT
    server (their status reports are on the record) and every order for an effector of the
    gateway file goes through its gateway (its lifecycle is on the record)."""
    messages = _recorded(run_folder)
    assert _effector_nodes_reporting(messages) == SAPIENT_NODES
    behind_gateways = set(exercise_links("suwalki-drones"))
    orders = [m for m in messages if isinstance(m, TaskOrder)]
    for order in orders:
        steps = [
            m.attributes["lifecycle"]
            for m in messages
            if isinstance(m, Event)
            and m.source_id.startswith("effectors-")
            and m.attributes.get("order_id") == order.order_id
        ]
        print(order.order_id, order.effector_id, steps)
        assert (order.effector_id in behind_gateways) == (steps[:2] == ["ordered", "delivered"])


def test_with_the_effect_model_no_effector_is_simulated_behind_a_gateway(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    command = "hotzone demo --effect-model --duration 60 --quiet --out runs"
    assert f"\n{command}\n" in (DOCS / "effectors.md").read_text()  # shown there verbatim
    monkeypatch.chdir(tmp_path)
    assert main(shlex.split(command)[1:]) == 0
    (run,) = (tmp_path / "runs").iterdir()
    assert not _effector_nodes_reporting(_recorded(run))
