"""Labels never widen through fusion and assessment (docs/architecture.md, "Trust", last paragraph).

Detections with labels go through the real `TrackingStage` and `AssessmentStage`; every
Track, Assessment and Alert must be released to no nation that one of the inputs it was
derived from withholds it from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotzone.assess.classifier import TreeEnsembleClassifier
from hotzone.assess.context import AssessmentContext, DefendedAssetSpec
from hotzone.assess.stage import AssessmentStage
from hotzone.fusion.stage import TrackingStage, default_tracker
from hotzone.geo import LocalFrame
from hotzone.types import Alert, Assessment, Detection, GeoPoint, MeasurementKind, Track
from hotzone.types.labels import Label

T0 = datetime(2025, 3, 14, 2, 0, tzinfo=UTC)
FRAME = LocalFrame(53.95, 23.55, 0.0)
SITE = GeoPoint(lat_deg=53.95, lon_deg=23.55, height_m=50.0)
ALLIANCE = {"PL", "LT", "RO", "LV", "DE"}
SPEED_MPS = 50.0
START_EAST_M = 12_000.0  # east of each asset, in Belarus
LANE_SPACING_DEG = 0.2  # about 22 km between objects


def asset(lane: int) -> DefendedAssetSpec:
    return DefendedAssetSpec(f"bridge-{lane}", 53.90 + LANE_SPACING_DEG * lane, 23.45, 1_000.0)


def context(lanes: int) -> AssessmentContext:
    return AssessmentContext(
        home_countries=("PL",),
        hostile_countries=("BY",),
        assets=tuple(asset(lane) for lane in range(lanes)),
    )


@cache
def classifier() -> TreeEnsembleClassifier:
    return TreeEnsembleClassifier.load()


def truth(lane: int, seconds: float) -> tuple[float, float, float]:
    """A drone flying west at 300 m towards its lane's bridge."""
    target = asset(lane)
    per_deg_lon = 111_320.0 * math.cos(math.radians(target.lat_deg))
    east = START_EAST_M - SPEED_MPS * seconds
    return target.lat_deg, target.lon_deg + east / per_deg_lon, 300.0


def detection(
    lane: int, seconds: float, sensor: str, label: str, rng: np.random.Generator
) -> Detection:
    lat, lon, height = truth(lane, seconds)
    per_deg_lon = 111_320.0 * math.cos(math.radians(lat))
    noise = rng.normal(0.0, 5.0, 3)
    return Detection(
        detection_id=f"{sensor}-{lane}-{seconds}",
        time=T0 + timedelta(seconds=seconds),
        sensor_id=sensor,
        kind=MeasurementKind.POSITION,
        values=(lat + noise[1] / 111_320.0, lon + noise[0] / per_deg_lon, height + noise[2]),
        covariance=((25.0, 0.0, 0.0), (0.0, 25.0, 0.0), (0.0, 0.0, 25.0)),
        sensor_position=SITE,
        releasability=label,
    )


def recipients(text: str) -> set[str]:
    return Label.parse(text).recipients(ALLIANCE)


def lane_of(track: Track, lanes: int) -> int:
    return min(range(lanes), key=lambda lane: abs(track.position.lat_deg - asset(lane).lat_deg))


@dataclass
class Run:
    """What went in and came out of both stages, step by step."""

    tracks: list[tuple[float, Track]] = field(default_factory=list)
    assessments: list[Assessment] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    labels_in: dict[int, list[tuple[float, str]]] = field(default_factory=dict)


def run(
    steps: int,
    lanes: int,
    labels_of: dict[tuple[int, int, str], str],
    ceiling: str = "NATO",
    label_window_s: float = 60.0,
    seed: int = 0,
) -> Run:
    """Two sensors see each lane's drone every second; ``labels_of[(lane, second,
    sensor)]`` labels each detection (missing: no detection)."""
    rng = np.random.default_rng(seed)
    tracking = TrackingStage(
        frame=FRAME,
        sector="s",
        tracker=default_tracker(label_window_s=label_window_s),
        releasability=ceiling,
    )
    assessing = AssessmentStage(
        context=context(lanes), classifier=classifier(), releasability=ceiling
    )
    result = Run()
    for second in range(steps):
        time = T0 + timedelta(seconds=second)
        window = []
        for (lane, at, sensor), label in sorted(labels_of.items()):
            if at == second:
                window.append(detection(lane, second, sensor, label, rng))
                result.labels_in.setdefault(lane, []).append((second, label))
        tracks = tracking.step(time, window)
        result.tracks += [(second, track) for track in tracks]
        for output in assessing.step(time, tracks):
            if isinstance(output, Assessment):
                result.assessments.append(output)
            elif isinstance(output, Alert):
                result.alerts.append(output)
    assert not tracking.take_dead_letters()
    return result


def allowed(run: Run, lane: int, second: float, ceiling: str) -> set[str]:
    """The nations every input of this lane so far, and the stage, release to."""
    nations = recipients(ceiling)
    for at, label in run.labels_in.get(lane, []):
        if at <= second:
            nations &= recipients(label)
    return nations


# --------------------------------------------------------------------------- random mixes


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[int, dict[tuple[int, int, str], str], str]:
    """Each lane's labels share one nation (a node holds only what is released to it);
    otherwise any mix of NATO, REL lists and NATIONAL labels."""
    lanes = draw(st.integers(1, 3))
    steps = 12
    labels: dict[tuple[int, int, str], str] = {}
    nations = sorted(ALLIANCE)
    for lane in range(lanes):
        common = draw(st.sampled_from(["PL", "LT", "RO"]))
        for second in range(steps):
            for sensor in ("radar-a", "radar-b"):
                kind = draw(st.sampled_from(["NATO", "REL", "REL", "NATIONAL"]))
                if kind == "NATO":
                    labels[(lane, second, sensor)] = "NATO"
                elif kind == "NATIONAL":
                    labels[(lane, second, sensor)] = f"NATIONAL {common}"
                else:
                    others = draw(st.lists(st.sampled_from(nations), max_size=3))
                    labels[(lane, second, sensor)] = "REL " + " ".join([common, *others])
    ceiling = draw(st.sampled_from(["NATO", "REL LT PL RO", "REL DE LT LV PL RO"]))
    return lanes, labels, ceiling


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(scenarios())
def test_no_output_is_released_wider_than_its_inputs(
    scenario: tuple[int, dict[tuple[int, int, str], str], str],
) -> None:
    lanes, labels, ceiling = scenario
    result = run(12, lanes, labels, ceiling)
    assert result.tracks
    track_labels: dict[str, list[tuple[float, str]]] = {}
    lanes_of: dict[str, int] = {}
    for second, track in result.tracks:
        lane = lane_of(track, lanes)
        lanes_of[track.track_id] = lane
        track_labels.setdefault(track.track_id, []).append((second, track.releasability))
        assert recipients(track.releasability) <= allowed(result, lane, second, ceiling)
        # Within the label window every input so far still counts: exactly their meet.
        assert recipients(track.releasability) == allowed(result, lane, second, ceiling)
    derived: list[Assessment | Alert] = [*result.assessments, *result.alerts]
    for output in derived:
        assert output.track_id is not None
        second = output.time.timestamp() - T0.timestamp()
        lane = lanes_of[output.track_id]
        assert recipients(output.releasability) <= allowed(result, lane, second, ceiling)
        for at, label in track_labels[output.track_id]:
            if at <= second:
                assert recipients(output.releasability) <= recipients(label)


# --------------------------------------------------------------------------- one object


def test_a_national_detection_keeps_tracks_assessments_and_alerts_national_while_it_counts() -> (
    None
):
    # Radar a (REL PL LT) sees the drone for 60 s; a Polish national sensor (NATIONAL PL)
    # sees it too from second 5 to 24. With a 10 s label window the track is NATIONAL PL
    # from the first national plot until 10 s after the last one (24 + 10), then REL again.
    labels = {(0, second, "radar-a"): "REL PL LT" for second in range(60)}
    labels |= {(0, second, "national"): "NATIONAL PL" for second in range(5, 25)}
    result = run(60, 1, labels, label_window_s=10.0)
    by_second: dict[int, set[str]] = {}
    for second, track in result.tracks:
        by_second.setdefault(int(second), set()).add(track.releasability)
    assert by_second, "no tracks"
    for second, seen in by_second.items():
        if second < 5:
            assert seen == {"REL LT PL"}, second
        elif second < 35:
            assert seen == {"NATIONAL PL"}, second
        else:
            assert seen == {"REL LT PL"}, second
    assert {t.track_id for _, t in result.tracks} == {result.tracks[0][1].track_id}
    # Assessments and alerts computed from a history that holds NATIONAL PL states are
    # NATIONAL PL; none is ever wider than the tracks it came from.
    during = [a for a in result.assessments if a.time < T0 + timedelta(seconds=35)]
    assert during and {a.releasability for a in during if a.time >= T0 + timedelta(seconds=5)} == {
        "NATIONAL PL"
    }
    threat_alerts = [a for a in result.alerts if a.kind == "threat"]
    assert threat_alerts, "the drone flies at the bridge: a threat alert is expected"
    for alert in threat_alerts:
        if alert.time >= T0 + timedelta(seconds=5):
            assert alert.releasability == "NATIONAL PL"
    for output in [*result.assessments, *result.alerts]:
        assert recipients(output.releasability) <= {"PL", "LT"}


def test_inputs_with_no_common_nation_are_never_fused_into_one_track() -> None:
    labels = {(0, second, "radar-pl"): "NATIONAL PL" for second in range(15)}
    labels |= {(0, second, "radar-lt"): "NATIONAL LT" for second in range(15)}
    result = run(15, 1, labels)
    by_track: dict[str, set[str]] = {}
    for _, track in result.tracks:
        by_track.setdefault(track.track_id, set()).add(track.releasability)
    assert sorted(label for labels in by_track.values() for label in labels) == [
        "NATIONAL LT",
        "NATIONAL PL",
    ]
    for output in [*result.assessments, *result.alerts]:
        assert output.releasability in ("NATIONAL PL", "NATIONAL LT")
        assert output.track_id is not None and output.releasability in by_track[output.track_id]


def test_a_detection_no_one_may_see_with_the_stage_label_is_a_dead_letter() -> None:
    stage = TrackingStage(frame=FRAME, releasability="NATIONAL PL")
    rng = np.random.default_rng(1)
    tracks = stage.step(T0, [detection(0, 0, "radar-lt", "REL LT RO", rng)])
    assert tracks == []
    (letter,) = stage.take_dead_letters()
    assert "shares no nation" in letter.reason
    assert letter.releasability == "NATIONAL PL"
