"""The in-process bus: the default for one machine, and the bus the tests run on."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence

from hotzone.bus.base import MESSAGE_ID_HEADER, BusMessage
from hotzone.types.subjects import SubjectError, subject_matches, validate_pattern

_SUBJECTS_REMEMBERED = 4096
"""Subjects whose selection a subscription keeps (a bound against unbounded subjects)."""


class BusClosedError(RuntimeError):
    """Publishing on a bus that was closed."""


class InProcessSubscription:
    """A bounded queue of matching messages; iteration ends when the bus closes.

    Publishers wait while the queue is full (back-pressure), except the subscriber's own
    task: a stage that reads ``hz.PL.>`` and publishes its outputs there would otherwise
    wait for room that only it can make. Its own messages may overfill the queue by what
    one step publishes, and every message keeps its publication order.
    """

    def __init__(
        self, bus: InProcessBus, pattern: str, max_pending: int, subjects: Sequence[str] = ()
    ) -> None:
        self.pattern = pattern
        #: The patterns within ``pattern`` it reads (none: all of ``pattern``).
        self.subjects = tuple(subjects)
        self.max_pending = max_pending
        self._bus = bus
        self._items: deque[BusMessage] = deque()
        self._closed = False
        self._room = asyncio.Event()
        self._arrived = asyncio.Event()
        self._reader: asyncio.Task[object] | None = None
        #: Whether it selects a subject, by subject: a run publishes on a few hundred
        #: subjects, each matched against every subscription's patterns at every message.
        self._selected: dict[str, bool] = {}

    def selects(self, subject: str) -> bool:
        selected = self._selected.get(subject)
        if selected is None:
            if len(self._selected) >= _SUBJECTS_REMEMBERED:
                self._selected.clear()
            selected = self._selected[subject] = subject_matches(self.pattern, subject) and (
                not self.subjects or any(subject_matches(p, subject) for p in self.subjects)
            )
        return selected

    async def _deliver(self, message: BusMessage) -> None:
        own_task = self._reader is not None and asyncio.current_task() is self._reader
        # Wait for room rather than grow, but give up when the subscriber leaves, so a
        # publisher never waits on a queue nobody reads.
        while not own_task and len(self._items) >= self.max_pending and not self._closed:
            self._room.clear()
            await self._room.wait()
        if self._closed:
            return
        self._items.append(message)
        self._arrived.set()

    def _close(self, discard_pending: bool) -> None:
        self._closed = True
        if discard_pending:
            # Nobody will read an unsubscribed queue.
            self._items.clear()
        self._room.set()
        self._arrived.set()

    @property
    def pending(self) -> int:
        return len(self._items)

    async def next(self, timeout_s: float | None = None) -> BusMessage | None:
        self._reader = asyncio.current_task()
        while not self._items:
            if self._closed:
                return None
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), timeout_s)
            except TimeoutError:
                return None
        message = self._items.popleft()
        self._room.set()
        return message

    async def next_batch(self, limit: int, timeout_s: float | None = None) -> list[BusMessage]:
        first = await self.next(timeout_s)
        if first is None:
            return []
        taken = [first]
        while len(taken) < limit and self._items:
            taken.append(self._items.popleft())
        self._room.set()
        return taken

    async def __aiter__(self) -> AsyncIterator[BusMessage]:
        while True:
            message = await self.next()
            if message is None:
                return
            yield message

    async def unsubscribe(self) -> None:
        self._bus._remove(self)
        self._close(discard_pending=True)


class InProcessBus:
    """Subjects and wildcards as in NATS, delivered through bounded asyncio queues."""

    def __init__(self) -> None:
        self._subscriptions: list[InProcessSubscription] = []
        self._closed = False
        self.published = 0

    async def publish(
        self, subject: str, payload: bytes, headers: Mapping[str, str] | None = None
    ) -> None:
        if self._closed:
            raise BusClosedError(f"cannot publish on {subject!r}: the bus is closed")
        if "*" in subject or ">" in subject:
            raise SubjectError(f"cannot publish to a wildcard subject {subject!r}")
        message = BusMessage(subject=subject, payload=payload, headers=dict(headers or {}))
        self.published += 1
        for subscription in tuple(self._subscriptions):
            if subscription.selects(subject):
                await subscription._deliver(message)

    async def publish_batch(
        self,
        subject: str,
        items: Sequence[tuple[str, bytes]],
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Each item (message id, payload) as a message of its own, as a NATS bus's readers
        get a batch."""
        for item_id, payload in items:
            item_headers = dict(headers or {})
            if item_id:
                item_headers[MESSAGE_ID_HEADER] = item_id
            await self.publish(subject, payload, item_headers)

    async def subscribe(
        self, pattern: str, max_pending: int = 4096, *, subjects: Sequence[str] = ()
    ) -> InProcessSubscription:
        if max_pending < 1:
            raise ValueError("max_pending must be at least 1 (queues are always bounded)")
        validate_pattern(pattern)
        for narrower in subjects:
            validate_pattern(narrower)
        subscription = InProcessSubscription(self, pattern, max_pending, subjects)
        self._subscriptions.append(subscription)
        return subscription

    def _remove(self, subscription: InProcessSubscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)

    async def close(self) -> None:
        self._closed = True
        for subscription in self._subscriptions:
            subscription._close(discard_pending=False)
        self._subscriptions.clear()
