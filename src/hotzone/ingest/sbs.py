"""SBS-1 BaseStation text (the "port 30003" format) -> ADS-B `Report`s.

Kinetic Avionics' BaseStation defined this comma-separated text; dump1090, readsb and most
ADS-B receivers serve it on TCP port 30003. One message per line:

====  =====================  ===========================================================
 no.  field                  filled by
====  =====================  ===========================================================
  1   message type           ``MSG``, ``SEL`` (selection change), ``ID`` (new callsign),
                             ``AIR`` (new aircraft), ``STA`` (status change), ``CLK``
  2   transmission type      MSG only, 1..8 (below)
  3   session id             BaseStation database ids: ignored
  4   aircraft id            ignored
  5   hex ident              ICAO 24-bit address, 6 hex digits (``~`` first: non-ICAO)
  6   flight id              ignored
 7,8  date, time generated   ``yyyy/mm/dd``, ``hh:mm:ss.sss`` (UTC, see below)
 9,10 date, time logged      idem
 11   callsign               MSG 1; SEL and ID: the callsign; STA: the status (RM, ...)
 12   altitude               MSG 2, 3, 5, 6, 7: feet, barometric (pressure altitude)
 13   ground speed           MSG 2, 4: knots
 14   track                  MSG 2, 4: degrees clockwise from true north
15,16 latitude, longitude    MSG 2, 3: WGS-84 degrees
 17   vertical rate          MSG 4: feet per minute, up positive
 18   squawk                 MSG 6: Mode 3/A code, 4 octal digits
 19   alert                  MSG 5, 6: squawk changed (flag)
 20   emergency              MSG 6 (flag)
 21   SPI                    MSG 5, 6: ident pressed (flag)
 22   is on ground           MSG 2, 3, 5, 6, 7, 8 (flag; BaseStation writes -1 for true)
====  =====================  ===========================================================

Transmission types: 1 ES identification and category, 2 ES surface position, 3 ES airborne
position, 4 ES airborne velocity, 5 surveillance altitude reply, 6 surveillance identity
reply (squawk), 7 air-to-air (ACAS) reply, 8 all-call reply.

Position messages (2 and 3) become `Report`s; every message updates the state kept per
aircraft, so a later position report carries the callsign (MSG 1, SEL, ID), the squawk
(MSG 6), the velocity (MSG 4) and the altitude (MSG 5, 6, 7) heard before it. Kinematic
state older than ``state_max_age_s`` is not used. ``STA ... RM`` forgets an aircraft.

A velocity message (MSG 4) of an aircraft whose position has been heard also becomes a
*velocity-only* `Report`: ``velocity_enu_mps`` is the message's, ``position`` the last one
heard (to place it on a map) with ``horizontal_sigma_m`` = `UNKNOWN_POSITION_SIGMA_M`
(1,000 km), which says that the report gives no position: fusion uses only its velocity,
on the track of its ICAO address (``hotzone.fusion.conversion``). A feed that sends
positions and velocities in separate messages, as most do, so updates a track with both.

Ground: ``on_ground`` is the latest "is on ground" flag heard for the aircraft within
``state_max_age_s`` (field 22; a surface position, MSG 2, says on the ground when the field
is empty), None when none was heard.

Height: SBS altitude is barometric pressure altitude (feet above the 1013.25 hPa isobar),
not height above the ellipsoid. It is converted to metres and used as ``height_m``, with
``vertical_sigma_m`` = 100 m to cover the usual pressure-altitude-to-geometric-height
difference at European latitudes. Without any altitude the report has ``height_m`` 0 and
``vertical_sigma_m`` None (height unknown). SBS carries no NIC/NACp, so the horizontal
sigma is a fixed ``horizontal_sigma_m`` (default 50 m: roughly NACp 8, the usual value).

Times: BaseStation writes the receiver's clock; hotzone reads the fields as UTC (configure
the receiver to UTC, as readsb and dump1090 do by default on servers). The generated time
is used, else the logged time, else the time the line was received.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from msgspec.structs import replace as replace_message

from hotzone.ingest.base import DecoderOptions, IngestError, LineDecoder, RecentMemory
from hotzone.types import AnyMessage, GeoPoint, Report, ReportSource

FEET_TO_M = 0.3048
KNOTS_TO_MPS = 1852.0 / 3600.0
FEET_PER_MINUTE_TO_MPS = FEET_TO_M / 60.0
PRESSURE_ALTITUDE_SIGMA_M = 100.0
UNKNOWN_POSITION_SIGMA_M = 1_000_000.0
"""The horizontal sigma of a report that gives no position (a velocity-only report); the
same value as ``hotzone.fusion.conversion.UNKNOWN_POSITION_SIGMA_M``."""

_HEX_IDENT = re.compile(r"~?[0-9A-Fa-f]{6}")
_CALLSIGN = re.compile(r"[A-Za-z0-9@ _-]{1,8}")
_SQUAWK = re.compile(r"[0-7]{4}")
_FLAG_VALUES = {"": None, "0": False, "1": True, "-1": True}
_MESSAGE_TYPES = ("MSG", "SEL", "ID", "AIR", "STA", "CLK")
_FIELD_COUNT = 22


class SbsError(IngestError):
    """One SBS line could not be decoded."""


def ground_velocity_enu(
    speed_mps: float, course_deg: float, vertical_mps: float = 0.0
) -> tuple[float, float, float]:
    """Speed over ground and course (clockwise from true north) -> ENU velocity."""
    course = math.radians(course_deg)
    return (speed_mps * math.sin(course), speed_mps * math.cos(course), vertical_mps)


def parse_number(text: str | None, field: str, low: float, high: float) -> float | None:
    """A decimal field in [low, high], or None when empty; anything else is refused."""
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise SbsError("not a number", field=field, expected="a decimal number", got=text) from None
    if not math.isfinite(value) or not low <= value <= high:
        raise SbsError("out of range", field=field, expected=f"{low} .. {high}", got=text)
    return value


def parse_sbs_time(date_text: str | None, time_text: str | None) -> datetime | None:
    """``yyyy/mm/dd`` and ``hh:mm:ss[.fff]`` -> aware UTC time; None when either is empty."""
    if not date_text or not time_text:
        return None
    try:
        year, month, day = (int(part) for part in date_text.split("/"))
        hour_text, minute_text, second_text = time_text.split(":")
        whole, _, fraction = second_text.partition(".")
        microsecond = int((fraction + "000000")[:6]) if fraction else 0
        if fraction and not fraction.isdigit():
            raise ValueError(fraction)
        return datetime(
            year,
            month,
            day,
            int(hour_text),
            int(minute_text),
            int(whole),
            microsecond,
            tzinfo=UTC,
        )
    except (ValueError, OverflowError):  # OverflowError: a field of more digits than C long
        raise SbsError(
            "not a date and time",
            field="date/time",
            expected="yyyy/mm/dd hh:mm:ss.sss",
            got=f"{date_text} {time_text}",
        ) from None


@dataclass
class AircraftState:
    """What earlier messages said about one aircraft."""

    callsign: str | None = None
    squawk: str | None = None
    altitude_ft: float | None = None
    altitude_time: datetime | None = None
    ground_speed_kt: float | None = None
    track_deg: float | None = None
    vertical_rate_fpm: float | None = None
    velocity_time: datetime | None = None
    on_ground: bool | None = None
    on_ground_time: datetime | None = None
    lat_deg: float | None = None
    lon_deg: float | None = None
    """The last position heard (for velocity-only reports)."""


def _field(fields: list[str], index: int) -> str | None:
    """Field ``index`` (1-based, as in the module table) stripped; None when empty/absent."""
    if index > len(fields):
        return None
    text = fields[index - 1].strip()
    return text or None


class SbsDecoder(LineDecoder):
    """SBS-1 BaseStation lines -> ADS-B reports, with identity and velocity carried over."""

    source_name = "sbs"

    def __init__(
        self,
        source_id: str = "sbs",
        *,
        sector: str = "",
        releasability: str = "NATO",
        horizontal_sigma_m: float = 50.0,
        state_max_age_s: float = 10.0,
        max_aircraft: int = 20_000,
    ) -> None:
        super().__init__()
        self.source_id = source_id
        self.sector = sector
        self.releasability = releasability
        self.horizontal_sigma_m = horizontal_sigma_m
        self.state_max_age_s = state_max_age_s
        self._aircraft: RecentMemory[str, AircraftState] = RecentMemory(max_aircraft)
        self._next_report = 0

    @classmethod
    def from_options(cls, options: DecoderOptions) -> SbsDecoder:
        return cls(
            options.source_id or "sbs",
            sector=options.sector,
            releasability=options.releasability,
        )

    def aircraft_state(self, icao24: str) -> AircraftState | None:
        """The state kept for one aircraft (lower-case hex address), if any."""
        return self._aircraft.get(icao24)

    def decode_line(self, line: bytes, received_at: datetime) -> list[AnyMessage]:
        try:
            text = line.decode("ascii")
        except UnicodeDecodeError:
            raise SbsError("not ASCII text") from None
        fields = text.split(",")
        message_type = fields[0].strip()
        if message_type not in _MESSAGE_TYPES:
            raise SbsError(
                "unknown message type",
                field="message type",
                expected=", ".join(_MESSAGE_TYPES),
                got=message_type[:20],
            )
        if len(fields) > _FIELD_COUNT + 8:
            raise SbsError(f"{len(fields)} fields", expected=f"at most {_FIELD_COUNT}")
        if message_type == "CLK":
            return []
        icao24 = self._icao24(_field(fields, 5))
        if message_type == "MSG":
            return self._decode_msg(fields, icao24, received_at)
        self._decode_status(message_type, fields, icao24)
        return []

    @staticmethod
    def _icao24(text: str | None) -> str:
        if text is None or not _HEX_IDENT.fullmatch(text):
            raise SbsError(
                "not an ICAO 24-bit address", field="hex ident", expected="6 hex digits", got=text
            )
        return text.lower()

    def _state(self, icao24: str) -> AircraftState:
        return self._aircraft.heard(icao24, AircraftState)

    def _decode_status(self, message_type: str, fields: list[str], icao24: str) -> None:
        value = _field(fields, 11)
        if message_type == "STA" and value == "RM":
            self._aircraft.forget(icao24)
            return
        state = self._state(icao24)
        if message_type in ("SEL", "ID") and value is not None:
            state.callsign = self._callsign(value)

    @staticmethod
    def _callsign(text: str) -> str:
        if not _CALLSIGN.fullmatch(text):
            raise SbsError(
                "not a flight identity", field="callsign", expected="1-8 letters/digits", got=text
            )
        return text.upper()

    def _decode_msg(
        self, fields: list[str], icao24: str, received_at: datetime
    ) -> list[AnyMessage]:
        transmission = _field(fields, 2)
        if transmission not in ("1", "2", "3", "4", "5", "6", "7", "8"):
            raise SbsError(
                "unknown transmission type",
                field="transmission type",
                expected="1-8",
                got=transmission,
            )
        time = (
            parse_sbs_time(_field(fields, 7), _field(fields, 8))
            or parse_sbs_time(_field(fields, 9), _field(fields, 10))
            or received_at
        )
        callsign_text = _field(fields, 11)
        callsign = self._callsign(callsign_text) if callsign_text is not None else None
        altitude_ft = parse_number(_field(fields, 12), "altitude", -2000.0, 130_000.0)
        ground_speed_kt = parse_number(_field(fields, 13), "ground speed", 0.0, 5000.0)
        track_deg = parse_number(_field(fields, 14), "track", 0.0, 360.0)
        lat_deg = parse_number(_field(fields, 15), "latitude", -90.0, 90.0)
        lon_deg = parse_number(_field(fields, 16), "longitude", -180.0, 180.0)
        vertical_rate_fpm = parse_number(_field(fields, 17), "vertical rate", -60_000.0, 60_000.0)
        squawk = _field(fields, 18)
        if squawk is not None and not _SQUAWK.fullmatch(squawk):
            raise SbsError(
                "not a Mode 3/A code", field="squawk", expected="4 octal digits", got=squawk
            )
        on_ground_text = _field(fields, 22) or ""
        if on_ground_text not in _FLAG_VALUES:
            raise SbsError(
                "not a flag", field="is on ground", expected="0, 1 or -1", got=on_ground_text
            )

        state = self._state(icao24)
        if callsign is not None:
            state.callsign = callsign
        if squawk is not None:
            state.squawk = squawk
        if altitude_ft is not None:
            state.altitude_ft, state.altitude_time = altitude_ft, time
        if ground_speed_kt is not None and track_deg is not None:
            # A velocity message replaces the whole vector: a missing rate means level.
            state.ground_speed_kt, state.track_deg = ground_speed_kt, track_deg
            state.vertical_rate_fpm, state.velocity_time = vertical_rate_fpm, time
        on_ground = _FLAG_VALUES[on_ground_text]
        if on_ground is None and transmission == "2":
            on_ground = True  # a surface position: sent only by an aircraft on the ground
        if on_ground is not None:
            state.on_ground, state.on_ground_time = on_ground, time

        if transmission == "4" and ground_speed_kt is not None and track_deg is not None:
            return self._velocity_report(icao24, state, time, received_at)
        if transmission not in ("2", "3") or lat_deg is None or lon_deg is None:
            return []
        state.lat_deg, state.lon_deg = lat_deg, lon_deg
        return [self._report(icao24, state, lat_deg, lon_deg, time, received_at)]

    def _velocity_report(
        self, icao24: str, state: AircraftState, time: datetime, received_at: datetime
    ) -> list[AnyMessage]:
        """A velocity-only report, placed at the last position heard (none: nothing)."""
        if state.lat_deg is None or state.lon_deg is None:
            return []
        report = self._report(icao24, state, state.lat_deg, state.lon_deg, time, received_at)
        if report.velocity_enu_mps is None:
            return []
        return [
            replace_message(
                report, horizontal_sigma_m=UNKNOWN_POSITION_SIGMA_M, vertical_sigma_m=None
            )
        ]

    def _fresh(self, then: datetime | None, now: datetime) -> bool:
        return then is not None and abs((now - then).total_seconds()) <= self.state_max_age_s

    def _report(
        self,
        icao24: str,
        state: AircraftState,
        lat_deg: float,
        lon_deg: float,
        time: datetime,
        received_at: datetime,
    ) -> Report:
        height_m, vertical_sigma_m = 0.0, None
        if state.altitude_ft is not None and self._fresh(state.altitude_time, time):
            height_m, vertical_sigma_m = state.altitude_ft * FEET_TO_M, PRESSURE_ALTITUDE_SIGMA_M
        velocity = None
        if (
            state.ground_speed_kt is not None
            and state.track_deg is not None
            and self._fresh(state.velocity_time, time)
        ):
            vertical = (state.vertical_rate_fpm or 0.0) * FEET_PER_MINUTE_TO_MPS
            velocity = ground_velocity_enu(
                state.ground_speed_kt * KNOTS_TO_MPS, state.track_deg, vertical
            )
        self._next_report += 1
        return Report(
            report_id=f"{self.source_id}-{self._next_report:06d}",
            time=time,
            source_id=self.source_id,
            source=ReportSource.ADSB,
            position=GeoPoint(lat_deg=lat_deg, lon_deg=lon_deg, height_m=height_m),
            horizontal_sigma_m=self.horizontal_sigma_m,
            vertical_sigma_m=vertical_sigma_m,
            velocity_enu_mps=velocity,
            icao24=icao24,
            callsign=state.callsign,
            squawk=state.squawk,
            on_ground=state.on_ground if self._fresh(state.on_ground_time, time) else None,
            sector=self.sector,
            received_at=received_at,
            releasability=self.releasability,
        )
