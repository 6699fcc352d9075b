"""ASTERIX time of day (seconds since UTC midnight) -> aware UTC datetime.

ASTERIX items carry no date, so each time is placed on the day of reception; a time more
than 12 h after the reception time belongs to the previous day (a report stamped 23:59:59
received at 00:00:01), one more than 12 h before it to the next day.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

SECONDS_PER_DAY = 86400.0
_HALF_DAY = timedelta(hours=12)


def time_of_day_to_datetime(seconds: float, received_at: datetime) -> datetime:
    """The UTC instant nearest to ``received_at`` whose time of day is ``seconds``."""
    received = received_at.astimezone(UTC)
    midnight = received.replace(hour=0, minute=0, second=0, microsecond=0)
    candidate = midnight + timedelta(seconds=seconds % SECONDS_PER_DAY)
    if candidate - received > _HALF_DAY:
        candidate -= timedelta(days=1)
    elif received - candidate > _HALF_DAY:
        candidate += timedelta(days=1)
    return candidate
