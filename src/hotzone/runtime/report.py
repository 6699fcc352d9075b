"""``hotzone report RUN_DIR``: a self-contained HTML after-action report of one run.

Plots are drawn with matplotlib (Agg) and embedded as base64 PNGs, so the one file can be
mailed or archived:

- the run's figures in the words and numbers of ``summary.md`` (the same functions of
  `hotzone.runtime.run_report` compute both);
- a map: borders, assets, the true paths, each confirmed track's path in the colour of its
  latest identity, each engagement as a line from the effector to its aim point coloured by
  its outcome, and the leakers (hostile air objects that came within a defended asset's
  radius, `hotzone.runtime.run_report.leakers`) marked where they were last;
- a timeline: the message rate over one lane per kind of event, the events the page's
  replay timeline shows (`hotzone.runtime.timeline`), and their list;
- OSPA/GOSPA over time (`hotzone.fusion.metrics.set_distance`);
- the classification confusion matrix (last assessment of each confirmed track against the
  nearest true object), with decoys apart, a clutter row for tracks with no true object
  near and a column for true objects no track matched;
- time to decision per proposal, and the engagements: each order on c2's audit record with
  its decision -> order -> ack -> outcome steps (`hotzone.runtime.engagements`).
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from numpy.typing import NDArray

from hotzone.c2.config import C2ConfigError, c2_config_path, load_c2_spec
from hotzone.fusion.metrics import set_distance
from hotzone.geo.frames import LocalFrame
from hotzone.runtime.engagements import Engagement, EngagementBook
from hotzone.runtime.run_folders import run_file
from hotzone.runtime.run_report import (
    assessment_report,
    leakers,
    response_report,
    tracking_report,
)
from hotzone.runtime.timeline import EVENT_KINDS, TimelineEvent, timeline_events
from hotzone.sim.scenario import Scenario, load_scenario
from hotzone.store import SQLiteStore
from hotzone.types import (
    AnyMessage,
    Assessment,
    AuditRecord,
    Detection,
    Event,
    GeoPoint,
    StandardIdentity,
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
    engagements = _engagements(messages)
    issued = {e.order.order_id for e in engagements}
    events = timeline_events(
        [m for m in messages if not isinstance(m, TaskOrder) or m.order_id in issued],
        engagements,
    )
    response = response_report(scenario, run, messages)
    sections = [
        ("Figures", _figures_section(scenario, run, truth, response)),
        ("Map", _image(_map_figure(scenario, tracks, truth, engagements, _identities(messages)))),
        ("Timeline", _image(_timeline_figure(messages, events)) + _events_table(events)),
    ]
    if truth and tracks:
        # As summary.md: the run's own interceptors (in the picture, not in the truth) are
        # no false tracks.
        own = set(_own_effectors(run))
        scored = [track for track in tracks if track.callsign not in own]
        sections.append(("OSPA / GOSPA over time", _image(_ospa_figure(scored, truth))))
        sections.append(("Classification confusion", _confusion_section(messages, truth)))
    sections.append(("Decisions and leakers", _response_section(scenario, response, truth)))
    sections.append(("Engagements", _engagement_section(engagements, messages)))
    return sections


def _own_effectors(run: Path) -> list[str]:
    """The simulated effectors whose own tracks the demo left out of its figures
    (``outputs/eval.json``, written with summary.md), none when the run has no such file."""
    evaluation = run_file(run, "outputs/eval.json")
    if not evaluation.is_file():
        return []
    own: list[str] = json.loads(evaluation.read_text()).get("own_effectors", [])
    return own


def _tracking(run: Path, truth_path: Path, tracks_path: Path) -> dict[str, Any]:
    """summary.md's tracking figures: computed by the same function, leaving out the same
    own interceptors."""
    return tracking_report(truth_path, tracks_path, frozenset(_own_effectors(run)))


def _figures_section(
    scenario: Scenario, run: Path, truth: list[TruthState], response: dict[str, Any]
) -> str:
    """The run's figures in the words and numbers of ``summary.md`` (the same functions of
    `hotzone.runtime.run_report` compute them), so the two documents read alike."""
    lines = []
    truth_path = run_file(run, "inputs/truth.jsonl")
    tracks_path = run_file(run, "outputs/tracks.jsonl")
    if truth_path.is_file() and tracks_path.is_file():
        tracking = _tracking(run, truth_path, tracks_path)
        lines += [
            f"OSPA mean {tracking['ospa_mean_m']:.1f} m, GOSPA mean {tracking['gospa_mean']:.1f}",
            f"ID switches {tracking['id_switches']}, fragmentations {tracking['fragmentations']}",
            f"hostile objects with a confirmed track: {tracking['hostile_tracked']}"
            f"/{tracking['hostile_objects']}",
        ]
    outputs = (run_file(run, f"outputs/{name}.jsonl") for name in ("assessments", "alerts"))
    if all(path.is_file() for path in outputs):
        understood = assessment_report(run)
        lines += [
            f"tracks assessed: {understood['tracks_assessed']}",
            "classes (latest per track): "
            + (", ".join(f"{k} {v}" for k, v in understood["classes"].items()) or "none"),
            "identities (latest per track): "
            + (", ".join(f"{k} {v}" for k, v in understood["identities"].items()) or "none"),
            "alerts: "
            + (", ".join(f"{k} {v}" for k, v in understood["alerts_by_kind"].items()) or "none"),
        ]
    if response:
        lines += [
            f"orders {response['orders']}, threats stopped {response['stopped']}, "
            f"hostile air objects that reached a defended asset: {response['leakers']}",
            "orders per effector: "
            + (", ".join(f"{k} {v}" for k, v in response["effector_use"].items()) or "none"),
        ]
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    return f'<ul id="figures">{items}</ul>'


def _identities(messages: list[AnyMessage]) -> dict[str, str]:
    """Each track's latest standard identity (its assessment), by track id."""
    return {m.track_id: str(m.standard_identity) for m in messages if isinstance(m, Assessment)}


def _engagements(messages: list[AnyMessage]) -> list[Engagement]:
    """The engagements of the orders c2 put on its audit record (an order on the bus that
    c2 did not issue is no engagement), with the lifecycle steps c2 put there too: c2
    records a gateway's step only once its signature verifies against a gateway key it
    trusts, so a step forged or altered on the bus never reaches the report, and the
    report needs no key of the installation to know it (`hotzone audit verify` proves the
    record itself)."""
    audited = _audited_payloads(messages)
    book = EngagementBook()
    for message in messages:
        if isinstance(message, TaskOrder):
            if _on_record(audited["order"], "order_id", message.order_id):
                book.take_order(message)
        elif isinstance(message, Event) and message.attributes.get("lifecycle"):
            if _on_record(audited["effector"], "event_id", message.event_id):
                book.take(message)
        else:
            book.take(message)
    return book.rows()


def _audited_payloads(messages: list[AnyMessage]) -> dict[str, list[str]]:
    """The payloads of c2's audit records of orders and of effector lifecycle steps."""
    audited: dict[str, list[str]] = {"order": [], "effector": []}
    for record in messages:
        if isinstance(record, AuditRecord) and record.kind in audited:
            audited[record.kind].append(record.payload)
    return audited


def _on_record(payloads: list[str], key: str, value: str) -> bool:
    """Whether an audit record's payload is the message whose ``key`` is ``value``."""
    needle = f'"{key}":"{value}"'
    return any(needle in payload for payload in payloads)


def _clock(engagement: Engagement) -> str:
    return " → ".join(
        f"{html.escape(step)} {time:%H:%M:%S}" for step, time in engagement.timeline()
    )


def _engagement_section(engagements: list[Engagement], messages: list[AnyMessage]) -> str:
    orders = sum(1 for m in messages if isinstance(m, TaskOrder))
    rows = []
    for engagement in engagements:
        order = engagement.order
        cells = [
            html.escape(order.order_id),
            html.escape(f"{order.effector_id} ({engagement.interface or 'effect model'})"),
            html.escape(order.track_id),
            _clock(engagement),
            html.escape(engagement.outcome),
        ]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    not_issued = orders - len(engagements)
    note = (
        f" {not_issued} order message(s) on the bus are not on c2's audit record: not shown."
        if not_issued > 0
        else ""
    )
    audited_steps = _audited_payloads(messages)["effector"]
    unaudited = sum(
        1
        for m in messages
        if isinstance(m, Event)
        and m.attributes.get("lifecycle")
        and not _on_record(audited_steps, "event_id", m.event_id)
    )
    if unaudited:
        note += (
            f" {unaudited} lifecycle step(s) on the bus are not on c2's audit record (not"
            " verified by c2, or reported after it stopped): not shown."
        )
    return (
        f"<p>Engagements (orders on c2's audit record): {len(engagements)}.{note}</p>"
        '<table id="engagements"><tr><th>order</th><th>effector (interface)</th>'
        "<th>track</th><th>decision → order → ack → outcome</th><th>outcome</th></tr>"
        f"{''.join(rows)}</table>"
    )


def _effector_positions(scenario: Scenario) -> dict[str, GeoPoint]:
    try:
        path = c2_config_path(scenario)
        if path is None:
            return {}
        return {e.id: e.position for e in load_c2_spec(path).effectors}
    except C2ConfigError:
        return {}


def _image(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    encoded = base64.b64encode(buffer.getvalue()).decode()
    return f'<img alt="plot" src="data:image/png;base64,{encoded}">'


# The page's identity colours (web/static/cop.js), darkened to read on white paper.
IDENTITY_COLOURS = {
    StandardIdentity.PENDING: "#b59a00",
    StandardIdentity.UNKNOWN: "#b59a00",
    StandardIdentity.ASSUMED_FRIEND: "#1f8fc0",
    StandardIdentity.FRIEND: "#1f8fc0",
    StandardIdentity.NEUTRAL: "#2a9d2a",
    StandardIdentity.SUSPECT: "#e0602a",
    StandardIdentity.HOSTILE: "#d62728",
}
OUTCOME_COLOURS = {"stopped": "#2a9d2a", "missed": "#d62728"}


def _map_figure(
    scenario: Scenario,
    tracks: list[Track],
    truth: list[TruthState],
    engagements: Sequence[Engagement] = (),
    identities: dict[str, str] | None = None,
) -> Figure:
    identities = identities or {}
    figure = Figure(figsize=(9, 7))
    axes = figure.subplots()
    # Borders in black dash-dot: goldenrod, as the page draws them, reads as an unknown
    # track's colour on paper.
    for index, border in enumerate(scenario.borders):
        lats, lons = zip(*border.points, strict=True)
        axes.plot(lons, lats, "-.", color="#333", linewidth=1.2, label=None if index else "border")
    for index, asset in enumerate(scenario.defended_assets):
        axes.plot(
            asset.position.lon_deg,
            asset.position.lat_deg,
            "bs",
            label=None if index else "defended asset",
        )
        axes.annotate(asset.name, (asset.position.lon_deg, asset.position.lat_deg), fontsize=7)
    by_target: dict[str, list[TruthState]] = defaultdict(list)
    for state in truth:
        by_target[state.target_id].append(state)
    for index, states in enumerate(by_target.values()):
        axes.plot(
            [s.position.lon_deg for s in states],
            [s.position.lat_deg for s in states],
            color="grey",
            linewidth=3,
            alpha=0.35,
            label=None if index else "truth (true paths)",
        )
    # Each confirmed track's path in the colour of its latest identity.
    paths: dict[str, list[Track]] = defaultdict(list)
    for track in tracks:
        if track.status == TrackStatus.CONFIRMED:
            paths[track.track_id].append(track)
    labelled: set[str] = set()
    for track_id, path in paths.items():
        identity = identities.get(track_id, StandardIdentity.PENDING)
        colour = IDENTITY_COLOURS.get(StandardIdentity(identity), "#777")
        axes.plot(
            [t.position.lon_deg for t in path],
            [t.position.lat_deg for t in path],
            color=colour,
            linewidth=1,
            label=None if identity in labelled else f"track, {identity.replace('_', ' ')}",
        )
        labelled.add(identity)
    positions = _effector_positions(scenario)
    for position in positions.values():
        axes.plot(position.lon_deg, position.lat_deg, "^", color="tab:purple", markersize=5)
    labelled.clear()
    for engagement in engagements:
        start, aim = positions.get(engagement.order.effector_id), engagement.aim
        if start is None or aim is None:
            continue
        outcome = engagement.outcome
        colour = OUTCOME_COLOURS.get(outcome, "tab:blue")
        axes.plot(
            [start.lon_deg, aim.lon_deg],
            [start.lat_deg, aim.lat_deg],
            "--",
            color=colour,
            linewidth=1.5,
            label=None if outcome in labelled else f"engagement (effector → target): {outcome}",
        )
        axes.plot(aim.lon_deg, aim.lat_deg, "x", color=colour)
        labelled.add(outcome)
    reached = set(leakers(scenario, truth))
    if reached:
        last = {state.target_id: state for state in truth if state.target_id in reached}
        axes.scatter(
            [state.position.lon_deg for state in last.values()],
            [state.position.lat_deg for state in last.values()],
            marker="X",
            s=80,
            c="black",
            label="leaker (reached a defended asset; last true position)",
            zorder=5,
        )
        for target_id, state in last.items():
            axes.annotate(target_id, (state.position.lon_deg, state.position.lat_deg), fontsize=7)
    area = scenario.area
    axes.set_xlim(area.west_deg, area.east_deg)
    axes.set_ylim(area.south_deg, area.north_deg)
    axes.set_xlabel("longitude (deg)")
    axes.set_ylabel("latitude (deg)")
    axes.legend(loc="upper right", fontsize=7)
    return figure


EVENT_MARKERS = {
    "alert": ("o", "tab:orange"),
    "proposal": ("s", "tab:blue"),
    "decision": ("D", "tab:purple"),
    "order": ("^", "tab:red"),
    "engagement": ("*", "black"),
    "jamming": ("v", "tab:brown"),
    "cyber": ("P", "tab:pink"),
}


def _timeline_figure(messages: list[AnyMessage], events: list[TimelineEvent]) -> Figure:
    """One lane per kind of event (a marker at each), over the message rate."""
    start = min((m.time.timestamp() for m in messages), default=0.0)
    figure = Figure(figsize=(9, 4.5))
    rates, lanes = figure.subplots(2, 1, sharex=True, height_ratios=(1, 1.4))
    for label, message_type in {"detections": Detection, "track updates": Track}.items():
        seconds = Counter(
            int(m.time.timestamp() - start) // 10 * 10
            for m in messages
            if isinstance(m, message_type)
        )
        if seconds:
            bins = sorted(seconds)
            rates.step(bins, [seconds[t] for t in bins], where="post", label=label)
    rates.set_yscale("symlog")
    rates.set_ylabel("messages / 10 s")
    rates.legend(fontsize=7, loc="upper left")
    for lane, kind in enumerate(EVENT_KINDS):
        marker, colour = EVENT_MARKERS[kind]
        times = [e.posix_time - start for e in events if e.kind == kind]
        lanes.scatter(times, [lane] * len(times), marker=marker, color=colour, s=30)
    lanes.set_yticks(range(len(EVENT_KINDS)), [EVENT_NAMES[k] for k in EVENT_KINDS], fontsize=8)
    lanes.set_ylim(len(EVENT_KINDS) - 0.5, -0.5)
    lanes.set_xlabel("seconds since the first message")
    lanes.grid(axis="x", alpha=0.3)
    return figure


EVENT_NAMES = {
    "alert": "alerts raised",
    "proposal": "proposals",
    "decision": "decisions",
    "order": "orders",
    "engagement": "engagement outcomes",
    "jamming": "GNSS-jamming events",
    "cyber": "cyber events",
}


def _events_table(events: list[TimelineEvent]) -> str:
    counts = Counter(e.kind for e in events)
    # An alert is counted once, when raised; summary.md's "alerts" counts alert messages
    # (each update of an alert too), so the word differs: "alerts raised".
    summary = ", ".join(
        f"{EVENT_NAMES[kind]} {counts[kind]}" for kind in EVENT_KINDS if counts[kind]
    )
    rows = "".join(
        f'<tr data-kind="{html.escape(e.kind)}"><td>{e.posix_time_text}</td>'
        f"<td>{html.escape(e.kind)}</td><td>{html.escape(e.label)}</td>"
        f"<td>{html.escape(e.track_id or '-')}</td></tr>"
        for e in events
    )
    return (
        f"<p>Events: {summary or 'none'}.</p>"
        '<details><summary>every event</summary><table id="events"><tr><th>time (UTC)</th>'
        f"<th>event</th><th>what</th><th>track</th></tr>{rows}</table></details>"
    )


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


CLUTTER_ROW = "clutter (no true object)"
NOT_TRACKED = "no track"


def _true_label(state: TruthState) -> str:
    # Decoys are flown as small UAVs (scenario ids ``decoy-*``): their own row, since
    # telling them from attack drones is the classifier's hardest case.
    if state.target_id.startswith("decoy"):
        return f"decoy ({state.target_class})"
    return str(state.target_class)


def confusion_pairs(
    messages: list[AnyMessage], truth: list[TruthState]
) -> Counter[tuple[str, str]]:
    """(true class, assessed class) of each confirmed, assessed track: its last assessment
    against the nearest true object at its last update that has truth (within
    ``MATCH_DISTANCE_M``; none: the clutter row), and (true class, "no track") for each
    true object that no track matched."""
    truth_by_second: dict[int, list[TruthState]] = defaultdict(list)
    for state in truth:
        truth_by_second[round(state.time.timestamp())].append(state)
    latest: dict[str, Assessment] = {}
    last_track: dict[str, Track] = {}
    for message in messages:
        if isinstance(message, Assessment):
            latest[message.track_id] = message
        elif (
            isinstance(message, Track)
            and message.status == TrackStatus.CONFIRMED
            and round(message.time.timestamp()) in truth_by_second
        ):
            last_track[message.track_id] = message
    pairs: Counter[tuple[str, str]] = Counter()
    matched: set[str] = set()
    for track_id, track in last_track.items():
        assessment = latest.get(track_id)
        if assessment is None:
            continue
        assessed = str(assessment.target_class)
        candidates = truth_by_second.get(round(track.time.timestamp()), [])
        if candidates:
            anchor = track.position
            frame = LocalFrame(anchor.lat_deg, anchor.lon_deg, anchor.height_m)
            distances = np.linalg.norm(_enu(frame, [c.position for c in candidates]), axis=1)
            nearest = int(np.argmin(distances))
            if distances[nearest] <= MATCH_DISTANCE_M:
                matched.add(candidates[nearest].target_id)
                pairs[(_true_label(candidates[nearest]), assessed)] += 1
                continue
        pairs[(CLUTTER_ROW, assessed)] += 1
    first = {state.target_id: state for state in reversed(truth)}
    for target_id, state in first.items():
        if target_id not in matched:
            pairs[(_true_label(state), NOT_TRACKED)] += 1
    return pairs


def _confusion_section(messages: list[AnyMessage], truth: list[TruthState]) -> str:
    pairs = confusion_pairs(messages, truth)
    if not pairs:
        return "<p>No confirmed track could be matched to a true object.</p>"
    true_classes = sorted({t for t, _ in pairs} - {CLUTTER_ROW}) + (
        [CLUTTER_ROW] if any(t == CLUTTER_ROW for t, _ in pairs) else []
    )
    assessed = [*sorted({a for _, a in pairs} - {NOT_TRACKED}), NOT_TRACKED]
    header = "".join(f"<th>{html.escape(a)}</th>" for a in assessed)
    rows = "".join(
        f"<tr><th>{html.escape(t)}</th>"
        + "".join(f"<td>{pairs.get((t, a), '')}</td>" for a in assessed)
        + "</tr>"
        for t in true_classes
    )
    return (
        "<p>Rows: true class (decoys apart; tracks with no true object within "
        f"{MATCH_DISTANCE_M:.0f} m in the clutter row); columns: assessed class, the last "
        "assessment of each confirmed track against the nearest true object at its last "
        f"update, and true objects that no track matched ({NOT_TRACKED}).</p>"
        f'<table id="confusion"><tr><th>true \\ assessed</th>{header}</tr>{rows}</table>'
    )


def _response_section(scenario: Scenario, response: dict[str, Any], truth: list[TruthState]) -> str:
    """Proposals, decisions and leakers: the rows of ``summary.md`` (`response_report`)."""
    rows = []
    for row in response.get("proposals", []):
        cells = [
            row["proposal_id"],
            row["track_id"],
            row["effector_id"],
            row["effect_class"],
            row["decisions"],
            _seconds(row["time_to_decision_s"]),
            row["outcome"],
        ]
        rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    reached = leakers(scenario, truth)
    named = html.escape(", ".join(reached) or "none")
    return (
        f"<p>Proposals: {len(rows)}; orders: {response.get('orders', 0)}; hostile air "
        f"objects that reached a defended asset: {len(reached)} ({named}).</p>"
        '<table id="proposals"><tr><th>proposal</th><th>track</th><th>effector</th>'
        "<th>effect</th><th>decisions</th><th>time to decision</th><th>outcome</th></tr>"
        f"{''.join(rows)}</table>"
    )


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} s"


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
