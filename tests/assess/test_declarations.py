"""Declarations that must not outlive their evidence (found on the suwalki-drones run).

A drone's track was called clutter when it was 10 s old; the classifier's later answers
led with one-way attack drone but stayed under the confidence threshold, so the stage
held "clutter" for seven minutes and the drone was alerted late.
"""

from __future__ import annotations

from hotzone.assess.classifier import Classification
from hotzone.assess.context import AssessmentContext
from hotzone.assess.identity import IdentityEvidence, standard_identity
from hotzone.assess.stage import held_classification
from hotzone.types import StandardIdentity, TargetClass


def test_a_held_class_lapses_when_another_class_leads() -> None:
    clutter = Classification({"clutter": 0.97}, TargetClass.CLUTTER, 0.97, ())
    drone_leads = Classification(
        {"one_way_attack_drone": 0.38, "clutter": 0.28, "light_aircraft": 0.15},
        TargetClass.UNKNOWN,
        0.38,
        (),
    )
    clutter_leads = Classification(
        {"clutter": 0.42, "one_way_attack_drone": 0.30}, TargetClass.UNKNOWN, 0.42, ()
    )
    assert held_classification(clutter, drone_leads) is drone_leads
    held = held_classification(clutter, clutter_leads)
    assert held.target_class is TargetClass.CLUTTER
    assert held.probabilities == clutter_leads.probabilities


def test_a_non_cooperative_track_from_a_hostile_state_of_undetermined_class_is_suspect() -> None:
    context = AssessmentContext(home_countries=("PL",), hostile_countries=("BY",))
    from_belarus, reasons = standard_identity(
        IdentityEvidence(10, TargetClass.UNKNOWN, 0.38, origin_country="BY", current_country="PL"),
        context,
    )
    assert from_belarus == StandardIdentity.SUSPECT
    assert any("BY" in reason for reason in reasons)
    homegrown, _ = standard_identity(
        IdentityEvidence(10, TargetClass.UNKNOWN, 0.38, origin_country="PL", current_country="PL"),
        context,
    )
    assert homegrown == StandardIdentity.UNKNOWN
    clutter, _ = standard_identity(
        IdentityEvidence(10, TargetClass.CLUTTER, 0.9, origin_country="BY", current_country="PL"),
        context,
    )
    assert clutter == StandardIdentity.UNKNOWN
