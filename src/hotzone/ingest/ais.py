"""AIS over NMEA 0183 (``!AIVDM`` / ``!AIVDO``) -> vessel `Report`s.

A sentence (IEC 61162-1 / NMEA 0183 encapsulation, ITU-R M.1371 payload)::

    [\\s:rcv,c:1700000000*hh\\]  [prefix] !AIVDM,2,1,7,A,55P5TL01VIaAL@7WKO@mBplU@<PDhh00000...,0*hh
     tag block (optional)    time   |    |  | | |  payload: 6 bits per character       | fill
                                    |    |  | | channel (A/B)                          checksum
                                    |    |  | sequential message id (multi-sentence groups)
                                    |    |  fragment number
                                    |    fragment count
                                    talker "AI" + "VDM" (others' ships) or "VDO" (own ship)

The checksum is the XOR of the characters between ``!`` and ``*``: a sentence whose
checksum does not match is refused. Multi-sentence messages (static and voyage data,
type 5, takes two) are reassembled by (sequential message id, channel); a group that is
not complete within ``group_timeout_s``, or that a new group with the same id replaces,
or that is still open at the end of the stream, is refused as a dead letter with its raw
sentences. An optional tag block (``c:`` = UNIX time of reception, seconds or
milliseconds; trusted only when the tag block's own ``*hh`` checksum matches) or a
leading timestamp (POSIX seconds or ISO 8601, before the ``!``) gives the reception
time; otherwise the time the line arrived is used.

Payloads are decoded by pyais (MIT). What becomes a `Report`:

- position reports class A (types 1, 2, 3) and class B (18, 19): ``mmsi``, position,
  SOG/COG -> ``velocity_enu_mps`` (when both are available), position accuracy flag ->
  ``horizontal_sigma_m`` (10 m when high, 100 m otherwise), ``height_m`` 0 (sea level),
  ``class_hint`` vessel. The report's time is the reception time moved to the UTC second
  the ship stamped in the message (field "time stamp", when 0-59).
- long-range position reports (27, the format satellite AIS receives): position in
  1/10 minute (about 185 m, so ``horizontal_sigma_m`` adds that rounding, 53 m per axis,
  to the accuracy flag's), SOG in whole knots (63: n/a), COG in whole degrees (511: n/a),
  ``class_hint`` vessel; no time stamp: the reception time (satellite relays may be
  minutes late: give the feed's own time in a tag block or leading timestamp).
- SAR aircraft (9): position, altitude (metres, 4095: n/a) -> ``height_m`` with
  ``vertical_sigma_m`` 50 m, SOG (knots, 1023: n/a) and COG, time stamp as for 1-3; no
  class hint (a fixed-wing aircraft or a helicopter).
- base station reports (4) and UTC/date responses (11, the same layout, sent by a ship):
  the station's position, time stamp as for 1-3; a base station (4) is fixed, so its
  ``velocity_enu_mps`` is zero; ``class_hint`` vessel for 11.
- static and voyage data (5, 24 A/B, and the static part of 19) is kept per MMSI and
  enriches that vessel's later reports: ``callsign`` = ship name (the label operators
  show), ``uid`` = the ITU radio call sign.
- aids to navigation (21: charted or virtual marks, not objects to track), binary and
  safety messages are decoded (so bad ones are refused) but produce no `Report`.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pyais.exceptions import AISBaseException
from pyais.messages import AISSentence, NMEASentenceFactory

from hotzone.ingest.base import (
    DecodeResult,
    DecoderOptions,
    IngestError,
    LineDecoder,
    RecentMemory,
    Rejected,
)
from hotzone.ingest.sbs import KNOTS_TO_MPS, ground_velocity_enu
from hotzone.types import AnyMessage, GeoPoint, Report, ReportSource, TargetClass

ACCURATE_POSITION_SIGMA_M = 10.0  # accuracy flag 1: DGNSS, better than 10 m
UNAUGMENTED_POSITION_SIGMA_M = 100.0  # accuracy flag 0: plain GNSS, "worse than 10 m"
LONG_RANGE_ROUNDING_SIGMA_M = 1852.0 / 10.0 / 12.0**0.5  # 1/10 minute, uniform rounding
SAR_ALTITUDE_SIGMA_M = 50.0
POSITION_REPORT_TYPES = frozenset({1, 2, 3, 4, 9, 11, 18, 19, 27})
VESSEL_TYPES = frozenset({1, 2, 3, 11, 18, 19, 27})
SPEED_NOT_AVAILABLE_KT = 102.3
"""Types 1-3, 18, 19: 1023 tenths of a knot; type 9 uses 1023 knots, type 27 63 knots."""
_SPEED_LIMIT_KT = {9: 1023.0, 27: 63.0}
_TAG_BLOCK = re.compile(rb"\\([^\\]*)\*([0-9A-Fa-f]{2})\\")


class AisError(IngestError):
    """One AIS sentence or message could not be decoded."""


@dataclass
class VesselStatic:
    """Static and voyage data heard for one MMSI."""

    ship_name: str | None = None
    call_sign: str | None = None
    ship_type: int | None = None


@dataclass
class _Group:
    """The fragments of one multi-sentence message received so far."""

    fragment_count: int
    first_seen: datetime
    time: datetime
    fragments: dict[int, AISSentence] = field(default_factory=dict)
    raw: list[bytes] = field(default_factory=list)


def nmea_checksum(body: bytes) -> int:
    """XOR of every byte of ``body`` (the text between ``!``/``\\`` and ``*``)."""
    checksum = 0
    for byte in body:
        checksum ^= byte
    return checksum


def _posix_time(text: str, field: str) -> datetime:
    try:
        seconds = float(text)
        if seconds > 1e11:  # some receivers write milliseconds
            seconds /= 1000.0
        if not 0.0 <= seconds < 32_503_680_000.0:
            raise ValueError(text)
        return datetime.fromtimestamp(seconds, UTC)
    except (ValueError, OverflowError):
        raise AisError("not a POSIX time", field=field, expected="seconds", got=text) from None


def _leading_time(prefix: bytes) -> datetime:
    """A timestamp written before the sentence: POSIX seconds or ISO 8601."""
    text = prefix.decode("ascii", errors="replace").strip(" \t,;")
    if re.fullmatch(r"\d+(\.\d*)?", text):
        return _posix_time(text, "timestamp prefix")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise AisError(
            "not a timestamp", field="prefix", expected="POSIX seconds or ISO 8601", got=text[:40]
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _tag_block_time(content: bytes, checksum_text: bytes) -> datetime | None:
    if nmea_checksum(content) != int(checksum_text, 16):
        # Real feeds carry tag blocks with wrong checksums over sentences whose own
        # checksum is right: the sentence is kept, the untrusted reception time is not.
        return None
    for item in content.decode("ascii", errors="replace").split(","):
        key, _, value = item.partition(":")
        if key == "c":
            return _posix_time(value, "tag block c")
    return None


def _text(value: Any) -> str | None:
    """pyais text fields: trailing '@' padding and spaces removed; empty -> None."""
    if not isinstance(value, str):
        return None
    cleaned = value.replace("@", " ").strip()
    return cleaned or None


def align_to_second(reference: datetime, second: int) -> datetime:
    """The time nearest ``reference`` whose UTC second is ``second`` (0-59)."""
    candidate = reference.replace(second=second, microsecond=0)
    offset = (candidate - reference).total_seconds()
    if offset > 30.0:
        candidate -= timedelta(minutes=1)
    elif offset < -30.0:
        candidate += timedelta(minutes=1)
    return candidate


def _velocity(message_type: int, message: Any) -> tuple[float, float, float] | None:
    """SOG/COG as an ENU velocity; None when either is not available."""
    if message_type == 4:
        return (0.0, 0.0, 0.0)  # a base station does not move
    speed, course = getattr(message, "speed", None), getattr(message, "course", None)
    speed_limit = _SPEED_LIMIT_KT.get(message_type, SPEED_NOT_AVAILABLE_KT)
    if (
        not isinstance(speed, int | float)
        or not isinstance(course, int | float)
        or not 0.0 <= speed < speed_limit
        or not 0.0 <= course < 360.0  # 360 (3600 tenths, 511 for 27): not available
    ):
        return None
    return ground_velocity_enu(float(speed) * KNOTS_TO_MPS, float(course))


class AisDecoder(LineDecoder):
    """NMEA 0183 AIS sentences -> vessel reports, with multi-sentence reassembly."""

    source_name = "ais"

    def __init__(
        self,
        source_id: str = "ais",
        *,
        sector: str = "",
        releasability: str = "NATO",
        group_timeout_s: float = 10.0,
        max_open_groups: int = 1_000,
        max_vessels: int = 100_000,
    ) -> None:
        super().__init__()
        self.source_id = source_id
        self.sector = sector
        self.releasability = releasability
        self.group_timeout_s = group_timeout_s
        self.max_open_groups = max_open_groups
        self._groups: OrderedDict[tuple[str, int | None, str], _Group] = OrderedDict()
        self._static: RecentMemory[int, VesselStatic] = RecentMemory(max_vessels)
        self._dropped: list[Rejected] = []
        self._next_report = 0

    @classmethod
    def from_options(cls, options: DecoderOptions) -> AisDecoder:
        return cls(
            options.source_id or "ais", sector=options.sector, releasability=options.releasability
        )

    def vessel(self, mmsi: int) -> VesselStatic | None:
        """Static data kept for one MMSI, if any was heard."""
        return self._static.get(mmsi)

    # -- stream level: groups that never complete become dead letters ---------------------

    def feed(self, data: bytes, received_at: datetime) -> DecodeResult:
        result = super().feed(data, received_at)
        self._expire(received_at, everything=False)
        return self._with_dropped(result)

    def flush(self, received_at: datetime) -> DecodeResult:
        result = super().flush(received_at)
        self._expire(received_at, everything=True)
        return self._with_dropped(result)

    def _with_dropped(self, result: DecodeResult) -> DecodeResult:
        dropped, self._dropped = self._dropped, []
        result.rejected.extend(self._count(DecodeResult(rejected=dropped)).rejected)
        return result

    def _expire(self, now: datetime, *, everything: bool) -> None:
        for key, group in list(self._groups.items()):
            age = (now - group.first_seen).total_seconds()
            if everything or age > self.group_timeout_s:
                del self._groups[key]
                why = "stream ended" if everything else f"no fragment for {age:.1f} s"
                self._drop(group, f"incomplete multi-sentence group: {why}")

    def _drop(self, group: _Group, reason: str) -> None:
        have = sorted(group.fragments)
        self._dropped.append(
            Rejected(
                b"\n".join(group.raw),
                f"{reason} (fragments {have} of {group.fragment_count})",
            )
        )

    # -- one line --------------------------------------------------------------------------

    def decode_line(self, line: bytes, received_at: datetime) -> list[AnyMessage]:
        time, sentence_bytes = self._split_line(line.strip(), received_at)
        try:
            sentence = NMEASentenceFactory.produce(sentence_bytes)
        except AISBaseException as error:
            raise AisError(f"not an AIS sentence: {type(error).__name__}: {error}") from None
        if not isinstance(sentence, AISSentence):
            raise AisError("not an AIS sentence", expected="!xxVDM or !xxVDO")
        if not sentence.is_valid:
            raise AisError(
                "does not match the sentence",
                field="checksum",
                expected=f"{nmea_checksum(self._checksummed(sentence_bytes)):02X}",
                got=f"{sentence.checksum:02X}",
            )
        if sentence.frag_cnt == 1:
            return self._decode_message(sentence, time, received_at)
        complete = self._add_fragment(sentence, line, time, received_at)
        return [] if complete is None else self._decode_message(complete, time, received_at)

    @staticmethod
    def _checksummed(sentence: bytes) -> bytes:
        return sentence[1:].split(b"*", 1)[0]

    @staticmethod
    def _split_line(line: bytes, received_at: datetime) -> tuple[datetime, bytes]:
        """Separate an optional leading timestamp and tag block from the sentence."""
        time: datetime | None = None
        start = min((i for i in map(line.find, (b"!", b"$", b"\\")) if i >= 0), default=-1)
        if start < 0:
            raise AisError("no sentence", expected="a line with !xxVDM or !xxVDO")
        if start > 0:
            time = _leading_time(line[:start])
            line = line[start:]
        if line.startswith(b"\\"):
            match = _TAG_BLOCK.match(line)
            if match is None:
                raise AisError("unterminated tag block", field="tag block")
            time = _tag_block_time(match.group(1), match.group(2)) or time
            line = line[match.end() :]
        return time or received_at, line

    def _add_fragment(
        self, sentence: AISSentence, raw: bytes, time: datetime, received_at: datetime
    ) -> AISSentence | None:
        key = (sentence.talker_id + sentence.type, sentence.seq_id, sentence.channel)
        group = self._groups.get(key)
        if group is not None and (
            group.fragment_count != sentence.frag_cnt or sentence.frag_num in group.fragments
        ):
            # The id was reused before the old message completed: the old one is lost.
            del self._groups[key]
            self._drop(group, "incomplete multi-sentence group: replaced by a new message")
            group = None
        if group is None:
            group = _Group(sentence.frag_cnt, received_at, time)
            self._groups[key] = group
            if len(self._groups) > self.max_open_groups:
                _, oldest = self._groups.popitem(last=False)
                self._drop(oldest, "incomplete multi-sentence group: too many open groups")
        group.fragments[sentence.frag_num] = sentence
        group.raw.append(raw)
        if len(group.fragments) < group.fragment_count:
            return None
        del self._groups[key]
        ordered = [group.fragments[number] for number in sorted(group.fragments)]
        return AISSentence.assemble_from_iterable(ordered)

    # -- one message -----------------------------------------------------------------------

    def _decode_message(
        self, sentence: AISSentence, time: datetime, received_at: datetime
    ) -> list[AnyMessage]:
        try:
            message = sentence.decode()
        except (AISBaseException, ValueError, IndexError, KeyError, TypeError) as error:
            raise AisError(f"payload not decodable: {type(error).__name__}: {error}") from None
        if not isinstance(message.msg_type, int) or not isinstance(message.mmsi, int):
            raise AisError("payload too short for a message type and MMSI", field="payload")
        message_type, mmsi = int(message.msg_type), int(message.mmsi)
        if message_type in (5, 19, 24):
            self._update_static(mmsi, message_type, message)
        if message_type not in POSITION_REPORT_TYPES:
            return []
        report = self._report(mmsi, message_type, message, time, received_at)
        return [] if report is None else [report]

    def _update_static(self, mmsi: int, message_type: int, message: Any) -> None:
        static = self._static.heard(mmsi, VesselStatic)
        ship_name = _text(getattr(message, "shipname", None))
        call_sign = _text(getattr(message, "callsign", None))
        ship_type = getattr(message, "ship_type", None)
        if message_type == 24 and getattr(message, "partno", 0) == 0:
            ship_type = None  # part A carries only the name
        if ship_name is not None:
            static.ship_name = ship_name
        if call_sign is not None:
            static.call_sign = call_sign
        if isinstance(ship_type, int) and ship_type != 0:
            static.ship_type = int(ship_type)

    def _report(
        self, mmsi: int, message_type: int, message: Any, time: datetime, received_at: datetime
    ) -> Report | None:
        lat, lon = getattr(message, "lat", None), getattr(message, "lon", None)
        if lat is None or lon is None or not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
            return None  # 91 / 181: position not available
        second = getattr(message, "second", None)
        if isinstance(second, int) and 0 <= second <= 59:
            time = align_to_second(time, second)
        sigma = ACCURATE_POSITION_SIGMA_M if message.accuracy else UNAUGMENTED_POSITION_SIGMA_M
        if message_type == 27:
            sigma = (sigma**2 + LONG_RANGE_ROUNDING_SIGMA_M**2) ** 0.5
        height_m, vertical_sigma_m = 0.0, None
        altitude = getattr(message, "alt", None)
        if message_type == 9 and isinstance(altitude, int | float) and 0 <= altitude < 4095:
            height_m, vertical_sigma_m = float(altitude), SAR_ALTITUDE_SIGMA_M
        velocity = _velocity(message_type, message)
        static = self._static.get(mmsi) or VesselStatic()
        self._next_report += 1
        return Report(
            report_id=f"{self.source_id}-{self._next_report:06d}",
            time=time,
            source_id=self.source_id,
            source=ReportSource.AIS,
            position=GeoPoint(lat_deg=float(lat), lon_deg=float(lon), height_m=height_m),
            horizontal_sigma_m=sigma,
            vertical_sigma_m=vertical_sigma_m,
            velocity_enu_mps=velocity,
            mmsi=mmsi,
            callsign=static.ship_name[:20] if static.ship_name else None,
            uid=static.call_sign,
            class_hint=TargetClass.VESSEL if message_type in VESSEL_TYPES else None,
            sector=self.sector,
            received_at=received_at,
            releasability=self.releasability,
        )
