"""`ResponseStage` end to end on the suwalki-drones effectors and rules of engagement."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from hotzone.c2.audit import AuditKind, verify_chain
from hotzone.c2.authority import ABORT_HASH, RESUME_HASH
from hotzone.c2.config import AuthoritySpec, C2Spec, CoalitionRule, load_c2_spec
from hotzone.c2.keys import OperatorRegistry, SigningKey, verify_signature
from hotzone.c2.stage import ResponseStage
from hotzone.c2.trust import NodeKey
from hotzone.runtime.c2_offline import restore_from_store
from hotzone.runtime.effectors.base import signed_lifecycle
from hotzone.runtime.routing import subject_for
from hotzone.store import SQLiteStore
from hotzone.types import (
    Alert,
    AlertState,
    AnyMessage,
    Assessment,
    AuditRecord,
    Decision,
    EffectClass,
    Event,
    EventKind,
    GeoPoint,
    OperatorRole,
    Proposal,
    RunMode,
    StandardIdentity,
    TargetClass,
    TaskOrder,
    Track,
    TrackStatus,
    Verdict,
    from_json,
)
from tests.c2.factories import Crew, make_assessment, make_track, seconds

# A one-way attack drone over Poland, 14 km east of the Suwałki garrison, flying west.
START = GeoPoint(lat_deg=54.09, lon_deg=23.17, height_m=300.0)
VELOCITY = (-50.0, 0.0, 0.0)


@pytest.fixture(scope="module")
def spec() -> C2Spec:
    return load_c2_spec("suwalki-drones")


@pytest.fixture(scope="module")
def crew() -> Crew:
    return Crew()


def drone_at(time: datetime, position: GeoPoint = START, identity=StandardIdentity.HOSTILE):
    track = msgspec.structs.replace(
        make_track(position=position, time=time), enu_velocity_mps=VELOCITY
    )
    return [track, make_assessment(identity=identity, time=time)]


def of_type(messages: list[AnyMessage], kind: type) -> list:
    return [m for m in messages if isinstance(m, kind)]


def test_a_threat_is_cued_automatically_and_proposed_for_a_decision(
    spec: C2Spec, crew: Crew
) -> None:
    stage = ResponseStage(spec, crew.registry)
    outputs = stage.step(seconds(0), drone_at(seconds(0)))
    cues = [a for a in of_type(outputs, Alert) if a.kind == "cue"]
    assert any("eoir-garrison" in cue.summary for cue in cues)
    proposals = of_type(outputs, Proposal)
    assert len(proposals) == 1
    proposal = proposals[0]
    assert proposal.effect_class is not EffectClass.CUE
    assert proposal.roe_checks and all(check.passed for check in proposal.roe_checks)
    assert any("reaches Suwałki garrison" in line for line in proposal.rationale)
    assert not of_type(outputs, TaskOrder)  # nothing without a human
    # A second step with the proposal pending proposes nothing new and cues no one again.
    again = stage.step(seconds(1), drone_at(seconds(1)))
    assert not of_type(again, Proposal) and not of_type(again, Alert)


def approve(stage: ResponseStage, proposal: Proposal, keys: list[SigningKey], at: float):
    decisions = [key.decide(proposal.content_hash, Verdict.APPROVE, seconds(at)) for key in keys]
    return stage.step(seconds(at), [*drone_at(seconds(at)), *decisions])


def test_two_approvals_make_one_order_and_the_audit_holds_it_all(spec: C2Spec, crew: Crew) -> None:
    stage = ResponseStage(spec, crew.registry)
    first = stage.step(seconds(0), drone_at(seconds(0)))
    proposal = of_type(first, Proposal)[0]
    outputs = approve(stage, proposal, [crew.commander, crew.operator], 5)
    orders = of_type(outputs, TaskOrder)
    assert len(orders) == 1
    assert orders[0].proposal_hash == proposal.content_hash
    records = of_type(first + outputs, AuditRecord)
    assert verify_chain(records) is None
    kinds = [record.kind for record in records]
    assert kinds.count(AuditKind.PROPOSAL) == 1
    assert kinds.count(AuditKind.DECISION) == 2
    assert kinds[-1] == AuditKind.ORDER


def test_abort_cancels_pending_and_refuses_until_a_commander_resumes(
    spec: C2Spec, crew: Crew
) -> None:
    stage = ResponseStage(spec, crew.registry)
    proposal = of_type(stage.step(seconds(0), drone_at(seconds(0))), Proposal)[0]
    abort = crew.operator.decide(ABORT_HASH, Verdict.REJECT, seconds(2))
    outputs = stage.step(seconds(2), [*drone_at(seconds(2)), abort])
    assert any(a.kind == "abort" for a in of_type(outputs, Alert))
    late = approve(stage, proposal, [crew.commander, crew.operator], 3)
    assert not of_type(late, TaskOrder)
    assert not of_type(stage.step(seconds(4), drone_at(seconds(4))), Proposal)
    # An operator may not lift the abort; a commander may.
    stage.step(seconds(5), [crew.operator.decide(RESUME_HASH, Verdict.APPROVE, seconds(5))])
    assert stage.abort_active
    resumed = stage.step(
        seconds(6),
        [*drone_at(seconds(6)), crew.commander.decide(RESUME_HASH, Verdict.APPROVE, seconds(6))],
    )
    assert not stage.abort_active
    assert of_type(resumed, Proposal)


def test_simulation_keys_are_refused_unless_the_run_is_a_simulation(
    spec: C2Spec, crew: Crew
) -> None:
    for mode, ordered in ((RunMode.LIVE, False), (RunMode.SIMULATION, True)):
        stage = ResponseStage(spec, crew.registry, mode=mode)
        proposal = of_type(stage.step(seconds(0), drone_at(seconds(0))), Proposal)[0]
        outputs = approve(stage, proposal, [crew.simulated, crew.simulated_2], 2)
        assert bool(of_type(outputs, TaskOrder)) is ordered
        refusals = [r for r in of_type(outputs, AuditRecord) if r.kind == AuditKind.REFUSAL]
        assert any("simulation key" in r.payload for r in refusals) is not ordered


def test_a_proposal_becomes_void_when_the_track_turns_neutral(spec: C2Spec, crew: Crew) -> None:
    stage = ResponseStage(spec, crew.registry)
    proposal = of_type(stage.step(seconds(0), drone_at(seconds(0))), Proposal)[0]
    outputs = stage.step(seconds(2), drone_at(seconds(2), identity=StandardIdentity.NEUTRAL))
    assert any(r.kind == AuditKind.VOID for r in of_type(outputs, AuditRecord))
    later = approve(stage, proposal, [crew.commander, crew.operator], 3)
    assert not of_type(later, TaskOrder)


def test_a_proposal_becomes_void_when_its_track_ends(spec: C2Spec, crew: Crew) -> None:
    """The tracker publishes an ended track once more, as deleted (every window mode, since
    2026-12): c2 no longer holds it, the pending proposal is void and approving it later
    issues no order (the object may have gone anywhere since it was last seen)."""
    stage = ResponseStage(spec, crew.registry)
    proposal = of_type(stage.step(seconds(0), drone_at(seconds(0))), Proposal)[0]
    track, _ = drone_at(seconds(2))
    ended = msgspec.structs.replace(track, status=TrackStatus.DELETED)
    outputs = stage.step(seconds(2), [ended])
    voids = [r for r in of_type(outputs, AuditRecord) if r.kind == AuditKind.VOID]
    assert voids and "no longer held" in voids[0].payload
    later = approve(stage, proposal, [crew.commander, crew.operator], 3)
    assert not of_type(later, TaskOrder)


def test_a_tracks_cues_close_when_it_ends_and_only_its_own(spec: C2Spec, crew: Crew) -> None:
    """A cue says a sensor was pointed at an object; once its track is deleted the alert
    is closed (the page's list of open alerts would otherwise keep it for ever), once, and
    another track's cue stays open."""
    stage = ResponseStage(spec, crew.registry)
    first, assessment = drone_at(seconds(0))
    second = msgspec.structs.replace(first, track_id="trk-2", track_number=2)
    other = msgspec.structs.replace(assessment, track_id="trk-2")
    opened = [a for a in of_type(stage.step(seconds(0), [first, assessment, second, other]), Alert)]
    cues = {a.alert_id: a for a in opened if a.kind == "cue"}
    assert {a.track_id for a in cues.values()} == {first.track_id, "trk-2"}
    ended = msgspec.structs.replace(first, status=TrackStatus.DELETED, time=seconds(2))
    closed = [a for a in of_type(stage.step(seconds(2), [ended]), Alert) if a.kind == "cue"]
    assert closed and {a.track_id for a in closed} == {first.track_id}
    assert {a.alert_id for a in closed} == {
        key for key, cue in cues.items() if cue.track_id == first.track_id
    }
    assert all(a.state is AlertState.CLOSED and a.reasons[-1] == "track deleted" for a in closed)
    assert all(a.releasability == cues[a.alert_id].releasability for a in closed)
    # Closed once; the other track's cue is still open and closes when it ends.
    assert not [a for a in of_type(stage.step(seconds(3), [ended]), Alert) if a.kind == "cue"]
    gone = msgspec.structs.replace(second, status=TrackStatus.DELETED, time=seconds(4))
    later = [a for a in of_type(stage.step(seconds(4), [gone]), Alert) if a.kind == "cue"]
    assert {a.track_id for a in later} == {"trk-2"}


# --- the property: every order has a valid chain back to distinct authorized humans ---

ACTIONS = st.lists(
    st.one_of(
        st.tuples(
            st.just("decide"),
            st.sampled_from(
                ["commander", "commander_2", "operator", "observer", "simulated", "stranger"]
            ),
            st.sampled_from([Verdict.APPROVE, Verdict.REJECT]),
            st.integers(0, 3),
            st.booleans(),  # forge the signature
        ),
        st.tuples(
            st.just("pair"),
            st.sampled_from(["commander", "simulated", "observer"]),
            st.sampled_from(["operator", "commander_2", "commander"]),
            st.integers(0, 3),
        ),
        st.tuples(st.just("pair"), st.just("commander"), st.just("operator"), st.just(-1)),
        st.tuples(st.just("pair"), st.just("commander"), st.just("commander_2"), st.just(-1)),
        st.tuples(st.just("move"), st.floats(-0.03, 0.03), st.floats(-0.03, 0.03)),
        st.tuples(st.just("identity"), st.sampled_from(list(StandardIdentity))),
        st.tuples(
            st.just("class"),
            st.sampled_from([TargetClass.ONE_WAY_ATTACK_DRONE, TargetClass.LIGHT_AIRCRAFT]),
        ),
        st.tuples(
            st.just("abort"), st.sampled_from(["operator", "commander", "observer"]), st.booleans()
        ),
        st.tuples(st.just("wait"), st.integers(1, 40)),
    ),
    min_size=2,
    max_size=25,
)


def _chain_is_valid(order: TaskOrder, records: list[AuditRecord], crew: Crew) -> None:
    proposals = {
        p.content_hash: p
        for r in records
        if r.kind == AuditKind.PROPOSAL and isinstance(p := from_json(r.payload), Proposal)
    }
    decisions = {
        d.decision_id: d
        for r in records
        if r.kind == AuditKind.DECISION and isinstance(d := from_json(r.payload), Decision)
    }
    proposal = proposals[order.proposal_hash]
    assert order.effector_id == proposal.effector_id and order.track_id == proposal.track_id
    assert proposal.effect_class is not EffectClass.CUE
    assert all(check.passed for check in proposal.roe_checks)
    assert order.time <= proposal.expires_at
    people = set()
    for decision_id in order.decision_ids:
        decision = decisions[decision_id]
        key = crew.registry.get(decision.key_id)
        assert key is not None and not key.simulation
        assert verify_signature(decision, key)
        assert decision.verdict is Verdict.APPROVE
        assert decision.proposal_hash == proposal.content_hash
        assert key.role in (OperatorRole.OPERATOR, OperatorRole.COMMANDER)
        people.add(key.operator_id)
    assert len(people) == len(order.decision_ids)
    if proposal.effect_class is EffectClass.KINETIC:
        assert len(people) >= 2
        assert any(
            crew.registry.get(decisions[i].key_id).role is OperatorRole.COMMANDER
            for i in order.decision_ids
        )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(actions=ACTIONS)
@example(
    actions=[
        ("pair", "commander", "operator", -1),
        ("wait", 30),
        ("pair", "commander", "commander_2", -1),
    ]
)
@example(
    actions=[
        ("decide", "operator", Verdict.APPROVE, 0, False),
        ("pair", "commander", "commander", 0),
    ]
)
def test_every_order_traces_back_to_approvals_of_distinct_authorized_humans(
    spec: C2Spec, crew: Crew, actions: list[tuple]
) -> None:
    stage = ResponseStage(spec, crew.registry)
    stranger = SigningKey.generate("stranger", OperatorRole.COMMANDER)
    keys = {
        "commander": crew.commander,
        "commander_2": crew.commander_2,
        "operator": crew.operator,
        "observer": crew.observer,
        "simulated": crew.simulated,
        "stranger": stranger,
    }
    now = 0.0
    position = START
    identity = StandardIdentity.HOSTILE
    target_class = TargetClass.ONE_WAY_ATTACK_DRONE
    outputs: list[AnyMessage] = []
    proposals: list[Proposal] = []
    aborted = False
    for action in actions:
        inputs: list[AnyMessage] = []
        if action[0] == "decide":
            _, who, verdict, index, forge = action
            if proposals:
                decision = keys[who].decide(
                    proposals[index % len(proposals)].content_hash, verdict, seconds(now)
                )
                if forge:
                    decision = msgspec.structs.replace(
                        decision,
                        verdict=Verdict.APPROVE if verdict is Verdict.REJECT else Verdict.REJECT,
                    )
                inputs.append(decision)
        elif action[0] == "pair":
            _, first, second, index = action
            if proposals:
                target = proposals[index % len(proposals)].content_hash
                inputs += [
                    keys[who].decide(target, Verdict.APPROVE, seconds(now))
                    for who in (first, second)
                ]
        elif action[0] == "move":
            position = GeoPoint(
                lat_deg=position.lat_deg + action[1],
                lon_deg=position.lon_deg + action[2],
                height_m=300.0,
            )
        elif action[0] == "identity":
            identity = action[1]
        elif action[0] == "class":
            target_class = action[1]
        elif action[0] == "abort":
            hash_ = RESUME_HASH if action[2] else ABORT_HASH
            inputs.append(keys[action[1]].decide(hash_, Verdict.REJECT, seconds(now)))
        else:
            now += action[1]
        track, _ = drone_at(seconds(now), position)
        assessment = make_assessment(
            identity=identity, target_class=target_class, time=seconds(now)
        )
        step_outputs = stage.step(seconds(now), [track, assessment, *inputs])
        proposals += of_type(step_outputs, Proposal)
        if of_type(step_outputs, TaskOrder):
            assert not aborted  # no order while an abort stood before this step
        aborted = stage.abort_active
        outputs += step_outputs
        now += 1
    records = of_type(outputs, AuditRecord)
    assert verify_chain(records) is None
    event(f"orders issued: {min(len(of_type(outputs, TaskOrder)), 2)}")
    for order in of_type(outputs, TaskOrder):
        _chain_is_valid(order, records, crew)
        assert [r for r in records if r.kind == AuditKind.ORDER and order.order_id in r.payload]


def test_what_c2_derives_is_never_wider_than_its_inputs(spec: C2Spec, crew: Crew) -> None:
    stage = ResponseStage(spec, crew.registry, releasability="REL PL LT")
    national = [
        msgspec.structs.replace(m, releasability="NATIONAL PL") for m in drone_at(seconds(0))
    ]
    first = stage.step(seconds(0), national)
    proposal = of_type(first, Proposal)[0]
    assert proposal.releasability == "NATIONAL PL"
    cues = [a for a in of_type(first, Alert) if a.kind == "cue"]
    assert cues and {a.releasability for a in cues} == {"NATIONAL PL"}
    outputs = approve(stage, proposal, [crew.commander, crew.operator], 5)
    (order,) = of_type(outputs, TaskOrder)
    assert order.releasability == "NATIONAL PL"
    derived = [m for m in outputs if not isinstance(m, Track | Assessment)]
    assert all(
        m.releasability == "NATIONAL PL" for m in derived if type(m).__name__ != "AuditCheckpoint"
    )
    stage.finish(seconds(6))
    # Only the signed heads of the audit chain go to allies, as witnesses.
    assert {c.releasability for c in stage.audit.drain_checkpoints()} <= {"NATO"}


def test_national_authority_is_data_coalition_rules_widen_it(spec: C2Spec, crew: Crew) -> None:
    allied = SigningKey.generate("lt.cdr.petraitis", OperatorRole.COMMANDER)
    registry = OperatorRegistry(
        [*crew.registry, msgspec.structs.replace(allied.public, nation="LT")]
    )
    coalition = msgspec.structs.replace(
        spec,
        authority=AuthoritySpec(
            coalition=[CoalitionRule(effector_country="PL", deciders=["LT"])],
            abort_nations=["LT"],
        ),
    )
    for rules, ordered in ((spec, False), (coalition, True)):
        stage = ResponseStage(rules, registry, nation="PL")
        proposal = of_type(stage.step(seconds(0), drone_at(seconds(0))), Proposal)[0]
        outputs = approve(stage, proposal, [crew.operator, allied], 5)
        assert bool(of_type(outputs, TaskOrder)) is ordered
        abort = allied.decide(ABORT_HASH, Verdict.APPROVE, seconds(6))
        stage.step(seconds(6), [abort])
        assert stage.abort_active is ordered


def test_a_restarted_c2_keeps_its_cues_cues_no_one_again_and_closes_them_when_tracks_end(
    spec: C2Spec, crew: Crew, tmp_path: Path
) -> None:
    """A node restarted from its store (`restore_from_store`): the sensors it had pointed
    at live threats are not pointed again, a cue still open is closed when its track ends
    after the restart, one closed before is not closed again, and an operator's
    acknowledgement already on the record is not recorded twice when it comes again."""
    first, assessment = drone_at(seconds(0))
    second = msgspec.structs.replace(first, track_id="trk-2", track_number=2)
    other = msgspec.structs.replace(assessment, track_id="trk-2")
    third = msgspec.structs.replace(first, track_id="trk-3", track_number=3)
    third_assessment = msgspec.structs.replace(assessment, track_id="trk-3")
    before = ResponseStage(spec, crew.registry)
    published: list[AnyMessage] = [first, assessment, second, other, third, third_assessment]
    published += before.step(seconds(0), published)
    cues = [a for a in of_type(published, Alert) if a.kind == "cue"]
    assert {a.track_id for a in cues} == {first.track_id, "trk-2", "trk-3"}
    # trk-3 ends before the restart (its cues close then); an operator acknowledges a cue.
    gone = msgspec.structs.replace(third, status=TrackStatus.DELETED, time=seconds(1))
    acknowledged = msgspec.structs.replace(
        next(a for a in cues if a.track_id == "trk-2"),
        state=AlertState.ACKNOWLEDGED,
        acknowledged_by="op-anna",
        time=seconds(1),
    )
    published += [gone, acknowledged]
    published += before.step(seconds(1), [gone, acknowledged])
    assert {a.track_id for a in of_type(published, Alert) if a.state is AlertState.CLOSED} == {
        "trk-3"
    }
    published += before.finish(seconds(1))
    with SQLiteStore(tmp_path / "hotzone.sqlite") as store:
        for message in published:
            store.append(subject_for(message, "PL"), message)
        after = ResponseStage(spec, crew.registry)
        assert restore_from_store(after, store)

    # The same threats go on: no one is cued again; the acknowledgement, redelivered, is
    # not put on the record a second time.
    going_on = after.step(seconds(3), [first, assessment, second, other, acknowledged])
    assert not [a for a in of_type(going_on, Alert) if a.kind == "cue"]
    assert not [r for r in of_type(going_on, AuditRecord) if r.kind == AuditKind.ACKNOWLEDGE.value]
    # The first track ends after the restart: its cues close, once; trk-3's stay closed.
    ended = msgspec.structs.replace(first, status=TrackStatus.DELETED, time=seconds(4))
    closed = [a for a in of_type(after.step(seconds(4), [ended]), Alert) if a.kind == "cue"]
    assert {a.alert_id for a in closed} == {
        a.alert_id for a in cues if a.track_id == first.track_id
    }
    assert all(a.state is AlertState.CLOSED and a.reasons[-1] == "track deleted" for a in closed)
    assert not [a for a in of_type(after.step(seconds(5), [ended]), Alert) if a.kind == "cue"]
    # A new track of the same drone is a new object to cue.
    again = msgspec.structs.replace(first, track_id="trk-4", track_number=4, time=seconds(6))
    again_assessment = msgspec.structs.replace(assessment, track_id="trk-4", time=seconds(6))
    renewed = after.step(seconds(6), [again, again_assessment])
    assert {a.track_id for a in of_type(renewed, Alert) if a.kind == "cue"} == {"trk-4"}


def test_a_restarted_c2_puts_an_effector_report_it_had_recorded_on_the_record_no_more(
    spec: C2Spec, crew: Crew, tmp_path: Path
) -> None:
    """A gateway's lifecycle step that reached c2 before a restart and comes again after
    it (redelivered, or republished by the gateway) is on the audit record once."""
    gateway = NodeKey.generate("PL", "gateway")
    trusted = {gateway.key_id: gateway.public_raw}
    before = ResponseStage(spec, crew.registry, trusted_gateways=trusted)
    published: list[AnyMessage] = before.step(seconds(0), drone_at(seconds(0)))
    proposal = of_type(published, Proposal)[0]
    published += approve(before, proposal, [crew.commander, crew.operator], 5)
    order = of_type(published, TaskOrder)[0]
    report = signed_lifecycle(
        Event(
            event_id=f"order:{order.order_id}:acknowledged:1",
            time=seconds(6),
            source_id="effectors-sapient",
            kind=EventKind.OBSERVATION,
            severity=3,
            summary=f"{order.effector_id}: acknowledged",
            attributes={
                "order_id": order.order_id,
                "effector_id": order.effector_id,
                "interface": "sapient",
                "lifecycle": "acknowledged",
            },
        ),
        gateway,
    )
    published += [report, *before.step(seconds(6), [report])]
    published += before.finish(seconds(6))
    recorded = [r for r in of_type(published, AuditRecord) if r.kind == AuditKind.EFFECTOR]
    assert len(recorded) == 1
    with SQLiteStore(tmp_path / "hotzone.sqlite") as store:
        for message in published:
            store.append(subject_for(message, "PL"), message)
        after = ResponseStage(spec, crew.registry, trusted_gateways=trusted)
        assert restore_from_store(after, store)
    again = after.step(seconds(8), [report])
    assert not [r for r in of_type(again, AuditRecord) if r.kind == AuditKind.EFFECTOR]
