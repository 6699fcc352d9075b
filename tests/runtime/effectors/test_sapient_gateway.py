"""SAPIENT effector gateway against third-party effector nodes (sapient-py, own processes,
real TCP): exactly the tasks of approved, validly signed orders reach the nodes, acked and
followed through their lifecycle; refused orders send nothing; abort stops every task with
its START's task id; faults give their documented state and an operator alert."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import msgspec

from hotzone.bus import InProcessBus
from hotzone.c2.trust import NodeKey
from hotzone.ingest.sapient.messages import new_ulid
from hotzone.runtime.effectors.base import OrderGuard
from hotzone.runtime.effectors.config import EffectorLink, Interface, SapientNodeType
from hotzone.runtime.effectors.sapient import SapientEffectorGateway
from hotzone.runtime.effectors.service import EffectorService, bus_publisher
from hotzone.runtime.sapient_server import SapientServer
from hotzone.runtime.sources import SourcePublisher
from hotzone.types import Alert, DeadLetter, Detection, Proposal, TaskOrder
from tests.runtime.effectors.rig import (
    TARGET,
    TRUSTED,
    BusWatch,
    Peer,
    c2_state,
    new_node_id,
    order,
    proposal,
)

NODE_SCRIPT = "sapient_effector_node.py"


@dataclass
class Rig:
    bus: InProcessBus
    watch: BusWatch
    server: SapientServer
    gateway: SapientEffectorGateway
    service: EffectorService

    async def node(self, node_id: str, node_type: str, *args: str) -> Peer:
        return await Peer.start(
            NODE_SCRIPT,
            "--port",
            str(self.server.port),
            "--node-id",
            node_id,
            "--node-type",
            node_type,
            *args,
        )

    async def send(self, *messages: Proposal | TaskOrder) -> None:
        for message in messages:
            subject = "hz.PL.c2.order" if isinstance(message, TaskOrder) else "hz.PL.c2.proposal"
            await self.watch.publish(subject, message)

    def dead_letters(self) -> list[DeadLetter]:
        return list(self.watch.of_type(DeadLetter, "hz.PL.dead.order_sapient"))

    def alerts(self, kind: str) -> list[Alert]:
        return [a for a in self.watch.of_type(Alert) if a.kind == kind]


@contextlib.asynccontextmanager
async def sapient_rig(
    links: Mapping[str, EffectorLink], ack_timeout_s: float = 60.0
) -> AsyncIterator[Rig]:
    bus = InProcessBus()
    watch = BusWatch(bus)
    await watch.start()
    server = SapientServer(SourcePublisher(bus, "PL"), host="127.0.0.1", port=0)
    gateway = SapientEffectorGateway(
        server, links, bus_publisher(bus, "PL"), ack_timeout_s=ack_timeout_s
    )
    service = EffectorService(bus, "PL", [gateway], OrderGuard(TRUSTED))
    await server.start()
    await service.start()
    ready = asyncio.Event()
    runner = asyncio.create_task(service.run(ready))
    await ready.wait()
    try:
        yield Rig(bus, watch, server, gateway, service)
    finally:
        await service.close()
        await server.close()
        await bus.close()
        await runner
        await watch.close()


def _link(node_id: str, node_type: SapientNodeType, engage_mode: str = "") -> EffectorLink:
    return EffectorLink(
        interface=Interface.SAPIENT, node_id=node_id, node_type=node_type, engage_mode=engage_mode
    )


def test_approved_orders_reach_kinetic_jammer_and_mobile_nodes_and_abort_stops_them() -> None:
    kinetic_id, jammer_id, mobile_id = new_node_id(), new_node_id(), new_node_id()
    object_id = new_ulid()
    links = {
        "shorad-1": _link(kinetic_id, SapientNodeType.KINETIC),
        "ew-1": _link(jammer_id, SapientNodeType.JAMMER, engage_mode="engage"),
        "icpt-1": _link(mobile_id, SapientNodeType.MOBILE_NODE),
    }

    async def scenario() -> None:
        async with sapient_rig(links) as rig:
            kinetic = await rig.node(
                kinetic_id,
                "KINETIC",
                "--commands",
                "follow,look_at",
                "--report-object",
                f"{object_id},{TARGET.lat_deg + 0.001},{TARGET.lon_deg}",
            )
            jammer = await rig.node(jammer_id, "JAMMER", "--commands", "mode_change")
            mobile = await rig.node(mobile_id, "MOBILE_NODE", "--commands", "move_to,look_at")
            peers = (kinetic, jammer, mobile)
            try:
                for peer in peers:
                    await peer.wait_for(event="ready")
                await rig.watch.until(
                    lambda: any(
                        isinstance(m, Detection) and m.sensor_id == kinetic_id
                        for _, m in rig.watch.messages
                    )
                )
                await rig.watch.publish("hz.PL.c2.state", c2_state(abort=False))
                p_kinetic, p_jammer, p_mobile = (
                    proposal("shorad-1", 1),
                    proposal("ew-1", 2),
                    proposal("icpt-1", 3),
                )
                p_other = proposal("shorad-1", 4)
                o_kinetic, o_jammer, o_mobile = (
                    order(p_kinetic, 1),
                    order(p_jammer, 2),
                    order(p_mobile, 3),
                )
                intruder = NodeKey.generate("PL")
                altered = msgspec.structs.replace(order(p_other, 7), action="fire everything")
                refused = [
                    order(p_other, 4, node=intruder),  # forged: an untrusted key
                    order(p_other, 5, sign=False),  # unsigned
                    order(p_other, 6, window_end=p_other.time),  # expired
                    altered,  # altered after signing
                    order(proposal("shorad-1", 9), 9),  # names a proposal never seen
                    o_kinetic,  # a replay of an accepted order id
                ]
                # An order for an effector no gateway reaches is left to its consumer.
                p_elsewhere = proposal("eoir-elsewhere", 8)
                elsewhere = order(p_elsewhere, 8, node=intruder)
                await rig.send(p_kinetic, p_jammer, p_mobile, p_other, p_elsewhere)
                await rig.send(elsewhere, o_kinetic, o_jammer, o_mobile, *refused)
                for accepted in (o_kinetic, o_jammer, o_mobile):
                    await rig.watch.until_lifecycle(accepted.order_id, "in_progress")
                    assert rig.watch.lifecycle(accepted.order_id) == [
                        "ordered",
                        "delivered",
                        "acknowledged",
                        "in_progress",
                    ]

                reasons = [d.reason for d in rig.dead_letters()]
                assert len(reasons) == len(refused), reasons
                for expected in (
                    "not a trusted c2 node",
                    "is not signed",
                    "expired",
                    "signature does not match",
                    "matches no proposal",
                    "a replay",
                ):
                    assert sum(expected in reason for reason in reasons) == 1, (expected, reasons)
                assert len(rig.alerts("effector_order_refused")) == len(refused)

                status = {row["effector_id"]: row for row in rig.gateway.status()}
                assert status["shorad-1"]["connection"] == "connected"
                assert status["shorad-1"]["active_orders"] == o_kinetic.order_id

                (follow,) = kinetic.seen(event="task")
                assert (follow["control"], follow["command"]) == ("START", "follow")
                assert follow["object_id"] == object_id
                assert follow["destination_id"] == kinetic_id
                assert o_kinetic.order_id in follow["description"]
                (jam,) = jammer.seen(event="task")
                assert (jam["command"], jam["mode"]) == ("mode_change", "engage")
                assert jam["regions"] == ["REGION_TYPE_AREA_OF_INTEREST"]
                (move,) = mobile.seen(event="task")
                assert move["command"] == "move_to"
                assert move["point"] == [TARGET.lat_deg, TARGET.lon_deg]

                # Abort: every active task is stopped under its START's task id.
                await rig.watch.publish("hz.PL.c2.state", c2_state(abort=True))
                for accepted in (o_kinetic, o_jammer, o_mobile):
                    await rig.watch.until_lifecycle(accepted.order_id, "aborted")
                for peer in peers:
                    start, stop = peer.seen(event="task")
                    assert stop["control"] == "STOP"
                    assert stop["task_id"] == start["task_id"]
                    assert stop["command"] == start["command"]
                aborts = rig.alerts("effector_abort")
                assert len(aborts) == 3 and all(a.priority == 1 for a in aborts)

                # While the abort holds, a validly signed order is refused: nothing is sent.
                late = proposal("shorad-1", 10)
                await rig.send(late, order(late, 10))
                await rig.watch.until(lambda: len(rig.dead_letters()) == len(refused) + 1)
                assert "global abort" in rig.dead_letters()[-1].reason
                assert len(kinetic.seen(event="task")) == 2
            finally:
                for peer in peers:
                    await peer.stop()

    asyncio.run(scenario())


def test_a_silent_node_times_out_its_task_is_cancelled_and_the_operator_alerted() -> None:
    node_id = new_node_id()
    links = {"shorad-1": _link(node_id, SapientNodeType.KINETIC)}

    async def scenario() -> None:
        async with sapient_rig(links, ack_timeout_s=0.5) as rig:
            node = await rig.node(node_id, "KINETIC", "--behaviour", "silent")
            try:
                await node.wait_for(event="ready")
                await rig.watch.publish("hz.PL.c2.state", c2_state(abort=False))
                prop = proposal("shorad-1", 1)
                sent = order(prop, 1)
                await rig.send(prop, sent)
                await rig.watch.until_lifecycle(sent.order_id, "failed")
                assert rig.watch.lifecycle(sent.order_id) == [
                    "ordered",
                    "delivered",
                    "timeout",
                    "failed",
                ]
                assert [a.priority for a in rig.alerts("effector_timeout")] == [1]
                assert len(rig.alerts("effector_timeout_failed")) == 1
                # The unacknowledged task is stopped so that it cannot start late.
                start, stop = await node.wait_for(2, event="task")
                assert (start["control"], stop["control"]) == ("START", "STOP")
                assert stop["task_id"] == start["task_id"]
            finally:
                await node.stop()

    asyncio.run(scenario())


def test_rejection_and_disconnection_mid_task_fail_with_alerts_and_nothing_is_sent_twice() -> None:
    rejecting_id, leaving_id = new_node_id(), new_node_id()
    links = {
        "ew-1": _link(rejecting_id, SapientNodeType.JAMMER),
        "icpt-1": _link(leaving_id, SapientNodeType.MOBILE_NODE),
    }

    async def scenario() -> None:
        async with sapient_rig(links) as rig:
            rejecting = await rig.node(
                rejecting_id, "JAMMER", "--behaviour", "reject", "--commands", "look_at"
            )
            leaving = await rig.node(
                leaving_id, "MOBILE_NODE", "--behaviour", "disconnect", "--commands", "move_to"
            )
            try:
                for peer in (rejecting, leaving):
                    await peer.wait_for(event="ready")
                await rig.watch.publish("hz.PL.c2.state", c2_state(abort=False))
                p_jam, p_move = proposal("ew-1", 1), proposal("icpt-1", 2)
                o_jam, o_move = order(p_jam, 1), order(p_move, 2)
                await rig.send(p_jam, p_move, o_jam, o_move)
                await rig.watch.until_lifecycle(o_jam.order_id, "rejected")
                await rig.watch.until_lifecycle(o_move.order_id, "failed")
                assert rig.watch.lifecycle(o_jam.order_id) == ["ordered", "delivered", "rejected"]
                assert rig.watch.lifecycle(o_move.order_id) == [
                    "ordered",
                    "delivered",
                    "acknowledged",
                    "in_progress",
                    "failed",
                ]
                (rejected,) = rig.alerts("effector_rejected")
                assert rejected.priority == 1 and "outside my envelope" in rejected.summary
                (gone,) = rig.alerts("effector_disconnected")
                assert gone.priority == 1 and "disconnected" in gone.summary

                # The same order id again (a duplicate) is refused and sends nothing.
                await rig.send(o_jam)
                await rig.watch.until(lambda: len(rig.dead_letters()) == 1)
                assert "a replay" in rig.dead_letters()[0].reason
                # An abort stops nothing that was rejected or lost. The order published
                # after it is refused once the abort was taken: by then any stop was sent.
                await rig.watch.publish("hz.PL.c2.state", c2_state(abort=True))
                p_late = proposal("ew-1", 3)
                await rig.send(p_late, order(p_late, 3))
                await rig.watch.until(lambda: len(rig.dead_letters()) == 2)
                assert "global abort" in rig.dead_letters()[1].reason
                assert rig.server.counters.tasks_sent == 2
                assert len(rejecting.seen(event="task")) == 1
                assert len(leaving.seen(event="task")) == 1
                assert rig.alerts("effector_abort") == []
            finally:
                for peer in (rejecting, leaving):
                    await peer.stop()

    asyncio.run(scenario())


def test_only_the_configured_node_may_register_as_an_effector_and_only_once() -> None:
    node_id = new_node_id()
    links = {"shorad-1": _link(node_id, SapientNodeType.KINETIC)}

    async def scenario() -> None:
        async with sapient_rig(links) as rig:
            stranger = await rig.node(new_node_id(), "KINETIC")
            wrong_type = await rig.node(node_id, "JAMMER")
            radar = await rig.node(new_node_id(), "RADAR")
            peers = [stranger, wrong_type, radar]
            try:
                (ack,) = await stranger.wait_for(event="registration_ack")
                assert not ack["accepted"] and "no effector" in " ".join(ack["reasons"])
                (error,) = await stranger.wait_for(event="error")
                assert "no effector" in " ".join(error["reasons"])
                (ack,) = await wrong_type.wait_for(event="registration_ack")
                assert not ack["accepted"] and "configured as KINETIC" in " ".join(ack["reasons"])
                (ack,) = await radar.wait_for(event="registration_ack")
                assert ack["accepted"]  # sensors register as before

                genuine = await rig.node(node_id, "KINETIC")
                peers.append(genuine)
                await genuine.wait_for(event="ready")
                impostor = await rig.node(node_id, "KINETIC")
                peers.append(impostor)
                (ack,) = await impostor.wait_for(event="registration_ack")
                assert not ack["accepted"]
                (error,) = await impostor.wait_for(event="error")
                assert "already registered on another connection" in " ".join(error["reasons"])

                await rig.watch.publish("hz.PL.c2.state", c2_state(abort=False))
                prop = proposal("shorad-1", 1)
                sent = order(prop, 1)
                await rig.send(prop, sent)
                await rig.watch.until_lifecycle(sent.order_id, "in_progress")
                assert len(genuine.seen(event="task")) == 1
                assert impostor.seen(event="task") == []
                assert wrong_type.seen(event="task") == []
                dead = rig.watch.of_type(DeadLetter, "hz.PL.dead.sapient")
                assert len(dead) >= 3  # each refused registration is kept with its reason
            finally:
                for peer in peers:
                    await peer.stop()

    asyncio.run(scenario())
