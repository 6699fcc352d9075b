"""Cursor on Target (CoT 2.0) XML events -> `Report` / `Event`.

One CoT event is one XML document (schema: MITRE Event-PUBLIC.xsd, CoT 2.0)::

    <?xml version="1.0" encoding="UTF-8"?>                     optional declaration
    <event version="2.0" uid="ANDROID-0a1b" type="a-f-G-U-C"    type: atom-affiliation-
           time="2026-11-27T12:00:00.000Z"                            dimension-function
           start="2026-11-27T12:00:00.000Z"                     validity interval
           stale="2026-11-27T12:05:00.000Z" how="m-g">          how: m-g GPS, h-e human ...
      <point lat="54.1" lon="23.2" hae="150.0"                  WGS-84 deg, m above ellipsoid
             ce="9.5" le="12.0"/>                               1-sigma errors, m; 9999999 =
      <detail>                                                  unknown
        <contact callsign="ALPHA-1"/>
        <track course="87.5" speed="4.2"/>                      deg true, m/s
        <remarks>free text</remarks>
      </detail>
    </event>

Over TCP (a TAK client or server) events follow each other with no separator, each may
start with its own XML declaration, and one event may be split across reads; over UDP
each datagram holds one event. `CotEventFramer` cuts the stream into documents by
counting start and end tags, without parsing, and refuses any document larger than
``max_event_bytes`` (64 KiB by default) before it is parsed. Each document is then parsed
by defusedxml with DTDs forbidden, so entity expansion (billion laughs) and external
entities are refused too. Every refused document is a `Rejected` with its reason.

Mapping (docs/ingest/cot.md):

- ``a-f-*`` (friend atoms: blue-force position reports) -> `Report`, source ``blue_force``,
  claimed identity ``friend``;
- other ``a-*`` atoms (human-entered or relayed observations, ``a-h-*``, ``a-u-*``,
  ``a-n-*`` ...) -> `Report`, source ``cot``, claimed identity from the affiliation letter;
- ``b-*`` (bits: sensor points, casevac, ...) and ``t-*`` (tasking, pings) ->
  `Event` of kind ``observation``;
- any other type (drawings ``u-*``, replies ``y-*`` ...) is refused as not mapped.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from hotzone.ingest.base import Decoder, DecodeResult, DecoderOptions, IngestError, Rejected
from hotzone.types import (
    AnyMessage,
    Event,
    EventKind,
    GeoPoint,
    Report,
    ReportSource,
    StandardIdentity,
    TargetClass,
)

DEFAULT_MAX_EVENT_BYTES = 64 * 1024
#: CoT's "unknown" value for ce, le and hae.
COT_UNKNOWN = 9999999.0
#: Assumed 1-sigma horizontal error (m) when the sender gives none (ce unknown or 0).
DEFAULT_UNKNOWN_CE_SIGMA_M = 100.0

#: CoT affiliation letter -> standard identity (joker and faker are exercise roles).
AFFILIATIONS: dict[str, StandardIdentity] = {
    "p": StandardIdentity.PENDING,
    "u": StandardIdentity.UNKNOWN,
    "a": StandardIdentity.ASSUMED_FRIEND,
    "f": StandardIdentity.FRIEND,
    "n": StandardIdentity.NEUTRAL,
    "s": StandardIdentity.SUSPECT,
    "h": StandardIdentity.HOSTILE,
    "j": StandardIdentity.SUSPECT,
    "k": StandardIdentity.HOSTILE,
}

#: Battle dimension + 2525 function prefix of a CoT type -> class hint; the longest
#: matching prefix wins. Only prefixes that name one class unambiguously are listed.
CLASS_HINTS: dict[str, TargetClass] = {
    "A-M-F-Q": TargetClass.SMALL_UAV,
    "A-M-F-Q-A": TargetClass.ONE_WAY_ATTACK_DRONE,
    "A-C-H": TargetClass.HELICOPTER,
    "A-M-H": TargetClass.HELICOPTER,
    "A-W-M-C-M": TargetClass.CRUISE_MISSILE,
    "A-W-M-B": TargetClass.BALLISTIC_MISSILE,
    "G-E-V": TargetClass.GROUND_VEHICLE,
    "S": TargetClass.VESSEL,
}

_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?"
)


class CotError(IngestError):
    """A CoT event that breaks the CoT 2.0 schema or cannot be mapped."""


# ------------------------------------------------------------------------------ framing


class _Token:
    """What one markup token does to the element depth."""

    OPEN = 1
    CLOSE = -1
    EMPTY = 0  # empty element, or anything that is not an element (comment, PI, DTD)


# Tokens are scanned with single-character classes and find(), never with a repeated
# group of alternatives: that form backtracks, and on a 20 MB tag that never closes its
# stack grew to gigabytes. Each byte of a tag is now looked at once.
_TAG_SPECIAL = re.compile(rb"[>\"']")  # what ends a tag or opens a quoted attribute value
_DECLARATION_SPECIAL = re.compile(rb"[>\[]")  # what ends a declaration or opens its subset
_ELEMENT_NAME = re.compile(rb"</?([^\s/>]*)")


def _tag_end(buffer: bytes, start: int) -> int | None:
    """Offset just after the ``>`` closing the tag at ``start``, skipping quoted values."""
    position = start + 1
    while True:
        match = _TAG_SPECIAL.search(buffer, position)
        if match is None:
            return None
        at = match.start()
        if buffer[at] == ord(">"):
            return at + 1
        closing = buffer.find(buffer[at : at + 1], at + 1)
        if closing < 0:
            return None
        position = closing + 1


def _declaration_end(buffer: bytes, start: int) -> int | None:
    """Offset just after the ``>`` closing ``<!DOCTYPE ...>``, skipping an internal subset
    in brackets (its ``]`` is the first one, as the old pattern's ``\\[.*?\\]`` had it)."""
    position = start + 2
    while True:
        match = _DECLARATION_SPECIAL.search(buffer, position)
        if match is None:
            return None
        at = match.start()
        if buffer[at] == ord(">"):
            return at + 1
        closing = buffer.find(b"]", at + 1)
        if closing < 0:
            return None
        position = closing + 1


def _markup_end(buffer: bytes, start: int) -> tuple[int, int] | None:
    """End offset and depth change of the markup token at ``start`` (a ``<``), or None
    if the buffer ends before the token does."""
    if buffer.startswith(b"<?", start):
        end = buffer.find(b"?>", start + 2)
        return (end + 2, _Token.EMPTY) if end >= 0 else None
    if buffer.startswith(b"<!--", start):
        end = buffer.find(b"-->", start + 4)
        return (end + 3, _Token.EMPTY) if end >= 0 else None
    if buffer.startswith(b"<![CDATA[", start):
        end = buffer.find(b"]]>", start + 9)
        return (end + 3, _Token.EMPTY) if end >= 0 else None
    if buffer.startswith(b"<!", start):
        declaration_end = _declaration_end(buffer, start)
        return (declaration_end, _Token.EMPTY) if declaration_end is not None else None
    if buffer.startswith(b"</", start):
        end = buffer.find(b">", start + 2)
        return (end + 1, _Token.CLOSE) if end >= 0 else None
    tag_end = _tag_end(buffer, start)
    if tag_end is None:
        return None
    empty = buffer[tag_end - 2 : tag_end - 1] == b"/"
    return tag_end, _Token.EMPTY if empty else _Token.OPEN


def _starts_new_document(buffer: bytes, start: int) -> bool:
    """An XML declaration or an ``<event`` start tag: a new CoT document begins here.

    A declaration is only legal at the start of a document and CoT events never nest,
    so seeing either inside an unfinished event means that event was cut short (a lost
    TCP segment, a truncated datagram) and the stream resynchronizes here.
    """
    if buffer.startswith(b"<?xml", start):
        return True
    name = _ELEMENT_NAME.match(buffer, start)
    return name is not None and not buffer.startswith(b"</", start) and name[1] == b"event"


@dataclass
class FramedDocument:
    """One document cut from the stream, or a refused piece of it (``reason`` set)."""

    raw: bytes
    reason: str | None = None


class CotEventFramer:
    """Cuts a byte stream into CoT documents by counting element depth, without parsing."""

    def __init__(self, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        if max_event_bytes < 64:
            raise ValueError(f"max_event_bytes must be at least 64, got {max_event_bytes}")
        self.max_event_bytes = max_event_bytes
        self._buffer = b""
        self._scan = 0  # where tokenizing resumes in the buffer
        self._depth = 0  # open elements of the document being framed
        self._start: int | None = None  # start of the document being framed
        self._discarding = False  # inside an oversized document: its bytes are dropped

    def push(self, data: bytes) -> list[FramedDocument]:
        documents: list[FramedDocument] = []
        buffer = self._buffer + data
        position = self._scan
        while True:
            less_than = buffer.find(b"<", position)
            if self._start is None and not self._discarding:
                # Between documents only whitespace belongs; anything else is refused.
                text_end = less_than if less_than >= 0 else len(buffer)
                text = buffer[position:text_end]
                if less_than < 0 and len(text) <= self.max_event_bytes:
                    break  # more text or the next document may follow
                if text.strip():
                    documents.append(
                        FramedDocument(
                            text.strip()[: self.max_event_bytes], "not XML: text outside an event"
                        )
                    )
                position = text_end
                if less_than < 0:
                    break
                self._start = less_than
                self._depth = 0
            if less_than < 0:
                break
            token = _markup_end(buffer, less_than)
            if token is None:
                break  # the token continues in the next chunk
            end, change = token
            if (self._depth > 0 or self._discarding) and _starts_new_document(buffer, less_than):
                self._resynchronize(buffer, less_than, documents)
            position = end
            self._depth += change
            is_element = buffer[less_than + 1 : less_than + 2] not in (b"?", b"!")
            if is_element and self._depth <= 0:
                self._complete(buffer, end, documents)
        self._keep(buffer, position, documents)
        return documents

    def flush(self) -> list[FramedDocument]:
        """End of the stream: an unfinished document is refused as truncated."""
        documents: list[FramedDocument] = []
        if self._start is not None:
            documents.append(
                FramedDocument(
                    self._buffer[self._start :], "truncated: the stream ended inside an event"
                )
            )
        elif not self._discarding and self._buffer[self._scan :].strip():
            documents.append(
                FramedDocument(self._buffer[self._scan :].strip(), "not XML: text outside an event")
            )
        self._reset()
        return documents

    def _reset(self) -> None:
        self._buffer = b""
        self._scan = 0
        self._depth = 0
        self._start = None
        self._discarding = False

    def _resynchronize(self, buffer: bytes, start: int, documents: list[FramedDocument]) -> None:
        if not self._discarding and self._start is not None:
            documents.append(
                FramedDocument(
                    buffer[self._start : start][: self.max_event_bytes],
                    "truncated: a new event began before this one ended",
                )
            )
        self._discarding = False
        self._start = start
        self._depth = 0

    def _complete(self, buffer: bytes, end: int, documents: list[FramedDocument]) -> None:
        if not self._discarding and self._start is not None:
            raw = buffer[self._start : end]
            if len(raw) > self.max_event_bytes:
                documents.append(FramedDocument(raw[: self.max_event_bytes], self._too_big()))
            else:
                documents.append(FramedDocument(raw))
        self._discarding = False
        self._start = None
        self._depth = 0

    def _keep(self, buffer: bytes, position: int, documents: list[FramedDocument]) -> None:
        """Keep only what later chunks still need; start discarding an oversized event."""
        if self._start is not None and len(buffer) - self._start > self.max_event_bytes:
            documents.append(
                FramedDocument(
                    buffer[self._start : self._start + self.max_event_bytes], self._too_big()
                )
            )
            self._discarding = True
            self._start = None
        if self._discarding:
            # Only the unfinished token is kept; a token bigger than the limit is dropped.
            keep_from = position if len(buffer) - position <= self.max_event_bytes else len(buffer)
        elif self._start is not None:
            keep_from = self._start
        else:
            keep_from = position
        self._buffer = buffer[keep_from:]
        self._scan = position - keep_from if position >= keep_from else 0
        if self._start is not None:
            self._start -= keep_from

    def _too_big(self) -> str:
        return f"oversize: event larger than {self.max_event_bytes} bytes"


# ------------------------------------------------------------------------------ decoding


def parse_cot_time(text: str | None, field: str) -> datetime:
    """An xs:dateTime of CoT (UTC, any number of fractional digits) -> aware datetime."""
    if text is None:
        raise CotError("missing", field=field, expected="an xs:dateTime")
    match = _DATETIME.fullmatch(text.strip())
    if match is None:
        raise CotError(
            "not a time", field=field, expected="CCYY-MM-DDThh:mm:ss[.s]Z", got=text[:40]
        )
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    fraction, zone = match[7], match[8]
    microseconds = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        moment = datetime(year, month, day, hour, minute, second, microseconds, tzinfo=UTC)
    except ValueError as error:
        raise CotError(str(error), field=field, got=text[:40]) from None
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
        moment -= sign * offset
    return moment


def _number(element: Element, name: str, *, required: bool = True) -> float | None:
    text = element.get(name)
    if text is None:
        if required:
            raise CotError("missing", field=f"{element.tag}@{name}", expected="a decimal")
        return None
    try:
        value = float(text)
    except ValueError:
        raise CotError("not a number", field=f"{element.tag}@{name}", got=text[:40]) from None
    if not math.isfinite(value):
        raise CotError("not finite", field=f"{element.tag}@{name}", got=text[:40])
    return value


@dataclass(frozen=True)
class CotPoint:
    """The ``<point>`` of an event in hotzone's units."""

    position: GeoPoint
    horizontal_sigma_m: float
    vertical_sigma_m: float | None


def _known(value: float | None) -> float | None:
    return None if value is None or value >= COT_UNKNOWN else value


def read_point(event: Element, unknown_ce_sigma_m: float) -> CotPoint:
    point = event.find("point")
    if point is None:
        raise CotError("missing <point>", field="point")
    lat = _number(point, "lat")
    lon = _number(point, "lon")
    assert lat is not None and lon is not None  # required above
    if not -90.0 <= lat <= 90.0:
        raise CotError("out of range", field="point@lat", expected="-90..90", got=repr(lat))
    if not -180.0 <= lon <= 180.0:
        raise CotError("out of range", field="point@lon", expected="-180..180", got=repr(lon))
    hae = _known(_number(point, "hae", required=False))
    ce = _known(_number(point, "ce", required=False))
    le = _known(_number(point, "le", required=False))
    for name, value in (("ce", ce), ("le", le)):
        if value is not None and value < 0:
            raise CotError("negative error", field=f"point@{name}", got=repr(value))
    # ce 0 or unknown: the sender gave no estimate, so the configured assumption is used.
    horizontal = ce if ce else unknown_ce_sigma_m
    return CotPoint(
        position=GeoPoint(lat_deg=lat, lon_deg=lon, height_m=hae if hae is not None else 0.0),
        horizontal_sigma_m=horizontal,
        vertical_sigma_m=le if le and hae is not None else None,
    )


def read_velocity(detail: Element | None) -> tuple[float, float, float] | None:
    """``<track course= speed=>`` (degrees true, m/s) -> ENU velocity, or None."""
    track = detail.find("track") if detail is not None else None
    if track is None:
        return None
    course = _number(track, "course", required=False)
    speed = _number(track, "speed", required=False)
    if course is None or speed is None or speed < 0:
        return None
    heading = math.radians(course)
    return (speed * math.sin(heading), speed * math.cos(heading), 0.0)


#: Fields of the longest prefix in CLASS_HINTS: a longer one cannot match, so no more are
#: joined (a mangled type of thousands of fields cost quadratic time: 0.2 s for 14 KB).
_LONGEST_HINT_FIELDS = max(len(prefix.split("-")) for prefix in CLASS_HINTS)


def class_hint_of(type_fields: list[str]) -> TargetClass | None:
    """Longest listed dimension+function prefix of a CoT atom type -> class hint."""
    dimension_and_function = type_fields[2 : 2 + _LONGEST_HINT_FIELDS]
    for length in range(len(dimension_and_function), 0, -1):
        hint = CLASS_HINTS.get("-".join(dimension_and_function[:length]))
        if hint is not None:
            return hint
    return None


@dataclass(frozen=True)
class CotDecoderSettings:
    source_id: str = "cot"
    sector: str = ""
    releasability: str = "NATO"
    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES
    unknown_ce_sigma_m: float = DEFAULT_UNKNOWN_CE_SIGMA_M
    datagrams: bool = False  # each feed() is one whole event (UDP), not a stream chunk


class CotDecoder(Decoder):
    """CoT XML events (TCP stream, UDP datagrams or files) -> `Report` / `Event`."""

    source_name = "cot"

    def __init__(self, settings: CotDecoderSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or CotDecoderSettings()
        self._framer = CotEventFramer(self.settings.max_event_bytes)

    @property
    def max_frame_bytes(self) -> int:
        return self.settings.max_event_bytes

    @classmethod
    def from_options(cls, options: DecoderOptions) -> CotDecoder:
        """The registry's factory: ``datagram`` framing decodes one event per feed; the
        event size cap and the default error are `CotDecoderSettings`'."""
        return cls(
            CotDecoderSettings(
                source_id=options.source_id or "cot",
                sector=options.sector,
                releasability=options.releasability,
                datagrams=options.framing == "datagram",
            )
        )

    def feed(self, data: bytes, received_at: datetime) -> DecodeResult:
        if self.settings.datagrams:
            return self._count(self._decode_datagram(data, received_at))
        result = DecodeResult()
        for document in self._framer.push(data):
            self._decode_into(document, received_at, result)
        return self._count(result)

    def flush(self, received_at: datetime) -> DecodeResult:
        result = DecodeResult()
        for document in self._framer.flush():
            self._decode_into(document, received_at, result)
        return self._count(result)

    def _decode_datagram(self, data: bytes, received_at: datetime) -> DecodeResult:
        result = DecodeResult()
        if len(data) > self.settings.max_event_bytes:
            self.counters.frames += 1
            message = f"oversize: event larger than {self.settings.max_event_bytes} bytes"
            result.rejected.append(Rejected(data[: self.settings.max_event_bytes], message))
            return result
        framer = CotEventFramer(max(self.settings.max_event_bytes, 64))
        documents = [*framer.push(data), *framer.flush()]
        for document in documents or [FramedDocument(data, "empty datagram")]:
            self._decode_into(document, received_at, result)
        return result

    def _decode_into(
        self, document: FramedDocument, received_at: datetime, result: DecodeResult
    ) -> None:
        self.counters.frames += 1
        if document.reason is not None:
            result.rejected.append(Rejected(document.raw, document.reason))
            return
        try:
            result.messages.append(self.decode_event(document.raw, received_at))
        except IngestError as error:
            result.rejected.append(Rejected(document.raw, error.describe()))
        except DefusedXmlException as error:
            result.rejected.append(Rejected(document.raw, f"unsafe XML refused: {error!r}"))
        except ParseError as error:
            result.rejected.append(Rejected(document.raw, f"not well-formed XML: {error}"))
        except (ValueError, LookupError, UnicodeError) as error:
            # e.g. an unknown encoding in the declaration: still the input's fault.
            result.rejected.append(Rejected(document.raw, f"{type(error).__name__}: {error}"))

    def decode_event(self, raw: bytes, received_at: datetime) -> AnyMessage:
        """One CoT document -> one message; raises `CotError` (or a parser error) if bad."""
        event = fromstring(raw, forbid_dtd=True, forbid_entities=True, forbid_external=True)
        if event.tag != "event":
            raise CotError("root element is not <event>", field="root", got=str(event.tag)[:40])
        uid = event.get("uid")
        if not uid:
            raise CotError("missing", field="event@uid", expected="a unique id")
        cot_type = (event.get("type") or "").split(";", 1)[0]
        fields = cot_type.split("-")
        if not cot_type or not all(fields):
            raise CotError("missing or malformed", field="event@type", got=cot_type[:40])
        time = parse_cot_time(event.get("time"), "event@time")
        if event.get("stale") is not None:
            stale = parse_cot_time(event.get("stale"), "event@stale")
            if stale < time:
                raise CotError("stale before time", field="event@stale", got=event.get("stale"))
        match fields[0]:
            case "a":
                return self._report(event, uid, fields, time, received_at)
            case "b" | "t":
                return self._event(event, uid, cot_type, time)
            case _:
                raise CotError(
                    "type not mapped (only a-*, b-* and t-* are)",
                    field="event@type",
                    got=cot_type[:40],
                )

    def _report(
        self, event: Element, uid: str, fields: list[str], time: datetime, received_at: datetime
    ) -> Report:
        point = read_point(event, self.settings.unknown_ce_sigma_m)
        detail = event.find("detail")
        contact = detail.find("contact") if detail is not None else None
        callsign = contact.get("callsign") if contact is not None else None
        identity = AFFILIATIONS.get(fields[1].lower()) if len(fields) > 1 else None
        blue_force = identity == StandardIdentity.FRIEND
        return Report(
            report_id=f"cot:{uid}:{time.isoformat()}",
            time=time,
            source_id=self.settings.source_id,
            source=ReportSource.BLUE_FORCE if blue_force else ReportSource.COT,
            position=point.position,
            horizontal_sigma_m=point.horizontal_sigma_m,
            vertical_sigma_m=point.vertical_sigma_m,
            velocity_enu_mps=read_velocity(detail),
            callsign=callsign or None,
            uid=uid,
            class_hint=class_hint_of(fields),
            claimed_identity=identity,
            sector=self.settings.sector,
            received_at=received_at,
            releasability=self.settings.releasability,
        )

    def _event(self, event: Element, uid: str, cot_type: str, time: datetime) -> Event:
        detail = event.find("detail")
        remarks = detail.find("remarks") if detail is not None else None
        remarks_text = (remarks.text or "").strip() if remarks is not None else ""
        position = None
        if event.find("point") is not None:
            position = read_point(event, self.settings.unknown_ce_sigma_m).position
        attributes = {"cot_type": cot_type}
        for name in ("how", "start", "stale"):
            value = event.get(name)
            if value is not None:
                attributes[name] = value
        if remarks_text:
            attributes["remarks"] = remarks_text
        return Event(
            event_id=f"cot:{uid}:{time.isoformat()}",
            time=time,
            source_id=self.settings.source_id,
            kind=EventKind.OBSERVATION,
            severity=0,
            summary=f"CoT {cot_type}" + (f": {remarks_text[:200]}" if remarks_text else ""),
            position=position,
            subject_id=uid,
            attributes=attributes,
            releasability=self.settings.releasability,
        )
