"""`tracks_to_messages` builds Track messages from the batch's columns in one pass: the
messages are those of the one-number-at-a-time construction it replaced (kept below as
the reference), on the batches of a simulated suwalki-drones run."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from hotzone.fusion.estimates import TrackBatch
from hotzone.fusion.stage import TrackingStage, tracks_to_messages
from hotzone.geo import LocalFrame
from hotzone.types import GeoPoint, Track, TrackStatus, to_json


def _reference(
    tracks: TrackBatch,
    frame: LocalFrame,
    time: datetime,
    sector: str = "",
    sensor_names: Sequence[str] = (),
    mode_names: Sequence[str] = (),
    confirmed_only: bool = False,
    releasability: str = "NATO",
    labels: Sequence[str] | None = None,
) -> list[Track]:
    """`tracks_to_messages` as it was: one `float()` per number, per track."""
    rows = np.flatnonzero(tracks.confirmed) if confirmed_only else np.arange(tracks.size)
    if len(rows) == 0:
        return []
    state = tracks.state[rows]
    dims = 3 if state.shape[1] >= 6 else 2
    position = np.zeros((len(rows), 3))
    position[:, :dims] = state[:, :dims]
    velocity = np.zeros((len(rows), 3))
    velocity[:, :dims] = state[:, dims : 2 * dims]
    latitude, longitude, height = frame.enu_to_geodetic(position)
    kinematic = tracks.covariance[rows][:, : 2 * dims, : 2 * dims]
    messages = []
    for index, row in enumerate(rows):
        seen_by = np.flatnonzero(np.isfinite(tracks.sensor_seen[row])).tolist()
        probabilities = tracks.estimates.mode_probabilities
        messages.append(
            Track(
                track_id=f"{sector or 'trk'}-{int(tracks.track_number[row])}",
                track_number=int(tracks.track_number[row]),
                time=time,
                status=TrackStatus.CONFIRMED if tracks.confirmed[row] else TrackStatus.TENTATIVE,
                position=GeoPoint(
                    lat_deg=float(latitude[index]),
                    lon_deg=float(longitude[index]),
                    height_m=float(height[index]),
                ),
                sector=sector,
                enu_position_m=(
                    float(position[index, 0]),
                    float(position[index, 1]),
                    float(position[index, 2]),
                ),
                enu_velocity_mps=(
                    float(velocity[index, 0]),
                    float(velocity[index, 1]),
                    float(velocity[index, 2]),
                ),
                covariance=tuple(tuple(float(v) for v in line) for line in kinematic[index]),
                quality=float(np.clip(tracks.quality[row], 0.0, 1.0)),
                sensors=tuple(
                    sensor_names[column] for column in seen_by if column < len(sensor_names)
                ),
                icao24=tracks.icao24[row],
                callsign=tracks.callsign[row],
                mode_probabilities=None
                if probabilities is None or not mode_names
                else {
                    name: float(p) for name, p in zip(mode_names, probabilities[row], strict=True)
                },
                releasability=releasability if labels is None else labels[int(row)],
            )
        )
    return messages


def _batches() -> tuple[LocalFrame, list[tuple[datetime, TrackBatch, list[str], list[str]]]]:
    """The batches of a 60 s suwalki-drones run in 1 s windows, with the stage's sensor
    and mode names."""
    from hotzone.sim.scenario import load_scenario
    from hotzone.sim.simulator import simulate

    scenario = load_scenario("suwalki-drones")
    stage = TrackingStage(frame=scenario.frame, sector="suwalki")
    tracker_step = stage.tracker.step
    batches: list[TrackBatch] = []

    def keep(*args: object) -> TrackBatch:
        batch = tracker_step(*args)  # type: ignore[arg-type]
        batches.append(batch)
        return batch

    stage.tracker.step = keep  # type: ignore[method-assign]
    messages = [m for m in simulate(scenario, seed=6, duration_s=60) if hasattr(m, "time")]
    start = datetime.fromtimestamp(scenario.start_posix, tz=UTC)
    found = []
    for second in range(1, 61):
        end = start + timedelta(seconds=second)
        window = [m for m in messages if end - timedelta(seconds=1) <= m.time < end]
        stage.step(end, window)
        sensor_names = sorted(stage.tracker.sensors, key=stage.tracker.sensors.__getitem__)
        found.append((end, batches[-1], sensor_names, list(stage.tracker.predictor.mode_names)))
    return scenario.frame, found


@pytest.mark.parametrize("confirmed_only", [False, True])
def test_track_messages_from_columns_are_the_messages_built_number_by_number(
    confirmed_only: bool,
) -> None:
    frame, batches = _batches()
    compared = 0
    for time, batch, sensor_names, mode_names in batches:
        labels = ["NATO" if row % 3 else "REL LT PL" for row in range(batch.size)]
        for kwargs in (
            {"sensor_names": sensor_names, "mode_names": mode_names, "labels": labels},
            {"sensor_names": sensor_names[:1], "releasability": "REL LT"},
            {},
        ):
            options = dict(kwargs, sector="suwalki", confirmed_only=confirmed_only)
            got = tracks_to_messages(batch, frame, time, **options)  # type: ignore[arg-type]
            want = _reference(batch, frame, time, **options)  # type: ignore[arg-type]
            assert got == want
            assert [to_json(m) for m in got] == [to_json(m) for m in want]
            compared += len(got)
    assert compared > 100
    last_batch = batches[-1][1]
    assert last_batch.size > 5 and last_batch.estimates.mode_probabilities is not None
