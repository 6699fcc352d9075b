"""A tiny test-side CAT065 encoder: the shipped captures hold end-of-batch messages only, so
SDPS status and service status reports are built here from item values and checked
against asterix-decoder as well as hotzone."""

from __future__ import annotations

from dataclasses import dataclass

from hotzone.share.asterix062 import fspec


@dataclass
class Cat065Values:
    """Item values of one CAT065 record; None leaves the item out."""

    sac: int | None = 25
    sic: int | None = 100
    message_type: int | None = 1
    service_id: int | None = 4
    time_of_day_s: float | None = 30913.0546875
    batch_number: int | None = None
    nogo: int | None = None  # I065/040 bits 8-7; the other bits below go with it
    overload: bool = False
    time_source_invalid: bool = False
    processing_system: int = 0
    service_report: int | None = None


def encode_cat065_record(values: Cat065Values) -> bytes:
    items: dict[int, bytes] = {}
    if values.sac is not None and values.sic is not None:
        items[1] = bytes((values.sac, values.sic))
    if values.message_type is not None:
        items[2] = bytes((values.message_type,))
    if values.service_id is not None:
        items[3] = bytes((values.service_id,))
    if values.time_of_day_s is not None:
        items[4] = round(values.time_of_day_s * 128).to_bytes(3, "big")
    if values.batch_number is not None:
        items[5] = bytes((values.batch_number,))
    if values.nogo is not None:
        status = (
            (values.nogo << 6)
            | (values.overload << 5)
            | (values.time_source_invalid << 4)
            | (values.processing_system << 2)
        )
        items[6] = bytes((status,))
    if values.service_report is not None:
        items[7] = bytes((values.service_report,))
    return fspec(items) + b"".join(items[frn] for frn in sorted(items))


def encode_cat065(*records: Cat065Values) -> bytes:
    """One data block holding ``records`` (a default SDPS status record when none)."""
    body = b"".join(encode_cat065_record(values) for values in records or (Cat065Values(),))
    return bytes((65,)) + (3 + len(body)).to_bytes(2, "big") + body
