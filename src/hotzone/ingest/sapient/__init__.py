"""SAPIENT (BSI Flex 335 v2.0): the UK/NATO counter-UAS sensor interface.

Sensors (ASMs) connect to a fusion node over TCP and exchange length-prefixed protobuf
``SapientMessage`` frames (`framing`): registration -> registration ack, status reports,
detection reports, alert -> alert ack, task -> task ack, error. `SapientDecoder` turns what
sensors send into hotzone messages (`mapping` holds the rules), `validation` enforces the
ICD's mandatory fields, and `messages` builds what a fusion node sends back, including
the tasks c2 uses for cueing. The live server is `hotzone.runtime.sapient_server`.
"""

from hotzone.ingest.sapient.decoder import FROM_SENSOR, FrameOutcome, SapientDecoder
from hotzone.ingest.sapient.framing import BadFrameLength, FrameSplitter, encode_frame
from hotzone.ingest.sapient.mapping import SapientContentError, Uncertainty
from hotzone.ingest.sapient.validation import icd_violations

__all__ = [
    "FROM_SENSOR",
    "BadFrameLength",
    "FrameOutcome",
    "FrameSplitter",
    "SapientContentError",
    "SapientDecoder",
    "Uncertainty",
    "encode_frame",
    "icd_violations",
]
