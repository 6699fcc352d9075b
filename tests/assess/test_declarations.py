"""Declarations that must not outlive their evidence (found on the suwalki-drones run).

A drone's track was called clutter when it was 10 s old; the classifier's later answers
led with one-way attack drone but stayed under the confidence threshold, so the stage
held "clutter" for seven minutes and the drone was alerted late. And the dark tanker on
baltic-cable, crawling at 3 kt over the pipeline, was never flagged: its radar-only
track's velocities were noise.
"""

from __future__ import annotations

import numpy as np

from hotzone.assess.anomaly import DarkVesselDetector, drift_speeds
from hotzone.assess.classifier import Classification
from hotzone.assess.context import AssessmentContext, InfrastructureSpec
from hotzone.assess.history import TrackHistories
from hotzone.assess.identity import IdentityEvidence, standard_identity
from hotzone.assess.stage import held_classification
from hotzone.types import StandardIdentity, TargetClass
from tests.assess.helpers import at, track


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


def test_drift_speed_reads_a_slow_vessel_slow_through_position_noise() -> None:
    generator = np.random.default_rng(7)
    times = np.arange(0.0, 600.0, 3.0)
    truth = np.stack([1.5 * times, np.zeros_like(times)], axis=1)  # 1.5 m/s east
    noisy = truth + generator.normal(0.0, 150.0, truth.shape)  # radar 25 km away
    step_speeds = np.hypot(*(np.diff(noisy, axis=0) / 3.0).T)
    assert float(np.median(step_speeds)) > 20.0  # what differencing the noise would say
    speeds = drift_speeds(times, noisy, 120.0)
    assert abs(float(np.median(speeds)) - 1.5) < 1.0
    transit = drift_speeds(times, truth * 4.0 + generator.normal(0.0, 150.0, truth.shape), 120.0)
    assert float(np.median(transit)) > 4.0


def test_a_radar_only_dark_vessel_crawling_over_a_pipeline_is_flagged() -> None:
    # Noisy filtered velocities (0-9 m/s) but positions that drift at 1.5 m/s along the
    # pipeline: the loitering must be seen from the positions.
    pipeline = InfrastructureSpec(
        "Balticconnector", "gas_pipeline", ((59.90, 24.05), (59.70, 24.05))
    )
    detector, histories = DarkVesselDetector((pipeline,)), TrackHistories()
    generator = np.random.default_rng(3)
    for second in range(0, 600, 3):
        north_m = -1.5 * second + generator.normal(0.0, 150.0)
        east_m = generator.normal(0.0, 150.0)
        east_mps, north_mps = generator.normal(0.0, 4.0, 2)
        histories.add(
            track(
                "dark",
                second,
                59.80 + north_m / 111_200.0,
                24.05 + east_m / 55_900.0,
                0.0,
                (float(east_mps), float(north_mps), 0.0),
            )
        )
    [finding] = detector.detect(at(597).timestamp(), histories.records)
    assert finding.kind == "dark_loitering" and finding.track_id == "dark"
