"""The in-process bus: the default for one machine, and the bus the tests run on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping

from hotzone.bus.base import BusMessage
from hotzone.types.subjects import SubjectError, subject_matches, validate_pattern

_CLOSED = BusMessage(subject="", payload=b"")


class BusClosedError(RuntimeError):
    """Publishing on a bus that was closed."""


class InProcessSubscription:
    """A bounded queue of matching messages; iteration ends when the bus closes."""

    def __init__(self, bus: InProcessBus, pattern: str, max_pending: int) -> None:
        self.pattern = pattern
        self._bus = bus
        self._queue: asyncio.Queue[BusMessage] = asyncio.Queue(maxsize=max_pending)
        self._closed = False
        self._room = asyncio.Event()

    async def _deliver(self, message: BusMessage) -> None:
        # Wait for room rather than grow (back-pressure), but give up when the subscriber
        # leaves, so a publisher never waits on a queue nobody reads.
        while not self._closed:
            if not self._queue.full():
                self._queue.put_nowait(message)
                return
            self._room.clear()
            await self._room.wait()

    def _close(self, discard_pending: bool) -> None:
        self._closed = True
        self._room.set()
        if discard_pending:
            # Nobody will read an unsubscribed queue: empty it so no publisher waits on it.
            while not self._queue.empty():
                self._queue.get_nowait()
        if not self._queue.full():
            self._queue.put_nowait(_CLOSED)
        # When the queue is full the reader is not waiting; `next` sees the closed flag
        # once it has drained what was delivered before the close.

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    async def next(self, timeout_s: float | None = None) -> BusMessage | None:
        if self._closed and self._queue.empty():
            return None
        try:
            message = await asyncio.wait_for(self._queue.get(), timeout_s)
        except TimeoutError:
            return None
        self._room.set()
        if message is _CLOSED:
            return None
        return message

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
            if subject_matches(subscription.pattern, subject):
                await subscription._deliver(message)

    async def subscribe(self, pattern: str, max_pending: int = 4096) -> InProcessSubscription:
        if max_pending < 1:
            raise ValueError("max_pending must be at least 1 (queues are always bounded)")
        validate_pattern(pattern)
        subscription = InProcessSubscription(self, pattern, max_pending)
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
