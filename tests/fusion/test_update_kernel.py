"""The compiled IMM update (`hotzone.fusion.kernels.update_positions`, `moment_matched`)
against the numpy path, array for array and bit for bit.

``HOTZONE_KERNELS`` picks the path: ``0`` numpy, ``1`` the kernels from the first call.
The kernel reproduces numpy's matrix products as this process's BLAS computes them (each
checked once per process on a probe, `kernels._update_probe_agrees`), so the
comparisons are exact: no tolerance, signs of zero included.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
import pytest

from hotzone.fusion import kernels
from hotzone.fusion import updater as updater_module
from hotzone.fusion.estimates import Estimates
from hotzone.fusion.imm import IMMPredictor, IMMUpdater, combine, default_imm_models
from hotzone.fusion.measurement import PolarMeasurement, PositionMeasurement
from hotzone.types.arrays import FloatArray
from tests.fusion.test_imm_entries import _estimates, _steps
from tests.fusion.test_same_numbers import (
    _update_cases,
)


def update_kernels_here() -> bool:
    """Whether this machine's numpy sums as the kernels do (the probe agrees): then the
    update kernels are taken and compared bit for bit; else they are refused, and the
    tests check that refusal (another processor's OpenBLAS may sum otherwise)."""
    return kernels._compiled() is not None and kernels._update_probe_agrees()


def _assert_identical(first: Estimates, second: Estimates) -> None:
    for mine, theirs in zip(first._values(), second._values(), strict=True):
        assert mine is not None and theirs is not None
        assert mine.shape == theirs.shape
        assert np.array_equal(mine, theirs, equal_nan=True)
        assert (np.signbit(mine) == np.signbit(theirs)).all()


def _both_updates(
    monkeypatch: pytest.MonkeyPatch,
    predicted: Estimates,
    model: PositionMeasurement,
    measured: FloatArray,
    noise: FloatArray,
) -> tuple[Estimates, Estimates]:
    """The numpy path's update and the kernels', the kernels' use counted."""
    sensors = np.zeros((predicted.size, 3))
    monkeypatch.setenv(kernels.KERNELS_VARIABLE, "0")
    calls = kernels.update_kernel_calls()
    with np.errstate(all="ignore"):
        numpy_path = IMMUpdater().update(predicted, model, measured, noise, sensors)
    assert kernels.update_kernel_calls() == calls
    monkeypatch.setenv(kernels.KERNELS_VARIABLE, "1")
    with np.errstate(all="ignore"):
        compiled = IMMUpdater().update(predicted, model, measured, noise, sensors)
    taken = 1 if update_kernels_here() else 0
    assert kernels.update_kernel_calls() == calls + taken, "the update kernel was (not) used"
    return numpy_path, compiled


def _measurements(
    predicted: Estimates, dims: int, seed: int, per_row_noise: bool = True
) -> tuple[FloatArray, FloatArray]:
    rng = np.random.default_rng(seed)
    count = predicted.size
    measured = predicted.state[:, :dims] + rng.normal(size=(count, dims)) * 80.0
    if not per_row_noise:
        return measured, np.broadcast_to(np.eye(dims) * 60.0**2, (count, dims, dims))
    root = rng.normal(size=(count, dims, dims)) * 40.0
    noise = root @ np.swapaxes(root, -1, -2) + np.eye(dims) * 25.0
    return measured, noise


@pytest.mark.parametrize("spatial_dims", [2, 3])
@pytest.mark.parametrize("count", [1, 300, 2_500], ids=["one-track", "a-window", "many"])
def test_the_update_kernel_gives_the_numpy_path_s_bits(
    monkeypatch: pytest.MonkeyPatch, spatial_dims: int, count: int
) -> None:
    """Predicted IMM estimates (modes apart), a position measurement of 2 or 3 entries
    with each row's own noise, or one noise for all (a broadcast view)."""
    predictor = IMMPredictor(default_imm_models(spatial_dims=spatial_dims))
    predicted = predictor.predict(
        _estimates(predictor, count, seed=count), _steps(count, seed=count + 1)
    )
    model = PositionMeasurement(spatial_dims)
    for per_row_noise in (True, False):
        measured, noise = _measurements(predicted, spatial_dims, count + 2, per_row_noise)
        numpy_path, compiled = _both_updates(monkeypatch, predicted, model, measured, noise)
        _assert_identical(numpy_path, compiled)
        assert compiled.mode_probabilities is not None
        assert not np.array_equal(compiled.mode_probabilities, predicted.mode_probabilities)


@pytest.mark.parametrize("count", [300, 1_000])
def test_rows_that_lose_definiteness_or_are_nan_take_the_numpy_path_s_repairs(
    monkeypatch: pytest.MonkeyPatch, count: int
) -> None:
    """Nearly singular covariances (the short form fails on the diagonal: the Joseph
    form; Cholesky fails: the eigenvalue repair) and NaN rows, through the kernel's
    flags and the LAPACK calls they lead to: the same numbers."""
    size = 7
    flags: list[tuple[int, int]] = []
    update = kernels.update_positions

    def spied(*arguments: FloatArray) -> tuple[FloatArray, ...]:
        result = update(*arguments)
        flags.append((int(result[4].sum()), int(result[5].sum())))
        return result

    monkeypatch.setattr(kernels, "update_positions", spied)
    rng = np.random.default_rng(count)
    cases = _update_cases(count, size)
    # Nearly rank one, positive on the diagonal: Cholesky's later pivots ~1e-10 of it.
    directions = rng.normal(size=(count, size))
    nearly_singular = directions[:, :, None] * directions[:, None, :] * 1e6 + np.eye(size) * 1e-4
    cases["nearly-singular"] = (cases["healthy"][0], nearly_singular)
    for name, (states, covariances) in cases.items():
        mode_states = np.stack([states, states + rng.normal(size=states.shape) * 30.0], axis=1)
        mode_covariances = np.stack([covariances, covariances * 1.5], axis=1)
        probabilities = rng.uniform(0.05, 1.0, (count, 2))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        state, covariance = combine(mode_states, mode_covariances, probabilities)
        predicted = Estimates(state, covariance, mode_states, mode_covariances, probabilities)
        measured, noise = _measurements(predicted, 3, count)
        if name == "fragile":
            noise = np.broadcast_to(np.eye(3) * 1e-4, (count, 3, 3))
        _assert_identical(
            *_both_updates(monkeypatch, predicted, PositionMeasurement(3), measured, noise)
        )
    if not update_kernels_here():
        assert not flags  # refused: the numpy path throughout
        return
    suspect, uncertain = np.sum(flags, axis=0)
    assert suspect > 0, "no row took the Joseph form: that path is not compared"
    assert uncertain > suspect, "no covariance left a doubt: LAPACK's check is not compared"


def test_other_measurements_keep_the_numpy_update(monkeypatch: pytest.MonkeyPatch) -> None:
    predictor = IMMPredictor()
    predicted = predictor.predict(_estimates(predictor, 50, seed=1), _steps(50, seed=2))
    monkeypatch.setenv(kernels.KERNELS_VARIABLE, "1")
    calls = kernels.update_kernel_calls()
    sensors = np.zeros((50, 3))
    polar = PolarMeasurement()
    measured = polar.measure(predicted.state, sensors)
    noise = np.broadcast_to(np.diag([50.0**2, 1e-4, 1e-4]), (50, 3, 3))
    updated = IMMUpdater().update(predicted, polar, measured, noise, sensors)
    assert kernels.update_kernel_calls() == calls
    assert np.isfinite(updated.state).all()


@pytest.mark.parametrize("modes", [2, 3])
def test_the_compiled_moment_matching_is_combine_s(modes: int) -> None:
    rng = np.random.default_rng(modes)
    count, size = 400, 7
    mode_states = rng.normal(size=(count, modes, size)) * 1e3
    factors = rng.normal(size=(count, modes, size, size)) * 20.0
    mode_covariances = factors @ np.swapaxes(factors, -1, -2)
    probabilities = rng.uniform(size=(count, modes))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    if not update_kernels_here():
        # numpy's einsum sums otherwise here: the IMM update keeps numpy's combine.
        assert not kernels.use_update_kernel()
        return
    compiled = kernels.moment_matched(mode_states, mode_covariances, probabilities)
    plain = combine(mode_states, mode_covariances, probabilities)
    for mine, theirs in zip(compiled, plain, strict=True):
        assert np.array_equal(mine, theirs)
        assert (np.signbit(mine) == np.signbit(theirs)).all()


def test_a_kernel_that_sums_otherwise_is_refused(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Where the kernel's numbers are not numpy's here (another BLAS summing in another
    order, simulated by moving one last bit), the probe says so in the log (no warning:
    nothing is wrong) and the update keeps the numpy path."""
    here = update_kernels_here()
    compiled = kernels._compiled()
    assert compiled is not None
    real = compiled.position_update

    def a_bit_off(*arguments: FloatArray) -> None:
        real(*arguments)
        distances = arguments[6]
        distances[0, 0] = np.nextafter(distances[0, 0], np.inf)

    skewed = replace(compiled, position_update=a_bit_off)
    monkeypatch.setattr(kernels, "_compiled", lambda: skewed)
    monkeypatch.setattr(kernels, "_update_probe_agrees", kernels._update_probe_agrees.__wrapped__)
    monkeypatch.setenv(kernels.KERNELS_VARIABLE, "1")
    with caplog.at_level(logging.INFO, logger=kernels.__name__):
        assert not kernels.use_update_kernel()
    assert "Kalman update does not reproduce numpy's numbers" in caplog.text
    monkeypatch.setattr(kernels, "_compiled", lambda: compiled)
    assert kernels.use_update_kernel() is here


def test_the_pure_python_fused_multiply_add_rounds_once() -> None:
    """(1 + 2⁻⁵²)(1 - 2⁻⁵²) - 1 is -2⁻¹⁰⁴ exactly; rounded twice it is 0."""
    first, second = 1.0 + 2.0**-52, 1.0 - 2.0**-52
    assert kernels.fused_multiply_add(first, second, -1.0) == -(2.0**-104)
    assert first * second - 1.0 == 0.0
    assert np.isnan(kernels.fused_multiply_add(np.inf, 0.0, 1.0))


def test_the_extension_is_built_for_the_processor_it_runs_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """x86-64-v3 (one instruction a fused multiply-add) only where this processor has
    all of it; its name in the extension's, so another processor builds its own."""
    target = kernels._target_processor()
    assert target in {"", "x86-64-v3"}
    name = kernels._extension_name()
    monkeypatch.setattr(kernels.platform, "machine", lambda: "aarch64")
    kernels._target_processor.cache_clear()
    try:
        assert kernels._target_processor() == ""
        assert (kernels._extension_name() == name) == (target == "")
    finally:
        monkeypatch.undo()
        kernels._target_processor.cache_clear()
    assert kernels._target_processor() == target


@pytest.mark.parametrize("length", [2, 3])
def test_the_compiled_mahalanobis_distance_is_numpy_s(
    monkeypatch: pytest.MonkeyPatch, length: int
) -> None:
    """Of 2 and 3 entries, singular and NaN rows among them (infinite, as numpy's)."""
    rng = np.random.default_rng(length)
    count = 500
    residuals = rng.normal(size=(count, length)) * 10.0 ** rng.uniform(-3, 4, (count, 1))
    root = rng.normal(size=(count, length, length)) * 40.0
    matrices = root @ np.swapaxes(root, -1, -2) + np.eye(length)
    matrices[::37] = 0.0
    matrices[5::41, 0, 0] = np.nan
    residuals[7::43] = 0.0
    monkeypatch.setenv(kernels.KERNELS_VARIABLE, "0")
    with np.errstate(all="ignore"):
        plain = updater_module.mahalanobis_squared(residuals, matrices)
    monkeypatch.setenv(kernels.KERNELS_VARIABLE, "1")
    calls = kernels.distance_kernel_calls()
    with np.errstate(all="ignore"):  # the numpy path's, where the kernel is refused
        compiled = updater_module.mahalanobis_squared(residuals, matrices)
    assert kernels.distance_kernel_calls() == calls + (1 if update_kernels_here() else 0)
    assert np.isinf(plain).sum() >= count // 37
    assert np.array_equal(plain, compiled)
    assert (np.signbit(plain) == np.signbit(compiled)).all()
