"""Real recorded aircraft, with a known type, as the classifier sees them.

No registry package reachable here ships real trajectories of light aircraft or
helicopters other than the `traffic` package's samples, which are reserved as the
reviewers' independent check and used nowhere in hotzone (docs/assess.md, "Real
trajectories"). What there is, both airliners:

- `tests/golden/adsb/pymodes_sample_data_adsb.csv` (pyModeS 2.19, GPL-3.0): 2,000 Mode S
  extended squitters of 406B90 over 12 minutes; its identification messages give callsign
  EZY85MH (easyJet, an airline) and no emitter category (category 0). Decoded with pyModeS
  (a test dependency), written as the SBS lines a BaseStation feed carries (``MSG,3``
  positions, ``MSG,4`` velocities) and tracked by hotzone's tracker, as `hotzone track
  --from sbs` does; optionally thinned to a fringe feed (a position at most every 10 s).
- `tests/golden/adsb/openap_flight_a319_opensky.csv` (openap 2.6.2's sdist,
  `examples/data/flight_a319_opensky.csv`, LGPL-3.0): an Air France A319 (typecode a319)
  from OpenSky, one state a minute for two hours. Read directly (speed in knots, altitude
  in feet, vertical rate in ft/min, track in degrees).

Both are test data only (GPL/LGPL), never read by `src/`.
"""

from __future__ import annotations

import csv
import gzip
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import numpy as np

from hotzone.assess.features import KinematicHistory
from hotzone.assess.history import TrackHistories
from hotzone.fusion.stage import TrackingStage, default_tracker
from hotzone.geo import LocalFrame
from hotzone.ingest.sbs import SbsDecoder
from hotzone.runtime.windows import ReplaySummary, track_stream
from hotzone.types import Report, TargetClass, Track

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "adsb"
PYMODES_SAMPLE = GOLDEN / "pymodes_sample_data_adsb.csv"
OPENAP_A319 = GOLDEN / "openap_flight_a319_opensky.csv"
KLM1302 = GOLDEN.parent / "adsb_klm1302" / "klm1302_486257.csv.gz"
KLM1302_SURFACE = GOLDEN.parent / "adsb_klm1302" / "klm1302_486257_surface.csv.gz"
KLM1302_TOUCHDOWN_S = 1698147494.674
"""KLM1302's first surface position at Amsterdam (its transponder's ground bit set, at
34 kt): the end of its landing roll in airborne positions."""
KLM1302_LIFT_OFF_S = 1698142244.746
"""KLM1302's first airborne position at Toulouse."""
KNOT_MPS = 1852.0 / 3600.0
FOOT_M = 0.3048
WINDOW_S = 600.0
"""The assessment stage's history window."""
START = datetime(2016, 3, 14, 23, 0, tzinfo=UTC)


def _stamp(moment: datetime) -> str:
    return f"{moment:%Y/%m/%d},{moment:%H:%M:%S}.{moment.microsecond // 1000:03d}"


def pymodes_sbs_lines(min_position_interval_s: float = 0.0) -> list[str]:
    """The pyModeS sample aircraft as SBS lines at their recorded times; with
    ``min_position_interval_s`` > 0, a fringe feed: one position in that time and velocity
    lines only between them."""
    from pyModeS import decode as modes_decode  # a test dependency

    with PYMODES_SAMPLE.open() as lines:
        rows = list(csv.reader(lines))
    times = [float(row[0]) for row in rows]
    decoded = modes_decode([row[1] for row in rows], timestamps=times)
    lines_out: list[str] = []
    last_position = last_velocity = -float("inf")
    for time_s, message in zip(times, decoded, strict=True):
        if not message or not message.get("crc_valid"):
            continue
        moment = datetime.fromtimestamp(time_s, tz=UTC)
        stamp, icao = _stamp(moment), message["icao"]
        if message.get("callsign"):
            lines_out.append(f"MSG,1,1,1,{icao},1,{stamp},{stamp},{message['callsign']},,,,,,,,,,,")
        elif message.get("latitude") is not None and message.get("altitude") is not None:
            if time_s - last_position < min_position_interval_s:
                continue
            last_position = time_s
            lines_out.append(
                f"MSG,3,1,1,{icao},1,{stamp},{stamp},,{message['altitude']},,,"
                f"{message['latitude']:.5f},{message['longitude']:.5f},,,0,0,0,0"
            )
        elif message.get("groundspeed") is not None:
            if time_s - last_velocity < min_position_interval_s:
                continue
            last_velocity = time_s
            lines_out.append(
                f"MSG,4,1,1,{icao},1,{stamp},{stamp},,,{message['groundspeed']},"
                f"{message['track']:.1f},,,{message['vertical_rate']},,0,0,0,0"
            )
    return lines_out


def tracked(lines: list[str], frame: LocalFrame, window_s: float = 1.0) -> list[Track]:
    """Confirmed tracks of an SBS capture, as `hotzone track FILE --from sbs` makes them."""
    decoder = SbsDecoder()
    received = datetime(2030, 1, 1, tzinfo=UTC)
    result = decoder.feed(("\n".join(lines) + "\n").encode(), received)
    result.extend(decoder.flush(received))
    messages = sorted(
        (
            msgspec.structs.replace(m, received_at=None)
            for m in result.messages
            if isinstance(m, Report)
        ),
        key=lambda m: m.time,
    )
    stage = TrackingStage(frame=frame, tracker=default_tracker(), confirmed_only=True)
    summary = ReplaySummary()
    return [
        track for tracks in track_stream(messages, stage, window_s, summary) for track in tracks
    ]


def last_histories(tracks: list[Track]) -> dict[str, KinematicHistory]:
    """Each track's history at its last state, as the assessment stage holds it."""
    histories = TrackHistories(WINDOW_S)
    for track in tracks:
        histories.add(track)
    return {track_id: histories.kinematic(record) for track_id, record in histories.records.items()}


def pymodes_histories(min_position_interval_s: float = 0.0) -> dict[str, KinematicHistory]:
    """406B90 through the tracker; track id -> its last 10-minute history."""
    frame = LocalFrame(52.2, 3.9, 0.0)  # near the sample's positions (North Sea)
    return last_histories(tracked(pymodes_sbs_lines(min_position_interval_s), frame))


def openap_a319_windows(window_s: float = WINDOW_S) -> list[KinematicHistory]:
    """The A319 flight cut into consecutive windows of ``window_s``."""
    with OPENAP_A319.open() as stream:
        rows = list(csv.DictReader(stream))
    times = np.array([datetime.fromisoformat(r["timestamp"]).timestamp() for r in rows])
    lat = np.array([float(r["latitude"]) for r in rows])
    lon = np.array([float(r["longitude"]) for r in rows])
    return windowed_histories(
        times,
        lat,
        lon,
        np.array([float(r["altitude"]) for r in rows]),
        np.array([float(r["groundspeed"]) for r in rows]),
        np.array([float(r["track"]) for r in rows]),
        np.array([float(r["vertical_rate"] or 0.0) for r in rows]),
        window_s,
    )


def klm1302_windows(
    min_interval_s: float = 10.0, window_s: float = WINDOW_S
) -> list[KinematicHistory]:
    """KLM1302 (486257, Toulouse to Amsterdam, rs1090's ``long_flight.csv``;
    tests/golden/adsb_klm1302/SOURCE.md) as a fringe feed: one airborne position with its
    velocity at most every ``min_interval_s``, cut into consecutive windows of
    ``window_s``, read directly as openap's A319 is."""
    with gzip.open(KLM1302, "rt") as stream:
        rows = list(csv.DictReader(stream))
    kept, last = [], -float("inf")
    for row in rows:
        if float(row["time"]) - last >= min_interval_s:
            kept.append(row)
            last = float(row["time"])

    def column(name: str) -> np.ndarray:
        return np.array([float(r[name]) for r in kept], dtype=np.float64)

    return windowed_histories(
        column("time"),
        column("latitude"),
        column("longitude"),
        column("altitude_ft"),
        column("groundspeed_kt"),
        column("track_deg"),
        column("vertical_rate_fpm"),
        window_s,
    )


def klm1302_sbs_lines(
    start_s: float, end_s: float, min_position_interval_s: float = 10.0
) -> list[str]:
    """KLM1302 between ``start_s`` and ``end_s`` as the SBS lines a BaseStation feed
    (dump1090, readsb) writes for it: each airborne position (type codes 9-18) as an
    ``MSG,4`` velocity and an ``MSG,3`` position with "is on ground" 0, each surface
    position (type codes 5-8, the transponder's ground bit set) as an ``MSG,2`` with its
    speed and track and "is on ground" -1; a position at most every
    ``min_position_interval_s`` of each kind (a fringe feed)."""
    rows: list[tuple[float, str]] = []
    for path, kind in ((KLM1302, "3"), (KLM1302_SURFACE, "2")):
        with gzip.open(path, "rt") as stream:
            last = -float("inf")
            for row in csv.DictReader(stream):
                time_s = float(row["time"])
                if not start_s <= time_s < end_s or time_s - last < min_position_interval_s:
                    continue
                last = time_s
                stamp = _stamp(datetime.fromtimestamp(time_s, tz=UTC))
                head = f"1,1,486257,1,{stamp},{stamp},"
                place = f"{row['latitude']},{row['longitude']}"
                speed = f"{row['groundspeed_kt']},{row['track_deg']}"
                if kind == "2":
                    rows.append((time_s, f"MSG,2,{head},,{speed},{place},,,0,0,0,-1"))
                    continue
                rows.append((time_s, f"MSG,4,{head},,{speed},,,{row['vertical_rate_fpm']},,0,0,0,"))
                rows.append((time_s, f"MSG,3,{head},{row['altitude_ft']},,,{place},,,0,0,0,0"))
    rows.sort(key=lambda item: item[0])
    stamp = _stamp(datetime.fromtimestamp(rows[0][0], tz=UTC))
    identification = f"MSG,1,1,1,486257,1,{stamp},{stamp},KLM1302,,,,,,,,,,,"
    return [identification, *(line for _, line in rows)]


def histories_every(
    tracks: list[Track], step_s: float = WINDOW_S
) -> list[tuple[str, float, KinematicHistory]]:
    """Each track's history as the assessment stage holds it every ``step_s`` of the
    tracks' time and at the track's last state: (track id, time, history)."""
    histories = TrackHistories(WINDOW_S)
    taken: list[tuple[str, float, KinematicHistory]] = []
    next_at: dict[str, float] = {}
    for track in tracks:
        record = histories.add(track)
        time_s = track.time.timestamp()
        due = next_at.setdefault(track.track_id, time_s + step_s)
        if time_s >= due:
            taken.append((track.track_id, time_s, histories.kinematic(record)))
            next_at[track.track_id] = due + step_s
    for track_id, record in histories.records.items():
        taken.append((track_id, record.states[-1][0], histories.kinematic(record)))
    return taken


def windowed_histories(
    times: np.ndarray,
    lat: np.ndarray,
    lon: np.ndarray,
    height_ft: np.ndarray,
    speed_kt: np.ndarray,
    track_deg: np.ndarray,
    vertical_fpm: np.ndarray,
    window_s: float = WINDOW_S,
) -> list[KinematicHistory]:
    """A recorded flight (ADS-B units) cut into consecutive windows of ``window_s`` with
    at least 3 states each, as the assessment's history holds them."""
    height = height_ft * FOOT_M
    speed = speed_kt * KNOT_MPS
    track = np.radians(track_deg)
    vertical = vertical_fpm * FOOT_M / 60.0
    frame = LocalFrame(float(lat[0]), float(lon[0]), 0.0)
    position = frame.geodetic_to_enu(lat, lon, height)
    velocity = np.stack([speed * np.sin(track), speed * np.cos(track), vertical], axis=1)
    windows = []
    start = times[0]
    while start < times[-1]:
        inside = (times >= start) & (times < start + window_s)
        if inside.sum() >= 3:
            windows.append(
                KinematicHistory(
                    times_s=times[inside],
                    enu_position_m=position[inside],
                    enu_velocity_mps=velocity[inside],
                    height_m=height[inside],
                    has_icao24=True,
                    has_callsign=True,
                )
            )
        start += window_s
    return windows


REAL_AIRCRAFT: dict[str, TargetClass] = {
    "406b90 (pyModeS, EZY85MH)": TargetClass.AIRLINER,
    "3946e9 (openap, AFR91HL A319)": TargetClass.AIRLINER,
    "486257 (rs1090, KLM1302)": TargetClass.AIRLINER,
}
"""The real aircraft available and their known type."""

__all__ = [
    "REAL_AIRCRAFT",
    "histories_every",
    "klm1302_sbs_lines",
    "klm1302_windows",
    "last_histories",
    "openap_a319_windows",
    "pymodes_histories",
    "pymodes_sbs_lines",
    "tracked",
]
