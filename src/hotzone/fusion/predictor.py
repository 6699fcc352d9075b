"""Predictors: move estimates of many tracks forward in time."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from hotzone.fusion.arrays import symmetrize, transpose
from hotzone.fusion.estimates import Estimates
from hotzone.fusion.motion import MotionModel
from hotzone.types.arrays import FloatArray


class Predictor(ABC):
    """One abstract base for every predictor; the role's verb is ``predict``."""

    @property
    @abstractmethod
    def state_size(self) -> int: ...

    @property
    def mode_names(self) -> tuple[str, ...]:
        """Names of the IMM modes; empty for single-model predictors."""
        return ()

    @abstractmethod
    def predict(self, estimates: Estimates, dt: FloatArray) -> Estimates:
        """Estimates moved by ``dt`` seconds (an (N,) array, or 0-d for a shared step)."""

    @abstractmethod
    def initial_estimates(self, state: FloatArray, covariance: FloatArray) -> Estimates:
        """Estimates of new tracks from their first state and covariance."""


SHARED_STEP_GROUPS = 8
"""Up to this many distinct steps in a batch are predicted group by group."""
GROUPED_FROM_TRACKS = 512
"""Below this many tracks, finding the groups costs more than it saves."""


def kalman_predict(
    motion: MotionModel, state: FloatArray, covariance: FloatArray, dt: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Extended Kalman prediction of (N, d) states with (N, d, d) covariances.

    Tracks fall behind by whole scans, so a batch holds a few distinct steps: each group
    of one step is predicted with that step's shared matrices (one product over the
    group) instead of gathering an (N, d, d) transition per track."""
    if dt.ndim and dt.size and (dt == dt.flat[0]).all():
        dt = np.asarray(dt.flat[0])
    elif dt.ndim == 1 and len(dt) >= GROUPED_FROM_TRACKS:
        steps, which = np.unique(dt, return_inverse=True)
        if len(steps) <= SHARED_STEP_GROUPS:
            predicted_state = np.empty_like(state)
            predicted_covariance = np.empty_like(covariance)
            for index, step in enumerate(steps.tolist()):
                group = np.flatnonzero(which == index)
                predicted_state[group], predicted_covariance[group] = kalman_predict(
                    motion, state[group], covariance[group], np.asarray(step)
                )
            return predicted_state, predicted_covariance
    predicted_state, transition, noise = motion.step(state, dt)
    predicted_covariance = transition @ covariance @ transpose(transition)
    predicted_covariance += noise
    return predicted_state, symmetrize(predicted_covariance)


@dataclass(frozen=True)
class KalmanPredictor(Predictor):
    """(Extended) Kalman prediction with one motion model."""

    motion: MotionModel
    """How every track moves."""

    @property
    def state_size(self) -> int:
        return self.motion.state_size

    def predict(self, estimates: Estimates, dt: FloatArray) -> Estimates:
        if estimates.size == 0:
            return estimates
        state, covariance = kalman_predict(
            self.motion, estimates.state, estimates.covariance, np.asarray(dt, dtype=np.float64)
        )
        return Estimates(state, covariance)

    def initial_estimates(self, state: FloatArray, covariance: FloatArray) -> Estimates:
        return Estimates(state, covariance)
