"""Labels inside the tracker: label ids on scan rows, per-track meets, no mixing of inputs
that no nation may receive together (bearings, JPDA), and the widening-back window."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import numpy as np

from hotzone.fusion.association import JPDAAssociator
from hotzone.fusion.imm import IMMPredictor, IMMUpdater
from hotzone.fusion.motion import ConstantVelocityMotion
from hotzone.fusion.predictor import KalmanPredictor
from hotzone.fusion.scan import SensorScan
from hotzone.fusion.tracker import MultiTargetTracker
from hotzone.types.labels import LabelTable

from .synthetic import bearing_scan, position_scan


def labelled(scan: SensorScan, table: LabelTable, label: str) -> SensorScan:
    return replace(scan, label_ids=np.full(scan.size, table.intern(label), dtype=np.int64))


def texts(tracker: MultiTargetTracker, tracks: object) -> list[str]:
    labelling = tracker.track_labels
    return labelling.texts(labelling.current(tracks), "NATO")  # type: ignore[arg-type]


def test_bearings_with_no_common_nation_are_not_crossed_into_a_track() -> None:
    sensors = {"df-west": np.array([-8000.0, 0.0, 0.0]), "df-east": np.array([8000.0, 0.0, 0.0])}
    position = np.array([[500.0, 12_000.0, 150.0]])
    velocity = np.array([[-20.0, -30.0, 0.0]])
    for west, east, expected in [
        ("NATIONAL PL", "NATIONAL LT", set()),
        ("NATIONAL PL", "REL PL LT", {"NATIONAL PL"}),
    ]:
        rng = np.random.default_rng(6)
        tracker = MultiTargetTracker(predictor=IMMPredictor(), updater=IMMUpdater())
        table = tracker.labels
        for k in range(20):
            time = float(k)
            truth = position + velocity * time
            scans = [
                labelled(
                    bearing_scan(truth, time, sensors["df-west"], rng, sensor_id="w"), table, west
                ),
                labelled(
                    bearing_scan(truth, time, sensors["df-east"], rng, sensor_id="e"), table, east
                ),
            ]
            tracks = tracker.step(time, scans)
        assert set(texts(tracker, tracks)) == expected


def test_jpda_never_blends_measurements_no_nation_may_see_together() -> None:
    rng = np.random.default_rng(12)
    tracker = MultiTargetTracker(
        predictor=KalmanPredictor(ConstantVelocityMotion(1.0)),
        associator=JPDAAssociator(clutter_density=1e-10),
    )
    table = tracker.labels
    for k in range(20):
        time = float(k)
        truth = np.array([[100.0 * k, 0.0, 500.0]])
        scans = [
            labelled(position_scan(truth, time, rng, 20.0, sensor_id="pl"), table, "NATIONAL PL"),
            labelled(position_scan(truth, time, rng, 20.0, sensor_id="lt"), table, "NATIONAL LT"),
        ]
        tracks = tracker.step(time, scans)
    labels = texts(tracker, tracks)
    assert sorted(labels) == ["NATIONAL LT", "NATIONAL PL"]
    assert table.conflicting


def test_a_restrictive_label_lapses_after_the_window_of_other_updates_not_of_coasting() -> None:
    rng = np.random.default_rng(3)
    tracker = MultiTargetTracker(
        predictor=KalmanPredictor(ConstantVelocityMotion(1.0)), label_window_s=5.0
    )
    table = tracker.labels
    seen = []
    for k in range(20):
        time = float(k)
        truth = np.array([[100.0 * k, 0.0, 500.0]])
        scans = [labelled(position_scan(truth, time, rng, 10.0, sensor_id="a"), table, "REL PL LT")]
        if k < 8:
            scans.append(
                labelled(position_scan(truth, time, rng, 10.0, sensor_id="n"), table, "NATIONAL PL")
            )
        tracks = tracker.step(time, scans)
        assert tracks.size == 1
        seen.append(texts(tracker, tracks)[0])
    # Last national plot at 7: national through 7 + 5, REL from 13 on.
    assert seen == ["NATIONAL PL"] * 13 + ["REL LT PL"] * 7
    # A track that only coasts keeps its label: its estimate is what its inputs made it.
    national = MultiTargetTracker(
        predictor=KalmanPredictor(ConstantVelocityMotion(1.0)), label_window_s=1.0
    )
    for k in range(3):
        truth = np.array([[100.0 * k, 0.0, 500.0]])
        scan = labelled(position_scan(truth, float(k), rng, 10.0), national.labels, "NATIONAL PL")
        national.step(float(k), [scan])
    coasting = national.step(5.0, [])
    assert texts(national, coasting) == ["NATIONAL PL"]


def test_jpda_keeps_the_heaviest_of_one_scans_measurements_that_share_no_nation() -> None:
    # A REL PL LT track; then one scan holds two plots of it, one NATIONAL PL and one
    # NATIONAL LT. Both gate, but only one (with the REL plot's labels) may move it.
    rng = np.random.default_rng(5)
    tracker = MultiTargetTracker(
        predictor=KalmanPredictor(ConstantVelocityMotion(1.0)),
        associator=JPDAAssociator(clutter_density=1e-10),
    )
    table = tracker.labels
    for k in range(12):
        time = float(k)
        truth = np.array([[100.0 * k, 0.0, 500.0]])
        scan = labelled(position_scan(truth, time, rng, 20.0), table, "REL PL LT")
        if k >= 6:
            pair = np.vstack([truth, truth + 5.0])
            scan = position_scan(pair, time, rng, 20.0)
            scan = replace(
                scan,
                label_ids=np.array(
                    [table.intern("NATIONAL PL"), table.intern("NATIONAL LT")], dtype=np.int64
                ),
            )
        tracks = tracker.step(time, [scan])
        for row in range(tracks.size):
            contributed = np.flatnonzero(np.isfinite(tracks.label_seen[row]))
            met = -1
            for label in contributed.tolist():
                assert table.compatible(met, label), [table.text(i) for i in contributed]
                met = table.meet(met, label)
    assert set(texts(tracker, tracks)) <= {"NATIONAL PL", "NATIONAL LT"}


def test_two_hundred_sensors_each_track_names_exactly_the_sensors_that_saw_it() -> None:
    """Sensors are a set per track, not bits of one 64-bit word: with 200 sensors, a track
    seen by sensor 150 names sensor 150 and no other, and its label is the meet of the
    labels of exactly its sensors."""
    from hotzone.fusion.stage import tracks_to_messages
    from hotzone.geo import LocalFrame
    from hotzone.types.labels import Label, meet_all

    extra = ["LV", "EE", "DE", "FR", "NL", "BE", "DK", "NO", "CZ", "SK", "RO", "BG", "HU"]
    sensor_count, target_count = 200, 100
    sensor_label = {
        k: f"REL PL LT {extra[k % len(extra)]} {extra[(3 * k + 5) % len(extra)]}"
        for k in range(sensor_count)
    }
    # Sensor k sees target k // 2, except every fourth, which sees target 7k mod 100:
    # tracks of one, two or more sensors, sets across the old 64-bit boundary.
    targets_of = {
        k: [k // 2] if k % 4 != 3 else [(7 * k) % target_count] for k in range(sensor_count)
    }
    seen_by: dict[int, set[int]] = {i: set() for i in range(target_count)}
    for sensor, targets in targets_of.items():
        for target in targets:
            seen_by[target].add(sensor)
    start = np.stack([np.arange(target_count) * 5_000.0, np.zeros(target_count)], axis=1)
    start = np.column_stack([start, np.full(target_count, 1_000.0)])
    velocity = np.array([0.0, 100.0, 0.0])
    rng = np.random.default_rng(200)
    tracker = MultiTargetTracker(predictor=KalmanPredictor(ConstantVelocityMotion(1.0)))
    table = tracker.labels
    for k in range(8):
        time = float(k)
        truth = start + velocity * time
        scans = [
            labelled(
                position_scan(truth[targets], time, rng, 20.0, sensor_id=f"s{sensor:03d}"),
                table,
                sensor_label[sensor],
            )
            for sensor, targets in targets_of.items()
        ]
        tracks = tracker.step(time, scans)
    tracks = tracks.take(np.flatnonzero(tracks.confirmed))
    assert tracks.size == target_count
    assert len(tracker.sensors) == sensor_count
    sensor_names = sorted(tracker.sensors, key=tracker.sensors.__getitem__)
    messages = tracks_to_messages(
        tracks, LocalFrame(54.0, 23.0, 0.0), datetime.now(UTC), sensor_names=sensor_names
    )
    label_texts = texts(tracker, tracks)
    for row, message in enumerate(messages):
        target = int(np.argmin(np.linalg.norm(tracks.state[row, :3] - truth, axis=1)))
        expected = {f"s{sensor:03d}" for sensor in seen_by[target]}
        assert set(message.sensors) == expected, (target, message.sensors)
        assert {sensor_names[c] for c in np.flatnonzero(tracks.seen_by()[row])} == expected
        meet = meet_all(Label.parse(sensor_label[sensor]) for sensor in seen_by[target])
        assert label_texts[row] == meet.text, (target, label_texts[row], meet.text)
