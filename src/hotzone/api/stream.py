"""The live stream: every picture update to every connected browser, with back-pressure.

Each client has a bounded mailbox keyed by what an update updates (``track:T12``): a newer
update of the same thing replaces the older one still waiting, so a slow client receives
the latest state of each object instead of every intermediate one, and its memory is
bounded by the number of objects, never by the update rate. A writer task per client sends
what is waiting as one batch at most every ``batch_interval_s`` (the page renders batches,
not single updates): at once when the previous batch went out longer ago than that (an
alert after a quiet spell is not held back), else when the interval is up. A client whose
socket does not drain holds its writer in ``send``, and meanwhile its mailbox coalesces.
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
        """Wait for updates and for ``batch_interval_s`` since the last batch; take them all."""
        await self._ready.wait()
        wait = self._last_batch_at + batch_interval_s - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)  # more gather meanwhile, the latest of each object kept
        self._last_batch_at = time.monotonic()
        batch = list(self.pending.values())
        self.pending = {}
        self._ready.clear()
        self.sent += len(batch)
        return batch


@dataclass
class StreamHub:
    """Fans updates out to every connected client's mailbox; never waits on a client."""

    clients: set[ClientStream] = field(default_factory=set)
    published: int = 0

    def connect(self, accepts: Callable[[Update], bool], max_pending: int) -> ClientStream:
        client = ClientStream(accepts=accepts, max_pending=max_pending)
        self.clients.add(client)
        return client

    def disconnect(self, client: ClientStream) -> None:
        self.clients.discard(client)

    def publish(self, update: Update) -> None:
        self.published += 1
        for client in tuple(self.clients):
            client.offer(update)
