"""When each cooperative transmitter (ADS-B, AIS) sends, between the engine's ticks.

Every transmitter keeps its own next-due time, so transmitters are not synchronized and a
report's time is its own due time rather than the tick. A transmitter first seen draws a
random phase; one that leaves coverage is forgotten (and draws a new phase on return).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np

from hotzone.types.arrays import FloatArray


class TransmitterSchedule:
    """Next transmission time per transmitter key."""

    def __init__(self) -> None:
        self._next_due: dict[Hashable, float] = {}

    def due(
        self,
        keys: Sequence[Hashable],
        intervals_s: FloatArray,
        now: float,
        jitter_s: FloatArray,
        rng: np.random.Generator,
    ) -> list[tuple[int, float]]:
        """(row, time) of every transmission due up to ``now`` from the given transmitters."""
        transmissions: list[tuple[int, float]] = []
        next_due: dict[Hashable, float] = {}
        for row, key in enumerate(keys):
            interval = float(intervals_s[row])
            due = self._next_due.get(key)
            if due is None:
                due = now + float(rng.uniform(0.0, interval))
            while due <= now:
                transmissions.append((row, due))
                step = (
                    interval + float(rng.normal(0.0, jitter_s[row]))
                    if jitter_s[row] > 0
                    else interval
                )
                due += max(step, 0.1 * interval)
            next_due[key] = due
        self._next_due = next_due
        return transmissions
