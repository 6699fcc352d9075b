"""Hypothesis strategies that build valid messages of every type."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
from hypothesis import strategies as st

from hotzone.types import (
    Alert,
    AlertState,
    Assessment,
    AuditRecord,
    DeadLetter,
    Decision,
    Detection,
    EffectClass,
    Event,
    EventKind,
    GeoPoint,
    MeasurementKind,
    OperatorRole,
    Proposal,
    Report,
    ReportSource,
    RoeCheck,
    StandardIdentity,
    TargetClass,
    TaskOrder,
    Track,
    TrackStatus,
    TruthState,
    Verdict,
)

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
text = st.text(min_size=1, max_size=12)
labels = st.sampled_from(["NATO", "REL PL LT", "NATIONAL PL", "NATIONAL LT", "REL RO"])
probabilities = st.floats(min_value=0.0, max_value=1.0)


def utc_times() -> st.SearchStrategy[datetime]:
    # Microsecond resolution is what RFC 3339 text keeps, so the round trip is exact.
    return st.datetimes(
        min_value=datetime(2000, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive
        max_value=datetime(2100, 1, 1),  # noqa: DTZ001
        timezones=st.just(UTC),
    )


def points() -> st.SearchStrategy[GeoPoint]:
    return st.builds(
        GeoPoint,
        lat_deg=st.floats(-90, 90),
        lon_deg=st.floats(-180, 180),
        height_m=st.floats(-500, 1e6),
    )


def vectors(size: int) -> st.SearchStrategy[tuple[float, ...]]:
    return st.tuples(*([finite] * size))


@st.composite
def detections(draw: st.DrawFn) -> Detection:
    size = draw(st.integers(1, 3))
    values = draw(vectors(size))
    covariance = tuple(draw(vectors(size)) for _ in range(size))
    return Detection(
        detection_id=draw(text),
        time=draw(utc_times()),
        sensor_id=draw(text),
        kind=draw(st.sampled_from(MeasurementKind)),
        values=values,
        covariance=covariance,
        sensor_position=draw(points()),
        sector=draw(st.text(max_size=5)),
        doppler_mps=draw(st.none() | finite),
        rcs_dbsm=draw(st.none() | finite),
        class_hint=draw(st.none() | st.sampled_from(TargetClass)),
        class_confidence=draw(st.none() | probabilities),
        received_at=draw(st.none() | utc_times()),
        releasability=draw(labels),
    )


def _common(draw: st.DrawFn) -> dict[str, Any]:
    return {"time": draw(utc_times()), "releasability": draw(labels)}


@st.composite
def other_messages(draw: st.DrawFn) -> msgspec.Struct:
    choice = draw(st.integers(0, 10))
    common = _common(draw)
    if choice == 0:
        return Report(
            report_id=draw(text),
            source_id=draw(text),
            source=draw(st.sampled_from(ReportSource)),
            position=draw(points()),
            horizontal_sigma_m=draw(finite),
            velocity_enu_mps=draw(st.none() | vectors(3)),
            icao24=draw(st.none() | st.from_regex(r"[0-9a-f]{6}", fullmatch=True)),
            mmsi=draw(st.none() | st.integers(0, 999_999_999)),
            nic=draw(st.none() | st.integers(0, 11)),
            claimed_identity=draw(st.none() | st.sampled_from(StandardIdentity)),
            **common,
        )
    if choice == 1:
        return Event(
            event_id=draw(text),
            source_id=draw(text),
            kind=draw(st.sampled_from(EventKind)),
            severity=draw(st.integers(0, 10)),
            summary=draw(text),
            position=draw(st.none() | points()),
            attributes=draw(st.dictionaries(text, text, max_size=3)),
            **common,
        )
    if choice == 2:
        return Track(
            track_id=draw(text),
            track_number=draw(st.integers(0, 2**31)),
            status=draw(st.sampled_from(TrackStatus)),
            position=draw(points()),
            sector=draw(text),
            enu_position_m=draw(vectors(3)),  # type: ignore[arg-type]
            enu_velocity_mps=draw(vectors(3)),  # type: ignore[arg-type]
            covariance=tuple(draw(vectors(6)) for _ in range(6)),
            quality=draw(probabilities),
            sensors=tuple(draw(st.lists(text, max_size=3))),
            mode_probabilities=draw(st.none() | st.dictionaries(text, probabilities, max_size=2)),
            **common,
        )
    if choice == 3:
        return Assessment(
            track_id=draw(text),
            class_probabilities=draw(st.dictionaries(text, probabilities, max_size=3)),
            target_class=draw(st.sampled_from(TargetClass)),
            standard_identity=draw(st.sampled_from(StandardIdentity)),
            threat_score=draw(probabilities),
            reasons=tuple(draw(st.lists(text, max_size=3))),
            **common,
        )
    if choice == 4:
        return Alert(
            alert_id=draw(text),
            kind=draw(text),
            summary=draw(text),
            priority=draw(st.integers(1, 5)),
            state=draw(st.sampled_from(AlertState)),
            acknowledged_at=draw(st.none() | utc_times()),
            **common,
        )
    if choice == 5:
        return Proposal(
            proposal_id=draw(text),
            track_id=draw(text),
            effector_id=draw(text),
            effect_class=draw(st.sampled_from(EffectClass)),
            action=draw(text),
            target_class=draw(st.sampled_from(TargetClass)),
            standard_identity=draw(st.sampled_from(StandardIdentity)),
            target_position=draw(points()),
            position_tolerance_m=draw(finite),
            effect_window_start=draw(utc_times()),
            effect_window_end=draw(utc_times()),
            expires_at=draw(utc_times()),
            roe_checks=tuple(draw(st.lists(st.builds(RoeCheck, text, st.booleans(), text)))),
            content_hash=draw(text),
            **common,
        )
    if choice == 6:
        return Decision(
            decision_id=draw(text),
            proposal_hash=draw(text),
            verdict=draw(st.sampled_from(Verdict)),
            operator_id=draw(text),
            role=draw(st.sampled_from(OperatorRole)),
            key_id=draw(text),
            signature=draw(text),
            **common,
        )
    if choice == 7:
        return TaskOrder(
            order_id=draw(text),
            proposal_hash=draw(text),
            effector_id=draw(text),
            track_id=draw(text),
            action=draw(text),
            decision_ids=tuple(draw(st.lists(text, max_size=2))),
            **common,
        )
    if choice == 8:
        return AuditRecord(
            sequence=draw(st.integers(0, 2**40)),
            kind=draw(text),
            actor=draw(text),
            payload=draw(st.text()),
            previous_hash=draw(text),
            record_hash=draw(text),
            **common,
        )
    if choice == 9:
        return TruthState(
            target_id=draw(text),
            target_class=draw(st.sampled_from(TargetClass)),
            affiliation=draw(st.sampled_from(StandardIdentity)),
            position=draw(points()),
            enu_position_m=draw(vectors(3)),  # type: ignore[arg-type]
            enu_velocity_mps=draw(vectors(3)),  # type: ignore[arg-type]
            transponder_on=draw(st.booleans()),
            **common,
        )
    return DeadLetter(source=draw(text), reason=draw(text), raw=draw(st.binary()), **common)


def any_message() -> st.SearchStrategy[msgspec.Struct]:
    return detections() | other_messages()
