"""Per-producer watermarks (`hotzone.runtime.watermarks`): a tick steps on its producers'
outputs of that tick, whenever they arrive, and goes on without a producer that is absent."""

from __future__ import annotations

from hotzone.bus import BusMessage
from hotzone.runtime.services import encode_tick
from hotzone.runtime.watermarks import (
    STAGE_HEADER,
    TICK_HEADER,
    TICKS_REMEMBERED,
    TickGate,
    tracking_producer,
)
from hotzone.types import AnyMessage
from tests.federation.helpers import detection

NORTH, SOUTH = tracking_producer("north"), tracking_producer("south")


def _clock(tick_id: str) -> BusMessage:
    headers = {"kind": "tick", "Nats-Msg-Id": tick_id}
    return BusMessage(subject="hz.PL.clock", payload=encode_tick(0.0), headers=headers)


def _produced(tick_id: str) -> dict[str, str]:
    return {TICK_HEADER: tick_id, STAGE_HEADER: "fusion"}


def _ids(inputs: list[AnyMessage]) -> list[str]:
    return [getattr(message, "detection_id", "?") for message in inputs]


def _gate() -> TickGate:
    return TickGate(frozenset({NORTH, SOUTH}), frozenset({"fusion"}), absent_after_s=10.0)


def test_a_tick_waits_for_every_producer_and_takes_its_outputs_of_that_tick() -> None:
    gate = _gate()
    gate.take(detection(1, "north"), "hz.PL.det.north.r", {})  # before tick 1: plain input
    gate.tick("t1", _clock("t1"))
    gate.take(detection(2, "north"), "hz.PL.det.north.r", {})  # after tick 1: tick 2's
    # South's output of tick 1 arrives first, then north's; both belong to tick 1.
    gate.take(detection(11, "south"), "hz.PL.trk.south", _produced("t1"))
    gate.marker(SOUTH, "t1")
    assert gate.ready() == []  # north has not said it is done
    gate.take(detection(10, "north"), "hz.PL.trk.north", _produced("t1"))
    gate.marker(NORTH, "t1")
    [released] = gate.ready()
    # The plain input first, then the producers' outputs by subject (north before south).
    assert _ids(released.inputs) == _ids(
        [detection(1, "north"), detection(10, "north"), detection(11, "south")]
    )
    assert released.missing == frozenset()
    gate.tick("t2", _clock("t2"))
    gate.marker(NORTH, "t2")
    gate.marker(SOUTH, "t2")
    [second] = gate.ready()
    assert _ids(second.inputs) == [detection(2, "north").detection_id]
    assert not gate.timeouts


def test_outputs_of_a_tick_not_yet_received_wait_for_it() -> None:
    gate = _gate()
    # A fast producer is done with tick t1 before this stage has read the tick itself.
    gate.take(detection(5, "north"), "hz.PL.trk.north", _produced("t1"))
    gate.marker(NORTH, "t1")
    gate.marker(SOUTH, "t1")
    assert gate.ready() == []
    gate.tick("t1", _clock("t1"))
    [released] = gate.ready()
    assert _ids(released.inputs) == [detection(5, "north").detection_id]


def test_an_absent_producer_is_waited_for_once_then_counted_and_taken_back() -> None:
    gate = _gate()
    gate.tick("t1", _clock("t1"))
    gate.tick("t2", _clock("t2"))
    gate.marker(NORTH, "t1")
    gate.marker(NORTH, "t2")
    # Time reading a backlog is not waiting; 4 s waiting on the bus for nothing is.
    assert gate.ready() == [] and gate.idle(4.0) == []
    assert gate.wait_s() == 6.0
    gate.marker(NORTH, "t1")  # any marker starts the wait again
    assert gate.idle(9.0) == []
    released = gate.idle(1.0)
    # South said nothing for 10 s of waiting: both waiting ticks go on without it.
    assert len(released) == 2 and all(tick.missing == {SOUTH} for tick in released)
    assert gate.timeouts == {SOUTH: 2}
    # Absent, it is not waited for ...
    gate.tick("t3", _clock("t3"))
    gate.marker(NORTH, "t3")
    assert len(gate.ready()) == 1 and gate.timeouts == {SOUTH: 3}
    # ... until it says something again; its outputs of a tick gone by join the next one.
    gate.take(detection(7, "south"), "hz.PL.trk.south", _produced("t1"))
    gate.marker(SOUTH, "t1")
    gate.tick("t4", _clock("t4"))
    gate.marker(NORTH, "t4")
    assert gate.ready() == []  # waits for south again
    gate.marker(SOUTH, "t4")
    [fourth] = gate.ready()
    assert _ids(fourth.inputs) == [detection(7, "south").detection_id]
    assert gate.timeouts == {SOUTH: 3}


def test_ticks_named_but_never_coming_are_forgotten_beyond_a_bound() -> None:
    """A publisher naming ticks that never come (a bad clock, a hostile one in the nation's
    account) cannot make the gate grow without bound; the ticks that do come still wait
    for their producers and take their outputs."""
    gate = _gate()
    for index in range(TICKS_REMEMBERED + 50):
        gate.take(detection(index, "north"), "hz.PL.trk.north", _produced(f"never-{index}"))
        gate.marker(NORTH, f"never-{index}")
    assert len(gate.produced) == TICKS_REMEMBERED and len(gate.done) == TICKS_REMEMBERED
    assert gate.forgotten == 100
    gate.tick("t1", _clock("t1"))
    gate.take(detection(7, "south"), "hz.PL.trk.south", _produced("t1"))
    gate.marker(NORTH, "t1")
    assert gate.ready() == []
    gate.marker(SOUTH, "t1")
    (released,) = gate.ready()
    assert _ids(released.inputs) == [detection(7, "south").detection_id]


def test_released_ticks_are_remembered_up_to_the_bound() -> None:
    gate = _gate()
    for index in range(TICKS_REMEMBERED + 5):
        tick_id = f"t{index}"
        gate.tick(tick_id, _clock(tick_id))
        gate.marker(NORTH, tick_id)
        gate.marker(SOUTH, tick_id)
        assert len(gate.ready()) == 1
    assert len(gate.released) == TICKS_REMEMBERED
    assert "t0" not in gate.released and f"t{TICKS_REMEMBERED + 4}" in gate.released
