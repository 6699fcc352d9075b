"""Each anomaly detector with a positive and a negative case; alerts; identity; threat."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest

from hotzone.assess.alerts import AlertError, AlertKey, AlertManager
from hotzone.assess.anomaly import (
    DarkVesselDetector,
    GnssInterferenceDetector,
    PositionSpoofingDetector,
    TransponderLossDetector,
)
from hotzone.assess.context import AssessmentContext, DefendedAssetSpec, InfrastructureSpec
from hotzone.assess.history import TrackHistories
from hotzone.assess.identity import IdentityEvidence, standard_identity
from hotzone.assess.threat import approaches
from hotzone.geo import LocalFrame
from hotzone.types import AlertState, StandardIdentity, TargetClass
from tests.assess.helpers import adsb, ais, at, track

CABLE = InfrastructureSpec("cable", "telecom_cable", ((60.0, 24.0), (59.5, 24.0)))


def _gnss(jammer: tuple[float, float] | None) -> GnssInterferenceDetector:
    detector = GnssInterferenceDetector()
    frame = LocalFrame(54.0, 23.5, 0.0)
    for k, heading in enumerate((0.0, 60.0, 120.0)):
        for step in range(60):
            s = -150_000 + step * 5_000.0
            east, north = s * np.sin(np.radians(heading)), s * np.cos(np.radians(heading))
            lat, lon, _ = frame.enu_to_geodetic(np.array([[east, north, 0.0]]))
            degradation = 0.0
            if jammer is not None:
                offset = frame.geodetic_to_enu(jammer[0], jammer[1], 0.0)
                distance = float(np.hypot(east - offset[0], north - offset[1]))
                degradation = 0.8 * max(0.0, 1 - distance / 60_000.0)
            nacp = round(9 * (1 - degradation))
            nic = round(8 * (1 - degradation))
            detector.observe(adsb(step * 5.0, float(lat[0]), float(lon[0]), f"a{k}", nacp, nic))
    return detector


def test_gnss_interference_located_near_the_jammer() -> None:
    detector = _gnss((53.8, 23.7))
    [area] = detector.detect(at(300).timestamp(), {})
    assert area.position is not None and len(area.polygon) > 10
    offset = LocalFrame(53.8, 23.7, 0.0).geodetic_to_enu(
        area.position.lat_deg, area.position.lon_deg, 0.0
    )
    assert np.hypot(offset[0], offset[1]) < 20_000.0
    assert 0.0 < area.confidence <= 1.0


def test_no_gnss_interference_without_quality_drops() -> None:
    assert _gnss(None).detect(at(300).timestamp(), {}) == []


def _loiter(histories: TrackHistories, lon: float, seconds: int = 600) -> None:
    for t in range(0, seconds, 10):
        angle = t / 300.0  # about 1 m/s around a 300 m circle
        histories.add(
            track(
                "v1",
                t,
                59.8 + 0.003 * np.sin(angle),
                lon + 0.005 * np.cos(angle),
                5.0,
                (1.0, 0.5, 0.0),
            )
        )


def test_dark_vessel_loitering_over_a_cable_is_found() -> None:
    detector, histories = DarkVesselDetector((CABLE,)), TrackHistories()
    for t in range(0, 120, 10):
        detector.observe(ais(t, 59.8, 24.0, 230_000_001))
    _loiter(histories, 24.0)
    [finding] = detector.detect(at(600).timestamp(), histories.records)
    assert finding.track_id == "v1" and finding.kind == "dark_loitering"
    assert any("230000001" in reason for reason in finding.reasons)


def test_distances_kept_for_the_next_step_answer_as_a_fresh_detector_does() -> None:
    """The detector keeps each position's distance to the cable for its next call; judged
    every 10 s while a vessel loiters over the cable and then drifts off it (about 1 m/s
    east), it answers what a detector that never judged before answers."""
    kept, histories = DarkVesselDetector((CABLE,)), TrackHistories()
    flagged = []
    for t in range(0, 2100, 10):
        angle = t / 300.0
        drift = max(0, t - 600) * 2e-5
        histories.add(
            track(
                "v1",
                t,
                59.8 + 0.003 * np.sin(angle),
                24.0 + drift + 0.005 * np.cos(angle),
                5.0,
                (1.0, 0.5, 0.0),
            )
        )
        fresh = DarkVesselDetector((CABLE,)).detect(at(t).timestamp(), histories.records)
        judged = kept.detect(at(t).timestamp(), histories.records)
        assert judged == fresh, t
        flagged.append(bool(judged))
    assert True in flagged and not flagged[-1]  # found over the cable, not once off it


def test_vessel_loitering_far_from_cables_or_with_ais_is_not_flagged() -> None:
    detector, histories = DarkVesselDetector((CABLE,)), TrackHistories()
    _loiter(histories, 24.3)  # ~17 km east of the cable
    assert detector.detect(at(600).timestamp(), histories.records) == []
    detector, histories = DarkVesselDetector((CABLE,)), TrackHistories()
    for t in range(0, 600, 10):
        detector.observe(ais(t, 59.8, 24.0, 230_000_002))  # its AIS keeps talking
    _loiter(histories, 24.0)
    assert detector.detect(at(600).timestamp(), histories.records) == []


def test_transponder_switched_off_in_flight() -> None:
    detector, histories = TransponderLossDetector(), TrackHistories()
    for t in range(0, 200, 5):
        if t < 60:
            detector.observe(adsb(t, 54.0, 23.0 + t * 1e-4, "abc123"))
        histories.add(
            track("a", t, 54.0, 23.0 + t * 1e-4, 3000.0, (200.0, 0.0, 0.0), icao24="abc123")
        )
    [finding] = detector.detect(at(195).timestamp(), histories.records)
    assert finding.kind == "transponder_off" and finding.subject == "abc123"


def test_transponder_heard_throughout_is_not_flagged() -> None:
    detector, histories = TransponderLossDetector(), TrackHistories()
    for t in range(0, 200, 5):
        detector.observe(adsb(t, 54.0, 23.0, "abc123"))
        histories.add(track("a", t, 54.0, 23.0, 3000.0, (200.0, 0.0, 0.0), icao24="abc123"))
    assert detector.detect(at(195).timestamp(), histories.records) == []


@pytest.mark.parametrize(
    ("offset_deg", "nacp", "flagged"), [(0.05, 9, True), (0.0, 9, False), (0.05, 3, False)]
)
def test_position_spoofing(offset_deg: float, nacp: int, flagged: bool) -> None:
    detector, histories = PositionSpoofingDetector(), TrackHistories()
    for t in range(0, 30, 2):
        detector.observe(adsb(t, 54.0 + offset_deg, 23.0, "abc123", nacp=nacp))
        histories.add(track("a", t, 54.0, 23.0, 10_000.0, (0.0, 0.0, 0.0), icao24="abc123"))
    found = detector.detect(at(28).timestamp(), histories.records)
    assert bool(found) == flagged


def test_alert_dedup_escalation_and_acknowledgement() -> None:
    manager = AlertManager()
    key = AlertKey("threat", "t1", "garrison")
    first = manager.raise_alert(key, at(0), 3, "drone")
    assert first is not None and manager.raise_alert(key, at(2), 3, "drone") is None
    acknowledged = manager.acknowledge(first.alert_id, "op-1", at(3))
    assert acknowledged.state == AlertState.ACKNOWLEDGED and acknowledged.acknowledged_by == "op-1"
    escalated = manager.raise_alert(key, at(4), 1, "drone closer")
    assert escalated is not None and escalated.priority == 1 and escalated.state == AlertState.OPEN
    closed = manager.close(key, at(5), "track deleted")
    assert closed is not None and closed.state == AlertState.CLOSED
    with pytest.raises(AlertError, match="closed"):
        manager.acknowledge(first.alert_id, "op-1", at(6))
    with pytest.raises(AlertError, match="no alert"):
        manager.acknowledge("nope", "op-1", at(6))


def test_identity_chain_of_reasons() -> None:
    context = AssessmentContext(hostile_countries=("BY",), friendly_callsign_prefixes=("SG",))
    hostile, reasons = standard_identity(
        IdentityEvidence(
            10, TargetClass.ONE_WAY_ATTACK_DRONE, 0.9, origin_country="BY", current_country="PL"
        ),
        context,
    )
    assert hostile == StandardIdentity.HOSTILE and any("BY" in r for r in reasons)
    neutral, _ = standard_identity(
        IdentityEvidence(10, TargetClass.AIRLINER, 0.9, icao24="48ae21", origin_country="BY"),
        context,
    )
    assert neutral == StandardIdentity.NEUTRAL
    friend, _ = standard_identity(
        IdentityEvidence(10, TargetClass.HELICOPTER, 0.9, icao24="48d811", callsign="SG301"),
        context,
    )
    assert friend == StandardIdentity.FRIEND
    suspect, reasons = standard_identity(
        IdentityEvidence(
            10, TargetClass.AIRLINER, 0.9, icao24="48ae21", anomalies=("ADS-B silent",)
        ),
        context,
    )
    assert suspect == StandardIdentity.SUSPECT and "anomaly: ADS-B silent" in reasons
    pending, _ = standard_identity(IdentityEvidence(1, TargetClass.UNKNOWN, 0.2), context)
    assert pending == StandardIdentity.PENDING


def test_closest_approach_and_time_to_go() -> None:
    asset = DefendedAssetSpec("base", 54.0, 23.0, 1_000.0)
    frame = LocalFrame(54.0, 23.0, 0.0)
    lat, lon, _ = frame.enu_to_geodetic(np.array([[10_000.0, 0.0, 0.0]]))
    [inbound] = approaches(float(lat[0]), float(lon[0]), 0.0, (-50.0, 0.0, 0.0), (asset,))
    assert inbound.miss_distance_m < 100.0 and inbound.time_to_go_s == pytest.approx(180.0, abs=2.0)
    [outbound] = approaches(float(lat[0]), float(lon[0]), 0.0, (50.0, 0.0, 0.0), (asset,))
    assert outbound.time_to_go_s == float("inf") and outbound.time_to_cpa_s == 0.0


def test_identity_holds_against_momentary_doubt_but_yields_to_contrary_evidence() -> None:
    from hotzone.assess.identity import carried_identity
    from hotzone.types import StandardIdentity as Id

    assert carried_identity(Id.HOSTILE, Id.UNKNOWN) is Id.HOSTILE
    assert carried_identity(Id.HOSTILE, Id.PENDING) is Id.HOSTILE
    assert carried_identity(Id.SUSPECT, Id.UNKNOWN) is Id.SUSPECT
    assert carried_identity(Id.SUSPECT, Id.HOSTILE) is Id.HOSTILE
    assert carried_identity(Id.HOSTILE, Id.NEUTRAL) is Id.NEUTRAL
    assert carried_identity(Id.HOSTILE, Id.FRIEND) is Id.FRIEND
    assert carried_identity(Id.UNKNOWN, Id.PENDING) is Id.UNKNOWN
    assert carried_identity(Id.PENDING, Id.UNKNOWN) is Id.UNKNOWN


def test_a_declared_class_is_held_through_doubt_but_not_against_another_class() -> None:
    from hotzone.assess.classifier import Classification
    from hotzone.assess.stage import held_classification
    from hotzone.types import TargetClass

    drone = Classification({"one_way_attack_drone": 0.8}, TargetClass.ONE_WAY_ATTACK_DRONE, 0.8, ())
    doubt = Classification({"one_way_attack_drone": 0.4}, TargetClass.UNKNOWN, 0.4, ("x",))
    bird = Classification({"bird_flock": 0.9}, TargetClass.BIRD_FLOCK, 0.9, ())
    held = held_classification(drone, doubt)
    assert held.target_class is TargetClass.ONE_WAY_ATTACK_DRONE
    assert held.probabilities == doubt.probabilities
    assert "held as one_way_attack_drone" in held.explanation[-1]
    assert held_classification(drone, bird) is bird
    assert held_classification(doubt, doubt) is doubt


def test_anomalies_carry_the_meet_of_the_reports_and_tracks_they_come_from() -> None:
    # The track may go to PL and LT, but the ADS-B that fell silent was NATIONAL PL.
    detector, histories = TransponderLossDetector(), TrackHistories()
    for t in range(0, 200, 5):
        if t < 60:
            detector.observe(
                msgspec.structs.replace(
                    adsb(t, 54.0, 23.0 + t * 1e-4, "abc123"), releasability="NATIONAL PL"
                )
            )
        histories.add(
            msgspec.structs.replace(
                track("a", t, 54.0, 23.0 + t * 1e-4, 3000.0, (200.0, 0.0, 0.0), icao24="abc123"),
                releasability="REL PL LT",
            )
        )
    [finding] = detector.detect(at(195).timestamp(), histories.records)
    assert finding.label.text == "NATIONAL PL"
    # Reports that no one may see with the track are not used to find anything.
    spoofing, histories = PositionSpoofingDetector(), TrackHistories()
    for t in range(0, 30, 2):
        spoofing.observe(
            msgspec.structs.replace(adsb(t, 54.05, 23.0, "abc123"), releasability="NATIONAL RO")
        )
        histories.add(
            msgspec.structs.replace(
                track("a", t, 54.0, 23.0, 10_000.0, (0.0, 0.0, 0.0), icao24="abc123"),
                releasability="REL PL LT",
            )
        )
    assert spoofing.detect(at(28).timestamp(), histories.records) == []


def test_an_alert_refreshed_with_old_reasons_keeps_their_label() -> None:
    manager = AlertManager("REL LT PL")
    key = AlertKey("threat", "t1", "bridge")
    first = manager.raise_alert(key, at(0), 3, "drone", ("close",), None, "NATIONAL PL")
    assert first is not None and first.releasability == "NATIONAL PL"
    assert manager.raise_alert(key, at(1), 3, "drone", releasability="NATO") is None
    assert manager.alerts[key].releasability == "NATIONAL PL"  # it still shows old reasons
    escalated = manager.raise_alert(key, at(2), 1, "drone", ("closer",), None, "NATO")
    assert escalated is not None and escalated.releasability == "REL LT PL"  # the manager's
