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
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from time import perf_counter, process_time
from typing import Protocol, get_args

import msgspec

from hotzone.bus import Bus, BusMessage, Subscription
from hotzone.bus.base import MESSAGE_ID_HEADER, message_tag
from hotzone.runtime.latency import LatencyHistogram
from hotzone.runtime.routing import subject_for
from hotzone.runtime.watermarks import (
    DONE_KIND,
    PRODUCERS_HEADER,
    STAGE_HEADER,
    TICK_HEADER,
    ReleasedTick,
    TickGate,
    done_pattern,
    done_subject,
    marked_producers,
)
from hotzone.store import Store
from hotzone.types import AnyMessage, Assessment, DeadLetter, Track, from_json, to_json
from hotzone.types.allied import allied_origin, name_allied_copy
from hotzone.types.subjects import clock_subject, subject_matches

_TICK = struct.Struct("!d")
_SUBJECTS_REMEMBERED = 4096
_BATCHED = (Track, Assessment)
"""Outputs published in runs of one subject as one bus batch (`StageService._publish_all`)."""
IDLE_POLL_S = 0.25
"""How long a stage waiting for producers' markers waits on the bus at a time: each wait
that brings nothing counts towards a producer's absence (`TickGate.idle`)."""
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


def taken_tags(stage: Stage) -> frozenset[bytes] | None:
    """The type tags of the messages ``stage`` takes (of a stage that says its input
    types; None otherwise)."""
    input_types = getattr(stage, "input_types", None)
    if input_types is None:
        return None
    return frozenset(
        str(kind.__struct_config__.tag).encode()
        for kind in get_args(AnyMessage)
        if issubclass(kind, input_types)
    )


def passed_over_tags(stage: Stage) -> frozenset[bytes]:
    """The type tags of messages ``stage`` never takes (of a stage that says its input
    types): they are passed over without being decoded. The owner's assessment reads the
    detection subjects for their reports and events, and decoding every detection only to
    drop it was a third of its process's work outside its steps. A malformed message with
    such a tag is left to the stages that take its type (the tracker dead-letters it)."""
    taken = taken_tags(stage)
    if taken is None:
        return frozenset()
    every = {str(kind.__struct_config__.tag).encode() for kind in get_args(AnyMessage)}
    return frozenset(every - taken)  # what `accepts` would refuse once decoded


DECODED_REMEMBERED = 16_384
"""How many decoded messages the stages of one process share (`DecodedMessages`)."""


class DecodedMessages:
    """Messages decoded by one of a process's stages, by message id, for its other stages:
    the owner's assessment and c2 both take every track, and decoding each twice was a
    tenth of the owner's work outside its steps. Messages are frozen, so one object
    serves every stage. Only the types (``tags``) more than one stage takes are kept (a
    detection, the tracker's alone, would only push the tracks out), the last
    `DECODED_REMEMBERED` of them (the stages read the same log a few ticks apart at
    most); a malformed message is never kept (each stage dead-letters it itself)."""

    def __init__(self, tags: frozenset[bytes], capacity: int = DECODED_REMEMBERED) -> None:
        self.tags = tags
        self.capacity = capacity
        self._by_id: dict[str, AnyMessage] = {}
        self.hits = 0

    def decode(self, message: BusMessage, source: str, tag: bytes | None = None) -> AnyMessage:
        """``message`` decoded, or the copy decoded before (``tag``: its `message_tag`,
        where the caller has read it)."""
        message_id = message.headers.get(MESSAGE_ID_HEADER)
        if tag is None:
            tag = message_tag(message.payload)
        if not message_id or tag not in self.tags:
            return decode_or_dead_letter(message, source)
        key = f"{message.subject} {message_id}"
        known = self._by_id.get(key)
        if known is not None:
            self.hits += 1
            return known
        decoded = decode_or_dead_letter(message, source)
        if not isinstance(decoded, DeadLetter):
            if len(self._by_id) >= self.capacity:
                del self._by_id[next(iter(self._by_id))]  # the oldest (insertion order)
            self._by_id[key] = decoded
        return decoded


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
    """Runs one stage on the bus for one nation.

    Outputs carry message ids made from the id of the clock tick that produced them (the
    stage's name and the output's place in the step), so a step done again after a
    restart publishes the same ids and the stream drops the copies. A stage that resumes
    a durable subscription first feeds itself what it handled before the restart
    (`NatsSubscription.history`), publishing nothing, so its state (the tracker's tracks)
    is the one it had; ``rebuild_from_log`` False leaves that out (c2 restores from its
    store instead: its audit chain must go on, not start again)."""

    def __init__(self, stage: Stage, bus: Bus, nation: str, max_pending: int = 8192) -> None:
        self.stage = stage
        self.bus = bus
        self.nation = nation
        self.max_pending = max_pending
        self.counters = ServiceCounters()
        self._clock = clock_subject(nation)
        self._inputs = tuple(f"hz.{nation}.{suffix}" for suffix in stage.input_subjects)
        #: Whether a subject is one of the stage's inputs, by subject: a nation's subjects
        #: are few and repeat with every message (bounded: `_SUBJECTS_REMEMBERED`).
        self._is_input: dict[str, tuple[bool, bool]] = {}
        #: The subjects of batched outputs (`_batched_subject`), bounded likewise.
        self._subjects: dict[tuple[type, str, bool], str] = {}
        self._markers = done_pattern(nation).removesuffix(">")
        self._passed_over = passed_over_tags(stage)
        self.ticks_done = 0
        #: The ordinal (``tick`` header) of the last clock tick handled.
        self.last_tick = 0
        self.rebuild_from_log = True
        self.rebuilt_messages = 0
        self._id_scope = stage.name
        #: The service's subscription while it runs (its queue depth is on ``/metrics``).
        self.subscription: Subscription | None = None
        #: Producer names this service marks done after each tick's outputs, which then
        #: carry the tick's id (`hotzone.runtime.watermarks`); none: no markers.
        self.marks: tuple[str, ...] = ()
        #: Set: each tick waits for its producers' markers (`TickGate`) before its step.
        self.gate: TickGate | None = None
        self._ticks_read = 0
        #: Shared with the process's other stage services (`DecodedMessages`); None:
        #: every message decoded here.
        self.decoded: DecodedMessages | None = None

    async def run(self, ready: asyncio.Event | None = None) -> None:
        subscription = await self.bus.subscribe(
            f"hz.{self.nation}.>", self.max_pending, subjects=self.read_subjects()
        )
        self.subscription = subscription
        pass_over = getattr(subscription, "pass_over", None)
        if pass_over is not None and self._passed_over:
            pass_over(self._passed_over)  # not even handed out (`NatsSubscription.pass_over`)
        # Output ids name the consumer too: sector nodes step on the same ticks, and each
        # node's outputs are its own (a durable consumer's name is the same after a restart).
        self._id_scope = str(getattr(subscription, "consumer", self.stage.name))
        history = getattr(subscription, "history", None)
        window: list[AnyMessage] = []
        if history is not None and self.rebuild_from_log:
            async for bus_message in history():
                self.rebuilt_messages += 1
                if self.gate is not None:
                    # Through the gate, as the first run took it: the same windows, and a
                    # tick it had read but not stepped (its producers' markers not there
                    # yet) stays pending, to be stepped and published once they come.
                    await self._gate_message(bus_message, self.gate, publish=False)
                elif await self._handle(bus_message, window, publish=False):
                    window = []
        if ready is not None:
            ready.set()
        if self.gate is not None:
            await self._run_gated(subscription, self.gate)
            await subscription.unsubscribe()
            return
        async for bus_message in subscription:
            if bus_message.subject == self._clock and bus_message.headers.get("kind") == SHUTDOWN:
                break
            if await self._handle(bus_message, window, publish=True):
                window = []
        await subscription.unsubscribe()

    def read_subjects(self) -> tuple[str, ...]:
        """What the service's consumer reads: the stage's inputs, the clock, and with a
        gate the markers of the producers it waits for (its own too, for a restart). The
        owner's consumers are then not handed every message of the nation's log only to
        drop most (c2 receives no detection, the tracker no track, and c2, waiting for the
        assessment alone, no tracker's marker), in the same order as before."""
        markers: tuple[str, ...] = ()
        if self.gate is not None:
            waited = sorted(self.gate.producers | set(self.marks))
            markers = tuple(done_subject(self.nation, producer) for producer in waited)
        return (*self._inputs, self._clock, *markers)

    async def _run_gated(self, subscription: Subscription, gate: TickGate) -> None:
        """Step each tick once its producers have marked it done (or are absent); a
        shutdown tick ends the run once the ticks before it have stepped."""
        shutting_down = False
        while not (shutting_down and not gate.waiting):
            waiting = gate.wait_s()
            bus_message = await subscription.next(IDLE_POLL_S if waiting is not None else None)
            if bus_message is None:
                if waiting is None:
                    break  # closed
                # Nothing to read for a while: the time counts towards a producer's absence.
                await self._step_released(gate.idle(IDLE_POLL_S), publish=True)
                continue
            shutting_down |= await self._gate_message(bus_message, gate, publish=True)

    async def _gate_message(self, bus_message: BusMessage, gate: TickGate, publish: bool) -> bool:
        """Take one message into ``gate`` and step the ticks it releases; True when it was
        the shutdown tick."""
        shutdown = False
        if bus_message.subject.startswith(self._markers):
            tick_id = bus_message.headers.get(TICK_HEADER)
            producers = marked_producers(bus_message.subject, bus_message.headers)
            if tick_id is not None and any(producer in self.marks for producer in producers):
                # Its own marker: a tick still waiting here was stepped before a restart.
                await self._step_released(gate.stepped_before(tick_id), publish)
            elif tick_id is not None:
                for producer in producers:
                    gate.marker(producer, tick_id)
        elif bus_message.subject == self._clock:
            if bus_message.headers.get("kind") == SHUTDOWN:
                shutdown = True
            else:
                self._ticks_read += 1
                tick_id = bus_message.headers.get(MESSAGE_ID_HEADER)
                gate.tick(tick_id or f"tick-{self._ticks_read}", bus_message)
        else:
            message = await self._decode_input(bus_message, publish)
            if message is not None:
                gate.take(message, bus_message.subject, bus_message.headers)
            # An input (or a message passed over) releases no tick: only ticks and
            # markers do, and the gate is asked after each of those.
            return False
        await self._step_released(gate.ready(), publish)
        return shutdown

    async def _step_released(self, released: list[ReleasedTick], publish: bool) -> None:
        for tick in released:
            await self._take_tick(tick.clock, tick.inputs, publish)

    async def _take_tick(self, clock: BusMessage, inputs: list[AnyMessage], publish: bool) -> bool:
        """A clock tick (not the shutdown) on the window ``inputs``: the stage's step, or
        at a finish what it keeps for the end; True when it was a step."""
        message_id = clock.headers.get(MESSAGE_ID_HEADER)
        tick = clock.headers.get("tick")
        self.last_tick = int(tick) if tick and tick.isdigit() else self.last_tick + 1
        self.ticks_done += 1
        if clock.headers.get("kind") == FINISH:
            await self._finish(decode_tick(clock.payload), message_id, publish)
            return False
        await self._step(decode_tick(clock.payload), inputs, message_id, publish)
        return True

    async def _handle(
        self, bus_message: BusMessage, window: list[AnyMessage], publish: bool
    ) -> bool:
        """Take one message; True when it was a tick that ended the window."""
        if bus_message.subject == self._clock:
            if bus_message.headers.get("kind") == SHUTDOWN:
                return False
            return await self._take_tick(bus_message, window, publish)
        message = await self._decode_input(bus_message, publish)
        if message is not None:
            window.append(message)
        return False

    def _reads(self, subject_: str) -> tuple[bool, bool]:
        """Whether the stage reads ``subject_``, and whether it is an ally's."""
        known = self._is_input.get(subject_)
        if known is None:
            if len(self._is_input) >= _SUBJECTS_REMEMBERED:
                self._is_input.clear()  # a publisher making up subjects costs matching only
            reads = any(subject_matches(pattern, subject_) for pattern in self._inputs)
            known = self._is_input[subject_] = (reads, allied_origin(subject_) is not None)
        return known

    async def _decode_input(self, bus_message: BusMessage, publish: bool) -> AnyMessage | None:
        """An input of this stage decoded, or None (not its subject or type, or malformed:
        then dead-lettered)."""
        reads, allied = self._reads(bus_message.subject)
        if not reads:
            return None
        tag = message_tag(bus_message.payload)
        if tag in self._passed_over:
            return None
        message_id = bus_message.headers.get(MESSAGE_ID_HEADER)
        if self.decoded is not None:
            message = self.decoded.decode(bus_message, self.stage.name, tag)
        else:
            message = decode_or_dead_letter(bus_message, self.stage.name)
        if isinstance(message, DeadLetter):
            if publish:
                self.counters.dead_letters += 1
                await self._publish(message, message_id and f"{message_id}/{self._id_scope}/dead")
            return None
        if allied:
            # A stage that reads allies' subjects sees their copies named after their
            # origin (``PL:suwalki-1``), as the picture does: never as its own.
            message = name_allied_copy(bus_message.subject, message)
        if self.stage.accepts(message):
            if publish:
                self.counters.received[type(message).__name__] += 1
            return message
        return None

    async def _step(
        self, posix_time: float, window: list[AnyMessage], tick_id: str | None, publish: bool
    ) -> None:
        time = datetime.fromtimestamp(posix_time, UTC)
        started, started_wall = process_time(), perf_counter()
        outputs = self.stage.step(time, window)
        if not publish:
            return
        self.counters.steps += 1
        self.counters.step_seconds += process_time() - started
        await self._publish_all(outputs, tick_id)
        await self._mark_done(tick_id, posix_time)
        self.counters.step_latency.observe(perf_counter() - started_wall)

    async def _finish(self, posix_time: float, tick_id: str | None, publish: bool) -> None:
        finish = getattr(self.stage, "finish", None)  # only stages that keep something
        outputs = [] if finish is None else finish(datetime.fromtimestamp(posix_time, UTC))
        if publish:
            await self._publish_all(outputs, tick_id)
            await self._mark_done(tick_id, posix_time)

    async def _mark_done(self, tick_id: str | None, posix_time: float) -> None:
        """This service's marker: its outputs of the tick ``tick_id`` are all published.
        One message for all its producers (`PRODUCERS_HEADER`): a sector node's trackers
        marked each tick once per sector, as many publishes, confirmations, stored
        messages and deliveries to the owner as the tracks' batches themselves."""
        if not self.marks or tick_id is None:
            return
        first = self.marks[0]
        headers = {"kind": DONE_KIND, TICK_HEADER: tick_id}
        if len(self.marks) == 1:
            headers[MESSAGE_ID_HEADER] = f"{tick_id}/{self._id_scope}/done/{first}"
        else:
            headers[MESSAGE_ID_HEADER] = f"{tick_id}/{self._id_scope}/done"
            headers[PRODUCERS_HEADER] = ",".join(self.marks)
        await self.bus.publish(done_subject(self.nation, first), encode_tick(posix_time), headers)

    async def _publish_all(self, outputs: Sequence[AnyMessage], tick_id: str | None) -> None:
        """Each output in order; a run of track updates on one subject (a tracker's window
        of a sector), or of assessments (the assessment's of a tick, between its alerts),
        as one batch (`Bus.publish_batch`): one message on the bus instead of one per
        track, each still with its own id. Every reader of the nation's log (the owner's
        other stages, its recorder) then handles one bus message where it handled many."""
        index = 0
        while index < len(outputs):
            output = outputs[index]
            end = index + 1
            if isinstance(output, _BATCHED):
                kind, subject = type(output), self._batched_subject(output)
                while (
                    end < len(outputs)
                    and type(outputs[end]) is kind
                    and self._batched_subject(outputs[end]) == subject
                ):
                    end += 1
            # A producer's outputs name their tick (`hotzone.runtime.watermarks`).
            tagged = (
                {TICK_HEADER: tick_id, STAGE_HEADER: self.stage.name}
                if self.marks and tick_id
                else None
            )
            if end - index == 1:
                await self._publish(
                    output, tick_id and f"{tick_id}/{self._id_scope}/{index}", tagged
                )
            else:
                self.counters.published[type(output).__name__] += end - index
                items = [
                    (f"{tick_id}/{self._id_scope}/{at}" if tick_id else "", to_json(outputs[at]))
                    for at in range(index, end)
                ]
                await self.bus.publish_batch(subject, items, tagged)
            index = end

    def _batched_subject(self, output: AnyMessage) -> str:
        """`subject_for` of a track or an assessment, by what decides it (its type, a
        track's sector and whether it is fused from allies' tracks): a tracker's window
        of hundreds of tracks has a few subjects, each made and checked once."""
        key = (
            type(output),
            getattr(output, "sector", ""),
            bool(getattr(output, "contributions", ())),
        )
        subject = self._subjects.get(key)
        if subject is None:
            if len(self._subjects) >= _SUBJECTS_REMEMBERED:
                self._subjects.clear()  # a stage making up sectors costs their checks only
            subject = self._subjects[key] = subject_for(output, self.nation)
        return subject

    async def _publish(
        self,
        message: AnyMessage,
        message_id: str | None = None,
        tagged: dict[str, str] | None = None,
    ) -> None:
        self.counters.published[type(message).__name__] += 1
        headers = dict(tagged or {})
        if message_id:
            headers[MESSAGE_ID_HEADER] = message_id
        await self.bus.publish(subject_for(message, self.nation), to_json(message), headers or None)


def hold_acknowledgements(subscription: Subscription) -> Callable[[], Awaitable[None]]:
    """Make ``subscription`` acknowledge only when the returned function is called (a
    recorder calls it once what it read is in its store, so a crash in between means a
    redelivery, not a loss); a no-op on a bus without acknowledgements."""
    if hasattr(subscription, "hold_acks"):
        subscription.hold_acks = True
    acknowledge: Callable[[], Awaitable[None]] | None = getattr(subscription, "acknowledge", None)
    return acknowledge if acknowledge is not None else _nothing


async def _nothing() -> None:
    return None


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
        self.last_tick = 0
        self.subscription: Subscription | None = None
        #: Set: after the shutdown tick, go on recording until this is set (the stages
        #: have ended) and nothing more arrives.
        self.stages_done: asyncio.Event | None = None

    async def run(self, ready: asyncio.Event | None = None) -> None:
        subscription = await self.bus.subscribe(f"hz.{self.nation}.>", 16384)
        self.subscription = subscription
        holding = hasattr(subscription, "hold_acks")
        acknowledge = hold_acknowledgements(subscription)
        if ready is not None:
            ready.set()
        clock = clock_subject(self.nation)
        # Producers' markers (`hotzone.runtime.watermarks`) say when, not what: not kept.
        markers = done_pattern(self.nation).removesuffix(">")
        batch: list[tuple[str, AnyMessage]] = []
        async for bus_message in subscription:
            if bus_message.subject == clock:
                self._flush(batch)
                batch = []
                await acknowledge()
                if bus_message.headers.get("kind") == SHUTDOWN:
                    await self._record_until_stages_done(subscription, acknowledge, markers)
                    break
                self.ticks_done += 1
                tick = bus_message.headers.get("tick")
                self.last_tick = int(tick) if tick and tick.isdigit() else self.last_tick + 1
                continue
            if bus_message.subject.startswith(markers) or (
                self.skip and any(subject_matches(p, bus_message.subject) for p in self.skip)
            ):
                if holding and getattr(subscription, "pending", 1) == 0:
                    self._flush(batch)
                    batch = []
                    await acknowledge()
                continue
            message = decode_or_dead_letter(bus_message, "recorder")
            if isinstance(message, DeadLetter):
                self.dead_letters += 1
            batch.append((bus_message.subject, message))
            # A subscription that holds acknowledgements waits for them: write what there
            # is when nothing more has arrived, not only at the next tick.
            idle = holding and getattr(subscription, "pending", 1) == 0
            if len(batch) >= self.batch_size or idle:
                self._flush(batch)
                batch = []
                await acknowledge()
        self._flush(batch)
        await acknowledge()
        await subscription.unsubscribe()

    async def _record_until_stages_done(
        self,
        subscription: Subscription,
        acknowledge: Callable[[], Awaitable[None]],
        markers: str,
    ) -> None:
        """After the shutdown tick, what the node's stages still publish (stages waiting
        for producers' markers step the ticks before it later: `hotzone.runtime.
        watermarks`), until ``stages_done`` is set and nothing more arrives."""
        if self.stages_done is None:
            return
        while True:
            bus_message = await subscription.next(IDLE_POLL_S)
            if bus_message is None:
                if self.stages_done.is_set():
                    return
                continue
            if bus_message.subject == clock_subject(self.nation) or (
                bus_message.subject.startswith(markers)
            ):
                continue
            message = decode_or_dead_letter(bus_message, "recorder")
            if isinstance(message, DeadLetter):
                self.dead_letters += 1
            self._flush([(bus_message.subject, message)])
            await acknowledge()

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
        self.batch_size = 512

    async def run(self, ready: asyncio.Event, stop: asyncio.Event) -> None:
        subscription = await self.bus.subscribe(self.pattern, 16384)
        acknowledge = hold_acknowledgements(subscription)
        ready.set()
        batch: list[tuple[str, AnyMessage]] = []
        try:
            while True:
                # What has arrived is taken in one call (an ally's window of tracks comes
                # as one stored batch); each is still decoded, recorded and acknowledged.
                arrived = await subscription.next_batch(self.batch_size - len(batch), 0.2)
                if not arrived:
                    self._flush(batch)
                    batch = []
                    await acknowledge()
                    if stop.is_set():
                        break  # told to stop, and nothing is left to record
                    continue
                batch.extend(
                    (bus_message.subject, decode_or_dead_letter(bus_message, "ally"))
                    for bus_message in arrived
                )
                if len(batch) >= self.batch_size:
                    self._flush(batch)
                    batch = []
                    await acknowledge()
        finally:
            self._flush(batch)
            await acknowledge()
            await subscription.unsubscribe()

    def _flush(self, batch: list[tuple[str, AnyMessage]]) -> None:
        if batch:
            self.store.append_many(batch)
            self.recorded += len(batch)
