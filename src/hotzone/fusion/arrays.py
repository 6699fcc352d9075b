"""Array helpers every fusion role shares: aliases and numerically safe matrix steps."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from hotzone.types.arrays import BoolArray, FloatArray, IntArray


def symmetrize(matrices: FloatArray) -> FloatArray:
    """(..., d, d) -> the symmetric part; rounding makes Kalman covariances drift apart.

    One new array, halved in place (the same numbers as ``0.5 * (A + Aᵀ)``)."""
    result: FloatArray = matrices + np.swapaxes(matrices, -1, -2)
    result *= 0.5
    return result


def entry_rows(entries: FloatArray) -> FloatArray:
    """(d, d, N) matrices laid out entry by entry (each entry's N values contiguous) as
    (d², N), a view: writes reach ``entries`` (raises where its first two axes cannot be
    merged without a copy)."""
    size, count = entries.shape[0], entries.shape[-1]
    rows: FloatArray = entries.reshape((size * size, count), copy=False)
    return rows


@lru_cache(maxsize=8)
def _triangles(size: int) -> tuple[IntArray, IntArray]:
    """Flat indices of a (size x size) matrix's entries below the diagonal, and of their
    mirror images above it."""
    rows, columns = np.tril_indices(size, -1)
    return rows * size + columns, columns * size + rows


def symmetrize_entries(entries: FloatArray) -> None:
    """(d, d, N) matrices laid out entry by entry made their symmetric part in place:
    ``0.5 * (A + Aᵀ)``, `symmetrize`'s numbers, on the entries off the diagonal."""
    below, above = _triangles(entries.shape[0])
    rows = entry_rows(entries)
    mean = rows[below]
    mean += rows[above]
    mean *= 0.5
    rows[below] = mean
    rows[above] = mean


def transpose(matrices: FloatArray) -> FloatArray:
    return np.swapaxes(matrices, -1, -2)


def repair_covariance(matrices: FloatArray, floor: float = 1e-9) -> FloatArray:
    """Symmetric and positive definite: eigenvalues below ``floor`` are raised to it.

    Inputs from outside (a sensor's covariance) may be non-symmetric or indefinite; a
    filter fed such a matrix produces NaN within a few updates, so it is repaired once
    at the boundary instead.
    """
    matrices = np.asarray(matrices, dtype=np.float64)
    if matrices.ndim == 3 and len(matrices) > 1 and matrices.strides[0] == 0:
        # One matrix shared by every row (a broadcast view): check and repair it once.
        single = repair_covariance(matrices[:1].copy(), floor)
        return np.broadcast_to(single[0], matrices.shape)
    symmetric = symmetrize(matrices)
    if symmetric.size == 0:
        return symmetric
    healthy = _leading_minors_positive(symmetric, floor)
    if healthy.all():
        return symmetric
    repaired = symmetric.copy()
    repaired[~healthy] = _eigen_floor(symmetric[~healthy], floor)
    return repaired


def _leading_minors_positive(symmetric: FloatArray, floor: float) -> BoolArray:
    """Sylvester's criterion, cheap for the small matrices of measurements."""
    size = symmetric.shape[-1]
    result: BoolArray = np.ones(symmetric.shape[:-2], dtype=np.bool_)
    scale = np.maximum(np.abs(symmetric).max(axis=(-1, -2)), 1.0)
    for order in range(1, size + 1):
        minor = np.linalg.det(symmetric[..., :order, :order])
        result &= minor > (floor * scale) ** order
    return result


def _eigen_floor(symmetric: FloatArray, floor: float) -> FloatArray:
    values, vectors = np.linalg.eigh(symmetric)
    scale = np.maximum(np.abs(values).max(axis=-1, keepdims=True), 1.0)
    values = np.maximum(values, np.maximum(floor * scale, 1e-8))
    repaired = (vectors * values[..., None, :]) @ transpose(vectors)
    return symmetrize(repaired)


def is_positive_definite(matrices: FloatArray) -> BoolArray:
    """Per matrix of a (..., d, d) stack: symmetric with all eigenvalues above zero."""
    stack = np.asarray(matrices, dtype=np.float64)
    if stack.size == 0:
        return np.ones(stack.shape[:-2], dtype=np.bool_)
    finite: BoolArray = np.asarray(np.isfinite(stack).all(axis=(-1, -2)))
    safe = np.where(finite[..., None, None], stack, 0.0)
    close = np.isclose(safe, transpose(safe), rtol=1e-6, atol=1e-9)
    symmetric: BoolArray = np.asarray(close.all(axis=(-1, -2)))
    eigenvalues = np.linalg.eigvalsh(symmetrize(safe))
    result: BoolArray = np.asarray(finite & symmetric & (eigenvalues > 0.0).all(axis=-1))
    return result


def small_inverse(matrices: FloatArray) -> FloatArray:
    """Inverses of a (K, m, m) stack; closed forms for m <= 3 (far cheaper than LAPACK
    calls on thousands of tiny matrices), LAPACK otherwise. Singular rows give inf/NaN."""
    size = matrices.shape[-1]
    if size == 1:
        return np.asarray(1.0 / matrices)
    if size == 2:
        a, b = matrices[:, 0, 0], matrices[:, 0, 1]
        c, d = matrices[:, 1, 0], matrices[:, 1, 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            inverse_determinant = 1.0 / (a * d - b * c)
        result = np.empty_like(matrices)
        result[:, 0, 0] = d * inverse_determinant
        result[:, 0, 1] = -b * inverse_determinant
        result[:, 1, 0] = -c * inverse_determinant
        result[:, 1, 1] = a * inverse_determinant
        return result
    if size == 3:
        m = matrices
        cofactor = np.empty_like(m)
        cofactor[:, 0, 0] = m[:, 1, 1] * m[:, 2, 2] - m[:, 1, 2] * m[:, 2, 1]
        cofactor[:, 0, 1] = m[:, 0, 2] * m[:, 2, 1] - m[:, 0, 1] * m[:, 2, 2]
        cofactor[:, 0, 2] = m[:, 0, 1] * m[:, 1, 2] - m[:, 0, 2] * m[:, 1, 1]
        cofactor[:, 1, 0] = m[:, 1, 2] * m[:, 2, 0] - m[:, 1, 0] * m[:, 2, 2]
        cofactor[:, 1, 1] = m[:, 0, 0] * m[:, 2, 2] - m[:, 0, 2] * m[:, 2, 0]
        cofactor[:, 1, 2] = m[:, 0, 2] * m[:, 1, 0] - m[:, 0, 0] * m[:, 1, 2]
        cofactor[:, 2, 0] = m[:, 1, 0] * m[:, 2, 1] - m[:, 1, 1] * m[:, 2, 0]
        cofactor[:, 2, 1] = m[:, 0, 1] * m[:, 2, 0] - m[:, 0, 0] * m[:, 2, 1]
        cofactor[:, 2, 2] = m[:, 0, 0] * m[:, 1, 1] - m[:, 0, 1] * m[:, 1, 0]
        determinant = (
            m[:, 0, 0] * cofactor[:, 0, 0]
            + m[:, 0, 1] * cofactor[:, 1, 0]
            + m[:, 0, 2] * cofactor[:, 2, 0]
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(cofactor / determinant[:, None, None])
    try:
        return np.asarray(np.linalg.inv(matrices))
    except np.linalg.LinAlgError:
        return np.asarray(np.linalg.pinv(matrices))


def ensure_positive_definite(matrices: FloatArray, floor: float = 1e-10) -> FloatArray:
    """The stack itself when every matrix is positive definite (one Cholesky pass),
    otherwise with the failing matrices' eigenvalues raised to ``floor`` x their scale.

    Updates with nearly exact measurements leave covariances so ill-conditioned that
    rounding can tip an eigenvalue below zero; repairing them here keeps every track's
    covariance usable.
    """
    if matrices.size == 0:
        return matrices
    try:
        np.linalg.cholesky(matrices)
        return matrices
    except np.linalg.LinAlgError:
        pass
    eigenvalues = np.linalg.eigvalsh(matrices)
    scale = np.maximum(np.abs(eigenvalues).max(axis=-1), 1.0)
    broken = eigenvalues.min(axis=-1) <= floor * scale
    repaired = matrices.copy()
    repaired[broken] = _eigen_floor(matrices[broken], floor)
    return repaired
