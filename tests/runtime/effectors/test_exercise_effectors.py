"""An exercise's interceptor behind the real MAVLink gateway: a verified order flies the
simulated vehicle through the gateway, re-aimed as the target's track moves; its
GLOBAL_POSITION_INT reports become friendly reports; the effect model takes the outcome
from the gateway's ``effect_observed`` and the target leaves the simulation."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import msgspec
import pytest

from hotzone.bus import InProcessBus
from hotzone.c2.config import load_c2_spec
from hotzone.geo import geodesic_distance_m
from hotzone.runtime.effectors.exercise import exercise_links, start_exercise_effectors
from hotzone.runtime.services import StageService, encode_tick
from hotzone.runtime.stages import effects_stage
from hotzone.sim.effects import EffectModelStage
from hotzone.types import (
    Event,
    GeoPoint,
    Report,
    ReportSource,
    StandardIdentity,
    TargetClass,
    TruthState,
)
from tests.c2.factories import make_track
from tests.runtime.effectors.rig import TARGET, TRUSTED, BusWatch, c2_state, order, proposal

EFFECTOR = "icpt-suwalki"
# The target's track 900 m north of the approved aim point: within the proposal's tolerance.
MOVED = GeoPoint(TARGET.lat_deg + 0.008, TARGET.lon_deg, TARGET.height_m)


def truth_at(position: GeoPoint) -> TruthState:
    return msgspec.convert(
        {
            "time": datetime.now(UTC).isoformat(),
            "target_id": "drone-1",
            "target_class": str(TargetClass.ONE_WAY_ATTACK_DRONE),
            "affiliation": str(StandardIdentity.HOSTILE),
            "position": msgspec.to_builtins(position),
            "enu_position_m": [0.0, 0.0, 0.0],
            "enu_velocity_mps": [0.0, 0.0, 0.0],
        },
        TruthState,
    )


@pytest.mark.slow(21)
def test_an_order_flies_the_simulated_interceptor_through_the_gateway_to_the_target() -> None:
    async def scenario() -> None:
        bus = InProcessBus()
        watch = BusWatch(bus)
        await watch.start()
        links = {EFFECTOR: exercise_links("suwalki-drones")[EFFECTOR]}
        effects = EffectModelStage(
            {}, seed=1, trusted_issuers=TRUSTED, gateway_effectors=frozenset(links)
        )
        model = StageService(effects_stage(effects), bus, "PL")
        ready = asyncio.Event()
        model_runner = asyncio.create_task(model.run(ready))
        await ready.wait()
        running = await start_exercise_effectors(
            bus,
            "PL",
            links,
            load_c2_spec("suwalki-drones"),
            TRUSTED,
            clock=lambda: datetime.now(UTC),
            time_factor=4.0,
        )
        try:

            async def tick() -> None:
                await bus.publish("hz.PL.clock", encode_tick(datetime.now(UTC).timestamp()))

            await watch.publish("hz.PL.c2.state", c2_state(abort=False))
            prop = proposal(EFFECTOR, 1)
            sent = order(prop, 1)
            for subject, message in (
                ("hz.PL.truth", truth_at(MOVED)),
                ("hz.PL.c2.proposal", prop),
                ("hz.PL.c2.order", sent),
            ):
                await watch.publish(subject, message)
            await tick()
            await watch.until_lifecycle(sent.order_id, "in_progress")
            # The track moves: the interceptor in flight is sent on to it.
            track = make_track(track_id=prop.track_id, position=MOVED, time=datetime.now(UTC))
            await watch.publish("hz.PL.trk.suwalki", track)
            vehicle = running.vehicles[EFFECTOR]
            await watch.until(
                lambda: vehicle.goal is not None and abs(vehicle.goal[0] - MOVED.lat_deg) < 1e-6
            )
            await watch.until_lifecycle(sent.order_id, "effect_observed")
            assert watch.lifecycle(sent.order_id) == [
                "ordered",
                "delivered",
                "acknowledged",
                "in_progress",
                "effect_observed",
            ]
            observed = next(
                m
                for _, m in watch.messages
                if isinstance(m, Event) and m.attributes.get("lifecycle") == "effect_observed"
            )
            assert observed.position is not None
            miss = geodesic_distance_m(
                [observed.position.lat_deg], [observed.position.lon_deg],
                [MOVED.lat_deg], [MOVED.lon_deg],
            )[0]  # fmt: skip
            assert miss < 1.0  # the re-aimed point, not the approved one
            friendly = [m for m in watch.of_type(Report) if m.source is ReportSource.BLUE_FORCE]
            assert friendly and all(
                r.claimed_identity is StandardIdentity.FRIEND and r.uid == EFFECTOR
                for r in friendly
            )

            async def outcome() -> None:
                while not effects.outcomes:
                    await tick()
                    await asyncio.sleep(0.05)

            await asyncio.wait_for(outcome(), 60)
            (result,) = effects.outcomes
            print(result.summary, result.attributes)
            assert result.attributes["order_id"] == sent.order_id
            assert result.attributes["truth_target"] == "drone-1"
            stopped = result.attributes["outcome"] == "stopped"
            assert ("drone-1" in effects.removals) == stopped
            assert result.attributes["outcome"] in ("stopped", "missed")

            # The interceptor that met its target is spent: a new order for the site
            # launches its next one, from the launch point.
            second_proposal = proposal(EFFECTOR, 2)
            second = order(second_proposal, 2)
            await watch.publish("hz.PL.c2.proposal", second_proposal)
            await watch.publish("hz.PL.c2.order", second)
            await watch.until_lifecycle(second.order_id, "in_progress")
            assert "failed" not in watch.lifecycle(second.order_id)
            home = load_c2_spec("suwalki-drones").effector(EFFECTOR).position
            assert vehicle.goal is not None
            assert abs(vehicle.goal[0] - TARGET.lat_deg) < 1e-6
            launched_from = geodesic_distance_m(
                [vehicle.lat], [vehicle.lon], [home.lat_deg], [home.lon_deg]
            )[0]
            assert (
                launched_from
                < geodesic_distance_m(
                    [MOVED.lat_deg], [MOVED.lon_deg], [home.lat_deg], [home.lon_deg]
                )[0]
            )
        finally:
            await running.close()
            await bus.close()
            await model_runner
            await watch.close()

    asyncio.run(scenario())
