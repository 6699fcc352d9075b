"""c2 puts what the effector gateways report on its audit record, and each fault has its
documented state and operator alert (docs/effectors.md, "What c2 records").

The real chain on one bus: c2's `ResponseStage` run by the runtime's `StageService` (clock
ticks from the test), its orders approved by two signed decisions, the SAPIENT gateway and
a third-party ``sapient-py`` effector node in its own process that behaves as each fault
needs (never acks, rejects, disconnects mid-task, obeys and is then aborted). The same
order published again (a duplicate id) is refused by the gateway and sends nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

from hotzone.bus import Bus, InProcessBus, NatsBus
from hotzone.bus.nats import nation_streams
from hotzone.c2.audit import AuditKind, verify_chain
from hotzone.c2.authority import ABORT_HASH
from hotzone.c2.config import load_c2_spec
from hotzone.c2.trust import NodeKey
from hotzone.runtime.effectors.base import OrderGuard, signed_lifecycle
from hotzone.runtime.effectors.config import (
    EffectorLink,
    Interface,
    SapientNodeType,
    load_gateway_spec,
)
from hotzone.runtime.effectors.sapient import SapientEffectorGateway
from hotzone.runtime.effectors.service import EffectorService, bus_publisher
from hotzone.runtime.sapient_server import SapientServer
from hotzone.runtime.services import RecorderService, StageService, encode_tick
from hotzone.runtime.sources import SourcePublisher
from hotzone.runtime.stages import build_stages, response_stage
from hotzone.sim.scenario import load_scenario
from hotzone.store import Store
from hotzone.types import (
    Alert,
    AuditRecord,
    DeadLetter,
    Event,
    EventKind,
    GeoPoint,
    Proposal,
    ProposalStatus,
    RunMode,
    TaskOrder,
    Verdict,
)
from tests.c2.factories import Crew, make_assessment, make_track
from tests.federation.servers import running_standalone
from tests.runtime.effectors.rig import (
    C2_NODE,
    GATEWAY_KEY,
    HANG_GUARD_S,
    TRUSTED,
    TRUSTED_GATEWAYS,
    BusWatch,
    Peer,
    new_node_id,
)

EFFECTOR = "icpt-suwalki"
DEAD = "hz.PL.dead.c2_lifecycle"
# A one-way attack drone over Poland, 14 km east of the Suwałki garrison, flying west.
THREAT = GeoPoint(lat_deg=54.09, lon_deg=23.17, height_m=300.0)


@dataclass
class Loop:
    bus: InProcessBus
    watch: BusWatch
    crew: Crew

    async def tick(self) -> None:
        now = datetime.now(UTC).timestamp()
        await self.bus.publish("hz.PL.clock", encode_tick(now))

    async def threat(self, position: GeoPoint = THREAT) -> Proposal:
        """A hostile drone near Suwałki: c2 proposes its one effector against it."""
        time = datetime.now(UTC)
        track = msgspec.structs.replace(
            make_track(time=time, position=position), enu_velocity_mps=(-50.0, 0.0, 0.0)
        )
        await self.watch.publish("hz.PL.trk.suwalki", track)
        await self.watch.publish("hz.PL.assessment", make_assessment(time=time))
        await self.tick()
        await self.watch.until(lambda: bool(self.watch.of_type(Proposal)))
        return self.watch.of_type(Proposal)[0]

    async def approve(self, proposal: Proposal) -> TaskOrder:
        for key in (self.crew.commander, self.crew.operator):
            decision = key.decide(proposal.content_hash, Verdict.APPROVE, datetime.now(UTC))
            await self.watch.publish("hz.PL.c2.decision", decision)
        await self.tick()
        await self.watch.until(lambda: bool(self.watch.of_type(TaskOrder)))
        return self.watch.of_type(TaskOrder)[0]

    async def until(self, predicate: Callable[[], bool]) -> None:
        """Ticks c2 (it takes what arrived at each tick) until ``predicate`` holds."""

        async def wait() -> None:
            while not predicate():
                await self.tick()
                await asyncio.sleep(0.05)

        await asyncio.wait_for(wait(), HANG_GUARD_S)

    async def until_engagement(self, order: TaskOrder, state: str) -> None:
        """Until c2's proposal status shows the order's engagement ``state``."""
        await self.until(
            lambda: any(
                s.order_id == order.order_id and s.engagement == state
                for s in self.watch.of_type(ProposalStatus)
            )
        )

    def effector_records(self, order: TaskOrder) -> list[AuditRecord]:
        return [
            r
            for r in self.watch.of_type(AuditRecord)
            if r.kind == AuditKind.EFFECTOR and order.order_id in r.payload
        ]

    def recorded_steps(self, order: TaskOrder) -> list[str]:
        steps = []
        for record in self.effector_records(order):
            payload = json.loads(record.payload)
            if payload.get("type") == "event":
                steps.append(payload["attributes"]["lifecycle"])
        return steps

    def recorded_alerts(self, order: TaskOrder) -> list[str]:
        return [
            json.loads(r.payload)["kind"]
            for r in self.effector_records(order)
            if json.loads(r.payload).get("type") == "alert"
        ]

    def alerts(self, kind: str) -> list[Alert]:
        return [a for a in self.watch.of_type(Alert) if a.kind == kind]


@contextlib.asynccontextmanager
async def c2_alone(
    bus: Bus, *, gateway_effectors: tuple[str, ...] = (), delivery_timeout_s: float = 30.0
) -> AsyncIterator[Loop]:
    """c2 alone on ``bus`` (only ``EFFECTOR`` to plan with), run by the runtime's
    `StageService`, trusting the test's gateway key."""
    crew = Crew()
    watch = BusWatch(bus)  # type: ignore[arg-type]
    await watch.start()
    full = load_c2_spec("suwalki-drones")
    spec = msgspec.structs.replace(
        full, effectors=tuple(e for e in full.effectors if e.id == EFFECTOR)
    )
    bus_stage, _ = response_stage(
        spec,
        crew.registry,
        load_scenario("suwalki-drones"),
        mode=RunMode.LIVE,
        nation="PL",
        node_key=C2_NODE,
        trusted_gateways=TRUSTED_GATEWAYS,
        gateway_effectors=gateway_effectors,
        delivery_timeout_s=delivery_timeout_s,
    )
    ready = asyncio.Event()
    runner = asyncio.create_task(StageService(bus_stage, bus, "PL").run(ready))
    await ready.wait()
    try:
        yield Loop(bus, watch, crew)  # type: ignore[arg-type]
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
        await watch.close()


@contextlib.asynccontextmanager
async def c2_with_a_sapient_effector(
    behaviour: str,
    *,
    effector: str = EFFECTOR,
    link: EffectorLink | None = None,
    commands: str = "move_to",
    store: Store | None = None,
    gateway_effectors: tuple[str, ...] = (),
    delivery_timeout_s: float = 30.0,
) -> AsyncIterator[tuple[Loop, Peer]]:
    """c2 (only ``effector`` to plan with), the SAPIENT gateway with ``effector``'s node
    (``link``, default a new mobile node), the node as a peer and, with ``store``, the
    run's recorder."""
    crew = Crew()
    bus = InProcessBus()
    watch = BusWatch(bus)
    await watch.start()
    full = load_c2_spec("suwalki-drones")
    # Only this effector: c2 proposes it and nothing else for the threat.
    spec = msgspec.structs.replace(
        full, effectors=tuple(e for e in full.effectors if e.id == effector)
    )
    bus_stage, _ = response_stage(
        spec,
        crew.registry,
        load_scenario("suwalki-drones"),
        mode=RunMode.LIVE,
        nation="PL",
        node_key=C2_NODE,
        trusted_gateways=TRUSTED_GATEWAYS,
        gateway_effectors=gateway_effectors,
        delivery_timeout_s=delivery_timeout_s,
    )
    c2 = StageService(bus_stage, bus, "PL")
    if link is None:
        link = EffectorLink(
            interface=Interface.SAPIENT,
            node_id=new_node_id(),
            node_type=SapientNodeType.MOBILE_NODE,
        )
    assert link.node_type is not None
    server = SapientServer(SourcePublisher(bus, "PL"), host="127.0.0.1", port=0)
    gateway = SapientEffectorGateway(
        server, {effector: link}, bus_publisher(bus, "PL"), ack_timeout_s=1.0
    )
    service = EffectorService(
        bus, "PL", [gateway], OrderGuard(TRUSTED), status_poll_s=0.1, signer=GATEWAY_KEY
    )
    await server.start()
    await service.start()
    ready = [asyncio.Event(), asyncio.Event()]
    runners = [
        asyncio.create_task(c2.run(ready[0])),
        asyncio.create_task(service.run(ready[1])),
    ]
    if store is not None:
        ready.append(asyncio.Event())
        runners.append(asyncio.create_task(RecorderService(bus, store, "PL").run(ready[2])))
    for event in ready:
        await event.wait()
    peer = await Peer.start(
        "sapient_effector_node.py",
        "--port",
        str(server.port),
        "--node-id",
        link.node_id,
        "--node-type",
        str(link.node_type).upper(),
        "--commands",
        commands,
        "--behaviour",
        behaviour,
    )
    try:
        await peer.wait_for(event="ready")
        yield Loop(bus, watch, crew), peer
    finally:
        await peer.stop()
        await service.close()
        await server.close()
        await bus.close()
        for runner in runners:
            with contextlib.suppress(asyncio.CancelledError):
                await runner
        await watch.close()


FAULTS = {
    # behaviour: (lifecycle recorded, engagement state shown, alert kinds recorded)
    "silent": (
        ["ordered", "delivered", "timeout", "failed"],
        "failed",
        ["effector_timeout", "effector_timeout_failed"],
    ),
    "reject": (["ordered", "delivered", "rejected"], "rejected", ["effector_rejected"]),
    "disconnect": (
        ["ordered", "delivered", "acknowledged", "in_progress", "failed"],
        "failed",
        ["effector_disconnected"],
    ),
}


@pytest.mark.parametrize("behaviour", list(FAULTS))
def test_each_effector_fault_is_audited_shown_and_alerted_once(behaviour: str) -> None:
    steps, engagement, alert_kinds = FAULTS[behaviour]

    async def scenario() -> None:
        async with c2_with_a_sapient_effector(behaviour) as (loop, peer):
            proposal = await loop.threat()
            assert proposal.effector_id == EFFECTOR
            order = await loop.approve(proposal)
            await loop.until_engagement(order, engagement)
            await loop.until(lambda: sorted(loop.recorded_alerts(order)) == sorted(alert_kinds))
            assert loop.recorded_steps(order) == steps
            for kind in alert_kinds:
                (alert,) = loop.alerts(kind)
                assert alert.priority == 1 and alert.track_id == order.track_id

            # The same order id again: refused by the gateway, nothing sent twice; c2
            # records the replay and the gateway's refusal alert.
            await loop.watch.publish("hz.PL.c2.order", order)
            await loop.until(lambda: "effector_order_refused" in loop.recorded_alerts(order))
            assert "a replay" in loop.alerts("effector_order_refused")[0].summary
            assert any(
                r.kind == AuditKind.REFUSAL and "replayed on the bus" in r.payload
                for r in loop.watch.of_type(AuditRecord)
            )
            await loop.tick()
            await asyncio.sleep(0.2)
            assert len(peer.seen(event="task", control="START")) == 1
            # Each report on the record once, however often c2 stepped.
            assert loop.recorded_steps(order) == steps
            assert verify_chain(loop.watch.of_type(AuditRecord)) is None

    asyncio.run(scenario())


def test_an_abort_during_the_task_stops_it_and_c2_records_the_stop() -> None:
    async def scenario() -> None:
        async with c2_with_a_sapient_effector("accept") as (loop, peer):
            order = await loop.approve(await loop.threat())
            await loop.until_engagement(order, "in_progress")
            abort = loop.crew.commander.decide(ABORT_HASH, Verdict.REJECT, datetime.now(UTC))
            await loop.watch.publish("hz.PL.c2.decision", abort)
            await loop.until_engagement(order, "aborted")
            await loop.until(lambda: "effector_abort" in loop.recorded_alerts(order))
            assert loop.recorded_steps(order) == [
                "ordered",
                "delivered",
                "acknowledged",
                "in_progress",
                "aborted",
            ]
            (stop_alert,) = loop.alerts("effector_abort")
            assert stop_alert.priority == 1
            start, stop = peer.seen(event="task")
            assert (start["control"], stop["control"]) == ("START", "STOP")
            assert stop["task_id"] == start["task_id"]
            assert verify_chain(loop.watch.of_type(AuditRecord)) is None

    asyncio.run(scenario())


def test_a_forged_lifecycle_report_changes_nothing_and_is_recorded_as_such() -> None:
    async def scenario() -> None:
        async with c2_with_a_sapient_effector("accept") as (loop, _peer):
            order = await loop.approve(await loop.threat())
            await loop.until_engagement(order, "in_progress")
            forged = {
                "type": "event",
                "event_id": "order:order-forged:effect_observed:9",
                "time": datetime.now(UTC).isoformat(),
                "source_id": "effectors-sapient",
                "kind": "observation",
                "severity": 6,
                "summary": "target destroyed",
                "attributes": {
                    "order_id": "order-forged",
                    "effector_id": EFFECTOR,
                    "lifecycle": "effect_observed",
                },
            }
            await loop.bus.publish("hz.PL.det.none.effectors-sapient", json.dumps(forged).encode())
            await loop.until(
                lambda: any(
                    r.kind == AuditKind.REFUSAL and "order-forged" in r.payload
                    for r in loop.watch.of_type(AuditRecord)
                )
            )
            statuses = [s for s in loop.watch.of_type(ProposalStatus) if s.order_id]
            assert statuses[-1].engagement == "in_progress"

    asyncio.run(scenario())


def test_no_gateway_reporting_on_an_order_is_an_audited_step_and_an_operator_alert() -> None:
    """Nothing carries the order (no gateway runs for the effector): after the delivery
    timeout c2 records ``no_gateway``, shows it and raises a priority-1 alert, once."""

    async def scenario() -> None:
        bus = InProcessBus()
        try:
            async with c2_alone(bus, gateway_effectors=(EFFECTOR,), delivery_timeout_s=0.5) as loop:
                order = await loop.approve(await loop.threat())
                await loop.until_engagement(order, "no_gateway")
                await loop.until(lambda: bool(loop.alerts("effector_no_gateway")))
                (alert,) = loop.alerts("effector_no_gateway")
                assert alert.priority == 1 and alert.track_id == order.track_id
                assert order.order_id in alert.summary and EFFECTOR in alert.summary
                assert loop.recorded_steps(order) == ["no_gateway"]
                for _ in range(5):
                    await loop.tick()
                await asyncio.sleep(0.2)
                assert len(loop.alerts("effector_no_gateway")) == 1  # once
                assert loop.recorded_alerts(order) == ["effector_no_gateway"]
                assert verify_chain(loop.watch.of_type(AuditRecord)) is None
        finally:
            await bus.close()

    asyncio.run(scenario())


def test_an_effector_c2_expects_no_gateway_for_is_left_alone() -> None:
    """An effector not reached through a gateway (the effect model's, a camera) never gets
    a ``no_gateway`` step."""

    async def scenario() -> None:
        bus = InProcessBus()
        try:
            async with c2_alone(bus, gateway_effectors=(), delivery_timeout_s=0.2) as loop:
                order = await loop.approve(await loop.threat())
                for _ in range(10):
                    await loop.tick()
                    await asyncio.sleep(0.05)
                assert loop.alerts("effector_no_gateway") == []
                assert loop.recorded_steps(order) == []
        finally:
            await bus.close()

    asyncio.run(scenario())


def test_forged_lifecycle_events_on_nats_change_nothing_and_are_dead_lettered(
    tmp_path: Path,
) -> None:
    """An attacker on the bus (a real nats-server) publishes ``acknowledged`` and
    ``effect_observed`` for c2's real order: unsigned, signed by a key c2 does not trust,
    and a genuine signed step altered afterwards. c2 records each as refused, dead-letters
    it with the reason, and the engagement does not move; the trusted gateway's own step
    still counts."""

    async def scenario(url: str) -> None:
        bus = await NatsBus.connect(url, nation_streams("PL"), domain="pl", name="test-c2")
        try:
            async with c2_alone(bus) as loop:
                order = await loop.approve(await loop.threat())
                await loop.until_engagement(order, "")  # issued, nothing reported yet

                def step(lifecycle: str, number: int) -> Event:
                    return Event(
                        event_id=f"order:{order.order_id}:{lifecycle}:{number}",
                        time=datetime.now(UTC),
                        source_id="effectors-mavlink",
                        kind=EventKind.OBSERVATION,
                        severity=6,
                        summary=f"{EFFECTOR}: {lifecycle}",
                        subject_id=order.track_id,
                        attributes={
                            "order_id": order.order_id,
                            "effector_id": EFFECTOR,
                            "track_id": order.track_id,
                            "interface": "mavlink",
                            "lifecycle": lifecycle,
                        },
                    )

                intruder = NodeKey.generate("PL", "gateway")
                genuine = signed_lifecycle(step("acknowledged", 4), GATEWAY_KEY)
                altered = msgspec.structs.replace(
                    genuine,
                    event_id=f"order:{order.order_id}:effect_observed:5",
                    attributes={**genuine.attributes, "lifecycle": "effect_observed"},
                )
                forged = [
                    step("acknowledged", 2),  # unsigned
                    signed_lifecycle(step("effect_observed", 3), intruder),
                    altered,
                ]
                subject = "hz.PL.det.none.effectors-mavlink"
                for event in forged:
                    await loop.watch.publish(subject, event)
                await loop.until(lambda: len(loop.watch.of_type(DeadLetter, DEAD)) == 3)
                reasons = [d.reason for d in loop.watch.of_type(DeadLetter, DEAD)]
                assert "not signed" in reasons[0]
                assert "not a trusted effector gateway" in reasons[1]
                assert "does not match its content" in reasons[2]
                refusals = [
                    r.payload
                    for r in loop.watch.of_type(AuditRecord)
                    if r.kind == AuditKind.REFUSAL and "lifecycle event" in r.payload
                ]
                assert len(refusals) == 3
                assert loop.recorded_steps(order) == []
                statuses = [s for s in loop.watch.of_type(ProposalStatus) if s.order_id]
                assert statuses[-1].engagement == ""
                # The trusted gateway's genuine step is believed.
                await loop.watch.publish(subject, genuine)
                await loop.until_engagement(order, "acknowledged")
                assert loop.recorded_steps(order) == ["acknowledged"]
                assert verify_chain(loop.watch.of_type(AuditRecord)) is None
        finally:
            await bus.close()

    with running_standalone(tmp_path) as server:
        asyncio.run(scenario(server.plan.url))


def test_every_run_mode_wires_c2_to_believe_its_own_gateways_and_expect_them() -> None:
    """`build_stages` gives c2 the installation's gateway key (the one an `EffectorService`
    signs with by default) and the effectors it expects a gateway for: the exercise's
    simulated ones, a live run's gateway file, none in a simulation."""

    async def default_signer() -> str:
        service = EffectorService(InProcessBus(), "PL", [], OrderGuard(TRUSTED))
        await service.start()
        assert service.signer is not None
        return service.signer.key_id

    signer = asyncio.run(default_signer())
    scenario = load_scenario("suwalki-drones")
    exercise = build_stages(scenario, mode=RunMode.EXERCISE, gateway_effectors=(EFFECTOR,))
    live = build_stages(scenario, mode=RunMode.LIVE)
    simulation = build_stages(scenario, mode=RunMode.SIMULATION)
    for run in (exercise, live, simulation):
        assert run.response is not None and signer in run.response.trusted_gateways
        assert not set(run.response.trusted_gateways) & set(run.trusted_issuers)
    assert exercise.response is not None and live.response is not None
    assert exercise.response.gateway_effectors == {EFFECTOR}
    assert live.response.gateway_effectors == set(load_gateway_spec("suwalki-drones").effectors)
    assert simulation.response is not None and simulation.response.gateway_effectors == set()
