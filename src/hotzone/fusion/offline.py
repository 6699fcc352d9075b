"""Run the tracking stage over a recorded message stream (``hotzone track``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from hotzone.fusion.stage import TrackingStage
from hotzone.geo import LocalFrame
from hotzone.types import DeadLetter, Detection, Report, Track


def delivery_time(message: object) -> float | None:
    """When a message reached us: ``received_at`` if known, else its own time."""
    if not isinstance(message, Detection | Report):
        return None
    moment = message.received_at or message.time
    return moment.timestamp()


def default_origin(messages: Sequence[object]) -> LocalFrame:
    """The sector frame at the mean sensor position (or mean report position)."""
    points = [m.sensor_position for m in messages if isinstance(m, Detection)]
    if not points:
        points = [m.position for m in messages if isinstance(m, Report)]
    if not points:
        raise ValueError("no detections or reports to place a sector frame on; give --origin")
    coordinates = np.array([(p.lat_deg, p.lon_deg, p.height_m) for p in points])
    finite = np.isfinite(coordinates).all(axis=1)
    if not finite.any():
        raise ValueError("no finite sensor position to place a sector frame on; give --origin")
    lat, lon, height = coordinates[finite].mean(axis=0)
    return LocalFrame(float(lat), float(lon), float(height))


@dataclass
class ReplaySummary:
    windows: int = 0
    messages: int = 0
    track_messages: int = 0
    dead_letters: list[DeadLetter] = field(default_factory=list)
    late: int = 0
    confirmed_numbers: set[int] = field(default_factory=set)


def track_stream(
    messages: Iterable[object], stage: TrackingStage, window_s: float, summary: ReplaySummary
) -> Iterator[list[Track]]:
    """Group messages (in delivery order) into windows of ``window_s`` and step the stage."""
    if not window_s > 0:
        raise ValueError(f"window must be positive, got {window_s} s")
    batch: list[object] = []
    window_end: float | None = None
    for message in messages:
        moment = delivery_time(message)
        if moment is None:
            continue
        summary.messages += 1
        if window_end is None:
            window_end = moment + window_s
        while moment > window_end:
            yield _step(stage, window_end, batch, summary)
            batch = []
            window_end += window_s
        batch.append(message)
    if window_end is not None:
        yield _step(stage, window_end, batch, summary)
    summary.late = stage.tracker.late_count


def _step(
    stage: TrackingStage, end: float, batch: list[object], summary: ReplaySummary
) -> list[Track]:
    tracks = stage.step(datetime.fromtimestamp(end, tz=UTC), batch)
    summary.windows += 1
    summary.track_messages += len(tracks)
    summary.dead_letters.extend(stage.take_dead_letters())
    summary.confirmed_numbers.update(t.track_number for t in tracks if t.status == "confirmed")
    return tracks
