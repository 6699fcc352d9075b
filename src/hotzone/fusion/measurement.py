"""Measurement models: what a sensor would measure of a state, on arrays.

Every model maps (K, d) states seen from (K, 3) sensor positions (ENU metres of the track
frame) to (K, m) measurements. Angles are radians inside fusion; the degrees of
`Detection` are converted at the boundary (`hotzone.fusion.conversion`).

Polar radar plots (range, azimuth, elevation) are turned into ENU positions with the
debiased converted-measurement method before they reach a filter, so the tracker keeps
one linear position model, one spatial pre-gate and one fast update for all radars. The
reason is shown by ``tests/fusion/test_models.py::test_polar_long_range_*`` (150 km,
1.5° azimuth sigma): a linearised (EKF) polar update from a vague prior is badly
inconsistent; the plain conversion is biased by r σ²/2 and its first-order covariance is
several times too small; the debiased conversion with Longbin's covariance is unbiased
and consistent (NEES ≈ 3). `PolarMeasurement` stays available as an EKF model.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from hotzone.types.arrays import FloatArray


class MeasurementModel(ABC):
    """One abstract base for every measurement model; the role's verb is ``measure``."""

    @property
    @abstractmethod
    def size(self) -> int:
        """Length of one measurement vector."""

    @property
    def position_size(self) -> int:
        """How many leading state components it measures directly (0: nonlinear)."""
        return 0

    @abstractmethod
    def measure(self, states: FloatArray, sensor_positions: FloatArray) -> FloatArray:
        """(K, d) states -> (K, m) noise-free measurements."""

    @abstractmethod
    def jacobian(self, states: FloatArray, sensor_positions: FloatArray) -> FloatArray:
        """d measure / d state: (K, m, d)."""

    def residual(self, measured: FloatArray, predicted: FloatArray) -> FloatArray:
        """measured - predicted, with angles wrapped where the model has any."""
        return measured - predicted


@dataclass(frozen=True)
class PositionMeasurement(MeasurementModel):
    """Direct position: (east, north, up) when ``dims`` is 3, (east, north) when 2."""

    dims: int = 3

    def __post_init__(self) -> None:
        if self.dims not in (2, 3):
            raise ValueError(f"a position measurement has 2 or 3 components, got {self.dims}")

    @property
    def size(self) -> int:
        return self.dims

    @property
    def position_size(self) -> int:
        return self.dims

    def measure(self, states: FloatArray, sensor_positions: FloatArray) -> FloatArray:
        return states[..., : self.dims].copy()

    def jacobian(self, states: FloatArray, sensor_positions: FloatArray) -> FloatArray:
        jacobian = np.zeros((*states.shape[:-1], self.dims, states.shape[-1]))
        for axis in range(self.dims):
            jacobian[..., axis, axis] = 1.0
        return jacobian


@dataclass(frozen=True)
class VelocityMeasurement(MeasurementModel):
    """Direct velocity (east, north[, up]) of a state laid out ``[p(dims), v(dims), ...]``.

    What a cooperative velocity-only message measures (ADS-B airborne velocity, SBS
    ``MSG,4``): it corrects a track's velocity, and through their correlation its
    position, but gives no position of its own, so it never gates nor starts a track.
    """

    dims: int = 3

    def __post_init__(self) -> None:
        if self.dims not in (2, 3):
            raise ValueError(f"a velocity measurement has 2 or 3 components, got {self.dims}")

    @property
    def size(self) -> int:
        return self.dims

    def measure(self, states: FloatArray, sensor_positions: FloatArray) -> FloatArray:
        return states[..., self.dims : 2 * self.dims].copy()

    def jacobian(self, states: FloatArray, sensor_positions: FloatArray) -> FloatArray:
        jacobian = np.zeros((*states.shape[:-1], self.dims, states.shape[-1]))
        for axis in range(self.dims):
            jacobian[..., axis, self.dims + axis] = 1.0
        return jacobian


def _wrap(angles: FloatArray) -> FloatArray:
    result: FloatArray = (angles + np.pi) % (2 * np.pi) - np.pi
    return result


@dataclass(frozen=True)
class BearingMeasurement(MeasurementModel):
    """Passive direction finding: azimuth (clockwise from north) and optionally elevation."""

    with_elevation: bool = False

    @property
    def size(self) -> int:
        return 2 if self.with_elevation else 1

    def measure(self, states: FloatArray, sensor_positions: FloatArray) -> FloatArray:
        offset = states[..., :3] - sensor_positions
        azimuth = np.arctan2(offset[..., 0], offset[..., 1])
        if not self.with_elevation:
            return azimuth[..., None]
        horizontal = np.hypot(offset[..., 0], offset[..., 1])
        return np.stack([azimuth, np.arctan2(offset[..., 2], horizontal)], axis=-1)

    def jacobian(self, states: FloatArray, sensor_positions: FloatArray) -> FloatArray:
        offset = states[..., :3] - sensor_positions
        east, north, up = offset[..., 0], offset[..., 1], offset[..., 2]
        horizontal_sq = np.maximum(east**2 + north**2, 1e-6)
        jacobian = np.zeros((*states.shape[:-1], self.size, states.shape[-1]))
        jacobian[..., 0, 0] = north / horizontal_sq
        jacobian[..., 0, 1] = -east / horizontal_sq
        if self.with_elevation:
            horizontal = np.sqrt(horizontal_sq)
            range_sq = horizontal_sq + up**2
            jacobian[..., 1, 0] = -east * up / (range_sq * horizontal)
            jacobian[..., 1, 1] = -north * up / (range_sq * horizontal)
            jacobian[..., 1, 2] = horizontal / range_sq
        return jacobian

    def residual(self, measured: FloatArray, predicted: FloatArray) -> FloatArray:
        return _wrap(measured - predicted)


@dataclass(frozen=True)
class PolarMeasurement(MeasurementModel):
    """Radar range, azimuth and elevation, linearised (EKF)."""

    @property
    def size(self) -> int:
        return 3

    def measure(self, states: FloatArray, sensor_positions: FloatArray) -> FloatArray:
        offset = states[..., :3] - sensor_positions
        horizontal = np.hypot(offset[..., 0], offset[..., 1])
        return np.stack(
            [
                np.linalg.norm(offset, axis=-1),
                np.arctan2(offset[..., 0], offset[..., 1]),
                np.arctan2(offset[..., 2], horizontal),
            ],
            axis=-1,
        )

    def jacobian(self, states: FloatArray, sensor_positions: FloatArray) -> FloatArray:
        offset = states[..., :3] - sensor_positions
        range_m = np.maximum(np.linalg.norm(offset, axis=-1), 1e-3)
        jacobian = np.zeros((*states.shape[:-1], 3, states.shape[-1]))
        jacobian[..., 0, :3] = offset / range_m[..., None]
        jacobian[..., 1:, :] = BearingMeasurement(with_elevation=True).jacobian(
            states, sensor_positions
        )
        return jacobian

    def residual(self, measured: FloatArray, predicted: FloatArray) -> FloatArray:
        result = measured - predicted
        result[..., 1:] = _wrap(result[..., 1:])
        return result


def convert_polar(
    range_m: FloatArray,
    azimuth_rad: FloatArray,
    elevation_rad: FloatArray,
    polar_covariance: FloatArray,
    debiased: bool = True,
) -> tuple[FloatArray, FloatArray]:
    """Polar plots -> (K, 3) ENU offsets from the sensor and their (K, 3, 3) covariances.

    ``polar_covariance`` is (K, 3, 3) in metres and radians (its diagonal is used). With
    ``debiased``, the unbiased converted measurement of Longbin, Xiaoquan, Yiyu, Kirubarajan
    and Bar-Shalom (1998): the position is divided by E[cos θ̃] = e^{-σ²/2} and the
    covariance is their exact one in the horizontal plane (ground range and azimuth),
    first-order for height. Without, the plain conversion and the first-order covariance
    J C Jᵀ, which the long-range test shows to be biased and far too confident.
    """
    range_variance = polar_covariance[..., 0, 0]
    azimuth_variance = polar_covariance[..., 1, 1]
    elevation_variance = polar_covariance[..., 2, 2]
    cos_el, sin_el = np.cos(elevation_rad), np.sin(elevation_rad)
    cos_az, sin_az = np.cos(azimuth_rad), np.sin(azimuth_rad)
    if not debiased:
        offsets = np.stack(
            [range_m * cos_el * sin_az, range_m * cos_el * cos_az, range_m * sin_el], axis=-1
        )
        jacobian = np.zeros((*range_m.shape, 3, 3))
        jacobian[..., 0, 0] = cos_el * sin_az
        jacobian[..., 1, 0] = cos_el * cos_az
        jacobian[..., 2, 0] = sin_el
        jacobian[..., 0, 1] = range_m * cos_el * cos_az
        jacobian[..., 1, 1] = -range_m * cos_el * sin_az
        jacobian[..., 0, 2] = -range_m * sin_el * sin_az
        jacobian[..., 1, 2] = -range_m * sin_el * cos_az
        jacobian[..., 2, 2] = range_m * cos_el
        covariance = jacobian @ polar_covariance @ np.swapaxes(jacobian, -1, -2)
        return offsets, 0.5 * (covariance + np.swapaxes(covariance, -1, -2))
    azimuth_factor = np.exp(-azimuth_variance / 2)
    elevation_factor = np.exp(-elevation_variance / 2)
    horizontal = range_m * cos_el / (azimuth_factor * elevation_factor)
    offsets = np.stack(
        [horizontal * sin_az, horizontal * cos_az, range_m * sin_el / elevation_factor], axis=-1
    )
    # Longbin et al. use x = r cos θ, y = r sin θ from the x axis; east = r sin(az) and
    # north = r cos(az), so their cos θ is sin(az) here and their sin θ is cos(az).
    ground = range_m * cos_el
    ground_variance = cos_el**2 * range_variance + (range_m * sin_el) ** 2 * elevation_variance
    variance = azimuth_variance
    damping = np.exp(-2 * variance)
    cosh_2, cosh_1 = np.cosh(2 * variance), np.cosh(variance)
    sinh_2, sinh_1 = np.sinh(2 * variance), np.sinh(variance)
    along_x, along_y = sin_az, cos_az
    covariance = np.zeros((*range_m.shape, 3, 3))
    covariance[..., 0, 0] = ground**2 * damping * (
        along_x**2 * (cosh_2 - cosh_1) + along_y**2 * (sinh_2 - sinh_1)
    ) + ground_variance * damping * (
        along_x**2 * (2 * cosh_2 - cosh_1) + along_y**2 * (2 * sinh_2 - sinh_1)
    )
    covariance[..., 1, 1] = ground**2 * damping * (
        along_y**2 * (cosh_2 - cosh_1) + along_x**2 * (sinh_2 - sinh_1)
    ) + ground_variance * damping * (
        along_y**2 * (2 * cosh_2 - cosh_1) + along_x**2 * (2 * sinh_2 - sinh_1)
    )
    cross = (
        along_x
        * along_y
        * np.exp(-4 * variance)
        * (ground_variance + (ground**2 + ground_variance) * (1 - np.exp(variance)))
    )
    covariance[..., 0, 1] = covariance[..., 1, 0] = cross
    covariance[..., 2, 2] = (
        sin_el**2 * range_variance + (range_m * cos_el) ** 2 * elevation_variance
    )
    ground_height = sin_el * cos_el * (range_variance - range_m**2 * elevation_variance)
    covariance[..., 0, 2] = covariance[..., 2, 0] = ground_height * along_x
    covariance[..., 1, 2] = covariance[..., 2, 1] = ground_height * along_y
    return offsets, covariance
