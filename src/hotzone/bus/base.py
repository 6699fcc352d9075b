"""The `Bus` seam: every stage talks to the others only through it (docs/architecture.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Protocol

import msgspec

MESSAGE_ID_HEADER = "Nats-Msg-Id"
"""A message's id: JetStream drops a second message with the same id (within its
duplicate window), subscriptions drop a redelivered one."""
_TAG_PREFIX = b'{"type":"'


def message_tag(payload: bytes) -> bytes | None:
    """The message's type tag, read from the payload's first bytes (msgspec writes the tag
    field first), or None where the payload does not start so (a batch, or bad input)."""
    if not payload.startswith(_TAG_PREFIX):
        return None
    end = payload.find(b'"', len(_TAG_PREFIX), len(_TAG_PREFIX) + 40)
    return payload[len(_TAG_PREFIX) : end] if end > 0 else None


class BusMessage(msgspec.Struct, frozen=True, gc=False):
    """One message as a subscriber gets it. A struct, not a dataclass: a subscription
    makes one for every item of every batch it hands out, in a tenth of the time. Not
    tracked by the garbage collector (its fields are text, bytes and a mapping of text:
    it cannot be part of a reference cycle), so a batch of them triggers no collection."""

    subject: str
    payload: bytes
    headers: Mapping[str, str] = msgspec.field(default_factory=dict)


class Subscription(Protocol):
    """Messages matching one pattern, in publication order."""

    pattern: str

    @property
    def pending(self) -> int:
        """Messages received and not yet taken (the queue depth ``/metrics`` shows)."""

    def __aiter__(self) -> AsyncIterator[BusMessage]: ...

    async def next(self, timeout_s: float | None = None) -> BusMessage | None:
        """The next message, or None when closed or when ``timeout_s`` passes."""

    async def next_batch(self, limit: int, timeout_s: float | None = None) -> list[BusMessage]:
        """The next message (waiting at most ``timeout_s``) and those already there behind
        it, without waiting, up to ``limit`` in all; empty when closed or on a timeout.
        The same as that many `next` calls (a service that handles what arrived together
        as one batch makes one call for it)."""

    async def unsubscribe(self) -> None: ...


class Bus(Protocol):
    """Publish/subscribe with NATS subject semantics.

    ``publish`` waits while any matching subscriber's queue is full (back-pressure), so a
    slow stage slows its producers instead of growing memory without bound.
    """

    async def publish(
        self, subject: str, payload: bytes, headers: Mapping[str, str] | None = None
    ) -> None: ...

    async def publish_batch(
        self,
        subject: str,
        items: Sequence[tuple[str, bytes]],
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Publish ``items`` (message id, payload; an empty id is given one) on one subject,
        in order: subscribers get each as a message of its own with ``headers`` and its
        id. A NATS bus sends them as one message (a tracker's window of tracks)."""

    async def subscribe(
        self, pattern: str, max_pending: int = 4096, *, subjects: Sequence[str] = ()
    ) -> Subscription:
        """Messages matching ``pattern``; with ``subjects`` (patterns within it), only
        those matching one of them, in the same order: a stage's consumer then never
        receives what it would only drop."""

    async def close(self) -> None: ...
