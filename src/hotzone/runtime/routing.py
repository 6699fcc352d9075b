"""Which bus subject each message travels on (DESIGN.md §4)."""

from __future__ import annotations

from hotzone.types import (
    Alert,
    AnyMessage,
    AuditCheckpoint,
    AuditRecord,
    C2State,
    DeadLetter,
    Decision,
    DecisionOutcome,
    Detection,
    Event,
    Proposal,
    ProposalStatus,
    Report,
    TaskOrder,
    Track,
)
from hotzone.types.subjects import (
    alert_subject,
    alliance_track_subject,
    audit_subject,
    c2_subject,
    checkpoint_subject,
    dead_letter_subject,
    detection_subject,
    subject,
    track_subject,
)


def subject_for(message: AnyMessage, nation: str) -> str:
    """The subject a message is published on by the nation that produced it."""
    match message:
        case Detection():
            return detection_subject(nation, message.sector, message.sensor_id)
        case Report() | Event():
            sector = message.sector if isinstance(message, Report) else ""
            return detection_subject(nation, sector, message.source_id)
        case Track() if message.contributions:
            # Fused from several nations' tracks: the nation's alliance picture, which no
            # stage takes as its own tracks and the exporter never shares (no loop back).
            return alliance_track_subject(nation)
        case Track():
            return track_subject(nation, message.sector)
        case Alert():
            return alert_subject(nation)
        case Proposal():
            return c2_subject(nation, "proposal")
        case Decision():
            return c2_subject(nation, "decision")
        case TaskOrder():
            return c2_subject(nation, "order")
        case ProposalStatus():
            return c2_subject(nation, "status")
        case DecisionOutcome():
            return c2_subject(nation, "outcome")
        case C2State():
            return c2_subject(nation, "state")
        case AuditCheckpoint():
            return checkpoint_subject(nation)
        case DeadLetter():
            return dead_letter_subject(nation, message.source)
        case AuditRecord():
            return audit_subject(nation)
        case _:
            tag = str(type(message).__struct_config__.tag)
            return subject("hz", nation, tag)
