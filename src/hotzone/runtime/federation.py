"""Sharing between nations: releasability enforced at the boundary, JetStream carries it.

The path of one track from Poland to Lithuania (docs/federation.md has the picture):

1. PL's `ShareExporter` reads PL's tracks and alerts from the PL log and publishes what
   their labels release into PL's share stream (`share_addresses`): a ``REL`` item once
   per ally it names, on ``hz.share.{ally}.PL.{rest}`` (e.g. ``hz.share.LT.PL.trk.suwalki``),
   a ``NATO`` item once, on ``hz.share.NATO.PL.{rest}``. Nothing labelled ``NATIONAL PL``
   and nothing not released to an ally is ever addressed to it.
2. The hub's ``ALLIANCE`` stream sources every nation's share stream across the leaf
   connections (JetStream domains), resuming where it stopped after a partition.
3. LT's import stream sources from ``ALLIANCE`` only ``hz.share.LT.>`` (copies addressed
   to LT) and ``hz.share.NATO.>`` (what is released to every member): LT's servers never
   hold a copy addressed to anyone else.
4. LT's `ShareImporter` checks the label again (defence in depth: a copy that is not
   releasable to LT is a dead letter, counted) and republishes what passes on
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
import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import msgspec

from hotzone.bus import Bus, BusMessage, StreamSource, StreamSpec, Subscription, nation_streams
from hotzone.bus.nats import MESSAGE_ID_HEADER
from hotzone.runtime.federation_security import (
    ALL_MEMBERS,
    alliance_deliver_prefix,
    nation_deliver_prefix,
)
from hotzone.runtime.federation_servers import HUB_DOMAIN
from hotzone.share.releasability import Label, LabelError, recipients, releasable_to
from hotzone.types import DeadLetter, from_json, to_json
from hotzone.types.subjects import dead_letter_subject, subject

ALLIANCE_STREAM = "ALLIANCE"
SHARED_FAMILIES = ("trk.>", "assessment", "alert", "audit.checkpoint")
"""What a nation releases to allies (each item as its label allows): the picture, and the
signed heads of its audit chain, which allies keep as witnesses (content: only a hash)."""
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


@dataclass
class ShareCounters:
    read: int = 0
    copies: int = 0
    kept_national: int = 0
    own_returned: int = 0
    """The nation's own ``NATO`` items, back through the hub (not re-imported)."""
    accepted: int = 0
    refused: int = 0
    by_recipient: Counter[str] = field(default_factory=Counter)


class _BusService:
    """Runs until ``stop`` is set (or the bus closes), reading one subscription."""

    pattern: str

    def __init__(self, bus: Bus, nation: str, max_pending: int) -> None:
        self.bus = bus
        self.nation = nation
        self.max_pending = max_pending
        self.counters = ShareCounters()

    async def run(
        self, ready: asyncio.Event | None = None, stop: asyncio.Event | None = None
    ) -> None:
        subscriptions = [await self.bus.subscribe(p, self.max_pending) for p in self.patterns()]
        if ready is not None:
            ready.set()
        await asyncio.gather(*(self._pump(s, stop) for s in subscriptions))
        for subscription in subscriptions:
            await subscription.unsubscribe()

    async def _pump(self, subscription: Subscription, stop: asyncio.Event | None) -> None:
        while stop is None or not stop.is_set():
            message = await subscription.next(timeout_s=0.25)
            if message is None:
                # A timeout, or a closed bus: either way look at ``stop`` again soon.
                await asyncio.sleep(0.01)
                continue
            await self.handle(message)

    def patterns(self) -> list[str]:
        raise NotImplementedError

    async def handle(self, message: BusMessage) -> None:
        raise NotImplementedError

    async def _dead_letter(self, source: str, reason: str, raw: bytes) -> None:
        letter = DeadLetter(time=datetime.now(UTC), source=source, reason=reason, raw=raw)
        await self.bus.publish(dead_letter_subject(self.nation, source), to_json(letter))


def _content_id(message: BusMessage) -> str:
    digest = hashlib.sha256(message.subject.encode() + b"\0" + message.payload).hexdigest()
    return f"sha256:{digest[:32]}"


def _label_of(payload: bytes) -> str:
    return str(from_json(payload).releasability)


class ShareExporter(_BusService):
    """Releases a nation's tracks and alerts to each ally its labels allow (step 1).

    ``counters.copies`` counts messages published, ``counters.by_recipient`` the items
    released to each ally (a ``NATO`` item counts for every ally, sent once)."""

    def __init__(
        self,
        bus: Bus,
        nation: str,
        alliance: Sequence[str],
        families: Sequence[str] = SHARED_FAMILIES,
        max_pending: int = 1024,
        nato_once_per_hop: bool = True,
    ) -> None:
        super().__init__(bus, nation, max_pending)
        self.alliance = list(alliance)
        self.families = list(families)
        self.nato_once_per_hop = nato_once_per_hop

    def patterns(self) -> list[str]:
        return [f"hz.{self.nation}.{family}" for family in self.families]

    async def handle(self, message: BusMessage) -> None:
        self.counters.read += 1
        try:
            label = Label.parse(_label_of(message.payload))
            addressed, allies = share_addresses(
                label, self.nation, self.alliance, self.nato_once_per_hop
            )
        except (msgspec.DecodeError, msgspec.ValidationError, LabelError) as error:
            await self._dead_letter("share-export", f"{message.subject}: {error}", message.payload)
            return
        if not allies:
            self.counters.kept_national += 1
        message_id = message.headers.get(MESSAGE_ID_HEADER) or _content_id(message)
        for recipient in addressed:
            headers = {
                MESSAGE_ID_HEADER: f"{message_id}>{recipient}",
                LABEL_HEADER: label.text,
                ORIGIN_HEADER: self.nation,
            }
            await self.bus.publish(
                share_subject_for(recipient, self.nation, message.subject),
                message.payload,
                headers,
            )
            self.counters.copies += 1
        self.counters.by_recipient.update(allies)


class ShareImporter(_BusService):
    """Admits into a nation's log only what is addressed and releasable to it (step 4)."""

    def __init__(self, bus: Bus, nation: str, max_pending: int = 1024) -> None:
        super().__init__(bus, nation, max_pending)

    def patterns(self) -> list[str]:
        return list(import_filters(self.nation))

    async def handle(self, message: BusMessage) -> None:
        self.counters.read += 1
        try:
            recipient, origin, local = ally_subject_for(message.subject, self.nation)
            label = _label_of(message.payload)
            addressed = recipient in (self.nation, ALL_MEMBERS)
            allowed = addressed and releasable_to(label, self.nation)
        except (ValueError, msgspec.DecodeError, msgspec.ValidationError) as error:
            self.counters.refused += 1
            await self._dead_letter("share-import", f"{message.subject}: {error}", message.payload)
            return
        if not allowed:
            self.counters.refused += 1
            reason = f"{message.subject}: label {label!r} is not releasable to {self.nation}"
            await self._dead_letter("share-import", reason, message.payload)
            return
        if origin == self.nation:
            # Its own NATO item, back from the hub with everyone else's: it has it already.
            self.counters.own_returned += 1
            return
        headers = {LABEL_HEADER: label, ORIGIN_HEADER: origin}
        if message_id := message.headers.get(MESSAGE_ID_HEADER):
            headers[MESSAGE_ID_HEADER] = f"{message_id}<{self.nation}"
        await self.bus.publish(local, message.payload, headers)
        self.counters.accepted += 1
        self.counters.by_recipient[origin] += 1
