"""Item decoders that several categories share: the same bits read into the same field.

Each category module's ``ITEM_DECODERS`` table maps its item ids to functions of
``(raw item bytes, record)``. Where the standard lays an item out identically in several
categories (I0xx/010 data source, the 1/128 s time of day, a one-octet message type or
service id, a Mode 3/A code) and the records name the field alike, the categories use the
function below; the record types satisfy the small protocols structurally.
"""

from __future__ import annotations

from typing import Protocol

from hotzone.ingest.asterix.datablock import mode_3a_octal, six_bit_characters, unsigned


class HasDataSource(Protocol):
    sac: int | None
    sic: int | None


class HasTimeOfDay(Protocol):
    time_of_day_s: float | None


class HasMessageType(Protocol):
    message_type: int | None


class HasServiceId(Protocol):
    service_id: int | None


class HasMode3A(Protocol):
    mode_3a: str | None


def time_of_day(raw: bytes) -> float:
    """A 3-octet time: seconds since midnight UTC, LSB 1/128 s."""
    return unsigned(raw) / 128.0


def decode_data_source(raw: bytes, record: HasDataSource) -> None:
    """I0xx/010 Data Source Identifier: bits 16-9 SAC, bits 8-1 SIC."""
    record.sac, record.sic = raw[0], raw[1]


def decode_time_of_day(raw: bytes, record: HasTimeOfDay) -> None:
    """Time of day (I034/030, I048/140, I065/030): bits 24-1 seconds since midnight UTC,
    LSB 1/128 s."""
    record.time_of_day_s = time_of_day(raw)


def decode_message_type(raw: bytes, record: HasMessageType) -> None:
    """Message type (I034/000, I065/000): bits 8-1."""
    record.message_type = raw[0]


def decode_service_id(raw: bytes, record: HasServiceId) -> None:
    """Service identification (I062/015, I065/015): bits 8-1."""
    record.service_id = raw[0]


def decode_mode_3a(raw: bytes, record: HasMode3A) -> None:
    """Mode 3/A code (I021/070, I062/060): bits 12-1, four octal digits; the status bits
    above them are not kept."""
    record.mode_3a = mode_3a_octal(raw)


class HasAircraftAddress(Protocol):
    aircraft_address: int | None


class HasAircraftIdentification(Protocol):
    aircraft_identification: str | None


def decode_aircraft_address(raw: bytes, record: HasAircraftAddress) -> None:
    """Mode S address (I048/220, I062/380 ADR): bits 24-1."""
    record.aircraft_address = unsigned(raw)


def decode_aircraft_identification(raw: bytes, record: HasAircraftIdentification) -> None:
    """Aircraft identification (I048/240, I062/380 ID): bits 48-1, eight 6-bit characters
    (IA-5)."""
    record.aircraft_identification = six_bit_characters(raw)
