"""The composition root: wires stages to the bus and the store and replays input.

The replay steps the stages on clock ticks at the ends of windows of delivery time, cut
by `hotzone.runtime.windows` (the one place every command's tracker windows come from).
"""

from __future__ import annotations

import asyncio
import math
import time as wallclock
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field

from hotzone.bus import Bus
from hotzone.bus.base import MESSAGE_ID_HEADER
from hotzone.runtime.routing import subject_for
from hotzone.runtime.services import (
    FINISH,
    SHUTDOWN,
    RecorderService,
    Stage,
    StageService,
    encode_tick,
)
from hotzone.runtime.windows import WindowClock, delivery_time
from hotzone.store import Store
from hotzone.types import AnyMessage, to_json
from hotzone.types.subjects import clock_subject


@dataclass
class PipelineProgress:
    """What a live summary shows; updated as the replay advances."""

    simulated_time: float = 0.0
    first_time: float | None = None
    published: Counter[str] = field(default_factory=Counter)
    stage_outputs: dict[str, Counter[str]] = field(default_factory=dict)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    dead_letters: int = 0
    recorded: int = 0
    finished: bool = False

    @property
    def elapsed_simulated_s(self) -> float:
        return 0.0 if self.first_time is None else self.simulated_time - self.first_time


ProgressCallback = Callable[[PipelineProgress], None]
Settle = Callable[[float], Awaitable[None]]
"""Called with each clock tick's time once every stage has stepped on it (lockstep parts
of a run outside the stages: the simulated effectors of a demo)."""


class Pipeline:
    """Replays messages through the bus into every stage, recording everything.

    ``speed`` is the replay speed over real time (``math.inf`` for as fast as possible);
    ``clock_period_s`` is the window after which stages step. With ``settle``, each clock
    tick waits until every stage has stepped on it and then for ``settle`` (the tick's
    time), before anything more is published: what a stage publishes at a tick and what
    ``settle`` lets happen land in the next window, however fast the machine is.
    """

    def __init__(
        self,
        bus: Bus,
        store: Store,
        stages: Sequence[Stage],
        nation: str = "PL",
        clock_period_s: float = 1.0,
        speed: float = math.inf,
        on_progress: ProgressCallback | None = None,
        recorder_skips: tuple[str, ...] = (),
        settle: Settle | None = None,
    ) -> None:
        """``recorder_skips``: subject patterns another recorder keeps (a node's allied
        copies, which outlast its own run)."""
        if clock_period_s <= 0:
            raise ValueError("clock_period_s must be positive")
        self.bus = bus
        self.store = store
        self.nation = nation
        self.clock_period_s = clock_period_s
        self.speed = speed
        self.on_progress = on_progress
        self.settle = settle
        self.services = [StageService(stage, bus, nation) for stage in stages]
        self.recorder = RecorderService(bus, store, nation, skip=recorder_skips)
        self.progress = PipelineProgress()
        self._clock = clock_subject(nation)
        self._ticks_published = 0
        self._tasks: list[asyncio.Task[None]] = []
        #: With a ``run_id``, everything the replay publishes carries the message id
        #: ``{run_id}-{n}`` (n counts the replay's messages and ticks from 1), and the
        #: first ``resume_after`` of them are not published again: a restarted node goes
        #: on from where its replay stopped, and what it sends again is dropped by the
        #: stream's duplicate window.
        self.run_id: str | None = None
        self.resume_after = 0
        self._replayed = 0
        #: Consecutive messages of the replay on one subject, not published yet: they go
        #: as one bus batch (`Bus.publish_batch`), each item with its own id, when the
        #: subject changes, before a tick, and in a paced replay before a later message's
        #: time. The cuts depend only on the messages, the ticks and whether the replay is
        #: paced, so a restarted node forms the same batches (the same ids) again; one
        #: restarted at another speed sends the part after its last tick in other
        #: batches, which readers drop item by item (each item's own id).
        self._run_subject = ""
        self._run_time = 0.0
        self._run: list[tuple[str, bytes]] = []

    def _next_id(self) -> tuple[str, bool]:
        """The next replayed message's id (empty without a ``run_id``: the bus gives one)
        and whether a resumed run published it already."""
        self._replayed += 1
        message_id = "" if self.run_id is None else f"{self.run_id}-{self._replayed}"
        return message_id, self._replayed <= self.resume_after

    async def _send(self, subject: str, payload: bytes, headers: dict[str, str]) -> bool:
        """Publish one message of the replay on its own (a clock tick), after the run of
        messages before it, unless a resumed run published it already."""
        await self._flush_run()
        message_id, published_before = self._next_id()
        if message_id:
            headers[MESSAGE_ID_HEADER] = message_id
        if published_before:
            return False
        await self.bus.publish(subject, payload, headers or None)
        return True

    async def _add_to_run(self, subject: str, payload: bytes, at: float) -> None:
        """Add one replayed message to the run of its subject (published by
        `_flush_run`), unless a resumed run published it already."""
        message_id, published_before = self._next_id()
        if published_before:
            return
        paced_apart = math.isfinite(self.speed) and at != self._run_time
        if self._run and (subject != self._run_subject or paced_apart):
            await self._flush_run()
        self._run_subject, self._run_time = subject, at
        self._run.append((message_id, payload))

    async def _flush_run(self) -> None:
        if self._run:
            run, self._run = self._run, []
            await self.bus.publish_batch(self._run_subject, run)

    async def run(self, messages: Iterable[AnyMessage]) -> PipelineProgress:
        tasks = self._tasks
        services: list[StageService | RecorderService] = [*self.services, self.recorder]
        for service in services:
            ready = asyncio.Event()
            tasks.append(asyncio.create_task(service.run(ready)))
            await ready.wait()
        try:
            await self._replay(messages)
            await self._drain()
            await self._tick(self.progress.simulated_time, FINISH)
            await self._wait_for_services()
            await self._send(self._clock, encode_tick(0.0), {"kind": SHUTDOWN})
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
        self._collect()
        self.progress.finished = True
        self._report()
        return self.progress

    async def _replay(self, messages: Iterable[AnyMessage]) -> None:
        # Windows of delivery time, aligned to whole periods (`hotzone.runtime.windows`).
        clock = WindowClock(self.clock_period_s)
        start_wall = wallclock.monotonic()
        start_sim: float | None = None
        for message in messages:
            at = delivery_time(message)
            if start_sim is None:
                start_sim = at
                self.progress.first_time = at
            for end in clock.advance(at):
                await self._tick(end)
            if self._replayed < self.resume_after:
                # Published before a restart: the pace starts from the first one sent now.
                start_wall, start_sim = wallclock.monotonic(), at
            elif math.isfinite(self.speed) and start_sim is not None:
                # Pace the replay: sleep until this message's time, scaled by the speed.
                due = start_wall + (at - start_sim) / self.speed
                delay = due - wallclock.monotonic()
                if delay > 0:
                    if at != self._run_time:
                        await self._flush_run()  # what was due before goes now
                    await asyncio.sleep(delay)
            await self._add_to_run(subject_for(message, self.nation), to_json(message), at)
            self.progress.published[type(message).__name__] += 1
            self.progress.simulated_time = at
        if clock.open_end is not None:
            await self._tick(clock.open_end)
        await self._flush_run()

    async def _tick(self, posix_time: float, kind: str = "tick") -> None:
        self._raise_if_a_service_failed()
        self._ticks_published += 1
        headers = {"kind": kind, "tick": str(self._ticks_published)}
        await self._send(self._clock, encode_tick(posix_time), headers)
        self.progress.simulated_time = posix_time
        self._collect()
        self._report()
        # Let the services run between windows even when nothing makes the publisher wait.
        await asyncio.sleep(0)
        if self.settle is not None and kind == "tick":
            await self._wait_for_services()
            await self.settle(posix_time)

    async def _drain(self) -> None:
        """Let outputs of each stage reach the stages above it before shutting down."""
        last = self.progress.simulated_time
        for _ in range(len(self.services) + 1):
            await self._wait_for_services()
            await self._tick(last)
        await self._wait_for_services()

    async def _wait_for_services(self) -> None:
        services: list[StageService | RecorderService] = [*self.services, self.recorder]
        # By the ticks' ordinals, not by counting: a resumed service was handed some of
        # them by the process before.
        turns = 0
        while any(service.last_tick < self._ticks_published for service in services):
            self._raise_if_a_service_failed()
            # A service of this process is done after a few turns of the loop; one
            # across the network (NATS) takes longer: then poll at a gentler pace.
            turns += 1
            await asyncio.sleep(0 if turns < 100 else 0.005)

    def _raise_if_a_service_failed(self) -> None:
        # A stage that raised would never tick again: fail the run instead of waiting on it.
        for task in self._tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise RuntimeError("a pipeline service stopped") from task.exception()

    def _collect(self) -> None:
        for service in self.services:
            self.progress.stage_outputs[service.stage.name] = Counter(service.counters.published)
            self.progress.stage_seconds[service.stage.name] = service.counters.step_seconds
        self.progress.dead_letters = self.recorder.dead_letters
        self.progress.recorded = self.recorder.recorded

    def _report(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.progress)
