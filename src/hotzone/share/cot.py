"""hotzone tracks -> Cursor on Target (CoT 2.0) events, as XML bytes.

One track becomes one ``<event>`` that validates against MITRE's Event-PUBLIC.xsd::

    <event version="2.0" uid="hotzone.<track_id>" type="a-h-A-M-F-Q" how="m-f"
           time=NOW start=NOW stale=NOW+stale_after_s>
      <point lat=.. lon=.. hae=.. ce=.. le=../>        full float precision, never rounded
      <detail>
        <track course=.. speed=../>                    degrees true, m/s
        <contact callsign=../>
        <remarks>class=.. identity=.. ...</remarks>
      </detail>
    </event>

- ``type``: from `hotzone.share.symbols` when an `Assessment` gives class and identity;
  without one, ``a-u-<dimension>`` where the dimension is air when the track flies (fast,
  high or climbing, see `CotExportSettings`) and ``Z`` (unknown) otherwise: a slow, low
  track is not assumed to be on the ground.
- ``how="m-f"``: machine generated, fused from several sources.
- ``ce``: the 1-sigma error along the worst horizontal axis, the square root of the largest
  eigenvalue of the covariance's east/north block, so the circle contains the 1-sigma
  ellipse (the schema defines ce as one sigma). ``le``: the square root of the up
  variance. A 2-D track (no up axis) or an unusable covariance gives 9999999 (unknown).
- ``stale``: ``time + stale_after_s`` (set it to about three scan periods, so a track that
  stops being reported fades from TAK maps rather than freezing); a deleted track's last
  event is stale at its time, so TAK maps drop it at once.

Network sending (TAK server over TCP, SA multicast over UDP) is in
`hotzone.runtime.cot_sender`; this module only builds bytes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from xml.etree.ElementTree import Element, SubElement, tostring

from hotzone.share.symbols import BattleDimension, cot_type_for, cot_type_from_parts
from hotzone.types import Assessment, StandardIdentity, Track, TrackStatus

COT_UNKNOWN = "9999999.0"
COT_VERSION = "2.0"
UID_PREFIX = "hotzone."

# Characters XML 1.0 cannot carry, even escaped (control characters, lone surrogates...).
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class CotExportSettings:
    """How tracks are written as CoT."""

    stale_after_s: float = 30.0  # about three scan periods of the fastest sensor
    air_speed_mps: float = 55.0  # faster than this (200 km/h) is flying, not driving
    air_height_m: float = 3000.0  # above the highest terrain of the zone (Tatra 2655 m)
    air_climb_mps: float = 10.0  # climbing or sinking faster than this is flying
    callsign_prefix: str = "HZ-"  # tracks without a callsign show as HZ-<track number>

    def __post_init__(self) -> None:
        if not self.stale_after_s > 0:
            raise ValueError(f"stale_after_s must be positive, got {self.stale_after_s}")


def cot_decimal(value: float) -> str:
    """A float as an xs:decimal with every digit of its shortest repr (no exponent)."""
    if not math.isfinite(value):
        raise ValueError(f"CoT cannot carry a non-finite number, got {value!r}")
    return format(Decimal(repr(float(value))), "f")


def cot_time(moment: datetime) -> str:
    """An aware datetime -> CoT's xs:dateTime in UTC with microseconds."""
    if moment.utcoffset() is None:
        raise ValueError("CoT times must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _horizontal_variances(covariance: tuple[tuple[float, ...], ...]) -> tuple[float, ...]:
    if len(covariance) < 2 or any(len(row) != len(covariance) for row in covariance):
        return ()
    east, cross, north = covariance[0][0], covariance[0][1], covariance[1][1]
    return (east, cross, north)


def circular_error_m(track: Track) -> float | None:
    """1-sigma along the worst horizontal axis (largest eigenvalue of the E/N block)."""
    parts = _horizontal_variances(track.covariance)
    if not parts or not all(math.isfinite(part) for part in parts):
        return None
    east, cross, north = parts
    largest = (east + north) / 2 + math.hypot((east - north) / 2, cross)
    if largest < 0 or east < 0 or north < 0:
        return None
    return math.sqrt(largest)


def linear_error_m(track: Track) -> float | None:
    """1-sigma of height: sqrt of the up variance, for 3-D states (3x3, 6x6, 9x9)."""
    size = len(track.covariance)
    if size % 3 != 0 or any(len(row) != size for row in track.covariance):
        return None  # a 2-D state (E, N[, vE, vN]) has no up axis
    variance = track.covariance[2][2]
    if not math.isfinite(variance) or variance < 0:
        return None
    return math.sqrt(variance)


def course_and_speed(track: Track) -> tuple[float, float]:
    """(course in degrees true [0, 360), horizontal speed m/s) from the ENU velocity."""
    east, north, _ = track.enu_velocity_mps
    speed = math.hypot(east, north)
    course = math.degrees(math.atan2(east, north)) % 360.0 if speed > 0 else 0.0
    return (course if course < 360.0 else 0.0), speed


def dimension_of(track: Track, settings: CotExportSettings) -> BattleDimension:
    """Air when the track flies (fast, high or climbing), else unknown."""
    _, speed = course_and_speed(track)
    climb = abs(track.enu_velocity_mps[2])
    flying = (
        speed > settings.air_speed_mps
        or track.position.height_m > settings.air_height_m
        or climb > settings.air_climb_mps
    )
    return BattleDimension.AIR if flying else BattleDimension.UNKNOWN


def track_cot_type(track: Track, assessment: Assessment | None, settings: CotExportSettings) -> str:
    if assessment is not None:
        return cot_type_for(assessment.target_class, assessment.standard_identity)
    return cot_type_from_parts(StandardIdentity.UNKNOWN, dimension_of(track, settings), "")


def _xml_text(text: str) -> str:
    return _NOT_XML_CHAR.sub("\ufffd", text)


def _remarks(track: Track, assessment: Assessment | None) -> str:
    parts = [f"track_number={track.track_number}", f"status={track.status}"]
    if assessment is not None:
        parts += [
            f"class={assessment.target_class}",
            f"identity={assessment.standard_identity}",
            f"threat={assessment.threat_score:.2f}",
        ]
    else:
        parts += ["class=unknown", "identity=unknown (not assessed)"]
    parts += [f"quality={track.quality:.2f}", f"track_time={cot_time(track.time)}"]
    if track.sensors:
        parts.append("sensors=" + ",".join(track.sensors))
    parts.append(f"releasability={track.releasability}")
    return "; ".join(parts)


def track_event(
    track: Track,
    assessment: Assessment | None = None,
    *,
    now: datetime | None = None,
    settings: CotExportSettings | None = None,
) -> Element:
    """One track -> one CoT ``<event>`` element."""
    settings = settings or CotExportSettings()
    time = now or datetime.now(UTC)
    event = Element(
        "event",
        {
            "version": COT_VERSION,
            "uid": _xml_text(UID_PREFIX + track.track_id),
            "type": track_cot_type(track, assessment, settings),
            "how": "m-f",
            "time": cot_time(time),
            "start": cot_time(time),
            # A deleted track's last event is stale at once: TAK maps drop it now.
            "stale": cot_time(
                time
                if track.status is TrackStatus.DELETED
                else time + timedelta(seconds=settings.stale_after_s)
            ),
        },
    )
    circular = circular_error_m(track)
    linear = linear_error_m(track)
    SubElement(
        event,
        "point",
        {
            "lat": cot_decimal(track.position.lat_deg),
            "lon": cot_decimal(track.position.lon_deg),
            "hae": cot_decimal(track.position.height_m),
            "ce": cot_decimal(circular) if circular is not None else COT_UNKNOWN,
            "le": cot_decimal(linear) if linear is not None else COT_UNKNOWN,
        },
    )
    detail = SubElement(event, "detail")
    course, speed = course_and_speed(track)
    SubElement(detail, "track", {"course": cot_decimal(course), "speed": cot_decimal(speed)})
    callsign = track.callsign or f"{settings.callsign_prefix}{track.track_number}"
    SubElement(detail, "contact", {"callsign": _xml_text(callsign)})
    remarks = SubElement(detail, "remarks")
    remarks.text = _xml_text(_remarks(track, assessment))
    return event


def track_to_cot(
    track: Track,
    assessment: Assessment | None = None,
    *,
    now: datetime | None = None,
    settings: CotExportSettings | None = None,
) -> bytes:
    """One track -> the UTF-8 bytes of one CoT event (no XML declaration)."""
    document: bytes = tostring(
        track_event(track, assessment, now=now, settings=settings),
        encoding="utf-8",
        xml_declaration=False,
    )
    return document


def tracks_to_cot(
    tracks: Iterable[Track],
    assessments: Mapping[str, Assessment] | None = None,
    *,
    now: datetime | None = None,
    settings: CotExportSettings | None = None,
) -> list[bytes]:
    """Many tracks -> one CoT event each; ``assessments`` are looked up by track id."""
    time = now or datetime.now(UTC)
    known = assessments or {}
    return [
        track_to_cot(track, known.get(track.track_id), now=time, settings=settings)
        for track in tracks
    ]
