"""Recent history of every track, built from the `Track` messages the fusion stage emits."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from hotzone.assess.features import KinematicHistory
from hotzone.types import GeoPoint, Track


@dataclass
class TrackRecord:
    """What is remembered of one track: its recent states and what it ever claimed."""

    track_id: str
    first_position: GeoPoint
    first_time_s: float
    states: deque[tuple[float, float, float, float, float, float, float, float, float, float]] = (
        field(default_factory=deque)
    )
    """(time, e, n, u, ve, vn, vu, height, lat, lon) oldest first."""
    latest: Track | None = None
    icao24: str | None = None
    callsign: str | None = None
    mmsi: int | None = None
    rcs_dbsm: deque[float] = field(default_factory=lambda: deque(maxlen=50))

    @property
    def samples(self) -> int:
        return len(self.states)


class TrackHistories:
    """Per-track sliding windows of fused states (``window_s`` long)."""

    def __init__(self, window_s: float = 600.0) -> None:
        if not window_s > 0.0:
            raise ValueError(f"history window must be positive, got {window_s}")
        self.window_s = window_s
        self.records: dict[str, TrackRecord] = {}

    def add(self, track: Track) -> TrackRecord:
        time_s = track.time.timestamp()
        record = self.records.get(track.track_id)
        if record is None:
            record = TrackRecord(track.track_id, track.position, time_s)
            self.records[track.track_id] = record
        if record.states and time_s <= record.states[-1][0]:
            record.latest = track
            return record  # an update out of order or repeated: keep the newest only
        record.states.append(
            (
                time_s,
                *track.enu_position_m,
                *track.enu_velocity_mps,
                track.position.height_m,
                track.position.lat_deg,
                track.position.lon_deg,
            )
        )
        while record.states and record.states[0][0] < time_s - self.window_s:
            record.states.popleft()
        record.latest = track
        record.icao24 = track.icao24 or record.icao24
        record.callsign = track.callsign or record.callsign
        record.mmsi = track.mmsi or record.mmsi
        return record

    def remove(self, track_id: str) -> None:
        self.records.pop(track_id, None)

    def kinematic(self, record: TrackRecord) -> KinematicHistory:
        states = np.array(record.states, dtype=np.float64).reshape(-1, 10)
        return KinematicHistory(
            times_s=states[:, 0],
            enu_position_m=states[:, 1:4],
            enu_velocity_mps=states[:, 4:7],
            height_m=states[:, 7],
            rcs_dbsm=np.array(record.rcs_dbsm, dtype=np.float64),
            has_icao24=record.icao24 is not None,
            has_callsign=record.callsign is not None,
            has_mmsi=record.mmsi is not None,
        )
