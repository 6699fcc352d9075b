"""``hotzone report RUN_DIR``: a self-contained HTML after-action report of one run.

Plots are drawn with matplotlib (Agg) and embedded as base64 PNGs, so the one file can be
mailed or archived: a map snapshot (truth, tracks, borders, assets), a timeline of
detections, tracks, alerts, decisions and orders, OSPA/GOSPA over time
(`hotzone.fusion.metrics.set_distance`), the classification confusion matrix (latest
assessment of each confirmed track against the nearest true object), time to decision per
proposal and the leakers (hostile air objects that came within a defended asset's radius,
the same count as ``summary.md``: both use `hotzone.runtime.run_report.leakers`).
"""

from __future__ import annotations

import base64
import html
import io
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from numpy.typing import NDArray

from hotzone.fusion.metrics import set_distance
from hotzone.geo.frames import LocalFrame
from hotzone.runtime.run_folders import run_file
from hotzone.runtime.run_report import leakers
from hotzone.sim.scenario import Scenario, load_scenario
from hotzone.store import SQLiteStore
from hotzone.types import (
    Alert,
    AnyMessage,
    Assessment,
    Decision,
    Detection,
    Proposal,
    TaskOrder,
    Track,
    TrackStatus,
    TruthState,
    read_jsonl,
)

OSPA_CUTOFF_M = 1000.0
MATCH_DISTANCE_M = 1000.0


class ReportError(ValueError):
    """A run folder the report cannot be made from, with the reason."""


def write_report(run_directory: Path, output: Path | None = None) -> Path:
    """Write ``report.html`` (or ``output``) for ``run_directory``; returns its path."""
    store_path = run_directory / "hotzone.sqlite"
    scenario_path = run_directory / "inputs" / "scenario.yaml"
    if not store_path.is_file() or not scenario_path.is_file():
        raise ReportError(f"{run_directory}: not a run folder (needs hotzone.sqlite and inputs/)")
    scenario = load_scenario(scenario_path)
    with SQLiteStore(store_path) as store:
        messages = [stored.message for stored in store.replay()]
    truth_path = run_file(run_directory, "inputs/truth.jsonl")
    truth: list[TruthState] = []
    if truth_path.is_file():
        truth = [m for m in read_jsonl(truth_path) if isinstance(m, TruthState)]
    sections = _sections(scenario, messages, truth, run_directory)
    output = output or run_directory / "report.html"
    output.write_text(_page(scenario, run_directory, sections), encoding="utf-8")
    return output


def _sections(
    scenario: Scenario, messages: list[AnyMessage], truth: list[TruthState], run: Path
) -> list[tuple[str, str]]:
    tracks = [m for m in messages if isinstance(m, Track)]
    sections = [
        ("Map", _image(_map_figure(scenario, tracks, truth))),
        ("Timeline", _image(_timeline_figure(messages))),
    ]
    if truth and tracks:
        sections.append(("OSPA / GOSPA over time", _image(_ospa_figure(tracks, truth))))
        sections.append(("Classification confusion", _confusion_section(messages, truth)))
    sections.append(("Decisions and leakers", _response_section(scenario, messages, truth)))
    return sections


def _image(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    encoded = base64.b64encode(buffer.getvalue()).decode()
    return f'<img alt="plot" src="data:image/png;base64,{encoded}">'


def _map_figure(scenario: Scenario, tracks: list[Track], truth: list[TruthState]) -> Figure:
    figure = Figure(figsize=(9, 7))
    axes = figure.subplots()
    for border in scenario.borders:
        lats, lons = zip(*border.points, strict=True)
        axes.plot(lons, lats, color="goldenrod", linewidth=2)
    for asset in scenario.defended_assets:
        axes.plot(asset.position.lon_deg, asset.position.lat_deg, "bs")
        axes.annotate(asset.name, (asset.position.lon_deg, asset.position.lat_deg), fontsize=7)
    by_target: dict[str, list[TruthState]] = defaultdict(list)
    for state in truth:
        by_target[state.target_id].append(state)
    for states in by_target.values():
        axes.plot(
            [s.position.lon_deg for s in states],
            [s.position.lat_deg for s in states],
            color="lightgrey",
            linewidth=3,
        )
    confirmed = [t for t in tracks if t.status == TrackStatus.CONFIRMED]
    axes.scatter(
        [t.position.lon_deg for t in confirmed],
        [t.position.lat_deg for t in confirmed],
        s=2,
        c="tab:red",
        label="confirmed track positions",
    )
    area = scenario.area
    axes.set_xlim(area.west_deg, area.east_deg)
    axes.set_ylim(area.south_deg, area.north_deg)
    axes.set_xlabel("longitude (deg)")
    axes.set_ylabel("latitude (deg)")
    axes.legend(loc="upper right")
    return figure


def _timeline_figure(messages: list[AnyMessage]) -> Figure:
    kinds = {
        "detections": Detection,
        "track updates": Track,
        "alerts": Alert,
        "decisions": Decision,
        "orders": TaskOrder,
    }
    start = min((m.time.timestamp() for m in messages), default=0.0)
    figure = Figure(figsize=(9, 3.5))
    axes = figure.subplots()
    for label, kind in kinds.items():
        seconds = Counter(
            int(m.time.timestamp() - start) // 10 * 10 for m in messages if isinstance(m, kind)
        )
        if seconds:
            times = sorted(seconds)
            axes.step(times, [seconds[t] for t in times], where="post", label=label)
    axes.set_yscale("symlog")
    axes.set_xlabel("seconds since the first message (10 s bins)")
    axes.set_ylabel("messages")
    axes.legend(fontsize=8)
    return figure


def _ospa_figure(tracks: list[Track], truth: list[TruthState]) -> Figure:
    anchor = truth[0].position
    frame = LocalFrame(anchor.lat_deg, anchor.lon_deg, anchor.height_m)
    truth_by_second: dict[int, list[TruthState]] = defaultdict(list)
    for state in truth:
        truth_by_second[round(state.time.timestamp())].append(state)
    tracks_by_time: dict[float, list[Track]] = defaultdict(list)
    for track in tracks:
        if track.status == TrackStatus.CONFIRMED:
            tracks_by_time[track.time.timestamp()].append(track)
    times, ospa, gospa = [], [], []
    start = min(tracks_by_time, default=0.0)
    for time in sorted(tracks_by_time):
        true_states = truth_by_second.get(round(time))
        if not true_states:
            continue
        estimates = _enu(frame, [t.position for t in tracks_by_time[time]])
        truths = _enu(frame, [s.position for s in true_states])
        distance = set_distance(estimates, truths, cutoff=OSPA_CUTOFF_M)
        times.append(time - start)
        ospa.append(distance.ospa)
        gospa.append(distance.gospa)
    figure = Figure(figsize=(9, 3.5))
    axes = figure.subplots()
    axes.plot(times, ospa, label=f"OSPA (c={OSPA_CUTOFF_M:.0f} m, p=1)")
    axes.plot(times, gospa, label="GOSPA (α=2)")
    axes.set_xlabel("seconds since the first confirmed track")
    axes.set_ylabel("metres")
    axes.legend(fontsize=8)
    return figure


def _enu(frame: LocalFrame, points: list[Any]) -> NDArray[np.float64]:
    lat = np.array([p.lat_deg for p in points])
    lon = np.array([p.lon_deg for p in points])
    height = np.array([p.height_m for p in points])
    return frame.geodetic_to_enu(lat, lon, height).reshape(-1, 3)


def _confusion_section(messages: list[AnyMessage], truth: list[TruthState]) -> str:
    latest: dict[str, Assessment] = {}
    last_track: dict[str, Track] = {}
    for message in messages:
        if isinstance(message, Assessment):
            latest[message.track_id] = message
        elif isinstance(message, Track) and message.status == TrackStatus.CONFIRMED:
            last_track[message.track_id] = message
    truth_by_second: dict[int, list[TruthState]] = defaultdict(list)
    for state in truth:
        truth_by_second[round(state.time.timestamp())].append(state)
    pairs: Counter[tuple[str, str]] = Counter()
    for track_id, track in last_track.items():
        assessment = latest.get(track_id)
        candidates = truth_by_second.get(round(track.time.timestamp()), [])
        if assessment is None or not candidates:
            continue
        anchor = track.position
        frame = LocalFrame(anchor.lat_deg, anchor.lon_deg, anchor.height_m)
        offsets = _enu(frame, [c.position for c in candidates])
        distances = np.linalg.norm(offsets, axis=1)
        nearest = int(np.argmin(distances))
        if distances[nearest] <= MATCH_DISTANCE_M:
            pairs[(str(candidates[nearest].target_class), str(assessment.target_class))] += 1
    if not pairs:
        return "<p>No confirmed track could be matched to a true object.</p>"
    true_classes = sorted({t for t, _ in pairs})
    assessed = sorted({a for _, a in pairs})
    header = "".join(f"<th>{html.escape(a)}</th>" for a in assessed)
    rows = "".join(
        f"<tr><th>{html.escape(t)}</th>"
        + "".join(f"<td>{pairs.get((t, a), '')}</td>" for a in assessed)
        + "</tr>"
        for t in true_classes
    )
    return (
        "<p>Rows: true class; columns: assessed class (last assessment of each confirmed "
        f"track, nearest true object within {MATCH_DISTANCE_M:.0f} m).</p>"
        f"<table><tr><th>true \\ assessed</th>{header}</tr>{rows}</table>"
    )


def _response_section(
    scenario: Scenario, messages: list[AnyMessage], truth: list[TruthState]
) -> str:
    proposals = [m for m in messages if isinstance(m, Proposal)]
    decisions: dict[str, list[Decision]] = defaultdict(list)
    ordered: set[str] = set()
    for message in messages:
        if isinstance(message, Decision):
            decisions[message.proposal_hash].append(message)
        elif isinstance(message, TaskOrder):
            ordered.add(message.proposal_hash)
    rows = []
    for proposal in proposals:
        made = sorted(decisions.get(proposal.content_hash, []), key=lambda d: d.time)
        waited = (made[-1].time - proposal.time).total_seconds() if made else None
        outcome = (
            "ordered"
            if proposal.content_hash in ordered
            else ("decided, no order" if made else "undecided")
        )
        cells = [
            proposal.proposal_id,
            proposal.track_id,
            proposal.effector_id,
            str(proposal.effect_class),
            ", ".join(f"{d.operator_id}:{d.verdict}" for d in made) or "-",
            _seconds(waited),
            outcome,
        ]
        rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    reached = leakers(scenario, truth)
    named = html.escape(", ".join(reached) or "none")
    return (
        f"<p>Proposals: {len(proposals)}; orders: {len(ordered)}; leakers (hostile air "
        f"objects that reached a defended asset): {len(reached)} ({named}).</p>"
        "<table><tr><th>proposal</th><th>track</th><th>effector</th><th>effect</th>"
        f"<th>decisions</th><th>time to decision</th><th>outcome</th></tr>{''.join(rows)}</table>"
    )


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def _page(scenario: Scenario, run: Path, sections: list[tuple[str, str]]) -> str:
    body = "".join(f"<h2>{html.escape(title)}</h2>{content}" for title, content in sections)
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>hotzone after-action report: {html.escape(scenario.name)}</title>"
        "<style>body{font-family:sans-serif;max-width:1000px;margin:auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}"
        "img{max-width:100%}</style></head><body>"
        f"<h1>After-action report: {html.escape(scenario.name)}</h1>"
        f"<p>Run folder: {html.escape(str(run))}</p>{body}</body></html>\n"
    )
