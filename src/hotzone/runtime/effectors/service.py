"""`EffectorService`: the gateways on the bus.

It reads the nation's c2 subjects (orders, proposals, c2 state) and tracks, keeps what the
`OrderGuard` needs, hands each order for an effector it serves to that effector's gateway
once the guard accepts it, refuses it otherwise (dead letter and alert, nothing sent), and
on a global abort tells every gateway to stop what its effectors are doing. Orders for
effectors no gateway serves are left to their consumers (the effect model of a simulation).

Each effector's status (interface, address, connection, readiness, active orders) is
published as an `Event` of kind ``sensor_status`` from the effector's id (attribute
``role: effector``) when it changes and at least every ``status_refresh_s``: what
``hotzone effectors status`` and the page read.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from hotzone.bus import Bus, Subscription
from hotzone.c2.trust import NodeKey, gateway_key_for
from hotzone.geo import geodesic_distance_m
from hotzone.runtime.effectors.base import (
    Clock,
    EffectorGateway,
    Engagement,
    Lifecycle,
    OrderGuard,
    Publish,
    refusal,
    wall_clock,
)
from hotzone.runtime.routing import subject_for
from hotzone.runtime.services import decode_or_dead_letter
from hotzone.types import (
    AnyMessage,
    C2State,
    DeadLetter,
    Event,
    EventKind,
    Proposal,
    TaskOrder,
    Track,
    to_json,
)
from hotzone.types.subjects import c2_subject, subject_matches

REAIM_DISTANCE_M = 100.0
"""How far a target's track must move before an effector in flight is re-aimed."""


class EffectorService:
    """Runs the effector gateways of one nation on a bus."""

    def __init__(
        self,
        bus: Bus,
        nation: str,
        gateways: Sequence[EffectorGateway],
        guard: OrderGuard,
        *,
        clock: Clock = wall_clock,
        status_poll_s: float | None = 1.0,
        status_refresh_s: float = 30.0,
        releasability: str = "NATO",
        signer: NodeKey | None = None,
    ) -> None:
        """``signer``: the key the gateways sign lifecycle steps with (default: the
        nation's gateway key in ``$HOTZONE_HOME``, taken at `start`). ``status_poll_s``
        None: statuses only when `publish_status` is called (a stepped exercise calls it
        at each clock tick)."""
        self.bus = bus
        self.signer = signer
        #: Orders taken again after a restart that an earlier run had already acted on
        #: (its ``ordered`` step is on the nation's log): not sent again.
        self.resumed_orders: list[str] = []
        #: Order ids whose ``ordered`` step an earlier run signed (`deployment` reads them
        #: from the nation's log at start).
        self.acted_before: set[str] = set()
        self.status_poll_s = status_poll_s
        self.status_refresh_s = status_refresh_s
        self.releasability = releasability
        self._last_status: dict[str, tuple[dict[str, str], datetime]] = {}
        self.nation = nation
        self.gateways = list(gateways)
        self.guard = guard
        self.clock = clock
        self.refused: list[DeadLetter] = []
        #: What the service reads while it runs (a stepped exercise waits until it is empty).
        self.subscription: Subscription | None = None
        self._by_effector: dict[str, EffectorGateway] = {}
        for gateway in self.gateways:
            for effector_id in gateway.effector_ids:
                if effector_id in self._by_effector:
                    raise ValueError(f"effector {effector_id} has two gateways")
                self._by_effector[effector_id] = gateway
        self._inputs = (
            c2_subject(nation, "order"),
            c2_subject(nation, "proposal"),
            c2_subject(nation, "state"),
            f"hz.{nation}.trk.>",
        )

    async def publish(self, message: AnyMessage) -> None:
        await self.bus.publish(subject_for(message, self.nation), to_json(message))

    async def start(self) -> None:
        if self.signer is None:
            self.signer = gateway_key_for(self.nation)
        for gateway in self.gateways:
            if gateway.signer is None:
                gateway.signer = self.signer
            await gateway.start()

    async def close(self) -> None:
        for gateway in self.gateways:
            await gateway.close()

    async def run(
        self, ready: asyncio.Event | None = None, subscription: Subscription | None = None
    ) -> None:
        """Serve until the bus closes (or the task is cancelled); ``subscription``: what
        to read (a durable consumer, `deployment`), else the nation's subjects from now."""
        if subscription is None:
            subscription = await self.bus.subscribe(f"hz.{self.nation}.>", 8192)
        self.subscription = subscription
        reporter = (
            asyncio.create_task(self._report_status()) if self.status_poll_s is not None else None
        )
        if ready is not None:
            ready.set()
        try:
            async for bus_message in subscription:
                if not any(subject_matches(p, bus_message.subject) for p in self._inputs):
                    continue
                message = decode_or_dead_letter(bus_message, "effectors")
                await self.take(message)
        finally:
            if reporter is not None:
                reporter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reporter
            await subscription.unsubscribe()

    async def _report_status(self) -> None:
        assert self.status_poll_s is not None
        while True:
            await self.publish_status()
            await asyncio.sleep(self.status_poll_s)

    async def publish_status(self, force: bool = False) -> list[Event]:
        """Publish each effector's status that changed (or is due for a refresh)."""
        now = self.clock()
        published = []
        for gateway in self.gateways:
            for row in gateway.status():
                effector_id = row["effector_id"]
                last = self._last_status.get(effector_id)
                due = last is None or (now - last[1]).total_seconds() >= self.status_refresh_s
                if not force and not due and last is not None and last[0] == row:
                    continue
                self._last_status[effector_id] = (row, now)
                event = Event(
                    event_id=f"effector-status:{effector_id}:{now.timestamp():.6f}",
                    time=now,
                    source_id=effector_id,
                    kind=EventKind.SENSOR_STATUS,
                    severity=2 if row.get("connection") == "connected" else 5,
                    summary=(
                        f"effector {effector_id} ({row.get('interface', '?')}) "
                        f"{row.get('connection', '?')}, {row.get('readiness', '?')}"
                    ),
                    attributes={"role": "effector", "state": row.get("connection", ""), **row},
                    releasability=self.releasability,
                )
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await self.publish(event)  # the bus may be closing
                published.append(event)
        return published

    def recall(self, message: AnyMessage) -> None:
        """A message handled before a restart (a durable consumer's history): what the
        guard keeps is kept again, an order is never acted on again (nothing is sent)."""
        if isinstance(message, Proposal | Track | C2State):
            self.guard.take(message)
        elif isinstance(message, TaskOrder):
            self.guard.accepted.add(message.order_id)

    async def take(self, message: AnyMessage) -> None:
        """One message from the bus."""
        if isinstance(message, Proposal | Track):
            self.guard.take(message)
            if isinstance(message, Track):
                await self._follow(message)
        elif isinstance(message, C2State):
            was_aborted = self.guard.abort_active
            self.guard.take(message)
            if message.abort_active and not was_aborted:
                reason = f"global abort by {message.changed_by or 'c2'}"
                if message.reason:
                    reason += f": {message.reason}"
                for gateway in self.gateways:
                    await gateway.abort(reason)
        elif isinstance(message, TaskOrder):
            await self._take_order(message)

    async def _follow(self, track: Track) -> None:
        """Re-aim engagements in progress on ``track`` while it stays within the tolerance
        of the approved aim point (`OrderGuard.aim`); beyond it the approved point holds."""
        for gateway in self.gateways:
            for engagement in list(gateway.engagements.values()):
                if (
                    engagement.order.track_id != track.track_id
                    or engagement.state is not Lifecycle.IN_PROGRESS
                    or engagement.stopping
                ):
                    continue
                aim, source = self.guard.aim(engagement.proposal)
                moved = geodesic_distance_m(
                    [aim.lat_deg], [aim.lon_deg], [engagement.aim.lat_deg], [engagement.aim.lon_deg]
                )[0]
                if source == "track" and float(moved) >= REAIM_DISTANCE_M:
                    await gateway.reaim(engagement, aim)

    async def _take_order(self, order: TaskOrder) -> None:
        gateway = self._by_effector.get(order.effector_id)
        if gateway is None:
            return  # not an effector these gateways reach
        if order.order_id in self.acted_before:
            # Redelivered after a restart, but an earlier run of these gateways already
            # published its ``ordered`` step: at most once, never a second engagement.
            self.acted_before.discard(order.order_id)
            self.guard.accepted.add(order.order_id)
            self.resumed_orders.append(order.order_id)
            return
        now = self.clock()
        proposal, reason = self.guard.check(order, now)
        if proposal is None:
            for output in refusal(order, gateway.interface, reason, now):
                if isinstance(output, DeadLetter):
                    self.refused.append(output)
                await self.publish(output)
            return
        aim, aim_source = self.guard.aim(proposal)
        await gateway.engage(Engagement(order, proposal, aim, aim_source))


def bus_publisher(bus: Bus, nation: str) -> Publish:
    """Publish a message on its subject of ``nation`` (what gateways are given)."""

    async def publish(message: AnyMessage) -> None:
        await bus.publish(subject_for(message, nation), to_json(message))

    return publish


@dataclass
class RunningService:
    """An `EffectorService` started and reading the bus (`start_effector_service`)."""

    service: EffectorService
    runner: asyncio.Task[None]

    async def close(self) -> None:
        self.runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.runner
        await self.service.close()


async def start_effector_service(
    service: EffectorService, subscription: Subscription | None = None
) -> RunningService:
    """Start the service's gateways and its reading of the bus (``subscription``, default
    the nation's subjects from now); return once it reads (an order published after this is
    seen). What the exercise and a deployment both run."""
    await service.start()
    ready = asyncio.Event()
    runner = asyncio.create_task(service.run(ready, subscription))
    await ready.wait()
    return RunningService(service, runner)
