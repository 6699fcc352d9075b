"""Start tracks of silent emitters from bearings of two or more passive sensors.

A bearing has no range, so one sensor cannot start a track; two bearings of the same
object from different places cross at it. Unused bearings wait here for ``window_s``
seconds; each crossing of bearings from different sensors at a usable angle, in front
of both sensors and within range, becomes a position with the covariance implied by the
two angular errors at their ranges.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hotzone.types.arrays import FloatArray, IntArray
from hotzone.types.labels import LabelTable


@dataclass
class PendingBearing:
    sensor_id: str
    sensor_position: FloatArray
    time: float
    azimuth: float
    variance: float
    elevation: float | None
    label: int = -1  # label id in the tracker's LabelTable; -1: unlabelled


@dataclass
class BearingTriangulator:
    """Collects unused bearings and crosses them into positions for initiation."""

    window_s: float = 2.0
    """Bearings older than this (relative to the newest) are dropped."""
    min_crossing_deg: float = 10.0
    """Shallower crossings give positions too uncertain along the line of sight."""
    max_range_m: float = 50_000.0
    height_m: float = 100.0
    """Height prior when no sensor measured elevation."""
    height_sigma_m: float = 300.0
    pending: list[PendingBearing] = field(default_factory=list)

    def add(
        self,
        sensor_id: str,
        sensor_position: FloatArray,
        times: FloatArray,
        values: FloatArray,
        noise: FloatArray,
        label_ids: IntArray | None = None,
    ) -> None:
        for row in range(len(times)):
            self.pending.append(
                PendingBearing(
                    sensor_id,
                    sensor_position,
                    float(times[row]),
                    float(values[row, 0]),
                    float(noise[row, 0, 0]),
                    float(values[row, 1]) if values.shape[1] > 1 else None,
                    -1 if label_ids is None else int(label_ids[row]),
                )
            )

    def triangulate(
        self, now: float, labels: LabelTable | None = None
    ) -> tuple[FloatArray, FloatArray, FloatArray, IntArray]:
        """Positions (K, 3), covariances (K, 3, 3), times (K,) and label ids (K,) of new
        crossings. With a label table, only bearings that share a nation are crossed,
        and a crossing's label is the meet of its two bearings' (-1: unlabelled)."""
        self.pending = [b for b in self.pending if now - b.time <= self.window_s]
        candidates: list[tuple[float, int, int, FloatArray, FloatArray]] = []
        for first_index, first in enumerate(self.pending):
            for second_index in range(first_index + 1, len(self.pending)):
                second = self.pending[second_index]
                if second.sensor_id == first.sensor_id:
                    continue
                if labels is not None and not labels.compatible(first.label, second.label):
                    continue
                crossing = self._cross(first, second)
                if crossing is not None:
                    candidates.append((crossing[2], first_index, second_index, *crossing[:2]))
        # Best-conditioned crossings first; each bearing starts at most one track.
        candidates.sort(key=lambda item: item[0])
        used: set[int] = set()
        positions, covariances, times, crossing_labels = [], [], [], []
        for _, first_index, second_index, position, covariance in candidates:
            if first_index in used or second_index in used:
                continue
            used.update((first_index, second_index))
            positions.append(position)
            covariances.append(covariance)
            times.append(max(self.pending[first_index].time, self.pending[second_index].time))
            pair = (self.pending[first_index].label, self.pending[second_index].label)
            crossing_labels.append(-1 if labels is None else labels.meet(*pair))
        self.pending = [b for index, b in enumerate(self.pending) if index not in used]
        if not positions:
            return np.zeros((0, 3)), np.zeros((0, 3, 3)), np.zeros(0), np.zeros(0, dtype=np.int64)
        return (
            np.array(positions),
            np.array(covariances),
            np.array(times),
            np.array(crossing_labels, dtype=np.int64),
        )

    def _cross(
        self, first: PendingBearing, second: PendingBearing
    ) -> tuple[FloatArray, FloatArray, float] | None:
        directions = np.array(
            [
                [np.sin(first.azimuth), np.cos(first.azimuth)],
                [np.sin(second.azimuth), np.cos(second.azimuth)],
            ]
        )
        crossing_sine = abs(
            directions[0, 0] * directions[1, 1] - directions[0, 1] * directions[1, 0]
        )
        if crossing_sine < np.sin(np.radians(self.min_crossing_deg)):
            return None
        baseline = second.sensor_position[:2] - first.sensor_position[:2]
        # first + r1 d1 = second + r2 d2  ->  [d1, -d2] [r1, r2]ᵀ = baseline
        ranges = np.linalg.solve(np.column_stack([directions[0], -directions[1]]), baseline)
        if (ranges <= 0).any() or (ranges > self.max_range_m).any():
            return None
        horizontal = first.sensor_position[:2] + ranges[0] * directions[0]
        # Each bearing constrains the position across its line of sight with standard
        # deviation range × angular sigma; the information of the two adds.
        information = np.zeros((2, 2))
        for direction, distance, variance in zip(
            directions, ranges, (first.variance, second.variance), strict=True
        ):
            normal = np.array([direction[1], -direction[0]])
            information += np.outer(normal, normal) / max(distance**2 * variance, 1e-6)
        if np.linalg.det(information) <= 1e-18:
            return None  # bearings too vague to place anything
        covariance = np.zeros((3, 3))
        covariance[:2, :2] = np.linalg.inv(information)
        heights = [
            bearing.sensor_position[2] + distance * np.tan(bearing.elevation)
            for bearing, distance in zip((first, second), ranges, strict=True)
            if bearing.elevation is not None
        ]
        if heights:
            height = float(np.mean(heights))
            covariance[2, 2] = max(float(ranges.max()) * 0.02, 10.0) ** 2
        else:
            height = self.height_m
            covariance[2, 2] = self.height_sigma_m**2
        position = np.array([horizontal[0], horizontal[1], height])
        return position, covariance, float(np.trace(covariance[:2, :2]))
