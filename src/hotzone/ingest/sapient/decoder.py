"""`SapientDecoder`: a SAPIENT (BSI Flex 335 v2.0) byte stream from sensors -> hotzone.

One decoder per TCP connection (or recorded stream): it remembers what each node said in
earlier messages (its registration, its last location), since a detection given as range
and bearing means nothing without the sensor's position. A node must register before
anything else it sends is accepted, as the ICD requires.

Per frame, `feed_frames` returns a `FrameOutcome` (the parsed SapientMessage or why it was
refused) so that the SAPIENT server can answer each frame: acks for registrations and
alerts, an Error for every refusal. `feed` is the plain `Decoder` view of the same work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from google.protobuf.message import DecodeError

from hotzone.ingest.base import Decoder, DecodeResult, DecoderOptions, IngestError, Rejected
from hotzone.ingest.sapient import mapping
from hotzone.ingest.sapient.framing import DEFAULT_MAX_FRAME_BYTES, BadFrameLength, FrameSplitter
from hotzone.ingest.sapient.mapping import NodeContext, Uncertainty
from hotzone.ingest.sapient.proto.sapient_msg.bsi_flex_335_v2_0 import sapient_message_pb2
from hotzone.ingest.sapient.validation import icd_violations
from hotzone.types import AnyMessage

#: What a sensor (ASM) may send to a fusion node. Acks and tasks flow the other way.
FROM_SENSOR = frozenset(
    {"registration", "status_report", "detection_report", "alert", "task_ack", "error"}
)


@dataclass
class FrameOutcome:
    """One frame: its payload, the parsed message (if any) and what it became."""

    payload: bytes
    sapient: sapient_message_pb2.SapientMessage | None = None
    messages: list[AnyMessage] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return not self.reasons

    @property
    def content(self) -> str | None:
        return None if self.sapient is None else self.sapient.WhichOneof("content")

    @property
    def node_id(self) -> str | None:
        return None if self.sapient is None or not self.sapient.node_id else self.sapient.node_id


class SapientDecoder(Decoder):
    """Length-prefixed SapientMessages from sensors -> Detections and Events."""

    source_name = "sapient"

    def __init__(
        self,
        *,
        sector: str = "",
        releasability: str = "NATO",
        uncertainty: Uncertainty | None = None,
        require_registration: bool = True,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
    ) -> None:
        super().__init__()
        self.sector = sector
        self.releasability = releasability
        self.uncertainty = uncertainty if uncertainty is not None else Uncertainty()
        self.require_registration = require_registration
        self.nodes: dict[str, NodeContext] = {}
        self._splitter = FrameSplitter(max_frame_bytes=max_frame_bytes)

    @property
    def max_frame_bytes(self) -> int:
        return self._splitter.max_frame_bytes

    @classmethod
    def from_options(cls, options: DecoderOptions) -> SapientDecoder:
        return cls(sector=options.sector, releasability=options.releasability)

    def feed_frames(
        self, data: bytes, received_at: datetime
    ) -> tuple[list[FrameOutcome], BadFrameLength | None]:
        payloads, bad_length = self._splitter.feed(data)
        outcomes = [self.decode_payload(payload, received_at) for payload in payloads]
        if bad_length is not None:
            self.counters.frames += 1
        return outcomes, bad_length

    def feed(self, data: bytes, received_at: datetime) -> DecodeResult:
        return self.collect(*self.feed_frames(data, received_at))

    def collect(
        self, outcomes: list[FrameOutcome], bad_length: BadFrameLength | None = None
    ) -> DecodeResult:
        """The `DecodeResult` of frames from `feed_frames` (counted once, here)."""
        return self._count(_as_result(outcomes, bad_length))

    def flush(self, received_at: datetime) -> DecodeResult:
        remainder = self._splitter.take_remainder()
        result = DecodeResult()
        if remainder:
            self.counters.frames += 1
            result.rejected.append(
                Rejected(remainder, f"truncated frame: stream ended with {len(remainder)} bytes")
            )
        return self._count(result)

    def decode_payload(self, payload: bytes, received_at: datetime) -> FrameOutcome:
        """One SapientMessage's bytes -> its outcome; never raises on bad input."""
        self.counters.frames += 1
        outcome = FrameOutcome(payload)
        try:
            message = sapient_message_pb2.SapientMessage.FromString(payload)
        except (DecodeError, ValueError) as error:
            outcome.reasons.append(f"not a SapientMessage: {error}")
            return outcome
        outcome.sapient = message
        violations = icd_violations(message)
        if violations:
            outcome.reasons.extend(f"ICD violation: {item}" for item in violations)
            return outcome
        try:
            outcome.messages.extend(self._translate(message, received_at))
        except IngestError as error:
            outcome.reasons.append(error.describe())
        except ValueError as error:
            # msgspec / hotzone invariants on a value the ICD allows but hotzone cannot hold.
            outcome.reasons.append(f"unusable content: {error}")
        return outcome

    def _translate(
        self, message: sapient_message_pb2.SapientMessage, received_at: datetime
    ) -> list[AnyMessage]:
        content = message.WhichOneof("content")
        node_id = message.node_id
        if content not in FROM_SENSOR:
            raise IngestError(
                "wrong message: a sensor does not send this to a fusion node",
                field="content",
                expected=" | ".join(sorted(FROM_SENSOR)),
                got=str(content),
            )
        time = mapping.message_time(message.timestamp.seconds, message.timestamp.nanos)
        if content == "registration":
            return self._register(message, time)
        node = self.nodes.get(node_id)
        if node is None:
            if self.require_registration:
                raise IngestError(
                    f"{content} from node {node_id} before its registration",
                    field="content",
                    expected="registration first",
                    got=str(content),
                )
            node = self.nodes.setdefault(node_id, NodeContext(node_id))
        match content:
            case "status_report":
                status = message.status_report
                if status.HasField("node_location"):
                    node.location = mapping.geo_point(status.node_location, "node_location")
                return [
                    mapping.status_event(
                        status,
                        node_id=node_id,
                        time=time,
                        position=node.location,
                        releasability=self.releasability,
                    )
                ]
            case "detection_report":
                return self._detection(message, node, time, received_at)
            case "alert":
                return [
                    mapping.alert_event(
                        message.alert, node=node, time=time, releasability=self.releasability
                    )
                ]
            case "task_ack":
                return [
                    mapping.task_ack_event(
                        message.task_ack,
                        node_id=node_id,
                        time=time,
                        releasability=self.releasability,
                    )
                ]
            case _:  # "error"
                return [
                    mapping.node_error_event(
                        list(message.error.error_message),
                        node_id=node_id,
                        time=time,
                        releasability=self.releasability,
                    )
                ]

    def _register(
        self, message: sapient_message_pb2.SapientMessage, time: datetime
    ) -> list[AnyMessage]:
        registration = message.registration
        node = self.nodes.setdefault(message.node_id, NodeContext(message.node_id))
        node.registration = registration
        node.velocity_scale = mapping.velocity_scale(registration)
        return [
            mapping.registration_event(
                registration,
                node_id=message.node_id,
                time=time,
                releasability=self.releasability,
            )
        ]

    def _detection(
        self,
        message: sapient_message_pb2.SapientMessage,
        node: NodeContext,
        time: datetime,
        received_at: datetime,
    ) -> list[AnyMessage]:
        report = message.detection_report
        detection = mapping.detection_from_report(
            report,
            node=node,
            time=time,
            received_at=received_at,
            sector=self.sector,
            releasability=self.releasability,
            uncertainty=self.uncertainty,
        )
        messages: list[AnyMessage] = [detection]
        position = (
            mapping.geo_point(report.location)
            if report.WhichOneof("location_oneof") == "location"
            else None
        )
        behaviour = mapping.behaviour_event(
            report,
            node_id=node.node_id,
            time=time,
            position=position,
            releasability=self.releasability,
        )
        if behaviour is not None:
            messages.append(behaviour)
        return messages


def _as_result(outcomes: list[FrameOutcome], bad_length: BadFrameLength | None) -> DecodeResult:
    result = DecodeResult()
    for outcome in outcomes:
        if outcome.accepted:
            result.messages.extend(outcome.messages)
        else:
            result.rejected.append(Rejected(outcome.payload, "; ".join(outcome.reasons)))
    if bad_length is not None:
        result.rejected.append(Rejected(bad_length.raw, bad_length.reason))
    return result
