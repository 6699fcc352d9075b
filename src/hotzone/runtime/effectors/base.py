"""What every effector gateway shares: the order check before anything is sent, and the
order's lifecycle on the bus.

`OrderGuard` is the check (docs/c2.md): an order is acted on only when its
signature verifies against the nation's trusted c2 node keys (`order_fault`), its id was
never accepted before, the abort state is known and no abort holds, its effect window is
still open, and the proposal it names is at hand with that very content hash and the same
effector (the proposal gives the aim point). Anything else is refused before a byte goes to
the effector: a `DeadLetter` on ``hz.<N>.dead.order_<interface>`` with the reason, and an
operator alert.

`EffectorGateway` is the base of each interface's gateway. An accepted order becomes an
`Engagement` whose lifecycle

    ordered -> delivered -> acknowledged | rejected -> in_progress
            -> effect_observed | failed | aborted

is published step by step as `Event`\\ s (kind ``observation``, attributes ``order_id``,
``effector_id``, ``interface``, ``lifecycle`` and the step's details), with ``timeout``
events when an effector does not answer in time; timeouts, rejections, failures and aborts
also raise a priority-1 operator `Alert`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec

from hotzone.c2.trust import NodeKey
from hotzone.geo import geodesic_distance_m
from hotzone.types import (
    Alert,
    AnyMessage,
    C2State,
    DeadLetter,
    Event,
    EventKind,
    GeoPoint,
    Proposal,
    TaskOrder,
    Track,
    TrackStatus,
    to_json,
)
from hotzone.types.signing import (
    SIGNATURE_ATTRIBUTE,
    SIGNER_ATTRIBUTE,
    lifecycle_signing_bytes,
    order_fault,
    proposal_content_hash,
)

Publish = Callable[[AnyMessage], Awaitable[None]]
Clock = Callable[[], datetime]


def wall_clock() -> datetime:
    return datetime.now(UTC)


def signed_lifecycle(event: Event, key: NodeKey) -> Event:
    """``event`` signed by the gateway's key (``signer_key_id``, ``signature``
    attributes; `hotzone.types.signing.lifecycle_fault` is c2's check)."""
    attributes = {**event.attributes, SIGNER_ATTRIBUTE: key.key_id}
    attributes.pop(SIGNATURE_ATTRIBUTE, None)
    unsigned = msgspec.structs.replace(event, attributes=attributes)
    signature = key.sign(lifecycle_signing_bytes(unsigned))
    return msgspec.structs.replace(
        unsigned, attributes={**attributes, SIGNATURE_ATTRIBUTE: signature}
    )


class Lifecycle(enum.StrEnum):
    """The steps of an order at an effector (``lifecycle`` attribute of its events)."""

    ORDERED = "ordered"
    DELIVERED = "delivered"
    ACKNOWLEDGED = "acknowledged"
    REJECTED = "rejected"
    IN_PROGRESS = "in_progress"
    EFFECT_OBSERVED = "effect_observed"
    FAILED = "failed"
    ABORTED = "aborted"
    TIMEOUT = "timeout"


#: States after which nothing more is sent for an order.
FINAL = frozenset({Lifecycle.REJECTED, Lifecycle.FAILED, Lifecycle.ABORTED})

_SEVERITY = {
    Lifecycle.ORDERED: 3,
    Lifecycle.DELIVERED: 3,
    Lifecycle.ACKNOWLEDGED: 3,
    Lifecycle.IN_PROGRESS: 4,
    Lifecycle.EFFECT_OBSERVED: 6,
    Lifecycle.REJECTED: 7,
    Lifecycle.FAILED: 7,
    Lifecycle.ABORTED: 7,
    Lifecycle.TIMEOUT: 7,
}


@dataclass
class Engagement:
    """One accepted order at one effector, and where it stands."""

    order: TaskOrder
    proposal: Proposal
    aim: GeoPoint
    aim_source: str
    state: Lifecycle = Lifecycle.ORDERED
    history: list[tuple[Lifecycle, datetime]] = field(default_factory=list)
    stopping: bool = False
    """An abort was sent and waits for the effector's confirmation."""
    detail: dict[str, str] = field(default_factory=dict)

    @property
    def order_id(self) -> str:
        return self.order.order_id

    @property
    def effector_id(self) -> str:
        return self.order.effector_id

    @property
    def final(self) -> bool:
        return self.state in FINAL


@dataclass
class OrderGuard:
    """Decides whether an order may reach an effector; remembers what it needs to.

    ``require_c2_state``: refuse orders until c2's state (abort or not) has been seen, so a
    gateway that started after an abort never acts on an order it cannot place.
    """

    trusted_issuers: Mapping[str, bytes]
    require_c2_state: bool = True
    abort_active: bool | None = None
    accepted: set[str] = field(default_factory=set)
    proposals: dict[str, Proposal] = field(default_factory=dict)
    tracks: dict[str, Track] = field(default_factory=dict)

    def take(self, message: AnyMessage) -> None:
        """What the guard keeps from the bus: c2 state, proposals (by verified hash), tracks."""
        if isinstance(message, C2State):
            self.abort_active = message.abort_active
        elif isinstance(message, Proposal):
            # Kept only under its true hash: a proposal altered on the bus is never found.
            if proposal_content_hash(message) == message.content_hash:
                self.proposals[message.content_hash] = message
        elif isinstance(message, Track):
            if message.status is TrackStatus.DELETED:
                self.tracks.pop(message.track_id, None)
            else:
                self.tracks[message.track_id] = message

    def check(self, order: TaskOrder, now: datetime) -> tuple[Proposal | None, str]:
        """The order's proposal when it may be acted on (and the order is taken), else the
        reason for refusing it."""
        fault = order_fault(order, self.trusted_issuers)
        if fault is not None:
            return None, fault
        if order.order_id in self.accepted:
            return None, f"order {order.order_id} was received before: a replay"
        if self.abort_active is None and self.require_c2_state:
            return None, f"order {order.order_id} refused: c2's abort state is not known yet"
        if self.abort_active:
            return None, f"order {order.order_id} refused: a global abort is in force"
        if order.effect_window_end is not None and now > order.effect_window_end:
            return None, (
                f"order {order.order_id} expired at {order.effect_window_end.isoformat()}"
            )
        proposal = self.proposals.get(order.proposal_hash)
        if proposal is None or proposal.effector_id != order.effector_id:
            return None, (
                f"order {order.order_id} matches no proposal {order.proposal_hash[:12]} "
                f"for {order.effector_id}"
            )
        self.accepted.add(order.order_id)
        return proposal, ""

    def aim(self, proposal: Proposal) -> tuple[GeoPoint, str]:
        """Where to send the effect: the track's latest position while it stays within the
        proposal's tolerance of the approved aim point, else the approved aim point."""
        track = self.tracks.get(proposal.track_id)
        approved = proposal.target_position
        if track is not None:
            distance = float(
                geodesic_distance_m(
                    [approved.lat_deg],
                    [approved.lon_deg],
                    [track.position.lat_deg],
                    [track.position.lon_deg],
                )[0]
            )
            if distance <= proposal.position_tolerance_m:
                return track.position, "track"
        return approved, "proposal"


def readiness(connected: bool, active: int, limit: int) -> str:
    """``ready`` (connected, room for another order), ``busy`` (connected, at its limit of
    concurrent orders) or ``unavailable`` (not connected)."""
    if not connected:
        return "unavailable"
    return "busy" if limit > 0 and active >= limit else "ready"


@dataclass(frozen=True)
class GatewayOptions:
    """What every interface's gateway is given besides its effectors' links.

    ``ack_timeout_s``: how long an acknowledgement may take (a SAPIENT TaskAck, a MAVLink
    COMMAND_ACK, a CoT ``y-a``); ``clock``: the gateway's time (a simulation's in an
    exercise); ``releasability``: the label of what it publishes about its effectors;
    ``command_retries`` and ``heartbeat_timeout_s``: MAVLink's retransmissions and link
    supervision; ``signer``: the key lifecycle steps are signed with (`EffectorService`
    gives its gateways the nation's gateway key when this is None).
    """

    ack_timeout_s: float = 10.0
    clock: Clock = wall_clock
    releasability: str = "NATO"
    command_retries: int = 3
    heartbeat_timeout_s: float = 3.0
    signer: NodeKey | None = None


def gateway_options(options: GatewayOptions | None, overrides: Mapping[str, Any]) -> GatewayOptions:
    """``options`` (default `GatewayOptions`) with the fields named in ``overrides`` set;
    an unknown name is a `TypeError`, as for any keyword argument."""
    return dataclasses.replace(options or GatewayOptions(), **overrides)


class EffectorGateway(ABC):
    """The base of one interface's gateway (SAPIENT, MAVLink, ...).

    Subclasses transmit (`deliver`), stop (`stop`) and report what their effectors say
    through `advance`; the base publishes each lifecycle step and the alerts, and runs the
    acknowledgement timers.
    """

    interface: str = ""

    def __init__(
        self,
        effector_ids: Iterable[str],
        publish: Publish,
        options: GatewayOptions | None = None,
        **overrides: Any,
    ) -> None:
        """``overrides``: fields of `GatewayOptions` given one by one (``ack_timeout_s=2``)
        instead of, or on top of, ``options``."""
        self.options = gateway_options(options, overrides)
        self.effector_ids = frozenset(effector_ids)
        self.publish = publish
        self.ack_timeout_s = self.options.ack_timeout_s
        self.clock = self.options.clock
        self.releasability = self.options.releasability
        #: Signs each lifecycle step (c2 believes only steps a trusted gateway key
        #: signed); `EffectorService` gives its gateways the nation's gateway key.
        self.signer: NodeKey | None = self.options.signer
        self.engagements: dict[str, Engagement] = {}
        self._timers: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # --- what each interface provides -------------------------------------------------

    async def start(self) -> None:  # noqa: B027 (an interface without sockets of its own)
        """Open the interface's sockets."""

    async def close(self) -> None:
        """Close the interface; timers and background work stop."""
        for task in [*self._timers.values(), *self._tasks]:
            task.cancel()
        for task in [*self._timers.values(), *self._tasks]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._timers.clear()
        self._tasks.clear()

    @abstractmethod
    async def deliver(self, engagement: Engagement) -> None:
        """Transmit an accepted order to its effector and advance it to ``delivered`` (or
        ``failed`` with the reason when it cannot be carried)."""

    @abstractmethod
    async def stop(self, engagement: Engagement, reason: str) -> None:
        """Abort: tell the effector to stop this engagement (STOP, return to launch)."""

    async def reaim(self, engagement: Engagement, aim: GeoPoint) -> None:
        """The target's track moved (within the proposal's tolerance): aim there from now
        on. Interfaces that can redirect an effector in flight override this."""
        engagement.aim = aim

    def stoppable(self, engagement: Engagement) -> bool:
        """Whether an abort must be sent for this engagement (something was delivered and
        the effector has not finished or refused it)."""
        return (
            not engagement.final
            and not engagement.stopping
            and any(state is Lifecycle.DELIVERED for state, _ in engagement.history)
        )

    def active_orders(self, effector_id: str) -> list[str]:
        """The orders of ``effector_id`` not yet at a final state, for `status`."""
        return [
            e.order_id
            for e in self.engagements.values()
            if e.effector_id == effector_id
            and not e.final
            and e.state is not Lifecycle.EFFECT_OBSERVED
        ]

    def status(self) -> list[dict[str, str]]:
        """Each effector's row for ``hotzone effectors status``: ``effector_id``,
        ``interface``, ``address``, ``connection``, ``readiness`` (`readiness`) and
        ``active_orders`` (comma-separated), plus what the interface adds."""
        return []

    # --- shared machinery -------------------------------------------------------------

    async def engage(self, engagement: Engagement) -> None:
        """An accepted order: published as ``ordered``, then delivered."""
        self.engagements[engagement.order_id] = engagement
        await self.advance(
            engagement,
            Lifecycle.ORDERED,
            f"order {engagement.order_id} accepted for {engagement.effector_id}",
            aim=f"{engagement.aim.lat_deg:.6f},{engagement.aim.lon_deg:.6f}",
            aim_source=engagement.aim_source,
        )
        await self.deliver(engagement)

    async def abort(self, reason: str) -> None:
        """A global abort: stop every engagement the effectors may be acting on."""
        for engagement in list(self.engagements.values()):
            if self.stoppable(engagement):
                engagement.stopping = True
                await self.alert(
                    engagement,
                    "abort",
                    f"ABORT: {engagement.effector_id} told to stop order "
                    f"{engagement.order_id} ({reason})",
                )
                await self.stop(engagement, reason)

    async def advance(
        self, engagement: Engagement, state: Lifecycle, summary: str, **attributes: str
    ) -> None:
        """Publish one lifecycle step of an engagement (once per state)."""
        if state is not Lifecycle.TIMEOUT:
            if any(seen is state for seen, _ in engagement.history) or engagement.final:
                return
            engagement.state = state
        now = self.clock()
        engagement.history.append((state, now))
        order = engagement.order
        event = Event(
            event_id=f"order:{order.order_id}:{state}:{len(engagement.history)}",
            time=now,
            source_id=f"effectors-{self.interface}",
            kind=EventKind.OBSERVATION,
            severity=_SEVERITY[state],
            summary=f"{engagement.effector_id}: {summary}",
            subject_id=order.track_id,
            position=engagement.aim,
            attributes={
                "order_id": order.order_id,
                "effector_id": order.effector_id,
                "track_id": order.track_id,
                "interface": self.interface,
                "lifecycle": str(state),
                **attributes,
            },
            releasability=order.releasability,
        )
        if self.signer is not None:
            event = signed_lifecycle(event, self.signer)
        await self.publish(event)
        if state in FINAL:
            self.cancel_timers(engagement)

    async def alert(self, engagement: Engagement, kind: str, summary: str) -> None:
        """A priority-1 operator alert about an engagement."""
        now = self.clock()
        order = engagement.order
        await self.publish(
            Alert(
                alert_id=f"effector:{order.order_id}:{kind}:{len(engagement.history)}",
                time=now,
                kind=f"effector_{kind}",
                summary=summary,
                priority=1,
                track_id=order.track_id,
                position=engagement.aim,
                reasons=(f"order {order.order_id}", f"effector {order.effector_id}"),
                releasability=order.releasability,
            )
        )

    async def fail(self, engagement: Engagement, reason: str, kind: str = "failed") -> None:
        """The engagement cannot go on: ``failed`` with the reason, and an operator alert."""
        if engagement.final:
            return
        await self.advance(engagement, Lifecycle.FAILED, reason, reason=reason)
        await self.alert(engagement, kind, f"{engagement.effector_id}: {reason}")

    def await_ack(
        self,
        engagement: Engagement,
        what: str,
        on_timeout: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """Start the timer for ``what`` (e.g. ``task``, ``stop``): unless `answered` is
        called first, a ``timeout`` event, an alert and ``on_timeout`` (default: failed)."""
        key = (engagement.order_id, what)
        previous = self._timers.pop(key, None)
        if previous is not None:
            previous.cancel()
        self._timers[key] = asyncio.create_task(self._expire(engagement, what, on_timeout))

    def answered(self, engagement: Engagement, what: str) -> None:
        timer = self._timers.pop((engagement.order_id, what), None)
        if timer is not None:
            timer.cancel()

    def cancel_timers(self, engagement: Engagement) -> None:
        for key in [key for key in self._timers if key[0] == engagement.order_id]:
            timer = self._timers.pop(key)
            if timer is not asyncio.current_task():
                timer.cancel()

    def spawn(self, work: Awaitable[None]) -> None:
        """Run ``work`` in the background until the gateway closes."""

        async def run() -> None:
            await work

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _expire(
        self,
        engagement: Engagement,
        what: str,
        on_timeout: Callable[[], Awaitable[None]] | None,
    ) -> None:
        await asyncio.sleep(self.ack_timeout_s)
        self._timers.pop((engagement.order_id, what), None)
        reason = f"no acknowledgement of the {what} within {self.ack_timeout_s:g} s"
        await self.advance(engagement, Lifecycle.TIMEOUT, reason, waiting_for=what)
        await self.alert(engagement, "timeout", f"{engagement.effector_id}: {reason}")
        if on_timeout is not None:
            await on_timeout()
        else:
            await self.fail(engagement, reason, kind="timeout_failed")


def refusal(order: TaskOrder, interface: str, reason: str, time: datetime) -> list[AnyMessage]:
    """What a refused order becomes: a dead letter with the reason, and an operator alert."""
    return [
        DeadLetter(
            time=time,
            source=f"order/{interface}",
            reason=reason,
            raw=to_json(order),
            releasability=order.releasability,
        ),
        Alert(
            alert_id=f"effector:refused:{order.order_id}:{time.timestamp():.6f}",
            time=time,
            kind="effector_order_refused",
            summary=f"order for {order.effector_id} refused by the {interface} gateway: {reason}",
            priority=2,
            track_id=order.track_id or None,
            reasons=(reason,),
            releasability=order.releasability,
        ),
    ]
