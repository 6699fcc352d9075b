"""An exercise's SAPIENT effectors: simulated nodes, TCP clients of hotzone's SAPIENT
server, registered as the gateway file's KINETIC / JAMMER / MOBILE_NODE nodes, tasked by
the real SAPIENT gateway.

- a missile battery's START flies its missile (on the simulation's clock) to the point:
  TaskAck completed -> ``effect_observed`` -> the effect model decides the target;
- a jammer acts when its node receives the task: the outcome comes seconds after the
  order, though the proposal's effect window opens minutes later (the effect model alone
  would wait for it);
- a quick-reaction team drives towards the point (its StatusReports say where it is) and
  stops on c2's abort (CONTROL_STOP with the START's task id, ``aborted``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import msgspec

from hotzone.bus import InProcessBus
from hotzone.c2.config import load_c2_spec
from hotzone.runtime.effectors.exercise import exercise_links, start_exercise_effectors
from hotzone.runtime.services import StageService, encode_tick
from hotzone.runtime.stages import effects_stage
from hotzone.sim.effects import EffectModelStage
from hotzone.types import EffectClass, Event, EventKind, GeoPoint, Proposal
from hotzone.types.signing import proposal_content_hash
from tests.runtime.effectors.rig import TARGET, TRUSTED, BusWatch, c2_state, order, proposal
from tests.runtime.effectors.test_exercise_effectors import truth_at

SHORAD, JAMMER, TEAM = "shorad-suwalki", "ew-sejny", "qrf-sejny"
# Within the SHORAD's 6 km and the jammer's 8 km.
NEAR_SEJNY = GeoPoint(54.13, 23.30, 300.0)
NEAR_SUWALKI = GeoPoint(54.10, 23.02, 300.0)


def rehashed(prop: Proposal, **changes: object) -> Proposal:
    changed = msgspec.structs.replace(prop, **changes)
    return msgspec.structs.replace(changed, content_hash=proposal_content_hash(changed))


Scenario = Callable[
    [BusWatch, EffectModelStage, Callable[[], Awaitable[None]], dict], Awaitable[None]
]


#: The simulation's time runs behind the wall clock, as a replayed scenario's does.
SIMULATION_LAG = timedelta(days=400)


def simulation_clock() -> datetime:
    return datetime.now(UTC) - SIMULATION_LAG


def run_exercise(body: Scenario) -> None:
    async def scenario() -> None:
        bus = InProcessBus()
        watch = BusWatch(bus)
        await watch.start()
        all_links = exercise_links("suwalki-drones")
        links = {name: all_links[name] for name in (SHORAD, JAMMER, TEAM)}
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
            clock=simulation_clock,
            time_factor=8.0,
        )
        try:
            assert all(node.registered.is_set() for node in running.nodes.values())
            assert running.sapient_gateway is not None
            assert {
                row["effector_id"]: row["connection"] for row in running.sapient_gateway.status()
            } == dict.fromkeys((SHORAD, JAMMER, TEAM), "connected")

            async def tick() -> None:
                await bus.publish("hz.PL.clock", encode_tick(datetime.now(UTC).timestamp()))

            await watch.publish("hz.PL.c2.state", c2_state(abort=False))
            await body(watch, effects, tick, running.nodes)
        finally:
            await running.close()
            await bus.close()
            await model_runner
            await watch.close()

    asyncio.run(scenario())


async def outcome_of(
    effects: EffectModelStage, order_id: str, tick: Callable[[], Awaitable[None]]
) -> Event:
    async def wait() -> Event:
        while True:
            for outcome in effects.outcomes:
                if outcome.attributes["order_id"] == order_id:
                    return outcome
            await tick()
            await asyncio.sleep(0.05)

    return await asyncio.wait_for(wait(), 60)


def test_a_missile_battery_node_fires_and_the_effect_model_decides_on_its_arrival() -> None:
    async def body(watch, effects, tick, nodes) -> None:  # type: ignore[no-untyped-def]
        prop = proposal(SHORAD, 1, aim=NEAR_SUWALKI)
        sent = order(prop, 1)
        for subject, message in (
            ("hz.PL.truth", truth_at(NEAR_SUWALKI)),
            ("hz.PL.c2.proposal", prop),
            ("hz.PL.c2.order", sent),
        ):
            await watch.publish(subject, message)
        await tick()
        await watch.until_lifecycle(sent.order_id, "effect_observed")
        assert watch.lifecycle(sent.order_id) == [
            "ordered",
            "delivered",
            "acknowledged",
            "in_progress",
            "effect_observed",
        ]
        [(control, command, _)] = nodes[SHORAD].received
        assert (control, command) == ("START", "look_at")
        result = await outcome_of(effects, sent.order_id, tick)
        print(result.summary, result.attributes)
        assert result.attributes["truth_target"] == "drone-1"
        assert result.attributes["outcome"] in ("stopped", "missed")
        assert ("drone-1" in effects.removals) == (result.attributes["outcome"] == "stopped")
        assert not nodes[SHORAD].tasks  # done
        # The nodes stamp their messages with the simulation's time, not the wall clock's
        # (the picture's clock follows the messages' times).
        statuses = [
            m
            for m in watch.of_type(Event)
            if m.kind is EventKind.SENSOR_STATUS and m.source_id == nodes[SHORAD].node_id
        ]
        assert statuses
        assert all(m.time < datetime.now(UTC) - SIMULATION_LAG / 2 for m in statuses)

    run_exercise(body)


def test_a_jammer_acts_when_its_node_receives_the_task_not_at_the_effect_window() -> None:
    async def body(watch, effects, tick, nodes) -> None:  # type: ignore[no-untyped-def]
        later = datetime.now(UTC) + timedelta(minutes=5)
        prop = rehashed(
            proposal(JAMMER, 2, aim=NEAR_SEJNY),
            effect_class=EffectClass.NON_KINETIC,
            effect_window_start=later,
        )
        sent = order(prop, 2)
        for subject, message in (
            ("hz.PL.truth", truth_at(NEAR_SEJNY)),
            ("hz.PL.c2.proposal", prop),
            ("hz.PL.c2.order", sent),
        ):
            await watch.publish(subject, message)
        await tick()
        result = await outcome_of(effects, sent.order_id, tick)
        print(result.summary, result.attributes)
        assert result.time < later  # the node's moment, not the effect window's
        assert watch.lifecycle(sent.order_id)[-1] == "effect_observed"
        [(control, command, _)] = nodes[JAMMER].received
        assert (control, command) == ("START", "look_at")
        assert result.attributes["truth_target"] == "drone-1"
        assert ("drone-1" in effects.removals) == (result.attributes["outcome"] == "stopped")

    run_exercise(body)


def test_a_team_on_its_way_stops_on_abort() -> None:
    async def body(watch, effects, tick, nodes) -> None:  # type: ignore[no-untyped-def]
        team = nodes[TEAM]
        home = team.position
        prop = rehashed(proposal(TEAM, 3, aim=TARGET), effect_class=EffectClass.NON_KINETIC)
        sent = order(prop, 3)
        for subject, message in (("hz.PL.c2.proposal", prop), ("hz.PL.c2.order", sent)):
            await watch.publish(subject, message)
        await watch.until_lifecycle(sent.order_id, "in_progress")
        await watch.until(lambda: team.position != home)  # driving
        await watch.publish("hz.PL.c2.state", c2_state(abort=True))
        await watch.until_lifecycle(sent.order_id, "aborted")
        (start_control, command, task_id), (stop_control, _, stop_id) = team.received
        assert (start_control, command, stop_control) == ("START", "move_to", "STOP")
        assert stop_id == task_id
        assert not team.tasks
        result = await outcome_of(effects, sent.order_id, tick)
        assert result.attributes["outcome"] == "cancelled"

    run_exercise(body)
