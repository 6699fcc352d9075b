"""The one way detections are cut into tracker windows, for every command.

Every run mode steps its tracker in windows of *delivery time*, the data's own clock
(`delivery_time`: when a message reached hotzone, else its own time), never the wall
clock, so a recording replayed and a live feed are tracked alike:

- ``hotzone demo``, ``serve`` and ``node`` replay their messages through the bus
  (`hotzone.runtime.pipeline.Pipeline`): the window ends come from a `WindowClock` and
  go out as clock ticks, on which every stage steps (`StageService`); the tracking stage
  steps through `TrackingWindows.step_window`, so it holds windows as the other commands
  do (`hotzone.runtime.stages.tracking_stage`);
- ``hotzone track`` (a recording) and ``hotzone ingest --track`` (a live feed or a
  file) hand each message to `TrackingWindows`, which steps the tracking stage at the
  ends its `WindowClock` gives; `tracking_windows` builds it from `TrackingSettings`.
  The live CAT048 feed (``ingest asterix --udp ... --track``) hands it each datagram's
  plots as columns instead (`TrackingWindows.push_plots`, `PlotChunk`): the same windows,
  the same stage and the same tracks, without a Detection per plot on the way.

``ingest --track --on-arrival`` (`TrackingWindows` with ``arrivals``) steps the tracker
on what has arrived instead (`MultiTargetTracker.step_arrivals`): whenever the feed is
idle (`TrackingWindows.step_arrived`, called by the live service when no datagram
waits), or once what waits spans ``window_s`` of delivery time; each step publishes the
tracks it updated, and every ``books_s`` a step on nothing, after it, closes every
track's books (`TrackingWindows.close_books_if_due`: coasting, deletion; ended tracks
are published once more, as deleted).

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

from hotzone.fusion.conversion import PolarPlots
from hotzone.fusion.scan import SensorScan
from hotzone.fusion.stage import (
    TrackingStage,
    default_tracker,
    rejection_dead_letter,
)
from hotzone.fusion.tracker import ArrivalStep, Rejection
from hotzone.geo import LocalFrame
from hotzone.types import (
    AnyMessage,
    DeadLetter,
    Detection,
    Report,
    Track,
    TrackStatus,
    from_json,
)


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
    #: Reports measured before the window already stepped when they came: the tracker
    #: replays from their window (or refuses them beyond its lag): `TrackingWindows.hold_s`.
    out_of_sequence: int = 0


@dataclass(frozen=True)
class PlotChunk:
    """The polar plots of one datagram, as columns, for `TrackingWindows.push_plots`: row
    k stands for the Detection whose JSON is ``payloads[k]`` (what the bus carries of it,
    kept for the dead letter of a plot the tracker refuses); ``delivery_s`` is when the
    datagram was received (POSIX s), every plot's `delivery_time`."""

    plots: PolarPlots
    payloads: Sequence[bytes]
    delivery_s: float

    def detections(self) -> list[Detection]:
        """The plots as the Detections the bus carries."""
        return [msgspec.json.decode(payload, type=Detection) for payload in self.payloads]


def concatenate_plots(parts: Sequence[PolarPlots]) -> PolarPlots:
    """Several chunks' plots as one, rows in order, their site lists merged."""
    if len(parts) == 1:
        return parts[0]
    sites: list[tuple[str, object]] = []
    index: dict[tuple[str, float, float, float], int] = {}
    site_columns = []
    for part in parts:
        remap = []
        for sensor_id, point in part.sites:
            key = (sensor_id, point.lat_deg, point.lon_deg, point.height_m)
            if key not in index:
                index[key] = len(sites)
                sites.append((sensor_id, point))
            remap.append(index[key])
        site_columns.append(np.asarray(remap, dtype=np.int64).reshape(-1)[part.site])
    return PolarPlots(
        times=np.concatenate([part.times for part in parts]),
        site=np.concatenate(site_columns),
        values=np.concatenate([part.values for part in parts]),
        variances=np.concatenate([part.variances for part in parts]),
        ids=[identifier for part in parts for identifier in part.ids],
        icao24=[icao24 for part in parts for icao24 in part.icao24],
        callsign=[callsign for part in parts for callsign in part.callsign],
        sites=sites,  # type: ignore[arg-type]
        releasability=parts[0].releasability,
    )


class TrackingWindows:
    """Steps a tracking stage in windows of ``window_s`` of delivery time (`WindowClock`):
    a message later than the open window closes it (and any empty windows
    between); `finish` closes the last. Messages other than detections and reports are
    not the tracker's and are passed over.

    Plots may come as columns (`push_plots`): a window of column chunks only is stepped
    on the columns (`MessageConverter.convert_plots`, the scans `convert` makes of their
    Detections); a window where they meet messages is stepped on the Detections of its
    chunks and its messages, in arrival order, as the message path steps it.

    With ``hold_s`` the window closed by delivery time ``end`` is stepped at ``end -
    hold_s``, on what was measured before that (or at or after ``end``); what was measured
    in between waits for the next window: a report delivered up to ``hold_s`` after it was
    measured is then in sequence (a live feed; nothing waits in a recording, cut by the
    messages' own times). `finish` steps at the end, on everything."""

    def __init__(
        self,
        stage: TrackingStage,
        window_s: float,
        summary: ReplaySummary,
        hold_s: float = 0.0,
        arrivals: bool = False,
        books_s: float = 1.0,
    ) -> None:
        if not 0.0 <= hold_s < window_s:
            raise ValueError(
                f"hold must be at least 0 and shorter than the window ({window_s} s), "
                f"got {hold_s} s"
            )
        if not books_s > 0:
            raise ValueError(f"the books' period must be positive, got {books_s} s")
        self.stage = stage
        self.window_s = window_s
        self.hold_s = hold_s
        #: Step on what has arrived (`step_arrived`), not at window ends: the live mode.
        self.arrivals = arrivals
        self.books_s = books_s
        self.summary = summary
        self._books_due = -math.inf
        self._waiting_since = math.inf
        # Each sensor's latest measurement time stepped (the arrivals' out of sequence).
        self._sensor_stepped: dict[str, float] = {}
        self._clock = WindowClock(window_s)
        self._batch: list[object] = []
        self._stepped_at = -math.inf
        # Set while `finish` steps the last window: at its end, on everything.
        self._finishing = False
        self._tick_end = -math.inf
        self._latest_delivery = -math.inf

    def push(self, message: object) -> list[list[Track]]:
        """Add ``message``; the tracks of every window it closes, oldest first."""
        if not isinstance(message, Detection | Report):
            return []
        self.summary.messages += 1
        if self.arrivals:
            return self._arrive(message, delivery_time(message))
        closed = []
        for end in self._clock.advance(delivery_time(message)):
            closed.append(self._step(end))
        self._batch.append(message)
        return closed

    def push_plots(self, chunk: PlotChunk) -> list[list[Track]]:
        """Add a datagram's plots; the tracks of every window its delivery closes."""
        count = len(chunk.plots.ids)
        if count == 0:
            return []
        self.summary.messages += count
        if self.arrivals:
            return self._arrive(chunk, chunk.delivery_s)
        closed = [self._step(end) for end in self._clock.advance(chunk.delivery_s)]
        self._batch.append(chunk)
        return closed

    def step_arrived(self) -> list[Track] | None:
        """With ``arrivals``: step on what has arrived and not been stepped (None when
        nothing waits, or without ``arrivals``). The live service calls it whenever no
        more input waits, so a step takes what came while the previous one ran."""
        if not self.arrivals or not self._batch:
            return None
        return self._step_arrivals(close_books=False)

    def close_books_if_due(self) -> list[Track] | None:
        """With ``arrivals``: when ``books_s`` has passed since the books were last
        closed, close every track's books (a step on nothing); the tracks it ended, as
        deleted (None when not due). Apart from `step_arrived`, so that what a step
        updated is published before the books, which cost in proportion to the tracks."""
        if not self.arrivals or self._latest_delivery < self._books_due:
            return None
        return self._step_arrivals(close_books=True, books_only=True)

    def _arrive(self, item: object, delivered_s: float) -> list[list[Track]]:
        """``item`` waits for the next arrival step; what waited first is stepped now
        when it would wait longer than the window."""
        stepped = []
        if self._batch and delivered_s - self._waiting_since >= self.window_s:
            stepped.append(self._step_arrivals(close_books=False))
            if (books := self.close_books_if_due()) is not None:
                stepped.append(books)
        if not self._batch:
            self._waiting_since = delivered_s
        self._batch.append(item)
        self._latest_delivery = max(self._latest_delivery, delivered_s)
        return stepped

    def step_window(self, end: float, messages: Sequence[object]) -> list[Track]:
        """The window that a clock tick at ``end`` closes, with the messages delivered in
        it (the bus pipeline's windows: `hotzone.runtime.stages.tracking_stage`), stepped
        as `push` steps its windows. A tick no later than the one before (the pipeline
        draining at the end of a run) steps on everything still held, as `finish` does."""
        for message in messages:
            if isinstance(message, Detection | Report):
                self.summary.messages += 1
                self._batch.append(message)
        self._finishing = end <= self._tick_end
        self._tick_end = max(end, self._tick_end)
        try:
            return self._step(end)
        finally:
            self._finishing = False

    def finish(self) -> list[Track] | None:
        """Close the open window (None when nothing was ever pushed)."""
        if self.arrivals:
            if self._latest_delivery == -math.inf:
                return None
            tracks = self._step_arrivals(close_books=True)
            self.summary.late = self.stage.tracker.late_count
            return tracks
        end = self._clock.open_end
        if end is None:
            return None
        self._finishing = True
        try:
            tracks = self._step(end)
        finally:
            self._finishing = False
        self._clock.reset()
        self.summary.late = self.stage.tracker.late_count
        return tracks

    def _step(self, end: float) -> list[Track]:
        step_at = end
        if self.hold_s > 0 and not self._finishing:
            # Stepped `hold_s` before the window's end: what was measured after that (but
            # before the end) waits for the next window, whose step is later than it, so
            # a report delivered up to `hold_s` after its measurement is not out of sequence.
            step_at = end - self.hold_s
            batch, self._batch = _measured_before(self._batch, step_at, end)
        else:
            batch, self._batch = self._batch, []
        chunks = sum(isinstance(item, PlotChunk) for item in batch)
        self.summary.out_of_sequence += _measured_before_count(batch, self._stepped_at)
        self._stepped_at = step_at
        time = datetime.fromtimestamp(step_at, tz=UTC)
        if chunks and chunks == len(batch):
            tracks = self._step_plots(time, [item for item in batch if isinstance(item, PlotChunk)])
        else:
            messages: list[object] = []
            for item in batch:
                messages.extend(item.detections() if isinstance(item, PlotChunk) else [item])
            tracks = self.stage.step(time, messages)
        summary = self.summary
        summary.windows += 1
        summary.track_messages += len(tracks)
        summary.dead_letters.extend(self.stage.take_dead_letters())
        summary.confirmed_numbers.update(
            t.track_number for t in tracks if t.status == TrackStatus.CONFIRMED
        )
        return tracks

    def _step_arrivals(self, close_books: bool, books_only: bool = False) -> list[Track]:
        """`MultiTargetTracker.step_arrivals` on what waits (nothing: ``books_only``), at
        the latest delivery time, the books closed when asked; the tracks it updated
        and, once more as deleted, those it ended."""
        batch: list[object] = []
        if not books_only:
            batch, self._batch = self._batch, []
            self._waiting_since = math.inf
        moment = self._latest_delivery
        if self._books_due == -math.inf:
            # The first books are due a period after the first step.
            self._books_due = first_window_end(moment, self.books_s)
        if close_books:
            self._books_due = first_window_end(moment, self.books_s)
        self.summary.out_of_sequence += self._behind_own_sensor(batch)
        time = datetime.fromtimestamp(moment, tz=UTC)
        stage, tracker = self.stage, self.stage.tracker
        chunks = [item for item in batch if isinstance(item, PlotChunk)]
        messages: list[object] = []
        scans: list[SensorScan] = []
        rejected: list[Rejection] = []
        if chunks and len(chunks) == len(batch):
            scans, rejected = stage.converter.convert_plots(
                concatenate_plots([chunk.plots for chunk in chunks])
            )
        else:
            for item in batch:
                messages.extend(item.detections() if isinstance(item, PlotChunk) else [item])
            scans, rejected = stage.converter.convert(messages)
        step = _stepped_on_arrival(stage, moment, scans, close_books)
        rejections = rejected + tracker.take_rejections()
        if rejections and chunks and len(chunks) == len(batch):
            self._refused(rejections, chunks, time)
        elif rejections:
            _refused_messages(stage, rejections, messages, time)
        stage.events.extend(stage.identity_conflict_events(step.updated))
        tracks = stage.track_messages(step.updated, time) + stage.deleted_messages(step.ended, time)
        summary = self.summary
        summary.windows += 1
        summary.track_messages += len(tracks)
        summary.dead_letters.extend(stage.take_dead_letters())
        summary.confirmed_numbers.update(
            t.track_number for t in tracks if t.status == TrackStatus.CONFIRMED
        )
        return tracks

    def _behind_own_sensor(self, batch: list[object]) -> int:
        """Reports measured before the latest one of their own sensor already stepped
        (the arrivals' out of sequence: each sensor's reports are stepped at their own
        times); notes each sensor's latest."""
        count = 0
        stepped = self._sensor_stepped
        for item in batch:
            if isinstance(item, PlotChunk):
                sensors = [sensor_id for sensor_id, _ in item.plots.sites]
                times = item.plots.times
                for site in np.unique(item.plots.site).tolist():
                    mine = times[item.plots.site == site]
                    before = stepped.get(sensors[site], -math.inf)
                    count += int(np.count_nonzero(mine < before))
                    stepped[sensors[site]] = max(before, float(mine.max()))
            elif isinstance(item, Detection | Report):
                sensor = item.sensor_id if isinstance(item, Detection) else item.source_id
                measured = item.time.timestamp()
                before = stepped.get(sensor, -math.inf)
                count += measured < before
                stepped[sensor] = max(before, measured)
        # Counted over the whole batch first: a batch's reports are stepped together.
        return count

    def _step_plots(self, time: datetime, chunks: list[PlotChunk]) -> list[Track]:
        """`TrackingStage.step` on the plots of a window given as columns (what
        ``hotzone track``'s column path does, `hotzone.commands.plot_tracking`), with the
        stage's own converter: its rotation clocks see every window, however its plots
        came."""
        stage, tracker = self.stage, self.stage.tracker
        plots = concatenate_plots([chunk.plots for chunk in chunks])
        scans, rejected = stage.converter.convert_plots(plots)
        batch = stage.step_scans(time, scans)
        rejections = rejected + tracker.take_rejections()
        if rejections:
            self._refused(rejections, chunks, time)
        stage.events.extend(stage.identity_conflict_events(batch))
        return stage.track_messages(batch, time) + stage.ended_messages(time)

    def _refused(
        self, rejections: list[Rejection], chunks: list[PlotChunk], time: datetime
    ) -> None:
        """`TrackingStage._record` for plots: each refusal with the JSON of its Detection."""
        # Only a refused plot's Detection is decoded back, from the JSON the bus carried.
        wanted = {rejection.measurement_id for rejection in rejections}
        payloads: dict[str, bytes] = {}
        for chunk in chunks:
            for identifier, payload in zip(chunk.plots.ids, chunk.payloads, strict=True):
                if identifier in wanted:
                    payloads[identifier] = payload
        for rejection in rejections:
            found = payloads.get(rejection.measurement_id)
            original = from_json(found) if found is not None else None
            self.stage.dead_letters.append(
                rejection_dead_letter(rejection, time, original, self.stage.releasability)
            )


def _stepped_on_arrival(
    stage: TrackingStage, moment: float, scans: Sequence[SensorScan], close_books: bool
) -> ArrivalStep:
    """`TrackingStage.step_scans` for the arrival mode: each radar's learnt rotation
    declared, then `MultiTargetTracker.step_arrivals`."""
    for sensor_id, clock in stage.converter.rotation_clocks.items():
        if (period_s := clock.period_s) is not None:
            stage.tracker.declare_revisit(sensor_id, period_s)
    return stage.tracker.step_arrivals(moment, scans, close_books)


def _refused_messages(
    stage: TrackingStage, rejections: list[Rejection], messages: list[object], time: datetime
) -> None:
    """Each refusal of a message's measurement as a dead letter holding that message."""
    by_id: dict[str, object] = {}
    for message in messages:
        if isinstance(message, Detection):
            by_id[message.detection_id] = message
        elif isinstance(message, Report):
            by_id[message.report_id] = message
    for rejection in rejections:
        stage.dead_letters.append(
            rejection_dead_letter(
                rejection, time, by_id.get(rejection.measurement_id), stage.releasability
            )
        )


def _measured_before(
    batch: list[object], moment: float, end: float
) -> tuple[list[object], list[object]]:
    """``batch`` split into what was measured before ``moment`` (or at or after the
    window's ``end``: a clock ahead of ours is not waited for) and what was measured in
    between, each in arrival order."""
    now: list[object] = []
    later: list[object] = []
    for item in batch:
        if isinstance(item, PlotChunk):
            times = item.plots.times
            waits = (times >= moment) & (times < end)
            if not waits.any():
                now.append(item)
            elif waits.all():
                later.append(item)
            else:
                now.append(_chunk_rows(item, np.flatnonzero(~waits)))
                later.append(_chunk_rows(item, np.flatnonzero(waits)))
        else:
            assert isinstance(item, Detection | Report)
            measured = item.time.timestamp()
            (later if moment <= measured < end else now).append(item)
    return now, later


def _measured_before_count(batch: list[object], moment: float) -> int:
    count = 0
    for item in batch:
        if isinstance(item, PlotChunk):
            count += int(np.count_nonzero(item.plots.times < moment))
        elif isinstance(item, Detection | Report) and item.time.timestamp() < moment:
            count += 1
    return count


def _chunk_rows(chunk: PlotChunk, rows: np.ndarray) -> PlotChunk:
    plots = chunk.plots
    picked = rows.tolist()
    return PlotChunk(
        plots=PolarPlots(
            times=plots.times[rows],
            site=plots.site[rows],
            values=plots.values[rows],
            variances=plots.variances[rows],
            ids=[plots.ids[row] for row in picked],
            icao24=[plots.icao24[row] for row in picked],
            callsign=[plots.callsign[row] for row in picked],
            sites=plots.sites,
            releasability=plots.releasability,
        ),
        payloads=[chunk.payloads[row] for row in picked],
        delivery_s=chunk.delivery_s,
    )


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
    #: Step each window this long before its end (`TrackingWindows`): reports measured in
    #: its last ``hold_s`` and delivered after it are then in time for the next window.
    hold_s: float = 0.0
    #: The live mode (`TrackingWindows` with ``arrivals``): steps on what has arrived,
    #: ``window_s`` of it at most, publishing the tracks each step updated; every
    #: ``books_s`` the books of every track (coasting, deletion) are closed.
    arrivals: bool = False
    books_s: float = 1.0


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
    if settings.arrivals:
        return TrackingWindows(
            stage, settings.window_s, summary, arrivals=True, books_s=settings.books_s
        )
    return TrackingWindows(stage, settings.window_s, summary, settings.hold_s)


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
