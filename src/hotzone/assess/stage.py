"""The assessment stage: Tracks (and raw Reports) in, Assessments, Alerts and layer Events out.

``step(time, inputs)`` is pure in the runtime's sense: everything it knows comes from the
messages given to it and the `AssessmentContext` it was built with. Per step it
remembers the tracks, reclassifies each one at most every ``classify_every_s``, decides
its standard identity, evaluates threats against every defended asset, runs the anomaly
detectors and raises, escalates or closes alerts. It never acts: cueing and engagement
belong to c2, after a human.

Releasability never widens here: an Assessment, and the Alerts raised from it, carry the
meet of the stage's own label, of the labels of the track states it was computed from
(`TrackRecord.label`), of the classification and identity it holds over from earlier
steps, and of the reports and anomalies used as evidence. Evidence that shares no nation
with the track is left out; a track message that shares none with the stage's label is
not assessed; anomaly alerts carry the anomaly's label (`hotzone.assess.anomaly`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from msgspec.structs import replace as replace_message

from hotzone.assess.alerts import AlertKey, AlertManager, priority_for_time_to_go
from hotzone.assess.anomaly import (
    Anomaly,
    AnomalyDetector,
    DarkVesselDetector,
    GnssInterferenceDetector,
    PositionSpoofingDetector,
    TransponderLossDetector,
)
from hotzone.assess.classifier import Classification, TreeEnsembleClassifier
from hotzone.assess.context import AssessmentContext
from hotzone.assess.features import batch_features
from hotzone.assess.history import TrackHistories, TrackRecord
from hotzone.assess.identity import IdentityEvidence, carried_identity, standard_identity
from hotzone.assess.threat import (
    Approach,
    Threat,
    approaches_of_tracks,
    rank_threats,
    threat_scores,
)
from hotzone.geo import country_of
from hotzone.types import (
    Alert,
    Assessment,
    Event,
    EventKind,
    Report,
    StandardIdentity,
    TargetClass,
    Track,
    TrackStatus,
)
from hotzone.types.labels import NATO, Label, LabelConflict, most_restrictive

AssessmentOutput = Assessment | Alert | Event
THREAT_ALERT_MIN_SCORE = 0.25
DECLARED_THREAT_HORIZON_S = 1800.0
"""A suspect or hostile track on a course into an asset within this time is alerted
whatever its score: the score ranks threats, it does not hide a declared one (a drone
misread as a helicopter still flies at the bridge)."""
THREAT_CLEAR_AFTER_S = 60.0
"""A threat alert closes once its track has stopped approaching for this long."""


def alerted_threat(threat: Threat) -> bool:
    """Whether a threat deserves an alert: not clutter, on a course into the asset, and either
    threatening enough by score or declared suspect or hostile and arriving within
    `DECLARED_THREAT_HORIZON_S`."""
    time_to_go = threat.approach.time_to_go_s
    if not math.isfinite(time_to_go) or threat.target_class == TargetClass.CLUTTER:
        return False  # clutter is an echo, not an object: it threatens nothing
    declared = threat.identity in (StandardIdentity.SUSPECT, StandardIdentity.HOSTILE)
    return threat.score >= THREAT_ALERT_MIN_SCORE or (
        declared and time_to_go <= DECLARED_THREAT_HORIZON_S
    )


def held_classification(previous: Classification, latest: Classification) -> Classification:
    """Keep a declared class through a moment of doubt.

    Below the confidence threshold the classifier answers ``unknown``; that is doubt, not
    evidence of another class, so the track keeps its class (with the latest
    probabilities) while that class is still the most probable one. Once another class
    leads, even unconfidently, the old declaration is contradicted and lapses to
    ``unknown``: a drone first called clutter on a 10 s-old track must not stay clutter
    for minutes while the evidence for a drone grows.
    """
    if (
        latest.target_class != TargetClass.UNKNOWN
        or previous.target_class == TargetClass.UNKNOWN
        or latest.out_of_distribution  # not doubt: unlike anything the model knows
    ):
        return latest
    leading = max(latest.probabilities, key=latest.probabilities.__getitem__, default=None)
    if leading != previous.target_class.value:
        return latest
    return replace(
        latest,
        target_class=previous.target_class,
        explanation=(
            *latest.explanation,
            f"held as {previous.target_class}: no other class is confident",
        ),
    )


@dataclass
class _Judgement:
    classification: Classification
    classified_at_s: float
    identity: StandardIdentity = StandardIdentity.PENDING
    reasons: tuple[str, ...] = ()
    class_label: Label = NATO
    """The label of the history the classification was made (and held) from."""
    identity_label: Label = NATO
    """The label of the evidence the identity was decided (and carried) from."""


@dataclass
class AssessmentStage:
    """``step(time, messages) -> list[Assessment | Alert | Event]``."""

    context: AssessmentContext = field(default_factory=AssessmentContext)
    classifier: TreeEnsembleClassifier | None = None
    """None: the model shipped with hotzone, loaded on first use."""
    classify_every_s: float = 10.0
    history_window_s: float = 600.0
    releasability: str = "NATO"
    detectors: list[AnomalyDetector] | None = None
    threat_clear_after_s: float = THREAT_CLEAR_AFTER_S
    """Hysteresis: how long a track must stop approaching before its threat alert closes."""
    threats: list[Threat] = field(default_factory=list)
    """The ranked threat list after the last step."""
    anomalies: list[Anomaly] = field(default_factory=list)
    """The anomalies found in the last step (the jamming area is among them)."""

    def __post_init__(self) -> None:
        self._ceiling = Label.parse(self.releasability)
        self.histories = TrackHistories(self.history_window_s)
        self.alerts = AlertManager(self.releasability, clear_after_s=self.threat_clear_after_s)
        self._judgements: dict[str, _Judgement] = {}
        self._claimed: dict[str, tuple[StandardIdentity, Label]] = {}
        self._origin_country: dict[str, str | None] = {}
        self._released: dict[tuple[Label, Label, Label], str] = {}
        if self.detectors is None:
            self.detectors = [
                GnssInterferenceDetector(),
                DarkVesselDetector(self.context.infrastructure),
                TransponderLossDetector(),
                PositionSpoofingDetector(),
            ]

    def _model(self) -> TreeEnsembleClassifier:
        if self.classifier is None:
            self.classifier = TreeEnsembleClassifier.load()
        return self.classifier

    def step(self, time: datetime, messages: Sequence[object]) -> list[AssessmentOutput]:
        if time.utcoffset() is None:
            raise ValueError("AssessmentStage.step needs a timezone-aware time")
        now_s = time.timestamp()
        outputs: list[AssessmentOutput] = []
        updated: list[TrackRecord] = []
        assert self.detectors is not None
        for message in messages:
            if isinstance(message, Track):
                if message.status == TrackStatus.DELETED:
                    outputs += self._forget(message.track_id, time)
                    continue
                label = self._within_ceiling(message.releasability)
                if label is not None:
                    updated.append(self.histories.add(message, label))
            elif isinstance(message, Report):
                label = self._within_ceiling(message.releasability)
                if label is None:
                    continue
                report = message
                if label.text != report.releasability:
                    # Detectors label what they find from the reports' labels.
                    report = replace_message(report, releasability=label.text)
                for detector in self.detectors:
                    detector.observe(report)
                if report.claimed_identity is not None and report.uid is not None:
                    self._claimed[report.uid] = (report.claimed_identity, label)
        for track_id in self.histories.restarted:
            # Its record started afresh: what was judged from the old one goes with it.
            self._judgements.pop(track_id, None)
            self._origin_country.pop(track_id, None)
        self.histories.restarted.clear()
        self._classify(updated, now_s)
        self.anomalies = [
            a for d in self.detectors for a in d.detect(now_s, self.histories.records)
        ]
        by_track: dict[str, list[Anomaly]] = {}
        for anomaly in self.anomalies:
            if anomaly.track_id is not None:
                by_track.setdefault(anomaly.track_id, []).append(anomaly)
        threats: list[Threat] = []
        judged: list[tuple[TrackRecord, Track]] = []
        seen: set[str] = set()
        for record in updated:
            if record.track_id in seen or record.latest is None:
                continue
            seen.add(record.track_id)
            judged.append((record, record.latest))
        current_countries = self._countries(
            [(latest.position.lat_deg, latest.position.lon_deg) for _, latest in judged]
        )
        for (record, _), current_country in zip(judged, current_countries, strict=True):
            judgement = self._judgements[record.track_id]
            identity, reasons, evidence_label = self._identify(
                record, judgement, by_track.get(record.track_id, []), current_country
            )
            held = carried_identity(judgement.identity, identity)
            if held != identity and judgement.identity_label.compatible(evidence_label):
                reasons = (*reasons, f"still {held}: nothing since contradicts it")
                evidence_label = evidence_label.meet(judgement.identity_label)
            else:
                held = identity  # nothing carried over (or not shareable with the new evidence)
            judgement.identity, judgement.reasons = held, reasons
            judgement.identity_label = evidence_label
        # Every judged track's approaches and scores in one pass (identities decided above:
        # nothing below feeds back into them).
        judgements = [self._judgements[record.track_id] for record, _ in judged]
        approaches_per_track = approaches_of_tracks(
            [(t.position.lat_deg, t.position.lon_deg, t.position.height_m) for _, t in judged],
            [latest.enu_velocity_mps for _, latest in judged],
            self.context.assets,
        )
        scores_per_track = threat_scores(
            [judgement.classification.target_class for judgement in judgements],
            [judgement.identity for judgement in judgements],
            approaches_per_track,
        )
        for (record, latest), judgement, track_approaches, scores in zip(
            judged, judgements, approaches_per_track, scores_per_track, strict=True
        ):
            released = self._label(record, judgement)
            track_threats = self._threats(latest, judgement, track_approaches, scores)
            threats += track_threats
            score = max((t.score for t in track_threats), default=0.0)
            outputs.append(
                self._assessment(record, judgement, score, track_threats, time, released)
            )
            outputs += self._track_alerts(record, judgement, track_threats, time, released)
        self.threats = rank_threats(threats)
        outputs += self._anomaly_alerts(time)
        return outputs

    # ------------------------------------------------------------------ parts

    def _classify(self, records: list[TrackRecord], now_s: float) -> None:
        due = []
        for record in {r.track_id: r for r in records}.values():
            previous = self._judgements.get(record.track_id)
            if (
                previous is None
                or now_s - previous.classified_at_s >= self.classify_every_s
                or not previous.class_label.compatible(record.label())
            ):
                due.append(record)
        if not due:
            return
        features = batch_features([self.histories.kinematic(r) for r in due])
        for record, answer in zip(due, self._model().classify(features), strict=True):
            judgement = self._judgements.get(record.track_id)
            label = record.label()
            if judgement is None:
                self._judgements[record.track_id] = _Judgement(answer, now_s, class_label=label)
                continue
            held = answer
            if judgement.class_label.compatible(label):
                held = held_classification(judgement.classification, answer)
            if held is not answer:
                label = label.meet(judgement.class_label)  # a class held from before
            judgement.classification, judgement.classified_at_s = held, now_s
            judgement.class_label = label

    def _country(self, lat: float, lon: float) -> str | None:
        try:
            code = str(country_of(lat, lon))
        except (ValueError, KeyError):
            return None
        return code or None

    def _countries(self, positions: list[tuple[float, float]]) -> list[str | None]:
        """`_country` of each (lat, lon), in one lookup (a position's country does not
        depend on the others'); one at a time if any position is refused."""
        if not positions:
            return []
        try:
            codes = country_of([lat for lat, _ in positions], [lon for _, lon in positions])
        except (ValueError, KeyError):
            return [self._country(lat, lon) for lat, lon in positions]
        return [str(code) or None for code in codes.tolist()]

    def _within_ceiling(self, text: str) -> Label | None:
        """A message's label met with the stage's; None if they share no nation (the
        message is not used here)."""
        try:
            return self._ceiling.meet(Label.parse(text))
        except LabelConflict:
            return None

    def _label(self, record: TrackRecord, judgement: _Judgement) -> str:
        """What an assessment of this track, and its alerts, may be released to (a few
        combinations of labels recur for every track and step: each is met once)."""
        labels = (record.label(), judgement.class_label, judgement.identity_label)
        released = self._released.get(labels)
        if released is None:
            released = most_restrictive(labels, self._ceiling)
            self._released[labels] = released
        return released

    def _identify(
        self,
        record: TrackRecord,
        judgement: _Judgement,
        anomalies: list[Anomaly],
        current_country: str | None,
    ) -> tuple[StandardIdentity, tuple[str, ...], Label]:
        """The identity, its reasons and the label of the evidence it was decided from
        (``current_country``: of the record's latest position, `_countries`)."""
        if record.track_id not in self._origin_country:
            first = record.first_position
            self._origin_country[record.track_id] = self._country(first.lat_deg, first.lon_deg)
        classification = judgement.classification
        # `_classify` has just made the class label compatible with the record's.
        label = record.label().meet(judgement.class_label)
        claimed = self._claimed.get(record.track_id)
        if claimed is not None and claimed[1].compatible(label):
            label = label.meet(claimed[1])
        else:
            claimed = None
        used = []
        for anomaly in anomalies:
            if anomaly.label.compatible(label):
                label = label.meet(anomaly.label)
                used.append(anomaly)
        evidence = IdentityEvidence(
            samples=record.samples,
            target_class=classification.target_class,
            class_confidence=classification.confidence,
            icao24=record.icao24,
            callsign=record.callsign,
            mmsi=record.mmsi,
            claimed_identity=None if claimed is None else claimed[0],
            origin_country=self._origin_country[record.track_id],
            current_country=current_country,
            anomalies=tuple(a.summary for a in used),
        )
        identity, reasons = standard_identity(evidence, self.context)
        return identity, reasons, label

    def _threats(
        self,
        track: Track,
        judgement: _Judgement,
        track_approaches: list[Approach],
        scores: list[float],
    ) -> list[Threat]:
        """The track's threat to each asset (`approaches_of_tracks`, `threat_scores`)."""
        target_class = judgement.classification.target_class
        result = []
        for approach, score in zip(track_approaches, scores, strict=True):
            reasons = (
                f"{approach.asset}: {approach.distance_m / 1000:.1f} km away, closest approach "
                f"{approach.miss_distance_m / 1000:.1f} km in {approach.time_to_cpa_s:.0f} s"
                + (
                    f", reaches it in {approach.time_to_go_s:.0f} s"
                    if math.isfinite(approach.time_to_go_s)
                    else ""
                ),
            )
            result.append(
                Threat(track.track_id, score, target_class, judgement.identity, approach, reasons)
            )
        return result

    def _assessment(
        self,
        record: TrackRecord,
        judgement: _Judgement,
        score: float,
        threats: list[Threat],
        time: datetime,
        label: str,
    ) -> Assessment:
        classification = judgement.classification
        model = self._model()
        top = max(threats, key=lambda t: t.score, default=None)
        reasons = (
            f"class {classification.target_class} ({classification.confidence:.0%}): "
            + ", ".join(classification.explanation),
            *judgement.reasons,
            *((top.reasons[0],) if top is not None and top.score > 0 else ()),
        )
        return Assessment(
            track_id=record.track_id,
            time=time,
            class_probabilities=classification.probabilities,
            target_class=classification.target_class,
            standard_identity=judgement.identity,
            threat_score=round(score, 4),
            reasons=reasons,
            model_version=model.version,
            releasability=label,
        )

    def _track_alerts(
        self,
        record: TrackRecord,
        judgement: _Judgement,
        threats: list[Threat],
        time: datetime,
        label: str,
    ) -> list[Alert]:
        track = record.latest
        assert track is not None
        outputs: list[Alert | None] = []
        if judgement.identity == StandardIdentity.HOSTILE:
            outputs.append(
                self.alerts.raise_alert(
                    AlertKey("hostile_track", record.track_id),
                    time,
                    3,
                    f"hostile {judgement.classification.target_class} {record.track_id}",
                    judgement.reasons,
                    track.position,
                    label,
                )
            )
        for threat in threats:
            key = AlertKey("threat", record.track_id, threat.approach.asset)
            if alerted_threat(threat):
                priority = priority_for_time_to_go(threat.approach.time_to_go_s)
                outputs.append(
                    self.alerts.raise_alert(
                        key,
                        time,
                        priority,
                        f"{judgement.identity} {threat.target_class} {record.track_id} -> "
                        f"{threat.approach.asset} in {threat.approach.time_to_go_s:.0f} s",
                        (*threat.reasons, *judgement.reasons),
                        track.position,
                        label,
                    )
                )
            elif key in self.alerts.alerts:
                outputs.append(self.alerts.clear(key, time, "no longer approaching"))
        return [alert for alert in outputs if alert is not None]

    def _anomaly_alerts(self, time: datetime) -> list[AssessmentOutput]:
        outputs: list[AssessmentOutput] = []
        for anomaly in self.anomalies:
            key = AlertKey(anomaly.kind, anomaly.track_id, anomaly.subject)
            priority = 2 if anomaly.kind in ("dark_loitering", "position_spoofing") else 3
            label = most_restrictive([anomaly.label], self._ceiling)
            alert = self.alerts.raise_alert(
                key,
                time,
                priority,
                anomaly.summary,
                (*anomaly.reasons, f"confidence {anomaly.confidence:.0%}"),
                anomaly.position,
                label,
            )
            if alert is not None:
                outputs.append(alert)
            if anomaly.polygon:
                outputs.append(
                    Event(
                        event_id=f"layer:{anomaly.kind}:{int(time.timestamp())}",
                        time=time,
                        source_id="assess",
                        kind=EventKind.JAMMING,
                        severity=min(10, round(anomaly.confidence * 10)),
                        summary=anomaly.summary,
                        position=anomaly.position,
                        attributes={
                            "layer": anomaly.kind,
                            "confidence": f"{anomaly.confidence:.3f}",
                            "polygon": json.dumps([[lon, lat] for lat, lon in anomaly.polygon]),
                        },
                        releasability=label,
                    )
                )
        return outputs

    def _forget(self, track_id: str, time: datetime) -> list[AssessmentOutput]:
        self.histories.remove(track_id)
        self._judgements.pop(track_id, None)
        closed = [
            self.alerts.close(key, time, "track deleted") for key in self.alerts.open_keys(track_id)
        ]
        return [alert for alert in closed if alert is not None]

    def acknowledge(self, alert_id: str, operator_id: str, time: datetime) -> Alert:
        """An operator acknowledges an alert; returns the alert to publish."""
        return self.alerts.acknowledge(alert_id, operator_id, time)

    def classification_of(self, track_id: str) -> TargetClass | None:
        judgement = self._judgements.get(track_id)
        return None if judgement is None else judgement.classification.target_class

    def identity_of(self, track_id: str) -> StandardIdentity | None:
        judgement = self._judgements.get(track_id)
        return None if judgement is None else judgement.identity
