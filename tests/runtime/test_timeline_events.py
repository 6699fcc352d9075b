"""The events of a run (`hotzone.runtime.timeline`): each alert once when raised, a spell of
GNSS jamming once at its start, everything in time order."""

from __future__ import annotations

from datetime import timedelta

import msgspec

from hotzone.runtime.timeline import JAMMING_SPELL_GAP_S, timeline_events
from hotzone.types import AlertState, Event, EventKind
from tests.api.picture_fixture import START, picture_messages


def _jamming(event_id: str, seconds: float) -> Event:
    return Event(
        event_id=event_id,
        time=START + timedelta(seconds=seconds),
        source_id="assess",
        kind=EventKind.JAMMING,
        severity=5,
        summary=f"GNSS jamming {event_id}",
    )


def test_alerts_once_jamming_spells_once_and_in_time_order() -> None:
    messages = picture_messages()
    alert = next(m for m in messages if getattr(m, "alert_id", None) == "A1")
    acknowledged = msgspec.structs.replace(
        alert, time=alert.time + timedelta(seconds=5), state=AlertState.ACKNOWLEDGED
    )
    estimates = [_jamming(f"j{i}", 20 + 5 * i) for i in range(10)]  # +20 s .. +65 s
    later_spell = _jamming("j-later", 65 + JAMMING_SPELL_GAP_S + 1)
    events = timeline_events([*messages, acknowledged, *estimates, later_spell])
    assert [e.ident for e in events if e.kind == "alert"] == ["A1", "A2"]
    assert [e.ident for e in events if e.kind == "jamming"] == ["j0", "j-later"]
    assert [e.ident for e in events if e.kind == "proposal"] == ["P-KINETIC", "P-JAM"]
    times = [e.posix_time for e in events]
    assert times == sorted(times)
    assert events[0].view()["kind"] == "alert" and events[-1].ident == "j-later"
