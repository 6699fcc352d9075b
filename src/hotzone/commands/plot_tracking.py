"""``hotzone track --from asterix`` on a CAT048 capture, column-wise (issue 17).

The capture is decoded a data block at a time into columns
(`hotzone.ingest.asterix.batch`), mapped to polar plots on the columns, cut into the
windows `TrackingWindows` would cut, converted to scans without a Detection per plot
(`MessageConverter.convert_plots`), tracked, and, with ``--to asterix062``, the tracks of
each window are encoded from the tracker's arrays (`encode_track_columns`). Every step
gives what the message path gives (`hotzone.commands.track`): the same windows, scans,
tracks, dead letters and output bytes; the tests compare the two.

Messages are still made where a message is the output: a dead letter carries the JSON of
the Detection it refuses, ``--to jsonl``/``cot`` write Track messages.

What `TrackingStage.step` does around the tracker (revisits declared, refusals as dead
letters, identity conflicts as events) is done here on the stage's tracker, since the
stage's own entry point takes messages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import IO

import msgspec
import numpy as np

from hotzone.fusion.conversion import MessageConverter, PolarPlots
from hotzone.fusion.estimates import TrackBatch
from hotzone.fusion.stage import rejection_dead_letter
from hotzone.fusion.tracker import Rejection
from hotzone.geo import LocalFrame
from hotzone.ingest.asterix import AsterixDecoder
from hotzone.ingest.asterix.batch import Cat048Batch, PlotColumns, decode_cat048, map_plots
from hotzone.ingest.asterix.batch import record_at as cat048_record
from hotzone.ingest.asterix.mapping import MappingContext, cat048_to_detection
from hotzone.runtime.windows import (
    ReplaySummary,
    TrackingSettings,
    first_window_end,
    tracking_windows,
)
from hotzone.share.asterix062 import TrackColumns, encode_track_columns
from hotzone.types import DeadLetter, Detection, Event, Track
from hotzone.types.arrays import BoolArray


@dataclass
class PlotCapture:
    """A CAT048 capture decoded to columns: its plots (in delivery order) and refusals."""

    batch: Cat048Batch
    plots: PlotColumns
    order: np.ndarray  # rows of ``plots`` in delivery (time) order
    ids: list[str]
    dead_letters: list[DeadLetter]
    decoder: AsterixDecoder
    received_at: datetime


def decode_plot_capture(
    data: bytes, decoder: AsterixDecoder, recorded_at: datetime | None = None
) -> PlotCapture | None:
    """``data`` as columns when it is whole CAT048 data blocks with at least one plot;
    None otherwise (the message path then decodes it, refusals and all). Times of day
    are placed within 12 h of ``recorded_at`` (default: now)."""
    batch = decode_cat048(data)
    if batch is None:
        return None
    received_at = recorded_at or datetime.now(UTC)
    context = MappingContext(
        sites=decoder.sites,
        received_at=received_at,
        source_id=decoder.source_id,
        sector=decoder.sector,
        releasability=decoder.releasability,
    )
    plots, refused = map_plots(batch, decoder.sites, received_at, context)
    if len(plots.record) == 0:
        return None
    dead_letters = [
        DeadLetter(time=received_at, source=decoder.source_name, reason=item.reason, raw=item.raw)
        for _, item in refused
    ]
    order = np.argsort(plots.times_us, kind="stable")
    return PlotCapture(
        batch, plots, order, plots.detection_ids(), dead_letters, decoder, received_at
    )


def plot_origin(capture: PlotCapture) -> LocalFrame:
    """`default_origin` of the capture's detections: the mean of their sensor positions,
    summed in the same order."""
    points = np.array(
        [(p.lat_deg, p.lon_deg, p.height_m) for _, p in capture.plots.sites], dtype=np.float64
    ).reshape(-1, 3)
    coordinates = points[capture.plots.site[capture.order]]
    finite = np.isfinite(coordinates).all(axis=1)
    if not finite.any():
        raise ValueError("no finite sensor position to place a sector frame on; give --origin")
    lat, lon, height = coordinates[finite].mean(axis=0)
    return LocalFrame(float(lat), float(lon), float(height))


class PlotTracking:
    """The tracking stage of `tracking_windows`, stepped on column windows."""

    def __init__(
        self, capture: PlotCapture, settings: TrackingSettings, summary: ReplaySummary
    ) -> None:
        if settings.origin is None:
            settings = replace(settings, origin=plot_origin(capture))
        self.stage = tracking_windows(settings, [], summary).stage
        self.capture = capture
        self.settings = settings
        self.summary = summary
        self.events: list[Event] = []
        tracker = self.stage.tracker
        self.converter = MessageConverter(
            self.stage.frame, labels=tracker.labels, ceiling=self.stage.releasability
        )

    def run(self, write: Callable[[TrackBatch, datetime], None]) -> None:
        """Step every window (as `TrackingWindows` cuts them) and hand each window's
        tracks to ``write``."""
        capture = self.capture
        order = capture.order
        times = capture.plots.times_us[order] / 1e6  # `delivery_time` of each detection
        self.summary.messages += len(order)
        window_s = self.settings.window_s
        end = first_window_end(float(times[0]), window_s)
        start = 0
        while True:
            # Windows [k·P, (k+1)·P): a detection at an end is the next window's.
            stop = int(np.searchsorted(times, end, side="left"))
            self._step(end, order[start:stop], write)
            start = stop
            if start >= len(order):
                break
            end += window_s
        self.summary.late = self.stage.tracker.late_count

    def _step(
        self, end: float, rows: np.ndarray, write: Callable[[TrackBatch, datetime], None]
    ) -> None:
        stage, tracker, plots = self.stage, self.stage.tracker, self.capture.plots
        time = datetime.fromtimestamp(end, tz=UTC)
        ids = [self.capture.ids[row] for row in rows.tolist()]
        window = PolarPlots(
            times=plots.times_us[rows] / 1e6,
            site=plots.site[rows],
            values=plots.values[rows],
            variances=plots.variances[rows],
            ids=ids,
            icao24=[plots.icao24[row] for row in rows.tolist()],
            callsign=[plots.callsign[row] for row in rows.tolist()],
            sites=plots.sites,
            releasability=self.capture.decoder.releasability,
        )
        scans, rejected = self.converter.convert_plots(window)
        batch = stage.step_scans(time, scans, self.converter)
        self._dead_letters(
            rejected + tracker.take_rejections(), dict(zip(ids, rows.tolist(), strict=True)), time
        )
        self.events.extend(stage.identity_conflict_events(batch))
        # Counted from the columns: a copy of the shown rows would cost more than the rest.
        confirmed = batch.confirmed
        ended = tracker.ended
        summary = self.summary
        summary.windows += 1
        summary.track_messages += int(confirmed.sum()) if stage.confirmed_only else batch.size
        summary.track_messages += int(ended.confirmed.sum()) if stage.confirmed_only else ended.size
        summary.confirmed_numbers.update(batch.track_number[confirmed].tolist())
        write(batch, time)

    def _dead_letters(
        self, rejections: list[Rejection], rows_by_id: dict[str, int], time: datetime
    ) -> None:
        """`TrackingStage._record`: each refusal with the JSON of its Detection."""
        for rejection in rejections:
            row = rows_by_id.get(rejection.measurement_id)
            detection = self._detection(row) if row is not None else None
            self.summary.dead_letters.append(
                rejection_dead_letter(rejection, time, detection, self.stage.releasability)
            )

    def _detection(self, row: int) -> Detection:
        """Plot ``row`` as the Detection the message path replays (no reception time)."""
        capture, plots = self.capture, self.capture.plots
        decoder = capture.decoder
        context = MappingContext(
            sites=decoder.sites,
            received_at=capture.received_at,
            source_id=decoder.source_id,
            sector=decoder.sector,
            releasability=decoder.releasability,
            sequence=[int(plots.sequence[row]) - 1],
        )
        record = cat048_record(capture.batch.rows, int(plots.record[row]))
        return msgspec.structs.replace(cat048_to_detection(record, context), received_at=None)

    def track_messages(self, batch: TrackBatch, time: datetime) -> list[Track]:
        """The window's Track messages, as `TrackingStage.step` returns them (the tracks
        it ended last, as deleted)."""
        return self.stage.track_messages(batch, time) + self.stage.ended_messages(time)

    def track_columns(self, batch: TrackBatch, time: datetime) -> TrackColumns:
        """What CAT062 encodes of the window's tracks (`tracks_to_messages`' rows and
        numbers, without a Track each), then of the tracks it ended (their last records)."""
        stage, tracker = self.stage, self.stage.tracker
        shown = batch.size
        ended: BoolArray | None = None
        if tracker.ended.size:
            batch = TrackBatch.concatenate([batch, tracker.ended])
            ended = np.arange(batch.size) >= shown
        rows = np.flatnonzero(batch.confirmed) if stage.confirmed_only else np.arange(batch.size)
        state = batch.state[rows]
        dims = 3 if state.shape[1] >= 6 else 2
        position = np.zeros((len(rows), 3))
        position[:, :dims] = state[:, :dims]
        velocity = np.zeros((len(rows), 3))
        velocity[:, :dims] = state[:, dims : 2 * dims]
        latitude, longitude, height = stage.frame.enu_to_geodetic(position)
        sensors = batch.seen_by()[rows][:, : len(tracker.sensors)].sum(axis=1)
        return TrackColumns(
            time=time,
            latitude=np.asarray(latitude, dtype=np.float64),
            longitude=np.asarray(longitude, dtype=np.float64),
            height=np.asarray(height, dtype=np.float64),
            velocity=velocity,
            track_number=batch.track_number[rows],
            # A deleted track's record says so (TSE), not whether it was tentative.
            tentative=~batch.confirmed[rows] & (True if ended is None else ~ended[rows]),
            single_sensor=sensors <= 1,
            icao24=batch.icao24[rows].tolist(),
            callsign=batch.callsign[rows].tolist(),
            ended=None if ended is None else ended[rows],
        )


def track_plots(
    tracking: PlotTracking,
    output_format: str,
    encode: Callable[[list[Track]], bytes],
    stream: IO[bytes],
) -> list[Event]:
    """Track the capture and write each window's tracks to ``stream``; the identity
    conflicts found."""
    tracking.summary.dead_letters.extend(tracking.capture.dead_letters)

    def write(batch: TrackBatch, time: datetime) -> None:
        if output_format == "asterix062":
            stream.write(encode_track_columns(tracking.track_columns(batch, time), sac=0, sic=1))
        else:
            stream.write(encode(tracking.track_messages(batch, time)))

    tracking.run(write)
    return tracking.events


__all__ = ["PlotCapture", "PlotTracking", "decode_plot_capture", "track_plots"]
