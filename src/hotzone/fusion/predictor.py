"""Predictors: move estimates of many tracks forward in time."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from hotzone.fusion.arrays import symmetrize, transpose
from hotzone.fusion.estimates import Estimates
from hotzone.fusion.motion import MotionModel
from hotzone.types.arrays import FloatArray, IntArray


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
DISTINCT_PROBE_ROWS = 64
"""Rows whose distinct steps are counted first: more of them than `SHARED_STEP_GROUPS`
settle that a batch has too many steps to group."""


@dataclass(frozen=True)
class StepGroups:
    """How `kalman_predict` splits a batch by step: one step shared by every track
    (``dt`` 0-d), a few groups of one step each (``groups``: each step with its rows, in
    ascending step), or a step per track (``dt`` (N,), no groups)."""

    dt: FloatArray
    groups: tuple[tuple[FloatArray, IntArray], ...] | None = None


def group_steps(dt: FloatArray) -> StepGroups:
    """The groups `kalman_predict` predicts ``dt`` in; found once, they serve every mode
    of an IMM, which predicts the same tracks by the same steps."""
    if dt.ndim and dt.size and (dt == dt.flat[0]).all():
        return StepGroups(np.asarray(dt.flat[0]))
    if dt.ndim == 1 and len(dt) >= GROUPED_FROM_TRACKS:
        groups = _distinct_steps(dt)
        if groups is not None:
            return StepGroups(dt, groups)
    return StepGroups(dt)


def _distinct_steps(dt: FloatArray) -> tuple[tuple[FloatArray, IntArray], ...] | None:
    """The groups of ``np.unique(dt, return_inverse=True)`` (each step with its rows, in
    ascending step), None beyond `SHARED_STEP_GROUPS` steps.

    A few comparisons of the whole batch with one of its steps at a time instead of a
    sort. Where ``np.unique`` has a choice to make, it is asked: several NaN (one group of
    one of them) and zeros of both signs (one group of the zero it sorts first)."""
    zero = dt == 0.0
    zero_signs = np.signbit(dt[zero]) if zero.any() else np.zeros(0, dtype=np.bool_)
    if np.isnan(dt).any() or (zero_signs.any() and not zero_signs.all()):
        steps, which = np.unique(dt, return_inverse=True)
        if len(steps) > SHARED_STEP_GROUPS:
            return None
        return tuple(
            (np.asarray(step), np.flatnonzero(which == index))
            for index, step in enumerate(steps.tolist())
        )
    if len(np.unique(dt[:DISTINCT_PROBE_ROWS])) > SHARED_STEP_GROUPS:
        # Already more steps among the first rows than groups: the tracks of a window's
        # end, each behind by its own plot's time, are known for that without a
        # comparison of the whole batch per step found.
        return None
    unassigned = np.ones(len(dt), dtype=np.bool_)
    found: list[tuple[float, IntArray]] = []
    while unassigned.any():
        if len(found) == SHARED_STEP_GROUPS:
            return None
        step = float(dt[int(np.argmax(unassigned))])
        members = dt == step
        unassigned &= ~members
        found.append((step, np.flatnonzero(members)))
    found.sort(key=lambda group: group[0])
    return tuple((np.asarray(step), rows) for step, rows in found)


def kalman_predict(
    motion: MotionModel,
    state: FloatArray,
    covariance: FloatArray,
    dt: FloatArray,
    steps: StepGroups | None = None,
    out: tuple[FloatArray, FloatArray] | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Extended Kalman prediction of (N, d) states with (N, d, d) covariances.

    Tracks fall behind by whole scans, so a batch holds a few distinct steps: each group
    of one step is predicted with that step's shared matrices (one product over the
    group) instead of gathering an (N, d, d) transition per track. ``steps``: the
    groups of ``dt`` when the caller found them already (`group_steps`). ``out``: arrays
    of the results' shapes (an IMM's per-mode slots) the results are written into and
    returned as."""
    steps = group_steps(dt) if steps is None else steps
    if out is None:
        out = (np.empty(state.shape), np.empty(covariance.shape))
    if steps.groups is None:
        _predict_by(motion, state, covariance, steps.dt, out)
        return out
    for step, group in steps.groups:
        _predict_by(motion, np.take(state, group, axis=0), covariance, step, out, group)
    return out


PREDICTED_ROWS = 1024
"""Covariances propagated at a time: the block's products stay in the processor's cache
between the two multiplications, the noise and the symmetric part."""


def _predict_by(
    motion: MotionModel,
    state: FloatArray,
    covariance: FloatArray,
    dt: FloatArray,
    out: tuple[FloatArray, FloatArray],
    rows: IntArray | None = None,
) -> None:
    """One prediction of a batch, written into ``out``: a shared step (0-d) or a step
    per track; ``rows``: the batch is these rows of ``covariance`` and ``out`` (``state``
    holds them already), else all.

    F P Fᵀ + Q and its symmetric part block of rows by block of rows, each block's
    covariances gathered and its results placed while in the processor's cache: each
    row's numbers those of the whole batch at once (one product per matrix)."""
    predicted_state, transition, noise = motion.step(state, dt)
    count = len(state)
    if rows is None:
        out[0][...] = predicted_state
    else:
        out[0][rows] = predicted_state
    for start in range(0, count, PREDICTED_ROWS):
        block = slice(start, min(start + PREDICTED_ROWS, count))
        if rows is None:
            block_covariance = covariance[block]
        else:
            block_covariance = np.take(covariance, rows[block], axis=0)
        propagated = _propagated(_rows_of(transition, block, count), block_covariance)
        propagated += _rows_of(noise, block, count)
        if rows is None:
            symmetric = out[1][block]
            np.add(propagated, transpose(propagated), out=symmetric)
            symmetric *= 0.5
        else:
            out[1][rows[block]] = symmetrize(propagated)


def _propagated(transition: FloatArray, covariance: FloatArray) -> FloatArray:
    """F P Fᵀ of a (K, d, d) stack: per track, or with one F shared by every track.

    A shared F as two matrix products over the whole stack, each one call of BLAS on
    (K d, d) rows (the stack transposed matrix by matrix where a product needs it),
    instead of 2 K calls on d x d matrices: (F P)ᵀ = Pᵀ Fᵀ, then (F P) Fᵀ. Every entry
    is the same sum of the same products in the same order as in the products matrix by
    matrix: the same numbers (`tests/fusion/test_same_numbers.py` compares them)."""
    if transition.ndim != 2 or len(covariance) == 0:
        propagated: FloatArray = transition @ covariance @ transpose(transition)
        return propagated
    count, size = covariance.shape[:2]
    transition_rows = np.ascontiguousarray(transition.T)
    left_transposed = transpose(covariance).reshape(count * size, size) @ transition_rows
    left = np.ascontiguousarray(transpose(left_transposed.reshape(count, size, size)))
    product: FloatArray = (left.reshape(count * size, size) @ transition_rows).reshape(
        count, size, size
    )
    return product


def _rows_of(matrices: FloatArray, block: slice, count: int) -> FloatArray:
    """The block's rows of a per-track (count, d, d) stack; a shared matrix as it is."""
    if matrices.ndim == 3 and matrices.shape[0] == count:
        return matrices[block]
    return matrices


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
