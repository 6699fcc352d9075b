"""Compiled kernels (numba) for the tracker's many small per-track loops.

The two-mode IMM prediction (`IMMPredictor` with constant velocity and coordinated
turn, `hotzone track`'s default) is ~150 numpy calls a prediction on a window's
~1,000 tracks: numpy's per-call cost is most of it. Here it is one compiled loop over
the tracks, each track's mixing, model predictions and moment matching in registers,
by the same operations in the same order as the numpy path (`IMMPredictor._predict_block`,
`MotionModel.predict_entries`): the same bits (`tests/fusion/test_imm_kernel.py`).
Nothing fuses a multiply and an add (numba's default: no ``fastmath``, no contraction),
and what numpy computes with its own vector routines where they differ from the C
library's (the powers of dt of the process noise) is computed by numpy and passed in.

The IMM update of position measurements (`update_positions`), its moment matching
(`moment_matched`) and the squared Mahalanobis distances (`mahalanobis_squared`) are
compiled likewise. Their matrix products are numpy's BLAS calls, whose kernels sum with
fused multiply-adds: the kernels sum in the same order with `fused_multiply_add`, and
each process checks them against its numpy once (`_update_probe_agrees`) before it takes
them (docs/fusion.md, "Compiled kernels").

The kernel is built ahead of time by numba into a small extension module, once, by the
first process that needs it, and kept beside this module (or in the user's cache
folder); every later process imports that extension (under a millisecond) and loads
neither numba nor LLVM (~0.3 s of CPU and ~100 MB of memory a process). Nothing is done
at import: a process takes the kernel after it has predicted `KERNEL_AFTER_ROWS` rows by
numpy, so a short one never builds it. ``HOTZONE_KERNELS=0`` in the environment keeps the
numpy path, ``HOTZONE_KERNELS=1`` takes the kernel from the first prediction (the tests
compare both).
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.metadata
import importlib.util
import inspect
import logging
import math
import os
import platform
import sys
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hotzone.fusion.motion import (
    TURN_RATE_STEP,
    ConstantVelocityMotion,
    CoordinatedTurnMotion,
    MotionModel,
    unit_kinematic_noise,
)
from hotzone.types.arrays import BoolArray, FloatArray

_log = logging.getLogger(__name__)

KERNELS_VARIABLE = "HOTZONE_KERNELS"
"""``0``: every prediction on the numpy path; ``1``: the kernel from the first; unset:
the kernel after `KERNEL_AFTER_ROWS`."""

KERNEL_AFTER_ROWS = 20_000
"""Rows a process predicts by numpy before it takes the kernel: building it (where no
process has yet) costs a few seconds, which a short run (a test's few tracks, a demo's
windows of ~30) never earns back; ~20 windows of 1,000 tracks do. The kernel's numbers
are the numpy path's, so where a run changes path does not show in its output."""

CONSTANT_VELOCITY = 0
COORDINATED_TURN = 1


@dataclass(frozen=True)
class TwoModeParameters:
    """What the compiled prediction needs of two motion models, mode by mode."""

    kinds: tuple[int, int]
    noise_intensities: tuple[float, float]
    turn_rate_noises: tuple[float, float]
    acceleration_limits: tuple[float, float]
    """`CoordinatedTurnMotion.max_lateral_acceleration_mps2` (unused for constant velocity)."""
    rate_limits: tuple[float, float]
    """`CoordinatedTurnMotion.max_turn_rate_deg_s` in rad/s."""
    spatial_dims: int


def two_mode_parameters(models: tuple[MotionModel, ...]) -> TwoModeParameters | None:
    """The kernel's parameters for these modes, or None where it does not apply (not two
    modes; a model other than constant velocity and coordinated turn; other dimensions)."""
    if len(models) != 2:
        return None
    kinds: list[int] = []
    intensities: list[float] = []
    turn_noises: list[float] = []
    accelerations: list[float] = []
    rates: list[float] = []
    for model in models:
        if type(model) is ConstantVelocityMotion and model.order == 2:
            kinds.append(CONSTANT_VELOCITY)
            intensities.append(model.noise_intensity)
            turn_noises.append(0.0)
            accelerations.append(0.0)
            rates.append(0.0)
        elif type(model) is CoordinatedTurnMotion:
            kinds.append(COORDINATED_TURN)
            intensities.append(model.noise_intensity)
            turn_noises.append(model.turn_rate_noise)
            accelerations.append(model.max_lateral_acceleration_mps2)
            rates.append(math.radians(model.max_turn_rate_deg_s))
        else:
            return None
    dims = {model.spatial_dims for model in models}
    if len(dims) != 1 or {model.state_size for model in models} != {models[0].state_size}:
        return None
    return TwoModeParameters(
        kinds=(kinds[0], kinds[1]),
        noise_intensities=(intensities[0], intensities[1]),
        turn_rate_noises=(turn_noises[0], turn_noises[1]),
        acceleration_limits=(accelerations[0], accelerations[1]),
        rate_limits=(rates[0], rates[1]),
        spatial_dims=dims.pop(),
    )


class _Usage:
    """Rows predicted by numpy so far in this process, and the kernel's calls."""

    numpy_rows = 0
    kernel_calls = 0
    update_calls = 0
    distance_calls = 0


def kernel_calls() -> int:
    """How many predictions the compiled kernel made in this process."""
    return _Usage.kernel_calls


def update_kernel_calls() -> int:
    """How many Kalman updates the compiled kernel made in this process."""
    return _Usage.update_calls


def distance_kernel_calls() -> int:
    """How many Mahalanobis distances (batches of) the compiled kernel computed here."""
    return _Usage.distance_calls


def use_kernel(rows: int) -> bool:
    """Whether a prediction of ``rows`` tracks takes the compiled path (`KERNELS_VARIABLE`):
    by default once the process has predicted `KERNEL_AFTER_ROWS` rows by numpy."""
    setting = os.environ.get(KERNELS_VARIABLE, "")
    if setting == "0":
        return False
    if setting == "1" or _Usage.kernel_calls or _Usage.numpy_rows >= KERNEL_AFTER_ROWS:
        return _compiled() is not None
    _Usage.numpy_rows += rows
    return False


def use_update_kernel() -> bool:
    """Whether a Kalman update of position measurements takes the compiled path: where
    the prediction has taken its kernel (`use_kernel`; ``HOTZONE_KERNELS=1``: from the
    first update), the kernel is available, and it reproduces this process's numpy
    update on a probe (`_update_probe_agrees`: numpy's matrix products are its BLAS's)."""
    setting = os.environ.get(KERNELS_VARIABLE, "")
    if setting == "0" or not (setting == "1" or _Usage.kernel_calls):
        return False
    return _compiled() is not None and _update_probe_agrees()


def predict_two_modes(
    parameters: TwoModeParameters,
    states: FloatArray,
    covariances: FloatArray,
    mixing: FloatArray,
    probabilities: FloatArray,
    dt: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """`IMMPredictor`'s two-mode prediction of (N, 2, d) ``states`` and (N, 2, d, d)
    ``covariances`` mixed by ``mixing`` (N, 2, 2) with the predicted mode
    ``probabilities`` (N, 2, normalized) over steps ``dt`` (N,): mode states, mode
    covariances, state, covariance."""
    count, modes, size = states.shape
    mode_states = np.empty((count, modes, size))
    mode_covariances = np.empty((count, modes, size, size))
    state = np.empty((count, size))
    covariance = np.empty((count, size, size))
    step = np.ascontiguousarray(dt, dtype=np.float64)
    # numpy's powers of dt (its vector pow may round dt³ otherwise than the C library).
    unit_noise = np.ascontiguousarray(unit_kinematic_noise(2, step), dtype=np.float64)
    _available().two_mode_prediction(
        np.ascontiguousarray(states, dtype=np.float64),
        np.ascontiguousarray(covariances, dtype=np.float64),
        np.ascontiguousarray(mixing, dtype=np.float64),
        np.ascontiguousarray(probabilities, dtype=np.float64),
        step,
        unit_noise,
        np.asarray(parameters.kinds, dtype=np.int64),
        np.asarray(parameters.noise_intensities),
        np.asarray(parameters.turn_rate_noises),
        np.asarray(parameters.acceleration_limits),
        np.asarray(parameters.rate_limits),
        parameters.spatial_dims,
        mode_states,
        mode_covariances,
        state,
        covariance,
    )
    _Usage.kernel_calls += 1
    return mode_states, mode_covariances, state, covariance


def _available() -> _Kernels:
    """The kernels, for a caller that was told they are there (`use_kernel`,
    `use_update_kernel`)."""
    compiled = _compiled()
    if compiled is None:
        raise RuntimeError("the compiled kernels are not available here (see the warning)")
    return compiled


def update_positions(
    states: FloatArray,
    covariances: FloatArray,
    measured: FloatArray,
    noise: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, BoolArray, BoolArray]:
    """`updater.update_rows_by_numpy` of every mode at once, for a measurement of the
    first m (2 or 3) state entries (`MeasurementModel.position_size`): (N, r, d)
    ``states`` and (N, r, d, d) ``covariances``, each track's r modes corrected by its
    (N, m) ``measured`` with (N, m, m) ``noise``. Returns, mode by mode as (N, r, ...):
    the updated states and covariances (short form), the squared Mahalanobis distances,
    the innovation covariances, where the short form's diagonal is not positive (those
    rows are the Joseph form's: the caller redoes them), and where the covariance is
    not certainly positive definite (`DEFINITE_MARGIN`: the caller asks LAPACK)."""
    _Usage.update_calls += 1
    return _positions_updated(states, covariances, measured, noise)


def _positions_updated(
    states: FloatArray,
    covariances: FloatArray,
    measured: FloatArray,
    noise: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, BoolArray, BoolArray]:
    """`update_positions`, not counted (the probe's)."""
    count, modes, size = states.shape
    length = measured.shape[1]
    updated_states = np.empty((count, modes, size))
    updated_covariances = np.empty((count, modes, size, size))
    distances = np.empty((count, modes))
    innovation_covariances = np.empty((count, modes, length, length))
    flags = np.empty((count, modes), dtype=np.uint8)
    _available().position_update(
        np.ascontiguousarray(states, dtype=np.float64),
        np.ascontiguousarray(covariances, dtype=np.float64),
        np.ascontiguousarray(measured, dtype=np.float64),
        np.ascontiguousarray(noise, dtype=np.float64),
        updated_states,
        updated_covariances,
        distances,
        innovation_covariances,
        flags,
    )
    return (
        updated_states,
        updated_covariances,
        distances,
        innovation_covariances,
        (flags & SHORT_FORM_FAILED) != 0,
        (flags & NOT_CERTAINLY_DEFINITE) != 0,
    )


def moment_matched(
    mode_states: FloatArray, mode_covariances: FloatArray, probabilities: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """`imm.combine`'s numbers (the moment-matched mixture of (N, r, d) / (N, r, d, d)
    weighted by (N, r)) in one compiled loop."""
    count, _, size = mode_states.shape
    state = np.empty((count, size))
    covariance = np.empty((count, size, size))
    _available().moment_matched(
        np.ascontiguousarray(mode_states, dtype=np.float64),
        np.ascontiguousarray(mode_covariances, dtype=np.float64),
        np.ascontiguousarray(probabilities, dtype=np.float64),
        state,
        covariance,
    )
    return state, covariance


def mahalanobis_squared(residuals: FloatArray, matrices: FloatArray) -> FloatArray:
    """`updater.mahalanobis_squared`'s numbers for (K, m) ``residuals`` and (K, m, m)
    innovation covariances (m = 2 or 3) in one compiled loop."""
    _Usage.distance_calls += 1
    return _compiled_mahalanobis(residuals, matrices)


def _compiled_mahalanobis(residuals: FloatArray, matrices: FloatArray) -> FloatArray:
    """`mahalanobis_squared`, not counted (the probe's)."""
    distances = np.empty(len(residuals))
    _available().mahalanobis(
        np.ascontiguousarray(residuals, dtype=np.float64),
        np.ascontiguousarray(matrices, dtype=np.float64),
        distances,
    )
    return distances


SHORT_FORM_FAILED = 1
"""`update_positions`' flag: a diagonal entry of the short form's covariance is not
positive (`updater.joseph_covariances` redoes the row)."""

NOT_CERTAINLY_DEFINITE = 2
"""`update_positions`' flag: a pivot of the covariance's Cholesky factorization is not
above `DEFINITE_MARGIN` of its diagonal entry (or the short form failed)."""

DEFINITE_MARGIN = 1e-6
"""A pivot of a covariance's Cholesky factorization this far above zero (relative to its
diagonal entry) leaves no doubt that LAPACK's, whose rounding differs by ~1e-15 of it,
succeeds as well: then the update needs no LAPACK call to know the covariances positive
definite; below it (a covariance nearly singular, rare) LAPACK decides, as on the numpy
path."""


def fused_multiply_add(first: float, second: float, third: float) -> float:
    """``first * second + third`` rounded once, as the processor's fused multiply-add
    (the BLAS kernels' products accumulate so). Compiled, one instruction (numba's
    `_teach_numba`); here exact by rationals (Python 3.11 has no
    ``math.fma``), for the kernels run as Python."""
    if not all(math.isfinite(value) for value in (first, second, third)):
        return first * second + third
    return float(Fraction(first) * Fraction(second) + Fraction(third))


KERNEL_SIGNATURES = {
    "two_mode_prediction": (
        "void(f8[:,:,::1], f8[:,:,:,::1], f8[:,:,::1], f8[:,::1], f8[::1], f8[:,:,::1],"
        " i8[::1], f8[::1], f8[::1], f8[::1], f8[::1], i8, f8[:,:,::1], f8[:,:,:,::1],"
        " f8[:,::1], f8[:,:,::1])"
    ),
    "position_update": (
        "void(f8[:,:,::1], f8[:,:,:,::1], f8[:,::1], f8[:,:,::1], f8[:,:,::1],"
        " f8[:,:,:,::1], f8[:,::1], f8[:,:,:,::1], u1[:,::1])"
    ),
    "moment_matched": "void(f8[:,:,::1], f8[:,:,:,::1], f8[:,::1], f8[:,::1], f8[:,:,::1])",
    "mahalanobis": "void(f8[:,::1], f8[:,:,::1], f8[::1])",
}
"""The kernels' argument types, for the extension built ahead of time."""


@dataclass(frozen=True)
class _Kernels:
    two_mode_prediction: Callable[..., Any]
    position_update: Callable[..., Any]
    moment_matched: Callable[..., Any]
    mahalanobis: Callable[..., Any]


def _kernel_functions() -> dict[str, Callable[..., Any]]:
    return {
        "two_mode_prediction": _two_mode_prediction,
        "position_update": _position_update,
        "moment_matched": _moment_matched,
        "mahalanobis": _mahalanobis,
    }


@lru_cache(maxsize=1)
def _compiled() -> _Kernels | None:
    """The kernels: the extension module numba builds ahead of time (`_built_extension`:
    importing it costs under a millisecond and loads neither numba nor LLVM, ~100 MB of
    a process's memory), built by the first process that needs it; where it cannot be
    built (no C compiler, no folder to write), numba's just-in-time compilation; where
    numba itself is missing, None: the numpy path, with a warning."""
    try:
        return _built_extension()
    except Exception as error:  # any failure to build: numba's JIT still runs it
        warnings.warn(
            f"the IMM kernel's extension could not be built ({error!r}); compiled by numba "
            "in each process instead",
            stacklevel=2,
        )
    try:
        return _just_in_time()
    except ImportError as error:
        warnings.warn(f"no IMM kernel ({error!r}): the numpy path", stacklevel=2)
        return None


def _just_in_time() -> _Kernels:
    """The kernels compiled by numba in this process (its own cache where it can write)."""
    import numba  # noqa: PLC0415 (its import and LLVM's: only when used)

    _teach_numba()
    functions = _kernel_functions()
    try:
        compiled = {
            name: numba.njit(cache=True, nogil=True)(function)
            for name, function in functions.items()
        }
    except RuntimeError:  # no cache folder can be written: compile every process
        compiled = {name: numba.njit(nogil=True)(function) for name, function in functions.items()}
    return _Kernels(**compiled)


@lru_cache(maxsize=1)
def _teach_numba() -> None:
    """Teaches numba `fused_multiply_add` (LLVM's ``llvm.fma.f64``: one instruction where
    the target processor has it, `_target_processor`, else the C library's ``fma``; the
    same number either way) and the kernels' shared steps (`_inverse_into`)."""
    from llvmlite import ir  # type: ignore[import-untyped]  # noqa: PLC0415 (numba's own)
    from numba import types  # noqa: PLC0415
    from numba.core import cgutils  # noqa: PLC0415
    from numba.extending import intrinsic, overload, register_jitable  # noqa: PLC0415

    register_jitable(_inverse_into)

    @intrinsic  # type: ignore[untyped-decorator]
    def fused(typing_context: Any, first: Any, second: Any, third: Any) -> Any:
        signature = types.float64(types.float64, types.float64, types.float64)

        def generate(context: Any, builder: Any, signature: Any, arguments: Any) -> Any:
            double = ir.DoubleType()
            function = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(double, [double] * 3), "llvm.fma.f64"
            )
            return builder.call(function, arguments)

        return signature, generate

    @overload(fused_multiply_add)  # type: ignore[untyped-decorator]
    def fused_for_numba(first: Any, second: Any, third: Any) -> Any:
        # numba asks the implementation's parameters to be the typing function's.
        def implementation(first: Any, second: Any, third: Any) -> Any:
            return fused(first, second, third)

        return implementation


BASELINE_FLAGS = frozenset(
    [
        "avx",
        "avx2",
        "bmi1",
        "bmi2",
        "f16c",
        "fma",
        "abm",
        "movbe",
        "xsave",
        "cx16",
        "lahf_lm",
        "popcnt",
        "sse4_1",
        "sse4_2",
        "ssse3",
    ]
)
"""/proc/cpuinfo's names of what LLVM's ``x86-64-v3`` target assumes (AVX2, FMA, BMI,
LZCNT: every x86-64 since 2013-2015)."""


@lru_cache(maxsize=1)
def _target_processor() -> str:
    """The processor the extension is compiled for: ``x86-64-v3`` where this one has
    all of it (`BASELINE_FLAGS`: a fused multiply-add is one instruction, not a call),
    else numba's generic target. Named in the extension's name, so that a processor
    without those instructions never loads a module compiled for them."""
    if platform.machine().lower() not in {"x86_64", "amd64"}:
        return ""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""
    for line in text.splitlines():
        if line.startswith("flags"):
            flags = set(line.partition(":")[2].split())
            return "x86-64-v3" if flags >= BASELINE_FLAGS else ""
    return ""


def _extension_name() -> str:
    """The extension's module name: a digest of the kernels' sources and signatures, the
    target processor and the versions its binary depends on (a changed kernel builds a
    new one)."""
    digest = hashlib.sha256()
    for part in (
        *(inspect.getsource(function) for function in _kernel_functions().values()),
        inspect.getsource(_teach_numba),
        inspect.getsource(_inverse_into),
        repr(sorted(KERNEL_SIGNATURES.items())),
        repr(
            (
                TURN_RATE_STEP,
                CONSTANT_VELOCITY,
                COORDINATED_TURN,
                DEFINITE_MARGIN,
                SHORT_FORM_FAILED,
                NOT_CERTAINLY_DEFINITE,
            )
        ),
        _target_processor(),
        importlib.metadata.version("numba"),
        np.__version__,
        sys.implementation.cache_tag,
        platform.machine(),
    ):
        digest.update(part.encode())
    return f"hotzone_kernels_{digest.hexdigest()[:16]}"


def _cache_folders() -> list[Path]:
    """Where the extension may be kept: beside this module (as Python's bytecode), else
    the user's cache folder."""
    user_cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return [Path(__file__).parent / "__pycache__", user_cache / "hotzone"]


def _built_extension() -> _Kernels:
    """The kernels from their extension module, built first where none is kept yet: in
    a folder of its own, then renamed into place (processes building at once each rename
    a whole file)."""
    name = _extension_name()
    filename = name + importlib.machinery.EXTENSION_SUFFIXES[0]
    for folder in _cache_folders():
        if (folder / filename).is_file():
            return _imported(name, folder / filename)
    errors: list[str] = []
    for folder in _cache_folders():
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=folder, prefix=".building-") as building:
                _build(name, Path(building))
                os.replace(Path(building) / filename, folder / filename)
            return _imported(name, folder / filename)
        except OSError as error:  # not writable: the next folder
            errors.append(f"{folder}: {error}")
    raise OSError("; ".join(errors))


def _build(name: str, folder: Path) -> None:
    """numba's ahead-of-time compilation of the kernels into ``folder``."""
    with warnings.catch_warnings():
        # numba.pycc is "pending deprecation" (numba 0.57) with no replacement yet; the
        # numba version is pinned.
        warnings.simplefilter("ignore")
        from numba.pycc import CC  # noqa: PLC0415

        _teach_numba()
        compiler = CC(name)
        compiler.output_dir = str(folder)
        compiler.verbose = False
        compiler.target_cpu = _target_processor()
        for export, function in _kernel_functions().items():
            compiler.export(export, KERNEL_SIGNATURES[export])(function)
        compiler.compile()


def _imported(name: str, path: Path) -> _Kernels:
    specification = importlib.util.spec_from_file_location(name, path)
    if specification is None or specification.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(specification)
    specification.loader.exec_module(module)
    return _Kernels(**{name: getattr(module, name) for name in KERNEL_SIGNATURES})


@lru_cache(maxsize=1)
def _update_probe_agrees() -> bool:
    """Whether the compiled update, Mahalanobis distance and moment matching reproduce
    this process's numpy paths bit for bit on a probe of random rows (2- and 3-entry
    positions, 5 and 7 states): the kernels perform the products as the BLAS kernels
    numpy calls do here (OpenBLAS: each sum of products a chain of fused multiply-adds),
    and a BLAS that sums otherwise shows on a few rows. Where any does not agree, the
    numpy path (said in the log, at INFO: nothing is wrong)."""
    from hotzone.fusion.imm import combine  # noqa: PLC0415 (they import this module)
    from hotzone.fusion.updater import (  # noqa: PLC0415
        mahalanobis_by_numpy,
        update_rows_by_numpy,
    )

    rng = np.random.default_rng(17)
    disagreeing: set[str] = set()
    for length, size in ((3, 7), (2, 5)):
        count = 64
        scales = 10.0 ** rng.uniform(-2, 3, (count, 2, 1, 1))
        factor = rng.normal(size=(count, 2, size, size)) * scales
        covariances = factor @ np.swapaxes(factor, -1, -2) + np.eye(size)
        states = rng.normal(size=(count, 2, size)) * 1e4
        measured = states[:, 0, :length] + rng.normal(size=(count, length)) * 50.0
        root = rng.normal(size=(count, length, length)) * 30.0
        noise = root @ np.swapaxes(root, -1, -2) + np.eye(length)
        compiled = _positions_updated(states, covariances, measured, noise)
        for mode in range(2):
            expected = update_rows_by_numpy(
                length, states[:, mode], covariances[:, mode], measured, noise
            )
            if not all(
                _same_bits(mine[:, mode], theirs)
                for mine, theirs in zip(compiled[:5], expected, strict=True)
            ):
                disagreeing.add("Kalman update")
        residuals = measured - states[:, 0, :length]
        innovations = compiled[3][:, 0]
        if not _same_bits(
            _compiled_mahalanobis(residuals, innovations),
            mahalanobis_by_numpy(residuals, innovations),
        ):
            disagreeing.add("Mahalanobis distance")
        weights = rng.uniform(size=(count, 2))
        weights /= weights.sum(axis=1, keepdims=True)
        mixtures = zip(
            moment_matched(*compiled[:2], weights), combine(*compiled[:2], weights), strict=True
        )
        if not all(_same_bits(mine, theirs) for mine, theirs in mixtures):
            disagreeing.add("moment matching")
    if disagreeing:
        # Not a warning: nothing is wrong and nothing is for the user to do (another
        # processor's BLAS kernels or numpy's SIMD loops sum in another order); the run is
        # as fast as before the kernels and gives the numpy path's numbers, as everywhere.
        _log.info(
            "the compiled %s does not reproduce numpy's numbers here (its BLAS or einsum "
            "sums otherwise): the numpy path",
            ", ".join(sorted(disagreeing)),
        )
        return False
    return True


def _same_bits(first: NDArray[Any], second: NDArray[Any]) -> bool:
    """Equal arrays, NaN where NaN and each zero's sign."""
    return bool(
        first.shape == second.shape
        and np.array_equal(first, second, equal_nan=True)
        and (np.signbit(first) == np.signbit(second)).all()
    )


def _two_mode_prediction(
    states: FloatArray,
    covariances: FloatArray,
    mixing: FloatArray,
    probabilities: FloatArray,
    dt: FloatArray,
    unit_noise: FloatArray,
    kinds: Any,
    intensities: FloatArray,
    turn_rate_noises: FloatArray,
    acceleration_limits: FloatArray,
    rate_limits: FloatArray,
    dims: int,
    mode_states: FloatArray,
    mode_covariances: FloatArray,
    state: FloatArray,
    covariance: FloatArray,
) -> None:
    """The compiled loop (numba's subset of Python): track by track, each target mode's
    mixture of the two modes (`_two_mode_mixture`), its model's prediction
    (`_LinearKinematicMotion.predict_entries`, `CoordinatedTurnMotion.predict_entries`),
    then the modes' moment-matched mixture. Every expression is the numpy path's, operand
    for operand (np.maximum and np.minimum as comparisons that keep a NaN)."""
    count = states.shape[0]
    size = states.shape[2]
    spread = np.empty(size)
    mixed = np.empty(size)
    rates = np.empty(3)
    east_positions = np.empty(3)
    north_positions = np.empty(3)
    east_speeds = np.empty(3)
    north_speeds = np.empty(3)
    scale = 2 * TURN_RATE_STEP
    for track in range(count):
        step = dt[track]
        for i in range(size):
            spread[i] = states[track, 0, i] - states[track, 1, i]
        for target in range(2):
            w0 = mixing[track, 0, target]
            w1 = mixing[track, 1, target]
            both = w0 * w1
            for i in range(size):
                mixed[i] = w0 * states[track, 0, i] + w1 * states[track, 1, i]
            matrix = mode_covariances[track, target]
            for i in range(size):
                for j in range(size):
                    matrix[i, j] = (
                        covariances[track, 0, i, j] * w0 + covariances[track, 1, i, j] * w1
                    ) + spread[i] * spread[j] * both
            moved = mode_states[track, target]
            for i in range(size):
                moved[i] = mixed[i]
            if kinds[target] == CONSTANT_VELOCITY:
                # F P Fᵀ: the position rows plus dt times the velocity rows, then columns.
                for axis in range(dims):
                    moved[axis] = mixed[axis] + step * mixed[dims + axis]
                for axis in range(dims):
                    for j in range(size):
                        matrix[axis, j] = matrix[axis, j] + step * matrix[dims + axis, j]
                for i in range(size):
                    for axis in range(dims):
                        matrix[i, axis] = matrix[i, axis] + step * matrix[i, dims + axis]
                extra_noise = 1e-8 * abs(step)
                for extra in range(2 * dims, size):
                    matrix[extra, extra] += extra_noise
            else:
                east_speed = mixed[dims]
                north_speed = mixed[dims + 1]
                speed = math.hypot(east_speed, north_speed)
                floor = speed if (speed >= 1e-9 or math.isnan(speed)) else 1e-9
                limit = acceleration_limits[target] / floor
                bound = rate_limits[target]
                limit = limit if (limit <= bound or math.isnan(limit)) else bound
                rates[0] = mixed[size - 1]
                rates[1] = mixed[size - 1] + TURN_RATE_STEP
                rates[2] = mixed[size - 1] - TURN_RATE_STEP
                sine_term0 = cosine_term0 = cos_rt0 = sin_rt0 = 0.0
                for k in range(3):
                    rate = rates[k]
                    low = -limit
                    rate = rate if (rate >= low or math.isnan(rate)) else low
                    rate = rate if (rate <= limit or math.isnan(rate)) else limit
                    rates[k] = rate
                    angle = rate * step
                    sine = math.sin(angle)
                    cosine = math.cos(angle)
                    if abs(angle) < 1e-6:
                        sine_term = step * (1 - angle * angle / 6)
                        cosine_term = step * angle / 2
                    else:
                        sine_term = sine / rate
                        cosine_term = (1 - cosine) / rate
                    east_positions[k] = (
                        mixed[0] + sine_term * east_speed - cosine_term * north_speed
                    )
                    north_positions[k] = (
                        mixed[1] + cosine_term * east_speed + sine_term * north_speed
                    )
                    east_speeds[k] = cosine * east_speed - sine * north_speed
                    north_speeds[k] = sine * east_speed + cosine * north_speed
                    if k == 0:
                        sine_term0, cosine_term0, cos_rt0, sin_rt0 = (
                            sine_term,
                            cosine_term,
                            cosine,
                            sine,
                        )
                moved[0] = east_positions[0]
                moved[1] = north_positions[0]
                moved[dims] = east_speeds[0]
                moved[dims + 1] = north_speeds[0]
                moved[size - 1] = rates[0]
                if dims == 3:
                    moved[2] = mixed[2] + step * mixed[5]
                east = (east_positions[1] - east_positions[2]) / scale
                north = (north_positions[1] - north_positions[2]) / scale
                east_rate = (east_speeds[1] - east_speeds[2]) / scale
                north_rate = (north_speeds[1] - north_speeds[2]) / scale
                own_rate = (rates[1] - rates[2]) / scale
                minus_cosine_term = -cosine_term0
                minus_sin_rt = -sin_rt0
                # J P: the turn's rows from the velocity and rate rows, then J (J P)ᵀ.
                for j in range(size):
                    a = matrix[dims, j]
                    b = matrix[dims + 1, j]
                    c = matrix[size - 1, j]
                    matrix[0, j] = matrix[0, j] + (
                        sine_term0 * a + minus_cosine_term * b + east * c
                    )
                    matrix[1, j] = matrix[1, j] + (cosine_term0 * a + sine_term0 * b + north * c)
                    matrix[dims, j] = cos_rt0 * a + minus_sin_rt * b + east_rate * c
                    matrix[dims + 1, j] = sin_rt0 * a + cos_rt0 * b + north_rate * c
                    if dims == 3:
                        matrix[2, j] = matrix[2, j] + step * matrix[5, j]
                    matrix[size - 1, j] = matrix[size - 1, j] * own_rate
                for i in range(size):
                    a = matrix[i, dims]
                    b = matrix[i, dims + 1]
                    c = matrix[i, size - 1]
                    matrix[i, 0] = matrix[i, 0] + (
                        sine_term0 * a + minus_cosine_term * b + east * c
                    )
                    matrix[i, 1] = matrix[i, 1] + (cosine_term0 * a + sine_term0 * b + north * c)
                    matrix[i, dims] = cos_rt0 * a + minus_sin_rt * b + east_rate * c
                    matrix[i, dims + 1] = sin_rt0 * a + cos_rt0 * b + north_rate * c
                    if dims == 3:
                        matrix[i, 2] = matrix[i, 2] + step * matrix[i, 5]
                    matrix[i, size - 1] = matrix[i, size - 1] * own_rate
            # The white-noise blocks of both models' kinematics (`_add_kinematic_noise`).
            intensity = intensities[target]
            for level in range(2):
                for other in range(2):
                    noise = unit_noise[level, other, track] * intensity
                    for axis in range(dims):
                        matrix[level * dims + axis, other * dims + axis] += noise
            if kinds[target] == COORDINATED_TURN:
                matrix[size - 1, size - 1] += turn_rate_noises[target] * step
            for i in range(1, size):
                for j in range(i):
                    mean = (matrix[i, j] + matrix[j, i]) * 0.5
                    matrix[i, j] = mean
                    matrix[j, i] = mean
        p0 = probabilities[track, 0]
        p1 = probabilities[track, 1]
        both = p0 * p1
        for i in range(size):
            state[track, i] = p0 * mode_states[track, 0, i] + p1 * mode_states[track, 1, i]
            spread[i] = mode_states[track, 0, i] - mode_states[track, 1, i]
        for i in range(size):
            for j in range(size):
                covariance[track, i, j] = (
                    mode_covariances[track, 0, i, j] * p0 + mode_covariances[track, 1, i, j] * p1
                ) + spread[i] * spread[j] * both


def _position_update(
    states: FloatArray,
    covariances: FloatArray,
    measured: FloatArray,
    noise: FloatArray,
    updated_states: FloatArray,
    updated_covariances: FloatArray,
    distances: FloatArray,
    innovation_covariances: FloatArray,
    flags: Any,
) -> None:
    """The compiled update (numba's subset of Python), row by row and mode by mode: the
    numpy path's (`updater.position_rows`) operations in its order. Its elementwise
    steps are single roundings as numpy's are; its matrix products are those of the
    OpenBLAS kernels numpy calls (each sum of products a chain of fused multiply-adds
    onto zero, so a product of -0 sums to +0; a matrix times a vector of 2 or 3 entries
    sums as that kernel's tail does), which `_update_probe_agrees` checks in each
    process. ``flags``: `SHORT_FORM_FAILED`, `NOT_CERTAINLY_DEFINITE` of each row."""
    count, modes, size = states.shape
    length = measured.shape[1]
    residual = np.empty(length)
    inverse = np.empty((length, length))
    gain = np.empty((size, length))
    solved = np.empty(length)
    lower = np.empty((size, size))
    for track in range(count):
        for mode in range(modes):
            state = states[track, mode]
            covariance = covariances[track, mode]
            for i in range(length):
                residual[i] = measured[track, i] - state[i]
            # `innovations`: P[:m, :m] + R, then `symmetrize` ((S + Sᵀ) * 0.5).
            innovation = innovation_covariances[track, mode]
            for i in range(length):
                for j in range(length):
                    innovation[i, j] = covariance[i, j] + noise[track, i, j]
            for i in range(length):
                for j in range(i, length):
                    mean = (innovation[i, j] + innovation[j, i]) * 0.5
                    innovation[i, j] = mean
                    innovation[j, i] = mean
            _inverse_into(innovation, inverse)
            # K = P[:, :m] S⁻¹ (matrix by matrix: a chain of products onto zero).
            for i in range(size):
                for j in range(length):
                    total = 0.0
                    for k in range(length):
                        total = fused_multiply_add(covariance[i, k], inverse[k, j], total)
                    gain[i, j] = total
            # x + K ν (a matrix by a vector of 2 or 3: that kernel's tail, onto y = 0).
            updated = updated_states[track, mode]
            for i in range(size):
                if length == 2:
                    total = fused_multiply_add(gain[i, 0], residual[0], gain[i, 1] * residual[1])
                else:
                    total = fused_multiply_add(
                        gain[i, 2],
                        residual[2],
                        fused_multiply_add(gain[i, 0], residual[0], gain[i, 1] * residual[1]),
                    )
                updated[i] = state[i] + (0.0 + total)
            # P - K (P[:, :m])ᵀ, then `symmetrize`.
            result = updated_covariances[track, mode]
            for i in range(size):
                for j in range(size):
                    total = 0.0
                    for k in range(length):
                        total = fused_multiply_add(gain[i, k], covariance[j, k], total)
                    result[i, j] = covariance[i, j] - total
            positive = True
            for i in range(size):
                for j in range(i, size):
                    mean = (result[i, j] + result[j, i]) * 0.5
                    result[i, j] = mean
                    result[j, i] = mean
                if not result[i, i] > 0:
                    positive = False
            # Cholesky's pivots, each above `DEFINITE_MARGIN` of its diagonal entry: then
            # LAPACK's factorization (what `ensure_positive_definite` asks) succeeds too.
            certain = positive
            for j in range(size):
                if not certain:
                    break
                pivot = result[j, j]
                for k in range(j):
                    pivot -= lower[j, k] * lower[j, k]
                if not pivot > DEFINITE_MARGIN * result[j, j]:
                    certain = False
                    break
                root = math.sqrt(pivot)
                lower[j, j] = root
                for i in range(j + 1, size):
                    entry = result[i, j]
                    for k in range(j):
                        entry -= lower[i, k] * lower[j, k]
                    lower[i, j] = entry / root
            flags[track, mode] = (0 if positive else SHORT_FORM_FAILED) | (
                0 if certain else NOT_CERTAINLY_DEFINITE
            )
            # νᵀ S⁻¹ ν: the vector by the matrix, then the dot product.
            for j in range(length):
                total = 0.0
                for k in range(length):
                    total = fused_multiply_add(residual[k], inverse[k, j], total)
                solved[j] = total
            total = 0.0
            for k in range(length):
                total = fused_multiply_add(solved[k], residual[k], total)
            distances[track, mode] = total


def _moment_matched(
    mode_states: FloatArray,
    mode_covariances: FloatArray,
    probabilities: FloatArray,
    state: FloatArray,
    covariance: FloatArray,
) -> None:
    """The compiled `imm.combine`, track by track: the numbers of its ``einsum`` sums
    (each product rounded, added mode by mode onto zero) and of its `symmetrize`."""
    count, modes, size = mode_states.shape
    spread = np.empty((modes, size))
    total = np.empty((size, size))
    for track in range(count):
        for i in range(size):
            mixed = 0.0
            for mode in range(modes):
                mixed = mixed + probabilities[track, mode] * mode_states[track, mode, i]
            state[track, i] = mixed
        for mode in range(modes):
            for i in range(size):
                spread[mode, i] = mode_states[track, mode, i] - state[track, i]
        for i in range(size):
            for j in range(size):
                mixed = 0.0
                for mode in range(modes):
                    term = spread[mode, i] * spread[mode, j] + mode_covariances[track, mode, i, j]
                    mixed = mixed + probabilities[track, mode] * term
                total[i, j] = mixed
        for i in range(size):
            for j in range(size):
                covariance[track, i, j] = (total[i, j] + total[j, i]) * 0.5


def _inverse_into(matrix: FloatArray, inverse: FloatArray) -> None:
    """`arrays.small_inverse` of one (m, m) ``matrix`` (m = 2 or 3) into ``inverse``: its
    closed forms, as numpy evaluates them (np.divide: a singular matrix gives inf and
    NaN, not numba's ZeroDivisionError)."""
    if matrix.shape[0] == 2:
        a = matrix[0, 0]
        b = matrix[0, 1]
        c = matrix[1, 0]
        d = matrix[1, 1]
        inverse_determinant = np.divide(1.0, a * d - b * c)
        inverse[0, 0] = d * inverse_determinant
        inverse[0, 1] = -b * inverse_determinant
        inverse[1, 0] = -c * inverse_determinant
        inverse[1, 1] = a * inverse_determinant
        return
    m = matrix
    c00 = m[1, 1] * m[2, 2] - m[1, 2] * m[2, 1]
    c01 = m[0, 2] * m[2, 1] - m[0, 1] * m[2, 2]
    c02 = m[0, 1] * m[1, 2] - m[0, 2] * m[1, 1]
    c10 = m[1, 2] * m[2, 0] - m[1, 0] * m[2, 2]
    c11 = m[0, 0] * m[2, 2] - m[0, 2] * m[2, 0]
    c12 = m[0, 2] * m[1, 0] - m[0, 0] * m[1, 2]
    c20 = m[1, 0] * m[2, 1] - m[1, 1] * m[2, 0]
    c21 = m[0, 1] * m[2, 0] - m[0, 0] * m[2, 1]
    c22 = m[0, 0] * m[1, 1] - m[0, 1] * m[1, 0]
    determinant = m[0, 0] * c00 + m[0, 1] * c10 + m[0, 2] * c20
    inverse[0, 0] = np.divide(c00, determinant)
    inverse[0, 1] = np.divide(c01, determinant)
    inverse[0, 2] = np.divide(c02, determinant)
    inverse[1, 0] = np.divide(c10, determinant)
    inverse[1, 1] = np.divide(c11, determinant)
    inverse[1, 2] = np.divide(c12, determinant)
    inverse[2, 0] = np.divide(c20, determinant)
    inverse[2, 1] = np.divide(c21, determinant)
    inverse[2, 2] = np.divide(c22, determinant)


def _mahalanobis(residuals: FloatArray, matrices: FloatArray, distances: FloatArray) -> None:
    """The compiled `updater.mahalanobis_squared` of (K, m) ``residuals`` by (K, m, m)
    ``matrices`` (m = 2 or 3) into ``distances``: S⁻¹ ν as numpy's matrix-by-vector
    product sums (`_position_update`), νᵀ (S⁻¹ ν) as its sum along a row (onto zero, in
    order), infinite where not finite or negative."""
    count, length = residuals.shape
    inverse = np.empty((length, length))
    for row in range(count):
        _inverse_into(matrices[row], inverse)
        total = 0.0
        for i in range(length):
            if length == 2:
                solved = fused_multiply_add(
                    inverse[i, 0], residuals[row, 0], inverse[i, 1] * residuals[row, 1]
                )
            else:
                solved = fused_multiply_add(
                    inverse[i, 2],
                    residuals[row, 2],
                    fused_multiply_add(
                        inverse[i, 0], residuals[row, 0], inverse[i, 1] * residuals[row, 1]
                    ),
                )
            total = total + residuals[row, i] * (0.0 + solved)
        distances[row] = total if (math.isfinite(total) and total >= 0) else math.inf
