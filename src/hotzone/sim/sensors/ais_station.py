"""AIS shore station: class A position reports of vessels in VHF range.

Vessels with an MMSI and their transponder on report at the ITU-R M.1371 class A rates,
chosen by speed over ground: every 3 minutes when anchored or barely moving, 10 s up to
14 kn, 6 s up to 23 kn, 2 s above (course-change rates are not modelled). Each vessel has
its own phase and a small jitter; some messages are lost (slot collisions). A vessel
with its transponder off sends nothing. Times are the transmission times; positions the
truth moved to that instant plus GNSS noise.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import numpy as np

from hotzone.sim.sensors.base import GriddedSensorModel, SensorContext, SensorOutput
from hotzone.sim.sensors.common import (
    KNOT_MPS,
    geo_point,
    horizontal_speed_mps,
    local_enu_velocity,
    local_geometry,
    offset_geodetic,
    transmitting,
    utc_from_posix,
)
from hotzone.sim.sensors.config import AisStationConfig
from hotzone.sim.sensors.schedule import TransmitterSchedule
from hotzone.sim.truth import TruthBatch
from hotzone.types import Report, ReportSource, TargetClass
from hotzone.types.arrays import FloatArray


class AisStationModel(GriddedSensorModel):
    """AIS position reports at speed-dependent class A intervals."""

    def __init__(self, config: AisStationConfig, context: SensorContext) -> None:
        super().__init__(config, context, config.tick_s)
        self.config = config
        self._schedule = TransmitterSchedule()

    def reporting_interval_s(self, speed_mps: FloatArray) -> FloatArray:
        """Class A reporting interval for each speed over ground."""
        config = self.config
        knots = np.asarray(speed_mps, dtype=np.float64) / KNOT_MPS
        interval: FloatArray = np.select(
            [
                knots <= config.anchored_speed_kn,
                knots <= config.medium_speed_kn,
                knots <= config.fast_speed_kn,
            ],
            [config.anchored_interval_s, config.slow_interval_s, config.medium_interval_s],
            default=config.fast_interval_s,
        )
        return interval

    def observe(self, truth: TruthBatch, rng: np.random.Generator) -> Sequence[SensorOutput]:
        config = self.config
        geometry = local_geometry(self.site.frame, truth)
        sending = transmitting(truth.transponder_on, truth.mmsi)
        heard = np.flatnonzero(sending & (geometry.range_m <= config.max_range_m))
        velocity = local_enu_velocity(
            truth.lat_deg[heard],
            truth.lon_deg[heard],
            truth.velocity_ecef_mps[heard].reshape(-1, 3),
        )
        intervals = self.reporting_interval_s(horizontal_speed_mps(velocity))
        transmissions = self._schedule.due(
            [truth.mmsi[i] for i in heard],
            intervals,
            truth.posix_time,
            intervals * config.interval_jitter_fraction,
            rng,
        )
        if not transmissions:
            return []
        picks = np.array([row for row, _ in transmissions], dtype=np.int64)
        times = np.array([time for _, time in transmissions], dtype=np.float64)
        kept = rng.random(picks.size) >= config.loss_probability
        picks, times = picks[kept], times[kept]
        rows = heard[picks]
        vessel_velocity = velocity[picks]
        count = rows.size
        lead = times - truth.posix_time
        lat, lon = offset_geodetic(
            truth.lat_deg[rows],
            truth.lon_deg[rows],
            vessel_velocity[:, 0] * lead + rng.normal(0.0, config.position_sigma_m, count),
            vessel_velocity[:, 1] * lead + rng.normal(0.0, config.position_sigma_m, count),
        )
        reports: list[SensorOutput] = []
        for k in np.argsort(times, kind="stable"):
            row = int(rows[k])
            time = utc_from_posix(times[k])
            reports.append(
                Report(
                    report_id=self.site.next_id(),
                    time=time,
                    source_id=self.sensor_id,
                    source=ReportSource.AIS,
                    position=geo_point(lat[k], lon[k], 0.0),
                    horizontal_sigma_m=config.position_sigma_m,
                    velocity_enu_mps=(
                        float(vessel_velocity[k, 0]),
                        float(vessel_velocity[k, 1]),
                        0.0,
                    ),
                    mmsi=truth.mmsi[row],
                    callsign=truth.callsign[row],
                    class_hint=TargetClass.VESSEL,
                    sector=self.site.sector,
                    received_at=time + timedelta(seconds=config.latency_s),
                    releasability=self.site.releasability,
                )
            )
        return reports
