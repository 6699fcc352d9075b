"""A real multi-aircraft recording with real timing, as an SBS-1 (BaseStation) feed.

`tests/golden/flarm_lfmy/flarm_lfmy_2022-06-15.csv.gz` (SOURCE.md there): one day of
FLARM broadcasts received by the Open Glider Network station LFMYONERA (Salon-de-Provence,
France), 15 June 2022, 06:20-15:44 UTC, decoded by rs1090 0.7.0 (MIT): 17 aircraft
(gliders, tow planes, powered aircraft and a parachute drop plane), each reporting about
once a second while in range, with gaps of minutes to hours when on the ground out of
range or switched off. Each row: reception time, FLARM id (an ICAO 24-bit address for
most), the device's declared aircraft type, position and GNSS height.

It becomes the lines a BaseStation feed carries (``MSG,3`` position lines with the id as
the hex ident, height in feet) at the recorded times, either at the recorded rate or
thinned to a fringe feed (one position at most every 10 s per aircraft, as the issue-15
measure asks). FLARM velocities are not used: rs1090 0.7.0's FLARM speeds are about half
of what the positions give (SOURCE.md), so the feed carries positions only and the tracker
estimates velocity, as for a position-only SBS feed.

Decoding errors in the recording are left in the golden file and dropped here, as a feed
pre-processor would: positions more than `MAX_RANGE_KM` from the receiver (FLARM carries
a few kilometres to a few tens) and rows whose declared aircraft type is not the one the
device declares otherwise (a device's type does not change in flight; the stray rows
jump hundreds of kilometres).
"""

from __future__ import annotations

import csv
import functools
import gzip
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import numpy as np

from hotzone.assess.features import KinematicHistory
from hotzone.assess.history import TrackHistories
from hotzone.fusion.stage import TrackingStage, default_tracker
from hotzone.geo import LocalFrame
from hotzone.ingest.sbs import SbsDecoder
from hotzone.runtime.windows import ReplaySummary, TrackingWindows
from hotzone.types import Report, TargetClass, Track

GOLDEN = (
    Path(__file__).resolve().parents[1] / "golden" / "flarm_lfmy" / "flarm_lfmy_2022-06-15.csv.gz"
)
RECEIVER = LocalFrame(43.61924, 5.11755, 80.0)
"""The OGN station LFMYONERA (position and height as its rows give them)."""
MAX_RANGE_KM = 100.0
FOOT_M = 0.3048
SEGMENT_GAP_S = 90.0
"""A silence longer than this starts a new visit: the tracker holds a cooperative
identity 90 s (`RevisitDeleter.identity_coast_s`), so after a longer gap a new track is
right, not a duplicate (an aircraft landed out of the receiver's view, or switched off).
Gaps up to a minute must keep one track (issue 15)."""

WINDOW_S = 600.0
"""The assessment stage's history window (`TrackHistories(window_s=600)`)."""

FLARM_CLASS: dict[str, TargetClass | None] = {
    "Towplane": TargetClass.LIGHT_AIRCRAFT,
    "Aircraft": TargetClass.LIGHT_AIRCRAFT,  # FLARM "powered aircraft" (piston)
    "DropPlane": TargetClass.LIGHT_AIRCRAFT,  # parachute drop plane (turboprop single)
    "Helicopter": TargetClass.HELICOPTER,
    "Jet": TargetClass.AIRLINER,
    "Glider": None,  # hotzone has no glider class; reported apart
}
"""FLARM aircraft types -> hotzone classes (None: no hotzone class)."""


@dataclass(frozen=True)
class FlarmRow:
    time_s: float
    address: str
    aircraft_type: str
    lat_deg: float
    lon_deg: float
    height_m: float


@dataclass
class Recording:
    rows: list[FlarmRow]
    aircraft_type: dict[str, str]
    """Address -> the type its device declares (most rows)."""
    dropped_range: int = 0
    dropped_type: int = 0


def load_recording() -> Recording:
    with gzip.open(GOLDEN, "rt") as stream:
        raw = [
            FlarmRow(
                float(r["time"]),
                r["flarm_id"],
                r["aircraft_type"],
                float(r["latitude"]),
                float(r["longitude"]),
                float(r["geo_altitude_m"]),
            )
            for r in csv.DictReader(stream)
        ]
    counts: dict[str, Counter[str]] = {}
    for row in raw:
        counts.setdefault(row.address, Counter())[row.aircraft_type] += 1
    declared = {address: c.most_common(1)[0][0] for address, c in counts.items()}
    east, north, _ = RECEIVER.geodetic_to_enu(
        np.array([r.lat_deg for r in raw]),
        np.array([r.lon_deg for r in raw]),
        np.zeros(len(raw)),
    ).T
    in_range = np.hypot(east, north) <= MAX_RANGE_KM * 1000.0
    kept: list[FlarmRow] = []
    recording = Recording(kept, declared)
    for row, near in zip(raw, in_range, strict=True):
        if not near:
            recording.dropped_range += 1
        elif row.aircraft_type != declared[row.address]:
            recording.dropped_type += 1
        else:
            kept.append(row)
    kept.sort(key=lambda r: r.time_s)
    return recording


def _stamp(time_s: float) -> str:
    moment = datetime.fromtimestamp(time_s, tz=UTC)
    return f"{moment:%Y/%m/%d},{moment:%H:%M:%S}.{moment.microsecond // 1000:03d}"


@dataclass
class Feed:
    lines: list[str]
    reported: dict[str, list[float]]
    """Address -> the POSIX times of its position lines."""


def sbs_feed(recording: Recording, min_interval_s: float = 0.0) -> Feed:
    """The recording as BaseStation ``MSG,3`` lines; with ``min_interval_s``, at most one
    position per aircraft in that time (a fringe or OpenSky-style feed)."""
    lines: list[str] = []
    reported: dict[str, list[float]] = {}
    last: dict[str, float] = {}
    for row in recording.rows:
        if row.time_s - last.get(row.address, -np.inf) < min_interval_s:
            continue
        last[row.address] = row.time_s
        stamp = _stamp(row.time_s)
        altitude_ft = round(row.height_m / FOOT_M)
        lines.append(
            f"MSG,3,1,1,{row.address.upper()},1,{stamp},{stamp},,{altitude_ft},,,"
            f"{row.lat_deg:.5f},{row.lon_deg:.5f},,,0,0,0,"
        )
        reported.setdefault(row.address, []).append(row.time_s)
    return Feed(lines, reported)


def feed_reports(lines: list[str]) -> list[Report]:
    """What `hotzone track --from sbs` reads from these lines (time order)."""
    decoder = SbsDecoder()
    received = datetime(2030, 1, 1, tzinfo=UTC)
    result = decoder.feed(("\n".join(lines) + "\n").encode(), received)
    result.extend(decoder.flush(received))
    assert not result.rejected, result.rejected[:3]
    return sorted(
        (
            msgspec.structs.replace(m, received_at=None)
            for m in result.messages
            if isinstance(m, Report)
        ),
        key=lambda m: m.time,
    )


def track_windows(
    reports: list[Report], frame: LocalFrame = RECEIVER, window_s: float = 1.0
) -> list[tuple[float, list[Track]]]:
    """Confirmed tracks per tracker window (default options), as `hotzone track` runs."""
    stage = TrackingStage(frame=frame, tracker=default_tracker(), confirmed_only=True)
    summary = ReplaySummary()
    stepper = _TimedWindows(stage, window_s, summary)
    for report in reports:
        stepper.push(report)
    stepper.finish()
    assert not summary.dead_letters
    return stepper.windows


class _TimedWindows(TrackingWindows):
    """`track_stream`'s windows, each with its end time (empty windows too: a window
    without the object's track counts against its coverage)."""

    def __init__(self, stage: TrackingStage, window_s: float, summary: ReplaySummary) -> None:
        super().__init__(stage, window_s, summary)
        self.windows: list[tuple[float, list[Track]]] = []

    def _step(self, end: float) -> list[Track]:
        tracks = super()._step(end)
        self.windows.append((end, tracks))
        return tracks


class IdentityWindows(TrackingWindows):
    """The tracker's 1 s windows, for a test that looks at the track of one identity
    (``icao:<address>``) around each window."""

    def __init__(self, stage: TrackingStage, identity: str) -> None:
        super().__init__(stage, 1.0, ReplaySummary())
        self.identity = identity

    def prediction_error_m(self, report: Report) -> float | None:
        """Horizontal distance of ``report`` from the identity's track predicted to its
        time (None: the tracker has no such track yet)."""
        tracker = self.stage.tracker
        if tracker.time is None:
            return None
        predicted = tracker.predicted(report.time.timestamp())
        rows = np.flatnonzero(predicted.identity == self.identity)
        if not len(rows):
            return None
        where = report.position
        east, north, _ = RECEIVER.geodetic_to_enu(where.lat_deg, where.lon_deg, where.height_m)
        offset = predicted.state[rows[0], :2] - np.array([east, north])
        return float(np.hypot(*offset))


def visits(times: list[float], gap_s: float = SEGMENT_GAP_S) -> list[tuple[float, float]]:
    """An object's reported time: (first, last) of each run of reports without a longer
    silence than ``gap_s``."""
    spans = []
    start = previous = times[0]
    for time_s in times[1:]:
        if time_s - previous > gap_s:
            spans.append((start, previous))
            start = time_s
        previous = time_s
    spans.append((start, previous))
    return spans


@dataclass
class RealScore:
    """The issue-15 measures on a real feed, per visit (an object's reported time)."""

    objects: int
    visits: int
    well_tracked: int
    """Visits with exactly one confirmed track of their address in >= 90 % of the
    tracker windows between their first and last report."""
    tracks: int
    """Confirmed track numbers that carried an address, over all visits."""
    merged: int
    """Tracks that carried more than one address."""
    coverage: list[float] = field(default_factory=list)
    missing: float = 0.0
    """Share of (visit, window) pairs with no confirmed track of the address."""
    doubled: float = 0.0
    """Share of (visit, window) pairs with two or more."""
    worst: list[tuple[str, float, float]] = field(default_factory=list)
    """(address, visit length s, coverage) of the five least covered visits."""

    def summary(self) -> str:
        return (
            f"{self.objects} objects, {self.visits} visits: "
            f"{self.well_tracked / max(self.visits, 1):.1%} with exactly one confirmed "
            f"track for >= 90 % of their reported time (median "
            f"{float(np.median(self.coverage)):.1%}); "
            f"{self.tracks / max(self.visits, 1):.3f} confirmed tracks per visit; "
            f"{self.merged} tracks merging two addresses; windows without a track "
            f"{self.missing:.1%}, with two or more {self.doubled:.1%}"
        )


def score(
    reported: dict[str, list[float]],
    windows: list[tuple[float, list[Track]]],
    key: str = "icao24",
    min_visit_s: float = 0.0,
) -> RealScore:
    """Track numbers per visit and coverage, from the confirmed tracks per window;
    ``key`` is the track field that carries the identity (``icao24`` or ``mmsi``).
    Visits shorter than ``min_visit_s`` are not scored (a single report has no time)."""
    spans = {
        address: [s for s in visits(sorted(times)) if s[1] - s[0] >= min_visit_s]
        for address, times in reported.items()
    }
    addresses_of: dict[int, set[str]] = {}
    numbers: dict[tuple[str, int], set[int]] = {}
    counts: dict[tuple[str, int], list[int]] = {
        (a, i): [] for a, s in spans.items() for i in range(len(s))
    }
    window_times = np.array([t for t, _ in windows])
    # A window is [end - period, end) of delivery time (`hotzone.runtime.windows`): the
    # windows that hold an instant of a visit [first, last] end in (first, last + period].
    period = float(np.median(np.diff(window_times))) if len(window_times) > 1 else 1.0
    for time_s, tracks in windows:
        per_address: dict[str, list[int]] = {}
        for track in tracks:
            value = getattr(track, key)
            if value is None:
                continue
            address = str(value).lower()
            per_address.setdefault(address, []).append(track.track_number)
            addresses_of.setdefault(track.track_number, set()).add(address)
        for address, found in per_address.items():
            for index, (first, last) in enumerate(spans.get(address, [])):
                if first < time_s <= last + period:
                    numbers.setdefault((address, index), set()).update(found)
    for (address, index), seen in counts.items():
        first, last = spans[address][index]
        inside = (window_times > first) & (window_times <= last + period)
        for _end, tracks in (windows[i] for i in np.flatnonzero(inside)):
            seen.append(sum(1 for t in tracks if str(getattr(t, key) or "").lower() == address))
    coverage: dict[tuple[str, int], float] = {}
    for visit, seen in counts.items():
        coverage[visit] = sum(1 for n in seen if n == 1) / len(seen) if seen else 0.0
    worst = sorted(coverage.items(), key=lambda item: item[1])[:5]
    pairs = [n for seen in counts.values() for n in seen]
    return RealScore(
        objects=sum(1 for s in spans.values() if s),
        visits=len(counts),
        well_tracked=sum(1 for c in coverage.values() if c >= 0.9),
        tracks=sum(len(n) for n in numbers.values()),
        merged=sum(1 for found in addresses_of.values() if len(found) > 1),
        coverage=list(coverage.values()),
        missing=sum(1 for n in pairs if n == 0) / max(len(pairs), 1),
        doubled=sum(1 for n in pairs if n > 1) / max(len(pairs), 1),
        worst=[
            (address, spans[address][index][1] - spans[address][index][0], c)
            for (address, index), c in worst
        ],
    )


@functools.cache
def tracked_day(min_interval_s: float) -> tuple[Feed, list[tuple[float, list[Track]]]]:
    """The whole day's feed thinned to ``min_interval_s`` and its tracker windows,
    computed once per test session (the SBS measures and the classifier share it)."""
    feed = sbs_feed(load_recording(), min_interval_s)
    return feed, track_windows(feed_reports(feed.lines))


@dataclass(frozen=True)
class LabelledHistory:
    address: str
    aircraft_type: str
    """The FLARM type the device declares (`FLARM_CLASS` maps it to a hotzone class)."""
    end_s: float
    history: KinematicHistory


def flarm_histories(
    min_interval_s: float = 10.0,
    every_s: float = WINDOW_S,
    airborne_mps: float = 15.0,
) -> list[LabelledHistory]:
    """The assessment stage's 10-minute histories of the recording's tracks (the feed
    thinned to ``min_interval_s``, tracked as in `track_windows`): one every ``every_s``
    of each track's life and one at its end (its last assessment), kept when the track's
    median speed in it is at least ``airborne_mps`` (a parked or taxiing aircraft is not
    a flight: the field's gliders stand for hours)."""
    recording = load_recording()
    _, windows = tracked_day(min_interval_s)
    histories = TrackHistories(WINDOW_S)
    taken: list[LabelledHistory] = []
    due: dict[str, float] = {}
    address_of: dict[str, str] = {}

    def take(track_id: str, end_s: float) -> None:
        history = histories.kinematic(histories.records[track_id])
        speed = np.hypot(history.enu_velocity_mps[:, 0], history.enu_velocity_mps[:, 1])
        address = address_of.get(track_id)
        if address is None or len(speed) < 3 or float(np.median(speed)) < airborne_mps:
            return
        taken.append(LabelledHistory(address, recording.aircraft_type[address], end_s, history))

    for end, tracks in windows:
        for track in tracks:
            histories.add(track)
            if track.icao24:
                address_of[track.track_id] = track.icao24.lower()
            time_s = track.time.timestamp()
            first = due.setdefault(track.track_id, time_s + every_s)
            if time_s >= first:
                take(track.track_id, end)
                due[track.track_id] = first + every_s
    for track_id, record in histories.records.items():
        take(track_id, record.states[-1][0])
    return taken
