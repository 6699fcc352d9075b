"""The effect model closes the loop: orders stop targets with the effect class's probability,
after the effect window opens, unless a global abort comes first; stopped targets leave the
simulation. It acts only on orders signed by a trusted c2 node: forged, altered, replayed
and expired orders are dead letters with the reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from hotzone.c2.trust import NodeKey
from hotzone.runtime.effectors.base import signed_lifecycle
from hotzone.sim.effects import PROBABILITY_OF_EFFECT, EffectModelStage
from hotzone.sim.scenario import load_scenario
from hotzone.sim.simulator import simulate
from hotzone.types import (
    C2State,
    DeadLetter,
    EffectClass,
    Event,
    EventKind,
    GeoPoint,
    Proposal,
    RoeCheck,
    StandardIdentity,
    TargetClass,
    TaskOrder,
    TruthState,
)
from hotzone.types.signing import order_signing_bytes

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


C2_NODE = NodeKey.generate("PL")
TRUSTED = {C2_NODE.key_id: C2_NODE.public_raw}


def _order(number: int, node: NodeKey = C2_NODE) -> TaskOrder:
    # Decoded as an order arrives on the bus from c2, signed by the node's key (the effect
    # model only consumes orders; c2's Authority is the only place that builds them).
    unsigned = msgspec.convert(
        {
            "order_id": f"O{number}",
            "time": START.isoformat(),
            "proposal_hash": f"hash-{number}",
            "effector_id": "icpt-1",
            "track_id": "T1",
            "action": "intercept",
            "decision_ids": ["d1", "d2"],
            "decision_hashes": ["h1", "h2"],
            "effect_window_end": (START + timedelta(seconds=90)).isoformat(),
            "issuer": "PL-c2",
            "issuer_key_id": node.key_id,
        },
        TaskOrder,
    )
    return msgspec.structs.replace(unsigned, signature=node.sign(order_signing_bytes(unsigned)))


def _engage(seed: int, aim: GeoPoint, abort_first: bool = False) -> tuple[str, dict[str, float]]:
    removals: dict[str, float] = {}
    stage = EffectModelStage(removals, seed=seed, trusted_issuers=TRUSTED)
    stage.step(START, [_truth("owa-1", DRONE), _proposal(aim, 1), _order(1)])
    assert stage.step(START + timedelta(seconds=10), []) == []  # not before the window opens
    if abort_first:
        abort = C2State(
            time=START, nation="PL", mode="simulation", abort_active=True, changed_by="cdr"
        )
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


def _forged_orders() -> dict[str, TaskOrder]:
    real = _order(1)
    intruder = NodeKey.generate("PL")
    return {
        "not signed": msgspec.structs.replace(real, order_id="O-unsigned", signature=""),
        "not a trusted c2 node": _order(1, intruder),
        "signature does not match": msgspec.structs.replace(real, effector_id="shorad-1"),
    }


@pytest.mark.parametrize("reason", list(_forged_orders()))
def test_a_forged_or_altered_order_is_a_dead_letter_and_nothing_happens(reason: str) -> None:
    removals: dict[str, float] = {}
    stage = EffectModelStage(removals, seed=1, trusted_issuers=TRUSTED)
    forged = _forged_orders()[reason]
    outputs = stage.step(START, [_truth("owa-1", DRONE), _proposal(DRONE, 1), forged])
    (dead,) = [m for m in outputs if isinstance(m, DeadLetter)]
    assert reason in dead.reason and dead.source == "order/effect-model"
    assert msgspec.json.decode(dead.raw)["order_id"] == forged.order_id
    stage.step(START + timedelta(seconds=31), [])
    assert not stage.outcomes and not removals


def test_a_replayed_an_expired_and_an_order_under_abort_are_refused() -> None:
    stage = EffectModelStage({}, seed=1, trusted_issuers=TRUSTED)
    stage.step(START, [_truth("owa-1", DRONE), _proposal(DRONE, 1), _proposal(DRONE, 2)])
    assert not stage.step(START, [_order(1)])
    replay = stage.step(START + timedelta(seconds=1), [_order(1)])
    assert next(m.reason for m in replay if isinstance(m, DeadLetter)).endswith("a replay")
    late = stage.step(START + timedelta(seconds=91), [_order(2)])
    assert "expired" in next(m for m in late if isinstance(m, DeadLetter)).reason
    abort = C2State(time=START, nation="PL", mode="simulation", abort_active=True)
    stage.step(START + timedelta(seconds=92), [abort])
    refused = stage.step(START + timedelta(seconds=93), [_order(3)])
    assert any("abort" in m.reason for m in refused if isinstance(m, DeadLetter))
    assert len(stage.outcomes) == 1  # only order 1, cancelled or resolved, ever counted


def test_a_gateway_step_takes_effect_only_when_a_trusted_gateway_signed_it() -> None:
    """An order carried by a gateway takes effect at its ``effect_observed`` step: one
    published unsigned, altered after signing or signed by another key is a dead letter and
    stops nothing; the trusted gateway's own step then does."""
    gateway, stranger = NodeKey.generate("PL"), NodeKey.generate("PL")
    removals: dict[str, float] = {}
    stage = EffectModelStage(
        removals,
        trusted_issuers=TRUSTED,
        gateway_effectors=frozenset({"icpt-1"}),
        trusted_gateways={gateway.key_id: gateway.public_raw},
    )
    stage.step(START, [_truth("owa-1", DRONE), _proposal(DRONE, 1), _order(1)])
    observed = Event(
        event_id="lc-1",
        time=START + timedelta(seconds=40),
        source_id="effectors-mavlink",
        kind=EventKind.OBSERVATION,
        severity=3,
        summary="interceptor at its aim point",
        position=DRONE,
        attributes={"order_id": "O1", "effector_id": "icpt-1", "lifecycle": "effect_observed"},
    )
    signed = signed_lifecycle(observed, gateway)
    forged = [observed, signed_lifecycle(observed, stranger), _tampered(signed)]
    refused = stage.step(START + timedelta(seconds=40), forged)
    assert [type(m) for m in refused] == [DeadLetter] * 3
    reasons = [m.reason for m in refused if isinstance(m, DeadLetter)]
    assert "is not signed" in reasons[0]
    assert "not a trusted effector gateway" in reasons[1]
    assert "signature does not match" in reasons[2]
    assert stage.outcomes == [] and removals == {}
    (outcome,) = stage.step(START + timedelta(seconds=41), [signed])
    assert outcome is stage.outcomes[0] and removals


def _tampered(signed: Event) -> Event:
    """The signed step with its summary changed after signing."""
    return msgspec.structs.replace(signed, summary="interceptor at its aim point (edited)")
