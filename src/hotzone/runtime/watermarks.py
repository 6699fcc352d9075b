"""Per-producer watermarks: a stage steps clock tick k on every producer's outputs of tick k.

A nation's tracks come from several tracking services when sector nodes share its sectors
(`hotzone.runtime.node`), and those of tick k may reach the owner's assessment before or
after its own tick k+1. For the owner's outputs to be those of a single process, a stage
above tracking (assessment, c2) steps tick k only when each producer it waits for has said
it is done with tick k: each producing service publishes, after its outputs of the tick,
a small marker on ``hz.{nation}.done.{producer}`` (`done_subject`; one for all the
producers of one service: `PRODUCERS_HEADER`), and every output it
publishes carries the tick's id (`TICK_HEADER`) and its stage (`STAGE_HEADER`). The
waiting stage's window of tick k is then the inputs published before the tick by anyone
else (the sensors' detections, the operators' decisions: in publication order) and the
producers' outputs of tick k (in a fixed order: by subject, each subject's in the order
its one producer published them), whoever published them when.

A producer that says nothing while the waiting stage has waited on the bus for
``absent_after_s`` with nothing to read (a sector node not started, or stopped) is taken
as absent: that tick and the following ones go on without it, and each tick it missed is
counted (`TickGate.timeouts`); a later marker of it takes it back. Only idle time counts:
a stage still reading through a backlog (the producers' markers come after it in the log)
is not waiting for anyone, however long that takes.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from hotzone.bus import BusMessage
from hotzone.types import AnyMessage
from hotzone.types.subjects import subject, validate_pattern

TICK_HEADER = "hz-tick"
"""The id of the clock tick whose step made an output (or a marker)."""
STAGE_HEADER = "hz-stage"
"""The stage that made an output."""
DONE_KIND = "done"
PRODUCERS_HEADER = "hz-producers"
"""On a marker of several producers (a node's trackers, one per sector: one marker per
tick for them all, not one each): their names, comma-separated. Such a marker travels on
the `done_subject` of the first it names, so a stage waiting for those producers reads it
there; without the header a marker is its subject's producer's alone."""
NO_SECTOR = "none"
"""The producer token of the tracker of detections of no scenario sector."""
_Held = TypeVar("_Held")

TICKS_REMEMBERED = 1024
"""How many ticks' ids a gate keeps: those released (a producer's output of one that comes
after it went ahead without it joins the next window) and those not stepped yet that
outputs or markers named. Beyond, the oldest is forgotten (`TickGate.forgotten`): a
publisher naming ticks that never come cannot make the gate grow without bound."""


def done_subject(nation: str, producer: str) -> str:
    """Where ``producer`` says it has published its outputs of a tick."""
    return subject("hz", nation, "done", producer)


def marked_producers(subject_: str, headers: Mapping[str, str]) -> list[str]:
    """The producers a marker on ``subject_`` (a `done_subject`) says are done."""
    named = headers.get(PRODUCERS_HEADER)
    return named.split(",") if named else [subject_.rsplit(".", 1)[1]]


def done_pattern(nation: str) -> str:
    pattern = f"hz.{nation}.done.>"
    validate_pattern(pattern)
    return pattern


def tracking_producer(sector: str) -> str:
    """The producer name of one sector's tracker (``""``: the tracker of no sector)."""
    return f"fusion-{sector or NO_SECTOR}"


@dataclass
class PendingTick:
    """A clock tick received, waiting for its producers' markers."""

    tick_id: str
    clock: BusMessage
    inputs: list[AnyMessage]
    """What others published between the previous tick and this one."""


@dataclass
class ReleasedTick:
    """A tick ready to step: its clock message and its window, in a fixed order."""

    clock: BusMessage
    inputs: list[AnyMessage]
    missing: frozenset[str] = frozenset()
    """The producers it went on without (absent)."""


@dataclass
class TickGate:
    """What a waiting stage holds between a tick and the markers of its producers."""

    producers: frozenset[str]
    """The markers every tick waits for (e.g. each sector's tracker, the assessment)."""
    stages: frozenset[str]
    """The stages whose outputs (`STAGE_HEADER`) belong to the tick they name."""
    absent_after_s: float = 10.0
    pending: deque[PendingTick] = field(default_factory=deque)
    window: list[AnyMessage] = field(default_factory=list)
    produced: dict[str, list[tuple[str, AnyMessage]]] = field(default_factory=dict)
    done: dict[str, set[str]] = field(default_factory=dict)
    released: set[str] = field(default_factory=set)
    released_order: deque[str] = field(default_factory=deque)
    forgotten: int = 0
    """Entries dropped for `TICKS_REMEMBERED`."""
    absent: set[str] = field(default_factory=set)
    timeouts: Counter[str] = field(default_factory=Counter)
    """Ticks stepped without a producer's marker, by producer."""
    idle_s: float = 0.0
    """Time waited on the bus with nothing to read since the last marker."""

    def tick(self, tick_id: str, clock: BusMessage) -> None:
        if not self.pending:
            self.idle_s = 0.0  # the wait for this tick starts now
        self.pending.append(PendingTick(tick_id, clock, self.window))
        self.window = []

    def marker(self, producer: str, tick_id: str) -> None:
        if producer not in self.producers:
            return
        self.absent.discard(producer)  # it is back
        self.idle_s = 0.0
        if tick_id not in self.released:
            self.done.setdefault(tick_id, set()).add(producer)
            self._bound(self.done)

    def take(self, message: AnyMessage, subject_: str, headers: Mapping[str, str]) -> None:
        """An input: a producer's output of a tick not stepped yet joins that tick, any
        other input the window the next tick closes."""
        tick_id = headers.get(TICK_HEADER)
        stage = headers.get(STAGE_HEADER)
        if tick_id is not None and stage in self.stages and tick_id not in self.released:
            self.produced.setdefault(tick_id, []).append((subject_, message))
            self._bound(self.produced)
        else:
            self.window.append(message)

    @property
    def waiting(self) -> bool:
        return bool(self.pending)

    def ready(self) -> list[ReleasedTick]:
        """The ticks at the head whose producers (those not absent) are all done."""
        released = []
        while self.pending:
            head = self.pending[0]
            missing = self.producers - self.absent - self.done.get(head.tick_id, set())
            if missing:
                break
            released.append(self._release(frozenset(self.absent & self.producers)))
        return released

    def stepped_before(self, tick_id: str) -> list[ReleasedTick]:
        """The ticks up to ``tick_id``, when ``tick_id`` waits here although this stage's
        own marker of it is in the log: its run before a restart stepped it, without the
        producers that had not marked it (absent then). They go now as they went then,
        instead of waiting for those producers again (a restarted stage rebuilding from
        the log knows nothing of the time its first run waited)."""
        if all(pending.tick_id != tick_id for pending in self.pending):
            return []
        released = []
        while self.pending:
            head_id = self.pending[0].tick_id
            lacking = self.producers - self.done.get(head_id, set())
            released.append(self._release(frozenset(lacking)))
            if head_id == tick_id:
                break
        return released

    def idle(self, seconds: float) -> list[ReleasedTick]:
        """``seconds`` waited on the bus with nothing to read. After ``absent_after_s`` of
        it without a marker while a tick waits, the producers the head tick still lacks
        are absent from now on."""
        if not self.pending:
            return []
        self.idle_s += seconds
        if self.idle_s < self.absent_after_s:
            return []
        head = self.pending[0]
        self.absent |= self.producers - self.done.get(head.tick_id, set())
        self.idle_s = 0.0
        return self.ready()

    def wait_s(self) -> float | None:
        """How long to wait for the next message before `idle` may expire a producer
        (None: no tick waits, nothing to expire)."""
        if not self.pending:
            return None
        return max(0.0, self.absent_after_s - self.idle_s)

    def _release(self, absent: frozenset[str]) -> ReleasedTick:
        head = self.pending.popleft()
        self.released.add(head.tick_id)
        self.released_order.append(head.tick_id)
        if len(self.released_order) > TICKS_REMEMBERED:
            self.released.discard(self.released_order.popleft())
        self.done.pop(head.tick_id, None)
        for producer in absent:
            self.timeouts[producer] += 1
        produced = self.produced.pop(head.tick_id, [])
        # One producer per subject: sorting by subject (stably) fixes the order whoever
        # published first.
        produced.sort(key=lambda item: item[0])
        return ReleasedTick(
            head.clock, [*head.inputs, *(message for _, message in produced)], absent
        )

    def _bound(self, table: dict[str, _Held]) -> None:
        while len(table) > TICKS_REMEMBERED:
            del table[next(iter(table))]  # the oldest named
            self.forgotten += 1
