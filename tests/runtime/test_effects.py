"""The effect model closes the loop: orders stop targets with the effect class's probability,
after the effect window opens, unless a global abort comes first; stopped targets leave the
simulation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec

from hotzone.runtime.stages import PROBABILITY_OF_EFFECT, EffectModelStage
from hotzone.sim.scenario import load_scenario
from hotzone.sim.simulator import simulate
from hotzone.types import (
    Alert,
    EffectClass,
    GeoPoint,
    Proposal,
    RoeCheck,
    StandardIdentity,
    TargetClass,
    TaskOrder,
    TruthState,
)

START = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
DRONE = GeoPoint(54.05, 23.2, 300.0)


def _truth(target_id: str, where: GeoPoint) -> TruthState:
    return TruthState(
        time=START,
        target_id=target_id,
        target_class=TargetClass.ONE_WAY_ATTACK_DRONE,
        affiliation=StandardIdentity.HOSTILE,
        position=where,
        enu_position_m=(0.0, 0.0, 300.0),
        enu_velocity_mps=(-50.0, 0.0, 0.0),
    )


def _proposal(aim: GeoPoint, number: int) -> Proposal:
    return Proposal(
        proposal_id=f"P{number}",
        time=START,
        track_id="T1",
        effector_id="icpt-1",
        effect_class=EffectClass.KINETIC,
        action="intercept",
        target_class=TargetClass.ONE_WAY_ATTACK_DRONE,
        standard_identity=StandardIdentity.HOSTILE,
        target_position=aim,
        position_tolerance_m=2000.0,
        effect_window_start=START + timedelta(seconds=30),
        effect_window_end=START + timedelta(seconds=90),
        expires_at=START + timedelta(seconds=60),
        roe_checks=(RoeCheck("own_territory", True, "PL"),),
        content_hash=f"hash-{number}",
    )


def _order(number: int) -> TaskOrder:
    # Decoded as an order arrives on the bus from c2: the effect model only consumes orders.
    return msgspec.convert(
        {
            "order_id": f"O{number}",
            "time": START.isoformat(),
            "proposal_hash": f"hash-{number}",
            "effector_id": "icpt-1",
            "track_id": "T1",
            "action": "intercept",
            "decision_ids": ["d1", "d2"],
        },
        TaskOrder,
    )


def _engage(seed: int, aim: GeoPoint, abort_first: bool = False) -> tuple[str, dict[str, float]]:
    removals: dict[str, float] = {}
    stage = EffectModelStage(removals, seed=seed)
    stage.step(START, [_truth("owa-1", DRONE), _proposal(aim, 1), _order(1)])
    assert stage.step(START + timedelta(seconds=10), []) == []  # not before the window opens
    if abort_first:
        abort = Alert(alert_id="abort", time=START, kind="abort", summary="abort", priority=1)
        stage.step(START + timedelta(seconds=20), [abort])
    stage.step(START + timedelta(seconds=31), [])
    (outcome,) = stage.outcomes
    return outcome.attributes["outcome"], removals


def test_orders_stop_targets_at_the_kinetic_rate_and_remove_them() -> None:
    outcomes = [_engage(seed, DRONE) for seed in range(400)]
    stopped = [removals for outcome, removals in outcomes if outcome == "stopped"]
    rate = len(stopped) / len(outcomes)
    assert abs(rate - PROBABILITY_OF_EFFECT[EffectClass.KINETIC]) < 0.06
    assert all(
        removals == {"owa-1": (START + timedelta(seconds=30)).timestamp()} for removals in stopped
    )
    assert all(not removals for outcome, removals in outcomes if outcome == "missed")


def test_an_aim_point_far_from_every_target_always_misses() -> None:
    far = GeoPoint(54.5, 23.9, 300.0)
    assert {_engage(seed, far)[0] for seed in range(50)} == {"missed"}


def test_a_global_abort_cancels_orders_that_have_not_taken_effect() -> None:
    for seed in range(20):
        outcome, removals = _engage(seed, DRONE, abort_first=True)
        assert outcome == "cancelled"
        assert removals == {}


def test_a_removed_target_leaves_the_simulation_from_its_removal_time() -> None:
    scenario = load_scenario("suwalki-drones")
    first = next(
        m
        for m in simulate(scenario, seed=1, duration_s=30, include_truth=True)
        if isinstance(m, TruthState)
    )
    removed_at = scenario.start_posix + 10.0
    truth = [
        m
        for m in simulate(
            scenario,
            seed=1,
            duration_s=30,
            include_truth=True,
            window_s=5.0,
            removals={first.target_id: removed_at},
        )
        if isinstance(m, TruthState) and m.target_id == first.target_id
    ]
    assert truth, "the target exists before its removal"
    assert max(m.time.timestamp() for m in truth) < removed_at
