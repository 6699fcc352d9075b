"""Which sensors' data is suspect because their site is under cyber attack.

A sensor whose site (or network) raises a serious cyber alert may be feeding spoofed or
manipulated data. `SuspectSensors` keeps, per sensor, the time until which its data should
be treated as suspect: each qualifying ``cyber_alert`` event extends it by ``hold``. It is
pure (events in, state out) so that fusion or assessment can consult it without a bus.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hotzone.types import Event, EventKind


@dataclass
class SuspectSensors:
    """Cyber alerts in -> sensor ids whose data is suspect, each with an until-time."""

    #: How long after the last qualifying alert a sensor stays suspect.
    hold: timedelta = timedelta(minutes=30)
    #: Alerts below this severity (0-10) do not make a sensor suspect.
    min_severity: int = 6
    #: Site id -> sensor ids at that site; a site not listed is taken as one sensor's id.
    site_sensors: Mapping[str, Sequence[str]] = field(default_factory=dict)
    _until: dict[str, datetime] = field(default_factory=dict, repr=False)
    _reasons: dict[str, str] = field(default_factory=dict, repr=False)

    def observe(self, event: Event) -> list[str]:
        """Take one event into account; returns the sensors it made (or kept) suspect."""
        if event.kind is not EventKind.CYBER_ALERT or event.severity < self.min_severity:
            return []
        site = event.subject_id
        if site is None:
            return []
        sensors = list(self.site_sensors.get(site, (site,)))
        until = event.time + self.hold
        for sensor in sensors:
            if sensor not in self._until or self._until[sensor] < until:
                self._until[sensor] = until
                self._reasons[sensor] = f"cyber alert at site {site}: {event.summary}"
        return sensors

    def observe_all(self, events: Iterable[Event]) -> None:
        for event in events:
            self.observe(event)

    def suspect_at(self, time: datetime) -> dict[str, datetime]:
        """Sensor id -> until-time, for the sensors suspect at ``time``."""
        return {sensor: until for sensor, until in self._until.items() if until > time}

    def is_suspect(self, sensor_id: str, time: datetime) -> bool:
        until = self._until.get(sensor_id)
        return until is not None and until > time

    def reason(self, sensor_id: str) -> str | None:
        """Why the sensor was last marked suspect (the alert that did it)."""
        return self._reasons.get(sensor_id)

    def forget_before(self, time: datetime) -> None:
        """Drop sensors whose suspicion ended before ``time`` (keeps the state small)."""
        for sensor in [s for s, until in self._until.items() if until <= time]:
            del self._until[sensor]
            self._reasons.pop(sensor, None)
