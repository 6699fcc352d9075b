"""The Cursor on Target gateway: verified orders to TAK units (ATAK, WinTAK) as tasking.

A unit that takes its orders on a TAK device gets each verified order as one CoT event of
type ``t-k`` (tasking, strike) sent by UDP to its CoT input (``endpoint``, e.g. ATAK's
``udp://<device>:4242``): the point is the aim point, ``stale`` the end of the effect window,
and the detail names the target track (``link``), the order in words (``remarks``) and the
whole signed order (``hotzone_order``, its JSON) so a plugin on the device can verify the
signature chain itself. Over ``tcp://`` or ``tls://`` (a TAK server's or the device's
streaming input) the gateway is a pytak client: it keeps one connection per unit, reads
the replies on it and reconnects when it drops (each reconnection counted). Over UDP the
unit answers with a CoT reply to the gateway's ``listen`` port:
``y-a`` (ack) linking the tasking's uid -> ``acknowledged``, ``y-c`` (tasking complete)
-> ``effect_observed``. No ack within the timeout -> ``timeout``, alert, ``failed``. An abort
sends ``t-x-d-d`` (delete) linking the tasking; its ``y-a`` -> ``aborted``.

Replies are parsed with defusedxml (no DTDs), at most ``MAX_REPLY_BYTES`` each; anything
else is counted and dropped (`CotLinkCounters`): a reply is never trusted for more than the
lifecycle step it names, and only for an order this gateway sent to that very address.
"""

from __future__ import annotations

import asyncio
import contextlib
import warnings
from collections.abc import Mapping
from configparser import ConfigParser
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from hotzone.runtime.effectors.base import (
    EffectorGateway,
    Engagement,
    GatewayOptions,
    Lifecycle,
    Publish,
    readiness,
)
from hotzone.runtime.effectors.config import EffectorLink
from hotzone.share.cot import COT_UNKNOWN, COT_VERSION, UID_PREFIX, cot_decimal, cot_time
from hotzone.types import to_json

MAX_REPLY_BYTES = 16 * 1024
TASKING_TYPE = "t-k"
"""CoT "Tasking / Strike" (CoTtypes.xml)."""
CANCEL_TYPE = "t-x-d-d"
"""CoT delete: the unit drops the tasking it links."""
ACK_TYPE = "y-a"
COMPLETE_TYPE = "y-c"


def tasking_uid(order_id: str) -> str:
    return f"{UID_PREFIX}order.{order_id}"


RECONNECT_DELAYS_S = (0.2, 0.5, 1.0, 2.0, 5.0)
"""Waits before each reconnection attempt to a unit's TCP/TLS endpoint (the last repeats)."""


@dataclass
class CotLinkCounters:
    sent: int = 0
    replies: int = 0
    dropped: int = 0
    """Replies that were not CoT, too large, from another address or about no tasking."""
    connects: int = 0
    """Connections made to a TCP/TLS endpoint (the first and every reconnection)."""
    reconnects: int = 0
    """Connections made again after one dropped."""
    connect_failures: int = 0
    """Attempts to connect that failed (refused, TLS, unreachable)."""
    disconnects: int = 0


@dataclass
class CotUnit:
    """One TAK unit: where its tasking goes, where its replies come from."""

    effector_id: str
    link: EffectorLink
    host: str = ""
    port: int = 0
    scheme: str = "udp"
    transport: asyncio.DatagramTransport | None = None
    listen_port: int = 0
    writer: asyncio.StreamWriter | None = None
    """The open TCP/TLS connection (None while there is none)."""
    last_reply: datetime | None = None
    counters: CotLinkCounters = field(default_factory=CotLinkCounters)
    replies_in_order: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held while one reply is taken: the next waits its turn (locks are first come)."""

    @property
    def streamed(self) -> bool:
        return self.scheme != "udp"


class _ReplyProtocol(asyncio.DatagramProtocol):
    def __init__(self, gateway: CotEffectorGateway, unit: CotUnit) -> None:
        self.gateway = gateway
        self.unit = unit

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.gateway.spawn(self.gateway._reply(self.unit, data, str(addr[0])))


def tasking_event(engagement: Engagement, callsign: str, now: datetime) -> bytes:
    """The CoT tasking of one verified order (schema: CoT Event-PUBLIC.xsd)."""
    order = engagement.order
    stale = order.effect_window_end or now + timedelta(minutes=10)
    event = Element(
        "event",
        {
            "version": COT_VERSION,
            "uid": tasking_uid(order.order_id),
            "type": TASKING_TYPE,
            "how": "h-e",
            "time": cot_time(now),
            "start": cot_time(now),
            "stale": cot_time(max(stale, now + timedelta(seconds=1))),
        },
    )
    SubElement(
        event,
        "point",
        {
            "lat": cot_decimal(engagement.aim.lat_deg),
            "lon": cot_decimal(engagement.aim.lon_deg),
            "hae": cot_decimal(engagement.aim.height_m),
            "ce": cot_decimal(engagement.proposal.position_tolerance_m),
            "le": COT_UNKNOWN,
        },
    )
    detail = SubElement(event, "detail")
    SubElement(detail, "contact", {"callsign": callsign})
    SubElement(
        detail,
        "link",
        {"uid": f"{UID_PREFIX}{order.track_id}", "relation": "t-k", "type": "a-h"},
    )
    remarks = SubElement(detail, "remarks")
    remarks.text = (
        f"ORDER {order.order_id}: {order.action} by {order.effector_id} on track "
        f"{order.track_id} ({engagement.proposal.target_class}); aim "
        f"{engagement.aim.lat_deg:.5f},{engagement.aim.lon_deg:.5f}; approved by "
        f"{', '.join(order.decision_ids)}; issued by {order.issuer}"
    )
    signed = SubElement(detail, "hotzone_order", {"format": "json"})
    signed.text = to_json(order).decode()
    document: bytes = tostring(event, encoding="utf-8", xml_declaration=False)
    return document


def cancel_event(engagement: Engagement, reason: str, now: datetime) -> bytes:
    """The CoT delete that withdraws an order's tasking (abort)."""
    order = engagement.order
    event = Element(
        "event",
        {
            "version": COT_VERSION,
            "uid": f"{tasking_uid(order.order_id)}.cancel",
            "type": CANCEL_TYPE,
            "how": "h-e",
            "time": cot_time(now),
            "start": cot_time(now),
            "stale": cot_time(now + timedelta(minutes=5)),
        },
    )
    SubElement(
        event,
        "point",
        {"lat": "0", "lon": "0", "hae": COT_UNKNOWN, "ce": COT_UNKNOWN, "le": COT_UNKNOWN},
    )
    detail = SubElement(event, "detail")
    SubElement(
        detail,
        "link",
        {"uid": tasking_uid(order.order_id), "relation": "none", "type": TASKING_TYPE},
    )
    remarks = SubElement(detail, "remarks")
    remarks.text = f"ABORT order {order.order_id}: {reason}"
    document: bytes = tostring(event, encoding="utf-8", xml_declaration=False)
    return document


class CotEffectorGateway(EffectorGateway):
    """Tasks TAK units over Cursor on Target and reads their acks."""

    interface = "cot"

    def __init__(
        self,
        links: Mapping[str, EffectorLink],
        publish: Publish,
        options: GatewayOptions | None = None,
        **overrides: Any,
    ) -> None:
        super().__init__(links, publish, options, **overrides)
        self.units: dict[str, CotUnit] = {}
        for effector_id, link in links.items():
            scheme, _, address = link.endpoint.partition("://")
            host, _, port = address.rpartition(":")
            self.units[effector_id] = CotUnit(
                effector_id, link, host.strip("[]"), int(port), scheme=scheme
            )
        self._cancels: dict[str, str] = {}  # cancel uid -> order id
        self._delivered: dict[str, asyncio.Event] = {}  # order id -> its delivered is out

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        for unit in self.units.values():
            if unit.streamed:
                self.spawn(self._keep_connected(unit))
                continue
            host, _, port = unit.link.listen.rpartition(":")
            transport, _ = await loop.create_datagram_endpoint(
                lambda unit=unit: _ReplyProtocol(self, unit),  # type: ignore[misc]
                local_addr=(host.strip("[]"), int(port)),
            )
            unit.transport = transport
            unit.listen_port = int(transport.get_extra_info("sockname")[1])

    async def close(self) -> None:
        await super().close()
        for unit in self.units.values():
            if unit.transport is not None:
                unit.transport.close()
            if unit.writer is not None:
                unit.writer.close()
                unit.writer = None

    def status(self) -> list[dict[str, str]]:
        rows = []
        for unit in self.units.values():
            active = self.active_orders(unit.effector_id)
            if unit.streamed:
                connected = unit.writer is not None
                connection = "connected" if connected else "not connected"
                ready = readiness(connected, len(active), 0)
            else:
                # UDP has no connection: a unit counts as reachable once it has answered.
                heard = unit.last_reply is not None
                connection = "connected" if heard else "not heard"
                ready = readiness(True, len(active), 0) if heard else "unknown"
            row = {
                "effector_id": unit.effector_id,
                "interface": self.interface,
                "address": f"{unit.link.endpoint} ({unit.link.callsign or unit.effector_id})",
                "connection": connection,
                "readiness": ready,
                "active_orders": ",".join(active),
            }
            if unit.streamed:
                row["reconnects"] = str(unit.counters.reconnects)
            rows.append(row)
        return rows

    # --- orders -----------------------------------------------------------------------

    def _send(self, unit: CotUnit, document: bytes) -> bool:
        try:
            if unit.streamed:
                if unit.writer is None or unit.writer.is_closing():
                    return False
                unit.writer.write(document)
            elif unit.transport is None:
                return False
            else:
                unit.transport.sendto(document, (unit.host, unit.port))
        except OSError:
            return False
        unit.counters.sent += 1
        return True

    # --- TCP / TLS ----------------------------------------------------------------------

    async def _connect(self, unit: CotUnit) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """One connection to the unit's endpoint, made by pytak (its TCP and TLS clients)."""
        with warnings.catch_warnings():
            # pytak warns at import about extras (certificate enrolment) not used here.
            warnings.simplefilter("ignore", UserWarning)
            import pytak  # noqa: PLC0415 (its import warns and is slow: only when used)

        config = ConfigParser(interpolation=None)
        section = {"COT_URL": unit.link.endpoint}
        if unit.scheme == "tls":
            section |= {
                "PYTAK_TLS_CLIENT_CERT": unit.link.tls_cert,
                "PYTAK_TLS_CLIENT_KEY": unit.link.tls_key or unit.link.tls_cert,
                "PYTAK_TLS_CLIENT_CAFILE": unit.link.tls_ca,
                "PYTAK_TLS_SERVER_EXPECTED_HOSTNAME": unit.host,
            }
        config["cot"] = section
        with warnings.catch_warnings():
            # pytak rules out TLS 1.0/1.1 with ssl's OP_NO_TLS* flags, which Python deprecates.
            warnings.simplefilter("ignore", DeprecationWarning)
            reader, writer = await pytak.protocol_factory(config["cot"])
        return reader, writer

    async def _keep_connected(self, unit: CotUnit) -> None:
        """Connect to a unit's TCP/TLS endpoint, read its replies, reconnect when the
        connection drops (counted; an order sent while it is down fails, never waits)."""
        failures = 0
        while True:
            try:
                reader, writer = await self._connect(unit)
            except Exception:  # refused, TLS, pytak's own config errors: try again
                unit.counters.connect_failures += 1
                delay = RECONNECT_DELAYS_S[min(failures, len(RECONNECT_DELAYS_S) - 1)]
                failures += 1
                await asyncio.sleep(delay)
                continue
            failures = 0
            if unit.counters.connects > 0:
                unit.counters.reconnects += 1
            unit.counters.connects += 1
            unit.writer = writer
            sender = str(unit.host)
            try:
                while True:
                    try:
                        data = await reader.readuntil(b"</event>")
                    except asyncio.LimitOverrunError:
                        unit.counters.dropped += 1  # a reply larger than a stream's buffer
                        break
                    await self._reply(unit, data.strip(), sender)
            except (asyncio.IncompleteReadError, ConnectionError, OSError):
                pass
            finally:
                unit.writer = None
                unit.counters.disconnects += 1
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()
            await asyncio.sleep(RECONNECT_DELAYS_S[0])

    async def deliver(self, engagement: Engagement) -> None:
        unit = self.units[engagement.effector_id]
        document = tasking_event(engagement, unit.link.callsign or unit.effector_id, self.clock())
        # The timer runs from before the send and a reply waits until ``delivered`` is
        # out: over a stream the unit's ack can arrive while that step is being published.
        sent = self._delivered[engagement.order_id] = asyncio.Event()
        self.await_ack(engagement, "tasking")
        if not self._send(unit, document):
            self.answered(engagement, "tasking")
            await self.fail(engagement, f"tasking to {unit.link.endpoint} could not be sent")
            sent.set()
            return
        await self.advance(
            engagement,
            Lifecycle.DELIVERED,
            f"CoT tasking {tasking_uid(engagement.order_id)} sent to {unit.link.endpoint}",
            cot_uid=tasking_uid(engagement.order_id),
        )
        sent.set()

    async def stop(self, engagement: Engagement, reason: str) -> None:
        unit = self.units[engagement.effector_id]
        document = cancel_event(engagement, reason, self.clock())
        self._cancels[f"{tasking_uid(engagement.order_id)}.cancel"] = engagement.order_id
        if not self._send(unit, document):
            await self.fail(engagement, "the cancel could not be sent", kind="stop_refused")
            return
        self.await_ack(engagement, "cancel")

    async def _reply(self, unit: CotUnit, data: bytes, sender: str) -> None:
        """One reply of a unit, taken in the order it arrived (``y-a`` before ``y-c``)."""
        async with unit.replies_in_order:
            await self._take_reply(unit, data, sender)

    async def _take_reply(self, unit: CotUnit, data: bytes, sender: str) -> None:
        found = self._parse(data)
        if found is None or sender != unit.host:
            unit.counters.dropped += 1
            return
        kind, linked = found
        cancelled = self._cancels.get(linked)
        order_id = cancelled or next(
            (o for o in self.engagements if tasking_uid(o) == linked), None
        )
        engagement = self.engagements.get(order_id or "")
        if engagement is None or engagement.effector_id != unit.effector_id:
            unit.counters.dropped += 1
            return
        unit.counters.replies += 1
        unit.last_reply = self.clock()
        delivered = self._delivered.get(engagement.order_id)
        if delivered is not None:
            await delivered.wait()
        if cancelled is not None:
            if kind == ACK_TYPE:
                self.answered(engagement, "cancel")
                await self.advance(engagement, Lifecycle.ABORTED, "the unit dropped the tasking")
            return
        if kind == ACK_TYPE:
            self.answered(engagement, "tasking")
            await self.advance(engagement, Lifecycle.ACKNOWLEDGED, "the unit acknowledged")
            await self.advance(engagement, Lifecycle.IN_PROGRESS, "the unit is on it")
        elif kind == COMPLETE_TYPE:
            self.answered(engagement, "tasking")
            await self.advance(
                engagement, Lifecycle.EFFECT_OBSERVED, "the unit reports the tasking complete"
            )

    @staticmethod
    def _parse(data: bytes) -> tuple[str, str] | None:
        """``(reply type, linked uid)`` of a CoT reply, or None."""
        if len(data) > MAX_REPLY_BYTES:
            return None
        with contextlib.suppress(DefusedXmlException, SyntaxError, ValueError):
            root = fromstring(data, forbid_dtd=True)
            kind = root.get("type", "")
            if root.tag != "event" or kind not in (ACK_TYPE, COMPLETE_TYPE):
                return None
            link = root.find("detail/link")
            if link is None or not link.get("uid"):
                return None
            return kind, str(link.get("uid"))
        return None
