"""Real recorded flights (tests/golden/trajectories) as classifier histories.

The files are OpenSky-derived ADS-B trajectories shipped as samples by the MIT-licensed
`traffic` package: speeds in knots, altitudes in feet, vertical rates in ft/min.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np

from hotzone.assess.features import KinematicHistory
from hotzone.geo import LocalFrame
from hotzone.types import TargetClass

FOLDER = Path(__file__).resolve().parents[1] / "golden" / "trajectories"
KNOT_MPS = 0.514444
FOOT_M = 0.3048
WINDOW_S = 600.0

FLIGHT_CLASSES: dict[str, TargetClass] = {
    "dreamliner_boeing": TargetClass.AIRLINER,
    "elal747": TargetClass.AIRLINER,
    "qantas747": TargetClass.AIRLINER,
    "rega_sg": TargetClass.HELICOPTER,
    "rega_zh": TargetClass.HELICOPTER,
    "samu31": TargetClass.HELICOPTER,
    "alpi_italiane": TargetClass.LIGHT_AIRCRAFT,
    "alto_adige": TargetClass.LIGHT_AIRCRAFT,
    "cevennes": TargetClass.LIGHT_AIRCRAFT,
    "danube_valley": TargetClass.LIGHT_AIRCRAFT,
    "franconia": TargetClass.LIGHT_AIRCRAFT,
    "luberon": TargetClass.LIGHT_AIRCRAFT,
    "oxford_cambridge": TargetClass.LIGHT_AIRCRAFT,
    "sisteron": TargetClass.LIGHT_AIRCRAFT,
}


def flight_windows(name: str, window_s: float = WINDOW_S) -> list[KinematicHistory]:
    """The airborne parts of one recorded flight cut into windows of ``window_s``."""
    with gzip.open(FOLDER / f"{name}.json.gz", "rt", encoding="utf-8") as stream:
        records = json.load(stream)
    rows = [
        r
        for r in records
        if all(
            r.get(k) is not None
            for k in ("latitude", "longitude", "altitude", "groundspeed", "track")
        )
        and not r.get("onground")
    ]
    times = np.array([r["timestamp"] / 1000.0 for r in rows])
    order = np.argsort(times, kind="stable")
    rows = [rows[i] for i in order]
    times = times[order]
    lat = np.array([r["latitude"] for r in rows])
    lon = np.array([r["longitude"] for r in rows])
    height = np.array([r["altitude"] for r in rows]) * FOOT_M
    speed = np.array([r["groundspeed"] for r in rows]) * KNOT_MPS
    track = np.radians([r["track"] for r in rows])
    vertical = np.array([r.get("vertical_rate") or 0.0 for r in rows]) * FOOT_M / 60.0
    frame = LocalFrame(float(lat[0]), float(lon[0]), 0.0)
    position = frame.geodetic_to_enu(lat, lon, height)
    velocity = np.stack([speed * np.sin(track), speed * np.cos(track), vertical], axis=1)
    windows = []
    start = times[0]
    while start < times[-1]:
        inside = (times >= start) & (times < start + window_s)
        if inside.sum() >= 10:
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
