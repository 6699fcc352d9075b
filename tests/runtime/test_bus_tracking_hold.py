"""The bus pipeline's tracking stage holds windows as ``ingest --track --hold`` does.

`tracking_stage` steps its tracker through `TrackingWindows.step_window`: the windows of
the bus pipeline (its clock ticks) are stepped by the same code as the windows of the
one-stream commands (`TrackingWindows.push`), so the same messages and the same hold give
the same tracks. With a hold as long as the ADS-B feed's delivery delay (0.2 s in
suwalki-drones) no report reaches the tracker out of sequence.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hotzone.bus import InProcessBus
from hotzone.fusion.stage import TrackingStage
from hotzone.runtime.pipeline import Pipeline
from hotzone.runtime.stages import tracking_stage
from hotzone.runtime.windows import ReplaySummary, TrackingWindows, WindowClock, delivery_time
from hotzone.sim.scenario import load_scenario
from hotzone.sim.simulator import simulate
from hotzone.store import SQLiteStore
from hotzone.types import AnyMessage, Detection, Report, Track, from_json, to_json

DURATION_S = 90.0


@pytest.fixture(scope="module")
def messages() -> list[AnyMessage]:
    return list(simulate(load_scenario("suwalki-drones"), seed=1, duration_s=DURATION_S))


def _through_the_bus(
    messages: list[AnyMessage], hold_s: float, store_path: Path
) -> tuple[list[bytes], ReplaySummary]:
    stage = tracking_stage(load_scenario("suwalki-drones"), hold_s=hold_s)
    store = SQLiteStore(store_path)

    async def run() -> None:
        bus = InProcessBus()
        await Pipeline(bus, store, [stage]).run(messages)
        await bus.close()

    try:
        asyncio.run(run())
        tracks = [to_json(stored.message) for stored in store.replay(types=["track"])]
    finally:
        store.close()
    assert stage.windows is not None
    return tracks, stage.windows


def _through_push(messages: list[AnyMessage], hold_s: float) -> list[list[Track]]:
    scenario = load_scenario("suwalki-drones")
    stage = TrackingStage(
        frame=scenario.frame,
        sector=scenario.sectors[0].name,
        confirmed_only=True,
        releasability=scenario.releasability,
    )
    windows = TrackingWindows(stage, 1.0, ReplaySummary(), hold_s)
    stepped = []
    for message in messages:
        stepped.extend(windows.push(message))
    return stepped  # the last window (`finish`, on everything) left out


@pytest.mark.parametrize("hold_s", [0.0, 0.25])
def test_the_bus_stage_steps_the_windows_of_push(
    messages: list[AnyMessage], hold_s: float, tmp_path: Path
) -> None:
    on_bus, _ = _through_the_bus(messages, hold_s, tmp_path / "run.sqlite")
    pushed = [to_json(track) for window in _through_push(messages, hold_s) for track in window]
    assert pushed
    # Every window but the last is the same (the bus steps the last one held, then,
    # draining, on what it held; `push`'s `finish` steps it once on everything).
    assert on_bus[: len(pushed)] == pushed


def test_a_hold_as_long_as_the_delivery_delay_leaves_nothing_out_of_sequence(
    messages: list[AnyMessage], tmp_path: Path
) -> None:
    tracked = [m for m in messages if isinstance(m, Detection | Report)]
    delays = {round(delivery_time(m) - m.time.timestamp(), 6) for m in tracked}
    assert max(delays) == pytest.approx(0.2)  # the ADS-B feed's
    tracks_unheld, unheld = _through_the_bus(messages, 0.0, tmp_path / "unheld.sqlite")
    tracks_held, held = _through_the_bus(messages, 0.25, tmp_path / "held.sqlite")
    print("out of sequence without a hold:", unheld.out_of_sequence)
    assert unheld.out_of_sequence > 0
    assert held.out_of_sequence == 0
    assert held.messages == unheld.messages == len(tracked)
    # What was held at the end is stepped too, when the pipeline drains: the last track
    # messages are at the end of the last window, not a hold before it.
    clock = WindowClock(1.0)
    for message in messages:
        clock.advance(delivery_time(message))
    assert clock.open_end is not None
    last = max(from_json(track).time.timestamp() for track in tracks_held)
    assert last == pytest.approx(clock.open_end)
    assert tracks_held != tracks_unheld
