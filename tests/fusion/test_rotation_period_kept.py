"""A radar's rotation period is found once each time its pairs change, not at every ask.

The live mode asks every radar's `RotationClock.period_s` at each step, tens of times a
second, while the pairs change once a datagram: the period found is kept until a plot
adds a pair. Asked after every chunk, it is the period a clock fed the same plots and
never asked before gives.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hotzone.fusion.conversion import RotationClock


def _give(clock: RotationClock, part: list[tuple[float, float]], index: int) -> None:
    """Chunk ``index``: with `add_many`, every third one plot at a time with `add`."""
    if index % 3 == 2:
        for time_s, azimuth_deg in part:
            clock.add(time_s, azimuth_deg)
    else:
        clock.add_many(np.array([t for t, _ in part]), np.array([a for _, a in part]))


@pytest.mark.parametrize("seed", [4, 5])
def test_the_period_asked_after_every_chunk_is_the_period_of_the_plots_so_far(seed: int) -> None:
    rng = np.random.default_rng(seed)
    # A 4 s radar's plots over 30 s, then a 6 s radar's: the period must follow.
    times = np.sort(rng.uniform(0.0, 60.0, 1_500))
    period = np.where(times < 30.0, 4.0, 6.0)
    plots = [
        (float(t), float((t / p * 360.0 + rng.normal(0, 1.0)) % 360))
        for t, p in zip(times, period, strict=True)
    ]
    cuts = np.sort(rng.choice(np.arange(1, len(plots)), 80, replace=False)).tolist()
    parts = [plots[start:end] for start, end in itertools.pairwise([0, *cuts, len(plots)])]
    asked = RotationClock()
    periods = []
    for index, part in enumerate(parts):
        _give(asked, part, index)
        # Asked twice: the second answer is the one kept.
        first = asked.period_s
        assert asked.period_s == first
        # A clock given the same plots and never asked before.
        fresh = RotationClock()
        for earlier, chunk in enumerate(parts[: index + 1]):
            _give(fresh, chunk, earlier)
        assert first == fresh.period_s
        periods.append(first)
    assert periods[len(periods) // 3] == pytest.approx(4.0, rel=0.05)
    assert periods[-1] == pytest.approx(6.0, rel=0.05)
