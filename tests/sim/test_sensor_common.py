"""Shared sensor helpers stay finite far outside their design range."""

from __future__ import annotations

import numpy as np

from hotzone.sim.sensors.common import logistic_falloff


def test_logistic_falloff_is_finite_and_monotone_at_any_range() -> None:
    ranges = np.array([0.0, 500.0, 1_000.0, 1e5, 1e7, 1e9])
    falloff = logistic_falloff(ranges, half_range_m=1_000.0, width_m=100.0)
    assert np.all(np.isfinite(falloff))
    assert falloff[2] == 0.5
    assert np.all(np.diff(falloff) <= 0)
    assert falloff[-1] < 1e-20
