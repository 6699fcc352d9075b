"""Updaters: correct predicted estimates with assigned measurements, on arrays."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from hotzone.fusion import kernels
from hotzone.fusion.arrays import ensure_positive_definite, small_inverse, symmetrize, transpose
from hotzone.fusion.estimates import Estimates
from hotzone.fusion.measurement import MeasurementModel
from hotzone.types.arrays import BoolArray, FloatArray


def innovations(
    model: MeasurementModel,
    state: FloatArray,
    covariance: FloatArray,
    measured: FloatArray,
    noise: FloatArray,
    sensor_positions: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Residuals (K, m), innovation covariances (K, m, m) and cross covariances (K, d, m)."""
    size = model.position_size
    if size:
        # A direct position measurement: slicing replaces two matrix products.
        residual = measured - state[:, :size]
        cross = covariance[:, :, :size]
        innovation_covariance = covariance[:, :size, :size] + noise
    else:
        jacobian = model.jacobian(state, sensor_positions)
        residual = model.residual(measured, model.measure(state, sensor_positions))
        cross = covariance @ transpose(jacobian)
        innovation_covariance = jacobian @ cross + noise
    return residual, symmetrize(innovation_covariance), cross


def mahalanobis_squared(residual: FloatArray, innovation_covariance: FloatArray) -> FloatArray:
    """νᵀ S⁻¹ ν per row; infinite where S is singular. Of 2 or 3 entries, by the compiled
    kernel where the process uses it (`kernels.use_update_kernel`: the same numbers)."""
    if residual.shape[0] == 0:
        return np.zeros(0)
    if (
        residual.ndim == 2
        and residual.shape[1] in (2, 3)
        and innovation_covariance.shape == (*residual.shape, residual.shape[1])
        and kernels.use_update_kernel()
    ):
        return kernels.mahalanobis_squared(residual, innovation_covariance)
    return mahalanobis_by_numpy(residual, innovation_covariance)


def mahalanobis_by_numpy(residual: FloatArray, innovation_covariance: FloatArray) -> FloatArray:
    """`mahalanobis_squared` of one or more rows by numpy's calls."""
    inverse = small_inverse(innovation_covariance)
    solved = (inverse @ residual[..., None])[..., 0]
    with np.errstate(invalid="ignore", over="ignore"):
        distance: FloatArray = (residual * solved).sum(axis=1)
    return np.where(np.isfinite(distance) & (distance >= 0), distance, np.inf)


UPDATED_ROWS = 4096
"""Updates computed at a time: the block's residuals, gains and covariances stay in the
processor's cache across the update's passes instead of streaming through memory (4,096
rows: 7 % less time than 1,024 at 95,000 updates, the fixed cost of each block's calls
spread over more rows)."""


def kalman_update(
    model: MeasurementModel,
    state: FloatArray,
    covariance: FloatArray,
    measured: FloatArray,
    noise: FloatArray,
    sensor_positions: FloatArray,
    with_likelihood: bool = False,
    out: tuple[FloatArray, FloatArray, FloatArray] | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """EKF update in Joseph form; returns state, covariance and (when asked, else zeros)
    the log-likelihood of each measurement.

    Block of rows by block of rows: each row's numbers depend on that row alone, so they
    are those of the whole batch at once; the definiteness check and the determinants,
    whose calls cost more than a block's work, run once over the whole batch after.
    ``out``: arrays of the results' shapes (an IMM's per-mode slots) the results are
    written into and returned as."""
    count = len(state)
    if out is None:
        size = state.shape[-1]
        out = (np.empty((count, size)), np.empty((count, size, size)), np.empty(count))
    updated_state, updated_covariance, log_likelihood = out
    distance = np.empty(count)
    innovation_covariance: FloatArray | None = None
    for start in range(0, count, UPDATED_ROWS):
        block = slice(start, min(start + UPDATED_ROWS, count))
        results = _update_rows(
            model,
            state[block],
            covariance[block],
            _rows_of(measured, block, count),
            _rows_of(noise, block, count),
            _rows_of(sensor_positions, block, count),
            with_likelihood,
        )
        updated_state[block], updated_covariance[block], distance[block] = results[:3]
        if with_likelihood:
            if innovation_covariance is None:
                innovation_covariance = np.empty((count, *results[3].shape[1:]))
            innovation_covariance[block] = results[3]
    repaired = ensure_positive_definite(updated_covariance)
    if repaired is not updated_covariance:
        updated_covariance[...] = repaired
    if not with_likelihood or innovation_covariance is None:
        log_likelihood[...] = 0.0
        return out
    _, log_determinant = np.linalg.slogdet(innovation_covariance)
    measured_size = innovation_covariance.shape[-1]
    log_likelihood[...] = -0.5 * (distance + log_determinant + measured_size * np.log(2 * np.pi))
    return out


def _rows_of(values: FloatArray, block: slice, count: int) -> FloatArray:
    """The block's rows of a per-row array; one shared by every row as it is."""
    if values.ndim and values.shape[0] == count:
        return values[block]
    return values


def _update_rows(
    model: MeasurementModel,
    state: FloatArray,
    covariance: FloatArray,
    measured: FloatArray,
    noise: FloatArray,
    sensor_positions: FloatArray,
    with_likelihood: bool,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """`kalman_update` of one block of rows, all at once, up to the definiteness check:
    state, covariance, and with ``with_likelihood`` the squared Mahalanobis distances
    and innovation covariances (else zeros and an empty array)."""
    if model.position_size:
        updated_state, updated_covariance, distance, innovation_covariance, suspect = (
            update_rows_by_numpy(model.position_size, state, covariance, measured, noise)
        )
        if suspect.any():
            updated_covariance[suspect] = joseph_covariances(
                model,
                state[suspect],
                covariance[suspect],
                noise[suspect],
                sensor_positions[suspect],
            )
        if not with_likelihood:
            return updated_state, updated_covariance, np.zeros(len(state)), np.zeros(0)
        return updated_state, updated_covariance, distance, innovation_covariance
    residual, innovation_covariance, cross = innovations(
        model, state, covariance, measured, noise, sensor_positions
    )
    inverse = small_inverse(innovation_covariance)
    gain = cross @ inverse
    updated_state = state + (gain @ residual[..., None])[..., 0]
    updated_covariance = _joseph(model, state, covariance, gain, noise, sensor_positions)
    if not with_likelihood:
        return updated_state, updated_covariance, np.zeros(len(state)), np.zeros(0)
    distance = (residual[:, None, :] @ inverse @ residual[:, :, None])[:, 0, 0]
    return updated_state, updated_covariance, distance, innovation_covariance


def update_rows_by_numpy(
    length: int,
    state: FloatArray,
    covariance: FloatArray,
    measured: FloatArray,
    noise: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, BoolArray]:
    """The update of rows by a measurement of their first ``length`` state entries
    (`MeasurementModel.position_size`), all at once: state, covariance in the short form
    P - K (PHᵀ)ᵀ (one product instead of Joseph's four), squared Mahalanobis distances,
    innovation covariances, and the rows where that form lost definiteness (checked on
    the diagonal; `joseph_covariances` redoes them). `kernels.update_positions` computes
    the same numbers in one compiled loop."""
    residual = measured - state[:, :length]
    cross = covariance[:, :, :length]
    innovation_covariance = symmetrize(covariance[:, :length, :length] + noise)
    inverse = small_inverse(innovation_covariance)
    gain = cross @ inverse
    updated_state = state + (gain @ residual[..., None])[..., 0]
    updated_covariance = symmetrize(covariance - gain @ transpose(cross))
    diagonal = np.diagonal(updated_covariance, axis1=1, axis2=2)
    suspect: BoolArray = np.asarray(~(diagonal > 0).all(axis=1))
    distance = (residual[:, None, :] @ inverse @ residual[:, :, None])[:, 0, 0]
    return updated_state, updated_covariance, distance, innovation_covariance, suspect


def joseph_covariances(
    model: MeasurementModel,
    state: FloatArray,
    covariance: FloatArray,
    noise: FloatArray,
    sensor_positions: FloatArray,
) -> FloatArray:
    """Rows' covariances updated by a position measurement (`update_rows_by_numpy`) in
    Joseph form, for the rows whose short form lost definiteness: their gain again (each
    row's own numbers), then `_joseph`."""
    length = model.position_size
    innovation_covariance = symmetrize(covariance[:, :length, :length] + noise)
    gain = covariance[:, :, :length] @ small_inverse(innovation_covariance)
    return _joseph(model, state, covariance, gain, noise, sensor_positions)


def _joseph(
    model: MeasurementModel,
    state: FloatArray,
    covariance: FloatArray,
    gain: FloatArray,
    noise: FloatArray,
    sensor_positions: FloatArray,
) -> FloatArray:
    """(I-KH) P (I-KH)ᵀ + K R Kᵀ: stays positive definite under rounding."""
    jacobian = model.jacobian(state, sensor_positions)
    reduction = np.eye(state.shape[-1]) - gain @ jacobian
    joseph = reduction @ covariance @ transpose(reduction)
    gain_noise = gain @ noise @ transpose(gain)
    return symmetrize(joseph + gain_noise)


class Updater(ABC):
    """One abstract base for every updater; the role's verb is ``update``."""

    @abstractmethod
    def update(
        self,
        predicted: Estimates,
        model: MeasurementModel,
        measured: FloatArray,
        noise: FloatArray,
        sensor_positions: FloatArray,
    ) -> Estimates:
        """Row k of ``predicted`` corrected by measurement k."""


@dataclass(frozen=True)
class KalmanUpdater(Updater):
    """(Extended) Kalman update of single-model estimates."""

    def update(
        self,
        predicted: Estimates,
        model: MeasurementModel,
        measured: FloatArray,
        noise: FloatArray,
        sensor_positions: FloatArray,
    ) -> Estimates:
        if predicted.size == 0:
            return predicted
        state, covariance, _ = kalman_update(
            model, predicted.state, predicted.covariance, measured, noise, sensor_positions
        )
        return Estimates(state, covariance)
