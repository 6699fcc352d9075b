"""The live stream: every picture update to every connected browser, with back-pressure.

Each client has a bounded mailbox keyed by what an update updates (``track:T12``): a newer
update of the same thing replaces the older one still waiting, so a slow client receives
the latest state of each object instead of every intermediate one, and its memory is
bounded by the number of objects, never by the update rate. A writer task per client sends
what is waiting as one batch at most every ``batch_interval_s`` (the page renders batches,
not single updates): at once when the previous batch went out longer ago than that (an
alert after a quiet spell is not held back), else when the interval is up. A client whose
socket does not drain holds its writer in ``send``, and meanwhile its mailbox coalesces.

Socket buffers alone are a poor brake: the kernel and the browser queue megabytes, seconds
of a busy stream, before ``send`` waits. A client that asks for acknowledged flow (the page
does) acknowledges each batch once it has applied it, and gets a new batch only while fewer
than ``max_unacknowledged`` are unacknowledged: a client that falls behind then lags by at
most that many batches, and everything newer waits, coalesced, in its mailbox.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Update = dict[str, Any]


@dataclass(eq=False)  # identity, not value: a client is one connection
class ClientStream:
    """One browser's mailbox of pending updates, latest per key."""

    accepts: Callable[[Update], bool]
    max_pending: int = 10_000
    pending: dict[str, Update] = field(default_factory=dict)
    coalesced: int = 0
    dropped: int = 0
    sent: int = 0
    _ready: asyncio.Event = field(default_factory=asyncio.Event)
    _last_batch_at: float = -float("inf")
    acknowledged_flow: bool = False
    max_unacknowledged: int = 2
    unacknowledged: int = 0
    _acknowledged: asyncio.Event = field(default_factory=asyncio.Event)

    def acknowledge(self) -> None:
        """The client has applied one batch."""
        self.unacknowledged = max(0, self.unacknowledged - 1)
        self._acknowledged.set()

    def offer(self, update: Update) -> None:
        if not self.accepts(update):
            return
        key = update["key"]
        if key in self.pending:
            self.coalesced += 1
            del self.pending[key]  # re-insert: the batch stays in order of last change
        elif len(self.pending) >= self.max_pending:
            # More distinct objects than the mailbox holds: the oldest change goes.
            oldest = next(iter(self.pending))
            del self.pending[oldest]
            self.dropped += 1
        self.pending[key] = update
        self._ready.set()

    async def next_batch(self, batch_interval_s: float) -> list[Update]:
        """Wait for updates, for ``batch_interval_s`` since the last batch and, with
        acknowledged flow, for the client to have caught up; take them all."""
        while self.acknowledged_flow and self.unacknowledged >= self.max_unacknowledged:
            self._acknowledged.clear()
            await self._acknowledged.wait()
        await self._ready.wait()
        wait = self._last_batch_at + batch_interval_s - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)  # more gather meanwhile, the latest of each object kept
        self._last_batch_at = time.monotonic()
        batch = list(self.pending.values())
        self.pending = {}
        self._ready.clear()
        self.sent += len(batch)
        if self.acknowledged_flow:
            self.unacknowledged += 1
        return batch


@dataclass
class StreamHub:
    """Fans updates out to every connected client's mailbox; never waits on a client."""

    clients: set[ClientStream] = field(default_factory=set)
    published: int = 0

    def connect(
        self,
        accepts: Callable[[Update], bool],
        max_pending: int,
        acknowledged_flow: bool = False,
    ) -> ClientStream:
        client = ClientStream(
            accepts=accepts, max_pending=max_pending, acknowledged_flow=acknowledged_flow
        )
        self.clients.add(client)
        return client

    def disconnect(self, client: ClientStream) -> None:
        self.clients.discard(client)

    def publish(self, update: Update) -> None:
        self.published += 1
        for client in tuple(self.clients):
            client.offer(update)
