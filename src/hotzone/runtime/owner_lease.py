"""One owner node per nation: a lease in the nation's JetStream (a key-value bucket).

A nation's owner runs what must exist once (assessment, c2 and its audit chain, the share
exporter and importer); a second owner would fork the audit chain and release every copy
twice. The owner holds the key ``owner`` of the bucket ``HZ_{N}_OWNER`` on its nation's
servers and renews it every ``renew_s``; the bucket forgets an entry ``ttl_s`` after its
last renewal. A node that finds the key held watches it for ``watch_s``: renewed meanwhile,
a live owner holds it (`NationOwnedError`); not renewed, its holder died (SIGKILL, a lost host)
and the node takes it over at once, by a compare-and-set on the revision it saw (of two
nodes doing so, one wins). An owner that ends normally removes the key, so the next one
starts without waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from datetime import UTC, datetime

import nats.errors
import nats.js.errors
from nats.js.kv import KeyValue

from hotzone.bus import NatsBus

_log = logging.getLogger(__name__)
OWNER_KEY = "owner"
_GONE = (nats.js.errors.KeyNotFoundError, nats.js.errors.KeyDeletedError)


def lease_bucket(nation: str) -> str:
    return f"HZ_{nation}_OWNER"


class NationOwnedError(RuntimeError):
    """Another live node owns the nation already."""


class OwnerLease:
    """Held by the nation's owner node while it runs (see the module docstring)."""

    def __init__(
        self,
        bus: NatsBus,
        nation: str,
        description: str,
        renew_s: float = 1.0,
        ttl_s: float = 10.0,
        watch_s: float = 3.5,
        replicas: int = 1,
    ) -> None:
        self.bus = bus
        self.nation = nation
        self.renew_s = renew_s
        self.ttl_s = ttl_s
        self.watch_s = watch_s
        self.replicas = replicas
        self.holder = json.dumps(
            {
                "node": description,
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "since": datetime.now(UTC).isoformat(),
            }
        ).encode()
        self.took_over = False
        self._bucket: KeyValue | None = None
        self._revision = 0
        self._renewing: asyncio.Task[None] | None = None

    async def acquire(self) -> None:
        """Take the lease (after ``watch_s`` when a dead owner's entry is still there) and
        keep renewing it; `NationOwnedError` when a live owner holds it."""
        bucket = await self._open_bucket()
        try:
            self._revision = await bucket.create(OWNER_KEY, self.holder)
        except nats.js.errors.KeyWrongLastSequenceError:
            self._revision = await self._take_over(bucket)
            self.took_over = True
        self._renewing = asyncio.create_task(self._renew(bucket))

    async def _open_bucket(self) -> KeyValue:
        jetstream = self.bus.jetstream
        try:
            self._bucket = await jetstream.key_value(lease_bucket(self.nation))
        except nats.js.errors.BucketNotFoundError:
            self._bucket = await jetstream.create_key_value(
                bucket=lease_bucket(self.nation),
                description=f"the node that owns {self.nation} (one at a time)",
                history=1,
                ttl=self.ttl_s,
                replicas=self.replicas,
            )
        return self._bucket

    async def _take_over(self, bucket: KeyValue) -> int:
        try:
            seen = await bucket.get(OWNER_KEY)
        except _GONE:  # expired or removed just now
            return await bucket.create(OWNER_KEY, self.holder)
        await asyncio.sleep(self.watch_s)
        holder = (seen.value or b"").decode(errors="replace")
        try:
            now = await bucket.get(OWNER_KEY)
        except _GONE:
            return await bucket.create(OWNER_KEY, self.holder)
        if now.revision != seen.revision:
            raise NationOwnedError(self._refusal(now.value or b""))
        try:
            revision = await bucket.update(OWNER_KEY, self.holder, last=seen.revision)
        except nats.js.errors.KeyWrongLastSequenceError:
            raise NationOwnedError(self._refusal(b"")) from None
        # Not "PL: ...": that is how a node's summary line starts.
        _log.warning("owner lease of %s taken over from a stopped node: %s", self.nation, holder)
        return revision

    def _refusal(self, value: bytes) -> str:
        try:
            holder = json.loads(value)
            who = f" ({holder['node']} on {holder['host']}, pid {holder['pid']})"
        except (ValueError, KeyError, TypeError):
            who = ""
        return (
            f"{self.nation} has a running owner node already{who}: run this one with "
            "--sectors (a sector node), or stop the other first"
        )

    async def _renew(self, bucket: KeyValue) -> None:
        while True:
            await asyncio.sleep(self.renew_s)
            try:
                self._revision = await bucket.update(OWNER_KEY, self.holder, last=self._revision)
            except nats.js.errors.KeyWrongLastSequenceError:
                # Expired while this process stalled for longer than ``ttl_s``: take it
                # again if nobody else did (then that one is the owner, said loudly).
                try:
                    self._revision = await bucket.create(OWNER_KEY, self.holder)
                except nats.js.errors.KeyWrongLastSequenceError:
                    _log.error("owner lease of %s taken over by another node", self.nation)
                    return
            except (nats.errors.Error, TimeoutError) as error:
                # Not renewed this time (a reconnect); the entry lasts ``ttl_s``.
                _log.warning("owner lease of %s not renewed: %s", self.nation, error)

    async def release(self) -> None:
        """Stop renewing and remove the key (if still ours): the next owner starts at once."""
        if self._renewing is not None:
            self._renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewing
        if self._bucket is None or not self._revision:
            return
        with contextlib.suppress(nats.errors.Error, nats.js.errors.Error, TimeoutError):
            await self._bucket.delete(OWNER_KEY, last=self._revision)
