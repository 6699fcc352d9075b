"""Human control as an attacker meets the running system (docs/architecture.md): a c2 node on a
real bus (in-process, and a real nats-server with JetStream), attacked by anyone who can
publish on it. Every attack is refused **and** on the audit record; nothing becomes an
order, and an order that c2 did not issue is refused by every consumer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from hotzone.bus import Bus, InProcessBus
from hotzone.bus.nats import NatsBus, nation_streams
from hotzone.c2.authority import ABORT_HASH, RESUME_HASH
from hotzone.c2.keys import SigningKey
from hotzone.c2.trust import NodeKey, trusted_node_keys
from hotzone.types import (
    C2State,
    DeadLetter,
    GeoPoint,
    Proposal,
    ProposalStatus,
    TaskOrder,
    Verdict,
)
from hotzone.types.signing import order_fault, order_signing_bytes
from tests.c2.attack_rig import C2OnBus, Crew, of_type, outcome_of, refusals
from tests.c2.factories import make_assessment, make_track, seconds

# A one-way attack drone over Poland east of the Suwałki garrison, flying west, 2 km from
# the Sejny no-fire area.
START = GeoPoint(lat_deg=54.10, lon_deg=23.31, height_m=300.0)
INSIDE_SEJNY = GeoPoint(lat_deg=54.11, lon_deg=23.335, height_m=300.0)


def drone(at: float, position: GeoPoint = START) -> list:  # type: ignore[type-arg]
    track = msgspec.structs.replace(
        make_track(position=position, time=seconds(at)), enu_velocity_mps=(-50.0, 0.0, 0.0)
    )
    return [track, make_assessment(time=seconds(at))]


@pytest.fixture(params=["inprocess", "nats"])
def bus_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOTZONE_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


async def _bus(kind: str, url: str | None) -> Bus:
    if kind == "inprocess":
        return InProcessBus()
    assert url is not None
    bus = await NatsBus.connect(url, nation_streams("PL", archives=False))
    await bus.jetstream.purge_stream("HZ_PL")
    return bus


async def _c2(kind: str, url: str | None, home: Path) -> AsyncIterator[C2OnBus]:
    bus = await _bus(kind, url)
    rig = C2OnBus(bus, home)
    await rig.start()
    try:
        yield rig
    finally:
        await rig.stop()
        await bus.close()


async def _kinetic_proposal(rig: C2OnBus) -> Proposal:
    await rig.publish(*drone(0))
    outputs = await rig.tick(seconds(0))
    kinetic = [p for p in of_type(outputs, Proposal) if p.effect_class == "kinetic"]
    assert kinetic, "c2 proposed no kinetic engagement of the drone"
    return kinetic[0]


def test_forged_decisions_are_refused_and_audited_and_two_real_ones_make_a_signed_order(
    bus_kind: str, nats_url: str, home: Path
) -> None:
    crew = Crew.enrolled(home)

    async def scenario() -> None:
        async for rig in _c2(bus_kind, nats_url, home):
            proposal = await _kinetic_proposal(rig)
            target = proposal.content_hash
            # The key file edited to name the commander: the key is the operator's.
            edited = SigningKey("pl.cdr.nowak", crew.commander.role, crew.operator._private_key)
            valid = crew.commander.decide(target, Verdict.APPROVE, seconds(1))
            forged_signature = msgspec.structs.replace(
                valid,
                decision_id="dec-forged",
                signature=crew.unregistered.decide(target, Verdict.APPROVE, seconds(1)).signature,
            )
            attacks = {
                "unknown key": crew.unregistered.decide(target, Verdict.APPROVE, seconds(1)),
                "observer": crew.observer.decide(target, Verdict.APPROVE, seconds(1)),
                "revoked": crew.revoked.decide(target, Verdict.APPROVE, seconds(1)),
                "simulation key": crew.simulation.decide(target, Verdict.APPROVE, seconds(1)),
                "belongs to": edited.decide(target, Verdict.APPROVE, seconds(1)),
                "national authority": crew.allied_commander.decide(
                    target, Verdict.APPROVE, seconds(1)
                ),
                "signature": forged_signature,
                "dated in the future": crew.commander.decide(
                    target, Verdict.APPROVE, seconds(3600)
                ),
            }
            await rig.publish(*drone(1), *attacks.values())
            outputs = await rig.tick(seconds(1))
            audited = refusals(rig.seen)
            for reason, decision in attacks.items():
                outcome = outcome_of(outputs, decision.decision_id)
                assert not outcome.accepted and outcome.code == "forbidden", reason
                assert reason in outcome.reason, (reason, outcome.reason)
                assert any(decision.decision_id in line for line in audited), reason
            assert not of_type(rig.seen, TaskOrder)

            # A garbled decision is a dead letter, not a crash.
            await rig.publish_raw("hz.PL.c2.decision", b'{"type":"decision","signature":')
            # The operator approves; the same decision replayed is refused as a replay.
            approval = crew.operator.decide(target, Verdict.APPROVE, seconds(2))
            await rig.publish(*drone(2), approval)
            first = await rig.tick(seconds(2))
            assert outcome_of(first, approval.decision_id).accepted
            status = of_type(first, ProposalStatus)[-1]
            assert status.missing == "awaiting commander" and status.state == "pending"
            assert of_type(rig.seen, DeadLetter)
            await rig.publish(*drone(3), approval)
            replayed = outcome_of(await rig.tick(seconds(3)), approval.decision_id)
            assert replayed.code == "conflict" and "replay" in replayed.reason
            assert not of_type(rig.seen, TaskOrder)

            await rig.publish(*drone(4), valid)
            outputs = await rig.tick(seconds(4))
            orders = of_type(outputs, TaskOrder)
            assert len(orders) == 1
            order = orders[0]
            assert order_fault(order, trusted_node_keys(home)) is None
            assert set(order.decision_ids) == {approval.decision_id, valid.decision_id}

    asyncio.run(scenario())


def test_orders_c2_did_not_issue_are_audited_and_refused_by_every_consumer(
    bus_kind: str, nats_url: str, home: Path
) -> None:
    crew = Crew.enrolled(home)

    async def scenario() -> None:
        async for rig in _c2(bus_kind, nats_url, home):
            proposal = await _kinetic_proposal(rig)
            for at, key in ((1, crew.operator), (2, crew.commander)):
                decision = key.decide(proposal.content_hash, Verdict.APPROVE, seconds(at))
                await rig.publish(*drone(at), decision)
                await rig.tick(seconds(at))
            real = of_type(rig.seen, TaskOrder)[0]
            trusted = trusted_node_keys(home)
            intruder = NodeKey.generate("PL")
            unsigned = msgspec.structs.replace(real, order_id="ord-unsigned", signature="")
            resigned = msgspec.structs.replace(
                real, order_id="ord-intruder", issuer_key_id=intruder.key_id, signature=""
            )
            resigned = msgspec.structs.replace(
                resigned, signature=intruder.sign(order_signing_bytes(resigned))
            )
            altered = msgspec.structs.replace(real, effector_id="shorad-suwalki")
            forged = [unsigned, resigned, altered]
            for order in forged:
                assert order_fault(order, trusted) is not None
            await rig.publish(*drone(3), *forged, real)
            await rig.tick(seconds(3))
            audited = refusals(rig.seen)
            assert any("ord-unsigned" in line and "not issued" in line for line in audited)
            assert any("ord-intruder" in line and "not issued" in line for line in audited)
            assert any(real.order_id in line and "altered" in line for line in audited)
            assert any(real.order_id in line and "replayed" in line for line in audited)

    asyncio.run(scenario())


def test_rules_of_engagement_are_checked_again_when_a_decision_arrives(
    bus_kind: str, nats_url: str, home: Path
) -> None:
    crew = Crew.enrolled(home)

    async def scenario() -> None:
        async for rig in _c2(bus_kind, nats_url, home):
            proposal = await _kinetic_proposal(rig)
            assert all(check.passed for check in proposal.roe_checks)
            # The drone flies into the Sejny no-fire area; then the operator approves.
            approval = crew.operator.decide(proposal.content_hash, Verdict.APPROVE, seconds(2))
            await rig.publish(*drone(2, INSIDE_SEJNY), approval)
            outcome = outcome_of(await rig.tick(seconds(2)), approval.decision_id)
            assert outcome.code == "conflict" and "no_fire_area" in outcome.reason
            assert any("no_fire_area" in line for line in refusals(rig.seen))
            late = crew.commander.decide(proposal.content_hash, Verdict.APPROVE, seconds(3))
            await rig.publish(*drone(3, INSIDE_SEJNY), late)
            assert not outcome_of(await rig.tick(seconds(3)), late.decision_id).accepted
            assert not of_type(rig.seen, TaskOrder)

    asyncio.run(scenario())


def test_abort_needs_a_signature_of_the_nation_and_only_its_commander_resumes(
    bus_kind: str, nats_url: str, home: Path
) -> None:
    crew = Crew.enrolled(home)

    async def scenario() -> None:
        async for rig in _c2(bus_kind, nats_url, home):
            proposal = await _kinetic_proposal(rig)
            attempts = [
                crew.unregistered.decide(ABORT_HASH, Verdict.APPROVE, seconds(1)),
                crew.observer.decide(ABORT_HASH, Verdict.APPROVE, seconds(1)),
                crew.allied_commander.decide(ABORT_HASH, Verdict.APPROVE, seconds(1)),
            ]
            await rig.publish(*drone(1), *attempts)
            outputs = await rig.tick(seconds(1))
            for attempt in attempts:
                assert not outcome_of(outputs, attempt.decision_id).accepted
            assert not any(s.abort_active for s in of_type(rig.seen, C2State))

            abort = crew.operator.decide(ABORT_HASH, Verdict.APPROVE, seconds(2))
            await rig.publish(*drone(2), abort)
            outputs = await rig.tick(seconds(2))
            assert outcome_of(outputs, abort.decision_id).accepted
            assert of_type(outputs, C2State)[-1].abort_active
            cancelled = [s for s in of_type(outputs, ProposalStatus) if s.state == "cancelled"]
            assert proposal.content_hash in {s.proposal_hash for s in cancelled}

            operator_resume = crew.operator.decide(RESUME_HASH, Verdict.APPROVE, seconds(3))
            await rig.publish(*drone(3), operator_resume)
            outputs = await rig.tick(seconds(3))
            assert not outcome_of(outputs, operator_resume.decision_id).accepted
            resume = crew.commander.decide(RESUME_HASH, Verdict.APPROVE, seconds(4))
            await rig.publish(*drone(4), resume)
            outputs = await rig.tick(seconds(4))
            assert outcome_of(outputs, resume.decision_id).accepted
            assert not of_type(outputs, C2State)[-1].abort_active
            assert rig.stage is not None and not rig.stage.abort_active

    asyncio.run(scenario())


@pytest.mark.slow(42)
def test_a_live_run_fed_detections_only_never_orders_anything(home: Path) -> None:
    """What `hotzone node` composes (live mode) on a real feed: c2 proposes, nobody in the
    run may approve (no simulated people, simulation keys refused), so nothing is ordered
    however the tracks' sensors are named."""
    from hotzone.runtime.pipeline import Pipeline
    from hotzone.runtime.stages import build_stages
    from hotzone.sim.scenario import load_scenario
    from hotzone.sim.simulator import simulate
    from hotzone.store import SQLiteStore
    from hotzone.types import RunMode

    scenario = load_scenario("suwalki-drones")
    run = build_stages(scenario, mode=RunMode.LIVE, home=home)
    assert run.response is not None and not run.operators and run.effects is None
    assert not any(stage.name in ("operators", "effects") for stage in run.stages)

    async def scenario_run() -> list:  # type: ignore[type-arg]
        with SQLiteStore(home.parent / "live.sqlite") as store:
            pipeline = Pipeline(InProcessBus(), store, run.stages)
            await pipeline.run(simulate(scenario, seed=1, duration_s=700))
            return [stored.message for stored in store.replay()]

    recorded = asyncio.run(scenario_run())
    proposals = of_type(recorded, Proposal)
    decidable = [p for p in proposals if all(check.passed for check in p.roe_checks)]
    assert decidable, "the feed gave c2 nothing to propose: the test would prove nothing"
    assert not of_type(recorded, TaskOrder)
    assert {state.mode for state in of_type(recorded, C2State)} == {"live"}
