"""Unattended ground sensor (seismic/PIR): a proximity event when a mover comes close.

The sensor remembers who was inside its radius at the previous sample, so one passage
gives one event (on entry), detected with probability ``pd``. It guesses person or
vehicle right with ``class_hint_probability``. False alarms (wind, animals) arrive as a
Poisson process of ``false_alarm_rate_per_hour``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hotzone.sim.sensors.base import GriddedSensorModel, SensorContext, SensorOutput
from hotzone.sim.sensors.common import class_mask, utc_from_posix
from hotzone.sim.sensors.config import UnattendedGroundSensorConfig
from hotzone.sim.truth import TruthBatch
from hotzone.types import Event, EventKind, TargetClass


class UnattendedGroundSensorModel(GriddedSensorModel):
    """Proximity events on entry into the detection radius."""

    def __init__(self, config: UnattendedGroundSensorConfig, context: SensorContext) -> None:
        super().__init__(config, context, config.sample_period_s)
        self.config = config
        self._inside: frozenset[str] = frozenset()

    def observe(self, truth: TruthBatch, rng: np.random.Generator) -> Sequence[SensorOutput]:
        config = self.config
        enu = self.site.frame.ecef_to_enu(np.asarray(truth.ecef_m, dtype=np.float64).reshape(-1, 3))
        # Ground sensors feel what passes by on the ground: horizontal distance, low height.
        near = (np.hypot(enu[:, 0], enu[:, 1]) <= config.detection_radius_m) & (
            np.abs(enu[:, 2]) <= max(config.detection_radius_m, 10.0)
        )
        inside_mask = near & class_mask(truth.target_class, config.detectable_classes)
        inside = frozenset(truth.target_ids[i] for i in np.flatnonzero(inside_mask))
        entered = [
            i for i in np.flatnonzero(inside_mask) if truth.target_ids[i] not in self._inside
        ]
        self._inside = inside
        detect_draws = rng.random(len(entered))
        events: list[SensorOutput] = []
        for draw, i in zip(detect_draws, entered, strict=True):
            if draw < config.pd:
                events.append(self._event(truth.posix_time, self._hint(truth.target_class[i], rng)))
        false_alarm_probability = config.false_alarm_rate_per_hour * config.sample_period_s / 3600
        if rng.random() < false_alarm_probability:
            events.append(self._event(truth.posix_time, self._random_class(rng)))
        return events

    def _hint(self, true_class: TargetClass, rng: np.random.Generator) -> TargetClass:
        if rng.random() < self.config.class_hint_probability:
            return true_class
        others = [c for c in self.config.detectable_classes if c != true_class]
        return others[int(rng.integers(len(others)))] if others else true_class

    def _random_class(self, rng: np.random.Generator) -> TargetClass:
        classes = self.config.detectable_classes or (TargetClass.UNKNOWN,)
        return classes[int(rng.integers(len(classes)))]

    def _event(self, posix_time: float, class_hint: TargetClass) -> Event:
        return Event(
            event_id=self.site.next_id(),
            time=utc_from_posix(posix_time),
            source_id=self.sensor_id,
            kind=EventKind.PROXIMITY,
            severity=self.config.severity,
            summary=f"{class_hint.value} within {self.config.detection_radius_m:g} m",
            position=self.position,
            attributes={
                "class_hint": class_hint.value,
                "radius_m": f"{self.config.detection_radius_m:g}",
                "sector": self.site.sector,
            },
            releasability=self.site.releasability,
        )
