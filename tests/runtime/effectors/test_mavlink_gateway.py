"""MAVLink effector gateway against vehicles written with pymavlink's mavutil (own
processes, real UDP): a verified order arms the vehicle, takes off and sends it to the aim
point; its positions become friendly reports; abort brings it back to launch; commands are
retried with the protocol's confirmation and carried out once; silence, refusal and a lost
link give their documented state and an operator alert."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from hotzone.bus import InProcessBus
from hotzone.runtime.effectors.base import OrderGuard
from hotzone.runtime.effectors.config import EffectorLink, Interface
from hotzone.runtime.effectors.mavlink import MavlinkEffectorGateway
from hotzone.runtime.effectors.service import EffectorService, bus_publisher
from hotzone.types import Alert, DeadLetter, Event, Proposal, Report, ReportSource, TaskOrder
from tests.runtime.effectors.rig import TARGET, TRUSTED, BusWatch, Peer, c2_state, order, proposal

VEHICLE_SCRIPT = "mavlink_vehicle.py"


@dataclass
class Rig:
    watch: BusWatch
    gateway: MavlinkEffectorGateway

    async def vehicle(
        self,
        effector_id: str,
        lat: float,
        speed: float,
        behaviour: str = "normal",
        signing_key: str = "",
    ) -> Peer:
        vehicle = self.gateway.vehicles[effector_id]
        signing = ("--signing-key", signing_key) if signing_key else ()
        return await Peer.start(
            VEHICLE_SCRIPT,
            "--port",
            str(vehicle.port),
            "--system-id",
            str(vehicle.link.system_id),
            "--lat",
            str(lat),
            "--lon",
            str(TARGET.lon_deg),
            "--speed",
            str(speed),
            "--behaviour",
            behaviour,
            *signing,
        )

    async def connected(self, *effector_ids: str) -> None:
        await self.watch.until(
            lambda: all(
                any(
                    isinstance(m, Event)
                    and m.source_id == effector_id
                    and m.attributes.get("state") == "connected"
                    for _, m in self.watch.messages
                )
                for effector_id in effector_ids
            )
        )

    async def send(self, *messages: Proposal | TaskOrder) -> None:
        for message in messages:
            subject = "hz.PL.c2.order" if isinstance(message, TaskOrder) else "hz.PL.c2.proposal"
            await self.watch.publish(subject, message)

    def alerts(self, kind: str) -> list[Alert]:
        return [a for a in self.watch.of_type(Alert) if a.kind == kind]

    def reports(self, effector_id: str) -> list[Report]:
        return [r for r in self.watch.of_type(Report) if r.source_id == effector_id]


@contextlib.asynccontextmanager
async def mavlink_rig(
    system_ids: Mapping[str, int],
    *,
    ack_timeout_s: float = 5.0,
    retries: int = 3,
    heartbeat_timeout_s: float = 5.0,
    signing_key_file: str = "",
) -> AsyncIterator[Rig]:
    bus = InProcessBus()
    watch = BusWatch(bus)
    await watch.start()
    links = {
        effector_id: EffectorLink(
            interface=Interface.MAVLINK,
            listen="127.0.0.1:0",
            system_id=system_id,
            arrival_radius_m=100.0,
            signing_key_file=signing_key_file,
        )
        for effector_id, system_id in system_ids.items()
    }
    gateway = MavlinkEffectorGateway(
        links,
        bus_publisher(bus, "PL"),
        ack_timeout_s=ack_timeout_s,
        command_retries=retries,
        heartbeat_timeout_s=heartbeat_timeout_s,
    )
    service = EffectorService(bus, "PL", [gateway], OrderGuard(TRUSTED))
    await service.start()
    ready = asyncio.Event()
    runner = asyncio.create_task(service.run(ready))
    await ready.wait()
    try:
        yield Rig(watch, gateway)
    finally:
        await service.close()
        await bus.close()
        await runner
        await watch.close()


def _executed(peer: Peer, command: str) -> int:
    return len(peer.seen(event="command", command=command, executed=True))


def test_vehicles_fly_to_the_target_report_as_friends_and_return_on_abort() -> None:
    async def scenario() -> None:
        async with mavlink_rig({"icpt-near": 11, "icpt-far": 12}) as rig:
            # icpt-near reaches the target; icpt-far is still on its way when the abort comes.
            near = await rig.vehicle("icpt-near", TARGET.lat_deg - 0.004, speed=250.0)
            far = await rig.vehicle("icpt-far", TARGET.lat_deg - 0.09, speed=20.0)
            try:
                await rig.connected("icpt-near", "icpt-far")
                await rig.watch.publish("hz.PL.c2.state", c2_state(abort=False))
                p_near, p_far = proposal("icpt-near", 1), proposal("icpt-far", 2)
                o_near, o_far = order(p_near, 1), order(p_far, 2)
                await rig.send(p_near, p_far, o_near, o_far)
                await rig.watch.until_lifecycle(o_near.order_id, "effect_observed")
                await rig.watch.until_lifecycle(o_far.order_id, "in_progress")

                # The same order again is a replay: refused, nothing sent.
                await rig.send(o_near)
                dead = "hz.PL.dead.order_mavlink"
                await rig.watch.until(lambda: len(rig.watch.of_type(DeadLetter, dead)) == 1)
                assert "a replay" in rig.watch.of_type(DeadLetter, dead)[0].reason

                await rig.watch.publish("hz.PL.c2.state", c2_state(abort=True))
                await rig.watch.until_lifecycle(o_near.order_id, "aborted")
                await rig.watch.until_lifecycle(o_far.order_id, "aborted")
                assert rig.watch.lifecycle(o_near.order_id) == [
                    "ordered",
                    "delivered",
                    "acknowledged",
                    "in_progress",
                    "effect_observed",
                    "aborted",
                ]
                assert rig.watch.lifecycle(o_far.order_id) == [
                    "ordered",
                    "delivered",
                    "acknowledged",
                    "in_progress",
                    "aborted",
                ]
                aborts = rig.alerts("effector_abort")
                assert len(aborts) == 2 and {a.priority for a in aborts} == {1}

                for peer, system_id in ((near, 11), (far, 12)):
                    for command in (
                        "COMPONENT_ARM_DISARM",
                        "NAV_TAKEOFF",
                        "DO_REPOSITION",
                        "NAV_RETURN_TO_LAUNCH",
                    ):
                        assert _executed(peer, command) == 1, (command, peer.lines)
                    commands = peer.seen(event="command")
                    assert {c["target_system"] for c in commands} == {system_id}
                    assert [c["command"] for c in commands if c["executed"]] == [
                        "COMPONENT_ARM_DISARM",
                        "NAV_TAKEOFF",
                        "DO_REPOSITION",
                        "NAV_RETURN_TO_LAUNCH",
                    ]
                    await peer.wait_for(event="gcs_heartbeat")

                # Positions are friendly reports: north to the target, then back south home.
                await rig.watch.until(
                    lambda: any(
                        r.velocity_enu_mps is not None and r.velocity_enu_mps[1] < 0
                        for r in rig.reports("icpt-far")
                    )
                )
                far_reports = rig.reports("icpt-far")
                assert all(r.source is ReportSource.BLUE_FORCE for r in far_reports)
                assert all(r.claimed_identity == "friend" for r in far_reports)
                headings = [r.velocity_enu_mps[1] for r in far_reports if r.velocity_enu_mps]
                first_out = next(i for i, v in enumerate(headings) if v > 0)
                assert any(v < 0 for v in headings[first_out:])
            finally:
                for peer in (near, far):
                    await peer.stop()

    asyncio.run(scenario())


def test_a_silent_vehicle_times_out_after_retries_and_a_refusing_one_rejects() -> None:
    async def scenario() -> None:
        async with mavlink_rig(
            {"icpt-silent": 21, "icpt-refusing": 22}, ack_timeout_s=0.3, retries=2
        ) as rig:
            silent = await rig.vehicle("icpt-silent", TARGET.lat_deg - 0.05, 20.0, "silent")
            refusing = await rig.vehicle("icpt-refusing", TARGET.lat_deg - 0.05, 20.0, "reject")
            try:
                await rig.connected("icpt-silent", "icpt-refusing")
                await rig.watch.publish("hz.PL.c2.state", c2_state(abort=False))
                p_silent, p_refusing = proposal("icpt-silent", 1), proposal("icpt-refusing", 2)
                o_silent, o_refusing = order(p_silent, 1), order(p_refusing, 2)
                await rig.send(p_silent, p_refusing, o_silent, o_refusing)
                await rig.watch.until_lifecycle(o_silent.order_id, "failed")
                await rig.watch.until_lifecycle(o_refusing.order_id, "rejected")
                assert rig.watch.lifecycle(o_silent.order_id) == [
                    "ordered",
                    "delivered",
                    "timeout",
                    "failed",
                ]
                assert rig.watch.lifecycle(o_refusing.order_id) == [
                    "ordered",
                    "delivered",
                    "rejected",
                ]
                # The arm command went out three times (two retries), confirmation 0, 1, 2.
                arms = await silent.wait_for(3, event="command", command="COMPONENT_ARM_DISARM")
                assert [a["confirmation"] for a in arms] == [0, 1, 2]
                assert [a.priority for a in rig.alerts("effector_timeout")] == [1]
                (rejected,) = rig.alerts("effector_rejected")
                assert rejected.priority == 1 and "arm denied" in rejected.summary
                assert [c["command"] for c in refusing.seen(event="command")] == [
                    "COMPONENT_ARM_DISARM"
                ]
            finally:
                for peer in (silent, refusing):
                    await peer.stop()

    asyncio.run(scenario())


def test_lost_commands_are_sent_again_and_a_vanished_vehicle_fails_its_order() -> None:
    async def scenario() -> None:
        async with mavlink_rig(
            {"icpt-lossy": 31, "icpt-vanishing": 32},
            ack_timeout_s=0.5,
            retries=3,
            heartbeat_timeout_s=2.0,
        ) as rig:
            lossy = await rig.vehicle("icpt-lossy", TARGET.lat_deg - 0.05, 20.0, "drop-first")
            vanishing = await rig.vehicle("icpt-vanishing", TARGET.lat_deg - 0.05, 20.0, "vanish")
            try:
                await rig.connected("icpt-lossy", "icpt-vanishing")
                await rig.watch.publish("hz.PL.c2.state", c2_state(abort=False))
                p_lossy, p_vanishing = proposal("icpt-lossy", 1), proposal("icpt-vanishing", 2)
                o_lossy, o_vanishing = order(p_lossy, 1), order(p_vanishing, 2)
                await rig.send(p_lossy, p_vanishing, o_lossy, o_vanishing)
                await rig.watch.until_lifecycle(o_lossy.order_id, "in_progress")
                await rig.watch.until_lifecycle(o_vanishing.order_id, "failed")
                for command in ("COMPONENT_ARM_DISARM", "NAV_TAKEOFF", "DO_REPOSITION"):
                    assert lossy.seen(event="command", command=command)[0]["dropped"]
                    assert _executed(lossy, command) == 1
                assert rig.watch.lifecycle(o_vanishing.order_id) == [
                    "ordered",
                    "delivered",
                    "acknowledged",
                    "in_progress",
                    "failed",
                ]
                (lost,) = rig.alerts("effector_link_lost")
                assert lost.priority == 1 and "link lost" in lost.summary
                assert any(
                    isinstance(m, Event)
                    and m.source_id == "icpt-vanishing"
                    and m.attributes.get("state") == "lost"
                    for _, m in rig.watch.messages
                )
            finally:
                for peer in (lossy, vanishing):
                    await peer.stop()

    asyncio.run(scenario())


def test_mavlink_2_signing_refuses_unsigned_and_wrongly_signed_vehicles(tmp_path: Path) -> None:
    """With the link's signing key, hotzone signs what it sends and takes only what a
    vehicle signed with that key: the signed vehicle flies the order; one that does not sign
    and one signing with another key are never connected (their messages refused, counted),
    and an order for either fails as not connected."""
    secret = os.urandom(32).hex()
    key_file = tmp_path / "icpt.key"
    key_file.write_text(secret + "\n")

    async def scenario() -> None:
        system_ids = {"icpt-signed": 11, "icpt-unsigned": 12, "icpt-forger": 13}
        async with mavlink_rig(system_ids, signing_key_file=str(key_file)) as rig:
            signed = await rig.vehicle(
                "icpt-signed", TARGET.lat_deg - 0.004, speed=250.0, signing_key=secret
            )
            unsigned = await rig.vehicle("icpt-unsigned", TARGET.lat_deg - 0.01, speed=50.0)
            forger = await rig.vehicle(
                "icpt-forger", TARGET.lat_deg - 0.01, speed=50.0, signing_key=os.urandom(32).hex()
            )
            try:
                await rig.connected("icpt-signed")
                await signed.wait_for(event="gcs_heartbeat")  # it accepts hotzone's signature
                vehicles = rig.gateway.vehicles
                await rig.watch.until(
                    lambda: (
                        vehicles["icpt-unsigned"].codec.signing.reject_count > 0
                        and vehicles["icpt-forger"].codec.signing.badsig_count > 0
                    )
                )
                await rig.watch.publish("hz.PL.c2.state", c2_state(abort=False))
                p_signed, p_unsigned = proposal("icpt-signed", 1), proposal("icpt-unsigned", 2)
                o_signed, o_unsigned = order(p_signed, 1), order(p_unsigned, 2)
                await rig.send(p_signed, p_unsigned, o_signed, o_unsigned)
                await rig.watch.until_lifecycle(o_signed.order_id, "effect_observed")
                await rig.watch.until_lifecycle(o_unsigned.order_id, "failed")
            finally:
                for peer in (signed, unsigned, forger):
                    await peer.stop()
            assert not vehicles["icpt-unsigned"].connected
            assert not vehicles["icpt-forger"].connected
            assert _executed(signed, "COMPONENT_ARM_DISARM") == 1
            # Nothing reached the others: hotzone never learnt where they are.
            assert unsigned.seen(event="command") == [] and forger.seen(event="command") == []
            print(
                "refused: unsigned",
                vehicles["icpt-unsigned"].codec.signing.reject_count,
                "badly signed",
                vehicles["icpt-forger"].codec.signing.badsig_count,
            )

    asyncio.run(scenario())
