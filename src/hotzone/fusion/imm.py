"""Interacting Multiple Model filtering (Blom & Bar-Shalom), on arrays of tracks.

Every mode shares the state layout of the largest model (position, velocity, turn rate),
so a constant-velocity mode carries the turn rate as an inert component; that is what
lets mixing add and subtract estimates of different modes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from hotzone.fusion import kernels
from hotzone.fusion.arrays import ensure_positive_definite
from hotzone.fusion.estimates import Estimates
from hotzone.fusion.measurement import MeasurementModel
from hotzone.fusion.motion import ConstantVelocityMotion, CoordinatedTurnMotion, MotionModel
from hotzone.fusion.predictor import Predictor, group_steps, kalman_predict
from hotzone.fusion.updater import Updater, joseph_covariances, kalman_update
from hotzone.types.arrays import FloatArray


def default_imm_models(
    noise_intensity: float = 1.0, turn_noise_intensity: float = 4.0, spatial_dims: int = 3
) -> tuple[MotionModel, ...]:
    """Constant velocity (quiet) and coordinated turn (livelier), in one 7-state layout."""
    return (
        ConstantVelocityMotion(noise_intensity, spatial_dims=spatial_dims, extra_states=1),
        CoordinatedTurnMotion(turn_noise_intensity, spatial_dims=spatial_dims),
    )


ENTRY_ROWS = 2048
"""Tracks an elementwise IMM prediction works on at a time: a window's end of a thousand
tracks in one block; at 100,000 tracks the entry-by-entry copies stay a few megabytes."""

COMBINED_ROWS = 1024
"""Tracks moment-matched at a time: the few (rows, r, d, d) arrays of one block stay in
the processor's cache across the block's passes instead of streaming through memory."""


def combine(
    mode_states: FloatArray, mode_covariances: FloatArray, probabilities: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Moment-matched mixture of (N, r, d) / (N, r, d, d) weighted by (N, r).

    Block of rows by block of rows, every mode at once: each mode's spread term
    (outer product of its spread, plus its covariance), then the weighted sum over the
    modes in one ``einsum``, which adds the products mode by mode onto zero: (0 + w₀ T₀)
    + w₁ T₁, each product rounded, no fused multiply-add, the numbers of scaling each
    term and adding it to a zeroed sum (`tests/fusion/test_same_numbers.py` compares
    them). No (N, r, d, d) temporaries beyond a block's."""
    state = np.einsum("nr,nrd->nd", probabilities, mode_states)
    count, size = state.shape
    modes = mode_states.shape[1]
    covariance = np.empty((count, size, size))
    rows = min(count, COMBINED_ROWS)
    spread_buffer = np.empty((rows, modes, size))
    terms_buffer = np.empty((rows, modes, size, size))
    total_buffer = np.empty((rows, size, size))
    for start in range(0, count, COMBINED_ROWS):
        block = slice(start, min(start + COMBINED_ROWS, count))
        length = block.stop - start
        spread, terms = spread_buffer[:length], terms_buffer[:length]
        total = total_buffer[:length]
        np.subtract(mode_states[block], state[block, None, :], out=spread)
        # The outer products by einsum: one product per entry like a broadcast
        # multiply, without its slow inner loop over d entries.
        np.einsum("nmi,nmj->nmij", spread, spread, out=terms)
        terms += mode_covariances[block]
        np.einsum("nm,nmij->nij", probabilities[block], terms, out=total)
        # `symmetrize`, into the block of the result.
        symmetric = covariance[block]
        np.add(total, np.swapaxes(total, -1, -2), out=symmetric)
        symmetric *= 0.5
    return state, covariance


def _spread_products(spread: FloatArray) -> FloatArray:
    """(d, d, N) entry by entry: δ δᵀ of the (N, d) modes' differences δ = x₀ - x₁, each
    entry δᵢ δⱼ (exactly symmetric)."""
    columns = np.ascontiguousarray(spread.T)
    products: FloatArray = columns[:, None, :] * columns[None, :, :]
    return products


def _two_mode_mixture(
    mode_entries: FloatArray,
    weights: FloatArray,
    spread_outer: FloatArray,
    scratch: FloatArray,
    out: FloatArray,
) -> None:
    """The moment-matched covariance of two modes (``mode_entries`` (2, d, d, N), entry
    by entry) weighted by ``weights`` (2, N): w₀ P₀ + w₁ P₁ + w₀ w₁ δ δᵀ, into ``out``
    (d, d, N); ``scratch``: an array of its shape to use.

    With weights that sum to one, each mode's spread from the mixture's mean is the
    other's weight times ±δ (``spread_outer``: `_spread_products`), so the spread terms
    add up to w₀ w₁² δ δᵀ + w₁ w₀² δ δᵀ = w₀ w₁ δ δᵀ: no outer product per mode, and
    symmetric covariances stay exactly symmetric (each term is)."""
    np.multiply(mode_entries[0], weights[0], out=out)
    np.multiply(mode_entries[1], weights[1], out=scratch)
    out += scratch
    np.multiply(spread_outer, weights[0] * weights[1], out=scratch)
    out += scratch


def _modes(estimates: Estimates, role: str) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The per-mode states, covariances and probabilities an IMM ``role`` needs."""
    if (
        estimates.mode_states is None
        or estimates.mode_covariances is None
        or estimates.mode_probabilities is None
    ):
        raise ValueError(f"{role} needs estimates with modes")
    return estimates.mode_states, estimates.mode_covariances, estimates.mode_probabilities


@dataclass(frozen=True)
class IMMPredictor(Predictor):
    """IMM mixing and per-mode extended Kalman prediction."""

    models: tuple[MotionModel, ...] = field(default_factory=default_imm_models)
    """Motion models of the modes; all must share one state size."""
    mean_sojourn_s: float = 20.0
    """Expected time a target stays in one mode; sets the Markov switching matrix."""
    initial_probabilities: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        sizes = {model.state_size for model in self.models}
        if len(sizes) != 1:
            raise ValueError(f"IMM models must share one state size, got {sorted(sizes)}")
        if self.mean_sojourn_s <= 0:
            raise ValueError("mean_sojourn_s must be positive")

    @property
    def state_size(self) -> int:
        return self.models[0].state_size

    @property
    def mode_names(self) -> tuple[str, ...]:
        return tuple(model.name for model in self.models)

    def switching(self, dt: FloatArray) -> FloatArray:
        """(N, r, r) probabilities of going from mode i (row) to mode j in ``dt``."""
        modes = len(self.models)
        stay = np.exp(-np.abs(np.atleast_1d(dt)) / self.mean_sojourn_s)
        leave = (1 - stay) / max(modes - 1, 1)
        matrix = np.repeat(leave, modes * modes).reshape(stay.shape[0], modes, modes)
        matrix.reshape(stay.shape[0], modes * modes)[:, :: modes + 1] = stay[:, None]
        return matrix

    def initial_estimates(self, state: FloatArray, covariance: FloatArray) -> Estimates:
        modes = len(self.models)
        count = state.shape[0]
        if self.initial_probabilities is None:
            probabilities = np.full((count, modes), 1.0 / modes)
        else:
            probabilities = np.broadcast_to(
                np.asarray(self.initial_probabilities, dtype=np.float64), (count, modes)
            ).copy()
        mode_states = np.repeat(state[:, None, :], modes, axis=1)
        mode_covariances = np.repeat(covariance[:, None, :, :], modes, axis=1)
        return Estimates(state, covariance, mode_states, mode_covariances, probabilities)

    def predict(self, estimates: Estimates, dt: FloatArray) -> Estimates:
        if estimates.size == 0:
            return estimates
        previous_states, previous_covariances, previous = _modes(estimates, "IMMPredictor")
        count = estimates.size
        dt_tracks = np.broadcast_to(np.asarray(dt, dtype=np.float64), (count,))
        switching = self.switching(dt_tracks)
        predicted_probabilities = np.einsum("nij,ni->nj", switching, previous)
        predicted_probabilities = np.maximum(predicted_probabilities, 1e-12)
        # mixing[n, i, j]: probability the track was in mode i given it is now in mode j.
        mixing = switching * previous[:, :, None] / predicted_probabilities[:, None, :]
        if self._elementwise:
            return self._predicted_entries(
                previous_states, previous_covariances, mixing, predicted_probabilities, dt_tracks
            )
        mode_states = np.empty_like(previous_states)
        mode_covariances = np.empty_like(previous_covariances)
        steps = group_steps(dt_tracks)  # the same steps for every mode
        for target_mode, model in enumerate(self.models):
            weights = mixing[:, :, target_mode]
            mixed_state, mixed_covariance = combine(previous_states, previous_covariances, weights)
            # Written straight into the mode's slots (no per-mode result to copy in).
            kalman_predict(
                model,
                mixed_state,
                mixed_covariance,
                dt_tracks,
                steps,
                out=(mode_states[:, target_mode], mode_covariances[:, target_mode]),
            )
        predicted_probabilities /= predicted_probabilities.sum(axis=1, keepdims=True)
        state, covariance = combine(mode_states, mode_covariances, predicted_probabilities)
        return Estimates(state, covariance, mode_states, mode_covariances, predicted_probabilities)

    @property
    def _elementwise(self) -> bool:
        """Two modes whose models predict entry by entry (`MotionModel.predict_entries`)."""
        return len(self.models) == 2 and all(model.predicts_entries for model in self.models)

    @cached_property
    def _kernel_parameters(self) -> kernels.TwoModeParameters | None:
        """What the compiled two-mode prediction needs of the models, None where it does
        not apply (`kernels.two_mode_parameters`)."""
        return kernels.two_mode_parameters(self.models)

    def _predicted_entries(
        self,
        previous_states: FloatArray,
        previous_covariances: FloatArray,
        mixing: FloatArray,
        predicted_probabilities: FloatArray,
        dt: FloatArray,
    ) -> Estimates:
        """The prediction of two modes with the covariances laid out entry by entry
        ((r, d, d, n): every numpy call runs over a block's tracks, not over a row of d
        entries), `ENTRY_ROWS` tracks at a time (the block's arrays stay small); each
        track's numbers depend on its own row alone."""
        count, _, size = previous_states.shape
        predicted_probabilities /= predicted_probabilities.sum(axis=1, keepdims=True)
        if self._kernel_parameters is not None and kernels.use_kernel(count):
            mode_states, mode_covariances, state, covariance = kernels.predict_two_modes(
                self._kernel_parameters,
                previous_states,
                previous_covariances,
                mixing,
                predicted_probabilities,
                dt,
            )
            return Estimates(
                state, covariance, mode_states, mode_covariances, predicted_probabilities
            )
        mode_states = np.empty_like(previous_states)
        mode_covariances = np.empty_like(previous_covariances)
        state = np.empty((count, size))
        covariance = np.empty((count, size, size))
        for start in range(0, count, ENTRY_ROWS):
            rows = slice(start, min(start + ENTRY_ROWS, count))
            self._predict_block(
                previous_states[rows],
                previous_covariances[rows],
                mixing[rows],
                predicted_probabilities[rows],
                dt[rows],
                out=(mode_states[rows], mode_covariances[rows], state[rows], covariance[rows]),
            )
        return Estimates(state, covariance, mode_states, mode_covariances, predicted_probabilities)

    def _predict_block(
        self,
        previous_states: FloatArray,
        previous_covariances: FloatArray,
        mixing: FloatArray,
        probabilities: FloatArray,
        dt: FloatArray,
        out: tuple[FloatArray, FloatArray, FloatArray, FloatArray],
    ) -> None:
        """One block of `_predicted_entries`: each target mode's mixture of the previous
        modes (`_two_mode_mixture`, one δ δᵀ for both), predicted by its model
        (`MotionModel.predict_entries`), then the modes' moment-matched mixture, written
        into ``out`` (mode states, mode covariances, state, covariance)."""
        mode_states, mode_covariances, state, covariance = out
        previous_entries = np.ascontiguousarray(previous_covariances.transpose(1, 2, 3, 0))
        spread_outer = _spread_products(previous_states[:, 0] - previous_states[:, 1])
        scratch = np.empty_like(spread_outer)
        mode_entries = np.empty_like(previous_entries)
        for target_mode, model in enumerate(self.models):
            weights = mixing[:, :, target_mode]
            mixed_state = weights[:, 0, None] * previous_states[:, 0]
            mixed_state += weights[:, 1, None] * previous_states[:, 1]
            _two_mode_mixture(
                previous_entries,
                np.ascontiguousarray(weights.T),
                spread_outer,
                scratch,
                out=mode_entries[target_mode],
            )
            mode_states[:, target_mode] = model.predict_entries(
                mixed_state, mode_entries[target_mode], dt
            )
        np.multiply(probabilities[:, 0, None], mode_states[:, 0], out=state)
        state += probabilities[:, 1, None] * mode_states[:, 1]
        # Its own array: ``previous_entries`` is a view of the caller's rows where the
        # transpose is contiguous already (a block of one track).
        combined = np.empty_like(spread_outer)
        _two_mode_mixture(
            mode_entries,
            np.ascontiguousarray(probabilities.T),
            _spread_products(mode_states[:, 0] - mode_states[:, 1]),
            scratch,
            out=combined,
        )
        np.copyto(mode_covariances, mode_entries.transpose(3, 0, 1, 2))
        np.copyto(covariance, combined.transpose(2, 0, 1))


@dataclass(frozen=True)
class IMMUpdater(Updater):
    """Per-mode extended Kalman updates; mode probabilities follow the likelihoods."""

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
        prior_states, prior_covariances, prior_probabilities = _modes(predicted, "IMMUpdater")
        compiled = _compiled_update_applies(model, measured, noise)
        if compiled:
            mode_states, mode_covariances, log_likelihoods = _compiled_mode_updates(
                model, prior_states, prior_covariances, measured, noise, sensor_positions
            )
        else:
            modes = prior_states.shape[1]
            mode_states = np.empty_like(prior_states)
            mode_covariances = np.empty_like(prior_covariances)
            log_likelihoods = np.empty((predicted.size, modes))
            for mode in range(modes):
                # Written straight into the mode's slots (no per-mode result to copy in).
                kalman_update(
                    model,
                    prior_states[:, mode],
                    prior_covariances[:, mode],
                    measured,
                    noise,
                    sensor_positions,
                    with_likelihood=True,
                    out=(
                        mode_states[:, mode],
                        mode_covariances[:, mode],
                        log_likelihoods[:, mode],
                    ),
                )
        log_weights = np.log(prior_probabilities) + log_likelihoods
        log_weights -= log_weights.max(axis=1, keepdims=True)
        log_weights = np.where(np.isfinite(log_weights), log_weights, -700.0)
        probabilities = np.exp(log_weights)
        probabilities = np.maximum(probabilities / probabilities.sum(axis=1, keepdims=True), 1e-9)
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        if compiled:
            state, covariance = kernels.moment_matched(mode_states, mode_covariances, probabilities)
        else:
            state, covariance = combine(mode_states, mode_covariances, probabilities)
        return Estimates(state, covariance, mode_states, mode_covariances, probabilities)


def _compiled_update_applies(
    model: MeasurementModel, measured: FloatArray, noise: FloatArray
) -> bool:
    """Whether the modes' Kalman updates take the compiled kernel
    (`kernels.update_positions`): a measurement of the first 2 or 3 state entries, one
    row of measurement and noise per track, and the kernel in use
    (`kernels.use_update_kernel`)."""
    length = model.position_size
    return (
        length in (2, 3)
        and measured.ndim == 2
        and measured.shape[1] == length
        and noise.shape == (len(measured), length, length)
        and kernels.use_update_kernel()
    )


def _compiled_mode_updates(
    model: MeasurementModel,
    prior_states: FloatArray,
    prior_covariances: FloatArray,
    measured: FloatArray,
    noise: FloatArray,
    sensor_positions: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """`kalman_update` of every mode (with likelihoods), the kernel computing the rows
    and numpy what it calls once for the whole batch: the Joseph form of rows whose
    short form lost definiteness, the definiteness check where the kernel's own leaves
    a doubt (`kernels.DEFINITE_MARGIN`; `ensure_positive_definite` mode by mode where it
    fails, as the numpy path calls it) and the determinants.
    Returns the modes' states, covariances and log-likelihoods."""
    mode_states, mode_covariances, distances, innovation_covariances, suspect, uncertain = (
        kernels.update_positions(prior_states, prior_covariances, measured, noise)
    )
    modes = prior_states.shape[1]
    positions = np.broadcast_to(sensor_positions, (len(measured), 3))
    for mode in range(modes):
        rows = suspect[:, mode]
        if rows.any():
            mode_covariances[rows, mode] = joseph_covariances(
                model,
                prior_states[rows, mode],
                prior_covariances[rows, mode],
                noise[rows],
                positions[rows],
            )
    try:
        if uncertain.any():
            np.linalg.cholesky(mode_covariances)
    except np.linalg.LinAlgError:
        for mode in range(modes):
            covariances = mode_covariances[:, mode]
            repaired = ensure_positive_definite(covariances)
            if repaired is not covariances:
                covariances[...] = repaired
    _, log_determinants = np.linalg.slogdet(innovation_covariances)
    length = innovation_covariances.shape[-1]
    log_likelihoods = -0.5 * (distances + log_determinants + length * np.log(2 * np.pi))
    return mode_states, mode_covariances, log_likelihoods
