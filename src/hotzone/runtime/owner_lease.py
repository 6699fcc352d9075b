"""One owner node per nation: a lease in the nation's JetStream (a key-value bucket).

A nation's owner runs what must exist once (assessment, c2 and its audit chain, the share
exporter and importer); a second owner would fork the audit chain and release every copy
twice. The owner holds the key ``owner`` of the bucket ``HZ_{N}_OWNER`` on its nation's
servers and renews it every ``renew_s``; the bucket forgets an entry ``ttl_s`` after its
last renewal. A node that finds the key held watches it for ``watch_s``: renewed meanwhile,
a live owner holds it (`NationOwnedError`); not renewed, its holder died (SIGKILL, a lost host)
and the node takes it over at once, by a compare-and-set on the revision it saw (of two
nodes doing so, one wins). A holder that was a process of this machine's boot and PID
namespace and exists no more (killed, restarted on the same host) is not watched: the
lease is taken over at once (`holder_is_gone`). An owner that ends normally removes the
key, so the next one starts without waiting.

An owner acts only while it knows it holds the lease: a renewal sent at ``t`` and
confirmed proves ownership until ``t + watch_s`` (a node taking over must have seen the
same revision unchanged for ``watch_s`` first), and past that the owner's publishes and
reads wait for a renewal (`OwnerLease.confirm`: the owner's bus asks it before each
publish and each message it hands out, `hotzone.bus.nats.ActingGuard`). An
owner that stalled (SIGSTOP, a frozen VM) for longer than that and finds another node
holding the key has been ousted: the lease is marked lost (`OwnerLeaseLostError`, its
``on_lost`` called) before it publishes anything more, and the node stops
(`hotzone.runtime.node`).

The same lease, under the key ``unclaimed``, is held by the one sector node per nation
that tracks the detections of no scenario sector (``--unclaimed``): a second such node
would track them twice, so it is refused like a second owner, and takes over from one
that died.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import nats.errors
import nats.js.errors
from nats.js.kv import KeyValue

from hotzone.bus import NatsBus

_log = logging.getLogger(__name__)
OWNER_KEY = "owner"
UNCLAIMED_KEY = "unclaimed"
"""The key of the sector node tracking the detections of no scenario sector."""
_ROLES = {
    OWNER_KEY: (
        "a running owner node",
        "run this one with --sectors (a sector node), or stop the other first",
        "acting as owner",
    ),
    UNCLAIMED_KEY: (
        "a node tracking the detections of no scenario sector (--unclaimed)",
        "run this one without --unclaimed, or stop the other first",
        "tracking the detections of no scenario sector",
    ),
}
"""Per key: who holds it, what a refused node should do instead, what an ousted one stops."""
_GONE = (nats.js.errors.KeyNotFoundError, nats.js.errors.KeyDeletedError)


def lease_bucket(nation: str) -> str:
    return f"HZ_{nation}_OWNER"


def process_space() -> str | None:
    """What makes a process id mean one process: this boot of this machine and this PID
    namespace (Linux); None where that cannot be told."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return None
    return f"{boot}/{namespace}"


def holder_is_gone(value: bytes) -> bool:
    """Whether the lease's holder is a process of this process space that no longer exists
    (killed on this host, restarted here): its lease can be taken without watching it.
    False whenever that is not certain (another host, a reused process id, a zombie)."""
    try:
        holder = json.loads(value)
        space, pid = holder["process_space"], int(holder["pid"])
    except (ValueError, KeyError, TypeError):
        return False
    if space is None or space != process_space() or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, another user's
        return False
    return False


async def lease_holder(bus: NatsBus, nation: str, key: str) -> bytes | None:
    """Who holds ``nation``'s lease ``key`` now (its JSON), None when nobody does."""
    try:
        bucket = await bus.jetstream.key_value(lease_bucket(nation))
        entry = await bucket.get(key)
    except (nats.js.errors.BucketNotFoundError, *_GONE):
        return None
    return entry.value or None


class NationOwnedError(RuntimeError):
    """Another live node owns the nation (or holds the lease's key) already."""


class OwnerLeaseLostError(NationOwnedError):
    """This owner was ousted: another node took the lease over while it stalled."""


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
        key: str = OWNER_KEY,
    ) -> None:
        self.bus = bus
        self.key = key
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
                "process_space": process_space(),
                "since": datetime.now(UTC).isoformat(),
            }
        ).encode()
        self.took_over = False
        #: Set once another node is found holding the lease (then ``on_lost`` is called).
        self.lost = asyncio.Event()
        self.on_lost: Callable[[], object] | None = None
        #: Renewals that found the lease held by another node (0 or 1: then it stops).
        self.losses = 0
        self._bucket: KeyValue | None = None
        self._revision = 0
        self._renewing: asyncio.Task[None] | None = None
        self._renewal = asyncio.Lock()
        #: Event-loop time until which this node surely holds the lease.
        self._valid_until = -math.inf

    async def acquire(self) -> None:
        """Take the lease (after ``watch_s`` when a dead owner's entry is still there) and
        keep renewing it; `NationOwnedError` when a live owner holds it."""
        bucket = await self._open_bucket()
        try:
            sent_at = self._now()
            self._revision = await bucket.create(self.key, self.holder)
        except nats.js.errors.KeyWrongLastSequenceError:
            sent_at = self._now()
            self._revision = await self._take_over(bucket)
            self.took_over = True
        self._valid_until = sent_at + self.watch_s
        self._renewing = asyncio.create_task(self._renew(bucket))

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()

    @property
    def holds(self) -> bool:
        """Whether this node surely holds the lease now (no other node can have it)."""
        return not self.lost.is_set() and self._now() < self._valid_until

    async def confirm(self) -> None:
        """Return at once while the lease surely holds; otherwise renew it first (waiting
        through reconnects), or raise `OwnerLeaseLostError` when another node has it."""
        while not self.holds:
            if self.lost.is_set() or self._bucket is None:
                raise OwnerLeaseLostError(self.ousted())
            if not await self._renew_once(self._bucket, only_if_stale=True):
                await asyncio.sleep(0.1)

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
            seen = await bucket.get(self.key)
        except _GONE:  # expired or removed just now
            return await bucket.create(self.key, self.holder)
        holder = (seen.value or b"").decode(errors="replace")
        if not holder_is_gone(seen.value or b""):
            await asyncio.sleep(self.watch_s)
        try:
            now = await bucket.get(self.key)
        except _GONE:
            return await bucket.create(self.key, self.holder)
        if now.revision != seen.revision:
            raise NationOwnedError(self._refusal(now.value or b""))
        try:
            revision = await bucket.update(self.key, self.holder, last=seen.revision)
        except nats.js.errors.KeyWrongLastSequenceError:
            raise NationOwnedError(self._refusal(b"")) from None
        # Not "PL: ...": that is how a node's summary line starts.
        _log.warning(
            "%s lease of %s taken over from a stopped node: %s", self.key, self.nation, holder
        )
        return revision

    def _refusal(self, value: bytes) -> str:
        try:
            holder = json.loads(value)
            who = f" ({holder['node']} on {holder['host']}, pid {holder['pid']})"
        except (ValueError, KeyError, TypeError):
            who = ""
        holder, instead, _ = _ROLES[self.key]
        return f"{self.nation} has {holder} already{who}: {instead}"

    async def _renew(self, bucket: KeyValue) -> None:
        while not self.lost.is_set():
            await asyncio.sleep(self.renew_s)
            await self._renew_once(bucket)

    async def _renew_once(self, bucket: KeyValue, only_if_stale: bool = False) -> bool:
        """Renew the lease; whether it was (False also when it was found lost).
        ``only_if_stale``: not when it surely holds (renewed while this one waited)."""
        async with self._renewal:
            if self.lost.is_set():
                return False
            if only_if_stale and self.holds:
                return True
            sent_at = self._now()
            try:
                self._revision = await bucket.update(self.key, self.holder, last=self._revision)
            except nats.js.errors.KeyWrongLastSequenceError:
                # Expired while this process stalled for longer than ``ttl_s``, taken over
                # by another node, or renewed by a renewal whose answer was lost.
                return await self._recover(bucket, sent_at)
            except (nats.errors.Error, TimeoutError) as error:
                # Not renewed this time (a reconnect); the entry lasts ``ttl_s``.
                _log.warning("%s lease of %s not renewed: %s", self.key, self.nation, error)
                return False
            self._valid_until = sent_at + self.watch_s
            return True

    async def _recover(self, bucket: KeyValue, sent_at: float) -> bool:
        """After a renewal found another revision: adopt it when it is this node's own
        (an earlier renewal was applied but its answer timed out), take the key again when
        nobody holds it, and otherwise the lease is lost."""
        try:
            entry = await bucket.get(self.key)
        except _GONE:
            entry = None
        except (nats.errors.Error, TimeoutError) as error:
            _log.warning("%s lease of %s not checked: %s", self.key, self.nation, error)
            return False
        try:
            if entry is None:
                self._revision = await bucket.create(self.key, self.holder)
            elif entry.value == self.holder:
                self._revision = await bucket.update(self.key, self.holder, last=entry.revision)
            else:
                self._mark_lost()
                return False
        except nats.js.errors.KeyWrongLastSequenceError:
            return False  # changed meanwhile: the next attempt looks again
        except (nats.errors.Error, TimeoutError) as error:
            _log.warning("%s lease of %s not renewed: %s", self.key, self.nation, error)
            return False
        self._valid_until = sent_at + self.watch_s
        return True

    def _mark_lost(self) -> None:
        self.losses += 1
        self.lost.set()
        # Said once, by whoever stops the node (`OwnerLeaseLostError`); here for the log.
        _log.info("%s lease of %s taken over by another node", self.key, self.nation)
        if self.on_lost is not None:
            self.on_lost()

    def ousted(self) -> str:
        """Why an ousted owner stopped, in one line."""
        return (
            f"{self.nation}'s {self.key} lease was taken over by another node while this "
            f"one was stalled: this node stopped {_ROLES[self.key][2]}"
        )

    async def release(self) -> None:
        """Stop renewing and remove the key (if still ours): the next owner starts at once."""
        if self._renewing is not None:
            self._renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewing
        if self._bucket is None or not self._revision or self.lost.is_set():
            return
        with contextlib.suppress(nats.errors.Error, nats.js.errors.Error, TimeoutError):
            await self._bucket.delete(self.key, last=self._revision)
