"""Space-based sensors from TLEs: when they cover the zone, and adversary overflights.

A TLE set (name line optional, then lines 1 and 2, checksums verified) gives each
satellite's orbit; SGP4 (the ``sgp4`` library) propagates it in the TEME frame, which a
rotation by Greenwich mean sidereal time (IAU 1982, as Vallado's ``teme2ecef`` without
polar motion) turns into Earth-fixed coordinates. A satellite covers a point while its
elevation seen from there is at least ``min_elevation_deg``; a zone (a polygon or a
circle) is covered while any of its sample points is. Crossings are found on a coarse
time grid, then refined by bisection to a few milliseconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from sgp4.api import Satrec

from hotzone.geo.frames import LocalFrame, ecef_to_geodetic
from hotzone.types import Event, EventKind, GeoPoint
from hotzone.types.arrays import FloatArray

_J2000_POSIX = 946_728_000.0  # 2000-01-01T12:00:00Z
_POSIX_EPOCH_JD = 2_440_587.5


class TleError(ValueError):
    """A TLE that cannot be used, with the line and what is wrong."""


@dataclass(frozen=True)
class SatelliteElements:
    name: str
    catalog_number: str
    satrec: Satrec


@dataclass(frozen=True)
class Pass:
    """One coverage window of one satellite over one point or zone."""

    satellite: str
    rise: datetime
    culmination: datetime
    set: datetime
    max_elevation_deg: float


def _checksum(line: str) -> int:
    return sum(int(c) if c.isdigit() else (1 if c == "-" else 0) for c in line[:68]) % 10


def parse_tles(text: str) -> list[SatelliteElements]:
    """TLE text (two- or three-line sets) -> elements; `TleError` names the bad line."""
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    satellites: list[SatelliteElements] = []
    index = 0
    while index < len(lines):
        name = ""
        if not lines[index].startswith("1 "):
            name = lines[index].removeprefix("0 ").strip()
            index += 1
        if index + 1 >= len(lines):
            raise TleError(f"TLE line {index + 1}: set {name or '?'} lacks its lines 1 and 2")
        first, second = lines[index], lines[index + 1]
        for number, line in ((1, first), (2, second)):
            where = f"TLE line {index + number} ({name or 'unnamed'})"
            if len(line) != 69 or not line.startswith(f"{number} "):
                raise TleError(f"{where}: expected 69 characters starting with '{number} '")
            if not line[68].isdigit() or _checksum(line) != int(line[68]):
                raise TleError(f"{where}: checksum {line[68]!r}, computed {_checksum(line)}")
        if first[2:7] != second[2:7]:
            raise TleError(f"TLE line {index + 1}: lines 1 and 2 name different satellites")
        try:
            satrec = Satrec.twoline2rv(first, second)
        except ValueError as error:
            raise TleError(f"TLE line {index + 1}: {error}") from None
        catalog = first[2:7].strip()
        satellites.append(SatelliteElements(name or catalog, catalog, satrec))
        index += 2
    return satellites


def _gmst_rad(posix_seconds: FloatArray) -> FloatArray:
    """Greenwich mean sidereal angle (IAU 1982) at UTC times taken as UT1."""
    centuries = (posix_seconds - _J2000_POSIX) / 86400.0 / 36525.0
    seconds = (
        67310.54841
        + (876600.0 * 3600.0 + 8640184.812866) * centuries
        + 0.093104 * centuries**2
        - 6.2e-6 * centuries**3
    )
    return np.radians((seconds % 86400.0) / 240.0)


def satellite_ecef_m(satrec: Satrec, posix_seconds: FloatArray) -> FloatArray:
    """(n, 3) Earth-fixed positions in metres; NaN where SGP4 reports an error."""
    times = np.atleast_1d(np.asarray(posix_seconds, dtype=np.float64))
    julian = times / 86400.0 + _POSIX_EPOCH_JD
    whole = np.floor(julian)
    errors, teme_km, _ = satrec.sgp4_array(whole, julian - whole)
    teme = np.asarray(teme_km, dtype=np.float64) * 1000.0
    angle = _gmst_rad(times)
    cos, sin = np.cos(angle), np.sin(angle)
    ecef = np.stack(
        [cos * teme[:, 0] + sin * teme[:, 1], -sin * teme[:, 0] + cos * teme[:, 1], teme[:, 2]],
        axis=-1,
    )
    ecef[np.asarray(errors) != 0] = np.nan
    return ecef


def elevation_deg(satrec: Satrec, frame: LocalFrame, posix_seconds: FloatArray) -> FloatArray:
    enu = frame.ecef_to_enu(satellite_ecef_m(satrec, posix_seconds))
    return np.degrees(np.arctan2(enu[:, 2], np.hypot(enu[:, 0], enu[:, 1])))


def sub_satellite_point(satrec: Satrec, time: datetime) -> GeoPoint:
    ecef = satellite_ecef_m(satrec, np.array([time.timestamp()]))[0]
    lat, lon, height = ecef_to_geodetic(ecef[0], ecef[1], ecef[2])
    return GeoPoint(lat_deg=float(lat), lon_deg=float(lon), height_m=float(height))


ScalarFunction = Callable[[float], float]
ArrayFunction = Callable[[FloatArray], FloatArray]


def _bisect(
    margin: ScalarFunction, low: float, high: float, rising: bool, tolerance_s: float = 1e-3
) -> float:
    """The time in [low, high] where ``margin`` changes sign (positive = covered)."""
    while high - low > tolerance_s:
        middle = 0.5 * (low + high)
        covered = margin(middle) > 0.0
        if covered == rising:
            high = middle
        else:
            low = middle
    return 0.5 * (low + high)


def passes_over_point(
    satellite: SatelliteElements,
    point: GeoPoint,
    start: datetime,
    end: datetime,
    min_elevation_deg: float = 0.0,
    step_s: float = 30.0,
) -> list[Pass]:
    """Every window in [start, end] when the satellite is above ``min_elevation_deg``."""
    frame = LocalFrame(point.lat_deg, point.lon_deg, point.height_m)
    return _passes(
        satellite,
        lambda t: elevation_deg(satellite.satrec, frame, t) - min_elevation_deg,
        start,
        end,
        step_s,
        min_elevation_deg,
    )


def _passes(
    satellite: SatelliteElements,
    margin: ArrayFunction,
    start: datetime,
    end: datetime,
    step_s: float,
    min_elevation_deg: float,
) -> list[Pass]:
    """Windows where ``margin`` (elevation above the minimum, vectorized) is positive."""
    if end <= start:
        raise ValueError(f"end {end.isoformat()} must be after start {start.isoformat()}")
    begin, finish = start.timestamp(), end.timestamp()
    grid = np.append(np.arange(begin, finish, step_s), finish)
    values = np.nan_to_num(margin(grid), nan=-90.0)

    def at(t: float) -> float:
        return float(np.nan_to_num(margin(np.array([t])), nan=-90.0)[0])

    above = values > 0.0
    windows: list[Pass] = []
    index = 0
    while index < len(grid):
        if not above[index]:
            index += 1
            continue
        first = index
        while index < len(grid) and above[index]:
            index += 1
        last = index - 1
        rise = grid[0] if first == 0 else _bisect(at, grid[first - 1], grid[first], rising=True)
        setting = (
            grid[-1]
            if last == len(grid) - 1
            else _bisect(at, grid[last], grid[last + 1], rising=False)
        )
        peak_time, peak = _maximum(at, rise, setting)
        windows.append(
            Pass(
                satellite=satellite.name,
                rise=datetime.fromtimestamp(rise, tz=UTC),
                culmination=datetime.fromtimestamp(peak_time, tz=UTC),
                set=datetime.fromtimestamp(setting, tz=UTC),
                max_elevation_deg=peak + min_elevation_deg,
            )
        )
    return windows


def _maximum(evaluate: ScalarFunction, low: float, high: float) -> tuple[float, float]:
    """Golden-section search for the culmination (elevation is unimodal within a pass)."""
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = low, high
    while b - a > 1e-2:
        c, d = b - ratio * (b - a), a + ratio * (b - a)
        if evaluate(c) > evaluate(d):
            b = d
        else:
            a = c
    middle = 0.5 * (a + b)
    return middle, float(evaluate(middle))


@dataclass(frozen=True)
class Zone:
    """An area on the ground: sample points (polygon vertices and centre, or a circle)."""

    name: str
    points: tuple[GeoPoint, ...]

    @classmethod
    def circle(cls, name: str, centre: GeoPoint, radius_km: float, samples: int = 8) -> Zone:
        if radius_km < 0 or not math.isfinite(radius_km):
            raise ValueError(f"zone radius must be a non-negative number of km, got {radius_km}")
        frame = LocalFrame(centre.lat_deg, centre.lon_deg, centre.height_m)
        angles = np.linspace(0.0, 2 * math.pi, samples, endpoint=False)
        enu = np.stack(
            [radius_km * 1000 * np.sin(angles), radius_km * 1000 * np.cos(angles), 0 * angles],
            axis=-1,
        )
        lat, lon, _ = frame.enu_to_geodetic(enu)
        ring = tuple(
            GeoPoint(lat_deg=float(a), lon_deg=float(o)) for a, o in zip(lat, lon, strict=True)
        )
        return cls(name, (centre, *ring) if radius_km > 0 else (centre,))

    @classmethod
    def polygon(cls, name: str, corners: Sequence[GeoPoint]) -> Zone:
        if len(corners) < 3:
            raise ValueError(f"a zone polygon needs at least 3 corners, got {len(corners)}")
        centre = GeoPoint(
            lat_deg=sum(c.lat_deg for c in corners) / len(corners),
            lon_deg=sum(c.lon_deg for c in corners) / len(corners),
        )
        return cls(name, (centre, *corners))


def coverage_windows(
    satellites: Iterable[SatelliteElements],
    zone: Zone,
    start: datetime,
    end: datetime,
    min_elevation_deg: float = 10.0,
    step_s: float = 30.0,
) -> list[Pass]:
    """Windows when each satellite sees at least one point of the zone, sorted by rise."""
    frames = [LocalFrame(p.lat_deg, p.lon_deg, p.height_m) for p in zone.points]
    windows: list[Pass] = []
    for satellite in satellites:

        def margin(t: FloatArray, satellite: SatelliteElements = satellite) -> FloatArray:
            best = np.max([elevation_deg(satellite.satrec, frame, t) for frame in frames], axis=0)
            return np.asarray(best - min_elevation_deg, dtype=np.float64)

        windows.extend(_passes(satellite, margin, start, end, step_s, min_elevation_deg))
    return sorted(windows, key=lambda item: item.rise)


def overflight_warnings(
    windows: Iterable[Pass],
    zone: Zone,
    adversary: Iterable[str],
    source_id: str = "space-watch",
    releasability: str = "NATO",
) -> list[Event]:
    """An observation event for each pass of an adversary reconnaissance satellite."""
    hostile = {name.strip().upper() for name in adversary}
    events = []
    for window in windows:
        if window.satellite.strip().upper() not in hostile:
            continue
        minutes = (window.set - window.rise) / timedelta(minutes=1)
        events.append(
            Event(
                event_id=f"overflight:{window.satellite}:{window.rise.isoformat()}",
                time=window.rise,
                source_id=source_id,
                kind=EventKind.OBSERVATION,
                severity=6,
                summary=(
                    f"reconnaissance satellite {window.satellite} over {zone.name} from "
                    f"{window.rise:%H:%M:%S} to {window.set:%H:%M:%S} UTC ({minutes:.1f} min, "
                    f"max elevation {window.max_elevation_deg:.0f} deg)"
                ),
                position=zone.points[0],
                subject_id=window.satellite,
                attributes={
                    "warning": "reconnaissance_overflight",
                    "zone": zone.name,
                    "rise": window.rise.isoformat(),
                    "culmination": window.culmination.isoformat(),
                    "set": window.set.isoformat(),
                    "max_elevation_deg": f"{window.max_elevation_deg:.1f}",
                },
                releasability=releasability,
            )
        )
    return events
