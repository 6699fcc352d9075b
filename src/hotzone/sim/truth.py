"""The true state of every simulated object at one instant, as arrays."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from hotzone.types import StandardIdentity, TargetClass
from hotzone.types.arrays import BoolArray, FloatArray


@dataclass(frozen=True)
class TruthBatch:
    """All objects that exist at ``time``; row i of every array is object i.

    Positions are given both in the scenario's ENU frame and as WGS-84 / ECEF, so each
    sensor can work in whichever frame its model needs without converting again.
    """

    time: datetime
    target_ids: tuple[str, ...]
    target_class: tuple[TargetClass, ...]
    affiliation: tuple[StandardIdentity, ...]
    enu_position_m: FloatArray  # (N, 3) in the scenario frame
    enu_velocity_mps: FloatArray  # (N, 3) in the scenario frame
    lat_deg: FloatArray  # (N,)
    lon_deg: FloatArray  # (N,)
    height_m: FloatArray  # (N,) above the WGS-84 ellipsoid
    ecef_m: FloatArray  # (N, 3)
    velocity_ecef_mps: FloatArray  # (N, 3)
    rcs_dbsm: FloatArray  # (N,)
    transponder_on: BoolArray  # (N,)
    icao24: tuple[str | None, ...]
    callsign: tuple[str | None, ...]
    mmsi: tuple[int | None, ...]

    @property
    def size(self) -> int:
        return len(self.target_ids)

    @property
    def posix_time(self) -> float:
        return self.time.timestamp()


def empty_float(shape: tuple[int, ...]) -> FloatArray:
    return np.zeros(shape, dtype=np.float64)
