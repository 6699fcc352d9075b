"""From messages to arrays: Detections and Reports become `SensorScan`s in a sector frame.

Every measurement kind is brought into the sector's East-North-Up frame here, once, so
the tracker only knows measurement models: positions (cartesian, polar radar plots
converted with debiasing, WGS-84 positions, cooperative reports) and bearings (passive
sensors, re-expressed as directions in the sector frame). Anything malformed becomes a
`Rejection` with the reason instead of an exception.

Identity: every row carries the object's cooperative identity where its message names
one (`reported_identity`): ``icao:`` the ICAO 24-bit address (ADS-B, Mode S radar plots,
CAT062), ``mmsi:`` the MMSI (AIS), ``uid:`` the source's object id (CoT uid, CAT062
system track, SAPIENT object id). The tracker keeps one track per identity.

A report whose ``horizontal_sigma_m`` is `UNKNOWN_POSITION_SIGMA_M` or more says its
position is not known (a velocity-only ADS-B message: SBS ``MSG,4``); with a velocity it
becomes a `VelocityMeasurement` row of its identity, without one it is refused.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from hotzone.fusion.measurement import (
    BearingMeasurement,
    MeasurementModel,
    PositionMeasurement,
    VelocityMeasurement,
    convert_polar,
)
from hotzone.fusion.scan import SensorScan
from hotzone.fusion.tracker import Rejection
from hotzone.geo import LocalFrame
from hotzone.types import Detection, GeoPoint, MeasurementKind, Report
from hotzone.types.arrays import BoolArray, FloatArray, IntArray
from hotzone.types.labels import LabelConflict, LabelTable

_EXPECTED_SIZES: dict[MeasurementKind, tuple[int, ...]] = {
    MeasurementKind.CARTESIAN: (3,),
    MeasurementKind.POLAR: (3,),
    MeasurementKind.BEARING: (1, 2),
    MeasurementKind.POSITION: (3,),
    MeasurementKind.POSITION_2D: (2,),
}
#: The measurement model a detection kind's rows update, from its number of values:
#: every kind but bearings becomes a position in the sector frame.
_DETECTION_MODELS: dict[MeasurementKind, Callable[[int], MeasurementModel]] = {
    MeasurementKind.CARTESIAN: lambda _: PositionMeasurement(3),
    MeasurementKind.POLAR: lambda _: PositionMeasurement(3),
    MeasurementKind.BEARING: lambda size: BearingMeasurement(with_elevation=size == 2),
    MeasurementKind.POSITION: lambda _: PositionMeasurement(3),
    MeasurementKind.POSITION_2D: lambda _: PositionMeasurement(2),
}

DEFAULT_REPORT_VERTICAL_SIGMA_M = 50.0
"""Cooperative reports without a vertical accuracy: barometric altitude, about ±50 m."""
UNKNOWN_POSITION_SIGMA_M = 1_000_000.0
"""A report this uncertain (1,000 km) about its position gives none (ingest writes it for
velocity-only messages, e.g. ``hotzone.ingest.sbs`` for ``MSG,4``)."""
REPORT_VELOCITY_SIGMA_MPS = (5.0, 5.0, 2.5)
"""Per-axis sigma of a cooperative velocity (ADS-B NACv 1 is 10 m/s horizontal, 95 %)."""


@dataclass
class RotationClock:
    """A rotating radar's period, measured from its plots: the beam sweeps azimuth at
    360° per rotation, so two plots a moment apart differ in azimuth by 360° x their
    time difference / period.

    A busy radar pairs each plot with the earliest plot 0.25-0.5 s before it (long enough
    for the azimuth noise to matter little, short enough to stay within half a turn of a
    1 s gap filler). A quiet one, with too few such pairs, pairs each plot with the one
    before it when that is at most 4 s and 120° away. Pairs of targets agree on the
    period, pairs with clutter scatter: the period is the median of the most populated
    10 % band of recent pairs' periods. With fewer than ``min_pairs`` pairs a radar has no
    period."""

    min_pairs: int = 16
    samples: int = 256
    _recent_plots: deque[tuple[float, float]] | None = field(default_factory=deque)
    """The last 4 s of plots, (time, azimuth) in time order; None while
    ``_recent_columns`` holds them (made from those when `add` needs them)."""
    _busy: deque[float] = field(default_factory=deque)
    _quiet: deque[float] = field(default_factory=deque)
    _recent_columns: tuple[FloatArray, FloatArray] | None = field(
        default=None, repr=False, compare=False
    )
    """``_recent``'s times and azimuths as `add_many` left them (None once `add` has
    changed it): the next window's plots are paired without rebuilding the arrays."""

    def __post_init__(self) -> None:
        # `period_s` as last found (None: the pairs have changed since); not a field, so
        # asking for the period changes no comparison of clocks. The live mode asks at
        # every step, tens of times a second.
        self._period: tuple[float | None] | None = None

    @property
    def _recent(self) -> deque[tuple[float, float]]:
        if self._recent_plots is None:
            assert self._recent_columns is not None
            times, azimuths = self._recent_columns
            self._recent_plots = deque(zip(times.tolist(), azimuths.tolist(), strict=True))
        return self._recent_plots

    def add(self, time_s: float, azimuth_deg: float) -> None:
        recent = self._recent
        self._recent_columns = None
        if recent and 0.02 < time_s - recent[-1][0] <= 4.0:
            swept = _swept(azimuth_deg, recent[-1][1])
            if 0.5 < swept <= 120.0:
                self._keep(self._quiet, 360.0 * (time_s - recent[-1][0]) / swept)
        while recent and recent[0][0] < time_s - 4.0:
            recent.popleft()
        # ``recent`` is in time order (a plot older than the last is not kept), so the test
        # below is False, then True, along it: the earliest plot at most 0.5 s before is
        # found by bisection, not by a walk through the thousand plots of a busy radar's 4 s.
        first = bisect_left(recent, True, key=lambda item: time_s - item[0] <= 0.5)
        earliest = recent[first] if first < len(recent) else None
        if earliest is not None and time_s - earliest[0] >= 0.25:
            swept = _swept(azimuth_deg, earliest[1])
            if swept > 0.5:
                self._keep(self._busy, 360.0 * (time_s - earliest[0]) / swept)
        if not recent or time_s >= recent[-1][0]:
            recent.append((time_s, azimuth_deg))

    def add_many(self, times: FloatArray, azimuths: FloatArray) -> None:
        """`add` of each plot in turn, on arrays: the same pairs and periods. Plots in time
        order, none older than the last added, are paired at once (bisection on the
        array with the test `add` makes); others go one by one through `add`."""
        if len(times) == 0:
            return
        if self._recent_columns is None:
            recent = self._recent
            earlier = np.array([item[0] for item in recent], dtype=np.float64)
            earlier_azimuths = np.array([item[1] for item in recent], dtype=np.float64)
        else:
            earlier, earlier_azimuths = self._recent_columns
        if (len(earlier) and times[0] < earlier[-1]) or bool((np.diff(times) < 0).any()):
            for time_s, azimuth_deg in zip(times.tolist(), azimuths.tolist(), strict=True):
                self.add(time_s, azimuth_deg)
            return
        all_times = np.concatenate([earlier, times])
        all_azimuths = np.concatenate([earlier_azimuths, azimuths])
        index = np.arange(len(earlier), len(all_times))
        # Quiet pairs: each plot with the one before it.
        previous = index - 1
        paired = previous >= 0
        gap = times - all_times[np.maximum(previous, 0)]
        swept = np.abs((azimuths - all_azimuths[np.maximum(previous, 0)] + 180.0) % 360.0 - 180.0)
        quiet = paired & (gap > 0.02) & (gap <= 4.0) & (swept > 0.5) & (swept <= 120.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            quiet_periods = 360.0 * gap / swept
        # Busy pairs: the earliest plot of the last 4 s at most 0.5 s before. `add` tests
        # `time - earlier <= 0.5`; the search tests `earlier >= time - 0.5`, the same on
        # POSIX times (both differences exact), and is corrected to `add`'s test where
        # rounding makes them differ.
        oldest = np.minimum(np.searchsorted(all_times, times - 4.0, side="left"), index)
        first = np.clip(np.searchsorted(all_times, times - 0.5, side="left"), oldest, index)
        while True:
            back = (first > oldest) & (times - all_times[np.maximum(first - 1, 0)] <= 0.5)
            ahead = (first < index) & ~(times - all_times[np.minimum(first, index)] <= 0.5)
            if not (back.any() or ahead.any()):
                break
            first = first - back + ahead
        found = first < index
        busy_gap = times - all_times[np.minimum(first, index)]
        busy_swept = np.abs(
            (azimuths - all_azimuths[np.minimum(first, index)] + 180.0) % 360.0 - 180.0
        )
        busy = found & (busy_gap >= 0.25) & (busy_swept > 0.5)
        with np.errstate(divide="ignore", invalid="ignore"):
            busy_periods = 360.0 * busy_gap / busy_swept
        for periods, kept in (
            (self._quiet, quiet_periods[quiet]),
            (self._busy, busy_periods[busy]),
        ):
            if len(kept):
                self._period = None
            periods.extend(kept[-self.samples :].tolist())
            while len(periods) > self.samples:
                periods.popleft()
        keep_from = int(oldest[-1])
        # Kept as columns only: the next window's plots pair with them as they are, and
        # the deque `add` walks is made only if a plot comes one at a time.
        self._recent_plots = None
        self._recent_columns = (all_times[keep_from:], all_azimuths[keep_from:])

    def _keep(self, periods: deque[float], period: float) -> None:
        self._period = None
        periods.append(period)
        if len(periods) > self.samples:
            periods.popleft()

    @property
    def period_s(self) -> float | None:
        if self._period is None:
            self._period = (self._found_period(),)
        return self._period[0]

    def _found_period(self) -> float | None:
        for periods in (self._busy, self._quiet):
            if len(periods) >= self.min_pairs:
                return _densest(np.array(periods))
        return None


def _densest(values: FloatArray, width: float = 0.1) -> float:
    """The median of the most populated band of relative ``width`` among ``values``:
    pairs of plots of targets agree on the period, pairs with clutter scatter widely."""
    logs = np.sort(np.log(values[values > 0]))
    ends = np.searchsorted(logs, logs + width, side="right")
    start = int(np.argmax(ends - np.arange(len(logs))))
    return float(np.exp(np.median(logs[start : ends[start]])))


def _swept(azimuth_deg: float, earlier_deg: float) -> float:
    """The angle between two azimuths, either way round (degrees, 0-180)."""
    return abs((azimuth_deg - earlier_deg + 180.0) % 360.0 - 180.0)


@dataclass(kw_only=True)
class _Columns:
    """What each row keeps of its message besides its numbers, column by column."""

    times: list[float] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    icao24: list[str | None] = field(default_factory=list)
    callsign: list[str | None] = field(default_factory=list)
    on_ground: list[bool | None] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    identity: list[str | None] = field(default_factory=list)

    def add_message(self, message: Detection | Report, label: int, identity: str | None) -> None:
        self.times.append(message.time.timestamp())
        self.ids.append(
            message.detection_id if isinstance(message, Detection) else message.report_id
        )
        self.icao24.append(message.icao24)
        self.callsign.append(message.callsign)
        self.on_ground.append(message.on_ground if isinstance(message, Report) else None)
        self.labels.append(label)
        self.identity.append(identity)

    def scan(
        self,
        sensor_id: str,
        model: MeasurementModel,
        rows: IntArray,
        values: FloatArray,
        noise: FloatArray,
        sensor_position: FloatArray,
        labelled: bool,
    ) -> SensorScan:
        """The scan of ``rows`` (indices into these columns) whose converted ``values``
        and ``noise`` are given."""
        indices = rows.tolist()  # a list indexed by Python ints, not numpy scalars
        icao24 = [self.icao24[row] for row in indices]
        callsign = [self.callsign[row] for row in indices]
        identity = [self.identity[row] for row in indices]
        on_ground = [self.on_ground[row] for row in indices]
        has_identity = any(
            value is not None for column in (icao24, callsign, identity) for value in column
        )
        return SensorScan(
            sensor_id=sensor_id,
            model=model,
            values=values,
            noise=noise,
            times=np.array(self.times)[rows],
            sensor_position=sensor_position,
            icao24=np.array(icao24, dtype=object) if has_identity else None,
            callsign=np.array(callsign, dtype=object) if has_identity else None,
            on_ground=np.array(on_ground, dtype=object)
            if any(value is not None for value in on_ground)
            else None,
            measurement_ids=tuple(self.ids[row] for row in indices),
            label_ids=np.array(self.labels, dtype=np.int64)[rows] if labelled else None,
            identity=np.array(identity, dtype=object) if has_identity else None,
        )


@dataclass
class _Rows(_Columns):
    """Converted rows of one (source, model) group before they become arrays."""

    model: MeasurementModel
    sensor_position: FloatArray
    values: list[FloatArray] = field(default_factory=list)
    noise: list[FloatArray] = field(default_factory=list)


@dataclass
class _Pending(_Columns):
    """Checked messages of one (source, model) group, before they are converted together.

    ``conversion`` names what turns them into rows of ``model`` (a `MeasurementKind`,
    ``report`` or ``velocity``); ``rotations`` turn each row's local frame (its sensor's,
    or the ENU frame at the object for reports) into the track frame, ``sites`` are the
    sensors' positions in it."""

    model: MeasurementModel
    conversion: str
    order: list[int] = field(default_factory=list)
    raw: list[FloatArray] = field(default_factory=list)
    covariance: list[FloatArray] = field(default_factory=list)
    rotations: list[FloatArray] = field(default_factory=list)
    sites: list[FloatArray] = field(default_factory=list)

    def add(
        self,
        index: int,
        message: Detection | Report,
        raw: FloatArray,
        covariance: FloatArray,
        rotation: FloatArray,
        site: FloatArray,
        label: int,
        identity: str | None,
    ) -> None:
        self.order.append(index)
        self.raw.append(raw)
        self.covariance.append(covariance)
        self.rotations.append(rotation)
        self.sites.append(site)
        self.add_message(message, label, identity)


@dataclass(frozen=True)
class PolarPlots:
    """Polar radar plots (range m, azimuth deg, elevation deg) of one window as columns,
    row k standing for the Detection of kind POLAR that a decoder would have made:
    ``sites[site[k]]`` is its (sensor id, sensor position), ``variances[k]`` the diagonal
    of its covariance, ``times[k]`` its time (POSIX s), ``ids[k]`` its detection id."""

    times: FloatArray
    site: IntArray
    values: FloatArray
    variances: FloatArray
    ids: Sequence[str]
    icao24: Sequence[str | None]
    callsign: Sequence[str | None]
    sites: Sequence[tuple[str, GeoPoint]]
    releasability: str = "NATO"


@dataclass
class MessageConverter:
    """Turns decoded Detection and Report messages into scans in ``frame``.

    With a `LabelTable`, each row carries the id of its message's label met with
    ``ceiling`` (the stage's own label): what the tracker derives from it can be labelled
    without parsing text again. A message whose label shares no nation with ``ceiling``
    is refused (no one may receive a track built from it here).
    """

    frame: LocalFrame
    labels: LabelTable | None = None
    ceiling: str = "NATO"
    _label_ids: dict[str, int | None] = field(default_factory=dict, repr=False)
    _sensor_frames: dict[tuple[float, float, float], LocalFrame] = field(
        default_factory=dict, repr=False
    )
    _rotations: dict[tuple[float, float], FloatArray] = field(default_factory=dict, repr=False)
    rotation_clocks: dict[str, RotationClock] = field(default_factory=dict, repr=False)
    """Per sensor of polar plots, its measured rotation (`RotationClock`)."""
    _sites: dict[tuple[float, float, float], tuple[FloatArray, FloatArray]] = field(
        default_factory=dict, repr=False
    )

    def convert(self, messages: Iterable[object]) -> tuple[list[SensorScan], list[Rejection]]:
        """The window's messages as scans, one per (source, measurement model) group, and
        the rejected ones with their reasons.

        Each message is checked on its own, then each group is converted with one call on
        its arrays (a Python call per plot cost 45 % of ``hotzone track``): the rows, their
        order, the rejections and their order are those of `convert_each`."""
        pending: dict[tuple[str, str], _Pending] = {}
        rejected = self._each_message(
            messages,
            lambda index, detection, label: self._check_detection(detection, pending, index, label),
            lambda index, report, repeat, label: self._check_report(
                report, pending, index, repeat, label
            ),
        )
        converted: list[tuple[int, SensorScan]] = []
        for (sensor_id, _), group in pending.items():
            # A row that overflows is refused below, by itself: no warning for the group.
            with np.errstate(over="ignore", invalid="ignore"):
                values, noise, sensor_positions = self._convert_group(group)
            finite: BoolArray = np.asarray(
                np.isfinite(values).all(axis=1) & np.isfinite(noise).all(axis=(1, 2)),
                dtype=np.bool_,
            )
            for row in np.flatnonzero(~finite):
                rejected.append(
                    (
                        group.order[row],
                        Rejection(
                            sensor_id,
                            group.ids[row],
                            group.times[row],
                            "conversion to the sector frame produced non-finite numbers",
                        ),
                    )
                )
            if finite.any():
                kept = np.flatnonzero(finite)
                scan = group.scan(
                    sensor_id,
                    group.model,
                    kept,
                    values[kept],
                    noise[kept],
                    sensor_positions[kept[0]],
                    self.labels is not None,
                )
                converted.append((group.order[int(kept[0])], scan))
        # The order of `convert_each`: scans by their first converted row, rejections by
        # message.
        converted.sort(key=lambda item: item[0])
        rejected.sort(key=lambda item: item[0])
        return [scan for _, scan in converted], [rejection for _, rejection in rejected]

    def convert_plots(self, plots: PolarPlots) -> tuple[list[SensorScan], list[Rejection]]:
        """`convert` for polar radar plots given as columns (``hotzone track``'s path from
        a CAT048 capture: no Detection per plot): the same scans and rejections, in the
        same order, as `convert` of the Detections these rows stand for."""
        label = self._label_id(plots.releasability)
        rejected: list[tuple[int, Rejection]] = []
        sensor_ids = [sensor_id for sensor_id, _ in plots.sites]
        times = plots.times.tolist()
        if label is None:
            reason = self._conflict(plots.releasability)
            rejected = [
                (row, Rejection(sensor_ids[site], plots.ids[row], times[row], reason))
                for row, site in enumerate(plots.site.tolist())
            ]
            return [], [rejection for _, rejection in rejected]
        positions = np.array(
            [(point.lat_deg, point.lon_deg, point.height_m) for _, point in plots.sites],
            dtype=np.float64,
        ).reshape(-1, 3)
        # `_detection_problem`, row by row in its order of tests, on whole columns.
        finite: BoolArray = np.asarray(
            np.isfinite(plots.values).all(axis=1) & np.isfinite(plots.variances).all(axis=1)
        )
        placed: BoolArray = np.asarray(np.isfinite(positions).all(axis=1))[plots.site]
        positive = plots.values[:, 0] > 0
        good = finite & placed & positive
        for row in np.flatnonzero(~good).tolist():
            if not finite[row]:
                reason = "non-finite value or covariance"
            elif not placed[row]:
                reason = "non-finite sensor position"
            else:
                reason = f"polar range must be positive, got {plots.values[row, 0]}"
            sensor_id = sensor_ids[int(plots.site[row])]
            rejected.append((row, Rejection(sensor_id, plots.ids[row], times[row], reason)))
        # The sensors in the order of their first good plot (each site's first, in order).
        good_sites, first_rows = np.unique(plots.site[good], return_index=True)
        in_order = good_sites[np.argsort(first_rows, kind="stable")].tolist()
        for sensor_id in dict.fromkeys(sensor_ids[site] for site in in_order):
            sensor_sites = [k for k, name in enumerate(sensor_ids) if name == sensor_id]
            timed = good & _of_sites(plots.site, sensor_sites, len(sensor_ids))
            self.rotation_clocks.setdefault(sensor_id, RotationClock()).add_many(
                plots.times[timed], plots.values[timed, 1]
            )
        converted: list[tuple[int, SensorScan]] = []
        by_sensor: dict[str, list[int]] = {}
        for site, sensor_id in enumerate(sensor_ids):
            by_sensor.setdefault(sensor_id, []).append(site)
        site_arrays = [self._site(point) for _, point in plots.sites]
        rotation_of = np.array([rotation for rotation, _ in site_arrays]).reshape(-1, 3, 3)
        position_of = np.array([position for _, position in site_arrays]).reshape(-1, 3)
        identity = _plot_identities(plots, sensor_ids)
        # No row of the window carries an identity (a primary radar's): no column of
        # them to gather for each scan.
        anonymous = _all_none(plots.icao24) and _all_none(plots.callsign) and _all_none(identity)
        for sensor_id, sites in by_sensor.items():
            rows = np.flatnonzero(good & _of_sites(plots.site, sites, len(sensor_ids)))
            if len(rows) == 0:
                continue
            covariance = np.zeros((len(rows), 3, 3))
            covariance[:, [0, 1, 2], [0, 1, 2]] = plots.variances[rows]
            with np.errstate(over="ignore", invalid="ignore"):
                values, noise, sensor_positions = self._convert_arrays(
                    str(MeasurementKind.POLAR),
                    plots.values[rows],
                    covariance,
                    rotation_of[plots.site[rows]],
                    position_of[plots.site[rows]],
                )
            usable = np.isfinite(values).all(axis=1) & np.isfinite(noise).all(axis=(1, 2))
            for row in rows[~usable].tolist():
                rejected.append(
                    (
                        row,
                        Rejection(
                            sensor_id,
                            plots.ids[row],
                            times[row],
                            "conversion to the sector frame produced non-finite numbers",
                        ),
                    )
                )
            if not usable.any():
                continue
            kept_rows = rows[usable]
            kept = np.flatnonzero(usable)
            scan = _plot_scan(
                sensor_id,
                plots,
                kept_rows,
                (values[kept], noise[kept], sensor_positions[kept[0]]),
                None if anonymous else identity,
                label if self.labels is not None else None,
            )
            converted.append((int(kept_rows[0]), scan))
        converted.sort(key=lambda item: item[0])
        rejected.sort(key=lambda item: item[0])
        return [scan for _, scan in converted], [rejection for _, rejection in rejected]

    def convert_each(self, messages: Iterable[object]) -> tuple[list[SensorScan], list[Rejection]]:
        """`convert` one message at a time: the reference its vectorized groups are tested
        against."""
        groups: dict[tuple[str, str], _Rows] = {}
        rejected = self._each_message(
            messages,
            lambda _, detection, label: self._add_detection(detection, groups, label),
            lambda _, report, repeat, label: self._add_report(report, groups, repeat, label),
        )
        scans = [self._scan(key[0], rows) for key, rows in groups.items()]
        return scans, [rejection for _, rejection in rejected]

    def _each_message(
        self,
        messages: Iterable[object],
        take_detection: Callable[[int, Detection, int], str],
        take_report: Callable[[int, Report, int, int], str],
    ) -> list[tuple[int, Rejection]]:
        """Each detection and report (with its index and row label id, a report also with
        its repeat) handed to ``take_*``, which says why it refuses it, if it does; the
        refusals with their messages' indices. A message whose label shares no nation
        with the ceiling is refused here."""
        rejected: list[tuple[int, Rejection]] = []
        # How often each source has reported each object in this window: a source never
        # reports one object twice in one scan, so its second report of an object (an
        # ADS-B or CAT062 feed faster than the window) opens the source's next scan,
        # instead of meeting the first in one assignment and starting a second track.
        reported: Counter[tuple[str, str]] = Counter()
        for index, message in enumerate(messages):
            if isinstance(message, Detection):
                source, identifier = message.sensor_id, message.detection_id
                label = self._label_id(message.releasability)
                if label is None:
                    reason = self._conflict(message.releasability)
                else:
                    reason = take_detection(index, message, label)
            elif isinstance(message, Report):
                source, identifier = message.source_id, message.report_id
                label = self._label_id(message.releasability)
                reported_object = _reported_object(message)
                repeat = 0
                if label is None:
                    reason = self._conflict(message.releasability)
                else:
                    if reported_object is not None:
                        repeat = reported[(message.source_id, reported_object)]
                        reported[(message.source_id, reported_object)] += 1
                    reason = take_report(index, message, repeat, label)
            else:
                continue  # events and other messages carry no kinematics
            if reason:
                rejected.append(
                    (index, Rejection(source, identifier, message.time.timestamp(), reason))
                )
        return rejected

    # ------------------------------------------------------------------ vectorized
    def _site(self, point: GeoPoint) -> tuple[FloatArray, FloatArray]:
        """A sensor's rotation to the track frame and its position in it (cached)."""
        key = (point.lat_deg, point.lon_deg, point.height_m)
        site = self._sites.get(key)
        if site is None:
            site = (self._sensor_frame(point).vector_to(self.frame), self._sensor_position(point))
            self._sites[key] = site
        return site

    def _detection_problem(
        self, detection: Detection, values: FloatArray, covariance: FloatArray
    ) -> str:
        """Why a detection cannot be converted ("" if it can); a polar plot that can
        times its sensor's rotation."""
        kind = detection.kind
        if len(values) not in _EXPECTED_SIZES[kind]:
            return f"{kind} detection needs {_EXPECTED_SIZES[kind]} values, got {len(values)}"
        if not (np.isfinite(values).all() and np.isfinite(covariance).all()):
            return "non-finite value or covariance"
        point = detection.sensor_position
        if not (
            math.isfinite(point.lat_deg)
            and math.isfinite(point.lon_deg)
            and math.isfinite(point.height_m)
        ):
            return "non-finite sensor position"
        if kind == MeasurementKind.POLAR:
            if values[0] <= 0:
                return f"polar range must be positive, got {values[0]}"
            self.rotation_clocks.setdefault(detection.sensor_id, RotationClock()).add(
                detection.time.timestamp(), float(values[1])
            )
        return ""

    def _check_detection(
        self,
        detection: Detection,
        pending: dict[tuple[str, str], _Pending],
        index: int,
        label: int,
    ) -> str:
        """`_detection_problem`; a good detection waits in its group."""
        values = np.asarray(detection.values, dtype=np.float64)
        covariance = np.asarray(detection.covariance, dtype=np.float64)
        problem = self._detection_problem(detection, values, covariance)
        if problem:
            return problem
        rotation, site = self._site(detection.sensor_position)
        kind = detection.kind
        model = _DETECTION_MODELS[kind](len(values))
        key = (detection.sensor_id, f"{kind}:{model.size}")
        group = pending.get(key)
        if group is None:
            group = pending[key] = _Pending(model, str(kind))
        group.add(
            index,
            detection,
            values,
            covariance,
            rotation,
            site,
            label,
            detection_identity(detection),
        )
        return ""

    def _check_report(
        self,
        report: Report,
        pending: dict[tuple[str, str], _Pending],
        index: int,
        repeat: int,
        label: int,
    ) -> str:
        """`_report_measurement`'s checks; a good report waits in its group."""
        problem, conversion, raw, local, identity = _report_measurement(report)
        if problem:
            return problem
        key = (report.source_id, f"{conversion}:{report.source}:{repeat}")
        group = pending.get(key)
        if group is None:
            group = pending[key] = _Pending(_REPORT_MODELS[conversion], conversion)
        rotation = self._rotation_at(report.position.lat_deg, report.position.lon_deg)
        group.add(index, report, raw, local, rotation, _ORIGIN, label, identity)
        return ""

    def _convert_group(self, group: _Pending) -> tuple[FloatArray, FloatArray, FloatArray]:
        """A group's (n, m) values, (n, m, m) noise and (n, 3) sensor positions in the
        track frame, each conversion done once on the group's arrays."""
        return self._convert_arrays(
            group.conversion,
            np.array(group.raw),
            np.array(group.covariance),
            np.array(group.rotations),
            np.array(group.sites),
        )

    def _convert_arrays(
        self,
        conversion: str,
        raw: FloatArray,
        covariance: FloatArray,
        rotations: FloatArray,
        sites: FloatArray,
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """`_convert_group` on its arrays: rows of ``raw`` values with their
        ``covariance``, local-to-track ``rotations`` and ``sites`` (sensor positions)."""
        turned_t = np.swapaxes(rotations, -1, -2)
        values: FloatArray
        noise: FloatArray
        if conversion == MeasurementKind.CARTESIAN:
            values = (rotations @ raw[..., None])[..., 0] + sites
            noise = rotations @ covariance @ turned_t
        elif conversion == MeasurementKind.POLAR:
            scale = np.diag([1.0, np.pi / 180, np.pi / 180])
            offsets, polar_noise = convert_polar(
                raw[:, 0], np.radians(raw[:, 1]), np.radians(raw[:, 2]), scale @ covariance @ scale
            )
            values = (rotations @ offsets[..., None])[..., 0] + sites
            noise = rotations @ polar_noise @ turned_t
        elif conversion == MeasurementKind.BEARING:
            values, noise = _bearings(raw, covariance, rotations)
        elif conversion == MeasurementKind.POSITION:
            # The covariance is in the ENU frame at the point (see `_add_detection`).
            values, noise = self.frame.geodetic_to_enu(raw[:, 0], raw[:, 1], raw[:, 2]), covariance
        elif conversion == MeasurementKind.POSITION_2D:
            values = self.frame.geodetic_to_enu(raw[:, 0], raw[:, 1], 0.0)[:, :2]
            noise = covariance
        elif conversion == "report":
            values = self.frame.geodetic_to_enu(raw[:, 0], raw[:, 1], raw[:, 2])
            noise = rotations @ _diagonal(covariance) @ turned_t
            sites = values  # a report group's "sensor position" is its first report's
        else:  # velocity
            values = (rotations @ raw[..., None])[..., 0]
            noise = rotations @ _diagonal(covariance) @ turned_t
        return values, noise, sites

    # ------------------------------------------------------------------ labels
    def _label_id(self, text: str) -> int | None:
        """The row label id of a message label (met with the ceiling); None: no common
        nation. -1 without a table."""
        if self.labels is None:
            return -1
        if text in self._label_ids:
            return self._label_ids[text]
        table = self.labels
        try:
            found: int | None = table.meet(table.intern(self.ceiling), table.intern(text))
        except LabelConflict:
            found = None
        self._label_ids[text] = found
        return found

    def _conflict(self, text: str) -> str:
        return (
            f"label {text!r} shares no nation with this stage's label {self.ceiling!r}: "
            "no one may receive a track built from it"
        )

    # ------------------------------------------------------------------ detections
    def _sensor_frame(self, point: GeoPoint) -> LocalFrame:
        key = (point.lat_deg, point.lon_deg, point.height_m)
        frame = self._sensor_frames.get(key)
        if frame is None:
            frame = LocalFrame(*key)
            self._sensor_frames[key] = frame
        return frame

    def _rotation_at(self, lat_deg: float, lon_deg: float) -> FloatArray:
        """ENU vectors at a point -> the track frame (per 0.1°: a tenth of a degree off)."""
        key = (round(lat_deg, 1), round(lon_deg, 1))
        rotation = self._rotations.get(key)
        if rotation is None:
            rotation = LocalFrame(key[0], key[1]).vector_to(self.frame)
            self._rotations[key] = rotation
        return rotation

    def _sensor_position(self, point: GeoPoint) -> FloatArray:
        position: FloatArray = self.frame.geodetic_to_enu(
            point.lat_deg, point.lon_deg, point.height_m
        )
        return position

    def _add_detection(
        self, detection: Detection, groups: dict[tuple[str, str], _Rows], label: int = -1
    ) -> str:
        values = np.asarray(detection.values, dtype=np.float64)
        covariance = np.asarray(detection.covariance, dtype=np.float64)
        problem = self._detection_problem(detection, values, covariance)
        if problem:
            return problem
        kind = detection.kind
        sensor_frame = self._sensor_frame(detection.sensor_position)
        rotation = sensor_frame.vector_to(self.frame)
        sensor_position = self._sensor_position(detection.sensor_position)
        model = _DETECTION_MODELS[kind](len(values))
        if kind == MeasurementKind.CARTESIAN:
            value = rotation @ values + sensor_position
            noise = rotation @ covariance @ rotation.T
        elif kind == MeasurementKind.POLAR:
            scale = np.diag([1.0, np.pi / 180, np.pi / 180])
            offsets, polar_noise = convert_polar(
                values[None, 0],
                np.radians(values[None, 1]),
                np.radians(values[None, 2]),
                (scale @ covariance @ scale)[None],
            )
            value = rotation @ offsets[0] + sensor_position
            noise = rotation @ polar_noise[0] @ rotation.T
        elif kind == MeasurementKind.BEARING:
            value, noise = self._bearing(values, covariance, rotation)
        elif kind == MeasurementKind.POSITION:
            value = self.frame.geodetic_to_enu(values[0], values[1], values[2])
            # The covariance is in the ENU frame at the point; across one sector the
            # rotation to the sector frame is a degree or two, negligible for a covariance.
            noise = covariance
        else:
            value = self.frame.geodetic_to_enu(values[0], values[1], 0.0)[:2]
            noise = covariance
        if not (np.isfinite(value).all() and np.isfinite(noise).all()):
            return "conversion to the sector frame produced non-finite numbers"
        rows = groups.setdefault(
            (detection.sensor_id, f"{kind}:{model.size}"), _Rows(model, sensor_position)
        )
        rows.values.append(np.asarray(value, dtype=np.float64))
        rows.noise.append(np.asarray(noise, dtype=np.float64))
        rows.add_message(detection, label, detection_identity(detection))
        return ""

    @staticmethod
    def _bearing(
        values: FloatArray, covariance: FloatArray, rotation: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """Azimuth (and elevation) re-expressed in the sector frame, in radians."""
        azimuth = np.radians(values[0])
        elevation = np.radians(values[1]) if len(values) == 2 else 0.0
        direction = np.array(
            [
                np.sin(azimuth) * np.cos(elevation),
                np.cos(azimuth) * np.cos(elevation),
                np.sin(elevation),
            ]
        )
        turned = rotation @ direction
        sector_azimuth = np.arctan2(turned[0], turned[1])
        noise = covariance * (np.pi / 180) ** 2
        if len(values) == 1:
            return np.array([sector_azimuth]), noise
        sector_elevation = np.arctan2(turned[2], np.hypot(turned[0], turned[1]))
        return np.array([sector_azimuth, sector_elevation]), noise

    # ------------------------------------------------------------------ reports
    def _add_report(
        self,
        report: Report,
        groups: dict[tuple[str, str], _Rows],
        repeat: int = 0,
        label: int = -1,
    ) -> str:
        problem, conversion, raw, local, identity = _report_measurement(report)
        if problem:
            return problem
        # The accuracy (and a velocity) is given in the ENU frame at the object: turned
        # into the track frame, whose "up" leans away from the object's by a degree per
        # 111 km. A velocity-only report's last position is near enough.
        rotation = self._rotation_at(report.position.lat_deg, report.position.lon_deg)
        if conversion == "report":
            value = np.asarray(self.frame.geodetic_to_enu(*raw), dtype=np.float64)
            site = value  # a report group's "sensor position" is its first report's
        else:  # a report with no position: its velocity updates the track of its identity
            value, site = rotation @ raw, np.zeros(3)
        rows = groups.setdefault(
            (report.source_id, f"{conversion}:{report.source}:{repeat}"),
            _Rows(_REPORT_MODELS[conversion], site),
        )
        rows.values.append(value)
        rows.noise.append(rotation @ np.diag(local) @ rotation.T)
        rows.add_message(report, label, identity)
        return ""

    def _scan(self, sensor_id: str, rows: _Rows) -> SensorScan:
        return rows.scan(
            sensor_id,
            rows.model,
            np.arange(len(rows.times)),
            np.array(rows.values),
            np.array(rows.noise),
            rows.sensor_position,
            self.labels is not None,
        )


_ORIGIN = np.zeros(3)
_VELOCITY_VARIANCE = np.square(REPORT_VELOCITY_SIGMA_MPS)
#: The model of a report's rows: its position, or only its velocity (see the module).
_REPORT_MODELS: dict[str, MeasurementModel] = {
    "report": PositionMeasurement(3),
    "velocity": VelocityMeasurement(3),
}


def _report_measurement(
    report: Report,
) -> tuple[str, str, FloatArray, FloatArray, str | None]:
    """What a report measures: (why it cannot be used, "" if it can; ``report`` or
    ``velocity``; its latitude, longitude, height or its ENU velocity; the variances of
    those in the ENU frame at the object; its identity)."""
    point = report.position
    coordinates = np.array([point.lat_deg, point.lon_deg, point.height_m])
    identity = reported_identity(report)
    if not np.isfinite(coordinates).all():
        return "non-finite report position", "", _ORIGIN, _ORIGIN, identity
    horizontal = report.horizontal_sigma_m
    vertical = report.vertical_sigma_m or DEFAULT_REPORT_VERTICAL_SIGMA_M
    if not (np.isfinite(horizontal) and horizontal > 0 and np.isfinite(vertical)):
        problem = f"report accuracy must be positive and finite, got {horizontal} m"
        return problem, "", _ORIGIN, _ORIGIN, identity
    if horizontal < UNKNOWN_POSITION_SIGMA_M:
        variances = np.array([horizontal**2, horizontal**2, max(vertical, 1.0) ** 2])
        return "", "report", coordinates, variances, identity
    if report.velocity_enu_mps is None or identity is None:
        problem = "report gives neither a position nor a velocity of a known object"
        return problem, "", _ORIGIN, _ORIGIN, identity
    velocity = np.asarray(report.velocity_enu_mps, dtype=np.float64)
    if velocity.shape != (3,) or not np.isfinite(velocity).all():
        return "report velocity must be three finite numbers", "", _ORIGIN, _ORIGIN, identity
    return "", "velocity", velocity, _VELOCITY_VARIANCE, identity


def _diagonal(variances: FloatArray) -> FloatArray:
    """(n, 3) variances -> (n, 3, 3) diagonal covariances."""
    result = np.zeros((*variances.shape, variances.shape[-1]))
    index = np.arange(variances.shape[-1])
    result[..., index, index] = variances
    return result


def _bearings(
    values: FloatArray, covariance: FloatArray, rotations: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """`MessageConverter._bearing` on (n, 1) or (n, 2) rows."""
    azimuth = np.radians(values[:, 0])
    with_elevation = values.shape[1] == 2
    elevation = np.radians(values[:, 1]) if with_elevation else np.zeros(len(values))
    direction = np.stack(
        [
            np.sin(azimuth) * np.cos(elevation),
            np.cos(azimuth) * np.cos(elevation),
            np.sin(elevation),
        ],
        axis=-1,
    )
    turned = (rotations @ direction[..., None])[..., 0]
    sector_azimuth = np.arctan2(turned[:, 0], turned[:, 1])
    noise = covariance * (np.pi / 180) ** 2
    if not with_elevation:
        return sector_azimuth[:, None], noise
    sector_elevation = np.arctan2(turned[:, 2], np.hypot(turned[:, 0], turned[:, 1]))
    return np.stack([sector_azimuth, sector_elevation], axis=-1), noise


def reported_identity(report: Report) -> str | None:
    """The object's cooperative identity: ICAO address, else MMSI, else the source's uid.

    An AIS report's uid is the vessel's radio call sign, and its MMSI comes first."""
    if report.icao24:
        return f"icao:{report.icao24.lower()}"
    if report.mmsi is not None:
        return f"mmsi:{report.mmsi}"
    if report.uid:
        return f"uid:{report.uid}"
    return None


def detection_identity(detection: Detection) -> str | None:
    """A plot's identity: its Mode S address, or the SAPIENT object id it reports
    (``hotzone.ingest.sapient`` names its detections ``sapient:{object}:{report}``)."""
    if detection.icao24:
        return f"icao:{detection.icao24.lower()}"
    return _sapient_identity(detection.detection_id, detection.sensor_id)


def _of_sites(site: IntArray, sites: list[int], count: int) -> BoolArray:
    """``np.isin(site, sites)`` for site indices below ``count``, by a table look-up
    instead of a sort."""
    chosen = np.zeros(count, dtype=np.bool_)
    chosen[sites] = True
    found: BoolArray = chosen[site]
    return found


def _all_none(values: Sequence[object]) -> bool:
    """Whether every value is None (a list counts them in C)."""
    return values.count(None) == len(values)


def _plot_scan(
    sensor_id: str,
    plots: PolarPlots,
    rows: IntArray,
    converted: tuple[FloatArray, FloatArray, FloatArray],
    identity: list[str | None] | None,
    label: int | None,
) -> SensorScan:
    """`_Columns.scan` of plots ``rows`` (``converted``: their values, noise and
    sensor position), from the window's columns: the same scan. ``identity``: each
    plot's (`_plot_identities`), None when no plot of the window has one or an address
    or a callsign; ``label``: every row's label id, None for an unlabelled scan."""
    indices = rows.tolist()
    icao24: NDArray[np.object_] | None = None
    callsign: NDArray[np.object_] | None = None
    identities: NDArray[np.object_] | None = None
    if identity is not None:
        columns = [
            [column[row] for row in indices] for column in (plots.icao24, plots.callsign, identity)
        ]
        if not all(_all_none(column) for column in columns):
            icao24, callsign, identities = (np.array(column, dtype=object) for column in columns)
    values, noise, sensor_position = converted
    return SensorScan(
        sensor_id=sensor_id,
        model=PositionMeasurement(3),
        values=values,
        noise=noise,
        times=plots.times[rows],
        sensor_position=sensor_position,
        icao24=icao24,
        callsign=callsign,
        on_ground=None,
        measurement_ids=tuple(map(plots.ids.__getitem__, indices)),
        label_ids=None if label is None else np.full(len(indices), label, dtype=np.int64),
        identity=identities,
    )


def _plot_identities(plots: PolarPlots, sensor_ids: list[str]) -> list[str | None]:
    """`detection_identity` of each plot. A window with no address and no SAPIENT id in
    it (a primary radar's) has none: no call a row to find that out."""
    if not any(plots.icao24) and "sapient:" not in "\n".join(plots.ids):
        return [None] * len(plots.ids)
    return [
        f"icao:{icao24.lower()}" if icao24 else _sapient_identity(identifier, sensor_ids[site])
        for icao24, identifier, site in zip(
            plots.icao24, plots.ids, plots.site.tolist(), strict=True
        )
    ]


def _sapient_identity(detection_id: str, sensor_id: str) -> str | None:
    kind, _, rest = detection_id.partition(":")
    object_id, separator, _ = rest.rpartition(":")
    if kind == "sapient" and separator and object_id:
        return f"uid:sapient/{sensor_id}/{object_id}"
    return None


def _reported_object(report: Report) -> str | None:
    """The object a report is about, as its source names it, where it does."""
    if report.uid:
        return f"uid:{report.uid}"
    if report.icao24:
        return f"icao:{report.icao24}"
    if report.mmsi is not None:
        return f"mmsi:{report.mmsi}"
    if report.callsign:
        return f"callsign:{report.callsign}"
    return None


def group_by_source(messages: Iterable[object]) -> dict[str, list[object]]:
    """Messages keyed by sensor or source id (for callers that batch per sensor)."""
    grouped: dict[str, list[object]] = defaultdict(list)
    for message in messages:
        source = getattr(message, "sensor_id", None) or getattr(message, "source_id", "")
        grouped[str(source)].append(message)
    return grouped
