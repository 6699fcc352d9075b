"""The runtime replays input through the bus into stages and records everything."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hotzone.bus import InProcessBus
from hotzone.runtime.pipeline import Pipeline
from hotzone.store import SQLiteStore
from hotzone.types import (
    Alert,
    AnyMessage,
    Event,
    EventKind,
    GeoPoint,
    Track,
    TrackStatus,
)

START = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _event(second: float) -> Event:
    return Event(
        event_id=f"e{second}",
        time=START + timedelta(seconds=second),
        source_id="ugs-1",
        kind=EventKind.PROXIMITY,
        severity=3,
        summary="movement",
    )


class EventCounterStage:
    """A tiny real stage: one track per window that had events, numbered by window."""

    name = "counter"
    input_subjects = ("det.>",)

    def __init__(self) -> None:
        self.windows: list[tuple[datetime, int]] = []

    def accepts(self, message: AnyMessage) -> bool:
        return isinstance(message, Event)

    def step(self, time: datetime, inputs: Sequence[AnyMessage]) -> Sequence[AnyMessage]:
        self.windows.append((time, len(inputs)))
        if not inputs:
            return []
        return [
            Track(
                track_id=f"T{len(self.windows)}",
                track_number=len(self.windows),
                time=time,
                status=TrackStatus.CONFIRMED,
                position=GeoPoint(54.0, 23.0),
                sector="s1",
                enu_position_m=(0.0, 0.0, 0.0),
                enu_velocity_mps=(0.0, 0.0, 0.0),
                covariance=((1.0,),),
                quality=1.0,
            )
        ]


class TrackWatcherStage:
    """A stage above the counter: raises an alert for every track it sees."""

    name = "watcher"
    input_subjects = ("trk.>",)

    def accepts(self, message: AnyMessage) -> bool:
        return isinstance(message, Track)

    def step(self, time: datetime, inputs: Sequence[AnyMessage]) -> Sequence[AnyMessage]:
        return [
            Alert(alert_id=f"A-{m.track_id}", time=time, kind="seen", summary="", priority=3)
            for m in inputs
            if isinstance(m, Track)
        ]


def test_stages_step_per_window_and_everything_is_recorded(tmp_path: Path) -> None:
    inputs = [_event(s) for s in (0.1, 0.5, 1.2, 3.7, 3.9, 3.95)]
    counter = EventCounterStage()

    async def run() -> None:
        bus = InProcessBus()
        with SQLiteStore(tmp_path / "run.sqlite") as store:
            pipeline = Pipeline(bus, store, [counter, TrackWatcherStage()])
            progress = await pipeline.run(inputs)
            assert progress.published["Event"] == 6
            replayed = [stored.message for stored in store.replay()]
        await bus.close()
        events = [m for m in replayed if isinstance(m, Event)]
        tracks = [m for m in replayed if isinstance(m, Track)]
        alerts = [m for m in replayed if isinstance(m, Alert)]
        assert events == inputs
        assert len(tracks) == 3
        # Every track produced, even in the very last window, reaches the stage above.
        assert sorted(a.alert_id for a in alerts) == sorted(f"A-{t.track_id}" for t in tracks)

    asyncio.run(run())
    nonempty = [(time - START).total_seconds() for time, count in counter.windows if count]
    counts = [count for _, count in counter.windows if count]
    assert nonempty == [1.0, 2.0, 4.0]
    assert counts == [2, 1, 3]


def test_malformed_payload_becomes_a_recorded_dead_letter(tmp_path: Path) -> None:
    async def run() -> list[AnyMessage]:
        bus = InProcessBus()
        with SQLiteStore(tmp_path / "run.sqlite") as store:
            pipeline = Pipeline(bus, store, [EventCounterStage()])

            async def inject() -> None:
                # Publish once the stage and the recorder have subscribed.
                while len(bus._subscriptions) < 2:
                    await asyncio.sleep(0)
                await bus.publish("hz.PL.det.none.junk", b'{"type":"event","time":"yesterday"}')

            injector = asyncio.create_task(inject())
            await pipeline.run([_event(0.0), _event(1.5)])
            await injector
            messages = [stored.message for stored in store.replay(types=["dead_letter"])]
        await bus.close()
        return messages

    dead = asyncio.run(run())
    # The recorder keeps the raw input; the stage reports its own refusal on hz.PL.dead.
    assert len(dead) == 2, "the malformed payload must be kept as a dead letter"
    assert all(b"yesterday" in m.raw for m in dead)  # type: ignore[union-attr]
    assert all("time" in m.reason for m in dead)  # type: ignore[union-attr]


class BrokenStage:
    """A stage with a bug: the run must fail with its error, not wait for it forever."""

    name = "broken"
    input_subjects = ("det.>",)

    def accepts(self, message: AnyMessage) -> bool:
        return True

    def step(self, time: datetime, inputs: Sequence[AnyMessage]) -> Sequence[AnyMessage]:
        if inputs:
            raise ZeroDivisionError("a bug in the stage")
        return []


def test_a_stage_that_raises_fails_the_run_with_its_error(tmp_path: Path) -> None:
    import pytest

    async def run() -> None:
        bus = InProcessBus()
        with SQLiteStore(tmp_path / "run.sqlite") as store:
            await Pipeline(bus, store, [BrokenStage()]).run([_event(s) for s in (0.5, 1.5, 2.5)])

    with pytest.raises(RuntimeError, match="service stopped") as failure:
        asyncio.run(run())
    assert isinstance(failure.value.__cause__, ZeroDivisionError)
