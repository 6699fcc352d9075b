"""Input checks at the tracker's door: rows the filter cannot use become `Rejection`s.

A scan from outside may carry NaN, values whose products overflow, times a day away or
covariances that are not positive definite; such rows are refused with a reason (each
becomes a dead letter) and the rest go on with their covariances repaired once here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from hotzone.fusion.arrays import repair_covariance
from hotzone.fusion.scan import SensorScan

MAX_ABS_VALUE = 1e9
MAX_ABS_NOISE = 1e14
MAX_TIME_OFFSET_S = 86_400.0


@dataclass(frozen=True)
class Rejection:
    """A measurement the tracker refused, with the reason (becomes a dead letter)."""

    sensor_id: str
    measurement_id: str
    time: float
    reason: str


def rejection(scan: SensorScan, row: int, reason: str) -> Rejection:
    """The rejection of row ``row`` of ``scan``."""
    measurement_id = scan.measurement_ids[row] if scan.measurement_ids else str(row)
    time = float(scan.times[row]) if np.isfinite(scan.times[row]) else float("nan")
    return Rejection(scan.sensor_id, measurement_id, time, reason)


def reject_all(scan: SensorScan, reason: str) -> list[Rejection]:
    return [rejection(scan, row, reason) for row in range(scan.size)]


def sanitize(scan: SensorScan, time: float) -> tuple[SensorScan, list[Rejection]]:
    """The rows the filter can use (noise repaired), and the others as rejections."""
    if scan.size == 0:
        return scan, []
    size = scan.model.size
    if (
        scan.values.shape != (scan.size, size)
        or scan.noise.shape != (scan.size, size, size)
        or scan.times.shape != (scan.size,)
        or scan.sensor_position.shape != (3,)
    ):
        unfit = reject_all(scan, f"scan arrays do not fit a {size}-value measurement")
        return scan.take(np.zeros(0, dtype=np.int64)), unfit
    if (
        np.isfinite(scan.times).all()
        and np.abs(scan.times - time).max() <= MAX_TIME_OFFSET_S
        and np.isfinite(scan.sensor_position).all()
        and np.abs(scan.sensor_position).max() <= MAX_ABS_VALUE
        and np.abs(scan.values).max() <= MAX_ABS_VALUE  # False for NaN as well
        and np.abs(scan.noise).max() <= MAX_ABS_NOISE
    ):
        return replace(scan, noise=repair_covariance(scan.noise)), []
    reasons = (
        (~np.isfinite(scan.values).all(axis=1), "non-finite value"),
        (~np.isfinite(scan.noise).all(axis=(1, 2)), "non-finite covariance"),
        (~np.isfinite(scan.times), "non-finite time"),
        (
            np.full(scan.size, not np.isfinite(scan.sensor_position).all()),
            "non-finite sensor position",
        ),
        # Beyond these the filter's products overflow: a position a million km away,
        # a standard deviation of ten thousand km, a time a day from the window.
        (np.abs(np.nan_to_num(scan.values)).max(axis=1) > MAX_ABS_VALUE, "value out of range"),
        (
            np.abs(np.nan_to_num(scan.noise)).max(axis=(1, 2)) > MAX_ABS_NOISE,
            "covariance out of range",
        ),
        (
            np.abs(np.nan_to_num(scan.times) - time) > MAX_TIME_OFFSET_S,
            "time more than a day away from the step",
        ),
        (
            np.full(scan.size, np.abs(np.nan_to_num(scan.sensor_position)).max() > MAX_ABS_VALUE),
            "sensor position out of range",
        ),
    )
    refused: list[Rejection] = []
    usable = np.ones(scan.size, dtype=np.bool_)
    for bad, reason in reasons:
        rows = np.flatnonzero(bad & usable).tolist()
        refused.extend(rejection(scan, row, reason) for row in rows)
        usable &= ~bad
    kept = scan.take(np.flatnonzero(usable)) if not usable.all() else scan
    if kept.size == 0:
        return kept, refused
    return replace(kept, noise=repair_covariance(kept.noise)), refused
