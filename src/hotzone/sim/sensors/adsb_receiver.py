"""ADS-B 1090ES ground receiver: airborne position reports with their quality indicators.

Each transponding aircraft (``transponder_on`` and an ICAO 24-bit address) in range and
radio line of sight sends a position about every ``update_interval_s`` (real aircraft
squit positions at 2 Hz; receivers usually forward about 1 Hz), with its own phase,
jitter and random loss. Report times are the transmission times; the position is the truth
moved on in a straight line to that instant (less than one tick) plus GNSS error.

Horizontal error is Gaussian with a per-axis sigma of EPU/2.448, so 95 % of errors fall
inside the Estimated Position Uncertainty bound of the reported NACp. Inside an active
`JammingArea` the GNSS solution degrades with ``strength`` and closeness to its centre:
``degradation = strength * (1 - distance / radius)``; NIC and NACp drop by that fraction
of their nominal values and the error grows to match the degraded NACp.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import numpy as np

from hotzone.sim.sensors.base import GriddedSensorModel, JammingArea, SensorContext, SensorOutput
from hotzone.sim.sensors.common import (
    IndexArray,
    above_radio_horizon,
    geo_point,
    local_enu_velocity,
    local_geometry,
    offset_geodetic,
    surface_distance_m,
    transmitting,
    utc_from_posix,
)
from hotzone.sim.sensors.config import AdsbReceiverConfig
from hotzone.sim.sensors.schedule import TransmitterSchedule
from hotzone.sim.truth import TruthBatch
from hotzone.types import Report, ReportSource, TargetClass
from hotzone.types.arrays import FloatArray

# Estimated Position Uncertainty (95 % horizontal radius, m) per NACp (DO-260B 2.2.3.2.7.2.6).
# NACp 0 is "unknown or >= 10 NM": it is given twice the 10 NM bound.
NACP_EPU_M: tuple[float, ...] = (
    37_040.0,
    18_520.0,
    7_408.0,
    3_704.0,
    1_852.0,
    926.0,
    555.6,
    185.2,
    92.6,
    30.0,
    10.0,
    3.0,
)
CIRCULAR_95_PERCENT_FACTOR = 2.4477  # sqrt(-2 ln 0.05): 95 % radius / per-axis sigma

# ADS-B emitter categories tell the receiver what kind of aircraft sends.
EMITTER_CATEGORY_CLASSES = frozenset(
    {
        TargetClass.AIRLINER,
        TargetClass.LIGHT_AIRCRAFT,
        TargetClass.HELICOPTER,
        TargetClass.SMALL_UAV,
    }
)


def nacp_sigma_m(nacp: FloatArray) -> FloatArray:
    """Per-axis horizontal sigma consistent with each NACp category."""
    table = np.asarray(NACP_EPU_M, dtype=np.float64)
    sigma: FloatArray = table[np.clip(nacp.astype(np.int64), 0, 11)] / CIRCULAR_95_PERCENT_FACTOR
    return sigma


def jamming_degradation(
    lat_deg: FloatArray, lon_deg: FloatArray, areas: Sequence[JammingArea], posix_time: float
) -> FloatArray:
    """0 (clean) .. 1 (denied) at each position: the worst active area wins."""
    degradation = np.zeros(np.shape(lat_deg), dtype=np.float64)
    for area in areas:
        if not area.start.timestamp() <= posix_time < area.end.timestamp():
            continue
        distance = surface_distance_m(lat_deg, lon_deg, area.center.lat_deg, area.center.lon_deg)
        closeness = np.clip(1.0 - distance / area.radius_m, 0.0, 1.0)
        degradation = np.maximum(degradation, np.clip(area.strength, 0.0, 1.0) * closeness)
    return degradation


class AdsbReceiverModel(GriddedSensorModel):
    """ADS-B position reports with NIC/NACp/SIL, degraded inside GNSS jamming."""

    def __init__(self, config: AdsbReceiverConfig, context: SensorContext) -> None:
        super().__init__(config, context, config.update_interval_s)
        self.config = config
        self.jamming_areas = context.jamming_areas
        self._schedule = TransmitterSchedule()

    def observe(self, truth: TruthBatch, rng: np.random.Generator) -> Sequence[SensorOutput]:
        config = self.config
        geometry = local_geometry(self.site.frame, truth)
        transponding = transmitting(truth.transponder_on, truth.icao24)
        heard = np.flatnonzero(
            transponding
            & (geometry.range_m <= config.max_range_m)
            & above_radio_horizon(config.height_m, truth.height_m, geometry.ground_range_m)
        )
        now = truth.posix_time
        keys = [truth.icao24[i] for i in heard]
        transmissions = self._schedule.due(
            keys,
            np.full(heard.size, config.update_interval_s),
            now,
            np.full(heard.size, config.interval_jitter_s),
            rng,
        )
        if not transmissions:
            return []
        rows = heard[np.array([row for row, _ in transmissions], dtype=np.int64)]
        times = np.array([time for _, time in transmissions], dtype=np.float64)
        kept = rng.random(rows.size) >= config.loss_probability
        rows, times = rows[kept], times[kept]
        return self._reports(truth, rows, times, rng)

    def _reports(
        self, truth: TruthBatch, rows: IndexArray, times: FloatArray, rng: np.random.Generator
    ) -> list[SensorOutput]:
        config = self.config
        count = rows.size
        velocity = local_enu_velocity(
            truth.lat_deg[rows], truth.lon_deg[rows], truth.velocity_ecef_mps[rows].reshape(-1, 3)
        )
        lead = times - truth.posix_time  # <= 0: back to the transmission instant
        true_lat, true_lon = offset_geodetic(
            truth.lat_deg[rows],
            truth.lon_deg[rows],
            velocity[:, 0] * lead,
            velocity[:, 1] * lead,
        )
        true_height = truth.height_m[rows] + velocity[:, 2] * lead
        degradation = jamming_degradation(true_lat, true_lon, self.jamming_areas, truth.posix_time)
        nacp = np.round(config.nacp * (1.0 - degradation))
        nic = np.round(config.nic * (1.0 - degradation))
        sigma = nacp_sigma_m(nacp)
        lat, lon = offset_geodetic(
            true_lat,
            true_lon,
            rng.normal(0.0, 1.0, count) * sigma,
            rng.normal(0.0, 1.0, count) * sigma,
        )
        height = true_height + rng.normal(0.0, config.vertical_sigma_m, count)
        reports: list[SensorOutput] = []
        for k in np.argsort(times, kind="stable"):
            row = int(rows[k])
            time = utc_from_posix(times[k])
            target_class = truth.target_class[row]
            reports.append(
                Report(
                    report_id=self.site.next_id(),
                    time=time,
                    source_id=self.sensor_id,
                    source=ReportSource.ADSB,
                    position=geo_point(lat[k], lon[k], height[k]),
                    horizontal_sigma_m=float(sigma[k]),
                    vertical_sigma_m=config.vertical_sigma_m,
                    velocity_enu_mps=(
                        float(velocity[k, 0]),
                        float(velocity[k, 1]),
                        float(velocity[k, 2]),
                    ),
                    icao24=truth.icao24[row],
                    callsign=truth.callsign[row],
                    nic=int(nic[k]),
                    nacp=int(nacp[k]),
                    sil=config.sil,
                    class_hint=target_class if target_class in EMITTER_CATEGORY_CLASSES else None,
                    sector=self.site.sector,
                    received_at=time + timedelta(seconds=config.latency_s),
                    releasability=self.site.releasability,
                )
            )
        return reports
