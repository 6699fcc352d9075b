"""The one way detections are cut into tracker windows, for every command.

Every run mode steps its tracker in windows of *delivery time*, the data's own clock
(`delivery_time`: when a message reached hotzone, else its own time), never the wall
clock, so a recording replayed and a live feed are tracked alike:

- ``hotzone demo``, ``serve`` and ``node`` replay their messages through the bus
  (`hotzone.runtime.pipeline.Pipeline`): the window ends come from a `WindowClock` and
  go out as clock ticks, on which every stage steps (`StageService`);
- ``hotzone track`` (a recording) and ``hotzone ingest --track`` (a live feed or a
  file) hand each message to `TrackingWindows`, which steps the tracking stage at the
  ends its `WindowClock` gives; `tracking_windows` builds it from `TrackingSettings`.

Every window is half-open on whole multiples of its period, ``[k·P, (k+1)·P)`` of
delivery time: a message exactly at an end falls in the next window, and every node of
an alliance and every command cut the same windows from the same data (``hotzone track``
on a recording gives the windows the bus pipeline gave the live feed). Until 2026-12 the
one-stream commands anchored their first window at the first message instead; the
digests in ``tests/runtime/test_tracking_windows.py`` were recorded again then.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import msgspec
import numpy as np

from hotzone.fusion.stage import TrackingStage, default_tracker
from hotzone.geo import LocalFrame
from hotzone.types import AnyMessage, DeadLetter, Detection, Report, Track, TrackStatus


def delivery_time(message: AnyMessage) -> float:
    """When a message reached hotzone (POSIX s): a detection's or report's ``received_at``
    if known, else the message's own time."""
    if isinstance(message, Detection | Report) and message.received_at is not None:
        return message.received_at.timestamp()
    return message.time.timestamp()


def timed_as_recorded(message: Detection | Report) -> Detection | Report:
    """A message of a recording, timed by the time it carries: its reception time is when
    the file was read, which says nothing of the data (``hotzone track`` and ``ingest
    --file --track`` replay a recording alike)."""
    return msgspec.structs.replace(message, received_at=None)


def first_window_end(moment: float, period_s: float) -> float:
    """The end of the window ``[k·P, (k+1)·P)`` that holds ``moment``."""
    return (math.floor(moment / period_s) + 1) * period_s


class WindowClock:
    """The ends of consecutive windows of ``period_s`` over a stream of delivery times (in
    order): `advance` says which windows a moment closes, `open_end` is the end of the
    window still open (None before the first moment). Windows are ``[k·P, (k+1)·P)``."""

    def __init__(self, period_s: float) -> None:
        if not period_s > 0:
            raise ValueError(f"window must be positive, got {period_s} s")
        self.period_s = period_s
        self.open_end: float | None = None

    def advance(self, moment: float) -> list[float]:
        """The ends of the windows that close before ``moment``, oldest first."""
        if self.open_end is None:
            self.open_end = first_window_end(moment, self.period_s)
        closed = []
        while moment >= self.open_end:
            closed.append(self.open_end)
            self.open_end += self.period_s
        return closed

    def reset(self) -> None:
        """Forget the open window: the next moment starts a new one."""
        self.open_end = None


@dataclass
class ReplaySummary:
    windows: int = 0
    messages: int = 0
    track_messages: int = 0
    dead_letters: list[DeadLetter] = field(default_factory=list)
    late: int = 0
    confirmed_numbers: set[int] = field(default_factory=set)


class TrackingWindows:
    """Steps a tracking stage in windows of ``window_s`` of delivery time (`WindowClock`):
    a message later than the open window closes it (and any empty windows
    between); `finish` closes the last. Messages other than detections and reports are
    not the tracker's and are passed over."""

    def __init__(self, stage: TrackingStage, window_s: float, summary: ReplaySummary) -> None:
        self.stage = stage
        self.window_s = window_s
        self.summary = summary
        self._clock = WindowClock(window_s)
        self._batch: list[object] = []

    def push(self, message: object) -> list[list[Track]]:
        """Add ``message``; the tracks of every window it closes, oldest first."""
        if not isinstance(message, Detection | Report):
            return []
        self.summary.messages += 1
        closed = []
        for end in self._clock.advance(delivery_time(message)):
            closed.append(self._step(end))
        self._batch.append(message)
        return closed

    def finish(self) -> list[Track] | None:
        """Close the open window (None when nothing was ever pushed)."""
        end = self._clock.open_end
        if end is None:
            return None
        tracks = self._step(end)
        self._clock.reset()
        self.summary.late = self.stage.tracker.late_count
        return tracks

    def _step(self, end: float) -> list[Track]:
        batch, self._batch = self._batch, []
        tracks = self.stage.step(datetime.fromtimestamp(end, tz=UTC), batch)
        summary = self.summary
        summary.windows += 1
        summary.track_messages += len(tracks)
        summary.dead_letters.extend(self.stage.take_dead_letters())
        summary.confirmed_numbers.update(
            t.track_number for t in tracks if t.status == TrackStatus.CONFIRMED
        )
        return tracks


@dataclass(frozen=True)
class TrackingSettings:
    """How a stream's tracker is set up (``hotzone track`` and ``ingest --track``)."""

    window_s: float = 1.0
    lag_s: float = 5.0
    #: The sector frame; None places it with `default_origin` on the first messages.
    origin: LocalFrame | None = None
    sector: str = ""
    releasability: str = "NATO"
    #: Publish confirmed tracks only (tentative ones stay inside the tracker).
    confirmed_only: bool = True


def tracking_windows(
    settings: TrackingSettings, first: Sequence[object], summary: ReplaySummary
) -> TrackingWindows:
    """A fresh tracking stage stepped in windows; its frame is ``settings.origin``, else
    placed on the messages ``first`` (`default_origin`)."""
    stage = TrackingStage(
        frame=settings.origin or default_origin(first),
        sector=settings.sector,
        tracker=default_tracker(lag_s=settings.lag_s),
        confirmed_only=settings.confirmed_only,
        releasability=settings.releasability,
    )
    return TrackingWindows(stage, settings.window_s, summary)


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
