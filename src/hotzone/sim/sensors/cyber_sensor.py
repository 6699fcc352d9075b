"""Network intrusion detection over the sensor sites: alerts from the scenario's attacks.

During an attack (after ``detection_delay_s``) each poll raises an alert with probability
``poll_interval_s / alert_interval_s``, so an attack yields about one alert per
``alert_interval_s``, with the attack's severity give or take one. Benign false alerts
(scans, policy hits) arrive at ``false_alert_rate_per_hour`` with low severity.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hotzone.sim.sensors.base import CyberAttack, GriddedSensorModel, SensorContext, SensorOutput
from hotzone.sim.sensors.common import utc_from_posix
from hotzone.sim.sensors.config import CyberSensorConfig
from hotzone.sim.truth import TruthBatch
from hotzone.types import Event, EventKind, GeoPoint

BENIGN_ALERT_CATEGORIES = ("port_scan", "policy_violation", "failed_login", "dns_anomaly")


class CyberSensorModel(GriddedSensorModel):
    """Cyber alerts about sensor sites."""

    def __init__(self, config: CyberSensorConfig, context: SensorContext) -> None:
        super().__init__(config, context, config.poll_interval_s)
        self.config = config
        monitored = set(config.monitored_sensor_ids or context.sensor_sites)
        self._attacks = tuple(
            attack
            for attack in context.cyber_attacks
            if not monitored or attack.target_sensor_id in monitored
        )
        self._monitored = tuple(sorted(monitored))
        self._sites = dict(context.sensor_sites)

    def observe(self, truth: TruthBatch, rng: np.random.Generator) -> Sequence[SensorOutput]:
        config = self.config
        now = truth.posix_time
        alert_probability = min(config.poll_interval_s / config.alert_interval_s, 1.0)
        alerts: list[SensorOutput] = []
        for attack in self._attacks:
            active = attack.start.timestamp() + config.detection_delay_s <= now
            if active and now < attack.end.timestamp() and rng.random() < alert_probability:
                severity = int(np.clip(attack.severity + rng.integers(-1, 2), 0, 10))
                alerts.append(self._attack_alert(now, attack, severity))
        false_probability = config.false_alert_rate_per_hour * config.poll_interval_s / 3600.0
        if self._monitored and rng.random() < false_probability:
            subject = self._monitored[int(rng.integers(len(self._monitored)))]
            category = BENIGN_ALERT_CATEGORIES[int(rng.integers(len(BENIGN_ALERT_CATEGORIES)))]
            alerts.append(self._alert(now, subject, category, int(rng.integers(1, 4))))
        return alerts

    def _attack_alert(self, now: float, attack: CyberAttack, severity: int) -> Event:
        return self._alert(now, attack.target_sensor_id, attack.kind, severity)

    def _alert(self, now: float, subject: str, category: str, severity: int) -> Event:
        position: GeoPoint | None = self._sites.get(subject)
        return Event(
            event_id=self.site.next_id(),
            time=utc_from_posix(now),
            source_id=self.sensor_id,
            kind=EventKind.CYBER_ALERT,
            severity=severity,
            summary=f"{category} on sensor {subject}",
            position=position,
            subject_id=subject,
            attributes={"category": category, "sector": self.site.sector},
            releasability=self.site.releasability,
        )
