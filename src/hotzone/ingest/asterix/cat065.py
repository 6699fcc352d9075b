"""CAT065: SDPS service status messages (EUROCONTROL ASTERIX Part 15, editions 1.3-1.6 UAP).

An SDPS (surveillance data processing system, e.g. ARTAS) interleaves these with its CAT062
system tracks: they say whether the tracker itself is healthy and when a batch of tracks is
complete.

UAP (FRN: item, format)::

    1 I065/010 Data Source Identifier          2     8-12  spare
    2 I065/000 Message Type                    1     13 RE  Reserved Expansion   explicit
    3 I065/015 Service Identification          1     14 SP  Special Purpose      explicit
    4 I065/030 Time of Message                 3
    5 I065/020 Batch Number                    1
    6 I065/040 SDPS Configuration and Status   1
    7 I065/050 Service Status Report           1

Items (bit 1 is the least significant bit of an item's last octet):

- I065/000: bits 8-1 message type: 1 SDPS status, 2 end of batch, 3 service status report.
- I065/010: bits 16-9 SAC, bits 8-1 SIC of the SDPS.
- I065/015: bits 8-1 service identification, allocated by the SDPS.
- I065/020: bits 8-1 batch number, 0 .. N-1 within one processing cycle.
- I065/030: bits 24-1 time of message, seconds since UTC midnight, LSB 1/128 s.
- I065/040: bits 8-7 NOGO (0 operational, 1 degraded, 2 not currently connected,
  3 unknown), bit 6 OVL (overload), bit 5 TSV (invalid time source), bits 4-3 PSS
  (0 not applicable, 1-3 SDPS-1..3 selected), bit 2 STTN (edition 1.6: toggles whenever
  the SDPS restarts numbering its tracks; a spare bit, sent as 0, before), bit 1 spare.
- I065/050: bits 8-1 service status report code (`SERVICE_REPORTS`).

How `hotzone.ingest.asterix.mapping.cat065_to_event` treats the message types: an SDPS
status and a service status report each become an `Event`; an end of batch is a routine
heartbeat sent every batch (several a second from a busy SDPS) and carries no status of
its own, so it is counted per SDPS on the decoder instead of flooding the event stream,
unless it carries an abnormal I065/040 status, which is never dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hotzone.ingest.asterix import items
from hotzone.ingest.asterix.datablock import Explicit, Fixed, ItemSpec, Uap

CATEGORY = 65

SDPS_STATUS = 1
END_OF_BATCH = 2
SERVICE_STATUS_REPORT = 3

MESSAGE_TYPES: dict[int, str] = {
    SDPS_STATUS: "SDPS status",
    END_OF_BATCH: "end of batch",
    SERVICE_STATUS_REPORT: "service status report",
}

#: I065/040 NOGO values.
SDPS_STATES: dict[int, str] = {
    0: "operational",
    1: "degraded",
    2: "not currently connected",
    3: "unknown",
}

#: I065/050 codes, as the specification words them.
SERVICE_REPORTS: dict[int, str] = {
    1: "service degradation",
    2: "service degradation ended",
    3: "main radar out of service",
    4: "service interrupted by the operator",
    5: "service interrupted due to contingency",
    6: "ready for service restart after contingency",
    7: "service ended by the operator",
    8: "failure of user main radar",
    9: "service restarted by the operator",
    10: "main radar becoming operational",
    11: "main radar becoming degraded",
    12: "service continuity interrupted due to disconnection with adjacent unit",
    13: "service continuity restarted",
    14: "service synchronised on backup radar",
    15: "service synchronised on main radar",
    16: "main and backup radar, if any, failed",
}

UAP: Uap = (
    ItemSpec("I065/010", Fixed(2)),
    ItemSpec("I065/000", Fixed(1)),
    ItemSpec("I065/015", Fixed(1)),
    ItemSpec("I065/030", Fixed(3)),
    ItemSpec("I065/020", Fixed(1)),
    ItemSpec("I065/040", Fixed(1)),
    ItemSpec("I065/050", Fixed(1)),
    None,
    None,
    None,
    None,
    None,
    ItemSpec("RE", Explicit()),
    ItemSpec("SP", Explicit()),
)


@dataclass(slots=True)
class Cat065Record:
    """One decoded CAT065 message; None where the item was absent."""

    sac: int | None = None
    sic: int | None = None
    message_type: int | None = None
    service_id: int | None = None
    time_of_day_s: float | None = None
    batch_number: int | None = None
    sdps_state: int | None = None  # I065/040 NOGO, a key of SDPS_STATES
    overload: bool | None = None  # I065/040 OVL
    time_source_invalid: bool | None = None  # I065/040 TSV
    selected_processing_system: int | None = None  # I065/040 PSS: 0 n/a, else SDPS-n
    track_renumbering_toggle: bool | None = None  # I065/040 STTN (edition 1.6)
    service_report: int | None = None  # I065/050, a key of SERVICE_REPORTS


def decode_batch_number(raw: bytes, record: Cat065Record) -> None:
    """I065/020: bits 8-1 batch number."""
    record.batch_number = raw[0]


def decode_sdps_status(raw: bytes, record: Cat065Record) -> None:
    """I065/040: bits 8-7 NOGO, bit 6 OVL, bit 5 TSV, bits 4-3 PSS, bit 2 STTN."""
    octet = raw[0]
    record.sdps_state = octet >> 6
    record.overload = bool(octet & 0x20)
    record.time_source_invalid = bool(octet & 0x10)
    record.selected_processing_system = (octet >> 2) & 0x03
    record.track_renumbering_toggle = bool(octet & 0x02)


def decode_service_report(raw: bytes, record: Cat065Record) -> None:
    """I065/050: bits 8-1 service status report code."""
    record.service_report = raw[0]


ITEM_DECODERS: dict[str, Callable[[bytes, Cat065Record], None]] = {
    "I065/010": items.decode_data_source,
    "I065/000": items.decode_message_type,
    "I065/015": items.decode_service_id,
    "I065/030": items.decode_time_of_day,
    "I065/020": decode_batch_number,
    "I065/040": decode_sdps_status,
    "I065/050": decode_service_report,
}
