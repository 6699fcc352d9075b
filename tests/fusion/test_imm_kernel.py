"""The compiled two-mode IMM prediction (`hotzone.fusion.kernels`) against the numpy path.

The kernel performs the numpy path's operations in its order (no fused multiply-add),
so the comparisons are exact: `numpy.array_equal`, no tolerance. ``HOTZONE_KERNELS``
picks the path: ``0`` numpy, ``1`` the kernel from the first prediction.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from hotzone.fusion import imm as imm_module
from hotzone.fusion import kernels
from hotzone.fusion.estimates import Estimates
from hotzone.fusion.imm import IMMPredictor, IMMUpdater, default_imm_models
from hotzone.fusion.measurement import PositionMeasurement
from hotzone.fusion.motion import (
    ConstantAccelerationMotion,
    ConstantVelocityMotion,
    CoordinatedTurnMotion,
    MotionModel,
)
from hotzone.fusion.stage import default_tracker
from hotzone.fusion.updater import mahalanobis_squared
from hotzone.types.arrays import FloatArray
from tests.fusion.test_imm_entries import _estimates, _steps
from tests.fusion.test_same_numbers import PERIOD_S, _batch_digest, _same, _sweeps
from tests.fusion.test_update_kernel import update_kernels_here


def _both_paths(
    monkeypatch: pytest.MonkeyPatch, predictor: IMMPredictor, estimates: Estimates, dt: FloatArray
) -> tuple[Estimates, Estimates]:
    """The numpy path's prediction and the kernel's, the kernel's use counted."""
    monkeypatch.setenv(kernels.KERNELS_VARIABLE, "0")
    calls = kernels.kernel_calls()
    numpy_path = predictor.predict(estimates, dt)
    assert kernels.kernel_calls() == calls
    monkeypatch.setenv(kernels.KERNELS_VARIABLE, "1")
    compiled = predictor.predict(estimates, dt)
    assert kernels.kernel_calls() == calls + 1, "the kernel was not used"
    return numpy_path, compiled


def _assert_identical(first: Estimates, second: Estimates) -> None:
    for mine, theirs in zip(first._values(), second._values(), strict=True):
        assert mine is not None and theirs is not None
        assert mine.dtype == theirs.dtype == np.float64
        assert mine.shape == theirs.shape
        assert np.array_equal(mine, theirs)


MODEL_SETS: dict[str, tuple[MotionModel, ...]] = {
    "default-3d": default_imm_models(spatial_dims=3),
    "default-2d": default_imm_models(spatial_dims=2),
    "turn-first": tuple(reversed(default_imm_models(noise_intensity=0.3))),
    "tight-bound": (
        ConstantVelocityMotion(2.0, spatial_dims=3, extra_states=1),
        CoordinatedTurnMotion(
            9.0, turn_rate_noise=3e-3, max_lateral_acceleration_mps2=5.0, max_turn_rate_deg_s=3.0
        ),
    ),
    "two-velocities": (
        ConstantVelocityMotion(0.5, spatial_dims=3, extra_states=1),
        ConstantVelocityMotion(20.0, spatial_dims=3, extra_states=1),
    ),
}


@pytest.mark.parametrize("models", MODEL_SETS.values(), ids=MODEL_SETS.keys())
@pytest.mark.parametrize(
    "count", [1, 300, imm_module.ENTRY_ROWS + 77], ids=["one-track", "a-window", "blocks"]
)
def test_the_kernel_predicts_the_numpy_path_s_bits(
    monkeypatch: pytest.MonkeyPatch, models: tuple[MotionModel, ...], count: int
) -> None:
    predictor = IMMPredictor(models)
    estimates = _estimates(predictor, count, seed=count)
    dt = _steps(count, seed=count + 1)
    numpy_path, compiled = _both_paths(monkeypatch, predictor, estimates, dt)
    _assert_identical(numpy_path, compiled)
    for covariances in (compiled.covariance, compiled.mode_covariances):
        assert covariances is not None
        assert np.array_equal(covariances, np.swapaxes(covariances, -1, -2))


def test_the_kernel_keeps_the_bits_at_the_turn_s_edges(monkeypatch: pytest.MonkeyPatch) -> None:
    """Angles on both sides of the small-angle branch, rates at and beyond the bound, a
    track at rest (the speed's floor), steps of zero, a shared step."""
    predictor = IMMPredictor()
    count = 400
    estimates = _estimates(predictor, count, seed=3)
    assert estimates.mode_states is not None
    states = estimates.mode_states.copy()
    rng = np.random.default_rng(4)
    states[:100, :, -1] = rng.choice([1e-7, -1e-7, 2e-7, 1e-6, 0.0], (100, 2))
    states[100:150, :, 3:6] = 0.0
    states[150:200, :, -1] = rng.choice([-2.0, 2.0, np.radians(60.0)], (50, 2))
    states[200:250, :, 3] = 25.0 / np.radians(60.0)  # where the two bounds meet
    edges = Estimates(
        estimates.state,
        estimates.covariance,
        states,
        estimates.mode_covariances,
        estimates.mode_probabilities,
    )
    dt = np.where(np.arange(count) % 9 == 0, 0.0, _steps(count, seed=5))
    _assert_identical(*_both_paths(monkeypatch, predictor, edges, dt))
    _assert_identical(*_both_paths(monkeypatch, predictor, edges, np.asarray(4.0)))


def test_the_kernel_leaves_the_estimates_it_was_given_as_they_were(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    predictor = IMMPredictor()
    estimates = _estimates(predictor, 1, seed=6)
    before = [value.copy() for value in estimates._values() if value is not None]
    monkeypatch.setenv(kernels.KERNELS_VARIABLE, "1")
    predictor.predict(estimates, _steps(1, seed=7))
    after = [value for value in estimates._values() if value is not None]
    for mine, theirs in zip(after, before, strict=True):
        assert np.array_equal(mine, theirs)


def test_the_tracker_steps_to_the_same_batches_on_either_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The operational tracker (IMM CV + CT) on a turning radar's quarter-sweeps: every
    window's batch bit for bit, the kernels used for the predictions and (where this
    machine's numpy sums as they do: `update_kernels_here`) the updates."""
    sweeps = _sweeps(targets=200, windows=16, seed=11)
    batches: dict[str, list[list[object]]] = {}
    for setting in ("0", "1"):
        monkeypatch.setenv(kernels.KERNELS_VARIABLE, setting)
        calls, updates = kernels.kernel_calls(), kernels.update_kernel_calls()
        tracker = default_tracker()
        tracker.declare_revisit("asr", PERIOD_S)
        batches[setting] = [
            _batch_digest(tracker.step(window + 1.0, scans)) for window, scans in enumerate(sweeps)
        ]
        used = kernels.kernel_calls() - calls
        assert (used > 20) if setting == "1" else (used == 0)
        updated = kernels.update_kernel_calls() - updates
        assert (updated > 10) if setting == "1" and update_kernels_here() else (updated == 0)
    assert tracker.tracks.confirmed.sum() > 150
    for window, (mine, theirs) in enumerate(zip(batches["0"], batches["1"], strict=True)):
        assert _same(mine, theirs), window


def test_the_default_imm_takes_the_kernel_and_other_mode_sets_do_not() -> None:
    for dims in (2, 3):
        parameters = kernels.two_mode_parameters(default_imm_models(spatial_dims=dims))
        assert parameters is not None
        assert parameters.kinds == (kernels.CONSTANT_VELOCITY, kernels.COORDINATED_TURN)
        assert parameters.spatial_dims == dims
    three_modes = (*default_imm_models(), ConstantVelocityMotion(30.0, extra_states=1))
    acceleration = (
        ConstantAccelerationMotion(1.0, spatial_dims=2),
        ConstantVelocityMotion(1.0, spatial_dims=2, extra_states=2),
    )
    assert kernels.two_mode_parameters(three_modes) is None
    assert kernels.two_mode_parameters(acceleration) is None


def test_a_three_mode_imm_keeps_the_numpy_path(monkeypatch: pytest.MonkeyPatch) -> None:
    predictor = IMMPredictor((*default_imm_models(), ConstantVelocityMotion(30.0, extra_states=1)))
    monkeypatch.setenv(kernels.KERNELS_VARIABLE, "1")
    calls = kernels.kernel_calls()
    estimates = predictor.initial_estimates(np.zeros((5, 7)), np.broadcast_to(np.eye(7), (5, 7, 7)))
    predicted = predictor.predict(estimates, np.full(5, 2.0))
    assert kernels.kernel_calls() == calls
    assert predicted.mode_states is not None and predicted.mode_states.shape == (5, 3, 7)


def test_a_process_takes_the_kernel_after_its_first_rows_without_being_told() -> None:
    """Unset, the numpy path until `KERNEL_AFTER_ROWS` rows, then the kernel: a new
    process, as `hotzone track` is; its updates with it. With the extension built (here,
    first), that process loads neither numba nor LLVM."""
    kernels._built_extension()
    script = textwrap.dedent(
        """
        import sys
        import numpy as np
        from hotzone.fusion import kernels
        from hotzone.fusion.imm import IMMPredictor, IMMUpdater
        from hotzone.fusion.measurement import PositionMeasurement
        predictor = IMMPredictor()
        rows = 1_000
        estimates = predictor.initial_estimates(
            np.zeros((rows, 7)), np.broadcast_to(np.eye(7) * 100.0, (rows, 7, 7))
        )
        calls = []
        for _ in range(kernels.KERNEL_AFTER_ROWS // rows + 2):
            calls.append(kernels.kernel_calls())
            estimates = predictor.predict(estimates, np.full(rows, 4.0))
        measured = estimates.state[:, :3] + 10.0
        noise = np.broadcast_to(np.eye(3) * 900.0, (rows, 3, 3))
        IMMUpdater().update(
            estimates, PositionMeasurement(3), measured, noise, np.zeros((rows, 3))
        )
        print(
            calls[-1], kernels.kernel_calls(), kernels.update_kernel_calls(),
            "numba" in sys.modules,
        )
        """
    )
    environment = {
        key: value for key, value in os.environ.items() if key != kernels.KERNELS_VARIABLE
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    before_last, after_all, updates, numba_loaded = result.stdout.split()
    taken = 1 if update_kernels_here() else 0  # where this machine's numpy sums as they do
    assert (int(before_last), int(after_all), int(updates)) == (1, 2, taken)
    assert numba_loaded == "False"


def test_where_no_folder_can_be_written_numba_compiles_the_same_kernel(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The extension cannot be built (its folders lie under a file): a warning, and the
    kernels compiled by numba in the process (the fused multiply-add taught to it), with
    the same bits: the prediction, the update and the distances."""
    built_kernels = kernels._compiled()  # the process's own, before its folders are blocked
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setattr(kernels, "_cache_folders", lambda: [blocker / "cache"])
    with pytest.warns(UserWarning, match="could not be built"):
        compiled = kernels._compiled.__wrapped__()
    assert compiled is not None and compiled is not built_kernels
    predictor = IMMPredictor()
    estimates = _estimates(predictor, 200, seed=8)
    dt = _steps(200, seed=9)
    monkeypatch.setenv(kernels.KERNELS_VARIABLE, "1")
    built = predictor.predict(estimates, dt)
    measured = built.state[:, :3] + 50.0
    noise = np.broadcast_to(np.eye(3) * 900.0, (200, 3, 3))
    arguments = (PositionMeasurement(3), measured, noise, np.zeros((200, 3)))
    updated = IMMUpdater().update(built, *arguments)
    distances = mahalanobis_squared(measured - built.state[:, :3], built.covariance[:, :3, :3])
    monkeypatch.setattr(kernels, "_compiled", lambda: compiled)
    monkeypatch.setattr(kernels, "_update_probe_agrees", kernels._update_probe_agrees.__wrapped__)
    calls = kernels.update_kernel_calls()
    _assert_identical(built, predictor.predict(estimates, dt))
    _assert_identical(updated, IMMUpdater().update(built, *arguments))
    assert np.array_equal(
        distances,
        mahalanobis_squared(measured - built.state[:, :3], built.covariance[:, :3, :3]),
    )
    assert kernels.update_kernel_calls() == calls + (1 if update_kernels_here() else 0)
