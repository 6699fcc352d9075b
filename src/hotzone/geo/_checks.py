"""Input checks shared by the geo functions: bad coordinates raise, naming the argument."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

# geo imports nothing of ours, so it keeps its own copy of `hotzone.types.arrays`.
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def checked_latitude(name: str, values: ArrayLike) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    bad = ~np.isfinite(array) | (np.abs(array) > 90.0)
    if np.any(bad):
        raise ValueError(
            f"{name} must be finite degrees in [-90, 90]; got {array[bad].ravel()[:3]!r}"
        )
    return array


def checked_finite(name: str, values: ArrayLike) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    bad = ~np.isfinite(array)
    if np.any(bad):
        raise ValueError(f"{name} must be finite; got {array[bad].ravel()[:3]!r}")
    return array


def checked_positions(lat_deg: ArrayLike, lon_deg: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Latitudes and longitudes, checked and broadcast to one shape."""
    lat, lon = np.broadcast_arrays(
        checked_latitude("lat_deg", lat_deg), checked_finite("lon_deg", lon_deg)
    )
    return lat, lon
