"""A latency histogram kept by a service as it runs, read by `hotzone.runtime.metrics`.

Services count into plain objects like this one and know nothing of Prometheus: the
exporter reads them when scraped, so a process without ``--metrics-port`` pays a few
additions per step and nothing else.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

#: Upper bounds in seconds: from a decode of one datagram (~10 µs) to a slow tracker
#: window (seconds).
LATENCY_BUCKETS_S = (
    0.00001, 0.00003, 0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0,
)  # fmt: skip


@dataclass
class LatencyHistogram:
    """Counts of observations per bucket (not cumulative) and their sum, in seconds."""

    bounds: tuple[float, ...] = LATENCY_BUCKETS_S
    counts: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS_S) + 1))
    total_s: float = 0.0

    def observe(self, seconds: float) -> None:
        # The last slot holds what exceeds every bound (Prometheus' +Inf bucket).
        self.counts[bisect.bisect_left(self.bounds, seconds)] += 1
        self.total_s += seconds

    def cumulative(self) -> list[tuple[str, float]]:
        """(``le``, count) pairs as Prometheus wants them, ending with ``+Inf``."""
        pairs = []
        running = 0
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            running += count
            pairs.append(("+Inf" if bound == float("inf") else repr(bound), float(running)))
        return pairs
