"""Random detection streams never crash the tracker nor poison its estimates."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotzone.fusion.arrays import is_positive_definite
from hotzone.fusion.association import JPDAAssociator
from hotzone.fusion.imm import IMMPredictor, IMMUpdater
from hotzone.fusion.measurement import BearingMeasurement, MeasurementModel, PositionMeasurement
from hotzone.fusion.scan import SensorScan
from hotzone.fusion.tracker import MultiTargetTracker

MODELS: list[MeasurementModel] = [
    PositionMeasurement(3),
    PositionMeasurement(2),
    BearingMeasurement(False),
    BearingMeasurement(True),
]

awkward_floats = st.one_of(
    st.floats(-60_000, 60_000),
    st.sampled_from([np.nan, np.inf, -np.inf, 0.0, 1e300, -1e-300, 5e8]),
)


@st.composite
def scans(draw: st.DrawFn, step_time: float) -> SensorScan:
    model = draw(st.sampled_from(MODELS))
    size = model.size
    rows = draw(st.integers(0, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    values = rng.uniform(-20_000, 20_000, (rows, size))
    if size <= 2 and isinstance(model, BearingMeasurement):
        values = rng.uniform(-np.pi, np.pi, (rows, size))
    noise_kind = draw(st.sampled_from(["good", "asymmetric", "indefinite", "zero", "huge"]))
    base = rng.normal(size=(rows, size, size))
    noise = {
        "good": base @ np.swapaxes(base, 1, 2) * 100 + np.eye(size) * 10,
        "asymmetric": base * 50,
        "indefinite": -np.abs(base) * 100,
        "zero": np.zeros((rows, size, size)),
        "huge": base @ np.swapaxes(base, 1, 2) * 1e13,
    }[noise_kind]
    if isinstance(model, BearingMeasurement) and noise_kind == "good":
        noise = noise * 1e-6
    if rows:
        for _ in range(draw(st.integers(0, 3))):
            row, column = draw(st.integers(0, rows - 1)), draw(st.integers(0, size - 1))
            values[row, column] = draw(awkward_floats)
        if draw(st.booleans()):
            values = np.vstack([values, values[:1]])  # a duplicate detection
            noise = np.concatenate([noise, noise[:1]])
    times = step_time + rng.uniform(-4.0, 0.5, len(values))
    if len(values) and draw(st.booleans()):
        times[0] = draw(st.sampled_from([np.nan, step_time - 1e6, step_time - 0.01]))
    return SensorScan(
        sensor_id=draw(st.sampled_from(["radar", "df-1", "df-2", "gsr"])),
        model=model,
        values=values,
        noise=noise,
        times=times,
        sensor_position=rng.uniform(-5000, 5000, 3),
    )


@st.composite
def streams(draw: st.DrawFn) -> list[tuple[float, list[SensorScan]]]:
    steps = []
    time = 1_700_000_000.0
    for _ in range(draw(st.integers(1, 6))):
        time += draw(st.sampled_from([1.0, 1.0, 0.5, 3.0, -2.0]))  # sometimes backwards
        steps.append((time, draw(st.lists(scans(time), max_size=4))))
    return steps


def _check(tracks) -> None:  # type: ignore[no-untyped-def]
    assert np.isfinite(tracks.state).all()
    assert np.isfinite(tracks.covariance).all()
    assert is_positive_definite(tracks.covariance).all()
    assert ((tracks.quality >= 0) & (tracks.quality <= 1)).all()
    assert len(set(tracks.track_number.tolist())) == tracks.size


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
@given(streams(), st.sampled_from(["cv-gnn", "imm-gnn", "cv-jpda"]))
def test_random_streams_never_crash_nor_produce_bad_estimates(stream, configuration: str) -> None:  # type: ignore[no-untyped-def]
    if configuration == "imm-gnn":
        tracker = MultiTargetTracker(predictor=IMMPredictor(), updater=IMMUpdater(), lag_s=3.0)
    elif configuration == "cv-jpda":
        tracker = MultiTargetTracker(associator=JPDAAssociator(), lag_s=3.0)
    else:
        tracker = MultiTargetTracker(lag_s=3.0)
    offered = rejected = 0
    for time, step_scans in stream:
        offered += sum(scan.size for scan in step_scans)
        tracks = tracker.step(time, step_scans)
        _check(tracks)
        for rejection in tracker.take_rejections():
            assert rejection.reason
            rejected += 1
    assert rejected <= offered


@settings(max_examples=10, deadline=None, derandomize=True)
@given(st.integers(0, 2**31), st.integers(200, 1500))
def test_huge_clutter_keeps_estimates_finite(seed: int, clutter: int) -> None:
    rng = np.random.default_rng(seed)
    tracker = MultiTargetTracker()
    for step in range(4):
        values = rng.uniform(-30_000, 30_000, (clutter, 3))
        scan = SensorScan(
            "radar",
            PositionMeasurement(3),
            values,
            np.broadcast_to(np.eye(3) * 2500.0, (clutter, 3, 3)).copy(),
            np.full(clutter, float(step)),
            np.zeros(3),
        )
        _check(tracker.step(float(step), [scan]))


def test_nan_step_time_is_refused_without_raising() -> None:
    tracker = MultiTargetTracker()
    scan = SensorScan(
        "radar", PositionMeasurement(3), np.zeros((1, 3)), np.eye(3)[None], np.zeros(1), np.zeros(3)
    )
    tracks = tracker.step(float("nan"), [scan])
    assert tracks.size == 0
    assert "finite" in tracker.take_rejections()[0].reason
