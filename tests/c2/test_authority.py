"""The human-control rules of `Authority.issue_order`: what authorizes an order, what not.

Every adversarial case must produce no `TaskOrder` and leave a refusal in the audit log.
"""

from __future__ import annotations

import base64

import msgspec
import pytest

from hotzone.c2.audit import AuditKind, AuditLog, verify_chain
from hotzone.c2.authority import Refusal
from hotzone.c2.keys import SigningKey
from hotzone.types import (
    EffectClass,
    GeoPoint,
    OperatorRole,
    StandardIdentity,
    TargetClass,
    TaskOrder,
    Verdict,
)
from tests.c2.factories import (
    Crew,
    make_assessment,
    make_authority,
    make_proposal,
    make_track,
    seconds,
    situation,
)


@pytest.fixture(scope="module")
def crew() -> Crew:
    return Crew()


def assert_refused(result: object, audit: AuditLog, words: str) -> None:
    assert not isinstance(result, TaskOrder)
    assert isinstance(result, Refusal)
    assert words in result.reason
    last = audit.records[-1]
    assert last.kind == AuditKind.REFUSAL
    assert words in last.payload
    assert not any(record.kind == AuditKind.ORDER for record in audit.records)
    assert verify_chain(audit.records) is None


def test_two_distinct_authorized_people_authorize_a_kinetic_order(crew: Crew) -> None:
    authority, audit = make_authority(crew)
    proposal = make_proposal()
    decisions = [
        crew.commander.decide(proposal.content_hash, Verdict.APPROVE, seconds(5)),
        crew.operator.decide(proposal.content_hash, Verdict.APPROVE, seconds(8)),
    ]
    order = authority.issue_order(proposal, decisions, situation(seconds(9)))
    assert isinstance(order, TaskOrder)
    assert order.proposal_hash == proposal.content_hash
    assert set(order.decision_ids) == {d.decision_id for d in decisions}
    assert audit.records[-1].kind == AuditKind.ORDER


def test_one_operator_authorizes_a_non_kinetic_order(crew: Crew) -> None:
    authority, _ = make_authority(crew)
    proposal = make_proposal(EffectClass.NON_KINETIC)
    decision = crew.operator.decide(proposal.content_hash, Verdict.APPROVE, seconds(3))
    assert isinstance(authority.issue_order(proposal, [decision], situation(seconds(4))), TaskOrder)


def test_forged_signature_is_refused(crew: Crew) -> None:
    authority, audit = make_authority(crew)
    proposal = make_proposal(EffectClass.NON_KINETIC)
    genuine = crew.operator.decide(proposal.content_hash, Verdict.APPROVE, seconds(3))
    forged_bytes = bytearray(base64.b64decode(genuine.signature))
    forged_bytes[0] ^= 0x01
    forged = msgspec.structs.replace(
        genuine, signature=base64.b64encode(bytes(forged_bytes)).decode()
    )
    assert_refused(
        authority.issue_order(proposal, [forged], situation(seconds(4))), audit, "signature"
    )


def test_decision_signed_by_an_impostor_under_someone_elses_key_id_is_refused(crew: Crew) -> None:
    authority, audit = make_authority(crew)
    proposal = make_proposal(EffectClass.NON_KINETIC)
    impostor = SigningKey.generate("op-nowak", OperatorRole.OPERATOR)
    decision = impostor.sign(
        msgspec.structs.replace(
            impostor.decide(proposal.content_hash, Verdict.APPROVE, seconds(3)),
            key_id=crew.operator.key_id,
        )
    )
    assert_refused(
        authority.issue_order(proposal, [decision], situation(seconds(4))), audit, "signature"
    )


def test_unknown_key_is_refused(crew: Crew) -> None:
    authority, audit = make_authority(crew)
    proposal = make_proposal(EffectClass.NON_KINETIC)
    stranger = SigningKey.generate("op-stranger", OperatorRole.COMMANDER)
    decision = stranger.decide(proposal.content_hash, Verdict.APPROVE, seconds(3))
    assert_refused(
        authority.issue_order(proposal, [decision], situation(seconds(4))), audit, "unknown key"
    )


def test_role_that_may_not_approve_is_refused(crew: Crew) -> None:
    authority, audit = make_authority(crew)
    proposal = make_proposal(EffectClass.NON_KINETIC)
    decision = crew.observer.decide(proposal.content_hash, Verdict.APPROVE, seconds(3))
    assert_refused(
        authority.issue_order(proposal, [decision], situation(seconds(4))), audit, "may not decide"
    )


def test_claimed_role_must_match_the_registered_one(crew: Crew) -> None:
    authority, audit = make_authority(crew)
    proposal = make_proposal(EffectClass.NON_KINETIC)
    promoted = crew.observer.sign(
        msgspec.structs.replace(
            crew.observer.decide(proposal.content_hash, Verdict.APPROVE, seconds(3)),
            role=OperatorRole.COMMANDER,
        )
    )
    assert_refused(
        authority.issue_order(proposal, [promoted], situation(seconds(4))), audit, "belongs to"
    )


def test_replayed_decision_for_a_different_proposal_is_refused(crew: Crew) -> None:
    authority, audit = make_authority(crew)
    approved = make_proposal(EffectClass.NON_KINETIC, proposal_id="P1")
    other = make_proposal(EffectClass.NON_KINETIC, proposal_id="P2", track_id="T1")
    assert approved.content_hash != other.content_hash
    decision = crew.operator.decide(approved.content_hash, Verdict.APPROVE, seconds(3))
    assert_refused(
        authority.issue_order(other, [decision], situation(seconds(4))), audit, "is for proposal"
    )
    # Re-pointing the replayed decision at the other proposal breaks its signature.
    repointed = msgspec.structs.replace(decision, proposal_hash=other.content_hash)
    assert_refused(
        authority.issue_order(other, [repointed], situation(seconds(4))), audit, "signature"
    )


def test_decision_after_expiry_is_refused(crew: Crew) -> None:
    authority, audit = make_authority(crew)
    proposal = make_proposal(EffectClass.NON_KINETIC, lifetime_s=30)
    late = crew.operator.decide(proposal.content_hash, Verdict.APPROVE, seconds(31))
    assert_refused(
        authority.issue_order(proposal, [late], situation(seconds(32))), audit, "expired"
    )
    # An approval in time does not carry an order issued after expiry either.
    timely = crew.operator.decide(proposal.content_hash, Verdict.APPROVE, seconds(20))
    assert_refused(
        authority.issue_order(proposal, [timely], situation(seconds(31))), audit, "expired"
    )


@pytest.mark.parametrize("identity", [StandardIdentity.NEUTRAL, StandardIdentity.FRIEND])
def test_approval_is_void_after_the_identity_changes(
    crew: Crew, identity: StandardIdentity
) -> None:
    authority, audit = make_authority(crew)
    proposal = make_proposal(EffectClass.NON_KINETIC)
    decision = crew.operator.decide(proposal.content_hash, Verdict.APPROVE, seconds(3))
    now = situation(seconds(4), assessment=make_assessment(identity=identity, time=seconds(4)))
    assert_refused(authority.issue_order(proposal, [decision], now), audit, "void")


def test_approval_is_void_after_the_track_became_civil(crew: Crew) -> None:
    authority, audit = make_authority(crew)
    proposal = make_proposal(EffectClass.NON_KINETIC)
    decision = crew.operator.decide(proposal.content_hash, Verdict.APPROVE, seconds(3))
    civil = make_assessment(target_class=TargetClass.LIGHT_AIRCRAFT, time=seconds(4))
    assert_refused(
        authority.issue_order(proposal, [decision], situation(seconds(4), assessment=civil)),
        audit,
        "class is now",
    )


def test_approval_is_void_when_the_track_moved_beyond_tolerance(crew: Crew) -> None:
    authority, audit = make_authority(crew)
    proposal = make_proposal(EffectClass.NON_KINETIC)
    decision = crew.operator.decide(proposal.content_hash, Verdict.APPROVE, seconds(3))
    moved = make_track(position=GeoPoint(lat_deg=54.06, lon_deg=23.30, height_m=300.0))
    assert_refused(
        authority.issue_order(proposal, [decision], situation(seconds(4), track=moved)),
        audit,
        "from the stated position",
    )


def test_one_person_approving_a_kinetic_effect_twice_is_refused(crew: Crew) -> None:
    authority, audit = make_authority(crew)
    proposal = make_proposal(EffectClass.KINETIC)
    twice = [
        crew.commander.decide(proposal.content_hash, Verdict.APPROVE, seconds(3)),
        crew.commander.decide(proposal.content_hash, Verdict.APPROVE, seconds(4)),
    ]
    assert_refused(
        authority.issue_order(proposal, twice, situation(seconds(5))), audit, "needs 2 distinct"
    )


def test_kinetic_needs_a_commander_among_the_two(crew: Crew) -> None:
    authority, audit = make_authority(crew)
    proposal = make_proposal(EffectClass.KINETIC)
    second_operator = SigningKey.generate("op-second", OperatorRole.OPERATOR)
    crew.registry.register(second_operator.public)
    decisions = [
        crew.operator.decide(proposal.content_hash, Verdict.APPROVE, seconds(3)),
        second_operator.decide(proposal.content_hash, Verdict.APPROVE, seconds(4)),
    ]
    assert_refused(
        authority.issue_order(proposal, decisions, situation(seconds(5))), audit, "commander"
    )


def test_simulation_key_is_refused_when_an_input_is_live(crew: Crew) -> None:
    authority, audit = make_authority(crew)
    proposal = make_proposal(EffectClass.NON_KINETIC)
    decision = crew.simulated.decide(proposal.content_hash, Verdict.APPROVE, seconds(3))
    assert_refused(
        authority.issue_order(proposal, [decision], situation(seconds(4), fully_simulated=False)),
        audit,
        "simulation key",
    )
    # The same decision is accepted in a fully simulated run.
    order = authority.issue_order(proposal, [decision], situation(seconds(4), fully_simulated=True))
    assert isinstance(order, TaskOrder)


def test_roe_violating_proposal_is_never_approvable(crew: Crew) -> None:
    authority, audit = make_authority(crew)
    proposal = make_proposal(EffectClass.KINETIC, roe_passed=False)
    decisions = [
        crew.commander.decide(proposal.content_hash, Verdict.APPROVE, seconds(3)),
        crew.commander_2.decide(proposal.content_hash, Verdict.APPROVE, seconds(4)),
    ]
    assert_refused(
        authority.issue_order(proposal, decisions, situation(seconds(5))), audit, "no_fire_area"
    )


def test_tampered_proposal_is_refused(crew: Crew) -> None:
    authority, audit = make_authority(crew)
    proposal = make_proposal(EffectClass.NON_KINETIC)
    decision = crew.operator.decide(proposal.content_hash, Verdict.APPROVE, seconds(3))
    widened = msgspec.structs.replace(proposal, position_tolerance_m=50_000.0)
    assert_refused(
        authority.issue_order(widened, [decision], situation(seconds(4))), audit, "does not match"
    )


def test_order_after_abort_is_refused(crew: Crew) -> None:
    authority, audit = make_authority(crew)
    proposal = make_proposal(EffectClass.NON_KINETIC)
    decision = crew.operator.decide(proposal.content_hash, Verdict.APPROVE, seconds(3))
    assert_refused(
        authority.issue_order(proposal, [decision], situation(seconds(4), abort_active=True)),
        audit,
        "abort",
    )


def test_a_rejection_stops_the_order(crew: Crew) -> None:
    authority, audit = make_authority(crew)
    proposal = make_proposal(EffectClass.KINETIC)
    decisions = [
        crew.commander.decide(proposal.content_hash, Verdict.APPROVE, seconds(3)),
        crew.operator.decide(proposal.content_hash, Verdict.APPROVE, seconds(4)),
        crew.commander_2.decide(proposal.content_hash, Verdict.REJECT, seconds(5)),
    ]
    assert_refused(
        authority.issue_order(proposal, decisions, situation(seconds(6))), audit, "rejected"
    )


def test_cue_proposals_never_become_orders(crew: Crew) -> None:
    authority, audit = make_authority(crew)
    proposal = make_proposal(EffectClass.CUE)
    decision = crew.commander.decide(proposal.content_hash, Verdict.APPROVE, seconds(3))
    assert_refused(authority.issue_order(proposal, [decision], situation(seconds(4))), audit, "cue")
