"""What the two scanning radars share: beam timing, the radar equation, clutter, and the
whole scan (`RotatingRadarModel.observe`: visibility, misses, noise, clutter, plots).

Detection probability follows a Swerling-1 target in noise with a square-law detector,
``Pd = Pfa ** (1 / (1 + SNR))``. The SNR scales with the radar equation, ``RCS / R**4``,
relative to the configured reference: ``pd_reference`` at ``reference_range_m`` for a
target of ``reference_rcs_dbsm``. That fixes the reference SNR from ``(Pd, Pfa)``.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hotzone.sim.sensors.base import GriddedSensorModel, SensorContext, SensorOutput
from hotzone.sim.sensors.common import (
    MEAN_EARTH_RADIUS_M,
    LocalGeometry,
    above_radio_horizon,
    diagonal,
    geometry_from_enu,
    in_azimuth_sector,
    utc_from_posix,
    wrap_degrees,
)
from hotzone.sim.sensors.config import AirSurveillanceRadarConfig, GroundSurveillanceRadarConfig
from hotzone.sim.truth import TruthBatch
from hotzone.types import Detection, MeasurementKind
from hotzone.types.arrays import BoolArray, FloatArray


def reference_snr(pd_reference: float, false_alarm_probability: float) -> float:
    """Linear SNR at which a Swerling-1 target is detected with ``pd_reference``."""
    return float(np.log(false_alarm_probability) / np.log(pd_reference) - 1.0)


def swerling1_detection_probability(
    snr_linear: FloatArray, false_alarm_probability: float
) -> FloatArray:
    pd: FloatArray = np.power(false_alarm_probability, 1.0 / (1.0 + snr_linear))
    return pd


@dataclass(frozen=True)
class RadarEquation:
    """SNR and Pd of targets relative to one reference detection."""

    pd_reference: float
    reference_range_m: float
    reference_rcs_dbsm: float
    false_alarm_probability: float

    @property
    def reference_snr(self) -> float:
        return reference_snr(self.pd_reference, self.false_alarm_probability)

    def snr(self, range_m: FloatArray, rcs_dbsm: FloatArray) -> FloatArray:
        safe_range = np.maximum(np.asarray(range_m, dtype=np.float64), 1.0)
        rcs_gain = 10.0 ** (
            (np.asarray(rcs_dbsm, dtype=np.float64) - self.reference_rcs_dbsm) / 10.0
        )
        snr: FloatArray = self.reference_snr * rcs_gain * (self.reference_range_m / safe_range) ** 4
        return snr

    def detection_probability(self, range_m: FloatArray, rcs_dbsm: FloatArray) -> FloatArray:
        return swerling1_detection_probability(
            self.snr(range_m, rcs_dbsm), self.false_alarm_probability
        )

    def rcs_for_snr(self, range_m: FloatArray, snr_linear: FloatArray) -> FloatArray:
        """The RCS that would give ``snr_linear`` at ``range_m`` (to label clutter plots)."""
        rcs: FloatArray = (
            self.reference_rcs_dbsm
            + 10.0 * np.log10(snr_linear / self.reference_snr)
            + 40.0 * np.log10(np.maximum(range_m, 1.0) / self.reference_range_m)
        )
        return rcs


def beam_geometry(
    enu: FloatArray, velocity_enu: FloatArray, scan_period_s: float
) -> tuple[FloatArray, LocalGeometry]:
    """When the beam, turning clockwise from north at the scan start, meets each target.

    Returns the offsets from the scan start and the geometry at those instants. Targets move
    in a straight line over one scan; two fixed-point passes settle the azimuth to well
    under a beamwidth even for a fast crossing target close in.
    """
    offsets = np.zeros(enu.shape[0], dtype=np.float64)
    for _ in range(2):
        moved = enu + velocity_enu * offsets[:, None]
        azimuth = np.degrees(np.arctan2(moved[:, 0], moved[:, 1])) % 360.0
        offsets = azimuth / 360.0 * scan_period_s
    geometry = geometry_from_enu(enu + velocity_enu * offsets[:, None], velocity_enu)
    return offsets, geometry


@dataclass(frozen=True)
class ClutterPlots:
    """False plots of one scan, in the radar's polar coordinates."""

    range_m: FloatArray
    azimuth_deg: FloatArray
    elevation_deg: FloatArray

    @property
    def size(self) -> int:
        return int(self.range_m.size)


def volume_clutter(
    rng: np.random.Generator,
    rate_per_scan: float,
    min_range_m: float,
    max_range_m: float,
    azimuth_center_deg: float,
    azimuth_width_deg: float,
    min_elevation_deg: float,
    max_elevation_deg: float,
) -> ClutterPlots:
    """Poisson count, uniform over the covered volume (density r² cos(el))."""
    count = int(rng.poisson(rate_per_scan))
    cube = rng.uniform(min_range_m**3, max_range_m**3, count)
    range_m = np.cbrt(cube)
    azimuth = _sector_azimuths(rng, count, azimuth_center_deg, azimuth_width_deg)
    low, high = np.sin(np.radians(min_elevation_deg)), np.sin(np.radians(max_elevation_deg))
    elevation = np.degrees(np.arcsin(rng.uniform(low, high, count)))
    return ClutterPlots(range_m=range_m, azimuth_deg=azimuth, elevation_deg=elevation)


def area_clutter(
    rng: np.random.Generator,
    rate_per_scan: float,
    min_range_m: float,
    max_range_m: float,
    azimuth_center_deg: float,
    azimuth_width_deg: float,
    refraction_k_factor: float,
) -> ClutterPlots:
    """Poisson count, uniform over the covered ground area (density r), on the ground.

    Heights are above the ellipsoid, not above terrain, so the ground is taken to lie at the
    radar's own height, dropping away with the (4/3) Earth's curvature.
    """
    count = int(rng.poisson(rate_per_scan))
    range_m = np.sqrt(rng.uniform(min_range_m**2, max_range_m**2, count))
    azimuth = _sector_azimuths(rng, count, azimuth_center_deg, azimuth_width_deg)
    elevation = -np.degrees(range_m / (2.0 * refraction_k_factor * MEAN_EARTH_RADIUS_M))
    return ClutterPlots(range_m=range_m, azimuth_deg=azimuth, elevation_deg=elevation)


def _sector_azimuths(
    rng: np.random.Generator, count: int, center_deg: float, width_deg: float
) -> FloatArray:
    azimuth: FloatArray = (
        center_deg + rng.uniform(-width_deg / 2.0, width_deg / 2.0, count)
    ) % 360.0
    return azimuth


def clutter_snr(rng: np.random.Generator, count: int, false_alarm_probability: float) -> FloatArray:
    """Noise that crossed the threshold: threshold plus an exponential excess (memoryless)."""
    threshold = -np.log(false_alarm_probability)
    snr: FloatArray = threshold + rng.exponential(1.0, count)
    return snr


def coverage_mask(
    geometry: LocalGeometry,
    min_range_m: float,
    max_range_m: float,
    min_elevation_deg: float,
    max_elevation_deg: float,
    azimuth_center_deg: float,
    azimuth_width_deg: float,
) -> BoolArray:
    mask: BoolArray = (
        (geometry.range_m >= min_range_m)
        & (geometry.range_m <= max_range_m)
        & (geometry.elevation_deg >= min_elevation_deg)
        & (geometry.elevation_deg <= max_elevation_deg)
        & in_azimuth_sector(geometry.azimuth_deg, azimuth_center_deg, azimuth_width_deg)
    )
    return mask


class RotatingRadarModel(GriddedSensorModel):
    """What every scanning radar shares: its site, its radar equation and its scan clock."""

    config: AirSurveillanceRadarConfig | GroundSurveillanceRadarConfig

    def __init__(
        self,
        config: AirSurveillanceRadarConfig | GroundSurveillanceRadarConfig,
        context: SensorContext,
    ) -> None:
        # Scan start times: the beam points north at each of them.
        super().__init__(config, context, config.scan_period_s, config.scan_offset_s)
        self.radar_equation = RadarEquation(
            pd_reference=config.pd_reference,
            reference_range_m=config.reference_range_m,
            reference_rcs_dbsm=config.reference_rcs_dbsm,
            false_alarm_probability=config.false_alarm_probability,
        )

    def visible(self, geometry: LocalGeometry, target_height_m: FloatArray) -> BoolArray:
        """Targets inside the radar's coverage volume and above its radio horizon."""
        config = self.config
        in_coverage = coverage_mask(
            geometry,
            config.min_range_m,
            config.max_range_m,
            config.min_elevation_deg,
            config.max_elevation_deg,
            config.azimuth_center_deg,
            config.azimuth_width_deg,
        )
        return in_coverage & above_radio_horizon(
            config.height_m, target_height_m, geometry.ground_range_m, config.refraction_k_factor
        )

    # ------------------------------------------------------------------ one scan
    @abstractmethod
    def target_pd(self, geometry: LocalGeometry, rcs_dbsm: FloatArray) -> FloatArray:
        """Pd of each target in coverage, where the beam meets it."""

    @abstractmethod
    def elevation_sigma_deg(self, range_m: FloatArray) -> FloatArray:
        """Standard deviation of the reported elevation of a plot at ``range_m``."""

    @abstractmethod
    def clutter(self, rng: np.random.Generator) -> ClutterPlots:
        """One scan's false plots."""

    @abstractmethod
    def clutter_doppler(self, rng: np.random.Generator, count: int) -> FloatArray:
        """Radial velocities of ``count`` false plots."""

    def target_height_m(
        self, truth: TruthBatch, geometry: LocalGeometry, offsets: FloatArray
    ) -> FloatArray:
        """Heights the horizon test uses: the truth's, at the scan start."""
        height: FloatArray = np.asarray(truth.height_m, dtype=np.float64)
        return height

    def observe(self, truth: TruthBatch, rng: np.random.Generator) -> Sequence[SensorOutput]:
        """One scan: targets the beam meets in coverage, each detected with its Pd and
        measured with noise, then the scan's clutter; plots in beam order."""
        config = self.config
        frame = self.site.frame
        enu = frame.ecef_to_enu(np.asarray(truth.ecef_m, dtype=np.float64).reshape(-1, 3))
        velocity = np.asarray(truth.velocity_ecef_mps, dtype=np.float64).reshape(-1, 3)
        offsets, geometry = beam_geometry(enu, velocity @ frame.rotation.T, config.scan_period_s)
        visible = self.visible(geometry, self.target_height_m(truth, geometry, offsets))
        rcs = np.asarray(truth.rcs_dbsm, dtype=np.float64)
        pd = self.target_pd(geometry, rcs)
        # Draw for every target, visible or not, so one target's visibility does not shift
        # the random stream of the others.
        detected = visible & (rng.random(truth.size) < pd)
        index = np.flatnonzero(detected)
        count = index.size
        true_range = geometry.range_m[index]

        range_m = np.maximum(true_range + rng.normal(0.0, config.range_sigma_m, count), 0.0)
        azimuth = wrap_degrees(
            geometry.azimuth_deg[index] + rng.normal(0.0, config.azimuth_sigma_deg, count)
        )
        elevation = geometry.elevation_deg[index] + rng.normal(
            0.0, 1.0, count
        ) * self.elevation_sigma_deg(true_range)
        doppler = geometry.radial_velocity_mps[index] + rng.normal(
            0.0, config.doppler_sigma_mps, count
        )
        measured_rcs = rcs[index] + rng.normal(0.0, config.rcs_sigma_db, count)
        snr = self.radar_equation.snr(true_range, rcs[index])

        clutter = self.clutter(rng)
        clutter_snr_linear = clutter_snr(rng, clutter.size, config.false_alarm_probability)
        clutter_doppler = self.clutter_doppler(rng, clutter.size)
        return self._plots(
            truth.posix_time,
            np.concatenate([offsets[index], clutter.azimuth_deg / 360.0 * config.scan_period_s]),
            np.concatenate([range_m, clutter.range_m]),
            np.concatenate([azimuth, clutter.azimuth_deg]),
            np.concatenate([elevation, clutter.elevation_deg]),
            np.concatenate([doppler, clutter_doppler]),
            np.concatenate(
                [measured_rcs, self.radar_equation.rcs_for_snr(clutter.range_m, clutter_snr_linear)]
            ),
            np.concatenate([snr, clutter_snr_linear]),
        )

    def _plots(
        self,
        scan_time: float,
        offsets: FloatArray,
        range_m: FloatArray,
        azimuth_deg: FloatArray,
        elevation_deg: FloatArray,
        doppler_mps: FloatArray,
        rcs_dbsm: FloatArray,
        snr_linear: FloatArray,
    ) -> list[SensorOutput]:
        config = self.config
        elevation_variance = self.elevation_sigma_deg(range_m) ** 2
        snr_db = 10.0 * np.log10(np.maximum(snr_linear, 1e-12))
        plots: list[SensorOutput] = []
        for i in np.argsort(offsets, kind="stable"):
            plots.append(
                Detection(
                    detection_id=self.site.next_id(),
                    time=utc_from_posix(scan_time + offsets[i]),
                    sensor_id=self.sensor_id,
                    kind=MeasurementKind.POLAR,
                    values=(float(range_m[i]), float(azimuth_deg[i]), float(elevation_deg[i])),
                    covariance=diagonal(
                        (
                            config.range_sigma_m**2,
                            config.azimuth_sigma_deg**2,
                            float(elevation_variance[i]),
                        )
                    ),
                    sensor_position=self.position,
                    sector=self.site.sector,
                    doppler_mps=float(doppler_mps[i]),
                    rcs_dbsm=float(rcs_dbsm[i]),
                    snr_db=float(snr_db[i]),
                    releasability=self.site.releasability,
                )
            )
        return plots
