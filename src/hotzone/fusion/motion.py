"""Motion models: how a state moves between two times, on arrays of tracks.

States are laid out position first, then velocity, then any model-specific extras:
``[p_1..p_D, v_1..v_D, extras]`` with D = ``spatial_dims`` (2 or 3). Keeping one layout
for every model lets the IMM mix estimates of different models without re-ordering, and
lets measurement models read the position without knowing the motion model.

``dt`` is an array of per-track time steps (or a 0-d array when every track moves by the
same step); matrices broadcast accordingly, so a scan of a thousand tracks that share one
step costs one small matrix.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import ClassVar

import numpy as np

from hotzone.fusion.arrays import entry_rows, symmetrize_entries
from hotzone.types.arrays import FloatArray, IntArray


class MotionModel(ABC):
    """One abstract base for every motion model; the role's verb is ``propagate``."""

    spatial_dims: int

    @property
    @abstractmethod
    def state_size(self) -> int:
        """Length of the state vector this model propagates."""

    @property
    def name(self) -> str:
        return type(self).__name__

    @abstractmethod
    def propagate(self, states: FloatArray, dt: FloatArray) -> FloatArray:
        """(N, d) states moved by ``dt`` seconds."""

    @abstractmethod
    def jacobian(self, states: FloatArray, dt: FloatArray) -> FloatArray:
        """d propagate / d state: (d, d) when it depends on nothing but a shared dt,
        else (N, d, d)."""

    @abstractmethod
    def process_noise(self, states: FloatArray, dt: FloatArray) -> FloatArray:
        """Covariance of the state change over ``dt``: (d, d) or (N, d, d)."""

    def step(self, states: FloatArray, dt: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """`propagate`, `jacobian` and `process_noise` at once: what a Kalman prediction
        needs, for models that share work between them."""
        return (
            self.propagate(states, dt),
            self.jacobian(states, dt),
            self.process_noise(states, dt),
        )

    predicts_entries: ClassVar[bool] = False
    """Whether `predict_entries` is this model's prediction."""

    def predict_entries(
        self, states: FloatArray, covariance: FloatArray, dt: FloatArray
    ) -> FloatArray:
        """(N, d) states moved by per-track steps ``dt`` (N,); ``covariance``, (d, d, N)
        laid out entry by entry (each entry's N tracks contiguous), becomes the symmetric
        part of F P Fᵀ + Q in place, by the transition's few entries on whole rows and
        columns of the stack: no (N, d, d) transition, no matrix products, every numpy
        call over N tracks at once. The numbers are those of the products up to rounding
        (the products' BLAS kernel fuses multiply and add, and sums in another order)."""
        raise NotImplementedError(f"{self.name} has no elementwise prediction")


@lru_cache(maxsize=8)
def _block_coefficients(order: int) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Powers of dt and their coefficients in one axis's transition and noise blocks."""
    factorial = np.cumprod(np.r_[1.0, np.arange(1.0, 2 * order + 1)])
    rows, columns = np.indices((order, order))
    transition_power = np.clip(columns - rows, 0, None).astype(np.float64)
    transition_coefficient = np.where(
        columns >= rows, 1.0 / factorial[np.clip(columns - rows, 0, None)], 0.0
    )
    # Integral of the (order-1)-fold integrated white noise: the standard continuous
    # white-noise model (Bar-Shalom, Li & Kirubarajan, §6.2).
    a, b = order - 1 - rows, order - 1 - columns
    noise_power = (a + b + 1).astype(np.float64)
    noise_coefficient = 1.0 / ((a + b + 1) * factorial[a] * factorial[b])
    return transition_power, transition_coefficient, noise_power, noise_coefficient


def _kinematic_block(order: int, dt: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Transition and unit-intensity process noise of one axis, shape dt.shape + (o, o).

    ``order`` 2 is position/velocity (nearly constant velocity, white acceleration),
    3 adds acceleration (nearly constant acceleration, white jerk).
    """
    dt = np.asarray(dt, dtype=np.float64)[..., None, None]
    transition_power, transition_coefficient, noise_power, noise_coefficient = _block_coefficients(
        order
    )
    return transition_coefficient * dt**transition_power, noise_coefficient * dt**noise_power


def _interleave(block: FloatArray, spatial_dims: int, state_size: int) -> FloatArray:
    """Place one per-axis block on every axis of the position/velocity/... layout.

    With the layout ``[p_1..p_D, v_1..v_D, ...]`` that is the Kronecker product of the
    block with the D x D identity, padded with zeros for extra states. Each entry is
    written where it goes in one zeroed array (one strided copy per axis) instead of
    multiplying the block by the identity and copying the product into place: the
    numbers the product would give (entry x 1 on the axis, zero off it), without its
    temporaries.
    """
    order = block.shape[-1]
    full = np.zeros((*block.shape[:-2], state_size, state_size))
    kinematic = order * spatial_dims
    # Axis i of the layout: rows and columns i, D+i, 2D+i, ... hold the block.
    for axis in range(spatial_dims):
        full[..., axis:kinematic:spatial_dims, axis:kinematic:spatial_dims] = block
    return full


@lru_cache(maxsize=8)
def _axis_entries(order: int, spatial_dims: int, state_size: int) -> IntArray:
    """(order, order, D): where entry (k, l) of one axis's block lies for each axis, as
    indices into the (d², N) rows of `entry_rows`."""
    levels = np.arange(order)[:, None, None] * spatial_dims
    axes = np.arange(spatial_dims)[None, None, :]
    rows = levels + axes
    columns = np.swapaxes(levels, 0, 1) + axes
    entries: IntArray = rows * state_size + columns
    return entries


def unit_kinematic_noise(order: int, dt: FloatArray) -> FloatArray:
    """(order, order, N): one axis's white-noise block of unit intensity for each of the
    steps ``dt`` (N,), entry (k, l) the coefficient times dt's power (numpy's powers)."""
    _, _, noise_power, noise_coefficient = _block_coefficients(order)
    block: FloatArray = noise_coefficient[..., None] * dt ** noise_power[..., None]
    return block


def _add_kinematic_noise(
    covariance: FloatArray, dt: FloatArray, order: int, spatial_dims: int, intensity: float
) -> None:
    """The per-axis white-noise blocks of ``order`` (`_kinematic_block` times
    ``intensity``: the built noise's numbers) added onto their entries of every axis of
    the (d, d, N) ``covariance``, in place."""
    block = unit_kinematic_noise(order, dt)
    block *= intensity
    rows = entry_rows(covariance)
    size = covariance.shape[0]
    # Entry (k, l) of the block lies at rows (k D + a) d + (l D + a) for the axes a: one
    # strided slice of the D axes each (no gather and scatter of all of them).
    for level in range(order):
        for other in range(order):
            start = (level * size + other) * spatial_dims
            rows[start : start + (spatial_dims - 1) * (size + 1) + 1 : size + 1] += block[
                level, other
            ]


def _add_derivatives(rows: FloatArray, dt: FloatArray, order: int, spatial_dims: int) -> None:
    """``rows`` (d, ..., N), the tracks last, times the kinematic transition in place:
    each level's rows plus the higher levels' rows times dt^j / j!. Lowest level first,
    so the rows each reads are not moved yet."""
    dims = spatial_dims
    for level in range(order - 1):
        target = rows[level * dims : (level + 1) * dims]
        for higher in range(level + 1, order):
            gap = higher - level
            factor = dt if gap == 1 else dt**gap / math.factorial(gap)
            target += factor * rows[higher * dims : (higher + 1) * dims]


FEW_STEPS = 2048
"""Up to this many per-track steps, matrices are built row by row without looking for
repeated steps: the sort that finds them and the gathers that place them cost more than
they save at a window's thousand tracks (0.13 ms to build 1,055 rows of 533 distinct
steps, 0.16 ms to find and place them), as much at 230 rows of 25 steps."""


@lru_cache(maxsize=64)
def _shared_step_matrices(
    model: _LinearKinematicMotion, dt: float
) -> tuple[FloatArray, FloatArray]:
    """Most scans move every track by the same step: build its matrices once."""
    transition, noise = model.build_matrices(np.asarray(dt))
    transition.flags.writeable = False
    noise.flags.writeable = False
    return transition, noise


@dataclass(frozen=True)
class _LinearKinematicMotion(MotionModel):
    noise_intensity: float = 1.0
    spatial_dims: int = 3
    extra_states: int = 0
    """Inert trailing states (an IMM's turn rate) carried unchanged with tiny noise."""

    order: int = 2

    def __post_init__(self) -> None:
        if self.spatial_dims not in (2, 3):
            raise ValueError(f"spatial_dims must be 2 or 3, got {self.spatial_dims}")
        if not np.isfinite(self.noise_intensity) or self.noise_intensity < 0:
            raise ValueError(f"noise_intensity must be >= 0, got {self.noise_intensity}")

    @property
    def state_size(self) -> int:
        return self.order * self.spatial_dims + self.extra_states

    def _matrices(self, dt: FloatArray) -> tuple[FloatArray, FloatArray]:
        dt = np.asarray(dt, dtype=np.float64)
        if dt.ndim == 0:
            return _shared_step_matrices(self, float(dt))
        if dt.size and (dt == dt.flat[0]).all():
            return _shared_step_matrices(self, float(dt.flat[0]))
        if dt.size <= FEW_STEPS:
            # A handful of tracks: building each row costs less than finding repeats.
            return self.build_matrices(dt)
        steps, which = np.unique(dt, return_inverse=True)
        if len(steps) < dt.size:
            # Tracks fall behind by whole scans: a few distinct steps, each built once, in
            # one vectorized call (elementwise, so the same numbers as one step at a time;
            # a cache per step would miss on the continuous steps of AIS-updated tracks).
            transitions, noises = self.build_matrices(steps)
            return transitions[which.reshape(dt.shape)], noises[which.reshape(dt.shape)]
        return self.build_matrices(dt)

    def build_matrices(self, dt: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Transition and process noise for (an array of) steps ``dt``."""
        transition_block, noise_block = _kinematic_block(self.order, dt)
        transition = _interleave(transition_block, self.spatial_dims, self.state_size)
        for extra in range(self.order * self.spatial_dims, self.state_size):
            transition[..., extra, extra] = 1.0
        return transition, self._noise_from_block(noise_block, dt)

    def build_noise(self, dt: FloatArray) -> FloatArray:
        """`build_matrices`' process noise alone: what a coordinated turn borrows."""
        return self._noise_from_block(_kinematic_block(self.order, dt)[1], dt)

    def _noise_from_block(self, noise_block: FloatArray, dt: FloatArray) -> FloatArray:
        # The intensity on the per-axis block before it is placed: the products it has
        # placed (and zeros, a finite intensity times zero, elsewhere), on 4 entries of
        # a row instead of 49.
        noise_block *= self.noise_intensity
        noise = _interleave(noise_block, self.spatial_dims, self.state_size)
        for extra in range(self.order * self.spatial_dims, self.state_size):
            noise[..., extra, extra] = 1e-8 * np.abs(dt)
        return noise

    def propagate(self, states: FloatArray, dt: FloatArray) -> FloatArray:
        return _transitioned(states, self._matrices(dt)[0])

    def step(self, states: FloatArray, dt: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        # One look-up of the step's matrices instead of three.
        transition, noise = self._matrices(dt)
        return _transitioned(states, transition), transition, noise

    def jacobian(self, states: FloatArray, dt: FloatArray) -> FloatArray:
        return self._matrices(dt)[0]

    def process_noise(self, states: FloatArray, dt: FloatArray) -> FloatArray:
        dt = np.asarray(dt, dtype=np.float64)
        if dt.ndim == 0 or (dt.size and (dt == dt.flat[0]).all()):
            return self._matrices(dt)[1]
        # Per-track steps: the noise alone, row by row (elementwise, so the numbers of
        # `_matrices`' grouped build), without the transition nobody asked for.
        return self.build_noise(dt)

    predicts_entries: ClassVar[bool] = True

    def predict_entries(
        self, states: FloatArray, covariance: FloatArray, dt: FloatArray
    ) -> FloatArray:
        # F is the identity plus dt^j / j! between an axis's levels: F P is P plus scaled
        # rows, (F P) Fᵀ the same on its columns; the inert extras stay put.
        kinematic = self.order * self.spatial_dims
        moved = states.copy()
        _add_derivatives(moved.T[:kinematic], dt, self.order, self.spatial_dims)
        _add_derivatives(covariance, dt, self.order, self.spatial_dims)
        _add_derivatives(np.swapaxes(covariance, 0, 1), dt, self.order, self.spatial_dims)
        _add_kinematic_noise(covariance, dt, self.order, self.spatial_dims, self.noise_intensity)
        extra_noise = 1e-8 * np.abs(dt)
        for extra in range(kinematic, self.state_size):
            covariance[extra, extra] += extra_noise
        symmetrize_entries(covariance)
        return moved


def _transitioned(states: FloatArray, transition: FloatArray) -> FloatArray:
    """States moved by a shared (d, d) or per-state (N, d, d) transition."""
    if transition.ndim == 2:
        shared: FloatArray = states @ transition.T
        return shared
    result: FloatArray = (transition @ states[..., None])[..., 0]
    return result


@dataclass(frozen=True)
class ConstantVelocityMotion(_LinearKinematicMotion):
    """Nearly constant velocity: white acceleration of intensity q (m²/s³) per axis."""

    order: int = 2


@dataclass(frozen=True)
class ConstantAccelerationMotion(_LinearKinematicMotion):
    """Nearly constant acceleration: state ``[p, v, a]``, white jerk of intensity q (m²/s⁵)."""

    order: int = 3


TURN_RATE_STEP = 1e-5
"""rad/s: the step of the central difference that gives the Jacobian's turn-rate column."""


def _within(rate: FloatArray, limit: FloatArray) -> FloatArray:
    """``rate`` held within ±``limit`` (np.clip's per-call cost is several times this)."""
    return np.minimum(np.maximum(rate, -limit), limit)


@dataclass(frozen=True)
class CoordinatedTurnMotion(MotionModel):
    """Horizontal coordinated turn at an estimated rate ω (rad/s), vertical constant velocity.

    State ``[p, v, ω]``; the turn happens in the first two (east, north) axes.

    The rate an object can turn at is bounded (`turn_rate_limit`): by the lateral
    acceleration it can pull, |ω| <= ``max_lateral_acceleration_mps2`` / speed, and by
    ``max_turn_rate_deg_s`` however slow it goes. A prediction turns at the estimated
    rate held within that bound, and carries the bounded rate on. Without it, an object
    seen about once per turn (a thermalling glider every 10-20 s) let the filter explain
    its positions by any rate that aliases to the same angle, with a speed to match: a
    glider estimated at 1,700 m/s turning at 40 deg/s, predicted kilometres off.
    """

    noise_intensity: float = 1.0
    turn_rate_noise: float = 1e-4
    """Intensity of the white noise on ω, rad²/s³."""
    spatial_dims: int = 3
    max_lateral_acceleration_mps2: float = 25.0
    """About 2.5 g: more than an airliner (< 0.5 g), a thermalling glider or a light
    aircraft in a steep turn (1-1.5 g) or a small drone (up to about 2 g) pulls in a
    sustained turn; at 250 m/s it allows 5.7 deg/s, at 25 m/s 57 deg/s."""
    max_turn_rate_deg_s: float = 60.0
    """The bound below about 24 m/s, where the acceleration's would pass it: a slow
    multicopter pivots faster, but over a few seconds its track is a position, not a
    turn."""

    def __post_init__(self) -> None:
        if self.spatial_dims not in (2, 3):
            raise ValueError(f"spatial_dims must be 2 or 3, got {self.spatial_dims}")
        if not (self.max_lateral_acceleration_mps2 > 0 and self.max_turn_rate_deg_s > 0):
            raise ValueError(
                "max_lateral_acceleration_mps2 and max_turn_rate_deg_s must be positive, got "
                f"{self.max_lateral_acceleration_mps2} and {self.max_turn_rate_deg_s}"
            )

    def turn_rate_limit(self, states: FloatArray) -> FloatArray:
        """The largest |ω| (rad/s) an object of these states can turn at."""
        dims = self.spatial_dims
        speed = np.hypot(states[..., dims], states[..., dims + 1])
        # A floor on the speed instead of an errstate block: this runs three times a
        # prediction, on a few tracks at a time, where numpy's per-call costs dominate.
        limit = self.max_lateral_acceleration_mps2 / np.maximum(speed, 1e-9)
        return np.minimum(limit, math.radians(self.max_turn_rate_deg_s))

    def _bounded(self, states: FloatArray) -> FloatArray:
        """The states' turn rates held within `turn_rate_limit`."""
        return _within(states[..., -1], self.turn_rate_limit(states))

    @property
    def state_size(self) -> int:
        return 2 * self.spatial_dims + 1

    def propagate(self, states: FloatArray, dt: FloatArray) -> FloatArray:
        dt = np.broadcast_to(np.asarray(dt, dtype=np.float64), states.shape[:-1])
        rate = self._bounded(states)
        return self._moved(states, dt, rate, self._turned(states, self._terms(rate, dt)))

    def step(self, states: FloatArray, dt: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        dt = np.broadcast_to(np.asarray(dt, dtype=np.float64), states.shape[:-1])
        rates = self._difference_rates(states)
        # The bounded rate and the central difference's two rates turned in one pass
        # over three rows of rates (elementwise: each row's numbers those of turning it
        # alone); the state's turn serves both its propagation and its Jacobian.
        terms = self._terms(rates, dt)
        turned = self._turned(states, terms)
        own_terms = (terms[0][0], terms[1][0], terms[2][0], terms[3][0])
        return (
            self._moved(states, dt, rates[0], tuple(entry[0] for entry in turned)),
            self._jacobian(states, dt, own_terms, rates, turned),
            self.process_noise(states, dt),
        )

    def _difference_rates(self, states: FloatArray) -> FloatArray:
        """(3, ...): the states' bounded turn rate, and the bounded rates a step above and
        below it that the Jacobian's turn-rate column is the central difference of (same
        speed, same limit: the bound of ``states`` holds for all three)."""
        limit = self.turn_rate_limit(states)
        rate_estimate = states[..., -1]
        rates = np.empty((3, *rate_estimate.shape))
        rates[0] = rate_estimate
        np.add(rate_estimate, TURN_RATE_STEP, out=rates[1])
        np.subtract(rate_estimate, TURN_RATE_STEP, out=rates[2])
        # `_within` of the three rows at once (elementwise: each row's numbers).
        np.maximum(rates, -limit, out=rates)
        np.minimum(rates, limit, out=rates)
        return rates

    def _moved(
        self,
        states: FloatArray,
        dt: FloatArray,
        rate: FloatArray,
        turned: tuple[FloatArray, ...],
    ) -> FloatArray:
        """`propagate` with the bounded turn rate of ``states`` and the entries its turn
        over ``dt`` (same shape) moves (`_turned`) known."""
        dims = self.spatial_dims
        result = states.copy()
        (result[..., 0], result[..., 1], result[..., dims], result[..., dims + 1]) = turned
        result[..., -1] = rate
        if dims == 3:
            result[..., 2] = states[..., 2] + dt * states[..., 5]
        return result

    def _turned(
        self, states: FloatArray, terms: tuple[FloatArray, FloatArray, FloatArray, FloatArray]
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """The entries a turn moves: east and north position, east and north velocity
        (``terms`` of the states' shape, or with a leading axis of several rates)."""
        dims = self.spatial_dims
        sine_term, cosine_term, cos_rt, sin_rt = terms
        vx, vy = states[..., dims], states[..., dims + 1]
        return (
            states[..., 0] + sine_term * vx - cosine_term * vy,
            states[..., 1] + cosine_term * vx + sine_term * vy,
            cos_rt * vx - sin_rt * vy,
            sin_rt * vx + cos_rt * vy,
        )

    @staticmethod
    def _terms(
        rate: FloatArray, dt: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """sin(ωT)/ω, (1-cos ωT)/ω, cos ωT, sin ωT, with the ω -> 0 limits."""
        angle = rate * dt
        small = np.abs(angle) < 1e-6
        safe_rate = np.where(small, 1.0, rate)
        sine, cosine = np.sin(angle), np.cos(angle)
        sine_term = np.where(small, dt * (1 - angle**2 / 6), sine / safe_rate)
        cosine_term = np.where(small, dt * angle / 2, (1 - cosine) / safe_rate)
        return sine_term, cosine_term, cosine, sine

    def jacobian(self, states: FloatArray, dt: FloatArray) -> FloatArray:
        dt = np.broadcast_to(np.asarray(dt, dtype=np.float64), states.shape[:-1])
        rates = self._difference_rates(states)
        terms = self._terms(rates, dt)
        own_terms = (terms[0][0], terms[1][0], terms[2][0], terms[3][0])
        return self._jacobian(states, dt, own_terms, rates, self._turned(states, terms))

    def _jacobian(
        self,
        states: FloatArray,
        dt: FloatArray,
        terms: tuple[FloatArray, FloatArray, FloatArray, FloatArray],
        rates: FloatArray,
        turned: tuple[FloatArray, ...],
    ) -> FloatArray:
        """`jacobian` with the turn terms of the bounded rate, the three rates of
        `_difference_rates` and their turned entries (`_turned`) known. The bound's
        dependence on speed is left out of the velocity columns (it moves the rate only
        where the bound holds it, by the speed's small share of the change)."""
        dims = self.spatial_dims
        size = self.state_size
        sine_term, cosine_term, cos_rt, sin_rt = terms
        jacobian = np.broadcast_to(np.eye(size), (*states.shape[:-1], size, size)).copy()
        jacobian[..., 0, dims] = sine_term
        jacobian[..., 0, dims + 1] = -cosine_term
        jacobian[..., 1, dims] = cosine_term
        jacobian[..., 1, dims + 1] = sine_term
        jacobian[..., dims, dims] = cos_rt
        jacobian[..., dims, dims + 1] = -sin_rt
        jacobian[..., dims + 1, dims] = sin_rt
        jacobian[..., dims + 1, dims + 1] = cos_rt
        if dims == 3:
            jacobian[..., 2, 5] = dt
        # The turn-rate column by central differences: the analytic form has removable
        # singularities at ω = 0 that cost more code than they save. Its last entry is 1
        # within the bound and 0 where the bound holds the rate (a rate beyond it moves
        # nothing).
        scale = 2 * TURN_RATE_STEP
        # The two moved states differ only where the turn acts and in the rate itself;
        # every other entry is the same number twice, its difference (0, NaN where not
        # finite) taken as such instead of moving whole copies of the states.
        column = jacobian[..., :, -1]
        column[...] = (states - states) / scale
        if dims == 3:
            vertical = states[..., 2] + dt * states[..., 5]
            column[..., 2] = (vertical - vertical) / scale
        for row, entry in zip((0, 1, dims, dims + 1), turned, strict=True):
            column[..., row] = (entry[1] - entry[2]) / scale
        column[..., -1] = (rates[1] - rates[2]) / scale
        return jacobian

    predicts_entries: ClassVar[bool] = True

    def predict_entries(
        self, states: FloatArray, covariance: FloatArray, dt: FloatArray
    ) -> FloatArray:
        # The Jacobian (`_jacobian`) is the identity but for the turn's rows (east and
        # north position and velocity: the turn terms on the horizontal velocity and the
        # central difference on the rate), the height's dt on its rate and the rate's own
        # 0 or 1: J P is P with those rows replaced, (J P) Jᵀ the same on its columns.
        # The turn-rate column's other entries are differences of equal numbers: zero
        # for finite states.
        rates = self._difference_rates(states)
        terms = self._terms(rates, dt)
        turned = self._turned(states, terms)
        moved = self._moved(states, dt, rates[0], tuple(entry[0] for entry in turned))
        sine_term, cosine_term, cos_rt, sin_rt = (term[0] for term in terms)
        scale = 2 * TURN_RATE_STEP
        east, north, east_speed, north_speed = ((entry[1] - entry[2]) / scale for entry in turned)
        turn_rows = np.array(
            [
                [sine_term, -cosine_term, east],
                [cosine_term, sine_term, north],
                [cos_rt, -sin_rt, east_speed],
                [sin_rt, cos_rt, north_speed],
            ]
        )
        own_rate = (rates[1] - rates[2]) / scale
        self._jacobian_times(covariance, turn_rows, dt, own_rate)
        self._jacobian_times(np.swapaxes(covariance, 0, 1), turn_rows, dt, own_rate)
        _add_kinematic_noise(covariance, dt, 2, self.spatial_dims, self.noise_intensity)
        covariance[-1, -1] += self.turn_rate_noise * dt
        symmetrize_entries(covariance)
        return moved

    def _jacobian_times(
        self, rows: FloatArray, turn_rows: FloatArray, dt: FloatArray, own_rate: FloatArray
    ) -> None:
        """``rows`` (d, d, N) replaced by J times them, in place; ``turn_rows`` (4, 3, N):
        the turn's rows of J on the horizontal velocity and the rate."""
        dims = self.spatial_dims
        sources = rows[[dims, dims + 1, -1]]
        turned = (turn_rows[:, :, None, :] * sources).sum(axis=1)
        rows[0] += turned[0]
        rows[1] += turned[1]
        rows[dims] = turned[2]
        rows[dims + 1] = turned[3]
        if dims == 3:
            rows[2] += dt * rows[5]
        rows[-1] *= own_rate

    @cached_property
    def _velocity_motion(self) -> ConstantVelocityMotion:
        """Its position/velocity noise: that of constant velocity (built once, not per
        prediction)."""
        return ConstantVelocityMotion(
            self.noise_intensity, spatial_dims=self.spatial_dims, extra_states=1
        )

    def process_noise(self, states: FloatArray, dt: FloatArray) -> FloatArray:
        dt = np.broadcast_to(np.asarray(dt, dtype=np.float64), states.shape[:-1])
        size = self.state_size
        if dt.ndim and dt.size and not (dt == dt.flat[0]).all():
            # Per-track steps: a new array of the constant-velocity noise, filled in
            # place instead of copied.
            noise = self._velocity_motion.build_noise(dt)
        else:
            velocity_noise = self._velocity_motion.process_noise(states, dt)
            noise = np.broadcast_to(velocity_noise, (*dt.shape, size, size)).copy()
        noise[..., -1, -1] = self.turn_rate_noise * dt
        return noise
