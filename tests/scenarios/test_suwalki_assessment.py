"""suwalki-drones end to end: what the assessment must achieve (issue 6, "Measured").

One full run of the shipped scenario (every stage, the response loop closed through the
effect model, so a drone that was stopped never reaches an asset) is shared by all tests.
Truth decides: an alert is matched to the simulated object its track was following at
the alert's time (`tests.scenarios.matching`).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from rich.console import Console

from hotzone.geo import geodesic_distance_m
from hotzone.runtime.demo import run_demo
from hotzone.sim.scenario import Scenario, load_scenario
from hotzone.store import SQLiteStore
from hotzone.types import (
    Alert,
    AlertState,
    Event,
    EventKind,
    StandardIdentity,
    TargetClass,
    Track,
    TrackStatus,
)
from tests.scenarios.matching import RunRecord

SCENARIO = "suwalki-drones"
SEED = 1
HOSTILE_DRONE_CLASSES = frozenset({TargetClass.ONE_WAY_ATTACK_DRONE, TargetClass.SMALL_UAV})
TRACK_ALERT_KINDS = frozenset({"threat", "hostile_track"})
"""The assessment's alerts about one track (c2's camera cues are not alerts of threat)."""
JAMMING_TOLERANCE_M = 20_000.0


@dataclass
class SuwalkiRun:
    folder: Path
    scenario: Scenario
    record: RunRecord
    jamming: list[Event]


#: The module's set-up plays the whole scenario (about 100 s).
pytestmark = pytest.mark.slow(100)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> SuwalkiRun:
    scenario = load_scenario(SCENARIO)
    quiet = Console(file=io.StringIO())
    folder = run_demo(
        SCENARIO,
        tmp_path_factory.mktemp("suwalki"),
        seed=SEED,
        live=False,
        console=quiet,
        report=False,
    )
    with SQLiteStore(folder / "hotzone.sqlite") as store:
        events = [stored.message for stored in store.replay(types=["event"])]
    jamming = [
        e
        for e in events
        if isinstance(e, Event)
        and e.kind == EventKind.JAMMING
        and e.attributes.get("layer") == "gnss_interference"
    ]
    return SuwalkiRun(folder, scenario, RunRecord.read(scenario, folder), jamming)


def _hostile_drones(scenario: Scenario) -> list[str]:
    return [
        target.id
        for target in scenario.targets
        if target.affiliation == StandardIdentity.HOSTILE and target.cls in HOSTILE_DRONE_CLASSES
    ]


def test_every_hostile_drone_is_alerted_before_it_reaches_an_asset(run: SuwalkiRun) -> None:
    drones = _hostile_drones(run.scenario)
    assert len(drones) >= 5, "the scenario lost its drones"
    matched, _ = run.record.alerts_by_object()
    start = run.scenario.start_posix
    stopped = json.loads((run.folder / "summary.json").read_text())["response"]
    rows, failures = [], []
    for drone in drones:
        assert drone in run.record.objects, f"{drone} never appeared in the truth"
        alerts = [a for a in matched.get(drone, []) if a.kind in TRACK_ALERT_KINDS]
        first_alert = min((a.time.timestamp() for a in alerts), default=None)
        reached = run.record.first_inside(drone)
        alert_text = "never" if first_alert is None else f"{first_alert - start:5.0f} s"
        if reached is None:
            margin_text = "never reached an asset"
        else:
            reach_s, asset = reached
            margin = None if first_alert is None else reach_s - first_alert
            margin_text = f"reached {asset} at {reach_s - start:.0f} s, margin " + (
                "none" if margin is None else f"{margin:.0f} s"
            )
            if margin is None or margin <= 0:
                failures.append(drone)
        if first_alert is None:
            failures.append(drone)
        rows.append(f"{drone:10} first alert {alert_text:>8}  {margin_text}")
    table = "\n".join(rows) + f"\nleakers: {stopped.get('leaker_ids')}"
    print(f"\nsuwalki-drones seed {SEED}: alert margins\n{table}")
    assert not failures, f"drones not alerted before reaching an asset: {failures}\n{table}"


def test_no_cooperative_airliner_is_ever_hostile_or_alerted(run: SuwalkiRun) -> None:
    airliners = {
        target_id: state.icao24
        for target_id, state in run.record.objects.items()
        if state.target_class == TargetClass.AIRLINER and state.icao24 is not None
    }
    assert len(airliners) >= 3
    by_icao = {icao: target_id for target_id, icao in airliners.items()}
    airliner_tracks = {
        t.track_id: by_icao[t.icao24] for t in run.record.tracks if t.icao24 in by_icao
    }
    assessed = {by_icao.get(t.icao24 or "") for t in run.record.tracks} & set(airliners)
    assert assessed == set(airliners), "an airliner was never tracked with its ICAO address"

    def airliner_of(track_id: str, time_s: float) -> str | None:
        if track_id in airliner_tracks:
            return airliner_tracks[track_id]
        target_id, _ = run.record.object_of(track_id, time_s)
        return target_id if target_id in airliners else None

    wrong = []
    for assessment in run.record.assessments:
        if assessment.standard_identity != StandardIdentity.HOSTILE:
            continue
        airliner = airliner_of(assessment.track_id, assessment.time.timestamp())
        if airliner is not None:
            wrong.append(f"{airliner}: assessed hostile on {assessment.track_id}")
    for alert in run.record.alerts:
        if alert.track_id is None:
            continue
        airliner = airliner_of(alert.track_id, alert.time.timestamp())
        if airliner is not None:
            wrong.append(f"{airliner}: alert {alert.alert_id} ({alert.summary})")
    assert not wrong, "\n".join(wrong[:20])


def test_the_gnss_jamming_area_is_located_near_its_true_centre(run: SuwalkiRun) -> None:
    assert run.jamming, "the detector never published a jamming area"
    (true_area,) = run.scenario.jamming_areas
    distances = [
        float(
            geodesic_distance_m(
                true_area.center.lat_deg,
                true_area.center.lon_deg,
                e.position.lat_deg,
                e.position.lon_deg,
            )
        )
        for e in run.jamming
        if e.position is not None
    ]
    start = run.scenario.start_posix
    settled = next(
        (
            event.time.timestamp() - start
            for index, event in enumerate(run.jamming)
            if all(d <= JAMMING_TOLERANCE_M for d in distances[index:])
        ),
        None,
    )
    latest = run.jamming[-1]
    report = (
        f"latest estimate {distances[-1] / 1000:.1f} km from the true centre "
        f"(confidence {latest.attributes.get('confidence')}); first estimate at "
        f"{run.jamming[0].time.timestamp() - start:.0f} s was {distances[0] / 1000:.1f} km off; "
        f"within {JAMMING_TOLERANCE_M / 1000:.0f} km from {settled} s on"
    )
    print(f"\nsuwalki-drones seed {SEED}: jamming {report}")
    assert distances[-1] <= JAMMING_TOLERANCE_M, report
    assert json.loads(latest.attributes["polygon"]), "the jamming area has no polygon"


def test_a_track_that_ends_is_deleted_on_the_bus_and_its_alerts_close(run: SuwalkiRun) -> None:
    """The tracker's windows say when a track ends (published once more, as deleted): the
    assessment closes its alerts, and no track is left on the picture long after its last
    update. Until 2026-12 the windows never said so, and both stayed as last shown."""
    last: dict[str, Track] = {}
    for track in run.record.tracks:
        last[track.track_id] = track
    deleted = {track_id for track_id, track in last.items() if track.status is TrackStatus.DELETED}
    assert deleted, "no track of the run ended"
    end_s = max(track.time.timestamp() for track in run.record.tracks)
    # A cooperative track is kept (not shown) up to 90 s after its last report, then ends.
    lingering = {
        track_id: round(end_s - track.time.timestamp())
        for track_id, track in last.items()
        if track_id not in deleted and end_s - track.time.timestamp() > 95.0
    }
    assert not lingering, f"tracks silent for long at the end, never deleted: {lingering}"
    alerts: dict[str, Alert] = {}
    for alert in run.record.alerts:
        alerts[alert.alert_id] = alert
    still_open = [
        alert.alert_id
        for alert in alerts.values()
        if alert.track_id in deleted
        and alert.kind in TRACK_ALERT_KINDS
        and alert.state is not AlertState.CLOSED
    ]
    assert not still_open, still_open
