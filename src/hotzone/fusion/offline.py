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


class TrackingWindows:
    """Steps a tracking stage in windows of ``window_s`` of delivery time: a message later
    than the open window closes it (and any empty windows between); `finish` closes the
    last. The data's own clock, so a recorded capture and a live feed are tracked alike."""

    def __init__(self, stage: TrackingStage, window_s: float, summary: ReplaySummary) -> None:
        if not window_s > 0:
            raise ValueError(f"window must be positive, got {window_s} s")
        self.stage = stage
        self.window_s = window_s
        self.summary = summary
        self._batch: list[object] = []
        self._window_end: float | None = None

    def push(self, message: object) -> list[list[Track]]:
        """Add ``message``; the tracks of every window it closes, oldest first."""
        moment = delivery_time(message)
        if moment is None:
            return []
        self.summary.messages += 1
        if self._window_end is None:
            self._window_end = moment + self.window_s
        closed = []
        while moment > self._window_end:
            closed.append(_step(self.stage, self._window_end, self._batch, self.summary))
            self._batch = []
            self._window_end += self.window_s
        self._batch.append(message)
        return closed

    def finish(self) -> list[Track] | None:
        """Close the open window (None when nothing was ever pushed)."""
        if self._window_end is None:
            return None
        tracks = _step(self.stage, self._window_end, self._batch, self.summary)
        self._batch = []
        self._window_end = None
        self.summary.late = self.stage.tracker.late_count
        return tracks


def track_stream(
    messages: Iterable[object], stage: TrackingStage, window_s: float, summary: ReplaySummary
) -> Iterator[list[Track]]:
    """Group messages (in delivery order) into windows of ``window_s`` and step the stage."""
    windows = TrackingWindows(stage, window_s, summary)
    for message in messages:
        yield from windows.push(message)
    last = windows.finish()
    if last is not None:
        yield last
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
