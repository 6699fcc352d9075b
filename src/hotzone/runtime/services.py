"""Services: the small wrappers that connect pure stages to the bus and the store.

A stage is a pure step ``step(time, inputs) -> outputs`` (docs/architecture.md). Its service reads
the nation's subjects, collects the inputs of one clock window, calls the step when the
clock ticks and publishes what the step returns. Ticks and inputs come through one
subscription, so a window always holds exactly the inputs published before its tick.
"""

from __future__ import annotations

import asyncio
import struct
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from time import perf_counter, process_time
from typing import Protocol

import msgspec

from hotzone.bus import Bus, BusMessage, Subscription
from hotzone.runtime.latency import LatencyHistogram
from hotzone.runtime.routing import subject_for
from hotzone.store import Store
from hotzone.types import AnyMessage, DeadLetter, from_json, to_json
from hotzone.types.allied import name_allied_copy
from hotzone.types.subjects import clock_subject, subject_matches

_TICK = struct.Struct("!d")
SHUTDOWN = "shutdown"
FINISH = "finish"
"""A clock message at the end of a run: stages publish what they keep for the end (c2's
final audit checkpoint); it counts as a tick, so the publisher can wait for it."""


class Stage(Protocol):
    """A pure pipeline step."""

    name: str
    input_subjects: tuple[str, ...]
    """Subject patterns it reads, relative to ``hz.{nation}.`` (e.g. ``det.>``)."""

    def accepts(self, message: AnyMessage) -> bool:
        """Whether this stage consumes this kind of message."""

    def step(self, time: datetime, inputs: Sequence[AnyMessage]) -> Sequence[AnyMessage]:
        """Outputs for one clock window ending at ``time``."""


def encode_tick(posix_time: float) -> bytes:
    return _TICK.pack(posix_time)


def decode_tick(payload: bytes) -> float:
    (posix_time,) = _TICK.unpack(payload)
    return float(posix_time)


@dataclass
class ServiceCounters:
    received: Counter[str] = field(default_factory=Counter)
    published: Counter[str] = field(default_factory=Counter)
    dead_letters: int = 0
    steps: int = 0
    step_seconds: float = 0.0
    """Processor time spent in the stage's own step, to show where a run's time goes."""
    step_latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    """Wall time of each step and the publishing of its outputs (``/metrics``)."""


def decode_or_dead_letter(message: BusMessage, source: str) -> AnyMessage:
    """Decode a bus payload; malformed input becomes a `DeadLetter` with the reason."""
    try:
        return from_json(message.payload)
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        return DeadLetter(
            time=datetime.now(UTC),
            source=source,
            reason=f"{message.subject}: {error}",
            raw=message.payload,
        )


class StageService:
    """Runs one stage on the bus for one nation."""

    def __init__(self, stage: Stage, bus: Bus, nation: str, max_pending: int = 8192) -> None:
        self.stage = stage
        self.bus = bus
        self.nation = nation
        self.max_pending = max_pending
        self.counters = ServiceCounters()
        self._clock = clock_subject(nation)
        self._inputs = tuple(f"hz.{nation}.{suffix}" for suffix in stage.input_subjects)
        self.ticks_done = 0
        #: The service's subscription while it runs (its queue depth is on ``/metrics``).
        self.subscription: Subscription | None = None

    async def run(self, ready: asyncio.Event | None = None) -> None:
        subscription = await self.bus.subscribe(f"hz.{self.nation}.>", self.max_pending)
        self.subscription = subscription
        if ready is not None:
            ready.set()
        window: list[AnyMessage] = []
        async for bus_message in subscription:
            if bus_message.subject == self._clock:
                kind = bus_message.headers.get("kind")
                if kind == SHUTDOWN:
                    break
                if kind == FINISH:
                    await self._finish(decode_tick(bus_message.payload))
                    self.ticks_done += 1
                    continue
                await self._step(decode_tick(bus_message.payload), window)
                window = []
                self.ticks_done += 1
                continue
            if not any(subject_matches(pattern, bus_message.subject) for pattern in self._inputs):
                continue
            message = decode_or_dead_letter(bus_message, self.stage.name)
            if isinstance(message, DeadLetter):
                self.counters.dead_letters += 1
                await self._publish(message)
                continue
            # A stage that reads allies' subjects sees their copies named after their
            # origin (``PL:suwalki-1``), as the picture does: never as its own.
            message = name_allied_copy(bus_message.subject, message)
            if self.stage.accepts(message):
                self.counters.received[type(message).__name__] += 1
                window.append(message)
        await subscription.unsubscribe()

    async def _step(self, posix_time: float, window: list[AnyMessage]) -> None:
        time = datetime.fromtimestamp(posix_time, UTC)
        self.counters.steps += 1
        started, started_wall = process_time(), perf_counter()
        outputs = self.stage.step(time, window)
        self.counters.step_seconds += process_time() - started
        for output in outputs:
            await self._publish(output)
        self.counters.step_latency.observe(perf_counter() - started_wall)

    async def _finish(self, posix_time: float) -> None:
        finish = getattr(self.stage, "finish", None)  # only stages that keep something
        if finish is None:
            return
        for output in finish(datetime.fromtimestamp(posix_time, UTC)):
            await self._publish(output)

    async def _publish(self, message: AnyMessage) -> None:
        self.counters.published[type(message).__name__] += 1
        await self.bus.publish(subject_for(message, self.nation), to_json(message))


class RecorderService:
    """Writes every message on the nation's subjects to the store, in arrival order
    (but those under ``skip`` patterns, which another recorder keeps)."""

    def __init__(
        self,
        bus: Bus,
        store: Store,
        nation: str,
        batch_size: int = 512,
        skip: tuple[str, ...] = (),
    ) -> None:
        self.bus = bus
        self.store = store
        self.nation = nation
        self.batch_size = batch_size
        self.skip = skip
        self.recorded = 0
        self.dead_letters = 0
        self.ticks_done = 0
        self.subscription: Subscription | None = None

    async def run(self, ready: asyncio.Event | None = None) -> None:
        subscription = await self.bus.subscribe(f"hz.{self.nation}.>", 16384)
        self.subscription = subscription
        if ready is not None:
            ready.set()
        clock = clock_subject(self.nation)
        batch: list[tuple[str, AnyMessage]] = []
        async for bus_message in subscription:
            if bus_message.subject == clock:
                self._flush(batch)
                batch = []
                if bus_message.headers.get("kind") == SHUTDOWN:
                    break
                self.ticks_done += 1
                continue
            if self.skip and any(subject_matches(p, bus_message.subject) for p in self.skip):
                continue
            message = decode_or_dead_letter(bus_message, "recorder")
            if isinstance(message, DeadLetter):
                self.dead_letters += 1
            batch.append((bus_message.subject, message))
            if len(batch) >= self.batch_size:
                self._flush(batch)
                batch = []
        self._flush(batch)
        await subscription.unsubscribe()

    def _flush(self, batch: list[tuple[str, AnyMessage]]) -> None:
        if batch:
            self.store.append_many(batch)
            self.recorded += len(batch)


class AllyRecorder:
    """Records what allies release to a nation (``hz.{nation}.ally.>``) until told to stop:
    copies and allies' audit checkpoints keep arriving after the nation's own run has ended,
    and the store must hold them (the checkpoints are the witnesses of allies' audits)."""

    def __init__(self, bus: Bus, store: Store, nation: str) -> None:
        self.bus = bus
        self.store = store
        self.pattern = f"hz.{nation}.ally.>"
        self.recorded = 0

    async def run(self, ready: asyncio.Event, stop: asyncio.Event) -> None:
        subscription = await self.bus.subscribe(self.pattern, 16384)
        ready.set()
        batch: list[tuple[str, AnyMessage]] = []
        try:
            while not (stop.is_set() and not batch):
                bus_message = await subscription.next(timeout_s=0.2)
                if bus_message is None:
                    self._flush(batch)
                    batch = []
                    continue
                batch.append((bus_message.subject, decode_or_dead_letter(bus_message, "ally")))
                if len(batch) >= 512:
                    self._flush(batch)
                    batch = []
        finally:
            self._flush(batch)
            await subscription.unsubscribe()

    def _flush(self, batch: list[tuple[str, AnyMessage]]) -> None:
        if batch:
            self.store.append_many(batch)
            self.recorded += len(batch)
