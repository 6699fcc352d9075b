"""Build ground truth and contexts directly, so sensor tests need no scenario engine."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
from numpy.typing import ArrayLike

from hotzone.geo import LocalFrame, polar_to_enu
from hotzone.sim.sensors import CyberAttack, JammingArea, SensorContext
from hotzone.sim.truth import TruthBatch
from hotzone.types import GeoPoint, StandardIdentity, TargetClass

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
END = datetime(2026, 3, 1, 14, 0, tzinfo=UTC)
SITE_LAT_DEG = 52.0
SITE_LON_DEG = 21.0
SITE_FRAME = LocalFrame(SITE_LAT_DEG, SITE_LON_DEG, 0.0)


def make_context(
    *,
    start: datetime = START,
    end: datetime = END,
    sector: str = "east-1",
    releasability: str = "REL PL LT",
    jamming_areas: tuple[JammingArea, ...] = (),
    cyber_attacks: tuple[CyberAttack, ...] = (),
    sensor_sites: dict[str, GeoPoint] | None = None,
) -> SensorContext:
    return SensorContext(
        scenario_name="sensor-test",
        start=start,
        end=end,
        frame=SITE_FRAME,
        sector=sector,
        releasability=releasability,
        jamming_areas=jamming_areas,
        cyber_attacks=cyber_attacks,
        sensor_sites=sensor_sites or {},
    )


def make_truth(
    enu_m: ArrayLike,
    *,
    time: datetime = START,
    velocity_enu_mps: ArrayLike | None = None,
    frame: LocalFrame = SITE_FRAME,
    target_class: TargetClass | Sequence[TargetClass] = TargetClass.AIRLINER,
    rcs_dbsm: float | ArrayLike = 0.0,
    transponder_on: bool | Sequence[bool] = False,
    icao24: Sequence[str | None] | None = None,
    mmsi: Sequence[int | None] | None = None,
    ids: Sequence[str] | None = None,
) -> TruthBatch:
    """Objects at ENU positions (and velocities) of ``frame``, as the engine would give them."""
    enu = np.asarray(enu_m, dtype=np.float64).reshape(-1, 3)
    count = enu.shape[0]
    velocity = (
        np.zeros((count, 3))
        if velocity_enu_mps is None
        else np.broadcast_to(np.asarray(velocity_enu_mps, dtype=np.float64), (count, 3)).copy()
    )
    lat, lon, height = frame.enu_to_geodetic(enu)
    classes = (
        (target_class,) * count if isinstance(target_class, TargetClass) else tuple(target_class)
    )
    transponders = np.broadcast_to(np.asarray(transponder_on, dtype=np.bool_), (count,)).copy()
    return TruthBatch(
        time=time,
        target_ids=tuple(ids) if ids is not None else tuple(f"t{i}" for i in range(count)),
        target_class=classes,
        affiliation=(StandardIdentity.UNKNOWN,) * count,
        enu_position_m=enu,
        enu_velocity_mps=velocity,
        lat_deg=np.atleast_1d(lat),
        lon_deg=np.atleast_1d(lon),
        height_m=np.atleast_1d(height),
        ecef_m=frame.enu_to_ecef(enu),
        velocity_ecef_mps=velocity @ frame.rotation,
        rcs_dbsm=np.broadcast_to(np.asarray(rcs_dbsm, dtype=np.float64), (count,)).copy(),
        transponder_on=transponders,
        icao24=tuple(icao24) if icao24 is not None else (None,) * count,
        callsign=(None,) * count,
        mmsi=tuple(mmsi) if mmsi is not None else (None,) * count,
    )


def at_polar(range_m: ArrayLike, azimuth_deg: ArrayLike, elevation_deg: ArrayLike) -> np.ndarray:
    """ENU positions (N, 3) at polar coordinates from the site."""
    return np.atleast_2d(polar_to_enu(range_m, azimuth_deg, elevation_deg))


def signed_difference_deg(angle: ArrayLike, reference: ArrayLike) -> np.ndarray:
    return (np.asarray(angle) - np.asarray(reference) + 180.0) % 360.0 - 180.0
