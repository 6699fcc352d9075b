"""Sharing between nations: releasability enforced at the boundary, JetStream carries it.

The path of one track from Poland to Lithuania (docs/federation.md has the picture):

1. PL's `ShareExporter` reads PL's tracks and alerts from the PL log and publishes what
   their labels release into PL's share stream (`share_addresses`): a ``REL`` item once
   per ally it names, to ``hz.share.{ally}.PL``, a ``NATO`` item once, to
   ``hz.share.NATO.PL``; what arrived together goes as one `ShareBatch` per address
   (``hz.share.LT.PL.batch``, MessagePack) instead of one message per copy. Nothing
   labelled ``NATIONAL PL`` and nothing not released to an ally is ever addressed to it.
2. The hub's ``ALLIANCE`` stream sources every nation's share stream across the leaf
   connections (JetStream domains), resuming where it stopped after a partition.
3. LT's import stream sources from ``ALLIANCE`` only ``hz.share.LT.>`` (copies addressed
   to LT) and ``hz.share.NATO.>`` (what is released to every member): LT's servers never
   hold a copy addressed to anyone else.
4. LT's `ShareImporter` checks every item's label again (defence in depth: a copy that is
   not releasable to LT is a dead letter, counted) and republishes what passes on
   ``hz.LT.ally.PL.{rest}`` in LT's log, where LT's stages and recorder read it. A nation's
   own ``NATO`` items come back in its import stream too; they are not re-imported.

Labels cannot be matched by NATS subject filters (a ``REL`` label names a *set* of
nations), which is why a ``REL`` item is addressed to each recipient rather than to its
label; ``NATO`` names every member, so one copy per hop serves all of them (32 nations
today: one stored message at the hub instead of 31).
Message ids are derived from the original id, so redeliveries and retries stay idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import msgspec
import nats.errors
import nats.js.errors

from hotzone.bus import Bus, BusMessage, StreamSource, StreamSpec, Subscription, nation_streams
from hotzone.bus.base import MESSAGE_ID_HEADER
from hotzone.bus.nats import NatsBus, RecentIds, batch_messages
from hotzone.runtime.federation_security import (
    ALL_MEMBERS,
    alliance_deliver_prefix,
    nation_deliver_prefix,
)
from hotzone.runtime.federation_servers import HUB_DOMAIN
from hotzone.runtime.services import hold_acknowledgements
from hotzone.share.releasability import Label, LabelError, recipients, releasable_to
from hotzone.types import DeadLetter, from_json, to_json
from hotzone.types.subjects import dead_letter_subject, subject

ALLIANCE_STREAM = "ALLIANCE"
SHARED_FAMILIES = ("trk.>", "assessment", "alert", "audit.checkpoint")
"""What a nation releases to allies (each item as its label allows): the picture, and the
signed heads of its audit chain, which allies keep as witnesses (content: only a hash)."""
_log = logging.getLogger(__name__)
_WATCHDOG_ERRORS: tuple[type[BaseException], ...] = (
    nats.errors.Error,
    nats.js.errors.Error,
    TimeoutError,
)
LABEL_HEADER = "Hz-Releasability"
ORIGIN_HEADER = "Hz-Origin"


def share_subject_for(recipient: str, origin: str, local_subject: str) -> str:
    """``hz.PL.trk.suwalki`` of PL addressed to LT -> ``hz.share.LT.PL.trk.suwalki``
    (``recipient`` `ALL_MEMBERS`: ``hz.share.NATO.PL.trk.suwalki``)."""
    rest = local_subject.split(".")[2:]
    return subject("hz", "share", recipient, origin, *rest)


def share_addresses(
    label: Label, origin: str, alliance: Sequence[str], once_per_hop: bool = True
) -> tuple[list[str], list[str]]:
    """Where an item of ``origin`` labelled ``label`` goes: the recipient tokens of its
    share subjects, and the allies that receive it (both empty: it stays national).

    ``NATO`` is one copy for every member (`ALL_MEMBERS`), a ``REL`` list one copy per ally
    it names. ``once_per_hop=False`` addresses a ``NATO`` item to each ally as well (how it
    was done before; `bench/federation.py` compares the two)."""
    allies = recipients(label, alliance, origin)
    if label.is_nato and once_per_hop and allies:
        return [ALL_MEMBERS], allies
    return list(allies), allies


def ally_subject_for(share_subject: str, nation: str) -> tuple[str, str, str]:
    """``hz.share.LT.PL.trk.x`` (or ``hz.share.NATO.PL.trk.x``) imported by LT ->
    (recipient LT (or NATO), origin PL, ``hz.LT.ally.PL.trk.x``)."""
    tokens = share_subject.split(".")
    if len(tokens) < 5 or tokens[:2] != ["hz", "share"]:
        raise ValueError(f"{share_subject!r} is not hz.share.RECIPIENT.ORIGIN.KIND...")
    recipient, origin, rest = tokens[2], tokens[3], tokens[4:]
    return recipient, origin, subject("hz", nation, "ally", origin, *rest)


def import_filters(nation: str) -> tuple[str, str]:
    """What ``nation`` takes from the hub: the copies addressed to it, and ``NATO`` items."""
    return f"hz.share.{nation}.>", f"hz.share.{ALL_MEMBERS}.>"


def import_stream(nation: str, replicas: int = 1) -> StreamSpec:
    """What ``nation`` receives from the hub: only the copies addressed to it, and the
    one copy of each ``NATO`` item. One source per filter (not one source with two
    filters): a consumer with a single filter carries it in its API subject, which is what
    the hub's accounts export (`hotzone.runtime.federation_security`)."""
    return StreamSpec(
        name=f"HZ_{nation}_IMPORT",
        sources=tuple(
            StreamSource(
                ALLIANCE_STREAM,
                pattern,
                domain=HUB_DOMAIN,
                deliver=nation_deliver_prefix(nation),
            )
            for pattern in import_filters(nation)
        ),
        max_age_s=7 * 86_400.0,
        replicas=replicas,
        description=f"copies released to {nation} by its allies, sourced from the hub",
    )


def federation_streams(nation: str, replicas: int = 1, archives: bool = True) -> list[StreamSpec]:
    """Every stream a nation's servers hold: log, share, archives and its import stream."""
    return [*nation_streams(nation, replicas, archives), import_stream(nation, replicas)]


def hub_streams(nations: Sequence[str], replicas: int = 1) -> list[StreamSpec]:
    """The hub's alliance stream: every nation's share stream, sourced across domains."""
    return [
        StreamSpec(
            name=ALLIANCE_STREAM,
            sources=tuple(
                StreamSource(
                    f"HZ_{nation}_SHARE",
                    domain=nation.lower(),
                    deliver=alliance_deliver_prefix(nation),
                )
                for nation in nations
            ),
            max_age_s=7 * 86_400.0,
            replicas=replicas,
            description="everything released between nations, by recipient and origin",
        )
    ]


class SourceWatchdog:
    """Sets a stream's stalled sources up again as soon as they can resume.

    nats-server notices a source whose heartbeats (1 s) stopped after 10 s and asks for a
    new consumer across the link; asked during a partition, that request waits 30 s for
    an answer before the next try, which then backs off 10 s more per failure (server
    constants, not configurable). After a 60 s cut, copying resumed only 40-50 s after
    the link was back. The watchdog polls the stream's sources and, for those silent
    for ``stalled_after_s``, removes them from the stream and puts them back at once:
    the server then sets each up immediately and resumes it from the last sequence it
    copied (found from the ``Nats-Stream-Source`` headers in the stream), so nothing is
    copied twice or skipped. While the link is still down this repeats every
    ``retry_s``; the first attempt after it is back succeeds."""

    def __init__(
        self,
        bus: NatsBus,
        stream: str,
        stalled_after_s: float = 2.5,
        retry_s: float = 2.0,
        period_s: float = 0.5,
    ) -> None:
        self.bus = bus
        self.stream = stream
        self.stalled_after_s = stalled_after_s
        self.retry_s = retry_s
        self.period_s = period_s
        self.restarts = 0
        self._last_restart: dict[str, float] = {}

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            with contextlib.suppress(*_WATCHDOG_ERRORS):
                await self.check(loop.time())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.period_s)

    async def check(self, now: float) -> list[str]:
        """Restart the sources that are stalled now; their names."""
        info = await self.bus.jetstream.stream_info(self.stream)
        stalled = {
            source.name
            for source in info.sources or ()
            # ``active``: nanoseconds since the source's last message or heartbeat; -1
            # while it has no consumer (being set up, or waiting for an answer).
            if (source.active is None or not 0 <= source.active / 1e9 <= self.stalled_after_s)
            and now - self._last_restart.get(source.name, -math.inf) >= self.retry_s
        }
        config = info.config
        if not stalled or not config.sources:
            return []
        everything = list(config.sources)
        config.sources = [s for s in everything if s.name not in stalled]
        await self.bus.jetstream.update_stream(config)
        config.sources = everything
        await self.bus.jetstream.update_stream(config)
        for name in stalled:
            self._last_restart[name] = now
        self.restarts += len(stalled)
        _log.info("%s: restarted stalled sources %s", self.stream, ", ".join(sorted(stalled)))
        return sorted(stalled)


@dataclass
class ShareCounters:
    read: int = 0
    copies: int = 0
    batches: int = 0
    kept_national: int = 0
    own_returned: int = 0
    """The nation's own ``NATO`` items, back through the hub (not re-imported)."""
    accepted: int = 0
    refused: int = 0
    already_admitted: int = 0
    """Items admitted before (an exporter restarted and batched them again with others)."""
    by_recipient: Counter[str] = field(default_factory=Counter)


class SharedItem(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """One released message inside a `ShareBatch` (text and bytes only: never in a
    reference cycle, so not tracked by the garbage collector)."""

    kind: str
    """Its subject after ``hz.{origin}.`` (``trk.suwalki``): where the recipient admits it."""
    message_id: str
    payload: bytes
    """The message as the origin published it (JSON), byte for byte."""


class ShareBatch(msgspec.Struct, array_like=True, frozen=True):
    """Several released messages for one address in one NATS message (MessagePack): one
    publish, one copy at the hub and one delivery per batch instead of per message."""

    items: list[SharedItem]


_BATCH_ENCODER = msgspec.msgpack.Encoder()
_BATCH_DECODER = msgspec.msgpack.Decoder(ShareBatch)
EXPORT_LINGER_S = 0.02
"""How long an exporter's batch waits for more under load: 20 ms of a nation's updates per
publish (`bench/federation.py --sharing-only` measures it against not waiting)."""
BATCH_KIND = "batch"
ADMITTED_MEMORY_ITEMS = 100_000
ADMITTED_MEMORY_S = 600.0
"""An importer admits an item at most once among the last `ADMITTED_MEMORY_ITEMS` it
admitted, and, after a restart, among those its nation's log stored in the last
`ADMITTED_MEMORY_S` seconds (an exporter killed mid-batch sends its last batch again
seconds later, once it is restarted)."""
"""The last token of a batch's share subject, ``hz.share.{address}.{origin}.batch``."""


class _BusService:
    """Runs until ``stop`` is set (or the bus closes), reading its subscriptions. Messages
    are taken in batches (what arrives within ``linger_s`` of the first, up to
    ``batch_size``) and acknowledged once the batch is handled and what it published is
    stored."""

    pattern: str
    #: Whether its first consumers (durable ones, on a `NatsBus`) start at the first
    #: message their stream holds rather than at its end (`NatsBus.subscribe`).
    reads_from_first = False

    def __init__(self, bus: Bus, nation: str, max_pending: int, linger_s: float = 0.0) -> None:
        self.bus = bus
        self.nation = nation
        self.max_pending = max_pending
        self.counters = ShareCounters()
        self.drain_s = 30.0
        self.batch_size = 256
        #: How long a batch waits for more after its first message when it is not alone:
        #: under load a batch then carries what arrived in that time (one publish, one
        #: copy at the hub, one delivery at the ally for all of it) instead of the few
        #: already fetched.
        self.linger_s = linger_s

    async def run(
        self, ready: asyncio.Event | None = None, stop: asyncio.Event | None = None
    ) -> None:
        await self._before_reading()
        subscriptions = [await self._subscribe(pattern) for pattern in self.patterns()]
        if ready is not None:
            ready.set()
        await asyncio.gather(*(self._pump(s, stop) for s in subscriptions))
        for subscription in subscriptions:
            await subscription.unsubscribe()

    async def _subscribe(self, pattern: str) -> Subscription:
        if self.reads_from_first and isinstance(self.bus, NatsBus):
            return await self.bus.subscribe(pattern, self.max_pending, from_first=True)
        return await self.bus.subscribe(pattern, self.max_pending)

    async def _pump(self, subscription: Subscription, stop: asyncio.Event | None) -> None:
        """Handle messages until told to stop and nothing is left to read (a node that ends
        releases and admits everything it has), or at most ``drain_s`` after ``stop``
        while more keeps coming (allies still running)."""
        acknowledge = hold_acknowledgements(subscription)
        stopping_since: float | None = None
        loop = asyncio.get_running_loop()
        while True:
            if stop is not None and stop.is_set() and stopping_since is None:
                stopping_since = loop.time()
            if stopping_since is not None and loop.time() - stopping_since > self.drain_s:
                return
            # What has arrived already makes the batch (one call for all of it).
            batch = await subscription.next_batch(self.batch_size, timeout_s=0.25)
            if not batch:
                if stopping_since is not None:
                    return
                # A timeout, or a closed bus: either way look at ``stop`` again soon.
                await asyncio.sleep(0.01)
                continue
            # Under load (more than one message had arrived) so does what arrives within
            # ``linger_s`` of its first message; a message on its own goes at once (no
            # waiting when there is no load, nor after ``stop``).
            closes_at = loop.time() + (0.0 if stopping_since is not None else self.linger_s)
            while (
                1 < len(batch) < self.batch_size
                and (remaining := closes_at - loop.time()) > 0
                and (more := await subscription.next_batch(self.batch_size - len(batch), remaining))
            ):
                batch.extend(more)
            await self.handle_batch(batch)
            await acknowledge()

    async def _before_reading(self) -> None:
        """What a service does once before it reads (nothing, but for the importer)."""

    def patterns(self) -> list[str]:
        raise NotImplementedError

    async def handle_batch(self, messages: Sequence[BusMessage]) -> None:
        raise NotImplementedError

    async def _publish_all(self, messages: list[tuple[str, bytes, dict[str, str] | None]]) -> None:
        publish_many = getattr(self.bus, "publish_many", None)
        if publish_many is not None:
            await publish_many(messages)
            return
        for subject_, payload, headers in messages:
            await self.bus.publish(subject_, payload, headers)

    async def _dead_letter(
        self, source: str, reason: str, raw: bytes, message_id: str | None = None
    ) -> None:
        letter = DeadLetter(time=datetime.now(UTC), source=source, reason=reason, raw=raw)
        # The id of the message it replaces: one dead letter however often it is handled.
        headers = {MESSAGE_ID_HEADER: f"{message_id}/{source}"} if message_id else None
        await self.bus.publish(dead_letter_subject(self.nation, source), to_json(letter), headers)


def _content_id(subject_: str, payload: bytes) -> str:
    digest = hashlib.sha256(subject_.encode() + b"\0" + payload).hexdigest()
    return f"sha256:{digest[:32]}"


class _Labelled(msgspec.Struct):
    releasability: str


_LABEL_DECODER = msgspec.json.Decoder(_Labelled)


def _label_of(payload: bytes) -> str:
    """A message's label, read without building the rest of it (the exporter reads its own
    nation's messages): the whole payload is still parsed (bytes that are not one JSON
    object are refused), and of a key given twice the last counts, as for every reader's
    `from_json` (msgspec both)."""
    return _LABEL_DECODER.decode(payload).releasability


_REMEMBERED_LABELS = 4096
"""How many label texts a sharing service remembers its verdict on (a handful in practice;
all forgotten at once when full, so odd labels cannot grow memory)."""


class ShareExporter(_BusService):
    """Releases a nation's tracks and alerts to each ally its labels allow (step 1), in
    batches: one `ShareBatch` per address for what arrived together.

    ``counters.copies`` counts items addressed (once per address), ``counters.batches``
    messages published, ``counters.by_recipient`` the items released to each ally (a
    ``NATO`` item counts for every ally, sent once).

    Its first (durable) consumers start at the first message the nation's log holds:
    what was published before the nation's first owner ran (a sector node's tracks) is
    released too. None of it was released before: an exporter's durable consumer outlives
    its last reader by at least the log's retention (`NatsBus.subscribe`), so by the time
    it is made again every message it had read is gone from the log
    (`tests/federation/test_share_start.py`). Without durable consumers (a bus with no
    ``durable_prefix``) it reads from now on: each start would release the log again."""

    def __init__(
        self,
        bus: Bus,
        nation: str,
        alliance: Sequence[str],
        families: Sequence[str] = SHARED_FAMILIES,
        max_pending: int = 1024,
        nato_once_per_hop: bool = True,
        linger_s: float = EXPORT_LINGER_S,
    ) -> None:
        super().__init__(bus, nation, max_pending, linger_s)
        self.alliance = list(alliance)
        self.families = list(families)
        self.nato_once_per_hop = nato_once_per_hop
        self.reads_from_first = isinstance(bus, NatsBus) and bus.durable_prefix is not None
        #: Label text -> (addresses, allies): parsed once, not once per item.
        self._routes: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}

    def _route(self, label_text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Where an item with this label goes (`share_addresses`); `LabelError` if none."""
        route = self._routes.get(label_text)
        if route is None:
            if len(self._routes) >= _REMEMBERED_LABELS:
                self._routes.clear()
            label = Label.parse(label_text)
            addresses, allies = share_addresses(
                label, self.nation, self.alliance, self.nato_once_per_hop
            )
            route = self._routes[label_text] = (tuple(addresses), tuple(allies))
        return route

    def patterns(self) -> list[str]:
        return [f"hz.{self.nation}.{family}" for family in self.families]

    async def handle_batch(self, messages: Sequence[BusMessage]) -> None:
        by_address: dict[str, list[SharedItem]] = {}
        released: Counter[tuple[str, ...]] = Counter()  # items by their allies
        for message in messages:
            payload = message.payload
            message_id = message.headers.get(MESSAGE_ID_HEADER) or _content_id(
                message.subject, payload
            )
            try:
                label_text = _label_of(payload)
                addresses, allies = self._route(label_text)
            except (msgspec.DecodeError, msgspec.ValidationError, LabelError) as error:
                reason = f"{message.subject}: {error}"
                await self._dead_letter("share-export", reason, payload, message_id)
                continue
            if not allies:
                self.counters.kept_national += 1
                continue
            # The item's bytes go on unchanged: what the ally admits is what was published.
            item = SharedItem(message.subject.split(".", 2)[2], message_id, payload)
            for address in addresses:
                by_address.setdefault(address, []).append(item)
            self.counters.copies += len(addresses)
            released[allies] += 1
        self.counters.read += len(messages)
        for allies, count in released.items():
            for ally in allies:
                self.counters.by_recipient[ally] += count
        batches: list[tuple[str, bytes, dict[str, str] | None]] = []
        for address, items in by_address.items():
            # Made again from the same messages after a restart, it has the same id.
            batch_id = f"{items[0].message_id}+{len(items)}>{address}"
            headers = {MESSAGE_ID_HEADER: batch_id, ORIGIN_HEADER: self.nation}
            share_subject = subject("hz", "share", address, self.nation, BATCH_KIND)
            batches.append((share_subject, _BATCH_ENCODER.encode(ShareBatch(items)), headers))
        await self._publish_all(batches)
        self.counters.batches += len(batches)


class ShareImporter(_BusService):
    """Admits into a nation's log only what is addressed and releasable to it (step 4),
    each item of a batch checked on its own.

    Its first (durable) consumers start at the first copy the import stream holds: what
    allies released before the nation's first node ran is admitted too (it is addressed to
    this nation and nothing admitted it). Made "from now on", a copy that reached the
    import stream between its creation and the importer's start was skipped for ever
    (`tests/federation/test_share_start.py`)."""

    reads_from_first = True

    def __init__(self, bus: Bus, nation: str, max_pending: int = 1024) -> None:
        super().__init__(bus, nation, max_pending)
        #: Verdicts remembered (parsed and checked once, not once per item): label text ->
        #: releasable to this nation; (origin, kind) -> the subject it is admitted on.
        self._releasable: dict[str, bool] = {}
        self._local_subjects: dict[tuple[str, str], str] = {}
        #: The ids of the items it admitted last (``{item id}<{nation}``): an item comes
        #: again in a batch of another id when its exporter was killed after publishing
        #: and before its consumer's acknowledgement, and cut its batches anew.
        self._admitted = RecentIds(ADMITTED_MEMORY_ITEMS)

    def patterns(self) -> list[str]:
        return list(import_filters(self.nation))

    async def _before_reading(self) -> None:
        """Learn again what it admitted last from the nation's log: a restarted importer
        admits nothing twice either."""
        if not isinstance(self.bus, NatsBus):
            return
        pattern = f"hz.{self.nation}.ally.>"
        for admitted_id in await self.bus.recent_message_ids(
            pattern, ADMITTED_MEMORY_S, ADMITTED_MEMORY_ITEMS
        ):
            self._admitted.add(admitted_id)

    async def handle_batch(self, messages: Sequence[BusMessage]) -> None:
        admitted: list[tuple[str, bytes, dict[str, str] | None]] = []
        for message in messages:
            message_id = message.headers.get(MESSAGE_ID_HEADER)
            try:
                recipient, origin, local = ally_subject_for(message.subject, self.nation)
                if local.rsplit(".", 1)[1] == BATCH_KIND:
                    batch = _BATCH_DECODER.decode(message.payload)
                    items = [(item.kind, item.message_id, item.payload) for item in batch.items]
                else:  # one message on its own subject
                    items = [(local.split(".", 4)[4], message_id or "", message.payload)]
            except (ValueError, msgspec.DecodeError, msgspec.ValidationError) as error:
                self.counters.read += 1
                self.counters.refused += 1
                reason = f"{message.subject}: {error}"
                await self._dead_letter("share-import", reason, message.payload, message_id)
                continue
            self.counters.read += len(items)
            admitted.extend(await self._admit(recipient, origin, items))
        await self._publish_all(admitted)

    async def _admit(
        self, recipient: str, origin: str, items: Sequence[tuple[str, str, bytes]]
    ) -> list[tuple[str, bytes, dict[str, str] | None]]:
        """What one shared message admits, as the messages to publish (each item checked
        on its own; a refused one is a dead letter, counted). On a NATS bus a run of items
        with one subject and label goes as one batch (`batch_messages`: one stored message
        and one delivery for an ally's window of tracks, each item keeping its id). Made
        from the same shared message after a restart, the batches are the same (their ids
        too), so the stream drops them as duplicates."""
        runs: list[tuple[str, str, list[tuple[str, bytes]]]] = []  # subject, label, items
        for kind, item_id, payload in items:
            # The id it is admitted under: remembered by `_check`, given to the log here.
            admitted_id = f"{item_id}<{self.nation}" if item_id else ""
            verdict = await self._check(recipient, origin, kind, item_id, admitted_id, payload)
            if verdict is None:
                continue
            local, label = verdict
            last = runs[-1] if runs else None
            # An item without an id goes alone (the bus gives it one).
            if last is not None and last[:2] == verdict and admitted_id and last[2][-1][0]:
                last[2].append((admitted_id, payload))
            else:
                runs.append((local, label, [(admitted_id, payload)]))
        messages: list[tuple[str, bytes, dict[str, str] | None]] = []
        for local, label, run in runs:
            headers = {LABEL_HEADER: label, ORIGIN_HEADER: origin}
            if len(run) > 1 and isinstance(self.bus, NatsBus):
                messages.extend(batch_messages(local, run, headers))
                continue
            for admitted_id, payload in run:
                if admitted_id:
                    messages.append((local, payload, {**headers, MESSAGE_ID_HEADER: admitted_id}))
                else:
                    messages.append((local, payload, dict(headers)))
        return messages

    async def _check(
        self,
        recipient: str,
        origin: str,
        kind: str,
        item_id: str,
        admitted_id: str,
        payload: bytes,
    ) -> tuple[str, str] | None:
        """(the subject it is admitted on, its label) for a released item that passes, or
        None: a dead letter (malformed, or not releasable to this nation; counted),
        this nation's own item back from the hub, or an item it admitted already (counted).

        The whole item is decoded and validated, not only its label: this is where an
        ally's bytes enter the nation's log, and a malformed one is one dead letter here
        rather than one at each reader (measured: about 3 us an item more than reading
        the label alone, some 3 % of the sharing path's processor time)."""
        try:
            local = self._local_subjects.get((origin, kind))
            if local is None:
                local = subject("hz", self.nation, "ally", origin, *kind.split("."))
                if len(self._local_subjects) >= _REMEMBERED_LABELS:
                    self._local_subjects.clear()
                self._local_subjects[origin, kind] = local
            label = str(from_json(payload).releasability)
            releasable = self._releasable.get(label)
            if releasable is None:
                releasable = releasable_to(label, self.nation)  # LabelError: not cached
                if len(self._releasable) >= _REMEMBERED_LABELS:
                    self._releasable.clear()
                self._releasable[label] = releasable
        except (ValueError, msgspec.DecodeError, msgspec.ValidationError) as error:
            where = f"hz.share.{recipient}.{origin}.{kind}"
            self.counters.refused += 1
            await self._dead_letter("share-import", f"{where}: {error}", payload, item_id)
            return None
        if not (releasable and recipient in (self.nation, ALL_MEMBERS)):
            where = f"hz.share.{recipient}.{origin}.{kind}"
            self.counters.refused += 1
            reason = f"{where}: label {label!r} is not releasable to {self.nation}"
            await self._dead_letter("share-import", reason, payload, item_id)
            return None
        if origin == self.nation:
            # Its own NATO item, back from the hub with everyone else's: it has it already.
            self.counters.own_returned += 1
            return None
        if admitted_id and not self._admitted.add(admitted_id):
            self.counters.already_admitted += 1
            return None
        self.counters.accepted += 1
        self.counters.by_recipient[origin] += 1
        return local, label
