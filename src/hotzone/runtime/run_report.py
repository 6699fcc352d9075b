"""What a run achieved: tracking against truth, and the response loop's decisions.

Both reports are plain dicts (JSON-ready) built from a run folder's files, so the demo's
summary, ``hotzone report`` and the tests read the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hotzone.fusion.metrics import evaluate
from hotzone.geo import within_m
from hotzone.runtime.run_folders import run_file
from hotzone.sim.scenario import Scenario
from hotzone.store import SQLiteStore
from hotzone.types import (
    Alert,
    AnyMessage,
    Assessment,
    Decision,
    Event,
    EventKind,
    Proposal,
    StandardIdentity,
    TargetClass,
    TaskOrder,
    Track,
    TruthState,
    read_jsonl,
)

AIR_THREATS = frozenset(
    {
        TargetClass.ONE_WAY_ATTACK_DRONE,
        TargetClass.SMALL_UAV,
        TargetClass.CRUISE_MISSILE,
        TargetClass.BALLISTIC_MISSILE,
    }
)


def _read(path: Path, kind: type) -> list[Any]:
    return [message for message in read_jsonl(path) if isinstance(message, kind)]


def tracking_report(
    truth_path: Path, tracks_path: Path, own_effectors: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """OSPA/GOSPA, ID switches and time to first confirmed track per truth object.

    ``own_effectors``: the simulated effectors that report their own position (interceptor
    drones behind the MAVLink gateway, callsign their effector id). Their tracks are left
    out: they are in the picture but not in the simulator's truth, so they would count as
    false tracks."""
    truth: list[TruthState] = _read(truth_path, TruthState)
    tracks: list[Track] = [
        track for track in _read(tracks_path, Track) if track.callsign not in own_effectors
    ]
    first: dict[str, TruthState] = {}
    for state in truth:
        first.setdefault(state.target_id, state)
    if not truth:
        return {
            "ospa_mean_m": 0.0,
            "gospa_mean": 0.0,
            "id_switches": 0,
            "fragmentations": 0,
            "hostile_objects": 0,
            "hostile_tracked": 0,
            "objects": [],
        }
    result = evaluate(truth, tracks)
    objects = [
        {
            "target_id": target_id,
            "class": str(state.target_class),
            "affiliation": str(state.affiliation),
            "time_to_track_s": result.time_to_first_track_s.get(target_id),
        }
        for target_id, state in sorted(first.items())
    ]
    hostile = [row for row in objects if row["affiliation"] == StandardIdentity.HOSTILE]
    return {
        "own_effectors": sorted(own_effectors),
        "ospa_mean_m": result.ospa_mean,
        "gospa_mean": result.gospa_mean,
        "gospa_localisation_mean": result.gospa_localisation_mean,
        "gospa_missed_mean": result.gospa_missed_mean,
        "gospa_false_mean": result.gospa_false_mean,
        "id_switches": result.id_switches,
        "fragmentations": result.fragmentations,
        "hostile_objects": len(hostile),
        "hostile_tracked": sum(1 for row in hostile if row["time_to_track_s"] is not None),
        "objects": objects,
    }


IDENTITY_CONFLICT = "identity_conflict"
"""``Event.attributes["anomaly"]`` of fusion's identity conflicts (`fusion.stage`)."""
SPOOFING_ALERT_KINDS = frozenset({"position_spoofing"})
"""Assessment alert kinds that say a cooperative position is false (`assess.anomaly`)."""


def identity_events(events: list[Event], alerts: list[Alert]) -> list[dict[str, Any]]:
    """Identity conflicts (one cooperative identity at two places: fusion's events) and
    spoofing alerts (an ADS-B position far from its radar track: assessment's), each once
    (the first of an event id or alert id), oldest first."""
    rows: dict[str, dict[str, Any]] = {}
    for event in events:
        if event.attributes.get("anomaly") != IDENTITY_CONFLICT or event.event_id in rows:
            continue
        rows[event.event_id] = {
            "time": event.time.isoformat(),
            "kind": IDENTITY_CONFLICT,
            "identity": event.attributes.get("identity", event.subject_id or ""),
            "tracks": event.attributes.get("tracks", ""),
            "distance_m": float(event.attributes.get("distance_m", "nan")),
            "summary": event.summary,
        }
    for alert in alerts:
        if alert.kind not in SPOOFING_ALERT_KINDS or alert.alert_id in rows:
            continue
        rows[alert.alert_id] = {
            "time": alert.time.isoformat(),
            "kind": alert.kind,
            "identity": "",  # in the summary: alerts carry no subject field
            "tracks": alert.track_id or "",
            "distance_m": None,
            "summary": alert.summary,
        }
    return sorted(rows.values(), key=lambda row: str(row["time"]))


def identity_lines(rows: list[dict[str, Any]]) -> list[str]:
    """The identity conflicts and spoofing events as a summary.md section."""
    lines = ["", "## Identity conflicts and spoofing", ""]
    if not rows:
        return [*lines, "- none"]
    lines += [
        "| time | kind | identity | tracks | apart | what |",
        "| --- | --- | --- | --- | ---: | --- |",
    ]
    for row in rows:
        apart = "-" if row["distance_m"] is None else f"{row['distance_m'] / 1000:.1f} km"
        lines.append(
            f"| {row['time']} | {row['kind']} | {row['identity']} | {row['tracks']} | "
            f"{apart} | {row['summary']} |"
        )
    return lines


def assessment_report(run_directory: Path) -> dict[str, Any]:
    """What the picture understood: latest class and identity of each track, the alerts by
    kind, the GNSS-jamming area found (latest estimate), and the identity conflicts and
    spoofing events of the run (`identity_events`)."""
    latest: dict[str, Assessment] = {}
    for assessment in _read(run_file(run_directory, "outputs/assessments.jsonl"), Assessment):
        latest[assessment.track_id] = assessment
    alerts: dict[str, int] = {}
    raised: list[Alert] = _read(run_file(run_directory, "outputs/alerts.jsonl"), Alert)
    for alert in raised:
        alerts[alert.kind] = alerts.get(alert.kind, 0) + 1
    jamming: Event | None = None
    events: list[Event] = []
    with SQLiteStore(run_directory / "hotzone.sqlite") as store:
        for stored in store.replay(types=["event"]):
            if not isinstance(stored.message, Event):
                continue
            events.append(stored.message)
            if stored.message.kind == EventKind.JAMMING:
                jamming = stored.message
    classes: dict[str, int] = {}
    identities: dict[str, int] = {}
    for assessment in latest.values():
        classes[assessment.target_class] = classes.get(assessment.target_class, 0) + 1
        identity = assessment.standard_identity
        identities[identity] = identities.get(identity, 0) + 1
    return {
        "tracks_assessed": len(latest),
        "classes": dict(sorted(classes.items())),
        "identities": dict(sorted(identities.items())),
        "alerts_by_kind": dict(sorted(alerts.items())),
        "identity_conflicts": identity_events(events, raised),
        "jamming_area": None
        if jamming is None or jamming.position is None
        else {
            "time": jamming.time.isoformat(),
            "lat_deg": jamming.position.lat_deg,
            "lon_deg": jamming.position.lon_deg,
            "confidence": float(jamming.attributes.get("confidence", "nan")),
            "summary": jamming.summary,
        },
    }


def leakers(scenario: Scenario, truth: list[TruthState]) -> list[str]:
    """Hostile air objects whose true position came inside a defended asset's radius."""
    reached: set[str] = set()
    threats = [
        s
        for s in truth
        if s.affiliation == StandardIdentity.HOSTILE and s.target_class in AIR_THREATS
    ]
    if not threats:
        return []
    lat = np.array([s.position.lat_deg for s in threats])
    lon = np.array([s.position.lon_deg for s in threats])
    for asset in scenario.defended_assets:
        centre = asset.position
        inside = within_m(centre.lat_deg, centre.lon_deg, lat, lon, float(asset.radius))
        for index in np.flatnonzero(inside):
            reached.add(threats[int(index)].target_id)
    return sorted(reached)


_RESPONSE_TYPES = ("decision", "event", "proposal", "task_order")
"""What the response report reads of a store: not the tracks and detections (most of it)."""


def response_report(
    scenario: Scenario, run_directory: Path, messages: Sequence[AnyMessage] | None = None
) -> dict[str, Any]:
    """Every proposal with its decisions, time to decision and outcome; leakers. From the
    run's store, or from ``messages`` where the caller has read it already."""
    if messages is None:
        with SQLiteStore(run_directory / "hotzone.sqlite") as store:
            messages = [
                stored.message for stored in store.replay(pattern="hz.*.>", types=_RESPONSE_TYPES)
            ]
    proposals = [m for m in messages if isinstance(m, Proposal)]
    if not proposals and not any(isinstance(m, TaskOrder) for m in messages):
        return {}
    decisions: dict[str, list[Decision]] = {}
    for message in messages:
        if isinstance(message, Decision):
            decisions.setdefault(message.proposal_hash, []).append(message)
    orders = {m.proposal_hash: m for m in messages if isinstance(m, TaskOrder)}
    outcomes = {
        m.attributes.get("order_id"): m.attributes.get("outcome", "")
        for m in messages
        if isinstance(m, Event) and m.source_id == "effect-model"
    }
    rows = []
    for proposal in proposals:
        made = sorted(decisions.get(proposal.content_hash, []), key=lambda d: d.time)
        order = orders.get(proposal.content_hash)
        if order is not None:
            outcome = outcomes.get(order.order_id, "ordered")
        elif made:
            outcome = "rejected, void or expired"
        else:
            outcome = "undecided"
        rows.append(
            {
                "proposal_id": proposal.proposal_id,
                "track_id": proposal.track_id,
                "effector_id": proposal.effector_id,
                "effect_class": str(proposal.effect_class),
                "decisions": ", ".join(f"{d.operator_id}:{d.verdict}" for d in made) or "-",
                "time_to_decision_s": (made[-1].time - proposal.time).total_seconds()
                if made
                else None,
                "outcome": outcome,
            }
        )
    # A live run (or a drill recorded from real effectors) has no truth: no leakers known.
    truth_path = run_file(run_directory, "inputs/truth.jsonl")
    truth: list[TruthState] = _read(truth_path, TruthState) if truth_path.is_file() else []
    reached = leakers(scenario, truth)
    use: dict[str, int] = {}
    for order in orders.values():
        use[order.effector_id] = use.get(order.effector_id, 0) + 1
    return {
        "proposals": rows,
        "orders": len(orders),
        "effector_use": dict(sorted(use.items())),
        "stopped": sum(1 for outcome in outcomes.values() if outcome == "stopped"),
        "leakers": len(reached),
        "leaker_ids": reached,
    }
